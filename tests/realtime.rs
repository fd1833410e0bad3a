//! The cross-check: one scenario on the virtual clock and on tokio with the wall clock, over
//! the same simulated network. The verdicts must match, or the virtual clock hides
//! something (it takes no time to compute and runs tasks one at a time, in a fixed order).

use std::path::Path;

use webrtc_netsim::scenario::file;

/// 4 s of audio and data over 30 ms links, 5 % loss on Alice's (both ways): expectations with the
/// margins real scheduling needs (timers fire a millisecond or two late), one of which
/// fails in both modes.
const CROSS_CHECK: &str = r#"name = "cross-check"
duration = "4s"
seed = 3

[peers.alice]
role = "caller"
media = ["audio", "data"]
link = { delay = "30ms", loss = "5%" }

[peers.bob]
role = "callee"
media = ["audio", "data"]
link = { delay = "30ms" }

[[expect]]
connect_time = { min = "300ms", max = "1.5s" }

[[expect]]
delivered = { stream = "*:audio", from = "1s", min = "80%" }

# 5 % loss: this one fails, on either clock.
[[expect]]
delivered = { stream = "bob<-alice:audio", from = "1s", min = "99.9%" }

[[expect]]
one_way_delay = { stream = "*:audio", percentile = "p50", min = "60ms", max = "70ms" }

[[expect]]
data_channel = { stream = "alice<-bob:data" }

[[expect]]
final_state = "connected"
"#;

#[test]
fn verdicts_on_the_wall_clock_match_the_virtual_clock() {
    let virtual_time = file::parse(Path::new("cross-check.toml"), CROSS_CHECK).expect("it parses");
    let mut wall_clock = virtual_time.clone();
    wall_clock.scenario.world.realtime = true;

    let started = std::time::Instant::now();
    let (_, on_virtual) = virtual_time.play().expect("the virtual run finishes");
    let virtual_wall = started.elapsed();
    let started = std::time::Instant::now();
    let (run, on_wall) = wall_clock.play().expect("the wall-clock run finishes");
    let real_wall = started.elapsed();

    for (one, other) in on_virtual.iter().zip(&on_wall) {
        println!("virtual: {one}\nwall:    {other}");
    }
    let passed = |verdicts: &[webrtc_netsim::scenario::expect::Verdict]| {
        verdicts.iter().map(|verdict| verdict.passed).collect::<Vec<_>>()
    };
    assert_eq!(passed(&on_virtual), passed(&on_wall));
    assert_eq!(
        passed(&on_wall).iter().filter(|passed| !**passed).count(),
        1,
        "exactly the 99.9 % expectation fails"
    );
    // The wall-clock run really took the call's time; the virtual one a fraction of it.
    assert!(real_wall >= std::time::Duration::from_secs(4), "{real_wall:?}");
    assert!(virtual_wall < real_wall / 2, "{virtual_wall:?} vs {real_wall:?}");
    assert!(run.counters.balanced(), "{:?}", run.counters);
    assert!(!run.kernel_received_anything);
}

//! Fidelity: with processing time on, seeds settle webrtc-rs's timing races the ways a real
//! run does (issue 14). Reality, measured with stock webrtc-rs 0.21.1 on real sockets (one
//! Opus-typed stream, trickled candidates, 15 runs each):
//!
//! * 0 ms one way, 20 ms signaling: 8 runs ≈ 224 ms, 3 ≈ 246 ms, 4 ≈ 426 ms;
//! * 50 ms one way, 0 ms signaling: 11 runs ≈ 706 ms, 4 ≈ 505 ms.
//!
//! Without the model every seed gives 420 ms and 500 ms.

use std::ops::Range;
use std::time::Duration;

use webrtc_netsim::scenario::Processing;
use webrtc_netsim::{LinkConfig, MediaKind, PeerSpec, Run, Scenario};

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

/// The seeds each set-up is played with.
const SEEDS: std::ops::RangeInclusive<u64> = 1..=20;

/// A 3 s audio call, `one_way` from peer to peer, the relay taking `signaling`.
fn call(one_way: Duration, signaling: Duration, processing: Processing, seed: u64) -> Run {
    let link = LinkConfig {
        delay: one_way / 2,
        ..LinkConfig::default()
    };
    Scenario::new("fidelity")
        .seed(seed)
        .duration(Duration::from_secs(3))
        .signaling_delay(signaling)
        .processing(processing)
        .peer(
            PeerSpec::caller("alice")
                .media(&[MediaKind::Audio])
                .link(link.clone()),
        )
        .peer(PeerSpec::callee("bob").media(&[MediaKind::Audio]).link(link))
        .run()
        .expect("the call runs to its end")
}

/// The connect time of every seed, with the model on, printed in milliseconds.
fn connect_times(one_way: Duration, signaling: Duration) -> Vec<Duration> {
    let times: Vec<Duration> = SEEDS
        .map(|seed| {
            call(one_way, signaling, Processing::Measured, seed)
                .metrics
                .connect_time
                .unwrap_or_else(|| panic!("seed {seed}: the peers never connected"))
        })
        .collect();
    let shown: Vec<String> = times
        .iter()
        .map(|t| format!("{:.1}", t.as_secs_f64() * 1e3))
        .collect();
    println!("{one_way:?} one way, {signaling:?} signaling: connect times (ms) per seed: {shown:?}");
    times
}

/// How many of `times` lie in `range`.
fn on(times: &[Duration], range: &Range<Duration>) -> usize {
    times.iter().filter(|time| range.contains(*time)).count()
}

/// Plays the set-up over every seed and asserts that each of reality's branches (a range,
/// and what reality measured) comes up on at least one; returns the connect times.
fn both_branches(
    one_way: Duration,
    signaling: Duration,
    [fast, slow]: [(Range<Duration>, &str); 2],
) -> Vec<Duration> {
    let times = connect_times(one_way, signaling);
    for (branch, reality) in [fast, slow] {
        assert!(
            on(&times, &branch) > 0,
            "no seed on reality's {reality} branch: {times:?}"
        );
    }
    times
}

#[test]
fn at_0ms_with_20ms_signaling_seeds_take_both_the_fast_branch_and_the_one_that_waits_a_tick() {
    let (fast, slow) = (ms(200)..ms(270), ms(400)..ms(450));
    let times = both_branches(
        ms(0),
        ms(20),
        [(fast.clone(), "≈ 224/246 ms"), (slow.clone(), "≈ 426 ms")],
    );
    assert_eq!(
        on(&times, &fast) + on(&times, &slow),
        times.len(),
        "a seed off reality's branches: {times:?}"
    );
}

/// The model also gives ≈ 550 ms here (a DTLS flight waits on the far end's), which the 15
/// real runs never showed; that is not asserted either way.
#[test]
fn at_50ms_with_0ms_signaling_seeds_take_both_the_fast_branch_and_the_one_that_waits_a_tick() {
    both_branches(
        ms(50),
        ms(0),
        [(ms(480)..ms(530), "≈ 505 ms"), (ms(680)..ms(730), "≈ 706 ms")],
    );
}

#[test]
fn with_the_model_the_same_seed_gives_the_same_run_and_without_it_every_seed_one_branch() {
    let [first, second] = [0, 1].map(|_| call(ms(0), ms(20), Processing::Measured, 3));
    assert_eq!(
        serde_json::to_string(&first.trace).unwrap(),
        serde_json::to_string(&second.trace).unwrap(),
        "same seed, same trace"
    );
    assert_eq!(first.metrics, second.metrics);

    let exact: Vec<_> = [1, 2, 3]
        .map(|seed| call(ms(0), ms(20), Processing::None, seed).metrics.connect_time)
        .into();
    assert!(
        exact.windows(2).all(|pair| pair[0] == pair[1]),
        "computing is free: every seed takes the same branch, {exact:?}"
    );
}

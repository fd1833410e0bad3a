//! libwebrtc's GoogCC assertions that a scenario file cannot write, on the bundled GoogCC
//! set-ups (`scenarios/googcc-*.toml`, whose own expectations tests/scenarios.rs judges).

use std::path::Path;
use std::time::Duration;

use webrtc_netsim::What;
use webrtc_netsim::scenario::file;

/// `StableEstimateDoesNotVaryInSteadyState`: from 30 s, over 20 s, the lowest target is at
/// least 85 % of the highest. webrtc-rs's GCC meets it only because it no longer moves: its
/// last target is set before 30 s, while the queue passes its send history's 2 s horizon
/// (measured: 706.5 kbit/s set at 21.56 s, none after). FINDING, pinned: this fails once
/// the estimator keeps setting targets in steady state; the 15 % then judges it for real.
/// It would not hold today: with the queue held to 1 s (by hand), the estimator keeps
/// moving, 363 to 684 kbit/s from 30 s to 50 s.
#[test]
fn the_stable_estimate_varies_by_less_than_15_percent_because_it_stopped_moving() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/googcc-stable-estimate.toml");
    let scenario = file::load(&path).expect("the bundled file loads");
    let (run, _) = scenario.play().expect("the call runs");
    let targets: Vec<(Duration, u64)> = run
        .trace
        .iter()
        .filter_map(|event| match &event.what {
            What::TargetBitrate { peer, bps } if peer == "alice" => Some((event.at, *bps)),
            _ => None,
        })
        .collect();
    let (from, to) = (Duration::from_secs(30), Duration::from_secs(50));
    let in_effect = targets
        .iter()
        .rev()
        .find(|(at, _)| *at <= from)
        .expect("a target at 30 s");
    let set: Vec<u64> = targets
        .iter()
        .filter(|(at, _)| from < *at && *at < to)
        .map(|(_, bps)| *bps)
        .collect();
    let held: Vec<u64> = [in_effect.1].into_iter().chain(set.iter().copied()).collect();
    let (lowest, highest) = (held.iter().min().unwrap(), held.iter().max().unwrap());
    println!(
        "in effect at 30 s: {in_effect:?}; {} set until 50 s; {lowest} to {highest} bit/s",
        set.len()
    );
    assert!(
        *lowest as f64 >= 0.85 * *highest as f64,
        "{lowest} to {highest} bit/s"
    );
    assert!(
        set.is_empty(),
        "GCC set {} targets in steady state: {set:?}",
        set.len()
    );
    assert!(
        in_effect.0 < Duration::from_secs(25),
        "the last target came at {:?}",
        in_effect.0
    );
}

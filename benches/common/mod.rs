//! What the benchmarks share: network profiles, scenarios, and a median.

#![allow(dead_code)] // each bench uses its own part

use std::time::{Duration, Instant};

use webrtc_netsim::scenario::{Credentials, IceServer, Servers};
use webrtc_netsim::{LinkConfig, MediaKind, PeerSpec, Run, Scenario};

/// One-way delays the negotiation and restart benchmarks run over.
pub const PROFILES: [(&str, u64); 3] = [("0ms", 0), ("25ms", 25), ("150ms", 150)];

/// Alice calls Bob over a path of `one_way_ms` (split over their two access links), with
/// `media`, optionally through TURN only.
pub fn call(one_way_ms: u64, turn: bool, media: &[MediaKind], duration: Duration) -> Scenario {
    let link = LinkConfig {
        delay: Duration::from_millis(one_way_ms) / 2,
        ..LinkConfig::default()
    };
    let credentials = Credentials {
        user: "bench".into(),
        password: "bench".into(),
    };
    let peer = |spec: PeerSpec| {
        let spec = spec.link(link.clone()).media(media);
        if turn {
            spec.ice_servers(vec![IceServer::Turn(credentials.clone())])
                .relay_only()
        } else {
            spec
        }
    };
    Scenario::new(&format!("{one_way_ms} ms{}", if turn { " via TURN" } else { "" }))
        .duration(duration)
        .servers(Servers {
            stun: false,
            turn: turn.then(|| credentials.clone()),
        })
        .peer(peer(PeerSpec::caller("alice")))
        .peer(peer(PeerSpec::callee("bob")))
}

/// Runs `scenario` `iterations` times; returns the total wall time and each run.
pub fn run_timed(scenario: &Scenario, iterations: u64) -> (Duration, Vec<Run>) {
    let mut total = Duration::ZERO;
    let mut runs = Vec::new();
    for _ in 0..iterations {
        let started = Instant::now();
        let run = scenario.run().expect("the benchmark scenario runs");
        total += started.elapsed();
        runs.push(run);
    }
    (total, runs)
}

pub fn median(mut values: Vec<Duration>) -> Option<Duration> {
    values.sort();
    values.get(values.len() / 2).copied()
}

/// The process's peak resident set size so far (Linux `VmHWM`), in bytes.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

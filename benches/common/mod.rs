//! What the benchmarks share: network profiles, scenarios, timing and a median.

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
            ..Servers::default()
        })
        .peer(peer(PeerSpec::caller("alice")))
        .peer(peer(PeerSpec::callee("bob")))
}

/// Runs `scenario` `iterations` times and returns the total wall time; `observe` sees each
/// run (and the run is dropped right after, so memory stays flat).
pub fn run_timed(scenario: &Scenario, iterations: u64, mut observe: impl FnMut(&Run)) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iterations {
        let started = Instant::now();
        let run = scenario.run().expect("the benchmark scenario runs");
        total += started.elapsed();
        observe(&run);
    }
    total
}

pub fn median(mut values: Vec<Duration>) -> Option<Duration> {
    values.sort();
    values.get(values.len() / 2).copied()
}

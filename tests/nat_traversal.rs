//! Real peers behind simulated NATs (RFC 4787), gathering through the simulated STUN and
//! TURN servers: who can reach whom, and over which candidate pair.

use std::time::Duration;

use webrtc_netsim::metrics::{StreamMetrics, Window};
use webrtc_netsim::net::NatConfig;
use webrtc_netsim::scenario::{Credentials, IceServer, Servers};
use webrtc_netsim::{MediaKind, PeerSpec, Run, Scenario, What};

/// Long enough for a call that cannot connect to reach `failed` (webrtc-rs: 5 s to
/// `disconnected`... 30 s in all from the first check).
const LONG_ENOUGH_TO_FAIL: Duration = Duration::from_secs(32);

fn credentials(password: &str) -> Credentials {
    Credentials {
        user: "qa".into(),
        password: password.into(),
    }
}

/// Alice (behind `alice_nat`) calls Bob (behind `bob_nat`) with audio; both use STUN, and
/// TURN too when `turn` is set.
fn call(alice_nat: &str, bob_nat: &str, turn: bool, duration: Duration) -> Run {
    let mut ice_servers = vec![IceServer::Stun];
    if turn {
        ice_servers.push(IceServer::Turn(credentials("secret")));
    }
    let peer = |spec: PeerSpec, nat: &str| {
        spec.nat(NatConfig::from_shorthand(nat).expect("a NAT shorthand"))
            .ice_servers(ice_servers.clone())
            .media(&[MediaKind::Audio])
    };
    Scenario::new(&format!("{alice_nat} calls {bob_nat}"))
        .duration(duration)
        .servers(Servers {
            stun: true,
            turn: turn.then(|| credentials("secret")),
            ..Servers::default()
        })
        .peer(peer(PeerSpec::caller("alice"), alice_nat))
        .peer(peer(PeerSpec::callee("bob"), bob_nat))
        .run()
        .expect("the call runs")
}

/// The candidate types of the last pair each peer selected, e.g. `srflx-prflx`.
fn selected_pair(run: &Run, peer: &str) -> Option<String> {
    run.trace.iter().rev().find_map(|event| match &event.what {
        What::SelectedPair {
            peer: p,
            local,
            remote,
        } if p == peer => {
            let kind = |candidate: &str| candidate.split(' ').next().unwrap_or_default().to_owned();
            Some(format!("{}-{}", kind(local), kind(remote)))
        }
        _ => None,
    })
}

/// Whether RFC 4787 behaviour lets a direct path form between these two NATs.
fn direct_path_possible(a: &str, b: &str) -> bool {
    let hard = |x: &str, y: &str| x == "symmetric" && (y == "symmetric" || y == "port-restricted-cone");
    !hard(a, b) && !hard(b, a)
}

#[test]
fn the_connectivity_matrix_follows_rfc_4787_and_turn_rescues_the_hard_cells() {
    let mut table = String::from("caller \\ callee        ");
    for bob in NatConfig::SHORTHANDS {
        table += &format!("| {bob:<30}");
    }
    let mut failures = Vec::new();
    for alice in NatConfig::SHORTHANDS {
        table += &format!("\n{alice:<23}");
        for bob in NatConfig::SHORTHANDS {
            let mut cell = Vec::new();
            for turn in [false, true] {
                let run = call(alice, bob, turn, LONG_ENOUGH_TO_FAIL);
                let connected = run.metrics.connect_time.is_some();
                let pair = selected_pair(&run, "alice").unwrap_or_else(|| "-".into());
                cell.push(if connected {
                    pair.clone()
                } else {
                    run.final_state("alice").unwrap_or_default().to_owned()
                });

                let should_connect = turn || direct_path_possible(alice, bob);
                if connected != should_connect {
                    failures.push(format!(
                        "{alice} → {bob}, TURN {turn}: connected {connected}, expected {should_connect}"
                    ));
                }
                if !should_connect
                    && (run.final_state("alice"), run.final_state("bob")) != (Some("failed"), Some("failed"))
                {
                    failures.push(format!(
                        "{alice} → {bob} without TURN must end failed on both sides"
                    ));
                }
                if turn && !direct_path_possible(alice, bob) && !pair.contains("relay") {
                    failures.push(format!(
                        "{alice} → {bob} with TURN selected {pair}, not a relay pair"
                    ));
                }
                if connected && !turn && pair.contains("relay") {
                    failures.push(format!(
                        "{alice} → {bob} without TURN cannot have a relay pair: {pair}"
                    ));
                }
            }
            table += &format!("| {:<30}", cell.join(" / turn: "));
        }
    }
    println!("{table}");
    assert!(failures.is_empty(), "{}\n\n{table}", failures.join("\n"));
}

#[test]
fn a_wrong_turn_password_gives_no_relay_candidate_and_the_trace_shows_the_401() {
    let run = Scenario::new("wrong TURN password")
        .duration(Duration::from_secs(3))
        .servers(Servers {
            stun: false,
            turn: Some(credentials("secret")),
            ..Servers::default()
        })
        .peer(
            PeerSpec::caller("alice")
                .ice_servers(vec![IceServer::Turn(credentials("wrong"))])
                .media(&[MediaKind::Audio]),
        )
        .peer(PeerSpec::callee("bob").media(&[MediaKind::Audio]))
        .run()
        .expect("the call runs");
    let relay_candidates = run
        .trace
        .iter()
        .filter(|e| matches!(&e.what, What::Candidate { peer, candidate } if peer == "alice" && candidate.starts_with("relay")))
        .count();
    assert_eq!(
        relay_candidates, 0,
        "a rejected allocation gives no relay candidate"
    );
    let refused = run.trace.iter().any(|e| {
        matches!(&e.what, What::Server { server, note } if server == "turn" && note.starts_with("401") && note.contains("wrong password"))
    });
    assert!(
        refused,
        "the trace shows the TURN server's 401 for the wrong password"
    );
}

/// Both peers on public addresses, allowed to use relay candidates only.
fn relay_only_call(relay_only: bool) -> Run {
    let servers = vec![IceServer::Turn(credentials("secret"))];
    let peer = |spec: PeerSpec| {
        let spec = spec.ice_servers(servers.clone());
        if relay_only { spec.relay_only() } else { spec }
    };
    Scenario::new("relay only")
        .duration(Duration::from_secs(10))
        .servers(Servers {
            stun: false,
            turn: Some(credentials("secret")),
            ..Servers::default()
        })
        .peer(peer(PeerSpec::caller("alice")))
        .peer(peer(PeerSpec::callee("bob")))
        .run()
        .expect("the call runs")
}

#[test]
fn relay_policy_connects_only_through_turn_and_media_flows_as_well_as_direct() {
    let relayed = relay_only_call(true);
    let direct = relay_only_call(false);
    assert_eq!(selected_pair(&relayed, "alice").as_deref(), Some("relay-relay"));
    assert_eq!(selected_pair(&direct, "alice").as_deref(), Some("host-host"));
    let gathered_non_relay = relayed
        .trace
        .iter()
        .any(|e| matches!(&e.what, What::Candidate { candidate, .. } if !candidate.starts_with("relay")));
    assert!(
        !gathered_non_relay,
        "with ice_transport_policy = relay only relay candidates are gathered"
    );

    for stream in [
        "bob<-alice:audio",
        "bob<-alice:video",
        "alice<-bob:audio",
        "alice<-bob:data",
    ] {
        let steady = |run: &Run| {
            let from = run.metrics.connect_time.expect("connected") + Duration::from_millis(100);
            StreamMetrics::compute(
                &run.trace,
                stream,
                Window {
                    from,
                    to: Duration::from_secs(10),
                },
            )
        };
        let (through_turn, straight) = (steady(&relayed), steady(&direct));
        assert_eq!(
            through_turn.delivered, 1.0,
            "{stream} through TURN: {through_turn:?}"
        );
        assert_eq!(straight.delivered, 1.0, "{stream} direct: {straight:?}");
    }
}

/// Alice behind a firewall that blocks UDP and lets TCP out to port 443 only; both gather
/// TCP candidates too. Bob listens on 443 (`ICE_TCP_PORT`).
fn through_firewall(ice_tcp: bool) -> (Run, Vec<webrtc_netsim::net::network::Captured>) {
    let firewall = webrtc_netsim::net::FirewallConfig {
        block_udp: true,
        tcp_ports: Some(vec![webrtc_netsim::sim::ICE_TCP_PORT]),
    };
    let link = webrtc_netsim::LinkConfig {
        delay: Duration::from_millis(20),
        ..Default::default()
    };
    let peer = |spec: PeerSpec| {
        let spec = spec.media(&[MediaKind::Audio]).link(link.clone());
        if ice_tcp { spec.ice_tcp() } else { spec }
    };
    let (run, captured) = webrtc_netsim::net::network::capturing(|| {
        Scenario::new("ice-tcp through a firewall")
            .duration(Duration::from_secs(4))
            .peer(peer(PeerSpec::caller("alice")).firewall(firewall.clone()))
            .peer(peer(PeerSpec::callee("bob")))
            .run()
    });
    (run.expect("the call runs"), captured)
}

#[test]
fn behind_a_udp_blocking_firewall_the_call_selects_a_tcp_pair_that_carries_the_media() {
    let (run, captured) = through_firewall(true);
    let pair = run.trace.iter().rev().find_map(|event| match &event.what {
        What::SelectedPair { peer, local, remote } if peer == "alice" => {
            Some((local.clone(), remote.clone()))
        }
        _ => None,
    });
    assert_eq!(
        pair,
        Some((
            "host alice:9/tcp active".to_owned(),
            "host bob:443/tcp passive".to_owned()
        )),
        "alice connects out to bob's listener on 443"
    );
    let call = Window {
        from: Duration::ZERO,
        to: Duration::from_secs(4),
    };
    let audio = StreamMetrics::compute(&run.trace, "bob<-alice:audio", call);
    assert!(audio.received > 100, "{audio:?}");
    let (udp, tcp): (Vec<_>, Vec<_>) = captured
        .iter()
        .filter(|record| record.host == "alice")
        .partition(|record| record.datagram.transport == webrtc_netsim::net::Transport::Udp);
    // Alice's UDP checks left her host but died at her firewall, as did Bob's to her: none
    // reached her (a capture records a datagram at its sender and at its receiver).
    let alice = tcp.first().expect("alice's TCP").datagram.from.ip();
    assert!(
        udp.iter().all(|record| record.datagram.from.ip() == alice),
        "no UDP reached alice"
    );
    let firewall_drops = run
        .trace
        .iter()
        .filter(|event| {
            matches!(
                &event.what,
                What::NetworkDrop {
                    reason: webrtc_netsim::net::Undelivered::Firewall(_),
                    ..
                }
            )
        })
        .count();
    assert!(
        !udp.is_empty() && firewall_drops >= udp.len(),
        "{} UDP sent, {firewall_drops} firewall drops",
        udp.len()
    );
    // Nagle coalesces RTP packets into fewer segments: count bytes, 80 of Opus per packet.
    let sent_over_tcp: usize = tcp
        .iter()
        .filter(|record| record.datagram.from.ip() == alice)
        .map(|record| record.datagram.payload.len())
        .sum();
    assert!(
        sent_over_tcp > audio.received as usize * 80,
        "the media went as TCP segments: {sent_over_tcp} bytes for {} packets",
        audio.received
    );
    assert!(run.counters.balanced(), "{:?}", run.counters);

    // Without TCP candidates the same call never connects.
    let (blocked, _) = through_firewall(false);
    assert_eq!(blocked.metrics.connect_time, None);
}

/// Alice, behind a UDP-blocking firewall, sends video over TCP on a path losing 2 %; her
/// link goes down at 18 s, two seconds before the hang-up, and stays down past the end.
#[test]
fn a_video_call_over_lossy_tcp_stalls_and_its_app_gives_up_hanging_up_instead_of_wedging_the_run() {
    let lossy = webrtc_netsim::LinkConfig {
        delay: Duration::from_millis(20),
        loss: webrtc_netsim::Loss::Random(0.02),
        ..Default::default()
    };
    let firewall = webrtc_netsim::net::FirewallConfig {
        block_udp: true,
        tcp_ports: Some(vec![webrtc_netsim::sim::ICE_TCP_PORT]),
    };
    let outage = webrtc_netsim::timeline::Action::Outage {
        peer: "alice".into(),
        duration: Duration::from_secs(10),
    };
    let run = Scenario::new("video over lossy tcp")
        .duration(Duration::from_secs(20))
        .at(Duration::from_secs(18), outage)
        .peer(PeerSpec::caller("alice").ice_tcp().link(lossy).firewall(firewall))
        .peer(PeerSpec::callee("bob").ice_tcp().link(webrtc_netsim::LinkConfig {
            delay: Duration::from_millis(20),
            ..Default::default()
        }))
        .run()
        .expect("the run ends, though the connection cannot close");
    // The close waits on a TCP connection that cannot drain; the app gives up on it after
    // its limit and says so, and the run ends.
    let gave_up = run.trace.iter().any(|event| {
        matches!(&event.what, What::Error { message, .. } if message.contains("did not close within"))
    });
    assert!(gave_up, "no give-up recorded");
    // The senders were held up by TCP's full send buffer: far fewer than 50 audio packets a
    // second left, and the ones that did waited seconds.
    let audio = &run.metrics.streams["bob<-alice:audio"];
    assert!(audio.sent < 700, "{audio:?}");
    let delay = audio.one_way_delay.expect("some audio arrived");
    assert!(delay.p95 > Duration::from_secs(1), "{audio:?}");
}

//! A user's own webrtc-rs app runs as peers of a world built in code (`webrtc_netsim::sim`).
//!
//! The app (`calling_app/`) is written against webrtc-rs's API; the only harness type it
//! touches is the `Context` it is handed, for the runtime, addresses, certificate, signaling
//! and the operating system's network notifications.

mod calling_app;

use std::time::Duration;

use futures::channel::oneshot;
use webrtc_netsim::metrics::{StreamMetrics, Window};
use webrtc_netsim::sim::{Host, Sim};
use webrtc_netsim::{Action, LinkConfig, Loss, Run, What};

use calling_app::{DEBOUNCE, Meeting, calling_app};

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

/// How long the relay takes to forward a message in [`call`].
const SIGNALING_DELAY: Duration = Duration::from_millis(20);

/// Alice calls Bob, each on a 25 ms access link (100 ms round trip), `timeline` happening.
fn call(seconds: u64, timeline: Vec<(Duration, Action)>) -> Run {
    call_with_loss(seconds, 0.0, timeline)
}

/// [`call`], with Bob's downlink losing a `loss` share of the packets.
fn call_with_loss(seconds: u64, loss: f64, timeline: Vec<(Duration, Action)>) -> Run {
    let link = LinkConfig {
        delay: ms(25),
        ..LinkConfig::default()
    };
    let lossy = LinkConfig {
        loss: if loss > 0.0 {
            Loss::Random(loss)
        } else {
            Loss::None
        },
        ..link.clone()
    };
    let mut sim = Sim::builder().seed(7).signaling_delay(SIGNALING_DELAY).build();
    sim.peer("alice", Host::new().link(link.clone()), |ctx| {
        calling_app(ctx, Meeting::Called)
    });
    sim.peer("bob", Host::new().link(link).downlink(lossy), |ctx| {
        calling_app(ctx, Meeting::Called)
    });
    sim.call("alice", "bob");
    for (at, action) in timeline {
        sim.at(at, action);
    }
    sim.run_for(Duration::from_secs(seconds)).expect("the world runs")
}

/// When `peer`'s connection (ICE and DTLS) first reported `state` at or after `from`.
fn first(run: &Run, peer: &str, state: &str, from: Duration) -> Option<Duration> {
    run.trace.iter().find_map(|event| match &event.what {
        What::PeerConnectionState { peer: p, state: s } if p == peer && s == state && event.at >= from => {
            Some(event.at)
        }
        _ => None,
    })
}

#[test]
fn a_users_app_connects_two_peers_through_the_relay() {
    let run = call(3, Vec::new());
    let errors: Vec<_> = run
        .trace
        .iter()
        .filter(|e| matches!(e.what, What::Error { .. }))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    for peer in ["alice", "bob"] {
        let connected = first(&run, peer, "connected", Duration::ZERO)
            .unwrap_or_else(|| panic!("{peer} never connected"));
        // An ICE check and the DTLS handshake take at least two 100 ms round trips.
        assert!(
            connected >= ms(200) && connected < Duration::from_secs(2),
            "{peer}: {connected:?}"
        );
    }
    // From the caller's offer, which the observer saw as `have-local-offer`: the offer and
    // answer through the relay (2 × 20 ms), then the two round trips.
    let connect_time = run.metrics.connect_time.expect("the observer saw the offer");
    assert!(
        connect_time >= ms(240) && connect_time < Duration::from_secs(2),
        "{connect_time:?}"
    );
    let candidates: Vec<&str> = run
        .trace
        .iter()
        .filter_map(|event| match &event.what {
            What::Candidate { peer, candidate } if peer == "alice" => Some(candidate.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        candidates,
        ["host alice:5000"],
        "the trace names the host's address"
    );
    assert!(
        run.trace
            .iter()
            .any(|e| matches!(&e.what, What::Relayed { from, .. } if from == "bob")),
        "bob's answer went through the relay"
    );
    assert!(!run.kernel_received_anything);
    assert!(run.counters.balanced());
}

#[test]
fn the_tap_measures_the_apps_own_audio_over_a_50ms_path() {
    let run = call(4, Vec::new());
    // Alice talks once she is connected; her first frames can beat Bob's DTLS (a finding of
    // the README's): count from when both are connected.
    let connected = ["alice", "bob"]
        .map(|peer| first(&run, peer, "connected", Duration::ZERO).expect("both connect"))
        .into_iter()
        .max()
        .unwrap();
    // To the last frame that had its 50 ms before the world ended.
    let after = Window {
        from: connected,
        to: Duration::from_secs(4) - ms(100),
    };
    let audio = StreamMetrics::compute(&run.trace, "bob<-alice:audio", after);
    assert!(audio.sent > 150, "about 50 frames a second for 3 s: {audio:?}");
    assert_eq!(audio.delivered, 1.0, "{audio:?}");
    let delay = audio.one_way_delay.expect("audio arrived");
    assert!(
        delay.p50 >= ms(49) && delay.p50 <= ms(51),
        "25 ms on each access link: {delay:?}"
    );
    // The same app on a downlink that loses 10 %: the tap sees what did not arrive.
    let lossy = call_with_loss(4, 0.10, Vec::new());
    let audio = StreamMetrics::compute(&lossy.trace, "bob<-alice:audio", after);
    assert!(audio.delivered > 0.8 && audio.delivered < 0.97, "{audio:?}");
    assert!(audio.lost > 0, "{audio:?}");
}

#[test]
fn the_app_restarts_after_its_own_sleep_when_the_os_reports_a_new_address() {
    let moved = Duration::from_secs(2);
    let run = call(
        5,
        vec![(
            moved,
            Action::ChangeAddress {
                peer: "alice".into(),
                nat: None,
                link: None,
            },
        )],
    );
    // The app's restart offer leaves when its own `tokio::time::sleep` ends, on the world's
    // clock: its offer is made at the move + DEBOUNCE and relayed one signaling delay later.
    let offers_after: Vec<Duration> = run
        .trace
        .iter()
        .filter(|e| e.at >= moved && matches!(&e.what, What::Relayed { from, .. } if from == "alice"))
        .map(|e| e.at)
        .collect();
    let first_offer = offers_after
        .first()
        .copied()
        .expect("alice signals after the move");
    assert!(
        first_offer >= moved + DEBOUNCE + SIGNALING_DELAY
            && first_offer < moved + DEBOUNCE + SIGNALING_DELAY + ms(5),
        "alice's restart reached the relay's far end at {first_offer:?}, her sleep ended at {:?}",
        moved + DEBOUNCE
    );
    let gathered_on_the_new_address = run.trace.iter().any(|e| {
        matches!(&e.what, What::Candidate { peer, candidate } if peer == "alice" && candidate == "host alice#2:5000")
    });
    assert!(gathered_on_the_new_address, "alice gathers on her new interface");
    let back = first(&run, "bob", "connected", moved + DEBOUNCE).expect("bob's ICE is connected again");
    assert!(back < moved + Duration::from_secs(2), "{back:?}");
    // The observer saw the restart in alice's offer, though the app recorded none: it
    // starts at the offer, and ends when both are connected under the new credentials.
    let [restart] = run.metrics.restarts.as_slice() else {
        panic!("one restart: {:?}", run.metrics.restarts);
    };
    assert_eq!(
        (restart.peer.as_str(), restart.reason.as_str()),
        ("alice", webrtc_netsim::metrics::OBSERVED_RESTART)
    );
    assert!(
        restart.at >= moved + DEBOUNCE && restart.at < moved + DEBOUNCE + ms(5),
        "{restart:?}"
    );
    assert!(
        restart.offer_credentials_changed && restart.answer_credentials_changed,
        "{restart:?}"
    );
    let restart_time = restart.restart_time.expect("the restart completes");
    assert!(
        restart.at + restart_time >= back && restart_time < Duration::from_secs(2),
        "{restart:?}, bob back at {back:?}"
    );
    let pair_after = restart.pair_after.as_deref().unwrap_or_default();
    assert!(pair_after.contains("alice#2:5000"), "{restart:?}");
}

/// Two calls in one world: Alice calls Bob, Carol calls Dave, all four on 25 ms links
/// except Dave's, which adds 20 ms; `seed` seeds the world. The apps meet on their own: the
/// callers open a session each and hand its token to their callee.
fn two_calls(seed: u64) -> Run {
    let link = |delay| LinkConfig {
        delay: ms(delay),
        ..LinkConfig::default()
    };
    let mut sim = Sim::builder().seed(seed).build();
    for (caller, callee, callee_link) in [("alice", "bob", 25), ("carol", "dave", 45)] {
        let (share, join) = oneshot::channel();
        sim.peer(caller, Host::new().link(link(25)), move |ctx| {
            calling_app(ctx, Meeting::Share(share))
        });
        sim.peer(callee, Host::new().link(link(callee_link)), move |ctx| {
            calling_app(ctx, Meeting::Join(join))
        });
    }
    sim.run_for(Duration::from_secs(3)).expect("the world runs")
}

#[test]
fn four_peers_make_two_calls_and_each_call_has_its_own_metrics() {
    let run = two_calls(7);
    let streams: Vec<&str> = run.metrics.streams.keys().map(String::as_str).collect();
    assert_eq!(streams, ["bob<-alice:audio", "dave<-carol:audio"]);
    for (stream, path) in [("bob<-alice:audio", ms(50)), ("dave<-carol:audio", ms(70))] {
        let delay = run.metrics.streams[stream].one_way_delay.expect("audio arrived");
        assert_eq!(delay.p50, path, "{stream}: the sum of its two access links");
    }
}

#[test]
fn the_same_seed_gives_a_users_app_the_same_trace() {
    let (first, again) = (two_calls(3), two_calls(3));
    assert_eq!(first.trace, again.trace);
    assert_eq!(first.counters, again.counters);
}

/// The apps and their stacks go with the world that ran them: a driver and the app
/// holding its connection wait on each other, and used to stay in the process for good.
#[test]
fn a_worlds_end_drops_its_apps_and_their_connections() {
    let alive = std::sync::Arc::new(());
    let mut sim = Sim::builder().build();
    for (name, meeting) in [("alice", Meeting::Called), ("bob", Meeting::Called)] {
        let alive = alive.clone();
        sim.peer(name, Host::new(), move |ctx| async move {
            let _alive = alive;
            calling_app(ctx, meeting).await;
        });
    }
    sim.call("alice", "bob");
    let run = sim.run_for(Duration::from_secs(2)).expect("the world runs");
    assert!(
        first(&run, "bob", "connected", Duration::ZERO).is_some(),
        "the call connected"
    );
    assert_eq!(
        std::sync::Arc::strong_count(&alive),
        1,
        "no app outlives its world"
    );
}

/// A panic in an app is the app's defect: it goes in the trace, and the world still ends.
#[test]
fn an_app_that_panics_is_an_error_in_the_trace() {
    let mut sim = Sim::builder().build();
    sim.peer("alice", Host::new(), |_ctx| async { panic!("out of ideas") });
    sim.peer("bob", Host::new(), |mut ctx| async move {
        ctx.commands.next().await;
    });
    let run = sim.run_for(Duration::from_secs(1)).expect("the world runs");
    assert!(
        run.trace.iter().any(|e| matches!(&e.what, What::Error { peer, message } if peer == "alice" && message.contains("out of ideas"))),
        "{:#?}",
        run.trace
    );
}

#[test]
fn a_host_on_another_peers_network_must_name_one_with_its_own_and_set_no_link() {
    let refused = |carol: Host| {
        let mut sim = Sim::builder().build();
        sim.peer("alice", Host::new(), |_| async {});
        sim.peer("bob", Host::new().on_network_of("alice"), |_| async {});
        sim.peer("carol", carol, |_| async {});
        match sim.run_for(Duration::from_secs(1)) {
            Err(webrtc_netsim::RunError::Invalid { message, .. }) => message,
            other => panic!("accepted: {other:?}"),
        }
    };
    let nobody = refused(Host::new().on_network_of("dave"));
    assert!(nobody.contains("`dave`, who is not in the world"), "{nobody}");
    let chained = refused(Host::new().on_network_of("bob"));
    assert!(chained.contains("who is on another's"), "{chained}");
    let with_link = refused(Host::new().on_network_of("alice").link(LinkConfig {
        delay: ms(5),
        ..LinkConfig::default()
    }));
    assert!(with_link.contains("sets none of its own"), "{with_link}");
}

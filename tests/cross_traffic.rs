//! Cross traffic on a peer's access link: the flows carry what their kind says, queue with
//! the call's media, and reach a device behind the peer's NAT.

use std::time::Duration;

use webrtc_netsim::cross::{CrossDirection, CrossKind, CrossTraffic};
use webrtc_netsim::metrics::{CrossFlowMetrics, Window, cross_traffic};
use webrtc_netsim::net::NatConfig;
use webrtc_netsim::{LinkConfig, MediaKind, PeerSpec, QueueLimit, Run, Scenario};

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

/// A 10 s audio call; Alice's access link is 1 Mbit/s each way with 20 ms of delay and a
/// 200 ms queue, `nat` in front of it; `flow` runs on it from 2 s to 8 s.
fn call_beside(kind: CrossKind, direction: CrossDirection, nat: Option<NatConfig>) -> Run {
    let access = LinkConfig {
        delay: ms(20),
        rate_bps: Some(1_000_000),
        queue: QueueLimit::Time(ms(200)),
        ..LinkConfig::default()
    };
    let mut alice = PeerSpec::caller("alice").media(&[MediaKind::Audio]).link(access);
    if let Some(nat) = nat {
        alice = alice.nat(nat);
    }
    let run = Scenario::new("cross traffic")
        .duration(Duration::from_secs(10))
        .peer(alice)
        .peer(PeerSpec::callee("bob").media(&[MediaKind::Audio]))
        .cross_traffic(CrossTraffic {
            name: "family".into(),
            peer: "alice".into(),
            direction,
            kind,
            from: Duration::from_secs(2),
            to: Some(Duration::from_secs(8)),
        })
        .run()
        .expect("the call runs");
    assert!(run.counters.balanced(), "{:?}", run.counters);
    run
}

fn flow(run: &Run) -> CrossFlowMetrics {
    run.metrics.cross_traffic["family"]
}

/// kbit/s over the flow's 6 s.
fn kbps(bytes: u64) -> u64 {
    bytes * 8 / 6 / 1000
}

#[test]
fn a_constant_upload_with_room_on_the_link_arrives_whole_at_its_rate() {
    let run = call_beside(
        CrossKind::Constant { rate_bps: 600_000 },
        CrossDirection::Up,
        None,
    );
    let family = flow(&run);
    // 600 kbit/s for 6 s is 450 kB: 375 datagrams of 1200 bytes.
    assert_eq!(family.sent_bytes, 375 * 1200, "{family:?}");
    assert_eq!(family.received_bytes, family.sent_bytes, "{family:?}");
    // The call went on beside it: 600 kbit/s and the audio fit in 1 Mbit/s.
    assert!(run.metrics.streams["bob<-alice:audio"].delivered > 0.99);
}

#[test]
fn a_constant_upload_over_the_links_rate_loses_the_excess_and_delays_the_call() {
    let run = call_beside(
        CrossKind::Constant { rate_bps: 1_500_000 },
        CrossDirection::Up,
        None,
    );
    let family = flow(&run);
    assert_eq!(kbps(family.sent_bytes), 1500, "{family:?}");
    // What arrives, once the queue is full, is the link's 1 Mbit/s less the call's audio.
    let steady = Window {
        from: Duration::from_secs(3),
        to: Duration::from_secs(8),
    };
    let arrived = cross_traffic(&run.trace, steady)["family"].throughput_bps;
    assert!(
        (900_000..=1_000_000).contains(&arrived),
        "{arrived} bit/s: {family:?}"
    );
    // Alice's audio waits in the full 200 ms queue behind it.
    let delay = run.metrics.streams["bob<-alice:audio"].one_way_delay.unwrap();
    assert!(delay.p95 > ms(180), "{delay:?}");
    // Bob's audio comes down Alice's downlink, which the upload does not touch.
    let back = run.metrics.streams["alice<-bob:audio"].one_way_delay.unwrap();
    assert!(back.p95 < ms(60), "{back:?}");
}

#[test]
fn an_on_off_upload_sends_only_in_its_on_periods() {
    let on_off = CrossKind::OnOff {
        rate_bps: 600_000,
        on: ms(500),
        off: ms(1500),
    };
    let run = call_beside(on_off, CrossDirection::Up, None);
    // On for a quarter of its 6 s: 1.5 s at 600 kbit/s is 112.5 kB, whole datagrams.
    let family = flow(&run);
    assert_eq!(family.sent_bytes.div_ceil(1200), 96, "{family:?}");
    let sending: Vec<Duration> = run
        .trace
        .iter()
        .filter(|event| {
            matches!(&event.what, webrtc_netsim::What::CrossTraffic { sent_bytes, .. } if *sent_bytes > 0)
        })
        .map(|event| event.at)
        .collect();
    // Bins close every 100 ms; the first on period is [2 s, 2.5 s).
    assert_eq!(sending.first(), Some(&ms(2100)), "{sending:?}");
    assert!(
        !sending.iter().any(|at| (ms(2600)..ms(4000)).contains(at)),
        "{sending:?}"
    );
}

#[test]
fn a_tcp_upload_fills_the_link_and_backs_off_without_losing_a_byte() {
    let run = call_beside(CrossKind::Tcp, CrossDirection::Up, None);
    let family = flow(&run);
    // TCP fills what the audio leaves of 1 Mbit/s, after its slow start.
    let goodput = kbps(family.received_bytes);
    assert!((700..=1000).contains(&goodput), "{goodput} kbit/s: {family:?}");
    // The audio queues behind TCP's window in the 200 ms queue.
    let delay = run.metrics.streams["bob<-alice:audio"].one_way_delay.unwrap();
    assert!(delay.p95 > ms(100), "{delay:?}");
}

#[test]
fn downloads_reach_a_device_behind_the_peers_nat() {
    for kind in [CrossKind::Constant { rate_bps: 500_000 }, CrossKind::Tcp] {
        let run = call_beside(
            kind,
            CrossDirection::Down,
            Some(NatConfig::port_restricted_cone()),
        );
        let family = flow(&run);
        let arrived = kbps(family.received_bytes);
        assert!(arrived >= 450, "{kind:?}: {arrived} kbit/s, {family:?}");
        // It queues on Alice's downlink, not her uplink.
        let back = run.metrics.streams["alice<-bob:audio"].one_way_delay.unwrap();
        let out = run.metrics.streams["bob<-alice:audio"].one_way_delay.unwrap();
        assert!(out.p95 < ms(60), "{kind:?}: {out:?}");
        if kind == CrossKind::Tcp {
            assert!(back.p95 > ms(100), "{back:?}");
        }
    }
}

/// Alice calls Bob with 1.2 Mbit/s of video over a 1 Mbit/s uplink with a 200 ms queue;
/// Carol calls Dave with audio, on Alice's network or on one of her own.
fn neighbours(carol_at_alices: bool) -> Run {
    let home = LinkConfig {
        rate_bps: Some(1_000_000),
        queue: QueueLimit::Time(ms(200)),
        ..LinkConfig::default()
    };
    let mut carol = PeerSpec::caller("carol").calls("dave").media(&[MediaKind::Audio]);
    if carol_at_alices {
        carol = carol.on_network_of("alice");
    }
    let mut alice = PeerSpec::caller("alice").calls("bob").media(&[MediaKind::Video]);
    alice.uplink = home;
    alice.media.video_bitrate_bps = 1_200_000;
    let run = Scenario::new("neighbours")
        .duration(Duration::from_secs(8))
        .peer(alice)
        .peer(PeerSpec::callee("bob").media(&[]))
        .peer(carol)
        .peer(PeerSpec::callee("dave").media(&[MediaKind::Audio]))
        .run()
        .expect("both calls run");
    assert!(run.counters.balanced(), "{:?}", run.counters);
    run
}

#[test]
fn a_peer_on_anothers_network_queues_behind_its_traffic_on_the_shared_uplink() {
    let apart = neighbours(false);
    let together = neighbours(true);
    let carol_out = |run: &Run| {
        run.metrics.streams["dave<-carol:audio"]
            .one_way_delay
            .unwrap()
            .p95
    };
    // Apart, Carol's audio crosses ideal links; together, it waits behind Alice's video
    // (more than the 1 Mbit/s uplink carries) in the 200 ms queue.
    assert!(carol_out(&apart) < ms(5), "{:?}", carol_out(&apart));
    assert!(carol_out(&together) > ms(100), "{:?}", carol_out(&together));
    // Both calls connected, and no stream crosses from one call to the other.
    assert!(together.metrics.connect_time.is_some());
    assert!(together.metrics.streams.keys().all(|stream| {
        ["bob<-alice", "alice<-bob", "dave<-carol", "carol<-dave"]
            .iter()
            .any(|call| stream.starts_with(call))
    }));
}

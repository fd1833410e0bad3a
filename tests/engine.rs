//! Two real webrtc-rs peers calling each other over the simulated network, checked from
//! the trace.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::{Duration, Instant};

use webrtc_netsim::metrics::{StreamMetrics, Window};
use webrtc_netsim::{LinkConfig, Loss, MediaKind, PeerSpec, Run, Scenario, What};

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

/// Alice calls Bob with audio, video and data; each access link adds `one_way / 2` in each
/// direction, so a packet takes `one_way` from one peer to the other.
fn call(one_way: Duration, duration: Duration, seed: u64) -> Run {
    let link = LinkConfig {
        delay: one_way / 2,
        ..LinkConfig::default()
    };
    Scenario::new("clean call")
        .seed(seed)
        .duration(duration)
        .peer(PeerSpec::caller("alice").link(link.clone()))
        .peer(PeerSpec::callee("bob").link(link))
        .run()
        .expect("the call runs to its end")
}

const STREAMS: [&str; 6] = [
    "bob<-alice:audio",
    "bob<-alice:video",
    "bob<-alice:data",
    "alice<-bob:audio",
    "alice<-bob:video",
    "alice<-bob:data",
];

#[test]
fn two_peers_connect_over_a_50ms_link_and_deliver_everything() {
    let run = call(ms(50), Duration::from_secs(10), 7);

    let connect = run.metrics.connect_time.expect("both peers reach connected");
    assert!(
        connect >= ms(300),
        "an ICE check plus a DTLS handshake take at least 3 RTT; got {connect:?}"
    );
    assert!(
        connect < Duration::from_secs(1),
        "the harness adds no delay of its own; got {connect:?}"
    );

    let selected: Vec<_> = run
        .trace
        .iter()
        .filter_map(|event| match &event.what {
            What::SelectedPair { peer, local, remote } => {
                Some((peer.as_str(), local.as_str(), remote.as_str()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        selected,
        [
            ("bob", "host bob:5000", "host alice:5000"),
            ("alice", "host alice:5000", "host bob:5000")
        ],
        "each side selects the host pair once"
    );

    // The first packets race the far end's DTLS completion (webrtc-rs drops SRTP that arrives
    // before its keys): steady state starts once both sides are connected.
    let steady = Window {
        from: connect + ms(100),
        to: Duration::from_secs(10),
    };
    for stream in STREAMS {
        let metrics = StreamMetrics::compute(&run.trace, stream, steady);
        assert!(metrics.sent > 0, "{stream}: nothing was sent");
        assert_eq!(
            metrics.received, metrics.sent,
            "{stream}: a clean link delivers everything: {metrics:?}"
        );
        let delay = metrics.one_way_delay.expect("packets arrived");
        assert!(
            delay.p50.abs_diff(ms(50)) <= ms(1),
            "{stream}: one-way delay p50 {:?} is not 50 ms",
            delay.p50
        );
    }
    let audio = &run.metrics.streams["bob<-alice:audio"];
    assert!(
        audio.media_gap <= ms(21),
        "audio is one packet per 20 ms; gap {:?}",
        audio.media_gap
    );
}

#[test]
fn loss_on_a_link_shows_in_delivery_and_the_network_counts_every_drop() {
    let lossy = LinkConfig {
        delay: ms(10),
        loss: Loss::Random(0.05),
        ..LinkConfig::default()
    };
    let run = Scenario::new("lossy uplink")
        .seed(3)
        .duration(Duration::from_secs(20))
        .peer(PeerSpec::caller("alice").link(LinkConfig {
            delay: ms(10),
            ..LinkConfig::default()
        }))
        .peer(PeerSpec::callee("bob").link(LinkConfig {
            loss: Loss::Random(0.0),
            ..lossy.clone()
        }))
        .core(LinkConfig::default())
        .run()
        .expect("the call runs");
    let clean = &run.metrics.streams["bob<-alice:audio"];
    assert!(
        clean.delivered > 0.99,
        "no loss was configured towards bob: {clean:?}"
    );

    let run = Scenario::new("lossy uplink")
        .seed(3)
        .duration(Duration::from_secs(20))
        .peer(PeerSpec::caller("alice").link(LinkConfig {
            delay: ms(10),
            ..LinkConfig::default()
        }))
        .peer(PeerSpec::callee("bob").link(lossy))
        .run()
        .expect("the call runs");
    let audio = &run.metrics.streams["bob<-alice:audio"];
    // 5 % on bob's downlink; audio has no retransmission, so about 5 % goes missing.
    assert!(
        (0.90..0.985).contains(&audio.delivered),
        "5 % loss should show: {audio:?}"
    );
    assert!(
        run.counters.dropped > 0,
        "the network recorded no drops: {:?}",
        run.counters
    );
    assert_every_datagram_accounted_for(&run);
}

fn assert_every_datagram_accounted_for(run: &Run) {
    let counters = &run.counters;
    assert!(
        counters.balanced(),
        "every datagram is delivered, dropped or in flight: {counters:?}"
    );
}

#[test]
fn offer_and_answer_travel_through_the_relay() {
    let connect_time = |relay_delay| {
        let run = Scenario::new("slow relay")
            .signaling_delay(relay_delay)
            .duration(Duration::from_secs(3))
            .peer(PeerSpec::caller("alice"))
            .peer(PeerSpec::callee("bob"))
            .run()
            .expect("the call runs");
        run.metrics.connect_time.expect("connected")
    };
    let fast = connect_time(ms(10));
    let slow = connect_time(ms(300));
    // The caller cannot finish DTLS before the answer (with the fingerprint) has crossed
    // the relay back, after the offer crossed it: two crossings at least.
    assert!(
        slow >= ms(2 * 300),
        "relay 300 ms each way, yet connected after {slow:?}"
    );
    // The callee starts ICE checks as soon as the offer lands, so the extra time is at least
    // one crossing, not necessarily two.
    assert!(
        slow >= fast + ms(290),
        "relay 300 ms: {slow:?}, relay 10 ms: {fast:?}"
    );
    assert!(
        slow <= fast + ms(2 * 300 + 200),
        "relay 300 ms: {slow:?}, relay 10 ms: {fast:?}"
    );
}

/// What a determinism check compares: the whole trace, serialized.
fn trace_hash(run: &Run) -> u64 {
    let mut hasher = DefaultHasher::new();
    serde_json::to_string(&run.trace)
        .expect("the trace serializes")
        .hash(&mut hasher);
    hasher.finish()
}

#[test]
fn a_60s_call_runs_in_a_blink_and_the_same_seed_gives_the_same_trace() {
    let started = Instant::now();
    let first = call(ms(40), Duration::from_secs(60), 11);
    let wall = started.elapsed();
    println!(
        "60 s of virtual call took {wall:?} wall ({:.0}x real time), {} events",
        60.0 / wall.as_secs_f64(),
        first.trace.len()
    );
    assert!(
        first.metrics.streams["bob<-alice:video"].received > 1500,
        "video flowed all call long"
    );

    let second = call(ms(40), Duration::from_secs(60), 11);
    assert_eq!(
        first.trace.len(),
        second.trace.len(),
        "same seed, same number of events"
    );
    assert_eq!(
        trace_hash(&first),
        trace_hash(&second),
        "same seed must give a byte-identical trace"
    );
    assert_eq!(first.metrics, second.metrics);
}

#[test]
fn sockets_bind_only_loopback_and_no_datagram_goes_through_the_kernel() {
    let run = call(ms(20), Duration::from_secs(3), 5);
    assert!(!run.bound_addresses.is_empty());
    for address in &run.bound_addresses {
        assert!(address.ip().is_loopback(), "{address} is outside 127.0.0.0/8");
    }
    assert!(
        !run.kernel_received_anything,
        "a datagram went through the kernel"
    );
    assert!(
        run.counters.delivered > 100,
        "the network carried the call: {:?}",
        run.counters
    );
    assert_every_datagram_accounted_for(&run);
}

/// Which of four ready branches `futures::select!` takes, 32 times over.
fn select_choices() -> Vec<usize> {
    use futures::future::ready;
    (0..32)
        .map(|_| {
            futures::executor::block_on(async {
                futures::select! {
                    _ = ready(()) => 0,
                    _ = ready(()) => 1,
                    _ = ready(()) => 2,
                    _ = ready(()) => 3,
                }
            })
        })
        .collect()
}

/// webrtc-rs's driver waits in `futures::select!`, so its branch order is part of a world's
/// history. futures-util seeds that order from a process-wide counter; vendor/futures-util
/// seeds it from the thread's OS randomness, which a world's thread draws from its seed.
/// Without that patch the second world below takes other branches than the first.
#[test]
fn select_takes_the_same_branches_on_a_seeded_thread_whatever_ran_before_it() {
    use webrtc_netsim::runtime::entropy::run_seeded;
    let first = run_seeded(7, select_choices);
    std::thread::spawn(select_choices)
        .join()
        .expect("an unseeded thread selects too");
    assert_eq!(first, run_seeded(7, select_choices));
    assert_ne!(first, run_seeded(8, select_choices), "the seed decides");
}

/// Alice calls Bob over 25 ms each way, Bob's downlink losing 5 %; each stack's `get_stats`
/// sampled every second (`stats_every`).
#[test]
fn the_stacks_own_stats_are_sampled_beside_what_the_wire_measured() {
    let run = Scenario::new("stats")
        .seed(3)
        .duration(Duration::from_secs(6))
        .stats_every(Duration::from_secs(1))
        .peer(PeerSpec::caller("alice").link(LinkConfig {
            delay: ms(25),
            ..LinkConfig::default()
        }))
        .peer(PeerSpec {
            downlink: LinkConfig {
                delay: ms(25),
                loss: Loss::Random(0.05),
                ..LinkConfig::default()
            },
            ..PeerSpec::callee("bob").link(LinkConfig {
                delay: ms(25),
                ..LinkConfig::default()
            })
        })
        .run()
        .expect("the call runs");
    let samples: Vec<(Duration, &What)> = run
        .trace
        .iter()
        .filter(|event| matches!(&event.what, What::StackStats { peer, .. } if peer == "bob"))
        .map(|event| (event.at, &event.what))
        .collect();
    // One a second while Bob's app holds its connection.
    assert!((5..=7).contains(&samples.len()), "{} samples", samples.len());
    let Some((_, What::StackStats { rtt, inbound, .. })) = samples.last() else {
        panic!("no sample");
    };
    // ICE's consent checks measure the 100 ms round trip.
    let rtt = rtt.expect("an RTT once connected");
    assert!((ms(95)..ms(130)).contains(&rtt), "{rtt:?}");
    // Bob's stack counts the audio the wire lost on his downlink (NACK does not resend audio).
    let audio = inbound
        .iter()
        .find(|stream| stream.kind == "audio")
        .expect("audio comes in");
    let wire = &run.metrics.streams["bob<-alice:audio"];
    assert!(audio.packets_lost > 0, "{audio:?}");
    assert!(
        audio.packets_received <= wire.received && audio.packets_received + 60 >= wire.received,
        "the stack counted {} received by its last sample, the wire {} by the end",
        audio.packets_received,
        wire.received
    );
    // FINDING, pinned: Bob's stack counts about twice the video packets that arrived
    // (measured 1135 received where 540 distinct packets did), and Alice's stack counts none
    // of the NACKs Bob's sent (44). These fail once webrtc-rs counts them as the wire does.
    let video = inbound
        .iter()
        .find(|stream| stream.kind == "video")
        .expect("video comes in");
    let wire_video = &run.metrics.streams["bob<-alice:video"];
    assert!(
        video.packets_received > wire_video.received * 3 / 2,
        "{video:?} vs {wire_video:?}"
    );
    assert!(video.nack_count > 0, "{video:?}");
    let alice_last = run.trace.iter().rev().find_map(|event| match &event.what {
        What::StackStats { peer, outbound, .. } if peer == "alice" => Some(outbound),
        _ => None,
    });
    let alice_video = alice_last
        .and_then(|outbound| outbound.iter().find(|stream| stream.kind == "video"))
        .expect("Alice's stack sends video");
    assert_eq!(alice_video.nack_count, 0, "{alice_video:?}");
    // Without the setting, no sample.
    let quiet = call(ms(50), Duration::from_secs(3), 1);
    assert!(
        !quiet
            .trace
            .iter()
            .any(|event| matches!(event.what, What::StackStats { .. }))
    );
}

/// The loss-sweep call (audio, 20 ms core, 10 ms access links) with `loss` on Alice's link,
/// both ways, for `duration` on `seed`.
fn audio_call_with_loss(loss: f64, seed: u64, duration: Duration) -> Run {
    let link = LinkConfig {
        delay: ms(10),
        ..LinkConfig::default()
    };
    Scenario::new("audio over loss")
        .seed(seed)
        .duration(duration)
        .core(LinkConfig {
            delay: ms(20),
            ..LinkConfig::default()
        })
        .peer(
            PeerSpec::caller("alice")
                .media(&[MediaKind::Audio])
                .link(LinkConfig {
                    loss: Loss::Random(loss),
                    ..link.clone()
                }),
        )
        .peer(PeerSpec::callee("bob").media(&[MediaKind::Audio]).link(link))
        .run()
        .expect("the call runs")
}

/// RFC 6347 §4.2.4 retransmits a lost flight when its timer expires, and when the peer
/// repeats its own flight. In `rtc-dtls` 0.21.1 (`handshaker.rs`, `wait`) any handshake
/// datagram received while waiting clears the retransmit timer, and one that does not
/// complete the next flight (the peer's repeat) neither re-arms it nor is answered. Seed 4
/// drops one datagram on Alice's link, after ICE connected: Bob's flight 5 (certificate, key
/// exchange, verify, finished; Bob is the DTLS client). Alice's first repeat of her flight 4
/// reaches Bob at the instant his timer is due and clears it, so he never resends flight 5;
/// she repeats every second, gives up after 7 repeats and stops answering, her connection
/// still `connecting` at the end; Bob's ICE fails 30 s later. On seed 1 the same call
/// connects in 460 ms.
#[test]
fn one_lost_dtls_flight_stalls_the_handshake_for_good_in_webrtc_rs_0_21() {
    let lucky = audio_call_with_loss(0.02, 1, Duration::from_secs(4));
    assert_eq!(lucky.metrics.connect_time, Some(ms(460)));

    let run = audio_call_with_loss(0.02, 4, Duration::from_secs(40));
    assert_eq!(run.metrics.connect_time, None, "the call never connects");
    assert_eq!(
        webrtc_netsim::metrics::why_not_connected(&run.trace),
        "ICE connected at 200ms, but DTLS never completed for alice, bob"
    );
    let drops: Vec<(Duration, &str, usize)> = (run.trace.iter())
        .filter_map(|event| match &event.what {
            What::NetworkDrop { from, size, .. } => Some((event.at, from.as_str(), *size)),
            _ => None,
        })
        .collect();
    let ice_connected = (run.trace.iter())
        .find_map(|event| match &event.what {
            What::IceConnectionState { peer, state } if peer == "alice" && state == "connected" => {
                Some(event.at)
            }
            _ => None,
        })
        .expect("ICE connects: the checks got through");
    let (dropped_at, from, size) = drops[0];
    assert!(
        from.starts_with("bob") && dropped_at >= ice_connected && size > 500,
        "the first drop is Bob's flight 5, a large datagram after ICE connected: {drops:?}"
    );
    assert!(
        drops[1..].iter().all(|(at, ..)| *at > ms(8_000)),
        "nothing else is lost while Alice repeats her flight: {drops:?}"
    );
    assert_eq!(
        run.final_state("alice"),
        Some("connecting"),
        "Alice neither connects nor fails in 40 s"
    );
    assert_eq!(run.final_state("bob"), Some("failed"));
}

/// RTP payload type of a captured datagram, if it is RTP (RFC 5761: RTCP's 200–206 read as
/// 72–78).
fn rtp_payload_type(payload: &[u8]) -> Option<u8> {
    let (first, second) = (*payload.first()?, *payload.get(1)?);
    let payload_type = second & 0x7f;
    ((128..192).contains(&first) && !(72..=78).contains(&payload_type)).then_some(payload_type)
}

/// Alice's video packets and RTX resends (payload types 96 and 97) on the bundled
/// `mobile-edge` call, Bob sending no video (so every resend is Alice's), with `uplink`
/// changed on Alice's link; and how many of her datagrams the network dropped.
fn mobile_edge_resends(uplink: impl Fn(&mut LinkConfig)) -> (usize, usize, usize) {
    let mut file = webrtc_netsim::scenario::file::load(std::path::Path::new("scenarios/mobile-edge.toml"))
        .expect("the bundled file loads");
    for peer in &mut file.scenario.peers {
        match peer.name.as_str() {
            "bob" => peer.media.kinds = vec![MediaKind::Audio, MediaKind::Data],
            _ => uplink(&mut peer.uplink),
        }
    }
    let (played, captured) = webrtc_netsim::net::network::capturing(|| file.play());
    let (run, _) = played.expect("the call runs");
    let sent_by_alice = |payload_type| {
        (captured.iter())
            .filter(|c| c.host == "alice" && rtp_payload_type(&c.datagram.payload) == Some(payload_type))
            .count()
    };
    let dropped = (run.trace.iter())
        .filter(|event| matches!(&event.what, What::NetworkDrop { from, .. } if from.starts_with("alice")))
        .count();
    (sent_by_alice(96), sent_by_alice(97), dropped)
}

/// webrtc-rs 0.21's default NACK chain: the generator (`rtc-interceptor` 0.21.1
/// `nack/generator.rs`) asks every 100 ms for every packet missing from its log, without a
/// limit (`max_nacks_per_packet` 0) and whatever the round trip, and the responder
/// (`nack/responder.rs`) resends every packet asked for, each time it is asked. On the
/// bundled `mobile-edge` uplink (250 kbit/s, a 32 kB queue, round trips of a second and
/// more) a packet the full queue dropped is asked for again every 100 ms until it arrives,
/// each resend fills the queue further, and the resends outgrow the media: 2768 for 555
/// video packets. With the uplink's rate unlimited there is no queue to drop them, and 362
/// resends follow the 1 % loss (each lost packet asked for every 100 ms of its round trip).
#[test]
fn nack_resends_flood_a_slow_deep_uplink_in_webrtc_rs_0_21() {
    let (video, resends, dropped) = mobile_edge_resends(|_| {});
    assert!(
        resends > 3 * video && dropped > 2 * video,
        "each dropped video packet is sent again and again: {video} packets, {resends} resends, \
         {dropped} of Alice's datagrams dropped"
    );
    let (video, resends, _) = mobile_edge_resends(|uplink| uplink.rate_bps = None);
    assert!(
        resends < video,
        "without the bottleneck the resends stay under the media: {video} packets, {resends} resends"
    );
}

//! Metric definitions checked on hand-made traces.

use std::time::Duration;

use super::*;
use crate::trace::What;

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

fn sent(at: u64, seq: u64, frame: Option<u64>) -> Event {
    sent_on("s", at, seq, frame)
}

fn received(at: u64, seq: u64, sent_at: u64, frame: Option<u64>) -> Event {
    received_on("s", at, seq, sent_at, frame)
}

fn sent_on(stream: &str, at: u64, seq: u64, frame: Option<u64>) -> Event {
    Event {
        at: ms(at),
        what: What::MediaSent {
            stream: stream.into(),
            seq,
            size: 100,
            frame,
        },
    }
}

fn received_on(stream: &str, at: u64, seq: u64, sent_at: u64, frame: Option<u64>) -> Event {
    Event {
        at: ms(at),
        what: What::MediaReceived {
            stream: stream.into(),
            seq,
            sent_at: ms(sent_at),
            frame,
        },
    }
}

const ALL: Window = Window {
    from: Duration::ZERO,
    to: Duration::from_secs(100),
};

#[test]
fn a_late_duplicate_changes_neither_its_packets_arrival_nor_its_frames() {
    // 20 one-packet frames 33 ms apart, each arriving 10 ms later; frame 8's packet comes
    // again 2 s later. Taken as its arrival, that would show frame 8 at 2 s and freeze.
    let mut trace: Vec<Event> = (0..20)
        .map(|frame| sent(33 * frame, frame, Some(frame)))
        .collect();
    trace.extend((0..20).map(|frame| received(33 * frame + 10, frame, 33 * frame, Some(frame))));
    trace.push(received(2_000, 8, 33 * 8, Some(8)));
    trace.sort_by_key(|event| event.at);
    let m = StreamMetrics::compute(&trace, "s", ALL);
    assert_eq!((m.received, m.duplicates, m.freezes), (20, 1, 0));
    assert_eq!(m.one_way_delay.map(|delay| delay.max), Some(ms(10)));
}

#[test]
fn delivery_loss_duplicates_and_order_are_counted_from_sequence_numbers() {
    let trace = vec![
        sent(0, 0, None),
        sent(20, 1, None),
        sent(40, 2, None),
        sent(60, 3, None),
        received(50, 0, 0, None),
        received(90, 2, 40, None),
        received(91, 2, 40, None),
        received(95, 1, 20, None),
    ];
    let m = StreamMetrics::compute(&trace, "s", ALL);
    assert_eq!((m.sent, m.received, m.duplicates, m.out_of_order), (4, 3, 1, 1));
    assert_eq!(
        m.lost, 0,
        "seq 3 was sent after the last arrival: maybe in flight, not lost"
    );
    assert_eq!(m.delivered, 0.75);
    let delay = m.one_way_delay.unwrap();
    assert_eq!((delay.p50, delay.max), (ms(50), ms(75)));
}

#[test]
fn a_gap_counts_the_silence_after_the_last_arrival_while_sending_went_on() {
    let mut trace: Vec<Event> = (0..10).map(|i| sent(i * 20, i, None)).collect();
    trace.extend((0..3).map(|i| received(i * 20 + 5, i, i * 20, None)));
    let m = StreamMetrics::compute(&trace, "s", ALL);
    // The last packet (sent at 180 ms) could have arrived at 185 ms; the last arrival was 45.
    assert_eq!(m.media_gap, ms(185 - 45));
    assert_eq!(
        m.lost, 6,
        "sent at 60 to 160 ms, with 5 ms to arrive before the trace ends at 180"
    );
}

#[test]
fn a_tail_that_never_arrives_is_lost_unless_it_may_still_be_in_flight() {
    // 10 packets 20 ms apart, the first 3 arrive after 30 ms; the trace ends at 300 ms.
    let mut trace: Vec<Event> = (0..10).map(|i| sent(i * 20, i, None)).collect();
    trace.extend((0..3).map(|i| received(i * 20 + 30, i, i * 20, None)));
    let end = |at| Event {
        at: ms(at),
        what: What::PeerConnectionState {
            peer: "bob".into(),
            state: "closed".into(),
        },
    };
    let lost_at = |horizon| {
        let mut trace = trace.clone();
        trace.push(end(horizon));
        StreamMetrics::compute(&trace, "s", ALL).lost
    };
    assert_eq!(lost_at(300), 7, "every packet that had 30 ms before the end");
    assert_eq!(
        lost_at(200),
        6,
        "sent at 60 to 160 ms; the one sent at 180 may be in flight"
    );
}

/// How far a call that never connected got: ICE, or ICE but not DTLS, and for whom.
#[test]
fn a_call_that_never_connected_says_how_far_it_got() {
    let state = |at: u64, peer: &str, ice: bool, state: &str| Event {
        at: ms(at),
        what: match ice {
            true => What::IceConnectionState {
                peer: peer.into(),
                state: state.into(),
            },
            false => What::PeerConnectionState {
                peer: peer.into(),
                state: state.into(),
            },
        },
    };
    assert_eq!(why_not_connected(&[]), "ICE never started");
    let checking = [
        state(0, "alice", true, "checking"),
        state(0, "bob", true, "checking"),
    ];
    assert_eq!(
        why_not_connected(&checking),
        "ICE never connected (alice: checking, bob: checking)"
    );
    let one_dtls_done = [
        state(100, "alice", true, "connected"),
        state(150, "bob", true, "connected"),
        state(400, "bob", false, "connected"),
        state(900, "bob", true, "disconnected"),
    ];
    assert_eq!(
        why_not_connected(&one_dtls_done),
        "ICE connected at 150ms, but DTLS never completed for alice"
    );
}

/// A data channel's message lost once comes again after SCTP's retransmission timeout, so
/// a message it sent in the last second may still be on its way when the trace ends.
#[test]
fn a_data_channels_tail_has_a_retransmission_timeout_more_to_arrive() {
    // 10 messages 100 ms apart, the first 8 arriving after 50 ms; the trace ends at 1.9 s.
    let lost = |stream: &str| {
        let mut trace: Vec<Event> = (0..10).map(|i| sent_on(stream, i * 100, i, None)).collect();
        trace.extend((0..8).map(|i| received_on(stream, i * 100 + 50, i, i * 100, None)));
        trace.push(Event {
            at: ms(1_900),
            what: What::PeerConnectionState {
                peer: "bob".into(),
                state: "closed".into(),
            },
        });
        trace.sort_by_key(|event| event.at);
        StreamMetrics::compute(&trace, stream, ALL).lost
    };
    assert_eq!(lost("bob<-alice:audio"), 2, "both had their 50 ms");
    assert_eq!(
        lost("bob<-alice:data"),
        1,
        "the one sent at 800 ms had 50 ms and a second; the one at 900 ms may be on its way"
    );
}

#[test]
fn a_window_that_opens_on_silence_counts_it_as_a_gap() {
    let trace: Vec<Event> = (0..10)
        .map(|i| sent(i * 20, i, None))
        .chain(
            (0..10)
                .filter(|i| *i >= 6)
                .map(|i| received(i * 20 + 5, i, i * 20, None)),
        )
        .collect();
    let m = StreamMetrics::compute(&trace, "s", ALL);
    // Packet 0 could have arrived at 5 ms; the first arrival is packet 6 at 125 ms.
    assert_eq!(m.media_gap, ms(120));
    let steady = StreamMetrics::compute(
        &trace,
        "s",
        Window {
            from: ms(120),
            to: ms(200),
        },
    );
    assert_eq!(
        steady.media_gap,
        ms(20),
        "a window over steady media sees one packet interval"
    );
}

#[test]
fn connect_time_runs_from_the_offer_to_the_later_connected_peer() {
    let state = |at, peer: &str, state: &str| Event {
        at: ms(at),
        what: What::PeerConnectionState {
            peer: peer.into(),
            state: state.into(),
        },
    };
    let offer = Event {
        at: ms(10),
        what: What::SignalingState {
            peer: "alice".into(),
            state: "have-local-offer".into(),
        },
    };
    let trace = vec![
        offer,
        state(200, "alice", "connected"),
        state(260, "bob", "connected"),
    ];
    assert_eq!(connect_time(&trace), Some(ms(250)));
    assert_eq!(connect_time(&trace[..2]), None, "bob never connected");
}

/// Frame times: a steady 30 fps with one 400 ms hole after frame 20.
fn render_times_with_hole(hole: Duration) -> Vec<Duration> {
    let frame = Duration::from_nanos(33_333_333);
    (0..40u32)
        .map(|i| frame * i + if i > 20 { hole } else { Duration::ZERO })
        .collect()
}

#[test]
fn a_long_inter_frame_interval_is_a_freeze_and_a_five_second_one_a_pause() {
    assert_eq!(count_freezes(&render_times_with_hole(Duration::ZERO)), 0);
    assert_eq!(count_freezes(&render_times_with_hole(ms(400))), 1);
    assert_eq!(
        count_freezes(&render_times_with_hole(ms(100))),
        0,
        "133 ms < mean + 150 ms"
    );
    assert_eq!(
        count_freezes(&render_times_with_hole(Duration::from_secs(6))),
        0,
        "a pause"
    );
}

#[test]
fn a_video_frame_renders_only_once_all_its_packets_arrived() {
    let trace = vec![
        sent(0, 0, Some(0)),
        sent(0, 1, Some(0)),
        sent(33, 2, Some(1)),
        sent(33, 3, Some(1)),
        received(40, 0, 0, Some(0)),
        received(45, 1, 0, Some(0)),
        received(70, 2, 33, Some(1)),
    ];
    let m = StreamMetrics::compute(&trace, "s", ALL);
    // Packets 0 and 1 make frame 0, 2 and 3 frame 1; 3 never arrives.
    let packets = [
        (Some(0), Some(ms(40))),
        (Some(0), Some(ms(45))),
        (Some(1), Some(ms(70))),
        (Some(1), None),
    ];
    assert_eq!(
        frame_render_times(packets.into_iter()),
        vec![ms(45)],
        "frame 1 misses a packet"
    );
    assert_eq!(m.received, 3);
}

fn timeline(at: u64, action: &str) -> Event {
    Event {
        at: ms(at),
        what: What::Timeline {
            action: action.into(),
            detail: String::new(),
        },
    }
}

#[test]
fn a_server_outage_counts_from_its_start_and_a_peer_outage_from_its_end() {
    // The TURN server goes down at 1 s and stays down; the call finds another path and its
    // packet sent at 1.5 s arrives at 1.55 s. Then a peer's link is down from 3 s to 4 s.
    let trace = vec![
        sent(900, 0, None),
        received(950, 0, 900, None),
        timeline(1000, "server_outage"),
        sent(1000, 1, None),
        sent(1500, 2, None),
        received(1550, 2, 1500, None),
        timeline(3000, "outage"),
        sent(3000, 3, None),
        timeline(4000, "outage_end"),
        sent(4000, 4, None),
        received(4100, 4, 4000, None),
    ];
    let reconnects = recovery::reconnects(&trace);
    let times: Vec<(&str, Duration, Option<Duration>)> = reconnects
        .iter()
        .map(|reconnect| {
            (
                reconnect.action.as_str(),
                reconnect.at,
                reconnect.reconnect_time["s"],
            )
        })
        .collect();
    assert_eq!(
        times,
        [
            ("server_outage", ms(1000), Some(ms(550))),
            ("outage_end", ms(4000), Some(ms(100)))
        ]
    );
}

fn description(at: u64, peer: &str, sdp_type: &str, generation: u32) -> Event {
    Event {
        at: ms(at),
        what: What::LocalDescription {
            peer: peer.into(),
            sdp_type: sdp_type.into(),
            ufrag: format!("ufrag#{peer}{generation}"),
            pwd: format!("pwd#{peer}{generation}"),
        },
    }
}

fn ice(at: u64, peer: &str, state: &str) -> Event {
    Event {
        at: ms(at),
        what: What::IceConnectionState {
            peer: peer.into(),
            state: state.into(),
        },
    }
}

#[test]
fn an_offer_with_new_credentials_that_no_app_recorded_is_an_observed_restart() {
    // alice offers, bob answers; at 5 s alice offers new credentials without recording a
    // restart, bob answers with new ones, and both are connected again by 5.2 s.
    let mut trace = vec![
        description(0, "alice", "offer", 1),
        description(40, "bob", "answer", 1),
        ice(100, "alice", "connected"),
        ice(100, "bob", "connected"),
        description(5000, "alice", "offer", 2),
        description(5040, "bob", "answer", 2),
        ice(5150, "bob", "connected"),
        ice(5200, "alice", "connected"),
    ];
    let restarts = recovery::restarts(&trace);
    assert_eq!(restarts.len(), 1, "{restarts:?}");
    assert_eq!(
        (
            restarts[0].at,
            restarts[0].peer.as_str(),
            restarts[0].reason.as_str()
        ),
        (ms(5000), "alice", OBSERVED_RESTART)
    );
    assert_eq!(restarts[0].restart_time, Some(ms(200)));
    assert!(restarts[0].offer_credentials_changed && restarts[0].answer_credentials_changed);

    // When the app records its restart, that one is the restart, with its reason and time.
    trace.insert(
        4,
        Event {
            at: ms(4990),
            what: What::RestartIce {
                peer: "alice".into(),
                reason: "timeline".into(),
            },
        },
    );
    let restarts = recovery::restarts(&trace);
    assert_eq!(restarts.len(), 1, "{restarts:?}");
    assert_eq!(
        (restarts[0].at, restarts[0].reason.as_str()),
        (ms(4990), "timeline")
    );

    // An offer with the same credentials (a renegotiation) is no restart.
    let renegotiation = vec![
        description(0, "alice", "offer", 1),
        description(5000, "alice", "offer", 1),
    ];
    assert!(recovery::restarts(&renegotiation).is_empty());
}

/// 100-byte packets: four sent in the first second, three arriving in it (one twice), one
/// in the next second; the late one counts where it arrived, the copy not at all.
#[test]
fn bitrate_counts_payload_sent_by_send_time_and_received_once_by_arrival_time() {
    let trace = vec![
        sent(0, 0, None),
        sent(200, 1, None),
        sent(400, 2, None),
        received(250, 0, 0, None),
        received(450, 1, 200, None),
        sent(600, 3, None),
        received(650, 2, 400, None),
        received(700, 2, 400, None),
        received(1_100, 3, 600, None),
    ];
    let second = |from, to| {
        StreamMetrics::compute(
            &trace,
            "s",
            Window {
                from: ms(from),
                to: ms(to),
            },
        )
        .bitrate
    };
    assert_eq!(
        second(0, 1_000),
        StreamBitrate {
            sent_bps: 4 * 100 * 8,
            received_bps: 3 * 100 * 8,
        }
    );
    assert_eq!(
        second(1_000, 2_000),
        StreamBitrate {
            sent_bps: 0,
            received_bps: 100 * 8,
        }
    );
    assert_eq!(
        second(500, 1_000).received_bps,
        100 * 8 * 2,
        "the copy at 700 ms is not counted"
    );
}

/// A number sent twice, 100 bytes and then 300: the arrival of the first send is 100 bytes,
/// in the bitrate and in the sizes the report's bins count, whatever came after it.
#[test]
fn an_arrival_has_the_size_of_its_own_send_not_of_a_later_one_of_its_number() {
    let send = |at: u64, size: usize| Event {
        at: ms(at),
        what: What::MediaSent {
            stream: "s".into(),
            seq: 7,
            size,
            frame: None,
        },
    };
    let trace = vec![send(0, 100), received(50, 7, 0, None), send(500, 300)];
    let bitrate = StreamMetrics::compute(
        &trace,
        "s",
        Window {
            from: ms(0),
            to: ms(1_000),
        },
    )
    .bitrate;
    assert_eq!(bitrate.received_bps, 100 * 8);
    let media = MediaIndex::new(&trace);
    assert_eq!(media.arrivals("s").collect::<Vec<_>>(), [(ms(50), 100)]);
    assert_eq!(
        media.sends("s").collect::<Vec<_>>(),
        [(ms(0), 100), (ms(500), 300)]
    );
    assert_eq!(media.arrivals("nobody").count(), 0);
}

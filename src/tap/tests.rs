use std::time::Duration;

use bytes::Bytes;
use rtc::interceptor::{AttributedPacket, NackResponderBuilder, RTCPFeedback};
use rtc::rtcp::transport_feedbacks::transport_layer_nack::{NackPair, TransportLayerNack};
use rtc::shared::TransportContext;

use super::*;
use crate::metrics::{MediaIndex, StreamMetrics, Window};
use crate::net::{LinkConfig, Network};

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

const ALICE_AUDIO: u32 = 0xa1;
const ALICE_VIDEO: u32 = 0xa2;

fn record(peer: &str, flow: Flow, ssrc: u32, seq: u16, timestamp: u32, at: Duration) -> Record {
    Record {
        peer: peer.into(),
        flow,
        kind: if ssrc == ALICE_VIDEO {
            MediaKind::Video
        } else {
            MediaKind::Audio
        },
        ssrc,
        seq,
        timestamp,
        marker: false,
        size: 100,
        at,
    }
}

/// Alice sends audio packets `seqs`, one per 20 ms from 0; Bob receives those of `arrive`
/// (indices into `seqs`, a repeat being a duplicate) 50 ms after each was sent.
fn audio(seqs: &[u16], arrive: &[usize]) -> Vec<Record> {
    let sent_at = |index: usize| ms(20 * index as u64);
    let mut records: Vec<Record> = seqs
        .iter()
        .enumerate()
        .map(|(index, seq)| record("alice", Flow::Sent, ALICE_AUDIO, *seq, 0, sent_at(index)))
        .collect();
    records.extend(arrive.iter().map(|&index| {
        record(
            "bob",
            Flow::Received,
            ALICE_AUDIO,
            seqs[index],
            0,
            sent_at(index) + ms(50),
        )
    }));
    records
}

fn metrics(events: &[Event], stream: &str) -> StreamMetrics {
    let window = Window {
        from: Duration::ZERO,
        to: Duration::from_secs(60),
    };
    MediaIndex::new(events).metrics(stream, window)
}

fn seqs(events: &[Event], sent: bool) -> Vec<u64> {
    events
        .iter()
        .filter_map(|event| match (&event.what, sent) {
            (What::MediaSent { seq, .. }, true) | (What::MediaReceived { seq, .. }, false) => Some(*seq),
            _ => None,
        })
        .collect()
}

#[test]
fn sequence_numbers_extend_across_wrap_around() {
    let events = join(&audio(&[65534, 65535, 0, 1], &[0, 1, 2, 3]), Vec::new());
    assert_eq!(seqs(&events, true), [65534, 65535, 65536, 65537]);
    assert_eq!(seqs(&events, false), [65534, 65535, 65536, 65537]);
    let audio = metrics(&events, "bob<-alice:audio");
    assert_eq!((audio.sent, audio.received, audio.lost), (4, 4, 0));
    assert_eq!(audio.one_way_delay.expect("arrivals").p50, ms(50));
}

#[test]
fn a_receiver_whose_first_arrival_comes_after_the_wrap_joins_the_same_packets() {
    let events = join(&audio(&[65534, 65535, 0, 1, 2], &[2, 3, 4]), Vec::new());
    assert_eq!(seqs(&events, false), [65536, 65537, 65538]);
    let audio = metrics(&events, "bob<-alice:audio");
    assert_eq!((audio.sent, audio.received, audio.lost), (5, 3, 2));
}

#[test]
fn a_lost_packet_is_lost_and_leaves_a_gap() {
    let events = join(&audio(&[7, 8, 9, 10], &[0, 1, 3]), Vec::new());
    let audio = metrics(&events, "bob<-alice:audio");
    assert_eq!((audio.sent, audio.received, audio.lost), (4, 3, 1));
    assert_eq!(audio.delivered, 0.75);
    assert_eq!(audio.media_gap, ms(40), "packet 9 was due 20 ms after 8");
}

#[test]
fn a_duplicate_is_delivered_once() {
    let events = join(&audio(&[7, 8, 9], &[0, 1, 1, 2]), Vec::new());
    let audio = metrics(&events, "bob<-alice:audio");
    assert_eq!((audio.sent, audio.received, audio.duplicates), (3, 3, 1));
    assert_eq!(audio.delivered, 1.0);
}

#[test]
fn a_stream_nobody_received_is_sent_to_an_unknown_receiver() {
    let events = join(&audio(&[7, 8, 9], &[]), Vec::new());
    let audio = metrics(&events, "?<-alice:audio");
    assert_eq!((audio.sent, audio.received, audio.delivered), (3, 0, 0.0));
}

#[test]
fn arrivals_of_an_ssrc_nobody_tapped_sent_are_left_out() {
    let stray = record("bob", Flow::Received, 0x5eed, 1, 0, ms(10));
    assert_eq!(join(&[stray], Vec::new()), []);
}

/// 30 video frames 33 ms apart, two packets each; frames 10 to 19 never arrive (a 330 ms
/// hole), and the RTP timestamp wraps at frame 15.
#[test]
fn video_frames_come_from_rtp_timestamps_and_a_hole_is_a_freeze() {
    const FRAME_TICKS: u32 = 3000;
    let first_timestamp = u32::MAX - 15 * FRAME_TICKS + 1;
    let mut records = Vec::new();
    let mut seq: u16 = 100;
    for frame in 0..30u32 {
        let timestamp = first_timestamp.wrapping_add(frame * FRAME_TICKS);
        let at = ms(33 * u64::from(frame));
        for _ in 0..2 {
            records.push(record("alice", Flow::Sent, ALICE_VIDEO, seq, timestamp, at));
            if !(10..20).contains(&frame) {
                let arrival = record("bob", Flow::Received, ALICE_VIDEO, seq, timestamp, at + ms(50));
                records.push(arrival);
            }
            seq += 1;
        }
    }
    let events = join(&records, Vec::new());
    let frames: BTreeSet<u64> = events
        .iter()
        .filter_map(|event| match &event.what {
            What::MediaSent { frame, .. } => *frame,
            _ => None,
        })
        .collect();
    let expected: BTreeSet<u64> = (0..30)
        .map(|frame| u64::from(first_timestamp) + u64::from(frame * FRAME_TICKS))
        .collect();
    assert_eq!(
        frames, expected,
        "one frame per timestamp, in order across the wrap"
    );
    let video = metrics(&events, "bob<-alice:video");
    assert_eq!((video.sent, video.received), (60, 40));
    assert_eq!(video.freezes, 1);
}

// The interceptor in a chain, fed by hand.

fn tap() -> WireTap {
    WireTap::new(&SimRuntime::new(Network::new(LinkConfig::default(), 1)))
}

fn rtp(ssrc: u32, seq: u16, payload: &'static [u8]) -> rtc::rtp::Packet {
    rtc::rtp::Packet {
        header: rtc::rtp::header::Header {
            version: 2,
            payload_type: 96,
            sequence_number: seq,
            ssrc,
            ..Default::default()
        },
        payload: Bytes::from_static(payload),
    }
}

fn tagged(tap: &WireTap, at: Duration, packet: Packet) -> TaggedPacket {
    TaggedPacket {
        now: tap.origin + at,
        transport: TransportContext::default(),
        message: AttributedPacket::new(packet),
    }
}

const ALICE_RTX: u32 = 0xa3;

/// Video with NACK, and RTX if `rtx`, as webrtc-rs binds it.
fn video_stream(rtx: bool) -> StreamInfo {
    StreamInfo {
        ssrc: ALICE_VIDEO,
        ssrc_rtx: rtx.then_some(ALICE_RTX),
        payload_type: 96,
        payload_type_rtx: rtx.then_some(97),
        mime_type: "video/VP8".to_owned(),
        clock_rate: 90_000,
        rtcp_feedback: vec![RTCPFeedback {
            typ: "nack".to_owned(),
            parameter: String::new(),
        }],
        ..Default::default()
    }
}

/// Alice's chain, her tap and webrtc-rs's NACK responder, sends video packets 10 to 12 at
/// 10 to 12 ms and answers a NACK for 11 at 80 ms: returns the retransmission.
fn alice_retransmits(tap: &WireTap, stream: &StreamInfo) -> Packet {
    let nack_responder = NackResponderBuilder::new().build();
    let registry = Registry::new().with(Slot::NackResponder, nack_responder);
    let mut alice = tap.register("alice", registry).build();
    alice.bind_local_stream(stream);
    for seq in 10..13 {
        let packet = Packet::Rtp(rtp(ALICE_VIDEO, seq, b"frame"));
        alice
            .handle_write(tagged(tap, ms(u64::from(seq)), packet))
            .unwrap();
        assert!(alice.poll_write().is_some(), "the tap passes what it writes");
    }
    let nack = TransportLayerNack {
        sender_ssrc: 1,
        media_ssrc: ALICE_VIDEO,
        nacks: vec![NackPair {
            packet_id: 11,
            lost_packets: 0,
        }],
    };
    let feedback = Packet::Rtcp(vec![Box::new(nack)]);
    alice.handle_read(tagged(tap, ms(80), feedback)).unwrap();
    while alice.poll_read().is_some() {}
    let retransmission = alice.poll_write().expect("the NACK is answered");
    assert!(alice.poll_write().is_none());
    retransmission.message.packet
}

fn seen(tap: &WireTap) -> Vec<(String, Flow, u32, u16, usize, Duration)> {
    tap.records()
        .into_iter()
        .map(|r| (r.peer.to_string(), r.flow, r.ssrc, r.seq, r.size, r.at))
        .collect()
}

fn alice_sent(seq: u16) -> (String, Flow, u32, u16, usize, Duration) {
    (
        "alice".to_owned(),
        Flow::Sent,
        ALICE_VIDEO,
        seq,
        5,
        ms(u64::from(seq)),
    )
}

/// Without RTX a retransmission is the original packet again: the tap, app-ward of the
/// responder, sees it leave once.
#[test]
fn a_retransmission_is_not_recorded_as_sent_again() {
    let tap = tap();
    let Packet::Rtp(retransmission) = alice_retransmits(&tap, &video_stream(false)) else {
        panic!("a retransmission is RTP");
    };
    assert_eq!(retransmission.header.sequence_number, 11);
    assert_eq!(seen(&tap), [alice_sent(10), alice_sent(11), alice_sent(12)]);
}

/// An RTX retransmission reaches Bob's tap as an arrival of the packet it carries.
#[test]
fn an_rtx_retransmission_is_received_as_its_original() {
    let tap = tap();
    let retransmission = alice_retransmits(&tap, &video_stream(true));
    let mut bob = tap.register("bob", Registry::new()).build();
    bob.bind_remote_stream(&video_stream(true));
    bob.handle_read(tagged(&tap, ms(90), retransmission)).unwrap();
    assert!(bob.poll_read().is_some(), "the tap passes what it reads");
    let bob_received = ("bob".to_owned(), Flow::Received, ALICE_VIDEO, 11, 5, ms(90));
    assert_eq!(
        seen(&tap),
        [alice_sent(10), alice_sent(11), alice_sent(12), bob_received]
    );
}

#[test]
fn rtcp_and_rtx_padding_pass_unrecorded() {
    let tap = tap();
    let mut bob = tap.register("bob", Registry::new()).build();
    bob.bind_remote_stream(&video_stream(true));
    let padding = Packet::Rtp(rtp(ALICE_RTX, 1, b""));
    bob.handle_read(tagged(&tap, ms(1), padding)).unwrap();
    assert!(bob.poll_read().is_some());
    let mut alice = tap.register("alice", Registry::new()).build();
    let feedback = Packet::Rtcp(vec![Box::new(TransportLayerNack::default())]);
    alice.handle_write(tagged(&tap, ms(1), feedback)).unwrap();
    assert!(alice.poll_write().is_some());
    assert_eq!(tap.records(), []);
}

//! Synthetic media: what each peer sends and how the receiver reads it back.
//!
//! Audio is one Opus-typed packet per 20 ms; video is a VP8-typed frame 30 times a second,
//! split into MTU-sized packets with the marker bit on the last; data is a numbered message
//! on a reliable ordered channel every `data_interval`. The wire tap measures the RTP, as it
//! does any app's; the data channel, which carries no RTP, is measured by the [`Probe`] at
//! the front of each message (sequence number, virtual send time). RTP payloads carry a
//! probe too, so the receiver sees a payload that arrived on the wrong track.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::media_engine::{MIME_TYPE_OPUS, MIME_TYPE_VP8};
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use webrtc::data_channel::DataChannel;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::runtime::Runtime;

use super::{CongestionControl, Estimate};
use crate::sim::TraceHandle;
use crate::trace::{MediaKind, StreamId, What};

/// Audio: one packet per Opus frame.
pub const AUDIO_PACKET_INTERVAL: Duration = Duration::from_millis(20);
/// Audio packets are this big, like a 32 kbit/s Opus stream.
pub const AUDIO_PACKET_SIZE: usize = 80;
/// Video frame rate.
pub const VIDEO_FPS: u32 = 30;
/// Largest video RTP payload, leaving room for RTP, SRTP and UDP headers within 1500 bytes.
pub const VIDEO_MAX_PAYLOAD: usize = 1100;

/// What an RTP header with its extensions (TWCC's sequence number, the MID) adds to a
/// payload, about: the pacer spends its budget on whole RTP packets.
pub const RTP_OVERHEAD: usize = 24;

const OPUS_PAYLOAD_TYPE: u8 = 111;
const VP8_PAYLOAD_TYPE: u8 = 96;
/// An Opus TOC byte (CELT fullband, 20 ms, one frame), so the payload looks like Opus.
const OPUS_TOC: u8 = 0xFC;
/// VP8 payload descriptor: S bit set on the first packet of a frame.
const VP8_START_OF_FRAME: u8 = 0x10;
const VP8_CONTINUATION: u8 = 0x00;

/// The measurement header at the front of every synthetic payload, after one codec byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    pub seq: u64,
    pub sent_at: Duration,
    pub frame: u64,
    /// What it was sent as, so a payload delivered to the wrong track is caught.
    pub kind: MediaKind,
}

impl Probe {
    const LEN: usize = 25;

    /// `codec_byte`, then the probe, then zero padding up to `size` bytes.
    pub fn encode(&self, codec_byte: u8, size: usize) -> BytesMut {
        let mut payload = BytesMut::with_capacity(size.max(1 + Self::LEN));
        payload.extend_from_slice(&[codec_byte]);
        payload.extend_from_slice(&self.seq.to_be_bytes());
        payload.extend_from_slice(&(self.sent_at.as_nanos() as u64).to_be_bytes());
        payload.extend_from_slice(&self.frame.to_be_bytes());
        payload.extend_from_slice(&[self.kind as u8]);
        payload.resize(size.max(1 + Self::LEN), 0);
        payload
    }

    /// Reads the probe back; `None` for a payload that is not ours.
    pub fn decode(payload: &[u8]) -> Option<Probe> {
        let field = |index: usize| -> Option<u64> {
            let start = 1 + 8 * index;
            Some(u64::from_be_bytes(
                payload.get(start..start + 8)?.try_into().ok()?,
            ))
        };
        let kind = match payload.get(Self::LEN)? {
            0 => MediaKind::Audio,
            1 => MediaKind::Video,
            2 => MediaKind::Data,
            _ => return None,
        };
        Some(Probe {
            seq: field(0)?,
            sent_at: Duration::from_nanos(field(1)?),
            frame: field(2)?,
            kind,
        })
    }
}

/// The codec a synthetic track claims, as the SDP will advertise it.
fn codec(kind: MediaKind) -> RTCRtpCodec {
    match kind {
        MediaKind::Audio => RTCRtpCodec {
            mime_type: MIME_TYPE_OPUS.to_owned(),
            clock_rate: 48_000,
            channels: 2,
            sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
            rtcp_feedback: vec![],
        },
        _ => RTCRtpCodec {
            mime_type: MIME_TYPE_VP8.to_owned(),
            clock_rate: 90_000,
            channels: 0,
            sdp_fmtp_line: String::new(),
            rtcp_feedback: vec![],
        },
    }
}

/// A local RTP track of `kind` with a fixed SSRC, ready for `add_track`.
pub fn local_track(peer: &str, kind: MediaKind, ssrc: u32) -> Arc<TrackLocalStaticRTP> {
    let rtp_kind = if kind == MediaKind::Audio {
        RtpCodecKind::Audio
    } else {
        RtpCodecKind::Video
    };
    Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
        format!("{peer}-stream"),
        format!("{peer}-{kind}"),
        format!("{peer} {kind}"),
        rtp_kind,
        vec![RTCRtpEncodingParameters {
            rtp_coding_parameters: RTCRtpCodingParameters {
                ssrc: Some(ssrc),
                ..Default::default()
            },
            codec: codec(kind),
            ..Default::default()
        }],
    )))
}

/// How big the synthetic video's frames are.
#[derive(Debug, Clone)]
pub enum VideoRate {
    /// A constant bitrate, of the payloads: congestion control is off.
    Fixed(u64),
    /// The congestion controller's target, read at each frame and held within `control`'s
    /// limits: what is left of it after the audio (when the peer sends audio), less the
    /// RTP headers, since the pacer releases whole RTP packets at the target rate.
    Following {
        estimate: Estimate,
        control: CongestionControl,
        with_audio: bool,
    },
}

impl VideoRate {
    /// The packets' payload sizes of the next frame.
    fn frame(&self) -> Vec<usize> {
        let fps = u64::from(VIDEO_FPS);
        match self {
            VideoRate::Fixed(bps) => split_frame((bps / 8 / fps) as usize),
            VideoRate::Following {
                estimate,
                control,
                with_audio,
            } => {
                let target = estimate.target_bps().clamp(control.min_bps, control.max_bps);
                let packets_per_second = Duration::from_secs(1).as_nanos() / AUDIO_PACKET_INTERVAL.as_nanos();
                let audio = match with_audio {
                    true => ((AUDIO_PACKET_SIZE + RTP_OVERHEAD) * 8) as u64 * packets_per_second as u64,
                    false => 0,
                };
                let frame_on_wire = (target.saturating_sub(audio) / 8 / fps) as usize;
                let packets = frame_on_wire.div_ceil(VIDEO_MAX_PAYLOAD + RTP_OVERHEAD).max(1);
                split_frame(frame_on_wire.saturating_sub(packets * RTP_OVERHEAD))
            }
        }
    }
}

/// When the app's audio and video are paused (muted) until: the senders skip their frames
/// before it, as a muted encoder produces none, while the RTP clock runs on.
#[derive(Debug, Clone, Default)]
pub struct Pause(Arc<Mutex<Duration>>);

impl Pause {
    /// Pauses from `now` for `duration` (a pause already running past that keeps its end).
    pub fn start(&self, now: Duration, duration: Duration) {
        let mut until = self.0.lock().expect("pause poisoned");
        *until = (*until).max(now + duration);
    }

    fn holds(&self, now: Duration) -> bool {
        now < *self.0.lock().expect("pause poisoned")
    }
}

/// Sends synthetic audio or video on `track` until virtual time `until`, none while `pause`
/// holds.
#[allow(clippy::too_many_arguments)]
pub async fn send_rtp(
    runtime: Arc<dyn Runtime>,
    trace: TraceHandle,
    stream: StreamId,
    track: Arc<TrackLocalStaticRTP>,
    ssrc: u32,
    video_rate: VideoRate,
    pause: Pause,
    until: Duration,
) {
    let (period, payload_type) = match stream.kind {
        MediaKind::Audio => (AUDIO_PACKET_INTERVAL, OPUS_PAYLOAD_TYPE),
        _ => (Duration::from_secs(1) / VIDEO_FPS, VP8_PAYLOAD_TYPE),
    };
    let mut ticks = runtime.interval(period);
    let mut seq: u64 = 0;
    for frame in 0u64.. {
        ticks.tick().await;
        if trace.now() >= until {
            return;
        }
        if pause.holds(trace.now()) {
            continue;
        }
        let sizes = match stream.kind {
            MediaKind::Audio => vec![AUDIO_PACKET_SIZE],
            _ => video_rate.frame(),
        };
        let rtp_timestamp = match stream.kind {
            MediaKind::Audio => frame as u32 * 960,
            _ => frame as u32 * (90_000 / VIDEO_FPS),
        };
        let last = sizes.len() - 1;
        for (index, size) in sizes.into_iter().enumerate() {
            let codec_byte = match stream.kind {
                MediaKind::Audio => OPUS_TOC,
                _ if index == 0 => VP8_START_OF_FRAME,
                _ => VP8_CONTINUATION,
            };
            let probe = Probe {
                seq,
                sent_at: trace.now(),
                frame,
                kind: stream.kind,
            };
            let packet = rtc::rtp::packet::Packet {
                header: rtc::rtp::header::Header {
                    version: 2,
                    payload_type,
                    sequence_number: seq as u16,
                    timestamp: rtp_timestamp,
                    ssrc,
                    marker: index == last && stream.kind == MediaKind::Video,
                    ..Default::default()
                },
                payload: Bytes::from(probe.encode(codec_byte, size)),
            };
            if let Err(error) = track.write_rtp(packet).await {
                trace.record_at(probe.sent_at, send_error(&stream, &error));
            }
            seq += 1;
        }
    }
}

/// Splits a video frame of `frame_size` bytes into near-equal packets of at most
/// [`VIDEO_MAX_PAYLOAD`] bytes.
fn split_frame(frame_size: usize) -> Vec<usize> {
    let count = frame_size.div_ceil(VIDEO_MAX_PAYLOAD).max(1);
    let base = frame_size / count;
    (0..count)
        .map(|index| base + usize::from(index < frame_size % count))
        .collect()
}

/// Sends a numbered message on `channel` every `interval` until virtual time `until`.
pub async fn send_data(
    runtime: Arc<dyn Runtime>,
    trace: TraceHandle,
    stream: StreamId,
    channel: Arc<dyn DataChannel>,
    interval: Duration,
    until: Duration,
) {
    let mut ticks = runtime.interval(interval);
    for seq in 0u64.. {
        ticks.tick().await;
        if trace.now() >= until {
            return;
        }
        let probe = Probe {
            seq,
            sent_at: trace.now(),
            frame: 0,
            kind: MediaKind::Data,
        };
        let message = probe.encode(b'D', 64);
        let size = message.len();
        let what = match channel.send(message).await {
            Ok(()) => What::MediaSent {
                stream: stream.to_string(),
                seq,
                size,
                frame: None,
            },
            Err(error) => send_error(&stream, &error),
        };
        let sent = matches!(what, What::MediaSent { .. });
        trace.record_at(probe.sent_at, what);
        if !sent {
            return;
        }
    }
}

/// The error the stack gave for a payload of `stream`, without the packet webrtc-rs puts
/// in it (its whole payload, in `Debug` form): that would make the trace's largest events.
fn send_error(stream: &StreamId, error: &webrtc::error::Error) -> What {
    let text = error.to_string();
    let cause = text
        .split_once(" Packet {")
        .map_or(text.as_str(), |(cause, _)| cause);
    What::Error {
        peer: stream.from.clone(),
        message: format!("sending {stream}: {}", cause.trim_end_matches(['(', ','])),
    }
}

/// Records a received data-channel message of `stream`, if it carries a probe.
pub fn record_received(trace: &TraceHandle, stream: &StreamId, payload: &[u8]) {
    if let Some(probe) = check_received(trace, stream, payload) {
        trace.record(What::MediaReceived {
            stream: stream.to_string(),
            seq: probe.seq,
            sent_at: probe.sent_at,
            frame: None,
        });
    }
}

/// The probe of a payload received on `stream`; an error in the trace if it has none, or
/// was sent as another kind.
pub fn check_received(trace: &TraceHandle, stream: &StreamId, payload: &[u8]) -> Option<Probe> {
    let message = match Probe::decode(payload) {
        Some(probe) if probe.kind == stream.kind => return Some(probe),
        Some(probe) => format!("a {} payload (seq {}) arrived as {stream}", probe.kind, probe.seq),
        None => format!("a payload that is not ours arrived as {stream}"),
    };
    let peer = stream.to.clone();
    trace.record(What::Error { peer, message });
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_send_error_names_its_cause_without_the_packet() {
        let stream = StreamId {
            from: "alice".into(),
            to: "bob".into(),
            kind: MediaKind::Audio,
        };
        let error = webrtc::error::Error::Other(
            "SendError(SenderRtp(RTCRtpSenderId(0), Packet { header: Header { version: 2 }, payload: b\"\\0\\0\" }))"
                .to_owned(),
        );
        let What::Error { peer, message } = send_error(&stream, &error) else {
            panic!("an error event")
        };
        assert_eq!(peer, "alice");
        assert_eq!(
            message,
            "sending bob<-alice:audio: SendError(SenderRtp(RTCRtpSenderId(0)"
        );
    }

    #[test]
    fn a_probe_survives_encoding_and_padding() {
        let probe = Probe {
            seq: 7,
            sent_at: Duration::from_micros(1_234_567),
            frame: 42,
            kind: MediaKind::Video,
        };
        let payload = probe.encode(VP8_START_OF_FRAME, 1000);
        assert_eq!(payload.len(), 1000);
        assert_eq!(payload[0], VP8_START_OF_FRAME);
        assert_eq!(Probe::decode(&payload), Some(probe));
        assert_eq!(Probe::decode(&payload[..10]), None);
    }

    #[test]
    fn frames_split_into_mtu_sized_packets_that_add_up() {
        let sizes = split_frame(3333);
        assert_eq!(sizes.len(), 4);
        assert_eq!(sizes.iter().sum::<usize>(), 3333);
        assert!(sizes.iter().all(|size| *size <= VIDEO_MAX_PAYLOAD));
        assert_eq!(split_frame(500), vec![500]);
    }

    #[test]
    fn video_that_follows_the_estimate_fits_it_with_the_audio_and_headers() {
        let control = CongestionControl {
            start_bps: 1_000_000,
            min_bps: 100_000,
            max_bps: 2_000_000,
        };
        let estimate = Estimate::new(1_000_000);
        let rate = VideoRate::Following {
            estimate: estimate.clone(),
            control,
            with_audio: true,
        };
        let on_wire = |sizes: Vec<usize>| {
            let bytes: usize = sizes.iter().map(|size| size + RTP_OVERHEAD).sum();
            bytes as u64 * 8 * u64::from(VIDEO_FPS)
        };
        let audio = ((AUDIO_PACKET_SIZE + RTP_OVERHEAD) * 8 * 50) as u64;
        let video = on_wire(rate.frame());
        assert!(video + audio <= 1_000_000, "{video} + {audio}");
        assert!(video + audio > 990_000, "{video} + {audio}");
        // Beyond the limits, the limits.
        estimate.set(5_000_000);
        assert!(on_wire(rate.frame()) + audio <= 2_000_000);
        assert!(on_wire(rate.frame()) + audio > 1_990_000);
    }
}

//! The app's own media: a microphone of Opus-sized frames and a camera of VP8-sized frames,
//! packetized into RTP by the app and written to whichever connection is current.
//!
//! There is no codec here, only its sizes and timing: what a network sees of a voice and a
//! video call. The sources keep running through a rebuild of the connection, as a real
//! encoder does, so sequence numbers and timestamps continue on the new connection.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::media_engine::{MIME_TYPE_OPUS, MIME_TYPE_VP8};
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::runtime::Runtime;

/// What the app sends.
#[derive(Debug, Clone)]
pub struct MediaConfig {
    /// Opus-sized audio: a 20 ms frame of 80 to 160 bytes.
    pub audio: bool,
    /// VP8-sized video at `video_fps`, `video_bitrate_bps` on average.
    pub video: bool,
    pub video_fps: u32,
    pub video_bitrate_bps: u64,
    /// The SSRCs of the two streams (kept across rebuilt connections).
    pub audio_ssrc: u32,
    pub video_ssrc: u32,
}

impl Default for MediaConfig {
    fn default() -> Self {
        MediaConfig {
            audio: true,
            video: true,
            video_fps: 30,
            video_bitrate_bps: 300_000,
            audio_ssrc: 0x0a0d_1000,
            video_ssrc: 0x0b1d_e000,
        }
    }
}

/// Largest RTP payload of a video packet: well under a 1500-byte MTU once SRTP, RTP and the
/// IP/UDP headers are added.
pub const MAX_VIDEO_PAYLOAD: usize = 1100;
/// A keyframe every this many frames, four times the size of a delta frame.
const KEYFRAME_INTERVAL: u64 = 60;
const OPUS_PAYLOAD_TYPE: u8 = 111;
const VP8_PAYLOAD_TYPE: u8 = 96;
/// Opus TOC byte: CELT fullband, one 20 ms frame.
const OPUS_TOC: u8 = 0xfc;
/// VP8 payload descriptor: S bit on the first packet of a frame.
const VP8_START: u8 = 0x10;
const VP8_CONTINUATION: u8 = 0x00;

/// One connection's local tracks.
#[derive(Default, Clone)]
pub(crate) struct Tracks {
    pub(crate) audio: Option<Arc<TrackLocalStaticRTP>>,
    pub(crate) video: Option<Arc<TrackLocalStaticRTP>>,
}

/// The tracks of the current connection, where the sources write. Empty between connections.
#[derive(Default, Clone)]
pub(crate) struct Outlets(Arc<Mutex<Tracks>>);

impl Outlets {
    pub(crate) fn set(&self, tracks: Tracks) {
        *self.0.lock().expect("outlets poisoned") = tracks;
    }

    fn audio(&self) -> Option<Arc<TrackLocalStaticRTP>> {
        self.0.lock().expect("outlets poisoned").audio.clone()
    }

    fn video(&self) -> Option<Arc<TrackLocalStaticRTP>> {
        self.0.lock().expect("outlets poisoned").video.clone()
    }
}

/// A local track for `kind` with its fixed SSRC.
pub(crate) fn track(kind: RtpCodecKind, ssrc: u32) -> Arc<TrackLocalStaticRTP> {
    let (codec, id) = match kind {
        RtpCodecKind::Audio => (
            RTCRtpCodec {
                mime_type: MIME_TYPE_OPUS.to_owned(),
                clock_rate: 48_000,
                channels: 2,
                sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
                rtcp_feedback: vec![],
            },
            "microphone",
        ),
        _ => (
            RTCRtpCodec {
                mime_type: MIME_TYPE_VP8.to_owned(),
                clock_rate: 90_000,
                channels: 0,
                sdp_fmtp_line: String::new(),
                rtcp_feedback: vec![],
            },
            "camera",
        ),
    };
    let encoding = RTCRtpEncodingParameters {
        rtp_coding_parameters: RTCRtpCodingParameters {
            ssrc: Some(ssrc),
            ..Default::default()
        },
        codec,
        ..Default::default()
    };
    Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
        "call".to_owned(),
        id.to_owned(),
        id.to_owned(),
        kind,
        vec![encoding],
    )))
}

fn packet(
    payload_type: u8,
    ssrc: u32,
    seq: u16,
    timestamp: u32,
    marker: bool,
    payload: Vec<u8>,
) -> rtc::rtp::Packet {
    rtc::rtp::Packet {
        header: rtc::rtp::header::Header {
            version: 2,
            payload_type,
            sequence_number: seq,
            timestamp,
            ssrc,
            marker,
            ..Default::default()
        },
        payload: Bytes::from(payload),
    }
}

/// The microphone: a frame every 20 ms, its size varying between 80 and 160 bytes as a
/// voice's does. A frame written while no connection is up is lost, as a live one is.
pub(crate) async fn microphone(runtime: Arc<dyn Runtime>, outlets: Outlets, ssrc: u32) {
    let mut ticks = runtime.interval(Duration::from_millis(20));
    for frame in 0u64.. {
        ticks.tick().await;
        let Some(track) = outlets.audio() else { continue };
        let mut payload = vec![0u8; 80 + (frame as usize * 37) % 81];
        payload[0] = OPUS_TOC;
        let rtp = packet(
            OPUS_PAYLOAD_TYPE,
            ssrc,
            frame as u16,
            (frame * 960) as u32,
            false,
            payload,
        );
        let _ = track.write_rtp(rtp).await;
    }
}

/// The camera: `fps` frames a second averaging `bitrate_bps`, a keyframe four times as
/// large every 60 frames, each frame split into packets of at most [`MAX_VIDEO_PAYLOAD`]
/// bytes with the marker on the last.
pub(crate) async fn camera(
    runtime: Arc<dyn Runtime>,
    outlets: Outlets,
    ssrc: u32,
    fps: u32,
    bitrate_bps: u64,
) {
    let fps = fps.max(1);
    let mut ticks = runtime.interval(Duration::from_micros(1_000_000 / u64::from(fps)));
    let delta_bytes = (bitrate_bps / 8 / u64::from(fps)) as usize * KEYFRAME_INTERVAL as usize
        / (KEYFRAME_INTERVAL as usize + 3);
    let mut seq: u16 = 0;
    for frame in 0u64.. {
        ticks.tick().await;
        let Some(track) = outlets.video() else { continue };
        let size = if frame % KEYFRAME_INTERVAL == 0 {
            4 * delta_bytes
        } else {
            delta_bytes
        }
        .max(1);
        let timestamp = (frame * 90_000 / u64::from(fps)) as u32;
        let packets = size.div_ceil(MAX_VIDEO_PAYLOAD);
        for index in 0..packets {
            let len = if index + 1 == packets {
                size - index * MAX_VIDEO_PAYLOAD
            } else {
                MAX_VIDEO_PAYLOAD
            };
            let mut payload = vec![0u8; len];
            payload[0] = if index == 0 { VP8_START } else { VP8_CONTINUATION };
            let rtp = packet(
                VP8_PAYLOAD_TYPE,
                ssrc,
                seq,
                timestamp,
                index + 1 == packets,
                payload,
            );
            seq = seq.wrapping_add(1);
            let _ = track.write_rtp(rtp).await;
        }
    }
}

/// Adds this connection's tracks and returns them, so the sources can write to them.
pub(crate) async fn add_tracks(
    connection: &dyn webrtc::peer_connection::PeerConnection,
    media: &MediaConfig,
) -> Result<Tracks, String> {
    let mut tracks = Tracks::default();
    if media.audio {
        let audio = track(RtpCodecKind::Audio, media.audio_ssrc);
        connection
            .add_track(audio.clone() as Arc<dyn TrackLocal>)
            .await
            .map_err(|e| format!("add_track(audio): {e}"))?;
        tracks.audio = Some(audio);
    }
    if media.video {
        let video = track(RtpCodecKind::Video, media.video_ssrc);
        connection
            .add_track(video.clone() as Arc<dyn TrackLocal>)
            .await
            .map_err(|e| format!("add_track(video): {e}"))?;
        tracks.video = Some(video);
    }
    Ok(tracks)
}

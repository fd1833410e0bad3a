//! The wire tap on a plain webrtc-rs app: two `PeerConnection`s built the way any app builds
//! them, with the tap added to their interceptor registries, send Opus-sized audio over a
//! 50 ms one-way path; the metrics come from the wire, with nothing in the payload.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use futures::channel::mpsc;
use rtc::ice::mdns::MulticastDnsMode;
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::media_engine::MIME_TYPE_OPUS;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCIceCandidateInit,
    RTCPeerConnectionIceEvent, RTCPeerConnectionState, Registry, SettingEngineBuilder,
    register_default_interceptors,
};
use webrtc::runtime::Runtime;
use webrtc_netsim::metrics::{MediaIndex, StreamMetrics, Window};
use webrtc_netsim::net::{LinkConfig, Loss, Network};
use webrtc_netsim::runtime::{SimRuntime, entropy};
use webrtc_netsim::tap::WireTap;
use webrtc_netsim::trace::{Event, What};

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

/// How long Alice talks, once both peers are connected.
const TALK: Duration = Duration::from_secs(3);
/// Opus at 20 ms a frame; its RTP clock runs at 48 kHz.
const FRAME: Duration = Duration::from_millis(20);
const FRAME_TICKS: u32 = 960;
/// Opus's payload type in webrtc-rs's default codecs.
const OPUS_PAYLOAD_TYPE: u8 = 111;
/// Alice's first sequence number: close enough to 65 535 that the call wraps around.
const FIRST_SEQ: u16 = 65_500;

/// What one call left: the tap's media events, and when both peers were connected.
struct Call {
    events: Vec<Event>,
    connected: Duration,
}

impl Call {
    fn audio(&self) -> StreamMetrics {
        let after_connecting = Window {
            from: self.connected,
            to: Duration::MAX,
        };
        MediaIndex::new(&self.events).metrics("bob<-alice:audio", after_connecting)
    }
}

/// Alice calls Bob, each behind an access link of 25 ms each way, Bob's downlink losing
/// `loss` of its packets; Alice sends audio for [`TALK`] once both are connected.
fn call(loss: f64, seed: u64) -> Call {
    entropy::run_seeded(seed, || {
        let (alice_ip, bob_ip) = (ip(1), ip(2));
        let clean = LinkConfig {
            delay: ms(25),
            ..LinkConfig::default()
        };
        let lossy = LinkConfig {
            loss: Loss::Random(loss),
            ..clean.clone()
        };
        let mut network = Network::new(LinkConfig::default(), seed);
        network.add_interface(Duration::ZERO, "alice", alice_ip, clean.clone(), clean.clone());
        network.add_interface(Duration::ZERO, "bob", bob_ip, clean, lossy);
        let runtime = SimRuntime::new(network);
        let tap = WireTap::new(&runtime);
        let connected = runtime
            .run_until(
                talk(runtime.clone(), tap.clone(), alice_ip, bob_ip),
                Duration::from_secs(60),
            )
            .expect("the call runs")
            .expect("webrtc-rs accepts every step of the call");
        runtime.shut_down();
        Call {
            events: tap.events(),
            connected,
        }
    })
}

/// A simulated host's address: a block of 127/8 no other test of this crate uses (the
/// sockets bind port 0, so a test running at the same time cannot take them anyway).
fn ip(host: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 213, 0, host))
}

/// The app: connects, talks, hangs up. Returns when both peers were connected.
async fn talk(
    runtime: SimRuntime,
    tap: WireTap,
    alice_ip: IpAddr,
    bob_ip: IpAddr,
) -> webrtc::error::Result<Duration> {
    let (alice, alice_events) = peer("alice", alice_ip, &runtime, &tap).await?;
    let (bob, bob_events) = peer("bob", bob_ip, &runtime, &tap).await?;
    let track = Arc::new(opus_track(0x0a11ce));
    alice.add_track(track.clone() as Arc<dyn TrackLocal>).await?;

    let offer = alice.create_offer(None).await?;
    alice.set_local_description(offer.clone()).await?;
    bob.set_remote_description(offer).await?;
    let answer = bob.create_answer(None).await?;
    bob.set_local_description(answer.clone()).await?;
    alice.set_remote_description(answer).await?;
    // Trickle: each side's candidates to the other, now that both have descriptions.
    runtime.spawn(Box::pin(trickle(alice_events.candidates, bob.clone())));
    runtime.spawn(Box::pin(trickle(bob_events.candidates, alice.clone())));

    while alice_events.connected.lock().unwrap().is_none() || bob_events.connected.lock().unwrap().is_none() {
        runtime.sleep(ms(1)).await;
    }
    let connected = runtime.elapsed();

    let mut ticks = runtime.interval(FRAME);
    for frame in 0..(TALK.as_millis() / FRAME.as_millis()) as u32 {
        ticks.tick().await;
        track.write_rtp(opus_packet(0x0a11ce, frame)).await?;
    }
    // Let the last packets land.
    runtime.sleep(ms(200)).await;
    alice.close().await?;
    bob.close().await?;
    Ok(connected)
}

/// What a peer's handler hands the app: its local candidates, and when it connected.
struct PeerEvents {
    candidates: mpsc::UnboundedReceiver<RTCIceCandidateInit>,
    connected: Arc<Mutex<Option<Duration>>>,
}

/// A peer connection as a plain webrtc-rs app builds one, plus what the simulation needs:
/// its runtime and address, mDNS off (there is no multicast in the simulated network),
/// loopback candidates (simulated hosts live in 127/8), and the tap in its registry.
async fn peer(
    name: &str,
    ip: IpAddr,
    runtime: &SimRuntime,
    tap: &WireTap,
) -> webrtc::error::Result<(Arc<dyn PeerConnection>, PeerEvents)> {
    let mut media_engine = MediaEngine::default();
    media_engine.register_default_codecs()?;
    let registry = register_default_interceptors(Registry::new(), &mut media_engine)?;
    let registry = tap.register(name, registry);
    let settings = SettingEngineBuilder::new()
        .with_multicast_dns_mode(MulticastDnsMode::Disabled)
        .with_include_loopback_candidate(true)
        .build();
    let (candidates, candidates_rx) = mpsc::unbounded();
    let handler = Handler {
        runtime: runtime.clone(),
        candidates,
        connected: Arc::default(),
    };
    let connected = handler.connected.clone();
    let connection = PeerConnectionBuilder::new()
        .with_setting_engine(settings)
        .with_media_engine(media_engine)
        .with_interceptor_registry(registry)
        .with_runtime(Arc::new(runtime.clone()))
        .with_handler(Arc::new(handler))
        .with_udp_addrs(vec![SocketAddr::new(ip, 0)])
        .build()
        .await?;
    let events = PeerEvents {
        candidates: candidates_rx,
        connected,
    };
    Ok((Arc::new(connection), events))
}

async fn trickle(mut candidates: mpsc::UnboundedReceiver<RTCIceCandidateInit>, to: Arc<dyn PeerConnection>) {
    while let Some(candidate) = candidates.next().await {
        to.add_ice_candidate(candidate)
            .await
            .expect("the candidate is accepted");
    }
}

struct Handler {
    runtime: SimRuntime,
    candidates: mpsc::UnboundedSender<RTCIceCandidateInit>,
    connected: Arc<Mutex<Option<Duration>>>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        let candidate = event.candidate.to_json().expect("a candidate has a JSON form");
        let _ = self.candidates.unbounded_send(candidate);
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        if state == RTCPeerConnectionState::Connected {
            let mut connected = self.connected.lock().unwrap();
            connected.get_or_insert(self.runtime.elapsed());
        }
    }

    /// Reads what arrives, as a player would; the tap has measured it on the way.
    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        self.runtime
            .spawn(Box::pin(async move { while track.poll().await.is_some() {} }));
    }
}

fn opus_track(ssrc: u32) -> TrackLocalStaticRTP {
    let codec = RTCRtpCodec {
        mime_type: MIME_TYPE_OPUS.to_owned(),
        clock_rate: 48_000,
        channels: 2,
        sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
        rtcp_feedback: vec![],
    };
    let encoding = RTCRtpEncodingParameters {
        rtp_coding_parameters: RTCRtpCodingParameters {
            ssrc: Some(ssrc),
            ..Default::default()
        },
        codec,
        ..Default::default()
    };
    TrackLocalStaticRTP::new(MediaStreamTrack::new(
        "alice-stream".to_owned(),
        "alice-audio".to_owned(),
        "alice audio".to_owned(),
        RtpCodecKind::Audio,
        vec![encoding],
    ))
}

/// Opus frame `frame`: a TOC byte and 80 to 160 bytes in all, as a voice's frames vary.
fn opus_packet(ssrc: u32, frame: u32) -> rtc::rtp::Packet {
    let size = 80 + (frame as usize * 37) % 81;
    let mut payload = vec![0u8; size];
    payload[0] = 0xfc;
    rtc::rtp::Packet {
        header: rtc::rtp::header::Header {
            version: 2,
            payload_type: OPUS_PAYLOAD_TYPE,
            sequence_number: FIRST_SEQ.wrapping_add(frame as u16),
            timestamp: frame * FRAME_TICKS,
            ssrc,
            ..Default::default()
        },
        payload: Bytes::from(payload),
    }
}

#[test]
fn the_tap_measures_a_clean_50ms_path_from_the_wire() {
    let call = call(0.0, 7);
    let audio = call.audio();
    let frames = (TALK.as_millis() / FRAME.as_millis()) as u64;
    assert_eq!(
        audio.sent, frames,
        "every frame written is on the wire: {audio:?}"
    );
    assert_eq!(
        audio.delivered, 1.0,
        "a clean path delivers everything: {audio:?}"
    );
    let delay = audio.one_way_delay.expect("packets arrived");
    assert!(
        delay.p50.abs_diff(ms(50)) <= ms(1),
        "25 ms on each access link is 50 ms one way: {delay:?}"
    );
    assert!(audio.media_gap <= ms(21), "one packet per 20 ms: {audio:?}");
    let last_seq = call.events.iter().rev().find_map(|event| match &event.what {
        What::MediaSent { seq, .. } => Some(*seq),
        _ => None,
    });
    assert_eq!(
        last_seq,
        Some(u64::from(FIRST_SEQ) + frames - 1),
        "sequence numbers extend across the wrap at 65 535"
    );
}

#[test]
fn loss_on_the_receivers_link_shows_in_what_the_tap_delivers() {
    let call = call(0.1, 7);
    let audio = call.audio();
    assert!(
        (0.80..0.97).contains(&audio.delivered),
        "10 % loss towards Bob, and webrtc-rs does not retransmit audio: {audio:?}"
    );
    assert_eq!(audio.sent, audio.received + audio.lost, "{audio:?}");
}

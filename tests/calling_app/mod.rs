//! A calling app written against webrtc-rs's API, shared by the tests that run it as peers
//! (`tests/sim.rs` in code, `tests/app_scenarios.rs` from scenario files): the only harness
//! type it touches is the `Context` it is handed, for the runtime, addresses, certificate,
//! signaling, the operating system's network notifications and the timeline's commands.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::channel::{mpsc, oneshot};
use futures::{FutureExt, StreamExt};
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::media_engine::MIME_TYPE_OPUS;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use serde::{Deserialize, Serialize};
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCConfigurationBuilder,
    RTCIceCandidateInit, RTCPeerConnectionIceEvent, RTCPeerConnectionState, RTCSdpType,
    RTCSessionDescription, Registry, SettingEngineBuilder, register_default_interceptors,
};
use webrtc::runtime::Runtime;
use webrtc_netsim::Role;
use webrtc_netsim::sim::{Command, Context, NetworkChange};

/// The app's own signaling messages, as JSON.
#[derive(Serialize, Deserialize)]
enum Message {
    Description(Box<RTCSessionDescription>),
    Candidate(RTCIceCandidateInit),
}

/// Hands the app its local candidates and its connection's first `connected`, and plays
/// what arrives.
struct Events {
    candidates: mpsc::UnboundedSender<RTCIceCandidateInit>,
    connected: Mutex<Option<oneshot::Sender<()>>>,
    runtime: Arc<dyn Runtime>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Events {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        if let Ok(init) = event.candidate.to_json() {
            let _ = self.candidates.unbounded_send(init);
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        if state == RTCPeerConnectionState::Connected
            && let Some(connected) = self.connected.lock().unwrap().take()
        {
            let _ = connected.send(());
        }
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        self.runtime
            .spawn(Box::pin(async move { while track.poll().await.is_some() {} }));
    }
}

/// The caller's microphone: 20 ms Opus frames of 80 to 160 bytes, as a voice's vary, from
/// when the call connects.
async fn talk(
    track: Arc<TrackLocalStaticRTP>,
    ssrc: u32,
    runtime: Arc<dyn Runtime>,
    connected: oneshot::Receiver<()>,
) {
    if connected.await.is_err() {
        return;
    }
    let mut ticks = runtime.interval(Duration::from_millis(20));
    for frame in 0u32.. {
        ticks.tick().await;
        let mut payload = vec![0u8; 80 + (frame as usize * 37) % 81];
        payload[0] = 0xfc; // Opus TOC: one 20 ms frame
        let packet = rtc::rtp::Packet {
            header: rtc::rtp::header::Header {
                version: 2,
                payload_type: 111,
                sequence_number: frame as u16,
                timestamp: frame * 960,
                ssrc,
                ..Default::default()
            },
            payload: Bytes::from(payload),
        };
        if track.write_rtp(packet).await.is_err() {
            return;
        }
    }
}

fn microphone(ssrc: u32) -> Arc<TrackLocalStaticRTP> {
    let encoding = RTCRtpEncodingParameters {
        rtp_coding_parameters: RTCRtpCodingParameters {
            ssrc: Some(ssrc),
            ..Default::default()
        },
        codec: RTCRtpCodec {
            mime_type: MIME_TYPE_OPUS.to_owned(),
            clock_rate: 48_000,
            channels: 2,
            sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
            rtcp_feedback: vec![],
        },
        ..Default::default()
    };
    Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
        "mic".to_owned(),
        "mic-audio".to_owned(),
        "microphone".to_owned(),
        RtpCodecKind::Audio,
        vec![encoding],
    )))
}

/// How long the app waits after a new address comes up before it restarts ICE: its own
/// debounce, as real apps have one.
pub const DEBOUNCE: Duration = Duration::from_millis(300);

/// A calling app that meets its peer as `meeting` says, trickles candidates, restarts ICE
/// `DEBOUNCE` after its operating system reports a new address (the offerer), and carries
/// out the timeline's `restart_ice` and `close` (and takes no other command).
pub async fn calling_app(mut ctx: Context, meeting: Meeting) {
    let (candidates, mut local) = mpsc::unbounded();
    let (connected, on_connected) = oneshot::channel();
    let runtime = ctx.stack.runtime();
    let mut media_engine = MediaEngine::default();
    media_engine.register_default_codecs().unwrap();
    let interceptors = register_default_interceptors(Registry::new(), &mut media_engine).unwrap();
    let config = RTCConfigurationBuilder::new()
        .with_certificates(vec![ctx.stack.certificate()])
        .with_ice_servers(ctx.stack.ice_servers())
        .build();
    // Without this, webrtc-rs 0.21 keeps its sockets through an ICE restart and never
    // gathers on a new address: a mobile app has to ask for it.
    let settings = SettingEngineBuilder::new()
        .with_discard_local_candidates_during_ice_restart(true)
        .build();
    let connection: Arc<dyn PeerConnection> = Arc::new(
        PeerConnectionBuilder::new()
            .with_configuration(config)
            .with_setting_engine(settings)
            .with_media_engine(media_engine)
            .with_interceptor_registry(ctx.stack.interceptors(interceptors))
            .with_runtime(runtime.clone())
            .with_udp_addrs(ctx.stack.bind_addresses())
            .with_handler(ctx.stack.observe(Arc::new(Events {
                candidates,
                connected: Mutex::new(Some(connected)),
                runtime: runtime.clone(),
            })))
            .build()
            .await
            .expect("the connection builds"),
    );
    ctx.stack.watch(&connection);
    let offerer = match meeting {
        Meeting::Called => ctx.stack.role() == Some(Role::Caller),
        Meeting::Share(share) => {
            let _ = share.send(ctx.signaling.create_session());
            true
        }
        Meeting::Join(token) => {
            ctx.signaling.join(&token.await.unwrap()).unwrap();
            false
        }
    };
    if offerer {
        // A random SSRC, as RTP wants (RFC 3550 §8.1).
        let ssrc = rand::random();
        let track = microphone(ssrc);
        connection
            .add_track(track.clone() as Arc<dyn TrackLocal>)
            .await
            .unwrap();
        runtime.spawn(Box::pin(talk(track, ssrc, runtime.clone(), on_connected)));
        offer(&*connection, &ctx).await;
    }
    loop {
        futures::select! {
            message = ctx.inbox.recv().fuse() => {
                let Some(message) = message else { break };
                match serde_json::from_slice(&message).unwrap() {
                    Message::Description(description) => {
                        let is_offer = description.sdp_type == RTCSdpType::Offer;
                        connection.set_remote_description(*description).await.unwrap();
                        if is_offer {
                            let answer = connection.create_answer(None).await.unwrap();
                            connection.set_local_description(answer.clone()).await.unwrap();
                            send(&ctx, &Message::Description(Box::new(answer)));
                        }
                    }
                    Message::Candidate(candidate) => {
                        let _ = connection.add_ice_candidate(candidate).await;
                    }
                }
            }
            candidate = local.next() => {
                if let Some(candidate) = candidate {
                    send(&ctx, &Message::Candidate(candidate));
                }
            }
            change = ctx.network.next().fuse() => {
                if let Some(NetworkChange::AddressUp(_)) = change && offerer {
                    // The app's own debounce, on tokio's timer as any tokio app has it.
                    tokio::time::sleep(DEBOUNCE).await;
                    connection.restart_ice().await.unwrap();
                    offer(&*connection, &ctx).await;
                }
            }
            command = ctx.commands.next().fuse() => match command {
                Some(Command::RestartIce) => {
                    connection.restart_ice().await.unwrap();
                    offer(&*connection, &ctx).await;
                }
                Some(Command::Close) | None => break,
                Some(other) => unreachable!("the app does not take {other:?}"),
            }
        }
    }
    let _ = connection.close().await;
}

/// How the two ends meet.
pub enum Meeting {
    /// The world put them in one session; the caller offers.
    Called,
    /// The app opens a session and shares its token (a link the user sends), then offers.
    Share(oneshot::Sender<String>),
    /// The app joins with the token it is given, then answers.
    Join(oneshot::Receiver<String>),
}

async fn offer(connection: &dyn PeerConnection, ctx: &Context) {
    let offer = connection.create_offer(None).await.unwrap();
    connection.set_local_description(offer.clone()).await.unwrap();
    send(ctx, &Message::Description(Box::new(offer)));
}

fn send(ctx: &Context, message: &Message) {
    ctx.signaling.send(serde_json::to_vec(message).unwrap()).unwrap();
}

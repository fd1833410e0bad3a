//! A user's own webrtc-rs app runs as peers of a world built in code (`webrtc_netsim::sim`).
//!
//! The app below is written against webrtc-rs's API; the only harness type it touches is the
//! `Context` it is handed, for the runtime, addresses, certificate, signaling and the
//! operating system's network notifications.

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
    RTCIceCandidateInit, RTCPeerConnectionIceEvent, RTCPeerConnectionState, RTCSessionDescription, Registry,
    SettingEngineBuilder, register_default_interceptors,
};
use webrtc::runtime::Runtime;
use webrtc_netsim::metrics::{StreamMetrics, Window};
use webrtc_netsim::sim::{Command, Context, Host, NetworkChange, Sim};
use webrtc_netsim::{Action, LinkConfig, Loss, Run, What};

// ---- The app. ----

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
const DEBOUNCE: Duration = Duration::from_millis(300);

/// A calling app: the caller opens a session and hands its token over `token` (a link the
/// user shares); the callee joins with it. Both trickle candidates, and restart ICE
/// `DEBOUNCE` after their operating system reports a new address.
async fn calling_app(mut ctx: Context, token: Token) {
    let (candidates, mut local) = mpsc::unbounded();
    let (connected, on_connected) = oneshot::channel();
    let runtime = ctx.runtime();
    let mut media_engine = MediaEngine::default();
    media_engine.register_default_codecs().unwrap();
    let interceptors = register_default_interceptors(Registry::new(), &mut media_engine).unwrap();
    let config = RTCConfigurationBuilder::new()
        .with_certificates(vec![ctx.certificate()])
        .with_ice_servers(ctx.ice_servers())
        .build();
    // Without this, webrtc-rs 0.21 keeps its sockets through an ICE restart and never
    // gathers on a new address: a mobile app has to ask for it.
    let settings = SettingEngineBuilder::new()
        .with_discard_local_candidates_during_ice_restart(true)
        .build();
    let connection = PeerConnectionBuilder::new()
        .with_configuration(config)
        .with_setting_engine(settings)
        .with_media_engine(media_engine)
        .with_interceptor_registry(ctx.interceptors(interceptors))
        .with_runtime(runtime.clone())
        .with_udp_addrs(ctx.bind_addresses())
        .with_handler(ctx.observe(Arc::new(Events {
            candidates,
            connected: Mutex::new(Some(connected)),
            runtime: runtime.clone(),
        })))
        .build()
        .await
        .expect("the connection builds");
    let offerer = matches!(token, Token::Share(_));
    match token {
        Token::Share(share) => {
            let _ = share.send(ctx.signaling.create_session());
            // A random SSRC, as RTP wants (RFC 3550 §8.1).
            let ssrc = rand::random();
            let track = microphone(ssrc);
            connection
                .add_track(track.clone() as Arc<dyn TrackLocal>)
                .await
                .unwrap();
            runtime.spawn(Box::pin(talk(track, ssrc, runtime.clone(), on_connected)));
            offer(&connection, &ctx).await;
        }
        Token::Join(token) => ctx.signaling.join(&token.await.unwrap()).unwrap(),
    }
    loop {
        futures::select! {
            message = ctx.inbox.recv().fuse() => {
                let Some(message) = message else { break };
                match serde_json::from_slice(&message).unwrap() {
                    Message::Description(description) => {
                        connection.set_remote_description(*description).await.unwrap();
                        if !offerer {
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
                    runtime.sleep(DEBOUNCE).await;
                    connection.restart_ice().await.unwrap();
                    offer(&connection, &ctx).await;
                }
            }
            command = ctx.commands.next().fuse() => {
                if let Some(Command::Close) | None = command {
                    break;
                }
            }
        }
    }
    let _ = connection.close().await;
}

/// How the two ends meet: the caller shares the token, the callee waits for it.
enum Token {
    Share(oneshot::Sender<String>),
    Join(oneshot::Receiver<String>),
}

async fn offer(connection: &impl PeerConnection, ctx: &Context) {
    let offer = connection.create_offer(None).await.unwrap();
    connection.set_local_description(offer.clone()).await.unwrap();
    send(ctx, &Message::Description(Box::new(offer)));
}

fn send(ctx: &Context, message: &Message) {
    ctx.signaling.send(serde_json::to_vec(message).unwrap()).unwrap();
}

// ---- The tests. ----

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

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
    let (share, join) = oneshot::channel();
    let mut sim = Sim::builder().seed(7).build();
    sim.peer("alice", Host::new().link(link.clone()), move |ctx| {
        calling_app(ctx, Token::Share(share))
    });
    sim.peer("bob", Host::new().link(link).downlink(lossy), move |ctx| {
        calling_app(ctx, Token::Join(join))
    });
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
    // The app's restart offer leaves when its own sleep ends, on the world's clock.
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
        first_offer >= moved + DEBOUNCE && first_offer < moved + DEBOUNCE + ms(30),
        "alice's restart went out {first_offer:?}, her sleep ended at {:?}",
        moved + DEBOUNCE
    );
    let gathered_on_the_new_address = run.trace.iter().any(|e| {
        matches!(&e.what, What::Candidate { peer, candidate } if peer == "alice" && candidate == "host alice#2:5000")
    });
    assert!(gathered_on_the_new_address, "alice gathers on her new interface");
    let back = first(&run, "bob", "connected", moved + DEBOUNCE).expect("bob's ICE is connected again");
    assert!(back < moved + Duration::from_secs(2), "{back:?}");
}

/// Two calls in one world: Alice calls Bob, Carol calls Dave, all four on 25 ms links
/// except Dave's, which adds 20 ms; `seed` seeds the world.
fn two_calls(seed: u64) -> Run {
    let link = |delay| LinkConfig {
        delay: ms(delay),
        ..LinkConfig::default()
    };
    let mut sim = Sim::builder().seed(seed).build();
    for (caller, callee, callee_link) in [("alice", "bob", 25), ("carol", "dave", 45)] {
        let (share, join) = oneshot::channel();
        sim.peer(caller, Host::new().link(link(25)), move |ctx| {
            calling_app(ctx, Token::Share(share))
        });
        sim.peer(callee, Host::new().link(link(callee_link)), move |ctx| {
            calling_app(ctx, Token::Join(join))
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

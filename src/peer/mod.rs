//! A peer: a real webrtc-rs `PeerConnection` plus the small application around it that a
//! real app has — it signals through the relay, trickles candidates, answers offers, and
//! sends synthetic media once connected.

pub mod media;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use rtc::ice::mdns::MulticastDnsMode;
use serde::{Deserialize, Serialize};
use webrtc::data_channel::{DataChannel, DataChannelEvent};
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCConfigurationBuilder,
    RTCIceCandidate, RTCIceCandidateInit, RTCIceConnectionState, RTCIceGatheringState, RTCIceServer,
    RTCIceTransportPolicy, RTCPeerConnectionIceEvent, RTCPeerConnectionState, RTCSessionDescription,
    RTCSignalingState, Registry, SettingEngineBuilder, register_default_interceptors,
};
use webrtc::runtime::{Receiver, Runtime};

use crate::runtime::SimRuntime;
use crate::signaling::Relay;
use crate::trace::{MediaKind, Recorder, StreamId, What};
use crate::world::AddressBook;

/// Who starts the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Caller,
    Callee,
}

/// What a peer sends, and how.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaPlan {
    pub kinds: Vec<MediaKind>,
    /// Video bitrate of the synthetic encoder.
    pub video_bitrate_bps: u64,
    /// Time between two data-channel messages.
    pub data_interval: Duration,
    /// When the senders stop (the end of the call; the world then drains what is in flight).
    pub until: Duration,
}

impl Default for MediaPlan {
    fn default() -> Self {
        MediaPlan {
            kinds: vec![MediaKind::Audio, MediaKind::Video, MediaKind::Data],
            video_bitrate_bps: 800_000,
            data_interval: Duration::from_millis(100),
            until: Duration::MAX,
        }
    }
}

/// What the peers say to each other through the relay. The relay never reads it.
#[derive(Debug, Serialize, Deserialize)]
enum Signal {
    Offer(RTCSessionDescription),
    Answer(RTCSessionDescription),
    Candidate(RTCIceCandidateInit),
}

/// Everything a peer's callbacks and tasks share.
struct PeerContext {
    name: String,
    remote: String,
    media: MediaPlan,
    runtime: SimRuntime,
    recorder: Recorder,
    relay: Relay,
    book: Arc<AddressBook>,
    tracks: Vec<(MediaKind, u32, Arc<TrackLocalStaticRTP>)>,
    media_started: AtomicBool,
    /// The connection itself, for queries the callbacks cannot make (they run on its driver).
    connection: OnceLock<Weak<dyn PeerConnection>>,
}

impl PeerContext {
    fn record(&self, what: What) {
        self.recorder.record(self.runtime.elapsed(), what);
    }

    fn error(&self, message: String) {
        self.record(What::Error {
            peer: self.name.clone(),
            message,
        });
    }

    fn signal(&self, signal: &Signal) {
        let message = serde_json::to_vec(signal).expect("signals always serialize");
        if let Err(error) = self.relay.send(&self.name, message) {
            self.error(format!("signaling: {error}"));
        }
    }

    fn stream(&self, kind: MediaKind, outgoing: bool) -> StreamId {
        let (from, to) = if outgoing {
            (&self.name, &self.remote)
        } else {
            (&self.remote, &self.name)
        };
        StreamId {
            from: from.clone(),
            to: to.clone(),
            kind,
        }
    }

    /// Starts the audio and video senders, once, when the call first connects.
    fn start_media(&self) {
        if self.media_started.swap(true, Ordering::AcqRel) {
            return;
        }
        for (kind, ssrc, track) in &self.tracks {
            self.runtime.spawn(Box::pin(media::send_rtp(
                self.runtime.clone(),
                self.recorder.clone(),
                self.stream(*kind, true),
                track.clone(),
                *ssrc,
                self.media.video_bitrate_bps,
                self.media.until,
            )));
        }
    }

    /// Records the candidate pair ICE selected. Runs as its own task: asking the connection
    /// from inside a callback would wait on the driver that is running the callback.
    fn record_selected_pair(self: &Arc<Self>) {
        let Some(connection) = self.connection.get().and_then(Weak::upgrade) else {
            return;
        };
        let context = self.clone();
        self.runtime.spawn(Box::pin(async move {
            let dtls = match connection.sctp().await {
                Some(sctp) => Some(sctp.transport()),
                None => match connection.get_senders().await.first() {
                    Some(sender) => sender.transport().await.ok().flatten(),
                    None => None,
                },
            };
            let Some(dtls) = dtls else { return };
            match dtls.ice_transport().get_selected_candidate_pair().await {
                Ok(Some(pair)) => context.record(What::SelectedPair {
                    peer: context.name.clone(),
                    local: context.describe(pair.local()),
                    remote: context.describe(pair.remote()),
                }),
                Ok(None) => {}
                Err(error) => context.error(format!("selected candidate pair: {error}")),
            }
        }));
    }

    /// A candidate as the trace shows it: `host alice:5000`.
    fn describe(&self, candidate: &RTCIceCandidate) -> String {
        format!(
            "{} {}",
            candidate.typ,
            self.book.label_text(&candidate.address, candidate.port)
        )
    }

    /// Reads a data channel's events; sends our numbered messages once it opens.
    fn watch_data_channel(self: &Arc<Self>, channel: Arc<dyn DataChannel>) {
        let context = self.clone();
        self.runtime.spawn(Box::pin(async move {
            let incoming = context.stream(MediaKind::Data, false);
            while let Some(event) = channel.poll().await {
                match event {
                    DataChannelEvent::OnOpen if context.media.kinds.contains(&MediaKind::Data) => {
                        context.runtime.spawn(Box::pin(media::send_data(
                            context.runtime.clone(),
                            context.recorder.clone(),
                            context.stream(MediaKind::Data, true),
                            channel.clone(),
                            context.media.data_interval,
                            context.media.until,
                        )));
                    }
                    DataChannelEvent::OnMessage(message) => {
                        media::record_received(&context.runtime, &context.recorder, &incoming, &message.data)
                    }
                    DataChannelEvent::OnClose => break,
                    _ => {}
                }
            }
        }));
    }
}

/// The peer connection's callbacks: they record every state change into the trace and do
/// what the app would do.
struct Callbacks(Arc<PeerContext>);

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Callbacks {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        let candidate = &event.candidate;
        self.0.record(What::Candidate {
            peer: self.0.name.clone(),
            candidate: self.0.describe(candidate),
        });
        match candidate.to_json() {
            Ok(init) => self.0.signal(&Signal::Candidate(init)),
            Err(error) => self.0.error(format!("candidate to_json: {error}")),
        }
    }

    async fn on_signaling_state_change(&self, state: RTCSignalingState) {
        self.0.record(What::SignalingState {
            peer: self.0.name.clone(),
            state: state.to_string(),
        });
    }

    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        self.0.record(What::IceGatheringState {
            peer: self.0.name.clone(),
            state: state.to_string(),
        });
    }

    async fn on_ice_connection_state_change(&self, state: RTCIceConnectionState) {
        self.0.record(What::IceConnectionState {
            peer: self.0.name.clone(),
            state: state.to_string(),
        });
        if state == RTCIceConnectionState::Connected {
            self.0.record_selected_pair();
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        self.0.record(What::PeerConnectionState {
            peer: self.0.name.clone(),
            state: state.to_string(),
        });
        if state == RTCPeerConnectionState::Connected {
            self.0.start_media();
        }
    }

    async fn on_data_channel(&self, channel: Arc<dyn DataChannel>) {
        self.0.watch_data_channel(channel);
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let context = self.0.clone();
        let kind = match track.kind().await {
            rtc::rtp_transceiver::rtp_sender::RtpCodecKind::Audio => MediaKind::Audio,
            _ => MediaKind::Video,
        };
        self.0.runtime.spawn(Box::pin(async move {
            let stream = context.stream(kind, false);
            while let Some(event) = track.poll().await {
                match event {
                    TrackRemoteEvent::OnRtpPacket(packet) => {
                        media::record_received(&context.runtime, &context.recorder, &stream, &packet.payload)
                    }
                    TrackRemoteEvent::OnEnded => break,
                    _ => {}
                }
            }
        }));
    }
}

/// How to build one peer.
#[derive(Debug, Clone)]
pub struct PeerSetup {
    pub name: String,
    pub remote: String,
    pub role: Role,
    pub media: MediaPlan,
    /// The address its socket binds (an address of its simulated interface).
    pub address: SocketAddr,
    pub ice_servers: Vec<RTCIceServer>,
    /// Use relay candidates only.
    pub relay_only: bool,
    /// Seed for values the harness chooses for it (SSRCs).
    pub seed: u64,
}

/// A running peer.
pub struct Peer {
    context: Arc<PeerContext>,
    connection: Arc<dyn PeerConnection>,
    /// Remote candidates that arrived before the remote description, as apps buffer them.
    early_candidates: Mutex<Vec<RTCIceCandidateInit>>,
}

impl Peer {
    /// Builds the peer connection on the simulated runtime and adds its tracks.
    pub async fn build(
        setup: PeerSetup,
        runtime: SimRuntime,
        recorder: Recorder,
        relay: Relay,
        book: Arc<AddressBook>,
    ) -> Result<Arc<Peer>, webrtc::error::Error> {
        let tracks: Vec<_> = setup
            .media
            .kinds
            .iter()
            .filter(|kind| **kind != MediaKind::Data)
            .map(|kind| {
                let ssrc = crate::net::sub_seed(setup.seed, *kind as u64) as u32;
                (*kind, ssrc, media::local_track(&setup.name, *kind, ssrc))
            })
            .collect();
        let context = Arc::new(PeerContext {
            name: setup.name.clone(),
            remote: setup.remote.clone(),
            media: setup.media.clone(),
            runtime: runtime.clone(),
            recorder,
            relay,
            book,
            tracks,
            media_started: AtomicBool::new(false),
            connection: OnceLock::new(),
        });

        let mut media_engine = MediaEngine::default();
        media_engine.register_default_codecs()?;
        let interceptors = register_default_interceptors(Registry::new(), &mut media_engine)?;
        let settings = SettingEngineBuilder::new()
            .with_multicast_dns_mode(MulticastDnsMode::Disabled)
            .with_include_loopback_candidate(true)
            .build();
        let policy = if setup.relay_only {
            RTCIceTransportPolicy::Relay
        } else {
            RTCIceTransportPolicy::All
        };
        let configuration = RTCConfigurationBuilder::new()
            .with_ice_servers(setup.ice_servers.clone())
            .with_ice_transport_policy(policy)
            .build();
        let connection: Arc<dyn PeerConnection> = Arc::new(
            PeerConnectionBuilder::new()
                .with_configuration(configuration)
                .with_setting_engine(settings)
                .with_media_engine(media_engine)
                .with_interceptor_registry(interceptors)
                .with_runtime(Arc::new(runtime))
                .with_handler(Arc::new(Callbacks(context.clone())))
                .with_udp_addrs(vec![setup.address])
                .build()
                .await?,
        );
        let _ = context.connection.set(Arc::downgrade(&connection));
        for (_, _, track) in &context.tracks {
            connection.add_track(track.clone() as Arc<dyn TrackLocal>).await?;
        }
        if setup.role == Role::Caller && setup.media.kinds.contains(&MediaKind::Data) {
            let channel = connection.create_data_channel("netsim-data", None).await?;
            context.watch_data_channel(channel);
        }
        Ok(Arc::new(Peer {
            context,
            connection,
            early_candidates: Mutex::new(Vec::new()),
        }))
    }

    /// The caller's first move: offer, apply it, send it.
    pub async fn call(&self) -> Result<(), webrtc::error::Error> {
        self.context.record(What::OfferCreated {
            peer: self.context.name.clone(),
        });
        let offer = self.connection.create_offer(None).await?;
        self.apply_local(offer.clone()).await?;
        self.context.signal(&Signal::Offer(offer));
        Ok(())
    }

    /// Handles what the relay brings, until the relay connection closes.
    pub async fn handle_signals(self: Arc<Self>, mut inbox: Receiver<Vec<u8>>) {
        while let Some(message) = inbox.recv().await {
            if let Err(error) = self.handle_signal(&message).await {
                self.context.error(error);
            }
        }
    }

    async fn handle_signal(&self, message: &[u8]) -> Result<(), String> {
        let signal: Signal = serde_json::from_slice(message).map_err(|e| format!("bad signal: {e}"))?;
        match signal {
            Signal::Offer(offer) => {
                self.apply_remote(offer).await?;
                let answer = self
                    .connection
                    .create_answer(None)
                    .await
                    .map_err(|e| format!("create_answer: {e}"))?;
                self.apply_local(answer.clone())
                    .await
                    .map_err(|e| format!("set_local_description: {e}"))?;
                self.context.signal(&Signal::Answer(answer));
            }
            Signal::Answer(answer) => self.apply_remote(answer).await?,
            Signal::Candidate(candidate) => {
                if self.connection.remote_description().await.is_none() {
                    self.early_candidates
                        .lock()
                        .expect("candidates poisoned")
                        .push(candidate);
                } else {
                    self.connection
                        .add_ice_candidate(candidate)
                        .await
                        .map_err(|e| format!("add_ice_candidate: {e}"))?;
                }
            }
        }
        Ok(())
    }

    async fn apply_local(&self, description: RTCSessionDescription) -> Result<(), webrtc::error::Error> {
        let (ufrag, pwd) = ice_credentials(&description.sdp);
        self.context.record(What::LocalDescription {
            peer: self.context.name.clone(),
            sdp_type: description.sdp_type.to_string(),
            ufrag: self.context.recorder.alias("ufrag", &ufrag),
            pwd: self.context.recorder.alias("pwd", &pwd),
        });
        self.connection.set_local_description(description).await
    }

    async fn apply_remote(&self, description: RTCSessionDescription) -> Result<(), String> {
        self.connection
            .set_remote_description(description)
            .await
            .map_err(|e| format!("set_remote_description: {e}"))?;
        let early = std::mem::take(&mut *self.early_candidates.lock().expect("candidates poisoned"));
        for candidate in early {
            self.connection
                .add_ice_candidate(candidate)
                .await
                .map_err(|e| format!("add_ice_candidate: {e}"))?;
        }
        Ok(())
    }

    /// Ends the call.
    pub async fn close(&self) {
        if let Err(error) = self.connection.close().await {
            self.context.error(format!("close: {error}"));
        }
    }
}

/// The ICE ufrag and pwd an SDP carries (the first of each).
fn ice_credentials(sdp: &str) -> (String, String) {
    let attribute = |name: &str| {
        sdp.lines()
            .find_map(|line| line.trim().strip_prefix(name).map(str::to_owned))
            .unwrap_or_default()
    };
    (attribute("a=ice-ufrag:"), attribute("a=ice-pwd:"))
}

//! The application around a peer connection, as a real calling app has it: it signals
//! through the relay, trickles candidates, answers offers, restarts ICE when told to or
//! when its policy says so, and sends synthetic media once connected.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use serde::{Deserialize, Serialize};
use webrtc::data_channel::{DataChannel, DataChannelEvent};
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionEventHandler, RTCConfigurationBuilder, RTCIceCandidate,
    RTCIceCandidateInit, RTCIceConnectionState, RTCIceGatheringState, RTCIceServer,
    RTCPeerConnectionIceEvent, RTCPeerConnectionState, RTCSessionDescription, RTCSignalingState,
};
use webrtc::runtime::{Receiver, Runtime};

use super::media;
use super::{AppPolicy, MediaPlan, RestartPolicy};
use crate::runtime::SimRuntime;
use crate::signaling::Relay;
use crate::trace::{MediaKind, Recorder, StreamId, What};
use crate::world::AddressBook;

/// What the peers say to each other through the relay. The relay never reads it.
#[derive(Debug, Serialize, Deserialize)]
enum Signal {
    Offer(RTCSessionDescription),
    Answer(RTCSessionDescription),
    Candidate(RTCIceCandidateInit),
}

/// Everything a peer's callbacks and tasks share.
pub(super) struct App {
    pub(super) name: String,
    pub(super) remote: String,
    pub(super) media: MediaPlan,
    pub(super) policy: AppPolicy,
    pub(super) runtime: SimRuntime,
    pub(super) recorder: Recorder,
    pub(super) relay: Relay,
    pub(super) book: Arc<AddressBook>,
    pub(super) tracks: Vec<(MediaKind, u32, Arc<TrackLocalStaticRTP>)>,
    pub(super) media_started: AtomicBool,
    /// Restarts the policy has made so far.
    pub(super) policy_restarts: AtomicU32,
    pub(super) ice_state: Mutex<RTCIceConnectionState>,
    /// Remote candidates that arrived before the remote description, as apps buffer them.
    pub(super) early_candidates: Mutex<Vec<RTCIceCandidateInit>>,
    /// The connection, weakly: it owns the callbacks that own this.
    pub(super) connection: OnceLock<Weak<dyn PeerConnection>>,
}

impl App {
    pub(super) fn record(&self, what: What) {
        self.recorder.record(self.runtime.elapsed(), what);
    }

    pub(super) fn error(&self, message: String) {
        self.record(What::Error {
            peer: self.name.clone(),
            message,
        });
    }

    fn connection(&self) -> Result<Arc<dyn PeerConnection>, String> {
        self.connection
            .get()
            .and_then(Weak::upgrade)
            .ok_or_else(|| "the connection is gone".to_owned())
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

    /// Creates an offer (a restarting one if `restart_ice()` was called), applies it and
    /// sends it.
    pub(super) async fn offer(&self) -> Result<(), String> {
        let connection = self.connection()?;
        let offer = connection
            .create_offer(None)
            .await
            .map_err(|e| format!("create_offer: {e}"))?;
        self.apply_local(&*connection, offer.clone()).await?;
        self.signal(&Signal::Offer(offer));
        Ok(())
    }

    /// `restart_ice()` then a new offer: new ufrag and pwd, which make the far side restart.
    pub(super) async fn restart_ice(&self, reason: &str) -> Result<(), String> {
        self.record(What::RestartIce {
            peer: self.name.clone(),
            reason: reason.to_owned(),
        });
        self.connection()?
            .restart_ice()
            .await
            .map_err(|e| format!("restart_ice: {e}"))?;
        self.offer().await
    }

    /// `set_configuration()` with new ICE servers, as an app does before a restart.
    pub(super) async fn set_ice_servers(&self, servers: Vec<RTCIceServer>) -> Result<(), String> {
        let connection = self.connection()?;
        let current = connection.get_configuration().await;
        let configuration = RTCConfigurationBuilder::new()
            .with_ice_servers(servers)
            .with_ice_transport_policy(current.ice_transport_policy())
            .with_bundle_policy(current.bundle_policy())
            .with_rtcp_mux_policy(current.rtcp_mux_policy())
            .build();
        connection
            .set_configuration(configuration)
            .await
            .map_err(|e| format!("set_configuration: {e}"))
    }

    /// Handles what the relay brings, until the relay connection closes.
    pub(super) async fn handle_signals(self: Arc<Self>, mut inbox: Receiver<Vec<u8>>) {
        while let Some(message) = inbox.recv().await {
            if let Err(error) = self.handle_signal(&message).await {
                self.error(error);
            }
        }
    }

    async fn handle_signal(&self, message: &[u8]) -> Result<(), String> {
        let signal: Signal = serde_json::from_slice(message).map_err(|e| format!("bad signal: {e}"))?;
        let connection = self.connection()?;
        match signal {
            Signal::Offer(offer) => {
                self.apply_remote(&*connection, offer).await?;
                let answer = connection
                    .create_answer(None)
                    .await
                    .map_err(|e| format!("create_answer: {e}"))?;
                self.apply_local(&*connection, answer.clone()).await?;
                self.signal(&Signal::Answer(answer));
            }
            Signal::Answer(answer) => self.apply_remote(&*connection, answer).await?,
            Signal::Candidate(candidate) => {
                if connection.remote_description().await.is_none() {
                    self.early_candidates
                        .lock()
                        .expect("candidates poisoned")
                        .push(candidate);
                } else {
                    connection
                        .add_ice_candidate(candidate)
                        .await
                        .map_err(|e| format!("add_ice_candidate: {e}"))?;
                }
            }
        }
        Ok(())
    }

    /// Applies a local description, recording its ICE credentials as run aliases.
    async fn apply_local(
        &self,
        connection: &dyn PeerConnection,
        description: RTCSessionDescription,
    ) -> Result<(), String> {
        let (ufrag, pwd) = ice_credentials(&description.sdp);
        self.record(What::LocalDescription {
            peer: self.name.clone(),
            sdp_type: description.sdp_type.to_string(),
            ufrag: self.recorder.alias("ufrag", &ufrag),
            pwd: self.recorder.alias("pwd", &pwd),
        });
        connection
            .set_local_description(description)
            .await
            .map_err(|e| format!("set_local_description: {e}"))
    }

    async fn apply_remote(
        &self,
        connection: &dyn PeerConnection,
        description: RTCSessionDescription,
    ) -> Result<(), String> {
        connection
            .set_remote_description(description)
            .await
            .map_err(|e| format!("set_remote_description: {e}"))?;
        let early = std::mem::take(&mut *self.early_candidates.lock().expect("candidates poisoned"));
        for candidate in early {
            connection
                .add_ice_candidate(candidate)
                .await
                .map_err(|e| format!("add_ice_candidate: {e}"))?;
        }
        Ok(())
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

    /// What the app's policy does when ICE reaches `state`: a restart after the policy's
    /// delay, if ICE is still in a bad state then and attempts are left.
    fn apply_policy(self: &Arc<Self>, state: RTCIceConnectionState) {
        let (policy, reason) = match state {
            RTCIceConnectionState::Disconnected => (self.policy.on_disconnected, "on_disconnected"),
            RTCIceConnectionState::Failed => (self.policy.on_failed, "on_failed"),
            _ => return,
        };
        let Some(RestartPolicy { delay, max_attempts }) = policy else {
            return;
        };
        let app = self.clone();
        let wait = self.runtime.sleep(delay);
        self.runtime.spawn(Box::pin(async move {
            wait.await;
            let still_bad = matches!(
                *app.ice_state.lock().expect("state poisoned"),
                RTCIceConnectionState::Disconnected | RTCIceConnectionState::Failed
            );
            if !still_bad || app.policy_restarts.fetch_add(1, Ordering::AcqRel) >= max_attempts {
                return;
            }
            if let Err(error) = app.restart_ice(reason).await {
                app.error(error);
            }
        }));
    }

    /// Records the candidate pair ICE selected. Runs as its own task: asking the connection
    /// from inside a callback would wait on the driver that is running the callback.
    fn record_selected_pair(self: &Arc<Self>) {
        let app = self.clone();
        self.runtime.spawn(Box::pin(async move {
            let Ok(connection) = app.connection() else { return };
            let dtls = match connection.sctp().await {
                Some(sctp) => Some(sctp.transport()),
                None => match connection.get_senders().await.first() {
                    Some(sender) => sender.transport().await.ok().flatten(),
                    None => None,
                },
            };
            let Some(dtls) = dtls else { return };
            match dtls.ice_transport().get_selected_candidate_pair().await {
                Ok(Some(pair)) => app.record(What::SelectedPair {
                    peer: app.name.clone(),
                    local: app.describe(pair.local()),
                    remote: app.describe(pair.remote()),
                }),
                Ok(None) => {}
                Err(error) => app.error(format!("selected candidate pair: {error}")),
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
    pub(super) fn watch_data_channel(self: &Arc<Self>, channel: Arc<dyn DataChannel>) {
        let app = self.clone();
        self.runtime.spawn(Box::pin(async move {
            let incoming = app.stream(MediaKind::Data, false);
            while let Some(event) = channel.poll().await {
                match event {
                    DataChannelEvent::OnOpen if app.media.kinds.contains(&MediaKind::Data) => {
                        app.runtime.spawn(Box::pin(media::send_data(
                            app.runtime.clone(),
                            app.recorder.clone(),
                            app.stream(MediaKind::Data, true),
                            channel.clone(),
                            app.media.data_interval,
                            app.media.until,
                        )));
                    }
                    DataChannelEvent::OnMessage(message) => {
                        media::record_received(&app.runtime, &app.recorder, &incoming, &message.data)
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
pub(super) struct Callbacks(pub(super) Arc<App>);

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
        *self.0.ice_state.lock().expect("state poisoned") = state;
        if state == RTCIceConnectionState::Connected {
            self.0.record_selected_pair();
        }
        self.0.apply_policy(state);
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
        let app = self.0.clone();
        let kind = match track.kind().await {
            rtc::rtp_transceiver::rtp_sender::RtpCodecKind::Audio => MediaKind::Audio,
            _ => MediaKind::Video,
        };
        self.0.runtime.spawn(Box::pin(async move {
            let stream = app.stream(kind, false);
            while let Some(event) = track.poll().await {
                match event {
                    TrackRemoteEvent::OnRtpPacket(packet) => {
                        media::record_received(&app.runtime, &app.recorder, &stream, &packet.payload)
                    }
                    TrackRemoteEvent::OnEnded => break,
                    _ => {}
                }
            }
        }));
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

//! The application around a peer connection, as a real calling app has it: it signals
//! through the relay, trickles candidates, answers offers, restarts ICE when told to or
//! when its policy says so, and sends synthetic media once connected.
//!
//! Its negotiation follows the W3C "perfect negotiation" pattern, so that two restarts close
//! together cannot wedge the call. The callee is the polite peer: when its offer crosses the
//! caller's (glare), it rolls its own back and answers; the caller ignores the callee's offer
//! and waits for its answer. An offer carries a number its answer repeats, and a restart
//! asked for while an offer is in flight is made once that offer is answered, so an answer
//! is only ever applied to the offer it answers.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use futures::lock::Mutex as AsyncMutex;
use serde::{Deserialize, Serialize};
use webrtc::data_channel::{DataChannel, DataChannelEvent};
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionEventHandler, RTCConfigurationBuilder, RTCIceCandidateInit,
    RTCIceConnectionState, RTCIceServer, RTCPeerConnectionIceEvent, RTCPeerConnectionState,
    RTCSessionDescription,
};
use webrtc::runtime::Runtime;

use super::media;
use super::media::VideoRate;
use super::{AppPolicy, Estimate, MediaPlan, RestartPolicy};
use crate::sim::{Inbox, Signaling, TraceHandle};
use crate::trace::{MediaKind, NegotiationStep, StreamId, What};

/// What the peers say to each other through the relay. The relay never reads it.
#[derive(Debug, Serialize, Deserialize)]
enum Signal {
    /// The sender's offer number `id` (1 for its first).
    Offer {
        id: u64,
        description: RTCSessionDescription,
    },
    /// The answer to the receiver's offer number `offer`.
    Answer {
        offer: u64,
        description: RTCSessionDescription,
    },
    Candidate(RTCIceCandidateInit),
}

/// Where the app's own offers stand.
#[derive(Debug, Default)]
pub(super) struct Negotiation {
    /// Offers made so far: the last one's number.
    offers: u64,
    /// The number of our offer the far side has not answered yet.
    in_flight: Option<u64>,
    /// A restart asked for while an offer was in flight (its reason), made once it is answered.
    queued_restart: Option<String>,
}

/// Everything a peer's callbacks and tasks share.
pub(super) struct App {
    pub(super) name: String,
    pub(super) remote: String,
    /// Whether it gives way when offers cross: the callee does.
    pub(super) polite: bool,
    pub(super) media: MediaPlan,
    pub(super) policy: AppPolicy,
    pub(super) runtime: Arc<dyn Runtime>,
    pub(super) trace: TraceHandle,
    pub(super) signaling: Signaling,
    pub(super) tracks: Vec<(MediaKind, u32, Arc<TrackLocalStaticRTP>)>,
    /// Its congestion controller's target, when congestion control is on.
    pub(super) estimate: Option<Estimate>,
    pub(super) media_started: AtomicBool,
    /// Until when its audio and video are paused (the timeline's `pause_media`).
    pub(super) pause: media::Pause,
    /// Restarts the policy has made so far.
    pub(super) policy_restarts: AtomicU32,
    pub(super) ice_state: Mutex<RTCIceConnectionState>,
    /// Held through each offer or answer, so that a restart and an incoming description never
    /// interleave their steps.
    pub(super) negotiation: AsyncMutex<Negotiation>,
    /// Remote candidates that arrived before the remote description, as apps buffer them.
    pub(super) early_candidates: Mutex<Vec<RTCIceCandidateInit>>,
    /// The connection, weakly: it owns the callbacks that own this.
    pub(super) connection: OnceLock<Weak<dyn PeerConnection>>,
}

impl App {
    pub(super) fn record(&self, what: What) {
        self.trace.record(what);
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
        if let Err(error) = self.signaling.send(message) {
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

    /// Records a negotiation step about `sender`'s offer number `offer`.
    fn note(&self, step: NegotiationStep, sender: &str, offer: u64) {
        self.record(What::Negotiation {
            peer: self.name.clone(),
            step,
            offer: format!("{sender}#{offer}"),
        });
    }

    /// The caller's first offer.
    pub(super) async fn call(&self) -> Result<(), String> {
        self.offer(&mut *self.negotiation.lock().await).await
    }

    /// Creates an offer (a restarting one if `restart_ice()` was called), applies it and
    /// sends it.
    async fn offer(&self, negotiation: &mut Negotiation) -> Result<(), String> {
        let connection = self.connection()?;
        let offer = connection
            .create_offer(None)
            .await
            .map_err(|e| format!("create_offer: {e}"))?;
        self.apply_local(&*connection, offer.clone()).await?;
        negotiation.offers += 1;
        negotiation.in_flight = Some(negotiation.offers);
        self.signal(&Signal::Offer {
            id: negotiation.offers,
            description: offer,
        });
        Ok(())
    }

    /// `restart_ice()` then a new offer: new ufrag and pwd, which make the far side restart.
    /// While an offer of ours is in flight the restart waits for its answer, as a browser's
    /// `restartIce()` waits for `stable`: a second offer now would meet the first one's answer.
    pub(super) async fn restart_ice(&self, reason: &str) -> Result<(), String> {
        let mut negotiation = self.negotiation.lock().await;
        if let Some(offer) = negotiation.in_flight {
            self.note(NegotiationStep::QueueRestart, &self.name, offer);
            negotiation
                .queued_restart
                .get_or_insert_with(|| reason.to_owned());
            return Ok(());
        }
        self.restart_now(&mut negotiation, reason).await
    }

    async fn restart_now(&self, negotiation: &mut Negotiation, reason: &str) -> Result<(), String> {
        self.record(What::RestartIce {
            peer: self.name.clone(),
            reason: reason.to_owned(),
        });
        self.connection()?
            .restart_ice()
            .await
            .map_err(|e| format!("restart_ice: {e}"))?;
        self.offer(negotiation).await
    }

    /// `set_configuration()` with new ICE servers, as an app does before a restart.
    /// Sends no audio or video for `duration` from now.
    pub(super) fn pause_media(&self, duration: Duration) {
        self.pause.start(self.trace.now(), duration);
    }

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
    pub(super) async fn handle_signals(self: Arc<Self>, mut inbox: Inbox) {
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
            Signal::Offer { id, description } => self.answer(&*connection, id, description).await?,
            Signal::Answer { offer, description } => {
                self.accept_answer(&*connection, offer, description).await?
            }
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

    /// Answers the far side's offer `id`. When our own offer crossed it, the polite peer rolls
    /// ours back first, and the impolite one ignores theirs. Answering a restart offer restarts
    /// our ICE too, so a rolled-back or queued restart of ours is made by the answer.
    async fn answer(
        &self,
        connection: &dyn PeerConnection,
        id: u64,
        offer: RTCSessionDescription,
    ) -> Result<(), String> {
        let mut negotiation = self.negotiation.lock().await;
        if let Some(ours) = negotiation.in_flight {
            if !self.polite {
                self.note(NegotiationStep::IgnoreOffer, &self.remote, id);
                return Ok(());
            }
            self.note(NegotiationStep::Rollback, &self.name, ours);
            let rollback = RTCSessionDescription::rollback(None).map_err(|e| format!("rollback: {e}"))?;
            connection
                .set_local_description(rollback)
                .await
                .map_err(|e| format!("set_local_description(rollback): {e}"))?;
            negotiation.in_flight = None;
            negotiation.queued_restart = None;
        }
        self.apply_remote(connection, offer).await?;
        let answer = connection
            .create_answer(None)
            .await
            .map_err(|e| format!("create_answer: {e}"))?;
        self.apply_local(connection, answer.clone()).await?;
        self.signal(&Signal::Answer {
            offer: id,
            description: answer,
        });
        Ok(())
    }

    /// Applies the answer to our offer number `offer` if that offer is the one in flight,
    /// then makes the restart that waited for it.
    async fn accept_answer(
        &self,
        connection: &dyn PeerConnection,
        offer: u64,
        answer: RTCSessionDescription,
    ) -> Result<(), String> {
        let mut negotiation = self.negotiation.lock().await;
        if negotiation.in_flight != Some(offer) {
            self.note(NegotiationStep::DropAnswer, &self.name, offer);
            return Ok(());
        }
        self.apply_remote(connection, answer).await?;
        negotiation.in_flight = None;
        match negotiation.queued_restart.take() {
            Some(reason) => self.restart_now(&mut negotiation, &reason).await,
            None => Ok(()),
        }
    }

    /// Applies a local description (the observer records its ICE credentials).
    async fn apply_local(
        &self,
        connection: &dyn PeerConnection,
        description: RTCSessionDescription,
    ) -> Result<(), String> {
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
        let video_rate = match (&self.estimate, self.media.congestion_control) {
            (Some(estimate), Some(control)) => VideoRate::Following {
                estimate: estimate.clone(),
                control,
                with_audio: self.media.kinds.contains(&MediaKind::Audio),
            },
            _ => VideoRate::Fixed(self.media.video_bitrate_bps),
        };
        for (kind, ssrc, track) in &self.tracks {
            self.runtime.spawn(Box::pin(media::send_rtp(
                self.runtime.clone(),
                self.trace.clone(),
                self.stream(*kind, true),
                track.clone(),
                *ssrc,
                video_rate.clone(),
                self.pause.clone(),
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
                            app.trace.clone(),
                            app.stream(MediaKind::Data, true),
                            channel.clone(),
                            app.media.data_interval,
                            app.media.until,
                        )));
                    }
                    DataChannelEvent::OnMessage(message) => {
                        media::record_received(&app.trace, &incoming, &message.data)
                    }
                    DataChannelEvent::OnClose => break,
                    _ => {}
                }
            }
        }));
    }
}

/// The peer connection's callbacks: what the app does on each event (the observer the stack
/// wraps them in records the states and candidates).
pub(super) struct Callbacks(pub(super) Arc<App>);

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Callbacks {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        match event.candidate.to_json() {
            Ok(init) => self.0.signal(&Signal::Candidate(init)),
            Err(error) => self.0.error(format!("candidate to_json: {error}")),
        }
    }

    async fn on_ice_connection_state_change(&self, state: RTCIceConnectionState) {
        *self.0.ice_state.lock().expect("state poisoned") = state;
        self.0.apply_policy(state);
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
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
                    // The wire tap measured it; here the app only checks it came on its track.
                    TrackRemoteEvent::OnRtpPacket(packet) => {
                        media::check_received(&app.trace, &stream, &packet.payload);
                    }
                    TrackRemoteEvent::OnEnded => break,
                    _ => {}
                }
            }
        }));
    }
}

//! The call: one task owns the connection and everything about it, and handles, one at a
//! time, what the far side sends, what the OS and the product say, what the connection
//! reports and the app's own timers. One owner means no locks around the negotiation: an
//! offer cannot interleave with an incoming description.

use std::net::ToSocketAddrs;
use std::sync::Arc;
use std::time::Duration;

use futures::channel::mpsc::{UnboundedSender, unbounded};
use futures::stream::{Stream, StreamExt};
use futures::{FutureExt, select};
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCConfigurationBuilder,
    RTCIceCandidateInit, RTCIceConnectionState, RTCPeerConnectionIceEvent, RTCPeerConnectionState,
    RTCSdpType, RTCSessionDescription, Registry, SettingEngineBuilder, register_default_interceptors,
};
use webrtc::runtime::{JoinHandle, Runtime};

use crate::media::{self, Outlets, Tracks};
use crate::signal::Signal;
use crate::{AppEvent, Config, Control, NetworkEvent, Role, Transport};

/// Runs the call until it is hung up (by [`Control::HangUp`] or the far side) or its
/// transport closes.
///
/// The caller offers at once; the callee waits for the offer. Both then keep the call up by
/// the crate's reconnection policy.
pub async fn run<A, T, N, C>(config: Config<A>, mut transport: T, network: N, controls: C)
where
    A: ToSocketAddrs + Clone + Send + Sync + 'static,
    T: Transport,
    N: Stream<Item = NetworkEvent> + Unpin + Send,
    C: Stream<Item = Control> + Unpin + Send,
{
    let (internal_sender, internal) = unbounded();
    let (mut network, mut controls, mut internal) = (network.fuse(), controls.fuse(), internal.fuse());
    let mut call = match Call::start(config, internal_sender).await {
        Ok(call) => call,
        Err(error) => {
            // Nothing to run without a connection; the embedding hears why.
            return report(None, AppEvent::Error(error));
        }
    };
    if call.polite {
        // The callee waits for the caller's offer.
    } else {
        call.offer(&transport).await;
    }
    loop {
        select! {
            message = transport.recv().fuse() => {
                let Some(message) = message else { break };
                if !call.on_signal(&message, &transport).await {
                    break;
                }
            }
            event = network.select_next_some() => call.on_network(event),
            control = controls.select_next_some() => match control {
                Control::HangUp => {
                    transport.send(Signal::Bye.to_bytes());
                    break;
                }
                Control::SetIceServers(servers) => call.set_ice_servers(servers, &transport).await,
            },
            event = internal.select_next_some() => call.on_internal(event, &transport).await,
        }
    }
    call.hang_up().await;
}

fn report(telemetry: Option<&Arc<dyn Fn(AppEvent) + Send + Sync>>, event: AppEvent) {
    if let Some(telemetry) = telemetry {
        telemetry(event);
    }
}

/// What the connection's callbacks and the app's timers tell the call task. Each names the
/// connection generation (or timer) it is about, so a late one is recognised and dropped.
#[derive(Debug)]
enum Internal {
    Candidate(u32, RTCIceCandidateInit),
    IceState(u32, RTCIceConnectionState),
    State(u32, RTCPeerConnectionState),
    /// The debounce after a network notification is over.
    NetworkSettled(u64),
    /// ICE has been `disconnected` for the grace period.
    StillDisconnected(u32, u64),
    /// A restart of ours has had its time.
    RestartTimedOut(u32, u64),
}

/// The connection's callbacks: they forward to the call task and never call the
/// connection themselves (that would wait on the driver running them).
struct Events {
    generation: u32,
    sender: UnboundedSender<Internal>,
    runtime: Arc<dyn Runtime>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Events {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        if let Ok(init) = event.candidate.to_json() {
            let _ = self
                .sender
                .unbounded_send(Internal::Candidate(self.generation, init));
        }
    }

    async fn on_ice_connection_state_change(&self, state: RTCIceConnectionState) {
        let _ = self
            .sender
            .unbounded_send(Internal::IceState(self.generation, state));
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        let _ = self
            .sender
            .unbounded_send(Internal::State(self.generation, state));
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        // The app plays what it receives: here, it reads it off the track.
        self.runtime
            .spawn(Box::pin(async move { while track.poll().await.is_some() {} }));
    }
}

/// The latest timer of each kind.
#[derive(Debug, Default)]
struct Timers {
    network: u64,
    grace: u64,
    restart: u64,
}

struct Call<A> {
    config: Config<A>,
    polite: bool,
    sender: UnboundedSender<Internal>,
    connection: Arc<dyn PeerConnection>,
    /// The current connection's number: the caller counts them from 1.
    generation: u32,
    /// Our offer is out and unanswered (signaling state `have-local-offer`).
    offer_pending: bool,
    /// A restart asked for while our offer was out (its reason), made once it is answered.
    restart_queued: Option<String>,
    has_remote_description: bool,
    /// Remote candidates that came before the remote description.
    early_candidates: Vec<RTCIceCandidateInit>,
    ice: RTCIceConnectionState,
    state: RTCPeerConnectionState,
    /// The OS said the link is down and has not said it is back.
    link_down: bool,
    /// A rebuild waits for the link to come back.
    rebuild_waiting: bool,
    rebuilds: u32,
    /// Numbers each kind of timer; only the latest of a kind counts.
    timers: Timers,
    outlets: Outlets,
    sources: Vec<Box<dyn JoinHandle>>,
}

impl<A> Call<A>
where
    A: ToSocketAddrs + Clone + Send + Sync + 'static,
{
    async fn start(config: Config<A>, sender: UnboundedSender<Internal>) -> Result<Self, String> {
        let generation = 1;
        let connection = build(&config, generation, &sender).await?;
        let outlets = Outlets::default();
        outlets.set(media::add_tracks(&*connection, &config.media).await?);
        Ok(Call {
            polite: config.role == Role::Callee,
            config,
            sender,
            connection,
            generation,
            offer_pending: false,
            restart_queued: None,
            has_remote_description: false,
            early_candidates: Vec::new(),
            ice: RTCIceConnectionState::New,
            state: RTCPeerConnectionState::New,
            link_down: false,
            rebuild_waiting: false,
            rebuilds: 0,
            timers: Timers::default(),
            outlets,
            sources: Vec::new(),
        })
    }

    fn report(&self, event: AppEvent) {
        report(self.config.telemetry.as_ref(), event);
    }

    fn error(&self, error: impl std::fmt::Display) {
        self.report(AppEvent::Error(error.to_string()));
    }

    /// Sends `event` to the call task after `delay`, on the runtime's clock.
    fn after(&self, delay: Duration, event: Internal) {
        let sender = self.sender.clone();
        let sleep = self.config.runtime.sleep(delay);
        self.config.runtime.spawn(Box::pin(async move {
            sleep.await;
            let _ = sender.unbounded_send(event);
        }));
    }

    /// Creates an offer (an ICE-restarting one after `restart_ice()`), applies and sends it.
    async fn offer<T: Transport>(&mut self, transport: &T) {
        let offer = match self.connection.create_offer(None).await {
            Ok(offer) => offer,
            Err(error) => return self.error(format!("create_offer: {error}")),
        };
        if let Err(error) = self.connection.set_local_description(offer.clone()).await {
            return self.error(format!("set_local_description(offer): {error}"));
        }
        self.offer_pending = true;
        transport.send(
            Signal::Description {
                generation: self.generation,
                description: Box::new(offer),
            }
            .to_bytes(),
        );
    }

    /// Restarts ICE and offers; while our own offer is out, once it is answered.
    async fn restart<T: Transport>(&mut self, reason: &str, transport: &T) {
        if self.offer_pending {
            self.restart_queued.get_or_insert_with(|| reason.to_owned());
            return;
        }
        self.report(AppEvent::RestartIce {
            reason: reason.to_owned(),
        });
        if let Err(error) = self.connection.restart_ice().await {
            return self.error(format!("restart_ice: {error}"));
        }
        self.offer(transport).await;
        // webrtc-rs 0.21 never reports `failed` after a restart whose checks all go
        // unanswered (it stays `checking`): the app gives a restart this long.
        self.timers.restart += 1;
        self.after(
            self.config.policy.restart_timeout,
            Internal::RestartTimedOut(self.generation, self.timers.restart),
        );
    }

    /// A new connection in place of the current one, as generation `generation`; the caller
    /// offers on it at once.
    async fn rebuild<T: Transport>(&mut self, generation: u32, reason: &str, transport: &T) {
        if self.rebuilds >= self.config.policy.max_rebuilds {
            return self.error(format!("no rebuild left for: {reason}"));
        }
        self.rebuilds += 1;
        self.report(AppEvent::Rebuild {
            generation,
            reason: reason.to_owned(),
        });
        self.outlets.set(Tracks::default());
        let _ = self.connection.close().await;
        let connection = match build(&self.config, generation, &self.sender).await {
            Ok(connection) => connection,
            Err(error) => return self.error(error),
        };
        match media::add_tracks(&*connection, &self.config.media).await {
            Ok(tracks) => self.outlets.set(tracks),
            Err(error) => self.error(error),
        }
        self.connection = connection;
        self.generation = generation;
        self.offer_pending = false;
        self.restart_queued = None;
        self.has_remote_description = false;
        self.early_candidates.clear();
        self.ice = RTCIceConnectionState::New;
        self.state = RTCPeerConnectionState::New;
        self.rebuild_waiting = false;
        // The new connection gathers on the addresses there are now: a restart for a network
        // change still waiting out its debounce has nothing left to do.
        self.timers.network += 1;
        if !self.polite {
            self.offer(transport).await;
        }
    }

    /// What the far side sent; false when it hung up.
    async fn on_signal<T: Transport>(&mut self, message: &[u8], transport: &T) -> bool {
        let signal = match Signal::from_bytes(message) {
            Ok(signal) => signal,
            Err(error) => {
                self.error(format!("an unreadable signal: {error}"));
                return true;
            }
        };
        match signal {
            Signal::Description {
                generation,
                description,
            } => {
                if generation > self.generation && self.polite {
                    // The caller built a new connection: so do we.
                    self.rebuild(generation, "the caller rebuilt", transport).await;
                }
                if generation == self.generation {
                    self.on_description(*description, transport).await;
                }
            }
            Signal::Candidate {
                generation,
                candidate,
            } if generation == self.generation => {
                if self.has_remote_description {
                    if let Err(error) = self.connection.add_ice_candidate(candidate).await {
                        self.error(format!("add_ice_candidate: {error}"));
                    }
                } else {
                    self.early_candidates.push(candidate);
                }
            }
            Signal::Candidate { .. } => {}
            Signal::Rebuild { generation } => {
                if !self.polite && generation == self.generation {
                    self.on_failed("the callee's connection failed", transport).await;
                }
            }
            Signal::Bye => return false,
        }
        true
    }

    /// Perfect negotiation: an offer that crosses ours is ignored by the impolite caller, and
    /// makes the polite callee roll its own back and answer.
    async fn on_description<T: Transport>(&mut self, description: RTCSessionDescription, transport: &T) {
        match description.sdp_type {
            RTCSdpType::Offer => {
                if self.offer_pending {
                    if !self.polite {
                        return self.report(AppEvent::IgnoreOffer);
                    }
                    self.report(AppEvent::Rollback);
                    let rollback = match RTCSessionDescription::rollback(None) {
                        Ok(rollback) => rollback,
                        Err(error) => return self.error(format!("rollback: {error}")),
                    };
                    if let Err(error) = self.connection.set_local_description(rollback).await {
                        return self.error(format!("set_local_description(rollback): {error}"));
                    }
                    self.offer_pending = false;
                    // Answering their restart restarts our ICE too, on the addresses we have
                    // now (as measured: the answer gathers on a moved address), so a restart
                    // of ours that was rolled back or waiting is made by the answer.
                    self.restart_queued = None;
                }
                if !self.apply_remote(description).await {
                    return;
                }
                let answer = match self.connection.create_answer(None).await {
                    Ok(answer) => answer,
                    Err(error) => return self.error(format!("create_answer: {error}")),
                };
                if let Err(error) = self.connection.set_local_description(answer.clone()).await {
                    return self.error(format!("set_local_description(answer): {error}"));
                }
                transport.send(
                    Signal::Description {
                        generation: self.generation,
                        description: Box::new(answer),
                    }
                    .to_bytes(),
                );
            }
            RTCSdpType::Answer => {
                if !self.offer_pending {
                    return; // an answer to an offer we no longer have
                }
                if !self.apply_remote(description).await {
                    return;
                }
                self.offer_pending = false;
            }
            _ => return,
        }
        if let Some(reason) = self.restart_queued.take() {
            self.restart(&reason, transport).await;
        }
    }

    async fn apply_remote(&mut self, description: RTCSessionDescription) -> bool {
        if let Err(error) = self.connection.set_remote_description(description).await {
            self.error(format!("set_remote_description: {error}"));
            return false;
        }
        self.has_remote_description = true;
        for candidate in std::mem::take(&mut self.early_candidates) {
            if let Err(error) = self.connection.add_ice_candidate(candidate).await {
                self.error(format!("add_ice_candidate: {error}"));
            }
        }
        true
    }

    fn on_network(&mut self, event: NetworkEvent) {
        match event {
            NetworkEvent::AddressGone(_) => return, // the new address, if any, comes next
            NetworkEvent::LinkDown => {
                self.link_down = true;
                return;
            }
            NetworkEvent::LinkUp => self.link_down = false,
            NetworkEvent::AddressUp(_) => {}
        }
        self.timers.network += 1;
        self.after(
            self.config.policy.debounce,
            Internal::NetworkSettled(self.timers.network),
        );
    }

    /// The connection failed: the caller builds a new one (once the link is up), the callee
    /// asks it to.
    async fn on_failed<T: Transport>(&mut self, reason: &str, transport: &T) {
        if self.polite {
            transport.send(
                Signal::Rebuild {
                    generation: self.generation,
                }
                .to_bytes(),
            );
        } else if self.link_down {
            self.rebuild_waiting = true;
        } else {
            self.rebuild(self.generation + 1, reason, transport).await;
        }
    }

    async fn on_internal<T: Transport>(&mut self, event: Internal, transport: &T) {
        match event {
            Internal::Candidate(generation, candidate) if generation == self.generation => transport.send(
                Signal::Candidate {
                    generation,
                    candidate,
                }
                .to_bytes(),
            ),
            Internal::IceState(generation, state) if generation == self.generation => {
                self.ice = state;
                if state == RTCIceConnectionState::Disconnected {
                    self.timers.grace += 1;
                    self.after(
                        self.config.policy.disconnected_grace,
                        Internal::StillDisconnected(generation, self.timers.grace),
                    );
                }
            }
            Internal::State(generation, state) if generation == self.generation => {
                self.state = state;
                match state {
                    RTCPeerConnectionState::Connected => {
                        self.report(AppEvent::Connected { generation });
                        self.start_media();
                    }
                    RTCPeerConnectionState::Failed => self.on_failed("failed", transport).await,
                    _ => {}
                }
            }
            Internal::NetworkSettled(timer) if timer == self.timers.network => {
                if self.rebuild_waiting {
                    self.rebuild(self.generation + 1, "failed while the link was down", transport)
                        .await;
                } else if self.state == RTCPeerConnectionState::Failed {
                    self.on_failed("failed", transport).await;
                } else if self.has_remote_description {
                    self.restart("network change", transport).await;
                }
            }
            // While the OS says the link is down a restart cannot work: the link's return
            // makes one.
            Internal::StillDisconnected(generation, timer)
                if generation == self.generation
                    && timer == self.timers.grace
                    && self.ice == RTCIceConnectionState::Disconnected
                    && !self.link_down =>
            {
                self.restart("disconnected", transport).await;
            }
            Internal::RestartTimedOut(generation, timer)
                if generation == self.generation
                    && timer == self.timers.restart
                    && self.state != RTCPeerConnectionState::Connected =>
            {
                self.on_failed("the restart timed out", transport).await;
            }
            _ => {} // about an older connection, or a timer overtaken by a newer one
        }
    }

    async fn set_ice_servers<T: Transport>(
        &mut self,
        servers: Vec<webrtc::peer_connection::RTCIceServer>,
        transport: &T,
    ) {
        self.config.ice_servers = servers.clone();
        let current = self.connection.get_configuration().await;
        let configuration = RTCConfigurationBuilder::new()
            .with_ice_servers(servers)
            .with_ice_transport_policy(current.ice_transport_policy())
            .with_bundle_policy(current.bundle_policy())
            .with_rtcp_mux_policy(current.rtcp_mux_policy())
            .build();
        if let Err(error) = self.connection.set_configuration(configuration).await {
            return self.error(format!("set_configuration: {error}"));
        }
        self.restart("new ICE servers", transport).await;
    }

    /// Starts the microphone and camera, once, when the call first connects. They outlive
    /// rebuilt connections.
    fn start_media(&mut self) {
        if !self.sources.is_empty() {
            return;
        }
        let (runtime, media) = (&self.config.runtime, &self.config.media);
        if media.audio {
            self.sources.push(runtime.spawn(Box::pin(media::microphone(
                runtime.clone(),
                self.outlets.clone(),
                media.audio_ssrc,
            ))));
        }
        if media.video {
            self.sources.push(runtime.spawn(Box::pin(media::camera(
                runtime.clone(),
                self.outlets.clone(),
                media.video_ssrc,
                media.video_fps,
                media.video_bitrate_bps,
            ))));
        }
    }

    async fn hang_up(self) {
        for source in &self.sources {
            source.abort();
        }
        self.outlets.set(Tracks::default());
        let _ = self.connection.close().await;
    }
}

/// A connection as the app configures one: webrtc-rs's default codecs and interceptors on
/// the embedding's registry, its ICE servers, and local candidates dropped at an ICE restart
/// so that a restart gathers on the addresses the device has now.
async fn build<A>(
    config: &Config<A>,
    generation: u32,
    sender: &UnboundedSender<Internal>,
) -> Result<Arc<dyn PeerConnection>, String>
where
    A: ToSocketAddrs + Clone + Send + Sync + 'static,
{
    let mut media_engine = MediaEngine::default();
    media_engine
        .register_default_codecs()
        .map_err(|e| format!("register_default_codecs: {e}"))?;
    let registry = config
        .interceptors
        .as_ref()
        .map_or_else(Registry::new, |make| make());
    let registry = register_default_interceptors(registry, &mut media_engine)
        .map_err(|e| format!("register_default_interceptors: {e}"))?;
    let mut rtc_config = RTCConfigurationBuilder::new().with_ice_servers(config.ice_servers.clone());
    if !config.certificates.is_empty() {
        rtc_config = rtc_config.with_certificates(config.certificates.clone());
    }
    // Without this webrtc-rs 0.21 keeps its sockets through an ICE restart, and a restart
    // after a handoff would gather on the address that is gone.
    let settings = SettingEngineBuilder::new()
        .with_discard_local_candidates_during_ice_restart(true)
        .build();
    let handler: Arc<dyn PeerConnectionEventHandler> = Arc::new(Events {
        generation,
        sender: sender.clone(),
        runtime: config.runtime.clone(),
    });
    let handler = match &config.wrap_handler {
        Some(wrap) => wrap(handler),
        None => handler,
    };
    let connection = PeerConnectionBuilder::new()
        .with_configuration(rtc_config.build())
        .with_setting_engine(settings)
        .with_media_engine(media_engine)
        .with_interceptor_registry(registry)
        .with_runtime(config.runtime.clone())
        .with_udp_addrs(config.bind_addresses.clone())
        .with_handler(handler)
        .build()
        .await
        .map_err(|e| format!("building the connection: {e}"))?;
    let connection: Arc<dyn PeerConnection> = Arc::new(connection);
    if let Some(hook) = &config.on_connection {
        hook(&connection);
    }
    Ok(connection)
}

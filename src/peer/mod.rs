//! The built-in app: a real webrtc-rs `PeerConnection` plus the small application around it
//! (see [`app`]) that a real calling app has, with synthetic media and the policies a
//! scenario gives it.
//!
//! It is one app among others: it runs on a [`Sim`](crate::sim::Sim) from the [`Context`]
//! every app is handed, and builds its connection, signals and records its own events
//! through that context's public API only, as your own app would.

mod app;
mod congestion;
pub mod media;

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use futures::future::{self, Either};
use rtc::ice::mdns::MulticastDnsMode;
use rtc::ice::network_type::NetworkType;
use rtc::peer_connection::configuration::interceptor_registry::{
    CongestionFeedback, configure_congestion_control,
};
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, RTCConfigurationBuilder, RTCIceConnectionState,
    RTCIceTransportPolicy, Registry, SettingEngineBuilder, register_default_interceptors,
};

use crate::sim::{Command, Context, Inbox, Role, Signaling, Stack};
use crate::trace::{MediaKind, What};
use app::{App, Callbacks};
pub use congestion::{CongestionControl, Estimate};

/// After its senders stop, the app waits this long so that packets in flight arrive, then
/// hangs up; what is still in flight after it counts as lost.
pub const DRAIN: Duration = Duration::from_secs(1);
/// How long the app waits for its connection to close at the call's end before it gives up
/// (as an app on a real phone is killed): a close can wait on a TCP connection that loss has
/// stalled, and the call's results should not depend on it.
pub const HANG_UP_LIMIT: Duration = Duration::from_secs(4);
/// Virtual time a call's end allows for hanging up, after the drain: the app's own limit,
/// and a second for the world to see it return.
pub const CLOSING_GRACE: Duration = Duration::from_secs(5);

/// What a peer sends, and how.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaPlan {
    pub kinds: Vec<MediaKind>,
    /// Video bitrate of the synthetic encoder, when congestion control is off.
    pub video_bitrate_bps: u64,
    /// webrtc-rs's GCC with TWCC feedback, whose target the video then follows; `None`
    /// (the default): off, the video stays at `video_bitrate_bps`.
    pub congestion_control: Option<CongestionControl>,
    /// Time between two data-channel messages.
    pub data_interval: Duration,
    /// When the senders stop (the end of the call); the app hangs up [`DRAIN`] later.
    pub until: Duration,
}

impl Default for MediaPlan {
    fn default() -> Self {
        MediaPlan {
            kinds: vec![MediaKind::Audio, MediaKind::Video, MediaKind::Data],
            video_bitrate_bps: 800_000,
            congestion_control: None,
            data_interval: Duration::from_millis(100),
            until: Duration::MAX,
        }
    }
}

/// "Restart ICE `delay` after it happens, at most `max_attempts` times in the call."
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestartPolicy {
    pub delay: Duration,
    pub max_attempts: u32,
}

/// What the app does when ICE goes bad, as real apps decide it. `None`: nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AppPolicy {
    pub on_disconnected: Option<RestartPolicy>,
    pub on_failed: Option<RestartPolicy>,
}

/// What the built-in app of one peer does: whom it calls, what it sends, its policies.
#[derive(Debug, Clone)]
pub struct PeerSetup {
    /// The other end of the call, whose streams it names.
    pub remote: String,
    pub media: MediaPlan,
    pub policy: AppPolicy,
    /// Use relay candidates only.
    pub relay_only: bool,
    /// Gather TCP candidates too (a listener on the stack's TCP address, and connections
    /// out), and let ICE pair them.
    pub ice_tcp: bool,
    /// Seed for values the app chooses (SSRCs).
    pub seed: u64,
}

/// The built-in app on `context`: builds its connection, offers if it is the caller,
/// carries out the timeline's commands, and hangs up [`DRAIN`] after its media stop. It
/// ignores the operating system's notifications: its policies follow ICE's states instead.
pub async fn run(context: Context, setup: PeerSetup) {
    let Context {
        signaling,
        inbox,
        mut commands,
        stack,
        ..
    } = context;
    let trace = stack.trace();
    let error = |message: String| {
        trace.record(What::Error {
            peer: stack.name().to_owned(),
            message,
        })
    };
    let hang_up = setup.media.until.saturating_add(DRAIN);
    let peer = match Peer::build(&stack, signaling, setup).await {
        Ok(peer) => peer,
        Err(e) => return error(format!("building the connection: {e}")),
    };
    let runtime = stack.runtime();
    runtime.spawn(Box::pin(peer.clone().handle_signals(inbox)));
    if stack.role() == Some(Role::Caller) {
        peer.call().await;
    }
    let mut end: Pin<Box<dyn Future<Output = ()> + Send>> = match hang_up {
        Duration::MAX => Box::pin(future::pending()),
        _ => runtime.sleep(hang_up.saturating_sub(trace.now())),
    };
    loop {
        match future::select(Box::pin(commands.next()), &mut end).await {
            Either::Left((Some(command), _)) => peer.carry_out(command).await,
            Either::Left((None, _)) => return,
            Either::Right(_) => break,
        }
    }
    let closed = future::select(Box::pin(peer.close()), runtime.sleep(HANG_UP_LIMIT)).await;
    if let Either::Right(_) = closed {
        error(format!(
            "the connection did not close within {HANG_UP_LIMIT:?}: the app gave up"
        ));
    }
}

/// A running peer.
struct Peer {
    app: Arc<App>,
    connection: Arc<dyn PeerConnection>,
}

impl Peer {
    /// Builds the peer connection from the stack and adds its tracks.
    async fn build(
        stack: &Stack,
        signaling: Signaling,
        setup: PeerSetup,
    ) -> Result<Arc<Peer>, webrtc::error::Error> {
        let name = stack.name().to_owned();
        let (runtime, trace) = (stack.runtime(), stack.trace());
        let tracks: Vec<_> = setup
            .media
            .kinds
            .iter()
            .filter(|kind| **kind != MediaKind::Data)
            .map(|kind| {
                let ssrc = crate::net::sub_seed(setup.seed, *kind as u64) as u32;
                (*kind, ssrc, media::local_track(&name, *kind, ssrc))
            })
            .collect();
        let (estimator, estimate) = match setup.media.congestion_control {
            Some(control) => {
                let (estimator, estimate) =
                    congestion::Reporting::new(control, &name, trace.clone(), runtime.now());
                (Some(estimator), Some(estimate))
            }
            None => (None, None),
        };
        let app = Arc::new(App {
            name: name.clone(),
            remote: setup.remote.clone(),
            polite: stack.role() == Some(Role::Callee),
            media: setup.media.clone(),
            policy: setup.policy,
            runtime: runtime.clone(),
            trace,
            signaling,
            tracks,
            estimate,
            media_started: AtomicBool::new(false),
            pause: media::Pause::default(),
            policy_restarts: AtomicU32::new(0),
            ice_state: Mutex::new(RTCIceConnectionState::New),
            negotiation: Default::default(),
            early_candidates: Mutex::new(Vec::new()),
            connection: OnceLock::new(),
        });

        let mut media_engine = MediaEngine::default();
        media_engine.register_default_codecs()?;
        let mut interceptors = Registry::new();
        if let Some(estimator) = estimator {
            // The send history, the pacer and the TWCC sender and receiver; the far side's
            // default interceptors already report arrivals with TWCC.
            interceptors = configure_congestion_control(
                interceptors,
                estimator,
                CongestionFeedback::Twcc,
                &mut media_engine,
            )?;
        }
        // The wire tap measures its RTP, as it measures any app's.
        let interceptors =
            stack.interceptors(register_default_interceptors(interceptors, &mut media_engine)?);
        // Discarding the old generation's local candidates on restart is what makes
        // webrtc-rs rebind its sockets, and so gather on a moved address.
        let mut settings = SettingEngineBuilder::new()
            .with_multicast_dns_mode(MulticastDnsMode::Disabled)
            .with_include_loopback_candidate(true)
            .with_discard_local_candidates_during_ice_restart(true);
        let mut tcp_addresses = Vec::new();
        if setup.ice_tcp {
            settings = settings.with_network_types(vec![NetworkType::Udp4, NetworkType::Tcp4]);
            tcp_addresses = stack.tcp_bind_addresses();
        }
        let policy = if setup.relay_only {
            RTCIceTransportPolicy::Relay
        } else {
            RTCIceTransportPolicy::All
        };
        let configuration = RTCConfigurationBuilder::new()
            .with_certificates(vec![stack.certificate()])
            .with_ice_servers(stack.ice_servers())
            .with_ice_transport_policy(policy)
            .build();
        let connection: Arc<dyn PeerConnection> = Arc::new(
            PeerConnectionBuilder::new()
                .with_configuration(configuration)
                .with_setting_engine(settings.build())
                .with_media_engine(media_engine)
                .with_interceptor_registry(interceptors)
                .with_runtime(runtime)
                .with_handler(stack.observe(Arc::new(Callbacks(app.clone()))))
                .with_udp_addrs(stack.bind_addresses())
                .with_tcp_addrs(tcp_addresses)
                .build()
                .await?,
        );
        stack.watch(&connection);
        let _ = app.connection.set(Arc::downgrade(&connection));
        for (_, _, track) in &app.tracks {
            connection.add_track(track.clone() as Arc<dyn TrackLocal>).await?;
        }
        if stack.role() == Some(Role::Caller) && setup.media.kinds.contains(&MediaKind::Data) {
            let channel = connection.create_data_channel("netsim-data", None).await?;
            app.watch_data_channel(channel);
        }
        Ok(Arc::new(Peer { app, connection }))
    }

    /// The caller's first move: offer, apply it, send it.
    async fn call(&self) {
        self.app.record(What::OfferCreated {
            peer: self.app.name.clone(),
        });
        if let Err(error) = self.app.call().await {
            self.app.error(format!("could not offer: {error}"));
        }
    }

    /// Does what the timeline asks.
    async fn carry_out(&self, command: Command) {
        let done = match command {
            Command::RestartIce => self.app.restart_ice("timeline").await,
            Command::SetIceServers(servers) => self.app.set_ice_servers(servers).await,
            Command::PauseMedia(duration) => {
                self.app.pause_media(duration);
                Ok(())
            }
            Command::Close => return self.close().await,
        };
        if let Err(error) = done {
            self.app.error(error);
        }
    }

    /// Handles what the relay brings, until the relay connection closes.
    async fn handle_signals(self: Arc<Self>, inbox: Inbox) {
        self.app.clone().handle_signals(inbox).await
    }

    /// Ends the call.
    async fn close(&self) {
        if let Err(error) = self.connection.close().await {
            self.app.error(format!("close: {error}"));
        }
    }
}

//! The embedding a product would write, for webrtc-netsim instead: it turns the harness's
//! `Context` into what the app takes — its `Config`, a `Transport` on the signaling relay,
//! the OS's network notifications and the product's controls — and records the app's
//! telemetry on the world's clock.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use futures::channel::oneshot;
use futures::stream::{self, Stream};
use reconnecting_app::{AppEvent, Config, Control, MediaConfig, NetworkEvent, Policy, Role, Transport};
use webrtc::data_channel::DataChannel;
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::{
    PeerConnectionEventHandler, RTCIceConnectionState, RTCIceGatheringState, RTCPeerConnectionIceEvent,
    RTCPeerConnectionState, RTCSignalingState, Registry,
};
use webrtc_netsim::sim::{Command, Context, Inbox, NetworkChange, Signaling};

/// How many connections one app may build in a test: see [`hooks`].
const CONNECTIONS: usize = 8;

/// The app's telemetry, each event at the virtual time it was reported.
pub type Log = Arc<Mutex<Vec<(Duration, AppEvent)>>>;

/// How the two ends meet: the caller opens a session and shares its token (a link the user
/// sends), the callee joins with it.
pub enum Meeting {
    Share(oneshot::Sender<String>),
    Join(oneshot::Receiver<String>),
}

/// A caller's and a callee's ends of the meeting.
pub fn meeting() -> (Meeting, Meeting) {
    let (share, join) = oneshot::channel();
    (Meeting::Share(share), Meeting::Join(join))
}

/// The app, embedded in the world as `role`, with `media`, its telemetry in `log`.
pub async fn app(ctx: Context, meeting: Meeting, media: MediaConfig, policy: Policy, log: Log) {
    let role = match &meeting {
        Meeting::Share(_) => Role::Caller,
        Meeting::Join(_) => Role::Callee,
    };
    match meeting {
        Meeting::Share(share) => {
            let _ = share.send(ctx.signaling.create_session());
        }
        Meeting::Join(token) => {
            let Ok(token) = token.await else { return };
            ctx.signaling.join(&token).expect("the token is good");
        }
    }
    let runtime = ctx.runtime();
    let mut config = Config::new(role, runtime.clone(), ctx.bind_addresses());
    config.ice_servers = ctx.ice_servers();
    config.certificates = vec![ctx.certificate()];
    config.policy = policy;
    config.media = media;
    let (interceptors, wrap_handler) = hooks(&ctx);
    config.interceptors = Some(interceptors);
    config.wrap_handler = Some(wrap_handler);
    let started = runtime.now();
    config.telemetry = Some(Arc::new(move |event| {
        log.lock().unwrap().push((elapsed(started, runtime.now()), event));
    }));
    let Context {
        signaling,
        inbox,
        commands,
        network,
        ..
    } = ctx;
    let transport = Relay { signaling, inbox };
    let network = Box::pin(stream::unfold(network, |mut changes| async move {
        let change = changes.next().await?;
        Some((notification(change), changes))
    }));
    let controls = Box::pin(controls(commands));
    reconnecting_app::run(config, transport, network, controls).await;
}

fn elapsed(started: Instant, now: Instant) -> Duration {
    now.saturating_duration_since(started)
}

/// What the harness's OS says, in the app's words.
fn notification(change: NetworkChange) -> NetworkEvent {
    match change {
        NetworkChange::AddressGone(ip) => NetworkEvent::AddressGone(ip),
        NetworkChange::AddressUp(ip) => NetworkEvent::AddressUp(ip),
        NetworkChange::LinkDown => NetworkEvent::LinkDown,
        NetworkChange::LinkUp => NetworkEvent::LinkUp,
    }
}

/// The timeline's commands the app has a control for; a bare `restart_ice` is not one (the
/// app restarts by its own policy).
fn controls(commands: webrtc_netsim::sim::Commands) -> impl Stream<Item = Control> {
    stream::unfold(commands, |mut commands| async move {
        loop {
            match commands.next().await? {
                Command::SetIceServers(servers) => return Some((Control::SetIceServers(servers), commands)),
                Command::Close => return Some((Control::HangUp, commands)),
                Command::RestartIce => continue,
            }
        }
    })
}

/// The app's signaling transport: the world's relay.
struct Relay {
    signaling: Signaling,
    inbox: Inbox,
}

#[async_trait::async_trait]
impl Transport for Relay {
    fn send(&self, message: Vec<u8>) {
        // The relay refuses only before the session is joined; the app tolerates a loss.
        let _ = self.signaling.send(message);
    }

    async fn recv(&mut self) -> Option<Vec<u8>> {
        self.inbox.recv().await
    }
}

/// The app's two hooks, on the context's wire tap and observer.
///
/// Both `Context::interceptors` and `Context::observe` borrow the whole context, while its
/// channels must be moved out of it to be polled: so the tapped registries and the observers
/// are made up front, one per connection the app may build ([`CONNECTIONS`]), each observer
/// wrapping a handler the app fills in when it builds that connection.
fn hooks(
    ctx: &Context,
) -> (
    reconnecting_app::RegistryFactory,
    reconnecting_app::HandlerWrapper,
) {
    let registries: VecDeque<Registry> = (0..CONNECTIONS)
        .map(|_| ctx.interceptors(Registry::new()))
        .collect();
    let registries = Mutex::new(registries);
    let observers: VecDeque<(Arc<Deferred>, Arc<dyn PeerConnectionEventHandler>)> = (0..CONNECTIONS)
        .map(|_| {
            let deferred = Arc::new(Deferred::default());
            let observer = ctx.observe(deferred.clone());
            (deferred, observer)
        })
        .collect();
    let observers = Mutex::new(observers);
    (
        Arc::new(move || {
            registries
                .lock()
                .unwrap()
                .pop_front()
                .expect("the app built more connections than the test provides for")
        }),
        Arc::new(move |handler| {
            let (deferred, observer) = observers
                .lock()
                .unwrap()
                .pop_front()
                .expect("the app built more connections than the test provides for");
            let _ = deferred.0.set(handler);
            observer
        }),
    )
}

/// A handler whose target is set after it is made.
#[derive(Default)]
struct Deferred(OnceLock<Arc<dyn PeerConnectionEventHandler>>);

impl Deferred {
    fn inner(&self) -> Option<&Arc<dyn PeerConnectionEventHandler>> {
        self.0.get()
    }
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Deferred {
    async fn on_negotiation_needed(&self) {
        if let Some(inner) = self.inner() {
            inner.on_negotiation_needed().await;
        }
    }

    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        if let Some(inner) = self.inner() {
            inner.on_ice_candidate(event).await;
        }
    }

    async fn on_signaling_state_change(&self, state: RTCSignalingState) {
        if let Some(inner) = self.inner() {
            inner.on_signaling_state_change(state).await;
        }
    }

    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if let Some(inner) = self.inner() {
            inner.on_ice_gathering_state_change(state).await;
        }
    }

    async fn on_ice_connection_state_change(&self, state: RTCIceConnectionState) {
        if let Some(inner) = self.inner() {
            inner.on_ice_connection_state_change(state).await;
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        if let Some(inner) = self.inner() {
            inner.on_connection_state_change(state).await;
        }
    }

    async fn on_data_channel(&self, channel: Arc<dyn DataChannel>) {
        if let Some(inner) = self.inner() {
            inner.on_data_channel(channel).await;
        }
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        if let Some(inner) = self.inner() {
            inner.on_track(track).await;
        }
    }
}

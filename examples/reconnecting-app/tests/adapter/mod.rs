//! The embedding a product would write, for webrtc-netsim instead: it turns the harness's
//! `Context` into what the app takes — its `Config`, a `Transport` on the signaling relay,
//! the OS's network notifications and the product's controls — and records the app's
//! telemetry on the world's clock. Both test targets embed the app with it:
//! `network_changes.rs` in worlds built in code, `scenarios.rs` in the worlds of
//! `scenarios/*.toml`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::stream::{self, Stream};
use reconnecting_app::{AppEvent, Config, Control, MediaConfig, NetworkEvent, Policy, Role, Transport};
use webrtc::peer_connection::Registry;
use webrtc_netsim::sim::{Command, Context, Inbox, NetworkChange, Signaling, Stack};

/// The app's telemetry, each event at the virtual time it was reported.
pub type Log = Arc<Mutex<Vec<(Duration, AppEvent)>>>;

/// What the app sends as `peer`: Opus-sized audio, and VP8-sized video if `video`. Each
/// end picks SSRCs of its own, here from its name (the world joins two senders with one
/// SSRC into one stream).
pub fn media(peer: &str, video: bool) -> MediaConfig {
    // FNV-1a: a stable number from the name, the video stream's the next one.
    let ssrc = peer.bytes().fold(0x811c_9dc5_u32, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    }) & !1;
    MediaConfig {
        video,
        audio_ssrc: ssrc,
        video_ssrc: ssrc | 1,
        ..MediaConfig::default()
    }
}

/// The app, embedded in the world as the end of the call the world set up for it (a room
/// server's job: `Sim::call`, or a scenario file's `role`), with `media`, its telemetry in
/// `log`.
pub async fn app(ctx: Context, media: MediaConfig, policy: Policy, log: Log) {
    let role = match ctx.stack.role() {
        Some(webrtc_netsim::Role::Caller) => Role::Caller,
        Some(webrtc_netsim::Role::Callee) => Role::Callee,
        None => panic!("`{}` is in no call: the world sets up the call", ctx.stack.name()),
    };
    let runtime = ctx.stack.runtime();
    let mut config = Config::new(role, runtime.clone(), ctx.stack.bind_addresses());
    config.ice_servers = ctx.stack.ice_servers();
    config.certificates = vec![ctx.stack.certificate()];
    config.policy = policy;
    config.media = media;
    let (interceptors, wrap_handler, on_connection) = hooks(ctx.stack.clone());
    config.interceptors = Some(interceptors);
    config.wrap_handler = Some(wrap_handler);
    config.on_connection = Some(on_connection);
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
                _ => continue,
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

/// The app's three hooks, on the world's wire tap and observer: a clone of the context's
/// stack makes them for each connection the app builds.
fn hooks(
    stack: Stack,
) -> (
    reconnecting_app::RegistryFactory,
    reconnecting_app::HandlerWrapper,
    reconnecting_app::ConnectionHook,
) {
    let (tap, observer) = (stack.clone(), stack.clone());
    (
        Arc::new(move || tap.interceptors(Registry::new())),
        Arc::new(move |handler| observer.observe(handler)),
        Arc::new(move |connection| stack.watch(connection)),
    )
}

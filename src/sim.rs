//! Your own webrtc-rs app under test: a world built in code whose peers are the user's async
//! apps, on the simulated network and the virtual clock.
//!
//! As in turmoil, the user's future *is* the host: [`Sim::peer`] takes a closure that gets
//! the peer's [`Context`] and returns the app's future, which runs as that host. The app
//! builds its own `PeerConnection` from what the context hands over — the runtime, the
//! addresses to bind, the ICE servers, a signaling client on the relay — and learns what a
//! real app learns from its operating system (an address gone, a link down) and what the
//! timeline asks of it (`restart_ice`, `set_ice_servers`, `close`) as [`Command`]s. The wire
//! tap in its interceptor chain ([`Stack::interceptors`]) measures its media from the RTP
//! itself, so the run's metrics are the app's.
//!
//! Registered by name in [`Apps`], apps are what scenario files' `app` keys name: the file
//! front end (`scenario`) builds a `Sim` of the file's world, and `suite` makes a folder of
//! such files a test target's tests; the sim knows neither.
//!
//! ```no_run
//! use std::time::Duration;
//! use webrtc_netsim::sim::{Host, Sim};
//!
//! let mut sim = Sim::builder().seed(7).stun().build();
//! sim.peer("alice", Host::new(), |ctx| async move { /* the app, on ctx */ drop(ctx) });
//! sim.peer("bob", Host::new(), |ctx| async move { drop(ctx) });
//! let run = sim.run_for(Duration::from_secs(10)).expect("the world runs");
//! println!("{} events", run.trace.len());
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::FutureExt;
use futures::channel::mpsc::{UnboundedReceiver, UnboundedSender, unbounded};
use futures::channel::oneshot;
use rtc::peer_connection::certificate::RTCCertificate;
use serde::{Deserialize, Serialize};
use webrtc::peer_connection::{PeerConnection, PeerConnectionEventHandler, RTCIceServer, Registry};
use webrtc::runtime::{Receiver, Runtime};

use crate::cross::{CrossKind, CrossTraffic};
use crate::net::{FirewallConfig, LinkConfig, NatConfig, Network, sub_seed};
use crate::runtime::entropy;
use crate::runtime::processing::Processing;
use crate::servers::{Credentials, IceServer, rtc_ice_servers};
use crate::signaling::{Relay, SignalingError};
use crate::tap::WireTap;
use crate::timeline::{Action, TimedAction};
use crate::trace::What;
use crate::world::{AppControl, Run, RunError, World, WorldConfig};
pub use crate::world::{BindAddress, NetworkChange};

mod apps;
mod certificate;
mod observer;
mod stats;
pub use self::apps::{Apps, CommandKind, Registered};
pub use self::observer::TraceHandle;
use self::observer::{ConnectionSlot, Observer};

/// The port a peer listens on for ICE-TCP: HTTPS's, as deployments put a TCP candidate where
/// restrictive networks let it through.
pub const ICE_TCP_PORT: u16 = 443;

/// Virtual time a world is given past its length to end, so a stuck app is reported, not
/// waited on.
const ENDING_GRACE: Duration = Duration::from_secs(1);

/// A simulated world whose peers are apps: build it with [`Sim::builder`], add peers and a
/// timeline, then [`Sim::run_for`].
pub struct Sim {
    config: WorldConfig,
    timeline: Vec<TimedAction>,
    peers: Vec<(String, Host, App)>,
    /// Caller and callee of each call the world sets up on the relay.
    calls: Vec<(String, String)>,
}

/// A peer's app: given its context, the future that runs as its host.
type App = Box<dyn FnOnce(Context) -> AppFuture + Send>;

/// The future an app runs as.
type AppFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The world's settings before any peer joins.
pub struct SimBuilder {
    config: WorldConfig,
}

impl SimBuilder {
    /// Seeds every random choice of the world (default 1).
    pub fn seed(mut self, seed: u64) -> Self {
        self.config.seed = seed;
        self
    }

    /// The core between the access networks: a link of its own in each direction.
    pub fn core(mut self, link: LinkConfig) -> Self {
        self.config.core = link;
        self
    }

    /// How long the signaling relay takes to forward a message (default 20 ms).
    pub fn signaling_delay(mut self, delay: Duration) -> Self {
        self.config.signaling_delay = delay;
        self
    }

    /// A STUN server in the core, `stun.netsim:3478`.
    pub fn stun(mut self) -> Self {
        self.config.servers.stun = true;
        self
    }

    /// A TURN server in the core, `turn.netsim:3478`, accepting `user` with `password`.
    pub fn turn(mut self, user: &str, password: &str) -> Self {
        self.config.servers.turn = Some(Credentials {
            user: user.to_owned(),
            password: password.to_owned(),
        });
        self
    }

    /// Another TURN server in the core, `<name>.netsim:3478`, accepting `user` with
    /// `password`: a backup to move to, another region.
    pub fn extra_turn(mut self, name: &str, user: &str, password: &str) -> Self {
        let credentials = Credentials {
            user: user.to_owned(),
            password: password.to_owned(),
        };
        self.config
            .servers
            .extra_turn
            .insert(name.to_owned(), credentials);
        self
    }

    /// Charges the hosts' processing time on the virtual clock (default: none), so that
    /// seeds settle the stack's timing races differently (see [`crate::runtime::processing`]).
    pub fn processing(mut self, processing: Processing) -> Self {
        self.config.processing = processing;
        self
    }

    /// A flow of other traffic on a peer's access link: a device on the peer's network
    /// uploading or downloading (see [`crate::cross`]).
    pub fn cross_traffic(mut self, flow: CrossTraffic) -> Self {
        self.config.cross_traffic.push(flow);
        self
    }

    /// Samples each watched connection's `get_stats` every `interval` into the trace
    /// (`stack_stats` events: the stack's RTT, loss, jitter, NACK and PLI counts). Off by
    /// default: the samples are tasks of the world, which a seed's run then includes.
    pub fn stats_every(mut self, interval: Duration) -> Self {
        self.config.stats_interval = Some(interval);
        self
    }

    /// Stops a run that has not ended after this much wall-clock time (default 300 s).
    pub fn watchdog(mut self, limit: Duration) -> Self {
        self.config.watchdog = limit;
        self
    }

    pub fn build(self) -> Sim {
        Sim::new(self.config)
    }
}

impl Sim {
    pub fn builder() -> SimBuilder {
        SimBuilder {
            config: WorldConfig::new("sim"),
        }
    }

    /// A world of `config` with no peers yet (what [`Sim::builder`] builds step by step).
    pub fn new(config: WorldConfig) -> Sim {
        Sim {
            config,
            timeline: Vec::new(),
            peers: Vec::new(),
            calls: Vec::new(),
        }
    }
}

/// Where a peer sits in the network: its access link, the NAT in front of it, and the
/// servers its app may gather through.
#[derive(Debug, Clone, Default)]
pub struct Host {
    uplink: LinkConfig,
    downlink: LinkConfig,
    nat: Option<NatConfig>,
    firewall: Option<FirewallConfig>,
    ice_servers: Vec<IceServer>,
    /// The peer whose network it is on, if not one of its own.
    network_of: Option<String>,
}

impl Host {
    /// A public address on an ideal access link, with no ICE servers.
    pub fn new() -> Self {
        Host::default()
    }

    /// The access link, both ways.
    pub fn link(self, link: LinkConfig) -> Self {
        Host {
            uplink: link.clone(),
            downlink: link,
            ..self
        }
    }

    /// The access link towards the core.
    pub fn uplink(self, uplink: LinkConfig) -> Self {
        Host { uplink, ..self }
    }

    /// The access link from the core.
    pub fn downlink(self, downlink: LinkConfig) -> Self {
        Host { downlink, ..self }
    }

    /// A NAT between the host and the core.
    pub fn nat(self, nat: NatConfig) -> Self {
        Host {
            nat: Some(nat),
            ..self
        }
    }

    /// A firewall on the host's network: UDP blocked, TCP out to some ports only (see
    /// [`crate::net::firewall`]).
    pub fn firewall(self, firewall: FirewallConfig) -> Self {
        Host {
            firewall: Some(firewall),
            ..self
        }
    }

    /// On the network of the peer `owner` instead of one of its own: a second device at
    /// home or in the office, sharing the owner's access link (its queue, its rate, its
    /// outages), its NAT and its firewall's settings. It then takes no link, NAT or firewall
    /// of its own; `owner` must have its own network.
    pub fn on_network_of(self, owner: &str) -> Self {
        Host {
            network_of: Some(owner.to_owned()),
            ..self
        }
    }

    /// The world's servers the app is told about (see [`Stack::ice_servers`]).
    pub fn ice_servers(self, ice_servers: Vec<IceServer>) -> Self {
        Host { ice_servers, ..self }
    }
}

impl Sim {
    /// Adds the peer `name` at `host`, running the future `app` makes of its context.
    pub fn peer<F, Fut>(&mut self, name: &str, host: Host, app: F) -> &mut Self
    where
        F: FnOnce(Context) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let app: App = Box::new(move |context| Box::pin(app(context)));
        self.peers.push((name.to_owned(), host, app));
        self
    }

    /// Puts `caller` and `callee` in one signaling session before their apps start, as a
    /// room server would: each app's [`Stack::role`] says which end it is, and its
    /// messages go to the other. Apps that meet on their own use
    /// [`Signaling::create_session`] and [`Signaling::join`] instead.
    pub fn call(&mut self, caller: &str, callee: &str) -> &mut Self {
        self.calls.push((caller.to_owned(), callee.to_owned()));
        self
    }

    /// Something the timeline does at `at`: to the network, or asked of an app.
    pub fn at(&mut self, at: Duration, action: Action) -> &mut Self {
        self.timeline.push(TimedAction { at, action });
        self
    }

    /// Runs the world for `duration` of virtual time, on a thread of its own whose OS
    /// randomness comes from the seed; the apps' tasks end with it.
    pub fn run_for(self, duration: Duration) -> Result<Run, RunError> {
        self.run(duration, Ending::AtDuration)
    }

    /// Runs the world until every app's future has returned, and for at least `duration`
    /// (the call's length, over which the metrics are taken): for apps that hang up by
    /// themselves, so that what they do at the end (a drain, a close) is in the run. An app
    /// still running `grace` after `duration` makes the run [`RunError::Stuck`].
    pub fn run_until_apps_return(self, duration: Duration, grace: Duration) -> Result<Run, RunError> {
        self.run(duration, Ending::AppsReturn { grace })
    }

    fn run(self, duration: Duration, ending: Ending) -> Result<Run, RunError> {
        let Sim {
            mut config,
            timeline,
            peers,
            calls,
        } = self;
        config.duration = duration;
        let roles = check(&config, &timeline, &peers, &calls)?;
        // Built on the caller's thread, so it joins the caller's `capturing` scope.
        let network = Network::new(config.core.clone(), sub_seed(config.seed, 1));
        let (realtime, seed) = (config.realtime, config.seed);
        let play = move || play(&config, network, timeline, peers, &calls, &roles, ending);
        if realtime {
            return play();
        }
        entropy::run_seeded(sub_seed(seed, 3), play)
    }
}

/// How a run ends.
#[derive(Debug, Clone, Copy)]
enum Ending {
    /// At the call's end: the apps end with the world.
    AtDuration,
    /// Once every app's future has returned, and not before the call's end; an app running
    /// `grace` past it is stuck.
    AppsReturn { grace: Duration },
}

/// Refuses a world whose peers, calls or timeline do not add up; gives each peer in a call
/// its role.
fn check(
    config: &WorldConfig,
    timeline: &[TimedAction],
    peers: &[(String, Host, App)],
    calls: &[(String, String)],
) -> Result<BTreeMap<String, Role>, RunError> {
    let invalid = |message: String| RunError::Invalid {
        scenario: config.name.clone(),
        message,
    };
    let mut names = BTreeSet::new();
    for (name, ..) in peers {
        if !names.insert(name.as_str()) {
            return Err(invalid(format!("two peers are called `{name}`")));
        }
    }
    for timed in timeline {
        if let Some(peer) = timed.action.peer()
            && !names.contains(peer)
        {
            return Err(invalid(format!(
                "the timeline names `{peer}`, who is not in the world"
            )));
        }
    }
    check_cross_traffic(&config.cross_traffic, &names).map_err(invalid)?;
    check_networks(peers).map_err(invalid)?;
    let mut roles = BTreeMap::new();
    for (caller, callee) in calls {
        for (peer, role) in [(caller, Role::Caller), (callee, Role::Callee)] {
            if !names.contains(peer.as_str()) {
                return Err(invalid(format!("a call names `{peer}`, who is not in the world")));
            }
            if roles.insert(peer.clone(), role).is_some() {
                return Err(invalid(format!("`{peer}` is in two calls")));
            }
        }
    }
    Ok(roles)
}

/// Refuses a host on the network of a peer not in the world, or of one that is itself on
/// another's, or that sets a link, NAT or firewall of its own.
fn check_networks(peers: &[(String, Host, App)]) -> Result<(), String> {
    for (name, host, _) in peers {
        let Some(owner) = &host.network_of else { continue };
        match peers.iter().find(|(other, ..)| other == owner) {
            None => {
                return Err(format!(
                    "`{name}` is on the network of `{owner}`, who is not in the world"
                ));
            }
            Some((_, owner_host, _)) if owner_host.network_of.is_some() => {
                return Err(format!(
                    "`{name}` is on the network of `{owner}`, who is on another's: name that one"
                ));
            }
            Some(_) => {}
        }
        let defaults = Host::new();
        if host.uplink != defaults.uplink
            || host.downlink != defaults.downlink
            || host.nat.is_some()
            || host.firewall.is_some()
        {
            return Err(format!(
                "`{name}` is on the network of `{owner}` and uses its link, NAT and firewall: it sets none of its own"
            ));
        }
    }
    Ok(())
}

/// Refuses flows of cross traffic on a peer not in the world, named like a peer or another
/// flow, or that would send nothing.
fn check_cross_traffic(flows: &[CrossTraffic], peers: &BTreeSet<&str>) -> Result<(), String> {
    let mut names = BTreeSet::new();
    for flow in flows {
        let name = &flow.name;
        if !peers.contains(flow.peer.as_str()) {
            return Err(format!(
                "cross traffic `{name}` is on `{}`, who is not in the world",
                flow.peer
            ));
        }
        if peers.contains(name.as_str()) || !names.insert(name.as_str()) {
            return Err(format!(
                "cross traffic `{name}`: another peer or flow has that name"
            ));
        }
        let silent = match flow.kind {
            CrossKind::Constant { rate_bps } => rate_bps == 0,
            CrossKind::OnOff { rate_bps, on, .. } => rate_bps == 0 || on.is_zero(),
            CrossKind::Tcp => false,
        };
        if silent || flow.to.is_some_and(|to| to <= flow.from) {
            return Err(format!("cross traffic `{name}` would send nothing"));
        }
    }
    Ok(())
}

fn play(
    config: &WorldConfig,
    network: Network,
    timeline: Vec<TimedAction>,
    peers: Vec<(String, Host, App)>,
    calls: &[(String, String)],
    roles: &BTreeMap<String, Role>,
    ending: Ending,
) -> Result<Run, RunError> {
    let started = Instant::now();
    let world = World::start(config, network)?;
    let setup = |message: String| RunError::Setup {
        scenario: config.name.clone(),
        message,
    };
    // Peers with networks of their own first: the others join theirs.
    let mut binds = BTreeMap::new();
    for (name, host, _) in peers.iter().filter(|(_, host, _)| host.network_of.is_none()) {
        let bind = world.attach(
            name,
            host.nat.clone(),
            host.firewall.clone(),
            host.uplink.clone(),
            host.downlink.clone(),
        );
        binds.insert(name.clone(), bind);
    }
    for (name, host, _) in &peers {
        if let Some(owner) = &host.network_of {
            let firewall = peers
                .iter()
                .find(|(other, ..)| other == owner)
                .and_then(|(_, owner_host, _)| owner_host.firewall.clone());
            binds.insert(name.clone(), world.attach_on_network_of(name, owner, firewall));
        }
    }
    let mut contexts = Vec::new();
    for (name, host, app) in peers {
        let bind = binds.remove(&name).expect("every peer was attached above");
        let role = roles.get(&name).copied();
        let context = Context::new(
            &world,
            &name,
            role,
            bind,
            &host.ice_servers,
            config.seed,
            config.stats_interval,
        )
        .map_err(setup)?;
        contexts.push((name, app, context));
    }
    world.start_cross_traffic(&config.cross_traffic).map_err(setup)?;
    // Every app is on the relay before any session: the callee's mailbox must exist.
    for (caller, callee) in calls {
        let token = world.relay.create_session(caller);
        world
            .relay
            .join(&token, callee)
            .map_err(|error| setup(error.to_string()))?;
    }
    let mut apps: BTreeMap<String, Arc<dyn AppControl>> = BTreeMap::new();
    let mut returned = Vec::new();
    for (name, app, (control, context)) in contexts {
        let recorder = world.recorder.clone();
        let (runtime, peer) = (world.runtime.clone(), name.clone());
        let (done, app_returned) = oneshot::channel::<()>();
        returned.push(app_returned);
        world.runtime.spawn_on(&name, async move {
            // A panicking app is the app's defect, not the world's: it goes in the trace.
            if let Err(panic) = AssertUnwindSafe(app(context)).catch_unwind().await {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|text| text.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                recorder.record(
                    runtime.elapsed(),
                    What::Error {
                        peer,
                        message: format!("the app panicked: {message}"),
                    },
                );
            }
            let _ = done.send(());
        });
        apps.insert(name, Arc::new(control));
    }
    let duration = config.duration;
    let played = world.clone();
    let call = async move {
        played.play_timeline(timeline, &apps).await;
        let runtime = &played.runtime;
        runtime.sleep(duration.saturating_sub(runtime.elapsed())).await;
        if let Ending::AppsReturn { .. } = ending {
            futures::future::join_all(returned).await;
        }
        Ok(runtime.kernel_received_anything())
    };
    let limit = match ending {
        Ending::AtDuration => duration + ENDING_GRACE,
        Ending::AppsReturn { grace } => duration + grace,
    };
    world.finish(config, call, limit, started)
}

/// Who starts the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Caller,
    Callee,
}

/// What the timeline asks of an app. An app gets only the kinds it `takes` (a file asking
/// it for another is refused), and more kinds may come: match the ones you take.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Command {
    /// Call `restart_ice()` (and offer).
    RestartIce,
    /// Call `set_configuration()` with these ICE servers.
    SetIceServers(Vec<RTCIceServer>),
    /// Send no audio or video for this long, then go on (mute, unmute).
    PauseMedia(Duration),
    /// Hang up.
    Close,
}

/// The world's side of an app: it forwards the timeline's commands and the operating
/// system's notifications to the app's context.
struct AppHandle {
    commands: UnboundedSender<Command>,
    network: UnboundedSender<NetworkChange>,
}

#[async_trait::async_trait]
impl AppControl for AppHandle {
    async fn restart_ice(&self) {
        let _ = self.commands.unbounded_send(Command::RestartIce);
    }

    async fn set_ice_servers(&self, servers: Vec<RTCIceServer>) {
        let _ = self.commands.unbounded_send(Command::SetIceServers(servers));
    }

    async fn pause_media(&self, duration: Duration) {
        let _ = self.commands.unbounded_send(Command::PauseMedia(duration));
    }

    async fn close(&self) {
        let _ = self.commands.unbounded_send(Command::Close);
    }

    fn network_changed(&self, change: NetworkChange) {
        let _ = self.network.unbounded_send(change);
    }
}

/// What an app is handed: everything its own code needs to build its own `PeerConnection`
/// inside the world, none of which says it is simulated. The four channels are fields, so
/// that one `select!` can wait on all of them while its arms send, and so is the [`Stack`]
/// the connection is built from, which clones: an app may move the channels out and still
/// build a new connection later.
pub struct Context {
    /// The app's connection to the signaling relay: sessions, and messages out.
    pub signaling: Signaling,
    /// The messages the relay brings from the other member of the session.
    pub inbox: Inbox,
    /// What the timeline asks of the app, in order.
    pub commands: Commands,
    /// What the operating system tells the app about its network, in order.
    pub network: NetworkChanges,
    /// What the app builds its connections from.
    pub stack: Stack,
}

/// What a peer's app builds its `PeerConnection` from: the runtime, addresses, servers and
/// certificate, and the hooks that let the world see the connection. Cheap to clone.
#[derive(Clone)]
pub struct Stack {
    name: String,
    role: Option<Role>,
    runtime: crate::runtime::SimRuntime,
    bind: BindAddress,
    ice_servers: Vec<RTCIceServer>,
    certificate: RTCCertificate,
    trace: TraceHandle,
    tap: WireTap,
    /// Where the last observer made waits for its connection ([`Stack::watch`]).
    observed: Arc<Mutex<Option<ConnectionSlot>>>,
    /// How often a watched connection's `get_stats` is sampled into the trace, if at all.
    stats_interval: Option<Duration>,
}

impl Context {
    fn new(
        world: &World,
        name: &str,
        role: Option<Role>,
        bind: BindAddress,
        servers: &[IceServer],
        seed: u64,
        stats_interval: Option<Duration>,
    ) -> Result<(AppHandle, Context), String> {
        let inbox = world.relay.connect(name).map_err(|error| error.to_string())?;
        let certificate = certificate::certificate(name, sub_seed(seed, 0xce27))
            .map_err(|error| format!("a certificate for `{name}`: {error}"))?;
        let (command_sender, commands) = unbounded();
        let (network_sender, network) = unbounded();
        let handle = AppHandle {
            commands: command_sender,
            network: network_sender,
        };
        let context = Context {
            signaling: Signaling {
                relay: world.relay.clone(),
                name: name.to_owned(),
            },
            inbox: Inbox(inbox),
            commands: Commands(commands),
            network: NetworkChanges(network),
            stack: Stack {
                name: name.to_owned(),
                role,
                runtime: world.runtime.clone(),
                bind,
                ice_servers: rtc_ice_servers(servers),
                certificate,
                trace: TraceHandle {
                    runtime: world.runtime.clone(),
                    recorder: world.recorder.clone(),
                    book: world.book.clone(),
                },
                tap: world.tap.clone(),
                observed: Default::default(),
                stats_interval,
            },
        };
        Ok((handle, context))
    }
}

impl Stack {
    /// The peer's name in the world.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Which end of its call the peer is, if the world set one up for it ([`Sim::call`], or
    /// a scenario file's `role`): the caller offers, the callee answers. Its signaling is
    /// then already in the call's session.
    pub fn role(&self) -> Option<Role> {
        self.role
    }

    /// The runtime to build the connection with (`PeerConnectionBuilder::with_runtime`);
    /// its clock is the world's.
    pub fn runtime(&self) -> Arc<dyn Runtime> {
        Arc::new(self.runtime.clone())
    }

    /// The addresses to bind (`PeerConnectionBuilder::with_udp_addrs`). They follow the
    /// host when it moves: webrtc-rs resolves them again at each ICE restart's rebind.
    pub fn bind_addresses(&self) -> Vec<BindAddress> {
        vec![self.bind.clone()]
    }

    /// The addresses to listen on for ICE-TCP (`PeerConnectionBuilder::with_tcp_addrs`, with
    /// `NetworkType::Tcp4` in the setting engine): the host's address on port
    /// [`ICE_TCP_PORT`], which firewalls that let only HTTPS through allow. They follow the
    /// host as [`Stack::bind_addresses`] do.
    pub fn tcp_bind_addresses(&self) -> Vec<BindAddress> {
        vec![self.bind.on_port(ICE_TCP_PORT)]
    }

    /// The world's STUN and TURN servers the host may use, with their credentials.
    pub fn ice_servers(&self) -> Vec<RTCIceServer> {
        self.ice_servers.clone()
    }

    /// A DTLS certificate whose flights have the same size in every run of the same seed,
    /// which keeps runs on rate-limited links reproducible (see [`crate::peer`]); webrtc-rs's
    /// default one works too, at the cost of that.
    pub fn certificate(&self) -> RTCCertificate {
        self.certificate.clone()
    }

    /// `registry` with the wire tap added (`PeerConnectionBuilder::with_interceptor_registry`):
    /// the RTP the app sends and receives becomes the run's media events, and so its
    /// delivery, delay, gaps and freezes (see [`crate::tap`]).
    pub fn interceptors(&self, registry: Registry) -> Registry {
        self.tap.register(&self.name, registry)
    }

    /// Wraps the app's own event handler so that the connection's states and candidates
    /// reach the world's trace, then the app's handler sees them as always.
    pub fn observe(
        &self,
        handler: Arc<dyn PeerConnectionEventHandler>,
    ) -> Arc<dyn PeerConnectionEventHandler> {
        let observer = Observer::new(&self.name, self.trace.clone(), handler);
        *self.observed.lock().expect("observed poisoned") = Some(observer.connection_slot());
        Arc::new(observer)
    }

    /// Lets the observer [`Stack::observe`] last made read from `connection` what the
    /// connection's events do not carry, so that the trace has it for any app: the ICE
    /// credentials of each local description (and so the app's ICE restarts, see
    /// [`crate::metrics::recovery`]) and the candidate pair ICE selects; and, if the world
    /// samples stats ([`SimBuilder::stats_every`]), its `get_stats` at that interval while
    /// the app holds it. Call it with each connection you build, right after building it
    /// with that observer.
    pub fn watch(&self, connection: &Arc<dyn PeerConnection>) {
        if let Some(slot) = self.observed.lock().expect("observed poisoned").take() {
            let _ = slot.set(Arc::downgrade(connection));
        }
        if let Some(interval) = self.stats_interval {
            stats::sample(interval, connection, &self.name, &self.trace);
        }
    }

    /// The run's trace, for events of the app's own (what its telemetry would log).
    pub fn trace(&self) -> TraceHandle {
        self.trace.clone()
    }
}

/// An app's connection to the relay: a session made by the caller and joined with its
/// token, carrying opaque messages in order (the timeline's signaling delay and cuts
/// apply). Clones send as the same app.
#[derive(Clone)]
pub struct Signaling {
    relay: Relay,
    name: String,
}

impl Signaling {
    /// Opens a session; the token is what the caller shares with the callee.
    pub fn create_session(&self) -> String {
        self.relay.create_session(&self.name)
    }

    /// Joins the session `token` names.
    pub fn join(&self, token: &str) -> Result<(), SignalingError> {
        self.relay.join(token, &self.name)
    }

    /// Sends `message` to the other member of the session.
    pub fn send(&self, message: Vec<u8>) -> Result<(), SignalingError> {
        self.relay.send(&self.name, message)
    }
}

/// What the relay brings an app.
pub struct Inbox(Receiver<Vec<u8>>);

impl Inbox {
    /// The next message from the other member; `None` once the world ends.
    pub async fn recv(&mut self) -> Option<Vec<u8>> {
        self.0.recv().await
    }
}

/// The timeline's commands to an app.
pub struct Commands(UnboundedReceiver<Command>);

impl Commands {
    /// The next command; `None` once the world ends.
    pub async fn next(&mut self) -> Option<Command> {
        futures::StreamExt::next(&mut self.0).await
    }
}

/// The operating system's notifications to an app.
pub struct NetworkChanges(UnboundedReceiver<NetworkChange>);

impl NetworkChanges {
    /// The next change; `None` once the world ends.
    pub async fn next(&mut self) -> Option<NetworkChange> {
        futures::StreamExt::next(&mut self.0).await
    }
}

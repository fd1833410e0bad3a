//! A small webrtc-rs calling app that keeps a call up through network changes.
//!
//! It is written as an app would be embedded in a product: everything it needs comes in
//! through [`Config`] (the async runtime, the addresses to bind, the ICE servers, optional
//! hooks for interceptors and for observing the connection), its signaling goes over a
//! [`Transport`] the embedding supplies, and what the operating system says about the
//! network arrives as [`NetworkEvent`]s. Nothing in it knows how it is run or tested.
//!
//! | module | what it is |
//! |---|---|
//! | [`signal`] | the signaling messages, as JSON |
//! | [`media`] | Opus-sized audio and VP8-sized video, packetized by the app |
//! | `call` | the call: one task owning the connection, its negotiation and its recovery |
//!
//! The reconnection policy ([`Policy`]):
//! * a new address or a link back up (a Wi-Fi → cellular handoff) → restart ICE after a short
//!   debounce, so a burst of notifications makes one restart;
//! * ICE `disconnected` for longer than a grace period (a NAT dropped its binding, a path
//!   died without the OS noticing) → restart ICE, unless the OS says the link is down;
//! * the connection `failed`, or a restart of the app's not connected after a timeout → a
//!   new `PeerConnection` and a full offer (the caller builds it; the callee asks the caller
//!   to, and follows); while the OS says the link is down, the rebuild waits for it to come
//!   back;
//! * offers that cross (both sides restarting at once) are settled by the W3C "perfect
//!   negotiation" pattern: the callee is polite and rolls its own offer back.

use std::net::{IpAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use webrtc::peer_connection::{
    PeerConnection, PeerConnectionEventHandler, RTCCertificate, RTCIceServer, Registry,
};
use webrtc::runtime::Runtime;

mod call;
pub mod media;
pub mod signal;

pub use call::run;
pub use media::MediaConfig;

/// How the app's signaling messages reach the other party: a websocket to the app's
/// server, in production. The embedding connects it to the right party before the call.
#[async_trait::async_trait]
pub trait Transport: Send {
    /// Sends one message; a message that cannot be sent is lost (the app's own messages
    /// tolerate it: the next restart or rebuild sends everything again).
    fn send(&self, message: Vec<u8>);
    /// The next message from the other party; `None` once the transport is closed.
    async fn recv(&mut self) -> Option<Vec<u8>>;
}

/// What the operating system says about the network (Android's `ConnectivityManager`,
/// iOS's `NWPathMonitor`), as the embedding forwards it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkEvent {
    /// The interface with this address is gone.
    AddressGone(IpAddr),
    /// A new interface is up with this address.
    AddressUp(IpAddr),
    /// No connectivity (the address stays).
    LinkDown,
    /// Connectivity is back.
    LinkUp,
}

/// What the rest of the product asks of the call.
#[derive(Debug, Clone, PartialEq)]
pub enum Control {
    /// New ICE servers (fresh TURN credentials, another TURN server): used from a restart
    /// the app makes at once.
    SetIceServers(Vec<RTCIceServer>),
    /// Hang up.
    HangUp,
}

/// Which end of the call the app is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Makes the first offer, and every new connection; impolite when offers cross.
    Caller,
    /// Answers; polite when offers cross.
    Callee,
}

/// When the app reacts, and how far it goes.
#[derive(Debug, Clone)]
pub struct Policy {
    /// From a network notification to the ICE restart it causes.
    pub debounce: Duration,
    /// How long ICE may stay `disconnected` before the app restarts it.
    pub disconnected_grace: Duration,
    /// How long a restart of the app's may take to reconnect before the app treats the
    /// connection as failed.
    pub restart_timeout: Duration,
    /// New connections the app builds at most in a call.
    pub max_rebuilds: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            debounce: Duration::from_millis(300),
            disconnected_grace: Duration::from_secs(2),
            restart_timeout: Duration::from_secs(10),
            max_rebuilds: 5,
        }
    }
}

/// Wraps the app's connection event handler (to observe it, say); the wrapper must pass
/// every event on.
pub type HandlerWrapper =
    Arc<dyn Fn(Arc<dyn PeerConnectionEventHandler>) -> Arc<dyn PeerConnectionEventHandler> + Send + Sync>;

/// Called with each connection the app builds, before it is used (to watch it, say).
pub type ConnectionHook = Arc<dyn Fn(&Arc<dyn PeerConnection>) + Send + Sync>;

/// Gives the interceptor registry a new connection starts from (the app adds webrtc-rs's
/// default interceptors to it).
pub type RegistryFactory = Arc<dyn Fn() -> Registry + Send + Sync>;

/// What the app reports about itself, for the product's telemetry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppEvent {
    /// The connection of this generation reached `connected`.
    Connected { generation: u32 },
    /// The app called `restart_ice()` and sent an offer.
    RestartIce { reason: String },
    /// The app built a new connection (generation `generation`).
    Rebuild { generation: u32, reason: String },
    /// Offers crossed; the polite app rolled its own back.
    Rollback,
    /// Offers crossed; the impolite app ignored the other's.
    IgnoreOffer,
    /// Something went wrong that the app carried on from.
    Error(String),
}

/// Everything the app is given.
pub struct Config<A> {
    pub role: Role,
    /// The runtime the connection runs on, and the app's own tasks and timers.
    ///
    /// The app sleeps with `runtime.sleep` rather than `tokio::time::sleep`: a runtime the
    /// embedding hands over (a simulated clock in tests) then governs its timers too.
    /// (Once tokio itself can run on such a clock, tokio's timers would do.)
    pub runtime: Arc<dyn Runtime>,
    /// The local addresses to bind (`0.0.0.0:0` in production), resolved again at every
    /// ICE restart.
    pub bind_addresses: Vec<A>,
    pub ice_servers: Vec<RTCIceServer>,
    /// The DTLS certificate; none lets webrtc-rs make one.
    pub certificates: Vec<RTCCertificate>,
    pub interceptors: Option<RegistryFactory>,
    pub wrap_handler: Option<HandlerWrapper>,
    pub on_connection: Option<ConnectionHook>,
    pub telemetry: Option<Arc<dyn Fn(AppEvent) + Send + Sync>>,
    pub policy: Policy,
    pub media: MediaConfig,
}

impl<A: ToSocketAddrs> Config<A> {
    /// A call as `role` on `runtime`, binding `bind_addresses`, with the default policy and
    /// media and no ICE servers or hooks.
    pub fn new(role: Role, runtime: Arc<dyn Runtime>, bind_addresses: Vec<A>) -> Self {
        Config {
            role,
            runtime,
            bind_addresses,
            ice_servers: Vec::new(),
            certificates: Vec::new(),
            interceptors: None,
            wrap_handler: None,
            on_connection: None,
            telemetry: None,
            policy: Policy::default(),
            media: MediaConfig::default(),
        }
    }
}

//! A scenario: who calls whom over what network, for how long. Built in code here; scenario
//! files are parsed into the same type.

mod apps;
pub mod expect;
pub mod file;

use std::collections::BTreeMap;
use std::time::Duration;

use crate::net::{LinkConfig, NatConfig};
use crate::peer::{AppPolicy, MediaPlan, RestartPolicy, Role};
pub use crate::runtime::processing::Processing;
use crate::sim::Apps;
use crate::timeline::{Action, TimedAction};
use crate::trace::MediaKind;
use crate::world::{self, Run, RunError};

/// One call to simulate.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    /// Seeds every random choice the harness makes; same seed, same run.
    pub seed: u64,
    /// Virtual length of the call.
    pub duration: Duration,
    /// The internet between the access networks.
    pub core: LinkConfig,
    /// How long the signaling relay takes to forward a message.
    pub signaling_delay: Duration,
    /// The STUN and TURN servers in the core.
    pub servers: Servers,
    pub peers: Vec<PeerSpec>,
    /// What changes while the call runs.
    pub timeline: Vec<TimedAction>,
    /// Wall-clock time after which a run that has not ended is stopped as stuck.
    pub watchdog: Duration,
    /// Run on tokio and the wall clock instead of the virtual clock (a cross-check: the
    /// call then takes its real duration).
    pub realtime: bool,
    /// Whether the virtual clock charges the hosts' processing time (see
    /// [`crate::runtime::processing`]); ignored on the wall clock, where it is real.
    pub processing: Processing,
}

/// Servers the world runs in its core, each on a host of its own. Peers find them as
/// `stun.netsim:3478`, `turn.netsim:3478` and `<name>.netsim:3478` for the extra TURN
/// servers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Servers {
    pub stun: bool,
    /// The TURN server `turn`, accepting this user.
    pub turn: Option<Credentials>,
    /// More TURN servers by name (not `stun` or `turn`), each accepting its user: a backup
    /// to move to, another region.
    pub extra_turn: BTreeMap<String, Credentials>,
}

impl Servers {
    /// Whether a TURN server called `name` (`turn`, or one of the extra ones) is declared.
    pub fn has_turn(&self, name: &str) -> bool {
        if name == TURN {
            self.turn.is_some()
        } else {
            self.extra_turn.contains_key(name)
        }
    }
}

/// The name of the TURN server declared as `turn`.
pub const TURN: &str = "turn";

/// A TURN user name and password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub user: String,
    pub password: String,
}

/// An ICE server a peer is configured with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IceServer {
    Stun,
    /// The TURN server `turn`, with the credentials this peer presents (which may be wrong).
    Turn(Credentials),
    /// One of the extra TURN servers, by name, with the credentials this peer presents.
    ExtraTurn {
        server: String,
        credentials: Credentials,
    },
}

impl IceServer {
    /// The name of the TURN server it is, if it is one.
    pub fn turn_server(&self) -> Option<&str> {
        match self {
            IceServer::Stun => None,
            IceServer::Turn(_) => Some(TURN),
            IceServer::ExtraTurn { server, .. } => Some(server),
        }
    }
}

/// `stun`, or a TURN server's name and the user it presents: `turn-backup as qa`.
impl std::fmt::Display for IceServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IceServer::Stun => f.write_str("stun"),
            IceServer::Turn(credentials) | IceServer::ExtraTurn { credentials, .. } => {
                let name = self.turn_server().unwrap_or(TURN);
                write!(f, "{name} as {}", credentials.user)
            }
        }
    }
}

/// One peer and its access network.
#[derive(Debug, Clone)]
pub struct PeerSpec {
    pub name: String,
    pub role: Role,
    /// The registered app it runs (see [`Scenario::run_with`]); `None` for the built-in one.
    pub app: Option<String>,
    pub media: MediaPlan,
    /// Towards the core.
    pub uplink: LinkConfig,
    /// From the core.
    pub downlink: LinkConfig,
    /// The NAT between its access link and the core, if any.
    pub nat: Option<NatConfig>,
    pub ice_servers: Vec<IceServer>,
    /// `ice_transport_policy = relay`: gather and use relay candidates only.
    pub relay_only: bool,
    /// What its app does when ICE goes bad.
    pub policy: AppPolicy,
}

impl Scenario {
    /// A 10 s call with no peers yet, seed 1, an ideal core and a 20 ms relay.
    pub fn new(name: &str) -> Self {
        Scenario {
            name: name.to_owned(),
            seed: 1,
            duration: Duration::from_secs(10),
            core: LinkConfig::default(),
            signaling_delay: Duration::from_millis(20),
            servers: Servers::default(),
            peers: Vec::new(),
            timeline: Vec::new(),
            watchdog: Duration::from_secs(300),
            realtime: false,
            processing: Processing::None,
        }
    }

    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    pub fn duration(mut self, duration: Duration) -> Self {
        self.duration = duration;
        self
    }

    pub fn core(mut self, core: LinkConfig) -> Self {
        self.core = core;
        self
    }

    pub fn signaling_delay(mut self, delay: Duration) -> Self {
        self.signaling_delay = delay;
        self
    }

    pub fn servers(mut self, servers: Servers) -> Self {
        self.servers = servers;
        self
    }

    /// Stops the run as stuck after this much wall-clock time.
    pub fn watchdog(mut self, limit: Duration) -> Self {
        self.watchdog = limit;
        self
    }

    /// Runs on tokio and the wall clock (see [`crate::runtime::SimRuntime::realtime`]).
    pub fn realtime(mut self) -> Self {
        self.realtime = true;
        self
    }

    /// Charges processing time on the virtual clock as `processing` says: with
    /// [`Processing::Measured`], seeds settle the stack's timing races differently.
    pub fn processing(mut self, processing: Processing) -> Self {
        self.processing = processing;
        self
    }

    /// Adds `action` to the timeline at virtual time `at`.
    pub fn at(mut self, at: Duration, action: Action) -> Self {
        self.timeline.push(TimedAction { at, action });
        self
    }

    pub fn peer(mut self, peer: PeerSpec) -> Self {
        self.peers.push(peer);
        self
    }

    /// Simulates the call of the built-in app on a fresh world and returns its trace and
    /// metrics.
    pub fn run(&self) -> Result<Run, RunError> {
        world::run(self)
    }

    /// Simulates the call as [`Scenario::run`] does, its peers running the apps of `apps`
    /// their `app` names, or all the built-in one.
    pub fn run_with(&self, apps: &Apps) -> Result<Run, RunError> {
        if self.peers.iter().all(|peer| peer.app.is_none()) {
            return self.run();
        }
        apps::sim(self, apps)?.run_for(self.duration)
    }
}

impl PeerSpec {
    /// A peer sending audio, video and data over an ideal access link.
    pub fn new(name: &str, role: Role) -> Self {
        PeerSpec {
            name: name.to_owned(),
            role,
            app: None,
            media: MediaPlan::default(),
            uplink: LinkConfig::default(),
            downlink: LinkConfig::default(),
            nat: None,
            ice_servers: Vec::new(),
            relay_only: false,
            policy: AppPolicy::default(),
        }
    }

    pub fn caller(name: &str) -> Self {
        Self::new(name, Role::Caller)
    }

    pub fn callee(name: &str) -> Self {
        Self::new(name, Role::Callee)
    }

    /// What it sends.
    pub fn media(mut self, kinds: &[MediaKind]) -> Self {
        self.media.kinds = kinds.to_vec();
        self
    }

    /// Puts it behind a NAT.
    pub fn nat(mut self, nat: NatConfig) -> Self {
        self.nat = Some(nat);
        self
    }

    pub fn ice_servers(mut self, servers: Vec<IceServer>) -> Self {
        self.ice_servers = servers;
        self
    }

    /// Restarts ICE when ICE reports `failed`.
    pub fn on_failed(mut self, restart: RestartPolicy) -> Self {
        self.policy.on_failed = Some(restart);
        self
    }

    /// Restarts ICE when ICE reports `disconnected` (and still is after the delay).
    pub fn on_disconnected(mut self, restart: RestartPolicy) -> Self {
        self.policy.on_disconnected = Some(restart);
        self
    }

    /// Runs the app registered as `name` instead of the built-in one.
    pub fn app(mut self, name: &str) -> Self {
        self.app = Some(name.to_owned());
        self
    }

    /// Uses relay candidates only (`ice_transport_policy = relay`).
    pub fn relay_only(mut self) -> Self {
        self.relay_only = true;
        self
    }

    /// The same settings for both directions of its access link.
    pub fn link(mut self, link: LinkConfig) -> Self {
        self.uplink = link.clone();
        self.downlink = link;
        self
    }
}

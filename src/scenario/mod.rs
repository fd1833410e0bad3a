//! A scenario: who calls whom over what network, for how long. Built in code here; scenario
//! files are parsed into the same type.

pub mod expect;
pub mod file;
mod play;
mod seeds;

use std::time::Duration;

pub use self::seeds::Seeds;
use crate::cross::CrossTraffic;
use crate::net::{FirewallConfig, LinkConfig, NatConfig};
pub use crate::peer::CongestionControl;
use crate::peer::{AppPolicy, MediaPlan, RestartPolicy};
pub use crate::runtime::processing::Processing;
pub use crate::servers::{Credentials, IceServer, Servers, TURN};
use crate::sim::{Apps, Role};
use crate::timeline::{Action, TimedAction};
use crate::trace::MediaKind;
use crate::world::{Run, RunError, WorldConfig};

/// One call to simulate: the world around it, its peers, what happens while it runs.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The name, seed, length, core, relay, servers and watchdog of its world.
    pub world: WorldConfig,
    pub peers: Vec<PeerSpec>,
    /// What changes while the call runs.
    pub timeline: Vec<TimedAction>,
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
    /// ICE over TCP too (the built-in app): TCP candidates beside the UDP ones.
    pub ice_tcp: bool,
    /// The firewall of its network, if it has one.
    pub firewall: Option<FirewallConfig>,
    /// What its app does when ICE goes bad.
    pub policy: AppPolicy,
    /// A caller's callee; needed when the scenario has more than one callee.
    pub calls: Option<String>,
    /// The peer whose network it is on, sharing that peer's access link, NAT and firewall
    /// (see [`crate::sim::Host::on_network_of`]); its own link, NAT and firewall are unused.
    pub network_of: Option<String>,
}

/// Why a scenario's peers do not pair up into calls.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallsError {
    #[error("no caller: a call has a peer with role = \"caller\" and one with role = \"callee\"")]
    NoCaller,
    #[error("no callee: a call has a peer with role = \"caller\" and one with role = \"callee\"")]
    NoCallee,
    #[error("`{peer}` is a callee; only a caller names whom it `calls`")]
    CalleeCalls { peer: String },
    #[error("`{caller}` calls `{named}`, who is not a callee")]
    NotACallee { caller: String, named: String },
    #[error("with more than one callee, the caller `{caller}` names whom it `calls`")]
    WhomToCall { caller: String },
    #[error("`{callee}` is already called by `{first}`; a callee is in one call")]
    CalledTwice {
        callee: String,
        first: String,
        second: String,
    },
    #[error("nobody calls `{callee}`: give a caller `calls = \"{callee}\"`")]
    Uncalled { callee: String },
}

impl Scenario {
    /// A call with no peers yet, in the world [`WorldConfig::new`] describes: 10 s, seed
    /// 1, an ideal core and a 20 ms relay.
    pub fn new(name: &str) -> Self {
        Scenario {
            world: WorldConfig::new(name),
            peers: Vec::new(),
            timeline: Vec::new(),
        }
    }

    pub fn seed(mut self, seed: u64) -> Self {
        self.world.seed = seed;
        self
    }

    pub fn duration(mut self, duration: Duration) -> Self {
        self.world.duration = duration;
        self
    }

    pub fn core(mut self, core: LinkConfig) -> Self {
        self.world.core = core;
        self
    }

    pub fn signaling_delay(mut self, delay: Duration) -> Self {
        self.world.signaling_delay = delay;
        self
    }

    pub fn servers(mut self, servers: Servers) -> Self {
        self.world.servers = servers;
        self
    }

    /// Stops the run as stuck after this much wall-clock time.
    pub fn watchdog(mut self, limit: Duration) -> Self {
        self.world.watchdog = limit;
        self
    }

    /// Runs on tokio and the wall clock (see [`crate::runtime::SimRuntime::realtime`]).
    pub fn realtime(mut self) -> Self {
        self.world.realtime = true;
        self
    }

    /// Charges processing time on the virtual clock as `processing` says: with
    /// [`Processing::Measured`], seeds settle the stack's timing races differently.
    pub fn processing(mut self, processing: Processing) -> Self {
        self.world.processing = processing;
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

    /// Samples each peer's `get_stats` every `interval` into the trace (`stack_stats`).
    pub fn stats_every(mut self, interval: Duration) -> Self {
        self.world.stats_interval = Some(interval);
        self
    }

    /// A flow of other traffic on a peer's access link (see [`crate::cross`]).
    pub fn cross_traffic(mut self, flow: CrossTraffic) -> Self {
        self.world.cross_traffic.push(flow);
        self
    }

    /// Its calls, `(caller, callee)` in the peers' order: with one caller and one callee,
    /// theirs; otherwise each caller's `calls`, each callee in exactly one.
    pub fn calls(&self) -> Result<Vec<(&PeerSpec, &PeerSpec)>, CallsError> {
        let with_role = |role: Role| self.peers.iter().filter(move |peer| peer.role == role);
        let (callers, callees): (Vec<_>, Vec<_>) = (
            with_role(Role::Caller).collect(),
            with_role(Role::Callee).collect(),
        );
        if callers.is_empty() {
            return Err(CallsError::NoCaller);
        }
        if callees.is_empty() {
            return Err(CallsError::NoCallee);
        }
        if let Some(callee) = callees.iter().find(|callee| callee.calls.is_some()) {
            return Err(CallsError::CalleeCalls {
                peer: callee.name.clone(),
            });
        }
        let mut calls: Vec<(&PeerSpec, &PeerSpec)> = Vec::new();
        for caller in &callers {
            let callee = match (&caller.calls, callees.as_slice()) {
                (None, [only]) => *only,
                (None, _) => {
                    return Err(CallsError::WhomToCall {
                        caller: caller.name.clone(),
                    });
                }
                (Some(named), _) => {
                    *callees
                        .iter()
                        .find(|callee| callee.name == *named)
                        .ok_or_else(|| CallsError::NotACallee {
                            caller: caller.name.clone(),
                            named: named.clone(),
                        })?
                }
            };
            if let Some((first, _)) = calls.iter().find(|(_, other)| other.name == callee.name) {
                return Err(CallsError::CalledTwice {
                    callee: callee.name.clone(),
                    first: first.name.clone(),
                    second: caller.name.clone(),
                });
            }
            calls.push((caller, callee));
        }
        if let Some(callee) = callees
            .iter()
            .find(|callee| !calls.iter().any(|(_, c)| c.name == callee.name))
        {
            return Err(CallsError::Uncalled {
                callee: callee.name.clone(),
            });
        }
        Ok(calls)
    }

    /// Simulates the call of the built-in app on a fresh world and returns its trace and
    /// metrics.
    pub fn run(&self) -> Result<Run, RunError> {
        play::run(self, &Apps::new())
    }

    /// Simulates the call as [`Scenario::run`] does, each peer running the app of `apps`
    /// its `app` names, or the built-in one.
    pub fn run_with(&self, apps: &Apps) -> Result<Run, RunError> {
        play::run(self, apps)
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
            ice_tcp: false,
            firewall: None,
            policy: AppPolicy::default(),
            calls: None,
            network_of: None,
        }
    }

    /// Whom a caller calls: needed when the scenario has more than one callee.
    pub fn calls(mut self, callee: &str) -> Self {
        self.calls = Some(callee.to_owned());
        self
    }

    /// On the network of `owner`: sharing its access link, NAT and firewall.
    pub fn on_network_of(mut self, owner: &str) -> Self {
        self.network_of = Some(owner.to_owned());
        self
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

    /// Turns on webrtc-rs's GCC with TWCC feedback: its video follows the target (see
    /// [`CongestionControl`]). Off by default.
    pub fn congestion_control(mut self, control: CongestionControl) -> Self {
        self.media.congestion_control = Some(control);
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

    /// Gathers TCP candidates too, and may connect over TCP (RFC 6544).
    pub fn ice_tcp(mut self) -> Self {
        self.ice_tcp = true;
        self
    }

    /// Puts a firewall on its network (see [`crate::net::firewall`]).
    pub fn firewall(mut self, firewall: FirewallConfig) -> Self {
        self.firewall = Some(firewall);
        self
    }

    /// The same settings for both directions of its access link.
    pub fn link(mut self, link: LinkConfig) -> Self {
        self.uplink = link.clone();
        self.downlink = link;
        self
    }
}

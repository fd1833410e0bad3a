//! A scenario: who calls whom over what network, for how long. Built in code here; scenario
//! files are parsed into the same type.

use std::time::Duration;

use crate::net::LinkConfig;
use crate::peer::{MediaPlan, Role};
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
    pub peers: Vec<PeerSpec>,
}

/// One peer and its access network.
#[derive(Debug, Clone)]
pub struct PeerSpec {
    pub name: String,
    pub role: Role,
    pub media: MediaPlan,
    /// Towards the core.
    pub uplink: LinkConfig,
    /// From the core.
    pub downlink: LinkConfig,
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
            peers: Vec::new(),
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

    pub fn peer(mut self, peer: PeerSpec) -> Self {
        self.peers.push(peer);
        self
    }

    /// Simulates the call on a fresh world and returns its trace and metrics.
    pub fn run(&self) -> Result<Run, RunError> {
        world::run(self)
    }
}

impl PeerSpec {
    /// A peer sending audio, video and data over an ideal access link.
    pub fn new(name: &str, role: Role) -> Self {
        PeerSpec {
            name: name.to_owned(),
            role,
            media: MediaPlan::default(),
            uplink: LinkConfig::default(),
            downlink: LinkConfig::default(),
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

    /// The same settings for both directions of its access link.
    pub fn link(mut self, link: LinkConfig) -> Self {
        self.uplink = link.clone();
        self.downlink = link;
        self
    }
}

//! The timeline: what changes while a call runs — the network under a peer (congestion, an
//! outage, a move to another network, a NAT reboot), a server going down, the signaling
//! relay, and what the app does (new ICE servers, an ICE restart, hanging up). The world plays it.

use std::time::Duration;

use crate::net::{FirewallConfig, LinkConfig, Loss, NatConfig, QueueLimit};
use crate::servers::IceServer;

/// An action at a virtual time.
#[derive(Debug, Clone, PartialEq)]
pub struct TimedAction {
    pub at: Duration,
    pub action: Action,
}

/// Which direction of an access link a change applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Both,
    Up,
    Down,
}

/// Changes some settings of a link and keeps the others.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LinkChange {
    pub delay: Option<Duration>,
    pub jitter: Option<Duration>,
    pub reorder: Option<bool>,
    pub loss: Option<Loss>,
    /// `Some(None)` lifts the rate limit.
    pub rate_bps: Option<Option<u64>>,
    /// `Some(Some(trace))` puts a recorded link (Mahimahi trace) in place of the rate,
    /// starting over unless it equals the current trace; `Some(None)` removes it.
    pub trace: Option<Option<crate::net::DeliveryTrace>>,
    pub queue: Option<QueueLimit>,
    pub duplicate: Option<f64>,
    pub mtu: Option<usize>,
}

impl LinkChange {
    /// `config` with this change applied.
    pub fn apply(&self, config: &LinkConfig) -> LinkConfig {
        LinkConfig {
            delay: self.delay.unwrap_or(config.delay),
            jitter: self.jitter.unwrap_or(config.jitter),
            reorder: self.reorder.unwrap_or(config.reorder),
            loss: self.loss.clone().unwrap_or_else(|| config.loss.clone()),
            rate_bps: self.rate_bps.unwrap_or(config.rate_bps),
            trace: self.trace.clone().unwrap_or_else(|| config.trace.clone()),
            queue: self.queue.unwrap_or(config.queue),
            duplicate: self.duplicate.unwrap_or(config.duplicate),
            mtu: self.mtu.unwrap_or(config.mtu),
            up: config.up,
        }
    }
}

/// What the signaling relay does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalingChange {
    /// Messages wait until restored.
    Cut,
    Restore,
    /// Forwarding takes this long from now on.
    Delay(Duration),
}

/// One thing that happens during a call.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Some settings of a peer's access link change (congestion, a loss burst...).
    Link {
        peer: String,
        direction: Direction,
        change: LinkChange,
    },
    /// A peer's access link goes down for `duration`, then comes back as it was.
    Outage {
        peer: String,
        duration: Duration,
    },
    /// The host of a server of the core (`stun`, `turn`, an extra TURN server) loses its
    /// link for `duration`, then gets it back; what it held (allocations) it keeps.
    ServerOutage {
        server: String,
        duration: Duration,
    },
    /// The peer's interface moves to a new address (Wi-Fi to cellular): behind `nat` (or
    /// none), over `link` (or the same link settings). The old address is gone at once.
    ChangeAddress {
        peer: String,
        nat: Option<NatConfig>,
        link: Option<LinkConfig>,
    },
    /// The NAT in front of a peer drops every binding (a reboot, a timeout).
    NatReset {
        peer: String,
    },
    /// The NAT in front of a peer changes behaviour.
    Nat {
        peer: String,
        config: NatConfig,
    },
    /// The firewall of a peer's network changes (`None`: it goes): UDP blocked mid-call.
    Firewall {
        peer: String,
        config: Option<FirewallConfig>,
    },
    Signaling(SignalingChange),
    /// The app calls `set_configuration()` with these ICE servers (before a restart).
    SetIceServers {
        peer: String,
        servers: Vec<IceServer>,
    },
    /// The app calls `restart_ice()` and sends a new offer.
    RestartIce {
        peer: String,
    },
    /// The app stops sending audio and video for `duration` (a muted camera and
    /// microphone), then goes on; its connection and data channel stay as they are.
    PauseMedia {
        peer: String,
        duration: Duration,
    },
    /// The app hangs up.
    Close {
        peer: String,
    },
}

impl Action {
    /// The action's name, as expectations (`after = "outage"`) and the trace use it. A
    /// server's outage has a name of its own: a call can recover during it, not during a
    /// peer's.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Link { .. } => "link",
            Action::Outage { .. } => "outage",
            Action::ServerOutage { .. } => "server_outage",
            Action::ChangeAddress { .. } => "change_address",
            Action::NatReset { .. } => "nat_reset",
            Action::Firewall { .. } => "firewall",
            Action::Nat { .. } => "nat",
            Action::Signaling(_) => "signaling",
            Action::SetIceServers { .. } => "set_ice_servers",
            Action::RestartIce { .. } => "restart_ice",
            Action::PauseMedia { .. } => "pause_media",
            Action::Close { .. } => "close",
        }
    }

    /// The peer it concerns, if any.
    pub fn peer(&self) -> Option<&str> {
        match self {
            Action::Link { peer, .. }
            | Action::Outage { peer, .. }
            | Action::ChangeAddress { peer, .. }
            | Action::NatReset { peer }
            | Action::Nat { peer, .. }
            | Action::Firewall { peer, .. }
            | Action::SetIceServers { peer, .. }
            | Action::RestartIce { peer }
            | Action::PauseMedia { peer, .. }
            | Action::Close { peer } => Some(peer),
            Action::Signaling(_) | Action::ServerOutage { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_change_keeps_what_it_does_not_name() {
        let before = LinkConfig {
            delay: Duration::from_millis(20),
            rate_bps: Some(1_000_000),
            ..LinkConfig::default()
        };
        let change = LinkChange {
            loss: Some(Loss::Random(0.08)),
            rate_bps: Some(Some(400_000)),
            ..LinkChange::default()
        };
        let after = change.apply(&before);
        assert_eq!(after.delay, Duration::from_millis(20));
        assert_eq!(after.loss, Loss::Random(0.08));
        assert_eq!(after.rate_bps, Some(400_000));
        let lifted = LinkChange {
            rate_bps: Some(None),
            ..LinkChange::default()
        }
        .apply(&after);
        assert_eq!(lifted.rate_bps, None);
    }
}

//! The simulated network: plain synchronous Rust, no async and no clock of its own.

pub mod firewall;
pub mod link;
pub mod link_usage;
pub mod mahimahi;
pub mod nat;
pub mod network;
pub mod queue_delay;
pub mod stun;
pub mod tcp;
pub mod turn;

pub use firewall::{Firewall, FirewallConfig, FirewallDrop};
pub use link::{DropReason, Link, LinkConfig, LinkRecord, Loss, QueueLimit, Verdict, Verdicts};
pub use link_usage::{Capacity, LinkUsage, Usage};
pub use mahimahi::{DeliveryTrace, TraceError};
pub use nat::{Filtering, Mapping, Nat, NatConfig, NatDrop, PortAssignment};
pub use network::{
    Counters, Datagram, Drop, Hop, Network, Reply, Server, ServerNote, Transport, Undelivered, sub_seed,
};
pub use queue_delay::{QueueDelay, QueueDelays};
pub use stun::StunServer;
pub use turn::{TURN_PORT, TurnServer};

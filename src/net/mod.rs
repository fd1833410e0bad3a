//! The simulated network: plain synchronous Rust, no async and no clock of its own.

pub mod link;
pub mod network;

pub use link::{DropReason, Link, LinkConfig, Loss, QueueLimit, Verdict};
pub use network::{Counters, Datagram, Drop, Hop, Network, Undelivered, sub_seed};

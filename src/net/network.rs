//! Hosts, their access links and the core between them: where every datagram goes, when it
//! arrives, and why it was dropped.
//!
//! A datagram hops `sender's uplink → core → receiver's downlink`, and each hop is processed
//! at the virtual time the datagram reaches it, so queues see packets in true arrival order
//! even when they come from links of different delays. The runtime asks for
//! [`Network::next_event`] and hands time in through [`Network::advance`].

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use serde::Serialize;

use super::link::{DropReason, Link, LinkConfig, Verdict};

/// One UDP datagram on the simulated wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram {
    pub from: SocketAddr,
    pub to: SocketAddr,
    pub payload: Vec<u8>,
}

/// Where in the network a drop happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Hop {
    Uplink(String),
    Core,
    Downlink(String),
}

/// Why the network did not deliver a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Undelivered {
    /// A link dropped it (loss, queue, MTU, outage).
    Link(DropReason),
    /// No interface owns the destination address.
    NoRoute,
    /// The destination interface exists but no socket is bound to the port.
    PortUnreachable,
}

/// A datagram the network dropped, with where and why: the trace's network evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Drop {
    pub at: Duration,
    pub from: SocketAddr,
    pub to: SocketAddr,
    pub size: usize,
    pub hop: Option<Hop>,
    pub reason: Undelivered,
}

/// Packet accounting: every datagram sent is delivered or dropped with a reason, and
/// `sent + duplicated = delivered + dropped + in_flight` at every instant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    pub sent: u64,
    /// Extra copies links made.
    pub duplicated: u64,
    pub delivered: u64,
    pub dropped: u64,
    /// Between hops right now.
    pub in_flight: u64,
}

impl Counters {
    /// Whether every datagram is accounted for.
    pub fn balanced(&self) -> bool {
        self.sent + self.duplicated == self.delivered + self.dropped + self.in_flight
    }
}

/// A network interface of a simulated host: its address and its access link.
#[derive(Debug)]
struct Interface {
    host: String,
    uplink: Link,
    downlink: Link,
}

#[derive(Debug, Clone, Copy)]
enum Next {
    Core,
    Downlink,
    Arrive,
}

#[derive(Debug)]
struct InFlight {
    datagram: Datagram,
    next: Next,
}

/// The whole simulated network of one world.
#[derive(Debug)]
pub struct Network {
    interfaces: BTreeMap<IpAddr, Interface>,
    core: Link,
    /// Datagrams between hops, ordered by `(time they reach the next hop, sequence)`.
    in_flight: BTreeMap<(Duration, u64), InFlight>,
    next_sequence: u64,
    counters: Counters,
    drops: Vec<Drop>,
    seed: u64,
}

impl Network {
    /// An empty network whose core has `core` settings. `seed` seeds every link's randomness.
    pub fn new(core: LinkConfig, seed: u64) -> Self {
        Network {
            interfaces: BTreeMap::new(),
            core: Link::new(core, sub_seed(seed, u64::MAX)),
            in_flight: BTreeMap::new(),
            next_sequence: 0,
            counters: Counters::default(),
            drops: Vec::new(),
            seed,
        }
    }

    /// Adds an interface at `ip` for `host`, reaching the core through `uplink`/`downlink`.
    pub fn add_interface(&mut self, host: &str, ip: IpAddr, uplink: LinkConfig, downlink: LinkConfig) {
        let index = self.interfaces.len() as u64;
        self.interfaces.insert(
            ip,
            Interface {
                host: host.to_owned(),
                uplink: Link::new(uplink, sub_seed(self.seed, 2 * index)),
                downlink: Link::new(downlink, sub_seed(self.seed, 2 * index + 1)),
            },
        );
    }

    /// Changes an interface's access link from now on (congestion, loss burst, outage).
    /// Returns false if no interface has that address.
    pub fn set_access_link(&mut self, ip: IpAddr, uplink: LinkConfig, downlink: LinkConfig) -> bool {
        let Some(interface) = self.interfaces.get_mut(&ip) else {
            return false;
        };
        interface.uplink.set_config(uplink);
        interface.downlink.set_config(downlink);
        true
    }

    /// Whether some interface owns `ip`.
    pub fn has_interface(&self, ip: IpAddr) -> bool {
        self.interfaces.contains_key(&ip)
    }

    /// A datagram leaves a socket at `now`.
    pub fn send(&mut self, now: Duration, datagram: Datagram) {
        self.counters.sent += 1;
        let Some(interface) = self.interfaces.get_mut(&datagram.from.ip()) else {
            self.drop(now, &datagram, None, Undelivered::NoRoute);
            return;
        };
        let hop = Hop::Uplink(interface.host.clone());
        let verdicts = interface.uplink.transmit(now, datagram.payload.len());
        self.schedule(now, datagram, verdicts, hop, Next::Core);
    }

    /// When the next datagram reaches its next hop, if any is in flight.
    pub fn next_event(&self) -> Option<Duration> {
        self.in_flight.keys().next().map(|(at, _)| *at)
    }

    /// Moves every datagram due by `now` through its hops; returns the ones that reached
    /// their destination interface, in arrival order, with their arrival time.
    pub fn advance(&mut self, now: Duration) -> Vec<(Duration, Datagram)> {
        let mut arrived = Vec::new();
        while let Some(entry) = self.in_flight.first_entry() {
            let at = entry.key().0;
            if at > now {
                break;
            }
            let InFlight { datagram, next } = entry.remove();
            match next {
                Next::Core => {
                    let verdicts = self.core.transmit(at, datagram.payload.len());
                    self.schedule(at, datagram, verdicts, Hop::Core, Next::Downlink);
                }
                Next::Downlink => match self.interfaces.get_mut(&datagram.to.ip()) {
                    None => self.drop(at, &datagram, None, Undelivered::NoRoute),
                    Some(interface) => {
                        let hop = Hop::Downlink(interface.host.clone());
                        let verdicts = interface.downlink.transmit(at, datagram.payload.len());
                        self.schedule(at, datagram, verdicts, hop, Next::Arrive);
                    }
                },
                Next::Arrive => {
                    self.counters.delivered += 1;
                    arrived.push((at, datagram));
                }
            }
        }
        arrived
    }

    /// Records that a datagram reached its interface but found no socket on its port.
    pub fn port_unreachable(&mut self, at: Duration, datagram: &Datagram) {
        self.counters.delivered -= 1;
        self.drop(at, datagram, None, Undelivered::PortUnreachable);
    }

    /// The packet accounting so far.
    pub fn counters(&self) -> Counters {
        Counters {
            in_flight: self.in_flight.len() as u64,
            ..self.counters.clone()
        }
    }

    /// Takes the drops recorded since the last call.
    pub fn take_drops(&mut self) -> Vec<Drop> {
        std::mem::take(&mut self.drops)
    }

    fn schedule(&mut self, now: Duration, datagram: Datagram, verdicts: Vec<Verdict>, hop: Hop, next: Next) {
        self.counters.duplicated += verdicts.len().saturating_sub(1) as u64;
        for verdict in verdicts {
            match verdict {
                Verdict::Drop(reason) => {
                    self.drop(now, &datagram, Some(hop.clone()), Undelivered::Link(reason))
                }
                Verdict::Deliver(at) => {
                    let key = (at, self.next_sequence);
                    self.next_sequence += 1;
                    let datagram = datagram.clone();
                    self.in_flight.insert(key, InFlight { datagram, next });
                }
            }
        }
    }

    fn drop(&mut self, at: Duration, datagram: &Datagram, hop: Option<Hop>, reason: Undelivered) {
        self.counters.dropped += 1;
        self.drops.push(Drop {
            at,
            from: datagram.from,
            to: datagram.to,
            size: datagram.payload.len(),
            hop,
            reason,
        });
    }
}

/// A per-component seed derived from the world's seed (SplitMix64), so that adding a link
/// does not shift the random stream of another.
pub fn sub_seed(seed: u64, component: u64) -> u64 {
    let mut z = seed ^ component.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

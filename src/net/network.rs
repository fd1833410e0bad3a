//! Hosts, their access links, NAT boxes, servers and the core between them: where every
//! datagram goes, when it arrives, and why it was dropped.
//!
//! A datagram hops `sender's uplink → (its NAT) → core → (the receiver's NAT) → receiver's
//! downlink`, and each hop is processed at the virtual time the datagram reaches it, so
//! queues see packets in true arrival order even when they come from links of different
//! delays. The runtime asks for [`Network::next_event`] and hands time in through
//! [`Network::advance`].
//!
//! Links charge for the whole IP datagram ([`Datagram::wire_size`]: the UDP payload plus
//! its IP and UDP headers), as a real link serialises, queues and limits it. The core gives
//! every direction between two addresses a link of its own with the core's settings, so
//! the two directions of a call never share a queue, a rate or a random draw (a real path
//! is full duplex). A host sending to its own address goes through its loopback, which
//! takes [`LOOPBACK_DELAY`] and nothing else.
//!
//! An interface may have no access link of its own and use another's
//! ([`Network::add_interface_sharing`]): another device on the same home or office network,
//! whose datagrams queue with the first one's on the same uplink and downlink.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use serde::Serialize;

use super::firewall::{Firewall, FirewallConfig, FirewallDrop};
use super::link::{DropReason, Link, LinkConfig, LinkRecord, Verdict, Verdicts};
use super::nat::{Crossing, Nat, NatConfig, NatDrop};
use super::tcp;

mod capture;
use capture::CaptureSink;
pub use capture::{Captured, capturing};

/// One IP packet on the simulated wire: a UDP datagram, or a TCP segment. Both kinds take
/// the same hops, links, NATs and accounting; only what a NAT and a host do with them
/// differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram {
    pub from: SocketAddr,
    pub to: SocketAddr,
    pub transport: Transport,
    /// A UDP datagram's payload; a TCP segment whole, its header (with the ports of `from`
    /// and `to` and a valid checksum) included.
    pub payload: Vec<u8>,
}

/// The transport protocol of a [`Datagram`]: which port space it lives in at hosts and NATs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Transport {
    Udp,
    Tcp,
}

/// Bytes of the UDP header in front of every payload.
const UDP_HEADER_BYTES: usize = 8;

impl Datagram {
    /// A UDP datagram.
    pub fn udp(from: SocketAddr, to: SocketAddr, payload: Vec<u8>) -> Self {
        Datagram {
            from,
            to,
            transport: Transport::Udp,
            payload,
        }
    }

    /// The bytes a link carries for this packet: the payload, its UDP header (a TCP
    /// segment's header is in its payload) and its IP header (20 bytes for IPv4, 40 for
    /// IPv6). Rates, byte queues, trace opportunities and the MTU count these, not the
    /// payload alone.
    pub fn wire_size(&self) -> usize {
        let ip_header = if self.to.is_ipv4() { 20 } else { 40 };
        let transport_header = match self.transport {
            Transport::Udp => UDP_HEADER_BYTES,
            Transport::Tcp => 0,
        };
        self.payload.len() + transport_header + ip_header
    }

    /// What the NAT it crosses needs to know of it.
    fn crossing(&self) -> Crossing {
        match self.transport {
            Transport::Udp => Crossing::Udp,
            Transport::Tcp => Crossing::Tcp {
                syn: tcp::opens_connection(&self.payload),
            },
        }
    }

    /// Gives it the addresses a NAT translated it to; a TCP segment's header follows.
    fn readdress(&mut self, from: SocketAddr, to: SocketAddr) {
        if self.transport == Transport::Tcp {
            tcp::readdress(&mut self.payload, from, to);
        }
        self.from = from;
        self.to = to;
    }
}

/// How long a datagram a host sends to its own address takes (two sockets of one host; a
/// TURN server relaying between two of its allocations): a real loopback takes some
/// microseconds, and a non-zero delay lets two sockets flooding each other move the clock.
pub const LOOPBACK_DELAY: Duration = Duration::from_micros(10);

/// Where in the network a drop happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Hop {
    Uplink(String),
    /// The firewall of a host's network, by the host's name.
    Firewall(String),
    Nat(String),
    Core,
    Downlink(String),
}

/// Why the network did not deliver a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Undelivered {
    /// A link dropped it (loss, queue, MTU, outage).
    Link(DropReason),
    /// A NAT dropped it (no binding, filtered, no hairpinning).
    Nat(NatDrop),
    /// The firewall of the sender's or the receiver's network dropped it.
    Firewall(FirewallDrop),
    /// No interface owns the destination address (or it is private to another network).
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
    /// Per host: what its interface sent and what reached it (even at a closed port).
    pub hosts: BTreeMap<String, HostCounters>,
}

/// One host's share of the traffic, as a capture on its interface would see it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HostCounters {
    pub sent: u64,
    pub received: u64,
}

impl Counters {
    /// Whether every datagram is accounted for.
    pub fn balanced(&self) -> bool {
        self.sent + self.duplicated == self.delivered + self.dropped + self.in_flight
    }
}

/// A host in the core that answers datagrams itself (STUN, TURN): it owns every port of
/// its address.
pub trait Server: std::fmt::Debug + Send {
    /// A datagram reached the server at `now`; returns what the server sends in response,
    /// and notes for the trace (a 401, an allocation...).
    fn receive(&mut self, now: Duration, datagram: Datagram) -> Reply;
}

/// What a [`Server`] does with one datagram.
#[derive(Debug, Default)]
pub struct Reply {
    pub datagrams: Vec<Datagram>,
    pub notes: Vec<String>,
}

/// Something a server did, for the trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServerNote {
    pub at: Duration,
    pub server: String,
    pub note: String,
}

/// A network interface of a simulated host: how it reaches the core, and the NAT (by public
/// address) it sits behind, if any.
#[derive(Debug)]
struct Interface {
    host: String,
    access: Access,
    behind: Option<IpAddr>,
    /// The firewall between it and the rest of the network, if its network has one.
    firewall: Option<Firewall>,
}

/// How an interface reaches the core. Unboxed although its variants differ in size: a world
/// has a handful of interfaces, and every datagram reads one.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
enum Access {
    /// Over an access link of its own.
    Own { uplink: Link, downlink: Link },
    /// Over the access link of the interface at this address.
    SharedWith(IpAddr),
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
    /// NAT boxes by public address, with the name the trace gives them.
    nats: BTreeMap<IpAddr, (String, Nat)>,
    servers: BTreeMap<IpAddr, Box<dyn Server>>,
    /// The core's settings, which every one of its directions gets.
    core_config: LinkConfig,
    /// The core, one link per direction `(source, destination)` as the core sees them
    /// (after the sender's NAT), made when the first datagram takes that direction.
    core: BTreeMap<(IpAddr, IpAddr), Link>,
    /// Datagrams between hops, ordered by `(time they reach the next hop, sequence)`.
    in_flight: BTreeMap<(Duration, u64), InFlight>,
    next_sequence: u64,
    counters: Counters,
    drops: Vec<Drop>,
    notes: Vec<ServerNote>,
    /// What the access links of interfaces taken away recorded.
    retired_links: Vec<(Hop, LinkRecord)>,
    seed: u64,
    /// Set when built inside [`capturing`].
    capture: Option<CaptureSink>,
}

impl Network {
    /// An empty network whose core has `core` settings. `seed` seeds every link's randomness.
    pub fn new(core: LinkConfig, seed: u64) -> Self {
        Network {
            interfaces: BTreeMap::new(),
            nats: BTreeMap::new(),
            servers: BTreeMap::new(),
            core_config: core,
            core: BTreeMap::new(),
            in_flight: BTreeMap::new(),
            next_sequence: 0,
            counters: Counters::default(),
            drops: Vec::new(),
            notes: Vec::new(),
            retired_links: Vec::new(),
            seed,
            capture: CaptureSink::current(),
        }
    }

    /// Adds an interface at `ip` for `host` at `now`, reaching the core through
    /// `uplink`/`downlink` (whose delivery traces start then).
    pub fn add_interface(
        &mut self,
        now: Duration,
        host: &str,
        ip: IpAddr,
        uplink: LinkConfig,
        downlink: LinkConfig,
    ) {
        let index = self.interfaces.len() as u64;
        self.interfaces.insert(
            ip,
            Interface {
                host: host.to_owned(),
                access: Access::Own {
                    uplink: Link::new_at(now, uplink, sub_seed(self.seed, 2 * index)),
                    downlink: Link::new_at(now, downlink, sub_seed(self.seed, 2 * index + 1)),
                },
                behind: None,
                firewall: None,
            },
        );
    }

    /// Adds an interface at `ip` for `host` that reaches the core over the access link of
    /// the interface at `with`, behind the same NAT: another device on its network (its
    /// firewall is the first one's alone). Once that interface is gone, it has no route.
    pub fn add_interface_sharing(&mut self, host: &str, ip: IpAddr, with: IpAddr) {
        // Sharing with a sharer is sharing with the interface whose link it uses.
        let with = carrier_ip(&self.interfaces, with).unwrap_or(with);
        let behind = self.interfaces.get(&with).and_then(|owner| owner.behind);
        self.interfaces.insert(
            ip,
            Interface {
                host: host.to_owned(),
                access: Access::SharedWith(with),
                behind,
                firewall: None,
            },
        );
    }

    /// Puts a NAT named `name` with public address `public_ip` between the interface at
    /// `private_ip` and the core. Several interfaces may share one NAT.
    pub fn add_nat(&mut self, name: &str, public_ip: IpAddr, config: NatConfig, private_ip: IpAddr) {
        let seed = sub_seed(self.seed, 1_000 + self.nats.len() as u64);
        self.nats
            .entry(public_ip)
            .or_insert_with(|| (name.to_owned(), Nat::new(public_ip, config, seed)));
        if let Some(interface) = self.interfaces.get_mut(&private_ip) {
            interface.behind = Some(public_ip);
        }
    }

    /// Puts a firewall between the interface at `ip` and the rest of the network, or changes
    /// the one there (`None`: takes it away). Returns false if no interface has that address.
    pub fn set_firewall(&mut self, ip: IpAddr, config: Option<FirewallConfig>) -> bool {
        let Some(interface) = self.interfaces.get_mut(&ip) else {
            return false;
        };
        interface.firewall = match (interface.firewall.take(), config) {
            (_, None) => None,
            (Some(mut firewall), Some(config)) => {
                firewall.set_config(config);
                Some(firewall)
            }
            (None, Some(config)) => Some(Firewall::new(config)),
        };
        true
    }

    /// Puts a server on the interface at `ip` (add the interface first).
    pub fn add_server(&mut self, ip: IpAddr, server: Box<dyn Server>) {
        self.servers.insert(ip, server);
    }

    /// Changes an interface's access link from `now` on (congestion, loss burst, outage; a
    /// delivery trace starts at `now`). Returns false if no interface has that address.
    pub fn set_access_link(
        &mut self,
        now: Duration,
        ip: IpAddr,
        uplink: LinkConfig,
        downlink: LinkConfig,
    ) -> bool {
        let Some(carrier) = carrier(&mut self.interfaces, ip) else {
            return false;
        };
        carrier.uplink.set_config_at(now, uplink);
        carrier.downlink.set_config_at(now, downlink);
        true
    }

    /// The settings of the access link the interface at `ip` uses: (uplink, downlink).
    pub fn access_link(&self, ip: IpAddr) -> Option<(LinkConfig, LinkConfig)> {
        match &self.interfaces.get(&carrier_ip(&self.interfaces, ip)?)?.access {
            Access::Own { uplink, downlink } => Some((uplink.config().clone(), downlink.config().clone())),
            Access::SharedWith(_) => None,
        }
    }

    /// Takes the interface at `ip` away (a host leaving a network): datagrams from or to
    /// it find no route from now on. Its NAT goes too if nothing else sits behind it.
    pub fn remove_interface(&mut self, now: Duration, ip: IpAddr) {
        let Some(mut interface) = self.interfaces.remove(&ip) else {
            return;
        };
        if let Access::Own { uplink, downlink } = &mut interface.access {
            uplink.retire(now);
            downlink.retire(now);
        }
        self.retired_links.extend(access_records(&interface));
        if let Some(public_ip) = interface.behind
            && !self
                .interfaces
                .values()
                .any(|other| other.behind == Some(public_ip))
        {
            self.nats.remove(&public_ip);
        }
    }

    /// The NAT with public address `public_ip`, to change or reset it mid-call.
    pub fn nat_mut(&mut self, public_ip: IpAddr) -> Option<&mut Nat> {
        self.nats.get_mut(&public_ip).map(|(_, nat)| nat)
    }

    /// The seed the network was built with, for the hosts' own randomness (their TCP
    /// stacks' initial sequence numbers) to derive from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Whether some interface owns `ip`.
    pub fn has_interface(&self, ip: IpAddr) -> bool {
        self.interfaces.contains_key(&ip)
    }

    /// A datagram leaves a socket (or a server) at `now`.
    pub fn send(&mut self, now: Duration, datagram: Datagram) {
        self.counters.sent += 1;
        if datagram.from.ip() == datagram.to.ip() {
            let key = (now + LOOPBACK_DELAY, self.next_sequence);
            self.next_sequence += 1;
            self.in_flight.insert(
                key,
                InFlight {
                    datagram,
                    next: Next::Arrive,
                },
            );
            return;
        }
        let Some(interface) = self.interfaces.get(&datagram.from.ip()) else {
            self.drop(now, &datagram, None, Undelivered::NoRoute);
            return;
        };
        host_counters(&mut self.counters.hosts, &interface.host).sent += 1;
        if let Some(capture) = &self.capture {
            capture.record(now, &interface.host, &datagram);
        }
        let Some(carrier) = carrier(&mut self.interfaces, datagram.from.ip()) else {
            // The device whose access link it shared has left.
            self.drop(now, &datagram, None, Undelivered::NoRoute);
            return;
        };
        let verdicts = carrier.uplink.transmit(now, datagram.wire_size());
        let hop = verdicts.drops().then(|| Hop::Uplink(carrier.host.to_owned()));
        self.schedule(now, datagram, verdicts, hop, Next::Core);
    }

    /// When the next datagram reaches its next hop, if any is in flight.
    pub fn next_event(&self) -> Option<Duration> {
        self.in_flight.keys().next().map(|(at, _)| *at)
    }

    /// Moves every datagram due by `now` through its hops (servers answer on arrival);
    /// returns the ones that reached a host socket's interface, in arrival order, with
    /// their arrival time.
    pub fn advance(&mut self, now: Duration) -> Vec<(Duration, Datagram)> {
        let mut arrived = Vec::new();
        while let Some(entry) = self.in_flight.first_entry() {
            let at = entry.key().0;
            if at > now {
                break;
            }
            let InFlight { datagram, next } = entry.remove();
            match next {
                Next::Core => self.enter_core(at, datagram),
                Next::Downlink => self.leave_core(at, datagram),
                Next::Arrive => {
                    let destination = datagram.to.ip();
                    if !self.interfaces.contains_key(&destination) {
                        // The host moved away while the datagram was on its last link.
                        self.drop(at, &datagram, None, Undelivered::NoRoute);
                        continue;
                    }
                    self.counters.delivered += 1;
                    let host = &self.interfaces[&destination].host;
                    host_counters(&mut self.counters.hosts, host).received += 1;
                    if let Some(capture) = &self.capture {
                        capture.record(at, host, &datagram);
                    }
                    match self.servers.get_mut(&destination) {
                        // The servers answer UDP only: no port of theirs listens for TCP.
                        Some(_) if datagram.transport == Transport::Tcp => {
                            self.port_unreachable(at, &datagram)
                        }
                        Some(server) => {
                            let reply = server.receive(at, datagram);
                            self.answer(at, destination, reply);
                        }
                        None => arrived.push((at, datagram)),
                    }
                }
            }
        }
        arrived
    }

    /// Past the sender's uplink: through its NAT (or hairpinned back), then into the core.
    fn enter_core(&mut self, at: Duration, mut datagram: Datagram) {
        if let Some(interface) = self.interfaces.get_mut(&datagram.from.ip())
            && let Some(firewall) = &mut interface.firewall
            && let Err(reason) = firewall.outbound(&datagram)
        {
            let hop = Hop::Firewall(interface.host.clone());
            return self.drop(at, &datagram, Some(hop), Undelivered::Firewall(reason));
        }
        let behind = self.interfaces.get(&datagram.from.ip()).and_then(|i| i.behind);
        if let Some(public_ip) = behind {
            let (name, nat) = self
                .nats
                .get_mut(&public_ip)
                .expect("interfaces sit behind known NATs");
            let hop = Hop::Nat(name.clone());
            if datagram.to.ip() == public_ip {
                match nat.hairpin(datagram.crossing(), at, datagram.from, datagram.to) {
                    Ok((source, destination)) => {
                        datagram.readdress(source, destination);
                        return self.forward_to_downlink(at, datagram);
                    }
                    Err(reason) => return self.drop(at, &datagram, Some(hop), Undelivered::Nat(reason)),
                }
            }
            match nat.outbound(datagram.crossing(), at, datagram.from, datagram.to) {
                Ok(source) => datagram.readdress(source, datagram.to),
                Err(reason) => return self.drop(at, &datagram, Some(hop), Undelivered::Nat(reason)),
            }
        }
        let verdicts = self
            .core_direction(datagram.from.ip(), datagram.to.ip())
            .transmit(at, datagram.wire_size());
        self.schedule(at, datagram, verdicts, Some(Hop::Core), Next::Downlink);
    }

    /// The core's link from `source` to `destination`. Seeded by the order directions
    /// first carry traffic, which the same run repeats; a trace on the core runs from the
    /// start of the world in every direction.
    fn core_direction(&mut self, source: IpAddr, destination: IpAddr) -> &mut Link {
        let made = self.core.len() as u64;
        let (config, seed) = (&self.core_config, self.seed);
        self.core
            .entry((source, destination))
            .or_insert_with(|| Link::new_at(Duration::ZERO, config.clone(), sub_seed(seed, u64::MAX - made)))
    }

    /// Out of the core: through the receiver's NAT, if the address is one, to its downlink.
    fn leave_core(&mut self, at: Duration, mut datagram: Datagram) {
        if let Some((name, nat)) = self.nats.get_mut(&datagram.to.ip()) {
            match nat.inbound(datagram.crossing(), at, datagram.from, datagram.to) {
                Ok(destination) => datagram.readdress(datagram.from, destination),
                Err(reason) => {
                    let hop = Hop::Nat(name.clone());
                    return self.drop(at, &datagram, Some(hop), Undelivered::Nat(reason));
                }
            }
        } else if self
            .interfaces
            .get(&datagram.to.ip())
            .is_some_and(|i| i.behind.is_some())
        {
            // A private address seen from the core: not routable.
            return self.drop(at, &datagram, None, Undelivered::NoRoute);
        }
        self.forward_to_downlink(at, datagram);
    }

    fn forward_to_downlink(&mut self, at: Duration, datagram: Datagram) {
        match self.interfaces.get_mut(&datagram.to.ip()) {
            None => self.drop(at, &datagram, None, Undelivered::NoRoute),
            Some(interface)
                if let Some(Err(reason)) = interface.firewall.as_ref().map(|f| f.inbound(&datagram)) =>
            {
                let hop = Hop::Firewall(interface.host.clone());
                self.drop(at, &datagram, Some(hop), Undelivered::Firewall(reason));
            }
            Some(_) => match carrier(&mut self.interfaces, datagram.to.ip()) {
                None => self.drop(at, &datagram, None, Undelivered::NoRoute),
                Some(carrier) => {
                    let verdicts = carrier.downlink.transmit(at, datagram.wire_size());
                    let hop = verdicts.drops().then(|| Hop::Downlink(carrier.host.to_owned()));
                    self.schedule(at, datagram, verdicts, hop, Next::Arrive);
                }
            },
        }
    }

    /// Sends what the server at `server_ip` answered, and keeps its notes for the trace.
    fn answer(&mut self, at: Duration, server_ip: IpAddr, reply: Reply) {
        for datagram in reply.datagrams {
            self.send(at, datagram);
        }
        let server = self
            .interfaces
            .get(&server_ip)
            .map_or_else(|| server_ip.to_string(), |i| i.host.clone());
        self.notes.extend(reply.notes.into_iter().map(|note| ServerNote {
            at,
            server: server.clone(),
            note,
        }));
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

    /// What each access link recorded (queueing delays, usage), uplinks and downlinks of
    /// the interfaces taken away first (in the order they went), then of the others.
    pub fn link_records(&self) -> Vec<(Hop, LinkRecord)> {
        let current = self.interfaces.values().flat_map(access_records);
        self.retired_links.iter().cloned().chain(current).collect()
    }

    /// Takes the drops recorded since the last call.
    pub fn take_drops(&mut self) -> Vec<Drop> {
        std::mem::take(&mut self.drops)
    }

    /// Takes the server notes recorded since the last call.
    pub fn take_notes(&mut self) -> Vec<ServerNote> {
        std::mem::take(&mut self.notes)
    }

    /// Puts `datagram` in flight to its `next` hop as `verdicts` say, or records its drop
    /// at `hop` (named only where a verdict drops: a name is an allocation, and most
    /// datagrams pass).
    fn schedule(
        &mut self,
        now: Duration,
        datagram: Datagram,
        verdicts: Verdicts,
        hop: Option<Hop>,
        next: Next,
    ) {
        self.counters.duplicated += verdicts.len().saturating_sub(1) as u64;
        // The last verdict takes the datagram itself: only duplicates copy the payload.
        let mut left = verdicts.len();
        let mut datagram = Some(datagram);
        for verdict in verdicts {
            left -= 1;
            let this = if left == 0 {
                datagram.take()
            } else {
                datagram.clone()
            };
            let Some(this) = this else { break };
            match verdict {
                Verdict::Drop(reason) => self.drop(now, &this, hop.clone(), Undelivered::Link(reason)),
                Verdict::Deliver(at) => {
                    let key = (at, self.next_sequence);
                    self.next_sequence += 1;
                    self.in_flight.insert(key, InFlight { datagram: this, next });
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

/// What an interface's own uplink and downlink recorded, named by hop (none for one that
/// shares another's).
fn access_records(interface: &Interface) -> Vec<(Hop, LinkRecord)> {
    match &interface.access {
        Access::Own { uplink, downlink } => vec![
            (Hop::Uplink(interface.host.clone()), uplink.record().clone()),
            (Hop::Downlink(interface.host.clone()), downlink.record().clone()),
        ],
        Access::SharedWith(_) => Vec::new(),
    }
}

/// The address of the interface whose access link carries the datagrams of the one at `ip`.
fn carrier_ip(interfaces: &BTreeMap<IpAddr, Interface>, ip: IpAddr) -> Option<IpAddr> {
    match interfaces.get(&ip)?.access {
        Access::Own { .. } => Some(ip),
        Access::SharedWith(owner) => Some(owner),
    }
}

/// The access link that carries the datagrams of the interface at `ip`, with the name of
/// the host that owns it: its own, or the one it shares (if that is still there).
struct Carrier<'a> {
    host: &'a str,
    uplink: &'a mut Link,
    downlink: &'a mut Link,
}

fn carrier(interfaces: &mut BTreeMap<IpAddr, Interface>, ip: IpAddr) -> Option<Carrier<'_>> {
    match interfaces.get_mut(&carrier_ip(interfaces, ip)?)? {
        Interface {
            host,
            access: Access::Own { uplink, downlink },
            ..
        } => Some(Carrier {
            host,
            uplink,
            downlink,
        }),
        _ => None,
    }
}

/// The counters of `host`, created on its first datagram (without copying its name on
/// every later one).
fn host_counters<'a>(hosts: &'a mut BTreeMap<String, HostCounters>, host: &str) -> &'a mut HostCounters {
    if !hosts.contains_key(host) {
        hosts.insert(host.to_owned(), HostCounters::default());
    }
    hosts.get_mut(host).expect("inserted above")
}

/// A per-component seed derived from the world's seed (SplitMix64), so that adding a link
/// does not shift the random stream of another.
pub fn sub_seed(seed: u64, component: u64) -> u64 {
    let mut z = seed ^ component.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests;

//! A NAT box after RFC 4787, as a pure function of its inputs.
//!
//! The simulator hands every datagram that crosses the NAT to [`Nat::outbound`],
//! [`Nat::inbound`] or [`Nat::hairpin`] together with the virtual time it
//! arrives; the NAT answers with the rewritten address or why it drops the
//! datagram. Nothing here reads a clock, and all port choices come from a
//! seeded RNG, so the same seed and the same inputs always give the same
//! answers. Every map is ordered, so iteration order cannot leak into
//! behaviour either.
//!
//! Two independent behaviours decide what a NAT does (RFC 4787 §4.1, §5):
//!
//! - [`Mapping`]: when does an internal endpoint get a new public address?
//! - [`Filtering`]: which outside endpoints may send to that public address?
//!
//! The classic "cone" names are just combinations of the two, see the
//! constructors of [`NatConfig`].

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::network::Transport;

/// When an internal endpoint reuses its public address (RFC 4787 §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Mapping {
    /// One public address per private address, whatever the destination
    /// (REQ-1: what a NAT should do; what makes STUN candidates useful).
    EndpointIndependent,
    /// A new public address per destination IP.
    AddressDependent,
    /// A new public address per destination IP and port ("symmetric").
    AddressAndPortDependent,
}

/// Which outside endpoints may send to a live mapping (RFC 4787 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Filtering {
    /// Anyone.
    EndpointIndependent,
    /// Only IPs the internal endpoint sent to through this mapping.
    AddressDependent,
    /// Only exact `ip:port`s the internal endpoint sent to through this mapping.
    AddressAndPortDependent,
}

/// How a new mapping picks its public port (RFC 4787 §4.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PortAssignment {
    /// Keep the private source port if it is free on the public side, else
    /// pick one at random as [`PortAssignment::Random`] does.
    Preserve,
    /// Draw from the dynamic range 49152..=65535.
    Random,
}

/// Behaviour of one NAT box; every field changeable while a call runs.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct NatConfig {
    pub mapping: Mapping,
    pub filtering: Filtering,
    pub ports: PortAssignment,
    /// A binding (and each of its filter permissions) dies when no outbound
    /// datagram refreshed it for this long.
    pub binding_lifetime: Duration,
    /// Whether a host may reach another host behind the same NAT through its
    /// public address (RFC 4787 §6).
    pub hairpinning: bool,
}

impl NatConfig {
    /// Names accepted by [`NatConfig::from_shorthand`].
    pub const SHORTHANDS: [&str; 4] = [
        "full-cone",
        "restricted-cone",
        "port-restricted-cone",
        "symmetric",
    ];

    /// Endpoint-independent mapping and filtering.
    pub fn full_cone() -> Self {
        Self::combo(Mapping::EndpointIndependent, Filtering::EndpointIndependent)
    }

    /// Endpoint-independent mapping, address-dependent filtering.
    pub fn restricted_cone() -> Self {
        Self::combo(Mapping::EndpointIndependent, Filtering::AddressDependent)
    }

    /// Endpoint-independent mapping, address-and-port-dependent filtering.
    pub fn port_restricted_cone() -> Self {
        Self::combo(Mapping::EndpointIndependent, Filtering::AddressAndPortDependent)
    }

    /// Address-and-port-dependent mapping and filtering: STUN-learnt
    /// addresses are useless to peers, only TURN or peer-reflexive
    /// candidates get through.
    pub fn symmetric() -> Self {
        Self::combo(
            Mapping::AddressAndPortDependent,
            Filtering::AddressAndPortDependent,
        )
    }

    /// One of [`NatConfig::SHORTHANDS`] (exact spelling) to its configuration.
    pub fn from_shorthand(name: &str) -> Option<Self> {
        match name {
            "full-cone" => Some(Self::full_cone()),
            "restricted-cone" => Some(Self::restricted_cone()),
            "port-restricted-cone" => Some(Self::port_restricted_cone()),
            "symmetric" => Some(Self::symmetric()),
            _ => None,
        }
    }

    /// A shorthand's defaults: port preservation, the shortest lifetime
    /// RFC 4787 REQ-5 allows (2 min, so keepalives matter), and hairpinning.
    fn combo(mapping: Mapping, filtering: Filtering) -> Self {
        Self {
            mapping,
            filtering,
            ports: PortAssignment::Preserve,
            binding_lifetime: Duration::from_secs(120),
            hairpinning: true,
        }
    }
}

/// Why a NAT dropped a datagram; goes into the simulation trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum NatDrop {
    /// Inbound to a public address no live binding owns.
    NoBinding,
    /// A live binding exists but its filter refuses the sender.
    Filtered,
    /// Sent to the NAT's own public address while hairpinning is off.
    HairpinDisabled,
    /// No public port is free for a new mapping.
    PortsExhausted,
}

/// What a NAT needs to know of a packet besides its addresses: the port space it maps in
/// (UDP and TCP ports are apart, as on a real NAT), and whether it may make a mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crossing {
    /// A UDP datagram: any one maps, or refreshes its mapping.
    Udp,
    /// A TCP segment. Only an outbound SYN (`syn`: without ACK) makes a mapping (RFC 5382
    /// §4.1); another segment that finds none belongs to a connection the NAT never saw
    /// open (or forgot: a reset, an expiry) and is dropped, as a stateful NAT drops it.
    /// A TCP mapping lives as a UDP one does, `binding_lifetime` after its last outbound
    /// segment: the NAT tracks no connection state, so neither RFC 5382's 2 h 4 min for an
    /// established connection nor its shorter life after a FIN or RST.
    Tcp { syn: bool },
}

impl Crossing {
    fn transport(self) -> Transport {
        match self {
            Crossing::Udp => Transport::Udp,
            Crossing::Tcp { .. } => Transport::Tcp,
        }
    }

    fn may_map(self) -> bool {
        match self {
            Crossing::Udp => true,
            Crossing::Tcp { syn } => syn,
        }
    }
}

/// Public ports handed out at random: the IANA dynamic range.
const RANDOM_PORTS: RangeInclusive<u16> = 49152..=65535;
/// Random draws before falling back to a scan, which keeps the search
/// bounded however full the port table is.
const RANDOM_TRIES: usize = 32;

/// What identifies a mapping; the destination parts are `None` where the
/// mapping behaviour ignores them, so keys of different behaviours never meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct MappingKey {
    transport: Transport,
    private: SocketAddr,
    remote_ip: Option<IpAddr>,
    remote_port: Option<u16>,
}

impl MappingKey {
    fn new(mapping: Mapping, transport: Transport, src: SocketAddr, dst: SocketAddr) -> Self {
        let (remote_ip, remote_port) = match mapping {
            Mapping::EndpointIndependent => (None, None),
            Mapping::AddressDependent => (Some(dst.ip()), None),
            Mapping::AddressAndPortDependent => (Some(dst.ip()), Some(dst.port())),
        };
        Self {
            transport,
            private: src,
            remote_ip,
            remote_port,
        }
    }
}

/// One mapping of a private endpoint to a public port, with its filter state.
#[derive(Debug)]
struct Binding {
    key: MappingKey,
    last_outbound: Duration,
    /// Remote endpoints the internal endpoint sent to through this mapping,
    /// with when it last did. Kept per `ip:port` even under address-dependent
    /// filtering, so that changing the filtering mid-call has the full
    /// history to judge by.
    permissions: BTreeMap<SocketAddr, Duration>,
}

/// A NAT box with its bindings and port RNG.
#[derive(Debug)]
pub struct Nat {
    public_ip: IpAddr,
    config: NatConfig,
    rng: ChaCha8Rng,
    /// Bindings by transport and public port: what inbound traffic looks up.
    bindings: BTreeMap<(Transport, u16), Binding>,
    /// Public port by mapping key: what outbound traffic looks up.
    ports: BTreeMap<MappingKey, u16>,
    /// No binding or permission can expire before this, so until then
    /// [`Nat::expire`] has nothing to do and costs nothing per datagram.
    next_expiry: Duration,
}

impl Nat {
    /// A NAT without bindings; all port choices derive from `seed`.
    pub fn new(public_ip: IpAddr, config: NatConfig, seed: u64) -> Self {
        Self {
            public_ip,
            config,
            rng: ChaCha8Rng::seed_from_u64(seed),
            bindings: BTreeMap::new(),
            ports: BTreeMap::new(),
            next_expiry: Duration::MAX,
        }
    }

    pub fn public_ip(&self) -> IpAddr {
        self.public_ip
    }

    pub fn config(&self) -> &NatConfig {
        &self.config
    }

    /// Behaviour change mid-call; existing bindings stay. New filtering and
    /// lifetime apply to them at once. A binding keeps the mapping key it was
    /// made under, so after a mapping change outbound traffic gets (and
    /// refreshes) bindings under the new key and the old ones age out.
    pub fn set_config(&mut self, config: NatConfig) {
        self.config = config;
        // The lifetime may have shrunk: look again at the next datagram.
        self.next_expiry = Duration::ZERO;
    }

    /// Drops every binding (NAT reboot). The port RNG runs on, so a reboot
    /// does not hand out the same random ports again.
    pub fn reset(&mut self) {
        self.bindings.clear();
        self.ports.clear();
        self.next_expiry = Duration::MAX;
    }

    /// A packet from private `src` to public `dst` leaves at `now`: the
    /// public source address it gets (creating or refreshing the binding and
    /// the filter permission for `dst`).
    pub fn outbound(
        &mut self,
        crossing: Crossing,
        now: Duration,
        src: SocketAddr,
        dst: SocketAddr,
    ) -> Result<SocketAddr, NatDrop> {
        self.expire(now);
        let transport = crossing.transport();
        let key = MappingKey::new(self.config.mapping, transport, src, dst);
        let port = match self.ports.get(&key) {
            Some(&port) => port,
            None if !crossing.may_map() => return Err(NatDrop::NoBinding),
            None => {
                let port = self.allocate_port(transport, src.port())?;
                self.ports.insert(key, port);
                port
            }
        };
        let binding = self.bindings.entry((transport, port)).or_insert_with(|| Binding {
            key,
            last_outbound: now,
            permissions: BTreeMap::new(),
        });
        // `max` so a caller going back in time cannot shorten a binding.
        binding.last_outbound = binding.last_outbound.max(now);
        let permission = binding.permissions.entry(dst).or_insert(now);
        *permission = (*permission).max(now);
        // Only matters if time went backwards: refreshes never expire sooner.
        self.next_expiry = self.next_expiry.min(expiry(now, self.config.binding_lifetime));
        Ok(SocketAddr::new(self.public_ip, port))
    }

    /// A packet from public `src` arrives at `dst` (an address of this
    /// NAT's public IP) at `now`: the private address to deliver it to, or
    /// why it is dropped. An unsolicited inbound TCP SYN finds no binding.
    ///
    /// Inbound traffic refreshes nothing. RFC 4787 REQ-6 only requires
    /// outbound refresh; not refreshing on inbound is the conservative choice,
    /// and it is what makes an endpoint's own keepalives matter.
    pub fn inbound(
        &mut self,
        crossing: Crossing,
        now: Duration,
        src: SocketAddr,
        dst: SocketAddr,
    ) -> Result<SocketAddr, NatDrop> {
        self.expire(now);
        if dst.ip() != self.public_ip {
            return Err(NatDrop::NoBinding);
        }
        let binding = self
            .bindings
            .get(&(crossing.transport(), dst.port()))
            .ok_or(NatDrop::NoBinding)?;
        // `expire` already removed stale permissions: presence is enough.
        let admitted = match self.config.filtering {
            Filtering::EndpointIndependent => true,
            Filtering::AddressDependent => binding.permissions.keys().any(|r| r.ip() == src.ip()),
            Filtering::AddressAndPortDependent => binding.permissions.contains_key(&src),
        };
        if admitted {
            Ok(binding.key.private)
        } else {
            Err(NatDrop::Filtered)
        }
    }

    /// A datagram from private `src` to this NAT's own public address `dst`
    /// (hairpinning, RFC 4787 §6): maps the source as `outbound` would, then
    /// delivers like `inbound` with the mapped source, so filtering judges
    /// the sender by its public address (REQ-9). Returns (mapped public
    /// source, private destination). When hairpinning is off nothing
    /// changes: no mapping is made for the refused datagram.
    pub fn hairpin(
        &mut self,
        crossing: Crossing,
        now: Duration,
        src: SocketAddr,
        dst: SocketAddr,
    ) -> Result<(SocketAddr, SocketAddr), NatDrop> {
        if !self.config.hairpinning {
            return Err(NatDrop::HairpinDisabled);
        }
        let mapped = self.outbound(crossing, now, src, dst)?;
        let private = self.inbound(crossing, now, mapped, dst)?;
        Ok((mapped, private))
    }

    /// Live bindings (for tests and reports).
    pub fn binding_count(&self, now: Duration) -> usize {
        let lifetime = self.config.binding_lifetime;
        self.bindings
            .values()
            .filter(|b| alive(b.last_outbound, now, lifetime))
            .count()
    }

    /// Forgets bindings and permissions idle for a whole lifetime. Done
    /// before every lookup so a dead binding's port is free again and a new
    /// mapping replaces it, exactly as if the NAT had timed it out.
    fn expire(&mut self, now: Duration) {
        if now < self.next_expiry {
            return;
        }
        let lifetime = self.config.binding_lifetime;
        let ports = &mut self.ports;
        let mut next_expiry = Duration::MAX;
        self.bindings.retain(|_, binding| {
            let live = alive(binding.last_outbound, now, lifetime);
            if live {
                binding.permissions.retain(|_, &mut sent| {
                    let live = alive(sent, now, lifetime);
                    if live {
                        // A binding's newest permission is as fresh as the
                        // binding, so this covers the binding's expiry too.
                        next_expiry = next_expiry.min(expiry(sent, lifetime));
                    }
                    live
                });
            } else {
                ports.remove(&binding.key);
            }
            live
        });
        self.next_expiry = next_expiry;
    }

    /// A public port no live binding holds: the private port under
    /// [`PortAssignment::Preserve`] if free (port 0 is never preserved, it
    /// is not a real port), else a random one from [`RANDOM_PORTS`].
    fn allocate_port(&mut self, transport: Transport, private_port: u16) -> Result<u16, NatDrop> {
        let taken = &self.bindings;
        let free = |port: u16| !taken.contains_key(&(transport, port));
        if self.config.ports == PortAssignment::Preserve && private_port != 0 && free(private_port) {
            return Ok(private_port);
        }
        for _ in 0..RANDOM_TRIES {
            let port = self.rng.random_range(RANDOM_PORTS);
            if free(port) {
                return Ok(port);
            }
        }
        // Crowded: walk the whole range once from a random start.
        let (low, high) = (*RANDOM_PORTS.start(), *RANDOM_PORTS.end());
        let start = self.rng.random_range(RANDOM_PORTS);
        (start..=high)
            .chain(low..start)
            .find(|&port| free(port))
            .ok_or(NatDrop::PortsExhausted)
    }
}

/// When something last refreshed at `last` dies, saturating at the end of time.
fn expiry(last: Duration, lifetime: Duration) -> Duration {
    last.checked_add(lifetime).unwrap_or(Duration::MAX)
}

/// Whether something last refreshed at `last` still lives at `now`; an idle
/// time of exactly `lifetime` is already too long. A `last` after `now`
/// (time going backwards) counts as fresh rather than panicking.
fn alive(last: Duration, now: Duration, lifetime: Duration) -> bool {
    now.saturating_sub(last) < lifetime
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    const MS: Duration = Duration::from_millis(1);
    const LIFETIME: Duration = Duration::from_secs(120);

    fn addr(s: &str) -> SocketAddr {
        s.parse().expect("test address")
    }

    fn public_ip() -> IpAddr {
        "127.50.0.100".parse().expect("test address")
    }

    /// The private host and the three remotes of the combination table.
    fn host() -> SocketAddr {
        addr("127.50.1.1:5000")
    }
    fn remote_a() -> SocketAddr {
        addr("127.50.0.1:3478")
    }
    fn remote_a_other_port() -> SocketAddr {
        addr("127.50.0.1:3479")
    }
    fn remote_b() -> SocketAddr {
        addr("127.50.0.2:3478")
    }

    fn nat(mapping: Mapping, filtering: Filtering) -> Nat {
        let config = NatConfig {
            mapping,
            filtering,
            ports: PortAssignment::Preserve,
            binding_lifetime: LIFETIME,
            hairpinning: true,
        };
        Nat::new(public_ip(), config, 1)
    }

    #[test]
    fn mapping_and_filtering_combinations() {
        use Filtering as F;
        use Mapping as M;
        // (mapping, filtering, A' reuses A's address, B reuses A's address,
        //  admitted inbound from [A, A', B] to A's address)
        #[rustfmt::skip]
        let table = [
            (M::EndpointIndependent,     F::EndpointIndependent,     true,  true,  [true, true,  true ]),
            (M::EndpointIndependent,     F::AddressDependent,        true,  true,  [true, true,  false]),
            (M::EndpointIndependent,     F::AddressAndPortDependent, true,  true,  [true, false, false]),
            (M::AddressDependent,        F::EndpointIndependent,     true,  false, [true, true,  true ]),
            (M::AddressDependent,        F::AddressDependent,        true,  false, [true, true,  false]),
            (M::AddressDependent,        F::AddressAndPortDependent, true,  false, [true, false, false]),
            (M::AddressAndPortDependent, F::EndpointIndependent,     false, false, [true, true,  true ]),
            (M::AddressAndPortDependent, F::AddressDependent,        false, false, [true, true,  false]),
            (M::AddressAndPortDependent, F::AddressAndPortDependent, false, false, [true, false, false]),
        ];
        let remotes = [
            ("A", remote_a()),
            ("A'", remote_a_other_port()),
            ("B", remote_b()),
        ];
        for (mapping, filtering, same_for_a_other_port, same_for_b, admitted) in table {
            let case = format!("{mapping:?} mapping / {filtering:?} filtering");
            let mut nat = nat(mapping, filtering);
            let now = Duration::from_secs(1);
            let public = nat.outbound(Crossing::Udp, now, host(), remote_a()).unwrap();
            assert_eq!(public, addr("127.50.0.100:5000"), "{case}: first mapping");

            // Filtering first: sending to A' or B later could add permissions
            // to this very mapping (under EIM it is the same mapping).
            for ((name, remote), admit) in remotes.iter().zip(admitted) {
                let got = nat.inbound(Crossing::Udp, now, *remote, public);
                let want = if admit { Ok(host()) } else { Err(NatDrop::Filtered) };
                assert_eq!(got, want, "{case}: inbound from {name} to {public}");
            }

            let to_a_other_port = nat
                .outbound(Crossing::Udp, now, host(), remote_a_other_port())
                .unwrap();
            let to_b = nat.outbound(Crossing::Udp, now, host(), remote_b()).unwrap();
            assert_eq!(
                to_a_other_port == public,
                same_for_a_other_port,
                "{case}: A' got {to_a_other_port}, A got {public}"
            );
            assert_eq!(to_b == public, same_for_b, "{case}: B got {to_b}, A got {public}");
            assert_ne!(to_b.port(), 0, "{case}: B got port 0");
            let distinct: BTreeSet<_> = [public, to_a_other_port, to_b].into();
            assert_eq!(nat.binding_count(now), distinct.len(), "{case}: live bindings");

            // Whatever the combination, a remote the host sent to may answer
            // on the address it saw.
            for ((name, remote), seen) in remotes.iter().zip([public, to_a_other_port, to_b]) {
                assert_eq!(
                    nat.inbound(Crossing::Udp, now, *remote, seen),
                    Ok(host()),
                    "{case}: reply from {name} to {seen}"
                );
            }
        }
    }

    #[test]
    fn port_preservation_and_collisions() {
        let mut nat = nat(Mapping::EndpointIndependent, Filtering::EndpointIndependent);
        let first = nat.outbound(Crossing::Udp, MS, host(), remote_a()).unwrap();
        assert_eq!(first, addr("127.50.0.100:5000"), "preserved port");
        let second_host = addr("127.50.1.2:5000");
        let second = nat.outbound(Crossing::Udp, MS, second_host, remote_a()).unwrap();
        assert_eq!(second.ip(), public_ip(), "second host's public IP");
        assert_ne!(second.port(), 5000, "second host took the first host's port");
        assert!(
            RANDOM_PORTS.contains(&second.port()),
            "second host's fallback port {} outside 49152..=65535",
            second.port()
        );
        assert_eq!(
            nat.inbound(Crossing::Udp, MS, remote_a(), first),
            Ok(host()),
            "first host"
        );
        assert_eq!(
            nat.inbound(Crossing::Udp, MS, remote_a(), second),
            Ok(second_host),
            "second host"
        );
    }

    /// Public ports of 200 private ports sending out of a Random NAT.
    fn random_ports(seed: u64) -> Vec<u16> {
        let config = NatConfig {
            ports: PortAssignment::Random,
            ..NatConfig::full_cone()
        };
        let mut nat = Nat::new(public_ip(), config, seed);
        (0..200)
            .map(|i| {
                let src = SocketAddr::new(host().ip(), 5000 + i);
                nat.outbound(Crossing::Udp, MS, src, remote_a()).unwrap().port()
            })
            .collect()
    }

    #[test]
    fn random_ports_in_range_distinct_and_seeded() {
        let ports = random_ports(7);
        for (i, port) in ports.iter().enumerate() {
            assert!(
                RANDOM_PORTS.contains(port),
                "mapping {i}: port {port} outside 49152..=65535"
            );
        }
        let distinct: BTreeSet<_> = ports.iter().collect();
        assert_eq!(distinct.len(), ports.len(), "random ports repeat: {ports:?}");
        assert_eq!(ports, random_ports(7), "same seed gave different ports");
        assert_ne!(ports, random_ports(8), "seeds 7 and 8 gave the same ports");
    }

    #[test]
    fn ports_exhausted_then_free_again_after_expiry() {
        let config = NatConfig {
            ports: PortAssignment::Random,
            ..NatConfig::symmetric()
        };
        let mut nat = Nat::new(public_ip(), config, 3);
        let range = RANDOM_PORTS.len();
        let remote = |i: usize| SocketAddr::new(remote_a().ip(), 1 + i as u16);
        for i in 0..range {
            assert!(
                nat.outbound(Crossing::Udp, MS, host(), remote(i)).is_ok(),
                "mapping {i} of {range} failed"
            );
        }
        assert_eq!(nat.binding_count(MS), range, "every port in use");
        assert_eq!(
            nat.outbound(Crossing::Udp, MS, host(), remote(range)),
            Err(NatDrop::PortsExhausted),
            "mapping {range} with the range full"
        );
        // Existing mappings still work while the table is full.
        assert!(
            nat.outbound(Crossing::Udp, MS, host(), remote(0)).is_ok(),
            "refreshing an existing mapping with the range full"
        );
        let later = MS + LIFETIME;
        assert!(
            nat.outbound(Crossing::Udp, later, host(), remote(range)).is_ok(),
            "new mapping after the others expired"
        );
        assert_eq!(nat.binding_count(later), 1, "only the new mapping lives");
    }

    #[test]
    fn binding_lives_exactly_its_lifetime_after_last_outbound() {
        let mut nat = nat(Mapping::EndpointIndependent, Filtering::AddressAndPortDependent);
        let t0 = Duration::from_secs(10);
        let public = nat.outbound(Crossing::Udp, t0, host(), remote_a()).unwrap();
        assert_eq!(
            nat.inbound(Crossing::Udp, t0 + LIFETIME - MS, remote_a(), public),
            Ok(host()),
            "inbound at lifetime - 1 ms"
        );
        assert_eq!(
            nat.binding_count(t0 + LIFETIME - MS),
            1,
            "live at lifetime - 1 ms"
        );
        assert_eq!(
            nat.inbound(Crossing::Udp, t0 + LIFETIME, remote_a(), public),
            Err(NatDrop::NoBinding),
            "inbound at exactly the lifetime"
        );
        assert_eq!(nat.binding_count(t0 + LIFETIME), 0, "dead at the lifetime");
    }

    #[test]
    fn outbound_refreshes_the_binding() {
        let mut nat = nat(Mapping::EndpointIndependent, Filtering::AddressAndPortDependent);
        let public = nat
            .outbound(Crossing::Udp, Duration::ZERO, host(), remote_a())
            .unwrap();
        let refresh = LIFETIME / 2;
        assert_eq!(
            nat.outbound(Crossing::Udp, refresh, host(), remote_a()),
            Ok(public),
            "refresh at half the lifetime keeps the address"
        );
        assert_eq!(
            nat.inbound(Crossing::Udp, LIFETIME, remote_a(), public),
            Ok(host()),
            "inbound at the original expiry, after a refresh"
        );
        assert_eq!(
            nat.inbound(Crossing::Udp, refresh + LIFETIME - MS, remote_a(), public),
            Ok(host()),
            "inbound at refresh + lifetime - 1 ms"
        );
        assert_eq!(
            nat.inbound(Crossing::Udp, refresh + LIFETIME, remote_a(), public),
            Err(NatDrop::NoBinding),
            "inbound at refresh + lifetime"
        );
    }

    #[test]
    fn inbound_traffic_alone_does_not_refresh() {
        let mut nat = nat(Mapping::EndpointIndependent, Filtering::EndpointIndependent);
        let public = nat
            .outbound(Crossing::Udp, Duration::ZERO, host(), remote_a())
            .unwrap();
        for second in (10..120).step_by(10) {
            assert_eq!(
                nat.inbound(Crossing::Udp, Duration::from_secs(second), remote_a(), public),
                Ok(host()),
                "inbound at {second} s"
            );
        }
        assert_eq!(
            nat.inbound(Crossing::Udp, LIFETIME, remote_a(), public),
            Err(NatDrop::NoBinding),
            "inbound at the lifetime after only inbound traffic"
        );
    }

    #[test]
    fn permission_expires_even_while_the_binding_lives() {
        let mut nat = nat(Mapping::EndpointIndependent, Filtering::AddressAndPortDependent);
        let public = nat
            .outbound(Crossing::Udp, Duration::ZERO, host(), remote_a())
            .unwrap();
        // Keeps the shared binding alive but only renews B's permission.
        nat.outbound(Crossing::Udp, LIFETIME / 2, host(), remote_b())
            .unwrap();
        assert_eq!(
            nat.inbound(Crossing::Udp, LIFETIME, remote_a(), public),
            Err(NatDrop::Filtered),
            "A's permission at its lifetime"
        );
        assert_eq!(
            nat.inbound(Crossing::Udp, LIFETIME, remote_b(), public),
            Ok(host()),
            "B's permission, refreshed at half the lifetime"
        );
    }

    #[test]
    fn expired_random_mapping_is_replaced() {
        let config = NatConfig {
            ports: PortAssignment::Random,
            ..NatConfig::port_restricted_cone()
        };
        let mut nat = Nat::new(public_ip(), config, 5);
        let old = nat
            .outbound(Crossing::Udp, Duration::ZERO, host(), remote_a())
            .unwrap();
        assert_eq!(
            nat.inbound(Crossing::Udp, LIFETIME, remote_a(), old),
            Err(NatDrop::NoBinding),
            "the old mapping at its lifetime"
        );
        let new = nat.outbound(Crossing::Udp, LIFETIME, host(), remote_a()).unwrap();
        assert_eq!(nat.binding_count(LIFETIME), 1, "one binding after renewal");
        // Deterministic: seed 5 does not draw the same port twice.
        assert_ne!(new, old, "the expired mapping came back instead of a new one");
        assert_eq!(
            nat.inbound(Crossing::Udp, LIFETIME, remote_a(), new),
            Ok(host()),
            "the new mapping"
        );
    }

    #[test]
    fn hairpinning_uses_the_mapped_source() {
        let x = addr("127.50.1.1:5000");
        let y = addr("127.50.1.2:6000");
        let mut nat = nat(Mapping::EndpointIndependent, Filtering::EndpointIndependent);
        let y_public = nat.outbound(Crossing::Udp, MS, y, remote_a()).unwrap();
        let x_public = nat.outbound(Crossing::Udp, MS, x, remote_a()).unwrap();
        assert_eq!(
            nat.hairpin(Crossing::Udp, MS, x, y_public),
            Ok((x_public, y)),
            "X to Y's public address"
        );

        nat.set_config(NatConfig {
            hairpinning: false,
            ..nat.config().clone()
        });
        assert_eq!(
            nat.hairpin(Crossing::Udp, MS, x, y_public),
            Err(NatDrop::HairpinDisabled),
            "hairpinning off"
        );
    }

    #[test]
    fn hairpinning_filters_by_public_source() {
        let x = addr("127.50.1.1:5000");
        let y = addr("127.50.1.2:6000");
        let mut nat = nat(Mapping::EndpointIndependent, Filtering::AddressAndPortDependent);
        let y_public = nat.outbound(Crossing::Udp, MS, y, remote_a()).unwrap();
        let x_public = nat.outbound(Crossing::Udp, MS, x, remote_a()).unwrap();
        assert_eq!(
            nat.hairpin(Crossing::Udp, MS, x, y_public),
            Err(NatDrop::Filtered),
            "X to Y before Y sent to X's public address"
        );
        assert_eq!(
            nat.hairpin(Crossing::Udp, MS, y, x_public),
            Ok((y_public, x)),
            "Y to X: X already sent to Y's public address"
        );
        assert_eq!(
            nat.hairpin(Crossing::Udp, MS, x, y_public),
            Ok((x_public, y)),
            "X to Y after Y sent to X's public address"
        );
        assert_eq!(
            nat.hairpin(Crossing::Udp, MS, x, addr("127.50.0.100:1")),
            Err(NatDrop::NoBinding),
            "hairpin to a public port nobody holds"
        );
    }

    #[test]
    fn reset_drops_every_binding() {
        let mut nat = nat(Mapping::EndpointIndependent, Filtering::EndpointIndependent);
        let public = nat.outbound(Crossing::Udp, MS, host(), remote_a()).unwrap();
        let other = nat
            .outbound(Crossing::Udp, MS, addr("127.50.1.2:5000"), remote_a())
            .unwrap();
        assert_eq!(nat.binding_count(MS), 2, "bindings before reset");
        nat.reset();
        assert_eq!(nat.binding_count(MS), 0, "bindings after reset");
        for dst in [public, other] {
            assert_eq!(
                nat.inbound(Crossing::Udp, MS, remote_a(), dst),
                Err(NatDrop::NoBinding),
                "inbound to {dst} after reset"
            );
        }
    }

    #[test]
    fn set_config_changes_filtering_of_existing_bindings() {
        let mut nat = nat(Mapping::EndpointIndependent, Filtering::EndpointIndependent);
        let public = nat.outbound(Crossing::Udp, MS, host(), remote_a()).unwrap();
        assert_eq!(
            nat.inbound(Crossing::Udp, MS, remote_b(), public),
            Ok(host()),
            "B under full cone"
        );
        nat.set_config(NatConfig::port_restricted_cone());
        assert_eq!(
            nat.inbound(Crossing::Udp, MS, remote_b(), public),
            Err(NatDrop::Filtered),
            "B after switching to port-restricted"
        );
        assert_eq!(
            nat.inbound(Crossing::Udp, MS, remote_a(), public),
            Ok(host()),
            "A after switching to port-restricted"
        );
        assert_eq!(
            nat.outbound(Crossing::Udp, MS, host(), remote_a()),
            Ok(public),
            "the binding survived the change"
        );
        nat.set_config(NatConfig::full_cone());
        assert_eq!(
            nat.inbound(Crossing::Udp, MS, remote_b(), public),
            Ok(host()),
            "B after switching back to full cone"
        );
    }

    #[test]
    fn shorthands_map_to_the_right_combinations() {
        let want = [
            (Mapping::EndpointIndependent, Filtering::EndpointIndependent),
            (Mapping::EndpointIndependent, Filtering::AddressDependent),
            (Mapping::EndpointIndependent, Filtering::AddressAndPortDependent),
            (
                Mapping::AddressAndPortDependent,
                Filtering::AddressAndPortDependent,
            ),
        ];
        let constructors = [
            NatConfig::full_cone(),
            NatConfig::restricted_cone(),
            NatConfig::port_restricted_cone(),
            NatConfig::symmetric(),
        ];
        for ((name, (mapping, filtering)), constructed) in
            NatConfig::SHORTHANDS.iter().zip(want).zip(constructors)
        {
            let config = NatConfig::from_shorthand(name).unwrap_or_else(|| panic!("{name}: not recognised"));
            assert_eq!(config.mapping, mapping, "{name}: mapping");
            assert_eq!(config.filtering, filtering, "{name}: filtering");
            assert_eq!(config.ports, PortAssignment::Preserve, "{name}: ports");
            assert_eq!(config.binding_lifetime, LIFETIME, "{name}: lifetime");
            assert!(config.hairpinning, "{name}: hairpinning");
            assert_eq!(config, constructed, "{name}: differs from its constructor");
        }
        for name in ["symetric", "", "Symmetric", "full cone"] {
            assert_eq!(NatConfig::from_shorthand(name), None, "{name:?} accepted");
        }
    }

    #[test]
    fn odd_inputs_do_not_panic() {
        let mut nat = nat(Mapping::AddressDependent, Filtering::AddressDependent);
        let public = nat.outbound(Crossing::Udp, MS, host(), remote_a()).unwrap();
        assert_eq!(
            nat.inbound(
                Crossing::Udp,
                MS,
                remote_a(),
                SocketAddr::new(remote_b().ip(), public.port())
            ),
            Err(NatDrop::NoBinding),
            "inbound to another IP"
        );
        assert_eq!(
            nat.inbound(Crossing::Udp, MS, remote_a(), addr("127.50.0.100:1")),
            Err(NatDrop::NoBinding),
            "inbound to an unbound port"
        );
        assert_eq!(
            nat.inbound(Crossing::Udp, MS, remote_a(), addr("[::1]:5000")),
            Err(NatDrop::NoBinding),
            "inbound to an IPv6 address"
        );
        let port_zero = nat
            .outbound(Crossing::Udp, MS, addr("127.50.1.3:0"), remote_a())
            .unwrap();
        assert_ne!(port_zero.port(), 0, "port 0 was preserved");
        // Time going backwards keeps the binding rather than panicking.
        assert_eq!(
            nat.inbound(Crossing::Udp, Duration::ZERO, remote_a(), public),
            Ok(host()),
            "inbound before the binding was made"
        );
        let mut instant = Nat::new(
            public_ip(),
            NatConfig {
                binding_lifetime: Duration::ZERO,
                ..NatConfig::full_cone()
            },
            1,
        );
        let fleeting = instant.outbound(Crossing::Udp, MS, host(), remote_a()).unwrap();
        assert_eq!(
            instant.inbound(Crossing::Udp, MS, remote_a(), fleeting),
            Err(NatDrop::NoBinding),
            "zero lifetime"
        );
    }
}

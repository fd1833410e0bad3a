//! One running world: its addresses, network, servers, runtime and relay, the peers'
//! attachments, the timeline played on the virtual clock; and what a run hands back.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use webrtc::runtime::Runtime;

use crate::cross::{self, CrossTraffic, Ends};
use crate::metrics::Metrics;
use crate::net::{
    Counters, FirewallConfig, Hop, LinkConfig, LinkRecord, Network, QueueDelay, QueueDelays, StunServer,
    TurnServer, Usage, sub_seed,
};
use crate::runtime::processing::Processing;
use crate::runtime::{Limits, SimRuntime, Stuck};
use crate::servers::{IceServer, STUN, Servers, TURN, dns_name, rtc_ice_servers};
use crate::signaling::Relay;
use crate::tap::WireTap;
use crate::timeline::{Action, Direction, SignalingChange, TimedAction};
use crate::trace::{AddressBook, Event, Recorder, What};

/// The port every peer binds on its interface address.
const PEER_PORT: u16 = 5000;
/// Core hosts: the STUN server's, then the TURN servers' (`turn` first, then the extra
/// ones in name order). Peers take 1 up, the NATs in front of them 101 up.
const STUN_HOST: u8 = 200;
const TURN_HOSTS: std::ops::RangeInclusive<u8> = 201..=250;
/// Cross traffic: the servers of its flows are core hosts 151 up; a flow's device is core
/// host 175 up when the peer whose link it shares is public, host 2 up of the peer's
/// network when it is behind a NAT.
const CROSS_SERVER_HOSTS: u8 = 151;
const CROSS_PUBLIC_DEVICES: u8 = 175;
const CROSS_PRIVATE_DEVICES: u8 = 2;
/// Peers on another peer's private network: host 100 up of that network.
const NEIGHBOUR_HOSTS: u8 = 100;
/// How many flows of cross traffic a world has room for.
pub const MAX_CROSS_FLOWS: usize = 24;
/// The port every flow of cross traffic uses, on its device and its server.
const CROSS_PORT: u16 = 9000;

/// What a world is built from, whoever builds it (a simulation in code, a scenario's
/// call): the network and servers around the peers, and how its run is kept honest.
#[derive(Debug, Clone)]
pub struct WorldConfig {
    /// Names the run in errors.
    pub name: String,
    /// Seeds every random choice the harness makes; same seed, same run.
    pub seed: u64,
    /// How long the call runs: the horizon of its metrics.
    pub duration: Duration,
    /// The internet between the access networks.
    pub core: LinkConfig,
    /// How long the signaling relay takes to forward a message.
    pub signaling_delay: Duration,
    /// The STUN and TURN servers in the core.
    pub servers: Servers,
    /// Wall-clock time after which a run that has not ended is stopped as stuck.
    pub watchdog: Duration,
    /// Run on tokio and the wall clock instead of the virtual clock.
    pub realtime: bool,
    /// Whether the virtual clock charges the hosts' processing time (see
    /// [`crate::runtime::processing`]); ignored on the wall clock, where it is real.
    pub processing: Processing,
    /// Other devices' flows on the peers' access links.
    pub cross_traffic: Vec<CrossTraffic>,
    /// How often watched connections' `get_stats` is sampled into the trace, if at all.
    pub stats_interval: Option<Duration>,
    /// Whether the apps may call tokio, so that a paused tokio runtime follows the virtual
    /// clock ([`crate::runtime::tokio_time`]). Only the scenario front end turns it off, for
    /// a world of built-in peers, which call none: a world without tokio runs faster.
    pub(crate) apps_call_tokio: bool,
}

impl WorldConfig {
    /// A 10 s run, seed 1, an ideal core, a 20 ms relay, no servers, a 300 s watchdog.
    pub fn new(name: &str) -> Self {
        WorldConfig {
            name: name.to_owned(),
            seed: 1,
            duration: Duration::from_secs(10),
            core: LinkConfig::default(),
            signaling_delay: Duration::from_millis(20),
            servers: Servers::default(),
            watchdog: Duration::from_secs(300),
            realtime: false,
            processing: Processing::None,
            cross_traffic: Vec::new(),
            stats_interval: None,
            apps_call_tokio: true,
        }
    }
}

/// Why a scenario could not be run to its end.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("scenario `{scenario}`: {message}")]
    Invalid { scenario: String, message: String },
    #[error("scenario `{scenario}`: no free 127.x.0.0/16 block to bind simulated hosts in: {source}")]
    NoAddresses {
        scenario: String,
        source: std::io::Error,
    },
    #[error("scenario `{scenario}`: setting up the call failed: {message}")]
    Setup { scenario: String, message: String },
    #[error("scenario `{scenario}` (seed {seed}) did not finish: {stuck}")]
    Stuck {
        scenario: String,
        seed: u64,
        stuck: Stuck,
    },
}

/// What a run produced.
#[derive(Debug)]
pub struct Run {
    /// Everything that happened, in time order.
    pub trace: Vec<Event>,
    pub metrics: Metrics,
    /// The network's packet accounting at the end.
    pub counters: Counters,
    /// What each access link recorded (a moved peer's old interface first): how long
    /// datagrams waited in its queue, what it carried and could carry. Kept beside the
    /// trace, not in it, per time bin per link.
    pub links: Vec<(Hop, LinkRecord)>,
    /// Every address a simulated socket bound.
    pub bound_addresses: Vec<SocketAddr>,
    /// Whether any real socket found a datagram in the kernel (it never should).
    pub kernel_received_anything: bool,
    /// Wall-clock time the run took.
    pub wall_time: Duration,
}

impl Run {
    /// The queueing delay of the datagrams that entered `peer`'s access link in `direction`
    /// (both: either) within `[from, to)`, in whole bins (see [`crate::net::queue_delay`]),
    /// over every interface the peer had; `None` if none entered.
    pub fn queue_delay(
        &self,
        peer: &str,
        direction: Direction,
        from: Duration,
        to: Duration,
    ) -> Option<QueueDelay> {
        let mut merged = QueueDelays::default();
        for record in self.access_links(peer, direction) {
            merged.absorb(&record.queue_delays);
        }
        merged.within(from, to)
    }

    /// What `peer`'s access links in `direction` (both: added up) carried and could carry in
    /// the bins starting within `[from, to)`, over every interface the peer had; `None` if
    /// it had none, or no bin starts in the window.
    pub fn link_usage(
        &self,
        peer: &str,
        direction: Direction,
        from: Duration,
        to: Duration,
    ) -> Option<Usage> {
        self.access_links(peer, direction)
            .map(|record| record.usage.within(from, to))
            .reduce(|a, b| Some(a? + b?))?
    }

    /// The records of `peer`'s access links in `direction` (both: either).
    fn access_links(&self, peer: &str, direction: Direction) -> impl Iterator<Item = &LinkRecord> {
        // A moved peer's interfaces are `alice`, `alice#2`, …
        let peer_host = move |host: &str| host.split('#').next() == Some(peer);
        self.links.iter().filter_map(move |(hop, record)| {
            let chosen = match (hop, direction) {
                (Hop::Uplink(host), Direction::Up | Direction::Both) => peer_host(host),
                (Hop::Downlink(host), Direction::Down | Direction::Both) => peer_host(host),
                _ => false,
            };
            chosen.then_some(record)
        })
    }

    /// The last state `peer`'s connection reported before the call was hung up
    /// (`connected`, `failed`...), if it reported any.
    pub fn final_state(&self, peer: &str) -> Option<&str> {
        self.trace.iter().rev().find_map(|event| match &event.what {
            What::PeerConnectionState { peer: p, state } if p == peer && state != "closed" => {
                Some(state.as_str())
            }
            _ => None,
        })
    }
}

/// A 127.K.0.0/16 block of addresses reserved for one world. Worlds in one process (tests
/// run in parallel) or in several processes each hold a different K: the block is held by
/// binding an anchor socket in it, so the kernel itself arbitrates.
struct AddressBlock {
    second_octet: u8,
    _anchor: UdpSocket,
}

impl AddressBlock {
    fn reserve() -> std::io::Result<Self> {
        let mut last_error = None;
        for second_octet in 1..=254u8 {
            match UdpSocket::bind((Ipv4Addr::new(127, second_octet, 255, 254), 65535)) {
                Ok(anchor) => {
                    return Ok(AddressBlock {
                        second_octet,
                        _anchor: anchor,
                    });
                }
                Err(error) => last_error = Some(error),
            }
        }
        Err(last_error.unwrap_or_else(|| std::io::Error::other("no block tried")))
    }

    /// `127.K.network.host`: network 0 is the public core, network n > 0 the private
    /// network behind a NAT.
    fn address(&self, network: u8, host: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(127, self.second_octet, network, host))
    }
}

/// Where a peer is attached right now; a `change_address` moves it.
#[derive(Debug)]
struct Attachment {
    /// How many interfaces the peer has had, this one included.
    interfaces: usize,
    ip: IpAddr,
    /// The public address of the NAT in front of it, if any.
    nat: Option<IpAddr>,
    bind: BindAddress,
}

/// What an operating system tells an app about its network (Android's ConnectivityManager,
/// iOS's NWPathMonitor), so that the app's own reaction to a handoff is what gets tested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkChange {
    /// The interface with this address is gone (the phone left the Wi-Fi).
    AddressGone(IpAddr),
    /// A new interface is up with this address.
    AddressUp(IpAddr),
    /// The interface's link is down (no signal); its address stays.
    LinkDown,
    /// The link is back.
    LinkUp,
}

/// An address a peer binds, whose IP the world can move (a phone changing networks).
/// webrtc-rs resolves it again at every ICE-restart rebind, so the restart gathers on the new
/// address. Clones, and the addresses [`BindAddress::on_port`] makes, move together.
#[derive(Debug, Clone)]
pub struct BindAddress {
    ip: Arc<Mutex<IpAddr>>,
    port: u16,
}

impl BindAddress {
    pub fn new(address: SocketAddr) -> Self {
        BindAddress {
            ip: Arc::new(Mutex::new(address.ip())),
            port: address.port(),
        }
    }

    pub fn get(&self) -> SocketAddr {
        SocketAddr::new(*self.ip.lock().expect("address poisoned"), self.port)
    }

    /// The host is at `ip` now.
    pub fn move_to(&self, ip: IpAddr) {
        *self.ip.lock().expect("address poisoned") = ip;
    }

    /// The same host's address on `port`, which moves with this one.
    pub fn on_port(&self, port: u16) -> BindAddress {
        BindAddress {
            ip: self.ip.clone(),
            port,
        }
    }
}

impl std::net::ToSocketAddrs for BindAddress {
    type Iter = std::option::IntoIter<SocketAddr>;

    fn to_socket_addrs(&self) -> std::io::Result<Self::Iter> {
        Ok(Some(self.get()).into_iter())
    }
}

/// What the timeline asks of a peer's app (`restart_ice`, `set_ice_servers`, `close`) and
/// what its operating system tells it, as the world hands it on (the sim turns it into the
/// app's commands and notifications).
#[async_trait::async_trait]
pub(crate) trait AppControl: Send + Sync {
    async fn restart_ice(&self);
    async fn set_ice_servers(&self, servers: Vec<webrtc::peer_connection::RTCIceServer>);
    async fn pause_media(&self, duration: Duration);
    async fn close(&self);
    fn network_changed(&self, change: NetworkChange);
}

/// One running world.
pub(crate) struct World {
    block: AddressBlock,
    pub(crate) runtime: SimRuntime,
    pub(crate) recorder: Recorder,
    pub(crate) relay: Relay,
    pub(crate) book: Arc<AddressBook>,
    /// The wire tap peers' interceptor chains may carry (an app adds it to its registry).
    pub(crate) tap: WireTap,
    attachments: Mutex<BTreeMap<String, Attachment>>,
    /// Networks used so far, so every move gets a fresh one.
    networks: Mutex<u8>,
    /// The servers' hosts by name.
    servers: Mutex<BTreeMap<String, IpAddr>>,
}

impl World {
    /// Builds the world `config` describes on `network`, its servers started and no peer
    /// yet: its address block, runtime, trace recorder and signaling relay.
    pub(crate) fn start(config: &WorldConfig, network: Network) -> Result<Arc<World>, RunError> {
        let block = AddressBlock::reserve().map_err(|source| RunError::NoAddresses {
            scenario: config.name.clone(),
            source,
        })?;
        let runtime = if config.realtime {
            SimRuntime::realtime(network).map_err(|error| RunError::Setup {
                scenario: config.name.clone(),
                message: format!("cannot start tokio for the wall-clock mode: {error}"),
            })?
        } else {
            let seed = sub_seed(config.seed, 4);
            match config.apps_call_tokio {
                true => SimRuntime::with_processing(network, config.processing, seed),
                false => SimRuntime::without_tokio(network, config.processing, seed),
            }
        };
        let recorder = Recorder::default();
        let relay = Relay::new(
            runtime.clone(),
            recorder.clone(),
            config.signaling_delay,
            sub_seed(config.seed, 2),
        );
        let world = Arc::new(World {
            block,
            tap: WireTap::new(&runtime),
            runtime,
            recorder,
            relay,
            book: Arc::new(AddressBook::default()),
            attachments: Mutex::new(BTreeMap::new()),
            networks: Mutex::new(0),
            servers: Mutex::new(BTreeMap::new()),
        });
        world
            .start_servers(&config.servers)
            .map_err(|message| RunError::Setup {
                scenario: config.name.clone(),
                message,
            })?;
        Ok(world)
    }

    /// Drives `call` (which returns whether the kernel received any datagram) to its end
    /// within `virtual_time`, then shuts the world down and hands back what it recorded.
    pub(crate) fn finish(
        &self,
        config: &WorldConfig,
        call: impl Future<Output = Result<bool, String>>,
        virtual_time: Duration,
        started: Instant,
    ) -> Result<Run, RunError> {
        let limits = Limits {
            virtual_time,
            wall_time: Some(config.watchdog),
        };
        let outcome = self.runtime.run_until(call, limits);
        self.runtime.shut_down();
        let kernel_received_anything = match outcome {
            Ok(Ok(kernel_received_anything)) => kernel_received_anything,
            Ok(Err(message)) => {
                return Err(RunError::Setup {
                    scenario: config.name.clone(),
                    message,
                });
            }
            Err(stuck) => {
                return Err(RunError::Stuck {
                    scenario: config.name.clone(),
                    seed: config.seed,
                    stuck,
                });
            }
        };
        self.record_network_evidence();
        let trace = self.tap.events_with(self.recorder.take_events());
        Ok(Run {
            metrics: Metrics::from_trace(&trace, config.duration),
            trace,
            counters: self.runtime.with_network(|network| network.counters()),
            links: self.runtime.with_network(|network| network.link_records()),
            bound_addresses: self.runtime.bound_addresses(),
            kernel_received_anything,
            wall_time: started.elapsed(),
        })
    }

    /// Puts the scenario's STUN and TURN servers on core hosts of their own and names them
    /// in the DNS: `stun.netsim`, `turn.netsim`, then the extra TURN servers by name.
    fn start_servers(&self, servers: &Servers) -> Result<(), String> {
        if servers.stun {
            let server = Box::new(StunServer);
            self.start_server(STUN, self.block.address(0, STUN_HOST), server);
        }
        let declared = usize::from(servers.turn.is_some()) + servers.extra_turn.len();
        if declared > TURN_HOSTS.len() {
            return Err(format!(
                "{declared} TURN servers; the core has room for {}",
                TURN_HOSTS.len()
            ));
        }
        let turn = servers.turn.iter().map(|credentials| (TURN, credentials));
        let extra = servers
            .extra_turn
            .iter()
            .map(|(name, credentials)| (name.as_str(), credentials));
        for (host, (name, credentials)) in TURN_HOSTS.zip(turn.chain(extra)) {
            let ip = self.block.address(0, host);
            let users = BTreeMap::from([(credentials.user.clone(), credentials.password.clone())]);
            self.start_server(name, ip, Box::new(TurnServer::new(ip, users)?));
        }
        Ok(())
    }

    /// Adds the host `name` at `ip` with an ideal link, runs `server` on it, and names it
    /// `name.netsim` in the DNS.
    fn start_server(&self, name: &str, ip: IpAddr, server: Box<dyn crate::net::Server>) {
        let now = self.runtime.elapsed();
        self.runtime.with_network(|network| {
            network.add_interface(now, name, ip, LinkConfig::default(), LinkConfig::default());
            network.add_server(ip, server);
        });
        self.runtime.add_name(&dns_name(name), ip);
        self.book.name(ip, name.to_owned());
        self.servers
            .lock()
            .expect("servers poisoned")
            .insert(name.to_owned(), ip);
    }

    /// Gives a peer its first interface (also the host address of its tasks, see
    /// [`SimRuntime::spawn_on`]), behind `nat` and `firewall` if given; returns the address
    /// it binds. A network it moves to later has no firewall unless the timeline puts one.
    pub(crate) fn attach(
        &self,
        peer: &str,
        nat: Option<crate::net::NatConfig>,
        firewall: Option<FirewallConfig>,
        uplink: LinkConfig,
        downlink: LinkConfig,
    ) -> BindAddress {
        let (ip, nat) = self.new_interface(peer, peer, nat, uplink, downlink);
        if firewall.is_some() {
            self.runtime
                .with_network(|network| network.set_firewall(ip, firewall));
        }
        self.settle(peer, ip, nat)
    }

    /// Makes `ip` the first interface of `peer`, behind the NAT at `nat` if any: its tasks'
    /// host address, and the address it binds, which it returns.
    fn settle(&self, peer: &str, ip: IpAddr, nat: Option<IpAddr>) -> BindAddress {
        self.runtime.set_host_address(peer, ip);
        let bind = BindAddress::new(SocketAddr::new(ip, PEER_PORT));
        let attachment = Attachment {
            interfaces: 1,
            ip,
            nat,
            bind: bind.clone(),
        };
        self.attachments
            .lock()
            .expect("attachments poisoned")
            .insert(peer.to_owned(), attachment);
        bind
    }

    /// Gives `peer` its first interface on the network of `owner`, attached before it: a
    /// second device at home, sharing the owner's access link and NAT, behind a firewall of
    /// `firewall`'s settings (the owner's). Returns the address it binds.
    pub(crate) fn attach_on_network_of(
        &self,
        peer: &str,
        owner: &str,
        firewall: Option<FirewallConfig>,
    ) -> BindAddress {
        let (owner_ip, nat, attached) = {
            let attachments = self.attachments.lock().expect("attachments poisoned");
            (
                attachments[owner].ip,
                attachments[owner].nat,
                attachments.len() as u8,
            )
        };
        let ip = match owner_ip {
            IpAddr::V4(ip) if nat.is_some() => {
                let [a, b, network, _] = ip.octets();
                IpAddr::V4(Ipv4Addr::new(a, b, network, NEIGHBOUR_HOSTS + attached))
            }
            _ => {
                let mut networks = self.networks.lock().expect("networks poisoned");
                *networks += 1;
                self.block.address(0, *networks)
            }
        };
        self.book.name(ip, peer.to_owned());
        self.runtime.with_network(|network| {
            network.add_interface_sharing(peer, ip, owner_ip);
            if firewall.is_some() {
                network.set_firewall(ip, firewall);
            }
        });
        self.settle(peer, ip, nat)
    }

    /// Adds an interface for `peer` on a network of its own: public, or private behind a new
    /// NAT, named `label` in the trace, the counters and the captures. Returns its address
    /// and the NAT's public address.
    fn new_interface(
        &self,
        peer: &str,
        label: &str,
        nat: Option<crate::net::NatConfig>,
        uplink: LinkConfig,
        downlink: LinkConfig,
    ) -> (IpAddr, Option<IpAddr>) {
        let network_number = {
            let mut networks = self.networks.lock().expect("networks poisoned");
            *networks += 1;
            *networks
        };
        let (ip, nat_ip) = match nat {
            None => (self.block.address(0, network_number), None),
            Some(_) => (
                self.block.address(network_number, 1),
                Some(self.block.address(0, 100 + network_number)),
            ),
        };
        self.book.name(ip, label.to_owned());
        let moved = self
            .attachments
            .lock()
            .expect("attachments poisoned")
            .contains_key(peer);
        let now = self.runtime.elapsed();
        self.runtime.with_network(|network| {
            network.add_interface(now, label, ip, uplink, downlink);
            if let (Some(config), Some(public_ip)) = (nat, nat_ip) {
                // A peer's first NAT is `nat-alice`; the ones it moves behind later are numbered.
                let name = if moved {
                    format!("nat-{peer}-{network_number}")
                } else {
                    format!("nat-{peer}")
                };
                network.add_nat(&name, public_ip, config, ip);
                self.book.name(public_ip, name);
            }
        });
        (ip, nat_ip)
    }

    /// Starts each flow of cross traffic between a device sharing its peer's access link
    /// (and NAT) and a server of its own in the core; the trace names the device after the
    /// flow and the server `<flow>.server`. Call it once the peers are attached.
    pub(crate) fn start_cross_traffic(&self, flows: &[CrossTraffic]) -> Result<(), String> {
        if flows.len() > MAX_CROSS_FLOWS {
            return Err(format!(
                "{} flows of cross traffic; the world has room for {MAX_CROSS_FLOWS}",
                flows.len()
            ));
        }
        for (index, flow) in (0u8..).zip(flows) {
            let (peer_ip, behind_nat) = {
                let attachments = self.attachments.lock().expect("attachments poisoned");
                let attachment = &attachments[&flow.peer];
                (attachment.ip, attachment.nat.is_some())
            };
            let device_ip = match peer_ip {
                IpAddr::V4(ip) if behind_nat => {
                    let [a, b, network, _] = ip.octets();
                    IpAddr::V4(Ipv4Addr::new(a, b, network, CROSS_PRIVATE_DEVICES + index))
                }
                _ => self.block.address(0, CROSS_PUBLIC_DEVICES + index),
            };
            let server = format!("{}.server", flow.name);
            let server_ip = self.block.address(0, CROSS_SERVER_HOSTS + index);
            let now = self.runtime.elapsed();
            self.runtime.with_network(|network| {
                network.add_interface_sharing(&flow.name, device_ip, peer_ip);
                network.add_interface(
                    now,
                    &server,
                    server_ip,
                    LinkConfig::default(),
                    LinkConfig::default(),
                );
            });
            for (host, ip) in [(&flow.name, device_ip), (&server, server_ip)] {
                self.runtime.set_host_address(host, ip);
                self.book.name(ip, host.clone());
            }
            let ends = Ends {
                device: (&flow.name, device_ip),
                server: (&server, server_ip),
                port: CROSS_PORT,
            };
            cross::start(&self.runtime, &self.recorder, flow, ends);
        }
        Ok(())
    }

    /// Carries out `timeline` at its times, in time order (entries at one time in order).
    pub(crate) async fn play_timeline(
        self: &Arc<Self>,
        mut timeline: Vec<TimedAction>,
        apps: &BTreeMap<String, Arc<dyn AppControl>>,
    ) {
        timeline.sort_by_key(|timed| timed.at);
        for TimedAction { at, action } in timeline {
            self.runtime
                .sleep(at.saturating_sub(self.runtime.elapsed()))
                .await;
            self.apply(&action, apps).await;
        }
    }

    /// Carries out one timeline action and records it.
    async fn apply(self: &Arc<Self>, action: &Action, apps: &BTreeMap<String, Arc<dyn AppControl>>) {
        let detail = match action {
            Action::Link {
                peer,
                direction,
                change,
            } => {
                let (ip, now) = (self.attachment_ip(peer), self.runtime.elapsed());
                self.runtime.with_network(|network| {
                    let Some((up, down)) = network.access_link(ip) else {
                        return;
                    };
                    let up = if *direction == Direction::Down {
                        up
                    } else {
                        change.apply(&up)
                    };
                    let down = if *direction == Direction::Up {
                        down
                    } else {
                        change.apply(&down)
                    };
                    network.set_access_link(now, ip, up, down);
                });
                format!("{peer}'s link changes ({direction:?}): {change:?}")
            }
            Action::Outage { peer, duration } => {
                self.set_link_up(peer, false);
                self.relay.cut_off(peer);
                let app = apps.get(peer).cloned();
                if let Some(app) = &app {
                    app.network_changed(NetworkChange::LinkDown);
                }
                let (world, peer_name, wait) = (self.clone(), peer.clone(), self.runtime.sleep(*duration));
                self.runtime.spawn(Box::pin(async move {
                    wait.await;
                    world.set_link_up(&peer_name, true);
                    world.relay.reconnect(&peer_name);
                    if let Some(app) = app {
                        app.network_changed(NetworkChange::LinkUp);
                    }
                    world.record(What::Timeline {
                        action: "outage_end".to_owned(),
                        detail: format!("{peer_name}'s link is back"),
                    });
                }));
                format!("{peer}'s link goes down for {duration:?}")
            }
            Action::ServerOutage { server, duration } => {
                let Some(ip) = self
                    .servers
                    .lock()
                    .expect("servers poisoned")
                    .get(server)
                    .copied()
                else {
                    self.record_timeline(
                        action,
                        format!("there is no server `{server}`: nothing goes down"),
                    );
                    return;
                };
                self.set_host_up(ip, false);
                let (world, name, wait) = (self.clone(), server.clone(), self.runtime.sleep(*duration));
                self.runtime.spawn(Box::pin(async move {
                    wait.await;
                    world.set_host_up(ip, true);
                    world.record(What::Timeline {
                        action: "outage_end".to_owned(),
                        detail: format!("the {name} server's link is back"),
                    });
                }));
                format!("the {server} server's link goes down for {duration:?}")
            }
            Action::ChangeAddress { peer, nat, link } => {
                let (old_ip, detail) = (
                    self.attachment_ip(peer),
                    self.change_address(peer, nat.clone(), link.clone()),
                );
                if let Some(app) = apps.get(peer) {
                    app.network_changed(NetworkChange::AddressGone(old_ip));
                    app.network_changed(NetworkChange::AddressUp(self.attachment_ip(peer)));
                }
                detail
            }
            Action::NatReset { peer } => self.with_nat(peer, |nat| nat.reset()),
            Action::Nat { peer, config } => self.with_nat(peer, |nat| nat.set_config(config.clone())),
            Action::Firewall { peer, config } => {
                let ip = self.attachment_ip(peer);
                self.runtime
                    .with_network(|network| network.set_firewall(ip, config.clone()));
                match config {
                    Some(config) => format!("{peer}'s network's firewall: {config:?}"),
                    None => format!("{peer}'s network has no firewall any more"),
                }
            }
            Action::Signaling(change) => {
                match change {
                    SignalingChange::Cut => self.relay.cut(),
                    SignalingChange::Restore => self.relay.restore(),
                    SignalingChange::Delay(delay) => self.relay.set_delay(*delay),
                }
                format!("signaling relay: {change:?}")
            }
            Action::SetIceServers { peer, servers } => {
                apps[peer].set_ice_servers(rtc_ice_servers(servers)).await;
                let names: Vec<String> = servers.iter().map(IceServer::to_string).collect();
                format!("{peer} sets ICE servers [{}]", names.join(", "))
            }
            Action::RestartIce { peer } => {
                self.record_timeline(action, format!("{peer} restarts ICE"));
                apps[peer].restart_ice().await;
                return;
            }
            Action::PauseMedia { peer, duration } => {
                apps[peer].pause_media(*duration).await;
                format!("{peer} sends no audio or video for {duration:?}")
            }
            Action::Close { peer } => {
                apps[peer].close().await;
                format!("{peer} hangs up")
            }
        };
        self.record_timeline(action, detail);
    }

    fn record_timeline(&self, action: &Action, detail: String) {
        self.record(What::Timeline {
            action: action.name().to_owned(),
            detail,
        });
    }

    fn record(&self, what: What) {
        self.recorder.record(self.runtime.elapsed(), what);
    }

    fn attachment_ip(&self, peer: &str) -> IpAddr {
        self.attachments.lock().expect("attachments poisoned")[peer].ip
    }

    fn set_link_up(&self, peer: &str, up: bool) {
        self.set_host_up(self.attachment_ip(peer), up);
    }

    /// Takes the access link of the host at `ip` down, or brings it back, both ways.
    fn set_host_up(&self, ip: IpAddr, up: bool) {
        let now = self.runtime.elapsed();
        self.runtime.with_network(|network| {
            if let Some((uplink, downlink)) = network.access_link(ip) {
                network.set_access_link(
                    now,
                    ip,
                    LinkConfig { up, ..uplink },
                    LinkConfig { up, ..downlink },
                );
            }
        });
    }

    /// Runs `f` on the NAT in front of `peer`; describes what happened.
    fn with_nat(&self, peer: &str, f: impl FnOnce(&mut crate::net::Nat)) -> String {
        let nat_ip = self.attachments.lock().expect("attachments poisoned")[peer].nat;
        let Some(nat_ip) = nat_ip else {
            return format!("{peer} is behind no NAT: nothing to change");
        };
        self.runtime
            .with_network(|network| network.nat_mut(nat_ip).map(f));
        format!(
            "the NAT in front of {peer} ({})",
            self.book.label(SocketAddr::new(nat_ip, 0))
        )
    }

    /// Moves `peer` to a new network: the old interface disappears, the next bind (an ICE
    /// restart) lands on the new address, the peer's own or its tasks' wildcard one.
    fn change_address(
        &self,
        peer: &str,
        nat: Option<crate::net::NatConfig>,
        link: Option<LinkConfig>,
    ) -> String {
        let old_ip = self.attachment_ip(peer);
        let (uplink, downlink) = match link {
            Some(link) => (link.clone(), link),
            None => self
                .runtime
                .with_network(|network| network.access_link(old_ip))
                .unwrap_or_default(),
        };
        // `alice#2`: a moved interface reads differently from the one it replaced, so a
        // selected pair `alice:5000 ⇒ alice#2:5000` shows the move. `#` is in no peer name.
        let interfaces = self.attachments.lock().expect("attachments poisoned")[peer].interfaces + 1;
        let label = format!("{peer}#{interfaces}");
        let (ip, nat_ip) = self.new_interface(peer, &label, nat, uplink, downlink);
        let now = self.runtime.elapsed();
        self.runtime
            .with_network(|network| network.remove_interface(now, old_ip));
        self.runtime.set_host_address(peer, ip);
        let mut attachments = self.attachments.lock().expect("attachments poisoned");
        let attachment = attachments.get_mut(peer).expect("every peer is attached");
        attachment.interfaces = interfaces;
        attachment.ip = ip;
        attachment.nat = nat_ip;
        attachment.bind.move_to(ip);
        let behind = nat_ip
            .map(|nat| format!(" behind {}", self.book.label(SocketAddr::new(nat, 0))))
            .unwrap_or_default();
        format!("{peer} moves to a new network{behind}")
    }

    /// Adds what the network saw (drops, server notes) to the trace, with names for addresses.
    fn record_network_evidence(&self) {
        let (drops, notes) = self
            .runtime
            .with_network(|network| (network.take_drops(), network.take_notes()));
        for drop in drops {
            self.recorder.record(
                drop.at,
                What::NetworkDrop {
                    from: self.book.label(drop.from),
                    to: self.book.label(drop.to),
                    size: drop.size,
                    hop: drop.hop,
                    reason: drop.reason,
                },
            );
        }
        for note in notes {
            self.recorder.record(
                note.at,
                What::Server {
                    server: note.server,
                    note: self.book.relabel(&note.note),
                },
            );
        }
    }
}

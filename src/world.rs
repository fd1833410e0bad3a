//! Builds a world from a [`Scenario`] — addresses, network, runtime, relay, peers — plays
//! the call on the virtual clock, and hands back the trace.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use webrtc::runtime::Runtime;

use crate::metrics::Metrics;
use crate::net::{Counters, LinkConfig, Network, StunServer, TURN_PORT, TurnServer, sub_seed};
use crate::peer::{MediaPlan, Peer, PeerSetup, Role};
use crate::runtime::{SimRuntime, Stuck};
use crate::scenario::{IceServer, Scenario, Servers};
use crate::signaling::Relay;
use crate::trace::{Event, Recorder, What};

/// The port every peer binds on its interface address.
const PEER_PORT: u16 = 5000;
/// The simulated DNS names of the servers.
const STUN_NAME: &str = "stun.netsim";
const TURN_NAME: &str = "turn.netsim";
/// After the senders stop, the world runs this long so packets in flight arrive before the
/// peers hang up; what is still in flight after it counts as lost.
const DRAIN: Duration = Duration::from_secs(1);
/// Virtual time allowed after the drain for closing.
const CLOSING_GRACE: Duration = Duration::from_secs(5);

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
    #[error("scenario `{scenario}` (seed {seed}) got stuck: {stuck}")]
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
    /// Every address a simulated socket bound.
    pub bound_addresses: Vec<SocketAddr>,
    /// Whether any real socket found a datagram in the kernel (it never should).
    pub kernel_received_anything: bool,
    /// Wall-clock time the run took.
    pub wall_time: Duration,
}

/// Names for the world's addresses, so the trace reads `alice:5000` and stays the same
/// whichever 127.x block the run happened to get.
#[derive(Debug, Default)]
pub struct AddressBook {
    names: BTreeMap<IpAddr, String>,
}

impl AddressBook {
    /// `name:port` for a known address, the address itself otherwise.
    pub fn label(&self, addr: SocketAddr) -> String {
        match self.names.get(&addr.ip()) {
            Some(name) => format!("{name}:{}", addr.port()),
            None => addr.to_string(),
        }
    }

    /// `text` with every `ip:` of a known address replaced by its name (server notes).
    pub fn relabel(&self, text: &str) -> String {
        self.names.iter().fold(text.to_owned(), |text, (ip, name)| {
            text.replace(&format!("{ip}:"), &format!("{name}:"))
        })
    }

    /// Like [`AddressBook::label`], for an address given as text (as candidates carry it).
    pub fn label_text(&self, ip: &str, port: u16) -> String {
        match ip.parse::<IpAddr>() {
            Ok(ip) => self.label(SocketAddr::new(ip, port)),
            Err(_) => format!("{ip}:{port}"),
        }
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
    /// network behind the n-th NAT.
    fn address(&self, network: u8, host: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(127, self.second_octet, network, host))
    }
}

/// Builds the network of `scenario` in `block`: each peer on the core or behind its own
/// NAT, then the servers. Returns it with the address book and each peer's address.
fn build_network(
    scenario: &Scenario,
    peers: [&crate::scenario::PeerSpec; 2],
    block: &AddressBlock,
) -> (Network, AddressBook, Vec<IpAddr>) {
    let mut network = Network::new(scenario.core.clone(), sub_seed(scenario.seed, 1));
    let mut book = AddressBook::default();
    let mut peer_addresses = Vec::new();
    for (index, spec) in peers.into_iter().enumerate() {
        let index = index as u8;
        let ip = match &spec.nat {
            None => block.address(0, index + 1),
            Some(_) => block.address(index + 1, 1),
        };
        network.add_interface(&spec.name, ip, spec.uplink.clone(), spec.downlink.clone());
        book.names.insert(ip, spec.name.clone());
        if let Some(nat) = &spec.nat {
            let public_ip = block.address(0, 100 + index);
            let name = format!("nat-{}", spec.name);
            network.add_nat(&name, public_ip, nat.clone(), ip);
            book.names.insert(public_ip, name);
        }
        peer_addresses.push(ip);
    }
    (network, book, peer_addresses)
}

/// Puts the scenario's STUN and TURN servers on core hosts and names them in the DNS.
fn start_servers(
    servers: &Servers,
    block: &AddressBlock,
    runtime: &SimRuntime,
    book: &mut AddressBook,
) -> Result<(), String> {
    if servers.stun {
        let ip = block.address(0, 200);
        runtime.with_network(|network| {
            network.add_interface("stun", ip, LinkConfig::default(), LinkConfig::default());
            network.add_server(ip, Box::new(StunServer));
        });
        runtime.add_name(STUN_NAME, ip);
        book.names.insert(ip, "stun".to_owned());
    }
    if let Some(credentials) = &servers.turn {
        let ip = block.address(0, 201);
        let users = BTreeMap::from([(credentials.user.clone(), credentials.password.clone())]);
        let server = TurnServer::new(ip, users)?;
        runtime.with_network(|network| {
            network.add_interface("turn", ip, LinkConfig::default(), LinkConfig::default());
            network.add_server(ip, Box::new(server));
        });
        runtime.add_name(TURN_NAME, ip);
        book.names.insert(ip, "turn".to_owned());
    }
    Ok(())
}

/// The `RTCIceServer`s a peer is configured with.
fn ice_servers(servers: &[IceServer]) -> Vec<webrtc::peer_connection::RTCIceServer> {
    servers
        .iter()
        .map(|server| match server {
            IceServer::Stun => webrtc::peer_connection::RTCIceServer {
                urls: vec![format!("stun:{STUN_NAME}:3478")],
                ..Default::default()
            },
            IceServer::Turn(credentials) => webrtc::peer_connection::RTCIceServer {
                urls: vec![format!("turn:{TURN_NAME}:{TURN_PORT}?transport=udp")],
                username: credentials.user.clone(),
                credential: credentials.password.clone(),
            },
        })
        .collect()
}

/// Runs `scenario` to its end.
pub fn run(scenario: &Scenario) -> Result<Run, RunError> {
    let started = Instant::now();
    let invalid = |message: &str| RunError::Invalid {
        scenario: scenario.name.clone(),
        message: message.to_owned(),
    };
    let caller = scenario
        .peers
        .iter()
        .find(|p| p.role == Role::Caller)
        .ok_or_else(|| invalid("no caller"))?;
    let callee = scenario
        .peers
        .iter()
        .find(|p| p.role == Role::Callee)
        .ok_or_else(|| invalid("no callee"))?;
    if scenario.peers.len() != 2 {
        return Err(invalid("a call has exactly two peers, one caller and one callee"));
    }

    let block = AddressBlock::reserve().map_err(|source| RunError::NoAddresses {
        scenario: scenario.name.clone(),
        source,
    })?;
    let (network, mut book, addresses) = build_network(scenario, [caller, callee], &block);
    let runtime = SimRuntime::new(network);
    start_servers(&scenario.servers, &block, &runtime, &mut book).map_err(|message| RunError::Setup {
        scenario: scenario.name.clone(),
        message,
    })?;
    let setups = [(caller, callee), (callee, caller)]
        .into_iter()
        .zip(addresses)
        .enumerate()
        .map(|(index, ((spec, remote), ip))| PeerSetup {
            name: spec.name.clone(),
            remote: remote.name.clone(),
            role: spec.role,
            media: MediaPlan {
                until: scenario.duration,
                ..spec.media.clone()
            },
            address: SocketAddr::new(ip, PEER_PORT),
            ice_servers: ice_servers(&spec.ice_servers),
            relay_only: spec.relay_only,
            seed: sub_seed(scenario.seed, 100 + index as u64),
        })
        .collect();
    let book = Arc::new(book);
    let recorder = Recorder::default();
    let relay = Relay::new(
        runtime.clone(),
        recorder.clone(),
        scenario.signaling_delay,
        sub_seed(scenario.seed, 2),
    );

    let call = play_call(
        setups,
        runtime.clone(),
        recorder.clone(),
        relay,
        book.clone(),
        scenario.duration,
    );
    let outcome = runtime.run_until(call, scenario.duration + DRAIN + CLOSING_GRACE);
    runtime.shut_down();
    let kernel_received_anything = match outcome {
        Ok(Ok(kernel_received_anything)) => kernel_received_anything,
        Ok(Err(message)) => {
            return Err(RunError::Setup {
                scenario: scenario.name.clone(),
                message,
            });
        }
        Err(stuck) => {
            return Err(RunError::Stuck {
                scenario: scenario.name.clone(),
                seed: scenario.seed,
                stuck,
            });
        }
    };

    for drop in runtime.with_network(|network| network.take_drops()) {
        let at = drop.at;
        recorder.record(
            at,
            What::NetworkDrop {
                from: book.label(drop.from),
                to: book.label(drop.to),
                size: drop.size,
                hop: drop.hop,
                reason: drop.reason,
            },
        );
    }
    for note in runtime.with_network(|network| network.take_notes()) {
        recorder.record(
            note.at,
            What::Server {
                server: note.server,
                note: book.relabel(&note.note),
            },
        );
    }
    let trace = recorder.events();
    Ok(Run {
        metrics: Metrics::from_trace(&trace, scenario.duration),
        trace,
        counters: runtime.with_network(|network| network.counters()),
        bound_addresses: runtime.bound_addresses(),
        kernel_received_anything,
        wall_time: started.elapsed(),
    })
}

/// The call itself, as the two apps play it: build, meet on the relay, offer, talk, hang up.
/// Returns whether the kernel received any datagram on the peers' real sockets.
async fn play_call(
    setups: Vec<PeerSetup>,
    runtime: SimRuntime,
    recorder: Recorder,
    relay: Relay,
    book: Arc<AddressBook>,
    duration: Duration,
) -> Result<bool, String> {
    let mut peers = Vec::new();
    for setup in setups {
        let inbox = relay.connect(&setup.name).map_err(|e| e.to_string())?;
        let name = setup.name.clone();
        let peer = Peer::build(
            setup,
            runtime.clone(),
            recorder.clone(),
            relay.clone(),
            book.clone(),
        )
        .await
        .map_err(|e| format!("building peer `{name}`: {e}"))?;
        runtime.spawn(Box::pin(peer.clone().handle_signals(inbox)));
        peers.push((name, peer));
    }
    let [(caller_name, caller), (callee_name, callee)] =
        <[_; 2]>::try_from(peers).map_err(|_| "two peers")?;

    let token = relay.create_session(&caller_name);
    relay.join(&token, &callee_name).map_err(|e| e.to_string())?;
    caller
        .call()
        .await
        .map_err(|e| format!("`{caller_name}` could not offer: {e}"))?;

    let remaining = (duration + DRAIN).saturating_sub(runtime.elapsed());
    runtime.sleep(remaining).await;
    let kernel_received_anything = runtime.kernel_received_anything();
    caller.close().await;
    callee.close().await;
    Ok(kernel_received_anything)
}

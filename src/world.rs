//! Builds a world from a [`Scenario`] — addresses, network, runtime, relay, peers — plays
//! the call on the virtual clock, and hands back the trace.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use webrtc::runtime::Runtime;

use crate::metrics::Metrics;
use crate::net::{Counters, Network, sub_seed};
use crate::peer::{MediaPlan, Peer, PeerSetup, Role};
use crate::runtime::{SimRuntime, Stuck};
use crate::scenario::Scenario;
use crate::signaling::Relay;
use crate::trace::{Event, Recorder, What};

/// The port every peer binds on its interface address.
const PEER_PORT: u16 = 5000;
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

    /// The address of the `index`-th host.
    fn host(&self, index: usize) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(127, self.second_octet, 0, index as u8 + 1))
    }
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
    let mut network = Network::new(scenario.core.clone(), sub_seed(scenario.seed, 1));
    let mut book = AddressBook::default();
    let mut setups = Vec::new();
    for (index, (spec, remote)) in [(caller, callee), (callee, caller)].into_iter().enumerate() {
        let ip = block.host(index);
        network.add_interface(&spec.name, ip, spec.uplink.clone(), spec.downlink.clone());
        book.names.insert(ip, spec.name.clone());
        setups.push(PeerSetup {
            name: spec.name.clone(),
            remote: remote.name.clone(),
            role: spec.role,
            media: MediaPlan {
                until: scenario.duration,
                ..spec.media.clone()
            },
            address: SocketAddr::new(ip, PEER_PORT),
            seed: sub_seed(scenario.seed, 100 + index as u64),
        });
    }
    let book = Arc::new(book);
    let runtime = SimRuntime::new(network);
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

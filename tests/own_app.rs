//! A plain webrtc-rs app, written as if for production — webrtc-rs's defaults (mDNS
//! `QueryOnly`, its own certificate), bound where its configuration says — runs unchanged
//! as two simulated hosts.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::channel::{mpsc, oneshot};
use futures::{SinkExt, StreamExt};
use rtc::ice::network_type::NetworkType;
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCIceCandidateInit,
    RTCPeerConnectionIceEvent, RTCPeerConnectionState, RTCSessionDescription,
};
use webrtc::peer_connection::{RTCIceProtocol, SettingEngineBuilder};
use webrtc::runtime::Runtime;
use webrtc_netsim::LinkConfig;
use webrtc_netsim::net::network::capturing;
use webrtc_netsim::net::{Network, Transport};
use webrtc_netsim::runtime::SimRuntime;

// ---- The app: nothing in it knows about the simulation. ----

/// What the two ends tell each other, in memory (a real app would use its server).
enum Signal {
    Description(Box<RTCSessionDescription>),
    Candidate(RTCIceCandidateInit),
}

/// Forwards local candidates to the other end and says when the connection is up.
struct Handler {
    signals: mpsc::UnboundedSender<Signal>,
    host_candidates: Arc<Mutex<Vec<String>>>,
    connected: Mutex<Option<oneshot::Sender<()>>>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        let candidate = &event.candidate;
        let address = format!("{}:{}", candidate.address, candidate.port);
        self.host_candidates.lock().unwrap().push(address);
        if let Ok(init) = candidate.to_json() {
            let _ = self.signals.unbounded_send(Signal::Candidate(init));
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        if state == RTCPeerConnectionState::Connected
            && let Some(connected) = self.connected.lock().unwrap().take()
        {
            let _ = connected.send(());
        }
    }
}

/// The handler of an app that only builds: webrtc-rs requires one.
struct Quiet;

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Quiet {}

/// What one end saw by the time it was connected.
struct Connected {
    host_candidates: Vec<String>,
    /// Kept open so the other end stays connected too.
    connection: Box<dyn PeerConnection>,
}

/// A connection as a plain app builds it: on the address its configuration gives (`bind`),
/// with webrtc-rs's defaults.
fn plain_builder(runtime: Arc<dyn Runtime>, bind: String) -> PeerConnectionBuilder<String> {
    PeerConnectionBuilder::new()
        .with_runtime(runtime)
        .with_udp_addrs(vec![bind])
}

/// Builds a connection as `builder` says, offers (or answers), trickles candidates, and
/// returns once it is connected.
async fn call(
    builder: PeerConnectionBuilder<String>,
    offerer: bool,
    outgoing: mpsc::UnboundedSender<Signal>,
    mut incoming: mpsc::UnboundedReceiver<Signal>,
) -> Connected {
    let host_candidates = Arc::new(Mutex::new(Vec::new()));
    let (connected_tx, connected) = oneshot::channel();
    let handler = Arc::new(Handler {
        signals: outgoing.clone(),
        host_candidates: host_candidates.clone(),
        connected: Mutex::new(Some(connected_tx)),
    });
    let connection = builder
        .with_handler(handler)
        .build()
        .await
        .expect("the connection builds");
    let mut outgoing = outgoing;
    if offerer {
        connection.create_data_channel("chat", None).await.unwrap();
        let offer = connection.create_offer(None).await.unwrap();
        connection.set_local_description(offer.clone()).await.unwrap();
        outgoing.send(Signal::Description(Box::new(offer))).await.unwrap();
    }
    let mut early = Vec::new();
    let mut connected = connected;
    loop {
        futures::select! {
            _ = connected => break,
            signal = incoming.next() => match signal.expect("the other end stays") {
                Signal::Description(description) => {
                    connection.set_remote_description(*description).await.unwrap();
                    if !offerer {
                        let answer = connection.create_answer(None).await.unwrap();
                        connection.set_local_description(answer.clone()).await.unwrap();
                        outgoing.send(Signal::Description(Box::new(answer))).await.unwrap();
                    }
                    for candidate in early.drain(..) {
                        connection.add_ice_candidate(candidate).await.unwrap();
                    }
                }
                Signal::Candidate(candidate) if connection.remote_description().await.is_some() => {
                    connection.add_ice_candidate(candidate).await.unwrap();
                }
                Signal::Candidate(candidate) => early.push(candidate),
            },
        }
    }
    let host_candidates = host_candidates.lock().unwrap().clone();
    Connected {
        host_candidates,
        connection: Box::new(connection),
    }
}

// ---- The test: two hosts, each running the app. ----

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

/// A runtime over the hosts alice (127.`block`.0.1) and bob (127.`block`.0.2), each on an
/// access link of 25 ms both ways: 100 ms from one to the other and back.
fn alice_and_bob(block: u8) -> (SimRuntime, IpAddr, IpAddr) {
    let (alice, bob) = (
        IpAddr::V4(Ipv4Addr::new(127, block, 0, 1)),
        IpAddr::V4(Ipv4Addr::new(127, block, 0, 2)),
    );
    let link = LinkConfig {
        delay: ms(25),
        ..LinkConfig::default()
    };
    let mut network = Network::new(LinkConfig::default(), 1);
    network.add_interface(Duration::ZERO, "alice", alice, link.clone(), link.clone());
    network.add_interface(Duration::ZERO, "bob", bob, link.clone(), link);
    let rt = SimRuntime::new(network);
    rt.set_host_address("alice", alice);
    rt.set_host_address("bob", bob);
    (rt, alice, bob)
}

/// What a plain app binds when its configuration names no interface.
const WILDCARD: &str = "0.0.0.0:0";

#[test]
fn a_plain_app_builds_on_a_host_and_is_refused_outside_any() {
    let (rt, alice, _) = alice_and_bob(91);
    let runtime: Arc<dyn Runtime> = Arc::new(rt.clone());

    let (done, built) = oneshot::channel();
    let on_alice = runtime.clone();
    rt.spawn_on("alice", async move {
        let built = plain_builder(on_alice, WILDCARD.to_owned())
            .with_handler(Arc::new(Quiet))
            .build()
            .await
            .map(|_connection| ());
        let _ = done.send(built);
    });
    let built = rt.run_until(built, Duration::from_secs(1)).unwrap().unwrap();
    assert!(
        built.is_ok(),
        "mDNS and the wildcard are accepted on alice: {built:?}"
    );
    assert!(
        rt.bound_addresses().iter().any(|addr| addr.ip() == alice),
        "the wildcard socket landed on alice: {:?}",
        rt.bound_addresses()
    );

    let outside = rt
        .run_until(
            plain_builder(runtime, WILDCARD.to_owned())
                .with_handler(Arc::new(Quiet))
                .build(),
            Duration::from_secs(1),
        )
        .unwrap();
    let error = outside.err().expect("refused outside any host").to_string();
    assert!(error.contains("no simulated host"), "{error}");
    rt.shut_down();
}

/// Alice (at `addresses[0]`) offers and Bob (`addresses[1]`) answers, each app on its host
/// building its connection as `builder` says for the host's address; what each end saw once
/// connected, and when.
fn alice_calls_bob(
    rt: &SimRuntime,
    addresses: [IpAddr; 2],
    builder: fn(Arc<dyn Runtime>, IpAddr) -> PeerConnectionBuilder<String>,
) -> Vec<(Connected, Duration)> {
    let (to_bob, from_alice) = mpsc::unbounded();
    let (to_alice, from_bob) = mpsc::unbounded();
    let mut ends = Vec::new();
    for ((host, offerer, outgoing, incoming), ip) in [
        ("alice", true, to_bob, from_bob),
        ("bob", false, to_alice, from_alice),
    ]
    .into_iter()
    .zip(addresses)
    {
        let (done, end) = oneshot::channel();
        let (runtime, clock) = (Arc::new(rt.clone()) as Arc<dyn Runtime>, rt.clone());
        rt.spawn_on(host, async move {
            let connected = call(builder(runtime, ip), offerer, outgoing, incoming).await;
            let _ = done.send((connected, clock.elapsed()));
        });
        ends.push(end);
    }
    let ends = rt
        .run_until(futures::future::join_all(ends), Duration::from_secs(10))
        .expect("both ends connect within 10 virtual seconds");
    ends.into_iter()
        .map(|end| end.expect("the end reported"))
        .collect()
}

/// Two hosts bound on the addresses the simulation gives them (as a real app binds what its
/// configuration names) connect over them.
#[test]
fn a_plain_app_on_two_hosts_connects_over_their_simulated_addresses() {
    let (rt, alice, bob) = alice_and_bob(90);
    let ends = alice_calls_bob(&rt, [alice, bob], |runtime, ip| {
        plain_builder(runtime, format!("{ip}:5000"))
    });
    for ((connected, at), ip) in ends.iter().zip([alice, bob]) {
        assert!(
            !connected.host_candidates.is_empty()
                && connected
                    .host_candidates
                    .iter()
                    .all(|candidate| candidate.starts_with(&format!("{ip}:"))),
            "host candidates on {ip}: {:?}",
            connected.host_candidates
        );
        // An ICE check and the DTLS handshake: at least 2 round trips of 100 ms.
        assert!(
            (ms(200)..Duration::from_secs(2)).contains(at),
            "connected at {at:?}"
        );
    }
    assert!(!rt.kernel_received_anything());
    rt.shut_down();
}

/// A finding pinned, so that a fix upstream shows up here: webrtc-rs 0.21.1 keys a socket by
/// the std socket's `local_addr()` before `wrap_udp_socket` (`bind_transports`,
/// src/peer_connection/driver.rs:662), and host candidates come from those keys. So a wildcard
/// bind gathers the machine's real interfaces (or `0.0.0.0`), which the simulated network
/// cannot reach, although the runtime holds the socket on the host's simulated address.
/// Keying by the wrapped socket's address, as its mDNS entry already is (driver.rs:752),
/// would make wildcard binds work unchanged.
#[test]
fn a_wildcard_bind_gathers_the_machines_real_interfaces_in_webrtc_rs_0_21() {
    let (rt, alice, _) = alice_and_bob(92);
    let runtime: Arc<dyn Runtime> = Arc::new(rt.clone());
    let (done, gathered) = oneshot::channel();
    let clock = rt.clone();
    rt.spawn_on("alice", async move {
        let host_candidates = Arc::new(Mutex::new(Vec::new()));
        let (signals, _unread) = mpsc::unbounded();
        let handler = Arc::new(Handler {
            signals,
            host_candidates: host_candidates.clone(),
            connected: Mutex::new(None),
        });
        let connection = plain_builder(runtime.clone(), WILDCARD.to_owned())
            .with_handler(handler)
            .build()
            .await
            .expect("the connection builds");
        connection.create_data_channel("chat", None).await.unwrap();
        let offer = connection.create_offer(None).await.unwrap();
        connection.set_local_description(offer).await.unwrap();
        runtime.sleep(Duration::from_secs(1)).await;
        let _ = done.send((host_candidates.lock().unwrap().clone(), clock.elapsed()));
        drop(connection);
    });
    let (candidates, _) = rt.run_until(gathered, Duration::from_secs(5)).unwrap().unwrap();
    assert!(!candidates.is_empty(), "host candidates are gathered");
    assert!(
        candidates
            .iter()
            .all(|candidate| !candidate.starts_with(&format!("{alice}:"))),
        "no host candidate is on alice's simulated address {alice}: {candidates:?}"
    );
    rt.shut_down();
}

/// ICE over TCP only (RFC 6544), set up as webrtc-rs's `ice-tcp-active-passive` example
/// does it: TCP candidates only, no UDP socket, a TCP listener on `tcp` (its passive
/// candidate; the active one connects from it through `connect_tcp`).
fn tcp_only_builder(runtime: Arc<dyn Runtime>, tcp: String) -> PeerConnectionBuilder<String> {
    let setting_engine = SettingEngineBuilder::new()
        .with_network_types(vec![NetworkType::Tcp4])
        .build();
    PeerConnectionBuilder::new()
        .with_runtime(runtime)
        .with_setting_engine(setting_engine)
        .with_udp_addrs(Vec::new())
        .with_tcp_addrs(vec![tcp])
}

/// The transport protocol of the candidate pair ICE selected on `connection`.
async fn selected_protocols(connection: &dyn PeerConnection) -> (RTCIceProtocol, RTCIceProtocol) {
    let sctp = connection.sctp().await.expect("a data channel's SCTP transport");
    let pair = sctp
        .transport()
        .ice_transport()
        .get_selected_candidate_pair()
        .await
        .expect("the ICE transport answers")
        .expect("a pair is selected once connected");
    (pair.local().protocol, pair.remote().protocol)
}

/// Two plain apps whose ICE may use TCP only connect over the simulated TCP, and every
/// packet on the wire is a TCP segment.
#[test]
fn two_apps_restricted_to_ice_tcp_connect_over_a_selected_tcp_pair() {
    let (outcome, captured) = capturing(|| {
        let (rt, alice, bob) = alice_and_bob(93);
        let ends = alice_calls_bob(&rt, [alice, bob], |runtime, ip| {
            tcp_only_builder(runtime, format!("{ip}:9443"))
        });
        let mut outcome = Vec::new();
        for (connected, at) in &ends {
            let limit = rt.elapsed() + Duration::from_secs(1);
            let protocols = rt.run_until(selected_protocols(&*connected.connection), limit);
            outcome.push((protocols.expect("the pair is read"), *at));
        }
        let counters = rt.with_network(|network| network.counters());
        drop(ends);
        rt.shut_down();
        (outcome, counters)
    });
    let (ends, counters) = outcome;
    for (protocols, at) in &ends {
        assert_eq!(*protocols, (RTCIceProtocol::Tcp, RTCIceProtocol::Tcp));
        // The TCP handshake, an ICE check and the DTLS handshake: at least 3 round trips.
        assert!(
            (ms(300)..Duration::from_secs(3)).contains(at),
            "connected at {at:?}"
        );
    }
    assert!(!captured.is_empty());
    assert!(
        captured
            .iter()
            .all(|record| record.datagram.transport == Transport::Tcp),
        "no UDP on the wire"
    );
    assert!(counters.balanced(), "{counters:?}");
    eprintln!(
        "ICE-TCP connected at {:?}; {} segments",
        ends.iter().map(|e| e.1).collect::<Vec<_>>(),
        counters.sent
    );
}

//! The `Runtime`'s TCP contract on the simulated network, each part pinned by a test that
//! could fail: accept, refusal, reset, close, a large transfer across loss, NATs, and
//! determinism.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use webrtc::runtime::{AsyncTcpListener, Runtime};

use crate::net::{Counters, LinkConfig, NatConfig, Network};
use crate::runtime::SimRuntime;

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

/// Alice (127.`block`.0.1) and Bob (127.`block`.0.2), each on an access link of `access`
/// both ways; Alice behind a NAT at 127.`block`.0.100 if `nat` is given.
struct World {
    rt: SimRuntime,
    alice: IpAddr,
    bob: IpAddr,
}

fn world(block: u8, access: LinkConfig, nat: Option<NatConfig>, seed: u64) -> World {
    let ip = |last| IpAddr::V4(Ipv4Addr::new(127, block, 0, last));
    let (alice, bob) = (ip(1), ip(2));
    let mut network = Network::new(LinkConfig::default(), seed);
    network.add_interface(Duration::ZERO, "alice", alice, access.clone(), access.clone());
    network.add_interface(Duration::ZERO, "bob", bob, access.clone(), access);
    if let Some(nat) = nat {
        network.add_nat("nat-alice", ip(100), nat, alice);
    }
    let rt = SimRuntime::new(network);
    rt.set_host_address("alice", alice);
    rt.set_host_address("bob", bob);
    World { rt, alice, bob }
}

fn delay(millis: u64) -> LinkConfig {
    LinkConfig {
        delay: ms(millis),
        ..LinkConfig::default()
    }
}

/// Listens on `addr` as webrtc-rs does: a real listener first, handed to the runtime.
fn listen(rt: &SimRuntime, addr: SocketAddr) -> Arc<dyn AsyncTcpListener> {
    let real = std::net::TcpListener::bind(addr).expect("127/8 is bindable");
    rt.wrap_tcp_listener(real).expect("the simulation listens")
}

/// Runs `future` as `host` until it ends.
fn run_as<T>(rt: &SimRuntime, host: &str, future: impl Future<Output = T>) -> T {
    rt.run_until(rt.as_host(host, future), Duration::from_secs(600))
        .expect("the run ends")
}

/// Spawns `future` on `host`; its output lands in the returned slot.
fn spawn_on<T: Send + 'static>(
    rt: &SimRuntime,
    host: &str,
    future: impl Future<Output = T> + Send + 'static,
) -> Arc<Mutex<Option<T>>> {
    let slot = Arc::new(Mutex::new(None));
    let output = slot.clone();
    rt.spawn_on(host, async move {
        let value = future.await;
        *output.lock().unwrap() = Some(value);
    });
    slot
}

fn taken<T>(slot: &Arc<Mutex<Option<T>>>) -> T {
    slot.lock().unwrap().take().expect("the task finished")
}

fn counters(rt: &SimRuntime) -> Counters {
    rt.with_network(|network| network.counters())
}

#[test]
fn a_connection_is_accepted_after_the_handshake_with_each_side_seeing_the_others_address() {
    let World { rt, alice, bob } = world(90, delay(10), None, 1);
    let listener = listen(&rt, SocketAddr::new(bob, 4443));
    let clock = rt.clone();
    let accepted = spawn_on(&rt, "bob", async move {
        let (stream, peer) = listener.accept().await.unwrap();
        (stream.local_addr().unwrap(), peer, clock.elapsed())
    });
    let (client, clock) = (rt.clone(), rt.clone());
    let connected = run_as(&rt, "alice", async move {
        let stream = client.connect_tcp(SocketAddr::new(bob, 4443)).await.unwrap();
        let at = clock.elapsed();
        clock.sleep(ms(100)).await;
        (stream.local_addr().unwrap(), stream.peer_addr().unwrap(), at)
    });
    let (alice_local, alice_peer, connected_at) = connected;
    assert_eq!(alice_local.ip(), alice);
    assert_eq!(alice_peer, SocketAddr::new(bob, 4443));
    assert_eq!(connected_at, ms(40), "SYN and SYN-ACK, two 10 ms links each way");
    let (bob_local, bob_peer, accepted_at) = taken(&accepted);
    assert_eq!(bob_local, SocketAddr::new(bob, 4443));
    assert_eq!(bob_peer, alice_local);
    assert_eq!(accepted_at, ms(60), "once the handshake's ACK arrived");
    assert!(counters(&rt).balanced());
}

#[test]
fn a_connection_to_a_port_nobody_listens_on_is_refused_by_an_rst() {
    let World { rt, bob, .. } = world(91, delay(10), None, 1);
    let (client, clock) = (rt.clone(), rt.clone());
    let (result, at) = run_as(&rt, "alice", async move {
        let result = client.connect_tcp(SocketAddr::new(bob, 4443)).await;
        (result.map(|_| ()), clock.elapsed())
    });
    assert_eq!(result.unwrap_err().kind(), std::io::ErrorKind::ConnectionRefused);
    assert_eq!(at, ms(40), "the SYN there, the RST back");
    let counters = counters(&rt);
    assert_eq!((counters.sent, counters.delivered, counters.dropped), (2, 2, 0));
    assert!(counters.balanced());
}

#[test]
fn dropping_a_stream_closes_it_and_the_peer_reads_everything_then_the_end() {
    let World { rt, bob, .. } = world(92, delay(10), None, 1);
    let listener = listen(&rt, SocketAddr::new(bob, 4443));
    let read = spawn_on(&rt, "bob", async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut received = Vec::new();
        let mut buf = [0u8; 64];
        loop {
            match stream.read(&mut buf).await.unwrap() {
                0 => break received,
                n => received.extend_from_slice(&buf[..n]),
            }
        }
    });
    let client = rt.clone();
    run_as(&rt, "alice", async move {
        let stream = client.connect_tcp(SocketAddr::new(bob, 4443)).await.unwrap();
        stream.write_all(b"hello, bob").await.unwrap();
    });
    rt.run_until(rt.sleep(Duration::from_secs(1)), Duration::MAX)
        .unwrap();
    assert_eq!(taken(&read), b"hello, bob", "the data, then Ok(0)");
}

#[test]
fn a_peer_that_drops_a_stream_with_unread_data_resets_it() {
    let World { rt, bob, .. } = world(93, delay(10), None, 1);
    let listener = listen(&rt, SocketAddr::new(bob, 4443));
    let clock = rt.clone();
    spawn_on(&rt, "bob", async move {
        let (stream, _) = listener.accept().await.unwrap();
        clock.sleep(ms(200)).await;
        drop(stream); // the data alice sent is still unread
    });
    let client = rt.clone();
    let read = run_as(&rt, "alice", async move {
        let stream = client.connect_tcp(SocketAddr::new(bob, 4443)).await.unwrap();
        stream.write_all(b"never read").await.unwrap();
        let mut buf = [0u8; 16];
        let read = stream.read(&mut buf).await;
        let write = stream.write_all(b"more").await;
        (read.map_err(|e| e.kind()), write.map_err(|e| e.kind()))
    });
    assert_eq!(
        read,
        (
            Err(std::io::ErrorKind::ConnectionReset),
            Err(std::io::ErrorKind::ConnectionReset)
        )
    );
}

/// Alice sends `bytes` bytes to Bob across access links of `access`; what Bob read, when
/// he read the end, and the network's counters then.
fn transfer(block: u8, access: LinkConfig, seed: u64, bytes: usize) -> (Vec<u8>, Duration, Counters) {
    let World { rt, bob, .. } = world(block, access, None, seed);
    let listener = listen(&rt, SocketAddr::new(bob, 4443));
    let clock = rt.clone();
    let read = spawn_on(&rt, "bob", async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut received = Vec::new();
        let mut buf = vec![0u8; 4096];
        loop {
            match stream.read(&mut buf).await.unwrap() {
                0 => break (received, clock.elapsed()),
                n => received.extend_from_slice(&buf[..n]),
            }
        }
    });
    let client = rt.clone();
    let data = pattern(bytes);
    run_as(&rt, "alice", async move {
        let stream = client.connect_tcp(SocketAddr::new(bob, 4443)).await.unwrap();
        stream.write_all(&data).await.unwrap();
        // Dropped: closes once everything is sent.
    });
    rt.run_until(rt.sleep(Duration::from_secs(120)), Duration::MAX)
        .unwrap();
    let (received, done) = taken(&read);
    (received, done, counters(&rt))
}

/// Bytes that differ from one position to the next, so that a reordering shows.
fn pattern(bytes: usize) -> Vec<u8> {
    (0..bytes).map(|i| (i % 251) as u8 ^ (i / 251) as u8).collect()
}

fn lossy(loss: f64) -> LinkConfig {
    LinkConfig {
        loss: if loss > 0.0 {
            crate::net::Loss::Random(loss)
        } else {
            crate::net::Loss::None
        },
        rate_bps: Some(10_000_000),
        ..delay(10)
    }
}

#[test]
fn a_megabyte_crosses_a_lossy_link_intact_and_in_order_but_later_than_without_loss() {
    let megabyte = 1 << 20;
    let (clean, clean_done, clean_counters) = transfer(94, lossy(0.0), 1, megabyte);
    let (received, lossy_done, counters) = transfer(95, lossy(0.02), 1, megabyte);
    assert!(clean == pattern(megabyte), "clean: {} bytes arrived", clean.len());
    assert!(
        received == pattern(megabyte),
        "lossy: {} bytes arrived",
        received.len()
    );
    let lost = |counters: &Counters| counters.dropped;
    assert_eq!(lost(&clean_counters), 0);
    assert!(lost(&counters) > 10, "2 % of the segments and ACKs: {counters:?}");
    assert!(
        lossy_done > clean_done + Duration::from_millis(500),
        "retransmissions take time: {lossy_done:?} against {clean_done:?}"
    );
    assert!(counters.balanced() && clean_counters.balanced());
    eprintln!(
        "1 MiB at 10 Mbit/s, 40 ms RTT: {clean_done:?} clean, {lossy_done:?} at 2 % loss; {} and {} segments",
        clean_counters.sent, counters.sent
    );
}

#[test]
fn the_same_seed_gives_the_same_transfer_and_another_seed_another() {
    let run = |block, seed| {
        let (received, done, counters) = transfer(block, lossy(0.02), seed, 256 * 1024);
        assert!(received == pattern(256 * 1024));
        (done, counters)
    };
    let first = run(96, 7);
    assert_eq!(run(97, 7), first, "seed 7 twice");
    assert_ne!(run(98, 8).0, first.0, "seed 8 loses other segments");
}

#[test]
fn one_listener_accepts_connections_that_arrive_together_in_the_order_they_came() {
    let World { rt, bob, .. } = world(99, delay(10), None, 1);
    let listener = listen(&rt, SocketAddr::new(bob, 4443));
    let accepted = spawn_on(&rt, "bob", async move {
        let mut peers = Vec::new();
        for _ in 0..3 {
            peers.push(listener.accept().await.unwrap().1);
        }
        peers
    });
    let client = rt.clone();
    let locals = run_as(&rt, "alice", async move {
        let connections = (0..3).map(|_| client.connect_tcp(SocketAddr::new(bob, 4443)));
        let streams = futures::future::try_join_all(connections).await.unwrap();
        streams
            .iter()
            .map(|s| s.local_addr().unwrap())
            .collect::<Vec<_>>()
    });
    rt.run_until(rt.sleep(ms(100)), Duration::MAX).unwrap();
    assert_eq!(
        taken(&accepted),
        locals,
        "three SYNs at one instant, three connections"
    );
}

#[test]
fn behind_a_nat_alice_connects_out_but_a_syn_to_her_goes_unanswered_until_the_timeout() {
    let World { rt, alice, bob } = world(100, delay(10), Some(NatConfig::port_restricted_cone()), 1);
    let listener = listen(&rt, SocketAddr::new(bob, 4443));
    let seen_from = spawn_on(&rt, "bob", async move { listener.accept().await.unwrap().1 });
    let client = rt.clone();
    let local = run_as(&rt, "alice", async move {
        let stream = client.connect_tcp(SocketAddr::new(bob, 4443)).await.unwrap();
        stream.local_addr().unwrap()
    });
    rt.run_until(rt.sleep(ms(100)), Duration::MAX).unwrap();
    let public = taken(&seen_from);
    assert_eq!(local.ip(), alice);
    assert_eq!(
        public.ip(),
        "127.100.0.100".parse::<IpAddr>().unwrap(),
        "Bob sees the NAT"
    );

    let alice_listener = listen(&rt, SocketAddr::new(alice, 5555));
    let (client, clock) = (rt.clone(), rt.clone());
    let started = rt.elapsed();
    let (refused, at) = run_as(&rt, "bob", async move {
        let result = client.connect_tcp(SocketAddr::new(public.ip(), 5555)).await;
        (result.map(|_| ()).unwrap_err().kind(), clock.elapsed())
    });
    assert_eq!(refused, std::io::ErrorKind::TimedOut);
    assert_eq!(at - started, super::CONNECT_TIMEOUT, "every SYN was filtered");
    let filtered = rt.with_network(|network| network.take_drops());
    assert!(
        !filtered.is_empty()
            && filtered
                .iter()
                .all(|drop| drop.reason == crate::net::Undelivered::Nat(crate::net::NatDrop::NoBinding)),
        "{filtered:?}"
    );
    drop(alice_listener);
    assert!(counters(&rt).balanced());
}

#[test]
fn a_wildcard_listener_of_a_hosts_task_listens_on_the_hosts_address() {
    let World { rt, bob, .. } = world(101, delay(10), None, 1);
    let binder = rt.clone();
    let local = run_as(&rt, "bob", async move {
        let real = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
        let port = real.local_addr().unwrap().port();
        let listener = binder.wrap_tcp_listener(real).unwrap();
        (listener.local_addr().unwrap(), port)
    });
    assert_eq!(
        local.0,
        SocketAddr::new(bob, local.1),
        "bob's address, the real port"
    );
}

#[test]
fn the_wall_clock_mode_has_no_tcp() {
    let rt = SimRuntime::realtime(Network::new(LinkConfig::default(), 1)).unwrap();
    let real = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    assert_eq!(
        rt.wrap_tcp_listener(real).unwrap_err().kind(),
        std::io::ErrorKind::Unsupported
    );
    rt.shut_down();
}

#[test]
fn a_stream_outliving_its_world_fails_instead_of_panicking() {
    let World { rt, bob, .. } = world(102, delay(10), None, 1);
    let listener = listen(&rt, SocketAddr::new(bob, 4443));
    spawn_on(&rt, "bob", async move { listener.accept().await.map(drop) });
    let client = rt.clone();
    let stream = run_as(&rt, "alice", async move {
        client.connect_tcp(SocketAddr::new(bob, 4443)).await.unwrap()
    });
    rt.shut_down();
    let mut buf = [0u8; 8];
    let read = futures::FutureExt::now_or_never(stream.read(&mut buf));
    assert_eq!(
        read.map(|read| read.map_err(|e| e.kind())),
        Some(Err(std::io::ErrorKind::NotConnected))
    );
}

#[test]
fn a_lost_segment_is_sent_again_when_the_retransmission_timer_fires_on_the_virtual_clock() {
    let World { rt, alice, bob } = world(103, delay(10), None, 1);
    let listener = listen(&rt, SocketAddr::new(bob, 4443));
    let clock = rt.clone();
    let read = spawn_on(&rt, "bob", async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 16];
        let read = stream.read(&mut buf).await.unwrap();
        (buf[..read].to_vec(), clock.elapsed())
    });
    let (client, network) = (rt.clone(), rt.clone());
    run_as(&rt, "alice", async move {
        let stream = client.connect_tcp(SocketAddr::new(bob, 4443)).await.unwrap();
        client.sleep(ms(10)).await;
        // At 50 ms Alice's uplink goes down for the length of her write, and comes back.
        let down = LinkConfig {
            up: false,
            ..delay(10)
        };
        network.with_network(|n| n.set_access_link(ms(50), alice, down, delay(10)));
        stream.write_all(b"once more").await.unwrap();
        network.with_network(|n| n.set_access_link(ms(50), alice, delay(10), delay(10)));
        client.sleep(Duration::from_secs(2)).await;
    });
    assert_eq!(
        taken(&read),
        (b"once more".to_vec(), ms(50) + Duration::from_secs(1) + ms(20)),
        "resent after smoltcp's minimum RTO of 1 s, then two 10 ms links"
    );
    let drops = rt.with_network(|network| network.take_drops());
    assert_eq!(drops.len(), 1, "{drops:?}");
}

#[test]
fn a_port_is_listened_on_again_while_its_accepted_connections_stay_open_but_not_twice() {
    // What an ICE restart's rebind does: the old listener goes, its accepted connection stays,
    // and a new listener takes the port, as on Linux with SO_REUSEADDR.
    let World { rt, bob, .. } = world(91, delay(10), None, 1);
    let port = SocketAddr::new(bob, 4443);
    let listener = listen(&rt, port);
    let accepted = spawn_on(&rt, "bob", async move { listener.accept().await.unwrap().0 });
    let client = rt.clone();
    let stream = run_as(&rt, "alice", async move {
        let stream = client.connect_tcp(port).await.unwrap();
        client.sleep(ms(100)).await;
        stream
    });
    let _kept = taken(&accepted);
    let again = std::net::TcpListener::bind(port).expect("the real port is free");
    let relistened = rt.as_host("bob", async { rt.wrap_tcp_listener(again) });
    let relistened = futures::executor::block_on(relistened).expect("the port takes a new listener");
    let twice = std::net::TcpListener::bind(SocketAddr::new(bob, 0)).unwrap();
    drop(twice);
    let clash = std::net::TcpListener::bind(port).expect("the real port is free");
    let error = rt
        .wrap_tcp_listener(clash)
        .expect_err("a second listener on one port");
    assert_eq!(error.kind(), std::io::ErrorKind::AddrInUse);
    drop((relistened, stream));
}

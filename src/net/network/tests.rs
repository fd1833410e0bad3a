//! Routing through links, NATs and servers, without webrtc.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use super::*;
use crate::net::nat::NatConfig;

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

fn ip(last: u8, network: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 60, network, last))
}

fn at(ip: IpAddr, port: u16) -> SocketAddr {
    SocketAddr::new(ip, port)
}

/// Echoes every datagram back to where it came from, as a STUN server would.
#[derive(Debug)]
struct Echo;

impl Server for Echo {
    fn receive(&mut self, _now: Duration, datagram: Datagram) -> Reply {
        Reply {
            datagrams: vec![Datagram {
                from: datagram.to,
                to: datagram.from,
                transport: Transport::Udp,
                payload: datagram.payload,
            }],
            notes: vec!["echoed".to_owned()],
        }
    }
}

/// Alice (private 127.60.1.1) behind a port-restricted NAT (127.60.0.100); Bob and an echo
/// server on public addresses; 10 ms on every access link.
fn network() -> Network {
    let access = LinkConfig {
        delay: ms(10),
        ..LinkConfig::default()
    };
    let mut network = Network::new(LinkConfig::default(), 1);
    network.add_interface(Duration::ZERO, "alice", ip(1, 1), access.clone(), access.clone());
    network.add_nat(
        "nat-alice",
        ip(100, 0),
        NatConfig::port_restricted_cone(),
        ip(1, 1),
    );
    network.add_interface(Duration::ZERO, "bob", ip(2, 0), access.clone(), access.clone());
    network.add_interface(Duration::ZERO, "echo", ip(200, 0), access.clone(), access);
    network.add_server(ip(200, 0), Box::new(Echo));
    network
}

fn run(network: &mut Network, until: Duration) -> Vec<(Duration, Datagram)> {
    let mut arrived = Vec::new();
    while let Some(next) = network.next_event().filter(|next| *next <= until) {
        arrived.extend(network.advance(next));
    }
    arrived
}

#[test]
fn a_reply_comes_back_through_the_nat_that_translated_the_request() {
    let mut network = network();
    let alice = at(ip(1, 1), 5000);
    network.send(
        ms(0),
        Datagram {
            from: alice,
            to: at(ip(200, 0), 3478),
            transport: Transport::Udp,
            payload: b"ping".to_vec(),
        },
    );
    let arrived = run(&mut network, Duration::from_secs(1));
    assert_eq!(arrived.len(), 1, "the echo came back: {arrived:?}");
    let (when, datagram) = &arrived[0];
    assert_eq!(*when, ms(40), "four 10 ms access-link hops");
    assert_eq!(datagram.to, alice, "translated back to the private address");
    assert_eq!(datagram.from, at(ip(200, 0), 3478));
    let notes = network.take_notes();
    assert_eq!(
        (notes[0].server.as_str(), notes[0].note.as_str()),
        ("echo", "echoed")
    );
    assert!(network.counters().balanced());
}

#[test]
fn an_unsolicited_datagram_is_dropped_by_the_nat_with_its_reason() {
    let mut network = network();
    network.send(
        ms(0),
        Datagram {
            from: at(ip(2, 0), 5000),
            to: at(ip(100, 0), 5000),
            transport: Transport::Udp,
            payload: vec![1],
        },
    );
    assert!(run(&mut network, Duration::from_secs(1)).is_empty());
    let drops = network.take_drops();
    assert_eq!(drops.len(), 1);
    assert_eq!(drops[0].hop, Some(Hop::Nat("nat-alice".into())));
    assert!(
        matches!(drops[0].reason, Undelivered::Nat(_)),
        "{:?}",
        drops[0].reason
    );
}

#[test]
fn a_private_address_is_not_routable_from_the_core() {
    let mut network = network();
    network.send(
        ms(0),
        Datagram {
            from: at(ip(2, 0), 5000),
            to: at(ip(1, 1), 5000),
            transport: Transport::Udp,
            payload: vec![1],
        },
    );
    assert!(run(&mut network, Duration::from_secs(1)).is_empty());
    assert_eq!(network.take_drops()[0].reason, Undelivered::NoRoute);
}

#[test]
fn after_alice_writes_to_bob_bob_can_answer_through_the_mapping() {
    let mut network = network();
    let (alice, bob) = (at(ip(1, 1), 5000), at(ip(2, 0), 6000));
    network.send(
        ms(0),
        Datagram {
            from: alice,
            to: bob,
            transport: Transport::Udp,
            payload: b"hi".to_vec(),
        },
    );
    let arrived = run(&mut network, ms(100));
    let mapped = arrived[0].1.from;
    assert_eq!(mapped.ip(), ip(100, 0), "bob sees the NAT's public address");
    network.send(
        ms(100),
        Datagram {
            from: bob,
            to: mapped,
            transport: Transport::Udp,
            payload: b"hello".to_vec(),
        },
    );
    let arrived = run(&mut network, ms(200));
    assert_eq!(arrived.iter().map(|(_, d)| d.to).collect::<Vec<_>>(), [alice]);
}

#[test]
fn a_datagram_for_a_host_that_moved_away_meanwhile_finds_no_route() {
    let mut network = network();
    network.send(
        ms(0),
        Datagram {
            from: at(ip(200, 0), 3478),
            to: at(ip(2, 0), 6000),
            transport: Transport::Udp,
            payload: vec![1],
        },
    );
    network.advance(ms(15)); // past the core, onto bob's 10 ms downlink
    network.remove_interface(Duration::ZERO, ip(2, 0));
    assert!(run(&mut network, Duration::from_secs(1)).is_empty());
    assert_eq!(network.take_drops()[0].reason, Undelivered::NoRoute);
    assert!(network.counters().balanced());
}

/// Bob and Carol on public addresses with ideal access links, joined by a `core`.
fn across(core: LinkConfig, access: LinkConfig) -> (Network, SocketAddr, SocketAddr) {
    let mut network = Network::new(core, 1);
    network.add_interface(Duration::ZERO, "bob", ip(2, 0), access.clone(), access.clone());
    network.add_interface(Duration::ZERO, "carol", ip(3, 0), access.clone(), access);
    (network, at(ip(2, 0), 5000), at(ip(3, 0), 5000))
}

fn datagram(from: SocketAddr, to: SocketAddr, payload_bytes: usize) -> Datagram {
    Datagram {
        from,
        to,
        transport: Transport::Udp,
        payload: vec![0; payload_bytes],
    }
}

#[test]
fn each_direction_of_the_core_has_a_queue_of_its_own() {
    let core = LinkConfig {
        rate_bps: Some(1_000_000),
        ..LinkConfig::default()
    };
    let (mut network, bob, carol) = across(core, LinkConfig::default());
    for _ in 0..50 {
        network.send(ms(0), datagram(bob, carol, 972)); // 1000 bytes on the wire: 8 ms each
    }
    network.send(ms(0), datagram(carol, bob, 972));
    let arrived = run(&mut network, Duration::from_secs(1));
    let to_bob: Vec<Duration> = arrived
        .iter()
        .filter(|(_, d)| d.to == bob)
        .map(|(at, _)| *at)
        .collect();
    assert_eq!(
        to_bob,
        [ms(8)],
        "carol's one packet waits behind none of bob's 50"
    );
    let last_to_carol = arrived
        .iter()
        .filter(|(_, d)| d.to == carol)
        .map(|(at, _)| *at)
        .max();
    assert_eq!(
        last_to_carol,
        Some(ms(400)),
        "bob's 50 packets still take 8 ms each"
    );
    assert!(network.counters().balanced());
}

#[test]
fn links_serialise_the_ip_and_udp_headers_too() {
    let access = LinkConfig {
        rate_bps: Some(100_000),
        ..LinkConfig::default()
    };
    let (mut network, bob, carol) = across(LinkConfig::default(), access);
    // 108 bytes of payload are 136 on the wire: 10.88 ms at 100 kbit/s, on bob's uplink and
    // again on carol's downlink.
    network.send(ms(0), datagram(bob, carol, 108));
    let arrived = run(&mut network, Duration::from_secs(1));
    assert_eq!(arrived[0].0, Duration::from_micros(2 * 10_880));
}

#[test]
fn the_mtu_limits_the_whole_ip_datagram() {
    let access = LinkConfig {
        mtu: 880,
        ..LinkConfig::default()
    };
    let (mut network, bob, carol) = across(LinkConfig::default(), access);
    network.send(ms(0), datagram(bob, carol, 852)); // 880 bytes with its headers: fits
    network.send(ms(0), datagram(bob, carol, 853)); // 881: too big
    let arrived = run(&mut network, Duration::from_secs(1));
    assert_eq!(
        arrived.iter().map(|(_, d)| d.payload.len()).collect::<Vec<_>>(),
        [852]
    );
    let drops = network.take_drops();
    assert_eq!(drops.len(), 1);
    assert_eq!(drops[0].reason, Undelivered::Link(crate::net::DropReason::Mtu));
}

#[test]
fn a_host_sending_to_itself_goes_through_its_loopback() {
    let (mut network, bob, _) = across(LinkConfig::default(), LinkConfig::default());
    let other_socket = at(bob.ip(), 6000);
    network.send(ms(5), datagram(bob, other_socket, 100));
    assert_eq!(network.next_event(), Some(ms(5) + LOOPBACK_DELAY));
    let arrived = run(&mut network, Duration::from_secs(1));
    assert_eq!(arrived.len(), 1);
    assert_eq!(arrived[0].0, ms(5) + LOOPBACK_DELAY);
    assert!(network.counters().balanced());
}

// TCP segments take the same hops; NATs map them on SYN and rewrite their headers.

use crate::net::tcp::testing::{TcpControl, addressed, segment};

fn tcp(from: SocketAddr, to: SocketAddr, control: TcpControl, ack: bool) -> Datagram {
    Datagram {
        from,
        to,
        transport: Transport::Tcp,
        payload: segment(from, to, control, ack),
    }
}

#[test]
fn a_tcp_segment_is_charged_its_ip_header_on_top_of_its_own() {
    let (alice, bob) = (at(ip(1, 1), 5000), at(ip(2, 0), 443));
    let syn = tcp(alice, bob, TcpControl::Syn, false);
    assert_eq!(syn.wire_size(), syn.payload.len() + 20, "no UDP header");
    assert_eq!(syn.payload.len(), 20 + 4, "TCP header and 4 bytes of data");
}

#[test]
fn a_syn_through_a_nat_maps_and_the_answer_comes_back_with_valid_headers_both_ways() {
    let mut network = network();
    let (alice, bob) = (at(ip(1, 1), 5000), at(ip(2, 0), 443));
    network.send(ms(0), tcp(alice, bob, TcpControl::Syn, false));
    let arrived = run(&mut network, ms(100));
    let (_, syn) = &arrived[0];
    let mapped = syn.from;
    assert_eq!(mapped.ip(), ip(100, 0), "bob sees the NAT's public address");
    assert!(
        addressed(&syn.payload, mapped, bob),
        "the header follows the translation"
    );

    network.send(ms(100), tcp(bob, mapped, TcpControl::Syn, true));
    let arrived = run(&mut network, ms(200));
    let (_, syn_ack) = &arrived[0];
    assert_eq!(syn_ack.to, alice, "translated back to the private address");
    assert!(addressed(&syn_ack.payload, bob, alice));
    assert!(network.counters().balanced());
}

#[test]
fn a_nat_drops_an_unsolicited_syn_and_a_segment_of_a_connection_it_never_saw_open() {
    let mut network = network();
    let (alice, bob) = (at(ip(1, 1), 5000), at(ip(2, 0), 443));
    // A UDP mapping for the same private port admits no TCP: the port spaces are apart.
    network.send(ms(0), Datagram::udp(alice, bob, vec![1]));
    run(&mut network, ms(100));
    network.send(ms(100), tcp(bob, at(ip(100, 0), 5000), TcpControl::Syn, false));
    network.send(ms(100), tcp(alice, bob, TcpControl::None, true));
    assert!(run(&mut network, ms(200)).is_empty());
    let drops = network.take_drops();
    assert_eq!(drops.len(), 2, "{drops:?}");
    for drop in &drops {
        assert_eq!(drop.hop, Some(Hop::Nat("nat-alice".into())));
        assert_eq!(drop.reason, Undelivered::Nat(NatDrop::NoBinding));
    }
    assert!(network.counters().balanced());
}

#[test]
fn a_tcp_segment_to_a_server_finds_no_port() {
    let mut network = network();
    network.send(
        ms(0),
        tcp(at(ip(2, 0), 5000), at(ip(200, 0), 3478), TcpControl::Syn, false),
    );
    assert!(run(&mut network, ms(100)).is_empty());
    assert!(network.take_notes().is_empty(), "the echo server never saw it");
    assert_eq!(network.take_drops()[0].reason, Undelivered::PortUnreachable);
    assert!(network.counters().balanced());
}

#[test]
fn a_device_sharing_an_access_link_queues_with_its_owner_both_ways() {
    let slow = LinkConfig {
        rate_bps: Some(1_000_000),
        ..LinkConfig::default()
    };
    let (mut network, bob, carol) = across(LinkConfig::default(), slow);
    let device = at(ip(4, 0), 9000);
    network.add_interface_sharing("device", device.ip(), bob.ip());
    network.send(ms(0), datagram(bob, carol, 972)); // 8 ms on each 1 Mbit/s link
    network.send(ms(0), datagram(device, carol, 972));
    network.send(ms(0), datagram(carol, device, 972));
    let arrived = run(&mut network, Duration::from_secs(1));
    let when = |to: SocketAddr, from: SocketAddr| {
        arrived
            .iter()
            .find(|(_, d)| d.to == to && d.from == from)
            .map(|(at, _)| *at)
    };
    assert_eq!(when(carol, bob), Some(ms(16)));
    assert_eq!(
        when(carol, device),
        Some(ms(24)),
        "behind bob's datagram on bob's uplink"
    );
    assert_eq!(
        when(device, carol),
        Some(ms(16)),
        "through carol's uplink and bob's downlink"
    );
    let hosts: Vec<String> = network.counters().hosts.into_keys().collect();
    assert_eq!(
        hosts,
        ["bob", "carol", "device"],
        "the device counts its own datagrams"
    );
    let queues: Vec<Hop> = network.link_records().into_iter().map(|(hop, _)| hop).collect();
    assert!(
        !queues.iter().any(|hop| format!("{hop:?}").contains("device")),
        "{queues:?}"
    );

    network.remove_interface(Duration::ZERO, bob.ip());
    network.send(ms(100), datagram(device, carol, 10));
    run(&mut network, Duration::from_secs(1));
    assert_eq!(network.take_drops()[0].reason, Undelivered::NoRoute);
    assert!(network.counters().balanced());
}

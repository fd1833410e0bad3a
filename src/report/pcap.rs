//! `<host>.pcap`: every datagram a host's interface sent or received, as a capture on that
//! host would show it, so Wireshark decodes the real STUN, DTLS, SRTP/SRTCP and SCTP inside.
//!
//! The simulation carries bare UDP payloads; the IPv4 and UDP headers around them are
//! synthesised here (`pnet_packet`, checksums included). A TCP segment travels with its real
//! header, so it only gets the IPv4 header. Link type RAW (101: a record starts
//! at the IP header); timestamps are virtual time since the world started, so a capture
//! starts at 1970-01-01 00:00:00, with nanosecond resolution. Addresses are the simulation's
//! own `127.K.x.y`, the ones STUN payloads and ICE candidates carry too (K differs from run
//! to run).

use std::collections::BTreeMap;
use std::io;
use std::net::{SocketAddr, SocketAddrV4};
use std::path::Path;

use pcap_file::DataLink;
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pnet_packet::ip::IpNextHeaderProtocols;
use pnet_packet::ipv4::{self, Ipv4Flags, MutableIpv4Packet};
use pnet_packet::udp::{self, MutableUdpPacket};

use super::{file_name, write_atomically};
use crate::net::Transport;
use crate::net::network::Captured;

const IPV4_HEADER: usize = 20;
const UDP_HEADER: usize = 8;

/// Writes `dir/<host>.pcap` for every host in `captured` (in time order, as
/// [`capturing`](crate::net::network::capturing) returns it).
pub fn write(dir: &Path, captured: &[Captured]) -> io::Result<()> {
    let mut hosts: BTreeMap<&str, Vec<&Captured>> = BTreeMap::new();
    for record in captured {
        hosts.entry(&record.host).or_default().push(record);
    }
    std::fs::create_dir_all(dir)?;
    for (host, records) in hosts {
        write_atomically(&dir.join(file_name(host, ".pcap")), &capture(&records)?)?;
    }
    Ok(())
}

/// One host's records as a pcap file.
fn capture(records: &[&Captured]) -> io::Result<Vec<u8>> {
    let header = PcapHeader {
        datalink: DataLink::RAW,
        ts_resolution: pcap_file::TsResolution::NanoSecond,
        ..PcapHeader::default()
    };
    let mut writer = PcapWriter::with_header(Vec::new(), header).map_err(io::Error::other)?;
    for record in records {
        let datagram = &record.datagram;
        let (SocketAddr::V4(from), SocketAddr::V4(to)) = (datagram.from, datagram.to) else {
            return Err(io::Error::other(format!(
                "{} → {}: the simulation carries IPv4 only",
                datagram.from, datagram.to
            )));
        };
        let packet = match datagram.transport {
            Transport::Udp => ipv4_udp(from, to, &datagram.payload)?,
            Transport::Tcp => ipv4(from, to, IpNextHeaderProtocols::Tcp, &datagram.payload)?,
        };
        writer
            .write_packet(&PcapPacket::new(record.at, packet.len() as u32, &packet))
            .map_err(io::Error::other)?;
    }
    Ok(writer.into_writer())
}

/// `payload` behind the UDP header a kernel would have put in front of it, in IPv4.
fn ipv4_udp(from: SocketAddrV4, to: SocketAddrV4, payload: &[u8]) -> io::Result<Vec<u8>> {
    let length = u16::try_from(UDP_HEADER + payload.len())
        .map_err(|_| io::Error::other(format!("a {}-byte datagram does not fit in UDP", payload.len())))?;
    let mut bytes = vec![0; usize::from(length)];
    let mut datagram = MutableUdpPacket::new(&mut bytes).expect("room for the UDP header");
    datagram.set_source(from.port());
    datagram.set_destination(to.port());
    datagram.set_length(length);
    datagram.set_payload(payload);
    let checksum = udp::ipv4_checksum(&datagram.to_immutable(), from.ip(), to.ip());
    datagram.set_checksum(checksum);
    ipv4(from, to, IpNextHeaderProtocols::Udp, &bytes)
}

/// `inner` (a UDP datagram, a TCP segment) behind the IPv4 header a kernel would have put
/// in front of it.
fn ipv4(
    from: SocketAddrV4,
    to: SocketAddrV4,
    protocol: pnet_packet::ip::IpNextHeaderProtocol,
    inner: &[u8],
) -> io::Result<Vec<u8>> {
    let total = u16::try_from(IPV4_HEADER + inner.len())
        .map_err(|_| io::Error::other(format!("a {}-byte packet does not fit in IPv4", inner.len())))?;
    let mut packet = vec![0; usize::from(total)];
    packet[IPV4_HEADER..].copy_from_slice(inner);
    let mut ip = MutableIpv4Packet::new(&mut packet).expect("room for the IPv4 header");
    ip.set_version(4);
    ip.set_header_length((IPV4_HEADER / 4) as u8);
    ip.set_total_length(total);
    ip.set_flags(Ipv4Flags::DontFragment);
    ip.set_ttl(64);
    ip.set_next_level_protocol(protocol);
    ip.set_source(*from.ip());
    ip.set_destination(*to.ip());
    let checksum = ipv4::checksum(&ip.to_immutable());
    ip.set_checksum(checksum);
    Ok(packet)
}

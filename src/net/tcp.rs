//! TCP segments on the simulated wire: the little the network reads in one (does it open a
//! connection?) and what it rewrites when a NAT translates its addresses.
//!
//! The segments are made and read by a real TCP stack, the runtime's (smoltcp); the network
//! only carries them. A segment travels whole in its [`Datagram`](super::Datagram), TCP
//! header and all, so its ports are in two places: the datagram's addresses, which routing
//! and NATs act on, and the header, which the receiving stack reads. A NAT that rewrites
//! an address rewrites the header's port too and recomputes the checksum over the new
//! pseudo-header, as a real NAT does (RFC 3022 §4.2): the stacks keep verifying checksums,
//! so a translation that got either wrong would lose the segment instead of passing it.

use std::net::{IpAddr, SocketAddr};

use smoltcp::wire::{IpAddress, TcpPacket};

/// Whether `segment` opens a connection: a SYN without ACK, the one segment that may make a
/// NAT mapping (RFC 5382 §4.1). A segment too short for a TCP header opens nothing.
pub fn opens_connection(segment: &[u8]) -> bool {
    TcpPacket::new_checked(segment).is_ok_and(|packet| packet.syn() && !packet.ack())
}

/// Puts `from`'s and `to`'s ports in `segment`'s header and recomputes its checksum for
/// those addresses: what a NAT does to a segment whose addresses it translated. Segments
/// are IPv4 (the runtime's stack speaks IPv4 only, as the simulation does), so an IPv6
/// address, or a segment too short for its header, leaves it as it is.
pub fn readdress(segment: &mut [u8], from: SocketAddr, to: SocketAddr) {
    let (IpAddr::V4(source), IpAddr::V4(destination)) = (from.ip(), to.ip()) else {
        return;
    };
    let Ok(mut packet) = TcpPacket::new_checked(segment) else {
        return;
    };
    packet.set_src_port(from.port());
    packet.set_dst_port(to.port());
    packet.fill_checksum(&IpAddress::Ipv4(source), &IpAddress::Ipv4(destination));
}

/// Segments as a stack emits them, for the network's tests.
#[cfg(test)]
pub(crate) mod testing {
    use std::net::{IpAddr, SocketAddr};

    use smoltcp::phy::ChecksumCapabilities;
    pub(crate) use smoltcp::wire::TcpControl;
    use smoltcp::wire::{IpAddress, TcpPacket, TcpRepr, TcpSeqNumber};

    pub(crate) fn ip(address: SocketAddr) -> IpAddress {
        match address.ip() {
            IpAddr::V4(v4) => IpAddress::Ipv4(v4),
            IpAddr::V6(_) => unreachable!("the tests use IPv4"),
        }
    }

    /// A segment from `from` to `to` carrying `data`, checksum included.
    pub(crate) fn segment(from: SocketAddr, to: SocketAddr, control: TcpControl, ack: bool) -> Vec<u8> {
        let repr = TcpRepr {
            src_port: from.port(),
            dst_port: to.port(),
            control,
            seq_number: TcpSeqNumber(1000),
            ack_number: ack.then_some(TcpSeqNumber(2000)),
            window_len: 1024,
            window_scale: None,
            max_seg_size: None,
            sack_permitted: false,
            sack_ranges: [None, None, None],
            timestamp: None,
            payload: b"data",
        };
        let mut bytes = vec![0; repr.buffer_len()];
        repr.emit(
            &mut TcpPacket::new_unchecked(&mut bytes),
            &ip(from),
            &ip(to),
            &ChecksumCapabilities::default(),
        );
        bytes
    }

    /// Whether `segment`'s checksum is valid for `from` and `to`, and its ports theirs.
    pub(crate) fn addressed(segment: &[u8], from: SocketAddr, to: SocketAddr) -> bool {
        TcpPacket::new_checked(segment).is_ok_and(|packet| {
            (packet.src_port(), packet.dst_port()) == (from.port(), to.port())
                && packet.verify_checksum(&ip(from), &ip(to))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{TcpControl, addressed, ip, segment};
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().expect("test address")
    }

    #[test]
    fn only_a_syn_without_ack_opens_a_connection() {
        let (a, b) = (addr("127.60.0.1:5000"), addr("127.60.0.2:443"));
        assert!(opens_connection(&segment(a, b, TcpControl::Syn, false)));
        assert!(
            !opens_connection(&segment(a, b, TcpControl::Syn, true)),
            "a SYN-ACK answers"
        );
        assert!(!opens_connection(&segment(a, b, TcpControl::None, true)));
        assert!(!opens_connection(&segment(a, b, TcpControl::Rst, false)));
        assert!(!opens_connection(b"short"));
    }

    #[test]
    fn a_readdressed_segment_carries_the_new_ports_and_a_checksum_valid_for_them() {
        let (private, public, remote) = (
            addr("127.60.1.1:5000"),
            addr("127.60.0.100:61000"),
            addr("127.60.0.2:443"),
        );
        let mut bytes = segment(private, remote, TcpControl::Syn, false);
        assert!(addressed(&bytes, private, remote));
        let stale = TcpPacket::new_checked(&bytes[..]).unwrap();
        assert!(
            !stale.verify_checksum(&ip(public), &ip(remote)),
            "the translated addresses fail the old checksum"
        );

        readdress(&mut bytes, public, remote);
        assert!(addressed(&bytes, public, remote));
        let after = TcpPacket::new_checked(&bytes[..]).unwrap();
        assert_eq!(after.payload(), b"data", "the payload is untouched");
    }
}

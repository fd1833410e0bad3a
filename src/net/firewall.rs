//! The firewall of a host's network, as corporate and hotel networks have one: it may block
//! UDP, and let TCP out only to some ports. It is stateful, as such firewalls are: TCP comes
//! in only on a connection the host opened, so a host behind it can connect out to a
//! listener on an allowed port but cannot be connected to.

use std::collections::BTreeSet;
use std::net::SocketAddr;

use serde::Serialize;

use super::network::{Datagram, Transport};
use super::tcp;

/// What a firewall lets through.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FirewallConfig {
    /// Block every UDP datagram, both ways (a network that allows only TCP).
    pub block_udp: bool,
    /// The remote ports TCP may connect out to (`[443]`); `None`: any.
    pub tcp_ports: Option<Vec<u16>>,
}

/// Why a firewall dropped a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum FirewallDrop {
    /// UDP is blocked.
    Udp,
    /// TCP to a port it does not allow.
    TcpPort,
    /// TCP coming in on no connection the host opened.
    Unsolicited,
}

/// A firewall and the TCP connections its host opened through it.
#[derive(Debug, Clone)]
pub struct Firewall {
    config: FirewallConfig,
    /// Connections the host opened: (its address, the remote one).
    opened: BTreeSet<(SocketAddr, SocketAddr)>,
}

impl Firewall {
    pub fn new(config: FirewallConfig) -> Self {
        Firewall {
            config,
            opened: BTreeSet::new(),
        }
    }

    /// Changes what it lets through from now on; connections already open stay open if
    /// their port still is.
    pub fn set_config(&mut self, config: FirewallConfig) {
        self.opened
            .retain(|(_, remote)| allows_port(&config, remote.port()));
        self.config = config;
    }

    /// Whether `datagram`, leaving the host, may pass; a SYN to an allowed port opens its
    /// connection for the replies.
    pub fn outbound(&mut self, datagram: &Datagram) -> Result<(), FirewallDrop> {
        match datagram.transport {
            Transport::Udp if self.config.block_udp => Err(FirewallDrop::Udp),
            Transport::Udp => Ok(()),
            Transport::Tcp if !allows_port(&self.config, datagram.to.port()) => Err(FirewallDrop::TcpPort),
            Transport::Tcp => {
                if tcp::opens_connection(&datagram.payload) {
                    self.opened.insert((datagram.from, datagram.to));
                }
                Ok(())
            }
        }
    }

    /// Whether `datagram`, coming to the host, may pass.
    pub fn inbound(&self, datagram: &Datagram) -> Result<(), FirewallDrop> {
        match datagram.transport {
            Transport::Udp if self.config.block_udp => Err(FirewallDrop::Udp),
            Transport::Udp => Ok(()),
            Transport::Tcp if self.opened.contains(&(datagram.to, datagram.from)) => Ok(()),
            Transport::Tcp => Err(FirewallDrop::Unsolicited),
        }
    }
}

fn allows_port(config: &FirewallConfig, port: u16) -> bool {
    config
        .tcp_ports
        .as_ref()
        .is_none_or(|ports| ports.contains(&port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    /// A TCP segment from `from` to `to` with the SYN flag, or an ACK.
    fn segment(from: &str, to: &str, syn: bool) -> Datagram {
        let mut header = vec![0u8; 20];
        header[12] = 5 << 4;
        header[13] = if syn { 0x02 } else { 0x10 };
        let mut datagram = Datagram::udp(address(from), address(to), header);
        datagram.transport = Transport::Tcp;
        tcp::readdress(&mut datagram.payload, datagram.from, datagram.to);
        datagram
    }

    #[test]
    fn tcp_goes_out_to_allowed_ports_only_and_comes_back_on_its_connections() {
        let mut firewall = Firewall::new(FirewallConfig {
            block_udp: true,
            tcp_ports: Some(vec![443]),
        });
        let (host, web, other) = ("127.1.0.1:40000", "127.1.0.2:443", "127.1.0.2:9000");
        assert_eq!(
            firewall.outbound(&Datagram::udp(address(host), address(web), vec![0; 8])),
            Err(FirewallDrop::Udp)
        );
        assert_eq!(
            firewall.inbound(&Datagram::udp(address(web), address(host), vec![0; 8])),
            Err(FirewallDrop::Udp)
        );
        assert_eq!(
            firewall.outbound(&segment(host, other, true)),
            Err(FirewallDrop::TcpPort)
        );
        assert_eq!(
            firewall.inbound(&segment(web, host, false)),
            Err(FirewallDrop::Unsolicited),
            "nothing opened yet"
        );
        assert_eq!(firewall.outbound(&segment(host, web, true)), Ok(()));
        assert_eq!(firewall.inbound(&segment(web, host, false)), Ok(()), "the reply");
        assert_eq!(
            firewall.inbound(&segment(other, host, true)),
            Err(FirewallDrop::Unsolicited),
            "no listener behind it is reachable"
        );
        // Closing port 443 closes the connection through it.
        firewall.set_config(FirewallConfig {
            block_udp: true,
            tcp_ports: Some(vec![80]),
        });
        assert_eq!(
            firewall.inbound(&segment(web, host, false)),
            Err(FirewallDrop::Unsolicited)
        );
    }

    #[test]
    fn an_open_firewall_lets_everything_through_but_unsolicited_tcp() {
        let mut firewall = Firewall::new(FirewallConfig::default());
        let (host, peer) = ("127.1.0.1:5000", "127.1.0.2:5000");
        assert_eq!(
            firewall.outbound(&Datagram::udp(address(host), address(peer), vec![1])),
            Ok(())
        );
        assert_eq!(
            firewall.inbound(&Datagram::udp(address(peer), address(host), vec![1])),
            Ok(())
        );
        assert_eq!(
            firewall.inbound(&segment(peer, host, true)),
            Err(FirewallDrop::Unsolicited),
            "a listener behind a firewall is not reachable, whatever its ports"
        );
        assert_eq!(firewall.outbound(&segment(host, peer, true)), Ok(()));
        assert_eq!(firewall.inbound(&segment(peer, host, false)), Ok(()));
    }
}

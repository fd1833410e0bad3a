//! The stand-in for webrtc-rs's multicast DNS socket.
//!
//! With webrtc-rs's default `MulticastDnsMode::QueryOnly`, every peer connection wraps a
//! socket joined to 224.0.0.251:5353 so that it can resolve the `.local` names a remote peer
//! may put in its candidates instead of its address. No simulated peer publishes such names —
//! the harness's own peers gather with mDNS off, and an app left at `QueryOnly` only ever
//! asks — so there is nothing for a query to find. The stand-in is therefore inert: what it
//! sends goes nowhere (it never enters the network, so the network's counters do not see it),
//! and it never receives. The real multicast socket is closed at once: joined to the group on
//! the machine's interfaces, it would let the LAN's mDNS traffic reach the kernel.

use std::io::{self, IoSliceMut};
use std::net::SocketAddr;
use std::task::{Context, Poll};

use webrtc::runtime::{AsyncUdpSocket, RecvMeta, Transmit};

/// mDNS's port (RFC 6762).
const MDNS_PORT: u16 = 5353;

/// Whether a socket bound at `local` is webrtc-rs's mDNS socket: bound to the multicast group
/// (on Linux) or to the wildcard on the mDNS port (elsewhere).
pub(crate) fn is_mdns(local: SocketAddr) -> bool {
    local.ip().is_multicast() || (local.ip().is_unspecified() && local.port() == MDNS_PORT)
}

/// An mDNS socket that sends nowhere and never receives.
#[derive(Debug)]
pub(crate) struct InertMdnsSocket {
    local: SocketAddr,
}

impl InertMdnsSocket {
    pub(crate) fn new(local: SocketAddr) -> Self {
        InertMdnsSocket { local }
    }
}

impl AsyncUdpSocket for InertMdnsSocket {
    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.local)
    }

    /// Says the whole datagram went out, as a multicast send with no one listening does.
    fn poll_send(&self, _cx: &mut Context<'_>, transmit: &Transmit<'_>) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(transmit.contents.len()))
    }

    /// Never ready, and keeps no waker: nothing will ever arrive.
    fn poll_recv(
        &self,
        _cx: &mut Context<'_>,
        _bufs: &mut [IoSliceMut<'_>],
        _meta: &mut [RecvMeta],
    ) -> Poll<io::Result<usize>> {
        Poll::Pending
    }
}

//! UDP sockets on the simulated network.

use std::collections::VecDeque;
use std::io::{self, IoSliceMut};
use std::net::SocketAddr;
use std::task::{Context, Poll, Waker};

use webrtc::runtime::{AsyncUdpSocket, RecvMeta, Transmit};

use super::SimRuntime;
use crate::net::{Datagram, Transport};

/// A bound address: the real socket that reserves it in the kernel, the datagrams that
/// arrived for it, and the task waiting for them.
#[derive(Debug)]
pub(crate) struct Inbox {
    real: std::net::UdpSocket,
    datagrams: VecDeque<Datagram>,
    waker: Option<Waker>,
}

impl Inbox {
    pub(crate) fn new(real: std::net::UdpSocket) -> Self {
        Inbox {
            real,
            datagrams: VecDeque::new(),
            waker: None,
        }
    }

    /// Whether the kernel queued a datagram on the real socket: it never should, since the
    /// simulation sends nothing through the kernel.
    pub(crate) fn kernel_has_datagram(&self) -> bool {
        let mut buf = [0u8; 1];
        self.real.set_nonblocking(true).is_ok() && self.real.peek_from(&mut buf).is_ok()
    }

    /// Queues a datagram; returns the waker of the task parked on this socket, if any.
    pub(crate) fn push(&mut self, datagram: Datagram) -> Option<Waker> {
        self.datagrams.push_back(datagram);
        self.waker.take()
    }
}

/// What [`SimRuntime::wrap_udp_socket`] returns: a socket whose datagrams travel through the
/// simulated network. The runtime keeps the real socket, unread and unwritten, only so the
/// kernel holds its 127.x address for as long as this socket lives.
#[derive(Debug)]
pub struct SimUdpSocket {
    runtime: SimRuntime,
    local: SocketAddr,
}

impl SimUdpSocket {
    pub(crate) fn new(runtime: SimRuntime, local: SocketAddr) -> Self {
        SimUdpSocket { runtime, local }
    }
}

impl Drop for SimUdpSocket {
    fn drop(&mut self) {
        self.runtime.state().sockets.remove(&self.local);
    }
}

impl AsyncUdpSocket for SimUdpSocket {
    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.local)
    }

    fn poll_send(&self, _cx: &mut Context<'_>, transmit: &Transmit<'_>) -> Poll<io::Result<usize>> {
        let segment = match transmit.segment_size {
            Some(size) if size > 0 => size,
            _ => transmit.contents.len().max(1),
        };
        for chunk in transmit.contents.chunks(segment) {
            self.runtime.send_datagram(Datagram {
                from: self.local,
                to: transmit.destination,
                transport: Transport::Udp,
                payload: chunk.to_vec(),
            });
        }
        Poll::Ready(Ok(transmit.contents.len()))
    }

    fn poll_recv(
        &self,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
        meta: &mut [RecvMeta],
    ) -> Poll<io::Result<usize>> {
        let capacity = bufs.len().min(meta.len());
        if capacity == 0 {
            return Poll::Ready(Ok(0));
        }
        let mut state = self.runtime.state();
        let Some(inbox) = state.sockets.get_mut(&self.local) else {
            return Poll::Ready(Err(io::Error::new(io::ErrorKind::NotConnected, "socket closed")));
        };
        if inbox.datagrams.is_empty() {
            inbox.waker = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let mut filled = 0;
        while filled < capacity {
            let Some(datagram) = inbox.datagrams.pop_front() else {
                break;
            };
            let len = datagram.payload.len().min(bufs[filled].len());
            bufs[filled][..len].copy_from_slice(&datagram.payload[..len]);
            let mut m = RecvMeta::default();
            m.addr = datagram.from;
            m.len = len;
            m.stride = len.max(1);
            m.dst_ip = Some(self.local.ip());
            meta[filled] = m;
            filled += 1;
        }
        Poll::Ready(Ok(filled))
    }
}

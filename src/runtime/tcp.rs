//! TCP on the simulated network: one real TCP stack per interface address, smoltcp's.
//!
//! Why smoltcp: it is a maintained userspace TCP/IP stack that never reads a clock — every
//! call takes the time as an argument, and it says when it next wants to be called
//! (`poll_at`) — so it runs on the virtual clock unchanged, and, seeded from the world's
//! seed, it makes the same segments at the same instants on every run. It does connection
//! set-up and tear-down, RST, retransmission on a timeout (RFC 6298, with a 1 s minimum RTO),
//! fast retransmit on three duplicate ACKs, Reno congestion control, flow control (window
//! scaling included), Nagle and delayed ACKs (10 ms), as a kernel does.
//!
//! What it does not model, so neither does the simulation: SACK-based recovery (smoltcp
//! sends SACK blocks, but ignores the ones it gets and, on a timeout, goes back to the
//! first unacknowledged byte), Linux's CUBIC (smoltcp has a CUBIC of its own; Reno is used,
//! the simpler to reason about), Linux's 200 ms minimum RTO, ECN, TCP timestamps (off), path
//! MTU discovery (a segment fills the sender's access-link MTU), out-of-order data beyond 4
//! holes (smoltcp's reassembly drops what lies past them), a SYN backlog limit (see
//! [`Listener`]), and Linux's retry limits (a connection retransmits until
//! [`CONNECT_TIMEOUT`] while connecting, and forever once established).
//!
//! Each stack's device hands the IPv4 packets smoltcp emits to the [`Network`] as TCP
//! [`Datagram`]s (the segment whole, header included) and feeds it the segments that reach
//! its address, one at a time. The stack is polled when a segment arrives, when a task
//! reads, writes, connects, accepts or drops a socket (its segments leave at once, as a
//! kernel sends them inside the system call), and when smoltcp's `poll_at` comes due, as an
//! event of the virtual clock among the others. Checksums are computed and verified (the
//! network rewrites them as NATs translate: see [`crate::net::tcp`]).

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Poll, Waker};
use std::time::Duration;

use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::phy::{self, ChecksumCapabilities, Device, DeviceCapabilities, Medium};
use smoltcp::socket::tcp::{self, CongestionControl};
use smoltcp::time::Instant;
use smoltcp::wire::{HardwareAddress, IpAddress, IpCidr, IpProtocol, Ipv4Packet, Ipv4Repr, TcpPacket};

use webrtc::runtime::{AsyncTcpListener, AsyncTcpStream};

use super::{SimRuntime, State};
use crate::net::{Datagram, Network, Transport, sub_seed};

/// Each socket's receive and send buffer. Above 64 KiB, so the window is scaled: a call's
/// media over a long path is not held back by a 64 KiB window (5 Mbit/s at 100 ms).
const BUFFER_BYTES: usize = 256 * 1024;

/// How long a connection attempt retransmits its SYN before it gives up (Linux gives up
/// after its sixth retry, at about 127 s; applications rarely wait that long).
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// The ports a connecting socket gets, in turn (the IANA dynamic range).
const EPHEMERAL_PORTS: std::ops::RangeInclusive<u16> = 49152..=65535;

/// Every TCP stack of a world, by interface address.
#[derive(Default)]
pub(crate) struct Stacks {
    by_ip: BTreeMap<IpAddr, Stack>,
}

/// One interface's stack: smoltcp's interface and sockets, and the device between them and
/// the network.
struct Stack {
    interface: Interface,
    wire: Wire,
    sockets: SocketSet<'static>,
    listeners: BTreeMap<u16, Listener>,
    /// Sockets whose stream was dropped, finishing their close; removed once closed.
    closing: Vec<SocketHandle>,
    next_port: u16,
    /// When smoltcp next wants to be polled, if it does.
    poll_at: Option<Duration>,
}

/// A listening port. smoltcp's listening socket takes one connection: once a SYN turns it
/// into a connection it joins `pending`, and a new socket listens in its place before the
/// next segment is read. So every SYN finds a listener, without a backlog limit.
struct Listener {
    listening: SocketHandle,
    /// Connections that came in, in arrival order, until accepted.
    pending: VecDeque<SocketHandle>,
    waker: Option<Waker>,
}

/// The device: the packets smoltcp is to read, and those it wrote.
struct Wire {
    inbound: VecDeque<Vec<u8>>,
    outbound: Vec<Vec<u8>>,
    mtu: usize,
}

fn instant(at: Duration) -> Instant {
    Instant::from_micros(i64::try_from(at.as_micros()).unwrap_or(i64::MAX))
}

fn duration(at: Instant) -> Duration {
    Duration::from_micros(u64::try_from(at.total_micros()).unwrap_or(0))
}

fn ipv4(ip: IpAddr) -> io::Result<Ipv4Addr> {
    match ip {
        IpAddr::V4(v4) => Ok(v4),
        IpAddr::V6(_) => Err(io::Error::new(
            io::ErrorKind::AddrNotAvailable,
            format!("the simulated TCP is IPv4 only, not {ip}"),
        )),
    }
}

impl Stacks {
    /// When some stack next wants to be polled.
    pub(crate) fn next_poll(&self) -> Option<Duration> {
        self.by_ip.values().filter_map(|stack| stack.poll_at).min()
    }

    /// Polls every stack that is due by `now`: retransmissions, delayed ACKs, closes.
    pub(crate) fn poll_due(&mut self, network: &mut Network, now: Duration) {
        for stack in self.by_ip.values_mut() {
            if stack.poll_at.is_some_and(|at| at <= now) {
                stack.poll(network, now);
            }
        }
    }

    /// A TCP segment reached its interface at `now`: its stack reads it (and answers, with
    /// an RST where nothing listens). An interface that never used TCP gets a stack now.
    pub(crate) fn arrive(&mut self, network: &mut Network, now: Duration, datagram: Datagram) {
        let Ok(stack) = self.stack(network, now, datagram.to.ip()) else {
            return;
        };
        let (Ok(source), Ok(destination)) = (ipv4(datagram.from.ip()), ipv4(datagram.to.ip())) else {
            return;
        };
        let repr = Ipv4Repr {
            src_addr: source,
            dst_addr: destination,
            next_header: IpProtocol::Tcp,
            payload_len: datagram.payload.len(),
            hop_limit: 64,
        };
        let mut packet = vec![0; repr.buffer_len() + datagram.payload.len()];
        let mut ip = Ipv4Packet::new_unchecked(&mut packet);
        repr.emit(&mut ip, &ChecksumCapabilities::default());
        ip.payload_mut().copy_from_slice(&datagram.payload);
        stack.wire.inbound.push_back(packet);
        stack.poll(network, now);
    }

    /// Listens on `local`.
    fn listen(&mut self, network: &mut Network, now: Duration, local: SocketAddr) -> io::Result<()> {
        let stack = self.stack(network, now, local.ip())?;
        // As Linux with SO_REUSEADDR (which std's `TcpListener::bind` sets): only another
        // listener holds the port, not the connections an earlier one accepted. An ICE
        // restart's rebind listens again on the port whose connections are still open.
        if stack.listeners.contains_key(&local.port()) {
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                format!("a simulated TCP socket is bound to {local}"),
            ));
        }
        let listening = stack.listening_socket(local.port())?;
        stack.listeners.insert(
            local.port(),
            Listener {
                listening,
                pending: VecDeque::new(),
                waker: None,
            },
        );
        Ok(())
    }

    /// Stops listening on `local`: connections not yet accepted are reset.
    fn unlisten(&mut self, network: &mut Network, now: Duration, local: SocketAddr) {
        let Some(stack) = self.by_ip.get_mut(&local.ip()) else {
            return;
        };
        let Some(listener) = stack.listeners.remove(&local.port()) else {
            return;
        };
        for handle in std::iter::once(listener.listening).chain(listener.pending) {
            stack.sockets.get_mut::<tcp::Socket>(handle).abort();
            stack.closing.push(handle);
        }
        stack.poll(network, now);
    }

    /// The first connection to `local` that finished its handshake, with its peer; else
    /// `waker` is woken when one does.
    fn accept(&mut self, local: SocketAddr, waker: &Waker) -> Poll<io::Result<(SocketHandle, SocketAddr)>> {
        let listener = self
            .by_ip
            .get_mut(&local.ip())
            .and_then(|stack| Some(&stack.sockets).zip(stack.listeners.get_mut(&local.port())));
        let Some((sockets, listener)) = listener else {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::NotConnected,
                format!("nothing listens on {local} any more"),
            )));
        };
        let ready = listener
            .pending
            .iter()
            .position(|handle| established(sockets.get::<tcp::Socket>(*handle)));
        let Some(index) = ready else {
            listener.waker = Some(waker.clone());
            return Poll::Pending;
        };
        let handle = listener.pending.remove(index).expect("found above");
        let peer = remote(sockets.get::<tcp::Socket>(handle)).expect("an established connection has a peer");
        Poll::Ready(Ok((handle, peer)))
    }

    /// Opens a connection from the next free port of `ip` to `remote`; returns its socket
    /// and local address.
    fn connect(
        &mut self,
        network: &mut Network,
        now: Duration,
        ip: IpAddr,
        remote: SocketAddr,
    ) -> io::Result<(SocketHandle, SocketAddr)> {
        let destination = ipv4(remote.ip())?;
        let stack = self.stack(network, now, ip)?;
        let port = stack.free_port().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::AddrNotAvailable,
                format!("no TCP port is free on {ip}"),
            )
        })?;
        let mut socket = new_socket();
        socket.set_timeout(Some(smoltcp::time::Duration::from_micros(
            CONNECT_TIMEOUT.as_micros() as u64,
        )));
        socket
            .connect(
                stack.interface.context(),
                (IpAddress::Ipv4(destination), remote.port()),
                port,
            )
            .map_err(|error| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("connect to {remote}: {error}"),
                )
            })?;
        let handle = stack.sockets.add(socket);
        stack.poll(network, now);
        Ok((handle, SocketAddr::new(ip, port)))
    }

    /// Runs `f` on the socket `handle` of `ip`'s stack, then polls the stack, so what `f`
    /// queued leaves at once; `None` once the runtime shut down (and dropped the stacks).
    fn with_socket<T>(
        &mut self,
        network: &mut Network,
        now: Duration,
        ip: IpAddr,
        handle: SocketHandle,
        f: impl FnOnce(&mut tcp::Socket<'static>) -> T,
    ) -> Option<T> {
        let stack = self.by_ip.get_mut(&ip)?;
        let output = f(stack.sockets.get_mut::<tcp::Socket>(handle));
        stack.poll(network, now);
        Some(output)
    }

    /// A stream is gone: its socket closes (a FIN) — or resets (an RST) if it holds data
    /// nobody read, as Linux does (RFC 2525 §2.17) — and is removed once closed.
    fn release(&mut self, network: &mut Network, now: Duration, ip: IpAddr, handle: SocketHandle) {
        let Some(stack) = self.by_ip.get_mut(&ip) else {
            return;
        };
        let socket = stack.sockets.get_mut::<tcp::Socket>(handle);
        if socket.recv_queue() > 0 {
            socket.abort();
        } else {
            socket.close();
        }
        stack.closing.push(handle);
        stack.poll(network, now);
    }

    /// The stack of the interface at `ip`, made on first use.
    fn stack(&mut self, network: &Network, now: Duration, ip: IpAddr) -> io::Result<&mut Stack> {
        match self.by_ip.entry(ip) {
            std::collections::btree_map::Entry::Occupied(stack) => Ok(stack.into_mut()),
            std::collections::btree_map::Entry::Vacant(entry) => {
                let Some((uplink, _)) = network.access_link(ip) else {
                    return Err(io::Error::new(
                        io::ErrorKind::AddrNotAvailable,
                        format!("{ip} is no simulated interface"),
                    ));
                };
                let v4 = ipv4(ip)?;
                // From the address within the world's 127.K block, not the block: which K a
                // world gets depends on what else runs on the machine, and its run must not.
                let seed = sub_seed(network.seed(), u64::from(v4.to_bits() & 0xffff));
                Ok(entry.insert(Stack::new(v4, uplink.mtu, seed, now)))
            }
        }
    }
}

/// A socket as every stream gets it: smoltcp's defaults (Nagle on, 10 ms delayed ACKs, no
/// keep-alive), Reno, [`BUFFER_BYTES`] each way. Nagle stays on because webrtc-rs's own
/// tokio runtime sets no `TCP_NODELAY` either; it is not free: two apps restricted to
/// ICE-TCP over a 100 ms round trip connect in 1.01 s with it, 0.70 s without (0.45 s
/// over UDP), `tests/own_app.rs`.
fn new_socket() -> tcp::Socket<'static> {
    let mut socket = tcp::Socket::new(
        tcp::SocketBuffer::new(vec![0; BUFFER_BYTES]),
        tcp::SocketBuffer::new(vec![0; BUFFER_BYTES]),
    );
    socket.set_congestion_control(CongestionControl::Reno);
    socket
}

/// Whether a connection finished its handshake (and may since have been closed by its peer).
fn established(socket: &tcp::Socket) -> bool {
    !matches!(
        socket.state(),
        tcp::State::Closed | tcp::State::Listen | tcp::State::SynSent | tcp::State::SynReceived
    )
}

fn remote(socket: &tcp::Socket) -> Option<SocketAddr> {
    socket.remote_endpoint().map(|endpoint| {
        let IpAddress::Ipv4(ip) = endpoint.addr;
        SocketAddr::new(IpAddr::V4(ip), endpoint.port)
    })
}

impl Stack {
    fn new(ip: Ipv4Addr, mtu: usize, seed: u64, now: Duration) -> Self {
        let mut config = Config::new(HardwareAddress::Ip);
        // The initial sequence numbers: the same run draws the same ones.
        config.random_seed = seed;
        let mut wire = Wire {
            inbound: VecDeque::new(),
            outbound: Vec::new(),
            mtu,
        };
        let mut interface = Interface::new(config, &mut wire, instant(now));
        // Every simulated address is in 127/8: all of them are one hop away, on the wire.
        interface.update_ip_addrs(|addresses| {
            addresses
                .push(IpCidr::new(IpAddress::Ipv4(ip), 8))
                .expect("room for the interface's address");
        });
        Stack {
            interface,
            wire,
            sockets: SocketSet::new(Vec::new()),
            listeners: BTreeMap::new(),
            closing: Vec::new(),
            next_port: *EPHEMERAL_PORTS.start(),
            poll_at: None,
        }
    }

    /// Lets smoltcp read what arrived, act on its timers and write; sends what it wrote,
    /// keeps every listener listening, removes closed sockets, and notes when to poll next.
    fn poll(&mut self, network: &mut Network, now: Duration) {
        let timestamp = instant(now);
        self.interface.poll(timestamp, &mut self.wire, &mut self.sockets);
        for packet in self.wire.outbound.drain(..) {
            if let Some(datagram) = segment_of(&packet) {
                network.send(now, datagram);
            }
        }
        self.tend_listeners();
        let sockets = &mut self.sockets;
        self.closing.retain(|handle| {
            let closed = sockets.get::<tcp::Socket>(*handle).state() == tcp::State::Closed;
            if closed {
                sockets.remove(*handle);
            }
            !closed
        });
        self.poll_at = self
            .interface
            .poll_at(timestamp, &self.sockets)
            .map(|at| duration(at).max(now));
    }

    /// A listening socket that took a SYN joins its listener's pending connections and a
    /// new one listens instead; a pending connection reset before it was accepted goes; a
    /// listener with an established connection wakes its acceptor.
    fn tend_listeners(&mut self) {
        for (&port, listener) in &mut self.listeners {
            let socket = self.sockets.get::<tcp::Socket>(listener.listening);
            if socket.state() != tcp::State::Listen {
                listener.pending.push_back(listener.listening);
                let mut fresh = new_socket();
                fresh.listen(port).expect("the port is the listener's own");
                listener.listening = self.sockets.add(fresh);
            }
            let sockets = &mut self.sockets;
            listener.pending.retain(|handle| {
                let reset = sockets.get::<tcp::Socket>(*handle).state() == tcp::State::Closed;
                if reset {
                    sockets.remove(*handle);
                }
                !reset
            });
            let ready = listener
                .pending
                .iter()
                .any(|handle| established(self.sockets.get::<tcp::Socket>(*handle)));
            if ready && let Some(waker) = listener.waker.take() {
                waker.wake();
            }
        }
    }

    fn listening_socket(&mut self, port: u16) -> io::Result<SocketHandle> {
        let mut socket = new_socket();
        socket.listen(port).map_err(|error| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("listen on {port}: {error}"))
        })?;
        Ok(self.sockets.add(socket))
    }

    fn port_in_use(&self, port: u16) -> bool {
        self.listeners.contains_key(&port)
            || self.sockets.iter().any(|(_, socket)| match socket {
                smoltcp::socket::Socket::Tcp(socket) => {
                    socket.local_endpoint().is_some_and(|local| local.port == port)
                }
            })
    }

    /// The next ephemeral port after the last one handed out that nothing uses.
    fn free_port(&mut self) -> Option<u16> {
        for _ in EPHEMERAL_PORTS {
            let port = self.next_port;
            self.next_port = if port == *EPHEMERAL_PORTS.end() {
                *EPHEMERAL_PORTS.start()
            } else {
                port + 1
            };
            if !self.port_in_use(port) {
                return Some(port);
            }
        }
        None
    }
}

/// The TCP datagram an IPv4 packet smoltcp wrote carries.
fn segment_of(packet: &[u8]) -> Option<Datagram> {
    let ip = Ipv4Packet::new_checked(packet).ok()?;
    let segment = ip.payload();
    let tcp = TcpPacket::new_checked(segment).ok()?;
    Some(Datagram {
        from: SocketAddr::new(IpAddr::V4(ip.src_addr()), tcp.src_port()),
        to: SocketAddr::new(IpAddr::V4(ip.dst_addr()), tcp.dst_port()),
        transport: Transport::Tcp,
        payload: segment.to_vec(),
    })
}

impl Device for Wire {
    type RxToken<'a> = Received;
    type TxToken<'a> = Sending<'a>;

    fn receive(&mut self, _timestamp: Instant) -> Option<(Received, Sending<'_>)> {
        let packet = self.inbound.pop_front()?;
        Some((Received(packet), Sending(&mut self.outbound)))
    }

    fn transmit(&mut self, _timestamp: Instant) -> Option<Sending<'_>> {
        Some(Sending(&mut self.outbound))
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut capabilities = DeviceCapabilities::default();
        capabilities.medium = Medium::Ip;
        capabilities.max_transmission_unit = self.mtu;
        capabilities
    }
}

/// A packet for smoltcp to read.
struct Received(Vec<u8>);

impl phy::RxToken for Received {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

/// Room for a packet smoltcp writes.
struct Sending<'a>(&'a mut Vec<Vec<u8>>);

impl phy::TxToken for Sending<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut packet = vec![0; len];
        let output = f(&mut packet);
        self.0.push(packet);
        output
    }
}

impl State {
    /// The stacks, the network they send on, and the time: what every TCP call acts on.
    fn tcp_parts(&mut self) -> (&mut Stacks, &mut Network, Duration) {
        let now = self.clock.now();
        (&mut self.tcp, &mut self.network, now)
    }
}

impl SimRuntime {
    /// `wrap_tcp_listener` on the virtual clock: listens on `local` (a simulated interface,
    /// or, for the wildcard or a real interface, the current host's address, on its port).
    pub(super) fn listen_tcp(&self, local: SocketAddr) -> io::Result<Arc<dyn AsyncTcpListener>> {
        let mut state = self.state();
        let ip = if state.network.has_interface(local.ip()) {
            local.ip()
        } else {
            state.current_host_ip().map_err(|why| {
                io::Error::new(
                    io::ErrorKind::AddrNotAvailable,
                    format!("{local} is not a simulated interface, and {why}"),
                )
            })?
        };
        let local = SocketAddr::new(ip, local.port());
        let (tcp, network, now) = state.tcp_parts();
        tcp.listen(network, now, local)?;
        state.bound.push(local);
        Ok(Arc::new(SimTcpListener {
            runtime: self.clone(),
            local,
        }))
    }

    /// `connect_tcp` on the virtual clock: from the current host's address, to `remote`.
    pub(super) async fn open_tcp(&self, remote: SocketAddr) -> io::Result<Arc<dyn AsyncTcpStream>> {
        let (handle, local, started) = {
            let mut state = self.state();
            let ip = state.current_host_ip().map_err(|why| {
                io::Error::new(
                    io::ErrorKind::AddrNotAvailable,
                    format!("a TCP connection to {remote} comes from no simulated address: {why}"),
                )
            })?;
            let (tcp, network, now) = state.tcp_parts();
            let (handle, local) = tcp.connect(network, now, ip, remote)?;
            state.bound.push(local);
            (handle, local, now)
        };
        // Made first, so that a connection given up midway is released as a stream is.
        let stream = SimTcpStream {
            runtime: self.clone(),
            local,
            peer: remote,
            handle,
        };
        std::future::poll_fn(|cx| {
            let now = self.elapsed();
            stream.on_socket(|socket| match socket.state() {
                tcp::State::SynSent | tcp::State::SynReceived => {
                    socket.register_send_waker(cx.waker());
                    Poll::Pending
                }
                tcp::State::Closed if now >= started + CONNECT_TIMEOUT => Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("no answer from {remote} in {CONNECT_TIMEOUT:?}"),
                ))),
                tcp::State::Closed => Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::ConnectionRefused,
                    format!("{remote} refused the connection"),
                ))),
                _ => {
                    // Established: retransmit as long as it takes from now on.
                    socket.set_timeout(None);
                    Poll::Ready(Ok(()))
                }
            })
        })
        .await?;
        Ok(Arc::new(stream))
    }
}

/// What `wrap_tcp_listener` returns: a port listening on a simulated stack.
#[derive(Debug)]
pub struct SimTcpListener {
    runtime: SimRuntime,
    local: SocketAddr,
}

impl AsyncTcpListener for SimTcpListener {
    fn accept<'a>(
        &'a self,
    ) -> Pin<Box<dyn Future<Output = io::Result<(Arc<dyn AsyncTcpStream>, SocketAddr)>> + Send + 'a>> {
        Box::pin(std::future::poll_fn(move |cx| {
            let accepted = self.runtime.state().tcp.accept(self.local, cx.waker());
            accepted.map_ok(|(handle, peer)| {
                let stream = SimTcpStream {
                    runtime: self.runtime.clone(),
                    local: self.local,
                    peer,
                    handle,
                };
                (Arc::new(stream) as Arc<dyn AsyncTcpStream>, peer)
            })
        }))
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.local)
    }
}

impl Drop for SimTcpListener {
    fn drop(&mut self) {
        let mut state = self.runtime.state();
        let (tcp, network, now) = state.tcp_parts();
        tcp.unlisten(network, now, self.local);
    }
}

/// What `connect_tcp` and an accept return: a connection of a simulated stack. Dropping it
/// closes the connection (see [`Stacks::release`]).
#[derive(Debug)]
pub struct SimTcpStream {
    runtime: SimRuntime,
    local: SocketAddr,
    peer: SocketAddr,
    handle: SocketHandle,
}

impl SimTcpStream {
    /// Runs `f` on the stream's socket, then lets its segments leave; fails once the
    /// runtime shut down.
    fn on_socket<T>(
        &self,
        f: impl FnOnce(&mut tcp::Socket<'static>) -> Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        let mut state = self.runtime.state();
        let (tcp, network, now) = state.tcp_parts();
        tcp.with_socket(network, now, self.local.ip(), self.handle, f)
            .unwrap_or_else(|| {
                Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::NotConnected,
                    "the simulation shut down",
                )))
            })
    }

    fn reset(&self) -> io::Error {
        io::Error::new(
            io::ErrorKind::ConnectionReset,
            format!("{} reset the connection", self.peer),
        )
    }
}

impl AsyncTcpStream for SimTcpStream {
    /// Ends (`Ok(0)`) once the peer closed and everything it sent was read; fails if the
    /// connection was reset.
    fn read<'a, 'b>(
        &'a self,
        buf: &'b mut [u8],
    ) -> Pin<Box<dyn Future<Output = io::Result<usize>> + Send + 'b>>
    where
        'a: 'b,
    {
        Box::pin(std::future::poll_fn(move |cx| {
            if buf.is_empty() {
                return Poll::Ready(Ok(0));
            }
            self.on_socket(|socket| match socket.recv_slice(buf) {
                Ok(0) => {
                    socket.register_recv_waker(cx.waker());
                    Poll::Pending
                }
                Ok(read) => Poll::Ready(Ok(read)),
                Err(tcp::RecvError::Finished) => Poll::Ready(Ok(0)),
                Err(tcp::RecvError::InvalidState) => Poll::Ready(Err(self.reset())),
            })
        }))
    }

    /// Done when all of `buf` is in the send buffer (as a kernel's `write` is), waiting
    /// while the buffer is full; fails if the connection was reset.
    fn write_all<'a, 'b>(&'a self, buf: &'b [u8]) -> Pin<Box<dyn Future<Output = io::Result<()>> + Send + 'b>>
    where
        'a: 'b,
    {
        let mut sent = 0;
        Box::pin(std::future::poll_fn(move |cx| {
            self.on_socket(|socket| {
                while sent < buf.len() {
                    match socket.send_slice(&buf[sent..]) {
                        Ok(0) => {
                            socket.register_send_waker(cx.waker());
                            return Poll::Pending;
                        }
                        Ok(queued) => sent += queued,
                        Err(tcp::SendError::InvalidState) => return Poll::Ready(Err(self.reset())),
                    }
                }
                Poll::Ready(Ok(()))
            })
        }))
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.local)
    }

    fn peer_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.peer)
    }
}

impl Drop for SimTcpStream {
    fn drop(&mut self) {
        let mut state = self.runtime.state();
        let (tcp, network, now) = state.tcp_parts();
        tcp.release(network, now, self.local.ip(), self.handle);
    }
}

#[cfg(test)]
mod tests;

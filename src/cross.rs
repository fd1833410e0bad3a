//! Cross traffic: other devices' flows on a peer's access link, as a family's upload shares
//! a home uplink with a call, or a download its downlink.
//!
//! A flow runs between a device on the peer's network (it shares the peer's access link and
//! its NAT: [`crate::net::Network::add_interface_sharing`]) and a server in the core. The
//! device always opens it, as devices behind a NAT do: it connects over TCP, or, for UDP,
//! sends the server a small datagram once a second that the server answers to (a
//! download's requests, which also keep the NAT's binding). Data then goes `up`, from the
//! device, or `down`, from the server:
//!
//! - `constant`: UDP datagrams of [`DATAGRAM_BYTES`] on the wire, evenly spaced at `rate`;
//! - `on-off`: the same, for `on`, then silent for `off`, over and over;
//! - `tcp`: a bulk transfer over the simulated network's TCP (smoltcp's Reno, see
//!   [`crate::runtime::tcp`]): it sends as fast as its congestion window lets it, backs off
//!   on loss, and takes its share of a bottleneck as a download or a backup would.
//!
//! What a flow carried is metered in bins of [`METER_BIN`]: a `cross_traffic` trace event at
//! the end of each bin that moved anything. UDP flows count whole IP datagrams (what their
//! links carry); TCP counts the bytes its application wrote and read, 2.7 % under what the
//! link carries for 1460-byte segments, and retransmissions not at all.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use webrtc::runtime::{AsyncUdpSocket, Runtime};

use crate::runtime::SimRuntime;
use crate::trace::{Recorder, What};

/// A UDP flow's datagrams on the wire: 1172 bytes of payload and 28 of UDP and IPv4
/// headers, the size libwebrtc's emulated cross traffic uses.
pub const DATAGRAM_BYTES: u64 = 1200;
const UDP_IP_HEADERS: u64 = 28;
/// How often a UDP download's device asks for (more of) it.
const REQUEST_INTERVAL: Duration = Duration::from_secs(1);
/// A TCP flow's writes: large, so the socket's send buffer, not the app, paces it.
const TCP_WRITE_BYTES: usize = 64 * 1024;
/// The length of a meter bin.
pub const METER_BIN: Duration = Duration::from_millis(100);

/// One flow of cross traffic.
#[derive(Debug, Clone, PartialEq)]
pub struct CrossTraffic {
    /// Names the flow, and the device it runs from, in the trace and the report.
    pub name: String,
    /// Whose access link (and NAT) the device shares.
    pub peer: String,
    pub direction: CrossDirection,
    pub kind: CrossKind,
    /// When it starts.
    pub from: Duration,
    /// When it stops, if before the call's end.
    pub to: Option<Duration>,
}

/// Which way a flow's data goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrossDirection {
    /// From the device to the core: it queues on the peer's uplink.
    Up,
    /// From the core to the device: on the peer's downlink.
    Down,
}

/// What a flow sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrossKind {
    /// UDP at `rate_bps` (of whole IP datagrams).
    Constant { rate_bps: u64 },
    /// UDP at `rate_bps` for `on`, then nothing for `off`, repeated.
    OnOff {
        rate_bps: u64,
        on: Duration,
        off: Duration,
    },
    /// A bulk TCP transfer, as fast as TCP goes.
    Tcp,
}

/// How a UDP flow paces its datagrams.
#[derive(Debug, Clone, Copy)]
struct Pace {
    rate_bps: u64,
    /// `(on, on + off)` for an on-off flow.
    cycle: Option<(Duration, Duration)>,
}

impl CrossKind {
    /// A UDP flow's pace; `None` for TCP, which paces itself.
    fn pace(self) -> Option<Pace> {
        match self {
            CrossKind::Constant { rate_bps } => Some(Pace {
                rate_bps,
                cycle: None,
            }),
            CrossKind::OnOff { rate_bps, on, off } => Some(Pace {
                rate_bps,
                cycle: Some((on, on + off)),
            }),
            CrossKind::Tcp => None,
        }
    }
}

/// Where a flow runs: its device and its server, each a simulated host with an address.
pub(crate) struct Ends<'a> {
    pub device: (&'a str, IpAddr),
    pub server: (&'a str, IpAddr),
    /// The port the flow uses on the server.
    pub port: u16,
}

/// Bytes moved, `(sent, received)`, per bin not yet recorded, by bin number: bin `n` is
/// `[n, n + 1)` times [`METER_BIN`], so what happens at a bin's boundary counts in the bin it
/// opens, whichever task the clock runs first at that instant.
type Meter = Arc<Mutex<BTreeMap<u64, (u64, u64)>>>;

fn bin_of(at: Duration) -> u64 {
    (at.as_nanos() / METER_BIN.as_nanos()) as u64
}

fn count(runtime: &SimRuntime, meter: &Meter, sent: u64, received: u64) {
    let mut bins = meter.lock().expect("meter poisoned");
    let moved = bins.entry(bin_of(runtime.elapsed())).or_default();
    moved.0 += sent;
    moved.1 += received;
}

/// Starts `flow`'s tasks on `runtime`: the device's, the server's and the meter's. They run
/// until the world ends; the flow sends only within its `from`/`to`.
pub(crate) fn start(runtime: &SimRuntime, recorder: &Recorder, flow: &CrossTraffic, ends: Ends<'_>) {
    let meter = Meter::default();
    let server_address = SocketAddr::new(ends.server.1, ends.port);
    let (device, server) = (runtime.on_host(ends.device.0), runtime.on_host(ends.server.0));
    let window = (flow.from, flow.to.unwrap_or(Duration::MAX));
    let up = flow.direction == CrossDirection::Up;
    match flow.kind.pace() {
        None => {
            let (listener, connector) = (server.clone(), device.clone());
            let server_meter = meter.clone();
            server.spawn(Box::pin(async move {
                let _ = tcp_server(&listener, server_address, !up, window, server_meter).await;
            }));
            let device_meter = meter.clone();
            device.spawn(Box::pin(async move {
                let _ = tcp_device(&connector, server_address, up, window, device_meter).await;
            }));
        }
        Some(pace) => {
            let (device_sends, server_sends) = if up {
                (Some(pace), None)
            } else {
                (None, Some(pace))
            };
            let (answering, requesting) = (server.clone(), device.clone());
            let server_meter = meter.clone();
            server.spawn(Box::pin(async move {
                let _ = udp_server(&answering, server_address, server_sends, window, server_meter).await;
            }));
            let device_meter = meter.clone();
            let device_address = SocketAddr::new(ends.device.1, ends.port);
            device.spawn(Box::pin(async move {
                let _ = udp_device(
                    &requesting,
                    device_address,
                    server_address,
                    device_sends,
                    window,
                    device_meter,
                )
                .await;
            }));
        }
    }
    let (clock, recorder, name) = (runtime.clone(), recorder.clone(), flow.name.clone());
    runtime.spawn_on(ends.device.0, async move {
        loop {
            clock.sleep(METER_BIN).await;
            let open = bin_of(clock.elapsed());
            let closed = {
                let mut bins = meter.lock().expect("meter poisoned");
                let still_open = bins.split_off(&open);
                std::mem::replace(&mut *bins, still_open)
            };
            for (bin, (sent_bytes, received_bytes)) in closed {
                let what = What::CrossTraffic {
                    flow: name.clone(),
                    sent_bytes,
                    received_bytes,
                };
                recorder.record(METER_BIN * (bin as u32 + 1), what);
            }
        }
    });
}

/// Sleeps until `at` on the virtual clock (at once if it has passed).
async fn sleep_until(runtime: &SimRuntime, at: Duration) {
    let now = runtime.elapsed();
    if at > now {
        runtime.sleep(at - now).await;
    }
}

fn bind_udp(runtime: &SimRuntime, address: SocketAddr) -> std::io::Result<Arc<dyn AsyncUdpSocket>> {
    runtime.wrap_udp_socket(std::net::UdpSocket::bind(address)?)
}

/// The device's end of a UDP flow: it sends the flow up, or asks for it once a second and
/// counts what comes down.
async fn udp_device(
    runtime: &SimRuntime,
    local: SocketAddr,
    server: SocketAddr,
    sends: Option<Pace>,
    window: (Duration, Duration),
    meter: Meter,
) -> std::io::Result<()> {
    let socket = bind_udp(runtime, local)?;
    sleep_until(runtime, window.0).await;
    if let Some(pace) = sends {
        return send_udp(runtime, &socket, server, pace, window, &meter).await;
    }
    let receiving = socket.clone();
    let (counting, clock) = (meter.clone(), runtime.clone());
    runtime.spawn(Box::pin(async move {
        let mut buffer = vec![0; 2048];
        while let Ok((bytes, _)) = receiving.recv_from(&mut buffer).await {
            count(&clock, &counting, 0, bytes as u64 + UDP_IP_HEADERS);
        }
    }));
    while runtime.elapsed() < window.1 {
        socket.send_to(&[0], server).await?;
        runtime.sleep(REQUEST_INTERVAL).await;
    }
    Ok(())
}

/// The server's end of a UDP flow: it counts what comes up, or sends the flow down to where
/// the device's first request came from.
async fn udp_server(
    runtime: &SimRuntime,
    local: SocketAddr,
    sends: Option<Pace>,
    window: (Duration, Duration),
    meter: Meter,
) -> std::io::Result<()> {
    let socket = bind_udp(runtime, local)?;
    let mut buffer = vec![0; 2048];
    let Some(pace) = sends else {
        loop {
            let (bytes, _) = socket.recv_from(&mut buffer).await?;
            count(runtime, &meter, 0, bytes as u64 + UDP_IP_HEADERS);
        }
    };
    let (_, device) = socket.recv_from(&mut buffer).await?;
    send_udp(runtime, &socket, device, pace, window, &meter).await
}

/// Sends datagrams to `to` at `pace` within `window`.
async fn send_udp(
    runtime: &SimRuntime,
    socket: &Arc<dyn AsyncUdpSocket>,
    to: SocketAddr,
    pace: Pace,
    window: (Duration, Duration),
    meter: &Meter,
) -> std::io::Result<()> {
    let spacing = Duration::from_secs_f64((DATAGRAM_BYTES * 8) as f64 / pace.rate_bps as f64);
    let payload = vec![0; (DATAGRAM_BYTES - UDP_IP_HEADERS) as usize];
    let mut next = runtime.elapsed();
    while next < window.1 {
        if let Some((on, cycle)) = pace.cycle {
            let into_cycle = (next - window.0).as_nanos() % cycle.as_nanos();
            if into_cycle >= on.as_nanos() {
                // Silent until the next cycle's start.
                next += Duration::from_nanos((cycle.as_nanos() - into_cycle) as u64);
                continue;
            }
        }
        sleep_until(runtime, next).await;
        socket.send_to(&payload, to).await?;
        count(runtime, meter, DATAGRAM_BYTES, 0);
        next += spacing;
    }
    Ok(())
}

/// The device's end of a TCP flow: it connects at the flow's start, then sends, or reads.
async fn tcp_device(
    runtime: &SimRuntime,
    server: SocketAddr,
    sends: bool,
    window: (Duration, Duration),
    meter: Meter,
) -> std::io::Result<()> {
    sleep_until(runtime, window.0).await;
    let stream = runtime.connect_tcp(server).await?;
    transfer(runtime, stream.as_ref(), sends, window.1, &meter).await
}

/// The server's end of a TCP flow: it accepts the device's connection, then reads, or sends.
async fn tcp_server(
    runtime: &SimRuntime,
    local: SocketAddr,
    sends: bool,
    window: (Duration, Duration),
    meter: Meter,
) -> std::io::Result<()> {
    let listener = runtime.wrap_tcp_listener(std::net::TcpListener::bind(local)?)?;
    let (stream, _) = listener.accept().await?;
    transfer(runtime, stream.as_ref(), sends, window.1, &meter).await
}

/// Writes as fast as the connection takes until `until`, or reads until it closes.
async fn transfer(
    runtime: &SimRuntime,
    stream: &dyn webrtc::runtime::AsyncTcpStream,
    sends: bool,
    until: Duration,
    meter: &Meter,
) -> std::io::Result<()> {
    if sends {
        let chunk = vec![0; TCP_WRITE_BYTES];
        while runtime.elapsed() < until {
            stream.write_all(&chunk).await?;
            count(runtime, meter, chunk.len() as u64, 0);
        }
        return Ok(());
    }
    let mut buffer = vec![0; TCP_WRITE_BYTES];
    loop {
        match stream.read(&mut buffer).await? {
            0 => return Ok(()),
            bytes => count(runtime, meter, 0, bytes as u64),
        }
    }
}

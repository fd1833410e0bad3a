//! The runtime helper of webrtc-rs's integration tests, replaced by webrtc-netsim's
//! conformance run (`tools/conformance.sh`): the same functions as upstream's
//! `tests/common/mod.rs`, over a `SimRuntime` instead of `default_runtime()`.
//!
//! Each test thread gets a world of its own (libtest runs each test on a thread of its own):
//! one simulated host, `local`, with the interface 127.0.0.1 that the tests bind, so every
//! datagram between their sockets goes through the host's loopback (10 µs) on the virtual
//! clock. `block_on` is `Runtime::block_on`, as upstream's helper, and its future runs as the
//! host `local`, so a wildcard bind lands on 127.0.0.1.

#![allow(dead_code)]

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;
use webrtc::runtime::{Elapsed, Runtime};
use webrtc_netsim::net::{LinkConfig, Network};
use webrtc_netsim::runtime::SimRuntime;

/// The simulated host every test runs as.
const HOST: &str = "local";

thread_local! {
    /// This test's world.
    static WORLD: SimRuntime = world();
}

fn world() -> SimRuntime {
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let mut network = Network::new(LinkConfig::default(), 1);
    network.add_interface(HOST, ip, LinkConfig::default(), LinkConfig::default());
    let runtime = SimRuntime::new(network);
    runtime.set_host_address(HOST, ip);
    runtime
}

fn sim() -> SimRuntime {
    WORLD.with(SimRuntime::clone)
}

/// The runtime under test: this thread's simulated world.
pub fn runtime() -> Arc<dyn Runtime> {
    Arc::new(sim())
}

/// Drive `future` to completion on the runtime under test, returning its output.
pub fn block_on<F, T>(future: F) -> T
where
    F: Future<Output = T>,
{
    let sim = sim();
    let mut out: Option<T> = None;
    {
        let slot = &mut out;
        sim.block_on(Box::pin(sim.as_host(HOST, async move {
            *slot = Some(future.await);
        })));
    }
    out.expect("block_on future did not run to completion")
}

/// Sleep on the runtime under test.
pub async fn sleep(duration: Duration) {
    runtime().sleep(duration).await;
}

/// Cooperatively yield on the runtime under test.
pub async fn yield_now() {
    runtime().yield_now().await;
}

/// Run `future` with a deadline on the runtime under test.
pub async fn timeout<T>(duration: Duration, future: impl Future<Output = T>) -> Result<T, Elapsed> {
    webrtc::runtime::timeout(&*runtime(), duration, future).await
}

/// A repeating timer on the runtime under test.
pub fn interval(period: Duration) -> Box<dyn webrtc::runtime::AsyncInterval> {
    runtime().interval(period)
}

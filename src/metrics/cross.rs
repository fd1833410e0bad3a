//! What each flow of cross traffic carried: from its meter's `cross_traffic` events, in
//! whole 100 ms bins (an event closes its bin).

use std::collections::BTreeMap;

use serde::Serialize;

use super::Window;
use crate::trace::{Event, What};

/// One cross-traffic flow within a window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CrossFlowMetrics {
    /// Bytes its sending end sent (UDP: whole IP datagrams; TCP: what its app wrote).
    pub sent_bytes: u64,
    /// Bytes that reached its receiving end (UDP: whole IP datagrams; TCP: what its app read).
    pub received_bytes: u64,
    /// `received_bytes` in bits per second over the window's length.
    pub throughput_bps: u64,
}

/// Every flow the trace metered, over the bins that close within `window`: a bin's
/// reading is recorded at its end, so a bin counts if `from < end <= to`.
pub fn cross_traffic(trace: &[Event], window: Window) -> BTreeMap<String, CrossFlowMetrics> {
    let mut flows: BTreeMap<String, CrossFlowMetrics> = BTreeMap::new();
    for event in trace
        .iter()
        .filter(|event| window.from < event.at && event.at <= window.to)
    {
        if let What::CrossTraffic {
            flow,
            sent_bytes,
            received_bytes,
        } = &event.what
        {
            let metrics = flows.entry(flow.clone()).or_default();
            metrics.sent_bytes += sent_bytes;
            metrics.received_bytes += received_bytes;
        }
    }
    let seconds = (window.to - window.from).as_secs_f64();
    for metrics in flows.values_mut() {
        metrics.throughput_bps = (metrics.received_bytes as f64 * 8.0 / seconds).round() as u64;
    }
    flows
}

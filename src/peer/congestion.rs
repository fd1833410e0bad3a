//! Congestion control on a peer: webrtc-rs's own Google Congestion Control with TWCC
//! feedback, and the handle through which the built-in video encoder follows its estimate.
//!
//! `configure_congestion_control` takes the estimator by value and boxes it inside the
//! interceptor chain, so the estimate is pushed out rather than pulled, as webrtc-rs's
//! `bandwidth-estimation-from-disk` example does it: [`Reporting`] wraps [`Gcc`], delegates
//! every call, and after each report and timeout (the two points where the target can move)
//! publishes the target to an [`Estimate`] and records each change in the trace.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use rtc::interceptor::{BandwidthEstimator, EstimatorStats, Gcc, PacketReport};

use crate::sim::TraceHandle;
use crate::trace::What;

/// webrtc-rs's GCC on a peer's sending side: where its estimate starts and the limits it is
/// held within, in bits per second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CongestionControl {
    pub start_bps: u64,
    pub min_bps: u64,
    pub max_bps: u64,
}

impl Default for CongestionControl {
    /// GCC's own start and floor (300 and 100 kbit/s); a 2.5 Mbit/s ceiling instead of its
    /// 100 Mbit/s, so that on an ideal link the synthetic video stops where a 720p call would.
    fn default() -> Self {
        CongestionControl {
            start_bps: 300_000,
            min_bps: 100_000,
            max_bps: 2_500_000,
        }
    }
}

/// The estimator's current target, in bits per second, as the app reads it. Cheap to clone:
/// clones share the value.
#[derive(Debug, Clone)]
pub struct Estimate(Arc<AtomicU64>);

impl Estimate {
    pub(super) fn new(bps: u64) -> Self {
        Estimate(Arc::new(AtomicU64::new(bps)))
    }

    pub fn target_bps(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    /// Publishes `bps`; whether it changed.
    pub(super) fn set(&self, bps: u64) -> bool {
        self.0.swap(bps, Ordering::Relaxed) != bps
    }
}

/// [`Gcc`], publishing its target after every call that can move it.
pub(super) struct Reporting {
    inner: Gcc,
    estimate: Estimate,
    peer: String,
    trace: TraceHandle,
    /// The `Instant` of virtual time zero, to place the stack's instants in the trace.
    origin: Instant,
}

impl Reporting {
    /// GCC as `control` configures it, and the estimate it publishes; its starting target is
    /// recorded now, whose `Instant` the stack sees as `now`.
    pub(super) fn new(
        control: CongestionControl,
        peer: &str,
        trace: TraceHandle,
        now: Instant,
    ) -> (Self, Estimate) {
        let inner = Gcc::new(
            control.start_bps as f64,
            control.min_bps as f64,
            control.max_bps as f64,
        );
        let start = inner.target_bitrate().round() as u64;
        let estimate = Estimate::new(start);
        trace.record(What::TargetBitrate {
            peer: peer.to_owned(),
            bps: start,
        });
        let reporting = Reporting {
            inner,
            estimate: estimate.clone(),
            peer: peer.to_owned(),
            origin: now - trace.now(),
            trace,
        };
        (reporting, estimate)
    }

    fn publish(&self, now: Instant) {
        let bps = self.inner.target_bitrate().round() as u64;
        if self.estimate.set(bps) {
            self.trace.record_at(
                now.saturating_duration_since(self.origin),
                What::TargetBitrate {
                    peer: self.peer.clone(),
                    bps,
                },
            );
        }
    }
}

impl BandwidthEstimator for Reporting {
    fn on_reports(&mut self, now: Instant, reports: &[PacketReport]) {
        self.inner.on_reports(now, reports);
        self.publish(now);
    }

    fn target_bitrate(&self) -> f64 {
        self.inner.target_bitrate()
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.inner.handle_timeout(now);
        self.publish(now);
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.inner.poll_timeout()
    }

    fn stats(&self) -> EstimatorStats {
        self.inner.stats()
    }
}

//! The stack's own view of a watched connection: `PeerConnection::get_stats` sampled at the
//! world's stats interval into `stack_stats` events, so a run shows what webrtc-rs believes
//! (its RTT, its loss and jitter counts, its NACKs and PLIs) beside what the wire tap
//! measured, and where the two differ.

use std::sync::{Arc, Weak};
use std::time::Duration;

use webrtc::peer_connection::{PeerConnection, RTCStatsReport, StatsSelector};
use webrtc::runtime::Runtime;

use super::TraceHandle;
use crate::trace::{InboundStats, OutboundStats, What};

/// Samples `connection` every `interval` until the app drops it.
pub(super) fn sample(
    interval: Duration,
    connection: &Arc<dyn PeerConnection>,
    peer: &str,
    trace: &TraceHandle,
) {
    let (connection, peer, trace): (Weak<dyn PeerConnection>, _, _) =
        (Arc::downgrade(connection), peer.to_owned(), trace.clone());
    let runtime = trace.runtime.clone();
    runtime.spawn(Box::pin(async move {
        loop {
            trace.runtime.sleep(interval).await;
            let Some(connection) = connection.upgrade() else {
                return;
            };
            let report = connection
                .get_stats(trace.runtime.now(), StatsSelector::None)
                .await;
            trace.record(snapshot(&peer, &report));
        }
    }));
}

/// The parts of a report the trace keeps, streams by SSRC.
fn snapshot(peer: &str, report: &RTCStatsReport) -> What {
    let pair = report.candidate_pairs().find(|pair| pair.nominated);
    let positive = |value: f64| (value.is_finite() && value > 0.0).then_some(value);
    let mut inbound: Vec<InboundStats> = report
        .inbound_rtp_streams()
        .map(|stream| {
            let received = &stream.received_rtp_stream_stats;
            InboundStats {
                kind: received.rtp_stream_stats.kind.to_string(),
                ssrc: received.rtp_stream_stats.ssrc,
                packets_received: received.packets_received,
                packets_lost: received.packets_lost,
                jitter: positive(received.jitter).map_or(Duration::ZERO, Duration::from_secs_f64),
                nack_count: stream.nack_count,
                pli_count: stream.pli_count,
            }
        })
        .collect();
    inbound.sort_by_key(|stream| stream.ssrc);
    let mut outbound: Vec<OutboundStats> = report
        .outbound_rtp_streams()
        .map(|stream| {
            let sent = &stream.sent_rtp_stream_stats;
            OutboundStats {
                kind: sent.rtp_stream_stats.kind.to_string(),
                ssrc: sent.rtp_stream_stats.ssrc,
                packets_sent: sent.packets_sent,
                bytes_sent: sent.bytes_sent,
                retransmitted_packets_sent: stream.retransmitted_packets_sent,
                nack_count: stream.nack_count,
                pli_count: stream.pli_count,
            }
        })
        .collect();
    outbound.sort_by_key(|stream| stream.ssrc);
    What::StackStats {
        peer: peer.to_owned(),
        rtt: pair
            .and_then(|pair| positive(pair.current_round_trip_time))
            .map(Duration::from_secs_f64),
        available_outgoing_bps: pair
            .and_then(|pair| positive(pair.available_outgoing_bitrate))
            .map(|bps| bps.round() as u64),
        inbound,
        outbound,
    }
}

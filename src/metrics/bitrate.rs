//! A stream's bitrate within a window: what its sender wrote and what its receiver got.
//!
//! Both count the bytes the wire tap records, the RTP payload (a data-channel message's
//! bytes), not whole packets: that is what an encoder is asked to produce and what a
//! receiving app can use (W3C `bytesSent` and `bytesReceived` count the same), and the tap,
//! which sits above SRTP, the pacer and the retransmissions, sees nothing else. The link
//! carries more: 12 bytes of RTP header and its extensions, SRTP's tag, UDP and IP.
//!
//! The sent rate counts what the app wrote in the window, by send time; the received rate
//! what arrived in it, by arrival time, each packet once (its first copy; a retransmission
//! is the original arriving late), whenever it was sent. So a queue that holds packets for
//! seconds shows as a received rate under the sent one while it fills, and over it while it
//! drains, as a receiver sees it.

use serde::Serialize;

use super::{SentPackets, StreamEvents, Window};

/// A stream's bitrates within a window, in bits per second over the window's length.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StreamBitrate {
    /// Payload bits the sender wrote in the window.
    pub sent_bps: u64,
    /// Payload bits that reached the receiver in the window, each packet once.
    pub received_bps: u64,
}

impl StreamEvents {
    /// The bitrates of this stream within `window`.
    pub(super) fn bitrate(&self, window: Window) -> StreamBitrate {
        let seconds = (window.to - window.from).as_secs_f64();
        let bps = |bytes: usize| (bytes as f64 * 8.0 / seconds).round() as u64;
        let first = self.sent.partition_point(|(at, ..)| *at < window.from);
        let last = self.sent.partition_point(|(at, ..)| *at < window.to);
        let sent: usize = self.sent[first..last].iter().map(|(.., size)| size).sum();

        // Each number counts once, at its first arrival, with the size its packet was sent
        // with; an arrival of a number never sent adds nothing.
        let numbers = SentPackets::new(&self.sent);
        let mut arrived = vec![false; numbers.len()];
        let mut received = 0;
        for (at, seq, sent_at) in self.arrivals.iter().take_while(|(at, ..)| *at < window.to) {
            if let Some(index) = numbers.position(*seq)
                && !std::mem::replace(&mut arrived[index], true)
                && *at >= window.from
            {
                received += self.size_of(*seq, *sent_at).unwrap_or_default();
            }
        }
        StreamBitrate {
            sent_bps: bps(sent),
            received_bps: bps(received),
        }
    }
}

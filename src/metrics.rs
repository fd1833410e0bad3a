//! Metrics, computed from the trace after the run (SPEC section 3).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::Serialize;

use crate::trace::{Event, MediaKind, What};

mod bitrate;
mod cross;
mod recovery;
pub use bitrate::StreamBitrate;
pub use cross::{CrossFlowMetrics, cross_traffic};
pub use recovery::{NETWORK_EVENTS, OBSERVED_RESTART, Reconnect, Restart, reconnect_time};

/// The metrics of a whole run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metrics {
    /// Caller's `create_offer` → both peer connections `connected`; `None` if they never were.
    pub connect_time: Option<Duration>,
    /// Per stream (`bob<-alice:audio`), over the whole run.
    pub streams: BTreeMap<String, StreamMetrics>,
    /// Every ICE restart, with its evidence.
    pub restarts: Vec<Restart>,
    /// Reconnection after every network event of the timeline.
    pub reconnects: Vec<Reconnect>,
    /// Per flow of cross traffic, over the whole run (absent from `report.json` without any).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub cross_traffic: BTreeMap<String, CrossFlowMetrics>,
}

/// A half-open window of virtual time, `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub from: Duration,
    pub to: Duration,
}

impl Window {
    pub fn contains(&self, at: Duration) -> bool {
        self.from <= at && at < self.to
    }
}

/// What one stream's receiver experienced within a window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StreamMetrics {
    /// Packets (or messages) the sender handed to the stack in the window.
    pub sent: u64,
    /// Distinct ones of those that arrived.
    pub received: u64,
    /// Copies that arrived more than once.
    pub duplicates: u64,
    /// Arrivals with a lower sequence number than one already received.
    pub out_of_order: u64,
    /// Sent but never received, though sent early enough to arrive: before a packet that
    /// did arrive, or at least the stream's largest one-way delay before the end of the
    /// trace (the ones sent later may simply have been in flight when the call ended); on a
    /// data channel, whose lost messages SCTP sends again, that delay and one retransmission
    /// timeout ([`SCTP_RTO_MIN`]).
    pub lost: u64,
    /// `received ÷ sent`.
    pub delivered: f64,
    /// Longest time without an arrival while the sender was sending.
    pub media_gap: Duration,
    pub one_way_delay: Option<DelayStats>,
    /// Video freezes (W3C `freezeCount`, as libwebrtc counts them); 0 for other media.
    pub freezes: u64,
    /// Bits per second the sender wrote and the receiver got within the window.
    pub bitrate: StreamBitrate,
}

/// One-way delay percentiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DelayStats {
    pub p50: Duration,
    pub p95: Duration,
    pub max: Duration,
}

impl Metrics {
    /// Computes every metric over the run `[0, duration)`.
    pub fn from_trace(trace: &[Event], duration: Duration) -> Metrics {
        let window = Window {
            from: Duration::ZERO,
            to: duration,
        };
        let media = MediaIndex::new(trace);
        Metrics {
            connect_time: connect_time(trace),
            streams: media
                .streams()
                .map(|stream| (stream.to_owned(), media.metrics(stream, window)))
                .collect(),
            restarts: recovery::restarts(trace),
            reconnects: recovery::reconnects(trace),
            cross_traffic: cross::cross_traffic(trace, window),
        }
    }
}

/// The trace's media events, by stream. Built in one pass, so that judging many
/// expectations costs one scan of the trace, not one per expectation.
pub struct MediaIndex<'a> {
    streams: BTreeMap<&'a str, StreamEvents>,
    /// The trace's last instant: nothing sent can arrive after it.
    horizon: Duration,
}

/// SCTP's shortest retransmission timeout (RFC 4960 §15 `RTO.Min`, `rtc-sctp` 0.21.1's
/// `RTO_MIN`): a data-channel message lost once arrives no sooner than this after it would
/// have.
pub const SCTP_RTO_MIN: Duration = Duration::from_secs(1);

/// One stream's packets: sent `(at, seq, frame, size)` and received `(at, seq, sent_at)`,
/// each in time order.
#[derive(Debug, Default)]
struct StreamEvents {
    sent: Vec<(Duration, u64, Option<u64>, usize)>,
    arrivals: Vec<(Duration, u64, Duration)>,
    /// The slowest arrival of the whole stream, whatever the window: a packet sent at least
    /// this long before the horizon had all the time any packet of the stream needed.
    slowest: Duration,
    /// A data channel, whose lost messages SCTP sends again.
    retransmitted: bool,
}

impl<'a> MediaIndex<'a> {
    pub fn new(trace: &'a [Event]) -> Self {
        let mut streams: BTreeMap<&'a str, StreamEvents> = BTreeMap::new();
        let mut horizon = Duration::ZERO;
        for event in trace {
            horizon = horizon.max(event.at);
            match &event.what {
                What::MediaSent {
                    stream,
                    seq,
                    frame,
                    size,
                } => {
                    let events = StreamEvents::of(&mut streams, stream);
                    events.sent.push((event.at, *seq, *frame, *size));
                }
                What::MediaReceived {
                    stream, seq, sent_at, ..
                } => {
                    let events = StreamEvents::of(&mut streams, stream);
                    events.arrivals.push((event.at, *seq, *sent_at));
                    events.slowest = events.slowest.max(event.at - *sent_at);
                }
                _ => {}
            }
        }
        MediaIndex { streams, horizon }
    }

    /// Every stream that sent or received anything, in name order.
    pub fn streams(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.streams.keys().copied()
    }

    /// `stream`'s sends as `(at, payload bytes)`, in time order.
    pub fn sends(&self, stream: &str) -> impl Iterator<Item = (Duration, usize)> + '_ {
        (self.streams.get(stream).into_iter())
            .flat_map(|events| events.sent.iter().map(|(at, _, _, size)| (*at, *size)))
    }

    /// `stream`'s arrivals, every copy, as `(at, payload bytes)` in time order: an arrival
    /// has the size its packet was sent with (0 if it matches no send).
    pub fn arrivals(&self, stream: &str) -> impl Iterator<Item = (Duration, usize)> + '_ {
        (self.streams.get(stream).into_iter()).flat_map(|events| {
            (events.arrivals.iter())
                .map(|(at, seq, sent_at)| (*at, events.size_of(*seq, *sent_at).unwrap_or_default()))
        })
    }

    /// Metrics of `stream` for packets sent within `window` (all zero for an unknown one).
    pub fn metrics(&self, stream: &str, window: Window) -> StreamMetrics {
        match self.streams.get(stream) {
            Some(events) => events.metrics(window, self.horizon),
            None => StreamEvents::default().metrics(window, self.horizon),
        }
    }
}

/// The first offer → the later of the two peers' first `connected`. The offer counts from
/// its peer's signaling state `have-local-offer`, which the observer on any app's
/// connection records, the built-in app's or a user's.
pub fn connect_time(trace: &[Event]) -> Option<Duration> {
    let offered = trace.iter().find_map(|event| match &event.what {
        What::SignalingState { state, .. } if state == "have-local-offer" => Some(event.at),
        _ => None,
    })?;
    let mut connected: BTreeMap<&str, Duration> = BTreeMap::new();
    let mut peers: BTreeSet<&str> = BTreeSet::new();
    for event in trace {
        if let What::PeerConnectionState { peer, state } = &event.what {
            peers.insert(peer);
            if state == "connected" && event.at >= offered {
                connected.entry(peer).or_insert(event.at);
            }
        }
    }
    if peers.len() < 2 || connected.len() < peers.len() {
        return None;
    }
    connected.values().max().map(|at| *at - offered)
}

/// How far the peers got when [`connect_time`] finds no connection, for a verdict to say. A
/// peer connection is `connected` once both ICE and DTLS are, so a peer whose ICE connected
/// and whose connection did not is one whose DTLS handshake never completed.
pub fn why_not_connected(trace: &[Event]) -> String {
    // By peer: its last ICE state, when its ICE first connected, whether its connection did.
    let mut peers: BTreeMap<&str, (&str, Option<Duration>, bool)> = BTreeMap::new();
    for event in trace {
        match &event.what {
            What::IceConnectionState { peer, state } => {
                let (last, ice_connected, _) = peers.entry(peer).or_default();
                *last = state;
                if matches!(state.as_str(), "connected" | "completed") {
                    ice_connected.get_or_insert(event.at);
                }
            }
            What::PeerConnectionState { peer, state } if state == "connected" => {
                peers.entry(peer).or_default().2 = true;
            }
            _ => {}
        }
    }
    let list = |names: Vec<String>| names.join(", ");
    let ice_connected: Option<Vec<Duration>> = peers.values().map(|(_, at, _)| *at).collect();
    match ice_connected.and_then(|times| times.into_iter().max()) {
        Some(at) if peers.len() >= 2 => format!(
            "ICE connected at {at:?}, but DTLS never completed for {}",
            list(
                (peers.iter())
                    .filter(|(_, (_, _, connected))| !connected)
                    .map(|(peer, _)| peer.to_string())
                    .collect()
            )
        ),
        _ if peers.is_empty() => "ICE never started".to_owned(),
        _ => format!(
            "ICE never connected ({})",
            list(
                (peers.iter())
                    .map(|(peer, (state, ..))| format!("{peer}: {state}"))
                    .collect()
            )
        ),
    }
}

impl StreamMetrics {
    /// Metrics of `stream` for packets sent within `window`. To judge many streams or
    /// windows of one trace, build a [`MediaIndex`] once instead.
    pub fn compute(trace: &[Event], stream: &str, window: Window) -> StreamMetrics {
        MediaIndex::new(trace).metrics(stream, window)
    }
}

impl StreamEvents {
    /// The events of the stream named `name` in `streams`, added if new.
    fn of<'m, 'a>(streams: &'m mut BTreeMap<&'a str, StreamEvents>, name: &'a str) -> &'m mut StreamEvents {
        streams.entry(name).or_insert_with(|| StreamEvents {
            retransmitted: name.rsplit_once(':').and_then(|(_, kind)| MediaKind::named(kind))
                == Some(MediaKind::Data),
            ..StreamEvents::default()
        })
    }

    /// How long a packet of the stream may take and still arrive: the slowest arrival, and
    /// on a data channel one retransmission more.
    fn time_to_arrive(&self) -> Duration {
        match self.retransmitted {
            true => self.slowest + SCTP_RTO_MIN,
            false => self.slowest,
        }
    }

    /// The payload bytes of the packet an arrival is: its number's send at `sent_at`.
    fn size_of(&self, seq: u64, sent_at: Duration) -> Option<usize> {
        // Sends are in time order: the ones at `sent_at` are one slice of them.
        let first = self.sent.partition_point(|(at, ..)| *at < sent_at);
        (self.sent[first..].iter())
            .take_while(|(at, ..)| *at == sent_at)
            .find(|(_, number, ..)| *number == seq)
            .map(|(.., size)| *size)
    }

    /// Metrics of the packets sent within `window`, judged at `horizon`, the end of the trace.
    fn metrics(&self, window: Window, horizon: Duration) -> StreamMetrics {
        // Sends are in time order: the window is one slice of them.
        let first = self.sent.partition_point(|(at, ..)| *at < window.from);
        let last = self.sent.partition_point(|(at, ..)| *at < window.to);
        let sent = SentPackets::new(&self.sent[first..last]);
        let arrivals: Vec<(Duration, u64, Duration)> = self
            .arrivals
            .iter()
            .filter(|(_, _, sent_at)| window.contains(*sent_at))
            .copied()
            .collect();

        // By packet of `sent`, its first arrival; arrivals of packets not sent in the
        // window only count towards duplicates and order.
        let mut first_arrival: Vec<Option<Duration>> = vec![None; sent.len()];
        let mut unsent_arrived: BTreeSet<u64> = BTreeSet::new();
        let mut duplicates = 0;
        let mut out_of_order = 0;
        let mut highest: Option<u64> = None;
        let mut delays = Vec::new();
        for (at, seq, sent_at) in &arrivals {
            let first = match sent.position(*seq) {
                Some(packet) if first_arrival[packet].is_none() => {
                    first_arrival[packet] = Some(*at);
                    true
                }
                Some(_) => false,
                None => unsent_arrived.insert(*seq),
            };
            if !first {
                duplicates += 1;
                continue;
            }
            delays.push(*at - *sent_at);
            if highest.is_some_and(|h| *seq < h) {
                out_of_order += 1;
            }
            highest = highest.max(Some(*seq));
        }
        let received = first_arrival.iter().flatten().count() as u64;
        let lost = (sent.packets.iter().zip(&first_arrival))
            .filter(|((seq, sent_at, _), arrival)| {
                arrival.is_none()
                    && (highest.is_some_and(|h| *seq < h) || *sent_at + self.time_to_arrive() <= horizon)
            })
            .count() as u64;
        let first_sent = sent.packets.iter().map(|(_, at, _)| *at).min();
        let last_sent = sent.packets.iter().map(|(_, at, _)| *at).max();
        let frames =
            (sent.packets.iter().zip(&first_arrival)).map(|((_, _, frame), arrival)| (*frame, *arrival));

        StreamMetrics {
            sent: sent.len() as u64,
            received,
            duplicates,
            out_of_order,
            lost,
            delivered: if sent.is_empty() {
                0.0
            } else {
                received as f64 / sent.len() as f64
            },
            media_gap: match (first_sent, last_sent) {
                (Some(first), Some(last)) => {
                    let path_delay = delays.iter().min().copied().unwrap_or_default();
                    media_gap(arrivals.iter().map(|(at, ..)| *at), (first, last), path_delay)
                }
                _ => Duration::ZERO,
            },
            one_way_delay: delay_stats(delays),
            freezes: count_freezes(&frame_render_times(frames)),
            bitrate: self.bitrate(window),
        }
    }
}

/// The packets sent in a window, `(seq, at, frame)` in sequence order; a sequence number
/// sent twice counts once, as its last send.
struct SentPackets {
    packets: Vec<(u64, Duration, Option<u64>)>,
}

impl SentPackets {
    fn new(sent: &[(Duration, u64, Option<u64>, usize)]) -> Self {
        let mut packets: Vec<_> = sent
            .iter()
            .map(|(at, seq, frame, _)| (*seq, *at, *frame))
            .collect();
        // Stable, so of one number's sends the last stays last, and is the one kept.
        packets.sort_by_key(|(seq, ..)| *seq);
        packets.dedup_by(|later, kept| {
            let same = later.0 == kept.0;
            if same {
                *kept = *later;
            }
            same
        });
        SentPackets { packets }
    }

    fn len(&self) -> usize {
        self.packets.len()
    }

    fn is_empty(&self) -> bool {
        self.packets.is_empty()
    }

    /// Where packet `seq` is, if it was sent.
    fn position(&self, seq: u64) -> Option<usize> {
        self.packets.binary_search_by_key(&seq, |(seq, ..)| *seq).ok()
    }
}

/// Longest time the receiver heard nothing while the sender was sending, on the receiver's
/// clock: between consecutive arrivals, and at the window's edges from when the first (to
/// when the last) packet sent in it could have arrived — its send time plus the smallest
/// one-way delay seen — so a window that starts at a network event sees the silence the
/// event causes.
fn media_gap(
    arrivals: impl Iterator<Item = Duration>,
    sent: (Duration, Duration),
    path_delay: Duration,
) -> Duration {
    let (first_sent, last_sent) = sent;
    let mut times: Vec<Duration> = arrivals.collect();
    times.sort();
    let (Some(first), Some(last)) = (times.first(), times.last()) else {
        return last_sent - first_sent;
    };
    let leading = first.saturating_sub(first_sent + path_delay);
    let trailing = (last_sent + path_delay).saturating_sub(*last);
    times
        .windows(2)
        .map(|pair| pair[1] - pair[0])
        .chain([leading, trailing])
        .max()
        .unwrap_or_default()
}

fn delay_stats(mut delays: Vec<Duration>) -> Option<DelayStats> {
    if delays.is_empty() {
        return None;
    }
    delays.sort();
    Some(DelayStats {
        p50: percentile(&delays, 0.50),
        p95: percentile(&delays, 0.95),
        max: *delays.last()?,
    })
}

/// The `p` quantile (`0..=1`) of `sorted`, which is not empty: the value at the nearest
/// rank, so always one that was measured. The delay statistics and the distributions over
/// seeds (`report::seeds`) read quantiles alike.
pub fn percentile<T: Copy>(sorted: &[T], p: f64) -> T {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// When each video frame could be rendered, from each packet's frame and first arrival:
/// once all its packets arrived, in frame order (a frame completing after a later one was
/// shown is never shown).
fn frame_render_times(packets: impl Iterator<Item = (Option<u64>, Option<Duration>)>) -> Vec<Duration> {
    let mut frames: BTreeMap<u64, Option<Duration>> = BTreeMap::new();
    for (frame, arrival) in packets {
        let Some(frame) = frame else { continue };
        let complete = frames.entry(frame).or_insert(Some(Duration::ZERO));
        *complete = match (*complete, arrival) {
            (Some(so_far), Some(at)) => Some(so_far.max(at)),
            _ => None,
        };
    }
    let mut shown: Vec<Duration> = Vec::new();
    for at in frames.into_values().flatten() {
        if shown.last().is_none_or(|last| at >= *last) {
            shown.push(at);
        }
    }
    shown
}

/// Pause: no frame for longer than this is a pause (`pauseCount`), not a freeze.
const PAUSE: Duration = Duration::from_secs(5);
/// Frames before freezes can be counted.
const MIN_FRAMES_FOR_FREEZE: usize = 5;
/// Inter-frame intervals the mean is taken over.
const FREEZE_WINDOW: usize = 30;

/// libwebrtc's freeze count: an inter-frame interval ≥ max(3 × mean, mean + 150 ms), the mean
/// over the last 30 intervals including this one; none before 5 frames; pauses excluded.
fn count_freezes(render_times: &[Duration]) -> u64 {
    let mut intervals: std::collections::VecDeque<Duration> = std::collections::VecDeque::new();
    let mut freezes = 0;
    for (index, pair) in render_times.windows(2).enumerate() {
        let interval = pair[1] - pair[0];
        if interval > PAUSE {
            intervals.clear();
            continue;
        }
        intervals.push_back(interval);
        if intervals.len() > FREEZE_WINDOW {
            intervals.pop_front();
        }
        let frames_so_far = index + 2;
        if frames_so_far <= MIN_FRAMES_FOR_FREEZE {
            continue;
        }
        let mean = intervals.iter().sum::<Duration>() / intervals.len() as u32;
        if interval >= (mean * 3).max(mean + Duration::from_millis(150)) {
            freezes += 1;
        }
    }
    freezes
}

#[cfg(test)]
mod tests;

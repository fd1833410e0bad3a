//! The trace: every timestamped thing that happened in a run, in order.
//!
//! Metrics are computed from the trace after the run, never during it. Values webrtc-rs
//! draws at random (ICE ufrag/pwd) appear as per-run aliases (`ufrag#1`, `ufrag#2`...) so
//! that the same seed gives a byte-identical trace; what matters is *that* they changed.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;

use crate::net::{Hop, Undelivered};

/// Which media a stream carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    Audio = 0,
    Video = 1,
    Data = 2,
}

impl MediaKind {
    pub const ALL: [MediaKind; 3] = [MediaKind::Audio, MediaKind::Video, MediaKind::Data];

    /// The kind a stream name or a file calls `name` (`audio`, `video`, `data`).
    pub fn named(name: &str) -> Option<MediaKind> {
        MediaKind::ALL.into_iter().find(|kind| kind.to_string() == name)
    }
}

impl std::fmt::Display for MediaKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            MediaKind::Audio => "audio",
            MediaKind::Video => "video",
            MediaKind::Data => "data",
        })
    }
}

/// One direction of one medium: `bob<-alice:audio` is the audio Bob receives from Alice.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct StreamId {
    pub from: String,
    pub to: String,
    pub kind: MediaKind,
}

impl std::fmt::Display for StreamId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}<-{}:{}", self.to, self.from, self.kind)
    }
}

/// What an app did when two negotiations clashed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NegotiationStep {
    /// The polite peer withdrew its own offer (`set_local_description(rollback)`) to answer
    /// the one that crossed it.
    Rollback,
    /// The impolite peer ignored the offer that crossed its own: it waits for its answer.
    IgnoreOffer,
    /// A restart was asked for while this offer was in flight: it is made once it is answered.
    QueueRestart,
    /// An answer to this offer came when it was no longer the one in flight, and was dropped.
    DropAnswer,
}

/// One received RTP stream in a [`What::StackStats`] sample, as webrtc-rs counts it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InboundStats {
    /// "audio" or "video".
    pub kind: String,
    pub ssrc: u32,
    pub packets_received: u64,
    /// Expected less received (RFC 3550), so duplicates can make it negative.
    pub packets_lost: i64,
    /// Interarrival jitter (RFC 3550).
    pub jitter: Duration,
    pub nack_count: u32,
    pub pli_count: u32,
}

/// One sent RTP stream in a [`What::StackStats`] sample, as webrtc-rs counts it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutboundStats {
    /// "audio" or "video".
    pub kind: String,
    pub ssrc: u32,
    pub packets_sent: u64,
    pub bytes_sent: u64,
    pub retransmitted_packets_sent: u64,
    /// NACKs and PLIs the receiver sent about it.
    pub nack_count: u32,
    pub pli_count: u32,
}

/// A timestamped event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// Virtual time since the world started.
    pub at: Duration,
    #[serde(flatten)]
    pub what: What,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum What {
    /// The caller opened a session on the signaling relay.
    SessionCreated {
        peer: String,
        token: String,
    },
    /// The callee joined it (or was refused).
    SessionJoined {
        peer: String,
        accepted: bool,
    },
    /// The relay forwarded a message it cannot read. (Its size is in the relay's own log:
    /// SDP sizes vary run to run with webrtc-rs's random session ids.)
    Relayed {
        from: String,
        to: String,
    },
    /// The caller started negotiating (`create_offer`): `connect_time` starts here.
    OfferCreated {
        peer: String,
    },
    /// A peer called `restart_ice()` (`reason`: the timeline, or its app policy).
    RestartIce {
        peer: String,
        reason: String,
    },
    /// A peer applied a local description: its ICE credentials, as run aliases.
    LocalDescription {
        peer: String,
        sdp_type: String,
        ufrag: String,
        pwd: String,
    },
    /// A peer's app settled a clash between negotiations (W3C "perfect negotiation", see
    /// `peer::app`). `offer` is the offer concerned, as its sender and number: `bob#1`.
    Negotiation {
        peer: String,
        step: NegotiationStep,
        offer: String,
    },
    SignalingState {
        peer: String,
        state: String,
    },
    IceGatheringState {
        peer: String,
        state: String,
    },
    IceConnectionState {
        peer: String,
        state: String,
    },
    PeerConnectionState {
        peer: String,
        state: String,
    },
    /// ICE selected this candidate pair (`host alice:5000`, `host bob:5000`).
    SelectedPair {
        peer: String,
        local: String,
        remote: String,
    },
    /// A local ICE candidate was gathered.
    Candidate {
        peer: String,
        candidate: String,
    },
    /// A media packet or data-channel message was handed to the stack (`frame`: the video
    /// frame it belongs to).
    MediaSent {
        stream: String,
        seq: u64,
        size: usize,
        frame: Option<u64>,
    },
    /// A media packet or data-channel message reached the receiving application.
    MediaReceived {
        stream: String,
        seq: u64,
        sent_at: Duration,
        frame: Option<u64>,
    },
    /// A peer's congestion controller (webrtc-rs's GCC) set a new target bitrate, which its
    /// pacer and its video then follow; the first one is where it starts, when the peer is
    /// built.
    TargetBitrate {
        peer: String,
        bps: u64,
    },
    /// What a flow of cross traffic moved in the 100 ms meter bin that ends here: bytes its
    /// sending end sent, bytes that reached its receiving end.
    CrossTraffic {
        flow: String,
        sent_bytes: u64,
        received_bytes: u64,
    },
    /// What a peer's own stack says of its connection (`PeerConnection::get_stats`),
    /// sampled at the world's `stats` interval, to set beside what the wire shows.
    StackStats {
        peer: String,
        /// The nominated candidate pair's latest STUN round-trip time, if it measured one.
        rtt: Option<Duration>,
        /// The outgoing bitrate the stack estimates available on that pair, if it does.
        available_outgoing_bps: Option<u64>,
        inbound: Vec<InboundStats>,
        outbound: Vec<OutboundStats>,
    },
    /// The network dropped a datagram.
    NetworkDrop {
        from: String,
        to: String,
        size: usize,
        hop: Option<Hop>,
        reason: Undelivered,
    },
    /// A timeline action took effect (`action`: its name, as `after = ...` uses it).
    Timeline {
        action: String,
        detail: String,
    },
    /// What a STUN or TURN server did (an allocation, a 401...).
    Server {
        server: String,
        note: String,
    },
    /// Something a peer reported as an error.
    Error {
        peer: String,
        message: String,
    },
}

/// The shared, append-only trace of one run, with the alias table for random values.
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    inner: Arc<Mutex<RecorderState>>,
}

#[derive(Debug, Default)]
struct RecorderState {
    events: Vec<Event>,
    aliases: BTreeMap<(String, String), String>,
    alias_counts: BTreeMap<String, usize>,
}

impl Recorder {
    pub fn record(&self, at: Duration, what: What) {
        self.lock().events.push(Event { at, what });
    }

    /// A stable per-run name for a random `value` of some `kind`: the first ufrag seen is
    /// `ufrag#1`, the next different one `ufrag#2`, and the same value keeps its name.
    pub fn alias(&self, kind: &str, value: &str) -> String {
        let mut state = self.lock();
        let key = (kind.to_owned(), value.to_owned());
        if let Some(alias) = state.aliases.get(&key) {
            return alias.clone();
        }
        let count = state.alias_counts.entry(kind.to_owned()).or_default();
        *count += 1;
        let alias = format!("{kind}#{count}");
        state.aliases.insert(key, alias.clone());
        alias
    }

    /// Takes the events recorded so far, in time order (events of one instant in the order
    /// they were recorded), leaving the recorder empty.
    ///
    /// The trace is the harness's largest allocation, so this moves it out instead of
    /// copying it, and sorts it without a second buffer of events.
    pub fn take_events(&self) -> Vec<Event> {
        let mut events = std::mem::take(&mut self.lock().events);
        if !events.is_sorted_by_key(|event| event.at) {
            sort_by_time_in_place(&mut events);
        }
        events.shrink_to_fit();
        events
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, RecorderState> {
        self.inner.lock().expect("trace recorder poisoned")
    }
}

/// `sources`, each in time order, merged into one list in time order: at one instant, an
/// earlier source's events first, each source's in its own order. That is the stable sort
/// of their concatenation, without its moves and its scratch copy of the events, which for
/// the tens of thousands of a call's media events cost more than making them.
pub fn merge_in_time_order<'a>(sources: Vec<Box<dyn Iterator<Item = Event> + 'a>>) -> Vec<Event> {
    let mut merged = Vec::with_capacity(sources.iter().map(|source| source.size_hint().0).sum());
    let mut sources: Vec<_> = sources.into_iter().map(Iterator::peekable).collect();
    // The next event of each source not yet drained, earliest (then first source) on top.
    let mut heads: BinaryHeap<Reverse<(Duration, usize)>> = (sources.iter_mut().enumerate())
        .filter_map(|(index, source)| Some(Reverse((source.peek()?.at, index))))
        .collect();
    while let Some(Reverse((_, index))) = heads.pop() {
        let source = &mut sources[index];
        merged.extend(source.next());
        if let Some(next) = source.peek() {
            debug_assert!(next.at >= merged.last().map_or(Duration::ZERO, |event| event.at));
            heads.push(Reverse((next.at, index)));
        }
    }
    merged
}

/// A stable sort by time that sorts indices (8 bytes each) and then moves the events along
/// the permutation's cycles, instead of a stable sort's scratch copy of the events.
fn sort_by_time_in_place(events: &mut [Event]) {
    // `source[k]`: where the event that belongs at `k` is now.
    let mut source: Vec<usize> = (0..events.len()).collect();
    source.sort_by_key(|&index| events[index].at);
    for start in 0..events.len() {
        // Walk the cycle through `start`, marking each place done (`source[k] = k`); the
        // event first at `start` travels along until the place it belongs to.
        let mut place = start;
        loop {
            let from = source[place];
            source[place] = place;
            if from == start {
                break;
            }
            events.swap(place, from);
            place = from;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn event(at_ms: u64, label: usize) -> Event {
        Event {
            at: Duration::from_millis(at_ms),
            what: What::Timeline {
                action: "test".to_owned(),
                detail: label.to_string(),
            },
        }
    }

    /// Events labelled `labels`, at few distinct times, so many share an instant.
    fn random_events(rng: &mut impl Rng, labels: std::ops::Range<usize>) -> Vec<Event> {
        labels.map(|label| event(rng.random_range(0..8), label)).collect()
    }

    #[test]
    fn take_events_sorts_by_time_and_keeps_the_recorded_order_of_an_instant() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for len in [0, 1, 2, 3, 10, 257] {
            let recorder = Recorder::default();
            let recorded = random_events(&mut rng, 0..len);
            for event in &recorded {
                recorder.record(event.at, event.what.clone());
            }
            let mut expected = recorded.clone();
            expected.sort_by_key(|event| event.at);
            assert_eq!(recorder.take_events(), expected, "{len} events");
            assert!(recorder.take_events().is_empty(), "taking empties the recorder");
        }
    }

    #[test]
    fn merging_keeps_time_order_and_at_one_instant_the_order_of_the_sources() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(8);
        for lengths in [
            vec![],
            vec![0, 3],
            vec![3, 0],
            vec![1, 1],
            vec![40, 60, 5],
            vec![257, 100, 0, 31],
        ] {
            let mut sources = Vec::new();
            let mut next_label = 0;
            for length in &lengths {
                let mut source = random_events(&mut rng, next_label..next_label + length);
                source.sort_by_key(|event| event.at);
                next_label += length;
                sources.push(source);
            }
            let mut expected = sources.concat();
            expected.sort_by_key(|event| event.at);
            let boxed = (sources.into_iter())
                .map(|source| Box::new(source.into_iter()) as Box<dyn Iterator<Item = Event>>)
                .collect();
            assert_eq!(
                merge_in_time_order(boxed),
                expected,
                "sources of {lengths:?} events"
            );
        }
    }
}

/// Names for the world's addresses, so the trace reads `alice:5000` and stays the same
/// whichever 127.x block the run happened to get. Grows as hosts move.
#[derive(Debug, Default)]
pub struct AddressBook {
    names: Mutex<BTreeMap<IpAddr, String>>,
}

impl AddressBook {
    pub(crate) fn name(&self, ip: IpAddr, name: String) {
        self.names.lock().expect("address book poisoned").insert(ip, name);
    }

    /// `name:port` for a known address, the address itself otherwise.
    pub fn label(&self, addr: SocketAddr) -> String {
        match self.names.lock().expect("address book poisoned").get(&addr.ip()) {
            Some(name) => format!("{name}:{}", addr.port()),
            None => addr.to_string(),
        }
    }

    /// `text` with every `ip:` of a known address replaced by its name (server notes).
    pub fn relabel(&self, text: &str) -> String {
        let names = self.names.lock().expect("address book poisoned");
        names.iter().fold(text.to_owned(), |text, (ip, name)| {
            text.replace(&format!("{ip}:"), &format!("{name}:"))
        })
    }

    /// Like [`AddressBook::label`], for an address given as text (as candidates carry it).
    pub fn label_text(&self, ip: &str, port: u16) -> String {
        match ip.parse::<IpAddr>() {
            Ok(ip) => self.label(SocketAddr::new(ip, port)),
            Err(_) => format!("{ip}:{port}"),
        }
    }
}

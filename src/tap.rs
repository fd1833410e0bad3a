//! The wire tap: media metrics for any app, read off the RTP its stack sends and receives.
//!
//! An interceptor in each peer's chain ([`WireTap::register`]) records every RTP packet —
//! SSRC, sequence number, RTP timestamp, marker, payload size, virtual time — and [`join`]
//! turns the records of all peers into the trace's `MediaSent`/`MediaReceived` events, which
//! [`crate::metrics`] reads as it reads the built-in app's. Nothing is added to the payload:
//! the app's own codecs and packet sizes are what gets measured. This works because every
//! peer of a world runs on one clock, so a send time and an arrival time can be subtracted.
//!
//! Where it sits decides what it counts ([`TAP_SLOT`], between the FEC decoder and the NACK
//! generator, in distance from the wire):
//! * **Sending**, it sees a packet as the app wrote it, once: every interceptor that makes RTP
//!   of its own (NACK retransmissions and RTX, FEC repair) and the pacer are wire-ward of it.
//! * **Receiving**, it sees the plaintext packet when it came off the wire (the chain runs
//!   after SRTP decryption), before any jitter buffer re-times it. A packet the FEC decoder
//!   rebuilt counts as received at the instant it was rebuilt: the app has it.
//! * **A retransmission is the original arriving late**, not a packet of its own: a copy on
//!   the stream's own SSRC, or on its RTX SSRC (unwrapped to the original sequence number,
//!   RFC 4588), is an arrival of the sequence number it carries. The first copy to arrive
//!   counts, with its delay since the app's write; later ones are duplicates.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rtc::interceptor::{Interceptor, Packet, Registry, Slot, StreamInfo, TaggedPacket};
use rtc::sansio::Protocol;
use rtc::shared::error::Error;
use webrtc::runtime::Runtime;

use crate::runtime::SimRuntime;
use crate::trace::{Event, MediaKind, StreamId, What, merge_in_time_order};

/// The tap's place in a chain: after the FEC decoder (6 000) so a rebuilt packet counts as
/// arrived, before the NACK generator (7 000); above every RTP generator and the pacer, so a
/// sent packet is seen once and when the app wrote it.
pub const TAP_SLOT: usize = 6_500;

/// The receiver a stream is named after when no tapped peer received its SSRC at all:
/// `?<-alice:audio`, so that a stream lost entirely still shows, with nothing delivered.
pub const UNKNOWN_RECEIVER: &str = "?";

/// The records of every peer of one world. Cheap to clone: clones share the records.
#[derive(Debug, Clone)]
pub struct WireTap {
    /// The `Instant` of virtual time zero, so records line up with the rest of the trace.
    origin: Instant,
    records: Arc<Mutex<Vec<Record>>>,
}

/// Which way a recorded packet went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Written by the peer's app, on its way to the wire.
    Sent,
    /// Off the wire, on its way to the peer's app.
    Received,
}

/// One RTP packet one peer's stack sent or received.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The peer whose tap saw it.
    pub peer: Arc<str>,
    pub flow: Flow,
    /// From the stream's codec (`audio/opus` is audio).
    pub kind: MediaKind,
    /// The stream's SSRC (the original stream's, for an RTX retransmission).
    pub ssrc: u32,
    /// The RTP sequence number (the original's, for an RTX retransmission).
    pub seq: u16,
    /// The RTP timestamp, in the codec's clock.
    pub timestamp: u32,
    /// Set on the last packet of a video frame.
    pub marker: bool,
    /// Payload bytes (after RTX unwrapping), as an app counts what it sends.
    pub size: usize,
    /// Virtual time since the world started.
    pub at: Duration,
}

impl WireTap {
    /// A tap for the peers of `runtime`'s world.
    pub fn new(runtime: &SimRuntime) -> Self {
        WireTap {
            origin: runtime.now() - runtime.elapsed(),
            records: Arc::default(),
        }
    }

    /// `registry` with `peer`'s tap at [`TAP_SLOT`]. webrtc-rs orders a chain by slot, so
    /// this goes before or after `register_default_interceptors` alike.
    pub fn register(&self, peer: &str, registry: Registry) -> Registry {
        registry.with(Slot::from(TAP_SLOT), TapInterceptor::new(peer, self.clone()))
    }

    /// Everything recorded so far, in the order it was seen.
    pub fn records(&self) -> Vec<Record> {
        self.lock().clone()
    }

    /// The records so far as the trace's media events: see [`join`].
    pub fn events(&self) -> Vec<Event> {
        self.events_with(Vec::new())
    }

    /// [`WireTap::events`] merged into `others` (the rest of a trace, in time order).
    pub fn events_with(&self, others: Vec<Event>) -> Vec<Event> {
        join(&self.lock(), others)
    }

    fn record(&self, record: Record) {
        self.lock().push(record);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Record>> {
        self.records.lock().expect("wire tap poisoned")
    }
}

/// One peer's tap: notes which SSRCs its streams use, and records their RTP as it passes.
struct TapInterceptor {
    peer: Arc<str>,
    tap: WireTap,
    /// What each SSRC this peer sends carries, from its local streams.
    sending: BTreeMap<u32, MediaKind>,
    /// What each SSRC this peer receives carries, from its remote streams.
    receiving: BTreeMap<u32, MediaKind>,
    /// Received RTX SSRC → the SSRC whose packets it retransmits.
    repairs: BTreeMap<u32, u32>,
    read_queue: VecDeque<TaggedPacket>,
    write_queue: VecDeque<TaggedPacket>,
}

impl TapInterceptor {
    fn new(peer: &str, tap: WireTap) -> Self {
        TapInterceptor {
            peer: peer.into(),
            tap,
            sending: BTreeMap::new(),
            receiving: BTreeMap::new(),
            repairs: BTreeMap::new(),
            read_queue: VecDeque::new(),
            write_queue: VecDeque::new(),
        }
    }

    fn record(&self, flow: Flow, kind: MediaKind, packet: &TaggedPacket, rtp: Original) {
        self.tap.record(Record {
            peer: self.peer.clone(),
            flow,
            kind,
            ssrc: rtp.ssrc,
            seq: rtp.seq,
            timestamp: rtp.header.timestamp,
            marker: rtp.header.marker,
            size: rtp.size,
            at: packet.now.saturating_duration_since(self.tap.origin),
        });
    }

    /// A received packet as the packet it carries: itself, or the original inside an RTX
    /// packet (whose payload starts with the original sequence number); `None` for one of
    /// no stream of ours, or an RTX packet that carries nothing (bandwidth-probe padding).
    fn original<'a>(&self, rtp: &'a rtc::rtp::Packet) -> Option<(MediaKind, Original<'a>)> {
        let header = &rtp.header;
        let original = match self.repairs.get(&header.ssrc) {
            Some(&ssrc) => Original {
                header,
                ssrc,
                seq: u16::from_be_bytes(rtp.payload.get(..2)?.try_into().ok()?),
                size: rtp.payload.len() - 2,
            },
            None => Original::of(rtp),
        };
        Some((*self.receiving.get(&original.ssrc)?, original))
    }
}

/// The fields of a packet the tap records, after RTX unwrapping.
struct Original<'a> {
    header: &'a rtc::rtp::header::Header,
    ssrc: u32,
    seq: u16,
    size: usize,
}

impl<'a> Original<'a> {
    fn of(rtp: &'a rtc::rtp::Packet) -> Self {
        Original {
            header: &rtp.header,
            ssrc: rtp.header.ssrc,
            seq: rtp.header.sequence_number,
            size: rtp.payload.len(),
        }
    }
}

/// `audio/opus` → audio, `video/VP8` → video; `None` for anything else.
fn kind_of(info: &StreamInfo) -> Option<MediaKind> {
    let (top, _) = info.mime_type.split_once('/')?;
    if top.eq_ignore_ascii_case("audio") {
        Some(MediaKind::Audio)
    } else if top.eq_ignore_ascii_case("video") {
        Some(MediaKind::Video)
    } else {
        None
    }
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for TapInterceptor {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = Error;
    type Time = Instant;

    fn handle_read(&mut self, msg: TaggedPacket) -> Result<(), Error> {
        if let Packet::Rtp(rtp) = &msg.message.packet
            && let Some((kind, original)) = self.original(rtp)
        {
            self.record(Flow::Received, kind, &msg, original);
        }
        self.read_queue.push_back(msg);
        Ok(())
    }

    fn poll_read(&mut self) -> Option<TaggedPacket> {
        self.read_queue.pop_front()
    }

    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), Error> {
        if let Packet::Rtp(rtp) = &msg.message.packet
            && let Some(&kind) = self.sending.get(&rtp.header.ssrc)
        {
            self.record(Flow::Sent, kind, &msg, Original::of(rtp));
        }
        self.write_queue.push_back(msg);
        Ok(())
    }

    fn poll_write(&mut self) -> Option<TaggedPacket> {
        self.write_queue.pop_front()
    }
}

impl Interceptor for TapInterceptor {
    fn bind_local_stream(&mut self, info: &StreamInfo) {
        if let Some(kind) = kind_of(info) {
            self.sending.insert(info.ssrc, kind);
        }
    }

    fn unbind_local_stream(&mut self, info: &StreamInfo) {
        self.sending.remove(&info.ssrc);
    }

    fn bind_remote_stream(&mut self, info: &StreamInfo) {
        if let Some(kind) = kind_of(info) {
            self.receiving.insert(info.ssrc, kind);
        }
        if let Some(rtx) = info.ssrc_rtx {
            self.repairs.insert(rtx, info.ssrc);
        }
    }

    fn unbind_remote_stream(&mut self, info: &StreamInfo) {
        self.receiving.remove(&info.ssrc);
        if let Some(rtx) = info.ssrc_rtx {
            self.repairs.remove(&rtx);
        }
    }
}

/// The media events of `records` (from any number of peers) merged into `others` (the
/// rest of the trace), in time order; at one instant, `others` first, then sends, then
/// arrivals.
///
/// * A sent record's stream is `<receiver><-<sender>:<kind>`, its receiver being whichever
///   peer recorded the same SSRC as received (each one, if several did; webrtc-rs draws
///   SSRCs at random from 32 bits), or [`UNKNOWN_RECEIVER`] if none did.
/// * Sequence numbers are extended across wrap-around as RFC 3550 does, on the sender's
///   records; an arrival takes the extended number of the latest packet with its 16 bits
///   sent by the time it arrived, so a receiver whose first arrival comes after a wrap still
///   joins. An arrival that matches nothing sent (an SSRC no tapped peer sent) is left out:
///   it has no send time.
/// * A video packet's frame is its RTP timestamp, extended across wrap-around the same way.
/// * Two senders with one SSRC are joined as one stream, the first sender's: RTP draws SSRCs
///   at random from 32 bits, and telling them apart would need to know who calls whom.
pub fn join(records: &[Record], others: Vec<Event>) -> Vec<Event> {
    let mut in_time_order: Vec<&Record> = records.iter().collect();
    in_time_order.sort_by_key(|record| record.at);

    let mut sent: BTreeMap<u32, SentStream> = BTreeMap::new();
    let mut receivers: BTreeMap<u32, BTreeSet<&str>> = BTreeMap::new();
    for record in &in_time_order {
        match record.flow {
            Flow::Sent => sent
                .entry(record.ssrc)
                .or_insert_with(|| SentStream::new(record))
                .push(record),
            Flow::Received => {
                receivers.entry(record.ssrc).or_default().insert(&record.peer);
            }
        }
    }

    sent.values_mut().for_each(SentStream::index);

    let unknown = BTreeSet::from([UNKNOWN_RECEIVER]);
    // Each stream's name, made once: a trace has tens of thousands of packets.
    let mut names: BTreeMap<(u32, &str), String> = BTreeMap::new();
    for (ssrc, stream) in &sent {
        for receiver in receivers.get(ssrc).unwrap_or(&unknown) {
            names.insert((*ssrc, receiver), stream.name(receiver));
        }
    }
    let names = &names;

    // Built lazily and merged, not collected and sorted: each event is moved once.
    let mut sources: Vec<Box<dyn Iterator<Item = Event> + '_>> = vec![Box::new(others.into_iter())];
    for (ssrc, stream) in &sent {
        for receiver in receivers.get(ssrc).unwrap_or(&unknown) {
            let name = &names[&(*ssrc, *receiver)];
            sources.push(Box::new(stream.sends.iter().map(move |send| Event {
                at: send.at,
                what: What::MediaSent {
                    stream: name.clone(),
                    seq: send.seq,
                    size: send.size,
                    frame: send.frame,
                },
            })));
        }
    }
    let sent = &sent;
    let arrivals = in_time_order.iter().filter_map(move |arrival| {
        if arrival.flow != Flow::Received {
            return None;
        }
        let send = sent.get(&arrival.ssrc)?.sent_by(arrival.at, arrival.seq)?;
        Some(Event {
            at: arrival.at,
            what: What::MediaReceived {
                stream: names[&(arrival.ssrc, &*arrival.peer)].clone(),
                seq: send.seq,
                sent_at: send.at,
                frame: send.frame,
            },
        })
    });
    sources.push(Box::new(arrivals));
    merge_in_time_order(sources)
}

/// One SSRC's packets as its sender wrote them, numbers extended.
struct SentStream {
    sender: Arc<str>,
    kind: MediaKind,
    /// In time order.
    sends: Vec<SentPacket>,
    /// `(extended sequence number, its first send)` in number order, once every send is in
    /// ([`SentStream::index`]): a sorted list, as a map would cost an allocation per send.
    first_send: Vec<(u64, usize)>,
    /// The highest extended RTP timestamp so far.
    highest_timestamp: Option<u64>,
}

/// One sent packet, numbers extended.
struct SentPacket {
    at: Duration,
    seq: u64,
    size: usize,
    frame: Option<u64>,
    /// The highest extended sequence number sent up to and including this packet.
    highest: u64,
}

impl SentStream {
    fn new(first: &Record) -> Self {
        SentStream {
            sender: first.peer.clone(),
            kind: first.kind,
            sends: Vec::new(),
            first_send: Vec::new(),
            highest_timestamp: None,
        }
    }

    fn push(&mut self, record: &Record) {
        let previous = self.sends.last().map(|send| send.highest);
        let seq = extend(u64::from(record.seq), 16, previous);
        let timestamp = extend(u64::from(record.timestamp), 32, self.highest_timestamp);
        self.highest_timestamp = self.highest_timestamp.max(Some(timestamp));
        self.sends.push(SentPacket {
            at: record.at,
            seq,
            size: record.size,
            frame: (self.kind == MediaKind::Video).then_some(timestamp),
            highest: previous.map_or(seq, |highest| highest.max(seq)),
        });
    }

    /// Indexes the sends by number, once they are all in.
    fn index(&mut self) {
        self.first_send = self
            .sends
            .iter()
            .enumerate()
            .map(|(index, send)| (send.seq, index))
            .collect();
        // Stable, so of one number's sends the first stays first, and is the one kept.
        self.first_send.sort_by_key(|(seq, _)| *seq);
        self.first_send.dedup_by_key(|(seq, _)| *seq);
    }

    /// The packet an arrival at `at` with sequence number `seq` is: the latest one with
    /// those 16 bits sent by then.
    fn sent_by(&self, at: Duration, seq: u16) -> Option<&SentPacket> {
        let sent_so_far = self.sends.partition_point(|send| send.at <= at);
        let ceiling = self.sends[..sent_so_far].last()?.highest;
        let back = ceiling.wrapping_sub(u64::from(seq)) & 0xffff;
        let wanted = ceiling.checked_sub(back)?;
        let place = self
            .first_send
            .binary_search_by_key(&wanted, |(seq, _)| *seq)
            .ok()?;
        Some(&self.sends[self.first_send[place].1])
    }

    fn name(&self, receiver: &str) -> String {
        StreamId {
            from: self.sender.to_string(),
            to: receiver.to_owned(),
            kind: self.kind,
        }
        .to_string()
    }
}

/// RFC 3550's extension of a `bits`-bit counter: the number with `value`'s low bits nearest
/// `highest` (the highest so far), so a wrap moves forward and a late packet back (forward
/// instead where back would be below zero); the first value is taken as it is.
fn extend(value: u64, bits: u32, highest: Option<u64>) -> u64 {
    let Some(highest) = highest else {
        return value;
    };
    let modulus = 1u64 << bits;
    let ahead = value.wrapping_sub(highest) & (modulus - 1);
    if ahead < modulus / 2 {
        highest + ahead
    } else {
        highest.checked_sub(modulus - ahead).unwrap_or(highest + ahead)
    }
}

#[cfg(test)]
mod tests;

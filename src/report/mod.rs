//! Reports a person (or a CI dashboard) reads after a run, SPEC section 5:
//!
//! | file | what it holds |
//! |---|---|
//! | `<scenario>/report.json` | one run whole: a [`Report`], versioned by [`SCHEMA`] |
//! | `<scenario>/index.html` | the same for a person: verdicts, a timeline plot, metrics, setup ([`html`]) |
//! | `<scenario>/<host>.pcap` | every datagram a host sent or received, for Wireshark ([`pcap`]) |
//! | `<sweep>/index.html` | a sweep's page: each expectation plotted over the swept values, a row and a link per point ([`sweep`]) |
//! | `junit.xml` | one testcase per scenario, failures with their broken expectations ([`junit`]) |
//! | `<scenario>_seed-<N>/` | under `netsim run --seeds`, each seed's run's folder ([`seed_folder`]); [`seeds`] sums the seeds up |
//! | `<scenario>/index.html` | for a scenario played over seeds, its page over them: each expectation per seed, the distribution of its measure ([`seeds_page`]) |
//!
//! `<scenario>` is [`folder`]: the file name, with the sweep point if any; `<sweep>` is the
//! file name alone. Every name is bounded ([`file_name`]).
//!
//! Every file is written whole or not at all ([`write_atomically`]), so an interrupted run
//! never leaves half a report where a tool would read it.

mod chart;
pub mod html;
pub mod junit;
pub mod pcap;
pub mod seeds;
pub mod seeds_page;
pub mod sweep;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;

use crate::metrics::{MediaIndex, Metrics};
use crate::net::{Counters, Hop, LinkConfig, NatConfig, QueueDelay, Undelivered};
use crate::runtime::processing::Processing;
use crate::scenario::expect::Verdict;
use crate::scenario::file::{ScenarioFile, Swept};
use crate::scenario::{IceServer, PeerSpec, TURN};
use crate::sim::Role;
use crate::timeline::Direction;
use crate::trace::{Event, MediaKind, What};
use crate::world::{Run, RunError};

/// Version of the `report.json` layout; raised whenever a field changes meaning or goes away.
pub const SCHEMA: u32 = 1;

/// Width of the time bins of [`Packets`]: fine enough to show a 100 ms outage.
pub const BIN: Duration = Duration::from_millis(100);

/// Everything about one played scenario: what `report.json` holds and `index.html` shows.
///
/// Durations are serde's form of `std::time::Duration`, `{"secs": 1, "nanos": 500000000}`.
/// Per-packet events (media sent and received, network drops) are not in `events`: a
/// minute of video is tens of thousands of them, a congested link as many drops. `packets`
/// counts them instead.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// [`SCHEMA`].
    pub schema: u32,
    pub harness: Harness,
    pub scenario: ScenarioInfo,
    /// The run finished and every expectation held.
    pub passed: bool,
    /// Why the run could not finish, if it could not; `metrics` and `counters` are null then.
    pub error: Option<String>,
    pub verdicts: Vec<Verdict>,
    pub metrics: Option<Metrics>,
    /// The network's packet accounting at the end.
    pub counters: Option<Counters>,
    pub packets: Packets,
    /// How long datagrams waited in each access link's queue over the whole call.
    pub queues: Vec<LinkQueue>,
    /// The trace without its per-packet events, in time order.
    pub events: Vec<Event>,
    /// Wall-clock time the run took: in JUnit, not in `report.json`, so that a report depends
    /// on its seed and not on the machine.
    #[serde(skip)]
    pub wall_time: Option<Duration>,
}

/// The queueing delay of one access link over the whole call, for a link some datagram
/// entered.
#[derive(Debug, Clone, Serialize)]
pub struct LinkQueue {
    pub hop: Hop,
    #[serde(flatten)]
    pub delay: QueueDelay,
}

impl LinkQueue {
    /// Every link of `run` that carried a datagram, in the run's order.
    fn of(run: &Run) -> Vec<LinkQueue> {
        run.links
            .iter()
            .filter_map(|(hop, record)| {
                let delay = record.queue_delays.within(Duration::ZERO, Duration::MAX)?;
                Some(LinkQueue {
                    hop: hop.clone(),
                    delay,
                })
            })
            .collect()
    }
}

/// What produced the report.
#[derive(Debug, Clone, Serialize)]
pub struct Harness {
    pub name: &'static str,
    pub version: &'static str,
    /// The webrtc-rs release the peers ran (from Cargo.lock at build time).
    pub webrtc: &'static str,
}

impl Harness {
    pub const CURRENT: Harness = Harness {
        name: env!("CARGO_PKG_NAME"),
        version: env!("CARGO_PKG_VERSION"),
        webrtc: env!("NETSIM_WEBRTC_VERSION"),
    };
}

/// The scenario as it was played.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioInfo {
    pub name: String,
    /// What tests and reports call it: the file name, with its sweep point if any
    /// ([`ScenarioFile::id`]).
    pub id: String,
    pub file: PathBuf,
    /// The settings its `[sweep]` point gives; empty without a sweep.
    pub point: Vec<Swept>,
    pub description: String,
    pub seed: u64,
    /// Virtual length of the call (the world then drains for a second and hangs up).
    pub duration: Duration,
    pub core: LinkConfig,
    pub signaling_delay: Duration,
    /// Whether computing took virtual time (`none`, `measured`).
    pub processing: Processing,
    /// The servers in the core by host name: `stun`, `turn`, then the extra TURN servers'
    /// names.
    pub servers: Vec<String>,
    pub peers: Vec<PeerInfo>,
}

impl ScenarioInfo {
    /// Its report folder, as [`folder`] names it.
    pub fn folder(&self) -> String {
        folder(&self.file, &self.point)
    }
}

/// One peer's setup.
#[derive(Debug, Clone, Serialize)]
pub struct PeerInfo {
    pub name: String,
    pub role: Role,
    /// The registered app it runs; absent for the built-in one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    pub media: Vec<MediaKind>,
    pub video_bitrate_bps: u64,
    pub data_interval: Duration,
    /// Towards the core.
    pub uplink: LinkConfig,
    pub downlink: LinkConfig,
    pub nat: Option<NatConfig>,
    /// `stun`, `turn as <user>`.
    pub ice_servers: Vec<String>,
    pub relay_only: bool,
}

/// The per-packet events of a run, counted: per stream and network-wide in [`BIN`]-wide bins
/// of virtual time from 0 (every series has the same length, up to the last event of the
/// run), and drops by where and why.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Packets {
    pub bin: Duration,
    pub streams: BTreeMap<String, StreamBins>,
    /// Datagrams the network dropped (any host, any reason), per bin.
    pub drops: Vec<u64>,
    /// Datagrams the network dropped, per place and reason, in order of first drop.
    pub dropped: Vec<DropCount>,
    /// Each flow of cross traffic's meter readings, per bin (absent without any flow).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub cross_traffic: BTreeMap<String, CrossBins>,
    /// Per peer whose uplink has a rate limit (or a trace) some of the time, what it could
    /// carry in each bin in bit/s (whole datagrams): `null` where it had no limit (absent
    /// without any such peer).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub uplink_capacity: BTreeMap<String, Vec<Option<u64>>>,
}

/// What one flow of cross traffic moved per bin, as its meter read it (see
/// [`crate::cross`]: whole IP datagrams for UDP, application bytes for TCP).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CrossBins {
    pub sent_bytes: Vec<u64>,
    pub received_bytes: Vec<u64>,
}

/// How many datagrams were dropped at one place for one reason.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DropCount {
    /// `None` when the drop was at no link or NAT (no route, port unreachable).
    pub hop: Option<Hop>,
    pub reason: Undelivered,
    pub datagrams: u64,
}

/// One stream's packets (data-channel messages) per bin.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StreamBins {
    /// Handed to the stack, by send time.
    pub sent: Vec<u64>,
    pub sent_bytes: Vec<u64>,
    /// Reached the receiving application (a copy counts again), by arrival time.
    pub received: Vec<u64>,
    pub received_bytes: Vec<u64>,
}

impl Report {
    /// The report of `file` played to `played` (what [`ScenarioFile::play`] returns).
    pub fn new(file: &ScenarioFile, played: &Result<(Run, Vec<Verdict>), RunError>) -> Report {
        let scenario = &file.scenario;
        let mut servers = Vec::new();
        if scenario.world.servers.stun {
            servers.push("stun".to_owned());
        }
        if scenario.world.servers.turn.is_some() {
            servers.push(TURN.to_owned());
        }
        servers.extend(scenario.world.servers.extra_turn.keys().cloned());
        let info = ScenarioInfo {
            name: scenario.world.name.clone(),
            id: file.id(),
            file: file.path.clone(),
            point: file.point.clone(),
            description: file.description.clone(),
            seed: scenario.world.seed,
            duration: scenario.world.duration,
            core: scenario.world.core.clone(),
            signaling_delay: scenario.world.signaling_delay,
            processing: scenario.world.processing,
            servers,
            peers: scenario.peers.iter().map(PeerInfo::new).collect(),
        };
        match played {
            Ok((run, verdicts)) => Report {
                schema: SCHEMA,
                harness: Harness::CURRENT,
                scenario: info,
                passed: verdicts.iter().all(|verdict| verdict.passed),
                error: None,
                verdicts: verdicts.clone(),
                metrics: Some(run.metrics.clone()),
                counters: Some(run.counters.clone()),
                packets: Packets::of(run, &scenario.peers),
                queues: LinkQueue::of(run),
                events: run
                    .trace
                    .iter()
                    .filter(|event| !per_packet(&event.what))
                    .cloned()
                    .collect(),
                wall_time: Some(run.wall_time),
            },
            Err(error) => Report {
                schema: SCHEMA,
                harness: Harness::CURRENT,
                scenario: info,
                passed: false,
                error: Some(error.to_string()),
                verdicts: Vec::new(),
                metrics: None,
                counters: None,
                packets: Packets::default(),
                queues: Vec::new(),
                events: Vec::new(),
                wall_time: None,
            },
        }
    }

    /// What the peers reported as errors (a connection their app could not build, an app's
    /// panic), one line each: they often say why expectations failed, so a failure shows
    /// them beside its verdicts.
    pub fn peer_errors(&self) -> impl Iterator<Item = String> + '_ {
        self.events.iter().filter_map(|event| match &event.what {
            What::Error { peer, message } => Some(format!("error from {peer} at {:?}: {message}", event.at)),
            _ => None,
        })
    }

    /// Writes `report.json` and `index.html` into `dir` (created if missing).
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        write_atomically(&dir.join("report.json"), &serde_json::to_vec_pretty(self)?)?;
        write_atomically(&dir.join("index.html"), html::page(self).as_bytes())
    }
}

impl PeerInfo {
    fn new(spec: &PeerSpec) -> PeerInfo {
        PeerInfo {
            name: spec.name.clone(),
            role: spec.role,
            app: spec.app.clone(),
            media: spec.media.kinds.clone(),
            video_bitrate_bps: spec.media.video_bitrate_bps,
            data_interval: spec.media.data_interval,
            uplink: spec.uplink.clone(),
            downlink: spec.downlink.clone(),
            nat: spec.nat.clone(),
            ice_servers: spec.ice_servers.iter().map(IceServer::to_string).collect(),
            relay_only: spec.relay_only,
        }
    }
}

/// Whether `what` is one of the per-packet events [`Packets`] counts, or a cross-traffic
/// meter reading (its flow's totals are in the metrics).
fn per_packet(what: &What) -> bool {
    matches!(
        what,
        What::MediaSent { .. }
            | What::MediaReceived { .. }
            | What::NetworkDrop { .. }
            | What::CrossTraffic { .. }
    )
}

impl Packets {
    /// Counts the trace's per-packet events, and reads the `peers`' uplinks' capacity.
    pub fn of(run: &Run, peers: &[PeerSpec]) -> Packets {
        let mut packets = Packets::from_trace(&run.trace);
        let bins = packets.drops.len() as u32;
        for peer in peers {
            let capacity: Vec<Option<u64>> = (0..bins)
                .map(|bin| {
                    let usage = run.link_usage(&peer.name, Direction::Up, BIN * bin, BIN * (bin + 1))?;
                    Some(usage.rate_bps(usage.capacity_bits?))
                })
                .collect();
            if capacity.iter().any(Option::is_some) {
                packets.uplink_capacity.insert(peer.name.clone(), capacity);
            }
        }
        packets
    }

    /// Counts the trace's per-packet events.
    pub fn from_trace(trace: &[Event]) -> Packets {
        let bins = trace.last().map_or(0, |last| bin_of(last.at) + 1);
        let mut packets = Packets {
            bin: BIN,
            streams: BTreeMap::new(),
            drops: vec![0; bins],
            dropped: Vec::new(),
            cross_traffic: BTreeMap::new(),
            uplink_capacity: BTreeMap::new(),
        };
        // The metrics' index of the media events: an arrival has the size its packet was
        // sent with, as the bitrates count it.
        let media = MediaIndex::new(trace);
        for stream in media.streams() {
            let mut counts = StreamBins {
                sent: vec![0; bins],
                sent_bytes: vec![0; bins],
                received: vec![0; bins],
                received_bytes: vec![0; bins],
            };
            for (at, size) in media.sends(stream) {
                counts.sent[bin_of(at)] += 1;
                counts.sent_bytes[bin_of(at)] += size as u64;
            }
            for (at, size) in media.arrivals(stream) {
                counts.received[bin_of(at)] += 1;
                counts.received_bytes[bin_of(at)] += size as u64;
            }
            packets.streams.insert(stream.to_owned(), counts);
        }
        for event in trace {
            let bin = bin_of(event.at);
            match &event.what {
                What::CrossTraffic {
                    flow,
                    sent_bytes,
                    received_bytes,
                } => {
                    // A reading closes its bin: it is recorded at the bin's end.
                    let bin = bin_of(event.at.saturating_sub(crate::cross::METER_BIN));
                    let flow = packets
                        .cross_traffic
                        .entry(flow.clone())
                        .or_insert_with(|| CrossBins {
                            sent_bytes: vec![0; bins],
                            received_bytes: vec![0; bins],
                        });
                    flow.sent_bytes[bin] += sent_bytes;
                    flow.received_bytes[bin] += received_bytes;
                }
                What::NetworkDrop { hop, reason, .. } => {
                    packets.drops[bin] += 1;
                    let same = |count: &&mut DropCount| count.hop == *hop && count.reason == *reason;
                    match packets.dropped.iter_mut().find(same) {
                        Some(count) => count.datagrams += 1,
                        None => packets.dropped.push(DropCount {
                            hop: hop.clone(),
                            reason: *reason,
                            datagrams: 1,
                        }),
                    }
                }
                _ => {}
            }
        }
        packets
    }
}

fn bin_of(at: Duration) -> usize {
    (at.as_nanos() / BIN.as_nanos()) as usize
}

/// The report folder of the scenario file at `path` at sweep point `point`: the file name
/// without `.toml`, with the point's settings (`loss-sweep_peers.alice.link.loss-5pct`),
/// made a [`file_name`]. With no point, it is the folder of a file without a sweep, or of a
/// sweep's own page.
pub fn folder(path: &Path, point: &[Swept]) -> String {
    file_name(&folder_name(path, point), "")
}

/// The report folder of one seed's run under `netsim run --seeds`: [`folder`] followed by
/// `_seed-<seed>`, so that the seeds of one scenario stay apart.
pub fn seed_folder(path: &Path, point: &[Swept], seed: u64) -> String {
    file_name(&format!("{}_seed-{seed}", folder_name(path, point)), "")
}

/// Where one run of `file` leaves its reports: [`folder`], or [`seed_folder`] for a file
/// played over seeds.
pub fn run_folder(file: &ScenarioFile) -> String {
    match file.seeds {
        Some(_) => seed_folder(&file.path, &file.point, file.scenario.world.seed),
        None => folder(&file.path, &file.point),
    }
}

/// [`folder`] before it is made a [`file_name`].
fn folder_name(path: &Path, point: &[Swept]) -> String {
    let mut folder = path
        .file_stem()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    for Swept { path, value } in point {
        folder.push_str(&format!("_{path}-{value}"));
    }
    folder
}

/// The longest file or folder name the reports make, in bytes: file systems take 255, and
/// [`write_atomically`]'s temporary name adds about 40 around it.
pub const MAX_NAME: usize = 100;

/// `name` followed by `extension` as a file name any file system takes: letters, digits,
/// `.`, `-`, `_` and `#` (a moved interface's `alice#2`, which must stay apart from a peer
/// called `alice_2`; a `%` reads `pct`, anything else `_`), at most [`MAX_NAME`] bytes. A
/// longer name is cut and ends in a hash of the whole one (`-1a2b3c4d`), so that names
/// differing only after the cut stay apart, and the same name always gives the same file.
pub fn file_name(name: &str, extension: &str) -> String {
    let mut safe = name
        .replace('%', "pct")
        .replace(|c: char| !(c.is_alphanumeric() || "._-#".contains(c)), "_");
    if safe.len() + extension.len() > MAX_NAME {
        let hash = format!("-{:08x}", fnv1a(name.as_bytes()) as u32);
        let mut cut = MAX_NAME - extension.len() - hash.len();
        while !safe.is_char_boundary(cut) {
            cut -= 1;
        }
        safe.truncate(cut);
        safe.push_str(&hash);
    }
    safe + extension
}

/// The 64-bit FNV-1a hash of `bytes`: short names of long ones and the shards of a library
/// (`suite::Shard`), stable across Rust releases and machines (std's hashers are not).
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Writes `bytes` to `path` whole or not at all: into a temporary file in the same folder,
/// flushed to disk, then renamed over `path` (a rename within a folder is atomic).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    /// Tells apart the temporary files of concurrent writers in one process.
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other(format!("{} names no file", path.display())))?;
    let partial = path.with_file_name(format!(
        ".{}.{}-{}.partial",
        name.to_string_lossy(),
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let written = std::fs::File::create(&partial).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    match written.and_then(|()| std::fs::rename(&partial, path)) {
        Ok(()) => Ok(()),
        Err(error) => {
            let _ = std::fs::remove_file(&partial);
            Err(error)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_bins_count_sends_by_send_time_and_every_copy_by_arrival_time() {
        let media = |at_ms: u64, what: What| Event {
            at: Duration::from_millis(at_ms),
            what,
        };
        let sent = |seq: u64, size: usize| What::MediaSent {
            stream: "bob<-alice:audio".into(),
            seq,
            size,
            frame: None,
        };
        let received = |seq: u64, sent_at_ms: u64| What::MediaReceived {
            stream: "bob<-alice:audio".into(),
            seq,
            sent_at: Duration::from_millis(sent_at_ms),
            frame: None,
        };
        let trace = vec![
            media(0, sent(1, 100)),
            media(90, sent(2, 200)),
            media(150, received(1, 0)),
            media(160, received(1, 0)),
            media(250, received(2, 90)),
        ];
        let bins = &Packets::from_trace(&trace).streams["bob<-alice:audio"];
        assert_eq!(bins.sent, [2, 0, 0]);
        assert_eq!(bins.sent_bytes, [300, 0, 0]);
        assert_eq!(bins.received, [0, 2, 1], "a copy counts again");
        assert_eq!(
            bins.received_bytes,
            [0, 200, 200],
            "each arrival as its packet was sent"
        );
    }

    #[test]
    fn file_names_are_safe_bounded_and_apart() {
        assert_eq!(file_name("loss-sweep_seed-5%", ""), "loss-sweep_seed-5pct");
        assert_eq!(file_name("127.1.0.2:5000", ".pcap"), "127.1.0.2_5000.pcap");
        assert_eq!(file_name("алиса", ".pcap"), "алиса.pcap");
        let (one, two) = ("л".repeat(299) + "1", "л".repeat(299) + "2");
        let (one, two) = (file_name(&one, ".pcap"), file_name(&two, ".pcap"));
        assert!(one.len() <= MAX_NAME && two.len() <= MAX_NAME, "{one}");
        assert!(one.ends_with(".pcap"), "{one}");
        assert_ne!(one, two);
        assert_eq!(one, file_name(&("л".repeat(299) + "1"), ".pcap"), "stable");
    }
}

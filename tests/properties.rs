//! Hostile input, as properties over many cases (proptest, with a fixed seed so that CI
//! sees the same cases every time):
//!
//! - random valid scenario files, written in the real format from random link settings,
//!   NATs, servers, timelines and checks, load and play to a verdict;
//! - the bundled files, mutated (a line deleted, duplicated or swapped, a value replaced by
//!   a hostile token, the file truncated, a byte flipped, garbage inserted), never make the
//!   loader panic: it either reports an error at `file:line:col`, or gives scenarios that
//!   hold together, that the JSON Schema accepts, and (a few of them) that play to a
//!   verdict.
//!
//! `PROPTEST_CASES=1000 PROPTEST_RNG_SEED=7 cargo test --test properties` digs deeper.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use proptest::prelude::*;
use proptest::sample::{Index, select, subsequence};
use proptest::test_runner::{RngAlgorithm, RngSeed};
use webrtc_netsim::scenario::file::{self, FileError, ScenarioFile};

/// Cases and seed fixed, no failure files: the same cases on every run and machine.
/// `PROPTEST_CASES` and `PROPTEST_RNG_SEED` still override them for a deeper local run.
fn config(cases: u32) -> ProptestConfig {
    let set = |name: &str| std::env::var_os(name).is_some();
    let mut config = ProptestConfig {
        failure_persistence: None,
        rng_algorithm: RngAlgorithm::ChaCha,
        // A failing run shrinks by playing calls again: keep that bounded.
        max_shrink_iters: 200,
        ..ProptestConfig::default()
    };
    if !set("PROPTEST_CASES") {
        config.cases = cases;
    }
    if !set("PROPTEST_RNG_SEED") {
        config.rng_seed = RngSeed::Fixed(0x6e65_7473_696d);
    }
    config
}

fn manifest() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

// ---------------------------------------------------------------------------------------
// Random valid scenarios
// ---------------------------------------------------------------------------------------

/// `1500` → `"1.5s"`, `2000` → `"2s"`, `250` → `"250ms"`: the ways files write times.
fn ms(millis: u64) -> String {
    if millis >= 1000 && millis.is_multiple_of(1000) {
        format!("\"{}s\"", millis / 1000)
    } else if millis >= 1000 && millis.is_multiple_of(100) {
        format!("\"{}.{}s\"", millis / 1000, millis % 1000 / 100)
    } else {
        format!("\"{millis}ms\"")
    }
}

/// A share in tenths of a percent, `"2.5%"`.
fn share(permille: u32) -> String {
    if permille.is_multiple_of(10) {
        format!("\"{}%\"", permille / 10)
    } else {
        format!("\"{}.{}%\"", permille / 10, permille % 10)
    }
}

const TRACE: &str = "../traces/cellular-walk.mahi";

/// The link keys of a table, each maybe given.
#[derive(Debug, Clone)]
struct Link {
    delay: Option<u64>,
    jitter: Option<(u64, Option<bool>)>,
    /// Loss in tenths of a percent, with a mean burst length.
    loss: Option<(u32, Option<u32>)>,
    /// kbit/s; `Some(None)` is `"unlimited"`.
    rate: Option<Option<u64>>,
    trace: bool,
    queue: Option<&'static str>,
    duplicate: Option<u32>,
    mtu: Option<u16>,
}

fn link() -> impl Strategy<Value = Link> {
    (
        // Each setting now and then, so that many calls still connect.
        prop::option::of(0..200u64),
        prop::option::weighted(0.3, (0..40u64, prop::option::of(any::<bool>()))),
        prop::option::weighted(0.3, (0..100u32, prop::option::weighted(0.3, 1..8u32))),
        prop::option::weighted(0.3, prop::option::weighted(0.8, 100..5000u64)),
        prop::bool::weighted(0.1),
        prop::option::weighted(
            0.2,
            select(&["60ms", "0.2s", "64kB", "1500 B", "50 packets", "10 pkt"][..]),
        ),
        prop::option::weighted(0.1, 0..50u32),
        prop::option::weighted(0.05, 1200..1500u16),
    )
        .prop_map(|(delay, jitter, loss, rate, trace, queue, duplicate, mtu)| Link {
            delay,
            jitter,
            loss,
            // A trace replaces the rate: not both.
            rate: if trace { None } else { rate },
            trace,
            queue,
            duplicate,
            mtu,
        })
}

impl Link {
    /// `{ delay = "10ms", loss = "2%" }`; `extra` are keys to put first.
    fn inline(&self, extra: &[String]) -> String {
        let mut keys: Vec<String> = extra.to_vec();
        if let Some(delay) = self.delay {
            keys.push(format!("delay = {}", ms(delay)));
        }
        if let Some((jitter, reorder)) = self.jitter {
            keys.push(format!("jitter = {}", ms(jitter)));
            if let Some(reorder) = reorder {
                keys.push(format!("reorder = {reorder}"));
            }
        }
        if let Some((loss, burst)) = self.loss {
            keys.push(format!("loss = {}", share(loss)));
            if let Some(burst) = burst {
                keys.push(format!("burst = {burst}.5"));
            }
        }
        match self.rate {
            Some(Some(kbps)) if kbps.is_multiple_of(1000) => {
                keys.push(format!("rate = \"{}mbps\"", kbps / 1000))
            }
            Some(Some(kbps)) => keys.push(format!("rate = \"{kbps}kbps\"")),
            Some(None) => keys.push("rate = \"unlimited\"".to_owned()),
            None => {}
        }
        if self.trace {
            keys.push(format!("trace = \"{TRACE}\""));
        }
        if let Some(queue) = self.queue {
            keys.push(format!("queue = \"{queue}\""));
        }
        if let Some(duplicate) = self.duplicate {
            keys.push(format!("duplicate = {}", share(duplicate)));
        }
        if let Some(mtu) = self.mtu {
            keys.push(format!("mtu = {mtu}"));
        }
        format!("{{ {} }}", keys.join(", "))
    }

    /// As a peer's or the core's link, where `"unlimited"` is the default anyway.
    fn whole(&self) -> String {
        self.inline(&[])
    }
}

const NAT_TYPES: [&str; 4] = [
    "full-cone",
    "restricted-cone",
    "port-restricted-cone",
    "symmetric",
];
const BEHAVIOURS: [&str; 3] = [
    "endpoint-independent",
    "address-dependent",
    "address-and-port-dependent",
];

/// What a NAT table starts from.
#[derive(Debug, Clone)]
enum NatStart {
    Type(&'static str),
    Behaviour(&'static str, &'static str),
}

#[derive(Debug, Clone)]
struct NatTable {
    start: NatStart,
    random_ports: Option<bool>,
    lifetime: Option<u64>,
    hairpinning: Option<bool>,
}

fn nat_table() -> impl Strategy<Value = NatTable> {
    let start = prop_oneof![
        select(&NAT_TYPES[..]).prop_map(NatStart::Type),
        (select(&BEHAVIOURS[..]), select(&BEHAVIOURS[..])).prop_map(|(m, f)| NatStart::Behaviour(m, f)),
    ];
    (
        start,
        prop::option::of(any::<bool>()),
        prop::option::of(500..60_000u64),
        prop::option::of(any::<bool>()),
    )
        .prop_map(|(start, random_ports, lifetime, hairpinning)| NatTable {
            start,
            random_ports,
            lifetime,
            hairpinning,
        })
}

impl NatTable {
    fn keys(&self) -> Vec<String> {
        let mut keys = match self.start {
            NatStart::Type(kind) => vec![format!("type = \"{kind}\"")],
            NatStart::Behaviour(mapping, filtering) => vec![
                format!("mapping = \"{mapping}\""),
                format!("filtering = \"{filtering}\""),
            ],
        };
        if let Some(random) = self.random_ports {
            keys.push(format!(
                "ports = \"{}\"",
                if random { "random" } else { "preserve" }
            ));
        }
        if let Some(lifetime) = self.lifetime {
            keys.push(format!("binding_lifetime = {}", ms(lifetime)));
        }
        if let Some(hairpinning) = self.hairpinning {
            keys.push(format!("hairpinning = {hairpinning}"));
        }
        keys
    }
}

/// A peer's `nat`: absent, a name (`"none"` too) or a table.
#[derive(Debug, Clone)]
enum Nat {
    Absent,
    Named(&'static str),
    Table(NatTable),
}

fn nat() -> impl Strategy<Value = Nat> {
    prop_oneof![
        4 => Just(Nat::Absent),
        3 => select(&["none", "full-cone", "restricted-cone", "port-restricted-cone", "symmetric"][..])
            .prop_map(Nat::Named),
        2 => nat_table().prop_map(Nat::Table),
    ]
}

impl Nat {
    fn behind(&self) -> bool {
        !matches!(self, Nat::Absent | Nat::Named("none"))
    }

    fn value(&self) -> Option<String> {
        match self {
            Nat::Absent => None,
            Nat::Named(name) => Some(format!("\"{name}\"")),
            Nat::Table(table) => Some(format!("{{ {} }}", table.keys().join(", "))),
        }
    }
}

/// What the app does when ICE reports a state: restart after the delay, at most so often.
type Policy = Option<(u64, Option<u32>)>;

fn policy() -> impl Strategy<Value = Policy> {
    prop::option::weighted(0.3, (100..3000u64, prop::option::of(1..4u32)))
}

#[derive(Debug, Clone)]
struct Peer {
    name: String,
    media: Vec<&'static str>,
    video_kbps: Option<u64>,
    data_interval: Option<u64>,
    link: Option<Link>,
    uplink: Option<Link>,
    downlink: Option<Link>,
    nat: Nat,
    /// Which declared servers it uses: STUN, TURN, TURN with a wrong password.
    stun: bool,
    turn: bool,
    stale_turn: bool,
    relay_only: bool,
    on_disconnected: Policy,
    on_failed: Policy,
}

fn peer(name: String) -> impl Strategy<Value = Peer> {
    (
        prop_oneof![
            1 => Just(Vec::new()),
            6 => subsequence(vec!["audio", "video", "data"], 1..=3),
        ],
        prop::option::weighted(0.3, 50..1500u64),
        prop::option::weighted(0.3, 20..500u64),
        prop::option::of(link()),
        prop::option::weighted(0.3, link()),
        prop::option::weighted(0.3, link()),
        nat(),
        (
            prop::bool::weighted(0.7),
            any::<bool>(),
            prop::bool::weighted(0.2),
            prop::bool::weighted(0.2),
        ),
        policy(),
        policy(),
    )
        .prop_map(
            move |(media, video_kbps, data_interval, link, uplink, downlink, nat, servers, on_d, on_f)| {
                let (stun, turn, stale_turn, relay_only) = servers;
                Peer {
                    name: name.clone(),
                    media,
                    video_kbps,
                    data_interval,
                    link,
                    uplink,
                    downlink,
                    nat,
                    stun,
                    turn,
                    stale_turn,
                    relay_only,
                    on_disconnected: on_d,
                    on_failed: on_f,
                }
            },
        )
}

/// A timeline action, on peer 0 or 1 where it names one.
#[derive(Debug, Clone)]
enum Action {
    Link(usize, Option<&'static str>, Link),
    Outage(usize, u64),
    ChangeAddress(usize, Option<Nat>, Option<Link>),
    NatReset(usize),
    Nat(usize, NatTable),
    Signaling(Option<u64>, bool),
    SetIceServers(usize, bool, bool),
    RestartIce(usize),
    Close(usize),
}

fn action() -> impl Strategy<Value = Action> {
    let who = 0..2usize;
    prop_oneof![
        (
            who.clone(),
            prop::option::of(select(&["both", "up", "down"][..])),
            link()
        )
            .prop_map(|(peer, direction, link)| Action::Link(peer, direction, link)),
        (who.clone(), 50..3000u64).prop_map(|(peer, duration)| Action::Outage(peer, duration)),
        (who.clone(), prop::option::of(nat()), prop::option::of(link()))
            .prop_map(|(peer, nat, link)| Action::ChangeAddress(peer, nat, link)),
        who.clone().prop_map(Action::NatReset),
        (who.clone(), nat_table()).prop_map(|(peer, table)| Action::Nat(peer, table)),
        (prop::option::of(0..2000u64), any::<bool>()).prop_map(|(delay, cut)| Action::Signaling(delay, cut)),
        (who.clone(), any::<bool>(), any::<bool>())
            .prop_map(|(peer, stun, turn)| Action::SetIceServers(peer, stun, turn)),
        who.clone().prop_map(Action::RestartIce),
        who.prop_map(Action::Close),
    ]
}

impl Action {
    fn name(&self) -> &'static str {
        match self {
            Action::Link(..) => "link",
            Action::Outage(..) => "outage",
            Action::ChangeAddress(..) => "change_address",
            Action::NatReset(_) => "nat_reset",
            Action::Nat(..) => "nat",
            Action::Signaling(..) => "signaling",
            Action::SetIceServers(..) => "set_ice_servers",
            Action::RestartIce(_) => "restart_ice",
            Action::Close(_) => "close",
        }
    }
}

/// The window of a stream check, as fractions (per mille) of the call or a timeline event.
#[derive(Debug, Clone)]
enum Window {
    Whole,
    From(u64),
    FromTo(u64, u64),
    To(u64),
    /// The n-th event of the timeline (by index into its events), maybe written `name#k`.
    After(Index, bool),
}

fn window() -> impl Strategy<Value = Window> {
    prop_oneof![
        Just(Window::Whole),
        (0..1000u64).prop_map(Window::From),
        (0..1000u64, 0..1000u64).prop_map(|(a, b)| Window::FromTo(a.min(b), a.max(b))),
        (1..=1000u64).prop_map(Window::To),
        (any::<Index>(), any::<bool>()).prop_map(|(event, numbered)| Window::After(event, numbered)),
    ]
}

/// A stream selector: receiver, sender (peer 0 or 1, or `*`) and medium (or `*`); `short`
/// writes what it can leave out.
#[derive(Debug, Clone)]
struct Selector {
    to: Option<usize>,
    from: Option<usize>,
    kind: Option<&'static str>,
    short: bool,
}

fn selector() -> impl Strategy<Value = Selector> {
    (
        prop::option::of(0..2usize),
        prop::option::of(0..2usize),
        prop::option::of(select(&["audio", "video", "data"][..])),
        any::<bool>(),
    )
        .prop_map(|(to, from, kind, short)| Selector {
            to,
            from,
            kind,
            short,
        })
}

#[derive(Debug, Clone)]
enum Check {
    ConnectTime(Option<u64>, Option<u64>),
    /// Kind of check, selector, window, bounds (per mille of a share, or ms).
    Stream(&'static str, Selector, Window, Option<u64>, Option<u64>),
    OneWayDelay(Selector, Window, &'static str, Option<u64>, Option<u64>),
    Freezes(Selector, Window, Option<u64>, Option<u64>),
    DataChannel(Selector, Window),
    ReconnectTime(Index, Option<Selector>, Option<u64>, Option<u64>),
    RestartTime(Option<usize>, Option<u64>, Option<u64>),
    Restarts(Option<u64>, Option<u64>),
    FinalState(&'static str),
}

/// Limits, at least one, `min <= max`.
fn bounds(range: std::ops::Range<u64>) -> impl Strategy<Value = (Option<u64>, Option<u64>)> {
    (prop::option::of(range.clone()), prop::option::of(range))
        .prop_filter("a check needs a limit", |(min, max)| {
            min.is_some() || max.is_some()
        })
        .prop_map(|(min, max)| match (min, max) {
            (Some(a), Some(b)) => (Some(a.min(b)), Some(a.max(b))),
            other => other,
        })
}

fn check() -> impl Strategy<Value = Check> {
    prop_oneof![
        bounds(0..5000).prop_map(|(min, max)| Check::ConnectTime(min, max)),
        (selector(), window(), bounds(0..1001)).prop_map(|(s, w, (min, max))| Check::Stream(
            "delivered",
            s,
            w,
            min,
            max
        )),
        (selector(), window(), bounds(0..5000)).prop_map(|(s, w, (min, max))| Check::Stream(
            "media_gap",
            s,
            w,
            min,
            max
        )),
        (
            selector(),
            window(),
            select(&["p50", "p95", "max"][..]),
            bounds(0..1000)
        )
            .prop_map(|(s, w, p, (min, max))| Check::OneWayDelay(s, w, p, min, max)),
        (selector(), window(), bounds(0..10)).prop_map(|(s, w, (min, max))| Check::Freezes(s, w, min, max)),
        (selector(), window()).prop_map(|(s, w)| Check::DataChannel(s, w)),
        (any::<Index>(), prop::option::of(selector()), bounds(0..5000))
            .prop_map(|(event, s, (min, max))| Check::ReconnectTime(event, s, min, max)),
        (prop::option::of(1..3usize), bounds(0..5000))
            .prop_map(|(nth, (min, max))| Check::RestartTime(nth, min, max)),
        bounds(0..4).prop_map(|(min, max)| Check::Restarts(min, max)),
        select(
            &[
                "connected",
                "failed",
                "disconnected",
                "closed",
                "new",
                "connecting"
            ][..]
        )
        .prop_map(Check::FinalState),
    ]
}

/// A whole scenario, rendered as a file by [`Generated::text`].
#[derive(Debug, Clone)]
struct Generated {
    duration: u64,
    seed: Option<u64>,
    core: Option<Link>,
    signaling_delay: Option<u64>,
    stun: bool,
    turn: bool,
    /// Caller first, callee second.
    peers: [Peer; 2],
    /// Whether the callee comes first in the file.
    callee_first: bool,
    /// Each at a fraction (per mille) of the call.
    timeline: Vec<(u64, Action)>,
    expect: Vec<Check>,
}

fn generated() -> impl Strategy<Value = Generated> {
    let names = ("[a-z][a-z0-9_-]{0,6}", "[A-Za-z0-9_-]{1,8}").prop_filter("two peers", |(a, b)| a != b);
    let peers = names.prop_flat_map(|(caller, callee)| (peer(caller), peer(callee)));
    (
        (1000..=4000u64).prop_map(|ms| ms / 100 * 100),
        prop::option::of(any::<u64>()),
        prop::option::of(link()),
        prop::option::of(0..500u64),
        (prop::bool::weighted(0.7), any::<bool>()),
        peers,
        any::<bool>(),
        prop::collection::vec((0..1000u64, action()), 0..=3),
        prop::collection::vec(check(), 0..=4),
    )
        .prop_map(
            |(
                duration,
                seed,
                core,
                signaling_delay,
                (stun, turn),
                (caller, callee),
                callee_first,
                timeline,
                expect,
            )| {
                Generated {
                    duration,
                    seed,
                    core,
                    signaling_delay,
                    stun,
                    turn,
                    peers: [caller, callee],
                    callee_first,
                    timeline,
                    expect,
                }
            },
        )
}

/// What the checks of a generated file may refer to, as the file's own timeline gives it.
struct Call<'g> {
    scenario: &'g Generated,
    /// Event names and times (ms), in time order, `outage_end` included.
    events: Vec<(&'static str, u64)>,
}

impl Generated {
    /// The file. Parts that the format would refuse in this combination (a relay policy
    /// without TURN, a NAT change with no NAT, a window on an event that is not there, a
    /// check on streams nobody sends) are left out, so every file is valid.
    fn text(&self) -> String {
        let mut text = String::new();
        let out = &mut text;
        writeln!(out, "name = \"generated\"\nduration = {}", ms(self.duration)).unwrap();
        if let Some(seed) = self.seed {
            // TOML integers are i64.
            writeln!(out, "seed = {}", seed >> 1).unwrap();
        }
        if let Some(core) = &self.core {
            writeln!(out, "core = {}", core.whole()).unwrap();
        }
        if let Some(delay) = self.signaling_delay {
            writeln!(out, "signaling = {{ delay = {} }}", ms(delay)).unwrap();
        }
        if self.stun || self.turn {
            writeln!(out, "\n[servers]").unwrap();
        }
        if self.stun {
            writeln!(out, "stun = true").unwrap();
        }
        if self.turn {
            writeln!(out, "turn = {{ user = \"qa\", password = \"secret\" }}").unwrap();
        }
        let order = if self.callee_first { [1, 0] } else { [0, 1] };
        for index in order {
            self.peer(out, index);
        }
        let timeline = self.timeline();
        for (at, action) in &timeline {
            writeln!(out, "\n[[timeline]]\nat = {}", ms(*at)).unwrap();
            self.action(out, action);
        }
        let call = Call {
            scenario: self,
            events: events(&timeline),
        };
        for check in &self.expect {
            if let Some(line) = call.check(check) {
                writeln!(out, "\n[[expect]]\n{line}").unwrap();
            }
        }
        text
    }

    fn peer(&self, out: &mut String, index: usize) {
        let peer = &self.peers[index];
        let role = if index == 0 { "caller" } else { "callee" };
        writeln!(out, "\n[peers.{}]\nrole = \"{role}\"", peer.name).unwrap();
        let media: Vec<String> = peer.media.iter().map(|kind| format!("\"{kind}\"")).collect();
        writeln!(out, "media = [{}]", media.join(", ")).unwrap();
        if let Some(kbps) = peer.video_kbps {
            writeln!(out, "video_bitrate = \"{kbps}kbps\"").unwrap();
        }
        if let Some(interval) = peer.data_interval {
            writeln!(out, "data_interval = {}", ms(interval)).unwrap();
        }
        for (key, link) in [
            ("link", &peer.link),
            ("uplink", &peer.uplink),
            ("downlink", &peer.downlink),
        ] {
            if let Some(link) = link {
                writeln!(out, "{key} = {}", link.whole()).unwrap();
            }
        }
        if let Some(nat) = peer.nat.value() {
            writeln!(out, "nat = {nat}").unwrap();
        }
        let servers = self.ice_servers(peer.stun, peer.turn, peer.stale_turn);
        if !servers.is_empty() {
            writeln!(out, "ice_servers = [{}]", servers.join(", ")).unwrap();
        }
        if peer.relay_only && servers.iter().any(|server| server.contains("turn")) {
            writeln!(out, "ice_transport_policy = \"relay\"").unwrap();
        }
        for (key, policy) in [
            ("on_disconnected", peer.on_disconnected),
            ("on_failed", peer.on_failed),
        ] {
            if let Some((delay, attempts)) = policy {
                let attempts = attempts.map_or(String::new(), |n| format!(", max_attempts = {n}"));
                writeln!(out, "{key} = {{ restart_ice = {}{attempts} }}", ms(delay)).unwrap();
            }
        }
    }

    /// The `ice_servers` entries a peer may use: only servers `[servers]` declares.
    fn ice_servers(&self, stun: bool, turn: bool, stale: bool) -> Vec<String> {
        let mut servers = Vec::new();
        if stun && self.stun {
            servers.push("\"stun\"".to_owned());
        }
        if turn && self.turn {
            servers.push(if stale {
                "{ turn = { user = \"qa\", password = \"stale\" } }".to_owned()
            } else {
                "\"turn\"".to_owned()
            });
        }
        servers
    }

    /// The timeline in file order, at times within the call, without NAT actions on a peer
    /// that is behind none at that time.
    fn timeline(&self) -> Vec<(u64, &Action)> {
        let timed: Vec<(u64, &Action)> = self
            .timeline
            .iter()
            .map(|(permille, action)| (self.duration * permille / 1000, action))
            .collect();
        let mut in_time_order: Vec<usize> = (0..timed.len()).collect();
        in_time_order.sort_by_key(|&index| timed[index].0);
        let mut behind = [self.peers[0].nat.behind(), self.peers[1].nat.behind()];
        let mut dropped = BTreeSet::new();
        for index in in_time_order {
            match timed[index].1 {
                Action::ChangeAddress(peer, nat, _) => {
                    behind[*peer] = nat.as_ref().is_some_and(Nat::behind);
                }
                Action::NatReset(peer) | Action::Nat(peer, _) if !behind[*peer] => {
                    dropped.insert(index);
                }
                _ => {}
            }
        }
        timed
            .into_iter()
            .enumerate()
            .filter(|(index, _)| !dropped.contains(index))
            .map(|(_, entry)| entry)
            .collect()
    }

    fn action(&self, out: &mut String, action: &Action) {
        let name = |peer: &usize| &self.peers[*peer].name;
        let line = match action {
            Action::Link(peer, direction, link) => {
                let mut keys = vec![format!("peer = \"{}\"", name(peer))];
                if let Some(direction) = direction {
                    keys.push(format!("direction = \"{direction}\""));
                }
                format!("link = {}", link.inline(&keys))
            }
            Action::Outage(peer, duration) => {
                format!(
                    "outage = {{ peer = \"{}\", duration = {} }}",
                    name(peer),
                    ms(*duration)
                )
            }
            Action::ChangeAddress(peer, nat, link) => {
                let mut keys = vec![format!("peer = \"{}\"", name(peer))];
                if let Some(nat) = nat.as_ref().and_then(Nat::value) {
                    keys.push(format!("nat = {nat}"));
                }
                if let Some(link) = link {
                    keys.push(format!("link = {}", link.whole()));
                }
                format!("change_address = {{ {} }}", keys.join(", "))
            }
            Action::NatReset(peer) => format!("nat_reset = {{ peer = \"{}\" }}", name(peer)),
            Action::Nat(peer, table) => {
                let mut keys = vec![format!("peer = \"{}\"", name(peer))];
                keys.extend(table.keys());
                format!("nat = {{ {} }}", keys.join(", "))
            }
            Action::Signaling(Some(delay), _) => format!("signaling = {{ delay = {} }}", ms(*delay)),
            Action::Signaling(None, true) => "signaling = \"cut\"".to_owned(),
            Action::Signaling(None, false) => "signaling = \"restore\"".to_owned(),
            Action::SetIceServers(peer, stun, turn) => format!(
                "set_ice_servers = {{ peer = \"{}\", servers = [{}] }}",
                name(peer),
                self.ice_servers(*stun, *turn, false).join(", ")
            ),
            Action::RestartIce(peer) => format!("restart_ice = {{ peer = \"{}\" }}", name(peer)),
            Action::Close(peer) => format!("close = {{ peer = \"{}\" }}", name(peer)),
        };
        writeln!(out, "{line}").unwrap();
    }
}

/// The events checks can name, in time order (the loader's order: stable by time).
fn events(timeline: &[(u64, &Action)]) -> Vec<(&'static str, u64)> {
    let mut events = Vec::new();
    for (at, action) in timeline {
        events.push((action.name(), *at));
        if let Action::Outage(_, duration) = action {
            events.push(("outage_end", at + duration));
        }
    }
    events.sort_by_key(|(_, at)| *at);
    events
}

impl Call<'_> {
    /// The check as its `[[expect]]` line, or `None` if it cannot apply to this call.
    fn check(&self, check: &Check) -> Option<String> {
        let limits = |min: &Option<u64>, max: &Option<u64>, show: &dyn Fn(u64) -> String| {
            let mut keys = Vec::new();
            if let Some(min) = min {
                keys.push(format!("min = {}", show(*min)));
            }
            if let Some(max) = max {
                keys.push(format!("max = {}", show(*max)));
            }
            keys
        };
        let time = |millis: u64| ms(millis);
        let count = |n: u64| n.to_string();
        let all = ["audio", "video", "data"];
        Some(match check {
            Check::ConnectTime(min, max) => {
                format!("connect_time = {{ {} }}", limits(min, max, &time).join(", "))
            }
            Check::Stream(kind, selector, window, min, max) => {
                let show: &dyn Fn(u64) -> String = if *kind == "delivered" {
                    &|n| share(n as u32)
                } else {
                    &time
                };
                let mut keys = self.scope(selector, window, &all)?;
                keys.extend(limits(min, max, show));
                format!("{kind} = {{ {} }}", keys.join(", "))
            }
            Check::OneWayDelay(selector, window, percentile, min, max) => {
                let mut keys = self.scope(selector, window, &all)?;
                keys.push(format!("percentile = \"{percentile}\""));
                keys.extend(limits(min, max, &time));
                format!("one_way_delay = {{ {} }}", keys.join(", "))
            }
            Check::Freezes(selector, window, min, max) => {
                let mut keys = self.scope(selector, window, &["video"])?;
                keys.extend(limits(min, max, &count));
                format!("freezes = {{ {} }}", keys.join(", "))
            }
            Check::DataChannel(selector, window) => {
                format!(
                    "data_channel = {{ {} }}",
                    self.scope(selector, window, &["data"])?.join(", ")
                )
            }
            Check::ReconnectTime(event, selector, min, max) => {
                let network: Vec<(usize, &(&str, u64))> = self
                    .events
                    .iter()
                    .enumerate()
                    .filter(|(_, (name, _))| {
                        ["change_address", "outage_end", "nat_reset", "nat"].contains(name)
                    })
                    .collect();
                if network.is_empty() {
                    return None;
                }
                let (index, _) = network[event.index(network.len())];
                let mut keys = vec![format!("after = \"{}\"", self.event_name(index, true))];
                match selector {
                    Some(selector) => keys.push(format!("stream = \"{}\"", self.selector(selector, &all)?)),
                    // Every stream, of which there must be one.
                    None if self.scenario.peers.iter().all(|peer| peer.media.is_empty()) => return None,
                    None => {}
                }
                keys.extend(limits(min, max, &time));
                format!("reconnect_time = {{ {} }}", keys.join(", "))
            }
            Check::RestartTime(nth, min, max) => {
                let mut keys = nth.map(|n| vec![format!("nth = {n}")]).unwrap_or_default();
                keys.extend(limits(min, max, &time));
                format!("restart_time = {{ {} }}", keys.join(", "))
            }
            Check::Restarts(min, max) => format!("restarts = {{ {} }}", limits(min, max, &count).join(", ")),
            Check::FinalState(state) => format!("final_state = \"{state}\""),
        })
    }

    /// `stream` and the window's keys, if the selector picks some stream of `kinds` and the
    /// window is not empty.
    fn scope(&self, selector: &Selector, window: &Window, kinds: &[&str]) -> Option<Vec<String>> {
        let mut keys = vec![format!("stream = \"{}\"", self.selector(selector, kinds)?)];
        let duration = self.scenario.duration;
        let at = |permille: u64| duration * permille / 1000;
        match window {
            Window::Whole => {}
            Window::From(from) => keys.push(format!("from = {}", ms(at(*from)))),
            Window::FromTo(from, to) if at(*from) < at(*to) => {
                keys.push(format!("from = {}", ms(at(*from))));
                keys.push(format!("to = {}", ms(at(*to))));
            }
            Window::FromTo(..) => {}
            Window::To(to) if at(*to) > 0 => keys.push(format!("to = {}", ms(at(*to)))),
            Window::To(_) => {}
            Window::After(event, numbered) if !self.events.is_empty() => {
                let index = event.index(self.events.len());
                // A window must start before the end of the call; outage_end may not.
                if self.events[index].1 < duration {
                    keys.push(format!("after = \"{}\"", self.event_name(index, *numbered)));
                }
            }
            Window::After(..) => {}
        }
        Some(keys)
    }

    /// `name`, or `name#n` (its n-th occurrence), for the event at `index`.
    fn event_name(&self, index: usize, numbered: bool) -> String {
        let name = self.events[index].0;
        let nth = self.events[..=index]
            .iter()
            .filter(|(other, _)| *other == name)
            .count();
        if numbered || nth > 1 {
            format!("{name}#{nth}")
        } else {
            name.to_owned()
        }
    }

    /// The selector's text, if it picks some stream of `kinds` someone sends.
    fn selector(&self, selector: &Selector, kinds: &[&str]) -> Option<String> {
        let peers = &self.scenario.peers;
        let picks = (0..2).any(|sender| {
            let receiver = 1 - sender;
            selector.from.is_none_or(|from| from == sender)
                && selector.to.is_none_or(|to| to == receiver)
                && peers[sender]
                    .media
                    .iter()
                    .any(|kind| kinds.contains(kind) && selector.kind.is_none_or(|wanted| wanted == *kind))
        });
        if !picks {
            return None;
        }
        let name = |peer: Option<usize>| peer.map_or("*", |peer| peers[peer].name.as_str());
        let kind = selector.kind.unwrap_or("*");
        Some(match (selector.to, selector.from, selector.short) {
            (None, None, true) if kind == "*" => "*".to_owned(),
            (None, None, true) => format!("*:{kind}"),
            (to, from, true) if kind == "*" => format!("{}<-{}", name(to), name(from)),
            (to, from, _) => format!("{}<-{}:{kind}", name(to), name(from)),
        })
    }
}

proptest! {
    // A few milliseconds of wall time per call: short calls simulate fast.
    #![proptest_config(config(32))]

    /// A file written in the format from random settings loads, holds what it says, and
    /// plays to a verdict on every check: no panic, no stuck run, no run that cannot start.
    #[test]
    fn random_valid_scenarios_load_and_play_to_a_verdict(generated in generated()) {
        let text = generated.text();
        // In scenarios/, so that a link's `trace` finds ../traces.
        let path = manifest().join("scenarios").join("generated.toml");
        let file = match file::parse(&path, &text) {
            Ok(file) => file,
            Err(error) => panic!("a valid file is refused:\n{error}\n--- the file:\n{text}"),
        };
        prop_assert_eq!(file.scenario.world.duration, Duration::from_millis(generated.duration));
        prop_assert_eq!(file.scenario.timeline.len(), generated.timeline().len());
        holds_together(&file, &text);
        matches_the_schema(&path, &text);
        play(&file, &text);
    }
}

// ---------------------------------------------------------------------------------------
// Mutated bundled files
// ---------------------------------------------------------------------------------------

/// Every bundled file: its name and bytes.
fn library() -> &'static [(String, Vec<u8>)] {
    static LIBRARY: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
    LIBRARY.get_or_init(|| {
        let paths = file::collect(&[manifest().join("scenarios")]).expect("the library is there");
        paths
            .iter()
            .map(|path| {
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                (name, std::fs::read(path).expect("readable"))
            })
            .collect()
    })
}

/// Values a mutation puts in place of one: wrong types, empty and huge values, units at
/// their limits, names of the wrong kind, TOML at its edges.
const TOKENS: &[&str] = &[
    "\"\"",
    "\"0\"",
    "0",
    "-1",
    "1e400",
    "nan",
    "-inf",
    "true",
    "[]",
    "{}",
    "[1, \"a\"]",
    "{ x = 1 }",
    "\"0s\"",
    "\"0ms\"",
    "\"-5s\"",
    "\"0.0001ms\"",
    "\"100%\"",
    "\"101%\"",
    "\"0%\"",
    "\"99999999999999999999s\"",
    "\"18446744073709551615ms\"",
    "\"584y\"",
    "\"1.5\"",
    "\"1.\"",
    "\".5s\"",
    "\"5 s\"",
    "\"caller\"",
    "\"callee\"",
    "\"symmetric\"",
    "\"none\"",
    "\"unlimited\"",
    "\"0bps\"",
    "\"1bps\"",
    "\"0 packets\"",
    "\"1 pkt\"",
    "\"*\"",
    "\"*:*\"",
    "\"<-\"",
    "\"alice\"",
    "\"x<-y:z\"",
    "\"#0\"",
    "\"restart_ice#2\"",
    "\"outage_end#99\"",
    "\"link#18446744073709551616\"",
    "'''",
    "\"é\"",
    "\"\\u0000\"",
    "\"\\uD800\"",
    "18446744073709551616",
    "9223372036854775807",
    "0.0",
    "1.0",
    "0.5",
    "65536",
    "\"p95\"",
    "\"turn\"",
    "\"stun\"",
    "\"relay\"",
    "\"a.b.c\"",
    "\"peers..x\"",
    "\"..\"",
    "\"/\"",
    "\"../traces/README.md\"",
    "\"../Cargo.toml\"",
    "\"../traces/cellular-handoff-dip.mahi\"",
    "1979-05-27T07:32:00Z",
    "{ turn = { user = \"qa\", password = \"x\" } }",
    "[\"stun\", \"stun\"]",
    "[\"audio\", \"audio\"]",
];

/// Bytes a mutation inserts.
const GARBAGE: &[&str] = &[
    "[[",
    "]]",
    "\"",
    "'",
    "=",
    "{",
    "}",
    "#",
    "\0",
    "\r",
    "\n",
    "\t",
    "\u{feff}",
    "\u{202e}",
    "é",
    "\n[sweep]\n",
    "\n[[timeline]]\n",
    "\n[[expect]]\n",
    "\n[peers.eve]\nrole = \"callee\"\n",
    "\n[sweep]\n\"duration\" = [\"1s\", \"2s\"]\n",
    "\n[sweep]\n\"seed\" = [1, 2, 3, 4, 5, 6, 7, 8, 9]\n\"core.delay\" = [\"1ms\", \"2ms\", \"3ms\", \"4ms\", \"5ms\", \"6ms\", \"7ms\", \"8ms\"]\n",
    "\n[sweep]\n\"peers.alice.nat.type\" = [\"symmetric\"]\n",
    "\n[sweep]\n\"peers.alice.link\" = [\"1ms\"]\n",
    "\n[sweep]\n\"name\" = [\"a\", \"b\"]\n",
    "\n[sweep]\n\"peers\" = [1]\n",
    "\n[sweep]\n\"timeline.at\" = [\"1s\"]\n",
    "\n[sweep]\n\"expect\" = [1]\n",
];

#[derive(Debug, Clone)]
enum Mutation {
    DeleteLine(Index),
    DuplicateLine(Index),
    SwapLines(Index, Index),
    /// The n-th value (after an `=`) replaced by a token.
    ReplaceValue(Index, String),
    Truncate(Index),
    FlipByte(Index, u8),
    Insert(Index, Vec<u8>),
}

fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(TOKENS).prop_map(str::to_owned),
        1 => "[a-z0-9%.#*<:_ -]{0,12}".prop_map(|text| format!("\"{text}\"")),
        1 => any::<i64>().prop_map(|n| n.to_string()),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let garbage = prop_oneof![
        3 => select(GARBAGE).prop_map(|text| text.as_bytes().to_vec()),
        1 => prop::collection::vec(any::<u8>(), 1..8),
    ];
    prop_oneof![
        1 => any::<Index>().prop_map(Mutation::DeleteLine),
        1 => any::<Index>().prop_map(Mutation::DuplicateLine),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        3 => (any::<Index>(), token()).prop_map(|(at, token)| Mutation::ReplaceValue(at, token)),
        1 => any::<Index>().prop_map(Mutation::Truncate),
        1 => (any::<Index>(), 0..8u8).prop_map(|(at, bit)| Mutation::FlipByte(at, bit)),
        2 => (any::<Index>(), garbage).prop_map(|(at, bytes)| Mutation::Insert(at, bytes)),
    ]
}

/// Where each value of a file starts and ends: after an `=` and its spaces, to the end of
/// a string, array or inline table, or else to the next `,`, `}` or line end. Good enough
/// to aim at; a value it cuts wrongly is one more kind of garbage.
fn values(text: &[u8]) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut at = 0;
    while let Some(offset) = text[at..].iter().position(|&b| b == b'=') {
        let mut start = at + offset + 1;
        while text.get(start) == Some(&b' ') {
            start += 1;
        }
        let end = match text.get(start) {
            Some(b'"') => text[start + 1..]
                .iter()
                .position(|&b| b == b'"' || b == b'\n')
                .map_or(text.len(), |end| start + end + 2),
            Some(&open @ (b'[' | b'{')) => {
                let close = if open == b'[' { b']' } else { b'}' };
                let mut depth = 0usize;
                let mut end = text.len();
                for (index, &b) in text[start..].iter().enumerate() {
                    if b == open {
                        depth += 1;
                    } else if b == close {
                        depth -= 1;
                        if depth == 0 {
                            end = start + index + 1;
                            break;
                        }
                    }
                }
                end
            }
            _ => text[start..]
                .iter()
                .position(|&b| b == b',' || b == b'}' || b == b'\n')
                .map_or(text.len(), |end| start + end),
        };
        spans.push((start, end.min(text.len())));
        at = start;
    }
    spans
}

impl Mutation {
    fn apply(&self, text: &[u8]) -> Vec<u8> {
        let spans = values(text);
        let nothing_to_aim_at = match self {
            Mutation::Insert(..) => false,
            Mutation::ReplaceValue(..) => spans.is_empty(),
            _ => text.is_empty(),
        };
        if nothing_to_aim_at {
            return text.to_vec();
        }
        let mut lines: Vec<&[u8]> = text.split_inclusive(|&b| b == b'\n').collect();
        let joined = |lines: Vec<&[u8]>| lines.concat();
        match self {
            Mutation::DeleteLine(line) => {
                lines.remove(line.index(lines.len()));
                joined(lines)
            }
            Mutation::DuplicateLine(line) => {
                let line = line.index(lines.len());
                lines.insert(line, lines[line]);
                joined(lines)
            }
            Mutation::SwapLines(a, b) => {
                let (a, b) = (a.index(lines.len()), b.index(lines.len()));
                lines.swap(a, b);
                joined(lines)
            }
            Mutation::ReplaceValue(value, token) => {
                let (start, end) = spans[value.index(spans.len())];
                [&text[..start], token.as_bytes(), &text[end..]].concat()
            }
            Mutation::Truncate(at) => text[..at.index(text.len())].to_vec(),
            Mutation::FlipByte(at, bit) => {
                let mut bytes = text.to_vec();
                bytes[at.index(text.len())] ^= 1 << bit;
                bytes
            }
            Mutation::Insert(at, garbage) => {
                let at = at.index(text.len() + 1);
                [&text[..at], garbage.as_slice(), &text[at..]].concat()
            }
        }
    }
}

/// A folder of mutated copies per test, beside a link to the real traces/ so that their
/// `trace` paths still resolve.
fn workbench(test: &str) -> PathBuf {
    let bench = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("properties")
        .join(test);
    let scenarios = bench.join("scenarios");
    std::fs::create_dir_all(&scenarios).expect("a folder for the mutants");
    let traces = bench.join("traces");
    if std::fs::symlink_metadata(&traces).is_err() {
        std::os::unix::fs::symlink(manifest().join("traces"), &traces).expect("traces/ linked");
    }
    scenarios
}

/// Writes the mutant where its original's relative paths hold, and loads it as `netsim`
/// does. The loader must not panic (proptest reports a panic as a failing case).
fn load_mutant(folder: &Path, name: &str, bytes: &[u8]) -> (PathBuf, Result<Vec<ScenarioFile>, FileError>) {
    let path = folder.join(name);
    std::fs::write(&path, bytes).expect("the mutant is written");
    let loaded = file::load_all(&path);
    (path, loaded)
}

/// An error names the file and a place in it: `path:line:col: `, a line the file has,
/// which the excerpt shows.
fn assert_placed(error: &FileError, path: &Path, bytes: &[u8]) {
    let shown = error.to_string();
    let mutant = String::from_utf8_lossy(bytes);
    let Some((line, column)) = error.position else {
        panic!("an error without a place:\n{shown}\n--- the file:\n{mutant}");
    };
    let prefix = format!("{}:{line}:{column}: ", path.display());
    assert!(shown.starts_with(&prefix), "not placed as `{prefix}`:\n{shown}");
    let lines = bytes.iter().filter(|&&b| b == b'\n').count() + 1;
    assert!(
        line >= 1 && line <= lines && column >= 1,
        "{line}:{column} is not in the file ({lines} lines):\n{shown}\n--- the file:\n{mutant}"
    );
    assert!(
        shown.contains(&format!("\n {line} | ")),
        "the excerpt does not show line {line}:\n{shown}"
    );
}

/// What every loaded scenario holds, whatever its file said.
fn holds_together(file: &ScenarioFile, text: &str) {
    let scenario = &file.scenario;
    if let Err(error) = scenario.calls() {
        panic!("the peers make no calls: {error}\n--- the file:\n{text}");
    }
    assert!(!scenario.world.duration.is_zero(), "a call of 0s:\n{text}");
    for timed in &scenario.timeline {
        assert!(
            timed.at < scenario.world.duration,
            "{timed:?} is after the call:\n{text}"
        );
        if let Some(peer) = timed.action.peer() {
            assert!(
                scenario.peers.iter().any(|spec| spec.name == peer),
                "{timed:?} names a peer not in the call:\n{text}"
            );
        }
    }
}

/// A file the loader accepts, the schema editors validate with accepts too.
fn matches_the_schema(path: &Path, text: &str) {
    static SCHEMA: OnceLock<(boon::Schemas, boon::SchemaIndex)> = OnceLock::new();
    let (schemas, index) = SCHEMA.get_or_init(|| {
        let schema = serde_json::to_value(file::json_schema()).expect("the schema is JSON");
        let mut compiler = boon::Compiler::new();
        let mut schemas = boon::Schemas::new();
        compiler
            .add_resource("netsim.json", schema)
            .expect("the schema loads");
        let index = compiler
            .compile("netsim.json", &mut schemas)
            .expect("the schema compiles");
        (schemas, index)
    });
    let value: toml::Value = toml::from_str(text).expect("a loaded file is TOML");
    let json = serde_json::to_value(value).expect("TOML converts to JSON");
    if let Err(error) = schemas.validate(&json, *index) {
        panic!(
            "{} loads but the schema refuses it: {error}\n--- the file:\n{text}",
            path.display()
        );
    }
}

/// Plays the call: it must come to a verdict for every expectation.
fn play(file: &ScenarioFile, text: &str) {
    match file.play() {
        Ok((_, verdicts)) => {
            assert_eq!(
                verdicts.len(),
                file.expectations.len(),
                "a verdict per expectation"
            );
            for verdict in &verdicts {
                // Shown as the summary shows it.
                let _ = verdict.to_string();
            }
        }
        Err(error) => panic!("no verdict: {error}\n--- the file:\n{text}"),
    }
}

/// Whether a mutant is cheap enough to play here: a short call without a data message
/// every microsecond. (A mutant may ask for an hour-long call; that is no bug.)
fn cheap(file: &ScenarioFile) -> bool {
    let scenario = &file.scenario;
    scenario.world.duration <= Duration::from_secs(20)
        && scenario.peers.iter().all(|peer| {
            peer.media.data_interval >= Duration::from_millis(10) && peer.media.video_bitrate_bps <= 5_000_000
        })
}

proptest! {
    #![proptest_config(config(256))]

    /// A mutated bundled file never panics the loader; an error names its place; what
    /// still loads holds together and matches the schema.
    #[test]
    fn mutated_files_load_or_fail_at_a_place(
        which in any::<Index>(),
        mutations in prop::collection::vec(mutation(), 1..=2),
    ) {
        let (name, original) = &library()[which.index(library().len())];
        let bytes = mutations.iter().fold(original.clone(), |bytes, mutation| mutation.apply(&bytes));
        let (path, loaded) = load_mutant(&workbench("load"), name, &bytes);
        match loaded {
            Err(error) => assert_placed(&error, &path, &bytes),
            Ok(files) => {
                let text = String::from_utf8(bytes).expect("a loaded file is UTF-8");
                prop_assert!(!files.is_empty() && files.len() <= file::MAX_POINTS);
                for file in &files {
                    holds_together(file, &text);
                }
                matches_the_schema(&path, &text);
            }
        }
    }
}

proptest! {
    // About one mutant in four still loads, and its call takes ~0.1 s.
    #![proptest_config(config(32))]

    /// A mutant that still loads plays to a verdict (its first sweep point, when short).
    #[test]
    fn mutated_files_that_load_play_to_a_verdict(
        which in any::<Index>(),
        mutation in mutation(),
    ) {
        // The short calls only: each case plays a whole call.
        let short: Vec<&(String, Vec<u8>)> = library()
            .iter()
            .filter(|(_, bytes)| {
                let text = String::from_utf8_lossy(bytes);
                ["duration = \"8s\"", "duration = \"10s\"", "duration = \"12s\""]
                    .iter()
                    .any(|line| text.contains(line))
            })
            .collect();
        let (name, original) = short[which.index(short.len())];
        let bytes = mutation.apply(original);
        let (path, loaded) = load_mutant(&workbench("play"), name, &bytes);
        match loaded {
            Err(error) => assert_placed(&error, &path, &bytes),
            Ok(files) => {
                let text = String::from_utf8_lossy(&bytes);
                if cheap(&files[0]) {
                    play(&files[0], &text);
                }
            }
        }
    }
}

/// The generator's files are valid: a sample of them read back as written (not a
/// property, a sanity check of the generator that the properties rely on).
#[test]
fn the_generator_writes_valid_files() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    let mut runner = TestRunner::deterministic();
    let path = manifest().join("scenarios").join("generated.toml");
    for _ in 0..64 {
        let generated = generated().new_tree(&mut runner).expect("a scenario").current();
        let text = generated.text();
        if let Err(error) = file::parse(&path, &text) {
            panic!("{error}\n--- the file:\n{text}");
        }
    }
}

//! Expectations: what a scenario says must hold about a call, judged on the finished run.
//!
//! Each expectation is about one thing (the connect time, one stream, one peer), so a
//! scenario file's `stream = "*:audio"` becomes one expectation per audio stream, and a
//! verdict names exactly what failed.

use std::fmt;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::metrics::{self, MediaIndex, Restart, StreamMetrics, Window, cross_traffic};
use crate::timeline::Direction;
use crate::trace::What;
use crate::world::Run;

/// One thing that must hold about a run.
#[derive(Debug, Clone, PartialEq)]
pub enum Expectation {
    /// Caller's offer → both peer connections connected.
    ConnectTime(Bounds<Duration>),
    /// A metric of one stream (`bob<-alice:audio`) over packets sent within `window`.
    Stream {
        stream: String,
        window: Window,
        metric: StreamMetric,
    },
    /// `peer`'s last peer-connection state at `at` (the end of the call, before hanging up).
    FinalState {
        peer: String,
        state: String,
        at: Duration,
    },
    /// The network event `action` at `at` → the first packet of `stream` sent after it that
    /// arrived (the run's `reconnects`).
    ReconnectTime {
        action: String,
        at: Duration,
        stream: String,
        bounds: Bounds<Duration>,
    },
    /// Every ICE restart (or only the `nth`, from 1) completes within the bounds.
    RestartTime {
        nth: Option<usize>,
        bounds: Bounds<Duration>,
    },
    /// The number of ICE restarts.
    Restarts(Bounds<u64>),
    /// Every target bitrate `peer`'s congestion controller held within `window`: the one in
    /// effect at its start and each it set before its end (the `TargetBitrate` events).
    TargetBitrate {
        peer: String,
        window: Window,
        bounds: Bounds<Bitrate>,
    },
    /// What the cross-traffic flow `flow` delivered within `window` (its meter's bins).
    Throughput {
        flow: String,
        window: Window,
        bounds: Bounds<Bitrate>,
    },
    /// A statistic of how long the datagrams that entered `peer`'s access link in
    /// `direction` within `window` waited in its queue (the run's `queues`).
    QueueDelay {
        peer: String,
        direction: Direction,
        percentile: Percentile,
        window: Window,
        bounds: Bounds<Duration>,
    },
    /// The share of its capacity `peer`'s access link in `direction` carried within
    /// `window` (whole datagrams, each counted over its serialization time).
    Utilization {
        peer: String,
        direction: Direction,
        window: Window,
        bounds: Bounds<Ratio>,
    },
    /// The `link` event `action` at `at` set a rate of `capacity`: the time until `peer`'s
    /// target bitrate is at most (`Ramp::Down`) or at least (`Ramp::Up`) `of_capacity` of it.
    RampTime {
        peer: String,
        ramp: Ramp,
        action: String,
        at: Duration,
        capacity: Bitrate,
        of_capacity: Ratio,
        bounds: Bounds<Duration>,
    },
}

/// Which way a target must move after a capacity change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ramp {
    /// Down to at most the share of the new capacity (`rampdown_time`).
    Down,
    /// Up to at least it (`rampup_time`).
    Up,
}

/// What is checked on a stream.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamMetric {
    /// Share of the packets sent that arrived, `0..=1`.
    Delivered(Bounds<Ratio>),
    MediaGap(Bounds<Duration>),
    OneWayDelay(Percentile, Bounds<Duration>),
    Freezes(Bounds<u64>),
    /// Nothing lost, duplicated or out of order, and something arrived.
    DataChannel,
    /// Payload bits per second that arrived within the window (by arrival time).
    Bitrate(Bounds<Bitrate>),
}

/// A statistic of the one-way delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Percentile {
    /// The median.
    P50,
    P95,
    /// The largest.
    Max,
}

impl Percentile {
    /// Its name in scenario files and verdicts.
    fn name(self) -> &'static str {
        match self {
            Percentile::P50 => "p50",
            Percentile::P95 => "p95",
            Percentile::Max => "max",
        }
    }
}

/// Inclusive limits; `None` is no limit on that side.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bounds<T> {
    pub min: Option<T>,
    pub max: Option<T>,
}

/// Bits per second, shown as scenario files write a rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Bitrate(pub u64);

/// A share `0..=1`, shown as a percentage.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Ratio(pub f64);

/// The judgement of one expectation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// What was expected, e.g. `delivered bob<-alice:audio [2s, 10s)`.
    pub expectation: String,
    pub passed: bool,
    /// What the run measured, e.g. `97.07% (1456 of 1500 sent)`.
    pub measured: String,
    /// The limit it was held to, e.g. `≥ 98%`.
    pub limit: String,
    /// The measured value and the limits as numbers, for plots and tools: `None` when
    /// nothing could be measured (a call that never connected) or the check has no scale
    /// (`final_state`, `data_channel`).
    pub value: Option<Measured>,
    /// Of a file's `seeds`, the share on which it must hold (its `[[expect]]`'s `share`);
    /// absent: every seed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share: Option<f64>,
}

/// A measured value and its limits as plain numbers in one [`Unit`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Measured {
    pub unit: Unit,
    pub measured: f64,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// What the numbers of a [`Measured`] count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    /// Durations.
    Seconds,
    /// A share `0..=1` (`delivered`).
    Share,
    /// Events or packets (`freezes`, `restarts`).
    Count,
    /// Bits per second (`target_bitrate`, `bitrate`).
    Bps,
}

impl Unit {
    /// A number in this unit as a verdict shows it, durations to 0.1 ms (for tables):
    /// `239.9ms`, `97.33%`, `3`, `1.25Mbps`.
    pub fn show(self, number: f64) -> String {
        match self {
            Unit::Seconds => Duration::from_micros((number * 1e4).round() as u64 * 100).show(),
            Unit::Share => Ratio(number).show(),
            Unit::Count => (number as u64).show(),
            Unit::Bps => Bitrate(number as u64).show(),
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mark = if self.passed { "ok" } else { "FAILED" };
        write!(
            f,
            "{mark}: {}: measured {}, limit {}",
            self.expectation, self.measured, self.limit
        )
    }
}

/// Judges every expectation on `run`, in order.
pub fn judge(expectations: &[Expectation], run: &Run) -> Vec<Verdict> {
    let media = MediaIndex::new(&run.trace);
    expectations
        .iter()
        .map(|expectation| expectation.judge(run, &media))
        .collect()
}

impl Expectation {
    /// Whether it held on `run` (whose media events `media` indexes), with what was measured.
    pub fn judge(&self, run: &Run, media: &MediaIndex) -> Verdict {
        match self {
            Expectation::ConnectTime(bounds) => match run.metrics.connect_time {
                Some(connect) => bounds.verdict("connect_time".to_owned(), connect),
                None => bounds.failed(
                    "connect_time".to_owned(),
                    &format!("never connected: {}", metrics::why_not_connected(&run.trace)),
                ),
            },
            Expectation::Stream {
                stream,
                window,
                metric,
            } => {
                let measured = media.metrics(stream, *window);
                metric.judge(
                    format!(
                        "{} {stream} [{}, {})",
                        metric.name(),
                        window.from.show(),
                        window.to.show()
                    ),
                    &measured,
                )
            }
            Expectation::FinalState { peer, state, at } => {
                let last = run
                    .trace
                    .iter()
                    .take_while(|event| event.at <= *at)
                    .filter_map(|event| match &event.what {
                        What::PeerConnectionState { peer: p, state } if p == peer => Some(state.as_str()),
                        _ => None,
                    })
                    .last()
                    .unwrap_or("none");
                Verdict {
                    share: None,
                    expectation: format!("final_state of {peer} at {}", at.show()),
                    passed: last == state,
                    measured: last.to_owned(),
                    limit: state.clone(),
                    value: None,
                }
            }
            Expectation::ReconnectTime {
                action,
                at,
                stream,
                bounds,
            } => {
                let expectation = format!("reconnect_time {stream} after {action} at {}", at.show());
                let reconnect = run
                    .metrics
                    .reconnects
                    .iter()
                    .find(|reconnect| reconnect.action == *action && reconnect.at == *at);
                match reconnect.map(|reconnect| reconnect.reconnect_time.get(stream)) {
                    Some(Some(Some(time))) => bounds.verdict(expectation, *time),
                    Some(Some(None)) => bounds.failed(expectation, "nothing sent after it arrived"),
                    Some(None) => bounds.failed(expectation, "the stream sent nothing"),
                    None => bounds.failed(expectation, "the run had no such event"),
                }
            }
            Expectation::RestartTime { nth, bounds } => restart_time(&run.metrics.restarts, *nth, bounds),
            Expectation::Restarts(bounds) => {
                bounds.verdict("restarts".to_owned(), run.metrics.restarts.len() as u64)
            }
            Expectation::TargetBitrate { peer, window, bounds } => target_bitrate(run, peer, *window, bounds),
            Expectation::QueueDelay {
                peer,
                direction,
                percentile,
                window,
                bounds,
            } => queue_delay(run, peer, *direction, *percentile, *window, bounds),
            Expectation::Throughput { flow, window, bounds } => throughput(run, flow, *window, bounds),
            Expectation::Utilization {
                peer,
                direction,
                window,
                bounds,
            } => utilization(run, peer, *direction, *window, bounds),
            Expectation::RampTime {
                peer,
                ramp,
                action,
                at,
                capacity,
                of_capacity,
                bounds,
            } => {
                let goal = Bitrate((capacity.0 as f64 * of_capacity.0).round() as u64);
                let expectation = format!(
                    "{} of {peer} after {action} at {} to {} {} ({} of {})",
                    ramp.name(),
                    at.show(),
                    ramp.relation(),
                    goal.show(),
                    of_capacity.show(),
                    capacity.show()
                );
                ramp_time(run, peer, *ramp, *at, goal, expectation, bounds)
            }
        }
    }
}

impl Ramp {
    fn name(self) -> &'static str {
        match self {
            Ramp::Down => "rampdown_time",
            Ramp::Up => "rampup_time",
        }
    }

    fn relation(self) -> &'static str {
        match self {
            Ramp::Down => "≤",
            Ramp::Up => "≥",
        }
    }

    fn reached(self, target: Bitrate, goal: Bitrate) -> bool {
        match self {
            Ramp::Down => target <= goal,
            Ramp::Up => target >= goal,
        }
    }
}

/// The targets `peer`'s congestion control set, as `(when, bitrate)` in time order.
fn targets<'a>(run: &'a Run, peer: &'a str) -> impl Iterator<Item = (Duration, Bitrate)> + 'a {
    run.trace.iter().filter_map(move |event| match &event.what {
        What::TargetBitrate { peer: p, bps } if p == peer => Some((event.at, Bitrate(*bps))),
        _ => None,
    })
}

/// Judges the time from `at` until the target `peer` held first reached `goal` (0 if the
/// one in effect at `at` already had).
fn ramp_time(
    run: &Run,
    peer: &str,
    ramp: Ramp,
    at: Duration,
    goal: Bitrate,
    expectation: String,
    bounds: &Bounds<Duration>,
) -> Verdict {
    let in_effect = targets(run, peer).take_while(|(set, _)| *set <= at).last();
    let Some((_, before)) = in_effect else {
        return bounds.failed(
            expectation,
            "no target when it happened: its congestion control had not started",
        );
    };
    let later = targets(run, peer).filter(|(set, _)| *set > at);
    let held = std::iter::once((at, before)).chain(later);
    let mut closest = before;
    for (set, target) in held {
        if ramp.reached(target, goal) {
            let mut verdict = bounds.verdict(expectation, set - at);
            verdict.measured += &format!(" ({} then, {} before)", target.show(), before.show());
            return verdict;
        }
        closest = match ramp {
            Ramp::Down => closest.min(target),
            Ramp::Up => closest.max(target),
        };
    }
    let measured = format!(
        "never reached it (from {}, {} at best)",
        before.show(),
        closest.show()
    );
    bounds.failed(expectation, &measured)
}

/// Judges the share of its capacity `peer`'s access link in `direction` carried.
fn utilization(
    run: &Run,
    peer: &str,
    direction: Direction,
    window: Window,
    bounds: &Bounds<Ratio>,
) -> Verdict {
    let expectation = format!(
        "utilization of {peer}'s {} [{}, {})",
        direction_name(direction),
        window.from.show(),
        window.to.show()
    );
    let Some(usage) = run.link_usage(peer, direction, window.from, window.to) else {
        return bounds.failed(expectation, "no 100 ms bin starts in the window");
    };
    let carried = Bitrate(usage.rate_bps(usage.carried_bits));
    let Some(capacity_bits) = usage.capacity_bits else {
        let measured = format!("{} carried, no rate limit to share", carried.show());
        return bounds.failed(expectation, &measured);
    };
    let Some(share) = usage.share() else {
        let measured = format!("{} carried, no capacity: the link was down", carried.show());
        return bounds.failed(expectation, &measured);
    };
    let mut verdict = bounds.verdict(expectation, Ratio(share));
    let capacity = Bitrate(usage.rate_bps(capacity_bits));
    verdict.measured += &format!(" ({} of {})", carried.show(), capacity.show());
    verdict
}

/// How a verdict names a peer's access link in `direction`.
fn direction_name(direction: Direction) -> &'static str {
    match direction {
        Direction::Up => "uplink",
        Direction::Down => "downlink",
        Direction::Both => "links",
    }
}

/// Judges the targets `peer` held in `window`: the highest against `max`, the lowest
/// against `min` (the one that broke its limit, if one did).
fn target_bitrate(run: &Run, peer: &str, window: Window, bounds: &Bounds<Bitrate>) -> Verdict {
    let expectation = format!(
        "target_bitrate of {peer} [{}, {})",
        window.from.show(),
        window.to.show()
    );
    let in_effect = targets(run, peer).take_while(|(at, _)| *at <= window.from).last();
    let set = targets(run, peer).filter(|(at, _)| window.from < *at && *at < window.to);
    let held: Vec<Bitrate> = in_effect.into_iter().chain(set).map(|(_, bps)| bps).collect();
    let (Some(lowest), Some(highest)) = (held.iter().min(), held.iter().max()) else {
        return bounds.failed(expectation, "no target: its congestion control never started");
    };
    let judged = match (bounds.min, bounds.max) {
        (_, Some(max)) if *highest > max => highest,
        (Some(min), _) if *lowest < min => lowest,
        (_, Some(_)) => highest,
        _ => lowest,
    };
    let mut verdict = bounds.verdict(expectation, *judged);
    verdict.measured += &format!(
        " (lowest {}, highest {}, {} targets)",
        lowest.show(),
        highest.show(),
        held.len()
    );
    verdict
}

/// Judges what `flow` delivered within `window`, in bits per second.
fn throughput(run: &Run, flow: &str, window: Window, bounds: &Bounds<Bitrate>) -> Verdict {
    let expectation = format!(
        "throughput of {flow} [{}, {})",
        window.from.show(),
        window.to.show()
    );
    match cross_traffic(&run.trace, window).get(flow) {
        None => bounds.failed(expectation, "the flow moved nothing in the window"),
        Some(metrics) => {
            let mut verdict = bounds.verdict(expectation, Bitrate(metrics.throughput_bps));
            let sent = metrics.sent_bytes as f64 * 8.0 / (window.to - window.from).as_secs_f64();
            verdict.measured += &format!(" ({} sent)", Bitrate(sent.round() as u64).show());
            verdict
        }
    }
}

/// Judges `percentile` of the queueing delay on `peer`'s access link in `direction`.
fn queue_delay(
    run: &Run,
    peer: &str,
    direction: Direction,
    percentile: Percentile,
    window: Window,
    bounds: &Bounds<Duration>,
) -> Verdict {
    let expectation = format!(
        "queue_delay of {peer}'s {} [{}, {}) {}",
        direction_name(direction),
        window.from.show(),
        window.to.show(),
        percentile.name()
    );
    let Some(delay) = run.queue_delay(peer, direction, window.from, window.to) else {
        return bounds.failed(expectation, "no datagram entered the link in the window");
    };
    let value = match percentile {
        Percentile::P50 => delay.p50,
        Percentile::P95 => delay.p95,
        Percentile::Max => delay.max,
    };
    let mut verdict = bounds.verdict(expectation, value);
    verdict.measured += &format!(" ({} datagrams)", delay.datagrams);
    verdict
}

/// Judges the time the chosen restarts took: the first one that broke the limits (never
/// completing breaks them), else the slowest.
fn restart_time(restarts: &[Restart], nth: Option<usize>, bounds: &Bounds<Duration>) -> Verdict {
    let chosen = restarts
        .iter()
        .enumerate()
        .filter(|(index, _)| nth.is_none_or(|nth| index + 1 == nth));
    let expectation = match nth {
        Some(nth) => format!("restart_time of restart #{nth}"),
        None => "restart_time of every restart".to_owned(),
    };
    let describe = |index: usize, restart: &Restart| {
        format!(
            "restart #{} of {}: {} by {} at {}",
            index + 1,
            restarts.len(),
            restart.reason,
            restart.peer,
            restart.at.show()
        )
    };
    let judged = |index: usize, restart: &Restart, time: Duration| {
        let mut verdict = bounds.verdict(expectation.clone(), time);
        verdict.measured += &format!(" ({})", describe(index, restart));
        verdict
    };
    let mut slowest: Option<(usize, &Restart, Duration)> = None;
    for (index, restart) in chosen {
        let Some(time) = restart.restart_time else {
            let measured = format!("never completed ({})", describe(index, restart));
            return bounds.failed(expectation, &measured);
        };
        if !bounds.holds(time) {
            return judged(index, restart, time);
        }
        if slowest.is_none_or(|(.., slowest)| time > slowest) {
            slowest = Some((index, restart, time));
        }
    }
    match slowest {
        Some((index, restart, time)) => judged(index, restart, time),
        None => bounds.failed(expectation, &format!("the call had {} restarts", restarts.len())),
    }
}

impl StreamMetric {
    /// Its name in scenario files.
    fn name(&self) -> &'static str {
        match self {
            StreamMetric::Delivered(_) => "delivered",
            StreamMetric::MediaGap(_) => "media_gap",
            StreamMetric::OneWayDelay(..) => "one_way_delay",
            StreamMetric::Freezes(_) => "freezes",
            StreamMetric::DataChannel => "data_channel",
            StreamMetric::Bitrate(_) => "bitrate",
        }
    }

    fn judge(&self, expectation: String, m: &StreamMetrics) -> Verdict {
        // A window without packets has no gaps, freezes or losses to hold to a limit: it
        // fails (a call that never connected would pass `media_gap ≤ 100ms` otherwise).
        let nothing_sent = "nothing was sent in the window";
        match self {
            StreamMetric::Delivered(bounds) if m.sent == 0 => bounds.failed(expectation, nothing_sent),
            StreamMetric::MediaGap(bounds) if m.sent == 0 => bounds.failed(expectation, nothing_sent),
            StreamMetric::OneWayDelay(_, bounds) if m.sent == 0 => bounds.failed(expectation, nothing_sent),
            StreamMetric::Freezes(bounds) if m.sent == 0 => bounds.failed(expectation, nothing_sent),
            StreamMetric::Bitrate(bounds) if m.sent == 0 => bounds.failed(expectation, nothing_sent),
            StreamMetric::Bitrate(bounds) => {
                let mut verdict = bounds.verdict(expectation, Bitrate(m.bitrate.received_bps));
                verdict.measured += &format!(" received ({} sent)", Bitrate(m.bitrate.sent_bps).show());
                verdict
            }
            StreamMetric::Delivered(bounds) => {
                let mut verdict = bounds.verdict(expectation, Ratio(m.delivered));
                verdict.measured += &format!(" ({} of {} sent)", m.received, m.sent);
                verdict
            }
            StreamMetric::MediaGap(bounds) => bounds.verdict(expectation, m.media_gap),
            StreamMetric::OneWayDelay(percentile, bounds) => match m.one_way_delay {
                Some(delay) => {
                    let value = match percentile {
                        Percentile::P50 => delay.p50,
                        Percentile::P95 => delay.p95,
                        Percentile::Max => delay.max,
                    };
                    bounds.verdict(format!("{expectation} {}", percentile.name()), value)
                }
                None => bounds.failed(expectation, "nothing arrived"),
            },
            StreamMetric::Freezes(bounds) => bounds.verdict(expectation, m.freezes),
            StreamMetric::DataChannel => Verdict {
                share: None,
                expectation,
                passed: m.lost == 0 && m.duplicates == 0 && m.out_of_order == 0 && m.received > 0,
                measured: format!(
                    "{} lost, {} duplicated, {} out of order, {} of {} arrived{}",
                    m.lost,
                    m.duplicates,
                    m.out_of_order,
                    m.received,
                    m.sent,
                    match m.sent - m.received - m.lost {
                        0 => String::new(),
                        late => format!(", {late} sent too late to arrive before the end"),
                    }
                ),
                limit: "none lost, duplicated or out of order; some arrived".to_owned(),
                value: None,
            },
        }
    }
}

impl<T: PartialOrd> Bounds<T> {
    /// Limits that something can pass: at least one given, `min` not above `max`.
    pub fn new(min: Option<T>, max: Option<T>) -> Result<Self, &'static str> {
        match (&min, &max) {
            (None, None) => Err("give a limit: `min`, `max` or both"),
            (Some(min), Some(max)) if min > max => Err("`min` is above `max`: nothing can pass"),
            _ => Ok(Bounds { min, max }),
        }
    }
}

impl<T: PartialOrd + Copy + Show + Number> Bounds<T> {
    fn holds(&self, value: T) -> bool {
        self.min.is_none_or(|min| value >= min) && self.max.is_none_or(|max| value <= max)
    }

    fn verdict(&self, expectation: String, value: T) -> Verdict {
        Verdict {
            share: None,
            expectation,
            passed: self.holds(value),
            measured: value.show(),
            limit: self.to_string(),
            value: Some(Measured {
                unit: T::UNIT,
                measured: value.number(),
                min: self.min.map(|min| min.number()),
                max: self.max.map(|max| max.number()),
            }),
        }
    }

    /// Nothing to hold to the limits: `why`.
    fn failed(&self, expectation: String, why: &str) -> Verdict {
        Verdict {
            share: None,
            expectation,
            passed: false,
            measured: why.to_owned(),
            limit: self.to_string(),
            value: None,
        }
    }
}

impl<T: Show> fmt::Display for Bounds<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.min, &self.max) {
            (Some(min), Some(max)) => write!(f, "{} to {}", min.show(), max.show()),
            (Some(min), None) => write!(f, "≥ {}", min.show()),
            (None, Some(max)) => write!(f, "≤ {}", max.show()),
            (None, None) => f.write_str("any"),
        }
    }
}

/// How a measured value or a limit reads in a verdict.
pub trait Show {
    fn show(&self) -> String;
}

/// A measured value as a plain number, for [`Measured`].
pub trait Number {
    const UNIT: Unit;
    fn number(&self) -> f64;
}

impl Number for Duration {
    const UNIT: Unit = Unit::Seconds;
    fn number(&self) -> f64 {
        self.as_secs_f64()
    }
}

impl Number for u64 {
    const UNIT: Unit = Unit::Count;
    fn number(&self) -> f64 {
        *self as f64
    }
}

impl Number for Bitrate {
    const UNIT: Unit = Unit::Bps;
    fn number(&self) -> f64 {
        self.0 as f64
    }
}

impl Number for Ratio {
    const UNIT: Unit = Unit::Share;
    fn number(&self) -> f64 {
        self.0
    }
}

impl Show for Duration {
    /// As scenario files write it: `0s`, `480ms`, `1.5s`, `12.345678ms`.
    fn show(&self) -> String {
        if self.is_zero() {
            "0s".to_owned()
        } else {
            format!("{self:?}")
        }
    }
}

impl Show for u64 {
    fn show(&self) -> String {
        self.to_string()
    }
}

impl Show for Bitrate {
    /// As scenario files write it, to three significant figures or better: `950bps`,
    /// `312.5kbps`, `1.25Mbps`.
    fn show(&self) -> String {
        let (value, unit) = match self.0 {
            0..1_000 => return format!("{}bps", self.0),
            1_000..1_000_000 => (self.0 as f64 / 1e3, "kbps"),
            _ => (self.0 as f64 / 1e6, "Mbps"),
        };
        let digits = format!("{value:.3}");
        format!("{}{unit}", digits.trim_end_matches('0').trim_end_matches('.'))
    }
}

impl Show for Ratio {
    /// As a percentage with up to two decimals: `98%`, `97.33%`.
    fn show(&self) -> String {
        let percent = format!("{:.2}", self.0 * 100.0);
        format!("{}%", percent.trim_end_matches('0').trim_end_matches('.'))
    }
}

//! One direction of a network link, as a pure function of its inputs.
//!
//! The simulator hands every packet to [`Link::transmit`] together with the
//! virtual time it entered the link; the link answers when (and whether) the
//! packet reaches the far end. Nothing here reads a clock or spawns a task, so
//! the same seed and the same inputs always give the same answers.
//!
//! Each packet passes the stages in this order, the first one that objects
//! decides its fate:
//!
//! 1. link down → [`DropReason::LinkDown`]
//! 2. larger than the MTU → [`DropReason::Mtu`]
//! 3. random or bursty loss → [`DropReason::Loss`]
//! 4. the bottleneck queue is full → [`DropReason::QueueFull`]
//! 5. otherwise it is serialized at the bottleneck rate (or waits for the
//!    delivery opportunities of a trace, see below), then delayed by the
//!    propagation delay plus jitter, and possibly duplicated.
//!
//! # Trace-driven bottleneck
//!
//! With [`LinkConfig::trace`] set, a Mahimahi packet-delivery trace replaces
//! `rate_bps` as the bottleneck (see [`super::mahimahi`] for the format). The
//! queue is the same FIFO with the same drop-tail [`QueueLimit`]; packets leave
//! it at the trace's opportunities by mahimahi's byte accounting: every
//! opportunity grants 1500 bytes to the packet at the head of the queue, what
//! that packet does not need goes to the next one, a packet leaves with the
//! opportunity that completes it, and bytes no queued packet can take are lost.
//! A packet only gets bytes from opportunities strictly after it entered the
//! link (as in mahimahi, where the opportunities of the millisecond a packet
//! arrives in have already gone by), so even an idle `1` trace takes up to 1 ms
//! per packet, like serialization does.
//!
//! The trace's time zero is when it was applied: [`Link::set_config_at`] (or
//! [`Link::new_at`]) gives that moment; [`Link::new`] and [`Link::set_config`],
//! which are not told the time, start the trace at the first packet that enters
//! the link after it was applied. Applying a config whose trace is equal to the
//! current one (an outage toggling `up`, a delay change) keeps the trace running
//! where it is; applying a different trace (or removing it) starts over.

use std::collections::VecDeque;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::link_usage::{Capacity, LinkUsage};
use super::mahimahi::{DeliveryTrace, OPPORTUNITY_BYTES};
use super::queue_delay::QueueDelays;

/// Settings of one link direction; every field changeable while a call runs.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LinkConfig {
    /// Propagation delay added to every packet after it leaves the bottleneck.
    pub delay: Duration,
    /// Extra random delay, uniform in `[0, jitter]`.
    pub jitter: Duration,
    /// Whether jitter may let a later packet overtake an earlier one. When
    /// false a packet never arrives before one sent earlier on this link,
    /// which is how most real paths (a single queue) behave.
    pub reorder: bool,
    /// Packet loss model, applied before the bottleneck queue.
    pub loss: Loss,
    /// Bottleneck rate in bits per second; `None` = infinite. `Some(0)`
    /// carries nothing: every packet that reaches the queue is dropped as
    /// [`DropReason::QueueFull`]. Ignored while `trace` is set.
    pub rate_bps: Option<u64>,
    /// A recorded link (Mahimahi packet-delivery trace) as the bottleneck
    /// instead of `rate_bps`; `None` = use `rate_bps`. See the module docs for
    /// how packets are paced and when the trace starts.
    pub trace: Option<DeliveryTrace>,
    /// Drop-tail limit of the bottleneck queue.
    pub queue: QueueLimit,
    /// Probability `0..=1` that a packet is delivered twice.
    pub duplicate: f64,
    /// Packets larger than this many bytes on the wire (the whole IP datagram, headers
    /// included: see [`super::Datagram::wire_size`]) are dropped.
    pub mtu: usize,
    /// False = link down (outage): everything is dropped.
    pub up: bool,
}

impl Default for LinkConfig {
    /// A perfect link with a real-world MTU: no delay, no loss, no rate limit.
    /// The MTU stays 1500 even though large DTLS flights may exceed it; the
    /// caller decides whether to raise it.
    fn default() -> Self {
        Self {
            delay: Duration::ZERO,
            jitter: Duration::ZERO,
            reorder: false,
            loss: Loss::None,
            rate_bps: None,
            trace: None,
            queue: QueueLimit::Packets(1000),
            duplicate: 0.0,
            mtu: 1500,
            up: true,
        }
    }
}

/// How the link loses packets independently of congestion.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub enum Loss {
    /// No random loss.
    None,
    /// Each packet is lost independently with this probability.
    Random(f64),
    /// Simple Gilbert model (two-state Gilbert–Elliott): the Good state loses
    /// nothing, the Bad state loses everything, so losses come in bursts.
    Bursty {
        /// Long-run share of packets lost, `0..=1`.
        loss: f64,
        /// Mean number of consecutive packets lost in one burst (≥ 1).
        mean_burst: f64,
    },
}

/// Drop-tail limit of the bottleneck queue. The packet currently being
/// serialized counts as queued, so `Packets(1)` means "no waiting room".
/// With a trace as the bottleneck, a packet counts as queued until the
/// opportunity that completes it. `Packets(0)` and `Bytes(0)` hold nothing and drop every
/// packet, as a rate of 0 carries nothing; scenario files refuse them as the mistake they
/// usually are.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub enum QueueLimit {
    /// Queued bytes plus the new packet may not exceed this.
    Bytes(usize),
    /// At most this many packets in the queue.
    Packets(usize),
    /// A packet may wait at most this long before its serialization starts,
    /// i.e. until the packets ahead of it have left. With a trace this is the
    /// actual backlog time under the trace (when the last queued packet leaves
    /// at the trace's coming opportunities), not an estimate from its mean rate.
    Time(Duration),
}

/// Why a link dropped a packet; goes into the simulation trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum DropReason {
    LinkDown,
    Mtu,
    Loss,
    QueueFull,
}

/// What the link decided for one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Absolute arrival time at the far end, since simulation start.
    Deliver(Duration),
    Drop(DropReason),
}

/// The verdicts on one packet: one, or two for a duplicated one. Held inline, as a slice
/// of up to two: a link judges every packet of a run, and a `Vec` would allocate each time.
#[derive(Clone, Copy)]
pub struct Verdicts {
    verdicts: [Verdict; 2],
    len: usize,
}

impl Verdicts {
    fn one(verdict: Verdict) -> Self {
        Verdicts {
            verdicts: [verdict; 2],
            len: 1,
        }
    }

    fn two(first: Verdict, second: Verdict) -> Self {
        Verdicts {
            verdicts: [first, second],
            len: 2,
        }
    }

    /// Whether the link dropped the packet.
    pub fn drops(&self) -> bool {
        self.iter().any(|verdict| matches!(verdict, Verdict::Drop(_)))
    }
}

impl std::ops::Deref for Verdicts {
    type Target = [Verdict];

    fn deref(&self) -> &[Verdict] {
        &self.verdicts[..self.len]
    }
}

impl IntoIterator for Verdicts {
    type Item = Verdict;
    type IntoIter = std::iter::Take<std::array::IntoIter<Verdict, 2>>;

    fn into_iter(self) -> Self::IntoIter {
        self.verdicts.into_iter().take(self.len)
    }
}

impl std::fmt::Debug for Verdicts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<const N: usize> PartialEq<[Verdict; N]> for Verdicts {
    fn eq(&self, other: &[Verdict; N]) -> bool {
        **self == *other
    }
}

/// One direction of a link with its state: queue, loss state and RNGs.
#[derive(Debug)]
pub struct Link {
    config: LinkConfig,
    /// Separate random streams per purpose, so that e.g. turning on jitter
    /// does not change which packets get lost.
    loss_rng: ChaCha8Rng,
    jitter_rng: ChaCha8Rng,
    duplicate_rng: ChaCha8Rng,
    /// Gilbert–Elliott state: true while in the Bad (losing) state.
    in_loss_burst: bool,
    /// Accepted packets not yet fully serialized: (finish time, size).
    queue: VecDeque<(Duration, usize)>,
    queued_bytes: usize,
    /// When the bottleneck finishes sending the last accepted packet.
    busy_until: Duration,
    /// When the current trace started (its time zero); `None` until the first
    /// packet if it was applied without a time.
    trace_origin: Option<Duration>,
    /// The trace opportunity the last accepted packet left in (its number,
    /// counted from the trace start) and the bytes still free in it; `None`
    /// when the last packet did not leave by the current trace.
    trace_slot: Option<(u64, usize)>,
    /// Latest arrival time handed out; keeps order when `reorder` is false.
    last_arrival: Duration,
    /// Previous `now`, to catch callers that go back in time.
    last_now: Duration,
    /// How long the accepted packets waited, and what it carried and could carry.
    record: LinkRecord,
}

/// What a link keeps of what passed through it, for the checks after the run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LinkRecord {
    /// How long the accepted packets waited in the queue, by when they entered.
    pub queue_delays: QueueDelays,
    pub usage: LinkUsage,
}

impl Link {
    /// A link in its initial state; all randomness derives from `seed`. A trace
    /// in `config` starts with the first packet; see [`Link::new_at`].
    pub fn new(config: LinkConfig, seed: u64) -> Self {
        let stream = |n| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(n);
            rng
        };
        let mut link = Self {
            config,
            loss_rng: stream(0),
            jitter_rng: stream(1),
            duplicate_rng: stream(2),
            in_loss_burst: false,
            queue: VecDeque::new(),
            queued_bytes: 0,
            busy_until: Duration::ZERO,
            trace_origin: None,
            trace_slot: None,
            last_arrival: Duration::ZERO,
            last_now: Duration::ZERO,
            record: LinkRecord::default(),
        };
        link.note_capacity(Duration::ZERO);
        link
    }

    /// Like [`Link::new`], created at `now`: a trace in `config` starts at `now`, and the
    /// link had no capacity before.
    pub fn new_at(now: Duration, config: LinkConfig, seed: u64) -> Self {
        let mut link = Link::new(config, seed);
        if link.config.trace.is_some() {
            link.trace_origin = Some(now);
        }
        link.record.usage = LinkUsage::default();
        link.record.usage.capacity_from(Duration::ZERO, Capacity::Rate(0));
        link.note_capacity(now);
        link
    }

    /// The link is gone from `now` on (its interface was taken away): it carries nothing.
    pub fn retire(&mut self, now: Duration) {
        self.record.usage.capacity_from(now, Capacity::Rate(0));
    }

    pub fn config(&self) -> &LinkConfig {
        &self.config
    }

    /// What it kept of the packets it accepted.
    pub fn record(&self) -> &LinkRecord {
        &self.record
    }

    /// Applies from the next packet on; packets already accepted keep their
    /// times, and the bottleneck still has to drain its backlog. A new trace
    /// starts with the next packet; prefer [`Link::set_config_at`] when the
    /// time is known.
    pub fn set_config(&mut self, config: LinkConfig) {
        self.apply_config(None, config);
    }

    /// [`Link::set_config`] at virtual time `now`: a new trace starts at `now`.
    /// A trace equal to the current one keeps running from where it is.
    pub fn set_config_at(&mut self, now: Duration, config: LinkConfig) {
        self.apply_config(Some(now), config);
    }

    fn apply_config(&mut self, now: Option<Duration>, config: LinkConfig) {
        // Cheap: equal traces usually share their timestamps (`Arc::ptr_eq`).
        if config.trace != self.config.trace {
            self.trace_origin = config.trace.as_ref().and(now);
            self.trace_slot = None;
        }
        self.config = config;
        // Not told the time: from the last packet's, the latest it knows.
        self.note_capacity(now.unwrap_or(self.last_now));
    }

    /// Records what the link can carry from `now` on, as its config says. A trace whose
    /// time zero is not known yet is recorded when its first packet sets it.
    fn note_capacity(&mut self, now: Duration) {
        let capacity = match (&self.config.trace, self.trace_origin) {
            _ if !self.config.up => Capacity::Rate(0),
            (Some(_), None) => return,
            (Some(trace), Some(origin)) => Capacity::Trace {
                origin,
                trace: trace.clone(),
            },
            (None, _) => self.config.rate_bps.map_or(Capacity::Unlimited, Capacity::Rate),
        };
        self.record.usage.capacity_from(now, capacity);
    }

    /// A packet of `size` bytes enters the link at `now` (calls come with
    /// non-decreasing `now`). Returns one verdict per copy: normally one, two
    /// when duplicated (the duplicate arrives no earlier than the original).
    pub fn transmit(&mut self, now: Duration, size: usize) -> Verdicts {
        debug_assert!(now >= self.last_now, "link time went backwards");
        self.last_now = now;

        let drop = |reason| Verdicts::one(Verdict::Drop(reason));
        if !self.config.up {
            return drop(DropReason::LinkDown);
        }
        if size > self.config.mtu {
            return drop(DropReason::Mtu);
        }
        if self.lose_packet() {
            return drop(DropReason::Loss);
        }
        let Some(departure) = self.enqueue(now, size) else {
            return drop(DropReason::QueueFull);
        };

        let arrival = self.arrival_after(departure, Duration::ZERO);
        // Always draw, so the duplicate stream stays aligned with packets.
        if self.duplicate_rng.random::<f64>() < self.config.duplicate {
            let copy = self.arrival_after(departure, arrival);
            return Verdicts::two(Verdict::Deliver(arrival), Verdict::Deliver(copy));
        }
        Verdicts::one(Verdict::Deliver(arrival))
    }

    /// Steps the loss model by one packet and says whether this one is lost.
    fn lose_packet(&mut self) -> bool {
        match self.config.loss {
            Loss::None => false,
            Loss::Random(p) => self.loss_rng.random::<f64>() < p,
            Loss::Bursty { loss, mean_burst } => {
                let (p_good_to_bad, p_bad_to_good) = gilbert_transitions(loss, mean_burst);
                let p_switch = if self.in_loss_burst {
                    p_bad_to_good
                } else {
                    p_good_to_bad
                };
                if self.loss_rng.random::<f64>() < p_switch {
                    self.in_loss_burst = !self.in_loss_burst;
                }
                self.in_loss_burst
            }
        }
    }

    /// Puts the packet into the FIFO bottleneck and returns when it has been
    /// fully sent, or `None` if the drop-tail limit refuses it.
    fn enqueue(&mut self, now: Duration, size: usize) -> Option<Duration> {
        while let Some(&(finish, bytes)) = self.queue.front() {
            if finish > now {
                break;
            }
            self.queue.pop_front();
            self.queued_bytes -= bytes;
        }

        let full = match self.config.queue {
            QueueLimit::Bytes(limit) => self.queued_bytes + size > limit,
            QueueLimit::Packets(limit) => self.queue.len() >= limit,
            QueueLimit::Time(limit) => self.busy_until.saturating_sub(now) > limit,
        };
        if full || (self.config.trace.is_none() && self.config.rate_bps == Some(0)) {
            return None;
        }

        // Until the packets ahead have left: what a time limit bounds.
        self.record
            .queue_delays
            .record(now, self.busy_until.saturating_sub(now));
        let departure = if self.config.trace.is_some() {
            self.trace_departure(now, size)
        } else {
            // Even with an infinite rate the backlog left by an earlier, slower
            // rate has to drain first: the queue is FIFO.
            let serialization = self
                .config
                .rate_bps
                .map_or(Duration::ZERO, |rate| serialization_time(size, rate));
            let start = now.max(self.busy_until);
            self.record.usage.carried(start, start + serialization, size);
            start + serialization
        };
        self.busy_until = departure;
        self.queue.push_back((departure, size));
        self.queued_bytes += size;
        Some(departure)
    }

    /// When a packet of `size` bytes entering at `now` leaves a trace-driven
    /// bottleneck, by mahimahi's byte accounting (see the module docs). Every
    /// packet ahead of it has been given its departure already (FIFO), so the
    /// answer depends only on the last one: the packet takes what is left of
    /// the opportunity that one left in, if that comes after `now`, then whole
    /// opportunities after both `now` and the queue ahead. Each opportunity's bytes count
    /// as carried when it happens.
    fn trace_departure(&mut self, now: Duration, size: usize) -> Duration {
        let origin = match self.trace_origin {
            Some(origin) => origin,
            None => {
                self.trace_origin = Some(now);
                self.note_capacity(now);
                now
            }
        };
        let trace = self.config.trace.as_ref().expect("trace mode");
        let (mut index, mut left) = match self.trace_slot {
            Some((index, left)) if self.busy_until > now => (index, left),
            _ => {
                // Strictly after: opportunities fall on whole milliseconds of
                // the trace, and a nanosecond later excludes exactly `t` itself.
                let after = now.max(self.busy_until).saturating_sub(origin) + Duration::from_nanos(1);
                (trace.first_at_or_after(after), OPPORTUNITY_BYTES)
            }
        };
        let mut need = size;
        loop {
            if left > 0 {
                let granted = need.min(left);
                let at = origin + trace.opportunity_time(index);
                self.record.usage.carried(at, at, granted);
                need -= granted;
                left -= granted;
                if need == 0 {
                    break;
                }
            }
            index = index.saturating_add(1);
            left = OPPORTUNITY_BYTES;
        }
        self.trace_slot = Some((index, left));
        origin + trace.opportunity_time(index)
    }

    /// Arrival time of a copy that left the bottleneck at `departure`, no
    /// earlier than `not_before` (and than any earlier packet unless
    /// `reorder` is on).
    fn arrival_after(&mut self, departure: Duration, not_before: Duration) -> Duration {
        let mut arrival = departure + self.config.delay + self.jitter_sample();
        arrival = arrival.max(not_before);
        if !self.config.reorder {
            arrival = arrival.max(self.last_arrival);
        }
        // Track the maximum even while reordering, so switching `reorder`
        // off later still keeps every new packet behind all earlier ones.
        self.last_arrival = self.last_arrival.max(arrival);
        arrival
    }

    fn jitter_sample(&mut self) -> Duration {
        if self.config.jitter.is_zero() {
            return Duration::ZERO;
        }
        let max_nanos = u64::try_from(self.config.jitter.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(self.jitter_rng.random_range(0..=max_nanos))
    }
}

/// Transition probabilities `(good→bad, bad→good)` of the simple Gilbert
/// model for a long-run loss share and a mean burst length. Bursts are
/// geometric, so `bad→good = 1 / mean_burst`; the stationary Bad share
/// `g→b / (g→b + b→g)` equals `loss` when `g→b = loss·b→g / (1 − loss)`.
/// If that exceeds 1 (loss too high for such short bursts) it is capped,
/// and the actual loss share ends up below `loss`.
fn gilbert_transitions(loss: f64, mean_burst: f64) -> (f64, f64) {
    if loss.is_nan() || loss <= 0.0 {
        return (0.0, 1.0);
    }
    if loss >= 1.0 {
        return (1.0, 0.0);
    }
    let bad_to_good = 1.0 / mean_burst.max(1.0);
    let good_to_bad = (loss * bad_to_good / (1.0 - loss)).min(1.0);
    (good_to_bad, bad_to_good)
}

/// Time to push `size` bytes through a `rate_bps` bottleneck, rounded up to
/// whole nanoseconds so the link never runs faster than its rate.
fn serialization_time(size: usize, rate_bps: u64) -> Duration {
    let bits = size as u128 * 8;
    let nanos = (bits * 1_000_000_000).div_ceil(u128::from(rate_bps));
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn delivered(verdicts: &[Verdict]) -> Vec<Duration> {
        verdicts
            .iter()
            .filter_map(|v| match v {
                Verdict::Deliver(t) => Some(*t),
                Verdict::Drop(_) => None,
            })
            .collect()
    }

    #[test]
    fn random_loss_within_binomial_interval() {
        let (n, p) = (10_000_usize, 0.05);
        let mean = n as f64 * p;
        let sd = (n as f64 * p * (1.0 - p)).sqrt();
        let (lo, hi) = (mean - 2.576 * sd, mean + 2.576 * sd);
        for seed in 1..=5 {
            let config = LinkConfig {
                loss: Loss::Random(p),
                ..LinkConfig::default()
            };
            let mut link = Link::new(config, seed);
            let lost = (0..n)
                .filter(|&i| link.transmit(MS * i as u32, 100) == [Verdict::Drop(DropReason::Loss)])
                .count();
            println!("seed {seed}: lost {lost} of {n} (99% interval {lo:.1}..{hi:.1})");
            assert!(
                (lo..=hi).contains(&(lost as f64)),
                "seed {seed}: {lost} lost, outside 99% binomial interval {lo:.1}..{hi:.1}"
            );
        }
    }

    /// Sends packets at 2 Mbit/s into a 1 Mbit/s link for 10 s and checks the
    /// drop-tail rule packet by packet against the queue reconstructed from
    /// the verdicts, plus the delivered rate. Returns the measured rate.
    fn overload(queue: QueueLimit, sizes: &[usize]) -> f64 {
        let config = LinkConfig {
            rate_bps: Some(1_000_000),
            ..LinkConfig::default()
        };
        overload_on(config, 1_000_000, 0.05, queue, sizes)
    }

    /// [`overload`] on any bottleneck (`config` with its delay and queue
    /// replaced) whose long-run rate is `rate_bps`: sends at twice that, wants
    /// the delivered rate within `tolerance` (a share) of it.
    fn overload_on(
        config: LinkConfig,
        rate_bps: u64,
        tolerance: f64,
        queue: QueueLimit,
        sizes: &[usize],
    ) -> f64 {
        let delay = 20 * MS;
        let config = LinkConfig {
            delay,
            queue,
            ..config
        };
        let mut link = Link::new(config, 7);
        // Accepted packets: (departure from the bottleneck, size).
        let mut accepted: Vec<(Duration, usize)> = Vec::new();
        let mut drops = 0;
        let mut limit_reached = false;
        let mut now = Duration::ZERO;
        let mut i = 0;
        while now < Duration::from_secs(10) {
            let size = sizes[i % sizes.len()];
            i += 1;
            // What the queue holds at `now`, seen from outside.
            let waiting: Vec<_> = accepted.iter().filter(|(dep, _)| *dep > now).collect();
            let (packets, bytes) = (waiting.len(), waiting.iter().map(|(_, s)| s).sum::<usize>());
            let wait = waiting.last().map_or(Duration::ZERO, |(dep, _)| *dep - now);
            let must_drop = match queue {
                QueueLimit::Packets(limit) => packets >= limit,
                QueueLimit::Bytes(limit) => bytes + size > limit,
                QueueLimit::Time(limit) => wait > limit,
            };
            limit_reached |= must_drop;
            match link.transmit(now, size)[..] {
                [Verdict::Deliver(arrival)] => {
                    assert!(
                        !must_drop,
                        "{queue:?}: accepted at {now:?} with {packets} pkts / {bytes} B / {wait:?} queued"
                    );
                    accepted.push((arrival - delay, size));
                }
                [Verdict::Drop(DropReason::QueueFull)] => {
                    assert!(
                        must_drop,
                        "{queue:?}: QueueFull at {now:?} with only {packets} pkts / {bytes} B / {wait:?} queued"
                    );
                    drops += 1;
                }
                ref other => panic!("{queue:?}: unexpected verdicts {other:?}"),
            }
            // 2 Mbit/s: the gap is the packet's own time at twice the rate.
            now += serialization_time(size, 2 * rate_bps);
        }
        assert!(limit_reached && drops > 0, "{queue:?}: the queue never filled");

        let first = accepted.first().unwrap().0 + delay;
        let last = accepted.last().unwrap().0 + delay;
        // Bytes that arrived after the first packet, over the arrival window.
        let bytes: usize = accepted[1..].iter().map(|(_, s)| s).sum();
        let rate = bytes as f64 * 8.0 / (last - first).as_secs_f64();
        println!(
            "{queue:?}: sent {i}, delivered {}, dropped {drops}, rate {rate:.0} bit/s",
            accepted.len()
        );
        assert!(
            (rate - rate_bps as f64).abs() <= tolerance * rate_bps as f64,
            "{queue:?}: delivered {rate:.0} bit/s, want {rate_bps} bit/s ± {} %",
            tolerance * 100.0
        );
        rate
    }

    #[test]
    fn rate_limit_under_overload_with_packet_limit() {
        overload(QueueLimit::Packets(50), &[1250]);
    }

    #[test]
    fn rate_limit_under_overload_with_byte_limit() {
        overload(QueueLimit::Bytes(20_000), &[1250, 400, 900]);
    }

    #[test]
    fn rate_limit_under_overload_with_time_limit() {
        overload(QueueLimit::Time(100 * MS), &[1250, 400, 900]);
    }

    /// Arrival times of 10 000 packets sent 1 ms apart over 50 ms ± 30 ms.
    fn jittered_arrivals(reorder: bool) -> Vec<Duration> {
        let config = LinkConfig {
            delay: 50 * MS,
            jitter: 30 * MS,
            reorder,
            ..LinkConfig::default()
        };
        let mut link = Link::new(config, 3);
        let verdicts: Vec<_> = (0..10_000).flat_map(|i| link.transmit(MS * i, 200)).collect();
        delivered(&verdicts)
    }

    fn inversions(arrivals: &[Duration]) -> usize {
        arrivals.windows(2).filter(|w| w[1] < w[0]).count()
    }

    #[test]
    fn jitter_keeps_order_unless_reorder_is_on() {
        let ordered = jittered_arrivals(false);
        let reordered = jittered_arrivals(true);
        let (kept, swapped) = (inversions(&ordered), inversions(&reordered));
        println!("inversions: reorder=false {kept}, reorder=true {swapped}");
        assert_eq!(ordered.len(), 10_000);
        assert_eq!(kept, 0, "reorder=false let {kept} packets overtake");
        assert!(swapped > 0, "reorder=true never reordered anything");
        for (i, &arrival) in reordered.iter().enumerate() {
            let sent = MS * i as u32;
            assert!(
                (sent + 50 * MS..=sent + 80 * MS).contains(&arrival),
                "packet {i} sent at {sent:?} arrived at {arrival:?}, outside delay + [0, jitter]"
            );
        }
    }

    #[test]
    fn bursty_loss_matches_share_and_burst_length() {
        let n = 200_000;
        for seed in 1..=3 {
            let config = LinkConfig {
                loss: Loss::Bursty {
                    loss: 0.05,
                    mean_burst: 4.0,
                },
                ..LinkConfig::default()
            };
            let mut link = Link::new(config, seed);
            let (mut lost, mut bursts, mut in_burst) = (0, 0, false);
            for i in 0..n {
                let is_lost = link.transmit(MS * i, 100) == [Verdict::Drop(DropReason::Loss)];
                lost += usize::from(is_lost);
                bursts += usize::from(is_lost && !in_burst);
                in_burst = is_lost;
            }
            let share = lost as f64 / n as f64;
            let mean_burst = lost as f64 / bursts as f64;
            println!("seed {seed}: loss share {share:.4}, {bursts} bursts, mean burst {mean_burst:.3}");
            assert!(
                (share - 0.05).abs() <= 0.005,
                "seed {seed}: loss share {share:.4}, want 0.05 ± 10 %"
            );
            assert!(
                (mean_burst - 4.0).abs() <= 0.4,
                "seed {seed}: mean burst {mean_burst:.3}, want 4 ± 10 %"
            );
        }
    }

    #[test]
    fn delay_only_is_exact() {
        let mut link = Link::new(
            LinkConfig {
                delay: 37 * MS,
                ..LinkConfig::default()
            },
            1,
        );
        for i in 0..100 {
            let now = Duration::from_micros(1_234 * i);
            assert_eq!(
                link.transmit(now, 1000),
                [Verdict::Deliver(now + 37 * MS)],
                "packet {i}"
            );
        }
    }

    #[test]
    fn mtu_drops_oversized_packets() {
        let mut link = Link::new(LinkConfig::default(), 1);
        assert_eq!(
            link.transmit(Duration::ZERO, 1500),
            [Verdict::Deliver(Duration::ZERO)]
        );
        assert_eq!(
            link.transmit(Duration::ZERO, 1501),
            [Verdict::Drop(DropReason::Mtu)]
        );
    }

    #[test]
    fn down_link_drops_everything_until_up_again() {
        let down = LinkConfig {
            up: false,
            loss: Loss::Random(0.5),
            ..LinkConfig::default()
        };
        let mut link = Link::new(down.clone(), 1);
        for i in 0..100 {
            assert_eq!(
                link.transmit(MS * i, 100),
                [Verdict::Drop(DropReason::LinkDown)],
                "packet {i}"
            );
        }
        link.set_config(LinkConfig { up: true, ..down });
        let now = MS * 100;
        let delivered = (0..100)
            .filter(|_| link.transmit(now, 100) == [Verdict::Deliver(now)])
            .count();
        assert!(delivered > 0, "nothing delivered after the link came back up");
        assert!(link.config().up);
    }

    #[test]
    fn duplicate_gives_two_deliveries_not_before_the_original() {
        let config = LinkConfig {
            delay: 10 * MS,
            jitter: 5 * MS,
            reorder: true,
            duplicate: 1.0,
            ..LinkConfig::default()
        };
        let mut link = Link::new(config, 9);
        for i in 0..1000 {
            match link.transmit(MS * i, 100)[..] {
                [Verdict::Deliver(original), Verdict::Deliver(copy)] => {
                    assert!(
                        copy >= original,
                        "packet {i}: duplicate at {copy:?} before original {original:?}"
                    );
                }
                ref other => panic!("packet {i}: want two deliveries, got {other:?}"),
            }
        }
    }

    /// A run that exercises every random stage.
    fn busy_run(seed: u64) -> Vec<Verdict> {
        let config = LinkConfig {
            delay: 30 * MS,
            jitter: 20 * MS,
            reorder: true,
            loss: Loss::Random(0.1),
            rate_bps: Some(4_000_000),
            queue: QueueLimit::Packets(20),
            duplicate: 0.05,
            ..LinkConfig::default()
        };
        let mut link = Link::new(config, seed);
        (0..5_000)
            .flat_map(|i| link.transmit(MS * i, 100 + (i as usize * 37) % 1200))
            .collect()
    }

    #[test]
    fn same_seed_same_verdicts_different_seed_differs() {
        let a = busy_run(42);
        let b = busy_run(42);
        let c = busy_run(43);
        assert_eq!(a, b, "same seed and inputs gave different verdicts");
        assert_ne!(a, c, "seeds 42 and 43 gave identical verdicts");
        let drops = |v: &[Verdict]| v.iter().filter(|v| matches!(v, Verdict::Drop(_))).count();
        println!(
            "verdicts: seed 42 {} ({} drops), seed 43 {} ({} drops)",
            a.len(),
            drops(&a),
            c.len(),
            drops(&c)
        );
    }

    fn trace(text: &str) -> Option<DeliveryTrace> {
        Some(DeliveryTrace::parse(text).unwrap())
    }

    fn shipped_trace(file: &str) -> Option<DeliveryTrace> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("traces")
            .join(file);
        Some(DeliveryTrace::load(&path).unwrap())
    }

    fn trace_link(text: &str, mtu: usize) -> Link {
        let config = LinkConfig {
            trace: trace(text),
            mtu,
            ..LinkConfig::default()
        };
        Link::new_at(Duration::ZERO, config, 1)
    }

    /// Sends `(time, size)` packets and returns their single arrival each.
    fn arrivals(link: &mut Link, packets: &[(Duration, usize)]) -> Vec<Duration> {
        packets
            .iter()
            .map(|&(at, size)| match link.transmit(at, size)[..] {
                [Verdict::Deliver(arrival)] => arrival,
                ref other => panic!("{size} B at {at:?}: want one delivery, got {other:?}"),
            })
            .collect()
    }

    fn ms(list: &[u64]) -> Vec<Duration> {
        list.iter().map(|&n| MS * n as u32).collect()
    }

    #[test]
    fn one_ms_trace_carries_12_mbps_under_overload() {
        let config = LinkConfig {
            trace: trace("1"),
            // Must be ignored while the trace is set.
            rate_bps: Some(1_000),
            ..LinkConfig::default()
        };
        for (queue, sizes) in [
            (QueueLimit::Packets(50), &[1500][..]),
            (QueueLimit::Bytes(60_000), &[1250, 400, 900][..]),
            (QueueLimit::Time(20 * MS), &[1250, 400, 900][..]),
        ] {
            let rate = overload_on(config.clone(), 12_000_000, 0.01, queue, sizes);
            println!("trace `1`, {queue:?}, sizes {sizes:?}: {rate:.0} bit/s");
        }
    }

    #[test]
    fn repeated_timestamps_give_several_departures_in_one_millisecond() {
        // Opportunities at 1, 1, 2 | 3, 3, 4 | 5, 5, 6 ms.
        let mut link = trace_link("1\n1\n2", 1500);
        let sent = arrivals(&mut link, &[(Duration::ZERO, 1500); 7]);
        assert_eq!(sent, ms(&[1, 1, 2, 3, 3, 4, 5]));

        // The propagation delay comes on top of the departure.
        let config = LinkConfig {
            delay: 10 * MS,
            ..link.config().clone()
        };
        let mut link = Link::new_at(Duration::ZERO, config, 1);
        let sent = arrivals(&mut link, &[(Duration::ZERO, 1500); 4]);
        assert_eq!(sent, ms(&[11, 11, 12, 13]));
    }

    #[test]
    fn small_packets_share_an_opportunity() {
        let mut link = trace_link("1", 1500);
        let sizes = [500, 500, 500, 500, 1000, 1000, 1000];
        let sent = arrivals(&mut link, &sizes.map(|size| (Duration::ZERO, size)));
        // 500+500+500 fill ms 1; 500+1000 fill ms 2; 1000 leaves in ms 3 with
        // 500 to spare, which the last 1000 takes before finishing in ms 4.
        assert_eq!(sent, ms(&[1, 1, 1, 2, 2, 3, 4]));
    }

    #[test]
    fn large_packets_take_several_opportunities() {
        let mut link = trace_link("1", 9000);
        let sent = arrivals(&mut link, &[(Duration::ZERO, 3000), (Duration::ZERO, 1500)]);
        assert_eq!(sent, ms(&[2, 3]));
        // 2000 B: all of ms 11 and 500 of ms 12; the 1000 B behind it fits in ms 12.
        let sent = arrivals(&mut link, &[(10 * MS, 2000), (10 * MS, 1000)]);
        assert_eq!(sent, ms(&[12, 12]));
        let sent = arrivals(&mut link, &[(20 * MS, 9000)]);
        assert_eq!(sent, ms(&[26]));
        // The MTU still applies before the queue.
        let mut link = trace_link("1", 1500);
        assert_eq!(
            link.transmit(Duration::ZERO, 3000),
            [Verdict::Drop(DropReason::Mtu)]
        );
    }

    #[test]
    fn trace_loops_after_its_last_timestamp() {
        // Opportunities at 3, 10 | 13, 20 | 23, 30 ...
        let mut link = trace_link("3\n10", 1500);
        let sent = arrivals(&mut link, &[(Duration::ZERO, 1500); 8]);
        assert_eq!(sent, ms(&[3, 10, 13, 20, 23, 30, 33, 40]));
        assert_eq!(arrivals(&mut link, &[(95 * MS, 1500)]), ms(&[100]));
        assert_eq!(
            arrivals(&mut link, &[(1000 * MS + Duration::from_micros(500), 1500)]),
            ms(&[1003])
        );
        let hour = Duration::from_secs(3600);
        assert_eq!(arrivals(&mut link, &[(hour + 4 * MS, 1500)]), [hour + 10 * MS]);
    }

    #[test]
    fn idle_gap_loses_opportunities() {
        // One opportunity every 10 ms.
        let mut link = trace_link("10", 1500);
        assert_eq!(arrivals(&mut link, &[(Duration::ZERO, 1500)]), ms(&[10]));
        // Quiet from 10 to 55 ms: the opportunities at 20..50 are gone, not saved.
        let sent = arrivals(&mut link, &[(55 * MS, 1500); 3]);
        assert_eq!(sent, ms(&[60, 70, 80]));
        // Unused bytes of an opportunity go to packets already waiting only: the
        // one arriving at 105 ms shares 110 ms, the one arriving at 110 ms (the
        // opportunity has gone by) and the one at 130.5 ms wait for the next.
        let half_ms = Duration::from_micros(500);
        let sent = arrivals(
            &mut link,
            &[
                (100 * MS, 500),
                (105 * MS, 500),
                (110 * MS, 500),
                (125 * MS, 500),
                (130 * MS + half_ms, 500),
            ],
        );
        assert_eq!(sent, ms(&[110, 110, 120, 130, 140]));
        // Even a 12 Mbit/s trace takes its millisecond from an idle start.
        let mut link = trace_link("1", 1500);
        assert_eq!(arrivals(&mut link, &[(500 * MS, 1500)]), ms(&[501]));
    }

    #[test]
    fn trace_queue_limit_drops_under_overload() {
        // overload_on checks every verdict against the limit and wants drops.
        let config = LinkConfig {
            trace: trace("1\n3\n4\n4\n8"),
            ..LinkConfig::default()
        };
        let rate = config.trace.as_ref().unwrap().mean_rate_bps();
        assert_eq!(rate, 7_500_000);
        for queue in [
            QueueLimit::Packets(10),
            QueueLimit::Bytes(8_000),
            QueueLimit::Time(5 * MS),
        ] {
            let got = overload_on(config.clone(), rate, 0.01, queue, &[1200, 300, 1500]);
            println!("trace 1,3,4,4,8 ({rate} bit/s), {queue:?}: {got:.0} bit/s");
        }
    }

    /// 1 Mbit/s of 1000-byte packets over the shipped handoff-dip trace with a
    /// 500 ms queue: no drops on the steady 3 Mbit/s, drops in the 2 s dip.
    #[test]
    fn handoff_dip_trace_queues_and_drops_in_the_dip() {
        let config = LinkConfig {
            trace: shipped_trace("cellular-handoff-dip.mahi"),
            queue: QueueLimit::Time(500 * MS),
            ..LinkConfig::default()
        };
        let mut link = Link::new_at(Duration::ZERO, config, 1);
        let (mut drops, mut first_drop, mut last_drop) = (0, None, Duration::ZERO);
        let (mut max_delay, mut max_delay_at) = (Duration::ZERO, Duration::ZERO);
        let mut max_delay_outside = Duration::ZERO;
        for i in 0..3750u32 {
            let now = 8 * MS * i;
            match link.transmit(now, 1000)[..] {
                [Verdict::Deliver(arrival)] => {
                    let delay = arrival - now;
                    if delay > max_delay {
                        (max_delay, max_delay_at) = (delay, now);
                    }
                    if !(Duration::from_secs(10)..Duration::from_secs(13)).contains(&now) {
                        max_delay_outside = max_delay_outside.max(delay);
                    }
                }
                [Verdict::Drop(DropReason::QueueFull)] => {
                    drops += 1;
                    first_drop.get_or_insert(now);
                    last_drop = now;
                }
                ref other => panic!("unexpected {other:?}"),
            }
        }
        println!(
            "dip: {drops} drops from {first_drop:?} to {last_drop:?}; max delay {max_delay:?} (sent at \
             {max_delay_at:?}), max delay outside 10..13 s {max_delay_outside:?}"
        );
        let first_drop = first_drop.expect("no drops in the dip");
        assert!(
            first_drop > Duration::from_secs(10) && last_drop < Duration::from_secs(12),
            "drops outside the dip"
        );
        assert!(max_delay < Duration::from_secs(1), "max delay {max_delay:?}");
        assert!(max_delay > 500 * MS, "the dip never built a queue");
        assert!(
            max_delay_outside <= 4 * MS,
            "delay {max_delay_outside:?} on the steady 3 Mbit/s"
        );
    }

    #[test]
    fn set_config_starts_a_new_trace_and_keeps_an_equal_one_running() {
        let mut link = Link::new(
            LinkConfig {
                rate_bps: Some(1_000_000),
                ..LinkConfig::default()
            },
            1,
        );
        // 1250 B at 1 Mbit/s: leaves at 10 ms.
        assert_eq!(arrivals(&mut link, &[(Duration::ZERO, 1250)]), ms(&[10]));

        // A trace applied at 0 behind that backlog: it drains first, then the
        // next opportunity strictly after it.
        let every_ms = LinkConfig {
            trace: trace("1"),
            ..link.config().clone()
        };
        link.set_config_at(Duration::ZERO, every_ms.clone());
        assert_eq!(arrivals(&mut link, &[(Duration::ZERO, 1500)]), ms(&[11]));

        // Without a time, a new trace starts with the next packet (57.5 ms).
        let every_10ms = LinkConfig {
            trace: trace("10"),
            ..every_ms.clone()
        };
        link.set_config(every_10ms.clone());
        let t = |us: u64| Duration::from_micros(us);
        assert_eq!(arrivals(&mut link, &[(t(57_500), 1500)]), [t(67_500)]);

        // An outage (same trace, up toggled) keeps the trace where it is: still
        // 57.5 ms + k·10 ms.
        link.set_config_at(
            150 * MS,
            LinkConfig {
                up: false,
                ..every_10ms.clone()
            },
        );
        assert_eq!(
            link.transmit(160 * MS, 1500),
            [Verdict::Drop(DropReason::LinkDown)]
        );
        link.set_config_at(200 * MS, every_10ms.clone());
        assert_eq!(arrivals(&mut link, &[(203 * MS, 1500)]), [t(207_500)]);

        // 500 B leaves at 297.5 ms with 1000 B to spare. A different trace applied
        // at 290.2 ms starts there; the packet queued behind the 500 B cannot use
        // the old trace's spare bytes and takes the new trace's first opportunity
        // after 297.5 ms: 290.2 + 8 ms.
        assert_eq!(arrivals(&mut link, &[(290 * MS, 500)]), [t(297_500)]);
        link.set_config_at(
            t(290_200),
            LinkConfig {
                trace: trace("4"),
                ..every_10ms.clone()
            },
        );
        assert_eq!(arrivals(&mut link, &[(291 * MS, 500)]), [t(298_200)]);
        assert_eq!(arrivals(&mut link, &[(301 * MS, 1500)]), [t(302_200)]);

        // Back to a rate: the trace's leftovers do not carry over.
        link.set_config_at(
            400 * MS,
            LinkConfig {
                trace: None,
                rate_bps: Some(12_000_000),
                ..every_10ms
            },
        );
        assert_eq!(arrivals(&mut link, &[(400 * MS, 1500)]), ms(&[401]));
        assert_eq!(link.config().trace, None);
    }

    /// A run over the shipped walk trace that exercises every random stage.
    fn busy_trace_run(seed: u64) -> Vec<Verdict> {
        let config = LinkConfig {
            delay: 30 * MS,
            jitter: 20 * MS,
            loss: Loss::Random(0.05),
            trace: shipped_trace("cellular-walk.mahi"),
            queue: QueueLimit::Time(200 * MS),
            duplicate: 0.05,
            ..LinkConfig::default()
        };
        let mut link = Link::new(config, seed);
        (0..20_000)
            .flat_map(|i| link.transmit(MS * i * 2, 100 + (i as usize * 37) % 1400))
            .collect()
    }

    #[test]
    fn trace_links_are_deterministic() {
        let a = busy_trace_run(5);
        assert_eq!(
            a,
            busy_trace_run(5),
            "same seed and inputs gave different verdicts"
        );
        assert_ne!(a, busy_trace_run(6), "seeds 5 and 6 gave identical verdicts");
        let full = a
            .iter()
            .filter(|v| **v == Verdict::Drop(DropReason::QueueFull))
            .count();
        println!("walk trace: {} verdicts, {full} queue drops", a.len());
        assert!(full > 0, "3.2 Mbit/s offered never overflowed the walk trace");
    }

    /// 1250-byte packets every 5 ms (2 Mbit/s) into a 1 Mbit/s link with a 60 ms queue for
    /// 2 s, then every 20 ms (0.5 Mbit/s): the queue fills to its limit and stays there
    /// while overloaded, so the waits of the accepted packets reach 60 ms (less one packet's
    /// 10 ms of serialization at most) and never pass it; once the load is under the rate
    /// the backlog drains, and then each packet finds the queue empty.
    #[test]
    fn queue_delays_reach_a_time_limit_under_overload_and_fall_to_zero_once_it_drains() {
        let config = LinkConfig {
            rate_bps: Some(1_000_000),
            queue: QueueLimit::Time(60 * MS),
            ..LinkConfig::default()
        };
        let mut link = Link::new(config, 1);
        let mut now = Duration::ZERO;
        while now < Duration::from_secs(4) {
            link.transmit(now, 1250);
            now += if now < Duration::from_secs(2) {
                5 * MS
            } else {
                20 * MS
            };
        }
        let delays = &link.record().queue_delays;
        let overloaded = delays
            .within(Duration::from_secs(1), Duration::from_secs(2))
            .unwrap();
        println!("overloaded: {overloaded:?}");
        assert!(overloaded.max <= 60 * MS, "{overloaded:?}");
        assert!(overloaded.p50 >= 50 * MS, "{overloaded:?}");
        let drained = delays
            .within(Duration::from_secs(3), Duration::from_secs(4))
            .unwrap();
        assert_eq!(
            (drained.datagrams, drained.max),
            (50, Duration::ZERO),
            "{drained:?}"
        );
    }
}

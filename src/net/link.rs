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
//! 5. otherwise it is serialized at the bottleneck rate, then delayed by the
//!    propagation delay plus jitter, and possibly duplicated.

use std::collections::VecDeque;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

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
    /// [`DropReason::QueueFull`].
    pub rate_bps: Option<u64>,
    /// Drop-tail limit of the bottleneck queue.
    pub queue: QueueLimit,
    /// Probability `0..=1` that a packet is delivered twice.
    pub duplicate: f64,
    /// Packets larger than this many payload bytes are dropped.
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
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub enum QueueLimit {
    /// Queued bytes plus the new packet may not exceed this.
    Bytes(usize),
    /// At most this many packets in the queue.
    Packets(usize),
    /// A packet may wait at most this long before its serialization starts.
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
    /// Latest arrival time handed out; keeps order when `reorder` is false.
    last_arrival: Duration,
    /// Previous `now`, to catch callers that go back in time.
    last_now: Duration,
}

impl Link {
    /// A link in its initial state; all randomness derives from `seed`.
    pub fn new(config: LinkConfig, seed: u64) -> Self {
        let stream = |n| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(n);
            rng
        };
        Self {
            config,
            loss_rng: stream(0),
            jitter_rng: stream(1),
            duplicate_rng: stream(2),
            in_loss_burst: false,
            queue: VecDeque::new(),
            queued_bytes: 0,
            busy_until: Duration::ZERO,
            last_arrival: Duration::ZERO,
            last_now: Duration::ZERO,
        }
    }

    pub fn config(&self) -> &LinkConfig {
        &self.config
    }

    /// Applies from the next packet on; packets already accepted keep their
    /// times, and the bottleneck still has to drain its backlog.
    pub fn set_config(&mut self, config: LinkConfig) {
        self.config = config;
    }

    /// A packet of `size` bytes enters the link at `now` (calls come with
    /// non-decreasing `now`). Returns one verdict per copy: normally one, two
    /// when duplicated (the duplicate arrives no earlier than the original).
    pub fn transmit(&mut self, now: Duration, size: usize) -> Vec<Verdict> {
        debug_assert!(now >= self.last_now, "link time went backwards");
        self.last_now = now;

        if !self.config.up {
            return vec![Verdict::Drop(DropReason::LinkDown)];
        }
        if size > self.config.mtu {
            return vec![Verdict::Drop(DropReason::Mtu)];
        }
        if self.lose_packet() {
            return vec![Verdict::Drop(DropReason::Loss)];
        }
        let Some(departure) = self.enqueue(now, size) else {
            return vec![Verdict::Drop(DropReason::QueueFull)];
        };

        let arrival = self.arrival_after(departure, Duration::ZERO);
        let mut verdicts = vec![Verdict::Deliver(arrival)];
        // Always draw, so the duplicate stream stays aligned with packets.
        if self.duplicate_rng.random::<f64>() < self.config.duplicate {
            verdicts.push(Verdict::Deliver(self.arrival_after(departure, arrival)));
        }
        verdicts
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
        if full || self.config.rate_bps == Some(0) {
            return None;
        }

        // Even with an infinite rate the backlog left by an earlier, slower
        // rate has to drain first: the queue is FIFO.
        let serialization = self
            .config
            .rate_bps
            .map_or(Duration::ZERO, |rate| serialization_time(size, rate));
        let departure = now.max(self.busy_until) + serialization;
        self.busy_until = departure;
        self.queue.push_back((departure, size));
        self.queued_bytes += size;
        Some(departure)
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
        const RATE: u64 = 1_000_000;
        let delay = 20 * MS;
        let config = LinkConfig {
            delay,
            rate_bps: Some(RATE),
            queue,
            ..LinkConfig::default()
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
            now += serialization_time(size, 2 * RATE);
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
            (rate - RATE as f64).abs() <= 0.05 * RATE as f64,
            "{queue:?}: delivered {rate:.0} bit/s, want 1 Mbit/s ± 5 %"
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
}

//! How long datagrams wait in a link's queue, kept per link as a histogram per time bin.
//!
//! A datagram's queueing delay is the time from entering the link until the datagrams ahead
//! of it have left the bottleneck, when its own serialization starts (with a trace, when
//! the one ahead left at its opportunity): the wait a `queue = "60ms"` limit bounds, so it
//! never exceeds a time limit, and an idle link gives 0. One a full queue drops never waits
//! and is not counted.
//!
//! A trace event per datagram would cost more than the trace's media events do, and the
//! trace is a run's largest allocation. So each link keeps, per [`BIN`] of entry time, how
//! many datagrams waited how long, in buckets 1/32 of an octave wide (about 3 %) that also
//! keep their longest wait. A percentile is then the longest wait of the bucket its rank
//! falls in: a wait some datagram had, at most 3 % above the exact percentile, never
//! under it; the maximum is exact. The same inputs give the same bins, as the links do.

use std::time::Duration;

use serde::Serialize;

/// Width of the time bins, as the report's packet bins: windows are taken in whole bins.
pub const BIN: Duration = Duration::from_millis(100);

/// Buckets per octave, as a power of two: 2⁵ = 32, each at most 1/32 of its value wide.
const OCTAVE_BITS: u32 = 5;

/// The queueing delays of one link: per bin of entry time, from time zero.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueDelays {
    bins: Vec<Buckets>,
}

/// Waits as `(bucket, datagrams, longest wait in nanoseconds)`, in bucket order. A bin has
/// few: waits within 100 ms of each other differ little.
type Buckets = Vec<(u16, u64, u64)>;

/// The queueing delay of the datagrams that entered a link within a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct QueueDelay {
    /// How many entered it (and were not dropped at the queue).
    pub datagrams: u64,
    pub p50: Duration,
    pub p95: Duration,
    pub max: Duration,
}

impl QueueDelays {
    /// A datagram entered the link at `at` and waited `wait` in its queue.
    pub fn record(&mut self, at: Duration, wait: Duration) {
        let index = (at.as_nanos() / BIN.as_nanos()) as usize;
        if self.bins.len() <= index {
            self.bins.resize_with(index + 1, Buckets::default);
        }
        let nanos = u64::try_from(wait.as_nanos()).unwrap_or(u64::MAX);
        add(&mut self.bins[index], (bucket(nanos), 1, nanos));
    }

    /// Adds `other`'s datagrams to these, bin by bin: the queues of one peer's successive
    /// interfaces, judged as one.
    pub fn absorb(&mut self, other: &QueueDelays) {
        if self.bins.len() < other.bins.len() {
            self.bins.resize_with(other.bins.len(), Buckets::default);
        }
        for (bin, theirs) in self.bins.iter_mut().zip(&other.bins) {
            for entry in theirs {
                add(bin, *entry);
            }
        }
    }

    /// The delays of the datagrams that entered in the bins starting within `[from, to)`;
    /// `None` if none did.
    pub fn within(&self, from: Duration, to: Duration) -> Option<QueueDelay> {
        let bin = |at: Duration| {
            at.as_nanos()
                .div_ceil(BIN.as_nanos())
                .min(self.bins.len() as u128) as usize
        };
        let (first, last) = (bin(from), bin(to));
        let mut merged = Buckets::new();
        for bin in self.bins.get(first..last).unwrap_or_default() {
            for entry in bin {
                add(&mut merged, *entry);
            }
        }
        let datagrams: u64 = merged.iter().map(|(_, count, _)| count).sum();
        let max = merged.last()?.2;
        // The nearest rank, as `metrics::percentile` takes it.
        let percentile = |p: f64| {
            let rank = ((datagrams - 1) as f64 * p).round() as u64;
            let mut seen = 0;
            let (.., longest) = merged.iter().find(|(_, count, _)| {
                seen += count;
                seen > rank
            })?;
            Some(Duration::from_nanos(*longest))
        };
        Some(QueueDelay {
            datagrams,
            p50: percentile(0.50)?,
            p95: percentile(0.95)?,
            max: Duration::from_nanos(max),
        })
    }
}

/// Counts `(bucket, datagrams, longest)` into `buckets`.
fn add(buckets: &mut Buckets, (bucket, count, longest): (u16, u64, u64)) {
    match buckets.binary_search_by_key(&bucket, |(b, ..)| *b) {
        Ok(found) => {
            let (_, counted, longest_so_far) = &mut buckets[found];
            *counted += count;
            *longest_so_far = (*longest_so_far).max(longest);
        }
        Err(place) => buckets.insert(place, (bucket, count, longest)),
    }
}

/// The bucket of a wait of `nanos`, counted in whole microseconds: one per microsecond
/// below 64 µs, then 32 per octave (the count's top six bits, and how far they sit up).
fn bucket(nanos: u64) -> u16 {
    let micros = nanos / 1_000;
    if micros < 2 << OCTAVE_BITS {
        return micros as u16;
    }
    let shift = 63 - micros.leading_zeros() - OCTAVE_BITS;
    (u64::from(shift << OCTAVE_BITS) + (micros >> shift)) as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn buckets_grow_with_the_wait_and_are_at_most_a_32nd_of_it_wide() {
        let mut previous = 0;
        for micros in 0..200_000_u64 {
            let this = bucket(micros * 1_000);
            assert!(
                this == previous || this == previous + 1,
                "{micros} µs: {previous} → {this}"
            );
            previous = this;
        }
        // Every wait in a bucket is within 1/32 of its smallest.
        for micros in [64_u64, 1_000, 65_537, 3_000_000] {
            let same = |m: &u64| bucket(m * 1_000) == bucket(micros * 1_000);
            let lowest = (0..=micros).rev().take_while(same).last().unwrap();
            let highest = (micros..).take_while(same).last().unwrap();
            assert!(
                (highest - lowest + 1) * 32 <= lowest,
                "{micros} µs: {lowest}..={highest}"
            );
        }
    }

    /// 100 datagrams a bin: waits 0, 1, … 99 ms in the first bin, all 200 ms in the next.
    #[test]
    fn percentiles_are_a_wait_some_datagram_had_within_3_percent_above_the_exact_one() {
        let mut delays = QueueDelays::default();
        for n in 0..100_u32 {
            delays.record(MS * n, MS * n);
            delays.record(BIN + MS * n, 200 * MS);
        }
        let first = delays.within(Duration::ZERO, BIN).unwrap();
        assert_eq!(first.datagrams, 100);
        assert_eq!(first.max, 99 * MS);
        // Exact: p50 50 ms (rank 50 of 0..=99), p95 94 ms.
        assert!(
            first.p50 >= 50 * MS && first.p50 <= 50 * MS * 33 / 32,
            "{:?}",
            first.p50
        );
        assert!(
            first.p95 >= 94 * MS && first.p95 <= 94 * MS * 33 / 32,
            "{:?}",
            first.p95
        );
        let both = delays.within(Duration::ZERO, 2 * BIN).unwrap();
        assert_eq!((both.datagrams, both.p95, both.max), (200, 200 * MS, 200 * MS));
        // A window takes the bins that start in it: 50 ms to 150 ms is the second bin.
        assert_eq!(delays.within(50 * MS, 150 * MS).unwrap().p50, 200 * MS);
        assert_eq!(delays.within(2 * BIN, 3 * BIN), None);
        assert_eq!(delays.within(Duration::ZERO, Duration::MAX), Some(both));
    }

    #[test]
    fn absorbing_counts_both_links_bin_by_bin() {
        let (mut first, mut second) = (QueueDelays::default(), QueueDelays::default());
        first.record(Duration::ZERO, 10 * MS);
        second.record(BIN * 3, 30 * MS);
        second.record(Duration::ZERO, 20 * MS);
        first.absorb(&second);
        let all = first.within(Duration::ZERO, BIN * 4).unwrap();
        assert_eq!((all.datagrams, all.p50, all.max), (3, 20 * MS, 30 * MS));
        assert_eq!(first.within(Duration::ZERO, BIN).unwrap().max, 20 * MS);
    }
}

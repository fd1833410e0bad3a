//! What a link carried beside what it could carry: the `utilization` check and the report's
//! capacity line.
//!
//! A link counts, per [`BIN`] of time, the bytes (whole IP datagrams, as its rate counts
//! them) that finished their serialization in it, and keeps the history of its capacity:
//! a rate, a delivery trace from its time zero, no limit at all, or nothing while it is
//! down or gone. A window's capacity is that history summed over it, so a rate change in
//! the middle of a bin counts each rate for its own part.

use std::time::Duration;

use super::mahimahi::{DeliveryTrace, OPPORTUNITY_BYTES};
use super::queue_delay::BIN;

/// What a link can carry from some moment on.
#[derive(Debug, Clone, PartialEq)]
pub enum Capacity {
    /// No rate limit: it carries whatever comes, so nothing is a share of it.
    Unlimited,
    /// Bits per second; 0 while the link is down or gone.
    Rate(u64),
    /// A delivery trace's opportunities (1500 bytes each), counted from `origin`.
    Trace { origin: Duration, trace: DeliveryTrace },
}

/// A link's carried bytes per bin and its capacity over time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LinkUsage {
    /// Bits serialized in each bin, from time zero.
    carried: Vec<u64>,
    /// From when each capacity held, in time order.
    capacity: Vec<(Duration, Capacity)>,
}

/// What a link carried within a window, and what it could have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub carried_bits: u64,
    /// `None` when the link had no rate limit for some of the window.
    pub capacity_bits: Option<u64>,
    /// The window, in whole bins.
    pub length: Duration,
}

impl Usage {
    /// `carried ÷ capacity`; `None` without a limit or without capacity.
    pub fn share(&self) -> Option<f64> {
        let capacity = self.capacity_bits.filter(|bits| *bits > 0)?;
        Some(self.carried_bits as f64 / capacity as f64)
    }

    /// `bits` as bits per second over the window.
    pub fn rate_bps(&self, bits: u64) -> u64 {
        (u128::from(bits) * 1_000_000_000 / self.length.as_nanos().max(1)) as u64
    }
}

impl std::ops::Add for Usage {
    type Output = Usage;

    /// Two links judged as one (both directions, a moved peer's interfaces) over one window.
    fn add(self, other: Usage) -> Usage {
        Usage {
            carried_bits: self.carried_bits + other.carried_bits,
            capacity_bits: self.capacity_bits.zip(other.capacity_bits).map(|(a, b)| a + b),
            length: self.length,
        }
    }
}

impl LinkUsage {
    /// `bytes` were serialized evenly over `[start, end)`: each bin gets the share of the
    /// bits that fell in it, so a saturated window never carries more than its capacity.
    /// A packet that takes no time (no rate limit, one trace opportunity) counts at `end`.
    pub fn carried(&mut self, start: Duration, end: Duration, bytes: usize) {
        let bits = bytes as u128 * 8;
        let span = (end - start).as_nanos();
        let (first, last) = (
            bin_of(start),
            bin_of(end.saturating_sub(Duration::from_nanos(1)).max(start)),
        );
        if self.carried.len() <= last {
            self.carried.resize(last + 1, 0);
        }
        if span == 0 {
            self.carried[first] += bits as u64;
            return;
        }
        // Bits serialized by `at`, so the bins' shares add up to the whole exactly.
        let done = |at: Duration| bits * (at.min(end) - start).as_nanos() / span;
        for bin in first..=last {
            let (from, to) = ((BIN * bin as u32).max(start), BIN * (bin as u32 + 1));
            self.carried[bin] += (done(to) - done(from)) as u64;
        }
    }

    /// The link can carry `capacity` from `at` on (no earlier than the last change).
    pub fn capacity_from(&mut self, at: Duration, capacity: Capacity) {
        match self.capacity.last_mut() {
            Some((_, last)) if *last == capacity => {}
            Some((since, last)) if *since == at => *last = capacity,
            _ => self.capacity.push((at, capacity)),
        }
    }

    /// What it carried and could carry in the bins that start within `[from, to)`; `None`
    /// if no bin does.
    pub fn within(&self, from: Duration, to: Duration) -> Option<Usage> {
        let (first, last) = (bin_at_or_after(from), bin_at_or_after(to));
        if first >= last {
            return None;
        }
        let carried_bits: u64 = (first..last)
            .map(|bin| self.carried.get(bin as usize).copied().unwrap_or(0))
            .sum();
        let (start, end) = (BIN * first as u32, BIN * last as u32);
        Some(Usage {
            carried_bits,
            capacity_bits: self.capacity_bits(start, end),
            length: end - start,
        })
    }

    /// Bits it could carry in `[start, end)`: `None` if unlimited in some of it. Before the
    /// first change (a trace waiting for its first packet), nothing.
    fn capacity_bits(&self, start: Duration, end: Duration) -> Option<u64> {
        let mut bits: u64 = 0;
        for (index, (since, capacity)) in self.capacity.iter().enumerate() {
            let until = self.capacity.get(index + 1).map_or(end, |(next, _)| *next);
            let (from, to) = ((*since).max(start), until.min(end));
            if from >= to {
                continue;
            }
            bits += match capacity {
                Capacity::Unlimited => return None,
                Capacity::Rate(bps) => (u128::from(*bps) * (to - from).as_nanos() / 1_000_000_000) as u64,
                Capacity::Trace { origin, trace } => {
                    let count = |at: Duration| trace.first_at_or_after(at.saturating_sub(*origin));
                    (count(to) - count(from)) * OPPORTUNITY_BYTES as u64 * 8
                }
            };
        }
        Some(bits)
    }
}

/// The bin `at` falls in.
fn bin_of(at: Duration) -> usize {
    (at.as_nanos() / BIN.as_nanos()) as usize
}

/// The first bin starting at or after `at`.
fn bin_at_or_after(at: Duration) -> u64 {
    at.as_nanos().div_ceil(BIN.as_nanos()).min(u128::from(u32::MAX)) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn a_rate_change_counts_each_rate_for_its_own_part_of_the_window() {
        let mut usage = LinkUsage::default();
        usage.capacity_from(Duration::ZERO, Capacity::Rate(1_000_000));
        usage.capacity_from(150 * MS, Capacity::Rate(500_000));
        usage.carried(50 * MS, 50 * MS, 1000);
        // 2000 bytes serialized from 90 ms to 130 ms: a quarter in the first bin.
        usage.carried(90 * MS, 130 * MS, 2000);
        let all = usage.within(Duration::ZERO, 300 * MS).unwrap();
        // 150 ms at 1 Mbit/s and 150 ms at 500 kbit/s.
        assert_eq!(all.capacity_bits, Some(150_000 + 75_000));
        assert_eq!(all.carried_bits, 24_000);
        let first_bin = usage.within(Duration::ZERO, BIN).unwrap();
        assert_eq!(first_bin.carried_bits, 8_000 + 4_000);
        let last_bin = usage.within(200 * MS, 300 * MS).unwrap();
        assert_eq!(last_bin.capacity_bits, Some(50_000));
        // Bins that start in the window: 50 ms to 150 ms is the second bin.
        assert_eq!(usage.within(50 * MS, 150 * MS).unwrap().carried_bits, 12_000);
        assert_eq!(usage.within(50 * MS, 60 * MS), None);
    }

    #[test]
    fn an_unlimited_stretch_has_no_share_and_a_down_link_no_capacity() {
        let mut usage = LinkUsage::default();
        usage.capacity_from(Duration::ZERO, Capacity::Unlimited);
        usage.capacity_from(BIN, Capacity::Rate(0));
        usage.carried(MS, MS, 100);
        let first = usage.within(Duration::ZERO, BIN).unwrap();
        assert_eq!((first.capacity_bits, first.share()), (None, None));
        let down = usage.within(BIN, 2 * BIN).unwrap();
        assert_eq!((down.capacity_bits, down.share()), (Some(0), None));
    }

    #[test]
    fn a_trace_offers_its_opportunities_from_its_origin() {
        let trace = DeliveryTrace::parse("10\n20\n100\n").unwrap();
        let mut usage = LinkUsage::default();
        usage.capacity_from(
            50 * MS,
            Capacity::Trace {
                origin: 50 * MS,
                trace,
            },
        );
        // Opportunities at 60, 70, 150, 160, 170, 250 ms…: two in the first bin (nothing
        // before the origin), three in the second.
        let bits = |from, to| usage.within(from, to).unwrap().capacity_bits.unwrap();
        assert_eq!(bits(Duration::ZERO, BIN), 2 * 1500 * 8);
        assert_eq!(bits(BIN, 2 * BIN), 3 * 1500 * 8);
        assert_eq!(bits(Duration::ZERO, 3 * BIN), 8 * 1500 * 8);
    }

    #[test]
    fn links_judged_as_one_add_up_and_an_unlimited_one_leaves_no_capacity() {
        let rate = |bps| Usage {
            carried_bits: 10,
            capacity_bits: Some(bps),
            length: BIN,
        };
        assert_eq!((rate(100) + rate(300)).share(), Some(20.0 / 400.0));
        assert_eq!((rate(100) + rate(300)).rate_bps(20), 200);
        let unlimited = Usage {
            capacity_bits: None,
            ..rate(0)
        };
        assert_eq!((rate(100) + unlimited).share(), None);
    }
}

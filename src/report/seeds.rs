//! One scenario played over many seeds (`netsim run --seeds A..B`), summed up: the question
//! a flaky network raises is not whether one run passed but how often, and how far the
//! measured values spread when the seeded processing time settles webrtc-rs's races
//! differently.

use std::time::Duration;

use serde::Serialize;

use super::Report;
use crate::metrics::percentile;
pub use crate::scenario::Seeds;
use crate::scenario::expect::{Measured, Unit, Verdict};

/// How a measured number spread over the seeds: quantiles at the nearest rank
/// ([`percentile`]), so each is a value some seed measured.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Distribution {
    pub min: f64,
    pub p50: f64,
    pub p95: f64,
    pub max: f64,
}

impl Distribution {
    /// Of `values`, in any order; `None` when there are none.
    pub fn of(values: &[f64]) -> Option<Distribution> {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        Some(Distribution {
            min: *sorted.first()?,
            p50: percentile(&sorted, 0.50),
            p95: percentile(&sorted, 0.95),
            max: *sorted.last()?,
        })
    }
}

/// One expectation of a scenario over its seeds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Expected {
    /// As its verdicts name it, e.g. `delivered bob<-alice:audio [1s, 3s)`.
    pub expectation: String,
    /// The limit, e.g. `≥ 98%`.
    pub limit: String,
    /// The seeds on which it did not hold, a run that could not finish included.
    pub failed_on: Vec<u64>,
    /// The share of the seeds it must hold on (its `share`; 1: every seed).
    pub share: f64,
    /// Its measured value over the seeds that measured one, in the verdicts' unit.
    pub value: Option<(Unit, Distribution)>,
}

/// A scenario played once per seed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OverSeeds {
    /// Every seed it was played with.
    pub seeds: Vec<u64>,
    /// The seeds whose run could not finish.
    pub unfinished: Vec<u64>,
    /// How many of them connected, and the whole call's connect time over those, in seconds.
    pub connected: usize,
    pub connect_time: Option<Distribution>,
    /// Per expectation, in file order.
    pub expectations: Vec<Expected>,
}

/// The runs of `reports` grouped by scenario (file and sweep point), for reports whose runs
/// of one scenario are side by side, one per seed.
pub fn by_scenario(reports: &[Report]) -> impl Iterator<Item = &[Report]> {
    reports.chunk_by(|a, b| a.scenario.file == b.scenario.file && a.scenario.id == b.scenario.id)
}

/// One seed's run of a scenario, as [`OverSeeds::of`] reads it.
#[derive(Debug, Clone, Copy)]
pub struct Seeded<'a> {
    pub seed: u64,
    pub connect_time: Option<Duration>,
    pub verdicts: &'a [Verdict],
    /// The run finished (it may still have failed expectations).
    pub finished: bool,
}

impl<'a> From<&'a Report> for Seeded<'a> {
    fn from(report: &'a Report) -> Self {
        Seeded {
            seed: report.scenario.seed,
            connect_time: report.metrics.as_ref().and_then(|metrics| metrics.connect_time),
            verdicts: &report.verdicts,
            finished: report.error.is_none(),
        }
    }
}

impl Expected {
    /// Whether it held on its share of `seeds` seeds.
    pub fn held(&self, seeds: usize) -> bool {
        let held = seeds - self.failed_on.len().min(seeds);
        // In whole seeds, so that 90 % of 20 is 18 however the share rounds.
        held as f64 >= (self.share * seeds as f64 - 1e-9).ceil()
    }

    /// `held on 18 of 20 seeds`, with the share it needed when that is not every seed.
    pub fn held_text(&self, seeds: usize) -> String {
        let held = seeds - self.failed_on.len().min(seeds);
        match self.share {
            1.0 => format!("held on {held} of {seeds} seeds"),
            share => format!("held on {held} of {seeds} seeds, needs {}%", share * 100.0),
        }
    }
}

impl OverSeeds {
    /// The seeds as a range, `1..20` (they are one, as `seeds` and `--seeds` give them).
    pub fn range(&self) -> String {
        match (self.seeds.first(), self.seeds.last()) {
            (Some(first), Some(last)) => format!("{first}..{last}"),
            _ => String::new(),
        }
    }

    /// The expectations that did not hold on their share of the seeds.
    pub fn broken(&self) -> impl Iterator<Item = &Expected> {
        self.expectations
            .iter()
            .filter(|expected| !expected.held(self.seeds.len()))
    }

    /// Whether every seed's run finished, and every expectation held on its share of them.
    pub fn held(&self) -> bool {
        self.unfinished.is_empty() && self.broken().next().is_none()
    }

    /// Of `reports`, one scenario's runs, one per seed. An expectation a run did not judge
    /// (it could not finish) counts as not held there.
    pub fn of<'a>(reports: &[Seeded<'a>]) -> OverSeeds {
        let connect: Vec<f64> = reports
            .iter()
            .filter_map(|report| report.connect_time)
            .map(|connect| connect.as_secs_f64())
            .collect();
        // Every finished run judges the same expectations in file order; one that could not
        // finish judged none.
        let judged = reports
            .iter()
            .map(|report| report.verdicts)
            .max_by_key(|verdicts| verdicts.len());
        let expectations = judged
            .unwrap_or_default()
            .iter()
            .enumerate()
            .map(|(index, first)| {
                let verdict = |report: &Seeded<'a>| {
                    let verdict = report.verdicts.get(index)?;
                    (verdict.expectation == first.expectation).then_some(verdict)
                };
                let measured: Vec<Measured> = reports
                    .iter()
                    .filter_map(|report| verdict(report)?.value)
                    .collect();
                let values: Vec<f64> = measured.iter().map(|value| value.measured).collect();
                Expected {
                    expectation: first.expectation.clone(),
                    limit: first.limit.clone(),
                    failed_on: reports
                        .iter()
                        .filter(|report| !verdict(report).is_some_and(|verdict| verdict.passed))
                        .map(|report| report.seed)
                        .collect(),
                    share: first.share.unwrap_or(1.0),
                    value: measured
                        .first()
                        .and_then(|value| Some((value.unit, Distribution::of(&values)?))),
                }
            })
            .collect();
        OverSeeds {
            seeds: reports.iter().map(|report| report.seed).collect(),
            unfinished: reports
                .iter()
                .filter(|report| !report.finished)
                .map(|report| report.seed)
                .collect(),
            connected: connect.len(),
            connect_time: Distribution::of(&connect),
            expectations,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{Distribution, OverSeeds, Seeded};
    use crate::scenario::expect::{Measured, Unit, Verdict};

    #[test]
    fn quantiles_are_values_at_the_nearest_rank() {
        let values: Vec<f64> = (1..=20).rev().map(f64::from).collect();
        let spread = Distribution::of(&values).expect("values");
        assert_eq!(
            (spread.min, spread.p50, spread.p95, spread.max),
            (1.0, 11.0, 19.0, 20.0)
        );
        let one = Distribution::of(&[0.24]).expect("a value");
        assert_eq!((one.min, one.p50, one.p95, one.max), (0.24, 0.24, 0.24, 0.24));
        let modes = Distribution::of(&[0.42, 0.22, 0.24, 0.24, 0.42]).expect("values");
        assert_eq!((modes.p50, modes.p95), (0.24, 0.42));
        assert_eq!(Distribution::of(&[]), None);
    }

    fn verdict(expectation: &str, passed: bool, measured: Option<f64>) -> Verdict {
        Verdict {
            share: None,
            expectation: expectation.to_owned(),
            passed,
            measured: String::new(),
            limit: "≤ 300ms".to_owned(),
            value: measured.map(|measured| Measured {
                unit: Unit::Seconds,
                measured,
                min: None,
                max: Some(0.3),
            }),
        }
    }

    #[test]
    fn the_share_held_counts_every_seed_and_names_the_failing_ones() {
        let runs = [
            vec![
                verdict("connect_time", true, Some(0.22)),
                verdict("final_state alice", true, None),
            ],
            vec![
                verdict("connect_time", false, Some(0.42)),
                verdict("final_state alice", true, None),
            ],
            vec![
                verdict("connect_time", true, Some(0.24)),
                verdict("final_state alice", true, None),
            ],
            // Could not finish: nothing judged.
            vec![],
        ];
        let connect = [Some(0.22), Some(0.42), Some(0.24), None];
        let seeded: Vec<Seeded> = runs
            .iter()
            .zip(connect)
            .enumerate()
            .map(|(index, (verdicts, connect))| Seeded {
                seed: index as u64 + 1,
                connect_time: connect.map(Duration::from_secs_f64),
                verdicts,
                finished: !verdicts.is_empty(),
            })
            .collect();
        let over = OverSeeds::of(&seeded);
        assert_eq!(over.seeds, [1, 2, 3, 4]);
        assert_eq!(over.connected, 3);
        let connect = over.connect_time.expect("three connected");
        assert_eq!((connect.min, connect.p50, connect.max), (0.22, 0.24, 0.42));
        let [connect_time, final_state] = over.expectations.as_slice() else {
            panic!("two expectations: {:?}", over.expectations)
        };
        assert_eq!(connect_time.expectation, "connect_time");
        assert_eq!(connect_time.failed_on, [2, 4]);
        let (unit, values) = connect_time.value.expect("measured");
        assert_eq!((unit, values.min, values.max), (Unit::Seconds, 0.22, 0.42));
        assert_eq!(final_state.failed_on, [4]);
        assert_eq!(final_state.value, None, "no scale");
        assert_eq!(over.unfinished, [4]);
        assert!(
            !over.held(),
            "a seed did not finish, and connect_time failed on two"
        );
    }

    #[test]
    fn an_expectation_with_a_share_holds_on_that_many_whole_seeds() {
        let passing = |passed: bool| {
            let mut verdict = verdict("connect_time", passed, Some(0.24));
            verdict.share = Some(0.9);
            vec![verdict]
        };
        // 18 of 20 seeds pass: 90 %, enough; 17 of 20 is not.
        for (failing, held) in [(2, true), (3, false)] {
            let runs: Vec<Vec<Verdict>> = (0..20).map(|seed| passing(seed >= failing)).collect();
            let seeded: Vec<Seeded> = runs
                .iter()
                .enumerate()
                .map(|(index, verdicts)| Seeded {
                    seed: index as u64 + 1,
                    connect_time: None,
                    verdicts,
                    finished: true,
                })
                .collect();
            let over = OverSeeds::of(&seeded);
            assert_eq!(over.held(), held, "{failing} failing seeds");
            let text = over.expectations[0].held_text(20);
            assert_eq!(text, format!("held on {} of 20 seeds, needs 90%", 20 - failing));
        }
    }

    #[test]
    fn two_expectations_of_one_name_stay_apart() {
        let verdicts = [
            verdict("connect_time", true, Some(0.24)),
            verdict("connect_time", false, Some(0.24)),
        ];
        let runs = [Seeded {
            seed: 1,
            connect_time: Some(Duration::from_millis(240)),
            verdicts: &verdicts,
            finished: true,
        }];
        let over = OverSeeds::of(&runs);
        let failed: Vec<&[u64]> = over
            .expectations
            .iter()
            .map(|expected| &expected.failed_on[..])
            .collect();
        assert_eq!(failed, [&[][..], &[1][..]]);
    }
}

//! `junit.xml`: one testcase per scenario (per point of a sweep), for CI dashboards. A failed expectation is a
//! `<failure>` listing every broken expectation with its measured value and limit, and how
//! to replay it; a run that could not finish is an `<error>`. A scenario played over seeds
//! is one testcase for all of them, judged as `netsim run` judges it: each expectation on
//! its share of the seeds.

use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, TestCase, TestCaseStatus, TestSuite};

use super::Report;
use super::seeds::{OverSeeds, Seeded, by_scenario};

/// The JUnit XML of `single`, runs of scenarios played once, then of `seeded`, runs of
/// scenarios played over seeds (one scenario's side by side), in their order.
pub fn xml(single: &[Report], seeded: &[Report]) -> Result<String, quick_junit::SerializeError> {
    let mut suite = TestSuite::new("scenarios");
    suite.add_test_cases(single.iter().map(test_case));
    suite.add_test_cases(by_scenario(seeded).map(seeded_case));
    let mut junit = quick_junit::Report::new("netsim");
    junit.add_test_suite(suite);
    junit.to_string()
}

fn test_case(report: &Report) -> TestCase {
    let scenario = &report.scenario;
    let failed: Vec<String> = report
        .verdicts
        .iter()
        .filter(|verdict| !verdict.passed)
        .map(|verdict| format!("{verdict}\n"))
        .collect();
    let status = if let Some(error) = &report.error {
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
        status.set_message(format!("could not finish: {error}"));
        status
    } else if failed.is_empty() {
        TestCaseStatus::success()
    } else {
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
        status
            .set_message(format!(
                "{} of {} expectations failed",
                failed.len(),
                report.verdicts.len()
            ))
            .set_type("expectation")
            .set_description(format!(
                "{}replay: netsim run {} --seed {}",
                failed.concat(),
                scenario.file.display(),
                scenario.seed
            ));
        status
    };
    let mut case = TestCase::new(scenario.id.as_str(), status);
    case.set_classname("netsim")
        .set_assertions(report.verdicts.len())
        .add_properties([
            Property::new("scenario", scenario.name.as_str()),
            Property::new("file", scenario.file.display().to_string()),
            Property::new("seed", scenario.seed.to_string()),
        ]);
    if let Some(wall_time) = report.wall_time {
        case.set_time(wall_time);
    }
    let verdicts: Vec<String> = report
        .verdicts
        .iter()
        .map(|verdict| format!("{verdict}\n"))
        .collect();
    case.set_system_out(verdicts.concat());
    case
}

/// One scenario's runs over its seeds as one test case: `race (seeds 1..20)`.
fn seeded_case(runs: &[Report]) -> TestCase {
    let over = OverSeeds::of(&runs.iter().map(Seeded::from).collect::<Vec<_>>());
    let scenario = &runs[0].scenario;
    let seeds = over.range();
    let replay = |seed: u64| format!("replay: netsim run {} --seed {seed}", scenario.file.display());
    let status = if let Some(seed) = over.unfinished.first() {
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
        status
            .set_message(format!(
                "{} of {} seeds could not finish",
                over.unfinished.len(),
                over.seeds.len()
            ))
            .set_description(replay(*seed));
        status
    } else if over.held() {
        TestCaseStatus::success()
    } else {
        let broken: Vec<String> = over
            .broken()
            .map(|expected| {
                let failed: Vec<String> = expected.failed_on.iter().map(u64::to_string).collect();
                format!(
                    "{} {}: {} (failed on seeds {}); {}\n",
                    expected.expectation,
                    expected.limit,
                    expected.held_text(over.seeds.len()),
                    failed.join(", "),
                    replay(expected.failed_on[0])
                )
            })
            .collect();
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
        status
            .set_message(format!(
                "{} of {} expectations held on too few seeds",
                broken.len(),
                over.expectations.len()
            ))
            .set_type("expectation")
            .set_description(broken.concat());
        status
    };
    let mut case = TestCase::new(format!("{} (seeds {seeds})", scenario.id), status);
    case.set_classname("netsim")
        .set_assertions(over.expectations.len())
        .add_properties([
            Property::new("scenario", scenario.name.as_str()),
            Property::new("file", scenario.file.display().to_string()),
            Property::new("seeds", seeds.as_str()),
        ]);
    let wall_time: Option<Duration> = runs.iter().map(|run| run.wall_time).sum();
    if let Some(wall_time) = wall_time {
        case.set_time(wall_time);
    }
    let held: Vec<String> = over
        .expectations
        .iter()
        .map(|expected| {
            format!(
                "{} {}: {}\n",
                expected.expectation,
                expected.limit,
                expected.held_text(over.seeds.len())
            )
        })
        .collect();
    case.set_system_out(held.concat());
    case
}

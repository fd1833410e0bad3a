//! `junit.xml`: one testcase per scenario (per point of a sweep), for CI dashboards. A failed expectation is a
//! `<failure>` listing every broken expectation with its measured value and limit, and how
//! to replay it; a run that could not finish is an `<error>`.

use quick_junit::{NonSuccessKind, Property, TestCase, TestCaseStatus, TestSuite};

use super::Report;

/// The JUnit XML of `reports`, in their order.
pub fn xml(reports: &[Report]) -> Result<String, quick_junit::SerializeError> {
    let mut suite = TestSuite::new("scenarios");
    suite.add_test_cases(reports.iter().map(test_case));
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

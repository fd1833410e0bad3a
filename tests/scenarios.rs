//! One test per bundled scenario (`scenarios/*.toml`), named after the file, so that
//! `cargo test --test scenarios -- wifi` plays the Wi-Fi ones and `-- --list` lists them;
//! a file with a `[sweep]` gives one per point, `loss-sweep[peers.alice.link.loss=5%]`, so
//! `-- sweep` plays them all. A test plays the call and fails with every broken
//! expectation: measured value and limit.
//!
//! Each test plays its call twice and requires the two `report.json`s to be byte for byte
//! the same: same seed, same run (the tests run on several threads at once, as
//! `netsim run --jobs N` does).

use std::path::Path;
use std::process::ExitCode;

use libtest_mimic::{Arguments, Failed, Trial};
use webrtc_netsim::report::Report;
use webrtc_netsim::scenario::expect::Verdict;
use webrtc_netsim::scenario::file::{self, ScenarioFile};
use webrtc_netsim::world::{Run, RunError};

fn main() -> ExitCode {
    let arguments = Arguments::from_args();
    let library = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let trials = match file::collect(&[library]) {
        Ok(paths) => paths.iter().flat_map(|path| trials(path)).collect(),
        Err(error) => vec![Trial::test("scenarios", move || Err(error.to_string().into()))],
    };
    libtest_mimic::run(&arguments, trials).exit_code()
}

/// A test per scenario of the file; a bad file is one failing test named after it.
fn trials(path: &Path) -> Vec<Trial> {
    match file::load_all(path) {
        Ok(files) => files
            .into_iter()
            .map(|file| Trial::test(file.id(), move || play(&file)))
            .collect(),
        Err(error) => {
            let name = path.file_stem().unwrap_or_default().to_string_lossy();
            vec![Trial::test(name, move || Err(error.to_string().into()))]
        }
    }
}

fn play(file: &ScenarioFile) -> Result<(), Failed> {
    let played = file.play();
    same_report_when_replayed(file, &played)?;
    let (_, verdicts) = played.map_err(|error| error.to_string())?;
    let failed: Vec<String> = verdicts
        .iter()
        .filter(|verdict| !verdict.passed)
        .map(|verdict| format!("  {verdict}"))
        .collect();
    if failed.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{} of {} expectations failed:\n{}\nreplay: netsim run {} --seed {}",
        failed.len(),
        verdicts.len(),
        failed.join("\n"),
        file.path.display(),
        file.scenario.seed
    )
    .into())
}

/// Plays `file` again and compares the two reports byte for byte.
fn same_report_when_replayed(
    file: &ScenarioFile,
    played: &Result<(Run, Vec<Verdict>), RunError>,
) -> Result<(), Failed> {
    let json =
        |played| serde_json::to_string_pretty(&Report::new(file, played)).map_err(|error| error.to_string());
    let (first, second) = (json(played)?, json(&file.play())?);
    match first
        .lines()
        .zip(second.lines())
        .position(|(one, other)| one != other)
    {
        None if first.len() == second.len() => Ok(()),
        None => Err("replayed with the same seed, the report has a different length".into()),
        Some(line) => Err(format!(
            "replayed with the same seed, report.json differs from line {}:\n  first:  {}\n  second: {}",
            line + 1,
            first.lines().nth(line).unwrap_or_default(),
            second.lines().nth(line).unwrap_or_default()
        )
        .into()),
    }
}

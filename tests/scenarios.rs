//! One test per bundled scenario (`scenarios/*.toml`), named after the file, so that
//! `cargo test --test scenarios -- wifi` plays the Wi-Fi ones and `-- --list` lists them;
//! a file with a `[sweep]` gives one per point, `loss-sweep[peers.alice.link.loss=5%]`, so
//! `-- sweep` plays them all. A test plays the call and fails with every broken
//! expectation: measured value and limit.

use std::path::Path;
use std::process::ExitCode;

use libtest_mimic::{Arguments, Failed, Trial};
use webrtc_netsim::scenario::file::{self, ScenarioFile};

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
    let (_, verdicts) = file.play().map_err(|error| error.to_string())?;
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

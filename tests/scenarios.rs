//! One test per bundled scenario (`scenarios/*.toml`), named after the file, so that
//! `cargo test --test scenarios -- wifi` plays the Wi-Fi ones and `-- --list` lists them.
//! A test plays the call and fails with every broken expectation: measured value and limit.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use libtest_mimic::{Arguments, Failed, Trial};
use webrtc_netsim::scenario::file;

fn main() -> ExitCode {
    let arguments = Arguments::from_args();
    let library = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let trials = match file::collect(&[library]) {
        Ok(paths) => paths.into_iter().map(trial).collect(),
        Err(error) => vec![Trial::test("scenarios", move || Err(error.to_string().into()))],
    };
    libtest_mimic::run(&arguments, trials).exit_code()
}

fn trial(path: PathBuf) -> Trial {
    let name = path
        .file_stem()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    Trial::test(name, move || play(&path))
}

fn play(path: &Path) -> Result<(), Failed> {
    let file = file::load(path).map_err(|error| error.to_string())?;
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
        path.display(),
        file.scenario.seed
    )
    .into())
}

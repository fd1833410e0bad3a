//! `netsim`: plays scenario files — real webrtc-rs peers over the simulated network — and
//! judges their expectations.
//!
//! Exit codes: 0 when every expectation held, 1 when one failed or a run could not finish,
//! 2 for bad input (a scenario file or an argument).

use std::io::IsTerminal;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use webrtc_netsim::scenario::expect::Verdict;
use webrtc_netsim::scenario::file::{self, FileError, ScenarioFile};

/// Real webrtc-rs peers over simulated bad networks, on a virtual clock.
#[derive(Parser)]
#[command(name = "netsim", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Play scenario files (or every `*.toml` in the folders given) and judge their expectations.
    Run {
        #[arg(required = true, value_name = "FILE_OR_DIR")]
        paths: Vec<PathBuf>,
        /// Replace every scenario's seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Scenarios played at once, each on its own thread. Default: one per CPU.
        #[arg(long)]
        jobs: Option<NonZeroUsize>,
        /// Folder to write `summary.json` into (created if missing).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Print every verdict, not only the failed ones.
        #[arg(long, short)]
        verbose: bool,
    },
    /// Check scenario files without playing them.
    Check {
        #[arg(required = true, value_name = "FILE_OR_DIR")]
        paths: Vec<PathBuf>,
    },
    /// List the bundled scenarios with their stories.
    List,
    /// Print the JSON Schema of scenario files, for editors.
    Schema,
}

/// Where the bundled scenario library lives.
const BUNDLED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios");

const BAD_INPUT: u8 = 2;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Run {
            paths,
            seed,
            jobs,
            out,
            verbose,
        } => run(&paths, seed, jobs, out.as_deref(), verbose),
        Command::Check { paths } => check(&paths),
        Command::List => list(),
        Command::Schema => match serde_json::to_string_pretty(&file::json_schema()) {
            Ok(schema) => {
                println!("{schema}");
                ExitCode::SUCCESS
            }
            Err(error) => bad_input(&format!("netsim: cannot print the schema: {error}")),
        },
    }
}

fn bad_input(message: &str) -> ExitCode {
    eprintln!("{message}");
    ExitCode::from(BAD_INPUT)
}

/// Reads every scenario file among `paths`, or prints every error found.
fn load_all(paths: &[PathBuf]) -> Result<Vec<ScenarioFile>, Vec<FileError>> {
    let files = file::collect(paths).map_err(|error| vec![error])?;
    let (loaded, errors): (Vec<_>, Vec<_>) =
        files.iter().map(|path| file::load(path)).partition(Result::is_ok);
    if errors.is_empty() {
        Ok(loaded.into_iter().filter_map(Result::ok).collect())
    } else {
        Err(errors.into_iter().filter_map(Result::err).collect())
    }
}

fn report_errors(errors: &[FileError]) -> ExitCode {
    for error in errors {
        eprintln!("{error}\n");
    }
    bad_input(&format!("netsim: {} bad scenario file(s)", errors.len()))
}

fn check(paths: &[PathBuf]) -> ExitCode {
    match load_all(paths) {
        Ok(files) => {
            for file in &files {
                println!(
                    "ok  {}  ({} expectations)",
                    file.path.display(),
                    file.expectations.len()
                );
            }
            ExitCode::SUCCESS
        }
        Err(errors) => report_errors(&errors),
    }
}

fn list() -> ExitCode {
    match load_all(&[PathBuf::from(BUNDLED)]) {
        Ok(files) => {
            for file in &files {
                let description = file.description.split_whitespace().collect::<Vec<_>>().join(" ");
                println!("{:<26} {description}", stem(&file.path));
            }
            ExitCode::SUCCESS
        }
        Err(errors) => report_errors(&errors),
    }
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned()
}

/// How one scenario went.
#[derive(Serialize)]
struct Outcome {
    file: PathBuf,
    name: String,
    seed: u64,
    /// Every expectation held.
    passed: bool,
    connect_time_ms: Option<f64>,
    /// Why the run could not finish, if it could not.
    error: Option<String>,
    verdicts: Vec<Verdict>,
}

fn run(
    paths: &[PathBuf],
    seed: Option<u64>,
    jobs: Option<NonZeroUsize>,
    out: Option<&Path>,
    verbose: bool,
) -> ExitCode {
    let mut files = match load_all(paths) {
        Ok(files) => files,
        Err(errors) => return report_errors(&errors),
    };
    if let Some(seed) = seed {
        for file in &mut files {
            file.scenario.seed = seed;
        }
    }
    if let Some(out) = out
        && let Err(error) = std::fs::create_dir_all(out)
    {
        return bad_input(&format!("netsim: cannot create {}: {error}", out.display()));
    }

    let jobs = jobs
        .or_else(|| std::thread::available_parallelism().ok())
        .map_or(1, NonZeroUsize::get);
    let outcomes = play_all(&files, jobs);
    print_summary(&outcomes, verbose);
    if let Some(out) = out
        && let Err(error) = write_summary(out, &outcomes)
    {
        eprintln!(
            "netsim: cannot write {}: {error}",
            out.join("summary.json").display()
        );
    }
    if outcomes.iter().all(|outcome| outcome.passed) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Plays every file on `jobs` threads (worlds are independent), in file order for the result.
fn play_all(files: &[ScenarioFile], jobs: usize) -> Vec<Outcome> {
    let progress = if files.len() > 1 && std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(files.len() as u64);
        if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} scenarios  {elapsed}  {msg}") {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(200));
        bar
    } else {
        ProgressBar::hidden()
    };
    let next = AtomicUsize::new(0);
    let outcomes = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(files.len()) {
            scope.spawn(|| {
                while let Some(file) = files.get(next.fetch_add(1, Ordering::Relaxed)) {
                    progress.set_message(stem(&file.path));
                    let outcome = play(file);
                    progress.inc(1);
                    outcomes
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner())
                        .push(outcome);
                }
            });
        }
    });
    progress.finish_and_clear();
    let mut outcomes = outcomes
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    outcomes.sort_by(|a, b| a.file.cmp(&b.file));
    outcomes
}

fn play(file: &ScenarioFile) -> Outcome {
    let (connect_time, error, verdicts) = match file.play() {
        Ok((run, verdicts)) => (run.metrics.connect_time, None, verdicts),
        Err(error) => (None, Some(error.to_string()), Vec::new()),
    };
    Outcome {
        file: file.path.clone(),
        name: file.scenario.name.clone(),
        seed: file.scenario.seed,
        passed: error.is_none() && verdicts.iter().all(|verdict| verdict.passed),
        connect_time_ms: connect_time.map(|connect| connect.as_secs_f64() * 1000.0),
        error,
        verdicts,
    }
}

/// One row per scenario, then what failed (or, `verbose`, every verdict) and how to replay
/// the failures.
fn print_summary(outcomes: &[Outcome], verbose: bool) {
    println!(
        "{:<28} {:<7} {:>9}  expectations",
        "scenario", "verdict", "connect"
    );
    for outcome in outcomes {
        let connect = outcome
            .connect_time_ms
            .map_or("-".to_owned(), |ms| format!("{ms:.0} ms"));
        let failed = outcome.verdicts.iter().filter(|verdict| !verdict.passed).count();
        let verdict = if outcome.passed { "pass" } else { "FAIL" };
        let held = format!(
            "{} of {} held",
            outcome.verdicts.len() - failed,
            outcome.verdicts.len()
        );
        println!("{:<28} {verdict:<7} {connect:>9}  {held}", stem(&outcome.file));
    }
    for outcome in outcomes.iter().filter(|outcome| verbose || !outcome.passed) {
        println!(
            "\n{} (`{}`, seed {}):",
            outcome.file.display(),
            outcome.name,
            outcome.seed
        );
        if let Some(error) = &outcome.error {
            println!("  could not finish: {error}");
        }
        for verdict in outcome
            .verdicts
            .iter()
            .filter(|verdict| verbose || !verdict.passed)
        {
            println!("  {verdict}");
        }
        if !outcome.passed {
            println!(
                "  replay: netsim run {} --seed {}",
                outcome.file.display(),
                outcome.seed
            );
        }
    }
    let passed = outcomes.iter().filter(|outcome| outcome.passed).count();
    println!("\n{passed} passed, {} failed", outcomes.len() - passed);
}

/// Writes `summary.json` whole or not at all: to a temporary file, then renamed.
fn write_summary(out: &Path, outcomes: &[Outcome]) -> std::io::Result<()> {
    let json = serde_json::to_vec_pretty(outcomes)?;
    let partial = out.join(".summary.json.partial");
    std::fs::write(&partial, json)?;
    std::fs::rename(partial, out.join("summary.json"))
}

//! `netsim`: plays scenario files — real webrtc-rs peers over the simulated network — and
//! judges their expectations.
//!
//! Exit codes: 0 when every expectation held, 1 when one failed, a run could not finish or a
//! report could not be written, 2 for bad input (a scenario file or an argument).

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
use webrtc_netsim::net::network::capturing;
use webrtc_netsim::report::seeds::Distribution;
use webrtc_netsim::report::seeds::{OverSeeds, Seeded, Seeds};
use webrtc_netsim::report::{self, Report, write_atomically};
use webrtc_netsim::runtime::{self, Stuck};
use webrtc_netsim::scenario::expect::{Unit, Verdict};
use webrtc_netsim::scenario::file::{self, FileError, ScenarioFile};
use webrtc_netsim::suite::Shard;
use webrtc_netsim::world::RunError;

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
        /// Play every scenario once per seed A to B (both included, e.g. `1..20`) and print,
        /// per scenario, the share of seeds on which each expectation held and how its
        /// measured value and the connect time spread (min, p50, p95, max). Fails if an
        /// expectation held on fewer seeds than its `share` (every seed unless the file says
        /// otherwise) or a seed's run could not finish. With `--out`, each seed's reports go to `<name>_seed-<N>/`,
        /// `summary.json` has a row per seed, `<name>/index.html` is the page over the seeds
        /// and `junit.xml` has one test case per scenario over its seeds.
        #[arg(long, value_name = "A..B", conflicts_with = "seed")]
        seeds: Option<Seeds>,
        /// Scenarios played at once, each on its own thread. Default: one per CPU.
        #[arg(long)]
        jobs: Option<NonZeroUsize>,
        /// Folder to write reports into (created if missing): `summary.json`, `junit.xml`,
        /// per scenario `<name>/report.json` and `<name>/index.html`, and per sweep
        /// `<file name>/index.html`.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Also write `<name>/<host>.pcap` per scenario: every datagram each host sent or
        /// received.
        #[arg(long, requires = "out")]
        pcap: bool,
        /// Print every verdict, not only the failed ones.
        #[arg(long, short)]
        verbose: bool,
        /// Stop a scenario as stuck after this much wall-clock time (e.g. `90s`); the run
        /// carries on with the next one.
        #[arg(long, value_name = "DURATION", value_parser = file::parse_duration, default_value = "300s")]
        watchdog: Duration,
        /// Cross-check: run on tokio and the wall clock instead of the virtual clock. Each
        /// call then takes its real duration.
        #[arg(long)]
        realtime: bool,
        /// Play only part K of N of the scenarios (files and sweep points), split by a hash
        /// of their names as `cargo nextest --partition hash:K/N` splits tests: one part per
        /// CI machine. Reports cover that part.
        #[arg(long, value_name = "K/N")]
        shard: Option<Shard>,
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
    // Like other Unix tools, end quietly when the reader of our output goes away
    // (`netsim run … | head`) instead of panicking on the broken pipe. Rust ignores
    // SIGPIPE by default.
    // SAFETY: restoring a signal's default disposition before any thread is started.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    tracing_subscriber::fmt()
        // The trace and the reports hold what happened; webrtc-rs's own logs (loud on bad
        // networks, by design of this tool) only with RUST_LOG.
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off,netsim=warn,webrtc_netsim=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Run {
            paths,
            seed,
            seeds,
            jobs,
            out,
            pcap,
            verbose,
            watchdog,
            realtime,
            shard,
        } => {
            let options = RunOptions {
                seed,
                seeds,
                jobs,
                pcap,
                verbose,
                watchdog,
                realtime,
                shard,
            };
            run(&paths, out.as_deref(), &options)
        }
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

/// Reads every scenario file among `paths`, each as its scenarios (one per sweep point), or
/// every error found.
fn load_all(paths: &[PathBuf]) -> Result<Vec<Vec<ScenarioFile>>, Vec<FileError>> {
    let files = file::collect(paths).map_err(|error| vec![error])?;
    let (loaded, errors): (Vec<_>, Vec<_>) = files
        .iter()
        .map(|path| file::load_all(path))
        .partition(Result::is_ok);
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
            for points in &files {
                let [first, ..] = points.as_slice() else { continue };
                let sweep = match points.len() {
                    1 if first.point.is_empty() => String::new(),
                    count => format!("{count} sweep points, "),
                };
                println!(
                    "ok  {}  ({sweep}{} expectations)",
                    first.path.display(),
                    first.expectations.len()
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
            for file in files.iter().filter_map(|points| points.first()) {
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

/// What `summary.json` holds per scenario.
#[derive(Serialize)]
struct Outcome<'a> {
    file: &'a Path,
    name: &'a str,
    seed: u64,
    /// Every expectation held.
    passed: bool,
    connect_time_ms: Option<f64>,
    /// Why the run could not finish, if it could not.
    error: Option<&'a str>,
    verdicts: &'a [Verdict],
}

impl<'a> Outcome<'a> {
    fn new(report: &'a Report) -> Self {
        Outcome {
            file: &report.scenario.file,
            name: &report.scenario.name,
            seed: report.scenario.seed,
            passed: report.passed,
            connect_time_ms: connect_time(report).map(|connect| connect.as_secs_f64() * 1000.0),
            error: report.error.as_deref(),
            verdicts: &report.verdicts,
        }
    }
}

fn connect_time(report: &Report) -> Option<Duration> {
    report.metrics.as_ref()?.connect_time
}

/// Where reports go, if anywhere.
#[derive(Clone, Copy)]
struct Output<'a> {
    dir: &'a Path,
    pcap: bool,
}

/// `netsim run`'s flags besides the paths and the output folder.
struct RunOptions {
    seed: Option<u64>,
    seeds: Option<Seeds>,
    jobs: Option<NonZeroUsize>,
    pcap: bool,
    verbose: bool,
    watchdog: Duration,
    realtime: bool,
    shard: Option<Shard>,
}

/// The exit code of a run stopped by Ctrl-C (128 + SIGINT, as shells expect).
const INTERRUPTED: u8 = 130;

fn run(paths: &[PathBuf], out: Option<&Path>, options: &RunOptions) -> ExitCode {
    let mut files: Vec<ScenarioFile> = match load_all(paths) {
        Ok(files) => files.into_iter().flatten().collect(),
        Err(errors) => return report_errors(&errors),
    };
    if let Some(shard) = options.shard {
        let all = files.len();
        files.retain(|file| shard.holds(&file.id()));
        println!("shard {shard}: {} of {all} scenarios\n", files.len());
    }
    for file in &mut files {
        // `--seed` plays one seed, `--seeds` these seeds, instead of the file's own.
        if let Some(seed) = options.seed {
            file.scenario.world.seed = seed;
            file.seeds = None;
        }
        file.seeds = options.seeds.or(file.seeds);
        file.scenario.world.watchdog = options.watchdog;
        file.scenario.world.realtime = options.realtime;
    }
    if let Some(out) = out {
        let mut folders: Vec<String> = files
            .iter()
            .map(|file| report::folder(&file.path, &file.point))
            .collect();
        // A sweep's own page goes in a folder named after its file.
        let mut sweeps: Vec<&Path> = files
            .iter()
            .filter(|file| !file.point.is_empty())
            .map(|file| file.path.as_path())
            .collect();
        sweeps.dedup();
        folders.extend(sweeps.into_iter().map(|path| report::folder(path, &[])));
        folders.sort();
        if let Some(twice) = folders.windows(2).find(|pair| pair[0] == pair[1]) {
            return bad_input(&format!(
                "netsim: two scenario files are named `{}`: their reports would overwrite each other",
                twice[0]
            ));
        }
        if let Err(error) = std::fs::create_dir_all(out) {
            return bad_input(&format!("netsim: cannot create {}: {error}", out.display()));
        }
    }

    // After the check of the folder names: a scenario's seeds' folders end in their seed.
    files = files.iter().flat_map(ScenarioFile::per_seed).collect();
    stop_on_ctrl_c();
    let jobs = options
        .jobs
        .or_else(|| std::thread::available_parallelism().ok())
        .map_or(1, NonZeroUsize::get);
    let output = out.map(|dir| Output {
        dir,
        pcap: options.pcap,
    });
    let (reports, written): (Vec<Report>, Vec<bool>) = play_all(&files, jobs, output).into_iter().unzip();
    // Files played once, and those played over seeds (side by side, one run per seed).
    let (single, seeded): (Vec<_>, Vec<_>) = files
        .iter()
        .zip(reports)
        .partition(|(file, _)| file.seeds.is_none());
    let single: Vec<Report> = single.into_iter().map(|(_, report)| report).collect();
    let seeded: Vec<Report> = seeded.into_iter().map(|(_, report)| report).collect();
    if !single.is_empty() || seeded.is_empty() {
        print_summary(&single, options.verbose);
        print_sweeps(&single);
    }
    let seeds_held = print_over_seeds(&seeded);
    if runtime::interrupted() {
        eprintln!(
            "netsim: interrupted; {} of {} scenarios finished{}",
            single
                .iter()
                .chain(&seeded)
                .filter(|report| report.error.is_none())
                .count(),
            files.len(),
            match out {
                Some(out) => format!(
                    ", their reports are in {} (no summary.json or junit.xml for a partial suite)",
                    out.display()
                ),
                None => String::new(),
            }
        );
        return ExitCode::from(INTERRUPTED);
    }
    // A scenario whose reports could not be written still has its row in the suite's files.
    // The sweep pages show the files played once: a sweep page shows one run per point.
    let suite_written = out.is_none_or(|out| {
        write_summary(out, single.iter().chain(&seeded))
            & write_junit(out, &single, &seeded)
            & write_sweeps(out, &single)
            & write_seed_pages(out, &seeded)
    });
    if written.into_iter().all(|written| written)
        && suite_written
        && single.iter().all(|report| report.passed)
        && seeds_held
    {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Ctrl-C stops the runs at their next look at the clock; nothing is written for a run it
/// stopped. A second Ctrl-C exits at once.
fn stop_on_ctrl_c() {
    let handled = ctrlc::set_handler(|| {
        if runtime::interrupted() {
            std::process::exit(i32::from(INTERRUPTED));
        }
        eprintln!("\nnetsim: stopping (Ctrl-C again to quit at once)");
        runtime::interrupt();
    });
    if let Err(error) = handled {
        eprintln!("netsim: Ctrl-C will kill the run instead of stopping it: {error}");
    }
}

/// Plays every scenario on `jobs` threads (worlds are independent), in their order for the
/// result; each with whether its reports were written.
fn play_all(files: &[ScenarioFile], jobs: usize, output: Option<Output>) -> Vec<(Report, bool)> {
    // A wall-clock run takes the call's real length, so even one scenario shows progress.
    let long = files.len() > 1 || files.iter().any(|file| file.scenario.world.realtime);
    let progress = if long && std::io::stderr().is_terminal() {
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
    let played = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(files.len()) {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(file) = files.get(index) else { break };
                    if runtime::interrupted() {
                        break;
                    }
                    progress.set_message(file.id());
                    let outcome = play(file, output);
                    progress.inc(1);
                    played
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner())
                        .push((index, outcome));
                }
            });
        }
    });
    progress.finish_and_clear();
    let mut played = played
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    played.sort_by_key(|(index, _)| *index);
    played.into_iter().map(|(_, outcome)| outcome).collect()
}

/// Plays one scenario and, with `output`, writes its report folder ([`report::folder`]);
/// returns its report and whether the folder was written.
fn play(file: &ScenarioFile, output: Option<Output>) -> (Report, bool) {
    let Some(output) = output else {
        return (Report::new(file, &file.play()), true);
    };
    let (played, captured) = if output.pcap {
        capturing(|| file.play())
    } else {
        (file.play(), Vec::new())
    };
    let interrupted = matches!(
        &played,
        Err(RunError::Stuck {
            stuck: Stuck::Interrupted { .. },
            ..
        })
    );
    let report = Report::new(file, &played);
    if interrupted {
        return (report, false);
    }
    let dir = output.dir.join(report::run_folder(file));
    let written = report.write(&dir).and_then(|()| {
        if output.pcap {
            report::pcap::write(&dir, &captured)
        } else {
            Ok(())
        }
    });
    if let Err(error) = &written {
        eprintln!("netsim: cannot write the reports in {}: {error}", dir.display());
    }
    (report, written.is_ok())
}

/// One row per scenario, then what failed (or, `verbose`, every verdict) and how to replay
/// the failures.
fn print_summary(reports: &[Report], verbose: bool) {
    let width = reports
        .iter()
        .map(|report| report.scenario.id.chars().count())
        .fold(28, usize::max);
    println!(
        "{:<width$} {:<7} {:>9}  expectations",
        "scenario", "verdict", "connect"
    );
    for report in reports {
        let connect = connect_ms(report);
        let failed = report.verdicts.iter().filter(|verdict| !verdict.passed).count();
        let verdict = if report.passed { "pass" } else { "FAIL" };
        let held = format!(
            "{} of {} held",
            report.verdicts.len() - failed,
            report.verdicts.len()
        );
        println!("{:<width$} {verdict:<7} {connect:>9}  {held}", report.scenario.id);
    }
    for report in reports.iter().filter(|report| verbose || !report.passed) {
        let scenario = &report.scenario;
        println!(
            "\n{} (`{}`, seed {}):",
            scenario.file.display(),
            scenario.name,
            scenario.seed
        );
        if let Some(error) = &report.error {
            println!("  could not finish: {error}");
        }
        for verdict in report
            .verdicts
            .iter()
            .filter(|verdict| verbose || !verdict.passed)
        {
            println!("  {verdict}");
        }
        for error in report.peer_errors() {
            println!("  {error}");
        }
        if !report.passed {
            println!(
                "  replay: netsim run {} --seed {}",
                scenario.file.display(),
                scenario.seed
            );
        }
    }
    let passed = reports.iter().filter(|report| report.passed).count();
    println!("\n{passed} passed, {} failed", reports.len() - passed);
}

/// Per sweep, a row per point: its values, the verdict, the connect time and the telling
/// measure: the first broken expectation's, or else the first one after connecting.
fn print_sweeps(reports: &[Report]) {
    for points in report::sweep::groups(reports) {
        let widths: Vec<usize> = points[0]
            .scenario
            .point
            .iter()
            .enumerate()
            .map(|(axis, setting)| {
                let values = points
                    .iter()
                    .map(|report| report.scenario.point[axis].value.chars().count());
                values.fold(setting.path.chars().count(), usize::max)
            })
            .collect();
        let row = |values: Vec<&str>, verdict: &str, connect: &str, measure: &str| {
            let cells: Vec<String> = values
                .iter()
                .zip(&widths)
                .map(|(value, width)| format!("{value:<width$}"))
                .collect();
            println!("{}  {verdict:<7} {connect:>9}  {measure}", cells.join("  "));
        };
        println!("\nsweep {}:", points[0].scenario.file.display());
        let paths = points[0]
            .scenario
            .point
            .iter()
            .map(|setting| setting.path.as_str());
        row(paths.collect(), "verdict", "connect", "measured");
        for report in points {
            let telling = report
                .verdicts
                .iter()
                .find(|verdict| !verdict.passed)
                .or_else(|| {
                    let after_connecting = |verdict: &&Verdict| verdict.expectation != "connect_time";
                    report.verdicts.iter().find(after_connecting)
                });
            let measure = match (&report.error, telling) {
                (Some(error), _) => format!("could not finish: {error}"),
                (None, Some(verdict)) => format!("{}: {}", verdict.expectation, verdict.measured),
                (None, None) => String::new(),
            };
            let values = report.scenario.point.iter().map(|setting| setting.value.as_str());
            let verdict = if report.passed { "pass" } else { "FAIL" };
            row(values.collect(), verdict, &connect_ms(report), &measure);
        }
    }
}

/// The connect time as the tables show it.
fn connect_ms(report: &Report) -> String {
    connect_time(report).map_or("-".to_owned(), |connect| {
        format!("{:.0} ms", connect.as_secs_f64() * 1000.0)
    })
}

/// Writes each sweep's page, `<file name>/index.html`; says what it could not write.
fn write_sweeps(out: &Path, reports: &[Report]) -> bool {
    let mut all = true;
    for points in report::sweep::groups(reports) {
        if let Err(error) = report::sweep::write(out, &points) {
            let dir = out.join(report::sweep::folder(&points));
            eprintln!(
                "netsim: cannot write the sweep page in {}: {error}",
                dir.display()
            );
            all = false;
        }
    }
    all
}

/// Writes the page of each scenario played over seeds (its runs side by side in `seeded`).
fn write_seed_pages(out: &Path, seeded: &[Report]) -> bool {
    let mut all = true;
    for runs in report::seeds::by_scenario(seeded) {
        if let Err(error) = report::seeds_page::write(out, runs) {
            let dir = out.join(runs[0].scenario.folder());
            eprintln!(
                "netsim: cannot write the seeds page in {}: {error}",
                dir.display()
            );
            all = false;
        }
    }
    all
}

/// Writes `out/<name>`; says what it could not write.
fn write_suite_file(out: &Path, name: &str, bytes: std::io::Result<Vec<u8>>) -> bool {
    let path = out.join(name);
    let written = bytes.and_then(|bytes| write_atomically(&path, &bytes));
    if let Err(error) = &written {
        eprintln!("netsim: cannot write {}: {error}", path.display());
    }
    written.is_ok()
}

/// Writes `summary.json`, a row per run.
fn write_summary<'a>(out: &Path, reports: impl IntoIterator<Item = &'a Report>) -> bool {
    let outcomes: Vec<Outcome> = reports.into_iter().map(Outcome::new).collect();
    let bytes = serde_json::to_vec_pretty(&outcomes).map_err(std::io::Error::from);
    write_suite_file(out, "summary.json", bytes)
}

/// Writes `junit.xml`: a test case per run of `single`, and one per scenario of `seeded`
/// over its seeds.
fn write_junit(out: &Path, single: &[Report], seeded: &[Report]) -> bool {
    let xml = report::junit::xml(single, seeded)
        .map(String::into_bytes)
        .map_err(std::io::Error::other);
    write_suite_file(out, "junit.xml", xml)
}

/// The min, p50, p95 and max columns of a row of [`print_over_seeds`].
fn spread_cells(unit: Unit, spread: &Distribution) -> String {
    cells([spread.min, spread.p50, spread.p95, spread.max].map(|value| unit.show(value)))
}

/// Right-aligned columns, a space before each even where a value is wider than its column
/// (`563.187kbps`), so they never run together.
fn cells(values: [String; 4]) -> String {
    values.map(|value| format!(" {value:>10}")).concat()
}

/// Per scenario (its runs are side by side in `reports`, one per seed): the share of seeds
/// on which each expectation held and how its measured value spread, the connect time's
/// spread, and the seeds to replay a failure with. Whether every scenario held over its
/// seeds.
fn print_over_seeds(reports: &[Report]) -> bool {
    let mut held = true;
    for runs in report::seeds::by_scenario(reports) {
        let over = OverSeeds::of(&runs.iter().map(Seeded::from).collect::<Vec<_>>());
        held &= over.held();
        let seeds = over.range();
        let label = |expectation: &str, limit: &str| format!("{expectation} {limit}");
        let width = over
            .expectations
            .iter()
            .map(|expected| label(&expected.expectation, &expected.limit).chars().count())
            .fold("connect_time (the call)".len(), usize::max);
        let passed = runs.iter().filter(|run| run.passed).count();
        println!(
            "{} over seeds {seeds}: {} ({passed} of {} runs passed every expectation)",
            runs[0].scenario.id,
            if over.held() { "held" } else { "FAILED" },
            runs.len()
        );
        let row = |name: &str, held: usize, spread: Option<(Unit, Distribution)>| {
            let cells = spread.map_or_else(String::new, |(unit, spread)| spread_cells(unit, &spread));
            let held = format!("{held} of {} seeds", runs.len());
            println!("  {name:<width$}  {held:>14}{cells}");
        };
        println!(
            "  {:<width$}  {:>14}{}",
            "expectation",
            "held on",
            cells(["min", "p50", "p95", "max"].map(str::to_owned))
        );
        row(
            "connect_time (the call)",
            over.connected,
            over.connect_time.map(|spread| (Unit::Seconds, spread)),
        );
        for expected in &over.expectations {
            let name = label(&expected.expectation, &expected.limit);
            row(&name, over.seeds.len() - expected.failed_on.len(), expected.value);
        }
        for run in runs.iter().filter(|run| run.error.is_some()) {
            let error = run.error.as_deref().unwrap_or_default();
            println!("  seed {} could not finish: {error}", run.scenario.seed);
        }
        for expected in over
            .expectations
            .iter()
            .filter(|expected| !expected.failed_on.is_empty())
        {
            let failed: Vec<String> = expected.failed_on.iter().map(u64::to_string).collect();
            println!(
                "  {} {}: {} (failed on seeds {}); replay: netsim run {} --seed {}",
                if expected.held(runs.len()) {
                    "held"
                } else {
                    "FAILED"
                },
                expected.expectation,
                expected.held_text(runs.len()),
                failed.join(", "),
                runs[0].scenario.file.display(),
                expected.failed_on[0]
            );
        }
        println!();
    }
    held
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_cells_stay_apart_when_a_value_is_wider_than_its_column() {
        let spread = Distribution {
            min: 18_088.0,
            p50: 563_187.0,
            p95: 1_093_000.0,
            max: 1_093_000.0,
        };
        let cells = spread_cells(Unit::Bps, &spread);
        assert_eq!(
            cells.split_whitespace().collect::<Vec<_>>(),
            ["18.088kbps", "563.187kbps", "1.093Mbps", "1.093Mbps"],
            "{cells}"
        );
    }
}

//! A scenario library as tests: one libtest-mimic trial per file and sweep point, named
//! after it, for the bundled library (`tests/scenarios.rs`) and for a user crate's own test
//! target, whose scenario files name its registered apps. A trial plays its call twice and
//! fails on a broken expectation (measured value and limit, and how to replay it) or on two
//! `report.json`s that differ: same seed, same run.
//!
//! ```no_run
//! // tests/scenarios.rs of a user crate, with `harness = false` in its Cargo.toml
//! use webrtc_netsim::sim::{Apps, CommandKind};
//!
//! fn main() -> std::process::ExitCode {
//!     let apps = Apps::new()
//!         .app("my-client", |ctx| async move { drop(ctx) /* the app, on ctx */ })
//!         .takes(&[CommandKind::RestartIce]);
//!     let folder = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios");
//!     let trials = webrtc_netsim::suite::scenario_trials(folder, &apps);
//!     libtest_mimic::run(&libtest_mimic::Arguments::from_args(), trials).exit_code()
//! }
//! ```

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use libtest_mimic::{Failed, Trial};

use crate::report::seeds::{OverSeeds, Seeded};
use crate::report::{self, Report};
use crate::scenario::Seeds;
use crate::scenario::file::{self, ScenarioFile};
use crate::sim::Apps;

/// Where the trials write each scenario's report (`report.json`, `index.html`) when set:
/// a folder per scenario, as `netsim run --out` names them.
pub const REPORTS_ENV: &str = "NETSIM_REPORTS";

/// Part `K` of `N` of a scenario library (`netsim run --shard K/N`), to split a large one
/// across CI machines as `cargo nextest run --partition hash:K/N` splits tests: a scenario
/// (a file, or one point of its sweep) is in the part its id's hash falls in, modulo `N`.
/// Between them the `N` parts play every scenario once; the hash depends on the id
/// alone, so neither a seed nor another file moves a scenario to another part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// `K`, from 1.
    part: u64,
    /// `N`.
    parts: u64,
}

impl Shard {
    /// Whether the scenario with this [`ScenarioFile::id`] is in this part.
    pub fn holds(&self, id: &str) -> bool {
        mix(report::fnv1a(id.as_bytes())) % self.parts == self.part - 1
    }
}

/// MurmurHash3's finaliser: every bit of `hash` moves every bit of the result. FNV-1a's own
/// low bits see only the bytes' low bits (modulo 2, a name's part would be the parity of its
/// odd bytes), and a sweep's points differ only in their last bytes.
fn mix(mut hash: u64) -> u64 {
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    hash ^ (hash >> 33)
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (part, parts) = text
            .split_once('/')
            .ok_or("expected K/N, as in 1/2: part K of N")?;
        let number = |text: &str| {
            text.parse::<u64>()
                .map_err(|_| format!("`{text}` is not a whole number"))
        };
        let (part, parts) = (number(part)?, number(parts)?);
        if parts == 0 {
            return Err("N must be at least 1".to_owned());
        }
        if !(1..=parts).contains(&part) {
            return Err(format!("K must be between 1 and N (here 1 and {parts})"));
        }
        Ok(Shard { part, parts })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.part, self.parts)
    }
}

/// A trial per scenario of the `*.toml` files in `folder`, in name order, their peers'
/// apps taken from `apps`; a file that does not check is one failing trial named after it.
pub fn scenario_trials(folder: impl AsRef<Path>, apps: &Apps) -> Vec<Trial> {
    let folder = folder.as_ref();
    match file::collect(&[folder.to_owned()]) {
        Ok(paths) => paths.iter().flat_map(|path| trials(path, apps)).collect(),
        Err(error) => {
            let name = folder.file_name().unwrap_or_default().to_string_lossy();
            vec![Trial::test(name, move || Err(error.to_string().into()))]
        }
    }
}

/// A trial per scenario of the file at `path`.
fn trials(path: &Path, apps: &Apps) -> Vec<Trial> {
    match file::load_all_with(path, apps) {
        Ok(files) => files
            .into_iter()
            .map(|file| {
                let apps = apps.clone();
                Trial::test(file.id(), move || play(&file, &apps))
            })
            .collect(),
        Err(error) => {
            let name = path.file_stem().unwrap_or_default().to_string_lossy();
            vec![Trial::test(name, move || Err(error.to_string().into()))]
        }
    }
}

fn play(file: &ScenarioFile, apps: &Apps) -> Result<(), Failed> {
    if let Some(seeds) = file.seeds {
        return play_over(file, seeds, apps);
    }
    let played = file.play_with(apps);
    let report = Report::new(file, &played);
    write_report(file, &report)?;
    same_report_when_replayed(file, apps, &report)?;
    let (_, verdicts) = played.map_err(|error| error.to_string())?;
    let failed: Vec<String> = verdicts
        .iter()
        .filter(|verdict| !verdict.passed)
        .map(|verdict| format!("  {verdict}"))
        .collect();
    if failed.is_empty() {
        return Ok(());
    }
    let errors: String = report.peer_errors().map(|error| format!("\n  {error}")).collect();
    Err(format!(
        "{} of {} expectations failed:\n{}{errors}\nreplay: {}",
        failed.len(),
        verdicts.len(),
        failed.join("\n"),
        replay(file)
    )
    .into())
}

/// Plays `file` once per seed of `seeds` (the first seed twice: same seed, same report), and
/// fails with each expectation that did not hold on its share of them.
fn play_over(file: &ScenarioFile, seeds: Seeds, apps: &Apps) -> Result<(), Failed> {
    let mut reports = Vec::new();
    for seeded in file.per_seed() {
        let report = Report::new(&seeded, &seeded.play_with(apps));
        write_report(&seeded, &report)?;
        if seeded.scenario.world.seed == seeds.first {
            same_report_when_replayed(&seeded, apps, &report)?;
        }
        reports.push(report);
    }
    let over = OverSeeds::of(&reports.iter().map(Seeded::from).collect::<Vec<_>>());
    if over.held() {
        return Ok(());
    }
    let mut failed: Vec<String> = reports
        .iter()
        .filter_map(|report| {
            Some(format!(
                "  seed {} could not finish: {}",
                report.scenario.seed,
                report.error.as_ref()?
            ))
        })
        .collect();
    let count = over.seeds.len();
    failed.extend(
        over.expectations
            .iter()
            .filter(|expected| !expected.held(count))
            .map(|expected| {
                let seeds: Vec<String> = expected.failed_on.iter().map(u64::to_string).collect();
                format!(
                    "  {} {}: {} (failed on seeds {})",
                    expected.expectation,
                    expected.limit,
                    expected.held_text(count),
                    seeds.join(", ")
                )
            }),
    );
    let first_failed = over
        .unfinished
        .iter()
        .chain(over.expectations.iter().flat_map(|expected| &expected.failed_on))
        .min()
        .copied()
        .unwrap_or(seeds.first);
    Err(format!(
        "over seeds {seeds}:\n{}\nreplay: {}",
        failed.join("\n"),
        replay(&file.with_seed(first_failed))
    )
    .into())
}

/// How to play `file` again: `netsim` for the built-in app, the test itself for registered
/// ones.
fn replay(file: &ScenarioFile) -> String {
    if file.scenario.peers.iter().any(|peer| peer.app.is_some()) {
        // Read when the test runs: cargo sets `CARGO_PKG_NAME` for the test binaries it
        // runs, and at compile time this library would see its own name.
        let package = std::env::var("CARGO_PKG_NAME").ok();
        let exe = std::env::current_exe().ok();
        return format!(
            "{} (seed {})",
            replay_test(package.as_deref(), exe.as_deref(), &file.id()),
            file.scenario.world.seed
        );
    }
    format!(
        "netsim run {} --seed {}",
        file.path.display(),
        file.scenario.world.seed
    )
}

/// `cargo test -p <package> --test <target> -- --exact '<name>'`, leaving out what is not
/// known, so that the command plays this one trial from anywhere in a workspace. The target
/// is the executable's name without cargo's `-<hash>`; cargo names it after the target
/// with `-` made `_`, which `--test` then refuses, suggesting the target's real name.
fn replay_test(package: Option<&str>, exe: Option<&Path>, name: &str) -> String {
    let target = exe
        .and_then(|exe| exe.file_stem()?.to_str()?.rsplit_once('-'))
        .filter(|(_, hash)| hash.len() == 16 && hash.bytes().all(|byte| byte.is_ascii_hexdigit()))
        .map(|(target, _)| target);
    let mut command = "cargo test".to_owned();
    if let Some(package) = package {
        command += &format!(" -p {package}");
    }
    if let Some(target) = target {
        command += &format!(" --test {target}");
    }
    format!("{command} -- --exact '{name}'")
}

/// Writes `report` to [`REPORTS_ENV`]'s folder if set: in a folder per scenario, and per
/// seed for a file played over seeds, as `netsim run --out` names them.
fn write_report(file: &ScenarioFile, report: &Report) -> Result<(), Failed> {
    let Some(dir) = std::env::var_os(REPORTS_ENV) else {
        return Ok(());
    };
    let dir = PathBuf::from(dir).join(report::run_folder(file));
    report
        .write(&dir)
        .map_err(|error| format!("cannot write the report in {}: {error}", dir.display()).into())
}

/// Plays `file` again and compares its report with `report`, the first play's, byte for byte.
fn same_report_when_replayed(file: &ScenarioFile, apps: &Apps, report: &Report) -> Result<(), Failed> {
    let json = |report: &Report| serde_json::to_string_pretty(report).map_err(|error| error.to_string());
    let (first, second) = (json(report)?, json(&Report::new(file, &file.play_with(apps)))?);
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{Shard, replay_test};

    fn shard(text: &str) -> Shard {
        text.parse().expect("a valid shard")
    }

    #[test]
    fn every_id_is_in_exactly_one_part_and_always_the_same() {
        let ids: Vec<String> = (0..200)
            .map(|index| format!("scenario-{index}[peers.alice.link.loss={index}%]"))
            .collect();
        for parts in 1..=5 {
            let shards: Vec<Shard> = (1..=parts)
                .map(|part| shard(&format!("{part}/{parts}")))
                .collect();
            for id in &ids {
                let holding = shards.iter().filter(|shard| shard.holds(id)).count();
                assert_eq!(holding, 1, "{id} is in {holding} of {parts} parts");
            }
            for shard in &shards {
                let held = ids.iter().filter(|id| shard.holds(id)).count();
                let fair = ids.len() / parts;
                assert!(held >= fair / 2, "part {shard} holds {held} of 200 ids");
            }
        }
        // Pinned, so that a change of hash (which would reshuffle every CI's shards) is seen.
        for (id, part) in [("clean-call", "1/2"), ("lossy-wifi", "2/2")] {
            assert!(shard(part).holds(id), "{id} is not in part {part}");
        }
    }

    #[test]
    fn a_bad_shard_says_what_is_wrong() {
        for (text, error) in [
            ("3/2", "K must be between 1 and N (here 1 and 2)"),
            ("0/2", "K must be between 1 and N (here 1 and 2)"),
            ("1/0", "N must be at least 1"),
            ("1", "expected K/N, as in 1/2: part K of N"),
            ("a/2", "`a` is not a whole number"),
            ("1/-2", "`-2` is not a whole number"),
        ] {
            assert_eq!(text.parse::<Shard>(), Err(error.to_owned()), "{text}");
        }
        assert_eq!(shard("2/3").to_string(), "2/3");
    }

    #[test]
    fn the_replay_command_names_the_package_and_test_target_it_knows() {
        let exe = Path::new("/ws/target/debug/deps/scenarios-0123456789abcdef");
        for (package, exe, command) in [
            (
                Some("reconnecting-app"),
                Some(exe),
                "cargo test -p reconnecting-app --test scenarios -- --exact 'swap'",
            ),
            (Some("my-app"), None, "cargo test -p my-app -- --exact 'swap'"),
            (None, Some(exe), "cargo test --test scenarios -- --exact 'swap'"),
            (None, None, "cargo test -- --exact 'swap'"),
            // Not cargo's `-<hash>`: no target is guessed.
            (
                Some("my-app"),
                Some(Path::new("/bin/my-scenarios")),
                "cargo test -p my-app -- --exact 'swap'",
            ),
        ] {
            assert_eq!(replay_test(package, exe, "swap"), command);
        }
        let windows = Path::new("deps/app_scenarios-fedcba9876543210.exe");
        assert_eq!(
            replay_test(Some("webrtc-netsim"), Some(windows), "lossy-wifi[seed=3]"),
            "cargo test -p webrtc-netsim --test app_scenarios -- --exact 'lossy-wifi[seed=3]'"
        );
    }
}

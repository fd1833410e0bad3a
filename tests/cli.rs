//! `netsim` misused or stopped: missing files, folders without scenarios, an output folder
//! that cannot be made, a run that hangs (the watchdog) and Ctrl-C. Each must end with a
//! clear message and a telling exit code, and never leave a half-written report.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{netsim, scratch};
use std::time::{Duration, Instant};

/// A call short enough for many runs: 3 s, audio both ways.
const SHORT_CALL: &str = r#"name = "short call"
duration = "3s"

[peers.alice]
role = "caller"
media = ["audio"]
link = { delay = "10ms" }

[peers.bob]
role = "callee"
media = ["audio"]

[[expect]]
final_state = "connected"
"#;

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn path(path: &Path) -> &str {
    path.to_str().expect("scratch paths are UTF-8")
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .flat_map(|entry| {
            let path = entry.path();
            if path.is_dir() {
                files_under(&path)
            } else {
                vec![path]
            }
        })
        .collect()
}

#[test]
fn a_missing_file_is_bad_input_named_by_its_path() {
    let missing = scratch("cli/missing").join("no-such-scenario.toml");
    for command in ["run", "check"] {
        let output = netsim(&[command, path(&missing)]);
        assert_eq!(output.status.code(), Some(2));
        let stderr = stderr(&output);
        assert!(stderr.contains(path(&missing)), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn a_folder_without_scenarios_is_bad_input() {
    let empty = scratch("cli/empty");
    std::fs::write(empty.join("notes.txt"), "not a scenario").expect("written");
    let output = netsim(&["run", path(&empty)]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = stderr(&output);
    assert!(stderr.contains(path(&empty)), "{stderr}");
    assert!(stderr.contains("no `*.toml` scenario files"), "{stderr}");
}

#[test]
fn an_output_folder_that_cannot_be_made_stops_before_playing() {
    let dir = scratch("cli/unwritable");
    let scenario = dir.join("short.toml");
    std::fs::write(&scenario, SHORT_CALL).expect("written");
    // A folder inside a plain file cannot be created, even by root.
    let blocker = dir.join("a-file");
    std::fs::write(&blocker, "").expect("written");
    let out = blocker.join("reports");

    let started = Instant::now();
    let output = netsim(&["run", path(&scenario), "--out", path(&out)]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = stderr(&output);
    assert!(
        stderr.contains(&format!("cannot create {}", out.display())),
        "{stderr}"
    );
    assert!(output.stdout.is_empty(), "nothing was played");
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn the_watchdog_names_the_scenario_and_the_run_goes_on_with_the_next() {
    let dir = scratch("cli/watchdog");
    let first = dir.join("first.toml");
    let second = dir.join("second.toml");
    std::fs::write(&first, SHORT_CALL.replace("short call", "first call")).expect("written");
    std::fs::write(&second, SHORT_CALL.replace("short call", "second call")).expect("written");

    // A millisecond of wall-clock time is far less than any call takes, so both trip.
    let output = netsim(&[
        "run",
        path(&first),
        path(&second),
        "--watchdog",
        "1ms",
        "--jobs",
        "1",
        "--out",
        path(&dir.join("reports")),
    ]);
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    for name in ["first call", "second call"] {
        let message = format!(
            "scenario `{name}` (seed 1) did not finish: watchdog: 1ms of wall-clock time passed, virtual time reached "
        );
        assert!(stdout.contains(&message), "{stdout}");
    }
    assert!(stdout.contains("0 passed, 2 failed"), "{stdout}");
    let junit = std::fs::read_to_string(dir.join("reports/junit.xml")).expect("junit.xml is written");
    for name in ["first call", "second call"] {
        let error =
            format!("<error message=\"could not finish: scenario `{name}` (seed 1) did not finish: watchdog");
        assert!(junit.contains(&error), "{junit}");
    }

    let output = netsim(&["run", path(&first), "--watchdog", "soon"]);
    assert_eq!(output.status.code(), Some(2), "a bad duration is bad input");
    assert!(stderr(&output).contains("--watchdog"));
}

#[test]
fn ctrl_c_stops_the_run_and_leaves_no_partial_report() {
    let dir = scratch("cli/ctrl-c");
    // Enough calls that the suite is still playing when the signal comes.
    for index in 0..40 {
        let text = SHORT_CALL
            .replace("short call", &format!("call {index}"))
            .replace("duration = \"3s\"", "duration = \"30s\"");
        std::fs::write(dir.join(format!("call-{index:02}.toml")), text).expect("written");
    }
    let out = dir.join("reports");
    let child = Command::new(env!("CARGO_BIN_EXE_netsim"))
        .args(["run", path(&dir), "--jobs", "1", "--out", path(&out)])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("netsim starts");
    // Wait for the first finished report, so the signal lands mid-suite.
    let started = Instant::now();
    while !out.join("call-00").join("report.json").exists() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no report after 2 minutes"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let output = child.wait_with_output().expect("netsim ends");
    let stderr = stderr(&output);
    println!("{stderr}");

    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("netsim: interrupted"), "{stderr}");
    let written = files_under(&out);
    assert!(!written.is_empty());
    for file in &written {
        let name = file
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or_default();
        assert!(
            name == "report.json" || name == "index.html",
            "unexpected file {} (a temporary or a suite file of a partial run)",
            file.display()
        );
        let report = file.with_file_name("report.json");
        let page = file.with_file_name("index.html");
        assert!(
            report.exists() && page.exists(),
            "{} is a half-written folder",
            file.display()
        );
    }
    let folders = written.len() / 2;
    assert!(
        folders < 40,
        "the suite was stopped before its end ({folders} of 40 written)"
    );
    for report in written.iter().filter(|file| file.ends_with("report.json")) {
        let text = std::fs::read_to_string(report).expect("readable");
        serde_json::from_str::<serde_json::Value>(&text).expect("a whole JSON document");
    }
}

#[test]
fn a_reader_that_goes_away_ends_netsim_quietly() {
    // `netsim list | head -0`: the pipe's reading end is closed before netsim writes.
    let mut child = Command::new(env!("CARGO_BIN_EXE_netsim"))
        .arg("list")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("netsim starts");
    drop(child.stdout.take());
    let output = child.wait_with_output().expect("netsim ends");
    let stderr = stderr(&output);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_ne!(output.status.code(), Some(0), "it cannot have printed the list");
}

#[test]
fn reports_are_the_same_with_one_job_or_several() {
    let library = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let dir = scratch("cli/jobs");
    let reports = |jobs: &str| {
        let out = dir.join(format!("jobs-{jobs}"));
        let output = netsim(&["run", path(&library), "--jobs", jobs, "--out", path(&out)]);
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        let mut reports: Vec<(PathBuf, String)> = files_under(&out)
            .into_iter()
            .filter(|file| file.ends_with("report.json"))
            .map(|file| {
                let text = std::fs::read_to_string(&file).expect("readable");
                (file.strip_prefix(&out).expect("under out").to_owned(), text)
            })
            .collect();
        reports.sort();
        reports
    };
    let (one, three) = (reports("1"), reports("3"));
    assert!(one.len() >= 25, "{} reports", one.len());
    assert_eq!(one.len(), three.len());
    for ((name, alone), (_, together)) in one.iter().zip(&three) {
        assert!(
            alone == together,
            "{} differs between --jobs 1 and --jobs 3",
            name.display()
        );
    }
}

#[test]
fn shards_play_every_scenario_exactly_once_between_them() {
    let dir = scratch("cli/shards");
    let library = dir.join("library");
    std::fs::create_dir(&library).expect("created");
    let mut all: Vec<String> = Vec::new();
    for index in 0..6 {
        let text = SHORT_CALL.replace("short call", &format!("call {index}"));
        std::fs::write(library.join(format!("call-{index}.toml")), text).expect("written");
        all.push(format!("call-{index}"));
    }
    let sweep = format!("{SHORT_CALL}\n[sweep]\n\"peers.alice.link.loss\" = [\"0%\", \"1%\", \"2%\"]\n");
    std::fs::write(library.join("sweep.toml"), sweep).expect("written");
    all.extend(["0%", "1%", "2%"].map(|loss| format!("sweep[peers.alice.link.loss={loss}]")));
    all.sort();

    for parts in [2, 3] {
        let mut played: Vec<String> = Vec::new();
        for part in 1..=parts {
            let out = dir.join(format!("{part}-of-{parts}"));
            let shard = format!("{part}/{parts}");
            let output = netsim(&["run", path(&library), "--shard", &shard, "--out", path(&out)]);
            assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
            let ids: Vec<String> = files_under(&out)
                .into_iter()
                .filter(|file| file.ends_with("report.json"))
                .map(|file| {
                    let text = std::fs::read_to_string(&file).expect("readable");
                    let report: serde_json::Value = serde_json::from_str(&text).expect("JSON");
                    report["scenario"]["id"].as_str().expect("an id").to_owned()
                })
                .collect();
            let stdout = String::from_utf8_lossy(&output.stdout);
            let held = format!("shard {shard}: {} of {} scenarios", ids.len(), all.len());
            assert!(stdout.contains(&held), "{stdout}");
            let summary = std::fs::read_to_string(out.join("summary.json")).expect("summary.json is written");
            let summary: serde_json::Value = serde_json::from_str(&summary).expect("JSON");
            assert_eq!(summary.as_array().map(Vec::len), Some(ids.len()), "{summary}");
            let junit = std::fs::read_to_string(out.join("junit.xml")).expect("junit.xml is written");
            assert_eq!(junit.matches("<testcase ").count(), ids.len(), "{junit}");
            played.extend(ids);
        }
        played.sort();
        assert_eq!(played, all, "{parts} shards between them");
    }

    let output = netsim(&["run", path(&library), "--shard", "3/2"]);
    assert_eq!(output.status.code(), Some(2), "a shard past N is bad input");
    let stderr = stderr(&output);
    assert!(
        stderr.contains("'3/2' for '--shard <K/N>': K must be between 1 and N"),
        "{stderr}"
    );
}

/// A 3 s audio call at 50 ms one way and 0 ms signaling, with the processing-time model
/// on: its seeds settle webrtc-rs's connect race differently (≈ 500, ≈ 550 or ≈ 700 ms).
const RACE: &str = r#"name = "race"
duration = "3s"
processing = "measured"

[signaling]
delay = "0ms"

[peers.alice]
role = "caller"
media = ["audio"]
link = { delay = "25ms" }

[peers.bob]
role = "callee"
media = ["audio"]
link = { delay = "25ms" }

[[expect]]
final_state = "connected"

[[expect]]
connect_time = { max = "2s" }
"#;

/// The cells of the row of the `--seeds` table that starts with `name`, after the name.
fn seeds_row<'a>(stdout: &'a str, name: &str) -> Vec<&'a str> {
    let line = stdout
        .lines()
        .find(|line| line.trim_start().starts_with(name))
        .unwrap_or_else(|| panic!("no row `{name}` in:\n{stdout}"));
    line.trim_start()[name.len()..].split_whitespace().collect()
}

#[test]
fn seeds_show_the_share_held_and_the_spread_over_the_seeds() {
    let dir = scratch("cli/seeds");
    let scenario = dir.join("race.toml");
    std::fs::write(&scenario, RACE).expect("written");
    let out = dir.join("reports");
    let output = netsim(&["run", path(&scenario), "--seeds", "1..8", "--out", path(&out)]);
    assert_eq!(output.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("race over seeds 1..8: held (8 of 8 runs passed every expectation)"),
        "{stdout}"
    );
    // `8 of 8 seeds`, then min, p50, p95, max.
    let call = seeds_row(&stdout, "connect_time (the call)");
    assert_eq!(call[..4], ["8", "of", "8", "seeds"], "{stdout}");
    assert_ne!(call[4], call[7], "the seeds connect at different times: {stdout}");
    assert_eq!(
        seeds_row(&stdout, "connect_time ≤ 2s")[..4],
        ["8", "of", "8", "seeds"]
    );

    let mut folders: Vec<String> = std::fs::read_dir(&out)
        .expect("the reports")
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    folders.sort();
    let mut expected: Vec<String> = (1..=8).map(|seed| format!("race_seed-{seed}")).collect();
    expected.extend([
        "race".to_owned(),
        "junit.xml".to_owned(),
        "summary.json".to_owned(),
    ]);
    expected.sort();
    assert_eq!(
        folders, expected,
        "a report folder per seed, the page over the seeds, the summary and junit"
    );
    // The page over the seeds: a plot per expectation, a mark per seed linking to its page,
    // and the distribution the table printed.
    let page = std::fs::read_to_string(out.join("race/index.html")).expect("the seeds page");
    assert!(page.contains("race over seeds 1..8"), "{page}");
    assert_eq!(
        page.matches("<figure>").count(),
        3,
        "final_state of each peer, connect_time"
    );
    assert!(page.contains(r#"href="../race_seed-3/index.html""#), "{page}");
    let row = page
        .split("<tr")
        .map(|row| row.split("</tr>").next().unwrap_or_default())
        .find(|row| row.contains("<td>connect_time</td><td>≤ 2s</td>"))
        .expect("a row for connect_time");
    assert!(row.contains("held on 8 of 8 seeds"), "{row}");
    assert_eq!(
        row.matches("<td>").count(),
        8,
        "expectation, limit, held, 4 quantiles, failed on: {row}"
    );
    assert!(out.join("race_seed-3/report.json").is_file());
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).expect("read")).expect("JSON");
    let seeds: Vec<u64> = summary
        .as_array()
        .expect("a row per run")
        .iter()
        .filter_map(|row| row["seed"].as_u64())
        .collect();
    assert_eq!(seeds, (1..=8).collect::<Vec<_>>());
    // JUnit has one test case for the scenario over its seeds, which held.
    let junit = std::fs::read_to_string(out.join("junit.xml")).expect("junit.xml is written");
    assert_eq!(junit.matches("<testcase ").count(), 1, "{junit}");
    assert!(junit.contains(r#"name="race (seeds 1..8)""#), "{junit}");
    assert!(!junit.contains("<failure"), "{junit}");
    assert!(
        junit.contains("connect_time ≤ 2s: held on 8 of 8 seeds"),
        "{junit}"
    );
}

#[test]
fn an_expectation_broken_on_some_seeds_fails_the_run_and_names_them() {
    let dir = scratch("cli/seeds-failing");
    let scenario = dir.join("race.toml");
    // Only the fast branches of the race (≈ 500 and 550 ms, not ≈ 700) connect this soon.
    std::fs::write(&scenario, RACE.replace(r#"max = "2s""#, r#"max = "600ms""#)).expect("written");
    let out = dir.join("reports");
    let output = netsim(&["run", path(&scenario), "--seeds", "1..8", "--out", path(&out)]);
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let held = seeds_row(&stdout, "connect_time ≤ 600ms");
    let held: u32 = held[0].parse().expect("a count");
    assert!((1..8).contains(&held), "held on some seeds, not all: {stdout}");
    assert!(stdout.contains("race over seeds 1..8: FAILED"), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "FAILED connect_time: held on {held} of 8 seeds (failed on seeds "
        )),
        "{stdout}"
    );
    assert!(stdout.contains("replay: netsim run"), "{stdout}");
    // JUnit fails the scenario's one test case, naming the expectation and its seeds.
    let junit = std::fs::read_to_string(out.join("junit.xml")).expect("junit.xml is written");
    assert!(junit.contains(r#"name="race (seeds 1..8)""#), "{junit}");
    assert!(
        junit.contains(r#"message="1 of 3 expectations held on too few seeds""#),
        "{junit}"
    );
    assert!(
        junit.contains(&format!(
            "connect_time ≤ 600ms: held on {held} of 8 seeds (failed on seeds "
        )),
        "{junit}"
    );
    // The page over the seeds marks the expectation failed and links the seeds it failed on.
    let page = std::fs::read_to_string(out.join("race/index.html")).expect("the seeds page");
    let row = page
        .split("<tr")
        .map(|row| row.split("</tr>").next().unwrap_or_default())
        .find(|row| row.contains("<td>connect_time</td><td>≤ 600ms</td>"))
        .expect("a row for connect_time");
    assert!(row.starts_with(r#" class="fail""#), "{row}");
    assert_eq!(
        row.matches(r#"<a href="../race_seed-"#).count(),
        8 - held as usize,
        "{row}"
    );

    // The file's own seeds, and a share the fast branch reaches: it holds, and so does the run.
    let shared = RACE
        .replace("duration = \"3s\"", "duration = \"3s\"\nseeds = \"1..8\"")
        .replace(r#"max = "2s" }"#, "max = \"600ms\" }\nshare = \"12.5%\"");
    std::fs::write(&scenario, shared).expect("written");
    let output = netsim(&["run", path(&scenario)]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("race over seeds 1..8: held"), "{stdout}");
    assert!(
        stdout.contains(&format!("held on {held} of 8 seeds, needs 12.5%")),
        "{stdout}"
    );
}

#[test]
fn bad_seed_ranges_are_refused_naming_the_flag() {
    let dir = scratch("cli/seeds-refused");
    let scenario = dir.join("short.toml");
    std::fs::write(&scenario, SHORT_CALL).expect("written");
    for (args, says) in [
        (
            &["--seeds", "5..3"][..],
            "the first seed must not be greater than the last (here 5 > 3)",
        ),
        (&["--seeds", "7"][..], "expected A..B"),
        (&["--seeds", "1..3", "--seed", "2"][..], "cannot be used with"),
    ] {
        let output = netsim(&[&["run", path(&scenario)][..], args].concat());
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = stderr(&output);
        assert!(
            stderr.contains("--seeds") && stderr.contains(says),
            "{args:?}: {stderr}"
        );
        assert!(output.stdout.is_empty(), "nothing was played");
    }
}

/// A peer's error (here: TCP, which the wall-clock mode cannot run) is printed beside the
/// failed expectations it explains, not left in `report.json` alone.
#[test]
fn a_failure_shows_the_errors_the_peers_reported() {
    let dir = scratch("cli/peer-errors");
    let file = dir.join("tcp.toml");
    let call = SHORT_CALL
        .replace("duration = \"3s\"", "duration = \"1s\"")
        .replace("role = \"callee\"", "role = \"callee\"\nice_tcp = true");
    std::fs::write(&file, call).expect("written");
    let output = netsim(&["run", path(&file), "--realtime"]);
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("  error from bob at ")
            && stdout.contains(
                ": building the connection: io error: the simulated TCP runs on the virtual clock only"
            ),
        "{stdout}"
    );

    let output = netsim(&["run", path(&file)]);
    assert_eq!(output.status.code(), Some(0), "on the virtual clock it connects");
    assert!(!String::from_utf8_lossy(&output.stdout).contains("error from"));
}

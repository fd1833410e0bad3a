//! Scenario files as their authors meet them: each class of mistake is reported at its
//! `file:line:col` with the field and a helpful message, never a panic; a violated
//! expectation shows the measured value and the limit; `netsim` exits 0, 1 or 2 accordingly;
//! and `netsim schema` accepts every bundled scenario.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use webrtc_netsim::scenario::file::{self, FileError};

/// A valid call; the tests below break one thing in it at a time.
const GOOD: &str = r#"name = "test call"
duration = "5s"

[peers.alice]
role = "caller"
media = ["audio", "data"]
link = { delay = "10ms" }

[peers.bob]
role = "callee"
media = ["audio"]

[[expect]]
delivered = { stream = "bob<-alice:audio", from = "1s", min = "90%" }
"#;

fn parse_error(text: &str) -> FileError {
    match file::parse(Path::new("bad.toml"), text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(error) => error,
    }
}

/// `GOOD` with `from` replaced by `to` (which must occur exactly once).
fn breaking(from: &str, to: &str) -> String {
    assert_eq!(GOOD.matches(from).count(), 1, "`{from}` must occur once in GOOD");
    GOOD.replace(from, to)
}

/// Asserts the error's place, field and the words its message must hold.
fn assert_error(error: &FileError, place: &str, field: &str, words: &[&str]) {
    let shown = error.to_string();
    println!("{shown}\n");
    assert!(
        shown.starts_with(&format!("bad.toml:{place}: `{field}`: ")),
        "{shown}"
    );
    for word in words {
        assert!(error.message.contains(word), "`{word}` missing from: {shown}");
    }
}

#[test]
fn the_good_file_is_good() {
    let file = file::parse(Path::new("good.toml"), GOOD).expect("GOOD parses");
    assert_eq!(file.scenario.name, "test call");
    assert_eq!(file.scenario.peers.len(), 2);
    assert_eq!(file.expectations.len(), 1);
}

#[test]
fn a_syntax_error_names_its_line_and_column() {
    let error = parse_error(&breaking(r#"role = "callee""#, r#"role = "callee"#));
    let shown = error.to_string();
    println!("{shown}");
    assert_eq!(error.position, Some((10, 15)), "{shown}");
    assert!(shown.starts_with("bad.toml:10:15: "), "{shown}");
    assert!(
        shown.contains("10 | role = \"callee"),
        "the line is shown: {shown}"
    );
}

#[test]
fn an_unknown_key_suggests_the_closest_name() {
    let error = parse_error(&breaking("media = [\"audio\"]", "meda = [\"audio\"]"));
    assert_error(
        &error,
        "11:1",
        "peers.bob.meda",
        &["unknown name `meda`", "did you mean `media`?"],
    );

    let error = parse_error(&breaking("delay = \"10ms\"", "dealy = \"10ms\""));
    assert_error(
        &error,
        "7:10",
        "peers.alice.link.dealy",
        &["did you mean `delay`?", "`jitter`"],
    );

    let error = parse_error(&breaking("delivered = {", "delivred = {"));
    assert_error(&error, "14:1", "expect[0]", &["did you mean `delivered`?"]);
}

#[test]
fn keys_of_later_versions_say_they_are_not_supported_yet() {
    let error = parse_error(&format!("{GOOD}\n[[timeline]]\nat = \"2s\"\n"));
    assert_error(
        &error,
        "16:3",
        "timeline",
        &["`timeline` is not supported yet by this version"],
    );

    let error = parse_error(&breaking("link = {", "interface = {"));
    assert_error(
        &error,
        "7:1",
        "peers.alice.interface",
        &["not supported yet", "with `link`"],
    );
}

#[test]
fn a_bad_unit_lists_the_units() {
    let error = parse_error(&breaking("\"10ms\"", "\"10 msec\""));
    assert_error(
        &error,
        "7:18",
        "peers.alice.link.delay",
        &["unknown unit `msec`", "`ms`, `s` or `m`"],
    );

    let error = parse_error(&breaking("duration = \"5s\"", "duration = 5"));
    assert_error(
        &error,
        "2:12",
        "duration",
        &["expected a duration such as \"250ms\""],
    );
}

#[test]
fn out_of_range_values_are_refused() {
    let error = parse_error(&breaking(
        "link = { delay = \"10ms\" }",
        "link = { loss = \"120%\" }",
    ));
    assert_error(&error, "7:17", "peers.alice.link.loss", &["120% is over 100%"]);

    let error = parse_error(&breaking("duration = \"5s\"", "duration = \"0s\""));
    assert_error(&error, "2:12", "duration", &["longer than 0s"]);

    let error = parse_error(&breaking("link = { delay = \"10ms\" }", "link = { burst = 4 }"));
    assert_error(
        &error,
        "7:18",
        "peers.alice.link.burst",
        &["`burst` needs `loss`"],
    );

    let error = parse_error(&breaking("min = \"90%\"", "to = \"2s\""));
    assert_error(&error, "13:1", "expect[0].delivered", &["give a limit"]);

    let error = parse_error(&breaking("min = \"90%\"", "min = \"90%\", max = \"80%\""));
    assert_error(&error, "13:1", "expect[0].delivered", &["`min` is above `max`"]);
}

#[test]
fn a_call_has_one_caller_and_one_callee() {
    let error = parse_error(&breaking("role = \"callee\"", "role = \"caller\""));
    assert_error(
        &error,
        "10:8",
        "peers.bob.role",
        &["`alice` is already the caller"],
    );

    let error = parse_error(&breaking("role = \"callee\"", "role = \"calee\""));
    assert_error(&error, "10:8", "peers.bob.role", &["did you mean `callee`?"]);
}

#[test]
fn an_expectation_naming_an_unknown_peer_suggests_one() {
    let error = parse_error(&breaking("bob<-alice:audio", "bob<-alicia:audio"));
    assert_error(
        &error,
        "14:24",
        "expect[0].delivered.stream",
        &["no peer is called `alicia`", "did you mean `alice`?"],
    );
}

#[test]
fn an_expectation_on_a_stream_nobody_sends_is_refused() {
    let error = parse_error(&breaking("bob<-alice:audio", "alice<-bob:data"));
    assert_error(
        &error,
        "14:24",
        "expect[0].delivered.stream",
        &["`alice<-bob:data` matches no stream", "`bob<-alice:audio`"],
    );

    let error = parse_error(&format!(
        "{GOOD}\n[[expect]]\nfreezes = {{ stream = \"*\", max = 0 }}\n"
    ));
    assert_error(
        &error,
        "17:22",
        "expect[1].freezes.stream",
        &["no peer sends video"],
    );
}

#[test]
fn a_window_after_the_end_of_the_call_is_refused() {
    let error = parse_error(&breaking("from = \"1s\"", "from = \"1s\", to = \"8s\""));
    assert_error(
        &error,
        "14:62",
        "expect[0].delivered.to",
        &["ends at 8s, after the call (it lasts 5s)"],
    );

    let error = parse_error(&breaking("from = \"1s\"", "to = \"0s\""));
    assert_error(
        &error,
        "14:49",
        "expect[0].delivered.to",
        &["ends at 0s, not after its start"],
    );

    let error = parse_error(&breaking("from = \"1s\"", "from = \"6s\""));
    assert_error(
        &error,
        "14:51",
        "expect[0].delivered.from",
        &["starts at 6s, not before its end (5s)"],
    );
}

#[test]
fn no_text_makes_the_parser_panic() {
    // Every prefix of a real file: unterminated strings, tables, arrays, half keys.
    let text = std::fs::read_to_string(library().join("clean-call.toml")).expect("the bundled file reads");
    for (end, _) in text.char_indices() {
        let _ = file::parse(Path::new("cut.toml"), &text[..end]);
    }
    for garbage in [
        "",
        "\u{0}",
        "[[[",
        "peers = 5",
        "duration = \"99999999999999999999999s\"",
    ] {
        assert!(
            file::parse(Path::new("garbage.toml"), garbage).is_err(),
            "{garbage:?}"
        );
    }
}

/// `GOOD` expecting a connect time no real call reaches.
fn impossible() -> String {
    format!("{GOOD}\n[[expect]]\nconnect_time = {{ max = \"100ms\" }}\n")
}

#[test]
fn a_violated_expectation_shows_the_measured_value_and_the_limit() {
    let file = file::parse(Path::new("impossible.toml"), &impossible()).expect("it parses");
    let (run, verdicts) = file.play().expect("the call runs");
    let connect = run.metrics.connect_time.expect("the call connects");
    let failed: Vec<_> = verdicts.iter().filter(|verdict| !verdict.passed).collect();
    assert_eq!(failed.len(), 1, "{verdicts:#?}");
    assert_eq!(failed[0].expectation, "connect_time");
    assert_eq!(failed[0].measured, format!("{connect:?}"));
    assert_eq!(failed[0].limit, "≤ 100ms");
}

fn netsim(args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_netsim"))
        .args(args)
        .output()
        .expect("netsim starts");
    println!(
        "netsim {args:?} exited {:?}\n--- stdout\n{}--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The bundled scenario library.
fn library() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")
}

/// A fresh folder for one test's files.
fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("the scratch folder is created");
    dir
}

#[test]
fn netsim_run_exits_1_on_a_violated_expectation_and_says_how_to_replay_it() {
    let dir = scratch("netsim_run_violated");
    let path = dir.join("impossible.toml");
    std::fs::write(&path, impossible()).expect("the scenario is written");
    let out = dir.join("reports");

    let output = netsim(&[
        "run",
        path.to_str().unwrap(),
        "--seed",
        "9",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("FAIL"), "{stdout}");
    assert!(stdout.contains("FAILED: connect_time: measured "), "{stdout}");
    assert!(stdout.contains("limit ≤ 100ms"), "{stdout}");
    assert!(stdout.contains("seed 9"), "{stdout}");
    assert!(
        stdout.contains(&format!("replay: netsim run {} --seed 9", path.display())),
        "{stdout}"
    );

    let summary = std::fs::read_to_string(out.join("summary.json")).expect("summary.json is written");
    let summary: serde_json::Value = serde_json::from_str(&summary).expect("summary.json is JSON");
    assert_eq!(summary[0]["passed"], false);
    assert_eq!(summary[0]["seed"], 9);
    assert_eq!(summary[0]["verdicts"][1]["passed"], false);
    assert_eq!(summary[0]["verdicts"][1]["limit"], "≤ 100ms");
}

#[test]
fn netsim_check_accepts_the_library_and_exits_2_on_a_bad_file() {
    let output = netsim(&["check", library().to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0));

    let dir = scratch("netsim_check_bad");
    let path = dir.join("bad.toml");
    std::fs::write(&path, breaking("media = [\"audio\"]", "media = [\"audi\"]")).expect("written");
    let output = netsim(&["check", path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("{}:11:10: `peers.bob.media[0]`", path.display())),
        "{stderr}"
    );
    assert!(stderr.contains("did you mean `audio`?"), "{stderr}");

    let output = netsim(&["run", "--jobs", "0", path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2), "a bad argument is bad input too");
}

#[test]
fn netsim_list_tells_every_bundled_story() {
    let output = netsim(&["list"]);
    assert_eq!(output.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("clean-call") && stdout.contains("Alice calls Bob"),
        "{stdout}"
    );
    let files = file::collect(&[library()]).expect("the library is there");
    assert_eq!(stdout.lines().count(), files.len(), "{stdout}");
}

#[test]
fn the_schema_accepts_every_bundled_scenario_and_rejects_a_typo() {
    let output = netsim(&["schema"]);
    assert_eq!(output.status.code(), Some(0));
    let schema: serde_json::Value = serde_json::from_slice(&output.stdout).expect("the schema is JSON");
    let mut compiler = boon::Compiler::new();
    let mut schemas = boon::Schemas::new();
    compiler
        .add_resource("netsim.json", schema)
        .expect("the schema loads");
    let index = compiler
        .compile("netsim.json", &mut schemas)
        .expect("the schema compiles");
    let as_json = |text: &str| {
        let value: toml::Value = toml::from_str(text).expect("valid TOML");
        serde_json::to_value(value).expect("TOML converts to JSON")
    };

    let files = file::collect(&[library()]).expect("the library is there");
    assert!(files.len() >= 10, "the library has {} scenarios", files.len());
    for path in files {
        let text = std::fs::read_to_string(&path).expect("readable");
        if let Err(error) = schemas.validate(&as_json(&text), index) {
            panic!("{} does not match the schema: {error}", path.display());
        }
    }
    for typo in [
        breaking("media = [\"audio\"]", "meda = [\"audio\"]"),
        breaking("\"10ms\"", "\"10 msec\""),
        breaking("min = \"90%\"", "min = 0.9"),
    ] {
        assert!(
            schemas.validate(&as_json(&typo), index).is_err(),
            "the schema accepts:\n{typo}"
        );
    }
}

//! Reports read back: one short call is played once (with packet capture) and written as
//! `report.json`, `index.html`, pcap files and `junit.xml`; each test parses one of them and
//! holds it against the run. A last test drives the same through `netsim run --out --pcap`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use pcap_file::DataLink;
use pcap_file::pcap::PcapReader;
use pnet_packet::Packet;
use pnet_packet::ipv4::{self, Ipv4Packet};
use pnet_packet::udp::{self, UdpPacket};
use quick_xml::XmlVersion;
use quick_xml::events::Event as Xml;
use webrtc_netsim::What;
use webrtc_netsim::net::network::capturing;
use webrtc_netsim::report::{self, Report, write_atomically};
use webrtc_netsim::scenario::file::{self, ScenarioFile};
use webrtc_netsim::world::{Run, RunError};

use common::{netsim, scratch};

/// A 3 s clean call that connects in about 500 ms, expected to connect within 100 ms: one
/// broken expectation among passing ones.
const SCENARIO: &str = r#"name = "report test"
description = "Alice calls Bob: 3 seconds, 25 ms each way, nothing lost."
duration = "3s"

[peers.alice]
role = "caller"
link = { delay = "25ms" }

[peers.bob]
role = "callee"
link = { delay = "25ms" }

[[expect]]
connect_time = { max = "100ms" }

[[expect]]
delivered = { stream = "*:audio", from = "1s", min = "100%" }
"#;

/// The call, played once for every test, and the reports written from it.
struct Played {
    file: ScenarioFile,
    run: Run,
    report: Report,
    /// Where the reports are: `dir/junit.xml`, `dir/report-test/...`.
    dir: PathBuf,
}

impl Played {
    fn scenario_dir(&self) -> PathBuf {
        self.dir.join("report-test")
    }
}

fn played() -> &'static Played {
    static PLAYED: OnceLock<Played> = OnceLock::new();
    PLAYED.get_or_init(|| {
        let dir = scratch("reports");
        let path = dir.join("report-test.toml");
        std::fs::write(&path, SCENARIO).expect("the scenario is written");
        let file = file::load(&path).expect("the scenario is valid");
        let (played, captured) = capturing(|| file.play());
        let report = Report::new(&file, &played);
        let scenario_dir = dir.join("report-test");
        report
            .write(&scenario_dir)
            .expect("report.json and index.html are written");
        report::pcap::write(&scenario_dir, &captured).expect("the pcap files are written");

        // JUnit of three scenarios: this one (failed), one that passed, one that could not run.
        let mut passing = report.clone();
        passing.scenario.file = PathBuf::from("passing.toml");
        passing.scenario.id = "passing".to_owned();
        passing.verdicts.retain(|verdict| verdict.passed);
        passing.passed = true;
        let stuck = Err(RunError::Invalid {
            scenario: "broken".to_owned(),
            message: "no caller".to_owned(),
        });
        let mut broken = file.clone();
        broken.path = PathBuf::from("broken.toml");
        let broken = Report::new(&broken, &stuck);
        let junit = report::junit::xml(&[report.clone(), passing, broken], &[]).expect("JUnit serialises");
        write_atomically(&dir.join("junit.xml"), junit.as_bytes()).expect("junit.xml is written");

        let (run, _) = played.expect("the call runs");
        Played {
            file,
            run,
            report,
            dir,
        }
    })
}

fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).expect("the report is there");
    serde_json::from_str(&text).expect("it is JSON")
}

#[test]
fn report_json_holds_the_run() {
    let played = played();
    let json = read_json(&played.scenario_dir().join("report.json"));
    let run = &played.run;

    assert_eq!(json["schema"], report::SCHEMA);
    assert_eq!(json["harness"]["version"], env!("CARGO_PKG_VERSION"));
    let webrtc = json["harness"]["webrtc"].as_str().expect("a webrtc version");
    assert!(webrtc.starts_with("0.21."), "{webrtc}");
    let lock = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.lock")).unwrap();
    assert!(
        lock.contains(&format!("name = \"webrtc\"\nversion = \"{webrtc}\"")),
        "Cargo.lock locks webrtc {webrtc}"
    );
    assert_eq!(json["scenario"]["name"], "report test");
    assert_eq!(json["scenario"]["seed"], played.file.scenario.world.seed);
    assert_eq!(json["scenario"]["peers"][0]["name"], "alice");
    assert_eq!(json["passed"], false);

    assert_eq!(json["metrics"], as_json(&run.metrics));
    assert_eq!(json["counters"], as_json(&run.counters));
    // Both peers' uplinks and downlinks carried the call, and each says how long it queued.
    let queues = json["queues"].as_array().expect("queues");
    assert_eq!(queues.len(), 4, "{queues:?}");
    assert!(
        queues
            .iter()
            .all(|queue| queue["datagrams"].as_u64() > Some(0) && queue["max"].is_object())
    );
    assert_eq!(json["verdicts"], as_json(&played.report.verdicts));
    let connect = &json["metrics"]["connect_time"];
    assert_eq!(
        connect["secs"].as_u64().unwrap() * 1_000_000_000 + connect["nanos"].as_u64().unwrap(),
        run.metrics.connect_time.unwrap().as_nanos() as u64
    );

    let per_packet = |what: &What| {
        matches!(
            what,
            What::MediaSent { .. } | What::MediaReceived { .. } | What::NetworkDrop { .. }
        )
    };
    let events = json["events"].as_array().expect("events");
    assert_eq!(
        events.len(),
        run.trace.iter().filter(|e| !per_packet(&e.what)).count()
    );
    assert!(events.iter().all(|event| event["event"] != "media_received"));

    // Per-packet events are counted per stream and bin, all of them.
    let streams = json["packets"]["streams"].as_object().expect("streams");
    assert_eq!(streams.len(), run.metrics.streams.len());
    let total = |series: &serde_json::Value| -> u64 {
        series
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_u64().unwrap())
            .sum()
    };
    for (stream, bins) in streams {
        let count = |sent: bool| {
            run.trace
                .iter()
                .filter(|event| match &event.what {
                    What::MediaSent { stream: s, .. } => sent && s == stream,
                    What::MediaReceived { stream: s, .. } => !sent && s == stream,
                    _ => false,
                })
                .count() as u64
        };
        assert_eq!(total(&bins["sent"]), count(true), "{stream}");
        assert_eq!(total(&bins["received"]), count(false), "{stream}");
        let bins_len = bins["received"].as_array().unwrap().len();
        assert_eq!(bins_len, json["packets"]["drops"].as_array().unwrap().len());
        assert_eq!(
            bins_len as u128,
            run.trace.last().unwrap().at.as_millis() / 100 + 1
        );
    }
}

/// `value` as it reads back from a JSON file (floats parsed the same way on both sides).
fn as_json(value: &impl serde::Serialize) -> serde_json::Value {
    let text = serde_json::to_string(value).expect("serialises");
    serde_json::from_str(&text).expect("reads back")
}

/// `report.json` without the network's counters. They count webrtc-rs's own datagrams too,
/// and under CPU load an ICE check more or less goes out (985 or 987 datagrams for this
/// call): webrtc-rs's ICE pacing is not on the virtual clock. The trace does not change.
fn deterministic_part(path: &Path) -> serde_json::Value {
    let mut json = read_json(path);
    json.as_object_mut().expect("an object").remove("counters");
    json
}

#[test]
fn the_same_seed_writes_the_same_report() {
    let played = played();
    let again = Report::new(&played.file, &played.file.play());
    let dir = scratch("reports-again");
    again.write(&dir).expect("written");
    assert_eq!(
        deterministic_part(&played.scenario_dir().join("report.json")),
        deterministic_part(&dir.join("report.json"))
    );
}

#[test]
fn junit_is_well_formed_with_a_failure_per_failed_scenario() {
    let xml = std::fs::read_to_string(played().dir.join("junit.xml")).expect("junit.xml is there");
    let mut reader = quick_xml::Reader::from_str(&xml);
    let (mut testcases, mut failures, mut errors) = (Vec::new(), Vec::new(), Vec::new());
    let mut failure_text = String::new();
    let mut in_failure = false;
    loop {
        match reader.read_event().expect("well-formed XML") {
            Xml::Start(element) | Xml::Empty(element) => {
                let attribute = |name: &str| {
                    element.try_get_attribute(name).unwrap().map(|value| {
                        value
                            .normalized_value(XmlVersion::Explicit1_0)
                            .unwrap()
                            .into_owned()
                    })
                };
                match element.name().as_ref() {
                    b"testsuites" => {
                        assert_eq!(attribute("tests").as_deref(), Some("3"));
                        assert_eq!(attribute("failures").as_deref(), Some("1"));
                        assert_eq!(attribute("errors").as_deref(), Some("1"));
                    }
                    b"testcase" => testcases.push(attribute("name").unwrap()),
                    b"failure" => {
                        failures.push(attribute("message").unwrap());
                        in_failure = true;
                    }
                    b"error" => errors.push(attribute("message").unwrap()),
                    _ => {}
                }
            }
            Xml::Text(text) if in_failure => failure_text += &text.decode().unwrap(),
            Xml::GeneralRef(reference) if in_failure => {
                failure_text += &format!("&{};", reference.decode().unwrap())
            }
            Xml::End(element) if element.name().as_ref() == b"failure" => in_failure = false,
            Xml::Eof => break,
            _ => {}
        }
    }
    assert_eq!(testcases, ["report-test", "passing", "broken"]);
    assert_eq!(failures, ["1 of 3 expectations failed"]);
    assert!(
        failure_text.contains("FAILED: connect_time: measured ") && failure_text.contains("limit ≤ 100ms"),
        "{failure_text}"
    );
    assert!(failure_text.contains("replay: netsim run "), "{failure_text}");
    assert_eq!(errors.len(), 1);
    assert!(errors[0].contains("no caller"), "{}", errors[0]);
}

#[test]
fn each_host_capture_holds_every_datagram_it_sent_or_received() {
    let played = played();
    let run = &played.run;
    for host in ["alice", "bob"] {
        let mut captured = 0;
        let file = std::fs::File::open(played.scenario_dir().join(format!("{host}.pcap"))).expect("captured");
        let mut reader = PcapReader::new(file).expect("a pcap file");
        assert_eq!(reader.header().datalink, DataLink::RAW);
        let mut last = std::time::Duration::ZERO;
        let mut first = true;
        while let Some(packet) = reader.next_packet() {
            let packet = packet.expect("a whole record");
            assert!(packet.timestamp >= last, "records in time order");
            last = packet.timestamp;
            let ip = Ipv4Packet::new(&packet.data).expect("an IPv4 header");
            assert_eq!(ip.get_checksum(), ipv4::checksum(&ip), "IPv4 checksum");
            assert_eq!(usize::from(ip.get_total_length()), packet.data.len());
            let datagram = UdpPacket::new(ip.payload()).expect("a UDP header");
            let checksum = udp::ipv4_checksum(&datagram, &ip.get_source(), &ip.get_destination());
            assert_eq!(datagram.get_checksum(), checksum, "UDP checksum");
            if first {
                // A call starts with a STUN binding request (the magic cookie at byte 4).
                let stun = datagram.payload();
                assert_eq!(&stun[..2], [0x00, 0x01], "{host}: a binding request first");
                assert_eq!(&stun[4..8], [0x21, 0x12, 0xA4, 0x42]);
                first = false;
            }
            captured += 1;
        }
        assert!(!first, "{host} sent or received something");
        // Every datagram is captured where it left and where it arrived, even at a closed port.
        let counted = &run.counters.hosts[host];
        assert_eq!(captured, counted.sent + counted.received, "{host}: {counted:?}");
    }
}

#[test]
fn the_page_is_self_contained_with_one_lane_per_stream() {
    let played = played();
    let html =
        std::fs::read_to_string(played.scenario_dir().join("index.html")).expect("index.html is there");
    assert!(html.starts_with("<!doctype html>"));
    assert_eq!(html.matches("<svg").count(), 1);
    assert_eq!(
        html.matches(r#"<path class="received "#).count(),
        played.run.metrics.streams.len()
    );
    for stream in played.run.metrics.streams.keys() {
        let escaped = stream.replace('<', "&lt;");
        assert!(html.contains(&format!(r#"data-stream="{escaped}""#)), "{stream}");
    }
    for external in ["http", "src=", "href=", "url(", "<script", "@import"] {
        assert!(
            !html.contains(external),
            "the page refers to something outside: {external}"
        );
    }
    assert!(
        html.contains(r#"<tr class="fail">"#),
        "the failed expectation stands out"
    );
    assert!(html.contains("alice PC connected"), "state changes are marked");
}

#[test]
fn writes_leave_no_partial_file_behind() {
    let played = played();
    for dir in [played.dir.clone(), played.scenario_dir()] {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            assert!(
                !name.starts_with('.') && !name.ends_with(".partial"),
                "{name} left in {dir:?}"
            );
        }
    }
    let dir = scratch("atomic");
    let path = dir.join("report.json");
    write_atomically(&path, b"first").unwrap();
    write_atomically(&path, b"second").unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"second");
    // A write that cannot land (a folder is in the way) fails and cleans up after itself.
    std::fs::create_dir(dir.join("taken")).unwrap();
    write_atomically(&dir.join("taken"), b"never").expect_err("a folder cannot be replaced");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["report.json", "taken"]);
}

#[test]
fn netsim_run_writes_every_report() {
    let played = played();
    let out = scratch("reports-cli");
    let path = played.dir.join("report-test.toml");
    let output = netsim(&[
        "run",
        path.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--pcap",
    ]);
    assert_eq!(output.status.code(), Some(1), "one expectation fails");
    for name in [
        "summary.json",
        "junit.xml",
        "report-test/report.json",
        "report-test/index.html",
        "report-test/alice.pcap",
        "report-test/bob.pcap",
    ] {
        assert!(out.join(name).is_file(), "{name} is written");
    }
    assert_eq!(
        deterministic_part(&out.join("report-test/report.json")),
        deterministic_part(&played.scenario_dir().join("report.json")),
        "the command writes the report the library does"
    );
    let summary = read_json(&out.join("summary.json"));
    assert_eq!(summary[0]["passed"], false);

    let output = netsim(&["run", path.to_str().unwrap(), "--pcap"]);
    assert_eq!(output.status.code(), Some(2), "--pcap needs --out");
}

/// A sweep of 2 × 2 short audio calls: loss on Alice's link, a line per core delay.
const SWEEP: &str = r#"name = "sweep test"
description = "Alice calls Bob, audio only, at two loss rates and two core delays."
duration = "2s"

[peers.alice]
role = "caller"
media = ["audio"]
link = { delay = "10ms" }

[peers.bob]
role = "callee"
media = ["audio"]
link = { delay = "10ms" }

[sweep]
"peers.alice.link.loss" = ["0%", "10%"]
"core.delay" = ["10ms", "30ms"]

[[expect]]
connect_time = { max = "2s" }

[[expect]]
delivered = { stream = "bob<-alice:audio", from = "1s", min = "95%" }

[[expect]]
final_state = "connected"
"#;

/// The value of each `name="…"` attribute in `html`, unescaped.
fn attributes(html: &str, name: &str) -> Vec<String> {
    let start = format!(r#"{name}=""#);
    html.match_indices(&start)
        .map(|(at, _)| {
            let rest = &html[at + start.len()..];
            let value = &rest[..rest.find('"').expect("a closed attribute")];
            value
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&#39;", "'")
                .replace("&amp;", "&")
        })
        .collect()
}

#[test]
fn netsim_run_writes_a_sweep_page_plotting_each_point() {
    let dir = scratch("reports-sweep");
    let path = dir.join("sweep-test.toml");
    std::fs::write(&path, SWEEP).expect("the sweep is written");
    let points = file::load_all(&path).expect("the sweep is valid");
    assert_eq!(points.len(), 4);
    let out = dir.join("out");
    let output = Command::new(env!("CARGO_BIN_EXE_netsim"))
        .args(["run", path.to_str().unwrap(), "--out", out.to_str().unwrap()])
        .output()
        .expect("netsim starts");
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "every point played: {}",
        String::from_utf8_lossy(&output.stderr)
    );

    let page = out.join("sweep-test/index.html");
    let html = std::fs::read_to_string(&page).expect("the sweep's page is written");
    assert!(html.starts_with("<!doctype html>"));
    for external in ["http", "src=", "url(", "<script", "@import"] {
        assert!(
            !html.contains(external),
            "the page loads something outside: {external}"
        );
    }

    // A figure per expectation, a mark per point in each, showing that point's own verdict
    // and, where it has one, its measured value: the number in its `report.json`.
    let figures: Vec<&str> = html.split("<figure>").skip(1).collect();
    let reports: Vec<serde_json::Value> = points
        .iter()
        .map(|point| {
            read_json(
                &out.join(report::folder(&point.path, &point.point))
                    .join("report.json"),
            )
        })
        .collect();
    let expectations = reports[0]["verdicts"].as_array().expect("verdicts").len();
    assert_eq!(expectations, 4, "connect, delivered, a final state per peer");
    assert_eq!(figures.len(), expectations);
    for (index, figure) in figures.iter().enumerate() {
        let figure = &figure[..figure.find("</figure>").expect("a whole figure")];
        assert_eq!(
            figure.matches(r#"<g class="mark "#).count(),
            points.len(),
            "{figure}"
        );
        let mut measured = 0;
        for (point, report) in points.iter().zip(&reports) {
            let verdict = &report["verdicts"][index];
            let label = file::label(&point.point).replace('<', "&lt;");
            let at = figure
                .find(&format!(r#"data-point="{label}""#))
                .unwrap_or_else(|| panic!("{label} is plotted in figure {index}"));
            let mark_start = figure[..at].rfind("<g ").unwrap();
            let mark = &figure[mark_start..mark_start + figure[mark_start..].find('>').unwrap()];
            let class = if verdict["passed"] == true { "pass" } else { "fail" };
            assert!(mark.starts_with(&format!(r#"<g class="mark {class} "#)), "{mark}");
            assert_eq!(attributes(mark, "data-value"), [point.point[0].value.as_str()]);
            let plotted: Vec<f64> = attributes(mark, "data-measured")
                .iter()
                .map(|number| number.parse().expect("a number"))
                .collect();
            match verdict["value"]["measured"].as_f64() {
                Some(value) => {
                    assert_eq!(plotted, [value], "{label}: {}", verdict["expectation"]);
                    measured += 1;
                }
                None => assert!(plotted.is_empty(), "{mark}"),
            }
        }
        if index < 2 {
            // Without loss a call connects; at 10 % it may not, whether depends on timing.
            assert!(measured >= 2, "connect time and delivery have numbers");
        }
    }
    // The plotted share is the verdict's own ratio, not its text: all of it without loss.
    assert_eq!(reports[0]["verdicts"][1]["value"]["measured"].as_f64(), Some(1.0));
    assert!(figures[1].contains(
        r#"data-point="peers.alice.link.loss=0%, core.delay=10ms" data-value="0%" data-measured="1""#
    ));

    // A line per core delay, and every link leads to a point's own report page.
    assert_eq!(
        attributes(&html, "data-series"),
        ["core.delay=10ms", "core.delay=30ms"].repeat(2)
    );
    let links = attributes(&html, "href");
    assert_eq!(
        links.len(),
        points.len() * (expectations + 1),
        "a link per mark and per table row"
    );
    for link in &links {
        assert!(page.parent().unwrap().join(link).is_file(), "{link} resolves");
    }
    for point in &points {
        let link = format!("../{}/index.html", report::folder(&point.path, &point.point));
        assert!(links.contains(&link), "{link}");
    }

    // A file without a sweep of the same name would share the sweep page's folder.
    std::fs::create_dir_all(dir.join("other")).unwrap();
    let same_name = dir.join("other/sweep-test.toml");
    std::fs::write(&same_name, SCENARIO).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_netsim"))
        .args(["run", path.to_str().unwrap(), same_name.to_str().unwrap()])
        .args(["--out", out.to_str().unwrap()])
        .output()
        .expect("netsim starts");
    assert_eq!(output.status.code(), Some(2), "refused before playing");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("two scenario files are named `sweep-test`"),
        "{stderr}"
    );
}

/// Every file and folder name under `dir`, recursively.
fn names_under(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("readable")
        .flat_map(|entry| {
            let path = entry.expect("an entry").path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let inside = if path.is_dir() {
                names_under(&path)
            } else {
                Vec::new()
            };
            std::iter::once(name).chain(inside)
        })
        .collect()
}

#[test]
fn long_names_make_short_file_names_that_stay_apart() {
    // Two peers whose 300-character names differ only at their end, in a sweep file whose
    // own name is as long as a file system allows: every name the reports make is bounded.
    let dir = scratch("reports-long-names");
    let (caller, callee) = ("a".repeat(299) + "1", "a".repeat(299) + "2");
    let text = SWEEP
        .replace("alice", &caller)
        .replace("bob", &callee)
        .replace("\"core.delay\" = [\"10ms\", \"30ms\"]\n", "");
    let path = dir.join(format!("{}.toml", "s".repeat(250)));
    std::fs::write(&path, text).expect("the sweep is written");
    let out = dir.join("out");
    let output = netsim(&[
        "run",
        path.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--pcap",
    ]);
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "the reports are written"
    );

    let names = names_under(&out);
    for name in &names {
        assert!(name.len() <= 100, "{} bytes: {name}", name.len());
    }
    let pcaps: Vec<&String> = names.iter().filter(|name| name.ends_with(".pcap")).collect();
    assert_eq!(pcaps.len(), 4, "a capture per peer and point: {pcaps:?}");
    let folders = names.iter().filter(|name| out.join(name).is_dir()).count();
    assert_eq!(folders, 3, "a folder per point and the sweep's page: {names:?}");
    for suite in ["summary.json", "junit.xml"] {
        assert!(out.join(suite).is_file(), "{suite} is written");
    }
}

#[test]
fn a_report_that_cannot_be_written_keeps_the_suite_files() {
    let played = played();
    let out = scratch("reports-blocked");
    // A plain file where the scenario's report folder would go.
    std::fs::write(out.join("report-test"), "in the way").expect("written");
    let path = played.dir.join("report-test.toml");
    let output = netsim(&["run", path.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot write the reports in"), "{stderr}");
    let summary = read_json(&out.join("summary.json"));
    assert_eq!(summary[0]["name"], "report test");
    assert!(out.join("junit.xml").is_file(), "junit.xml is written");
}

/// The bundled `googcc-fair-to-tcp`: Alice's GCC video beside a TCP upload from her network.
#[test]
fn the_page_draws_the_congestion_target_over_the_video_and_a_lane_per_cross_flow() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/googcc-fair-to-tcp.toml");
    let file = file::load(&path).expect("the bundled file loads");
    let played = file.play();
    let report = Report::new(&file, &played);
    let html = report::html::page(&report);
    // Alice sends the one video stream, and GCC runs on her side only.
    assert_eq!(html.matches(r#"<path class="target""#).count(), 1);
    assert!(html.contains("alice's congestion-control target"));
    assert_eq!(html.matches(r#"<path class="received cross""#).count(), 1);
    assert!(html.contains("cross traffic tcp"));
    // The lane's bins within the call add up to the flow's totals over the call (the lane
    // goes on while the peers hang up).
    let (run, _) = played.expect("the call runs");
    let bins = &report.packets.cross_traffic["tcp"];
    let within = (file.scenario.world.duration.as_millis() / report.packets.bin.as_millis()) as usize;
    let flow = run.metrics.cross_traffic["tcp"];
    assert_eq!(
        bins.received_bytes[..within].iter().sum::<u64>(),
        flow.received_bytes
    );
    assert_eq!(bins.sent_bytes[..within].iter().sum::<u64>(), flow.sent_bytes);
}

/// The bundled `congestion-ramp`: Alice's uplink steps 2.5 → 1.2 → 0.6 → 1.2 Mbit/s, then no
/// limit from 18 s. Her video lane draws that capacity, broken where it has no limit.
#[test]
fn the_page_draws_the_senders_uplink_capacity_over_the_video_and_breaks_it_where_unlimited() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/congestion-ramp.toml");
    let file = file::load(&path).expect("the bundled file loads");
    let report = Report::new(&file, &file.play());
    let capacity = &report.packets.uplink_capacity["alice"];
    let at = |seconds: f64| capacity[(seconds * 10.0) as usize];
    assert_eq!(
        [at(1.0), at(7.0), at(11.0), at(15.0), at(19.0)],
        [
            Some(2_500_000),
            Some(1_200_000),
            Some(600_000),
            Some(1_200_000),
            None
        ]
    );
    // Bob's uplink has no limit: nothing to draw.
    assert!(
        !report.packets.uplink_capacity.contains_key("bob"),
        "{:?}",
        report.packets.uplink_capacity.keys()
    );
    let html = report::html::page(&report);
    // On Alice's one video stream, as one stretch: it stops at 18 s and does not come back.
    let path = html
        .split(r#"<path class="capacity" d=""#)
        .nth(1)
        .expect("a capacity line")
        .split('"')
        .next()
        .unwrap();
    assert_eq!(html.matches(r#"<path class="capacity""#).count(), 1);
    assert_eq!(path.matches('M').count(), 1, "{path}");
    assert!(html.contains("alice's uplink capacity"));
}

/// The bundled `ice-tcp-through-firewall`: Alice's UDP is blocked, the call runs over TCP.
/// Her capture shows real TCP: segments with valid checksums, a handshake before any data,
/// and RFC 4571's 2-byte length framing, whose first frame is a STUN binding request.
#[test]
fn a_capture_of_a_call_over_ice_tcp_holds_real_tcp_segments_with_rfc_4571_framing() {
    use pnet_packet::ip::IpNextHeaderProtocols;
    use pnet_packet::tcp::{self, TcpFlags, TcpPacket};

    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/ice-tcp-through-firewall.toml");
    let file = file::load(&path).expect("the bundled file loads");
    let (played, captured) = capturing(|| file.play());
    played.expect("the call runs");
    let dir = scratch("reports-tcp-pcap");
    report::pcap::write(&dir, &captured).expect("the pcap files are written");
    let file = std::fs::File::open(dir.join("alice.pcap")).expect("alice's capture");
    let mut reader = PcapReader::new(file).expect("a pcap file");
    let (mut segments, mut syn_seen, mut first_payload) = (0, false, None);
    while let Some(packet) = reader.next_packet() {
        let packet = packet.expect("a whole record");
        let ip = Ipv4Packet::new(&packet.data).expect("an IPv4 header");
        if ip.get_next_level_protocol() != IpNextHeaderProtocols::Tcp {
            continue;
        }
        let segment = TcpPacket::new(ip.payload()).expect("a TCP header");
        let checksum = tcp::ipv4_checksum(&segment, &ip.get_source(), &ip.get_destination());
        assert_eq!(segment.get_checksum(), checksum, "TCP checksum");
        segments += 1;
        if segment.get_flags() & TcpFlags::SYN != 0 {
            syn_seen = true;
        }
        if first_payload.is_none() && !segment.payload().is_empty() {
            assert!(syn_seen, "data before any SYN");
            first_payload = Some(segment.payload().to_vec());
        }
    }
    assert!(
        segments > 100,
        "the call's media crossed TCP: {segments} segments"
    );
    let framed = first_payload.expect("some TCP data");
    let length = usize::from(u16::from_be_bytes([framed[0], framed[1]]));
    let stun = &framed[2..];
    assert!(
        stun.len() >= length,
        "a whole first frame: {length} of {}",
        stun.len()
    );
    assert_eq!(&stun[..2], [0x00, 0x01], "a STUN binding request first");
    assert_eq!(&stun[4..8], [0x21, 0x12, 0xA4, 0x42], "STUN's magic cookie");
}

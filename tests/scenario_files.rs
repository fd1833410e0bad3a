//! Scenario files as their authors meet them: each class of mistake is reported at its
//! `file:line:col` with the field and a helpful message, never a panic; a violated
//! expectation shows the measured value and the limit; `netsim` exits 0, 1 or 2 accordingly;
//! and `netsim schema` accepts every bundled scenario.

mod common;

use std::path::{Path, PathBuf};

use std::time::Duration;

use webrtc_netsim::net::{Filtering, Loss, Mapping, NatConfig, PortAssignment};
use webrtc_netsim::scenario::expect::Expectation;
use webrtc_netsim::scenario::file::{self, FileError};
use webrtc_netsim::scenario::{Credentials, IceServer, Servers};
use webrtc_netsim::sim::{Apps, CommandKind};
use webrtc_netsim::{Action, Direction, RestartPolicy, SignalingChange};

use common::{netsim, scratch};

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
    assert_eq!(file.scenario.world.name, "test call");
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
    let error = parse_error(&breaking("link = {", "interface = {"));
    assert_error(
        &error,
        "7:1",
        "peers.alice.interface",
        &["not supported yet", "with `link`", "with `nat`"],
    );
}

/// `GOOD` with one `[[timeline]]` entry (from line 16 on).
/// `GOOD` with a `[sweep]` of these lines, from line 17.
fn sweeping(lines: &str) -> String {
    format!("{GOOD}\n[sweep]\n{lines}\n")
}

fn sweep_error(lines: &str) -> FileError {
    match file::parse_all(Path::new("bad.toml"), &sweeping(lines)) {
        Ok(points) => panic!("accepted, {} points:\n{lines}", points.len()),
        Err(error) => error,
    }
}

#[test]
fn a_sweep_gives_a_scenario_per_point_named_after_it() {
    let text = sweeping(
        "\"peers.alice.link.loss\" = [\"0%\", \"5%\"]\n\"core.delay\" = [\"20ms\", \"150ms\", \"300ms\"]\nseed = [7]",
    );
    let points = file::parse_all(Path::new("lossy.toml"), &text).expect("the sweep expands");
    let names: Vec<&str> = points
        .iter()
        .map(|point| point.scenario.world.name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "test call[peers.alice.link.loss=0%, core.delay=20ms, seed=7]",
            "test call[peers.alice.link.loss=0%, core.delay=150ms, seed=7]",
            "test call[peers.alice.link.loss=0%, core.delay=300ms, seed=7]",
            "test call[peers.alice.link.loss=5%, core.delay=20ms, seed=7]",
            "test call[peers.alice.link.loss=5%, core.delay=150ms, seed=7]",
            "test call[peers.alice.link.loss=5%, core.delay=300ms, seed=7]",
        ]
    );
    let last = &points[5];
    assert_eq!(
        last.id(),
        "lossy[peers.alice.link.loss=5%, core.delay=300ms, seed=7]"
    );
    assert_eq!(
        webrtc_netsim::report::folder(&last.path, &last.point),
        "lossy_peers.alice.link.loss-5pct_core.delay-300ms_seed-7"
    );
    assert_eq!(last.scenario.world.core.delay, Duration::from_millis(300));
    assert_eq!(last.scenario.world.seed, 7);
    let alice = &last.scenario.peers[0];
    assert_eq!(
        (alice.name.as_str(), alice.uplink.delay),
        ("alice", Duration::from_millis(10))
    );
    assert_eq!(
        format!("{:?}", alice.uplink.loss),
        format!("{:?}", Loss::Random(0.05))
    );
    assert_eq!(format!("{:?}", points[0].scenario.peers[0].downlink.loss), "None");
    assert_eq!(
        last.expectations.len(),
        1,
        "every point keeps the file's expectations"
    );

    let error = file::parse(Path::new("lossy.toml"), &text).expect_err("one scenario was asked for");
    assert!(error.message.contains("load_all"), "{error}");
}

#[test]
fn a_bad_swept_value_is_placed_at_itself() {
    let error = sweep_error("\"peers.alice.link.loss\" = [\"1%\", \"10x%\"]");
    assert_error(
        &error,
        "17:34",
        "peers.alice.link.loss",
        &["unknown unit `x%`", "the units are `%`"],
    );
    assert!(
        error.to_string().contains("^^^^^^"),
        "the value is underlined: {error}"
    );

    let error = sweep_error("\"peers.bob.role\" = [\"callee\", \"caller\"]");
    assert_error(&error, "17:31", "peers.bob.role", &["no callee"]);

    let error = sweep_error("\"core.delay\" = [\"20ms\", \"20ms\"]");
    assert_error(
        &error,
        "17:25",
        "sweep.\"core.delay\"",
        &["`20ms` is listed twice"],
    );

    let error = sweep_error("\"core.delay\" = []");
    assert_error(&error, "17:1", "sweep.\"core.delay\"", &["at least one"]);
}

#[test]
fn a_sweep_path_naming_nothing_suggests_the_closest() {
    let error = sweep_error("\"peers.alcie.link.loss\" = [\"1%\"]");
    assert_error(
        &error,
        "17:1",
        "sweep.\"peers.alcie.link.loss\"",
        &["no peer is called `alcie`", "did you mean `alice`?"],
    );

    let error = sweep_error("\"peers.alice.link.los\" = [\"1%\"]");
    assert_error(
        &error,
        "17:1",
        "peers.alice.link.los",
        &["unknown name `los`", "did you mean `loss`?"],
    );

    let error = sweep_error("\"cor.delay\" = [\"1ms\"]");
    assert_error(&error, "17:1", "cor", &["did you mean `core`?"]);

    let error = sweep_error("\"peers.alice.media.audio\" = [true]");
    assert_error(
        &error,
        "17:1",
        "sweep.\"peers.alice.media.audio\"",
        &["not a table"],
    );

    let error = sweep_error("core.delay = [\"1ms\"]");
    assert_error(&error, "17:1", "sweep", &["with its path in quotes"]);
}

#[test]
fn a_sweep_of_more_than_64_points_is_refused() {
    let error = sweep_error(
        "\"core.delay\" = [\"1ms\", \"2ms\", \"3ms\", \"4ms\"]\n\
         seed = [1, 2, 3, 4]\n\
         \"peers.alice.link.loss\" = [\"0%\", \"1%\", \"2%\", \"3%\", \"4%\"]",
    );
    assert_error(
        &error,
        "19:1",
        "sweep.\"peers.alice.link.loss\"",
        &["80 points", "more than 64"],
    );
}

fn with_timeline(entry: &str) -> String {
    format!("{GOOD}\n[[timeline]]\n{entry}\n")
}

/// `GOOD` with `peer` lines added to Alice's table (after line 7).
fn alice_with(lines: &str) -> String {
    breaking(
        "link = { delay = \"10ms\" }",
        &format!("link = {{ delay = \"10ms\" }}\n{lines}"),
    )
}

/// `GOOD` with both peers running the app `app`, and `timeline` (an entry's lines) if any.
fn with_apps(app: &str, timeline: &str) -> String {
    let text = breaking(
        "link = { delay = \"10ms\" }",
        &format!("link = {{ delay = \"10ms\" }}\napp = \"{app}\""),
    )
    .replace("role = \"callee\"", "role = \"callee\"\napp = \"calling-app\"");
    if timeline.is_empty() {
        return text;
    }
    format!("{text}\n[[timeline]]\n{timeline}\n")
}

/// A registry of one app, `calling-app`, that takes `commands`.
fn registry(commands: &[CommandKind]) -> Apps {
    Apps::new()
        .app("calling-app", |ctx| async move { drop(ctx) })
        .takes(commands)
}

fn app_error(text: &str, apps: &Apps) -> FileError {
    match file::parse_all_with(Path::new("bad.toml"), text, apps) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(error) => error,
    }
}

#[test]
fn a_registered_app_is_named_in_the_peer_table() {
    let apps = registry(&[CommandKind::Close]);
    let text = with_apps("calling-app", "at = \"2s\"\nclose = { peer = \"alice\" }");
    let files = file::parse_all_with(Path::new("good.toml"), &text, &apps).expect("the apps are registered");
    let peers = &files[0].scenario.peers;
    assert!(
        peers
            .iter()
            .all(|peer| peer.app.as_deref() == Some("calling-app")),
        "{peers:?}"
    );
    // The same file without the registry is `netsim`'s, which knows no app.
    let error = parse_error(&text);
    assert_error(
        &error,
        "8:7",
        "peers.alice.app",
        &[
            "`calling-app` is not an app registered in `netsim`",
            "leave `app` out",
            "scenario_trials",
        ],
    );
}

#[test]
fn an_unknown_app_suggests_a_registered_one() {
    let apps = registry(&[]);
    let error = app_error(&with_apps("caling-app", ""), &apps);
    assert_error(
        &error,
        "8:7",
        "peers.alice.app",
        &["no app `caling-app` is registered", "did you mean `calling-app`?"],
    );
    let error = app_error(&with_apps("zoom", ""), &apps);
    assert!(
        error.message.contains("the registered apps are `calling-app`"),
        "{error}"
    );
}

#[test]
fn a_command_the_app_does_not_take_is_refused_at_the_action() {
    let apps = registry(&[CommandKind::Close]);
    let error = app_error(
        &with_apps("calling-app", "at = \"2s\"\nrestart_ice = { peer = \"alice\" }"),
        &apps,
    );
    assert_error(
        &error,
        "20:24",
        "timeline[0].restart_ice",
        &[
            "alice runs the app `calling-app`, which does not take `restart_ice`",
            "it takes `close`",
        ],
    );
    let set = "at = \"2s\"\nset_ice_servers = { peer = \"bob\", servers = [] }";
    let error = app_error(&with_apps("calling-app", set), &registry(&[]));
    assert_error(
        &error,
        "20:28",
        "timeline[0].set_ice_servers",
        &["it takes no command"],
    );
    // The built-in app takes every command.
    file::parse(
        Path::new("good.toml"),
        &with_timeline("at = \"2s\"\nrestart_ice = { peer = \"alice\" }"),
    )
    .expect("the built-in app restarts ICE");
}

#[test]
fn a_call_of_the_built_in_app_and_a_registered_one_is_refused() {
    let apps = registry(&[]);
    let mixed = alice_with("app = \"calling-app\"");
    let error = app_error(&mixed, &apps);
    assert_error(
        &error,
        "8:7",
        "peers.alice.app",
        &[
            "`alice` runs the app `calling-app` and `bob` the built-in one",
            "give `bob` an `app` too",
        ],
    );
    // What only the built-in app reads has no meaning for a registered one.
    let text = with_apps("calling-app", "").replace(
        "app = \"calling-app\"\n\n[peers.bob]",
        "app = \"calling-app\"\non_failed = { restart_ice = \"1s\" }\n\n[peers.bob]",
    );
    let error = app_error(&text, &apps);
    assert_error(
        &error,
        "8:7",
        "peers.alice.app",
        &["`on_failed` configures the built-in app"],
    );
}

#[test]
fn a_timeline_entry_after_the_end_of_the_call_names_its_line() {
    let error = parse_error(&with_timeline("at = \"6s\"\nrestart_ice = { peer = \"alice\" }"));
    assert_error(
        &error,
        "17:6",
        "timeline[0].at",
        &["at 6s is not before the end of the call (5s)"],
    );
}

#[test]
fn a_timeline_entry_naming_an_unknown_peer_suggests_one() {
    let error = parse_error(&with_timeline(
        "at = \"2s\"\noutage = { peer = \"alicia\", duration = \"1s\" }",
    ));
    assert_error(
        &error,
        "18:19",
        "timeline[0].outage.peer",
        &["no peer is called `alicia`", "did you mean `alice`?"],
    );
}

#[test]
fn a_timeline_entry_holds_exactly_one_action() {
    let error = parse_error(&with_timeline(
        "at = \"2s\"\nrestart_ice = { peer = \"alice\" }\nclose = { peer = \"bob\" }",
    ));
    assert_error(
        &error,
        "16:1",
        "timeline[0]",
        &["holds `restart_ice` and `close`", "its own [[timeline]]"],
    );

    let error = parse_error(&with_timeline("at = \"2s\""));
    assert_error(
        &error,
        "16:1",
        "timeline[0]",
        &["no action", "`link`, `outage`, `change_address`"],
    );

    let error = parse_error(&with_timeline("at = \"2s\"\nrestart = { peer = \"alice\" }"));
    assert_error(
        &error,
        "18:1",
        "timeline[0].restart",
        &["did you mean `restart_ice`?"],
    );
}

#[test]
fn an_unknown_nat_type_suggests_the_closest() {
    let error = parse_error(&alice_with("nat = \"symetric\""));
    assert_error(
        &error,
        "8:7",
        "peers.alice.nat",
        &[
            "unknown name `symetric`",
            "did you mean `symmetric`?",
            "`full-cone`",
        ],
    );

    let error = parse_error(&alice_with(
        "nat = { mapping = \"endpoint-independant\", filtering = \"address-dependent\" }",
    ));
    assert_error(
        &error,
        "8:19",
        "peers.alice.nat.mapping",
        &["did you mean `endpoint-independent`?"],
    );

    let error = parse_error(&alice_with("nat = { ports = \"random\" }"));
    assert_error(
        &error,
        "8:7",
        "peers.alice.nat",
        &["give the NAT's `type`", "`mapping` and `filtering`"],
    );
}

#[test]
fn ice_servers_must_be_declared_and_relay_needs_turn() {
    let error = parse_error(&alice_with("ice_servers = [\"stun\", \"turn\"]"));
    assert_error(
        &error,
        "8:16",
        "peers.alice.ice_servers[0]",
        &["[servers] has no STUN server", "stun = true"],
    );

    let text = format!(
        "{}\n[servers]\nstun = true\n",
        alice_with("ice_servers = [\"stun\"]\nice_transport_policy = \"relay\"")
    );
    let error = parse_error(&text);
    assert_error(
        &error,
        "9:24",
        "peers.alice.ice_transport_policy",
        &["relay candidates come from a TURN server"],
    );

    // WebRTC refuses a TURN server without credentials: the file cannot give empty ones.
    let error = parse_error(&format!(
        "{GOOD}\n[servers]\nturn = {{ user = \"qa\", password = \"\" }}\n"
    ));
    assert_error(
        &error,
        "17:34",
        "servers.turn.password",
        &["TURN credentials cannot be empty"],
    );
    let error = parse_error(&format!(
        "{}\n[servers]\nturn = {{ user = \"qa\", password = \"secret\" }}\n",
        alice_with("ice_servers = [{ turn = { user = \"\", password = \"old\" } }]")
    ));
    assert_error(
        &error,
        "8:34",
        "peers.alice.ice_servers[0].turn.user",
        &["TURN credentials cannot be empty"],
    );
}

/// `text` with a `[servers]` of one `turn` and one extra TURN server, `turn-b`.
fn with_two_turn_servers(text: &str) -> String {
    format!(
        "{text}\n[servers]\nturn = {{ user = \"qa\", password = \"secret\" }}\n\
         extra_turn = {{ turn-b = {{ user = \"qb\", password = \"other\" }} }}\n"
    )
}

#[test]
fn extra_turn_servers_are_named_in_ice_servers_and_outages() {
    let text = with_two_turn_servers(&with_timeline(
        "at = \"1s\"\noutage = { server = \"turn\", duration = \"2s\" }\n\n[[timeline]]\nat = \"2s\"\n\
         set_ice_servers = { peer = \"alice\", servers = [{ turn = { user = \"qb\", password = \"x\" }, server = \"turn-b\" }] }",
    ))
    .replace(
        "link = { delay = \"10ms\" }",
        "link = { delay = \"10ms\" }\nice_servers = [\"turn\", \"turn-b\"]",
    );
    let file = file::parse(Path::new("two.toml"), &text).expect("two TURN servers parse");
    let qb = |password: &str| Credentials {
        user: "qb".into(),
        password: password.into(),
    };
    assert_eq!(
        file.scenario.world.servers.extra_turn.get("turn-b"),
        Some(&qb("other"))
    );
    let alice = &file.scenario.peers[0];
    assert_eq!(alice.ice_servers[1].turn_server(), Some("turn-b"));
    assert_eq!(
        alice.ice_servers[1],
        IceServer::ExtraTurn {
            server: "turn-b".into(),
            credentials: qb("other")
        }
    );
    let actions: Vec<&Action> = file.scenario.timeline.iter().map(|t| &t.action).collect();
    assert!(
        matches!(actions[0], Action::ServerOutage { server, .. } if server == "turn"),
        "{actions:?}"
    );
    assert!(
        matches!(actions[1], Action::SetIceServers { servers, .. }
            if servers == &vec![IceServer::ExtraTurn { server: "turn-b".into(), credentials: qb("x") }]),
        "{actions:?}"
    );

    let error = parse_error(&with_two_turn_servers(&alice_with("ice_servers = [\"turn-c\"]")));
    assert_error(
        &error,
        "8:16",
        "peers.alice.ice_servers[0]",
        &["no server `turn-c`", "did you mean `turn-b`?"],
    );
    let error = parse_error(&with_two_turn_servers(&with_timeline(
        "at = \"1s\"\noutage = { server = \"stun\", duration = \"2s\" }",
    )));
    assert_error(
        &error,
        "18:21",
        "timeline[0].outage.server",
        &["[servers] has no STUN server", "stun = true"],
    );
    let error = parse_error(&with_timeline(
        "at = \"1s\"\noutage = { peer = \"bob\", server = \"turn\", duration = \"2s\" }",
    ));
    assert_error(&error, "18:35", "timeline[0].outage.server", &["not both"]);
    let error = parse_error(&with_timeline("at = \"1s\"\noutage = { duration = \"2s\" }"));
    assert_error(
        &error,
        "16:1",
        "timeline[0].outage",
        &["`peer = \"alice\"`", "`server"],
    );
    let error = parse_error(&format!(
        "{GOOD}\n[servers]\nextra_turn = {{ Backup_1 = {{ user = \"qa\", password = \"secret\" }} }}\n"
    ));
    assert_error(
        &error,
        "17:16",
        "servers.extra_turn.Backup_1",
        &["lowercase letters, digits and `-`"],
    );
    let error = parse_error(&format!(
        "{GOOD}\n[servers]\nextra_turn = {{ bob = {{ user = \"qa\", password = \"secret\" }} }}\n"
    ));
    assert_error(
        &error,
        "17:16",
        "servers.extra_turn.bob",
        &["names a host already"],
    );
}

#[test]
fn a_nat_action_needs_a_nat_in_front_of_the_peer() {
    let error = parse_error(&with_timeline("at = \"2s\"\nnat_reset = { peer = \"alice\" }"));
    assert_error(
        &error,
        "16:1",
        "timeline[0].nat_reset",
        &["alice is behind no NAT at 2s", "`change_address`"],
    );

    // Behind one after moving to a network that has one.
    let moved = format!(
        "{}\n[[timeline]]\nat = \"1s\"\nchange_address = {{ peer = \"alice\", nat = \"full-cone\" }}\n",
        with_timeline("at = \"2s\"\nnat_reset = { peer = \"alice\" }")
    );
    file::parse(Path::new("moved.toml"), &moved).expect("alice is behind a NAT at 2s");
}

#[test]
fn a_link_trace_is_read_relative_to_the_scenario_and_its_errors_are_placed() {
    let dir = scratch("link_traces");
    let scenario = dir.join("call.toml");
    let write = |trace: &str| {
        let text = alice_with("").replace(
            "link = { delay = \"10ms\" }",
            &format!("link = {{ delay = \"10ms\", trace = \"{trace}\" }}"),
        );
        std::fs::write(&scenario, text).expect("the scenario is written");
    };

    std::fs::write(dir.join("good.mahi"), "1\n1\n2\n").expect("written");
    write("good.mahi");
    let file = file::load(&scenario).expect("the trace loads");
    let uplink = &file.scenario.peers[0].uplink;
    assert_eq!(
        uplink.trace.as_ref().map(|trace| trace.timestamps()),
        Some(&[1, 1, 2][..])
    );

    write("missing.mahi");
    let error = file::load(&scenario).expect_err("no such trace");
    let shown = error.to_string();
    println!("{shown}\n");
    assert!(
        shown.starts_with(&format!(
            "{}:7:34: `peers.alice.link.trace`: ",
            scenario.display()
        )),
        "{shown}"
    );
    assert!(
        error.message.contains("cannot use this trace") && error.message.contains("missing.mahi"),
        "{shown}"
    );

    std::fs::write(dir.join("bad.mahi"), "10\n5\n").expect("written");
    write("bad.mahi");
    let error = file::load(&scenario).expect_err("a decreasing trace");
    println!("{error}\n");
    assert!(
        error.message.contains("bad.mahi: line 2") && error.message.contains("never decrease"),
        "{error}"
    );
}

#[test]
fn after_must_name_an_event_of_the_timeline() {
    let error = parse_error(&breaking("from = \"1s\"", "after = \"outage\""));
    assert_error(
        &error,
        "14:52",
        "expect[0].delivered.after",
        &["the timeline has no `outage`: it is empty"],
    );

    let outage = "at = \"1s\"\noutage = { peer = \"alice\", duration = \"1s\" }";
    let error = parse_error(&with_timeline(outage).replace("from = \"1s\"", "after = \"outage#2\""));
    assert_error(
        &error,
        "14:52",
        "expect[0].delivered.after",
        &["the timeline has 1 `outage`, not 2"],
    );

    let error = parse_error(&with_timeline(outage).replace("from = \"1s\"", "after = \"outage_ned\""));
    assert_error(
        &error,
        "14:52",
        "expect[0].delivered.after",
        &["did you mean `outage_end`?"],
    );

    let error = parse_error(&format!(
        "{}\n[[expect]]\nreconnect_time = {{ after = \"outage\", max = \"1s\" }}\n",
        with_timeline(outage)
    ));
    assert_error(
        &error,
        "21:28",
        "expect[1].reconnect_time.after",
        &[
            "reconnection counts from a network event: `change_address`, `outage_end`, \
             `server_outage`, `nat_reset`, `nat` or `firewall`; a peer's outage's reconnection counts from \
             its end: `outage_end`",
        ],
    );

    let error =
        parse_error(&with_timeline(outage).replace("from = \"1s\"", "from = \"1s\", after = \"outage\""));
    assert_error(
        &error,
        "14:51",
        "expect[0].delivered.from",
        &["give `from` or `after`, not both"],
    );
}

/// A server's outage is `server_outage`, and reconnection may count from its start.
#[test]
fn after_names_a_server_outage_by_its_own_name() {
    let outage = "at = \"1s\"\noutage = { server = \"turn\", duration = \"1s\" }\n\
                  [servers]\nturn = { user = \"qa\", password = \"secret\" }";
    let error = parse_error(&with_timeline(outage).replace("from = \"1s\"", "after = \"outage\""));
    assert_error(
        &error,
        "14:52",
        "expect[0].delivered.after",
        &["the timeline has no peer's `outage`; a server's is `server_outage`"],
    );
    let reconnect = format!(
        "{}\n[[expect]]\nreconnect_time = {{ after = \"server_outage\", max = \"1s\" }}\n",
        with_timeline(outage).replace("from = \"1s\"", "after = \"server_outage\"")
    );
    file::parse(Path::new("good.toml"), &reconnect).expect("a server outage's start");
}

#[test]
fn a_file_using_every_new_key_builds_the_scenario_it_says() {
    let text = r#"duration = "30s"

[servers]
stun = true
turn = { user = "qa", password = "secret" }

[peers.alice]
role = "caller"
media = ["audio"]
link = { rate = "2mbps" }
uplink = { trace = "../traces/cellular-walk.mahi" }
nat = { type = "port-restricted-cone", ports = "random", binding_lifetime = "30s" }
ice_servers = ["stun", { turn = { user = "qa", password = "wrong" } }]
on_failed = { restart_ice = "2s" }

[peers.bob]
role = "callee"
media = ["audio"]
nat = "symmetric"
ice_servers = ["turn"]
ice_transport_policy = "relay"
on_disconnected = { restart_ice = "1s", max_attempts = 1 }

[[timeline]]
at = "12s"
link = { peer = "bob", direction = "down", rate = "unlimited", loss = "5%" }

[[timeline]]
at = "10s"
change_address = { peer = "alice", nat = { mapping = "endpoint-independent", filtering = "address-dependent" }, link = { delay = "60ms" } }

[[timeline]]
at = "10.2s"
signaling = { delay = "2s" }

[[timeline]]
at = "11s"
set_ice_servers = { peer = "alice", servers = ["turn"] }

[[expect]]
reconnect_time = { after = "change_address", stream = "bob<-alice:audio", max = "2s" }

[[expect]]
media_gap = { stream = "*", after = "link", max = "100ms" }

[[expect]]
restart_time = { nth = 1, max = "1s" }
"#;
    let file = file::parse(&library().join("every-key.toml"), text).expect("it parses");
    let scenario = &file.scenario;
    let secret = Credentials {
        user: "qa".into(),
        password: "secret".into(),
    };
    assert_eq!(
        scenario.world.servers,
        Servers {
            stun: true,
            turn: Some(secret.clone()),
            ..Servers::default()
        }
    );

    let [alice, bob] = &scenario.peers[..] else {
        panic!("two peers")
    };
    assert_eq!(
        alice.uplink.rate_bps,
        Some(2_000_000),
        "`uplink` keeps `link`'s other keys"
    );
    assert!(alice.uplink.trace.is_some() && alice.downlink.trace.is_none());
    let nat = alice.nat.as_ref().expect("alice is behind a NAT");
    assert_eq!(
        (nat.mapping, nat.filtering, nat.ports, nat.binding_lifetime),
        (
            Mapping::EndpointIndependent,
            Filtering::AddressAndPortDependent,
            PortAssignment::Random,
            Duration::from_secs(30)
        )
    );
    let wrong = Credentials {
        user: "qa".into(),
        password: "wrong".into(),
    };
    assert_eq!(alice.ice_servers, vec![IceServer::Stun, IceServer::Turn(wrong)]);
    assert_eq!(
        alice.policy.on_failed,
        Some(RestartPolicy {
            delay: Duration::from_secs(2),
            max_attempts: 3
        })
    );
    assert_eq!(bob.nat, Some(NatConfig::symmetric()));
    assert!(bob.relay_only);
    assert_eq!(
        bob.policy.on_disconnected.map(|policy| policy.max_attempts),
        Some(1)
    );

    let actions: Vec<(Duration, &Action)> = scenario.timeline.iter().map(|t| (t.at, &t.action)).collect();
    let Action::Link {
        peer,
        direction: Direction::Down,
        change,
    } = actions[0].1
    else {
        panic!("{:?}", actions[0])
    };
    assert_eq!(peer, "bob");
    assert_eq!(change.rate_bps, Some(None), "\"unlimited\" lifts the limit");
    assert_eq!(change.trace, Some(None), "a rate replaces a trace");
    assert_eq!(change.delay, None, "what it does not name stays");
    let Action::ChangeAddress {
        nat: Some(nat),
        link: Some(link),
        ..
    } = actions[1].1
    else {
        panic!("{:?}", actions[1])
    };
    assert_eq!(nat, &NatConfig::restricted_cone());
    assert_eq!(link.delay, Duration::from_millis(60));
    assert_eq!(
        actions[2],
        (
            Duration::from_millis(10_200),
            &Action::Signaling(SignalingChange::Delay(Duration::from_secs(2)))
        )
    );
    assert!(
        matches!(actions[3].1, Action::SetIceServers { servers, .. } if servers == &vec![IceServer::Turn(secret.clone())])
    );

    // Windows start at their event, whatever the order of the timeline in the file.
    assert!(matches!(
        &file.expectations[0],
        Expectation::ReconnectTime { action, at, stream, .. }
            if action == "change_address" && *at == Duration::from_secs(10) && stream == "bob<-alice:audio"
    ));
    assert!(matches!(
        &file.expectations[1],
        Expectation::Stream { window, .. } if window.from == Duration::from_secs(12)
    ));
    assert!(matches!(
        &file.expectations[3],
        Expectation::RestartTime { nth: Some(1), .. }
    ));
}

#[test]
fn a_restart_that_never_completes_fails_restart_time_with_a_clear_measure() {
    // The relay is cut before the restart and never comes back: the offer never arrives.
    let text = format!(
        "{}\n[[timeline]]\nat = \"2s\"\nsignaling = \"cut\"\n\n[[timeline]]\nat = \"3s\"\nrestart_ice = {{ peer = \"alice\" }}\n\n\
         [[expect]]\nrestart_time = {{ max = \"1s\" }}\n\n[[expect]]\nrestarts = {{ min = 1, max = 1 }}\n",
        GOOD.replace("duration = \"5s\"", "duration = \"4s\"")
    );
    let file = file::parse(Path::new("stuck.toml"), &text).expect("it parses");
    let (_, verdicts) = file.play().expect("the call runs");
    let restart_time = verdicts
        .iter()
        .find(|verdict| verdict.expectation == "restart_time of every restart")
        .expect("judged");
    assert!(!restart_time.passed, "{restart_time}");
    assert_eq!(
        restart_time.measured,
        "never completed (restart #1 of 1: timeline by alice at 3s)"
    );
    let restarts = verdicts
        .iter()
        .find(|verdict| verdict.expectation == "restarts")
        .expect("judged");
    assert!(restarts.passed, "{restarts}");
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

    // TOML reads an unquoted date or time as a value of its own, which serde calls a map.
    let error = parse_error(&breaking("duration = \"5s\"", "duration = 2024-01-01T00:00:00"));
    assert_error(
        &error,
        "2:12",
        "duration",
        &[
            "expected a duration such as \"250ms\"",
            "found the date/time `2024-01-01T00:00:00`",
        ],
    );
    assert!(!error.message.contains("map"), "{error}");
    let error = parse_error(&breaking("\"10ms\"", "{ ms = 10 }"));
    assert_error(
        &error,
        "7:18",
        "peers.alice.link.delay",
        &["expected a duration such as \"250ms\"", "found a table"],
    );

    let error = parse_error(&breaking("delay = \"10ms\"", "rate = \"fast\""));
    assert_error(
        &error,
        "7:17",
        "peers.alice.link.rate",
        &[r#"expected a rate such as "300kbps", "2mbps" or "1.5gbps", or "unlimited", found "fast""#],
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

    // A queue that holds no packet drops everything; one of "0ms" still sends what arrives
    // at an idle link.
    for queue in ["0 packets", "0B", "0kB"] {
        let error = parse_error(&breaking(
            "link = { delay = \"10ms\" }",
            &format!("link = {{ queue = \"{queue}\" }}"),
        ));
        assert_error(
            &error,
            "7:18",
            "peers.alice.link.queue",
            &[
                "a queue that holds nothing drops every packet",
                "\"1 pkt\" or \"0ms\"",
            ],
        );
    }
    let zero_wait = breaking("link = { delay = \"10ms\" }", "link = { queue = \"0ms\" }");
    file::parse(Path::new("zero-wait.toml"), &zero_wait).expect("a 0ms queue is valid");

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
    assert_error(&error, "10:8", "peers.bob.role", &["no callee"]);

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

#[test]
fn a_file_that_is_not_utf8_names_the_first_bad_byte() {
    let path = scratch("not-utf8").join("latin1.toml");
    let mut bytes = GOOD.as_bytes().to_vec();
    // `name = "test call"` as Latin-1 would write `test cäll`.
    bytes.splice(14..15, [0xe4]);
    std::fs::write(&path, &bytes).expect("written");
    let error = file::load_all(&path).expect_err("not UTF-8");
    let shown = error.to_string();
    println!("{shown}");
    assert_eq!(error.position, Some((1, 15)), "{shown}");
    assert!(error.message.contains("byte 0xe4"), "{shown}");
    assert!(
        shown.contains(" 1 | name = \"test c\u{fffd}ll\""),
        "the line is shown: {shown}"
    );
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

#[test]
fn a_peer_named_in_any_alphabet_plays() {
    // A TOML key that is not ASCII is quoted.
    let text = GOOD
        .replace("[peers.alice]", "[peers.\"алиса\"]")
        .replace("alice", "алиса");
    let file = file::parse(Path::new("cyrillic.toml"), &text).expect("a Cyrillic name is valid");
    let (run, verdicts) = file.play().expect("the call runs");
    assert!(run.metrics.connect_time.is_some(), "the call connects");
    assert!(verdicts.iter().all(|verdict| verdict.passed), "{verdicts:#?}");
}

#[test]
fn delivered_fails_when_nothing_was_sent_in_its_window() {
    // Alice hangs up at 2s: from 3s on she sends nothing, so nothing can be measured.
    let text = format!(
        "{}\n[[timeline]]\nat = \"2s\"\nclose = {{ peer = \"alice\" }}\n",
        breaking("from = \"1s\", min = \"90%\"", "from = \"3s\", max = \"100%\"")
    );
    let file = file::parse(Path::new("hung-up.toml"), &text).expect("it parses");
    let (_, verdicts) = file.play().expect("the call runs");
    let delivered = &verdicts[0];
    assert!(!delivered.passed, "{delivered}");
    assert_eq!(delivered.measured, "nothing was sent in the window");
    assert_eq!(delivered.value, None);
}

/// The bundled scenario library.
fn library() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")
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
fn netsim_run_plays_every_sweep_point_and_reports_each() {
    let out = scratch("netsim_run_sweep").join("reports");
    let sweep = library().join("loss-sweep.toml");
    let output = netsim(&["run", sweep.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("loss-sweep[peers.alice.link.loss=10%] pass"),
        "{stdout}"
    );
    let table = stdout
        .split("\nsweep ")
        .nth(1)
        .expect("a sweep table follows the summary");
    assert!(
        table.starts_with(&format!("{}:\npeers.alice.link.loss  verdict", sweep.display())),
        "{table}"
    );
    assert_eq!(
        table
            .lines()
            .filter(|row| row.contains("% ") && row.contains(" pass "))
            .count(),
        4,
        "{table}"
    );

    let junit = std::fs::read_to_string(out.join("junit.xml")).expect("junit.xml is written");
    for loss in ["0", "2", "5", "10"] {
        assert!(
            junit.contains(&format!("name=\"loss-sweep[peers.alice.link.loss={loss}%]\"")),
            "{junit}"
        );
        let folder = out.join(format!("loss-sweep_peers.alice.link.loss-{loss}pct"));
        assert!(
            folder.join("report.json").is_file(),
            "{} is written",
            folder.display()
        );
    }

    let output = netsim(&["check", sweep.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("(4 sweep points, 4 expectations)"), "{stdout}");
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

    // `netsim` runs the built-in app only: a registered one is the user's test target's.
    std::fs::write(&path, alice_with("app = \"my-client\"")).expect("written");
    let output = netsim(&["check", path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("{}:8:7: `peers.alice.app`", path.display())),
        "{stderr}"
    );
    assert!(
        stderr.contains("your own apps run from your crate's test target"),
        "{stderr}"
    );
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
    let app_scenarios = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/app-scenarios");
    let app_files = file::collect(&[app_scenarios]).expect("the app scenarios are there");
    for path in files.into_iter().chain(app_files) {
        let text = std::fs::read_to_string(&path).expect("readable");
        if let Err(error) = schemas.validate(&as_json(&text), index) {
            panic!("{} does not match the schema: {error}", path.display());
        }
    }
    for typo in [
        breaking("media = [\"audio\"]", "meda = [\"audio\"]"),
        breaking("\"10ms\"", "\"10 msec\""),
        breaking("min = \"90%\"", "min = 0.9"),
        with_timeline("at = \"2s\"\nrestart_ice = { peer = \"alice\" }\nclose = { peer = \"bob\" }"),
        alice_with("nat = \"symetric\""),
    ] {
        assert!(
            schemas.validate(&as_json(&typo), index).is_err(),
            "the schema accepts:\n{typo}"
        );
    }
}

#[test]
fn processing_time_is_off_unless_the_file_asks_for_the_measured_model() {
    use webrtc_netsim::scenario::Processing;
    let parsed = |text: &str| file::parse(Path::new("good.toml"), text).expect("parses");
    assert_eq!(parsed(GOOD).scenario.world.processing, Processing::None);
    let with = |value: &str| {
        breaking(
            "duration = \"5s\"",
            &format!("duration = \"5s\"\nprocessing = {value}"),
        )
    };
    assert_eq!(
        parsed(&with("\"none\"")).scenario.world.processing,
        Processing::None
    );
    assert_eq!(
        parsed(&with("\"measured\"")).scenario.world.processing,
        Processing::Measured
    );
    assert_eq!(
        parsed(&with("\"measured-one-machine\""))
            .scenario
            .world
            .processing,
        Processing::MeasuredOneMachine
    );

    let error = parse_error(&with("\"measurd\""));
    assert_error(
        &error,
        "3:14",
        "processing",
        &["unknown name `measurd`", "did you mean `measured`?"],
    );
}

#[test]
fn congestion_control_needs_its_start_within_its_limits() {
    let error = parse_error(&breaking(
        r#"link = { delay = "10ms" }"#,
        "link = { delay = \"10ms\" }\ncongestion_control = { start = \"50kbps\" }",
    ));
    assert_error(
        &error,
        "8:22",
        "peers.alice.congestion_control",
        &["`start` (50kbps)", "100kbps to 2.5Mbps"],
    );
}

#[test]
fn target_bitrate_names_a_peer_with_congestion_control() {
    let error = parse_error(&breaking(
        r#"delivered = { stream = "bob<-alice:audio", from = "1s", min = "90%" }"#,
        r#"target_bitrate = { peer = "bob", max = "1Mbps" }"#,
    ));
    assert_error(
        &error,
        "14:27",
        "expect[0].target_bitrate.peer",
        &["`bob` has no `congestion_control`"],
    );
    let file = file::parse(
        Path::new("good.toml"),
        &GOOD
            .replace(
                r#"link = { delay = "10ms" }"#,
                "link = { delay = \"10ms\" }\ncongestion_control = {}",
            )
            .replace(
                r#"delivered = { stream = "bob<-alice:audio", from = "1s", min = "90%" }"#,
                r#"target_bitrate = { max = "1Mbps" }"#,
            ),
    )
    .expect("every peer with congestion control: alice");
    assert_eq!(file.expectations.len(), 1);
}

#[test]
fn queue_delay_names_a_peer_of_the_call_and_takes_a_direction() {
    let delivered = r#"delivered = { stream = "bob<-alice:audio", from = "1s", min = "90%" }"#;
    let error = parse_error(&breaking(
        delivered,
        r#"queue_delay = { peer = "alcie", percentile = "p95", max = "50ms" }"#,
    ));
    assert_error(
        &error,
        "14:24",
        "expect[0].queue_delay.peer",
        &["no peer is called `alcie`; did you mean `alice`?"],
    );
    let error = parse_error(&breaking(
        delivered,
        r#"queue_delay = { peer = "alice", direction = "sideways", percentile = "p95", max = "50ms" }"#,
    ));
    assert_error(
        &error,
        "14:45",
        "expect[0].queue_delay.direction",
        &["unknown name `sideways`"],
    );
    let file = file::parse(
        Path::new("good.toml"),
        &GOOD.replace(
            delivered,
            r#"queue_delay = { peer = "alice", direction = "up", percentile = "max", from = "1s", max = "50ms" }"#,
        ),
    )
    .expect("a queue_delay check on alice's uplink");
    assert_eq!(file.expectations.len(), 1);
}

#[test]
fn a_file_over_seeds_gives_each_expectation_its_share() {
    let text = breaking("duration = \"5s\"\n", "duration = \"5s\"\nseeds = \"3..7\"\n").replace(
        "[[expect]]\ndelivered",
        "[[expect]]\nshare = \"80%\"\nconnect_time = { max = \"1s\" }\n\n[[expect]]\ndelivered",
    );
    let file = file::parse(Path::new("good.toml"), &text).expect("the file parses");
    assert_eq!(
        file.seeds.map(|seeds| seeds.iter().collect::<Vec<_>>()),
        Some(vec![3, 4, 5, 6, 7])
    );
    assert_eq!(file.shares, [Some(0.8), None], "`share` before its check or none");
    assert_eq!(file.expectations.len(), 2);
}

#[test]
fn seeds_and_shares_that_cannot_be_played_are_refused_at_their_place() {
    let seeds = |line: &str| breaking("duration = \"5s\"\n", &format!("duration = \"5s\"\n{line}\n"));
    let error = parse_error(&seeds("seeds = \"7..3\""));
    assert_error(
        &error,
        "3:9",
        "seeds",
        &["the first seed must not be greater than the last"],
    );
    let error = parse_error(&seeds("seed = 4\nseeds = \"1..20\""));
    assert_error(&error, "4:9", "seeds", &["one `seed` or over `seeds`, not both"]);
    let shared = |share: &str| {
        breaking(
            "min = \"90%\" }",
            &format!("min = \"90%\" }}\nshare = \"{share}\""),
        )
    };
    let error = parse_error(&shared("90%"));
    assert_error(
        &error,
        "15:9",
        "expect[0].share",
        &["needs a file played over `seeds`"],
    );
    let error = parse_error(
        &seeds("seeds = \"1..20\"").replace("min = \"90%\" }", "min = \"90%\" }\nshare = \"0%\""),
    );
    assert_error(&error, "16:9", "expect[0].share", &["above 0%"]);
    let error = parse_error(&breaking(
        "min = \"90%\" }",
        "min = \"90%\" }\nconnect_time = { max = \"1s\" }",
    ));
    assert_error(
        &error,
        "13:1",
        "expect[0]",
        &["exactly one check", "its own [[expect]]"],
    );
}

#[test]
fn a_firewall_and_ice_tcp_are_read_from_the_peer_and_the_timeline() {
    let text = breaking(
        "link = { delay = \"10ms\" }",
        "link = { delay = \"10ms\" }\nice_tcp = true\nfirewall = { udp = \"blocked\", tcp_ports = [443] }",
    ) + "\n[[timeline]]\nat = \"2s\"\nfirewall = { peer = \"bob\", udp = \"blocked\" }\n";
    let file = file::parse(Path::new("good.toml"), &text).expect("the file parses");
    let alice = &file.scenario.peers[0];
    assert!(alice.ice_tcp);
    let blocked = webrtc_netsim::net::FirewallConfig {
        block_udp: true,
        tcp_ports: Some(vec![443]),
    };
    assert_eq!(alice.firewall, Some(blocked));
    assert_eq!(
        file.scenario.timeline[0].action,
        Action::Firewall {
            peer: "bob".into(),
            config: Some(webrtc_netsim::net::FirewallConfig {
                block_udp: true,
                tcp_ports: None,
            }),
        }
    );
    let error = parse_error(&breaking(
        "link = { delay = \"10ms\" }",
        "link = { delay = \"10ms\" }\nfirewall = { udp = \"dropped\" }",
    ));
    assert_error(
        &error,
        "8:20",
        "peers.alice.firewall.udp",
        &["`dropped`", "`allowed` or `blocked`"],
    );
}

/// `GOOD` with a `[cross_traffic.family]` flow of `keys`, and `expect` appended.
fn with_cross_traffic(keys: &str, expect: &str) -> String {
    format!("{GOOD}\n[cross_traffic.family]\n{keys}\n\n[[expect]]\n{expect}\n")
}

#[test]
fn a_cross_traffic_flow_builds_with_its_kind_and_is_checked_by_name() {
    let text = with_cross_traffic(
        "peer = \"alice\"\ndirection = \"down\"\nkind = \"on-off\"\nrate = \"500kbps\"\non = \"1s\"\noff = \"2s\"\nfrom = \"1s\"\nto = \"4s\"",
        "throughput = { flow = \"family\", from = \"2s\", min = \"100kbps\" }",
    );
    let file = file::parse(Path::new("good.toml"), &text).expect("the flow parses");
    let flow = &file.scenario.world.cross_traffic[0];
    assert_eq!(flow.peer, "alice");
    assert_eq!(flow.direction, webrtc_netsim::cross::CrossDirection::Down);
    assert_eq!(
        flow.kind,
        webrtc_netsim::cross::CrossKind::OnOff {
            rate_bps: 500_000,
            on: Duration::from_secs(1),
            off: Duration::from_secs(2),
        }
    );
    assert_eq!(
        (flow.from, flow.to),
        (Duration::from_secs(1), Some(Duration::from_secs(4)))
    );
    assert!(matches!(&file.expectations[1], Expectation::Throughput { flow, .. } if flow == "family"));
}

#[test]
fn a_cross_traffic_flow_with_the_wrong_keys_for_its_kind_is_refused_at_the_key() {
    let tcp_with_rate = with_cross_traffic(
        "peer = \"alice\"\ndirection = \"up\"\nkind = \"tcp\"\nrate = \"1mbps\"",
        "connect_time = { max = \"1s\" }",
    );
    assert_error(
        &parse_error(&tcp_with_rate),
        "20:8",
        "cross_traffic.family.rate",
        &["a tcp flow takes no `rate`"],
    );
    let constant_without_rate = with_cross_traffic(
        "peer = \"alice\"\ndirection = \"up\"\nkind = \"constant\"",
        "connect_time = { max = \"1s\" }",
    );
    assert_error(
        &parse_error(&constant_without_rate),
        "16:1",
        "cross_traffic.family",
        &["needs a `rate`"],
    );
    let on_for_constant = with_cross_traffic(
        "peer = \"alice\"\ndirection = \"up\"\nkind = \"constant\"\nrate = \"1mbps\"\non = \"1s\"",
        "connect_time = { max = \"1s\" }",
    );
    assert_error(
        &parse_error(&on_for_constant),
        "21:6",
        "cross_traffic.family.on",
        &["for on-off flows only"],
    );
    let after_the_end = with_cross_traffic(
        "peer = \"alice\"\ndirection = \"up\"\nkind = \"tcp\"\nfrom = \"5s\"",
        "connect_time = { max = \"1s\" }",
    );
    assert_error(
        &parse_error(&after_the_end),
        "20:8",
        "cross_traffic.family.from",
        &["not before the end of the call (5s)"],
    );
    let unknown_peer = with_cross_traffic(
        "peer = \"alicia\"\ndirection = \"up\"\nkind = \"tcp\"",
        "connect_time = { max = \"1s\" }",
    );
    assert_error(
        &parse_error(&unknown_peer),
        "17:8",
        "cross_traffic.family.peer",
        &["did you mean `alice`?"],
    );
}

#[test]
fn a_throughput_check_names_a_flow_of_the_file() {
    let text = with_cross_traffic(
        "peer = \"alice\"\ndirection = \"up\"\nkind = \"tcp\"",
        "throughput = { flow = \"familly\", min = \"1kbps\" }",
    );
    assert_error(
        &parse_error(&text),
        "22:23",
        "expect[1].throughput.flow",
        &["no flow `familly`", "did you mean `family`?"],
    );
}

/// Two calls: Alice calls Bob, Carol (on Alice's network) calls Dave; `carol` is Carol's
/// table's extra keys.
fn two_calls(carol: &str) -> String {
    format!(
        r#"duration = "5s"

[peers.alice]
role = "caller"
calls = "bob"
uplink = {{ rate = "1mbps" }}

[peers.bob]
role = "callee"

[peers.carol]
role = "caller"
{carol}

[peers.dave]
role = "callee"

[[expect]]
delivered = {{ stream = "*:audio", min = "90%" }}
"#
    )
}

#[test]
fn two_calls_pair_each_caller_with_the_callee_it_names_and_streams_stay_within_a_call() {
    let text = two_calls("calls = \"dave\"\nsame_network_as = \"alice\"");
    let file = file::parse(Path::new("good.toml"), &text).expect("two calls parse");
    let calls: Vec<(String, String)> = file
        .scenario
        .calls()
        .expect("they pair up")
        .into_iter()
        .map(|(caller, callee)| (caller.name.clone(), callee.name.clone()))
        .collect();
    assert_eq!(
        calls,
        [("alice".into(), "bob".into()), ("carol".into(), "dave".into())]
    );
    assert_eq!(file.scenario.peers[2].network_of.as_deref(), Some("alice"));
    // `*:audio` is the four streams of the two calls, none across them.
    let streams: Vec<String> = file
        .expectations
        .iter()
        .map(|expectation| match expectation {
            Expectation::Stream { stream, .. } => stream.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        streams,
        [
            "bob<-alice:audio",
            "alice<-bob:audio",
            "dave<-carol:audio",
            "carol<-dave:audio"
        ]
    );
}

#[test]
fn calls_that_do_not_pair_up_are_refused_at_the_key() {
    assert_error(
        &parse_error(&two_calls("")),
        "12:8",
        "peers.carol.role",
        &["with more than one callee, the caller `carol` names whom it `calls`"],
    );
    assert_error(
        &parse_error(&two_calls("calls = \"bob\"")),
        "13:9",
        "peers.carol.calls",
        &["`bob` is already called by `alice`"],
    );
    assert_error(
        &parse_error(&two_calls("calls = \"dvae\"")),
        "13:9",
        "peers.carol.calls",
        &["did you mean `dave`?"],
    );
    assert_error(
        &parse_error(&two_calls(
            "calls = \"dave\"\nsame_network_as = \"alice\"\nnat = \"symmetric\"",
        )),
        "14:19",
        "peers.carol.same_network_as",
        &["drop its `nat`"],
    );
}

#[test]
fn stats_are_sampled_at_an_interval_above_0s() {
    let file = file::parse(Path::new("good.toml"), &format!("stats = \"1s\"\n{GOOD}")).expect("parses");
    assert_eq!(file.scenario.world.stats_interval, Some(Duration::from_secs(1)));
    assert_error(
        &parse_error(&format!("stats = \"0s\"\n{GOOD}")),
        "1:9",
        "stats",
        &["give more than 0s"],
    );
}

/// `GOOD` with congestion control on Alice, `timeline` before its check, and `check` as
/// its only expectation.
fn controlled_with(timeline: &str, check: &str) -> String {
    GOOD.replace(
        r#"link = { delay = "10ms" }"#,
        "link = { delay = \"10ms\" }\ncongestion_control = {}",
    )
    .replace(
        "[[expect]]\ndelivered = { stream = \"bob<-alice:audio\", from = \"1s\", min = \"90%\" }",
        &format!("{timeline}\n[[expect]]\n{check}"),
    )
}

#[test]
fn a_ramp_counts_from_a_link_event_that_sets_a_rate() {
    let timeline = "[[timeline]]\nat = \"2s\"\nlink = { peer = \"alice\", rate = \"300kbps\" }\n\
                    [[timeline]]\nat = \"3s\"\nlink = { peer = \"alice\", loss = \"1%\" }\n\
                    [[timeline]]\nat = \"4s\"\nrestart_ice = { peer = \"alice\" }";
    let check = |after: &str, share: &str| {
        format!("rampdown_time = {{ after = \"{after}\", of_capacity = \"{share}\", max = \"3s\" }}")
    };
    let file = file::parse(
        Path::new("good.toml"),
        &controlled_with(timeline, &check("link", "100%")),
    )
    .expect("the first link sets a rate");
    assert_eq!(file.expectations.len(), 1);
    assert_error(
        &parse_error(&controlled_with(timeline, &check("link#2", "100%"))),
        "24:27",
        "expect[0].rampdown_time.after",
        &["that `link` sets no `rate`"],
    );
    assert_error(
        &parse_error(&controlled_with(timeline, &check("restart_ice", "100%"))),
        "24:27",
        "expect[0].rampdown_time.after",
        &["from a `link` event that sets a `rate`, not `restart_ice`"],
    );
    assert_error(
        &parse_error(&controlled_with(timeline, &check("link", "0%"))),
        "24:49",
        "expect[0].rampdown_time.of_capacity",
        &["above 0%"],
    );
    let without_control = GOOD.replace(
        "[[expect]]\ndelivered = { stream = \"bob<-alice:audio\", from = \"1s\", min = \"90%\" }",
        &format!(
            "{timeline}\n[[expect]]\n{}",
            check("link", "80%").replace("rampdown", "rampup")
        ),
    );
    assert_error(
        &parse_error(&without_control),
        "22:1",
        "expect[0].rampup_time.peer",
        &["no peer has `congestion_control`"],
    );
}

#[test]
fn utilization_names_a_peer_of_the_call() {
    let error = parse_error(&breaking(
        r#"delivered = { stream = "bob<-alice:audio", from = "1s", min = "90%" }"#,
        r#"utilization = { peer = "alcie", direction = "up", min = "90%" }"#,
    ));
    assert_error(
        &error,
        "14:24",
        "expect[0].utilization.peer",
        &["did you mean `alice`?"],
    );
}

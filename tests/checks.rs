//! Every check can fail: for each one, a call whose network breaks what it promises, beside
//! the same check on a window or a call where it holds. A check proven only by passing
//! cases could be a check that cannot fail.

use std::path::Path;

use webrtc_netsim::scenario::expect::Verdict;
use webrtc_netsim::scenario::file;

/// Plays the scenario `toml` (a file's text) and returns its verdicts in file order.
fn verdicts(toml: &str) -> Vec<Verdict> {
    let scenario = file::parse(Path::new("checks.toml"), toml).expect("the scenario is valid");
    let (_, verdicts) = scenario.play().expect("the call runs to its end");
    for verdict in &verdicts {
        println!(
            "{}: {} (measured {}, limit {})",
            verdict.expectation, verdict.passed, verdict.measured, verdict.limit
        );
    }
    verdicts
}

/// Alice sends Bob data only, over 10 ms links, and her link dies at 3 s for good.
const FATAL_OUTAGE: &str = r#"
duration = "8s"
[peers.alice]
role = "caller"
media = ["data"]
link = { delay = "10ms" }
[peers.bob]
role = "callee"
media = ["data"]
link = { delay = "10ms" }
[[timeline]]
at = "3s"
outage = { peer = "alice", duration = "30s" }
"#;

#[test]
fn data_channel_fails_when_the_messages_after_an_outage_never_arrive() {
    let verdicts = verdicts(&format!(
        r#"{FATAL_OUTAGE}
[[expect]]
data_channel = {{ stream = "bob<-alice:data" }}
[[expect]]
data_channel = {{ stream = "bob<-alice:data", to = "3s" }}
"#
    ));
    let (whole_call, before) = (&verdicts[0], &verdicts[1]);
    assert!(!whole_call.passed, "{whole_call:?}");
    assert!(
        whole_call.measured.starts_with("50 lost"),
        "every message sent from 3 s to 8 s had time to arrive: {}",
        whole_call.measured
    );
    assert!(
        before.passed,
        "before the outage every message arrived: {before:?}"
    );
}

//! A folder of scenario files whose peers run a registered app (`tests/app-scenarios/`),
//! played through `webrtc_netsim::suite` as a user crate's test target plays its own: one
//! test per file, named after it, failing with the broken expectations.

// The ways of meeting that the world does not set up are tests/sim.rs's.
#[allow(dead_code)]
mod calling_app;

use std::path::Path;
use std::process::ExitCode;

use libtest_mimic::Arguments;
use webrtc_netsim::sim::{Apps, CommandKind};
use webrtc_netsim::suite;

use calling_app::{Meeting, calling_app};

fn main() -> ExitCode {
    let apps = Apps::new()
        .app("calling-app", |ctx| calling_app(ctx, Meeting::Called))
        .takes(&[CommandKind::RestartIce, CommandKind::Close]);
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/app-scenarios");
    libtest_mimic::run(&Arguments::from_args(), suite::scenario_trials(folder, &apps)).exit_code()
}

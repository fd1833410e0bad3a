//! `scenarios/*.toml` as tests: each file's peers run this app (`app = "reconnecting-app"`),
//! embedded by the same adapter as `network_changes.rs`, and each file is a test named
//! after it that fails with the expectations the call broke (`cargo test -p
//! reconnecting-app`; `-- --list` names them, `NETSIM_REPORTS=<folder>` writes their
//! reports).

mod adapter;

use std::path::Path;
use std::process::ExitCode;

use adapter::Log;
use libtest_mimic::Arguments;
use reconnecting_app::Policy;
use webrtc_netsim::sim::{Apps, CommandKind};
use webrtc_netsim::suite;

fn main() -> ExitCode {
    // The app restarts ICE by its own policy, so a bare `restart_ice` from the timeline is
    // not among what it takes: a file sending one is refused. Its telemetry has no reader
    // here; the files judge the call from the wire.
    let apps = Apps::new()
        .app("reconnecting-app", |ctx| {
            let media = adapter::media(ctx.stack.name(), true);
            adapter::app(ctx, media, Policy::default(), Log::default())
        })
        .takes(&[CommandKind::SetIceServers, CommandKind::Close]);
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    libtest_mimic::run(&Arguments::from_args(), suite::scenario_trials(folder, &apps)).exit_code()
}

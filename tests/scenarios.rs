//! One test per bundled scenario (`scenarios/*.toml`), named after the file, so that
//! `cargo test --test scenarios -- wifi` plays the Wi-Fi ones and `-- --list` lists them;
//! a file with a `[sweep]` gives one per point, `loss-sweep[peers.alice.link.loss=5%]`, so
//! `-- sweep` plays them all. A test plays the call and fails with every broken
//! expectation: measured value and limit.
//!
//! Each test plays its call twice and requires the two `report.json`s to be byte for byte
//! the same: same seed, same run (the tests run on several threads at once, as
//! `netsim run --jobs N` does). The trials are `webrtc_netsim::suite`'s, as a user crate's
//! are; the bundled files run the built-in app, so no app is registered.

use std::path::Path;
use std::process::ExitCode;

use libtest_mimic::Arguments;
use webrtc_netsim::sim::Apps;
use webrtc_netsim::suite;

fn main() -> ExitCode {
    let library = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let trials = suite::scenario_trials(library, &Apps::NONE);
    libtest_mimic::run(&Arguments::from_args(), trials).exit_code()
}

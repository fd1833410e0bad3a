//! Tells the crate which webrtc-rs it is built against (`NETSIM_WEBRTC_VERSION`, read from
//! Cargo.lock), so every report names the exact stack that produced it.

use std::path::Path;

fn main() {
    let lock = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock.display());
    let text = std::fs::read_to_string(&lock).unwrap_or_default();
    let version = locked_version(&text, "webrtc").unwrap_or("unknown");
    println!("cargo:rustc-env=NETSIM_WEBRTC_VERSION={version}");
}

/// The version of package `name` in a Cargo.lock.
fn locked_version<'a>(lock: &'a str, name: &str) -> Option<&'a str> {
    let name_line = format!("name = \"{name}\"");
    lock.split("[[package]]")
        .find(|package| package.lines().any(|line| line.trim() == name_line))?
        .lines()
        .find_map(|line| line.trim().strip_prefix("version = \"")?.strip_suffix('"'))
}

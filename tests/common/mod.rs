//! Helpers shared by the test files that drive the `netsim` binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs `netsim` with `args` to its end, printing what it said (shown if the test fails).
pub fn netsim(args: &[&str]) -> Output {
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

/// A fresh, empty folder named `name` under cargo's scratch space for tests.
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("the scratch folder is created");
    dir
}

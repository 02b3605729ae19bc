//! Fixtures shared by the end-to-end tests.

use std::path::PathBuf;
use std::process::{Command, Output};

/// The repository root.
pub(crate) fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs the `natlab` binary with `args` from the repository root.
#[allow(dead_code, clippy::expect_used)]
pub(crate) fn natlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_natlab"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("natlab runs")
}

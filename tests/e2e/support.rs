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

/// Checks `junit` against the JUnit schema in `tests/e2e/fixtures/junit.xsd` with xmllint
/// (libxml2-utils, installed by scripts/install-deps), then reads it with a JUnit parser.
#[allow(dead_code, clippy::expect_used)]
pub(crate) fn valid_junit(junit: &std::path::Path) -> junit_parser::TestSuites {
    let schema = root().join("tests/e2e/fixtures/junit.xsd");
    let check = Command::new("xmllint")
        .args(["--noout", "--schema"])
        .arg(&schema)
        .arg(junit)
        .output()
        .expect("xmllint runs (scripts/install-deps installs libxml2-utils)");
    assert!(
        check.status.success(),
        "{} does not validate against the JUnit schema:\n{}",
        junit.display(),
        String::from_utf8_lossy(&check.stderr)
    );
    let file = std::fs::File::open(junit).expect("open the JUnit file");
    junit_parser::from_reader(std::io::BufReader::new(file)).expect("a JUnit parser reads it")
}

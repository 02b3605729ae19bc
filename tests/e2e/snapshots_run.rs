//! Snapshots of what `natlab run` writes: a scenario's `report.json` (passing and failing), and
//! the suite JSON and JUnit, with the volatile fields (wall times, output paths) redacted.

#![allow(clippy::expect_used)]

use crate::support::natlab;
use std::path::{Path, PathBuf};

/// Runs a passing SIP scenario and the failing fixture into a fresh directory, with the suite
/// JSON and JUnit beside the reports.
fn run_pair(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let out = dir.display().to_string();
    let r = natlab(&[
        "run",
        "scenarios/sip/trunk-486-busy.yaml",
        "tests/e2e/fixtures/run-failing.yaml",
        "--out",
        &out,
        "--jobs",
        "2",
        "--json",
        &format!("{out}/suite.json"),
        "--junit",
        &format!("{out}/junit.xml"),
    ]);
    assert_eq!(
        r.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    dir
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("JSON")
}

#[test]
fn snapshot_run_reports_json() {
    let dir = run_pair("snapshot-reports");
    // report.json holds nothing volatile: it is compared byte for byte across replays.
    insta::assert_json_snapshot!(
        "report_trunk_486_busy",
        json(&dir.join("trunk-486-busy/report.json"))
    );
    insta::assert_json_snapshot!(
        "report_run_failing",
        json(&dir.join("run-failing/report.json"))
    );
}

#[test]
fn snapshot_run_suite_json_and_junit() {
    let dir = run_pair("snapshot-suite");
    let out = dir.display().to_string();
    // Paths under the scratch directory read `[out]/...`.
    let text = std::fs::read_to_string(dir.join("suite.json")).expect("suite.json");
    let suite: serde_json::Value =
        serde_json::from_str(&text.replace(&out, "[out]")).expect("JSON");
    insta::assert_json_snapshot!("suite_json", suite, {
        ".scenarios[].wall_ms" => "[wall_ms]",
    });
    let junit = std::fs::read_to_string(dir.join("junit.xml")).expect("junit.xml");
    let out = regex_escape(&dir.display().to_string());
    insta::with_settings!({filters => vec![
        (r#"time="[0-9.]+""#, r#"time="[time]""#),
        (r#"timestamp="[^"]+""#, r#"timestamp="[timestamp]""#),
        (r#"hostname="[^"]+""#, r#"hostname="[hostname]""#),
        (out.as_str(), "[out]"),
    ]}, {
        insta::assert_snapshot!("suite_junit", junit);
    });
}

fn regex_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

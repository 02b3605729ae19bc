//! `natlab coverage`: the committed docs/coverage.md is what the bundled suite proves, the JSON
//! totals add up, and reading an earlier run's reports gives the same answer as running.

#![allow(clippy::expect_used)]

use crate::support::{natlab, root};
use std::path::PathBuf;

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

fn coverage_json(args: &[&str]) -> serde_json::Value {
    let mut all = vec!["coverage"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json"]);
    let o = natlab(&all);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).expect("coverage JSON")
}

#[test]
fn coverage_doc_is_fresh() {
    let committed =
        std::fs::read_to_string(root().join("docs/coverage.md")).expect("docs/coverage.md");
    let o = natlab(&["coverage", "scenarios/", "--format", "markdown"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let generated = String::from_utf8_lossy(&o.stdout);
    assert!(
        committed == generated,
        "docs/coverage.md is stale: run scripts/coverage"
    );
}

#[test]
fn coverage_json_totals_count_the_rows_and_the_groups() {
    let json = coverage_json(&["scenarios/"]);
    assert_eq!(json["schema_version"], 1);
    let totals = &json["totals"];
    for (key, list, total) in [
        ("events", "events", 28),
        ("status", "status", 301),
        ("trunk", "trunk", 19),
    ] {
        let rows = json[list].as_array().expect("a list");
        assert_eq!(rows.len(), total, "{key}");
        assert_eq!(totals[key]["total"], total, "{key}");
        let covered = rows
            .iter()
            .filter(|r| !r["scenarios"].as_array().expect("scenarios").is_empty())
            .count();
        assert_eq!(totals[key]["covered"], covered, "{key}");
    }
    assert_eq!(totals["status"]["simulable"], 219);
    let groups = json["groups"].as_array().expect("groups");
    let letters: Vec<&str> = groups
        .iter()
        .map(|g| g["letter"].as_str().expect("letter"))
        .collect();
    assert_eq!(letters, ["A", "B", "C", "D", "E", "F", "G"]);
    let sum: u64 = groups
        .iter()
        .map(|g| g["covered"].as_u64().expect("covered"))
        .sum();
    assert_eq!(totals["status"]["covered"], sum);
    assert_eq!(json["not_simulable"].as_array().expect("codes").len(), 82);
    // Codes the bundled scenarios are written to prove.
    let proved = |list: &str, key: &str, value: serde_json::Value| -> Vec<String> {
        json[list]
            .as_array()
            .expect("list")
            .iter()
            .find(|r| r[key] == value)
            .map(|r| {
                r["scenarios"]
                    .as_array()
                    .expect("scenarios")
                    .iter()
                    .map(|s| s.as_str().expect("name").to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    assert!(proved("status", "code", 486.into()).contains(&"trunk-486-busy".to_owned()));
    assert!(proved("status", "code", 370082.into()).contains(&"ice-symmetric-pair".to_owned()));
    assert!(proved("trunk", "row", 17.into()).contains(&"trunk-503-call-limit".to_owned()));
    assert!(proved("events", "code", 60005.into()).contains(&"detect-open".to_owned()));
}

#[test]
fn coverage_from_results_matches_running_and_failing_expectations_prove_nothing() {
    let dir = scratch("coverage-results");
    let out = dir.display().to_string();
    let r = natlab(&["run", "scenarios/sip/trunk-4*.yaml", "--out", &out]);
    assert_eq!(
        r.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    let read = coverage_json(&["--results", &out]);
    let ran = coverage_json(&["scenarios/sip/trunk-4*.yaml"]);
    assert_eq!(read["totals"], ran["totals"]);
    assert_eq!(read["status"], ran["status"]);
    assert!(
        read["scenarios"].as_u64() >= Some(8),
        "{}",
        read["scenarios"]
    );

    // The failing fixture expects a 486 it never sees: the code stays unproved.
    let failing = scratch("coverage-failing");
    let out = failing.display().to_string();
    let r = natlab(&["run", "tests/e2e/fixtures/run-failing.yaml", "--out", &out]);
    assert_eq!(r.status.code(), Some(1));
    let json = coverage_json(&["--results", &out]);
    assert_eq!(json["totals"]["status"]["covered"], 0);
    assert_eq!(json["totals"]["trunk"]["covered"], 0);
}

#[test]
fn coverage_of_a_pattern_matching_nothing_exits_4() {
    let o = natlab(&["coverage", "scenarios/nowhere/*.yaml"]);
    assert_eq!(o.status.code(), Some(4));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("scenarios/nowhere/*.yaml"), "{stderr}");
}

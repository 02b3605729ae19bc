//! `natlab run` as a suite runner: selection (filter, seeds, partition), parallel runs, JUnit and
//! JSON outputs, fail-fast and the determinism check.

#![allow(clippy::expect_used)]

use crate::support::natlab;
use std::collections::BTreeSet;
use std::path::PathBuf;

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("suite-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

fn json(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("JSON")
}

fn names_and_seeds(summary: &serde_json::Value) -> Vec<(String, u64)> {
    summary["scenarios"]
        .as_array()
        .expect("scenarios")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().expect("name").to_owned(),
                s["seed"].as_u64().expect("seed"),
            )
        })
        .collect()
}

#[test]
fn suite_partitions_cover_the_filtered_suite_exactly_once() {
    let dir = scratch("partition");
    let out = dir.display().to_string();
    let whole = dir.join("whole.json");
    let r = natlab(&[
        "run",
        "scenarios/network",
        "--filter",
        "nat-",
        "--seeds",
        "1..3",
        "--out",
        &out,
        "--json",
        whole.to_str().expect("utf-8"),
        "--jobs",
        "2",
    ]);
    assert_eq!(
        r.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    let all = names_and_seeds(&json(&whole));
    assert!(all.len() > 20, "{all:?}");
    assert!(all.iter().all(|(n, _)| n.starts_with("nat-")), "{all:?}");
    let distinct: BTreeSet<_> = all.iter().cloned().collect();
    assert_eq!(distinct.len(), all.len());
    assert!(dir.join("nat-flush/seed-2/report.json").is_file());

    let mut union = Vec::new();
    for k in 1..=3 {
        let file = dir.join(format!("shard-{k}.json"));
        let r = natlab(&[
            "run",
            "scenarios/network",
            "--filter",
            "nat-",
            "--seeds",
            "1..3",
            "--out",
            &out,
            "--partition",
            &format!("{k}/3"),
            "--json",
            file.to_str().expect("utf-8"),
        ]);
        assert!(
            matches!(r.status.code(), Some(0 | 4)),
            "{}",
            String::from_utf8_lossy(&r.stderr)
        );
        if file.is_file() {
            let shard = names_and_seeds(&json(&file));
            assert!(shard.len() < all.len(), "shard {k} is not the whole suite");
            union.extend(shard);
        }
    }
    union.sort();
    let mut expected = all.clone();
    expected.sort();
    assert_eq!(
        union, expected,
        "the three shards together run each (scenario, seed) once"
    );
}

#[test]
fn suite_junit_names_the_failure_its_seed_and_the_command_that_reproduces_it() {
    let dir = scratch("junit");
    let junit = dir.join("junit.xml");
    let r = natlab(&[
        "run",
        "tests/e2e/fixtures/run-failing.yaml",
        "scenarios/network/nat-flush.yaml",
        "--seed",
        "5",
        "--out",
        dir.to_str().expect("utf-8"),
        "--junit",
        junit.to_str().expect("utf-8"),
    ]);
    assert_eq!(r.status.code(), Some(1));
    let xml = std::fs::read_to_string(&junit).expect("junit written");
    assert!(xml.starts_with("<?xml"), "{xml}");
    assert!(
        xml.contains("tests=\"2\" failures=\"1\" errors=\"0\" skipped=\"0\""),
        "{xml}"
    );
    assert!(xml.contains("name=\"nat-flush [seed 5]\""), "{xml}");
    assert!(xml.contains("name=\"run-failing [seed 5]\""), "{xml}");
    assert!(
        xml.contains("expectation 1 (received) failed: alice receives exactly 3 echoes from proxy; observed: 2 received"),
        "{xml}"
    );
    assert!(
        xml.contains("reproduce with: natlab run tests/e2e/fixtures/run-failing.yaml --seed 5"),
        "{xml}"
    );
    assert_eq!(xml.matches("<testcase ").count(), 2);
    assert_eq!(xml.matches("<failure ").count(), 1);
    let stdout = String::from_utf8_lossy(&r.stdout);
    assert!(
        stdout.contains(
            "seed 5; reproduce with: natlab run tests/e2e/fixtures/run-failing.yaml --seed 5"
        ),
        "{stdout}"
    );
}

#[test]
fn suite_fail_fast_skips_what_it_did_not_start() {
    let dir = scratch("fail-fast");
    let summary = dir.join("suite.json");
    let r = natlab(&[
        "run",
        "tests/e2e/fixtures/run-failing.yaml",
        "scenarios/network/nat-flush.yaml",
        "scenarios/network/nat-eim-eif.yaml",
        "--jobs",
        "1",
        "--fail-fast",
        "--out",
        dir.to_str().expect("utf-8"),
        "--json",
        summary.to_str().expect("utf-8"),
    ]);
    assert_eq!(r.status.code(), Some(1));
    let s = json(&summary);
    let statuses: Vec<&str> = s["scenarios"]
        .as_array()
        .expect("scenarios")
        .iter()
        .map(|e| e["status"].as_str().expect("status"))
        .collect();
    assert_eq!(statuses, ["failed", "skipped", "skipped"]);
    assert!(!dir.join("nat-flush/report.json").exists());
}

#[test]
fn suite_check_determinism_replays_in_separate_processes() {
    let dir = scratch("determinism");
    let summary = dir.join("suite.json");
    let r = natlab(&[
        "run",
        "scenarios/network/link-duplicate-reorder.yaml",
        "scenarios/network/fault-tcp-reset.yaml",
        "--check-determinism",
        "--out",
        dir.to_str().expect("utf-8"),
        "--json",
        summary.to_str().expect("utf-8"),
    ]);
    assert_eq!(
        r.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&r.stdout)
    );
    let s = json(&summary);
    assert!(
        s["scenarios"]
            .as_array()
            .expect("scenarios")
            .iter()
            .all(|e| e["status"] == "passed")
    );
    assert!(
        !dir.join("link-duplicate-reorder/determinism").exists(),
        "replays are cleaned up"
    );
}

#[test]
fn suite_rejects_bad_selections_with_usage_errors() {
    for args in [
        &["run", "scenarios/", "--partition", "0/3"][..],
        &["run", "scenarios/", "--partition", "4/3"],
        &["run", "scenarios/", "--seeds", "5..5"],
        &["run", "scenarios/", "--seeds", "x..3"],
        &["run", "scenarios/", "--seed", "1", "--seeds", "1..3"],
    ] {
        let r = natlab(args);
        assert_eq!(r.status.code(), Some(2), "{args:?}");
    }
    let r = natlab(&["run", "scenarios/", "--filter", "no-such-scenario"]);
    assert_eq!(r.status.code(), Some(4));
}

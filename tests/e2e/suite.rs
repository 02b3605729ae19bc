//! `natlab run` as a suite runner: selection (filter, seeds, partition), parallel runs, JUnit and
//! JSON outputs, fail-fast and the determinism check.

#![allow(clippy::expect_used)]

use crate::support::{natlab, valid_junit};
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

    // A JUnit reader sees the same, and the command it names fails the same way.
    let suites = valid_junit(&junit);
    let cases = &suites.suites[0].cases;
    assert_eq!((suites.tests, suites.failures, suites.errors), (2, 1, 0));
    let failing = cases
        .iter()
        .find(|c| c.status.is_failure())
        .expect("one failing testcase");
    assert_eq!(failing.original_name, "run-failing [seed 5]");
    assert_eq!(failing.classname.as_deref(), Some("tests.e2e.fixtures"));
    let failure = failing.status.failure_as_ref();
    assert_eq!(failure.failure_type, "expectation");
    let command = failure
        .message
        .split("; reproduce: ")
        .nth(1)
        .expect("the message names a reproduce command");
    let args: Vec<&str> = command.split_whitespace().collect();
    assert_eq!(args[0], "natlab", "{command}");
    let again = natlab(&args[1..]);
    assert_eq!(again.status.code(), Some(1));
    let again = String::from_utf8_lossy(&again.stdout);
    for line in failure.text.lines().filter(|l| l.contains(" failed: ")) {
        assert!(again.contains(line.trim()), "`{line}` not in:\n{again}");
    }
    assert!(
        cases
            .iter()
            .find(|c| c.original_name == "nat-flush [seed 5]")
            .expect("the passing testcase")
            .status
            .is_success()
    );
}

#[test]
fn suite_junit_of_the_bundled_suite_is_valid_junit_with_one_passing_case_per_scenario() {
    let dir = scratch("junit-bundled");
    let junit = dir.join("junit.xml");
    let out = dir.join("runs");
    let r = natlab(&[
        "run",
        "scenarios/",
        "--out",
        out.to_str().expect("utf-8"),
        "--format",
        "json",
        "--junit",
        junit.to_str().expect("utf-8"),
    ]);
    assert_eq!(
        r.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&r.stdout)
    );
    let summary: serde_json::Value = serde_json::from_slice(&r.stdout).expect("suite JSON");
    let expected: BTreeSet<String> = names_and_seeds(&summary)
        .into_iter()
        .map(|(name, seed)| format!("{name} [seed {seed}]"))
        .collect();
    assert!(expected.len() > 100, "{} scenarios", expected.len());

    let suites = valid_junit(&junit);
    assert_eq!(suites.suites.len(), 1);
    let suite = &suites.suites[0];
    assert_eq!(
        (suite.tests, suite.failures, suite.errors, suite.skipped),
        (expected.len() as u64, 0, 0, 0)
    );
    let names: BTreeSet<String> = suite
        .cases
        .iter()
        .map(|c| c.original_name.clone())
        .collect();
    assert_eq!(names, expected);
    for case in &suite.cases {
        assert!(case.status.is_success(), "{} did not pass", case.name);
        let classname = case.classname.as_deref().expect("classname");
        assert!(classname.starts_with("scenarios."), "{classname}");
        let file = case
            .system_out
            .as_deref()
            .and_then(|o| o.lines().find_map(|l| l.strip_prefix("scenario: ")))
            .expect("system-out names the scenario file");
        assert!(crate::support::root().join(file).is_file(), "{file}");
        assert!(
            file.replace('/', ".").starts_with(classname),
            "{file} vs {classname}"
        );
    }
}

#[test]
fn junit_schema_rejects_what_junit_readers_reject() {
    let dir = scratch("junit-schema");
    let schema = crate::support::root().join("tests/e2e/fixtures/junit.xsd");
    for (name, xml) in [
        (
            "attribute",
            r#"<testsuites><testsuite name="s" tests="1" failures="0" errors="0"><testcase name="c" file="x.yaml"/></testsuite></testsuites>"#,
        ),
        (
            "skipped-message",
            r#"<testsuites><testsuite name="s" tests="1" failures="0" errors="0"><testcase name="c"><skipped message="m"/></testcase></testsuite></testsuites>"#,
        ),
        (
            "no-failures",
            r#"<testsuites><testsuite name="s" tests="1" errors="0"><testcase name="c"/></testsuite></testsuites>"#,
        ),
        (
            "order",
            r#"<testsuites><testsuite name="s" tests="1" failures="1" errors="0"><testcase name="c"><system-out>o</system-out><failure message="m"/></testcase></testsuite></testsuites>"#,
        ),
    ] {
        let path = dir.join(format!("{name}.xml"));
        std::fs::write(&path, xml).expect("write");
        let check = std::process::Command::new("xmllint")
            .args(["--noout", "--schema"])
            .arg(&schema)
            .arg(&path)
            .output()
            .expect("xmllint runs");
        assert!(!check.status.success(), "{name} was accepted");
    }
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

//! `natlab shrink` on a failing fixture with 24 timeline entries: it keeps exactly the entries
//! and elements the failure needs, and the shrunk scenario fails the same way.

#![allow(clippy::expect_used)]

use crate::support::natlab;
use std::path::PathBuf;

const FIXTURE: &str = "tests/e2e/fixtures/shrink-failing.yaml";

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// The observation of the first failed expectation in a run's report.
fn failed_observation(report: &std::path::Path) -> (String, String) {
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report).expect("report")).expect("JSON");
    let failed = json["expectations"]
        .as_array()
        .expect("expectations")
        .iter()
        .find(|e| e["passed"] == false)
        .expect("a failed expectation");
    (
        failed["text"].as_str().expect("text").to_owned(),
        failed["observed"].as_str().expect("observed").to_owned(),
    )
}

#[test]
fn shrink_reduces_the_fixture_to_the_entries_that_matter() {
    let dir = scratch("shrink");
    let shrunk = dir.join("minimal.yaml");
    let o = natlab(&["shrink", FIXTURE, "--out", shrunk.to_str().expect("utf-8")]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert!(o.stdout.is_empty(), "the YAML went to --out");

    let text = std::fs::read_to_string(&shrunk).expect("shrunk scenario");
    let file = sim_scenario::decode_str("minimal.yaml", &text).expect("the output loads");
    let timeline: Vec<(String, String)> = file
        .timeline
        .iter()
        .map(|t| {
            let v = serde_json::to_value(t).expect("entry");
            let action = v
                .as_object()
                .and_then(|m| m.keys().find(|k| *k != "at").cloned())
                .expect("an action");
            (v["at"].as_str().expect("at").to_owned(), action)
        })
        .collect();
    let pairs: Vec<(&str, &str)> = timeline
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    assert_eq!(
        pairs,
        [("1s", "send"), ("1500ms", "partition"), ("2500ms", "heal")],
        "{text}"
    );
    let topology = serde_json::to_value(&file.topology).expect("topology");
    let names = |list: &str| -> Vec<String> {
        topology[list]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| e["name"].as_str().expect("name").to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(names("endpoints"), ["alice", "proxy"], "{text}");
    assert_eq!(names("nats"), ["home"], "{text}");
    assert!(names("servers").is_empty(), "{text}");
    assert_eq!(file.expect.len(), 1, "only the failing expectation stays");

    for needle in [
        "shrink: expectation 1 (received) fails: alice receives exactly 3 echoes from proxy",
        "removed 27 of 34 elements",
        "  - endpoint carol",
        "  - timeline[12] (at 1800ms: loss_burst dave)",
        "kept:\n  - the topology defaults\n  - NAT home\n  - endpoint alice\n  - endpoint proxy\n  \
         - timeline[4] (at 1s: send alice proxy)\n  - timeline[9] (at 1500ms: partition alice proxy)\n  \
         - timeline[17] (at 2500ms: heal alice proxy)\n",
        "dropped the 2 other expectation(s)",
        "simulation runs",
    ] {
        assert!(stderr.contains(needle), "missing `{needle}` in:\n{stderr}");
    }

    // Both fail the same way: the same expectation, the same observation.
    let out = dir.join("runs");
    let out_s = out.to_str().expect("utf-8");
    let original = natlab(&["run", FIXTURE, "--out", &format!("{out_s}/a")]);
    assert_eq!(original.status.code(), Some(1));
    let again = natlab(&[
        "run",
        shrunk.to_str().expect("utf-8"),
        "--out",
        &format!("{out_s}/b"),
    ]);
    assert_eq!(again.status.code(), Some(1));
    assert_eq!(
        failed_observation(&out.join("a/shrink-failing/report.json")),
        failed_observation(&out.join("b/shrink-failing/report.json")),
    );
}

#[test]
fn shrink_is_deterministic_and_writes_yaml_to_stdout() {
    let a = natlab(&["shrink", FIXTURE]);
    let b = natlab(&["shrink", FIXTURE]);
    assert_eq!(a.status.code(), Some(0));
    assert!(!a.stdout.is_empty());
    assert_eq!(a.stdout, b.stdout);
    assert_eq!(a.stderr, b.stderr);
}

#[test]
fn shrink_refuses_a_passing_expectation_and_a_passing_scenario() {
    let o = natlab(&["shrink", FIXTURE, "--expect", "0"]);
    assert_eq!(o.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&o.stderr).contains("expectation 0 (received) passes"));
    let o = natlab(&["shrink", FIXTURE, "--expect", "9"]);
    assert_eq!(o.status.code(), Some(2));
    let o = natlab(&["shrink", "scenarios/network/nat-eim-apdf.yaml"]);
    assert_eq!(o.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&o.stderr).contains("every expectation passes"));
}

//! `natlab run` on the bundled scenarios: they pass, they replay byte for byte in separate
//! processes, and their captures decode cleanly in tshark.

#![allow(clippy::expect_used)]

use crate::support::{natlab, root};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A fresh empty directory under the target directory.
fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// sha256 of every file under `dir`, by relative path.
fn hashes(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).expect("read file");
                let rel = path
                    .strip_prefix(dir)
                    .expect("prefix")
                    .display()
                    .to_string();
                out.insert(rel, format!("{:x}", Sha256::digest(&bytes)));
            }
        }
    }
    out
}

fn run_suite(out: &Path, extra: &[&str]) {
    let out = out.display().to_string();
    let mut args = vec![
        "run",
        "scenarios/",
        "--out",
        out.as_str(),
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let result = natlab(&args);
    assert_eq!(
        result.status.code(),
        Some(0),
        "natlab run failed:\n{}{}",
        String::from_utf8_lossy(&result.stdout),
        String::from_utf8_lossy(&result.stderr)
    );
}

#[test]
fn run_bundled_scenarios_replay_byte_for_byte_in_separate_processes() {
    let (a, b) = (scratch("replay-a"), scratch("replay-b"));
    run_suite(&a, &[]);
    run_suite(&b, &[]);
    let (ha, hb) = (hashes(&a), hashes(&b));
    assert!(
        ha.keys().any(|k| k.ends_with("capture.pcapng")),
        "no capture written: {ha:?}"
    );
    assert!(ha.keys().any(|k| k.ends_with("report.json")));
    assert_eq!(ha, hb, "two runs of the same scenarios and seeds differ");
}

#[test]
fn run_with_another_seed_changes_the_lossy_scenarios() {
    let (a, b) = (scratch("seed-a"), scratch("seed-b"));
    run_suite(&a, &[]);
    let out = b.display().to_string();
    let result = natlab(&["run", "scenarios/network", "--out", &out, "--seed", "99"]);
    // Expectations are written for the scenarios' own seeds; another seed may fail some, but
    // the run itself must complete.
    assert!(
        matches!(result.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let (ha, hb) = (hashes(&a), hashes(&b));
    let differs = ha
        .iter()
        .filter(|(k, _)| k.starts_with("link-") && k.ends_with("capture.pcapng"))
        .any(|(k, v)| hb.get(k).is_some_and(|w| w != v));
    assert!(
        differs,
        "a different seed must change the captures of lossy links"
    );
}

#[test]
fn run_captures_decode_in_tshark_with_no_malformed_frames_and_good_checksums() {
    let dir = scratch("tshark");
    run_suite(&dir, &[]);
    let captures: Vec<PathBuf> = hashes(&dir)
        .keys()
        .filter(|k| k.ends_with("capture.pcapng"))
        .map(|k| dir.join(k))
        .collect();
    assert!(!captures.is_empty());
    for capture in captures {
        let output = Command::new("tshark")
            .args(["-n", "-r"])
            .arg(&capture)
            .args([
                "-o",
                "ip.check_checksum:TRUE",
                "-o",
                "udp.check_checksum:TRUE",
                "-o",
                "tcp.check_checksum:TRUE",
                "-T",
                "fields",
                "-e",
                "frame.number",
                "-e",
                "_ws.malformed",
                "-e",
                "ip.checksum.status",
                "-e",
                "udp.checksum.status",
                "-e",
                "tcp.checksum.status",
                "-e",
                "_ws.expert.severity",
            ])
            .output()
            .expect("tshark is installed (scripts/install-deps)");
        assert!(
            output.status.success(),
            "tshark failed on {}: {}",
            capture.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(
            !text.trim().is_empty(),
            "tshark read no frames from {}",
            capture.display()
        );
        for line in text.lines() {
            let fields: Vec<&str> = line.split('\t').collect();
            let frame = fields.first().copied().unwrap_or("?");
            assert_eq!(
                fields.get(1).copied().unwrap_or(""),
                "",
                "{} frame {frame} is malformed",
                capture.display()
            );
            for (i, name) in [(2, "ip"), (3, "udp"), (4, "tcp")] {
                let status = fields.get(i).copied().unwrap_or("");
                // 1 = good, 2 = unverified (fragments); 0 = bad.
                assert!(
                    !status.split(',').any(|s| s == "0"),
                    "{} frame {frame}: bad {name} checksum",
                    capture.display()
                );
            }
        }
    }
}

#[test]
fn run_writes_reports_with_schema_version_and_seed() {
    let dir = scratch("report");
    run_suite(&dir, &[]);
    let report =
        std::fs::read_to_string(dir.join("nat-eim-apdf/report.json")).expect("report written");
    let json: serde_json::Value = serde_json::from_str(&report).expect("report is JSON");
    assert_eq!(json["schema_version"], 1);
    assert_eq!(json["seed"], 1);
    assert_eq!(json["passed"], true);
    assert_eq!(
        json["scenario"]["file"],
        "scenarios/network/nat-eim-apdf.yaml"
    );
}

/// The `natlab-<scenario>.pcapng` samples of `pcaps/` are what those scenarios capture today.
#[test]
fn run_natlab_samples_in_pcaps_are_reproduced_byte_for_byte() {
    let dir = scratch("samples");
    let mut samples = 0;
    for entry in std::fs::read_dir(root().join("pcaps")).expect("pcaps/") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        let Some(scenario) = name
            .strip_prefix("natlab-")
            .and_then(|n| n.strip_suffix(".pcapng"))
        else {
            continue;
        };
        let file = format!("scenarios/network/{scenario}.yaml");
        let out = dir.display().to_string();
        let result = natlab(&["run", &file, "--out", &out]);
        assert_eq!(result.status.code(), Some(0), "{file} does not pass");
        let fresh = std::fs::read(dir.join(scenario).join("capture.pcapng")).expect("capture");
        let committed = std::fs::read(root().join("pcaps").join(&name)).expect("sample");
        assert!(
            fresh == committed,
            "pcaps/{name} differs from what {file} captures now: run `scripts/make-pcaps natlab` \
             and review the analyze snapshots"
        );
        samples += 1;
    }
    assert!(samples >= 1, "no natlab-*.pcapng sample in pcaps/");
}

#[test]
fn run_refuses_invalid_scenarios_before_running_anything() {
    let dir = scratch("invalid");
    let out = dir.display().to_string();
    let bad = root().join("tests/e2e/fixtures/run-invalid.yaml");
    let result = natlab(&["run", bad.to_str().expect("utf-8 path"), "--out", &out]);
    assert_eq!(result.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(stderr.contains("run-invalid.yaml:"), "{stderr}");
    assert!(
        std::fs::read_dir(&dir).expect("dir").next().is_none(),
        "nothing may be written"
    );
}

#[test]
fn run_refuses_scenarios_it_cannot_run_yet_with_the_reason() {
    let dir = scratch("unsupported");
    let out = dir.display().to_string();
    let result = natlab(&[
        "run",
        "tests/e2e/fixtures/run-unsupported.yaml",
        "--out",
        &out,
    ]);
    assert_eq!(result.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(stderr.contains("cannot run yet"), "{stderr}");
    assert!(stderr.contains("kind dns"), "{stderr}");
}

#[test]
fn run_with_nothing_to_run_exits_4() {
    let dir = scratch("empty");
    let empty = dir.join("no-scenarios");
    std::fs::create_dir_all(&empty).expect("mkdir");
    let result = natlab(&[
        "run",
        empty.to_str().expect("utf-8"),
        "--out",
        dir.to_str().expect("utf-8"),
    ]);
    assert_eq!(result.status.code(), Some(4));
}

#[test]
fn run_failing_expectations_exit_1_naming_each_with_what_happened() {
    let dir = scratch("failing");
    let out = dir.display().to_string();
    let result = natlab(&["run", "tests/e2e/fixtures/run-failing.yaml", "--out", &out]);
    assert_eq!(result.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&result.stdout);
    for needle in [
        "expectation 1 (received) failed: alice receives exactly 3 echoes from proxy; observed: 2 received",
        "expectation 2 (dropped) failed: exactly 2 packets dropped as filtered at home; observed: 1 dropped",
        "expectation 3 (mapping) failed",
        "expectation 4 (event) failed: alice reports at least 1 address-changed; observed: 0 reported",
        "expectation 5 (sequence) failed: alice reports in order: port-bound, probe-started; observed: 0 of 2 in order, then no port-bound",
        "expectation 6 (sip_response) failed: at least 1 SIP 486 responses to OPTIONS from proxy cross the network; observed: 0 seen",
    ] {
        assert!(stdout.contains(needle), "missing `{needle}` in:\n{stdout}");
    }
    assert!(
        !stdout.contains("expectation 0 "),
        "expectation 0 holds:\n{stdout}"
    );
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("run-failing/report.json")).expect("report"),
    )
    .expect("report is JSON");
    assert_eq!(report["passed"], false);
    let passed: Vec<bool> = report["expectations"]
        .as_array()
        .expect("expectations")
        .iter()
        .map(|e| e["passed"].as_bool().expect("passed"))
        .collect();
    assert_eq!(passed, [true, false, false, false, false, false, false]);
}

#[test]
fn run_writes_an_event_log_beside_every_report() {
    let dir = scratch("events");
    let out = dir.display().to_string();
    let result = natlab(&[
        "run",
        "scenarios/network/runtime-events.yaml",
        "--out",
        &out,
    ]);
    assert_eq!(
        result.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&result.stdout)
    );
    let log = std::fs::read_to_string(dir.join("runtime-events/events.jsonl")).expect("events");
    let events: Vec<(String, String)> = log
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("a JSON line");
            (
                v["node"].as_str().expect("node").to_owned(),
                v["event"].as_str().expect("event").to_owned(),
            )
        })
        .collect();
    let alice: Vec<&str> = events
        .iter()
        .filter(|(n, _)| n == "alice")
        .map(|(_, e)| e.as_str())
        .collect();
    assert_eq!(alice, ["probe-started", "port-bound", "address-changed"]);
    let report = std::fs::read_to_string(dir.join("runtime-events/report.json")).expect("report");
    assert!(report.contains("\"file\": \"events.jsonl\""), "{report}");
}

/// Packet-class fault rules report their hits in `report.json`.
#[test]
fn run_packet_fault_scenarios_report_rule_hits() {
    let dir = scratch("faults");
    let out = dir.display().to_string();
    let cases = [
        ("fault-sip-second-ok", "second-ok", 5, 1),
        ("fault-sip-every-third-delayed", "every-third-options", 6, 2),
        ("fault-tcp-syn-drop", "lose-syn", 3, 2),
        ("fault-tcp-reset", "reset-third-line", 4, 1),
    ];
    for (scenario, rule, matched, acted) in cases {
        let file = format!("scenarios/network/{scenario}.yaml");
        let result = natlab(&["run", &file, "--out", &out]);
        assert_eq!(result.status.code(), Some(0), "{file} does not pass");
        let report = std::fs::read_to_string(dir.join(scenario).join("report.json"))
            .expect("report written");
        let json: serde_json::Value = serde_json::from_str(&report).expect("report is JSON");
        let faults = json["faults"].as_array().expect("a faults list");
        assert_eq!(faults.len(), 1, "{scenario}: {faults:?}");
        assert_eq!(faults[0]["name"], rule, "{scenario}");
        assert_eq!(faults[0]["matched"], matched, "{scenario}");
        assert_eq!(faults[0]["acted"], acted, "{scenario}");
    }
    let result = natlab(&["run", "scenarios/network/nat-eim-apdf.yaml", "--out", &out]);
    assert_eq!(result.status.code(), Some(0));
    let plain = std::fs::read_to_string(dir.join("nat-eim-apdf/report.json")).expect("report");
    assert!(
        !plain.contains("\"faults\""),
        "no faults list without rules"
    );
}

/// rtc-stun draws STUN transaction ids from `rand::rng()`: the scenario seed decides them, so
/// two processes write the same capture, and another seed writes other ids with the same timing.
#[test]
fn run_dependency_randomness_replays_across_processes_and_follows_the_seed() {
    let capture = |name: &str, seed: &str| {
        let dir = scratch(name);
        let out = dir.display().to_string();
        let file = "scenarios/network/stun-binding-keepalive.yaml";
        let result = natlab(&["run", file, "--out", &out, "--seed", seed]);
        assert_eq!(result.status.code(), Some(0), "{name}");
        std::fs::read(dir.join("stun-binding-keepalive/capture.pcapng")).expect("capture")
    };
    let a = capture("stun-seed-1a", "1");
    let b = capture("stun-seed-1b", "1");
    let c = capture("stun-seed-2", "2");
    assert_eq!(a, b, "same seed, same transaction ids");
    assert_eq!(
        a.len(),
        c.len(),
        "same packets and sizes under another seed"
    );
    assert_ne!(a, c, "another seed draws other transaction ids");
}

/// The final statuses `natlab analyze` reads from a SIP scenario's capture are the ones its
/// softphones reported: for calls, the callers' `onInviteAnswered` / `onInviteFailure`
/// statuses (one per call); for registrations, the statuses of `onRegisterSuccess` /
/// `onRegisterFailure` (as a set: refreshes share a Call-ID). A transaction the
/// capture shows timing out is the UA's locally generated 408.
#[test]
fn run_sip_scenarios_analyzer_agrees_with_the_endpoints_events() {
    let dir = scratch("sip-agreement");
    let out = dir.display().to_string();
    let r = natlab(&["run", "scenarios/sip", "--out", &out, "--format", "json"]);
    assert_eq!(
        r.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&r.stdout)
    );
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).expect("reports") {
        let scenario = entry.expect("entry").path();
        let capture = scenario.join("capture.pcapng");
        if !capture.is_file() {
            continue;
        }
        let analysis = natlab(&[
            "analyze",
            capture.to_str().expect("utf-8"),
            "--format",
            "json",
        ]);
        let json: serde_json::Value =
            serde_json::from_slice(&analysis.stdout).expect("analyze JSON");
        let mut seen = BTreeMap::<&str, Vec<u64>>::new();
        for call in json["calls"].as_array().expect("calls") {
            let kind = match call["kind"].as_str() {
                Some("registration") => "register",
                Some("call") => "call",
                _ => continue,
            };
            // A transaction that timed out on the wire is the UA's own 408 (Timer B/F),
            // which never crosses the network.
            let status = call["final_status"]
                .as_u64()
                .or_else(|| (call["outcome"] == "timeout").then_some(408));
            if let Some(status) = status {
                seen.entry(kind).or_default().push(status);
            }
        }
        let events = std::fs::read_to_string(scenario.join("events.jsonl")).expect("events");
        let mut reported = BTreeMap::<&str, Vec<u64>>::new();
        for line in events.lines() {
            let e: serde_json::Value = serde_json::from_str(line).expect("event JSON");
            let kind = match e["event"].as_str().expect("name") {
                "onInviteAnswered" | "onInviteFailure" => "call",
                "onRegisterSuccess" | "onRegisterFailure" => "register",
                _ => continue,
            };
            reported
                .entry(kind)
                .or_default()
                .push(e["status"].as_u64().expect("status"));
        }
        for v in seen.values_mut().chain(reported.values_mut()) {
            v.sort_unstable();
        }
        // A refresh REGISTER reuses its Call-ID: the capture holds one registration per
        // Call-ID, the phone reports every answer. Registrations compare as sets of statuses.
        for v in [seen.get_mut("register"), reported.get_mut("register")]
            .into_iter()
            .flatten()
        {
            v.dedup();
        }
        assert_eq!(
            seen,
            reported,
            "{}: the capture's final statuses (left) and the endpoints' (right)",
            scenario.display()
        );
        checked += 1;
    }
    assert!(checked >= 17, "every SIP scenario was compared ({checked})");
}

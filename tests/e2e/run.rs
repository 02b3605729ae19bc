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
    assert!(stderr.contains("over TLS"), "{stderr}");
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

/// One SIP dialog or registration as `natlab analyze` read it from a capture.
#[derive(Debug)]
struct Analysed {
    call_id: String,
    kind: &'static str,
    user: String,
    /// Simulated seconds of its first and last frame.
    start: f64,
    end: f64,
    /// The final status; 408 for a transaction the capture shows timing out (the UA's own
    /// Timer B/F answer, which never crosses the network).
    status: Option<u64>,
    timed_out: bool,
}

/// What an endpoint logged as the end of a call (caller side) or a registration attempt.
#[derive(Debug)]
struct Logged {
    kind: &'static str,
    node: String,
    time: f64,
    status: u64,
}

/// Simulated seconds of `2026-01-01T00:00:01.010000Z`: the capture's epoch is midnight.
fn capture_seconds(start_time: &str) -> f64 {
    let clock = start_time
        .split_once('T')
        .map(|(_, c)| c.trim_end_matches('Z'))
        .expect("an RFC 3339 time");
    clock
        .split(':')
        .map(|p| p.parse::<f64>().expect("a number"))
        .fold(0.0, |acc, p| acc * 60.0 + p)
}

fn analysed(capture: &Path) -> Vec<Analysed> {
    let analysis = natlab(&[
        "analyze",
        capture.to_str().expect("utf-8"),
        "--format",
        "json",
    ]);
    let json: serde_json::Value = serde_json::from_slice(&analysis.stdout).expect("analyze JSON");
    // An empty capture has no start time, and no calls.
    let epoch = json["capture"]["start_time"]
        .as_str()
        .map_or(0.0, capture_seconds);
    let mut out = Vec::new();
    for call in json["calls"].as_array().expect("calls") {
        let kind = match call["kind"].as_str() {
            Some("registration") => "register",
            Some("call") => "call",
            _ => continue,
        };
        let start = epoch + call["start"].as_f64().expect("start");
        let timed_out = call["outcome"] == "timeout";
        out.push(Analysed {
            call_id: call["call_id"].as_str().expect("call_id").to_owned(),
            kind,
            user: call["from"]
                .as_str()
                .and_then(|f| f.split('@').next())
                .unwrap_or("")
                .to_owned(),
            start,
            end: start + call["duration"].as_f64().expect("duration"),
            status: call["final_status"]
                .as_u64()
                .or_else(|| timed_out.then_some(408)),
            timed_out,
        });
    }
    out
}

/// The final events the SIP endpoints of `users` logged: softphones and intercoms their
/// callbacks, AAE endpoints the registration results and, for calls, CONNECTING or
/// DISCONNECTED with the SIP status that ended the INVITE (both sides log them).
fn logged(events: &Path, users: &BTreeMap<String, (String, String)>) -> Vec<Logged> {
    let text = std::fs::read_to_string(events).expect("events.jsonl");
    let mut out = Vec::new();
    for line in text.lines() {
        let e: serde_json::Value = serde_json::from_str(line).expect("event JSON");
        let node = e["node"].as_str().expect("node");
        let Some((kind, _)) = users.get(node) else {
            continue;
        };
        let name = e["event"].as_str().expect("name");
        let status = e["status"].as_u64();
        let what = match (kind.as_str(), name) {
            ("softphone" | "intercom", "onInviteAnswered" | "onInviteFailure") => "call",
            (
                "softphone" | "intercom",
                "onRegisterSuccess" | "onRegisterFailure" | "sip-unregistered",
            ) => "register",
            ("aae", "NATNL_INV_EVENT_CONNECTING" | "NATNL_INV_EVENT_DISCONNECTED")
                if status.is_some_and(|s| (200..=699).contains(&s)) =>
            {
                "call"
            }
            (
                "aae",
                "NATNL_TNL_EVENT_REG_OK"
                | "NATNL_TNL_EVENT_REG_FAILED"
                | "NATNL_TNL_EVENT_UNREG_OK"
                | "NATNL_TNL_EVENT_UNREG_FAILED",
            ) => "register",
            _ => continue,
        };
        out.push(Logged {
            kind: what,
            node: node.to_owned(),
            time: e["time_us"].as_f64().expect("time_us") / 1e6,
            status: status.expect("a final event carries a status"),
        });
    }
    out
}

/// SIP endpoint name → (kind, SIP user), from the scenario file: softphones and intercoms
/// (`user`), AAE endpoints (`device_id`).
fn sip_users(file: &Path) -> BTreeMap<String, (String, String)> {
    let text = std::fs::read_to_string(root().join(file)).expect("scenario file");
    let raw = sim_scenario::decode_str("s", &text).expect("scenario");
    let topology = serde_json::to_value(&raw.topology).expect("topology");
    let mut out = BTreeMap::new();
    for e in topology["endpoints"].as_array().into_iter().flatten() {
        let (Some(name), Some(kind)) = (e["name"].as_str(), e["kind"].as_str()) else {
            continue;
        };
        let field = match kind {
            "softphone" | "intercom" => "user",
            "aae" => "device_id",
            _ => continue,
        };
        let user = e[field]
            .as_str()
            .map(str::to_owned)
            .or_else(|| e[field].as_u64().map(|u| u.to_string()));
        if let Some(user) = user {
            out.insert(name.to_owned(), (kind.to_owned(), user));
        }
    }
    out
}

/// For every bundled scenario with SIP, `natlab analyze` of its own capture and what its
/// simulated endpoints logged agree per Call-ID. Each final event an endpoint logged (a
/// softphone caller's `onInviteAnswered` / `onInviteFailure`, an AAE caller's CONNECTING or
/// DISCONNECTED with a SIP status, every registration and un-registration result) belongs to
/// the dialog or registration of that endpoint's user whose frames span its time (the latest
/// such one; a transaction that timed out on the wire may end after its last frame). Every
/// Call-ID with a final status in the capture has such events: for a call the first carries that
/// status (a softphone logs exactly one), for a registration the last (refreshes share their
/// registration's Call-ID). Every softphone and registration event belongs to one Call-ID (an
/// AAE callee's CONNECTING and DISCONNECTED belong to no Call-ID of its own).
#[test]
fn run_bundled_suite_analyzer_final_status_per_call_id_matches_the_endpoints() {
    const SLACK: f64 = 0.015; // the analyser rounds times to 10 ms
    let dir = scratch("sip-agreement");
    let out = dir.display().to_string();
    let r = natlab(&["run", "scenarios/", "--out", &out, "--format", "json"]);
    assert_eq!(
        r.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&r.stdout)
    );
    let summary: serde_json::Value = serde_json::from_slice(&r.stdout).expect("suite JSON");
    let (mut scenarios, mut call_ids, mut aae_call_ids) = (0, 0, 0);
    for entry in summary["scenarios"].as_array().expect("scenarios") {
        let name = entry["name"].as_str().expect("name");
        let scenario = dir.join(name);
        let capture = scenario.join("capture.pcapng");
        if !capture.is_file() {
            continue;
        }
        let calls = analysed(&capture);
        if calls.is_empty() {
            continue;
        }
        let report: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(scenario.join("report.json")).expect("report"),
        )
        .expect("report JSON");
        let users = sip_users(Path::new(
            report["scenario"]["file"].as_str().expect("file"),
        ));
        let owner: BTreeMap<&str, (&str, &str)> = users
            .iter()
            .map(|(node, (kind, user))| (user.as_str(), (node.as_str(), kind.as_str())))
            .collect();
        let events = logged(&scenario.join("events.jsonl"), &users);
        // Call-ID index → the indices of its events, in time order.
        let mut belongs: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (i, e) in events.iter().enumerate() {
            let (kind, user) = &users[&e.node];
            let call = calls
                .iter()
                .enumerate()
                .filter(|(_, c)| c.kind == e.kind && c.user == *user)
                .filter(|(_, c)| {
                    c.start <= e.time + SLACK && (c.timed_out || e.time <= c.end + SLACK)
                })
                .max_by(|a, b| a.1.start.total_cmp(&b.1.start));
            match call {
                Some((c, _)) => belongs.entry(c).or_default().push(i),
                None if kind == "aae" && e.kind == "call" => {}
                None => panic!(
                    "{name}: {} logged a {} final status {} at {:.3}s that no Call-ID in the \
                     capture explains:\n{calls:#?}",
                    e.node, e.kind, e.status, e.time
                ),
            }
        }
        for (c, call) in calls.iter().enumerate() {
            let Some(&(node, kind)) = owner.get(call.user.as_str()) else {
                panic!(
                    "{name}: {} {} is from `{}`, which is no simulated endpoint",
                    call.kind, call.call_id, call.user
                );
            };
            let statuses: Vec<u64> = belongs
                .get(&c)
                .map(|ev| ev.iter().map(|&i| events[i].status).collect())
                .unwrap_or_default();
            let Some(status) = call.status else {
                assert!(
                    statuses.is_empty(),
                    "{name}: Call-ID {} has no final response in the capture, but {node} \
                     logged {statuses:?}",
                    call.call_id
                );
                continue;
            };
            let reported = if call.kind == "call" {
                statuses.first()
            } else {
                statuses.last()
            };
            assert_eq!(
                reported,
                Some(&status),
                "{name}: Call-ID {} ({}): the capture's final status is {status}, {node} \
                 logged {statuses:?}",
                call.call_id,
                call.kind
            );
            if call.kind == "call" && kind != "aae" {
                assert_eq!(
                    statuses.len(),
                    1,
                    "{name}: Call-ID {}: one final callback per call",
                    call.call_id
                );
            }
            call_ids += 1;
            if kind == "aae" && call.kind == "call" {
                aae_call_ids += 1;
            }
        }
        scenarios += 1;
    }
    assert!(
        scenarios >= 45,
        "every scenario with SIP calls or registrations was compared ({scenarios})"
    );
    assert!(call_ids >= 130, "{call_ids} Call-IDs compared");
    assert!(aae_call_ids >= 10, "{aae_call_ids} AAE calls compared");
}

//! `natlab matrix`: the classic 7×7 agrees with FAULTS.md §6 without TURN, every cell but
//! `blocked` connects with TURN (relayed where §6 says direct is impossible), same-NAT peers need
//! hairpinning or a relay, and the committed docs/nat-matrix.md is what `scripts/nat-matrix`
//! writes.

#![allow(clippy::expect_used)]

use crate::support::{natlab, root};
use std::collections::BTreeMap;

/// Runs `natlab matrix ARGS --format json` and returns `(a, b) -> (outcome, time_ms)`.
fn cells(args: &[&str]) -> BTreeMap<(String, String), (String, Option<u64>)> {
    let mut full = vec!["matrix"];
    full.extend_from_slice(args);
    full.extend_from_slice(&["--format", "json"]);
    let o = natlab(&full);
    assert_eq!(
        o.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON output");
    assert_eq!(v["schema_version"], 1);
    let mut out = BTreeMap::new();
    for c in v["cells"].as_array().expect("cells") {
        let s = |k: &str| c[k].as_str().expect(k).to_owned();
        out.insert((s("a"), s("b")), (s("outcome"), c["time_ms"].as_u64()));
    }
    out
}

/// FAULTS.md §6 as `(a, b) -> connects`, names lower-cased (`PORT_RESTRICTED` →
/// `port_restricted`).
fn expected() -> BTreeMap<(String, String), bool> {
    let text =
        std::fs::read_to_string(root().join("sim/catalog/data/FAULTS.md")).expect("FAULTS.md");
    let section = text
        .split("\n## 6.")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("section 6");
    let rows: Vec<Vec<String>> = section
        .lines()
        .filter(|l| l.starts_with('|') && !l.starts_with("|---"))
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().trim_matches('*').to_lowercase())
                .collect()
        })
        .collect();
    let header = &rows[0][1..];
    let mut out = BTreeMap::new();
    for row in &rows[1..] {
        for (b, mark) in header.iter().zip(&row[1..]) {
            let ok = match mark.as_str() {
                "✓" => true,
                "✗" => false,
                other => panic!("unexpected mark {other:?} in §6"),
            };
            out.insert((row[0].clone(), b.clone()), ok);
        }
    }
    assert_eq!(out.len(), 49, "§6 is 7×7");
    out
}

/// The one documented exception: a symmetric UDP firewall (no translation, filtering) cannot be
/// written in the scenario language, so its row and column are `n/a`.
fn not_expressible(a: &str, b: &str) -> bool {
    a == "symmetric_udp" || b == "symmetric_udp"
}

#[test]
fn classic_matrix_agrees_with_faults_section_6() {
    let got = cells(&["--table", "classic"]);
    let want = expected();
    assert_eq!(got.len(), 49);
    let mut wrong = Vec::new();
    for ((a, b), connects) in &want {
        let (outcome, time) = &got[&(a.clone(), b.clone())];
        if not_expressible(a, b) {
            assert_eq!(outcome, "n/a", "{a} × {b}");
            continue;
        }
        let ok = match outcome.as_str() {
            "failed" => false,
            "host" | "srflx" | "prflx" => true,
            other => panic!("{a} × {b}: unexpected outcome {other} without TURN"),
        };
        assert_eq!(
            ok,
            time.is_some(),
            "{a} × {b}: a time exactly when connected"
        );
        if ok != *connects {
            wrong.push(format!("{a} × {b}: {outcome}, §6 says {connects}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "disagreements with §6:\n{}",
        wrong.join("\n")
    );
    // Where A is open, nothing translates A: B sees A's host candidate.
    assert_eq!(got[&("open".into(), "open".into())].0, "host");
    assert_eq!(got[&("full_cone".into(), "open".into())].0, "host");
    // A symmetric peer is learned from its checks, not from its server-reflexive candidate.
    assert_eq!(got[&("restricted".into(), "symmetric".into())].0, "prflx");
}

#[test]
fn classic_matrix_with_turn_relays_where_direct_is_impossible() {
    let got = cells(&["--table", "classic", "--turn"]);
    let want = expected();
    for ((a, b), connects) in &want {
        let (outcome, _) = &got[&(a.clone(), b.clone())];
        if not_expressible(a, b) {
            assert_eq!(outcome, "n/a", "{a} × {b}");
        } else if a == "blocked" || b == "blocked" {
            assert_eq!(outcome, "failed", "{a} × {b}: no UDP, no relay");
        } else if *connects {
            assert!(
                ["host", "srflx", "prflx"].contains(&outcome.as_str()),
                "{a} × {b}: direct is possible, got {outcome}"
            );
        } else {
            assert_eq!(outcome, "relay", "{a} × {b}");
        }
    }
}

#[test]
fn matrix_doc_is_fresh() {
    let doc =
        std::fs::read_to_string(root().join("docs/nat-matrix.md")).expect("docs/nat-matrix.md");
    let tables = doc
        .find("\n## ")
        .map(|i| &doc[i + 1..])
        .expect("a table in the doc");
    let mut generated = String::new();
    for args in [
        &["matrix", "--format", "markdown"][..],
        &["matrix", "--turn", "--format", "markdown"],
    ] {
        let o = natlab(args);
        assert_eq!(o.status.code(), Some(0));
        generated.push_str(&String::from_utf8_lossy(&o.stdout));
    }
    assert!(
        tables == generated,
        "docs/nat-matrix.md is stale: run scripts/nat-matrix"
    );
}

#[test]
fn same_nat_connects_only_through_hairpinning_or_a_relay() {
    let want = expected();
    let direct = cells(&["--table", "same-nat"]);
    let relayed = cells(&["--table", "same-nat", "--turn"]);
    assert_eq!(direct.len(), 8);
    for ((nat, column), (outcome, _)) in &direct {
        // Through a hairpinning NAT the pair behaves like two peers behind two NATs of its type.
        let connects = column == "hairpin" && want[&(nat.clone(), nat.clone())];
        assert_eq!(outcome != "failed", connects, "{nat} {column}: {outcome}");
        let (with_turn, _) = &relayed[&(nat.clone(), column.clone())];
        if connects {
            assert_eq!(
                with_turn, outcome,
                "{nat} {column}: the direct pair stays preferred"
            );
        } else {
            assert_eq!(with_turn, "relay", "{nat} {column}");
        }
    }
}

//! `natlab analyze` gives the same bytes in every process. std's `HashMap` seeds its hasher per
//! process, so anything that reaches a report in hash order shows up here as two runs that
//! differ: the sample with many unanswered STUN transactions and keep-alive streams
//! (`pcaps/edge-ice-unanswered.pcap`) is analysed again and again, as JSON, as the table, with
//! the terminal ladder and as the HTML ladder.

#![allow(clippy::expect_used)]

use crate::support::natlab;
use std::path::PathBuf;

/// Processes per output form: with three or more transactions per finding, two processes agree
/// by chance on hash order rarely, several of them almost never.
const PROCESSES: usize = 4;

/// `natlab analyze ARGS` in a new process; its standard output.
fn analyze(args: &[&str]) -> Vec<u8> {
    let mut full = vec!["analyze"];
    full.extend_from_slice(args);
    let o = natlab(&full);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o.stdout
}

fn assert_same_in_every_process(what: &str, mut run: impl FnMut(usize) -> Vec<u8>) {
    let first = run(0);
    assert!(!first.is_empty(), "{what}: no output");
    for i in 1..PROCESSES {
        let again = run(i);
        assert!(
            again == first,
            "{what}: process {i} differs from process 0:\n--- 0\n{}\n--- {i}\n{}",
            String::from_utf8_lossy(&first),
            String::from_utf8_lossy(&again)
        );
    }
}

const SAMPLE: &str = "pcaps/edge-ice-unanswered.pcap";

#[test]
fn determinism_many_unanswered_stun_transactions_same_json_in_every_process() {
    assert_same_in_every_process("json", |_| analyze(&[SAMPLE, "--format", "json"]));
    let v: serde_json::Value =
        serde_json::from_slice(&analyze(&[SAMPLE, "--format", "json"])).expect("json");
    let kinds = |kind: &str| {
        v["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter(|f| f["kind"] == kind)
            .count()
    };
    // Several entries in each hash-keyed table, or the test shows nothing.
    assert_eq!(kinds("stun_unanswered"), 3);
    assert_eq!(kinds("nat_mapping_changed"), 3);
}

#[test]
fn determinism_many_unanswered_stun_transactions_same_table_and_ladder_in_every_process() {
    assert_same_in_every_process("table", |_| analyze(&[SAMPLE]));
    assert_same_in_every_process("ladder", |_| analyze(&[SAMPLE, "--ladder"]));
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("determinism-ladder-html");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    assert_same_in_every_process("ladder html", |i| {
        let file = dir.join(format!("ladder-{i}.html"));
        analyze(&[SAMPLE, "--ladder-html", &file.display().to_string()]);
        std::fs::read(&file).expect("html written")
    });
}

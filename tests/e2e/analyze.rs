//! `natlab analyze` on every sample capture of `pcaps/`: the table and the JSON document as
//! snapshots, per-Call-ID message counts checked against tshark, and the options and exit codes
//! (`--call`, `--ladder`, `--ladder-html`, `--fail-on`, unreadable input, no SIP).

#![allow(clippy::expect_used)]

use crate::support::{natlab, root};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Every sample capture, by path relative to the repository root.
fn samples() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root().join("pcaps"))
        .expect("pcaps/")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".pcap") || n.ends_with(".pcapng") || n.ends_with(".gz"))
        .map(|n| format!("pcaps/{n}"))
        .collect();
    v.sort();
    v
}

/// `natlab analyze ARGS`, expecting exit status 0.
fn analyze_ok(args: &[&str]) -> String {
    let mut full = vec!["analyze"];
    full.extend_from_slice(args);
    let o = natlab(&full);
    assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
    stdout(&o)
}

fn json(args: &[&str]) -> serde_json::Value {
    let mut full = args.to_vec();
    full.extend_from_slice(&["--format", "json"]);
    let out = analyze_ok(&full);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("invalid JSON ({e}): {out}"))
}

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

#[test]
fn analyze_samples_table_snapshots() {
    insta::glob!("../../pcaps", "*.{pcap,pcapng,gz}", |path| {
        let rel = format!("pcaps/{}", name(path));
        insta::assert_snapshot!(analyze_ok(&[&rel]));
    });
}

#[test]
fn analyze_samples_json_snapshots() {
    insta::glob!("../../pcaps", "*.{pcap,pcapng,gz}", |path| {
        let rel = format!("pcaps/{}", name(path));
        let v = json(&[&rel]);
        let summary = &v["summary"];
        let parts = ["sip", "stun", "rtp", "rtcp"]
            .iter()
            .map(|k| summary[k].as_u64().unwrap_or(0))
            .sum::<u64>()
            + summary["other"]["total"].as_u64().unwrap_or(0)
            + summary["undecodable"]["total"].as_u64().unwrap_or(0);
        assert_eq!(
            summary["packets"].as_u64(),
            Some(parts),
            "{rel}: accounting"
        );
        assert_eq!(v["schema_version"], 1);
        insta::assert_json_snapshot!(v);
    });
}

fn name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// SIP messages per Call-ID as tshark counts them, or `None` when tshark cannot read the file.
/// TCP reassembly (including out-of-order segments) is on; ICMP errors that quote a SIP packet
/// are not counted (they are not SIP messages).
fn tshark_counts(rel: &str) -> Option<BTreeMap<String, u64>> {
    let out = Command::new("tshark")
        .current_dir(root())
        .args(["-r", rel, "-n"])
        .args([
            "-o",
            "tcp.desegment_tcp_streams:TRUE",
            "-o",
            "tcp.reassemble_out_of_order:TRUE",
        ])
        .args([
            "-o",
            "sip.desegment_headers:TRUE",
            "-o",
            "sip.desegment_body:TRUE",
        ])
        .args([
            "-Y",
            "sip && !icmp && !icmpv6",
            "-T",
            "fields",
            "-e",
            "sip.Call-ID",
        ])
        .output()
        .expect("tshark runs (scripts/install-deps installs it)");
    let err = stderr(&out);
    if err.contains("damaged or corrupt") {
        return None;
    }
    let mut counts = BTreeMap::new();
    for id in stdout(&out).lines().flat_map(|l| l.split(',')) {
        if !id.trim().is_empty() {
            *counts.entry(id.trim().to_owned()).or_default() += 1;
        }
    }
    Some(counts)
}

#[test]
fn analyze_message_counts_per_call_id_agree_with_tshark() {
    let mut compared = 0;
    let mut unreadable_by_tshark = Vec::new();
    for rel in samples() {
        let Some(theirs) = tshark_counts(&rel) else {
            unreadable_by_tshark.push(rel);
            continue;
        };
        let v = json(&[&rel]);
        let ours: BTreeMap<String, u64> = v["calls"]
            .as_array()
            .expect("calls")
            .iter()
            .map(|c| {
                (
                    c["call_id"].as_str().unwrap_or("").to_owned(),
                    c["messages"].as_u64().unwrap_or(0),
                )
            })
            .collect();
        assert!(!ours.is_empty(), "{rel}: no calls");
        assert_eq!(
            ours, theirs,
            "{rel}: messages per Call-ID differ from tshark"
        );
        compared += 1;
    }
    // Wireshark misreads the capture with a corrupt record (it switches to another pcap
    // variant); that sample exists to show natlab recovering, so tshark cannot be the oracle.
    assert_eq!(unreadable_by_tshark, ["pcaps/edge-corrupt-record.pcap"]);
    assert!(compared >= 19, "only {compared} samples compared");
}

#[test]
fn analyze_call_filter_keeps_one_call_and_unknown_call_exits_4() {
    let v = json(&[
        "pcaps/proxy-auth-two-hops.pcap",
        "--call",
        "proxy-call-1@127.0.0.1",
    ]);
    let calls = v["calls"].as_array().expect("calls");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0]["hops"].as_array().map(Vec::len), Some(2));
    assert!(
        v["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .all(|f| f["call_id"] == "proxy-call-1@127.0.0.1")
    );
    let o = natlab(&[
        "analyze",
        "pcaps/proxy-auth-two-hops.pcap",
        "--call",
        "no-such-call",
    ]);
    assert_eq!(o.status.code(), Some(4));
    assert!(stderr(&o).contains("no-such-call"));
}

#[test]
fn analyze_ladder_text_for_one_call() {
    let out = analyze_ok(&[
        "pcaps/proxy-auth-two-hops.pcap",
        "--call",
        "proxy-call-1@127.0.0.1",
        "--ladder",
    ]);
    let ladder = out.split("Ladder:").nth(1).expect("a ladder section");
    insta::assert_snapshot!("ladder_proxy_call", format!("Ladder:{ladder}"));
}

#[test]
fn analyze_ladder_html_is_standalone_with_sip_and_stun() {
    let dir = scratch("analyze-ladder-html");
    let file = dir.join("ladder.html");
    let f = file.display().to_string();
    analyze_ok(&["pcaps/edge-nat-stun.pcap", "--ladder-html", &f]);
    let html = std::fs::read_to_string(&file).expect("html written");
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("<svg"));
    assert!(html.contains("INVITE") && html.contains("Binding request"));
    for external in ["<script", "src=", "href=", "@import", "url(http"] {
        assert!(!html.contains(external), "external reference {external:?}");
    }
}

#[test]
fn analyze_fail_on_follows_the_worst_severity() {
    let code = |args: &[&str]| natlab(args).status.code();
    assert_eq!(
        code(&["analyze", "pcaps/call-488-srtp.pcap", "--fail-on", "error"]),
        Some(1)
    );
    assert_eq!(
        code(&["analyze", "pcaps/call-busy-486.pcap", "--fail-on", "error"]),
        Some(0)
    );
    assert_eq!(
        code(&[
            "analyze",
            "pcaps/call-busy-486.pcap",
            "--fail-on",
            "warning"
        ]),
        Some(1)
    );
    assert_eq!(
        code(&[
            "analyze",
            "pcaps/call-cancel-487.pcap",
            "--fail-on",
            "warning"
        ]),
        Some(0)
    );
}

#[test]
fn analyze_unreadable_inputs_exit_3() {
    for args in [
        ["analyze", "pcaps/no-such-file.pcap"],
        ["analyze", "Cargo.toml"],
    ] {
        let o = natlab(&args);
        assert_eq!(o.status.code(), Some(3), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn analyze_capture_without_sip_exits_4() {
    use sim_pcap::synth::{Link, PcapFile, PcapOptions, ip_udp, wrap};
    let dir = scratch("analyze-no-sip");
    let mut f = PcapFile::new(PcapOptions::new(1));
    let dns = ip_udp(
        "192.0.2.1:53000".parse().expect("addr"),
        "192.0.2.2:53".parse().expect("addr"),
        b"\x12\x34\x01\x00",
    );
    f.push(1_700_000_000_000_000_000, &wrap(Link::Ethernet, &dns));
    let file = dir.join("dns.pcap");
    std::fs::write(&file, f.into_bytes()).expect("write");
    let o = natlab(&["analyze", &file.display().to_string()]);
    assert_eq!(o.status.code(), Some(4));
    assert!(stdout(&o).contains("Packets: 1 = 0 SIP"), "{}", stdout(&o));
}

#[test]
fn analyze_rejects_ladder_with_json() {
    let o = natlab(&[
        "analyze",
        "pcaps/call-busy-486.pcap",
        "--ladder",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn analyze_several_captures_give_a_json_array() {
    let out = analyze_ok(&[
        "pcaps/call-busy-486.pcap",
        "pcaps/call-488-srtp.pcap",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v.as_array().map(Vec::len), Some(2));
}

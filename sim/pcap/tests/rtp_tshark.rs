//! tshark as the oracle for media: on every sample capture of `pcaps/` in which either tshark or
//! the analyser finds RTP, `tshark -q -z rtp,streams` (RTP heuristics on, so streams without SDP
//! count too) and the analyser's `media[].ssrcs[]` must list the same streams (source,
//! destination, SSRC) with the same packet counts, the same loss and the same jitter and delta
//! within 0.1 ms. tshark's "Lost" counts every packet as received (repeats of RFC 4733 end
//! packets and duplicates make it negative), which the analyser reports as `tshark_lost` beside
//! its RFC 3550 `lost`; both are checked.

#![allow(clippy::expect_used)]

use sim_pcap::{AnalyzeOptions, analyze_path};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// (src, src port, dst, dst port, SSRC).
type Key = (String, String, String, String, u32);
/// Key → (packets, lost, max delta, mean jitter, max jitter).
type Streams = BTreeMap<Key, (u64, i64, f64, f64, f64)>;

fn pcaps() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../pcaps")
}

fn samples() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(pcaps())
        .expect("pcaps/")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            let n = p.to_string_lossy();
            n.ends_with(".pcap") || n.ends_with(".pcapng") || n.ends_with(".gz")
        })
        .collect();
    v.sort();
    v
}

/// `tshark -z rtp,streams`, parsed; `None` when tshark cannot read the file.
fn tshark(path: &Path) -> Option<Streams> {
    let out = Command::new("tshark")
        .args(["-n", "-q", "--enable-heuristic", "rtp_udp", "-r"])
        .arg(path)
        .args(["-z", "rtp,streams"])
        .output()
        .expect("tshark runs (scripts/install-deps installs it)");
    if String::from_utf8_lossy(&out.stderr).contains("damaged or corrupt") {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut streams = Streams::new();
    for line in text.lines() {
        let t: Vec<&str> = line.split_whitespace().collect();
        let Some(pct) = t
            .iter()
            .position(|w| w.starts_with('(') && w.ends_with("%)"))
        else {
            continue;
        };
        let num = |i: usize| t[i].parse::<f64>().expect("number");
        let ssrc = u32::from_str_radix(t[6].trim_start_matches("0x"), 16).expect("SSRC");
        streams.insert(
            (t[2].into(), t[3].into(), t[4].into(), t[5].into(), ssrc),
            (
                t[pct - 2].parse().expect("packets"),
                t[pct - 1].parse().expect("lost"),
                num(pct + 3),
                num(pct + 5),
                num(pct + 6),
            ),
        );
    }
    Some(streams)
}

/// The analyser's streams, keyed like tshark's; `lost` is the RFC 3550 figure, returned apart.
fn ours(path: &Path) -> (Streams, BTreeMap<Key, u64>) {
    let a = analyze_path(path, &AnalyzeOptions::default(), &mut |_| {}).expect("opens");
    let mut streams = Streams::new();
    let mut rfc = BTreeMap::new();
    for m in a.media.head() {
        let (src, sport) = m.src.rsplit_once(':').expect("src");
        let (dst, dport) = m.dst.rsplit_once(':').expect("dst");
        for s in &m.ssrcs {
            let ssrc = u32::from_str_radix(s.ssrc.trim_start_matches("0x"), 16).expect("SSRC");
            let key = (src.into(), sport.into(), dst.into(), dport.into(), ssrc);
            rfc.insert(key.clone(), s.lost);
            // With no reordering, tshark's figure is ours minus the packets counted twice.
            assert_eq!(
                s.tshark_lost,
                s.lost as i64 - s.duplicates as i64 - s.event_redundancy as i64,
                "{}: {key:?}",
                path.display()
            );
            streams.insert(
                key,
                (
                    s.packets,
                    s.tshark_lost,
                    s.max_delta_ms,
                    s.mean_jitter_ms,
                    s.max_jitter_ms,
                ),
            );
        }
    }
    (streams, rfc)
}

#[test]
fn rtp_streams_agree_with_tshark_on_every_sample() {
    let mut compared = 0;
    for path in samples() {
        let Some(theirs) = tshark(&path) else {
            continue;
        };
        let (mine, rfc_lost) = ours(&path);
        if theirs.is_empty() && mine.is_empty() {
            continue;
        }
        let name = path.display();
        assert_eq!(
            theirs.keys().collect::<Vec<_>>(),
            mine.keys().collect::<Vec<_>>(),
            "{name}: streams differ"
        );
        for (k, t) in &theirs {
            let m = &mine[k];
            assert_eq!((m.0, m.1), (t.0, t.1), "{name} {k:?}: packets, lost");
            for (what, a, b) in [
                ("max delta", m.2, t.2),
                ("mean jitter", m.3, t.3),
                ("max jitter", m.4, t.4),
            ] {
                assert!(
                    (a - b).abs() <= 0.1,
                    "{name} {k:?}: {what} {a} vs tshark {b}"
                );
            }
            assert!(rfc_lost[k] as i64 >= t.1, "{name} {k:?}");
        }
        compared += 1;
    }
    assert!(compared >= 5, "only {compared} RTP samples compared");
}

//! The fuzzers' saved corpus (`sim/fuzz/corpus/<target>/`) and seeds (`sim/fuzz/seeds/<target>/`)
//! replayed as ordinary tests: every input that once found new code paths must still pass the
//! invariants of `sim_pcap::fuzzing`.

#![allow(clippy::expect_used)] // test helpers outside #[test] functions

use std::path::PathBuf;

fn inputs(target: &str) -> Vec<PathBuf> {
    let fuzz = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut files = Vec::new();
    for dir in ["corpus", "seeds"] {
        let Ok(entries) = std::fs::read_dir(fuzz.join(dir).join(target)) else {
            continue;
        };
        files.extend(
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_file()),
        );
    }
    files.sort();
    files
}

fn replay(target: &str, run: fn(&[u8])) {
    let files = inputs(target);
    assert!(!files.is_empty(), "no corpus for {target}");
    for f in files {
        let data = std::fs::read(&f).expect("corpus file");
        run(&data);
    }
}

#[test]
fn fuzz_corpus_capture_reader_replays() {
    replay("capture_reader", sim_pcap::fuzzing::capture);
}

#[test]
fn fuzz_corpus_sip_scanner_replays() {
    replay("sip_scanner", sim_pcap::fuzzing::sip);
}

#[test]
fn fuzz_corpus_stun_decoder_replays() {
    replay("stun_decoder", sim_pcap::fuzzing::stun);
}

#[test]
fn fuzz_corpus_rtp_decoder_replays() {
    replay("rtp_decoder", sim_pcap::fuzzing::rtp);
}

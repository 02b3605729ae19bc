//! Two AAE endpoints hold a tunnel open for one simulated hour (aae-tunnel-hour.yaml): the
//! tunnel's keep-alives and ICE consent checks cross two port-restricted NATs with 30-s UDP
//! timeouts. Prints how much faster than real time it runs, without outputs and with the
//! capture and event log written, and checks the scenario's expectations (the tunnel stayed up
//! and 4 kB sent at the end arrived intact).
//!
//! ```text
//! cargo bench -p sim-world --bench aae_tunnel
//! ```

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::peak_rss_mib;
use sim_world::scenario::{Outputs, evaluate, plan};
use std::time::Instant;

const SCENARIO: &str = include_str!("aae-tunnel-hour.yaml");

fn main() {
    let scenario =
        sim_scenario::from_str("aae-tunnel-hour.yaml", SCENARIO).expect("valid scenario");
    let simulated = scenario.duration.as_secs_f64();
    let dir = std::env::temp_dir().join(format!("natlab-bench-aae-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    println!("| outputs | simulated | wall | faster than real time | expectations |");
    println!("|---|---:|---:|---:|---|");
    for (label, outputs) in [
        ("none", Outputs::default()),
        (
            "capture + events",
            Outputs {
                capture: Some(dir.join("capture.pcapng")),
                events: Some(dir.join("events.jsonl")),
            },
        ),
    ] {
        let spec = plan(&scenario, outputs).expect("plan");
        let start = Instant::now();
        let out = sim_world::run(&spec).expect("run");
        let wall = start.elapsed().as_secs_f64();
        let result = evaluate(&scenario, &out);
        let passed = result.results.iter().filter(|r| r.passed).count();
        println!(
            "| {label} | {simulated:.0} s | {:.3} s | {:.0}x | {passed}/{} pass |",
            wall,
            simulated / wall,
            result.results.len()
        );
        assert!(
            result.passed(),
            "the tunnel must stay up: {:?}",
            result.results
        );
    }
    println!("peak RSS {:.0} MiB", peak_rss_mib());
    let _ = std::fs::remove_dir_all(&dir);
}

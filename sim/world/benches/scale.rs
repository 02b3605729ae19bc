//! Simulation speed and memory at scale.
//!
//! Every endpoint sends a keep-alive probe every 20 s to a public echo server for one simulated
//! hour; endpoints sit behind NATs (port-restricted cones), 100 per NAT. Each configuration runs
//! in its own process so that its peak memory (VmHWM) is its own. Prints one table row per
//! configuration: simulated seconds per wall second, packets, wall time, peak memory.
//! `watched` adds a `received` expectation on the echo server and an event log; `capture`
//! writes the pcapng.
//!
//! ```text
//! cargo bench -p sim-world --bench scale                       # every configuration
//! cargo bench -p sim-world --bench scale -- 1000 10ms watched  # one: endpoints, tick, options
//! ```

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used
)]

mod common;

use common::peak_rss_mib;
use sim_core::{Seed, SimInstant};
use sim_nat::{Behaviour, NatConfig};
use sim_world::fabric::{LinkConfig, NetworkId, NodeId};
use sim_world::nodes::Wire;
use sim_world::watch::{WatchSpec, Window};
use sim_world::world::{NatPlan, NodeKind, NodePlan, ProbeTarget, Timed, WorldAction};
use sim_world::{WorldSpec, run};
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};
use std::process::Command;
use std::time::{Duration, Instant};

const PER_NAT: usize = 100;
const HOUR: Duration = Duration::from_secs(3600);

fn spec(endpoints: usize, tick: Duration, capture: bool, watched: bool) -> WorldSpec {
    let nats = endpoints.div_ceil(PER_NAT).max(1);
    let link = LinkConfig {
        latency: Duration::from_millis(10),
        ..LinkConfig::default()
    };
    let mut nodes = vec![NodePlan {
        name: "echo".into(),
        aliases: Vec::new(),
        network: NetworkId(0),
        ip: "203.0.113.10".parse().unwrap(),
        link: link.clone(),
        kind: NodeKind::UdpProbe {
            ports: vec![5000],
            echo: true,
            wire: Wire::Text,
        },
    }];
    let mut timeline = Vec::new();
    for i in 0..endpoints {
        let nat = i / PER_NAT;
        let host = i % PER_NAT;
        let id = nodes.len() as u32;
        nodes.push(NodePlan {
            name: format!("ep-{i}"),
            aliases: Vec::new(),
            network: NetworkId(nat as u32 + 1),
            ip: IpAddr::V4(Ipv4Addr::new(
                10,
                0,
                (host / 250) as u8,
                (host % 250 + 2) as u8,
            )),
            link: link.clone(),
            kind: NodeKind::UdpProbe {
                ports: vec![5000],
                echo: false,
                wire: Wire::Text,
            },
        });
        // Spread the first keep-alives over the first 20 s, deterministically.
        let offset = Duration::from_micros((i as u64 * 7_919_993) % 20_000_000);
        timeline.push(Timed {
            at: SimInstant::from_duration(offset),
            action: WorldAction::ProbeSend {
                node: NodeId(id),
                to: ProbeTarget::Node(NodeId(0), 5000),
                from_port: 5000,
                count: None,
                interval: Duration::from_secs(20),
                size: None,
            },
            label: format!("keep-alive {i}"),
        });
    }
    timeline.sort_by_key(|t| t.at);
    let nats = (0..nats)
        .map(|n| NatPlan {
            name: format!("nat-{n}"),
            config: NatConfig::new(
                Behaviour::EndpointIndependent,
                Behaviour::AddressAndPortDependent,
                vec![IpAddr::V4(Ipv4Addr::new(
                    198,
                    51,
                    (100 + n / 250) as u8,
                    (n % 250 + 1) as u8,
                ))],
            ),
            upstream: NetworkId(0),
            link: link.clone(),
            drop_fragments: false,
            sip_alg: false,
            lan_description: format!("LAN {n}"),
        })
        .collect();
    let capture =
        capture.then(|| std::env::temp_dir().join(format!("natlab-bench-{endpoints}.pcapng")));
    let watches = if watched {
        vec![WatchSpec::Received {
            node: NodeId(0),
            from: None,
            kind: None,
            window: Window::default(),
        }]
    } else {
        Vec::new()
    };
    let events =
        watched.then(|| std::env::temp_dir().join(format!("natlab-bench-{endpoints}.jsonl")));
    WorldSpec {
        seed: Seed::new(1),
        tick,
        duration: HOUR,
        capture,
        events,
        public_name: "wan".into(),
        nats,
        nodes,
        timeline,
        watches,
        observers: BTreeSet::new(),
        keep_log: None,
    }
}

fn parse_tick(s: &str) -> Duration {
    let ms: u64 = s.trim_end_matches("ms").parse().expect("tick like 10ms");
    Duration::from_millis(ms)
}

fn one(endpoints: usize, tick: Duration, capture: bool, watched: bool) {
    let spec = spec(endpoints, tick, capture, watched);
    let start = Instant::now();
    let out = run(&spec).expect("run");
    let wall = start.elapsed().as_secs_f64();
    assert!(out.issues.is_empty(), "{:?}", out.issues);
    let echoes: u64 = out.counters.iter().map(|c| c.echoes_received).sum();
    let expected = endpoints as u64 * 180;
    assert!(
        echoes >= expected - endpoints as u64,
        "only {echoes} of about {expected} echoes"
    );
    if watched {
        let received = out.watches[0].tally.count;
        assert!(
            received >= expected - endpoints as u64,
            "server received {received}"
        );
    }
    println!(
        "| {endpoints:>6} | {:>3} | {:>4} ms | {:>7} | {:>9} | {:>8} | {:>8.2} s | {:>9.0}x | {:>8.0} MiB |",
        spec.nats.len(),
        tick.as_millis(),
        if watched { "yes" } else { "no" },
        out.stats.sent,
        out.frames,
        wall,
        HOUR.as_secs_f64() / wall,
        peak_rss_mib(),
    );
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if let [endpoints, tick, rest @ ..] = args.as_slice() {
        one(
            endpoints.parse().expect("endpoint count"),
            parse_tick(tick),
            rest.iter().any(|a| a == "capture"),
            rest.iter().any(|a| a == "watched"),
        );
        return;
    }
    println!(
        "senders behind NATs (100 per NAT) send a keep-alive every 20 s to one public echo server, \
         for 1 simulated hour; release build"
    );
    println!("| senders | NATs | tick | watched | packets | frames | wall | sim/wall | peak RSS |");
    println!("|---|---|---|---|---|---|---|---|---|");
    let me = std::env::current_exe().expect("bench binary");
    for (endpoints, tick, capture, watched) in [
        (1, "1ms", false, false),
        (1, "10ms", false, false),
        (1, "1000ms", false, false),
        (1, "10ms", true, true),
        (1_000, "10ms", false, false),
        (1_000, "10ms", true, true),
        (10_000, "10ms", false, false),
        (10_000, "10ms", false, true),
        (10_000, "1000ms", false, true),
    ] {
        let mut cmd = Command::new(&me);
        cmd.arg(endpoints.to_string()).arg(tick);
        if capture {
            cmd.arg("capture");
        }
        if watched {
            cmd.arg("watched");
        }
        let status = cmd.status().expect("spawn bench configuration");
        if !status.success() {
            eprintln!("configuration {endpoints} endpoints, tick {tick} failed: {status}");
        }
    }
}

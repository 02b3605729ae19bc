//! Worlds run through turmoil end to end.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use sim_core::{Seed, SimInstant};
use sim_nat::{Behaviour, NatConfig};
use sim_world::fabric::{DropReason, LinkConfig, NetworkId, NodeId};
use sim_world::nodes::Wire;
use sim_world::nodes::{NodeEvent, Observation, ProbeKind};
use sim_world::watch::{WatchSpec, Window};
use sim_world::world::{NatPlan, NodeKind, NodePlan, ProbeTarget, Timed, WorldAction};
use sim_world::{WorldSpec, run};
use std::collections::BTreeSet;
use std::time::Duration;

fn link(ms: u64) -> LinkConfig {
    LinkConfig {
        latency: Duration::from_millis(ms),
        ..LinkConfig::default()
    }
}

fn probe(name: &str, network: u32, ip: &str, echo: bool) -> NodePlan {
    NodePlan {
        name: name.into(),
        aliases: Vec::new(),
        network: NetworkId(network),
        ip: ip.parse().unwrap(),
        link: link(5),
        kind: NodeKind::UdpProbe {
            ports: vec![5000],
            echo,
            wire: Wire::Text,
        },
    }
}

fn drops(reason: DropReason) -> WatchSpec {
    WatchSpec::Dropped {
        reason: Some(reason),
        at: None,
        from: None,
        window: Window::default(),
    }
}

/// alice (0) behind a port-restricted NAT; echo (1) and stranger (2) public.
fn spec(seed: u64) -> WorldSpec {
    let nat = NatConfig::new(
        Behaviour::EndpointIndependent,
        Behaviour::AddressAndPortDependent,
        vec!["198.51.100.1".parse().unwrap()],
    );
    let at = |s: u64| SimInstant::from_micros(s * 1_000_000);
    WorldSpec {
        seed: Seed::new(seed),
        tick: Duration::from_millis(1),
        duration: Duration::from_secs(5),
        capture: None,
        public_name: "wan".into(),
        nats: vec![NatPlan {
            name: "home".into(),
            config: nat,
            upstream: NetworkId(0),
            link: link(10),
            drop_fragments: false,
            sip_alg: false,
            lan_description: "home LAN".into(),
        }],
        nodes: vec![
            probe("alice", 1, "10.0.0.2", false),
            probe("echo", 0, "203.0.113.10", true),
            probe("stranger", 0, "203.0.113.20", false),
        ],
        timeline: vec![
            Timed {
                at: at(1),
                action: WorldAction::ProbeSend {
                    node: NodeId(0),
                    to: ProbeTarget::Node(NodeId(1), 5000),
                    from_port: 5000,
                    count: Some(3),
                    interval: Duration::from_millis(100),
                    size: None,
                },
                label: "send".into(),
            },
            Timed {
                at: at(2),
                action: WorldAction::ProbeSend {
                    node: NodeId(2),
                    to: ProbeTarget::Mapping {
                        of: NodeId(0),
                        port: 5000,
                        seen_by: NodeId(1),
                        seen_port: 5000,
                    },
                    from_port: 5000,
                    count: Some(1),
                    interval: Duration::from_secs(1),
                    size: None,
                },
                label: "unsolicited".into(),
            },
        ],
        events: None,
        watches: vec![drops(DropReason::Filtered)],
        observers: BTreeSet::from([NodeId(1)]),
        keep_log: Some(None),
    }
}

#[test]
fn world_probe_behind_nat_gets_echoes_and_unsolicited_is_filtered() {
    let out = run(&spec(1)).expect("run");
    assert!(out.issues.is_empty(), "{:?}", out.issues);
    let echoes: Vec<_> = out
        .log
        .iter()
        .filter(|l| l.node == NodeId(0))
        .filter_map(|l| match &l.observation {
            NodeEvent::Probe(Observation::ProbeReceived {
                kind: ProbeKind::Echo,
                seen,
                ..
            }) => Some((l.time, *seen)),
            _ => None,
        })
        .collect();
    assert_eq!(echoes.len(), 3, "{:?}", out.log);
    assert!(
        echoes
            .iter()
            .all(|(_, seen)| *seen == Some("198.51.100.1:5000".parse().unwrap()))
    );
    // Round trip: 5 + 10 + 5 ms out and back = 40 ms, exactly: time is event-driven.
    assert_eq!(echoes[0].0, SimInstant::from_micros(1_040_000));
    assert_eq!(out.counters[2].probes_sent, 1);
    assert_eq!(
        out.counters[0].probes_received, 0,
        "stranger's probe must not arrive"
    );
    assert_eq!(out.watches[0].tally.count, 1, "one filtered drop");
}

#[test]
fn world_same_seed_replays_the_same_log() {
    let a = run(&spec(7)).expect("run");
    let b = run(&spec(7)).expect("run");
    assert_eq!(a.log, b.log);
    assert_eq!(a.watches, b.watches);
}

/// cam (0) behind a NAT with a TCP port forward 8080 → cam:7000; server (1) public, both
/// echoing TCP probes; out (2) behind the same NAT.
fn tcp_spec(forward: bool) -> WorldSpec {
    let mut nat = NatConfig::new(
        Behaviour::EndpointIndependent,
        Behaviour::AddressAndPortDependent,
        vec!["198.51.100.1".parse().unwrap()],
    );
    if forward {
        nat.port_forwards.push(sim_nat::PortForward {
            protocol: sim_core::Protocol::Tcp,
            external_port: 8080,
            internal: "10.0.0.2:7000".parse().unwrap(),
        });
    }
    let tcp = |name: &str, network: u32, ip: &str| NodePlan {
        name: name.into(),
        aliases: Vec::new(),
        network: NetworkId(network),
        ip: ip.parse().unwrap(),
        link: link(5),
        kind: NodeKind::TcpProbe {
            port: 7000,
            echo: true,
        },
    };
    let send = |from: u32, to: ProbeTarget, at: u64| Timed {
        at: SimInstant::from_micros(at * 1_000_000),
        action: WorldAction::ProbeSend {
            node: NodeId(from),
            to,
            from_port: 0,
            count: Some(3),
            interval: Duration::from_millis(200),
            size: None,
        },
        label: "send".into(),
    };
    WorldSpec {
        seed: Seed::new(3),
        tick: Duration::from_millis(1),
        duration: Duration::from_secs(200),
        capture: None,
        public_name: "wan".into(),
        nats: vec![NatPlan {
            name: "home".into(),
            config: nat,
            upstream: NetworkId(0),
            link: link(10),
            drop_fragments: false,
            sip_alg: false,
            lan_description: "home LAN".into(),
        }],
        nodes: vec![
            tcp("cam", 1, "10.0.0.2"),
            tcp("server", 0, "203.0.113.10"),
            tcp("out", 1, "10.0.0.3"),
        ],
        timeline: vec![
            // Outbound through the NAT: works whatever the forwards.
            send(2, ProbeTarget::Node(NodeId(1), 7000), 1),
            // Inbound to the NAT's port 8080: only with the forward.
            send(
                1,
                ProbeTarget::Addr("198.51.100.1:8080".parse().unwrap()),
                2,
            ),
        ],
        events: None,
        watches: vec![drops(DropReason::NoMapping)],
        observers: BTreeSet::new(),
        keep_log: Some(None),
    }
}

fn echoes(out: &sim_world::RunOutput, node: u32) -> usize {
    out.log
        .iter()
        .filter(|l| l.node == NodeId(node))
        .filter(|l| {
            matches!(
                l.observation,
                NodeEvent::Probe(Observation::ProbeReceived {
                    kind: ProbeKind::Echo,
                    ..
                })
            )
        })
        .count()
}

#[test]
fn world_tcp_crosses_the_nat_outbound_and_inbound_only_through_a_forward() {
    let with = run(&tcp_spec(true)).expect("run");
    assert!(with.issues.is_empty(), "{:?}", with.issues);
    assert_eq!(
        echoes(&with, 2),
        3,
        "outbound connection carries three probes and their echoes"
    );
    assert_eq!(
        echoes(&with, 1),
        3,
        "the forward lets the server reach the camera"
    );

    let without = run(&tcp_spec(false)).expect("run");
    assert_eq!(echoes(&without, 2), 3);
    assert_eq!(echoes(&without, 1), 0);
    let failed = without.log.iter().any(|l| {
        l.node == NodeId(1)
            && matches!(&l.observation, NodeEvent::Probe(Observation::StreamFailed { error, .. }) if error == "connection timed out")
    });
    assert!(failed, "the unanswered SYNs end in a timeout");
    let syn_drops = without.watches[0].tally.count;
    assert_eq!(
        syn_drops, 7,
        "one SYN and six retransmissions die at the NAT"
    );
}

#[test]
fn world_tick_is_only_a_step_size_results_are_the_same() {
    let capture = |tick_ms: u64| {
        let path = std::env::temp_dir().join(format!(
            "natlab-tick-{tick_ms}-{}.pcapng",
            std::process::id()
        ));
        let mut s = spec(1);
        s.tick = Duration::from_millis(tick_ms);
        s.capture = Some(path.clone());
        let out = run(&s).expect("run");
        let bytes = std::fs::read(&path).expect("capture");
        let _ = std::fs::remove_file(&path);
        (out.log, out.watches, bytes)
    };
    let fine = capture(1);
    assert!(!fine.2.is_empty());
    for tick in [10, 1000, 5000] {
        assert!(capture(tick) == fine, "tick {tick} ms changed the run");
    }
}

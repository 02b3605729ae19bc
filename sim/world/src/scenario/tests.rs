//! The verdict path in-process: a scenario with every expectation kind is planned, run,
//! evaluated and reported.

use super::*;
use crate::watch::WatchSpec;

const FAILING: &str = include_str!("../../../../tests/e2e/fixtures/run-failing.yaml");
const EVENTS: &str = include_str!("../../../../scenarios/network/runtime-events.yaml");

fn scenario(text: &str) -> sim_scenario::Scenario {
    sim_scenario::from_str("test.yaml", text).expect("valid scenario")
}

fn outputs() -> Outputs {
    Outputs::default()
}

#[test]
fn plan_every_expectation_kind_becomes_its_watch_in_order() {
    let spec = plan(&scenario(FAILING), outputs()).expect("plan");
    let kinds: Vec<&str> = spec
        .watches
        .iter()
        .map(|w| match w {
            WatchSpec::Received { .. } => "received",
            WatchSpec::Dropped { .. } => "dropped",
            WatchSpec::Seen => "mapping",
            WatchSpec::Event { .. } => "event",
            WatchSpec::Sequence { .. } => "sequence",
            WatchSpec::SipResponse { .. } => "sip_response",
            WatchSpec::Delivered { .. } => "delivered",
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "received",
            "received",
            "dropped",
            "mapping",
            "event",
            "sequence",
            "sip_response"
        ]
    );
    assert!(
        spec.observers.contains(&crate::fabric::NodeId(1)),
        "proxy observes a mapping"
    );
    assert!(spec.capture.is_none() && spec.events.is_none());
}

#[test]
fn plan_refuses_a_kind_without_a_model_and_says_why() {
    let text = "name: x\nseed: 1\nduration: 1s\ntopology:\n  servers:\n    - {name: s, kind: sip, address: 203.0.113.10, transports: [udp, tls]}\n  endpoints:\n    - {name: p, kind: softphone, address: 203.0.113.20, user: u, password: pw, server: s, transport: tls}\n";
    let err = plan(&scenario(text), outputs()).expect_err("SIP over TLS is not built yet");
    assert!(err.what.contains("over TLS"), "{err}");
}

#[test]
fn evaluate_failing_expectations_say_what_happened_instead() {
    let s = scenario(FAILING);
    let out = crate::run(&plan(&s, outputs()).expect("plan")).expect("run");
    let eval = evaluate(&s, &out);
    let verdicts: Vec<bool> = eval.results.iter().map(|r| r.passed).collect();
    assert_eq!(verdicts, [true, false, false, false, false, false, false]);
    assert!(!eval.passed());
    let observed: Vec<&str> = eval.results.iter().map(|r| r.observed.as_str()).collect();
    assert_eq!(
        observed[0],
        "2 received (first at 1.030000s, last at 2.030000s)"
    );
    assert_eq!(observed[4], "0 reported");
    assert_eq!(observed[5], "0 of 2 in order, then no port-bound");
    assert_eq!(observed[6], "0 seen");
}

#[test]
fn evaluate_event_sequence_and_sip_response_pass_on_what_the_run_did() {
    let s = scenario(EVENTS);
    let out = crate::run(&plan(&s, outputs()).expect("plan")).expect("run");
    let eval = evaluate(&s, &out);
    for r in &eval.results {
        assert!(r.passed, "{} ({}): {}", r.index, r.text, r.observed);
    }
    assert_eq!(eval.results[4].observed.split(' ').next(), Some("8"));
}

#[test]
fn report_failing_run_fails_and_lists_the_written_files() {
    let s = scenario(FAILING);
    let out = crate::run(&plan(&s, outputs()).expect("plan")).expect("run");
    let eval = evaluate(&s, &out);
    let written = Written {
        capture: Some("capture.pcapng"),
        events: Some("events.jsonl"),
    };
    let r = report(&s, "run-failing.yaml", &out, &eval, written);
    assert!(!r.passed);
    assert_eq!(r.expectations.len(), 7);
    assert_eq!(
        r.events.as_ref().map(|e| e.file.as_str()),
        Some("events.jsonl")
    );
    let json = r.to_json();
    assert!(json.contains("\"seed\": 1"), "{json}");
}

#[test]
fn dns_server_runs_in_the_world_and_takes_its_policy() {
    let s = scenario(include_str!("fixtures/dns-server-runs.yaml"));
    let mut spec = plan(&s, outputs()).expect("plan");
    let Some(ns) = spec.nodes.iter().position(|n| n.name == "ns1") else {
        panic!("no ns1")
    };
    assert!(matches!(
        &spec.nodes[ns].kind,
        crate::world::NodeKind::DnsServer(c, _) if c.port == 53 && c.records.len() == 2
    ));
    assert!(spec.timeline.iter().any(|t| matches!(
        &t.action,
        crate::world::WorldAction::Dns(_, p) if *p == sim_dns::DnsPolicy::rcode(2)
            .with_name("stun.example.net", sim_dns::DnsAction::Drop)
    )));
    spec.keep_log = Some(None);
    let out = crate::run(&spec).expect("run");
    let logged: Vec<(u64, &str)> = out
        .log
        .iter()
        .filter(|l| l.node.0 as usize == ns)
        .filter_map(|l| match &l.observation {
            crate::nodes::NodeEvent::Log(e) => Some((l.time.as_micros(), e.name.as_ref())),
            _ => None,
        })
        .collect();
    // The probe's text is no DNS query: the server answers FORMERR and reports it.
    assert!(!logged.is_empty());
    assert!(
        logged.iter().all(|(_, n)| *n == "dns-malformed"),
        "{logged:?}"
    );
    assert!(out.issues.is_empty(), "{:?}", out.issues);
}

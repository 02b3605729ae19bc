//! Validation tests: one valid scenario, then one broken thing at a time.

use crate::scenario::{
    Callee, EventCode, ResolvedAction, ResolvedExpectation, StatusCode, Subject,
};
use crate::{NetworkId, Severity, check_str};
use std::net::IpAddr;
use std::time::Duration;

const BASE: &str = r#"name: base
seed: 7
duration: 60s
topology:
  nats:
    - name: gw
      preset: port-restricted-cone
      public: [198.51.100.1]
      lan: 10.0.0.0/24
      udp_timeout: 60s
      port_forwards:
        - {protocol: udp, port: 6000, to: alice}
  servers:
    - {kind: sip, name: pbx, accounts: [{user: bob, password: x}]}
    - {kind: stun, name: stun1}
    - {kind: dns, name: ns, records: [{name: sip.example.com, address: 203.0.113.10}]}
  endpoints:
    - {kind: udp-probe, name: alice, behind: gw}
    - {kind: udp-probe, name: echo1, echo: true}
    - {kind: udp-probe, name: echo2, echo: true, address: 203.0.113.11}
    - {kind: softphone, name: bob, user: bob, password: x, server: pbx, behind: gw, keep_alive: 30s}
    - {kind: aae, name: cam, device_id: D1, device_ticket: T, sip_server: pbx, stun_server: stun1, behind: gw}
    - {kind: aae, name: app, device_id: D2, device_ticket: T, sip_server: pbx}
    - {kind: intercom, name: door, proxy: "sip:sip.example.com", realm: sip.example.com, user: 1001, password: pw, registration_interval: 50, transport: udp}
timeline:
  - {at: 5s, partition: {between: [alice, echo1]}}
  - {at: 1s, send: {from: alice, to: echo1}}
  - {at: 1s, send: {from: alice, to: echo2, count: 3, interval: 100ms}}
  - {at: 2s, nat_flush: {nat: gw}}
  - {at: 3s, make_tunnel: {from: app, to: D1}}
  - {at: 4s, call: {from: bob, to: door}}
expect:
  - received: {endpoint: echo1, from: alice}
  - mapping: {endpoint: alice, seen_by: [echo1, echo2], rule: same}
  - event: {endpoint: cam, code: NATNL_TNL_EVENT_INIT_OK}
  - event: {endpoint: app, code: 60105, status: PJNATH_EICEFAILED}
  - event: {endpoint: bob, code: onRegisterFailure, status: 403}
  - sequence: {endpoint: app, events: [60100, NATNL_TNL_EVENT_MAKECALL_OK]}
  - dropped: {at: gw, reason: filtered}
"#;

/// `BASE` with `from` replaced by `to` (which must occur).
fn with(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "{from}");
    BASE.replacen(from, to, 1)
}

/// `(severity, path, message, help)` of every diagnostic.
fn problems(text: &str) -> Vec<(Severity, String, String, String)> {
    check_str("t.yaml", text)
        .diagnostics
        .iter()
        .map(|d| {
            assert!(d.location.is_some(), "unlocated: {d:?}");
            (
                d.severity,
                d.path.as_str().to_owned(),
                d.message.clone(),
                d.help.clone().unwrap_or_default(),
            )
        })
        .collect()
}

/// The one error of `text`: `(path, message)`.
fn one_error(text: &str) -> (String, String) {
    let p: Vec<_> = problems(text)
        .into_iter()
        .filter(|p| p.0 == Severity::Error)
        .collect();
    assert_eq!(p.len(), 1, "{p:#?}");
    (p[0].1.clone(), p[0].2.clone())
}

#[test]
fn validate_base_resolves_everything() {
    let checked = check_str("t.yaml", BASE);
    assert!(checked.diagnostics.is_empty(), "{}", checked.diagnostics);
    let s = checked.scenario.unwrap();
    assert_eq!(s.networks.len(), 2);
    assert_eq!(s.networks[1].name, "lan-gw");
    let gw = s.nat_by_name("gw").unwrap();
    assert_eq!(gw.inside, NetworkId(1));
    assert_eq!(gw.udp_timeout, Duration::from_secs(60));
    assert_eq!(gw.tcp_timeout, Duration::from_secs(7440));
    assert_eq!(gw.port_forwards[0].to, s.node_by_name("alice").unwrap().id);
    // Addresses: written ones kept, public nodes from 203.0.113.10 up (skipping .11), LAN from .2.
    let addr = |n: &str| s.node_by_name(n).unwrap().address;
    let ip = |t: &str| t.parse::<IpAddr>().unwrap();
    assert_eq!(addr("pbx"), ip("203.0.113.10"));
    assert_eq!(addr("stun1"), ip("203.0.113.12"));
    assert_eq!(addr("echo2"), ip("203.0.113.11"));
    assert_eq!(addr("alice"), ip("10.0.0.2"));
    assert_eq!(addr("bob"), ip("10.0.0.3"));
    assert_eq!(s.nodes[0].name, "pbx");
    assert_eq!(s.tick, Duration::from_millis(1));
    assert!(s.capture);
}

#[test]
fn validate_base_timeline_sorted_stably_with_names_resolved() {
    let s = check_str("t.yaml", BASE).scenario.unwrap();
    let order: Vec<usize> = s.timeline.iter().map(|t| t.index).collect();
    assert_eq!(order, [1, 2, 3, 4, 5, 0]);
    let alice = s.node_by_name("alice").unwrap().id;
    let echo2 = s.node_by_name("echo2").unwrap().id;
    assert!(matches!(
        &s.timeline[1].action,
        ResolvedAction::Send { from, count: Some(3), interval, from_port: 5000, .. }
            if *from == alice && *interval == Duration::from_millis(100)
    ));
    let ResolvedAction::Send { to, .. } = &s.timeline[1].action else {
        panic!()
    };
    assert_eq!(
        *to,
        crate::ResolvedTarget::Node {
            node: echo2,
            port: 5000
        }
    );
    let cam = s.node_by_name("cam").unwrap().id;
    assert!(matches!(s.timeline[3].action, ResolvedAction::MakeTunnel { to, .. } if to == cam));
    let door = s.node_by_name("door").unwrap().id;
    assert!(
        matches!(&s.timeline[4].action, ResolvedAction::Call { to: Callee::Node(d), .. } if *d == door)
    );
    let gw = s.nat_by_name("gw").unwrap().id;
    assert_eq!(s.timeline[2].action, ResolvedAction::NatFlush(gw));
    assert!(
        matches!(s.timeline[5].action, ResolvedAction::Partition { a: Subject::Node(a), .. } if a == alice)
    );
}

#[test]
fn validate_base_codes_resolved_from_the_right_catalog() {
    let s = check_str("t.yaml", BASE).scenario.unwrap();
    let ResolvedExpectation::Event { code, status, .. } = &s.expectations[3] else {
        panic!()
    };
    assert_eq!(code.code(), Some(60105));
    assert_eq!(status.map(|s| s.code()), Some(370_082));
    let ResolvedExpectation::Event { code, status, .. } = &s.expectations[4] else {
        panic!()
    };
    assert!(matches!(code, EventCode::Softphone(cb) if cb.name == "onRegisterFailure"));
    assert_eq!(*status, Some(StatusCode::Sip(403)));
    let ResolvedExpectation::Sequence { events, .. } = &s.expectations[5] else {
        panic!()
    };
    let names: Vec<_> = events.iter().map(EventCode::name).collect();
    assert_eq!(
        names,
        ["NATNL_TNL_EVENT_INIT_OK", "NATNL_TNL_EVENT_MAKECALL_OK"]
    );
}

#[test]
fn validate_probability_out_of_range() {
    let t = with(
        "udp_timeout: 60s\n",
        "udp_timeout: 60s\n      link: {loss: {bernoulli: 1.5}}\n",
    );
    let (path, msg) = one_error(&t);
    assert_eq!(path, "topology.nats[0].link.loss.bernoulli");
    assert_eq!(msg, "probability 1.5 is out of range, expected 0 to 1");
}

#[test]
fn validate_mtu_tick_and_at_ranges() {
    let t = with(
        "udp_timeout: 60s\n",
        "udp_timeout: 60s\n      link: {mtu: 40}\n",
    );
    assert_eq!(
        one_error(&t).1,
        "mtu 40 is out of range, expected 68 to 9000"
    );
    let t = with("duration: 60s\n", "duration: 60s\ntick: 2s\n");
    assert_eq!(
        one_error(&t).1,
        "tick 2s is out of range, expected 1us to 1s"
    );
    let t = with("duration: 60s\n", "duration: 500ms\ntick: 600ms\n")
        .replace("at: 5s", "at: 0s")
        .replace("at: 1s", "at: 0s")
        .replace("at: 2s", "at: 0s")
        .replace("at: 3s", "at: 0s")
        .replace("at: 4s", "at: 0s");
    assert_eq!(
        one_error(&t).1,
        "tick 600ms is longer than the run (duration 500ms)"
    );
    let (path, msg) = one_error(&with("at: 5s", "at: 61s"));
    assert_eq!(path, "timeline[0].at");
    assert_eq!(msg, "`at` 61s is after the end of the run (duration 1m)");
}

#[test]
fn validate_dangling_nat_reference_suggests_the_name() {
    let p = problems(&with(
        "behind: gw}\n    - {kind: udp-probe, name: echo1",
        "behind: gx}\n    - {kind: udp-probe, name: echo1",
    ));
    let errors: Vec<_> = p.iter().filter(|p| p.0 == Severity::Error).collect();
    assert_eq!(errors[0].1, "topology.endpoints[0].behind");
    assert_eq!(errors[0].2, "unknown NAT `gx`");
    assert_eq!(errors[0].3, "did you mean `gw`?");
}

#[test]
fn validate_reference_to_item_that_failed_to_decode_is_not_reported_again() {
    // `gw` has a typo'd field type: it fails to decode; nodes behind it stay silent.
    let p = problems(&with("udp_timeout: 60s", "udp_timeout: [60s]"));
    assert_eq!(p.len(), 1, "{p:#?}");
    let p = problems(&with(
        "{kind: stun, name: stun1}",
        "{kind: stun, name: stun1, port: x}",
    ));
    assert_eq!(p.len(), 1, "{p:#?}");
    assert_eq!(p[0].1, "topology.servers[1].port");
    // Dropping a whole item (missing field): names referring to it stay silent.
    let p = problems(&with(
        "{kind: aae, name: cam, device_id: D1, device_ticket: T,",
        "{kind: aae, name: cam, device_id: D1,",
    ));
    assert_eq!(p.len(), 1, "{p:#?}");
    assert_eq!(p[0].2, "missing field `device_ticket`");
}

#[test]
fn validate_upstream_cycle_reported_once() {
    let t = with("      udp_timeout: 60s\n", "      udp_timeout: 60s\n      upstream: a\n").replace(
        "  servers:",
        "    - {name: a, public: [10.1.0.5], lan: 10.2.0.0/24, upstream: b}\n    - {name: b, public: [10.2.0.5], lan: 10.1.0.0/24, upstream: a}\n  servers:",
    );
    let p = problems(&t);
    assert_eq!(p.len(), 1, "{p:#?}");
    assert_eq!(p[0].2, "NAT upstream chain loops: `a` → `b` → `a`");
    assert_eq!(p[0].1, "topology.nats[1].upstream");
}

#[test]
fn validate_carrier_grade_nat_chain_orders_upstream_first() {
    let t = with(
        "      port_forwards:",
        "      upstream: cgn\n      port_forwards:",
    )
    .replace("public: [198.51.100.1]", "public: [100.64.0.2]")
    .replace(
        "  servers:",
        "    - {name: cgn, public: [198.51.100.1], lan: 100.64.0.0/10}\n  servers:",
    );
    let c = check_str("t.yaml", &t);
    assert!(!c.diagnostics.has_errors(), "{}", c.diagnostics);
    let s = c.scenario.unwrap();
    let names: Vec<_> = s.nats.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["cgn", "gw"]);
    assert_eq!(s.nats[1].upstream, s.nats[0].inside);
    assert_eq!(
        s.nat_of(s.node_by_name("alice").unwrap().id).unwrap().name,
        "gw"
    );
}

#[test]
fn validate_duplicate_names_share_one_namespace() {
    let (path, msg) = one_error(
        &with("{kind: stun, name: stun1}", "{kind: stun, name: gw}")
            .replace("stun_server: stun1", "stun_server: gw"),
    );
    assert_eq!(path, "topology.servers[1].name");
    assert_eq!(msg, "duplicate name `gw`");
}

#[test]
fn validate_duplicate_and_outside_addresses() {
    let (path, msg) = one_error(&with("address: 203.0.113.11", "address: 198.51.100.1"));
    assert_eq!(path, "topology.endpoints[2].address");
    assert_eq!(
        msg,
        "address 198.51.100.1 is already used on the public network by `gw`"
    );
    let (path, msg) = one_error(&with(
        "name: alice, behind: gw",
        "name: alice, behind: gw, address: 10.0.1.5",
    ));
    assert_eq!(path, "topology.endpoints[0].address");
    assert_eq!(
        msg,
        "address 10.0.1.5 is outside the LAN of `gw` (10.0.0.0/24)"
    );
    let (_, msg) = one_error(&with(
        "name: alice, behind: gw",
        "name: alice, behind: gw, address: 2001:db8::5",
    ));
    assert!(msg.contains("different address families"), "{msg}");
}

#[test]
fn validate_lan_prefix_with_host_bits() {
    let p = problems(&with("lan: 10.0.0.0/24", "lan: 10.0.0.1/24"));
    assert_eq!(p[0].2, "LAN prefix 10.0.0.1/24 has host bits set");
    assert_eq!(p[0].3, "did you mean 10.0.0.0/24?");
}

#[test]
fn validate_port_forward_to_node_not_behind_the_nat() {
    let (path, msg) = one_error(&with("to: alice}", "to: echo1}"));
    assert_eq!(path, "topology.nats[0].port_forwards[0].to");
    assert_eq!(msg, "`echo1` is not behind `gw`");
}

#[test]
fn validate_reference_of_the_wrong_kind() {
    let (path, msg) = one_error(&with(
        "send: {from: alice, to: echo1}",
        "send: {from: stun1, to: echo1}",
    ));
    assert_eq!(path, "timeline[1].send.from");
    assert_eq!(
        msg,
        "`stun1` is a stun server, expected a udp-probe or tcp-probe endpoint"
    );
    let (_, msg) = one_error(&with("seen_by: [echo1, echo2]", "seen_by: [echo1, alice]"));
    assert_eq!(
        msg,
        "`alice` does not echo, so it reports no observed address"
    );
    let (_, msg) = one_error(&with(
        "mapping: {endpoint: alice",
        "mapping: {endpoint: echo1",
    ));
    assert_eq!(
        msg,
        "`echo1` is on the public network, so it has no NAT mapping"
    );
    let (_, msg) = one_error(&with(
        "make_tunnel: {from: app, to: D1}",
        "make_tunnel: {from: app, to: bob}",
    ));
    assert_eq!(
        msg,
        "`bob` is a softphone endpoint, expected an aae endpoint"
    );
    let (_, msg) = one_error(&with(
        "call: {from: bob, to: door}",
        "call: {from: door, to: bob}",
    ));
    assert_eq!(
        msg,
        "`door` is an intercom endpoint, expected a softphone endpoint"
    );
    let (_, msg) = one_error(&with("nat_flush: {nat: gw}", "nat_flush: {nat: alice}"));
    assert_eq!(msg, "`alice` is a udp-probe endpoint, expected a NAT");
}

#[test]
fn validate_send_count_zero() {
    let (path, msg) = one_error(&with("count: 3", "count: 0"));
    assert_eq!(path, "timeline[2].send.count");
    assert_eq!(msg, "`count` 0 sends nothing, expected at least 1");
}

#[test]
fn validate_intercom_documented_constraints() {
    let (path, msg) = one_error(&with(
        "registration_interval: 50",
        "registration_interval: 20",
    ));
    assert_eq!(path, "topology.endpoints[6].registration_interval");
    assert_eq!(
        msg,
        "`registration_interval` 20 is out of range, expected 30 to 900"
    );
    let (_, msg) = one_error(&with(
        "user: 1001",
        "user: 12345678901234567890123456789012",
    ));
    assert_eq!(msg, "`user` has 32 characters, expected 1 to 31");
    let (_, msg) = one_error(&with("transport: udp}", "transport: udp, h264: 98}"));
    assert_eq!(
        msg,
        "H.264 payload type 98 is out of range, expected 99 to 127"
    );
    let (path, msg) = one_error(&with(
        "proxy: \"sip:sip.example.com\"",
        "proxy: \"sip:nowhere.example.com\"",
    ));
    assert_eq!(path, "topology.endpoints[6].proxy");
    assert_eq!(
        msg,
        "proxy host `nowhere.example.com` is neither a SIP server node nor a DNS record"
    );
    // A node name and a SIP server's address work too.
    assert!(problems(&with("proxy: \"sip:sip.example.com\"", "proxy: pbx")).is_empty());
    assert!(
        problems(&with(
            "proxy: \"sip:sip.example.com\"",
            "proxy: \"203.0.113.10:5060\""
        ))
        .is_empty()
    );
    let (_, msg) = one_error(&with("proxy: \"sip:sip.example.com\"", "proxy: stun1"));
    assert_eq!(msg, "`stun1` is a stun server, expected a sip server");
}

#[test]
fn validate_intercom_behind_nat_warns_when_mapping_expires_first() {
    let p = problems(&with(
        "registration_interval: 50, transport: udp}",
        "registration_interval: 300, transport: udp, behind: gw}",
    ));
    assert_eq!(p.len(), 1, "{p:#?}");
    assert_eq!(p[0].0, Severity::Warning);
    assert!(
        p[0].2.starts_with("the intercom re-registers every 294s"),
        "{}",
        p[0].2
    );
}

#[test]
fn validate_softphone_and_aae_limits() {
    let (_, msg) = one_error(&with(
        "keep_alive: 30s}",
        "keep_alive: 30s, register_expires: 7200}",
    ));
    assert_eq!(
        msg,
        "`register_expires` 7200 is out of range, expected 1 to 3600"
    );
    let (_, msg) = one_error(&with(
        "keep_alive: 30s}",
        "keep_alive: 30s, session_timer: 60s}",
    ));
    assert_eq!(
        msg,
        "`session_timer` 1m is too short, expected at least 90s"
    );
    let (_, msg) = one_error(&with(
        "stun_server: stun1, behind: gw}",
        "stun_server: stun1, behind: gw, max_calls: 16}",
    ));
    assert_eq!(msg, "`max_calls` 16 is out of range, expected 1 to 15");
    let (_, msg) = one_error(&with(
        "stun_server: stun1, behind: gw}",
        "stun_server: stun1, behind: gw, tnl_timeout: 181s}",
    ));
    assert_eq!(
        msg,
        "`tnl_timeout` 181s is out of range, expected more than 0s and at most 180s"
    );
}

#[test]
fn validate_keep_alive_longer_than_udp_timeout_is_a_warning() {
    let c = check_str("t.yaml", &with("keep_alive: 30s", "keep_alive: 90s"));
    assert!(!c.diagnostics.has_errors());
    let w: Vec<_> = c.diagnostics.iter().collect();
    assert_eq!(w.len(), 1);
    assert_eq!(
        w[0].message,
        "keep-alive every 90s is longer than the UDP mapping lifetime of `gw` (60s)"
    );
    assert_eq!(c.scenario.unwrap().warnings.len(), 1);
}

#[test]
fn validate_unknown_and_wrong_catalog_codes() {
    let (path, msg) = one_error(&with(
        "code: NATNL_TNL_EVENT_INIT_OK",
        "code: NATNL_TNL_EVENT_INIT_OKK",
    ));
    assert_eq!(path, "expect[2].event.code");
    assert_eq!(msg, "unknown AAE event `NATNL_TNL_EVENT_INIT_OKK`");
    let (_, msg) = one_error(&with("code: NATNL_TNL_EVENT_INIT_OK", "code: 370082"));
    assert_eq!(
        msg,
        "370082 is an AAE status code (PJNATH_EICEFAILED), not an event code"
    );
    let (_, msg) = one_error(&with(
        "code: onRegisterFailure",
        "code: NATNL_SIP_EVENT_REG",
    ));
    assert_eq!(
        msg,
        "`NATNL_SIP_EVENT_REG` is an AAE code, but `bob` is a softphone endpoint"
    );
    let (_, msg) = one_error(&with(
        "code: NATNL_TNL_EVENT_INIT_OK",
        "code: onRegisterFailure",
    ));
    assert_eq!(
        msg,
        "`onRegisterFailure` is a softphone callback, but `cam` is an aae endpoint"
    );
    let (_, msg) = one_error(&with("status: 403", "status: 800"));
    assert_eq!(msg, "status 800 is not a SIP status, expected 100 to 699");
    let (_, msg) = one_error(&with("event: {endpoint: cam", "event: {endpoint: door"));
    assert_eq!(
        msg,
        "`door` is an intercom endpoint, which reports no events yet"
    );
    // SIP-like statuses are accepted for AAE endpoints too.
    assert!(problems(&with("status: PJNATH_EICEFAILED", "status: 486")).is_empty());
}

#[test]
fn validate_scenario_name_charset() {
    let (path, msg) = one_error(&with("name: base", "name: \"my scenario\""));
    assert_eq!(path, "name");
    assert_eq!(msg, "scenario name `my scenario` is not a valid name");
}

#[test]
fn validate_expectation_windows_and_counts() {
    let (_, msg) = one_error(&with(
        "from: alice}",
        "from: alice, count: {at_least: 3, at_most: 1}}",
    ));
    assert_eq!(msg, "`at_least` 3 is more than `at_most` 1");
    let (_, msg) = one_error(&with(
        "from: alice}",
        "from: alice, after: 10s, before: 5s}",
    ));
    assert_eq!(msg, "`before` 5s is earlier than `after` 10s");
}

#[test]
fn validate_several_problems_in_one_pass() {
    let t = with("count: 3", "count: 0")
        .replace("registration_interval: 50", "registration_interval: 5")
        .replace(
            "behind: gw}\n    - {kind: udp-probe, name: echo1",
            "behind: gx}\n    - {kind: udp-probe, name: echo1",
        )
        .replace("at: 5s", "at: 90s");
    let p = problems(&t);
    let errors = p.iter().filter(|p| p.0 == Severity::Error).count();
    assert!(errors >= 4, "{p:#?}");
}

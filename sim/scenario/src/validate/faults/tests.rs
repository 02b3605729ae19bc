//! `packet_fault` validation: a valid rule resolved, then one broken thing at a time.

use crate::fault::{ClassMatch, FaultEffect, FaultRule, SipRewrite};
use crate::model::{Direction, Select, StunClass, StunMethod, TcpFlag};
use crate::scenario::{NatId, NodeId, ResolvedAction, Subject};
use crate::{Severity, check_str};
use std::time::Duration;

/// A scenario with `timeline` (YAML list items, indented two spaces).
fn scenario(timeline: &str) -> String {
    format!(
        "name: t\nseed: 1\nduration: 10s\ntopology:\n  nats:\n    - {{name: home, public: \
         [198.51.100.1], lan: 10.0.0.0/24}}\n  endpoints:\n    - {{name: alice, kind: \
         udp-probe, behind: home}}\n    - {{name: proxy, kind: udp-probe, echo: true}}\n\
         timeline:\n{timeline}"
    )
}

fn rules(timeline: &str) -> Vec<ResolvedAction> {
    let checked = check_str("t.yaml", &scenario(timeline));
    let s = checked
        .scenario
        .unwrap_or_else(|| panic!("{:?}", checked.diagnostics));
    s.timeline.into_iter().map(|t| t.action).collect()
}

/// `(path, message)` of every error.
fn errors(timeline: &str) -> Vec<(String, String)> {
    check_str("t.yaml", &scenario(timeline))
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| {
            assert!(d.location.is_some(), "unlocated: {d:?}");
            (d.path.as_str().to_owned(), d.message.clone())
        })
        .collect()
}

fn one_error(timeline: &str) -> (String, String) {
    let e = errors(timeline);
    assert_eq!(e.len(), 1, "{e:?}");
    e.into_iter().next().unwrap()
}

#[test]
fn faults_valid_sip_rule_resolves_names_class_and_effect() {
    let got = rules(
        "  - at: 1s\n    packet_fault:\n      name: second-ok\n      match: {sip: {status: 200, \
         cseq_method: INVITE}, from: proxy, to: alice, link: home, direction: inbound}\n      \
         select: {nth: 2}\n      action: {rewrite: {field: status, value: 503}}\n      until: 5s\n\
         \x20 - {at: 2s, packet_fault_end: {name: second-ok}}\n",
    );
    let want = FaultRule {
        name: "second-ok".into(),
        class: ClassMatch::Sip {
            method: None,
            status: Some(200),
            cseq_method: Some("INVITE".into()),
        },
        from: Some(Subject::Node(NodeId(1))),
        to: Some(Subject::Node(NodeId(0))),
        link: Some((Subject::Nat(NatId(0)), Some(Direction::Inbound))),
        select: Some(Select::Nth(2)),
        effect: FaultEffect::Rewrite(SipRewrite::Status {
            code: 503,
            phrase: None,
        }),
        until: Some(Duration::from_secs(5)),
    };
    assert_eq!(got[0], ResolvedAction::PacketFault(Box::new(want)));
    assert_eq!(got[1], ResolvedAction::PacketFaultEnd("second-ok".into()));
}

#[test]
fn faults_protocol_is_implied_by_class_fields_and_stun_attributes_resolve() {
    let got = rules(
        "  - {at: 1s, packet_fault: {name: a, match: {stun: {class: request, method: binding, \
         attribute: use-candidate}}, action: drop}}\n  - {at: 1s, packet_fault: {name: b, match: \
         {tcp: {flags: [syn], without: [ack]}}, action: reset}}\n  - {at: 1s, packet_fault: {name: \
         c, match: {protocol: rtp}, action: {corrupt: {flip_bit: 9}}}}\n  - {at: 1s, packet_fault: \
         {name: d, match: {stun: {attribute: \"0x8028\"}}, action: duplicate}}\n",
    );
    let class = |a: &ResolvedAction| match a {
        ResolvedAction::PacketFault(r) => (r.class.clone(), r.effect.clone()),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        class(&got[0]),
        (
            ClassMatch::Stun {
                class: Some(StunClass::Request),
                method: Some(StunMethod::Binding),
                attribute: Some(0x0025)
            },
            FaultEffect::Drop
        )
    );
    assert_eq!(
        class(&got[1]),
        (
            ClassMatch::Tcp {
                flags: vec![TcpFlag::Syn],
                without: vec![TcpFlag::Ack]
            },
            FaultEffect::Reset
        )
    );
    assert_eq!(class(&got[2]), (ClassMatch::Rtp, FaultEffect::FlipBit(9)));
    assert!(matches!(
        class(&got[3]).0,
        ClassMatch::Stun {
            attribute: Some(0x8028),
            ..
        }
    ));
}

#[test]
fn faults_select_zero_is_an_error_at_its_key() {
    for key in ["first", "every", "nth"] {
        let (path, message) = one_error(&format!(
            "  - {{at: 1s, packet_fault: {{name: a, match: {{}}, select: {{{key}: 0}}, action: drop}}}}\n"
        ));
        assert_eq!(path, format!("timeline[0].packet_fault.select.{key}"));
        assert!(message.contains("selects no packet"), "{message}");
    }
}

#[test]
fn faults_end_before_start_and_unknown_end_are_errors() {
    let (path, message) = one_error(
        "  - {at: 5s, packet_fault: {name: a, match: {}, action: drop}}\n  - {at: 2s, \
         packet_fault_end: {name: a}}\n",
    );
    assert_eq!(path, "timeline[1].packet_fault_end.name");
    assert!(message.contains("starts at 5s"), "{message}");
    let (_, message) = one_error("  - {at: 2s, packet_fault_end: {name: a}}\n");
    assert_eq!(message, "unknown packet fault `a`");
}

#[test]
fn faults_rewrite_needs_sip_and_a_header_name() {
    let (path, message) = one_error(
        "  - {at: 1s, packet_fault: {name: a, match: {protocol: udp}, action: {rewrite: {field: \
         CSeq, value: 1 INVITE}}}}\n",
    );
    assert_eq!(path, "timeline[0].packet_fault.action.rewrite");
    assert!(message.contains("sip packets only"), "{message}");
    let (path, _) = one_error(
        "  - {at: 1s, packet_fault: {name: a, match: {protocol: sip}, action: {rewrite: {field: \
         \"Bad Header\", value: x}}}}\n",
    );
    assert_eq!(path, "timeline[0].packet_fault.action.rewrite.field");
}

#[test]
fn faults_two_class_field_sets_and_a_bad_method_are_errors() {
    let (path, _) = one_error(
        "  - {at: 1s, packet_fault: {name: a, match: {sip: {}, stun: {}}, action: drop}}\n",
    );
    assert_eq!(path, "timeline[0].packet_fault.match.stun");
    let (path, _) = one_error(
        "  - {at: 1s, packet_fault: {name: a, match: {sip: {method: invite}}, action: drop}}\n",
    );
    assert_eq!(path, "timeline[0].packet_fault.match.sip.method");
}

#[test]
fn faults_more_than_the_limit_is_an_error() {
    let many: String = (0..=super::MAX_PACKET_FAULTS)
        .map(|i| {
            format!("  - {{at: 1s, packet_fault: {{name: r{i}, match: {{}}, action: drop}}}}\n")
        })
        .collect();
    let (path, message) = one_error(&many);
    assert_eq!(path, format!("timeline[{}]", super::MAX_PACKET_FAULTS));
    assert!(message.contains("more than 64"), "{message}");
}

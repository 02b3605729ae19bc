use super::super::packet::{NatId, NodeId, TcpHeader, Via};
use super::*;

const ALICE: NodeId = NodeId(0);
const PROXY: NodeId = NodeId(1);
const HOME: NatId = NatId(0);

const OPTIONS: &[u8] = b"OPTIONS sip:203.0.113.10:5060 SIP/2.0\r\nCSeq: 1 OPTIONS\r\n\
User-Agent: natlab\r\nContent-Length: 0\r\n\r\n";
const OK: &[u8] = b"SIP/2.0 200 OK\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";

fn udp(payload: &'static [u8], origin: NodeId) -> Packet {
    Packet {
        src: "10.0.0.2:5060".parse().unwrap(),
        dst: "203.0.113.10:5060".parse().unwrap(),
        transport: Transport::Udp,
        payload: Bytes::from_static(payload),
        origin,
        via: Via::default(),
        ip_id: 1,
    }
}

fn tcp(flags: TcpFlags) -> Packet {
    let mut p = udp(b"", ALICE);
    p.transport = Transport::Tcp(TcpHeader {
        seq: 100,
        ack: 7,
        flags,
        window: 1000,
    });
    p
}

const SYN: TcpFlags = TcpFlags {
    syn: true,
    ack: false,
    fin: false,
    rst: false,
    psh: false,
};

fn rule(class: ClassMatch, select: Selection, effect: Effect) -> PacketRule {
    PacketRule {
        name: "r".into(),
        class,
        from: None,
        to: None,
        link: None,
        select,
        effect,
        until: None,
    }
}

fn sip_ok() -> ClassMatch {
    ClassMatch::Sip {
        method: None,
        status: Some(200),
        cseq_method: Some("OPTIONS".into()),
    }
}

fn rules(r: PacketRule) -> PacketRules {
    let mut rules = PacketRules::default();
    rules.add(r).unwrap();
    rules
}

fn at(ms: u64) -> SimInstant {
    SimInstant::from_micros(ms * 1000)
}

/// Fates of `n` fresh copies of `p`, each judged on the hop alice → proxy.
fn fates(rules: &mut PacketRules, p: &Packet, n: usize) -> Vec<Fate> {
    (0..n)
        .map(|_| {
            let mut q = p.clone();
            let from = Attachment::Node(ALICE);
            rules
                .judge(at(0), from, Attachment::Node(PROXY), &mut q)
                .fate
        })
        .collect()
}

#[test]
fn selection_picks_first_every_and_nth() {
    let picked = |s: Selection| (1..=6).filter(|&n| s.picks(n)).collect::<Vec<_>>();
    assert_eq!(picked(Selection::All), [1, 2, 3, 4, 5, 6]);
    assert_eq!(picked(Selection::First(2)), [1, 2]);
    assert_eq!(picked(Selection::Every(3)), [3, 6]);
    assert_eq!(picked(Selection::Nth(2)), [2]);
    assert_eq!(picked(Selection::Every(0)), Vec::<u64>::new());
}

#[test]
fn packet_rules_nth_ok_drops_only_the_second_and_counts_every_match() {
    let mut r = rules(rule(sip_ok(), Selection::Nth(2), Effect::Drop));
    let got = fates(&mut r, &udp(OK, PROXY), 4);
    let drop = Fate::Drop("r".into());
    assert_eq!(got, [Fate::Pass, drop, Fate::Pass, Fate::Pass]);
    // An OPTIONS request is not a 200 OK: not counted.
    fates(&mut r, &udp(OPTIONS, ALICE), 2);
    let hits = &r.hits()[0];
    assert_eq!((hits.matched, hits.acted), (4, 1));
}

#[test]
fn packet_rules_marked_packet_is_not_counted_again_on_its_next_hop() {
    let mut r = rules(rule(
        ClassMatch::Any,
        Selection::All,
        Effect::Delay(Duration::from_secs(1)),
    ));
    let mut p = udp(OPTIONS, ALICE);
    let first = r.judge(
        at(0),
        Attachment::Node(ALICE),
        Attachment::NatInside(HOME),
        &mut p,
    );
    assert_eq!(first.fate, Fate::Delay(Duration::from_secs(1)));
    p.crossed(HOME);
    let second = r.judge(
        at(5),
        Attachment::NatOutside(HOME),
        Attachment::Node(PROXY),
        &mut p,
    );
    assert_eq!(second.fate, Fate::Pass);
    assert_eq!(r.hits()[0].matched, 1);
}

#[test]
fn packet_rules_from_matches_origin_behind_a_nat_and_to_the_receiver() {
    let mut base = rule(ClassMatch::Udp, Selection::All, Effect::Drop);
    base.from = Some(Entity::Node(ALICE));
    base.to = Some(Entity::Node(PROXY));
    let mut r = rules(base);
    let mut p = udp(OPTIONS, ALICE);
    let into_nat = r.judge(
        at(0),
        Attachment::Node(ALICE),
        Attachment::NatInside(HOME),
        &mut p,
    );
    assert_eq!(
        into_nat.fate,
        Fate::Pass,
        "the hop into home does not go to the proxy"
    );
    p.crossed(HOME);
    let out = r.judge(
        at(0),
        Attachment::NatOutside(HOME),
        Attachment::Node(PROXY),
        &mut p,
    );
    assert_eq!(out.fate, Fate::Drop("r".into()));
}

#[test]
fn packet_rules_link_direction_selects_the_nat_upstream_hops() {
    let mut base = rule(ClassMatch::Any, Selection::All, Effect::Drop);
    base.link = Some((Entity::Nat(HOME), Some(LinkDirection::Inbound)));
    let mut r = rules(base);
    let mut p = udp(OK, PROXY);
    let outbound = r.judge(
        at(0),
        Attachment::NatOutside(HOME),
        Attachment::Node(PROXY),
        &mut p,
    );
    assert_eq!(outbound.fate, Fate::Pass);
    let inbound = r.judge(
        at(0),
        Attachment::Node(PROXY),
        Attachment::NatOutside(HOME),
        &mut p,
    );
    assert_eq!(inbound.fate, Fate::Drop("r".into()));
}

#[test]
fn packet_rules_tcp_flags_and_without_pick_the_opening_syn() {
    let class = ClassMatch::Tcp {
        set: SYN,
        clear: TcpFlags {
            ack: true,
            ..TcpFlags::default()
        },
    };
    let mut r = rules(rule(class, Selection::First(1), Effect::Drop));
    let syn_ack = TcpFlags { ack: true, ..SYN };
    assert_eq!(fates(&mut r, &tcp(syn_ack), 1), [Fate::Pass]);
    assert_eq!(fates(&mut r, &udp(OK, PROXY), 1), [Fate::Pass]);
    assert_eq!(
        fates(&mut r, &tcp(SYN), 2),
        [Fate::Drop("r".into()), Fate::Pass]
    );
}

#[test]
fn packet_rules_until_and_end_stop_counting() {
    let mut base = rule(ClassMatch::Any, Selection::All, Effect::Drop);
    base.until = Some(at(10));
    let mut r = rules(base);
    let mut p = udp(OK, PROXY);
    let late = r.judge(
        at(10),
        Attachment::Node(PROXY),
        Attachment::Node(ALICE),
        &mut p,
    );
    assert_eq!(late.fate, Fate::Pass);
    assert_eq!(r.hits()[0].matched, 0);
    let mut r = rules(rule(ClassMatch::Any, Selection::All, Effect::Drop));
    assert!(r.end("r"));
    assert!(!r.end("other"));
    assert_eq!(fates(&mut r, &udp(OK, PROXY), 1), [Fate::Pass]);
}

#[test]
fn packet_rules_duplicate_returns_a_marked_copy_and_the_next_rule_sees_the_original() {
    let mut r = rules(rule(ClassMatch::Any, Selection::All, Effect::Duplicate));
    let mut second = rule(ClassMatch::Any, Selection::All, Effect::FlipBit(0));
    second.name = "flip".into();
    r.add(second).unwrap();
    let mut p = udp(OK, PROXY);
    let j = r.judge(
        at(0),
        Attachment::Node(PROXY),
        Attachment::Node(ALICE),
        &mut p,
    );
    assert_eq!(j.fate, Fate::Pass);
    assert_eq!(j.copies.len(), 1);
    assert_eq!(
        &p.payload[..1],
        b"\xd3",
        "the original was flipped by the second rule"
    );
    let mut copy = j.copies.into_iter().next().unwrap();
    assert_eq!(&copy.payload[..1], b"S", "the copy left before the flip");
    let again = r.judge(
        at(0),
        Attachment::Node(PROXY),
        Attachment::Node(ALICE),
        &mut copy,
    );
    assert!(again.copies.is_empty(), "the copy is not duplicated again");
    assert_eq!(&copy.payload[..1], b"\xd3");
}

#[test]
fn packet_rules_flip_bit_past_the_payload_counts_a_match_only() {
    let mut r = rules(rule(
        ClassMatch::Any,
        Selection::All,
        Effect::FlipBit(10_000),
    ));
    assert_eq!(fates(&mut r, &udp(OK, PROXY), 1), [Fate::Pass]);
    assert_eq!((r.hits()[0].matched, r.hits()[0].acted), (1, 0));
}

#[test]
fn packet_rules_rewrite_status_method_and_header() {
    let apply = |payload: &'static [u8], rw: SipRewrite| {
        let mut p = udp(payload, ALICE);
        let ok = rewrite(&mut p, &rw);
        (ok, String::from_utf8(p.payload.to_vec()).unwrap())
    };
    let (ok, text) = apply(
        OK,
        SipRewrite::Status(503, Some("Service Unavailable".into())),
    );
    assert!(ok);
    assert!(
        text.starts_with("SIP/2.0 503 Service Unavailable\r\nCSeq: 1 OPTIONS\r\n"),
        "{text}"
    );
    let (_, text) = apply(OK, SipRewrite::Status(486, None));
    assert!(text.starts_with("SIP/2.0 486 OK\r\n"), "{text}");
    let (ok, text) = apply(OPTIONS, SipRewrite::Method("INFO".into()));
    assert!(ok);
    assert!(
        text.starts_with("INFO sip:203.0.113.10:5060 SIP/2.0\r\n"),
        "{text}"
    );
    let (ok, text) = apply(
        OPTIONS,
        SipRewrite::Header("user-agent".into(), "evil".into()),
    );
    assert!(ok);
    assert!(
        text.contains("\r\nUser-Agent: evil\r\nContent-Length: 0\r\n\r\n"),
        "{text}"
    );
    assert!(!apply(OPTIONS, SipRewrite::Header("Route".into(), "x".into())).0);
    assert!(!apply(OPTIONS, SipRewrite::Status(500, None)).0);
    assert!(!apply(OK, SipRewrite::Method("INFO".into())).0);
}

#[test]
fn packet_rules_reset_turns_a_segment_into_rst_ack() {
    let mut r = rules(rule(ClassMatch::Any, Selection::All, Effect::Reset));
    let mut p = tcp(TcpFlags {
        ack: true,
        psh: true,
        ..TcpFlags::default()
    });
    p.payload = Bytes::from_static(b"natlab probe\n");
    r.judge(
        at(0),
        Attachment::Node(ALICE),
        Attachment::Node(PROXY),
        &mut p,
    );
    let Transport::Tcp(h) = p.transport else {
        panic!("not tcp")
    };
    assert!(h.flags.rst && h.flags.ack && !h.flags.psh);
    assert_eq!((h.seq, h.ack), (100, 7));
    assert!(p.payload.is_empty());
    let mut u = udp(OK, PROXY);
    r.judge(
        at(0),
        Attachment::Node(PROXY),
        Attachment::Node(ALICE),
        &mut u,
    );
    assert_eq!((r.hits()[0].matched, r.hits()[0].acted), (2, 1));
}

#[test]
fn packet_rules_refuse_a_rule_past_the_limit() {
    let mut r = PacketRules::default();
    for _ in 0..MAX_PACKET_RULES {
        r.add(rule(ClassMatch::Any, Selection::All, Effect::Drop))
            .unwrap();
    }
    assert_eq!(
        r.add(rule(ClassMatch::Any, Selection::All, Effect::Drop)),
        Err(PacketRuleError::TooMany)
    );
}

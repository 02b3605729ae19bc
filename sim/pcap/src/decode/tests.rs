use super::*;
use crate::capture::open_reader;
use crate::synth::{
    Link, PcapFile, PcapNgFile, PcapOptions, SipText, TcpFlags, gre_ipv4, ip_tcp, ip_udp,
    udp_fragments, wrap,
};
use std::io::Cursor;

#[derive(Default)]
struct Collect {
    sip: Vec<(u64, String, Carrier, SocketAddr)>,
    stun: Vec<u64>,
}

impl EventSink for Collect {
    fn sip(&mut self, meta: &PacketMeta, msg: SipMessage<'_>) {
        let id = String::from_utf8_lossy(msg.call_id()).into_owned();
        self.sip.push((meta.frame, id, meta.carrier, meta.src));
    }
    fn stun(&mut self, meta: &PacketMeta, _msg: &StunMessage) {
        self.stun.push(meta.frame);
    }
}

fn run(bytes: Vec<u8>) -> (Collect, crate::accounting::PacketSummary) {
    let (mut reader, _) = open_reader(Cursor::new(bytes)).unwrap();
    let mut d = Decoder::default();
    let mut c = Collect::default();
    while let Some(rec) = reader.next_record() {
        d.record(&rec, &mut c);
    }
    let acct = d.finish(&mut c);
    acct.check().unwrap();
    let summary = acct.summary();
    assert!(summary.adds_up(), "{summary:?}");
    (c, summary)
}

fn a(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn invite(call_id: &str, pad: usize) -> Vec<u8> {
    let body = format!("v=0\r\n{}", "a=x-pad:0123456789\r\n".repeat(pad));
    SipText::request("INVITE", "sip:bob@example.com")
        .dialog(
            "192.0.2.1:5060",
            "z9hG4bKi",
            "<sip:alice@example.com>;tag=1",
            "<sip:bob@example.com>",
            call_id,
            "1 INVITE",
        )
        .body("application/sdp", body.as_bytes())
        .build()
}

const T: i64 = 1_700_000_000_000_000_000;

#[test]
fn decoder_pcapng_mixing_link_types_decodes_every_interface() {
    let links = [
        Link::Ethernet,
        Link::Sll,
        Link::Raw,
        Link::Sll2,
        Link::Null,
        Link::Vlan(10),
        Link::QinQ(20, 30),
    ];
    let mut f = PcapNgFile::new();
    let ids: Vec<u32> = links
        .iter()
        .map(|l| f.interface(l.linktype(), false))
        .collect();
    for (i, (link, id)) in links.iter().zip(&ids).enumerate() {
        let ip = ip_udp(
            a("192.0.2.1:5060"),
            a("192.0.2.2:5062"),
            &invite(&format!("mix-{i}"), 1),
        );
        f.packet(*id, T + i as i64 * 1000, &wrap(*link, &ip));
    }
    let (c, s) = run(f.into_bytes());
    let got: Vec<&str> = c.sip.iter().map(|(_, id, ..)| id.as_str()).collect();
    assert_eq!(
        got,
        [
            "mix-0", "mix-1", "mix-2", "mix-3", "mix-4", "mix-5", "mix-6"
        ]
    );
    assert_eq!(s.sip, 7);
    assert_eq!(s.packets, 7);
}

#[test]
fn decoder_ipv6_udp_and_tcp_on_non_standard_ports() {
    let mut f = PcapFile::new(PcapOptions::new(1));
    let ip = ip_udp(
        a("[2001:db8::1]:40000"),
        a("[2001:db8::2]:7777"),
        &invite("v6-udp", 1),
    );
    f.push(T, &wrap(Link::Ethernet, &ip));
    let (src, dst) = (a("[2001:db8::1]:40001"), a("[2001:db8::2]:5061"));
    f.push(
        T + 1,
        &wrap(Link::Ethernet, &ip_tcp(src, dst, 9, 0, TcpFlags::SYN, b"")),
    );
    let ip = ip_tcp(src, dst, 10, 1, TcpFlags::DATA, &invite("v6-tcp", 1));
    f.push(T + 2, &wrap(Link::Ethernet, &ip));
    let (c, s) = run(f.into_bytes());
    assert_eq!(c.sip.len(), 2);
    assert_eq!(c.sip[0].1, "v6-udp");
    assert_eq!(c.sip[0].3, a("[2001:db8::1]:40000"));
    assert_eq!((c.sip[1].1.as_str(), c.sip[1].2), ("v6-tcp", Carrier::Tcp));
    assert_eq!(s.other.kinds.get("tcp_control"), Some(&1));
}

#[test]
fn decoder_fragmented_udp_invite_reassembles_ipv4_and_ipv6() {
    let big = invite("frag", 120);
    assert!(big.len() > 2500);
    let mut f = PcapFile::new(PcapOptions::new(1));
    let v4 = udp_fragments(a("192.0.2.1:5060"), a("192.0.2.2:5060"), &big, 1480, 77);
    let v6 = udp_fragments(
        a("[2001:db8::1]:5060"),
        a("[2001:db8::2]:5060"),
        &big,
        1232,
        78,
    );
    assert_eq!(v4.len(), 2);
    // IPv4 fragments out of order; IPv6 in order.
    for p in v4.iter().rev().chain(&v6) {
        f.push(T, &wrap(Link::Ethernet, p));
    }
    let (c, s) = run(f.into_bytes());
    let frames: Vec<u64> = c.sip.iter().map(|(n, ..)| *n).collect();
    assert_eq!(frames, [2, 2 + v6.len() as u64]);
    assert_eq!(
        s.other.kinds.get("ip_fragment"),
        Some(&(1 + v6.len() as u64 - 1))
    );
    assert_eq!(s.sip, 2);
}

#[test]
fn decoder_incomplete_fragments_are_counted_at_the_end() {
    let big = invite("lost", 120);
    let mut f = PcapFile::new(PcapOptions::new(1));
    let frags = udp_fragments(a("192.0.2.1:5060"), a("192.0.2.2:5060"), &big, 1480, 5);
    f.push(T, &wrap(Link::Ethernet, &frags[0]));
    let (c, s) = run(f.into_bytes());
    assert!(c.sip.is_empty());
    assert_eq!(
        s.undecodable.reasons.get("fragment_never_completed"),
        Some(&1)
    );
}

#[test]
fn decoder_gre_tunnel_and_snaplen_truncated_invite() {
    let inner = ip_udp(a("10.0.0.1:5060"), a("10.0.0.2:5060"), &invite("in-gre", 1));
    let mut f = PcapFile::new(PcapOptions::new(1));
    f.push(
        T,
        &wrap(
            Link::Ethernet,
            &gre_ipv4([192, 0, 2, 9], [192, 0, 2, 10], &inner),
        ),
    );
    let full = wrap(
        Link::Ethernet,
        &ip_udp(a("192.0.2.1:5060"), a("192.0.2.2:5060"), &invite("cut", 20)),
    );
    f.push_truncated(T + 1, &full, 300);
    let (c, s) = run(f.into_bytes());
    let ids: Vec<&str> = c.sip.iter().map(|(_, id, ..)| id.as_str()).collect();
    assert_eq!(ids, ["in-gre", "cut"]);
    assert_eq!(s.sip_messages_truncated, 1);
}

#[test]
fn decoder_non_sip_udp_and_malformed_sip_are_classified() {
    let mut f = PcapFile::new(PcapOptions::new(1));
    let rtp = [0x80u8, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xAA, 0xBB];
    f.push(
        T,
        &wrap(
            Link::Ethernet,
            &ip_udp(a("192.0.2.1:4000"), a("192.0.2.2:4000"), &rtp),
        ),
    );
    let bad = b"SIP/2.0 200 OK\r\nCSeq: 1 INVITE\r\n\r\n";
    f.push(
        T,
        &wrap(
            Link::Ethernet,
            &ip_udp(a("192.0.2.1:5060"), a("192.0.2.2:5060"), bad),
        ),
    );
    f.push(
        T,
        &wrap(
            Link::Ethernet,
            &ip_udp(a("192.0.2.1:5060"), a("192.0.2.2:5060"), b"\r\n\r\n"),
        ),
    );
    f.push(T, &[0xde, 0xad]);
    let (_, s) = run(f.into_bytes());
    // The sink without a media tracker takes a version-2 header for what it says.
    assert_eq!(s.rtp, 1);
    assert_eq!(s.other.kinds.get("keep_alive"), Some(&1));
    assert_eq!(s.undecodable.malformed_sip.get("missing_call_id"), Some(&1));
    assert_eq!(s.undecodable.reasons.get("truncated_frame"), Some(&1));
    assert_eq!(s.packets, 4);
}

#[test]
fn decoder_malformed_sip_and_tcp_gap_become_capture_findings() {
    let mut f = PcapFile::new(PcapOptions::new(1));
    let bad = b"SIP/2.0 200 OK\r\nCSeq: 1 INVITE\r\n\r\n";
    f.push(
        T,
        &wrap(
            Link::Ethernet,
            &ip_udp(a("192.0.2.1:5060"), a("192.0.2.2:5060"), bad),
        ),
    );
    let (src, dst) = (a("192.0.2.1:40000"), a("192.0.2.2:5060"));
    f.push(
        T + 1,
        &wrap(Link::Ethernet, &ip_tcp(src, dst, 99, 0, TcpFlags::SYN, b"")),
    );
    let half = invite("gap", 1);
    f.push(
        T + 2,
        &wrap(
            Link::Ethernet,
            &ip_tcp(src, dst, 100, 1, TcpFlags::DATA, &half[..60]),
        ),
    );
    let (mut reader, _) = open_reader(Cursor::new(f.into_bytes())).unwrap();
    let mut d = Decoder::default();
    let mut c = Collect::default();
    while let Some(rec) = reader.next_record() {
        d.record(&rec, &mut c);
    }
    let acct = d.finish(&mut c);
    let kinds: Vec<(crate::findings::FindingKind, Vec<u64>)> = acct
        .findings()
        .into_iter()
        .map(|f| (f.kind, f.frames))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (crate::findings::FindingKind::MalformedSip, vec![1]),
            (crate::findings::FindingKind::TcpGap, vec![3])
        ]
    );
}

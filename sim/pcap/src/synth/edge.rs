//! The hand-built edge-case sample captures of `pcaps/` (written by `pcap-gen edge DIR`): link
//! types mixed in one pcapng, IPv6, a fragmented INVITE, SIP over TCP with coalesced, split,
//! retransmitted and reordered segments, a truncated file, a corrupt record, NAT / STUN
//! symptoms, and many unanswered ICE checks beside NAT keep-alives. Each comes with its sidecar
//! text. Deterministic: same bytes on every run.

use super::{
    Link, PcapFile, PcapNgFile, PcapOptions, SipText, TcpFlags, ip_tcp, ip_udp, sdp, udp_fragments,
    wrap,
};
use std::net::SocketAddr;

mod ice;

/// 2024-01-15T10:00:00Z.
const T0: i64 = 1_705_312_800_000_000_000;
const MS: i64 = 1_000_000;

/// One generated capture: file name, bytes, sidecar Markdown.
#[derive(Clone, Debug)]
pub struct EdgeCapture {
    /// File name in `pcaps/`.
    pub name: &'static str,
    /// The capture.
    pub bytes: Vec<u8>,
    /// The `.md` sidecar.
    pub sidecar: String,
}

fn a(s: &str) -> SocketAddr {
    s.parse()
        .unwrap_or_else(|_| SocketAddr::from(([192, 0, 2, 1], 5060)))
}

/// The usual dialog headers for a call between two parties.
#[derive(Clone, Copy, Debug)]
struct Dialog<'a> {
    call_id: &'a str,
    from: &'a str,
    to: &'a str,
    via: &'a str,
    branch: &'a str,
}

impl Dialog<'_> {
    fn request(&self, method: &str, uri: &str, cseq: u32, to_tag: bool) -> SipText {
        let to = if to_tag {
            format!("{};tag=callee-1", self.to)
        } else {
            self.to.to_owned()
        };
        SipText::request(method, uri)
            .dialog(
                self.via,
                self.branch,
                &format!("{};tag=caller-1", self.from),
                &to,
                self.call_id,
                &format!("{cseq} {method}"),
            )
            .header("Max-Forwards", "70")
    }

    fn response(&self, code: u16, reason: &str, cseq: u32, method: &str) -> SipText {
        let to = if code > 100 {
            format!("{};tag=callee-1", self.to)
        } else {
            self.to.to_owned()
        };
        SipText::response(code, reason).dialog(
            self.via,
            self.branch,
            &format!("{};tag=caller-1", self.from),
            &to,
            self.call_id,
            &format!("{cseq} {method}"),
        )
    }
}

/// Every edge-case capture.
pub fn edge_captures() -> Vec<EdgeCapture> {
    vec![
        mixed_links(),
        ipv6(),
        fragmented(),
        tcp_stream(),
        truncated(),
        corrupt(),
        nat_stun(),
        ice::ice_unanswered(),
    ]
}

/// A complete call: INVITE, 100, 180, 200, ACK, BYE, 200 (seven messages).
fn call_messages(d: &Dialog<'_>, uri: &str, media_ip: &str) -> Vec<(bool, Vec<u8>)> {
    let offer = sdp(media_ip, 4000, "RTP/AVP");
    let answer = sdp(media_ip, 5000, "RTP/AVP");
    vec![
        (
            true,
            d.request("INVITE", uri, 1, false)
                .header("Contact", &format!("<sip:alice@{media_ip}>"))
                .body("application/sdp", offer.as_bytes())
                .build(),
        ),
        (false, d.response(100, "Trying", 1, "INVITE").build()),
        (false, d.response(180, "Ringing", 1, "INVITE").build()),
        (
            false,
            d.response(200, "OK", 1, "INVITE")
                .body("application/sdp", answer.as_bytes())
                .build(),
        ),
        (true, d.request("ACK", uri, 1, true).build()),
        (true, d.request("BYE", uri, 2, true).build()),
        (false, d.response(200, "OK", 2, "BYE").build()),
    ]
}

fn mixed_links() -> EdgeCapture {
    let mut f = PcapNgFile::new();
    let links = [Link::Ethernet, Link::Sll, Link::Raw];
    let ids: Vec<u32> = links
        .iter()
        .map(|l| f.interface(l.linktype(), l == &Link::Sll))
        .collect();
    let (ua, srv) = (a("192.0.2.10:5060"), a("198.51.100.20:5060"));
    let d = Dialog {
        call_id: "mixed-1@192.0.2.10",
        from: "<sip:alice@example.com>",
        to: "<sip:bob@example.com>",
        via: "192.0.2.10:5060",
        branch: "z9hG4bK-mixed-1",
    };
    for (i, (req, m)) in call_messages(&d, "sip:bob@example.com", "192.0.2.10")
        .into_iter()
        .enumerate()
    {
        let (s, t) = if req { (ua, srv) } else { (srv, ua) };
        let k = i % links.len();
        f.packet(
            ids.get(k).copied().unwrap_or(0),
            T0 + i as i64 * 20 * MS,
            &wrap(
                links.get(k).copied().unwrap_or(Link::Raw),
                &ip_udp(s, t, &m),
            ),
        );
    }
    EdgeCapture {
        name: "edge-mixed-linktypes.pcapng",
        bytes: f.into_bytes(),
        sidecar: sidecar(
            "Link types mixed in one pcapng",
            "One pcapng with three interfaces: Ethernet (µs timestamps), Linux cooked v1 (ns timestamps, `if_tsresol` 9) and raw IP. The seven messages of one answered call (INVITE, 100, 180, 200, ACK, BYE, 200) rotate over the three interfaces.",
            "All 7 packets decode as SIP (sngrep rejects such files). One call `mixed-1@192.0.2.10`, outcome answered, no findings.",
        ),
    }
}

fn ipv6() -> EdgeCapture {
    let mut f = PcapFile::new(PcapOptions {
        nanos: true,
        ..PcapOptions::new(1)
    });
    let (ua, srv) = (a("[2001:db8::10]:5060"), a("[2001:db8:1::20]:5060"));
    let d = Dialog {
        call_id: "v6-call@[2001:db8::10]",
        from: "<sip:alice@[2001:db8::10]>",
        to: "<sip:bob@[2001:db8:1::20]>",
        via: "[2001:db8::10]:5060",
        branch: "z9hG4bK-v6-1",
    };
    let mut t = T0;
    for (req, m) in call_messages(&d, "sip:bob@[2001:db8:1::20]", "2001:db8::10") {
        let (s, dst) = if req { (ua, srv) } else { (srv, ua) };
        f.push(t, &wrap(Link::Ethernet, &ip_udp(s, dst, &m)));
        t += 15 * MS;
    }
    let r = Dialog {
        call_id: "v6-reg@[2001:db8::10]",
        from: "<sip:alice@example.com>",
        to: "<sip:alice@example.com>",
        via: "[2001:db8::10]:5060",
        branch: "z9hG4bK-v6-r1",
    };
    let reg = r
        .request("REGISTER", "sip:example.com", 1, false)
        .header("Contact", "<sip:alice@[2001:db8::10]:5060>")
        .header("Expires", "600")
        .build();
    let chal = r
        .response(401, "Unauthorized", 1, "REGISTER")
        .header(
            "WWW-Authenticate",
            "Digest realm=\"example.com\", nonce=\"n-1\", algorithm=MD5",
        )
        .build();
    let r2 = Dialog {
        branch: "z9hG4bK-v6-r2",
        ..r
    };
    let auth = r2.request("REGISTER", "sip:example.com", 2, false)
        .header("Contact", "<sip:alice@[2001:db8::10]:5060>")
        .header("Authorization", "Digest username=\"alice\", realm=\"example.com\", nonce=\"n-1\", uri=\"sip:example.com\", response=\"00000000000000000000000000000000\"")
        .build();
    let ok = r2
        .response(200, "OK", 2, "REGISTER")
        .header("Contact", "<sip:alice@[2001:db8::10]:5060>;expires=600")
        .build();
    for (req, m) in [(true, reg), (false, chal), (true, auth), (false, ok)] {
        let (s, dst) = if req { (ua, srv) } else { (srv, ua) };
        f.push(t, &wrap(Link::Ethernet, &ip_udp(s, dst, &m)));
        t += 15 * MS;
    }
    EdgeCapture {
        name: "edge-ipv6.pcap",
        bytes: f.into_bytes(),
        sidecar: sidecar(
            "SIP over IPv6",
            "Classic pcap, nanosecond timestamps, Ethernet, IPv6 only: an answered call whose URIs, Via and SDP use IPv6 references, then a REGISTER challenged with 401 and accepted after the retry with credentials.",
            "11 SIP packets. Call `v6-call@[2001:db8::10]` answered. Registration `v6-reg@[2001:db8::10]` registered; one info finding `auth_challenge` (401 answered with credentials, then 200): not an error.",
        ),
    }
}

fn fragmented() -> EdgeCapture {
    let mut f = PcapFile::new(PcapOptions::new(1));
    let (ua, srv) = (a("192.0.2.10:5060"), a("198.51.100.20:5060"));
    let d = Dialog {
        call_id: "frag-1@192.0.2.10",
        from: "<sip:alice@example.com>",
        to: "<sip:bob@example.com>",
        via: "192.0.2.10:5060",
        branch: "z9hG4bK-frag-1",
    };
    let mut body = sdp("192.0.2.10", 4000, "RTP/AVP");
    for i in 0..60 {
        body.push_str(&format!(
            "a=candidate:{i} 1 UDP 2130706431 192.0.2.10 {} typ host\r\n",
            40000 + i
        ));
    }
    let invite = d
        .request("INVITE", "sip:bob@example.com", 1, false)
        .body("application/sdp", body.as_bytes())
        .build();
    let frags = udp_fragments(ua, srv, &invite, 1480, 4242);
    let mut t = T0;
    // Second fragment first: reassembly must not depend on order.
    for p in frags.iter().rev() {
        f.push(t, &wrap(Link::Ethernet, p));
        t += MS;
    }
    for m in [
        d.response(100, "Trying", 1, "INVITE").build(),
        d.response(486, "Busy Here", 1, "INVITE").build(),
    ] {
        f.push(t, &wrap(Link::Ethernet, &ip_udp(srv, ua, &m)));
        t += 30 * MS;
    }
    f.push(
        t,
        &wrap(
            Link::Ethernet,
            &ip_udp(
                ua,
                srv,
                &d.request("ACK", "sip:bob@example.com", 1, true).build(),
            ),
        ),
    );
    EdgeCapture {
        name: "edge-fragmented-invite.pcap",
        bytes: f.into_bytes(),
        sidecar: sidecar(
            "Fragmented UDP INVITE",
            &format!(
                "An INVITE of {} bytes (an SDP with 60 ICE candidates) sent over UDP and fragmented by IPv4 into {} fragments, captured in reverse order; then 100 Trying, 486 Busy Here, ACK.",
                invite.len(),
                frags.len()
            ),
            "The INVITE is reassembled in the frame of the last fragment to arrive (frame 3, as tshark numbers it too); frames 1 and 2 count as `ip_fragment`. One call, outcome failed (486); one warning finding `sip_failure` 486 Busy Here with the operator's meaning (callee busy or rejecting).",
        ),
    }
}

/// SIP over TCP: handshake, a split message, two coalesced messages, a retransmission, reordering.
fn tcp_stream() -> EdgeCapture {
    let mut f = PcapFile::new(PcapOptions::new(1));
    let (ua, srv) = (a("192.0.2.10:40312"), a("198.51.100.20:5060"));
    let d = Dialog {
        call_id: "tcp-1@192.0.2.10",
        from: "<sip:alice@example.com>",
        to: "<sip:bob@example.com>",
        via: "192.0.2.10:40312;transport=tcp",
        branch: "z9hG4bK-tcp-1",
    };
    let d = Dialog {
        via: "SIP/2.0/TCP 192.0.2.10:40312",
        ..d
    };
    let msgs = call_messages(&d, "sip:bob@example.com;transport=tcp", "192.0.2.10");
    let up: Vec<Vec<u8>> = msgs
        .iter()
        .filter(|(r, _)| *r)
        .map(|(_, m)| m.clone())
        .collect();
    let down: Vec<Vec<u8>> = msgs
        .iter()
        .filter(|(r, _)| !*r)
        .map(|(_, m)| m.clone())
        .collect();
    let mut w = TcpWriter { f: &mut f, t: T0 };
    let (mut cs, mut ss) = (1000u32, 5000u32);
    w.seg(ua, srv, cs, 0, TcpFlags::SYN, b"");
    w.seg(
        srv,
        ua,
        ss,
        cs + 1,
        TcpFlags {
            syn: true,
            ack: true,
            ..TcpFlags::default()
        },
        b"",
    );
    cs += 1;
    ss += 1;
    // The INVITE split in three segments, the middle one first (reordered), the first retransmitted.
    let inv = up.first().cloned().unwrap_or_default();
    let (p1, rest) = inv.split_at(inv.len() / 3);
    let (p2, p3) = rest.split_at(rest.len() / 2);
    let (o1, o2, o3) = (cs, cs + p1.len() as u32, cs + (p1.len() + p2.len()) as u32);
    w.seg(ua, srv, o2, ss, TcpFlags::DATA, p2);
    w.seg(ua, srv, o1, ss, TcpFlags::DATA, p1);
    w.seg(ua, srv, o1, ss, TcpFlags::DATA, p1);
    w.seg(ua, srv, o3, ss, TcpFlags::DATA, p3);
    cs += inv.len() as u32;
    // 100 Trying and 180 Ringing coalesced in one segment; then the 200 alone.
    let mut coalesced = down.first().cloned().unwrap_or_default();
    coalesced.extend_from_slice(down.get(1).map_or(&[][..], Vec::as_slice));
    w.seg(srv, ua, ss, cs, TcpFlags::DATA, &coalesced);
    ss += coalesced.len() as u32;
    for m in [down.get(2), up.get(1), up.get(2), down.get(3)]
        .into_iter()
        .flatten()
    {
        let from_ua = up.contains(m);
        let (s, dst, seq, ack) = if from_ua {
            (ua, srv, cs, ss)
        } else {
            (srv, ua, ss, cs)
        };
        w.seg(s, dst, seq, ack, TcpFlags::DATA, m);
        if from_ua {
            cs += m.len() as u32
        } else {
            ss += m.len() as u32
        }
    }
    w.seg(
        ua,
        srv,
        cs,
        ss,
        TcpFlags {
            fin: true,
            ack: true,
            ..TcpFlags::default()
        },
        b"",
    );
    EdgeCapture {
        name: "edge-tcp-coalesced-split.pcap",
        bytes: f.into_bytes(),
        sidecar: sidecar(
            "SIP over TCP: split, coalesced, retransmitted and reordered segments",
            "A TCP connection (SYN, SYN-ACK) carries an answered call. The INVITE is split over three segments; the middle segment arrives first and the first segment is sent twice (a retransmission). 100 Trying and 180 Ringing share one segment. The rest of the call follows one message per segment, then FIN.",
            "7 SIP messages in 6 SIP frames (frame 7 carries two). The INVITE completes in frame 6 (its third segment); frames 3 and 4 count as `tcp_segment`, frame 5 as `tcp_retransmission`. One call `tcp-1@192.0.2.10`, answered, transport TCP, no findings.",
        ),
    }
}

struct TcpWriter<'a> {
    f: &'a mut PcapFile,
    t: i64,
}

impl TcpWriter<'_> {
    fn seg(&mut self, s: SocketAddr, d: SocketAddr, seq: u32, ack: u32, flags: TcpFlags, p: &[u8]) {
        self.f.push(
            self.t,
            &wrap(Link::Ethernet, &ip_tcp(s, d, seq, ack, flags, p)),
        );
        self.t += 5 * MS;
    }
}

fn simple_call_pcap(call_id: &str) -> PcapFile {
    let mut f = PcapFile::new(PcapOptions::new(1));
    let (ua, srv) = (a("192.0.2.10:5060"), a("198.51.100.20:5060"));
    let d = Dialog {
        call_id,
        from: "<sip:alice@example.com>",
        to: "<sip:bob@example.com>",
        via: "192.0.2.10:5060",
        branch: "z9hG4bK-simple",
    };
    let mut t = T0;
    for (req, m) in call_messages(&d, "sip:bob@example.com", "192.0.2.10") {
        let (s, dst) = if req { (ua, srv) } else { (srv, ua) };
        f.push(t, &wrap(Link::Ethernet, &ip_udp(s, dst, &m)));
        t += 25 * MS;
    }
    f
}

fn truncated() -> EdgeCapture {
    let mut bytes = simple_call_pcap("trunc-1@192.0.2.10").into_bytes();
    bytes.truncate(bytes.len() - 40);
    EdgeCapture {
        name: "edge-truncated.pcap",
        bytes,
        sidecar: sidecar(
            "Truncated capture file",
            "The capture of an answered call, cut 40 bytes before its end (as when tcpdump is killed or a download breaks): the last record (200 OK to BYE) is incomplete.",
            "7 packets: 6 SIP, 1 undecodable `truncated_record`. The call is still reported (answered); the BYE has no final response within the capture, reported as `unanswered_request` with severity info (the capture ends right after it).",
        ),
    }
}

fn corrupt() -> EdgeCapture {
    let good = simple_call_pcap("corrupt-1@192.0.2.10").into_bytes();
    // Corrupt the record header of the third record: its length becomes impossible.
    let mut bytes = good.clone();
    let mut at = 24usize;
    for _ in 0..2 {
        let len = bytes
            .get(at + 8..at + 12)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map_or(0, u32::from_le_bytes);
        at += 16 + len as usize;
    }
    if let Some(h) = bytes.get_mut(at + 8..at + 16) {
        h.copy_from_slice(&[0xFF, 0xFF, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0x7F]);
    }
    EdgeCapture {
        name: "edge-corrupt-record.pcap",
        bytes,
        sidecar: sidecar(
            "Corrupt record in the middle",
            "The capture of an answered call whose third record header (the 180 Ringing) was overwritten with an impossible length (2 GiB). Tools that trust the length stop there.",
            "The reader skips the damaged record, resynchronises on the next plausible record header and reads on: 7 packets, 6 SIP and 1 undecodable `corrupt_record`. The call is answered; no findings.",
        ),
    }
}

/// NAT symptoms: private Contact/Via/SDP from a public address, a re-REGISTER from a new port,
/// STUN binding responses mapping one local address differently per server, a TURN 401 then
/// success, and ICE checks never answered.
fn nat_stun() -> EdgeCapture {
    let mut f = PcapFile::new(PcapOptions::new(1));
    let (nat1, nat2, srv) = (
        a("203.0.113.7:40001"),
        a("203.0.113.7:40517"),
        a("198.51.100.20:5060"),
    );
    let r = Dialog {
        call_id: "reg-nat@10.0.0.5",
        from: "<sip:carol@example.com>",
        to: "<sip:carol@example.com>",
        via: "10.0.0.5:5060",
        branch: "z9hG4bK-n1",
    };
    let reg = |d: &Dialog<'_>, cseq| {
        d.request("REGISTER", "sip:example.com", cseq, false)
            .header("Contact", "<sip:carol@10.0.0.5:5060>")
            .header("Expires", "3600")
            .build()
    };
    let ok = |d: &Dialog<'_>, cseq| {
        d.response(200, "OK", cseq, "REGISTER")
            .header("Contact", "<sip:carol@10.0.0.5:5060>;expires=3600")
            .build()
    };
    let mut t = T0;
    let mut push = |t: i64, s, d, m: &[u8]| f.push(t, &wrap(Link::Ethernet, &ip_udp(s, d, m)));
    push(t, nat1, srv, &reg(&r, 1));
    push(t + 20 * MS, srv, nat1, &ok(&r, 1));
    t += 60_000 * MS;
    let r2 = Dialog {
        branch: "z9hG4bK-n2",
        ..r
    };
    push(t, nat1, srv, &reg(&r2, 2));
    push(t + 20 * MS, srv, nat1, &ok(&r2, 2));
    t += 300_000 * MS;
    let r3 = Dialog {
        branch: "z9hG4bK-n3",
        ..r
    };
    push(t, nat2, srv, &reg(&r3, 3));
    push(t + 20 * MS, srv, nat2, &ok(&r3, 3));
    t += 1_000 * MS;
    // STUN: one local address, two servers, two different mappings (address-dependent NAT).
    let local = a("10.0.0.5:4000");
    let (stun1, stun2) = (a("198.51.100.30:3478"), a("198.51.100.31:3478"));
    let (m1, m2) = (a("203.0.113.7:50001"), a("203.0.113.7:50002"));
    for (i, (server, mapped)) in [(stun1, m1), (stun2, m2)].into_iter().enumerate() {
        let id = [0xA0 + i as u8; 12];
        push(t, local, server, &stun_msg(0x0001, id, &[]));
        push(
            t + 10 * MS,
            server,
            local,
            &stun_msg(0x0101, id, &xor_mapped(mapped, id)),
        );
        t += 50 * MS;
    }
    // TURN Allocate: 401 (realm, nonce), then success with credentials.
    let turn = a("198.51.100.40:3478");
    let mut err = vec![0, 9, 0, 16, 0, 0, 4, 1];
    err.extend_from_slice(b"Unauthorized");
    push(t, local, turn, &stun_msg(0x0003, [0xB1; 12], &[]));
    push(
        t + 10 * MS,
        turn,
        local,
        &stun_msg(0x0113, [0xB1; 12], &err),
    );
    push(t + 30 * MS, local, turn, &stun_msg(0x0003, [0xB2; 12], &[]));
    push(
        t + 40 * MS,
        turn,
        local,
        &stun_msg(0x0103, [0xB2; 12], &xor_mapped(m1, [0xB2; 12])),
    );
    t += 100 * MS;
    // ICE checks to a peer that never answers.
    let peer = a("198.51.100.50:6000");
    for i in 0..4 {
        push(
            t + i * 500 * MS,
            local,
            peer,
            &stun_msg(0x0001, [0xC0; 12], &[]),
        );
    }
    t += 9_000 * MS;
    // A call whose INVITE carries private Via, Contact and SDP, sent through the NAT.
    let c = Dialog {
        call_id: "nat-call@10.0.0.5",
        from: "<sip:carol@example.com>",
        to: "<sip:dave@example.com>",
        via: "10.0.0.5:5060",
        branch: "z9hG4bK-nc",
    };
    let offer = sdp("10.0.0.5", 4000, "RTP/AVP");
    let invite = c
        .request("INVITE", "sip:dave@example.com", 1, false)
        .header("Contact", "<sip:carol@10.0.0.5:5060>")
        .body("application/sdp", offer.as_bytes())
        .build();
    push(t, nat2, srv, &invite);
    push(
        t + 20 * MS,
        srv,
        nat2,
        &c.response(100, "Trying", 1, "INVITE").build(),
    );
    push(
        t + 900 * MS,
        srv,
        nat2,
        &c.response(480, "Temporarily Unavailable", 1, "INVITE")
            .build(),
    );
    push(
        t + 920 * MS,
        nat2,
        srv,
        &c.request("ACK", "sip:dave@example.com", 1, true).build(),
    );
    EdgeCapture {
        name: "edge-nat-stun.pcap",
        bytes: f.into_bytes(),
        sidecar: sidecar(
            "NAT and STUN symptoms",
            "Captured on the public side of a NAT (203.0.113.7) in front of a client at 10.0.0.5: three REGISTERs with a private Contact and Via (no rport) — the third arrives from a new public port after 300 s; two STUN Binding transactions from one local address to two servers that report different mapped ports; a TURN Allocate challenged with 401 then accepted; four ICE checks to 198.51.100.50:6000 never answered; an INVITE with private Via, Contact and SDP that fails with 480.",
            "Warnings `nat_private_via`, `nat_private_contact`, `nat_private_sdp`, `nat_mapping_changed` (mapping kept 60 s, lost by 300 s), `nat_address_dependent_mapping`, `stun_unanswered`; info `stun_error` 401 (recovered); warning `sip_failure` 480 (operator: no registration / temporarily unavailable).",
        ),
    }
}

/// A STUN message: type, transaction id, raw attributes.
fn stun_msg(ty: u16, id: [u8; 12], attrs: &[u8]) -> Vec<u8> {
    let mut m = ty.to_be_bytes().to_vec();
    m.extend_from_slice(&u16::try_from(attrs.len()).unwrap_or(0).to_be_bytes());
    m.extend_from_slice(&crate::stun::MAGIC.to_be_bytes());
    m.extend_from_slice(&id);
    m.extend_from_slice(attrs);
    m
}

fn xor_mapped(addr: SocketAddr, _id: [u8; 12]) -> Vec<u8> {
    let SocketAddr::V4(v4) = addr else {
        return Vec::new();
    };
    let mut v = vec![0, 0x20, 0, 8, 0, 1];
    v.extend_from_slice(&(v4.port() ^ 0x2112).to_be_bytes());
    let cookie = crate::stun::MAGIC.to_be_bytes();
    v.extend(v4.ip().octets().iter().zip(cookie).map(|(a, b)| a ^ b));
    v
}

fn sidecar(title: &str, what: &str, expected: &str) -> String {
    format!(
        "# {title}\n\n**How it was made:** hand-built by `sim-pcap`'s deterministic synthesiser \
         (`cargo run -p sim-pcap --bin pcap-gen -- edge pcaps/`, source \
         `sim/pcap/src/synth/edge.rs`). Addresses are from documentation ranges; no real data.\n\n\
         **What it shows:** {what}\n\n**Expected analysis:** {expected}\n"
    )
}

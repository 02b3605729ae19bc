//! The ICE sample: many unanswered connectivity checks and several NAT keep-alive streams, so the
//! analyser has several entries in each of its keyed tables (STUN transactions, pairs,
//! keep-alive streams). Its report must not depend on the order of any of them.

use super::{EdgeCapture, MS, T0, a, sidecar, stun_msg, xor_mapped};
use crate::synth::{Link, PcapFile, PcapOptions, SipText, ip_udp, wrap};
use std::net::SocketAddr;

/// Seconds.
const S: i64 = 1_000 * MS;

/// A keep-alive stream: user, LAN address, public addresses before and after the NAT lost the
/// mapping.
struct KeepAlive {
    user: &'static str,
    lan: &'static str,
    before: &'static str,
    after: &'static str,
}

const KEEPALIVES: [KeepAlive; 3] = [
    KeepAlive {
        user: "alice",
        lan: "192.168.1.20:5060",
        before: "203.0.113.7:1025",
        after: "203.0.113.7:1031",
    },
    KeepAlive {
        user: "bob",
        lan: "192.168.1.21:5062",
        before: "203.0.113.7:1026",
        after: "203.0.113.7:1032",
    },
    KeepAlive {
        user: "carol",
        lan: "192.168.1.22:5064",
        before: "203.0.113.7:1027",
        after: "203.0.113.7:1033",
    },
];

/// The ICE peers' candidates that never answer.
const SILENT_PEERS: [&str; 3] = [
    "198.51.100.60:6000",
    "198.51.100.61:6001",
    "203.0.113.62:6002",
];

/// An OPTIONS keep-alive (`answer`: the server's 200 OK to it instead).
fn options(k: &KeepAlive, cseq: u32, answer: bool) -> Vec<u8> {
    let start = if answer {
        SipText::response(200, "OK")
    } else {
        SipText::request("OPTIONS", "sip:203.0.113.10:5060")
    };
    let m = start.dialog(
        &format!("{};rport", k.lan),
        &format!("z9hG4bK-{}-{cseq}", k.user),
        &format!("<sip:{}@example.com>;tag={}-1", k.user, k.user),
        "<sip:203.0.113.10:5060>",
        &format!("ka-{}@example.com", k.user),
        &format!("{cseq} OPTIONS"),
    );
    if answer {
        m.build()
    } else {
        m.header("Contact", &format!("<sip:{}@{}>", k.user, k.lan))
            .build()
    }
}

/// A transaction id that differs in every byte between checks (as real ones do).
fn txid(peer: usize, n: usize) -> [u8; 12] {
    let mut id = [0u8; 12];
    for (i, b) in id.iter_mut().enumerate() {
        *b = u8::try_from((peer * 73 + n * 151 + i * 29 + 11) % 251).unwrap_or(0);
    }
    id
}

/// One datagram of the sample: time, source, destination, payload.
type Sent = (i64, SocketAddr, SocketAddr, Vec<u8>);

/// Three connectivity checks to each silent peer, each sent three times (RFC 8445 §14.3
/// retransmissions), interleaved as an agent paces them; then one check that is answered. In
/// time order, as a capture has them.
fn ice_checks(t0: i64) -> Vec<Sent> {
    let local = a("192.0.2.50:4000");
    let mut sent = Vec::new();
    for n in 0..3 {
        for (p, peer) in SILENT_PEERS.iter().enumerate() {
            let id = txid(p, n);
            let first = t0 + (i64::try_from(n * 3 + p).unwrap_or(0)) * 50 * MS;
            for retry in [0, 100, 300] {
                sent.push((
                    first + retry * MS,
                    local,
                    a(peer),
                    stun_msg(0x0001, id, &[]),
                ));
            }
        }
    }
    sent.sort_by_key(|(t, _, peer, _)| (*t, *peer));
    let (peer, id) = (a("198.51.100.63:6003"), txid(9, 9));
    let at = t0 + 1_000 * MS;
    sent.push((at, local, peer, stun_msg(0x0001, id, &[])));
    let mapped = a("203.0.113.7:50010");
    let answer = stun_msg(0x0101, id, &xor_mapped(mapped, id));
    sent.push((at + 10 * MS, peer, local, answer));
    sent
}

/// Several unanswered STUN transactions to several pairs, and several keep-alive streams whose
/// NAT mapping changes.
pub(super) fn ice_unanswered() -> EdgeCapture {
    let mut f = PcapFile::new(PcapOptions::new(1));
    let srv = a("203.0.113.10:5060");
    let mut push = |t: i64, s: SocketAddr, d: SocketAddr, m: &[u8]| {
        f.push(t, &wrap(Link::Ethernet, &ip_udp(s, d, m)));
    };
    for (round, at) in [0, 20 * S, 45 * S].into_iter().enumerate() {
        for (i, k) in KEEPALIVES.iter().enumerate() {
            let public = a(if round < 2 { k.before } else { k.after });
            let t = T0 + at + i64::try_from(i).unwrap_or(0) * 10 * MS;
            let cseq = u32::try_from(round).unwrap_or(0) + 1;
            push(t, public, srv, &options(k, cseq, false));
            push(t + 5 * MS, srv, public, &options(k, cseq, true));
        }
        if round == 0 {
            for (t, s, d, m) in ice_checks(T0 + S) {
                push(t, s, d, &m);
            }
        }
    }
    EdgeCapture {
        name: "edge-ice-unanswered.pcap",
        bytes: f.into_bytes(),
        sidecar: sidecar(
            "Many unanswered ICE checks and NAT keep-alives",
            "An ICE agent at 192.0.2.50:4000 sends three STUN Binding connectivity checks (each with its own transaction id, each sent three times) to each of three peer candidates that never answer (198.51.100.60:6000, 198.51.100.61:6001, 203.0.113.62:6002), interleaved, and one check to 198.51.100.63:6003 that is answered. Meanwhile alice, bob and carol (192.168.1.20-22, behind a NAT at 203.0.113.7, with rport) send SIP OPTIONS keep-alives to 203.0.113.10:5060 at 0, 20 and 45 s, each answered 200 OK; between 20 s and 45 s the NAT lost all three mappings, so the third keep-alive of each arrives from a new public port. The analyser keys these by transaction id, by address pair and by keep-alive stream: the sample checks that its report does not depend on the order of those tables.",
            "47 packets: 18 SIP, 29 STUN. Three OPTIONS Call-IDs, 6 messages each, all answered. Warnings `nat_private_contact` for each user (private Contact, public source); `stun_unanswered` for each silent peer (9 requests each, the first six frames listed, the time of its first check); `nat_mapping_changed` for each user (kept 20 s, lost by 45 s). The answered check is not a finding. The JSON, the table and the ladder are the same bytes in every process.",
        ),
    }
}

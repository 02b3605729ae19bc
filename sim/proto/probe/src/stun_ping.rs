//! Probes as STUN Binding requests (RFC 5389), echoes as Binding success responses.
//!
//! A request carries a random transaction id (`rtc_stun::message::TransactionId::new`, which
//! draws from `rand::rng()`: inside a simulated run that is the scenario seed, see
//! `sim-entropy`) and a SOFTWARE attribute with the probe line (`natlab probe from=… seq=…`).
//! The echo answers with the same transaction id, XOR-MAPPED-ADDRESS set to the address the
//! request came from, and SOFTWARE carrying the echo line, so both ends still know who sent what.
//! The codec is rtc-stun's; its types stay inside this module.

use crate::ProbeKind;
use crate::udp::{Parsed, parse_line};
use rtc_stun::attributes::{ATTR_SOFTWARE, ATTR_XORMAPPED_ADDRESS};
use rtc_stun::message::{BINDING_REQUEST, BINDING_SUCCESS, Message, Setter, TransactionId};
use rtc_stun::textattrs::TextAttribute;
use rtc_stun::xoraddr::XorMappedAddress;
use std::net::SocketAddr;

/// A Binding request carrying `line` (the probe line, without its newline).
pub(crate) fn request(line: &str) -> Option<Vec<u8>> {
    let mut m = Message::new();
    let setters: [Box<dyn Setter>; 3] = [
        Box::new(BINDING_REQUEST),
        Box::new(TransactionId::new()),
        Box::new(TextAttribute::new(ATTR_SOFTWARE, line.to_owned())),
    ];
    m.build(&setters).ok()?;
    Some(m.raw)
}

/// The Binding success answering `payload`, a request that came from `src`.
pub(crate) fn response(name: &str, id: u32, payload: &[u8], src: SocketAddr) -> Option<Vec<u8>> {
    let request = decode(payload)?;
    if request.typ != BINDING_REQUEST {
        return None;
    }
    let seq = software(&request)
        .map(|l| parse_line(l.as_bytes()).seq)
        .unwrap_or_default();
    let mut line = format!("natlab echo from={name} id={id}");
    if let Some(seq) = seq {
        line.push_str(&format!(" seq={seq}"));
    }
    line.push_str(&format!(" seen={src}"));
    let mut m = Message::new();
    let setters: [Box<dyn Setter>; 4] = [
        Box::new(BINDING_SUCCESS),
        Box::new(request.transaction_id),
        Box::new(XorMappedAddress {
            ip: src.ip(),
            port: src.port(),
        }),
        Box::new(TextAttribute::new(ATTR_SOFTWARE, line)),
    ];
    m.build(&setters).ok()?;
    Some(m.raw)
}

/// The probe fields of a STUN probe or echo; `None` when `payload` is not STUN.
pub(crate) fn parse(payload: &[u8]) -> Option<Parsed> {
    let m = decode(payload)?;
    let mut p = software(&m).map_or_else(Parsed::default, |l| parse_line(l.as_bytes()));
    if m.typ == BINDING_SUCCESS {
        p.kind = Some(ProbeKind::Echo);
        let mut mapped = XorMappedAddress::default();
        if mapped.get_from_as(&m, ATTR_XORMAPPED_ADDRESS).is_ok() {
            p.seen = Some(SocketAddr::new(mapped.ip, mapped.port));
        }
    } else {
        p.kind = Some(ProbeKind::Probe);
    }
    Some(p)
}

fn decode(payload: &[u8]) -> Option<Message> {
    // A STUN message starts with two zero bits and has the magic cookie at bytes 4..8.
    if payload.len() < 20 || payload.first().is_some_and(|b| b & 0xc0 != 0) {
        return None;
    }
    if payload.get(4..8) != Some(&[0x21, 0x12, 0xa4, 0x42][..]) {
        return None;
    }
    let mut m = Message::new();
    m.unmarshal_binary(payload).ok()?;
    Some(m)
}

fn software(m: &Message) -> Option<String> {
    TextAttribute::get_from_as(m, ATTR_SOFTWARE)
        .ok()
        .map(|t| t.text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(a: &str) -> SocketAddr {
        a.parse().unwrap()
    }

    #[test]
    fn stun_ping_request_round_trips_through_an_echo() {
        let req = request("natlab probe from=alice id=3 port=5000 seq=7").unwrap();
        let p = parse(&req).unwrap();
        assert_eq!(
            (p.kind, p.id, p.port, p.seq),
            (Some(ProbeKind::Probe), Some(3), Some(5000), Some(7))
        );
        let mapped = addr("198.51.100.1:40000");
        let resp = response("s1", 0, &req, mapped).unwrap();
        assert_eq!(resp.get(8..20), req.get(8..20), "same transaction id");
        let e = parse(&resp).unwrap();
        assert_eq!(
            (e.kind, e.id, e.seq, e.seen),
            (Some(ProbeKind::Echo), Some(0), Some(7), Some(mapped))
        );
    }

    #[test]
    fn stun_ping_transaction_ids_follow_the_seeded_entropy() {
        let txid = |seed| {
            let _scope = sim_core::entropy::seeded(seed);
            // A fresh thread: rand::rng() seeds itself on first use, from the scope.
            std::thread::scope(|s| {
                s.spawn(|| {
                    let _inner = sim_core::entropy::seeded(seed);
                    request("natlab probe").unwrap()[8..20].to_vec()
                })
                .join()
                .unwrap()
            })
        };
        assert_eq!(txid(1), txid(1));
        assert_ne!(txid(1), txid(2));
    }

    #[test]
    fn stun_ping_text_and_garbage_are_not_stun() {
        assert!(parse(b"natlab probe from=a id=1 port=1 seq=1\n").is_none());
        assert!(parse(&[0u8; 19]).is_none());
        let mut fake = [0u8; 24];
        fake[4..8].copy_from_slice(&[0x21, 0x12, 0xa4, 0x42]);
        fake[3] = 200;
        assert!(parse(&fake).is_none(), "length beyond the datagram");
    }
}

//! Packet classification for packet-class fault rules: what a packet's bytes say it is.
//!
//! The classifier reads a transport payload laxly and never panics, whatever the bytes: every
//! field is read through checked slicing. The order of the checks is fixed: STUN (the magic
//! cookie and a consistent length), SIP (a request or status line), TURN ChannelData (a
//! channel number and a length that fits), DNS (port 53 and a full header), RTP (version 2, not
//! an RTCP packet type). TCP segments are classified by their flags, and a segment whose payload
//! starts with a SIP start line is also SIP.

use super::packet::{Packet, Transport};

/// The STUN magic cookie (RFC 8489 §5).
const MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xA4, 0x42];

/// What a payload is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum App<'a> {
    /// A SIP request or response.
    Sip(SipView<'a>),
    /// A STUN message.
    Stun(StunView<'a>),
    /// TURN ChannelData.
    ChannelData,
    /// The AAE tunnel transport.
    Tunnel,
    /// DNS.
    Dns,
    /// RTP.
    Rtp,
    /// Anything else (or nothing).
    Other,
}

/// The start line and `CSeq` method of a SIP message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SipView<'a> {
    /// A request's method.
    pub(crate) method: Option<&'a str>,
    /// A response's status code.
    pub(crate) status: Option<u16>,
    /// The method in `CSeq`.
    pub(crate) cseq_method: Option<&'a str>,
}

/// The type and attributes of a STUN message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StunView<'a> {
    /// Class bits: 0 request, 1 indication, 2 success, 3 error.
    pub(crate) class: u8,
    /// Method number (12 bits).
    pub(crate) method: u16,
    /// The attribute area (after the 20-byte header).
    attributes: &'a [u8],
}

impl StunView<'_> {
    /// Whether the message carries an attribute of type `kind`.
    pub(crate) fn has_attribute(&self, kind: u16) -> bool {
        let mut rest = self.attributes;
        while let (Some(t), Some(len)) = (be16(rest, 0), be16(rest, 2)) {
            if t == kind {
                return true;
            }
            let padded = usize::from(len).div_ceil(4) * 4;
            let Some(next) = rest.get(4 + padded..) else {
                return false;
            };
            rest = next;
        }
        false
    }
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at + 2)?;
    Some(u16::from_be_bytes([*s.first()?, *s.get(1)?]))
}

/// Classifies a packet's payload.
pub(crate) fn classify(packet: &Packet) -> App<'_> {
    let p = &packet.payload[..];
    match packet.transport {
        Transport::Tcp(_) => sip(p).map_or(App::Other, App::Sip),
        Transport::Udp => {
            if let Some(s) = stun(p) {
                return App::Stun(s);
            }
            if let Some(s) = sip(p) {
                return App::Sip(s);
            }
            if channel_data(p) {
                return App::ChannelData;
            }
            let dns_port = packet.src.port() == 53 || packet.dst.port() == 53;
            if dns_port && p.len() >= 12 {
                return App::Dns;
            }
            if sim_tunnel::is_tunnel_packet(p) {
                return App::Tunnel;
            }
            if rtp(p) {
                return App::Rtp;
            }
            App::Other
        }
    }
}

/// A STUN message: two zero bits, a length that is a multiple of 4 and matches, the cookie.
pub(crate) fn stun(p: &[u8]) -> Option<StunView<'_>> {
    let t = be16(p, 0)?;
    let len = usize::from(be16(p, 2)?);
    let cookie_ok = p.get(4..8) == Some(&MAGIC_COOKIE[..]);
    if t & 0xC000 != 0 || !len.is_multiple_of(4) || p.len() != 20 + len || !cookie_ok {
        return None;
    }
    let class = (((t >> 7) & 0b10) | ((t >> 4) & 0b01)) as u8;
    let method = (t & 0x000F) | ((t >> 1) & 0x0070) | ((t >> 2) & 0x0F80);
    Some(StunView {
        class,
        method,
        attributes: p.get(20..)?,
    })
}

/// TURN ChannelData: a channel number 0x4000–0x4FFF and a length that fits the datagram.
fn channel_data(p: &[u8]) -> bool {
    match (be16(p, 0), be16(p, 2)) {
        (Some(ch), Some(len)) => (0x4000..=0x4FFF).contains(&ch) && 4 + usize::from(len) <= p.len(),
        _ => false,
    }
}

/// RTP: version 2, at least a fixed header, a payload type outside RTCP's 72–76 (RFC 5761).
fn rtp(p: &[u8]) -> bool {
    match (p.first(), p.get(1)) {
        (Some(b0), Some(b1)) => p.len() >= 12 && b0 >> 6 == 2 && !(72..=76).contains(&(b1 & 0x7F)),
        _ => false,
    }
}

/// The header block's lines (up to the blank line), those that are UTF-8.
fn head_lines(p: &[u8]) -> impl Iterator<Item = &str> {
    p.split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .take_while(|l| !l.is_empty())
        .filter_map(|l| std::str::from_utf8(l).ok())
}

/// A SIP message: `SIP/2.0 <code> ...` or `<METHOD> <uri> SIP/2.0`.
pub(crate) fn sip(p: &[u8]) -> Option<SipView<'_>> {
    let mut lines = head_lines(p);
    let first = lines.next()?;
    let (method, status) = start_line(first)?;
    let cseq_method = lines.find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("CSeq")
            .then(|| value.split_whitespace().nth(1))
            .flatten()
    });
    Some(SipView {
        method,
        status,
        cseq_method,
    })
}

/// The method of a request line or the code of a status line.
fn start_line(line: &str) -> Option<(Option<&str>, Option<u16>)> {
    if let Some(rest) = line.strip_prefix("SIP/2.0 ") {
        let code = rest.get(..3)?;
        let after = rest.get(3..)?;
        let digits = code.bytes().all(|b| b.is_ascii_digit());
        if !digits || !(after.is_empty() || after.starts_with(' ')) {
            return None;
        }
        return Some((None, code.parse().ok()));
    }
    let mut words = line.split(' ');
    let method = words.next()?;
    let _uri = words.next()?;
    let token = !method.is_empty() && method.bytes().all(|b| b.is_ascii_alphabetic() || b == b'-');
    (token && words.next() == Some("SIP/2.0") && words.next().is_none())
        .then_some((Some(method), None))
}

#[cfg(test)]
mod tests {
    use super::super::packet::{NodeId, TcpHeader, Via};
    use super::*;
    use bytes::Bytes;
    use proptest::prelude::*;

    fn udp(payload: &[u8], dst_port: u16) -> Packet {
        Packet {
            src: "192.0.2.1:5000".parse().unwrap(),
            dst: format!("192.0.2.2:{dst_port}").parse().unwrap(),
            transport: Transport::Udp,
            payload: Bytes::copy_from_slice(payload),
            origin: NodeId(0),
            via: Via::default(),
            ip_id: 1,
        }
    }

    /// A STUN message of `t` with one attribute per `(type, length)`.
    fn stun_msg(t: u16, attrs: &[(u16, u16)]) -> Vec<u8> {
        let mut body = Vec::new();
        for &(kind, len) in attrs {
            body.extend_from_slice(&kind.to_be_bytes());
            body.extend_from_slice(&len.to_be_bytes());
            body.resize(body.len() + usize::from(len).div_ceil(4) * 4, 0);
        }
        let mut m = Vec::new();
        m.extend_from_slice(&t.to_be_bytes());
        m.extend_from_slice(&(body.len() as u16).to_be_bytes());
        m.extend_from_slice(&MAGIC_COOKIE);
        m.extend_from_slice(&[7; 12]);
        m.extend_from_slice(&body);
        m
    }

    #[test]
    fn classify_udp_sip_options_request_reads_method_and_cseq() {
        let p = udp(
            b"OPTIONS sip:203.0.113.10:5060 SIP/2.0\r\nVia: SIP/2.0/UDP x\r\nCSeq: 7 OPTIONS\r\n\r\n",
            5060,
        );
        let want = SipView {
            method: Some("OPTIONS"),
            status: None,
            cseq_method: Some("OPTIONS"),
        };
        assert_eq!(classify(&p), App::Sip(want));
    }

    #[test]
    fn classify_udp_sip_response_reads_status_and_cseq_method() {
        let p = udp(b"SIP/2.0 200 OK\r\ncseq: 2 INVITE\r\n\r\n", 5060);
        let want = SipView {
            method: None,
            status: Some(200),
            cseq_method: Some("INVITE"),
        };
        assert_eq!(classify(&p), App::Sip(want));
    }

    #[test]
    fn classify_udp_text_probe_is_other() {
        let p = udp(b"natlab probe from=alice id=3 port=5000 seq=7\n", 5000);
        assert_eq!(classify(&p), App::Other);
        assert_eq!(classify(&udp(b"SIP/2.0 20 OK\r\n", 5060)), App::Other);
        assert_eq!(
            classify(&udp(b"INVITE sip:x SIP/3.0\r\n", 5060)),
            App::Other
        );
    }

    #[test]
    fn classify_stun_binding_request_with_use_candidate() {
        let m = stun_msg(0x0001, &[(0x0024, 4), (0x0025, 0), (0x8028, 4)]);
        let packet = udp(&m, 3478);
        let App::Stun(s) = classify(&packet) else {
            panic!("not stun")
        };
        assert_eq!((s.class, s.method), (0, 0x001));
        assert!(s.has_attribute(0x0025));
        assert!(s.has_attribute(0x8028));
        assert!(!s.has_attribute(0x0006));
    }

    #[test]
    fn classify_stun_classes_and_methods_from_the_type_bits() {
        // 0x0111: Binding error response; 0x0103: Allocate success; 0x0016: Send indication.
        for (t, class, method) in [(0x0111, 3, 1), (0x0103, 2, 3), (0x0016, 1, 6)] {
            let packet = udp(&stun_msg(t, &[]), 3478);
            let App::Stun(s) = classify(&packet) else {
                panic!("not stun: {t:#x}")
            };
            assert_eq!((s.class, s.method), (class, method), "{t:#x}");
        }
    }

    #[test]
    fn classify_stun_with_a_wrong_length_is_not_stun() {
        let mut m = stun_msg(0x0001, &[(0x0025, 0)]);
        m.push(0);
        assert!(stun(&m).is_none());
    }

    #[test]
    fn classify_channel_data_rtp_and_dns() {
        assert_eq!(
            classify(&udp(&[0x40, 0x01, 0, 2, 9, 9], 3478)),
            App::ChannelData
        );
        let mut rtp = vec![0x80, 0x60];
        rtp.resize(20, 0);
        assert_eq!(classify(&udp(&rtp, 40000)), App::Rtp);
        let mut rtcp = vec![0x80, 200];
        rtcp.resize(20, 0);
        assert_eq!(classify(&udp(&rtcp, 40001)), App::Other);
        assert_eq!(classify(&udp(&[0u8; 12], 53)), App::Dns);
    }

    #[test]
    fn classify_tcp_segment_starting_with_sip_is_sip() {
        let mut p = udp(
            b"REGISTER sip:example.com SIP/2.0\r\nCSeq: 1 REGISTER\r\n",
            5060,
        );
        p.transport = Transport::Tcp(TcpHeader::default());
        assert!(matches!(classify(&p), App::Sip(s) if s.method == Some("REGISTER")));
        p.payload = Bytes::from_static(&[0x80, 0x60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(classify(&p), App::Other);
    }

    proptest! {
        #[test]
        fn classify_never_panics_on_arbitrary_bytes(
            bytes in proptest::collection::vec(any::<u8>(), 0..300),
            port in prop_oneof![Just(53u16), Just(3478), Just(5060), any::<u16>()],
            tcp in any::<bool>(),
        ) {
            let mut p = udp(&bytes, port.max(1));
            if tcp {
                p.transport = Transport::Tcp(TcpHeader::default());
            }
            if let App::Stun(s) = classify(&p) {
                let _ = s.has_attribute(0x0025);
            }
        }

        #[test]
        fn classify_stun_attribute_walk_never_panics_on_a_valid_header(
            body in proptest::collection::vec(any::<u8>(), 0..40).prop_map(|mut b| {
                b.truncate(b.len() / 4 * 4);
                b
            }),
            kind in any::<u16>(),
        ) {
            let mut m = stun_msg(0x0001, &[]);
            m.truncate(20);
            m[2..4].copy_from_slice(&(body.len() as u16).to_be_bytes());
            m.extend_from_slice(&body);
            let s = stun(&m).expect("a valid header reads as stun");
            let _ = s.has_attribute(kind);
        }
    }
}

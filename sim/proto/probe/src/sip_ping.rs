//! The `sip-options` wire format of the UDP probe: probes are SIP OPTIONS requests (the
//! keep-alive SIP user agents and proxies send, RFC 3261 §11) asking for `rport` (RFC 3581), and
//! echoes are `200 OK` responses whose top `Via` carries `received` and `rport`: the address the
//! request arrived from, which is how a SIP server reflects a NAT mapping.
//!
//! ```text
//! OPTIONS sip:203.0.113.10:5060 SIP/2.0
//! Via: SIP/2.0/UDP 10.0.0.2:5000;rport;branch=z9hG4bK-natlab-3-7
//! From: <sip:alice@10.0.0.2>;tag=natlab-3
//! CSeq: 7 OPTIONS
//! ...
//! SIP/2.0 200 OK
//! Via: SIP/2.0/UDP 10.0.0.2:5000;rport=40000;branch=z9hG4bK-natlab-3-7;received=198.51.100.1
//! To: <sip:203.0.113.10:5060>;tag=natlab-0
//! ```
//!
//! The probe's fields map onto standard headers: the sender's node id is the `From` tag of a
//! request and the `To` tag of a response, its port the `Via` sent-by port, the sequence number
//! the `CSeq`.

use crate::ProbeKind;
use crate::udp::Parsed;
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

const TAG: &str = "natlab-";

/// A SIP host: IPv6 addresses in brackets.
fn host(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    }
}

/// An OPTIONS request from probe `name` (node `id`) at `local`, to `to`, padded with a
/// `text/plain` body of dots to `size` bytes when the headers are shorter.
pub(crate) fn request(
    name: &str,
    id: u32,
    local: SocketAddr,
    to: SocketAddr,
    seq: u64,
    size: Option<usize>,
) -> Vec<u8> {
    let me = host(local.ip());
    let mut head = String::with_capacity(400);
    let _ = write!(
        head,
        "OPTIONS sip:{to} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {local};rport;branch=z9hG4bK-natlab-{id}-{seq}\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:{name}@{me}>;tag={TAG}{id}\r\n\
         To: <sip:{to}>\r\n\
         Call-ID: natlab-{name}-{port}@{me}\r\n\
         CSeq: {seq} OPTIONS\r\n\
         Contact: <sip:{name}@{local}>\r\n\
         Accept: application/sdp\r\n\
         User-Agent: natlab udp-probe\r\n",
        port = local.port(),
    );
    let bare = head.len() + "Content-Length: 0\r\n\r\n".len();
    let body = size.map_or(0, |s| s.saturating_sub(bare));
    if body == 0 {
        head.push_str("Content-Length: 0\r\n\r\n");
        return head.into_bytes();
    }
    // The body's length changes the header's length: settle both.
    let mut len = body;
    loop {
        let extra = format!("Content-Type: text/plain\r\nContent-Length: {len}\r\n\r\n");
        let total = head.len() + extra.len() + len;
        let want = size.unwrap_or(total);
        if total == want || len == 0 {
            head.push_str(&extra);
            break;
        }
        len = (len + want).saturating_sub(total);
    }
    let mut out = head.into_bytes();
    out.resize(out.len() + len, b'.');
    out
}

/// The `200 OK` that node `id` answers `req` with, `src` being where `req` came from; `None` when
/// `req` is not a request this format answers.
pub(crate) fn response(id: u32, req: &[u8], src: SocketAddr) -> Option<Vec<u8>> {
    let mut lines = lines(req)?;
    if !lines.next()?.starts_with("OPTIONS ") {
        return None;
    }
    let mut out = String::from("SIP/2.0 200 OK\r\n");
    let mut top_via = true;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        match canonical(name) {
            Some("Via") if top_via => {
                top_via = false;
                let _ = write!(out, "Via:{}\r\n", reflect(value, src));
            }
            Some("To") if !value.contains(";tag=") => {
                let _ = write!(out, "To:{value};tag={TAG}{id}\r\n");
            }
            Some("Via" | "From" | "To" | "Call-ID" | "CSeq") => {
                let _ = write!(out, "{line}\r\n");
            }
            _ => {}
        }
    }
    out.push_str("Server: natlab udp-probe\r\nContent-Length: 0\r\n\r\n");
    Some(out.into_bytes())
}

/// A `Via` value with `received` (when the source address differs from the sent-by host) and
/// the `rport` value filled in (when asked for), as RFC 3261 §18.2.1 and RFC 3581 say.
fn reflect(via: &str, src: SocketAddr) -> String {
    let mut parts: Vec<String> = via.split(';').map(str::to_owned).collect();
    let sent_by_host = sent_by(via).map(|a| a.ip());
    for p in parts.iter_mut().skip(1) {
        if p.trim() == "rport" {
            *p = format!("rport={}", src.port());
        }
    }
    if sent_by_host != Some(src.ip()) {
        parts.push(format!("received={}", src.ip()));
    }
    parts.join(";")
}

/// The `host:port` a `Via` value was sent by (`SIP/2.0/UDP 10.0.0.2:5000;...`).
fn sent_by(via: &str) -> Option<SocketAddr> {
    via.split(';')
        .next()
        .and_then(|s| s.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
}

/// The lines of the header block, without their line ends; `None` when it is not UTF-8.
fn lines(msg: &[u8]) -> Option<impl Iterator<Item = &str>> {
    let text = std::str::from_utf8(head(msg)).ok()?;
    Some(text.split('\n').map(|l| l.trim_end_matches('\r')))
}

/// The header block: everything before the blank line.
fn head(msg: &[u8]) -> &[u8] {
    let end = msg
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(msg.len());
    &msg[..end]
}

/// A header name in its long form, for the headers this format reads.
fn canonical(name: &str) -> Option<&'static str> {
    let n = name.trim();
    [
        ("Via", "v"),
        ("From", "f"),
        ("To", "t"),
        ("Call-ID", "i"),
        ("CSeq", ""),
    ]
    .into_iter()
    .find(|(long, short)| n.eq_ignore_ascii_case(long) || (!short.is_empty() && n == *short))
    .map(|(long, _)| long)
}

/// The parameter `key` of a header value (`;key=value`), or `Some("")` for a bare `;key`.
fn param<'a>(value: &'a str, key: &str) -> Option<&'a str> {
    value.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        k.trim().eq_ignore_ascii_case(key).then(|| v.trim())
    })
}

/// Reads a probe (OPTIONS) or an echo (`200 OK`) in this format; `None` for anything else.
pub(crate) fn parse(payload: &[u8]) -> Option<Parsed> {
    let mut lines = lines(payload)?;
    let first = lines.next()?;
    let kind = if first.starts_with("OPTIONS ") {
        ProbeKind::Probe
    } else if first.starts_with("SIP/2.0 200 ") {
        ProbeKind::Echo
    } else {
        return None;
    };
    let mut p = Parsed {
        kind: Some(kind),
        ..Parsed::default()
    };
    let mut via = None;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        match (canonical(name), kind) {
            (Some("Via"), _) if via.is_none() => via = Some(value.trim()),
            (Some("From"), ProbeKind::Probe) | (Some("To"), ProbeKind::Echo) => {
                p.id = param(value, "tag")
                    .and_then(|t| t.strip_prefix(TAG))
                    .and_then(|n| n.parse().ok());
            }
            (Some("CSeq"), _) => {
                p.seq = value.split_whitespace().next().and_then(|n| n.parse().ok());
            }
            _ => {}
        }
    }
    let via = via?;
    let sent_by = sent_by(via);
    match kind {
        ProbeKind::Probe => p.port = sent_by.map(|a| a.port()),
        ProbeKind::Echo => {
            let ip = param(via, "received")
                .and_then(|r| r.parse().ok())
                .or(sent_by.map(|a| a.ip()));
            let port = param(via, "rport")
                .and_then(|r| r.parse().ok())
                .or(sent_by.map(|a| a.port()));
            p.seen = ip.zip(port).map(|(ip, port)| SocketAddr::new(ip, port));
        }
    }
    Some(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(a: &str) -> SocketAddr {
        a.parse().unwrap()
    }

    #[test]
    fn sip_ping_request_reads_back_as_a_probe() {
        let req = request(
            "alice",
            3,
            addr("10.0.0.2:5000"),
            addr("203.0.113.10:5060"),
            7,
            None,
        );
        let text = String::from_utf8(req.clone()).unwrap();
        assert!(text.starts_with("OPTIONS sip:203.0.113.10:5060 SIP/2.0\r\n"));
        assert!(text.ends_with("Content-Length: 0\r\n\r\n"));
        let p = parse(&req).unwrap();
        assert_eq!(
            (p.kind, p.id, p.port, p.seq, p.seen),
            (Some(ProbeKind::Probe), Some(3), Some(5000), Some(7), None)
        );
    }

    #[test]
    fn sip_ping_response_reflects_the_source_in_received_and_rport() {
        let req = request(
            "alice",
            3,
            addr("10.0.0.2:5000"),
            addr("203.0.113.10:5060"),
            7,
            None,
        );
        let resp = response(0, &req, addr("198.51.100.1:40000")).unwrap();
        let text = String::from_utf8(resp.clone()).unwrap();
        assert!(text.starts_with("SIP/2.0 200 OK\r\n"), "{text}");
        assert!(
            text.contains(
                "Via: SIP/2.0/UDP 10.0.0.2:5000;rport=40000;branch=z9hG4bK-natlab-3-7;\
                 received=198.51.100.1\r\n"
            ),
            "{text}"
        );
        assert!(text.contains("To: <sip:203.0.113.10:5060>;tag=natlab-0\r\n"));
        assert!(text.contains("Call-ID: natlab-alice-5000@10.0.0.2\r\n"));
        assert!(text.contains("CSeq: 7 OPTIONS\r\n"));
        let p = parse(&resp).unwrap();
        assert_eq!(
            (p.kind, p.id, p.seq, p.seen),
            (
                Some(ProbeKind::Echo),
                Some(0),
                Some(7),
                Some(addr("198.51.100.1:40000"))
            )
        );
    }

    #[test]
    fn sip_ping_without_nat_adds_no_received() {
        let req = request(
            "alice",
            3,
            addr("203.0.113.20:5000"),
            addr("203.0.113.10:5060"),
            1,
            None,
        );
        let resp = response(0, &req, addr("203.0.113.20:5000")).unwrap();
        let text = String::from_utf8(resp.clone()).unwrap();
        assert!(!text.contains("received="), "{text}");
        assert_eq!(parse(&resp).unwrap().seen, Some(addr("203.0.113.20:5000")));
    }

    #[test]
    fn sip_ping_ipv6_hosts_are_bracketed() {
        let req = request(
            "alice",
            3,
            addr("[fd00::2]:5000"),
            addr("[2001:db8::10]:5060"),
            1,
            None,
        );
        let text = String::from_utf8(req.clone()).unwrap();
        assert!(text.starts_with("OPTIONS sip:[2001:db8::10]:5060 SIP/2.0\r\n"));
        assert!(text.contains("From: <sip:alice@[fd00::2]>;tag=natlab-3\r\n"));
        let resp = response(0, &req, addr("[2001:db8::99]:40000")).unwrap();
        assert_eq!(
            parse(&resp).unwrap().seen,
            Some(addr("[2001:db8::99]:40000"))
        );
    }

    #[test]
    fn sip_ping_padding_reaches_the_exact_size_with_a_consistent_content_length() {
        for size in [1, 400, 450, 999, 1000, 1400, 9000] {
            let req = request(
                "alice",
                3,
                addr("10.0.0.2:5000"),
                addr("203.0.113.10:5060"),
                1,
                Some(size),
            );
            let end = head(&req).len() + 4;
            let text = std::str::from_utf8(&req[..end]).unwrap();
            let declared: usize = text
                .lines()
                .find_map(|l| l.strip_prefix("Content-Length: "))
                .unwrap()
                .parse()
                .unwrap();
            assert_eq!(declared, req.len() - end, "size {size}");
            if size > end {
                assert_eq!(req.len(), size);
            }
        }
    }

    #[test]
    fn sip_ping_other_messages_are_not_read() {
        assert!(parse(b"natlab probe from=alice id=3 port=5000 seq=7\n").is_none());
        assert!(parse(b"INVITE sip:bob@x SIP/2.0\r\n\r\n").is_none());
        assert!(parse(b"SIP/2.0 404 Not Found\r\n\r\n").is_none());
        assert!(response(0, b"INVITE sip:bob@x SIP/2.0\r\n\r\n", addr("1.2.3.4:5")).is_none());
        assert!(parse(&[0xff, 0xfe]).is_none());
    }
}

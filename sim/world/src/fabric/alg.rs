//! A SIP ALG, as home routers ship them: an outbound SIP message over UDP has its private
//! address replaced by the NAT's public one in the SDP connection and origin lines (`c=`,
//! `o=`) and in `Contact`, with `Content-Length` fixed up. It leaves `Via` (so responses still
//! match their transaction), the media ports and every `a=` line alone: an ICE offer whose
//! default candidate was a host address ends up with a `c=` that matches none of its
//! `a=candidate` lines (RFC 8445 §5.1 / RFC 8839 ICE mismatch, pjnath's 370083).

use bytes::Bytes;
use std::net::IpAddr;

/// The rewritten payload, or `None` when it is not a SIP message with something to rewrite.
pub(super) fn rewrite_sip(payload: &[u8], private: IpAddr, public: IpAddr) -> Option<Bytes> {
    let text = std::str::from_utf8(payload).ok()?;
    let head_end = text.find("\r\n\r\n")?;
    let (head, body) = (&text[..head_end], &text[head_end + 4..]);
    let first = head.lines().next()?;
    if !(first.ends_with("SIP/2.0") || first.starts_with("SIP/2.0 ")) {
        return None;
    }
    let (old, new) = (private.to_string(), public.to_string());
    let body_out: String = body
        .split_inclusive('\n')
        .map(|line| {
            if line.starts_with("c=") || line.starts_with("o=") {
                replace_ip(line, &old, &new)
            } else {
                line.to_owned()
            }
        })
        .collect();
    let mut changed = body_out != body;
    let mut head_out = String::with_capacity(head.len() + 16);
    for (i, line) in head.split("\r\n").enumerate() {
        if i > 0 {
            head_out.push_str("\r\n");
        }
        let name = line.split(':').next().unwrap_or("").trim();
        if name.eq_ignore_ascii_case("Contact") || name.eq_ignore_ascii_case("m") {
            let l = replace_ip(line, &old, &new);
            changed |= l != line;
            head_out.push_str(&l);
        } else if name.eq_ignore_ascii_case("Content-Length") || name.eq_ignore_ascii_case("l") {
            head_out.push_str(&format!("Content-Length: {}", body_out.len()));
        } else {
            head_out.push_str(line);
        }
    }
    if !changed {
        return None;
    }
    Some(Bytes::from(format!("{head_out}\r\n\r\n{body_out}")))
}

/// `line` with every occurrence of the address `old` as a whole token replaced by `new`.
fn replace_ip(line: &str, old: &str, new: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(at) = rest.find(old) {
        let before = rest[..at].chars().next_back();
        let after = rest[at + old.len()..].chars().next();
        let boundary = |c: Option<char>| c.is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '.'));
        out.push_str(&rest[..at]);
        if boundary(before) && boundary(after) {
            out.push_str(new);
        } else {
            out.push_str(old);
        }
        rest = &rest[at + old.len()..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVITE: &str = "INVITE sip:router1@relay SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.1.2:5060;branch=z9hG4bK1\r\nContact: <sip:app1@10.0.1.2:5060>\r\nContent-Type: application/sdp\r\nContent-Length: 0\r\n\r\nv=0\r\no=natlab 1 1 IN IP4 10.0.1.2\r\ns=natlab\r\nc=IN IP4 10.0.1.2\r\nt=0 0\r\nm=audio 49154 RTP/AVP 0\r\na=candidate:1 1 udp 2130706431 10.0.1.2 49154 typ host\r\n";

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn alg_rewrites_c_o_and_contact_but_not_via_or_candidates() {
        let out = rewrite_sip(INVITE.as_bytes(), ip("10.0.1.2"), ip("198.51.100.1")).unwrap();
        let text = std::str::from_utf8(&out).unwrap();
        assert!(text.contains("c=IN IP4 198.51.100.1\r\n"));
        assert!(text.contains("o=natlab 1 1 IN IP4 198.51.100.1\r\n"));
        assert!(text.contains("Contact: <sip:app1@198.51.100.1:5060>"));
        assert!(text.contains("Via: SIP/2.0/UDP 10.0.1.2:5060"));
        assert!(text.contains("a=candidate:1 1 udp 2130706431 10.0.1.2 49154 typ host"));
        assert!(text.contains("m=audio 49154 "));
        let body = &text[text.find("\r\n\r\n").unwrap() + 4..];
        assert!(text.contains(&format!("Content-Length: {}\r\n", body.len())));
        let parsed = sim_sip::SipMessage::parse(&out).unwrap();
        assert_eq!(parsed.body_text(), body);
    }

    #[test]
    fn alg_leaves_other_payloads_and_other_addresses_alone() {
        assert!(rewrite_sip(b"\x00\x01 binary", ip("10.0.1.2"), ip("198.51.100.1")).is_none());
        let other = INVITE.replace("10.0.1.2", "10.0.1.20");
        assert!(rewrite_sip(other.as_bytes(), ip("10.0.1.2"), ip("198.51.100.1")).is_none());
        for n in 0..INVITE.len() {
            let _ = rewrite_sip(&INVITE.as_bytes()[..n], ip("10.0.1.2"), ip("198.51.100.1"));
        }
    }
}

//! Reading header values without allocating: list elements, parameters, URIs, hosts.

use memchr::memchr;
use std::net::IpAddr;

/// The first element of a comma-separated header value (commas inside `<>` or quotes ignored).
pub fn first_element(v: &[u8]) -> &[u8] {
    if memchr::memchr3(b',', b'"', b'<', v).is_none() {
        return v.trim_ascii();
    }
    let mut quoted = false;
    let mut angle = false;
    for (i, &c) in v.iter().enumerate() {
        match c {
            b'"' => quoted = !quoted,
            b'<' if !quoted => angle = true,
            b'>' if !quoted => angle = false,
            b',' if !quoted && !angle => return v.get(..i).unwrap_or(v).trim_ascii(),
            _ => {}
        }
    }
    v.trim_ascii()
}

/// The part of a name-addr after the URI (`<...>`), where header parameters live; the whole
/// value for a bare addr-spec.
pub fn after_uri(v: &[u8]) -> &[u8] {
    match (memchr(b'<', v), memchr(b'>', v)) {
        (Some(_), Some(gt)) => v.get(gt + 1..).unwrap_or_default(),
        _ => v,
    }
}

/// The URI of a name-addr (`"Bob" <sip:bob@host>;tag=1` gives `sip:bob@host`) or addr-spec
/// (`sip:bob@host;tag=1` gives `sip:bob@host`).
pub fn uri(v: &[u8]) -> &[u8] {
    if let (Some(lt), Some(gt)) = (memchr(b'<', v), memchr(b'>', v)) {
        return v.get(lt + 1..gt).unwrap_or_default().trim_ascii();
    }
    let v = v.trim_ascii();
    let end = memchr(b';', v).unwrap_or(v.len());
    v.get(..end).unwrap_or(v).trim_ascii()
}

/// A parameter of a `;`-separated parameter list: `Some(value)`, `Some("")` for a flag, `None`
/// when absent. Names compare case-insensitively; quotes around the value are removed.
pub fn param<'a>(v: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let mut rest = v;
    while let Some(semi) = memchr(b';', rest) {
        rest = rest.get(semi + 1..).unwrap_or_default();
        let end = rest
            .iter()
            .position(|&c| c == b';' || c == b',')
            .unwrap_or(rest.len());
        let item = rest.get(..end).unwrap_or_default();
        let (k, val) = match memchr(b'=', item) {
            Some(eq) => (
                item.get(..eq).unwrap_or_default(),
                item.get(eq + 1..).unwrap_or_default(),
            ),
            None => (item, &[][..]),
        };
        if k.trim_ascii().eq_ignore_ascii_case(name) {
            return Some(unquote(val.trim_ascii()));
        }
    }
    None
}

/// A parameter of an authentication header (`Digest realm="x", nonce="y", stale=TRUE`).
pub fn auth_param<'a>(v: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let body = v.trim_ascii();
    let body = match memchr(b' ', body) {
        Some(sp) if !body.get(..sp).unwrap_or_default().contains(&b'=') => {
            body.get(sp + 1..).unwrap_or_default()
        }
        _ => body,
    };
    split_outside_quotes(body, b',').find_map(|item| {
        let eq = memchr(b'=', item)?;
        let k = item.get(..eq)?.trim_ascii();
        k.eq_ignore_ascii_case(name)
            .then(|| unquote(item.get(eq + 1..).unwrap_or_default().trim_ascii()))
    })
}

fn split_outside_quotes(v: &[u8], sep: u8) -> impl Iterator<Item = &[u8]> {
    let mut quoted = false;
    v.split(move |&c| {
        if c == b'"' {
            quoted = !quoted;
        }
        c == sep && !quoted
    })
}

fn unquote(v: &[u8]) -> &[u8] {
    v.strip_prefix(b"\"")
        .and_then(|x| x.strip_suffix(b"\""))
        .unwrap_or(v)
}

/// `user@host` of a SIP URI (scheme, port and parameters removed); the host alone without a user.
pub fn user_host(uri: &[u8]) -> &[u8] {
    let no_scheme = match memchr(b':', uri) {
        Some(c) if is_scheme(uri.get(..c).unwrap_or_default()) => {
            uri.get(c + 1..).unwrap_or_default()
        }
        _ => uri,
    };
    let end = no_scheme
        .iter()
        .position(|&c| c == b';' || c == b'?' || c == b'>')
        .unwrap_or(no_scheme.len());
    let core = no_scheme.get(..end).unwrap_or_default();
    let at = memchr(b'@', core).map_or(0, |a| a + 1);
    let (user, hostport) = core.split_at(at.min(core.len()));
    let host_len = host_part(hostport).len();
    core.get(..user.len() + host_len).unwrap_or(core)
}

fn is_scheme(s: &[u8]) -> bool {
    [&b"sip"[..], b"sips", b"tel"]
        .iter()
        .any(|k| s.eq_ignore_ascii_case(k))
}

/// The host of `host[:port]` (brackets of an IPv6 reference kept).
pub fn host_part(hostport: &[u8]) -> &[u8] {
    if hostport.first() == Some(&b'[') {
        let end = memchr(b']', hostport).map_or(hostport.len(), |e| e + 1);
        return hostport.get(..end).unwrap_or(hostport);
    }
    let end = memchr(b':', hostport).unwrap_or(hostport.len());
    hostport.get(..end).unwrap_or(hostport)
}

/// The host of a URI (`sip:alice@[2001:db8::1]:5060;x` gives `[2001:db8::1]`).
pub fn uri_host(uri: &[u8]) -> &[u8] {
    let uh = user_host(uri);
    let at = memchr(b'@', uh).map_or(0, |a| a + 1);
    uh.get(at..).unwrap_or_default()
}

/// The sent-by host of a Via value (`SIP/2.0/UDP 10.0.0.1:5060;branch=...` gives `10.0.0.1`).
pub fn via_host(via: &[u8]) -> &[u8] {
    let v = via.trim_ascii();
    let Some(sp) = v.iter().position(u8::is_ascii_whitespace) else {
        return &[];
    };
    let rest = v.get(sp..).unwrap_or_default().trim_ascii_start();
    let end = rest
        .iter()
        .position(|&c| c == b';' || c == b',' || c.is_ascii_whitespace())
        .unwrap_or(rest.len());
    host_part(rest.get(..end).unwrap_or_default())
}

/// The transport of a Via value (`UDP`, `TCP`, `TLS`, `WS`...).
pub fn via_transport(via: &[u8]) -> &[u8] {
    let v = via.trim_ascii();
    let end = v
        .iter()
        .position(u8::is_ascii_whitespace)
        .unwrap_or(v.len());
    let proto = v.get(..end).unwrap_or_default();
    memchr::memrchr(b'/', proto).map_or(proto, |s| proto.get(s + 1..).unwrap_or_default())
}

/// Parses a host as an IP address (`[...]` brackets allowed). Host names give `None`.
pub fn host_ip(host: &[u8]) -> Option<IpAddr> {
    if let Some(v4) = ipv4(host) {
        return Some(IpAddr::V4(v4));
    }
    let h = host
        .strip_prefix(b"[")
        .and_then(|x| x.strip_suffix(b"]"))
        .unwrap_or(host);
    if !h.contains(&b':') {
        return None;
    }
    std::str::from_utf8(h).ok()?.parse().ok()
}

/// A dotted-quad IPv4 address, without allocating (the common case of [`host_ip`]).
fn ipv4(b: &[u8]) -> Option<std::net::Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut parts = b.split(|&c| c == b'.');
    for o in &mut octets {
        let p = parts.next()?;
        if p.is_empty() || p.len() > 3 || !p.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let v = p.iter().fold(0u16, |acc, d| acc * 10 + u16::from(d - b'0'));
        *o = u8::try_from(v).ok()?;
    }
    parts
        .next()
        .is_none()
        .then_some(std::net::Ipv4Addr::from(octets))
}

/// Whether an address is private or otherwise not reachable from the public Internet
/// (RFC 1918, RFC 6598 shared space, link-local, unique-local IPv6).
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_private() || v4.is_link_local() || (a == 100 && (64..128).contains(&b))
        }
        IpAddr::V6(v6) => {
            let first = v6.segments().first().copied().unwrap_or(0);
            (first & 0xFE00) == 0xFC00 || (first & 0xFFC0) == 0xFE80
        }
    }
}

/// [`text`] without allocating when the bytes are already clean (valid UTF-8, no control
/// characters, at most `max` bytes).
pub fn text_cow(b: &[u8], max: usize) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(b) {
        Ok(s) if s.len() <= max && !s.chars().any(char::is_control) => {
            std::borrow::Cow::Borrowed(s)
        }
        _ => std::borrow::Cow::Owned(text(b, max)),
    }
}

/// Lossy text for reports: invalid UTF-8 bytes become U+FFFD, control characters are dropped,
/// the length is capped at `max` characters.
pub fn text(b: &[u8], max: usize) -> String {
    let s = String::from_utf8_lossy(b);
    let mut out: String = s.chars().filter(|c| !c.is_control()).take(max).collect();
    if s.chars().count() > max {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_name_addr_gives_uri_user_host_and_tag() {
        let v = b"\"Alice, A.\" <sip:alice@[2001:db8::1]:5060;transport=udp>;tag=9fx";
        assert_eq!(uri(v), b"sip:alice@[2001:db8::1]:5060;transport=udp");
        assert_eq!(user_host(uri(v)), b"alice@[2001:db8::1]");
        assert_eq!(uri_host(uri(v)), b"[2001:db8::1]");
        assert_eq!(param(after_uri(v), b"tag"), Some(&b"9fx"[..]));
        assert_eq!(param(after_uri(v), b"transport"), None);
    }

    #[test]
    fn value_via_gives_host_transport_branch_and_flags() {
        let v = b"SIP/2.0/TCP 10.0.0.5:5062;rport;branch=z9hG4bK-1, SIP/2.0/UDP b";
        let top = first_element(v);
        assert_eq!(via_host(top), b"10.0.0.5");
        assert_eq!(via_transport(top), b"TCP");
        assert_eq!(param(top, b"branch"), Some(&b"z9hG4bK-1"[..]));
        assert_eq!(param(top, b"rport"), Some(&b""[..]));
        assert_eq!(param(top, b"received"), None);
    }

    #[test]
    fn value_auth_params_with_quotes_and_commas() {
        let v = b"Digest realm=\"a,b\", nonce=\"n1\", stale=TRUE, algorithm=MD5";
        assert_eq!(auth_param(v, b"realm"), Some(&b"a,b"[..]));
        assert_eq!(auth_param(v, b"stale"), Some(&b"TRUE"[..]));
        assert_eq!(auth_param(v, b"qop"), None);
    }

    #[test]
    fn value_private_ranges() {
        for p in [
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "100.64.0.1",
            "fd00::1",
        ] {
            assert!(is_private(p.parse().unwrap()), "{p}");
        }
        for p in ["192.0.2.1", "127.0.0.1", "2001:db8::1", "8.8.8.8"] {
            assert!(!is_private(p.parse().unwrap()), "{p}");
        }
    }
}

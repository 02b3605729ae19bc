//! Recognises SIP responses in the payloads that cross the network, for `sip_response`
//! expectations: the status code and the CSeq method, nothing more. Never panics on any bytes.

/// The status code and CSeq method of a SIP response, if `payload` starts with one.
pub(crate) fn response(payload: &[u8]) -> Option<(u16, &str)> {
    let rest = payload.strip_prefix(b"SIP/2.0 ")?;
    let code = rest.get(..3)?;
    if !code.iter().all(u8::is_ascii_digit) || rest.get(3).is_some_and(|b| *b != b' ') {
        return None;
    }
    let code = code.iter().fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
    let head_end = memchr_crlfcrlf(payload).unwrap_or(payload.len());
    let head = payload.get(..head_end)?;
    head.split(|&b| b == b'\n')
        .skip(1)
        .find_map(cseq_method)
        .map(|method| (code, method))
}

fn memchr_crlfcrlf(b: &[u8]) -> Option<usize> {
    b.windows(4).position(|w| w == b"\r\n\r\n")
}

/// The method of a `CSeq: 1 OPTIONS` line.
fn cseq_method(line: &[u8]) -> Option<&str> {
    let line = std::str::from_utf8(line).ok()?.trim_end_matches('\r');
    let (name, value) = line.split_once(':')?;
    if !name.trim().eq_ignore_ascii_case("cseq") {
        return None;
    }
    let mut words = value.split_whitespace();
    words.next()?.parse::<u32>().ok()?;
    words.next()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sip_tap_response_gives_code_and_cseq_method() {
        let r = b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 10.0.0.2:5000\r\ncseq:  7 OPTIONS\r\n\r\n";
        assert_eq!(response(r), Some((200, "OPTIONS")));
    }

    #[test]
    fn sip_tap_request_or_garbage_is_not_a_response() {
        assert_eq!(
            response(b"OPTIONS sip:a SIP/2.0\r\nCSeq: 1 OPTIONS\r\n\r\n"),
            None
        );
        assert_eq!(response(b"SIP/2.0 2x0 OK\r\nCSeq: 1 OPTIONS\r\n\r\n"), None);
        assert_eq!(response(b"SIP/2.0 200"), None);
        assert_eq!(response(b"SIP/2.0 200 OK\r\nCSeq: x OPTIONS\r\n\r\n"), None);
    }

    #[test]
    fn sip_tap_cseq_in_the_body_does_not_count() {
        let r = b"SIP/2.0 404 Not Found\r\nVia: x\r\n\r\nCSeq: 1 INVITE\r\n";
        assert_eq!(response(r), None);
    }

    proptest! {
        #[test]
        fn sip_tap_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut b = b"SIP/2.0 ".to_vec();
            b.extend(bytes);
            let _ = response(&b);
        }
    }
}

use super::*;
use crate::sip::SipMessage;

const INVITE: &[u8] = b"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\r\n\
Max-Forwards: 70\r\n\
To: Bob <sip:bob@biloxi.example.com>\r\n\
From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@pc33.atlanta.example.com   \r\n\
CSeq: 314159 INVITE\r\n\
Contact: <sip:alice@pc33.atlanta.example.com>\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 4\r\n\
\r\n\
v=0\n";

fn msg(b: &[u8], mode: Mode) -> (Scanned, Vec<u8>) {
    (scan(b, mode).unwrap(), b.to_vec())
}

#[test]
fn scan_request_gives_fields_trimmed_and_body() {
    let (s, b) = msg(INVITE, Mode::Datagram);
    let m = SipMessage {
        bytes: &b,
        fields: &s,
    };
    assert_eq!(m.request_method(), Some(Method::Invite));
    assert_eq!(m.call_id(), b"a84b4c76e66710@pc33.atlanta.example.com");
    assert_eq!(s.cseq, 314159);
    assert_eq!(s.cseq_method, Method::Invite);
    assert_eq!(m.branch(), b"z9hG4bK776asdhds");
    assert_eq!(m.from_tag(), b"1928301774");
    assert_eq!(m.to_tag(), b"");
    assert_eq!(m.body(), b"v=0\n");
    assert_eq!(s.len as usize, INVITE.len());
    assert_eq!(s.headers, 9);
}

#[test]
fn scan_compact_forms_fill_the_same_fields() {
    let b = b"OPTIONS sip:x@y SIP/2.0\r\nv: SIP/2.0/UDP h;branch=z9hG4bKc\r\ni: cid-1\r\nf: <sip:a@b>;tag=t1\r\nt: <sip:x@y>\r\nCSeq: 1 OPTIONS\r\nm: <sip:a@10.0.0.1>\r\nl: 0\r\n\r\n";
    let (s, b) = msg(b, Mode::Datagram);
    let m = SipMessage {
        bytes: &b,
        fields: &s,
    };
    assert_eq!(m.call_id(), b"cid-1");
    assert_eq!(m.branch(), b"z9hG4bKc");
    assert_eq!(m.from_tag(), b"t1");
    assert_eq!(m.get(s.contact), b"<sip:a@10.0.0.1>");
    assert_eq!(s.content_length, Some(0));
}

#[test]
fn scan_folded_header_extends_the_value_and_is_flagged() {
    let b = b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h\r\n ;branch=z9hG4bKf\r\nCall-ID: c\r\nCSeq: 2 BYE\r\n\r\n";
    let (s, b) = msg(b, Mode::Datagram);
    let m = SipMessage {
        bytes: &b,
        fields: &s,
    };
    assert!(s.folded);
    assert_eq!(m.branch(), b"z9hG4bKf");
    assert_eq!(m.status(), Some(StatusCode(200)));
}

#[test]
fn scan_lenient_inputs_are_accepted() {
    // Bare LF line ends, unknown method, IPv6 Request-URI, non-UTF-8 display name.
    let b = b"FOO sip:[2001:db8::9]:5060 SIP/2.0\nCall-ID: x\nFrom: \"\xff\xfe\" <sip:a@b>;tag=1\nCSeq: 7 FOO\n\n";
    let (s, _) = msg(b, Mode::Datagram);
    assert!(matches!(
        s.start,
        StartLine::Request {
            method: Method::Other,
            ..
        }
    ));
    assert_eq!(s.cseq_method, Method::Other);
    // No reason phrase.
    let b = b"SIP/2.0 401\r\nCall-ID: x\r\nCSeq: 1 REGISTER\r\n\r\n";
    let (s, b) = msg(b, Mode::Datagram);
    let m = SipMessage {
        bytes: &b,
        fields: &s,
    };
    assert_eq!(m.status(), Some(StatusCode(401)));
    assert_eq!(m.reason(), b"");
}

#[test]
fn scan_reports_why_a_message_is_malformed() {
    let cases: [(&[u8], Malformed); 5] = [
        (b"   \r\n", Malformed::Empty),
        (b"HELLO WORLD\r\n\r\n", Malformed::BadStartLine),
        (b"SIP/2.0 4x1 Bad\r\n\r\n", Malformed::BadStatusCode),
        (
            b"SIP/2.0 200 OK\r\nCSeq: 1 BYE\r\n\r\n",
            Malformed::MissingCallId,
        ),
        (
            b"SIP/2.0 200 OK\r\nCall-ID: x\r\n\r\n",
            Malformed::MissingCSeq,
        ),
    ];
    for (input, why) in cases {
        assert_eq!(
            scan(input, Mode::Datagram),
            Err(ScanError::Malformed(why)),
            "{}",
            String::from_utf8_lossy(input)
        );
    }
    let junk_len = b"SIP/2.0 200 OK\r\nCall-ID: x\r\nCSeq: 1 BYE\r\nContent-Length: abc\r\n\r\n";
    assert_eq!(
        scan(junk_len, Mode::Stream),
        Err(ScanError::Malformed(Malformed::BadContentLength))
    );
}

#[test]
fn scan_datagram_keeps_defective_messages_as_written() {
    let cases: [(&[u8], Defect, bool); 6] = [
        (
            b"SIP/2.0 200 OK\r\nCall-ID x\r\nCall-ID: y\r\nCSeq: 1 BYE\r\n\r\n",
            Defect::HeaderWithoutColon,
            false,
        ),
        (
            b"SIP/2.0 200 OK\r\nCall-ID: x\r\nCSeq: 1 BYE",
            Defect::NoHeaderEnd,
            true,
        ),
        (
            b"SIP/2.0 200 OK\r\nCall-ID: x\r\nCSeq: BYE\r\n\r\n",
            Defect::BadCSeq,
            false,
        ),
        (
            b"SIP/2.0 200 OK\r\nCall-ID: x\r\nCSeq: 1 BYE\r\nContent-Length: 9\r\n\r\nabc",
            Defect::ContentLengthMismatch,
            false,
        ),
        (
            b"SIP/2.0 200 OK\r\nCall-ID: x\r\nCSeq: 1 BYE\r\nContent-Length: abc\r\n\r\nabc",
            Defect::BadContentLength,
            false,
        ),
        (
            b"INV\xc9TE sip:x@y SIP/2.0\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n\r\n",
            Defect::GarbledMethod,
            false,
        ),
    ];
    for (input, defect, truncated) in cases {
        let s = scan(input, Mode::Datagram)
            .unwrap_or_else(|e| panic!("{e:?}: {}", String::from_utf8_lossy(input)));
        assert_eq!(
            (s.defects, s.truncated),
            (defect.bit(), truncated),
            "{}",
            String::from_utf8_lossy(input)
        );
        let m = SipMessage {
            bytes: input,
            fields: &s,
        };
        assert_eq!(
            m.call_id(),
            if defect == Defect::HeaderWithoutColon {
                &b"y"[..]
            } else {
                b"x"
            }
        );
    }
    let body = b"SIP/2.0 200 OK\r\nCall-ID: x\r\nCSeq: 1 BYE\r\nContent-Length: 9\r\n\r\nabc";
    let s = scan(body, Mode::Datagram).unwrap();
    assert_eq!(
        SipMessage {
            bytes: body,
            fields: &s
        }
        .body(),
        b"abc"
    );
}

#[test]
fn scan_cut_short_before_the_call_id_keeps_tag_and_branch_or_says_why_not() {
    let at = INVITE.windows(8).position(|w| w == b"Call-ID:").unwrap();
    let cut = &INVITE[..at];
    let s = scan(cut, Mode::Truncated).unwrap();
    assert!(s.truncated && s.has(Defect::NoCallId));
    let m = SipMessage {
        bytes: cut,
        fields: &s,
    };
    assert_eq!(
        (m.from_tag(), m.branch()),
        (&b"1928301774"[..], &b"z9hG4bK776asdhds"[..])
    );
    // The Call-ID line itself is cut: its value is not used.
    let mid = INVITE.windows(8).position(|w| w == b"Call-ID:").unwrap() + 14;
    let s = scan(&INVITE[..mid], Mode::Truncated).unwrap();
    assert!(!s.call_id.is_present() && s.has(Defect::NoCallId));
    assert_eq!(
        scan(&INVITE[..50], Mode::Truncated),
        Err(ScanError::Malformed(Malformed::CutShortUncorrelated))
    );
}

#[test]
fn scan_stream_frames_by_content_length_and_waits_for_more() {
    let mut two = INVITE.to_vec();
    two.extend_from_slice(INVITE);
    let s = scan(&two, Mode::Stream).unwrap();
    assert_eq!(s.len as usize, INVITE.len());
    for cut in [10, 200, INVITE.len() - 1] {
        assert_eq!(
            scan(&INVITE[..cut], Mode::Stream),
            Err(ScanError::Incomplete)
        );
    }
}

#[test]
fn scan_truncated_mode_keeps_what_the_capture_has() {
    let cut = &INVITE[..INVITE.len() - 3];
    let s = scan(cut, Mode::Datagram).unwrap();
    assert!(s.has(Defect::ContentLengthMismatch) && !s.truncated);
    let s = scan(cut, Mode::Truncated).unwrap();
    assert!(s.truncated);
    let headers_cut = &INVITE[..300];
    let s = scan(headers_cut, Mode::Truncated).unwrap();
    assert!(s.truncated);
}

#[test]
fn scan_detects_sip_by_content_only() {
    assert!(looks_like_sip(INVITE));
    assert!(looks_like_sip(b"SIP/2.0 180 Ringing\r\n"));
    assert!(!looks_like_sip(b"\x80\x00\x01\x02rtp"));
    assert!(!looks_like_sip(b"GET / HTTP/1.1\r\n"));
    assert!(!looks_like_sip(b"INVITE sip:x SIP/2.0"));
}

proptest::proptest! {
    #[test]
    fn scan_never_panics_on_mutations(cut in 0usize..400, pos in 0usize..400, byte: u8) {
        let mut b = INVITE[..cut.min(INVITE.len())].to_vec();
        if let Some(x) = b.get_mut(pos) { *x = byte; }
        for mode in [Mode::Datagram, Mode::Truncated, Mode::Stream] {
            if let Ok(s) = scan(&b, mode) {
                proptest::prop_assert!(s.len as usize <= b.len());
            }
        }
    }
}

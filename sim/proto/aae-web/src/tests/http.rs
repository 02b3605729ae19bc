use crate::http::{HttpError, HttpRequest, HttpResponse, MAX_HEAD, parse_request, parse_response};
use serde_json::json;

fn login_request() -> HttpRequest {
    HttpRequest::post_json(
        "/aae/login",
        "203.0.113.10:80",
        &json!({"userid": "alice", "passwd": "pw", "devicemd5mac": "aa"}),
    )
}

#[test]
fn http_request_round_trips_with_content_length() {
    let req = login_request();
    let bytes = req.encode();
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(text.starts_with("POST /aae/login HTTP/1.1\r\n"));
    assert!(text.contains(&format!("Content-Length: {}\r\n", req.body.len())));
    let (parsed, used) = parse_request(&bytes).unwrap().unwrap();
    assert_eq!(used, bytes.len());
    assert_eq!(parsed.method, "POST");
    assert_eq!(parsed.path, "/aae/login");
    assert_eq!(parsed.body, req.body);
    assert_eq!(parsed.header("content-type"), Some("application/json"));
}

#[test]
fn http_request_every_split_point_is_partial_until_complete() {
    let bytes = login_request().encode();
    for cut in 0..bytes.len() {
        assert_eq!(parse_request(&bytes[..cut]), Ok(None), "cut at {cut}");
    }
    assert!(parse_request(&bytes).unwrap().is_some());
}

#[test]
fn http_response_every_split_point_is_partial_until_complete() {
    let resp = HttpResponse::json(200, &json!({"status": 0, "cusid": "1"}));
    let bytes = resp.encode();
    for cut in 0..bytes.len() {
        assert_eq!(
            parse_response(&bytes[..cut], false),
            Ok(None),
            "cut at {cut}"
        );
    }
    let (parsed, used) = parse_response(&bytes, false).unwrap().unwrap();
    assert_eq!((parsed.status, used), (200, bytes.len()));
    assert_eq!(parsed.json_body().unwrap()["cusid"], "1");
}

#[test]
fn http_pipelined_requests_parse_one_after_another() {
    let mut bytes = login_request().encode();
    let second = HttpRequest::post_json("/aae/getservicearea", "h", &json!({}));
    bytes.extend(second.encode());
    let (first, used) = parse_request(&bytes).unwrap().unwrap();
    assert_eq!(first.path, "/aae/login");
    let (next, used2) = parse_request(&bytes[used..]).unwrap().unwrap();
    assert_eq!(next.path, "/aae/getservicearea");
    assert_eq!(used + used2, bytes.len());
}

#[test]
fn http_malformed_requests_are_errors_with_their_status() {
    let cases: &[(&[u8], u16)] = &[
        (b"GARBAGE\r\n\r\n", 400),
        (b"POST /x HTTP/1.1\r\nContent-Length: abc\r\n\r\n", 400),
        (
            b"POST /x HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            400,
        ),
        (b"POST /x HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400),
        (b"POST /x HTTP/1.1\r\nBad Header\r\n\r\n", 400),
        (
            b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            501,
        ),
        (b"POST /x HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n", 413),
        (
            b"POST /x HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
            413,
        ),
        (b"\x00\x01\x02\r\n\r\n", 400),
    ];
    for (bytes, status) in cases {
        let e = parse_request(bytes).unwrap_err();
        assert_eq!(
            e.status(),
            *status,
            "{:?}: {e}",
            String::from_utf8_lossy(bytes)
        );
    }
}

#[test]
fn http_too_many_headers_or_huge_head_is_431() {
    let mut many = String::from("POST /x HTTP/1.1\r\n");
    for i in 0..40 {
        many.push_str(&format!("X-{i}: v\r\n"));
    }
    many.push_str("\r\n");
    assert_eq!(parse_request(many.as_bytes()), Err(HttpError::HeadTooLarge));
    let huge = format!("POST /x HTTP/1.1\r\nX: {}", "a".repeat(MAX_HEAD + 1));
    assert_eq!(parse_request(huge.as_bytes()), Err(HttpError::HeadTooLarge));
}

#[test]
fn http_response_without_length_runs_to_eof_and_skips_interim() {
    let bytes = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n{\"status\":0}";
    assert_eq!(parse_response(bytes, false), Ok(None));
    let (r, used) = parse_response(bytes, true).unwrap().unwrap();
    assert_eq!(
        (r.status, &r.body[..], used),
        (200, &b"{\"status\":0}"[..], bytes.len())
    );
}

#[test]
fn http_truncations_and_corruptions_never_panic() {
    let req = login_request().encode();
    let resp = HttpResponse::json(401, &json!({"status": 3})).encode();
    for msg in [&req, &resp] {
        for cut in 0..=msg.len() {
            let _ = parse_request(&msg[..cut]);
            let _ = parse_response(&msg[..cut], true);
            let _ = parse_response(&msg[..cut], false);
        }
        for i in 0..msg.len() {
            for b in [0u8, b'\r', b'\n', b':', 0xff] {
                let mut m = msg.clone();
                m[i] = b;
                let _ = parse_request(&m);
                let _ = parse_response(&m, true);
            }
        }
    }
}

use super::harness::{accounts, client_addr, server_addr};
use crate::http::{HttpRequest, HttpResponse, parse_response};
use crate::{AaeWebServer, Answer, Lifetimes, Roles, ServerEvent, WebPolicy, WebServerConfig};
use bytes::Bytes;
use serde_json::{Value, json};
use sim_core::{Addresses, Node, Seed, SimInstant, StreamCommand, StreamEvent, StreamId, Transmit};
use std::time::Duration;

const CONN: StreamId = StreamId(StreamId::ACCEPTED | 1);

fn server_with(config: WebServerConfig) -> AaeWebServer {
    let mut s = AaeWebServer::new(config, Seed::new(1).rng());
    s.handle_start(SimInstant::ZERO, Addresses::single(server_addr().ip()));
    s.handle_stream(
        SimInstant::ZERO,
        StreamEvent::Accepted {
            id: CONN,
            local: server_addr(),
            remote: client_addr(),
        },
    );
    s
}

fn server() -> AaeWebServer {
    server_with(WebServerConfig {
        accounts: accounts(),
        ..WebServerConfig::default()
    })
}

/// What the server sent on the connection, and whether it closed or reset it.
#[derive(Debug, Default)]
struct Out {
    bytes: Vec<u8>,
    closed: bool,
    reset: bool,
}

fn feed(s: &mut AaeWebServer, now: SimInstant, bytes: &[u8]) -> Out {
    s.handle_stream(
        now,
        StreamEvent::Data {
            id: CONN,
            data: Bytes::copy_from_slice(bytes),
        },
    );
    let mut out = Out::default();
    while let Some(t) = s.poll_transmit() {
        match t {
            Transmit::Stream(StreamCommand::Send { data, .. }) => {
                out.bytes.extend_from_slice(&data)
            }
            Transmit::Stream(StreamCommand::Close { .. }) => out.closed = true,
            Transmit::Stream(StreamCommand::Abort { .. }) => out.reset = true,
            _ => {}
        }
    }
    out
}

fn responses(mut bytes: &[u8]) -> Vec<HttpResponse> {
    let mut all = Vec::new();
    while let Ok(Some((r, used))) = parse_response(bytes, false) {
        all.push(r);
        bytes = &bytes[used..];
    }
    all
}

fn call(s: &mut AaeWebServer, now: SimInstant, path: &str, body: Value) -> (u16, Value) {
    let out = feed(s, now, &HttpRequest::post_json(path, "h", &body).encode());
    let r = responses(&out.bytes).pop().expect("a response");
    (r.status, serde_json::from_slice(&r.body).unwrap())
}

fn app_login(s: &mut AaeWebServer, now: SimInstant, user: &str, pw: &str) -> Value {
    let (code, body) = call(
        s,
        now,
        "/aae/login",
        json!({"userid": user, "passwd": pw, "sid": "1004", "devicemd5mac": "phone-mac"}),
    );
    assert_eq!(code, 200, "{body}");
    body
}

#[test]
fn server_getservicearea_returns_its_own_address() {
    let mut s = server();
    let (code, body) = call(&mut s, SimInstant::ZERO, "/aae/getservicearea", json!({}));
    assert_eq!(code, 200);
    assert_eq!(body["status"], 0);
    assert_eq!(body["servicearea"], server_addr().to_string());
}

#[test]
fn server_login_ok_returns_every_documented_output() {
    let mut s = server();
    let body = app_login(&mut s, SimInstant::ZERO, "alice", "alice-pw");
    for k in [
        "cusid",
        "userticket",
        "userrefreshticket",
        "deviceticket",
        "deviceid",
    ] {
        assert!(
            body[k].as_str().is_some_and(|v| !v.is_empty()),
            "{k} in {body}"
        );
    }
    assert_eq!(body["cusid"], s.cusid("alice").unwrap());
    assert_eq!(s.owner("phone-mac"), s.cusid("alice"));
}

#[test]
fn server_login_wrong_password_or_unknown_user_is_401_auth_failed() {
    let mut s = server();
    for (user, pw) in [("alice", "nope"), ("mallory", "alice-pw")] {
        let (code, body) = call(
            &mut s,
            SimInstant::ZERO,
            "/aae/login",
            json!({"userid": user, "passwd": pw, "devicemd5mac": "m"}),
        );
        assert_eq!(
            (code, body["status"].as_u64(), body["message"].as_str()),
            (401, Some(2), Some("auth-failed"))
        );
    }
}

#[test]
fn server_login_with_unknown_sid_or_devicetype_is_400_invalid_id() {
    let mut s = server();
    for extra in [json!({"sid": "1005"}), json!({"devicetype": "08"})] {
        let mut body = json!({"userid": "alice", "passwd": "alice-pw", "devicemd5mac": "m"});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let (code, out) = call(&mut s, SimInstant::ZERO, "/aae/login", body);
        assert_eq!((code, out["message"].as_str()), (400, Some("invalid-id")));
    }
}

#[test]
fn server_missing_fields_or_non_json_body_is_400_bad_request() {
    let mut s = server();
    let (code, body) = call(
        &mut s,
        SimInstant::ZERO,
        "/aae/login",
        json!({"userid": "alice"}),
    );
    assert_eq!((code, body["status"].as_u64()), (400, Some(1)));
    let raw = b"POST /aae/login HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc";
    let out = feed(&mut s, SimInstant::ZERO, raw);
    assert_eq!(responses(&out.bytes)[0].status, 400);
    assert!(!out.closed, "a bad body keeps the connection");
}

#[test]
fn server_unknown_path_is_404_and_get_is_405() {
    let mut s = server();
    let (code, _) = call(&mut s, SimInstant::ZERO, "/aae/nothing", json!({}));
    assert_eq!(code, 404);
    let out = feed(&mut s, SimInstant::ZERO, b"GET /aae/login HTTP/1.1\r\n\r\n");
    assert_eq!(responses(&out.bytes)[0].status, 405);
}

#[test]
fn server_roles_not_played_answer_404() {
    let portal_only = Roles {
        portal: true,
        area: false,
        unit: false,
    };
    let mut s = server_with(WebServerConfig {
        accounts: accounts(),
        roles: portal_only,
        ..WebServerConfig::default()
    });
    let (code, _) = call(&mut s, SimInstant::ZERO, "/aae/getservicearea", json!({}));
    assert_eq!(code, 200);
    let (code, body) = call(&mut s, SimInstant::ZERO, "/aae/login", json!({}));
    assert_eq!((code, body["message"].as_str()), (404, Some("not-found")));
}

#[test]
fn server_ticket_endpoints_accept_valid_and_reject_expired_tickets() {
    let life = Lifetimes {
        userticket: Duration::from_secs(60),
        ..Lifetimes::default()
    };
    let mut s = server_with(WebServerConfig {
        accounts: accounts(),
        lifetimes: life,
        ..WebServerConfig::default()
    });
    let t0 = SimInstant::ZERO;
    let login = app_login(&mut s, t0, "alice", "alice-pw");
    let cusid = login["cusid"].as_str().unwrap().to_owned();
    let (code, app) = call(
        &mut s,
        t0,
        "/aae/getuserticketbyrefresh",
        json!({
        "cusid": cusid, "userrefreshticket": login["userrefreshticket"], "devicemd5mac": "phone-mac"}),
    );
    assert_eq!(code, 200);
    let (code, rr) = call(
        &mut s,
        t0,
        "/aae/getuserrefreshticket",
        json!({
        "cusid": cusid, "devicemd5mac": "phone-mac", "userticket": app["userticket"]}),
    );
    assert_eq!(code, 200);
    assert!(rr["refreshticket"].as_str().is_some());
    // 61 s later the app userticket has expired.
    let later = t0 + Duration::from_secs(61);
    let (code, body) = call(
        &mut s,
        later,
        "/aae/getuserrefreshticket",
        json!({
        "cusid": cusid, "devicemd5mac": "phone-mac", "userticket": app["userticket"]}),
    );
    assert_eq!(
        (code, body["message"].as_str()),
        (401, Some("ticket-expired"))
    );
    // A ticket with another cusid, or made up, is invalid.
    let (code, body) = call(
        &mut s,
        t0,
        "/aae/getuserrefreshticket",
        json!({
        "cusid": "0000000000", "devicemd5mac": "phone-mac", "userticket": app["userticket"]}),
    );
    assert_eq!(
        (code, body["message"].as_str()),
        (401, Some("ticket-invalid"))
    );
    // A refresh ticket bound to the phone does not serve another device.
    let (code, body) = call(
        &mut s,
        t0,
        "/aae/getuserticketbyrefresh",
        json!({
        "cusid": cusid, "userrefreshticket": login["userrefreshticket"], "devicemd5mac": "other"}),
    );
    assert_eq!(
        (code, body["message"].as_str()),
        (403, Some("device-mismatch"))
    );
}

#[test]
fn server_getdeviceinfo_checks_the_deviceticket() {
    let mut s = server();
    let login = app_login(&mut s, SimInstant::ZERO, "alice", "alice-pw");
    let (code, body) = call(
        &mut s,
        SimInstant::ZERO,
        "/aae/getdeviceinfo",
        json!({
        "deviceid": login["deviceid"], "deviceticket": login["deviceticket"]}),
    );
    assert_eq!(
        (code, body["devicemd5mac"].as_str()),
        (200, Some("phone-mac"))
    );
    let (code, _) = call(
        &mut s,
        SimInstant::ZERO,
        "/aae/getdeviceinfo",
        json!({
        "deviceid": login["deviceid"], "deviceticket": "wrong"}),
    );
    assert_eq!(code, 401);
    s.expire_tickets(SimInstant::ZERO);
    let (code, body) = call(
        &mut s,
        SimInstant::ZERO,
        "/aae/getdeviceinfo",
        json!({
        "deviceid": login["deviceid"], "deviceticket": login["deviceticket"]}),
    );
    assert_eq!(
        (code, body["message"].as_str()),
        (401, Some("ticket-expired"))
    );
}

#[test]
fn server_several_requests_on_one_connection_in_one_segment() {
    let mut s = server();
    let mut bytes = HttpRequest::post_json("/aae/getservicearea", "h", &json!({})).encode();
    bytes.extend(
        HttpRequest::post_json(
            "/aae/login",
            "h",
            &json!({"userid": "alice", "passwd": "alice-pw", "devicemd5mac": "m"}),
        )
        .encode(),
    );
    bytes.extend(HttpRequest::post_json("/aae/nothing", "h", &json!({})).encode());
    let out = feed(&mut s, SimInstant::ZERO, &bytes);
    let codes: Vec<u16> = responses(&out.bytes).iter().map(|r| r.status).collect();
    assert_eq!(codes, [200, 200, 404]);
    assert!(!out.closed);
}

#[test]
fn server_request_split_at_every_byte_gets_one_answer() {
    let bytes = HttpRequest::post_json(
        "/aae/login",
        "h",
        &json!({"userid": "alice", "passwd": "alice-pw", "devicemd5mac": "m"}),
    )
    .encode();
    for cut in 1..bytes.len() {
        let mut s = server();
        let first = feed(&mut s, SimInstant::ZERO, &bytes[..cut]);
        assert!(first.bytes.is_empty(), "answered early at {cut}");
        let second = feed(&mut s, SimInstant::ZERO, &bytes[cut..]);
        let all = responses(&second.bytes);
        assert_eq!(all.len(), 1, "cut {cut}");
        assert_eq!(all[0].status, 200, "cut {cut}");
    }
}

#[test]
fn server_malformed_request_gets_400_and_close_never_panics() {
    let mut s = server();
    let out = feed(&mut s, SimInstant::ZERO, b"NOT HTTP AT ALL\r\n\r\n");
    assert_eq!(responses(&out.bytes)[0].status, 400);
    assert!(out.closed);
    let after = feed(
        &mut s,
        SimInstant::ZERO,
        b"POST /aae/login HTTP/1.1\r\n\r\n",
    );
    assert!(
        after.bytes.is_empty(),
        "nothing more on a closing connection"
    );
    assert!(
        s.poll_event()
            .is_some_and(|e| matches!(e, ServerEvent::BadRequest { http: 400, .. }))
    );
    // Every byte value at every position of a real request: answered or waiting, no panic.
    let real = HttpRequest::post_json("/aae/login", "h", &json!({"userid": "a"})).encode();
    for i in 0..real.len() {
        for b in [0u8, b' ', b'\n', 0x80] {
            let mut m = real.clone();
            m[i] = b;
            let mut s = server();
            let _ = feed(&mut s, SimInstant::ZERO, &m);
        }
    }
}

#[test]
fn server_connection_close_header_closes_after_the_response() {
    let mut s = server();
    let mut req = HttpRequest::post_json("/aae/getservicearea", "h", &json!({}));
    req.headers.push(("Connection".into(), "close".into()));
    let out = feed(&mut s, SimInstant::ZERO, &req.encode());
    assert_eq!(responses(&out.bytes)[0].header("connection"), Some("close"));
    assert!(out.closed);
}

#[test]
fn server_policies_refuse_silence_reset_truncate_and_status() {
    let req = HttpRequest::post_json(
        "/aae/login",
        "h",
        &json!({"userid": "alice", "passwd": "alice-pw", "devicemd5mac": "m"}),
    )
    .encode();
    let mut s = server();
    s.set_policy(
        SimInstant::ZERO,
        WebPolicy {
            refuse_logins: true,
            ..WebPolicy::default()
        },
    );
    let out = feed(&mut s, SimInstant::ZERO, &req);
    assert_eq!(responses(&out.bytes)[0].status, 503);
    for (answer, check) in [
        (Answer::Silent, (false, false, false)),
        (Answer::Reset, (false, false, true)),
        (Answer::TruncateHead, (true, true, false)),
    ] {
        let mut s = server();
        s.set_policy(
            SimInstant::ZERO,
            WebPolicy {
                answer,
                refuse_logins: false,
            },
        );
        let out = feed(&mut s, SimInstant::ZERO, &req);
        assert_eq!(
            (!out.bytes.is_empty(), out.closed, out.reset),
            check,
            "{answer:?}"
        );
        if answer == Answer::TruncateHead {
            assert_eq!(
                parse_response(&out.bytes, false),
                Ok(None),
                "an incomplete head"
            );
        }
    }
    let mut s = server();
    s.set_policy(
        SimInstant::ZERO,
        WebPolicy {
            answer: Answer::Status(500),
            refuse_logins: false,
        },
    );
    let out = feed(&mut s, SimInstant::ZERO, &req);
    assert_eq!(responses(&out.bytes)[0].status, 500);
}

#[test]
fn server_tickets_and_ids_replay_with_the_seed() {
    let login = |seed| {
        let mut s = AaeWebServer::new(
            WebServerConfig {
                accounts: accounts(),
                ..WebServerConfig::default()
            },
            Seed::new(seed).rng(),
        );
        s.handle_start(SimInstant::ZERO, Addresses::single(server_addr().ip()));
        s.handle_stream(
            SimInstant::ZERO,
            StreamEvent::Accepted {
                id: CONN,
                local: server_addr(),
                remote: client_addr(),
            },
        );
        app_login(&mut s, SimInstant::ZERO, "alice", "alice-pw")
    };
    assert_eq!(login(5), login(5));
    assert_ne!(login(5)["userticket"], login(6)["userticket"]);
}

use super::*;
use crate::auth::LongTerm;
use rtc_stun::attributes::{ATTR_NONCE, ATTR_REALM, ATTR_USERNAME};
use rtc_stun::message::{BINDING_REQUEST, TransactionId};
use std::time::Duration;

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

const PRIMARY: &str = "203.0.113.10:3478";
const ALT_IP: &str = "203.0.113.11";
const CLIENT: &str = "198.51.100.7:40000";

fn server(config: StunServerConfig) -> StunServer {
    let mut s = StunServer::new(config, Seed::new(1));
    s.handle_start(SimInstant::ZERO, Addresses::single(addr(PRIMARY).ip()));
    s
}

fn rfc5780() -> StunServer {
    server(StunServerConfig::new(addr(PRIMARY)).with_alternate(ALT_IP.parse().unwrap(), 3479))
}

fn request(attrs: &[Attr], key: Option<&[u8]>) -> Bytes {
    let id = TransactionId([9; 12]);
    Bytes::from(codec::encode(BINDING_REQUEST, id, attrs, key, true).unwrap())
}

/// Sends `payload` to `local` and returns the answer (source, message), if any.
fn ask(
    s: &mut StunServer,
    now: SimInstant,
    local: &str,
    payload: Bytes,
) -> Option<(SocketAddr, Message)> {
    s.handle_datagram(
        now,
        Datagram {
            src: addr(CLIENT),
            dst: addr(local),
            payload,
        },
    );
    let t = s.poll_transmit()?;
    assert!(s.poll_transmit().is_none(), "one answer per request");
    let Transmit::Datagram(d) = t else {
        panic!("not a datagram: {t:?}")
    };
    assert_eq!(d.dst, addr(CLIENT));
    Some((d.src, codec::decode(&d.payload).unwrap()))
}

fn events(s: &mut StunServer) -> Vec<StunServerEvent> {
    std::iter::from_fn(|| s.poll_event()).collect()
}

#[test]
fn stun_server_binding_answers_every_rfc5389_5780_3489_attribute() {
    let mut s = rfc5780();
    let (src, m) = ask(&mut s, SimInstant::ZERO, PRIMARY, request(&[], None)).unwrap();
    assert_eq!(src, addr(PRIMARY));
    assert_eq!(m.typ, BINDING_SUCCESS);
    assert_eq!(m.transaction_id, TransactionId([9; 12]));
    assert_eq!(
        codec::get_xor(&m, ATTR_XORMAPPED_ADDRESS),
        Some(addr(CLIENT))
    );
    assert_eq!(
        codec::get_plain(&m, ATTR_MAPPED_ADDRESS),
        Some(addr(CLIENT))
    );
    assert_eq!(
        codec::get_plain(&m, ATTR_RESPONSE_ORIGIN),
        Some(addr(PRIMARY))
    );
    assert_eq!(
        codec::get_plain(&m, ATTR_SOURCE_ADDRESS),
        Some(addr(PRIMARY))
    );
    let other = addr("203.0.113.11:3479");
    assert_eq!(codec::get_plain(&m, ATTR_OTHER_ADDRESS), Some(other));
    assert_eq!(codec::get_plain(&m, ATTR_CHANGED_ADDRESS), Some(other));
    assert_eq!(
        codec::get_text(&m, ATTR_SOFTWARE).as_deref(),
        Some("natlab")
    );
    assert_eq!(codec::check_fingerprint(&m), codec::Fingerprint::Valid);
    assert_eq!(s.bindings(), vec![Binding::udp(3478), Binding::udp(3479)]);
    let ev = events(&mut s);
    assert!(
        matches!(ev[..], [StunServerEvent::Served { error: None, .. }]),
        "{ev:?}"
    );
    assert_eq!(LogEvent::from(&ev[0]).name, "stun-request-served");
}

#[test]
fn stun_server_change_request_answers_from_the_other_ip_and_port() {
    let mut s = rfc5780();
    let cases = [
        (PRIMARY, Change::BOTH, "203.0.113.11:3479"),
        (PRIMARY, Change::PORT, "203.0.113.10:3479"),
        (
            PRIMARY,
            Change {
                ip: true,
                port: false,
            },
            "203.0.113.11:3478",
        ),
        ("203.0.113.11:3479", Change::BOTH, "203.0.113.10:3478"),
        ("203.0.113.11:3478", Change::PORT, "203.0.113.11:3479"),
    ];
    for (local, change, from) in cases {
        let (src, m) = ask(
            &mut s,
            SimInstant::ZERO,
            local,
            request(&[codec::change_request(change)], None),
        )
        .unwrap();
        assert_eq!(src, addr(from), "{local} {change}");
        assert_eq!(codec::get_plain(&m, ATTR_RESPONSE_ORIGIN), Some(addr(from)));
        // OTHER-ADDRESS differs from the receiving address in both IP and port.
        let other = codec::get_plain(&m, ATTR_OTHER_ADDRESS).unwrap();
        assert!(other.ip() != addr(local).ip() && other.port() != addr(local).port());
    }
}

#[test]
fn stun_server_without_alternate_rejects_change_request_with_420() {
    let mut s = server(StunServerConfig::new(addr(PRIMARY)));
    let (_, m) = ask(
        &mut s,
        SimInstant::ZERO,
        PRIMARY,
        request(&[codec::change_request(Change::BOTH)], None),
    )
    .unwrap();
    assert_eq!(m.typ, BINDING_ERROR);
    assert_eq!(codec::get_error(&m), Some(420));
    let (_, ok) = ask(&mut s, SimInstant::ZERO, PRIMARY, request(&[], None)).unwrap();
    assert_eq!(
        codec::get_plain(&ok, ATTR_OTHER_ADDRESS),
        None,
        "no alternate, no OTHER-ADDRESS"
    );
}

#[test]
fn stun_server_unknown_required_attribute_gets_420_with_unknown_attributes() {
    let mut s = rfc5780();
    let req = request(
        &[Attr::Raw(
            rtc_stun::attributes::AttrType(0x0042),
            vec![1, 2, 3, 4],
        )],
        None,
    );
    let (_, m) = ask(&mut s, SimInstant::ZERO, PRIMARY, req).unwrap();
    assert_eq!(codec::get_error(&m), Some(420));
    assert_eq!(m.get(ATTR_UNKNOWN_ATTRIBUTES).unwrap(), vec![0x00, 0x42]);
}

#[test]
fn stun_server_short_term_credentials_400_401_then_signed_success() {
    let mut config = StunServerConfig::new(addr(PRIMARY));
    config.credentials = Credentials::ShortTerm {
        username: "alice".into(),
        password: "secret".into(),
    };
    let mut s = server(config);
    let now = SimInstant::ZERO;
    let (_, m) = ask(&mut s, now, PRIMARY, request(&[], None)).unwrap();
    assert_eq!(codec::get_error(&m), Some(400));
    let user = Attr::Text(ATTR_USERNAME, "alice".into());
    let (_, m) = ask(
        &mut s,
        now,
        PRIMARY,
        request(std::slice::from_ref(&user), Some(b"wrong")),
    )
    .unwrap();
    assert_eq!(codec::get_error(&m), Some(401));
    let (_, m) = ask(&mut s, now, PRIMARY, request(&[user], Some(b"secret"))).unwrap();
    assert_eq!(m.typ, BINDING_SUCCESS);
    assert!(codec::check_integrity(&m, b"secret"));
}

#[test]
fn stun_server_long_term_challenge_success_and_stale_nonce() {
    let mut config = StunServerConfig::new(addr(PRIMARY));
    let mut lt = LongTerm::single("natlab.test", "bob", "pw");
    lt.nonce_lifetime = Duration::from_secs(60);
    config.credentials = Credentials::LongTerm(lt);
    let mut s = server(config);
    let (_, m) = ask(&mut s, SimInstant::ZERO, PRIMARY, request(&[], None)).unwrap();
    assert_eq!(codec::get_error(&m), Some(401));
    assert_eq!(
        codec::get_text(&m, ATTR_REALM).as_deref(),
        Some("natlab.test")
    );
    let nonce = codec::get_text(&m, ATTR_NONCE).unwrap();
    let key = codec::long_term_key("bob", "natlab.test", "pw");
    let attrs = |nonce: &str| {
        [
            Attr::Text(ATTR_USERNAME, "bob".into()),
            Attr::Text(ATTR_REALM, "natlab.test".into()),
            Attr::Text(ATTR_NONCE, nonce.into()),
        ]
    };
    let t1 = SimInstant::ZERO + Duration::from_secs(1);
    let (_, m) = ask(&mut s, t1, PRIMARY, request(&attrs(&nonce), Some(&key))).unwrap();
    assert_eq!(m.typ, BINDING_SUCCESS);
    assert!(codec::check_integrity(&m, &key));
    let (_, m) = ask(
        &mut s,
        t1,
        PRIMARY,
        request(&attrs(&nonce), Some(b"bad key")),
    )
    .unwrap();
    assert_eq!(codec::get_error(&m), Some(401));
    let late = SimInstant::ZERO + Duration::from_secs(61);
    let (_, m) = ask(&mut s, late, PRIMARY, request(&attrs(&nonce), Some(&key))).unwrap();
    assert_eq!(codec::get_error(&m), Some(438));
    let fresh = codec::get_text(&m, ATTR_NONCE).unwrap();
    assert_ne!(fresh, nonce);
    let (_, m) = ask(&mut s, late, PRIMARY, request(&attrs(&fresh), Some(&key))).unwrap();
    assert_eq!(m.typ, BINDING_SUCCESS);
}

#[test]
fn stun_server_policies_silence_error_omit_single_address_and_fingerprint() {
    let now = SimInstant::ZERO;
    let mut s = rfc5780();
    s.set_policy(now, StunPolicy::Silent);
    assert!(ask(&mut s, now, PRIMARY, request(&[], None)).is_none());
    let ev = events(&mut s);
    assert!(
        matches!(
            ev[..],
            [
                StunServerEvent::PolicyChanged { .. },
                StunServerEvent::PolicyApplied { .. }
            ]
        ),
        "{ev:?}"
    );

    s.set_policy(now, StunPolicy::Error(500));
    let (_, m) = ask(&mut s, now, PRIMARY, request(&[], None)).unwrap();
    assert_eq!(codec::get_error(&m), Some(500));
    let served = events(&mut s).into_iter().find_map(|e| match e {
        e @ StunServerEvent::Served { .. } => Some(LogEvent::from(&e)),
        _ => None,
    });
    assert_eq!(served.unwrap().status, Some(500));

    s.set_policy(now, StunPolicy::OmitMappedAddress);
    let (_, m) = ask(&mut s, now, PRIMARY, request(&[], None)).unwrap();
    assert_eq!(m.typ, BINDING_SUCCESS);
    assert!(!m.contains(ATTR_XORMAPPED_ADDRESS) && !m.contains(ATTR_MAPPED_ADDRESS));

    s.set_policy(now, StunPolicy::AnswerOnlyOn(addr(PRIMARY)));
    assert!(ask(&mut s, now, "203.0.113.11:3479", request(&[], None)).is_none());
    assert!(
        ask(
            &mut s,
            now,
            PRIMARY,
            request(&[codec::change_request(Change::PORT)], None)
        )
        .is_none()
    );
    assert!(ask(&mut s, now, PRIMARY, request(&[], None)).is_some());

    s.set_policy(now, StunPolicy::CorruptFingerprint);
    let (_, m) = ask(&mut s, now, PRIMARY, request(&[], None)).unwrap();
    assert_eq!(codec::check_fingerprint(&m), codec::Fingerprint::Invalid);
    s.set_policy(now, StunPolicy::Normal);
    let (_, m) = ask(&mut s, now, PRIMARY, request(&[], None)).unwrap();
    assert_eq!(codec::check_fingerprint(&m), codec::Fingerprint::Valid);
}

#[test]
fn stun_server_garbage_truncations_and_responses_are_ignored_without_panic() {
    let mut s = rfc5780();
    let req = request(&[codec::change_request(Change::BOTH)], None);
    for n in 0..req.len() {
        assert!(ask(&mut s, SimInstant::ZERO, PRIMARY, req.slice(..n)).is_none());
    }
    for i in 0..req.len() {
        let mut b = req.to_vec();
        b[i] ^= 0xff;
        let _ = ask(&mut s, SimInstant::ZERO, PRIMARY, Bytes::from(b));
    }
    let (_, resp) = ask(&mut s, SimInstant::ZERO, PRIMARY, req).unwrap();
    assert!(ask(&mut s, SimInstant::ZERO, PRIMARY, Bytes::from(resp.raw)).is_none());
    let ignored = events(&mut s)
        .iter()
        .filter(|e| matches!(e, StunServerEvent::Ignored { .. }))
        .count();
    assert!(ignored >= 20, "{ignored}");
}

//! End-to-end tests: a server and softphones on the in-process harness.

use crate::server::{
    DisabledRoute, Encryption, NumberFormat, Outage, Policy, RouteFailure, SipServerConfig,
    WrongPassword,
};
use crate::testkit::{DropRule, Harness};
use crate::ua::{DtmfMethod, PrackMode, SipTransport, SoftphoneConfig, SoftphoneEvent, SrtpPolicy};
use sim_core::{Protocol, Seed, SimInstant};
use sim_nat::{Behaviour, NatConfig, PortAllocation};
use std::net::IpAddr;
use std::time::Duration;

const A: &str = "380501110001";
const B: &str = "380501110002";
const C: &str = "380501110003";
const DOMAIN: &str = "sip.natlab.test";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn server_cfg() -> SipServerConfig {
    SipServerConfig::new(DOMAIN, &[(A, "pa"), (B, "pb"), (C, "pc")])
}

fn phone_cfg(h: &Harness, user: &str, password: &str) -> SoftphoneConfig {
    SoftphoneConfig::new(user, password, DOMAIN, h.server_addr())
}

/// A harness with A (phone 0) and B (phone 1) registered over `transport`.
fn two_phones(cfg: SipServerConfig, transport: SipTransport) -> Harness {
    let mut h = Harness::new(cfg, Seed::new(7));
    for (user, pw, addr) in [(A, "pa", "198.51.100.11"), (B, "pb", "198.51.100.12")] {
        let mut c = phone_cfg(&h, user, pw);
        c.transport = transport;
        let i = h.add_phone(c, ip(addr), None, Seed::new(7));
        h.with_phone(i, |p, now| p.register(now)).unwrap();
    }
    h.run_for(Duration::from_secs(2));
    assert_eq!(h.names(0), ["onRegisterSuccess(200)"]);
    assert_eq!(h.names(1), ["onRegisterSuccess(200)"]);
    h.clear_events();
    h
}

fn last(h: &Harness, i: usize) -> String {
    h.names(i).last().cloned().unwrap_or_default()
}

fn call(h: &mut Harness, from: usize, to: &str) -> u32 {
    let to = to.to_string();
    h.with_phone(from, |p, now| p.call(now, &to, &[])).unwrap()
}

fn incoming_session(h: &Harness, i: usize) -> u32 {
    h.events(i)
        .iter()
        .find_map(|(_, e)| match e {
            SoftphoneEvent::InviteIncoming { session, .. } => Some(*session),
            _ => None,
        })
        .expect("no onInviteIncoming")
}

fn failure_reason(h: &Harness, i: usize) -> String {
    h.events(i)
        .iter()
        .rev()
        .find_map(|(_, e)| match e {
            SoftphoneEvent::InviteFailure { reason, .. } => Some(reason.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

#[test]
fn register_with_digest_challenge() {
    let mut h = Harness::new(server_cfg(), Seed::new(1));
    let c = phone_cfg(&h, A, "pa");
    h.add_phone(c, ip("198.51.100.11"), None, Seed::new(1));
    h.with_phone(0, |p, now| p.register(now)).unwrap();
    h.run_for(Duration::from_secs(1));
    assert_eq!(h.names(0), ["onRegisterSuccess(200)"]);
    let statuses: Vec<&str> = h
        .wire
        .iter()
        .map(|(_, _, _, t)| t.lines().next().unwrap_or(""))
        .collect();
    assert_eq!(
        statuses,
        [
            "REGISTER sip:sip.natlab.test SIP/2.0",
            "SIP/2.0 401 Unauthorized",
            "REGISTER sip:sip.natlab.test SIP/2.0",
            "SIP/2.0 200 OK"
        ]
    );
    assert!(
        h.wire[2]
            .3
            .contains("Authorization: Digest username=\"380501110001\"")
    );
    assert_eq!(h.server.bindings_of(A).len(), 1);
    assert_eq!(
        h.server_names(),
        ["sip-response(401)", "sip-registered", "sip-response(200)"]
    );
}

#[test]
fn wrong_password_is_a_401_loop_then_failure_or_403() {
    let mut h = Harness::new(server_cfg(), Seed::new(1));
    let c = phone_cfg(&h, A, "wrong");
    h.add_phone(c, ip("198.51.100.11"), None, Seed::new(1));
    h.with_phone(0, |p, now| p.register(now)).unwrap();
    h.run_for(Duration::from_secs(40));
    assert_eq!(h.names(0), ["onRegisterFailure(401)"]);
    let registers = h
        .wire
        .iter()
        .filter(|w| w.3.starts_with("REGISTER"))
        .count();
    assert_eq!(
        registers, 2,
        "REGISTER, 401, REGISTER(Authorization), 401, stop"
    );
    assert!(h.server_names().contains(&"sip-auth-failed".to_string()));
    assert!(h.server.bindings_of(A).is_empty());

    let mut cfg = server_cfg();
    cfg.policy.wrong_password = WrongPassword::Forbidden;
    let mut h = Harness::new(cfg, Seed::new(1));
    let c = phone_cfg(&h, A, "wrong");
    h.add_phone(c, ip("198.51.100.11"), None, Seed::new(1));
    h.with_phone(0, |p, now| p.register(now)).unwrap();
    h.run_for(Duration::from_secs(5));
    assert_eq!(h.names(0), ["onRegisterFailure(403)"]);
}

#[test]
fn register_retry_times_retries_then_fails() {
    let mut h = Harness::new(server_cfg(), Seed::new(1));
    let mut c = phone_cfg(&h, A, "wrong");
    c.retry_times = 2;
    h.add_phone(c, ip("198.51.100.11"), None, Seed::new(1));
    h.with_phone(0, |p, now| p.register(now)).unwrap();
    h.run_for(Duration::from_secs(30));
    assert_eq!(
        h.names(0),
        [
            "sip-register-retry(401)",
            "sip-register-retry(401)",
            "onRegisterFailure(401)"
        ]
    );
}

#[test]
fn expires_above_3600_is_refused_by_the_api() {
    let mut h = Harness::new(server_cfg(), Seed::new(1));
    let mut c = phone_cfg(&h, A, "pa");
    c.register_expires = 7200;
    h.add_phone(c, ip("198.51.100.11"), None, Seed::new(1));
    let r = h.with_phone(0, |p, now| p.register(now));
    assert_eq!(r.unwrap_err().code, 70004);
    assert_eq!(h.names(0), ["registerServer(70004)"]);
    assert!(h.wire.is_empty());
}

#[test]
fn re_registers_before_expiry_and_stale_nonce_is_retried() {
    let mut cfg = server_cfg();
    cfg.nonce_lifetime = Duration::from_secs(30);
    let mut h = Harness::new(cfg, Seed::new(2));
    let mut c = phone_cfg(&h, A, "pa");
    c.register_expires = 60;
    h.add_phone(c, ip("198.51.100.11"), None, Seed::new(2));
    h.with_phone(0, |p, now| p.register(now)).unwrap();
    h.run_for(Duration::from_secs(130));
    let ok: Vec<SimInstant> = h
        .events(0)
        .iter()
        .filter(|(_, e)| matches!(e, SoftphoneEvent::RegisterSuccess { .. }))
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(ok.len(), 3, "{:?}", h.names(0));
    assert!(
        ok[1] > SimInstant::from_micros(55_000_000) && ok[1] < SimInstant::from_micros(56_000_000)
    );
    assert!(
        h.wire.iter().any(|w| w.3.contains("stale=true")),
        "refresh after nonce expiry is stale"
    );
    assert_eq!(h.server.bindings_of(A).len(), 1);
}

#[test]
fn call_answer_and_bye() {
    let mut h = two_phones(server_cfg(), SipTransport::Udp);
    let s = call(&mut h, 0, B);
    h.run_for(Duration::from_secs(1));
    let inc = incoming_session(&h, 1);
    h.with_phone(1, |p, now| p.answer_call(now, inc)).unwrap();
    h.run_for(Duration::from_secs(1));
    assert_eq!(
        h.names(0),
        [
            "onInviteTrying(100)",
            "onInviteRinging(180)",
            "onInviteAnswered(200)",
            "onInviteConnected"
        ]
    );
    assert_eq!(h.names(1), ["onInviteIncoming", "onInviteConnected"]);
    assert!(h.phone(0).is_connected(s));
    assert_eq!(h.server.live_calls(), 1);
    // The BYE follows the Record-Route through the proxy.
    h.with_phone(0, |p, now| p.hangup(now, s)).unwrap();
    h.run_for(Duration::from_secs(1));
    assert_eq!(last(&h, 1), "onInviteClosed");
    let bye = h.wire.iter().find(|w| w.3.starts_with("BYE")).unwrap();
    assert!(bye.3.contains("Route: <sip:203.0.113.10:5060;lr>"));
    assert_eq!(h.server.live_calls(), 0);
}

#[test]
fn cancel_gives_487_to_the_caller_and_closes_the_callee() {
    let mut h = two_phones(server_cfg(), SipTransport::Udp);
    let s = call(&mut h, 0, B);
    h.run_for(Duration::from_secs(1));
    h.with_phone(0, |p, now| p.hangup(now, s)).unwrap();
    h.run_for(Duration::from_secs(2));
    assert_eq!(last(&h, 0), "onInviteFailure(487)");
    assert_eq!(h.names(1), ["onInviteIncoming", "onInviteClosed"]);
    assert!(h.wire.iter().any(|w| w.3.starts_with("CANCEL")));
}

#[test]
fn callee_not_registered_480_and_unknown_404() {
    let mut h = two_phones(server_cfg(), SipTransport::Udp);
    call(&mut h, 0, C);
    h.run_for(Duration::from_secs(1));
    assert_eq!(last(&h, 0), "onInviteFailure(480)");
    assert_eq!(failure_reason(&h, 0), "Temporarily Unavailable");
    call(&mut h, 0, "380509999999");
    h.run_for(Duration::from_secs(1));
    assert_eq!(last(&h, 0), "onInviteFailure(404)");
    assert_eq!(failure_reason(&h, 0), "Not found");
    assert!(
        h.wire
            .iter()
            .any(|w| w.3.starts_with("SIP/2.0 404 Not found"))
    );
}

#[test]
fn callee_gone_gives_proxy_408_after_timer_b() {
    let mut h = two_phones(server_cfg(), SipTransport::Udp);
    h.blackholed.push(ip("198.51.100.12"));
    let start = h.now;
    call(&mut h, 0, B);
    h.run_for(Duration::from_secs(40));
    assert_eq!(h.names(0), ["onInviteTrying(100)", "onInviteFailure(408)"]);
    let (at, _) = h
        .events(0)
        .iter()
        .find(|(_, e)| matches!(e, SoftphoneEvent::InviteFailure { .. }))
        .unwrap();
    let waited = at.saturating_since(start);
    assert!(
        waited >= Duration::from_secs(32) && waited < Duration::from_secs(33),
        "{waited:?}"
    );
    assert!(h.server_names().contains(&"sip-response(408)".to_string()));
}

#[test]
fn server_unreachable_gives_local_408_to_register() {
    let mut h = Harness::new(server_cfg(), Seed::new(1));
    h.blackholed.push(Harness::SERVER_IP);
    let c = phone_cfg(&h, A, "pa");
    h.add_phone(c, ip("198.51.100.11"), None, Seed::new(1));
    h.with_phone(0, |p, now| p.register(now)).unwrap();
    h.run_for(Duration::from_secs(40));
    assert_eq!(h.names(0), ["onRegisterFailure(408)"]);
    let (at, _) = h.events(0)[0];
    assert_eq!(at, SimInstant::from_micros(32_000_000));
}

#[test]
fn retransmission_recovers_from_loss() {
    let mut h = Harness::new(server_cfg(), Seed::new(1));
    h.drops.push(DropRule {
        from: Some(ip("198.51.100.11")),
        contains: Some("REGISTER".into()),
        count: 2,
        ..DropRule::default()
    });
    let c = phone_cfg(&h, A, "pa");
    h.add_phone(c, ip("198.51.100.11"), None, Seed::new(1));
    h.with_phone(0, |p, now| p.register(now)).unwrap();
    h.run_for(Duration::from_secs(5));
    assert_eq!(h.names(0), ["onRegisterSuccess(200)"]);
    let (at, _) = h.events(0)[0];
    assert!(
        at > SimInstant::from_micros(1_500_000),
        "after two Timer E retransmissions"
    );
}

#[test]
fn invite_retransmission_absorbed_by_the_proxy() {
    let mut h = two_phones(server_cfg(), SipTransport::Udp);
    // The proxy's 100 Trying to A is lost twice: A retransmits; the proxy answers from its
    // server transaction and forwards the INVITE once.
    h.drops.push(DropRule {
        from: Some(Harness::SERVER_IP),
        to: Some(ip("198.51.100.11")),
        contains: Some("100 Trying".into()),
        count: 1,
    });
    h.drops.push(DropRule {
        from: Some(Harness::SERVER_IP),
        to: Some(ip("198.51.100.12")),
        contains: Some("INVITE".into()),
        count: 0,
    });
    call(&mut h, 0, B);
    h.run_for(Duration::from_secs(3));
    let to_b = h
        .wire
        .iter()
        .filter(|w| w.2.ip() == ip("198.51.100.12") && w.3.starts_with("INVITE"))
        .count();
    assert_eq!(to_b, 1);
    assert_eq!(h.names(1), ["onInviteIncoming"]);
}

#[test]
fn tcp_call_and_dead_flow_gives_477() {
    let mut h = two_phones(server_cfg(), SipTransport::Tcp);
    assert_eq!(h.binding_protocol(B), Some(Protocol::Tcp));
    let s = call(&mut h, 0, B);
    h.run_for(Duration::from_secs(1));
    let inc = incoming_session(&h, 1);
    h.with_phone(1, |p, now| p.answer_call(now, inc)).unwrap();
    h.run_for(Duration::from_secs(1));
    assert_eq!(last(&h, 0), "onInviteConnected");
    h.with_phone(0, |p, now| p.hangup(now, s)).unwrap();
    h.run_for(Duration::from_secs(1));
    assert_eq!(last(&h, 1), "onInviteClosed");
    h.kill_tcp_at_server(1);
    h.clear_events();
    call(&mut h, 0, B);
    h.run_for(Duration::from_secs(1));
    assert_eq!(h.names(0), ["onInviteTrying(100)", "onInviteFailure(477)"]);
    assert_eq!(failure_reason(&h, 0), "Send Failed");
}

#[test]
fn nat_with_rport_registers_and_receives_calls_without_rport_times_out() {
    for (rport, expect) in [
        (true, "onRegisterSuccess(200)"),
        (false, "onRegisterFailure(408)"),
    ] {
        let mut h = Harness::new(server_cfg(), Seed::new(3));
        let mut nc = NatConfig::new(
            Behaviour::EndpointIndependent,
            Behaviour::AddressAndPortDependent,
            vec![ip("198.51.100.200")],
        );
        nc.port_allocation = PortAllocation::Sequential;
        nc.port_range = 20000..=20100;
        let nat = h.add_nat(nc, Seed::new(3));
        let mut c = phone_cfg(&h, A, "pa");
        c.rport = rport;
        h.add_phone(c, ip("192.168.1.10"), Some(nat), Seed::new(3));
        let c = phone_cfg(&h, B, "pb");
        h.add_phone(c, ip("198.51.100.12"), None, Seed::new(3));
        h.with_phone(0, |p, now| p.register(now)).unwrap();
        h.with_phone(1, |p, now| p.register(now)).unwrap();
        h.run_for(Duration::from_secs(40));
        assert_eq!(h.names(0), [expect], "rport {rport}");
        if rport {
            let b = &h.server.bindings_of(A)[0];
            assert_eq!(b.flow.remote(), "198.51.100.200:20000".parse().unwrap());
            call(&mut h, 1, A);
            h.run_for(Duration::from_secs(1));
            assert_eq!(h.names(0).last().unwrap(), "onInviteIncoming");
        }
    }
}

#[test]
fn keep_alive_sends_crlf_and_gets_pong() {
    let mut h = Harness::new(server_cfg(), Seed::new(1));
    let mut c = phone_cfg(&h, A, "pa");
    c.keep_alive = Duration::from_secs(30);
    h.add_phone(c, ip("198.51.100.11"), None, Seed::new(1));
    h.with_phone(0, |p, now| p.register(now)).unwrap();
    h.run_for(Duration::from_secs(61));
    let pings = h.wire.iter().filter(|w| w.3 == "\r\n\r\n").count();
    let pongs = h.wire.iter().filter(|w| w.3 == "\r\n").count();
    assert_eq!((pings, pongs), (2, 2));
}

#[test]
fn hold_unhold_refer_dtmf_and_message() {
    let mut h = two_phones(server_cfg(), SipTransport::Udp);
    let s = call(&mut h, 0, B);
    let r = h.with_phone(0, |p, now| p.hold(now, s));
    assert_eq!(r.unwrap_err().code, 171_141, "hold before connected");
    h.run_for(Duration::from_secs(1));
    let inc = incoming_session(&h, 1);
    h.with_phone(1, |p, now| p.answer_call(now, inc)).unwrap();
    h.run_for(Duration::from_secs(1));
    h.clear_events();
    h.with_phone(0, |p, now| p.hold(now, s)).unwrap();
    h.run_for(Duration::from_secs(1));
    h.with_phone(0, |p, now| p.unhold(now, s)).unwrap();
    h.run_for(Duration::from_secs(1));
    assert_eq!(h.names(1), ["onRemoteHold", "onRemoteUnHold"]);
    h.run_for(Duration::from_secs(5));
    let ok_from_b = h
        .wire
        .iter()
        .filter(|w| w.1.ip() == ip("198.51.100.12") && w.3.starts_with("SIP/2.0 200 OK"))
        .filter(|w| w.3.contains(" INVITE\r\n"))
        .count();
    assert_eq!(
        ok_from_b, 3,
        "each 2xx sent once: the ACKs stop retransmission"
    );
    h.with_phone(0, |p, now| p.send_dtmf(now, s, 11, DtmfMethod::Info))
        .unwrap();
    h.with_phone(0, |p, now| p.send_dtmf(now, s, 5, DtmfMethod::Rfc2833))
        .unwrap();
    let bad = h.with_phone(0, |p, now| p.send_dtmf(now, s, 17, DtmfMethod::Info));
    assert_eq!(bad.unwrap_err().code, 220_106);
    h.run_for(Duration::from_secs(1));
    let tones: Vec<(u8, DtmfMethod)> = h
        .events(1)
        .iter()
        .filter_map(|(_, e)| match e {
            SoftphoneEvent::RecvDtmfTone { tone, method, .. } => Some((*tone, *method)),
            _ => None,
        })
        .collect();
    assert_eq!(tones.len(), 2);
    assert!(tones.contains(&(11, DtmfMethod::Info)));
    assert!(tones.contains(&(5, DtmfMethod::Rfc2833)));
    let to = C.to_string();
    h.with_phone(0, |p, now| p.refer(now, s, &to)).unwrap();
    h.run_for(Duration::from_secs(1));
    assert!(h.names(1).contains(&"onReceivedRefer".to_string()));
    assert_eq!(last(&h, 0), "onReferAccepted");
    let id = h.with_phone(0, |p, now| p.send_message(now, B, "hello"));
    h.run_for(Duration::from_secs(1));
    assert!(
        h.events(0)
            .iter()
            .any(|(_, e)| *e == SoftphoneEvent::SendMessageSuccess { message_id: id })
    );
    assert!(h.events(1).iter().any(
        |(_, e)| matches!(e, SoftphoneEvent::RecvOutOfDialogMessage { text, .. } if text == "hello")
    ));
}

/// Places one call from A to B under `policy` and returns A's last callback and the reason.
fn trunk_call(policy: Policy, prep: impl FnOnce(&mut Harness)) -> (String, String) {
    let mut h = two_phones(server_cfg(), SipTransport::Udp);
    h.with_server(|s, now| s.set_policy(now, policy));
    prep(&mut h);
    h.clear_events();
    call(&mut h, 0, B);
    h.run_for(Duration::from_secs(2));
    (last(&h, 0), failure_reason(&h, 0))
}

fn base_policy() -> Policy {
    Policy {
        check_rack: true,
        ..Policy::default()
    }
}

#[test]
fn trunk_rows_from_policy() {
    let mut p = base_policy();
    p.balance_exhausted.insert(A.into());
    assert_eq!(
        trunk_call(p, |_| {}),
        ("onInviteFailure(409)".into(), "Not enough money".into())
    );

    let mut p = base_policy();
    p.blocked.entry(B.into()).or_default().insert(A.into());
    assert_eq!(
        trunk_call(p, |_| {}),
        ("onInviteFailure(607)".into(), "Unwanted".into())
    );

    let mut p = base_policy();
    p.decline.insert(B.into());
    assert_eq!(
        trunk_call(p, |_| {}),
        ("onInviteFailure(603)".into(), "Declined".into())
    );

    let mut p = base_policy();
    p.busy.insert(B.into());
    assert_eq!(
        trunk_call(p, |_| {}),
        ("onInviteFailure(486)".into(), "Busy Here".into())
    );

    let mut p = base_policy();
    p.number_format = Some(NumberFormat {
        digits_only: true,
        min_len: 12,
        max_len: 12,
        prefix: Some("38067".into()),
    });
    assert_eq!(
        trunk_call(p, |_| {}),
        ("onInviteFailure(403)".into(), "Invalid Phone Number".into())
    );

    let mut p = base_policy();
    p.encryption = Some(Encryption::SrtpOnly);
    assert_eq!(
        trunk_call(p, |_| {}),
        ("onInviteFailure(488)".into(), "Not Acceptable Here".into())
    );

    for (f, code, phrase) in [
        (RouteFailure::NotImplemented501, 501, "Not Implemented"),
        (RouteFailure::BadGateway502, 502, "Bad Gateway"),
    ] {
        let mut p = base_policy();
        p.disabled_routes.push(DisabledRoute {
            prefix: "38050".into(),
            failure: f,
        });
        assert_eq!(
            trunk_call(p, |_| {}),
            (format!("onInviteFailure({code})"), phrase.into())
        );
    }

    let mut p = base_policy();
    p.outage = Some(Outage::Internal500);
    assert_eq!(
        trunk_call(p, |_| {}),
        ("onInviteFailure(500)".into(), "Service Unavailable".into())
    );

    let mut p = base_policy();
    p.unavailable.insert(B.into());
    assert_eq!(
        trunk_call(p, |_| {}),
        (
            "onInviteFailure(480)".into(),
            "Temporarily Unavailable".into()
        )
    );

    let mut p = base_policy();
    p.allowed_ips.insert(A.into(), vec![ip("198.51.100.99")]);
    assert_eq!(
        trunk_call(p, |_| {}),
        (
            "onInviteFailure(407)".into(),
            "Proxy Authentication Required".into()
        )
    );
}

#[test]
fn ip_authorisation_accepts_the_registered_address() {
    let mut p = base_policy();
    p.allowed_ips.insert(A.into(), vec![ip("198.51.100.11")]);
    let (last, _) = trunk_call(p, |_| {});
    assert_eq!(last, "onInviteRinging(180)");
}

#[test]
fn digest_proxy_auth_for_invite_is_answered() {
    let mut p = base_policy();
    p.invite_auth = crate::server::InviteAuth::Digest;
    let (last, _) = trunk_call(p, |_| {});
    assert_eq!(last, "onInviteRinging(180)");
}

#[test]
fn concurrent_call_limit_counts_live_calls() {
    let mut p = base_policy();
    p.max_concurrent_calls = Some(1);
    let mut h = two_phones(server_cfg(), SipTransport::Udp);
    h.with_server(|s, now| s.set_policy(now, p));
    call(&mut h, 0, B);
    h.run_for(Duration::from_secs(1));
    let inc = incoming_session(&h, 1);
    h.with_phone(1, |p, now| p.answer_call(now, inc)).unwrap();
    h.run_for(Duration::from_secs(1));
    let first = h.sessions(0)[0];
    call(&mut h, 0, B);
    h.run_for(Duration::from_secs(1));
    assert_eq!(last(&h, 0), "onInviteFailure(503)");
    assert_eq!(failure_reason(&h, 0), "Simultaneous calls limit reached");
    h.with_phone(0, |p, now| p.hangup(now, first)).unwrap();
    h.run_for(Duration::from_secs(1));
    call(&mut h, 0, B);
    h.run_for(Duration::from_secs(1));
    assert_eq!(
        last(&h, 0),
        "onInviteRinging(180)",
        "the limit frees when the call ends"
    );
}

#[test]
fn x_fwd_original_412_500_and_accepted() {
    let mut h = two_phones(server_cfg(), SipTransport::Udp);
    let fwd = |v: &str| vec![("X-FWD-ORIGINAL".to_string(), v.to_string())];
    let bad = fwd("not-a-number");
    h.with_phone(0, |p, now| p.call(now, B, &bad)).unwrap();
    h.run_for(Duration::from_secs(1));
    assert_eq!(last(&h, 0), "onInviteFailure(500)");
    assert_eq!(
        failure_reason(&h, 0),
        "Service Unavailable. X-FWD-Original incorrect"
    );
    let never = fwd(C);
    h.with_phone(0, |p, now| p.call(now, B, &never)).unwrap();
    h.run_for(Duration::from_secs(1));
    assert_eq!(last(&h, 0), "onInviteFailure(412)");
    assert_eq!(failure_reason(&h, 0), "Invalid Number");
    // B calls A: now B's number has crossed the trunk and may be named.
    call(&mut h, 1, A);
    h.run_for(Duration::from_secs(1));
    let crossed = fwd(B);
    h.with_phone(0, |p, now| p.call(now, B, &crossed)).unwrap();
    h.run_for(Duration::from_secs(1));
    assert_eq!(last(&h, 0), "onInviteRinging(180)");
}

#[test]
fn wrong_rack_gives_481() {
    let mut h = Harness::new(server_cfg(), Seed::new(5));
    let mut a = phone_cfg(&h, A, "pa");
    a.prack = PrackMode::Supported;
    a.faults.wrong_rack = true;
    let mut b = phone_cfg(&h, B, "pb");
    b.prack = PrackMode::Required;
    h.add_phone(a, ip("198.51.100.11"), None, Seed::new(5));
    h.add_phone(b, ip("198.51.100.12"), None, Seed::new(5));
    h.with_phone(0, |p, now| p.register(now)).unwrap();
    h.with_phone(1, |p, now| p.register(now)).unwrap();
    h.run_for(Duration::from_secs(1));
    h.clear_events();
    call(&mut h, 0, B);
    h.run_for(Duration::from_secs(3));
    assert_eq!(last(&h, 0), "onInviteFailure(481)");
    assert!(
        h.wire
            .iter()
            .any(|w| w.3.starts_with("PRACK") && w.3.contains("RAck: "))
    );
    assert_eq!(
        last(&h, 1),
        "onInviteClosed",
        "the proxy cancelled the callee's leg"
    );
}

#[test]
fn right_rack_completes_the_prack() {
    let mut h = Harness::new(server_cfg(), Seed::new(5));
    let mut a = phone_cfg(&h, A, "pa");
    a.prack = PrackMode::Supported;
    let mut b = phone_cfg(&h, B, "pb");
    b.prack = PrackMode::Required;
    h.add_phone(a, ip("198.51.100.11"), None, Seed::new(5));
    h.add_phone(b, ip("198.51.100.12"), None, Seed::new(5));
    h.with_phone(0, |p, now| p.register(now)).unwrap();
    h.with_phone(1, |p, now| p.register(now)).unwrap();
    h.run_for(Duration::from_secs(1));
    call(&mut h, 0, B);
    h.run_for(Duration::from_secs(2));
    assert!(
        h.wire
            .iter()
            .any(|w| w.3.starts_with("SIP/2.0 200 OK") && w.3.contains("PRACK"))
    );
    assert_eq!(last(&h, 0), "onInviteRinging(180)");
}

#[test]
fn malformed_request_gets_400() {
    let mut h = two_phones(server_cfg(), SipTransport::Udp);
    h.phone(0);
    let mut c = phone_cfg(&h, C, "pc");
    c.faults.omit_header = Some("Max-Forwards".into());
    h.add_phone(c, ip("198.51.100.13"), None, Seed::new(7));
    h.with_phone(2, |p, now| p.register(now)).unwrap();
    h.run_for(Duration::from_secs(1));
    assert_eq!(h.names(2), ["onRegisterFailure(400)"]);
    // Garbage is counted, never answered.
    let before = h.server.malformed_count();
    h.with_server(|s, now| {
        sim_core::Node::handle_datagram(
            s,
            now,
            sim_core::Datagram {
                src: "198.51.100.13:5060".parse().unwrap(),
                dst: "203.0.113.10:5060".parse().unwrap(),
                payload: bytes::Bytes::from_static(b"\x00\x01garbage"),
            },
        );
    });
    assert_eq!(h.server.malformed_count(), before + 1);
}

#[test]
fn callee_decisions_reject_dnd_and_srtp() {
    let mut h = two_phones(server_cfg(), SipTransport::Udp);
    call(&mut h, 0, B);
    h.run_for(Duration::from_secs(1));
    let inc = incoming_session(&h, 1);
    h.with_phone(1, |p, now| p.reject(now, inc, 486)).unwrap();
    h.run_for(Duration::from_secs(1));
    assert_eq!(last(&h, 0), "onInviteFailure(486)");
    h.phone(1).set_dnd(true);
    call(&mut h, 0, B);
    h.run_for(Duration::from_secs(1));
    assert_eq!(last(&h, 0), "onInviteFailure(486)");
    h.phone(1).set_dnd(false);

    let mut h = Harness::new(server_cfg(), Seed::new(9));
    let mut a = phone_cfg(&h, A, "pa");
    a.srtp = SrtpPolicy::Force;
    h.add_phone(a, ip("198.51.100.11"), None, Seed::new(9));
    let b = phone_cfg(&h, B, "pb");
    h.add_phone(b, ip("198.51.100.12"), None, Seed::new(9));
    h.with_phone(0, |p, now| p.register(now)).unwrap();
    h.with_phone(1, |p, now| p.register(now)).unwrap();
    h.run_for(Duration::from_secs(1));
    call(&mut h, 0, B);
    h.run_for(Duration::from_secs(1));
    assert_eq!(last(&h, 0), "onInviteFailure(488)");
    assert!(h.wire.iter().any(|w| w.3.contains("m=audio 4000 RTP/SAVP")));
}

#[test]
fn binding_expires_at_the_server() {
    let mut h = Harness::new(server_cfg(), Seed::new(1));
    let mut c = phone_cfg(&h, A, "pa");
    c.register_expires = 60;
    h.add_phone(c, ip("198.51.100.11"), None, Seed::new(1));
    h.with_phone(0, |p, now| p.register(now)).unwrap();
    h.run_for(Duration::from_secs(1));
    h.blackholed.push(ip("198.51.100.11"));
    h.run_for(Duration::from_secs(100));
    assert!(
        h.server_names()
            .contains(&"sip-binding-expired".to_string())
    );
    assert!(h.server.bindings_of(A).is_empty());
    assert_eq!(last(&h, 0), "onRegisterFailure(408)");
}

#[test]
fn unregister_removes_the_binding() {
    let mut h = two_phones(server_cfg(), SipTransport::Udp);
    h.with_phone(0, |p, now| p.unregister(now));
    h.run_for(Duration::from_secs(1));
    assert_eq!(h.names(0), ["sip-unregistered(200)"]);
    assert!(h.server.bindings_of(A).is_empty());
    assert!(h.server_names().contains(&"sip-unregistered".to_string()));
}

#[test]
fn timer_c_ends_a_call_that_rings_forever() {
    let mut h = two_phones(server_cfg(), SipTransport::Udp);
    let start = h.now;
    call(&mut h, 0, B);
    h.run_for(Duration::from_secs(200));
    assert_eq!(
        h.names(0),
        [
            "onInviteTrying(100)",
            "onInviteRinging(180)",
            "onInviteFailure(408)"
        ]
    );
    let (at, _) = h.events(0)[2];
    let waited = at.saturating_since(start);
    assert!(
        waited >= Duration::from_secs(181) && waited < Duration::from_secs(182),
        "{waited:?}"
    );
    assert_eq!(
        h.names(1),
        ["onInviteIncoming", "onInviteClosed"],
        "the proxy cancelled B's leg"
    );
}

#[test]
fn nat_reboot_with_new_public_address_turns_ip_auth_into_407() {
    let mut h = Harness::new(server_cfg(), Seed::new(4));
    let nc = NatConfig::new(
        Behaviour::EndpointIndependent,
        Behaviour::EndpointIndependent,
        vec![ip("198.51.100.200")],
    );
    let nat = h.add_nat(nc, Seed::new(4));
    let mut policy = base_policy();
    policy
        .allowed_ips
        .insert(A.into(), vec![ip("198.51.100.200")]);
    h.with_server(|s, now| s.set_policy(now, policy));
    let a = phone_cfg(&h, A, "pa");
    h.add_phone(a, ip("192.168.1.10"), Some(nat), Seed::new(4));
    let b = phone_cfg(&h, B, "pb");
    h.add_phone(b, ip("198.51.100.12"), None, Seed::new(4));
    h.with_phone(0, |p, now| p.register(now)).unwrap();
    h.with_phone(1, |p, now| p.register(now)).unwrap();
    h.run_for(Duration::from_secs(1));
    let s = call(&mut h, 0, B);
    h.run_for(Duration::from_secs(1));
    assert_eq!(last(&h, 0), "onInviteRinging(180)");
    h.with_phone(0, |p, now| p.hangup(now, s)).unwrap();
    h.run_for(Duration::from_secs(1));
    h.nat(nat).reboot(Some(vec![ip("198.51.100.201")]));
    call(&mut h, 0, B);
    h.run_for(Duration::from_secs(1));
    assert_eq!(last(&h, 0), "onInviteFailure(407)");
    let challenges = h
        .wire
        .iter()
        .filter(|w| w.3.starts_with("SIP/2.0 407"))
        .count();
    assert_eq!(
        challenges, 2,
        "challenge, answered, refused again: the UA stops"
    );
}

#[test]
fn tcp_behind_nat_and_options_keep_alive() {
    let mut h = Harness::new(server_cfg(), Seed::new(6));
    let nc = NatConfig::new(
        Behaviour::EndpointIndependent,
        Behaviour::AddressAndPortDependent,
        vec![ip("198.51.100.200")],
    );
    let nat = h.add_nat(nc, Seed::new(6));
    let mut a = phone_cfg(&h, A, "pa");
    a.transport = SipTransport::Tcp;
    h.add_phone(a, ip("192.168.1.10"), Some(nat), Seed::new(6));
    let mut b = phone_cfg(&h, B, "pb");
    b.keep_alive = Duration::from_secs(30);
    b.keep_alive_kind = crate::ua::KeepAliveKind::Options;
    h.add_phone(b, ip("198.51.100.12"), None, Seed::new(6));
    h.with_phone(0, |p, now| p.register(now)).unwrap();
    h.with_phone(1, |p, now| p.register(now)).unwrap();
    h.run_for(Duration::from_secs(31));
    assert_eq!(h.names(0), ["onRegisterSuccess(200)"]);
    assert_eq!(h.binding_protocol(A), Some(Protocol::Tcp));
    assert!(
        h.wire
            .iter()
            .any(|w| w.3.starts_with("OPTIONS sip:sip.natlab.test"))
    );
    assert!(
        h.wire
            .iter()
            .any(|w| w.3.starts_with("SIP/2.0 200 OK") && w.3.contains("OPTIONS"))
    );
    call(&mut h, 1, A);
    h.run_for(Duration::from_secs(1));
    assert_eq!(last(&h, 0), "onInviteIncoming");
}

#[test]
fn truncated_and_mutated_wire_messages_never_panic_server_or_phone() {
    let mut h = two_phones(server_cfg(), SipTransport::Udp);
    let s = call(&mut h, 0, B);
    h.run_for(Duration::from_secs(1));
    let inc = incoming_session(&h, 1);
    h.with_phone(1, |p, now| p.answer_call(now, inc)).unwrap();
    h.run_for(Duration::from_secs(1));
    h.with_phone(0, |p, now| p.hold(now, s)).unwrap();
    h.run_for(Duration::from_secs(1));
    h.with_phone(0, |p, now| p.hangup(now, s)).unwrap();
    h.run_for(Duration::from_secs(1));
    let corpus: Vec<String> = h.wire.iter().map(|w| w.3.clone()).collect();
    assert!(corpus.len() > 10);
    let mut server = crate::SipServer::new(server_cfg(), Seed::new(1).rng());
    let mut phone = crate::Softphone::new(phone_cfg(&h, A, "pa"), Seed::new(2).rng());
    let src: std::net::SocketAddr = "198.51.100.12:5060".parse().unwrap();
    let dst: std::net::SocketAddr = "203.0.113.10:5060".parse().unwrap();
    let mut now = SimInstant::ZERO;
    sim_core::Node::handle_stream(
        &mut server,
        SimInstant::ZERO,
        sim_core::StreamEvent::Accepted {
            id: sim_core::StreamId(sim_core::StreamId::ACCEPTED | 1),
            local: dst,
            remote: src,
        },
    );
    let mut feed = |bytes: Vec<u8>| {
        now += Duration::from_millis(1);
        let d = sim_core::Datagram {
            src,
            dst,
            payload: bytes::Bytes::from(bytes),
        };
        sim_core::Node::handle_datagram(&mut server, now, d.clone());
        sim_core::Node::handle_datagram(&mut phone, now, d.clone());
        sim_core::Node::handle_stream(
            &mut server,
            now,
            sim_core::StreamEvent::Data {
                id: sim_core::StreamId(sim_core::StreamId::ACCEPTED | 1),
                data: d.payload,
            },
        );
        while sim_core::Node::poll_transmit(&mut server).is_some() {}
        while sim_core::Node::poll_transmit(&mut phone).is_some() {}
        while sim_core::Node::poll_event(&mut server).is_some() {}
        while sim_core::Node::poll_event(&mut phone).is_some() {}
    };
    for m in &corpus {
        let b = m.as_bytes();
        for n in (0..b.len()).step_by(7) {
            feed(b[..n].to_vec());
        }
        for i in (0..b.len()).step_by(5) {
            for x in [b':', b';', b'<', b'"', b' ', b'\r', b'0', 0xff] {
                let mut v = b.to_vec();
                v[i] = x;
                feed(v);
            }
        }
    }
    for _ in 0..3 {
        let t = sim_core::Node::poll_timeout(&server).unwrap_or(now);
        sim_core::Node::handle_timeout(&mut server, t.max(now));
        let t = sim_core::Node::poll_timeout(&phone).unwrap_or(now);
        sim_core::Node::handle_timeout(&mut phone, t.max(now));
    }
}

fn three_phones() -> Harness {
    let mut h = two_phones(server_cfg(), SipTransport::Udp);
    let c = phone_cfg(&h, C, "pc");
    h.add_phone(c, ip("198.51.100.13"), None, Seed::new(8));
    h.with_phone(2, |p, now| p.register(now)).unwrap();
    h.run_for(Duration::from_secs(1));
    h.clear_events();
    h
}

fn connect(h: &mut Harness, from: usize, to: usize, to_user: &str) -> (u32, u32) {
    let s = call(h, from, to_user);
    h.run_for(Duration::from_secs(1));
    let inc = h
        .events(to)
        .iter()
        .rev()
        .find_map(|(_, e)| match e {
            SoftphoneEvent::InviteIncoming { session, .. } => Some(*session),
            _ => None,
        })
        .unwrap();
    h.with_phone(to, |p, now| p.answer_call(now, inc)).unwrap();
    h.run_for(Duration::from_secs(1));
    (s, inc)
}

#[test]
fn blind_transfer_with_refer_and_notify() {
    let mut h = three_phones();
    let (s, inc) = connect(&mut h, 0, 1, B);
    let to = C.to_string();
    h.with_phone(0, |p, now| p.refer(now, s, &to)).unwrap();
    h.run_for(Duration::from_secs(1));
    let refer_id = h
        .events(1)
        .iter()
        .find_map(|(_, e)| match e {
            SoftphoneEvent::ReceivedRefer {
                refer_id,
                to,
                session,
                ..
            } => {
                assert_eq!(*session, inc);
                assert_eq!(to, "sip:380501110003@sip.natlab.test");
                Some(*refer_id)
            }
            _ => None,
        })
        .unwrap();
    let new = h
        .with_phone(1, |p, now| p.accept_refer(now, refer_id))
        .unwrap();
    h.run_for(Duration::from_secs(1));
    let c_inc = incoming_session(&h, 2);
    h.with_phone(2, |p, now| p.answer_call(now, c_inc)).unwrap();
    h.run_for(Duration::from_secs(1));
    assert!(h.phone(1).is_connected(new));
    let a = h.names(0);
    assert!(a.contains(&"onReferAccepted".to_string()), "{a:?}");
    assert!(a.contains(&"onTransferTrying".to_string()), "{a:?}");
    assert_eq!(a.last().unwrap(), "onACTVTransferSuccess");
}

#[test]
fn early_media_183_reliable_with_prack_mode_1() {
    let mut h = Harness::new(server_cfg(), Seed::new(5));
    let mut a = phone_cfg(&h, A, "pa");
    a.prack = PrackMode::SupportedEssential;
    let mut b = phone_cfg(&h, B, "pb");
    b.prack = PrackMode::SupportedEssential;
    b.early_media = true;
    h.add_phone(a, ip("198.51.100.11"), None, Seed::new(5));
    h.add_phone(b, ip("198.51.100.12"), None, Seed::new(5));
    h.with_phone(0, |p, now| p.register(now)).unwrap();
    h.with_phone(1, |p, now| p.register(now)).unwrap();
    h.run_for(Duration::from_secs(1));
    h.clear_events();
    call(&mut h, 0, B);
    h.run_for(Duration::from_secs(1));
    assert_eq!(
        h.names(0),
        ["onInviteTrying(100)", "onInviteSessionProgress(183)"]
    );
    assert!(h.events(0).iter().any(|(_, e)| matches!(
        e,
        SoftphoneEvent::InviteSessionProgress {
            early_media: true,
            ..
        }
    )));
    let reliable = h
        .wire
        .iter()
        .find(|w| w.3.starts_with("SIP/2.0 183"))
        .unwrap();
    assert!(reliable.3.contains("RSeq: ") && reliable.3.contains("Require: 100rel"));
    assert!(h.wire.iter().any(|w| w.3.starts_with("PRACK")));
}

#[test]
fn session_timer_refreshes_with_re_invite() {
    let mut h = Harness::new(server_cfg(), Seed::new(5));
    let mut a = phone_cfg(&h, A, "pa");
    a.session_timer = Some(90);
    h.add_phone(a, ip("198.51.100.11"), None, Seed::new(5));
    let b = phone_cfg(&h, B, "pb");
    h.add_phone(b, ip("198.51.100.12"), None, Seed::new(5));
    h.with_phone(0, |p, now| p.register(now)).unwrap();
    h.with_phone(1, |p, now| p.register(now)).unwrap();
    h.run_for(Duration::from_secs(1));
    h.clear_events();
    connect(&mut h, 0, 1, B);
    h.run_for(Duration::from_secs(100));
    let updates = h
        .names(1)
        .iter()
        .filter(|n| *n == "onInviteUpdated")
        .count();
    assert_eq!(updates, 2, "refresh at 45 s and 90 s: {:?}", h.names(1));
    assert!(
        h.wire
            .iter()
            .any(|w| w.3.starts_with("INVITE") && w.3.contains("Session-Expires: 90"))
    );
}

/// Scale check (run with `--ignored --release`): 10,000 softphones behind 100 NATs register
/// with digest and refresh every 10 minutes for one simulated hour.
#[test]
#[ignore = "scale benchmark"]
fn scale_10k_phones_behind_100_nats_one_hour() {
    let accounts: Vec<(String, String)> = (0..10_000)
        .map(|i| (format!("3805{i:08}"), format!("p{i}")))
        .collect();
    let refs: Vec<(&str, &str)> = accounts
        .iter()
        .map(|(u, p)| (u.as_str(), p.as_str()))
        .collect();
    let mut h = Harness::new(SipServerConfig::new(DOMAIN, &refs), Seed::new(11));
    h.record = false;
    for k in 0..100u32 {
        let public = IpAddr::V4(std::net::Ipv4Addr::new(
            198,
            18,
            0,
            u8::try_from(k + 1).unwrap(),
        ));
        let mut nc = NatConfig::new(
            Behaviour::EndpointIndependent,
            Behaviour::AddressAndPortDependent,
            vec![public],
        );
        nc.port_allocation = PortAllocation::Sequential;
        nc.udp_timeout = Duration::from_secs(900);
        let nat = h.add_nat(nc, Seed::new(u64::from(k)));
        for j in 0..100u32 {
            let n = (k * 100 + j) as usize;
            let (u, p) = &accounts[n];
            let mut c = phone_cfg(&h, u, p);
            c.register_expires = 600;
            let private = IpAddr::V4(std::net::Ipv4Addr::new(
                10,
                u8::try_from(k).unwrap(),
                0,
                u8::try_from(j + 2).unwrap(),
            ));
            let i = h.add_phone(c, private, Some(nat), Seed::new(11));
            h.run_until(SimInstant::from_micros(u64::from(k * 100 + j) * 30_000));
            h.with_phone(i, |p, now| p.register(now)).unwrap();
        }
    }
    h.run_until(SimInstant::from_micros(3_600_000_000));
    let failures: usize = (0..10_000).map(|i| h.events(i).len()).sum();
    assert_eq!(failures, 0, "only failures are recorded");
    assert_eq!(
        (0..10_000).filter(|&i| h.phone(i).is_registered()).count(),
        10_000
    );
}

#[test]
fn realm_mismatch_stops_after_one_401() {
    let mut h = Harness::new(server_cfg(), Seed::new(1));
    let mut c = phone_cfg(&h, A, "pa");
    c.realm = Some("other.realm".into());
    h.add_phone(c, ip("198.51.100.11"), None, Seed::new(1));
    h.with_phone(0, |p, now| p.register(now)).unwrap();
    h.run_for(Duration::from_secs(5));
    assert_eq!(h.names(0), ["onRegisterFailure(401)"]);
    let registers = h
        .wire
        .iter()
        .filter(|w| w.3.starts_with("REGISTER"))
        .count();
    assert_eq!(
        registers, 1,
        "no credential for the realm: no second REGISTER"
    );
}

#[test]
fn sha256_challenges_are_answered() {
    let mut cfg = server_cfg();
    cfg.algorithm = crate::digest::Algorithm::Sha256;
    let mut h = Harness::new(cfg, Seed::new(1));
    let c = phone_cfg(&h, A, "pa");
    h.add_phone(c, ip("198.51.100.11"), None, Seed::new(1));
    h.with_phone(0, |p, now| p.register(now)).unwrap();
    h.run_for(Duration::from_secs(2));
    assert_eq!(h.names(0), ["onRegisterSuccess(200)"]);
    assert!(h.wire.iter().any(|w| w.3.contains("algorithm=SHA-256")));
}

#[test]
fn reliable_provisional_is_retransmitted_until_prack_then_504() {
    let mut h = Harness::new(server_cfg(), Seed::new(5));
    let mut a = phone_cfg(&h, A, "pa");
    a.prack = PrackMode::Supported;
    let mut b = phone_cfg(&h, B, "pb");
    b.prack = PrackMode::Required;
    h.add_phone(a, ip("198.51.100.11"), None, Seed::new(5));
    h.add_phone(b, ip("198.51.100.12"), None, Seed::new(5));
    h.with_phone(0, |p, now| p.register(now)).unwrap();
    h.with_phone(1, |p, now| p.register(now)).unwrap();
    h.run_for(Duration::from_secs(1));
    h.clear_events();
    h.wire.clear();
    h.drops.push(DropRule {
        from: Some(ip("198.51.100.11")),
        contains: Some("PRACK sip:".into()),
        count: 1000,
        ..DropRule::default()
    });
    call(&mut h, 0, B);
    h.run_for(Duration::from_secs(40));
    let ringing_from_b = h
        .wire
        .iter()
        .filter(|w| w.1.ip() == ip("198.51.100.12") && w.3.starts_with("SIP/2.0 180"))
        .count();
    assert_eq!(
        ringing_from_b, 7,
        "first send + retransmissions at T1, 2T1, ... within 64*T1"
    );
    assert_eq!(last(&h, 0), "onInviteFailure(504)");
    assert_eq!(h.names(1), ["onInviteIncoming", "onInviteClosed"]);
}

#[test]
fn unparseable_request_with_readable_via_gets_400() {
    let mut h = two_phones(server_cfg(), SipTransport::Udp);
    let raw = "INVITE sip:380501110002@sip.natlab.test SIP/2.0\r\n\
Via: SIP/2.0/UDP 198.51.100.11:5060;branch=z9hG4bKbroken;rport\r\n\
From: <sip:380501110001@sip.natlab.test>;tag=x\r\n\
To: <sip:380501110002@sip.natlab.test>\r\n\
Call-ID: broken@natlab\r\n\
CSeq: 1 INVITE\r\n\
this line has no colon\r\n\
Content-Length: 0\r\n\r\n";
    h.with_server(|s, now| {
        sim_core::Node::handle_datagram(
            s,
            now,
            sim_core::Datagram {
                src: "198.51.100.11:5060".parse().unwrap(),
                dst: "203.0.113.10:5060".parse().unwrap(),
                payload: bytes::Bytes::from(raw),
            },
        );
    });
    h.run_for(Duration::from_millis(100));
    let names = h.server_names();
    assert!(names.contains(&"sip-malformed".to_string()));
    assert!(
        names.contains(&"sip-response(400)".to_string()),
        "{names:?}"
    );
    assert!(
        h.wire
            .iter()
            .any(|w| w.3.starts_with("SIP/2.0 400 Bad Request") && w.3.contains("broken@natlab"))
    );
}

/// Writes the UDP payloads of a busy run to `$SIP_WIRE_DUMP` (one `src dst hex` line each),
/// for checking with tshark outside the test suite.
#[test]
#[ignore = "writes a file; run by hand with SIP_WIRE_DUMP set"]
fn dump_wire_for_tshark() {
    let Ok(path) = std::env::var("SIP_WIRE_DUMP") else {
        return;
    };
    let mut h = three_phones();
    let (s, _) = connect(&mut h, 0, 1, B);
    h.with_phone(0, |p, now| p.hold(now, s)).unwrap();
    h.run_for(Duration::from_secs(1));
    h.with_phone(0, |p, now| p.unhold(now, s)).unwrap();
    h.with_phone(0, |p, now| p.send_dtmf(now, s, 3, DtmfMethod::Info))
        .unwrap();
    h.run_for(Duration::from_secs(1));
    let to = C.to_string();
    h.with_phone(0, |p, now| p.refer(now, s, &to)).unwrap();
    h.run_for(Duration::from_secs(1));
    h.with_phone(0, |p, now| p.send_message(now, B, "hi"));
    h.with_phone(0, |p, now| p.hangup(now, s)).unwrap();
    h.run_for(Duration::from_secs(40));
    let mut out = String::new();
    for (_, src, dst, text) in &h.wire {
        let hex: String = text.bytes().map(|b| format!("{b:02x}")).collect();
        out.push_str(&format!("{src} {dst} {hex}\n"));
    }
    std::fs::write(path, out).unwrap();
}

#[test]
fn tcp_flow_dying_while_the_callee_rings_gives_477() {
    let mut h = two_phones(server_cfg(), SipTransport::Tcp);
    call(&mut h, 0, B);
    h.run_for(Duration::from_secs(1));
    assert_eq!(last(&h, 0), "onInviteRinging(180)");
    h.kill_tcp_at_server(1);
    h.run_for(Duration::from_secs(1));
    assert_eq!(last(&h, 0), "onInviteFailure(477)");
    assert!(h.server_names().contains(&"sip-response(477)".to_string()));
}

#[test]
fn interval_too_brief_is_retried_with_min_expires() {
    let mut cfg = server_cfg();
    cfg.min_expires = 120;
    let mut h = Harness::new(cfg, Seed::new(1));
    let mut c = phone_cfg(&h, A, "pa");
    c.register_expires = 60;
    h.add_phone(c, ip("198.51.100.11"), None, Seed::new(1));
    h.with_phone(0, |p, now| p.register(now)).unwrap();
    h.run_for(Duration::from_secs(2));
    assert!(
        h.wire
            .iter()
            .any(|w| w.3.starts_with("SIP/2.0 423 Interval Too Brief"))
    );
    assert!(
        h.events(0)
            .iter()
            .any(|(_, e)| matches!(e, SoftphoneEvent::RegisterSuccess { expires: 120, .. }))
    );
}

use super::*;

fn t(ms: u64) -> SimInstant {
    SimInstant::from_micros(ms * 1000)
}

fn request(method: &str) -> SipMessage {
    let m = Method::parse(method).unwrap();
    SipMessage::request(m.clone(), "sip:bob@example.com")
        .with_header("Via", "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKabc;rport")
        .with_header("Max-Forwards", "70")
        .with_header("From", "<sip:alice@example.com>;tag=a1")
        .with_header("To", "<sip:bob@example.com>")
        .with_header("Call-ID", "c1")
        .with_header("CSeq", format!("1 {m}"))
}

fn drain_c(tx: &mut ClientTransaction) -> Vec<TxOutput> {
    std::iter::from_fn(|| tx.poll_output()).collect()
}

fn drain_s(tx: &mut ServerTransaction) -> Vec<TxOutput> {
    std::iter::from_fn(|| tx.poll_output()).collect()
}

fn sends(out: &[TxOutput]) -> usize {
    out.iter()
        .filter(|o| matches!(o, TxOutput::Send(_)))
        .count()
}

fn responses(out: &[TxOutput]) -> Vec<(u16, bool)> {
    out.iter()
        .filter_map(|o| match o {
            TxOutput::Response { msg, local } => Some((msg.status().unwrap(), *local)),
            _ => None,
        })
        .collect()
}

/// Runs the transaction's timers up to `end`, returning (time, outputs) per firing.
fn run_client(tx: &mut ClientTransaction, end: SimInstant) -> Vec<(SimInstant, Vec<TxOutput>)> {
    let mut log = Vec::new();
    while let Some(at) = tx.poll_timeout() {
        if at > end {
            break;
        }
        tx.on_timeout(at);
        log.push((at, drain_c(tx)));
    }
    log
}

#[test]
fn key_matching_folds_ack_into_invite() {
    let inv = request("INVITE");
    let ack = request("ACK");
    assert_eq!(TxKey::of(&inv), TxKey::of(&ack));
    assert_ne!(TxKey::of(&inv), TxKey::of(&request("CANCEL")));
    let resp = SipMessage::response_to(&inv, 200, "OK", Some("x"));
    assert_eq!(TxKey::of(&resp), TxKey::of(&inv));
}

#[test]
fn invite_client_timer_a_doubles_and_timer_b_gives_local_408() {
    let cfg = TimerConfig::default();
    let mut tx = ClientTransaction::new(t(0), request("INVITE"), false, cfg).unwrap();
    assert_eq!(sends(&drain_c(&mut tx)), 1);
    let log = run_client(&mut tx, t(40_000));
    let resend_times: Vec<u64> = log
        .iter()
        .filter(|(_, o)| sends(o) == 1)
        .map(|(at, _)| at.as_micros() / 1000)
        .collect();
    // A fires at 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s; B at 32 s.
    assert_eq!(resend_times, [500, 1500, 3500, 7500, 15500, 31500]);
    let (at, last) = log.last().unwrap();
    assert_eq!(*at, t(32_000));
    assert_eq!(responses(last), [(408, true)]);
    assert!(last.contains(&TxOutput::Terminated));
    assert_eq!(tx.state(), ClientState::Terminated);
    assert_eq!(tx.poll_timeout(), None);
}

#[test]
fn invite_client_over_tcp_never_retransmits() {
    let mut tx =
        ClientTransaction::new(t(0), request("INVITE"), true, TimerConfig::default()).unwrap();
    drain_c(&mut tx);
    assert!(!tx.timer_armed(Timer::A));
    let log = run_client(&mut tx, t(40_000));
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].0, t(32_000));
    assert_eq!(responses(&log[0].1), [(408, true)]);
}

#[test]
fn invite_client_provisional_stops_a_and_b_then_non_2xx_acks_and_absorbs() {
    let inv = request("INVITE");
    let mut tx = ClientTransaction::new(t(0), inv.clone(), false, TimerConfig::default()).unwrap();
    drain_c(&mut tx);
    tx.on_response(
        t(100),
        SipMessage::response_to(&inv, 180, "Ringing", Some("b1")),
    );
    assert_eq!(tx.state(), ClientState::Proceeding);
    assert_eq!(responses(&drain_c(&mut tx)), [(180, false)]);
    assert_eq!(tx.poll_timeout(), None, "no A/B in Proceeding");
    let busy = SipMessage::response_to(&inv, 486, "Busy Here", Some("b1"));
    tx.on_response(t(200), busy.clone());
    let out = drain_c(&mut tx);
    assert_eq!(responses(&out), [(486, false)]);
    let TxOutput::Send(ack) = &out[0] else {
        panic!("{out:?}")
    };
    assert_eq!(ack.method(), Some(&Method::Ack));
    assert_eq!(ack.top_via().unwrap().branch(), Some("z9hG4bKabc"));
    assert_eq!(ack.to_tag().as_deref(), Some("b1"));
    assert_eq!(ack.cseq().unwrap().method, Method::Ack);
    assert_eq!(tx.state(), ClientState::Completed);
    // A retransmitted 486 is absorbed and re-ACKed, not delivered.
    tx.on_response(t(300), busy);
    let out = drain_c(&mut tx);
    assert_eq!(sends(&out), 1);
    assert!(responses(&out).is_empty());
    // Timer D ends it after 32 s.
    assert_eq!(tx.poll_timeout(), Some(t(32_200)));
    tx.on_timeout(t(32_200));
    assert_eq!(drain_c(&mut tx), [TxOutput::Terminated]);
}

#[test]
fn invite_client_2xx_terminates_without_ack() {
    let inv = request("INVITE");
    let mut tx = ClientTransaction::new(t(0), inv.clone(), false, TimerConfig::default()).unwrap();
    drain_c(&mut tx);
    tx.on_response(t(10), SipMessage::response_to(&inv, 200, "OK", Some("b")));
    let out = drain_c(&mut tx);
    assert_eq!(sends(&out), 0);
    assert_eq!(responses(&out), [(200, false)]);
    assert_eq!(tx.state(), ClientState::Terminated);
}

#[test]
fn invite_client_non_2xx_over_tcp_terminates_at_once() {
    let inv = request("INVITE");
    let mut tx = ClientTransaction::new(t(0), inv.clone(), true, TimerConfig::default()).unwrap();
    drain_c(&mut tx);
    tx.on_response(
        t(10),
        SipMessage::response_to(&inv, 404, "Not found", Some("b")),
    );
    let out = drain_c(&mut tx);
    assert_eq!(sends(&out), 1);
    assert_eq!(tx.state(), ClientState::Terminated);
}

#[test]
fn non_invite_client_timer_e_caps_at_t2_and_f_gives_408() {
    let mut tx =
        ClientTransaction::new(t(0), request("REGISTER"), false, TimerConfig::default()).unwrap();
    drain_c(&mut tx);
    let log = run_client(&mut tx, t(40_000));
    let times: Vec<u64> = log
        .iter()
        .filter(|(_, o)| sends(o) == 1)
        .map(|(at, _)| at.as_micros() / 1000)
        .collect();
    assert_eq!(&times[..6], [500, 1500, 3500, 7500, 11500, 15500]);
    let (at, last) = log.last().unwrap();
    assert_eq!(*at, t(32_000));
    assert_eq!(responses(last), [(408, true)]);
}

#[test]
fn non_invite_client_proceeding_retransmits_every_t2_then_completes_with_k() {
    let req = request("BYE");
    let mut tx = ClientTransaction::new(t(0), req.clone(), false, TimerConfig::default()).unwrap();
    drain_c(&mut tx);
    tx.on_response(t(100), SipMessage::response_to(&req, 100, "Trying", None));
    assert_eq!(tx.state(), ClientState::Proceeding);
    drain_c(&mut tx);
    tx.on_timeout(t(500));
    assert_eq!(sends(&drain_c(&mut tx)), 1);
    assert_eq!(tx.poll_timeout(), Some(t(4500)));
    tx.on_response(t(600), SipMessage::response_to(&req, 200, "OK", Some("x")));
    assert_eq!(responses(&drain_c(&mut tx)), [(200, false)]);
    assert_eq!(tx.state(), ClientState::Completed);
    tx.on_response(t(700), SipMessage::response_to(&req, 200, "OK", Some("x")));
    assert!(drain_c(&mut tx).is_empty(), "retransmitted final absorbed");
    assert_eq!(tx.poll_timeout(), Some(t(5600)));
    tx.on_timeout(t(5600));
    assert_eq!(drain_c(&mut tx), [TxOutput::Terminated]);
}

#[test]
fn client_fail_delivers_local_response() {
    let mut tx =
        ClientTransaction::new(t(0), request("INVITE"), true, TimerConfig::default()).unwrap();
    drain_c(&mut tx);
    tx.fail(477, "Send Failed");
    assert_eq!(responses(&drain_c(&mut tx)), [(477, true)]);
    assert!(ClientTransaction::new(t(0), request("ACK"), true, TimerConfig::default()).is_none());
}

#[test]
fn invite_server_absorbs_retransmissions_and_retransmits_final_until_ack() {
    let inv = request("INVITE");
    let mut tx = ServerTransaction::new(inv.clone(), false, TimerConfig::default(), false).unwrap();
    assert!(tx.is_cancellable());
    tx.on_request(t(0), &inv);
    assert!(
        drain_s(&mut tx).is_empty(),
        "nothing sent yet, nothing to resend"
    );
    tx.respond(t(0), SipMessage::response_to(&inv, 100, "Trying", None));
    assert_eq!(sends(&drain_s(&mut tx)), 1);
    tx.on_request(t(500), &inv);
    assert_eq!(
        sends(&drain_s(&mut tx)),
        1,
        "retransmitted INVITE answered with the last provisional"
    );
    tx.respond(
        t(1000),
        SipMessage::response_to(&inv, 487, "Request Terminated", Some("t")),
    );
    drain_s(&mut tx);
    assert_eq!(tx.state(), ServerState::Completed);
    assert!(!tx.is_cancellable());
    // G: 1.5, 2.5, 4.5, 8.5, 12.5 s ...
    let mut times = Vec::new();
    while let Some(at) = tx.poll_timeout() {
        if at > t(13_000) {
            break;
        }
        tx.on_timeout(at);
        if sends(&drain_s(&mut tx)) == 1 {
            times.push(at.as_micros() / 1000);
        }
    }
    assert_eq!(times, [1500, 2500, 4500, 8500, 12500]);
    tx.on_request(t(13_000), &inv);
    assert_eq!(sends(&drain_s(&mut tx)), 1);
    tx.on_request(t(13_100), &request("ACK"));
    assert_eq!(drain_s(&mut tx), [TxOutput::AckReceived]);
    assert_eq!(tx.state(), ServerState::Confirmed);
    tx.on_request(t(13_200), &request("ACK"));
    assert!(drain_s(&mut tx).is_empty());
    assert_eq!(tx.poll_timeout(), Some(t(18_100)), "Timer I = T4");
    tx.on_timeout(t(18_100));
    assert_eq!(drain_s(&mut tx), [TxOutput::Terminated]);
}

#[test]
fn invite_server_timer_h_without_ack() {
    let inv = request("INVITE");
    let mut tx = ServerTransaction::new(inv.clone(), true, TimerConfig::default(), false).unwrap();
    tx.respond(
        t(0),
        SipMessage::response_to(&inv, 486, "Busy Here", Some("t")),
    );
    drain_s(&mut tx);
    assert!(!tx.timer_armed(Timer::G), "no G over TCP");
    assert_eq!(tx.poll_timeout(), Some(t(32_000)));
    tx.on_timeout(t(32_000));
    assert_eq!(
        drain_s(&mut tx),
        [TxOutput::AckTimeout, TxOutput::Terminated]
    );
}

#[test]
fn invite_server_2xx_as_proxy_terminates_as_ua_retransmits_until_ack() {
    let inv = request("INVITE");
    let mut proxy =
        ServerTransaction::new(inv.clone(), false, TimerConfig::default(), false).unwrap();
    proxy.respond(t(0), SipMessage::response_to(&inv, 200, "OK", Some("t")));
    assert_eq!(proxy.state(), ServerState::Terminated);
    let mut ua = ServerTransaction::new(inv.clone(), false, TimerConfig::default(), true).unwrap();
    ua.respond(t(0), SipMessage::response_to(&inv, 200, "OK", Some("t")));
    drain_s(&mut ua);
    assert_eq!(ua.state(), ServerState::Accepted);
    ua.on_timeout(t(500));
    assert_eq!(sends(&drain_s(&mut ua)), 1);
    ua.ack_2xx();
    assert_eq!(drain_s(&mut ua), [TxOutput::Terminated]);
    let mut lost =
        ServerTransaction::new(inv.clone(), false, TimerConfig::default(), true).unwrap();
    lost.respond(t(0), SipMessage::response_to(&inv, 200, "OK", Some("t")));
    let mut last = Vec::new();
    while let Some(at) = lost.poll_timeout() {
        lost.on_timeout(at);
        last = drain_s(&mut lost);
    }
    assert!(last.contains(&TxOutput::AckTimeout));
}

#[test]
fn non_invite_server_trying_completed_timer_j() {
    let req = request("OPTIONS");
    let mut tx = ServerTransaction::new(req.clone(), false, TimerConfig::default(), false).unwrap();
    assert!(!tx.is_cancellable());
    assert_eq!(tx.state(), ServerState::Trying);
    tx.on_request(t(10), &req);
    assert!(drain_s(&mut tx).is_empty(), "Trying absorbs silently");
    tx.respond(t(20), SipMessage::response_to(&req, 200, "OK", Some("t")));
    assert_eq!(sends(&drain_s(&mut tx)), 1);
    tx.on_request(t(30), &req);
    assert_eq!(sends(&drain_s(&mut tx)), 1, "Completed resends the final");
    tx.respond(t(40), SipMessage::response_to(&req, 500, "x", Some("t")));
    assert!(drain_s(&mut tx).is_empty(), "second final ignored");
    assert_eq!(tx.poll_timeout(), Some(t(32_020)));
    tx.on_timeout(t(32_020));
    assert_eq!(drain_s(&mut tx), [TxOutput::Terminated]);
    let mut tcp = ServerTransaction::new(req.clone(), true, TimerConfig::default(), false).unwrap();
    tcp.respond(t(0), SipMessage::response_to(&req, 200, "OK", Some("t")));
    assert_eq!(tcp.state(), ServerState::Terminated);
}

#[test]
fn configurable_t1_scales_timers() {
    let cfg = TimerConfig {
        t1: Duration::from_millis(100),
        ..TimerConfig::default()
    };
    let mut tx = ClientTransaction::new(t(0), request("OPTIONS"), true, cfg).unwrap();
    drain_c(&mut tx);
    assert_eq!(tx.poll_timeout(), Some(t(6400)));
}

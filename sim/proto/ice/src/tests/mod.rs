//! In-process tests: agents against each other, through sim-nat boxes, with a STUN responder.

mod harness;
mod turn_server;

use crate::{CandidateKind, IceConfig, IceEvent, Role, Status};
use bytes::Bytes;
use harness::{Classic, STUN, StunMode, TURN, World, classic_pair};
use sim_core::SimInstant;
use std::net::SocketAddr;
use std::time::Duration;

fn ms(t: SimInstant) -> u64 {
    t.as_micros() / 1000
}

/// Runs a test body on a fresh thread inside a seeded entropy scope, as a simulated run does
/// (rtc-ice draws check transaction ids from `rand::rng()`).
fn seeded<T: Send>(seed: u64, f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(|| {
            let _scope = sim_core::entropy::seeded(seed);
            f()
        })
        .join()
        .unwrap()
    })
}

fn public_pair() -> (World, usize, usize) {
    let mut w = World::new();
    let a = w.agent(
        "alice",
        "192.0.2.1",
        None,
        IceConfig::new(4000, Role::Controlling),
        1,
    );
    let b = w.agent(
        "bob",
        "192.0.2.2",
        None,
        IceConfig::new(4000, Role::Controlled),
        2,
    );
    w.pair(a, b);
    (w, a, b)
}

#[test]
fn ice_agent_host_host_connects_and_carries_data() {
    seeded(1, || {
        let (mut w, a, b) = public_pair();
        w.run_for(Duration::from_secs(5));
        for name in ["alice", "bob"] {
            let names: Vec<String> = w
                .trace(name)
                .iter()
                .map(|l| l.split(' ').nth(1).unwrap().to_owned())
                .collect();
            assert_eq!(
                names,
                ["gathering-done", "pair-selected", "connected"],
                "{name}"
            );
        }
        let (t, e) = w.first(a, "connected").unwrap();
        let IceEvent::Connected { local, remote } = e else {
            unreachable!()
        };
        assert_eq!(
            (local.kind, remote.kind),
            (CandidateKind::Host, CandidateKind::Host)
        );
        assert_eq!(remote.addr, "192.0.2.2:4000".parse::<SocketAddr>().unwrap());
        // Nomination waits 1.5 s from the start of checks; then one round trip (20 ms).
        assert!((1500..1600).contains(&ms(t)), "connected at {t}");
        let now = w.now;
        w.agent_mut(a)
            .send(now, Bytes::from_static(b"hello bob"))
            .unwrap();
        w.drain(a);
        w.run_for(Duration::from_millis(100));
        assert_eq!(
            w.data.get(&b).map(Vec::as_slice),
            Some(&[Bytes::from_static(b"hello bob")][..])
        );
        let now = w.now;
        assert!(w.agent_mut(b).send(now, Bytes::from_static(b"hi")).is_ok());
    });
}

#[test]
fn ice_agent_send_before_connected_is_refused() {
    let (mut w, a, _) = public_pair();
    let now = w.now;
    assert_eq!(
        w.agent_mut(a).send(now, Bytes::from_static(b"x")),
        Err(crate::IceError::NotConnected)
    );
}

/// FAULTS.md §6: whether direct ICE succeeds, row A (controlling) against column B.
fn expected(a: Classic, b: Classic) -> bool {
    use Classic::*;
    let rank = |c| Classic::ALL.iter().position(|x| *x == c).unwrap();
    if a == Blocked || b == Blocked {
        return false;
    }
    let (lo, hi) = if rank(a) <= rank(b) { (a, b) } else { (b, a) };
    !matches!(
        (lo, hi),
        (PortRestricted, Symmetric) | (SymmetricUdp, Symmetric) | (Symmetric, Symmetric)
    )
}

/// The outcome of one cell: `srflx/prflx`-style pair types when connected, the status when
/// failed, with the controlling agent's time.
fn cell(a: Classic, b: Classic) -> (bool, String) {
    seeded(7, move || {
        let (mut w, ia, ib) = classic_pair(a, b, 11);
        w.run_for(Duration::from_secs(40));
        let connected = |i| w.first(i, "connected");
        match (connected(ia), connected(ib)) {
            (Some((t, IceEvent::Connected { local, remote })), Some(_)) => {
                (true, format!("{}/{} {}ms", local.kind, remote.kind, ms(t)))
            }
            _ => {
                let f = w.first(ia, "failed").or_else(|| w.first(ib, "failed"));
                let text = match f {
                    Some((t, e)) => format!("failed {} {}ms", e.status().unwrap(), ms(t)),
                    None => "no outcome".into(),
                };
                (false, text)
            }
        }
    })
}

#[test]
fn ice_agent_classic_nat_matrix_matches_faults_section_6() {
    let mut table = String::new();
    let mut wrong = Vec::new();
    for a in Classic::ALL {
        for b in Classic::ALL {
            let (ok, text) = cell(a, b);
            table.push_str(&format!("{a:?} x {b:?}: {text}\n"));
            if ok != expected(a, b) {
                wrong.push(format!("{a:?} x {b:?}: {text}"));
            }
            if !ok {
                assert!(text.starts_with("failed 370082"), "{a:?} x {b:?}: {text}");
            }
        }
    }
    println!("{table}");
    assert!(
        wrong.is_empty(),
        "cells disagreeing with FAULTS.md §6: {wrong:#?}\n{table}"
    );
}

#[test]
fn ice_agent_full_cone_pair_connects_over_srflx() {
    seeded(3, || {
        let (mut w, a, b) = classic_pair(Classic::FullCone, Classic::FullCone, 5);
        w.run_for(Duration::from_secs(5));
        let (_, e) = w.first(a, "gathering-done").unwrap();
        let IceEvent::GatheringDone { candidates } = e else {
            unreachable!()
        };
        let kinds: Vec<_> = candidates.iter().map(|c| c.kind).collect();
        assert_eq!(kinds, [CandidateKind::Host, CandidateKind::ServerReflexive]);
        assert_eq!(
            candidates[1].addr,
            "198.51.100.1:4000".parse::<SocketAddr>().unwrap()
        );
        let (_, e) = w.first(b, "pair-selected").unwrap();
        let IceEvent::PairSelected { remote, .. } = e else {
            unreachable!()
        };
        assert_eq!(remote.kind, CandidateKind::ServerReflexive);
    });
}

#[test]
fn ice_agent_symmetric_pair_fails_370082_after_pjnath_timeouts() {
    seeded(4, || {
        let (mut w, a, b) = classic_pair(Classic::Symmetric, Classic::Symmetric, 5);
        w.run_for(Duration::from_secs(30));
        let (ta, fa) = w.first(a, "failed").unwrap();
        let (tb, fb) = w.first(b, "failed").unwrap();
        assert_eq!(fa.status(), Some(Status::ICE_FAILED));
        assert_eq!(fb.status(), Some(Status::ICE_FAILED));
        // Checks start at 40 ms (after the STUN round trip); each times out 7.9 s after it
        // started; the last ones started within the first round trips.
        assert!((7900..8200).contains(&ms(ta)), "alice failed at {ta}");
        assert!((7900..8200).contains(&ms(tb)), "bob failed at {tb}");
        assert!(w.first(a, "check-failed").is_some());
        assert!(w.first(a, "connected").is_none());
    });
}

#[test]
fn ice_agent_symmetric_vs_restricted_connects_via_peer_reflexive() {
    seeded(5, || {
        let (mut w, a, b) = classic_pair(Classic::Restricted, Classic::Symmetric, 5);
        w.run_for(Duration::from_secs(10));
        let (_, e) = w
            .first(a, "pair-selected")
            .expect("restricted side selects");
        let IceEvent::PairSelected { remote, .. } = e else {
            unreachable!()
        };
        assert_eq!(remote.kind, CandidateKind::PeerReflexive);
        assert!(w.first(b, "connected").is_some());
    });
}

fn stun_world(mode: StunMode) -> (World, usize) {
    let mut w = World::new();
    w.stun(mode);
    let mut c = IceConfig::new(4000, Role::Controlling);
    c.stun_servers = vec![STUN.parse().unwrap()];
    let a = w.agent("alice", "192.0.2.1", None, c, 1);
    (w, a)
}

#[test]
fn ice_agent_silent_stun_server_gives_370004_at_7_9_s() {
    let (mut w, a) = stun_world(StunMode::Silent);
    w.run_for(Duration::from_secs(10));
    assert_eq!(
        w.trace("alice"),
        ["7.900000s srflx-failed 370004", "7.900000s gathering-done"]
    );
    let sent: Vec<u64> = w.wire.iter().map(|(t, ..)| ms(*t)).collect();
    assert_eq!(sent, [0, 100, 300, 700, 1500, 3100, 6300]);
    assert_eq!(w.agent_mut(a).local_candidates().len(), 1);
}

#[test]
fn ice_agent_stun_success_without_mapped_address_gives_370040() {
    let (mut w, _) = stun_world(StunMode::NoMapped);
    w.run_for(Duration::from_secs(1));
    assert_eq!(
        w.trace("alice"),
        ["0.020000s srflx-failed 370040", "0.020000s gathering-done"]
    );
}

#[test]
fn ice_agent_stun_error_response_gives_320126() {
    let (mut w, a) = stun_world(StunMode::Error(500));
    w.run_for(Duration::from_secs(1));
    let (_, e) = w.first(a, "srflx-failed").unwrap();
    assert_eq!(e.status(), Some(Status::STUN_TRANSACTION_FAILED));
    let IceEvent::ServerFailed { reason, .. } = e else {
        unreachable!()
    };
    assert!(reason.contains("500"), "{reason}");
}

/// The nominating check never reaches the controlled agent (a one-way loss of USE-CANDIDATE
/// requests): it waits 10 s after its checks settle (370093); the controlling agent's
/// nomination times out (370082).
#[test]
fn ice_agent_lost_nomination_gives_370093_and_370082() {
    seeded(6, || {
        let (mut w, a, b) = public_pair();
        w.rule = Some(Box::new(|from, d| {
            let nominating = crate::stun::decode(&d.payload)
                .is_some_and(|m| m.contains(rtc_stun::attributes::ATTR_USE_CANDIDATE));
            (!(from == 0 && nominating)).then_some(d)
        }));
        w.run_for(Duration::from_secs(30));
        let (tb, fb) = w.first(b, "failed").unwrap();
        assert_eq!(fb.status(), Some(Status::ICE_NOMINATION_TIMEOUT));
        // Bob's only check succeeded after one round trip (~20 ms): 10 s later.
        assert!((10_000..10_100).contains(&ms(tb)), "bob failed at {tb}");
        let (ta, fa) = w.first(a, "failed").unwrap();
        assert_eq!(fa.status(), Some(Status::ICE_FAILED));
        // The nomination went out at 1.5 s and timed out 7.9 s later.
        assert!((9400..9500).contains(&ms(ta)), "alice failed at {ta}");
        let (_, cf) = w.first(a, "check-failed").unwrap();
        assert!(matches!(
            cf,
            IceEvent::CheckFailed {
                nominating: true,
                ..
            }
        ));
    });
}

#[test]
fn ice_agent_role_conflict_is_resolved() {
    seeded(8, || {
        let mut w = World::new();
        let a = w.agent(
            "alice",
            "192.0.2.1",
            None,
            IceConfig::new(4000, Role::Controlling),
            1,
        );
        let b = w.agent(
            "bob",
            "192.0.2.2",
            None,
            IceConfig::new(4000, Role::Controlling),
            2,
        );
        w.pair(a, b);
        w.run_for(Duration::from_secs(5));
        let switched = [a, b]
            .iter()
            .filter(|i| w.first(**i, "role-changed").is_some())
            .count();
        assert_eq!(switched, 1, "{:?} {:?}", w.trace("alice"), w.trace("bob"));
        assert!(w.first(a, "connected").is_some() && w.first(b, "connected").is_some());
        assert_ne!(w.agent_mut(a).role(), w.agent_mut(b).role());
    });
}

#[test]
fn ice_agent_partition_after_connect_loses_consent() {
    seeded(9, || {
        let (mut w, a, b) = public_pair();
        w.run_for(Duration::from_secs(3));
        let connected_at = w.first(a, "connected").unwrap().0;
        w.rule = Some(Box::new(|_, _| None));
        let cut = w.now;
        w.run_for(Duration::from_secs(60));
        let (t, e) = w.first(a, "consent-lost").expect("alice loses consent");
        assert!(matches!(e, IceEvent::ConsentLost { .. }));
        // Consent expires 30 s after the last packet from bob arrived (checked every 200 ms).
        let bob: SocketAddr = "192.0.2.2:4000".parse().unwrap();
        let last = w
            .wire
            .iter()
            .filter(|(t, s, ..)| *s == bob && *t < cut)
            .map(|(t, ..)| *t + Duration::from_millis(10))
            .max()
            .unwrap();
        let silent = t - last;
        assert!(
            silent > Duration::from_secs(30) && silent <= Duration::from_millis(30_200),
            "consent lost at {t}, last packet from bob at {last}"
        );
        assert!(w.first(b, "consent-lost").is_some());
        assert!(connected_at < cut);
        let now = w.now;
        assert!(w.agent_mut(a).send(now, Bytes::from_static(b"x")).is_err());
    });
}

#[test]
fn ice_agent_corrupted_checks_are_rejected_with_370030() {
    seeded(10, || {
        let (mut w, a, _) = public_pair();
        // Bob's STUN messages get one byte of their USERNAME rewritten in transit.
        w.rule = Some(Box::new(|from, mut d| {
            if from == 1 && d.payload.len() > 30 {
                let mut p = d.payload.to_vec();
                p[28] ^= 0x20;
                d.payload = Bytes::from(p);
            }
            Some(d)
        }));
        w.run_for(Duration::from_secs(12));
        let (_, e) = w.first(a, "stun-rejected").unwrap();
        assert_eq!(e.status(), Some(Status::STUN_FINGERPRINT));
        assert_eq!(
            w.first(a, "failed").unwrap().1.status(),
            Some(Status::ICE_FAILED)
        );
        assert!(w.agent_mut(a).stats().fingerprint_failures > 1);
    });
}

#[test]
fn ice_agent_response_from_another_port_gives_check_failed_370088() {
    seeded(12, || {
        let (mut w, a, _) = public_pair();
        // Bob's success responses leave from another port (a middlebox remapping the return
        // path); his requests are untouched.
        w.rule = Some(Box::new(|from, mut d| {
            let response = crate::stun::decode(&d.payload)
                .is_some_and(|m| m.typ == rtc_stun::message::BINDING_SUCCESS);
            if from == 1 && response {
                d.src.set_port(4999);
            }
            Some(d)
        }));
        w.run_for(Duration::from_secs(12));
        let (_, e) = w.first(a, "check-failed").unwrap();
        assert_eq!(e.status(), Some(Status::ICE_SOURCE_MISMATCH));
        assert!(w.first(a, "connected").is_none());
    });
}

/// rtc-ice draws connectivity-check transaction ids from `rand::rng()`: with the same agent
/// seeds but another process entropy seed, events and timing are the same, the bytes are not.
#[test]
fn ice_agent_check_transaction_ids_come_from_the_entropy_scope() {
    let run = |entropy| {
        seeded(entropy, || {
            let (mut w, _, _) = classic_pair(Classic::FullCone, Classic::FullCone, 3);
            w.run_for(Duration::from_secs(5));
            let log: Vec<String> = w
                .log
                .iter()
                .map(|(t, n, e)| format!("{t} {n} {e:?}"))
                .collect();
            let times: Vec<u64> = w.wire.iter().map(|(t, ..)| t.as_micros()).collect();
            let bytes: Vec<Bytes> = w.wire.iter().map(|(.., p)| p.clone()).collect();
            (log, times, bytes)
        })
    };
    let (log1, times1, bytes1) = run(1);
    let (log2, times2, bytes2) = run(2);
    assert_eq!((log1, times1), (log2, times2));
    assert_ne!(bytes1, bytes2);
}

/// One datagram on the wire: time (µs), source, destination, bytes.
type WireRecord = (u64, String, String, Vec<u8>);

/// The full event log and every datagram's bytes, of one NAT scenario.
fn fingerprint_run(seed: u64) -> (Vec<String>, Vec<WireRecord>) {
    seeded(seed, move || {
        let (mut w, _, _) = classic_pair(Classic::PortRestricted, Classic::Restricted, seed);
        w.run_for(Duration::from_secs(25));
        let log = w
            .log
            .iter()
            .map(|(t, n, e)| format!("{t} {n} {e:?}"))
            .collect();
        let wire = w
            .wire
            .iter()
            .map(|(t, s, d, p)| (t.as_micros(), s.to_string(), d.to_string(), p.to_vec()))
            .collect();
        (log, wire)
    })
}

#[test]
fn ice_agent_same_seed_replays_events_timing_and_bytes() {
    let (log1, wire1) = fingerprint_run(21);
    let (log2, wire2) = fingerprint_run(21);
    assert_eq!(log1, log2);
    assert_eq!(wire1, wire2);
    assert!(
        log1.iter().any(|l| l.contains("\"connected\"")),
        "{log1:#?}"
    );
    let (_, wire3) = fingerprint_run(22);
    assert_ne!(wire1, wire3, "another seed draws other credentials and ids");
}

#[test]
fn ice_event_every_variant_names_a_listed_event() {
    let a: SocketAddr = "192.0.2.1:1".parse().unwrap();
    let c = crate::IceCandidate {
        kind: CandidateKind::Host,
        addr: a,
        base: a,
        priority: 1,
    };
    let all = [
        IceEvent::GatheringDone {
            candidates: vec![c.clone()],
        },
        IceEvent::ServerFailed {
            kind: crate::ServerKind::Turn,
            server: a,
            status: Status::TURN_TRANSPORT,
            reason: "x".into(),
        },
        IceEvent::CheckFailed {
            local: a,
            remote: a,
            nominating: false,
            status: Status::STUN_TIMED_OUT,
        },
        IceEvent::StunRejected {
            from: a,
            status: Status::STUN_FINGERPRINT,
        },
        IceEvent::RoleChanged { controlling: true },
        IceEvent::PairSelected {
            local: c.clone(),
            remote: c.clone(),
        },
        IceEvent::Connected {
            local: c.clone(),
            remote: c,
        },
        IceEvent::Failed {
            status: Status::ICE_FAILED,
            reason: "x".into(),
        },
        IceEvent::ConsentLost { remote: a },
    ];
    for e in &all {
        let log = sim_core::LogEvent::from(e);
        assert!(
            crate::EVENT_NAMES.contains(&log.name.as_ref()),
            "{}",
            log.name
        );
        assert_eq!(log.status, e.status().map(|s| s.0));
    }
}

fn with_turn(c: &mut IceConfig) {
    c.turn = Some(crate::TurnServer {
        addr: TURN.parse().unwrap(),
        transport: crate::TurnTransport::Udp,
        username: "alice".into(),
        password: "secret".into(),
    });
}

/// Symmetric × symmetric has no direct path (§6 ✗); with TURN the selected pair is relayed
/// and data flows through the relay.
#[test]
fn ice_agent_symmetric_pair_with_turn_connects_over_relay() {
    seeded(13, || {
        let mut w = World::new();
        w.stun(StunMode::Answer);
        w.turn(None);
        let g1 = w.classic(Classic::Symmetric, "198.51.100.1");
        let g2 = w.classic(Classic::Symmetric, "198.51.100.2");
        let mut ca = IceConfig::new(4000, Role::Controlling);
        ca.stun_servers = vec![STUN.parse().unwrap()];
        with_turn(&mut ca);
        let mut cb = ca.clone();
        cb.role = Role::Controlled;
        let a = w.agent("alice", "10.0.0.2", g1, ca, 1);
        let b = w.agent("bob", "10.0.1.2", g2, cb, 2);
        w.pair(a, b);
        w.run_for(Duration::from_secs(12));
        let (_, e) = w.first(a, "gathering-done").unwrap();
        let IceEvent::GatheringDone { candidates } = e else {
            unreachable!()
        };
        assert!(
            candidates.iter().any(|c| c.kind == CandidateKind::Relay),
            "{candidates:?}"
        );
        let (t, e) = w
            .first(a, "connected")
            .unwrap_or_else(|| panic!("{:#?}", w.trace("alice")));
        let IceEvent::Connected { local, remote } = e else {
            unreachable!()
        };
        assert!(
            local.kind == CandidateKind::Relay || remote.kind == CandidateKind::Relay,
            "{local} <-> {remote}"
        );
        assert!(ms(t) < 7900, "connected at {t}");
        assert!(w.first(b, "connected").is_some());
        let now = w.now;
        w.agent_mut(b)
            .send(now, Bytes::from_static(b"via relay"))
            .unwrap();
        w.drain(b);
        w.run_for(Duration::from_millis(200));
        assert_eq!(w.data.get(&a).map(Vec::len), Some(1), "{:?}", w.data);
    });
}

#[test]
fn ice_agent_turn_allocate_rejected_gives_320126() {
    let mut w = World::new();
    w.turn(Some(486));
    let mut c = IceConfig::new(4000, Role::Controlling);
    with_turn(&mut c);
    let a = w.agent("alice", "192.0.2.1", None, c, 1);
    w.run_for(Duration::from_secs(2));
    let (_, e) = w.first(a, "relay-failed").unwrap();
    assert_eq!(e.status(), Some(Status::STUN_TRANSACTION_FAILED));
    let IceEvent::ServerFailed { reason, .. } = &e else {
        unreachable!()
    };
    assert!(reason.contains("486"), "{reason}");
    assert!(w.first(a, "gathering-done").is_some());
}

#[test]
fn ice_agent_turn_over_tcp_gives_370120() {
    let mut w = World::new();
    let mut c = IceConfig::new(4000, Role::Controlling);
    with_turn(&mut c);
    if let Some(t) = c.turn.as_mut() {
        t.transport = crate::TurnTransport::Tcp;
    }
    let a = w.agent("alice", "192.0.2.1", None, c, 1);
    w.run_for(Duration::from_secs(1));
    assert_eq!(
        w.trace("alice"),
        ["0.000000s relay-failed 370120", "0.000000s gathering-done"]
    );
    assert_eq!(w.agent_mut(a).local_candidates().len(), 1);
}

#[test]
fn ice_agent_unreachable_turn_server_gives_370004() {
    let mut w = World::new();
    let mut c = IceConfig::new(4000, Role::Controlling);
    with_turn(&mut c);
    let a = w.agent("alice", "192.0.2.1", None, c, 1);
    w.run_for(Duration::from_secs(30));
    let (t, e) = w.first(a, "relay-failed").unwrap();
    assert_eq!(e.status(), Some(Status::STUN_TIMED_OUT));
    let sent = w.wire.len();
    assert_eq!(sent, 7, "rtc-turn's 7 transmissions");
    let sends: Vec<u64> = w.wire.iter().map(|(t, ..)| ms(*t)).collect();
    // rtc-turn's own schedule: RTO 100 ms doubling, capped at 1.6 s, 7 requests; the timeout
    // comes one capped interval after the last.
    assert_eq!(sends, [0, 100, 300, 700, 1500, 3100, 4700]);
    assert_eq!(ms(t), 6300, "timed out at {t}");
}

#[test]
fn ice_agent_close_stops_everything_and_releases_the_allocation() {
    seeded(14, || {
        let mut w = World::new();
        w.turn(None);
        let mut ca = IceConfig::new(4000, Role::Controlling);
        with_turn(&mut ca);
        let mut cb = ca.clone();
        cb.role = Role::Controlled;
        let a = w.agent("alice", "192.0.2.1", None, ca, 1);
        let b = w.agent("bob", "192.0.2.2", None, cb, 2);
        w.pair(a, b);
        w.run_for(Duration::from_secs(3));
        assert!(w.agent_mut(a).is_connected());
        let now = w.now;
        let before = w.wire.len();
        w.agent_mut(a).close(now);
        assert_eq!(sim_core::Node::poll_timeout(w.agent_mut(a)), None);
        w.drain(a);
        let refresh: Vec<_> = w.wire[before..]
            .iter()
            .filter_map(|(_, _, _, p)| crate::stun::decode(p))
            .filter(|m| m.typ.method == rtc_stun::message::METHOD_REFRESH)
            .collect();
        assert_eq!(refresh.len(), 1, "one Refresh (lifetime 0)");
        let after = w.wire.len();
        w.run_for(Duration::from_secs(60));
        let alice: SocketAddr = "192.0.2.1:4000".parse().unwrap();
        assert!(
            w.wire[after..].iter().all(|(_, s, ..)| *s != alice),
            "alice is silent"
        );
        assert!(w.first(b, "consent-lost").is_some(), "bob notices");
    });
}

/// Address-and-port-dependent mapping with endpoint-independent filtering on both sides: every
/// check and response leaves from a new mapping, so each side keeps learning peer-reflexive
/// candidates. The list is capped as pjnath caps it, and the session fails in bounded time.
#[test]
fn ice_agent_prflx_feedback_is_bounded_and_fails_370082() {
    use sim_nat::Behaviour::{AddressAndPortDependent as Apd, EndpointIndependent as Ei};
    seeded(15, || {
        let mut w = World::new();
        w.stun(StunMode::Answer);
        let ga = w.nat(Apd, Ei, "198.51.100.1");
        let gb = w.nat(Apd, Ei, "198.51.100.2");
        let mut c = IceConfig::new(4000, Role::Controlling);
        c.stun_servers = vec![STUN.parse().unwrap()];
        let mut cb = c.clone();
        cb.role = Role::Controlled;
        let a = w.agent("alice", "10.0.0.2", Some(ga), c, 1);
        let b = w.agent("bob", "10.0.1.2", Some(gb), cb, 2);
        w.pair(a, b);
        w.run_for(Duration::from_secs(30));
        assert_eq!(
            w.first(a, "failed").unwrap().1.status(),
            Some(Status::ICE_FAILED)
        );
        assert!(w.first(a, "check-failed").is_some());
        let refused = w.agent_mut(a).stats().prflx_refused + w.agent_mut(b).stats().prflx_refused;
        assert!(refused > 0, "the remote candidate list filled up");
    });
}

#[test]
fn ice_candidate_sdp_round_trips_and_rejects_garbage() {
    let c = crate::IceCandidate {
        kind: CandidateKind::ServerReflexive,
        addr: "198.51.100.1:4000".parse().unwrap(),
        base: "10.0.0.2:4000".parse().unwrap(),
        priority: 1_694_498_815,
    };
    let sdp = c.to_sdp();
    assert!(
        sdp.ends_with("udp 1694498815 198.51.100.1 4000 typ srflx raddr 10.0.0.2 rport 4000"),
        "{sdp}"
    );
    assert_eq!(
        crate::IceCandidate::from_sdp(&format!("candidate:{sdp}")),
        Some(c)
    );
    for bad in [
        "",
        "candidate:",
        "1 1 udp x 1.2.3.4 5 typ host",
        "1 1 tcp 1 1.2.3.4 5 typ host tcptype passive",
    ] {
        assert_eq!(crate::IceCandidate::from_sdp(bad), None, "{bad:?}");
    }
    for n in 0..sdp.len() {
        let _ = crate::IceCandidate::from_sdp(&sdp[..n]);
    }
    let tokens: Vec<&str> = sdp.split(' ').collect();
    for n in 0..tokens.len() {
        let mut t = tokens.clone();
        t.remove(n);
        let _ = crate::IceCandidate::from_sdp(&t.join(" "));
        let mut t = tokens.clone();
        t.insert(n, "raddr");
        let _ = crate::IceCandidate::from_sdp(&t.join(" "));
    }
}

/// A peer behind a UDP-blocking firewall: even with TURN on one side nothing reaches it, ICE
/// fails with 370082 and the allocation is released.
#[test]
fn ice_agent_failure_releases_the_turn_allocation() {
    seeded(16, || {
        let mut w = World::new();
        w.turn(None);
        let blocked = w.classic(Classic::Blocked, "198.51.100.2");
        let mut ca = IceConfig::new(4000, Role::Controlling);
        with_turn(&mut ca);
        let a = w.agent("alice", "192.0.2.1", None, ca, 1);
        let b = w.agent(
            "bob",
            "10.0.1.2",
            blocked,
            IceConfig::new(4000, Role::Controlled),
            2,
        );
        w.pair(a, b);
        w.run_for(Duration::from_secs(20));
        let (t, e) = w.first(a, "failed").unwrap();
        assert_eq!(e.status(), Some(Status::ICE_FAILED));
        let alice: SocketAddr = "192.0.2.1:4000".parse().unwrap();
        let refresh_after: Vec<_> = w
            .wire
            .iter()
            .filter(|(at, s, ..)| *at >= t && *s == alice)
            .filter_map(|(.., p)| crate::stun::decode(p))
            .filter(|m| m.typ.method == rtc_stun::message::METHOD_REFRESH)
            .collect();
        assert_eq!(refresh_after.len(), 1);
    });
}

use super::*;
use crate::harness::Net;
use crate::server::{StunPolicy, StunServer, StunServerConfig};
use sim_nat::{Behaviour as B, Nat, NatConfig, Pooling, PortAllocation};
use std::time::Duration;

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

const SERVER: &str = "203.0.113.10:3478";
const SECOND: &str = "192.0.2.20:3478";

struct Setup {
    net: Net,
    client: usize,
    server: usize,
}

/// A RFC 5780 server on 203.0.113.10/.11 × 3478/3479, a second plain server, and a detector
/// on `client_ip`:5000 behind `nat` (if any).
fn setup(nat: Option<NatConfig>, client_ip: &str, second: bool) -> Setup {
    setup_with(nat, client_ip, second, false)
}

fn setup_with(nat: Option<NatConfig>, client_ip: &str, second: bool, blocked: bool) -> Setup {
    let mut net = Net::new();
    let config =
        StunServerConfig::new(addr(SERVER)).with_alternate("203.0.113.11".parse().unwrap(), 3479);
    let server = net.add(
        StunServer::new(config, Seed::new(1)),
        &["203.0.113.10", "203.0.113.11"],
        None,
    );
    net.add(
        StunServer::new(StunServerConfig::new(addr(SECOND)), Seed::new(2)),
        &["192.0.2.20"],
        None,
    );
    let nat = nat.map(|c| net.add_nat(Nat::new(c, Seed::new(3)).unwrap()));
    let mut config = NatDetectorConfig::new(addr(SERVER));
    config.local_port = 5000;
    if second {
        config.second_server = Some(addr(SECOND));
    }
    let detector = NatDetector::new(config, Seed::new(4));
    let client = match blocked {
        true => net.add_blocked(detector, &[client_ip], nat),
        false => net.add(detector, &[client_ip], nat),
    };
    Setup {
        net,
        client,
        server,
    }
}

fn nat(mapping: B, filtering: B) -> NatConfig {
    NatConfig::new(mapping, filtering, vec!["198.51.100.1".parse().unwrap()])
}

fn run(s: &mut Setup) -> NatReport {
    s.net.run_for(Duration::from_secs(60));
    let d: &NatDetector = s.net.node_ref(s.client);
    assert!(!d.is_running());
    d.report().cloned().unwrap()
}

fn classic(mapping: B, filtering: B) -> NatType {
    match (mapping, filtering) {
        (_, B::EndpointIndependent) => NatType::FullCone,
        (B::EndpointIndependent, B::AddressDependent) => NatType::Restricted,
        (B::EndpointIndependent, B::AddressAndPortDependent) => NatType::PortRestricted,
        _ => NatType::Symmetric,
    }
}

fn ours(b: B) -> Behaviour {
    match b {
        B::EndpointIndependent => Behaviour::EndpointIndependent,
        B::AddressDependent => Behaviour::AddressDependent,
        B::AddressAndPortDependent => Behaviour::AddressAndPortDependent,
    }
}

#[test]
fn nat_detector_all_nine_mapping_filtering_combinations() {
    let mut table = Vec::new();
    for mapping in B::ALL {
        for filtering in B::ALL {
            let mut s = setup(Some(nat(mapping, filtering)), "10.0.0.2", true);
            let r = run(&mut s);
            let want = classic(mapping, filtering);
            assert_eq!(r.nat_type, want, "{mapping} / {filtering}: {r:?}");
            assert_eq!(r.mapping, Some(ours(mapping)), "{mapping} / {filtering}");
            assert_eq!(
                r.filtering,
                Some(ours(filtering)),
                "{mapping} / {filtering}"
            );
            assert_eq!(r.status, None);
            assert_eq!(r.local, Some(addr("10.0.0.2:5000")));
            assert_eq!(
                r.public.map(|p| p.ip()),
                Some("198.51.100.1".parse().unwrap())
            );
            let d: &NatDetector = s.net.node_ref(s.client);
            let legacy = d.mapped_address_check().unwrap();
            let want_legacy = (mapping != B::EndpointIndependent).then_some(STATUS_STUN_SYMMETRIC);
            assert_eq!(legacy.status, want_legacy, "{mapping} / {filtering}");
            let log = s.net.events(NAT_TYPE_DETECTED);
            assert_eq!(log.len(), 1);
            assert_eq!(log[0].code, Some(60005));
            assert_eq!(log[0].status, None);
            let detail = log[0].detail.as_deref().unwrap();
            assert!(
                detail.starts_with(&format!("nat_type={} ", want.value())),
                "{detail}"
            );
            let at = s
                .net
                .log
                .iter()
                .find(|(_, _, e)| e.name == NAT_TYPE_DETECTED)
                .unwrap()
                .0;
            table.push(format!(
                "{} {}: {detail} at {at} legacy {:?}",
                ours(mapping).mapping_abbrev(),
                ours(filtering).filtering_abbrev(),
                legacy.status
            ));
        }
    }
    assert_eq!(table.len(), 9);
}

#[test]
fn nat_detector_presets_with_every_port_allocation_and_pooling() {
    let presets = [
        (
            B::EndpointIndependent,
            B::EndpointIndependent,
            NatType::FullCone,
        ),
        (
            B::EndpointIndependent,
            B::AddressDependent,
            NatType::Restricted,
        ),
        (
            B::EndpointIndependent,
            B::AddressAndPortDependent,
            NatType::PortRestricted,
        ),
        (
            B::AddressAndPortDependent,
            B::AddressAndPortDependent,
            NatType::Symmetric,
        ),
    ];
    let allocations = [
        PortAllocation::Preserve,
        PortAllocation::Sequential,
        PortAllocation::Random,
    ];
    for (mapping, filtering, want) in presets {
        for allocation in allocations {
            for pooling in [Pooling::Paired, Pooling::Arbitrary] {
                let mut c = nat(mapping, filtering);
                c.port_allocation = allocation;
                c.pooling = pooling;
                c.public = vec![
                    "198.51.100.1".parse().unwrap(),
                    "198.51.100.2".parse().unwrap(),
                ];
                let mut s = setup(Some(c), "192.168.1.20", false);
                let r = run(&mut s);
                assert_eq!(
                    r.nat_type, want,
                    "{mapping}/{filtering} {allocation:?} {pooling:?}"
                );
                assert_eq!(r.mapping, Some(ours(mapping)), "{allocation:?} {pooling:?}");
                assert_eq!(r.filtering, Some(ours(filtering)));
            }
        }
    }
}

#[test]
fn nat_detector_no_nat_is_open() {
    let mut s = setup(None, "198.51.100.50", true);
    let r = run(&mut s);
    assert_eq!(r.nat_type, NatType::Open);
    assert_eq!(r.public, Some(addr("198.51.100.50:5000")));
    assert_eq!(
        (r.mapping, r.filtering),
        (
            Some(Behaviour::EndpointIndependent),
            Some(Behaviour::EndpointIndependent)
        )
    );
    let d: &NatDetector = s.net.node_ref(s.client);
    assert_eq!(d.mapped_address_check().unwrap().status, None);
}

#[test]
fn nat_detector_filtering_firewall_without_translation_is_symmetric_udp() {
    // A "NAT" whose public address is the host's own, preserving ports: no translation,
    // only address-and-port-dependent filtering.
    let mut c = NatConfig::new(
        B::EndpointIndependent,
        B::AddressAndPortDependent,
        vec!["198.51.100.60".parse().unwrap()],
    );
    c.port_allocation = PortAllocation::Preserve;
    let mut s = setup(Some(c), "198.51.100.60", false);
    let r = run(&mut s);
    assert_eq!(r.nat_type, NatType::SymmetricUdp, "{r:?}");
    assert_eq!(r.filtering, Some(Behaviour::AddressAndPortDependent));
}

#[test]
fn nat_detector_udp_blocked_is_blocked_370004_after_7_9_s_and_legacy_320010() {
    let mut s = setup_with(
        Some(nat(B::EndpointIndependent, B::EndpointIndependent)),
        "10.0.0.2",
        true,
        true,
    );
    assert_eq!(
        s.net.node_ref::<NatDetector>(s.client).local(),
        Some(addr("10.0.0.2:5000"))
    );
    let r = run(&mut s);
    assert_eq!(r.nat_type, NatType::Blocked, "{r:?} {:?}", s.net.log);
    assert_eq!(r.status, Some(STATUS_STUN_TIMED_OUT));
    let (at, _, e) = s
        .net
        .log
        .iter()
        .find(|(_, _, e)| e.name == NAT_TYPE_DETECTED)
        .unwrap();
    assert_eq!(
        at.as_micros(),
        7_900_000,
        "pjnath: 7 transmissions, 16×RTO final wait"
    );
    assert_eq!((e.code, e.status), (Some(60005), Some(370_004)));
    assert!(
        e.detail
            .as_deref()
            .unwrap()
            .starts_with("nat_type=3 BLOCKED")
    );
    let legacy = s.net.events("stun-mapped-address-check");
    assert_eq!(legacy[0].status, Some(STATUS_STUN_NOT_RESPOND));
}

#[test]
fn nat_detector_silent_server_sends_seven_times_then_fails() {
    let mut s = setup(None, "198.51.100.50", false);
    s.net.with(s.server, |srv: &mut StunServer, now| {
        srv.set_policy(now, StunPolicy::Silent)
    });
    let r = run(&mut s);
    assert_eq!((r.nat_type, r.status), (NatType::Blocked, Some(370_004)));
    let sent = s
        .net
        .delivered
        .iter()
        .filter(|(_, to, _)| *to == s.server)
        .count();
    assert_eq!(sent, 7);
}

#[test]
fn nat_detector_server_policies_map_to_documented_statuses() {
    let cases = [
        (
            StunPolicy::Error(500),
            NatType::ErrUnknown,
            Some(STATUS_STUN_ERROR_ATTR),
        ),
        (
            StunPolicy::OmitMappedAddress,
            NatType::ErrUnknown,
            Some(STATUS_STUN_NO_MAPPED_ADDR),
        ),
        (
            StunPolicy::CorruptFingerprint,
            NatType::ErrUnknown,
            Some(STATUS_STUN_FINGERPRINT),
        ),
        (
            StunPolicy::AnswerOnlyOn(addr(SERVER)),
            NatType::ErrUnknown,
            Some(STATUS_STUN_TIMED_OUT),
        ),
    ];
    for (policy, want, status) in cases {
        let mut s = setup(
            Some(nat(B::EndpointIndependent, B::AddressAndPortDependent)),
            "10.0.0.2",
            false,
        );
        s.net.with(s.server, |srv: &mut StunServer, now| {
            srv.set_policy(now, policy.clone())
        });
        let r = run(&mut s);
        assert_eq!((r.nat_type, r.status), (want, status), "{policy}: {r:?}");
        let log = s.net.events(NAT_TYPE_DETECTED);
        assert_eq!(log[0].status, status);
    }
}

#[test]
fn nat_detector_answer_only_on_primary_still_sees_a_full_cone_as_not_full_cone() {
    // With the alternate interface down, Test II is never answered: a full-cone NAT cannot be
    // told apart and the mapping tests time out, as with a server without RFC 5780 support.
    let mut s = setup(
        Some(nat(B::EndpointIndependent, B::EndpointIndependent)),
        "10.0.0.2",
        false,
    );
    s.net.with(s.server, |srv: &mut StunServer, now| {
        srv.set_policy(now, StunPolicy::AnswerOnlyOn(addr(SERVER)))
    });
    let r = run(&mut s);
    assert_eq!(r.nat_type, NatType::ErrUnknown);
    assert_eq!(r.filtering, Some(Behaviour::AddressAndPortDependent));
    assert_eq!(r.mapping, None);
}

#[test]
fn nat_detector_waits_for_detect_without_autostart_and_replays_with_the_same_seed() {
    let run_once = || {
        let mut net = Net::new();
        let config = StunServerConfig::new(addr(SERVER))
            .with_alternate("203.0.113.11".parse().unwrap(), 3479);
        net.add(
            StunServer::new(config, Seed::new(1)),
            &["203.0.113.10", "203.0.113.11"],
            None,
        );
        let mut c = NatDetectorConfig::new(addr(SERVER));
        c.autostart = false;
        let h = net.add(NatDetector::new(c, Seed::new(9)), &["198.51.100.50"], None);
        net.run_for(Duration::from_secs(1));
        assert!(net.delivered.is_empty(), "nothing before detect()");
        net.with(h, |d: &mut NatDetector, now| d.detect(now));
        net.run_for(Duration::from_secs(30));
        let d: &NatDetector = net.node_ref(h);
        assert_eq!(d.report().unwrap().nat_type, NatType::Open);
        assert_eq!(d.local().map(|l| l.port()), Some(49152), "ephemeral port");
        net.delivered
            .iter()
            .map(|(t, to, d)| (*t, *to, d.payload.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(run_once(), run_once());
}

#[test]
fn nat_detector_ignores_garbage_and_foreign_responses() {
    let mut d = NatDetector::new(NatDetectorConfig::new(addr(SERVER)), Seed::new(1));
    d.handle_bound(
        SimInstant::ZERO,
        Bound {
            id: None,
            binding: Binding::udp(0),
            result: Ok(addr("198.51.100.50:40000")),
        },
    );
    d.handle_start(SimInstant::ZERO, Addresses::default());
    let Some(Transmit::Datagram(req)) = d.poll_transmit() else {
        panic!()
    };
    for n in 0..req.payload.len() {
        d.handle_datagram(
            SimInstant::ZERO,
            Datagram {
                src: addr(SERVER),
                dst: req.src,
                payload: req.payload.slice(..n),
            },
        );
    }
    // The request itself (a Binding request, not a response) and a response for another id.
    d.handle_datagram(
        SimInstant::ZERO,
        Datagram {
            src: addr(SERVER),
            dst: req.src,
            payload: req.payload.clone(),
        },
    );
    let mut server = StunServer::new(StunServerConfig::new(addr(SERVER)), Seed::new(2));
    let mut other = req.payload.to_vec();
    other[8] ^= 1;
    let other = codec::decode(&other).map(|m| m.raw).unwrap_or_default();
    server.handle_datagram(
        SimInstant::ZERO,
        Datagram {
            src: req.src,
            dst: addr(SERVER),
            payload: Bytes::from(other),
        },
    );
    if let Some(Transmit::Datagram(resp)) = server.poll_transmit() {
        d.handle_datagram(
            SimInstant::ZERO,
            Datagram {
                src: addr(SERVER),
                dst: req.src,
                payload: resp.payload,
            },
        );
    }
    assert!(d.is_running() && d.report().is_none());
}

#[test]
fn nat_detector_server_without_a_routable_alternate_ip_is_err_unknown() {
    // The server is configured with an alternate IP the network does not give it: its
    // change-IP answers leave from the primary IP, and Mapping II is not routed at all.
    let mut net = Net::new();
    let config =
        StunServerConfig::new(addr(SERVER)).with_alternate("203.0.113.11".parse().unwrap(), 3479);
    net.add(
        StunServer::new(config, Seed::new(1)),
        &["203.0.113.10"],
        None,
    );
    let n = net.add_nat(
        Nat::new(
            nat(B::EndpointIndependent, B::AddressDependent),
            Seed::new(3),
        )
        .unwrap(),
    );
    let h = net.add(
        NatDetector::new(NatDetectorConfig::new(addr(SERVER)), Seed::new(4)),
        &["10.0.0.2"],
        Some(n),
    );
    net.run_for(Duration::from_secs(60));
    let r = net.node_ref::<NatDetector>(h).report().cloned().unwrap();
    assert_eq!(r.nat_type, NatType::ErrUnknown, "{r:?}");
    let trace: Vec<_> = net
        .delivered
        .iter()
        .map(|(t, to, d)| (t.as_micros(), *to, d.src, d.dst))
        .collect();
    assert!(
        r.reason.as_deref().unwrap().contains("203.0.113.10:3479"),
        "{r:?} {trace:?} {:?}",
        net.log
    );
}

#[test]
fn nat_detector_restart_forgets_the_detection_in_flight_and_detects_again() {
    let mut s = setup(None, "198.51.100.50", false);
    s.net.run_for(Duration::from_millis(5));
    s.net.with(s.client, |d: &mut NatDetector, now| {
        assert!(d.is_running());
        d.handle_start(now, Addresses::single("198.51.100.50".parse().unwrap()));
    });
    let r = run(&mut s);
    assert_eq!(r.nat_type, NatType::Open);
    assert_eq!(s.net.events(NAT_TYPE_DETECTED).len(), 1);
}

#[test]
fn nat_detector_mapping_first_reports_dependent_mapping_with_eif_as_symmetric() {
    for mapping in [B::AddressDependent, B::AddressAndPortDependent] {
        let mut s = setup(
            Some(nat(mapping, B::EndpointIndependent)),
            "10.0.0.2",
            false,
        );
        s.net.with(s.client, |d: &mut NatDetector, _| {
            d.config_mut().mapping_first = true
        });
        // Set before Test I's answer arrives: the type is decided at the end.
        let r = run(&mut s);
        assert_eq!(r.nat_type, NatType::Symmetric, "{mapping}");
        assert_eq!(r.filtering, Some(Behaviour::EndpointIndependent));
    }
}

#[test]
fn nat_detector_legacy_check_zero_mapped_address_is_320010() {
    let mut s = setup(None, "198.51.100.50", true);
    s.net.with(s.server, |srv: &mut StunServer, now| {
        srv.set_policy(now, StunPolicy::ZeroMappedAddress)
    });
    let r = run(&mut s);
    assert_eq!(
        (r.nat_type, r.status),
        (NatType::ErrUnknown, Some(STATUS_STUN_NO_MAPPED_ADDR))
    );
    let legacy = s.net.events("stun-mapped-address-check");
    assert_eq!(legacy.len(), 1);
    assert_eq!(legacy[0].status, Some(STATUS_STUN_NOT_RESPOND));
}

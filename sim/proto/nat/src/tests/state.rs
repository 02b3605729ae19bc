//! State loss (flush, reboot), static port forwards, configuration errors and odd input.

use super::*;
use crate::{NatConfigError, Pooling, PortAllocation, PortForward, TimeoutKind};
use sim_core::Protocol;
use std::net::Ipv6Addr;

const PUB3: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 3));
const WEB: SocketAddr = v4(10, 0, 0, 80, 8080);

fn with_forward(mut cfg: NatConfig, protocol: Protocol, external_port: u16) -> NatConfig {
    cfg.port_forwards = vec![PortForward {
        protocol,
        external_port,
        internal: WEB,
    }];
    cfg
}

#[test]
fn nat_mapped_flush_loses_mappings_keeps_forwards() {
    let cfg = with_forward(
        config(
            Behaviour::EndpointIndependent,
            Behaviour::EndpointIndependent,
        ),
        Protocol::Udp,
        80,
    );
    let mut nat = nat(cfg);
    let ext = sent(&mut nat, at(0), HOST, SERVER);
    nat.flush();
    assert_eq!(nat.mapping_count(), 0);
    assert_eq!(nat.poll_timeout(), None);
    assert_eq!(recv(&mut nat, at(1), SERVER, ext), NO_MAPPING);
    let fwd = SocketAddr::new(PUB1, 80);
    assert_eq!(recv(&mut nat, at(1), SERVER, fwd), delivered(SERVER, WEB));
    // The port was released: preservation gets it again.
    assert_eq!(sent(&mut nat, at(2), HOST, SERVER), ext);
}

fn sequential_two_ips() -> Nat {
    let mut cfg = config(
        Behaviour::AddressAndPortDependent,
        Behaviour::EndpointIndependent,
    );
    cfg.port_allocation = PortAllocation::Sequential;
    cfg.public = vec![PUB1, PUB2];
    cfg.pooling = Pooling::Paired;
    nat(cfg)
}

#[test]
fn nat_sequential_flush_keeps_cursor_and_pairing() {
    let mut nat = sequential_two_ips();
    assert_eq!(
        sent(&mut nat, at(0), HOST, SERVER),
        SocketAddr::new(PUB1, 1024)
    );
    assert_eq!(
        sent(&mut nat, at(0), HOST_B, SERVER),
        SocketAddr::new(PUB2, 1024)
    );
    nat.flush();
    assert_eq!(
        sent(&mut nat, at(1), HOST_B, SERVER),
        SocketAddr::new(PUB2, 1025)
    );
    assert_eq!(
        sent(&mut nat, at(1), HOST, SERVER),
        SocketAddr::new(PUB1, 1025)
    );
}

#[test]
fn nat_sequential_reboot_resets_cursor_and_pairing() {
    let mut nat = sequential_two_ips();
    sent(&mut nat, at(0), HOST, SERVER);
    sent(&mut nat, at(0), HOST_B, SERVER);
    nat.reboot(None);
    assert_eq!(nat.mapping_count(), 0);
    // HOST_B comes first after the reboot, so it is paired with the first address now.
    assert_eq!(
        sent(&mut nat, at(1), HOST_B, SERVER),
        SocketAddr::new(PUB1, 1024)
    );
    assert_eq!(
        sent(&mut nat, at(1), HOST, SERVER),
        SocketAddr::new(PUB2, 1024)
    );
}

#[test]
fn nat_mapped_reboot_new_public_translates_with_new_address() {
    let cfg = with_forward(
        config(
            Behaviour::EndpointIndependent,
            Behaviour::EndpointIndependent,
        ),
        Protocol::Udp,
        80,
    );
    let mut nat = nat(cfg);
    let old = sent(&mut nat, at(0), HOST, SERVER);
    nat.reboot(Some(vec![PUB3]));
    assert!(!nat.owns(PUB1) && nat.owns(PUB3));
    assert_eq!(nat.config().public, vec![PUB3]);
    assert_eq!(
        recv(&mut nat, at(1), SERVER, old),
        Verdict::Drop(DropReason::NotOurAddress)
    );
    assert_eq!(
        sent(&mut nat, at(1), HOST, SERVER),
        SocketAddr::new(PUB3, 5000)
    );
    // The forward moved to the new address.
    assert_eq!(
        recv(&mut nat, at(1), SERVER, SocketAddr::new(PUB3, 80)),
        delivered(SERVER, WEB)
    );
}

#[test]
fn nat_mapped_reboot_invalid_public_keeps_addresses() {
    let mut nat = nat_with(
        Behaviour::EndpointIndependent,
        Behaviour::EndpointIndependent,
    );
    sent(&mut nat, at(0), HOST, SERVER);
    assert_eq!(
        nat.try_reboot(Some(vec![])),
        Err(NatConfigError::NoPublicAddress)
    );
    assert_eq!(
        nat.mapping_count(),
        1,
        "try_reboot changes nothing on error"
    );
    nat.reboot(Some(vec![]));
    assert_eq!(nat.mapping_count(), 0, "reboot still reboots");
    assert!(nat.owns(PUB1));
}

#[test]
fn nat_forward_inbound_any_source_unfiltered_never_expires() {
    let cfg = with_forward(
        config(
            Behaviour::AddressAndPortDependent,
            Behaviour::AddressAndPortDependent,
        ),
        Protocol::Udp,
        80,
    );
    let mut nat = nat(cfg);
    let fwd = SocketAddr::new(PUB1, 80);
    let late = at(10 * 3600);
    assert_eq!(
        recv(&mut nat, late, OTHER_IP_SAME_PORT, fwd),
        delivered(OTHER_IP_SAME_PORT, WEB)
    );
    assert_eq!(nat.poll_timeout(), None, "forwards have no timer");
    let views: Vec<_> = nat.mappings(late).collect();
    assert_eq!(views.len(), 1);
    assert_eq!(
        (views[0].internal, views[0].external, views[0].expires),
        (WEB, fwd, None)
    );
}

#[test]
fn nat_forward_internal_outbound_uses_forward_port_any_mapping_behaviour() {
    let cfg = with_forward(
        config(
            Behaviour::AddressAndPortDependent,
            Behaviour::AddressAndPortDependent,
        ),
        Protocol::Udp,
        80,
    );
    let mut nat = nat(cfg);
    let fwd = SocketAddr::new(PUB1, 80);
    assert_eq!(sent(&mut nat, at(0), WEB, SERVER), fwd);
    assert_eq!(sent(&mut nat, at(0), WEB, OTHER_IP_SAME_PORT), fwd);
    assert_eq!(nat.mapping_count(), 0);
    // Another port of the same host is translated normally.
    let other = sent(&mut nat, at(0), v4(10, 0, 0, 80, 9000), SERVER);
    assert_eq!(other, SocketAddr::new(PUB1, 9000));
}

#[test]
fn nat_forward_port_in_range_never_allocated_dynamically() {
    let cfg = with_forward(
        config(
            Behaviour::EndpointIndependent,
            Behaviour::EndpointIndependent,
        ),
        Protocol::Udp,
        5000,
    );
    let mut nat = nat(cfg);
    assert_eq!(
        sent(&mut nat, at(0), HOST, SERVER),
        SocketAddr::new(PUB1, 5001)
    );
    // The TCP port space is separate: TCP 5000 is free.
    let v = nat.outbound(at(0), &tcp(HOST, SERVER, TcpFlags::SYN));
    assert_eq!(
        v,
        Verdict::Forward {
            src: SocketAddr::new(PUB1, 5000),
            dst: SERVER
        }
    );
}

#[test]
fn nat_inbound_to_foreign_address_not_our_address() {
    let mut nat = nat_with(
        Behaviour::EndpointIndependent,
        Behaviour::EndpointIndependent,
    );
    let v = recv(&mut nat, at(0), SERVER, v4(192, 0, 2, 1, 5000));
    assert_eq!(v, Verdict::Drop(DropReason::NotOurAddress));
}

#[test]
fn nat_v4_only_outbound_to_v6_no_address_of_family() {
    let mut nat = nat_with(
        Behaviour::EndpointIndependent,
        Behaviour::EndpointIndependent,
    );
    let host6 = SocketAddr::new(IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2)), 5000);
    let remote6 = SocketAddr::new(
        IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
        3478,
    );
    let v = nat.outbound(at(0), &udp(host6, remote6));
    assert_eq!(v, Verdict::Drop(DropReason::NoAddressOfFamily));
}

#[test]
fn nat_dual_stack_pool_picks_address_of_destination_family() {
    let pub6 = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 1));
    let mut cfg = config(
        Behaviour::EndpointIndependent,
        Behaviour::EndpointIndependent,
    );
    cfg.public = vec![pub6, PUB1];
    let mut nat = nat(cfg);
    let host6 = SocketAddr::new(IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2)), 5000);
    let remote6 = SocketAddr::new(
        IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
        3478,
    );
    assert_eq!(
        sent(&mut nat, at(0), host6, remote6),
        SocketAddr::new(pub6, 5000)
    );
    assert_eq!(
        sent(&mut nat, at(0), HOST, SERVER),
        SocketAddr::new(PUB1, 5000)
    );
}

#[test]
fn nat_config_default_without_public_rejected() {
    let err = Nat::new(NatConfig::default(), Seed::new(0)).expect_err("no public address");
    assert_eq!(err, NatConfigError::NoPublicAddress);
    assert_eq!(err.to_string(), "no public address configured");
}

#[test]
fn nat_config_default_values_follow_rfcs() {
    let d = NatConfig::default();
    assert_eq!(d.mapping, Behaviour::EndpointIndependent, "RFC 4787 REQ-1");
    assert_eq!(d.udp_timeout, Duration::from_secs(120), "RFC 4787 REQ-5");
    assert!(!d.inbound_refresh);
    assert_eq!(
        d.tcp_timeout,
        Duration::from_secs(7440),
        "RFC 5382 REQ-5: 2 h 4 min"
    );
    assert_eq!(d.tcp_transitory_timeout, Duration::from_secs(240));
    assert_eq!(d.port_range, 1024..=65535);
    assert!(d.hairpinning, "RFC 4787 REQ-9");
    assert_eq!(d.pooling, Pooling::Paired, "RFC 4787 REQ-2");
}

fn rejected(edit: impl FnOnce(&mut NatConfig)) -> NatConfigError {
    let mut cfg = config(
        Behaviour::EndpointIndependent,
        Behaviour::EndpointIndependent,
    );
    edit(&mut cfg);
    Nat::new(cfg, Seed::new(0)).expect_err("invalid config accepted")
}

#[test]
fn nat_config_invalid_values_rejected_with_reason() {
    let unspecified = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
    assert_eq!(
        rejected(|c| c.public = vec![unspecified]),
        NatConfigError::UnspecifiedPublicAddress(unspecified)
    );
    assert_eq!(
        rejected(|c| c.public = vec![PUB1, PUB2, PUB1]),
        NatConfigError::DuplicatePublicAddress(PUB1)
    );
    #[allow(clippy::reversed_empty_ranges)]
    let empty = rejected(|c| c.port_range = 5000..=4999);
    assert_eq!(
        empty,
        NatConfigError::EmptyPortRange {
            start: 5000,
            end: 4999
        }
    );
    assert_eq!(
        rejected(|c| c.port_range = 0..=100),
        NatConfigError::PortZeroInRange
    );
    assert_eq!(
        rejected(|c| c.udp_timeout = Duration::ZERO),
        NatConfigError::ZeroTimeout(TimeoutKind::Udp)
    );
    assert_eq!(
        rejected(|c| c.tcp_transitory_timeout = Duration::ZERO).to_string(),
        "tcp transitory timeout is zero"
    );
}

#[test]
fn nat_config_invalid_forwards_rejected_with_reason() {
    let fwd = |port, internal| PortForward {
        protocol: Protocol::Tcp,
        external_port: port,
        internal,
    };
    let e = rejected(|c| c.port_forwards = vec![fwd(0, WEB)]);
    assert_eq!(
        e,
        NatConfigError::ForwardPortZero {
            protocol: Protocol::Tcp
        }
    );
    let e = rejected(|c| c.port_forwards = vec![fwd(80, WEB), fwd(80, HOST)]);
    assert_eq!(
        e,
        NatConfigError::DuplicateForward {
            protocol: Protocol::Tcp,
            port: 80
        }
    );
    assert_eq!(e.to_string(), "tcp port 80 is forwarded twice");
    let e = rejected(|c| c.port_forwards = vec![fwd(80, WEB), fwd(81, WEB)]);
    assert_eq!(
        e,
        NatConfigError::DuplicateForwardTarget {
            protocol: Protocol::Tcp,
            target: WEB
        }
    );
    let web6 = SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 80);
    let e = rejected(|c| c.port_forwards = vec![fwd(80, web6)]);
    assert_eq!(
        e,
        NatConfigError::ForwardFamily {
            protocol: Protocol::Tcp,
            port: 80
        }
    );
    // The same port for UDP and TCP is two different forwards.
    let mut cfg = config(
        Behaviour::EndpointIndependent,
        Behaviour::EndpointIndependent,
    );
    cfg.port_forwards = vec![
        fwd(80, WEB),
        PortForward {
            protocol: Protocol::Udp,
            external_port: 80,
            internal: WEB,
        },
    ];
    assert!(Nat::new(cfg, Seed::new(0)).is_ok());
}

#[test]
fn nat_drop_reason_display_short_lowercase_phrases() {
    let all = [
        (DropReason::NoMapping, "no mapping"),
        (DropReason::Filtered, "filtered"),
        (DropReason::NoHairpin, "hairpinning disabled"),
        (DropReason::PortsExhausted, "ports exhausted"),
        (DropReason::NoConnection, "no tcp connection"),
        (DropReason::NotOurAddress, "not a nat address"),
        (
            DropReason::NoAddressOfFamily,
            "no public address of that family",
        ),
    ];
    for (reason, text) in all {
        assert_eq!(reason.to_string(), text);
        assert_eq!(Verdict::Drop(reason).drop_reason(), Some(reason));
    }
}

#[test]
fn nat_ipv6_scope_id_ignored_when_matching() {
    let pub6 = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 1));
    let cfg = NatConfig::new(
        Behaviour::EndpointIndependent,
        Behaviour::AddressAndPortDependent,
        vec![pub6],
    );
    let mut nat = nat(cfg);
    let host6: SocketAddr = "[fd00::2]:5000".parse().unwrap();
    let remote6: SocketAddr = "[2001:db8::1]:3478".parse().unwrap();
    let ext = sent(&mut nat, at(0), host6, remote6);
    let scoped: SocketAddr = "[2001:db8::1%3]:3478".parse().unwrap();
    assert_eq!(
        recv(&mut nat, at(1), scoped, ext),
        delivered(remote6, host6)
    );
}

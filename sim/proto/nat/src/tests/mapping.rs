//! Mapping behaviour (RFC 4787 §4.1): which destinations share a mapping, and no port
//! overloading (§4.2.1 REQ-3).

use super::*;
use crate::{MappingScope, PortAllocation};

#[test]
fn nat_eim_mapped_send_to_other_remotes_reuses_mapping() {
    let mut nat = nat_with(
        Behaviour::EndpointIndependent,
        Behaviour::EndpointIndependent,
    );
    let ext = sent(&mut nat, at(0), HOST, SERVER);
    assert_eq!(sent(&mut nat, at(1), HOST, SERVER_OTHER_PORT), ext);
    assert_eq!(sent(&mut nat, at(2), HOST, OTHER_IP_SAME_PORT), ext);
    assert_eq!(nat.mapping_count(), 1);
}

#[test]
fn nat_adm_mapped_send_to_same_ip_reuses_other_ip_new_mapping() {
    let mut nat = nat_with(Behaviour::AddressDependent, Behaviour::EndpointIndependent);
    let ext = sent(&mut nat, at(0), HOST, SERVER);
    assert_eq!(sent(&mut nat, at(1), HOST, SERVER_OTHER_PORT), ext);
    let other = sent(&mut nat, at(2), HOST, OTHER_IP_SAME_PORT);
    assert_ne!(other, ext);
    assert_eq!(nat.mapping_count(), 2);
}

#[test]
fn nat_apdm_mapped_send_to_other_port_new_mapping() {
    let mut nat = nat_with(
        Behaviour::AddressAndPortDependent,
        Behaviour::EndpointIndependent,
    );
    let ext = sent(&mut nat, at(0), HOST, SERVER);
    assert_eq!(
        sent(&mut nat, at(1), HOST, SERVER),
        ext,
        "same remote reuses"
    );
    let a = sent(&mut nat, at(2), HOST, SERVER_OTHER_PORT);
    let b = sent(&mut nat, at(3), HOST, OTHER_IP_SAME_PORT);
    assert!(ext != a && a != b && ext != b, "{ext} {a} {b}");
    assert_eq!(nat.mapping_count(), 3);
}

#[test]
fn nat_eim_two_hosts_same_internal_port_distinct_external_ports() {
    let mut nat = nat_with(
        Behaviour::EndpointIndependent,
        Behaviour::EndpointIndependent,
    );
    let a = sent(&mut nat, at(0), HOST, SERVER);
    let b = sent(&mut nat, at(0), HOST_B, SERVER);
    assert_ne!(a, b, "no port overloading");
    // Each answer reaches its own host.
    assert_eq!(recv(&mut nat, at(1), SERVER, a), delivered(SERVER, HOST));
    assert_eq!(recv(&mut nat, at(1), SERVER, b), delivered(SERVER, HOST_B));
}

#[test]
fn nat_udp_mapped_tcp_syn_same_port_separate_space() {
    let mut nat = nat_with(
        Behaviour::EndpointIndependent,
        Behaviour::EndpointIndependent,
    );
    let ext = sent(&mut nat, at(0), HOST, SERVER);
    // HOST_B's UDP mapping takes the next port; TCP has its own space, so HOST_B's first TCP
    // mapping still gets the preserved port, the one HOST holds for UDP.
    let b_udp = sent(&mut nat, at(0), HOST_B, SERVER);
    assert_ne!(b_udp, ext);
    let verdict = nat.outbound(at(0), &tcp(HOST_B, SERVER, TcpFlags::SYN));
    assert_eq!(
        verdict,
        Verdict::Forward {
            src: ext,
            dst: SERVER
        }
    );
    // An inbound UDP packet to that port still reaches HOST, the UDP mapping's owner.
    assert_eq!(recv(&mut nat, at(1), SERVER, ext), delivered(SERVER, HOST));
    let views: Vec<_> = nat
        .mappings(at(1))
        .map(|v| (v.protocol, v.internal, v.external))
        .collect();
    assert_eq!(
        views,
        vec![
            (sim_core::Protocol::Udp, HOST, ext),
            (sim_core::Protocol::Udp, HOST_B, b_udp),
            (sim_core::Protocol::Tcp, HOST_B, ext),
        ]
    );
}

#[test]
fn nat_mappings_view_lists_live_mappings_in_order() {
    let mut cfg = config(Behaviour::AddressDependent, Behaviour::EndpointIndependent);
    cfg.port_allocation = PortAllocation::Sequential;
    let mut nat = nat(cfg);
    sent(&mut nat, at(0), HOST, SERVER);
    sent(&mut nat, at(60), HOST_B, OTHER_IP_SAME_PORT);
    let views: Vec<_> = nat.mappings(at(60)).collect();
    assert_eq!(views.len(), 2);
    assert_eq!(views[0].external, SocketAddr::new(PUB1, 1024));
    assert_eq!(views[0].internal, HOST);
    assert_eq!(views[0].scope, MappingScope::Address(SERVER.ip()));
    assert_eq!(views[0].expires, Some(at(120)));
    assert_eq!(views[1].external, SocketAddr::new(PUB1, 1025));
    // At 120 s the first one is no longer live, even before a purge.
    let later: Vec<_> = nat.mappings(at(120)).map(|v| v.internal).collect();
    assert_eq!(later, vec![HOST_B]);
}

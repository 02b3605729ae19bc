//! Hairpinning (RFC 4787 §6, REQ-9; RFC 5382 §7.2): LAN hosts reaching each other through
//! the NAT's public addresses.

use super::*;
use crate::PortForward;
use sim_core::Protocol;

fn hairpin(src: SocketAddr, dst: SocketAddr) -> Verdict {
    Verdict::Hairpin { src, dst }
}

#[test]
fn nat_hairpin_on_target_mapped_delivered_from_sender_external() {
    let mut nat = nat_with(
        Behaviour::EndpointIndependent,
        Behaviour::EndpointIndependent,
    );
    let b_ext = sent(&mut nat, at(0), HOST_B, SERVER);
    let v = nat.outbound(at(1), &udp(HOST, b_ext));
    // REQ-9b: the source is HOST's external address, not its private one.
    let a_ext = SocketAddr::new(PUB1, 5001);
    assert_eq!(v, hairpin(a_ext, HOST_B));
    // HOST's mapping was created by the hairpinned packet and works for outside traffic.
    assert_eq!(sent(&mut nat, at(2), HOST, SERVER), a_ext);
}

#[test]
fn nat_hairpin_off_dropped_no_hairpin_after_translation() {
    let mut cfg = config(
        Behaviour::EndpointIndependent,
        Behaviour::EndpointIndependent,
    );
    cfg.hairpinning = false;
    let mut nat = nat(cfg);
    let b_ext = sent(&mut nat, at(0), HOST_B, SERVER);
    let v = nat.outbound(at(1), &udp(HOST, b_ext));
    assert_eq!(v, Verdict::Drop(DropReason::NoHairpin));
    assert_eq!(nat.mapping_count(), 2, "the sender's mapping exists anyway");
}

#[test]
fn nat_hairpin_on_unmapped_target_port_no_mapping() {
    let mut nat = nat_with(
        Behaviour::EndpointIndependent,
        Behaviour::EndpointIndependent,
    );
    let v = nat.outbound(at(0), &udp(HOST, SocketAddr::new(PUB1, 7777)));
    assert_eq!(v, NO_MAPPING);
}

#[test]
fn nat_hairpin_apdf_target_unpunched_filtered_then_punched_delivered() {
    let mut nat = nat_with(
        Behaviour::EndpointIndependent,
        Behaviour::AddressAndPortDependent,
    );
    let a_ext = sent(&mut nat, at(0), HOST, SERVER);
    let b_ext = sent(&mut nat, at(0), HOST_B, SERVER);
    // A's first packet to B's external address: B has not sent to A's external address.
    assert_eq!(nat.outbound(at(1), &udp(HOST, b_ext)), FILTERED);
    // B punches towards A's external address: A's mapping now permits B (A sent to b_ext).
    assert_eq!(
        nat.outbound(at(2), &udp(HOST_B, a_ext)),
        hairpin(b_ext, HOST)
    );
    assert_eq!(
        nat.outbound(at(3), &udp(HOST, b_ext)),
        hairpin(a_ext, HOST_B)
    );
}

#[test]
fn nat_hairpin_apdm_sender_gets_mapping_per_target() {
    let mut nat = nat_with(
        Behaviour::AddressAndPortDependent,
        Behaviour::EndpointIndependent,
    );
    let b_ext = sent(&mut nat, at(0), HOST_B, SERVER);
    let a_to_server = sent(&mut nat, at(0), HOST, SERVER);
    let Verdict::Hairpin { src, dst } = nat.outbound(at(1), &udp(HOST, b_ext)) else {
        panic!("expected hairpin");
    };
    assert_eq!(dst, HOST_B);
    assert_ne!(src, a_to_server, "APDM: a separate mapping towards b_ext");
    assert_eq!(src.ip(), PUB1);
}

#[test]
fn nat_hairpin_to_port_forward_delivered_unfiltered() {
    let mut cfg = config(
        Behaviour::AddressAndPortDependent,
        Behaviour::AddressAndPortDependent,
    );
    let server = v4(10, 0, 0, 80, 8080);
    cfg.port_forwards = vec![PortForward {
        protocol: Protocol::Udp,
        external_port: 80,
        internal: server,
    }];
    let mut nat = nat(cfg);
    let v = nat.outbound(at(0), &udp(HOST, SocketAddr::new(PUB1, 80)));
    assert_eq!(v, hairpin(SocketAddr::new(PUB1, 5000), server));
}

#[test]
fn nat_hairpin_tcp_syn_to_eif_mapping_opens_connection() {
    let mut nat = nat_with(
        Behaviour::EndpointIndependent,
        Behaviour::EndpointIndependent,
    );
    let b = nat.outbound(at(0), &tcp(HOST_B, SERVER, TcpFlags::SYN));
    let Verdict::Forward { src: b_ext, .. } = b else {
        panic!("{b:?}");
    };
    let v = nat.outbound(at(1), &tcp(HOST, b_ext, TcpFlags::SYN));
    let a_ext = SocketAddr::new(PUB1, 5001);
    assert_eq!(v, hairpin(a_ext, HOST_B));
    // B's SYN-ACK hairpins back along the connection A's SYN opened.
    assert_eq!(
        nat.outbound(at(1), &tcp(HOST_B, a_ext, TcpFlags::SYN_ACK)),
        hairpin(b_ext, HOST)
    );
}

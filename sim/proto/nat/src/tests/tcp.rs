//! TCP through the NAT (RFC 5382): mappings created by outbound SYNs, connection tracking
//! timeouts (§5), inbound SYN handling (§4.3) and port forwards.

use super::*;
use crate::PortForward;
use sim_core::Protocol;

fn tcp_out(
    nat: &mut Nat,
    now: SimInstant,
    from: SocketAddr,
    to: SocketAddr,
    flags: TcpFlags,
) -> Verdict {
    nat.outbound(now, &tcp(from, to, flags))
}

fn tcp_in(
    nat: &mut Nat,
    now: SimInstant,
    from: SocketAddr,
    ext: SocketAddr,
    flags: TcpFlags,
) -> Verdict {
    nat.inbound(now, &tcp(from, ext, flags))
}

/// HOST opens a connection to SERVER; returns the external address.
fn syn_sent(nat: &mut Nat) -> SocketAddr {
    match tcp_out(nat, at(0), HOST, SERVER, TcpFlags::SYN) {
        Verdict::Forward { src, .. } => src,
        other => panic!("SYN not forwarded: {other:?}"),
    }
}

/// HOST's connection to SERVER completes its handshake at 1 s.
fn established(nat: &mut Nat) -> SocketAddr {
    let ext = syn_sent(nat);
    assert_eq!(
        tcp_in(nat, at(1), SERVER, ext, TcpFlags::SYN_ACK),
        delivered(SERVER, HOST)
    );
    assert!(matches!(
        tcp_out(nat, at(1), HOST, SERVER, TcpFlags::ACK),
        Verdict::Forward { .. }
    ));
    ext
}

const NO_CONNECTION: Verdict = Verdict::Drop(DropReason::NoConnection);

#[test]
fn nat_tcp_unmapped_outbound_syn_creates_mapping() {
    let mut nat = nat_with(
        Behaviour::EndpointIndependent,
        Behaviour::AddressAndPortDependent,
    );
    let ext = syn_sent(&mut nat);
    assert_eq!(ext, SocketAddr::new(PUB1, 5000));
    assert_eq!(nat.mapping_count(), 1);
}

#[test]
fn nat_tcp_unmapped_outbound_ack_no_mapping() {
    let mut nat = nat_with(
        Behaviour::EndpointIndependent,
        Behaviour::EndpointIndependent,
    );
    assert_eq!(
        tcp_out(&mut nat, at(0), HOST, SERVER, TcpFlags::ACK),
        NO_MAPPING
    );
    assert_eq!(
        tcp_out(&mut nat, at(0), HOST, SERVER, TcpFlags::RST),
        NO_MAPPING
    );
    assert_eq!(nat.mapping_count(), 0);
}

#[test]
fn nat_tcp_unmapped_inbound_syn_no_mapping() {
    let mut nat = nat_with(
        Behaviour::EndpointIndependent,
        Behaviour::EndpointIndependent,
    );
    let ext = SocketAddr::new(PUB1, 5000);
    assert_eq!(
        tcp_in(&mut nat, at(0), SERVER, ext, TcpFlags::SYN),
        NO_MAPPING
    );
}

#[test]
fn nat_tcp_forwarded_inbound_syn_delivered() {
    let mut cfg = config(
        Behaviour::AddressAndPortDependent,
        Behaviour::AddressAndPortDependent,
    );
    let web = v4(10, 0, 0, 80, 8080);
    cfg.port_forwards = vec![PortForward {
        protocol: Protocol::Tcp,
        external_port: 443,
        internal: web,
    }];
    let mut nat = nat(cfg);
    let ext = SocketAddr::new(PUB1, 443);
    assert_eq!(
        tcp_in(&mut nat, at(0), SERVER, ext, TcpFlags::SYN),
        delivered(SERVER, web)
    );
    // The answer leaves from the forwarded port (symmetric SNAT), with no dynamic mapping.
    let v = tcp_out(&mut nat, at(0), web, SERVER, TcpFlags::SYN_ACK);
    assert_eq!(
        v,
        Verdict::Forward {
            src: ext,
            dst: SERVER
        }
    );
    assert_eq!(nat.mapping_count(), 0);
    // UDP to the same port is not forwarded.
    assert_eq!(recv(&mut nat, at(0), SERVER, ext), NO_MAPPING);
}

#[test]
fn nat_tcp_syn_sent_idle_transitory_timeout_expires() {
    let mut nat = nat_with(
        Behaviour::EndpointIndependent,
        Behaviour::AddressAndPortDependent,
    );
    let ext = syn_sent(&mut nat);
    assert_eq!(
        nat.poll_timeout(),
        Some(at(240)),
        "4 min transitory timeout"
    );
    assert_eq!(
        tcp_in(&mut nat, at(239), SERVER, ext, TcpFlags::SYN_ACK),
        delivered(SERVER, HOST)
    );
    let mut nat = nat_with(
        Behaviour::EndpointIndependent,
        Behaviour::AddressAndPortDependent,
    );
    let ext = syn_sent(&mut nat);
    assert_eq!(
        tcp_in(&mut nat, at(240), SERVER, ext, TcpFlags::SYN_ACK),
        NO_MAPPING
    );
}

#[test]
fn nat_tcp_established_idle_outlives_transitory_until_tcp_timeout() {
    let mut nat = nat_with(
        Behaviour::EndpointIndependent,
        Behaviour::AddressAndPortDependent,
    );
    let ext = established(&mut nat);
    let timeout = nat.config().tcp_timeout;
    assert_eq!(nat.poll_timeout(), Some(at(1) + timeout));
    // An hour of silence is fine for an established connection.
    assert_eq!(
        tcp_in(&mut nat, at(3600), SERVER, ext, TcpFlags::ACK),
        delivered(SERVER, HOST)
    );
    // Both directions refresh TCP connections.
    assert_eq!(nat.poll_timeout(), Some(at(3600) + timeout));
    nat.handle_timeout(at(3600) + timeout);
    assert_eq!(nat.mapping_count(), 0);
}

#[test]
fn nat_tcp_established_rst_back_to_transitory_timeout() {
    let mut nat = nat_with(
        Behaviour::EndpointIndependent,
        Behaviour::AddressAndPortDependent,
    );
    let ext = established(&mut nat);
    assert_eq!(
        tcp_in(&mut nat, at(10), SERVER, ext, TcpFlags::RST),
        delivered(SERVER, HOST)
    );
    assert_eq!(nat.poll_timeout(), Some(at(250)));
    assert_eq!(
        tcp_in(&mut nat, at(250), SERVER, ext, TcpFlags::ACK),
        NO_MAPPING
    );
}

#[test]
fn nat_tcp_established_fin_both_ways_transitory_timeout() {
    let mut nat = nat_with(
        Behaviour::EndpointIndependent,
        Behaviour::AddressAndPortDependent,
    );
    let ext = established(&mut nat);
    tcp_out(&mut nat, at(10), HOST, SERVER, TcpFlags::FIN);
    let timeout = nat.config().tcp_timeout;
    assert_eq!(
        nat.poll_timeout(),
        Some(at(10) + timeout),
        "half-closed is still established"
    );
    tcp_in(&mut nat, at(11), SERVER, ext, TcpFlags::FIN);
    assert_eq!(nat.poll_timeout(), Some(at(251)));
}

#[test]
fn nat_tcp_closed_new_syn_reopens_on_same_mapping() {
    let mut nat = nat_with(
        Behaviour::EndpointIndependent,
        Behaviour::AddressAndPortDependent,
    );
    let ext = established(&mut nat);
    tcp_out(&mut nat, at(10), HOST, SERVER, TcpFlags::RST);
    let v = tcp_out(&mut nat, at(20), HOST, SERVER, TcpFlags::SYN);
    assert_eq!(
        v,
        Verdict::Forward {
            src: ext,
            dst: SERVER
        }
    );
    assert_eq!(
        nat.poll_timeout(),
        Some(at(260)),
        "opening again: transitory"
    );
}

#[test]
fn nat_tcp_eim_eif_mapped_inbound_syn_from_stranger_opens_connection() {
    let mut nat = nat_with(
        Behaviour::EndpointIndependent,
        Behaviour::EndpointIndependent,
    );
    let ext = syn_sent(&mut nat);
    let v = tcp_in(&mut nat, at(1), OTHER_IP_SAME_PORT, ext, TcpFlags::SYN);
    assert_eq!(v, delivered(OTHER_IP_SAME_PORT, HOST));
    // A non-SYN from yet another stranger belongs to no connection.
    let v = tcp_in(&mut nat, at(1), SERVER_OTHER_PORT, ext, TcpFlags::ACK);
    assert_eq!(v, NO_CONNECTION);
}

#[test]
fn nat_tcp_eim_adf_mapped_inbound_syn_same_ip_admitted_other_ip_filtered() {
    let mut nat = nat_with(Behaviour::EndpointIndependent, Behaviour::AddressDependent);
    let ext = syn_sent(&mut nat);
    let v = tcp_in(&mut nat, at(1), SERVER_OTHER_PORT, ext, TcpFlags::SYN);
    assert_eq!(v, delivered(SERVER_OTHER_PORT, HOST));
    assert_eq!(
        tcp_in(&mut nat, at(1), OTHER_IP_SAME_PORT, ext, TcpFlags::SYN),
        FILTERED
    );
}

#[test]
fn nat_tcp_eim_apdf_mapped_inbound_syn_from_stranger_filtered() {
    let mut nat = nat_with(
        Behaviour::EndpointIndependent,
        Behaviour::AddressAndPortDependent,
    );
    let ext = syn_sent(&mut nat);
    assert_eq!(
        tcp_in(&mut nat, at(1), SERVER_OTHER_PORT, ext, TcpFlags::SYN),
        FILTERED
    );
    assert_eq!(
        tcp_in(&mut nat, at(1), OTHER_IP_SAME_PORT, ext, TcpFlags::ACK),
        FILTERED
    );
}

#[test]
fn nat_tcp_simultaneous_open_through_symmetric_nat_established() {
    // Hole punching: both sides send a SYN; the inbound SYN matches the outbound one.
    let mut nat = nat_with(
        Behaviour::AddressAndPortDependent,
        Behaviour::AddressAndPortDependent,
    );
    let ext = syn_sent(&mut nat);
    assert_eq!(
        tcp_in(&mut nat, at(1), SERVER, ext, TcpFlags::SYN),
        delivered(SERVER, HOST)
    );
    tcp_out(&mut nat, at(1), HOST, SERVER, TcpFlags::SYN_ACK);
    let timeout = nat.config().tcp_timeout;
    assert_eq!(nat.poll_timeout(), Some(at(1) + timeout), "established");
}

#[test]
fn nat_tcp_eim_two_connections_mapping_lives_while_one_does() {
    let mut nat = nat_with(
        Behaviour::EndpointIndependent,
        Behaviour::AddressAndPortDependent,
    );
    let ext = established(&mut nat);
    let v = tcp_out(&mut nat, at(2), HOST, OTHER_IP_SAME_PORT, TcpFlags::SYN);
    assert_eq!(
        v,
        Verdict::Forward {
            src: ext,
            dst: OTHER_IP_SAME_PORT
        },
        "EIM: same external port"
    );
    // The second connection never completes and times out at 242 s; the first lives on.
    nat.handle_timeout(at(300));
    assert_eq!(nat.mapping_count(), 1);
    assert_eq!(
        tcp_in(
            &mut nat,
            at(300),
            OTHER_IP_SAME_PORT,
            ext,
            TcpFlags::SYN_ACK
        ),
        FILTERED
    );
    assert_eq!(
        tcp_in(&mut nat, at(300), SERVER, ext, TcpFlags::ACK),
        delivered(SERVER, HOST)
    );
}

#[test]
fn nat_tcp_mapped_outbound_ack_to_new_remote_no_connection() {
    let mut nat = nat_with(
        Behaviour::EndpointIndependent,
        Behaviour::EndpointIndependent,
    );
    syn_sent(&mut nat);
    assert_eq!(
        tcp_out(&mut nat, at(1), HOST, OTHER_IP_SAME_PORT, TcpFlags::ACK),
        NO_CONNECTION
    );
}

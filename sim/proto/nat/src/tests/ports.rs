//! Port assignment (RFC 4787 §4.2), exhaustion and IP address pooling (§4.1, REQ-2).

use super::*;
use crate::{Pooling, PortAllocation};
use std::collections::BTreeSet;

fn apdm(allocation: PortAllocation, range: std::ops::RangeInclusive<u16>) -> NatConfig {
    let mut cfg = config(
        Behaviour::AddressAndPortDependent,
        Behaviour::AddressAndPortDependent,
    );
    cfg.port_allocation = allocation;
    cfg.port_range = range;
    cfg
}

/// The i-th distinct remote (so that APDM creates one mapping each).
fn remote(i: u16) -> SocketAddr {
    v4(203, 0, 113, 10, 1000 + i)
}

#[test]
fn nat_preserve_free_internal_port_kept() {
    let mut nat = nat(apdm(PortAllocation::Preserve, 1024..=65535));
    let ext = sent(&mut nat, at(0), v4(10, 0, 0, 2, 40000), SERVER);
    assert_eq!(ext, SocketAddr::new(PUB1, 40000));
}

#[test]
fn nat_preserve_collision_next_free_port_up() {
    let mut nat = nat(apdm(PortAllocation::Preserve, 1024..=65535));
    assert_eq!(sent(&mut nat, at(0), HOST, SERVER).port(), 5000);
    assert_eq!(sent(&mut nat, at(0), HOST_B, SERVER).port(), 5001);
    // 5002 is taken by a host using it as its internal port; the next collision skips it.
    assert_eq!(
        sent(&mut nat, at(0), v4(10, 0, 0, 9, 5002), SERVER).port(),
        5002
    );
    assert_eq!(sent(&mut nat, at(0), HOST_C, SERVER).port(), 5003);
}

#[test]
fn nat_preserve_collision_at_range_top_wraps_to_bottom() {
    let mut nat = nat(apdm(PortAllocation::Preserve, 4998..=5000));
    assert_eq!(sent(&mut nat, at(0), HOST, SERVER).port(), 5000);
    assert_eq!(sent(&mut nat, at(0), HOST_B, SERVER).port(), 4998);
    assert_eq!(sent(&mut nat, at(0), HOST_C, SERVER).port(), 4999);
}

#[test]
fn nat_preserve_internal_port_outside_range_starts_at_bottom() {
    let mut nat = nat(apdm(PortAllocation::Preserve, 2000..=2999));
    assert_eq!(
        sent(&mut nat, at(0), v4(10, 0, 0, 2, 80), SERVER).port(),
        2000
    );
    assert_eq!(sent(&mut nat, at(0), HOST, SERVER).port(), 2001);
}

#[test]
fn nat_sequential_increments_from_range_start() {
    let mut nat = nat(apdm(PortAllocation::Sequential, 1024..=65535));
    let ports: Vec<u16> = (0..4)
        .map(|i| sent(&mut nat, at(0), HOST, remote(i)).port())
        .collect();
    assert_eq!(ports, vec![1024, 1025, 1026, 1027]);
    // Another internal IP continues the same cursor (it is per external IP).
    assert_eq!(sent(&mut nat, at(0), HOST_B, SERVER).port(), 1028);
}

#[test]
fn nat_sequential_freed_port_not_reused_until_wrap() {
    let mut nat = nat(apdm(PortAllocation::Sequential, 1024..=1026));
    assert_eq!(sent(&mut nat, at(0), HOST, remote(0)).port(), 1024);
    assert_eq!(sent(&mut nat, at(100), HOST, remote(1)).port(), 1025);
    // At 130 s the 1024 mapping has expired; the cursor moves on to 1026, then wraps to 1024.
    assert_eq!(sent(&mut nat, at(130), HOST, remote(2)).port(), 1026);
    assert_eq!(sent(&mut nat, at(131), HOST, remote(3)).port(), 1024);
}

#[test]
fn nat_random_ports_in_range_and_distinct() {
    let mut nat = nat(apdm(PortAllocation::Random, 40000..=40099));
    let ports: BTreeSet<u16> = (0..100)
        .map(|i| sent(&mut nat, at(0), HOST, remote(i)).port())
        .collect();
    assert_eq!(
        ports.len(),
        100,
        "every port of the range used exactly once"
    );
    assert_eq!(ports.first(), Some(&40000));
    assert_eq!(ports.last(), Some(&40099));
}

fn random_ports(seed: u64) -> Vec<u16> {
    let cfg = apdm(PortAllocation::Random, 1024..=65535);
    let mut nat = Nat::new(cfg, Seed::new(seed)).expect("valid");
    (0..20)
        .map(|i| sent(&mut nat, at(0), HOST, remote(i)).port())
        .collect()
}

#[test]
fn nat_random_same_seed_replays_other_seed_differs() {
    let a = random_ports(42);
    assert_eq!(a, random_ports(42));
    assert_ne!(a, random_ports(43));
    assert!(a.iter().all(|p| *p >= 1024));
    assert!(
        !a.windows(2).all(|w| w[1] == w[0] + 1),
        "not sequential: {a:?}"
    );
}

#[test]
fn nat_tiny_range_full_new_mapping_ports_exhausted() {
    let mut nat = nat(apdm(PortAllocation::Preserve, 5000..=5001));
    let first = sent(&mut nat, at(0), HOST, remote(0));
    sent(&mut nat, at(0), HOST, remote(1));
    let third = nat.outbound(at(1), &udp(HOST, remote(2)));
    assert_eq!(third, Verdict::Drop(DropReason::PortsExhausted));
    // Existing mappings still work, and a port comes back when one expires.
    assert_eq!(
        recv(&mut nat, at(2), remote(0), first),
        delivered(remote(0), HOST)
    );
    assert_eq!(sent(&mut nat, at(120), HOST, remote(2)), first);
}

#[test]
fn nat_tiny_range_full_tcp_syn_ports_exhausted_udp_unaffected() {
    let mut nat = nat(apdm(PortAllocation::Preserve, 5000..=5000));
    assert!(matches!(
        nat.outbound(at(0), &tcp(HOST, remote(0), TcpFlags::SYN)),
        Verdict::Forward { .. }
    ));
    let v = nat.outbound(at(0), &tcp(HOST, remote(1), TcpFlags::SYN));
    assert_eq!(v, Verdict::Drop(DropReason::PortsExhausted));
    assert_eq!(sent(&mut nat, at(0), HOST, remote(1)).port(), 5000);
}

fn pooled(pooling: Pooling, range: std::ops::RangeInclusive<u16>) -> NatConfig {
    let mut cfg = apdm(PortAllocation::Preserve, range);
    cfg.public = vec![PUB1, PUB2];
    cfg.pooling = pooling;
    cfg
}

#[test]
fn nat_paired_pool_one_ip_per_host_round_robin() {
    let mut nat = nat(pooled(Pooling::Paired, 1024..=65535));
    let a: BTreeSet<IpAddr> = (0..10)
        .map(|i| sent(&mut nat, at(0), HOST, remote(i)).ip())
        .collect();
    assert_eq!(a, BTreeSet::from([PUB1]));
    assert_eq!(sent(&mut nat, at(0), HOST_B, SERVER).ip(), PUB2);
    assert_eq!(sent(&mut nat, at(0), HOST_C, SERVER).ip(), PUB1);
    // Another port of HOST_B stays on HOST_B's address.
    assert_eq!(
        sent(&mut nat, at(0), v4(10, 0, 0, 3, 7000), SERVER).ip(),
        PUB2
    );
}

#[test]
fn nat_paired_pool_assignment_outlives_mappings() {
    let mut nat = nat(pooled(Pooling::Paired, 1024..=65535));
    sent(&mut nat, at(0), HOST, SERVER);
    assert_eq!(sent(&mut nat, at(0), HOST_B, SERVER).ip(), PUB2);
    // Every mapping has expired; HOST_B keeps its pairing.
    assert_eq!(sent(&mut nat, at(1000), HOST_B, SERVER).ip(), PUB2);
}

#[test]
fn nat_arbitrary_pool_spreads_one_host_over_addresses() {
    let mut nat = nat(pooled(Pooling::Arbitrary, 1024..=65535));
    let ips: Vec<IpAddr> = (0..40)
        .map(|i| sent(&mut nat, at(0), HOST, remote(i)).ip())
        .collect();
    let used: BTreeSet<IpAddr> = ips.iter().copied().collect();
    assert_eq!(used, BTreeSet::from([PUB1, PUB2]), "{ips:?}");
}

#[test]
fn nat_paired_address_full_ports_exhausted_arbitrary_falls_back() {
    let mut paired = nat(pooled(Pooling::Paired, 5000..=5000));
    sent(&mut paired, at(0), HOST, remote(0));
    let v = paired.outbound(at(0), &udp(HOST, remote(1)));
    assert_eq!(
        v,
        Verdict::Drop(DropReason::PortsExhausted),
        "paired never switches address"
    );

    let mut arbitrary = nat(pooled(Pooling::Arbitrary, 5000..=5000));
    let a = sent(&mut arbitrary, at(0), HOST, remote(0));
    let b = sent(&mut arbitrary, at(0), HOST, remote(1));
    assert_eq!(
        BTreeSet::from([a.ip(), b.ip()]),
        BTreeSet::from([PUB1, PUB2])
    );
    let c = arbitrary.outbound(at(0), &udp(HOST, remote(2)));
    assert_eq!(c, Verdict::Drop(DropReason::PortsExhausted));
}

use super::*;
use sim_nat::{Behaviour, NatConfig};
use std::time::Duration;

fn ms(n: u64) -> SimInstant {
    SimInstant::from_micros(n * 1000)
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn latency(ms: u64) -> LinkConfig {
    LinkConfig {
        latency: Duration::from_millis(ms),
        ..LinkConfig::default()
    }
}

fn nat(mapping: Behaviour, filtering: Behaviour, public: &str) -> Nat {
    Nat::new(
        NatConfig::new(mapping, filtering, vec![ip(public)]),
        Seed::new(9),
    )
    .unwrap()
}

/// `alice` (10.0.0.2) behind port-restricted `home` (198.51.100.1), public `server`
/// (203.0.113.10) and `other` (203.0.113.20).
struct World {
    f: Fabric,
    alice: NodeId,
    server: NodeId,
    other: NodeId,
    home: NatId,
}

fn world_with(home_nat: Nat) -> World {
    let mut f = Fabric::new(Seed::new(1), "wan", true);
    let (home, lan) = f
        .add_nat(
            "home",
            home_nat,
            Fabric::PUBLIC,
            "lan-home",
            latency(5),
            false,
        )
        .unwrap();
    let alice = f
        .add_node("alice", lan, ip("10.0.0.2"), latency(1))
        .unwrap();
    let server = f
        .add_node("server", Fabric::PUBLIC, ip("203.0.113.10"), latency(10))
        .unwrap();
    let other = f
        .add_node("other", Fabric::PUBLIC, ip("203.0.113.20"), latency(10))
        .unwrap();
    for (n, port) in [(alice, 5000), (server, 3478), (other, 3478)] {
        f.bind_udp(n, port);
    }
    World {
        f,
        alice,
        server,
        other,
        home,
    }
}

fn world() -> World {
    world_with(nat(
        Behaviour::EndpointIndependent,
        Behaviour::AddressAndPortDependent,
        "198.51.100.1",
    ))
}

fn udp(f: &mut Fabric, at: SimInstant, from: NodeId, port: u16, to: &str) {
    f.send(
        at,
        from,
        Transport::Udp,
        port,
        addr(to),
        Bytes::from_static(b"probe"),
    );
}

fn run(f: &mut Fabric, until: SimInstant) -> Vec<Delivery> {
    f.advance(until);
    std::iter::from_fn(|| f.poll_delivery()).collect()
}

fn captured(f: &mut Fabric) -> Vec<CaptureRecord> {
    std::iter::from_fn(|| f.poll_capture()).collect()
}

#[test]
fn fabric_public_nodes_deliver_after_both_links() {
    let mut w = world();
    udp(&mut w.f, ms(0), w.server, 3478, "203.0.113.20:3478");
    assert!(run(&mut w.f, ms(19)).is_empty());
    let got = run(&mut w.f, ms(20));
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].node, got[0].time), (w.other, ms(20)));
    assert_eq!(got[0].packet.src, addr("203.0.113.10:3478"));
}

#[test]
fn fabric_lan_node_reaches_server_translated_and_both_hops_are_captured() {
    let mut w = world();
    udp(&mut w.f, ms(0), w.alice, 5000, "203.0.113.10:3478");
    let got = run(&mut w.f, ms(100));
    assert_eq!(got.len(), 1);
    // 1 ms alice link, then 5 ms NAT uplink + 10 ms server link.
    assert_eq!(got[0].time, ms(16));
    assert_eq!(
        got[0].packet.src,
        addr("198.51.100.1:5000"),
        "port preserved by default"
    );
    let cap = captured(&mut w.f);
    assert_eq!(cap.len(), 2);
    assert_eq!(
        (cap[0].network, cap[0].packet.src),
        (NetworkId(1), addr("10.0.0.2:5000"))
    );
    assert_eq!(
        (cap[1].network, cap[1].packet.src),
        (Fabric::PUBLIC, addr("198.51.100.1:5000"))
    );
    assert!(cap.iter().all(|c| c.dropped.is_none()));
}

#[test]
fn fabric_reply_reaches_the_lan_node_and_unsolicited_is_filtered() {
    let mut w = world();
    udp(&mut w.f, ms(0), w.alice, 5000, "203.0.113.10:3478");
    run(&mut w.f, ms(100));
    udp(&mut w.f, ms(100), w.server, 3478, "198.51.100.1:5000");
    udp(&mut w.f, ms(100), w.other, 3478, "198.51.100.1:5000");
    let got = run(&mut w.f, ms(200));
    assert_eq!(got.len(), 1);
    assert_eq!(
        (got[0].node, got[0].packet.src),
        (w.alice, addr("203.0.113.10:3478"))
    );
    assert_eq!(got[0].packet.dst, addr("10.0.0.2:5000"));
    let drops = w.f.drops();
    assert_eq!(drops.len(), 1);
    assert_eq!(drops[0].reason, DropReason::Filtered);
    assert_eq!(drops[0].at, Attachment::NatOutside(w.home));
    assert_eq!(drops[0].origin, w.other);
    let cap = captured(&mut w.f);
    let comment = cap.iter().find_map(|c| c.dropped.as_ref()).unwrap();
    assert!(comment.1.contains("NAT home"), "{comment:?}");
}

#[test]
fn fabric_inbound_without_mapping_is_dropped_as_no_mapping() {
    let mut w = world();
    udp(&mut w.f, ms(0), w.server, 3478, "198.51.100.1:5000");
    assert!(run(&mut w.f, ms(100)).is_empty());
    assert_eq!(w.f.drops()[0].reason, DropReason::NoMapping);
}

#[test]
fn fabric_hairpin_delivers_from_the_external_address() {
    let mut w = world_with(nat(
        Behaviour::EndpointIndependent,
        Behaviour::EndpointIndependent,
        "198.51.100.1",
    ));
    let lan = NetworkId(1);
    let bob =
        w.f.add_node("bob", lan, ip("10.0.0.3"), latency(1))
            .unwrap();
    w.f.bind_udp(bob, 6000);
    // Both create mappings towards the server first.
    udp(&mut w.f, ms(0), w.alice, 5000, "203.0.113.10:3478");
    udp(&mut w.f, ms(0), bob, 6000, "203.0.113.10:3478");
    run(&mut w.f, ms(50));
    udp(&mut w.f, ms(50), w.alice, 5000, "198.51.100.1:6000");
    let got = run(&mut w.f, ms(100));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].node, bob);
    assert_eq!(
        got[0].packet.src,
        addr("198.51.100.1:5000"),
        "REQ-9b: external source"
    );
}

#[test]
fn fabric_hairpin_off_drops() {
    let mut cfg = NatConfig::new(
        Behaviour::EndpointIndependent,
        Behaviour::EndpointIndependent,
        vec![ip("198.51.100.1")],
    );
    cfg.hairpinning = false;
    let mut w = world_with(Nat::new(cfg, Seed::new(2)).unwrap());
    let bob =
        w.f.add_node("bob", NetworkId(1), ip("10.0.0.3"), latency(1))
            .unwrap();
    w.f.bind_udp(bob, 6000);
    udp(&mut w.f, ms(0), bob, 6000, "203.0.113.10:3478");
    run(&mut w.f, ms(50));
    udp(&mut w.f, ms(50), w.alice, 5000, "198.51.100.1:6000");
    assert!(run(&mut w.f, ms(100)).iter().all(|d| d.node != bob));
    assert_eq!(w.f.drops().last().unwrap().reason, DropReason::NoHairpin);
}

#[test]
fn fabric_lan_traffic_is_switched_without_translation() {
    let mut w = world();
    let bob =
        w.f.add_node("bob", NetworkId(1), ip("10.0.0.3"), latency(1))
            .unwrap();
    w.f.bind_udp(bob, 6000);
    udp(&mut w.f, ms(0), w.alice, 5000, "10.0.0.3:6000");
    let got = run(&mut w.f, ms(10));
    assert_eq!(got[0].packet.src, addr("10.0.0.2:5000"));
    assert_eq!(got[0].time, ms(2));
}

#[test]
fn fabric_carrier_grade_nat_translates_twice() {
    let mut f = Fabric::new(Seed::new(3), "wan", true);
    let cgn_nat = nat(
        Behaviour::EndpointIndependent,
        Behaviour::EndpointIndependent,
        "198.51.100.100",
    );
    let (_, cgn_lan) = f
        .add_nat("cgn", cgn_nat, Fabric::PUBLIC, "lan-cgn", latency(2), false)
        .unwrap();
    let home_nat = nat(
        Behaviour::EndpointIndependent,
        Behaviour::EndpointIndependent,
        "100.64.0.2",
    );
    let (_, home_lan) = f
        .add_nat("home", home_nat, cgn_lan, "lan-home", latency(2), false)
        .unwrap();
    let alice = f
        .add_node("alice", home_lan, ip("192.168.1.2"), latency(1))
        .unwrap();
    let server = f
        .add_node("server", Fabric::PUBLIC, ip("203.0.113.10"), latency(1))
        .unwrap();
    f.bind_udp(server, 3478);
    udp(&mut f, ms(0), alice, 5000, "203.0.113.10:3478");
    let got = run(&mut f, ms(50));
    assert_eq!(got[0].packet.src, addr("198.51.100.100:5000"));
    let names: Vec<NetworkId> = captured(&mut f).iter().map(|c| c.network).collect();
    assert_eq!(names, vec![home_lan, cgn_lan, Fabric::PUBLIC]);
    // And back through both NATs.
    udp(&mut f, ms(50), server, 3478, "198.51.100.100:5000");
    let back = run(&mut f, ms(100));
    assert_eq!(
        (back[0].node, back[0].packet.dst),
        (alice, addr("192.168.1.2:5000"))
    );
}

#[test]
fn fabric_overlapping_lans_behind_two_nats_stay_apart() {
    let mut f = Fabric::new(Seed::new(4), "wan", false);
    let n1 = nat(
        Behaviour::EndpointIndependent,
        Behaviour::EndpointIndependent,
        "198.51.100.1",
    );
    let n2 = nat(
        Behaviour::EndpointIndependent,
        Behaviour::EndpointIndependent,
        "198.51.100.2",
    );
    let (_, lan1) = f
        .add_nat("n1", n1, Fabric::PUBLIC, "lan-n1", latency(1), false)
        .unwrap();
    let (_, lan2) = f
        .add_nat("n2", n2, Fabric::PUBLIC, "lan-n2", latency(1), false)
        .unwrap();
    let a = f.add_node("a", lan1, ip("10.0.0.2"), latency(1)).unwrap();
    let b = f.add_node("b", lan2, ip("10.0.0.2"), latency(1)).unwrap();
    let server = f
        .add_node("server", Fabric::PUBLIC, ip("203.0.113.10"), latency(1))
        .unwrap();
    f.bind_udp(server, 3478);
    udp(&mut f, ms(0), a, 5000, "203.0.113.10:3478");
    udp(&mut f, ms(0), b, 5000, "203.0.113.10:3478");
    let got = run(&mut f, ms(10));
    let sources: BTreeSet<SocketAddr> = got.iter().map(|d| d.packet.src).collect();
    assert_eq!(sources.len(), 2);
    udp(&mut f, ms(10), server, 3478, "198.51.100.2:5000");
    let back = run(&mut f, ms(20));
    assert_eq!(back[0].node, b);
}

#[test]
fn fabric_partition_drops_both_ways_until_healed() {
    let mut w = world();
    w.f.partition(Entity::Node(w.alice), Entity::Node(w.server), false);
    udp(&mut w.f, ms(0), w.alice, 5000, "203.0.113.10:3478");
    assert!(run(&mut w.f, ms(100)).is_empty());
    assert_eq!(w.f.drops()[0].reason, DropReason::Partition);
    assert_eq!(w.f.drops()[0].at, Attachment::Node(w.server));
    w.f.heal(Entity::Node(w.server), Entity::Node(w.alice));
    udp(&mut w.f, ms(100), w.alice, 5000, "203.0.113.10:3478");
    assert_eq!(run(&mut w.f, ms(200)).len(), 1);
}

#[test]
fn fabric_hold_queues_and_release_delivers_in_order() {
    let mut w = world();
    w.f.hold(Entity::Node(w.server), Entity::Node(w.other), false);
    for i in 0..3 {
        let payload = Bytes::from(vec![i]);
        w.f.send(
            ms(u64::from(i)),
            w.server,
            Transport::Udp,
            3478,
            addr("203.0.113.20:3478"),
            payload,
        );
    }
    assert!(run(&mut w.f, ms(500)).is_empty());
    w.f.release(ms(500), Entity::Node(w.server), Entity::Node(w.other));
    let got = run(&mut w.f, ms(500));
    assert_eq!(
        got.iter().map(|d| d.packet.payload[0]).collect::<Vec<_>>(),
        vec![0, 1, 2]
    );
    assert!(got.iter().all(|d| d.time == ms(500)));
}

#[test]
fn fabric_unbound_port_and_crashed_node_are_recorded() {
    let mut w = world();
    udp(&mut w.f, ms(0), w.server, 3478, "203.0.113.20:9999");
    run(&mut w.f, ms(100));
    w.f.set_node_up(w.other, false);
    udp(&mut w.f, ms(100), w.server, 3478, "203.0.113.20:3478");
    run(&mut w.f, ms(200));
    let reasons: Vec<DropReason> = w.f.drops().iter().map(|d| d.reason).collect();
    assert_eq!(
        reasons,
        vec![DropReason::PortUnreachable, DropReason::NodeDown]
    );
}

#[test]
fn fabric_ip_change_leaves_the_old_address_unroutable() {
    let mut w = world();
    w.f.change_ip(w.other, ip("203.0.113.21")).unwrap();
    udp(&mut w.f, ms(0), w.server, 3478, "203.0.113.20:3478");
    udp(&mut w.f, ms(0), w.server, 3478, "203.0.113.21:3478");
    let got = run(&mut w.f, ms(100));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].packet.dst, addr("203.0.113.21:3478"));
    assert_eq!(w.f.drops()[0].reason, DropReason::NoRoute);
}

#[test]
fn fabric_nat_reboot_is_down_for_a_while_and_forgets_mappings() {
    let mut w = world();
    udp(&mut w.f, ms(0), w.alice, 5000, "203.0.113.10:3478");
    run(&mut w.f, ms(50));
    w.f.nat_reboot(
        ms(50),
        w.home,
        Duration::from_millis(100),
        Some(vec![ip("198.51.100.9")]),
    )
    .unwrap();
    udp(&mut w.f, ms(60), w.alice, 5000, "203.0.113.10:3478");
    assert!(run(&mut w.f, ms(150)).is_empty());
    assert_eq!(w.f.drops()[0].reason, DropReason::NodeDown);
    udp(&mut w.f, ms(200), w.server, 3478, "198.51.100.1:5000");
    run(&mut w.f, ms(250));
    assert_eq!(
        w.f.drops()[1].reason,
        DropReason::NoRoute,
        "old public address is gone"
    );
    udp(&mut w.f, ms(250), w.alice, 5000, "203.0.113.10:3478");
    let got = run(&mut w.f, ms(300));
    assert_eq!(got[0].packet.src.ip(), ip("198.51.100.9"));
}

#[test]
fn fabric_nat_that_drops_fragments_drops_large_datagrams_only() {
    let mut f = Fabric::new(Seed::new(5), "wan", true);
    let n = nat(
        Behaviour::EndpointIndependent,
        Behaviour::EndpointIndependent,
        "198.51.100.1",
    );
    let (_, lan) = f
        .add_nat(
            "home",
            n,
            Fabric::PUBLIC,
            "lan-home",
            LinkConfig::default(),
            true,
        )
        .unwrap();
    let alice = f
        .add_node("alice", lan, ip("10.0.0.2"), LinkConfig::default())
        .unwrap();
    let server = f
        .add_node(
            "server",
            Fabric::PUBLIC,
            ip("203.0.113.10"),
            LinkConfig::default(),
        )
        .unwrap();
    f.bind_udp(server, 5060);
    f.send(
        ms(0),
        alice,
        Transport::Udp,
        5060,
        addr("203.0.113.10:5060"),
        Bytes::from(vec![b'x'; 3000]),
    );
    f.send(
        ms(0),
        alice,
        Transport::Udp,
        5060,
        addr("203.0.113.10:5060"),
        Bytes::from(vec![b'x'; 300]),
    );
    let got = run(&mut f, ms(10));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].packet.payload.len(), 300);
    assert_eq!(f.drops()[0].reason, DropReason::Fragment);
}

#[test]
fn fabric_link_loss_is_recorded_at_the_lossy_link() {
    let mut w = world();
    w.f.loss_burst(ms(0), Entity::Node(w.alice), Duration::from_secs(1), 1.0);
    udp(&mut w.f, ms(0), w.alice, 5000, "203.0.113.10:3478");
    assert!(run(&mut w.f, ms(100)).is_empty());
    let d = w.f.drops()[0];
    assert_eq!(
        (d.reason, d.at, d.time),
        (DropReason::LinkLoss, Attachment::Node(w.alice), ms(0))
    );
    let cap = captured(&mut w.f);
    assert_eq!(cap.len(), 1);
    assert!(cap[0].to.is_none(), "lost before reaching the LAN");
}

#[test]
fn fabric_replays_the_same_trace_for_the_same_seed() {
    let trace = |seed: u64| {
        let mut f = Fabric::new(Seed::new(seed), "wan", true);
        let lossy = LinkConfig {
            latency: Duration::from_millis(3),
            jitter: Duration::from_millis(9),
            loss: LossConfig::Bernoulli(0.2),
            duplicate: 0.1,
            ..LinkConfig::default()
        };
        let a = f
            .add_node("a", Fabric::PUBLIC, ip("192.0.2.1"), lossy.clone())
            .unwrap();
        let b = f
            .add_node("b", Fabric::PUBLIC, ip("192.0.2.2"), lossy)
            .unwrap();
        f.bind_udp(b, 1);
        for i in 0..200 {
            udp(&mut f, ms(i), a, 1, "192.0.2.2:1");
        }
        f.advance(ms(1000));
        captured(&mut f)
            .iter()
            .map(|c| (c.time, c.dropped.is_some()))
            .collect::<Vec<_>>()
    };
    assert_eq!(trace(7), trace(7));
    assert_ne!(trace(7), trace(8));
}

#[test]
fn fabric_alias_address_reaches_the_node_and_can_be_sent_from() {
    let mut w = world();
    w.f.add_alias(w.server, ip("203.0.113.11")).unwrap();
    assert!(
        w.f.add_alias(w.other, ip("203.0.113.11")).is_err(),
        "an alias is an address like any other: one owner per network"
    );
    udp(&mut w.f, ms(0), w.alice, 5000, "203.0.113.11:3478");
    let got = run(&mut w.f, ms(100));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].node, w.server);
    assert_eq!(got[0].packet.dst, addr("203.0.113.11:3478"));

    let reply = |f: &mut Fabric, src: &str| {
        f.send_from(
            ms(100),
            w.server,
            Transport::Udp,
            addr(src),
            addr("198.51.100.1:5000"),
            Bytes::from_static(b"answer"),
        );
    };
    reply(&mut w.f, "203.0.113.11:3478");
    reply(&mut w.f, "192.0.2.99:3478");
    let got = run(&mut w.f, ms(300));
    let sources: Vec<_> = got.iter().map(|d| d.packet.src).collect();
    assert_eq!(
        sources,
        vec![addr("203.0.113.11:3478")],
        "the alias source passes the port-restricted filter it was sent to; a source the node \
         does not own is replaced by its main address, which the filter drops"
    );
}

#[test]
fn fabric_logs_nat_mappings_created_expired_and_flushed_at_their_instants() {
    let mut w = world();
    // NatConfig's default UDP timeout; the mapping is made when the packet reaches the NAT.
    let timeout = w.f.nat_core(w.home).config().udp_timeout;
    udp(&mut w.f, ms(0), w.alice, 5000, "203.0.113.10:3478");
    run(&mut w.f, ms(100));
    let created = w.f.take_nat_log();
    assert_eq!(created.len(), 1, "{created:?}");
    assert_eq!(created[0].time, ms(1));
    assert_eq!(
        created[0].change,
        NatChange::Created {
            protocol: Protocol::Udp,
            internal: addr("10.0.0.2:5000"),
            external: addr("198.51.100.1:5000"),
        }
    );
    // A second packet of the same flow refreshes; it makes nothing new.
    udp(&mut w.f, ms(100), w.alice, 5000, "203.0.113.10:3478");
    run(&mut w.f, ms(200));
    assert!(w.f.take_nat_log().is_empty());
    // The fabric wakes at the expiry itself, with no traffic.
    let expiry = ms(101) + timeout;
    assert_eq!(w.f.poll_timeout(), Some(expiry));
    run(&mut w.f, expiry);
    let expired = w.f.take_nat_log();
    assert_eq!(expired.len(), 1, "{expired:?}");
    assert_eq!(expired[0].time, expiry);
    assert!(matches!(expired[0].change, NatChange::Expired { .. }));
    udp(&mut w.f, expiry, w.alice, 5000, "203.0.113.10:3478");
    run(&mut w.f, expiry + Duration::from_secs(1));
    w.f.nat_flush(expiry + Duration::from_secs(1), w.home);
    let log = w.f.take_nat_log();
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!(
        log[1].change,
        NatChange::Lost {
            count: 1,
            cause: "flush"
        }
    );
}

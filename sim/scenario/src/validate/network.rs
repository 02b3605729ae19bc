//! NAT boxes and networks: settings, upstream chains (no cycles), order (upstream first), public
//! addresses, and port forwards once nodes are placed.

use super::names::{self, Decl};
use super::{Checker, Topo, links, port};
use crate::model::{Behaviour, NatSpec, Pooling, PortAllocation, Prefix};
use crate::path::YamlPath;
use crate::scenario::{Forward, Nat, NatId, Network, NetworkId};
use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::Duration;

/// RFC 4787 REQ-5: a UDP mapping lives at least 2 minutes unless configured otherwise.
const UDP_TIMEOUT: Duration = Duration::from_secs(120);
/// RFC 5382 REQ-5: established TCP connections idle for at least 2 h 4 min.
const TCP_TIMEOUT: Duration = Duration::from_secs(2 * 3600 + 4 * 60);

/// Where a NAT's outside is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Up {
    Public,
    Nat(usize),
    /// Unresolved (already reported).
    Unknown,
}

/// Checks every NAT, orders them upstream first and builds the networks.
pub(crate) fn resolve(c: &mut Checker<'_>, topo: &mut Topo) {
    let file = c.file;
    let mut ups = Vec::new();
    for (i, nat) in file.topology.nats.iter().enumerate() {
        let path = topo.names.nat_paths.get(i).cloned().unwrap_or_default();
        settings(c, &path, nat);
        ups.push(upstream(c, topo, &path, i, nat));
    }
    cycles(c, topo, &mut ups);
    let order = order(&ups);
    topo.nat_ids = vec![None; ups.len()];
    topo.networks = vec![Network {
        id: NetworkId::PUBLIC,
        name: "wan".to_owned(),
        nat: None,
        prefix: None,
    }];
    for (id, &i) in order.iter().enumerate() {
        topo.nat_ids[i] = Some(id);
    }
    for &i in &order {
        let Some(spec) = file.topology.nats.get(i) else {
            continue;
        };
        let nat = build(topo, i, spec, &ups);
        topo.networks.push(Network {
            id: nat.inside,
            name: format!("lan-{}", nat.name),
            nat: Some(nat.id),
            prefix: Some(nat.lan),
        });
        topo.nats.push(nat);
    }
    for id in 0..topo.nats.len() {
        publics(c, topo, id);
    }
}

/// Field checks of one NAT.
fn settings(c: &mut Checker<'_>, path: &YamlPath, nat: &NatSpec) {
    if nat.public.is_empty() {
        c.error(
            &path.key("public"),
            "a NAT needs at least one public address",
        );
    }
    let mut seen = BTreeSet::new();
    for (k, ip) in nat.public.iter().enumerate() {
        let at = path.key("public").index(k);
        if !seen.insert(*ip) {
            c.error(&at, format!("public address {ip} is listed twice"));
        }
        if ip.is_ipv4() != nat.lan.addr.is_ipv4() {
            c.error(
                &at,
                format!(
                    "public address {ip} and LAN {} are of different address families",
                    nat.lan
                ),
            );
        }
    }
    lan(c, &path.key("lan"), nat.lan);
    for (key, value) in [
        ("udp_timeout", nat.udp_timeout),
        ("tcp_timeout", nat.tcp_timeout),
    ] {
        if value.is_some_and(|d| d.get().is_zero()) {
            c.error(&path.key(key), format!("`{key}` must be longer than 0s"));
        }
    }
    if nat.preset.is_some() && nat.mapping.is_some() && nat.filtering.is_some() {
        c.warning(
            &path.key("preset"),
            "`preset` has no effect: `mapping` and `filtering` are both set",
            "remove `preset`, or one of `mapping` and `filtering`",
        );
    }
    if let Some(link) = &nat.link {
        links::check(c, &path.key("link"), link);
    }
    let mut rules = BTreeSet::new();
    for (k, f) in nat.port_forwards.iter().enumerate() {
        let at = path.key("port_forwards").index(k);
        port(c, &at.key("port"), Some(f.port));
        port(c, &at.key("to_port"), f.to_port);
        if !rules.insert((f.protocol, f.port)) {
            c.error(
                &at.key("port"),
                format!("port {} is forwarded twice for this protocol", f.port),
            );
        }
    }
}

/// A LAN prefix: the network address itself, with room for hosts.
fn lan(c: &mut Checker<'_>, path: &YamlPath, lan: Prefix) {
    let network = network_address(lan);
    if network != lan.addr {
        c.error_help(
            path,
            format!("LAN prefix {lan} has host bits set"),
            format!("did you mean {network}/{}?", lan.len),
        );
    }
    let max = if lan.addr.is_ipv4() { 30 } else { 126 };
    if lan.len > max {
        c.error(
            path,
            format!("LAN prefix {lan} leaves no room for hosts, expected /{max} or shorter"),
        );
    }
}

/// The prefix's network address (host bits cleared).
fn network_address(p: Prefix) -> IpAddr {
    match p.addr {
        IpAddr::V4(a) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(p.len)).unwrap_or(0);
            IpAddr::V4((u32::from(a) & mask).into())
        }
        IpAddr::V6(a) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(p.len)).unwrap_or(0);
            IpAddr::V6((u128::from(a) & mask).into())
        }
    }
}

/// Resolves a NAT's `upstream`.
fn upstream(c: &mut Checker<'_>, topo: &Topo, path: &YamlPath, i: usize, nat: &NatSpec) -> Up {
    let Some(name) = nat.upstream.as_deref().filter(|n| *n != "public") else {
        return Up::Public;
    };
    let at = path.key("upstream");
    match names::nat(c, &topo.names, &at, name) {
        Some(j) if j == i => {
            c.error(&at, format!("NAT `{name}` cannot be its own upstream"));
            Up::Unknown
        }
        Some(j) => Up::Nat(j),
        None => Up::Unknown,
    }
}

/// Reports every upstream loop once and marks its NATs unresolvable.
fn cycles(c: &mut Checker<'_>, topo: &Topo, ups: &mut [Up]) {
    let mut in_cycle = BTreeSet::new();
    for start in 0..ups.len() {
        let mut chain = vec![start];
        let mut at = start;
        while let Some(Up::Nat(next)) = ups.get(at).copied() {
            if let Some(pos) = chain.iter().position(|&n| n == next) {
                let cycle = chain.get(pos..).unwrap_or_default();
                if cycle.first() == Some(&start) && !in_cycle.contains(&start) {
                    report_cycle(c, topo, cycle);
                    in_cycle.extend(cycle.iter().copied());
                }
                break;
            }
            chain.push(next);
            at = next;
        }
    }
    for i in in_cycle {
        if let Some(u) = ups.get_mut(i) {
            *u = Up::Unknown;
        }
    }
}

fn report_cycle(c: &mut Checker<'_>, topo: &Topo, cycle: &[usize]) {
    let name = |i: &usize| {
        format!(
            "`{}`",
            topo.names.nat_names.get(*i).map_or("?", String::as_str)
        )
    };
    let mut chain: Vec<String> = cycle.iter().map(name).collect();
    chain.extend(cycle.first().map(name));
    let path = cycle
        .first()
        .and_then(|i| topo.names.nat_paths.get(*i))
        .map(|p| p.key("upstream"))
        .unwrap_or_default();
    c.error_help(
        &path,
        format!("NAT upstream chain loops: {}", chain.join(" → ")),
        "the outermost NAT of a chain must have `upstream: public` (the default)",
    );
}

/// NAT indices, each after its upstream NAT, otherwise in file order; unresolvable ones left out.
fn order(ups: &[Up]) -> Vec<usize> {
    let mut placed = vec![false; ups.len()];
    let mut order = Vec::new();
    loop {
        let before = order.len();
        for (i, up) in ups.iter().enumerate() {
            let ready = match up {
                Up::Public => true,
                Up::Nat(j) => placed.get(*j).copied().unwrap_or(false),
                Up::Unknown => false,
            };
            if ready && !placed[i] {
                placed[i] = true;
                order.push(i);
            }
        }
        if order.len() == before {
            return order;
        }
    }
}

/// The resolved NAT (its upstream is already placed).
fn build(topo: &Topo, i: usize, spec: &NatSpec, ups: &[Up]) -> Nat {
    let id = topo.nats.len();
    let upstream = match ups.get(i) {
        Some(Up::Nat(j)) => topo.nat(*j).map_or(NetworkId::PUBLIC, |n| n.inside),
        _ => NetworkId::PUBLIC,
    };
    let (preset_mapping, preset_filtering) = spec.preset.map_or(
        (
            Behaviour::EndpointIndependent,
            Behaviour::AddressAndPortDependent,
        ),
        |p| p.behaviours(),
    );
    Nat {
        id: NatId(id),
        name: spec.name.clone(),
        mapping: spec.mapping.unwrap_or(preset_mapping),
        filtering: spec.filtering.unwrap_or(preset_filtering),
        public: spec.public.clone(),
        lan: spec.lan,
        upstream,
        inside: NetworkId(id + 1),
        udp_timeout: spec.udp_timeout.map_or(UDP_TIMEOUT, |d| d.get()),
        inbound_refresh: spec.inbound_refresh.unwrap_or(false),
        tcp_timeout: spec.tcp_timeout.map_or(TCP_TIMEOUT, |d| d.get()),
        port_allocation: spec.port_allocation.unwrap_or(PortAllocation::Preserve),
        hairpinning: spec.hairpinning.unwrap_or(true),
        pooling: spec.pooling.unwrap_or(Pooling::Paired),
        drop_fragments: spec.drop_fragments.unwrap_or(false),
        sip_alg: spec.sip_alg.unwrap_or(false),
        port_forwards: Vec::new(),
        link: spec.link.as_ref().map_or_else(
            || topo.default_link.clone(),
            |l| topo.default_link.patched(l),
        ),
    }
}

/// Claims a NAT's public addresses on its upstream network (inside the upstream LAN if any).
fn publics(c: &mut Checker<'_>, topo: &mut Topo, id: usize) {
    let Some(nat) = topo.nats.get(id).cloned() else {
        return;
    };
    let Some(decoded) = topo.nat_ids.iter().position(|n| *n == Some(id)) else {
        return;
    };
    let path = topo
        .names
        .nat_paths
        .get(decoded)
        .cloned()
        .unwrap_or_default();
    let outer = topo.nats.iter().find(|n| n.inside == nat.upstream).cloned();
    for (k, ip) in nat.public.iter().enumerate() {
        let at = path.key("public").index(k);
        if let Some(outer) = &outer
            && !outer.lan.contains(*ip)
        {
            c.error(
                &at,
                format!(
                    "public address {ip} is outside the LAN of its upstream NAT `{}` ({})",
                    outer.name, outer.lan
                ),
            );
            continue;
        }
        topo.claim(c, nat.upstream, *ip, &nat.name, &at);
    }
}

/// Resolves port forwards: the target must sit behind that NAT.
pub(crate) fn forwards(c: &mut Checker<'_>, topo: &mut Topo) {
    let file = c.file;
    for (decoded, spec) in file.topology.nats.iter().enumerate() {
        let Some(nat) = topo.nat(decoded).cloned() else {
            continue;
        };
        let path = topo
            .names
            .nat_paths
            .get(decoded)
            .cloned()
            .unwrap_or_default();
        for (k, f) in spec.port_forwards.iter().enumerate() {
            let at = path.key("port_forwards").index(k).key("to");
            let Some(Decl::Node(to)) = names::subject(c, &topo.names, &at, &f.to) else {
                if matches!(
                    topo.names.lookup(c, &f.to),
                    names::Lookup::Found(Decl::Nat(_))
                ) {
                    c.error(
                        &at,
                        format!("`{}` is a NAT; a port forward goes to a node", f.to),
                    );
                }
                continue;
            };
            match topo.node(to) {
                Some(node) if node.network == nat.inside => {
                    let forward = Forward {
                        protocol: f.protocol,
                        port: f.port,
                        to,
                        to_port: f.to_port.unwrap_or(f.port),
                    };
                    if let Some(n) = topo.nats.get_mut(nat.id.0) {
                        n.port_forwards.push(forward);
                    }
                }
                Some(_) => c.error_help(
                    &at,
                    format!("`{}` is not behind `{}`", f.to, nat.name),
                    format!(
                        "a port forward of `{}` goes to a node with `behind: {}`",
                        nat.name, nat.name
                    ),
                ),
                None => {}
            }
        }
    }
}

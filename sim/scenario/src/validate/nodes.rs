//! Node placement: the network each node is on, its address (written or assigned), its link.

use super::names;
use super::{Checker, Topo, links};
use crate::model::{Prefix, ServerSpec};
use crate::path::YamlPath;
use crate::scenario::{NetworkId, Node, NodeId, Role};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

/// Public nodes without an address get one from 203.0.113.0/24 (TEST-NET-3), from `.10` up.
const PUBLIC_POOL: (Ipv4Addr, u8) = (Ipv4Addr::new(203, 0, 113, 0), 24);
const PUBLIC_FIRST: u128 = 10;
/// LAN nodes without an address get one from their NAT's LAN, from the second host up (the
/// first is left for the NAT's own inside address).
const LAN_FIRST: u128 = 2;

/// Places every node; written addresses are claimed first, then the others are assigned.
pub(crate) fn place(c: &mut Checker<'_>, topo: &mut Topo) {
    let count = topo.names.roles.len();
    let mut networks = Vec::with_capacity(count);
    for id in (0..count).map(NodeId) {
        let network = network(c, topo, id);
        if let Some(net) = network {
            written_address(c, topo, id, net);
        }
        networks.push(network);
    }
    topo.nodes = vec![None; count];
    // Per network, the pool index below which every address is taken.
    let mut cursor = BTreeMap::new();
    for (id, network) in networks.into_iter().enumerate() {
        let id = NodeId(id);
        let (Some(network), Some((role, path))) = (network, role_parts(topo, id)) else {
            continue;
        };
        if let Some(address) = address(c, topo, &mut cursor, &role, &path, network) {
            let node = build(c, topo, id, role, &path, network, address);
            alternate(c, topo, &node, &path);
            topo.nodes[id.0] = Some(node);
        }
    }
}

fn role_parts(topo: &Topo, id: NodeId) -> Option<(Role, YamlPath)> {
    let role = topo.names.roles.get(id.0)?.clone();
    let path = topo.names.node_paths.get(id.0)?.clone();
    Some((role, path))
}

fn common(role: &Role) -> crate::model::Common<'_> {
    match role {
        Role::Server(s) => s.common(),
        Role::Endpoint(e) => e.common(),
    }
}

/// The network of `behind` (public by default); `None` when it cannot be resolved.
fn network(c: &mut Checker<'_>, topo: &Topo, id: NodeId) -> Option<NetworkId> {
    let (role, path) = role_parts(topo, id)?;
    let Some(behind) = common(&role).behind.filter(|b| *b != "public") else {
        return Some(NetworkId::PUBLIC);
    };
    let decoded = names::nat(c, &topo.names, &path.key("behind"), behind)?;
    topo.nat(decoded).map(|n| n.inside)
}

/// Checks and claims a written address.
fn written_address(c: &mut Checker<'_>, topo: &mut Topo, id: NodeId, network: NetworkId) {
    let Some((role, path)) = role_parts(topo, id) else {
        return;
    };
    let common = common(&role);
    let Some(ip) = common.address else { return };
    let at = path.key("address");
    if let Some(nat) = topo.nats.iter().find(|n| n.inside == network) {
        if ip.is_ipv4() != nat.lan.addr.is_ipv4() {
            c.error(
                &at,
                format!(
                    "address {ip} and the LAN of `{}` ({}) are of different address families",
                    nat.name, nat.lan
                ),
            );
            return;
        }
        if !nat.lan.contains(ip) {
            c.error_help(
                &at,
                format!(
                    "address {ip} is outside the LAN of `{}` ({})",
                    nat.name, nat.lan
                ),
                format!(
                    "pick an address in {}, or leave `address` out to get one",
                    nat.lan
                ),
            );
            return;
        }
    }
    topo.claim(c, network, ip, common.name, &at);
}

/// The written address, or the next free one of the network's pool.
fn address(
    c: &mut Checker<'_>,
    topo: &mut Topo,
    cursor: &mut BTreeMap<NetworkId, u128>,
    role: &Role,
    path: &YamlPath,
    network: NetworkId,
) -> Option<IpAddr> {
    let common = common(role);
    if let Some(ip) = common.address {
        // Written: valid only if this node holds the claim.
        let holder = topo
            .claims
            .get(&(network, ip))
            .map(|(owner, p)| (owner.as_str(), p));
        return (holder == Some((common.name, &path.key("address")))).then_some(ip);
    }
    let (pool, first) = match topo.nats.iter().find(|n| n.inside == network) {
        Some(nat) => (nat.lan, LAN_FIRST),
        None => (
            Prefix {
                addr: IpAddr::V4(PUBLIC_POOL.0),
                len: PUBLIC_POOL.1,
            },
            PUBLIC_FIRST,
        ),
    };
    let start = cursor.get(&network).copied().unwrap_or(first);
    let free = (start..)
        .map_while(|n| pool.nth(n).map(|ip| (n, ip)))
        .find(|(_, ip)| !topo.taken(network, *ip) && !is_broadcast(pool, *ip));
    let Some((n, ip)) = free else {
        c.error_help(
            path,
            format!("no free address left for `{}` in {pool}", common.name),
            "give the node an `address`, or widen the LAN prefix",
        );
        return None;
    };
    cursor.insert(network, n + 1);
    topo.claim(c, network, ip, common.name, path);
    Some(ip)
}

/// The last address of an IPv4 prefix.
fn is_broadcast(p: Prefix, ip: IpAddr) -> bool {
    p.addr.is_ipv4() && p.len < 31 && !p.contains(next(ip))
}

fn next(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(a) => IpAddr::V4(u32::from(a).wrapping_add(1).into()),
        IpAddr::V6(a) => IpAddr::V6(u128::from(a).wrapping_add(1).into()),
    }
}

fn build(
    c: &mut Checker<'_>,
    topo: &Topo,
    id: NodeId,
    role: Role,
    path: &YamlPath,
    network: NetworkId,
    address: IpAddr,
) -> Node {
    let common = common(&role);
    let link = match common.link {
        Some(spec) => {
            links::check(c, &path.key("link"), spec);
            topo.default_link.patched(spec)
        }
        None => topo.default_link.clone(),
    };
    Node {
        id,
        name: common.name.to_owned(),
        network,
        address,
        link,
        role,
    }
}

/// A STUN server's alternate address is a second address on the same network.
fn alternate(c: &mut Checker<'_>, topo: &mut Topo, node: &Node, path: &YamlPath) {
    let Role::Server(ServerSpec::Stun(stun)) = &node.role else {
        return;
    };
    let Some(alt) = &stun.alternate else { return };
    let at = path.key("alternate").key("address");
    if alt.address.is_ipv4() != node.address.is_ipv4() {
        c.error(
            &at,
            format!("alternate address {} and the server's address {} are of different address families", alt.address, node.address),
        );
        return;
    }
    super::port(c, &path.key("alternate").key("port"), alt.port);
    if let Some(nat) = topo.nats.iter().find(|n| n.inside == node.network)
        && !nat.lan.contains(alt.address)
    {
        c.error(
            &at,
            format!(
                "alternate address {} is outside the LAN of `{}` ({})",
                alt.address, nat.name, nat.lan
            ),
        );
        return;
    }
    topo.claim(c, node.network, alt.address, &node.name, &at);
}

//! ICE agents of a scenario: their servers as the scenario places them, and their peer.

use super::plan::{Unsupported, unsupported};
use crate::fabric::NodeId;
use sim_ice::{IceConfig, Role, TurnServer, TurnTransport};
use sim_scenario::model::{IceAgentSpec, IceRole, ServerSpec, Transport, TurnCredentials};
use sim_scenario::{Node, Role as NodeRole, Scenario};
use std::net::SocketAddr;

/// The agent's configuration and the node its candidates go to.
pub(super) fn agent(
    scenario: &Scenario,
    n: &Node,
    a: &IceAgentSpec,
) -> Result<(IceConfig, NodeId), Unsupported> {
    let missing = |what: &str| {
        unsupported(
            format!("ice-agent {}", n.name),
            if what == "peer" {
                "its peer is not a node of the scenario"
            } else {
                "one of its servers is not a node of the scenario"
            },
        )
    };
    let addr = |name: &str| {
        scenario
            .node_by_name(name)
            .map(|s| SocketAddr::new(s.address, s.port()))
    };
    let role = match a.role.unwrap_or(IceRole::Controlling) {
        IceRole::Controlling => Role::Controlling,
        IceRole::Controlled => Role::Controlled,
    };
    let mut config = IceConfig::new(n.port(), role);
    config.stun_servers = a
        .stun_servers
        .iter()
        .map(|s| addr(s).ok_or_else(|| missing("server")))
        .collect::<Result<_, _>>()?;
    if let Some(t) = &a.turn {
        config.turn = Some(turn_server(scenario, t).ok_or_else(|| missing("server"))?);
    }
    let peer = scenario
        .node_by_name(&a.peer)
        .ok_or_else(|| missing("peer"))?;
    Ok((config, NodeId(peer.id.0 as u32)))
}

/// A TURN client's server and credentials; `None` when `t.server` is not a node. A server that
/// offers TCP only is reached over TCP.
pub(super) fn turn_server(scenario: &Scenario, t: &TurnCredentials) -> Option<TurnServer> {
    let server = scenario.node_by_name(&t.server)?;
    let tcp_only = matches!(&server.role, NodeRole::Server(ServerSpec::Turn(s))
        if !s.transports.is_empty() && !s.transports.contains(&Transport::Udp));
    Some(TurnServer {
        addr: SocketAddr::new(server.address, server.port()),
        transport: if tcp_only {
            TurnTransport::Tcp
        } else {
            TurnTransport::Udp
        },
        username: t.user.clone(),
        password: t.password.clone(),
    })
}

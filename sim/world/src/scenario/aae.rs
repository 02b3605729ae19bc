//! AAE endpoints of a scenario: their SDK configuration and the timeline's SDK calls.

use super::plan::{Unsupported, unsupported};
use crate::world::AaeAction;
use sim_aae::AaeConfig;
use sim_scenario::model::{AaeSpec, ServerSpec, Transport};
use sim_scenario::{Node, Role, Scenario};
use sim_sip::ua::SipTransport;
use std::net::SocketAddr;
use std::time::Duration;

/// The SDK configuration of an `aae` node.
pub(super) fn endpoint(
    scenario: &Scenario,
    n: &Node,
    a: &AaeSpec,
) -> Result<AaeConfig, Unsupported> {
    let missing = || {
        unsupported(
            format!("aae {}", n.name),
            "one of its servers is not a node of the scenario",
        )
    };
    let server = scenario.node_by_name(&a.sip_server).ok_or_else(missing)?;
    let domain = match &server.role {
        Role::Server(ServerSpec::Sip(s)) => s.domain.clone(),
        _ => None,
    }
    .unwrap_or_else(|| server.name.clone());
    let mut c = AaeConfig::new(
        &a.device_id,
        &a.device_ticket,
        SocketAddr::new(server.address, server.port()),
    );
    c.domain = domain;
    c.sip_port = n.port();
    if let Some(s) = &a.stun_server {
        let s = scenario.node_by_name(s).ok_or_else(missing)?;
        c.stun_server = Some(SocketAddr::new(s.address, s.port()));
    }
    if let Some(s) = &a.second_stun_server {
        let s = scenario.node_by_name(s).ok_or_else(missing)?;
        c.second_stun_server = Some(SocketAddr::new(s.address, s.port()));
    }
    if let Some(t) = &a.turn {
        c.turn = Some(super::ice::turn_server(scenario, t).ok_or_else(missing)?);
    }
    if let Some(m) = a.max_calls {
        c.max_calls = u32::try_from(m).unwrap_or(sim_aae::DEFAULT_MAX_CALLS);
    }
    if let Some(t) = a.tnl_timeout {
        c.tnl_timeout = t.0;
    }
    c.idle_timeout = a.idle_timeout.map_or(Duration::ZERO, |d| d.0);
    c.fast_init = a.fast_init.unwrap_or(false);
    c.transport = match a.transport.unwrap_or(Transport::Udp) {
        Transport::Udp => SipTransport::Udp,
        Transport::Tcp => SipTransport::Tcp,
        Transport::Tls => {
            return Err(unsupported(
                format!("aae {} over TLS", n.name),
                "SIP over TLS is not built yet",
            ));
        }
    };
    Ok(c)
}

/// The device id a `make_tunnel` names its callee by.
pub(super) fn device_id(scenario: &Scenario, node: sim_scenario::NodeId) -> String {
    match scenario.node(node).map(|n| &n.role) {
        Some(Role::Endpoint(sim_scenario::model::EndpointSpec::Aae(a))) => a.device_id.clone(),
        _ => String::new(),
    }
}

/// Whether a node is an `aae` endpoint.
pub(super) fn is_aae(scenario: &Scenario, node: sim_scenario::NodeId) -> bool {
    scenario.node(node).is_some_and(|n| {
        matches!(
            n.role,
            Role::Endpoint(sim_scenario::model::EndpointSpec::Aae(_))
        )
    })
}

/// Applies an SDK call to an endpoint.
pub(crate) fn command(e: &mut sim_aae::AaeEndpoint, now: sim_core::SimInstant, action: AaeAction) {
    match action {
        AaeAction::Init => e.init(now),
        AaeAction::Deinit => e.deinit(now),
        AaeAction::Register => e.register(now),
        AaeAction::Unregister => e.unregister(now),
        AaeAction::MakeCall { to, timeout, ports } => {
            let _ = e.make_call(now, &to, &ports, timeout);
        }
        AaeAction::Hangup => e.hangup(now),
        AaeAction::SendData(bytes) => e.send_data(now, bytes),
        AaeAction::Message { to, text } => e.send_instant_message(now, &to, &text),
        AaeAction::Stall(d) => e.stall(now, d),
    }
}

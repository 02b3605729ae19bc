//! STUN and TURN servers and NAT-type detectors of a scenario, and their policies.

use super::plan::{Unsupported, unsupported};
use crate::world::StunAction;
use sim_scenario::model::{self, NatDetectorSpec, ServerSpec, StunFault, StunSpec, TurnSpec};
use sim_scenario::{Node, Role, Scenario};
use sim_stun::{
    LongTerm, NatDetectorConfig, StunPolicy, StunServerConfig, TurnPolicy, TurnServerConfig,
};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// A STUN server's configuration, and the alias address its alternate needs.
pub(super) fn stun_server(n: &Node, s: &StunSpec) -> (StunServerConfig, Option<IpAddr>) {
    let primary = SocketAddr::new(n.address, n.port());
    let mut config = StunServerConfig::new(primary);
    let mut alias = None;
    if let Some(alt) = &s.alternate {
        let port = alt.port.unwrap_or(3479);
        config = config.with_alternate(alt.address, port);
        alias = (alt.address != n.address).then_some(alt.address);
    }
    (config, alias)
}

/// A TURN server's configuration and starting policy.
pub(super) fn turn_server(n: &Node, s: &TurnSpec) -> (TurnServerConfig, TurnPolicy) {
    let credentials = LongTerm {
        realm: s.realm.clone().unwrap_or_else(|| n.name.clone()),
        users: s
            .accounts
            .iter()
            .map(|a| (a.user.clone(), a.password.clone()))
            .collect(),
        nonce_lifetime: s.nonce_lifetime.map_or(Duration::from_secs(3600), |d| d.0),
    };
    let mut config = TurnServerConfig::new(SocketAddr::new(n.address, n.port()), credentials);
    config.tcp = s.transports.contains(&model::Transport::Tcp);
    let policy = TurnPolicy {
        user_quota: s.max_allocations.map(|m| m as usize),
        ..TurnPolicy::default()
    };
    (config, policy)
}

/// A detector's configuration: its STUN server(s) as the scenario places them.
pub(super) fn detector(
    scenario: &Scenario,
    n: &Node,
    d: &NatDetectorSpec,
) -> Result<NatDetectorConfig, Unsupported> {
    let server = |name: &str| {
        scenario
            .node_by_name(name)
            .map(|s| SocketAddr::new(s.address, s.port()))
            .ok_or_else(|| {
                unsupported(
                    format!("nat-detector {}", n.name),
                    "its STUN server is not a node of the scenario",
                )
            })
    };
    let mut config = NatDetectorConfig::new(server(&d.stun)?);
    config.second_server = d.second_stun.as_deref().map(server).transpose()?;
    config.local_port = d.port.unwrap_or(0);
    config.autostart = d.start.is_none_or(|s| s.0.is_zero());
    // FAULTS.md §2: a dependent mapping is SYMMETRIC whatever the filtering, so the mapping
    // tests run before the filtering verdict (RFC 3489 alone would call ADM+EIF full cone).
    config.mapping_first = true;
    Ok(config)
}

/// A `server_policy` for a STUN or TURN server.
pub(super) fn policy_action(
    scenario: &Scenario,
    server: sim_scenario::NodeId,
    set: &model::ServerPolicy,
) -> Result<StunAction, Unsupported> {
    let node = scenario.node(server);
    match node.map(|n| &n.role) {
        Some(Role::Server(ServerSpec::Stun(s))) => {
            let n = node.ok_or_else(|| unsupported(String::new(), "unknown server"))?;
            let primary = SocketAddr::new(n.address, n.port());
            let _ = s;
            let policy = if set.drop == Some(true) {
                StunPolicy::Silent
            } else if let Some(code) = set.respond {
                StunPolicy::Error(code)
            } else {
                match set.stun_fault {
                    Some(StunFault::OmitMappedAddress) => StunPolicy::OmitMappedAddress,
                    Some(StunFault::ZeroMappedAddress) => StunPolicy::ZeroMappedAddress,
                    Some(StunFault::CorruptFingerprint) => StunPolicy::CorruptFingerprint,
                    Some(StunFault::PrimaryOnly) => StunPolicy::AnswerOnlyOn(primary),
                    None => StunPolicy::Normal,
                }
            };
            Ok(StunAction::Stun(policy))
        }
        Some(Role::Server(ServerSpec::Turn(s))) => {
            if set.drop == Some(true) {
                return Err(unsupported(
                    format!("`drop` on TURN server {}", node.map_or("", |n| &n.name)),
                    "a silent TURN server is not built yet",
                ));
            }
            Ok(StunAction::Turn(TurnPolicy {
                user_quota: set
                    .allocation_quota
                    .or(s.max_allocations)
                    .map(|q| q as usize),
                capacity: set.capacity.map(|c| c as usize),
                reject_allocate: set.respond,
            }))
        }
        _ => Err(unsupported(
            "server_policy".into(),
            "this server kind has no policies yet",
        )),
    }
}

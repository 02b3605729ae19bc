//! From a validated scenario to a run plan.

use super::{aae, dns, faults, ice, sip, stun, web};
use crate::fabric::{DropReason, Entity, LinkConfig, LossConfig, NatId, NetworkId, NodeId};
use crate::nodes::{ProbeKind, Wire};
use crate::watch::{EventMatch, WatchSpec, Window, blocks};
use crate::world::{
    AaeAction, LinkPatch, NatPlan, NodeKind, NodePlan, ProbeTarget, SipAction, StunAction, Timed,
    WorldAction, WorldSpec,
};
use sim_core::SimInstant;
use sim_nat::{NatConfig, PortForward};
use sim_scenario::model::{self, EndpointSpec, ForwardProtocol, ProbeWire, ServerSpec};
use sim_scenario::{
    EventCode, Link, Loss, ResolvedAction, ResolvedExpectation, ResolvedTarget, Role, Scenario,
    StatusCode, Subject,
};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

/// Something a scenario asks for that the simulator cannot run yet.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{what} cannot run yet: {why}")]
pub struct Unsupported {
    /// What, as the scenario names it (`server stun1 (kind stun)`, `timeline[3] (register)`).
    pub what: String,
    /// Which part of natlab it needs.
    pub why: &'static str,
}

pub(super) fn unsupported(what: String, why: &'static str) -> Unsupported {
    Unsupported { what, why }
}

/// Where a run writes its files.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outputs {
    /// The pcapng capture (written only when the scenario captures).
    pub capture: Option<PathBuf>,
    /// The event log, `events.jsonl`.
    pub events: Option<PathBuf>,
}

/// The run plan of `scenario`, writing its files to `outputs`.
///
/// # Errors
/// When the scenario uses a node kind or action the simulator does not run yet.
pub fn plan(scenario: &Scenario, outputs: Outputs) -> Result<WorldSpec, Unsupported> {
    let nodes = scenario
        .nodes
        .iter()
        .map(|n| node(scenario, n))
        .collect::<Result<Vec<_>, _>>()?;
    let timeline = scenario
        .timeline
        .iter()
        .map(|t| {
            let label = format!("timeline[{}] at {:?}", t.index, t.at);
            Ok(Timed {
                at: SimInstant::from_duration(t.at),
                action: action(scenario, &t.action, &label)?,
                label,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut timeline = timeline;
    for n in &scenario.nodes {
        // An intercom registers when it boots.
        if let Role::Endpoint(EndpointSpec::Intercom(_)) = &n.role {
            timeline.push(Timed {
                at: SimInstant::ZERO,
                action: WorldAction::Sip(node_id(n.id), SipAction::Register),
                label: format!("{} boots", n.name),
            });
        }
        if let Role::Endpoint(EndpointSpec::NatDetector(d)) = &n.role
            && let Some(start) = d.start.filter(|s| !s.0.is_zero())
        {
            timeline.push(Timed {
                at: SimInstant::from_duration(start.0),
                action: WorldAction::Stun(node_id(n.id), StunAction::Detect),
                label: format!("{} start", n.name),
            });
        }
    }
    timeline.sort_by_key(|t| t.at);
    Ok(WorldSpec {
        seed: scenario.seed,
        tick: scenario.tick,
        duration: scenario.duration,
        capture: outputs.capture.filter(|_| scenario.capture),
        events: outputs.events,
        public_name: scenario
            .networks
            .first()
            .map_or_else(|| "wan".to_owned(), |n| n.name.clone()),
        nats: scenario.nats.iter().map(|n| nat(scenario, n)).collect(),
        nodes,
        timeline,
        watches: scenario.expectations.iter().map(watch).collect(),
        observers: observers(scenario),
        keep_log: None,
    })
}

pub(super) const fn kind_of(e: &ResolvedExpectation) -> &'static str {
    match e {
        ResolvedExpectation::Received { .. } => "received",
        ResolvedExpectation::Dropped { .. } => "dropped",
        ResolvedExpectation::Mapping { .. } => "mapping",
        ResolvedExpectation::Event { .. } => "event",
        ResolvedExpectation::Sequence { .. } => "sequence",
        ResolvedExpectation::SipResponse { .. } => "sip_response",
        ResolvedExpectation::Delivered { .. } => "delivered",
    }
}

/// Nodes whose seen source addresses a mapping expectation or a timeline target reads.
fn observers(scenario: &Scenario) -> BTreeSet<NodeId> {
    let mut set = BTreeSet::new();
    for t in &scenario.timeline {
        if let ResolvedAction::Send {
            to: ResolvedTarget::Mapping { seen_by, .. },
            ..
        } = &t.action
        {
            set.insert(node_id(*seen_by));
        }
    }
    for e in &scenario.expectations {
        if let ResolvedExpectation::Mapping { seen_by, .. } = e {
            set.extend(seen_by.iter().map(|(n, _)| node_id(*n)));
        }
    }
    set
}

const fn window(after: Option<Duration>, before: Option<Duration>) -> Window {
    Window { after, before }
}

fn event_match(code: &EventCode, status: Option<&StatusCode>, detail: Option<&str>) -> EventMatch {
    EventMatch {
        name: code.name(),
        code: code.code(),
        status: status.map(StatusCode::code),
        detail: detail.map(str::to_owned),
    }
}

/// What a run must watch to check `e`.
pub(super) fn watch(e: &ResolvedExpectation) -> WatchSpec {
    match e {
        ResolvedExpectation::Received {
            endpoint,
            from,
            kind,
            after,
            before,
            ..
        } => WatchSpec::Received {
            node: node_id(*endpoint),
            from: from.map(node_id),
            kind: kind.map(|k| match k {
                model::ProbeKind::Probe => ProbeKind::Probe,
                model::ProbeKind::Echo => ProbeKind::Echo,
            }),
            window: window(*after, *before),
        },
        ResolvedExpectation::Dropped {
            reason,
            at,
            from,
            after,
            before,
            ..
        } => WatchSpec::Dropped {
            reason: reason.map(drop_reason),
            at: at.map(entity),
            from: from.map(node_id),
            window: window(*after, *before),
        },
        ResolvedExpectation::Mapping { .. } => WatchSpec::Seen,
        ResolvedExpectation::Event {
            endpoint,
            code,
            status,
            detail,
            after,
            before,
            ..
        } => WatchSpec::Event {
            node: node_id(*endpoint),
            event: event_match(code, status.as_ref(), detail.as_deref()),
            window: window(*after, *before),
        },
        ResolvedExpectation::Sequence { endpoint, events } => WatchSpec::Sequence {
            node: node_id(*endpoint),
            blocks: blocks(
                events.iter().map(|c| event_match(c, None, None)).collect(),
                false,
            ),
        },
        ResolvedExpectation::Delivered { from, to, .. } => WatchSpec::Delivered {
            from: node_id(*from),
            to: node_id(*to),
        },
        ResolvedExpectation::SipResponse {
            code, method, from, ..
        } => WatchSpec::SipResponse {
            code: *code,
            method: method.clone(),
            from: from.map(node_id),
        },
    }
}

pub(super) const fn drop_reason(r: model::DropReason) -> DropReason {
    match r {
        model::DropReason::Filtered => DropReason::Filtered,
        model::DropReason::NoMapping => DropReason::NoMapping,
        model::DropReason::NoHairpin => DropReason::NoHairpin,
        model::DropReason::LinkLoss => DropReason::LinkLoss,
        model::DropReason::Partition => DropReason::Partition,
        model::DropReason::Fragment => DropReason::Fragment,
        model::DropReason::NodeDown => DropReason::NodeDown,
        model::DropReason::NoRoute => DropReason::NoRoute,
        model::DropReason::PortUnreachable => DropReason::PortUnreachable,
        model::DropReason::Fault => DropReason::Fault,
    }
}

pub(crate) fn link(l: &Link) -> LinkConfig {
    LinkConfig {
        latency: l.latency,
        jitter: l.jitter,
        loss: loss(&l.loss),
        duplicate: l.duplicate,
        reorder: l.reorder,
        mtu: l.mtu,
    }
}

fn loss(l: &Loss) -> LossConfig {
    match *l {
        Loss::None => LossConfig::None,
        Loss::Bernoulli(p) => LossConfig::Bernoulli(p),
        Loss::GilbertElliott {
            to_bad,
            to_good,
            loss_bad,
            loss_good,
        } => LossConfig::GilbertElliott {
            to_bad,
            to_good,
            loss_bad,
            loss_good,
        },
    }
}

const fn behaviour(b: model::Behaviour) -> sim_nat::Behaviour {
    match b {
        model::Behaviour::EndpointIndependent => sim_nat::Behaviour::EndpointIndependent,
        model::Behaviour::AddressDependent => sim_nat::Behaviour::AddressDependent,
        model::Behaviour::AddressAndPortDependent => sim_nat::Behaviour::AddressAndPortDependent,
    }
}

fn nat(scenario: &Scenario, n: &sim_scenario::Nat) -> NatPlan {
    let mut config = NatConfig::new(
        behaviour(n.mapping),
        behaviour(n.filtering),
        n.public.clone(),
    );
    config.udp_timeout = n.udp_timeout;
    config.inbound_refresh = n.inbound_refresh;
    config.tcp_timeout = n.tcp_timeout;
    config.hairpinning = n.hairpinning;
    config.port_allocation = match n.port_allocation {
        model::PortAllocation::Preserve => sim_nat::PortAllocation::Preserve,
        model::PortAllocation::Sequential => sim_nat::PortAllocation::Sequential,
        model::PortAllocation::Random => sim_nat::PortAllocation::Random,
    };
    config.pooling = match n.pooling {
        model::Pooling::Paired => sim_nat::Pooling::Paired,
        model::Pooling::Arbitrary => sim_nat::Pooling::Arbitrary,
    };
    config.port_forwards = n
        .port_forwards
        .iter()
        .filter_map(|f| {
            let to = scenario.node(f.to)?;
            Some(PortForward {
                protocol: match f.protocol {
                    ForwardProtocol::Udp => sim_core::Protocol::Udp,
                    ForwardProtocol::Tcp => sim_core::Protocol::Tcp,
                },
                external_port: f.port,
                internal: std::net::SocketAddr::new(to.address, f.to_port),
            })
        })
        .collect();
    NatPlan {
        name: n.name.clone(),
        config,
        upstream: NetworkId(n.upstream.0 as u32),
        link: link(&n.link),
        drop_fragments: n.drop_fragments,
        sip_alg: n.sip_alg,
        lan_description: format!("LAN behind NAT {} ({})", n.name, n.lan),
    }
}

fn node(scenario: &Scenario, n: &sim_scenario::Node) -> Result<NodePlan, Unsupported> {
    let mut aliases = Vec::new();
    let kind = match &n.role {
        Role::Endpoint(EndpointSpec::UdpProbe(p)) => {
            let mut ports = vec![n.port()];
            ports.extend(&p.ports);
            NodeKind::UdpProbe {
                ports,
                echo: p.echo.unwrap_or(false),
                wire: match p.wire.unwrap_or_default() {
                    ProbeWire::Text => Wire::Text,
                    ProbeWire::SipOptions => Wire::SipOptions,
                    ProbeWire::Stun => Wire::Stun,
                },
            }
        }
        Role::Endpoint(EndpointSpec::TcpProbe(p)) => NodeKind::TcpProbe {
            port: n.port(),
            echo: p.echo.unwrap_or(false),
        },
        Role::Endpoint(EndpointSpec::Intercom(i)) => {
            NodeKind::Softphone(Box::new(sip::intercom(scenario, n, i)?))
        }
        Role::Endpoint(EndpointSpec::Softphone(p)) => {
            NodeKind::Softphone(Box::new(sip::softphone(scenario, n, p)?))
        }
        Role::Server(ServerSpec::Stun(s)) => {
            let (config, alias) = stun::stun_server(n, s);
            aliases.extend(alias);
            NodeKind::StunServer(Box::new(config), sim_stun::StunPolicy::Normal)
        }
        Role::Server(ServerSpec::Turn(s)) => {
            let (config, policy) = stun::turn_server(n, s);
            NodeKind::TurnServer(Box::new(config), policy)
        }
        Role::Endpoint(EndpointSpec::IceAgent(a)) => {
            let (config, peer) = ice::agent(scenario, n, a)?;
            NodeKind::IceAgent(Box::new(config), peer)
        }
        Role::Endpoint(EndpointSpec::Aae(a)) => {
            NodeKind::Aae(Box::new(aae::endpoint(scenario, n, a)?))
        }
        Role::Endpoint(EndpointSpec::NatDetector(d)) => {
            NodeKind::NatDetector(Box::new(stun::detector(scenario, n, d)?))
        }
        Role::Server(ServerSpec::Sip(s)) => {
            let (config, mute) = sip::server(n, s)?;
            NodeKind::SipServer {
                config: Box::new(config),
                mute,
            }
        }
        Role::Server(ServerSpec::AaeWeb(s)) => {
            NodeKind::AaeWeb(Box::new(web::server(scenario, n, s)?))
        }
        Role::Endpoint(EndpointSpec::AaeApp(a)) => {
            NodeKind::AaeApp(Box::new(web::app(scenario, n, a)?))
        }
        Role::Server(ServerSpec::Dns(s)) => {
            NodeKind::DnsServer(Box::new(dns::server(n, s)), sim_dns::DnsPolicy::default())
        }
    };
    Ok(NodePlan {
        name: n.name.clone(),
        aliases,
        network: NetworkId(n.network.0 as u32),
        ip: n.address,
        link: link(&n.link),
        kind,
    })
}

fn is_sip_ua(scenario: &Scenario, n: sim_scenario::NodeId) -> bool {
    scenario.node(n).is_some_and(|n| {
        matches!(
            n.role,
            Role::Endpoint(EndpointSpec::Softphone(_) | EndpointSpec::Intercom(_))
        )
    })
}

fn is_softphone(scenario: &Scenario, n: sim_scenario::NodeId) -> bool {
    scenario
        .node(n)
        .is_some_and(|n| matches!(n.role, Role::Endpoint(EndpointSpec::Softphone(_))))
}

pub(super) const fn entity(s: Subject) -> Entity {
    match s {
        Subject::Node(n) => Entity::Node(NodeId(n.0 as u32)),
        Subject::Nat(n) => Entity::Nat(NatId(n.0 as u32)),
    }
}

const fn node_id(n: sim_scenario::NodeId) -> NodeId {
    NodeId(n.0 as u32)
}

fn target(t: &ResolvedTarget) -> ProbeTarget {
    match *t {
        ResolvedTarget::Node { node, port } => ProbeTarget::Node(node_id(node), port),
        ResolvedTarget::Addr(a) => ProbeTarget::Addr(a),
        ResolvedTarget::Mapping {
            mapping_of,
            port,
            seen_by,
            seen_port,
        } => ProbeTarget::Mapping {
            of: node_id(mapping_of),
            port,
            seen_by: node_id(seen_by),
            seen_port,
        },
    }
}

fn patch(set: &model::LinkSpec) -> LinkPatch {
    LinkPatch {
        latency: set.latency.map(|d| d.get()),
        jitter: set.jitter.map(|d| d.get()),
        loss: set.loss.as_ref().map(|m| loss(&Loss::from_model(m))),
        duplicate: set.duplicate.map(|p| p.0),
        reorder: set
            .reorder
            .as_ref()
            .map(|r| (r.probability.0, r.delay.get())),
        mtu: set.mtu,
    }
}

fn action(
    scenario: &Scenario,
    a: &ResolvedAction,
    label: &str,
) -> Result<WorldAction, Unsupported> {
    let sip =
        |node: sim_scenario::NodeId, command: SipAction| WorldAction::Sip(node_id(node), command);
    let sdk =
        |node: sim_scenario::NodeId, command: AaeAction| WorldAction::Aae(node_id(node), command);
    Ok(match a {
        ResolvedAction::Send {
            from,
            to,
            count,
            interval,
            from_port,
            size,
        } => WorldAction::ProbeSend {
            node: node_id(*from),
            to: target(to),
            from_port: *from_port,
            count: *count,
            interval: *interval,
            size: size.map(|s| s as usize),
        },
        ResolvedAction::Partition { a, b, one_way } => {
            WorldAction::Partition(entity(*a), entity(*b), *one_way)
        }
        ResolvedAction::Heal { a, b } => WorldAction::Heal(entity(*a), entity(*b)),
        ResolvedAction::Isolate(s) => WorldAction::Isolate(entity(*s)),
        ResolvedAction::Rejoin(s) => WorldAction::Rejoin(entity(*s)),
        ResolvedAction::Hold { a, b, one_way } => {
            WorldAction::Hold(entity(*a), entity(*b), *one_way)
        }
        ResolvedAction::Release { a, b } => WorldAction::Release(entity(*a), entity(*b)),
        ResolvedAction::LossBurst {
            link,
            duration,
            loss,
        } => WorldAction::LossBurst(entity(*link), *duration, *loss),
        ResolvedAction::LinkChange { link, set } => {
            WorldAction::LinkChange(entity(*link), patch(set))
        }
        ResolvedAction::NatFlush(n) => WorldAction::NatFlush(NatId(n.0 as u32)),
        ResolvedAction::NatReboot {
            nat,
            down_for,
            new_public,
        } => WorldAction::NatReboot(
            NatId(nat.0 as u32),
            *down_for,
            (!new_public.is_empty()).then(|| new_public.clone()),
        ),
        ResolvedAction::Crash(s) => WorldAction::Crash(entity(*s)),
        ResolvedAction::Restart(s) => WorldAction::Restart(entity(*s)),
        ResolvedAction::IpChange { node, address } => {
            WorldAction::IpChange(node_id(*node), *address)
        }
        ResolvedAction::PacketFault(rule) => WorldAction::PacketFault(Box::new(faults::rule(rule))),
        ResolvedAction::PacketFaultEnd(name) => WorldAction::PacketFaultEnd(name.clone()),
        ResolvedAction::ServerPolicy { server, set }
            if scenario
                .node(*server)
                .is_some_and(|n| matches!(n.role, Role::Server(ServerSpec::Sip(_)))) =>
        {
            sip(*server, sip::policy_action(scenario, *server, set)?)
        }
        ResolvedAction::ServerPolicy { server, set } if web::is_web(scenario, *server) => {
            WorldAction::Web(node_id(*server), web::policy_action(set))
        }
        ResolvedAction::Bind {
            endpoint,
            flow,
            firmware,
            router,
            side,
        } => WorldAction::Web(
            node_id(*endpoint),
            web::bind(*flow, *firmware, router.as_deref(), *side),
        ),
        ResolvedAction::ServerPolicy { server, set }
            if scenario
                .node(*server)
                .is_some_and(|n| matches!(n.role, Role::Server(ServerSpec::Dns(_)))) =>
        {
            WorldAction::Dns(node_id(*server), dns::policy(set))
        }
        ResolvedAction::ServerPolicy { server, set } => WorldAction::Stun(
            node_id(*server),
            stun::policy_action(scenario, *server, set)?,
        ),
        ResolvedAction::Register(n) if is_sip_ua(scenario, *n) => sip(*n, SipAction::Register),
        ResolvedAction::Unregister(n) if is_sip_ua(scenario, *n) => sip(*n, SipAction::Unregister),
        ResolvedAction::Call {
            from,
            to,
            video: false,
            headers,
        } => sip(
            *from,
            SipAction::Call {
                to: sip::user(scenario, to),
                headers: headers
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            },
        ),
        ResolvedAction::Answer { endpoint, code } => sip(*endpoint, SipAction::Answer(*code)),
        ResolvedAction::Hangup(n) if is_softphone(scenario, *n) => sip(*n, SipAction::Hangup),
        ResolvedAction::HoldCall(n) => sip(*n, SipAction::Hold),
        ResolvedAction::UnholdCall(n) => sip(*n, SipAction::Unhold),
        ResolvedAction::Refer { endpoint, to } => {
            sip(*endpoint, SipAction::Refer(sip::user(scenario, to)))
        }
        ResolvedAction::Dtmf {
            endpoint,
            digits,
            info,
        } => sip(
            *endpoint,
            SipAction::Dtmf {
                tones: sip::tones(digits),
                info: *info,
            },
        ),
        ResolvedAction::Message { from, to, text } => sip(
            *from,
            SipAction::Message {
                to: sip::user(scenario, to),
                text: text.clone(),
            },
        ),
        ResolvedAction::Dnd { endpoint, on } => sip(*endpoint, SipAction::Dnd(*on)),
        ResolvedAction::Call { video: true, .. } => {
            return Err(unsupported(
                label.to_owned(),
                "video calls need the intercom model, which is not built yet",
            ));
        }
        ResolvedAction::Init(n) if aae::is_aae(scenario, *n) => sdk(*n, AaeAction::Init),
        ResolvedAction::Deinit(n) if aae::is_aae(scenario, *n) => sdk(*n, AaeAction::Deinit),
        ResolvedAction::Register(n) if aae::is_aae(scenario, *n) => sdk(*n, AaeAction::Register),
        ResolvedAction::Unregister(n) if aae::is_aae(scenario, *n) => {
            sdk(*n, AaeAction::Unregister)
        }
        ResolvedAction::Hangup(n) if aae::is_aae(scenario, *n) => sdk(*n, AaeAction::Hangup),
        ResolvedAction::MakeTunnel {
            from,
            to,
            timeout,
            ports,
        } => sdk(
            *from,
            AaeAction::MakeCall {
                to: aae::device_id(scenario, *to),
                timeout: *timeout,
                ports: ports.clone(),
            },
        ),
        ResolvedAction::Stall { endpoint, duration } => sdk(*endpoint, AaeAction::Stall(*duration)),
        ResolvedAction::SendData { endpoint, bytes } => sdk(*endpoint, AaeAction::SendData(*bytes)),
        ResolvedAction::Init(_)
        | ResolvedAction::Deinit(_)
        | ResolvedAction::Register(_)
        | ResolvedAction::Unregister(_)
        | ResolvedAction::Hangup(_) => {
            return Err(unsupported(
                label.to_owned(),
                "this action needs an endpoint or server model that is not built yet",
            ));
        }
    })
}

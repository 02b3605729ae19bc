//! Checking a scenario's expectations against what a run observed.

use super::plan::kind_of;
use crate::fabric::{DropReason, Entity, NatId, NodeId};
use crate::nodes::{Observation, ProbeKind};
use crate::world::RunOutput;
use sim_core::SimInstant;
use sim_report::ExpectationResult;
use sim_scenario::model::{self, Count, MappingRule};
use sim_scenario::{ResolvedExpectation, Scenario, Subject};
use std::fmt::Write as _;
use std::time::Duration;

/// Every expectation's outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evaluation {
    /// One result per expectation, in scenario order.
    pub results: Vec<ExpectationResult>,
}

impl Evaluation {
    /// Whether every expectation held.
    pub fn passed(&self) -> bool {
        self.results.iter().all(|r| r.passed)
    }
}

/// Checks every expectation of `scenario` against `out`.
pub fn evaluate(scenario: &Scenario, out: &RunOutput) -> Evaluation {
    let results = scenario
        .expectations
        .iter()
        .enumerate()
        .map(|(index, e)| {
            let (text, passed, observed) = check(scenario, out, e);
            ExpectationResult {
                index,
                kind: kind_of(e).to_owned(),
                text,
                passed,
                observed,
            }
        })
        .collect();
    Evaluation { results }
}

fn name(scenario: &Scenario, id: sim_scenario::NodeId) -> &str {
    scenario.node(id).map_or("?", |n| n.name.as_str())
}

fn in_window(t: SimInstant, after: Option<Duration>, before: Option<Duration>) -> bool {
    after.is_none_or(|a| t.since_start() >= a) && before.is_none_or(|b| t.since_start() <= b)
}

fn window(after: Option<Duration>, before: Option<Duration>) -> String {
    match (after, before) {
        (Some(a), Some(b)) => format!(" between {a:?} and {b:?}"),
        (Some(a), None) => format!(" after {a:?}"),
        (None, Some(b)) => format!(" by {b:?}"),
        (None, None) => String::new(),
    }
}

fn check(scenario: &Scenario, out: &RunOutput, e: &ResolvedExpectation) -> (String, bool, String) {
    match e {
        ResolvedExpectation::Received {
            endpoint,
            from,
            kind,
            count,
            after,
            before,
        } => received(
            scenario,
            out,
            *endpoint,
            *from,
            *kind,
            *count,
            (*after, *before),
        ),
        ResolvedExpectation::Dropped {
            reason,
            at,
            from,
            count,
            after,
            before,
        } => dropped(
            scenario,
            out,
            *reason,
            *at,
            *from,
            *count,
            (*after, *before),
        ),
        ResolvedExpectation::Mapping {
            endpoint,
            port,
            seen_by,
            rule,
            address,
            ips,
        } => mapping(
            scenario,
            out,
            (*endpoint, *port),
            seen_by,
            *rule,
            (*address, *ips),
        ),
        ResolvedExpectation::Event { .. }
        | ResolvedExpectation::Sequence { .. }
        | ResolvedExpectation::SipResponse { .. } => {
            ("not checkable by this simulator".into(), false, "-".into())
        }
    }
}

fn received(
    scenario: &Scenario,
    out: &RunOutput,
    endpoint: sim_scenario::NodeId,
    from: Option<sim_scenario::NodeId>,
    kind: Option<model::ProbeKind>,
    count: Count,
    (after, before): (Option<Duration>, Option<Duration>),
) -> (String, bool, String) {
    let me = NodeId(endpoint.0 as u32);
    let want_from = from.map(|f| f.0 as u32);
    let want_kind = kind.map(|k| match k {
        model::ProbeKind::Probe => ProbeKind::Probe,
        model::ProbeKind::Echo => ProbeKind::Echo,
    });
    let n = out
        .log
        .iter()
        .filter(|l| l.node == me && in_window(l.time, after, before))
        .filter(|l| match &l.observation {
            Observation::ProbeReceived { kind, from, .. } => {
                want_kind.is_none_or(|k| k == *kind) && want_from.is_none_or(|f| *from == Some(f))
            }
            _ => false,
        })
        .count() as u64;
    let what = match kind {
        Some(model::ProbeKind::Probe) => "probes",
        Some(model::ProbeKind::Echo) => "echoes",
        None => "packets",
    };
    let mut text = format!("{} receives {count} {what}", name(scenario, endpoint));
    if let Some(f) = from {
        let _ = write!(text, " from {}", name(scenario, f));
    }
    text.push_str(&window(after, before));
    (text, count.admits(n), format!("{n} received"))
}

const fn drop_reason(r: model::DropReason) -> DropReason {
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

fn dropped(
    scenario: &Scenario,
    out: &RunOutput,
    reason: Option<model::DropReason>,
    at: Option<Subject>,
    from: Option<sim_scenario::NodeId>,
    count: Count,
    (after, before): (Option<Duration>, Option<Duration>),
) -> (String, bool, String) {
    let want_reason = reason.map(drop_reason);
    let want_at = at.map(|s| match s {
        Subject::Node(n) => Entity::Node(NodeId(n.0 as u32)),
        Subject::Nat(n) => Entity::Nat(NatId(n.0 as u32)),
    });
    let want_from = from.map(|f| NodeId(f.0 as u32));
    let n = out
        .drops
        .iter()
        .filter(|d| in_window(d.time, after, before))
        .filter(|d| want_reason.is_none_or(|r| r == d.reason))
        .filter(|d| want_at.is_none_or(|a| a == d.at.entity()))
        .filter(|d| want_from.is_none_or(|f| f == d.origin))
        .count() as u64;
    let mut text = format!("{count} packets dropped");
    if let Some(r) = want_reason {
        let _ = write!(text, " as {r}");
    }
    if let Some(s) = at {
        let _ = write!(text, " at {}", scenario.subject_name(s));
    }
    if let Some(f) = from {
        let _ = write!(text, " from {}", name(scenario, f));
    }
    text.push_str(&window(after, before));
    (text, count.admits(n), format!("{n} dropped"))
}

fn mapping(
    scenario: &Scenario,
    out: &RunOutput,
    (endpoint, port): (sim_scenario::NodeId, u16),
    seen_by: &[(sim_scenario::NodeId, u16)],
    rule: MappingRule,
    (address, ips): (Option<std::net::IpAddr>, Option<Count>),
) -> (String, bool, String) {
    let me = NodeId(endpoint.0 as u32);
    let seen: Vec<Option<std::net::SocketAddr>> = seen_by
        .iter()
        .map(|(s, p)| out.recorder.seen((NodeId(s.0 as u32), *p), me, port))
        .collect();
    let observers: Vec<String> = seen_by
        .iter()
        .map(|(s, p)| {
            let main = scenario.node(*s).map(sim_scenario::Node::port);
            if main == Some(*p) {
                name(scenario, *s).to_owned()
            } else {
                format!("{}:{p}", name(scenario, *s))
            }
        })
        .collect();
    let rule_text = match rule {
        MappingRule::Same => "the same public address",
        MappingRule::Distinct => "a different public address each",
        MappingRule::Preserved => "its own port as public port",
        MappingRule::Sequential => "public ports increasing by one",
        MappingRule::Random => "unpredictable public ports",
    };
    let mut text = format!(
        "{} port {port} shows {rule_text} to {}",
        name(scenario, endpoint),
        observers.join(", ")
    );
    if let Some(ip) = address {
        let _ = write!(text, ", all at {ip}");
    }
    if let Some(n) = ips {
        let _ = write!(text, ", from {n} public IPs");
    }
    let observed = observers
        .iter()
        .zip(&seen)
        .map(|(o, s)| {
            format!(
                "{o} saw {}",
                s.map_or_else(|| "nothing".to_owned(), |a| a.to_string())
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let Some(seen) = seen.into_iter().collect::<Option<Vec<_>>>() else {
        return (text, false, observed);
    };
    let follows = |w: &[std::net::SocketAddr]| w[1].port() == w[0].port().wrapping_add(1);
    let rule_holds = match rule {
        MappingRule::Same => seen.windows(2).all(|w| w[0] == w[1]),
        MappingRule::Distinct => {
            seen.iter().collect::<std::collections::BTreeSet<_>>().len() == seen.len()
        }
        MappingRule::Preserved => seen.iter().all(|a| a.port() == port),
        MappingRule::Sequential => seen.windows(2).all(follows),
        MappingRule::Random => {
            seen.iter().all(|a| a.port() != port) && !seen.windows(2).any(follows)
        }
    };
    let at_address = address.is_none_or(|ip| seen.iter().all(|a| a.ip() == ip));
    let distinct_ips = seen
        .iter()
        .map(std::net::SocketAddr::ip)
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let ip_count = ips.is_none_or(|n| n.admits(distinct_ips as u64));
    (text, rule_holds && at_address && ip_count, observed)
}

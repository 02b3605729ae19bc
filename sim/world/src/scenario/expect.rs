//! Checking a scenario's expectations against what a run observed.

use super::plan::{drop_reason, kind_of};
use crate::fabric::NodeId;
use crate::watch::{Tally, Watch};
use crate::world::RunOutput;
use sim_report::ExpectationResult;
use sim_scenario::model::{self, Count, MappingRule};
use sim_scenario::{EventCode, ResolvedExpectation, Scenario, StatusCode, Subject};
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
            let watch = out.watches.get(index);
            let (text, passed, observed) = check(scenario, out, watch, e);
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

fn window(after: Option<Duration>, before: Option<Duration>) -> String {
    match (after, before) {
        (Some(a), Some(b)) => format!(" between {a:?} and {b:?}"),
        (Some(a), None) => format!(" after {a:?}"),
        (None, Some(b)) => format!(" by {b:?}"),
        (None, None) => String::new(),
    }
}

/// What a watch saw, for the report: the count and, when any matched, the first and last times.
fn seen(tally: Tally, what: &str) -> String {
    match (tally.first, tally.last) {
        (Some(first), Some(last)) if tally.count > 1 => {
            format!("{} {what} (first at {first}, last at {last})", tally.count)
        }
        (Some(first), _) => format!("{} {what} (at {first})", tally.count),
        _ => format!("{} {what}", tally.count),
    }
}

fn check(
    scenario: &Scenario,
    out: &RunOutput,
    watch: Option<&Watch>,
    e: &ResolvedExpectation,
) -> (String, bool, String) {
    let tally = watch.map(|w| w.tally).unwrap_or_default();
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
            tally,
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
            tally,
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
        ResolvedExpectation::Event {
            endpoint,
            code,
            status,
            detail,
            count,
            after,
            before,
        } => {
            let mut text = format!(
                "{} reports {count} {}",
                name(scenario, *endpoint),
                code_text(code)
            );
            if let Some(s) = status {
                let _ = write!(text, " with status {}", status_text(s));
            }
            if let Some(d) = detail {
                let _ = write!(text, " saying `{d}`");
            }
            text.push_str(&window(*after, *before));
            (text, count.admits(tally.count), seen(tally, "reported"))
        }
        ResolvedExpectation::Sequence { endpoint, events } => {
            sequence(scenario, watch, *endpoint, events)
        }
        ResolvedExpectation::Delivered { from, to, bytes } => {
            let d = watch.map(|w| w.delivery.clone()).unwrap_or_default();
            let (f, t) = (name(scenario, *from), name(scenario, *to));
            let text = match bytes {
                Some(b) => format!("{b} bytes {f} sends through its tunnel arrive at {t} intact"),
                None => format!("the bytes {f} sends through its tunnel arrive at {t} intact"),
            };
            let sent = d.sent.as_ref().map_or(0, |s| s.0);
            let passed = d.complete() && bytes.is_none_or(|b| b == sent) && sent > 0;
            let observed = match &d.sent {
                None => format!("{f} sent nothing; {t} received {} bytes", d.received_max),
                Some((n, sha)) if d.complete() => {
                    format!("{n} bytes sent and received, sha256 {sha}")
                }
                Some((n, sha)) => format!(
                    "{n} bytes sent (sha256 {sha}); {t} received {} bytes, no total matching",
                    d.received_max
                ),
            };
            (text, passed, observed)
        }
        ResolvedExpectation::SipResponse {
            code,
            method,
            from,
            count,
        } => {
            let mut text = format!("{count} SIP {code} responses");
            if let Some(m) = method {
                let _ = write!(text, " to {m}");
            }
            if let Some(f) = from {
                let _ = write!(text, " from {}", name(scenario, *f));
            }
            text.push_str(" cross the network");
            (text, count.admits(tally.count), seen(tally, "seen"))
        }
    }
}

fn code_text(code: &EventCode) -> String {
    match code.code() {
        Some(n) => format!("{n} {}", code.name()),
        None => code.name().to_owned(),
    }
}

fn status_text(status: &StatusCode) -> String {
    match status {
        StatusCode::Aae(s) => format!("{} {}", s.code, s.name),
        StatusCode::Sip(n) | StatusCode::Http(n) => n.to_string(),
    }
}

fn sequence(
    scenario: &Scenario,
    watch: Option<&Watch>,
    endpoint: sim_scenario::NodeId,
    events: &[EventCode],
) -> (String, bool, String) {
    let list: Vec<String> = events.iter().map(code_text).collect();
    let text = format!(
        "{} reports in order: {}",
        name(scenario, endpoint),
        list.join(", ")
    );
    let Some(watch) = watch else {
        return (text, false, "not watched".into());
    };
    let matched = watch.tally.count;
    if watch.sequence_done() {
        let last = watch
            .tally
            .last
            .map_or_else(String::new, |t| format!(", the last at {t}"));
        return (text, true, format!("all {matched} in order{last}"));
    }
    let waiting = watch.sequence_waiting_for().map_or_else(
        || "?".to_owned(),
        |m| match m.code {
            Some(n) => format!("{n} {}", m.name),
            None => m.name.to_owned(),
        },
    );
    (
        text,
        false,
        format!("{matched} of {} in order, then no {waiting}", events.len()),
    )
}

fn received(
    scenario: &Scenario,
    tally: Tally,
    endpoint: sim_scenario::NodeId,
    from: Option<sim_scenario::NodeId>,
    kind: Option<model::ProbeKind>,
    count: Count,
    (after, before): (Option<Duration>, Option<Duration>),
) -> (String, bool, String) {
    let n = tally.count;
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
    (text, count.admits(n), seen(tally, "received"))
}

fn dropped(
    scenario: &Scenario,
    tally: Tally,
    reason: Option<model::DropReason>,
    at: Option<Subject>,
    from: Option<sim_scenario::NodeId>,
    count: Count,
    (after, before): (Option<Duration>, Option<Duration>),
) -> (String, bool, String) {
    let want_reason = reason.map(drop_reason);
    let n = tally.count;
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
    (text, count.admits(n), seen(tally, "dropped"))
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
        .map(|(s, p)| out.seen.seen((NodeId(s.0 as u32), *p), me, port))
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

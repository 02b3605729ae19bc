//! Expectations: names of the right kind, sane counts and windows, codes from the right catalog.

use super::codes::{self, Source};
use super::names::{self, Decl, role_kind};
use super::timeline::{behind_nat, observer};
use super::{Checker, Topo, in_range, port};
use crate::model::{
    Count, Delivered, Dropped, Event, Expectation, Mapping, MappingRule, Received, Sequence,
    SimDuration, SipResponse,
};
use crate::path::YamlPath;
use crate::scenario::{NodeId, ResolvedExpectation, Subject};
use std::collections::BTreeSet;
use std::time::Duration;

/// Resolves every expectation; `None` when one could not be resolved (an error was reported).
pub(crate) fn resolve(c: &mut Checker<'_>, topo: &Topo) -> Option<Vec<ResolvedExpectation>> {
    let file = c.file;
    let seq = YamlPath::root().key("expect");
    let mut out = Some(Vec::new());
    for (i, e) in file.expect.iter().enumerate() {
        let path = c.element(&seq, i).key(e.key());
        let r = match e {
            Expectation::Received(r) => received(c, topo, &path, r),
            Expectation::Dropped(d) => dropped(c, topo, &path, d),
            Expectation::Mapping(m) => mapping(c, topo, &path, m),
            Expectation::Event(ev) => event(c, topo, &path, ev),
            Expectation::Sequence(s) => sequence(c, topo, &path, s),
            Expectation::SipResponse(s) => sip_response(c, topo, &path, s),
            Expectation::Delivered(d) => delivered(c, topo, &path, d),
        };
        match (r, out.as_mut()) {
            (Some(r), Some(v)) => v.push(r),
            _ => out = None,
        }
    }
    out
}

/// `count` bounds in order; the default is "at least once".
fn count(c: &mut Checker<'_>, path: &YamlPath, count: Option<Count>) -> Count {
    let count = count.unwrap_or_default();
    if count.at_most.is_some_and(|max| max < count.at_least) {
        c.error(
            &path.key("count"),
            format!(
                "`at_least` {} is more than `at_most` {}",
                count.at_least,
                count.at_most.unwrap_or(0)
            ),
        );
    }
    count
}

/// `after` and `before` inside the run and in order.
fn window(
    c: &mut Checker<'_>,
    path: &YamlPath,
    after: Option<SimDuration>,
    before: Option<SimDuration>,
) -> (Option<Duration>, Option<Duration>) {
    let end = c.duration();
    if let Some(a) = after.filter(|a| a.get() > end) {
        c.error(
            &path.key("after"),
            format!(
                "`after` {a} is after the end of the run (duration {})",
                c.file.duration
            ),
        );
    }
    if let (Some(a), Some(b)) = (after, before)
        && a > b
    {
        c.error(
            &path.key("before"),
            format!("`before` {b} is earlier than `after` {a}"),
        );
    }
    (after.map(SimDuration::get), before.map(SimDuration::get))
}

fn optional_node(
    c: &mut Checker<'_>,
    topo: &Topo,
    path: &YamlPath,
    name: Option<&str>,
) -> Option<Option<NodeId>> {
    match name {
        None => Some(None),
        Some(n) => names::node(c, &topo.names, path, n, &[]).map(Some),
    }
}

fn received(
    c: &mut Checker<'_>,
    topo: &Topo,
    path: &YamlPath,
    r: &Received,
) -> Option<ResolvedExpectation> {
    let endpoint = names::node(
        c,
        &topo.names,
        &path.key("endpoint"),
        &r.endpoint,
        &["udp-probe", "tcp-probe"],
    );
    let from = optional_node(c, topo, &path.key("from"), r.from.as_deref());
    let count = count(c, path, r.count);
    let (after, before) = window(c, path, r.after, r.before);
    Some(ResolvedExpectation::Received {
        endpoint: endpoint?,
        from: from?,
        kind: r.kind,
        count,
        after,
        before,
    })
}

fn dropped(
    c: &mut Checker<'_>,
    topo: &Topo,
    path: &YamlPath,
    d: &Dropped,
) -> Option<ResolvedExpectation> {
    let at = match &d.at {
        None => Some(None),
        Some(name) => match names::subject(c, &topo.names, &path.key("at"), name) {
            Some(Decl::Node(id)) => Some(Some(Subject::Node(id))),
            Some(Decl::Nat(i)) => topo.nat(i).map(|n| Some(Subject::Nat(n.id))),
            None => None,
        },
    };
    let from = optional_node(c, topo, &path.key("from"), d.from.as_deref());
    let count = count(c, path, d.count);
    let (after, before) = window(c, path, d.after, d.before);
    Some(ResolvedExpectation::Dropped {
        reason: d.reason,
        at: at?,
        from: from?,
        count,
        after,
        before,
    })
}

fn mapping(
    c: &mut Checker<'_>,
    topo: &Topo,
    path: &YamlPath,
    m: &Mapping,
) -> Option<ResolvedExpectation> {
    let endpoint = behind_nat(c, topo, &path.key("endpoint"), &m.endpoint);
    port(c, &path.key("port"), m.port);
    // One observer suffices to check a port against the local port, or an address.
    let single =
        m.rule == MappingRule::Preserved || (m.rule == MappingRule::Same && m.address.is_some());
    let needed = if single { 1 } else { 2 };
    if m.seen_by.len() < needed {
        c.error(
            &path.key("seen_by"),
            format!(
                "rule `{}` compares observers, expected at least {needed} in `seen_by`",
                rule_name(m.rule)
            ),
        );
    }
    let mut seen = BTreeSet::new();
    let mut observers = Some(Vec::new());
    for (k, name) in m.seen_by.iter().enumerate() {
        let at = path.key("seen_by").index(k);
        if !seen.insert(name.as_str()) {
            c.error(&at, format!("`{name}` is listed twice"));
        }
        match (observer(c, topo, &at, name), observers.as_mut()) {
            (Some(id), Some(v)) => v.push(id),
            _ => observers = None,
        }
    }
    let endpoint = endpoint?;
    let port = m
        .port
        .or_else(|| topo.node(endpoint).map(crate::scenario::Node::port))?;
    Some(ResolvedExpectation::Mapping {
        endpoint,
        port,
        seen_by: observers?,
        rule: m.rule,
        address: m.address,
        ips: m.ips,
    })
}

const fn rule_name(r: MappingRule) -> &'static str {
    match r {
        MappingRule::Same => "same",
        MappingRule::Distinct => "distinct",
        MappingRule::Preserved => "preserved",
        MappingRule::Sequential => "sequential",
        MappingRule::Random => "random",
    }
}

/// The reporting endpoint and the catalog its codes come from.
fn reporter(
    c: &mut Checker<'_>,
    topo: &Topo,
    path: &YamlPath,
    name: &str,
) -> Option<(NodeId, Source)> {
    let id = names::node(c, &topo.names, path, name, &[])?;
    let kind = topo.names.role(id).map_or("?", role_kind);
    match Source::of(kind) {
        Some(source) => Some((id, source)),
        None => {
            c.error_help(
                path,
                format!(
                    "`{name}` is {}, which reports no events yet",
                    topo.names.describe(id)
                ),
                "events and sequences are checked for aae, softphone and probe endpoints",
            );
            None
        }
    }
}

fn event(
    c: &mut Checker<'_>,
    topo: &Topo,
    path: &YamlPath,
    e: &Event,
) -> Option<ResolvedExpectation> {
    let who = reporter(c, topo, &path.key("endpoint"), &e.endpoint);
    let count = count(c, path, e.count);
    let (after, before) = window(c, path, e.after, e.before);
    let (endpoint, source) = who?;
    let code = codes::event(c, &path.key("code"), source, &e.endpoint, &e.code);
    let status = match &e.status {
        None => Some(None),
        Some(s) => codes::status(c, &path.key("status"), source, s).map(Some),
    };
    Some(ResolvedExpectation::Event {
        endpoint,
        code: code?,
        status: status?,
        detail: e.detail.clone(),
        count,
        after,
        before,
    })
}

fn sequence(
    c: &mut Checker<'_>,
    topo: &Topo,
    path: &YamlPath,
    s: &Sequence,
) -> Option<ResolvedExpectation> {
    let who = reporter(c, topo, &path.key("endpoint"), &s.endpoint);
    if s.events.is_empty() {
        c.error(
            &path.key("events"),
            "`events` is empty, expected at least one event",
        );
    }
    let (endpoint, source) = who?;
    let mut events = Some(Vec::new());
    for (k, code) in s.events.iter().enumerate() {
        let at = path.key("events").index(k);
        match (
            codes::event(c, &at, source, &s.endpoint, code),
            events.as_mut(),
        ) {
            (Some(e), Some(v)) => v.push(e),
            _ => events = None,
        }
    }
    Some(ResolvedExpectation::Sequence {
        endpoint,
        events: events?,
    })
}

fn sip_response(
    c: &mut Checker<'_>,
    topo: &Topo,
    path: &YamlPath,
    s: &SipResponse,
) -> Option<ResolvedExpectation> {
    let code_ok = in_range(
        c,
        &path.key("code"),
        "SIP status",
        i64::from(s.code),
        100,
        699,
    );
    if let Some(m) = &s.method {
        let token = !m.is_empty() && m.chars().all(|ch| ch.is_ascii_uppercase());
        if !token {
            c.error_help(
                &path.key("method"),
                format!("`{m}` is not a SIP method"),
                "methods are upper case: INVITE, REGISTER, BYE, OPTIONS...",
            );
        }
    }
    let from = optional_node(c, topo, &path.key("from"), s.from.as_deref());
    let count = count(c, path, s.count);
    code_ok.then_some(())?;
    Some(ResolvedExpectation::SipResponse {
        code: s.code,
        method: s.method.clone(),
        from: from?,
        count,
    })
}

fn delivered(
    c: &mut Checker<'_>,
    topo: &Topo,
    path: &YamlPath,
    d: &Delivered,
) -> Option<ResolvedExpectation> {
    let mut aae = |key: &str, name: &str| {
        let at = path.key(key);
        let id = names::node(c, &topo.names, &at, name, &[])?;
        if topo.names.role(id).map(role_kind) == Some("aae") {
            Some(id)
        } else {
            c.error(
                &at,
                format!(
                    "`{name}` is {}, but tunnel data is sent and received by aae endpoints",
                    topo.names.describe(id)
                ),
            );
            None
        }
    };
    let from = aae("from", &d.from);
    let to = aae("to", &d.to);
    let (from, to) = (from?, to?);
    if from == to {
        c.error(&path.key("to"), "`to` is the sender itself");
        return None;
    }
    if d.bytes == Some(0) {
        c.error(&path.key("bytes"), "`bytes` is 0, expected at least 1");
        return None;
    }
    Some(ResolvedExpectation::Delivered {
        from,
        to,
        bytes: d.bytes,
    })
}

//! Expectations checked while a run goes: each keeps only what its verdict needs (a count, the
//! first and last matching times, a position in a sequence), so memory does not grow with
//! traffic however long the run.
//!
//! The world feeds every observation, event, drop and SIP response to [`Watches::offer_*`];
//! each watch looks at the ones it cares about and updates its [`Tally`].

use crate::fabric::{DropReason, DropRecord, Entity, NodeId};
use crate::nodes::ProbeKind;
use sim_core::{LogEvent, SimInstant};
use std::collections::BTreeSet;
use std::time::Duration;

/// An optional time window, bounds included.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Window {
    /// Only at or after.
    pub after: Option<Duration>,
    /// Only at or before.
    pub before: Option<Duration>,
}

impl Window {
    /// Whether `t` is inside.
    pub fn contains(&self, t: SimInstant) -> bool {
        self.after.is_none_or(|a| t.since_start() >= a)
            && self.before.is_none_or(|b| t.since_start() <= b)
    }
}

/// Which events an event watch counts: by documented number when there is one, else by name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventMatch {
    /// The event's name.
    pub name: &'static str,
    /// Its documented number.
    pub code: Option<u32>,
    /// The status it must carry.
    pub status: Option<u32>,
    /// Text its detail must contain.
    pub detail: Option<String>,
}

impl EventMatch {
    /// Whether `event` is one of these.
    pub fn matches(&self, event: &LogEvent) -> bool {
        let same = match self.code {
            Some(code) => event.code == Some(code),
            None => event.name == self.name,
        };
        same && self.status.is_none_or(|s| event.status == Some(s))
            && self
                .detail
                .as_deref()
                .is_none_or(|d| event.detail.as_deref().is_some_and(|e| e.contains(d)))
    }
}

/// What one watch looks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WatchSpec {
    /// Probes or echoes a node received.
    Received {
        /// The receiving node.
        node: NodeId,
        /// Only from this node (by the id its payload carries).
        from: Option<NodeId>,
        /// Only probes, or only echoes.
        kind: Option<ProbeKind>,
        /// When.
        window: Window,
    },
    /// Packets the network dropped.
    Dropped {
        /// Only for this reason.
        reason: Option<DropReason>,
        /// Only at this node's link or NAT.
        at: Option<Entity>,
        /// Only packets this node sent.
        from: Option<NodeId>,
        /// When.
        window: Window,
    },
    /// Events a node reported.
    Event {
        /// The node.
        node: NodeId,
        /// Which events.
        event: EventMatch,
        /// When.
        window: Window,
    },
    /// Events a node reported in order. Each block's events may come in any order among
    /// themselves (the ⇄ pairs of FAULTS.md §7); blocks come in order. Other events may come in
    /// between.
    Sequence {
        /// The node.
        node: NodeId,
        /// The blocks, in order.
        blocks: Vec<Vec<EventMatch>>,
    },
    /// Nothing while the run goes: a mapping expectation reads the addresses observers saw,
    /// after the run.
    Seen,
    /// Tunnel data from one AAE endpoint arriving intact at another: their `tunnel-data-sent`
    /// and `tunnel-data` events, compared after the run.
    Delivered {
        /// The sender.
        from: NodeId,
        /// The receiver.
        to: NodeId,
    },
    /// SIP responses that crossed the network.
    SipResponse {
        /// Status code.
        code: u16,
        /// Only responses to this method (the CSeq method).
        method: Option<String>,
        /// Only responses sent by this node.
        from: Option<NodeId>,
    },
}

/// What a watch saw: how many matched and when the first and last did. A sequence counts the
/// expected events it matched so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Matches.
    pub count: u64,
    /// When the first matched.
    pub first: Option<SimInstant>,
    /// When the last matched.
    pub last: Option<SimInstant>,
}

impl Tally {
    fn hit(&mut self, t: SimInstant) {
        self.count += 1;
        self.first.get_or_insert(t);
        self.last = Some(t);
    }
}

/// One watch and its state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Watch {
    /// What it looks for.
    pub spec: WatchSpec,
    /// What it saw.
    pub tally: Tally,
    /// For a sequence: the block it is in, and which of that block's events it still waits for.
    progress: (usize, Vec<bool>),
    /// For a delivery: what the sender and the receiver reported.
    pub delivery: Delivery,
}

/// Running totals of tunnel data: the sender's latest `(bytes, sha256)`, and every total the
/// receiver reported.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Delivery {
    /// The sender's running total after its last write.
    pub sent: Option<(u64, String)>,
    /// The receiver's running totals, as reported.
    pub received: BTreeSet<(u64, String)>,
    /// The receiver's largest total.
    pub received_max: u64,
}

impl Delivery {
    /// Whether the receiver reported exactly the sender's final total.
    pub fn complete(&self) -> bool {
        self.sent
            .as_ref()
            .is_some_and(|s| self.received.contains(s))
    }
}

/// `bytes=N sha256=H` from a tunnel data event's detail.
fn data_total(event: &LogEvent) -> Option<(u64, String)> {
    let detail = event.detail.as_deref()?;
    let mut bytes = None;
    let mut sha = None;
    for word in detail.split_whitespace() {
        if let Some(b) = word.strip_prefix("bytes=") {
            bytes = b.parse().ok();
        } else if let Some(h) = word.strip_prefix("sha256=") {
            sha = Some(h.to_owned());
        }
    }
    Some((bytes?, sha?))
}

impl Watch {
    fn new(spec: WatchSpec) -> Self {
        let progress = match &spec {
            WatchSpec::Sequence { blocks, .. } => {
                (0, vec![false; blocks.first().map_or(0, Vec::len)])
            }
            _ => (0, Vec::new()),
        };
        Self {
            spec,
            tally: Tally::default(),
            progress,
            delivery: Delivery::default(),
        }
    }

    /// For a sequence: whether every block matched, in order.
    pub fn sequence_done(&self) -> bool {
        match &self.spec {
            WatchSpec::Sequence { blocks, .. } => self.progress.0 >= blocks.len(),
            _ => false,
        }
    }

    /// For a sequence: the first expected event not seen yet.
    pub fn sequence_waiting_for(&self) -> Option<&EventMatch> {
        let WatchSpec::Sequence { blocks, .. } = &self.spec else {
            return None;
        };
        let block = blocks.get(self.progress.0)?;
        block
            .iter()
            .zip(&self.progress.1)
            .find(|(_, done)| !**done)
            .map(|(m, _)| m)
    }

    fn offer_sequence(&mut self, t: SimInstant, event: &LogEvent) {
        let WatchSpec::Sequence { blocks, .. } = &self.spec else {
            return;
        };
        let Some(block) = blocks.get(self.progress.0) else {
            return;
        };
        let slot = block
            .iter()
            .zip(&self.progress.1)
            .position(|(m, done)| !*done && m.matches(event));
        let Some(slot) = slot else {
            return;
        };
        self.tally.hit(t);
        if let Some(done) = self.progress.1.get_mut(slot) {
            *done = true;
        }
        if self.progress.1.iter().all(|d| *d) {
            self.progress.0 += 1;
            let next = blocks.get(self.progress.0).map_or(0, Vec::len);
            self.progress.1 = vec![false; next];
        }
    }
}

/// The unordered pairs of FAULTS.md §7 (⇄): either order is accepted in a sequence.
pub const UNORDERED_PAIRS: &[(u32, u32)] = &[
    (60000, 60109),
    (60005, 60100),
    (60003, 60104),
    (6, 60106),
    (60004, 60106),
    (60001, 60111),
];

fn unordered(a: &EventMatch, b: &EventMatch) -> bool {
    match (a.code, b.code) {
        (Some(x), Some(y)) => UNORDERED_PAIRS
            .iter()
            .any(|&(p, q)| (p, q) == (x, y) || (q, p) == (x, y)),
        _ => false,
    }
}

/// Splits an ordered list of events into blocks: neighbours that form an unordered pair share a
/// block (so `6, 60004, 60106` with 60106 ⇄ both is one block). With `strict`, every event is
/// its own block.
pub fn blocks(events: Vec<EventMatch>, strict: bool) -> Vec<Vec<EventMatch>> {
    let mut out: Vec<Vec<EventMatch>> = Vec::new();
    for e in events {
        let joins = !strict
            && out
                .last()
                .is_some_and(|block| block.iter().any(|m| unordered(m, &e)));
        match out.last_mut() {
            Some(block) if joins => block.push(e),
            _ => out.push(vec![e]),
        }
    }
    out
}

/// A received probe or echo, as the watches see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reception {
    /// The receiving node.
    pub node: NodeId,
    /// The sender, by the id its payload carries.
    pub from: Option<NodeId>,
    /// Probe or echo.
    pub kind: ProbeKind,
}

/// A SIP response that crossed the network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SipResponseSeen<'a> {
    /// Status code.
    pub code: u16,
    /// The CSeq method.
    pub method: &'a str,
    /// The node that sent it.
    pub origin: NodeId,
}

/// Every watch of a run, indexed so each input only visits the watches it can match.
#[derive(Clone, Debug, Default)]
pub struct Watches {
    all: Vec<Watch>,
    /// Watch indices per node, for receptions and events.
    by_node: Vec<Vec<usize>>,
    drops: Vec<usize>,
    sip: Vec<usize>,
}

impl Watches {
    /// Watches for `specs` in a run of `nodes` nodes.
    pub fn new(nodes: usize, specs: Vec<WatchSpec>) -> Self {
        let mut w = Self {
            by_node: vec![Vec::new(); nodes],
            ..Self::default()
        };
        for (i, spec) in specs.into_iter().enumerate() {
            match &spec {
                WatchSpec::Received { node, .. }
                | WatchSpec::Event { node, .. }
                | WatchSpec::Sequence { node, .. } => {
                    if let Some(list) = w.by_node.get_mut(node.0 as usize) {
                        list.push(i);
                    }
                }
                WatchSpec::Delivered { from, to } => {
                    for node in [from, to] {
                        if let Some(list) = w.by_node.get_mut(node.0 as usize) {
                            list.push(i);
                        }
                    }
                }
                WatchSpec::Dropped { .. } => w.drops.push(i),
                WatchSpec::SipResponse { .. } => w.sip.push(i),
                WatchSpec::Seen => {}
            }
            w.all.push(Watch::new(spec));
        }
        w
    }

    /// Whether any watch looks at `node`'s receptions or events.
    pub fn watches_node(&self, node: NodeId) -> bool {
        self.by_node
            .get(node.0 as usize)
            .is_some_and(|l| !l.is_empty())
    }

    /// Whether any watch counts SIP responses.
    pub fn wants_sip(&self) -> bool {
        !self.sip.is_empty()
    }

    /// A probe or echo arrived.
    pub fn offer_reception(&mut self, t: SimInstant, r: Reception) {
        let Some(list) = self.by_node.get(r.node.0 as usize) else {
            return;
        };
        for &i in list {
            let Some(w) = self.all.get_mut(i) else {
                continue;
            };
            if let WatchSpec::Received {
                from, kind, window, ..
            } = &w.spec
                && window.contains(t)
                && kind.is_none_or(|k| k == r.kind)
                && from.is_none_or(|f| Some(f) == r.from)
            {
                w.tally.hit(t);
            }
        }
    }

    /// A node reported an event.
    pub fn offer_event(&mut self, t: SimInstant, node: NodeId, event: &LogEvent) {
        let Some(list) = self.by_node.get(node.0 as usize) else {
            return;
        };
        for &i in list {
            let Some(w) = self.all.get_mut(i) else {
                continue;
            };
            match &w.spec {
                WatchSpec::Event {
                    event: m, window, ..
                } if window.contains(t) && m.matches(event) => w.tally.hit(t),
                WatchSpec::Sequence { .. } => w.offer_sequence(t, event),
                WatchSpec::Delivered { from, to } => {
                    let (from, to) = (*from, *to);
                    if node == from && event.name == "tunnel-data-sent" {
                        w.delivery.sent = data_total(event);
                    } else if node == to
                        && event.name == "tunnel-data"
                        && let Some(total) = data_total(event)
                    {
                        w.delivery.received_max = w.delivery.received_max.max(total.0);
                        w.delivery.received.insert(total);
                        w.tally.hit(t);
                    }
                }
                _ => {}
            }
        }
    }

    /// The network dropped a packet.
    pub fn offer_drop(&mut self, d: &DropRecord) {
        for &i in &self.drops {
            let Some(w) = self.all.get_mut(i) else {
                continue;
            };
            if let WatchSpec::Dropped {
                reason,
                at,
                from,
                window,
            } = &w.spec
                && window.contains(d.time)
                && reason.is_none_or(|r| r == d.reason)
                && at.is_none_or(|a| a == d.at.entity())
                && from.is_none_or(|f| f == d.origin)
            {
                w.tally.hit(d.time);
            }
        }
    }

    /// A SIP response crossed the network.
    pub fn offer_sip_response(&mut self, t: SimInstant, r: SipResponseSeen<'_>) {
        for &i in &self.sip {
            let Some(w) = self.all.get_mut(i) else {
                continue;
            };
            if let WatchSpec::SipResponse { code, method, from } = &w.spec
                && *code == r.code
                && method
                    .as_deref()
                    .is_none_or(|m| m.eq_ignore_ascii_case(r.method))
                && from.is_none_or(|f| f == r.origin)
            {
                w.tally.hit(t);
            }
        }
    }

    /// Every watch, in the order they were given.
    pub fn into_vec(self) -> Vec<Watch> {
        self.all
    }
}

#[cfg(test)]
mod tests;

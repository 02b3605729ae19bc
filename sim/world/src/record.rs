//! What a run observed: node observations with their times, and per-node counters.

use crate::fabric::NodeId;
use crate::nodes::{Observation, ProbeKind};
use sim_core::SimInstant;
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;

/// One observation with its time and node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Logged {
    /// When the node reported it.
    pub time: SimInstant,
    /// The reporting node.
    pub node: NodeId,
    /// What it reported.
    pub observation: Observation,
}

/// Per-node totals, kept for every node whatever the log keeps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct NodeCounters {
    /// Probes sent.
    pub probes_sent: u64,
    /// Probes received.
    pub probes_received: u64,
    /// Echo replies received.
    pub echoes_received: u64,
    /// TCP connections established (opened or accepted).
    pub streams_opened: u64,
    /// TCP connections that failed.
    pub streams_failed: u64,
}

/// Collects observations as nodes report them.
#[derive(Debug)]
pub struct Recorder {
    keep: Option<BTreeSet<NodeId>>,
    log: Vec<Logged>,
    counters: Vec<NodeCounters>,
    /// `(observer, observer's port, sender, sender's local port)` → the source address the
    /// observer saw last.
    seen: BTreeMap<(NodeId, u16, NodeId, u16), SocketAddr>,
}

impl Recorder {
    /// A recorder for `nodes` nodes that keeps the full log, and the addresses seen, of the
    /// nodes in `keep` (all when `None`); the others keep counters only.
    pub fn new(nodes: usize, keep: Option<BTreeSet<NodeId>>) -> Self {
        Self {
            keep,
            log: Vec::new(),
            counters: vec![NodeCounters::default(); nodes],
            seen: BTreeMap::new(),
        }
    }

    /// Records one observation.
    pub fn record(&mut self, time: SimInstant, node: NodeId, observation: Observation) {
        if let Some(c) = self.counters.get_mut(node.0 as usize) {
            match &observation {
                Observation::ProbeSent { .. } => c.probes_sent += 1,
                Observation::ProbeReceived {
                    kind: ProbeKind::Probe,
                    ..
                } => c.probes_received += 1,
                Observation::ProbeReceived {
                    kind: ProbeKind::Echo,
                    ..
                } => c.echoes_received += 1,
                Observation::StreamOpened { .. } => c.streams_opened += 1,
                Observation::StreamFailed { .. } => c.streams_failed += 1,
                _ => {}
            }
        }
        if !self.keep.as_ref().is_none_or(|k| k.contains(&node)) {
            return;
        }
        if let Observation::ProbeReceived {
            kind: ProbeKind::Probe,
            from: Some(from),
            from_port: Some(from_port),
            src,
            port,
            ..
        } = &observation
        {
            self.seen
                .insert((node, *port, NodeId(*from), *from_port), *src);
        }
        {
            self.log.push(Logged {
                time,
                node,
                observation,
            });
        }
    }

    /// The source address `observer` (on its port) last saw on a probe from `sender`'s local
    /// `port`.
    pub fn seen(
        &self,
        (observer, observer_port): (NodeId, u16),
        sender: NodeId,
        port: u16,
    ) -> Option<SocketAddr> {
        self.seen
            .get(&(observer, observer_port, sender, port))
            .copied()
    }

    /// The kept log, in the order observations were reported.
    pub fn log(&self) -> &[Logged] {
        &self.log
    }

    /// Per-node counters, by node id.
    pub fn counters(&self) -> &[NodeCounters] {
        &self.counters
    }
}

//! What a run observed: per-node counters, the event log, and the expectations' watches.
//!
//! Memory does not grow with traffic: every node keeps counters; events are streamed to
//! `events.jsonl` as they happen; expectations keep only their [`crate::watch::Tally`]; the
//! addresses observers saw are kept per (observer, sender, port), not per packet. Only a test
//! can ask for the full observation log ([`Recorder::keep_log`]).

use crate::fabric::NodeId;
use crate::nodes::{NodeEvent, Observation, ProbeKind};
use crate::watch::{Reception, Watches};
use sim_core::{LogEvent, SimInstant};
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{self, BufWriter, Write as _};
use std::net::SocketAddr;
use std::path::Path;

/// One observation with its time and node (kept only for tests).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Logged {
    /// When the node reported it.
    pub time: SimInstant,
    /// The reporting node.
    pub node: NodeId,
    /// What it reported.
    pub observation: NodeEvent,
}

/// Per-node totals, kept for every node.
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
    /// Events written to the event log.
    pub events: u64,
}

/// The source addresses observers saw: `(observer, observer's port, sender, sender's local
/// port)` → the last one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SeenAddresses(BTreeMap<(NodeId, u16, NodeId, u16), SocketAddr>);

impl SeenAddresses {
    /// The source address `observer` (on its port) last saw on a probe from `sender`'s local
    /// `port`.
    pub fn seen(
        &self,
        (observer, observer_port): (NodeId, u16),
        sender: NodeId,
        port: u16,
    ) -> Option<SocketAddr> {
        self.0
            .get(&(observer, observer_port, sender, port))
            .copied()
    }
}

/// One line of `events.jsonl`.
#[derive(serde::Serialize)]
struct Line<'a> {
    time_us: u64,
    time: String,
    node: &'a str,
    #[serde(flatten)]
    event: &'a LogEvent,
}

/// The event log file, written as events happen.
#[derive(Debug)]
struct EventLog {
    out: BufWriter<File>,
    error: Option<io::Error>,
}

impl EventLog {
    /// Writes one line; the first error stops the log.
    fn write(&mut self, time: SimInstant, node: &str, event: &LogEvent) {
        if self.error.is_some() {
            return;
        }
        let line = Line {
            time_us: time.as_micros(),
            time: time.to_string(),
            node,
            event,
        };
        let written = serde_json::to_writer(&mut self.out, &line)
            .map_err(io::Error::other)
            .and_then(|()| self.out.write_all(b"\n"));
        if let Err(e) = written {
            self.error = Some(e);
        }
    }
}

/// Collects what nodes report.
#[derive(Debug)]
pub struct Recorder {
    names: Vec<String>,
    counters: Vec<NodeCounters>,
    watches: Watches,
    /// Observers whose seen addresses are kept (mapping expectations and targets).
    observers: BTreeSet<NodeId>,
    seen: SeenAddresses,
    events: Option<EventLog>,
    keep: Option<BTreeSet<NodeId>>,
    log: Vec<Logged>,
    nat_events: u64,
}

impl Recorder {
    /// A recorder for the nodes called `names`, checking `watches`, keeping the seen addresses
    /// of `observers`.
    pub fn new(names: Vec<String>, watches: Watches, observers: BTreeSet<NodeId>) -> Self {
        Self {
            counters: vec![NodeCounters::default(); names.len()],
            names,
            watches,
            observers,
            seen: SeenAddresses::default(),
            events: None,
            keep: None,
            log: Vec::new(),
            nat_events: 0,
        }
    }

    /// Streams every event to `path` (JSON Lines).
    ///
    /// # Errors
    /// When the file cannot be created.
    pub fn log_events_to(&mut self, path: &Path) -> io::Result<()> {
        self.events = Some(EventLog {
            out: BufWriter::new(File::create(path)?),
            error: None,
        });
        Ok(())
    }

    /// Keeps every observation of the nodes in `keep` (all when `None`) in memory, for tests.
    pub fn keep_log(&mut self, keep: Option<BTreeSet<NodeId>>) {
        self.keep =
            Some(keep.unwrap_or_else(|| (0..self.names.len() as u32).map(NodeId).collect()));
    }

    /// Records what a node reported.
    pub fn record(&mut self, time: SimInstant, node: NodeId, reported: NodeEvent) {
        match reported {
            NodeEvent::Probe(observation) => self.observe(time, node, observation),
            NodeEvent::Log(event) => {
                self.event(time, node, &event);
                self.keep(time, node, NodeEvent::Log(event));
            }
            NodeEvent::Signal { .. } => {}
        }
    }

    fn keep(&mut self, time: SimInstant, node: NodeId, observation: NodeEvent) {
        if self.keep.as_ref().is_some_and(|k| k.contains(&node)) {
            self.log.push(Logged {
                time,
                node,
                observation,
            });
        }
    }

    fn observe(&mut self, time: SimInstant, node: NodeId, observation: Observation) {
        self.count(node, &observation);
        if let Observation::ProbeReceived {
            kind,
            from,
            from_port,
            src,
            port,
            ..
        } = &observation
        {
            let from = from.map(NodeId);
            self.watches.offer_reception(
                time,
                Reception {
                    node,
                    from,
                    kind: *kind,
                },
            );
            if let (ProbeKind::Probe, Some(from), Some(from_port)) = (kind, from, from_port)
                && self.observers.contains(&node)
            {
                self.seen.0.insert((node, *port, from, *from_port), *src);
            }
        } else if !observation.is_traffic() {
            self.event(time, node, &observation.log_event());
        }
        self.keep(time, node, NodeEvent::Probe(observation));
    }

    fn count(&mut self, node: NodeId, observation: &Observation) {
        let Some(c) = self.counters.get_mut(node.0 as usize) else {
            return;
        };
        match observation {
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

    /// Records one event: the event log and the watches.
    pub fn event(&mut self, time: SimInstant, node: NodeId, event: &LogEvent) {
        if let Some(c) = self.counters.get_mut(node.0 as usize) {
            c.events += 1;
        }
        self.watches.offer_event(time, node, event);
        let name = self.names.get(node.0 as usize).map_or("?", String::as_str);
        if let Some(log) = self.events.as_mut() {
            log.write(time, name, event);
        }
    }

    /// Writes an event of a NAT box (named `name`) to the event log. Expectations never see
    /// it (they are about endpoints), and node counters do not count it.
    pub fn nat_event(&mut self, time: SimInstant, name: &str, event: &LogEvent) {
        self.nat_events += 1;
        if let Some(log) = self.events.as_mut() {
            log.write(time, name, event);
        }
    }

    /// NAT events written so far.
    pub const fn nat_events(&self) -> u64 {
        self.nat_events
    }

    /// Whether any watch counts SIP responses.
    pub fn wants_sip(&self) -> bool {
        self.watches.wants_sip()
    }

    /// The watches, to feed drops and SIP responses.
    pub fn watches_mut(&mut self) -> &mut Watches {
        &mut self.watches
    }

    /// The source addresses observers have seen so far (for mapping targets during the run).
    pub const fn seen(&self) -> &SeenAddresses {
        &self.seen
    }

    /// Takes the seen addresses, for mapping checks after the run.
    pub fn take_seen(&mut self) -> SeenAddresses {
        std::mem::take(&mut self.seen)
    }

    /// The kept log, in the order observations were reported.
    pub fn log(&self) -> &[Logged] {
        &self.log
    }

    /// Per-node counters, by node id.
    pub fn counters(&self) -> &[NodeCounters] {
        &self.counters
    }

    /// Flushes the event log.
    ///
    /// # Errors
    /// The first error writing it.
    pub fn finish(&mut self) -> io::Result<()> {
        match self.events.as_mut() {
            Some(log) => match log.error.take() {
                Some(e) => Err(e),
                None => log.out.flush(),
            },
            None => Ok(()),
        }
    }

    /// The watches and their tallies, in expectation order.
    pub fn into_watches(self) -> Watches {
        self.watches
    }
}

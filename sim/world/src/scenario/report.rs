//! The run report of a scenario.

use super::Evaluation;
use crate::world::RunOutput;
use sim_report::{
    CaptureInfo, EventLogInfo, FaultReport, Issue, NetworkTotals, NodeSummary, RunReport,
    SCHEMA_VERSION, ScenarioInfo,
};
use sim_scenario::Scenario;
use std::collections::BTreeMap;

/// Reports list nodes one by one up to this many; beyond it only totals.
const MAX_NODES_LISTED: usize = 200;

/// The files written next to a report, by name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Written<'a> {
    /// The capture's file name, when one was written.
    pub capture: Option<&'a str>,
    /// The event log's file name, when one was written.
    pub events: Option<&'a str>,
}

/// Builds the report of one run. `file` is the scenario file as given.
pub fn report(
    scenario: &Scenario,
    file: &str,
    out: &RunOutput,
    eval: &Evaluation,
    written: Written<'_>,
) -> RunReport {
    let issues: Vec<Issue> = out
        .issues
        .iter()
        .map(|i| Issue {
            time: i.time.to_string(),
            message: i.message.clone(),
        })
        .collect();
    let nodes = if scenario.nodes.len() <= MAX_NODES_LISTED {
        scenario
            .nodes
            .iter()
            .zip(&out.counters)
            .map(|(n, c)| NodeSummary {
                name: n.name.clone(),
                kind: n.kind().to_owned(),
                network: scenario
                    .network(n.network)
                    .map_or_else(|| "?".to_owned(), |net| net.name.clone()),
                address: n.address.to_string(),
                counters: BTreeMap::from([
                    ("probes_sent".to_owned(), c.probes_sent),
                    ("probes_received".to_owned(), c.probes_received),
                    ("echoes_received".to_owned(), c.echoes_received),
                    ("streams_opened".to_owned(), c.streams_opened),
                    ("streams_failed".to_owned(), c.streams_failed),
                    ("events".to_owned(), c.events),
                ])
                .into_iter()
                .filter(|(_, v)| *v > 0)
                .collect(),
            })
            .collect()
    } else {
        Vec::new()
    };
    RunReport {
        schema_version: SCHEMA_VERSION,
        scenario: ScenarioInfo {
            name: scenario.name.clone(),
            description: scenario.description.clone(),
            file: file.to_owned(),
        },
        seed: scenario.seed.value(),
        duration: format!("{:?}", scenario.duration),
        tick: format!("{:?}", scenario.tick),
        passed: eval.passed() && issues.is_empty(),
        expectations: eval.results.clone(),
        issues,
        network: NetworkTotals {
            sent: out.stats.sent,
            delivered: out.stats.delivered,
            hops: out.stats.hops,
            dropped: out
                .stats
                .dropped
                .iter()
                .map(|(r, n)| (r.name().to_owned(), *n))
                .collect(),
        },
        nodes,
        faults: out
            .faults
            .iter()
            .map(|f| FaultReport {
                name: f.name.clone(),
                matched: f.matched,
                acted: f.acted,
            })
            .collect(),
        capture: written.capture.map(|f| CaptureInfo {
            file: f.to_owned(),
            frames: out.frames,
        }),
        events: written.events.map(|f| EventLogInfo {
            file: f.to_owned(),
            events: out.counters.iter().map(|c| c.events).sum::<u64>() + out.nat_events,
        }),
    }
}

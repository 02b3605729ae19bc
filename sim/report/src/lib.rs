//! Run reports: what a scenario run showed, as data, and the reporters that render it.
//!
//! A [`RunReport`] is built once per scenario run and rendered by every reporter: JSON for
//! `report.json` (stable field order, a `schema_version`, nothing that changes between two runs
//! of the same scenario and seed, so reports can be compared byte for byte) and a terminal
//! table for the `natlab run` summary ([`summary_table`]).
//!
//! # `report.json` (schema version 1)
//! ```text
//! schema_version   1
//! scenario         name, description, file
//! seed             the seed the run used
//! duration, tick   simulated time, as written ("30s", "1ms")
//! passed           every expectation passed and nothing went wrong while running
//! expectations[]   index, kind, text (what was expected), passed, observed (what was seen)
//! issues[]         time, message: timeline actions that could not be applied, node failures
//! network          sent, delivered, hops, dropped {reason: count}
//! nodes[]          name, kind, network, address, counters
//! faults[]         name, matched, acted: each packet fault rule's hits (absent without rules)
//! capture          file, frames (absent when capture is off)
//! ```
//!
//! [`html`] renders the pages beside it: `ladder.html` per run and the suite's `index.html`.

pub mod html;

use serde::Serialize;
// Test binaries link getrandom (insta, through tempfile): link its custom backend (sim-entropy).
#[cfg(test)]
use sim_entropy as _;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use tabled::settings::Style;
use tabled::{Table, Tabled};

/// The report format version; bump it when a field changes meaning or disappears.
pub const SCHEMA_VERSION: u32 = 1;

/// Which scenario ran.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ScenarioInfo {
    /// Name.
    pub name: String,
    /// Description, if written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The scenario file, as given on the command line.
    pub file: String,
}

/// One expectation's outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExpectationResult {
    /// Position in the scenario's `expect` list.
    pub index: usize,
    /// Its key (`received`, `dropped`, `mapping`...).
    pub kind: String,
    /// What was expected, in words.
    pub text: String,
    /// Whether it held.
    pub passed: bool,
    /// What the run showed.
    pub observed: String,
}

/// Something that went wrong while running.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Issue {
    /// Simulated time, e.g. `2.000000s`.
    pub time: String,
    /// What happened.
    pub message: String,
}

/// Network totals.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct NetworkTotals {
    /// Packets nodes sent.
    pub sent: u64,
    /// Packets delivered to nodes.
    pub delivered: u64,
    /// Hops completed.
    pub hops: u64,
    /// Drops by reason.
    pub dropped: BTreeMap<String, u64>,
}

/// One node's summary.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NodeSummary {
    /// Name.
    pub name: String,
    /// Kind as written (`udp-probe`...).
    pub kind: String,
    /// `public` or `lan-<nat>`.
    pub network: String,
    /// Address at the start.
    pub address: String,
    /// Kind-specific counters.
    pub counters: BTreeMap<String, u64>,
}

/// One packet fault rule's hits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FaultReport {
    /// The rule's name.
    pub name: String,
    /// Packets that matched it while it was in force.
    pub matched: u64,
    /// Packets it acted on (dropped, delayed, duplicated, modified).
    pub acted: u64,
}

/// The capture of the run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CaptureInfo {
    /// File name, relative to the report.
    pub file: String,
    /// Frames written.
    pub frames: u64,
}

/// The event log written next to the report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EventLogInfo {
    /// File name, relative to the report.
    pub file: String,
    /// Events written.
    pub events: u64,
}

/// Everything a scenario run showed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RunReport {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The scenario.
    pub scenario: ScenarioInfo,
    /// The seed used.
    pub seed: u64,
    /// Simulated duration.
    pub duration: String,
    /// Simulation tick.
    pub tick: String,
    /// Every expectation held and no issue occurred.
    pub passed: bool,
    /// Expectation outcomes, in scenario order.
    pub expectations: Vec<ExpectationResult>,
    /// Problems while running.
    pub issues: Vec<Issue>,
    /// Network totals.
    pub network: NetworkTotals,
    /// Per-node summaries (omitted beyond 200 nodes; the totals stay).
    pub nodes: Vec<NodeSummary>,
    /// Packet fault rules and their hits, in the order they came into force.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<FaultReport>,
    /// The capture, if written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capture: Option<CaptureInfo>,
    /// The event log, if written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<EventLogInfo>,
}

impl RunReport {
    /// The report as pretty JSON with a trailing newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self)
            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
        s.push('\n');
        s
    }

    /// Failed expectations and issues, one per line, for the terminal.
    pub fn failures(&self) -> String {
        let mut out = String::new();
        for e in self.expectations.iter().filter(|e| !e.passed) {
            let _ = writeln!(
                out,
                "  expectation {} ({}) failed: {}; observed: {}",
                e.index, e.kind, e.text, e.observed
            );
        }
        for i in &self.issues {
            let _ = writeln!(out, "  at {}: {}", i.time, i.message);
        }
        out
    }
}

#[derive(Tabled)]
struct Row<'a> {
    #[tabled(rename = "scenario")]
    name: &'a str,
    #[tabled(rename = "result")]
    result: &'static str,
    #[tabled(rename = "expectations")]
    expectations: String,
    #[tabled(rename = "sim time")]
    duration: &'a str,
    #[tabled(rename = "packets")]
    packets: u64,
    #[tabled(rename = "dropped")]
    dropped: u64,
    #[tabled(rename = "fault hits")]
    faults: String,
    #[tabled(rename = "frames")]
    frames: String,
}

/// The `natlab run` summary: one row per scenario.
pub fn summary_table(reports: &[RunReport]) -> String {
    let rows = reports.iter().map(|r| Row {
        name: &r.scenario.name,
        result: if r.passed { "pass" } else { "FAIL" },
        expectations: format!(
            "{}/{}",
            r.expectations.iter().filter(|e| e.passed).count(),
            r.expectations.len()
        ),
        duration: &r.duration,
        packets: r.network.sent,
        dropped: r.network.dropped.values().sum(),
        faults: fault_hits(&r.faults),
        frames: r
            .capture
            .as_ref()
            .map_or_else(|| "-".to_owned(), |c| c.frames.to_string()),
    });
    let mut table = Table::new(rows);
    table.with(Style::sharp());
    table.to_string()
}

/// `acted/matched` over every packet fault rule, `-` without rules.
fn fault_hits(faults: &[FaultReport]) -> String {
    if faults.is_empty() {
        return "-".to_owned();
    }
    let acted: u64 = faults.iter().map(|f| f.acted).sum();
    let matched: u64 = faults.iter().map(|f| f.matched).sum();
    format!("{acted}/{matched}")
}

/// The `natlab run --format json` summary.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SuiteSummary {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// All scenarios passed.
    pub passed: bool,
    /// One entry per scenario.
    pub scenarios: Vec<SuiteEntry>,
}

/// One scenario in the suite summary.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SuiteEntry {
    /// Name.
    pub name: String,
    /// The seed of this run.
    pub seed: u64,
    /// Passed.
    pub passed: bool,
    /// `passed`, `failed`, `error` (the simulation could not run) or `skipped` (`--fail-fast`).
    pub status: &'static str,
    /// Wall-clock time of the run in milliseconds (the only field that varies between replays).
    pub wall_ms: u64,
    /// Path of its `report.json`.
    pub report: String,
    /// Path of its capture, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capture: Option<String>,
    /// What failed: expectations (their text), run issues, a determinism mismatch.
    pub failed: Vec<String>,
    /// The command that reproduces a failed run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reproduce: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(passed: bool) -> RunReport {
        RunReport {
            schema_version: SCHEMA_VERSION,
            scenario: ScenarioInfo {
                name: "demo".into(),
                description: None,
                file: "demo.yaml".into(),
            },
            seed: 7,
            duration: "10s".into(),
            tick: "1ms".into(),
            passed,
            expectations: vec![ExpectationResult {
                index: 0,
                kind: "received".into(),
                text: "bob receives at least 1 probe".into(),
                passed,
                observed: if passed { "3".into() } else { "0".into() },
            }],
            issues: vec![],
            network: NetworkTotals {
                sent: 6,
                delivered: 3,
                hops: 6,
                dropped: BTreeMap::from([("filtered".into(), 3)]),
            },
            nodes: vec![],
            faults: if passed {
                vec![]
            } else {
                vec![FaultReport {
                    name: "second-ok".into(),
                    matched: 5,
                    acted: 1,
                }]
            },
            capture: Some(CaptureInfo {
                file: "capture.pcapng".into(),
                frames: 9,
            }),
            events: Some(EventLogInfo {
                file: "events.jsonl".into(),
                events: 2,
            }),
        }
    }

    #[test]
    fn report_json_has_schema_version_first_and_ends_with_newline() {
        let json = report(true).to_json();
        assert!(json.starts_with("{\n  \"schema_version\": 1,"), "{json}");
        assert!(json.ends_with("}\n"));
    }

    #[test]
    fn report_failures_lists_only_failed_expectations() {
        assert_eq!(report(true).failures(), "");
        assert!(
            report(false)
                .failures()
                .contains("expectation 0 (received) failed")
        );
    }

    #[test]
    fn report_summary_table_snapshot() {
        insta::assert_snapshot!(summary_table(&[report(true), report(false)]));
    }
}

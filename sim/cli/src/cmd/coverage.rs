//! `natlab coverage`: which documented codes the suite proves.
//!
//! A scenario *proves* a code when one of its expectations names it and that expectation
//! passes (in every run of the scenario that was read). An expectation names:
//!
//! - `event`: its event (an AAE event, or a softphone callback) and, if it asks for at least one,
//!   the status it carries (an AAE status; a SIP status that the AAE catalog lists, such as 486;
//!   for softphone callbacks also the trunk row of that SIP status, the qualified row when the
//!   expected `detail` contains its qualifier, e.g. `X-FWD-Original incorrect`);
//! - `sequence`: each of its events;
//! - `sip_response`: the AAE status of that SIP code, if listed, and the trunk row of the code.
//!
//! An expectation whose count admits zero (`count: 0`, `{at_most: 1}`) proves nothing: it
//! asks for absence. ICE events carry PJNATH statuses of the AAE catalog and count as statuses.
//!
//! The report lists every AAE event (28), AAE status code (301, with its `FAULTS.md` group A–G;
//! group G is "not meaningfully simulable"), operator trunk row (19) and softphone callback
//! (41) with the scenarios that prove it, and totals per catalog and per group. The intercom
//! settings error codes (`not_valid`...) are answers of a web API that scenarios do not drive,
//! so they are not listed.

use crate::args::{CoverageArgs, CoverageFormat, Format, RunArgs};
use crate::discover::scenario_files;
use crate::exit::{Exit, ExpectedError};
use serde::Serialize;
use sim_catalog::{
    FaultGroup, aae_events, aae_status, aae_statuses, softphone_callbacks,
    trunk_error_for_response, trunk_errors,
};
use sim_scenario::{EventCode, ResolvedExpectation, StatusCode};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};
use tabled::settings::Style;
use tabled::{Table, Tabled};

/// The JSON format version of `natlab coverage --format json`.
const SCHEMA_VERSION: u32 = 1;

/// The command that regenerates `docs/coverage.md`.
const REGENERATE: &str = "scripts/coverage";

pub(crate) fn run(args: &CoverageArgs, out: &mut dyn Write) -> Result<Exit, ExpectedError> {
    let runs = match &args.results {
        Some(dir) => read_results(dir, None)?,
        None => run_suite(args)?,
    };
    if runs.is_empty() {
        return Err(ExpectedError::NothingToDo(
            "no scenario results (report.json) to read".into(),
        ));
    }
    let proofs = prove(&runs)?;
    let report = CoverageReport::build(&runs, &proofs);
    let failed: Vec<&str> = runs
        .iter()
        .filter(|r| !r.passed)
        .map(|r| r.name.as_str())
        .collect();
    if !failed.is_empty() {
        #[allow(clippy::print_stderr)]
        {
            eprintln!(
                "natlab: {} run(s) failed; only their passing expectations count: {}",
                failed.len(),
                failed.join(", ")
            );
        }
    }
    let text = match args.format {
        CoverageFormat::Table => report.table(),
        CoverageFormat::Markdown => report.markdown(),
        CoverageFormat::Json => {
            let mut json = serde_json::to_string_pretty(&report)
                .map_err(|e| ExpectedError::Invalid(e.to_string()))?;
            json.push('\n');
            json
        }
    };
    out.write_all(text.as_bytes())
        .map_err(|source| ExpectedError::Write {
            path: PathBuf::from("<stdout>"),
            source,
        })?;
    Ok(Exit::Ok)
}

/// One `report.json`: which scenario, and which expectations passed.
#[derive(Debug)]
struct RunResult {
    name: String,
    file: PathBuf,
    passed: bool,
    /// Expectation index → passed.
    expectations: BTreeMap<usize, bool>,
}

/// Runs the scenarios under `args.paths` like `natlab run` (in parallel), then reads their
/// reports.
fn run_suite(args: &CoverageArgs) -> Result<Vec<RunResult>, ExpectedError> {
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from("scenarios")]
    } else {
        args.paths.clone()
    };
    let files = scenario_files(&paths, true)?;
    let (dir, temporary) = match &args.out {
        Some(dir) => (dir.clone(), false),
        None => (
            std::env::temp_dir().join(format!("natlab-coverage-{}", std::process::id())),
            true,
        ),
    };
    if temporary {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let run_args = RunArgs {
        paths,
        out: dir.clone(),
        seed: None,
        seeds: None,
        format: Format::Json,
        jobs: args.jobs,
        filter: Vec::new(),
        partition: None,
        fail_fast: false,
        check_determinism: false,
        junit: None,
        json: None,
    };
    let ran = crate::cmd::run::run(&run_args, &mut std::io::sink());
    let results = ran.and_then(|_| read_results(&dir, Some(&files)));
    if temporary {
        let _ = std::fs::remove_dir_all(&dir);
    }
    results
}

/// Every `report.json` under `dir` (recursively: `--seeds` writes one per seed), sorted by
/// scenario name; only those of `files` when given (the directory may hold older reports).
fn read_results(dir: &Path, files: Option<&[PathBuf]>) -> Result<Vec<RunResult>, ExpectedError> {
    let wanted: Option<BTreeSet<String>> =
        files.map(|f| f.iter().map(|p| p.display().to_string()).collect());
    let mut reports = Vec::new();
    find_reports(dir, &mut reports)?;
    let mut runs = Vec::new();
    for path in reports {
        let text = std::fs::read_to_string(&path).map_err(|source| ExpectedError::Read {
            path: path.clone(),
            source,
        })?;
        let bad = |what: &str| {
            ExpectedError::Unreadable(format!("{}: not a natlab report ({what})", path.display()))
        };
        let json: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| bad(&e.to_string()))?;
        let name = json["scenario"]["name"]
            .as_str()
            .ok_or_else(|| bad("no scenario.name"))?;
        let file = json["scenario"]["file"]
            .as_str()
            .ok_or_else(|| bad("no scenario.file"))?;
        if wanted.as_ref().is_some_and(|w| !w.contains(file)) {
            continue;
        }
        let mut expectations = BTreeMap::new();
        for e in json["expectations"]
            .as_array()
            .ok_or_else(|| bad("no expectations"))?
        {
            let index = e["index"]
                .as_u64()
                .ok_or_else(|| bad("an expectation without index"))?;
            let passed = e["passed"]
                .as_bool()
                .ok_or_else(|| bad("an expectation without passed"))?;
            expectations.insert(usize::try_from(index).unwrap_or(usize::MAX), passed);
        }
        runs.push(RunResult {
            name: name.to_owned(),
            file: PathBuf::from(file),
            passed: json["passed"].as_bool().unwrap_or(false),
            expectations,
        });
    }
    runs.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(runs)
}

fn find_reports(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), ExpectedError> {
    for entry in crate::discover::sorted_entries(dir)? {
        if entry.is_dir() {
            find_reports(&entry, out)?;
        } else if entry.file_name().is_some_and(|n| n == "report.json") {
            out.push(entry);
        }
    }
    Ok(())
}

/// A documented row an expectation can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Row {
    Event(u32),
    Status(u32),
    Trunk(u8),
    Callback(&'static str),
}

/// Row → the names of the scenarios that prove it.
type Proofs = BTreeMap<Row, BTreeSet<String>>;

/// Loads each scenario of `runs` and collects the rows its passing expectations name.
fn prove(runs: &[RunResult]) -> Result<Proofs, ExpectedError> {
    // Scenario name → (its file, expectation index → passed in every run read).
    let mut passing: BTreeMap<&str, (&Path, BTreeMap<usize, bool>)> = BTreeMap::new();
    for run in runs {
        let entry = passing
            .entry(run.name.as_str())
            .or_insert_with(|| (run.file.as_path(), BTreeMap::new()));
        for (&i, &passed) in &run.expectations {
            *entry.1.entry(i).or_insert(true) &= passed;
        }
    }
    let mut proofs = Proofs::new();
    let mut unreadable = Vec::new();
    for (name, (file, expectations)) in passing {
        let scenario = match sim_scenario::load_and_validate(file) {
            Ok(s) => s,
            Err(d) => {
                unreadable.push(format!(
                    "  {name}: {}: {}",
                    file.display(),
                    d.render().lines().next().unwrap_or("invalid")
                ));
                continue;
            }
        };
        for (i, expectation) in scenario.expectations.iter().enumerate() {
            if expectations.get(&i) != Some(&true) {
                continue;
            }
            for row in rows_named(expectation) {
                proofs.entry(row).or_default().insert(name.to_owned());
            }
        }
    }
    if !unreadable.is_empty() {
        return Err(ExpectedError::Invalid(format!(
            "cannot load the scenarios these results come from (run natlab coverage from the \
             directory natlab run was run from):\n{}",
            unreadable.join("\n")
        )));
    }
    Ok(proofs)
}

/// The documented rows an expectation asks to see (none when its count admits zero).
fn rows_named(expectation: &ResolvedExpectation) -> Vec<Row> {
    let mut rows = Vec::new();
    match expectation {
        ResolvedExpectation::Event {
            code,
            status,
            detail,
            count,
            ..
        } if count.at_least > 0 => {
            event_rows(*code, &mut rows);
            match status {
                Some(StatusCode::Aae(s)) => rows.push(Row::Status(s.code)),
                Some(StatusCode::Sip(n)) => {
                    if aae_status(u32::from(*n)).is_some() {
                        rows.push(Row::Status(u32::from(*n)));
                    }
                    if matches!(code, EventCode::Softphone(_))
                        && let Some(t) =
                            trunk_error_for_response(*n, detail.as_deref().unwrap_or(""))
                    {
                        rows.push(Row::Trunk(t.order));
                    }
                }
                // Web service statuses are HTTP codes, in no catalog.
                Some(StatusCode::Http(_)) | None => {}
            }
        }
        ResolvedExpectation::Sequence { events, .. } => {
            for code in events {
                event_rows(*code, &mut rows);
            }
        }
        ResolvedExpectation::SipResponse { code, count, .. } if count.at_least > 0 => {
            if aae_status(u32::from(*code)).is_some() {
                rows.push(Row::Status(u32::from(*code)));
            }
            if let Some(t) = trunk_error_for_response(*code, "") {
                rows.push(Row::Trunk(t.order));
            }
        }
        _ => {}
    }
    rows.sort();
    rows.dedup();
    rows
}

fn event_rows(code: EventCode, rows: &mut Vec<Row>) {
    match code {
        EventCode::Aae(e) => rows.push(Row::Event(e.code)),
        EventCode::Softphone(cb) => rows.push(Row::Callback(cb.name)),
        EventCode::Probe(_) => {}
    }
}

/// `{"covered": N, "total": N}`, with `simulable` for status codes.
#[derive(Clone, Copy, Debug, Default, Serialize)]
struct Total {
    covered: usize,
    total: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    simulable: Option<usize>,
}

#[derive(Debug, Serialize)]
struct Totals {
    events: Total,
    status: Total,
    trunk: Total,
    callbacks: Total,
}

/// One `FAULTS.md` §3 group of status codes.
#[derive(Debug, Serialize)]
struct GroupTotal {
    group: &'static str,
    letter: char,
    simulable: bool,
    covered: usize,
    total: usize,
}

#[derive(Debug, Serialize)]
struct EventRow {
    code: u32,
    name: &'static str,
    scenarios: Vec<String>,
}

#[derive(Debug, Serialize)]
struct StatusRow {
    code: u32,
    name: &'static str,
    group: &'static str,
    simulable: bool,
    scenarios: Vec<String>,
}

#[derive(Debug, Serialize)]
struct TrunkRow {
    row: u8,
    code: u16,
    phrase: String,
    scenarios: Vec<String>,
}

#[derive(Debug, Serialize)]
struct CallbackRow {
    name: &'static str,
    module: &'static str,
    scenarios: Vec<String>,
}

/// What the suite proves: the JSON form, and the source of the table and Markdown forms.
#[derive(Debug, Serialize)]
struct CoverageReport {
    schema_version: u32,
    /// Scenarios and runs read.
    scenarios: usize,
    runs: usize,
    totals: Totals,
    groups: Vec<GroupTotal>,
    /// Status codes of group G (not meaningfully simulable).
    not_simulable: Vec<u32>,
    events: Vec<EventRow>,
    status: Vec<StatusRow>,
    trunk: Vec<TrunkRow>,
    callbacks: Vec<CallbackRow>,
}

const STATUS_GROUPS: [FaultGroup; 7] = [
    FaultGroup::Network,
    FaultGroup::Nat,
    FaultGroup::ServerPolicy,
    FaultGroup::Misconfiguration,
    FaultGroup::Timing,
    FaultGroup::Mutation,
    FaultGroup::NotSimulable,
];

impl CoverageReport {
    fn build(runs: &[RunResult], proofs: &Proofs) -> Self {
        let who = |row: Row| -> Vec<String> {
            proofs
                .get(&row)
                .map(|s| s.iter().cloned().collect())
                .unwrap_or_default()
        };
        let events: Vec<EventRow> = aae_events()
            .iter()
            .map(|e| EventRow {
                code: e.code,
                name: e.name,
                scenarios: who(Row::Event(e.code)),
            })
            .collect();
        let status: Vec<StatusRow> = aae_statuses()
            .iter()
            .map(|s| StatusRow {
                code: s.code,
                name: s.name,
                group: s.fault().group.label(),
                simulable: s.fault().group.is_simulable(),
                scenarios: who(Row::Status(s.code)),
            })
            .collect();
        let trunk: Vec<TrunkRow> = trunk_errors()
            .iter()
            .map(|t| TrunkRow {
                row: t.order,
                code: t.code,
                phrase: match t.qualifier {
                    Some(q) if !t.reason_phrase.contains(q) => format!("{}. {q}", t.reason_phrase),
                    _ => t.reason_phrase.to_owned(),
                },
                scenarios: who(Row::Trunk(t.order)),
            })
            .collect();
        let callbacks: Vec<CallbackRow> = softphone_callbacks()
            .iter()
            .map(|c| CallbackRow {
                name: c.name,
                module: c.module,
                scenarios: who(Row::Callback(c.name)),
            })
            .collect();
        let groups = STATUS_GROUPS
            .iter()
            .map(|&g| {
                let rows = aae_statuses().iter().filter(|s| s.fault().group == g);
                GroupTotal {
                    group: g.label(),
                    letter: g.letter().unwrap_or('?'),
                    simulable: g.is_simulable(),
                    covered: rows
                        .clone()
                        .filter(|s| proofs.contains_key(&Row::Status(s.code)))
                        .count(),
                    total: rows.count(),
                }
            })
            .collect();
        let total = |covered: usize, total: usize| Total {
            covered,
            total,
            simulable: None,
        };
        let totals = Totals {
            events: total(
                events.iter().filter(|e| !e.scenarios.is_empty()).count(),
                events.len(),
            ),
            status: Total {
                simulable: Some(status.iter().filter(|s| s.simulable).count()),
                ..total(
                    status.iter().filter(|s| !s.scenarios.is_empty()).count(),
                    status.len(),
                )
            },
            trunk: total(
                trunk.iter().filter(|t| !t.scenarios.is_empty()).count(),
                trunk.len(),
            ),
            callbacks: total(
                callbacks.iter().filter(|c| !c.scenarios.is_empty()).count(),
                callbacks.len(),
            ),
        };
        let names: BTreeSet<&str> = runs.iter().map(|r| r.name.as_str()).collect();
        Self {
            schema_version: SCHEMA_VERSION,
            scenarios: names.len(),
            runs: runs.len(),
            totals,
            groups,
            not_simulable: status
                .iter()
                .filter(|s| !s.simulable)
                .map(|s| s.code)
                .collect(),
            events,
            status,
            trunk,
            callbacks,
        }
    }

    fn summary_rows(&self) -> Vec<SummaryRow> {
        let t = &self.totals;
        let row = |what: &str, total: &Total| SummaryRow {
            what: what.to_owned(),
            covered: total.covered,
            total: total.total,
            percent: percent(total.covered, total.total),
        };
        let mut rows = vec![
            row("AAE events", &t.events),
            row("AAE status codes", &t.status),
        ];
        for g in &self.groups {
            rows.push(SummaryRow {
                what: format!("  {}", g.group),
                covered: g.covered,
                total: g.total,
                percent: percent(g.covered, g.total),
            });
        }
        let simulable = t.status.simulable.unwrap_or(t.status.total);
        let covered_simulable = self
            .status
            .iter()
            .filter(|s| s.simulable && !s.scenarios.is_empty())
            .count();
        rows.push(SummaryRow {
            what: "  simulable (A–F)".to_owned(),
            covered: covered_simulable,
            total: simulable,
            percent: percent(covered_simulable, simulable),
        });
        rows.push(row("trunk rows", &t.trunk));
        rows.push(row("softphone callbacks", &t.callbacks));
        rows
    }

    fn table(&self) -> String {
        let mut text = format!(
            "documented-code coverage of {} scenarios ({} runs)\n",
            self.scenarios, self.runs
        );
        let mut table = Table::new(self.summary_rows());
        table.with(Style::sharp());
        text.push_str(&table.to_string());
        text.push_str("\n\nproved:\n");
        let mut proved: Vec<ProvedRow> = Vec::new();
        let mut add = |catalog: &'static str, code: String, name: &str, scenarios: &[String]| {
            if !scenarios.is_empty() {
                proved.push(ProvedRow {
                    catalog,
                    code,
                    name: name.to_owned(),
                    scenarios: wrap_list(scenarios, 60),
                });
            }
        };
        for e in &self.events {
            add("event", e.code.to_string(), e.name, &e.scenarios);
        }
        for s in &self.status {
            add("status", s.code.to_string(), s.name, &s.scenarios);
        }
        for t in &self.trunk {
            add(
                "trunk",
                format!("row {} ({})", t.row, t.code),
                &t.phrase,
                &t.scenarios,
            );
        }
        for c in &self.callbacks {
            add("callback", "-".into(), c.name, &c.scenarios);
        }
        let mut table = Table::new(proved);
        table.with(Style::sharp());
        text.push_str(&table.to_string());
        text.push_str("\n\nnot proved yet:\n");
        let missing = |codes: Vec<String>| {
            if codes.is_empty() {
                "none".to_owned()
            } else {
                codes.join(" ")
            }
        };
        let _ = writeln!(
            text,
            "  events: {}",
            missing(
                self.events
                    .iter()
                    .filter(|e| e.scenarios.is_empty())
                    .map(|e| e.code.to_string())
                    .collect()
            )
        );
        for g in &self.groups {
            let _ = writeln!(
                text,
                "  {}{}: {}",
                g.group,
                if g.simulable { "" } else { " (not simulable)" },
                missing(
                    self.status
                        .iter()
                        .filter(|s| s.group == g.group && s.scenarios.is_empty())
                        .map(|s| s.code.to_string())
                        .collect()
                )
            );
        }
        let _ = writeln!(
            text,
            "  trunk rows: {}",
            missing(
                self.trunk
                    .iter()
                    .filter(|t| t.scenarios.is_empty())
                    .map(|t| t.row.to_string())
                    .collect()
            )
        );
        let _ = writeln!(
            text,
            "  callbacks: {}",
            missing(
                self.callbacks
                    .iter()
                    .filter(|c| c.scenarios.is_empty())
                    .map(|c| c.name.to_owned())
                    .collect()
            )
        );
        text
    }

    fn markdown(&self) -> String {
        let mut md = String::new();
        let _ = write!(
            md,
            "# Documented-code coverage\n\n\
             Generated by `{REGENERATE}` (`natlab coverage scenarios/ --format markdown`); do not \
             edit by hand. A test fails when this file differs from what the bundled suite \
             proves.\n\n\
             A scenario proves a code when one of its expectations names it (an `event` or \
             `sequence` naming the event or callback, the `status` an event carries, a \
             `sip_response` code) and that expectation passes. Status codes are grouped as in \
             `FAULTS.md` §3 (`sim/catalog/data/FAULTS.md`); group G is not meaningfully \
             simulable. {} scenarios were run.\n\n",
            self.scenarios
        );
        md.push_str("## Totals\n\n| | covered | total | % |\n|---|---:|---:|---:|\n");
        for r in self.summary_rows() {
            let what = r.what.trim_start();
            let what = if r.what.starts_with(' ') {
                format!("— {what}")
            } else {
                what.to_owned()
            };
            let _ = writeln!(
                md,
                "| {what} | {} | {} | {} |",
                r.covered, r.total, r.percent
            );
        }
        md.push_str("\n## AAE events\n\n| code | name | proved by |\n|---:|---|---|\n");
        for e in &self.events {
            let _ = writeln!(
                md,
                "| {} | `{}` | {} |",
                e.code,
                e.name,
                scenarios_md(&e.scenarios)
            );
        }
        md.push_str("\n## AAE status codes\n");
        for g in &self.groups {
            let _ = write!(md, "\n### {} — {} of {}\n\n", g.group, g.covered, g.total);
            if g.simulable {
                md.push_str("| code | name | proved by |\n|---:|---|---|\n");
                for s in self.status.iter().filter(|s| s.group == g.group) {
                    let _ = writeln!(
                        md,
                        "| {} | `{}` | {} |",
                        s.code,
                        s.name,
                        scenarios_md(&s.scenarios)
                    );
                }
            } else {
                md.push_str("Not meaningfully simulable (`FAULTS.md` §3 G says why per code):\n\n");
                let codes: Vec<String> = self
                    .status
                    .iter()
                    .filter(|s| s.group == g.group)
                    .map(|s| {
                        if s.scenarios.is_empty() {
                            s.code.to_string()
                        } else {
                            format!("{} (proved by {})", s.code, s.scenarios.join(", "))
                        }
                    })
                    .collect();
                md.push_str(&codes.join(", "));
                md.push('\n');
            }
        }
        md.push_str("\n## Operator trunk rows\n\n| row | code | phrase | proved by |\n|---:|---:|---|---|\n");
        for t in &self.trunk {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} |",
                t.row,
                t.code,
                t.phrase,
                scenarios_md(&t.scenarios)
            );
        }
        md.push_str(
            "\n## Softphone callbacks\n\n| callback | module | proved by |\n|---|---|---|\n",
        );
        for c in &self.callbacks {
            let _ = writeln!(
                md,
                "| `{}` | {} | {} |",
                c.name,
                c.module,
                scenarios_md(&c.scenarios)
            );
        }
        md.push_str(
            "\nThe intercom settings API's error codes (`not_valid`, `invalid_authentication`, \
             `permission_denied`, `system_error`) are answers of the web service, which \
             scenarios do not drive; they are not listed.\n",
        );
        md
    }
}

/// `items` joined with `, `, broken into lines of at most `width` characters where possible.
fn wrap_list(items: &[String], width: usize) -> String {
    let mut text = String::new();
    let mut line = 0;
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            text.push(',');
            if line + 2 + item.len() > width {
                text.push('\n');
                line = 0;
            } else {
                text.push(' ');
                line += 2;
            }
        }
        text.push_str(item);
        line += item.len();
    }
    text
}

fn scenarios_md(scenarios: &[String]) -> String {
    if scenarios.is_empty() {
        "—".to_owned()
    } else {
        scenarios.join(", ")
    }
}

fn percent(covered: usize, total: usize) -> String {
    if total == 0 {
        "-".to_owned()
    } else {
        format!("{:.0}%", covered as f64 * 100.0 / total as f64)
    }
}

#[derive(Tabled)]
struct SummaryRow {
    #[tabled(rename = "documented")]
    what: String,
    #[tabled(rename = "covered")]
    covered: usize,
    #[tabled(rename = "total")]
    total: usize,
    #[tabled(rename = "%")]
    percent: String,
}

#[derive(Tabled)]
struct ProvedRow {
    #[tabled(rename = "catalog")]
    catalog: &'static str,
    #[tabled(rename = "code")]
    code: String,
    #[tabled(rename = "name")]
    name: String,
    #[tabled(rename = "proved by")]
    scenarios: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expectations(yaml: &str) -> Vec<Vec<Row>> {
        let scenario =
            sim_scenario::from_str("t.yaml", yaml).unwrap_or_else(|d| panic!("{}", d.render()));
        scenario.expectations.iter().map(rows_named).collect()
    }

    const TOPOLOGY: &str = "name: t\nseed: 1\nduration: 10s\ntopology:\n  servers:\n    - {name: trunk, kind: sip, address: 203.0.113.10, domain: t.example, accounts: [{user: \"1\", password: p}]}\n  endpoints:\n    - {name: alice, kind: softphone, address: 203.0.113.2, user: \"1\", password: p, server: trunk}\n";

    #[test]
    fn coverage_softphone_status_names_the_aae_status_and_the_trunk_row() {
        let yaml = format!(
            "{TOPOLOGY}expect:\n  - event: {{endpoint: alice, code: onInviteFailure, status: 486}}\n  - event: {{endpoint: alice, code: onInviteFailure, status: 500, detail: X-FWD-Original incorrect}}\n  - event: {{endpoint: alice, code: onInviteFailure, status: 500}}\n  - sip_response: {{code: 408}}\n  - sip_response: {{code: 486, count: 0}}\n  - sequence: {{endpoint: alice, events: [onRegisterSuccess, onInviteTrying]}}\n"
        );
        let rows = expectations(&yaml);
        assert_eq!(
            rows[0],
            [
                Row::Status(486),
                Row::Trunk(10),
                Row::Callback("onInviteFailure")
            ]
        );
        assert_eq!(rows[1][0], Row::Trunk(14), "{:?}", rows[1]);
        assert_eq!(rows[2][0], Row::Trunk(13), "{:?}", rows[2]);
        assert_eq!(rows[3], [Row::Status(408)]);
        assert!(rows[4].is_empty(), "count 0 asks for absence");
        assert_eq!(
            rows[5],
            [
                Row::Callback("onInviteTrying"),
                Row::Callback("onRegisterSuccess")
            ]
        );
    }

    #[test]
    fn coverage_totals_match_the_catalogs_and_faults_md() {
        let report = CoverageReport::build(&[], &Proofs::new());
        assert_eq!(report.totals.events.total, 28);
        assert_eq!(report.totals.status.total, 301);
        assert_eq!(report.totals.status.simulable, Some(301 - 82));
        assert_eq!(report.totals.trunk.total, 19);
        let per_group: Vec<usize> = report.groups.iter().map(|g| g.total).collect();
        assert_eq!(per_group, [25, 6, 35, 47, 24, 82, 82], "FAULTS.md §9");
        assert_eq!(report.not_simulable.len(), 82);
        assert_eq!(report.totals.status.covered, 0);
    }
}

//! `natlab run`: validate every scenario, plan it, run it, check its expectations, write its
//! report and capture.

use crate::args::{Format, RunArgs};
use crate::discover::scenario_files;
use crate::exit::{Exit, ExpectedError};
use sim_core::Seed;
use sim_report::{RunReport, SCHEMA_VERSION, SuiteEntry, SuiteSummary};
use sim_scenario::Scenario;
use std::io::Write;
use std::path::{Path, PathBuf};

const CAPTURE_FILE: &str = "capture.pcapng";
const REPORT_FILE: &str = "report.json";
const EVENTS_FILE: &str = "events.jsonl";

pub(crate) fn run(args: &RunArgs, out: &mut dyn Write) -> Result<Exit, ExpectedError> {
    let files = scenario_files(&args.paths, true)?;
    if files.is_empty() {
        return Err(ExpectedError::NothingToDo(
            "no scenario files (*.yaml) found".into(),
        ));
    }
    let scenarios = load_all(&files, args.seed)?;
    let plans = plan_all(&scenarios, &args.out)?;
    let mut reports = Vec::new();
    for ((file, scenario), (dir, spec)) in scenarios.iter().zip(plans) {
        std::fs::create_dir_all(&dir).map_err(|source| ExpectedError::Write {
            path: dir.clone(),
            source,
        })?;
        let output = sim_world::run(&spec)
            .map_err(|e| ExpectedError::Invalid(format!("{}: {e}", file.display())))?;
        let eval = sim_world::scenario::evaluate(scenario, &output);
        let written = sim_world::scenario::Written {
            capture: spec.capture.as_ref().map(|_| CAPTURE_FILE),
            events: spec.events.as_ref().map(|_| EVENTS_FILE),
        };
        let report = sim_world::scenario::report(
            scenario,
            &file.display().to_string(),
            &output,
            &eval,
            written,
        );
        let path = dir.join(REPORT_FILE);
        std::fs::write(&path, report.to_json())
            .map_err(|source| ExpectedError::Write { path, source })?;
        reports.push((dir, report));
    }
    print_summary(args, &reports, out)?;
    Ok(if reports.iter().all(|(_, r)| r.passed) {
        Exit::Ok
    } else {
        Exit::Failed
    })
}

/// Loads every file; reports every file's diagnostics before refusing to run any.
fn load_all(
    files: &[PathBuf],
    seed: Option<u64>,
) -> Result<Vec<(PathBuf, Scenario)>, ExpectedError> {
    let mut scenarios = Vec::new();
    let mut rendered = String::new();
    for file in files {
        match sim_scenario::load_and_validate(file) {
            Ok(mut s) => {
                if let Some(seed) = seed {
                    s.seed = Seed::new(seed);
                }
                scenarios.push((file.clone(), s));
            }
            Err(diagnostics) => rendered.push_str(&diagnostics.render()),
        }
    }
    if !rendered.is_empty() {
        return Err(ExpectedError::Invalid(format!(
            "invalid scenarios, nothing was run:\n{rendered}"
        )));
    }
    let mut names: Vec<&str> = scenarios.iter().map(|(_, s)| s.name.as_str()).collect();
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(ExpectedError::Invalid(format!(
            "two scenarios are named `{}`; their reports would overwrite each other",
            w[0]
        )));
    }
    Ok(scenarios)
}

/// Plans every scenario; refuses, before running anything, what the simulator cannot run yet.
fn plan_all(
    scenarios: &[(PathBuf, Scenario)],
    out: &Path,
) -> Result<Vec<(PathBuf, sim_world::WorldSpec)>, ExpectedError> {
    let mut plans = Vec::new();
    let mut refused = Vec::new();
    for (file, scenario) in scenarios {
        let dir = out.join(&scenario.name);
        let outputs = sim_world::scenario::Outputs {
            capture: Some(dir.join(CAPTURE_FILE)),
            events: Some(dir.join(EVENTS_FILE)),
        };
        match sim_world::scenario::plan(scenario, outputs) {
            Ok(spec) => plans.push((dir, spec)),
            Err(e) => refused.push(format!("  {}: {e}", file.display())),
        }
    }
    if !refused.is_empty() {
        return Err(ExpectedError::Invalid(format!(
            "cannot run these scenarios yet, nothing was run:\n{}",
            refused.join("\n")
        )));
    }
    Ok(plans)
}

fn print_summary(
    args: &RunArgs,
    reports: &[(PathBuf, RunReport)],
    out: &mut dyn Write,
) -> Result<(), ExpectedError> {
    let text = match args.format {
        Format::Table => {
            let only: Vec<RunReport> = reports.iter().map(|(_, r)| r.clone()).collect();
            let mut text = sim_report::summary_table(&only);
            text.push('\n');
            for (dir, r) in reports.iter().filter(|(_, r)| !r.passed) {
                text.push_str(&format!(
                    "{} failed ({}):\n{}",
                    r.scenario.name,
                    dir.join(REPORT_FILE).display(),
                    r.failures()
                ));
            }
            let passed = reports.iter().filter(|(_, r)| r.passed).count();
            text.push_str(&format!(
                "{passed} of {} scenarios passed; reports in {}\n",
                reports.len(),
                args.out.display()
            ));
            text
        }
        Format::Json => {
            let summary = SuiteSummary {
                schema_version: SCHEMA_VERSION,
                passed: reports.iter().all(|(_, r)| r.passed),
                scenarios: reports
                    .iter()
                    .map(|(dir, r)| SuiteEntry {
                        name: r.scenario.name.clone(),
                        passed: r.passed,
                        report: dir.join(REPORT_FILE).display().to_string(),
                        capture: r
                            .capture
                            .as_ref()
                            .map(|c| dir.join(&c.file).display().to_string()),
                        failed: r
                            .expectations
                            .iter()
                            .filter(|e| !e.passed)
                            .map(|e| e.text.clone())
                            .collect(),
                    })
                    .collect(),
            };
            let mut json = serde_json::to_string_pretty(&summary)
                .map_err(|e| ExpectedError::Invalid(e.to_string()))?;
            json.push('\n');
            json
        }
    };
    out.write_all(text.as_bytes())
        .map_err(|source| ExpectedError::Write {
            path: PathBuf::from("<stdout>"),
            source,
        })
}

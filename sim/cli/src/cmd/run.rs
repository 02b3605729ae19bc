//! `natlab run`: select scenarios (filter, seeds, shard), run them in parallel (each simulation
//! single-threaded and deterministic), check their expectations, write a report, a capture and an
//! event log and a ladder page per run, and the suite's summary, JUnit, JSON and `index.html`.

mod html;
mod junit;
mod select;

use crate::args::{Format, RunArgs};
use crate::discover::scenario_files;
use crate::exit::{Exit, ExpectedError};
use indicatif::{ProgressBar, ProgressStyle};
use sim_report::{RunReport, SCHEMA_VERSION, SuiteEntry, SuiteSummary};
use sim_scenario::Scenario;
use std::io::{IsTerminal as _, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub(crate) use select::Job;

const CAPTURE_FILE: &str = "capture.pcapng";
const REPORT_FILE: &str = "report.json";
const EVENTS_FILE: &str = "events.jsonl";

/// How one selected run ended.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// It ran: its report, its wall time, and the determinism verdict when asked for.
    Ran {
        report: Box<RunReport>,
        wall: Duration,
        determinism: Option<Result<(), String>>,
    },
    /// The simulation could not run (an invalid topology, an unwritable output...).
    Error { message: String, wall: Duration },
    /// Not started: an earlier run failed under `--fail-fast`.
    Skipped,
}

impl Outcome {
    pub(crate) fn passed(&self) -> bool {
        match self {
            Self::Ran {
                report,
                determinism,
                ..
            } => report.passed && determinism.as_ref().is_none_or(Result::is_ok),
            Self::Error { .. } | Self::Skipped => false,
        }
    }

    const fn wall(&self) -> Duration {
        match self {
            Self::Ran { wall, .. } | Self::Error { wall, .. } => *wall,
            Self::Skipped => Duration::ZERO,
        }
    }
}

pub(crate) fn run(args: &RunArgs, out: &mut dyn Write) -> Result<Exit, ExpectedError> {
    let files = scenario_files(&args.paths, true)?;
    if files.is_empty() {
        return Err(ExpectedError::NothingToDo(
            "no scenario files (*.yaml) found".into(),
        ));
    }
    let scenarios = load_all(&files)?;
    let jobs = select::jobs(args, scenarios);
    if jobs.is_empty() {
        return Err(ExpectedError::NothingToDo(
            "no scenario matches the filter and partition".into(),
        ));
    }
    let plans = plan_all(&jobs)?;
    let started = Instant::now();
    let outcomes = run_all(args, &jobs, plans);
    let wall = started.elapsed();
    if let Some(path) = &args.junit {
        write_file(path, &junit::render(&jobs, &outcomes, wall))?;
    }
    write_file(
        &args.out.join(html::INDEX_FILE),
        &html::index(&args.out, &jobs, &outcomes),
    )?;
    let summary = summary(&jobs, &outcomes);
    if let Some(path) = &args.json {
        write_file(path, &summary_json(&summary)?)?;
    }
    print_summary(args, &jobs, &outcomes, &summary, out)?;
    Ok(if outcomes.iter().all(Outcome::passed) {
        Exit::Ok
    } else {
        Exit::Failed
    })
}

/// Loads every file; reports every file's diagnostics before refusing to run any.
fn load_all(files: &[PathBuf]) -> Result<Vec<(PathBuf, Scenario)>, ExpectedError> {
    let mut scenarios = Vec::new();
    let mut rendered = String::new();
    for file in files {
        match sim_scenario::load_and_validate(file) {
            Ok(s) => scenarios.push((file.clone(), s)),
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

/// Plans every run; refuses, before running anything, what the simulator cannot run yet.
fn plan_all(jobs: &[Job]) -> Result<Vec<sim_world::WorldSpec>, ExpectedError> {
    let mut plans = Vec::new();
    let mut refused = Vec::new();
    for job in jobs {
        let outputs = sim_world::scenario::Outputs {
            capture: Some(job.dir.join(CAPTURE_FILE)),
            events: Some(job.dir.join(EVENTS_FILE)),
        };
        match sim_world::scenario::plan(&job.scenario, outputs) {
            Ok(spec) => plans.push(spec),
            Err(e) => refused.push(format!("  {}: {e}", job.file.display())),
        }
    }
    refused.dedup();
    if !refused.is_empty() {
        return Err(ExpectedError::Invalid(format!(
            "cannot run these scenarios yet, nothing was run:\n{}",
            refused.join("\n")
        )));
    }
    Ok(plans)
}

/// Runs the jobs on `--jobs` worker threads, in selection order per worker.
fn run_all(args: &RunArgs, jobs: &[Job], plans: Vec<sim_world::WorldSpec>) -> Vec<Outcome> {
    let workers = args
        .jobs
        .map(std::num::NonZeroUsize::get)
        .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get()))
        .unwrap_or(1)
        .min(jobs.len());
    let progress = Progress::new(jobs.len());
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let outcomes: Mutex<Vec<Option<Outcome>>> =
        Mutex::new(std::iter::repeat_with(|| None).take(jobs.len()).collect());
    let plans: Vec<Mutex<Option<sim_world::WorldSpec>>> =
        plans.into_iter().map(|p| Mutex::new(Some(p))).collect();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(job) = jobs.get(i) else { break };
                    let outcome = if stop.load(Ordering::SeqCst) {
                        Outcome::Skipped
                    } else {
                        let spec = plans[i].lock().ok().and_then(|mut p| p.take());
                        spec.map_or(Outcome::Skipped, |spec| {
                            run_one(job, &spec, args.check_determinism)
                        })
                    };
                    if args.fail_fast && !outcome.passed() {
                        stop.store(true, Ordering::SeqCst);
                    }
                    progress.done(job, &outcome);
                    if let Ok(mut all) = outcomes.lock() {
                        all[i] = Some(outcome);
                    }
                }
            });
        }
    });
    progress.finish();
    outcomes
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .map(|o| o.unwrap_or(Outcome::Skipped))
        .collect()
}

fn run_one(job: &Job, spec: &sim_world::WorldSpec, check_determinism: bool) -> Outcome {
    let started = Instant::now();
    let error = |message: String| Outcome::Error {
        message,
        wall: started.elapsed(),
    };
    if let Err(e) = std::fs::create_dir_all(&job.dir) {
        return error(format!("cannot create {}: {e}", job.dir.display()));
    }
    let output = match sim_world::run(spec) {
        Ok(output) => output,
        Err(e) => return error(e.to_string()),
    };
    let eval = sim_world::scenario::evaluate(&job.scenario, &output);
    let written = sim_world::scenario::Written {
        capture: spec.capture.as_ref().map(|_| CAPTURE_FILE),
        events: spec.events.as_ref().map(|_| EVENTS_FILE),
    };
    let report = sim_world::scenario::report(
        &job.scenario,
        &job.file.display().to_string(),
        &output,
        &eval,
        written,
    );
    let path = job.dir.join(REPORT_FILE);
    if let Err(e) = std::fs::write(&path, report.to_json()) {
        return error(format!("cannot write {}: {e}", path.display()));
    }
    if let Err(e) = html::write_ladder(job, spec, &report) {
        return error(e);
    }
    let determinism = check_determinism.then(|| determinism(job));
    Outcome::Ran {
        report: Box::new(report),
        wall: started.elapsed(),
        determinism,
    }
}

/// Runs the job twice more, each in its own `natlab` process, and compares the hashes of what
/// the three runs wrote.
fn determinism(job: &Job) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find natlab itself: {e}"))?;
    let base = job.dir.join("determinism");
    let mut runs = vec![hashes(&job.dir)?];
    for replay in ["a", "b"] {
        let out = base.join(replay);
        let status = std::process::Command::new(&exe)
            .arg("run")
            .arg(&job.file)
            .arg("--seed")
            .arg(job.seed.to_string())
            .arg("--jobs")
            .arg("1")
            .arg("--out")
            .arg(&out)
            .arg("--format")
            .arg("json")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .map_err(|e| format!("cannot start {}: {e}", exe.display()))?;
        if status.code().is_none_or(|c| c > 1) {
            return Err(format!(
                "the replay in a separate process failed ({status})"
            ));
        }
        runs.push(hashes(&out.join(&job.scenario.name))?);
    }
    let _ = std::fs::remove_dir_all(&base);
    for file in [REPORT_FILE, CAPTURE_FILE, EVENTS_FILE, html::LADDER_FILE] {
        let seen: Vec<&str> = runs
            .iter()
            .map(|r| {
                r.iter()
                    .find(|(f, _)| *f == file)
                    .map_or("missing", |(_, h)| h.as_str())
            })
            .collect();
        if seen.windows(2).any(|w| w[0] != w[1]) {
            return Err(format!(
                "not deterministic: {file} differs between runs in separate processes \
                 (sha256 {})",
                seen.join(" / ")
            ));
        }
    }
    Ok(())
}

fn hashes(dir: &Path) -> Result<Vec<(&'static str, String)>, String> {
    use sha2::Digest as _;
    let mut out = Vec::new();
    for file in [REPORT_FILE, CAPTURE_FILE, EVENTS_FILE, html::LADDER_FILE] {
        let path = dir.join(file);
        match std::fs::read(&path) {
            Ok(bytes) => {
                let digest = sha2::Sha256::digest(&bytes);
                let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
                out.push((file, hex));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        }
    }
    Ok(out)
}

/// Progress on a terminal (a bar on stderr), one plain line per finished run otherwise.
struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    fn new(total: usize) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(total as u64);
            if let Ok(style) =
                ProgressStyle::with_template("{bar:30} {pos}/{len} {elapsed_precise} {msg}")
            {
                bar.set_style(style);
            }
            bar
        });
        Self { bar }
    }

    fn done(&self, job: &Job, outcome: &Outcome) {
        let verdict = match outcome {
            Outcome::Skipped => "skip",
            o if o.passed() => "pass",
            _ => "FAIL",
        };
        let line = format!(
            "{verdict} {} (seed {}) {:.2}s",
            job.scenario.name,
            job.seed,
            outcome.wall().as_secs_f64()
        );
        match &self.bar {
            Some(bar) => {
                if verdict == "FAIL" {
                    bar.println(&line);
                }
                bar.set_message(job.scenario.name.clone());
                bar.inc(1);
            }
            None => {
                let _ = writeln!(std::io::stderr(), "{line}");
            }
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// The command that reproduces one run.
pub(crate) fn reproduce(job: &Job) -> String {
    format!("natlab run {} --seed {}", job.file.display(), job.seed)
}

/// What went wrong in one run, as lines (empty when it passed).
pub(crate) fn failure_text(job: &Job, outcome: &Outcome) -> String {
    let mut text = match outcome {
        Outcome::Ran {
            report,
            determinism,
            ..
        } => {
            let mut t = report.failures();
            if let Some(Err(e)) = determinism {
                t.push_str(&format!("  {e}\n"));
            }
            t
        }
        Outcome::Error { message, .. } => format!("  the run failed: {message}\n"),
        Outcome::Skipped => return "  not run (--fail-fast stopped the suite)\n".into(),
    };
    if !text.is_empty() {
        text.push_str(&format!(
            "  seed {}; reproduce with: {}\n",
            job.seed,
            reproduce(job)
        ));
    }
    text
}

fn summary(jobs: &[Job], outcomes: &[Outcome]) -> SuiteSummary {
    SuiteSummary {
        schema_version: SCHEMA_VERSION,
        passed: outcomes.iter().all(Outcome::passed),
        scenarios: jobs
            .iter()
            .zip(outcomes)
            .map(|(job, o)| {
                let report = match o {
                    Outcome::Ran { report, .. } => Some(report),
                    _ => None,
                };
                SuiteEntry {
                    name: job.scenario.name.clone(),
                    seed: job.seed,
                    passed: o.passed(),
                    status: match o {
                        Outcome::Skipped => "skipped",
                        Outcome::Error { .. } => "error",
                        o if o.passed() => "passed",
                        _ => "failed",
                    },
                    wall_ms: o.wall().as_millis() as u64,
                    report: job.dir.join(REPORT_FILE).display().to_string(),
                    capture: report
                        .and_then(|r| r.capture.as_ref())
                        .map(|c| job.dir.join(&c.file).display().to_string()),
                    failed: match o {
                        Outcome::Ran {
                            report,
                            determinism,
                            ..
                        } => report
                            .expectations
                            .iter()
                            .filter(|e| !e.passed)
                            .map(|e| e.text.clone())
                            .chain(report.issues.iter().map(|i| i.message.clone()))
                            .chain(determinism.iter().filter_map(|d| d.clone().err()))
                            .collect(),
                        Outcome::Error { message, .. } => vec![message.clone()],
                        Outcome::Skipped => Vec::new(),
                    },
                    reproduce: (!o.passed()).then(|| reproduce(job)),
                }
            })
            .collect(),
    }
}

fn summary_json(summary: &SuiteSummary) -> Result<String, ExpectedError> {
    let mut json =
        serde_json::to_string_pretty(summary).map_err(|e| ExpectedError::Invalid(e.to_string()))?;
    json.push('\n');
    Ok(json)
}

fn write_file(path: &Path, text: &str) -> Result<(), ExpectedError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|source| ExpectedError::Write {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    std::fs::write(path, text).map_err(|source| ExpectedError::Write {
        path: path.to_path_buf(),
        source,
    })
}

fn print_summary(
    args: &RunArgs,
    jobs: &[Job],
    outcomes: &[Outcome],
    summary: &SuiteSummary,
    out: &mut dyn Write,
) -> Result<(), ExpectedError> {
    let text = match args.format {
        Format::Table => {
            let ran: Vec<RunReport> = outcomes
                .iter()
                .filter_map(|o| match o {
                    Outcome::Ran { report, .. } => Some((**report).clone()),
                    _ => None,
                })
                .collect();
            let mut text = sim_report::summary_table(&ran);
            text.push('\n');
            for (job, o) in jobs.iter().zip(outcomes).filter(|(_, o)| !o.passed()) {
                text.push_str(&format!(
                    "{} failed ({}):\n{}",
                    job.scenario.name,
                    job.dir.join(REPORT_FILE).display(),
                    failure_text(job, o)
                ));
            }
            let passed = outcomes.iter().filter(|o| o.passed()).count();
            text.push_str(&format!(
                "{passed} of {} scenarios passed; reports in {}\n",
                outcomes.len(),
                args.out.display()
            ));
            text
        }
        Format::Json => summary_json(summary)?,
    };
    out.write_all(text.as_bytes())
        .map_err(|source| ExpectedError::Write {
            path: PathBuf::from("<stdout>"),
            source,
        })
}

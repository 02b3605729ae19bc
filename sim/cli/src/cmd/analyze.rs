//! `natlab analyze`: capture forensics.
//!
//! Reads each capture (pcap, pcapng, gzip), prints a summary with the packet accounting, the
//! call table, the final-status counts and the findings (or one JSON document, see
//! `docs/analyze-json.md`), optionally a ladder in the terminal (`--ladder`) or as an HTML file
//! (`--ladder-html`).
//!
//! Exit codes: 1 when findings reach `--fail-on`; 2 for contradictory options; 3 when a capture
//! cannot be read at all; 4 when no capture holds any SIP, or `--call` names a Call-ID that is
//! not there.

use crate::args::{AnalyzeArgs, FailOn, Format};
use crate::exit::{Exit, ExpectedError};
use indicatif::{ProgressBar, ProgressStyle};
use sim_pcap::report::{html, ladder_text, table, write_json_many};
use sim_pcap::{Analysis, AnalyzeError, AnalyzeOptions, LadderScope, Severity, analyze_path};
use std::io::{IsTerminal, Write};
use std::path::Path;

/// Files smaller than this get no progress bar.
const PROGRESS_MIN_BYTES: u64 = 32 << 20;
/// Messages in a whole-capture ladder.
const LADDER_LIMIT: usize = 400;

pub(crate) fn run(args: &AnalyzeArgs, out: &mut dyn Write) -> Result<Exit, ExpectedError> {
    check_args(args)?;
    let opts = AnalyzeOptions {
        ladder: (args.ladder || args.ladder_html.is_some()).then(|| match &args.call {
            Some(id) => LadderScope::Call(id.clone()),
            None => LadderScope::All {
                limit: LADDER_LIMIT,
            },
        }),
        call: args.call.clone(),
    };
    let mut all = Vec::with_capacity(args.captures.len());
    for path in &args.captures {
        all.push(analyze_one(path, &opts, !args.no_progress)?);
    }
    let no_sip = all.iter().all(|a| a.summary.packets.sip_messages == 0);
    if let Some(id) = &args.call {
        let found = all.iter_mut().fold(false, |f, a| a.retain_call() | f);
        if !found {
            return Err(ExpectedError::NothingToDo(format!(
                "no call with Call-ID {id:?} in {}",
                names(args)
            )));
        }
    }
    match write_output(args, &mut all, out) {
        // The reader went away (`natlab analyze x | head`): nothing more to say.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(Exit::Ok),
        Err(e) => {
            return Err(ExpectedError::Invalid(format!(
                "cannot write the output: {e}"
            )));
        }
        Ok(()) => {}
    }
    if let (Some(file), Some(a)) = (&args.ladder_html, all.first()) {
        let ladder = a.ladder.clone().unwrap_or_default();
        std::fs::write(file, html::render(&ladder, &a.findings.head())).map_err(|source| {
            ExpectedError::Write {
                path: file.clone(),
                source,
            }
        })?;
    }
    if no_sip {
        return Err(ExpectedError::NothingToDo(format!(
            "no SIP messages in {}",
            names(args)
        )));
    }
    Ok(exit_for(args.fail_on, &all))
}

fn check_args(args: &AnalyzeArgs) -> Result<(), ExpectedError> {
    if args.ladder && args.format == Format::Json {
        return Err(ExpectedError::Invalid(
            "--ladder prints a text diagram and cannot be mixed with --format json; use --ladder-html FILE".into(),
        ));
    }
    if args.ladder_html.is_some() && args.captures.len() > 1 {
        return Err(ExpectedError::Invalid(
            "--ladder-html draws one capture; give a single capture".into(),
        ));
    }
    Ok(())
}

fn names(args: &AnalyzeArgs) -> String {
    let v: Vec<String> = args
        .captures
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    v.join(", ")
}

fn analyze_one(
    path: &Path,
    opts: &AnalyzeOptions,
    progress: bool,
) -> Result<Analysis, ExpectedError> {
    let bar = progress_bar(path, progress);
    let mut tick = |bytes: u64| {
        if let Some(b) = &bar {
            b.set_position(bytes);
        }
    };
    let result = analyze_path(path, opts, &mut tick);
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    result.map_err(|e| match e {
        AnalyzeError::Open(sim_pcap::capture::OpenError::Io(source)) => ExpectedError::Read {
            path: path.to_path_buf(),
            source,
        },
        other => ExpectedError::Unreadable(format!("{}: {other}", path.display())),
    })
}

/// A byte-progress bar on stderr, only for large files and only when stderr is a terminal.
fn progress_bar(path: &Path, wanted: bool) -> Option<ProgressBar> {
    if !wanted || !std::io::stderr().is_terminal() {
        return None;
    }
    let len = std::fs::metadata(path).ok()?.len();
    if len < PROGRESS_MIN_BYTES {
        return None;
    }
    let gz = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gz"));
    let bar = if gz {
        ProgressBar::new_spinner()
    } else {
        ProgressBar::new(len)
    };
    let template = if gz {
        "{spinner} {bytes} decompressed ({bytes_per_sec})"
    } else {
        "{bar:40} {bytes}/{total_bytes} ({bytes_per_sec}, {eta})"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    Some(bar)
}

fn write_output(
    args: &AnalyzeArgs,
    all: &mut [Analysis],
    out: &mut dyn Write,
) -> std::io::Result<()> {
    match args.format {
        Format::Json => write_json_many(all, out),
        Format::Table => {
            for (i, a) in all.iter().enumerate() {
                if i > 0 {
                    writeln!(out)?;
                }
                write!(out, "{}", table::render(a))?;
                if args.ladder {
                    let ladder = a.ladder.clone().unwrap_or_default();
                    write!(out, "\n{}", ladder_text::render(&ladder))?;
                }
            }
            Ok(())
        }
    }
}

fn exit_for(fail_on: Option<FailOn>, all: &[Analysis]) -> Exit {
    let threshold = match fail_on {
        None => return Exit::Ok,
        Some(FailOn::Error) => Severity::Error,
        Some(FailOn::Warning) => Severity::Warning,
    };
    let worst = all.iter().filter_map(Analysis::worst).max();
    if worst.is_some_and(|w| w >= threshold) {
        Exit::Failed
    } else {
        Exit::Ok
    }
}

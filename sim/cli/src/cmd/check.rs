//! `natlab check`: validate scenario files without running them, and `natlab schema`.

use crate::args::{CheckArgs, Format};
use crate::discover::scenario_files;
use crate::exit::{Exit, ExpectedError};
use sim_scenario::{Diagnostic, Diagnostics, YamlPath};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Version of the JSON output.
const SCHEMA_VERSION: u32 = 1;

/// One checked file.
struct Checked {
    path: PathBuf,
    diagnostics: Diagnostics,
    /// The file could not be read at all.
    unreadable: bool,
}

pub(crate) fn run(args: &CheckArgs, out: &mut dyn Write) -> Result<Exit, ExpectedError> {
    let files = scenario_files(&args.paths, true)?;
    if files.is_empty() {
        return Err(ExpectedError::NothingToDo(
            "no scenario files (*.yaml, *.yml) found".into(),
        ));
    }
    let results: Vec<Checked> = files.iter().map(|f| check(f)).collect();
    let text = match args.format {
        Format::Table => table(&results),
        Format::Json => json(&results),
    };
    out.write_all(text.as_bytes())
        .map_err(|source| ExpectedError::Write {
            path: PathBuf::from("<stdout>"),
            source,
        })?;
    Ok(if results.iter().any(|r| r.unreadable) {
        Exit::Unreadable
    } else if results.iter().any(|r| r.diagnostics.has_errors()) {
        Exit::Invalid
    } else {
        Exit::Ok
    })
}

/// Reads and validates one file.
fn check(path: &Path) -> Checked {
    let name = path.display().to_string();
    let problem = |message: String| {
        Diagnostics::new(
            name.clone(),
            "",
            vec![Diagnostic::error(YamlPath::root(), message)],
        )
    };
    match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => Checked {
                path: path.to_path_buf(),
                diagnostics: sim_scenario::check_str(&name, &text).diagnostics,
                unreadable: false,
            },
            Err(e) => Checked {
                path: path.to_path_buf(),
                diagnostics: problem(format!(
                    "the file is not UTF-8 text (invalid byte at offset {})",
                    e.utf8_error().valid_up_to()
                )),
                unreadable: false,
            },
        },
        Err(e) => Checked {
            path: path.to_path_buf(),
            diagnostics: problem(format!("cannot read the file: {e}")),
            unreadable: true,
        },
    }
}

/// `2 errors, 1 warning`, `ok`, `ok, 1 warning`.
fn counts(d: &Diagnostics) -> String {
    let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    match (d.error_count(), d.warning_count()) {
        (0, 0) => "ok".to_owned(),
        (0, w) => format!("ok, {}", plural(w, "warning")),
        (e, 0) => plural(e, "error"),
        (e, w) => format!("{}, {}", plural(e, "error"), plural(w, "warning")),
    }
}

/// Every file's diagnostics and a summary line per file, then a total.
fn table(results: &[Checked]) -> String {
    let mut text = String::new();
    for r in results {
        text.push_str(&r.diagnostics.render());
        text.push_str(&format!(
            "{}: {}\n",
            r.path.display(),
            counts(&r.diagnostics)
        ));
    }
    let invalid = results
        .iter()
        .filter(|r| r.diagnostics.has_errors())
        .count();
    let errors: usize = results.iter().map(|r| r.diagnostics.error_count()).sum();
    let warnings: usize = results.iter().map(|r| r.diagnostics.warning_count()).sum();
    let files = results.len();
    text.push_str(&format!(
        "checked {files} file{}: {} valid, {invalid} invalid ({errors} error{}, {warnings} warning{})\n",
        if files == 1 { "" } else { "s" },
        files - invalid,
        if errors == 1 { "" } else { "s" },
        if warnings == 1 { "" } else { "s" },
    ));
    text
}

/// `{"schema_version": 1, "files": [{"path", "ok", "diagnostics": [...]}]}`.
fn json(results: &[Checked]) -> String {
    let files: Vec<serde_json::Value> = results
        .iter()
        .map(|r| {
            serde_json::json!({
                "path": r.path.display().to_string(),
                "ok": !r.diagnostics.has_errors(),
                "diagnostics": r.diagnostics.to_json(),
            })
        })
        .collect();
    let doc = serde_json::json!({ "schema_version": SCHEMA_VERSION, "files": files });
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}

/// `natlab schema`: the JSON Schema of scenario files.
pub(crate) fn schema(out: &mut dyn Write) -> Result<Exit, ExpectedError> {
    let mut text = serde_json::to_string_pretty(&sim_scenario::json_schema()).unwrap_or_default();
    text.push('\n');
    out.write_all(text.as_bytes())
        .map_err(|source| ExpectedError::Write {
            path: PathBuf::from("<stdout>"),
            source,
        })?;
    Ok(Exit::Ok)
}

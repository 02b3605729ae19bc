//! Diagnostics: every problem found in a scenario file, each with a location, a YAML path, what
//! was found and what was expected.
//!
//! [`Diagnostics::render`] gives the human form (stable, no colours, snapshot-friendly):
//!
//! ```text
//! error: unknown field `udp_timout`, expected one of `name`, `preset`, ... (did you mean `udp_timeout`?)
//!   --> scenarios/invalid/unknown-field.yaml:7:5
//!    |
//!  7 |     udp_timout: 30s
//!    |     ^^^^^^^^^^
//!    = at: topology.nats[0].udp_timout
//! ```
//!
//! [`Diagnostics::to_json`] gives the machine form used by `natlab check --format json`.

use crate::path::YamlPath;
use serde::Serialize;
use std::fmt::{self, Write as _};

/// How bad a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The file is invalid: it cannot be run.
    Error,
    /// The file is valid but probably not what was meant.
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Error => "error",
            Self::Warning => "warning",
        })
    }
}

/// A range of source text. Lines and columns count from 1; columns count characters; the end is
/// exclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    /// First line.
    pub line: usize,
    /// First column.
    pub column: usize,
    /// Line of the end.
    pub end_line: usize,
    /// Column just after the last character.
    pub end_column: usize,
}

impl Location {
    /// A location of one character.
    pub const fn point(line: usize, column: usize) -> Self {
        Self {
            line,
            column,
            end_line: line,
            end_column: column + 1,
        }
    }
}

/// One problem in a scenario file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// What was found and what was expected, as a lowercase fragment.
    pub message: String,
    /// Where in the YAML document.
    pub path: YamlPath,
    /// Where in the source text, when known.
    pub location: Option<Location>,
    /// How to fix it, when there is something useful to say.
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error at `path`.
    pub fn error(path: YamlPath, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            message: message.into(),
            path,
            location: None,
            help: None,
        }
    }

    /// A warning at `path`.
    pub fn warning(path: YamlPath, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(path, message)
        }
    }

    /// With a help line.
    #[must_use]
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// With a source location.
    #[must_use]
    pub const fn at(mut self, location: Option<Location>) -> Self {
        self.location = location;
        self
    }

    /// Whether this is an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// The diagnostics of one source file, sorted by position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostics {
    source_name: String,
    source: String,
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// Diagnostics of the file `source_name` whose text is `source`.
    pub fn new(
        source_name: impl Into<String>,
        source: impl Into<String>,
        items: Vec<Diagnostic>,
    ) -> Self {
        let mut items = items;
        items.sort_by(|a, b| {
            let key = |d: &Diagnostic| {
                d.location
                    .map_or((usize::MAX, usize::MAX), |l| (l.line, l.column))
            };
            key(a).cmp(&key(b))
        });
        items.dedup();
        Self {
            source_name: source_name.into(),
            source: source.into(),
            items,
        }
    }

    /// The file name diagnostics refer to.
    pub fn source_name(&self) -> &str {
        &self.source_name
    }

    /// Every diagnostic, in source order.
    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.items.iter()
    }

    /// Whether there is nothing to report.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// How many diagnostics there are.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Number of errors.
    pub fn error_count(&self) -> usize {
        self.items.iter().filter(|d| d.is_error()).count()
    }

    /// Number of warnings.
    pub fn warning_count(&self) -> usize {
        self.items.len() - self.error_count()
    }

    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.error_count() > 0
    }

    /// The diagnostics, by value.
    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.items
    }

    /// The human form of every diagnostic, each followed by a blank line.
    pub fn render(&self) -> String {
        let lines = Lines::new(&self.source);
        let mut out = String::new();
        for d in &self.items {
            self.render_one(d, &lines, &mut out);
            out.push('\n');
        }
        out
    }

    /// The machine form: an array of `{severity, message, line, column, path, help}`.
    pub fn to_json(&self) -> serde_json::Value {
        let items = self.items.iter().map(|d| {
            serde_json::json!({
                "severity": d.severity,
                "message": d.message,
                "line": d.location.map(|l| l.line),
                "column": d.location.map(|l| l.column),
                "path": d.path.as_str(),
                "help": d.help,
            })
        });
        serde_json::Value::Array(items.collect())
    }

    fn render_one(&self, d: &Diagnostic, lines: &Lines<'_>, out: &mut String) {
        let _ = writeln!(out, "{}: {}", d.severity, d.message);
        let Some(loc) = d.location else {
            let _ = writeln!(out, "  --> {}", self.source_name);
            if !d.path.is_root() {
                let _ = writeln!(out, "  = at: {}", d.path);
            }
            if let Some(help) = &d.help {
                let _ = writeln!(out, "  = help: {help}");
            }
            return;
        };
        let number = loc.line.to_string();
        let pad = " ".repeat(number.len() + 1);
        let text = lines.line(loc.line);
        let _ = writeln!(
            out,
            "{pad}--> {}:{}:{}",
            self.source_name, loc.line, loc.column
        );
        let _ = writeln!(out, "{pad} |");
        push_line(out, &format!(" {number} | {text}"));
        push_line(out, &format!("{pad} | {}", caret_line(text, loc)));
        if !d.path.is_root() {
            let _ = writeln!(out, "{pad} = at: {}", d.path);
        }
        if let Some(help) = &d.help {
            let _ = writeln!(out, "{pad} = help: {help}");
        }
    }
}

/// The lines of a source text, found once: a diagnostic's line is then looked up in constant
/// time (scanning the text per diagnostic made rendering quadratic in large files).
#[derive(Debug)]
struct Lines<'a> {
    text: &'a str,
    /// Byte offset where each line starts.
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|&(_, b)| b == b'\n')
                .map(|(i, _)| i + 1)
                .filter(|&start| start < text.len()),
        );
        Self { text, starts }
    }

    /// Line `number` (counting from 1) without its line ending, as [`str::lines`] gives it;
    /// empty past the end.
    fn line(&self, number: usize) -> &'a str {
        let Some(&start) = number.checked_sub(1).and_then(|i| self.starts.get(i)) else {
            return "";
        };
        let rest = self.text.get(start..).unwrap_or("");
        match rest.split_once('\n') {
            Some((line, _)) => line.strip_suffix('\r').unwrap_or(line),
            None => rest,
        }
    }
}

/// Appends `line` without trailing spaces (an empty source line renders as ` 7 |`).
fn push_line(out: &mut String, line: &str) {
    out.push_str(line.trim_end_matches([' ', '\r']));
    out.push('\n');
}

/// Spaces (or tabs, where the source has them) up to the column, then `^` under the range.
fn caret_line(text: &str, loc: Location) -> String {
    let chars: Vec<char> = text.chars().collect();
    let start = loc.column.saturating_sub(1).min(chars.len());
    let line_end = chars.len() - chars.iter().rev().take_while(|c| c.is_whitespace()).count();
    let end = if loc.end_line == loc.line {
        loc.end_column.saturating_sub(1).min(chars.len())
    } else {
        line_end
    };
    let width = end.saturating_sub(start).max(1);
    let mut s: String = chars
        .iter()
        .take(start)
        .map(|&c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    s.push_str(&"^".repeat(width));
    s
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.render().trim_end())
    }
}

impl std::error::Error for Diagnostics {}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = "name: x\ntopology:\n  nats:\n    - udp_timout: 30s\n";

    fn one(d: Diagnostic) -> String {
        Diagnostics::new("f.yaml", SOURCE, vec![d]).render()
    }

    #[test]
    fn render_located_error_shows_line_caret_path_and_help() {
        let d = Diagnostic::error(
            YamlPath::root().key("topology"),
            "unknown field `udp_timout`",
        )
        .at(Some(Location {
            line: 4,
            column: 7,
            end_line: 4,
            end_column: 17,
        }))
        .with_help("did you mean `udp_timeout`?");
        assert_eq!(
            one(d),
            "error: unknown field `udp_timout`\n  --> f.yaml:4:7\n   |\n 4 |     - udp_timout: 30s\n   |       ^^^^^^^^^^\n   = at: topology\n   = help: did you mean `udp_timeout`?\n\n"
        );
    }

    #[test]
    fn render_multiline_range_underlines_rest_of_first_line() {
        let d = Diagnostic::warning(YamlPath::root(), "w").at(Some(Location {
            line: 2,
            column: 1,
            end_line: 5,
            end_column: 1,
        }));
        assert_eq!(
            one(d),
            "warning: w\n  --> f.yaml:2:1\n   |\n 2 | topology:\n   | ^^^^^^^^^\n\n"
        );
    }

    #[test]
    fn render_without_location_names_file_and_path() {
        let d = Diagnostic::error(YamlPath::root().key("seed"), "missing");
        assert_eq!(one(d), "error: missing\n  --> f.yaml\n  = at: seed\n\n");
    }

    #[test]
    fn lines_lookup_matches_str_lines_on_every_line() {
        for text in [
            "",
            "\n",
            "a",
            "a\n",
            "a\r\nb\r\n\r\nc",
            "\n\nx\n",
            "é\n\tü\r\n",
            "a\r",
        ] {
            let lines = Lines::new(text);
            let want: Vec<&str> = text.lines().collect();
            let got: Vec<&str> = (1..=want.len()).map(|n| lines.line(n)).collect();
            assert_eq!(got, want, "{text:?}");
            assert_eq!(lines.starts.len(), want.len().max(1), "{text:?}");
            assert_eq!(lines.line(want.len() + 1), "", "{text:?}");
            assert_eq!(lines.line(0), "", "{text:?}");
        }
    }

    #[test]
    fn diagnostics_sort_by_position_and_count() {
        let at = |line| Some(Location::point(line, 1));
        let ds = Diagnostics::new(
            "f",
            SOURCE,
            vec![
                Diagnostic::error(YamlPath::root(), "b").at(at(3)),
                Diagnostic::warning(YamlPath::root(), "a").at(at(1)),
                Diagnostic::error(YamlPath::root(), "c"),
            ],
        );
        let messages: Vec<_> = ds.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(messages, ["a", "b", "c"]);
        assert_eq!((ds.error_count(), ds.warning_count()), (2, 1));
        assert_eq!(ds.to_json()[2]["line"], serde_json::Value::Null);
    }
}

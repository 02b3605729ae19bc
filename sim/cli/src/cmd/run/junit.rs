//! The JUnit XML report: one testcase per scenario and seed, as CI systems (GitLab, Jenkins,
//! GitHub test reporters) read it. A failure says which expectation failed, what happened
//! instead, the seed and the one command that reproduces it.
//!
//! The document stays inside what both common JUnit schemas accept (Jenkins' junit-4 and the
//! xunit plugin's junit-10): the scenario file goes in `<system-out>` rather than a `file`
//! attribute, `<skipped>` carries its reason as text, and `<testsuites>` has no `skipped` count.

use super::{Job, Outcome, failure_text, reproduce};
use std::fmt::Write as _;
use std::time::Duration;

pub(super) fn render(jobs: &[Job], outcomes: &[Outcome], wall: Duration) -> String {
    let failures = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Ran { .. }) && !o.passed())
        .count();
    let errors = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Error { .. }))
        .count();
    let skipped = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Skipped))
        .count();
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let counts = format!(
        "tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\"",
        jobs.len()
    );
    let time = format!("time=\"{:.3}\"", wall.as_secs_f64());
    let _ = writeln!(x, "<testsuites name=\"natlab\" {counts} {time}>");
    let _ = writeln!(
        x,
        "  <testsuite name=\"natlab run\" {counts} skipped=\"{skipped}\" {time}>"
    );
    for (job, outcome) in jobs.iter().zip(outcomes) {
        let wall = match outcome {
            Outcome::Ran { wall, .. } | Outcome::Error { wall, .. } => *wall,
            Outcome::Skipped => Duration::ZERO,
        };
        let _ = write!(
            x,
            "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\"",
            escape(&classname(job)),
            escape(&format!("{} [seed {}]", job.scenario.name, job.seed)),
            wall.as_secs_f64()
        );
        let body = failure_text(job, outcome);
        match outcome {
            _ if outcome.passed() => x.push_str(">\n"),
            Outcome::Skipped => {
                let _ = writeln!(
                    x,
                    ">\n      <skipped>not run: --fail-fast stopped the suite</skipped>"
                );
            }
            Outcome::Error { message, .. } => {
                let _ = writeln!(
                    x,
                    ">\n      <error message=\"{}\" type=\"run\">{}</error>",
                    escape(message),
                    escape(&body)
                );
            }
            Outcome::Ran { .. } => {
                let first = body.lines().next().unwrap_or("failed").trim();
                let _ = writeln!(
                    x,
                    ">\n      <failure message=\"{}; seed {}; reproduce: {}\" type=\"expectation\">{}</failure>",
                    escape(first),
                    job.seed,
                    escape(&reproduce(job)),
                    escape(&body)
                );
            }
        }
        let _ = writeln!(
            x,
            "      <system-out>scenario: {}\nreport: {}</system-out>\n    </testcase>",
            escape(&job.file.display().to_string()),
            escape(&job.dir.join(super::REPORT_FILE).display().to_string())
        );
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
}

/// The scenario's directory as a dotted class name (`scenarios.network`), as JUnit readers group.
fn classname(job: &Job) -> String {
    let dir = job
        .file
        .parent()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let dotted: String = dir
        .trim_start_matches("./")
        .replace(['/', '\\'], ".")
        .trim_matches('.')
        .to_owned();
    if dotted.is_empty() {
        "natlab".into()
    } else {
        dotted
    }
}

/// XML text and attribute escaping (control characters other than tab and newline dropped).
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' | '\t' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_makes_text_safe_for_attributes_and_bodies() {
        assert_eq!(
            escape("a<b & \"c\" 'd'>\u{1}\n"),
            "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;\n"
        );
    }
}

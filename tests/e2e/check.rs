//! `natlab check` and `natlab schema`: the diagnostics corpus, the bundled scenarios and
//! examples, exit codes, and the committed JSON Schema.

// Helpers outside `#[test]` functions panic on broken fixtures, like the tests themselves.
#![allow(clippy::expect_used)]

use crate::support::{natlab, root};
use std::path::{Path, PathBuf};

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("utf-8 output")
}

/// `path` relative to the repository root, with `/` separators.
fn relative(path: &Path) -> String {
    let root = root().canonicalize().expect("root");
    let path = path.canonicalize().expect("path");
    path.strip_prefix(&root)
        .expect("inside the repository")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// Every diagnostic block (`error: ...` / `warning: ...`) names `file:line:column`.
fn assert_located(output: &str, file: &str) {
    let mut blocks = 0;
    let mut lines = output.lines();
    while let Some(line) = lines.next() {
        if line.starts_with("error: ") || line.starts_with("warning: ") {
            blocks += 1;
            let arrow = lines.next().unwrap_or("");
            let at = arrow.trim_start().strip_prefix("--> ").unwrap_or("");
            let rest = at.strip_prefix(file).and_then(|r| r.strip_prefix(':'));
            let parts: Vec<&str> = rest.unwrap_or("").split(':').collect();
            assert!(
                parts.len() == 2
                    && parts
                        .iter()
                        .all(|p| p.parse::<usize>().is_ok_and(|n| n > 0)),
                "`{line}` is not followed by `--> {file}:LINE:COLUMN` but by `{arrow}`"
            );
        }
    }
    assert!(blocks > 0, "no diagnostic in:\n{output}");
}

#[test]
fn check_invalid_corpus_reports_located_errors() {
    let mut files = 0;
    insta::glob!("../../scenarios/invalid", "*.yaml", |path| {
        files += 1;
        let rel = relative(path);
        let text = std::fs::read_to_string(path).expect("read");
        assert!(
            text.starts_with("# "),
            "{rel} must start with a comment saying what is wrong"
        );
        let out = natlab(&["check", &rel]);
        let output = stdout(&out);
        assert_eq!(out.status.code(), Some(2), "{rel}:\n{output}");
        assert_located(&output, &rel);
        insta::assert_snapshot!(output);
    });
    assert!(files >= 20, "only {files} files in scenarios/invalid");
}

#[test]
fn check_several_problems_reported_in_one_pass() {
    let out = natlab(&["check", "scenarios/invalid/many-problems.yaml"]);
    let output = stdout(&out);
    let errors = output.lines().filter(|l| l.starts_with("error: ")).count();
    assert!(errors >= 10, "{output}");
}

#[test]
fn check_json_output() {
    let out = natlab(&[
        "check",
        "scenarios/invalid/many-problems.yaml",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let output = stdout(&out);
    let doc: serde_json::Value = serde_json::from_str(&output).expect("json");
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["files"][0]["ok"], false);
    insta::assert_snapshot!(output);
}

#[test]
fn check_bundled_scenarios_pass_and_skip_the_corpus() {
    let out = natlab(&["check", "scenarios/"]);
    let output = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{output}");
    assert!(!output.contains("invalid/"), "{output}");
    assert!(output.contains("scenarios/network/"), "{output}");
}

#[test]
fn check_invalid_directory_named_explicitly_fails() {
    let out = natlab(&["check", "scenarios/invalid"]);
    let output = stdout(&out);
    assert_eq!(out.status.code(), Some(2));
    let corpus = std::fs::read_dir(root().join("scenarios/invalid"))
        .expect("corpus")
        .count();
    assert!(
        output.contains(&format!(
            "checked {corpus} files: 0 valid, {corpus} invalid"
        )),
        "{output}"
    );
}

#[test]
fn check_docs_examples_pass() {
    let out = natlab(&["check", "docs/examples"]);
    let output = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{output}");
    assert!(
        !output.lines().any(|l| l.starts_with("warning: ")),
        "{output}"
    );
}

#[test]
fn check_missing_path_is_unreadable() {
    let out = natlab(&["check", "scenarios/no-such-file.yaml"]);
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn check_directory_without_scenarios_has_nothing_to_do() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("check-empty-dir");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let out = natlab(&["check", &dir.display().to_string()]);
    assert_eq!(out.status.code(), Some(4));
}

#[test]
fn schema_matches_the_committed_file() {
    let out = natlab(&["schema"]);
    assert_eq!(out.status.code(), Some(0));
    let committed = std::fs::read_to_string(root().join("docs/scenario.schema.json"))
        .expect("docs/scenario.schema.json");
    assert!(
        stdout(&out) == committed,
        "docs/scenario.schema.json is stale: regenerate it with `cargo run -p sim-cli -- schema > docs/scenario.schema.json`"
    );
}

//! The natlab scenario language: YAML files describing a simulated network, a timeline of
//! actions and faults, and expectations. The manual is `docs/scenarios.md`.
//!
//! # Layers
//!
//! 1. **Loading** (`load`, the only module that knows YAML): granit-parser events become a
//!    spanned tree (aliases expanded, `<<` merges applied, duplicate keys and extra documents
//!    reported), read into the raw [`model::ScenarioFile`] by a serde deserializer that
//!    records every problem with its YAML path and location instead of stopping at the first:
//!    what failed is hidden and the document is read again until nothing new turns up.
//! 2. **Validation**: ranges, one namespace for nodes and NATs, NAT chains, addresses,
//!    each kind's documented limits, timeline and expectation references, catalog codes. The
//!    result is a typed [`Scenario`]: names resolved to [`NodeId`]/[`NatId`], defaults
//!    applied, addresses assigned.
//! 3. **Diagnostics**: every problem is a [`Diagnostic`] (severity, message, [`YamlPath`],
//!    [`Location`], help). [`Diagnostics::render`] gives the human form, [`Diagnostics::to_json`]
//!    the machine form.
//!
//! # Contract
//!
//! - [`check_str`] never fails: it returns every diagnostic, and the scenario when there is
//!   no error (warnings allowed). [`from_str`] and [`load_and_validate`] return the scenario
//!   or the diagnostics.
//! - A [`Scenario`] exists only for a file without errors. It is deterministic: the same text
//!   gives the same scenario (no hash-map order leaks into it).
//! - Bad input never panics; YAML alias expansion is bounded.
//!
//! ```
//! let text = "\
//! name: demo
//! seed: 1
//! duration: 5s
//! topology:
//!   nats:
//!     - {name: home, preset: symmetric, public: [198.51.100.1], lan: 10.0.0.0/24}
//!   endpoints:
//!     - {name: alice, kind: udp-probe, behind: home}
//!     - {name: s1, kind: udp-probe, echo: true}
//! timeline:
//!   - {at: 1s, send: {from: alice, to: s1}}
//! ";
//! let scenario = sim_scenario::from_str("demo.yaml", text).expect("valid");
//! let alice = scenario.node_by_name("alice").expect("declared");
//! assert_eq!(alice.address.to_string(), "10.0.0.2");
//! assert_eq!(scenario.nat_of(alice.id).map(|n| n.name.as_str()), Some("home"));
//!
//! let bad = text.replace("to: s1", "to: s2");
//! let diagnostics = sim_scenario::from_str("demo.yaml", &bad).unwrap_err();
//! let first = diagnostics.iter().next().expect("one problem");
//! assert_eq!(first.message, "unknown node `s2`");
//! assert_eq!(first.path.as_str(), "timeline[0].send.to");
//! assert_eq!(first.location.map(|l| (l.line, l.column)), Some((11, 38)));
//! ```

pub mod diag;
pub mod fault;
mod load;
pub mod model;
pub mod path;
mod scenario;
mod source;
mod validate;

pub use diag::{Diagnostic, Diagnostics, Location, Severity};
pub use path::YamlPath;
pub use scenario::{
    Callee, EventCode, Forward, Link, Loss, Nat, NatId, Network, NetworkId, Node, NodeId,
    ResolvedAction, ResolvedExpectation, ResolvedTarget, Role, Scenario, StatusCode, Subject,
    Timed,
};
pub use validate::endpoints::host_of as proxy_host;

use model::ScenarioFile;
use std::path::Path;

/// The outcome of checking one file: the scenario when it is valid, and every diagnostic
/// (errors, or warnings only).
#[derive(Clone, Debug)]
pub struct Checked {
    /// The validated scenario; `None` when there is an error.
    pub scenario: Option<Scenario>,
    /// Everything found, in source order.
    pub diagnostics: Diagnostics,
}

/// Loads and validates scenario text; `source_name` is the file name diagnostics show.
pub fn check_str(source_name: &str, text: &str) -> Checked {
    let loaded = load::load(text);
    let complete = !loaded.diagnostics.iter().any(Diagnostic::is_error);
    let mut items = loaded.diagnostics;
    let scenario = loaded.file.and_then(|file| {
        let (scenario, found) = validate::validate(&file, &loaded.source, complete);
        items.extend(found);
        scenario
    });
    let diagnostics = Diagnostics::new(source_name, text, items);
    let scenario = scenario.filter(|_| !diagnostics.has_errors());
    Checked {
        scenario,
        diagnostics,
    }
}

/// Loads and validates scenario text.
///
/// # Errors
///
/// Every problem found, when there is at least one error.
pub fn from_str(source_name: &str, text: &str) -> Result<Scenario, Diagnostics> {
    let checked = check_str(source_name, text);
    checked.scenario.ok_or(checked.diagnostics)
}

/// Reads, loads and validates the scenario file at `path`.
///
/// # Errors
///
/// Every problem found; an unreadable file is one diagnostic without a location.
pub fn load_and_validate(path: &Path) -> Result<Scenario, Diagnostics> {
    let name = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => from_str(&name, &text),
        Err(e) => Err(Diagnostics::new(
            name,
            "",
            vec![Diagnostic::error(
                YamlPath::root(),
                format!("cannot read the file: {e}"),
            )],
        )),
    }
}

/// Decodes a scenario file without validating it: every problem of the YAML and of the types is
/// reported, but ranges and cross-references are not checked.
///
/// # Errors
///
/// All problems found, when there is at least one error.
pub fn decode_str(source_name: &str, text: &str) -> Result<ScenarioFile, Diagnostics> {
    let loaded = load::load(text);
    let diagnostics = Diagnostics::new(source_name, text, loaded.diagnostics);
    match loaded.file {
        Some(file) if !diagnostics.has_errors() => Ok(file),
        _ => Err(diagnostics),
    }
}

/// The JSON Schema of scenario files (draft 2020-12), for editors.
pub fn json_schema() -> serde_json::Value {
    let schema = schemars::schema_for!(ScenarioFile).to_value();
    let serde_json::Value::Object(map) = schema else {
        return schema;
    };
    // Identification first, for the human reader of the file.
    let mut ordered = serde_json::Map::new();
    for key in ["$schema", "title", "description"] {
        if let Some(v) = map.get(key) {
            ordered.insert(key.to_owned(), v.clone());
        }
    }
    for (k, v) in map {
        ordered.entry(k).or_insert(v);
    }
    serde_json::Value::Object(ordered)
}

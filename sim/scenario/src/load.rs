//! Reading a scenario file: the only module that knows YAML.
//!
//! 1. [`tree`] parses the text with granit-parser into a spanned tree (aliases expanded, `<<`
//!    merges applied, duplicate keys and extra documents reported). A syntax error stops here,
//!    with its line and column.
//! 2. [`de`] reads the tree into [`ScenarioFile`] through serde, recording every problem with its
//!    path and location, hiding what failed and reading again until nothing new turns up. Items
//!    that failed are missing from the result; the names they declared are remembered so that
//!    validation does not report references to them as dangling.

mod de;
mod error;
mod scalar;
mod tree;

use crate::diag::Diagnostic;
use crate::model::ScenarioFile;
use crate::path::YamlPath;
use crate::source::{SourceMap, Spans};
use de::{Ctx, NodeDe};
pub(crate) use error::did_you_mean;
use serde::Deserialize;
use std::cell::RefCell;
use tree::{Kind, Node};

/// Upper bound on reading runs; each run after the first hides at least one more node, so real
/// files stop long before.
const MAX_RUNS: usize = 10_000;

/// Sequences whose items declare names that others refer to.
const NAMED_ITEMS: [&str; 3] = ["topology.nats", "topology.servers", "topology.endpoints"];

/// A scenario file as read, before validation.
#[derive(Debug)]
pub(crate) struct Loaded {
    /// The decoded file, without the items that failed; `None` when the file as a whole could not
    /// be decoded (syntax error, or a required top-level field missing or invalid).
    pub(crate) file: Option<ScenarioFile>,
    /// Every problem found.
    pub(crate) diagnostics: Vec<Diagnostic>,
    /// Positions and what was dropped, for validation.
    pub(crate) source: SourceMap,
    /// How many times the tree was read into the model (a run ends at the first problem that
    /// needs the tree read again without the part that failed).
    #[allow(
        dead_code,
        reason = "read by tests, which show a return to one run per problem"
    )]
    pub(crate) runs: usize,
}

/// Reads `text`.
pub(crate) fn load(text: &str) -> Loaded {
    let parsed = tree::parse(text);
    let mut diagnostics = parsed.diagnostics;
    let Some(root) = parsed.root else {
        if diagnostics.is_empty() {
            diagnostics.push(
                Diagnostic::error(YamlPath::root(), "empty scenario file")
                    .at(Some(crate::diag::Location::point(1, 1)))
                    .with_help(
                        "a scenario needs at least `name`, `seed`, `duration` and `topology`",
                    ),
            );
        }
        return Loaded {
            file: None,
            diagnostics,
            source: SourceMap::default(),
            runs: 0,
        };
    };
    let mut source = SourceMap::default();
    index(&root, &YamlPath::root(), None, &mut source);
    let (file, ctx) = decode(&root);
    let runs = ctx.runs;
    diagnostics.extend(ctx.diagnostics);
    source.set_dropped(ctx.masks);
    source.broken_names = broken_names(&root, &source);
    Loaded {
        file,
        diagnostics,
        source,
        runs,
    }
}

/// Reads the tree into the model until a run succeeds or finds nothing new.
fn decode(root: &Node) -> (Option<ScenarioFile>, Ctx) {
    let ctx = RefCell::new(Ctx::default());
    let mut file = None;
    for _ in 0..MAX_RUNS {
        ctx.borrow_mut().begin_run();
        match ScenarioFile::deserialize(NodeDe::root(root, &ctx)) {
            Ok(f) => {
                file = Some(f);
                break;
            }
            Err(_) if ctx.borrow().progressed() => {}
            Err(_) => break,
        }
    }
    (file, ctx.into_inner())
}

/// Fills the path → span table.
fn index(node: &Node, path: &YamlPath, key: Option<&Node>, source: &mut SourceMap) {
    source.spans.insert(
        path.clone(),
        Spans {
            value: node.span.location(),
            key: key.map(|k| k.span.location()),
        },
    );
    match &node.kind {
        Kind::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                index(item, &path.index(i), None, source);
            }
        }
        Kind::Map(entries) => {
            for (k, v) in entries {
                index(v, &path.key(k.scalar().unwrap_or("~")), Some(k), source);
            }
        }
        Kind::Null | Kind::Scalar(..) => {}
    }
}

/// The names (and device ids) of topology items that were dropped.
fn broken_names(root: &Node, source: &SourceMap) -> std::collections::BTreeSet<String> {
    let mut names = std::collections::BTreeSet::new();
    for seq in NAMED_ITEMS {
        let mut node = Some(root);
        for key in seq.split('.') {
            node = node.and_then(|n| n.get(key));
        }
        let Some(Kind::Seq(items)) = node.map(|n| &n.kind) else {
            continue;
        };
        let seq_path = seq.split('.').fold(YamlPath::root(), |p, k| p.key(k));
        for (i, item) in items.iter().enumerate() {
            let path = seq_path.index(i);
            if !source.is_dropped(&path) {
                continue;
            }
            // AAE devices are also named by their device id (`make_tunnel.to`).
            for key in ["name", "device_id"] {
                if let Some(name) = item.get(key).and_then(Node::scalar) {
                    names.insert(name.to_owned());
                }
            }
        }
    }
    names
}

#[cfg(test)]
mod tests;

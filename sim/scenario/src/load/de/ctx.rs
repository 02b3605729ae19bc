//! What one load shares between runs: masked nodes and recorded diagnostics.

use crate::diag::Diagnostic;
use crate::load::error::DeError;
use crate::path::YamlPath;
use std::cell::RefCell;
use std::collections::BTreeSet;

/// State shared by every node deserializer of one load.
#[derive(Debug, Default)]
pub(crate) struct Ctx {
    /// Entries and elements hidden from the next runs.
    pub(crate) masks: BTreeSet<YamlPath>,
    /// Everything recorded so far, over all runs.
    pub(crate) diagnostics: Vec<Diagnostic>,
    seen: BTreeSet<(YamlPath, String)>,
    /// Paths masked, or targets of diagnostics first recorded, in this run.
    run_new: Vec<YamlPath>,
    progress: bool,
    /// Reading runs started.
    pub(crate) runs: usize,
}

impl Ctx {
    /// Starts a run.
    pub(crate) fn begin_run(&mut self) {
        self.run_new.clear();
        self.progress = false;
        self.runs += 1;
    }

    /// Whether the run recorded or masked anything new.
    pub(crate) const fn progressed(&self) -> bool {
        self.progress
    }

    pub(super) fn masked(&self, path: &YamlPath) -> bool {
        self.masks.contains(path)
    }

    pub(super) fn mask(&mut self, path: YamlPath) {
        if self.masks.insert(path.clone()) {
            self.run_new.push(path);
            self.progress = true;
        }
    }

    /// Records `d` (once per path and message) and masks `target`.
    pub(crate) fn record(&mut self, d: Diagnostic, target: YamlPath) {
        if self.seen.insert((d.path.clone(), d.message.clone())) {
            self.diagnostics.push(d);
            self.run_new.push(target.clone());
            self.progress = true;
        }
        self.mask(target);
    }

    /// After `child` failed: mask `target` (the child, or the map holding it when that map
    /// cannot do without it), unless this run recorded or masked something strictly inside the
    /// child (then the next run reads it again without that part).
    pub(super) fn catch(&mut self, child: &YamlPath, target: &YamlPath, mark: usize) {
        let inside = self
            .run_new
            .get(mark..)
            .unwrap_or_default()
            .iter()
            .any(|t| t.is_below(child));
        if !inside {
            self.mask(target.clone());
        }
    }

    pub(super) const fn mark(&self) -> usize {
        self.run_new.len()
    }
}

/// Runs a child's deserialization; when it fails, lets the context decide what to mask.
pub(super) fn guarded<T>(
    ctx: &RefCell<Ctx>,
    path: &YamlPath,
    target: &YamlPath,
    f: impl FnOnce() -> Result<T, DeError>,
) -> Result<T, DeError> {
    let mark = ctx.borrow().mark();
    let r = f();
    if r.is_err() {
        ctx.borrow_mut().catch(path, target, mark);
    }
    r
}

//! The natlab scenario language.
//!
//! A scenario file is YAML. [`model`] holds the types it is read into; loading, validation and
//! diagnostics build on them.

pub mod diag;
mod load;
pub mod model;
pub mod path;
mod source;

pub use diag::{Diagnostic, Diagnostics, Location, Severity};
pub use path::YamlPath;

use model::ScenarioFile;

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

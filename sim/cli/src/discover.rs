//! Finding scenario files under the paths a command was given.

use crate::exit::ExpectedError;
use std::path::{Path, PathBuf};

/// Every `*.yaml` / `*.yml` file under `paths`, in sorted order per argument. Directories are
/// searched recursively; below a directory argument, directories named `invalid` are skipped
/// when `skip_invalid` (they hold the diagnostics corpus), but an `invalid` directory given as
/// an argument itself is searched.
///
/// # Errors
/// When a path does not exist or a directory cannot be read.
pub(crate) fn scenario_files(
    paths: &[PathBuf],
    skip_invalid: bool,
) -> Result<Vec<PathBuf>, ExpectedError> {
    let mut out = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|source| ExpectedError::Read {
            path: path.clone(),
            source,
        })?;
        if meta.is_dir() {
            walk(path, skip_invalid, &mut out)?;
        } else {
            out.push(path.clone());
        }
    }
    Ok(out)
}

fn is_yaml(p: &Path) -> bool {
    p.extension().is_some_and(|e| e == "yaml" || e == "yml")
}

fn walk(dir: &Path, skip_invalid: bool, out: &mut Vec<PathBuf>) -> Result<(), ExpectedError> {
    let read = |source| ExpectedError::Read {
        path: dir.to_path_buf(),
        source,
    };
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(read)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(read)?;
    entries.sort();
    for entry in entries {
        if entry.is_dir() {
            if skip_invalid && entry.file_name().is_some_and(|n| n == "invalid") {
                continue;
            }
            walk(&entry, skip_invalid, out)?;
        } else if is_yaml(&entry) {
            out.push(entry);
        }
    }
    Ok(())
}

//! Finding scenario files under the paths a command was given: files, directories and glob
//! patterns (`scenarios/sip/*.yaml`, `scenarios/**/nat-*.yaml`), expanded here so that they
//! work the same from a shell, a CI file or a quoted argument.

use crate::exit::ExpectedError;
use globset::{GlobBuilder, GlobMatcher};
use std::path::{Component, Path, PathBuf};

/// Every `*.yaml` / `*.yml` file under `paths`, in sorted order per argument, each file once
/// (the first argument that names it keeps it). Directories are searched recursively; below a
/// directory argument, directories named `invalid` are skipped when `skip_invalid` (they hold
/// the diagnostics corpus), but an `invalid` directory given as an argument itself is searched.
///
/// An argument with a glob metacharacter (`*`, `?`, `[`, `{`) is a pattern: `*` matches within
/// one path component, `**` any number of directories. It selects the YAML files that match,
/// searched from its literal leading directories; `invalid` directories are skipped unless the
/// pattern names one.
///
/// # Errors
/// When a path does not exist, a directory cannot be read, a pattern is malformed, or a
/// pattern matches no scenario file.
pub(crate) fn scenario_files(
    paths: &[PathBuf],
    skip_invalid: bool,
) -> Result<Vec<PathBuf>, ExpectedError> {
    let mut out = Vec::new();
    for path in paths {
        if let Some(pattern) = path.to_str().filter(|p| is_pattern(p)) {
            let found = expand(pattern, skip_invalid)?;
            if found.is_empty() {
                return Err(ExpectedError::NothingToDo(format!(
                    "the pattern `{pattern}` matches no scenario file (*.yaml, *.yml)"
                )));
            }
            out.extend(found);
            continue;
        }
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
    let mut seen = std::collections::BTreeSet::new();
    out.retain(|p| seen.insert(p.clone()));
    Ok(out)
}

fn is_pattern(s: &str) -> bool {
    s.contains(['*', '?', '[', '{'])
}

fn is_yaml(p: &Path) -> bool {
    p.extension().is_some_and(|e| e == "yaml" || e == "yml")
}

/// The YAML files matching `pattern`, sorted.
fn expand(pattern: &str, skip_invalid: bool) -> Result<Vec<PathBuf>, ExpectedError> {
    let matcher = glob(pattern)?;
    // Search from the literal directories before the first component with a metacharacter.
    let mut base = PathBuf::new();
    for component in Path::new(pattern).components() {
        match component {
            Component::Normal(c) if c.to_str().is_some_and(is_pattern) => break,
            c => base.push(c),
        }
    }
    let base = if base.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        base
    };
    if !base.is_dir() {
        return Ok(Vec::new());
    }
    let skip_invalid = skip_invalid && !pattern.contains("invalid");
    let mut files = Vec::new();
    walk(&base, skip_invalid, &mut files)?;
    // `./x` and `x` name the same file: match what the user wrote against the same spelling.
    let relative = !pattern.starts_with("./");
    Ok(files
        .into_iter()
        .filter(|f| {
            let shown = if relative {
                f.strip_prefix(".").unwrap_or(f)
            } else {
                f.as_path()
            };
            matcher.is_match(shown)
        })
        .collect())
}

fn glob(pattern: &str) -> Result<GlobMatcher, ExpectedError> {
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| ExpectedError::Invalid(format!("bad pattern `{pattern}`: {e}")))
}

/// The entries of `dir`, sorted (so every walk visits files in the same order).
pub(crate) fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>, ExpectedError> {
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
    Ok(entries)
}

fn walk(dir: &Path, skip_invalid: bool, out: &mut Vec<PathBuf>) -> Result<(), ExpectedError> {
    for entry in sorted_entries(dir)? {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A scratch tree: `a/x.yaml`, `a/nat-1.yaml`, `a/b/nat-2.yml`, `a/b/notes.txt`,
    /// `a/invalid/nat-bad.yaml`.
    fn tree(name: &str) -> PathBuf {
        let root =
            std::env::temp_dir().join(format!("natlab-discover-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        for (file, text) in [
            ("a/x.yaml", "x"),
            ("a/nat-1.yaml", "1"),
            ("a/b/nat-2.yml", "2"),
            ("a/b/notes.txt", "-"),
            ("a/invalid/nat-bad.yaml", "bad"),
        ] {
            let path = root.join(file);
            std::fs::create_dir_all(path.parent().unwrap_or(&root)).ok();
            std::fs::write(path, text).ok();
        }
        root
    }

    fn names(root: &Path, files: &[PathBuf]) -> Vec<String> {
        files
            .iter()
            .map(|f| f.strip_prefix(root).unwrap_or(f).display().to_string())
            .collect()
    }

    #[test]
    fn discover_glob_star_stays_in_one_directory() {
        let root = tree("star");
        let pattern = root.join("a/*.yaml");
        let files = scenario_files(&[pattern], true).unwrap_or_default();
        assert_eq!(names(&root, &files), ["a/nat-1.yaml", "a/x.yaml"]);
    }

    #[test]
    fn discover_glob_double_star_descends_and_skips_invalid() {
        let root = tree("double");
        let files = scenario_files(&[root.join("a/**/nat-*")], true).unwrap_or_default();
        assert_eq!(names(&root, &files), ["a/b/nat-2.yml", "a/nat-1.yaml"]);
        let named = scenario_files(&[root.join("a/invalid/*.yaml")], true).unwrap_or_default();
        assert_eq!(names(&root, &named), ["a/invalid/nat-bad.yaml"]);
    }

    #[test]
    fn discover_glob_matching_nothing_is_an_error_naming_the_pattern() {
        let root = tree("none");
        let pattern = root.join("a/*.json");
        match scenario_files(std::slice::from_ref(&pattern), true) {
            Err(ExpectedError::NothingToDo(message)) => {
                assert!(
                    message.contains(&pattern.display().to_string()),
                    "{message}"
                );
            }
            other => panic!("expected an error, got {other:?}"),
        }
        assert!(matches!(
            scenario_files(&[root.join("nowhere/*.yaml")], true),
            Err(ExpectedError::NothingToDo(_))
        ));
        assert!(matches!(
            scenario_files(&[root.join("a/[.yaml")], true),
            Err(ExpectedError::Invalid(_))
        ));
    }

    #[test]
    fn discover_overlapping_arguments_list_each_file_once() {
        let root = tree("overlap");
        let files = scenario_files(&[root.join("a/x.yaml"), root.join("a/*.yaml")], true)
            .unwrap_or_default();
        assert_eq!(names(&root, &files), ["a/x.yaml", "a/nat-1.yaml"]);
    }
}

//! What validation needs to know about the source text: where each YAML path was written, which
//! items failed to decode (and so are missing from the decoded file), and the names they declared.

use crate::diag::Location;
use crate::path::YamlPath;
use std::collections::{BTreeMap, BTreeSet};

/// Where one node was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Spans {
    /// The value.
    pub(crate) value: Location,
    /// Its key, for map entries.
    pub(crate) key: Option<Location>,
}

/// Source positions by YAML path, and what decoding dropped.
#[derive(Clone, Debug, Default)]
pub(crate) struct SourceMap {
    pub(crate) spans: BTreeMap<YamlPath, Spans>,
    /// Entries and elements that failed to decode and are missing from the decoded file.
    pub(crate) dropped: BTreeSet<YamlPath>,
    /// Names declared by topology items that failed to decode.
    pub(crate) broken_names: BTreeSet<String>,
}

impl SourceMap {
    /// Where the value at `path` was written, or its nearest written ancestor.
    pub(crate) fn locate(&self, path: &YamlPath) -> Option<Location> {
        let mut p = path.clone();
        loop {
            if let Some(s) = self.spans.get(&p) {
                return Some(s.value);
            }
            if p.is_root() {
                return None;
            }
            p = p.parent();
        }
    }

    /// The path, as written, of the `index`-th decoded element of the sequence at `seq` (elements
    /// that failed to decode are missing from the decoded sequence, so the numbers differ).
    pub(crate) fn element(&self, seq: &YamlPath, index: usize) -> YamlPath {
        let prefix = format!("{}[", seq.as_str());
        let mut dropped: Vec<usize> = self
            .dropped
            .iter()
            .filter_map(|p| {
                let rest = p.as_str().strip_prefix(&prefix)?.strip_suffix(']')?;
                rest.parse().ok()
            })
            .collect();
        dropped.sort_unstable();
        let mut written = index;
        for d in dropped {
            if d <= written {
                written += 1;
            }
        }
        seq.index(written)
    }

    /// Whether `name` was declared by an item that failed to decode (references to it are not
    /// reported again).
    pub(crate) fn is_broken(&self, name: &str) -> bool {
        self.broken_names.contains(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn element_skips_dropped_elements_only() {
        let seq = YamlPath::root().key("expect");
        let mut src = SourceMap::default();
        for dropped in [
            "expect[0]",
            "expect[2]",
            "expect[1].event.code",
            "expected[3]",
        ] {
            src.dropped.insert(path(dropped));
        }
        let written: Vec<String> = (0..3)
            .map(|i| src.element(&seq, i).as_str().to_owned())
            .collect();
        assert_eq!(written, ["expect[1]", "expect[3]", "expect[4]"]);
    }

    fn path(s: &str) -> YamlPath {
        // Test paths are plain: `key[index]` and `.key` segments.
        let mut p = YamlPath::root();
        for part in s.split('.') {
            let (key, index) = match part.split_once('[') {
                Some((k, i)) => (k, i.trim_end_matches(']').parse().ok()),
                None => (part, None),
            };
            p = p.key(key);
            if let Some(i) = index {
                p = p.index(i);
            }
        }
        p
    }
}

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
    dropped: BTreeSet<YamlPath>,
    /// For each sequence with dropped elements, `d - i` for its `i`-th dropped index `d` (in
    /// increasing order; never decreasing, so it can be searched).
    skips: BTreeMap<YamlPath, Vec<usize>>,
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

    /// Records what decoding dropped.
    pub(crate) fn set_dropped(&mut self, dropped: BTreeSet<YamlPath>) {
        let mut by_seq: BTreeMap<YamlPath, Vec<usize>> = BTreeMap::new();
        for p in &dropped {
            if let Some((seq, index)) = p.split_index() {
                by_seq.entry(seq).or_default().push(index);
            }
        }
        for indices in by_seq.values_mut() {
            indices.sort_unstable();
            for (rank, d) in indices.iter_mut().enumerate() {
                *d -= rank;
            }
        }
        self.dropped = dropped;
        self.skips = by_seq;
    }

    /// Whether the item at `path`, or an item holding it, was dropped.
    pub(crate) fn is_dropped(&self, path: &YamlPath) -> bool {
        let mut p = path.clone();
        loop {
            if self.dropped.contains(&p) {
                return true;
            }
            if p.is_root() {
                return false;
            }
            p = p.parent();
        }
    }

    /// The path, as written, of the `index`-th decoded element of the sequence at `seq` (elements
    /// that failed to decode are missing from the decoded sequence, so the numbers differ).
    ///
    /// With the dropped indices `d_0 < d_1 < ...`, the written index is `index + j`, where `j`
    /// counts the dropped elements before it: those with `d_i - i <= index`. A binary search
    /// finds `j`, so the cost does not grow with the number of dropped elements.
    pub(crate) fn element(&self, seq: &YamlPath, index: usize) -> YamlPath {
        let before = self
            .skips
            .get(seq)
            .map_or(0, |skips| skips.partition_point(|&s| s <= index));
        seq.index(index + before)
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
        src.set_dropped(
            [
                "expect[0]",
                "expect[2]",
                "expect[1].event.code",
                "expected[3]",
            ]
            .into_iter()
            .map(path)
            .collect(),
        );
        let written: Vec<String> = (0..3)
            .map(|i| src.element(&seq, i).as_str().to_owned())
            .collect();
        assert_eq!(written, ["expect[1]", "expect[3]", "expect[4]"]);
    }

    /// The written index of the `index`-th kept element, counting one element at a time.
    fn element_by_counting(dropped: &BTreeSet<usize>, index: usize) -> usize {
        (0..)
            .filter(|i| !dropped.contains(i))
            .nth(index)
            .unwrap_or(usize::MAX)
    }

    #[test]
    fn element_agrees_with_counting_for_many_dropped_patterns() {
        let seq = YamlPath::root().key("topology").key("endpoints");
        for pattern in 0u32..64 {
            // Elements 0..12 dropped by the bits of `pattern`, then every third of 12..60.
            let dropped: BTreeSet<usize> = (0..12)
                .filter(|i| pattern & (1 << (i % 6)) != 0)
                .chain((12..60).filter(|i| i % 3 == (pattern as usize) % 3))
                .collect();
            let mut src = SourceMap::default();
            src.set_dropped(dropped.iter().map(|&i| seq.index(i)).collect());
            for index in 0..40 {
                let want = seq.index(element_by_counting(&dropped, index));
                assert_eq!(src.element(&seq, index), want, "{pattern:#b} {index}");
            }
        }
    }

    #[test]
    fn is_dropped_covers_the_item_and_what_it_holds() {
        let mut src = SourceMap::default();
        src.set_dropped([path("topology.nats[1]")].into_iter().collect());
        assert!(src.is_dropped(&path("topology.nats[1]")));
        assert!(src.is_dropped(&path("topology.nats[1].lan")));
        assert!(!src.is_dropped(&path("topology.nats[10]")));
        assert!(!src.is_dropped(&path("topology.nats")));
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

//! YAML paths: where in a scenario file a value sits, written `topology.nats[1].udp_timeout`.

use std::fmt;

/// A path from the document root to one node: map keys joined by `.`, sequence indices in `[]`.
///
/// The root is the empty path. Keys that are not plain words are written quoted:
/// `records["a b"]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct YamlPath(String);

impl YamlPath {
    /// The document root.
    pub const fn root() -> Self {
        Self(String::new())
    }

    /// The value under `key` of the map at this path.
    #[must_use]
    pub fn key(&self, key: &str) -> Self {
        let plain = !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        let mut s = self.0.clone();
        if plain {
            if !s.is_empty() {
                s.push('.');
            }
            s.push_str(key);
        } else {
            s.push_str(&format!("[{key:?}]"));
        }
        Self(s)
    }

    /// The element at `index` of the sequence at this path.
    #[must_use]
    pub fn index(&self, index: usize) -> Self {
        Self(format!("{}[{index}]", self.0))
    }

    /// The path as text (empty for the root).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is the document root.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `self` lies strictly inside `ancestor` (a descendant, not the same node).
    pub fn is_below(&self, ancestor: &Self) -> bool {
        if ancestor.0.is_empty() {
            return !self.0.is_empty();
        }
        self.0.len() > ancestor.0.len()
            && self.0.starts_with(&ancestor.0)
            && matches!(self.0.as_bytes().get(ancestor.0.len()), Some(b'.' | b'['))
    }

    /// The enclosing path (the root's parent is the root).
    #[must_use]
    pub fn parent(&self) -> Self {
        let s = &self.0;
        let cut = if s.ends_with(']') {
            // `a[3]` or `a["k"]`: cut at the matching `[`, skipping brackets inside quotes.
            bracket_start(s)
        } else {
            s.rfind('.')
        };
        Self(s[..cut.unwrap_or(0)].to_owned())
    }

    /// The sequence and index of an element path (`a.b[3]` → `a.b`, 3); `None` for other paths.
    pub(crate) fn split_index(&self) -> Option<(Self, usize)> {
        let inner = self.0.strip_suffix(']')?;
        let start = bracket_start(&self.0)?;
        let index = inner.get(start + 1..)?.parse().ok()?;
        Some((Self(self.0.get(..start)?.to_owned()), index))
    }
}

/// Where the last `[...]` segment of `s` starts.
fn bracket_start(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut in_quotes = false;
    let mut start = None;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if in_quotes => i += 1,
            b'"' => in_quotes = !in_quotes,
            b'[' if !in_quotes => start = Some(i),
            _ => {}
        }
        i += 1;
    }
    start
}

impl fmt::Display for YamlPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("(document)")
        } else {
            f.write_str(&self.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_keys_and_indices_join() {
        let p = YamlPath::root()
            .key("topology")
            .key("nats")
            .index(1)
            .key("udp_timeout");
        assert_eq!(p.as_str(), "topology.nats[1].udp_timeout");
        assert_eq!(YamlPath::root().key("a b").as_str(), "[\"a b\"]");
        assert_eq!(YamlPath::root().to_string(), "(document)");
    }

    #[test]
    fn path_parent_strips_last_segment() {
        let p = YamlPath::root().key("a").index(2).key("b");
        assert_eq!(p.parent().as_str(), "a[2]");
        assert_eq!(p.parent().parent().as_str(), "a");
        assert_eq!(p.parent().parent().parent().as_str(), "");
        let q = YamlPath::root().key("a").key("x.[y]");
        assert_eq!(q.parent().as_str(), "a");
    }

    #[test]
    fn path_split_index_only_for_elements() {
        let seq = YamlPath::root().key("a").index(2).key("b");
        assert_eq!(seq.index(14).split_index(), Some((seq.clone(), 14)));
        assert_eq!(seq.split_index(), None);
        assert_eq!(YamlPath::root().key("a b").split_index(), None);
        assert_eq!(YamlPath::root().split_index(), None);
    }

    #[test]
    fn path_below_needs_a_segment_boundary() {
        let a = YamlPath::root().key("nat");
        assert!(a.key("x").is_below(&a));
        assert!(a.index(0).is_below(&a));
        assert!(!YamlPath::root().key("nats").is_below(&a));
        assert!(!a.is_below(&a));
        assert!(a.is_below(&YamlPath::root()));
    }
}

//! The spanned YAML tree: granit-parser events folded into [`Node`]s that remember where they
//! were written. Aliases are expanded by cloning, `<<` merge keys are applied, duplicate keys are
//! reported (at the second key) and dropped, and a second document is an error.

use super::scalar::Style;
use crate::diag::{Diagnostic, Location};
use crate::path::YamlPath;
use granit_parser::{Event, Marker, Parser, ScalarStyle, ScanError, StructureStyle, Tag};
use std::collections::BTreeMap;

/// At most this many nodes after alias expansion (guards against "billion laughs" documents).
const MAX_NODES: usize = 200_000;

/// A source position: line from 1, column from 0, both in characters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Pos {
    pub(crate) line: usize,
    pub(crate) col: usize,
}

impl From<Marker> for Pos {
    fn from(m: Marker) -> Self {
        Self {
            line: m.line(),
            col: m.col(),
        }
    }
}

/// Where a node was written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) start: Pos,
    pub(crate) end: Pos,
}

impl Span {
    /// The diagnostic location of the span.
    pub(crate) const fn location(self) -> Location {
        Location {
            line: self.start.line,
            column: self.start.col + 1,
            end_line: self.end.line,
            end_column: self.end.col + 1,
        }
    }
}

/// One YAML node.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Node {
    pub(crate) kind: Kind,
    pub(crate) span: Span,
}

/// What a node holds.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Kind {
    /// `~`, `null` or nothing at all.
    Null,
    /// A scalar's text after escape processing, and how it was written.
    Scalar(String, Style),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in source order (merged entries after the explicit ones).
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// The scalar text, if this is a scalar.
    pub(crate) fn scalar(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar(s, _) => Some(s),
            _ => None,
        }
    }

    /// The entries, if this is a map.
    pub(crate) fn entries(&self) -> Option<&[(Self, Self)]> {
        match &self.kind {
            Kind::Map(e) => Some(e),
            _ => None,
        }
    }

    /// The value under `key`, if this is a map that has it.
    pub(crate) fn get(&self, key: &str) -> Option<&Self> {
        self.entries()?
            .iter()
            .find(|(k, _)| k.scalar() == Some(key))
            .map(|(_, v)| v)
    }

    fn count(&self) -> usize {
        1 + match &self.kind {
            Kind::Seq(items) => items.iter().map(Self::count).sum(),
            Kind::Map(entries) => entries.iter().map(|(k, v)| k.count() + v.count()).sum(),
            _ => 0,
        }
    }
}

/// A document, or the reason there is none, plus problems that did not stop the reading.
#[derive(Debug)]
pub(crate) struct Parsed {
    /// The document's root; `None` when the file is empty or has a syntax error.
    pub(crate) root: Option<Node>,
    /// Duplicate keys, a second document, unsupported tags, syntax errors.
    pub(crate) diagnostics: Vec<Diagnostic>,
}

/// Reads `text` into a tree.
pub(crate) fn parse(text: &str) -> Parsed {
    let mut b = Builder::default();
    for event in Parser::new_from_str(text) {
        match event {
            Ok((event, span)) => {
                let span = Span {
                    start: span.start.into(),
                    end: span.end.into(),
                };
                if !b.event(event, span) {
                    break;
                }
            }
            Err(e) => {
                b.syntax_error(&e);
                break;
            }
        }
    }
    Parsed {
        root: if b.failed { None } else { b.root },
        diagnostics: b.diagnostics,
    }
}

/// A collection being read.
#[derive(Debug)]
struct Frame {
    anchor: usize,
    start: Span,
    flow: bool,
    body: Body,
}

#[derive(Debug)]
enum Body {
    Seq(Vec<Node>),
    Map {
        entries: Vec<(Node, Node)>,
        key: Option<Node>,
        /// Explicit keys seen so far, with where each was written.
        seen: BTreeMap<String, Span>,
        /// Maps to merge (`<<`), in priority order.
        merges: Vec<Node>,
    },
}

#[derive(Debug, Default)]
struct Builder {
    stack: Vec<Frame>,
    anchors: BTreeMap<usize, Node>,
    root: Option<Node>,
    documents: usize,
    nodes: usize,
    failed: bool,
    diagnostics: Vec<Diagnostic>,
}

impl Builder {
    /// Handles one event; `false` stops the reading.
    fn event(&mut self, event: Event<'_>, span: Span) -> bool {
        match event {
            Event::DocumentStart(..) => {
                self.documents += 1;
                if self.documents > 1 {
                    self.error(
                        span,
                        "a scenario file holds one YAML document; a second one starts here",
                        Some("remove the `---` line and everything after it, or split the file"),
                    );
                    return false;
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                let node = self.scalar(&text, style, tag.as_deref(), span);
                self.finish(node, anchor);
            }
            Event::Alias(id) => {
                let size = self.anchors.get(&id).map_or(1, Node::count);
                self.nodes += size;
                if self.nodes > MAX_NODES {
                    self.error(span, "too many nodes after expanding aliases", None);
                    self.failed = true;
                    return false;
                }
                let node = self.anchors.get(&id).cloned().unwrap_or(Node {
                    kind: Kind::Null,
                    span,
                });
                self.finish(node, 0);
            }
            Event::SequenceStart(style, anchor, _) => {
                self.open(span, style, anchor, Body::Seq(Vec::new()))
            }
            Event::MappingStart(style, anchor, _) => self.open(
                span,
                style,
                anchor,
                Body::Map {
                    entries: Vec::new(),
                    key: None,
                    seen: BTreeMap::new(),
                    merges: Vec::new(),
                },
            ),
            Event::SequenceEnd | Event::MappingEnd => self.close(span),
            _ => {}
        }
        true
    }

    fn open(&mut self, span: Span, style: StructureStyle, anchor: usize, body: Body) {
        self.stack.push(Frame {
            anchor,
            start: span,
            flow: style == StructureStyle::Flow,
            body,
        });
    }

    fn close(&mut self, end: Span) {
        let Some(frame) = self.stack.pop() else {
            return;
        };
        let span = Span {
            start: frame.start.start,
            end: end.end,
        };
        let kind = match frame.body {
            Body::Seq(items) => Kind::Seq(items),
            Body::Map {
                mut entries,
                seen,
                merges,
                ..
            } => {
                apply_merges(&mut entries, seen, merges);
                Kind::Map(entries)
            }
        };
        self.finish(Node { kind, span }, frame.anchor);
    }

    fn scalar(&mut self, text: &str, style: ScalarStyle, tag: Option<&Tag>, span: Span) -> Node {
        let style = match style {
            ScalarStyle::Plain => Style::Plain,
            _ => Style::Quoted,
        };
        let kind = match tag.map(|t| (t.core_suffix(), t)) {
            None => plain_or_quoted(text, style),
            Some((Some("str"), _)) => Kind::Scalar(text.to_owned(), Style::Quoted),
            Some((Some("null"), _)) => Kind::Null,
            Some((Some(_), _)) => Kind::Scalar(text.to_owned(), Style::Plain),
            Some((None, t)) => {
                self.error(
                    span,
                    &format!("unsupported tag `{}{}`", t.original_handle(), t.suffix()),
                    Some("scenario files use plain YAML values; remove the tag"),
                );
                plain_or_quoted(text, style)
            }
        };
        Node { kind, span }
    }

    /// Hands a complete node to its parent (or makes it the root).
    fn finish(&mut self, node: Node, anchor: usize) {
        self.nodes += 1;
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        let Some(frame) = self.stack.last_mut() else {
            self.root = Some(node);
            return;
        };
        match &mut frame.body {
            Body::Seq(items) => items.push(node),
            Body::Map { key, .. } if key.is_none() => *key = Some(node),
            Body::Map {
                entries,
                key,
                seen,
                merges,
            } => {
                let Some(k) = key.take() else { return };
                if let Some(d) = add_entry(entries, seen, merges, k, node) {
                    self.diagnostics.push(d);
                }
            }
        }
    }

    fn syntax_error(&mut self, e: &ScanError) {
        let m = e.marker();
        let span = Span {
            start: Pos::from(*m),
            end: Pos {
                line: m.line(),
                col: m.col() + 1,
            },
        };
        let open = self
            .stack
            .iter()
            .rev()
            .find(|f| f.flow)
            .map(|f| f.start.start);
        let help = syntax_help(e, open);
        let message = e.info();
        self.error(span, &message, help.as_deref());
        self.failed = true;
    }

    fn error(&mut self, span: Span, message: &str, help: Option<&str>) {
        let mut d = Diagnostic::error(YamlPath::root(), message).at(Some(span.location()));
        d.help = help.map(str::to_owned);
        self.diagnostics.push(d);
    }
}

fn plain_or_quoted(text: &str, style: Style) -> Kind {
    if style == Style::Plain && super::scalar::is_null(text) {
        Kind::Null
    } else {
        Kind::Scalar(text.to_owned(), style)
    }
}

/// Adds one explicit entry (or records a merge); returns a diagnostic for a duplicate key.
fn add_entry(
    entries: &mut Vec<(Node, Node)>,
    seen: &mut BTreeMap<String, Span>,
    merges: &mut Vec<Node>,
    key: Node,
    value: Node,
) -> Option<Diagnostic> {
    let name = match &key.kind {
        Kind::Scalar(s, Style::Plain) if s == "<<" => {
            match value.kind {
                Kind::Seq(items) => merges.extend(items),
                _ => merges.push(value),
            }
            return None;
        }
        Kind::Scalar(s, _) => s.clone(),
        Kind::Null => "~".to_owned(),
        Kind::Seq(_) | Kind::Map(_) => {
            return Some(
                Diagnostic::error(
                    YamlPath::root(),
                    "a mapping key must be a plain value, not a list or mapping",
                )
                .at(Some(key.span.location())),
            );
        }
    };
    if let Some(first) = seen.get(&name) {
        return Some(
            Diagnostic::error(YamlPath::root(), format!("duplicate key `{name}`"))
                .at(Some(key.span.location()))
                .with_help(format!(
                    "`{name}` is already set at line {} column {}; a key may appear once per mapping",
                    first.start.line,
                    first.start.col + 1
                )),
        );
    }
    seen.insert(name, key.span);
    entries.push((key, value));
    None
}

/// Appends the entries of merged maps whose keys are not set explicitly (YAML merge key: earlier
/// maps in a `<<: [*a, *b]` list win over later ones).
fn apply_merges(
    entries: &mut Vec<(Node, Node)>,
    mut seen: BTreeMap<String, Span>,
    merges: Vec<Node>,
) {
    for merged in merges {
        let Kind::Map(from) = merged.kind else {
            continue;
        };
        for (k, v) in from {
            let Some(name) = k.scalar().map(str::to_owned) else {
                continue;
            };
            if seen.contains_key(&name) {
                continue;
            }
            seen.insert(name, k.span);
            entries.push((k, v));
        }
    }
}

/// A help line for common syntax errors.
fn syntax_help(e: &ScanError, open: Option<Pos>) -> Option<String> {
    use granit_parser::ErrorKind as K;
    let unclosed = open.map(|p| {
        format!(
            "the flow collection opened at line {} column {} is not closed",
            p.line,
            p.col + 1
        )
    });
    match e.kind() {
        K::TabInBlockIndentation | K::TabNotAllowed => {
            Some("YAML indentation must use spaces, not tabs".to_owned())
        }
        K::UnclosedFlowCollection { open } => Some(format!("add the closing `{}`", closing(*open))),
        K::InvalidColonPlacement
        | K::ExpectedFlowSequenceSeparator
        | K::ExpectedFlowMappingSeparator
        | K::UnexpectedEofFlowSequence
        | K::UnexpectedEofFlowMapping => unclosed,
        K::MappingValueNotAllowed
        | K::ExpectedBlockMappingKey
        | K::ExpectedBlockSequenceEntry
        | K::InvalidIndentation => Some(
            "check the indentation: keys of one mapping must start in the same column".to_owned(),
        ),
        K::UnclosedQuotedScalar => Some("add the closing quote".to_owned()),
        _ => unclosed,
    }
}

const fn closing(open: char) -> char {
    match open {
        '[' => ']',
        '{' => '}',
        _ => open,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(text: &str) -> Node {
        let p = parse(text);
        assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
        p.root.unwrap()
    }

    fn scalar<'a>(n: &'a Node, key: &str) -> &'a str {
        n.get(key).and_then(Node::scalar).unwrap()
    }

    #[test]
    fn tree_plain_mapping_keeps_spans() {
        let n = root("a: 1\nb:\n  c: \"x\"\n");
        assert_eq!(scalar(&n, "a"), "1");
        let c = n.get("b").unwrap().get("c").unwrap();
        assert_eq!(c.kind, Kind::Scalar("x".into(), Style::Quoted));
        assert_eq!(
            c.span.location(),
            Location {
                line: 3,
                column: 6,
                end_line: 3,
                end_column: 9
            }
        );
    }

    #[test]
    fn tree_empty_and_tilde_values_are_null() {
        let n = root("a:\nb: ~\nc: null\nd: 'null'\n");
        for k in ["a", "b", "c"] {
            assert_eq!(n.get(k).unwrap().kind, Kind::Null, "{k}");
        }
        assert_eq!(scalar(&n, "d"), "null");
    }

    #[test]
    fn tree_alias_clones_anchored_node() {
        let n = root("x: &l {latency: 5ms}\ny: *l\n");
        assert_eq!(n.get("x").unwrap().kind, n.get("y").unwrap().kind);
    }

    #[test]
    fn tree_merge_key_fills_missing_keys_only() {
        let n = root("base: &b {p: 1, q: 2}\nm:\n  <<: *b\n  q: 3\n");
        let m = n.get("m").unwrap();
        assert_eq!(scalar(m, "p"), "1");
        assert_eq!(scalar(m, "q"), "3");
        assert_eq!(m.entries().unwrap().len(), 2);
    }

    #[test]
    fn tree_merge_list_earlier_map_wins() {
        let n = root("a: &a {k: 1}\nb: &b {k: 2, j: 2}\nm:\n  <<: [*a, *b]\n");
        let m = n.get("m").unwrap();
        assert_eq!((scalar(m, "k"), scalar(m, "j")), ("1", "2"));
    }

    #[test]
    fn tree_duplicate_key_reported_at_second() {
        let p = parse("a: 1\nb: 2\na: 3\n");
        assert_eq!(p.diagnostics.len(), 1);
        let d = &p.diagnostics[0];
        assert_eq!(d.message, "duplicate key `a`");
        assert_eq!(d.location.map(|l| (l.line, l.column)), Some((3, 1)));
        assert_eq!(scalar(p.root.as_ref().unwrap(), "a"), "1");
    }

    #[test]
    fn tree_second_document_is_an_error() {
        let p = parse("a: 1\n---\nb: 2\n");
        assert_eq!(p.diagnostics.len(), 1);
        assert_eq!(p.diagnostics[0].location.map(|l| l.line), Some(2));
    }

    #[test]
    fn tree_syntax_errors_have_positions() {
        let p = parse("a:\n\tb: 1\n");
        assert!(p.root.is_none());
        let d = &p.diagnostics[0];
        assert_eq!(d.location.map(|l| l.line), Some(2));
        assert!(d.help.as_deref().unwrap().contains("tabs"));

        let p = parse("a: [1, 2\n");
        assert!(p.diagnostics[0].help.as_deref().unwrap().contains("`]`"));

        let p = parse("a: [1, 2\nb: 3\n");
        assert!(
            p.diagnostics[0]
                .help
                .as_deref()
                .unwrap()
                .contains("line 1 column 4")
        );
    }

    #[test]
    fn tree_alias_bomb_is_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..8 {
            let p = i - 1;
            text.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"));
        }
        let p = parse(&text);
        assert!(p.root.is_none());
        assert!(p.diagnostics[0].message.contains("too many nodes"));
    }

    #[test]
    fn tree_empty_file_has_no_root() {
        let p = parse("# nothing\n");
        assert!(p.root.is_none() && p.diagnostics.is_empty());
    }
}

//! A serde `Deserializer` over the spanned tree that records every problem instead of stopping at
//! the first.
//!
//! Each node knows its YAML path. An error is located at the innermost node that sees it (maps
//! refine errors their visitors raise: an unknown field points at its key, a missing field at the
//! map), recorded once as a diagnostic, and the offending entry or element is *masked*. The loader
//! then reads the whole document again with masked nodes hidden, so that the rest of the file is
//! checked too; it stops when a run finds nothing new. Unknown keys of a struct are all recorded
//! and hidden in the same run. Errors that only follow from a masked node (a required field that
//! was masked, a list that lost an element) are not reported again.

use super::error::{DeError, ErrorKind, Found, did_you_mean, friendly, one_of};
use super::scalar::{Resolved, resolve};
use super::tree::{Kind, Node, Span};
use crate::diag::Diagnostic;
use crate::model::KIND_TAGGED;
use crate::path::YamlPath;
use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, Expected, MapAccess, SeqAccess, VariantAccess,
    Visitor,
};
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
}

impl Ctx {
    /// Starts a run.
    pub(crate) fn begin_run(&mut self) {
        self.run_new.clear();
        self.progress = false;
    }

    /// Whether the run recorded or masked anything new.
    pub(crate) const fn progressed(&self) -> bool {
        self.progress
    }

    fn masked(&self, path: &YamlPath) -> bool {
        self.masks.contains(path)
    }

    fn mask(&mut self, path: YamlPath) {
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

    /// After `child` failed: mask it, unless this run recorded or masked something strictly
    /// inside it (then the next run reads it again without that part).
    fn catch(&mut self, child: &YamlPath, mark: usize) {
        let inside = self
            .run_new
            .get(mark..)
            .unwrap_or_default()
            .iter()
            .any(|t| t.is_below(child));
        if !inside {
            self.mask(child.clone());
        }
    }

    const fn mark(&self) -> usize {
        self.run_new.len()
    }
}

/// How a node is being read, for locating and wording errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Value,
    /// A map key (field name, action or expectation name).
    Key,
    /// The `kind` of a tagged server or endpoint.
    Kind,
}

/// Deserializes one node.
#[derive(Clone, Debug)]
pub(crate) struct NodeDe<'a> {
    node: &'a Node,
    path: YamlPath,
    ctx: &'a RefCell<Ctx>,
    role: Role,
    /// A key of this map that is read separately (`kind`).
    hide: Option<&'static str>,
}

impl<'a> NodeDe<'a> {
    /// The document root.
    pub(crate) const fn root(node: &'a Node, ctx: &'a RefCell<Ctx>) -> Self {
        Self {
            node,
            path: YamlPath::root(),
            ctx,
            role: Role::Value,
            hide: None,
        }
    }

    fn child(&self, node: &'a Node, path: YamlPath, role: Role) -> Self {
        Self {
            node,
            path,
            ctx: self.ctx,
            role,
            hide: None,
        }
    }

    fn found(&self) -> Found {
        match &self.node.kind {
            Kind::Null => Found::Null,
            Kind::Seq(_) => Found::Seq,
            Kind::Map(_) => Found::Map,
            Kind::Scalar(text, style) => match resolve(text, *style) {
                Resolved::Null => Found::Null,
                Resolved::Bool(b) => Found::Bool(b),
                Resolved::Int(i) => Found::Int(i),
                Resolved::Float(f) => Found::Float(f),
                Resolved::Str(s) => Found::Str(s.to_owned()),
            },
        }
    }

    fn invalid<T>(&self, exp: &dyn Expected) -> Result<T, DeError> {
        Err(DeError::invalid_type_of(self.found(), exp))
    }

    /// Records an unreported error at this node and marks it reported.
    fn settle<T>(&self, r: Result<T, DeError>) -> Result<T, DeError> {
        r.map_err(|e| if e.reported { e } else { self.report(e) })
    }

    fn report(&self, e: DeError) -> DeError {
        if self.consequence(&e.kind) {
            return e.settled();
        }
        let at = self.locate(&e.kind);
        let (message, help) = describe(&e, at.what);
        let mut d = Diagnostic::error(at.path.clone(), message).at(Some(at.span.location()));
        d.help = help;
        // A map whose naming key or `kind` is unknown cannot be read at all: hide all of it.
        let target = match (&e.kind, at.what) {
            (ErrorKind::UnknownVariant { .. }, What::Key | What::Kind) => at.path.parent(),
            _ => at.path,
        };
        self.ctx.borrow_mut().record(d, target);
        e.settled()
    }

    /// Whether the error only follows from something already masked.
    fn consequence(&self, kind: &ErrorKind) -> bool {
        let ctx = self.ctx.borrow();
        match kind {
            ErrorKind::MissingField(f) => ctx.masked(&self.path.key(f)),
            ErrorKind::InvalidLength { .. } => ctx
                .masks
                .iter()
                .any(|m| m.is_below(&self.path) && m.parent() == self.path),
            _ => false,
        }
    }

    /// Where an error points.
    fn locate(&self, kind: &ErrorKind) -> At {
        let what = match self.role {
            Role::Value => What::Value,
            Role::Key => What::Key,
            Role::Kind => What::Kind,
        };
        let here = At {
            path: self.path.clone(),
            span: self.node.span,
            what,
        };
        let Some(entries) = self.node.entries().filter(|_| self.role == Role::Value) else {
            return here;
        };
        let key_named = |name: &str| {
            entries
                .iter()
                .find(|(k, _)| k.scalar() == Some(name))
                .map(|(k, _)| At {
                    path: self.path.key(name),
                    span: k.span,
                    what: What::Key,
                })
        };
        let value_is = |variant: &str| {
            entries
                .iter()
                .filter(|(_, v)| v.scalar() == Some(variant))
                .max_by_key(|(k, _)| k.scalar() == Some("kind"))
                .and_then(|(k, v)| {
                    let name = k.scalar()?;
                    Some(At {
                        path: self.path.key(name),
                        span: v.span,
                        what: if name == "kind" {
                            What::Kind
                        } else {
                            What::Value
                        },
                    })
                })
        };
        match kind {
            ErrorKind::UnknownField { field, .. } => key_named(field),
            ErrorKind::UnknownVariant { variant, .. } => {
                key_named(variant).or_else(|| value_is(variant))
            }
            ErrorKind::InvalidType { found, .. } | ErrorKind::InvalidValue { found, .. } => {
                find_scalar(self.node, &self.path, found).map(|(path, span)| At {
                    path,
                    span,
                    what: What::Value,
                })
            }
            ErrorKind::Custom(msg) => msg.split('`').nth(1).and_then(key_named),
            _ => None,
        }
        .unwrap_or(here)
    }

    fn scalar_text(&self) -> Option<&'a str> {
        match &self.node.kind {
            Kind::Scalar(s, _) => Some(s),
            Kind::Null if self.role == Role::Key => Some("~"),
            _ => None,
        }
    }

    fn int<'de, V: Visitor<'de>>(&self, v: V) -> Result<V::Value, DeError> {
        match self.found() {
            Found::Int(i) => visit_int(i, v),
            _ => self.invalid(&v),
        }
    }

    fn float<'de, V: Visitor<'de>>(&self, v: V) -> Result<V::Value, DeError> {
        match self.found() {
            #[allow(clippy::cast_precision_loss)]
            Found::Int(i) => v.visit_f64(i as f64),
            Found::Float(f) => v.visit_f64(f),
            _ => self.invalid(&v),
        }
    }

    fn string<'de, V: Visitor<'de>>(&self, v: V) -> Result<V::Value, DeError> {
        match self.scalar_text() {
            Some(s) => v.visit_str(s),
            None => self.invalid(&v),
        }
    }

    fn any<'de, V: Visitor<'de>>(&self, v: V) -> Result<V::Value, DeError> {
        match &self.node.kind {
            Kind::Seq(_) => v.visit_seq(self.seq_access()),
            Kind::Map(_) => v.visit_map(self.map_access(&[])),
            _ if self.role != Role::Value => self.string(v),
            _ => match self.found() {
                Found::Null => v.visit_unit(),
                Found::Bool(b) => v.visit_bool(b),
                Found::Int(i) => visit_int(i, v),
                Found::Float(f) => v.visit_f64(f),
                _ => self.string(v),
            },
        }
    }

    fn seq_access(&self) -> NodeSeq<'a> {
        let items = match &self.node.kind {
            Kind::Seq(items) => items.as_slice(),
            _ => &[],
        };
        let ctx = self.ctx.borrow();
        let items = items
            .iter()
            .enumerate()
            .map(|(i, n)| (n, self.path.index(i)))
            .filter(|(_, p)| !ctx.masked(p))
            .collect();
        NodeSeq {
            items,
            pos: 0,
            parent: self.clone(),
        }
    }

    /// The visible entries: not masked, not hidden, not in `skip`.
    fn map_access(&self, skip: &[&str]) -> NodeMap<'a> {
        let entries = self.node.entries().unwrap_or_default();
        let ctx = self.ctx.borrow();
        let entries = entries
            .iter()
            .filter_map(|(k, v)| {
                let name = k.scalar().unwrap_or("~");
                let path = self.path.key(name);
                let hidden = ctx.masked(&path) || self.hide == Some(name) || skip.contains(&name);
                (!hidden).then_some((k, v, path))
            })
            .collect();
        NodeMap {
            entries,
            pos: 0,
            value: None,
            parent: self.clone(),
        }
    }

    fn structure<'de, V: Visitor<'de>>(
        &self,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, DeError> {
        match &self.node.kind {
            Kind::Map(entries) => {
                let mut unknown = Vec::new();
                for (k, _) in entries {
                    let name = k.scalar().unwrap_or("~");
                    let path = self.path.key(name);
                    if fields.contains(&name)
                        || self.hide == Some(name)
                        || self.ctx.borrow().masked(&path)
                    {
                        continue;
                    }
                    let key = self.child(k, path, Role::Key);
                    key.report(de::Error::unknown_field(name, fields));
                    unknown.push(name);
                }
                v.visit_map(self.map_access(&unknown))
            }
            Kind::Null => v.visit_map(self.map_access(&[])),
            _ => self.invalid(&v),
        }
    }

    fn tagged<'de, V: Visitor<'de>>(
        &self,
        kinds: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, DeError> {
        let Some(entries) = self.node.entries() else {
            return self.invalid(&"a mapping with a `kind`");
        };
        let path = self.path.key("kind");
        let kind = entries.iter().find(|(k, _)| k.scalar() == Some("kind"));
        let Some((_, value)) = kind.filter(|_| !self.ctx.borrow().masked(&path)) else {
            if self.ctx.borrow().masked(&path) {
                return Err(DeError::new(ErrorKind::MissingField("kind")).settled());
            }
            let d = Diagnostic::error(self.path.clone(), "missing field `kind`")
                .at(Some(self.node.span.location()))
                .with_help(format!("add `kind:` with one of {}", names(kinds)));
            self.ctx.borrow_mut().record(d, self.path.clone());
            return Err(DeError::new(ErrorKind::MissingField("kind")).settled());
        };
        let body = Self {
            hide: Some("kind"),
            ..self.clone()
        };
        v.visit_enum(KindEnum {
            kind: self.child(value, path, Role::Kind),
            body,
        })
    }

    fn enumeration<'de, V: Visitor<'de>>(
        &self,
        variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, DeError> {
        match &self.node.kind {
            Kind::Scalar(..) => v.visit_enum(UnitEnum(self.clone())),
            Kind::Map(_) => {
                let access = self.map_access(&[]);
                match access.entries.as_slice() {
                    [(k, value, path)] => v.visit_enum(MapEnum {
                        key: self.child(k, path.clone(), Role::Key),
                        value: self.child(value, path.clone(), Role::Value),
                    }),
                    [] => Err(DeError::new(ErrorKind::InvalidType {
                        found: Found::Other("an empty mapping".to_owned()),
                        expected: one_of(variants).trim_start_matches("expected ").to_owned(),
                    })),
                    [(first, ..), (second, _, path), ..] => {
                        let first = first.scalar().unwrap_or("~");
                        let second_name = second.scalar().unwrap_or("~");
                        let key = self.child(second, path.clone(), Role::Key);
                        Err(key.report(de::Error::custom(format_args!(
                            "a second key `{second_name}` where exactly one is allowed (`{first}` is already given)"
                        ))))
                    }
                }
            }
            _ => {
                let expected = format!("a name or a one-key mapping: {}", names(variants));
                self.invalid(&expected.as_str())
            }
        }
    }
}

/// What an error points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum What {
    Value,
    Key,
    Kind,
}

/// A located error.
#[derive(Debug)]
struct At {
    path: YamlPath,
    span: Span,
    what: What,
}

/// The message and help line of an error.
fn describe(e: &DeError, what: What) -> (String, Option<String>) {
    let suggest = |word: &str, names: &[&str]| {
        did_you_mean(word, names).map_or(String::new(), |s| format!(" (did you mean `{s}`?)"))
    };
    match &e.kind {
        ErrorKind::UnknownField { field, expected } => (
            format!(
                "unknown field `{field}`, {}{}",
                one_of(expected),
                suggest(field, expected)
            ),
            None,
        ),
        ErrorKind::UnknownVariant { variant, expected } => {
            let what = match what {
                What::Key => "key",
                What::Kind => "kind",
                What::Value => "value",
            };
            let message = format!(
                "unknown {what} `{variant}`, {}{}",
                one_of(expected),
                suggest(variant, expected)
            );
            (message, None)
        }
        ErrorKind::InvalidType {
            found: Found::Str(s),
            expected,
        } if expected.contains("`true`")
            && matches!(
                s.to_ascii_lowercase().as_str(),
                "yes" | "no" | "on" | "off" | "y" | "n"
            ) =>
        {
            (
                e.to_string(),
                Some("YAML 1.2 reads only `true` and `false` as booleans".to_owned()),
            )
        }
        _ => (e.to_string(), None),
    }
}

/// `` `a`, `b` `` of a list of names.
fn names(list: &[&str]) -> String {
    list.iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The first scalar under `node` (document order) that reads as `found`.
fn find_scalar(node: &Node, path: &YamlPath, found: &Found) -> Option<(YamlPath, Span)> {
    match &node.kind {
        Kind::Scalar(text, style) => {
            let hit = match (resolve(text, *style), found) {
                (Resolved::Str(s), Found::Str(f)) => s == f,
                (Resolved::Int(i), Found::Int(f)) => i == *f,
                (Resolved::Float(x), Found::Float(f)) => x == *f,
                (Resolved::Bool(b), Found::Bool(f)) => b == *f,
                _ => false,
            };
            hit.then(|| (path.clone(), node.span))
        }
        Kind::Seq(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, n)| find_scalar(n, &path.index(i), found)),
        Kind::Map(entries) => entries.iter().find_map(|(k, v)| {
            let p = path.key(k.scalar().unwrap_or("~"));
            find_scalar(v, &p, found)
        }),
        Kind::Null => None,
    }
}

fn visit_int<'de, V: Visitor<'de>>(i: i128, v: V) -> Result<V::Value, DeError> {
    if let Ok(u) = u64::try_from(i) {
        v.visit_u64(u)
    } else if let Ok(s) = i64::try_from(i) {
        v.visit_i64(s)
    } else {
        Err(DeError::new(ErrorKind::InvalidValue {
            found: Found::Int(i),
            expected: friendly(&(&v as &dyn Expected).to_string()),
        }))
    }
}

macro_rules! forward {
    ($($method:ident => $helper:ident),* $(,)?) => {
        $(fn $method<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
            let r = self.$helper(v);
            self.settle(r)
        })*
    };
}

impl<'de> Deserializer<'de> for NodeDe<'_> {
    type Error = DeError;

    forward! {
        deserialize_any => any,
        deserialize_i8 => int, deserialize_i16 => int, deserialize_i32 => int, deserialize_i64 => int,
        deserialize_i128 => int, deserialize_u8 => int, deserialize_u16 => int, deserialize_u32 => int,
        deserialize_u64 => int, deserialize_u128 => int,
        deserialize_f32 => float, deserialize_f64 => float,
        deserialize_char => string, deserialize_str => string, deserialize_string => string,
        deserialize_identifier => string, deserialize_bytes => string, deserialize_byte_buf => string,
    }

    fn deserialize_bool<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        let r = match self.found() {
            Found::Bool(b) => v.visit_bool(b),
            _ => self.invalid(&v),
        };
        self.settle(r)
    }

    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        if self.node.kind == Kind::Null {
            return v.visit_none();
        }
        v.visit_some(self)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        let r = match self.node.kind {
            Kind::Null => v.visit_unit(),
            _ => self.invalid(&v),
        };
        self.settle(r)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        v: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_unit(v)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        v: V,
    ) -> Result<V::Value, DeError> {
        v.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        let r = match self.node.kind {
            Kind::Seq(_) | Kind::Null => v.visit_seq(self.seq_access()),
            _ => self.invalid(&v),
        };
        self.settle(r)
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, v: V) -> Result<V::Value, DeError> {
        self.deserialize_seq(v)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: usize,
        v: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(v)
    }

    fn deserialize_map<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        let r = match self.node.kind {
            Kind::Map(_) | Kind::Null => v.visit_map(self.map_access(&[])),
            _ => self.invalid(&v),
        };
        self.settle(r)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, DeError> {
        let r = if name == KIND_TAGGED {
            self.tagged(fields, v)
        } else {
            self.structure(fields, v)
        };
        self.settle(r)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, DeError> {
        let r = self.enumeration(variants, v);
        self.settle(r)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        v.visit_unit()
    }
}

/// The visible elements of a sequence.
#[derive(Debug)]
struct NodeSeq<'a> {
    items: Vec<(&'a Node, YamlPath)>,
    pos: usize,
    parent: NodeDe<'a>,
}

impl<'de> SeqAccess<'de> for NodeSeq<'_> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        let Some((node, path)) = self.items.get(self.pos).cloned() else {
            return Ok(None);
        };
        self.pos += 1;
        let child = self.parent.child(node, path.clone(), Role::Value);
        guarded(self.parent.ctx, &path, || seed.deserialize(child)).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len() - self.pos)
    }
}

/// Runs a child's deserialization; when it fails, lets the context decide what to mask.
fn guarded<T>(
    ctx: &RefCell<Ctx>,
    path: &YamlPath,
    f: impl FnOnce() -> Result<T, DeError>,
) -> Result<T, DeError> {
    let mark = ctx.borrow().mark();
    let r = f();
    if r.is_err() {
        ctx.borrow_mut().catch(path, mark);
    }
    r
}

/// The visible entries of a map.
#[derive(Debug)]
struct NodeMap<'a> {
    entries: Vec<(&'a Node, &'a Node, YamlPath)>,
    pos: usize,
    value: Option<(&'a Node, YamlPath)>,
    parent: NodeDe<'a>,
}

impl<'de> MapAccess<'de> for NodeMap<'_> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        let Some((key, value, path)) = self.entries.get(self.pos).cloned() else {
            return Ok(None);
        };
        self.pos += 1;
        self.value = Some((value, path.clone()));
        let child = self.parent.child(key, path.clone(), Role::Key);
        guarded(self.parent.ctx, &path, || seed.deserialize(child)).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let Some((value, path)) = self.value.take() else {
            return Err(de::Error::custom("value requested before its key"));
        };
        let child = self.parent.child(value, path.clone(), Role::Value);
        guarded(self.parent.ctx, &path, || seed.deserialize(child))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len() - self.pos)
    }
}

/// A scalar read as an enum: a unit variant.
#[derive(Debug)]
struct UnitEnum<'a>(NodeDe<'a>);

impl<'de, 'a> EnumAccess<'de> for UnitEnum<'a> {
    type Error = DeError;
    type Variant = Self;

    fn variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<(T::Value, Self), DeError> {
        let v = seed.deserialize(self.0.clone())?;
        Ok((v, self))
    }
}

impl<'de> VariantAccess<'de> for UnitEnum<'_> {
    type Error = DeError;

    fn unit_variant(self) -> Result<(), DeError> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, _: T) -> Result<T::Value, DeError> {
        Err(self.needs_value())
    }

    fn tuple_variant<V: Visitor<'de>>(self, _: usize, _: V) -> Result<V::Value, DeError> {
        Err(self.needs_value())
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, DeError> {
        Err(self.needs_value())
    }
}

impl UnitEnum<'_> {
    fn needs_value(&self) -> DeError {
        let name = self.0.scalar_text().unwrap_or("~");
        de::Error::custom(format_args!(
            "`{name}` needs settings: write it as `{name}: ...`"
        ))
    }
}

/// A one-key map read as an enum: the key names the variant, the value holds its content.
#[derive(Debug)]
struct MapEnum<'a> {
    key: NodeDe<'a>,
    value: NodeDe<'a>,
}

impl<'de, 'a> EnumAccess<'de> for MapEnum<'a> {
    type Error = DeError;
    type Variant = NodeDe<'a>;

    fn variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<(T::Value, NodeDe<'a>), DeError> {
        let path = self.key.path.clone();
        let ctx = self.key.ctx;
        let v = guarded(ctx, &path, || seed.deserialize(self.key))?;
        Ok((v, self.value))
    }
}

impl<'de> VariantAccess<'de> for NodeDe<'_> {
    type Error = DeError;

    fn unit_variant(self) -> Result<(), DeError> {
        match self.node.kind {
            Kind::Null => Ok(()),
            _ => Err(self.report(de::Error::custom("this name takes no value"))),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, DeError> {
        let path = self.path.clone();
        let ctx = self.ctx;
        guarded(ctx, &path, || seed.deserialize(self))
    }

    fn tuple_variant<V: Visitor<'de>>(self, _: usize, v: V) -> Result<V::Value, DeError> {
        self.deserialize_seq(v)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_struct("", fields, v)
    }
}

/// A tagged server or endpoint: `kind` names the variant, the rest of the map is its content.
#[derive(Debug)]
struct KindEnum<'a> {
    kind: NodeDe<'a>,
    body: NodeDe<'a>,
}

impl<'de, 'a> EnumAccess<'de> for KindEnum<'a> {
    type Error = DeError;
    type Variant = KindBody<'a>;

    fn variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<(T::Value, KindBody<'a>), DeError> {
        let path = self.kind.path.clone();
        let ctx = self.kind.ctx;
        let v = guarded(ctx, &path, || seed.deserialize(self.kind))?;
        Ok((v, KindBody(self.body)))
    }
}

/// The content of a tagged node: the node itself, `kind` hidden.
#[derive(Debug)]
struct KindBody<'a>(NodeDe<'a>);

impl<'de> VariantAccess<'de> for KindBody<'_> {
    type Error = DeError;

    fn unit_variant(self) -> Result<(), DeError> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, DeError> {
        seed.deserialize(self.0)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _: usize, v: V) -> Result<V::Value, DeError> {
        self.0.deserialize_seq(v)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, DeError> {
        self.0.deserialize_struct("", fields, v)
    }
}

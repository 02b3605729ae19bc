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

use super::error::{DeError, ErrorKind, Found, friendly, one_of};
use super::scalar::{Resolved, resolve};
use super::tree::{Kind, Node};
use crate::diag::Diagnostic;
use crate::model::KIND_TAGGED;
use crate::path::YamlPath;
mod access;
mod ctx;
mod locate;

pub(crate) use ctx::Ctx;

use access::{KindEnum, MapEnum, NodeMap, NodeSeq, UnitEnum};
use locate::{What, describe};
use serde::de::{self, Deserializer, Expected, Visitor};
use std::cell::RefCell;

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
            Kind::Map(_) => v.visit_map(self.map_access(&[], true)),
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
    fn map_access(&self, skip: &[&str], whole: bool) -> NodeMap<'a> {
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
            whole,
            entries,
            pos: 0,
            value: None,
            parent: self.clone(),
        }
    }

    fn structure<'de, V: Visitor<'de>>(
        &self,
        name: &'static str,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, DeError> {
        match self.fields(fields, v) {
            Err(e) if !e.reported && matches!(e.kind, ErrorKind::MissingField(_)) => {
                Err(self.missing(name, e))
            }
            r => r,
        }
    }

    /// Reports every required field of the struct `name` that is absent, in one diagnostic
    /// (serde names only the first).
    fn missing(&self, name: &str, e: DeError) -> DeError {
        let Some(required) = crate::model::required_fields(name) else {
            return e;
        };
        let entries = self.node.entries().unwrap_or_default();
        let ctx = self.ctx.borrow();
        let absent: Vec<&str> = required
            .iter()
            .map(String::as_str)
            .filter(|f| Some(*f) != self.hide)
            .filter(|f| {
                let present = entries.iter().any(|(k, _)| k.scalar() == Some(f));
                !present && !ctx.masked(&self.path.key(f)) && !self.misspelt(&ctx, f)
            })
            .collect();
        drop(ctx);
        let message = match absent.as_slice() {
            [] => return e,
            [one] => format!("missing field `{one}`"),
            many => format!("missing fields {}", names(many)),
        };
        let d = Diagnostic::error(self.path.clone(), message).at(Some(self.node.span.location()));
        self.ctx.borrow_mut().record(d, self.path.clone());
        e.settled()
    }

    fn fields<'de, V: Visitor<'de>>(
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
                v.visit_map(self.map_access(&unknown, false))
            }
            Kind::Null => v.visit_map(self.map_access(&[], false)),
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
                let access = self.map_access(&[], true);
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

/// `` `a`, `b` `` of a list of names.
fn names(list: &[&str]) -> String {
    list.iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
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
            Kind::Map(_) | Kind::Null => v.visit_map(self.map_access(&[], true)),
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
            self.structure(name, fields, v)
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

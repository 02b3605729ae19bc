//! Where an error points, and how it is worded.

use super::{Ctx, NodeDe, Role};
use crate::load::error::{DeError, ErrorKind, Found, did_you_mean, one_of};
use crate::load::scalar::{Resolved, resolve};
use crate::load::tree::{Kind, Node, Span};
use crate::path::YamlPath;

impl NodeDe<'_> {
    /// Whether a hidden (unknown, already reported) key of this map looks like a typo of
    /// `field`: then `field` being missing is not reported again.
    pub(super) fn misspelt(&self, ctx: &Ctx, field: &str) -> bool {
        self.node
            .entries()
            .unwrap_or_default()
            .iter()
            .any(|(k, _)| {
                let name = k.scalar().unwrap_or("~");
                name != field
                    && ctx.masked(&self.path.key(name))
                    && did_you_mean(name, &[field]).is_some()
            })
    }

    /// Whether the error only follows from something already masked.
    pub(super) fn consequence(&self, kind: &ErrorKind) -> bool {
        let ctx = self.ctx.borrow();
        match kind {
            ErrorKind::MissingField(f) => ctx.masked(&self.path.key(f)) || self.misspelt(&ctx, f),
            // Masked paths inside this node sort right after it: look at those only.
            ErrorKind::InvalidLength { .. } => ctx
                .masks
                .range(self.path.clone()..)
                .take_while(|m| m.as_str().starts_with(self.path.as_str()))
                .any(|m| m.is_below(&self.path) && m.parent() == self.path),
            _ => false,
        }
    }

    /// Where an error points.
    pub(super) fn locate(&self, kind: &ErrorKind) -> At {
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
}

/// What an error points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum What {
    Value,
    Key,
    Kind,
}

/// A located error.
#[derive(Debug)]
pub(super) struct At {
    pub(super) path: YamlPath,
    pub(super) span: Span,
    pub(super) what: What,
}

/// The message and help line of an error.
pub(super) fn describe(e: &DeError, what: What) -> (String, Option<String>) {
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

/// The first scalar under `node` (document order) that reads as `found`.
pub(super) fn find_scalar(node: &Node, path: &YamlPath, found: &Found) -> Option<(YamlPath, Span)> {
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

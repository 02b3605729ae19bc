//! The error type of the tree deserializer: serde's error kinds kept apart (so that they can be
//! located and worded well), plus whether the error was already recorded as a diagnostic.

use serde::de::{self, Expected, Unexpected};
use std::fmt;

/// A value as an error message shows it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Found {
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Null,
    Seq,
    Map,
    Other(String),
}

impl Found {
    fn from_unexpected(u: &Unexpected<'_>) -> Self {
        match *u {
            Unexpected::Bool(b) => Self::Bool(b),
            Unexpected::Unsigned(n) => Self::Int(i128::from(n)),
            Unexpected::Signed(n) => Self::Int(i128::from(n)),
            Unexpected::Float(f) => Self::Float(f),
            Unexpected::Char(c) => Self::Str(c.to_string()),
            Unexpected::Str(s) => Self::Str(s.to_owned()),
            Unexpected::Unit => Self::Null,
            Unexpected::Seq => Self::Seq,
            Unexpected::Map => Self::Map,
            ref other => Self::Other(other.to_string()),
        }
    }
}

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bool(b) => write!(f, "boolean `{b}`"),
            Self::Int(n) => write!(f, "integer `{n}`"),
            Self::Float(x) => write!(f, "number `{x}`"),
            Self::Str(s) => write!(f, "string `{s}`"),
            Self::Null => f.write_str("null"),
            Self::Seq => f.write_str("a list"),
            Self::Map => f.write_str("a mapping"),
            Self::Other(s) => f.write_str(s),
        }
    }
}

/// What went wrong.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum ErrorKind {
    UnknownField {
        field: String,
        expected: &'static [&'static str],
    },
    UnknownVariant {
        variant: String,
        expected: &'static [&'static str],
    },
    MissingField(&'static str),
    DuplicateField(&'static str),
    InvalidType {
        found: Found,
        expected: String,
    },
    InvalidValue {
        found: Found,
        expected: String,
    },
    InvalidLength {
        len: usize,
        expected: String,
    },
    Custom(String),
}

/// An error while reading the tree into the model.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct DeError {
    pub(crate) kind: ErrorKind,
    /// Already recorded as a diagnostic (or deliberately not, as a consequence of another).
    pub(crate) reported: bool,
}

impl DeError {
    pub(crate) const fn new(kind: ErrorKind) -> Self {
        Self {
            kind,
            reported: false,
        }
    }

    pub(crate) fn invalid_type_of(found: Found, expected: &dyn Expected) -> Self {
        Self::new(ErrorKind::InvalidType {
            found,
            expected: friendly(&expected.to_string()),
        })
    }

    /// The same error, marked as recorded.
    pub(crate) fn settled(mut self) -> Self {
        self.reported = true;
        self
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::UnknownField { field, expected } => {
                write!(f, "unknown field `{field}`, {}", one_of(expected))
            }
            ErrorKind::UnknownVariant { variant, expected } => {
                write!(f, "unknown value `{variant}`, {}", one_of(expected))
            }
            ErrorKind::MissingField(field) => write!(f, "missing field `{field}`"),
            ErrorKind::DuplicateField(field) => write!(f, "duplicate field `{field}`"),
            ErrorKind::InvalidType { found, expected } => {
                write!(f, "expected {expected}, found {found}")
            }
            ErrorKind::InvalidValue { found, expected } => {
                write!(f, "invalid value: {found}, expected {expected}")
            }
            ErrorKind::InvalidLength { len, expected } => {
                write!(
                    f,
                    "expected {expected}, found {len} item{}",
                    if *len == 1 { "" } else { "s" }
                )
            }
            ErrorKind::Custom(msg) => f.write_str(msg),
        }
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self::new(ErrorKind::Custom(msg.to_string()))
    }

    fn invalid_type(unexp: Unexpected<'_>, exp: &dyn Expected) -> Self {
        Self::invalid_type_of(Found::from_unexpected(&unexp), exp)
    }

    fn invalid_value(unexp: Unexpected<'_>, exp: &dyn Expected) -> Self {
        Self::new(ErrorKind::InvalidValue {
            found: Found::from_unexpected(&unexp),
            expected: friendly(&exp.to_string()),
        })
    }

    fn invalid_length(len: usize, exp: &dyn Expected) -> Self {
        Self::new(ErrorKind::InvalidLength {
            len,
            expected: friendly(&exp.to_string()),
        })
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        Self::new(ErrorKind::UnknownVariant {
            variant: variant.to_owned(),
            expected,
        })
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        Self::new(ErrorKind::UnknownField {
            field: field.to_owned(),
            expected,
        })
    }

    fn missing_field(field: &'static str) -> Self {
        Self::new(ErrorKind::MissingField(field))
    }

    fn duplicate_field(field: &'static str) -> Self {
        Self::new(ErrorKind::DuplicateField(field))
    }
}

/// "expected one of `a`, `b`, `c`" / "expected `a` or `b`" / "expected `a`".
pub(crate) fn one_of(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.as_slice() {
        [] => "expected nothing here".to_owned(),
        [one] => format!("expected {one}"),
        [a, b] => format!("expected {a} or {b}"),
        many => format!("expected one of {}", many.join(", ")),
    }
}

/// Serde's names of what a visitor expects, in words a scenario writer knows.
pub(crate) fn friendly(expected: &str) -> String {
    let range = |lo: &str, hi: &str| format!("an integer from {lo} to {hi}");
    match expected {
        "u8" => range("0", "255"),
        "u16" => range("0", "65535"),
        "u32" => range("0", "4294967295"),
        "u64" | "u128" => "a whole number (0 or more)".to_owned(),
        "i8" | "i16" | "i32" | "i64" | "i128" => "an integer".to_owned(),
        "f32" | "f64" => "a number".to_owned(),
        "a boolean" => "`true` or `false`".to_owned(),
        "a sequence" => "a list".to_owned(),
        "IP address" => "an IP address (such as `192.0.2.1` or `2001:db8::1`)".to_owned(),
        s if s.starts_with("struct ") || s.starts_with("map") => "a mapping".to_owned(),
        s if s.starts_with("an array of length ") || s.starts_with("a tuple of size ") => {
            let n = s.rsplit(' ').next().unwrap_or("");
            format!("a list of {n} items")
        }
        s if s.starts_with("enum ") => "one of the documented names".to_owned(),
        s => s.to_owned(),
    }
}

/// The candidate closest to `word`, if it is close enough to be a likely typo.
pub(crate) fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let norm = |s: &str| s.to_ascii_lowercase().replace('-', "_");
    let w = norm(word);
    if let Some(c) = candidates.iter().find(|c| norm(c) == w) {
        return Some(c);
    }
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .iter()
        .map(|c| (edit_distance(&w, &norm(c)), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Optimal string alignment distance (Levenshtein plus adjacent transpositions).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestion_close_typos_only() {
        let fields = ["name", "udp_timeout", "tcp_timeout", "lan"];
        assert_eq!(did_you_mean("udp_timout", &fields), Some("udp_timeout"));
        assert_eq!(did_you_mean("nmae", &fields), Some("name"));
        assert_eq!(did_you_mean("udp-timeout", &fields), Some("udp_timeout"));
        assert_eq!(did_you_mean("colour", &fields), None);
        assert_eq!(did_you_mean("lna", &fields), Some("lan"));
    }

    #[test]
    fn one_of_lists_names() {
        assert_eq!(one_of(&["a"]), "expected `a`");
        assert_eq!(one_of(&["a", "b"]), "expected `a` or `b`");
        assert_eq!(one_of(&["a", "b", "c"]), "expected one of `a`, `b`, `c`");
    }

    #[test]
    fn friendly_names_integer_ranges() {
        assert_eq!(friendly("u16"), "an integer from 0 to 65535");
        assert_eq!(friendly("an array of length 2"), "a list of 2 items");
        assert_eq!(friendly("struct NatSpec"), "a mapping");
    }
}

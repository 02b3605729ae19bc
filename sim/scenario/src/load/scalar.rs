//! Scalar resolution by the YAML 1.2 core schema: a plain scalar is null, a boolean, an integer or
//! a float when it reads as one, else a string; a quoted (or block) scalar is always a string.

/// How a scalar was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Style {
    /// Without quotes: resolved by the core schema.
    Plain,
    /// Single- or double-quoted, literal, folded or tagged `!!str`: always a string.
    Quoted,
}

/// What a scalar means.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Resolved<'a> {
    /// `~`, `null`, empty.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer (decimal, `0x` hex or `0o` octal).
    Int(i128),
    /// A float, `.inf` or `.nan`.
    Float(f64),
    /// Anything else.
    Str(&'a str),
}

/// Whether a plain scalar is null.
pub(crate) fn is_null(text: &str) -> bool {
    matches!(text, "" | "~" | "null" | "Null" | "NULL")
}

/// Resolves a scalar.
pub(crate) fn resolve(text: &str, style: Style) -> Resolved<'_> {
    if style == Style::Quoted {
        return Resolved::Str(text);
    }
    if is_null(text) {
        return Resolved::Null;
    }
    match text {
        "true" | "True" | "TRUE" => return Resolved::Bool(true),
        "false" | "False" | "FALSE" => return Resolved::Bool(false),
        _ => {}
    }
    if let Some(i) = int(text) {
        return Resolved::Int(i);
    }
    if let Some(f) = float(text) {
        return Resolved::Float(f);
    }
    Resolved::Str(text)
}

fn int(text: &str) -> Option<i128> {
    if let Some(hex) = text.strip_prefix("0x") {
        return radix(hex, 16);
    }
    if let Some(oct) = text.strip_prefix("0o") {
        return radix(oct, 8);
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Too many digits for i128 still reads as an integer (reported as out of range).
    Some(text.parse::<i128>().unwrap_or(if text.starts_with('-') {
        i128::MIN
    } else {
        i128::MAX
    }))
}

fn radix(digits: &str, radix: u32) -> Option<i128> {
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    Some(i128::from_str_radix(digits, radix).unwrap_or(i128::MAX))
}

fn float(text: &str) -> Option<f64> {
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    let negative = text.starts_with('-');
    match unsigned {
        ".inf" | ".Inf" | ".INF" => {
            return Some(if negative {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            });
        }
        ".nan" | ".NaN" | ".NAN" if unsigned.len() == text.len() => return Some(f64::NAN),
        _ => {}
    }
    // [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(i) => (&unsigned[..i], Some(&unsigned[i + 1..])),
        None => (unsigned, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = digits(int)
        && digits(frac)
        && if mantissa.contains('.') {
            !(int.is_empty() && frac.is_empty())
        } else {
            !int.is_empty()
        };
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    if !(mantissa_ok && exponent_ok) {
        return None;
    }
    text.parse::<f64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(s: &str) -> Resolved<'_> {
        resolve(s, Style::Plain)
    }

    #[test]
    fn scalar_plain_null_and_bool() {
        for s in ["", "~", "null", "NULL"] {
            assert_eq!(plain(s), Resolved::Null, "{s}");
        }
        assert_eq!(plain("true"), Resolved::Bool(true));
        assert_eq!(plain("FALSE"), Resolved::Bool(false));
        assert_eq!(plain("yes"), Resolved::Str("yes"));
        assert_eq!(plain("nULL"), Resolved::Str("nULL"));
    }

    #[test]
    fn scalar_plain_integers_in_three_bases() {
        assert_eq!(plain("42"), Resolved::Int(42));
        assert_eq!(plain("-7"), Resolved::Int(-7));
        assert_eq!(plain("+3"), Resolved::Int(3));
        assert_eq!(plain("0x1F"), Resolved::Int(31));
        assert_eq!(plain("0o17"), Resolved::Int(15));
        assert_eq!(plain("0x"), Resolved::Str("0x"));
        assert_eq!(plain("0o8"), Resolved::Str("0o8"));
        assert_eq!(
            plain("99999999999999999999999999999999999999999"),
            Resolved::Int(i128::MAX)
        );
    }

    #[test]
    fn scalar_plain_floats() {
        assert_eq!(plain("1.5"), Resolved::Float(1.5));
        assert_eq!(plain(".5"), Resolved::Float(0.5));
        assert_eq!(plain("1."), Resolved::Float(1.0));
        assert_eq!(plain("1e3"), Resolved::Float(1000.0));
        assert_eq!(plain("-.inf"), Resolved::Float(f64::NEG_INFINITY));
        assert!(matches!(plain(".nan"), Resolved::Float(f) if f.is_nan()));
        for s in [".", "1.2.3", "e3", "1e", "10.0.0.1", "30s", "1.5s", "-.nan"] {
            assert_eq!(plain(s), Resolved::Str(s), "{s}");
        }
    }

    #[test]
    fn scalar_quoted_is_always_a_string() {
        assert_eq!(resolve("42", Style::Quoted), Resolved::Str("42"));
        assert_eq!(resolve("", Style::Quoted), Resolved::Str(""));
        assert_eq!(resolve("true", Style::Quoted), Resolved::Str("true"));
    }
}

//! Reporters: the same [`crate::Analysis`] rendered as terminal tables, JSON, a text ladder and a
//! standalone HTML/SVG ladder. They return strings; printing is the caller's business.

pub mod html;
pub mod ladder_text;
pub mod table;

use crate::analysis::Analysis;

/// The JSON document of one analysis (pretty-printed), as a string.
pub fn json(a: &mut Analysis) -> String {
    let mut out = Vec::new();
    if a.write_json(&mut out).is_err() {
        return String::new();
    }
    String::from_utf8(out).unwrap_or_default()
}

pub use crate::analysis::write_json_many;

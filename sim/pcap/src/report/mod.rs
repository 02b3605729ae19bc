//! Reporters: the same [`crate::Analysis`] rendered as terminal tables, JSON, a text ladder and a
//! standalone HTML/SVG ladder. They return strings; printing is the caller's business.

pub mod html;
pub mod ladder_text;
pub mod table;

use crate::analysis::Analysis;

/// The JSON document of one analysis (pretty-printed).
pub fn json(a: &Analysis) -> String {
    serde_json::to_string_pretty(a).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

/// The JSON document for several captures: one object for one capture, an array for several.
pub fn json_many(all: &[Analysis]) -> String {
    match all {
        [one] => json(one),
        many => {
            serde_json::to_string_pretty(many).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
        }
    }
}

//! The meaning of a code: the operator's trunk table first (it keys on the code and, for 500, a
//! qualifier in the response text), then the RFC registry.

use crate::sip::{StatusCode, status_info};
use sim_catalog::trunk_error_for_response;

/// Where a meaning comes from when it is the operator's.
pub const OPERATOR_SOURCE: &str = "operator trunk table";

/// The explanation of one SIP status code in context.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Meaning {
    /// The standard phrase (RFC), if registered.
    pub standard_phrase: Option<&'static str>,
    /// The meaning to show.
    pub meaning: Option<&'static str>,
    /// Its source.
    pub source: Option<&'static str>,
    /// The operator's advice, when the operator lists the code.
    pub hint: Option<&'static str>,
    /// The operator's own reason phrase, when it lists the code.
    pub operator_phrase: Option<&'static str>,
    /// Whether the operator calls it an error (`None` when it does not list the code).
    pub operator_is_error: Option<bool>,
}

/// Explains `code`, given the reason phrase and other text of the response (Warning, Reason...).
pub fn sip_meaning(code: u16, text: &str) -> Meaning {
    let standard = status_info(StatusCode(code));
    let operator = trunk_error_for_response(code, text);
    Meaning {
        standard_phrase: standard.map(|s| s.phrase),
        meaning: operator.map(|o| o.meaning).or(standard.map(|s| s.meaning)),
        source: operator
            .map(|_| OPERATOR_SOURCE)
            .or(standard.map(|s| s.rfc)),
        hint: operator.map(|o| o.diagnostic_hint),
        operator_phrase: operator.map(|o| o.reason_phrase),
        operator_is_error: operator.map(|o| o.is_error),
    }
}

/// The standard meaning alone (for the RFC column when the operator's differs).
pub fn rfc_meaning(code: u16) -> Option<&'static str> {
    status_info(StatusCode(code)).map(|s| s.meaning)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meaning_operator_table_wins_and_qualifier_selects_the_row() {
        let m = sip_meaning(409, "Not enough money");
        assert_eq!(m.source, Some(OPERATOR_SOURCE));
        assert!(m.meaning.unwrap().contains("money"));
        let plain = sip_meaning(500, "Service Unavailable");
        let fwd = sip_meaning(500, "Service Unavailable. X-FWD-Original incorrect");
        assert_ne!(plain.meaning, fwd.meaning);
        let rfc = sip_meaning(420, "Bad Extension");
        assert_eq!(rfc.source, Some("RFC 3261"));
        assert_eq!(rfc.hint, None);
        assert_eq!(sip_meaning(487, "").operator_is_error, Some(false));
    }
}

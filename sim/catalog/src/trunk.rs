//! The operator SIP-trunk error table (`trunk-sip-errors.yaml`): 19 rows, 18 status codes.
//!
//! Several reason phrases are the operator's own (`409 Not enough money`, `503 Simultaneous
//! calls limit reached`), so a decoder keys on the status code, and for 500 on the
//! `X-FWD-Original incorrect` qualifier text: see [`trunk_error_for_response`].

use crate::data;
use crate::fault::Fault;

/// One row of the operator's "most frequently encountered errors" table.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TrunkError {
    /// Position in the document (1-based).
    pub order: u8,
    /// The SIP status code.
    pub code: u16,
    /// The phrase the document prints after the code (may differ from RFC 3261).
    pub reason_phrase: &'static str,
    /// Extra text that tells this row from another with the same code (`X-FWD-Original
    /// incorrect` on the second 500 row).
    pub qualifier: Option<&'static str>,
    /// The whole line as the document writes it, where it holds more than code and phrase.
    pub as_written: Option<&'static str>,
    /// What the error means (translated from Ukrainian).
    pub meaning: &'static str,
    /// What the row tells the customer to check or do.
    pub diagnostic_hint: &'static str,
    /// False only for 487, which the document calls "not an error".
    pub is_error: bool,
    /// The analyser's grouping of the row.
    pub category: TrunkCategory,
    /// The SIP header the row is about (`X-FWD-ORIGINAL`), if any.
    pub header: Option<&'static str>,
    /// Other SIP headers or methods the row involves (`RAck`, `RSeq`, `PRACK`).
    pub related_headers: &'static [&'static str],
    /// The document's explanation, verbatim.
    pub original_uk: &'static str,
    /// Differences from the RFCs and other oddities, not corrected.
    pub comment: Option<&'static str>,
    pub(crate) fault: &'static Fault,
}

impl TrunkError {
    /// The `FAULTS.md` section 4 row: how the simulated trunk produces the error and what the
    /// endpoint observes.
    pub fn fault(&self) -> &'static Fault {
        self.fault
    }
}

/// The analyser's grouping of trunk errors (`category` in the catalog; not a document field).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum TrunkCategory {
    /// `authentication`: 401, 407.
    Authentication,
    /// `protocol`: 400, 481.
    Protocol,
    /// `addressing`: 403, 404.
    Addressing,
    /// `billing`: 409.
    Billing,
    /// `forwarding`: 412 and the qualified 500.
    Forwarding,
    /// `availability`: 480.
    Availability,
    /// `callee-decision`: 486, 603, 607.
    CalleeDecision,
    /// `normal-termination`: 487.
    NormalTermination,
    /// `media-security`: 488.
    MediaSecurity,
    /// `service`: 500, 501, 502.
    Service,
    /// `capacity`: 503.
    Capacity,
}

impl TrunkCategory {
    /// Every category.
    pub const ALL: [Self; 11] = [
        Self::Authentication,
        Self::Protocol,
        Self::Addressing,
        Self::Billing,
        Self::Forwarding,
        Self::Availability,
        Self::CalleeDecision,
        Self::NormalTermination,
        Self::MediaSecurity,
        Self::Service,
        Self::Capacity,
    ];

    /// The catalog's spelling (`callee-decision`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Authentication => "authentication",
            Self::Protocol => "protocol",
            Self::Addressing => "addressing",
            Self::Billing => "billing",
            Self::Forwarding => "forwarding",
            Self::Availability => "availability",
            Self::CalleeDecision => "callee-decision",
            Self::NormalTermination => "normal-termination",
            Self::MediaSecurity => "media-security",
            Self::Service => "service",
            Self::Capacity => "capacity",
        }
    }

    /// The category spelled `name` (ASCII case-insensitive).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(name))
    }
}

impl std::fmt::Display for TrunkCategory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The page's advice on taking a call dump for support.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallDumpAdvice {
    /// The heading as written (Ukrainian).
    pub heading_as_written: &'static str,
    /// The heading in English.
    pub heading_en: &'static str,
    /// The advice, translated.
    pub text: &'static str,
    /// The tools it names.
    pub tools: &'static [DumpTool],
    /// The file format asked for (`pcap`).
    pub file_format: &'static str,
    /// The requirement as stated.
    pub requirement: &'static str,
    /// The paragraph verbatim.
    pub original_uk: &'static str,
}

/// A capture tool the operator suggests.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DumpTool {
    /// Its name (`sngrep`, `Wireshark`).
    pub name: &'static str,
    /// What the page calls it (`network utility`, `program`).
    pub kind: &'static str,
}

/// Every trunk row, in document order (the two 500 rows are rows 13 and 14).
pub fn trunk_errors() -> &'static [TrunkError] {
    &data::TRUNK_ERRORS
}

/// The rows for status `code`, in document order: none, one, or (for 500) two.
pub fn trunk_errors_for(code: u16) -> impl Iterator<Item = &'static TrunkError> {
    trunk_errors().iter().filter(move |e| e.code == code)
}

/// The row that explains a trunk response with status `code`, given the reason phrase and any
/// other text the response carries (`reason_phrase_and_text`).
///
/// Keys on the code, as the catalog's conventions ask: the phrase alone is not reliable. Where
/// one code has several rows, a row whose qualifier occurs in the text (ASCII
/// case-insensitive) wins, else the row without a qualifier; so
/// `500 Service Unavailable. X-FWD-Original incorrect` is row 14 and a bare
/// `500 Service Unavailable` row 13.
pub fn trunk_error_for_response(
    code: u16,
    reason_phrase_and_text: &str,
) -> Option<&'static TrunkError> {
    let mut plain = None;
    for row in trunk_errors_for(code) {
        match row.qualifier {
            Some(q) if contains_ignore_ascii_case(reason_phrase_and_text, q) => return Some(row),
            Some(_) => {}
            None => plain = plain.or(Some(row)),
        }
    }
    plain
}

/// The page's call-dump advice.
pub fn call_dump_advice() -> &'static CallDumpAdvice {
    &data::CALL_DUMP_ADVICE
}

fn contains_ignore_ascii_case(haystack: &str, needle: &str) -> bool {
    let needle = needle.as_bytes();
    needle.is_empty()
        || haystack
            .as_bytes()
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault::FaultGroup;

    #[test]
    fn trunk_errors_count_matches_yaml_count() {
        assert_eq!(trunk_errors().len(), 19);
        let orders: Vec<u8> = trunk_errors().iter().map(|e| e.order).collect();
        assert_eq!(orders, (1..=19).collect::<Vec<u8>>());
    }

    #[test]
    fn trunk_errors_for_500_has_two_rows() {
        let rows: Vec<_> = trunk_errors_for(500).collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].qualifier, None);
        assert_eq!(rows[1].qualifier, Some("X-FWD-Original incorrect"));
        assert_eq!(trunk_errors_for(404).count(), 1);
        assert_eq!(trunk_errors_for(200).count(), 0);
    }

    #[test]
    fn trunk_error_for_response_500_with_qualifier_picks_forwarding_row() {
        let row =
            trunk_error_for_response(500, "Service Unavailable. X-FWD-Original incorrect").unwrap();
        assert_eq!(row.order, 14);
        assert_eq!(row.category, TrunkCategory::Forwarding);
        let lower = trunk_error_for_response(500, "service unavailable x-fwd-original INCORRECT");
        assert_eq!(lower.map(|r| r.order), Some(14));
    }

    #[test]
    fn trunk_error_for_response_500_without_qualifier_picks_service_row() {
        let row = trunk_error_for_response(500, "Service Unavailable").unwrap();
        assert_eq!(row.order, 13);
        assert_eq!(row.category, TrunkCategory::Service);
        assert_eq!(trunk_error_for_response(500, "").map(|r| r.order), Some(13));
    }

    #[test]
    fn trunk_error_for_response_keys_on_code_not_phrase() {
        let row = trunk_error_for_response(409, "Conflict").unwrap();
        assert_eq!(row.reason_phrase, "Not enough money");
        assert!(trunk_error_for_response(410, "Not enough money").is_none());
    }

    #[test]
    fn trunk_error_487_is_not_an_error() {
        let errors: Vec<u16> = trunk_errors()
            .iter()
            .filter(|e| !e.is_error)
            .map(|e| e.code)
            .collect();
        assert_eq!(errors, [487]);
    }

    #[test]
    fn trunk_errors_each_have_their_trunk_table_fault() {
        for e in trunk_errors() {
            assert_eq!(e.fault().group, FaultGroup::Trunk);
            assert_eq!(e.fault().codes, e.order.to_string());
            assert!(e.fault().reports.is_some());
        }
        let second_500 = trunk_errors_for(500).nth(1).unwrap().fault();
        assert_eq!(second_500.labels, Some("mutation"));
    }

    #[test]
    fn trunk_row_481_lists_related_headers() {
        let row = trunk_errors_for(481).next().unwrap();
        assert_eq!(row.related_headers, ["RAck", "RSeq", "PRACK"]);
        assert!(
            trunk_errors_for(404)
                .next()
                .unwrap()
                .related_headers
                .is_empty()
        );
    }

    #[test]
    fn call_dump_advice_names_pcap_tools() {
        let advice = call_dump_advice();
        assert_eq!(advice.file_format, "pcap");
        let tools: Vec<&str> = advice.tools.iter().map(|t| t.name).collect();
        assert_eq!(tools, ["sngrep", "Wireshark"]);
    }
}

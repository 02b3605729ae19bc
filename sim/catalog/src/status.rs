//! AAE SDK status codes (`aae-status.yaml`): the 301 status rows, in 24 document groups.

use crate::data;
use crate::fault::Fault;

/// A heading of the document's status tables, with the rows under it.
///
/// Headings are kept verbatim, including "…shouldn't be used" and the one Chinese heading;
/// "STUN errors" appears twice (sections 15 and 18), told apart by `section`.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct StatusGroup {
    /// 1-based position of the heading in the document.
    pub section: u8,
    /// The heading as written (`無類別`, `ICE related errors`).
    pub heading: &'static str,
    /// English translation of a non-English heading (section 1 only).
    pub heading_en: Option<&'static str>,
    /// The first code under the heading.
    pub first_code: u32,
    /// The last code under the heading.
    pub last_code: u32,
    /// How many rows the heading holds.
    pub rows: u16,
    /// What is unusual about the group.
    pub note: Option<&'static str>,
}

impl StatusGroup {
    /// The heading in English: `heading_en` where there is one, else `heading`.
    pub fn heading_english(&self) -> &'static str {
        self.heading_en.unwrap_or(self.heading)
    }

    /// Whether `name` names this group (ASCII case-insensitive): the heading, the English
    /// heading, or the English heading without its trailing parenthesis (`Uncategorized`).
    pub fn is_named(&self, name: &str) -> bool {
        let name = name.trim();
        let short = self
            .heading_en
            .and_then(|h| h.split_once(" (").map(|(short, _)| short));
        [Some(self.heading), self.heading_en, short]
            .into_iter()
            .flatten()
            .any(|h| h.eq_ignore_ascii_case(name))
    }

    /// The statuses under this heading, in document order.
    pub fn statuses(&'static self) -> impl Iterator<Item = &'static AaeStatus> {
        aae_statuses()
            .iter()
            .filter(move |s| std::ptr::eq(s.group, self))
    }
}

/// Which code family a status belongs to, from its name prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum StatusFamily {
    /// `sip-like`: the three-digit SIP-style codes (404, 408, 477, 486, 487).
    SipLike,
    /// `pjlib`: `PJ_*`.
    Pjlib,
    /// `pjlib-util`: `PJLIB_UTIL_*` (legacy STUN, DNS, HTTP, XML).
    PjlibUtil,
    /// `pjsip`: `PJSIP_*`.
    Pjsip,
    /// `pjsip-tls`: `PJSIP_TLS_*`.
    PjsipTls,
    /// `pjsip-simple`: `PJSIP_SIMPLE_*` (presence, event packages).
    PjsipSimple,
    /// `pjmedia`: `PJMEDIA_*`.
    Pjmedia,
    /// `pjmedia-audiodev`: `PJMEDIA_EAUD_*`.
    PjmediaAudiodev,
    /// `pjnath`: `PJNATH_*` (STUN, ICE, TURN).
    Pjnath,
    /// `natnl`: `NATNL_SC_*`, the tunnel SDK's own codes.
    Natnl,
}

impl StatusFamily {
    /// The catalog's spelling (`sip-like`, `pjnath`...).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::SipLike => "sip-like",
            Self::Pjlib => "pjlib",
            Self::PjlibUtil => "pjlib-util",
            Self::Pjsip => "pjsip",
            Self::PjsipTls => "pjsip-tls",
            Self::PjsipSimple => "pjsip-simple",
            Self::Pjmedia => "pjmedia",
            Self::PjmediaAudiodev => "pjmedia-audiodev",
            Self::Pjnath => "pjnath",
            Self::Natnl => "natnl",
        }
    }
}

impl std::fmt::Display for StatusFamily {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One AAE SDK status code, as the document's "Status Code" appendix lists it.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AaeStatus {
    /// The status number (`404`, `370082`, `4200010`, `60000015`).
    pub code: u32,
    /// The code name (`PJNATH_EICEFAILED`); for 477 the document's text `Send Failed`.
    pub name: &'static str,
    /// The cell text, whitespace collapsed and enclosing quotes removed.
    pub description: &'static str,
    /// The cell as written, where reading it needed more than that (see `comment`).
    pub description_as_written: Option<&'static str>,
    /// The heading the row sits under.
    pub group: &'static StatusGroup,
    /// The code family, from the name prefix.
    pub family: StatusFamily,
    /// Oddities of the document (typos, mistyped codes, duplicated descriptions), not corrected.
    pub comment: Option<&'static str>,
    pub(crate) fault: &'static Fault,
}

impl AaeStatus {
    /// The `FAULTS.md` section 3 row for this status: the group A to G, the simulated cause
    /// and what a correct endpoint reports.
    pub fn fault(&self) -> &'static Fault {
        self.fault
    }

    /// The description cell exactly as the document writes it.
    pub fn as_written(&self) -> &'static str {
        self.description_as_written.unwrap_or(self.description)
    }
}

/// A status code the document does not list but the public natnl header defines
/// (`FAULTS.md` section 8). Not part of the catalog: lookups do not find it; it explains a
/// code seen in a real SDK's logs.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct UndocumentedStatus {
    /// The code (60000009, 60000010, 60000014).
    pub code: u32,
    /// The header's name, as `FAULTS.md` gives it.
    pub header_name: &'static str,
    /// When a real SDK reports it.
    pub note: &'static str,
}

static UNDOCUMENTED_STATUSES: [UndocumentedStatus; 3] = [
    UndocumentedStatus {
        code: 60000009,
        header_name: "NATNL_SC_TNL_TIMEOUT",
        note: "the hang-up status after event 60002 (tunnel keep-alive timeout)",
    },
    UndocumentedStatus {
        code: 60000010,
        header_name: "NATNL_SC_IDLE_TIMEOUT",
        note: "the hang-up status after event 60113 (idle timeout)",
    },
    UndocumentedStatus {
        code: 60000014,
        header_name: "INSTANT_MSG_TOO_LONG",
        note: "an instant message over the maximum length of 1024 bytes",
    },
];

/// The gap `code` if the public natnl header defines it but the document leaves it out.
pub fn undocumented_status(code: u32) -> Option<&'static UndocumentedStatus> {
    UNDOCUMENTED_STATUSES.iter().find(|u| u.code == code)
}

/// Every status code, in document order (ascending code).
pub fn aae_statuses() -> &'static [AaeStatus] {
    &data::AAE_STATUSES
}

/// The status numbered `code`.
pub fn aae_status(code: u32) -> Option<&'static AaeStatus> {
    let statuses = aae_statuses();
    statuses
        .binary_search_by_key(&code, |s| s.code)
        .ok()
        .and_then(|i| statuses.get(i))
}

/// The status named `name` (ASCII case-insensitive; `Send Failed` finds 477).
pub fn aae_status_by_name(name: &str) -> Option<&'static AaeStatus> {
    aae_statuses()
        .iter()
        .find(|s| s.name.eq_ignore_ascii_case(name))
}

/// The 24 status headings, in document order.
pub fn status_groups() -> &'static [StatusGroup] {
    &data::STATUS_GROUPS
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault::FaultGroup;

    #[test]
    fn aae_statuses_count_matches_yaml_count() {
        assert_eq!(aae_statuses().len(), 301);
        assert_eq!(status_groups().len(), 24);
        let rows: u32 = status_groups().iter().map(|g| u32::from(g.rows)).sum();
        assert_eq!(rows, 301);
    }

    #[test]
    fn aae_status_known_code_found_with_group() {
        let s = aae_status(370082).unwrap();
        assert_eq!(s.name, "PJNATH_EICEFAILED");
        assert_eq!(s.group.heading, "ICE related errors");
        assert_eq!(s.group.section, 21);
        assert_eq!(s.family, StatusFamily::Pjnath);
    }

    #[test]
    fn aae_status_keeps_document_oddities() {
        let send_failed = aae_status(477).unwrap();
        assert_eq!(send_failed.name, "Send Failed");
        assert_eq!(send_failed.family, StatusFamily::SipLike);
        assert!(std::ptr::eq(
            aae_status_by_name("send failed").unwrap(),
            send_failed
        ));
        for code in [4200010, 4200011, 4200012] {
            assert_eq!(aae_status(code).unwrap().group.section, 23, "{code}");
        }
        for gap in [60000009, 60000010, 60000014, 420010] {
            assert!(aae_status(gap).is_none(), "{gap}");
        }
    }

    #[test]
    fn undocumented_statuses_are_the_gaps_faults_md_names() {
        let faults_md = include_str!("../data/FAULTS.md");
        let section_8 = faults_md.split("## 8.").nth(1).unwrap();
        for u in &UNDOCUMENTED_STATUSES {
            assert!(aae_status(u.code).is_none(), "{}", u.code);
            assert!(section_8.contains(&u.code.to_string()), "{}", u.code);
            let short = u.header_name.trim_start_matches("NATNL_SC_");
            assert!(section_8.contains(short), "{short}");
            assert!(faults_md.contains(u.header_name), "{}", u.header_name);
        }
        assert!(undocumented_status(60000008).is_none());
    }

    #[test]
    fn aae_status_repeated_heading_told_apart_by_section() {
        let first = aae_status(320001).unwrap().group;
        let second = aae_status(320110).unwrap().group;
        assert_eq!(first.heading, "STUN errors");
        assert_eq!(second.heading, "STUN errors");
        assert_eq!((first.section, second.section), (15, 18));
        assert_eq!(first.statuses().count(), 11);
        assert_eq!(second.statuses().count(), 15);
    }

    #[test]
    fn status_groups_rows_match_their_statuses() {
        for g in status_groups() {
            let codes: Vec<u32> = g.statuses().map(|s| s.code).collect();
            assert_eq!(codes.len(), usize::from(g.rows), "{}", g.heading);
            assert_eq!(codes.first(), Some(&g.first_code), "{}", g.heading);
            assert_eq!(codes.last(), Some(&g.last_code), "{}", g.heading);
        }
    }

    #[test]
    fn status_group_is_named_by_heading_or_english() {
        let first = &status_groups()[0];
        assert!(first.is_named("無類別"));
        assert!(first.is_named("uncategorized"));
        assert!(first.is_named("Uncategorized (literally \"no category\")"));
        assert!(
            aae_status(370082)
                .unwrap()
                .group
                .is_named("ice RELATED errors")
        );
        assert!(!first.is_named("ICE related errors"));
    }

    #[test]
    fn aae_status_description_as_written_kept_for_garbled_rows() {
        let s = aae_status(370091).unwrap();
        assert!(s.description_as_written.is_some());
        assert!(s.comment.is_some());
        assert_eq!(
            aae_status(404).unwrap().as_written(),
            "The remote device is not online"
        );
    }

    /// `FAULTS.md` section 9: every status row sits in exactly one group, with these totals.
    #[test]
    fn aae_statuses_each_have_one_fault_and_group_totals_match_section_9() {
        let expected = [
            (FaultGroup::Network, 25),
            (FaultGroup::Nat, 6),
            (FaultGroup::ServerPolicy, 35),
            (FaultGroup::Misconfiguration, 47),
            (FaultGroup::Timing, 24),
            (FaultGroup::Mutation, 82),
            (FaultGroup::NotSimulable, 82),
        ];
        for (group, count) in expected {
            let n = aae_statuses()
                .iter()
                .filter(|s| s.fault().group == group)
                .count();
            assert_eq!(n, count, "{group:?}");
        }
        for s in aae_statuses() {
            let rows = crate::fault::faults()
                .iter()
                .filter(|f| std::ptr::eq(*f, s.fault()))
                .count();
            assert_eq!(rows, 1, "{}", s.code);
            assert!(s.fault().group.letter().is_some(), "{}", s.code);
        }
    }

    #[test]
    fn aae_status_fault_single_row_and_range_row() {
        let ice = aae_status(370082).unwrap().fault();
        assert_eq!(ice.group, FaultGroup::Nat);
        assert!(ice.cause.starts_with("All ICE checklists failed."));
        assert!(
            ice.reports
                .unwrap()
                .contains("60105 MAKECALL_FAILED(370082)")
        );
        let range = aae_status(171108).unwrap().fault();
        assert!(range.codes.starts_with("171106–171110 (5 codes"));
        assert!(std::ptr::eq(range, aae_status(171110).unwrap().fault()));
        let joined = aae_status(171062).unwrap().fault();
        assert!(std::ptr::eq(joined, aae_status(171023).unwrap().fault()));
        let g = aae_status(70001).unwrap().fault();
        assert_eq!(g.group, FaultGroup::NotSimulable);
        assert_eq!(g.reports, None);
        assert!(!g.is_injected());
    }
}

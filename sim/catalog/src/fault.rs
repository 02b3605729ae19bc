//! Fault causes from `FAULTS.md`: how the simulator produces each documented code.

use crate::data;

/// Which table of `FAULTS.md` a [`Fault`] row comes from.
///
/// Status codes are grouped by how the fault is injected (section 3, groups A to G); events and
/// trunk rows have a table each (sections 2 and 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum FaultGroup {
    /// Section 2, "Event codes": the event table.
    Events,
    /// Section 3 A, "Network faults": loss, partitions, black holes, latency, resets, MTU.
    Network,
    /// Section 3 B, "NAT behaviour": mapping and filtering, timeouts, state loss, ALGs.
    Nat,
    /// Section 3 C, "Server policy": what the SIP, STUN/TURN and DNS servers decide to answer.
    ServerPolicy,
    /// Section 3 D, "Endpoint misconfiguration and API misuse".
    Misconfiguration,
    /// Section 3 E, "Timing, races and API sequencing".
    Timing,
    /// Section 3 F, "Protocol mutation (broken peer or in-transit corruption)".
    Mutation,
    /// Section 3 G, "Not meaningfully simulable".
    NotSimulable,
    /// Section 4, "Operator trunk codes": the trunk table.
    Trunk,
}

impl FaultGroup {
    /// Every group, in document order.
    pub const ALL: [Self; 9] = [
        Self::Events,
        Self::Network,
        Self::Nat,
        Self::ServerPolicy,
        Self::Misconfiguration,
        Self::Timing,
        Self::Mutation,
        Self::NotSimulable,
        Self::Trunk,
    ];

    /// The section 3 letter (`A` to `G`), or `None` for the event and trunk tables.
    pub const fn letter(self) -> Option<char> {
        match self {
            Self::Network => Some('A'),
            Self::Nat => Some('B'),
            Self::ServerPolicy => Some('C'),
            Self::Misconfiguration => Some('D'),
            Self::Timing => Some('E'),
            Self::Mutation => Some('F'),
            Self::NotSimulable => Some('G'),
            Self::Events | Self::Trunk => None,
        }
    }

    /// The heading of the group in `FAULTS.md`, without its number, letter or code count.
    pub const fn title(self) -> &'static str {
        match self {
            Self::Events => "Event codes",
            Self::Network => "Network faults",
            Self::Nat => "NAT behaviour",
            Self::ServerPolicy => "Server policy",
            Self::Misconfiguration => "Endpoint misconfiguration and API misuse",
            Self::Timing => "Timing, races and API sequencing",
            Self::Mutation => "Protocol mutation (broken peer or in-transit corruption)",
            Self::NotSimulable => "Not meaningfully simulable",
            Self::Trunk => "Operator trunk codes",
        }
    }

    /// The label used in reports and JSON: `"A. Network faults"`, `"2. Event codes"`,
    /// `"4. Operator trunk codes"`.
    pub const fn label(self) -> &'static str {
        match self {
            Self::Events => "2. Event codes",
            Self::Network => "A. Network faults",
            Self::Nat => "B. NAT behaviour",
            Self::ServerPolicy => "C. Server policy",
            Self::Misconfiguration => "D. Endpoint misconfiguration and API misuse",
            Self::Timing => "E. Timing, races and API sequencing",
            Self::Mutation => "F. Protocol mutation (broken peer or in-transit corruption)",
            Self::NotSimulable => "G. Not meaningfully simulable",
            Self::Trunk => "4. Operator trunk codes",
        }
    }

    /// Whether the simulator can produce codes of this group by injecting a condition.
    /// Only [`FaultGroup::NotSimulable`] says no.
    pub const fn is_simulable(self) -> bool {
        !matches!(self, Self::NotSimulable)
    }
}

impl std::fmt::Display for FaultGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// One row of a `FAULTS.md` table: the simulated cause of one or more documented codes.
///
/// Text is the markdown cell as written (backticks and `->` arrows kept).
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Fault {
    /// The table the row belongs to.
    pub group: FaultGroup,
    /// The first cell as written: ``408 `PJSIP_SC_REQUEST_TIMEOUT` ``, several such joined with
    /// `<br>`, ``171106–171110 (5 codes: `PJSIP_EAUTHNOAUTH` … `PJSIP_EAUTHINVALIDDIGEST`)``,
    /// ``60002 `NATNL_TNL_STUN_EVENT_KA_TIMEOUT` ``, or for trunk rows the row number (`14`).
    pub codes: &'static str,
    /// How the simulator produces the code. Status rows: "Simulated cause" (group G: why it is
    /// not simulable). Trunk rows: "Simulated cause". Events: "Fault injections that produce it",
    /// or the normal trigger for an event no fault produces (the table's `—`).
    pub cause: &'static str,
    /// What a correct endpoint reports ("What a correct endpoint reports"; trunk rows:
    /// "Observable"). `None` where the table has `—`, for group G, and for events.
    pub reports: Option<&'static str>,
    /// Events only: the "Normal trigger" column (`None` where it is `—`).
    pub normal_trigger: Option<&'static str>,
    /// Events and trunk rows: the table's own "Group" column (`network / nat / timing`,
    /// `misconfig`, `happy path`...).
    pub labels: Option<&'static str>,
}

impl Fault {
    /// Whether the row names a condition to inject: false for group G and for an event that
    /// only its normal trigger produces.
    pub fn is_injected(&self) -> bool {
        self.group.is_simulable() && self.normal_trigger.is_none_or(|t| t != self.cause)
    }
}

/// Every row of the `FAULTS.md` tables that describe codes: the event table, the A to G status
/// tables and the trunk table, in document order.
pub fn faults() -> &'static [Fault] {
    &data::FAULTS
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAULTS_MD: &str = include_str!("../data/FAULTS.md");

    #[test]
    fn fault_group_titles_match_faults_md_headings() {
        for group in FaultGroup::ALL {
            let heading = match group.letter() {
                Some(letter) => format!("### {letter}. {} — ", group.title()),
                None => format!(". {}", group.title()),
            };
            assert!(FAULTS_MD.contains(&heading), "{heading:?} not in FAULTS.md");
        }
    }

    #[test]
    fn faults_every_group_has_rows_in_document_order() {
        let mut last = FaultGroup::Events;
        for fault in faults() {
            assert!(fault.group >= last, "{:?} after {last:?}", fault.group);
            last = fault.group;
        }
        for group in FaultGroup::ALL {
            assert!(
                faults().iter().any(|f| f.group == group),
                "{group:?} has no row"
            );
        }
    }

    #[test]
    fn fault_rows_have_no_placeholder_dash() {
        for fault in faults() {
            assert_ne!(fault.cause, "—");
            assert_ne!(fault.reports, Some("—"));
            assert_ne!(fault.normal_trigger, Some("—"));
        }
    }
}

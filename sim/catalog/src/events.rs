//! AAE SDK event codes (`aae-events.yaml`): the 28 events an AAE endpoint reports.

use crate::data;
use crate::fault::Fault;

/// One AAE SDK event code, as the AAE DM document's "Event Code" appendix lists it.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AaeEvent {
    /// The event number (`0`..`6`, `60000`..`60114`).
    pub code: u32,
    /// The constant name as the document writes it (`NATNL_TNL_STUN_EVENT_KA_TIMEOUT`).
    pub name: &'static str,
    /// What the event reports, without the version remark.
    pub description: &'static str,
    /// The full cell text where it differs from `description` (it carries the version remark).
    pub description_as_written: Option<&'static str>,
    /// The SDK version that introduced the event (`"1.1.0.11"`), where the document gives one.
    pub since_version: Option<&'static str>,
    /// The simulator's grouping of the event.
    pub category: EventCategory,
    /// The outcome the name states (`…_OK`, `…_FAILED`, `…_TIMEOUT`, `…_DEADLOCK`).
    pub outcome: Option<EventOutcome>,
    /// Oddities of the document, recorded without correcting them.
    pub comment: Option<&'static str>,
    pub(crate) fault: &'static Fault,
}

impl AaeEvent {
    /// The `FAULTS.md` section 2 row for this event: its normal trigger and the faults that
    /// produce it.
    pub fn fault(&self) -> &'static Fault {
        self.fault
    }

    /// The description cell exactly as the document writes it.
    pub fn as_written(&self) -> &'static str {
        self.description_as_written.unwrap_or(self.description)
    }

    /// Other spellings of the name that logs may carry (`FAULTS.md` section 8): 60002 is
    /// `NATNL_TNL_EVENT_KA_TIMEOUT` in the public natnl header.
    pub fn aliases(&self) -> impl Iterator<Item = &'static str> + use<> {
        let code = self.code;
        EVENT_NAME_ALIASES
            .iter()
            .filter(move |(_, c)| *c == code)
            .map(|(name, _)| *name)
    }

    /// Whether `name` is this event's name or one of its aliases (ASCII case-insensitive).
    pub fn is_named(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name) || self.aliases().any(|a| a.eq_ignore_ascii_case(name))
    }
}

/// Names the public natnl sources use for documented events (`FAULTS.md` section 8); the
/// catalog keeps the document's spelling and accepts these as well.
const EVENT_NAME_ALIASES: [(&str, u32); 1] = [("NATNL_TNL_EVENT_KA_TIMEOUT", 60002)];

/// How the catalog groups events for the simulator (`categories` in `aae-events.yaml`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum EventCategory {
    /// `sip-call-state`: SIP INVITE-session state of a tunnel call (events 0 to 6).
    SipCallState,
    /// `registration`: device registration and un-registration with the SIP server.
    Registration,
    /// `tunnel`: tunnel built, terminated, keep-alive timeout, idle timeout.
    Tunnel,
    /// `nat-detection`: NAT type detected by the SDK.
    NatDetection,
    /// `lifecycle`: SDK initialisation and de-initialisation results.
    Lifecycle,
    /// `call-control`: results of the make-call and hang-up operations.
    CallControl,
    /// `network-change`: local IP address change.
    NetworkChange,
    /// `sdk-health`: SDK internal failure that requires the application to restart.
    SdkHealth,
}

impl EventCategory {
    /// Every category, in the order `aae-events.yaml` lists them.
    pub const ALL: [Self; 8] = [
        Self::SipCallState,
        Self::Registration,
        Self::Tunnel,
        Self::NatDetection,
        Self::Lifecycle,
        Self::CallControl,
        Self::NetworkChange,
        Self::SdkHealth,
    ];

    /// The catalog's spelling (`sip-call-state`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::SipCallState => "sip-call-state",
            Self::Registration => "registration",
            Self::Tunnel => "tunnel",
            Self::NatDetection => "nat-detection",
            Self::Lifecycle => "lifecycle",
            Self::CallControl => "call-control",
            Self::NetworkChange => "network-change",
            Self::SdkHealth => "sdk-health",
        }
    }

    /// The catalog's description of the category.
    pub fn description(self) -> &'static str {
        data::EVENT_CATEGORIES
            .iter()
            .find(|(c, _)| *c == self)
            .map_or("", |(_, d)| d)
    }

    /// The category spelled `name` (ASCII case-insensitive).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(name))
    }
}

impl std::fmt::Display for EventCategory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The outcome an event's name states.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum EventOutcome {
    /// `…_OK`.
    Success,
    /// `…_FAILED`.
    Failure,
    /// `…_TIMEOUT`.
    Timeout,
    /// `…_DEADLOCK`.
    Fault,
}

impl EventOutcome {
    /// The catalog's spelling (`success`, `failure`, `timeout`, `fault`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Timeout => "timeout",
            Self::Fault => "fault",
        }
    }
}

impl std::fmt::Display for EventOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Every AAE event, in document order (ascending code).
pub fn aae_events() -> &'static [AaeEvent] {
    &data::AAE_EVENTS
}

/// The event numbered `code`.
pub fn aae_event(code: u32) -> Option<&'static AaeEvent> {
    let events = aae_events();
    events
        .binary_search_by_key(&code, |e| e.code)
        .ok()
        .and_then(|i| events.get(i))
}

/// The event named `name` (ASCII case-insensitive), also under the public-header spelling
/// `NATNL_TNL_EVENT_KA_TIMEOUT` for 60002.
pub fn aae_event_by_name(name: &str) -> Option<&'static AaeEvent> {
    aae_events().iter().find(|e| e.is_named(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault::FaultGroup;

    #[test]
    fn aae_events_count_matches_yaml_count() {
        assert_eq!(aae_events().len(), 28);
    }

    #[test]
    fn aae_event_known_code_found() {
        let e = aae_event(60105).unwrap();
        assert_eq!(e.name, "NATNL_TNL_EVENT_MAKECALL_FAILED");
        assert_eq!(e.category, EventCategory::CallControl);
        assert_eq!(e.outcome, Some(EventOutcome::Failure));
        assert_eq!(e.since_version, Some("1.1.0.11"));
        assert_eq!(e.as_written(), "Make call failed (since v1.1.0.11)");
    }

    #[test]
    fn aae_event_unknown_code_none() {
        assert!(aae_event(7).is_none());
        assert!(aae_event(60115).is_none());
    }

    #[test]
    fn aae_event_by_name_document_spelling_and_header_alias() {
        let doc = aae_event_by_name("NATNL_TNL_STUN_EVENT_KA_TIMEOUT").unwrap();
        let alias = aae_event_by_name("NATNL_TNL_EVENT_KA_TIMEOUT").unwrap();
        assert_eq!(doc.code, 60002);
        assert!(std::ptr::eq(doc, alias));
        assert_eq!(
            doc.aliases().collect::<Vec<_>>(),
            ["NATNL_TNL_EVENT_KA_TIMEOUT"]
        );
        assert_eq!(aae_event(60003).unwrap().aliases().count(), 0);
    }

    #[test]
    fn aae_event_by_name_is_case_insensitive() {
        assert_eq!(
            aae_event_by_name("natnl_inv_event_null").map(|e| e.code),
            Some(0)
        );
        assert!(aae_event_by_name("NATNL_INV_EVENT").is_none());
    }

    #[test]
    fn event_aliases_are_documented_in_faults_md_section_8() {
        let faults_md = include_str!("../data/FAULTS.md");
        let section_8 = faults_md.split("## 8.").nth(1).unwrap();
        for (name, code) in EVENT_NAME_ALIASES {
            assert!(section_8.contains(&format!("`{name}`")), "{name}");
            assert!(section_8.contains(&code.to_string()), "{code}");
        }
    }

    #[test]
    fn aae_events_each_have_one_event_table_fault() {
        for e in aae_events() {
            assert_eq!(e.fault().group, FaultGroup::Events, "{}", e.code);
            assert!(
                e.fault()
                    .codes
                    .starts_with(&format!("{} `{}`", e.code, e.name))
            );
        }
    }

    #[test]
    fn aae_event_fault_keeps_trigger_and_injections_apart() {
        let start = aae_event(60003).unwrap().fault();
        assert_eq!(start.normal_trigger, Some("Tunnel built (ICE + UDT done)."));
        assert_eq!(start.cause, "Tunnel built (ICE + UDT done).");
        assert!(!start.is_injected());
        let ka = aae_event(60002).unwrap().fault();
        assert_eq!(ka.normal_trigger, None);
        assert!(ka.cause.starts_with("No data or keep-alive received"));
        assert_eq!(ka.labels, Some("network / nat / timing"));
        assert!(ka.is_injected());
    }

    #[test]
    fn event_category_descriptions_come_from_the_catalog() {
        assert_eq!(
            EventCategory::NatDetection.description(),
            "NAT type detected by the SDK."
        );
        for c in EventCategory::ALL {
            assert!(!c.description().is_empty(), "{c}");
            assert_eq!(EventCategory::from_name(c.as_str()), Some(c));
        }
    }
}

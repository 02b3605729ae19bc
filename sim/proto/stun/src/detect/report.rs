//! The detector's vocabulary: nat_type values, RFC 5780 behaviours, configuration, the report
//! and the events, with their event-log form.

use crate::transaction::Retransmit;
use sim_core::LogEvent;
use std::fmt;
use std::net::SocketAddr;

/// pjnath `PJNATH_ESTUNTIMEDOUT`.
pub const STATUS_STUN_TIMED_OUT: u32 = 370_004;
/// pjnath `PJNATH_ESTUNFINGERPRINT`.
pub const STATUS_STUN_FINGERPRINT: u32 = 370_030;
/// pjnath `PJNATH_ESTUNNOMAPPEDADDR`.
pub const STATUS_STUN_NO_MAPPED_ADDR: u32 = 370_040;
/// pjlib-util `PJLIB_UTIL_ESTUNRECVERRATTR`.
pub const STATUS_STUN_ERROR_ATTR: u32 = 320_008;
/// pjlib-util `PJLIB_UTIL_ESTUNNOTRESPOND`.
pub const STATUS_STUN_NOT_RESPOND: u32 = 320_010;
/// pjlib-util `PJLIB_UTIL_ESTUNSYMMETRIC`.
pub const STATUS_STUN_SYMMETRIC: u32 = 320_011;

/// The nat_type of AAE event 60005 (pjnath `pj_stun_nat_type`), with its numeric value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NatType {
    /// 0: not detected.
    Unknown = 0,
    /// 1: detection failed with an error.
    ErrUnknown = 1,
    /// 2: no NAT, no filtering firewall.
    Open = 2,
    /// 3: no UDP reaches the STUN server.
    Blocked = 3,
    /// 4: no NAT, but a firewall filtering unsolicited inbound UDP.
    SymmetricUdp = 4,
    /// 5: full cone.
    FullCone = 5,
    /// 6: symmetric (mapping depends on the destination).
    Symmetric = 6,
    /// 7: restricted cone.
    Restricted = 7,
    /// 8: port-restricted cone.
    PortRestricted = 8,
}

impl NatType {
    /// The value event 60005 carries.
    pub const fn value(self) -> u32 {
        self as u32
    }

    /// The upper-case name (`FULL_CONE`, `PORT_RESTRICTED`, ...).
    pub const fn name(self) -> &'static str {
        match self {
            Self::Unknown => "UNKNOWN",
            Self::ErrUnknown => "ERR_UNKNOWN",
            Self::Open => "OPEN",
            Self::Blocked => "BLOCKED",
            Self::SymmetricUdp => "SYMMETRIC_UDP",
            Self::FullCone => "FULL_CONE",
            Self::Symmetric => "SYMMETRIC",
            Self::Restricted => "RESTRICTED",
            Self::PortRestricted => "PORT_RESTRICTED",
        }
    }

    /// The lower-case name the traversal matrix uses (`full_cone`, `symmetric_udp`, ...).
    pub const fn slug(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::ErrUnknown => "err_unknown",
            Self::Open => "open",
            Self::Blocked => "blocked",
            Self::SymmetricUdp => "symmetric_udp",
            Self::FullCone => "full_cone",
            Self::Symmetric => "symmetric",
            Self::Restricted => "restricted",
            Self::PortRestricted => "port_restricted",
        }
    }
}

impl fmt::Display for NatType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An RFC 5780 mapping or filtering behaviour, as detected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Behaviour {
    /// Endpoint-independent (EIM / EIF).
    EndpointIndependent,
    /// Address-dependent (ADM / ADF).
    AddressDependent,
    /// Address-and-port-dependent (APDM / APDF).
    AddressAndPortDependent,
}

impl Behaviour {
    /// `EIM`, `ADM`, `APDM`.
    pub const fn mapping_abbrev(self) -> &'static str {
        match self {
            Self::EndpointIndependent => "EIM",
            Self::AddressDependent => "ADM",
            Self::AddressAndPortDependent => "APDM",
        }
    }

    /// `EIF`, `ADF`, `APDF`.
    pub const fn filtering_abbrev(self) -> &'static str {
        match self {
            Self::EndpointIndependent => "EIF",
            Self::AddressDependent => "ADF",
            Self::AddressAndPortDependent => "APDF",
        }
    }
}

/// What a [`NatDetector`](crate::NatDetector) is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NatDetectorConfig {
    /// The STUN server's primary address (it must answer CHANGE-REQUEST and give an
    /// OTHER-ADDRESS or CHANGED-ADDRESS).
    pub server: SocketAddr,
    /// A second STUN server address: enables the legacy symmetric check (320011).
    pub second_server: Option<SocketAddr>,
    /// Local UDP port; 0 for an ephemeral one.
    pub local_port: u16,
    /// Retransmission timing of every test.
    pub retransmit: Retransmit,
    /// SOFTWARE in requests; `None` omits it.
    pub software: Option<String>,
    /// Start detecting as soon as the node starts (else wait for `NatDetector::detect`).
    pub autostart: bool,
    /// Report any endpoint-dependent mapping as SYMMETRIC, even when Test II (change IP and
    /// port) is answered. Off by default: RFC 3489 §10.1 and pjnath decide FULL_CONE as soon as
    /// Test II is answered, so ADM/APDM with endpoint-independent filtering is FULL_CONE. On,
    /// the classic type follows FAULTS.md §2's shorthand ("dependent mapping → SYMMETRIC").
    pub mapping_first: bool,
}

impl NatDetectorConfig {
    /// Detection against `server` from an ephemeral port, pjnath timing, autostart.
    pub fn new(server: SocketAddr) -> Self {
        Self {
            server,
            second_server: None,
            local_port: 0,
            retransmit: Retransmit::PJNATH,
            software: None,
            autostart: true,
            mapping_first: false,
        }
    }
}

/// The result of a detection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NatReport {
    /// The classic type.
    pub nat_type: NatType,
    /// The failure status (BLOCKED and ERR_UNKNOWN), when one applies.
    pub status: Option<u32>,
    /// RFC 5780 mapping behaviour, if its tests completed.
    pub mapping: Option<Behaviour>,
    /// RFC 5780 filtering behaviour, if its tests completed.
    pub filtering: Option<Behaviour>,
    /// The local address tested from.
    pub local: Option<SocketAddr>,
    /// The mapped (public) address Test I saw.
    pub public: Option<SocketAddr>,
    /// Why detection failed, in words.
    pub reason: Option<String>,
}

impl NatReport {
    /// Whether detection failed (BLOCKED or ERR_UNKNOWN).
    pub fn failed(&self) -> bool {
        matches!(self.nat_type, NatType::Blocked | NatType::ErrUnknown)
    }
}

/// What the legacy two-server check found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MappedAddressCheck {
    /// Mapped address from the first server.
    pub first: Option<SocketAddr>,
    /// Mapped address from the second server.
    pub second: Option<SocketAddr>,
    /// 320010 (a server did not answer), 320011 (the two differ), or none.
    pub status: Option<u32>,
}

/// What a [`NatDetector`](crate::NatDetector) reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NatDetectorEvent {
    /// Detection finished with a type.
    Detected(NatReport),
    /// Detection failed (BLOCKED or ERR_UNKNOWN), with its status.
    Failed(NatReport),
    /// The legacy two-server check finished.
    MappedAddressChecked(MappedAddressCheck),
}

/// The AAE event name of NAT-type detection.
pub const NAT_TYPE_DETECTED: &str = "NATNL_TNL_EVENT_NAT_TYPE_DETECTED";
/// The AAE event number of NAT-type detection.
pub const NAT_TYPE_DETECTED_CODE: u32 = 60005;

impl From<&NatDetectorEvent> for LogEvent {
    fn from(e: &NatDetectorEvent) -> Self {
        match e {
            NatDetectorEvent::Detected(r) | NatDetectorEvent::Failed(r) => {
                let log = Self::named(NAT_TYPE_DETECTED)
                    .with_code(NAT_TYPE_DETECTED_CODE)
                    .with_detail(report_detail(r));
                match r.status {
                    Some(s) => log.with_status(s),
                    None => log,
                }
            }
            NatDetectorEvent::MappedAddressChecked(c) => {
                let show =
                    |a: Option<SocketAddr>| a.map_or_else(|| "none".to_owned(), |a| a.to_string());
                let log = Self::named("stun-mapped-address-check").with_detail(format!(
                    "first={} second={}",
                    show(c.first),
                    show(c.second)
                ));
                match c.status {
                    Some(s) => log.with_status(s),
                    None => log,
                }
            }
        }
    }
}

fn report_detail(r: &NatReport) -> String {
    let mut s = format!("nat_type={} {}", r.nat_type.value(), r.nat_type.name());
    if let Some(m) = r.mapping {
        s.push_str(&format!(" mapping={}", m.mapping_abbrev()));
    }
    if let Some(f) = r.filtering {
        s.push_str(&format!(" filtering={}", f.filtering_abbrev()));
    }
    if let Some(l) = r.local {
        s.push_str(&format!(" local={l}"));
    }
    if let Some(p) = r.public {
        s.push_str(&format!(" public={p}"));
    }
    if let Some(why) = &r.reason {
        s.push_str(&format!(" ({why})"));
    }
    s
}

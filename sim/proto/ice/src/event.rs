//! What an ICE agent reports, and the candidates it exchanges.

use sim_core::LogEvent;
use std::fmt;
use std::net::SocketAddr;

/// A pjnath / pjlib-util status code (catalog `aae-status.yaml`), carried as a failure event's
/// `status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Status(pub u32);

impl Status {
    /// `PJNATH_ESTUNTIMEDOUT`: a STUN transaction got no response within its retransmissions.
    pub const STUN_TIMED_OUT: Self = Self(370_004);
    /// `PJNATH_ESTUNFINGERPRINT`: a STUN message failed its FINGERPRINT check.
    pub const STUN_FINGERPRINT: Self = Self(370_030);
    /// `PJNATH_ESTUNNOMAPPEDADDR`: a Binding success without (XOR-)MAPPED-ADDRESS.
    pub const STUN_NO_MAPPED_ADDRESS: Self = Self(370_040);
    /// `PJNATH_EICEFAILED`: all ICE checklists failed.
    pub const ICE_FAILED: Self = Self(370_082);
    /// `PJNATH_EICEINSRCADDR`: a check's response came from another address than it was sent to.
    pub const ICE_SOURCE_MISMATCH: Self = Self(370_088);
    /// `PJNATH_EICENOMTIMEOUT`: the controlled agent timed out waiting for nomination.
    pub const ICE_NOMINATION_TIMEOUT: Self = Self(370_093);
    /// `PJNATH_ETURNINTP`: invalid or unsupported TURN transport.
    pub const TURN_TRANSPORT: Self = Self(370_120);
    /// `PJLIB_UTIL_ESTUNTSXFAILED`: a STUN transaction ended with an error response.
    pub const STUN_TRANSACTION_FAILED: Self = Self(320_126);
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A candidate type (RFC 8445 §5.1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CandidateKind {
    /// An address of the node itself.
    Host,
    /// The node's mapping as a STUN server saw it.
    ServerReflexive,
    /// An address learned from a connectivity check.
    PeerReflexive,
    /// An address allocated on a TURN server.
    Relay,
}

impl CandidateKind {
    /// The SDP name: `host`, `srflx`, `prflx`, `relay`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Host => "host",
            Self::ServerReflexive => "srflx",
            Self::PeerReflexive => "prflx",
            Self::Relay => "relay",
        }
    }
}

impl fmt::Display for CandidateKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A candidate as agents exchange it (what an SDP `a=candidate` line carries, UDP only).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IceCandidate {
    /// Type.
    pub kind: CandidateKind,
    /// Transport address.
    pub addr: SocketAddr,
    /// The base (related address): the host address a reflexive candidate was derived from,
    /// the address itself for host and relay candidates.
    pub base: SocketAddr,
    /// Priority (RFC 8445 §5.1.2).
    pub priority: u32,
}

impl fmt::Display for IceCandidate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.addr)?;
        if self.base != self.addr {
            write!(f, " (base {})", self.base)?;
        }
        Ok(())
    }
}

impl IceCandidate {
    /// The SDP `a=candidate` value (RFC 8839 §5.1), without the `candidate:` prefix:
    /// `foundation component udp priority address port typ type [raddr a rport p]`.
    pub fn to_sdp(&self) -> String {
        crate::candidate::to_rtc(self, "sdp".into())
            .map(|c| c.marshal())
            .unwrap_or_default()
    }

    /// Parses an SDP `a=candidate` value (with or without the `candidate:` prefix); `None` when
    /// it is malformed or not UDP.
    pub fn from_sdp(value: &str) -> Option<Self> {
        let value = value.trim();
        let value = value.strip_prefix("candidate:").unwrap_or(value);
        let c = rtc_ice::candidate::unmarshal_candidate(value).ok()?;
        if c.network_type().is_tcp() {
            return None;
        }
        Some(crate::candidate::from_rtc(&c))
    }
}

/// ICE credentials (RFC 8445 §5.3): what SDP carries as `a=ice-ufrag` / `a=ice-pwd`.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// Username fragment.
    pub ufrag: String,
    /// Password.
    pub pwd: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("ufrag", &self.ufrag)
            .field("pwd", &"<redacted>")
            .finish()
    }
}

/// Which kind of server-derived candidate a gathering failure is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ServerKind {
    /// A STUN server (server-reflexive candidate).
    Stun,
    /// A TURN server (relayed candidate).
    Turn,
}

/// What an [`crate::IceAgent`] reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IceEvent {
    /// Every gathering transaction finished: these are the local candidates (`gathering-done`).
    GatheringDone {
        /// The candidates, host first.
        candidates: Vec<IceCandidate>,
    },
    /// A STUN or TURN server gave no candidate (`srflx-failed` / `relay-failed`).
    ServerFailed {
        /// STUN or TURN.
        kind: ServerKind,
        /// The server.
        server: SocketAddr,
        /// 370004 (no response), 370040 (no mapped address), 320126 (error response), 370120
        /// (TURN transport not supported).
        status: Status,
        /// What happened, e.g. the error response's code and reason.
        reason: String,
    },
    /// A connectivity check failed (`check-failed`): no response within the transaction
    /// timeout (370004) or a response from another address (370088).
    CheckFailed {
        /// The local base the check was sent from.
        local: SocketAddr,
        /// The remote candidate it was sent to.
        remote: SocketAddr,
        /// Whether it was a nominating check (USE-CANDIDATE).
        nominating: bool,
        /// 370004 or 370088.
        status: Status,
    },
    /// An inbound STUN message was dropped (`stun-rejected`): its FINGERPRINT did not match
    /// (370030). Reported once per source address.
    StunRejected {
        /// Where it came from.
        from: SocketAddr,
        /// 370030.
        status: Status,
    },
    /// A role conflict switched this agent's role (`role-changed`).
    RoleChanged {
        /// Whether it is now controlling.
        controlling: bool,
    },
    /// A candidate pair was selected (nominated) (`pair-selected`).
    PairSelected {
        /// The local candidate.
        local: IceCandidate,
        /// The remote candidate.
        remote: IceCandidate,
    },
    /// ICE completed: application data can flow (`connected`).
    Connected {
        /// The local candidate of the selected pair.
        local: IceCandidate,
        /// The remote candidate of the selected pair.
        remote: IceCandidate,
    },
    /// ICE failed (`failed`): 370082 (all checks failed) or 370093 (nomination timeout).
    Failed {
        /// The pjnath code.
        status: Status,
        /// What the checks came to.
        reason: String,
    },
    /// The selected pair lost consent (RFC 7675): nothing was received from the remote for the
    /// consent timeout (`consent-lost`).
    ConsentLost {
        /// The remote candidate that went silent.
        remote: SocketAddr,
    },
}

/// Every event name an ICE agent writes to the event log.
pub const EVENT_NAMES: &[&str] = &[
    "gathering-done",
    "srflx-failed",
    "relay-failed",
    "check-failed",
    "stun-rejected",
    "role-changed",
    "pair-selected",
    "connected",
    "failed",
    "consent-lost",
];

impl IceEvent {
    /// The event's name (one of [`EVENT_NAMES`]).
    pub const fn name(&self) -> &'static str {
        match self {
            Self::GatheringDone { .. } => "gathering-done",
            Self::ServerFailed {
                kind: ServerKind::Stun,
                ..
            } => "srflx-failed",
            Self::ServerFailed {
                kind: ServerKind::Turn,
                ..
            } => "relay-failed",
            Self::CheckFailed { .. } => "check-failed",
            Self::StunRejected { .. } => "stun-rejected",
            Self::RoleChanged { .. } => "role-changed",
            Self::PairSelected { .. } => "pair-selected",
            Self::Connected { .. } => "connected",
            Self::Failed { .. } => "failed",
            Self::ConsentLost { .. } => "consent-lost",
        }
    }

    /// The status code the event carries, if any.
    pub const fn status(&self) -> Option<Status> {
        match self {
            Self::ServerFailed { status, .. }
            | Self::CheckFailed { status, .. }
            | Self::StunRejected { status, .. }
            | Self::Failed { status, .. } => Some(*status),
            _ => None,
        }
    }

    fn detail(&self) -> String {
        match self {
            Self::GatheringDone { candidates } => {
                let list: Vec<String> = candidates.iter().map(ToString::to_string).collect();
                list.join(", ")
            }
            Self::ServerFailed { server, reason, .. } => format!("{server}: {reason}"),
            Self::CheckFailed {
                local,
                remote,
                nominating,
                ..
            } => {
                let what = if *nominating {
                    "nominating check"
                } else {
                    "check"
                };
                format!("{what} {local} -> {remote}")
            }
            Self::StunRejected { from, .. } => format!("from {from}: FINGERPRINT mismatch"),
            Self::RoleChanged { controlling } => {
                let role = if *controlling {
                    "controlling"
                } else {
                    "controlled"
                };
                format!("now {role}")
            }
            Self::PairSelected { local, remote } | Self::Connected { local, remote } => {
                format!("local {local} <-> remote {remote}")
            }
            Self::Failed { reason, .. } => reason.clone(),
            Self::ConsentLost { remote } => format!("remote {remote} silent"),
        }
    }
}

impl From<&IceEvent> for LogEvent {
    fn from(e: &IceEvent) -> Self {
        let event = Self::named(e.name()).with_detail(e.detail());
        match e.status() {
            Some(s) => event.with_status(s.0),
            None => event,
        }
    }
}

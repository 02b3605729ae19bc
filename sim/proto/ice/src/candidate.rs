//! Conversions between natlab's [`IceCandidate`] and rtc-ice's `Candidate` (kept inside the
//! crate).

use crate::event::{CandidateKind, IceCandidate};
use rtc_ice::candidate::candidate_host::CandidateHostConfig;
use rtc_ice::candidate::candidate_peer_reflexive::CandidatePeerReflexiveConfig;
use rtc_ice::candidate::candidate_relay::CandidateRelayConfig;
use rtc_ice::candidate::candidate_server_reflexive::CandidateServerReflexiveConfig;
use rtc_ice::candidate::{Candidate, CandidateConfig, CandidateType};

/// The RTP component: the only one an agent has.
const COMPONENT: u16 = 1;

/// rtc-ice's candidate for `c`, with an explicit id (so rtc-ice draws no random one). A zero
/// priority lets rtc-ice compute it (RFC 8445 §5.1.2.1).
pub(crate) fn to_rtc(c: &IceCandidate, id: String) -> Option<Candidate> {
    let base_config = CandidateConfig {
        candidate_id: id,
        network: "udp".into(),
        address: c.addr.ip().to_string(),
        port: c.addr.port(),
        component: COMPONENT,
        priority: c.priority,
        foundation: String::new(),
    };
    let (rel_addr, rel_port) = (c.base.ip().to_string(), c.base.port());
    let made = match c.kind {
        CandidateKind::Host => CandidateHostConfig {
            base_config,
            ..Default::default()
        }
        .new_candidate_host(),
        CandidateKind::ServerReflexive => CandidateServerReflexiveConfig {
            base_config,
            rel_addr,
            rel_port,
            url: None,
        }
        .new_candidate_server_reflexive(),
        CandidateKind::PeerReflexive => CandidatePeerReflexiveConfig {
            base_config,
            rel_addr,
            rel_port,
        }
        .new_candidate_peer_reflexive(),
        CandidateKind::Relay => CandidateRelayConfig {
            base_config,
            rel_addr,
            rel_port,
            url: None,
        }
        .new_candidate_relay(),
    };
    made.ok()
}

/// natlab's view of an rtc-ice candidate.
pub(crate) fn from_rtc(c: &Candidate) -> IceCandidate {
    let kind = match c.candidate_type() {
        CandidateType::ServerReflexive => CandidateKind::ServerReflexive,
        CandidateType::PeerReflexive => CandidateKind::PeerReflexive,
        CandidateType::Relay => CandidateKind::Relay,
        _ => CandidateKind::Host,
    };
    let base = match kind {
        CandidateKind::Host | CandidateKind::Relay => c.addr(),
        _ => c.base_addr(),
    };
    IceCandidate {
        kind,
        addr: c.addr(),
        base,
        priority: c.priority(),
    }
}

//! ICE in SDP (RFC 8839): what the INVITE and its answer carry.

use sim_ice::{CandidateKind, Credentials, IceCandidate};
use sim_sip::LocalMedia;
use sim_sip::sdp::Sdp;
use std::net::SocketAddr;

/// The local media description of a tunnel call: the default candidate in `c=`/`m=` (relayed,
/// else server-reflexive, else host, as RFC 8445 §5.1.4 recommends), then the credentials and
/// every candidate.
pub(crate) fn local_media(creds: &Credentials, candidates: &[IceCandidate]) -> Option<LocalMedia> {
    let default = default_candidate(candidates)?;
    let mut attributes = vec![
        format!("ice-ufrag:{}", creds.ufrag),
        format!("ice-pwd:{}", creds.pwd),
    ];
    attributes.extend(
        candidates
            .iter()
            .map(|c| format!("candidate:{}", c.to_sdp())),
    );
    Some(LocalMedia {
        address: default.ip().to_string(),
        port: default.port(),
        attributes,
    })
}

fn default_candidate(candidates: &[IceCandidate]) -> Option<SocketAddr> {
    let rank = |k: CandidateKind| match k {
        CandidateKind::Relay => 0,
        CandidateKind::ServerReflexive => 1,
        CandidateKind::PeerReflexive => 2,
        CandidateKind::Host => 3,
    };
    candidates
        .iter()
        .min_by_key(|c| rank(c.kind))
        .map(|c| c.addr)
}

/// What the peer's SDP says about ICE.
#[derive(Debug)]
pub(crate) enum RemoteIce {
    /// Credentials and candidates.
    Ice(Credentials, Vec<IceCandidate>),
    /// `a=ice-ufrag`/`a=ice-pwd` missing (370090).
    MissingAttributes,
    /// The `c=`/`m=` address matches none of the candidates (370083).
    Mismatch(String),
}

pub(crate) fn remote_ice(sdp: &Sdp) -> RemoteIce {
    let (Some(ufrag), Some(pwd)) = (sdp.attribute("ice-ufrag"), sdp.attribute("ice-pwd")) else {
        return RemoteIce::MissingAttributes;
    };
    let candidates: Vec<IceCandidate> = sdp
        .attributes
        .iter()
        .filter_map(|a| a.strip_prefix("candidate:"))
        .filter_map(IceCandidate::from_sdp)
        .collect();
    let default = format!("{}:{}", sdp.address, sdp.port);
    let matches = candidates
        .iter()
        .any(|c| c.addr.ip().to_string() == sdp.address && c.addr.port() == sdp.port);
    if !matches {
        return RemoteIce::Mismatch(default);
    }
    RemoteIce::Ice(
        Credentials {
            ufrag: ufrag.to_string(),
            pwd: pwd.to_string(),
        },
        candidates,
    )
}

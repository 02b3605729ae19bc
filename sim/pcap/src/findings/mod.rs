//! Typed findings: what went wrong (or what looks wrong but is normal), where in the capture, and
//! why, with the meaning of the code from the operator's trunk table or the RFCs.
//!
//! Severity rules:
//! - `error`: a failure a support engineer must act on (authentication, addressing, media,
//!   server errors, timeouts, protocol errors);
//! - `warning`: a failure caused by the called user (busy, declined, unavailable) or a hint that
//!   something may break (NAT);
//! - `info`: an exchange that looks like a failure but is normal (a digest challenge answered
//!   with credentials, 487 after CANCEL, a redirect, a stale nonce).

pub mod meaning;
pub(crate) mod media;
pub(crate) mod nat;
pub(crate) mod sip;
pub(crate) mod stun;

use serde::Serialize;

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Normal behaviour that looks like an error.
    Info,
    /// A user-caused failure, or a hint.
    Warning,
    /// A failure to act on.
    Error,
}

impl Severity {
    /// The lowercase name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Error => "error",
        }
    }
}

/// What a finding is about (a stable identifier, `snake_case` in JSON).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// A SIP final response ≥ 300 with no more specific diagnosis.
    SipFailure,
    /// A 401/407 digest challenge answered with credentials and then accepted.
    AuthChallenge,
    /// A challenge with `stale=true`: the nonce expired, the client retries.
    StaleNonce,
    /// Credentials were sent and rejected (401/407 again with a fresh nonce, or 403).
    WrongCredentials,
    /// A 401/407 challenge the client never answered.
    ChallengeUnanswered,
    /// 481 to a PRACK whose RAck does not match the RSeq sent.
    PrackRackMismatch,
    /// 488/606: the SDP offer's media profile is not acceptable.
    SdpProfileMismatch,
    /// 487 after the caller's CANCEL.
    Cancelled,
    /// A 3xx redirect.
    Redirect,
    /// 408, or a request timed out with retransmissions.
    Timeout,
    /// An INVITE that never got a final response.
    NoFinalResponse,
    /// A REGISTER that never got any response.
    UnansweredRegister,
    /// Another request that never got any response.
    UnansweredRequest,
    /// A private address in Via without `rport`, sent from another address.
    NatPrivateVia,
    /// A private address in Contact, sent from another (public) address.
    NatPrivateContact,
    /// A private media address in SDP, sent from another (public) address.
    NatPrivateSdp,
    /// Re-registrations came from a new public port: the NAT mapping expired in between.
    NatMappingChanged,
    /// STUN servers saw different public mappings of one local address (address-dependent NAT).
    NatAddressDependentMapping,
    /// A STUN/TURN error response.
    StunError,
    /// STUN requests (ICE checks) that were never answered.
    StunUnanswered,
    /// SIP messages that could not be used.
    MalformedSip,
    /// TCP bytes missing from the capture.
    TcpGap,
    /// SIP messages the capture cut short (snap length): kept with what survived.
    SipCutShort,
    /// SIP messages with defects (Content-Length, header syntax), kept as written.
    SipLenient,
    /// An answered call without RTP in either direction.
    NoAudio,
    /// An answered call with RTP from one side only.
    OneWayAudio,
    /// RTP from another address or port than the sender's SDP advertised.
    MediaUnexpectedSource,
    /// An SDP advertising a private address to a peer on a public address.
    MediaToPrivateAddress,
    /// Media stopped well before the call ended.
    MediaStopped,
    /// RTP answered by ICMP destination unreachable.
    MediaPortUnreachable,
}

impl FindingKind {
    /// The stable name (as in JSON).
    pub fn as_str(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }
}

/// Which protocol a finding is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    /// SIP.
    Sip,
    /// STUN / TURN.
    Stun,
    /// RTP / RTCP.
    Rtp,
    /// The capture itself (lost or broken packets).
    Capture,
}

/// How many frame numbers a finding lists (the total is kept separately).
pub const MAX_FRAMES: usize = 16;

/// One finding.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    /// How bad.
    pub severity: Severity,
    /// What.
    pub kind: FindingKind,
    /// Which protocol.
    pub protocol: Protocol,
    /// The SIP status or STUN error code, when there is one.
    pub code: Option<u16>,
    /// The reason phrase as seen on the wire.
    pub reason: Option<String>,
    /// The standard phrase of the code.
    pub standard_phrase: Option<&'static str>,
    /// What the code means (the operator's meaning when the code is in its table).
    pub meaning: Option<&'static str>,
    /// Where `meaning` comes from (`operator trunk table`, `RFC 3261`...).
    pub meaning_source: Option<&'static str>,
    /// The standard (RFC) meaning, also when the operator's is shown.
    pub standard_meaning: Option<&'static str>,
    /// The operator's advice for this code.
    pub operator_hint: Option<&'static str>,
    /// What the capture shows about this occurrence.
    pub diagnosis: String,
    /// The call, if the finding belongs to one.
    pub call_id: Option<String>,
    /// The SIP method or STUN method concerned.
    pub method: Option<String>,
    /// Sender and receiver of the message that shows the problem (`a → b`).
    pub endpoints: Option<String>,
    /// Frame numbers (at most [`MAX_FRAMES`]).
    pub frames: Vec<u64>,
    /// How many frames show the problem in total.
    pub frames_total: u64,
    /// Seconds since the first frame of the capture, at the first frame listed.
    pub time: f64,
    /// Capture timestamp of the first frame listed (nanoseconds since the epoch; not in JSON).
    #[serde(skip)]
    pub ts_ns: i64,
}

impl Finding {
    /// A finding with the given kind and diagnosis; other fields empty.
    pub fn new(
        severity: Severity,
        kind: FindingKind,
        protocol: Protocol,
        diagnosis: String,
    ) -> Self {
        Self {
            severity,
            kind,
            protocol,
            code: None,
            reason: None,
            standard_phrase: None,
            meaning: None,
            meaning_source: None,
            standard_meaning: None,
            operator_hint: None,
            diagnosis,
            call_id: None,
            method: None,
            endpoints: None,
            frames: Vec::new(),
            frames_total: 0,
            time: 0.0,
            ts_ns: 0,
        }
    }

    /// Sets the frames (capped) and their total.
    #[must_use]
    pub fn with_frames(mut self, frames: impl IntoIterator<Item = u64>, total: u64) -> Self {
        let mut f: Vec<u64> = frames.into_iter().collect();
        f.sort_unstable();
        f.dedup();
        self.frames_total = total.max(f.len() as u64);
        f.truncate(MAX_FRAMES);
        self.frames = f;
        self
    }
}

/// How many frame numbers a [`Frames`] keeps inline.
const INLINE_FRAMES: usize = 6;

/// A frame list that keeps the first few numbers inline (no allocation) and counts the rest.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Frames {
    first: [u64; INLINE_FRAMES],
    len: u8,
    /// How many frames were pushed in all.
    pub total: u64,
}

impl Frames {
    /// Adds a frame.
    pub fn push(&mut self, frame: u64) {
        self.total += 1;
        if let Some(slot) = self.first.get_mut(usize::from(self.len)) {
            *slot = frame;
            self.len += 1;
        }
    }

    /// The frames kept.
    pub fn list(&self) -> &[u64] {
        self.first.get(..usize::from(self.len)).unwrap_or_default()
    }
}

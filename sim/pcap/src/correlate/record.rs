//! The compact, reportable summary of one Call-ID (a call, a registration, a subscription...).
//! Kept for every Call-ID of the capture, so it holds raw bytes and shared strings, and turns them
//! into text only when reported.

use super::call::{ActiveCall, Txn};
use crate::decode::Carrier;
use crate::sip::{Method, value};
use serde::ser::{Serialize, SerializeStruct, Serializer};
use std::net::SocketAddr;
use std::sync::Arc;

/// What kind of exchange a Call-ID carries (from its first request).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CallKind {
    /// An INVITE dialog.
    Call,
    /// REGISTER.
    Registration,
    /// SUBSCRIBE / NOTIFY.
    Subscription,
    /// OPTIONS (often keep-alive or monitoring).
    Options,
    /// MESSAGE.
    Message,
    /// PUBLISH.
    Publish,
    /// Anything else.
    Other,
}

impl CallKind {
    pub(crate) const fn from_method(m: Method) -> Self {
        match m {
            Method::Invite | Method::Ack | Method::Bye | Method::Cancel | Method::Prack => {
                Self::Call
            }
            Method::Register => Self::Registration,
            Method::Subscribe | Method::Notify => Self::Subscription,
            Method::Options => Self::Options,
            Method::Message => Self::Message,
            Method::Publish => Self::Publish,
            _ => Self::Other,
        }
    }

    /// The lowercase name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Call => "call",
            Self::Registration => "registration",
            Self::Subscription => "subscription",
            Self::Options => "options",
            Self::Message => "message",
            Self::Publish => "publish",
            Self::Other => "other",
        }
    }
}

/// How the exchange ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// An INVITE got a 2xx.
    Answered,
    /// A REGISTER got a 2xx.
    Registered,
    /// Another request got a 2xx.
    Ok,
    /// The final response was ≥ 300 (after any digest challenge was answered).
    Failed,
    /// The INVITE was cancelled (CANCEL and/or 487).
    Cancelled,
    /// No final response: the capture went on past the transaction timeout (32 s), the client
    /// stopped retransmitting, or it sent the request five times without hearing anything.
    Timeout,
    /// No final response and the capture ended before the timeout.
    Incomplete,
}

impl Outcome {
    /// The lowercase name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Answered => "answered",
            Self::Registered => "registered",
            Self::Ok => "ok",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Timeout => "timeout",
            Self::Incomplete => "incomplete",
        }
    }
}

/// RFC 3261 Timer B / F: 64 × T1.
pub(crate) const TRANSACTION_TIMEOUT_NS: i64 = 32_000_000_000;
/// Silence after retransmissions after which the client is taken to have given up.
pub(crate) const GAVE_UP_NS: i64 = 4_000_000_000;

/// One Call-ID as reported. Serialises to the `calls[]` objects of the JSON document.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    pub(crate) id: Box<[u8]>,
    /// How a call without a Call-ID was correlated (`from_tag`, `via_branch`): its messages were
    /// all cut short before their Call-ID, and `id` is a label.
    pub correlated_by: Option<&'static str>,
    /// Messages cut short (by the capture, or a datagram ending inside the headers).
    pub cut_short: u32,
    /// Of those, messages placed in this call without a Call-ID of their own.
    pub without_call_id: u32,
    pub(crate) from: Box<[u8]>,
    pub(crate) to: Box<[u8]>,
    /// What it carries.
    pub kind: CallKind,
    /// First frame with this Call-ID.
    pub first_frame: u64,
    /// Last frame with this Call-ID.
    pub last_frame: u64,
    /// SIP messages with this Call-ID, on every hop, retransmissions included.
    pub messages: u64,
    /// Of those, retransmissions.
    pub retransmissions: u64,
    /// The final status of the initial request (after any answered digest challenge).
    pub final_status: Option<u16>,
    pub(crate) final_reason: Option<Arc<str>>,
    /// How it ended.
    pub outcome: Outcome,
    /// INVITE to 2xx, milliseconds (first hop where captured).
    pub setup_time_ms: Option<f64>,
    /// INVITE to first 180/183, milliseconds (post-dial delay).
    pub post_dial_delay_ms: Option<f64>,
    pub(crate) hops: Box<[(SocketAddr, SocketAddr)]>,
    pub(crate) transports: u8,
    pub(crate) user_agent: Option<Arc<str>>,
    /// Findings attached to this Call-ID.
    pub findings: u32,
    /// Seconds from the capture's first frame to this call's first frame.
    pub start: f64,
    pub(crate) first_ts: i64,
    pub(crate) last_ts: i64,
    /// Slot of the active state, `u32::MAX` when closed.
    pub(crate) active: u32,
    pub(crate) closed_keys: [u64; 4],
    /// Key of the call in the correlator's index and in its active index.
    pub(crate) key: u64,
    pub(crate) active_key: u64,
    /// Creation number (0 for a vacant slot).
    pub(crate) seq: u64,
    /// The call is over (ended, or never established): it can be written out once quiet.
    pub(crate) over: bool,
}

impl Call {
    /// An empty record (a free slot).
    pub(crate) fn vacant() -> Self {
        Self {
            id: Box::default(),
            correlated_by: None,
            cut_short: 0,
            without_call_id: 0,
            from: Box::default(),
            to: Box::default(),
            kind: CallKind::Other,
            first_frame: 0,
            last_frame: 0,
            messages: 0,
            retransmissions: 0,
            final_status: None,
            final_reason: None,
            outcome: Outcome::Incomplete,
            setup_time_ms: None,
            post_dial_delay_ms: None,
            hops: Box::default(),
            transports: 0,
            user_agent: None,
            findings: 0,
            start: 0.0,
            first_ts: 0,
            last_ts: 0,
            active: u32::MAX,
            closed_keys: [0; 4],
            key: 0,
            active_key: 0,
            seq: 0,
            over: false,
        }
    }

    /// The Call-ID (lossy UTF-8).
    pub fn call_id(&self) -> String {
        value::text(&self.id, 256)
    }

    /// The Call-ID as captured.
    pub fn call_id_bytes(&self) -> &[u8] {
        &self.id
    }

    /// `user@host` of the From URI of the first message.
    pub fn from(&self) -> String {
        value::text(&self.from, 96)
    }

    /// `user@host` of the To URI of the first message.
    pub fn to(&self) -> String {
        value::text(&self.to, 96)
    }

    /// The reason phrase of the final response.
    pub fn final_reason(&self) -> Option<&str> {
        self.final_reason.as_deref()
    }

    /// Seconds from this call's first to its last frame.
    pub fn duration(&self) -> f64 {
        secs(self.last_ts - self.first_ts)
    }

    /// The signalling legs of the INVITE (`src → dst`), in order of appearance.
    pub fn hops(&self) -> Vec<String> {
        self.hops
            .iter()
            .map(|(s, d)| format!("{s} → {d}"))
            .collect()
    }

    /// Transports seen (`UDP`, `TCP`, `WS`).
    pub fn transports(&self) -> Vec<&'static str> {
        [Carrier::Udp, Carrier::Tcp, Carrier::WebSocket]
            .into_iter()
            .filter(|c| self.transports & carrier_bit(*c) != 0)
            .map(Carrier::as_str)
            .collect()
    }

    /// The caller's User-Agent (or the first Server header).
    pub fn user_agent(&self) -> Option<&str> {
        self.user_agent.as_deref()
    }

    /// Folds the working state into the summary (when the call goes quiet or the capture ends).
    pub(crate) fn absorb(&mut self, a: &ActiveCall, capture_end_ns: i64) {
        self.messages += a.messages;
        if a.messages > 0 {
            self.last_frame = a.last_frame;
            self.last_ts = a.last_ts;
        }
        self.transports |= a.carriers;
        if self.user_agent.is_none() {
            self.user_agent.clone_from(&a.user_agent);
        }
        self.retransmissions += a.retransmissions;
        if a.hops.len() > self.hops.len() {
            self.hops = a.hops.clone().into_boxed_slice();
        }
        let initial = initial_txns(a);
        let Some(last) = initial
            .iter()
            .max_by_key(|t| (t.cseq, std::cmp::Reverse(t.first_ts)))
        else {
            return;
        };
        if let Some(f) = &last.fin {
            self.final_status = Some(f.code);
            self.final_reason = Some(f.reason.clone());
        }
        self.outcome = outcome(self.kind, last, capture_end_ns);
        let first = initial.iter().min_by_key(|t| t.first_ts);
        if let (Some(first), Some(f)) = (first, last.fin.as_ref())
            && (200..300).contains(&f.code)
            && last.method == Method::Invite
        {
            self.setup_time_ms = Some(ms(f.ts_ns - first.first_ts));
        }
        let ringing = initial
            .iter()
            .filter_map(|t| t.provisional.filter(|p| p.0 >= 180))
            .min_by_key(|p| p.2);
        if let (Some(first), Some(p)) = (first, ringing)
            && self.kind == CallKind::Call
        {
            self.post_dial_delay_ms = Some(ms(p.2 - first.first_ts));
        }
    }
}

pub(crate) const fn carrier_bit(c: Carrier) -> u8 {
    match c {
        Carrier::Udp => 1,
        Carrier::Tcp => 2,
        Carrier::WebSocket => 4,
    }
}

fn ms(ns: i64) -> f64 {
    (ns.max(0) as f64 / 1e3).round() / 1e3
}

fn secs(ns: i64) -> f64 {
    (ns.max(0) as f64 / 1e3).round() / 1e6
}

impl Serialize for Call {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let extra = usize::from(self.correlated_by.is_some()) + 2 * usize::from(self.cut_short > 0);
        let mut st = s.serialize_struct("Call", 19 + extra)?;
        st.serialize_field("call_id", &value::text_cow(&self.id, 256))?;
        if let Some(by) = self.correlated_by {
            st.serialize_field("correlated_by", by)?;
        }
        st.serialize_field("kind", &self.kind)?;
        st.serialize_field("from", &value::text_cow(&self.from, 96))?;
        st.serialize_field("to", &value::text_cow(&self.to, 96))?;
        st.serialize_field("first_frame", &self.first_frame)?;
        st.serialize_field("last_frame", &self.last_frame)?;
        st.serialize_field("start", &self.start)?;
        st.serialize_field("duration", &self.duration())?;
        st.serialize_field("messages", &self.messages)?;
        st.serialize_field("retransmissions", &self.retransmissions)?;
        st.serialize_field("final_status", &self.final_status)?;
        st.serialize_field("final_reason", &self.final_reason())?;
        st.serialize_field("outcome", &self.outcome)?;
        st.serialize_field("setup_time_ms", &self.setup_time_ms)?;
        st.serialize_field("post_dial_delay_ms", &self.post_dial_delay_ms)?;
        st.serialize_field("hops", &self.hops())?;
        st.serialize_field("transports", &self.transports())?;
        st.serialize_field("user_agent", &self.user_agent())?;
        st.serialize_field("findings", &self.findings)?;
        if self.cut_short > 0 {
            st.serialize_field("cut_short", &self.cut_short)?;
            st.serialize_field("without_call_id", &self.without_call_id)?;
        }
        st.end()
    }
}

/// The out-of-dialog transactions of the call's own method (INVITE, REGISTER...).
pub(crate) fn initial_txns(a: &ActiveCall) -> Vec<&Txn> {
    let Some(method) = a.txns.first().map(|t| t.method) else {
        return Vec::new();
    };
    a.txns
        .iter()
        .filter(|t| t.method == method && !t.in_dialog)
        .collect()
}

fn outcome(kind: CallKind, last: &Txn, capture_end_ns: i64) -> Outcome {
    match &last.fin {
        Some(f) if (200..300).contains(&f.code) => match kind {
            CallKind::Call => Outcome::Answered,
            CallKind::Registration => Outcome::Registered,
            _ => Outcome::Ok,
        },
        Some(f) if f.code == 487 || (last.cancelled.is_some() && f.code >= 300) => {
            Outcome::Cancelled
        }
        Some(f) if f.code == 408 => Outcome::Timeout,
        Some(_) => Outcome::Failed,
        None if last.cancelled.is_some() => Outcome::Cancelled,
        None if capture_end_ns - last.first_ts >= TRANSACTION_TIMEOUT_NS => Outcome::Timeout,
        // Retransmitted, then silent for a while: the client gave up; or retransmitted for
        // 7.5 s (five sends) without hearing anything.
        None if last.requests.total >= 3 && capture_end_ns - last.last_request_ts >= GAVE_UP_NS => {
            Outcome::Timeout
        }
        None if last.requests.total >= 5 && last.provisional.is_none() => Outcome::Timeout,
        None => Outcome::Incomplete,
    }
}

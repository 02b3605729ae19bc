//! The compact, reportable summary of one Call-ID (a call, a registration, a subscription...).

use super::call::{ActiveCall, Txn};
use crate::decode::Carrier;
use crate::sip::Method;
use serde::Serialize;

/// What kind of exchange a Call-ID carries (from its first request).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
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

/// One Call-ID as reported.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Call {
    /// The Call-ID (lossy UTF-8).
    pub call_id: String,
    /// What it carries.
    pub kind: CallKind,
    /// `user@host` of the From URI of the first message.
    pub from: String,
    /// `user@host` of the To URI of the first message.
    pub to: String,
    /// First frame with this Call-ID.
    pub first_frame: u64,
    /// Last frame with this Call-ID.
    pub last_frame: u64,
    /// Seconds from the capture's first frame to this call's first frame.
    pub start: f64,
    /// Seconds from this call's first to last frame.
    pub duration: f64,
    /// SIP messages with this Call-ID, on every hop, retransmissions included.
    pub messages: u64,
    /// Of those, retransmissions.
    pub retransmissions: u64,
    /// The final status of the initial request (after any answered digest challenge).
    pub final_status: Option<u16>,
    /// Its reason phrase as seen.
    pub final_reason: Option<String>,
    /// How it ended.
    pub outcome: Outcome,
    /// INVITE to 2xx, milliseconds (first hop where captured).
    pub setup_time_ms: Option<f64>,
    /// INVITE to first 180/183, milliseconds (post-dial delay).
    pub post_dial_delay_ms: Option<f64>,
    /// The signalling legs of the INVITE (`src → dst`), in order of appearance.
    pub hops: Vec<String>,
    /// Transports seen (`UDP`, `TCP`, `WS`).
    pub transports: Vec<&'static str>,
    /// The caller's User-Agent (or the first Server header).
    pub user_agent: Option<String>,
    /// Findings attached to this Call-ID.
    pub findings: u32,
    #[serde(skip)]
    pub(crate) first_ts: i64,
    #[serde(skip)]
    pub(crate) last_ts: i64,
}

impl Call {
    /// Adds a transport to the list.
    pub(crate) fn add_carrier(&mut self, c: Carrier) {
        let name = c.as_str();
        if !self.transports.contains(&name) {
            self.transports.push(name);
        }
    }

    /// Folds the working state into the summary (when the call goes quiet or the capture ends).
    pub(crate) fn absorb(&mut self, a: &ActiveCall, capture_end_ns: i64) {
        self.retransmissions += a.retransmissions;
        if a.hops.len() > self.hops.len() || self.hops.is_empty() {
            self.hops = a.hops.iter().map(|(s, d)| format!("{s} → {d}")).collect();
        }
        let initial = initial_txns(a);
        let Some(last) = initial
            .iter()
            .max_by_key(|t| (t.cseq, std::cmp::Reverse(t.first_ts)))
        else {
            return;
        };
        self.final_status = last.fin.as_ref().map(|f| f.code).or(self.final_status);
        self.final_reason = last
            .fin
            .as_ref()
            .map(|f| f.reason.clone())
            .or(self.final_reason.take());
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

fn ms(ns: i64) -> f64 {
    (ns.max(0) as f64 / 1e6 * 1000.0).round() / 1000.0
}

/// The out-of-dialog transactions of the call's own method (INVITE, REGISTER...).
pub(crate) fn initial_txns(a: &ActiveCall) -> Vec<&Txn> {
    let Some(method) = a
        .txns
        .iter()
        .find(|t| t.method != Method::Ack)
        .map(|t| t.method)
    else {
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

//! The working state of one Call-ID while it is active: its transactions (RFC 3261 §17, matched by
//! top-Via branch, CSeq number and method, per hop), reliable provisional responses (RFC 3262),
//! offers and answers. Compact summaries replace it when the call goes quiet; the state itself is
//! recycled for the next call (its vectors keep their capacity), so a busy capture allocates
//! little per call.

use super::{Interner, hash_addr, hash_bytes};
use crate::decode::PacketMeta;
use crate::findings::Frames;
use crate::sip::sdp::{Profiles, SdpSummary};
use crate::sip::value::{self, auth_param};
use crate::sip::{Method, SipMessage};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// Most transactions kept per call (later ones are counted, not kept).
pub(crate) const MAX_TXNS: usize = 64;
/// Most distinct hops (INVITE legs) kept per call.
pub(crate) const MAX_HOPS: usize = 8;
/// Most addresses remembered per call (signalling and media).
const MAX_ADDRESSES: usize = 16;

/// A final response of a transaction.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Final {
    pub(crate) code: u16,
    pub(crate) reason: Arc<str>,
    pub(crate) frame: u64,
    pub(crate) ts_ns: i64,
    pub(crate) src: SocketAddr,
    pub(crate) dst: SocketAddr,
    /// Every copy (retransmissions included).
    pub(crate) frames: Frames,
    /// A challenge with `stale=true`.
    pub(crate) stale: bool,
    /// Warning and Reason headers, when present (failures only).
    pub(crate) warning: Option<Box<str>>,
    pub(crate) reason_header: Option<Box<str>>,
    /// Profiles of an SDP body in the response (an answer, or what a 488 would accept).
    pub(crate) profiles: Option<Profiles>,
}

/// One client transaction on one hop.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Txn {
    pub(crate) key: u64,
    pub(crate) method: Method,
    /// The method's name, for extension methods only.
    pub(crate) other_name: Option<Box<str>>,
    pub(crate) cseq: u32,
    /// The request had a To tag (a request inside a dialog).
    pub(crate) in_dialog: bool,
    pub(crate) src: SocketAddr,
    pub(crate) dst: SocketAddr,
    pub(crate) first_frame: u64,
    pub(crate) first_ts: i64,
    pub(crate) last_request_ts: i64,
    /// Frames of the request and its retransmissions (none when only responses were captured).
    pub(crate) requests: Frames,
    /// The request carried credentials: `(proxy, user)`.
    pub(crate) credentials: Option<(bool, Box<str>)>,
    /// Profiles of an SDP offer in the request.
    pub(crate) offer: Option<Profiles>,
    /// RAck of a PRACK: (response number, CSeq number).
    pub(crate) rack: Option<(u32, u32)>,
    /// First provisional response ≥ 101: (code, frame, timestamp).
    pub(crate) provisional: Option<(u16, u64, i64)>,
    pub(crate) fin: Option<Box<Final>>,
    /// A CANCEL was sent for this INVITE: its frame.
    pub(crate) cancelled: Option<u64>,
}

impl Txn {
    /// The method as written.
    pub(crate) fn method_name(&self) -> &str {
        self.other_name.as_deref().unwrap_or(self.method.as_str())
    }
}

/// A reliable provisional response: RSeq, the CSeq it belongs to, its frame.
pub(crate) type Reliable = (u32, u32, u64);

/// The working state of an active call.
#[derive(Debug, Default)]
pub(crate) struct ActiveCall {
    /// Index of the call this state belongs to.
    pub(crate) call: u32,
    pub(crate) txns: Vec<Txn>,
    pub(crate) dropped_txns: u32,
    pub(crate) hops: Vec<(SocketAddr, SocketAddr)>,
    pub(crate) reliable: Vec<Reliable>,
    /// Media and signalling addresses (for relating STUN traffic to the call).
    pub(crate) addresses: Vec<IpAddr>,
    pub(crate) last_ts: i64,
    pub(crate) retransmissions: u64,
    /// The call is over: a BYE was answered, the initial request failed, or (for other kinds)
    /// every transaction has a final response.
    pub(crate) ended: bool,
    /// A 2xx answered the initial INVITE.
    pub(crate) established: bool,
    /// Keys of transactions already diagnosed before this state was reopened.
    pub(crate) closed_keys: [u64; 4],
    /// Counters for the call record, folded in when the state is closed (so the hot path
    /// touches only this state).
    pub(crate) messages: u64,
    pub(crate) last_frame: u64,
    pub(crate) carriers: u8,
    pub(crate) needs_user_agent: bool,
    pub(crate) user_agent: Option<Arc<str>>,
}

impl ActiveCall {
    /// Counts one message of the call.
    pub(crate) fn count(&mut self, meta: &PacketMeta) {
        self.messages += 1;
        self.last_frame = meta.frame;
        self.last_ts = meta.ts_ns;
        self.carriers |= super::record::carrier_bit(meta.carrier);
    }

    /// Clears the state for reuse by another call, keeping the vectors' capacity.
    pub(crate) fn reset(&mut self, call: u32, closed_keys: [u64; 4], needs_user_agent: bool) {
        self.messages = 0;
        self.last_frame = 0;
        self.carriers = 0;
        self.needs_user_agent = needs_user_agent;
        self.user_agent = None;
        self.call = call;
        self.txns.clear();
        self.dropped_txns = 0;
        self.hops.clear();
        self.reliable.clear();
        self.addresses.clear();
        self.last_ts = 0;
        self.retransmissions = 0;
        self.ended = false;
        self.established = false;
        self.closed_keys = closed_keys;
    }

    /// The keys worth remembering after closing (to ignore late retransmissions).
    pub(crate) fn keys_to_remember(&self) -> [u64; 4] {
        let mut k = [0u64; 4];
        for (slot, t) in k.iter_mut().zip(self.txns.iter().rev()) {
            *slot = t.key;
        }
        k
    }
}

/// Identifies a transaction: branch, CSeq number, method (ACK and CANCEL have their own).
pub(crate) fn txn_key(
    msg: &SipMessage<'_>,
    method: Method,
    meta: &PacketMeta,
    request: bool,
) -> u64 {
    txn_key_with(msg, method, msg.fields.cseq, meta, request)
}

/// [`txn_key`] with another CSeq number (a response whose CSeq the capture cut off).
fn txn_key_with(
    msg: &SipMessage<'_>,
    method: Method,
    cseq: u32,
    meta: &PacketMeta,
    request: bool,
) -> u64 {
    let branch = msg.branch();
    let mut h = hash_bytes(branch) ^ u64::from(cseq).rotate_left(17);
    h ^= (method as u64 + 1).rotate_left(41);
    if method == Method::Other {
        h ^= hash_bytes(msg.method_name()).rotate_left(7);
    }
    if branch.is_empty() {
        // RFC 2543 peers: no branch; the hop identifies the transaction.
        let (a, b) = if request {
            (meta.src, meta.dst)
        } else {
            (meta.dst, meta.src)
        };
        h ^= hash_addr(a) ^ hash_addr(b).rotate_left(3);
    }
    h.max(1)
}

impl ActiveCall {
    /// Updates the call with one message. `sdp` is the message's SDP summary, if it has one.
    pub(crate) fn on_message(
        &mut self,
        meta: &PacketMeta,
        msg: &SipMessage<'_>,
        sdp: Option<&SdpSummary>,
        strings: &mut Interner,
    ) {
        self.last_ts = meta.ts_ns;
        match msg.request_method() {
            // An ACK gets no response: nothing to follow.
            Some(Method::Ack) => {}
            Some(m) => self.on_request(meta, msg, m, sdp),
            None => self.on_response(meta, msg, sdp, strings),
        }
    }

    fn on_request(
        &mut self,
        meta: &PacketMeta,
        msg: &SipMessage<'_>,
        method: Method,
        sdp: Option<&SdpSummary>,
    ) {
        let key = txn_key(msg, method, meta, true);
        if self.closed_keys.contains(&key) {
            self.retransmissions += 1;
            return;
        }
        if let Some(t) = self
            .txns
            .iter_mut()
            .rev()
            .find(|t| t.key == key && t.src == meta.src && t.dst == meta.dst)
        {
            t.requests.push(meta.frame);
            t.last_request_ts = meta.ts_ns;
            if t.requests.total > 1 {
                self.retransmissions += 1;
            }
            return;
        }
        if method == Method::Cancel {
            self.mark_cancelled(msg, meta, meta.frame);
        }
        if method == Method::Invite
            && !self.hops.contains(&(meta.src, meta.dst))
            && self.hops.len() < MAX_HOPS
        {
            self.hops.push((meta.src, meta.dst));
        }
        self.note_addresses(meta, sdp);
        let txn = new_txn(key, meta, msg, method, sdp);
        self.push_txn(txn);
    }

    fn mark_cancelled(&mut self, msg: &SipMessage<'_>, meta: &PacketMeta, frame: u64) {
        let invite_key = txn_key(msg, Method::Invite, meta, true);
        let cseq = msg.fields.cseq;
        for t in self
            .txns
            .iter_mut()
            .filter(|t| t.method == Method::Invite && t.cseq == cseq)
        {
            if t.key == invite_key {
                t.cancelled.get_or_insert(frame);
            }
        }
    }

    fn push_txn(&mut self, txn: Txn) {
        if self.txns.len() < MAX_TXNS {
            self.txns.push(txn);
        } else {
            self.dropped_txns += 1;
        }
    }

    fn note_addresses(&mut self, meta: &PacketMeta, sdp: Option<&SdpSummary>) {
        let media = sdp.and_then(|s| s.connection);
        for ip in [Some(meta.src.ip()), Some(meta.dst.ip()), media]
            .into_iter()
            .flatten()
        {
            if !self.addresses.contains(&ip) && self.addresses.len() < MAX_ADDRESSES {
                self.addresses.push(ip);
            }
        }
    }

    fn on_response(
        &mut self,
        meta: &PacketMeta,
        msg: &SipMessage<'_>,
        sdp: Option<&SdpSummary>,
        strings: &mut Interner,
    ) {
        let Some(code) = msg.status() else {
            return;
        };
        let mut method = msg.fields.cseq_method;
        let mut key = txn_key(msg, method, meta, false);
        if msg.fields.cseq_method_span.len == 0 {
            // Cut short before its CSeq: the transaction of this hop with the same branch.
            if let Some(t) = self.txns.iter().rev().find(|t| {
                t.method != Method::Other
                    && t.src == meta.dst
                    && t.dst == meta.src
                    && t.key == txn_key_with(msg, t.method, t.cseq, meta, false)
            }) {
                (method, key) = (t.method, t.key);
            }
        }
        if self.closed_keys.contains(&key) {
            self.retransmissions += 1;
            return;
        }
        let found = self
            .txns
            .iter()
            .rposition(|t| t.key == key && t.src == meta.dst && t.dst == meta.src)
            .or_else(|| self.txns.iter().rposition(|t| t.key == key));
        let idx = match found {
            Some(i) => i,
            None => {
                // The request is not in the capture: keep the response anyway.
                let mut t = new_txn(key, meta, msg, method, None);
                (t.src, t.dst) = (meta.dst, meta.src);
                t.requests = Frames::default();
                self.push_txn(t);
                self.txns.len() - 1
            }
        };
        self.note_addresses(meta, sdp);
        if code.0 < 200 {
            self.on_provisional(idx, meta, msg, code.0);
        } else {
            self.on_final(idx, meta, msg, code.0, sdp, strings);
        }
    }

    fn on_provisional(&mut self, idx: usize, meta: &PacketMeta, msg: &SipMessage<'_>, code: u16) {
        if let Some(rseq) = msg.fields.rseq
            && self.reliable.len() < 32
        {
            self.reliable.push((rseq, msg.fields.cseq, meta.frame));
        }
        if let Some(t) = self.txns.get_mut(idx)
            && code > 100
            && t.provisional.is_none()
        {
            t.provisional = Some((code, meta.frame, meta.ts_ns));
        }
    }

    fn on_final(
        &mut self,
        idx: usize,
        meta: &PacketMeta,
        msg: &SipMessage<'_>,
        code: u16,
        sdp: Option<&SdpSummary>,
        strings: &mut Interner,
    ) {
        let Some(t) = self.txns.get_mut(idx) else {
            return;
        };
        match &mut t.fin {
            Some(f) if f.code == code => {
                f.frames.push(meta.frame);
                self.retransmissions += 1;
                return;
            }
            Some(_) => return,
            None => {}
        }
        t.fin = Some(Box::new(new_final(meta, msg, code, sdp, strings)));
        let initial_invite = t.method == Method::Invite && !t.in_dialog;
        if initial_invite && (200..300).contains(&code) {
            self.established = true;
        }
        if t.method == Method::Bye || (initial_invite && code >= 300) {
            self.ended = true;
        }
        let dialog = self.txns.iter().any(|t| t.method == Method::Invite);
        if !dialog && self.txns.iter().all(|t| t.fin.is_some()) {
            self.ended = true;
        }
    }
}

fn new_txn(
    key: u64,
    meta: &PacketMeta,
    msg: &SipMessage<'_>,
    method: Method,
    sdp: Option<&SdpSummary>,
) -> Txn {
    let mut requests = Frames::default();
    requests.push(meta.frame);
    Txn {
        key,
        method,
        other_name: (method == Method::Other).then(|| value::text(msg.method_name(), 24).into()),
        cseq: msg.fields.cseq,
        in_dialog: !msg.to_tag().is_empty(),
        src: meta.src,
        dst: meta.dst,
        first_frame: meta.frame,
        first_ts: meta.ts_ns,
        last_request_ts: meta.ts_ns,
        requests,
        credentials: credentials(msg),
        offer: sdp
            .filter(|_| msg.request_method().is_some())
            .map(|s| s.profiles),
        rack: rack(msg),
        provisional: None,
        fin: None,
        cancelled: None,
    }
}

fn credentials(msg: &SipMessage<'_>) -> Option<(bool, Box<str>)> {
    let (v, proxy) = if msg.fields.authorization.is_present() {
        (msg.get(msg.fields.authorization), false)
    } else if msg.fields.proxy_authorization.is_present() {
        (msg.get(msg.fields.proxy_authorization), true)
    } else {
        return None;
    };
    let user = value::text(auth_param(v, b"username").unwrap_or_default(), 64);
    Some((proxy, user.into()))
}

/// `RAck: 776656 1 INVITE` gives (776656, 1).
fn rack(msg: &SipMessage<'_>) -> Option<(u32, u32)> {
    if !msg.fields.rack.is_present() {
        return None;
    }
    let v = msg.get(msg.fields.rack);
    let mut parts = v
        .split(|c| c.is_ascii_whitespace())
        .filter(|p| !p.is_empty());
    let rseq = crate::sip::scan::number(parts.next()?)?;
    let cseq = crate::sip::scan::number(parts.next()?)?;
    Some((rseq, cseq))
}

fn optional_text(b: &[u8], max: usize) -> Option<Box<str>> {
    (!b.is_empty()).then(|| value::text(b, max).into())
}

fn new_final(
    meta: &PacketMeta,
    msg: &SipMessage<'_>,
    code: u16,
    sdp: Option<&SdpSummary>,
    strings: &mut Interner,
) -> Final {
    let challenge = if msg.fields.www_authenticate.is_present() {
        msg.get(msg.fields.www_authenticate)
    } else {
        msg.get(msg.fields.proxy_authenticate)
    };
    let stale = !challenge.is_empty()
        && auth_param(challenge, b"stale").is_some_and(|v| v.eq_ignore_ascii_case(b"true"));
    let mut frames = Frames::default();
    frames.push(meta.frame);
    let failure = code >= 300;
    Final {
        code,
        reason: strings.intern(msg.reason(), 80),
        frame: meta.frame,
        ts_ns: meta.ts_ns,
        src: meta.src,
        dst: meta.dst,
        frames,
        stale,
        warning: failure
            .then(|| optional_text(msg.get(msg.fields.warning), 160))
            .flatten(),
        reason_header: failure
            .then(|| optional_text(msg.get(msg.fields.reason_header), 120))
            .flatten(),
        profiles: sdp.map(|s| s.profiles),
    }
}

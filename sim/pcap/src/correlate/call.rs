//! The working state of one Call-ID while it is active: its transactions (RFC 3261 §17, matched by
//! top-Via branch, CSeq number and method, per hop), reliable provisional responses (RFC 3262),
//! offers and answers. Compact summaries replace it when the call goes quiet.

use super::hash_bytes;
use crate::decode::PacketMeta;
use crate::findings::Frames;
use crate::sip::sdp::{self, Profiles};
use crate::sip::value::{self, auth_param};
use crate::sip::{Method, SipMessage};
use std::net::{IpAddr, SocketAddr};

/// Most transactions kept per call (later ones are counted, not kept).
pub(crate) const MAX_TXNS: usize = 64;
/// Most distinct hops (INVITE legs) kept per call.
pub(crate) const MAX_HOPS: usize = 8;

/// Credentials a request carried.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Credentials {
    /// `Proxy-Authorization` rather than `Authorization`.
    pub(crate) proxy: bool,
    /// The `username` parameter.
    pub(crate) user: String,
}

/// A final response of a transaction.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Final {
    pub(crate) code: u16,
    pub(crate) reason: String,
    pub(crate) frame: u64,
    pub(crate) ts_ns: i64,
    pub(crate) src: SocketAddr,
    pub(crate) dst: SocketAddr,
    /// Every copy (retransmissions included).
    pub(crate) frames: Frames,
    /// A challenge with `stale=true`.
    pub(crate) stale: bool,
    /// The Warning header, if any.
    pub(crate) warning: String,
    /// The Reason header, if any.
    pub(crate) reason_header: String,
    /// Profiles of an SDP body in the response (an answer, or what a 488 would accept).
    pub(crate) profiles: Option<Profiles>,
}

/// One client transaction on one hop.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Txn {
    pub(crate) key: u64,
    pub(crate) method: Method,
    pub(crate) method_name: String,
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
    pub(crate) credentials: Option<Credentials>,
    /// Profiles of an SDP offer in the request.
    pub(crate) offer: Option<Profiles>,
    /// RAck of a PRACK: (response number, CSeq number).
    pub(crate) rack: Option<(u32, u32)>,
    /// First provisional response ≥ 101: (code, frame, timestamp).
    pub(crate) provisional: Option<(u16, u64, i64)>,
    pub(crate) fin: Option<Final>,
    /// A CANCEL was sent for this INVITE: its frame.
    pub(crate) cancelled: Option<u64>,
}

/// A reliable provisional response: RSeq, the CSeq it belongs to, its frame.
pub(crate) type Reliable = (u32, u32, u64);

/// The working state of an active call.
#[derive(Debug, Default)]
pub(crate) struct ActiveCall {
    pub(crate) txns: Vec<Txn>,
    pub(crate) dropped_txns: u32,
    pub(crate) hops: Vec<(SocketAddr, SocketAddr)>,
    pub(crate) reliable: Vec<Reliable>,
    /// Media and signalling addresses (for relating STUN traffic to the call).
    pub(crate) addresses: Vec<IpAddr>,
    pub(crate) last_ts: i64,
    pub(crate) retransmissions: u64,
    /// A BYE was answered, or the initial INVITE failed: the call is over.
    pub(crate) ended: bool,
}

/// Identifies a transaction: branch, CSeq number, method (ACK and CANCEL have their own).
fn txn_key(msg: &SipMessage<'_>, method: Method, meta: &PacketMeta, request: bool) -> u64 {
    let branch = msg.branch();
    let mut h = hash_bytes(branch) ^ u64::from(msg.fields.cseq).rotate_left(17);
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
        h ^= hash_bytes(a.to_string().as_bytes())
            ^ hash_bytes(b.to_string().as_bytes()).rotate_left(3);
    }
    h
}

impl ActiveCall {
    /// Updates the call with one message.
    pub(crate) fn on_message(&mut self, meta: &PacketMeta, msg: &SipMessage<'_>) {
        self.last_ts = meta.ts_ns;
        match msg.request_method() {
            Some(m) => self.on_request(meta, msg, m),
            None => self.on_response(meta, msg),
        }
    }

    fn on_request(&mut self, meta: &PacketMeta, msg: &SipMessage<'_>, method: Method) {
        let key = txn_key(msg, method, meta, true);
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
            self.mark_cancelled(msg, meta.frame);
        }
        if method == Method::Invite
            && !self.hops.contains(&(meta.src, meta.dst))
            && self.hops.len() < MAX_HOPS
        {
            self.hops.push((meta.src, meta.dst));
        }
        self.note_addresses(meta, msg);
        let txn = new_txn(key, meta, msg, method);
        self.push_txn(txn);
    }

    fn mark_cancelled(&mut self, msg: &SipMessage<'_>, frame: u64) {
        let branch = msg.branch();
        let cseq = msg.fields.cseq;
        let invite_key = {
            let mut h = hash_bytes(branch) ^ u64::from(cseq).rotate_left(17);
            h ^= (Method::Invite as u64 + 1).rotate_left(41);
            h
        };
        for t in self
            .txns
            .iter_mut()
            .filter(|t| t.method == Method::Invite && t.cseq == cseq)
        {
            if t.key == invite_key || branch.is_empty() {
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

    fn note_addresses(&mut self, meta: &PacketMeta, msg: &SipMessage<'_>) {
        for ip in [meta.src.ip(), meta.dst.ip()] {
            if !self.addresses.contains(&ip) && self.addresses.len() < 16 {
                self.addresses.push(ip);
            }
        }
        if is_sdp(msg)
            && let Some(ip) = sdp::summarize(msg.body()).connection
            && !self.addresses.contains(&ip)
            && self.addresses.len() < 16
        {
            self.addresses.push(ip);
        }
    }

    fn on_response(&mut self, meta: &PacketMeta, msg: &SipMessage<'_>) {
        let Some(code) = msg.status() else {
            return;
        };
        let method = msg.fields.cseq_method;
        let key = txn_key(msg, method, meta, false);
        let found = self
            .txns
            .iter()
            .rposition(|t| t.key == key && t.src == meta.dst && t.dst == meta.src)
            .or_else(|| self.txns.iter().rposition(|t| t.key == key));
        let idx = match found {
            Some(i) => i,
            None => {
                // The request is not in the capture: keep the response anyway.
                let mut t = new_txn(key, meta, msg, method);
                (t.src, t.dst) = (meta.dst, meta.src);
                t.requests = Frames::default();
                self.push_txn(t);
                self.txns.len() - 1
            }
        };
        self.note_addresses(meta, msg);
        if code.0 < 200 {
            self.on_provisional(idx, meta, msg, code.0);
        } else {
            self.on_final(idx, meta, msg, code.0);
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

    fn on_final(&mut self, idx: usize, meta: &PacketMeta, msg: &SipMessage<'_>, code: u16) {
        let Some(t) = self.txns.get_mut(idx) else {
            return;
        };
        match &mut t.fin {
            Some(f) if f.code == code => {
                f.frames.push(meta.frame);
                self.retransmissions += 1;
            }
            Some(_) => {}
            None => {
                let mut frames = Frames::default();
                frames.push(meta.frame);
                t.fin = Some(new_final(meta, msg, code, frames));
                let is_bye = t.method == Method::Bye;
                let failed_invite = t.method == Method::Invite && !t.in_dialog && code >= 300;
                if is_bye || failed_invite {
                    self.ended = true;
                }
            }
        }
    }
}

fn is_sdp(msg: &SipMessage<'_>) -> bool {
    let ct = msg.get(msg.fields.content_type);
    ct.len() >= 15
        && ct
            .get(..15)
            .is_some_and(|p| p.eq_ignore_ascii_case(b"application/sdp"))
}

fn new_txn(key: u64, meta: &PacketMeta, msg: &SipMessage<'_>, method: Method) -> Txn {
    let mut requests = Frames::default();
    requests.push(meta.frame);
    Txn {
        key,
        method,
        method_name: value::text(msg.method_name(), 24),
        cseq: msg.fields.cseq,
        in_dialog: !msg.to_tag().is_empty(),
        src: meta.src,
        dst: meta.dst,
        first_frame: meta.frame,
        first_ts: meta.ts_ns,
        last_request_ts: meta.ts_ns,
        requests,
        credentials: credentials(msg),
        offer: (is_sdp(msg) && msg.request_method().is_some())
            .then(|| sdp::summarize(msg.body()).profiles),
        rack: rack(msg),
        provisional: None,
        fin: None,
        cancelled: None,
    }
}

fn credentials(msg: &SipMessage<'_>) -> Option<Credentials> {
    let (v, proxy) = if msg.fields.authorization.is_present() {
        (msg.get(msg.fields.authorization), false)
    } else if msg.fields.proxy_authorization.is_present() {
        (msg.get(msg.fields.proxy_authorization), true)
    } else {
        return None;
    };
    Some(Credentials {
        proxy,
        user: value::text(auth_param(v, b"username").unwrap_or_default(), 64),
    })
}

/// `RAck: 776656 1 INVITE` gives (776656, 1).
fn rack(msg: &SipMessage<'_>) -> Option<(u32, u32)> {
    let v = msg.get(msg.fields.rack);
    let mut parts = v
        .split(|c| c.is_ascii_whitespace())
        .filter(|p| !p.is_empty());
    let rseq = crate::sip::scan::number(parts.next()?)?;
    let cseq = crate::sip::scan::number(parts.next()?)?;
    Some((rseq, cseq))
}

fn new_final(meta: &PacketMeta, msg: &SipMessage<'_>, code: u16, frames: Frames) -> Final {
    let challenge = if msg.fields.www_authenticate.is_present() {
        msg.get(msg.fields.www_authenticate)
    } else {
        msg.get(msg.fields.proxy_authenticate)
    };
    let stale = auth_param(challenge, b"stale").is_some_and(|v| v.eq_ignore_ascii_case(b"true"));
    Final {
        code,
        reason: value::text(msg.reason(), 80),
        frame: meta.frame,
        ts_ns: meta.ts_ns,
        src: meta.src,
        dst: meta.dst,
        frames,
        stale,
        warning: value::text(msg.get(msg.fields.warning), 160),
        reason_header: value::text(msg.get(msg.fields.reason_header), 120),
        profiles: is_sdp(msg).then(|| sdp::summarize(msg.body()).profiles),
    }
}

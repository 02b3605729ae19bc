//! Correlation: SIP messages grouped by Call-ID into calls (every hop of a proxied call is one
//! call), transactions and retransmissions within them, registrations; STUN transactions; NAT
//! observations. Produces the call summaries and the findings.
//!
//! Memory stays bounded by the number of *active* calls: a call that has been quiet for
//! [`IDLE_ENDED_NS`] (ended calls) or [`IDLE_OPEN_NS`] (others) of capture time is diagnosed and
//! folded into its compact [`Call`] summary; a later message with the same Call-ID reopens it.

pub(crate) mod call;
pub mod record;

use crate::decode::{EventSink, PacketMeta};
use crate::findings::nat::NatTracker;
use crate::findings::stun::StunTracker;
use crate::findings::{Finding, sip as diagnose};
use crate::ladder::{LadderRecorder, LadderScope};
use crate::sip::SipMessage;
use crate::sip::value;
use crate::stun::StunMessage;
use call::ActiveCall;
pub use record::{Call, CallKind, Outcome};
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::net::SocketAddr;

/// Capture time after which an ended call is folded into its summary.
pub const IDLE_ENDED_NS: i64 = 40_000_000_000;
/// Capture time after which any quiet call is folded into its summary.
pub const IDLE_OPEN_NS: i64 = 300_000_000_000;
/// How often (in SIP messages) quiet calls are looked for.
const SWEEP_EVERY: u64 = 16 * 1024;

/// A fast non-cryptographic hash of bytes (FxHash-style, 8 bytes at a time).
pub(crate) fn hash_bytes(b: &[u8]) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut h: u64 = b.len() as u64;
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes(c.try_into().unwrap_or([0; 8]));
        h = (h.rotate_left(5) ^ w).wrapping_mul(K);
    }
    let mut tail = [0u8; 8];
    for (d, s) in tail.iter_mut().zip(chunks.remainder()) {
        *d = *s;
    }
    h = (h.rotate_left(5) ^ u64::from_le_bytes(tail)).wrapping_mul(K);
    h ^ (h >> 29)
}

/// A hasher for keys that are already hashes.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type IdMap = HashMap<u64, u32, BuildHasherDefault<IdentityHasher>>;

/// What the correlator keeps besides summaries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// Record ladder events (one call, or the first N events of everything).
    pub ladder: Option<LadderScope>,
}

/// Everything correlation produced.
#[derive(Debug, Default)]
pub struct Correlated {
    /// Every Call-ID, in order of first appearance.
    pub calls: Vec<Call>,
    /// Findings, sorted by first frame.
    pub findings: Vec<Finding>,
    /// The ladder, when asked for.
    pub ladder: Option<crate::ladder::Ladder>,
    /// Timestamp of the first message seen (ns since the epoch).
    pub first_ts: Option<i64>,
}

/// The correlation state of one capture.
#[derive(Debug, Default)]
pub struct Correlator {
    index: IdMap,
    calls: Vec<Call>,
    ids: Vec<Box<[u8]>>,
    active: Vec<Option<Box<ActiveCall>>>,
    active_list: Vec<u32>,
    findings: Vec<Finding>,
    nat: NatTracker,
    stun: StunTracker,
    ladder: Option<LadderRecorder>,
    now_ns: i64,
    first_ts: Option<i64>,
    messages: u64,
    unreachable: Unreachable,
}

/// ICMP "destination unreachable" reports, by the address that could not be reached.
pub(crate) type Unreachable = BTreeMap<SocketAddr, crate::findings::Frames>;

/// Most unreachable destinations remembered.
const MAX_UNREACHABLE: usize = 4096;

impl Correlator {
    /// A correlator with options.
    pub fn new(opts: Options) -> Self {
        Self {
            ladder: opts.ladder.map(LadderRecorder::new),
            ..Self::default()
        }
    }

    /// The timestamp of the first frame of the capture (for relative times).
    pub fn set_first_ts(&mut self, ts_ns: i64) {
        self.first_ts.get_or_insert(ts_ns);
    }

    /// Diagnoses everything still active and returns the results.
    pub fn finish(mut self, capture_end_ns: i64) -> Correlated {
        let end = capture_end_ns.max(self.now_ns);
        for idx in std::mem::take(&mut self.active_list) {
            self.close(idx, end);
        }
        let t0 = self.first_ts.unwrap_or(0);
        self.findings.extend(self.nat.findings());
        self.findings.extend(self.stun.findings(end));
        for f in &mut self.findings {
            f.time = secs(f.ts_ns - t0);
        }
        self.findings
            .sort_by(|a, b| (a.frames.first(), a.kind).cmp(&(b.frames.first(), b.kind)));
        for c in &mut self.calls {
            c.start = secs(c.first_ts - t0);
            c.duration = secs(c.last_ts - c.first_ts);
        }
        let ladder = self.ladder.take().map(|l| l.finish(&self.calls, t0));
        Correlated {
            calls: self.calls,
            findings: self.findings,
            ladder,
            first_ts: self.first_ts,
        }
    }

    /// The call index for a Call-ID, creating the summary on first sight.
    fn call_index(&mut self, meta: &PacketMeta, msg: &SipMessage<'_>) -> u32 {
        let id = msg.call_id();
        let mut h = hash_bytes(id);
        loop {
            match self.index.get(&h) {
                Some(&i) if self.ids.get(i as usize).is_some_and(|s| **s == *id) => return i,
                Some(_) => h = h.wrapping_add(0x9E37_79B9_7F4A_7C15),
                None => break,
            }
        }
        let idx = u32::try_from(self.calls.len()).unwrap_or(u32::MAX);
        self.index.insert(h, idx);
        self.ids.push(id.into());
        self.calls.push(new_call(meta, msg));
        self.active.push(None);
        idx
    }

    fn close(&mut self, idx: u32, end_ns: i64) {
        let Some(a) = self.active.get_mut(idx as usize).and_then(Option::take) else {
            return;
        };
        let Some(call) = self.calls.get_mut(idx as usize) else {
            return;
        };
        call.absorb(&a, end_ns);
        let found = diagnose::diagnose(call, &a, end_ns, &self.unreachable);
        call.findings += u32::try_from(found.len()).unwrap_or(u32::MAX);
        if let Some(l) = &mut self.ladder {
            l.note_call_addresses(&call.call_id, &a.addresses);
        }
        self.findings.extend(found);
    }

    /// Folds quiet calls into their summaries.
    fn sweep(&mut self) {
        let now = self.now_ns;
        let mut keep = Vec::with_capacity(self.active_list.len());
        for idx in std::mem::take(&mut self.active_list) {
            let quiet = self
                .active
                .get(idx as usize)
                .and_then(Option::as_ref)
                .is_some_and(|a| {
                    let idle = now - a.last_ts;
                    idle > IDLE_OPEN_NS || (a.ended && idle > IDLE_ENDED_NS)
                });
            if quiet {
                self.close(idx, now);
            } else {
                keep.push(idx);
            }
        }
        self.active_list = keep;
    }
}

fn secs(ns: i64) -> f64 {
    (ns.max(0) as f64 / 1e3).round() / 1e6
}

fn new_call(meta: &PacketMeta, msg: &SipMessage<'_>) -> Call {
    let method = msg.request_method().unwrap_or(msg.fields.cseq_method);
    let ua = msg.get(msg.fields.user_agent);
    Call {
        call_id: value::text(msg.call_id(), 256),
        kind: CallKind::from_method(method),
        from: value::text(value::user_host(value::uri(msg.get(msg.fields.from))), 96),
        to: value::text(value::user_host(value::uri(msg.get(msg.fields.to))), 96),
        first_frame: meta.frame,
        last_frame: meta.frame,
        start: 0.0,
        duration: 0.0,
        messages: 0,
        retransmissions: 0,
        final_status: None,
        final_reason: None,
        outcome: Outcome::Incomplete,
        setup_time_ms: None,
        post_dial_delay_ms: None,
        hops: Vec::new(),
        transports: Vec::new(),
        user_agent: (!ua.is_empty()).then(|| value::text(ua, 64)),
        findings: 0,
        first_ts: meta.ts_ns,
        last_ts: meta.ts_ns,
    }
}

impl EventSink for Correlator {
    fn sip(&mut self, meta: &PacketMeta, msg: SipMessage<'_>) {
        self.now_ns = self.now_ns.max(meta.ts_ns);
        self.messages += 1;
        let idx = self.call_index(meta, &msg);
        if let Some(call) = self.calls.get_mut(idx as usize) {
            call.messages += 1;
            call.last_frame = meta.frame;
            call.last_ts = meta.ts_ns;
            call.add_carrier(meta.carrier);
            if call.user_agent.is_none() && msg.fields.user_agent.is_present() {
                call.user_agent = Some(value::text(msg.get(msg.fields.user_agent), 64));
            }
        }
        let slot = self.active.get_mut(idx as usize);
        if let Some(slot) = slot {
            if slot.is_none() {
                *slot = Some(Box::default());
                self.active_list.push(idx);
            }
            if let Some(a) = slot.as_mut() {
                a.on_message(meta, &msg);
            }
        }
        self.nat.on_sip(meta, &msg);
        if let Some(l) = &mut self.ladder {
            l.sip(meta, &msg);
        }
        if self.messages.is_multiple_of(SWEEP_EVERY) {
            self.sweep();
        }
    }

    fn unreachable(&mut self, frame: u64, ts_ns: i64, target: SocketAddr) {
        self.now_ns = self.now_ns.max(ts_ns);
        if self.unreachable.len() < MAX_UNREACHABLE || self.unreachable.contains_key(&target) {
            self.unreachable.entry(target).or_default().push(frame);
        }
    }

    fn stun(&mut self, meta: &PacketMeta, msg: &StunMessage) {
        self.now_ns = self.now_ns.max(meta.ts_ns);
        self.stun.on_stun(meta, msg);
        if let Some(l) = &mut self.ladder {
            l.stun(meta, msg);
        }
    }
}

#[cfg(test)]
mod tests;

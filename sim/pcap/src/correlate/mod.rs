//! Correlation: SIP messages grouped by Call-ID into calls (every hop of a proxied call is one
//! call), transactions and retransmissions within them, registrations; STUN transactions; NAT
//! observations. Produces the call summaries and the findings.
//!
//! Memory stays bounded by the number of *active* calls. A call is diagnosed and folded into its
//! compact [`Call`] summary when it has been quiet for [`IDLE_ENDED_NS`] after it ended (BYE
//! answered, initial request failed), [`IDLE_UNANSWERED_NS`] while its initial request is
//! unanswered, or [`IDLE_OPEN_NS`] otherwise (an established call without BYE). A later message
//! with the same Call-ID reopens it; retransmissions of transactions already diagnosed are counted
//! but not diagnosed twice. Working states are recycled between calls.

pub(crate) mod call;
pub mod record;

use crate::decode::{EventSink, PacketMeta};
use crate::findings::stun::StunTracker;
use crate::findings::{Finding, Frames, sip as diagnose};
use crate::ladder::{LadderRecorder, LadderScope};
use crate::sip::sdp::{self, SdpSummary};
use crate::sip::{SipMessage, value};
use crate::stun::StunMessage;
use call::ActiveCall;
pub use record::{Call, CallKind, Outcome};
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// Capture time after which an ended call is folded into its summary.
pub const IDLE_ENDED_NS: i64 = 2_000_000_000;
/// Capture time after which a call whose initial request is unanswered is folded (Timer B × 2).
pub const IDLE_UNANSWERED_NS: i64 = 64_000_000_000;
/// Capture time after which any quiet call is folded into its summary.
pub const IDLE_OPEN_NS: i64 = 300_000_000_000;
/// Capture time between looks for quiet calls.
const SWEEP_EVERY_NS: i64 = 1_000_000_000;
/// Not a slot.
const NO_SLOT: u32 = u32::MAX;

/// A fast non-cryptographic hash of bytes (FxHash-style, 8 bytes at a time).
pub(crate) fn hash_bytes(b: &[u8]) -> u64 {
    hash_bytes_seeded(b, 0)
}

/// [`hash_bytes`] with a seed (different seeds give independent hashes).
pub(crate) fn hash_bytes_seeded(b: &[u8], seed: u64) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut h: u64 = (b.len() as u64) ^ seed;
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

/// A hash of a transport address.
pub(crate) fn hash_addr(a: SocketAddr) -> u64 {
    let ip = match a.ip() {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    };
    let folded = (ip as u64) ^ ((ip >> 64) as u64).rotate_left(23);
    (folded ^ u64::from(a.port()).rotate_left(48)).wrapping_mul(0x9E37_79B9_7F4A_7C15)
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

type IdMap<V> = HashMap<u64, V, BuildHasherDefault<IdentityHasher>>;

/// Shares the few distinct strings that repeat across calls (reason phrases, user agents).
#[derive(Debug, Default)]
pub(crate) struct Interner {
    map: IdMap<Arc<str>>,
}

impl Interner {
    /// The shared text for `b` (lossy UTF-8, at most `max` characters).
    pub(crate) fn intern(&mut self, b: &[u8], max: usize) -> Arc<str> {
        let h = hash_bytes(b);
        match self.map.get(&h) {
            Some(s) if s.as_bytes() == b => s.clone(),
            _ => {
                let s: Arc<str> = value::text(b, max).into();
                if self.map.len() < 64 * 1024 {
                    self.map.insert(h, s.clone());
                }
                s
            }
        }
    }
}

/// ICMP "destination unreachable" reports, by the address that could not be reached.
pub(crate) type Unreachable = BTreeMap<SocketAddr, Frames>;

/// Most unreachable destinations remembered.
const MAX_UNREACHABLE: usize = 4096;

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
    /// Timestamp of the first frame (ns since the epoch).
    pub first_ts: Option<i64>,
}

/// The correlation state of one capture.
#[derive(Debug, Default)]
pub struct Correlator {
    /// Every Call-ID seen: hash → (second hash, call index).
    index: IdMap<(u64, u32)>,
    /// The Call-IDs of active calls only (small, so lookups stay in cache).
    active_index: IdMap<(u64, u32)>,
    calls: Vec<Call>,
    slots: Vec<ActiveCall>,
    free: Vec<u32>,
    active: Vec<u32>,
    findings: Vec<Finding>,
    strings: Interner,
    stun: StunTracker,
    ladder: Option<LadderRecorder>,
    unreachable: Unreachable,
    now_ns: i64,
    last_sweep_ns: i64,
    first_ts: Option<i64>,
}

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
        if self.first_ts.is_none() {
            self.first_ts = Some(ts_ns);
            self.last_sweep_ns = ts_ns;
        }
    }

    /// Diagnoses everything still active and returns the results, with `extra` findings
    /// (NAT observations made elsewhere) merged in.
    pub fn finish(mut self, capture_end_ns: i64, extra: Vec<Finding>) -> Correlated {
        let end = capture_end_ns.max(self.now_ns);
        for idx in std::mem::take(&mut self.active) {
            self.close(idx, end);
        }
        let t0 = self.first_ts.unwrap_or(0);
        self.findings.extend(extra);
        self.findings.extend(self.stun.findings(end));
        for f in &mut self.findings {
            f.time = (((f.ts_ns - t0).max(0)) as f64 / 1e3).round() / 1e6;
        }
        self.findings
            .sort_by(|a, b| (a.frames.first(), a.kind).cmp(&(b.frames.first(), b.kind)));
        for c in &mut self.calls {
            c.start = (((c.first_ts - t0).max(0)) as f64 / 1e3).round() / 1e6;
        }
        let ladder = self.ladder.take().map(|l| l.finish(&self.calls, t0));
        Correlated {
            calls: self.calls,
            findings: self.findings,
            ladder,
            first_ts: self.first_ts,
        }
    }

    /// The call index for a Call-ID, creating the summary on first sight. `id` holds the two
    /// hashes of the Call-ID ([`CallIdHash`]).
    fn call_index(&mut self, id: CallIdHash, meta: &PacketMeta, msg: &SipMessage<'_>) -> u32 {
        if let Some((_, i)) = probe(&self.active_index, id) {
            return i;
        }
        let (key, known) = match probe(&self.index, id) {
            Some((key, i)) => (key, Some(i)),
            None => (free_key(&self.index, id.0), None),
        };
        let idx = known.unwrap_or_else(|| {
            let idx = u32::try_from(self.calls.len()).unwrap_or(u32::MAX);
            self.index.insert(key, (id.1, idx));
            let mut call = new_call(meta, msg, &mut self.strings);
            call.key = key;
            self.calls.push(call);
            idx
        });
        let active_key = free_key(&self.active_index, key);
        self.active_index.insert(active_key, (id.1, idx));
        if let Some(c) = self.calls.get_mut(idx as usize) {
            c.active_key = active_key;
        }
        idx
    }

    /// The active state of call `idx`, opening (or reopening) it.
    fn open(&mut self, idx: u32) -> Option<&mut ActiveCall> {
        let call = self.calls.get_mut(idx as usize)?;
        if call.active == NO_SLOT {
            let slot = match self.free.pop() {
                Some(s) => s,
                None => {
                    self.slots.push(ActiveCall::default());
                    u32::try_from(self.slots.len() - 1).unwrap_or(NO_SLOT)
                }
            };
            self.slots
                .get_mut(slot as usize)?
                .reset(idx, call.closed_keys);
            call.active = slot;
            self.active.push(idx);
        }
        self.slots.get_mut(call.active as usize)
    }

    fn close(&mut self, idx: u32, end_ns: i64) {
        let Some(call) = self.calls.get_mut(idx as usize) else {
            return;
        };
        let slot = std::mem::replace(&mut call.active, NO_SLOT);
        self.active_index.remove(&call.active_key);
        let Some(a) = self.slots.get(slot as usize) else {
            return;
        };
        call.absorb(a, end_ns);
        call.closed_keys = a.keys_to_remember();
        let found = diagnose::diagnose(call, a, end_ns, &self.unreachable);
        call.findings += u32::try_from(found.len()).unwrap_or(u32::MAX);
        if let Some(l) = &mut self.ladder {
            l.note_call_addresses(&call.id, &a.addresses);
        }
        self.findings.extend(found);
        self.free.push(slot);
    }

    /// Folds quiet calls into their summaries.
    fn sweep(&mut self) {
        let now = self.now_ns;
        let mut keep = Vec::with_capacity(self.active.len());
        for idx in std::mem::take(&mut self.active) {
            let slot = self.calls.get(idx as usize).map_or(NO_SLOT, |c| c.active);
            let quiet = self.slots.get(slot as usize).is_some_and(|a| {
                let idle = now - a.last_ts;
                idle > IDLE_OPEN_NS
                    || (a.ended && idle > IDLE_ENDED_NS)
                    || (!a.established && !a.ended && idle > IDLE_UNANSWERED_NS)
            });
            if quiet {
                self.close(idx, now);
            } else {
                keep.push(idx);
            }
        }
        self.active = keep;
    }
}

/// The two hashes of a Call-ID: the table key and an independent check (together 128 bits, so
/// the Call-ID bytes never need to be compared).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallIdHash(pub u64, pub u64);

impl CallIdHash {
    /// Hashes a Call-ID.
    pub fn of(id: &[u8]) -> Self {
        Self(hash_bytes(id), hash_bytes_seeded(id, 0xA076_1D64_78BD_642F))
    }
}

/// Steps between probes when two Call-IDs share a table key.
const PROBE_STEP: u64 = 0x9E37_79B9_7F4A_7C15;

/// Finds the entry of `id`: (its key, call index).
fn probe(map: &IdMap<(u64, u32)>, id: CallIdHash) -> Option<(u64, u32)> {
    let mut key = id.0;
    loop {
        match map.get(&key) {
            Some(&(check, i)) if check == id.1 => return Some((key, i)),
            Some(_) => key = key.wrapping_add(PROBE_STEP),
            None => return None,
        }
    }
}

/// The first unused key at or after `key`.
fn free_key(map: &IdMap<(u64, u32)>, mut key: u64) -> u64 {
    while map.contains_key(&key) {
        key = key.wrapping_add(PROBE_STEP);
    }
    key
}

fn new_call(meta: &PacketMeta, msg: &SipMessage<'_>, strings: &mut Interner) -> Call {
    let method = msg.request_method().unwrap_or(msg.fields.cseq_method);
    let ua = msg.get(msg.fields.user_agent);
    Call {
        id: msg.call_id().into(),
        from: value::user_host(value::uri(msg.get(msg.fields.from))).into(),
        to: value::user_host(value::uri(msg.get(msg.fields.to))).into(),
        kind: CallKind::from_method(method),
        first_frame: meta.frame,
        last_frame: meta.frame,
        messages: 0,
        retransmissions: 0,
        final_status: None,
        final_reason: None,
        outcome: Outcome::Incomplete,
        setup_time_ms: None,
        post_dial_delay_ms: None,
        hops: Box::default(),
        transports: 0,
        user_agent: (!ua.is_empty()).then(|| strings.intern(ua, 64)),
        findings: 0,
        start: 0.0,
        first_ts: meta.ts_ns,
        last_ts: meta.ts_ns,
        active: NO_SLOT,
        closed_keys: [0; 4],
        key: 0,
        active_key: 0,
    }
}

impl Correlator {
    /// One SIP message, with what the reader thread prepared: its SDP summary and Call-ID hashes.
    pub fn sip_prepared(
        &mut self,
        meta: &PacketMeta,
        msg: &SipMessage<'_>,
        sdp: Option<&SdpSummary>,
        id: CallIdHash,
    ) {
        self.now_ns = self.now_ns.max(meta.ts_ns);
        let idx = self.call_index(id, meta, msg);
        if let Some(call) = self.calls.get_mut(idx as usize) {
            call.messages += 1;
            call.last_frame = meta.frame;
            call.last_ts = meta.ts_ns;
            call.add_carrier(meta.carrier);
            if call.user_agent.is_none() && msg.fields.user_agent.is_present() {
                call.user_agent = Some(self.strings.intern(msg.get(msg.fields.user_agent), 64));
            }
        }
        // `open` borrows `self`; the interner is moved out for the duration of the update.
        let mut strings = std::mem::take(&mut self.strings);
        if let Some(a) = self.open(idx) {
            a.on_message(meta, msg, sdp, &mut strings);
        }
        self.strings = strings;
        if let Some(l) = &mut self.ladder {
            l.sip(meta, msg);
        }
        if self.now_ns - self.last_sweep_ns >= SWEEP_EVERY_NS {
            self.last_sweep_ns = self.now_ns;
            self.sweep();
        }
    }
}

/// The SDP summary of a message with an SDP body.
pub(crate) fn message_sdp(msg: &SipMessage<'_>) -> Option<SdpSummary> {
    let ct = msg.get(msg.fields.content_type);
    let is_sdp = ct.len() >= 15
        && ct
            .get(..15)
            .is_some_and(|p| p.eq_ignore_ascii_case(b"application/sdp"));
    (is_sdp && !msg.body().is_empty()).then(|| sdp::summarize(msg.body()))
}

/// Drives the correlator directly (one thread; NAT observations are not made here).
impl EventSink for Correlator {
    fn sip(&mut self, meta: &PacketMeta, msg: SipMessage<'_>) {
        let sdp = message_sdp(&msg);
        self.sip_prepared(meta, &msg, sdp.as_ref(), CallIdHash::of(msg.call_id()));
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

//! Correlation: SIP messages grouped by Call-ID into calls (every hop of a proxied call is one
//! call), transactions and retransmissions within them, registrations; STUN transactions; ICMP
//! reports. Produces the call records, the findings and the counts.
//!
//! Memory stays bounded. A call's working state (transactions, offers, reliable responses) is diagnosed and folded
//! into its compact [`Call`] record when the call has been quiet for [`IDLE_ENDED_NS`] after it
//! ended (BYE answered, initial request failed), [`IDLE_UNANSWERED_NS`] while its initial request
//! is unanswered, or [`IDLE_OPEN_NS`] otherwise (an established call without BYE); working states
//! are recycled. A later message with the same Call-ID reopens it; retransmissions of transactions
//! already diagnosed are counted but not diagnosed twice. A record that is over and quiet for
//! [`SPILL_AFTER_NS`] is written out of memory ([`crate::store`]).

pub(crate) mod call;
pub mod record;

use crate::decode::{EventSink, PacketMeta};
use crate::durations::Durations;
use crate::findings::stun::StunTracker;
use crate::findings::{Finding, Frames, Severity, sip as diagnose};
use crate::ladder::{LadderRecorder, LadderScope};
use crate::sip::sdp::{self, SdpSummary};
use crate::sip::{SipMessage, value};
use crate::store::Records;
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

/// A table keyed by a hash. Only looked up, never iterated; its hasher has no seed either.
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
    /// Keep this Call-ID's call and findings in memory (for `--call`).
    pub select: Option<String>,
}

/// Counts over every call, kept as calls are finalised.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tally {
    /// Number of Call-IDs.
    pub calls: u64,
    /// Per kind.
    pub by_kind: BTreeMap<&'static str, u64>,
    /// Per outcome.
    pub by_outcome: BTreeMap<&'static str, u64>,
    /// Per final status.
    pub by_status: BTreeMap<u16, u64>,
    /// Setup times of answered calls (ms).
    pub setup_ms: Durations,
    /// Post-dial delays (ms).
    pub pdd_ms: Durations,
    /// Findings per severity.
    pub findings: BTreeMap<&'static str, u64>,
    /// The worst severity of all findings.
    pub worst: Option<Severity>,
    /// The worst severity among the selected call's findings.
    pub worst_selected: Option<Severity>,
}

impl Tally {
    fn add_call(&mut self, c: &Call) {
        self.calls += 1;
        *self.by_kind.entry(c.kind.as_str()).or_default() += 1;
        *self.by_outcome.entry(c.outcome.as_str()).or_default() += 1;
        if let Some(code) = c.final_status {
            *self.by_status.entry(code).or_default() += 1;
        }
        if let (Some(ms), Outcome::Answered) = (c.setup_time_ms, c.outcome) {
            self.setup_ms.push(ms);
        }
        if let Some(ms) = c.post_dial_delay_ms {
            self.pdd_ms.push(ms);
        }
    }

    fn add_finding(&mut self, f: &Finding, selected: bool) {
        *self.findings.entry(f.severity.as_str()).or_default() += 1;
        self.worst = self.worst.max(Some(f.severity));
        if selected {
            self.worst_selected = self.worst_selected.max(Some(f.severity));
        }
    }
}

/// Everything correlation produced.
#[derive(Debug, Default)]
pub struct Correlated {
    /// Every Call-ID, in order of first appearance.
    pub calls: Records<Call>,
    /// Findings, in order of first frame.
    pub findings: Records<Finding>,
    /// Counts.
    pub tally: Tally,
    /// The ladder, when asked for.
    pub ladder: Option<crate::ladder::Ladder>,
    /// Timestamp of the first frame (ns since the epoch).
    pub first_ts: Option<i64>,
}

/// Capture time after which a call that is over, and quiet, is written out of memory: RFC 3261
/// Timer H and J (64 × T1 = 32 s) bound the retransmissions that could still arrive for it.
pub const SPILL_AFTER_NS: i64 = 32_000_000_000;

/// The correlation state of one capture.
#[derive(Debug, Default)]
pub struct Correlator {
    /// Call-IDs in memory: hash → (second hash, record slot).
    index: IdMap<(u64, u32)>,
    /// The Call-IDs of active calls only (small, so lookups stay in cache).
    active_index: IdMap<(u64, u32)>,
    /// Call records in memory (slots are reused).
    calls: Vec<Call>,
    free_calls: Vec<u32>,
    /// Closed calls, in closing order, waiting to be written out.
    quiet: std::collections::VecDeque<(u32, u64)>,
    calls_seen: u64,
    slots: Vec<ActiveCall>,
    free: Vec<u32>,
    active: Vec<u32>,
    out_calls: Records<Call>,
    out_findings: Records<Finding>,
    tally: Tally,
    select: Option<Vec<u8>>,
    strings: Interner,
    stun: StunTracker,
    ladder: Option<LadderRecorder>,
    unreachable: Unreachable,
    now_ns: i64,
    last_sweep_ns: i64,
    first_ts: Option<i64>,
    /// Call-IDs for messages cut short before theirs (when driven directly, on one thread).
    recovery: Recovery,
}

impl Correlator {
    /// A correlator with options.
    pub fn new(opts: Options) -> Self {
        Self {
            ladder: opts.ladder.map(LadderRecorder::new),
            select: opts.select.map(String::into_bytes),
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
        for slot in std::mem::take(&mut self.active) {
            self.close(slot, end);
        }
        let stun = self.stun.findings(end);
        for f in extra.into_iter().chain(stun) {
            self.emit(f);
        }
        for slot in 0..self.calls.len() {
            let slot = u32::try_from(slot).unwrap_or(u32::MAX);
            if self.calls.get(slot as usize).is_some_and(|c| c.seq != 0) {
                self.spill(slot);
            }
        }
        let t0 = self.first_ts.unwrap_or(0);
        let ladder = self
            .ladder
            .take()
            .map(|l| l.finish(self.out_calls.selected(), t0));
        Correlated {
            calls: self.out_calls,
            findings: self.out_findings,
            tally: self.tally,
            ladder,
            first_ts: self.first_ts,
        }
    }

    /// Reports a finding.
    fn emit(&mut self, mut f: Finding) {
        let t0 = self.first_ts.unwrap_or(f.ts_ns);
        f.time = (((f.ts_ns - t0).max(0)) as f64 / 1e3).round() / 1e6;
        let selected = self
            .select
            .as_deref()
            .is_some_and(|s| f.call_id.as_deref().map(str::as_bytes) == Some(s));
        self.tally.add_finding(&f, selected);
        let first = f.frames.first().copied().unwrap_or(0);
        self.out_findings.push(first, f.kind as u64, f, selected);
    }

    /// Writes a call record out of memory (it will not change any more).
    fn spill(&mut self, slot: u32) {
        let t0 = self.first_ts.unwrap_or(0);
        let Some(call) = self.calls.get_mut(slot as usize) else {
            return;
        };
        let mut record = std::mem::replace(call, Call::vacant());
        record.start = (((record.first_ts - t0).max(0)) as f64 / 1e3).round() / 1e6;
        self.index.remove(&record.key);
        self.free_calls.push(slot);
        self.tally.add_call(&record);
        let selected = self.select.as_deref().is_some_and(|s| *s == *record.id);
        let first = record.first_frame;
        self.out_calls.push(first, 0, record, selected);
    }

    /// The active slot of a Call-ID's call: found in the active index, or opened (creating the
    /// call record on first sight, or reopening it). `id` holds the two hashes of the Call-ID.
    fn active_slot(
        &mut self,
        id: CallIdHash,
        meta: &PacketMeta,
        msg: &SipMessage<'_>,
    ) -> Option<u32> {
        if let Some((_, slot)) = probe(&self.active_index, id) {
            return Some(slot);
        }
        let (key, known) = match probe(&self.index, id) {
            Some((key, i)) => (key, Some(i)),
            None => (free_key(&self.index, id.0), None),
        };
        let idx = known.unwrap_or_else(|| self.new_record(key, id, meta, msg));
        let slot = self.open(idx)?;
        let active_key = free_key(&self.active_index, key);
        self.active_index.insert(active_key, (id.1, slot));
        if let Some(c) = self.calls.get_mut(idx as usize) {
            c.active_key = active_key;
        }
        Some(slot)
    }

    /// A new call record for a Call-ID seen for the first time.
    fn new_record(
        &mut self,
        key: u64,
        id: CallIdHash,
        meta: &PacketMeta,
        msg: &SipMessage<'_>,
    ) -> u32 {
        self.calls_seen += 1;
        let mut call = new_call(meta, msg, &mut self.strings);
        call.key = key;
        call.seq = self.calls_seen;
        let idx = match self.free_calls.pop() {
            Some(slot) => {
                if let Some(c) = self.calls.get_mut(slot as usize) {
                    *c = call;
                }
                slot
            }
            None => {
                self.calls.push(call);
                u32::try_from(self.calls.len() - 1).unwrap_or(u32::MAX)
            }
        };
        self.index.insert(key, (id.1, idx));
        idx
    }

    /// Gives call `idx` an active state; returns its slot.
    fn open(&mut self, idx: u32) -> Option<u32> {
        let call = self.calls.get_mut(idx as usize)?;
        let slot = match self.free.pop() {
            Some(s) => s,
            None => {
                self.slots.push(ActiveCall::default());
                u32::try_from(self.slots.len() - 1).unwrap_or(NO_SLOT)
            }
        };
        self.slots
            .get_mut(slot as usize)?
            .reset(idx, call.closed_keys, call.user_agent.is_none());
        call.active = slot;
        self.active.push(slot);
        Some(slot)
    }

    /// Diagnoses the call in `slot` and folds its state into the call record.
    fn close(&mut self, slot: u32, end_ns: i64) {
        let Some(a) = self.slots.get(slot as usize) else {
            return;
        };
        let idx = a.call;
        let Some(call) = self.calls.get_mut(idx as usize) else {
            return;
        };
        call.active = NO_SLOT;
        self.active_index.remove(&call.active_key);
        call.absorb(a, end_ns);
        call.closed_keys = a.keys_to_remember();
        call.over = a.ended || !a.established;
        let found = diagnose::diagnose(call, a, end_ns, &self.unreachable);
        call.findings += u32::try_from(found.len()).unwrap_or(u32::MAX);
        if let Some(l) = &mut self.ladder {
            l.note_call_addresses(&call.id, &a.addresses);
        }
        let seq = call.seq;
        self.free.push(slot);
        self.quiet.push_back((idx, seq));
        for f in found {
            self.emit(f);
        }
    }

    /// Writes out calls that are over and have been quiet for [`SPILL_AFTER_NS`].
    fn spill_quiet(&mut self) {
        while let Some(&(slot, seq)) = self.quiet.front() {
            let Some(c) = self.calls.get(slot as usize) else {
                self.quiet.pop_front();
                continue;
            };
            if c.seq != seq || c.active != NO_SLOT || !c.over {
                // Reused, reopened (queued again when it closes), or still in a dialog.
                self.quiet.pop_front();
                continue;
            }
            if self.now_ns - c.last_ts < SPILL_AFTER_NS {
                break;
            }
            self.quiet.pop_front();
            self.spill(slot);
        }
    }

    /// Folds quiet calls into their summaries.
    fn sweep(&mut self) {
        let now = self.now_ns;
        let mut keep = Vec::with_capacity(self.active.len());
        for slot in std::mem::take(&mut self.active) {
            let quiet = self.slots.get(slot as usize).is_some_and(|a| {
                let idle = now - a.last_ts;
                idle > IDLE_OPEN_NS
                    || (a.ended && idle > IDLE_ENDED_NS)
                    || (!a.established && !a.ended && idle > IDLE_UNANSWERED_NS)
            });
            if quiet {
                self.close(slot, now);
            } else {
                keep.push(slot);
            }
        }
        self.active = keep;
        self.spill_quiet();
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

/// Most correlation keys remembered for messages cut short before their Call-ID.
const MAX_RECOVERY_KEYS: usize = 1 << 16;

/// The Call-ID of messages the capture cut short before it. Once such a message has been
/// seen, the From tags, To tags and top-Via branches of messages with a Call-ID are remembered,
/// and a message without one joins the call its From tag, To tag or branch (in that order)
/// belongs to. A message that matches none starts a call named after its From tag (or branch):
/// see [`recovered_label`]. Until the first such message this costs one branch per message.
#[derive(Debug, Default)]
pub struct Recovery {
    active: bool,
    keys: IdMap<CallIdHash>,
}

impl Recovery {
    /// The Call-ID hashes the correlator files `msg` under.
    pub fn id(&mut self, msg: &SipMessage<'_>) -> CallIdHash {
        let cid = msg.call_id();
        if !cid.is_empty() {
            let id = CallIdHash::of(cid);
            if self.active {
                self.learn(msg, id);
            }
            return id;
        }
        self.active = true;
        let keys = [(msg.from_tag(), 1), (msg.to_tag(), 1), (msg.branch(), 2)];
        for (k, seed) in keys {
            if !k.is_empty()
                && let Some(id) = self.keys.get(&hash_bytes_seeded(k, seed))
            {
                return *id;
            }
        }
        CallIdHash::of(&recovered_label(msg))
    }

    fn learn(&mut self, msg: &SipMessage<'_>, id: CallIdHash) {
        if self.keys.len() >= MAX_RECOVERY_KEYS {
            self.keys.clear();
        }
        for (k, seed) in [(msg.from_tag(), 1), (msg.to_tag(), 1), (msg.branch(), 2)] {
            if !k.is_empty() {
                self.keys.insert(hash_bytes_seeded(k, seed), id);
            }
        }
    }
}

/// The name of a call made of messages without a Call-ID: `cut short: From tag T` (or `Via
/// branch B`). It has spaces, which a Call-ID cannot (RFC 3261 §25.1), so it is never taken for one.
pub(crate) fn recovered_label(msg: &SipMessage<'_>) -> Vec<u8> {
    let (what, v) = match msg.from_tag() {
        [] => ("Via branch", msg.branch()),
        tag => ("From tag", tag),
    };
    let mut out = format!("cut short: {what} ").into_bytes();
    out.extend_from_slice(v);
    out
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
    let (id, recovered): (Box<[u8]>, _) = match msg.call_id() {
        [] => (
            recovered_label(msg).into_boxed_slice(),
            Some(if msg.from_tag().is_empty() {
                "via_branch"
            } else {
                "from_tag"
            }),
        ),
        cid => (cid.into(), None),
    };
    Call {
        id,
        correlated_by: recovered,
        cut_short: 0,
        without_call_id: 0,
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
        seq: 0,
        over: false,
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
        let slot = self.active_slot(id, meta, msg);
        if let Some(a) = slot.and_then(|s| self.slots.get_mut(s as usize)) {
            a.count(meta);
            if msg.fields.truncated
                && let Some(c) = self.calls.get_mut(a.call as usize)
            {
                c.cut_short += 1;
                c.without_call_id += u32::from(msg.call_id().is_empty());
            }
            if a.needs_user_agent && msg.fields.user_agent.is_present() {
                a.user_agent = Some(self.strings.intern(msg.get(msg.fields.user_agent), 64));
                a.needs_user_agent = false;
            }
            a.on_message(meta, msg, sdp, &mut self.strings);
        }
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
        let id = self.recovery.id(&msg);
        self.sip_prepared(meta, &msg, sdp.as_ref(), id);
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

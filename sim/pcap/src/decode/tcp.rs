//! TCP stream reassembly for SIP (and SIP over WebSocket).
//!
//! Each direction of a connection is reassembled on its own:
//!
//! ```text
//!   segment ──► before next_seq? ── all old ──► retransmission
//!      │                         └─ overlap ──► trimmed, then in order
//!      ├──► at next_seq ──► appended ──► framed (Content-Length) ──► messages
//!      └──► beyond next_seq ──► held out of order ──► framed when the hole fills
//!                                   └─ hole never fills ──► gap: skip it, resync on a start line
//! ```
//!
//! A hole is given up when the other direction acknowledges bytes past it (the receiver got them,
//! the capture did not), when more than [`MAX_OOO_SEGMENTS`] segments or [`MAX_FLOW_BYTES`] bytes
//! are held, or when the stream ends. Sequence numbers are mapped to 64-bit stream offsets, so
//! wrap-around is harmless. The table holds at most [`MAX_FLOWS`] directions and forgets those
//! idle for [`IDLE_NS`].
//!
//! Frame accounting: a frame whose bytes are held is *deferred* and later resolved: to `sip` when a
//! message completes in it, `tcp_segment` when its bytes end up inside a message completed later,
//! `tcp_gap` when they are lost, `tcp_other` when they are not SIP.

use super::ws;
use crate::accounting::{Class, Other, Undecodable};
use crate::sip::{Malformed, Scanned};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;

/// Most bytes one direction may hold (a partial message plus out-of-order segments).
pub const MAX_FLOW_BYTES: usize = 256 * 1024;
/// Most out-of-order segments one direction may hold.
pub const MAX_OOO_SEGMENTS: usize = 64;
/// Most directions tracked at once.
pub const MAX_FLOWS: usize = 16 * 1024;
/// Capture time after which an idle direction is forgotten (2 minutes).
pub const IDLE_NS: i64 = 120_000_000_000;

/// One direction of a connection: (source, destination).
pub type FlowKey = (SocketAddr, SocketAddr);

/// A TCP segment as decoded.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Segment<'a> {
    pub(crate) key: FlowKey,
    pub(crate) seq: u32,
    /// The acknowledgement number, when the ACK flag is set.
    pub(crate) ack: Option<u32>,
    pub(crate) syn: bool,
    pub(crate) fin: bool,
    pub(crate) rst: bool,
    pub(crate) payload: &'a [u8],
    pub(crate) frame: u64,
    pub(crate) ts_ns: i64,
}

/// How a stream's content is carried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamKind {
    /// SIP directly over TCP.
    Tcp,
    /// SIP in WebSocket messages.
    WebSocket,
}

/// Receives what reassembly produces.
pub(crate) trait StreamSink {
    /// A complete, usable SIP message, completed by the segment in `frame`.
    fn message(
        &mut self,
        key: FlowKey,
        frame: u64,
        ts_ns: i64,
        kind: StreamKind,
        bytes: &[u8],
        s: &Scanned,
    );
    /// A malformed SIP message.
    fn malformed(&mut self, why: Malformed);
    /// A frame's class, known when the frame arrives.
    fn classify(&mut self, frame: u64, class: Class);
    /// A frame whose class will be given later through [`Self::resolve`].
    fn defer(&mut self, frame: u64);
    /// A deferred frame's class.
    fn resolve(&mut self, frame: u64, class: Class);
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Mode {
    /// Not known yet (mid-stream pickup, or not SIP): look for a start line in each segment.
    Unknown,
    Sip,
    Ws(ws::Phase),
    /// TLS or another protocol: not inspected further.
    NotSip,
}

/// A segment held until the hole before it fills: bytes, frame, timestamp.
type Held = (Vec<u8>, u64, i64);

#[derive(Debug)]
struct Dir {
    next_seq: u32,
    next_abs: u64,
    anchored: bool,
    mode: Mode,
    buf: Vec<u8>,
    /// Stream offset of `buf[0]` (everything before it is consumed).
    buf_abs: u64,
    ooo: BTreeMap<u64, Held>,
    ooo_bytes: usize,
    /// Deferred frames and the stream offset where their bytes end.
    pending: VecDeque<(u64, u64)>,
    resync: bool,
    last_ts: i64,
}

impl Dir {
    fn new(ts_ns: i64) -> Self {
        Self {
            next_seq: 0,
            next_abs: 0,
            anchored: false,
            mode: Mode::Unknown,
            buf: Vec::new(),
            buf_abs: 0,
            ooo: BTreeMap::new(),
            ooo_bytes: 0,
            pending: VecDeque::new(),
            resync: false,
            last_ts: ts_ns,
        }
    }

    fn held(&self) -> usize {
        self.buf.len() + self.ooo_bytes
    }
}

/// What happened to the bytes during one framing round.
#[derive(Debug, Default)]
struct Round {
    messages: u32,
    malformed: Option<Malformed>,
    keepalive: bool,
    junk: bool,
    lost: bool,
}

/// The frame a framing round is attributed to.
#[derive(Clone, Copy, Debug)]
struct At {
    key: FlowKey,
    frame: u64,
    ts_ns: i64,
    /// Stream offset where this frame's bytes end.
    end: u64,
}

/// The reassembly table.
#[derive(Debug, Default)]
pub(crate) struct Reassembler {
    /// Streams by direction. Its iteration order changes from process to process (std's
    /// per-process hash seed): every walk over it sorts by flow key (or age, then key) first.
    flows: HashMap<FlowKey, Dir>,
    segments: u64,
}

impl Reassembler {
    /// Handles one segment; its frame is classified or deferred through the sink.
    pub(crate) fn segment(&mut self, seg: Segment<'_>, sink: &mut dyn StreamSink) {
        self.segments += 1;
        if self.segments.is_multiple_of(4096) {
            self.expire(seg.ts_ns, sink);
        }
        if let Some(ack) = seg.ack {
            self.acknowledged((seg.key.1, seg.key.0), ack, sink);
        }
        if !self.flows.contains_key(&seg.key) && self.flows.len() >= MAX_FLOWS {
            self.evict_oldest(sink);
        }
        let d = self
            .flows
            .entry(seg.key)
            .or_insert_with(|| Dir::new(seg.ts_ns));
        d.last_ts = seg.ts_ns;
        on_segment(d, &seg, sink);
        if (seg.fin || seg.rst)
            && let Some(mut d) = self.flows.remove(&seg.key)
        {
            flush(&mut d, sink);
        }
    }

    /// Ends every stream (end of capture): held bytes are lost.
    pub(crate) fn flush_all(&mut self, sink: &mut dyn StreamSink) {
        let mut all: Vec<(FlowKey, Dir)> = std::mem::take(&mut self.flows).into_iter().collect();
        all.sort_by_key(|(k, _)| *k);
        for (_, mut d) in all {
            flush(&mut d, sink);
        }
    }

    /// The peer acknowledged `ack` on direction `key`: a hole before it was lost by the capture.
    fn acknowledged(&mut self, key: FlowKey, ack: u32, sink: &mut dyn StreamSink) {
        let Some(d) = self.flows.get_mut(&key) else {
            return;
        };
        let beyond = (ack.wrapping_sub(d.next_seq) as i32) > 0;
        if d.anchored && beyond && !d.ooo.is_empty() {
            skip_gap(d, sink);
            drain_ooo(d, key, sink);
        }
    }

    fn expire(&mut self, now: i64, sink: &mut dyn StreamSink) {
        let mut idle: Vec<FlowKey> = self
            .flows
            .iter()
            .filter(|(_, d)| now.saturating_sub(d.last_ts) > IDLE_NS)
            .map(|(k, _)| *k)
            .collect();
        idle.sort_unstable();
        for k in idle {
            if let Some(mut d) = self.flows.remove(&k) {
                flush(&mut d, sink);
            }
        }
    }

    fn evict_oldest(&mut self, sink: &mut dyn StreamSink) {
        let mut by_age: Vec<(i64, FlowKey)> =
            self.flows.iter().map(|(k, d)| (d.last_ts, *k)).collect();
        by_age.sort_unstable();
        for (_, k) in by_age.into_iter().take(MAX_FLOWS / 8) {
            if let Some(mut d) = self.flows.remove(&k) {
                flush(&mut d, sink);
            }
        }
    }
}

fn on_segment(d: &mut Dir, seg: &Segment<'_>, sink: &mut dyn StreamSink) {
    if seg.syn {
        flush(d, sink);
        *d = Dir::new(seg.ts_ns);
        d.next_seq = seg.seq.wrapping_add(1);
        d.anchored = true;
        return sink.classify(seg.frame, Class::Other(Other::TcpControl));
    }
    if seg.payload.is_empty() {
        return sink.classify(seg.frame, Class::Other(Other::TcpControl));
    }
    if d.mode == Mode::NotSip {
        return sink.classify(seg.frame, Class::Other(Other::TcpData));
    }
    if !d.anchored {
        d.anchored = true;
        d.next_seq = seg.seq;
    }
    let next = i64::try_from(d.next_abs).unwrap_or(i64::MAX);
    let start = next.saturating_add(i64::from(seg.seq.wrapping_sub(d.next_seq) as i32));
    let end = start.saturating_add(i64::try_from(seg.payload.len()).unwrap_or(0));
    if end <= next {
        return sink.classify(seg.frame, Class::Other(Other::TcpRetransmission));
    }
    let at = At {
        key: seg.key,
        frame: seg.frame,
        ts_ns: seg.ts_ns,
        end: u64::try_from(end).unwrap_or(0),
    };
    if start > next {
        return hold_out_of_order(d, seg, u64::try_from(start).unwrap_or(0), at, sink);
    }
    let trim = usize::try_from(next - start).unwrap_or(0);
    in_order(d, seg.payload.get(trim..).unwrap_or_default(), at, sink);
    drain_ooo(d, seg.key, sink);
}

fn hold_out_of_order(
    d: &mut Dir,
    seg: &Segment<'_>,
    start: u64,
    at: At,
    sink: &mut dyn StreamSink,
) {
    let longer = d
        .ooo
        .get(&start)
        .is_none_or(|(old, ..)| old.len() < seg.payload.len());
    if !longer {
        return sink.classify(seg.frame, Class::Other(Other::TcpRetransmission));
    }
    if let Some((old, old_frame, _)) = d
        .ooo
        .insert(start, (seg.payload.to_vec(), seg.frame, seg.ts_ns))
    {
        d.ooo_bytes -= old.len();
        d.pending.retain(|&(f, _)| f != old_frame);
        sink.resolve(old_frame, Class::Other(Other::TcpRetransmission));
    }
    d.ooo_bytes += seg.payload.len();
    sink.defer(seg.frame);
    d.pending.push_back((seg.frame, at.end));
    if d.held() > MAX_FLOW_BYTES || d.ooo.len() > MAX_OOO_SEGMENTS {
        // The hole is not going to be filled: skip it.
        skip_gap(d, sink);
        drain_ooo(d, seg.key, sink);
    }
}

/// Appends in-order bytes and frames what is complete.
fn in_order(d: &mut Dir, data: &[u8], at: At, sink: &mut dyn StreamSink) {
    let mut round = Round::default();
    if d.buf.is_empty() {
        // Fast path: frame straight from the segment, keep only an incomplete tail.
        d.buf_abs = d.next_abs;
        advance(d, data.len());
        let used = frame_bytes(d, data, at, &mut round, sink);
        d.buf_abs += used as u64;
        d.buf
            .extend_from_slice(data.get(used..).unwrap_or_default());
    } else {
        d.buf.extend_from_slice(data);
        advance(d, data.len());
        let buf = std::mem::take(&mut d.buf);
        let used = frame_bytes(d, &buf, at, &mut round, sink);
        d.buf = buf;
        d.buf_abs += used as u64;
        d.buf.drain(..used.min(d.buf.len()));
    }
    if d.held() > MAX_FLOW_BYTES {
        drop_buffer(d, Class::Undecodable(Undecodable::TcpGap), sink);
        d.resync = d.mode == Mode::Sip;
        round.lost = true;
    }
    settle(d, at, &round, sink);
}

/// Frames held segments that now follow the stream without a hole, each as its own arrival.
fn drain_ooo(d: &mut Dir, key: FlowKey, sink: &mut dyn StreamSink) {
    while let Some(entry) = d.ooo.first_entry() {
        let start = *entry.key();
        if start > d.next_abs {
            break;
        }
        let (bytes, frame, ts_ns) = entry.remove();
        d.ooo_bytes -= bytes.len();
        d.pending.retain(|&(f, _)| f != frame);
        let end = start + bytes.len() as u64;
        let at = At {
            key,
            frame,
            ts_ns,
            end,
        };
        match usize::try_from(d.next_abs - start)
            .ok()
            .and_then(|s| bytes.get(s..))
        {
            Some(fresh) if !fresh.is_empty() => {
                d.pending.push_back((frame, end));
                in_order_deferred(d, fresh, at, sink);
            }
            _ => sink.resolve(frame, Class::Other(Other::TcpRetransmission)),
        }
    }
}

/// Like [`in_order`] for a frame that was deferred when it arrived.
fn in_order_deferred(d: &mut Dir, data: &[u8], at: At, sink: &mut dyn StreamSink) {
    let mut round = Round::default();
    d.buf.extend_from_slice(data);
    advance(d, data.len());
    let buf = std::mem::take(&mut d.buf);
    let used = frame_bytes(d, &buf, at, &mut round, sink);
    d.buf = buf;
    d.buf_abs += used as u64;
    d.buf.drain(..used.min(d.buf.len()));
    settle_deferred(d, at, &round, sink);
}

fn advance(d: &mut Dir, n: usize) {
    d.next_abs += n as u64;
    d.next_seq = d.next_seq.wrapping_add(u32::try_from(n).unwrap_or(0));
}

/// The class of a frame whose bytes are all used, from what the round produced.
fn round_class(round: &Round) -> Class {
    if round.messages > 0 {
        Class::Sip
    } else if let Some(why) = round.malformed {
        Class::Undecodable(Undecodable::MalformedSip(why))
    } else if round.lost {
        Class::Undecodable(Undecodable::TcpGap)
    } else if round.keepalive && !round.junk {
        Class::Other(Other::KeepAlive)
    } else {
        Class::Other(Other::TcpData)
    }
}

/// Resolves earlier deferred frames whose bytes are now used up.
fn resolve_used(d: &mut Dir, current: u64, round: &Round, sink: &mut dyn StreamSink) {
    let used_to = d.buf_abs;
    let class = match round_class(round) {
        Class::Sip => Class::Other(Other::TcpSegment),
        other => other,
    };
    d.pending.retain(|&(f, end)| {
        let done = f != current && end <= used_to;
        if done {
            sink.resolve(f, class);
        }
        !done
    });
}

/// Classifies the frame that just arrived (or defers it) and resolves earlier ones.
fn settle(d: &mut Dir, at: At, round: &Round, sink: &mut dyn StreamSink) {
    resolve_used(d, at.frame, round, sink);
    if round.messages == 0 && round.malformed.is_none() && at.end > d.buf_abs {
        sink.defer(at.frame);
        d.pending.push_back((at.frame, at.end));
    } else {
        sink.classify(at.frame, round_class(round));
    }
}

/// Like [`settle`] for a frame already deferred (listed in `pending`).
fn settle_deferred(d: &mut Dir, at: At, round: &Round, sink: &mut dyn StreamSink) {
    resolve_used(d, at.frame, round, sink);
    if round.messages == 0 && round.malformed.is_none() && at.end > d.buf_abs {
        return;
    }
    d.pending.retain(|&(f, _)| f != at.frame);
    sink.resolve(at.frame, round_class(round));
}

/// Gives up the hole before the first held segment: the partial message in the buffer is dropped
/// and the stream continues at that segment, resynchronising on a start line.
fn skip_gap(d: &mut Dir, sink: &mut dyn StreamSink) {
    let Some(&first) = d.ooo.keys().next() else {
        return;
    };
    drop_buffer(d, Class::Undecodable(Undecodable::TcpGap), sink);
    let jump = first.saturating_sub(d.next_abs);
    d.next_abs = first;
    d.next_seq = d
        .next_seq
        .wrapping_add(u32::try_from(jump & 0xFFFF_FFFF).unwrap_or(0));
    d.buf_abs = first;
    if d.mode == Mode::Sip {
        d.resync = true;
    }
}

/// Drops the buffered bytes; deferred frames whose bytes all lie in them get `class`.
fn drop_buffer(d: &mut Dir, class: Class, sink: &mut dyn StreamSink) {
    let limit = d.next_abs;
    d.buf_abs = limit;
    d.buf.clear();
    d.pending.retain(|&(f, end)| {
        let lost = end <= limit;
        if lost {
            sink.resolve(f, class);
        }
        !lost
    });
}

/// The stream ends: everything still held is lost.
fn flush(d: &mut Dir, sink: &mut dyn StreamSink) {
    for (f, _) in d.pending.drain(..) {
        sink.resolve(f, Class::Undecodable(Undecodable::TcpGap));
    }
    d.buf.clear();
    d.ooo.clear();
    d.ooo_bytes = 0;
}

mod framing;

use framing::frame_bytes;

#[cfg(test)]
mod tests;

//! Media streams tied to calls. SIP messages with SDP register the addresses and ports each side
//! advertised (offer, answer, re-INVITE, UPDATE: every body counts); a version-2 UDP packet to or
//! from such an address is that call's RTP or RTCP. Other RTP-looking flows are held (at most
//! [`CONFIRM`] packets, classified as pending) until their headers look like a stream: one
//! SSRC, one payload type, sequence numbers rising by one to three, timestamps not going
//! back; then they are a stream without a call, else their packets are `udp_other`.
//!
//! A session is closed (its streams summarised and diagnosed) when its BYE is [`AFTER_BYE_NS`]
//! old, when call and media have been quiet for [`IDLE_NS`], or at the end of the capture.

use super::record::{FoundBy, MediaStream};
use super::rtp::{self, RTCP_RR, RTCP_SR};
use super::stream::{Arrival, SsrcStats};
use super::{StreamState, session_findings, stream_record};
use crate::accounting::{Accounting, Class, Other};
use crate::correlate::CallIdHash;
use crate::correlate::IdentityHasher;
use crate::decode::PacketMeta;
use crate::findings::Finding;
use crate::sip::sdp::{self, Payload};
use crate::sip::{Method, SipMessage, value};
use crate::store::Records;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::net::SocketAddr;
use std::sync::Arc;

/// A fast hasher for addresses (FxHash-style; no seed, and nothing iterates these tables into
/// output order).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct AddrHasher(u64);

impl Hasher for AddrHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(*b)).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
    }
    fn write_u16(&mut self, n: u16) {
        self.write_u64(u64::from(n));
    }
    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

type AddrMap<K, V> = HashMap<K, V, BuildHasherDefault<AddrHasher>>;
type KeyMap<V> = HashMap<u64, V, BuildHasherDefault<IdentityHasher>>;
/// RTCP seen, by the SSRC it is about.
pub(crate) type RtcpTable = AddrMap<u32, RtcpSeen>;

/// Packets of an unknown flow held before it is taken for RTP.
pub(crate) const CONFIRM: usize = 4;
/// A session is closed this long after its BYE (late RTP still counts).
pub(crate) const AFTER_BYE_NS: i64 = 5_000_000_000;
/// A session or a stream without a call is closed after this long without any packet.
pub(crate) const IDLE_NS: i64 = 300_000_000_000;
/// A held flow is given up after this long without a packet.
const HOLD_NS: i64 = 5_000_000_000;
/// Capture time between looks for sessions to close.
const SWEEP_NS: i64 = 1_000_000_000;
/// Most sessions, streams and held flows at once (later ones are not followed).
const MAX_SESSIONS: usize = 1 << 16;
const MAX_STREAMS: usize = 1 << 17;
const MAX_HELD: usize = 1 << 12;
/// Most advertised RTP endpoints per side.
const MAX_ADVERTS: usize = 4;

/// Which party: the caller (From of the initial INVITE) or the callee.
pub(crate) const CALLER: usize = 0;
pub(crate) const CALLEE: usize = 1;

/// An address and port one side's SDP advertised.
#[derive(Clone, Debug)]
pub(crate) struct Advert {
    pub(crate) rtp: SocketAddr,
    pub(crate) rtcp: SocketAddr,
    pub(crate) payloads: Vec<Payload>,
    pub(crate) frame: u64,
    pub(crate) direction: sdp::Direction,
}

/// What each side of a call advertised and did.
#[derive(Clone, Debug, Default)]
pub(crate) struct Side {
    /// Most recent last.
    pub(crate) adverts: Vec<Advert>,
    /// Where its signalling came from.
    pub(crate) signalling: Option<SocketAddr>,
}

/// The media state of one call.
#[derive(Debug)]
pub(crate) struct Session {
    pub(crate) call_id: Arc<str>,
    caller_tag: Box<[u8]>,
    pub(crate) sides: [Side; 2],
    /// The first 2xx to an INVITE: (timestamp, frame).
    pub(crate) answered: Option<(i64, u64)>,
    /// The first BYE: (timestamp, frame).
    pub(crate) bye: Option<(i64, u64)>,
    pub(crate) last_ts: i64,
    pub(crate) streams: Vec<u32>,
    pub(crate) selected: bool,
}

/// A flow held until it looks like RTP.
#[derive(Debug, Default)]
struct Held {
    packets: Vec<(PacketMeta, Pkt)>,
}

/// The header fields kept for a held packet.
#[derive(Clone, Copy, Debug)]
struct Pkt {
    seq: u16,
    timestamp: u32,
    ssrc: u32,
    pt: u8,
    marker: bool,
    event: Option<rtp::TelephoneEvent>,
}

/// The media side of a capture, run on the reader thread beside the decoder.
#[derive(Debug, Default)]
pub(crate) struct MediaTracker {
    t0: Option<i64>,
    now: i64,
    last_sweep: i64,
    select: Option<Vec<u8>>,
    sessions: KeyMap<Session>,
    /// Advertised address → (session key, side, is RTCP).
    endpoints: AddrMap<SocketAddr, (u64, usize, bool)>,
    flows: AddrMap<(SocketAddr, SocketAddr), u32>,
    streams: Vec<Option<StreamState>>,
    free: Vec<u32>,
    /// Streams without a call, by slot.
    orphans: Vec<u32>,
    held: AddrMap<(SocketAddr, SocketAddr), Held>,
    /// RTCP seen, by the SSRC it is about: (sender reports from it, blocks about it, last block,
    /// arrival of that block).
    rtcp: RtcpTable,
    pub(crate) out: Records<MediaStream>,
    pub(crate) findings: Vec<Finding>,
}

/// RTCP about one SSRC.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct RtcpSeen {
    pub(crate) sender_reports: u64,
    pub(crate) blocks: u64,
    pub(crate) last: Option<rtp::ReportBlock>,
    /// NTP middle 32 bits of when the last block arrived (capture time), for the RTT.
    pub(crate) arrival_ntp: u32,
}

impl MediaTracker {
    /// A tracker that keeps the streams of `select` (a Call-ID) in memory.
    pub(crate) fn new(select: Option<String>) -> Self {
        Self {
            select: select.map(String::into_bytes),
            ..Self::default()
        }
    }

    /// The first frame's timestamp (times are relative to it, as tshark's are).
    pub(crate) fn set_t0(&mut self, ts_ns: i64) {
        if self.t0.is_none() {
            self.t0 = Some(ts_ns);
            self.last_sweep = ts_ns;
        }
    }

    fn t0(&self) -> i64 {
        self.t0.unwrap_or(0)
    }

    /// A SIP message: SDP bodies register endpoints; 2xx to INVITE and BYE time the call.
    pub(crate) fn on_sip(
        &mut self,
        meta: &PacketMeta,
        msg: &SipMessage<'_>,
        has_sdp: bool,
        id: CallIdHash,
    ) {
        self.tick(meta.ts_ns);
        let method = msg.request_method();
        let status = msg.status().map(|s| s.0);
        let answer = status.is_some_and(|s| (200..300).contains(&s))
            && msg.fields.cseq_method == Method::Invite;
        let bye = method == Some(Method::Bye);
        if !has_sdp && !answer && !bye {
            if let Some(s) = self.sessions.get_mut(&id.0) {
                s.last_ts = meta.ts_ns;
            }
            return;
        }
        if !has_sdp && !self.sessions.contains_key(&id.0) {
            return;
        }
        if !self.sessions.contains_key(&id.0) && self.sessions.len() >= MAX_SESSIONS {
            return;
        }
        let selected = self.select.as_deref().is_some_and(|s| s == msg.call_id());
        let session = self.sessions.entry(id.0).or_insert_with(|| Session {
            call_id: value::text(msg.call_id(), 256).into(),
            caller_tag: msg.from_tag().into(),
            sides: [Side::default(), Side::default()],
            answered: None,
            bye: None,
            last_ts: meta.ts_ns,
            streams: Vec::new(),
            selected,
        });
        session.last_ts = meta.ts_ns;
        let from_caller = *msg.from_tag() == *session.caller_tag;
        let sender = match (method.is_some(), from_caller) {
            (true, true) | (false, false) => CALLER,
            _ => CALLEE,
        };
        if answer && session.answered.is_none() {
            session.answered = Some((meta.ts_ns, meta.frame));
        }
        if bye && session.bye.is_none() {
            session.bye = Some((meta.ts_ns, meta.frame));
        }
        if let Some(side) = session.sides.get_mut(sender) {
            side.signalling.get_or_insert(meta.src);
        }
        if has_sdp {
            self.advertise(id.0, sender, meta, msg.body());
        }
    }

    /// Registers the RTP endpoints of an SDP body for `sender`.
    fn advertise(&mut self, key: u64, sender: usize, meta: &PacketMeta, body: &[u8]) {
        let Some(side) = self
            .sessions
            .get_mut(&key)
            .and_then(|s| s.sides.get_mut(sender))
        else {
            return;
        };
        for m in sdp::media(body) {
            let Some(ip) = m.connection.filter(|_| m.port != 0 && m.rtp) else {
                continue;
            };
            let advert = Advert {
                rtp: SocketAddr::new(ip, m.port),
                rtcp: SocketAddr::new(ip, m.rtcp_port),
                payloads: m.payloads,
                frame: meta.frame,
                direction: m.direction,
            };
            self.endpoints.insert(advert.rtp, (key, sender, false));
            if advert.rtcp != advert.rtp {
                self.endpoints.insert(advert.rtcp, (key, sender, true));
            }
            side.adverts.retain(|a| a.rtp != advert.rtp);
            if side.adverts.len() >= MAX_ADVERTS {
                side.adverts.remove(0);
            }
            side.adverts.push(advert);
        }
    }

    /// An ICMP unreachable for a packet sent to `target`.
    pub(crate) fn on_unreachable(&mut self, frame: u64, ts_ns: i64, target: SocketAddr) {
        self.tick(ts_ns);
        let slots: Vec<u32> = self
            .flows
            .iter()
            .filter(|((_, dst), _)| *dst == target)
            .map(|(_, s)| *s)
            .collect();
        for s in slots {
            if let Some(Some(st)) = self.streams.get_mut(s as usize) {
                st.unreachable.push(frame);
            }
        }
    }

    /// A UDP payload that starts like RTP or RTCP (version 2). Returns its class, or `None`
    /// when it is held (deferred in `acct`).
    pub(crate) fn on_packet(
        &mut self,
        meta: &PacketMeta,
        payload: &[u8],
        acct: &mut Accounting,
    ) -> Option<Class> {
        if self.tick(meta.ts_ns) {
            self.release_stale(acct);
        }
        if rtp::is_rtcp(payload) {
            return Some(self.rtcp_packet(meta, payload));
        }
        let Ok(p) = rtp::decode_rtp(payload) else {
            return Some(Class::Other(Other::Udp));
        };
        let pkt = Pkt {
            seq: p.seq,
            timestamp: p.timestamp,
            ssrc: p.ssrc,
            pt: p.payload_type,
            marker: p.marker,
            event: rtp::decode_telephone_event(p.payload),
        };
        let key = (meta.src, meta.dst);
        if let Some(&slot) = self.flows.get(&key) {
            self.add(slot, meta, &pkt);
            return Some(Class::Rtp);
        }
        if let Some(slot) = self.open_sdp_stream(meta) {
            self.add(slot, meta, &pkt);
            return Some(Class::Rtp);
        }
        self.hold(meta, pkt, acct)
    }

    /// A stream for a flow to or from an advertised address.
    fn open_sdp_stream(&mut self, meta: &PacketMeta) -> Option<u32> {
        let (key, sender) = match (self.endpoints.get(&meta.dst), self.endpoints.get(&meta.src)) {
            (Some(&(k, side, false)), _) => (k, 1 - side),
            (_, Some(&(k, side, false))) => (k, side),
            _ => return None,
        };
        let session = self.sessions.get(&key)?;
        let expected = session
            .sides
            .get(sender)
            .and_then(|s| s.adverts.last())
            .map(|a| a.rtp);
        let mut st = StreamState::new(meta, FoundBy::Sdp);
        st.session = Some(key);
        st.sender = Some(sender);
        st.sdp_src = expected.filter(|e| *e != meta.src);
        st.payloads = session
            .sides
            .iter()
            .flat_map(|s| s.adverts.iter())
            .flat_map(|a| a.payloads.iter().cloned())
            .collect();
        let slot = self.insert_stream(st)?;
        if let Some(s) = self.sessions.get_mut(&key) {
            s.streams.push(slot);
        }
        Some(slot)
    }

    fn insert_stream(&mut self, st: StreamState) -> Option<u32> {
        if self.flows.len() >= MAX_STREAMS {
            return None;
        }
        let key = (st.src, st.dst);
        let slot = match self.free.pop() {
            Some(s) => {
                if let Some(x) = self.streams.get_mut(s as usize) {
                    *x = Some(st);
                }
                s
            }
            None => {
                self.streams.push(Some(st));
                u32::try_from(self.streams.len() - 1).ok()?
            }
        };
        self.flows.insert(key, slot);
        Some(slot)
    }

    fn add(&mut self, slot: u32, meta: &PacketMeta, p: &Pkt) {
        let t0 = self.t0();
        if let Some(Some(st)) = self.streams.get_mut(slot as usize) {
            st.add(
                meta,
                p.seq,
                p.timestamp,
                p.ssrc,
                p.pt,
                p.marker,
                p.event,
                t0,
            );
        }
        if let Some(key) = self
            .streams
            .get(slot as usize)
            .and_then(|s| s.as_ref())
            .and_then(|s| s.session)
            && let Some(s) = self.sessions.get_mut(&key)
        {
            s.last_ts = meta.ts_ns;
        }
    }

    /// Holds a packet of an unknown flow; confirms the flow as a stream once it has
    /// [`CONFIRM`] consistent packets.
    fn hold(&mut self, meta: &PacketMeta, pkt: Pkt, acct: &mut Accounting) -> Option<Class> {
        let plausible = meta.src.port() >= 1024
            && meta.dst.port() >= 1024
            && !(72..=76).contains(&pkt.pt)
            && (self.held.contains_key(&(meta.src, meta.dst)) || self.held.len() < MAX_HELD);
        if !plausible {
            return Some(Class::Other(Other::Udp));
        }
        let key = (meta.src, meta.dst);
        let held = self.held.entry(key).or_default();
        let consistent = held.packets.last().is_none_or(|(_, last)| {
            let step = pkt.seq.wrapping_sub(last.seq);
            last.ssrc == pkt.ssrc
                && last.pt == pkt.pt
                && (1..=3).contains(&step)
                && pkt.timestamp.wrapping_sub(last.timestamp) < 0x8000_0000
        });
        if !consistent {
            let released = std::mem::take(&mut held.packets);
            for _ in released {
                acct.resolve(Class::Other(Other::Udp));
            }
        }
        held.packets.push((*meta, pkt));
        acct.defer();
        if held.packets.len() < CONFIRM {
            return None;
        }
        let packets = self
            .held
            .remove(&key)
            .map(|h| h.packets)
            .unwrap_or_default();
        let Some(slot) = self.insert_stream(StreamState::new(meta, FoundBy::Heuristic)) else {
            for _ in packets {
                acct.resolve(Class::Other(Other::Udp));
            }
            return None;
        };
        self.orphans.push(slot);
        for (m, p) in packets {
            self.add(slot, &m, &p);
            acct.resolve(Class::Rtp);
        }
        None
    }

    fn rtcp_packet(&mut self, meta: &PacketMeta, payload: &[u8]) -> Class {
        let known = [meta.dst, meta.src]
            .iter()
            .any(|a| self.endpoints.contains_key(a))
            || self.flows.contains_key(&(meta.src, meta.dst))
            || self.flows.contains_key(&(meta.dst, meta.src));
        let Ok(compound) = rtp::decode_rtcp(payload) else {
            return Class::Other(Other::Udp);
        };
        let mut packets = compound.peekable();
        let first_is_report = packets
            .peek()
            .is_some_and(|p| matches!(p.packet_type, RTCP_SR | RTCP_RR));
        if !known && !first_is_report {
            return Class::Other(Other::Udp);
        }
        let arrival_ntp = ntp_middle(meta.ts_ns);
        for p in packets {
            if p.packet_type == RTCP_SR && self.rtcp.len() < MAX_STREAMS {
                self.rtcp.entry(p.ssrc).or_default().sender_reports += 1;
            }
            for b in p.blocks() {
                if self.rtcp.len() >= MAX_STREAMS && !self.rtcp.contains_key(&b.ssrc) {
                    continue;
                }
                let seen = self.rtcp.entry(b.ssrc).or_default();
                seen.blocks += 1;
                seen.last = Some(b);
                seen.arrival_ntp = arrival_ntp;
            }
        }
        Class::Rtcp
    }

    /// Advances capture time; closes what is due. Returns whether it looked.
    fn tick(&mut self, ts_ns: i64) -> bool {
        self.now = self.now.max(ts_ns);
        if self.now - self.last_sweep < SWEEP_NS {
            return false;
        }
        self.last_sweep = self.now;
        let now = self.now;
        let mut due: Vec<u64> = self
            .sessions
            .iter()
            .filter(|(_, s)| {
                let quiet = now - s.last_ts;
                quiet > IDLE_NS
                    || s.bye
                        .is_some_and(|(b, _)| now - b > AFTER_BYE_NS && quiet > AFTER_BYE_NS)
            })
            .map(|(k, _)| *k)
            .collect();
        due.sort_unstable();
        for k in due {
            self.close_session(k, now);
        }
        let idle: Vec<u32> = self
            .orphans
            .iter()
            .copied()
            .filter(|s| {
                self.streams
                    .get(*s as usize)
                    .and_then(|x| x.as_ref())
                    .is_some_and(|st| now - st.last_ts > IDLE_NS)
            })
            .collect();
        for s in idle {
            self.orphans.retain(|o| *o != s);
            self.close_stream(s, None);
        }
        true
    }

    /// Releases held flows that went quiet (their packets are not RTP after all).
    fn release_stale(&mut self, acct: &mut Accounting) {
        let now = self.now;
        let stale: Vec<(SocketAddr, SocketAddr)> = self
            .held
            .iter()
            .filter(|(_, h)| {
                h.packets
                    .last()
                    .is_some_and(|(m, _)| now - m.ts_ns > HOLD_NS)
            })
            .map(|(k, _)| *k)
            .collect();
        for k in stale {
            if let Some(h) = self.held.remove(&k) {
                for _ in h.packets {
                    acct.resolve(Class::Other(Other::Udp));
                }
            }
        }
    }

    fn close_session(&mut self, key: u64, end_ns: i64) {
        let Some(session) = self.sessions.remove(&key) else {
            return;
        };
        self.endpoints.retain(|_, (k, _, _)| *k != key);
        let mut records = Vec::new();
        for &slot in &session.streams {
            if let Some(r) = self.close_stream(slot, Some(&session)) {
                records.push(r);
            }
        }
        let t0 = self.t0();
        self.findings
            .extend(session_findings(&session, &records, end_ns, t0));
    }

    /// Summarises a stream and writes its record; returns the state for the diagnoses.
    fn close_stream(&mut self, slot: u32, session: Option<&Session>) -> Option<StreamState> {
        let st = self.streams.get_mut(slot as usize)?.take()?;
        self.flows.remove(&(st.src, st.dst));
        self.free.push(slot);
        let rec = stream_record(&st, session, &self.rtcp, self.t0());
        let selected = session.is_some_and(|s| s.selected);
        self.out.push(st.first_frame, 0, rec, selected);
        Some(st)
    }

    /// Ends the capture: held flows are not RTP; every session and stream is closed.
    pub(crate) fn finish(&mut self, acct: &mut Accounting, capture_end_ns: i64) {
        let end = capture_end_ns.max(self.now);
        for (_, h) in std::mem::take(&mut self.held) {
            for _ in h.packets {
                acct.resolve(Class::Other(Other::Udp));
            }
        }
        let mut keys: Vec<u64> = self.sessions.keys().copied().collect();
        keys.sort_unstable_by_key(|k| {
            let first = self
                .sessions
                .get(k)
                .and_then(|s| s.streams.first().copied());
            (first.unwrap_or(u32::MAX), *k)
        });
        for k in keys {
            self.close_session(k, end);
        }
        for s in std::mem::take(&mut self.orphans) {
            self.close_stream(s, None);
        }
    }
}

/// The middle 32 bits of the NTP time of a capture timestamp.
fn ntp_middle(ts_ns: i64) -> u32 {
    const NTP_UNIX_OFFSET: i64 = 2_208_988_800;
    let secs = ts_ns.div_euclid(1_000_000_000) + NTP_UNIX_OFFSET;
    let frac = (ts_ns.rem_euclid(1_000_000_000) as u64) * 65_536 / 1_000_000_000;
    (((secs as u64) & 0xFFFF) << 16 | frac) as u32
}

/// The arrival of one RTP packet for a stream's statistics.
pub(crate) fn arrival(
    time_ms: f64,
    seq: u16,
    timestamp: u32,
    pt: u8,
    marker: bool,
    clock: u32,
    event_end: bool,
) -> Arrival {
    Arrival {
        time_ms,
        seq,
        timestamp,
        payload_type: pt,
        marker,
        clock,
        event_end,
    }
}

/// A new SSRC's statistics.
pub(crate) fn ssrc_stats(ssrc: u32) -> SsrcStats {
    SsrcStats::new(ssrc)
}

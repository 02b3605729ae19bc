//! Media: RTP and RTCP streams tied to the calls whose SDP advertised their addresses, their
//! statistics (RFC 3550 loss, duplicates, reordering; interarrival jitter and maximum delta
//! computed as `tshark -z rtp,streams` computes them), RFC 4733 telephone events, RTCP reports,
//! and a G.107 E-model quality estimate ([`emodel`]).
//!
//! The decoders ([`rtp`]) are checked views that never panic; the tracker runs on the reader
//! thread, beside the decoder, and hands finished [`MediaStream`] records and media findings to
//! the analysis.

pub mod emodel;
pub mod record;
pub mod rtp;
pub(crate) mod stream;
pub(crate) mod tracker;

pub use record::MediaStream;

use crate::decode::PacketMeta;
use crate::findings::Frames;
use crate::sip::sdp::Payload;
use record::{EventRecord, FoundBy, PayloadRecord, QualityRecord, RtcpRecord, SsrcRecord};
use std::net::SocketAddr;
use stream::SsrcStats;
use tracker::{RtcpSeen, Session};

pub(crate) use crate::findings::media::session_findings;

/// Most SSRCs and telephone events kept per stream.
const MAX_SSRCS: usize = 16;
const MAX_EVENTS: usize = 64;

/// The working state of one stream.
#[derive(Debug)]
pub(crate) struct StreamState {
    pub(crate) src: SocketAddr,
    pub(crate) dst: SocketAddr,
    pub(crate) found_by: FoundBy,
    pub(crate) session: Option<u64>,
    pub(crate) sender: Option<usize>,
    pub(crate) sdp_src: Option<SocketAddr>,
    pub(crate) payloads: Vec<Payload>,
    pub(crate) first_frame: u64,
    pub(crate) last_frame: u64,
    pub(crate) first_ts: i64,
    pub(crate) last_ts: i64,
    pub(crate) packets: u64,
    ssrcs: Vec<SsrcStats>,
    last_ssrc: Option<u32>,
    pub(crate) ssrc_changes: u64,
    pt_counts: Vec<(u8, u64)>,
    events: Vec<EventRecord>,
    /// Timestamp of the event being pressed, to merge its packets.
    event_ts: Option<(u32, u32)>,
    /// First frames, for findings.
    pub(crate) frames: Frames,
    pub(crate) unreachable: Frames,
}

impl StreamState {
    pub(crate) fn new(meta: &PacketMeta, found_by: FoundBy) -> Self {
        Self {
            src: meta.src,
            dst: meta.dst,
            found_by,
            session: None,
            sender: None,
            sdp_src: None,
            payloads: Vec::new(),
            first_frame: meta.frame,
            last_frame: meta.frame,
            first_ts: meta.ts_ns,
            last_ts: meta.ts_ns,
            packets: 0,
            ssrcs: Vec::new(),
            last_ssrc: None,
            ssrc_changes: 0,
            pt_counts: Vec::new(),
            events: Vec::new(),
            event_ts: None,
            frames: Frames::default(),
            unreachable: Frames::default(),
        }
    }

    /// The SDP payload entry of a payload type.
    fn payload(&self, pt: u8) -> Option<&Payload> {
        self.payloads.iter().rev().find(|p| p.pt == pt)
    }

    /// The clock rate used for jitter: the SDP's for dynamic types, the RFC 3551 rate for static
    /// ones, 0 for telephone events and unknown dynamic types (as Wireshark does).
    fn clock(&self, pt: u8) -> u32 {
        if pt < 96 {
            return static_payload(pt).map_or(0, |s| s.1);
        }
        match self.payload(pt) {
            Some(p) if p.name.as_deref().is_some_and(is_event) => 0,
            Some(p) => p.clock,
            None => 0,
        }
    }

    fn is_event_pt(&self, pt: u8) -> bool {
        self.payload(pt)
            .and_then(|p| p.name.as_deref())
            .is_some_and(is_event)
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn add(
        &mut self,
        meta: &PacketMeta,
        seq: u16,
        timestamp: u32,
        ssrc: u32,
        pt: u8,
        marker: bool,
        event: Option<rtp::TelephoneEvent>,
        t0: i64,
    ) {
        self.packets += 1;
        self.last_frame = meta.frame;
        self.last_ts = meta.ts_ns;
        self.frames.push(meta.frame);
        if self.last_ssrc.is_some_and(|l| l != ssrc) {
            self.ssrc_changes += 1;
        }
        self.last_ssrc = Some(ssrc);
        if let Some((_, n)) = self.pt_counts.iter_mut().find(|(p, _)| *p == pt) {
            *n += 1;
        } else if self.pt_counts.len() < 16 {
            self.pt_counts.push((pt, 1));
        }
        let time_ms = (meta.ts_ns - t0) as f64 / 1e6;
        let event = event.filter(|_| self.is_event_pt(pt));
        if let Some(e) = event {
            self.note_event(meta, ssrc, timestamp, e, time_ms);
        }
        let clock = self.clock(pt);
        let idx = match self.ssrcs.iter().position(|s| s.ssrc == ssrc) {
            Some(i) => i,
            None if self.ssrcs.len() < MAX_SSRCS => {
                self.ssrcs.push(tracker::ssrc_stats(ssrc));
                self.ssrcs.len() - 1
            }
            None => return,
        };
        let a = tracker::arrival(
            time_ms,
            seq,
            timestamp,
            pt,
            marker,
            clock,
            event.is_some_and(|e| e.end),
        );
        if let Some(s) = self.ssrcs.get_mut(idx) {
            s.add(&a, emodel::JITTER_BUFFER_MS);
        }
    }

    fn note_event(
        &mut self,
        meta: &PacketMeta,
        ssrc: u32,
        timestamp: u32,
        e: rtp::TelephoneEvent,
        time_ms: f64,
    ) {
        let clock = self.payload_clock_for_events();
        let duration_ms = f64::from(e.duration) * 1000.0 / f64::from(clock);
        if self.event_ts == Some((ssrc, timestamp))
            && let Some(last) = self.events.last_mut()
        {
            last.duration_ms = last.duration_ms.max(duration_ms);
            last.ended |= e.end;
            return;
        }
        self.event_ts = Some((ssrc, timestamp));
        if self.events.len() < MAX_EVENTS {
            self.events.push(EventRecord {
                key: rtp::event_key(e.event).map_or_else(|| e.event.to_string(), str::to_owned),
                time: round6(time_ms / 1e3),
                duration_ms: round3(duration_ms),
                frame: meta.frame,
                ended: e.end,
            });
        }
    }

    fn payload_clock_for_events(&self) -> u32 {
        self.payloads
            .iter()
            .find(|p| p.name.as_deref().is_some_and(is_event))
            .map_or(8000, |p| if p.clock == 0 { 8000 } else { p.clock })
    }
}

fn is_event(name: &str) -> bool {
    name.eq_ignore_ascii_case("telephone-event")
}

/// RFC 3551 static payload types: (name, clock rate).
pub fn static_payload(pt: u8) -> Option<(&'static str, u32)> {
    Some(match pt {
        0 => ("PCMU", 8000),
        3 => ("GSM", 8000),
        4 => ("G723", 8000),
        5 => ("DVI4", 8000),
        6 => ("DVI4", 16000),
        7 => ("LPC", 8000),
        8 => ("PCMA", 8000),
        9 => ("G722", 8000),
        10 | 11 => ("L16", 44100),
        12 => ("QCELP", 8000),
        13 => ("CN", 8000),
        14 => ("MPA", 90000),
        15 => ("G728", 8000),
        16 => ("DVI4", 11025),
        17 => ("DVI4", 22050),
        18 => ("G729", 8000),
        19 => ("CN", 8000),
        25 => ("CelB", 90000),
        26 => ("JPEG", 90000),
        28 => ("nv", 90000),
        31 => ("H261", 90000),
        32 => ("MPV", 90000),
        33 => ("MP2T", 90000),
        34 => ("H263", 90000),
        _ => return None,
    })
}

fn round3(v: f64) -> f64 {
    (v * 1e3).round() / 1e3
}

fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

/// The record of a finished stream.
pub(crate) fn stream_record(
    st: &StreamState,
    session: Option<&Session>,
    rtcp: &tracker::RtcpTable,
    t0: i64,
) -> MediaStream {
    let ssrcs: Vec<SsrcRecord> = st.ssrcs.iter().map(ssrc_record).collect();
    let expected: u64 = st.ssrcs.iter().map(SsrcStats::expected).sum();
    let lost: u64 = st.ssrcs.iter().map(SsrcStats::lost).sum();
    let payload_types = st
        .pt_counts
        .iter()
        .map(|&(pt, packets)| PayloadRecord {
            pt,
            name: st
                .payload(pt)
                .and_then(|p| p.name.as_deref().map(str::to_owned))
                .or_else(|| static_payload(pt).map(|s| s.0.to_owned())),
            packets,
        })
        .collect::<Vec<_>>();
    let rtcp_rec = rtcp_record(st, rtcp);
    let quality = quality(st, &payload_types, rtcp_rec.as_ref());
    MediaStream {
        call_id: session.map(|s| s.call_id.to_string()),
        found_by: st.found_by,
        sender: st.sender.map(|s| if s == 0 { "caller" } else { "callee" }),
        src: st.src.to_string(),
        dst: st.dst.to_string(),
        sdp_src: st.sdp_src.map(|a| a.to_string()),
        first_frame: st.first_frame,
        last_frame: st.last_frame,
        start: round6((st.first_ts - t0) as f64 / 1e9),
        stop: round6((st.last_ts - t0) as f64 / 1e9),
        packets: st.packets,
        lost,
        loss_percent: if expected == 0 {
            0.0
        } else {
            round3(lost as f64 * 100.0 / expected as f64)
        },
        duplicates: st.ssrcs.iter().map(|s| s.duplicates).sum(),
        out_of_order: st.ssrcs.iter().map(|s| s.out_of_order).sum(),
        max_jitter_ms: round3(
            st.ssrcs
                .iter()
                .map(SsrcStats::max_jitter_ms)
                .fold(0.0, f64::max),
        ),
        max_delta_ms: round3(
            st.ssrcs
                .iter()
                .map(SsrcStats::max_delta_ms)
                .fold(0.0, f64::max),
        ),
        ssrc_changes: st.ssrc_changes,
        ssrcs,
        payload_types,
        telephone_events: st.events.clone(),
        rtcp: rtcp_rec,
        icmp_unreachable: st.unreachable.total,
        quality,
    }
}

fn ssrc_record(s: &SsrcStats) -> SsrcRecord {
    SsrcRecord {
        ssrc: format!("0x{:08X}", s.ssrc),
        packets: s.packets,
        expected: s.expected(),
        lost: s.lost(),
        duplicates: s.duplicates,
        out_of_order: s.out_of_order,
        event_redundancy: s.event_redundancy,
        tshark_lost: s.tshark_lost(),
        jitter_ms: round3(s.jitter_ms()),
        max_jitter_ms: round3(s.max_jitter_ms()),
        mean_jitter_ms: round3(s.mean_jitter_ms()),
        max_delta_ms: round3(s.max_delta_ms()),
    }
}

fn rtcp_record(st: &StreamState, rtcp: &tracker::RtcpTable) -> Option<RtcpRecord> {
    let seen: Vec<&RtcpSeen> = st.ssrcs.iter().filter_map(|s| rtcp.get(&s.ssrc)).collect();
    if seen.is_empty() {
        return None;
    }
    let last = seen
        .iter()
        .rev()
        .find_map(|s| s.last.map(|b| (b, s.arrival_ntp)));
    let clock = st
        .pt_counts
        .iter()
        .map(|&(pt, _)| st.clock(pt))
        .find(|c| *c != 0)
        .unwrap_or(8000);
    Some(RtcpRecord {
        sender_reports: seen.iter().map(|s| s.sender_reports).sum(),
        receiver_reports: seen.iter().map(|s| s.blocks).sum(),
        fraction_lost_percent: last
            .map(|(b, _)| round3(f64::from(b.fraction_lost) * 100.0 / 256.0)),
        cumulative_lost: last.map(|(b, _)| b.cumulative_lost),
        jitter_ms: last.map(|(b, _)| round3(f64::from(b.jitter) * 1000.0 / f64::from(clock))),
        round_trip_ms: last.and_then(|(b, arrival)| {
            (b.last_sr != 0).then(|| {
                let rtt = arrival
                    .wrapping_sub(b.last_sr)
                    .wrapping_sub(b.delay_since_last_sr);
                round3(f64::from(rtt) * 1000.0 / 65_536.0)
            })
        }),
    })
}

/// The E-model estimate for the stream's main audio codec (the payload type with most packets
/// and a known clock).
fn quality(
    st: &StreamState,
    payloads: &[PayloadRecord],
    rtcp: Option<&RtcpRecord>,
) -> Option<QualityRecord> {
    let main = payloads
        .iter()
        .filter(|p| st.clock(p.pt) != 0 && p.pt != 13 && p.pt != 19)
        .max_by_key(|p| (p.packets, std::cmp::Reverse(p.pt)))?;
    let name = main.name.clone().unwrap_or_else(|| main.pt.to_string());
    let c = emodel::codec(&name);
    let expected: u64 = st.ssrcs.iter().map(SsrcStats::expected).sum();
    let lost: u64 = st.ssrcs.iter().map(SsrcStats::lost).sum();
    let late: u64 = st.ssrcs.iter().map(|s| s.late).sum();
    let received = expected.saturating_sub(lost);
    let bursts: u64 = st.ssrcs.iter().map(|s| s.bursts).sum();
    let ppl = if expected == 0 {
        0.0
    } else {
        ((lost + late) as f64 * 100.0 / expected as f64).min(100.0)
    };
    let burst_r = emodel::burst_ratio(received.saturating_sub(late), lost + late, bursts + late);
    let one_way = rtcp.and_then(|r| r.round_trip_ms).map_or(0.0, |r| r / 2.0);
    let delay = emodel::JITTER_BUFFER_MS + 20.0 + one_way;
    let r = emodel::r_factor(c, ppl, burst_r, delay);
    Some(QualityRecord {
        codec: name,
        codec_assumed: !c.known,
        loss_percent: round3(ppl),
        late,
        burst_ratio: round3(burst_r),
        jitter_buffer_ms: emodel::JITTER_BUFFER_MS,
        delay_ms: round3(delay),
        r_factor: (r * 10.0).round() / 10.0,
        mos: (emodel::mos(r) * 100.0).round() / 100.0,
    })
}

#[cfg(test)]
mod tests;

//! Statistics of one RTP source (one SSRC in one direction).
//!
//! Two bookkeepings run side by side:
//! - RFC 3550 Appendix A.1/A.3: extended sequence numbers (16-bit cycles), the highest one
//!   received, expected = highest − first + 1, lost = expected − distinct packets received;
//!   duplicates (a sequence number received twice, found in a window of the last 1024) and
//!   out-of-order packets (older than the highest) are counted apart. RFC 4733 end packets sent
//!   again with the same sequence number are `event_redundancy`, neither duplicates nor loss.
//! - Wireshark's RTP analysis (`ui/tap-rtp-analysis.c`, `rtppacket_analyse`), which is what
//!   `tshark -z rtp,streams` prints: interarrival jitter in milliseconds,
//!   `J = (15·J + |arrival − expected|) / 16` with `expected = previous arrival + Δtimestamp /
//!   clock`, computed for every packet whose clock rate is known (not for telephone events);
//!   its maximum and its mean, and the maximum delta between arrivals, taken over "regular"
//!   packets only (not the first, not a marker packet, not comfort noise or the packet after it,
//!   not a packet whose timestamp goes backwards). Packets out of time order do not move the
//!   reference arrival and timestamp.

/// Payload type 13 (comfort noise) and the old 19.
const PT_CN: u8 = 13;
const PT_CN_OLD: u8 = 19;
/// Sequence numbers remembered for duplicate detection.
const WINDOW: u32 = 1024;

/// What one packet turned out to be for the sequence bookkeeping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SeqClass {
    /// The next or a later sequence number.
    InOrder,
    /// Older than the highest received, not seen before.
    OutOfOrder,
    /// Seen before.
    Duplicate,
    /// An RFC 4733 end packet repeated with the same sequence number.
    EventRedundancy,
}

/// One packet, as the statistics need it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Arrival {
    /// Milliseconds since the first frame of the capture.
    pub(crate) time_ms: f64,
    pub(crate) seq: u16,
    pub(crate) timestamp: u32,
    pub(crate) payload_type: u8,
    pub(crate) marker: bool,
    /// Clock rate of the payload type (0 when unknown or a telephone event).
    pub(crate) clock: u32,
    /// A telephone event with the E bit set.
    pub(crate) event_end: bool,
}

/// The statistics of one SSRC.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct SsrcStats {
    pub(crate) ssrc: u32,
    pub(crate) packets: u64,
    // RFC 3550
    first_ext: u64,
    max_ext: u64,
    seen: [u64; (WINDOW / 64) as usize],
    pub(crate) duplicates: u64,
    pub(crate) out_of_order: u64,
    pub(crate) event_redundancy: u64,
    /// Loss bursts (runs of consecutive missing sequence numbers) and their packets.
    pub(crate) bursts: u64,
    pub(crate) burst_lost: u64,
    last_end_seq: Option<u16>,
    // Timestamp unwrapping.
    ext_ts: i64,
    last_ts: u32,
    // Wireshark's analysis.
    ws: Wireshark,
    /// Late packets for the jitter-buffer model: transit above the minimum by more than the
    /// buffer.
    pub(crate) late: u64,
    min_transit: Option<f64>,
}

/// The state of `rtppacket_analyse`.
#[derive(Clone, Debug, Default, PartialEq)]
struct Wireshark {
    started: bool,
    start_seq: u16,
    stop_seq: u16,
    seq_num: u16,
    under: bool,
    cycles: u32,
    seq_timestamp: i64,
    time: f64,
    delta: f64,
    jitter: f64,
    max_jitter: f64,
    mean_jitter: f64,
    max_delta: f64,
    total: u64,
    pt: u8,
    /// Packets whose sequence number was not the next one.
    wrong_seq: u64,
}

impl SsrcStats {
    pub(crate) fn new(ssrc: u32) -> Self {
        Self {
            ssrc,
            ..Self::default()
        }
    }

    /// Adds one packet; `jb_ms` is the jitter-buffer depth of the quality model.
    pub(crate) fn add(&mut self, a: &Arrival, jb_ms: f64) -> SeqClass {
        let first = self.packets == 0;
        self.packets += 1;
        let class = self.sequence(a, first);
        self.ext_ts = if first {
            i64::from(a.timestamp)
        } else {
            self.ext_ts + i64::from(a.timestamp.wrapping_sub(self.last_ts) as i32)
        };
        self.last_ts = a.timestamp;
        let ext_ts = self.ext_ts;
        self.wireshark(a, ext_ts);
        if a.clock != 0 && class == SeqClass::InOrder {
            let transit = a.time_ms - ext_ts as f64 * 1000.0 / f64::from(a.clock);
            let min = self.min_transit.map_or(transit, |m: f64| m.min(transit));
            self.min_transit = Some(min);
            if transit - min > jb_ms {
                self.late += 1;
            }
        }
        class
    }

    fn sequence(&mut self, a: &Arrival, first: bool) -> SeqClass {
        if first {
            self.first_ext = 65_536 + u64::from(a.seq);
            self.max_ext = self.first_ext;
            self.mark(self.max_ext);
            self.last_end_seq = a.event_end.then_some(a.seq);
            return SeqClass::InOrder;
        }
        let max16 = (self.max_ext & 0xFFFF) as u16;
        let delta = a.seq.wrapping_sub(max16);
        let class = if delta != 0 && delta < 0x8000 {
            let ext = self.max_ext + u64::from(delta);
            if delta > 1 {
                self.bursts += 1;
                self.burst_lost += u64::from(delta - 1);
            }
            self.clear_skipped(self.max_ext, ext);
            self.max_ext = ext;
            self.mark(ext);
            SeqClass::InOrder
        } else {
            let back = u64::from(max16.wrapping_sub(a.seq));
            let ext = self.max_ext.saturating_sub(back);
            if a.event_end && self.last_end_seq == Some(a.seq) {
                SeqClass::EventRedundancy
            } else if back < u64::from(WINDOW) && self.is_marked(ext) {
                SeqClass::Duplicate
            } else {
                if back < u64::from(WINDOW) {
                    self.mark(ext);
                }
                if ext < self.first_ext {
                    self.first_ext = ext;
                }
                SeqClass::OutOfOrder
            }
        };
        match class {
            SeqClass::Duplicate => self.duplicates += 1,
            SeqClass::OutOfOrder => self.out_of_order += 1,
            SeqClass::EventRedundancy => self.event_redundancy += 1,
            SeqClass::InOrder => {}
        }
        self.last_end_seq = a.event_end.then_some(a.seq);
        class
    }

    /// Clears the bits of the sequence numbers skipped between the previous highest and the new
    /// one, so that a late arrival of one of them is not taken for a duplicate of a packet 1024
    /// earlier.
    fn clear_skipped(&mut self, old: u64, new: u64) {
        if new - old > u64::from(WINDOW) {
            self.seen = [0; (WINDOW / 64) as usize];
            return;
        }
        for ext in old + 1..new {
            let i = (ext % u64::from(WINDOW)) as usize;
            if let Some(w) = self.seen.get_mut(i / 64) {
                *w &= !(1 << (i % 64));
            }
        }
    }

    fn mark(&mut self, ext: u64) {
        let i = (ext % u64::from(WINDOW)) as usize;
        if let Some(w) = self.seen.get_mut(i / 64) {
            *w |= 1 << (i % 64);
        }
    }

    fn is_marked(&self, ext: u64) -> bool {
        let i = (ext % u64::from(WINDOW)) as usize;
        self.seen
            .get(i / 64)
            .is_some_and(|w| w & (1 << (i % 64)) != 0)
    }

    /// `rtppacket_analyse` for one packet.
    fn wireshark(&mut self, a: &Arrival, ext_ts: i64) {
        let w = &mut self.ws;
        if !w.started {
            w.started = true;
            w.start_seq = a.seq;
            w.stop_seq = a.seq;
            w.seq_num = a.seq;
            w.seq_timestamp = ext_ts;
            w.time = a.time_ms;
            w.pt = a.payload_type;
            w.total = 1;
            return;
        }
        let in_time = w.seq_timestamp <= ext_ts;
        // A new cycle: below the first sequence number, or 0 after 65535 (when the first was 0).
        let wrapped = a.seq < w.start_seq || (a.seq == 0 && w.stop_seq == 65_535);
        if wrapped && in_time && !w.under {
            w.cycles += 1;
            w.under = true;
        } else if a.seq > w.start_seq && in_time && w.under {
            w.under = false;
        }
        let (prev, seq) = (i32::from(w.seq_num), i32::from(a.seq));
        if in_time && (prev + 1 == seq || (prev == 65_535 && seq == 0)) {
            w.seq_num = a.seq;
        } else if in_time && (prev + 1 < seq || prev - seq > 0xFF00) {
            w.seq_num = a.seq;
            w.wrong_seq += 1;
        } else if prev + 1 > seq {
            w.wrong_seq += 1;
        }
        let cn = a.payload_type == PT_CN || a.payload_type == PT_CN_OLD;
        let follows_cn = w.pt == PT_CN || w.pt == PT_CN_OLD;
        w.pt = a.payload_type;
        let mut current_jitter = 0.0;
        if a.clock != 0 {
            let nominal = (ext_ts - w.seq_timestamp) as f64 / (f64::from(a.clock) / 1000.0);
            let expected = w.time + nominal;
            let diff = (a.time_ms - expected).abs();
            current_jitter = (15.0 * w.jitter + diff) / 16.0;
            w.delta = a.time_ms - w.time;
            w.jitter = current_jitter;
        } else {
            w.delta = a.time_ms - w.time;
        }
        let regular = !a.marker && !cn && in_time && !follows_cn;
        if regular {
            if w.delta > w.max_delta {
                w.max_delta = w.delta;
            }
            if a.clock != 0 {
                if w.jitter > w.max_jitter {
                    w.max_jitter = w.jitter;
                }
                let n = w.total as f64;
                w.mean_jitter = (w.mean_jitter * (n - 1.0) + current_jitter) / n;
            }
        }
        if in_time {
            w.time = a.time_ms;
            w.seq_timestamp = ext_ts;
        }
        w.stop_seq = a.seq;
        w.total += 1;
    }

    /// Packets expected from the extended sequence numbers (RFC 3550 A.3).
    pub(crate) fn expected(&self) -> u64 {
        if self.packets == 0 {
            0
        } else {
            self.max_ext - self.first_ext + 1
        }
    }

    /// Packets lost (RFC 3550 A.3, distinct packets only; never negative).
    pub(crate) fn lost(&self) -> u64 {
        let distinct = self.packets - self.duplicates - self.event_redundancy;
        self.expected().saturating_sub(distinct)
    }

    /// The last interarrival jitter, ms.
    pub(crate) fn jitter_ms(&self) -> f64 {
        self.ws.jitter
    }

    /// Maximum jitter over regular packets, ms (tshark's "Max Jitter").
    pub(crate) fn max_jitter_ms(&self) -> f64 {
        self.ws.max_jitter
    }

    /// Mean jitter over regular packets, ms (tshark's "Mean Jitter").
    pub(crate) fn mean_jitter_ms(&self) -> f64 {
        self.ws.mean_jitter
    }

    /// Largest gap between arrivals over regular packets, ms (tshark's "Max Delta").
    pub(crate) fn max_delta_ms(&self) -> f64 {
        self.ws.max_delta
    }

    /// Lost as tshark prints it: from the first and the last sequence number seen, every packet
    /// (duplicates too) counted as received.
    pub(crate) fn tshark_lost(&self) -> i64 {
        let w = &self.ws;
        let expected =
            i64::from(w.stop_seq) + i64::from(w.cycles) * 65_536 - i64::from(w.start_seq) + 1;
        expected - w.total as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arrival(time_ms: f64, seq: u16, timestamp: u32) -> Arrival {
        Arrival {
            time_ms,
            seq,
            timestamp,
            payload_type: 8,
            marker: false,
            clock: 8000,
            event_end: false,
        }
    }

    #[test]
    fn stream_steady_20ms_has_no_jitter_or_loss() {
        let mut s = SsrcStats::new(1);
        for i in 0..50u16 {
            s.add(&arrival(f64::from(i) * 20.0, i, u32::from(i) * 160), 60.0);
        }
        assert_eq!((s.packets, s.expected(), s.lost()), (50, 50, 0));
        assert_eq!(s.max_jitter_ms(), 0.0);
        assert_eq!(s.max_delta_ms(), 20.0);
        assert_eq!(s.tshark_lost(), 0);
    }

    #[test]
    fn stream_jitter_follows_the_rfc3550_filter() {
        let mut s = SsrcStats::new(1);
        s.add(&arrival(0.0, 0, 0), 60.0);
        // 4 ms late: D = 4, J = 4/16.
        s.add(&arrival(24.0, 1, 160), 60.0);
        assert!((s.jitter_ms() - 0.25).abs() < 1e-12);
        // On time relative to the previous arrival: expected 44, D = 0, J = 15/16 · 0.25.
        s.add(&arrival(44.0, 2, 320), 60.0);
        assert!((s.jitter_ms() - 0.234_375).abs() < 1e-12);
        assert!((s.max_jitter_ms() - 0.25).abs() < 1e-12);
        assert!((s.mean_jitter_ms() - (0.25 + 0.234_375) / 2.0).abs() < 1e-12);
    }

    #[test]
    fn stream_loss_duplicates_reordering_and_wrap() {
        let mut s = SsrcStats::new(1);
        let seqs = [65_533u16, 65_534, 65_535, 2, 0, 0, 3, 5];
        let classes: Vec<SeqClass> = seqs
            .iter()
            .enumerate()
            .map(|(i, &q)| s.add(&arrival(i as f64 * 20.0, q, i as u32 * 160), 60.0))
            .collect();
        use SeqClass::*;
        assert_eq!(
            classes,
            [
                InOrder, InOrder, InOrder, InOrder, OutOfOrder, Duplicate, InOrder, InOrder
            ]
        );
        // 65533..=5 is 9 numbers; received 1, 4 (0 and 65533..65535), 2, 3, 5 → 7 distinct.
        assert_eq!(
            (s.expected(), s.lost(), s.duplicates, s.out_of_order),
            (9, 2, 1, 1)
        );
        assert_eq!((s.bursts, s.burst_lost), (2, 3));
    }

    #[test]
    fn stream_event_end_redundancy_is_not_loss_or_duplicate() {
        let mut s = SsrcStats::new(1);
        for (i, (seq, end)) in [
            (10u16, false),
            (11, false),
            (12, true),
            (12, true),
            (12, true),
        ]
        .into_iter()
        .enumerate()
        {
            let mut a = arrival(i as f64 * 20.0, seq, 1000);
            a.payload_type = 101;
            a.clock = 0;
            a.event_end = end;
            s.add(&a, 60.0);
        }
        assert_eq!((s.lost(), s.duplicates, s.event_redundancy), (0, 0, 2));
        // tshark counts the repeats as received: expected 3, received 5.
        assert_eq!(s.tshark_lost(), -2);
        assert_eq!(s.max_jitter_ms(), 0.0);
    }

    #[test]
    fn stream_late_packets_beyond_the_jitter_buffer() {
        let mut s = SsrcStats::new(1);
        s.add(&arrival(0.0, 0, 0), 60.0);
        s.add(&arrival(20.0, 1, 160), 60.0);
        s.add(&arrival(120.0, 2, 320), 60.0); // 80 ms late
        s.add(&arrival(121.0, 3, 480), 60.0); // 61 ms late
        s.add(&arrival(122.0, 4, 640), 60.0); // 42 ms late
        assert_eq!(s.late, 2);
    }
}

//! The sending half: frames waiting for the window, packets in flight, acknowledgements,
//! loss detection and the retransmission timer (RFC 6298).
//!
//! Sequence numbers on the wire are `isn + index` (wrapping u32); inside, every packet has a
//! 64-bit index from 0.
//!
//! Loss detection is time-based, as RACK (RFC 8985): a packet is taken for lost once a packet
//! transmitted after it has been acknowledged (cumulatively or selectively) and it had that
//! packet's round trip plus a reordering window to be acknowledged too. The window starts at
//! a quarter of the minimum RTT and grows (up to SRTT) each time a retransmission turns out
//! spurious (acknowledged sooner than any round trip could bring it back). A lost
//! retransmission is caught the same way. Packets nothing later can vouch for (the tail) wait
//! for the retransmission timer.

use crate::packet::Frame;
use sim_core::SimInstant;
use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

/// RFC 6298 round-trip estimator with exponential backoff.
#[derive(Clone, Debug)]
pub(crate) struct RttEstimator {
    srtt: Option<Duration>,
    rttvar: Duration,
    min_rtt: Option<Duration>,
    backoff: u32,
    min_rto: Duration,
    max_rto: Duration,
}

impl RttEstimator {
    pub(crate) const fn new(min_rto: Duration, max_rto: Duration) -> Self {
        Self {
            srtt: None,
            rttvar: Duration::ZERO,
            min_rtt: None,
            backoff: 0,
            min_rto,
            max_rto,
        }
    }

    /// Takes one sample (RFC 6298 §2.2–2.3) and ends any backoff.
    pub(crate) fn sample(&mut self, r: Duration) {
        match self.srtt {
            None => {
                self.srtt = Some(r);
                self.rttvar = r / 2;
            }
            Some(srtt) => {
                let diff = srtt.abs_diff(r);
                self.rttvar = (self.rttvar * 3 + diff) / 4;
                self.srtt = Some((srtt * 7 + r) / 8);
            }
        }
        self.min_rtt = Some(self.min_rtt.map_or(r, |m| m.min(r)));
        self.backoff = 0;
    }

    /// The smoothed round-trip time, once sampled.
    pub(crate) const fn srtt(&self) -> Option<Duration> {
        self.srtt
    }

    /// The smallest round trip sampled.
    pub(crate) const fn min_rtt(&self) -> Option<Duration> {
        self.min_rtt
    }

    /// The current timeout: SRTT + 4·RTTVAR (1 s before any sample, §2.1), doubled per backoff,
    /// clamped to `min_rto..=max_rto`.
    pub(crate) fn rto(&self) -> Duration {
        let base = self.srtt.map_or(Duration::from_secs(1), |s| {
            s + (self.rttvar * 4).max(Duration::from_micros(1))
        });
        let backed = base
            .checked_mul(1u32 << self.backoff.min(16))
            .unwrap_or(self.max_rto);
        backed.clamp(self.min_rto, self.max_rto)
    }

    fn back_off(&mut self) {
        if self.rto() < self.max_rto {
            self.backoff += 1;
        }
    }
}

#[derive(Clone, Debug)]
struct Sent {
    frame: Frame,
    last_sent: SimInstant,
    last_tx: u64,
    sacked: bool,
    queued_lost: bool,
    retransmitted: bool,
}

/// What an acknowledgement did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct AckOutcome {
    /// The cumulative point moved.
    pub(crate) advanced: bool,
    /// Payload bytes freed from the send buffer.
    pub(crate) freed: usize,
}

/// The sending half of one tunnel.
#[derive(Clone, Debug)]
pub(crate) struct Sender {
    isn: u32,
    next: u64,
    una: u64,
    in_flight: BTreeMap<u64, Sent>,
    pending: VecDeque<Frame>,
    lost: VecDeque<u64>,
    buffered: usize,
    tx_counter: u64,
    /// RACK: the most recently transmitted packet acknowledged so far and its round trip.
    rack_tx: u64,
    rack_rtt: Duration,
    reo_wnd_mult: u32,
    loss_deadline: Option<SimInstant>,
    window: u32,
    peer_window: u32,
    pub(crate) rtt: RttEstimator,
    rto_deadline: Option<SimInstant>,
    pub(crate) retransmitted: u64,
    pub(crate) rto_expirations: u64,
    pub(crate) spurious_retransmits: u64,
}

impl Sender {
    pub(crate) fn new(isn: u32, window: u32, rtt: RttEstimator) -> Self {
        Self {
            isn,
            next: 0,
            una: 0,
            in_flight: BTreeMap::new(),
            pending: VecDeque::new(),
            lost: VecDeque::new(),
            buffered: 0,
            tx_counter: 0,
            rack_tx: 0,
            rack_rtt: Duration::ZERO,
            reo_wnd_mult: 1,
            loss_deadline: None,
            window,
            peer_window: window,
            rtt,
            rto_deadline: None,
            retransmitted: 0,
            rto_expirations: 0,
            spurious_retransmits: 0,
        }
    }

    /// Queues a frame behind everything queued before; returns its index.
    pub(crate) fn push(&mut self, frame: Frame) -> u64 {
        let index = self.next + self.pending.len() as u64;
        self.buffered += frame.payload.len();
        self.pending.push_back(frame);
        index
    }

    /// Payload bytes written and not yet acknowledged.
    pub(crate) const fn buffered(&self) -> usize {
        self.buffered
    }

    /// The oldest index not cumulatively acknowledged.
    pub(crate) const fn una(&self) -> u64 {
        self.una
    }

    /// Nothing queued and nothing in flight.
    pub(crate) fn is_idle(&self) -> bool {
        self.pending.is_empty() && self.in_flight.is_empty()
    }

    /// When [`Sender::on_timeout`] has work: the retransmission or the reordering timer.
    pub(crate) fn deadline(&self) -> Option<SimInstant> {
        match (self.rto_deadline, self.loss_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The packets to transmit now: lost ones first, then new ones while the window allows.
    /// Each comes as `(wire sequence number, frame)`.
    pub(crate) fn collect(&mut self, now: SimInstant, out: &mut Vec<(u32, Frame)>) {
        while let Some(index) = self.lost.pop_front() {
            let tx = self.next_tx();
            if let Some(s) = self.in_flight.get_mut(&index) {
                s.queued_lost = false;
                if s.sacked {
                    continue;
                }
                s.last_sent = now;
                s.last_tx = tx;
                s.retransmitted = true;
                self.retransmitted += 1;
                out.push((wire(self.isn, index), s.frame.clone()));
            }
        }
        let limit = u64::from(self.window.min(self.peer_window.max(1)));
        while self.next - self.una < limit {
            let Some(frame) = self.pending.pop_front() else {
                break;
            };
            let index = self.next;
            self.next += 1;
            let last_tx = self.next_tx();
            out.push((wire(self.isn, index), frame.clone()));
            self.in_flight.insert(
                index,
                Sent {
                    frame,
                    last_sent: now,
                    last_tx,
                    sacked: false,
                    queued_lost: false,
                    retransmitted: false,
                },
            );
        }
        if self.rto_deadline.is_none() && !self.in_flight.is_empty() {
            self.rto_deadline = Some(now + self.rtt.rto());
        }
    }

    fn next_tx(&mut self) -> u64 {
        self.tx_counter += 1;
        self.tx_counter
    }

    /// Applies an acknowledgement. Returns `None` when it acknowledges what was never sent.
    pub(crate) fn on_ack(
        &mut self,
        now: SimInstant,
        next_wire: u32,
        window: u16,
        sack: &[u8],
        rtt_sample: Option<Duration>,
    ) -> Option<AckOutcome> {
        let next = unwrap(self.una, next_wire.wrapping_sub(self.isn));
        if next > self.next {
            return None;
        }
        self.peer_window = u32::from(window);
        if let Some(r) = rtt_sample {
            self.rtt.sample(r);
        }
        let mut outcome = AckOutcome::default();
        while let Some(entry) = self.in_flight.first_entry() {
            if *entry.key() >= next {
                break;
            }
            let s = entry.remove();
            if !s.sacked {
                self.on_delivered(now, s.last_tx, s.last_sent, s.retransmitted);
            }
            outcome.freed += s.frame.payload.len();
        }
        if next > self.una {
            self.una = next;
            outcome.advanced = true;
        }
        self.sack(now, next, sack);
        self.buffered -= outcome.freed.min(self.buffered);
        self.detect_losses(now);
        if outcome.advanced {
            self.rto_deadline = (!self.in_flight.is_empty()).then(|| now + self.rtt.rto());
        }
        Some(outcome)
    }

    /// RACK bookkeeping for one newly acknowledged packet.
    fn on_delivered(&mut self, now: SimInstant, tx: u64, sent: SimInstant, retransmitted: bool) {
        let rtt = now - sent;
        let min_rtt = self.rtt.min_rtt().unwrap_or(Duration::ZERO);
        if retransmitted && rtt < min_rtt * 3 / 4 {
            // The original got there: the retransmission was spurious, reordering is deeper
            // than the window assumed (RFC 8985 §6.2 step 4, with a timing test for DSACK).
            self.reo_wnd_mult = (self.reo_wnd_mult + 1).min(4);
            self.spurious_retransmits += 1;
            return;
        }
        if tx > self.rack_tx {
            self.rack_tx = tx;
            self.rack_rtt = rtt;
        }
    }

    fn reo_wnd(&self) -> Duration {
        let min_rtt = self.rtt.min_rtt().unwrap_or(Duration::ZERO);
        let srtt = self.rtt.srtt().unwrap_or(min_rtt);
        (min_rtt / 4 * self.reo_wnd_mult)
            .min(srtt)
            .max(Duration::from_millis(1))
    }

    /// Marks what the bitmap says arrived beyond `next`.
    fn sack(&mut self, now: SimInstant, next: u64, bitmap: &[u8]) {
        let mut delivered = Vec::new();
        for (byte, &bits) in bitmap.iter().enumerate() {
            for bit in 0..8 {
                if bits & (1 << bit) == 0 {
                    continue;
                }
                let index = next + 1 + (byte as u64) * 8 + bit;
                if let Some(s) = self.in_flight.get_mut(&index)
                    && !s.sacked
                {
                    s.sacked = true;
                    delivered.push((s.last_tx, s.last_sent, s.retransmitted));
                }
            }
        }
        for (tx, sent, retransmitted) in delivered {
            self.on_delivered(now, tx, sent, retransmitted);
        }
    }

    /// RFC 8985 §6.2 step 5: marks what is lost, arms the reordering timer for the rest.
    fn detect_losses(&mut self, now: SimInstant) {
        let wait = self.rack_rtt + self.reo_wnd();
        self.loss_deadline = None;
        for (&index, s) in &mut self.in_flight {
            if s.sacked || s.queued_lost || s.last_tx >= self.rack_tx {
                continue;
            }
            let due = s.last_sent + wait;
            if due <= now {
                s.queued_lost = true;
                self.lost.push_back(index);
            } else {
                self.loss_deadline = Some(self.loss_deadline.map_or(due, |d| d.min(due)));
            }
        }
    }

    /// The reordering timer (losses become due) and the retransmission timer (RFC 6298
    /// §5.4–5.6: the earliest unacknowledged packet goes again, with every other one
    /// outstanding for a whole timeout; the timeout doubles).
    pub(crate) fn on_timeout(&mut self, now: SimInstant) {
        if self.loss_deadline.is_some_and(|t| t <= now) {
            self.detect_losses(now);
        }
        if self.rto_deadline.is_none_or(|t| t > now) {
            return;
        }
        self.rto_expirations += 1;
        let rto = self.rtt.rto();
        self.rtt.back_off();
        let mut first = true;
        for (&index, s) in &mut self.in_flight {
            if s.sacked || s.queued_lost {
                continue;
            }
            if first || s.last_sent + rto <= now {
                first = false;
                s.queued_lost = true;
                self.lost.push_back(index);
            }
        }
        self.rto_deadline = (!self.in_flight.is_empty()).then(|| now + self.rtt.rto());
    }
}

/// Wire sequence number of `index`.
pub(crate) const fn wire(isn: u32, index: u64) -> u32 {
    isn.wrapping_add(index as u32)
}

/// The 64-bit index whose low 32 bits are `low`, nearest to `reference`.
pub(crate) const fn unwrap(reference: u64, low: u32) -> u64 {
    let diff = low.wrapping_sub(reference as u32) as i32;
    reference.saturating_add_signed(diff as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::FrameKind;
    use bytes::Bytes;

    fn frame(n: usize) -> Frame {
        Frame {
            kind: FrameKind::Data,
            stream: 1,
            payload: Bytes::from(vec![0; n]),
        }
    }

    fn sender() -> Sender {
        let rtt = RttEstimator::new(Duration::from_millis(200), Duration::from_secs(60));
        Sender::new(u32::MAX - 1, 4, rtt)
    }

    #[test]
    fn unwrap_picks_the_nearest_index() {
        assert_eq!(unwrap(0, 5), 5);
        assert_eq!(unwrap(0, u32::MAX), 0);
        assert_eq!(unwrap(10, 8), 8);
        assert_eq!(unwrap(u64::from(u32::MAX), 2), u64::from(u32::MAX) + 3);
    }

    #[test]
    fn rtt_estimator_follows_rfc6298_and_backs_off() {
        let mut r = RttEstimator::new(Duration::from_millis(200), Duration::from_secs(60));
        assert_eq!(r.rto(), Duration::from_secs(1));
        r.sample(Duration::from_millis(100));
        // SRTT 100 ms, RTTVAR 50 ms: RTO 300 ms.
        assert_eq!(r.rto(), Duration::from_millis(300));
        r.back_off();
        assert_eq!(r.rto(), Duration::from_millis(600));
        r.sample(Duration::from_millis(100));
        // RTTVAR 3/4·50 = 37.5 ms, SRTT 100 ms: 250 ms, backoff ended.
        assert_eq!(r.rto(), Duration::from_millis(250));
    }

    #[test]
    fn sender_window_limits_flight_and_sequence_numbers_wrap() {
        let mut s = sender();
        for _ in 0..6 {
            s.push(frame(10));
        }
        let mut out = Vec::new();
        s.collect(SimInstant::ZERO, &mut out);
        let seqs: Vec<u32> = out.iter().map(|(q, _)| *q).collect();
        assert_eq!(seqs, vec![u32::MAX - 1, u32::MAX, 0, 1]);
        assert_eq!(s.buffered(), 60);
        // Cumulative ack of the first two (next = 0 on the wire).
        let o = s.on_ack(SimInstant::ZERO, 0, 4, &[], None).unwrap();
        assert_eq!(
            o,
            AckOutcome {
                advanced: true,
                freed: 20
            }
        );
        out.clear();
        s.collect(SimInstant::ZERO, &mut out);
        assert_eq!(out.len(), 2);
        // An ack beyond what was sent is refused.
        assert_eq!(s.on_ack(SimInstant::ZERO, 100, 4, &[], None), None);
    }

    #[test]
    fn sender_sack_beyond_a_hole_retransmits_it_once_after_the_reordering_window() {
        let rtt = RttEstimator::new(Duration::from_millis(200), Duration::from_secs(60));
        let mut s = Sender::new(u32::MAX - 1, 8, rtt);
        for _ in 0..5 {
            s.push(frame(1));
        }
        let mut out = Vec::new();
        s.collect(SimInstant::ZERO, &mut out);
        let isn = u32::MAX - 1;
        let ms = |n: u64| SimInstant::from_micros(n * 1000);
        // Index 0 lost; 1..5 selectively acknowledged 100 ms later (RTT sample 100 ms, so
        // the reordering window is 25 ms).
        let sack = [0b1111];
        s.on_ack(ms(100), isn, 8, &sack, Some(Duration::from_millis(100)))
            .unwrap();
        out.clear();
        s.collect(ms(100), &mut out);
        assert!(out.is_empty(), "index 0 may still be reordered");
        assert_eq!(s.deadline(), Some(ms(125)));
        s.on_timeout(ms(125));
        s.collect(ms(125), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].0, isn);
        assert_eq!(s.retransmitted, 1);
        // The same ack again queues nothing more.
        s.on_ack(ms(130), isn, 8, &sack, None).unwrap();
        out.clear();
        s.collect(ms(130), &mut out);
        assert!(out.is_empty());
        // The retransmission acknowledged 5 ms after it went: the original arrived, the
        // window widens.
        s.on_ack(ms(130), wire(isn, 5), 8, &[], None).unwrap();
        assert_eq!(s.reo_wnd_mult, 2);
        assert!(s.is_idle());
    }
}

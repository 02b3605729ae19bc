//! STUN client transactions over UDP with pjnath's retransmission timing (RFC 5389 §7.2.1).

use bytes::Bytes;
use rtc_stun::message::TransactionId;
use sim_core::SimInstant;
use std::net::SocketAddr;
use std::time::Duration;

/// A UDP retransmission schedule: the first retransmission after `rto`, each later one after
/// twice the previous interval, `transmissions` sends in all, then a final wait of
/// `final_wait × rto` before the transaction times out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retransmit {
    /// Initial retransmission timeout.
    pub rto: Duration,
    /// Number of transmissions (the first send included).
    pub transmissions: u32,
    /// The wait after the last transmission, in multiples of `rto`.
    pub final_wait: u32,
}

impl Retransmit {
    /// pjnath's defaults (`PJ_STUN_RTO_VALUE` 100 ms, `PJ_STUN_MAX_TRANSMIT_COUNT` 7,
    /// `PJ_STUN_TIMEOUT_VALUE` 16 × RTO): sends at 0, 0.1, 0.3, 0.7, 1.5, 3.1 and 6.3 s, timeout
    /// at 7.9 s.
    pub const PJNATH: Self = Self {
        rto: Duration::from_millis(100),
        transmissions: 7,
        final_wait: 16,
    };

    /// The offset of transmission `n` (0-based) from the first one.
    pub fn send_offset(&self, n: u32) -> Duration {
        let factor = (1u32 << n.min(30)) - 1;
        self.rto.saturating_mul(factor)
    }

    /// When a transaction started at offset 0 times out.
    pub fn timeout(&self) -> Duration {
        let last = self.send_offset(self.transmissions.saturating_sub(1));
        last + self.rto.saturating_mul(self.final_wait)
    }
}

impl Default for Retransmit {
    fn default() -> Self {
        Self::PJNATH
    }
}

/// One outstanding request.
#[derive(Clone, Debug)]
pub(crate) struct Transaction {
    pub(crate) id: TransactionId,
    pub(crate) dst: SocketAddr,
    payload: Bytes,
    start: SimInstant,
    sent: u32,
    schedule: Retransmit,
    /// A status earned while waiting (a response with a broken FINGERPRINT: 370030).
    pub(crate) last_error: Option<u32>,
}

impl Transaction {
    pub(crate) fn new(
        now: SimInstant,
        id: TransactionId,
        dst: SocketAddr,
        payload: Bytes,
        schedule: Retransmit,
    ) -> Self {
        Self {
            id,
            dst,
            payload,
            start: now,
            sent: 0,
            schedule,
            last_error: None,
        }
    }

    /// The next instant something happens: a (re)transmission or the timeout.
    pub(crate) fn deadline(&self) -> SimInstant {
        if self.sent < self.schedule.transmissions {
            self.start + self.schedule.send_offset(self.sent)
        } else {
            self.start + self.schedule.timeout()
        }
    }

    /// The payload to send now, if a transmission is due.
    pub(crate) fn poll_send(&mut self, now: SimInstant) -> Option<Bytes> {
        if self.sent < self.schedule.transmissions && self.deadline() <= now {
            self.sent += 1;
            return Some(self.payload.clone());
        }
        None
    }

    /// Whether every transmission went unanswered for the whole schedule.
    pub(crate) fn timed_out(&self, now: SimInstant) -> bool {
        self.sent >= self.schedule.transmissions && self.deadline() <= now
    }

    /// Transmissions so far.
    #[cfg(test)]
    pub(crate) fn sent(&self) -> u32 {
        self.sent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retransmit_pjnath_schedule_is_seven_sends_then_7_9_s() {
        let r = Retransmit::PJNATH;
        let offsets: Vec<u128> = (0..7).map(|n| r.send_offset(n).as_millis()).collect();
        assert_eq!(offsets, [0, 100, 300, 700, 1500, 3100, 6300]);
        assert_eq!(r.timeout(), Duration::from_millis(7900));
    }

    #[test]
    fn transaction_sends_on_schedule_and_times_out() {
        let dst = "192.0.2.1:3478".parse().unwrap();
        let mut t = Transaction::new(
            SimInstant::ZERO,
            TransactionId([0; 12]),
            dst,
            Bytes::from_static(b"x"),
            Retransmit::PJNATH,
        );
        let mut sends = Vec::new();
        let mut now = SimInstant::ZERO;
        while !t.timed_out(now) {
            now = t.deadline();
            if t.poll_send(now).is_some() {
                sends.push(now.as_micros() / 1000);
            }
        }
        assert_eq!(sends, [0, 100, 300, 700, 1500, 3100, 6300]);
        assert_eq!(now.as_micros(), 7_900_000);
        assert_eq!(t.sent(), 7);
    }
}

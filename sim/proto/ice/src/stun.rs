//! STUN on the agent's socket: recognising and checking messages (RFC 5389 §6, §15.5, RFC 7983
//! demultiplexing), and the Binding transactions that gather server-reflexive candidates, with
//! pjnath's retransmission schedule (RTO 100 ms doubling, 7 transmissions, 1.6 s final wait).
//!
//! ```text
//!   start ──send──▶ Trying ──RTO×(2ⁿ−1)──▶ send again (7 in all)
//!                     │  success with (XOR-)MAPPED-ADDRESS ─▶ Done(mapped)
//!                     │  success without                   ─▶ Failed(370040)
//!                     │  error response                    ─▶ Failed(320126)
//!                     └─ 7.9 s after the first send        ─▶ Failed(370004)
//! ```

use crate::config::IceTimers;
use crate::event::Status;
use bytes::Bytes;
use rand_core::RngCore;
use rtc_stun::addr::MappedAddress;
use rtc_stun::attributes::{ATTR_FINGERPRINT, ATTR_MAPPED_ADDRESS, ATTR_XORMAPPED_ADDRESS};
use rtc_stun::error_code::ErrorCodeAttribute;
use rtc_stun::fingerprint::FINGERPRINT;
use rtc_stun::message::{
    BINDING_REQUEST, CLASS_ERROR_RESPONSE, CLASS_SUCCESS_RESPONSE, Getter, Message, Setter,
    TransactionId,
};
use rtc_stun::xoraddr::XorMappedAddress;
use sim_core::{SimInstant, SimRng};
use std::net::SocketAddr;

const MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xa4, 0x42];

/// Whether `payload` looks like STUN: first byte 0–3 (RFC 7983), the magic cookie, a length
/// that fits.
pub(crate) fn looks_like_stun(payload: &[u8]) -> bool {
    payload.len() >= 20
        && payload.first().is_some_and(|b| *b < 4)
        && payload.get(4..8) == Some(&MAGIC_COOKIE[..])
}

/// A decoded STUN message, or `None` when the bytes do not decode.
pub(crate) fn decode(payload: &[u8]) -> Option<Message> {
    if !looks_like_stun(payload) {
        return None;
    }
    let mut m = Message::new();
    m.unmarshal_binary(payload).ok()?;
    Some(m)
}

/// Whether `m` carries a FINGERPRINT that does not match its bytes (RFC 5389 §15.5).
pub(crate) fn fingerprint_broken(m: &Message) -> bool {
    m.contains(ATTR_FINGERPRINT) && FINGERPRINT.check(m).is_err()
}

/// A fresh transaction id from the agent's RNG.
pub(crate) fn transaction_id(rng: &mut SimRng) -> [u8; 12] {
    let mut id = [0u8; 12];
    rng.fill_bytes(&mut id);
    id
}

/// How a gathering transaction ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The server saw us at this address.
    Mapped(SocketAddr),
    /// Failed with a pjnath code and a reason.
    Failed(Status, String),
}

/// One Binding transaction to a STUN server.
#[derive(Clone, Debug)]
pub(crate) struct BindingTransaction {
    pub(crate) server: SocketAddr,
    pub(crate) id: [u8; 12],
    request: Bytes,
    first: SimInstant,
    sent: u32,
    pub(crate) outcome: Option<Outcome>,
}

impl BindingTransaction {
    /// A transaction to `server`, first sent at `now` (by [`BindingTransaction::poll`]).
    pub(crate) fn new(now: SimInstant, server: SocketAddr, rng: &mut SimRng) -> Option<Self> {
        let id = transaction_id(rng);
        let mut m = Message::new();
        let setters: [Box<dyn Setter>; 3] = [
            Box::new(BINDING_REQUEST),
            Box::new(TransactionId(id)),
            Box::new(FINGERPRINT),
        ];
        m.build(&setters).ok()?;
        Some(Self {
            server,
            id,
            request: Bytes::from(m.raw),
            first: now,
            sent: 0,
            outcome: None,
        })
    }

    /// When the transaction next needs attention, if it is still running.
    pub(crate) fn deadline(&self, timers: &IceTimers) -> Option<SimInstant> {
        if self.outcome.is_some() {
            return None;
        }
        if self.sent < timers.stun_max_transmissions {
            Some(self.first + timers.retransmission_offset(self.sent))
        } else {
            Some(self.first + timers.transaction_timeout())
        }
    }

    /// The request to send now, if one is due; times the transaction out when its last wait is
    /// over.
    pub(crate) fn poll(&mut self, now: SimInstant, timers: &IceTimers) -> Option<Bytes> {
        let due = self.deadline(timers)?;
        if now < due {
            return None;
        }
        if self.sent < timers.stun_max_transmissions {
            self.sent += 1;
            return Some(self.request.clone());
        }
        let reason = format!("no response after {} transmissions", self.sent);
        self.outcome = Some(Outcome::Failed(Status::STUN_TIMED_OUT, reason));
        None
    }

    /// A response with this transaction's id arrived from `from`.
    pub(crate) fn handle_response(&mut self, from: SocketAddr, m: &Message) {
        if self.outcome.is_some() || from != self.server {
            return;
        }
        if m.typ.class == CLASS_SUCCESS_RESPONSE {
            self.outcome = Some(match mapped_address(m) {
                Some(addr) => Outcome::Mapped(addr),
                None => Outcome::Failed(
                    Status::STUN_NO_MAPPED_ADDRESS,
                    "success response without XOR-MAPPED-ADDRESS or MAPPED-ADDRESS".into(),
                ),
            });
        } else if m.typ.class == CLASS_ERROR_RESPONSE {
            let mut e = ErrorCodeAttribute::default();
            let reason = match e.get_from(m) {
                Ok(()) => format!("error response {e}"),
                Err(_) => "error response without ERROR-CODE".into(),
            };
            self.outcome = Some(Outcome::Failed(Status::STUN_TRANSACTION_FAILED, reason));
        }
    }
}

/// XOR-MAPPED-ADDRESS, else the RFC 3489 MAPPED-ADDRESS (as pjnath's STUN socket reads them).
fn mapped_address(m: &Message) -> Option<SocketAddr> {
    let mut x = XorMappedAddress::default();
    if m.contains(ATTR_XORMAPPED_ADDRESS) && x.get_from(m).is_ok() {
        return Some(SocketAddr::new(x.ip, x.port));
    }
    let mut a = MappedAddress::default();
    if m.contains(ATTR_MAPPED_ADDRESS) && a.get_from(m).is_ok() {
        return Some(SocketAddr::new(a.ip, a.port));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtc_stun::message::BINDING_SUCCESS;
    use sim_core::Seed;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn binding_transaction_silent_server_times_out_at_7_9_s() {
        let timers = IceTimers::default();
        let mut rng = Seed::new(1).rng();
        let mut t =
            BindingTransaction::new(SimInstant::ZERO, addr("203.0.113.1:3478"), &mut rng).unwrap();
        let mut sends = Vec::new();
        while let Some(due) = t.deadline(&timers) {
            if t.poll(due, &timers).is_some() {
                sends.push(due.as_micros() / 1000);
            }
        }
        assert_eq!(sends, [0, 100, 300, 700, 1500, 3100, 6300]);
        assert!(matches!(
            t.outcome,
            Some(Outcome::Failed(Status::STUN_TIMED_OUT, _))
        ));
    }

    #[test]
    fn binding_transaction_success_without_mapped_address_is_370040() {
        let mut rng = Seed::new(1).rng();
        let server = addr("203.0.113.1:3478");
        let mut t = BindingTransaction::new(SimInstant::ZERO, server, &mut rng).unwrap();
        let mut m = Message::new();
        let setters: [Box<dyn Setter>; 2] =
            [Box::new(BINDING_SUCCESS), Box::new(TransactionId(t.id))];
        m.build(&setters).unwrap();
        t.handle_response(addr("203.0.113.9:3478"), &m);
        assert_eq!(t.outcome, None, "a response from elsewhere is ignored");
        t.handle_response(server, &m);
        assert!(matches!(
            t.outcome,
            Some(Outcome::Failed(Status::STUN_NO_MAPPED_ADDRESS, _))
        ));
    }

    #[test]
    fn stun_decode_truncations_never_panic() {
        let mut rng = Seed::new(3).rng();
        let t = BindingTransaction::new(SimInstant::ZERO, addr("192.0.2.1:1"), &mut rng).unwrap();
        let raw = t.request.to_vec();
        for n in 0..=raw.len() {
            if let Some(m) = decode(&raw[..n]) {
                let _ = fingerprint_broken(&m);
            }
        }
        let mut bad = raw.clone();
        let last = bad.len() - 1;
        bad[last] ^= 0xff;
        assert!(fingerprint_broken(&decode(&bad).unwrap()));
        assert!(!fingerprint_broken(&decode(&raw).unwrap()));
    }
}

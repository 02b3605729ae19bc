//! The receiving half: the reorder buffer, duplicate suppression and the acknowledgement it
//! sends back.

use crate::packet::{Frame, MAX_SACK_BYTES, Packet};
use crate::send::{unwrap, wire};
use bytes::Bytes;
use std::collections::BTreeMap;

/// What became of one data packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Receipt {
    /// Held or ready for delivery.
    New,
    /// Already delivered or already held.
    Duplicate,
    /// Beyond the receive window: dropped.
    OutOfWindow,
}

/// The receiving half of one tunnel.
#[derive(Clone, Debug)]
pub(crate) struct Receiver {
    isn: u32,
    next: u64,
    held: BTreeMap<u64, Frame>,
    window: u32,
}

impl Receiver {
    pub(crate) const fn new(isn: u32, window: u32) -> Self {
        Self {
            isn,
            next: 0,
            held: BTreeMap::new(),
            window,
        }
    }

    /// Takes one data packet.
    pub(crate) fn on_data(&mut self, seq: u32, frame: Frame) -> Receipt {
        let index = unwrap(self.next, seq.wrapping_sub(self.isn));
        if index < self.next || self.held.contains_key(&index) {
            Receipt::Duplicate
        } else if index >= self.next + u64::from(self.window) {
            Receipt::OutOfWindow
        } else {
            self.held.insert(index, frame);
            Receipt::New
        }
    }

    /// The next frame in order, if it has arrived.
    pub(crate) fn pop_ready(&mut self) -> Option<Frame> {
        let entry = self.held.first_entry().filter(|e| *e.key() == self.next)?;
        self.next += 1;
        Some(entry.remove())
    }

    /// The acknowledgement of everything received so far, echoing `ts_echo`.
    pub(crate) fn ack(&self, dst_conn: u32, ts_echo: u32) -> Packet {
        let mut sack: Vec<u8> = Vec::new();
        for &i in self.held.keys() {
            let bit = i - self.next - 1;
            let Ok(byte) = usize::try_from(bit / 8) else {
                break;
            };
            if byte >= MAX_SACK_BYTES {
                break;
            }
            if sack.len() <= byte {
                sack.resize(byte + 1, 0);
            }
            sack[byte] |= 1 << (bit % 8);
        }
        Packet::Ack {
            dst_conn,
            next: wire(self.isn, self.next),
            window: u16::try_from(self.window).unwrap_or(u16::MAX),
            ts_echo,
            sack: Bytes::from(sack),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::FrameKind;
    use bytes::Bytes;

    fn frame(b: u8) -> Frame {
        Frame {
            kind: FrameKind::Data,
            stream: 1,
            payload: Bytes::from(vec![b]),
        }
    }

    #[test]
    fn receiver_reorders_absorbs_duplicates_and_reports_holes() {
        let mut r = Receiver::new(100, 4);
        assert_eq!(r.on_data(102, frame(2)), Receipt::New);
        assert_eq!(r.on_data(102, frame(2)), Receipt::Duplicate);
        assert_eq!(r.on_data(104, frame(4)), Receipt::OutOfWindow);
        assert_eq!(r.pop_ready(), None);
        assert_eq!(
            r.ack(7, 9),
            Packet::Ack {
                dst_conn: 7,
                next: 100,
                window: 4,
                ts_echo: 9,
                sack: Bytes::from_static(&[0b10])
            }
        );
        assert_eq!(r.on_data(100, frame(0)), Receipt::New);
        assert_eq!(r.on_data(101, frame(1)), Receipt::New);
        let got: Vec<u8> = std::iter::from_fn(|| r.pop_ready())
            .map(|f| f.payload[0])
            .collect();
        assert_eq!(got, vec![0, 1, 2]);
        assert_eq!(r.on_data(101, frame(1)), Receipt::Duplicate);
        assert!(matches!(r.ack(7, 0), Packet::Ack { next: 103, ref sack, .. } if sack.is_empty()));
    }
}

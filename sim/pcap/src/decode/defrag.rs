//! IPv4 and IPv6 fragment reassembly with bounded memory.
//!
//! Fragments are keyed by (source, destination, protocol, identification). A datagram completes
//! when its fragments cover `0..total` (the total is known once the last fragment, the one without
//! "more fragments", arrives). Overlapping fragments are accepted; where they disagree, the one at the lower offset wins.
//! Pending datagrams expire after [`EXPIRY_NS`] of capture time; at most [`MAX_PENDING`] datagrams
//! and [`MAX_BYTES`] bytes are held, the oldest being dropped first. Every frame that contributed
//! to a dropped or expired datagram is returned so the caller can account for it.

use std::collections::BTreeMap;
use std::net::IpAddr;

/// Capture time after which an incomplete datagram is given up (30 s, like Linux `ipfrag_time`).
pub const EXPIRY_NS: i64 = 30_000_000_000;
/// The most datagrams held at once.
pub const MAX_PENDING: usize = 1024;
/// The most fragment bytes held at once.
pub const MAX_BYTES: usize = 8 << 20;
/// Largest reassembled datagram (IPv4 limit; IPv6 jumbograms are not reassembled).
const MAX_DATAGRAM: usize = 65_535;

/// Identifies one fragmented datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct FragKey {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Upper-layer protocol.
    pub proto: u8,
    /// IP identification (16 bits for IPv4, 32 for IPv6).
    pub id: u32,
}

/// One fragment as decoded from a packet.
#[derive(Clone, Copy, Debug)]
pub struct Fragment<'a> {
    /// Which datagram.
    pub key: FragKey,
    /// Byte offset in the datagram.
    pub offset: usize,
    /// More fragments follow.
    pub more: bool,
    /// The fragment's payload.
    pub data: &'a [u8],
}

#[derive(Debug, Default)]
struct Pending {
    pieces: Vec<(usize, Vec<u8>)>,
    total: Option<usize>,
    frames: Vec<u64>,
    first_ts: i64,
    bytes: usize,
}

/// What adding a fragment produced.
#[derive(Debug)]
pub enum Added {
    /// The datagram is still incomplete; the frame is held.
    Held,
    /// The datagram is complete: its payload and the frames of the earlier fragments.
    Complete {
        /// The reassembled upper-layer bytes.
        payload: Vec<u8>,
        /// Frames of the other fragments (not the current one).
        earlier: Vec<u64>,
    },
    /// The fragment was inconsistent (beyond 64 KiB, or after the end); it is dropped.
    Invalid,
}

/// The reassembly table.
#[derive(Debug, Default)]
pub struct Defragmenter {
    pending: BTreeMap<FragKey, Pending>,
    bytes: usize,
    /// Frames of datagrams given up (expired or evicted), waiting for the caller to collect.
    abandoned: Vec<u64>,
}

impl Defragmenter {
    /// Adds the fragment seen in `frame` at capture time `ts_ns`.
    pub fn add(&mut self, frame: u64, ts_ns: i64, f: Fragment<'_>) -> Added {
        let end = f.offset + f.data.len();
        if end > MAX_DATAGRAM {
            return Added::Invalid;
        }
        self.expire(ts_ns);
        let entry = self.pending.entry(f.key).or_insert_with(|| Pending {
            first_ts: ts_ns,
            ..Pending::default()
        });
        if entry.total.is_some_and(|t| end > t)
            || (!f.more && entry.bytes > 0 && has_beyond(entry, end))
        {
            return Added::Invalid;
        }
        if !f.more {
            entry.total = Some(end);
        }
        entry.pieces.push((f.offset, f.data.to_vec()));
        entry.frames.push(frame);
        entry.bytes += f.data.len();
        self.bytes += f.data.len();
        if let Some(payload) = assemble(entry) {
            let done = self.pending.remove(&f.key).unwrap_or_default();
            self.bytes -= done.bytes;
            let earlier = done.frames.into_iter().filter(|&n| n != frame).collect();
            return Added::Complete { payload, earlier };
        }
        self.enforce_limits();
        Added::Held
    }

    /// Gives up datagrams older than [`EXPIRY_NS`] at capture time `now_ns`.
    pub fn expire(&mut self, now_ns: i64) {
        let old: Vec<FragKey> = self
            .pending
            .iter()
            .filter(|(_, p)| now_ns.saturating_sub(p.first_ts) > EXPIRY_NS)
            .map(|(k, _)| *k)
            .collect();
        for k in old {
            self.drop_key(k);
        }
    }

    /// Gives up every pending datagram (end of capture).
    pub fn flush(&mut self) {
        let keys: Vec<FragKey> = self.pending.keys().copied().collect();
        for k in keys {
            self.drop_key(k);
        }
    }

    /// Frames of given-up datagrams since the last call.
    pub fn take_abandoned(&mut self) -> Vec<u64> {
        std::mem::take(&mut self.abandoned)
    }

    /// Number of datagrams held.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    fn enforce_limits(&mut self) {
        while self.pending.len() > MAX_PENDING || self.bytes > MAX_BYTES {
            let oldest = self
                .pending
                .iter()
                .min_by_key(|(_, p)| p.first_ts)
                .map(|(k, _)| *k);
            match oldest {
                Some(k) => self.drop_key(k),
                None => break,
            }
        }
    }

    fn drop_key(&mut self, k: FragKey) {
        if let Some(p) = self.pending.remove(&k) {
            self.bytes -= p.bytes;
            self.abandoned.extend(p.frames);
        }
    }
}

fn has_beyond(p: &Pending, end: usize) -> bool {
    p.pieces.iter().any(|(o, d)| o + d.len() > end)
}

/// The datagram, if the pieces cover `0..total`.
fn assemble(p: &Pending) -> Option<Vec<u8>> {
    let total = p.total?;
    let mut order: Vec<&(usize, Vec<u8>)> = p.pieces.iter().collect();
    order.sort_by_key(|(o, _)| *o);
    let mut covered = 0;
    for (o, d) in &order {
        if *o > covered {
            return None;
        }
        covered = covered.max(o + d.len());
    }
    if covered < total {
        return None;
    }
    let mut out = vec![0u8; total];
    let mut filled = 0;
    for (o, d) in order {
        // Copy only the bytes not already written (the lower offset wins).
        let from = filled.max(*o);
        let to = (o + d.len()).min(total);
        if from < to {
            let src = d.get(from - o..to - o)?;
            out.get_mut(from..to)?.copy_from_slice(src);
            filled = to;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> FragKey {
        FragKey {
            src: "192.0.2.1".parse().unwrap(),
            dst: "192.0.2.2".parse().unwrap(),
            proto: 17,
            id: 7,
        }
    }

    fn frag(offset: usize, more: bool, data: &[u8]) -> Fragment<'_> {
        Fragment {
            key: key(),
            offset,
            more,
            data,
        }
    }

    #[test]
    fn defrag_out_of_order_with_overlap_completes() {
        let mut d = Defragmenter::default();
        assert!(matches!(
            d.add(1, 0, frag(16, false, b"QRSTUVWX")),
            Added::Held
        ));
        assert!(matches!(
            d.add(2, 0, frag(0, true, b"ABCDEFGH")),
            Added::Held
        ));
        match d.add(3, 0, frag(8, true, b"IJKLMNOPQR")) {
            Added::Complete { payload, earlier } => {
                assert_eq!(payload, b"ABCDEFGHIJKLMNOPQRSTUVWX");
                assert_eq!(earlier, vec![1, 2]);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(d.pending(), 0);
    }

    #[test]
    fn defrag_incomplete_expires_and_reports_frames() {
        let mut d = Defragmenter::default();
        d.add(1, 0, frag(0, true, b"ABCDEFGH"));
        d.expire(EXPIRY_NS + 1);
        assert_eq!(d.take_abandoned(), vec![1]);
        assert_eq!(d.pending(), 0);
    }

    #[test]
    fn defrag_memory_is_bounded() {
        let mut d = Defragmenter::default();
        let data = vec![0u8; 8];
        for i in 0..(MAX_PENDING as u32 + 10) {
            let f = Fragment {
                key: FragKey { id: i, ..key() },
                offset: 0,
                more: true,
                data: &data,
            };
            d.add(u64::from(i), i64::from(i), f);
        }
        assert_eq!(d.pending(), MAX_PENDING);
        assert_eq!(d.take_abandoned().len(), 10);
    }
}

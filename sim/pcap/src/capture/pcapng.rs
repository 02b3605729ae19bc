//! pcapng framing: blocks of `type, length, body, length`; packets in enhanced (EPB), simple (SPB)
//! and obsolete (PB) packet blocks; every interface description (IDB) brings its own link type and
//! timestamp resolution.

use super::{LinkType, MAX_RECORD, OpenError, SkipReason, Step, read_u32};
use pcap_file::Endianness;
use pcap_file::pcapng::blocks::interface_description::InterfaceTsResolution;
use pcap_file::pcapng::{PcapNgParseError, PcapNgParser};
use std::collections::BTreeSet;

const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 1;
const PB: u32 = 2;
const SPB: u32 = 3;
const EPB: u32 = 6;
/// Block types the reader recognises when it looks for the next block after corruption.
const KNOWN: [u32; 10] = [SHB, IDB, PB, SPB, 4, 5, EPB, 9, 0x0BAD, 0x4000_0BAD];
const RESYNC_WINDOW: usize = 256 * 1024;

/// The first four bytes of a pcapng file.
pub(crate) fn is_pcapng(head: &[u8]) -> bool {
    read_u32(head, 0, true) == Some(SHB)
}

/// What the reader needs to know about one interface.
#[derive(Clone, Copy, Debug)]
struct Iface {
    link: LinkType,
    resol: InterfaceTsResolution,
    offset_s: i64,
    snaplen: u32,
}

pub(crate) struct NgState {
    parser: PcapNgParser,
    ifaces: Vec<Iface>,
    links: BTreeSet<LinkType>,
    last_ts_ns: i64,
}

impl std::fmt::Debug for NgState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NgState")
            .field("ifaces", &self.ifaces)
            .finish_non_exhaustive()
    }
}

impl NgState {
    /// Parses the section header block; returns the state and its length.
    pub(crate) fn open(head: &[u8]) -> Result<(Self, usize), OpenError> {
        let (rem, parser) = PcapNgParser::new(head).map_err(|e| match e {
            PcapNgParseError::IncompleteBuffer(..) => {
                OpenError::BadHeader("the file ends inside the pcapng section header".into())
            }
            other => OpenError::BadHeader(format!("pcapng section header: {other}")),
        })?;
        let used = head.len() - rem.len();
        let state = Self {
            parser,
            ifaces: Vec::new(),
            links: BTreeSet::new(),
            last_ts_ns: 0,
        };
        Ok((state, used))
    }

    pub(crate) fn link_types(&self) -> impl Iterator<Item = LinkType> + '_ {
        self.links.iter().copied()
    }

    fn big_endian(&self) -> bool {
        self.parser.section().endianness == Endianness::Big
    }

    /// The type and total length of the block at `p`, if its framing is plausible.
    fn block_at(&self, b: &[u8], p: usize) -> Option<(u32, usize)> {
        let ty = read_u32(b, p, self.big_endian())?;
        let big = if ty == SHB {
            read_u32(b, p + 8, true)? == 0x1A2B_3C4D
        } else {
            self.big_endian()
        };
        let len = read_u32(b, p + 4, big)? as usize;
        let plausible = len.is_multiple_of(4) && (12..=MAX_RECORD).contains(&len);
        plausible.then_some((ty, len))
    }

    pub(crate) fn step(&mut self, avail: &[u8], eof: bool) -> Step {
        if avail.len() < 12 {
            return Step::NeedMore(12);
        }
        let Some((ty, len)) = self.block_at(avail, 0) else {
            return self.corrupt(avail, eof);
        };
        if avail.len() < len {
            return Step::NeedMore(len);
        }
        if read_u32(avail, len - 4, self.trailer_endianness(avail)) != Some(len as u32) {
            return self.corrupt(avail, eof);
        }
        let Some(body) = avail.get(8..len - 4) else {
            return self.corrupt(avail, eof);
        };
        match self.parser.next_raw_block(avail) {
            Ok(_) => self.on_block(ty, body, len),
            Err(PcapNgParseError::IncompleteBuffer(..)) => Step::NeedMore(len),
            Err(PcapNgParseError::StateUpdate(_) | PcapNgParseError::BlockConversion(_)) => {
                self.on_undecodable_meta(ty, body, len)
            }
            Err(PcapNgParseError::InvalidFormat(_)) => self.corrupt(avail, eof),
        }
    }

    fn trailer_endianness(&self, avail: &[u8]) -> bool {
        if read_u32(avail, 0, true) == Some(SHB) {
            read_u32(avail, 8, true) == Some(0x1A2B_3C4D)
        } else {
            self.big_endian()
        }
    }

    fn on_block(&mut self, ty: u32, body: &[u8], len: usize) -> Step {
        match ty {
            SHB => {
                self.ifaces.clear();
                Step::Meta { consumed: len }
            }
            IDB => {
                if let Some(idb) = self.parser.interfaces().last() {
                    self.push_iface(Iface {
                        link: LinkType::from_number(u32::from(idb.linktype)),
                        resol: idb.ts_resolution(),
                        offset_s: idb.ts_offset(),
                        snaplen: idb.snaplen,
                    });
                }
                Step::Meta { consumed: len }
            }
            EPB => self.enhanced(body, len, 8),
            PB => self.obsolete(body, len),
            SPB => self.simple(body, len),
            _ => Step::Meta { consumed: len },
        }
    }

    /// A state block whose options could not be decoded: keep the interface numbering right.
    fn on_undecodable_meta(&mut self, ty: u32, body: &[u8], len: usize) -> Step {
        if ty == IDB {
            let link =
                read_u32(body, 0, self.big_endian()).map_or(LinkType::Other(u32::MAX), |v| {
                    let link16 = if self.big_endian() {
                        v >> 16
                    } else {
                        v & 0xFFFF
                    };
                    LinkType::from_number(link16)
                });
            self.push_iface(Iface {
                link,
                resol: InterfaceTsResolution::default(),
                offset_s: 0,
                snaplen: 0,
            });
        }
        Step::Meta { consumed: len }
    }

    fn push_iface(&mut self, iface: Iface) {
        self.links.insert(iface.link);
        self.ifaces.push(iface);
    }

    /// An enhanced packet block: interface, timestamp, captured and original length, data.
    fn enhanced(&mut self, body: &[u8], len: usize, body_off: usize) -> Step {
        let be = self.big_endian();
        let fields = (
            read_u32(body, 0, be),
            read_u32(body, 4, be),
            read_u32(body, 8, be),
            read_u32(body, 12, be),
            read_u32(body, 16, be),
        );
        let (Some(if_id), Some(hi), Some(lo), Some(cap), Some(orig)) = fields else {
            return corrupt_block(len);
        };
        self.packet(
            if_id,
            (u64::from(hi) << 32) | u64::from(lo),
            cap,
            orig,
            body,
            len,
            body_off,
        )
    }

    /// The obsolete packet block: a 16-bit interface id and a 16-bit drop count.
    fn obsolete(&mut self, body: &[u8], len: usize) -> Step {
        let be = self.big_endian();
        let Some(first) = read_u32(body, 0, be) else {
            return corrupt_block(len);
        };
        let if_id = if be { first >> 16 } else { first & 0xFFFF };
        let fields = (
            read_u32(body, 4, be),
            read_u32(body, 8, be),
            read_u32(body, 12, be),
        );
        let (Some(hi), Some(lo), Some(cap)) = fields else {
            return corrupt_block(len);
        };
        let orig = read_u32(body, 16, be).unwrap_or(cap);
        self.packet(
            if_id,
            (u64::from(hi) << 32) | u64::from(lo),
            cap,
            orig,
            body,
            len,
            8,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn packet(
        &mut self,
        if_id: u32,
        raw_ts: u64,
        cap: u32,
        orig: u32,
        body: &[u8],
        len: usize,
        body_off: usize,
    ) -> Step {
        let Some(iface) = self.ifaces.get(if_id as usize).copied() else {
            return Step::Skip {
                reason: SkipReason::UnknownInterface,
                consumed: len,
            };
        };
        if cap as usize > body.len().saturating_sub(20) {
            return corrupt_block(len);
        }
        let ts = iface.resol.decode_timestamp(raw_ts);
        let ts_ns = i64::try_from(ts.as_nanos())
            .unwrap_or(i64::MAX)
            .saturating_add(iface.offset_s.saturating_mul(1_000_000_000));
        self.last_ts_ns = ts_ns;
        Step::Packet {
            off: body_off + 20,
            len: cap as usize,
            ts_ns,
            link: iface.link,
            orig_len: orig,
            consumed: len,
        }
    }

    /// A simple packet block: interface 0, no timestamp (the previous packet's is used).
    fn simple(&self, body: &[u8], len: usize) -> Step {
        let Some(iface) = self.ifaces.first().copied() else {
            return Step::Skip {
                reason: SkipReason::UnknownInterface,
                consumed: len,
            };
        };
        let Some(orig) = read_u32(body, 0, self.big_endian()) else {
            return corrupt_block(len);
        };
        let room = body.len().saturating_sub(4);
        let snap = if iface.snaplen == 0 {
            usize::MAX
        } else {
            iface.snaplen as usize
        };
        Step::Packet {
            off: 12,
            len: (orig as usize).min(room).min(snap),
            ts_ns: self.last_ts_ns,
            link: iface.link,
            orig_len: orig,
            consumed: len,
        }
    }

    pub(crate) fn resync(&self, avail: &[u8]) -> Option<usize> {
        (1..avail.len() / 4).map(|i| i * 4).find(|&p| {
            self.block_at(avail, p).is_some_and(|(ty, len)| {
                KNOWN.contains(&ty)
                    && read_u32(avail, p + len - 4, self.big_endian()) == Some(len as u32)
            })
        })
    }

    fn corrupt(&self, avail: &[u8], eof: bool) -> Step {
        if !eof && avail.len() < RESYNC_WINDOW {
            return Step::NeedMore(RESYNC_WINDOW);
        }
        let consumed = self.resync(avail).unwrap_or(if eof {
            avail.len()
        } else {
            avail.len().saturating_sub(RESYNC_WINDOW / 2).max(4)
        });
        Step::Skip {
            reason: SkipReason::CorruptRecord,
            consumed,
        }
    }
}

const fn corrupt_block(len: usize) -> Step {
    Step::Skip {
        reason: SkipReason::CorruptRecord,
        consumed: len,
    }
}

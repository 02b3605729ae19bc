//! Classic libpcap framing: a 24-byte file header, then 16-byte record headers.

use super::{LinkType, MAX_RECORD, OpenError, SkipReason, Step, read_u32};
use pcap_file::Endianness;
use pcap_file::pcap::{PcapParseError, PcapParser, PcapTsResolution};

/// Look-ahead used to find the next plausible record after a corrupt one.
const RESYNC_WINDOW: usize = 256 * 1024;
/// The largest snapshot length real capture tools use (tcpdump's default).
const DEFAULT_MAX_SNAP: u32 = 262_144;

/// A record header as read, before validation.
#[derive(Clone, Copy, Debug)]
struct RecHeader {
    ts_sec: u32,
    ts_frac: u32,
    incl_len: u32,
    orig_len: u32,
}

#[derive(Debug)]
pub(crate) struct PcapState {
    parser: Option<PcapParser>,
    big_endian: bool,
    nanos: bool,
    link: LinkType,
    max_len: u32,
    last_ts_sec: Option<u32>,
}

impl PcapState {
    pub(crate) const fn placeholder() -> Self {
        Self {
            parser: None,
            big_endian: false,
            nanos: false,
            link: LinkType::Ethernet,
            max_len: DEFAULT_MAX_SNAP,
            last_ts_sec: None,
        }
    }

    /// Parses the file header; returns the state and the header length.
    pub(crate) fn open(head: &[u8]) -> Result<(Self, usize), OpenError> {
        let magic = read_u32(head, 0, true).ok_or(OpenError::BadHeader(
            "the file is shorter than a capture header".into(),
        ))?;
        if ![0xA1B2_C3D4, 0xA1B2_3C4D, 0xD4C3_B2A1, 0x4D3C_B2A1].contains(&magic) {
            return Err(OpenError::NotACapture { magic });
        }
        let (_, parser) = PcapParser::new(head).map_err(|e| match e {
            PcapParseError::IncompleteBuffer(..) => {
                OpenError::BadHeader("the file ends inside the pcap header".into())
            }
            PcapParseError::Validation(_) => OpenError::NotACapture { magic },
        })?;
        let h = parser.header();
        let state = Self {
            big_endian: h.endianness == Endianness::Big,
            nanos: h.ts_resolution == PcapTsResolution::NanoSecond,
            link: LinkType::from_number(u32::from(h.datalink)),
            max_len: h.snaplen.clamp(DEFAULT_MAX_SNAP, MAX_RECORD as u32),
            last_ts_sec: None,
            parser: Some(parser),
        };
        Ok((state, 24))
    }

    pub(crate) const fn link(&self) -> LinkType {
        self.link
    }

    pub(crate) fn step(&mut self, avail: &[u8], eof: bool) -> Step {
        let Some(parser) = &self.parser else {
            return Step::NeedMore(usize::MAX);
        };
        let Some(h) = self.header(avail) else {
            return Step::NeedMore(16);
        };
        if !self.plausible(h) {
            return self.corrupt(avail, eof);
        }
        match parser.next_raw_packet(avail) {
            Ok((_, raw)) => {
                self.last_ts_sec = Some(raw.ts_sec);
                Step::Packet {
                    off: 16,
                    len: raw.data.len(),
                    ts_ns: self.timestamp(h),
                    link: self.link,
                    orig_len: raw.orig_len,
                    consumed: 16 + raw.data.len(),
                }
            }
            Err(_) => Step::NeedMore(16 + h.incl_len as usize),
        }
    }

    /// The bytes to skip after a corrupt header: up to the next plausible record.
    pub(crate) fn resync(&self, avail: &[u8]) -> Option<usize> {
        (1..avail.len().saturating_sub(15)).find(|&p| self.plausible_at(avail, p))
    }

    fn corrupt(&self, avail: &[u8], eof: bool) -> Step {
        if !eof && avail.len() < RESYNC_WINDOW {
            return Step::NeedMore(RESYNC_WINDOW);
        }
        let consumed = self.resync(avail).unwrap_or(if eof {
            avail.len()
        } else {
            avail.len().saturating_sub(RESYNC_WINDOW / 2).max(1)
        });
        Step::Skip {
            reason: SkipReason::CorruptRecord,
            consumed,
        }
    }

    fn header(&self, b: &[u8]) -> Option<RecHeader> {
        self.header_at(b, 0)
    }

    fn header_at(&self, b: &[u8], at: usize) -> Option<RecHeader> {
        let be = self.big_endian;
        Some(RecHeader {
            ts_sec: read_u32(b, at, be)?,
            ts_frac: read_u32(b, at + 4, be)?,
            incl_len: read_u32(b, at + 8, be)?,
            orig_len: read_u32(b, at + 12, be)?,
        })
    }

    fn plausible(&self, h: RecHeader) -> bool {
        h.incl_len <= self.max_len
    }

    /// Whether a record that starts at `p` looks real: sane lengths, a valid fraction, a timestamp
    /// near the last good one, and either another sane header or the end of the data after it.
    fn plausible_at(&self, b: &[u8], p: usize) -> bool {
        let Some(h) = self.header_at(b, p) else {
            return false;
        };
        let frac_limit = if self.nanos { 1_000_000_000 } else { 1_000_000 };
        let near = self
            .last_ts_sec
            .is_none_or(|t| h.ts_sec.abs_diff(t) <= 86_400);
        if !self.plausible(h) || h.ts_frac >= frac_limit || h.orig_len < h.incl_len || !near {
            return false;
        }
        let next = p + 16 + h.incl_len as usize;
        next == b.len()
            || self
                .header_at(b, next)
                .is_some_and(|n| self.plausible(n) && n.orig_len >= n.incl_len)
    }

    fn timestamp(&self, h: RecHeader) -> i64 {
        let frac = if self.nanos {
            i64::from(h.ts_frac)
        } else {
            i64::from(h.ts_frac) * 1_000
        };
        i64::from(h.ts_sec) * 1_000_000_000 + frac
    }
}

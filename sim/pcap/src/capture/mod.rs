//! Capture files: classic pcap (both byte orders, micro- and nanosecond timestamps), pcapng (any
//! number of interfaces with different link types; enhanced, simple and obsolete packet blocks),
//! either of them gzip-compressed.
//!
//! [`CaptureReader`] streams: it keeps one buffer of a few MiB, never the whole file. Records are
//! framed with `pcap-file`'s slice parsers (`next_raw_packet` / `next_raw_block`, which never stop at
//! a validation error) and validated here. A record that cannot be trusted (impossible length,
//! length fields that disagree) is skipped: the reader scans forward for the next plausible record
//! header and reports one [`Record::Skipped`] for the bytes it jumped over. A record cut off by the
//! end of the file is reported as [`SkipReason::TruncatedRecord`].

mod pcap;
mod pcapng;
mod source;

pub use source::{Compression, Input, open_path, open_reader};

use std::collections::BTreeSet;
use std::io::{self, Read};

/// The largest record the reader accepts (larger length fields are treated as corruption).
pub const MAX_RECORD: usize = 16 << 20;
/// How much data the reader asks the input for at a time.
const CHUNK: usize = 1 << 20;

/// A link-layer header type (the tcpdump `LINKTYPE_*` registry).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LinkType {
    /// BSD loopback: a 4-byte address family in host byte order (0).
    Null,
    /// Ethernet II, with optional 802.1Q / 802.1ad tags (1).
    Ethernet,
    /// Raw IPv4 or IPv6, the version taken from the first nibble (101, and the legacy 12 / 14).
    Raw,
    /// OpenBSD loopback: a 4-byte address family in network byte order (108).
    Loop,
    /// Linux "cooked" capture v1 (113).
    LinuxSll,
    /// Linux "cooked" capture v2 (276).
    LinuxSll2,
    /// Raw IPv4 (228).
    Ipv4,
    /// Raw IPv6 (229).
    Ipv6,
    /// Anything else, by number.
    Other(u32),
}

impl LinkType {
    /// The link type for a `LINKTYPE_*` number.
    pub const fn from_number(n: u32) -> Self {
        match n {
            0 => Self::Null,
            1 => Self::Ethernet,
            12 | 14 | 101 => Self::Raw,
            108 => Self::Loop,
            113 => Self::LinuxSll,
            276 => Self::LinuxSll2,
            228 => Self::Ipv4,
            229 => Self::Ipv6,
            n => Self::Other(n),
        }
    }

    /// A short stable name (`ethernet`, `linux_sll`...), as used in reports.
    pub fn name(self) -> String {
        match self {
            Self::Null => "null".into(),
            Self::Ethernet => "ethernet".into(),
            Self::Raw => "raw_ip".into(),
            Self::Loop => "loop".into(),
            Self::LinuxSll => "linux_sll".into(),
            Self::LinuxSll2 => "linux_sll2".into(),
            Self::Ipv4 => "raw_ipv4".into(),
            Self::Ipv6 => "raw_ipv6".into(),
            Self::Other(n) => format!("linktype_{n}"),
        }
    }
}

/// The container format of a capture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Classic libpcap format.
    Pcap,
    /// pcapng.
    PcapNg,
}

/// One captured packet.
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    /// 1-based record number (as Wireshark numbers frames).
    pub number: u64,
    /// Capture timestamp, nanoseconds since the Unix epoch.
    pub ts_ns: i64,
    /// Link-layer type of the interface the packet was captured on.
    pub link: LinkType,
    /// The captured bytes.
    pub data: &'a [u8],
    /// Length of the packet on the wire (at least `data.len()`).
    pub orig_len: u32,
}

/// Why a record was skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SkipReason {
    /// The file ends in the middle of a record.
    TruncatedRecord,
    /// A record header had impossible fields; the reader resynchronised on the next plausible one.
    CorruptRecord,
    /// A pcapng packet block names an interface that was never described.
    UnknownInterface,
}

impl SkipReason {
    /// A short stable name, as used in reports.
    pub const fn name(self) -> &'static str {
        match self {
            Self::TruncatedRecord => "truncated_record",
            Self::CorruptRecord => "corrupt_record",
            Self::UnknownInterface => "unknown_interface",
        }
    }
}

/// What [`CaptureReader::next_record`] returns.
#[derive(Debug)]
pub enum Record<'a> {
    /// A packet.
    Packet(Frame<'a>),
    /// A record that could not be used, with its number.
    Skipped {
        /// 1-based record number.
        number: u64,
        /// Why.
        reason: SkipReason,
    },
}

/// Why a capture could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// Reading failed.
    #[error("read error")]
    Io(#[from] io::Error),
    /// The file is empty.
    #[error("the file is empty")]
    Empty,
    /// The first bytes are neither a pcap nor a pcapng header.
    #[error("not a pcap or pcapng file (magic number {magic:#010x})")]
    NotACapture {
        /// The first four bytes, big-endian.
        magic: u32,
    },
    /// The file header is damaged.
    #[error("the capture header is damaged: {0}")]
    BadHeader(String),
}

/// A parse step's outcome, computed without holding a borrow of the buffer.
#[derive(Debug)]
pub(crate) enum Step {
    /// A packet at `buf[start + off .. start + off + len]`; `consumed` bytes are used up.
    Packet {
        off: usize,
        len: usize,
        ts_ns: i64,
        link: LinkType,
        orig_len: u32,
        consumed: usize,
    },
    /// A record to report as skipped; `consumed` bytes are used up.
    Skip { reason: SkipReason, consumed: usize },
    /// A block that is not a packet (pcapng metadata); `consumed` bytes are used up.
    Meta { consumed: usize },
    /// At least this many bytes (from the current position) are needed.
    NeedMore(usize),
}

/// What [`CaptureReader::need_more`] decided.
enum More {
    Continue,
    End,
    Skipped(u64, SkipReason),
}

enum State {
    Pcap(pcap::PcapState),
    PcapNg(pcapng::NgState),
}

/// Streams the records of a capture.
pub struct CaptureReader<R> {
    input: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    state: State,
    records: u64,
    bytes_consumed: u64,
    link_types: BTreeSet<LinkType>,
    read_error: Option<io::Error>,
}

impl<R: Read> std::fmt::Debug for CaptureReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureReader")
            .field("format", &self.format())
            .field("records", &self.records)
            .finish_non_exhaustive()
    }
}

impl<R: Read> CaptureReader<R> {
    /// Reads the file header of an uncompressed capture stream.
    ///
    /// # Errors
    /// The stream is empty, unreadable, or does not start with a pcap or pcapng header.
    pub fn new(input: R) -> Result<Self, OpenError> {
        let mut reader = Self {
            input,
            buf: vec![0; CHUNK],
            start: 0,
            end: 0,
            eof: false,
            state: State::Pcap(pcap::PcapState::placeholder()),
            records: 0,
            bytes_consumed: 0,
            link_types: BTreeSet::new(),
            read_error: None,
        };
        reader.fill(64 * 1024)?;
        if reader.end == 0 {
            return Err(OpenError::Empty);
        }
        let head = reader.buf.get(..reader.end).unwrap_or_default();
        let (state, used) = if pcapng::is_pcapng(head) {
            let (s, used) = pcapng::NgState::open(head)?;
            (State::PcapNg(s), used)
        } else {
            let (s, used) = pcap::PcapState::open(head)?;
            (State::Pcap(s), used)
        };
        reader.state = state;
        reader.advance(used);
        Ok(reader)
    }

    /// The container format.
    pub const fn format(&self) -> Format {
        match self.state {
            State::Pcap(_) => Format::Pcap,
            State::PcapNg(_) => Format::PcapNg,
        }
    }

    /// Bytes of the (decompressed) stream consumed so far.
    pub const fn bytes_consumed(&self) -> u64 {
        self.bytes_consumed
    }

    /// Link types seen so far (declared by the header or by pcapng interface blocks).
    pub fn link_types(&self) -> &BTreeSet<LinkType> {
        &self.link_types
    }

    /// The I/O error that ended the stream early, if any (the records before it were delivered).
    pub fn take_read_error(&mut self) -> Option<io::Error> {
        self.read_error.take()
    }

    /// The next record, or `None` at the end of the capture.
    pub fn next_record(&mut self) -> Option<Record<'_>> {
        loop {
            let step = self.step();
            match step {
                Step::Packet {
                    off,
                    len,
                    ts_ns,
                    link,
                    orig_len,
                    consumed,
                } => {
                    let at = self.start + off;
                    self.advance(consumed);
                    self.records += 1;
                    let data = self.buf.get(at..at + len).unwrap_or_default();
                    return Some(Record::Packet(Frame {
                        number: self.records,
                        ts_ns,
                        link,
                        data,
                        orig_len: orig_len.max(u32::try_from(len).unwrap_or(u32::MAX)),
                    }));
                }
                Step::Skip { reason, consumed } => {
                    self.advance(consumed);
                    self.records += 1;
                    return Some(Record::Skipped {
                        number: self.records,
                        reason,
                    });
                }
                Step::Meta { consumed } => self.advance(consumed),
                Step::NeedMore(n) => match self.need_more(n) {
                    More::Continue => {}
                    More::End => return None,
                    More::Skipped(number, reason) => {
                        return Some(Record::Skipped { number, reason });
                    }
                },
            }
        }
    }

    /// Handles [`Step::NeedMore`]: refills, or ends the stream.
    fn need_more(&mut self, n: usize) -> More {
        if self.eof || n > MAX_RECORD {
            let left = self.end - self.start;
            if left == 0 {
                return More::End;
            }
            // Either the file ends inside a record or the record claims an impossible length.
            let reason = if n > MAX_RECORD {
                SkipReason::CorruptRecord
            } else {
                SkipReason::TruncatedRecord
            };
            let consumed = if n > MAX_RECORD {
                self.resync_distance()
            } else {
                left
            };
            self.advance(consumed);
            self.records += 1;
            return More::Skipped(self.records, reason);
        }
        if let Err(e) = self.fill(n) {
            self.read_error = Some(e);
            self.eof = true;
        }
        More::Continue
    }

    fn step(&mut self) -> Step {
        let avail = self.buf.get(self.start..self.end).unwrap_or_default();
        let step = match &mut self.state {
            State::Pcap(s) => s.step(avail, self.eof),
            State::PcapNg(s) => s.step(avail, self.eof),
        };
        if let State::PcapNg(s) = &self.state {
            self.link_types.extend(s.link_types());
        } else if let State::Pcap(s) = &self.state {
            self.link_types.insert(s.link());
        }
        step
    }

    /// How far to jump over a corrupt record whose length is not trustworthy.
    fn resync_distance(&self) -> usize {
        let avail = self.buf.get(self.start..self.end).unwrap_or_default();
        let d = match &self.state {
            State::Pcap(s) => s.resync(avail),
            State::PcapNg(s) => s.resync(avail),
        };
        d.unwrap_or(avail.len()).max(1)
    }

    fn advance(&mut self, n: usize) {
        let n = n.min(self.end - self.start);
        self.start += n;
        self.bytes_consumed += n as u64;
    }

    /// Makes at least `want` bytes available from `start` (fewer at the end of the input).
    fn fill(&mut self, want: usize) -> io::Result<()> {
        if self.end - self.start >= want {
            return Ok(());
        }
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let target = want.max(CHUNK);
        if self.buf.len() < target {
            self.buf.resize(target, 0);
        }
        while self.end < want && !self.eof {
            let space = self.buf.get_mut(self.end..).unwrap_or_default();
            match self.input.read(space) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// Reads a `u32` at `at` in the given byte order.
pub(crate) fn read_u32(b: &[u8], at: usize, big_endian: bool) -> Option<u32> {
    let bytes: [u8; 4] = b.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(if big_endian {
        u32::from_be_bytes(bytes)
    } else {
        u32::from_le_bytes(bytes)
    })
}

#[cfg(test)]
mod tests;

//! RFC 1035 messages: header, question, A/AAAA/CNAME answers.
//!
//! Encoding writes names uncompressed; decoding follows compression pointers (RFC 1035
//! §4.1.4) with loop protection: a pointer must point strictly backwards, and a name may not
//! exceed 255 octets. Every decode error carries the pjlib-util status a pjlib parser gives
//! the same packet ([`DecodeError::status`]).

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Record type A (RFC 1035).
pub const TYPE_A: u16 = 1;
/// Record type CNAME (RFC 1035).
pub const TYPE_CNAME: u16 = 5;
/// Record type AAAA (RFC 3596).
pub const TYPE_AAAA: u16 = 28;
/// Class IN.
pub const CLASS_IN: u16 = 1;

/// Longest name in octets on the wire (RFC 1035 §2.3.4).
const MAX_NAME: usize = 255;

/// RCODE NOERROR.
pub const RCODE_NOERROR: u8 = 0;
/// RCODE FORMERR.
pub const RCODE_FORMERR: u8 = 1;
/// RCODE NXDOMAIN.
pub const RCODE_NXDOMAIN: u8 = 3;
/// RCODE NOTIMP.
pub const RCODE_NOTIMP: u8 = 4;

/// The 12-octet header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Header {
    /// Transaction id.
    pub id: u16,
    /// A response (QR set).
    pub response: bool,
    /// Opcode (0 = QUERY).
    pub opcode: u8,
    /// Authoritative answer.
    pub authoritative: bool,
    /// Truncated.
    pub truncated: bool,
    /// Recursion desired.
    pub recursion_desired: bool,
    /// Recursion available.
    pub recursion_available: bool,
    /// Response code (0–15).
    pub rcode: u8,
}

impl Header {
    fn flags(&self) -> u16 {
        (u16::from(self.response) << 15)
            | (u16::from(self.opcode & 0xf) << 11)
            | (u16::from(self.authoritative) << 10)
            | (u16::from(self.truncated) << 9)
            | (u16::from(self.recursion_desired) << 8)
            | (u16::from(self.recursion_available) << 7)
            | u16::from(self.rcode & 0xf)
    }

    fn from_flags(id: u16, f: u16) -> Self {
        Self {
            id,
            response: f & 0x8000 != 0,
            opcode: ((f >> 11) & 0xf) as u8,
            authoritative: f & 0x0400 != 0,
            truncated: f & 0x0200 != 0,
            recursion_desired: f & 0x0100 != 0,
            recursion_available: f & 0x0080 != 0,
            rcode: (f & 0xf) as u8,
        }
    }
}

/// One question.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Question {
    /// The name, dotted, without the trailing dot.
    pub name: String,
    /// QTYPE.
    pub qtype: u16,
    /// QCLASS.
    pub qclass: u16,
}

/// The data of a resource record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RData {
    /// An IPv4 address.
    A(Ipv4Addr),
    /// An IPv6 address.
    Aaaa(Ipv6Addr),
    /// An alias.
    Cname(String),
    /// Any other type, kept raw.
    Other(Vec<u8>),
}

/// One resource record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Owner name.
    pub name: String,
    /// TYPE (for [`RData::Other`], the type as received).
    pub rtype: u16,
    /// CLASS.
    pub class: u16,
    /// Time to live, seconds.
    pub ttl: u32,
    /// The data.
    pub data: RData,
}

impl Record {
    /// An IN A or AAAA record for `ip`.
    pub fn address(name: &str, ip: std::net::IpAddr, ttl: u32) -> Self {
        let (rtype, data) = match ip {
            std::net::IpAddr::V4(v4) => (TYPE_A, RData::A(v4)),
            std::net::IpAddr::V6(v6) => (TYPE_AAAA, RData::Aaaa(v6)),
        };
        Self {
            name: name.to_owned(),
            rtype,
            class: CLASS_IN,
            ttl,
            data,
        }
    }
}

/// A whole message. Authority and additional records are decoded into `authority` and
/// `additional` (kept raw unless A/AAAA/CNAME).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Message {
    /// Header (its section counts are derived from the vectors on encode).
    pub header: Header,
    /// Questions.
    pub questions: Vec<Question>,
    /// Answer section.
    pub answers: Vec<Record>,
    /// Authority section.
    pub authority: Vec<Record>,
    /// Additional section.
    pub additional: Vec<Record>,
}

/// Why a packet does not decode. Each kind names the pjlib-util status its parser returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The packet ends early or a length runs past it (320041 `PJLIB_UTIL_EDNSINSIZE`).
    Size,
    /// A bad label or compression pointer: forward/looping pointer, reserved label type,
    /// over-long name (320043 `PJLIB_UTIL_EDNSINNAMEPTR`).
    NamePointer,
    /// A record of type A/AAAA/CNAME whose data has the wrong shape (320048
    /// `PJLIB_UTIL_EDNSINANSWER`).
    Answer,
}

impl DecodeError {
    /// The pjlib-util status code.
    pub const fn status(self) -> u32 {
        match self {
            Self::Size => 320_041,
            Self::NamePointer => 320_043,
            Self::Answer => 320_048,
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Size => "invalid DNS packet length",
            Self::NamePointer => "invalid DNS name pointer",
            Self::Answer => "invalid DNS answer",
        })
    }
}

impl std::error::Error for DecodeError {}

/// Why a message does not encode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodeError(pub String);

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot encode name {:?}", self.0)
    }
}

impl std::error::Error for EncodeError {}

impl Message {
    /// A standard query (RD set) for `name` of type `qtype`, class IN.
    pub fn query(id: u16, name: &str, qtype: u16) -> Self {
        Self {
            header: Header {
                id,
                recursion_desired: true,
                ..Header::default()
            },
            questions: vec![Question {
                name: name.to_owned(),
                qtype,
                qclass: CLASS_IN,
            }],
            ..Self::default()
        }
    }

    /// The wire form. Names are written uncompressed.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::with_capacity(64);
        out.extend_from_slice(&self.header.id.to_be_bytes());
        out.extend_from_slice(&self.header.flags().to_be_bytes());
        for n in [
            self.questions.len(),
            self.answers.len(),
            self.authority.len(),
            self.additional.len(),
        ] {
            let n = u16::try_from(n).map_err(|_| EncodeError("section too long".into()))?;
            out.extend_from_slice(&n.to_be_bytes());
        }
        for q in &self.questions {
            write_name(&mut out, &q.name)?;
            out.extend_from_slice(&q.qtype.to_be_bytes());
            out.extend_from_slice(&q.qclass.to_be_bytes());
        }
        for r in self
            .answers
            .iter()
            .chain(&self.authority)
            .chain(&self.additional)
        {
            write_name(&mut out, &r.name)?;
            out.extend_from_slice(&r.rtype.to_be_bytes());
            out.extend_from_slice(&r.class.to_be_bytes());
            out.extend_from_slice(&r.ttl.to_be_bytes());
            let mut data = Vec::new();
            match &r.data {
                RData::A(v4) => data.extend_from_slice(&v4.octets()),
                RData::Aaaa(v6) => data.extend_from_slice(&v6.octets()),
                RData::Cname(n) => write_name(&mut data, n)?,
                RData::Other(raw) => data.extend_from_slice(raw),
            }
            let len = u16::try_from(data.len()).map_err(|_| EncodeError(r.name.clone()))?;
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(&data);
        }
        Ok(out)
    }

    /// Parses a packet. Never panics.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader { buf, pos: 0 };
        let id = r.u16()?;
        let flags = r.u16()?;
        let qd = r.u16()?;
        let an = r.u16()?;
        let ns = r.u16()?;
        let ar = r.u16()?;
        let mut m = Self {
            header: Header::from_flags(id, flags),
            ..Self::default()
        };
        for _ in 0..qd {
            let name = r.name()?;
            let qtype = r.u16()?;
            let qclass = r.u16()?;
            m.questions.push(Question {
                name,
                qtype,
                qclass,
            });
        }
        for (count, section) in [(an, 0), (ns, 1), (ar, 2)] {
            for _ in 0..count {
                let rec = r.record()?;
                match section {
                    0 => m.answers.push(rec),
                    1 => m.authority.push(rec),
                    _ => m.additional.push(rec),
                }
            }
        }
        Ok(m)
    }
}

/// Writes `name` as labels, uncompressed.
fn write_name(out: &mut Vec<u8>, name: &str) -> Result<(), EncodeError> {
    let bad = || EncodeError(name.to_owned());
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    let start = out.len();
    if !trimmed.is_empty() {
        for label in trimmed.split('.') {
            let len = u8::try_from(label.len()).map_err(|_| bad())?;
            if len == 0 || len > 63 {
                return Err(bad());
            }
            out.push(len);
            out.extend_from_slice(label.as_bytes());
        }
    }
    out.push(0);
    if out.len() - start > MAX_NAME {
        return Err(bad());
    }
    Ok(())
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], DecodeError> {
        let end = self.pos.checked_add(n).ok_or(DecodeError::Size)?;
        let s = self.buf.get(self.pos..end).ok_or(DecodeError::Size)?;
        self.pos = end;
        Ok(s)
    }

    fn u16(&mut self) -> Result<u16, DecodeError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, DecodeError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Reads a possibly compressed name at the cursor; the cursor ends after it.
    fn name(&mut self) -> Result<String, DecodeError> {
        let (name, end) = read_name(self.buf, self.pos)?;
        self.pos = end;
        Ok(name)
    }

    fn record(&mut self) -> Result<Record, DecodeError> {
        let name = self.name()?;
        let rtype = self.u16()?;
        let class = self.u16()?;
        let ttl = self.u32()?;
        let len = usize::from(self.u16()?);
        let start = self.pos;
        let raw = self.take(len)?;
        let data = match rtype {
            TYPE_A => RData::A(Ipv4Addr::from(
                <[u8; 4]>::try_from(raw).map_err(|_| DecodeError::Answer)?,
            )),
            TYPE_AAAA => RData::Aaaa(Ipv6Addr::from(
                <[u8; 16]>::try_from(raw).map_err(|_| DecodeError::Answer)?,
            )),
            TYPE_CNAME => {
                let (alias, end) = read_name(self.buf, start)?;
                if end != start + len {
                    return Err(DecodeError::Answer);
                }
                RData::Cname(alias)
            }
            _ => RData::Other(raw.to_vec()),
        };
        Ok(Record {
            name,
            rtype,
            class,
            ttl,
            data,
        })
    }
}

/// Reads the name at `pos`: returns it and the offset just after its in-place encoding.
/// Pointers must point strictly before the label that holds them, so a chain always ends.
fn read_name(buf: &[u8], mut pos: usize) -> Result<(String, usize), DecodeError> {
    let mut name = String::new();
    let mut wire_len = 0usize;
    let mut end = None;
    // The lowest offset reached so far: every pointer must go below it.
    let mut floor = pos;
    loop {
        let len = *buf.get(pos).ok_or(DecodeError::Size)?;
        match len & 0xc0 {
            0x00 => {
                if len == 0 {
                    return Ok((name, end.unwrap_or(pos + 1)));
                }
                let l = usize::from(len);
                let label = buf.get(pos + 1..pos + 1 + l).ok_or(DecodeError::Size)?;
                wire_len += l + 1;
                if wire_len + 1 > MAX_NAME {
                    return Err(DecodeError::NamePointer);
                }
                if !name.is_empty() {
                    name.push('.');
                }
                name.extend(label.iter().map(|&b| char::from(b)));
                pos += l + 1;
            }
            0xc0 => {
                let lo = *buf.get(pos + 1).ok_or(DecodeError::Size)?;
                let target = (usize::from(len & 0x3f) << 8) | usize::from(lo);
                if target >= floor {
                    return Err(DecodeError::NamePointer);
                }
                end.get_or_insert(pos + 2);
                floor = target;
                pos = target;
            }
            _ => return Err(DecodeError::NamePointer),
        }
    }
}

#[cfg(test)]
mod tests;

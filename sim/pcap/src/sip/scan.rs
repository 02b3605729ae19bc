//! The zero-copy SIP scanner: one pass over the start line and the header lines, recording spans of
//! the fields the analyser uses, then Content-Length framing of the body.

use super::Method;
use super::status::StatusCode;
use memchr::memchr;

/// Header lines after which a message is called malformed.
const MAX_HEADERS: u16 = 256;
/// Header bytes after which a stream message without a blank line is called malformed.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;
/// The largest body a stream message may declare.
pub const MAX_BODY: u32 = 1 << 20;

/// A byte range of the message (`start`, `len`), relative to the message's first byte.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Span {
    /// Offset of the first byte.
    pub start: u32,
    /// Length (0 = absent or empty).
    pub len: u32,
}

impl Span {
    /// The span's bytes in `msg` (empty when out of range).
    pub fn get(self, msg: &[u8]) -> &[u8] {
        let s = self.start as usize;
        msg.get(s..s + self.len as usize).unwrap_or_default()
    }

    /// Whether the field was present with a non-empty value.
    pub const fn is_present(self) -> bool {
        self.len > 0
    }

    fn new(start: usize, end: usize) -> Self {
        Self {
            start: u32::try_from(start).unwrap_or(u32::MAX),
            len: u32::try_from(end.saturating_sub(start)).unwrap_or(0),
        }
    }
}

/// The first line of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartLine {
    /// `METHOD uri SIP/2.0`.
    Request {
        /// The method.
        method: Method,
        /// The method as written.
        method_span: Span,
        /// The Request-URI.
        uri: Span,
    },
    /// `SIP/2.0 code reason`.
    Response {
        /// The status code.
        code: StatusCode,
        /// The reason phrase as written (possibly empty).
        reason: Span,
    },
}

impl Default for StartLine {
    fn default() -> Self {
        Self::Response {
            code: StatusCode(0),
            reason: Span::default(),
        }
    }
}

/// Where the fields of one message are. Absent headers have empty spans.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Scanned {
    /// The start line.
    pub start: StartLine,
    /// `Call-ID` / `i`.
    pub call_id: Span,
    /// `From` / `f`.
    pub from: Span,
    /// `To` / `t`.
    pub to: Span,
    /// The first `Via` / `v` header line.
    pub via: Span,
    /// Number of Via values (comma-separated ones counted).
    pub via_count: u16,
    /// CSeq sequence number.
    pub cseq: u32,
    /// CSeq method.
    pub cseq_method: Method,
    /// CSeq method as written.
    pub cseq_method_span: Span,
    /// The first `Contact` / `m`.
    pub contact: Span,
    /// `Content-Type` / `c`.
    pub content_type: Span,
    /// `Content-Length` / `l`.
    pub content_length: Option<u32>,
    /// `Authorization`.
    pub authorization: Span,
    /// `Proxy-Authorization`.
    pub proxy_authorization: Span,
    /// `WWW-Authenticate`.
    pub www_authenticate: Span,
    /// `Proxy-Authenticate`.
    pub proxy_authenticate: Span,
    /// `RSeq` (RFC 3262).
    pub rseq: Option<u32>,
    /// `RAck` (RFC 3262).
    pub rack: Span,
    /// `Expires`.
    pub expires: Option<u32>,
    /// `Warning`.
    pub warning: Span,
    /// `User-Agent`, or `Server` in responses.
    pub user_agent: Span,
    /// `Reason` (RFC 3326).
    pub reason_header: Span,
    /// `Require`.
    pub require: Span,
    /// Number of header lines (continuations not counted).
    pub headers: u16,
    /// The body.
    pub body: Span,
    /// Length of the whole message (headers and body).
    pub len: u32,
    /// Some header was folded over several lines.
    pub folded: bool,
    /// The message was cut short: by the capture (accepted in [`Mode::Truncated`]), or its
    /// datagram ended inside the headers.
    pub truncated: bool,
    /// What the scanner had to be lenient about ([`Defect`] bits; 0 for a clean message).
    pub defects: u16,
}

impl Scanned {
    /// Whether the message has a defect.
    pub const fn has(&self, d: Defect) -> bool {
        self.defects & d.bit() != 0
    }

    fn flag(&mut self, d: Defect) {
        self.defects |= d.bit();
    }
}

/// A defect the scanner tolerated: the message is kept as written and the defect reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Defect {
    /// The datagram ended inside the headers (no blank line), without the capture cutting it.
    NoHeaderEnd,
    /// The Content-Length value is not a number (UDP: the datagram frames the message).
    BadContentLength,
    /// Content-Length disagrees with the bytes the datagram carries.
    ContentLengthMismatch,
    /// A header line without a colon (skipped).
    HeaderWithoutColon,
    /// The CSeq value is not `number method` (kept as written).
    BadCSeq,
    /// The method holds characters a SIP token may not (kept as written).
    GarbledMethod,
    /// The Call-ID was lost (the message was cut short before it): correlated by From tag or
    /// Via branch.
    NoCallId,
}

impl Defect {
    /// Every defect, in a stable order.
    pub const ALL: [Self; 7] = [
        Self::NoHeaderEnd,
        Self::BadContentLength,
        Self::ContentLengthMismatch,
        Self::HeaderWithoutColon,
        Self::BadCSeq,
        Self::GarbledMethod,
        Self::NoCallId,
    ];

    /// A short stable name, as used in reports.
    pub const fn name(self) -> &'static str {
        match self {
            Self::NoHeaderEnd => "no_header_end",
            Self::BadContentLength => "bad_content_length",
            Self::ContentLengthMismatch => "content_length_mismatch",
            Self::HeaderWithoutColon => "header_without_colon",
            Self::BadCSeq => "bad_cseq",
            Self::GarbledMethod => "garbled_method",
            Self::NoCallId => "no_call_id",
        }
    }

    /// The defect's bit in [`Scanned::defects`].
    pub const fn bit(self) -> u16 {
        1 << self as u16
    }
}

/// How the message was transported, which decides framing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// A UDP datagram (or a WebSocket message): the message ends with the datagram.
    Datagram,
    /// A datagram the capture cut short (snap length): lenient about the end.
    Truncated,
    /// A byte stream (TCP): headers up to the blank line, then exactly Content-Length bytes.
    Stream,
}

/// Why a message cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Malformed {
    /// Only whitespace.
    Empty,
    /// The first line is neither a request line nor a status line.
    BadStartLine,
    /// The status code is not three digits from 100 to 699.
    BadStatusCode,
    /// There is no Call-ID header.
    MissingCallId,
    /// The capture cut the message short before its Call-ID, From tag and Via branch: nothing
    /// is left to correlate it by.
    CutShortUncorrelated,
    /// There is no CSeq header.
    MissingCSeq,
    /// The Content-Length value is not a number (TCP: the stream cannot be framed).
    BadContentLength,
    /// More than 256 header lines, or 64 KiB of headers.
    TooManyHeaders,
}

impl Malformed {
    /// A short stable name, as used in reports.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Empty => "empty",
            Self::BadStartLine => "bad_start_line",
            Self::BadStatusCode => "bad_status_code",
            Self::MissingCallId => "missing_call_id",
            Self::CutShortUncorrelated => "cut_short_uncorrelated",
            Self::MissingCSeq => "missing_cseq",
            Self::BadContentLength => "bad_content_length",
            Self::TooManyHeaders => "too_many_headers",
        }
    }

    /// Every reason, in a stable order.
    pub const ALL: [Self; 8] = [
        Self::Empty,
        Self::BadStartLine,
        Self::BadStatusCode,
        Self::MissingCallId,
        Self::CutShortUncorrelated,
        Self::MissingCSeq,
        Self::BadContentLength,
        Self::TooManyHeaders,
    ];
}

/// Why [`scan`] returned no message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScanError {
    /// Stream mode: the message is not complete yet (not an error).
    Incomplete,
    /// The message is malformed.
    Malformed(Malformed),
}

impl From<Malformed> for ScanError {
    fn from(m: Malformed) -> Self {
        Self::Malformed(m)
    }
}

/// Whether a payload starts with a SIP request or status line (content-based detection, any port).
pub fn looks_like_sip(b: &[u8]) -> bool {
    let Some(&first) = b.first() else {
        return false;
    };
    if !first.is_ascii_alphabetic() {
        return false;
    }
    let head = b.get(..b.len().min(2048)).unwrap_or(b);
    let Some(eol) = memchr(b'\n', head) else {
        return false;
    };
    start_line(trim_cr(head.get(..eol).unwrap_or_default()), 0).is_ok()
}

/// Whether a stream position starts a SIP message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartState {
    /// A complete, valid start line.
    Yes,
    /// Not a start line.
    No,
    /// The line is not complete yet and could still become one.
    Maybe,
}

/// Classifies the bytes at a stream position (used to resynchronise after a gap).
pub fn start_state(b: &[u8]) -> StartState {
    match b.first() {
        None => return StartState::Maybe,
        Some(c) if !c.is_ascii_alphabetic() => return StartState::No,
        Some(_) => {}
    }
    let head = b.get(..b.len().min(2048)).unwrap_or(b);
    match memchr(b'\n', head) {
        Some(eol) => {
            let line = trim_cr(head.get(..eol).unwrap_or_default());
            if start_line(line, 0).is_ok() {
                StartState::Yes
            } else {
                StartState::No
            }
        }
        None if b.len() < 2048
            && head
                .iter()
                .all(|c| c.is_ascii_graphic() || *c == b' ' || *c == b'\r') =>
        {
            StartState::Maybe
        }
        None => StartState::No,
    }
}

/// Scans one message at the start of `b`.
///
/// # Errors
/// [`ScanError::Incomplete`] in stream mode when more bytes are needed;
/// [`ScanError::Malformed`] with the reason otherwise.
pub fn scan(b: &[u8], mode: Mode) -> Result<Scanned, ScanError> {
    let mut s = scan_framed(b, mode)?;
    check_mandatory(&mut s, b)?;
    Ok(s)
}

/// A message framed in a stream: usable, or malformed with its length known (so the stream can
/// continue after it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framed {
    /// A usable message.
    Message(Scanned),
    /// A message whose framing is fine but which lacks what the analyser needs.
    Malformed {
        /// Why it cannot be used.
        why: Malformed,
        /// Its length, to skip it.
        len: usize,
    },
}

/// Scans one message at the start of a stream buffer (TCP): like [`scan`] in [`Mode::Stream`], but a
/// message missing Call-ID or CSeq is still framed so the stream can go on.
///
/// # Errors
/// [`ScanError::Incomplete`] when more bytes are needed; [`ScanError::Malformed`] when the message
/// cannot even be framed (the stream must resynchronise on the next start line).
pub fn scan_stream(b: &[u8]) -> Result<Framed, ScanError> {
    let mut s = scan_framed(b, Mode::Stream)?;
    Ok(match check_mandatory(&mut s, b) {
        Ok(()) => Framed::Message(s),
        Err(why) => Framed::Malformed {
            why,
            len: s.len as usize,
        },
    })
}

/// Start line, headers and body framing, without the mandatory-header check.
fn scan_framed(b: &[u8], mode: Mode) -> Result<Scanned, ScanError> {
    let first = b.iter().position(|c| !c.is_ascii_whitespace());
    let Some(lead) = first else {
        return Err(if mode == Mode::Stream {
            ScanError::Incomplete
        } else {
            Malformed::Empty.into()
        });
    };
    if lead > 0 {
        // Leading blank lines (keep-alives before a message) are not part of it.
        return Err(Malformed::BadStartLine.into());
    }
    let mut s = Scanned::default();
    // A datagram without even one complete line is not SIP.
    let eol = line_end(b, 0, mode)?.ok_or(Malformed::BadStartLine)?;
    s.start = start_line(trim_cr(b.get(..eol).unwrap_or_default()), 0)?;
    if let StartLine::Request { method_span, .. } = s.start
        && !method_span.get(b).iter().all(|&c| is_token(c))
    {
        s.flag(Defect::GarbledMethod);
    }
    let body_start = Headers::new(&mut s, b, mode).run(eol + 1)?;
    frame_body(&mut s, b, body_start, mode)?;
    Ok(s)
}

/// A message needs a Call-ID and a CSeq; one cut short keeps whatever survived, as long as a
/// From tag or Via branch is left to correlate it by.
fn check_mandatory(s: &mut Scanned, b: &[u8]) -> Result<(), Malformed> {
    if !s.call_id.is_present() {
        if !s.truncated {
            return Err(Malformed::MissingCallId);
        }
        let m = super::SipMessage {
            bytes: b,
            fields: s,
        };
        if m.from_tag().is_empty() && m.branch().is_empty() {
            return Err(Malformed::CutShortUncorrelated);
        }
        s.flag(Defect::NoCallId);
    }
    if s.cseq_method_span.len == 0 && !s.truncated {
        return Err(Malformed::MissingCSeq);
    }
    Ok(())
}

/// Sets the body span and the total length from Content-Length.
fn frame_body(s: &mut Scanned, b: &[u8], body_start: usize, mode: Mode) -> Result<(), ScanError> {
    let present = b.len().saturating_sub(body_start);
    let body_len = match (s.content_length, mode) {
        (Some(n), Mode::Stream) if n > MAX_BODY => return Err(Malformed::BadContentLength.into()),
        (Some(n), Mode::Stream) if n as usize > present => return Err(ScanError::Incomplete),
        // The datagram frames the message (RFC 3261 §18.3): a longer Content-Length is a defect
        // of the sender, the body is what arrived.
        (Some(n), Mode::Datagram) if n as usize > present => {
            if !s.truncated {
                s.flag(Defect::ContentLengthMismatch);
            }
            present
        }
        (Some(n), Mode::Truncated) if n as usize > present => {
            s.truncated = true;
            present
        }
        (Some(n), Mode::Datagram) => {
            // Bytes beyond Content-Length are discarded; more than line ends is a mismatch.
            let extra = b.get(body_start + n as usize..).unwrap_or_default();
            if !extra.iter().all(u8::is_ascii_whitespace) {
                s.flag(Defect::ContentLengthMismatch);
            }
            n as usize
        }
        (Some(n), _) => n as usize,
        (None, Mode::Stream) => 0,
        (None, _) => present,
    };
    s.body = Span::new(body_start, body_start + body_len);
    s.len = u32::try_from(body_start + body_len).unwrap_or(u32::MAX);
    Ok(())
}

/// The index of the `\n` ending the line that starts at `from` (`None`: a datagram ends
/// without one).
fn line_end(b: &[u8], from: usize, mode: Mode) -> Result<Option<usize>, ScanError> {
    let rest = b.get(from..).unwrap_or_default();
    match memchr(b'\n', rest) {
        Some(i) => Ok(Some(from + i)),
        None if mode == Mode::Stream && b.len() < MAX_HEADER_BYTES => Err(ScanError::Incomplete),
        None if mode == Mode::Stream => Err(Malformed::TooManyHeaders.into()),
        None => Ok(None),
    }
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Parses a start line (without its line end); `base` is its offset in the message.
fn start_line(line: &[u8], base: usize) -> Result<StartLine, Malformed> {
    if let Some(rest) = strip_prefix_ci(line, b"SIP/2.0 ") {
        return status_line(rest, base + 8);
    }
    let sp1 = memchr(b' ', line).ok_or(Malformed::BadStartLine)?;
    let method = line.get(..sp1).unwrap_or_default();
    let rest = line.get(sp1 + 1..).unwrap_or_default();
    let sp2 = memchr::memrchr(b' ', rest).ok_or(Malformed::BadStartLine)?;
    let uri = rest.get(..sp2).unwrap_or_default();
    let version = rest.get(sp2 + 1..).unwrap_or_default();
    // A method with characters a token may not have is kept as written (flagged by the caller).
    let ok = !method.is_empty()
        && method.iter().all(|&c| c > b' ' && c != 0x7f)
        && !uri.is_empty()
        && !uri.contains(&b' ')
        && version.eq_ignore_ascii_case(b"SIP/2.0");
    if !ok {
        return Err(Malformed::BadStartLine);
    }
    Ok(StartLine::Request {
        method: Method::from_token(method),
        method_span: Span::new(base, base + sp1),
        uri: Span::new(base + sp1 + 1, base + sp1 + 1 + sp2),
    })
}

fn status_line(rest: &[u8], base: usize) -> Result<StartLine, Malformed> {
    let digits = rest.get(..3).ok_or(Malformed::BadStatusCode)?;
    if !digits.iter().all(u8::is_ascii_digit) {
        return Err(Malformed::BadStatusCode);
    }
    let code = digits
        .iter()
        .fold(0u16, |acc, d| acc * 10 + u16::from(d - b'0'));
    if !(100..=699).contains(&code) {
        return Err(Malformed::BadStatusCode);
    }
    let after = rest.get(3..).unwrap_or_default();
    if after.first().is_some_and(|&c| c != b' ' && c != b'\t') {
        return Err(Malformed::BadStatusCode);
    }
    let reason_off = after.iter().position(|&c| c != b' ' && c != b'\t');
    let reason = reason_off.map_or(Span::default(), |o| {
        Span::new(base + 3 + o, base + 3 + after.len())
    });
    Ok(StartLine::Response {
        code: StatusCode(code),
        reason,
    })
}

fn is_token(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&c)
}

fn strip_prefix_ci<'a>(b: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    let head = b.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| b.get(prefix.len()..).unwrap_or_default())
}

/// A decimal number (at most 10 digits, fits u32), surrounding whitespace allowed.
pub(crate) fn number(v: &[u8]) -> Option<u32> {
    let t = trim(v);
    if t.is_empty() || t.len() > 10 || !t.iter().all(u8::is_ascii_digit) {
        return None;
    }
    t.iter().try_fold(0u32, |acc, d| {
        acc.checked_mul(10)?.checked_add(u32::from(d - b'0'))
    })
}

pub(crate) fn trim(b: &[u8]) -> &[u8] {
    b.trim_ascii()
}

mod headers;

use headers::Headers;

#[cfg(test)]
mod tests;

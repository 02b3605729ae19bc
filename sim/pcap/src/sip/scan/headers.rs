//! The header-line loop of the scanner: header names (full and compact forms) to the fields
//! the analyser records, folding, and the values that are parsed on the spot (CSeq,
//! Content-Length, RSeq, Expires).

use super::{
    Defect, MAX_HEADER_BYTES, MAX_HEADERS, Malformed, Mode, ScanError, Scanned, Span, is_token,
    line_end, number, trim, trim_cr,
};
use crate::sip::Method;

/// The header fields the scanner records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    CallId,
    From,
    To,
    Via,
    CSeq,
    Contact,
    ContentType,
    ContentLength,
    Authorization,
    ProxyAuthorization,
    WwwAuthenticate,
    ProxyAuthenticate,
    RSeq,
    RAck,
    Expires,
    Warning,
    UserAgent,
    Reason,
    Require,
    Ignored,
}

/// Maps a header name (full or compact form, any case) to the field it fills.
fn field(name: &[u8]) -> Field {
    if let [c] = name {
        return compact(c.to_ascii_lowercase());
    }
    let eq = |s: &[u8]| name.eq_ignore_ascii_case(s);
    match name.len() {
        2 if eq(b"To") => Field::To,
        3 if eq(b"Via") => Field::Via,
        4 if eq(b"From") => Field::From,
        4 if eq(b"CSeq") => Field::CSeq,
        4 if eq(b"RSeq") => Field::RSeq,
        4 if eq(b"RAck") => Field::RAck,
        6 if eq(b"Reason") => Field::Reason,
        6 if eq(b"Server") => Field::UserAgent,
        7 if eq(b"Call-ID") => Field::CallId,
        7 if eq(b"Contact") => Field::Contact,
        7 if eq(b"Expires") => Field::Expires,
        7 if eq(b"Warning") => Field::Warning,
        7 if eq(b"Require") => Field::Require,
        10 if eq(b"User-Agent") => Field::UserAgent,
        12 if eq(b"Content-Type") => Field::ContentType,
        13 if eq(b"Authorization") => Field::Authorization,
        14 if eq(b"Content-Length") => Field::ContentLength,
        16 if eq(b"WWW-Authenticate") => Field::WwwAuthenticate,
        18 if eq(b"Proxy-Authenticate") => Field::ProxyAuthenticate,
        19 if eq(b"Proxy-Authorization") => Field::ProxyAuthorization,
        _ => Field::Ignored,
    }
}

/// RFC 3261 §7.3.3 compact forms (and the later ones that matter here).
const fn compact(c: u8) -> Field {
    match c {
        b'i' => Field::CallId,
        b'f' => Field::From,
        b't' => Field::To,
        b'v' => Field::Via,
        b'm' => Field::Contact,
        b'c' => Field::ContentType,
        b'l' => Field::ContentLength,
        _ => Field::Ignored,
    }
}

/// The header-line loop.
pub(super) struct Headers<'s, 'b> {
    s: &'s mut Scanned,
    b: &'b [u8],
    mode: Mode,
    current: Option<(Field, usize, usize)>,
}

impl<'s, 'b> Headers<'s, 'b> {
    pub(super) fn new(s: &'s mut Scanned, b: &'b [u8], mode: Mode) -> Self {
        Self {
            s,
            b,
            mode,
            current: None,
        }
    }

    /// Reads header lines from `pos`; returns the offset of the body.
    pub(super) fn run(mut self, mut pos: usize) -> Result<usize, ScanError> {
        loop {
            if pos >= self.b.len() {
                return self.no_blank_line(pos);
            }
            let Some(eol) = line_end(self.b, pos, self.mode)? else {
                return self.no_blank_line(pos);
            };
            let line = trim_cr(self.b.get(pos..eol).unwrap_or_default());
            if line.is_empty() {
                self.finish_current()?;
                return Ok(eol + 1);
            }
            if line.first().is_some_and(|&c| c == b' ' || c == b'\t') {
                self.continuation(pos + line.len());
            } else {
                self.finish_current()?;
                self.header_line(line, pos)?;
            }
            pos = eol + 1;
        }
    }

    /// The data ended before the blank line.
    fn no_blank_line(&mut self, pos: usize) -> Result<usize, ScanError> {
        match self.mode {
            Mode::Stream if self.b.len() < MAX_HEADER_BYTES => Err(ScanError::Incomplete),
            Mode::Stream => Err(Malformed::TooManyHeaders.into()),
            Mode::Truncated => {
                // The line the capture cut is not used: its value may be cut too.
                self.s.truncated = true;
                self.finish_current()?;
                Ok(pos.min(self.b.len()))
            }
            Mode::Datagram => {
                // The sender's datagram ends inside the headers: its last line is as written.
                self.s.truncated = true;
                self.s.flag(Defect::NoHeaderEnd);
                let line = trim_cr(self.b.get(pos..).unwrap_or_default());
                if !line.is_empty() {
                    if line.first().is_some_and(|&c| c == b' ' || c == b'\t') {
                        self.continuation(pos + line.len());
                    } else {
                        self.finish_current()?;
                        self.header_line(line, pos)?;
                    }
                }
                self.finish_current()?;
                Ok(self.b.len())
            }
        }
    }

    fn continuation(&mut self, end: usize) {
        if let Some((_, _, e)) = &mut self.current {
            *e = end;
            self.s.folded = true;
        }
    }

    fn header_line(&mut self, line: &[u8], pos: usize) -> Result<(), ScanError> {
        self.s.headers += 1;
        if self.s.headers > MAX_HEADERS {
            return Err(Malformed::TooManyHeaders.into());
        }
        // Header names are short: a plain loop beats a vectorised search here.
        let Some(colon) = line.iter().position(|&c| c == b':') else {
            // Skipped, and the message kept.
            self.s.flag(Defect::HeaderWithoutColon);
            return Ok(());
        };
        let name = trim(line.get(..colon).unwrap_or_default());
        let f = field(name);
        if f != Field::Ignored {
            self.current = Some((f, pos + colon + 1, pos + line.len()));
        }
        Ok(())
    }

    fn finish_current(&mut self) -> Result<(), Malformed> {
        let Some((f, start, end)) = self.current.take() else {
            return Ok(());
        };
        let raw = self.b.get(start..end).unwrap_or_default();
        let lead = raw.iter().take_while(|c| c.is_ascii_whitespace()).count();
        let trail = raw
            .iter()
            .rev()
            .take_while(|c| c.is_ascii_whitespace())
            .count();
        let span = Span::new(start + lead, end.saturating_sub(trail).max(start + lead));
        self.assign(f, span)
    }

    fn assign(&mut self, f: Field, span: Span) -> Result<(), Malformed> {
        let v = span.get(self.b);
        let s = &mut *self.s;
        let first = |slot: &mut Span| {
            if !slot.is_present() {
                *slot = span;
            }
        };
        match f {
            Field::CallId => first(&mut s.call_id),
            Field::From => first(&mut s.from),
            Field::To => first(&mut s.to),
            Field::Via => {
                first(&mut s.via);
                let n = 1 + memchr::memchr_iter(b',', v).count();
                s.via_count = s
                    .via_count
                    .saturating_add(u16::try_from(n).unwrap_or(u16::MAX));
            }
            Field::CSeq => cseq(s, v, span),
            Field::Contact => first(&mut s.contact),
            Field::ContentType => first(&mut s.content_type),
            Field::ContentLength => match number(v) {
                Some(n) => s.content_length = Some(n),
                // A stream cannot be framed without it; a datagram frames itself.
                None if self.mode == Mode::Stream => return Err(Malformed::BadContentLength),
                None => s.flag(Defect::BadContentLength),
            },
            Field::Authorization => first(&mut s.authorization),
            Field::ProxyAuthorization => first(&mut s.proxy_authorization),
            Field::WwwAuthenticate => first(&mut s.www_authenticate),
            Field::ProxyAuthenticate => first(&mut s.proxy_authenticate),
            Field::RSeq => s.rseq = number(v),
            Field::RAck => first(&mut s.rack),
            Field::Expires => s.expires = number(v),
            Field::Warning => first(&mut s.warning),
            Field::UserAgent => first(&mut s.user_agent),
            Field::Reason => first(&mut s.reason_header),
            Field::Require => first(&mut s.require),
            Field::Ignored => {}
        }
        Ok(())
    }
}

/// `CSeq: 314159 INVITE`. A garbled value is kept as written: its last word (or the whole
/// value) as the method, number 0 unless it starts with digits.
fn cseq(s: &mut Scanned, v: &[u8], span: Span) {
    let digits = v.iter().take_while(|c| c.is_ascii_digit()).count();
    let num = number(v.get(..digits).unwrap_or_default());
    let rest = v.get(digits..).unwrap_or_default();
    let ws = rest.iter().take_while(|c| c.is_ascii_whitespace()).count();
    let method = rest.get(ws..).unwrap_or_default();
    let start = span.start as usize;
    if let Some(num) = num
        && ws > 0
        && !method.is_empty()
        && method.iter().all(|&c| is_token(c))
    {
        s.cseq = num;
        s.cseq_method = Method::from_token(method);
        let m_start = start + digits + ws;
        s.cseq_method_span = Span::new(m_start, m_start + method.len());
        return;
    }
    s.flag(Defect::BadCSeq);
    s.cseq = num.unwrap_or(0);
    let word = v
        .iter()
        .rposition(u8::is_ascii_whitespace)
        .map_or(0, |i| i + 1);
    let last = v.get(word..).unwrap_or_default();
    let (m_start, m_end) = if !last.is_empty() && last.iter().all(|&c| is_token(c)) {
        (start + word, start + v.len())
    } else {
        (start, start + v.len())
    };
    s.cseq_method = Method::from_token(span_bytes(v, m_start - start, m_end - start));
    s.cseq_method_span = Span::new(m_start, m_end);
}

fn span_bytes(v: &[u8], from: usize, to: usize) -> &[u8] {
    v.get(from..to).unwrap_or_default()
}

//! SIP messages: parsing (datagram and TCP stream framing), typed accessors, building and
//! serialization.
//!
//! Parsing is two-step and never panics: [`parse_datagram`] and [`StreamFramer`] find the
//! message boundaries (Content-Length framing, RFC 5626 CRLF keep-alives), then
//! [`SipMessage::parse`] splits the start line and the header lines (folding, compact forms,
//! lossy UTF-8). Typed views ([`Via`], [`NameAddr`], [`SipUri`], [`CSeq`], [`RAck`]) are parsed on
//! demand and return `None` for a malformed value.

use bytes::Bytes;
use std::fmt;
use std::net::IpAddr;

/// Largest message (headers and body) accepted.
pub const MAX_MESSAGE_LEN: usize = 65_535;

/// A SIP method. Extension methods survive as [`Method::Other`].
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Method {
    /// INVITE.
    Invite,
    /// ACK.
    Ack,
    /// BYE.
    Bye,
    /// CANCEL.
    Cancel,
    /// REGISTER.
    Register,
    /// OPTIONS.
    Options,
    /// MESSAGE (RFC 3428).
    Message,
    /// INFO (RFC 6086).
    Info,
    /// REFER (RFC 3515).
    Refer,
    /// NOTIFY (RFC 6665).
    Notify,
    /// SUBSCRIBE (RFC 6665).
    Subscribe,
    /// PRACK (RFC 3262).
    Prack,
    /// UPDATE (RFC 3311).
    Update,
    /// Any other token, upper-cased.
    Other(String),
}

impl Method {
    /// The method named by `token` (case-insensitive).
    pub fn parse(token: &str) -> Option<Self> {
        if token.is_empty() || !token.bytes().all(is_token_byte) {
            return None;
        }
        let up = token.to_ascii_uppercase();
        Some(match up.as_str() {
            "INVITE" => Self::Invite,
            "ACK" => Self::Ack,
            "BYE" => Self::Bye,
            "CANCEL" => Self::Cancel,
            "REGISTER" => Self::Register,
            "OPTIONS" => Self::Options,
            "MESSAGE" => Self::Message,
            "INFO" => Self::Info,
            "REFER" => Self::Refer,
            "NOTIFY" => Self::Notify,
            "SUBSCRIBE" => Self::Subscribe,
            "PRACK" => Self::Prack,
            "UPDATE" => Self::Update,
            _ => Self::Other(up),
        })
    }

    /// The method's wire form.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Invite => "INVITE",
            Self::Ack => "ACK",
            Self::Bye => "BYE",
            Self::Cancel => "CANCEL",
            Self::Register => "REGISTER",
            Self::Options => "OPTIONS",
            Self::Message => "MESSAGE",
            Self::Info => "INFO",
            Self::Refer => "REFER",
            Self::Notify => "NOTIFY",
            Self::Subscribe => "SUBSCRIBE",
            Self::Prack => "PRACK",
            Self::Update => "UPDATE",
            Self::Other(s) => s,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

const fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
        )
}

/// Why bytes are not a SIP message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// No blank line ends the headers.
    NoHeaderEnd,
    /// The start line is neither a request line nor a status line.
    BadStartLine,
    /// A header line has no colon or an empty name.
    BadHeader(String),
    /// Content-Length is not a number.
    BadContentLength,
    /// Content-Length says more bytes than present (datagram).
    TruncatedBody,
    /// A stream message has no Content-Length (RFC 3261 §18.3).
    MissingContentLength,
    /// Larger than [`MAX_MESSAGE_LEN`].
    TooLong,
    /// Empty input.
    Empty,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoHeaderEnd => f.write_str("no blank line after the headers"),
            Self::BadStartLine => f.write_str("bad start line"),
            Self::BadHeader(l) => write!(f, "bad header line {l:?}"),
            Self::BadContentLength => f.write_str("bad Content-Length"),
            Self::TruncatedBody => f.write_str("Content-Length exceeds the bytes present"),
            Self::MissingContentLength => f.write_str("no Content-Length on a stream"),
            Self::TooLong => f.write_str("message too long"),
            Self::Empty => f.write_str("empty message"),
        }
    }
}

impl std::error::Error for ParseError {}

/// The first line of a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StartLine {
    /// `METHOD uri SIP/2.0`.
    Request {
        /// Method.
        method: Method,
        /// Request-URI as written.
        uri: String,
    },
    /// `SIP/2.0 code reason`.
    Response {
        /// Status code (100–699).
        status: u16,
        /// Reason phrase as written (may be empty).
        reason: String,
    },
}

/// One header line (after unfolding), with its name in canonical form for compact names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// Name (compact forms expanded: `v` → `Via`).
    pub name: String,
    /// Value, trimmed.
    pub value: String,
}

/// A SIP request or response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SipMessage {
    /// Request or status line.
    pub start: StartLine,
    /// Headers in order, Content-Length excluded (it is recomputed on serialization).
    pub headers: Vec<Header>,
    /// The body.
    pub body: Bytes,
}

/// What a datagram or a stream carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// A SIP message.
    Message(SipMessage),
    /// RFC 5626 keep-alive ping (CRLF CRLF); answer with [`PONG`].
    Ping,
    /// RFC 5626 keep-alive pong (CRLF).
    Pong,
}

/// RFC 5626 keep-alive ping.
pub const PING: &[u8] = b"\r\n\r\n";
/// RFC 5626 keep-alive pong.
pub const PONG: &[u8] = b"\r\n";

/// Parses one UDP datagram: a keep-alive or one message. Without Content-Length the body is
/// the rest of the datagram; a shorter Content-Length cuts the body (RFC 3261 §18.3).
///
/// # Errors
/// When the bytes are not a SIP message.
pub fn parse_datagram(bytes: &[u8]) -> Result<Frame, ParseError> {
    if bytes == PING {
        return Ok(Frame::Ping);
    }
    if bytes == PONG {
        return Ok(Frame::Pong);
    }
    if bytes.len() > MAX_MESSAGE_LEN {
        return Err(ParseError::TooLong);
    }
    let head_end = find_header_end(bytes).ok_or(ParseError::NoHeaderEnd)?;
    let mut msg = SipMessage::parse_head(&bytes[..head_end.0])?;
    let rest = &bytes[head_end.1..];
    let body = match content_length(&msg)? {
        Some(n) if n > rest.len() => return Err(ParseError::TruncatedBody),
        Some(n) => &rest[..n],
        None => rest,
    };
    msg.body = Bytes::copy_from_slice(body);
    msg.remove_header("Content-Length");
    Ok(Frame::Message(msg))
}

/// `(end of headers, start of body)` offsets: the first blank line (CRLF CRLF, or LF LF).
fn find_header_end(bytes: &[u8]) -> Option<(usize, usize)> {
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\n' {
            if bytes.get(i + 1) == Some(&b'\n') {
                return Some((i, i + 2));
            }
            if bytes.get(i + 1) == Some(&b'\r') && bytes.get(i + 2) == Some(&b'\n') {
                return Some((i, i + 3));
            }
        }
        i += 1;
    }
    None
}

fn content_length(msg: &SipMessage) -> Result<Option<usize>, ParseError> {
    match msg.raw_header("Content-Length") {
        None => Ok(None),
        Some(v) => v
            .trim()
            .parse::<usize>()
            .map(Some)
            .map_err(|_| ParseError::BadContentLength),
    }
}

/// Content-Length framing of a TCP byte stream: feed reads with [`StreamFramer::push`], take
/// frames with [`StreamFramer::next_frame`]. Several messages per read and messages split
/// across reads both work; CRLF keep-alives between messages come out as [`Frame::Ping`] /
/// [`Frame::Pong`].
#[derive(Clone, Debug, Default)]
pub struct StreamFramer {
    buf: Vec<u8>,
}

impl StreamFramer {
    /// An empty framer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends received bytes.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Bytes waiting for the rest of a message.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next complete frame, `None` if more bytes are needed. After an error the buffer is
    /// discarded (the stream cannot be resynchronised).
    pub fn next_frame(&mut self) -> Option<Result<Frame, ParseError>> {
        if self.buf.starts_with(PING) {
            self.buf.drain(..4);
            return Some(Ok(Frame::Ping));
        }
        if self.buf.starts_with(PONG) {
            // A lone CRLF (or CRLF followed by the start of a message) is a pong; a CRLF
            // followed by a lone CR may still become a ping.
            if self.buf.len() == 3 && self.buf[2] == b'\r' {
                return None;
            }
            self.buf.drain(..2);
            return Some(Ok(Frame::Pong));
        }
        if self.buf.is_empty() {
            return None;
        }
        let Some((head_end, body_start)) = find_header_end(&self.buf) else {
            if self.buf.len() > MAX_MESSAGE_LEN {
                self.buf.clear();
                return Some(Err(ParseError::TooLong));
            }
            return None;
        };
        let result = SipMessage::parse_head(&self.buf[..head_end]).and_then(|m| {
            content_length(&m)?
                .map(|n| (m, n))
                .ok_or(ParseError::MissingContentLength)
        });
        let (mut msg, n) = match result {
            Ok(x) => x,
            Err(e) => {
                self.buf.clear();
                return Some(Err(e));
            }
        };
        if body_start + n > MAX_MESSAGE_LEN {
            self.buf.clear();
            return Some(Err(ParseError::TooLong));
        }
        if self.buf.len() < body_start + n {
            return None;
        }
        msg.body = Bytes::copy_from_slice(&self.buf[body_start..body_start + n]);
        msg.remove_header("Content-Length");
        self.buf.drain(..body_start + n);
        Some(Ok(Frame::Message(msg)))
    }
}

fn expand_compact(name: &str) -> &str {
    match name {
        "v" | "V" => "Via",
        "i" | "I" => "Call-ID",
        "f" | "F" => "From",
        "t" | "T" => "To",
        "m" | "M" => "Contact",
        "l" | "L" => "Content-Length",
        "c" | "C" => "Content-Type",
        "k" | "K" => "Supported",
        "e" | "E" => "Content-Encoding",
        "s" | "S" => "Subject",
        "r" | "R" => "Refer-To",
        "o" | "O" => "Event",
        "x" | "X" => "Session-Expires",
        "b" | "B" => "Referred-By",
        _ => name,
    }
}

/// Headers whose values are comma-separated lists (RFC 3261 §7.3.1).
fn is_list_header(name: &str) -> bool {
    [
        "Via",
        "Route",
        "Record-Route",
        "Contact",
        "Allow",
        "Supported",
        "Require",
    ]
    .iter()
    .any(|h| h.eq_ignore_ascii_case(name))
}

/// Splits a header value at commas outside quotes and angle brackets.
pub fn split_list(value: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut quoted, mut angle, mut start) = (false, false, 0);
    let bytes = value.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if quoted => i += 1,
            b'"' => quoted = !quoted,
            b'<' if !quoted => angle = true,
            b'>' if !quoted => angle = false,
            b',' if !quoted && !angle => {
                out.push(value[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    let last = value.get(start..).unwrap_or("").trim();
    if !last.is_empty() || out.is_empty() {
        out.push(last);
    }
    out.retain(|s| !s.is_empty());
    out
}

impl SipMessage {
    /// Parses a whole message (headers, blank line, body to the end or to Content-Length).
    ///
    /// # Errors
    /// When the bytes are not a SIP message.
    pub fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
        match parse_datagram(bytes)? {
            Frame::Message(m) => Ok(m),
            Frame::Ping | Frame::Pong => Err(ParseError::Empty),
        }
    }

    /// A lenient reading of bytes that failed [`parse_datagram`]: header lines that do not
    /// parse are skipped, the body is dropped. Enough to answer a broken request with 400.
    pub fn salvage(bytes: &[u8]) -> Option<Self> {
        let head = &bytes[..bytes.len().min(MAX_MESSAGE_LEN)];
        let head = find_header_end(head).map_or(head, |(end, _)| &head[..end]);
        let text = String::from_utf8_lossy(head);
        let mut lines = text
            .split('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
            .skip_while(|l| l.is_empty());
        let start = parse_start_line(lines.next()?).ok()?;
        let headers = lines
            .filter_map(|l| {
                let (n, v) = l.split_once(':')?;
                let n = n.trim();
                (!n.is_empty() && n.bytes().all(is_token_byte)).then(|| Header {
                    name: expand_compact(n).to_string(),
                    value: v.trim().to_string(),
                })
            })
            .filter(|h| !h.name.eq_ignore_ascii_case("Content-Length"))
            .collect();
        Some(Self {
            start,
            headers,
            body: Bytes::new(),
        })
    }

    fn parse_head(head: &[u8]) -> Result<Self, ParseError> {
        let text = String::from_utf8_lossy(head);
        let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
        // Leading empty lines before a message are tolerated (RFC 3261 §7.5).
        let first = loop {
            match lines.next() {
                Some("") => continue,
                Some(l) => break l,
                None => return Err(ParseError::Empty),
            }
        };
        let start = parse_start_line(first)?;
        let mut headers: Vec<Header> = Vec::new();
        for line in lines {
            if line.starts_with([' ', '\t']) {
                match headers.last_mut() {
                    Some(h) => {
                        h.value.push(' ');
                        h.value.push_str(line.trim());
                    }
                    None => return Err(ParseError::BadHeader(truncate(line))),
                }
                continue;
            }
            if line.is_empty() {
                continue;
            }
            let (name, value) = line
                .split_once(':')
                .ok_or_else(|| ParseError::BadHeader(truncate(line)))?;
            let name = name.trim();
            if name.is_empty() || !name.bytes().all(is_token_byte) {
                return Err(ParseError::BadHeader(truncate(line)));
            }
            headers.push(Header {
                name: expand_compact(name).to_string(),
                value: value.trim().to_string(),
            });
        }
        Ok(Self {
            start,
            headers,
            body: Bytes::new(),
        })
    }

    /// A request with no headers.
    pub fn request(method: Method, uri: impl Into<String>) -> Self {
        Self {
            start: StartLine::Request {
                method,
                uri: uri.into(),
            },
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    /// A response to `req` (RFC 3261 §8.2.6.2): copies every Via, From, To, Call-ID and CSeq;
    /// adds `to_tag` to To when To has no tag yet (never on 100 Trying).
    pub fn response_to(req: &Self, status: u16, reason: &str, to_tag: Option<&str>) -> Self {
        let mut resp = Self {
            start: StartLine::Response {
                status,
                reason: reason.to_string(),
            },
            headers: Vec::new(),
            body: Bytes::new(),
        };
        for h in &req.headers {
            let keep = ["Via", "From", "Call-ID", "CSeq"]
                .iter()
                .any(|n| n.eq_ignore_ascii_case(&h.name));
            if keep {
                resp.headers.push(h.clone());
            } else if h.name.eq_ignore_ascii_case("To") {
                let mut value = h.value.clone();
                if let Some(tag) = to_tag
                    && status > 100
                    && NameAddr::parse(&value).is_some_and(|n| n.param("tag").is_none())
                {
                    value.push_str(";tag=");
                    value.push_str(tag);
                }
                resp.headers.push(Header {
                    name: h.name.clone(),
                    value,
                });
            }
        }
        resp
    }

    /// Adds a header at the end.
    #[must_use]
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.push_header(name, value);
        self
    }

    /// Adds a header at the end.
    pub fn push_header(&mut self, name: &str, value: impl Into<String>) {
        if name.eq_ignore_ascii_case("Content-Length") {
            return;
        }
        self.headers.push(Header {
            name: name.to_string(),
            value: value.into(),
        });
    }

    /// Adds a header before all others of the same name (a new top Via or Record-Route).
    pub fn prepend_header(&mut self, name: &str, value: impl Into<String>) {
        let at = self
            .headers
            .iter()
            .position(|h| h.name.eq_ignore_ascii_case(name))
            .unwrap_or(0);
        self.headers.insert(
            at,
            Header {
                name: name.to_string(),
                value: value.into(),
            },
        );
    }

    /// Replaces every header called `name` with one value.
    pub fn set_header(&mut self, name: &str, value: impl Into<String>) {
        let at = self
            .headers
            .iter()
            .position(|h| h.name.eq_ignore_ascii_case(name));
        self.remove_header(name);
        let h = Header {
            name: name.to_string(),
            value: value.into(),
        };
        match at {
            Some(i) if i <= self.headers.len() => self.headers.insert(i, h),
            _ => self.headers.push(h),
        }
    }

    /// Removes every header called `name`.
    pub fn remove_header(&mut self, name: &str) {
        self.headers.retain(|h| !h.name.eq_ignore_ascii_case(name));
    }

    /// Removes the first element of a list header (the top Via, the first Route).
    pub fn pop_first(&mut self, name: &str) -> Option<String> {
        let i = self
            .headers
            .iter()
            .position(|h| h.name.eq_ignore_ascii_case(name))?;
        let items = split_list(&self.headers[i].value);
        let first = items.first().map(|s| (*s).to_string());
        let rest: Vec<&str> = items.iter().skip(1).copied().collect();
        if rest.is_empty() {
            self.headers.remove(i);
        } else {
            self.headers[i].value = rest.join(", ");
        }
        first
    }

    /// Sets the body and its Content-Type.
    #[must_use]
    pub fn with_body(mut self, content_type: &str, body: impl Into<Bytes>) -> Self {
        self.set_header("Content-Type", content_type);
        self.body = body.into();
        self
    }

    /// The wire form; Content-Length is always written, last.
    pub fn to_bytes(&self) -> Bytes {
        let mut out = String::with_capacity(512);
        match &self.start {
            StartLine::Request { method, uri } => {
                out.push_str(method.as_str());
                out.push(' ');
                out.push_str(uri);
                out.push_str(" SIP/2.0\r\n");
            }
            StartLine::Response { status, reason } => {
                out.push_str("SIP/2.0 ");
                out.push_str(&status.to_string());
                out.push(' ');
                out.push_str(reason);
                out.push_str("\r\n");
            }
        }
        for h in &self.headers {
            if h.name.eq_ignore_ascii_case("Content-Length") {
                continue;
            }
            out.push_str(&h.name);
            out.push_str(": ");
            out.push_str(&h.value);
            out.push_str("\r\n");
        }
        out.push_str("Content-Length: ");
        out.push_str(&self.body.len().to_string());
        out.push_str("\r\n\r\n");
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&self.body);
        Bytes::from(bytes)
    }

    /// Whether this is a request.
    pub const fn is_request(&self) -> bool {
        matches!(self.start, StartLine::Request { .. })
    }

    /// The method of a request.
    pub const fn method(&self) -> Option<&Method> {
        match &self.start {
            StartLine::Request { method, .. } => Some(method),
            StartLine::Response { .. } => None,
        }
    }

    /// The Request-URI of a request.
    pub fn request_uri(&self) -> Option<&str> {
        match &self.start {
            StartLine::Request { uri, .. } => Some(uri),
            StartLine::Response { .. } => None,
        }
    }

    /// Replaces the Request-URI of a request.
    pub fn set_request_uri(&mut self, new: impl Into<String>) {
        if let StartLine::Request { uri, .. } = &mut self.start {
            *uri = new.into();
        }
    }

    /// The status code of a response.
    pub const fn status(&self) -> Option<u16> {
        match &self.start {
            StartLine::Response { status, .. } => Some(*status),
            StartLine::Request { .. } => None,
        }
    }

    /// The reason phrase of a response.
    pub fn reason(&self) -> Option<&str> {
        match &self.start {
            StartLine::Response { reason, .. } => Some(reason),
            StartLine::Request { .. } => None,
        }
    }

    /// The method this message is about: a request's method, a response's CSeq method.
    pub fn cseq_method(&self) -> Option<Method> {
        self.cseq().map(|c| c.method)
    }

    /// The raw value of the first header called `name` (case-insensitive, compact forms
    /// expanded at parse time).
    pub fn raw_header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }

    /// Alias of [`SipMessage::raw_header`].
    pub fn header(&self, name: &str) -> Option<&str> {
        self.raw_header(name)
    }

    /// Every value of `name`, list headers split at their commas.
    pub fn header_values(&self, name: &str) -> Vec<&str> {
        let list = is_list_header(name);
        let mut out = Vec::new();
        for h in self
            .headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case(name))
        {
            if list {
                out.extend(split_list(&h.value));
            } else {
                out.push(h.value.as_str());
            }
        }
        out
    }

    /// Call-ID.
    pub fn call_id(&self) -> Option<&str> {
        self.raw_header("Call-ID").filter(|v| !v.is_empty())
    }

    /// CSeq.
    pub fn cseq(&self) -> Option<CSeq> {
        CSeq::parse(self.raw_header("CSeq")?)
    }

    /// From.
    pub fn from_addr(&self) -> Option<NameAddr> {
        NameAddr::parse(self.raw_header("From")?)
    }

    /// To.
    pub fn to_addr(&self) -> Option<NameAddr> {
        NameAddr::parse(self.raw_header("To")?)
    }

    /// The From tag.
    pub fn from_tag(&self) -> Option<String> {
        self.from_addr()?.param("tag").map(str::to_string)
    }

    /// The To tag.
    pub fn to_tag(&self) -> Option<String> {
        self.to_addr()?.param("tag").map(str::to_string)
    }

    /// The top Via.
    pub fn top_via(&self) -> Option<Via> {
        Via::parse(self.header_values("Via").first()?)
    }

    /// Every Via, top first.
    pub fn vias(&self) -> Vec<Via> {
        self.header_values("Via")
            .iter()
            .filter_map(|v| Via::parse(v))
            .collect()
    }

    /// Every Contact (a `*` Contact comes out with uri `*`).
    pub fn contacts(&self) -> Vec<NameAddr> {
        self.header_values("Contact")
            .iter()
            .filter_map(|v| NameAddr::parse(v))
            .collect()
    }

    /// The URI of the first Contact.
    pub fn contact_uri(&self) -> Option<String> {
        self.contacts().into_iter().next().map(|c| c.uri)
    }

    /// Expires header.
    pub fn expires(&self) -> Option<u32> {
        self.raw_header("Expires")?.trim().parse().ok()
    }

    /// Max-Forwards.
    pub fn max_forwards(&self) -> Option<u32> {
        self.raw_header("Max-Forwards")?.trim().parse().ok()
    }

    /// RSeq (RFC 3262).
    pub fn rseq(&self) -> Option<u32> {
        self.raw_header("RSeq")?.trim().parse().ok()
    }

    /// RAck (RFC 3262).
    pub fn rack(&self) -> Option<RAck> {
        RAck::parse(self.raw_header("RAck")?)
    }

    /// Record-Route entries, top first.
    pub fn record_routes(&self) -> Vec<String> {
        self.header_values("Record-Route")
            .into_iter()
            .map(str::to_string)
            .collect()
    }

    /// Route entries, first first.
    pub fn routes(&self) -> Vec<String> {
        self.header_values("Route")
            .into_iter()
            .map(str::to_string)
            .collect()
    }

    /// Content-Type.
    pub fn content_type(&self) -> Option<&str> {
        self.raw_header("Content-Type")
    }

    /// Whether a comma-list header (Require, Supported) holds `option`.
    pub fn has_option(&self, header: &str, option: &str) -> bool {
        self.header_values(header)
            .iter()
            .any(|v| v.trim().eq_ignore_ascii_case(option))
    }

    /// The body as text (lossy).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A one-line summary: `INVITE sip:bob@x` or `200 OK (INVITE)`.
    pub fn summary(&self) -> String {
        match &self.start {
            StartLine::Request { method, uri } => format!("{method} {uri}"),
            StartLine::Response { status, reason } => {
                let m = self
                    .cseq_method()
                    .map(|m| m.to_string())
                    .unwrap_or_default();
                format!("{status} {reason} ({m})")
            }
        }
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(60).collect()
}

fn parse_start_line(line: &str) -> Result<StartLine, ParseError> {
    if let Some(rest) = line.strip_prefix("SIP/2.0 ") {
        let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
        let status: u16 = code.parse().map_err(|_| ParseError::BadStartLine)?;
        if !(100..=699).contains(&status) || code.len() != 3 {
            return Err(ParseError::BadStartLine);
        }
        return Ok(StartLine::Response {
            status,
            reason: reason.trim().to_string(),
        });
    }
    let mut parts = line.split(' ');
    let (Some(m), Some(uri), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ParseError::BadStartLine);
    };
    if version != "SIP/2.0" || uri.is_empty() {
        return Err(ParseError::BadStartLine);
    }
    let method = Method::parse(m).ok_or(ParseError::BadStartLine)?;
    Ok(StartLine::Request {
        method,
        uri: uri.to_string(),
    })
}

/// `;name=value` parameters, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params(pub Vec<(String, Option<String>)>);

impl Params {
    fn parse(s: &str) -> Self {
        Self(
            s.split(';')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(|p| match p.split_once('=') {
                    Some((k, v)) => (
                        k.trim().to_string(),
                        Some(v.trim().trim_matches('"').to_string()),
                    ),
                    None => (p.to_string(), None),
                })
                .collect(),
        )
    }

    /// The value of `name`; `Some("")` for a flag parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_deref().unwrap_or(""))
    }

    /// Whether `name` is present.
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Sets (or adds) `name`.
    pub fn set(&mut self, name: &str, value: Option<String>) {
        if let Some(slot) = self
            .0
            .iter_mut()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
        {
            slot.1 = value;
        } else {
            self.0.push((name.to_string(), value));
        }
    }
}

impl fmt::Display for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (k, v) in &self.0 {
            match v {
                Some(v) => write!(f, ";{k}={v}")?,
                None => write!(f, ";{k}")?,
            }
        }
        Ok(())
    }
}

/// A Via header value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Via {
    /// Transport (`UDP`, `TCP`).
    pub transport: String,
    /// sent-by host (IPv6 without brackets).
    pub host: String,
    /// sent-by port.
    pub port: Option<u16>,
    /// Parameters (branch, rport, received...).
    pub params: Params,
}

impl Via {
    /// Parses `SIP/2.0/UDP host:port;params`.
    pub fn parse(s: &str) -> Option<Self> {
        let (proto, rest) = s.trim().split_once(char::is_whitespace)?;
        let mut p = proto.split('/');
        let (Some(name), Some(ver), Some(transport)) = (p.next(), p.next(), p.next()) else {
            return None;
        };
        if !name.trim().eq_ignore_ascii_case("SIP") || ver.trim() != "2.0" {
            return None;
        }
        let rest = rest.trim();
        let (sent_by, params) = rest.split_once(';').unwrap_or((rest, ""));
        let (host, port) = split_host_port(sent_by.trim())?;
        Some(Self {
            transport: transport.trim().to_ascii_uppercase(),
            host,
            port,
            params: Params::parse(params),
        })
    }

    /// The branch parameter.
    pub fn branch(&self) -> Option<&str> {
        self.params.get("branch").filter(|b| !b.is_empty())
    }

    /// `None`: no rport; `Some(None)`: rport without value (a request); `Some(Some(p))`: filled.
    pub fn rport(&self) -> Option<Option<u16>> {
        self.params.get("rport").map(|v| v.parse().ok())
    }

    /// The received parameter.
    pub fn received(&self) -> Option<IpAddr> {
        self.params.get("received")?.parse().ok()
    }
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SIP/2.0/{} {}", self.transport, fmt_host(&self.host))?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        write!(f, "{}", self.params)
    }
}

fn fmt_host(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

/// `host`, `host:port`, `[v6]`, `[v6]:port` → host without brackets and port.
fn split_host_port(s: &str) -> Option<(String, Option<u16>)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p.parse().ok()?),
            None if after.is_empty() => None,
            None => return None,
        };
        return Some((host.to_string(), port));
    }
    match s.rsplit_once(':') {
        Some((h, p)) if !h.is_empty() && !h.contains(':') => {
            Some((h.to_string(), Some(p.parse().ok()?)))
        }
        Some(_) => None,
        None if !s.is_empty() => Some((s.to_string(), None)),
        None => None,
    }
}

/// A SIP URI `sip:user@host:port;params`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SipUri {
    /// `sip` or `sips`.
    pub scheme: String,
    /// User part.
    pub user: Option<String>,
    /// Host (IPv6 without brackets).
    pub host: String,
    /// Port.
    pub port: Option<u16>,
    /// URI parameters (transport, lr...).
    pub params: Params,
}

impl SipUri {
    /// Parses a `sip:`/`sips:` URI; headers (`?...`) are dropped.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        let (scheme, rest) = s.split_once(':')?;
        if !scheme.eq_ignore_ascii_case("sip") && !scheme.eq_ignore_ascii_case("sips") {
            return None;
        }
        let rest = rest.split('?').next().unwrap_or("");
        let (userinfo, hostpart) = match rest.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, rest),
        };
        let (hostport, params) = hostpart.split_once(';').unwrap_or((hostpart, ""));
        let (host, port) = split_host_port(hostport)?;
        let user = userinfo.map(|u| u.split(':').next().unwrap_or("").to_string());
        Some(Self {
            scheme: scheme.to_ascii_lowercase(),
            user: user.filter(|u| !u.is_empty()),
            host,
            port,
            params: Params::parse(params),
        })
    }

    /// A `sip:` URI.
    pub fn new(user: Option<&str>, host: &str, port: Option<u16>) -> Self {
        Self {
            scheme: "sip".into(),
            user: user.map(str::to_string),
            host: host.to_string(),
            port,
            params: Params::default(),
        }
    }
}

impl fmt::Display for SipUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.scheme)?;
        if let Some(u) = &self.user {
            write!(f, "{u}@")?;
        }
        write!(f, "{}", fmt_host(&self.host))?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        write!(f, "{}", self.params)
    }
}

/// A name-addr or addr-spec with header parameters (From, To, Contact, Refer-To).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameAddr {
    /// Display name, unquoted.
    pub display: Option<String>,
    /// The URI as written.
    pub uri: String,
    /// Header parameters (tag, expires...).
    pub params: Params,
}

impl NameAddr {
    /// Parses `"Name" <uri>;params`, `<uri>;params` or `uri;params`.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        if s.is_empty() {
            return None;
        }
        if s == "*" {
            return Some(Self {
                display: None,
                uri: "*".into(),
                params: Params::default(),
            });
        }
        if let Some(lt) = find_unquoted(s, b'<') {
            let gt = s[lt..].find('>')? + lt;
            let display = s[..lt].trim().trim_matches('"').trim();
            return Some(Self {
                display: (!display.is_empty()).then(|| display.to_string()),
                uri: s[lt + 1..gt].trim().to_string(),
                params: Params::parse(&s[gt + 1..]),
            });
        }
        let (uri, params) = s.split_once(';').unwrap_or((s, ""));
        Some(Self {
            display: None,
            uri: uri.trim().to_string(),
            params: Params::parse(params),
        })
    }

    /// `<uri>` with no parameters.
    pub fn new(uri: impl Into<String>) -> Self {
        Self {
            display: None,
            uri: uri.into(),
            params: Params::default(),
        }
    }

    /// A header parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name)
    }

    /// The URI, parsed.
    pub fn sip_uri(&self) -> Option<SipUri> {
        SipUri::parse(&self.uri)
    }
}

impl fmt::Display for NameAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(d) = &self.display {
            write!(f, "\"{d}\" ")?;
        }
        write!(f, "<{}>{}", self.uri, self.params)
    }
}

fn find_unquoted(s: &str, needle: u8) -> Option<usize> {
    let mut quoted = false;
    for (i, b) in s.bytes().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b if b == needle && !quoted => return Some(i),
            _ => {}
        }
    }
    None
}

/// CSeq: number and method.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CSeq {
    /// Sequence number.
    pub seq: u32,
    /// Method.
    pub method: Method,
}

impl CSeq {
    /// Parses `314159 INVITE`.
    pub fn parse(s: &str) -> Option<Self> {
        let mut it = s.split_whitespace();
        let seq = it.next()?.parse().ok()?;
        let method = Method::parse(it.next()?)?;
        it.next().is_none().then_some(Self { seq, method })
    }
}

impl fmt::Display for CSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.seq, self.method)
    }
}

/// RAck (RFC 3262 §7.2): the RSeq and CSeq of the reliable provisional being acknowledged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RAck {
    /// The RSeq of the provisional response.
    pub rseq: u32,
    /// Its CSeq number.
    pub cseq: u32,
    /// Its CSeq method.
    pub method: Method,
}

impl RAck {
    /// Parses `500 364 INVITE`.
    pub fn parse(s: &str) -> Option<Self> {
        let mut it = s.split_whitespace();
        let rseq = it.next()?.parse().ok()?;
        let cseq = it.next()?.parse().ok()?;
        let method = Method::parse(it.next()?)?;
        it.next().is_none().then_some(Self { rseq, cseq, method })
    }
}

impl fmt::Display for RAck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.rseq, self.cseq, self.method)
    }
}

#[cfg(test)]
mod tests;

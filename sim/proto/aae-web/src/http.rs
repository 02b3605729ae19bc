//! HTTP/1.1 message framing over a TCP byte stream (RFC 9112), on the `httparse` parser.
//!
//! Parsing is in two steps: [`parse_request`] / [`parse_response`] look at the bytes received so
//! far and answer "need more bytes" (`Ok(None)`), a complete message with the number of bytes it
//! took, or an [`HttpError`]. Bodies are framed by `Content-Length` only; a request with
//! `Transfer-Encoding` is refused (501), a response without `Content-Length` runs to the end of
//! the connection. Nothing here panics on any input.

use bytes::Bytes;
use std::fmt::Write as _;

/// Largest request or response head accepted (431 beyond).
pub const MAX_HEAD: usize = 16 * 1024;
/// Largest body accepted (413 beyond).
pub const MAX_BODY: usize = 64 * 1024;
/// Most header fields in one message (431 beyond).
pub const MAX_HEADERS: usize = 32;

/// Why bytes are not an acceptable HTTP message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HttpError {
    /// Not HTTP/1.x syntax: the parser's complaint or ours.
    Malformed(String),
    /// The head is longer than [`MAX_HEAD`] or has more than [`MAX_HEADERS`] fields.
    HeadTooLarge,
    /// `Content-Length` exceeds [`MAX_BODY`].
    BodyTooLarge,
    /// A framing this implementation does not support (`Transfer-Encoding`).
    Unsupported(&'static str),
}

impl HttpError {
    /// The HTTP status a server answers this error with.
    pub const fn status(&self) -> u16 {
        match self {
            Self::Malformed(_) => 400,
            Self::HeadTooLarge => 431,
            Self::BodyTooLarge => 413,
            Self::Unsupported(_) => 501,
        }
    }
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Malformed(m) => write!(f, "malformed message: {m}"),
            Self::HeadTooLarge => f.write_str("message head too large"),
            Self::BodyTooLarge => f.write_str("body too large"),
            Self::Unsupported(what) => write!(f, "unsupported: {what}"),
        }
    }
}

impl std::error::Error for HttpError {}

/// Header fields in received order (names as sent; look-ups ignore case).
pub type Headers = Vec<(String, String)>;

/// An HTTP request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpRequest {
    /// Method (`POST`, `GET`...).
    pub method: String,
    /// Request target (`/aae/login`).
    pub path: String,
    /// Header fields other than `Content-Length` (added on encoding).
    pub headers: Headers,
    /// Body.
    pub body: Bytes,
}

/// An HTTP response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Reason phrase.
    pub reason: String,
    /// Header fields other than `Content-Length` (added on encoding).
    pub headers: Headers,
    /// Body.
    pub body: Bytes,
}

fn header<'a>(headers: &'a Headers, name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn encode_head(start: &str, headers: &Headers, body: &[u8]) -> Vec<u8> {
    let mut head = String::with_capacity(128);
    head.push_str(start);
    head.push_str("\r\n");
    for (n, v) in headers
        .iter()
        .filter(|(n, _)| !n.eq_ignore_ascii_case("content-length"))
    {
        let _ = write!(head, "{n}: {v}\r\n");
    }
    let _ = write!(head, "Content-Length: {}\r\n\r\n", body.len());
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    out
}

impl HttpRequest {
    /// A `POST` of a JSON body to `path` on `host`.
    pub fn post_json(path: &str, host: &str, body: &serde_json::Value) -> Self {
        Self {
            method: "POST".into(),
            path: path.into(),
            headers: vec![
                ("Host".into(), host.into()),
                ("Content-Type".into(), "application/json".into()),
            ],
            body: Bytes::from(body.to_string()),
        }
    }

    /// A header value, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    /// The client asked to close the connection after the response.
    pub fn wants_close(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }

    /// The request on the wire, with a `Content-Length` header.
    pub fn encode(&self) -> Vec<u8> {
        let start = format!("{} {} HTTP/1.1", self.method, self.path);
        encode_head(&start, &self.headers, &self.body)
    }
}

impl HttpResponse {
    /// A response with a JSON body.
    pub fn json(status: u16, body: &serde_json::Value) -> Self {
        Self {
            status,
            reason: reason(status).into(),
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: Bytes::from(body.to_string()),
        }
    }

    /// A header value, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    /// The body as a JSON object, if it is one.
    pub fn json_body(&self) -> Option<serde_json::Map<String, serde_json::Value>> {
        match serde_json::from_slice(&self.body) {
            Ok(serde_json::Value::Object(m)) => Some(m),
            _ => None,
        }
    }

    /// The response on the wire, with a `Content-Length` header.
    pub fn encode(&self) -> Vec<u8> {
        let start = format!("HTTP/1.1 {} {}", self.status, self.reason);
        encode_head(&start, &self.headers, &self.body)
    }
}

/// The reason phrase natlab's server sends with a status.
pub const fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Content Too Large",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

fn owned_headers(raw: &[httparse::Header<'_>]) -> Result<Headers, HttpError> {
    raw.iter()
        .map(|h| {
            let value = std::str::from_utf8(h.value)
                .map_err(|_| HttpError::Malformed(format!("header {} is not UTF-8", h.name)))?;
            Ok((h.name.to_owned(), value.trim().to_owned()))
        })
        .collect()
}

/// The `Content-Length` of a head: `None` when absent.
fn content_length(headers: &Headers) -> Result<Option<usize>, HttpError> {
    let mut found: Option<usize> = None;
    for (_, v) in headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("content-length"))
    {
        if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(HttpError::Malformed(format!("bad Content-Length {v:?}")));
        }
        let n: usize = v.parse().map_err(|_| HttpError::BodyTooLarge)?;
        if found.is_some_and(|f| f != n) {
            return Err(HttpError::Malformed("conflicting Content-Length".into()));
        }
        found = Some(n);
    }
    if found.is_some_and(|n| n > MAX_BODY) {
        return Err(HttpError::BodyTooLarge);
    }
    Ok(found)
}

fn parse_error(e: httparse::Error) -> HttpError {
    match e {
        httparse::Error::TooManyHeaders => HttpError::HeadTooLarge,
        other => HttpError::Malformed(other.to_string()),
    }
}

fn partial<T>(buf: &[u8]) -> Result<Option<T>, HttpError> {
    if buf.len() > MAX_HEAD {
        Err(HttpError::HeadTooLarge)
    } else {
        Ok(None)
    }
}

/// The first request in `buf`: `Ok(None)` until it is complete; with the bytes it took.
pub fn parse_request(buf: &[u8]) -> Result<Option<(HttpRequest, usize)>, HttpError> {
    let mut raw = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut raw);
    let head_len = match req.parse(buf).map_err(parse_error)? {
        httparse::Status::Complete(n) => n,
        httparse::Status::Partial => return partial(buf),
    };
    if head_len > MAX_HEAD {
        return Err(HttpError::HeadTooLarge);
    }
    let (Some(method), Some(path)) = (req.method, req.path) else {
        return Err(HttpError::Malformed("no request line".into()));
    };
    let headers = owned_headers(req.headers)?;
    if header(&headers, "transfer-encoding").is_some() {
        return Err(HttpError::Unsupported("Transfer-Encoding"));
    }
    let len = content_length(&headers)?.unwrap_or(0);
    let Some(body) = buf.get(head_len..head_len + len) else {
        return Ok(None);
    };
    let request = HttpRequest {
        method: method.to_owned(),
        path: path.to_owned(),
        headers,
        body: Bytes::copy_from_slice(body),
    };
    Ok(Some((request, head_len + len)))
}

/// The first response in `buf`: `Ok(None)` until it is complete. `eof` says the peer closed the
/// connection, which ends a body that has no `Content-Length`. Interim (1xx) responses are
/// skipped.
pub fn parse_response(buf: &[u8], eof: bool) -> Result<Option<(HttpResponse, usize)>, HttpError> {
    let mut start = 0;
    loop {
        let rest = buf.get(start..).unwrap_or_default();
        let mut raw = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut resp = httparse::Response::new(&mut raw);
        let head_len = match resp.parse(rest).map_err(parse_error)? {
            httparse::Status::Complete(n) => n,
            httparse::Status::Partial => return partial(rest),
        };
        let status = resp.code.unwrap_or(0);
        let reason = resp.reason.unwrap_or("").to_owned();
        let headers = owned_headers(resp.headers)?;
        if (100..200).contains(&status) {
            start += head_len;
            continue;
        }
        let body_start = start + head_len;
        let body = match content_length(&headers)? {
            Some(len) => match buf.get(body_start..body_start + len) {
                Some(b) => b,
                None => return Ok(None),
            },
            None if status == 204 || status == 304 => &[],
            None if eof => buf.get(body_start..).unwrap_or_default(),
            None => return Ok(None),
        };
        let used = body_start + body.len();
        let response = HttpResponse {
            status,
            reason,
            headers,
            body: Bytes::copy_from_slice(body),
        };
        return Ok(Some((response, used)));
    }
}

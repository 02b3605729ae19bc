//! A sans-IO HTTP/1.1 client sub-core for embedding in another core.
//!
//! The embedding core hands every [`StreamEvent`] to [`WebClient::handle_stream`] first; the
//! client consumes (returns true for) only the events of connections it opened. Its stream ids
//! come from the [`StreamIds`] range the embedder gives it, so they never collide with the
//! embedder's own. A connection is kept open after a response and reused for the next request to
//! the same server.
//!
//! # Drive contract
//! After [`WebClient::request`], `handle_stream` or `handle_timeout`: drain `poll_transmit`,
//! then `poll_result`; call `handle_timeout` at `poll_timeout`.

use crate::http::{HttpError, HttpRequest, HttpResponse, parse_response};
use bytes::Bytes;
use sim_core::{SimInstant, StreamCommand, StreamError, StreamEvent, StreamId, Transmit};
use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::ops::Range;
use std::time::Duration;

/// The default time a request may take, from `request` to the end of the response.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// A range of stream ids a sub-core may use (top bit clear: ids a node opens).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamIds {
    next: u64,
    end: u64,
}

impl StreamIds {
    /// The ids in `range` (clipped below [`StreamId::ACCEPTED`]).
    pub fn new(range: Range<u64>) -> Self {
        Self {
            next: range.start,
            end: range.end.min(StreamId::ACCEPTED),
        }
    }

    /// The next id, or `None` when the range is used up.
    pub fn take(&mut self) -> Option<StreamId> {
        (self.next < self.end).then(|| {
            self.next += 1;
            StreamId(self.next - 1)
        })
    }

    /// Whether `id` belongs to this range.
    pub const fn contains(&self, id: StreamId) -> bool {
        id.0 < self.end && !id.is_accepted()
    }
}

/// Names one request of a [`WebClient`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(pub u64);

/// Why a request got no acceptable response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WebFailure {
    /// The TCP connect was refused.
    Refused,
    /// The connection was reset.
    Reset,
    /// The TCP connect (or a retransmission) timed out.
    ConnectTimedOut,
    /// No complete response within the request timeout.
    TimedOut,
    /// The server closed the connection before the response was complete; `in_head` when it
    /// stopped inside the response head.
    Closed {
        /// Stopped inside the head (an incomplete header) rather than before any byte or in the body.
        in_head: bool,
    },
    /// The response is not valid HTTP.
    Malformed(String),
    /// A response with a status other than 2xx.
    Http(HttpResponse),
    /// The stream id range is used up.
    NoStreamIds,
}

impl WebFailure {
    /// The HTTP status, for an HTTP error.
    pub const fn http_status(&self) -> Option<u16> {
        match self {
            Self::Http(r) => Some(r.status),
            _ => None,
        }
    }
}

impl std::fmt::Display for WebFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Refused => f.write_str("connection refused"),
            Self::Reset => f.write_str("connection reset"),
            Self::ConnectTimedOut => f.write_str("connect timed out"),
            Self::TimedOut => f.write_str("no response in time"),
            Self::Closed { in_head: true } => {
                f.write_str("connection closed inside the response head")
            }
            Self::Closed { in_head: false } => {
                f.write_str("connection closed before the response ended")
            }
            Self::Malformed(m) => write!(f, "bad response: {m}"),
            Self::Http(r) => write!(f, "http {} {}", r.status, r.reason),
            Self::NoStreamIds => f.write_str("no stream id left"),
        }
    }
}

/// The outcome of one request.
pub type WebResult = Result<HttpResponse, WebFailure>;

#[derive(Debug)]
struct Pending {
    id: RequestId,
    deadline: SimInstant,
}

#[derive(Debug)]
struct Conn {
    dst: SocketAddr,
    connected: bool,
    /// Bytes waiting for the connection to open.
    queued: Option<Bytes>,
    pending: Option<Pending>,
    buf: Vec<u8>,
}

/// The client sub-core.
#[derive(Debug)]
pub struct WebClient {
    ids: StreamIds,
    timeout: Duration,
    next_request: u64,
    conns: BTreeMap<StreamId, Conn>,
    transmits: VecDeque<Transmit>,
    results: VecDeque<(RequestId, WebResult)>,
}

impl WebClient {
    /// A client using stream ids from `ids`, giving each request `timeout`.
    pub fn new(ids: StreamIds, timeout: Duration) -> Self {
        Self {
            ids,
            timeout,
            next_request: 1,
            conns: BTreeMap::new(),
            transmits: VecDeque::new(),
            results: VecDeque::new(),
        }
    }

    /// Sends `request` to `dst` (over an idle open connection to it, else a new one).
    pub fn request(
        &mut self,
        now: SimInstant,
        dst: SocketAddr,
        request: &HttpRequest,
    ) -> RequestId {
        let id = RequestId(self.next_request);
        self.next_request += 1;
        let pending = Pending {
            id,
            deadline: now + self.timeout,
        };
        let bytes = Bytes::from(request.encode());
        let idle = self
            .conns
            .iter_mut()
            .find(|(_, c)| c.dst == dst && c.connected && c.pending.is_none());
        if let Some((&sid, conn)) = idle {
            conn.pending = Some(pending);
            self.transmits
                .push_back(Transmit::Stream(StreamCommand::Send {
                    id: sid,
                    data: bytes,
                }));
            return id;
        }
        let Some(sid) = self.ids.take() else {
            self.results.push_back((id, Err(WebFailure::NoStreamIds)));
            return id;
        };
        let conn = Conn {
            dst,
            connected: false,
            queued: Some(bytes),
            pending: Some(pending),
            buf: Vec::new(),
        };
        self.conns.insert(sid, conn);
        self.transmits
            .push_back(Transmit::Stream(StreamCommand::Connect { id: sid, dst }));
        id
    }

    /// Whether `id` is one of this client's connections.
    pub fn owns(&self, id: StreamId) -> bool {
        self.conns.contains_key(&id)
    }

    /// Takes a stream event; true when it was one of this client's connections.
    pub fn handle_stream(&mut self, _now: SimInstant, event: &StreamEvent) -> bool {
        let id = match event {
            StreamEvent::Connected { id, .. }
            | StreamEvent::Data { id, .. }
            | StreamEvent::Closed { id }
            | StreamEvent::Failed { id, .. } => *id,
            StreamEvent::Accepted { .. } => return false,
        };
        if !self.conns.contains_key(&id) {
            return false;
        }
        match event {
            StreamEvent::Connected { .. } => self.on_connected(id),
            StreamEvent::Data { data, .. } => self.on_data(id, data, false),
            StreamEvent::Closed { .. } => self.on_data(id, &[], true),
            StreamEvent::Failed { error, .. } => {
                let failure = match error {
                    StreamError::Refused => WebFailure::Refused,
                    StreamError::Reset => WebFailure::Reset,
                    StreamError::TimedOut => WebFailure::ConnectTimedOut,
                };
                self.fail(id, failure, false);
            }
            StreamEvent::Accepted { .. } => {}
        }
        true
    }

    fn on_connected(&mut self, id: StreamId) {
        if let Some(c) = self.conns.get_mut(&id) {
            c.connected = true;
            if let Some(data) = c.queued.take() {
                self.transmits
                    .push_back(Transmit::Stream(StreamCommand::Send { id, data }));
            }
        }
    }

    fn on_data(&mut self, id: StreamId, data: &[u8], eof: bool) {
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        c.buf.extend_from_slice(data);
        if c.pending.is_none() {
            if eof || !c.buf.is_empty() {
                // Closed while idle, or bytes nobody asked for: the connection is done.
                self.conns.remove(&id);
                if !eof {
                    self.transmits
                        .push_back(Transmit::Stream(StreamCommand::Close { id }));
                }
            }
            return;
        }
        match parse_response(&c.buf, eof) {
            Ok(Some((response, used))) => {
                c.buf.drain(..used);
                let close = eof
                    || response
                        .header("connection")
                        .is_some_and(|v| v.eq_ignore_ascii_case("close"));
                if let Some(p) = c.pending.take() {
                    let result = if (200..300).contains(&response.status) {
                        Ok(response)
                    } else {
                        Err(WebFailure::Http(response))
                    };
                    self.results.push_back((p.id, result));
                }
                if close {
                    self.conns.remove(&id);
                    self.transmits
                        .push_back(Transmit::Stream(StreamCommand::Close { id }));
                }
            }
            Ok(None) if eof => {
                let in_head = !c.buf.is_empty() && !contains_head_end(&c.buf);
                self.fail(id, WebFailure::Closed { in_head }, true);
            }
            Ok(None) => {}
            Err(e) => self.fail(id, malformed(&e), true),
        }
    }

    /// Ends connection `id` with `failure` for its pending request.
    fn fail(&mut self, id: StreamId, failure: WebFailure, close: bool) {
        if let Some(c) = self.conns.remove(&id)
            && let Some(p) = c.pending
        {
            self.results.push_back((p.id, Err(failure)));
        }
        if close {
            self.transmits
                .push_back(Transmit::Stream(StreamCommand::Close { id }));
        }
    }

    /// Times out requests whose deadline passed (their connection is reset).
    pub fn handle_timeout(&mut self, now: SimInstant) {
        let late: Vec<StreamId> = self
            .conns
            .iter()
            .filter(|(_, c)| c.pending.as_ref().is_some_and(|p| p.deadline <= now))
            .map(|(&id, _)| id)
            .collect();
        for id in late {
            self.fail(id, WebFailure::TimedOut, false);
            self.transmits
                .push_back(Transmit::Stream(StreamCommand::Abort { id }));
        }
    }

    /// The earliest request deadline.
    pub fn poll_timeout(&self) -> Option<SimInstant> {
        self.conns
            .values()
            .filter_map(|c| c.pending.as_ref().map(|p| p.deadline))
            .min()
    }

    /// The next stream command to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next finished request.
    pub fn poll_result(&mut self) -> Option<(RequestId, WebResult)> {
        self.results.pop_front()
    }

    /// Closes every connection (the embedder stops).
    pub fn close_all(&mut self) {
        let ids: Vec<StreamId> = self.conns.keys().copied().collect();
        for id in ids {
            self.fail(id, WebFailure::Closed { in_head: false }, true);
        }
    }
}

fn contains_head_end(buf: &[u8]) -> bool {
    buf.windows(4).any(|w| w == b"\r\n\r\n")
}

fn malformed(e: &HttpError) -> WebFailure {
    WebFailure::Malformed(e.to_string())
}

//! What a tunnel reports: events, statistics, errors.

use bytes::Bytes;
use sha2::{Digest, Sha256};
use sim_core::{LogEvent, SimInstant};
use std::fmt;
use std::time::Duration;

/// One byte stream inside a tunnel. The caller side numbers its streams 1, 3, 5, …, the callee
/// side 2, 4, 6, …, so both may open streams without clashing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId(pub u32);

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Where the handshake stood when the connect timeout fired.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandshakeStage {
    /// Caller: no `Challenge` came back to any `Hello`.
    Induction,
    /// Caller: a `Challenge` came, but no `HelloAck` to the `Hello` carrying its cookie.
    Conclusion,
    /// Callee: no `Hello` with a valid cookie arrived.
    Listening,
}

impl HandshakeStage {
    /// A short name for logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Induction => "induction",
            Self::Conclusion => "conclusion",
            Self::Listening => "listening",
        }
    }
}

/// Something that happened on a tunnel.
///
/// Terminal events (after which the tunnel sends nothing more except acknowledgements of a
/// peer's graceful shutdown): `ConnectFailed`, `KeepAliveTimeout`, `IdleTimeout`, `Closed`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TunnelEvent {
    /// The handshake completed; `rtt` is the round trip measured on it (timestamp echo, so a
    /// retransmitted handshake still measures one exchange).
    Connected {
        /// Handshake round-trip time.
        rtt: Duration,
    },
    /// The connect timeout fired before the handshake completed (the AAE SDK's 60000015,
    /// "UDT connect failed").
    ConnectFailed {
        /// How long the handshake ran: the configured connect timeout.
        after: Duration,
        /// Where it stood.
        stage: HandshakeStage,
        /// Handshake packets sent.
        attempts: u32,
    },
    /// The peer opened a stream.
    StreamOpened {
        /// The stream.
        id: StreamId,
    },
    /// Stream bytes from the peer, in order, each byte once.
    StreamData {
        /// The stream.
        id: StreamId,
        /// The bytes.
        data: Bytes,
    },
    /// The peer will write no more to the stream.
    StreamFinished {
        /// The stream.
        id: StreamId,
    },
    /// Both sides finished the stream; it is gone. `stats` holds its final byte counts and
    /// digests.
    StreamClosed {
        /// The stream.
        id: StreamId,
        /// Byte counts and digests of both directions.
        stats: StreamStats,
    },
    /// The send buffer has room again after a write was refused with
    /// [`crate::WriteError::BufferFull`].
    Writable,
    /// The keep-alive check fired and nothing had arrived from the peer since the previous
    /// check (natnl's 60002): the peer is taken for gone, the tunnel stops.
    KeepAliveTimeout {
        /// When the last packet from the peer arrived (the handshake's end if none since).
        last_received: SimInstant,
    },
    /// The idle check fired and no stream data had moved since the previous check (natnl's
    /// 60113): the tunnel stops.
    IdleTimeout {
        /// When stream data last moved (the handshake's end if never).
        last_activity: SimInstant,
    },
    /// The tunnel closed gracefully.
    Closed {
        /// The peer closed it (its shutdown arrived after all its data).
        by_peer: bool,
        /// For a local close: the peer acknowledged the shutdown (else the close timeout
        /// fired). Always true for `by_peer`.
        acknowledged: bool,
    },
}

/// The names [`TunnelEvent`]s carry in a run's event log.
pub const EVENT_NAMES: &[&str] = &[
    "tunnel-connected",
    "tunnel-connect-failed",
    "tunnel-stream-opened",
    "tunnel-stream-data",
    "tunnel-stream-finished",
    "tunnel-stream-closed",
    "tunnel-writable",
    "tunnel-keepalive-timeout",
    "tunnel-idle-timeout",
    "tunnel-closed",
];

impl From<&TunnelEvent> for LogEvent {
    fn from(e: &TunnelEvent) -> Self {
        match e {
            TunnelEvent::Connected { rtt } => {
                Self::named("tunnel-connected").with_detail(format!("rtt {} µs", rtt.as_micros()))
            }
            TunnelEvent::ConnectFailed {
                after,
                stage,
                attempts,
            } => Self::named("tunnel-connect-failed").with_detail(format!(
                "no handshake after {} ms ({}, {attempts} packets sent)",
                after.as_millis(),
                stage.as_str()
            )),
            TunnelEvent::StreamOpened { id } => {
                Self::named("tunnel-stream-opened").with_detail(format!("stream {id}"))
            }
            TunnelEvent::StreamData { id, data } => Self::named("tunnel-stream-data")
                .with_detail(format!("stream {id}: {} bytes", data.len())),
            TunnelEvent::StreamFinished { id } => {
                Self::named("tunnel-stream-finished").with_detail(format!("stream {id}"))
            }
            TunnelEvent::StreamClosed { id, stats } => Self::named("tunnel-stream-closed")
                .with_detail(format!(
                    "stream {id}: sent {} bytes sha256 {}, received {} bytes sha256 {}",
                    stats.sent_bytes,
                    stats.sent_sha256_hex(),
                    stats.received_bytes,
                    stats.received_sha256_hex()
                )),
            TunnelEvent::Writable => Self::named("tunnel-writable"),
            TunnelEvent::KeepAliveTimeout { last_received } => {
                Self::named("tunnel-keepalive-timeout")
                    .with_detail(format!("nothing received since {last_received}"))
            }
            TunnelEvent::IdleTimeout { last_activity } => Self::named("tunnel-idle-timeout")
                .with_detail(format!("no stream data since {last_activity}")),
            TunnelEvent::Closed {
                by_peer,
                acknowledged,
            } => Self::named("tunnel-closed").with_detail(match (by_peer, acknowledged) {
                (true, _) => "closed by the peer",
                (false, true) => "closed locally, acknowledged",
                (false, false) => "closed locally, not acknowledged",
            }),
        }
    }
}

/// Byte counts and running SHA-256 digests of one stream, per direction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamStats {
    /// Bytes the local application wrote.
    pub sent_bytes: u64,
    /// Bytes delivered from the peer.
    pub received_bytes: u64,
    /// SHA-256 of every byte written so far, in order.
    pub sent_sha256: [u8; 32],
    /// SHA-256 of every byte delivered so far, in order.
    pub received_sha256: [u8; 32],
}

impl StreamStats {
    /// `sent_sha256` as lowercase hex.
    pub fn sent_sha256_hex(&self) -> String {
        hex(&self.sent_sha256)
    }

    /// `received_sha256` as lowercase hex.
    pub fn received_sha256_hex(&self) -> String {
        hex(&self.received_sha256)
    }
}

/// SHA-256 of `bytes` (what a scenario compares a stream digest against).
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Lowercase hex of a digest.
pub fn hex(digest: &[u8]) -> String {
    use fmt::Write as _;
    digest.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Running counts and digests of one stream.
#[derive(Clone, Debug, Default)]
pub(crate) struct StreamCounters {
    sent_bytes: u64,
    received_bytes: u64,
    sent: Sha256,
    received: Sha256,
}

impl StreamCounters {
    pub(crate) fn on_sent(&mut self, bytes: &[u8]) {
        self.sent_bytes += bytes.len() as u64;
        self.sent.update(bytes);
    }

    pub(crate) fn on_received(&mut self, bytes: &[u8]) {
        self.received_bytes += bytes.len() as u64;
        self.received.update(bytes);
    }

    pub(crate) fn snapshot(&self) -> StreamStats {
        StreamStats {
            sent_bytes: self.sent_bytes,
            received_bytes: self.received_bytes,
            sent_sha256: self.sent.clone().finalize().into(),
            received_sha256: self.received.clone().finalize().into(),
        }
    }
}

/// Packet and byte counters of a tunnel.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TunnelStats {
    /// Packets handed out by `poll_packet`.
    pub packets_sent: u64,
    /// Bytes in them.
    pub bytes_sent: u64,
    /// Packets handed to `handle_packet`.
    pub packets_received: u64,
    /// Bytes in them.
    pub bytes_received: u64,
    /// Data packets sent again (fast retransmit or retransmission timeout).
    pub packets_retransmitted: u64,
    /// Retransmissions acknowledged sooner than a round trip allows: the original had
    /// arrived (they widen the reordering window).
    pub spurious_retransmits: u64,
    /// Retransmission timeouts that fired.
    pub rto_expirations: u64,
    /// Keep-alive packets sent.
    pub keepalives_sent: u64,
    /// Handshake packets sent.
    pub handshakes_sent: u64,
    /// Packets that did not parse.
    pub malformed: u64,
    /// Well-formed packets for another connection, of the wrong kind for the state, or with a
    /// bad cookie.
    pub stray: u64,
    /// Data packets received again (already delivered or already held).
    pub duplicates: u64,
    /// Data packets beyond the receive window, dropped.
    pub out_of_window: u64,
    /// Frames that break the stream rules (data on an unknown stream, reopening…), dropped.
    pub protocol_violations: u64,
    /// Stream bytes written by the application.
    pub stream_bytes_written: u64,
    /// Stream bytes delivered to the application.
    pub stream_bytes_delivered: u64,
}

//! A sans-IO reliable tunnel transport, UDT-like, for the AAE endpoint.
//!
//! natnl runs a UDT connection over the pair ICE selected and forwards local TCP connections
//! through it (lport → rport). [`Tunnel`] models that transport. It is not a
//! [`sim_core::Node`]: the AAE endpoint embeds one per call and moves its packets through
//! `sim_ice::IceAgent::send` / `IceAgent::poll_data`.
//!
//! * **Handshake** (cookie exchange, as UDT's induction/conclusion): the caller
//!   ([`Tunnel::connect`]) sends `Hello`; the callee ([`Tunnel::accept`]) answers with a
//!   stateless `Challenge` cookie; the caller repeats `Hello` with the cookie; the callee
//!   answers `HelloAck` and is connected, the caller is connected on the `HelloAck`. `Hello`
//!   goes again every `handshake_interval` (250 ms). Both sides report
//!   [`TunnelEvent::Connected`] with the handshake round trip (measured by timestamp echo).
//!   Nothing within `connect_timeout` (30 s, UDT4's rendezvous connect) gives
//!   [`TunnelEvent::ConnectFailed`] at exactly start + `connect_timeout`: the AAE SDK's
//!   60000015.
//! * **Reliability**: data packets carry sequence numbers from a seeded initial sequence
//!   number; every data packet is answered with an `Ack` (cumulative point, a bitmap of what
//!   arrived beyond it, the echoed timestamp, the receive window). Loss detection is RACK-like
//!   (RFC 8985): a packet is sent again once a packet transmitted after it was acknowledged and
//!   a reordering window (a quarter of the minimum RTT, widened by spurious retransmissions)
//!   has passed; the tail is covered by the RFC 6298 retransmission timer (SRTT + 4·RTTVAR,
//!   seeded from the handshake RTT, 200 ms..=60 s, doubling per expiry). The receiver
//!   reorders, absorbs duplicates and delivers in order. There is no congestion
//!   control: the sender keeps at most `send_window` (256) packets in flight and never more
//!   than the peer's advertised window.
//! * **Streams**: [`Tunnel::open_stream`], [`Tunnel::write`], [`Tunnel::close_stream`]
//!   (half-close); the peer gets [`TunnelEvent::StreamOpened`], [`TunnelEvent::StreamData`]
//!   and [`TunnelEvent::StreamFinished`], both sides [`TunnelEvent::StreamClosed`] with byte
//!   counts and running SHA-256 digests per direction ([`StreamStats`]). All streams share one
//!   sequence space, so everything is delivered in write order across streams.
//! * **Bounded buffers**: a write takes all of its bytes or none: beyond `send_buffer` (1 MiB
//!   unacknowledged) it fails with [`StreamError::BufferFull`], and
//!   [`TunnelEvent::Writable`] follows when acknowledgements free room. The receiver holds at
//!   most `recv_window` (256) packets out of order and drops (and counts) packets beyond it;
//!   in-order data leaves the tunnel at once as events.
//! * **Keep-alives**: a `KeepAlive` goes out whenever nothing was sent for
//!   `keepalive_interval` (1 s, UDT4's and SRT's period), which also keeps the NAT mappings on
//!   the path open.
//! * **Keep-alive timeout** (natnl's `tnl_timeout_sec`, 60002): a check re-armed every
//!   `ka_timeout` (default and maximum 180 s) from the connection; when it fires and nothing
//!   valid (data, ack, keep-alive, handshake repeat) arrived since the previous check,
//!   [`TunnelEvent::KeepAliveTimeout`]. Detection therefore lands between T and 2T after the
//!   last packet.
//! * **Idle timeout** (natnl's `idle_timeout_sec`, 60113; off by default): the same re-armed
//!   check on stream data only, [`TunnelEvent::IdleTimeout`]. natnl documents it as "no data
//!   through the tunnel", so by default bytes written *or* delivered count
//!   ([`IdleActivity::SentOrReceived`]); [`IdleActivity::Received`] counts delivered bytes
//!   only. Keep-alives, acknowledgements and retransmissions never count.
//! * **Close**: [`Tunnel::close`] sends a shutdown behind all written data; the peer reports
//!   [`TunnelEvent::Closed`] `{ by_peer: true }` after delivering everything before it, the
//!   closer reports `Closed { by_peer: false, acknowledged }` when the shutdown is
//!   acknowledged (or after `close_timeout`, 5 s). [`Tunnel::abort`] stops silently.
//!   The keep-alive and idle timeouts end the tunnel too (nothing more is sent); the endpoint
//!   then hangs the call up, as the SDK does.
//! * **Bad input**: bytes that do not parse, packets for another connection id or of the
//!   wrong kind for the state, and frames that break the stream rules are counted in
//!   [`TunnelStats`] and dropped; nothing panics.
//!
//! The wire format is in the `packet` module: every packet's first byte is 192–207
//! (`0xC0 | type`), outside STUN (0–3), ZRTP (16–19), DTLS (20–63), TURN ChannelData (64–79) and
//! RTP/RTCP (128–191) of RFC 7983, so it shares the ICE port ([`is_tunnel_packet`]).
//!
//! # Determinism
//!
//! Time is an argument; the connection id, the initial sequence number and the cookie secret
//! come from the [`sim_core::Seed`] given to the constructor. Nothing else is random.
//!
//! # Drive contract
//!
//! After any input (`connect`, `accept`, `handle_packet`, `handle_timeout` or a command),
//! drain [`Tunnel::poll_packet`] (into `IceAgent::send`) and [`Tunnel::poll_event`], then call
//! [`Tunnel::handle_timeout`] at [`Tunnel::poll_timeout`].
//!
//! ```
//! use sim_core::{Seed, SimInstant};
//! use sim_tunnel::{Tunnel, TunnelConfig, TunnelEvent};
//!
//! let now = SimInstant::ZERO;
//! let mut caller = Tunnel::connect(now, TunnelConfig::default(), Seed::new(1)).unwrap();
//! let mut callee = Tunnel::accept(now, TunnelConfig::default(), Seed::new(2)).unwrap();
//! // A lossless link without delay: hand every packet across until both are quiet.
//! loop {
//!     let mut moved = false;
//!     while let Some(p) = caller.poll_packet() { callee.handle_packet(now, &p); moved = true; }
//!     while let Some(p) = callee.poll_packet() { caller.handle_packet(now, &p); moved = true; }
//!     if !moved { break; }
//! }
//! assert!(matches!(caller.poll_event(), Some(TunnelEvent::Connected { .. })));
//! assert!(matches!(callee.poll_event(), Some(TunnelEvent::Connected { .. })));
//! let id = caller.open_stream(now).unwrap();
//! caller.write(now, id, b"GET / HTTP/1.1\r\n\r\n").unwrap();
//! while let Some(p) = caller.poll_packet() { callee.handle_packet(now, &p); }
//! assert_eq!(callee.poll_event(), Some(TunnelEvent::StreamOpened { id }));
//! assert!(matches!(callee.poll_event(), Some(TunnelEvent::StreamData { data, .. }) if &data[..] == b"GET / HTTP/1.1\r\n\r\n"));
//! ```

#![warn(missing_docs)]

mod config;
mod event;
mod packet;
mod recv;
mod send;
mod streams;
mod tunnel;

#[cfg(test)]
mod tests;

pub use config::{
    ConfigError, IdleActivity, MAX_KA_TIMEOUT, MAX_PAYLOAD_LIMIT, MAX_WINDOW, MIN_PAYLOAD_LIMIT,
    TunnelConfig,
};
pub use event::{
    EVENT_NAMES, HandshakeStage, StreamId, StreamStats, TunnelEvent, TunnelStats, hex, sha256,
};
pub use packet::{DATA_HEADER, is_tunnel_packet};
pub use streams::StreamError;
pub use tunnel::Tunnel;

//! Sans-IO SIP core: messages, digest authentication, transactions, a registrar/proxy with an
//! operator's trunk policies, and a softphone.
//!
//! * [`message`]: parsing (UDP datagrams, TCP stream framing with RFC 5626 keep-alives),
//!   typed accessors, building, serialization. Own parser: rsip 0.4 ignores Content-Length,
//!   rejects extension methods and IPv6 URIs and has no RSeq/RAck/rport (see the parsing
//!   evaluation note), so it is not used.
//! * [`digest`]: RFC 7616/2617 Digest, client and server (MD5, SHA-256, qop=auth, stale
//!   nonces, nonce-count replay checks).
//! * [`transaction`]: RFC 3261 §17 client and server transactions with timers A–K.
//! * [`server`]: [`SipServer`], the registrar and stateful proxy with trunk policies.
//! * [`sdp`]: the audio SDP of offers and answers.
//! * [`ua`]: [`Softphone`], the softphone endpoint with the SDK's API and callbacks.
//! * `testkit` (feature `testkit`, and in this crate's tests): an in-process harness running a
//!   server, softphones and `sim_nat` NATs on a time-ordered queue.
//!
//! # Drive contract
//!
//! [`SipServer`] and [`Softphone`] are [`sim_core::Node`]s. A driver binds
//! [`sim_core::Node::bindings`] (server: its port on UDP and/or TCP; softphone: `local_port`
//! on UDP unless it uses TCP, plus `rtp_port` on UDP), answers each with `handle_bound`, calls
//! `handle_start` with the node's addresses, then after every input (a datagram, a stream
//! event, a timeout, or a verb-named command such as [`Softphone::register`] or
//! [`SipServer::set_policy`]) drains `poll_transmit` until `None`, drains `poll_event`, and
//! calls `handle_timeout` at `poll_timeout`. The softphone opens its own TCP connection
//! (`StreamCommand::Connect`, ids from 1) to the server; the server only accepts connections.
//! UDP transmits carry `0.0.0.0:port` as source: the driver fills in the node's address.
//!
//! # Events
//!
//! Every event converts to a [`sim_core::LogEvent`] (`LogEvent::from(&event)`): softphone
//! events carry the SDK callback names (`onRegisterSuccess`, `onInviteFailure`, ...) with
//! `status` = the SIP code; a refused API call is named after the SDK function
//! (`registerServer`, `hold`, ...) with `status` = its return code; the server's events are
//! `sip-registered`, `sip-unregistered`, `sip-binding-expired`, `sip-auth-failed`,
//! `sip-call-proxied`, `sip-response` (a final response the server generated, with method and
//! status), `sip-relayed`, `sip-policy-changed`, `sip-malformed`.

pub mod digest;
pub mod message;
pub mod sdp;
pub mod server;
pub mod transaction;
pub mod transport;
pub mod ua;

#[cfg(any(test, feature = "testkit"))]
pub mod testkit;

#[cfg(test)]
mod tests;

pub use message::{Frame, Method, SipMessage, StreamFramer};
pub use server::{Policy, SipServer, SipServerConfig, SipServerEvent};
pub use transport::Flow;
pub use ua::{LocalMedia, Softphone, SoftphoneConfig, SoftphoneEvent};

//! STUN and TURN for natlab, as sans-IO cores on the rtc-stun codec.
//!
//! * [`StunServer`]: RFC 5389 Binding (XOR-MAPPED-ADDRESS, MAPPED-ADDRESS, SOFTWARE,
//!   FINGERPRINT, short-term and long-term credentials), RFC 5780 behaviour discovery
//!   (OTHER-ADDRESS, RESPONSE-ORIGIN, CHANGE-REQUEST over two IPs × two ports) and the RFC 3489
//!   attributes legacy detectors read (CHANGED-ADDRESS, SOURCE-ADDRESS), with fault policies
//!   ([`StunPolicy`]).
//! * [`NatDetector`]: NAT-type detection, the classic RFC 3489 types of AAE event 60005
//!   ([`NatType`]) plus the RFC 5780 mapping and filtering behaviours, and the legacy two-server
//!   symmetric check (320011); STUN retransmissions with pjnath's timing ([`Retransmit`]).
//! * [`TurnServer`]: RFC 5766 allocations with long-term credentials, permissions, channels,
//!   Send/Data indications and ChannelData, UDP relay ports bound at run time
//!   (`Transmit::Bind` of `udp 0`), quota/capacity policies ([`TurnPolicy`]), and clients over
//!   UDP or TCP (STUN and ChannelData framed on the stream).
//!
//! Every core is a [`sim_core::Node`]: no clock, no socket, randomness from a [`sim_core::Seed`].
//!
//! # Drive contract
//! After any input (`handle_*` or a verb-named command), drain `poll_transmit` until it is
//! empty, then `poll_event`, then call `handle_timeout` at `poll_timeout`.
//!
//! ```
//! use sim_core::{Addresses, Binding, Bound, Node, Seed, SimInstant, Transmit};
//! use sim_stun::{NatDetector, NatDetectorConfig, NatType, StunServer, StunServerConfig};
//! use std::net::SocketAddr;
//!
//! let addr = |s: &str| s.parse::<SocketAddr>().unwrap();
//! let config = StunServerConfig::new(addr("203.0.113.10:3478"))
//!     .with_alternate("203.0.113.11".parse().unwrap(), 3479);
//! let mut server = StunServer::new(config, Seed::new(1));
//! let mut detector = NatDetector::new(NatDetectorConfig::new(addr("203.0.113.10:3478")), Seed::new(2));
//!
//! // Start: answer the start bindings, then handle_start (a detector autostarts).
//! let now = SimInstant::ZERO;
//! server.handle_start(now, Addresses::single("203.0.113.10".parse().unwrap()));
//! let local = addr("198.51.100.7:40000");
//! detector.handle_bound(now, Bound { id: None, binding: Binding::udp(0), result: Ok(local) });
//! detector.handle_start(now, Addresses::single(local.ip()));
//!
//! // A network without NAT or loss: every datagram arrives at once.
//! let mut now = now;
//! while detector.report().is_none() {
//!     let mut idle = true;
//!     while let Some(Transmit::Datagram(d)) = detector.poll_transmit() {
//!         server.handle_datagram(now, d);
//!         idle = false;
//!     }
//!     while let Some(Transmit::Datagram(d)) = server.poll_transmit() {
//!         detector.handle_datagram(now, d);
//!         idle = false;
//!     }
//!     if idle {
//!         now = detector.poll_timeout().unwrap();
//!         detector.handle_timeout(now);
//!     }
//! }
//! assert_eq!(detector.report().unwrap().nat_type, NatType::Open);
//! ```
//!
//! # Addresses
//! A response's [`sim_core::Datagram::src`] names the exact local address it must leave from:
//! for CHANGE-REQUEST "change IP" that is the server's alternate IP. The driver must send from
//! that IP (not only that port), and the network must deliver datagrams addressed to the
//! alternate IP to the same node.
#![warn(missing_docs)]

mod auth;
mod codec;
mod crypto;
mod detect;
mod server;
mod transaction;
mod turn;

#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod harness;

pub use auth::{Credentials, LongTerm};
pub use codec::Change;
pub use crypto::StunCrypto;
pub use detect::{
    Behaviour, MappedAddressCheck, NAT_TYPE_DETECTED, NAT_TYPE_DETECTED_CODE, NatDetector,
    NatDetectorConfig, NatDetectorEvent, NatReport, NatType, STATUS_STUN_ERROR_ATTR,
    STATUS_STUN_FINGERPRINT, STATUS_STUN_NO_MAPPED_ADDR, STATUS_STUN_NOT_RESPOND,
    STATUS_STUN_SYMMETRIC, STATUS_STUN_TIMED_OUT,
};
pub use server::{StunPolicy, StunServer, StunServerConfig, StunServerEvent};
pub use transaction::Retransmit;
pub use turn::{
    DeleteReason, TurnPolicy, TurnServer, TurnServerConfig, TurnServerEvent, TurnStats,
    TurnTransport,
};

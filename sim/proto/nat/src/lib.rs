//! A sans-IO NAT box with every RFC 4787 behaviour, plus RFC 5382 TCP connection tracking.
//!
//! [`Nat`] is the decision core of one simulated NAT. It owns a mapping table and nothing else:
//! no socket, no clock, no unseeded randomness. The simulator's fabric asks it about every
//! packet that crosses the box and applies the [`Verdict`]:
//!
//! * [`Nat::outbound`] for a packet from the LAN to outside, or to one of the NAT's own public
//!   addresses (hairpinning). The fabric switches LAN-local traffic itself.
//! * [`Nat::inbound`] for a packet from the upstream network to one of the public addresses
//!   ([`Nat::owns`] tells which).
//!
//! # Behaviours
//!
//! | RFC 4787 term | field | values |
//! |---|---|---|
//! | mapping (§4.1, REQ-1) | [`NatConfig::mapping`] | [`Behaviour`]: endpoint-independent, address-dependent, address-and-port-dependent |
//! | filtering (§5, REQ-8) | [`NatConfig::filtering`] | the same three |
//! | IP address pooling (§4.1, REQ-2) | [`NatConfig::pooling`] | [`Pooling::Paired`], [`Pooling::Arbitrary`] |
//! | port assignment (§4.2) | [`NatConfig::port_allocation`], [`NatConfig::port_range`] | [`PortAllocation::Preserve`], `Sequential`, `Random`; never port overloading (§4.2.1 REQ-3) |
//! | mapping refresh (§4.3, REQ-5, REQ-6) | [`NatConfig::udp_timeout`], [`NatConfig::inbound_refresh`] | outbound packets always refresh |
//! | hairpinning (§6, REQ-9) | [`NatConfig::hairpinning`] | source is the sender's external address (REQ-9b) |
//! | TCP timeouts (RFC 5382 §5, REQ-5) | [`NatConfig::tcp_timeout`], [`NatConfig::tcp_transitory_timeout`] | 2 h 4 min / 4 min by default |
//! | static forwards | [`NatConfig::port_forwards`] | never expire, not filtered |
//!
//! The classic names are combinations of mapping and filtering:
//!
//! | classic name | mapping | filtering |
//! |---|---|---|
//! | full cone | endpoint-independent | endpoint-independent |
//! | restricted cone | endpoint-independent | address-dependent |
//! | port-restricted cone | endpoint-independent | address-and-port-dependent |
//! | symmetric | address-and-port-dependent | address-and-port-dependent |
//!
//! # Semantics
//!
//! * **Mapping key.** A mapping is identified by (protocol, internal IP:port) for
//!   endpoint-independent mapping, plus the remote IP for address-dependent, plus the remote
//!   port for address-and-port-dependent. An external (IP, port, protocol) belongs to one
//!   mapping at a time; UDP and TCP have separate port spaces.
//! * **Filtering** (RFC 4787 §5). Endpoint-independent: any remote may send to a live
//!   mapping. Address-dependent: only remote IPs the mapping has sent to. Address-and-port-
//!   dependent: only remote IP:ports it has sent to. A UDP permission expires
//!   [`NatConfig::udp_timeout`] after the last outbound packet to that remote.
//! * **Lifetime** (RFC 4787 §4.3). A UDP mapping expires `udp_timeout` after its last refresh:
//!   every outbound packet, and inbound packets that pass filtering if
//!   [`NatConfig::inbound_refresh`]. State is alive while `now < deadline`; expired state
//!   behaves as absent: every call purges what expired at or before its `now`, and
//!   [`Nat::handle_timeout`] does so for an idle NAT.
//! * **Port allocation** (RFC 4787 §4.2). See [`PortAllocation`]. Ports are allocated per
//!   (protocol, external IP). A full range drops the packet with [`DropReason::PortsExhausted`].
//! * **Pooling** (RFC 4787 §4.1). See [`Pooling`]. The pool of a new mapping is the public
//!   addresses of the destination's family.
//! * **Hairpinning** (RFC 4787 §6, RFC 5382 §7.2). An outbound packet to a public address of
//!   the NAT is first translated like any outbound packet (creating or refreshing the sender's
//!   mapping and permission), then handled as inbound with the sender's external address as
//!   its source: filtering applies, and the result is [`Verdict::Hairpin`]. With hairpinning
//!   off, it is dropped ([`DropReason::NoHairpin`]) after the translation.
//! * **TCP** (RFC 5382). Mappings follow the same mapping behaviour; each holds one tracked
//!   connection per remote endpoint (state diagram in the `tcp` module). Only an outbound SYN
//!   creates a mapping; an inbound SYN opens a connection on an existing mapping if filtering
//!   allows (which makes simultaneous-open hole punching work) and is otherwise dropped. A
//!   connection uses the transitory timeout until a SYN has been seen both ways, the
//!   established timeout after, and the transitory timeout again after FIN both ways or an
//!   RST. Segments in either direction refresh it. A TCP mapping lives while one of its
//!   connections does. RFC 5382 REQ-4 (hold an unsolicited SYN for 6 s, then ICMP) is reduced
//!   to a silent drop: the simulator has no ICMP.
//! * **Port forwards.** See [`PortForward`].
//! * **State loss.** [`Nat::flush`] drops every dynamic mapping; [`Nat::reboot`] also resets
//!   the sequential cursors and the paired assignments and can change the public addresses.
//! * **Determinism** (RFC 4787 §8). The same configuration, seed and packet sequence always
//!   give the same verdicts: all state is in `BTreeMap`s and every random choice comes from
//!   `seed.rng()`.
//! * **Cost.** A packet costs O(log n) in the number of mappings (`BTreeMap` lookups and
//!   one ordered deadline index).
//!
//! Not modelled: port parity and contiguity (RFC 4787 §4.2.2, §4.2.3), ICMP (§9),
//! fragmentation (§10), ALGs (§7).
//!
//! # Drive contract
//!
//! The NAT answers each packet synchronously: there is nothing to drain. Between packets, a
//! driver calls [`Nat::handle_timeout`] at [`Nat::poll_timeout`] so that expired state is
//! released. `now` must not go backwards.
//!
//! # Example
//!
//! A port-restricted cone NAT: an endpoint's mapping lets its server answer, but not a
//! stranger, until the endpoint has sent to the stranger too.
//!
//! ```
//! use sim_core::{Seed, SimInstant};
//! use sim_nat::{Behaviour, DropReason, Nat, NatConfig, PacketMeta, Verdict};
//! use std::net::SocketAddr;
//! use std::time::Duration;
//!
//! let addr = |s: &str| s.parse::<SocketAddr>().unwrap();
//! let config = NatConfig::new(
//!     Behaviour::EndpointIndependent,
//!     Behaviour::AddressAndPortDependent,
//!     vec!["198.51.100.1".parse().unwrap()],
//! );
//! let mut nat = Nat::new(config, Seed::new(7)).unwrap();
//! let (phone, server, stranger) = (addr("10.0.0.2:5060"), addr("203.0.113.10:5060"), addr("203.0.113.99:4000"));
//! let mut now = SimInstant::ZERO;
//!
//! // The phone registers: the source is translated, preserving the port.
//! let out = nat.outbound(now, &PacketMeta::udp(phone, server));
//! let external = addr("198.51.100.1:5060");
//! assert_eq!(out, Verdict::Forward { src: external, dst: server });
//!
//! // The server answers on the mapping; a stranger is filtered.
//! now += Duration::from_millis(20);
//! assert_eq!(
//!     nat.inbound(now, &PacketMeta::udp(server, external)),
//!     Verdict::Forward { src: server, dst: phone },
//! );
//! assert_eq!(
//!     nat.inbound(now, &PacketMeta::udp(stranger, external)),
//!     Verdict::Drop(DropReason::Filtered),
//! );
//!
//! // Without keepalives the mapping expires after the UDP timeout (120 s by default).
//! assert_eq!(nat.poll_timeout(), Some(SimInstant::ZERO + Duration::from_secs(120)));
//! now = nat.poll_timeout().unwrap();
//! nat.handle_timeout(now);
//! assert_eq!(nat.mapping_count(), 0);
//! assert_eq!(
//!     nat.inbound(now, &PacketMeta::udp(server, external)),
//!     Verdict::Drop(DropReason::NoMapping),
//! );
//! ```
#![warn(missing_docs)]

mod alloc;
mod config;
mod nat;
mod packet;
mod table;
mod tcp;

#[cfg(test)]
mod tests;

pub use config::{
    Behaviour, NatConfig, NatConfigError, Pooling, PortAllocation, PortForward, TimeoutKind,
};
pub use nat::Nat;
pub use packet::{DropReason, MappingScope, MappingView, PacketMeta, TcpFlags, Verdict};

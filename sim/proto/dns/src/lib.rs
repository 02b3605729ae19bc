//! Sans-IO DNS for natlab.
//!
//! * [`message`]: RFC 1035 messages (header, question, A/AAAA/CNAME records), encoded
//!   uncompressed, decoded with compression pointers and loop protection; decoding never
//!   panics.
//! * [`DnsServer`]: an authoritative server for a flat zone of A/AAAA records, a
//!   [`sim_core::Node`] on UDP port 53, with a [`DnsPolicy`] (drop, or an RCODE for every
//!   query or per name) to produce every pjlib-util DNS error.
//! * [`Resolver`]: a sub-core with pjlib-util's resolver behaviour (timing, nameserver
//!   selection, cache) that an endpoint core embeds; its failures carry the pjlib status
//!   codes ([`DnsError::status`]) and its outcomes become `dns-resolved` / `dns-failed`
//!   [`sim_core::LogEvent`]s.

pub mod message;
mod resolver;
mod server;

pub use message::{DecodeError, Message};
pub use resolver::{
    BAD_NS_TTL, DnsError, GOOD_NS_TTL, INVALID_TTL, MAX_CACHE_TTL, QueryId, RESOLVER_EVENT_NAMES,
    RETRANSMIT_DELAY, Resolution, Resolver, ResolverSettings, TRANSMIT_COUNT,
};
pub use server::{
    DnsAction, DnsPolicy, DnsServer, DnsServerConfig, SERVER_EVENT_NAMES, ServerEvent,
};

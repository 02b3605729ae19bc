//! Sans-IO SIP core: messages, digest authentication, transactions, a registrar/proxy with an
//! operator's trunk policies, and a softphone.
//!
//! * [`message`]: parsing (UDP datagrams, TCP stream framing with RFC 5626 keep-alives),
//!   typed accessors, building, serialization.
//! * [`digest`]: RFC 7616/2617 Digest, client and server (MD5, SHA-256, qop=auth, stale
//!   nonces, nonce-count replay checks).
//! * [`transaction`]: RFC 3261 §17 client and server transactions with timers A–K.
//! * [`server`]: [`SipServer`], the registrar and stateful proxy with trunk policies.
//! * [`sdp`]: the audio SDP of offers and answers.
//! * [`ua`]: [`Softphone`], the softphone endpoint with the SDK's API and callbacks.

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
pub use ua::{Softphone, SoftphoneConfig, SoftphoneEvent};

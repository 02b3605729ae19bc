//! Sans-IO SIP core: messages, digest authentication, transactions, a registrar/proxy with an
//! operator's trunk policies, and a softphone.
//!
//! * [`message`]: parsing (UDP datagrams, TCP stream framing with RFC 5626 keep-alives),
//!   typed accessors, building, serialization.

pub mod message;

pub use message::{Frame, Method, SipMessage, StreamFramer};
use sim_core as _;

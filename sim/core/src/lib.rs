//! The vocabulary every natlab crate shares.
//!
//! * [`SimInstant`]: microseconds since the start of a run. Protocol cores never read a clock;
//!   drivers hand them `now` as a `SimInstant`.
//! * [`Seed`]: the one scenario seed and the named sub-seeds derived from it, so that each NAT,
//!   link and endpoint has its own reproducible random stream.
//! * [`Datagram`], [`Transmit`], [`StreamCommand`], [`StreamEvent`]: what cores exchange with the
//!   network.
//! * [`Node`]: the sans-IO surface of every core (`handle_*` inputs, `poll_*` outputs).
//! * [`Addresses`], [`Bind`], [`Bound`]: what a node knows of where it is, and the ports it asks
//!   for at run time.
//! * [`LogEvent`]: the one shape every core's events take in a run's event log.
//!
//! # The drive contract
//!
//! A driver first binds [`Node::bindings`] (answering each with `handle_bound`), then calls
//! `handle_start` with the node's addresses. After any input (`handle_datagram`,
//! `handle_stream`, `handle_timeout`, `handle_bound`, `handle_address_change` or a verb-named
//! command),
//! a driver drains `poll_transmit` until it returns `None`, drains `poll_event`, then sleeps until
//! `poll_timeout` (or the next input, whichever comes first):
//!
//! ```
//! use sim_core::{Node, SimInstant};
//!
//! fn step<N: Node>(node: &mut N, now: SimInstant, sink: &mut Vec<N::Event>) -> Option<SimInstant> {
//!     node.handle_timeout(now);
//!     while let Some(_transmit) = node.poll_transmit() { /* hand it to the network */ }
//!     while let Some(event) = node.poll_event() { sink.push(event); }
//!     node.poll_timeout()
//! }
//! ```

mod event;
mod net;
mod node;
mod seed;
mod time;

pub use event::{LogEvent, SipSummary};
pub use net::{
    Addresses, Bind, BindError, BindId, Binding, Bound, Datagram, Protocol, StreamCommand,
    StreamError, StreamEvent, StreamId, Transmit,
};
pub use node::Node;
pub use seed::{Seed, SimRng};
/// The process-wide entropy source (the scenario seed inside a simulated run). Re-exported so
/// that every binary linking `sim-core` links getrandom's custom backend too.
pub use sim_entropy as entropy;
pub use time::SimInstant;

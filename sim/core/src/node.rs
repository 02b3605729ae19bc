use crate::{Addresses, Binding, Bound, Datagram, SimInstant, StreamEvent, Transmit};

/// The sans-IO surface of a protocol core.
///
/// A core owns its state and nothing else: no clock, no socket, no unseeded randomness. Inputs
/// come in through `handle_*` with the current simulated time; outputs are pulled with `poll_*`.
/// See the crate documentation for the drive contract.
pub trait Node {
    /// What the core reports (registration done, probe received, ICE failed...).
    type Event;

    /// Ports to listen on from the start (and again after a restart). Each is answered by
    /// [`Node::handle_bound`] (with no id) before [`Node::handle_start`].
    fn bindings(&self) -> Vec<Binding>;

    /// The node starts (or restarts after a crash) at `now` with these addresses. Called once,
    /// after the start bindings are bound and before any other input.
    fn handle_start(&mut self, now: SimInstant, addresses: Addresses) {
        let _ = (now, addresses);
    }

    /// The node was renumbered (an IP change): sockets stay bound, on the new address.
    fn handle_address_change(&mut self, now: SimInstant, old: Addresses, new: Addresses) {
        let _ = (now, old, new);
    }

    /// A bind finished: a start binding or a [`Transmit::Bind`] request.
    fn handle_bound(&mut self, now: SimInstant, bound: Bound) {
        let _ = (now, bound);
    }

    /// A datagram arrived on one of the node's UDP ports.
    fn handle_datagram(&mut self, now: SimInstant, datagram: Datagram);

    /// Something happened on one of the node's TCP connections. Cores without TCP ignore it.
    fn handle_stream(&mut self, now: SimInstant, event: StreamEvent) {
        let _ = (now, event);
    }

    /// The deadline last returned by [`Node::poll_timeout`] passed.
    fn handle_timeout(&mut self, now: SimInstant);

    /// The next thing to send, if any.
    fn poll_transmit(&mut self) -> Option<Transmit>;

    /// The next event to report, if any.
    fn poll_event(&mut self) -> Option<Self::Event>;

    /// When the core next wants [`Node::handle_timeout`], if ever.
    fn poll_timeout(&self) -> Option<SimInstant>;
}

//! The cores the world runs, behind one enum, and what they report.

use sim_core::{
    Addresses, Binding, Bound, Datagram, LogEvent, Node, SimInstant, StreamEvent, Transmit,
};
pub use sim_probe::{Observation, ProbeKind, Series, TcpProbe, UdpProbe, Wire};

/// What a running core reports: a probe's observation (traffic is counted, lifecycle events are
/// logged) or an event for the event log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeEvent {
    /// A probe's observation.
    Probe(Observation),
    /// Any other core's event.
    Log(LogEvent),
}

/// Any core the world can run.
#[derive(Debug)]
pub enum SimNode {
    /// A UDP probe.
    UdpProbe(UdpProbe),
    /// A TCP probe.
    TcpProbe(TcpProbe),
}

impl Node for SimNode {
    type Event = NodeEvent;

    fn bindings(&self) -> Vec<Binding> {
        match self {
            Self::UdpProbe(n) => n.bindings(),
            Self::TcpProbe(n) => n.bindings(),
        }
    }

    fn handle_start(&mut self, now: SimInstant, addresses: Addresses) {
        match self {
            Self::UdpProbe(n) => n.handle_start(now, addresses),
            Self::TcpProbe(n) => n.handle_start(now, addresses),
        }
    }

    fn handle_address_change(&mut self, now: SimInstant, old: Addresses, new: Addresses) {
        match self {
            Self::UdpProbe(n) => n.handle_address_change(now, old, new),
            Self::TcpProbe(n) => n.handle_address_change(now, old, new),
        }
    }

    fn handle_bound(&mut self, now: SimInstant, bound: Bound) {
        match self {
            Self::UdpProbe(n) => n.handle_bound(now, bound),
            Self::TcpProbe(n) => n.handle_bound(now, bound),
        }
    }

    fn handle_datagram(&mut self, now: SimInstant, datagram: Datagram) {
        match self {
            Self::UdpProbe(n) => n.handle_datagram(now, datagram),
            Self::TcpProbe(n) => n.handle_datagram(now, datagram),
        }
    }

    fn handle_stream(&mut self, now: SimInstant, event: StreamEvent) {
        match self {
            Self::UdpProbe(n) => n.handle_stream(now, event),
            Self::TcpProbe(n) => n.handle_stream(now, event),
        }
    }

    fn handle_timeout(&mut self, now: SimInstant) {
        match self {
            Self::UdpProbe(n) => n.handle_timeout(now),
            Self::TcpProbe(n) => n.handle_timeout(now),
        }
    }

    fn poll_transmit(&mut self) -> Option<Transmit> {
        match self {
            Self::UdpProbe(n) => n.poll_transmit(),
            Self::TcpProbe(n) => n.poll_transmit(),
        }
    }

    fn poll_event(&mut self) -> Option<NodeEvent> {
        match self {
            Self::UdpProbe(n) => n.poll_event().map(NodeEvent::Probe),
            Self::TcpProbe(n) => n.poll_event().map(NodeEvent::Probe),
        }
    }

    fn poll_timeout(&self) -> Option<SimInstant> {
        match self {
            Self::UdpProbe(n) => n.poll_timeout(),
            Self::TcpProbe(n) => n.poll_timeout(),
        }
    }
}

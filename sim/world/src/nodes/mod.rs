//! The cores the world runs, behind one enum, and what they report.

pub mod probe;
mod sip_ping;
pub mod tcp_probe;

use probe::UdpProbe;
use sim_core::{Binding, Datagram, Node, SimInstant, StreamEvent, Transmit};
use std::net::SocketAddr;
use tcp_probe::TcpProbe;

/// Whether a received probe packet was a probe or an echo reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProbeKind {
    /// Sent by another probe's `send`.
    Probe,
    /// An echo reply.
    Echo,
}

/// What a node reports. Every observation is recorded with the time and the node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Observation {
    /// A probe was sent.
    ProbeSent {
        /// Destination.
        to: SocketAddr,
        /// Local port.
        from_port: u16,
        /// Sequence number.
        seq: u64,
    },
    /// A probe or echo arrived.
    ProbeReceived {
        /// Probe or echo.
        kind: ProbeKind,
        /// Id of the sending node, as its payload says (`None` for foreign traffic).
        from: Option<u32>,
        /// The sender's local port, as its payload says.
        from_port: Option<u16>,
        /// Sequence number, as the payload says.
        seq: Option<u64>,
        /// Source address as the packet arrived (after every NAT).
        src: SocketAddr,
        /// Local port it arrived on.
        port: u16,
        /// For an echo: the address the echoing node saw the probe come from.
        seen: Option<SocketAddr>,
    },
    /// A TCP connection was established.
    StreamOpened {
        /// The remote end, as this node sees it.
        remote: SocketAddr,
        /// Accepted by a listener (else opened by this node).
        accepted: bool,
    },
    /// A TCP connection this node had failed.
    StreamFailed {
        /// The remote end.
        remote: SocketAddr,
        /// Why: refused, reset, timed out.
        error: String,
    },
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
    type Event = Observation;

    fn bindings(&self) -> Vec<Binding> {
        match self {
            Self::UdpProbe(n) => n.bindings(),
            Self::TcpProbe(n) => n.bindings(),
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

    fn poll_event(&mut self) -> Option<Observation> {
        match self {
            Self::UdpProbe(n) => n.poll_event(),
            Self::TcpProbe(n) => n.poll_event(),
        }
    }

    fn poll_timeout(&self) -> Option<SimInstant> {
        match self {
            Self::UdpProbe(n) => n.poll_timeout(),
            Self::TcpProbe(n) => n.poll_timeout(),
        }
    }
}

use bytes::Bytes;
use std::fmt;
use std::net::SocketAddr;

/// The transport protocol of a binding or a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// UDP.
    Udp,
    /// TCP.
    Tcp,
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Udp => "udp",
            Self::Tcp => "tcp",
        })
    }
}

/// A UDP datagram, as a core receives it or asks for it to be sent.
///
/// On transmit, `src` names the local port to send from; an unspecified IP (`0.0.0.0`/`::`)
/// means "this node's address", which the driver fills in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Datagram {
    /// Sender address (for received datagrams: as the network delivered it, i.e. after NAT).
    pub src: SocketAddr,
    /// Destination address.
    pub dst: SocketAddr,
    /// The UDP payload.
    pub payload: Bytes,
}

/// A port a node listens on from the moment it starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Binding {
    /// UDP socket or TCP listener.
    pub protocol: Protocol,
    /// Local port.
    pub port: u16,
}

/// Identifies one TCP connection of a node.
///
/// Connections a node opens carry the id it chose in [`StreamCommand::Connect`] (top bit clear);
/// connections it accepts get ids from the transport with the top bit set, so they never collide.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId(pub u64);

impl StreamId {
    /// The bit that marks transport-assigned (accepted) ids.
    pub const ACCEPTED: u64 = 1 << 63;

    /// Whether the transport assigned this id to an accepted connection.
    pub const fn is_accepted(self) -> bool {
        self.0 & Self::ACCEPTED != 0
    }
}

/// What a core asks of a TCP connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StreamCommand {
    /// Open a connection to `dst`, later reported by [`StreamEvent::Connected`] or
    /// [`StreamEvent::Failed`].
    Connect {
        /// The id the core chose (top bit clear).
        id: StreamId,
        /// Remote address.
        dst: SocketAddr,
    },
    /// Queue bytes on an open connection.
    Send {
        /// Connection.
        id: StreamId,
        /// Bytes, delivered in order.
        data: Bytes,
    },
    /// Close gracefully (FIN) once queued bytes are sent.
    Close {
        /// Connection.
        id: StreamId,
    },
    /// Reset the connection (RST).
    Abort {
        /// Connection.
        id: StreamId,
    },
}

/// What happened on a TCP connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StreamEvent {
    /// A listener accepted a connection.
    Accepted {
        /// Transport-assigned id (top bit set).
        id: StreamId,
        /// Local address of the connection.
        local: SocketAddr,
        /// Remote address, as seen after any NAT.
        remote: SocketAddr,
    },
    /// An outgoing connection is established.
    Connected {
        /// Connection.
        id: StreamId,
        /// Local address chosen for it.
        local: SocketAddr,
    },
    /// Bytes arrived, in order.
    Data {
        /// Connection.
        id: StreamId,
        /// The bytes.
        data: Bytes,
    },
    /// The peer closed its side (FIN) and every byte was delivered.
    Closed {
        /// Connection.
        id: StreamId,
    },
    /// The connection failed.
    Failed {
        /// Connection.
        id: StreamId,
        /// Why.
        error: StreamError,
    },
}

/// Why a TCP connection failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamError {
    /// The peer or a middlebox reset it.
    Reset,
    /// The connection attempt or a retransmission ran out of time.
    TimedOut,
    /// Nothing listens at the destination.
    Refused,
}

impl fmt::Display for StreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Reset => "connection reset",
            Self::TimedOut => "connection timed out",
            Self::Refused => "connection refused",
        })
    }
}

/// What a core asks the network to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transmit {
    /// Send a UDP datagram.
    Datagram(Datagram),
    /// Act on a TCP connection.
    Stream(StreamCommand),
}

impl From<Datagram> for Transmit {
    fn from(d: Datagram) -> Self {
        Self::Datagram(d)
    }
}

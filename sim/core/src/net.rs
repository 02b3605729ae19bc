use bytes::Bytes;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

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

/// A port a node listens on: a UDP socket or a TCP listener. Port 0 asks for any free
/// (ephemeral) port; the core learns which one from [`Bound`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Binding {
    /// UDP socket or TCP listener.
    pub protocol: Protocol,
    /// Local port.
    pub port: u16,
}

impl Binding {
    /// A UDP socket on `port`.
    pub const fn udp(port: u16) -> Self {
        Self {
            protocol: Protocol::Udp,
            port,
        }
    }

    /// A TCP listener on `port`.
    pub const fn tcp(port: u16) -> Self {
        Self {
            protocol: Protocol::Tcp,
            port,
        }
    }
}

/// Names one run-time bind request of a core, so it can tell the answers apart (several port-0
/// requests may be in flight).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BindId(pub u32);

/// A core asks for a port at run time (a TURN relay allocation, an ICE host candidate, a new
/// listener). The answer comes back through [`crate::Node::handle_bound`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bind {
    /// The core's name for the request.
    pub id: BindId,
    /// What to bind.
    pub binding: Binding,
}

/// Why a bind failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BindError {
    /// The port is already bound by this node (or, live, by anyone on this address).
    InUse,
    /// No ephemeral port is free.
    NoFreePort,
    /// The operating system refused (live mode): its message.
    Os(String),
}

impl fmt::Display for BindError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InUse => f.write_str("port already in use"),
            Self::NoFreePort => f.write_str("no free ephemeral port"),
            Self::Os(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for BindError {}

/// The answer to a bind: the port asked for and the local address it got.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bound {
    /// The request's id; `None` for the ports of [`crate::Node::bindings`], bound at start.
    pub id: Option<BindId>,
    /// What was asked (port 0 for an ephemeral port).
    pub binding: Binding,
    /// The local address it got (its port is the real one), or why not.
    pub result: Result<SocketAddr, BindError>,
}

/// A node's own addresses on its network: at most one per family.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Addresses {
    /// Its IPv4 address, if it has one.
    pub v4: Option<Ipv4Addr>,
    /// Its IPv6 address, if it has one.
    pub v6: Option<Ipv6Addr>,
}

impl Addresses {
    /// A single-stack node at `ip`.
    pub const fn single(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Self {
                v4: Some(v4),
                v6: None,
            },
            IpAddr::V6(v6) => Self {
                v4: None,
                v6: Some(v6),
            },
        }
    }

    /// The address to use towards `remote`: the same family, else any.
    pub fn towards(&self, remote: IpAddr) -> Option<IpAddr> {
        let same = match remote {
            IpAddr::V4(_) => self.v4.map(IpAddr::V4),
            IpAddr::V6(_) => self.v6.map(IpAddr::V6),
        };
        same.or_else(|| self.primary())
    }

    /// The IPv4 address if there is one, else the IPv6 one.
    pub fn primary(&self) -> Option<IpAddr> {
        self.v4.map(IpAddr::V4).or_else(|| self.v6.map(IpAddr::V6))
    }

    /// Every address, IPv4 first.
    pub fn iter(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.v4
            .map(IpAddr::V4)
            .into_iter()
            .chain(self.v6.map(IpAddr::V6))
    }
}

impl fmt::Display for Addresses {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for ip in self.iter() {
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            write!(f, "{ip}")?;
        }
        if first {
            f.write_str("none")?;
        }
        Ok(())
    }
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
    /// Bind a port now; answered by [`crate::Node::handle_bound`].
    Bind(Bind),
    /// Close a UDP socket or stop a TCP listener (open connections stay up).
    Unbind(Binding),
}

impl From<Datagram> for Transmit {
    fn from(d: Datagram) -> Self {
        Self::Datagram(d)
    }
}

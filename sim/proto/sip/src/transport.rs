//! Flows (a UDP 5-tuple or a TCP connection) and the bookkeeping both the server and the
//! softphone need for them.

use crate::message::{Frame, ParseError, SipMessage, StreamFramer};
use bytes::Bytes;
use rand_core::RngCore;
use sim_core::{Datagram, Protocol, SimRng, StreamCommand, StreamId, Transmit};
use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// Where a message came from or goes to: a UDP port pair or a TCP connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Flow {
    /// UDP from/to `remote`, on the local port `local_port`.
    Udp {
        /// The local UDP port.
        local_port: u16,
        /// The remote address (after NAT).
        remote: SocketAddr,
    },
    /// A TCP connection.
    Tcp {
        /// The connection.
        id: StreamId,
        /// The remote address (after NAT).
        remote: SocketAddr,
    },
}

impl Flow {
    /// Whether the transport is reliable (TCP): no retransmissions.
    pub const fn reliable(&self) -> bool {
        matches!(self, Self::Tcp { .. })
    }

    /// The remote address.
    pub const fn remote(&self) -> SocketAddr {
        match self {
            Self::Udp { remote, .. } | Self::Tcp { remote, .. } => *remote,
        }
    }

    /// UDP or TCP.
    pub const fn protocol(&self) -> Protocol {
        match self {
            Self::Udp { .. } => Protocol::Udp,
            Self::Tcp { .. } => Protocol::Tcp,
        }
    }

    /// The Via transport token.
    pub const fn via_transport(&self) -> &'static str {
        match self {
            Self::Udp { .. } => "UDP",
            Self::Tcp { .. } => "TCP",
        }
    }

    /// The transmit for `payload` on this flow.
    pub fn transmit(&self, payload: Bytes) -> Transmit {
        match *self {
            Self::Udp { local_port, remote } => {
                let unspecified = match remote.ip() {
                    IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                    IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
                };
                Transmit::Datagram(Datagram {
                    src: SocketAddr::new(unspecified, local_port),
                    dst: remote,
                    payload,
                })
            }
            Self::Tcp { id, .. } => Transmit::Stream(StreamCommand::Send { id, data: payload }),
        }
    }
}

impl fmt::Display for Flow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Udp { remote, .. } => write!(f, "udp {remote}"),
            Self::Tcp { id, remote } => write!(f, "tcp {remote} (stream {})", id.0),
        }
    }
}

/// A TCP connection's state.
#[derive(Clone, Debug)]
pub(crate) struct Conn {
    pub(crate) remote: SocketAddr,
    pub(crate) framer: StreamFramer,
    pub(crate) open: bool,
}

/// Every TCP connection of a node.
#[derive(Clone, Debug, Default)]
pub(crate) struct Conns {
    pub(crate) map: BTreeMap<StreamId, Conn>,
}

impl Conns {
    pub(crate) fn insert(&mut self, id: StreamId, remote: SocketAddr, open: bool) {
        self.map.insert(
            id,
            Conn {
                remote,
                framer: StreamFramer::new(),
                open,
            },
        );
    }

    pub(crate) fn is_open(&self, id: StreamId) -> bool {
        self.map.get(&id).is_some_and(|c| c.open)
    }

    /// Feeds bytes; returns the frames (and errors) now complete.
    pub(crate) fn data(&mut self, id: StreamId, data: &[u8]) -> Vec<Result<Frame, ParseError>> {
        let Some(c) = self.map.get_mut(&id) else {
            return Vec::new();
        };
        c.framer.push(data);
        std::iter::from_fn(|| c.framer.next_frame()).collect()
    }

    pub(crate) fn close(&mut self, id: StreamId) {
        if let Some(c) = self.map.get_mut(&id) {
            c.open = false;
        }
    }
}

/// A random hex token from the seeded RNG.
pub(crate) fn token(rng: &mut SimRng, bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rng.fill_bytes(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new RFC 3261 branch (magic cookie + random).
pub(crate) fn branch(rng: &mut SimRng) -> String {
    format!("z9hG4bK{}", token(rng, 8))
}

/// Where a UDP response to `req` received on `flow` goes (RFC 3261 §18.2.2, RFC 3581 §4):
/// with rport (or `force_rport`) to the source address and port, else to the source IP and
/// the Via sent-by port.
pub(crate) fn response_flow(req: &SipMessage, flow: Flow, force_rport: bool) -> Flow {
    match flow {
        Flow::Udp { local_port, remote } => {
            let Some(via) = req.top_via() else {
                return flow;
            };
            if via.rport().is_some() || force_rport {
                return flow;
            }
            let port = via.port.unwrap_or(5060);
            Flow::Udp {
                local_port,
                remote: SocketAddr::new(remote.ip(), port),
            }
        }
        Flow::Tcp { .. } => flow,
    }
}

/// Stamps `received` and `rport` on the top Via of a request received on `flow` (RFC 3261
/// §18.2.1, RFC 3581 §4).
pub(crate) fn stamp_via(req: &mut SipMessage, flow: Flow, force_rport: bool) {
    let Some(i) = req
        .headers
        .iter()
        .position(|h| h.name.eq_ignore_ascii_case("Via"))
    else {
        return;
    };
    let items = crate::message::split_list(&req.headers[i].value);
    let Some(first) = items.first() else { return };
    let Some(mut via) = crate::message::Via::parse(first) else {
        return;
    };
    let src = flow.remote();
    if via.host.parse::<IpAddr>().ok() != Some(src.ip()) {
        via.params.set("received", Some(src.ip().to_string()));
    }
    if via.rport().is_some() || force_rport {
        via.params.set("rport", Some(src.port().to_string()));
        via.params.set("received", Some(src.ip().to_string()));
    }
    let mut rest: Vec<String> = vec![via.to_string()];
    rest.extend(items.iter().skip(1).map(|s| (*s).to_string()));
    req.headers[i].value = rest.join(", ");
}

//! What the NAT is asked about (a packet's addresses and TCP flags) and what it answers.

use sim_core::{Protocol, SimInstant};
use std::fmt;
use std::net::{IpAddr, SocketAddr};

/// The part of a packet a NAT looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketMeta {
    /// UDP or TCP.
    pub protocol: Protocol,
    /// Source address as the packet arrives at the NAT.
    pub src: SocketAddr,
    /// Destination address as the packet arrives at the NAT.
    pub dst: SocketAddr,
    /// TCP flags; `None` on a TCP packet means a segment with none of the tracked flags (data
    /// or a bare ACK). Ignored for UDP.
    pub tcp: Option<TcpFlags>,
}

impl PacketMeta {
    /// A UDP datagram.
    pub const fn udp(src: SocketAddr, dst: SocketAddr) -> Self {
        Self {
            protocol: Protocol::Udp,
            src,
            dst,
            tcp: None,
        }
    }

    /// A TCP segment.
    pub const fn tcp(src: SocketAddr, dst: SocketAddr, flags: TcpFlags) -> Self {
        Self {
            protocol: Protocol::Tcp,
            src,
            dst,
            tcp: Some(flags),
        }
    }

    pub(crate) fn flags(&self) -> TcpFlags {
        self.tcp.unwrap_or_default()
    }
}

/// The TCP flags connection tracking looks at (RFC 5382 §5).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TcpFlags {
    /// SYN: opens a connection (a SYN-ACK is a SYN in the other direction).
    pub syn: bool,
    /// ACK.
    pub ack: bool,
    /// FIN: closes one direction.
    pub fin: bool,
    /// RST: aborts the connection.
    pub rst: bool,
}

impl TcpFlags {
    /// A connection request.
    pub const SYN: Self = Self {
        syn: true,
        ack: false,
        fin: false,
        rst: false,
    };
    /// The answer to a connection request.
    pub const SYN_ACK: Self = Self {
        syn: true,
        ack: true,
        fin: false,
        rst: false,
    };
    /// A data segment or bare acknowledgement.
    pub const ACK: Self = Self {
        syn: false,
        ack: true,
        fin: false,
        rst: false,
    };
    /// A graceful close of one direction.
    pub const FIN: Self = Self {
        syn: false,
        ack: true,
        fin: true,
        rst: false,
    };
    /// A reset.
    pub const RST: Self = Self {
        syn: false,
        ack: false,
        fin: false,
        rst: true,
    };

    /// Whether the segment may open a connection (SYN without RST).
    pub const fn opens(self) -> bool {
        self.syn && !self.rst
    }
}

/// What the NAT does with a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Send it on with these addresses. Outbound: `src` is translated to the external address
    /// and `dst` is unchanged. Inbound: `dst` is translated to the internal address and `src`
    /// is unchanged.
    Forward {
        /// Source after translation.
        src: SocketAddr,
        /// Destination after translation.
        dst: SocketAddr,
    },
    /// Deliver it back into the LAN (RFC 4787 §6): `src` is the sender's external address
    /// (REQ-9b, "external source IP address and port") and `dst` the internal target.
    Hairpin {
        /// The sender's external address.
        src: SocketAddr,
        /// The internal target.
        dst: SocketAddr,
    },
    /// Discard it.
    Drop(DropReason),
}

impl Verdict {
    /// The reason, if the packet is dropped.
    pub const fn drop_reason(&self) -> Option<DropReason> {
        match self {
            Self::Drop(reason) => Some(*reason),
            Self::Forward { .. } | Self::Hairpin { .. } => None,
        }
    }
}

/// Why a packet was dropped. The display forms are short lowercase phrases for capture
/// comments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum DropReason {
    /// No live mapping (or port forward) for the destination, or an outbound TCP segment
    /// other than a SYN with no mapping to use.
    NoMapping,
    /// The mapping exists but its filtering behaviour refuses this remote (RFC 4787 §5).
    Filtered,
    /// A LAN host addressed a public address of the NAT and hairpinning is off (RFC 4787 §6).
    NoHairpin,
    /// No free external port for a new mapping.
    PortsExhausted,
    /// A TCP mapping exists and this remote may use it, but the segment belongs to no tracked
    /// connection and is not a SYN.
    NoConnection,
    /// An inbound packet addressed to an IP that is not one of the NAT's public addresses.
    NotOurAddress,
    /// The NAT has no public address of the destination's family (IPv4 / IPv6).
    NoAddressOfFamily,
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NoMapping => "no mapping",
            Self::Filtered => "filtered",
            Self::NoHairpin => "hairpinning disabled",
            Self::PortsExhausted => "ports exhausted",
            Self::NoConnection => "no tcp connection",
            Self::NotOurAddress => "not a nat address",
            Self::NoAddressOfFamily => "no public address of that family",
        })
    }
}

/// Which remotes share a mapping: the remote part of its key, set by the mapping behaviour
/// (RFC 4787 §4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MappingScope {
    /// Endpoint-independent: every remote (also every static port forward).
    Any,
    /// Address-dependent: remotes at this IP.
    Address(IpAddr),
    /// Address-and-port-dependent: this remote endpoint only.
    Endpoint(SocketAddr),
}

/// A live mapping, for reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MappingView {
    /// UDP or TCP.
    pub protocol: Protocol,
    /// The LAN endpoint.
    pub internal: SocketAddr,
    /// Its public address.
    pub external: SocketAddr,
    /// Which remotes share it.
    pub scope: MappingScope,
    /// When it expires unless refreshed; `None` for a static port forward. For TCP, the
    /// latest deadline of its connections.
    pub expires: Option<SimInstant>,
}

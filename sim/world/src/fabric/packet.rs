//! Packets as the fabric carries them: overlay addresses, transport header fields, payload, and
//! where they have been.

use bytes::Bytes;
use std::fmt;
use std::net::SocketAddr;

/// Index of a node (server or endpoint) in the fabric.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub u32);

/// Index of a NAT box in the fabric.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NatId(pub u32);

/// Index of a network (0 is the public network).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NetworkId(pub u32);

/// Something a fault can name: a node or a NAT.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Entity {
    /// A node.
    Node(NodeId),
    /// A NAT box.
    Nat(NatId),
}

/// Where a packet enters or leaves a network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Attachment {
    /// A node's interface.
    Node(NodeId),
    /// A NAT's LAN-side interface.
    NatInside(NatId),
    /// A NAT's upstream interface.
    NatOutside(NatId),
}

impl Attachment {
    /// The node or NAT owning the interface.
    pub const fn entity(self) -> Entity {
        match self {
            Self::Node(n) => Entity::Node(n),
            Self::NatInside(n) | Self::NatOutside(n) => Entity::Nat(n),
        }
    }
}

/// TCP header flags the fabric, the NATs and the capture care about.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpFlags {
    /// SYN.
    pub syn: bool,
    /// ACK.
    pub ack: bool,
    /// FIN.
    pub fin: bool,
    /// RST.
    pub rst: bool,
    /// PSH.
    pub psh: bool,
}

/// TCP header fields of a segment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpHeader {
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgement number (meaningful with `flags.ack`).
    pub ack: u32,
    /// Flags.
    pub flags: TcpFlags,
    /// Receive window.
    pub window: u16,
}

/// The transport layer of a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// UDP.
    Udp,
    /// A TCP segment.
    Tcp(TcpHeader),
}

/// Where a packet has been: the NATs it crossed, in order (at most four are remembered, enough
/// for NAT444 both ways), and the packet-class fault rules that already counted it (one bit per
/// rule).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Via {
    nats: [u32; 4],
    len: u8,
    judged: u64,
}

impl Via {
    fn push(&mut self, nat: NatId) {
        if let Some(slot) = self.nats.get_mut(usize::from(self.len)) {
            *slot = nat.0;
            self.len += 1;
        }
    }

    /// Whether packet rule `rule` already counted this packet (rules past 63 never do).
    pub(crate) fn judged(&self, rule: usize) -> bool {
        u32::try_from(rule)
            .ok()
            .and_then(|r| 1u64.checked_shl(r))
            .is_some_and(|bit| self.judged & bit != 0)
    }

    /// Marks the packet as counted by packet rule `rule`.
    pub(crate) fn judge(&mut self, rule: usize) {
        if let Some(bit) = u32::try_from(rule).ok().and_then(|r| 1u64.checked_shl(r)) {
            self.judged |= bit;
        }
    }

    /// The NATs crossed.
    pub fn iter(&self) -> impl Iterator<Item = NatId> + '_ {
        self.nats
            .iter()
            .take(usize::from(self.len))
            .map(|&n| NatId(n))
    }
}

/// A packet in the fabric.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet {
    /// Source address on the current network.
    pub src: SocketAddr,
    /// Destination address on the current network.
    pub dst: SocketAddr,
    /// UDP or a TCP segment.
    pub transport: Transport,
    /// Transport payload.
    pub payload: Bytes,
    /// The node that first sent it.
    pub origin: NodeId,
    /// NATs it crossed.
    pub via: Via,
    /// IPv4 identification / IPv6 fragment id, unique per packet in a run.
    pub ip_id: u32,
}

impl Packet {
    /// Size of the IP packet: IP header, transport header, payload.
    pub fn ip_len(&self) -> usize {
        let ip = if self.src.is_ipv4() { 20 } else { 40 };
        let l4 = match self.transport {
            Transport::Udp => 8,
            Transport::Tcp(_) => 20,
        };
        ip + l4 + self.payload.len()
    }

    /// How many IP fragments it takes on a link with this MTU (1 when it fits).
    pub fn fragments(&self, mtu: u16) -> usize {
        let len = self.ip_len();
        let mtu = usize::from(mtu);
        if len <= mtu {
            return 1;
        }
        let (header, extra) = if self.src.is_ipv4() { (20, 0) } else { (40, 8) };
        // Fragment payloads are multiples of 8 bytes.
        let per = (mtu.saturating_sub(header + extra) / 8 * 8).max(8);
        (len - header).div_ceil(per)
    }

    /// The packet's transport protocol.
    pub const fn protocol(&self) -> sim_core::Protocol {
        match self.transport {
            Transport::Udp => sim_core::Protocol::Udp,
            Transport::Tcp(_) => sim_core::Protocol::Tcp,
        }
    }

    pub(crate) fn crossed(&mut self, nat: NatId) {
        self.via.push(nat);
    }

    /// The entities a fault rule may name for this packet before it reaches its next hop: its
    /// origin and the NATs it crossed.
    pub(crate) fn path(&self) -> impl Iterator<Item = Entity> + '_ {
        std::iter::once(Entity::Node(self.origin)).chain(self.via.iter().map(Entity::Nat))
    }
}

impl fmt::Display for Packet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let proto = match self.transport {
            Transport::Udp => "udp",
            Transport::Tcp(_) => "tcp",
        };
        write!(
            f,
            "{proto} {} -> {} ({} bytes)",
            self.src,
            self.dst,
            self.payload.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn udp(len: usize, v6: bool) -> Packet {
        let (src, dst) = if v6 {
            (
                "[2001:db8::1]:5000".parse().unwrap(),
                "[2001:db8::2]:5000".parse().unwrap(),
            )
        } else {
            (
                "192.0.2.1:5000".parse().unwrap(),
                "192.0.2.2:5000".parse().unwrap(),
            )
        };
        Packet {
            src,
            dst,
            transport: Transport::Udp,
            payload: Bytes::from(vec![0u8; len]),
            origin: NodeId(0),
            via: Via::default(),
            ip_id: 1,
        }
    }

    #[test]
    fn packet_fragment_count_follows_mtu() {
        assert_eq!(udp(1472, false).fragments(1500), 1);
        assert_eq!(udp(1473, false).fragments(1500), 2);
        // 3000 bytes of UDP payload + 8 header = 3008 over 1480-byte fragments.
        assert_eq!(udp(3000, false).fragments(1500), 3);
        assert_eq!(udp(1452, true).fragments(1500), 1);
        assert_eq!(udp(1453, true).fragments(1500), 2);
    }

    #[test]
    fn packet_via_remembers_four_nats() {
        let mut p = udp(10, false);
        for n in 0..6 {
            p.crossed(NatId(n));
        }
        assert_eq!(
            p.via.iter().collect::<Vec<_>>(),
            vec![NatId(0), NatId(1), NatId(2), NatId(3)]
        );
    }
}

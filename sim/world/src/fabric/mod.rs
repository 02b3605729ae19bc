//! The fabric: the simulated network between nodes, as a sans-IO discrete-event engine.
//!
//! The fabric owns every network segment (the public network and one LAN behind each NAT), each
//! node's and NAT's access link, the NAT boxes, and the fault rules. A packet a node sends is
//! routed hop by hop: over the sender's access link onto its network, over the receiver's link
//! into the next attachment (a node, or a NAT's inside or outside), where a NAT translates it
//! and sends it on over its other side. Every hop is recorded for the capture (LAN hops with
//! private addresses, WAN hops translated), and so is every drop, with its reason.
//!
//! # Time and the drive contract
//! Inputs carry their simulated time: [`Fabric::send`] at the moment a node sent, faults at the
//! moment they happen. [`Fabric::advance`] processes every scheduled arrival up to `now` in
//! `(time, sequence)` order; afterwards drain [`Fabric::poll_delivery`] and
//! [`Fabric::poll_capture`], and wake again at [`Fabric::poll_timeout`]. The fabric reads no
//! clock and draws randomness only from seeded per-link streams, so the same inputs always give
//! the same hops, drops and capture.
//!
//! # Where a hop is recorded
//! A hop on network `N` is recorded once, at the moment it reaches the receiving attachment
//! (after both access links), so the capture of every network is in time order. A packet lost
//! on its sender's link is recorded at the moment it left, with the reason.

mod alg;
mod classify;
mod faults;
mod hop;
mod link;
mod packet;
mod packet_rules;
mod rules;

pub use link::{LinkConfig, LossConfig};
pub use packet::{
    Attachment, Entity, NatId, NetworkId, NodeId, Packet, TcpFlags, TcpHeader, Transport, Via,
};
pub use packet_rules::{
    ClassMatch, Effect, FaultHits, LinkDirection, MAX_PACKET_RULES, PacketRule, PacketRuleError,
    Selection, SipRewrite,
};

use bytes::Bytes;
use link::Link;
use packet_rules::PacketRules;
use rules::Rules;
use sim_core::{Protocol, Seed, SimInstant};
use sim_nat::Nat;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, VecDeque};
use std::fmt;
use std::net::{IpAddr, SocketAddr};

/// Why the fabric dropped a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DropReason {
    /// A NAT's filter refused an inbound packet.
    Filtered,
    /// Inbound to a NAT port without a mapping (never made, expired, flushed).
    NoMapping,
    /// A LAN host addressed its NAT's public address and the NAT does not hairpin.
    NoHairpin,
    /// The NAT had no free external port.
    PortsExhausted,
    /// Lost on a link (loss model or loss burst).
    LinkLoss,
    /// A partition or isolation fault.
    Partition,
    /// A fragmented packet at a NAT that drops fragments.
    Fragment,
    /// The receiving node is crashed or the NAT is down.
    NodeDown,
    /// No attachment owns the destination address.
    NoRoute,
    /// Nothing listens on the destination UDP port.
    PortUnreachable,
    /// A packet-class fault rule dropped it.
    Fault,
}

impl DropReason {
    /// The kebab-case name the scenario language uses.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Filtered => "filtered",
            Self::NoMapping => "no-mapping",
            Self::NoHairpin => "no-hairpin",
            Self::PortsExhausted => "ports-exhausted",
            Self::LinkLoss => "link-loss",
            Self::Partition => "partition",
            Self::Fragment => "fragment",
            Self::NodeDown => "node-down",
            Self::NoRoute => "no-route",
            Self::PortUnreachable => "port-unreachable",
            Self::Fault => "fault",
        }
    }

    fn from_nat(reason: sim_nat::DropReason) -> Self {
        match reason {
            sim_nat::DropReason::Filtered => Self::Filtered,
            sim_nat::DropReason::NoHairpin => Self::NoHairpin,
            sim_nat::DropReason::PortsExhausted => Self::PortsExhausted,
            sim_nat::DropReason::NotOurAddress | sim_nat::DropReason::NoAddressOfFamily => {
                Self::NoRoute
            }
            _ => Self::NoMapping,
        }
    }
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A dropped packet, for expectations and reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DropRecord {
    /// When.
    pub time: SimInstant,
    /// Why.
    pub reason: DropReason,
    /// Where: the attachment at which it died.
    pub at: Attachment,
    /// The node that sent it first.
    pub origin: NodeId,
}

/// A packet handed to a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// The receiving node.
    pub node: NodeId,
    /// The packet, as the node sees it (after every NAT).
    pub packet: Packet,
    /// When it arrived.
    pub time: SimInstant,
}

/// One hop (or drop) for the capture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaptureRecord {
    /// Capture timestamp.
    pub time: SimInstant,
    /// The network it was on.
    pub network: NetworkId,
    /// The sending attachment.
    pub from: Attachment,
    /// The receiving attachment, if the packet got that far.
    pub to: Option<Attachment>,
    /// The packet as it was on this network.
    pub packet: Packet,
    /// The hop's MTU (the smaller of both links'), to fragment the frame as it was carried.
    pub mtu: u16,
    /// Why it was dropped here, if it was.
    pub dropped: Option<(DropReason, String)>,
}

/// What happened to a NAT's mappings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NatChange {
    /// A packet from the LAN made a new mapping.
    Created {
        /// UDP or TCP.
        protocol: Protocol,
        /// The LAN endpoint.
        internal: SocketAddr,
        /// Its public address.
        external: SocketAddr,
    },
    /// A mapping timed out (or its last TCP connection ended).
    Expired {
        /// UDP or TCP.
        protocol: Protocol,
        /// The LAN endpoint.
        internal: SocketAddr,
        /// Its public address.
        external: SocketAddr,
    },
    /// Every dynamic mapping was lost at once: `flush`, `reboot` or `crash`.
    Lost {
        /// How many mappings were held.
        count: usize,
        /// The fault.
        cause: &'static str,
    },
}

/// A NAT mapping change, for the event log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NatRecord {
    /// When.
    pub time: SimInstant,
    /// Which NAT.
    pub nat: NatId,
    /// What.
    pub change: NatChange,
}

/// Counters over a run.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    /// Packets nodes sent.
    pub sent: u64,
    /// Packets delivered to nodes.
    pub delivered: u64,
    /// Hops completed (a packet crossing a NAT makes two).
    pub hops: u64,
    /// Drops by reason.
    pub dropped: BTreeMap<DropReason, u64>,
}

#[derive(Debug)]
struct Network {
    name: String,
    hosts: BTreeMap<IpAddr, Attachment>,
    gateway: Option<NatId>,
}

#[derive(Debug)]
struct NodeState {
    name: String,
    network: NetworkId,
    ip: IpAddr,
    /// Further addresses it answers on and may send from (a STUN server's alternate address).
    aliases: Vec<IpAddr>,
    link: Link,
    up: bool,
    udp: BTreeSet<u16>,
}

#[derive(Debug)]
struct NatState {
    name: String,
    nat: Nat,
    inside: NetworkId,
    upstream: NetworkId,
    link: Link,
    down_until: SimInstant,
    drop_fragments: bool,
    sip_alg: bool,
}

#[derive(Debug)]
struct Hop {
    network: NetworkId,
    from: Attachment,
    to: Attachment,
    packet: Packet,
    mtu: u16,
}

#[derive(Debug)]
struct Scheduled {
    at: SimInstant,
    seq: u64,
    hop: Hop,
    /// The hop leaves its sender again (a packet rule delayed it) instead of arriving.
    resume: bool,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// Errors building or changing the topology.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TopologyError {
    /// Two attachments claim one address on one network.
    #[error("address {ip} is already used on network {network}")]
    AddressInUse {
        /// The address.
        ip: IpAddr,
        /// The network's name.
        network: String,
    },
}

/// The simulated network. See the module documentation.
#[derive(Debug)]
pub struct Fabric {
    seed: Seed,
    now: SimInstant,
    networks: Vec<Network>,
    nodes: Vec<NodeState>,
    nats: Vec<NatState>,
    rules: Rules,
    packet_rules: PacketRules,
    queue: BinaryHeap<Reverse<Scheduled>>,
    seq: u64,
    next_ip_id: u32,
    deliveries: VecDeque<Delivery>,
    capture: Option<VecDeque<CaptureRecord>>,
    drops: Vec<DropRecord>,
    nat_log: Vec<NatRecord>,
    stats: Stats,
}

impl Fabric {
    /// An empty fabric with only the public network (id 0, named `public_name`). With
    /// `capture`, every hop and drop is queued for [`Fabric::poll_capture`].
    pub fn new(seed: Seed, public_name: &str, capture: bool) -> Self {
        Self {
            seed,
            now: SimInstant::ZERO,
            networks: vec![Network {
                name: public_name.to_owned(),
                hosts: BTreeMap::new(),
                gateway: None,
            }],
            nodes: Vec::new(),
            nats: Vec::new(),
            rules: Rules::default(),
            packet_rules: PacketRules::default(),
            queue: BinaryHeap::new(),
            seq: 0,
            next_ip_id: 0,
            deliveries: VecDeque::new(),
            capture: capture.then(VecDeque::new),
            drops: Vec::new(),
            nat_log: Vec::new(),
            stats: Stats::default(),
        }
    }

    /// The public network.
    pub const PUBLIC: NetworkId = NetworkId(0);

    /// Adds a node on `network` at `ip`.
    ///
    /// # Errors
    /// When the address is taken on that network.
    pub fn add_node(
        &mut self,
        name: &str,
        network: NetworkId,
        ip: IpAddr,
        link: LinkConfig,
    ) -> Result<NodeId, TopologyError> {
        let id = NodeId(self.nodes.len() as u32);
        self.claim(network, ip, Attachment::Node(id))?;
        self.nodes.push(NodeState {
            name: name.to_owned(),
            network,
            ip,
            aliases: Vec::new(),
            link: Link::new(link, self.seed.derive(&format!("link/{name}"))),
            up: true,
            udp: BTreeSet::new(),
        });
        Ok(id)
    }

    /// Gives a node a further address on its network: packets to it reach the node, and the
    /// node may send from it.
    ///
    /// # Errors
    /// When the address is taken on that network.
    pub fn add_alias(&mut self, node: NodeId, ip: IpAddr) -> Result<(), TopologyError> {
        let network = self.node(node).network;
        self.claim(network, ip, Attachment::Node(node))?;
        self.node_mut(node).aliases.push(ip);
        Ok(())
    }

    /// A node's further addresses.
    pub fn node_aliases(&self, node: NodeId) -> &[IpAddr] {
        &self.node(node).aliases
    }

    /// Adds a NAT whose outside is on `upstream`; it gets a new LAN network named `lan_name`.
    ///
    /// # Errors
    /// When one of its public addresses is taken on `upstream`.
    pub fn add_nat(
        &mut self,
        name: &str,
        nat: Nat,
        upstream: NetworkId,
        lan_name: &str,
        link: LinkConfig,
        drop_fragments: bool,
    ) -> Result<(NatId, NetworkId), TopologyError> {
        let id = NatId(self.nats.len() as u32);
        let inside = NetworkId(self.networks.len() as u32);
        for &ip in &nat.config().public {
            self.claim(upstream, ip, Attachment::NatOutside(id))?;
        }
        self.networks.push(Network {
            name: lan_name.to_owned(),
            hosts: BTreeMap::new(),
            gateway: Some(id),
        });
        self.nats.push(NatState {
            name: name.to_owned(),
            nat,
            inside,
            upstream,
            link: Link::new(link, self.seed.derive(&format!("link/{name}"))),
            down_until: SimInstant::ZERO,
            drop_fragments,
            sip_alg: false,
        });
        Ok((id, inside))
    }

    /// Turns on a NAT's SIP ALG (see the `alg` module).
    pub fn set_sip_alg(&mut self, id: NatId, on: bool) {
        if let Some(n) = self.nats.get_mut(id.0 as usize) {
            n.sip_alg = on;
        }
    }

    fn claim(
        &mut self,
        network: NetworkId,
        ip: IpAddr,
        who: Attachment,
    ) -> Result<(), TopologyError> {
        let net = self.network_mut(network);
        if net.hosts.contains_key(&ip) {
            return Err(TopologyError::AddressInUse {
                ip,
                network: net.name.clone(),
            });
        }
        net.hosts.insert(ip, who);
        Ok(())
    }

    fn network_mut(&mut self, id: NetworkId) -> &mut Network {
        let index = id.0 as usize;
        assert!(index < self.networks.len(), "unknown network {id:?}");
        &mut self.networks[index]
    }

    /// Network names, by id.
    pub fn network_names(&self) -> impl Iterator<Item = &str> {
        self.networks.iter().map(|n| n.name.as_str())
    }

    /// A node's current address.
    pub fn node_ip(&self, node: NodeId) -> IpAddr {
        self.node(node).ip
    }

    /// A node's name.
    pub fn node_name(&self, node: NodeId) -> &str {
        &self.node(node).name
    }

    /// A NAT's name.
    pub fn nat_name(&self, nat: NatId) -> &str {
        &self.nat(nat).name
    }

    /// The NAT core, to inspect its mappings.
    pub fn nat_core(&self, nat: NatId) -> &Nat {
        &self.nat(nat).nat
    }

    fn node(&self, id: NodeId) -> &NodeState {
        &self.nodes[id.0 as usize]
    }

    fn node_mut(&mut self, id: NodeId) -> &mut NodeState {
        &mut self.nodes[id.0 as usize]
    }

    fn nat(&self, id: NatId) -> &NatState {
        &self.nats[id.0 as usize]
    }

    fn nat_mut(&mut self, id: NatId) -> &mut NatState {
        &mut self.nats[id.0 as usize]
    }

    /// The node listens on a UDP port (TCP ports are the node's own TCP stack's business).
    pub fn bind_udp(&mut self, node: NodeId, port: u16) {
        self.node_mut(node).udp.insert(port);
    }

    /// The node closed a UDP port: datagrams to it are dropped as port unreachable.
    pub fn unbind_udp(&mut self, node: NodeId, port: u16) {
        self.node_mut(node).udp.remove(&port);
    }

    /// A node sends a packet at `at` (the fabric never goes back in time: an input older than
    /// the last processed instant is taken as happening then).
    pub fn send(
        &mut self,
        at: SimInstant,
        node: NodeId,
        transport: Transport,
        src_port: u16,
        dst: SocketAddr,
        payload: Bytes,
    ) {
        let ip = self.node(node).ip;
        self.send_from(
            at,
            node,
            transport,
            SocketAddr::new(ip, src_port),
            dst,
            payload,
        );
    }

    /// [`Fabric::send`] from a chosen source: one of the node's addresses (an address it does
    /// not own is replaced by its main one).
    pub fn send_from(
        &mut self,
        at: SimInstant,
        node: NodeId,
        transport: Transport,
        src: SocketAddr,
        dst: SocketAddr,
        payload: Bytes,
    ) {
        let at = at.max(self.now);
        let state = self.node(node);
        if !state.up {
            return;
        }
        let ip = if state.aliases.contains(&src.ip()) {
            src.ip()
        } else {
            state.ip
        };
        let (network, src_port) = (state.network, src.port());
        if transport == Transport::Udp {
            self.node_mut(node).udp.insert(src_port);
        }
        self.next_ip_id = self.next_ip_id.wrapping_add(1);
        let packet = Packet {
            src: SocketAddr::new(ip, src_port),
            dst,
            transport,
            payload,
            origin: node,
            via: Via::default(),
            ip_id: self.next_ip_id,
        };
        self.stats.sent += 1;
        self.depart(at, network, Attachment::Node(node), packet);
    }

    /// Processes every arrival scheduled up to `now`, and every NAT mapping that expires by
    /// then, in time order.
    pub fn advance(&mut self, now: SimInstant) {
        loop {
            let hop_at = self
                .queue
                .peek()
                .map(|Reverse(s)| s.at)
                .filter(|&t| t <= now);
            let nat_at = self.nat_deadline().filter(|&(t, _)| t <= now);
            match (hop_at, nat_at) {
                (_, Some((t, nat))) if hop_at.is_none_or(|h| t <= h) => {
                    self.now = self.now.max(t);
                    self.expire_nat(t, nat);
                }
                (Some(_), _) => {
                    let Some(Reverse(s)) = self.queue.pop() else {
                        break;
                    };
                    self.now = self.now.max(s.at);
                    if s.resume {
                        self.depart(s.at, s.hop.network, s.hop.from, s.hop.packet);
                    } else {
                        self.arrive(s.at, s.hop);
                    }
                }
                _ => break,
            }
        }
        self.now = self.now.max(now);
    }

    /// When the next scheduled arrival, or the next NAT state expiry, is due.
    pub fn poll_timeout(&self) -> Option<SimInstant> {
        let hop = self.queue.peek().map(|Reverse(s)| s.at);
        let nat = self.nat_deadline().map(|(t, _)| t);
        hop.into_iter().chain(nat).min()
    }

    /// The earliest NAT state deadline and its NAT.
    fn nat_deadline(&self) -> Option<(SimInstant, NatId)> {
        self.nats
            .iter()
            .enumerate()
            .filter_map(|(i, n)| n.nat.poll_timeout().map(|t| (t, NatId(i as u32))))
            .min()
    }

    /// Purges a NAT's state due by `at`, logging the mappings that expired.
    pub(super) fn expire_nat(&mut self, at: SimInstant, nat: NatId) {
        for m in self.nat_mut(nat).nat.expire(at) {
            let time = m.expires.filter(|&t| t <= at && t > SimInstant::ZERO);
            self.nat_log.push(NatRecord {
                time: time.unwrap_or(at),
                nat,
                change: NatChange::Expired {
                    protocol: m.protocol,
                    internal: m.internal,
                    external: m.external,
                },
            });
        }
    }

    /// Logs that a NAT lost its mappings to a fault.
    fn nat_lost(&mut self, at: SimInstant, nat: NatId, cause: &'static str) {
        let count = self.nat(nat).nat.mapping_count();
        self.nat_log.push(NatRecord {
            time: at,
            nat,
            change: NatChange::Lost { count, cause },
        });
    }

    /// Takes the NAT mapping changes recorded since the last call.
    pub fn take_nat_log(&mut self) -> Vec<NatRecord> {
        std::mem::take(&mut self.nat_log)
    }

    /// The next packet for a node.
    pub fn poll_delivery(&mut self) -> Option<Delivery> {
        self.deliveries.pop_front()
    }

    /// The next capture record.
    pub fn poll_capture(&mut self) -> Option<CaptureRecord> {
        self.capture.as_mut().and_then(VecDeque::pop_front)
    }

    /// The drops not taken yet.
    pub fn drops(&self) -> &[DropRecord] {
        &self.drops
    }

    /// Takes the drops recorded since the last call (a run feeds them to its watches as they
    /// happen, so they are never all kept).
    pub fn take_drops(&mut self) -> Vec<DropRecord> {
        std::mem::take(&mut self.drops)
    }

    /// Counters so far.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    fn schedule(&mut self, at: SimInstant, hop: Hop) {
        self.push(at, hop, false);
    }

    fn push(&mut self, at: SimInstant, hop: Hop, resume: bool) {
        self.seq += 1;
        self.queue.push(Reverse(Scheduled {
            at,
            seq: self.seq,
            hop,
            resume,
        }));
    }

    /// The name of a node or NAT behind an attachment.
    pub fn attachment_name(&self, a: Attachment) -> &str {
        match a.entity() {
            Entity::Node(n) => &self.node(n).name,
            Entity::Nat(n) => &self.nat(n).name,
        }
    }
}

#[cfg(test)]
mod tests;

//! Hop processing: routing, the two links of a hop, arrivals at nodes and NATs, records.

use super::link::{Dir, Link};
use super::packet_rules::Fate;
use super::rules::{HeldHop, RuleVerdict};
use super::{
    Attachment, CaptureRecord, Delivery, DropReason, DropRecord, Fabric, Hop, NatId, NetworkId,
    NodeId, Packet, Transport,
};
use sim_core::{Protocol, SimInstant};
use sim_nat::{PacketMeta, Verdict};
use std::net::IpAddr;

impl Fabric {
    pub(super) fn link_mut(&mut self, a: Attachment) -> Option<&mut Link> {
        match a {
            Attachment::Node(n) => Some(&mut self.node_mut(n).link),
            Attachment::NatOutside(n) => Some(&mut self.nat_mut(n).link),
            Attachment::NatInside(_) => None,
        }
    }

    pub(super) fn mtu(&self, a: Attachment) -> u16 {
        match a {
            Attachment::Node(n) => self.node(n).link.config().mtu,
            Attachment::NatOutside(n) => self.nat(n).link.config().mtu,
            Attachment::NatInside(_) => u16::MAX,
        }
    }

    pub(super) fn route(
        &self,
        network: NetworkId,
        from: Attachment,
        dst: IpAddr,
    ) -> Option<Attachment> {
        let net = &self.networks[network.0 as usize];
        if let Some(&to) = net.hosts.get(&dst) {
            return Some(to);
        }
        net.gateway
            .map(Attachment::NatInside)
            .filter(|&gw| gw != from)
    }

    /// Puts a packet on `network` from `from` at `at`: route, packet rules, sender's link,
    /// receiver's link.
    pub(super) fn depart(
        &mut self,
        at: SimInstant,
        network: NetworkId,
        from: Attachment,
        mut packet: Packet,
    ) {
        let Some(to) = self.route(network, from, packet.dst.ip()) else {
            let detail = format!(
                "no host has {} on {}",
                packet.dst.ip(),
                self.networks[network.0 as usize].name
            );
            let mtu = self.mtu(from);
            self.drop_packet(
                at,
                Hop {
                    network,
                    from,
                    to: from,
                    packet,
                    mtu,
                },
                false,
                DropReason::NoRoute,
                detail,
            );
            return;
        };
        let judgement = if self.packet_rules.is_empty() {
            None
        } else {
            Some(self.packet_rules.judge(at, from, to, &mut packet))
        };
        let mtu = self.mtu(from).min(self.mtu(to));
        let hop = Hop {
            network,
            from,
            to,
            packet,
            mtu,
        };
        let Some(judgement) = judgement else {
            self.transmit(at, hop);
            return;
        };
        match judgement.fate {
            Fate::Pass => self.transmit(at, hop),
            Fate::Drop(name) => {
                let detail = format!("packet fault `{name}`");
                self.drop_packet(at, hop, false, DropReason::Fault, detail);
            }
            Fate::Delay(d) => self.push(at + d, hop, true),
        }
        for copy in judgement.copies {
            self.depart(at, network, from, copy);
        }
    }

    /// Sends a routed hop over the sender's link (loss, delay, duplication).
    fn transmit(&mut self, at: SimInstant, hop: Hop) {
        let fragments = hop.packet.fragments(hop.mtu);
        let from = hop.from;
        let Some(up) = self
            .link_mut(from)
            .map(|l| (l.lost(at, Dir::Up, fragments), l.delay(at, Dir::Up)))
        else {
            self.ingress(at, hop);
            return;
        };
        match up {
            (true, _) => {
                let detail = format!(
                    "lost on the link of {} (outbound)",
                    self.attachment_name(from)
                );
                self.drop_packet(at, hop, false, DropReason::LinkLoss, detail);
            }
            (false, delay) => {
                if let Some(second) = delay.duplicate {
                    let copy = Hop {
                        packet: hop.packet.clone(),
                        ..hop
                    };
                    self.ingress(second, copy);
                }
                self.ingress(delay.arrival, hop);
            }
        }
    }

    /// Schedules a hop's arrival after the receiver's link delay.
    pub(super) fn ingress(&mut self, at: SimInstant, hop: Hop) {
        match self.link_mut(hop.to).map(|l| l.delay(at, Dir::Down)) {
            None => self.schedule(at, hop),
            Some(delay) => {
                if let Some(second) = delay.duplicate {
                    let copy = Hop {
                        packet: hop.packet.clone(),
                        ..hop
                    };
                    self.schedule(second, copy);
                }
                self.schedule(delay.arrival, hop);
            }
        }
    }

    pub(super) fn arrive(&mut self, at: SimInstant, hop: Hop) {
        let fragments = hop.packet.fragments(hop.mtu);
        if self
            .link_mut(hop.to)
            .is_some_and(|l| l.lost(at, Dir::Down, fragments))
        {
            let detail = format!(
                "lost on the link of {} (inbound)",
                self.attachment_name(hop.to)
            );
            self.drop_packet(at, hop, true, DropReason::LinkLoss, detail);
            return;
        }
        match self.rules.check(hop.from, hop.to, &hop.packet) {
            RuleVerdict::Pass => {}
            RuleVerdict::Cut => {
                let detail = format!("partition before {}", self.attachment_name(hop.to));
                self.drop_packet(at, hop, true, DropReason::Partition, detail);
                return;
            }
            RuleVerdict::Hold(key) => {
                let held = HeldHop {
                    network: hop.network,
                    from: hop.from,
                    to: hop.to,
                    packet: hop.packet,
                };
                self.rules.enqueue(key, held);
                return;
            }
        }
        match hop.to {
            Attachment::Node(n) => self.arrive_node(at, n, hop),
            Attachment::NatInside(n) => self.arrive_nat(at, n, hop, true),
            Attachment::NatOutside(n) => self.arrive_nat(at, n, hop, false),
        }
    }

    pub(super) fn arrive_node(&mut self, at: SimInstant, node: NodeId, hop: Hop) {
        let state = self.node(node);
        let refusal = if !state.up {
            Some((DropReason::NodeDown, format!("{} is down", state.name)))
        } else if hop.packet.dst.ip() != state.ip && !state.aliases.contains(&hop.packet.dst.ip()) {
            Some((
                DropReason::NoRoute,
                format!("{} no longer has {}", state.name, hop.packet.dst.ip()),
            ))
        } else if hop.packet.transport == Transport::Udp
            && !state.udp.contains(&hop.packet.dst.port())
        {
            Some((
                DropReason::PortUnreachable,
                format!(
                    "{} has no socket on udp port {}",
                    state.name,
                    hop.packet.dst.port()
                ),
            ))
        } else {
            None
        };
        if let Some((reason, detail)) = refusal {
            self.drop_packet(at, hop, true, reason, detail);
            return;
        }
        self.record(at, &hop, true, None);
        self.stats.delivered += 1;
        self.deliveries.push_back(Delivery {
            node,
            packet: hop.packet,
            time: at,
        });
    }

    pub(super) fn arrive_nat(&mut self, at: SimInstant, id: NatId, hop: Hop, from_lan: bool) {
        let fragments = hop.packet.fragments(hop.mtu);
        let state = self.nat(id);
        if at < state.down_until {
            let detail = format!("NAT {} is rebooting", state.name);
            self.drop_packet(at, hop, true, DropReason::NodeDown, detail);
            return;
        }
        if fragments > 1 && state.drop_fragments {
            let detail = format!("NAT {} drops IP fragments", state.name);
            self.drop_packet(at, hop, true, DropReason::Fragment, detail);
            return;
        }
        let meta = nat_meta(&hop.packet);
        let (inside, upstream, sip_alg) = (state.inside, state.upstream, state.sip_alg);
        self.expire_nat(at, id);
        let nat = &mut self.nat_mut(id).nat;
        let held = nat.mapping_count();
        let verdict = if from_lan {
            nat.outbound(at, &meta)
        } else {
            nat.inbound(at, &meta)
        };
        if nat.mapping_count() > held
            && let Verdict::Forward { src, .. } | Verdict::Hairpin { src, .. } = verdict
        {
            self.nat_log.push(super::NatRecord {
                time: at,
                nat: id,
                change: super::NatChange::Created {
                    protocol: meta.protocol,
                    internal: hop.packet.src,
                    external: src,
                },
            });
        }
        let (network, from, src, dst) = match verdict {
            Verdict::Drop(reason) => {
                let detail = format!("NAT {}: {reason}", self.nat(id).name);
                self.drop_packet(at, hop, true, DropReason::from_nat(reason), detail);
                return;
            }
            Verdict::Forward { src, dst } if from_lan => {
                (upstream, Attachment::NatOutside(id), src, dst)
            }
            Verdict::Forward { src, dst } | Verdict::Hairpin { src, dst } => {
                (inside, Attachment::NatInside(id), src, dst)
            }
        };
        self.record(at, &hop, true, None);
        let mut packet = hop.packet;
        if sip_alg
            && from_lan
            && packet.transport == Transport::Udp
            && let Some(rewritten) =
                super::alg::rewrite_sip(&packet.payload, packet.src.ip(), src.ip())
        {
            packet.payload = rewritten;
        }
        packet.src = src;
        packet.dst = dst;
        packet.crossed(id);
        self.depart(at, network, from, packet);
    }

    pub(super) fn record(
        &mut self,
        at: SimInstant,
        hop: &Hop,
        reached: bool,
        dropped: Option<(DropReason, String)>,
    ) {
        self.stats.hops += u64::from(reached && dropped.is_none());
        if let Some(capture) = self.capture.as_mut() {
            capture.push_back(CaptureRecord {
                time: at,
                network: hop.network,
                from: hop.from,
                to: reached.then_some(hop.to),
                packet: hop.packet.clone(),
                mtu: hop.mtu,
                dropped,
            });
        }
    }

    pub(super) fn drop_packet(
        &mut self,
        at: SimInstant,
        hop: Hop,
        reached: bool,
        reason: DropReason,
        detail: String,
    ) {
        let where_ = if reached { hop.to } else { hop.from };
        *self.stats.dropped.entry(reason).or_default() += 1;
        self.drops.push(DropRecord {
            time: at,
            reason,
            at: where_,
            origin: hop.packet.origin,
        });
        self.record(at, &hop, reached, Some((reason, detail)));
    }
}

pub(super) fn nat_meta(packet: &Packet) -> PacketMeta {
    match packet.transport {
        Transport::Udp => PacketMeta::udp(packet.src, packet.dst),
        Transport::Tcp(h) => PacketMeta {
            protocol: Protocol::Tcp,
            src: packet.src,
            dst: packet.dst,
            tcp: Some(sim_nat::TcpFlags {
                syn: h.flags.syn,
                ack: h.flags.ack,
                fin: h.flags.fin,
                rst: h.flags.rst,
            }),
        },
    }
}

//! The fault API: partitions, holds, link changes, NAT flush and reboot, crashes, IP changes.

use super::link::Link;
use super::packet_rules::{FaultHits, PacketRule, PacketRuleError};
use super::{Attachment, Entity, Fabric, Hop, LinkConfig, NatId, NodeId, TopologyError};
use sim_core::SimInstant;
use std::net::IpAddr;
use std::time::Duration;

impl Fabric {
    /// Drops every packet between `a` and `b` (from `a` to `b` only, with `one_way`).
    pub fn partition(&mut self, a: Entity, b: Entity, one_way: bool) {
        self.rules.partition(a, b, one_way);
    }

    /// Ends a partition between `a` and `b`, both directions.
    pub fn heal(&mut self, a: Entity, b: Entity) {
        self.rules.heal(a, b);
    }

    /// Drops every packet to or from `e`.
    pub fn isolate(&mut self, e: Entity) {
        self.rules.isolate(e);
    }

    /// Ends an isolation.
    pub fn rejoin(&mut self, e: Entity) {
        self.rules.rejoin(e);
    }

    /// Queues packets between `a` and `b` instead of delivering them.
    pub fn hold(&mut self, a: Entity, b: Entity, one_way: bool) {
        self.rules.hold(a, b, one_way);
    }

    /// Ends a hold: what it queued continues at `now`, in the order it was held.
    pub fn release(&mut self, now: SimInstant, a: Entity, b: Entity) {
        let now = now.max(self.now);
        for held in self.rules.release(a, b) {
            let mtu = self.mtu(held.from).min(self.mtu(held.to));
            let hop = Hop {
                network: held.network,
                from: held.from,
                to: held.to,
                packet: held.packet,
                mtu,
            };
            self.schedule(now, hop);
        }
    }

    /// Adds a packet-class fault rule, in force from now, checked after the rules added before.
    ///
    /// # Errors
    /// When the fabric already holds [`super::MAX_PACKET_RULES`] rules.
    pub fn add_packet_rule(&mut self, rule: PacketRule) -> Result<(), PacketRuleError> {
        self.packet_rules.add(rule)
    }

    /// Ends the packet rule(s) named `name`; whether there was one. Their hits stay counted.
    pub fn end_packet_rule(&mut self, name: &str) -> bool {
        self.packet_rules.end(name)
    }

    /// Every packet rule's hits, in the order the rules were added.
    pub fn fault_hits(&self) -> Vec<FaultHits> {
        self.packet_rules.hits()
    }

    /// The access link of a node or NAT loses packets with probability `loss` for `duration`.
    pub fn loss_burst(&mut self, now: SimInstant, e: Entity, duration: Duration, loss: f64) {
        let until = now + duration;
        self.entity_link_mut(e).start_burst(until, loss);
    }

    /// Replaces the settings of a node's or NAT's access link.
    pub fn set_link(&mut self, e: Entity, config: LinkConfig) {
        self.entity_link_mut(e).set_config(config);
    }

    /// The current settings of a node's or NAT's access link.
    pub fn link_config(&self, e: Entity) -> &LinkConfig {
        match e {
            Entity::Node(n) => self.node(n).link.config(),
            Entity::Nat(n) => self.nat(n).link.config(),
        }
    }

    pub(super) fn entity_link_mut(&mut self, e: Entity) -> &mut Link {
        match e {
            Entity::Node(n) => &mut self.node_mut(n).link,
            Entity::Nat(n) => &mut self.nat_mut(n).link,
        }
    }

    /// The NAT loses every dynamic mapping.
    pub fn nat_flush(&mut self, now: SimInstant, nat: NatId) {
        self.expire_nat(now, nat);
        self.nat_lost(now, nat, "flush");
        self.nat_mut(nat).nat.flush();
    }

    /// The NAT reboots: state lost, down for `down_for`, optionally with new public addresses.
    ///
    /// # Errors
    /// When a new public address is taken on the upstream network.
    pub fn nat_reboot(
        &mut self,
        now: SimInstant,
        nat: NatId,
        down_for: Duration,
        new_public: Option<Vec<IpAddr>>,
    ) -> Result<(), TopologyError> {
        let upstream = self.nat(nat).upstream;
        if let Some(addresses) = &new_public {
            let net = self.network_mut(upstream);
            net.hosts
                .retain(|_, who| *who != Attachment::NatOutside(nat));
            for &ip in addresses {
                self.claim(upstream, ip, Attachment::NatOutside(nat))?;
            }
        }
        self.expire_nat(now, nat);
        self.nat_lost(now, nat, "reboot");
        let state = self.nat_mut(nat);
        state.nat.reboot(new_public);
        state.down_until = now + down_for;
        Ok(())
    }

    /// Crashes a NAT (all state lost, forwards nothing) or brings a crashed NAT back.
    pub fn set_nat_up(&mut self, now: SimInstant, nat: NatId, up: bool) {
        if !up {
            self.expire_nat(now, nat);
            self.nat_lost(now, nat, "crash");
        }
        let state = self.nat_mut(nat);
        if up {
            state.down_until = now;
        } else {
            state.nat.reboot(None);
            state.down_until = SimInstant::NEVER;
        }
    }

    /// Marks a node crashed (it receives nothing) or back up (with no sockets until it binds).
    pub fn set_node_up(&mut self, node: NodeId, up: bool) {
        let state = self.node_mut(node);
        state.up = up;
        state.udp.clear();
    }

    /// Moves a node to a new address on its network.
    ///
    /// # Errors
    /// When the address is taken.
    pub fn change_ip(&mut self, node: NodeId, ip: IpAddr) -> Result<(), TopologyError> {
        let (network, old) = (self.node(node).network, self.node(node).ip);
        self.claim(network, ip, Attachment::Node(node))?;
        self.network_mut(network).hosts.remove(&old);
        self.node_mut(node).ip = ip;
        Ok(())
    }
}

//! Fault rules: partitions, isolations and holds, checked in order for every hop.
//!
//! A rule names entities (nodes or NATs). A hop into entity `R` is subject to a rule between
//! `E` and `R` when `E` is the hop's sender, the packet's origin, or a NAT the packet crossed:
//! a partition between `alice` (behind NAT `home`) and `stun1` therefore stops alice's packets
//! at `stun1` although on the public network they come from `home`.

use super::packet::{Attachment, Entity, Packet};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// What the rules decide for a hop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RuleVerdict {
    /// No rule applies.
    Pass,
    /// A partition or isolation drops it.
    Cut,
    /// A hold queues it; the key identifies the hold.
    Hold((Entity, Entity)),
}

/// The fault rules in force.
#[derive(Debug, Default)]
pub(crate) struct Rules {
    /// Directed cuts `(from, to)`.
    cuts: BTreeSet<(Entity, Entity)>,
    isolated: BTreeSet<Entity>,
    /// Directed holds and what they queued, in arrival order.
    holds: BTreeMap<(Entity, Entity), VecDeque<HeldHop>>,
}

/// A hop waiting for its hold to be released.
#[derive(Clone, Debug)]
pub(crate) struct HeldHop {
    pub(crate) network: super::packet::NetworkId,
    pub(crate) from: Attachment,
    pub(crate) to: Attachment,
    pub(crate) packet: Packet,
}

impl Rules {
    pub(crate) fn partition(&mut self, a: Entity, b: Entity, one_way: bool) {
        self.cuts.insert((a, b));
        if !one_way {
            self.cuts.insert((b, a));
        }
    }

    pub(crate) fn heal(&mut self, a: Entity, b: Entity) {
        self.cuts.remove(&(a, b));
        self.cuts.remove(&(b, a));
    }

    pub(crate) fn isolate(&mut self, e: Entity) {
        self.isolated.insert(e);
    }

    pub(crate) fn rejoin(&mut self, e: Entity) {
        self.isolated.remove(&e);
    }

    pub(crate) fn hold(&mut self, a: Entity, b: Entity, one_way: bool) {
        self.holds.entry((a, b)).or_default();
        if !one_way {
            self.holds.entry((b, a)).or_default();
        }
    }

    /// Stops holding between `a` and `b` (both directions) and returns what was queued, oldest
    /// first.
    pub(crate) fn release(&mut self, a: Entity, b: Entity) -> Vec<HeldHop> {
        let mut out = Vec::new();
        for key in [(a, b), (b, a)] {
            if let Some(q) = self.holds.remove(&key) {
                out.extend(q);
            }
        }
        out
    }

    pub(crate) fn enqueue(&mut self, key: (Entity, Entity), hop: HeldHop) {
        self.holds.entry(key).or_default().push_back(hop);
    }

    /// The verdict for a hop from `from` into `to` carrying `packet`.
    pub(crate) fn check(&self, from: Attachment, to: Attachment, packet: &Packet) -> RuleVerdict {
        if self.cuts.is_empty() && self.isolated.is_empty() && self.holds.is_empty() {
            return RuleVerdict::Pass;
        }
        let receiver = to.entity();
        let senders = || std::iter::once(from.entity()).chain(packet.path());
        if self.isolated.contains(&receiver) || senders().any(|e| self.isolated.contains(&e)) {
            return RuleVerdict::Cut;
        }
        if senders().any(|e| self.cuts.contains(&(e, receiver))) {
            return RuleVerdict::Cut;
        }
        senders()
            .map(|e| (e, receiver))
            .find(|key| self.holds.contains_key(key))
            .map_or(RuleVerdict::Pass, RuleVerdict::Hold)
    }
}

#[cfg(test)]
mod tests {
    use super::super::packet::{NatId, NodeId, Transport, Via};
    use super::*;
    use bytes::Bytes;

    const ALICE: NodeId = NodeId(0);
    const STUN: NodeId = NodeId(1);
    const HOME: NatId = NatId(0);

    fn from_alice_via_home() -> Packet {
        let mut p = Packet {
            src: "198.51.100.1:5000".parse().unwrap(),
            dst: "203.0.113.10:3478".parse().unwrap(),
            transport: Transport::Udp,
            payload: Bytes::new(),
            origin: ALICE,
            via: Via::default(),
            ip_id: 0,
        };
        p.crossed(HOME);
        p
    }

    #[test]
    fn rules_partition_by_origin_applies_behind_a_nat() {
        let mut r = Rules::default();
        r.partition(Entity::Node(ALICE), Entity::Node(STUN), false);
        let p = from_alice_via_home();
        let verdict = r.check(Attachment::NatOutside(HOME), Attachment::Node(STUN), &p);
        assert_eq!(verdict, RuleVerdict::Cut);
        r.heal(Entity::Node(STUN), Entity::Node(ALICE));
        assert_eq!(
            r.check(Attachment::NatOutside(HOME), Attachment::Node(STUN), &p),
            RuleVerdict::Pass
        );
    }

    #[test]
    fn rules_one_way_partition_leaves_the_other_direction() {
        let mut r = Rules::default();
        r.partition(Entity::Node(STUN), Entity::Node(ALICE), true);
        let p = from_alice_via_home();
        assert_eq!(
            r.check(Attachment::NatOutside(HOME), Attachment::Node(STUN), &p),
            RuleVerdict::Pass
        );
    }

    #[test]
    fn rules_isolated_nat_cuts_everything_through_it() {
        let mut r = Rules::default();
        r.isolate(Entity::Nat(HOME));
        let p = from_alice_via_home();
        assert_eq!(
            r.check(Attachment::NatOutside(HOME), Attachment::Node(STUN), &p),
            RuleVerdict::Cut
        );
        r.rejoin(Entity::Nat(HOME));
        assert_eq!(
            r.check(Attachment::NatOutside(HOME), Attachment::Node(STUN), &p),
            RuleVerdict::Pass
        );
    }

    #[test]
    fn rules_hold_queues_and_release_returns_in_order() {
        let mut r = Rules::default();
        r.hold(Entity::Nat(HOME), Entity::Node(STUN), false);
        let p = from_alice_via_home();
        let verdict = r.check(Attachment::NatOutside(HOME), Attachment::Node(STUN), &p);
        let RuleVerdict::Hold(key) = verdict else {
            panic!("expected a hold, got {verdict:?}")
        };
        for id in 0..3 {
            let mut q = p.clone();
            q.ip_id = id;
            let hop = HeldHop {
                network: super::super::packet::NetworkId(0),
                from: Attachment::NatOutside(HOME),
                to: Attachment::Node(STUN),
                packet: q,
            };
            r.enqueue(key, hop);
        }
        let released = r.release(Entity::Node(STUN), Entity::Nat(HOME));
        assert_eq!(
            released.iter().map(|h| h.packet.ip_id).collect::<Vec<_>>(),
            vec![0, 1, 2]
        );
        assert_eq!(
            r.check(Attachment::NatOutside(HOME), Attachment::Node(STUN), &p),
            RuleVerdict::Pass
        );
    }
}

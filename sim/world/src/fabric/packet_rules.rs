//! Packet-class fault rules: faults aimed at packets by protocol, class, path and rank.
//!
//! A rule matches a hop when every filter it has holds: the class of the packet (see
//! [`super::classify`]), `from` (the hop's sender, the packet's origin or a NAT it crossed),
//! `to` (the hop's receiver) and `link` (the hop leaves or enters through that node's or NAT's
//! access link). Rules are checked in the order they were added, when a hop leaves its sender
//! (before the sender's link: loss on the link does not change the count).
//!
//! # Counting
//! A rule counts a packet once: at the first hop where it matches; the packet then carries the
//! rule's mark across NATs, so later hops of it are not counted again. Copies the link makes
//! (`duplicate` on a link) carry the mark too: they are the same packet. A retransmission is a
//! new packet and a new match. The `n`-th match of a rule is its `n`-th counted packet, in
//! simulated time order (ties in the order the fabric processes them, fixed by the seed).
//!
//! # Acting
//! A selected packet is dropped (drop reason `fault`), delayed (it leaves again later, and the
//! rules after this one see it then), duplicated (the copy leaves at once and is checked by the
//! rules after this one), or modified in place (corrupt, rewrite, reset), after which the later
//! rules see the modified packet. A modification that cannot apply (a bit past the payload, a
//! header the message lacks) leaves the packet as it was and counts as matched, not acted on.

use super::classify::{App, classify};
use super::packet::{Attachment, Entity, Packet, TcpFlags, Transport};
use bytes::Bytes;
use sim_core::SimInstant;
use std::time::Duration;

/// The most rules a fabric holds (each packet carries one mark bit per rule).
pub const MAX_PACKET_RULES: usize = 64;

/// The protocol and class of the packets a rule looks at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClassMatch {
    /// Every packet.
    Any,
    /// Every UDP datagram.
    Udp,
    /// TCP segments with every flag of `set` set and every flag of `clear` clear.
    Tcp {
        /// Flags that must be set.
        set: TcpFlags,
        /// Flags that must be clear.
        clear: TcpFlags,
    },
    /// SIP messages (UDP, or a TCP segment starting with a start line).
    Sip {
        /// Request method.
        method: Option<String>,
        /// Response status code.
        status: Option<u16>,
        /// Method in `CSeq`.
        cseq_method: Option<String>,
    },
    /// STUN messages.
    Stun {
        /// Class: 0 request, 1 indication, 2 success, 3 error.
        class: Option<u8>,
        /// Method number.
        method: Option<u16>,
        /// An attribute type the message carries.
        attribute: Option<u16>,
    },
    /// TURN ChannelData.
    TurnChannel,
    /// AAE tunnel transport packets.
    Tunnel,
    /// RTP.
    Rtp,
    /// DNS.
    Dns,
}

/// Which hops of a link a rule looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkDirection {
    /// Leaving through the link.
    Outbound,
    /// Entering through the link.
    Inbound,
}

/// Which matching packets a rule acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Selection {
    /// Every one.
    All,
    /// The first N.
    First(u32),
    /// The Nth, 2Nth, ...
    Every(u32),
    /// Exactly the Nth.
    Nth(u32),
}

impl Selection {
    /// Whether the `n`-th match (from 1) is selected.
    pub const fn picks(self, n: u64) -> bool {
        match self {
            Self::All => true,
            Self::First(k) => n <= k as u64,
            Self::Every(k) => k > 0 && n.is_multiple_of(k as u64),
            Self::Nth(k) => n == k as u64,
        }
    }
}

/// A rewrite of a SIP message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SipRewrite {
    /// The status code of a response, and the reason phrase (`None`: kept).
    Status(u16, Option<String>),
    /// The method of a request line.
    Method(String),
    /// The value of the first header of this name (case-insensitive).
    Header(String, String),
}

/// What a rule does to a selected packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Drop it.
    Drop,
    /// It leaves again this much later.
    Delay(Duration),
    /// It is sent twice.
    Duplicate,
    /// Invert payload bit N (0: most significant bit of the first byte).
    FlipBit(u32),
    /// Rewrite a SIP field.
    Rewrite(SipRewrite),
    /// Replace a TCP segment by RST+ACK without payload.
    Reset,
}

/// A packet-class fault rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PacketRule {
    /// Name, for the report.
    pub name: String,
    /// Class filter.
    pub class: ClassMatch,
    /// Only packets from this entity (hop sender, origin or a NAT crossed).
    pub from: Option<Entity>,
    /// Only hops into this entity.
    pub to: Option<Entity>,
    /// Only hops through this entity's access link, in this direction (`None`: both).
    pub link: Option<(Entity, Option<LinkDirection>)>,
    /// Which matches it acts on.
    pub select: Selection,
    /// What it does.
    pub effect: Effect,
    /// It stops acting and counting at this instant.
    pub until: Option<SimInstant>,
}

/// A rule's hits over a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultHits {
    /// The rule's name.
    pub name: String,
    /// Packets that matched while the rule was in force.
    pub matched: u64,
    /// Packets it acted on.
    pub acted: u64,
}

/// Why a rule could not be added.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PacketRuleError {
    /// The fabric already holds [`MAX_PACKET_RULES`] rules.
    #[error("more than {MAX_PACKET_RULES} packet fault rules")]
    TooMany,
}

/// What happens to a packet on this hop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Fate {
    /// It goes on (perhaps modified).
    Pass,
    /// Dropped by the rule of this name.
    Drop(String),
    /// It leaves again after this long.
    Delay(Duration),
}

/// The verdict for one hop: its fate and the copies to send besides.
#[derive(Debug)]
pub(crate) struct Judgement {
    pub(crate) fate: Fate,
    pub(crate) copies: Vec<Packet>,
}

#[derive(Debug)]
struct Active {
    rule: PacketRule,
    ended: bool,
    hits: FaultHits,
}

/// The packet rules of a fabric.
#[derive(Debug, Default)]
pub(crate) struct PacketRules {
    rules: Vec<Active>,
}

impl PacketRules {
    pub(crate) fn add(&mut self, rule: PacketRule) -> Result<(), PacketRuleError> {
        if self.rules.len() >= MAX_PACKET_RULES {
            return Err(PacketRuleError::TooMany);
        }
        let hits = FaultHits {
            name: rule.name.clone(),
            matched: 0,
            acted: 0,
        };
        self.rules.push(Active {
            rule,
            ended: false,
            hits,
        });
        Ok(())
    }

    /// Ends every rule named `name`; whether there was one.
    pub(crate) fn end(&mut self, name: &str) -> bool {
        let mut found = false;
        for a in self.rules.iter_mut().filter(|a| a.rule.name == name) {
            a.ended = true;
            found = true;
        }
        found
    }

    pub(crate) fn hits(&self) -> Vec<FaultHits> {
        self.rules.iter().map(|a| a.hits.clone()).collect()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Checks a hop from `from` to `to` leaving at `now`; modifies `packet` in place.
    pub(crate) fn judge(
        &mut self,
        now: SimInstant,
        from: Attachment,
        to: Attachment,
        packet: &mut Packet,
    ) -> Judgement {
        let mut copies = Vec::new();
        for (i, a) in self.rules.iter_mut().enumerate() {
            let live = !a.ended && a.rule.until.is_none_or(|u| now < u);
            if !live || packet.via.judged(i) || !a.rule.matches(from, to, packet) {
                continue;
            }
            packet.via.judge(i);
            a.hits.matched += 1;
            if !a.rule.select.picks(a.hits.matched) {
                continue;
            }
            let fate = match &a.rule.effect {
                Effect::Drop => Fate::Drop(a.rule.name.clone()),
                Effect::Delay(d) => Fate::Delay(*d),
                Effect::Duplicate => {
                    copies.push(packet.clone());
                    Fate::Pass
                }
                Effect::FlipBit(bit) => {
                    if !flip_bit(packet, *bit) {
                        continue;
                    }
                    Fate::Pass
                }
                Effect::Rewrite(r) => {
                    if !rewrite(packet, r) {
                        continue;
                    }
                    Fate::Pass
                }
                Effect::Reset => {
                    if !reset(packet) {
                        continue;
                    }
                    Fate::Pass
                }
            };
            a.hits.acted += 1;
            if fate != Fate::Pass {
                return Judgement { fate, copies };
            }
        }
        Judgement {
            fate: Fate::Pass,
            copies,
        }
    }
}

impl PacketRule {
    fn matches(&self, from: Attachment, to: Attachment, packet: &Packet) -> bool {
        let from_ok = self
            .from
            .is_none_or(|e| from.entity() == e || packet.path().any(|p| p == e));
        let to_ok = self.to.is_none_or(|e| to.entity() == e);
        let link_ok = self.link.is_none_or(|(e, dir)| crosses(e, dir, from, to));
        from_ok && to_ok && link_ok && self.class_matches(packet)
    }

    fn class_matches(&self, packet: &Packet) -> bool {
        let tcp = match packet.transport {
            Transport::Tcp(h) => Some(h.flags),
            Transport::Udp => None,
        };
        match &self.class {
            ClassMatch::Any => true,
            ClassMatch::Udp => tcp.is_none(),
            ClassMatch::Tcp { set, clear } => tcp
                .is_some_and(|f| bits(f) & bits(*set) == bits(*set) && bits(f) & bits(*clear) == 0),
            ClassMatch::Sip {
                method,
                status,
                cseq_method,
            } => matches!(classify(packet), App::Sip(s)
                if eq(method, s.method) && status.is_none_or(|c| s.status == Some(c))
                    && eq(cseq_method, s.cseq_method)),
            ClassMatch::Stun {
                class,
                method,
                attribute,
            } => matches!(classify(packet), App::Stun(s)
                if class.is_none_or(|c| s.class == c) && method.is_none_or(|m| s.method == m)
                    && attribute.is_none_or(|t| s.has_attribute(t))),
            ClassMatch::TurnChannel => classify(packet) == App::ChannelData,
            ClassMatch::Tunnel => classify(packet) == App::Tunnel,
            ClassMatch::Rtp => classify(packet) == App::Rtp,
            ClassMatch::Dns => classify(packet) == App::Dns,
        }
    }
}

fn eq(want: &Option<String>, got: Option<&str>) -> bool {
    want.as_deref().is_none_or(|w| got == Some(w))
}

const fn bits(f: TcpFlags) -> u8 {
    (f.syn as u8)
        | (f.ack as u8) << 1
        | (f.fin as u8) << 2
        | (f.rst as u8) << 3
        | (f.psh as u8) << 4
}

/// Whether a hop from `from` to `to` crosses `e`'s access link in `dir`.
fn crosses(e: Entity, dir: Option<LinkDirection>, from: Attachment, to: Attachment) -> bool {
    let on_link = |a: Attachment| match (a, e) {
        (Attachment::Node(n), Entity::Node(m)) => n == m,
        (Attachment::NatOutside(n), Entity::Nat(m)) => n == m,
        _ => false,
    };
    match dir {
        Some(LinkDirection::Outbound) => on_link(from),
        Some(LinkDirection::Inbound) => on_link(to),
        None => on_link(from) || on_link(to),
    }
}

/// Inverts payload bit `bit`; false when the payload is shorter.
fn flip_bit(packet: &mut Packet, bit: u32) -> bool {
    let byte = (bit / 8) as usize;
    if byte >= packet.payload.len() {
        return false;
    }
    let mut bytes = packet.payload.to_vec();
    if let Some(b) = bytes.get_mut(byte) {
        *b ^= 0x80 >> (bit % 8);
    }
    packet.payload = Bytes::from(bytes);
    true
}

/// Turns a TCP segment into RST+ACK without payload; false for UDP.
fn reset(packet: &mut Packet) -> bool {
    let Transport::Tcp(mut h) = packet.transport else {
        return false;
    };
    h.flags = TcpFlags {
        rst: true,
        ack: true,
        ..TcpFlags::default()
    };
    packet.transport = Transport::Tcp(h);
    packet.payload = Bytes::new();
    true
}

/// Applies a SIP rewrite to the header block of a UDP datagram; false when it is TCP (a new
/// length would break the stream), not SIP text, or lacks the field.
fn rewrite(packet: &mut Packet, r: &SipRewrite) -> bool {
    if packet.transport != Transport::Udp {
        return false;
    }
    let p = &packet.payload[..];
    let head_end = p
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(p.len());
    let (Some(head), Some(rest)) = (p.get(..head_end), p.get(head_end..)) else {
        return false;
    };
    let Ok(head) = std::str::from_utf8(head) else {
        return false;
    };
    let Some(new_head) = rewrite_head(head, r) else {
        return false;
    };
    let mut out = new_head.into_bytes();
    out.extend_from_slice(rest);
    packet.payload = Bytes::from(out);
    true
}

fn rewrite_head(head: &str, r: &SipRewrite) -> Option<String> {
    let mut lines: Vec<String> = head.split("\r\n").map(str::to_owned).collect();
    let first = lines.first_mut()?;
    match r {
        SipRewrite::Status(code, phrase) => {
            let rest = first.strip_prefix("SIP/2.0 ")?;
            let old = rest.get(4..).unwrap_or("");
            let phrase = phrase.as_deref().unwrap_or(old);
            *first = format!("SIP/2.0 {code} {phrase}");
        }
        SipRewrite::Method(m) => {
            let (old, uri) = first.split_once(' ')?;
            if old.starts_with("SIP/") {
                return None;
            }
            *first = format!("{m} {uri}");
        }
        SipRewrite::Header(name, value) => {
            let line = lines.iter_mut().skip(1).find(|l| {
                l.split_once(':')
                    .is_some_and(|(n, _)| n.trim().eq_ignore_ascii_case(name))
            })?;
            let (n, _) = line.split_once(':')?;
            *line = format!("{n}: {value}");
        }
    }
    Some(lines.join("\r\n"))
}

#[cfg(test)]
mod tests;

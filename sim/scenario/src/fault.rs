//! Packet-class fault rules as validated: names resolved, defaults applied, values parsed.

use crate::model::{Direction, Select, StunClass, StunMethod, TcpFlag};
use crate::scenario::Subject;
use std::time::Duration;

/// A validated `packet_fault`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultRule {
    /// Its name, unique in the scenario.
    pub name: String,
    /// The protocol and class of the packets it looks at.
    pub class: ClassMatch,
    /// Only packets from this node or NAT (sender, origin, or a NAT crossed).
    pub from: Option<Subject>,
    /// Only hops into this node or NAT.
    pub to: Option<Subject>,
    /// Only hops crossing this node's or NAT's access link, in this direction (both: `None`).
    pub link: Option<(Subject, Option<Direction>)>,
    /// Which matching packets it acts on; `None`: every one.
    pub select: Option<Select>,
    /// What it does.
    pub effect: FaultEffect,
    /// When it ends; `None`: with the run.
    pub until: Option<Duration>,
}

/// The protocol and class a rule matches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClassMatch {
    /// Every packet.
    Any,
    /// Every UDP datagram.
    Udp,
    /// TCP segments with every flag of `flags` set and every flag of `without` clear.
    Tcp {
        /// Set.
        flags: Vec<TcpFlag>,
        /// Clear.
        without: Vec<TcpFlag>,
    },
    /// SIP messages.
    Sip {
        /// Request method.
        method: Option<String>,
        /// Response status.
        status: Option<u16>,
        /// Method in `CSeq`.
        cseq_method: Option<String>,
    },
    /// STUN messages.
    Stun {
        /// Class.
        class: Option<StunClass>,
        /// Method.
        method: Option<StunMethod>,
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

/// What a rule does to a selected packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultEffect {
    /// Drop it.
    Drop,
    /// Send it on this much later.
    Delay(Duration),
    /// Send it twice.
    Duplicate,
    /// Invert one payload bit.
    FlipBit(u32),
    /// Rewrite a SIP field.
    Rewrite(SipRewrite),
    /// Replace a TCP segment by a reset.
    Reset,
}

/// A rewrite of a SIP message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SipRewrite {
    /// A response's status code, and its reason phrase when given.
    Status {
        /// The code, 100 to 699.
        code: u16,
        /// The phrase; `None` keeps the old one.
        phrase: Option<String>,
    },
    /// A request's method (in the request line).
    Method(String),
    /// The first header of this name (compared case-insensitively) gets this value.
    Header {
        /// Header name.
        name: String,
        /// Its new value.
        value: String,
    },
}

/// STUN attribute names a rule may use, with their types (RFC 8489, 8445, 8656, 5780).
pub const STUN_ATTRIBUTES: &[(&str, u16)] = &[
    ("MAPPED-ADDRESS", 0x0001),
    ("CHANGE-REQUEST", 0x0003),
    ("USERNAME", 0x0006),
    ("MESSAGE-INTEGRITY", 0x0008),
    ("ERROR-CODE", 0x0009),
    ("UNKNOWN-ATTRIBUTES", 0x000A),
    ("CHANNEL-NUMBER", 0x000C),
    ("LIFETIME", 0x000D),
    ("XOR-PEER-ADDRESS", 0x0012),
    ("DATA", 0x0013),
    ("REALM", 0x0014),
    ("NONCE", 0x0015),
    ("XOR-RELAYED-ADDRESS", 0x0016),
    ("REQUESTED-TRANSPORT", 0x0019),
    ("MESSAGE-INTEGRITY-SHA256", 0x001C),
    ("XOR-MAPPED-ADDRESS", 0x0020),
    ("PRIORITY", 0x0024),
    ("USE-CANDIDATE", 0x0025),
    ("SOFTWARE", 0x8022),
    ("ALTERNATE-SERVER", 0x8023),
    ("FINGERPRINT", 0x8028),
    ("ICE-CONTROLLED", 0x8029),
    ("ICE-CONTROLLING", 0x802A),
    ("RESPONSE-ORIGIN", 0x802B),
    ("OTHER-ADDRESS", 0x802C),
];

/// The type of a STUN attribute written as a name (any case) or a number (`0x0025`, `37`).
pub fn stun_attribute(text: &str) -> Option<u16> {
    let t = text.trim();
    if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        return u16::from_str_radix(hex, 16).ok();
    }
    if let Ok(n) = t.parse::<u16>() {
        return Some(n);
    }
    STUN_ATTRIBUTES
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(t))
        .map(|&(_, code)| code)
}

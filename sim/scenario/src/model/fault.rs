//! Packet-class faults: a rule that picks packets by protocol and class (a SIP method or status,
//! a STUN message type or attribute, TCP flags...), by where they go, and by their rank among
//! the matching packets, and drops, delays, duplicates or corrupts them.
//!
//! ```yaml
//! - at: 1s
//!   packet_fault:
//!     name: second-ok
//!     match: {sip: {status: 200, cseq_method: OPTIONS}, from: proxy, to: alice}
//!     select: {nth: 2}
//!     action: drop
//! ```

use super::values::SimDuration;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A fault aimed at one class of packets, in force from its `at`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PacketFault {
    /// Name of the rule: its hit counts appear under it in the report, and `packet_fault_end`
    /// names it. Unique among the scenario's packet faults.
    pub name: String,
    /// Which packets the rule looks at.
    #[serde(rename = "match")]
    pub matches: PacketMatch,
    /// Which of the matching packets it acts on. Default: every one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub select: Option<Select>,
    /// What happens to a selected packet.
    pub action: FaultAction,
    /// The rule ends at this time (from the start of the run). Default: at the end of the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<SimDuration>,
}

/// Which packets a rule looks at: every field given must hold.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PacketMatch {
    /// The protocol. Default: the one the `sip`, `stun` or `tcp` fields imply, else `any`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<PacketProtocol>,
    /// SIP fields (implies `protocol: sip`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sip: Option<SipMatch>,
    /// STUN fields (implies `protocol: stun`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stun: Option<StunMatch>,
    /// TCP fields (implies `protocol: tcp`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<TcpMatch>,
    /// Node or NAT the packet comes from: its sender, or a NAT it crossed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Node or NAT the hop goes into.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Node or NAT whose access link the hop crosses (a NAT's upstream link).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// With `link`: only packets leaving (`outbound`) or entering (`inbound`) through it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
}

/// The protocol of a packet, as the classifier reads its bytes.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum PacketProtocol {
    /// Every packet.
    Any,
    /// Every UDP datagram.
    Udp,
    /// Every TCP segment.
    Tcp,
    /// A SIP request or response (over UDP, or starting a TCP segment).
    Sip,
    /// A STUN message (RFC 8489: magic cookie, length).
    Stun,
    /// TURN ChannelData (RFC 8656 §12: channel 0x4000 to 0x4FFF).
    TurnChannel,
    /// The AAE tunnel transport's packets (sim-tunnel's framing, first byte 0xC0 to 0xCF).
    Tunnel,
    /// RTP (RFC 3550 version 2, not an RTCP packet type).
    Rtp,
    /// DNS (to or from port 53).
    Dns,
}

/// SIP fields.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SipMatch {
    /// Only requests with this method (upper case: `INVITE`, `OPTIONS`...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Only responses with this status code (100 to 699).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Only messages whose `CSeq` names this method (a response to an `INVITE`: `INVITE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cseq_method: Option<String>,
}

/// STUN fields.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StunMatch {
    /// Message class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<StunClass>,
    /// Message method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<StunMethod>,
    /// Only messages carrying this attribute: a name (`USE-CANDIDATE`, `PRIORITY`...) or a
    /// number (`0x0025`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribute: Option<String>,
}

/// STUN message class (RFC 8489 §5).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum StunClass {
    /// Request.
    Request,
    /// Indication.
    Indication,
    /// Success response.
    Success,
    /// Error response.
    Error,
}

/// STUN and TURN methods.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum StunMethod {
    /// Binding (0x001).
    Binding,
    /// TURN Allocate (0x003).
    Allocate,
    /// TURN Refresh (0x004).
    Refresh,
    /// TURN Send (0x006).
    Send,
    /// TURN Data (0x007).
    Data,
    /// TURN CreatePermission (0x008).
    CreatePermission,
    /// TURN ChannelBind (0x009).
    ChannelBind,
}

impl StunMethod {
    /// The method number.
    pub const fn code(self) -> u16 {
        match self {
            Self::Binding => 0x001,
            Self::Allocate => 0x003,
            Self::Refresh => 0x004,
            Self::Send => 0x006,
            Self::Data => 0x007,
            Self::CreatePermission => 0x008,
            Self::ChannelBind => 0x009,
        }
    }
}

/// TCP fields.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TcpMatch {
    /// Flags that must all be set.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<TcpFlag>,
    /// Flags that must all be clear (`flags: [syn], without: [ack]` is the opening SYN only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub without: Vec<TcpFlag>,
}

/// A TCP header flag.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum TcpFlag {
    /// SYN.
    Syn,
    /// ACK.
    Ack,
    /// FIN.
    Fin,
    /// RST.
    Rst,
    /// PSH.
    Psh,
}

/// Direction through a link.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Leaving the node or NAT through its link.
    Outbound,
    /// Entering the node or NAT through its link.
    Inbound,
}

/// Which matching packets a rule acts on, counting them from 1 as they match.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Select {
    /// The first N.
    First(u32),
    /// Every Nth: the Nth, the 2Nth...
    Every(u32),
    /// Exactly the Nth.
    Nth(u32),
}

/// What happens to a selected packet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum FaultAction {
    /// It is dropped (drop reason `fault`).
    Drop,
    /// It leaves this much later; later packets overtake it.
    Delay(SimDuration),
    /// It is sent twice.
    Duplicate,
    /// Its payload is damaged.
    Corrupt(Corrupt),
    /// A field of its SIP message is rewritten.
    Rewrite(Rewrite),
    /// A TCP segment is replaced by a reset (RST+ACK, no payload) to the same receiver.
    Reset,
}

/// Payload damage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Corrupt {
    /// Bit of the transport payload to invert, from 0 (the most significant bit of the first
    /// byte). A payload without that bit passes unchanged.
    pub flip_bit: u32,
}

/// A rewrite of a SIP message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rewrite {
    /// `status` (a response's status line), `method` (a request's method) or a header name
    /// (`CSeq`, `Via`...: its first occurrence).
    pub field: String,
    /// The new value: for `status` a code with an optional reason phrase (`503` keeps the old
    /// phrase), for `method` a method, for a header its whole value.
    pub value: String,
}

/// A packet fault by name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FaultRef {
    /// The `name` of a `packet_fault`.
    pub name: String,
}

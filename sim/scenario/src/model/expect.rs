//! Expectations: what a run must show. Each is a map with one key naming its kind.

use super::values::{CodeRef, SimDuration};
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::borrow::Cow;
use std::fmt;

/// How many times something must happen: `count: 3`, `count: {at_least: 1}`,
/// `count: {at_most: 0}`, `count: {at_least: 2, at_most: 5}`. Absent: at least once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Count {
    /// Lower bound, inclusive.
    pub at_least: u64,
    /// Upper bound, inclusive.
    pub at_most: Option<u64>,
}

impl Default for Count {
    fn default() -> Self {
        Self {
            at_least: 1,
            at_most: None,
        }
    }
}

impl Count {
    /// Exactly `n`.
    pub const fn exactly(n: u64) -> Self {
        Self {
            at_least: n,
            at_most: Some(n),
        }
    }

    /// Whether `n` satisfies the count.
    pub fn admits(&self, n: u64) -> bool {
        n >= self.at_least && self.at_most.is_none_or(|max| n <= max)
    }
}

impl fmt::Display for Count {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.at_most {
            Some(max) if max == self.at_least => write!(f, "exactly {max}"),
            Some(max) if self.at_least == 0 => write!(f, "at most {max}"),
            Some(max) => write!(f, "{} to {max}", self.at_least),
            None => write!(f, "at least {}", self.at_least),
        }
    }
}

impl Serialize for Count {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        if self.at_most == Some(self.at_least) {
            return s.serialize_u64(self.at_least);
        }
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("at_least", &self.at_least)?;
        if let Some(max) = self.at_most {
            m.serialize_entry("at_most", &max)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Bounds {
            #[serde(default)]
            at_least: Option<u64>,
            #[serde(default)]
            at_most: Option<u64>,
        }
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Count;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number or `{at_least: n, at_most: m}`")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Count, E> {
                Ok(Count::exactly(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Count, E> {
                u64::try_from(v)
                    .map(Count::exactly)
                    .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Count, A::Error> {
                let b = Bounds::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(Count {
                    at_least: b.at_least.unwrap_or(0),
                    at_most: b.at_most,
                })
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for Count {
    fn schema_name() -> Cow<'static, str> {
        "Count".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Exactly n, or bounds. Absent: at least once.",
            "oneOf": [
                { "type": "integer", "minimum": 0 },
                {
                    "type": "object",
                    "properties": {
                        "at_least": { "type": "integer", "minimum": 0 },
                        "at_most": { "type": "integer", "minimum": 0 }
                    },
                    "additionalProperties": false
                }
            ]
        })
    }
}

/// Which packets a `received` expectation counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ProbeKind {
    /// Probes sent by another probe's `send`.
    Probe,
    /// Echo replies.
    Echo,
}

/// Why the network dropped a packet.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum DropReason {
    /// A NAT's filter rejected an inbound packet.
    Filtered,
    /// Inbound packet to a NAT port with no mapping (never made, expired or flushed).
    NoMapping,
    /// Inside host sent to the NAT's public address and the NAT does not hairpin.
    NoHairpin,
    /// Per-packet loss on a link (loss model or loss burst).
    LinkLoss,
    /// A partition or isolation fault.
    Partition,
    /// Too big for a link and not fragmentable, or a fragment dropped by a NAT.
    Fragment,
    /// The destination or source node is crashed, or the NAT is down.
    NodeDown,
    /// No node owns the destination address.
    NoRoute,
    /// Nothing listens on the destination port.
    PortUnreachable,
    /// A `packet_fault` rule dropped it.
    Fault,
}

/// How the public addresses an endpoint's mappings show relate to each other.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum MappingRule {
    /// Every observer saw the same address and port (endpoint-independent mapping).
    Same,
    /// Every observer saw a different address or port (dependent mapping).
    Distinct,
    /// The public port equals the local port (port preservation).
    Preserved,
    /// The public ports, in the order the observers are listed, increase by one.
    Sequential,
    /// Every public port differs from the local port and none follows the previous observer's
    /// port by one (random port allocation).
    Random,
}

/// `udp-probe`: probes or echoes an endpoint received.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Received {
    /// Receiving probe.
    pub endpoint: String,
    /// Only packets sent by this node. Default: from anyone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Only probes or only echoes. Default: both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ProbeKind>,
    /// How many. Default: at least one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<Count>,
    /// Only at or after this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<SimDuration>,
    /// Only at or before this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<SimDuration>,
}

/// Packets the network dropped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Dropped {
    /// Only drops for this reason. Default: any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<DropReason>,
    /// Only drops at this NAT or on this node's link. Default: anywhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// Only packets sent by this node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// How many. Default: at least one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<Count>,
    /// Only at or after this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<SimDuration>,
    /// Only at or before this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<SimDuration>,
}

/// The public addresses other nodes saw for an endpoint's port.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// The endpoint behind the NAT.
    pub endpoint: String,
    /// Its local port. Default: its probe port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Echoing probes whose observations are compared (in this order).
    pub seen_by: Vec<String>,
    /// How the observed addresses must relate.
    pub rule: MappingRule,
    /// The public IP every observer must have seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<std::net::IpAddr>,
    /// How many distinct public IPs the observers saw (address pooling).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ips: Option<Count>,
}

/// An endpoint reports a documented event or callback.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// Reporting endpoint.
    pub endpoint: String,
    /// Event code or name (AAE event, softphone callback...).
    pub code: CodeRef,
    /// Status code or name carried by the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<CodeRef>,
    /// Text the event's detail must contain (e.g. `nat_type=7 RESTRICTED` for 60005).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// How many. Default: at least one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<Count>,
    /// Only at or after this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<SimDuration>,
    /// Only at or before this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<SimDuration>,
}

/// An endpoint reports these events in this order (others may come in between).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Sequence {
    /// Reporting endpoint.
    pub endpoint: String,
    /// Event codes or names, in order.
    pub events: Vec<CodeRef>,
}

/// A SIP response seen on the wire.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SipResponse {
    /// Status code.
    pub code: u16,
    /// Only responses to this method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Only responses sent by this node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// How many. Default: at least one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<Count>,
}

/// Application data sent through an AAE tunnel arrived intact: the receiver's running SHA-256
/// reached the sender's, over the same number of bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Delivered {
    /// Sending `aae` endpoint (its `send_data`).
    pub from: String,
    /// Receiving `aae` endpoint.
    pub to: String,
    /// Bytes that must have been sent (and arrived). Default: whatever was sent, at least one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
}

/// What a run must show.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Expectation {
    /// `udp-probe`: probes or echoes received.
    Received(Received),
    /// Packets dropped by the network.
    Dropped(Dropped),
    /// Public addresses of an endpoint's mappings.
    Mapping(Mapping),
    /// An endpoint reports an event.
    Event(Event),
    /// An endpoint reports events in order.
    Sequence(Sequence),
    /// A SIP response on the wire.
    SipResponse(SipResponse),
    /// Tunnel data arrived intact.
    Delivered(Delivered),
}

impl Expectation {
    /// The expectation's key as written.
    pub const fn key(&self) -> &'static str {
        match self {
            Self::Received(_) => "received",
            Self::Dropped(_) => "dropped",
            Self::Mapping(_) => "mapping",
            Self::Event(_) => "event",
            Self::Sequence(_) => "sequence",
            Self::SipResponse(_) => "sip_response",
            Self::Delivered(_) => "delivered",
        }
    }
}

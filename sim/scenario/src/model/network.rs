//! NAT boxes and links.

use super::values::{Prefix, Probability, SimDuration};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// Settings every entity inherits unless it sets its own.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    /// Link of every node and NAT that does not describe its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<LinkSpec>,
}

/// RFC 4787 mapping or filtering behaviour.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Behaviour {
    /// One mapping (or filter) per internal address and port, whatever the remote (REQ-1, REQ-8).
    EndpointIndependent,
    /// Depends on the remote IP address.
    AddressDependent,
    /// Depends on the remote IP address and port.
    AddressAndPortDependent,
}

/// The classic NAT names, as presets over mapping and filtering.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum NatPreset {
    /// Endpoint-independent mapping and filtering.
    FullCone,
    /// Endpoint-independent mapping, address-dependent filtering.
    RestrictedCone,
    /// Endpoint-independent mapping, address-and-port-dependent filtering.
    PortRestrictedCone,
    /// Address-and-port-dependent mapping and filtering.
    Symmetric,
}

impl NatPreset {
    /// `(mapping, filtering)` of the preset.
    pub const fn behaviours(self) -> (Behaviour, Behaviour) {
        use Behaviour::*;
        match self {
            Self::FullCone => (EndpointIndependent, EndpointIndependent),
            Self::RestrictedCone => (EndpointIndependent, AddressDependent),
            Self::PortRestrictedCone => (EndpointIndependent, AddressAndPortDependent),
            Self::Symmetric => (AddressAndPortDependent, AddressAndPortDependent),
        }
    }
}

/// How a NAT picks the external port of a new mapping.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum PortAllocation {
    /// Keep the internal port when it is free (RFC 4787 REQ-4 "port preservation").
    Preserve,
    /// The next free port after the last one allocated.
    Sequential,
    /// A random free port, from the NAT's seeded random stream.
    Random,
}

/// Which external address a NAT with several picks for a new mapping (RFC 4787 REQ-2).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Pooling {
    /// Every mapping of one internal address uses the same external address.
    Paired,
    /// Each mapping may use any external address.
    Arbitrary,
}

/// A static inbound rule: traffic to the NAT's `port` goes to an inside node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PortForward {
    /// `udp` or `tcp`.
    pub protocol: ForwardProtocol,
    /// External port on the NAT's (first) public address.
    pub port: u16,
    /// Inside node that receives it.
    pub to: String,
    /// Port on that node; default the same as `port`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_port: Option<u16>,
}

/// Protocol of a port forward.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum ForwardProtocol {
    /// UDP.
    Udp,
    /// TCP.
    Tcp,
}

/// A NAT box: an RFC 4787 translator between its private LAN and its upstream network.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NatSpec {
    /// Unique name; the LAN behind it appears in captures as `lan-<name>`.
    pub name: String,
    /// A classic NAT type; `mapping` and `filtering` override it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<NatPreset>,
    /// Mapping behaviour. Default: from `preset`, else endpoint-independent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mapping: Option<Behaviour>,
    /// Filtering behaviour. Default: from `preset`, else address-and-port-dependent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filtering: Option<Behaviour>,
    /// External addresses on the upstream network (several: see `pooling`).
    pub public: Vec<IpAddr>,
    /// The private LAN behind the NAT; inside nodes take addresses from it.
    pub lan: Prefix,
    /// Upstream network: `public` (default) or the name of another NAT whose LAN this NAT sits
    /// on (carrier-grade NAT).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
    /// UDP mapping lifetime. Default `120s` (RFC 4787 REQ-5 minimum).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub udp_timeout: Option<SimDuration>,
    /// Whether inbound packets refresh a UDP mapping (RFC 4787 REQ-6). Default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inbound_refresh: Option<bool>,
    /// TCP idle timeout of an established connection. Default `2h4m` (RFC 5382 REQ-5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_timeout: Option<SimDuration>,
    /// External port choice. Default `preserve`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_allocation: Option<PortAllocation>,
    /// Whether inside hosts reach each other through the NAT's public address (RFC 4787 REQ-9).
    /// Default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hairpinning: Option<bool>,
    /// External address choice when `public` has several. Default `paired`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pooling: Option<Pooling>,
    /// Whether the NAT drops IP fragments. Default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop_fragments: Option<bool>,
    /// A SIP ALG: outbound SIP over UDP gets the private address replaced by the public one in
    /// SDP `c=`/`o=` and `Contact` (not in `Via`, ports or `a=` lines). Default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sip_alg: Option<bool>,
    /// Static inbound rules; inbound TCP passes only through these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub port_forwards: Vec<PortForward>,
    /// The NAT's upstream (WAN-side) link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<LinkSpec>,
}

/// A node's access link: what happens to every packet it sends or receives.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkSpec {
    /// One-way delay per traversal. Default `0s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<SimDuration>,
    /// Uniform random extra delay in `[0, jitter]` per packet. Packets keep their order unless
    /// `reorder` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter: Option<SimDuration>,
    /// Per-packet loss model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<LossModel>,
    /// Probability that a packet is delivered twice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate: Option<Probability>,
    /// Packets held back so that later ones overtake them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reorder: Option<Reorder>,
    /// Largest IP packet the link carries unfragmented, in bytes. Default 1500.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u16>,
}

/// Per-packet loss.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum LossModel {
    /// Each packet is lost independently with this probability.
    Bernoulli(Probability),
    /// Two-state bursty loss (Gilbert-Elliott).
    GilbertElliott(GilbertElliott),
}

/// Gilbert-Elliott parameters: a good and a bad state, each with its own loss probability.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GilbertElliott {
    /// Per packet, probability of moving from the good to the bad state (`p`).
    pub to_bad: Probability,
    /// Per packet, probability of moving from the bad to the good state (`r`).
    pub to_good: Probability,
    /// Loss probability in the bad state (`1 - h`). Default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss_bad: Option<Probability>,
    /// Loss probability in the good state (`1 - k`). Default 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss_good: Option<Probability>,
}

/// Reordering: with `probability`, a packet is held an extra `delay` so later ones overtake it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Reorder {
    /// Per packet.
    pub probability: Probability,
    /// How long a reordered packet is held.
    pub delay: SimDuration,
}

//! The scenario language, as written: the raw types YAML is read into.
//!
//! Every struct rejects unknown fields; topology entities are tagged by `kind`, timeline entries
//! and expectations by their single key (`- partition: {...}`). Ranges and cross-references are
//! not checked here but by validation ([`crate::check_str`]), which reports every problem in one
//! pass.

mod expect;
mod fault;
mod items;
mod network;
mod nodes;
mod required;
pub(crate) mod tagged;
mod timeline;
mod values;

pub(crate) use required::required_fields;
pub(crate) use tagged::KIND_TAGGED;

pub use expect::{
    Count, Delivered, DropReason, Dropped, Event, Expectation, Mapping, MappingRule, ProbeKind,
    Received, Sequence, SipResponse,
};
pub use fault::{
    Corrupt, Direction, FaultAction, FaultRef, PacketFault, PacketMatch, PacketProtocol, Rewrite,
    Select, SipMatch, StunClass, StunMatch, StunMethod, TcpFlag, TcpMatch,
};
pub use network::{
    Behaviour, Defaults, ForwardProtocol, GilbertElliott, LinkSpec, LossModel, NatPreset, NatSpec,
    Pooling, PortAllocation, PortForward, Reorder,
};
pub use nodes::{AaeAppSpec, WebFault, WebRole};
pub use nodes::{
    AaeSpec, Account, AlternateAddress, Block, Common, DnsNamePolicy, DnsRecord, DnsSpec,
    Encryption, EndpointSpec, Firmware, IceAgentSpec, IceRole, IntercomSpec, IntercomStun,
    NatDetectorSpec, NodeSpec, PrackMode, ServerPolicy, ServerSpec, SipServerSpec, SoftphoneSpec,
    SrtpPolicy, StunFault, StunSpec, TcpProbeSpec, TurnCredentials, TurnSpec, UdpProbeSpec,
    WebServiceSpec,
};
pub use timeline::{
    ACTION_KEYS, Action, Answer, Between, Call, Dnd, Dtmf, DtmfMethod, EndpointRef, IpChange,
    LinkChange, LossBurst, MakeTunnel, Message, NatReboot, NatRef, NodeRef, PolicySwitch, Refer,
    Send, SendData, Stall, TimelineEntry, TunnelPort,
};
pub use timeline::{Bind, BindSide};
pub use values::{
    CodeRef, DurationError, Prefix, Probability, ProbeWire, SimDuration, Target, Transport,
};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One scenario file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// Unique name; reports are written under `<out>/<name>/`. Letters, digits, `-`, `_`.
    pub name: String,
    /// What the scenario shows, for the reader of the report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The seed every random choice of the run derives from.
    pub seed: u64,
    /// Simulated time the run lasts.
    pub duration: SimDuration,
    /// Simulation step: every host is polled once per tick, so it is also the latency granularity.
    /// Default `1ms`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tick: Option<SimDuration>,
    /// Packet capture of the run (`capture.pcapng`). Default: on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture: Option<bool>,
    /// Hosts, NAT boxes, links, servers and endpoints.
    pub topology: Topology,
    /// Actions and injected faults, each at a simulated time.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "items::every_item"
    )]
    pub timeline: Vec<TimelineEntry>,
    /// What the run must show.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "items::every_item"
    )]
    pub expect: Vec<Expectation>,
}

/// The simulated network and what runs on it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Topology {
    /// Settings every entity inherits unless it sets its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub defaults: Option<Defaults>,
    /// NAT boxes. Each one owns a private LAN; endpoints and servers sit `behind` it.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "items::every_item"
    )]
    pub nats: Vec<NatSpec>,
    /// Servers: SIP registrar/proxy, STUN, TURN, AAE web service, DNS.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "items::every_item"
    )]
    pub servers: Vec<ServerSpec>,
    /// Endpoints: AAE devices, softphones, intercoms, ICE agents, UDP probes.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "items::every_item"
    )]
    pub endpoints: Vec<EndpointSpec>,
}

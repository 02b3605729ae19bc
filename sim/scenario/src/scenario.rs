//! The validated scenario: every name resolved to an id, every default applied, every address
//! assigned. This is what the simulator consumes; it exists only for files without errors.

use crate::diag::Diagnostic;
use crate::model::{
    Behaviour, DropReason, EndpointSpec, ForwardProtocol, MappingRule, Pooling, PortAllocation,
    Prefix, ProbeKind, ScenarioFile, ServerPolicy, ServerSpec,
};
use crate::model::{BindSide, Count, Firmware, LinkSpec, LossModel};
use sim_catalog::{AaeEvent, AaeStatus, SoftphoneCallback};
use sim_core::Seed;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

macro_rules! id {
    ($(#[$meta:meta])* $name:ident, $prefix:literal) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub usize);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($prefix, "{}"), self.0)
            }
        }
    };
}

id!(
    /// Index into [`Scenario::nodes`].
    NodeId,
    "node#"
);
id!(
    /// Index into [`Scenario::nats`].
    NatId,
    "nat#"
);
id!(
    /// Index into [`Scenario::networks`]; `NetworkId(0)` is the public network.
    NetworkId,
    "net#"
);

impl NetworkId {
    /// The public network.
    pub const PUBLIC: Self = Self(0);
}

/// A validated scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// Name, for reports.
    pub name: String,
    /// What the scenario shows.
    pub description: Option<String>,
    /// The seed of every random choice.
    pub seed: Seed,
    /// Simulated run time.
    pub duration: Duration,
    /// Simulation step.
    pub tick: Duration,
    /// Whether to write a capture.
    pub capture: bool,
    /// Index 0 is the public network (`wan`), then one LAN per NAT (`lan-<nat>`), in the order
    /// of [`Self::nats`].
    pub networks: Vec<Network>,
    /// NAT boxes, upstream first (a NAT comes after the NAT whose LAN it sits on), otherwise in
    /// file order.
    pub nats: Vec<Nat>,
    /// Servers, then endpoints, in file order.
    pub nodes: Vec<Node>,
    /// Actions sorted by time (stable: entries at the same time keep their file order).
    pub timeline: Vec<Timed>,
    /// Expectations, in file order (`expectations[i]` is `file.expect[i]`).
    pub expectations: Vec<ResolvedExpectation>,
    /// Suspicious but valid things found by validation.
    pub warnings: Vec<Diagnostic>,
    /// The file as written, for reports.
    pub file: ScenarioFile,
}

impl Scenario {
    /// The node called `name`.
    pub fn node_by_name(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// The NAT called `name`.
    pub fn nat_by_name(&self, name: &str) -> Option<&Nat> {
        self.nats.iter().find(|n| n.name == name)
    }

    /// A node by id.
    pub fn node(&self, id: NodeId) -> Option<&Node> {
        self.nodes.get(id.0)
    }

    /// A NAT by id.
    pub fn nat(&self, id: NatId) -> Option<&Nat> {
        self.nats.get(id.0)
    }

    /// A network by id.
    pub fn network(&self, id: NetworkId) -> Option<&Network> {
        self.networks.get(id.0)
    }

    /// The NAT a node sits behind, if it is not on the public network.
    pub fn nat_of(&self, node: NodeId) -> Option<&Nat> {
        let network = self.node(node)?.network;
        self.nats.iter().find(|n| n.inside == network)
    }

    /// The name of a node or NAT.
    pub fn subject_name(&self, s: Subject) -> &str {
        match s {
            Subject::Node(id) => self.node(id).map_or("?", |n| n.name.as_str()),
            Subject::Nat(id) => self.nat(id).map_or("?", |n| n.name.as_str()),
        }
    }
}

/// A network: the public one or a NAT's LAN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Network {
    /// Its id.
    pub id: NetworkId,
    /// `wan` or `lan-<nat>`.
    pub name: String,
    /// The NAT whose LAN this is (`None` for the public network).
    pub nat: Option<NatId>,
    /// The LAN prefix (`None` for the public network).
    pub prefix: Option<Prefix>,
}

/// A NAT box with every default applied.
#[derive(Clone, Debug, PartialEq)]
pub struct Nat {
    /// Its id.
    pub id: NatId,
    /// Name.
    pub name: String,
    /// Mapping behaviour (preset applied).
    pub mapping: Behaviour,
    /// Filtering behaviour (preset applied).
    pub filtering: Behaviour,
    /// External addresses, on `upstream`.
    pub public: Vec<IpAddr>,
    /// The LAN prefix.
    pub lan: Prefix,
    /// The network its outside is on.
    pub upstream: NetworkId,
    /// Its LAN.
    pub inside: NetworkId,
    /// UDP mapping lifetime.
    pub udp_timeout: Duration,
    /// Whether inbound packets refresh UDP mappings.
    pub inbound_refresh: bool,
    /// TCP idle timeout.
    pub tcp_timeout: Duration,
    /// External port choice.
    pub port_allocation: PortAllocation,
    /// Hairpinning.
    pub hairpinning: bool,
    /// External address choice.
    pub pooling: Pooling,
    /// Whether it drops IP fragments.
    pub drop_fragments: bool,
    /// Whether its SIP ALG rewrites outbound SIP.
    pub sip_alg: bool,
    /// Static inbound rules.
    pub port_forwards: Vec<Forward>,
    /// Its upstream link.
    pub link: Link,
}

/// A resolved port forward.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Forward {
    /// UDP or TCP.
    pub protocol: ForwardProtocol,
    /// External port.
    pub port: u16,
    /// Inside node.
    pub to: NodeId,
    /// Port on that node.
    pub to_port: u16,
}

/// What a node is, with its settings as written.
#[derive(Clone, Debug, PartialEq)]
pub enum Role {
    /// A server.
    Server(ServerSpec),
    /// An endpoint.
    Endpoint(EndpointSpec),
}

/// A server or endpoint, placed on a network.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// Its id.
    pub id: NodeId,
    /// Name.
    pub name: String,
    /// Kind and settings.
    pub role: Role,
    /// The network it is on.
    pub network: NetworkId,
    /// Its address there (written or assigned).
    pub address: IpAddr,
    /// Its access link, defaults applied.
    pub link: Link,
}

impl Node {
    /// The `kind` as written (`sip`, `udp-probe`...).
    pub const fn kind(&self) -> &'static str {
        match &self.role {
            Role::Server(s) => s.kind(),
            Role::Endpoint(e) => e.kind(),
        }
    }

    /// The port it listens on (its `port`, else the kind's default).
    pub fn port(&self) -> u16 {
        default_port(&self.role)
    }

    /// Whether it is a server.
    pub const fn is_server(&self) -> bool {
        matches!(self.role, Role::Server(_))
    }
}

/// The listening port of a node: as written, else the documented default of its kind.
pub(crate) fn default_port(role: &Role) -> u16 {
    let (port, default) = match role {
        Role::Server(ServerSpec::Sip(s)) => (s.port, 5060),
        Role::Server(ServerSpec::Stun(s)) => (s.port, 3478),
        Role::Server(ServerSpec::Turn(s)) => (s.port, 3478),
        Role::Server(ServerSpec::AaeWeb(s)) => (s.port, 80),
        Role::Server(ServerSpec::Dns(s)) => (s.port, 53),
        Role::Endpoint(EndpointSpec::Aae(e)) => (e.port, 5060),
        Role::Endpoint(EndpointSpec::Softphone(e)) => (e.port, 5060),
        Role::Endpoint(EndpointSpec::Intercom(_)) => (None, 5060),
        Role::Endpoint(EndpointSpec::IceAgent(e)) => (e.port, 4000),
        Role::Endpoint(EndpointSpec::NatDetector(e)) => (e.port, 0),
        Role::Endpoint(EndpointSpec::UdpProbe(e)) => (e.port, 5000),
        Role::Endpoint(EndpointSpec::TcpProbe(e)) => (e.port, 7000),
        Role::Endpoint(EndpointSpec::AaeApp(_)) => (None, 0),
    };
    port.unwrap_or(default)
}

/// An access link with every default applied.
#[derive(Clone, Debug, PartialEq)]
pub struct Link {
    /// One-way delay.
    pub latency: Duration,
    /// Uniform extra delay in `[0, jitter]`.
    pub jitter: Duration,
    /// Loss model.
    pub loss: Loss,
    /// Duplication probability.
    pub duplicate: f64,
    /// Reordering: probability and hold time.
    pub reorder: Option<(f64, Duration)>,
    /// MTU in bytes.
    pub mtu: u16,
}

impl Default for Link {
    fn default() -> Self {
        Self {
            latency: Duration::ZERO,
            jitter: Duration::ZERO,
            loss: Loss::None,
            duplicate: 0.0,
            reorder: None,
            mtu: 1500,
        }
    }
}

impl Link {
    /// This link with the settings `spec` writes replaced (a `link_change`, or a node's own link
    /// over the defaults).
    #[must_use]
    pub fn patched(&self, spec: &LinkSpec) -> Self {
        Self {
            latency: spec.latency.map_or(self.latency, |d| d.get()),
            jitter: spec.jitter.map_or(self.jitter, |d| d.get()),
            loss: spec
                .loss
                .as_ref()
                .map_or_else(|| self.loss.clone(), Loss::from_model),
            duplicate: spec.duplicate.map_or(self.duplicate, |p| p.0),
            reorder: spec
                .reorder
                .as_ref()
                .map_or(self.reorder, |r| Some((r.probability.0, r.delay.get()))),
            mtu: spec.mtu.unwrap_or(self.mtu),
        }
    }
}

/// Per-packet loss.
#[derive(Clone, Debug, PartialEq)]
pub enum Loss {
    /// No loss.
    None,
    /// Independent loss with this probability.
    Bernoulli(f64),
    /// Two-state bursty loss.
    GilbertElliott {
        /// Good → bad transition probability per packet.
        to_bad: f64,
        /// Bad → good transition probability per packet.
        to_good: f64,
        /// Loss probability in the bad state.
        loss_bad: f64,
        /// Loss probability in the good state.
        loss_good: f64,
    },
}

impl Loss {
    /// The loss of a written model, defaults applied.
    pub fn from_model(m: &LossModel) -> Self {
        match m {
            LossModel::Bernoulli(p) => Self::Bernoulli(p.0),
            LossModel::GilbertElliott(g) => Self::GilbertElliott {
                to_bad: g.to_bad.0,
                to_good: g.to_good.0,
                loss_bad: g.loss_bad.map_or(1.0, |p| p.0),
                loss_good: g.loss_good.map_or(0.0, |p| p.0),
            },
        }
    }
}

/// A node or a NAT: what faults act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Subject {
    /// A node.
    Node(NodeId),
    /// A NAT box.
    Nat(NatId),
}

/// One timeline action at its time.
#[derive(Clone, Debug, PartialEq)]
pub struct Timed {
    /// When.
    pub at: Duration,
    /// Position of the entry in the file's `timeline` (`timeline[index]`).
    pub index: usize,
    /// What happens.
    pub action: ResolvedAction,
}

/// Where a probe sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResolvedTarget {
    /// A node and a port (the node's own port unless one was written).
    Node {
        /// The node.
        node: NodeId,
        /// The port.
        port: u16,
    },
    /// A literal address.
    Addr(SocketAddr),
    /// The source address `seen_by` last observed from `mapping_of`.
    Mapping {
        /// The endpoint.
        mapping_of: NodeId,
        /// Its local port whose mapping is meant.
        port: u16,
        /// The observer.
        seen_by: NodeId,
        /// The observer's port that saw it.
        seen_port: u16,
    },
}

/// Who a softphone calls.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Callee {
    /// A softphone or intercom of the scenario.
    Node(NodeId),
    /// A user name or SIP URI, sent as written.
    Uri(String),
}

/// A timeline action with names resolved.
#[derive(Clone, Debug, PartialEq)]
pub enum ResolvedAction {
    /// A probe sends probes.
    Send {
        /// The probe.
        from: NodeId,
        /// Destination.
        to: ResolvedTarget,
        /// How many; `None` for unlimited.
        count: Option<u32>,
        /// Time between probes.
        interval: Duration,
        /// Local port.
        from_port: u16,
        /// Payload size.
        size: Option<u32>,
    },
    /// Drop packets between two subjects.
    Partition {
        /// One side.
        a: Subject,
        /// The other side.
        b: Subject,
        /// Only from `a` to `b`.
        one_way: bool,
    },
    /// Undo a partition.
    Heal {
        /// One side.
        a: Subject,
        /// The other side.
        b: Subject,
    },
    /// Drop everything to and from a subject.
    Isolate(Subject),
    /// Undo an isolation.
    Rejoin(Subject),
    /// Queue packets between two subjects.
    Hold {
        /// One side.
        a: Subject,
        /// The other side.
        b: Subject,
        /// Only from `a` to `b`.
        one_way: bool,
    },
    /// Deliver what a hold queued.
    Release {
        /// One side.
        a: Subject,
        /// The other side.
        b: Subject,
    },
    /// Loss on a subject's link for a while.
    LossBurst {
        /// Whose link.
        link: Subject,
        /// How long.
        duration: Duration,
        /// Loss probability.
        loss: f64,
    },
    /// New link settings from now on (unset ones stay).
    LinkChange {
        /// Whose link.
        link: Subject,
        /// The settings written.
        set: LinkSpec,
    },
    /// Flush a NAT's mappings.
    NatFlush(NatId),
    /// Reboot a NAT.
    NatReboot {
        /// The NAT.
        nat: NatId,
        /// Time it forwards nothing.
        down_for: Duration,
        /// New external addresses, if any.
        new_public: Vec<IpAddr>,
    },
    /// Stop a subject.
    Crash(Subject),
    /// Start a crashed subject again.
    Restart(Subject),
    /// Move a node to a new address on its network.
    IpChange {
        /// The node.
        node: NodeId,
        /// Its new address.
        address: IpAddr,
    },
    /// Switch a server's policy.
    ServerPolicy {
        /// The server.
        server: NodeId,
        /// The policy from now on.
        set: ServerPolicy,
    },
    /// `aae`: initialise the SDK.
    Init(NodeId),
    /// `aae`: de-initialise the SDK.
    Deinit(NodeId),
    /// Register.
    Register(NodeId),
    /// Un-register.
    Unregister(NodeId),
    /// `softphone`: place a call.
    Call {
        /// Caller.
        from: NodeId,
        /// Callee.
        to: Callee,
        /// Offer video.
        video: bool,
        /// Extra headers on the INVITE.
        headers: std::collections::BTreeMap<String, String>,
    },
    /// `softphone`: answer or reject.
    Answer {
        /// The softphone.
        endpoint: NodeId,
        /// Final status.
        code: u16,
    },
    /// Hang up.
    Hangup(NodeId),
    /// `softphone`: put the call on hold.
    HoldCall(NodeId),
    /// `softphone`: take the call off hold.
    UnholdCall(NodeId),
    /// `softphone`: blind transfer.
    Refer {
        /// The transferring softphone.
        endpoint: NodeId,
        /// The transfer target.
        to: Callee,
    },
    /// `softphone`: DTMF digits.
    Dtmf {
        /// The sender.
        endpoint: NodeId,
        /// The digits.
        digits: String,
        /// SIP INFO rather than RFC 2833.
        info: bool,
    },
    /// `softphone`: a SIP MESSAGE.
    Message {
        /// The sender.
        from: NodeId,
        /// The recipient.
        to: Callee,
        /// The text.
        text: String,
    },
    /// `softphone`: do-not-disturb on or off.
    Dnd {
        /// The softphone.
        endpoint: NodeId,
        /// On.
        on: bool,
    },
    /// `aae`: open a tunnel.
    MakeTunnel {
        /// Caller.
        from: NodeId,
        /// Callee.
        to: NodeId,
        /// Give up after this long; zero waits forever.
        timeout: Duration,
        /// Forwarded ports: (local, remote).
        ports: Vec<(u16, u16)>,
    },
    /// `aae`: the worker loop stalls.
    Stall {
        /// The endpoint.
        endpoint: NodeId,
        /// For how long.
        duration: Duration,
    },
    /// `aae`: send data through the tunnel.
    SendData {
        /// The sender.
        endpoint: NodeId,
        /// Bytes.
        bytes: u64,
    },
    /// A packet-class fault rule comes into force.
    PacketFault(Box<crate::fault::FaultRule>),
    /// The packet fault of this name ends.
    PacketFaultEnd(String),
    /// `aae-app`: an account binding.
    Bind {
        /// The app.
        endpoint: NodeId,
        /// Flow: new or old.
        flow: Firmware,
        /// Router firmware: new or old.
        firmware: Firmware,
        /// Router MD5 MAC, if not the app's.
        router: Option<String>,
        /// Which side runs.
        side: BindSide,
    },
}

/// An event code, resolved against the catalog of the reporting endpoint's kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventCode {
    /// An AAE SDK event.
    Aae(&'static AaeEvent),
    /// A softphone SDK callback.
    Softphone(&'static SoftphoneCallback),
    /// An event of natlab's own probes (`probe-started`, `address-changed`...).
    Probe(&'static str),
}

impl EventCode {
    /// The event number (AAE events; callbacks and probe events have none).
    pub const fn code(&self) -> Option<u32> {
        match self {
            Self::Aae(e) => Some(e.code),
            Self::Softphone(_) | Self::Probe(_) => None,
        }
    }

    /// The documented name.
    pub const fn name(&self) -> &'static str {
        match self {
            Self::Aae(e) => e.name,
            Self::Softphone(c) => c.name,
            Self::Probe(name) => name,
        }
    }
}

/// A status code carried by an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusCode {
    /// An AAE SDK status code.
    Aae(&'static AaeStatus),
    /// A SIP status (100–699) outside the AAE catalog.
    Sip(u16),
    /// An HTTP status (100–599), carried by the AAE web events.
    Http(u16),
}

impl StatusCode {
    /// The number.
    pub fn code(&self) -> u32 {
        match self {
            Self::Aae(s) => s.code,
            Self::Sip(n) | Self::Http(n) => u32::from(*n),
        }
    }
}

/// An expectation with names and codes resolved.
#[derive(Clone, Debug, PartialEq)]
pub enum ResolvedExpectation {
    /// Probes or echoes an endpoint received.
    Received {
        /// The receiving probe.
        endpoint: NodeId,
        /// Only from this node.
        from: Option<NodeId>,
        /// Only probes or only echoes.
        kind: Option<ProbeKind>,
        /// How many.
        count: Count,
        /// Only at or after.
        after: Option<Duration>,
        /// Only at or before.
        before: Option<Duration>,
    },
    /// Packets the network dropped.
    Dropped {
        /// Only for this reason.
        reason: Option<DropReason>,
        /// Only at this NAT or on this node's link.
        at: Option<Subject>,
        /// Only packets sent by this node.
        from: Option<NodeId>,
        /// How many.
        count: Count,
        /// Only at or after.
        after: Option<Duration>,
        /// Only at or before.
        before: Option<Duration>,
    },
    /// How an endpoint's mappings appeared to observers.
    Mapping {
        /// The endpoint.
        endpoint: NodeId,
        /// Its local port.
        port: u16,
        /// The echoing probes and the port of theirs that observed, in order.
        seen_by: Vec<(NodeId, u16)>,
        /// The rule.
        rule: MappingRule,
        /// The public IP every observer must have seen.
        address: Option<IpAddr>,
        /// How many distinct public IPs the observers saw.
        ips: Option<Count>,
    },
    /// An endpoint reports an event.
    Event {
        /// The endpoint.
        endpoint: NodeId,
        /// The event.
        code: EventCode,
        /// The status it carries.
        status: Option<StatusCode>,
        /// Text its detail contains.
        detail: Option<String>,
        /// How many.
        count: Count,
        /// Only at or after.
        after: Option<Duration>,
        /// Only at or before.
        before: Option<Duration>,
    },
    /// An endpoint reports events in order.
    Sequence {
        /// The endpoint.
        endpoint: NodeId,
        /// The events, in order.
        events: Vec<EventCode>,
    },
    /// A SIP response on the wire.
    SipResponse {
        /// Status code.
        code: u16,
        /// Only responses to this method.
        method: Option<String>,
        /// Only responses sent by this node.
        from: Option<NodeId>,
        /// How many.
        count: Count,
    },
    /// Tunnel data arrived intact.
    Delivered {
        /// Sender.
        from: NodeId,
        /// Receiver.
        to: NodeId,
        /// Bytes that must have been sent.
        bytes: Option<u64>,
    },
}

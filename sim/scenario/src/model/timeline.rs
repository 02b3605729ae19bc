//! The timeline: actions and injected faults, each at a simulated time.
//!
//! An entry is a map with `at` and exactly one action key:
//!
//! ```yaml
//! - at: 2s
//!   partition: {between: [alice, stun1]}
//! ```

use super::fault::{FaultRef, PacketFault};
use super::network::LinkSpec;
use super::nodes::ServerPolicy;
use super::values::{Probability, SimDuration, Target};
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;

/// One timeline entry.
#[derive(Clone, Debug, PartialEq)]
pub struct TimelineEntry {
    /// When, in simulated time since the start.
    pub at: SimDuration,
    /// What happens.
    pub action: Action,
}

/// Two nodes, for faults on the path between them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Between {
    /// The two nodes (or NATs).
    pub between: [String; 2],
    /// Only from the first to the second. Default false (both directions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub one_way: Option<bool>,
}

/// One node (or NAT).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NodeRef {
    /// Node name.
    pub node: String,
}

/// One endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointRef {
    /// Endpoint name.
    pub endpoint: String,
}

/// UDP probes from a `udp-probe` endpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Send {
    /// Sending probe.
    pub from: String,
    /// Destination.
    pub to: Target,
    /// How many probes. Default 1, or unlimited when only `interval` is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// Time between probes. Default `1s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<SimDuration>,
    /// Local port to send from. Default the probe's port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_port: Option<u16>,
    /// UDP payload size in bytes (padded). Default: just the probe text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u32>,
}

/// Loss on one node's link for a while.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LossBurst {
    /// Node or NAT whose access link loses packets.
    pub link: String,
    /// How long.
    pub duration: SimDuration,
    /// Loss probability during the burst. Default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<Probability>,
}

/// New settings for one node's link from now on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkChange {
    /// Node or NAT whose access link changes.
    pub link: String,
    /// Settings that replace the current ones; unset ones stay.
    pub set: LinkSpec,
}

/// A NAT reboot: all state lost, optionally down for a while and back with new addresses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NatReboot {
    /// The NAT.
    pub nat: String,
    /// Time it forwards nothing. Default `0s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub down_for: Option<SimDuration>,
    /// External addresses after the reboot. Default: unchanged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub new_public: Vec<IpAddr>,
}

/// A NAT by name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NatRef {
    /// The NAT.
    pub nat: String,
}

/// An endpoint's local address changes (DHCP renumbering, interface switch).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IpChange {
    /// The node.
    pub node: String,
    /// Its new address on the same network.
    pub address: IpAddr,
}

/// A server policy switch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicySwitch {
    /// The server.
    pub server: String,
    /// The policy from now on.
    pub set: ServerPolicy,
}

/// A SIP call from a softphone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Call {
    /// Calling endpoint.
    pub from: String,
    /// Callee: an endpoint name, a user or a SIP URI.
    pub to: String,
    /// Offer video too. Default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video: Option<bool>,
    /// Extra headers on this INVITE (addSipMessageHeader), e.g. `X-FWD-ORIGINAL`.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub headers: std::collections::BTreeMap<String, String>,
}

/// A blind transfer: the endpoint sends REFER to its peer, naming the transfer target.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Refer {
    /// Transferring endpoint (in a connected call).
    pub endpoint: String,
    /// Transfer target: an endpoint name, a user or a SIP URI.
    pub to: String,
}

/// How DTMF digits are sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum DtmfMethod {
    /// RFC 2833 / 4733 telephone events in the media stream.
    #[default]
    Rfc2833,
    /// SIP INFO requests.
    Info,
}

/// DTMF digits in a connected call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Dtmf {
    /// Sending endpoint.
    pub endpoint: String,
    /// Digits: `0`-`9`, `*`, `#`, `A`-`D`.
    pub digits: String,
    /// Method. Default `rfc2833`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<DtmfMethod>,
}

/// A SIP MESSAGE.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Message {
    /// Sending endpoint.
    pub from: String,
    /// Recipient: an endpoint name, a user or a SIP URI.
    pub to: String,
    /// Text.
    pub text: String,
}

/// Do-not-disturb switch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Dnd {
    /// Endpoint.
    pub endpoint: String,
    /// On or off.
    pub on: bool,
}

/// Answer (2xx) or reject (another final status) the ringing call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Answer {
    /// Answering endpoint.
    pub endpoint: String,
    /// Final status. Default 200.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<u16>,
}

/// An AAE tunnel (natnl_make_call).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MakeTunnel {
    /// Calling AAE endpoint.
    pub from: String,
    /// Called AAE endpoint (by node name or device id).
    pub to: String,
    /// `timeout_sec`; `0s` waits forever. Default `0s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<SimDuration>,
    /// Tunnel ports (`tnl_port`): local TCP ports the caller listens on, each forwarded to a
    /// port at the callee. At most 8.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<TunnelPort>,
}

/// One forwarded port of a tunnel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TunnelPort {
    /// Local port the caller listens on.
    pub lport: u16,
    /// Port at the callee the bytes go to.
    pub rport: u16,
}

/// The SDK's worker loop stops turning for a while.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Stall {
    /// The stalled `aae` endpoint.
    pub endpoint: String,
    /// For how long.
    pub duration: SimDuration,
}

/// Application data through an open tunnel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SendData {
    /// Sending AAE endpoint.
    pub endpoint: String,
    /// Number of bytes.
    pub bytes: u64,
}

/// Which side of an account binding a `bind` runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum BindSide {
    /// The app's steps, then the firmware's login with what was handed over.
    #[default]
    Both,
    /// Only the app's steps; the handover is kept for a later `side: firmware`.
    App,
    /// Only the firmware's login, with the last handover.
    Firmware,
}

/// An account binding by an `aae-app` endpoint (the flows of `aae-web-api.yaml`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Bind {
    /// The `aae-app` endpoint.
    pub endpoint: String,
    /// Binding flow: `new` or `old`. Default `new`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow: Option<super::nodes::Firmware>,
    /// The router's firmware: `new` or `old` (old: empty `routerMd5Mac` at step 6, `old_`
    /// prefix at step 7). Default `new`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firmware: Option<super::nodes::Firmware>,
    /// The router's MD5 MAC. Default: the endpoint's `router_md5mac` (for `side: firmware`, the
    /// router of the last handover).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub router: Option<String>,
    /// Which side runs. Default `both`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub side: Option<BindSide>,
}

/// What a timeline entry does. The key names the action.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// `udp-probe`: send probes.
    Send(Send),
    /// Drop every packet between two nodes.
    Partition(Between),
    /// Undo `partition` (both directions).
    Heal(Between),
    /// Drop every packet to and from one node.
    Isolate(NodeRef),
    /// Undo `isolate`.
    Rejoin(NodeRef),
    /// Queue packets between two nodes instead of delivering them.
    Hold(Between),
    /// Deliver what `hold` queued, and stop holding.
    Release(Between),
    /// Lose packets on one link for a while.
    LossBurst(LossBurst),
    /// Change one link's latency, jitter, loss... from now on.
    LinkChange(LinkChange),
    /// Drop every mapping of a NAT.
    NatFlush(NatRef),
    /// Reboot a NAT.
    NatReboot(NatReboot),
    /// Stop a node: it loses all state and receives nothing.
    Crash(NodeRef),
    /// Start a crashed node again, fresh.
    Restart(NodeRef),
    /// Change an endpoint's local address.
    IpChange(IpChange),
    /// Switch a server's policy.
    ServerPolicy(PolicySwitch),
    /// `aae`: initialise the SDK (login, registration, NAT type detection).
    Init(EndpointRef),
    /// `aae`: de-initialise the SDK.
    Deinit(EndpointRef),
    /// `softphone`, `intercom`: register.
    Register(EndpointRef),
    /// `softphone`, `intercom`: un-register.
    Unregister(EndpointRef),
    /// `softphone`: place a call.
    Call(Call),
    /// `softphone`: answer or reject the incoming call.
    Answer(Answer),
    /// `softphone`, `aae`: hang up.
    Hangup(EndpointRef),
    /// `softphone`: put the connected call on hold (re-INVITE with `sendonly`).
    HoldCall(EndpointRef),
    /// `softphone`: take the call off hold.
    UnholdCall(EndpointRef),
    /// `softphone`: blind transfer of the connected call.
    Refer(Refer),
    /// `softphone`: send DTMF digits.
    Dtmf(Dtmf),
    /// `softphone`: send a SIP MESSAGE.
    Message(Message),
    /// `softphone`: switch do-not-disturb.
    Dnd(Dnd),
    /// `aae`: open a tunnel.
    MakeTunnel(MakeTunnel),
    /// `aae`: send application data through the tunnel.
    SendData(SendData),
    /// `aae`: the SDK's worker loop stalls.
    Stall(Stall),
    /// A fault aimed at a class of packets (SIP method or status, STUN type, TCP flags...).
    PacketFault(PacketFault),
    /// End a `packet_fault` before its `until`.
    PacketFaultEnd(FaultRef),
    /// `aae-app`: bind the router to the account (app steps, firmware login, or both).
    Bind(Bind),
}

/// Every action key, in declaration order.
pub const ACTION_KEYS: &[&str] = &[
    "send",
    "partition",
    "heal",
    "isolate",
    "rejoin",
    "hold",
    "release",
    "loss_burst",
    "link_change",
    "nat_flush",
    "nat_reboot",
    "crash",
    "restart",
    "ip_change",
    "server_policy",
    "init",
    "deinit",
    "register",
    "unregister",
    "call",
    "answer",
    "hangup",
    "hold_call",
    "unhold_call",
    "refer",
    "dtmf",
    "message",
    "dnd",
    "make_tunnel",
    "send_data",
    "stall",
    "packet_fault",
    "packet_fault_end",
    "bind",
];

impl Action {
    /// The action's key as written.
    pub fn key(&self) -> &'static str {
        match self {
            Self::Send(_) => "send",
            Self::Partition(_) => "partition",
            Self::Heal(_) => "heal",
            Self::Isolate(_) => "isolate",
            Self::Rejoin(_) => "rejoin",
            Self::Hold(_) => "hold",
            Self::Release(_) => "release",
            Self::LossBurst(_) => "loss_burst",
            Self::LinkChange(_) => "link_change",
            Self::NatFlush(_) => "nat_flush",
            Self::NatReboot(_) => "nat_reboot",
            Self::Crash(_) => "crash",
            Self::Restart(_) => "restart",
            Self::IpChange(_) => "ip_change",
            Self::ServerPolicy(_) => "server_policy",
            Self::Init(_) => "init",
            Self::Deinit(_) => "deinit",
            Self::Register(_) => "register",
            Self::Unregister(_) => "unregister",
            Self::Call(_) => "call",
            Self::Answer(_) => "answer",
            Self::Hangup(_) => "hangup",
            Self::HoldCall(_) => "hold_call",
            Self::UnholdCall(_) => "unhold_call",
            Self::Refer(_) => "refer",
            Self::Dtmf(_) => "dtmf",
            Self::Message(_) => "message",
            Self::Dnd(_) => "dnd",
            Self::MakeTunnel(_) => "make_tunnel",
            Self::SendData(_) => "send_data",
            Self::Stall(_) => "stall",
            Self::PacketFault(_) => "packet_fault",
            Self::PacketFaultEnd(_) => "packet_fault_end",
            Self::Bind(_) => "bind",
        }
    }
}

impl Serialize for TimelineEntry {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Body<'a>(&'a Action);
        impl Serialize for Body<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                // The action serialises as a one-entry map; emit its value only.
                serde_json::to_value(self.0)
                    .map_err(serde::ser::Error::custom)?
                    .as_object()
                    .and_then(|m| m.values().next().cloned())
                    .unwrap_or(serde_json::Value::Null)
                    .serialize(s)
            }
        }
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("at", &self.at)?;
        m.serialize_entry(self.action.key(), &Body(&self.action))?;
        m.end()
    }
}

impl<'de> Deserialize<'de> for TimelineEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(EntryVisitor)
    }
}

struct EntryVisitor;

impl<'de> Visitor<'de> for EntryVisitor {
    type Value = TimelineEntry;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a timeline entry: `at` and one action, such as `{at: 2s, partition: {...}}`")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<TimelineEntry, A::Error> {
        let mut split = SplitAt {
            inner: map,
            at: None,
            keys: 0,
            ended: false,
        };
        let action = match Action::deserialize(de::value::MapAccessDeserializer::new(&mut split)) {
            Ok(action) => action,
            Err(_) if split.keys == 0 && split.ended => {
                return Err(de::Error::custom(format_args!(
                    "missing action: a timeline entry needs one of {} next to `at`",
                    ACTION_KEYS
                        .iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            Err(e) => return Err(e),
        };
        // The enum reader stops after one entry; anything left is a second action.
        if let Some(key) = split.next_key::<String>()? {
            return Err(de::Error::custom(format_args!(
                "`{key}` is a second action; a timeline entry holds one (`{}` is already given)",
                action.key()
            )));
        }
        let at = split.at.ok_or_else(|| de::Error::missing_field("at"))?;
        Ok(TimelineEntry { at, action })
    }
}

/// Reads a timeline entry's map, taking `at` aside so the rest reads as an externally tagged
/// [`Action`].
struct SplitAt<A> {
    inner: A,
    at: Option<SimDuration>,
    /// Keys handed on (not `at`).
    keys: usize,
    /// The map ran out.
    ended: bool,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for SplitAt<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        loop {
            let Some(key) = self.inner.next_key::<String>()? else {
                self.ended = true;
                return Ok(None);
            };
            if key == "at" {
                if self.at.is_some() {
                    return Err(de::Error::duplicate_field("at"));
                }
                self.at = Some(self.inner.next_value()?);
                continue;
            }
            self.keys += 1;
            return seed
                .deserialize(de::value::StringDeserializer::new(key))
                .map(Some);
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.inner.next_value_seed(seed)
    }
}

impl JsonSchema for TimelineEntry {
    fn schema_name() -> Cow<'static, str> {
        "TimelineEntry".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        // Each action branch of `Action` is `{<key>: ...}`; an entry adds the required `at`.
        let at = generator.subschema_for::<SimDuration>();
        let action = generator.root_schema_for::<Action>();
        let mut branches = Vec::new();
        let mut defs = serde_json::Map::new();
        if let Some(obj) = action.as_object() {
            for key in ["$defs", "definitions"] {
                if let Some(serde_json::Value::Object(d)) = obj.get(key) {
                    defs.extend(d.clone());
                }
            }
            if let Some(serde_json::Value::Array(one_of)) = obj.get("oneOf") {
                for branch in one_of {
                    let mut branch = branch.clone();
                    if let Some(b) = branch.as_object_mut() {
                        if let Some(serde_json::Value::Object(props)) = b.get_mut("properties") {
                            props.insert("at".into(), at.clone().to_value());
                        }
                        if let Some(serde_json::Value::Array(req)) = b.get_mut("required") {
                            req.insert(0, "at".into());
                        }
                    }
                    branches.push(branch);
                }
            }
        }
        for (name, def) in defs {
            generator.definitions_mut().entry(name).or_insert(def);
        }
        let mut schema = serde_json::Map::new();
        schema.insert(
            "description".into(),
            "`at` (simulated time) and exactly one action key.".into(),
        );
        schema.insert("oneOf".into(), serde_json::Value::Array(branches));
        Schema::from(schema)
    }
}

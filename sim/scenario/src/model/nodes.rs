//! Servers and endpoints. Every node has a `name`, sits on the public network or `behind` a NAT,
//! has an `address` there (default: the next free one) and an access `link`.

use super::network::LinkSpec;
use super::tagged::kind_tagged;
use super::values::{ProbeWire, SimDuration, Transport};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// Defines a node struct: the fields every node has, then the kind's own.
macro_rules! node_spec {
    ($(#[$meta:meta])* $name:ident { $($(#[$fmeta:meta])* $field:ident : $ty:ty,)* }) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            /// Unique name among all nodes and NATs.
            pub name: String,
            /// The NAT whose LAN the node is on. Default: the public network.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub behind: Option<String>,
            /// Address on that network. Default: the next free address (public nodes from
            /// 203.0.113.0/24, LAN nodes from the NAT's `lan`).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub address: Option<IpAddr>,
            /// The node's access link. Default: `topology.defaults.link`.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub link: Option<LinkSpec>,
            $($(#[$fmeta])* pub $field: $ty,)*
        }

        impl NodeSpec for $name {
            fn common(&self) -> Common<'_> {
                Common {
                    name: &self.name,
                    behind: self.behind.as_deref(),
                    address: self.address,
                    link: self.link.as_ref(),
                }
            }
        }
    };
}

/// What every node has, borrowed.
#[derive(Clone, Copy, Debug)]
pub struct Common<'a> {
    /// Node name.
    pub name: &'a str,
    /// NAT it sits behind, if any.
    pub behind: Option<&'a str>,
    /// Address, if written.
    pub address: Option<IpAddr>,
    /// Access link, if written.
    pub link: Option<&'a LinkSpec>,
}

/// Access to the fields every node has.
pub trait NodeSpec {
    /// The common fields.
    fn common(&self) -> Common<'_>;
}

/// A server, tagged by `kind`.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ServerSpec {
    /// SIP registrar and stateful proxy (with trunk policies).
    Sip(SipServerSpec),
    /// STUN server (RFC 5389 Binding; RFC 5780 tests with an alternate address).
    Stun(StunSpec),
    /// TURN server (RFC 5766).
    Turn(TurnSpec),
    /// AAE web service (login and account binding).
    AaeWeb(WebServiceSpec),
    /// DNS server.
    Dns(DnsSpec),
}

kind_tagged!(ServerSpec, ServerKind, "a server", {
    "sip" => Sip(SipServerSpec),
    "stun" => Stun(StunSpec),
    "turn" => Turn(TurnSpec),
    "aae-web" => AaeWeb(WebServiceSpec),
    "dns" => Dns(DnsSpec),
});

impl ServerSpec {
    /// The fields every node has.
    pub fn common(&self) -> Common<'_> {
        match self {
            Self::Sip(s) => s.common(),
            Self::Stun(s) => s.common(),
            Self::Turn(s) => s.common(),
            Self::AaeWeb(s) => s.common(),
            Self::Dns(s) => s.common(),
        }
    }

    /// The `kind` as written.
    pub const fn kind(&self) -> &'static str {
        match self {
            Self::Sip(_) => "sip",
            Self::Stun(_) => "stun",
            Self::Turn(_) => "turn",
            Self::AaeWeb(_) => "aae-web",
            Self::Dns(_) => "dns",
        }
    }
}

/// An endpoint, tagged by `kind`.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum EndpointSpec {
    /// A device running the AAE P2P tunnel SDK.
    Aae(AaeSpec),
    /// A SIP softphone (the softphone SDK's user agent).
    Softphone(SoftphoneSpec),
    /// An intercom with the documented SIP settings.
    Intercom(IntercomSpec),
    /// A bare ICE agent (STUN/TURN gathering and connectivity checks).
    IceAgent(IceAgentSpec),
    /// NAT-type detection against a STUN server (the classic RFC 3489 tests and RFC 5780
    /// behaviour discovery), as the AAE SDK runs it at init.
    NatDetector(NatDetectorSpec),
    /// A UDP probe: sends numbered probes, optionally echoes, counts what it receives.
    UdpProbe(UdpProbeSpec),
    /// A TCP probe: connects and sends probe lines, optionally echoes, counts what it receives.
    TcpProbe(TcpProbeSpec),
    /// A phone running the AAE app, with the router it binds to its account (the app and
    /// firmware sides of the account-binding flows).
    AaeApp(AaeAppSpec),
}

kind_tagged!(EndpointSpec, EndpointKind, "an endpoint", {
    "aae" => Aae(AaeSpec),
    "softphone" => Softphone(SoftphoneSpec),
    "intercom" => Intercom(IntercomSpec),
    "ice-agent" => IceAgent(IceAgentSpec),
    "nat-detector" => NatDetector(NatDetectorSpec),
    "udp-probe" => UdpProbe(UdpProbeSpec),
    "tcp-probe" => TcpProbe(TcpProbeSpec),
    "aae-app" => AaeApp(AaeAppSpec),
});

impl EndpointSpec {
    /// The fields every node has.
    pub fn common(&self) -> Common<'_> {
        match self {
            Self::Aae(s) => s.common(),
            Self::Softphone(s) => s.common(),
            Self::Intercom(s) => s.common(),
            Self::IceAgent(s) => s.common(),
            Self::NatDetector(s) => s.common(),
            Self::UdpProbe(s) => s.common(),
            Self::TcpProbe(s) => s.common(),
            Self::AaeApp(s) => s.common(),
        }
    }

    /// The `kind` as written.
    pub const fn kind(&self) -> &'static str {
        match self {
            Self::Aae(_) => "aae",
            Self::Softphone(_) => "softphone",
            Self::Intercom(_) => "intercom",
            Self::IceAgent(_) => "ice-agent",
            Self::NatDetector(_) => "nat-detector",
            Self::UdpProbe(_) => "udp-probe",
            Self::TcpProbe(_) => "tcp-probe",
            Self::AaeApp(_) => "aae-app",
        }
    }
}

/// A user name and password known to a server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Account {
    /// User name.
    pub user: String,
    /// Password.
    pub password: String,
}

/// Knobs that a `server_policy` action switches at run time. On a `sip` server the trunk fields
/// are the operator's rules: each makes the server refuse a request for the reason the
/// operator's error table gives, with the operator's reason phrase.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServerPolicy {
    /// Answer every request with this status code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub respond: Option<u16>,
    /// Silently drop every request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop: Option<bool>,
    /// Accounts (users) whose balance has run out: their INVITEs are refused (409 Not enough
    /// money).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub no_balance: Vec<String>,
    /// Simultaneous calls allowed per account (503 Simultaneous calls limit reached beyond).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_calls: Option<u32>,
    /// The form a called number must have: a literal prefix of digits (optionally `+`), then one
    /// `#` per further digit, e.g. `380#########` (403 Invalid Phone Number otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number_format: Option<String>,
    /// Media encryption the numbers require: `rtp` or `srtp` (488 Not Acceptable Here for an
    /// offer with the other profile).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<Encryption>,
    /// The trunk's SIP service is failing (500 Service Unavailable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outage: Option<bool>,
    /// Called-number prefixes whose route is disabled (501 Not Implemented).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disabled_routes: Vec<String>,
    /// Called-number prefixes whose downstream gateway fails (502 Bad Gateway).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failing_gateways: Vec<String>,
    /// IP-based authorisation: only requests from these source addresses are accepted (407
    /// Proxy Authentication Required for any other).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authorized_ips: Vec<IpAddr>,
    /// Callers each callee blocks (607 Unwanted).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub block: Vec<Block>,
    /// Callees that decline every call (603 Declined).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub decline: Vec<String>,
    /// Callees that bar incoming calls (486 Busy Here).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bar_incoming: Vec<String>,
    /// A broken STUN server: `omit-mapped-address`, `zero-mapped-address`,
    /// `corrupt-fingerprint` or `primary-only` (the alternate address is down).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stun_fault: Option<StunFault>,
    /// TURN: allocations one user may hold (486 Allocation Quota Reached beyond).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocation_quota: Option<u32>,
    /// TURN: allocations the server holds in all (508 Insufficient Capacity beyond).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<u32>,
    /// `aae-web`: refuse every `/aae/login` (503, JSON status `unavailable`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refuse_logins: Option<bool>,
    /// `aae-web`: every ticket issued so far expires now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expire_tickets: Option<bool>,
    /// `aae-web`: a broken HTTP server: `reset` (resets the connection on a request) or
    /// `truncate-head` (sends part of the response head, then closes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_fault: Option<WebFault>,
    /// DNS: answer every query with this RCODE (0–15) and no records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rcode: Option<u8>,
    /// DNS: per-name overrides of `rcode`/`drop`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns_names: Vec<DnsNamePolicy>,
}

/// How an AAE web server misbehaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum WebFault {
    /// Resets the connection when a request arrives.
    Reset,
    /// Sends the first part of the response head, then closes.
    TruncateHead,
}

/// How a DNS server answers queries about one name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DnsNamePolicy {
    /// The queried name.
    pub name: String,
    /// Answer with this RCODE (0–15) and no records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rcode: Option<u8>,
    /// Drop queries about the name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop: Option<bool>,
}

/// How a STUN server misbehaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum StunFault {
    /// Answers without XOR-MAPPED-ADDRESS and MAPPED-ADDRESS.
    OmitMappedAddress,
    /// Answers with the mapped address `0.0.0.0:0`.
    ZeroMappedAddress,
    /// Answers with a wrong FINGERPRINT.
    CorruptFingerprint,
    /// Answers only on its primary address and port (the alternate interface is down).
    PrimaryOnly,
}

/// One entry of a callee's block list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Block {
    /// The callee (user) that blocks.
    pub callee: String,
    /// The caller (user) it blocks.
    pub caller: String,
}

/// Media encryption of a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Encryption {
    /// Plain RTP (`RTP/AVP`).
    Rtp,
    /// SRTP (`RTP/SAVP`).
    Srtp,
}

node_spec! {
    /// SIP registrar and stateful proxy.
    SipServerSpec {
        /// Listening port. Default 5060.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        port: Option<u16>,
        /// Transports served. Default `[udp]`.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        transports: Vec<Transport>,
        /// SIP domain. Default: the server's name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        domain: Option<String>,
        /// Digest realm. Default: the domain.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        realm: Option<String>,
        /// Accounts allowed to register; none means no authentication.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        accounts: Vec<Account>,
        /// Policy in force from the start.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        policy: Option<Box<ServerPolicy>>,
    }
}

/// The second address of a STUN server for RFC 5780 / RFC 3489 behaviour tests.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlternateAddress {
    /// Alternate IP address.
    pub address: IpAddr,
    /// Alternate port. Default 3479.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
}

node_spec! {
    /// STUN server.
    StunSpec {
        /// Listening port. Default 3478.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        port: Option<u16>,
        /// Alternate address and port (CHANGE-REQUEST, OTHER-ADDRESS).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        alternate: Option<AlternateAddress>,
    }
}

node_spec! {
    /// TURN server.
    TurnSpec {
        /// Listening port. Default 3478.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        port: Option<u16>,
        /// Long-term credential realm. Default: the server's name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        realm: Option<String>,
        /// Accounts allowed to allocate.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        accounts: Vec<Account>,
        /// Transports towards clients. Default `[udp]`.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        transports: Vec<Transport>,
        /// Allocation quota per user. Default unlimited.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_allocations: Option<u32>,
        /// Nonce lifetime. Default `1h`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        nonce_lifetime: Option<SimDuration>,
    }
}

node_spec! {
    /// AAE web service: login and account binding (HTTP/1.1, JSON bodies).
    WebServiceSpec {
        /// Listening TCP port. Default 80.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        port: Option<u16>,
        /// Accounts (`userid`/`passwd` in the document).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        accounts: Vec<Account>,
        /// Roles it plays: `portal`, `area`, `unit`. Default all three.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        roles: Vec<WebRole>,
        /// The Service Area its portal hands out: another `aae-web` server. Default: itself.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        service_area: Option<String>,
        /// Lifetime of a userticket (app userticket, routeruserticket). Default `1h`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        userticket_lifetime: Option<SimDuration>,
        /// Lifetime of a userrefreshticket (routerrefreshticket). Default `720h`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        refreshticket_lifetime: Option<SimDuration>,
        /// Lifetime of a deviceticket. Default `24h`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        deviceticket_lifetime: Option<SimDuration>,
    }
}

/// A role of an AAE web server.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum WebRole {
    /// Service Portal: `/aae/getservicearea`.
    Portal,
    /// Service Area: `/aae/login`, `/aae/getuserticketbyrefresh`, `/aae/getuserrefreshticket`.
    Area,
    /// Service Unit: `/aae/getdeviceinfo` (device data for a deviceticket).
    Unit,
}

node_spec! {
    /// A phone running the AAE app, and the router it binds.
    AaeAppSpec {
        /// The `aae-web` server whose Service Portal it asks first.
        web_service: String,
        /// Account name (`userid`).
        user: String,
        /// Password (`passwd`).
        password: String,
        /// The phone's `deviceMd5Mac`. Default `<name>-phone`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        phone_md5mac: Option<String>,
        /// The router's `routerMd5Mac`. Default `<name>-router`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        router_md5mac: Option<String>,
        /// Time each HTTP request may take. Default `10s`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout: Option<SimDuration>,
    }
}

/// One DNS A/AAAA record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DnsRecord {
    /// Fully qualified name.
    pub name: String,
    /// Address it resolves to.
    pub address: IpAddr,
}

node_spec! {
    /// DNS server.
    DnsSpec {
        /// Listening port. Default 53.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        port: Option<u16>,
        /// Zone records.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        records: Vec<DnsRecord>,
    }
}

/// Account-binding flavour of the AAE web service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Firmware {
    /// New firmware binding flow.
    New,
    /// Old firmware binding flow.
    Old,
}

/// TURN credentials of a client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TurnCredentials {
    /// TURN server node.
    pub server: String,
    /// User name.
    pub user: String,
    /// Password.
    pub password: String,
}

node_spec! {
    /// A device running the AAE P2P tunnel SDK.
    AaeSpec {
        /// Device id registered at the relay SIP server.
        device_id: String,
        /// Device ticket (the SIP password).
        device_ticket: String,
        /// The relay SIP server node.
        sip_server: String,
        /// STUN server node for NAT type detection and server-reflexive candidates.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stun_server: Option<String>,
        /// A second STUN server: init also runs the legacy mapped-address check against both
        /// (320010 when one does not answer, 320011 when they see different mappings).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        second_stun_server: Option<String>,
        /// TURN relay.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        turn: Option<TurnCredentials>,
        /// AAE web service node for login and binding.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        web_service: Option<String>,
        /// Binding flavour. Default `new`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        firmware: Option<Firmware>,
        /// Local SIP port. Default 5060.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        port: Option<u16>,
        /// Tunnels the device accepts at once: 1 to 15, default 4.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_calls: Option<i64>,
        /// Tunnel keep-alive timeout: at most `180s`, default `180s`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tnl_timeout: Option<SimDuration>,
        /// Idle timeout on application data; `0s` (default) turns it off.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        idle_timeout: Option<SimDuration>,
        /// Skip registration, NAT type detection and UPnP during init. Default false.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fast_init: Option<bool>,
        /// SIP transport to the relay (`udp` or `tcp`). Default `udp`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        transport: Option<Transport>,
    }
}

/// PRACK (RFC 3262) mode of the softphone, as `setReliableProvisional` documents it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PrackMode {
    /// Mode 0: never send reliable provisionals (default).
    Never,
    /// Mode 1: only with a body and when the far end supports it.
    SupportedEssential,
    /// Mode 2: whenever the far end supports it.
    Supported,
    /// Mode 3: always.
    Required,
}

/// SRTP policy of the softphone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SrtpPolicy {
    /// Plain RTP only (RTP/AVP).
    None,
    /// Offer SRTP, accept RTP.
    Prefer,
    /// SRTP only (RTP/SAVP).
    Force,
}

node_spec! {
    /// A SIP softphone.
    SoftphoneSpec {
        /// SIP user.
        user: String,
        /// SIP password.
        password: String,
        /// Registrar/proxy node.
        server: String,
        /// SIP domain. Default: the server's domain.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        domain: Option<String>,
        /// Local SIP port. Default 5060.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        port: Option<u16>,
        /// Transport. Default `udp`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        transport: Option<Transport>,
        /// Registration expiry in seconds: at most 3600, default 3600.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        register_expires: Option<i64>,
        /// Registration retries; 0 or less turns retry off.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_times: Option<i64>,
        /// SIP keep-alive interval; `0s` turns it off. Recommended `30s` or `50s`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        keep_alive: Option<SimDuration>,
        /// RFC 3581 rport. Default true.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rport: Option<bool>,
        /// PRACK mode. Default `never`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prack: Option<PrackMode>,
        /// SRTP policy. Default `none`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        srtp: Option<SrtpPolicy>,
        /// Session timer; at least `90s` when set.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session_timer: Option<SimDuration>,
        /// Do not disturb: incoming calls are refused with 486. Default false.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        dnd: Option<bool>,
        /// Extra headers added to every request it sends (addSipMessageHeader).
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        headers: BTreeMap<String, String>,
        /// A misbehaving UA: its PRACK carries an RAck whose CSeq number is one off. Default
        /// false.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        wrong_rack: Option<bool>,
    }
}

/// The intercom's STUN setting.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IntercomStun {
    /// STUN server address (IPv4 or DNS name; a node name resolves to that node).
    pub ip: String,
    /// STUN server port.
    pub port: i64,
}

node_spec! {
    /// An intercom, configured exactly by its documented SIP settings.
    IntercomSpec {
        /// SIP proxy address (`sip:host` or `host`; the host may be a node name).
        proxy: String,
        /// SIP server address, used as the digest realm.
        realm: String,
        /// User number: 1 to 31 characters.
        user: String,
        /// Password: 1 to 31 characters.
        password: String,
        /// STUN server settings.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stun: Option<IntercomStun>,
        /// Registration period in seconds, 30 to 900; re-registers 6 s before it expires.
        registration_interval: i64,
        /// H.264 payload type, 99 to 127. Default 102.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        h264: Option<i64>,
        /// Transport: udp, tcp or tls.
        transport: Transport,
    }
}

/// ICE role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum IceRole {
    /// Controlling agent (nominates).
    Controlling,
    /// Controlled agent.
    Controlled,
}

node_spec! {
    /// A bare ICE agent.
    IceAgentSpec {
        /// Local UDP port. Default 4000.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        port: Option<u16>,
        /// Role. Default `controlling`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        role: Option<IceRole>,
        /// The other ICE agent.
        peer: String,
        /// STUN server nodes for server-reflexive candidates.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        stun_servers: Vec<String>,
        /// TURN relay.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        turn: Option<TurnCredentials>,
    }
}

node_spec! {
    /// NAT-type detection from where it sits.
    NatDetectorSpec {
        /// The STUN server node (with an `alternate` address for the full classic tests).
        stun: String,
        /// A second STUN server: the legacy symmetric check compares the mapped addresses the
        /// two report (320011 when they differ).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        second_stun: Option<String>,
        /// Local UDP port. Default: an ephemeral port.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        port: Option<u16>,
        /// When to start. Default `0s`; `detect` actions start it again.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        start: Option<SimDuration>,
    }
}

node_spec! {
    /// A UDP probe.
    UdpProbeSpec {
        /// Local UDP port. Default 5000.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        port: Option<u16>,
        /// More local UDP ports to listen (and echo) on, besides `port`.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        ports: Vec<u16>,
        /// Echo every probe back to its source, telling it the address it was seen from.
        /// Default false.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        echo: Option<bool>,
        /// What its probes look like on the wire. Default `text`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        wire: Option<ProbeWire>,
    }
}

node_spec! {
    /// A TCP probe: `send` opens a connection and writes one probe line per interval over it.
    TcpProbeSpec {
        /// Local TCP port it listens on. Default 7000.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        port: Option<u16>,
        /// Echo every probe line back on its connection. Default false.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        echo: Option<bool>,
    }
}

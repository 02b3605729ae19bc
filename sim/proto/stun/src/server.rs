//! The STUN server: RFC 5389 Binding, RFC 5780 behaviour discovery and the RFC 3489
//! attributes legacy clients read, with fault policies.
//!
//! ```text
//!            request on (ip, port) ∈ {primary, alternate ip} × {primary, alternate port}
//!                 │
//!   policy Silent / AnswerOnlyOn(other) ──► dropped (PolicyApplied)
//!                 │
//!   unknown comprehension-required attribute ──► 420 + UNKNOWN-ATTRIBUTES
//!   not Binding ──► 400            credentials fail ──► 400 / 401 / 438 (+ REALM, NONCE)
//!   CHANGE-REQUEST without an alternate ──► 420
//!   policy Error(code) ──► code
//!                 │
//!   success from (change.ip ? other ip : ip, change.port ? other port : port):
//!   XOR-MAPPED-ADDRESS, MAPPED-ADDRESS, RESPONSE-ORIGIN, OTHER-ADDRESS, SOURCE-ADDRESS,
//!   CHANGED-ADDRESS, SOFTWARE, MESSAGE-INTEGRITY, FINGERPRINT
//! ```

use crate::auth::{self, Credentials, Nonces, Verdict};
use crate::codec::{self, Attr, Change};
use bytes::Bytes;
use rtc_stun::attributes::{
    ATTR_CHANGE_REQUEST, ATTR_CHANGED_ADDRESS, ATTR_MAPPED_ADDRESS, ATTR_OTHER_ADDRESS,
    ATTR_RESPONSE_ORIGIN, ATTR_SOFTWARE, ATTR_SOURCE_ADDRESS, ATTR_UNKNOWN_ATTRIBUTES,
    ATTR_XORMAPPED_ADDRESS,
};
use rtc_stun::message::{
    BINDING_ERROR, BINDING_SUCCESS, CLASS_ERROR_RESPONSE, CLASS_REQUEST, CLASS_SUCCESS_RESPONSE,
    METHOD_BINDING, Message, MessageType,
};
use sim_core::{
    Addresses, Binding, Bound, Datagram, LogEvent, Node, Seed, SimInstant, SimRng, Transmit,
};
use std::collections::VecDeque;
use std::fmt;
use std::net::{IpAddr, SocketAddr};

/// What a [`StunServer`] is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StunServerConfig {
    /// Primary address. An unspecified IP means "the node's address" (from `handle_start`).
    pub primary: SocketAddr,
    /// Alternate IP address (RFC 5780 §4.1): needed for CHANGE-REQUEST "change IP" and for
    /// OTHER-ADDRESS/CHANGED-ADDRESS. The node must own it (see the crate documentation).
    pub alternate_ip: Option<IpAddr>,
    /// Alternate port: needed for "change port". Bound on every address of the node.
    pub alternate_port: Option<u16>,
    /// SOFTWARE text in responses; `None` omits the attribute.
    pub software: Option<String>,
    /// Whether responses carry FINGERPRINT.
    pub fingerprint: bool,
    /// Credentials requests must carry.
    pub credentials: Credentials,
}

impl StunServerConfig {
    /// A server on `primary` only, no credentials, SOFTWARE `natlab`, FINGERPRINT on.
    pub fn new(primary: SocketAddr) -> Self {
        Self {
            primary,
            alternate_ip: None,
            alternate_port: None,
            software: Some("natlab".to_owned()),
            fingerprint: true,
            credentials: Credentials::None,
        }
    }

    /// The same with an RFC 5780 alternate IP and port.
    #[must_use]
    pub fn with_alternate(mut self, ip: IpAddr, port: u16) -> Self {
        self.alternate_ip = Some(ip);
        self.alternate_port = Some(port);
        self
    }
}

/// A fault policy, switchable at run time with [`StunServer::set_policy`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum StunPolicy {
    /// Answer as the RFCs say.
    #[default]
    Normal,
    /// Drop every request.
    Silent,
    /// Answer every (otherwise acceptable) Binding request with this ERROR-CODE.
    Error(u16),
    /// Answer without XOR-MAPPED-ADDRESS and MAPPED-ADDRESS (like a broken RFC 3489 server).
    OmitMappedAddress,
    /// Answer with XOR-MAPPED-ADDRESS and MAPPED-ADDRESS set to `0.0.0.0:0` (the legacy client
    /// reports 320010 for it).
    ZeroMappedAddress,
    /// Answer only requests that arrive on this local address, and only from it: requests to
    /// other addresses are dropped, and responses a CHANGE-REQUEST would send from another
    /// address are not sent (an alternate interface that is down).
    AnswerOnlyOn(SocketAddr),
    /// Send responses with a wrong FINGERPRINT value.
    CorruptFingerprint,
}

impl fmt::Display for StunPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Normal => f.write_str("normal"),
            Self::Silent => f.write_str("silent"),
            Self::Error(code) => write!(f, "error {code}"),
            Self::OmitMappedAddress => f.write_str("omit-mapped-address"),
            Self::ZeroMappedAddress => f.write_str("zero-mapped-address"),
            Self::AnswerOnlyOn(a) => write!(f, "answer-only-on {a}"),
            Self::CorruptFingerprint => f.write_str("corrupt-fingerprint"),
        }
    }
}

/// What a [`StunServer`] reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StunServerEvent {
    /// A request was answered.
    Served {
        /// The client, as the request arrived.
        client: SocketAddr,
        /// The local address the request arrived on.
        local: SocketAddr,
        /// The local address the response was sent from.
        source: SocketAddr,
        /// What the CHANGE-REQUEST asked.
        change: Change,
        /// The ERROR-CODE, for an error response.
        error: Option<u16>,
    },
    /// A policy changed or suppressed an answer.
    PolicyApplied {
        /// The client.
        client: SocketAddr,
        /// The policy.
        policy: StunPolicy,
    },
    /// [`StunServer::set_policy`] switched the policy.
    PolicyChanged {
        /// The new policy.
        policy: StunPolicy,
    },
    /// A datagram that is not a STUN request was ignored.
    Ignored {
        /// Its sender.
        client: SocketAddr,
        /// Why.
        reason: &'static str,
    },
    /// A port could not be bound.
    BindFailed {
        /// The port.
        port: u16,
        /// Why.
        error: String,
    },
}

impl StunServerEvent {
    /// Per-request traffic (served and ignored messages): a driver may count these instead of
    /// logging each one.
    pub const fn is_traffic(&self) -> bool {
        matches!(self, Self::Served { .. } | Self::Ignored { .. })
    }

    /// The event's name in the event log.
    pub const fn name(&self) -> &'static str {
        match self {
            Self::Served { .. } => "stun-request-served",
            Self::PolicyApplied { .. } => "stun-policy-applied",
            Self::PolicyChanged { .. } => "stun-policy-changed",
            Self::Ignored { .. } => "stun-message-ignored",
            Self::BindFailed { .. } => "bind-failed",
        }
    }
}

impl From<&StunServerEvent> for LogEvent {
    fn from(e: &StunServerEvent) -> Self {
        let log = Self::named(e.name());
        match e {
            StunServerEvent::Served {
                client,
                local,
                source,
                change,
                error,
            } => {
                let detail =
                    format!("{client} -> {local}, answered from {source}, change {change}");
                match error {
                    Some(code) => log.with_status(u32::from(*code)).with_detail(detail),
                    None => log.with_detail(detail),
                }
            }
            StunServerEvent::PolicyApplied { client, policy } => {
                log.with_detail(format!("{policy} for {client}"))
            }
            StunServerEvent::PolicyChanged { policy } => log.with_detail(policy.to_string()),
            StunServerEvent::Ignored { client, reason } => {
                log.with_detail(format!("{client}: {reason}"))
            }
            StunServerEvent::BindFailed { port, error } => {
                log.with_detail(format!("port {port}: {error}"))
            }
        }
    }
}

/// Comprehension-required attributes the server understands in a Binding request.
const KNOWN_REQUIRED: [u16; 8] = [
    0x0003, // CHANGE-REQUEST
    0x0006, // USERNAME
    0x0008, // MESSAGE-INTEGRITY
    0x0014, // REALM
    0x0015, // NONCE
    0x0024, // PRIORITY
    0x0025, // USE-CANDIDATE
    0x0026, // PADDING
];

/// A STUN server core. See the module documentation.
#[derive(Debug)]
pub struct StunServer {
    config: StunServerConfig,
    policy: StunPolicy,
    primary_ip: IpAddr,
    rng: SimRng,
    nonces: Nonces,
    transmits: VecDeque<Transmit>,
    events: VecDeque<StunServerEvent>,
    served: u64,
}

/// How to answer one request.
struct Answer {
    error: Option<u16>,
    attrs: Vec<Attr>,
    key: Option<Vec<u8>>,
    source: SocketAddr,
    change: Change,
}

impl StunServer {
    /// A server with `config`; nonces come from `seed`.
    pub fn new(config: StunServerConfig, seed: Seed) -> Self {
        Self {
            primary_ip: config.primary.ip(),
            config,
            policy: StunPolicy::Normal,
            rng: seed.rng(),
            nonces: Nonces::default(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            served: 0,
        }
    }

    /// Switches the fault policy from now on.
    pub fn set_policy(&mut self, now: SimInstant, policy: StunPolicy) {
        let _ = now;
        self.policy = policy.clone();
        self.events
            .push_back(StunServerEvent::PolicyChanged { policy });
    }

    /// The policy in force.
    pub fn policy(&self) -> &StunPolicy {
        &self.policy
    }

    /// The configuration.
    pub fn config(&self) -> &StunServerConfig {
        &self.config
    }

    /// Requests answered so far (success or error).
    pub fn served(&self) -> u64 {
        self.served
    }

    fn other_ip(&self, ip: IpAddr) -> Option<IpAddr> {
        let alt = self.config.alternate_ip?;
        Some(if ip == alt { self.primary_ip } else { alt })
    }

    fn other_port(&self, port: u16) -> Option<u16> {
        let alt = self.config.alternate_port?;
        Some(if port == alt {
            self.config.primary.port()
        } else {
            alt
        })
    }

    /// OTHER-ADDRESS / CHANGED-ADDRESS for a request that arrived on `local`.
    fn other_address(&self, local: SocketAddr) -> Option<SocketAddr> {
        Some(SocketAddr::new(
            self.other_ip(local.ip())?,
            self.other_port(local.port())?,
        ))
    }

    fn applied(&mut self, client: SocketAddr) {
        self.events.push_back(StunServerEvent::PolicyApplied {
            client,
            policy: self.policy.clone(),
        });
    }

    fn on_request(&mut self, now: SimInstant, client: SocketAddr, local: SocketAddr, m: &Message) {
        match &self.policy {
            StunPolicy::Silent => return self.applied(client),
            StunPolicy::AnswerOnlyOn(only) if *only != local => return self.applied(client),
            _ => {}
        }
        let answer = self.answer(now, client, local, m);
        if let StunPolicy::AnswerOnlyOn(only) = self.policy
            && answer.source != only
        {
            return self.applied(client);
        }
        self.send(client, local, m, answer);
    }

    /// Decides the answer (error or success) to a Binding request.
    fn answer(
        &mut self,
        now: SimInstant,
        client: SocketAddr,
        local: SocketAddr,
        m: &Message,
    ) -> Answer {
        let error = |code, attrs| Answer {
            error: Some(code),
            attrs,
            key: None,
            source: local,
            change: Change::NONE,
        };
        let unknown: Vec<u16> = m
            .attributes
            .0
            .iter()
            .map(|a| a.typ.0)
            .filter(|t| *t < 0x8000 && !KNOWN_REQUIRED.contains(t))
            .collect();
        if !unknown.is_empty() {
            return error(420, vec![unknown_attributes(&unknown)]);
        }
        if m.typ.method != METHOD_BINDING {
            return error(400, Vec::new());
        }
        let key = match auth::verify(
            &self.config.credentials,
            &mut self.nonces,
            now,
            &mut self.rng,
            m,
        ) {
            Verdict::Open => None,
            Verdict::Accepted { key, .. } => Some(key),
            Verdict::Rejected { code, attrs } => return error(code, attrs),
        };
        let change = match codec::get_change(m) {
            Ok(change) => change.unwrap_or_default(),
            Err(()) => return error(400, Vec::new()),
        };
        let ip = match change.ip {
            true => self.other_ip(local.ip()),
            false => Some(local.ip()),
        };
        let port = match change.port {
            true => self.other_port(local.port()),
            false => Some(local.port()),
        };
        let (Some(ip), Some(port)) = (ip, port) else {
            return error(420, vec![unknown_attributes(&[ATTR_CHANGE_REQUEST.0])]);
        };
        if let StunPolicy::Error(code) = self.policy {
            self.applied(client);
            return Answer {
                key,
                ..error(code, Vec::new())
            };
        }
        let source = SocketAddr::new(ip, port);
        Answer {
            error: None,
            attrs: self.success_attrs(client, local, source),
            key,
            source,
            change,
        }
    }

    fn success_attrs(
        &mut self,
        client: SocketAddr,
        local: SocketAddr,
        source: SocketAddr,
    ) -> Vec<Attr> {
        let mut attrs = Vec::new();
        let zero = SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), 0);
        let mapped = match self.policy {
            StunPolicy::OmitMappedAddress => None,
            StunPolicy::ZeroMappedAddress => Some(zero),
            _ => Some(client),
        };
        if mapped != Some(client) {
            self.applied(client);
        }
        if let Some(mapped) = mapped {
            attrs.push(Attr::Xor(ATTR_XORMAPPED_ADDRESS, mapped));
            attrs.push(Attr::Plain(ATTR_MAPPED_ADDRESS, mapped));
        }
        attrs.push(Attr::Plain(ATTR_RESPONSE_ORIGIN, source));
        attrs.push(Attr::Plain(ATTR_SOURCE_ADDRESS, source));
        if let Some(other) = self.other_address(local) {
            attrs.push(Attr::Plain(ATTR_OTHER_ADDRESS, other));
            attrs.push(Attr::Plain(ATTR_CHANGED_ADDRESS, other));
        }
        attrs
    }

    fn send(&mut self, client: SocketAddr, local: SocketAddr, m: &Message, mut answer: Answer) {
        if let Some(software) = &self.config.software {
            answer
                .attrs
                .push(Attr::Text(ATTR_SOFTWARE, software.clone()));
        }
        let typ = match answer.error {
            Some(code) => {
                answer.attrs.insert(0, Attr::Error(code));
                BINDING_ERROR
            }
            None => BINDING_SUCCESS,
        };
        let typ = MessageType {
            method: m.typ.method,
            ..typ
        };
        let key = answer.key.as_deref();
        let Some(mut bytes) = codec::encode(
            typ,
            m.transaction_id,
            &answer.attrs,
            key,
            self.config.fingerprint,
        ) else {
            return;
        };
        if self.policy == StunPolicy::CorruptFingerprint {
            bytes = codec::corrupt_fingerprint(bytes);
            self.applied(client);
        }
        self.served += 1;
        self.transmits.push_back(Transmit::Datagram(Datagram {
            src: answer.source,
            dst: client,
            payload: Bytes::from(bytes),
        }));
        self.events.push_back(StunServerEvent::Served {
            client,
            local,
            source: answer.source,
            change: answer.change,
            error: answer.error,
        });
    }
}

fn unknown_attributes(types: &[u16]) -> Attr {
    let value = types.iter().flat_map(|t| t.to_be_bytes()).collect();
    Attr::Raw(ATTR_UNKNOWN_ATTRIBUTES, value)
}

/// Whether `t` is a STUN response class (success or error).
pub(crate) fn is_response(t: MessageType) -> bool {
    t.class == CLASS_SUCCESS_RESPONSE || t.class == CLASS_ERROR_RESPONSE
}

impl Node for StunServer {
    type Event = StunServerEvent;

    fn bindings(&self) -> Vec<Binding> {
        let mut b = vec![Binding::udp(self.config.primary.port())];
        if let Some(port) = self.config.alternate_port
            && port != self.config.primary.port()
        {
            b.push(Binding::udp(port));
        }
        b
    }

    fn handle_start(&mut self, _now: SimInstant, addresses: Addresses) {
        if self.config.primary.ip().is_unspecified()
            && let Some(ip) = addresses.towards(self.config.primary.ip())
        {
            self.primary_ip = ip;
        }
    }

    fn handle_bound(&mut self, _now: SimInstant, bound: Bound) {
        if let Err(e) = bound.result {
            self.events.push_back(StunServerEvent::BindFailed {
                port: bound.binding.port,
                error: e.to_string(),
            });
        }
    }

    fn handle_datagram(&mut self, now: SimInstant, d: Datagram) {
        let client = d.src;
        let Some(m) = codec::decode(&d.payload) else {
            let reason = "not a STUN message";
            self.events
                .push_back(StunServerEvent::Ignored { client, reason });
            return;
        };
        if m.typ.class != CLASS_REQUEST {
            let reason = "not a request";
            self.events
                .push_back(StunServerEvent::Ignored { client, reason });
            return;
        }
        let local = match d.dst.ip().is_unspecified() {
            true => SocketAddr::new(self.primary_ip, d.dst.port()),
            false => d.dst,
        };
        self.on_request(now, client, local, &m);
    }

    fn handle_timeout(&mut self, _now: SimInstant) {}

    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    fn poll_event(&mut self) -> Option<StunServerEvent> {
        self.events.pop_front()
    }

    fn poll_timeout(&self) -> Option<SimInstant> {
        None
    }
}

#[cfg(test)]
mod tests;

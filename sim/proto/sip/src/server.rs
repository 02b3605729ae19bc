//! The `sip` server: a registrar and stateful proxy with an operator's trunk policies.
//!
//! * **Registrar** (RFC 3261 §10): Digest-authenticated REGISTER (401 challenge; wrong
//!   credentials answered with a fresh, non-stale 401 as kamailio does, or 403 with
//!   [`WrongPassword::Forbidden`]), a location service of bindings with expiry, each binding
//!   remembering the flow it registered on (source address and port per RFC 3581, or the TCP
//!   connection).
//! * **Proxy** (RFC 3261 §16): INVITE and every other method forwarded to the registered
//!   contact over that flow, Record-Route, 100 Trying upstream, CANCEL forwarded, Timer C and
//!   the client transaction's Timer B turned into a proxy-generated 408, 477 "Send Failed" when
//!   the callee's TCP connection is gone.
//! * **Trunk policies** ([`Policy`], switchable at run time with [`SipServer::set_policy`]):
//!   the rows of the operator's error table (`trunk-sip-errors.yaml`) with its reason phrases.

use crate::digest::{Algorithm, AuthKind, Authorization, DigestServer, RefusalReason, Verdict};
use crate::message::{Frame, Method, SipMessage, SipUri};
use crate::sdp::{Profile, Sdp};
use crate::transaction::{ClientTransaction, ServerTransaction, TimerConfig, TxKey, TxOutput};
use crate::transport::{Conns, Flow, branch, response_flow, stamp_via, token};
use sim_core::{
    Addresses, Binding, Datagram, LogEvent, Node, Protocol, SimInstant, SimRng, StreamEvent,
    Transmit,
};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// The operator's reason phrases, as `trunk-sip-errors.yaml` writes them.
pub mod phrase {
    /// Row 1.
    pub const UNAUTHORIZED: &str = "Unauthorized";
    /// Row 2.
    pub const BAD_REQUEST: &str = "Bad Request";
    /// Row 3 (operator-specific; RFC 3261: Forbidden).
    pub const INVALID_PHONE_NUMBER: &str = "Invalid Phone Number";
    /// Row 4 (lower-case f as printed).
    pub const NOT_FOUND: &str = "Not found";
    /// Row 5.
    pub const PROXY_AUTH_REQUIRED: &str = "Proxy Authentication Required";
    /// Row 6 (operator-specific; RFC 3261: Conflict).
    pub const NOT_ENOUGH_MONEY: &str = "Not enough money";
    /// Row 7 (operator-specific; RFC 3903: Conditional Request Failed).
    pub const INVALID_NUMBER: &str = "Invalid Number";
    /// Row 8.
    pub const TEMPORARILY_UNAVAILABLE: &str = "Temporarily Unavailable";
    /// Row 9.
    pub const CALL_DOES_NOT_EXIST: &str = "Call/Transaction Does Not Exist";
    /// Row 10.
    pub const BUSY_HERE: &str = "Busy Here";
    /// Row 11.
    pub const REQUEST_TERMINATED: &str = "Request Terminated";
    /// Row 12.
    pub const NOT_ACCEPTABLE_HERE: &str = "Not Acceptable Here";
    /// Row 13 (the document pairs 500 with this phrase).
    pub const SERVICE_UNAVAILABLE: &str = "Service Unavailable";
    /// Row 14: the document's "500 Service Unavailable. X-FWD-Original incorrect", code
    /// removed; the wire form of the qualifier is not stated there.
    pub const X_FWD_ORIGINAL_INCORRECT: &str = "Service Unavailable. X-FWD-Original incorrect";
    /// Row 15.
    pub const NOT_IMPLEMENTED: &str = "Not Implemented";
    /// Row 16.
    pub const BAD_GATEWAY: &str = "Bad Gateway";
    /// Row 17 (operator-specific; RFC 3261: Service Unavailable).
    pub const SIMULTANEOUS_CALLS_LIMIT: &str = "Simultaneous calls limit reached";
    /// Row 18 (RFC 3261: Decline).
    pub const DECLINED: &str = "Declined";
    /// Row 19.
    pub const UNWANTED: &str = "Unwanted";
    /// Kamailio's phrase for a failed relay (FAULTS §3C).
    pub const SEND_FAILED: &str = "Send Failed";
    /// RFC 3261 408.
    pub const REQUEST_TIMEOUT: &str = "Request Timeout";
    /// RFC 3261 403.
    pub const FORBIDDEN: &str = "Forbidden";
}

/// How a trunk outage answers (rows 13 and the RFC 503).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outage {
    /// 500 "Service Unavailable" (row 13).
    Internal500,
    /// 503 "Service Unavailable".
    Unavailable503,
}

/// How a disabled route answers (rows 15 and 16).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteFailure {
    /// 501 Not Implemented.
    NotImplemented501,
    /// 502 Bad Gateway.
    BadGateway502,
}

/// A disabled destination: called numbers starting with `prefix`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisabledRoute {
    /// Number prefix ("" matches every number).
    pub prefix: String,
    /// The answer.
    pub failure: RouteFailure,
}

/// The number format the trunk accepts for called numbers (row 3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NumberFormat {
    /// Digits only (an optional leading `+` allowed).
    pub digits_only: bool,
    /// Minimum length (digits).
    pub min_len: usize,
    /// Maximum length (digits).
    pub max_len: usize,
    /// Required prefix, if any.
    pub prefix: Option<String>,
}

impl NumberFormat {
    /// Whether `number` conforms.
    pub fn accepts(&self, number: &str) -> bool {
        let digits = number.strip_prefix('+').unwrap_or(number);
        if self.digits_only && (digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit())) {
            return false;
        }
        if digits.len() < self.min_len || digits.len() > self.max_len {
            return false;
        }
        self.prefix.as_deref().is_none_or(|p| number.starts_with(p))
    }
}

/// The media encryption a number requires (row 12).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encryption {
    /// Plain RTP only: an RTP/SAVP offer is refused.
    RtpOnly,
    /// SRTP only: an RTP/AVP offer is refused.
    SrtpOnly,
}

/// How the proxy authenticates INVITEs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum InviteAuth {
    /// No authentication.
    #[default]
    None,
    /// A Digest proxy challenge (407) answered with Proxy-Authorization.
    Digest,
}

/// What wrong credentials get.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WrongPassword {
    /// A fresh, non-stale challenge again (kamailio's answer; the client then gives up: the
    /// "401 loop" of FAULTS §4 row 1).
    #[default]
    Challenge,
    /// 403 Forbidden.
    Forbidden,
}

/// Trunk and server policy. Every field's default is "allow" (and RAck checking on).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Outage: every new INVITE is answered 500 or 503.
    pub outage: Option<Outage>,
    /// Digest authentication of INVITEs (407).
    pub invite_auth: InviteAuth,
    /// IP-based authorisation: a caller listed here may call only from these source IPs
    /// (else 407, row 5).
    pub allowed_ips: BTreeMap<String, Vec<IpAddr>>,
    /// Callers whose balance is exhausted (409 "Not enough money", row 6).
    pub balance_exhausted: BTreeSet<String>,
    /// Called-number format (403 "Invalid Phone Number", row 3).
    pub number_format: Option<NumberFormat>,
    /// Disabled destinations (501/502, rows 15–16).
    pub disabled_routes: Vec<DisabledRoute>,
    /// Numbers on the platform besides the accounts (called while unregistered: 480).
    pub known_numbers: BTreeSet<String>,
    /// Numbers temporarily unavailable (480, row 8).
    pub unavailable: BTreeSet<String>,
    /// Per-callee block lists: callee → blocked callers (607 "Unwanted", row 19).
    pub blocked: BTreeMap<String, BTreeSet<String>>,
    /// Callees that decline (603 "Declined", row 18).
    pub decline: BTreeSet<String>,
    /// Callees busy / do-not-disturb at the trunk (486, row 10).
    pub busy: BTreeSet<String>,
    /// Media encryption required (488, row 12).
    pub encryption: Option<Encryption>,
    /// Concurrent calls allowed per caller account, counted from live calls (503
    /// "Simultaneous calls limit reached", row 17).
    pub max_concurrent_calls: Option<u32>,
    /// Check RAck of PRACKs against the reliable provisional relayed (481, row 9).
    pub check_rack: bool,
    /// Answer to wrong credentials.
    pub wrong_password: WrongPassword,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            outage: None,
            invite_auth: InviteAuth::None,
            allowed_ips: BTreeMap::new(),
            balance_exhausted: BTreeSet::new(),
            number_format: None,
            disabled_routes: Vec::new(),
            known_numbers: BTreeSet::new(),
            unavailable: BTreeSet::new(),
            blocked: BTreeMap::new(),
            decline: BTreeSet::new(),
            busy: BTreeSet::new(),
            encryption: None,
            max_concurrent_calls: None,
            check_rack: true,
            wrong_password: WrongPassword::Challenge,
        }
    }
}

/// An account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// User name (the number).
    pub user: String,
    /// Password.
    pub password: String,
}

/// The server's configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SipServerConfig {
    /// SIP domain (host part of AORs).
    pub domain: String,
    /// Digest realm.
    pub realm: String,
    /// Accounts.
    pub accounts: Vec<Account>,
    /// Listening port (UDP and/or TCP).
    pub port: u16,
    /// Transports to listen on.
    pub transports: Vec<Protocol>,
    /// Initial policy.
    pub policy: Policy,
    /// Transaction timers.
    pub timers: TimerConfig,
    /// Digest algorithm of challenges.
    pub algorithm: Algorithm,
    /// Offer `qop="auth"`.
    pub qop: bool,
    /// Nonce lifetime (then `stale=true`).
    pub nonce_lifetime: Duration,
    /// Shortest registration accepted (423 below; 0 = any).
    pub min_expires: u32,
    /// Longest registration granted.
    pub max_expires: u32,
    /// Reply to the source port even without `rport` (kamailio's `force_rport()`).
    pub force_rport: bool,
    /// Add Record-Route to proxied INVITEs.
    pub record_route: bool,
}

impl SipServerConfig {
    /// A UDP+TCP server on port 5060 for `domain` (realm = domain) with these accounts.
    pub fn new(domain: &str, accounts: &[(&str, &str)]) -> Self {
        Self {
            domain: domain.to_string(),
            realm: domain.to_string(),
            accounts: accounts
                .iter()
                .map(|(u, p)| Account {
                    user: (*u).to_string(),
                    password: (*p).to_string(),
                })
                .collect(),
            port: 5060,
            transports: vec![Protocol::Udp, Protocol::Tcp],
            policy: Policy::default(),
            timers: TimerConfig::default(),
            algorithm: Algorithm::Md5,
            qop: true,
            nonce_lifetime: DigestServer::DEFAULT_NONCE_LIFETIME,
            min_expires: 0,
            max_expires: 3600,
            force_rport: false,
            record_route: true,
        }
    }
}

/// What the server reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SipServerEvent {
    /// A binding was added or refreshed.
    Registered {
        /// AOR user.
        user: String,
        /// Contact URI.
        contact: String,
        /// Granted seconds.
        expires: u32,
        /// The flow it registered on.
        flow: Flow,
    },
    /// A binding was removed by REGISTER Expires 0.
    Unregistered {
        /// AOR user.
        user: String,
        /// Contact URI.
        contact: String,
    },
    /// A binding expired.
    BindingExpired {
        /// AOR user.
        user: String,
        /// Contact URI.
        contact: String,
    },
    /// Credentials were refused.
    AuthFailed {
        /// User name in the credentials.
        user: String,
        /// Method.
        method: String,
        /// Why.
        reason: RefusalReason,
    },
    /// An INVITE was forwarded to a registered contact.
    CallProxied {
        /// Call-ID.
        call_id: String,
        /// From user.
        caller: String,
        /// Called user.
        callee: String,
        /// Where it went.
        flow: Flow,
    },
    /// The server answered a request itself with a final response.
    Responded {
        /// Request method.
        method: String,
        /// Status code.
        status: u16,
        /// Reason phrase sent.
        reason: String,
        /// Call-ID.
        call_id: String,
        /// Why (policy row, timer, transport).
        detail: String,
    },
    /// A final response from downstream was relayed.
    Relayed {
        /// Method.
        method: String,
        /// Status.
        status: u16,
        /// Call-ID.
        call_id: String,
    },
    /// The policy changed.
    PolicyChanged,
    /// Bytes that are not SIP, or a message that cannot be answered.
    Malformed {
        /// Where from.
        from: SocketAddr,
        /// Parser message.
        detail: String,
    },
}

impl From<&SipServerEvent> for LogEvent {
    fn from(e: &SipServerEvent) -> Self {
        match e {
            SipServerEvent::Registered {
                user,
                contact,
                expires,
                flow,
            } => Self::named("sip-registered")
                .with_sip("REGISTER", Some(200))
                .with_detail(format!("{user} {contact} expires={expires} via {flow}")),
            SipServerEvent::Unregistered { user, contact } => Self::named("sip-unregistered")
                .with_sip("REGISTER", Some(200))
                .with_detail(format!("{user} {contact}")),
            SipServerEvent::BindingExpired { user, contact } => {
                Self::named("sip-binding-expired").with_detail(format!("{user} {contact}"))
            }
            SipServerEvent::AuthFailed {
                user,
                method,
                reason,
            } => Self::named("sip-auth-failed")
                .with_sip(method.clone(), None)
                .with_detail(format!("{user}: {reason}")),
            SipServerEvent::CallProxied {
                call_id,
                caller,
                callee,
                flow,
            } => Self::named("sip-call-proxied")
                .with_sip("INVITE", None)
                .with_detail(format!("{caller} -> {callee} via {flow} call-id {call_id}")),
            SipServerEvent::Responded {
                method,
                status,
                reason,
                call_id,
                detail,
            } => Self::named("sip-response")
                .with_status(u32::from(*status))
                .with_sip(method.clone(), Some(*status))
                .with_detail(format!("{status} {reason}: {detail} (call-id {call_id})")),
            SipServerEvent::Relayed {
                method,
                status,
                call_id,
            } => Self::named("sip-relayed")
                .with_status(u32::from(*status))
                .with_sip(method.clone(), Some(*status))
                .with_detail(format!("call-id {call_id}")),
            SipServerEvent::PolicyChanged => Self::named("sip-policy-changed"),
            SipServerEvent::Malformed { from, detail } => {
                Self::named("sip-malformed").with_detail(format!("from {from}: {detail}"))
            }
        }
    }
}

/// One location-service binding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocationBinding {
    /// Contact URI.
    pub contact: String,
    /// The flow requests to it use.
    pub flow: Flow,
    /// When it expires.
    pub expires_at: SimInstant,
}

/// What a deadline in the index is for. Entries are lazy: a popped entry is checked against
/// the object's current deadline, so re-arming only inserts.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Due {
    Client(TxKey),
    Server(TxKey),
    TimerC(String),
    Binding(String),
}

#[derive(Debug)]
struct STx {
    tx: ServerTransaction,
    flow: Flow,
    downstream: Option<TxKey>,
    tag: String,
}

#[derive(Debug)]
struct CTx {
    tx: ClientTransaction,
    flow: Flow,
    upstream: Option<TxKey>,
    cancel: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CallState {
    Pending,
    Up,
    Ended,
}

#[derive(Debug)]
struct Call {
    caller: String,
    caller_tag: String,
    caller_flow: Flow,
    callee_flow: Flow,
    state: CallState,
    upstream: TxKey,
    downstream: TxKey,
    provisional: bool,
    reliable: Option<(u32, u32)>,
    timer_c: Option<SimInstant>,
}

/// The registrar/proxy core.
#[derive(Debug)]
pub struct SipServer {
    cfg: SipServerConfig,
    policy: Policy,
    accounts: BTreeMap<String, String>,
    ip: Option<IpAddr>,
    rng: SimRng,
    www: DigestServer,
    proxy_digest: DigestServer,
    location: BTreeMap<String, Vec<LocationBinding>>,
    conns: Conns,
    stx: BTreeMap<TxKey, STx>,
    ctx: BTreeMap<TxKey, CTx>,
    calls: BTreeMap<String, Call>,
    crossed: BTreeSet<String>,
    out: VecDeque<Transmit>,
    events: VecDeque<SipServerEvent>,
    malformed: u64,
    deadlines: BTreeSet<(SimInstant, Due)>,
}

impl SipServer {
    /// A server with its configuration and its own random stream (nonces, tags, branches).
    pub fn new(cfg: SipServerConfig, mut rng: SimRng) -> Self {
        use rand_core::SeedableRng;
        let www = DigestServer::new(
            &cfg.realm,
            cfg.algorithm,
            cfg.qop,
            cfg.nonce_lifetime,
            SimRng::from_rng(&mut rng),
        );
        let proxy_digest = DigestServer::new(
            &cfg.realm,
            cfg.algorithm,
            cfg.qop,
            cfg.nonce_lifetime,
            SimRng::from_rng(&mut rng),
        );
        Self {
            accounts: cfg
                .accounts
                .iter()
                .map(|a| (a.user.clone(), a.password.clone()))
                .collect(),
            policy: cfg.policy.clone(),
            cfg,
            ip: None,
            rng,
            www,
            proxy_digest,
            location: BTreeMap::new(),
            conns: Conns::default(),
            stx: BTreeMap::new(),
            ctx: BTreeMap::new(),
            calls: BTreeMap::new(),
            crossed: BTreeSet::new(),
            out: VecDeque::new(),
            events: VecDeque::new(),
            malformed: 0,
            deadlines: BTreeSet::new(),
        }
    }

    /// The current policy.
    pub const fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Switches the policy at `now` (the `server_policy` action); applies to new requests.
    pub fn set_policy(&mut self, now: SimInstant, policy: Policy) {
        let _ = now;
        self.policy = policy;
        self.events.push_back(SipServerEvent::PolicyChanged);
    }

    /// The live bindings of `user`.
    pub fn bindings_of(&self, user: &str) -> &[LocationBinding] {
        self.location.get(user).map_or(&[], Vec::as_slice)
    }

    /// Calls set up or being set up.
    pub fn live_calls(&self) -> usize {
        self.calls
            .values()
            .filter(|c| c.state != CallState::Ended)
            .count()
    }

    /// Messages dropped as unparseable.
    pub const fn malformed_count(&self) -> u64 {
        self.malformed
    }

    fn host(&self) -> String {
        match self.ip {
            Some(IpAddr::V6(v6)) => format!("[{v6}]"),
            Some(ip) => ip.to_string(),
            None => self.cfg.domain.clone(),
        }
    }

    fn send(&mut self, flow: Flow, msg: &SipMessage) -> bool {
        if let Flow::Tcp { id, .. } = flow
            && !self.conns.is_open(id)
        {
            return false;
        }
        self.out.push_back(flow.transmit(msg.to_bytes()));
        true
    }

    fn on_message(&mut self, now: SimInstant, msg: SipMessage, flow: Flow) {
        if msg.is_request() {
            self.on_request(now, msg, flow);
        } else {
            self.on_response(now, msg);
        }
    }

    fn on_request(&mut self, now: SimInstant, mut req: SipMessage, flow: Flow) {
        stamp_via(&mut req, flow, self.cfg.force_rport);
        let Some(method) = req.method().cloned() else {
            return;
        };
        if let Err(why) = validate(&req) {
            self.reject_stateless(&req, flow, 400, phrase::BAD_REQUEST, why);
            return;
        }
        let Some(key) = TxKey::of(&req) else {
            self.reject_stateless(&req, flow, 400, phrase::BAD_REQUEST, "no Via branch");
            return;
        };
        if method == Method::Ack {
            self.on_ack(now, req, key);
            return;
        }
        if let Some(s) = self.stx.get_mut(&key) {
            s.tx.on_request(now, &req);
            self.drive_server(now, &key);
            return;
        }
        if req.max_forwards() == Some(0) {
            self.reject_stateless(&req, flow, 483, "Too Many Hops", "Max-Forwards 0");
            return;
        }
        let Some(tx) = ServerTransaction::new(req.clone(), flow.reliable(), self.cfg.timers, false)
        else {
            return;
        };
        let tag = token(&mut self.rng, 6);
        let rflow = response_flow(&req, flow, self.cfg.force_rport);
        self.stx.insert(
            key.clone(),
            STx {
                tx,
                flow: rflow,
                downstream: None,
                tag,
            },
        );
        let in_dialog = req.to_tag().is_some();
        match method {
            Method::Cancel => self.on_cancel(now, &key),
            Method::Register => self.on_register(now, &key, &req, rflow),
            _ if in_dialog => self.on_in_dialog(now, &key, req),
            Method::Invite => self.on_invite(now, &key, req, flow),
            _ => {
                let target = target_user(&req);
                let for_server = target.as_deref().is_none_or(|u| !self.is_number(u));
                if method == Method::Options && for_server {
                    self.respond(now, &key, 200, "OK", "options to the server");
                } else {
                    self.route_to_user(now, &key, req, target.unwrap_or_default());
                }
            }
        }
    }

    fn is_number(&self, user: &str) -> bool {
        self.accounts.contains_key(user) || self.policy.known_numbers.contains(user)
    }

    fn reject_stateless(
        &mut self,
        req: &SipMessage,
        flow: Flow,
        status: u16,
        reason: &str,
        why: &str,
    ) {
        let method = req.method().map(ToString::to_string).unwrap_or_default();
        let call_id = req.call_id().unwrap_or("").to_string();
        self.events.push_back(SipServerEvent::Responded {
            method: method.clone(),
            status,
            reason: reason.to_string(),
            call_id,
            detail: why.to_string(),
        });
        if method == "ACK" || req.top_via().is_none() {
            return;
        }
        let tag = token(&mut self.rng, 6);
        let resp = SipMessage::response_to(req, status, reason, Some(&tag));
        let rflow = response_flow(req, flow, self.cfg.force_rport);
        self.send(rflow, &resp);
    }

    /// Answers the request of server transaction `key` itself.
    fn respond(&mut self, now: SimInstant, key: &TxKey, status: u16, reason: &str, detail: &str) {
        self.respond_with(now, key, status, reason, detail, Vec::new());
    }

    fn respond_with(
        &mut self,
        now: SimInstant,
        key: &TxKey,
        status: u16,
        reason: &str,
        detail: &str,
        extra: Vec<(String, String)>,
    ) {
        let Some(s) = self.stx.get_mut(key) else {
            return;
        };
        let req = s.tx.request();
        let mut resp = SipMessage::response_to(req, status, reason, Some(&s.tag));
        for (k, v) in extra {
            resp.push_header(&k, v);
        }
        if status >= 200 {
            self.events.push_back(SipServerEvent::Responded {
                method: key.method.to_string(),
                status,
                reason: reason.to_string(),
                call_id: req.call_id().unwrap_or("").to_string(),
                detail: detail.to_string(),
            });
        }
        s.tx.respond(now, resp);
        self.drive_server(now, key);
    }

    fn drive_server(&mut self, now: SimInstant, key: &TxKey) {
        let _ = now;
        let mut done = false;
        while let Some(s) = self.stx.get_mut(key) {
            let Some(o) = s.tx.poll_output() else { break };
            let flow = s.flow;
            match o {
                TxOutput::Send(m) => {
                    self.send(flow, &m);
                }
                TxOutput::Terminated => done = true,
                TxOutput::Response { .. } | TxOutput::AckTimeout | TxOutput::AckReceived => {}
            }
        }
        if done {
            self.stx.remove(key);
        } else if let Some(t) = self.stx.get(key).and_then(|s| s.tx.poll_timeout()) {
            self.deadlines.insert((t, Due::Server(key.clone())));
        }
    }

    fn drive_client(&mut self, now: SimInstant, key: &TxKey) {
        let mut done = false;
        while let Some(c) = self.ctx.get_mut(key) {
            let Some(o) = c.tx.poll_output() else { break };
            let flow = c.flow;
            match o {
                TxOutput::Send(m) => {
                    if !self.send(flow, &m)
                        && let Some(c) = self.ctx.get_mut(key)
                    {
                        c.tx.fail(477, phrase::SEND_FAILED);
                    }
                }
                TxOutput::Response { msg, local } => self.client_response(now, key, msg, local),
                TxOutput::Terminated => done = true,
                TxOutput::AckTimeout | TxOutput::AckReceived => {}
            }
        }
        if done {
            if let Some(c) = self.ctx.remove(key) {
                let call_id = c.tx.request().call_id().unwrap_or("").to_string();
                self.forget_if_ended(&call_id);
            }
        } else if let Some(t) = self.ctx.get(key).and_then(|c| c.tx.poll_timeout()) {
            self.deadlines.insert((t, Due::Client(key.clone())));
        }
    }

    /// Drops an ended call once its downstream INVITE transaction is gone.
    fn forget_if_ended(&mut self, call_id: &str) {
        let gone = self
            .calls
            .get(call_id)
            .is_some_and(|c| c.state == CallState::Ended && !self.ctx.contains_key(&c.downstream));
        if gone {
            self.calls.remove(call_id);
        }
    }

    fn arm_timer_c(&mut self, call_id: &str, at: Option<SimInstant>) {
        if let Some(c) = self.calls.get_mut(call_id) {
            c.timer_c = at;
            if let Some(t) = at {
                self.deadlines.insert((t, Due::TimerC(call_id.to_string())));
            }
        }
    }

    fn client_response(
        &mut self,
        now: SimInstant,
        ckey: &TxKey,
        mut resp: SipMessage,
        local: bool,
    ) {
        let Some(c) = self.ctx.get(ckey) else { return };
        if c.cancel {
            return;
        }
        let Some(upstream) = c.upstream.clone() else {
            return;
        };
        resp.pop_first("Via");
        let Some(status) = resp.status() else { return };
        if status == 100 {
            return;
        }
        let call_id = resp.call_id().unwrap_or("").to_string();
        let is_invite = ckey.method == Method::Invite;
        if let Some(call) = self.calls.get_mut(&call_id).filter(|_| is_invite) {
            if status < 200 {
                call.provisional = true;
                let at = now + self.cfg.timers.timer_c;
                call.timer_c = Some(at);
                self.deadlines.insert((at, Due::TimerC(call_id.clone())));
                if let (Some(rseq), Some(cseq)) = (resp.rseq(), resp.cseq()) {
                    call.reliable = Some((rseq, cseq.seq));
                }
            } else {
                call.timer_c = None;
                call.state = if status < 300 {
                    CallState::Up
                } else {
                    CallState::Ended
                };
            }
        }
        if status >= 200 {
            let reason = resp.reason().unwrap_or("").to_string();
            if local {
                self.events.push_back(SipServerEvent::Responded {
                    method: ckey.method.to_string(),
                    status,
                    reason,
                    call_id: call_id.clone(),
                    detail: if status == 408 {
                        "no answer from the callee (client transaction timeout)".into()
                    } else {
                        "cannot send to the callee's flow".into()
                    },
                });
            } else {
                self.events.push_back(SipServerEvent::Relayed {
                    method: ckey.method.to_string(),
                    status,
                    call_id,
                });
            }
        }
        if let Some(s) = self.stx.get_mut(&upstream) {
            s.tx.respond(now, resp);
            self.drive_server(now, &upstream);
        }
    }

    fn on_response(&mut self, now: SimInstant, resp: SipMessage) {
        let Some(key) = TxKey::of(&resp) else { return };
        if let Some(c) = self.ctx.get_mut(&key) {
            c.tx.on_response(now, resp);
            self.drive_client(now, &key);
            return;
        }
        // A 2xx retransmission after the client transaction ended: forward statelessly.
        if resp.status().is_some_and(|s| (200..300).contains(&s)) && key.method == Method::Invite {
            let mut r = resp;
            r.pop_first("Via");
            let flow = r
                .call_id()
                .and_then(|id| self.calls.get(id))
                .map(|c| c.caller_flow);
            if let Some(flow) = flow {
                self.send(flow, &r);
            }
        }
    }

    fn on_ack(&mut self, now: SimInstant, req: SipMessage, key: TxKey) {
        if let Some(s) = self.stx.get_mut(&key) {
            s.tx.on_request(now, &req);
            self.drive_server(now, &key);
            return;
        }
        // ACK for a 2xx: end to end, forwarded statelessly along the dialog.
        if req.to_tag().is_some()
            && let Some((fwd, flow)) = self.prepare_in_dialog(req)
        {
            self.send(flow, &fwd);
        }
    }

    fn on_cancel(&mut self, now: SimInstant, key: &TxKey) {
        let invite_key = TxKey {
            branch: key.branch.clone(),
            method: Method::Invite,
        };
        let Some(inv) = self.stx.get(&invite_key).filter(|s| s.tx.is_cancellable()) else {
            self.respond(
                now,
                key,
                481,
                phrase::CALL_DOES_NOT_EXIST,
                "CANCEL matches no INVITE",
            );
            return;
        };
        let downstream = inv.downstream.clone();
        self.respond(now, key, 200, "OK", "CANCEL accepted");
        match downstream {
            Some(dk) => self.cancel_downstream(now, &dk),
            None => self.respond(
                now,
                &invite_key,
                487,
                phrase::REQUEST_TERMINATED,
                "cancelled",
            ),
        }
    }

    fn cancel_downstream(&mut self, now: SimInstant, dk: &TxKey) {
        let Some(c) = self.ctx.get(dk) else { return };
        let inv = c.tx.request();
        let flow = c.flow;
        let mut cancel = SipMessage::request(Method::Cancel, inv.request_uri().unwrap_or(""));
        if let Some(v) = inv.header_values("Via").first() {
            cancel.push_header("Via", *v);
        }
        for r in inv.header_values("Route") {
            cancel.push_header("Route", r);
        }
        cancel.push_header("Max-Forwards", "70");
        for h in ["From", "To", "Call-ID"] {
            if let Some(v) = inv.raw_header(h) {
                cancel.push_header(h, v);
            }
        }
        if let Some(cs) = inv.cseq() {
            cancel.push_header("CSeq", format!("{} CANCEL", cs.seq));
        }
        let Some(tx) = ClientTransaction::new(now, cancel, flow.reliable(), self.cfg.timers) else {
            return;
        };
        let key = tx.key().clone();
        self.ctx.insert(
            key.clone(),
            CTx {
                tx,
                flow,
                upstream: None,
                cancel: true,
            },
        );
        self.drive_client(now, &key);
    }

    fn on_register(&mut self, now: SimInstant, key: &TxKey, req: &SipMessage, flow: Flow) {
        let user = req
            .to_addr()
            .and_then(|t| t.sip_uri())
            .and_then(|u| u.user)
            .unwrap_or_default();
        let Some(auth) = req
            .raw_header("Authorization")
            .and_then(Authorization::parse)
        else {
            let c = self.www.challenge(now, false);
            self.respond_with(
                now,
                key,
                401,
                phrase::UNAUTHORIZED,
                "challenge",
                vec![(AuthKind::Www.challenge_header().into(), c.to_string())],
            );
            return;
        };
        let password = if auth.username == user {
            self.accounts.get(&auth.username).cloned()
        } else {
            None
        };
        match self.www.verify(now, &auth, "REGISTER", password.as_deref()) {
            Verdict::Ok => {}
            Verdict::Stale => {
                let c = self.www.challenge(now, true);
                self.respond_with(
                    now,
                    key,
                    401,
                    phrase::UNAUTHORIZED,
                    "stale nonce",
                    vec![(AuthKind::Www.challenge_header().into(), c.to_string())],
                );
                return;
            }
            Verdict::Refused(reason) => {
                self.events.push_back(SipServerEvent::AuthFailed {
                    user: auth.username.clone(),
                    method: "REGISTER".into(),
                    reason,
                });
                match self.policy.wrong_password {
                    WrongPassword::Challenge => {
                        let c = self.www.challenge(now, false);
                        self.respond_with(
                            now,
                            key,
                            401,
                            phrase::UNAUTHORIZED,
                            &format!("credentials refused: {reason}"),
                            vec![(AuthKind::Www.challenge_header().into(), c.to_string())],
                        );
                    }
                    WrongPassword::Forbidden => {
                        self.respond(
                            now,
                            key,
                            403,
                            phrase::FORBIDDEN,
                            &format!("credentials refused: {reason}"),
                        );
                    }
                }
                return;
            }
        }
        let header_expires = req.expires();
        let contacts = req.contacts();
        if contacts.iter().any(|c| c.uri == "*") {
            if header_expires == Some(0) {
                for b in self.location.remove(&user).unwrap_or_default() {
                    self.events.push_back(SipServerEvent::Unregistered {
                        user: user.clone(),
                        contact: b.contact,
                    });
                }
                self.respond(now, key, 200, "OK", "all bindings removed");
            } else {
                self.respond(
                    now,
                    key,
                    400,
                    phrase::BAD_REQUEST,
                    "Contact * without Expires 0",
                );
            }
            return;
        }
        for c in &contacts {
            let exp = c
                .param("expires")
                .and_then(|e| e.parse::<u32>().ok())
                .or(header_expires)
                .unwrap_or(3600);
            if exp > 0 && exp < self.cfg.min_expires {
                let min = self.cfg.min_expires.to_string();
                self.respond_with(
                    now,
                    key,
                    423,
                    "Interval Too Brief",
                    "expires below min_expires",
                    vec![("Min-Expires".into(), min)],
                );
                return;
            }
        }
        for c in contacts {
            let exp = c
                .param("expires")
                .and_then(|e| e.parse::<u32>().ok())
                .or(header_expires)
                .unwrap_or(3600)
                .min(self.cfg.max_expires);
            let list = self.location.entry(user.clone()).or_default();
            list.retain(|b| b.contact != c.uri);
            if exp == 0 {
                self.events.push_back(SipServerEvent::Unregistered {
                    user: user.clone(),
                    contact: c.uri.clone(),
                });
            } else {
                let expires_at = now + Duration::from_secs(u64::from(exp));
                list.push(LocationBinding {
                    contact: c.uri.clone(),
                    flow,
                    expires_at,
                });
                self.deadlines
                    .insert((expires_at, Due::Binding(user.clone())));
                self.events.push_back(SipServerEvent::Registered {
                    user: user.clone(),
                    contact: c.uri.clone(),
                    expires: exp,
                    flow,
                });
            }
        }
        if self.location.get(&user).is_some_and(Vec::is_empty) {
            self.location.remove(&user);
        }
        let extra: Vec<(String, String)> = self
            .bindings_of(&user)
            .iter()
            .map(|b| {
                let left = b.expires_at.saturating_since(now).as_secs();
                (
                    "Contact".to_string(),
                    format!("<{}>;expires={left}", b.contact),
                )
            })
            .collect();
        self.respond_with(now, key, 200, "OK", "registered", extra);
    }

    fn authorise_invite(
        &mut self,
        now: SimInstant,
        key: &TxKey,
        req: &SipMessage,
        flow: Flow,
        caller: &str,
    ) -> bool {
        if let Some(ips) = self.policy.allowed_ips.get(caller)
            && !ips.contains(&flow.remote().ip())
        {
            let c = self.proxy_digest.challenge(now, false);
            self.respond_with(
                now,
                key,
                407,
                phrase::PROXY_AUTH_REQUIRED,
                &format!("source {} not authorised for {caller}", flow.remote().ip()),
                vec![(AuthKind::Proxy.challenge_header().into(), c.to_string())],
            );
            return false;
        }
        if self.policy.invite_auth == InviteAuth::None
            || self.policy.allowed_ips.contains_key(caller)
        {
            return true;
        }
        let verdict = req
            .raw_header("Proxy-Authorization")
            .and_then(Authorization::parse)
            .map(|auth| {
                let pw = (auth.username == caller)
                    .then(|| self.accounts.get(caller).cloned())
                    .flatten();
                (
                    auth.username.clone(),
                    self.proxy_digest
                        .verify(now, &auth, "INVITE", pw.as_deref()),
                )
            });
        let (stale, detail) = match verdict {
            Some((_, Verdict::Ok)) => return true,
            Some((_, Verdict::Stale)) => (true, "stale nonce".to_string()),
            Some((user, Verdict::Refused(reason))) => {
                self.events.push_back(SipServerEvent::AuthFailed {
                    user,
                    method: "INVITE".into(),
                    reason,
                });
                if self.policy.wrong_password == WrongPassword::Forbidden {
                    self.respond(
                        now,
                        key,
                        403,
                        phrase::FORBIDDEN,
                        &format!("credentials refused: {reason}"),
                    );
                    return false;
                }
                (false, format!("credentials refused: {reason}"))
            }
            None => (false, "challenge".to_string()),
        };
        let c = self.proxy_digest.challenge(now, stale);
        self.respond_with(
            now,
            key,
            407,
            phrase::PROXY_AUTH_REQUIRED,
            &detail,
            vec![(AuthKind::Proxy.challenge_header().into(), c.to_string())],
        );
        false
    }

    /// The trunk decision for a new INVITE: `Some((status, phrase, detail))` to refuse it.
    fn trunk_decision(
        &self,
        req: &SipMessage,
        caller: &str,
        callee: &str,
    ) -> Option<(u16, &'static str, String)> {
        let p = &self.policy;
        if p.balance_exhausted.contains(caller) {
            return Some((
                409,
                phrase::NOT_ENOUGH_MONEY,
                format!("balance of {caller} exhausted"),
            ));
        }
        if let Some(f) = &p.number_format
            && !f.accepts(callee)
        {
            return Some((
                403,
                phrase::INVALID_PHONE_NUMBER,
                format!("{callee:?} breaks the number format"),
            ));
        }
        if let Some(r) = p
            .disabled_routes
            .iter()
            .find(|r| callee.starts_with(&r.prefix))
        {
            let (code, ph) = match r.failure {
                RouteFailure::NotImplemented501 => (501, phrase::NOT_IMPLEMENTED),
                RouteFailure::BadGateway502 => (502, phrase::BAD_GATEWAY),
            };
            return Some((code, ph, format!("route {:?} disabled", r.prefix)));
        }
        if let Some(fwd) = req.raw_header("X-FWD-ORIGINAL") {
            match forwarded_number(fwd) {
                None => {
                    return Some((
                        500,
                        phrase::X_FWD_ORIGINAL_INCORRECT,
                        format!("X-FWD-ORIGINAL {fwd:?} malformed"),
                    ));
                }
                Some(n) if !self.crossed.contains(&n) => {
                    return Some((
                        412,
                        phrase::INVALID_NUMBER,
                        format!("no call from {n} crossed this trunk"),
                    ));
                }
                Some(_) => {}
            }
        }
        if !self.is_number(callee) {
            return Some((
                404,
                phrase::NOT_FOUND,
                format!("{callee} is not on the platform"),
            ));
        }
        if p.unavailable.contains(callee) {
            return Some((
                480,
                phrase::TEMPORARILY_UNAVAILABLE,
                format!("{callee} unavailable by policy"),
            ));
        }
        if p.blocked.get(callee).is_some_and(|b| b.contains(caller)) {
            return Some((607, phrase::UNWANTED, format!("{callee} blocks {caller}")));
        }
        if p.decline.contains(callee) {
            return Some((603, phrase::DECLINED, format!("{callee} declines")));
        }
        if p.busy.contains(callee) {
            return Some((486, phrase::BUSY_HERE, format!("{callee} busy")));
        }
        if let Some(enc) = p.encryption {
            let profile = Sdp::parse(&req.body_text()).map(|s| s.profile);
            let bad = matches!(
                (enc, profile),
                (Encryption::SrtpOnly, Some(Profile::Avp))
                    | (Encryption::RtpOnly, Some(Profile::Savp))
            );
            if bad {
                return Some((
                    488,
                    phrase::NOT_ACCEPTABLE_HERE,
                    format!("offer profile {profile:?} against {enc:?}"),
                ));
            }
        }
        if let Some(max) = p.max_concurrent_calls {
            let live = self
                .calls
                .values()
                .filter(|c| c.caller == caller && c.state != CallState::Ended)
                .count();
            if live >= max as usize {
                return Some((
                    503,
                    phrase::SIMULTANEOUS_CALLS_LIMIT,
                    format!("{caller} has {live} live calls of {max}"),
                ));
            }
        }
        None
    }

    fn on_invite(&mut self, now: SimInstant, key: &TxKey, req: SipMessage, flow: Flow) {
        let caller = req
            .from_addr()
            .and_then(|f| f.sip_uri())
            .and_then(|u| u.user)
            .unwrap_or_default();
        let callee = target_user(&req).unwrap_or_default();
        if let Some(o) = self.policy.outage {
            let (code, reason) = match o {
                Outage::Internal500 => (500, phrase::SERVICE_UNAVAILABLE),
                Outage::Unavailable503 => (503, phrase::SERVICE_UNAVAILABLE),
            };
            self.respond(now, key, code, reason, "trunk outage");
            return;
        }
        if !self.authorise_invite(now, key, &req, flow, &caller) {
            return;
        }
        if let Some((code, reason, detail)) = self.trunk_decision(&req, &caller, &callee) {
            self.respond(now, key, code, reason, &detail);
            return;
        }
        self.respond_provisional(now, key, 100, "Trying");
        self.route_to_user(now, key, req, callee);
    }

    fn respond_provisional(&mut self, now: SimInstant, key: &TxKey, status: u16, reason: &str) {
        let Some(s) = self.stx.get_mut(key) else {
            return;
        };
        let resp = SipMessage::response_to(s.tx.request(), status, reason, None);
        s.tx.respond(now, resp);
        self.drive_server(now, key);
    }

    fn live_binding(&self, now: SimInstant, user: &str) -> Option<LocationBinding> {
        self.location
            .get(user)?
            .iter()
            .filter(|b| b.expires_at > now)
            .max_by_key(|b| b.expires_at)
            .cloned()
    }

    /// Forwards an out-of-dialog request to `user`'s registered contact.
    fn route_to_user(&mut self, now: SimInstant, key: &TxKey, req: SipMessage, user: String) {
        if !self.is_number(&user) {
            self.respond(
                now,
                key,
                404,
                phrase::NOT_FOUND,
                &format!("{user:?} is not on the platform"),
            );
            return;
        }
        let Some(b) = self.live_binding(now, &user) else {
            self.respond(
                now,
                key,
                480,
                phrase::TEMPORARILY_UNAVAILABLE,
                &format!("{user} is not registered"),
            );
            return;
        };
        if let Flow::Tcp { id, .. } = b.flow
            && !self.conns.is_open(id)
        {
            self.respond(
                now,
                key,
                477,
                phrase::SEND_FAILED,
                &format!("TCP flow of {user} is closed"),
            );
            return;
        }
        let is_invite = key.method == Method::Invite;
        let mut fwd = req;
        fwd.set_request_uri(b.contact.clone());
        if is_invite && self.cfg.record_route {
            let rr = format!("<sip:{}:{};lr>", self.host(), self.cfg.port);
            fwd.prepend_header("Record-Route", rr);
        }
        let caller_flow = self.stx.get(key).map(|s| s.flow);
        let Some(dkey) = self.forward(now, key, fwd, b.flow) else {
            return;
        };
        if is_invite && let Some(caller_flow) = caller_flow {
            let s = self.stx.get(key).map(|s| s.tx.request().clone());
            if let Some(orig) = s {
                let call_id = orig.call_id().unwrap_or("").to_string();
                let caller = orig
                    .from_addr()
                    .and_then(|f| f.sip_uri())
                    .and_then(|u| u.user)
                    .unwrap_or_default();
                self.crossed.insert(caller.clone());
                self.events.push_back(SipServerEvent::CallProxied {
                    call_id: call_id.clone(),
                    caller: caller.clone(),
                    callee: user,
                    flow: b.flow,
                });
                self.calls.insert(
                    call_id.clone(),
                    Call {
                        caller,
                        caller_tag: orig.from_tag().unwrap_or_default(),
                        caller_flow,
                        callee_flow: b.flow,
                        state: CallState::Pending,
                        upstream: key.clone(),
                        downstream: dkey,
                        provisional: false,
                        reliable: None,
                        timer_c: None,
                    },
                );
                self.arm_timer_c(&call_id, Some(now + self.cfg.timers.timer_c));
            }
        }
    }

    /// Adds our Via, decrements Max-Forwards and sends `fwd` on `flow` in a new client
    /// transaction tied to the server transaction `upstream`.
    fn forward(
        &mut self,
        now: SimInstant,
        upstream: &TxKey,
        mut fwd: SipMessage,
        flow: Flow,
    ) -> Option<TxKey> {
        let mf = fwd.max_forwards().unwrap_or(70).saturating_sub(1);
        fwd.set_header("Max-Forwards", mf.to_string());
        let via = format!(
            "SIP/2.0/{} {}:{};branch={}",
            flow.via_transport(),
            self.host(),
            self.cfg.port,
            branch(&mut self.rng)
        );
        fwd.prepend_header("Via", via);
        let tx = ClientTransaction::new(now, fwd, flow.reliable(), self.cfg.timers)?;
        let dkey = tx.key().clone();
        self.ctx.insert(
            dkey.clone(),
            CTx {
                tx,
                flow,
                upstream: Some(upstream.clone()),
                cancel: false,
            },
        );
        if let Some(s) = self.stx.get_mut(upstream) {
            s.downstream = Some(dkey.clone());
        }
        self.drive_client(now, &dkey);
        Some(dkey)
    }

    /// Pops our Route and finds where an in-dialog request goes.
    fn prepare_in_dialog(&mut self, mut req: SipMessage) -> Option<(SipMessage, Flow)> {
        if let Some(first) = req.routes().first() {
            let ours = crate::message::NameAddr::parse(first)
                .and_then(|n| n.sip_uri())
                .is_some_and(|u| {
                    u.host == self.host().trim_matches(['[', ']']) || u.host == self.cfg.domain
                });
            if ours {
                req.pop_first("Route");
            }
        }
        let call = req.call_id().and_then(|id| self.calls.get(id));
        let flow = match call {
            Some(c) => {
                if req.from_tag().as_deref() == Some(c.caller_tag.as_str()) {
                    c.callee_flow
                } else {
                    c.caller_flow
                }
            }
            None => {
                let uri = req.request_uri().and_then(SipUri::parse)?;
                let by_contact = self
                    .location
                    .values()
                    .flatten()
                    .find(|b| {
                        SipUri::parse(&b.contact)
                            .is_some_and(|c| c.host == uri.host && c.port == uri.port)
                    })
                    .map(|b| b.flow);
                match by_contact {
                    Some(f) => f,
                    None => {
                        let ip: IpAddr = uri.host.parse().ok()?;
                        Flow::Udp {
                            local_port: self.cfg.port,
                            remote: SocketAddr::new(ip, uri.port.unwrap_or(5060)),
                        }
                    }
                }
            }
        };
        if req.method() == Some(&Method::Ack) {
            let via = format!(
                "SIP/2.0/{} {}:{};branch={}",
                flow.via_transport(),
                self.host(),
                self.cfg.port,
                branch(&mut self.rng)
            );
            req.prepend_header("Via", via);
        }
        Some((req, flow))
    }

    fn on_in_dialog(&mut self, now: SimInstant, key: &TxKey, req: SipMessage) {
        let call_id = req.call_id().unwrap_or("").to_string();
        if key.method == Method::Prack
            && self.policy.check_rack
            && let Some(call) = self.calls.get(&call_id)
            && let Some((rseq, cseq)) = call.reliable
        {
            let ok = req
                .rack()
                .is_some_and(|r| r.rseq == rseq && r.cseq == cseq && r.method == Method::Invite);
            if !ok {
                let up = call.upstream.clone();
                let down = call.downstream.clone();
                let detail = format!(
                    "RAck {:?} does not match RSeq {rseq} CSeq {cseq} INVITE",
                    req.raw_header("RAck").unwrap_or("")
                );
                self.respond(now, key, 481, phrase::CALL_DOES_NOT_EXIST, &detail);
                self.cancel_downstream(now, &down);
                if let Some(c) = self.ctx.get_mut(&down) {
                    c.upstream = None;
                }
                self.respond(
                    now,
                    &up,
                    481,
                    phrase::CALL_DOES_NOT_EXIST,
                    "call ended after a wrong RAck",
                );
                if let Some(c) = self.calls.get_mut(&call_id) {
                    c.state = CallState::Ended;
                }
                return;
            }
        }
        if key.method == Method::Bye
            && let Some(c) = self.calls.get_mut(&call_id)
        {
            c.state = CallState::Ended;
        }
        match self.prepare_in_dialog(req) {
            Some((fwd, flow)) => {
                if let Flow::Tcp { id, .. } = flow
                    && !self.conns.is_open(id)
                {
                    self.respond(now, key, 477, phrase::SEND_FAILED, "TCP flow closed");
                    return;
                }
                self.forward(now, key, fwd, flow);
            }
            None => self.respond(
                now,
                key,
                481,
                phrase::CALL_DOES_NOT_EXIST,
                "no route for in-dialog request",
            ),
        }
        self.forget_if_ended(&call_id);
    }

    /// Timer C fired for `call_id`: the callee rang but never answered.
    fn timer_c(&mut self, now: SimInstant, call_id: &str) {
        let Some(c) = self.calls.get_mut(call_id) else {
            return;
        };
        if c.timer_c.is_none_or(|t| t > now) {
            return;
        }
        c.timer_c = None;
        let (up, down) = (c.upstream.clone(), c.downstream.clone());
        if self.stx.get(&up).is_some_and(|s| s.tx.is_cancellable()) {
            self.cancel_downstream(now, &down);
            if let Some(c) = self.ctx.get_mut(&down) {
                c.upstream = None;
            }
            self.respond(
                now,
                &up,
                408,
                phrase::REQUEST_TIMEOUT,
                "Timer C: no final answer from the callee",
            );
        }
    }

    /// Removes `user`'s bindings that expired by `now`.
    fn expire_bindings(&mut self, now: SimInstant, user: &str) {
        let Some(list) = self.location.get_mut(user) else {
            return;
        };
        let mut expired = Vec::new();
        list.retain(|b| {
            let live = b.expires_at > now;
            if !live {
                expired.push(b.contact.clone());
            }
            live
        });
        if list.is_empty() {
            self.location.remove(user);
        }
        for contact in expired {
            self.events.push_back(SipServerEvent::BindingExpired {
                user: user.to_string(),
                contact,
            });
        }
    }

    fn on_stream_dead(&mut self, now: SimInstant, id: sim_core::StreamId) {
        self.conns.close(id);
        let keys: Vec<TxKey> = self
            .ctx
            .iter()
            .filter(|(_, c)| matches!(c.flow, Flow::Tcp { id: i, .. } if i == id))
            .map(|(k, _)| k.clone())
            .collect();
        for k in keys {
            if let Some(c) = self.ctx.get_mut(&k) {
                c.tx.fail(477, phrase::SEND_FAILED);
            }
            self.drive_client(now, &k);
        }
    }

    fn deliver_frames(
        &mut self,
        now: SimInstant,
        frames: Vec<Result<Frame, crate::message::ParseError>>,
        flow: Flow,
    ) {
        for f in frames {
            match f {
                Ok(Frame::Message(m)) => self.on_message(now, m, flow),
                Ok(Frame::Ping) => {
                    self.out
                        .push_back(flow.transmit(crate::message::PONG.into()));
                }
                Ok(Frame::Pong) => {}
                Err(e) => {
                    self.malformed += 1;
                    self.events.push_back(SipServerEvent::Malformed {
                        from: flow.remote(),
                        detail: e.to_string(),
                    });
                }
            }
        }
    }
}

/// The called user: Request-URI user, else To user.
fn target_user(req: &SipMessage) -> Option<String> {
    req.request_uri()
        .and_then(SipUri::parse)
        .and_then(|u| u.user)
        .or_else(|| req.to_addr()?.sip_uri()?.user)
}

/// The number an X-FWD-ORIGINAL value names: a bare number, a `sip:`/`tel:` URI, or a
/// name-addr. `None` when it names no number.
fn forwarded_number(v: &str) -> Option<String> {
    let v = v.trim();
    let inner = crate::message::NameAddr::parse(v).map_or_else(|| v.to_string(), |n| n.uri);
    let user = if let Some(tel) = inner.strip_prefix("tel:") {
        tel.split(';').next().unwrap_or("").to_string()
    } else if inner.starts_with("sip:") || inner.starts_with("sips:") {
        SipUri::parse(&inner)?.user?
    } else {
        inner
    };
    let digits = user.strip_prefix('+').unwrap_or(&user);
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())).then_some(user)
}

/// Mandatory headers of a request (RFC 3261 §8.1.1); `Err` with what is wrong.
fn validate(req: &SipMessage) -> Result<(), &'static str> {
    let method = req.method().ok_or("not a request")?;
    req.top_via().ok_or("missing or bad Via")?;
    req.call_id().ok_or("missing Call-ID")?;
    req.from_addr().ok_or("missing From")?;
    req.to_addr().ok_or("missing To")?;
    let cseq = req.cseq().ok_or("missing or bad CSeq")?;
    if &cseq.method != method && !(method == &Method::Ack && cseq.method == Method::Ack) {
        return Err("CSeq method differs from the request method");
    }
    if req.raw_header("Max-Forwards").is_some() && req.max_forwards().is_none() {
        return Err("bad Max-Forwards");
    }
    if req.raw_header("Max-Forwards").is_none() {
        return Err("missing Max-Forwards");
    }
    Ok(())
}

impl Node for SipServer {
    type Event = SipServerEvent;

    fn bindings(&self) -> Vec<Binding> {
        self.cfg
            .transports
            .iter()
            .map(|p| Binding {
                protocol: *p,
                port: self.cfg.port,
            })
            .collect()
    }

    fn handle_start(&mut self, _now: SimInstant, addresses: Addresses) {
        self.ip = addresses.primary();
    }

    fn handle_address_change(&mut self, _now: SimInstant, _old: Addresses, new: Addresses) {
        self.ip = new.primary();
    }

    fn handle_datagram(&mut self, now: SimInstant, d: Datagram) {
        let flow = Flow::Udp {
            local_port: d.dst.port(),
            remote: d.src,
        };
        let frame = crate::message::parse_datagram(&d.payload);
        let broken = frame.as_ref().err().map(ToString::to_string);
        self.deliver_frames(now, vec![frame], flow);
        // A request that does not parse is answered 400 when its Via can still be read.
        if let Some(why) = broken
            && let Some(req) = SipMessage::salvage(&d.payload).filter(SipMessage::is_request)
            && req.top_via().is_some()
        {
            let mut req = req;
            stamp_via(&mut req, flow, self.cfg.force_rport);
            self.reject_stateless(&req, flow, 400, phrase::BAD_REQUEST, &why);
        }
    }

    fn handle_stream(&mut self, now: SimInstant, event: StreamEvent) {
        match event {
            StreamEvent::Accepted { id, remote, .. } => self.conns.insert(id, remote, true),
            StreamEvent::Connected { id, .. } => {
                if let Some(c) = self.conns.map.get_mut(&id) {
                    c.open = true;
                }
            }
            StreamEvent::Data { id, data } => {
                let Some(remote) = self.conns.map.get(&id).map(|c| c.remote) else {
                    return;
                };
                let frames = self.conns.data(id, &data);
                self.deliver_frames(now, frames, Flow::Tcp { id, remote });
            }
            StreamEvent::Closed { id } | StreamEvent::Failed { id, .. } => {
                self.on_stream_dead(now, id)
            }
        }
    }

    fn handle_timeout(&mut self, now: SimInstant) {
        while let Some((at, due)) = self.deadlines.first().cloned() {
            if at > now {
                break;
            }
            self.deadlines.pop_first();
            match due {
                Due::Client(k) => {
                    let Some(c) = self.ctx.get_mut(&k) else {
                        continue;
                    };
                    if c.tx.poll_timeout().is_some_and(|t| t <= now) {
                        c.tx.on_timeout(now);
                    }
                    self.drive_client(now, &k);
                }
                Due::Server(k) => {
                    let Some(s) = self.stx.get_mut(&k) else {
                        continue;
                    };
                    if s.tx.poll_timeout().is_some_and(|t| t <= now) {
                        s.tx.on_timeout(now);
                    }
                    self.drive_server(now, &k);
                }
                Due::TimerC(id) => self.timer_c(now, &id),
                Due::Binding(user) => self.expire_bindings(now, &user),
            }
        }
    }

    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.out.pop_front()
    }

    fn poll_event(&mut self) -> Option<SipServerEvent> {
        self.events.pop_front()
    }

    fn poll_timeout(&self) -> Option<SimInstant> {
        self.deadlines.first().map(|(t, _)| *t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x_fwd_original_forms() {
        assert_eq!(
            forwarded_number("380501234567").as_deref(),
            Some("380501234567")
        );
        assert_eq!(
            forwarded_number("<sip:+38050@x>").as_deref(),
            Some("+38050")
        );
        assert_eq!(
            forwarded_number("tel:+38050;p=1").as_deref(),
            Some("+38050")
        );
        assert_eq!(forwarded_number("abc"), None);
        assert_eq!(forwarded_number(""), None);
    }

    #[test]
    fn number_format_rule() {
        let f = NumberFormat {
            digits_only: true,
            min_len: 3,
            max_len: 12,
            prefix: None,
        };
        assert!(f.accepts("380501234567"));
        assert!(!f.accepts("38050123456789"));
        assert!(!f.accepts("12a"));
        assert!(!f.accepts("12"));
    }
}

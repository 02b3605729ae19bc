//! A stub resolver with pjlib-util's behaviour (`pjlib-util/src/pjlib-util/resolver.c`).
//!
//! # Timing and server selection (pjlib-util defaults, `pjlib-util/include/pjlib-util/config.h`)
//! * `PJ_DNS_RESOLVER_QUERY_RETRANSMIT_DELAY` = 2000 ms between transmissions;
//!   `PJ_DNS_RESOLVER_QUERY_RETRANSMIT_COUNT` = 5 transmissions. A query is sent at
//!   t, t+2, t+4, t+6, t+8 s and times out at t+10 s with `PJ_ETIMEDOUT` (70009), which is what
//!   `on_timeout` hands the query callback.
//! * Each transmission goes to the best *active* nameserver (lowest response time) plus every
//!   nameserver being *probed*; a nameserver whose state has expired moves active → probing,
//!   bad → probing, probing → bad (`select_nameservers`). State lifetimes: active
//!   `PJ_DNS_RESOLVER_GOOD_NS_TTL` = 600 s, bad `PJ_DNS_RESOLVER_BAD_NS_TTL` = 60 s, probing
//!   (count + 2) × delay = 14 s. Configured nameservers start active, already expired.
//! * A response marks its nameserver active, or bad when it does not parse or carries REFUSED
//!   or NOTAUTH (`report_nameserver_status`). A response that does not parse is otherwise
//!   ignored: the query goes on and, if nothing better arrives, times out.
//! * When no nameserver is selectable (all bad), a new query fails at once with
//!   `PJLIB_UTIL_EDNSNOWORKINGNS` (320046): so 320046 follows a first query that timed out
//!   against unreachable servers, once their probing state has expired (14 s after it was
//!   entered), until the bad state expires (60 s). No nameserver configured: 320045.
//! * Answers are cached (`update_res_cache`): the minimum answer TTL capped at
//!   `PJ_DNS_RESOLVER_MAX_TTL` = 300 s; an RCODE error or an answer without records for
//!   `PJ_DNS_RESOLVER_INVALID_TTL` = 60 s; truncated answers are not cached. A query for a
//!   name already in flight joins it.
//! * Transaction ids are sequential, as pjlib's are (`last_id++`); the first one comes from
//!   the seed so that two resolvers do not share ids.
//!
//! # Result (`pj_dns_parse_a_response`)
//! RCODE *n* ≠ 0 → 320050 + *n* (`PJLIB_UTIL_EDNS_FORMERR` 320051 … `PJLIB_UTIL_EDNS_NOTZONE`
//! 320060); no question section → 320048 `PJLIB_UTIL_EDNSINANSWER`; no answer record for the
//! name (NODATA, or only AAAA for the A query) → 320047 `PJLIB_UTIL_EDNSNOANSWERREC`; a CNAME
//! chain longer than 20 or ending on a record that is not A → 320048.
//!
//! # Embedding
//! The resolver is not a [`sim_core::Node`]: a core embeds it and gives it **one UDP socket**.
//! Datagrams from [`Resolver::poll_transmit`] carry `src` = unspecified IP (the node's
//! address) and the port set by [`Resolver::set_local_port`]: bind a port, tell the resolver,
//! and send what it returns from that port. Offer it every datagram that arrives on that
//! socket: [`Resolver::handle_datagram`] returns `true` when the datagram came from one of its
//! nameservers (then it is consumed, even when malformed). Call
//! [`Resolver::handle_timeout`] at [`Resolver::poll_timeout`]; drain
//! [`Resolver::poll_transmit`] and [`Resolver::poll_resolution`] / [`Resolver::poll_result`]
//! after every input.

use crate::message::{DecodeError, Message, RData, TYPE_A, TYPE_CNAME};
use crate::server::normalize;
use bytes::Bytes;
use rand_core::RngCore;
use sim_core::{Datagram, LogEvent, Seed, SimInstant};
use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

/// pjlib-util `PJ_DNS_RESOLVER_QUERY_RETRANSMIT_DELAY`.
pub const RETRANSMIT_DELAY: Duration = Duration::from_millis(2000);
/// pjlib-util `PJ_DNS_RESOLVER_QUERY_RETRANSMIT_COUNT`: transmissions per query.
pub const TRANSMIT_COUNT: u32 = 5;
/// pjlib-util `PJ_DNS_RESOLVER_GOOD_NS_TTL`.
pub const GOOD_NS_TTL: Duration = Duration::from_secs(600);
/// pjlib-util `PJ_DNS_RESOLVER_BAD_NS_TTL`.
pub const BAD_NS_TTL: Duration = Duration::from_secs(60);
/// pjlib-util `PJ_DNS_RESOLVER_MAX_TTL`: longest a cached answer is kept.
pub const MAX_CACHE_TTL: u32 = 300;
/// pjlib-util `PJ_DNS_RESOLVER_INVALID_TTL`: how long an error answer is cached.
pub const INVALID_TTL: u32 = 60;
/// `pj_dns_parse_a_response` `MAX_SEARCH`: longest CNAME chain followed.
const MAX_CNAME_CHAIN: usize = 20;

/// The resolver's timing settings (`pj_dns_settings`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResolverSettings {
    /// Delay between transmissions (`qretr_delay`).
    pub retransmit_delay: Duration,
    /// Transmissions per query (`qretr_count`).
    pub transmit_count: u32,
    /// Active-state lifetime (`good_ns_ttl`).
    pub good_ns_ttl: Duration,
    /// Bad-state lifetime (`bad_ns_ttl`).
    pub bad_ns_ttl: Duration,
    /// Cache cap in seconds (`cache_max_ttl`); 0 disables the cache.
    pub cache_max_ttl: u32,
}

impl Default for ResolverSettings {
    fn default() -> Self {
        Self {
            retransmit_delay: RETRANSMIT_DELAY,
            transmit_count: TRANSMIT_COUNT,
            good_ns_ttl: GOOD_NS_TTL,
            bad_ns_ttl: BAD_NS_TTL,
            cache_max_ttl: MAX_CACHE_TTL,
        }
    }
}

/// Names one [`Resolver::resolve`] call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QueryId(pub u64);

/// Why a name did not resolve. [`DnsError::status`] is the pjlib status code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DnsError {
    /// No nameserver configured: 320045 `PJLIB_UTIL_EDNSNONS`.
    NoNameserver,
    /// Every nameserver is marked bad: 320046 `PJLIB_UTIL_EDNSNOWORKINGNS`.
    NoWorkingNameserver,
    /// Every transmission went unanswered: 70009 `PJ_ETIMEDOUT`. Carries the decode error of
    /// the last response that was ignored because it did not parse, if any.
    TimedOut {
        /// The last malformed response's error.
        malformed: Option<DecodeError>,
    },
    /// The server answered RCODE 1–15: 320050 + RCODE (`PJLIB_UTIL_EDNS_FORMERR` 320051 …
    /// `PJLIB_UTIL_EDNS_NOTZONE` 320060).
    Rcode(u8),
    /// NOERROR without an A record for the name: 320047 `PJLIB_UTIL_EDNSNOANSWERREC`.
    NoAnswer,
    /// No question section, a CNAME loop, or a chain ending on another type: 320048
    /// `PJLIB_UTIL_EDNSINANSWER`.
    InvalidAnswer,
    /// The name cannot be put in a query (empty, a label over 63 or the name over 255
    /// octets): 70005 `PJ_ENAMETOOLONG`.
    InvalidName,
}

impl DnsError {
    /// The pjlib status code.
    pub const fn status(self) -> u32 {
        match self {
            Self::NoNameserver => 320_045,
            Self::NoWorkingNameserver => 320_046,
            Self::TimedOut { .. } => 70_009,
            Self::Rcode(rcode) => 320_050 + rcode as u32,
            Self::NoAnswer => 320_047,
            Self::InvalidAnswer => 320_048,
            Self::InvalidName => 70_005,
        }
    }

    /// The pjlib status name.
    pub const fn status_name(self) -> &'static str {
        match self {
            Self::NoNameserver => "PJLIB_UTIL_EDNSNONS",
            Self::NoWorkingNameserver => "PJLIB_UTIL_EDNSNOWORKINGNS",
            Self::TimedOut { .. } => "PJ_ETIMEDOUT",
            Self::Rcode(1) => "PJLIB_UTIL_EDNS_FORMERR",
            Self::Rcode(2) => "PJLIB_UTIL_EDNS_SERVFAIL",
            Self::Rcode(3) => "PJLIB_UTIL_EDNS_NXDOMAIN",
            Self::Rcode(4) => "PJLIB_UTIL_EDNS_NOTIMPL",
            Self::Rcode(5) => "PJLIB_UTIL_EDNS_REFUSED",
            Self::Rcode(6) => "PJLIB_UTIL_EDNS_YXDOMAIN",
            Self::Rcode(7) => "PJLIB_UTIL_EDNS_YXRRSET",
            Self::Rcode(8) => "PJLIB_UTIL_EDNS_NXRRSET",
            Self::Rcode(9) => "PJLIB_UTIL_EDNS_NOTAUTH",
            Self::Rcode(10) => "PJLIB_UTIL_EDNS_NOTZONE",
            Self::Rcode(_) => "DNS RCODE",
            Self::NoAnswer => "PJLIB_UTIL_EDNSNOANSWERREC",
            Self::InvalidAnswer => "PJLIB_UTIL_EDNSINANSWER",
            Self::InvalidName => "PJ_ENAMETOOLONG",
        }
    }
}

impl fmt::Display for DnsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.status_name(), self.status())?;
        if let Self::TimedOut { malformed: Some(e) } = self {
            write!(f, "; ignored a malformed response: {e} ({})", e.status())?;
        }
        Ok(())
    }
}

impl std::error::Error for DnsError {}

/// One finished [`Resolver::resolve`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolution {
    /// The query.
    pub id: QueryId,
    /// The name asked.
    pub name: String,
    /// When it finished.
    pub at: SimInstant,
    /// Answered from the cache.
    pub cached: bool,
    /// The addresses, or why not.
    pub result: Result<Vec<IpAddr>, DnsError>,
}

/// The event names a resolution takes in the event log.
pub const RESOLVER_EVENT_NAMES: &[&str] = &["dns-resolved", "dns-failed"];

impl From<&Resolution> for LogEvent {
    /// `dns-resolved` (detail: name and addresses) or `dns-failed` (status: the pjlib code).
    fn from(r: &Resolution) -> Self {
        let cached = if r.cached { " (cached)" } else { "" };
        match &r.result {
            Ok(ips) => {
                let ips: Vec<String> = ips.iter().map(ToString::to_string).collect();
                Self::named("dns-resolved").with_detail(format!(
                    "{} -> {}{cached}",
                    r.name,
                    ips.join(", ")
                ))
            }
            Err(e) => Self::named("dns-failed")
                .with_status(e.status())
                .with_detail(format!("{}: {e}{cached}", r.name)),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NsState {
    Probing,
    Active,
    Bad,
}

#[derive(Debug)]
struct Nameserver {
    addr: SocketAddr,
    state: NsState,
    expiry: SimInstant,
    rt_delay: Duration,
    q_id: u16,
    sent_time: SimInstant,
}

#[derive(Debug)]
struct Pending {
    name: String,
    wire: Bytes,
    transmit_cnt: u32,
    deadline: SimInstant,
    waiters: Vec<QueryId>,
    malformed: Option<DecodeError>,
}

/// The resolver sub-core. See the module documentation for its behaviour and how to embed it.
#[derive(Debug)]
pub struct Resolver {
    settings: ResolverSettings,
    servers: Vec<Nameserver>,
    local_port: u16,
    last_id: u16,
    next_query: u64,
    pending: BTreeMap<u16, Pending>,
    cache: BTreeMap<String, (SimInstant, Result<Vec<IpAddr>, DnsError>)>,
    out: VecDeque<Datagram>,
    results: VecDeque<Resolution>,
}

impl Resolver {
    /// A resolver asking `servers` (in order of preference on ties), with pjlib's default
    /// settings. Transaction ids start at a value drawn from `seed`.
    pub fn new(servers: Vec<SocketAddr>, seed: Seed) -> Self {
        Self::with_settings(servers, seed, ResolverSettings::default())
    }

    /// The same with other settings.
    pub fn with_settings(servers: Vec<SocketAddr>, seed: Seed, settings: ResolverSettings) -> Self {
        let first = (seed.rng().next_u32() & 0xffff) as u16;
        Self {
            settings,
            servers: servers
                .into_iter()
                .map(|addr| Nameserver {
                    addr,
                    state: NsState::Active,
                    expiry: SimInstant::ZERO,
                    rt_delay: Duration::from_secs(10),
                    q_id: 0,
                    sent_time: SimInstant::ZERO,
                })
                .collect(),
            local_port: 0,
            last_id: first.max(1),
            next_query: 0,
            pending: BTreeMap::new(),
            cache: BTreeMap::new(),
            out: VecDeque::new(),
            results: VecDeque::new(),
        }
    }

    /// The UDP port the embedding core bound for the resolver: the `src` port of every
    /// datagram it sends.
    pub const fn set_local_port(&mut self, port: u16) {
        self.local_port = port;
    }

    /// The nameservers.
    pub fn servers(&self) -> impl Iterator<Item = SocketAddr> + '_ {
        self.servers.iter().map(|s| s.addr)
    }

    /// Starts resolving `name` to its A records. The result comes from
    /// [`Resolver::poll_result`] (at once for a cached name, an invalid name, or when no
    /// nameserver can be used).
    pub fn resolve(&mut self, now: SimInstant, name: &str) -> QueryId {
        let qid = QueryId(self.next_query);
        self.next_query += 1;
        let key = normalize(name);
        let finish = |this: &mut Self, result, cached| {
            this.results.push_back(Resolution {
                id: qid,
                name: name.to_owned(),
                at: now,
                cached,
                result,
            });
        };
        if let Some((expiry, result)) = self.cache.get(&key) {
            if *expiry > now {
                let result = result.clone();
                finish(self, result, true);
                return qid;
            }
            self.cache.remove(&key);
        }
        if let Some(p) = self.pending.values_mut().find(|p| p.name == key) {
            p.waiters.push(qid);
            return qid;
        }
        let id = self.last_id;
        self.last_id = self.last_id.wrapping_add(1).max(1);
        let Ok(wire) = Message::query(id, &key, TYPE_A).encode() else {
            finish(self, Err(DnsError::InvalidName), false);
            return qid;
        };
        if key.is_empty() {
            finish(self, Err(DnsError::InvalidName), false);
            return qid;
        }
        let mut p = Pending {
            name: key,
            wire: Bytes::from(wire),
            transmit_cnt: 0,
            deadline: SimInstant::NEVER,
            waiters: vec![qid],
            malformed: None,
        };
        match self.transmit(now, id, &mut p) {
            Ok(()) => {
                self.pending.insert(id, p);
            }
            Err(e) => finish(self, Err(e), false),
        }
        qid
    }

    /// `select_nameservers`: the best active server, then every probing one.
    fn select(&mut self, now: SimInstant) -> Result<Vec<usize>, DnsError> {
        if self.servers.is_empty() {
            return Err(DnsError::NoNameserver);
        }
        let mut min: Option<usize> = None;
        for (i, ns) in self.servers.iter().enumerate() {
            if ns.state == NsState::Active
                && min.is_none_or(|m| ns.rt_delay < self.servers[m].rt_delay)
            {
                min = Some(i);
            }
        }
        let mut chosen: Vec<usize> = min.into_iter().collect();
        for i in 0..self.servers.len() {
            let ns = &self.servers[i];
            if ns.expiry <= now {
                if ns.state == NsState::Probing {
                    self.set_state(i, NsState::Bad, now);
                } else {
                    self.set_state(i, NsState::Probing, now);
                    if Some(i) != min {
                        chosen.push(i);
                    }
                }
            } else if ns.state == NsState::Probing && Some(i) != min {
                chosen.push(i);
            }
        }
        Ok(chosen)
    }

    fn set_state(&mut self, i: usize, state: NsState, now: SimInstant) {
        let s = self.settings;
        let ttl = match state {
            NsState::Probing => s.retransmit_delay * (s.transmit_count + 2),
            NsState::Active => s.good_ns_ttl,
            NsState::Bad => s.bad_ns_ttl,
        };
        let ns = &mut self.servers[i];
        ns.state = state;
        ns.expiry = now + ttl;
    }

    /// `transmit_query`.
    fn transmit(&mut self, now: SimInstant, id: u16, p: &mut Pending) -> Result<(), DnsError> {
        let chosen = self.select(now)?;
        if chosen.is_empty() {
            return Err(DnsError::NoWorkingNameserver);
        }
        p.deadline = now + self.settings.retransmit_delay;
        for i in chosen {
            let ns = &mut self.servers[i];
            let unspecified = match ns.addr {
                SocketAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                SocketAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            };
            self.out.push_back(Datagram {
                src: SocketAddr::new(unspecified, self.local_port),
                dst: ns.addr,
                payload: p.wire.clone(),
            });
            if ns.q_id == 0 {
                ns.q_id = id;
                ns.sent_time = now;
            }
        }
        p.transmit_cnt += 1;
        Ok(())
    }

    /// Offers a datagram that arrived on the resolver's socket. Returns whether it came from
    /// one of the nameservers (and was consumed).
    pub fn handle_datagram(&mut self, now: SimInstant, d: &Datagram) -> bool {
        let Some(ns_index) = self.servers.iter().position(|s| s.addr == d.src) else {
            return false;
        };
        let parsed = Message::decode(&d.payload);
        // report_nameserver_status
        let (good, q_id) = match &parsed {
            Ok(m) => (!matches!(m.header.rcode, 5 | 9), Some(m.header.id)),
            Err(_) => (false, None),
        };
        {
            let ns = &mut self.servers[ns_index];
            if q_id == Some(ns.q_id) {
                ns.rt_delay = now - ns.sent_time;
                ns.q_id = 0;
            }
        }
        let state = if good { NsState::Active } else { NsState::Bad };
        self.set_state(ns_index, state, now);
        let m = match parsed {
            Ok(m) if m.header.response => m,
            Ok(_) => return true,
            Err(e) => {
                // pjlib logs the parse error and keeps waiting; remember it for the detail.
                for p in self.pending.values_mut() {
                    p.malformed = Some(e);
                }
                return true;
            }
        };
        let Some(p) = self.pending.remove(&m.header.id) else {
            return true;
        };
        let result = a_records(&m);
        if !m.header.truncated && self.settings.cache_max_ttl > 0 {
            let ttl = if m.answers.is_empty() || m.header.rcode != 0 {
                INVALID_TTL
            } else {
                m.answers.iter().map(|r| r.ttl).min().unwrap_or(0)
            }
            .min(self.settings.cache_max_ttl);
            if ttl > 0 {
                let expiry = now + Duration::from_secs(u64::from(ttl));
                self.cache.insert(p.name.clone(), (expiry, result.clone()));
            }
        }
        self.finish(now, p, result);
        true
    }

    fn finish(&mut self, now: SimInstant, p: Pending, result: Result<Vec<IpAddr>, DnsError>) {
        for id in p.waiters {
            self.results.push_back(Resolution {
                id,
                name: p.name.clone(),
                at: now,
                cached: false,
                result: result.clone(),
            });
        }
    }

    /// Retransmits or times out the queries whose deadline passed.
    pub fn handle_timeout(&mut self, now: SimInstant) {
        let due: Vec<u16> = self
            .pending
            .iter()
            .filter(|(_, p)| p.deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            let Some(mut p) = self.pending.remove(&id) else {
                continue;
            };
            if p.transmit_cnt < self.settings.transmit_count
                && self.transmit(now, id, &mut p).is_ok()
            {
                self.pending.insert(id, p);
                continue;
            }
            let malformed = p.malformed;
            self.finish(now, p, Err(DnsError::TimedOut { malformed }));
        }
    }

    /// When [`Resolver::handle_timeout`] is next due.
    pub fn poll_timeout(&self) -> Option<SimInstant> {
        self.pending.values().map(|p| p.deadline).min()
    }

    /// The next query to send (see the module documentation for its `src`).
    pub fn poll_transmit(&mut self) -> Option<Datagram> {
        self.out.pop_front()
    }

    /// The next finished resolution, with its name and time.
    pub fn poll_resolution(&mut self) -> Option<Resolution> {
        self.results.pop_front()
    }

    /// The next finished resolution, as (query, addresses or error).
    pub fn poll_result(&mut self) -> Option<(QueryId, Result<Vec<IpAddr>, DnsError>)> {
        self.poll_resolution().map(|r| (r.id, r.result))
    }

    /// Queries in flight.
    pub fn in_flight(&self) -> usize {
        self.pending.len()
    }
}

/// `pj_dns_parse_a_response`.
fn a_records(m: &Message) -> Result<Vec<IpAddr>, DnsError> {
    if m.header.rcode != 0 {
        return Err(DnsError::Rcode(m.header.rcode));
    }
    let Some(q) = m.questions.first() else {
        return Err(DnsError::InvalidAnswer);
    };
    if m.answers.is_empty() {
        return Err(DnsError::NoAnswer);
    }
    let same = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    let mut resname = q.name.as_str();
    let mut at = m
        .answers
        .iter()
        .position(|r| same(&r.name, resname))
        .ok_or(DnsError::NoAnswer)?;
    let mut hops = 0;
    while m.answers[at].rtype == TYPE_CNAME && hops < MAX_CNAME_CHAIN {
        hops += 1;
        let RData::Cname(alias) = &m.answers[at].data else {
            return Err(DnsError::InvalidAnswer);
        };
        resname = alias;
        at = m
            .answers
            .iter()
            .position(|r| same(&r.name, resname))
            .ok_or(DnsError::NoAnswer)?;
    }
    if hops >= MAX_CNAME_CHAIN || m.answers[at].rtype != TYPE_A {
        return Err(DnsError::InvalidAnswer);
    }
    let ips: Vec<IpAddr> = m
        .answers
        .iter()
        .filter(|r| same(&r.name, resname))
        .filter_map(|r| match r.data {
            RData::A(v4) => Some(IpAddr::V4(v4)),
            _ => None,
        })
        .collect();
    if ips.is_empty() {
        return Err(DnsError::NoAnswer);
    }
    Ok(ips)
}

#[cfg(test)]
mod tests;

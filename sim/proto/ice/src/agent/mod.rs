//! [`IceAgent`]: gathering, the rtc-ice session, pjnath's failure timers, application data.
//!
//! ```text
//!   new ──handle_start──▶ Gathering ──all servers answered or timed out──▶ gathering-done
//!   set_remote ──▶ Checking ──nominated pair──▶ Connected ──consent expired──▶ ConsentLost
//!                     │ every check settled, nothing selected (controlling or no valid pair)
//!                     │                                              ─▶ Failed(370082)
//!                     └ controlled, valid pair, checks settled + 10 s ─▶ Failed(370093)
//! ```

mod gather;

use crate::candidate::{from_rtc, to_rtc};
use crate::checks::{CheckKey, CheckList};
use crate::clock::{from_std, to_std};
use crate::config::{IceConfig, Role};
use crate::event::{Credentials, IceCandidate, IceEvent, Status};
use crate::provider::SeededProvider;
use crate::stun::{self, BindingTransaction};
use crate::turn::TurnRelay;
use bytes::{Bytes, BytesMut};
use rand_core::RngCore;
use rtc_ice::agent::TaggedEvent;
use rtc_ice::mdns::MulticastDnsMode;
use rtc_ice::state::ConnectionState;
use rtc_ice::{Agent, AgentConfig, Event};
use rtc_shared::{TaggedBytesMut, TransportContext, TransportProtocol};
use rtc_stun::attributes::ATTR_USE_CANDIDATE;
use rtc_stun::message::{CLASS_ERROR_RESPONSE, CLASS_REQUEST, CLASS_SUCCESS_RESPONSE};
use sansio::Protocol;
use sim_core::{
    Addresses, Binding, Bound, Datagram, Node, Protocol as Proto, Seed, SimInstant, SimRng,
    Transmit,
};
use std::collections::{BTreeSet, VecDeque};
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Why an agent could not be built or a command was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum IceError {
    /// rtc-ice (or its crypto provider) refused: its message.
    Agent(String),
    /// The remote credentials were already set (one session per agent).
    AlreadyStarted,
    /// No pair is selected yet (or any more).
    NotConnected,
}

impl fmt::Display for IceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Agent(m) => write!(f, "rtc-ice refused: {m}"),
            Self::AlreadyStarted => f.write_str("remote credentials already set"),
            Self::NotConnected => f.write_str("no selected candidate pair"),
        }
    }
}

impl std::error::Error for IceError {}

/// Counters of what the agent dropped or filtered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IceStats {
    /// Datagrams that looked like STUN but did not decode.
    pub stun_malformed: u64,
    /// STUN messages dropped for a broken FINGERPRINT.
    pub fingerprint_failures: u64,
    /// Non-STUN datagrams dropped (not from the selected pair's remote, or before it).
    pub data_dropped: u64,
    /// Application datagrams delivered.
    pub data_received: u64,
    /// rtc-ice pings not sent because pjnath's schedule had no transmission due.
    pub checks_suppressed: u64,
    /// Inputs rtc-ice rejected (unknown transaction, bad integrity, wrong username...).
    pub rtc_rejected: u64,
    /// Checks from unknown addresses dropped because the remote candidate list was full
    /// ([`MAX_REMOTE_CANDIDATES`]).
    pub prflx_refused: u64,
}

/// At most this many remote candidates, learned peer-reflexive ones included (pjnath
/// `PJ_ICE_MAX_CAND`). Without a bound, two address-and-port-dependent mappings with
/// endpoint-independent filtering feed each other a new peer-reflexive candidate with every
/// triggered check.
pub const MAX_REMOTE_CANDIDATES: usize = 16;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Idle,
    Checking,
    Connected,
    Failed,
    ConsentLost,
    Closed,
}

/// A sans-IO ICE endpoint on rtc-ice. See the crate documentation.
pub struct IceAgent {
    config: IceConfig,
    rng: SimRng,
    credentials: Credentials,
    agent: Agent,
    addresses: Addresses,
    port: Option<u16>,
    local: Vec<IceCandidate>,
    gathering: Vec<(BindingTransaction, bool)>,
    gathering_done: bool,
    turn: Option<TurnRelay>,
    turn_provider: Arc<SeededProvider>,
    remote_set: bool,
    remote_seq: u32,
    checks: CheckList,
    checks_started: SimInstant,
    phase: Phase,
    selected: Option<(IceCandidate, IceCandidate)>,
    rejected_from: BTreeSet<SocketAddr>,
    agent_deadline: Option<SimInstant>,
    last_now: SimInstant,
    transmits: VecDeque<Transmit>,
    events: VecDeque<IceEvent>,
    received: VecDeque<Bytes>,
    stats: IceStats,
}

impl fmt::Debug for IceAgent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IceAgent")
            .field("config", &self.config)
            .field("credentials", &self.credentials)
            .field("port", &self.port)
            .field("local", &self.local)
            .field("phase", &self.phase)
            .field("selected", &self.selected)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

const UFRAG_LEN: usize = 16;
const PWD_LEN: usize = 32;
/// rtc-ice fails a pair after this many pings; far beyond pjnath's timeout at any tick.
const RTC_MAX_BINDING_REQUESTS: u16 = 10_000;

fn random_string(rng: &mut SimRng, len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    (0..len)
        .map(|_| {
            let i = rng.next_u32() as usize % ALPHABET.len();
            char::from(ALPHABET.get(i).copied().unwrap_or(b'a'))
        })
        .collect()
}

impl IceAgent {
    /// An agent with `config`. Its ufrag, password, tie-breaker, keep-alive jitter and STUN
    /// transaction ids come from `seed`.
    ///
    /// # Errors
    /// When rtc-ice or its crypto provider refuses the configuration.
    pub fn new(config: IceConfig, seed: Seed) -> Result<Self, IceError> {
        let mut rng = seed.rng();
        let credentials = Credentials {
            ufrag: random_string(&mut rng, UFRAG_LEN),
            pwd: random_string(&mut rng, PWD_LEN),
        };
        let t = &config.timers;
        let jitter_us = u64::try_from(t.keepalive_jitter.as_micros()).unwrap_or(u64::MAX);
        let jitter = Duration::from_micros(rng.next_u64() % jitter_us.saturating_add(1));
        let wait = Some(t.nomination_delay);
        let rtc_config = AgentConfig {
            local_ufrag: credentials.ufrag.clone(),
            local_pwd: credentials.pwd.clone(),
            multicast_dns_mode: MulticastDnsMode::Disabled,
            multicast_dns_local_name: "natlab.local".into(),
            disconnected_timeout: Some(Duration::ZERO),
            failed_timeout: Some(t.consent_timeout),
            keepalive_interval: Some(t.keepalive_interval + jitter),
            check_interval: t.check_interval,
            max_binding_requests: Some(RTC_MAX_BINDING_REQUESTS),
            is_controlling: config.role.is_controlling(),
            host_acceptance_min_wait: wait,
            srflx_acceptance_min_wait: wait,
            prflx_acceptance_min_wait: wait,
            relay_acceptance_min_wait: wait,
            ..AgentConfig::default()
        };
        let provider = SeededProvider::new(seed.derive("rtc-ice").rng())
            .map_err(|e| IceError::Agent(e.to_string()))?;
        let turn_provider = SeededProvider::new(seed.derive("rtc-turn").rng())
            .map_err(|e| IceError::Agent(e.to_string()))?;
        let agent = Agent::new(
            to_std(SimInstant::ZERO),
            Arc::new(rtc_config),
            Arc::new(provider),
        )
        .map_err(|e| IceError::Agent(e.to_string()))?;
        Ok(Self {
            config,
            rng,
            credentials,
            agent,
            addresses: Addresses::default(),
            port: None,
            local: Vec::new(),
            gathering: Vec::new(),
            gathering_done: false,
            turn: None,
            turn_provider: Arc::new(turn_provider),
            remote_set: false,
            remote_seq: 0,
            checks: CheckList::default(),
            checks_started: SimInstant::ZERO,
            phase: Phase::Idle,
            selected: None,
            rejected_from: BTreeSet::new(),
            agent_deadline: None,
            last_now: SimInstant::ZERO,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            received: VecDeque::new(),
            stats: IceStats::default(),
        })
    }

    /// The local ufrag and password, to hand to the peer (SDP `a=ice-ufrag`, `a=ice-pwd`).
    pub fn local_credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// The local candidates gathered so far (complete after `gathering-done`).
    pub fn local_candidates(&self) -> &[IceCandidate] {
        &self.local
    }

    /// Whether gathering is complete.
    pub fn is_gathering_done(&self) -> bool {
        self.gathering_done
    }

    /// The role now (a role conflict may have switched it).
    pub fn role(&self) -> Role {
        if self.agent.role() {
            Role::Controlling
        } else {
            Role::Controlled
        }
    }

    /// The selected pair (local, remote), once connected.
    pub fn selected_pair(&self) -> Option<(&IceCandidate, &IceCandidate)> {
        self.selected.as_ref().map(|(l, r)| (l, r))
    }

    /// Whether a pair is selected and consent holds.
    pub fn is_connected(&self) -> bool {
        self.phase == Phase::Connected
    }

    /// Counters.
    pub fn stats(&self) -> IceStats {
        IceStats {
            checks_suppressed: self.checks.suppressed,
            ..self.stats
        }
    }

    /// Starts connectivity checks at `now` against the peer's credentials and candidates.
    ///
    /// # Errors
    /// [`IceError::AlreadyStarted`] on a second call; [`IceError::Agent`] if rtc-ice refuses
    /// the credentials (empty ufrag or password).
    pub fn set_remote(
        &mut self,
        now: SimInstant,
        remote: &Credentials,
        candidates: &[IceCandidate],
    ) -> Result<(), IceError> {
        if self.remote_set {
            return Err(IceError::AlreadyStarted);
        }
        self.last_now = self.last_now.max(now);
        let controlling = self.config.role.is_controlling();
        self.agent
            .start_connectivity_checks(
                to_std(now),
                controlling,
                remote.ufrag.clone(),
                remote.pwd.clone(),
            )
            .map_err(|e| IceError::Agent(e.to_string()))?;
        self.remote_set = true;
        self.phase = Phase::Checking;
        self.checks_started = now;
        for c in candidates {
            self.add_remote(c);
        }
        self.pump(now, None);
        Ok(())
    }

    /// Adds one more remote candidate (trickle) at `now`.
    pub fn add_remote_candidate(&mut self, now: SimInstant, candidate: &IceCandidate) {
        self.last_now = self.last_now.max(now);
        self.add_remote(candidate);
        self.pump(now, None);
    }

    /// Sends application data on the selected pair.
    ///
    /// # Errors
    /// [`IceError::NotConnected`] before a pair is selected or after consent is lost.
    pub fn send(&mut self, now: SimInstant, payload: Bytes) -> Result<(), IceError> {
        self.last_now = self.last_now.max(now);
        let Some((local, remote)) = self.selected.as_ref().filter(|_| self.is_connected()) else {
            return Err(IceError::NotConnected);
        };
        let (local, remote) = (local.base, remote.addr);
        self.transmit(now, local, remote, payload);
        Ok(())
    }

    /// Ends the session at `now` without an event (a hang-up): no more checks, keep-alives or
    /// data; the TURN allocation, if any, is released (Refresh with lifetime 0).
    pub fn close(&mut self, now: SimInstant) {
        self.last_now = self.last_now.max(now);
        self.phase = Phase::Closed;
        let _ = self.agent.close();
        while self.agent.poll_write().is_some() {}
        while self.agent.poll_event().is_some() {}
        self.agent_deadline = None;
        self.gathering.clear();
        if let Some(turn) = self.turn.as_mut() {
            turn.close(now);
        }
        self.process_turn(now);
        if let Some(turn) = self.turn.as_mut() {
            turn.deadline = None;
        }
    }

    /// The next application datagram received on the selected pair.
    pub fn poll_data(&mut self) -> Option<Bytes> {
        self.received.pop_front()
    }

    fn add_remote(&mut self, c: &IceCandidate) {
        self.remote_seq += 1;
        if let Some(rc) = to_rtc(c, format!("remote-{}", self.remote_seq)) {
            let _ = self.agent.add_remote_candidate(rc);
        }
    }

    fn local_addr_towards(&self, remote: SocketAddr) -> Option<SocketAddr> {
        let ip = self.addresses.towards(remote.ip())?;
        Some(SocketAddr::new(ip, self.port?))
    }

    /// Drains rtc-ice's output and events, then applies the failure timers.
    fn pump(&mut self, now: SimInstant, triggered_by: Option<SocketAddr>) {
        while let Some(out) = self.agent.poll_write() {
            self.on_agent_write(now, out, triggered_by);
        }
        while let Some(TaggedEvent { event, .. }) = self.agent.poll_event() {
            self.on_agent_event(now, event);
        }
        self.check_timers(now);
        self.agent_deadline = self.agent.poll_timeout().map(from_std);
    }

    fn on_agent_write(
        &mut self,
        now: SimInstant,
        out: TaggedBytesMut,
        triggered_by: Option<SocketAddr>,
    ) {
        let (local, peer) = (out.transport.local_addr, out.transport.peer_addr);
        let payload = out.message.freeze();
        if self.phase == Phase::Checking
            && let Some(m) = stun::decode(&payload).filter(|m| m.typ.class == CLASS_REQUEST)
        {
            let key = CheckKey {
                local,
                remote: peer,
                nominating: m.contains(ATTR_USE_CANDIDATE),
            };
            let triggered = triggered_by == Some(peer);
            let timers = self.config.timers;
            if !self
                .checks
                .outgoing(now, key, m.transaction_id.0, triggered, &timers)
            {
                return;
            }
        }
        self.transmit(now, local, peer, payload);
    }

    /// Sends from a local base: directly, or through the TURN allocation for the relayed one.
    fn transmit(&mut self, now: SimInstant, local: SocketAddr, peer: SocketAddr, payload: Bytes) {
        if self.relayed_addr() == Some(local) {
            if let Some(turn) = self.turn.as_mut() {
                turn.send_to(now, peer, payload);
            }
            self.process_turn(now);
            return;
        }
        self.transmits.push_back(Transmit::Datagram(Datagram {
            src: local,
            dst: peer,
            payload,
        }));
    }

    fn on_agent_event(&mut self, now: SimInstant, event: Event) {
        match event {
            Event::SelectedCandidatePairChange(l, r) => {
                let (local, remote) = (from_rtc(&l), from_rtc(&r));
                self.events.push_back(IceEvent::PairSelected {
                    local: local.clone(),
                    remote: remote.clone(),
                });
                if self.phase == Phase::Checking {
                    self.phase = Phase::Connected;
                    self.events.push_back(IceEvent::Connected {
                        local: local.clone(),
                        remote: remote.clone(),
                    });
                }
                self.selected = Some((local, remote));
            }
            Event::ConnectionStateChange(ConnectionState::Failed) => match self.phase {
                Phase::Connected => {
                    self.phase = Phase::ConsentLost;
                    let remote = self.selected.as_ref().map(|(_, r)| r.addr);
                    if let Some(remote) = remote {
                        self.events.push_back(IceEvent::ConsentLost { remote });
                    }
                }
                Phase::Checking => self.fail(now, Status::ICE_FAILED),
                _ => {}
            },
            Event::RoleChange(controlling) => {
                self.events.push_back(IceEvent::RoleChanged { controlling });
            }
            _ => {}
        }
    }

    /// pjnath's decisions: per-check timeouts (370004), all checks failed (370082), the
    /// controlled agent's nomination wait (370093).
    fn check_timers(&mut self, now: SimInstant) {
        if self.phase != Phase::Checking {
            return;
        }
        let timers = self.config.timers;
        for key in self.checks.timeouts(now, &timers) {
            self.events.push_back(IceEvent::CheckFailed {
                local: key.local,
                remote: key.remote,
                nominating: key.nominating,
                status: Status::STUN_TIMED_OUT,
            });
        }
        if let Some((deadline, status)) = self.failure_deadline()
            && now >= deadline
        {
            self.fail(now, status);
        }
    }

    /// When the session fails if nothing is selected by then, and with which code.
    fn failure_deadline(&self) -> Option<(SimInstant, Status)> {
        if self.phase != Phase::Checking {
            return None;
        }
        let timers = &self.config.timers;
        let timeout = timers.transaction_timeout();
        if !self.agent.role() && self.checks.has_valid() {
            let complete = self.checks.complete_at(timers)?;
            return Some((
                complete + timers.nomination_timeout,
                Status::ICE_NOMINATION_TIMEOUT,
            ));
        }
        let last = self
            .checks
            .last_started()
            .unwrap_or(self.checks_started)
            .max(self.checks_started);
        Some((last + timeout, Status::ICE_FAILED))
    }

    fn fail(&mut self, now: SimInstant, status: Status) {
        self.phase = Phase::Failed;
        let _ = self.agent.close();
        while self.agent.poll_write().is_some() {}
        while self.agent.poll_event().is_some() {}
        self.agent_deadline = None;
        if let Some(turn) = self.turn.as_mut() {
            turn.close(now);
        }
        self.process_turn(now);
        self.events.push_back(IceEvent::Failed {
            status,
            reason: self.checks.summary(),
        });
    }

    fn on_stun(&mut self, now: SimInstant, local: SocketAddr, d: &Datagram) {
        let Some(m) = stun::decode(&d.payload) else {
            self.stats.stun_malformed += 1;
            return;
        };
        if stun::fingerprint_broken(&m) {
            self.stats.fingerprint_failures += 1;
            if self.rejected_from.insert(d.src) {
                self.events.push_back(IceEvent::StunRejected {
                    from: d.src,
                    status: Status::STUN_FINGERPRINT,
                });
            }
            return;
        }
        let id = m.transaction_id.0;
        if let Some((t, _)) = self.gathering.iter_mut().find(|(t, _)| t.id == id) {
            t.handle_response(d.src, &m);
            self.collect_gathering();
            return;
        }
        let class = m.typ.class;
        let is_response = class == CLASS_SUCCESS_RESPONSE || class == CLASS_ERROR_RESPONSE;
        if is_response && self.phase == Phase::Checking {
            let success = class == CLASS_SUCCESS_RESPONSE;
            if let Some(key) = self.checks.incoming_response(now, d.src, id, success) {
                self.events.push_back(IceEvent::CheckFailed {
                    local: key.local,
                    remote: key.remote,
                    nominating: key.nominating,
                    status: Status::ICE_SOURCE_MISMATCH,
                });
            }
        }
        let known = || {
            self.agent
                .get_remote_candidates()
                .iter()
                .any(|c| c.addr() == d.src)
        };
        if class == CLASS_REQUEST
            && self.agent.get_remote_candidates().len() >= MAX_REMOTE_CANDIDATES
            && !known()
        {
            self.stats.prflx_refused += 1;
            return;
        }
        if matches!(self.phase, Phase::Checking | Phase::Connected) {
            let msg = TaggedBytesMut {
                now: to_std(now),
                transport: transport(local, d.src),
                message: BytesMut::from(&d.payload[..]),
            };
            if self.agent.handle_read(msg).is_err() {
                self.stats.rtc_rejected += 1;
            }
            let triggered_by = (class == CLASS_REQUEST).then_some(d.src);
            self.pump(now, triggered_by);
        }
    }

    fn on_data(&mut self, now: SimInstant, local: SocketAddr, d: Datagram) {
        let from_selected = self.selected.as_ref().is_some_and(|(_, r)| r.addr == d.src);
        if self.phase == Phase::Connected
            && from_selected
            && self
                .agent
                .is_valid_non_stun_traffic(to_std(now), transport(local, d.src))
        {
            self.stats.data_received += 1;
            self.received.push_back(d.payload);
        } else {
            self.stats.data_dropped += 1;
        }
    }
}

fn transport(local: SocketAddr, peer: SocketAddr) -> TransportContext {
    TransportContext {
        local_addr: local,
        peer_addr: peer,
        transport_protocol: TransportProtocol::UDP,
        ecn: None,
    }
}

impl Node for IceAgent {
    type Event = IceEvent;

    fn bindings(&self) -> Vec<Binding> {
        vec![Binding::udp(self.config.port)]
    }

    fn handle_bound(&mut self, now: SimInstant, bound: Bound) {
        self.last_now = self.last_now.max(now);
        if bound.id.is_none()
            && bound.binding.protocol == Proto::Udp
            && let Ok(addr) = bound.result
        {
            self.port = Some(addr.port());
        }
    }

    fn handle_start(&mut self, now: SimInstant, addresses: Addresses) {
        self.last_now = self.last_now.max(now);
        self.addresses = addresses;
        if self.port.is_none() && self.config.port != 0 {
            self.port = Some(self.config.port);
        }
        self.start_gathering(now);
    }

    fn handle_datagram(&mut self, now: SimInstant, d: Datagram) {
        self.last_now = self.last_now.max(now);
        if self.phase == Phase::Closed || self.port != Some(d.dst.port()) {
            return;
        }
        if let Some(turn) = self.turn.as_mut().filter(|t| t.server == d.src) {
            turn.handle_read(now, &d.payload);
            self.process_turn(now);
            return;
        }
        let Some(local) = self.local_addr_towards(d.src) else {
            return;
        };
        if stun::looks_like_stun(&d.payload) {
            self.on_stun(now, local, &d);
        } else {
            self.on_data(now, local, d);
        }
    }

    fn handle_timeout(&mut self, now: SimInstant) {
        self.last_now = self.last_now.max(now);
        if self.phase == Phase::Closed {
            return;
        }
        self.poll_gathering(now);
        if let Some(turn) = self.turn.as_mut()
            && turn.deadline.is_some_and(|t| t <= now)
        {
            turn.handle_timeout(now);
            self.process_turn(now);
        }
        let due = self.agent_deadline.is_some_and(|t| t <= now);
        if due
            && matches!(self.phase, Phase::Checking | Phase::Connected)
            && self.agent.handle_timeout(to_std(now)).is_err()
        {
            self.stats.rtc_rejected += 1;
        }
        self.pump(now, None);
    }

    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    fn poll_event(&mut self) -> Option<IceEvent> {
        self.events.pop_front()
    }

    fn poll_timeout(&self) -> Option<SimInstant> {
        if self.phase == Phase::Closed {
            return None;
        }
        let timers = &self.config.timers;
        let gathering = self
            .gathering
            .iter()
            .filter_map(|(t, _)| t.deadline(timers));
        let agent = self
            .agent_deadline
            .filter(|_| matches!(self.phase, Phase::Checking | Phase::Connected));
        let checks = (self.phase == Phase::Checking)
            .then(|| self.checks.next_timeout(timers))
            .flatten();
        let failure = self.failure_deadline().map(|(t, _)| t);
        let turn = self.turn.as_ref().and_then(|t| t.deadline);
        gathering
            .chain(turn)
            .chain(agent)
            .chain(checks)
            .chain(failure)
            .min()
            .map(|t| t.max(self.last_now))
    }
}

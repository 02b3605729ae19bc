//! RFC 3261 §17 transactions: INVITE and non-INVITE, client and server, with the named timers
//! A–K (plus the proxy's Timer C).
//!
//! A transaction is a small state machine driven by its owner (the UA core or the proxy):
//! `on_response`/`on_request`/`respond`/`on_timeout` push [`TxOutput`]s that the owner drains
//! with `poll_output` and acts on (send the message on the transaction's flow, hand a response
//! to the TU). Retransmission timers (A, E, G) run only over unreliable transports; the wait
//! timers D, I, J, K are zero over reliable ones (§17.1.1.2, §17.1.2.2, §17.2.1, §17.2.2).
//!
//! The server INVITE transaction also retransmits a 2xx it sent as a UA (the TU's duty in
//! §13.3.1.4, kept here in the `Accepted` state of RFC 6026) until the TU reports the ACK with
//! [`ServerTransaction::ack_2xx`] or Timer H expires.

use crate::message::{Method, SipMessage};
use sim_core::SimInstant;
use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

/// The RFC 3261 timer values (§17.1.1.1, Table 4), configurable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimerConfig {
    /// T1: RTT estimate, 500 ms.
    pub t1: Duration,
    /// T2: maximum retransmit interval for non-INVITE requests and INVITE responses, 4 s.
    pub t2: Duration,
    /// T4: maximum time a message stays in the network, 5 s.
    pub t4: Duration,
    /// Timer C: proxy INVITE transaction timeout, more than 3 minutes (§16.6 step 11).
    pub timer_c: Duration,
}

impl TimerConfig {
    /// T1 default (500 ms).
    pub const T1: Duration = Duration::from_millis(500);
    /// T2 default (4 s).
    pub const T2: Duration = Duration::from_secs(4);
    /// T4 default (5 s).
    pub const T4: Duration = Duration::from_secs(5);
    /// Timer C default (181 s).
    pub const TIMER_C: Duration = Duration::from_secs(181);

    /// 64·T1: Timers B, F, H and J (32 s by default).
    pub fn t64(&self) -> Duration {
        self.t1 * 64
    }
}

impl Default for TimerConfig {
    fn default() -> Self {
        Self {
            t1: Self::T1,
            t2: Self::T2,
            t4: Self::T4,
            timer_c: Self::TIMER_C,
        }
    }
}

/// The named timers of RFC 3261 (Table 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Timer {
    /// INVITE request retransmit (UDP only), initially T1, doubling (§17.1.1.2).
    A,
    /// INVITE transaction timeout, 64·T1 (§17.1.1.2).
    B,
    /// Proxy INVITE transaction timeout, > 3 min (§16.6).
    C,
    /// Wait time for response retransmissions, ≥ 32 s UDP, 0 TCP (§17.1.1.2).
    D,
    /// Non-INVITE request retransmit (UDP only), T1 doubling to T2 (§17.1.2.2).
    E,
    /// Non-INVITE transaction timeout, 64·T1 (§17.1.2.2).
    F,
    /// INVITE response retransmit (UDP only), T1 doubling to T2 (§17.2.1).
    G,
    /// Wait time for ACK receipt, 64·T1 (§17.2.1).
    H,
    /// Wait time for ACK retransmissions, T4 UDP, 0 TCP (§17.2.1).
    I,
    /// Wait time for non-INVITE request retransmissions, 64·T1 UDP, 0 TCP (§17.2.2).
    J,
    /// Wait time for response retransmissions, T4 UDP, 0 TCP (§17.1.2.2).
    K,
}

/// What a transaction asks its owner to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxOutput {
    /// Send this message on the transaction's flow (a first transmission or a
    /// retransmission).
    Send(SipMessage),
    /// Client: a response for the TU. `local` marks a response the transaction generated
    /// itself (408 on Timer B/F).
    Response {
        /// The response.
        msg: SipMessage,
        /// Generated locally, not received.
        local: bool,
    },
    /// Server INVITE: Timer H fired without an ACK.
    AckTimeout,
    /// Server INVITE: the ACK for a non-2xx final arrived.
    AckReceived,
    /// The transaction ended; the owner may drop it.
    Terminated,
}

/// Matches messages to transactions (§17.1.3, §17.2.3): the top Via branch and the method,
/// with ACK matching its INVITE.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TxKey {
    /// Top Via branch.
    pub branch: String,
    /// Method (ACK folded into INVITE).
    pub method: Method,
}

impl TxKey {
    /// The key of a message: request method or response CSeq method.
    pub fn of(msg: &SipMessage) -> Option<Self> {
        let branch = msg.top_via()?.branch()?.to_string();
        let method = if msg.is_request() {
            msg.method()?.clone()
        } else {
            msg.cseq()?.method
        };
        let method = if method == Method::Ack {
            Method::Invite
        } else {
            method
        };
        Some(Self { branch, method })
    }
}

#[derive(Clone, Debug, Default)]
struct Timers(BTreeMap<Timer, SimInstant>);

impl Timers {
    fn set(&mut self, t: Timer, at: SimInstant) {
        self.0.insert(t, at);
    }
    fn clear(&mut self, t: Timer) {
        self.0.remove(&t);
    }
    fn next(&self) -> Option<SimInstant> {
        self.0.values().min().copied()
    }
    fn take_due(&mut self, now: SimInstant) -> Option<Timer> {
        let (&t, _) = self
            .0
            .iter()
            .filter(|(_, at)| **at <= now)
            .min_by_key(|(_, at)| **at)?;
        self.0.remove(&t);
        Some(t)
    }
    fn is_set(&self, t: Timer) -> bool {
        self.0.contains_key(&t)
    }
}

/// Client transaction states (§17.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientState {
    /// INVITE sent, no response yet.
    Calling,
    /// Non-INVITE sent, no response yet.
    Trying,
    /// A provisional response arrived.
    Proceeding,
    /// A final response arrived (non-2xx for INVITE); absorbing retransmissions.
    Completed,
    /// Done.
    Terminated,
}

/// A client transaction (§17.1).
#[derive(Clone, Debug)]
pub struct ClientTransaction {
    request: SipMessage,
    key: TxKey,
    reliable: bool,
    cfg: TimerConfig,
    state: ClientState,
    timers: Timers,
    interval: Duration,
    ack: Option<SipMessage>,
    out: VecDeque<TxOutput>,
}

impl ClientTransaction {
    /// Starts a transaction for `request` (which must have a top Via with a branch and a
    /// CSeq) and queues its first transmission. `None` for a request without them or for an
    /// ACK (ACK has no client transaction).
    pub fn new(
        now: SimInstant,
        request: SipMessage,
        reliable: bool,
        cfg: TimerConfig,
    ) -> Option<Self> {
        let key = TxKey::of(&request)?;
        let method = request.method()?.clone();
        if method == Method::Ack {
            return None;
        }
        let invite = method == Method::Invite;
        let mut timers = Timers::default();
        if !reliable {
            timers.set(if invite { Timer::A } else { Timer::E }, now + cfg.t1);
        }
        timers.set(if invite { Timer::B } else { Timer::F }, now + cfg.t64());
        let mut out = VecDeque::new();
        out.push_back(TxOutput::Send(request.clone()));
        Some(Self {
            request,
            key,
            reliable,
            cfg,
            state: if invite {
                ClientState::Calling
            } else {
                ClientState::Trying
            },
            timers,
            interval: cfg.t1,
            ack: None,
            out,
        })
    }

    /// Its key.
    pub const fn key(&self) -> &TxKey {
        &self.key
    }

    /// The request it carries.
    pub const fn request(&self) -> &SipMessage {
        &self.request
    }

    /// Its state.
    pub const fn state(&self) -> ClientState {
        self.state
    }

    fn is_invite(&self) -> bool {
        self.key.method == Method::Invite
    }

    /// A response matching this transaction arrived.
    pub fn on_response(&mut self, now: SimInstant, resp: SipMessage) {
        let Some(status) = resp.status() else { return };
        let provisional = status < 200;
        match (self.is_invite(), self.state) {
            (_, ClientState::Terminated) => {}
            (true, ClientState::Calling | ClientState::Proceeding) => {
                self.timers.clear(Timer::A);
                if provisional {
                    self.timers.clear(Timer::B);
                    self.state = ClientState::Proceeding;
                    self.deliver(resp, false);
                } else if status < 300 {
                    self.deliver(resp, false);
                    self.terminate();
                } else {
                    let ack = ack_for(&self.request, &resp);
                    self.out.push_back(TxOutput::Send(ack.clone()));
                    self.ack = Some(ack);
                    self.deliver(resp, false);
                    self.timers.clear(Timer::B);
                    self.state = ClientState::Completed;
                    if self.reliable {
                        self.terminate();
                    } else {
                        self.timers
                            .set(Timer::D, now + Duration::from_secs(32).max(self.cfg.t64()));
                    }
                }
            }
            (true, ClientState::Completed) => {
                if status >= 300
                    && let Some(ack) = &self.ack
                {
                    self.out.push_back(TxOutput::Send(ack.clone()));
                }
            }
            (false, ClientState::Trying | ClientState::Proceeding) => {
                if provisional {
                    self.state = ClientState::Proceeding;
                    self.deliver(resp, false);
                } else {
                    self.deliver(resp, false);
                    self.timers.clear(Timer::E);
                    self.timers.clear(Timer::F);
                    self.state = ClientState::Completed;
                    if self.reliable {
                        self.terminate();
                    } else {
                        self.timers.set(Timer::K, now + self.cfg.t4);
                    }
                }
            }
            (false | true, _) => {}
        }
    }

    fn deliver(&mut self, msg: SipMessage, local: bool) {
        self.out.push_back(TxOutput::Response { msg, local });
    }

    fn terminate(&mut self) {
        if self.state != ClientState::Terminated {
            self.state = ClientState::Terminated;
            self.timers = Timers::default();
            self.out.push_back(TxOutput::Terminated);
        }
    }

    /// Ends the transaction with a locally generated final response (the transport failed).
    pub fn fail(&mut self, status: u16, reason: &str) {
        if matches!(self.state, ClientState::Completed | ClientState::Terminated) {
            return;
        }
        let resp = SipMessage::response_to(&self.request, status, reason, None);
        self.deliver(resp, true);
        self.terminate();
    }

    /// Fires the timers due at `now`.
    pub fn on_timeout(&mut self, now: SimInstant) {
        while let Some(t) = self.timers.take_due(now) {
            match t {
                Timer::A => {
                    self.out.push_back(TxOutput::Send(self.request.clone()));
                    self.interval *= 2;
                    self.timers.set(Timer::A, now + self.interval);
                }
                Timer::E => {
                    self.out.push_back(TxOutput::Send(self.request.clone()));
                    self.interval = if self.state == ClientState::Proceeding {
                        self.cfg.t2
                    } else {
                        (self.interval * 2).min(self.cfg.t2)
                    };
                    self.timers.set(Timer::E, now + self.interval);
                }
                Timer::B | Timer::F => {
                    let resp = SipMessage::response_to(&self.request, 408, "Request Timeout", None);
                    self.deliver(resp, true);
                    self.terminate();
                }
                Timer::D | Timer::K => self.terminate(),
                _ => {}
            }
        }
    }

    /// When a timer is next due.
    pub fn poll_timeout(&self) -> Option<SimInstant> {
        self.timers.next()
    }

    /// The next output.
    pub fn poll_output(&mut self) -> Option<TxOutput> {
        self.out.pop_front()
    }

    /// Whether `t` is armed.
    pub fn timer_armed(&self, t: Timer) -> bool {
        self.timers.is_set(t)
    }
}

/// The ACK for a non-2xx final response (§17.1.1.3).
pub fn ack_for(request: &SipMessage, resp: &SipMessage) -> SipMessage {
    let uri = request.request_uri().unwrap_or("sip:invalid").to_string();
    let mut ack = SipMessage::request(Method::Ack, uri);
    if let Some(v) = request.header_values("Via").first() {
        ack.push_header("Via", *v);
    }
    for r in request.header_values("Route") {
        ack.push_header("Route", r);
    }
    ack.push_header("Max-Forwards", "70");
    if let Some(v) = request.raw_header("From") {
        ack.push_header("From", v);
    }
    if let Some(v) = resp.raw_header("To").or_else(|| request.raw_header("To")) {
        ack.push_header("To", v);
    }
    if let Some(v) = request.call_id() {
        ack.push_header("Call-ID", v);
    }
    if let Some(c) = request.cseq() {
        ack.push_header("CSeq", format!("{} ACK", c.seq));
    }
    ack
}

/// Server transaction states (§17.2, RFC 6026 `Accepted`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerState {
    /// Non-INVITE received, nothing sent.
    Trying,
    /// A provisional was sent (INVITE: from creation).
    Proceeding,
    /// A final (non-2xx for INVITE) was sent.
    Completed,
    /// INVITE: the ACK arrived.
    Confirmed,
    /// INVITE: a 2xx was sent as a UA; retransmitting it until the ACK.
    Accepted,
    /// Done.
    Terminated,
}

/// A server transaction (§17.2).
#[derive(Clone, Debug)]
pub struct ServerTransaction {
    request: SipMessage,
    key: TxKey,
    reliable: bool,
    cfg: TimerConfig,
    state: ServerState,
    timers: Timers,
    interval: Duration,
    last: Option<SipMessage>,
    retransmit_2xx: bool,
    out: VecDeque<TxOutput>,
}

impl ServerTransaction {
    /// A transaction for a new request (not ACK). `retransmit_2xx`: a UA core that wants its
    /// 2xx retransmitted until the ACK (a proxy forwards 2xx statelessly and passes `false`).
    pub fn new(
        request: SipMessage,
        reliable: bool,
        cfg: TimerConfig,
        retransmit_2xx: bool,
    ) -> Option<Self> {
        let key = TxKey::of(&request)?;
        let method = request.method()?.clone();
        if method == Method::Ack {
            return None;
        }
        Some(Self {
            state: if method == Method::Invite {
                ServerState::Proceeding
            } else {
                ServerState::Trying
            },
            request,
            key,
            reliable,
            cfg,
            timers: Timers::default(),
            interval: cfg.t1,
            last: None,
            retransmit_2xx,
            out: VecDeque::new(),
        })
    }

    /// Its key.
    pub const fn key(&self) -> &TxKey {
        &self.key
    }

    /// The request.
    pub const fn request(&self) -> &SipMessage {
        &self.request
    }

    /// Its state.
    pub const fn state(&self) -> ServerState {
        self.state
    }

    /// The last response sent.
    pub const fn last_response(&self) -> Option<&SipMessage> {
        self.last.as_ref()
    }

    fn is_invite(&self) -> bool {
        self.key.method == Method::Invite
    }

    /// Whether a CANCEL can still end it (an INVITE with no final response yet).
    pub fn is_cancellable(&self) -> bool {
        self.is_invite() && self.state == ServerState::Proceeding
    }

    /// The TU sends a response. Ignored after a final response.
    pub fn respond(&mut self, now: SimInstant, resp: SipMessage) {
        let Some(status) = resp.status() else { return };
        let open = matches!(self.state, ServerState::Trying | ServerState::Proceeding);
        if !open {
            return;
        }
        self.out.push_back(TxOutput::Send(resp.clone()));
        self.last = Some(resp);
        if status < 200 {
            self.state = ServerState::Proceeding;
            return;
        }
        if self.is_invite() {
            if status < 300 {
                if self.retransmit_2xx {
                    self.state = ServerState::Accepted;
                    if !self.reliable {
                        self.timers.set(Timer::G, now + self.cfg.t1);
                    }
                    self.timers.set(Timer::H, now + self.cfg.t64());
                } else {
                    self.terminate();
                }
            } else {
                self.state = ServerState::Completed;
                if !self.reliable {
                    self.timers.set(Timer::G, now + self.cfg.t1);
                }
                self.timers.set(Timer::H, now + self.cfg.t64());
            }
        } else {
            self.state = ServerState::Completed;
            if self.reliable {
                self.terminate();
            } else {
                self.timers.set(Timer::J, now + self.cfg.t64());
            }
        }
    }

    /// A request matching this transaction arrived: a retransmission, or the ACK for a
    /// non-2xx final.
    pub fn on_request(&mut self, now: SimInstant, req: &SipMessage) {
        let is_ack = req.method() == Some(&Method::Ack);
        if is_ack {
            if self.state == ServerState::Completed && self.is_invite() {
                self.timers.clear(Timer::G);
                self.timers.clear(Timer::H);
                self.state = ServerState::Confirmed;
                self.out.push_back(TxOutput::AckReceived);
                if self.reliable {
                    self.terminate();
                } else {
                    self.timers.set(Timer::I, now + self.cfg.t4);
                }
            }
            return;
        }
        match self.state {
            ServerState::Proceeding | ServerState::Completed | ServerState::Accepted => {
                if let Some(last) = &self.last {
                    self.out.push_back(TxOutput::Send(last.clone()));
                }
            }
            _ => {}
        }
    }

    /// The TU saw the ACK for the 2xx (matched by dialog, not by branch).
    pub fn ack_2xx(&mut self) {
        if self.state == ServerState::Accepted {
            self.terminate();
        }
    }

    fn terminate(&mut self) {
        if self.state != ServerState::Terminated {
            self.state = ServerState::Terminated;
            self.timers = Timers::default();
            self.out.push_back(TxOutput::Terminated);
        }
    }

    /// Fires the timers due at `now`.
    pub fn on_timeout(&mut self, now: SimInstant) {
        while let Some(t) = self.timers.take_due(now) {
            match t {
                Timer::G => {
                    if let Some(last) = &self.last {
                        self.out.push_back(TxOutput::Send(last.clone()));
                    }
                    self.interval = (self.interval * 2).min(self.cfg.t2);
                    self.timers.set(Timer::G, now + self.interval);
                }
                Timer::H => {
                    self.out.push_back(TxOutput::AckTimeout);
                    self.terminate();
                }
                Timer::I | Timer::J => self.terminate(),
                _ => {}
            }
        }
    }

    /// When a timer is next due.
    pub fn poll_timeout(&self) -> Option<SimInstant> {
        self.timers.next()
    }

    /// The next output.
    pub fn poll_output(&mut self) -> Option<TxOutput> {
        self.out.pop_front()
    }

    /// Whether `t` is armed.
    pub fn timer_armed(&self, t: Timer) -> bool {
        self.timers.is_set(t)
    }
}

#[cfg(test)]
mod tests;

//! The AAE endpoint: the SDK's lifecycle around an embedded SIP user agent, NAT-type detector,
//! and one ICE agent and tunnel per call.

use crate::config::{AaeConfig, MAX_MAX_CALLS, MAX_TUNNEL_PORTS, WATCHDOG_LIMIT, WATCHDOG_PERIOD};
use crate::event::{AaeEvent, EventCode, TunnelType, status};
use crate::media::{RemoteIce, local_media, remote_ice};
use crate::transport::{self, Transport, TransportEvent};
use sha2::{Digest, Sha256};
use sim_core::{
    Addresses, Bind, BindId, Binding, Bound, Datagram, LogEvent, Node, Seed, SimInstant, SimRng,
    StreamEvent, Transmit,
};
use sim_ice::{CandidateKind, IceAgent, IceConfig, IceEvent, Role};
use sim_sip::{Softphone, SoftphoneConfig, SoftphoneEvent};
use sim_stun::{NatDetector, NatDetectorConfig, NatDetectorEvent};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

/// Where the SDK's lifecycle stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lifecycle {
    /// Before init, or after deinit.
    Idle,
    /// `natnl_lib_init` is running (login, registration, NAT-type detection).
    Initialising,
    /// Initialised.
    Ready,
    /// `natnl_lib_deinit` is running (hang-ups, un-registration).
    Deinitialising,
}

/// A registration operation in flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RegOp {
    Init,
    Register,
    Unregister,
    Deinit,
}

/// What a run-time bind is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BindFor {
    Detector,
    Call(u32),
    /// A tunnel port's local listener.
    Listener(u32),
}

#[derive(Debug)]
struct Detector {
    core: NatDetector,
    port: Option<u16>,
}

/// How far a call got.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    /// Waiting for the ICE port.
    Binding,
    /// Gathering candidates.
    Gathering,
    /// INVITE sent (caller) or answer pending (callee), until the ACK.
    Signalling,
    /// ACK done: ICE checks and the tunnel handshake.
    Checking,
    /// Tunnel up.
    Up,
}

#[derive(Debug)]
struct Call {
    outgoing: bool,
    peer: String,
    session: Option<u32>,
    stage: Stage,
    /// A 2xx was received (caller) or sent (callee).
    answered: bool,
    confirmed: bool,
    port: Option<u16>,
    ice: Option<IceAgent>,
    tunnel: Option<Transport>,
    tunnel_type: Option<(TunnelType, String)>,
    deadline: Option<SimInstant>,
    /// The 60105 status already reported (the caller reports make-call failure once).
    failed: Option<u32>,
    /// The remote description arrived before gathering finished (callee).
    remote_pending: bool,
    sent: DataLog,
    received: DataLog,
    /// Bytes `send_data` asked for that the tunnel had no room for yet.
    backlog: u64,
    /// When the received total is next reported (data arrived since the last report).
    report_at: Option<SimInstant>,
    /// Tunnel ports (local, remote), and the local listeners bound so far.
    ports: Vec<(u16, u16)>,
    listeners: Vec<u16>,
}

#[derive(Debug, Default)]
struct DataLog {
    bytes: u64,
    hash: Sha256,
}

impl DataLog {
    fn add(&mut self, data: &[u8]) {
        self.bytes += data.len() as u64;
        self.hash.update(data);
    }

    fn hex(&self) -> String {
        sim_tunnel::hex(&self.hash.clone().finalize())
    }
}

/// A stall of the worker loop (the `stall` fault): inputs wait until it ends.
#[derive(Debug)]
struct Stall {
    since: SimInstant,
    until: SimInstant,
    datagrams: VecDeque<Datagram>,
}

/// pjsip's `PJSIP_MAX_URL_SIZE`: longer URIs are refused.
const MAX_URI_LEN: usize = 256;

/// Characters RFC 3261 §25.1 allows unescaped in a user part.
fn is_user_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-_.!~*'()&=+$,;?/".contains(c)
}

/// Received application data is reported (`tunnel-data`) at most this often per call.
const DATA_REPORT_INTERVAL: Duration = Duration::from_millis(100);

/// Datagrams held during a stall at most (a socket buffer); more are dropped.
const STALL_QUEUE: usize = 4096;

/// The AAE SDK endpoint. See the crate documentation.
#[derive(Debug)]
pub struct AaeEndpoint {
    cfg: AaeConfig,
    seed: Seed,
    rng: SimRng,
    sip: Softphone,
    addresses: Addresses,
    lifecycle: Lifecycle,
    registered: bool,
    reg_op: Option<RegOp>,
    ip_changed: bool,
    detector: Option<Detector>,
    calls: BTreeMap<u32, Call>,
    ended: BTreeSet<u32>,
    last_call: Option<u32>,
    next_call: u32,
    next_bind: u32,
    binds: BTreeMap<BindId, BindFor>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<AaeEvent>,
    stall: Option<Stall>,
    watchdog: Option<SimInstant>,
}

impl AaeEndpoint {
    /// An endpoint with `cfg`; every random choice comes from `seed`.
    pub fn new(cfg: AaeConfig, seed: Seed) -> Self {
        let mut sc = SoftphoneConfig::new(
            &cfg.device_id,
            &cfg.device_ticket,
            &cfg.domain,
            cfg.sip_server,
        );
        sc.local_port = cfg.sip_port;
        sc.transport = cfg.transport;
        sc.rtp_port = 0;
        sc.register_expires = cfg.register_expires;
        sc.keep_alive = crate::config::SIP_KEEP_ALIVE;
        sc.timers = cfg.sip_timers;
        sc.user_agent = "natnl".into();
        sc.max_calls = Some(cfg.max_calls.clamp(1, MAX_MAX_CALLS) as usize);
        let sip = Softphone::new(sc, seed.derive("sip").rng());
        Self {
            rng: seed.derive("aae").rng(),
            cfg,
            seed,
            sip,
            addresses: Addresses::default(),
            lifecycle: Lifecycle::Idle,
            registered: false,
            reg_op: None,
            ip_changed: false,
            detector: None,
            calls: BTreeMap::new(),
            ended: BTreeSet::new(),
            last_call: None,
            next_call: 1,
            next_bind: 1,
            binds: BTreeMap::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            stall: None,
            watchdog: None,
        }
    }

    /// The configuration.
    pub const fn config(&self) -> &AaeConfig {
        &self.cfg
    }

    /// Where the lifecycle stands.
    pub const fn lifecycle(&self) -> Lifecycle {
        self.lifecycle
    }

    /// Calls in progress or up, by call id.
    pub fn calls(&self) -> Vec<u32> {
        self.calls.keys().copied().collect()
    }

    /// Whether the call's tunnel is up.
    pub fn is_up(&self, call: u32) -> bool {
        self.calls.get(&call).is_some_and(|c| c.stage == Stage::Up)
    }

    fn emit(&mut self, code: EventCode, status: Option<u32>, call: Option<u32>, detail: &str) {
        self.events
            .push_back(AaeEvent::sdk(code, status, call).with_detail(detail));
    }

    fn bind(&mut self, what: BindFor) {
        let id = BindId(self.next_bind);
        self.next_bind += 1;
        self.binds.insert(id, what);
        self.transmits.push_back(Transmit::Bind(Bind {
            id,
            binding: Binding::udp(0),
        }));
    }

    // ---- the SDK API ----

    /// `natnl_lib_init`: registration to the relay, NAT-type detection, then 60100; with
    /// `fast_init` 60100 at once.
    pub fn init(&mut self, now: SimInstant) {
        match self.lifecycle {
            Lifecycle::Idle => {}
            Lifecycle::Initialising => {
                self.emit(
                    EventCode::InitFailed,
                    Some(status::INITIALIZING),
                    None,
                    "init already running",
                );
                return;
            }
            Lifecycle::Ready => {
                self.emit(
                    EventCode::InitFailed,
                    Some(status::ALREADY_INITED),
                    None,
                    "already initialised",
                );
                return;
            }
            Lifecycle::Deinitialising => {
                self.emit(
                    EventCode::InitFailed,
                    Some(status::DE_INITIALIZING),
                    None,
                    "deinit running",
                );
                return;
            }
        }
        self.ip_changed = false;
        self.ended.clear();
        self.last_call = None;
        self.watchdog = Some(now + WATCHDOG_PERIOD);
        if self.cfg.fast_init {
            self.lifecycle = Lifecycle::Ready;
            self.emit(EventCode::InitOk, None, None, "fast_init");
            return;
        }
        self.lifecycle = Lifecycle::Initialising;
        self.reg_op = Some(RegOp::Init);
        let _ = self.sip.register(now);
        self.pump(now);
    }

    /// `natnl_lib_deinit`: hangs up every call, un-registers, then 60102.
    pub fn deinit(&mut self, now: SimInstant) {
        let refused = match self.lifecycle {
            Lifecycle::Idle => Some((status::NOT_INITED, "not initialised")),
            Lifecycle::Initialising => Some((status::INITIALIZING, "init still running")),
            Lifecycle::Deinitialising => Some((status::DE_INITIALIZING, "deinit already running")),
            Lifecycle::Ready => None,
        };
        if let Some((code, why)) = refused {
            self.emit(EventCode::DeinitFailed, Some(code), None, why);
            return;
        }
        let ids: Vec<u32> = self.calls.keys().copied().collect();
        for id in ids {
            self.local_hangup(now, id, false);
        }
        self.lifecycle = Lifecycle::Deinitialising;
        if self.registered {
            self.reg_op = Some(RegOp::Deinit);
            self.sip.unregister(now);
        } else {
            self.finish_deinit();
        }
        self.pump(now);
    }

    fn finish_deinit(&mut self) {
        self.lifecycle = Lifecycle::Idle;
        self.reg_op = None;
        self.registered = false;
        self.watchdog = None;
        self.emit(EventCode::DeinitOk, None, None, "");
    }

    /// `natnl_reg_device`.
    pub fn register(&mut self, now: SimInstant) {
        if self.start_registration("natnl_reg_device", RegOp::Register) {
            let _ = self.sip.register(now);
            self.pump(now);
        }
    }

    /// `natnl_unreg_device`.
    pub fn unregister(&mut self, now: SimInstant) {
        if self.start_registration("natnl_unreg_device", RegOp::Unregister) {
            self.sip.unregister(now);
            self.pump(now);
        }
    }

    /// Claims the registration slot for `op`, or logs why `function` is refused: another
    /// registration in progress (70011), else the SDK's state.
    fn start_registration(&mut self, function: &'static str, op: RegOp) -> bool {
        if self.reg_op.is_some() {
            self.refuse(function, status::PJ_EBUSY, "a registration is in progress");
            return false;
        }
        if let Some(code) = self.api_refusal() {
            self.refuse(function, code, "SDK not ready");
            return false;
        }
        self.reg_op = Some(op);
        true
    }

    fn refuse(&mut self, function: &'static str, code: u32, reason: &str) {
        self.events.push_back(AaeEvent::Refused {
            function,
            status: code,
            reason: reason.to_string(),
        });
    }

    /// The status an API call is refused with in the current state, if any.
    fn api_refusal(&self) -> Option<u32> {
        match self.lifecycle {
            Lifecycle::Idle => Some(status::NOT_INITED),
            Lifecycle::Initialising => Some(status::INITIALIZING),
            Lifecycle::Deinitialising => Some(status::DE_INITIALIZING),
            Lifecycle::Ready if self.ip_changed => Some(status::IP_CHANGED),
            Lifecycle::Ready => None,
        }
    }

    /// `natnl_make_call(device_id, ports, timeout_sec)`: a tunnel to `callee`; `timeout`
    /// zero waits forever. Returns the call id, or `None` when refused (60105 reports why).
    pub fn make_call(
        &mut self,
        now: SimInstant,
        callee: &str,
        ports: &[(u16, u16)],
        timeout: Duration,
    ) -> Option<u32> {
        let refusal = self
            .api_refusal()
            .map(|c| (c, "SDK not ready"))
            .or_else(|| {
                if callee.is_empty() {
                    Some((status::PJ_EINVAL, "empty device id"))
                } else if !callee.chars().all(is_user_char) {
                    Some((
                        status::PJSIP_EINVALIDURI,
                        "the device id is not a valid SIP user part",
                    ))
                } else if format!("sip:{callee}@{}", self.cfg.domain).len() > MAX_URI_LEN {
                    Some((
                        status::PJSIP_EURITOOLONG,
                        "the callee URI is longer than PJSIP_MAX_URL_SIZE",
                    ))
                } else if ports.len() > MAX_TUNNEL_PORTS {
                    Some((
                        status::PJ_EINVAL,
                        "more than MAX_TUNNEL_PORT_COUNT (8) tunnel ports",
                    ))
                } else if self.calls.values().any(|c| c.outgoing) {
                    Some((
                        status::TNL_ANOTHER_CALL_ALREADY_MADE,
                        "a tunnel is already made from this instance",
                    ))
                } else {
                    None
                }
            });
        if let Some((code, why)) = refusal {
            self.emit(EventCode::MakeCallFailed, Some(code), None, why);
            return None;
        }
        let id = self.next_call;
        for &(lport, _) in ports {
            let bind = BindId(self.next_bind);
            self.next_bind += 1;
            self.binds.insert(bind, BindFor::Listener(id));
            self.transmits.push_back(Transmit::Bind(Bind {
                id: bind,
                binding: Binding::tcp(lport),
            }));
        }
        let id = self.new_call(true, callee.to_string(), None);
        if let Some(c) = self.calls.get_mut(&id) {
            c.deadline = (!timeout.is_zero()).then(|| now + timeout);
            c.ports = ports.to_vec();
        }
        self.pump(now);
        Some(id)
    }

    fn new_call(&mut self, outgoing: bool, peer: String, session: Option<u32>) -> u32 {
        let id = self.next_call;
        self.next_call += 1;
        self.calls.insert(
            id,
            Call {
                outgoing,
                peer,
                session,
                stage: Stage::Binding,
                answered: false,
                confirmed: false,
                port: None,
                ice: None,
                tunnel: None,
                tunnel_type: None,
                deadline: None,
                failed: None,
                remote_pending: false,
                sent: DataLog::default(),
                received: DataLog::default(),
                backlog: 0,
                report_at: None,
                ports: Vec::new(),
                listeners: Vec::new(),
            },
        );
        self.last_call = Some(id);
        self.bind(BindFor::Call(id));
        id
    }

    /// `natnl_hangup_call` on the most recent call.
    pub fn hangup(&mut self, now: SimInstant) {
        if self.lifecycle == Lifecycle::Idle {
            self.emit(
                EventCode::HangupFailed,
                Some(status::NOT_INITED),
                None,
                "not initialised",
            );
            return;
        }
        match self.last_call {
            Some(id) if self.calls.contains_key(&id) => {
                self.local_hangup(now, id, true);
                self.pump(now);
            }
            Some(id) if self.ended.contains(&id) => self.emit(
                EventCode::HangupFailed,
                Some(status::PJSIP_ESESSIONTERMINATED),
                Some(id),
                "the call already ended",
            ),
            _ => self.emit(
                EventCode::HangupFailed,
                Some(status::PJ_EINVAL),
                None,
                "no such call",
            ),
        }
    }

    /// `natnl_send_instant_msg` to `device_id`.
    pub fn send_instant_message(&mut self, now: SimInstant, device_id: &str, text: &str) {
        if let Some(code) = self.api_refusal() {
            self.refuse("natnl_send_instant_msg", code, "SDK not ready");
            return;
        }
        let _ = self.sip.send_message(now, device_id, text);
        self.pump(now);
    }

    /// The application writes `bytes` seeded bytes into the most recent tunnel (what it
    /// would send to the tunnel's local port).
    pub fn send_data(&mut self, now: SimInstant, bytes: u64) {
        let up = self.last_call.filter(|id| self.is_up(*id)).or_else(|| {
            self.calls
                .iter()
                .find(|(_, c)| c.stage == Stage::Up)
                .map(|(id, _)| *id)
        });
        let Some(id) = up else {
            self.events.push_back(AaeEvent::DataDropped {
                bytes,
                reason: "no tunnel is up".into(),
            });
            return;
        };
        if let Some(c) = self.calls.get_mut(&id) {
            c.backlog += bytes;
        }
        self.flush(now, id);
        self.pump(now);
    }

    /// Writes as much of a call's backlog as the tunnel takes.
    fn flush(&mut self, now: SimInstant, id: u32) {
        let Some(c) = self.calls.get_mut(&id) else {
            return;
        };
        let Some(t) = c.tunnel.as_mut() else {
            return;
        };
        let before = c.sent.bytes;
        while c.backlog > 0 {
            let n = c.backlog.min(16 * 1024) as usize;
            let mut chunk = vec![0u8; n];
            fill(&mut self.rng, &mut chunk);
            let taken = t.write(now, &chunk);
            c.sent.add(&chunk[..taken]);
            c.backlog -= taken as u64;
            if taken < n {
                // The rest of this chunk is regenerated later; keep the digest honest by
                // counting only what the tunnel took.
                break;
            }
        }
        if c.sent.bytes != before && c.backlog == 0 {
            let (bytes, sha256) = (c.sent.bytes, c.sent.hex());
            self.events.push_back(AaeEvent::DataSent {
                call: id,
                bytes,
                sha256,
            });
        }
    }

    /// The `stall` fault: the worker loop stops turning for `duration` (inputs wait, timers
    /// are late); the watchdog reports 60114 while it lasts beyond 60 s.
    pub fn stall(&mut self, now: SimInstant, duration: Duration) {
        let until = now + duration;
        match self.stall.as_mut() {
            Some(s) => s.until = s.until.max(until),
            None => {
                self.stall = Some(Stall {
                    since: now,
                    until,
                    datagrams: VecDeque::new(),
                });
            }
        }
    }

    // ---- calls ----

    /// Removes an ending call, reporting the data it received since the last report.
    fn take_call(&mut self, id: u32) -> Option<Call> {
        let mut c = self.calls.remove(&id)?;
        self.ended.insert(id);
        if let Some(port) = c.port.take() {
            self.transmits
                .push_back(Transmit::Unbind(Binding::udp(port)));
        }
        for port in c.listeners.drain(..) {
            self.transmits
                .push_back(Transmit::Unbind(Binding::tcp(port)));
        }
        if let Some(report) = data_report(id, &mut c) {
            self.events.push_back(report);
        }
        Some(c)
    }

    fn local_hangup(&mut self, now: SimInstant, id: u32, api: bool) {
        let Some(mut c) = self.take_call(id) else {
            return;
        };
        close(now, &mut c);
        let Some(session) = c.session else {
            // Still gathering: the ICE session is cancelled before any INVITE.
            let why = "hung up while gathering candidates";
            self.emit(EventCode::Null, Some(status::PJ_ECANCELLED), Some(id), why);
            if c.outgoing {
                self.emit(
                    EventCode::MakeCallFailed,
                    Some(status::PJ_ECANCELLED),
                    Some(id),
                    why,
                );
            }
            if api {
                self.emit(EventCode::HangupOk, None, Some(id), "");
            }
            return;
        };
        let _ = self.sip.hangup(now, session);
        self.emit(EventCode::Disconnected, None, Some(id), "local hang-up");
        if c.stage == Stage::Up {
            self.emit(EventCode::TunnelStop, None, Some(id), "local hang-up");
        }
        if api {
            self.emit(EventCode::HangupOk, None, Some(id), "");
        }
    }

    /// A call failed while being set up: the caller reports 6 and 60105 with `code`, the
    /// callee 6. The SIP session is ended (BYE, or CANCEL before an answer).
    fn fail_call(&mut self, now: SimInstant, id: u32, code: u32, why: &str) {
        let Some(mut c) = self.take_call(id) else {
            return;
        };
        close(now, &mut c);
        let answered = c.answered || c.confirmed || c.stage >= Stage::Checking;
        if c.session.is_none() {
            // No INVITE went out: the call never left the NULL state.
            self.emit(EventCode::Null, Some(code), Some(id), why);
            if c.outgoing {
                self.emit(EventCode::MakeCallFailed, Some(code), Some(id), why);
            }
            return;
        }
        if let Some(s) = c.session {
            let _ = self.sip.hangup(now, s);
        }
        if c.outgoing && !answered && c.session.is_some() {
            // CANCEL sent: the INVITE's 487 (or its Timer B) ends the session and gives 6.
            self.emit(EventCode::MakeCallFailed, Some(code), Some(id), why);
            c.failed = Some(code);
            c.ice = None;
            c.tunnel = None;
            self.calls.insert(id, c);
            self.ended.remove(&id);
            return;
        }
        self.emit(EventCode::Disconnected, Some(code), Some(id), why);
        if c.outgoing {
            self.emit(EventCode::MakeCallFailed, Some(code), Some(id), why);
        }
    }

    /// The tunnel stopped by itself (keep-alive or idle timeout): `event`, 60004, then the
    /// SDK hangs up (6).
    fn tunnel_timeout(&mut self, now: SimInstant, id: u32, event: EventCode, detail: &str) {
        let Some(mut c) = self.take_call(id) else {
            return;
        };
        close(now, &mut c);
        if let Some(s) = c.session {
            let _ = self.sip.hangup(now, s);
        }
        self.emit(event, None, Some(id), detail);
        self.emit(EventCode::TunnelStop, None, Some(id), detail);
        let hangup = match event {
            EventCode::IdleTimeout => format!(
                "NATNL_SC_IDLE_TIMEOUT ({}, undocumented)",
                status::IDLE_TIMEOUT_UNDOCUMENTED
            ),
            _ => format!(
                "NATNL_SC_TNL_TIMEOUT ({}, undocumented)",
                status::TNL_TIMEOUT_UNDOCUMENTED
            ),
        };
        self.emit(EventCode::Disconnected, None, Some(id), &hangup);
    }

    fn call_of_session(&self, session: u32) -> Option<u32> {
        self.calls
            .iter()
            .find(|(_, c)| c.session == Some(session))
            .map(|(id, _)| *id)
    }

    fn on_bound(&mut self, now: SimInstant, what: BindFor, bound: Bound) {
        match what {
            BindFor::Detector => {
                let Some(d) = self.detector.as_mut() else {
                    return;
                };
                match bound.result {
                    Ok(addr) => {
                        d.port = Some(addr.port());
                        d.core.handle_bound(
                            now,
                            Bound {
                                id: None,
                                binding: Binding::udp(0),
                                result: Ok(addr),
                            },
                        );
                        d.core.handle_start(now, self.addresses);
                    }
                    Err(e) => {
                        self.detector = None;
                        self.emit(
                            EventCode::NatTypeDetected,
                            None,
                            None,
                            &format!("nat_type=1 ERR_UNKNOWN: no socket ({e})"),
                        );
                        self.init_done();
                    }
                }
            }
            BindFor::Listener(id) => match bound.result {
                Ok(addr) => match self.calls.get_mut(&id) {
                    Some(c) => c.listeners.push(addr.port()),
                    None => self
                        .transmits
                        .push_back(Transmit::Unbind(Binding::tcp(addr.port()))),
                },
                Err(e) => self.fail_call(
                    now,
                    id,
                    status::TNL_CREATE_SOCK_FAILED,
                    &format!("tunnel port {}: {e}", bound.binding.port),
                ),
            },
            BindFor::Call(id) => {
                let Ok(addr) = bound.result else {
                    self.fail_call(
                        now,
                        id,
                        status::TNL_CREATE_SOCK_FAILED,
                        "no socket for the tunnel",
                    );
                    return;
                };
                let Some(c) = self.calls.get_mut(&id) else {
                    self.transmits
                        .push_back(Transmit::Unbind(Binding::udp(addr.port())));
                    return;
                };
                let role = if c.outgoing {
                    Role::Controlling
                } else {
                    Role::Controlled
                };
                let mut ic = IceConfig::new(addr.port(), role);
                ic.stun_servers = self.cfg.stun_server.into_iter().collect();
                ic.turn.clone_from(&self.cfg.turn);
                ic.timers = self.cfg.ice_timers;
                ic.policy = self.cfg.ice_policy;
                let seed = self.seed.derive(&format!("call/{id}"));
                match IceAgent::new(ic, seed) {
                    Ok(mut agent) => {
                        agent.handle_bound(
                            now,
                            Bound {
                                id: None,
                                binding: Binding::udp(addr.port()),
                                result: Ok(addr),
                            },
                        );
                        agent.handle_start(now, self.addresses);
                        c.port = Some(addr.port());
                        c.ice = Some(agent);
                        c.stage = Stage::Gathering;
                    }
                    Err(e) => {
                        c.port = Some(addr.port());
                        self.fail_call(
                            now,
                            id,
                            status::TNL_CREATE_SOCK_FAILED,
                            &format!("ICE session not created: {e}"),
                        );
                    }
                }
            }
        }
    }

    fn on_sip(&mut self, now: SimInstant, e: SoftphoneEvent) {
        use SoftphoneEvent as E;
        match e {
            E::RegisterSuccess { status, .. } => {
                let op = self.reg_op.take();
                if !self.registered {
                    self.registered = true;
                    self.emit(EventCode::SipReg, Some(u32::from(status)), None, "");
                    self.emit(EventCode::RegOk, Some(u32::from(status)), None, "");
                }
                if op == Some(RegOp::Init) {
                    self.start_detection(now);
                }
            }
            E::RegisterFailure { status, reason } => {
                let op = self.reg_op.take();
                self.registered = false;
                let code = u32::from(status);
                self.emit(EventCode::RegFailed, Some(code), None, &reason);
                if op == Some(RegOp::Init) {
                    let init = match status {
                        401 | 407 => status::PJSIP_EFAILEDCREDENTIAL,
                        408 => status::CONNECT_TO_SIP_TIMEOUT,
                        _ => code,
                    };
                    self.lifecycle = Lifecycle::Idle;
                    self.watchdog = None;
                    self.emit(
                        EventCode::InitFailed,
                        Some(init),
                        None,
                        &format!("registration failed: {status} {reason}"),
                    );
                }
            }
            E::RegisterRetry { .. } => {}
            E::Unregistered { status } => {
                let op = self.reg_op.take();
                self.registered = false;
                if status / 100 == 2 {
                    self.emit(EventCode::SipUnreg, Some(u32::from(status)), None, "");
                    self.emit(EventCode::UnregOk, Some(u32::from(status)), None, "");
                } else {
                    self.emit(EventCode::UnregFailed, Some(u32::from(status)), None, "");
                }
                if op == Some(RegOp::Deinit) {
                    self.finish_deinit();
                }
            }
            E::InviteIncoming {
                session, caller, ..
            } => {
                if self.lifecycle != Lifecycle::Ready {
                    let _ = self.sip.reject(now, session, 480);
                    return;
                }
                let peer = caller
                    .strip_prefix("sip:")
                    .and_then(|u| u.split('@').next())
                    .unwrap_or(&caller)
                    .to_string();
                let id = self.new_call(false, peer.clone(), Some(session));
                let detail = format!("from {peer}");
                self.emit(EventCode::Incoming, None, Some(id), &detail);
                self.emit(EventCode::Early, None, Some(id), "180 sent");
                if let Some(c) = self.calls.get_mut(&id) {
                    c.remote_pending = true;
                }
            }
            E::InviteRinging { session, status } => {
                if let Some(id) = self.call_of_session(session) {
                    self.emit(
                        EventCode::Early,
                        Some(u32::from(status)),
                        Some(id),
                        "provisional received",
                    );
                }
            }
            E::InviteSessionProgress { session, .. } => {
                if let Some(id) = self.call_of_session(session) {
                    self.emit(
                        EventCode::Early,
                        Some(183),
                        Some(id),
                        "provisional received",
                    );
                }
            }
            E::InviteAnswered {
                session, status, ..
            } => {
                let Some(id) = self.call_of_session(session) else {
                    return;
                };
                if let Some(c) = self.calls.get_mut(&id) {
                    c.answered = true;
                }
                self.emit(EventCode::Connecting, Some(u32::from(status)), Some(id), "");
                self.apply_remote(now, id);
            }
            E::InviteConnected { session } => {
                let Some(id) = self.call_of_session(session) else {
                    return;
                };
                if let Some(c) = self.calls.get_mut(&id) {
                    c.confirmed = true;
                    if c.stage < Stage::Checking {
                        c.stage = Stage::Checking;
                    }
                }
                let what = if self.calls.get(&id).is_some_and(|c| c.outgoing) {
                    "ACK sent"
                } else {
                    "ACK received"
                };
                self.emit(EventCode::Confirmed, None, Some(id), what);
            }
            E::InviteFailure {
                session,
                status,
                reason,
            } => {
                let Some(id) = self.call_of_session(session) else {
                    return;
                };
                let Some(mut c) = self.take_call(id) else {
                    return;
                };
                close(now, &mut c);
                let code = u32::from(status);
                self.emit(EventCode::Disconnected, Some(code), Some(id), &reason);
                if c.outgoing && c.failed.is_none() {
                    self.emit(EventCode::MakeCallFailed, Some(code), Some(id), &reason);
                }
            }
            E::InviteClosed { session } => {
                let Some(id) = self.call_of_session(session) else {
                    return;
                };
                let Some(mut c) = self.take_call(id) else {
                    return;
                };
                close(now, &mut c);
                if !c.outgoing && !c.confirmed && c.stage < Stage::Checking {
                    // CANCEL before the answer: the INVITE was answered 487.
                    self.emit(
                        EventCode::Disconnected,
                        Some(487),
                        Some(id),
                        "cancelled by the caller",
                    );
                    return;
                }
                self.emit(EventCode::Disconnected, None, Some(id), "BYE received");
                if c.stage == Stage::Up {
                    self.emit(EventCode::TunnelStop, None, Some(id), "remote hang-up");
                } else if c.outgoing && c.failed.is_none() {
                    self.emit(
                        EventCode::MakeCallFailed,
                        None,
                        Some(id),
                        "the callee ended the call before the tunnel was up",
                    );
                }
            }
            _ => {}
        }
    }

    fn start_detection(&mut self, now: SimInstant) {
        let Some(server) = self.cfg.stun_server else {
            self.init_done();
            return;
        };
        let mut dc = NatDetectorConfig::new(server);
        dc.mapping_first = true;
        dc.second_server = self.cfg.second_stun_server;
        self.detector = Some(Detector {
            core: NatDetector::new(dc, self.seed.derive("detector")),
            port: None,
        });
        self.bind(BindFor::Detector);
        let _ = now;
    }

    /// Releases the detector's socket once detection and the legacy check (if any) are over.
    fn drop_detector_when_done(&mut self) {
        let done = self.detector.as_ref().is_some_and(|d| {
            d.core.report().is_some()
                && (self.cfg.second_stun_server.is_none()
                    || d.core.mapped_address_check().is_some())
        });
        if done
            && let Some(d) = self.detector.take()
            && let Some(port) = d.port
        {
            self.transmits
                .push_back(Transmit::Unbind(Binding::udp(port)));
        }
    }

    fn init_done(&mut self) {
        if self.lifecycle == Lifecycle::Initialising {
            self.lifecycle = Lifecycle::Ready;
            self.emit(EventCode::InitOk, None, None, "");
        }
    }

    fn on_detector(&mut self, e: NatDetectorEvent) {
        match &e {
            NatDetectorEvent::Detected(_) | NatDetectorEvent::Failed(_) => {
                let log = LogEvent::from(&e);
                self.emit(
                    EventCode::NatTypeDetected,
                    log.status,
                    None,
                    log.detail.as_deref().unwrap_or(""),
                );
                self.init_done();
                self.drop_detector_when_done();
            }
            NatDetectorEvent::MappedAddressChecked(_) => {
                self.events
                    .push_back(AaeEvent::Detector(LogEvent::from(&e)));
                self.drop_detector_when_done();
            }
        }
    }

    /// The peer's description is in: start the checks (caller on the answer, callee once it
    /// has gathered and answered).
    fn apply_remote(&mut self, now: SimInstant, id: u32) {
        let Some(c) = self.calls.get(&id) else {
            return;
        };
        let Some(sdp) = c.session.and_then(|s| self.sip.remote_sdp(s)) else {
            self.fail_call(now, id, 370_090, "no SDP from the peer");
            return;
        };
        match remote_ice(sdp) {
            RemoteIce::MissingAttributes => {
                self.fail_call(now, id, 370_090, "no ICE attributes in the peer's SDP");
            }
            RemoteIce::Mismatch(default) => {
                self.fail_call(
                    now,
                    id,
                    370_083,
                    &format!("default destination {default} matches no candidate"),
                );
            }
            RemoteIce::Ice(creds, candidates) => {
                if let Some(c) = self.calls.get_mut(&id)
                    && let Some(agent) = c.ice.as_mut()
                {
                    let _ = agent.set_remote(now, &creds, &candidates);
                }
            }
        }
    }

    fn on_ice(&mut self, now: SimInstant, id: u32, e: IceEvent) {
        match e {
            IceEvent::GatheringDone { candidates } => {
                let Some(c) = self.calls.get_mut(&id) else {
                    return;
                };
                let Some(agent) = c.ice.as_ref() else {
                    return;
                };
                let media = local_media(agent.local_credentials(), &candidates);
                c.stage = Stage::Signalling;
                if c.outgoing {
                    let peer = c.peer.clone();
                    match self.sip.call_with_media(now, &peer, &[], media) {
                        Ok(session) => {
                            if let Some(c) = self.calls.get_mut(&id) {
                                c.session = Some(session);
                            }
                            self.emit(
                                EventCode::Calling,
                                None,
                                Some(id),
                                &format!("INVITE to {peer}"),
                            );
                        }
                        Err(err) => {
                            self.fail_call(now, id, status::PJ_EINVAL, &err.reason);
                        }
                    }
                } else if let Some(session) = c.session {
                    if let Some(m) = media {
                        let _ = self.sip.set_local_media(session, m);
                    }
                    if self.sip.answer_call(now, session).is_ok() {
                        if let Some(c) = self.calls.get_mut(&id) {
                            c.answered = true;
                        }
                        self.emit(EventCode::Connecting, Some(200), Some(id), "200 sent");
                        self.apply_remote(now, id);
                    }
                }
            }
            IceEvent::Connected { local, remote } => {
                let Some(c) = self.calls.get_mut(&id) else {
                    return;
                };
                let relayed = [local.kind, remote.kind].contains(&CandidateKind::Relay);
                c.tunnel_type = Some(if relayed {
                    let relay = if local.kind == CandidateKind::Relay {
                        local.addr
                    } else {
                        remote.addr
                    };
                    (TunnelType::Turn, format!(" turn_mapped={relay}"))
                } else {
                    (TunnelType::Udp, String::new())
                });
                let tc = transport::config(&self.cfg);
                let seed = self.seed.derive(&format!("tunnel/{id}"));
                match Transport::new(now, c.outgoing, tc, seed) {
                    Ok(t) => c.tunnel = Some(t),
                    Err(e) => self.fail_call(
                        now,
                        id,
                        status::UDT_CONNECT_FAILED,
                        &format!("tunnel not created: {e}"),
                    ),
                }
            }
            IceEvent::Failed { status, reason } => {
                self.fail_call(now, id, status.0, &reason);
            }
            _ => {}
        }
    }

    fn on_tunnel(&mut self, now: SimInstant, id: u32, e: TransportEvent) {
        match e {
            TransportEvent::Connected => {
                let Some(c) = self.calls.get_mut(&id) else {
                    return;
                };
                c.stage = Stage::Up;
                c.deadline = None;
                let (kind, extra) = c
                    .tunnel_type
                    .clone()
                    .unwrap_or((TunnelType::Udp, String::new()));
                let detail = format!("tnl_type={} {}{extra}", kind as u32, kind.name());
                let outgoing = c.outgoing;
                self.emit(EventCode::TunnelStart, None, Some(id), &detail);
                if outgoing {
                    self.emit(EventCode::MakeCallOk, None, Some(id), &detail);
                }
            }
            TransportEvent::ConnectFailed(why) => {
                self.fail_call(now, id, status::UDT_CONNECT_FAILED, &why);
            }
            TransportEvent::Data(data) => {
                let Some(c) = self.calls.get_mut(&id) else {
                    return;
                };
                c.received.add(&data);
                c.report_at.get_or_insert(now + DATA_REPORT_INTERVAL);
            }
            TransportEvent::Writable => self.flush(now, id),
            TransportEvent::KeepAliveTimeout(why) => {
                self.tunnel_timeout(now, id, EventCode::KaTimeout, &why);
            }
            TransportEvent::IdleTimeout(why) => {
                self.tunnel_timeout(now, id, EventCode::IdleTimeout, &why);
            }
            TransportEvent::Other(_) => {}
        }
    }

    /// Moves every sub-core's output into this endpoint's queues and reacts to their events,
    /// until nothing moves.
    fn pump(&mut self, now: SimInstant) {
        loop {
            let mut moved = false;
            while let Some(t) = self.sip.poll_transmit() {
                self.transmits.push_back(t);
                moved = true;
            }
            while let Some(e) = self.sip.poll_event() {
                self.on_sip(now, e);
                moved = true;
            }
            if let Some(d) = self.detector.as_mut() {
                let mut out = Vec::new();
                while let Some(t) = d.core.poll_transmit() {
                    out.push(t);
                }
                let mut evs = Vec::new();
                while let Some(e) = d.core.poll_event() {
                    evs.push(e);
                }
                moved |= !out.is_empty() || !evs.is_empty();
                self.transmits.extend(out);
                for e in evs {
                    self.on_detector(e);
                }
            }
            let ids: Vec<u32> = self.calls.keys().copied().collect();
            for id in ids {
                moved |= self.pump_call(now, id);
            }
            if !moved {
                break;
            }
        }
    }

    fn pump_call(&mut self, now: SimInstant, id: u32) -> bool {
        let Some(c) = self.calls.get_mut(&id) else {
            return false;
        };
        let mut moved = false;
        let mut ice_events = Vec::new();
        let mut tunnel_events = Vec::new();
        if let Some(agent) = c.ice.as_mut() {
            while let Some(data) = agent.poll_data() {
                if let Some(t) = c.tunnel.as_mut() {
                    t.handle_packet(now, &data);
                }
                moved = true;
            }
            if let Some(t) = c.tunnel.as_mut() {
                while let Some(p) = t.poll_packet() {
                    let _ = agent.send(now, p);
                    moved = true;
                }
                while let Some(e) = t.poll_event() {
                    tunnel_events.push(e);
                }
            }
            while let Some(t) = agent.poll_transmit() {
                self.transmits.push_back(t);
                moved = true;
            }
            while let Some(e) = agent.poll_event() {
                ice_events.push(e);
            }
        }
        moved |= !ice_events.is_empty() || !tunnel_events.is_empty();
        for e in ice_events {
            self.events.push_back(AaeEvent::Inner {
                call: id,
                log: LogEvent::from(&e),
            });
            self.on_ice(now, id, e);
        }
        for e in tunnel_events {
            if let Some(log) = e.log() {
                self.events.push_back(AaeEvent::Inner { call: id, log });
            }
            self.on_tunnel(now, id, e);
        }
        moved
    }

    fn process_datagram(&mut self, now: SimInstant, d: Datagram) {
        let port = d.dst.port();
        if let Some(det) = self.detector.as_mut()
            && det.port == Some(port)
        {
            det.core.handle_datagram(now, d);
        } else if let Some(c) = self.calls.values_mut().find(|c| c.port == Some(port)) {
            if let Some(agent) = c.ice.as_mut() {
                agent.handle_datagram(now, d);
            }
        } else {
            self.sip.handle_datagram(now, d);
        }
        self.pump(now);
    }

    fn run_timers(&mut self, now: SimInstant) {
        if self.sip.poll_timeout().is_some_and(|t| t <= now) {
            self.sip.handle_timeout(now);
        }
        if let Some(d) = self.detector.as_mut()
            && d.core.poll_timeout().is_some_and(|t| t <= now)
        {
            d.core.handle_timeout(now);
        }
        let ids: Vec<u32> = self.calls.keys().copied().collect();
        for id in &ids {
            let Some(c) = self.calls.get_mut(id) else {
                continue;
            };
            if let Some(agent) = c.ice.as_mut()
                && agent.poll_timeout().is_some_and(|t| t <= now)
            {
                agent.handle_timeout(now);
            }
            if let Some(t) = c.tunnel.as_mut()
                && t.poll_timeout().is_some_and(|t| t <= now)
            {
                t.handle_timeout(now);
            }
        }
        self.pump(now);
        for (id, c) in &mut self.calls {
            if c.report_at.is_some_and(|t| t <= now)
                && let Some(report) = data_report(*id, c)
            {
                self.events.push_back(report);
            }
        }
        for id in ids {
            let due = self
                .calls
                .get(&id)
                .and_then(|c| c.deadline)
                .is_some_and(|t| t <= now);
            if due {
                if let Some(c) = self.calls.get_mut(&id) {
                    c.deadline = None;
                }
                self.fail_call(
                    now,
                    id,
                    status::MAKE_CALL_TIMEOUT,
                    "make call did not finish within timeout_sec",
                );
            }
        }
        self.pump(now);
    }
}

/// The received total of a call, if data arrived since the last report.
fn data_report(id: u32, c: &mut Call) -> Option<AaeEvent> {
    c.report_at.take()?;
    Some(AaeEvent::Data {
        call: id,
        bytes: c.received.bytes,
        sha256: c.received.hex(),
    })
}

fn close(now: SimInstant, c: &mut Call) {
    if let Some(t) = c.tunnel.as_mut() {
        t.close(now);
    }
    if let Some(agent) = c.ice.as_mut() {
        agent.close(now);
    }
}

fn fill(rng: &mut SimRng, buf: &mut [u8]) {
    use rand_core::RngCore as _;
    rng.fill_bytes(buf);
}

impl Node for AaeEndpoint {
    type Event = AaeEvent;

    fn bindings(&self) -> Vec<Binding> {
        self.sip.bindings()
    }

    fn handle_start(&mut self, now: SimInstant, addresses: Addresses) {
        self.addresses = addresses;
        self.sip.handle_start(now, addresses);
        self.pump(now);
    }

    fn handle_address_change(&mut self, now: SimInstant, old: Addresses, new: Addresses) {
        self.addresses = new;
        self.sip.handle_address_change(now, old, new);
        for c in self.calls.values_mut() {
            if let Some(agent) = c.ice.as_mut() {
                agent.handle_address_change(now, old, new);
            }
        }
        if self.lifecycle != Lifecycle::Idle {
            self.ip_changed = true;
            let show = |a: Addresses| {
                a.primary()
                    .map_or_else(|| "none".into(), |ip| ip.to_string())
            };
            self.emit(
                EventCode::IpChanged,
                None,
                None,
                &format!("{} -> {}", show(old), show(new)),
            );
        }
        self.pump(now);
    }

    fn handle_bound(&mut self, now: SimInstant, bound: Bound) {
        match bound.id.and_then(|id| self.binds.remove(&id)) {
            Some(what) => self.on_bound(now, what, bound),
            None => self.sip.handle_bound(now, bound),
        }
        self.pump(now);
    }

    fn handle_datagram(&mut self, now: SimInstant, datagram: Datagram) {
        if let Some(s) = self.stall.as_mut() {
            if s.datagrams.len() < STALL_QUEUE {
                s.datagrams.push_back(datagram);
            }
            return;
        }
        self.process_datagram(now, datagram);
    }

    fn handle_stream(&mut self, now: SimInstant, event: StreamEvent) {
        if self.stall.is_some() {
            return;
        }
        self.sip.handle_stream(now, event);
        self.pump(now);
    }

    fn handle_timeout(&mut self, now: SimInstant) {
        if let Some(w) = self.watchdog
            && w <= now
        {
            self.watchdog = Some(now + WATCHDOG_PERIOD);
            if let Some(s) = &self.stall
                && now.saturating_since(s.since) > WATCHDOG_LIMIT
            {
                let secs = now.saturating_since(s.since).as_secs();
                self.emit(
                    EventCode::Deadlock,
                    None,
                    None,
                    &format!("worker loop stalled for {secs} s"),
                );
            }
        }
        if let Some(s) = &self.stall {
            if s.until > now {
                return;
            }
            if let Some(s) = self.stall.take() {
                for d in s.datagrams {
                    self.process_datagram(now, d);
                }
            }
        }
        self.run_timers(now);
    }

    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    fn poll_event(&mut self) -> Option<AaeEvent> {
        self.events.pop_front()
    }

    fn poll_timeout(&self) -> Option<SimInstant> {
        let mut next = self.watchdog;
        let mut consider = |t: Option<SimInstant>| {
            if let Some(t) = t {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
        };
        if let Some(s) = &self.stall {
            consider(Some(s.until));
            return next;
        }
        consider(self.sip.poll_timeout());
        if let Some(d) = &self.detector {
            consider(d.core.poll_timeout());
        }
        for c in self.calls.values() {
            consider(c.deadline);
            consider(c.report_at);
            if let Some(a) = &c.ice {
                consider(a.poll_timeout());
            }
            if let Some(t) = &c.tunnel {
                consider(t.poll_timeout());
            }
        }
        next
    }
}

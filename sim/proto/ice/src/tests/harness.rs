//! A small time-ordered world for in-process tests: ICE agents, STUN responders, NAT boxes
//! (sim-nat) and firewalls, a fixed one-way latency, and a scripted signalling exchange.

use crate::{IceAgent, IceConfig, IceEvent, Role};
use bytes::Bytes;
use rtc_stun::error_code::{ErrorCode, ErrorCodeAttribute};
use rtc_stun::message::{
    BINDING_ERROR, BINDING_REQUEST, BINDING_SUCCESS, Message, Setter, TransactionId,
};
use rtc_stun::xoraddr::XorMappedAddress;
use sim_core::{Addresses, Binding, Bound, Datagram, LogEvent, Node, Seed, SimInstant, Transmit};
use sim_nat::{Behaviour, Nat, NatConfig, PacketMeta, Verdict};
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// What a test STUN server does with a Binding request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StunMode {
    /// Binding success with XOR-MAPPED-ADDRESS.
    Answer,
    /// Never answers.
    Silent,
    /// Binding success without any mapped address.
    NoMapped,
    /// Binding error with this code.
    Error(u16),
}

/// A tiny STUN Binding responder (RFC 5389 §10.1.2), on rtc-stun.
pub(crate) fn stun_answer(mode: StunMode, d: &Datagram) -> Option<Datagram> {
    let mut req = Message::new();
    req.unmarshal_binary(&d.payload).ok()?;
    if req.typ != BINDING_REQUEST {
        return None;
    }
    let mut m = Message::new();
    let mut setters: Vec<Box<dyn Setter>> = Vec::new();
    match mode {
        StunMode::Silent => return None,
        StunMode::Answer => {
            setters.push(Box::new(BINDING_SUCCESS));
            setters.push(Box::new(TransactionId(req.transaction_id.0)));
            setters.push(Box::new(XorMappedAddress {
                ip: d.src.ip(),
                port: d.src.port(),
            }));
        }
        StunMode::NoMapped => {
            setters.push(Box::new(BINDING_SUCCESS));
            setters.push(Box::new(TransactionId(req.transaction_id.0)));
        }
        StunMode::Error(code) => {
            setters.push(Box::new(BINDING_ERROR));
            setters.push(Box::new(TransactionId(req.transaction_id.0)));
            setters.push(Box::new(ErrorCodeAttribute {
                code: ErrorCode(code),
                reason: b"Test Error".to_vec(),
            }));
        }
    }
    m.build(&setters).ok()?;
    Some(Datagram {
        src: d.dst,
        dst: d.src,
        payload: Bytes::from(m.raw),
    })
}

/// The classic NAT types of natnl's `nat_type` (FAULTS.md §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Classic {
    Open,
    FullCone,
    Restricted,
    PortRestricted,
    SymmetricUdp,
    Symmetric,
    Blocked,
}

impl Classic {
    pub(crate) const ALL: [Self; 7] = [
        Self::Open,
        Self::FullCone,
        Self::Restricted,
        Self::PortRestricted,
        Self::SymmetricUdp,
        Self::Symmetric,
        Self::Blocked,
    ];
}

enum Gate {
    Nat(Box<Nat>),
    Blocked,
}

enum Host {
    Agent(Box<IceAgent>),
    Stun(StunMode),
    Turn(Box<super::turn_server::TurnServer>),
}

struct Slot {
    name: &'static str,
    ip: IpAddr,
    gate: Option<usize>,
    host: Host,
}

/// A packet rule: return `None` to drop the datagram, or the (possibly changed) datagram.
pub(crate) type Rule = Box<dyn FnMut(usize, Datagram) -> Option<Datagram>>;

pub(crate) struct World {
    pub(crate) now: SimInstant,
    slots: Vec<Slot>,
    gates: Vec<(Vec<IpAddr>, Gate)>,
    queue: BTreeMap<(SimInstant, u64), (Option<usize>, Datagram)>,
    seq: u64,
    latency: Duration,
    /// Every event, stamped: (time, node, event).
    pub(crate) log: Vec<(SimInstant, &'static str, LogEvent)>,
    /// Every typed agent event, per node index.
    pub(crate) events: BTreeMap<usize, Vec<(SimInstant, IceEvent)>>,
    /// Every datagram a node sent: (time, src, dst, payload).
    pub(crate) wire: Vec<(SimInstant, SocketAddr, SocketAddr, Bytes)>,
    /// Application data received, per node.
    pub(crate) data: BTreeMap<usize, Vec<Bytes>>,
    /// Agent pairs to exchange candidates between once both finished gathering.
    exchange: Vec<(usize, usize)>,
    /// Applied to every datagram a node sends (after recording it on the wire).
    pub(crate) rule: Option<Rule>,
}

pub(crate) fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

pub(crate) const STUN: &str = "203.0.113.10:3478";
pub(crate) const TURN: &str = "203.0.113.20:3478";

impl World {
    pub(crate) fn new() -> Self {
        Self {
            now: SimInstant::ZERO,
            slots: Vec::new(),
            gates: Vec::new(),
            queue: BTreeMap::new(),
            seq: 0,
            latency: Duration::from_millis(10),
            log: Vec::new(),
            events: BTreeMap::new(),
            wire: Vec::new(),
            data: BTreeMap::new(),
            exchange: Vec::new(),
            rule: None,
        }
    }

    /// A NAT with these behaviours on `public`.
    pub(crate) fn nat(&mut self, mapping: Behaviour, filtering: Behaviour, public: &str) -> usize {
        let config = NatConfig::new(mapping, filtering, vec![ip(public)]);
        let seed = Seed::new(self.gates.len() as u64 + 100);
        let nat = Nat::new(config, seed).unwrap();
        self.gates
            .push((vec![ip(public)], Gate::Nat(Box::new(nat))));
        self.gates.len() - 1
    }

    /// A gateway of a classic type; `None` for OPEN. `public` is the NAT's address (for
    /// SYMMETRIC_UDP the host's own).
    pub(crate) fn classic(&mut self, kind: Classic, public: &str) -> Option<usize> {
        use Behaviour::*;
        Some(match kind {
            Classic::Open => return None,
            Classic::FullCone => self.nat(EndpointIndependent, EndpointIndependent, public),
            Classic::Restricted => self.nat(EndpointIndependent, AddressDependent, public),
            Classic::PortRestricted => {
                self.nat(EndpointIndependent, AddressAndPortDependent, public)
            }
            Classic::SymmetricUdp => self.nat(EndpointIndependent, AddressAndPortDependent, public),
            Classic::Symmetric => {
                self.nat(AddressAndPortDependent, AddressAndPortDependent, public)
            }
            Classic::Blocked => {
                self.gates.push((vec![ip(public)], Gate::Blocked));
                self.gates.len() - 1
            }
        })
    }

    pub(crate) fn stun(&mut self, mode: StunMode) -> usize {
        let addr: SocketAddr = STUN.parse().unwrap();
        self.slots.push(Slot {
            name: "stun",
            ip: addr.ip(),
            gate: None,
            host: Host::Stun(mode),
        });
        self.slots.len() - 1
    }

    /// The test TURN server at [`TURN`]; `reject` answers Allocate with that error.
    pub(crate) fn turn(&mut self, reject: Option<u16>) -> usize {
        let addr: SocketAddr = TURN.parse().unwrap();
        let server = super::turn_server::TurnServer::new(addr, reject);
        self.slots.push(Slot {
            name: "turn",
            ip: addr.ip(),
            gate: None,
            host: Host::Turn(Box::new(server)),
        });
        self.slots.len() - 1
    }

    pub(crate) fn agent(
        &mut self,
        name: &'static str,
        addr: &str,
        gate: Option<usize>,
        config: IceConfig,
        seed: u64,
    ) -> usize {
        let agent = IceAgent::new(config, Seed::new(seed)).unwrap();
        self.slots.push(Slot {
            name,
            ip: ip(addr),
            gate,
            host: Host::Agent(Box::new(agent)),
        });
        let i = self.slots.len() - 1;
        self.events.insert(i, Vec::new());
        self.start(i);
        i
    }

    /// Exchange candidates between `a` and `b` once both have gathered.
    pub(crate) fn pair(&mut self, a: usize, b: usize) {
        self.exchange.push((a, b));
    }

    pub(crate) fn agent_mut(&mut self, i: usize) -> &mut IceAgent {
        match &mut self.slots[i].host {
            Host::Agent(a) => a,
            _ => panic!("not an agent"),
        }
    }

    fn start(&mut self, i: usize) {
        let now = self.now;
        let slot_ip = self.slots[i].ip;
        let a = self.agent_mut(i);
        for b in a.bindings() {
            let addr = SocketAddr::new(slot_ip, b.port);
            a.handle_bound(
                now,
                Bound {
                    id: None,
                    binding: Binding::udp(b.port),
                    result: Ok(addr),
                },
            );
        }
        a.handle_start(now, Addresses::single(slot_ip));
        self.drain(i);
    }

    pub(crate) fn drain(&mut self, i: usize) {
        let now = self.now;
        let name = self.slots[i].name;
        let mut out = Vec::new();
        if let Host::Agent(a) = &mut self.slots[i].host {
            while let Some(t) = a.poll_transmit() {
                out.push(t);
            }
            while let Some(e) = a.poll_event() {
                self.log.push((now, name, LogEvent::from(&e)));
                self.events.entry(i).or_default().push((now, e));
            }
            while let Some(d) = a.poll_data() {
                self.data.entry(i).or_default().push(d);
            }
        }
        for t in out {
            if let Transmit::Datagram(d) = t {
                self.send(i, d);
            }
        }
    }

    fn owner_of(&self, addr: IpAddr) -> Option<usize> {
        self.gates
            .iter()
            .position(|(public, _)| public.contains(&addr))
    }

    fn lan_node(&self, gate: Option<usize>, addr: IpAddr) -> Option<usize> {
        self.slots
            .iter()
            .position(|s| s.gate == gate && s.ip == addr)
    }

    fn enqueue(&mut self, at: SimInstant, gate: Option<usize>, d: Datagram) {
        self.seq += 1;
        self.queue.insert((at, self.seq), (gate, d));
    }

    /// Node `i` sends `d`: through its gateway (outbound), then `latency` to the far side.
    fn send(&mut self, i: usize, mut d: Datagram) {
        d.src = SocketAddr::new(self.slots[i].ip, d.src.port());
        self.wire.push((self.now, d.src, d.dst, d.payload.clone()));
        if let Some(rule) = self.rule.as_mut() {
            match rule(i, d) {
                Some(changed) => d = changed,
                None => return,
            }
        }
        let at = self.now + self.latency;
        let Some(g) = self.slots[i].gate else {
            self.enqueue(at, self.owner_of(d.dst.ip()), d);
            return;
        };
        if self.lan_node(Some(g), d.dst.ip()).is_some() && self.owner_of(d.dst.ip()) != Some(g) {
            self.enqueue(self.now + Duration::from_millis(1), Some(usize::MAX - g), d);
            return;
        }
        let now = self.now;
        let verdict = match &mut self.gates[g].1 {
            Gate::Blocked => return,
            Gate::Nat(nat) => nat.outbound(now, &PacketMeta::udp(d.src, d.dst)),
        };
        match verdict {
            Verdict::Forward { src, dst } => {
                let owner = self.owner_of(dst.ip());
                self.enqueue(at, owner, Datagram { src, dst, ..d });
            }
            Verdict::Hairpin { src, dst } => {
                self.enqueue(at, Some(usize::MAX - g), Datagram { src, dst, ..d });
            }
            _ => {}
        }
    }

    /// A datagram arrives: at a gateway's public side (inbound), on a LAN (`usize::MAX - g`),
    /// or at a public node.
    fn arrive(&mut self, gate: Option<usize>, d: Datagram) {
        let now = self.now;
        let target = match gate {
            Some(g) if g > usize::MAX / 2 => self.lan_node(Some(usize::MAX - g), d.dst.ip()),
            Some(g) => {
                let verdict = match &mut self.gates[g].1 {
                    Gate::Blocked => return,
                    Gate::Nat(nat) => nat.inbound(now, &PacketMeta::udp(d.src, d.dst)),
                };
                let Verdict::Forward { src, dst } = verdict else {
                    return;
                };
                let i = self.lan_node(Some(g), dst.ip());
                return self.deliver(i, Datagram { src, dst, ..d });
            }
            None => self.lan_node(None, d.dst.ip()),
        };
        self.deliver(target, d);
    }

    fn deliver(&mut self, i: Option<usize>, d: Datagram) {
        let Some(i) = i else { return };
        let now = self.now;
        match &mut self.slots[i].host {
            Host::Agent(a) => a.handle_datagram(now, d),
            Host::Stun(mode) => {
                if let Some(reply) = stun_answer(*mode, &d) {
                    self.send(i, reply);
                }
                return;
            }
            Host::Turn(server) => {
                for out in server.handle(&d) {
                    self.send(i, out);
                }
                return;
            }
        }
        self.drain(i);
    }

    fn exchange_ready(&mut self) {
        let now = self.now;
        let pending = std::mem::take(&mut self.exchange);
        for (a, b) in pending {
            let done = |w: &mut Self, i| w.agent_mut(i).is_gathering_done();
            if !(done(self, a) && done(self, b)) {
                self.exchange.push((a, b));
                continue;
            }
            for (x, y) in [(a, b), (b, a)] {
                let creds = self.agent_mut(y).local_credentials().clone();
                let cands = self.agent_mut(y).local_candidates().to_vec();
                self.agent_mut(x).set_remote(now, &creds, &cands).unwrap();
            }
            self.drain(a);
            self.drain(b);
        }
    }

    /// Runs until `end` (inclusive) or nothing is left to do.
    ///
    /// # Panics
    /// When a node asks to be woken at the same instant over and over (a hot loop).
    pub(crate) fn run_until(&mut self, end: SimInstant) {
        let mut same_instant = 0u32;
        loop {
            self.exchange_ready();
            let timer = self
                .slots
                .iter()
                .enumerate()
                .filter_map(|(i, s)| match &s.host {
                    Host::Agent(a) => a.poll_timeout().map(|t| (t, i)),
                    _ => None,
                })
                .min();
            let packet = self.queue.keys().next().map(|(t, _)| *t);
            let next = match (timer, packet) {
                (Some((t, _)), Some(p)) => t.min(p),
                (Some((t, _)), None) => t,
                (None, Some(p)) => p,
                (None, None) => break,
            };
            if next > end {
                break;
            }
            same_instant = if next <= self.now {
                same_instant + 1
            } else {
                0
            };
            assert!(
                same_instant < 10_000,
                "hot loop at {}: timer {timer:?}, packet {packet:?}",
                self.now
            );
            self.now = self.now.max(next);
            if packet == Some(next) {
                let Some((_, (gate, d))) = self.queue.pop_first() else {
                    break;
                };
                self.arrive(gate, d);
            } else if let Some((_, i)) = timer {
                let now = self.now;
                self.agent_mut(i).handle_timeout(now);
                self.drain(i);
            }
        }
        self.now = self.now.max(end);
    }

    /// Runs for `d` more.
    pub(crate) fn run_for(&mut self, d: Duration) {
        let end = self.now + d;
        self.run_until(end);
    }

    /// The log lines of node `name`, as `time event status`.
    pub(crate) fn trace(&self, name: &str) -> Vec<String> {
        self.log
            .iter()
            .filter(|(_, n, _)| *n == name)
            .map(|(t, _, e)| {
                let status = e.status.map(|s| format!(" {s}")).unwrap_or_default();
                format!("{t} {}{status}", e.name)
            })
            .collect()
    }

    /// The first event of node `i` with this name.
    pub(crate) fn first(&self, i: usize, name: &str) -> Option<(SimInstant, IceEvent)> {
        self.events
            .get(&i)?
            .iter()
            .find(|(_, e)| e.name() == name)
            .cloned()
    }
}

/// Two agents behind gateways of the given classic types, a STUN server, candidates exchanged;
/// returns the world and the two agents' indices.
pub(crate) fn classic_pair(a: Classic, b: Classic, seed: u64) -> (World, usize, usize) {
    let mut w = World::new();
    w.stun(StunMode::Answer);
    let stun: SocketAddr = STUN.parse().unwrap();
    let config = |role| {
        let mut c = IceConfig::new(4000, role);
        c.stun_servers = vec![stun];
        c
    };
    let side = |w: &mut World, kind, private: &'static str, public: &'static str| match kind {
        Classic::Open => (public, None),
        Classic::SymmetricUdp => (public, w.classic(kind, public)),
        _ => (private, w.classic(kind, public)),
    };
    let (addr_a, gate_a) = side(&mut w, a, "10.0.0.2", "198.51.100.1");
    let (addr_b, gate_b) = side(&mut w, b, "10.0.1.2", "198.51.100.2");
    let ia = w.agent("alice", addr_a, gate_a, config(Role::Controlling), seed);
    let ib = w.agent("bob", addr_b, gate_b, config(Role::Controlled), seed + 1);
    w.pair(ia, ib);
    (w, ia, ib)
}

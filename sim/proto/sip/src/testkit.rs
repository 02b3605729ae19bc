//! An in-process harness: one [`SipServer`], several [`Softphone`]s, optionally a
//! [`sim_nat::Nat`] in front of a phone, on a queue ordered by time then sequence. Time jumps
//! to the next packet or `poll_timeout`; nothing sleeps. UDP and a minimal TCP (connect,
//! data, close, an injectable failure) are modelled; every hop takes [`Harness::latency`].

use crate::server::{SipServer, SipServerConfig, SipServerEvent};
use crate::ua::{Softphone, SoftphoneConfig, SoftphoneEvent};
use sim_core::{
    Addresses, Bound, Datagram, Node, Protocol, Seed, SimInstant, StreamCommand, StreamError,
    StreamEvent, StreamId, Transmit,
};
use sim_nat::{Nat, NatConfig, PacketMeta, TcpFlags, Verdict};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

/// A node of the harness.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    /// The server.
    Server,
    /// Phone `i`.
    Phone(usize),
}

#[derive(Debug)]
enum Item {
    Udp(Datagram),
    Stream(Target, StreamEvent),
}

/// Drops the first `count` UDP datagrams matching `from`/`to` (IP only; `None` = any) whose
/// payload contains `contains` (if set).
#[derive(Clone, Debug, Default)]
pub struct DropRule {
    /// Source IP as sent (before NAT).
    pub from: Option<IpAddr>,
    /// Destination IP.
    pub to: Option<IpAddr>,
    /// Payload substring.
    pub contains: Option<String>,
    /// How many more to drop.
    pub count: u32,
}

#[derive(Debug)]
struct Phone {
    ua: Softphone,
    ip: IpAddr,
    nat: Option<usize>,
}

#[derive(Debug)]
struct TcpConn {
    phone: usize,
    phone_id: StreamId,
    server_id: StreamId,
    phone_addr: SocketAddr,
    public: SocketAddr,
    server_addr: SocketAddr,
}

/// The harness.
#[derive(Debug)]
pub struct Harness {
    /// Current time.
    pub now: SimInstant,
    /// One-way latency of every hop.
    pub latency: Duration,
    /// The server.
    pub server: SipServer,
    /// The server's address.
    pub server_ip: IpAddr,
    phones: Vec<Phone>,
    nats: Vec<Nat>,
    queue: BTreeMap<(SimInstant, u64), Item>,
    seq: u64,
    /// Active drop rules.
    pub drops: Vec<DropRule>,
    /// IPs whose traffic vanishes (a dead host), both ways.
    pub blackholed: Vec<IpAddr>,
    /// Everything the server reported.
    pub server_events: Vec<(SimInstant, SipServerEvent)>,
    phone_events: Vec<Vec<(SimInstant, SoftphoneEvent)>>,
    conns: Vec<TcpConn>,
    next_port: u16,
    next_accept: u64,
    /// Every UDP payload delivered, as text (for assertions on the wire).
    pub wire: Vec<(SimInstant, SocketAddr, SocketAddr, String)>,
    /// Whether to record [`Harness::wire`] and every event (off for scale runs: then only
    /// failures and refusals are kept).
    pub record: bool,
    armed: Vec<Option<SimInstant>>,
    by_ip: BTreeMap<IpAddr, usize>,
    dirty: bool,
    timers: std::collections::BTreeSet<(SimInstant, Target)>,
}

impl Harness {
    /// The server's address in every harness.
    pub const SERVER_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 10));

    /// A harness around a server with `cfg`, seeded by `seed`.
    pub fn new(cfg: SipServerConfig, seed: Seed) -> Self {
        let mut server = SipServer::new(cfg, seed.derive("server").rng());
        let now = SimInstant::ZERO;
        for b in server.bindings() {
            server.handle_bound(
                now,
                Bound {
                    id: None,
                    binding: b,
                    result: Ok(SocketAddr::new(Self::SERVER_IP, b.port)),
                },
            );
        }
        server.handle_start(now, Addresses::single(Self::SERVER_IP));
        Self {
            now,
            latency: Duration::from_millis(10),
            server,
            server_ip: Self::SERVER_IP,
            phones: Vec::new(),
            nats: Vec::new(),
            queue: BTreeMap::new(),
            seq: 0,
            drops: Vec::new(),
            blackholed: Vec::new(),
            server_events: Vec::new(),
            phone_events: Vec::new(),
            conns: Vec::new(),
            next_port: 40000,
            next_accept: 1,
            wire: Vec::new(),
            record: true,
            armed: vec![None],
            by_ip: BTreeMap::new(),
            dirty: false,
            timers: std::collections::BTreeSet::new(),
        }
    }

    /// The server's SIP address.
    pub fn server_addr(&self) -> SocketAddr {
        SocketAddr::new(self.server_ip, 5060)
    }

    /// Adds a NAT with `config` (its public addresses must be set); returns its index.
    ///
    /// # Panics
    /// When `config` is invalid (a test bug).
    pub fn add_nat(&mut self, config: NatConfig, seed: Seed) -> usize {
        let nat = Nat::new(config, seed).unwrap_or_else(|e| panic!("bad NAT config: {e:?}"));
        self.nats.push(nat);
        self.nats.len() - 1
    }

    /// The NAT `i`.
    pub fn nat(&mut self, i: usize) -> &mut Nat {
        &mut self.nats[i]
    }

    /// Adds a phone at `ip` (behind NAT `nat` if given) and starts it.
    pub fn add_phone(
        &mut self,
        cfg: SoftphoneConfig,
        ip: IpAddr,
        nat: Option<usize>,
        seed: Seed,
    ) -> usize {
        let i = self.phones.len();
        let mut ua = Softphone::new(cfg, seed.derive(&format!("phone/{i}")).rng());
        for b in ua.bindings() {
            ua.handle_bound(
                self.now,
                Bound {
                    id: None,
                    binding: b,
                    result: Ok(SocketAddr::new(ip, b.port)),
                },
            );
        }
        ua.handle_start(self.now, Addresses::single(ip));
        self.phones.push(Phone { ua, ip, nat });
        self.phone_events.push(Vec::new());
        self.armed.push(None);
        self.by_ip.insert(ip, i);
        self.drain(Target::Phone(i));
        i
    }

    /// Phone `i`.
    pub fn phone(&mut self, i: usize) -> &mut Softphone {
        self.dirty = true;
        &mut self.phones[i].ua
    }

    /// Runs a command on phone `i` at the current time, then drains it.
    pub fn with_phone<R>(
        &mut self,
        i: usize,
        f: impl FnOnce(&mut Softphone, SimInstant) -> R,
    ) -> R {
        let now = self.now;
        let r = f(&mut self.phones[i].ua, now);
        self.drain(Target::Phone(i));
        r
    }

    /// Runs a command on the server at the current time, then drains it.
    pub fn with_server<R>(&mut self, f: impl FnOnce(&mut SipServer, SimInstant) -> R) -> R {
        let now = self.now;
        let r = f(&mut self.server, now);
        self.drain(Target::Server);
        r
    }

    /// The events of phone `i` so far.
    pub fn events(&self, i: usize) -> &[(SimInstant, SoftphoneEvent)] {
        &self.phone_events[i]
    }

    /// The callback names of phone `i` so far, with status where the event has one.
    pub fn names(&self, i: usize) -> Vec<String> {
        self.phone_events[i]
            .iter()
            .map(|(_, e)| {
                let l = sim_core::LogEvent::from(e);
                match l.status {
                    Some(s) => format!("{}({s})", l.name),
                    None => l.name.into_owned(),
                }
            })
            .collect()
    }

    /// The server's events as `name(status)`.
    pub fn server_names(&self) -> Vec<String> {
        self.server_events
            .iter()
            .map(|(_, e)| {
                let l = sim_core::LogEvent::from(e);
                match l.status {
                    Some(s) => format!("{}({s})", l.name),
                    None => l.name.into_owned(),
                }
            })
            .collect()
    }

    /// Forgets the events recorded so far.
    pub fn clear_events(&mut self) {
        for e in &mut self.phone_events {
            e.clear();
        }
        self.server_events.clear();
    }

    /// Phone `i`'s session ids.
    pub fn sessions(&self, i: usize) -> Vec<u32> {
        self.phones[i].ua.sessions()
    }

    fn push(&mut self, at: SimInstant, item: Item) {
        self.seq += 1;
        self.queue.insert((at, self.seq), item);
    }

    fn node_ip(&self, t: Target) -> IpAddr {
        match t {
            Target::Server => self.server_ip,
            Target::Phone(i) => self.phones[i].ip,
        }
    }

    fn drain(&mut self, t: Target) {
        loop {
            let tr = match t {
                Target::Server => self.server.poll_transmit(),
                Target::Phone(i) => self.phones[i].ua.poll_transmit(),
            };
            let Some(tr) = tr else { break };
            self.transmit(t, tr);
        }
        match t {
            Target::Server => {
                while let Some(e) = self.server.poll_event() {
                    if self.record {
                        self.server_events.push((self.now, e));
                    }
                }
            }
            Target::Phone(i) => {
                while let Some(e) = self.phones[i].ua.poll_event() {
                    if self.record || !matches!(e, SoftphoneEvent::RegisterSuccess { .. }) {
                        self.phone_events[i].push((self.now, e));
                    }
                }
            }
        }
        self.rearm(t);
    }

    const fn slot(t: Target) -> usize {
        match t {
            Target::Server => 0,
            Target::Phone(i) => i + 1,
        }
    }

    fn rearm(&mut self, t: Target) {
        let next = match t {
            Target::Server => self.server.poll_timeout(),
            Target::Phone(i) => self.phones[i].ua.poll_timeout(),
        };
        let slot = Self::slot(t);
        if self.armed[slot] != next {
            if let Some(old) = self.armed[slot] {
                self.timers.remove(&(old, t));
            }
            if let Some(new) = next {
                self.timers.insert((new, t));
            }
            self.armed[slot] = next;
        }
    }

    fn transmit(&mut self, from: Target, tr: Transmit) {
        let at = self.now + self.latency;
        match tr {
            Transmit::Datagram(mut d) => {
                if d.src.ip().is_unspecified() {
                    d.src.set_ip(self.node_ip(from));
                }
                let text = String::from_utf8_lossy(&d.payload).into_owned();
                if let Some(r) = self.drops.iter_mut().find(|r| {
                    r.count > 0
                        && r.from.is_none_or(|ip| ip == d.src.ip())
                        && r.to.is_none_or(|ip| ip == d.dst.ip())
                        && r.contains
                            .as_ref()
                            .is_none_or(|c| text.contains(c.as_str()))
                }) {
                    r.count -= 1;
                    return;
                }
                if self.blackholed.contains(&d.src.ip()) || self.blackholed.contains(&d.dst.ip()) {
                    return;
                }
                if let Target::Phone(i) = from
                    && let Some(n) = self.phones[i].nat
                {
                    match self.nats[n].outbound(self.now, &PacketMeta::udp(d.src, d.dst)) {
                        Verdict::Forward { src, .. } => d.src = src,
                        _ => return,
                    }
                }
                self.push(at, Item::Udp(d));
            }
            Transmit::Stream(cmd) => self.stream_command(from, cmd, at),
            Transmit::Bind(_) | Transmit::Unbind(_) => {}
        }
    }

    fn stream_command(&mut self, from: Target, cmd: StreamCommand, at: SimInstant) {
        match (from, cmd) {
            (Target::Phone(i), StreamCommand::Connect { id, dst }) => {
                let phone_addr = SocketAddr::new(self.phones[i].ip, self.next_port);
                self.next_port += 1;
                let mut public = phone_addr;
                if let Some(n) = self.phones[i].nat {
                    match self.nats[n]
                        .outbound(self.now, &PacketMeta::tcp(phone_addr, dst, TcpFlags::SYN))
                    {
                        Verdict::Forward { src, .. } => public = src,
                        _ => return,
                    }
                    let _ = self.nats[n]
                        .inbound(self.now, &PacketMeta::tcp(dst, public, TcpFlags::SYN_ACK));
                }
                let server_id = StreamId(StreamId::ACCEPTED | self.next_accept);
                self.next_accept += 1;
                self.conns.push(TcpConn {
                    phone: i,
                    phone_id: id,
                    server_id,
                    phone_addr,
                    public,
                    server_addr: dst,
                });
                self.push(
                    at,
                    Item::Stream(
                        Target::Server,
                        StreamEvent::Accepted {
                            id: server_id,
                            local: dst,
                            remote: public,
                        },
                    ),
                );
                self.push(
                    at + self.latency,
                    Item::Stream(
                        Target::Phone(i),
                        StreamEvent::Connected {
                            id,
                            local: phone_addr,
                        },
                    ),
                );
            }
            (_, StreamCommand::Connect { .. }) => {}
            (from, StreamCommand::Send { id, data }) => {
                let Some((to, to_id, ok)) = self.route_tcp(from, id) else {
                    return;
                };
                if ok {
                    self.push(at, Item::Stream(to, StreamEvent::Data { id: to_id, data }));
                } else {
                    self.push(
                        at,
                        Item::Stream(
                            from,
                            StreamEvent::Failed {
                                id,
                                error: StreamError::Reset,
                            },
                        ),
                    );
                }
            }
            (from, StreamCommand::Close { id } | StreamCommand::Abort { id }) => {
                if let Some((to, to_id, _)) = self.route_tcp(from, id) {
                    self.push(at, Item::Stream(to, StreamEvent::Closed { id: to_id }));
                }
            }
        }
    }

    /// The other end of connection `id` of `from`, and whether the NAT lets the segment
    /// through.
    fn route_tcp(&mut self, from: Target, id: StreamId) -> Option<(Target, StreamId, bool)> {
        let c = self.conns.iter().find(|c| match from {
            Target::Server => c.server_id == id,
            Target::Phone(i) => c.phone == i && c.phone_id == id,
        })?;
        let nat = self.phones[c.phone].nat;
        let (to, to_id, ok) = match from {
            Target::Server => {
                let ok = nat.is_none_or(|n| {
                    matches!(
                        self.nats[n].inbound(
                            self.now,
                            &PacketMeta::tcp(c.server_addr, c.public, TcpFlags::ACK)
                        ),
                        Verdict::Forward { .. }
                    )
                });
                (Target::Phone(c.phone), c.phone_id, ok)
            }
            Target::Phone(_) => {
                let ok = nat.is_none_or(|n| {
                    matches!(
                        self.nats[n].outbound(
                            self.now,
                            &PacketMeta::tcp(c.phone_addr, c.server_addr, TcpFlags::ACK)
                        ),
                        Verdict::Forward { .. }
                    )
                });
                (Target::Server, c.server_id, ok)
            }
        };
        Some((to, to_id, ok))
    }

    /// Tears down phone `i`'s TCP connections as the server sees them (a NAT idle timeout
    /// followed by an RST on the server's next segment).
    pub fn kill_tcp_at_server(&mut self, i: usize) {
        let ids: Vec<StreamId> = self
            .conns
            .iter()
            .filter(|c| c.phone == i)
            .map(|c| c.server_id)
            .collect();
        for id in ids {
            self.server.handle_stream(
                self.now,
                StreamEvent::Failed {
                    id,
                    error: StreamError::Reset,
                },
            );
        }
        self.drain(Target::Server);
    }

    fn deliver_udp(&mut self, d: Datagram) {
        if self.blackholed.contains(&d.dst.ip()) {
            return;
        }
        let mut d = d;
        let target = if d.dst.ip() == self.server_ip {
            Some(Target::Server)
        } else if let Some(n) = self.nats.iter().position(|n| n.owns(d.dst.ip())) {
            match self.nats[n].inbound(self.now, &PacketMeta::udp(d.src, d.dst)) {
                Verdict::Forward { dst, .. } => {
                    d.dst = dst;
                    self.by_ip.get(&dst.ip()).copied().map(Target::Phone)
                }
                _ => None,
            }
        } else {
            self.by_ip
                .get(&d.dst.ip())
                .copied()
                .filter(|&i| self.phones[i].nat.is_none())
                .map(Target::Phone)
        };
        let Some(t) = target else { return };
        if self.record {
            self.wire.push((
                self.now,
                d.src,
                d.dst,
                String::from_utf8_lossy(&d.payload).into_owned(),
            ));
        }
        match t {
            Target::Server => self.server.handle_datagram(self.now, d),
            Target::Phone(i) => self.phones[i].ua.handle_datagram(self.now, d),
        }
        self.drain(t);
    }

    fn next_timer(&self) -> Option<SimInstant> {
        self.timers.first().map(|(t, _)| *t)
    }

    /// Runs until `end` (inclusive of everything due at `end`).
    pub fn run_until(&mut self, end: SimInstant) {
        // Direct calls through `phone()` or `server` may have moved a deadline.
        self.rearm(Target::Server);
        if std::mem::take(&mut self.dirty) {
            for i in 0..self.phones.len() {
                self.rearm(Target::Phone(i));
            }
        }
        loop {
            let packet = self.queue.keys().next().map(|k| k.0);
            let timer = self.next_timer();
            let Some(next) = [packet, timer].into_iter().flatten().min() else {
                break;
            };
            if next > end {
                break;
            }
            self.now = self.now.max(next);
            if packet == Some(next) {
                let Some((_, item)) = self.queue.pop_first() else {
                    break;
                };
                match item {
                    Item::Udp(d) => self.deliver_udp(d),
                    Item::Stream(t, ev) => {
                        match t {
                            Target::Server => self.server.handle_stream(self.now, ev),
                            Target::Phone(i) => self.phones[i].ua.handle_stream(self.now, ev),
                        }
                        self.drain(t);
                    }
                }
                continue;
            }
            while let Some(&(at, t)) = self.timers.first() {
                if at > self.now {
                    break;
                }
                self.timers.remove(&(at, t));
                self.armed[Self::slot(t)] = None;
                match t {
                    Target::Server => self.server.handle_timeout(self.now),
                    Target::Phone(i) => self.phones[i].ua.handle_timeout(self.now),
                }
                self.drain(t);
            }
        }
        self.now = self.now.max(end);
    }

    /// Runs for `d` more.
    pub fn run_for(&mut self, d: Duration) {
        let end = self.now + d;
        self.run_until(end);
    }

    /// The transport of `user`'s first binding at the server, if any.
    pub fn binding_protocol(&self, user: &str) -> Option<Protocol> {
        self.server
            .bindings_of(user)
            .first()
            .map(|b| b.flow.protocol())
    }
}

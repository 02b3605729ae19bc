//! A small in-process network for the unit tests: hosts running cores, optional `sim_nat` boxes
//! in front of them, a fixed latency, and a queue ordered by (time, sequence). Time jumps to the
//! next delivery or `poll_timeout`; nothing sleeps.

use sim_core::{
    Addresses, BindId, Binding, Bound, Datagram, LogEvent, Node, Protocol, SimInstant,
    StreamCommand, StreamEvent, Transmit,
};
use sim_nat::{Nat, PacketMeta, Verdict};
use std::any::Any;
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// A core of any type, with its events turned into `LogEvent`s.
pub(crate) trait AnyNode: Any {
    fn any_bindings(&self) -> Vec<Binding>;
    fn any_start(&mut self, now: SimInstant, addresses: Addresses);
    fn any_bound(&mut self, now: SimInstant, bound: Bound);
    fn any_datagram(&mut self, now: SimInstant, d: Datagram);
    #[allow(dead_code)]
    fn any_stream(&mut self, now: SimInstant, e: StreamEvent);
    fn any_timeout(&mut self, now: SimInstant);
    fn any_transmit(&mut self) -> Option<Transmit>;
    fn any_event(&mut self) -> Option<LogEvent>;
    fn any_deadline(&self) -> Option<SimInstant>;
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

impl<N> AnyNode for N
where
    N: Node + Any,
    for<'a> LogEvent: From<&'a N::Event>,
{
    fn any_bindings(&self) -> Vec<Binding> {
        self.bindings()
    }
    fn any_start(&mut self, now: SimInstant, addresses: Addresses) {
        self.handle_start(now, addresses);
    }
    fn any_bound(&mut self, now: SimInstant, bound: Bound) {
        self.handle_bound(now, bound);
    }
    fn any_datagram(&mut self, now: SimInstant, d: Datagram) {
        self.handle_datagram(now, d);
    }
    fn any_stream(&mut self, now: SimInstant, e: StreamEvent) {
        self.handle_stream(now, e);
    }
    fn any_timeout(&mut self, now: SimInstant) {
        self.handle_timeout(now);
    }
    fn any_transmit(&mut self) -> Option<Transmit> {
        self.poll_transmit()
    }
    fn any_event(&mut self) -> Option<LogEvent> {
        self.poll_event().map(|e| LogEvent::from(&e))
    }
    fn any_deadline(&self) -> Option<SimInstant> {
        self.poll_timeout()
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

struct Host {
    node: Box<dyn AnyNode>,
    ips: Vec<IpAddr>,
    nat: Option<usize>,
    ports: BTreeSet<u16>,
    next_port: u16,
    block_udp: bool,
}

pub(crate) struct Net {
    pub(crate) now: SimInstant,
    hosts: Vec<Host>,
    pub(crate) nats: Vec<Nat>,
    queue: BTreeMap<(SimInstant, u64), (usize, Datagram)>,
    seq: u64,
    pub(crate) latency: Duration,
    pub(crate) log: Vec<(SimInstant, usize, LogEvent)>,
    /// Stream commands the cores issued (the harness has no TCP).
    pub(crate) streams: Vec<(usize, StreamCommand)>,
    /// Datagrams delivered to each host, as (time, host, datagram).
    pub(crate) delivered: Vec<(SimInstant, usize, Datagram)>,
    pub(crate) dropped: usize,
    block_next: bool,
}

impl Net {
    pub(crate) fn new() -> Self {
        Self {
            now: SimInstant::ZERO,
            hosts: Vec::new(),
            nats: Vec::new(),
            queue: BTreeMap::new(),
            seq: 0,
            latency: Duration::from_millis(10),
            log: Vec::new(),
            streams: Vec::new(),
            delivered: Vec::new(),
            dropped: 0,
            block_next: false,
        }
    }

    pub(crate) fn add_nat(&mut self, nat: Nat) -> usize {
        self.nats.push(nat);
        self.nats.len() - 1
    }

    /// Adds and starts a host owning `ips` (the first is its primary), behind `nat` if given.
    pub(crate) fn add(&mut self, node: impl AnyNode, ips: &[&str], nat: Option<usize>) -> usize {
        let ips: Vec<IpAddr> = ips.iter().map(|s| s.parse().unwrap()).collect();
        self.hosts.push(Host {
            node: Box::new(node),
            ips,
            nat,
            ports: BTreeSet::new(),
            next_port: 49152,
            block_udp: std::mem::take(&mut self.block_next),
        });
        let h = self.hosts.len() - 1;
        for binding in self.hosts[h].node.any_bindings() {
            let result = self.bind(h, binding);
            let now = self.now;
            self.hosts[h].node.any_bound(
                now,
                Bound {
                    id: None,
                    binding,
                    result,
                },
            );
        }
        let ip = self.hosts[h].ips[0];
        let now = self.now;
        self.hosts[h].node.any_start(now, Addresses::single(ip));
        self.drain(h);
        h
    }

    /// Adds a host like [`Net::add`] whose UDP is blocked from the start.
    pub(crate) fn add_blocked(
        &mut self,
        node: impl AnyNode,
        ips: &[&str],
        nat: Option<usize>,
    ) -> usize {
        self.block_next = true;
        self.add(node, ips, nat)
    }

    pub(crate) fn node<N: 'static>(&mut self, h: usize) -> &mut N {
        self.hosts[h].node.as_any_mut().downcast_mut().unwrap()
    }

    pub(crate) fn node_ref<N: 'static>(&self, h: usize) -> &N {
        self.hosts[h].node.as_any().downcast_ref().unwrap()
    }

    /// Runs `f` on host `h`'s core at the current time, then drains it.
    pub(crate) fn with<N: 'static, R>(
        &mut self,
        h: usize,
        f: impl FnOnce(&mut N, SimInstant) -> R,
    ) -> R {
        let now = self.now;
        let r = f(self.node(h), now);
        self.drain(h);
        r
    }

    /// Feeds a stream event to host `h`.
    #[allow(dead_code)]
    pub(crate) fn stream_event(&mut self, h: usize, e: StreamEvent) {
        let now = self.now;
        self.hosts[h].node.any_stream(now, e);
        self.drain(h);
    }

    fn bind(&mut self, h: usize, binding: Binding) -> Result<SocketAddr, sim_core::BindError> {
        let host = &mut self.hosts[h];
        let port = match binding.port {
            0 => {
                while host.ports.contains(&host.next_port) {
                    host.next_port += 1;
                }
                host.next_port
            }
            p => p,
        };
        if binding.protocol == Protocol::Udp && !host.ports.insert(port) {
            return Err(sim_core::BindError::InUse);
        }
        Ok(SocketAddr::new(host.ips[0], port))
    }

    fn drain(&mut self, h: usize) {
        while let Some(t) = self.hosts[h].node.any_transmit() {
            match t {
                Transmit::Datagram(d) => self.send(h, d),
                Transmit::Bind(b) => self.run_bind(h, b.id, b.binding),
                Transmit::Unbind(b) => {
                    self.hosts[h].ports.remove(&b.port);
                }
                Transmit::Stream(c) => self.streams.push((h, c)),
            }
        }
        while let Some(e) = self.hosts[h].node.any_event() {
            self.log.push((self.now, h, e));
        }
    }

    fn run_bind(&mut self, h: usize, id: BindId, binding: Binding) {
        let result = self.bind(h, binding);
        let now = self.now;
        self.hosts[h].node.any_bound(
            now,
            Bound {
                id: Some(id),
                binding,
                result,
            },
        );
    }

    fn send(&mut self, h: usize, d: Datagram) {
        let host = &self.hosts[h];
        if host.block_udp {
            self.dropped += 1;
            return;
        }
        let ip = if host.ips.contains(&d.src.ip()) {
            d.src.ip()
        } else {
            host.ips[0]
        };
        let mut src = SocketAddr::new(ip, d.src.port());
        let dst = d.dst;
        if let Some(n) = host.nat {
            match self.nats[n].outbound(self.now, &PacketMeta::udp(src, dst)) {
                Verdict::Forward { src: s, .. } => src = s,
                _ => {
                    self.dropped += 1;
                    return;
                }
            }
        }
        let Some((to, dst)) = self.route(dst, src) else {
            self.dropped += 1;
            return;
        };
        self.seq += 1;
        let at = self.now + self.latency;
        let d = Datagram {
            src,
            dst,
            payload: d.payload,
        };
        self.queue.insert((at, self.seq), (to, d));
    }

    /// The host a datagram to `dst` reaches, and its destination after NAT.
    fn route(&mut self, dst: SocketAddr, src: SocketAddr) -> Option<(usize, SocketAddr)> {
        let mut dst = dst;
        let mut via = None;
        if let Some(n) = self.nats.iter().position(|n| n.owns(dst.ip())) {
            match self.nats[n].inbound(self.now, &PacketMeta::udp(src, dst)) {
                Verdict::Forward { dst: internal, .. } => dst = internal,
                _ => return None,
            }
            via = Some(n);
        }
        let to = self
            .hosts
            .iter()
            .position(|h| h.nat == via && h.ips.contains(&dst.ip()))?;
        self.hosts[to]
            .ports
            .contains(&dst.port())
            .then_some((to, dst))
    }

    fn next(&self) -> Option<SimInstant> {
        let q = self.queue.keys().next().map(|k| k.0);
        let t = self
            .hosts
            .iter()
            .filter_map(|h| h.node.any_deadline())
            .min();
        [q, t].into_iter().flatten().min()
    }

    /// Runs until nothing is left to do or `end`.
    pub(crate) fn run_until(&mut self, end: SimInstant) {
        while let Some(next) = self.next().filter(|t| *t <= end) {
            self.now = self.now.max(next);
            while let Some(entry) = self.queue.first_entry() {
                if entry.key().0 > self.now {
                    break;
                }
                let (to, d) = entry.remove();
                self.delivered.push((self.now, to, d.clone()));
                let now = self.now;
                self.hosts[to].node.any_datagram(now, d);
                self.drain(to);
            }
            for h in 0..self.hosts.len() {
                if self.hosts[h]
                    .node
                    .any_deadline()
                    .is_some_and(|t| t <= self.now)
                {
                    let now = self.now;
                    self.hosts[h].node.any_timeout(now);
                    self.drain(h);
                }
            }
        }
        self.now = self.now.max(end);
    }

    /// Runs for `d` more.
    pub(crate) fn run_for(&mut self, d: Duration) {
        let end = self.now + d;
        self.run_until(end);
    }

    /// The events named `name` so far.
    pub(crate) fn events(&self, name: &str) -> Vec<&LogEvent> {
        self.log
            .iter()
            .filter(|(_, _, e)| e.name == name)
            .map(|(_, _, e)| e)
            .collect()
    }
}

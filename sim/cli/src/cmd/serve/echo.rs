//! The `echo` server: one node holding a [`UdpProbe`] that echoes on every port and a
//! [`TcpProbe`] that echoes on the same port numbers. It routes datagrams to the one and stream
//! events to the other, never re-implementing them, and counts per socket what went in and out.
//!
//! Binding: the UDP ports are the node's start bindings; once a UDP port is bound (port 0: the
//! real one), the node binds TCP on the same number at run time.
//!
//! Drive contract: the probes' own. After any input drain `poll_transmit`, then `poll_event`;
//! call `handle_timeout` at `poll_timeout` (an echo server never sets one).

use sim_core::{
    Addresses, Bind, BindError, BindId, Binding, Bound, Datagram, Node, Protocol, SimInstant,
    StreamCommand, StreamEvent, StreamId, Transmit,
};
use sim_probe::{Observation, TcpProbe, UdpProbe, Wire};
use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;

/// The name the echoes carry (`natlab echo from=echo …`).
const NAME: &str = "echo";

/// What went through one socket.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    /// UDP: datagrams received; TCP: connections accepted.
    pub(crate) received: u64,
    /// UDP: datagrams sent; TCP: connections opened.
    pub(crate) sent: u64,
    /// Echo replies sent (datagrams, or probe lines on a connection).
    pub(crate) echoes: u64,
}

/// One bound socket and its counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Socket {
    /// UDP or TCP.
    pub(crate) protocol: Protocol,
    /// Its local address, with the real port.
    pub(crate) local: SocketAddr,
    /// What went through it.
    pub(crate) counts: Counts,
}

/// What the echo server reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ServeEvent {
    /// A socket is bound and serving.
    Listening {
        /// UDP or TCP.
        protocol: Protocol,
        /// Its local address.
        local: SocketAddr,
    },
    /// A run-time bind (the TCP twin of a UDP port) failed.
    BindFailed {
        /// What was asked.
        binding: Binding,
        /// Why.
        error: BindError,
    },
    /// One of the probes observed something.
    Probe(Observation),
}

/// The echo server node.
#[derive(Debug)]
pub(crate) struct EchoServer {
    ports: Vec<u16>,
    udp: UdpProbe,
    tcp: TcpProbe,
    sockets: BTreeMap<(Protocol, u16), Socket>,
    /// The listener port of each accepted connection.
    streams: BTreeMap<StreamId, u16>,
    next_bind: u32,
    out: VecDeque<Transmit>,
    events: VecDeque<ServeEvent>,
}

impl EchoServer {
    /// An echo server on UDP `ports` (0: any free port), with TCP on the same numbers.
    pub(crate) fn new(ports: Vec<u16>) -> Self {
        Self {
            udp: UdpProbe::new(NAME, 0, ports.clone(), true, Wire::Text),
            tcp: TcpProbe::new(NAME, 0, 0, true),
            ports,
            sockets: BTreeMap::new(),
            streams: BTreeMap::new(),
            next_bind: 0,
            out: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// Every bound socket, UDP first, by port.
    pub(crate) fn sockets(&self) -> impl Iterator<Item = &Socket> {
        self.sockets.values()
    }

    fn counts(&mut self, protocol: Protocol, port: u16) -> Option<&mut Counts> {
        self.sockets
            .get_mut(&(protocol, port))
            .map(|s| &mut s.counts)
    }

    fn listening(&mut self, protocol: Protocol, local: SocketAddr) {
        let socket = Socket {
            protocol,
            local,
            counts: Counts::default(),
        };
        self.sockets.insert((protocol, local.port()), socket);
        self.events
            .push_back(ServeEvent::Listening { protocol, local });
    }

    /// Counts a transmit on its way out.
    fn count(&mut self, transmit: &Transmit) {
        match transmit {
            Transmit::Datagram(d) => {
                if let Some(c) = self.counts(Protocol::Udp, d.src.port()) {
                    c.sent += 1;
                    c.echoes += 1;
                }
            }
            Transmit::Stream(StreamCommand::Send { id, .. }) => {
                if let Some(port) = self.streams.get(id).copied()
                    && let Some(c) = self.counts(Protocol::Tcp, port)
                {
                    c.echoes += 1;
                }
            }
            Transmit::Stream(_) | Transmit::Bind(_) | Transmit::Unbind(_) => {}
        }
    }
}

impl Node for EchoServer {
    type Event = ServeEvent;

    fn bindings(&self) -> Vec<Binding> {
        self.ports.iter().map(|&p| Binding::udp(p)).collect()
    }

    fn handle_start(&mut self, now: SimInstant, addresses: Addresses) {
        self.udp.handle_start(now, addresses);
        self.tcp.handle_start(now, addresses);
    }

    fn handle_address_change(&mut self, now: SimInstant, old: Addresses, new: Addresses) {
        self.udp.handle_address_change(now, old, new);
        self.tcp.handle_address_change(now, old, new);
    }

    /// The probes never bind at run time (an echo server starts no series), so every answer is
    /// for this node.
    fn handle_bound(&mut self, _now: SimInstant, bound: Bound) {
        let binding = bound.binding;
        match (binding.protocol, bound.result) {
            (Protocol::Udp, Ok(local)) => {
                self.listening(Protocol::Udp, local);
                let id = BindId(self.next_bind);
                self.next_bind += 1;
                let binding = Binding::tcp(local.port());
                self.out.push_back(Transmit::Bind(Bind { id, binding }));
            }
            (Protocol::Tcp, Ok(local)) => self.listening(Protocol::Tcp, local),
            (_, Err(error)) => self
                .events
                .push_back(ServeEvent::BindFailed { binding, error }),
        }
    }

    fn handle_datagram(&mut self, now: SimInstant, datagram: Datagram) {
        if let Some(c) = self.counts(Protocol::Udp, datagram.dst.port()) {
            c.received += 1;
        }
        self.udp.handle_datagram(now, datagram);
    }

    fn handle_stream(&mut self, now: SimInstant, event: StreamEvent) {
        match &event {
            StreamEvent::Accepted { id, local, .. } => {
                self.streams.insert(*id, local.port());
                if let Some(c) = self.counts(Protocol::Tcp, local.port()) {
                    c.received += 1;
                }
            }
            StreamEvent::Failed { id, .. } => {
                self.streams.remove(id);
            }
            StreamEvent::Connected { .. }
            | StreamEvent::Data { .. }
            | StreamEvent::Closed { .. } => {}
        }
        self.tcp.handle_stream(now, event);
    }

    fn handle_timeout(&mut self, now: SimInstant) {
        self.udp.handle_timeout(now);
        self.tcp.handle_timeout(now);
    }

    fn poll_transmit(&mut self) -> Option<Transmit> {
        let transmit = self
            .out
            .pop_front()
            .or_else(|| self.udp.poll_transmit())
            .or_else(|| self.tcp.poll_transmit())?;
        self.count(&transmit);
        Some(transmit)
    }

    /// The TCP probe's start and address events repeat the UDP probe's, and are dropped.
    fn poll_event(&mut self) -> Option<ServeEvent> {
        if let Some(e) = self.events.pop_front() {
            return Some(e);
        }
        if let Some(o) = self.udp.poll_event() {
            return Some(ServeEvent::Probe(o));
        }
        while let Some(o) = self.tcp.poll_event() {
            if !matches!(
                o,
                Observation::Started { .. } | Observation::AddressChanged { .. }
            ) {
                return Some(ServeEvent::Probe(o));
            }
        }
        None
    }

    fn poll_timeout(&self) -> Option<SimInstant> {
        [self.udp.poll_timeout(), self.tcp.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn addr(a: &str) -> SocketAddr {
        a.parse().expect("literal")
    }

    fn transmits(n: &mut EchoServer) -> Vec<Transmit> {
        std::iter::from_fn(|| n.poll_transmit()).collect()
    }

    fn events(n: &mut EchoServer) -> Vec<ServeEvent> {
        std::iter::from_fn(|| n.poll_event()).collect()
    }

    /// A server whose UDP port 0 was bound to `local` and whose TCP twin too.
    fn listening(local: SocketAddr) -> EchoServer {
        let mut n = EchoServer::new(vec![0]);
        let udp = Bound {
            id: None,
            binding: Binding::udp(0),
            result: Ok(local),
        };
        n.handle_bound(SimInstant::ZERO, udp);
        let Some(Transmit::Bind(bind)) = n.poll_transmit() else {
            panic!("no TCP bind")
        };
        assert_eq!(bind.binding, Binding::tcp(local.port()));
        let tcp = Bound {
            id: Some(bind.id),
            binding: bind.binding,
            result: Ok(local),
        };
        n.handle_bound(SimInstant::ZERO, tcp);
        n
    }

    #[test]
    fn echo_udp_bound_reports_listening_and_binds_tcp_on_the_same_port() {
        let local = addr("127.0.0.1:40000");
        let mut n = listening(local);
        let listening = |protocol| ServeEvent::Listening { protocol, local };
        assert_eq!(
            events(&mut n),
            vec![listening(Protocol::Udp), listening(Protocol::Tcp)]
        );
        assert_eq!(n.sockets().count(), 2);
    }

    #[test]
    fn echo_tcp_twin_bind_failure_is_reported() {
        let mut n = EchoServer::new(vec![5060]);
        let udp = Bound {
            id: None,
            binding: Binding::udp(5060),
            result: Ok(addr("127.0.0.1:5060")),
        };
        n.handle_bound(SimInstant::ZERO, udp);
        let Some(Transmit::Bind(bind)) = n.poll_transmit() else {
            panic!("no TCP bind")
        };
        let tcp = Bound {
            id: Some(bind.id),
            binding: bind.binding,
            result: Err(BindError::InUse),
        };
        n.handle_bound(SimInstant::ZERO, tcp);
        let failed = ServeEvent::BindFailed {
            binding: Binding::tcp(5060),
            error: BindError::InUse,
        };
        assert_eq!(events(&mut n).last(), Some(&failed));
    }

    #[test]
    fn echo_listening_datagram_is_echoed_and_counted() {
        let local = addr("127.0.0.1:40000");
        let mut n = listening(local);
        let probe = Datagram {
            src: addr("127.0.0.1:50000"),
            dst: local,
            payload: Bytes::from_static(b"natlab probe from=a id=1 port=50000 seq=4\n"),
        };
        n.handle_datagram(SimInstant::ZERO, probe);
        let sent = transmits(&mut n);
        let [Transmit::Datagram(echo)] = &sent[..] else {
            panic!("not one datagram: {sent:?}")
        };
        assert_eq!(
            (echo.src.port(), echo.dst),
            (40000, addr("127.0.0.1:50000"))
        );
        assert!(
            echo.payload
                .starts_with(b"natlab echo from=echo id=0 seq=4")
        );
        let udp = n.sockets().next().expect("udp socket");
        let counts = Counts {
            received: 1,
            sent: 1,
            echoes: 1,
        };
        assert_eq!((udp.protocol, udp.counts), (Protocol::Udp, counts));
    }

    #[test]
    fn echo_listening_accepted_stream_line_is_echoed_and_counted() {
        let local = addr("127.0.0.1:40000");
        let mut n = listening(local);
        let _ = events(&mut n);
        let id = StreamId(StreamId::ACCEPTED);
        let remote = addr("127.0.0.1:50001");
        n.handle_stream(
            SimInstant::ZERO,
            StreamEvent::Accepted { id, local, remote },
        );
        let data = Bytes::from_static(b"natlab probe from=a id=1 port=50001 seq=1\n");
        n.handle_stream(SimInstant::ZERO, StreamEvent::Data { id, data });
        let sent = transmits(&mut n);
        assert!(
            matches!(&sent[..], [Transmit::Stream(StreamCommand::Send { id: on, data })]
                if *on == id && data.starts_with(b"natlab echo from=echo id=0 seq=1")),
            "{sent:?}"
        );
        let tcp = n.sockets().nth(1).expect("tcp socket");
        let counts = Counts {
            received: 1,
            sent: 0,
            echoes: 1,
        };
        assert_eq!((tcp.protocol, tcp.counts), (Protocol::Tcp, counts));
        let opened = ServeEvent::Probe(Observation::StreamOpened {
            remote,
            accepted: true,
        });
        assert_eq!(events(&mut n).first(), Some(&opened));
    }

    #[test]
    fn echo_start_reports_one_started_event() {
        let mut n = EchoServer::new(vec![0]);
        let addresses = Addresses::single(addr("127.0.0.1:0").ip());
        n.handle_start(SimInstant::ZERO, addresses);
        let started = ServeEvent::Probe(Observation::Started { addresses });
        assert_eq!(events(&mut n), vec![started]);
    }
}

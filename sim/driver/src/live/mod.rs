//! The live back-end: real tokio sockets and tokio's clock.
//!
//! Live mode runs the very same cores against real peers (SIPp, kamailio, coturn) or real
//! devices. [`LiveTransport`] binds only the address it is given (tests use loopback) and must
//! run inside a tokio [`LocalSet`](tokio::task::LocalSet): every socket is served by a task
//! spawned with `spawn_local`, and every task reports through one channel that
//! [`Transport::recv`] reads, so the core sees inputs in the order they happened.
//!
//! # UDP
//! `bind(Binding::udp(port))` opens a socket and a reader task; `unbind` closes it. Sending from
//! a port that is not bound binds it first.
//!
//! # TCP
//! The same story gives the same [`StreamEvent`]s as the simulated stack in `sim-world`:
//!
//! | the core or the peer does | the core gets |
//! |---|---|
//! | `Connect`, the peer accepts | `Connected { id, local }` |
//! | `Connect`, nothing listens / no answer / other error | `Failed { Refused \| TimedOut \| Reset }` |
//! | a peer connects to a bound listener | `Accepted { id, local, remote }`, `id` with [`StreamId::ACCEPTED`] set, counting up from 0 in accept order |
//! | the peer sends | `Data` |
//! | the peer closes (FIN), after all its data | `Closed` |
//! | the peer resets (RST) | `Failed { Reset }` |
//! | `Send` on an unknown or finished connection | `Failed { Reset }` |
//!
//! `Send` queues bytes in order (commands given while connecting wait for the connection);
//! `Close` sends FIN once the queue is written; `Abort` resets (SO_LINGER 0, then close) and,
//! as in simulation, nothing more is reported for that id. `unbind(Binding::tcp(port))` stops
//! the listener; connections it accepted stay up. A connect uses the OS's own timeout (on Linux
//! about 127 s, the same as the simulated stack's six SYN retries).
//!
//! Unbinding or aborting takes effect for the core at once: nothing more is delivered from that
//! port or connection. The OS socket closes when its stopped task is dropped, on the next turn
//! of the `LocalSet`, so a port is free to bind again one turn later.

mod tcp;
mod udp;

use crate::{Clock, Incoming, Transport};
use sim_core::{
    Addresses, BindError, Binding, Protocol, SimInstant, StreamCommand, StreamError, StreamEvent,
    StreamId, Transmit,
};
use std::collections::BTreeMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use tcp::{Listener, Op, Stream};
use tokio::net::TcpStream;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::time::Instant;
use udp::UdpPort;

/// What the socket tasks tell the transport, through one channel in the order it happened.
#[derive(Debug)]
enum Note {
    /// An input for the core as it is: a datagram, a socket error, or a failure the transport
    /// answers a command with.
    Input(io::Result<Incoming>),
    /// A listener accepted a connection; the transport names it.
    Accepted {
        /// The connection.
        stream: TcpStream,
        /// Its remote end.
        remote: SocketAddr,
    },
    /// A connection attempt ended.
    Connected {
        /// The core's id for it.
        id: StreamId,
        /// The connection, or why not.
        result: io::Result<TcpStream>,
    },
    /// Something happened on an open connection; dropped if the core has aborted it since.
    Stream(StreamEvent),
    /// A connection's task ended after both sides closed.
    Finished(StreamId),
}

/// Real UDP sockets and TCP listeners and connections on one local address. Must run inside a
/// tokio `LocalSet`.
#[derive(Debug)]
pub struct LiveTransport {
    ip: IpAddr,
    udp: BTreeMap<u16, UdpPort>,
    listeners: BTreeMap<u16, Listener>,
    streams: BTreeMap<StreamId, Stream>,
    next_accepted: u64,
    tx: UnboundedSender<Note>,
    rx: UnboundedReceiver<Note>,
}

impl LiveTransport {
    /// A transport that binds its sockets on `ip`.
    pub fn new(ip: IpAddr) -> Self {
        let (tx, rx) = unbounded_channel();
        Self {
            ip,
            udp: BTreeMap::new(),
            listeners: BTreeMap::new(),
            streams: BTreeMap::new(),
            next_accepted: 0,
            tx,
            rx,
        }
    }

    /// The local address of the UDP socket bound for `port` (the actual port when 0 was asked).
    pub fn local_addr(&self, port: u16) -> Option<SocketAddr> {
        self.udp.get(&port).and_then(|s| s.local_addr().ok())
    }

    /// The local address of the TCP listener bound for `port`.
    pub fn listener_addr(&self, port: u16) -> Option<SocketAddr> {
        self.listeners.get(&port).map(Listener::local_addr)
    }

    fn bind_udp(&mut self, port: u16) -> io::Result<SocketAddr> {
        let socket = UdpPort::bind(SocketAddr::new(self.ip, port), self.tx.clone())?;
        let local = socket.local_addr()?;
        self.udp.insert(local.port(), socket);
        Ok(local)
    }

    fn bind_tcp(&mut self, port: u16) -> io::Result<SocketAddr> {
        let listener = Listener::bind(SocketAddr::new(self.ip, port), self.tx.clone())?;
        let local = listener.local_addr();
        self.listeners.insert(local.port(), listener);
        Ok(local)
    }

    async fn send_datagram(&mut self, d: sim_core::Datagram) -> io::Result<()> {
        let port = if self.udp.contains_key(&d.src.port()) {
            d.src.port()
        } else {
            self.bind_udp(d.src.port())?.port()
        };
        match self.udp.get(&port) {
            Some(socket) => socket.send_to(&d.payload, d.dst).await,
            None => Err(io::Error::other("socket vanished while sending")),
        }
    }

    fn command(&mut self, command: StreamCommand) {
        match command {
            StreamCommand::Connect { id, dst } => {
                let stream = Stream::connect(id, self.ip, dst, self.tx.clone());
                self.streams.insert(id, stream);
            }
            StreamCommand::Send { id, data } => self.send_op(id, Op::Data(data)),
            StreamCommand::Close { id } => {
                if let Some(stream) = self.streams.get(&id) {
                    stream.command(Op::Close);
                }
            }
            StreamCommand::Abort { id } => {
                if let Some(stream) = self.streams.remove(&id) {
                    stream.command(Op::Abort);
                }
            }
        }
    }

    /// Hands `op` to the connection, or answers `Failed { Reset }` when there is none (as the
    /// simulated stack does).
    fn send_op(&mut self, id: StreamId, op: Op) {
        let delivered = self.streams.get(&id).is_some_and(|s| s.command(op));
        if !delivered {
            let failed = StreamEvent::Failed {
                id,
                error: StreamError::Reset,
            };
            let _ = self.tx.send(Note::Input(Ok(Incoming::Stream(failed))));
        }
    }

    /// Turns a note into an input for the core; `None` for notes the core does not see.
    fn on_note(&mut self, note: Note) -> Option<io::Result<Incoming>> {
        match note {
            Note::Input(input) => Some(input),
            Note::Accepted { stream, remote } => self.on_accepted(stream, remote),
            Note::Connected { id, result } => self.on_connected(id, result),
            Note::Stream(event) => self.on_stream(event),
            Note::Finished(id) => {
                self.streams.remove(&id);
                None
            }
        }
    }

    fn on_accepted(
        &mut self,
        stream: TcpStream,
        remote: SocketAddr,
    ) -> Option<io::Result<Incoming>> {
        let local = stream.local_addr().ok()?;
        let id = StreamId(StreamId::ACCEPTED | self.next_accepted);
        self.next_accepted += 1;
        self.streams
            .insert(id, Stream::open(id, stream, self.tx.clone()));
        let accepted = StreamEvent::Accepted { id, local, remote };
        Some(Ok(Incoming::Stream(accepted)))
    }

    fn on_connected(
        &mut self,
        id: StreamId,
        result: io::Result<TcpStream>,
    ) -> Option<io::Result<Incoming>> {
        let Some(entry) = self.streams.get_mut(&id) else {
            // Aborted while connecting.
            if let Ok(stream) = result {
                tcp::reset(stream);
            }
            return None;
        };
        let event = match result.and_then(|s| s.local_addr().map(|local| (s, local))) {
            Ok((stream, local)) => {
                entry.established(id, stream, self.tx.clone());
                StreamEvent::Connected { id, local }
            }
            Err(e) => {
                self.streams.remove(&id);
                let error = tcp::stream_error(&e);
                StreamEvent::Failed { id, error }
            }
        };
        Some(Ok(Incoming::Stream(event)))
    }

    fn on_stream(&mut self, event: StreamEvent) -> Option<io::Result<Incoming>> {
        let id = match &event {
            StreamEvent::Accepted { id, .. }
            | StreamEvent::Connected { id, .. }
            | StreamEvent::Data { id, .. }
            | StreamEvent::Closed { id }
            | StreamEvent::Failed { id, .. } => *id,
        };
        if !self.streams.contains_key(&id) {
            return None;
        }
        if matches!(event, StreamEvent::Failed { .. }) {
            self.streams.remove(&id);
        }
        Some(Ok(Incoming::Stream(event)))
    }
}

impl Transport for LiveTransport {
    fn addresses(&self) -> Addresses {
        Addresses::single(self.ip)
    }

    fn bind(&mut self, binding: Binding) -> Result<SocketAddr, BindError> {
        let taken = match binding.protocol {
            Protocol::Udp => self.udp.contains_key(&binding.port),
            Protocol::Tcp => self.listeners.contains_key(&binding.port),
        };
        if binding.port != 0 && taken {
            return Err(BindError::InUse);
        }
        match binding.protocol {
            Protocol::Udp => self.bind_udp(binding.port),
            Protocol::Tcp => self.bind_tcp(binding.port),
        }
        .map_err(bind_error)
    }

    fn unbind(&mut self, binding: Binding) {
        match binding.protocol {
            Protocol::Udp => drop(self.udp.remove(&binding.port)),
            Protocol::Tcp => drop(self.listeners.remove(&binding.port)),
        }
    }

    async fn send(&mut self, transmit: Transmit) -> io::Result<()> {
        match transmit {
            Transmit::Datagram(d) => self.send_datagram(d).await,
            Transmit::Stream(command) => {
                self.command(command);
                Ok(())
            }
            Transmit::Bind(_) | Transmit::Unbind(_) => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "binds are answered by the drive loop, not sent",
            )),
        }
    }

    /// Cancel-safe: a note is turned into an input without awaiting.
    async fn recv(&mut self) -> io::Result<Incoming> {
        loop {
            let Some(note) = self.rx.recv().await else {
                return Err(io::Error::new(
                    io::ErrorKind::BrokenPipe,
                    "socket tasks stopped",
                ));
            };
            if let Some(input) = self.on_note(note) {
                return input;
            }
        }
    }
}

fn bind_error(e: io::Error) -> BindError {
    match e.kind() {
        io::ErrorKind::AddrInUse => BindError::InUse,
        _ => BindError::Os(e.to_string()),
    }
}

/// tokio's clock, counted from when the run started.
#[derive(Clone, Copy, Debug)]
pub struct LiveClock {
    start: Instant,
}

impl LiveClock {
    /// A clock whose zero is now.
    pub fn start() -> Self {
        Self {
            start: Instant::now(),
        }
    }
}

impl Clock for LiveClock {
    fn now(&self) -> SimInstant {
        SimInstant::from_duration(self.start.elapsed())
    }

    async fn sleep_until(&self, deadline: SimInstant) {
        tokio::time::sleep_until(self.start + deadline.since_start()).await;
    }
}

#[cfg(test)]
mod tests;

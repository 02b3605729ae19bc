//! A tiny in-process network: one client side and the server, TCP modelled as ordered
//! deliveries with a fixed latency, time jumping to the next delivery or client deadline.

use crate::{
    AaeApp, AaeWebServer, DeviceLogin, Lifetimes, ServerEvent, WebClient, WebEvent, WebFlow,
    WebServerConfig,
};
use bytes::Bytes;
use sim_core::{
    Addresses, Node, Seed, SimInstant, StreamCommand, StreamError, StreamEvent, StreamId, Transmit,
};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

pub(crate) const LATENCY: Duration = Duration::from_millis(5);

pub(crate) fn server_addr() -> SocketAddr {
    "203.0.113.10:80".parse().unwrap()
}

pub(crate) fn client_addr() -> SocketAddr {
    "198.51.100.20:40000".parse().unwrap()
}

/// What a client side offers the harness.
pub(crate) trait Side {
    fn stream(&mut self, now: SimInstant, e: &StreamEvent) -> bool;
    fn transmit(&mut self) -> Option<Transmit>;
    fn timeout(&self) -> Option<SimInstant>;
    fn on_timeout(&mut self, now: SimInstant);
}

impl Side for WebClient {
    fn stream(&mut self, now: SimInstant, e: &StreamEvent) -> bool {
        self.handle_stream(now, e)
    }
    fn transmit(&mut self) -> Option<Transmit> {
        self.poll_transmit()
    }
    fn timeout(&self) -> Option<SimInstant> {
        self.poll_timeout()
    }
    fn on_timeout(&mut self, now: SimInstant) {
        self.handle_timeout(now);
    }
}

impl Side for WebFlow {
    fn stream(&mut self, now: SimInstant, e: &StreamEvent) -> bool {
        self.handle_stream(now, e)
    }
    fn transmit(&mut self) -> Option<Transmit> {
        self.poll_transmit()
    }
    fn timeout(&self) -> Option<SimInstant> {
        self.poll_timeout()
    }
    fn on_timeout(&mut self, now: SimInstant) {
        self.handle_timeout(now);
    }
}

impl Side for DeviceLogin {
    fn stream(&mut self, now: SimInstant, e: &StreamEvent) -> bool {
        self.handle_stream(now, e)
    }
    fn transmit(&mut self) -> Option<Transmit> {
        self.poll_transmit()
    }
    fn timeout(&self) -> Option<SimInstant> {
        self.poll_timeout()
    }
    fn on_timeout(&mut self, now: SimInstant) {
        self.handle_timeout(now);
    }
}

impl Side for AaeApp {
    fn stream(&mut self, now: SimInstant, e: &StreamEvent) -> bool {
        self.handle_stream(now, e.clone());
        true
    }
    fn transmit(&mut self) -> Option<Transmit> {
        self.poll_transmit()
    }
    fn timeout(&self) -> Option<SimInstant> {
        self.poll_timeout()
    }
    fn on_timeout(&mut self, now: SimInstant) {
        self.handle_timeout(now);
    }
}

#[derive(Debug)]
enum To {
    Server(StreamEvent),
    Client(StreamEvent),
}

/// The server and the wires to it.
pub(crate) struct Net {
    pub(crate) now: SimInstant,
    pub(crate) server: AaeWebServer,
    /// Deliver data to the server in chunks of this many bytes.
    pub(crate) chunk: Option<usize>,
    /// Refuse connections (nothing listens).
    pub(crate) down: bool,
    pub(crate) server_events: Vec<ServerEvent>,
    queue: BTreeMap<(SimInstant, u64), To>,
    seq: u64,
    /// client id -> server id, and back.
    c2s: BTreeMap<StreamId, StreamId>,
    s2c: BTreeMap<StreamId, StreamId>,
    next_accept: u64,
}

pub(crate) fn accounts() -> Vec<(String, String)> {
    vec![
        ("alice".into(), "alice-pw".into()),
        ("bob".into(), "bob-pw".into()),
    ]
}

impl Net {
    pub(crate) fn new(lifetimes: Lifetimes) -> Self {
        let config = WebServerConfig {
            accounts: accounts(),
            lifetimes,
            ..WebServerConfig::default()
        };
        let mut server = AaeWebServer::new(config, Seed::new(7).derive("web").rng());
        server.handle_start(SimInstant::ZERO, Addresses::single(server_addr().ip()));
        Self {
            now: SimInstant::ZERO,
            server,
            chunk: None,
            down: false,
            server_events: Vec::new(),
            queue: BTreeMap::new(),
            seq: 0,
            c2s: BTreeMap::new(),
            s2c: BTreeMap::new(),
            next_accept: 1,
        }
    }

    fn push(&mut self, to: To) {
        self.seq += 1;
        self.queue.insert((self.now + LATENCY, self.seq), to);
    }

    fn on_client(&mut self, cmd: StreamCommand) {
        match cmd {
            StreamCommand::Connect { id, dst } => {
                if self.down || dst != server_addr() {
                    let e = StreamError::Refused;
                    self.push(To::Client(StreamEvent::Failed { id, error: e }));
                    return;
                }
                let sid = StreamId(StreamId::ACCEPTED | self.next_accept);
                self.next_accept += 1;
                self.c2s.insert(id, sid);
                self.s2c.insert(sid, id);
                let (local, remote) = (server_addr(), client_addr());
                self.push(To::Server(StreamEvent::Accepted {
                    id: sid,
                    local,
                    remote,
                }));
                self.push(To::Client(StreamEvent::Connected { id, local: remote }));
            }
            StreamCommand::Send { id, data } => {
                let Some(&sid) = self.c2s.get(&id) else {
                    return;
                };
                let size = self.chunk.unwrap_or(usize::MAX).max(1);
                for piece in data.chunks(size) {
                    let data = Bytes::copy_from_slice(piece);
                    self.push(To::Server(StreamEvent::Data { id: sid, data }));
                }
            }
            StreamCommand::Close { id } => {
                if let Some(sid) = self.c2s.remove(&id) {
                    self.push(To::Server(StreamEvent::Closed { id: sid }));
                }
            }
            StreamCommand::Abort { id } => {
                if let Some(sid) = self.c2s.remove(&id) {
                    let e = StreamError::Reset;
                    self.push(To::Server(StreamEvent::Failed { id: sid, error: e }));
                }
            }
        }
    }

    fn on_server(&mut self, cmd: StreamCommand) {
        match cmd {
            StreamCommand::Send { id, data } => {
                if let Some(&cid) = self.s2c.get(&id) {
                    self.push(To::Client(StreamEvent::Data { id: cid, data }));
                }
            }
            StreamCommand::Close { id } => {
                if let Some(cid) = self.s2c.remove(&id) {
                    self.push(To::Client(StreamEvent::Closed { id: cid }));
                }
            }
            StreamCommand::Abort { id } => {
                if let Some(cid) = self.s2c.remove(&id) {
                    let e = StreamError::Reset;
                    self.push(To::Client(StreamEvent::Failed { id: cid, error: e }));
                }
            }
            StreamCommand::Connect { .. } => {}
        }
    }

    fn pump<S: Side>(&mut self, side: &mut S) {
        loop {
            let mut any = false;
            while let Some(t) = side.transmit() {
                any = true;
                if let Transmit::Stream(cmd) = t {
                    self.on_client(cmd);
                }
            }
            while let Some(t) = self.server.poll_transmit() {
                any = true;
                if let Transmit::Stream(cmd) = t {
                    self.on_server(cmd);
                }
            }
            while let Some(e) = self.server.poll_event() {
                self.server_events.push(e);
            }
            if !any {
                return;
            }
        }
    }

    /// Runs until nothing is left to do or `for_` has passed.
    pub(crate) fn run<S: Side>(&mut self, side: &mut S, for_: Duration) {
        let until = self.now + for_;
        loop {
            self.pump(side);
            let next_delivery = self.queue.keys().next().map(|k| k.0);
            let next = match (next_delivery, side.timeout()) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => match a.or(b) {
                    Some(t) => t,
                    None => return,
                },
            };
            if next > until {
                self.now = until;
                return;
            }
            self.now = self.now.max(next);
            if next_delivery == Some(next) {
                let Some((_, to)) = self.queue.pop_first() else {
                    return;
                };
                match to {
                    To::Server(e) => self.server.handle_stream(self.now, e),
                    To::Client(e) => {
                        side.stream(self.now, &e);
                    }
                }
            } else {
                side.on_timeout(self.now);
            }
        }
    }

    /// Jumps time forward with nothing happening.
    pub(crate) fn sleep(&mut self, d: Duration) {
        self.now += d;
    }
}

/// The names of the events an app reported.
pub(crate) fn names(events: &[WebEvent]) -> Vec<&'static str> {
    events.iter().map(WebEvent::name).collect()
}

/// Every event an app has reported so far.
pub(crate) fn drain(app: &mut AaeApp) -> Vec<WebEvent> {
    std::iter::from_fn(|| app.poll_event()).collect()
}

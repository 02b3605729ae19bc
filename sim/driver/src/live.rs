//! The live back-end: real tokio sockets and tokio's clock.
//!
//! Live mode runs the very same cores against real peers (SIPp, kamailio, coturn) or real
//! devices. It binds only the address it is given (tests use loopback). TCP is not carried in
//! live mode yet: a stream command fails with [`std::io::ErrorKind::Unsupported`].

use crate::{Clock, Incoming, Transport};
use bytes::Bytes;
use sim_core::{Addresses, BindError, Binding, Datagram, Protocol, SimInstant, Transmit};
use std::collections::BTreeMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;
use tokio::net::UdpSocket;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Largest datagram the live transport receives.
const MAX_DATAGRAM: usize = 65_535;

/// Real UDP sockets on one local address. Must run inside a tokio `LocalSet`.
#[derive(Debug)]
pub struct LiveTransport {
    ip: IpAddr,
    sockets: BTreeMap<u16, Rc<UdpSocket>>,
    readers: BTreeMap<u16, JoinHandle<()>>,
    tx: UnboundedSender<io::Result<Incoming>>,
    rx: UnboundedReceiver<io::Result<Incoming>>,
}

impl LiveTransport {
    /// A transport that binds its sockets on `ip`.
    pub fn new(ip: IpAddr) -> Self {
        let (tx, rx) = unbounded_channel();
        Self {
            ip,
            sockets: BTreeMap::new(),
            readers: BTreeMap::new(),
            tx,
            rx,
        }
    }

    /// The local address of the socket bound for `port` (the actual port when 0 was asked).
    pub fn local_addr(&self, port: u16) -> Option<SocketAddr> {
        self.sockets.get(&port).and_then(|s| s.local_addr().ok())
    }

    fn bind_udp(&mut self, port: u16) -> io::Result<Rc<UdpSocket>> {
        let std = std::net::UdpSocket::bind(SocketAddr::new(self.ip, port))?;
        std.set_nonblocking(true)?;
        let socket = Rc::new(UdpSocket::from_std(std)?);
        let actual = socket.local_addr()?.port();
        self.sockets.insert(actual, Rc::clone(&socket));
        let reader = Rc::clone(&socket);
        let tx = self.tx.clone();
        self.readers.insert(
            actual,
            tokio::task::spawn_local(async move {
                let mut buf = vec![0u8; MAX_DATAGRAM];
                loop {
                    let input = match reader.recv_from(&mut buf).await {
                        Ok((len, src)) => reader.local_addr().map(|dst| {
                            let payload =
                                Bytes::copy_from_slice(buf.get(..len).unwrap_or_default());
                            Incoming::Datagram(Datagram { src, dst, payload })
                        }),
                        Err(e) => Err(e),
                    };
                    if tx.send(input).is_err() {
                        return;
                    }
                }
            }),
        );
        Ok(socket)
    }
}

impl Drop for LiveTransport {
    fn drop(&mut self) {
        for reader in self.readers.values() {
            reader.abort();
        }
    }
}

impl Transport for LiveTransport {
    fn addresses(&self) -> Addresses {
        Addresses::single(self.ip)
    }

    fn bind(&mut self, binding: Binding) -> Result<SocketAddr, BindError> {
        match binding.protocol {
            Protocol::Udp => {
                if binding.port != 0 && self.sockets.contains_key(&binding.port) {
                    return Err(BindError::InUse);
                }
                let socket = self.bind_udp(binding.port).map_err(bind_error)?;
                socket.local_addr().map_err(bind_error)
            }
            Protocol::Tcp => Err(BindError::Os(
                "TCP listeners are not available in live mode".into(),
            )),
        }
    }

    fn unbind(&mut self, binding: Binding) {
        if binding.protocol == Protocol::Udp {
            self.sockets.remove(&binding.port);
            if let Some(reader) = self.readers.remove(&binding.port) {
                reader.abort();
            }
        }
    }

    async fn send(&mut self, transmit: Transmit) -> io::Result<()> {
        match transmit {
            Transmit::Datagram(d) => {
                let socket = match self.sockets.get(&d.src.port()) {
                    Some(s) => Rc::clone(s),
                    None => self.bind_udp(d.src.port())?,
                };
                socket.send_to(&d.payload, d.dst).await.map(drop)
            }
            Transmit::Stream(_) => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "TCP streams are not available in live mode",
            )),
            Transmit::Bind(_) | Transmit::Unbind(_) => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "binds are answered by the drive loop, not sent",
            )),
        }
    }

    async fn recv(&mut self) -> io::Result<Incoming> {
        match self.rx.recv().await {
            Some(input) => input,
            None => Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "socket readers stopped",
            )),
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
mod tests {
    use super::*;
    use crate::{Control, drive};

    /// Sends one datagram to `peer` at once and reports the replies it gets.
    struct Pinger {
        peer: SocketAddr,
        sent: bool,
        out: Vec<Transmit>,
        got: Vec<Bytes>,
    }

    impl sim_core::Node for Pinger {
        type Event = Bytes;
        fn bindings(&self) -> Vec<Binding> {
            vec![Binding {
                protocol: Protocol::Udp,
                port: 0,
            }]
        }
        fn handle_datagram(&mut self, _: SimInstant, d: Datagram) {
            self.got.push(d.payload);
        }
        fn handle_timeout(&mut self, _: SimInstant) {
            self.sent = true;
            let src = "0.0.0.0:0".parse().expect("literal");
            self.out.push(Transmit::Datagram(Datagram {
                src,
                dst: self.peer,
                payload: Bytes::from_static(b"ping"),
            }));
        }
        fn poll_transmit(&mut self) -> Option<Transmit> {
            self.out.pop()
        }
        fn poll_event(&mut self) -> Option<Bytes> {
            self.got.pop()
        }
        fn poll_timeout(&self) -> Option<SimInstant> {
            (!self.sent).then_some(SimInstant::ZERO)
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn drive_live_loopback_timeout_sends_and_reply_is_reported() {
        let local = tokio::task::LocalSet::new();
        local
            .run_until(async {
                let peer = UdpSocket::bind("127.0.0.1:0").await.expect("bind peer");
                let peer_addr = peer.local_addr().expect("peer addr");
                tokio::task::spawn_local(async move {
                    let mut buf = [0u8; 64];
                    let (n, from) = peer.recv_from(&mut buf).await.expect("recv");
                    peer.send_to(&buf[..n], from).await.expect("send");
                });
                let mut node = Pinger {
                    peer: peer_addr,
                    sent: false,
                    out: vec![],
                    got: vec![],
                };
                let mut transport = LiveTransport::new("127.0.0.1".parse().expect("literal"));
                let clock = LiveClock::start();
                let (control, mut controls) = unbounded_channel::<Control<Pinger>>();
                let (got_tx, mut got_rx) = unbounded_channel();
                let mut sink = |t, e| {
                    let _ = got_tx.send((t, e));
                };
                let run = drive(&mut node, &mut transport, &clock, &mut controls, &mut sink);
                let stop = async {
                    let first = got_rx.recv().await;
                    drop(control);
                    first
                };
                let (result, first) = tokio::join!(run, stop);
                result.expect("drive");
                let (_, payload) = first.expect("a reply was reported");
                assert_eq!(payload, Bytes::from_static(b"ping"));
            })
            .await;
    }
}

//! The live transport on real loopback sockets, driven by the one drive loop. Nothing sleeps:
//! every wait is on a channel or a socket, bounded by [`WAIT`].

use super::*;
use crate::{Control, DriveError, drive};
use bytes::Bytes;
use sim_core::{Bind, BindId, Bound, Datagram, Node};
use std::collections::VecDeque;
use std::future::Future;
use std::net::Ipv4Addr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio::task::JoinHandle;
use tokio::time::timeout;

/// The longest any step may take before the test fails.
const WAIT: Duration = Duration::from_secs(10);
const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// Runs `test` on a current-thread runtime inside a `LocalSet`, as live mode runs.
fn on_loopback<F: Future<Output = ()>>(test: impl FnOnce() -> F) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(tokio::task::LocalSet::new().run_until(test()));
}

/// What the scripted core saw.
#[derive(Debug, PartialEq, Eq)]
enum Seen {
    Started(Addresses),
    Bound(Bound),
    Datagram(Datagram),
    Stream(StreamEvent),
    /// A step of the script ran and its transmits went out.
    Done,
}

/// A core the test scripts. At start it learns its address and binds a UDP and a TCP port 0;
/// afterwards it transmits what the test tells it to and reports everything it sees.
#[derive(Debug, Default)]
struct Script {
    out: VecDeque<Transmit>,
    seen: VecDeque<Seen>,
}

impl Node for Script {
    type Event = Seen;
    fn bindings(&self) -> Vec<Binding> {
        Vec::new()
    }
    fn handle_start(&mut self, _: SimInstant, addresses: Addresses) {
        self.seen.push_back(Seen::Started(addresses));
        for (id, binding) in [(0, Binding::udp(0)), (1, Binding::tcp(0))] {
            let id = BindId(id);
            self.out.push_back(Transmit::Bind(Bind { id, binding }));
        }
    }
    fn handle_bound(&mut self, _: SimInstant, bound: Bound) {
        self.seen.push_back(Seen::Bound(bound));
    }
    fn handle_datagram(&mut self, _: SimInstant, datagram: Datagram) {
        self.seen.push_back(Seen::Datagram(datagram));
    }
    fn handle_stream(&mut self, _: SimInstant, event: StreamEvent) {
        self.seen.push_back(Seen::Stream(event));
    }
    fn handle_timeout(&mut self, _: SimInstant) {}
    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.out.pop_front()
    }
    fn poll_event(&mut self) -> Option<Seen> {
        self.seen.pop_front()
    }
    fn poll_timeout(&self) -> Option<SimInstant> {
        None
    }
}

/// The scripted node, driven over a live loopback transport, and the test's hands on it.
struct Live {
    control: UnboundedSender<Control<Script>>,
    seen: UnboundedReceiver<Seen>,
    run: JoinHandle<Result<(), DriveError>>,
    /// The UDP port it bound at start.
    udp: SocketAddr,
    /// The TCP listener it bound at start.
    tcp: SocketAddr,
}

impl Live {
    /// Starts the node and waits for its two run-time binds.
    async fn start() -> Self {
        let (control, mut controls) = unbounded_channel::<Control<Script>>();
        let (seen_tx, mut seen) = unbounded_channel();
        let run = tokio::task::spawn_local(async move {
            let mut node = Script::default();
            let mut transport = LiveTransport::new(LOOPBACK);
            let clock = LiveClock::start();
            let mut sink = |_, s| {
                let _ = seen_tx.send(s);
            };
            drive(&mut node, &mut transport, &clock, &mut controls, &mut sink).await
        });
        assert_eq!(
            next(&mut seen).await,
            Seen::Started(Addresses::single(LOOPBACK))
        );
        let udp = bound(next(&mut seen).await, Binding::udp(0));
        let tcp = bound(next(&mut seen).await, Binding::tcp(0));
        Self {
            control,
            seen,
            run,
            udp,
            tcp,
        }
    }

    /// The next thing the node saw.
    async fn next(&mut self) -> Seen {
        next(&mut self.seen).await
    }

    /// The next stream event the node saw.
    async fn stream(&mut self) -> StreamEvent {
        match self.next().await {
            Seen::Stream(e) => e,
            other => panic!("expected a stream event, got {other:?}"),
        }
    }

    /// Has the node transmit `transmits` now, and waits until they went out.
    async fn transmit(&mut self, transmits: Vec<Transmit>) {
        let step: Control<Script> = Box::new(move |node, _| {
            node.out.extend(transmits);
            node.seen.push_back(Seen::Done);
        });
        self.control.send(step).expect("node running");
        assert_eq!(self.next().await, Seen::Done);
    }

    /// Stops the node and checks the loop ended cleanly.
    async fn stop(self) {
        drop(self.control);
        let result = timeout(WAIT, self.run).await.expect("stops in time");
        result.expect("drive task").expect("drive");
    }
}

async fn next(seen: &mut UnboundedReceiver<Seen>) -> Seen {
    timeout(WAIT, seen.recv())
        .await
        .expect("the node saw something in time")
        .expect("node running")
}

/// The address of a successful run-time bind of `binding`.
fn bound(seen: Seen, binding: Binding) -> SocketAddr {
    let Seen::Bound(Bound {
        id: Some(_),
        binding: b,
        result: Ok(local),
    }) = seen
    else {
        panic!("expected {binding:?} bound, got {seen:?}")
    };
    assert_eq!(b, binding);
    assert_eq!(local.ip(), LOOPBACK);
    assert_ne!(local.port(), 0, "the real port, not the one asked for");
    local
}

fn datagram(src_port: u16, dst: SocketAddr, payload: &'static [u8]) -> Transmit {
    Transmit::Datagram(Datagram {
        src: SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), src_port),
        dst,
        payload: Bytes::from_static(payload),
    })
}

fn stream(command: StreamCommand) -> Transmit {
    Transmit::Stream(command)
}

/// Collects `Data` on `id` until `len` bytes came.
async fn read_data(live: &mut Live, id: StreamId, len: usize) -> Vec<u8> {
    let mut got = Vec::new();
    while got.len() < len {
        match live.stream().await {
            StreamEvent::Data { id: on, data } if on == id => got.extend_from_slice(&data),
            other => panic!("expected data on {id:?}, got {other:?}"),
        }
    }
    got
}

/// Reads `stream` to its end, within [`WAIT`].
async fn read_to_end(stream: &mut TcpStream) -> io::Result<Vec<u8>> {
    let mut got = Vec::new();
    timeout(WAIT, stream.read_to_end(&mut got))
        .await
        .expect("peer read in time")?;
    Ok(got)
}

/// A port nothing listens on: bound, then released.
fn closed_port() -> SocketAddr {
    let l = std::net::TcpListener::bind((LOOPBACK, 0)).expect("bind");
    l.local_addr().expect("addr")
}

#[test]
fn live_started_node_run_time_binds_answer_real_ports_that_receive() {
    on_loopback(|| async {
        let mut live = Live::start().await;
        let peer = UdpSocket::bind((LOOPBACK, 0)).await.expect("bind peer");
        peer.send_to(b"hello", live.udp).await.expect("send");
        let expected = Datagram {
            src: peer.local_addr().expect("addr"),
            dst: live.udp,
            payload: Bytes::from_static(b"hello"),
        };
        assert_eq!(live.next().await, Seen::Datagram(expected));
        let mut peers = Vec::new();
        for n in 0..2 {
            let peer = TcpStream::connect(live.tcp).await.expect("connect");
            let accepted = StreamEvent::Accepted {
                id: StreamId(StreamId::ACCEPTED | n),
                local: live.tcp,
                remote: peer.local_addr().expect("addr"),
            };
            assert_eq!(
                live.stream().await,
                accepted,
                "ids count up in accept order"
            );
            peers.push(peer);
        }
        drop(peers);
        for n in 0..2 {
            let id = StreamId(StreamId::ACCEPTED | n);
            assert_eq!(live.stream().await, StreamEvent::Closed { id });
        }
        live.stop().await;
    });
}

#[test]
fn live_udp_bound_port_send_to_peer_goes_from_that_port_and_reply_is_delivered() {
    on_loopback(|| async {
        let mut live = Live::start().await;
        let peer = UdpSocket::bind((LOOPBACK, 0)).await.expect("bind peer");
        let peer_addr = peer.local_addr().expect("addr");
        live.transmit(vec![datagram(live.udp.port(), peer_addr, b"ping")])
            .await;
        let mut buf = [0u8; 64];
        let (n, from) = timeout(WAIT, peer.recv_from(&mut buf))
            .await
            .expect("in time")
            .expect("recv");
        assert_eq!((&buf[..n], from), (&b"ping"[..], live.udp));
        peer.send_to(b"pong", from).await.expect("send");
        let reply = Datagram {
            src: peer_addr,
            dst: live.udp,
            payload: Bytes::from_static(b"pong"),
        };
        assert_eq!(live.next().await, Seen::Datagram(reply));
        live.stop().await;
    });
}

#[test]
fn live_tcp_connect_to_echoing_peer_gets_data_back_and_close_ends_both_sides() {
    on_loopback(|| async {
        let mut live = Live::start().await;
        let listener = TcpListener::bind((LOOPBACK, 0)).await.expect("listen");
        let dst = listener.local_addr().expect("addr");
        let peer = tokio::task::spawn_local(async move {
            let (mut s, _) = listener.accept().await.expect("accept");
            let mut first = [0u8; 5];
            s.read_exact(&mut first).await.expect("read");
            s.write_all(b"hello back").await.expect("write");
            let rest = read_to_end(&mut s).await.expect("read to FIN");
            (first, rest)
        });
        let id = StreamId(1);
        // Sent while still connecting: the bytes wait for the connection.
        live.transmit(vec![
            stream(StreamCommand::Connect { id, dst }),
            stream(StreamCommand::Send {
                id,
                data: Bytes::from_static(b"hello"),
            }),
        ])
        .await;
        let StreamEvent::Connected { id: got, local } = live.stream().await else {
            panic!("not connected")
        };
        assert_eq!((got, local.ip()), (id, LOOPBACK));
        assert_eq!(read_data(&mut live, id, 10).await, b"hello back");
        live.transmit(vec![stream(StreamCommand::Close { id })])
            .await;
        let (first, rest) = timeout(WAIT, peer).await.expect("in time").expect("peer");
        assert_eq!(
            (&first[..], rest.len()),
            (&b"hello"[..], 0),
            "FIN after the data"
        );
        assert_eq!(live.stream().await, StreamEvent::Closed { id });
        let late = Bytes::from_static(b"late");
        live.transmit(vec![stream(StreamCommand::Send { id, data: late })])
            .await;
        let failed = StreamEvent::Failed {
            id,
            error: StreamError::Reset,
        };
        assert_eq!(live.stream().await, failed, "a finished connection is gone");
        live.stop().await;
    });
}

#[test]
fn live_tcp_connect_to_closed_port_fails_refused() {
    on_loopback(|| async {
        let mut live = Live::start().await;
        let id = StreamId(4);
        let dst = closed_port();
        live.transmit(vec![stream(StreamCommand::Connect { id, dst })])
            .await;
        let refused = StreamEvent::Failed {
            id,
            error: StreamError::Refused,
        };
        assert_eq!(live.stream().await, refused);
        live.stop().await;
    });
}

#[test]
fn live_tcp_accepted_peer_sends_and_closes_node_gets_data_closed_and_answers() {
    on_loopback(|| async {
        let mut live = Live::start().await;
        let mut peer = TcpStream::connect(live.tcp).await.expect("connect");
        let StreamEvent::Accepted { id, .. } = live.stream().await else {
            panic!("not accepted")
        };
        assert!(id.is_accepted());
        peer.write_all(b"hi").await.expect("write");
        peer.shutdown().await.expect("FIN");
        assert_eq!(read_data(&mut live, id, 2).await, b"hi");
        assert_eq!(live.stream().await, StreamEvent::Closed { id });
        let data = Bytes::from_static(b"bye");
        live.transmit(vec![
            stream(StreamCommand::Send { id, data }),
            stream(StreamCommand::Close { id }),
        ])
        .await;
        assert_eq!(read_to_end(&mut peer).await.expect("read"), b"bye");
        live.stop().await;
    });
}

#[test]
fn live_udp_unbound_port_datagram_is_not_delivered() {
    on_loopback(|| async {
        let mut live = Live::start().await;
        let bind = Bind {
            id: BindId(7),
            binding: Binding::udp(0),
        };
        live.transmit(vec![Transmit::Bind(bind)]).await;
        let other = bound(live.next().await, Binding::udp(0));
        let unbind = Transmit::Unbind(Binding::udp(live.udp.port()));
        live.transmit(vec![unbind]).await;
        let peer = UdpSocket::bind((LOOPBACK, 0)).await.expect("bind peer");
        peer.send_to(b"lost", live.udp).await.expect("send");
        peer.send_to(b"marker", other).await.expect("send");
        let Seen::Datagram(d) = live.next().await else {
            panic!("no datagram")
        };
        assert_eq!((&d.payload[..], d.dst), (&b"marker"[..], other));
        live.stop().await;
    });
}

#[test]
fn live_tcp_unbound_listener_refuses_new_connections_and_keeps_accepted_ones() {
    on_loopback(|| async {
        let mut live = Live::start().await;
        let mut peer = TcpStream::connect(live.tcp).await.expect("connect");
        let StreamEvent::Accepted { id: accepted, .. } = live.stream().await else {
            panic!("not accepted")
        };
        let unbind = Transmit::Unbind(Binding::tcp(live.tcp.port()));
        live.transmit(vec![unbind]).await;
        let id = StreamId(2);
        live.transmit(vec![stream(StreamCommand::Connect { id, dst: live.tcp })])
            .await;
        let refused = StreamEvent::Failed {
            id,
            error: StreamError::Refused,
        };
        assert_eq!(live.stream().await, refused);
        peer.write_all(b"still up").await.expect("write");
        assert_eq!(read_data(&mut live, accepted, 8).await, b"still up");
        live.stop().await;
    });
}

#[test]
fn live_tcp_abort_resets_the_peer_and_the_id_is_gone() {
    on_loopback(|| async {
        let mut live = Live::start().await;
        let listener = TcpListener::bind((LOOPBACK, 0)).await.expect("listen");
        let dst = listener.local_addr().expect("addr");
        let id = StreamId(3);
        live.transmit(vec![stream(StreamCommand::Connect { id, dst })])
            .await;
        let (mut peer, _) = timeout(WAIT, listener.accept())
            .await
            .expect("in time")
            .expect("accept");
        assert!(matches!(live.stream().await, StreamEvent::Connected { .. }));
        let data = Bytes::from_static(b"x");
        live.transmit(vec![
            stream(StreamCommand::Abort { id }),
            stream(StreamCommand::Send { id, data }),
        ])
        .await;
        let error = read_to_end(&mut peer).await.expect_err("reset");
        assert_eq!(error.kind(), io::ErrorKind::ConnectionReset);
        let failed = StreamEvent::Failed {
            id,
            error: StreamError::Reset,
        };
        assert_eq!(live.stream().await, failed, "a send after abort");
        live.stop().await;
    });
}

#[test]
fn live_tcp_accepted_peer_resets_node_gets_failed_reset() {
    on_loopback(|| async {
        let mut live = Live::start().await;
        let peer = TcpStream::connect(live.tcp).await.expect("connect");
        let StreamEvent::Accepted { id, .. } = live.stream().await else {
            panic!("not accepted")
        };
        peer.set_zero_linger().expect("linger");
        drop(peer);
        let failed = StreamEvent::Failed {
            id,
            error: StreamError::Reset,
        };
        assert_eq!(live.stream().await, failed);
        live.stop().await;
    });
}

/// Sends one datagram to `peer` at once and reports the replies it gets.
struct Pinger {
    peer: SocketAddr,
    sent: bool,
    out: Vec<Transmit>,
    got: Vec<Bytes>,
}

impl Node for Pinger {
    type Event = Bytes;
    fn bindings(&self) -> Vec<Binding> {
        vec![Binding::udp(0)]
    }
    fn handle_datagram(&mut self, _: SimInstant, d: Datagram) {
        self.got.push(d.payload);
    }
    fn handle_timeout(&mut self, _: SimInstant) {
        self.sent = true;
        self.out.push(datagram(0, self.peer, b"ping"));
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

#[test]
fn drive_live_loopback_timeout_sends_and_reply_is_reported() {
    on_loopback(|| async {
        let peer = UdpSocket::bind((LOOPBACK, 0)).await.expect("bind peer");
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
        let mut transport = LiveTransport::new(LOOPBACK);
        let clock = LiveClock::start();
        let (control, mut controls) = unbounded_channel::<Control<Pinger>>();
        let (got_tx, mut got_rx) = unbounded_channel();
        let mut sink = |t, e| {
            let _ = got_tx.send((t, e));
        };
        let run = drive(&mut node, &mut transport, &clock, &mut controls, &mut sink);
        let stop = async {
            let first = timeout(WAIT, got_rx.recv()).await.expect("in time");
            drop(control);
            first
        };
        let (result, first) = tokio::join!(run, stop);
        result.expect("drive");
        let (_, payload) = first.expect("a reply was reported");
        assert_eq!(payload, Bytes::from_static(b"ping"));
    });
}

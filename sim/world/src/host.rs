//! The turmoil hosts of a world: one core host running the fabric, and site hosts running
//! nodes.
//!
//! A site host multiplexes many nodes (turmoil's cost grows about with hosts³, so endpoints
//! share hosts). Each node runs the one drive loop ([`sim_driver::drive`]) over a
//! [`SimTransport`], whose packets travel over turmoil's network to the core host as underlay
//! messages ([`crate::underlay`]). The core host feeds them to the fabric and sends deliveries
//! back to the receiving node's site.

use crate::capture::CaptureWriter;
use crate::fabric::{Fabric, NodeId, Transport as FabricTransport};
use crate::nodes::{Observation, SimNode};
use crate::record::Recorder;
use crate::tcp::{Segment, TcpStack};
use crate::underlay::Message;
use bytes::Bytes;
use sim_core::{Addresses, BindError, Binding, Datagram, Protocol, Seed, SimInstant, Transmit};
use sim_driver::{Clock, Control, Incoming, Transport, drive};
use std::cell::RefCell;
use std::fs::File;
use std::io::{self, BufWriter};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::rc::Rc;
use tokio::sync::Notify;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::task::JoinHandle;
use turmoil::net::UdpSocket;

/// The turmoil host name of the core.
pub(crate) const CORE_HOST: &str = "core";
/// The underlay's UDP port on every host.
const UNDERLAY_PORT: u16 = 9;
/// Largest underlay datagram.
const MAX_UNDERLAY: usize = 70_000;

/// Something that went wrong during a run, with when.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RunIssue {
    /// Simulated time.
    pub time: SimInstant,
    /// What happened.
    pub message: String,
}

/// State shared by every host of one world and the director stepping it. Turmoil runs all hosts
/// on one thread, one at a time, so plain `RefCell`s suffice; no borrow is held across an
/// `.await`.
#[derive(Debug)]
pub(crate) struct Shared {
    /// The scenario seed, for per-node random streams.
    pub(crate) seed: Seed,
    pub(crate) fabric: RefCell<Fabric>,
    pub(crate) recorder: RefCell<Recorder>,
    /// Current address of every node, by id.
    pub(crate) addresses: RefCell<Vec<IpAddr>>,
    /// The site host of every node, by id.
    pub(crate) site_of: Vec<usize>,
    pub(crate) site_names: Vec<String>,
    pub(crate) capture: RefCell<Option<CaptureWriter<BufWriter<File>>>>,
    pub(crate) issues: RefCell<Vec<RunIssue>>,
    /// Wakes the core when the director changed the fabric between steps.
    pub(crate) wake: Notify,
}

impl Shared {
    pub(crate) fn issue(&self, time: SimInstant, message: String) {
        self.issues.borrow_mut().push(RunIssue { time, message });
    }

    /// Writes what the fabric queued for the capture; a write error stops capturing.
    pub(crate) fn drain_capture(&self) {
        let mut fabric = self.fabric.borrow_mut();
        let mut capture = self.capture.borrow_mut();
        while let Some(rec) = fabric.poll_capture() {
            let Some(writer) = capture.as_mut() else {
                continue;
            };
            if let Err(e) = writer.write(&rec) {
                *capture = None;
                drop(capture);
                self.issue(rec.time, e.to_string());
                return;
            }
        }
    }
}

/// Simulated time as turmoil keeps it.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SimClock;

impl Clock for SimClock {
    fn now(&self) -> SimInstant {
        SimInstant::from_duration(turmoil::sim_elapsed().unwrap_or_default())
    }

    async fn sleep_until(&self, deadline: SimInstant) {
        let now = self.now();
        tokio::time::sleep(deadline - now).await;
    }
}

fn underlay_addr(host: &str) -> SocketAddr {
    SocketAddr::new(turmoil::lookup(host), UNDERLAY_PORT)
}

async fn bind_underlay() -> io::Result<UdpSocket> {
    UdpSocket::bind(SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), UNDERLAY_PORT)).await
}

// ---- core host ----

/// The core host: receives what nodes send, runs the fabric, sends deliveries, writes the
/// capture.
pub(crate) async fn run_core(shared: Rc<Shared>) -> turmoil::Result {
    let socket = bind_underlay().await?;
    let sites: Vec<SocketAddr> = shared.site_names.iter().map(|s| underlay_addr(s)).collect();
    let mut buf = vec![0u8; MAX_UNDERLAY];
    loop {
        let deadline = shared.fabric.borrow().poll_timeout();
        tokio::select! {
            biased;
            r = socket.recv_from(&mut buf) => {
                let (n, _) = r?;
                accept(&shared, &buf[..n]);
                // Take everything sent in the same step before time moves on.
                while let Ok((n, _)) = socket.try_recv_from(&mut buf) {
                    accept(&shared, &buf[..n]);
                }
            }
            () = shared.wake.notified() => {}
            () = sleep_until(deadline) => {}
        }
        let now = SimClock.now();
        shared.fabric.borrow_mut().advance(now);
        deliver(&shared, &socket, &sites)?;
        shared.drain_capture();
    }
}

async fn sleep_until(deadline: Option<SimInstant>) {
    match deadline {
        Some(d) => SimClock.sleep_until(d).await,
        None => std::future::pending().await,
    }
}

fn accept(shared: &Shared, bytes: &[u8]) {
    let mut fabric = shared.fabric.borrow_mut();
    match Message::decode(Bytes::copy_from_slice(bytes)) {
        Ok(Message::Send {
            node,
            time,
            transport,
            src_port,
            dst,
            payload,
        }) => {
            fabric.send(time, node, transport, src_port, dst, payload);
        }
        Ok(Message::Bind { node, port }) => fabric.bind_udp(node, port),
        Ok(Message::Deliver { .. }) | Err(_) => {
            drop(fabric);
            shared.issue(
                SimClock.now(),
                "core host received a malformed underlay message".into(),
            );
        }
    }
}

fn deliver(shared: &Shared, socket: &UdpSocket, sites: &[SocketAddr]) -> io::Result<()> {
    loop {
        let Some(d) = shared.fabric.borrow_mut().poll_delivery() else {
            return Ok(());
        };
        let Some(&site) = shared
            .site_of
            .get(d.node.0 as usize)
            .and_then(|&s| sites.get(s))
        else {
            continue;
        };
        let message = Message::Deliver {
            node: d.node,
            transport: d.packet.transport,
            src: d.packet.src,
            dst: d.packet.dst,
            payload: d.packet.payload,
        };
        socket.try_send_to(&message.encode(), site)?;
    }
}

// ---- site hosts ----

/// What the director asks of a site.
pub(crate) enum SiteCommand {
    /// Apply a scenario action to a node.
    Act(NodeId, Control<SimNode>),
    /// Stop a node: its task and its state are gone.
    Crash(NodeId),
    /// Start a crashed node again, fresh.
    Restart(NodeId),
}

impl std::fmt::Debug for SiteCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Act(n, _) => write!(f, "Act({n:?})"),
            Self::Crash(n) => write!(f, "Crash({n:?})"),
            Self::Restart(n) => write!(f, "Restart({n:?})"),
        }
    }
}

/// Builds a fresh core for a node (at start and on restart).
pub(crate) type NodeFactory = Rc<dyn Fn(NodeId) -> SimNode>;

/// One site host's configuration.
pub(crate) struct Site {
    pub(crate) nodes: Vec<NodeId>,
    pub(crate) commands: RefCell<Option<UnboundedReceiver<SiteCommand>>>,
    pub(crate) factory: NodeFactory,
}

impl std::fmt::Debug for Site {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Site")
            .field("nodes", &self.nodes)
            .finish_non_exhaustive()
    }
}

/// What a site hands a node's transport.
enum Inbound {
    Datagram(Datagram),
    Segment(Segment),
}

struct Slot {
    inbox: UnboundedSender<Inbound>,
    control: UnboundedSender<Control<SimNode>>,
    task: JoinHandle<()>,
}

/// A site host: runs its nodes, routes deliveries to them, applies the director's commands.
pub(crate) async fn run_site(shared: Rc<Shared>, site: Rc<Site>) -> turmoil::Result {
    let socket = Rc::new(bind_underlay().await?);
    let core = underlay_addr(CORE_HOST);
    let mut commands = site
        .commands
        .borrow_mut()
        .take()
        .ok_or("site host started twice")?;
    let mut slots: Vec<Option<Slot>> = std::iter::repeat_with(|| None)
        .take(shared.site_of.len())
        .collect();
    for &node in &site.nodes {
        if let Some(slot) = slots.get_mut(node.0 as usize) {
            *slot = Some(spawn_node(&shared, &site, &socket, core, node));
        }
    }
    let mut buf = vec![0u8; MAX_UNDERLAY];
    loop {
        tokio::select! {
            biased;
            command = commands.recv() => match command {
                Some(c) => apply(&shared, &site, &socket, core, &mut slots, c),
                None => return Ok(()),
            },
            r = socket.recv_from(&mut buf) => {
                let (n, _) = r?;
                route(&slots, &buf[..n]);
            }
        }
    }
}

fn apply(
    shared: &Rc<Shared>,
    site: &Rc<Site>,
    socket: &Rc<UdpSocket>,
    core: SocketAddr,
    slots: &mut [Option<Slot>],
    command: SiteCommand,
) {
    match command {
        SiteCommand::Act(node, action) => {
            if let Some(Some(slot)) = slots.get(node.0 as usize) {
                let _ = slot.control.send(action);
            } else {
                let name = shared.fabric.borrow().node_name(node).to_owned();
                shared.issue(
                    SimClock.now(),
                    format!("{name} is crashed; the action is ignored"),
                );
            }
        }
        SiteCommand::Crash(node) => {
            if let Some(slot) = slots.get_mut(node.0 as usize).and_then(Option::take) {
                slot.task.abort();
            }
        }
        SiteCommand::Restart(node) => {
            let fresh = Some(spawn_node(shared, site, socket, core, node));
            if let Some(Some(old)) = slots
                .get_mut(node.0 as usize)
                .map(|s| std::mem::replace(s, fresh))
            {
                old.task.abort();
            }
        }
    }
}

fn route(slots: &[Option<Slot>], bytes: &[u8]) {
    let Ok(Message::Deliver {
        node,
        transport,
        src,
        dst,
        payload,
    }) = Message::decode(Bytes::copy_from_slice(bytes))
    else {
        return;
    };
    let Some(Some(slot)) = slots.get(node.0 as usize) else {
        return;
    };
    let inbound = match transport {
        FabricTransport::Udp => Inbound::Datagram(Datagram { src, dst, payload }),
        FabricTransport::Tcp(header) => Inbound::Segment(Segment {
            local_port: dst.port(),
            remote: src,
            header,
            payload,
        }),
    };
    let _ = slot.inbox.send(inbound);
}

fn spawn_node(
    shared: &Rc<Shared>,
    site: &Rc<Site>,
    socket: &Rc<UdpSocket>,
    core: SocketAddr,
    node: NodeId,
) -> Slot {
    let (inbox, inbox_rx) = unbounded_channel();
    let (control, mut control_rx) = unbounded_channel();
    let mut core_node = (site.factory)(node);
    let mut transport = SimTransport {
        node,
        shared: Rc::clone(shared),
        socket: Rc::clone(socket),
        core,
        inbox: inbox_rx,
        next_ephemeral: 49_152,
        tcp: TcpStack::new(shared.seed.derive(&format!("tcp/{}", node.0))),
    };
    let shared = Rc::clone(shared);
    let task = tokio::task::spawn_local(async move {
        let recorder = Rc::clone(&shared);
        let mut sink = |time: SimInstant, observation: Observation| {
            recorder
                .recorder
                .borrow_mut()
                .record(time, node, observation);
        };
        if let Err(e) = drive(
            &mut core_node,
            &mut transport,
            &SimClock,
            &mut control_rx,
            &mut sink,
        )
        .await
        {
            let name = shared.fabric.borrow().node_name(node).to_owned();
            shared.issue(SimClock.now(), format!("{name} stopped: {e}"));
        }
    });
    Slot {
        inbox,
        control,
        task,
    }
}

/// A node's transport in the simulation: its packets go to the core host as underlay messages.
struct SimTransport {
    node: NodeId,
    shared: Rc<Shared>,
    socket: Rc<UdpSocket>,
    core: SocketAddr,
    inbox: UnboundedReceiver<Inbound>,
    next_ephemeral: u16,
    tcp: TcpStack,
}

impl SimTransport {
    fn local_ip(&self) -> IpAddr {
        let addresses = self.shared.addresses.borrow();
        addresses
            .get(self.node.0 as usize)
            .copied()
            .unwrap_or(Ipv4Addr::UNSPECIFIED.into())
    }

    fn send_message(&self, message: &Message) -> io::Result<()> {
        self.socket
            .try_send_to(&message.encode(), self.core)
            .map(drop)
    }

    /// Sends every segment the TCP stack queued.
    fn flush_tcp(&mut self) -> io::Result<()> {
        while let Some(seg) = self.tcp.poll_segment() {
            self.send_message(&Message::Send {
                node: self.node,
                time: SimClock.now(),
                transport: FabricTransport::Tcp(seg.header),
                src_port: seg.local_port,
                dst: seg.remote,
                payload: seg.payload,
            })?;
        }
        Ok(())
    }
}

impl Transport for SimTransport {
    fn addresses(&self) -> Addresses {
        Addresses::single(self.local_ip())
    }

    fn bind(&mut self, binding: Binding) -> Result<SocketAddr, BindError> {
        let port = if binding.port == 0 {
            self.next_ephemeral = self.next_ephemeral.checked_add(1).unwrap_or(49_152);
            self.next_ephemeral
        } else {
            binding.port
        };
        match binding.protocol {
            Protocol::Udp => self
                .send_message(&Message::Bind {
                    node: self.node,
                    port,
                })
                .map_err(|e| BindError::Os(e.to_string()))?,
            Protocol::Tcp => self.tcp.listen(port),
        }
        Ok(SocketAddr::new(self.local_ip(), port))
    }

    fn unbind(&mut self, _binding: Binding) {}

    async fn send(&mut self, transmit: Transmit) -> io::Result<()> {
        match transmit {
            Transmit::Datagram(d) => self.send_message(&Message::Send {
                node: self.node,
                time: SimClock.now(),
                transport: FabricTransport::Udp,
                src_port: d.src.port(),
                dst: d.dst,
                payload: d.payload,
            }),
            Transmit::Stream(command) => {
                self.tcp.command(SimClock.now(), command);
                self.flush_tcp()
            }
            Transmit::Bind(_) | Transmit::Unbind(_) => Ok(()),
        }
    }

    async fn recv(&mut self) -> io::Result<Incoming> {
        loop {
            if let Some(event) = self.tcp.poll_event() {
                return Ok(Incoming::Stream(event));
            }
            let deadline = self.tcp.poll_timeout();
            tokio::select! {
                biased;
                inbound = self.inbox.recv() => match inbound {
                    Some(Inbound::Datagram(d)) => return Ok(Incoming::Datagram(d)),
                    Some(Inbound::Segment(seg)) => {
                        let local = SocketAddr::new(self.local_ip(), seg.local_port);
                        self.tcp.segment(SimClock.now(), local, seg);
                    }
                    None => {
                        return Err(io::Error::new(io::ErrorKind::BrokenPipe, "site stopped"));
                    }
                },
                () = sleep_until(deadline) => self.tcp.handle_timeout(SimClock.now()),
            }
            self.flush_tcp()?;
        }
    }
}

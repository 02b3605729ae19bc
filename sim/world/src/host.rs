//! The world's one turmoil host: the fabric, every node and the timeline run as tasks of one
//! paused tokio runtime.
//!
//! Time is event-driven: a node that sends hands the packet to the fabric at once
//! ([`SimTransport`]), the fabric task sleeps until its next scheduled arrival, node tasks sleep
//! until their cores' deadlines, and the timeline task until its next action. tokio's paused
//! clock jumps from one deadline to the next, so an idle hour costs nothing and the turmoil step
//! (the scenario's `tick`) only decides how often control returns to turmoil: it has no effect
//! on what happens or when. Timers have tokio's 1 ms granularity.

use crate::capture::CaptureWriter;
use crate::fabric::{Delivery, Fabric, NodeId, Transport as FabricTransport};
use crate::nodes::{NodeEvent, SimNode};
use crate::record::Recorder;
use crate::sip_tap;
use crate::tcp::{Segment, TcpStack};
use crate::watch::SipResponseSeen;
use sim_core::{Addresses, BindError, Binding, Datagram, Protocol, Seed, SimInstant, Transmit};
use sim_driver::{Clock, Control, Incoming, Transport, drive};
use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, BufWriter};
use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;
use tokio::sync::Notify;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// The first port a node gets when it binds port 0 (the IANA dynamic range).
const EPHEMERAL_FIRST: u16 = 49_152;

/// Something that went wrong during a run, with when.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RunIssue {
    /// Simulated time.
    pub time: SimInstant,
    /// What happened.
    pub message: String,
}

/// Simulated time: the paused tokio clock, counted from the start of the run.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SimClock {
    origin: Instant,
}

impl SimClock {
    /// A clock whose zero is now (call it inside the run's runtime).
    pub(crate) fn start() -> Self {
        Self {
            origin: Instant::now(),
        }
    }
}

impl Clock for SimClock {
    fn now(&self) -> SimInstant {
        SimInstant::from_duration(self.origin.elapsed())
    }

    async fn sleep_until(&self, deadline: SimInstant) {
        tokio::time::sleep_until(self.origin + deadline.since_start()).await;
    }
}

/// Builds a fresh core for a node (at start and on restart).
pub(crate) type NodeFactory = Rc<dyn Fn(NodeId) -> SimNode>;

/// What a node's transport receives from the world.
enum Inbound {
    Datagram(Datagram),
    Segment(Segment),
    AddressChanged { old: Addresses, new: Addresses },
}

/// A running node: its task and the channels into it.
struct Slot {
    inbox: UnboundedSender<Inbound>,
    control: UnboundedSender<Control<SimNode>>,
    task: JoinHandle<()>,
}

/// State shared by the tasks of one world. They all run on one thread, one at a time, so plain
/// `RefCell`s suffice; no borrow is held across an `.await`.
pub(crate) struct Shared {
    /// The scenario seed, for per-node random streams.
    pub(crate) seed: Seed,
    pub(crate) clock: SimClock,
    pub(crate) fabric: RefCell<Fabric>,
    pub(crate) recorder: RefCell<Recorder>,
    /// Current address of every node, by id.
    pub(crate) addresses: RefCell<Vec<IpAddr>>,
    pub(crate) capture: RefCell<Option<CaptureWriter<BufWriter<File>>>>,
    pub(crate) issues: RefCell<Vec<RunIssue>>,
    /// Wakes the fabric task when a node sent or an action changed the fabric.
    wake: Notify,
    slots: RefCell<Vec<Option<Slot>>>,
    factory: NodeFactory,
    /// Whether SIP responses are looked for in deliveries.
    tap_sip: bool,
    /// Set when the run is over: nothing more is delivered or captured.
    stopped: Cell<bool>,
}

/// What remains of a world after its run.
pub(crate) struct Parts {
    pub(crate) fabric: Fabric,
    pub(crate) recorder: Recorder,
    pub(crate) issues: Vec<RunIssue>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("seed", &self.seed)
            .finish_non_exhaustive()
    }
}

impl Shared {
    pub(crate) fn new(
        seed: Seed,
        fabric: Fabric,
        recorder: Recorder,
        addresses: Vec<IpAddr>,
        capture: Option<CaptureWriter<BufWriter<File>>>,
        factory: NodeFactory,
    ) -> Self {
        let nodes = addresses.len();
        let tap_sip = recorder.wants_sip();
        Self {
            seed,
            clock: SimClock::start(),
            fabric: RefCell::new(fabric),
            recorder: RefCell::new(recorder),
            addresses: RefCell::new(addresses),
            capture: RefCell::new(capture),
            issues: RefCell::new(Vec::new()),
            wake: Notify::new(),
            slots: RefCell::new(std::iter::repeat_with(|| None).take(nodes).collect()),
            factory,
            tap_sip,
            stopped: Cell::new(false),
        }
    }

    pub(crate) fn now(&self) -> SimInstant {
        self.clock.now()
    }

    /// Sleeps until the simulated time `t`.
    pub(crate) async fn clock_sleep_until(&self, t: SimInstant) {
        self.clock.sleep_until(t).await;
    }

    /// What remains of the run once every task is gone.
    pub(crate) fn into_parts(self) -> Parts {
        Parts {
            fabric: self.fabric.into_inner(),
            recorder: self.recorder.into_inner(),
            issues: self.issues.into_inner(),
        }
    }

    pub(crate) fn issue(&self, time: SimInstant, message: String) {
        self.issues.borrow_mut().push(RunIssue { time, message });
    }

    /// Wakes the fabric task (after a send or a fault changed the fabric).
    pub(crate) fn wake(&self) {
        self.wake.notify_one();
    }

    fn node_name(&self, node: NodeId) -> String {
        self.fabric.borrow().node_name(node).to_owned()
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
                drop((capture, fabric));
                self.issue(rec.time, e.to_string());
                return;
            }
        }
    }

    /// Hands the fabric's deliveries to their nodes and its drops to the watches.
    fn deliver(&self) {
        let changes = self.fabric.borrow_mut().take_nat_log();
        if !changes.is_empty() {
            let fabric = self.fabric.borrow();
            let mut recorder = self.recorder.borrow_mut();
            for c in &changes {
                recorder.nat_event(c.time, fabric.nat_name(c.nat), &nat_log_event(&c.change));
            }
        }
        let drops = self.fabric.borrow_mut().take_drops();
        if !drops.is_empty() {
            let mut recorder = self.recorder.borrow_mut();
            for d in &drops {
                recorder.watches_mut().offer_drop(d);
            }
        }
        loop {
            let Some(d) = self.fabric.borrow_mut().poll_delivery() else {
                return;
            };
            if self.tap_sip {
                self.tap(&d);
            }
            let slots = self.slots.borrow();
            let Some(Some(slot)) = slots.get(d.node.0 as usize) else {
                continue;
            };
            let packet = d.packet;
            let inbound = match packet.transport {
                FabricTransport::Udp => Inbound::Datagram(Datagram {
                    src: packet.src,
                    dst: packet.dst,
                    payload: packet.payload,
                }),
                FabricTransport::Tcp(header) => Inbound::Segment(Segment {
                    local_port: packet.dst.port(),
                    remote: packet.src,
                    header,
                    payload: packet.payload,
                }),
            };
            let _ = slot.inbox.send(inbound);
        }
    }

    /// Counts a SIP response that reached a node over UDP.
    fn tap(&self, d: &Delivery) {
        if d.packet.transport != FabricTransport::Udp {
            return;
        }
        if let Some((code, method)) = sip_tap::response(&d.packet.payload) {
            let seen = SipResponseSeen {
                code,
                method,
                origin: d.packet.origin,
            };
            self.recorder
                .borrow_mut()
                .watches_mut()
                .offer_sip_response(d.time, seen);
        }
    }

    /// Starts (or restarts) a node: a fresh core and transport in a new task.
    pub(crate) fn spawn_node(self: &Rc<Self>, node: NodeId) {
        let (inbox, inbox_rx) = unbounded_channel();
        let (control, mut control_rx) = unbounded_channel();
        let mut core = (self.factory)(node);
        let mut transport = SimTransport {
            node,
            shared: Rc::clone(self),
            inbox: inbox_rx,
            udp: BTreeSet::new(),
            tcp_listeners: BTreeSet::new(),
            next_ephemeral: EPHEMERAL_FIRST,
            tcp: TcpStack::new(self.seed.derive(&format!("tcp/{}", node.0))),
        };
        let shared = Rc::clone(self);
        let task = tokio::task::spawn_local(async move {
            let recorder = Rc::clone(&shared);
            let mut sink = |time: SimInstant, reported: NodeEvent| {
                if let NodeEvent::Signal { to, offer } = reported {
                    recorder.act(
                        NodeId(to),
                        Box::new(move |n: &mut SimNode, now| {
                            if let SimNode::IceAgent(a) = n {
                                a.offer(now, offer);
                            }
                        }),
                    );
                    recorder.act(
                        node,
                        Box::new(|n: &mut SimNode, now| {
                            if let SimNode::IceAgent(a) = n {
                                a.apply(now);
                            }
                        }),
                    );
                    return;
                }
                recorder.recorder.borrow_mut().record(time, node, reported);
            };
            let clock = shared.clock;
            if let Err(e) = drive(
                &mut core,
                &mut transport,
                &clock,
                &mut control_rx,
                &mut sink,
            )
            .await
            {
                let name = shared.node_name(node);
                shared.issue(shared.now(), format!("{name} stopped: {e}"));
            }
        });
        let fresh = Slot {
            inbox,
            control,
            task,
        };
        if let Some(old) = self
            .slots
            .borrow_mut()
            .get_mut(node.0 as usize)
            .and_then(|s| s.replace(fresh))
        {
            old.task.abort();
        }
    }

    /// Stops a node: its task and its state are gone.
    pub(crate) fn crash_node(&self, node: NodeId) {
        let old = self
            .slots
            .borrow_mut()
            .get_mut(node.0 as usize)
            .and_then(Option::take);
        if let Some(slot) = old {
            slot.task.abort();
        }
    }

    /// Applies a scenario action to a running node.
    pub(crate) fn act(&self, node: NodeId, action: Control<SimNode>) {
        let sent = match self.slots.borrow().get(node.0 as usize) {
            Some(Some(slot)) => slot.control.send(action).is_ok(),
            _ => false,
        };
        if !sent {
            let name = self.node_name(node);
            self.issue(
                self.now(),
                format!("{name} is crashed; the action is ignored"),
            );
        }
    }

    /// Tells a running node it was renumbered.
    pub(crate) fn renumbered(&self, node: NodeId, old: IpAddr, new: IpAddr) {
        if let Some(Some(slot)) = self.slots.borrow().get(node.0 as usize) {
            let _ = slot.inbox.send(Inbound::AddressChanged {
                old: Addresses::single(old),
                new: Addresses::single(new),
            });
        }
    }

    /// Ends the run at `end`: processes what is due, then stops every node and the fabric.
    pub(crate) fn stop(&self, end: SimInstant) {
        self.fabric.borrow_mut().advance(end);
        self.deliver();
        self.drain_capture();
        self.stopped.set(true);
        for slot in self.slots.borrow_mut().iter_mut().filter_map(Option::take) {
            slot.task.abort();
        }
    }
}

/// The fabric task: processes arrivals when they are due, then hands out deliveries and writes
/// the capture.
pub(crate) async fn run_fabric(shared: Rc<Shared>) {
    loop {
        let deadline = shared.fabric.borrow().poll_timeout();
        tokio::select! {
            biased;
            () = shared.wake.notified() => {}
            () = sleep_until(shared.clock, deadline) => {}
        }
        if shared.stopped.get() {
            return;
        }
        let now = shared.now();
        shared.fabric.borrow_mut().advance(now);
        shared.deliver();
        shared.drain_capture();
    }
}

async fn sleep_until(clock: SimClock, deadline: Option<SimInstant>) {
    match deadline {
        Some(d) => clock.sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// A node's transport in the simulation: sends go straight into the fabric; deliveries come
/// through the node's inbox.
struct SimTransport {
    node: NodeId,
    shared: Rc<Shared>,
    inbox: UnboundedReceiver<Inbound>,
    udp: BTreeSet<u16>,
    tcp_listeners: BTreeSet<u16>,
    next_ephemeral: u16,
    tcp: TcpStack,
}

impl SimTransport {
    fn local_ip(&self) -> IpAddr {
        self.shared.fabric.borrow().node_ip(self.node)
    }

    fn send_packet(
        &self,
        transport: FabricTransport,
        src_port: u16,
        dst: SocketAddr,
        payload: bytes::Bytes,
    ) {
        let now = self.shared.now();
        self.shared
            .fabric
            .borrow_mut()
            .send(now, self.node, transport, src_port, dst, payload);
        self.shared.wake();
    }

    /// Sends every segment the TCP stack queued.
    fn flush_tcp(&mut self) {
        while let Some(seg) = self.tcp.poll_segment() {
            self.send_packet(
                FabricTransport::Tcp(seg.header),
                seg.local_port,
                seg.remote,
                seg.payload,
            );
        }
    }

    /// A free port of the dynamic range for `protocol`.
    fn ephemeral(&mut self, protocol: Protocol) -> Result<u16, BindError> {
        for _ in EPHEMERAL_FIRST..=u16::MAX {
            let port = self.next_ephemeral;
            self.next_ephemeral = port.checked_add(1).unwrap_or(EPHEMERAL_FIRST);
            let taken = match protocol {
                Protocol::Udp => self.udp.contains(&port),
                Protocol::Tcp => self.tcp_listeners.contains(&port),
            };
            if !taken {
                return Ok(port);
            }
        }
        Err(BindError::NoFreePort)
    }
}

impl Transport for SimTransport {
    fn addresses(&self) -> Addresses {
        Addresses::single(self.local_ip())
    }

    fn bind(&mut self, binding: Binding) -> Result<SocketAddr, BindError> {
        let port = match binding.port {
            0 => self.ephemeral(binding.protocol)?,
            port => port,
        };
        let fresh = match binding.protocol {
            Protocol::Udp => self.udp.insert(port),
            Protocol::Tcp => self.tcp_listeners.insert(port),
        };
        if !fresh {
            return Err(BindError::InUse);
        }
        match binding.protocol {
            Protocol::Udp => self.shared.fabric.borrow_mut().bind_udp(self.node, port),
            Protocol::Tcp => self.tcp.listen(port),
        }
        Ok(SocketAddr::new(self.local_ip(), port))
    }

    fn unbind(&mut self, binding: Binding) {
        match binding.protocol {
            Protocol::Udp => {
                if self.udp.remove(&binding.port) {
                    let mut fabric = self.shared.fabric.borrow_mut();
                    fabric.unbind_udp(self.node, binding.port);
                }
            }
            Protocol::Tcp => {
                if self.tcp_listeners.remove(&binding.port) {
                    self.tcp.unlisten(binding.port);
                }
            }
        }
    }

    async fn send(&mut self, transmit: Transmit) -> io::Result<()> {
        match transmit {
            Transmit::Datagram(d) => {
                let now = self.shared.now();
                self.shared.fabric.borrow_mut().send_from(
                    now,
                    self.node,
                    FabricTransport::Udp,
                    d.src,
                    d.dst,
                    d.payload,
                );
                self.shared.wake();
            }
            Transmit::Stream(command) => {
                self.tcp.command(self.shared.now(), command);
                self.flush_tcp();
            }
            Transmit::Bind(_) | Transmit::Unbind(_) => {}
        }
        Ok(())
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
                        self.tcp.segment(self.shared.now(), local, seg);
                    }
                    Some(Inbound::AddressChanged { old, new }) => {
                        return Ok(Incoming::AddressChanged { old, new });
                    }
                    None => {
                        return Err(io::Error::new(io::ErrorKind::BrokenPipe, "world stopped"));
                    }
                },
                () = sleep_until(self.shared.clock, deadline) => {
                    self.tcp.handle_timeout(self.shared.now());
                }
            }
            self.flush_tcp();
        }
    }
}

/// A NAT mapping change as an event-log entry: `nat-mapping-created`, `nat-mapping-expired`,
/// `nat-mappings-lost`.
fn nat_log_event(change: &crate::fabric::NatChange) -> sim_core::LogEvent {
    use crate::fabric::NatChange;
    use sim_core::LogEvent;
    let proto = |p: Protocol| match p {
        Protocol::Udp => "udp",
        Protocol::Tcp => "tcp",
    };
    match change {
        NatChange::Created {
            protocol,
            internal,
            external,
        } => LogEvent::named("nat-mapping-created")
            .with_detail(format!("{} {internal} -> {external}", proto(*protocol))),
        NatChange::Expired {
            protocol,
            internal,
            external,
        } => LogEvent::named("nat-mapping-expired")
            .with_detail(format!("{} {internal} -> {external}", proto(*protocol))),
        NatChange::Lost { count, cause } => LogEvent::named("nat-mappings-lost")
            .with_detail(format!("{cause}: {count} mappings lost")),
    }
}

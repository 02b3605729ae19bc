//! The one drive loop, and the transport seam it runs cores over.
//!
//! A protocol core ([`sim_core::Node`]) never touches a socket or a clock. [`drive`] owns that:
//! it binds the core's ports, then loops — flush every pending transmit and event, and wait for
//! whichever comes first: a control closure (a scenario action), an input from the network, or
//! the core's next deadline. The loop holds no protocol decision; it only moves bytes and
//! deadlines. The same loop runs in both modes:
//!
//! * **simulation**: `sim-world` supplies a [`Transport`] whose packets cross the simulated
//!   fabric (NATs, links, capture) and a [`Clock`] that reads turmoil's simulated time;
//! * **live**: [`live::LiveTransport`] binds real tokio sockets (loopback in tests) and
//!   [`live::LiveClock`] reads tokio's clock.
//!
//! ```
//! use sim_core::{Binding, Datagram, Node, Protocol, SimInstant, Transmit};
//! use sim_driver::{drive, live::{LiveClock, LiveTransport}, Control};
//!
//! /// Answers every datagram with the same bytes.
//! struct Echo(Vec<Transmit>);
//! impl Node for Echo {
//!     type Event = ();
//!     fn bindings(&self) -> Vec<Binding> { vec![Binding { protocol: Protocol::Udp, port: 0 }] }
//!     fn handle_datagram(&mut self, _: SimInstant, d: Datagram) {
//!         self.0.push(Transmit::Datagram(Datagram { src: d.dst, dst: d.src, payload: d.payload }));
//!     }
//!     fn handle_timeout(&mut self, _: SimInstant) {}
//!     fn poll_transmit(&mut self) -> Option<Transmit> { self.0.pop() }
//!     fn poll_event(&mut self) -> Option<()> { None }
//!     fn poll_timeout(&self) -> Option<SimInstant> { None }
//! }
//!
//! # let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
//! # rt.block_on(tokio::task::LocalSet::new().run_until(async {
//! let mut transport = LiveTransport::new("127.0.0.1".parse().unwrap());
//! let clock = LiveClock::start();
//! let (control, mut controls) = tokio::sync::mpsc::unbounded_channel::<Control<Echo>>();
//! drop(control); // no scenario actions: the loop ends when the channel closes
//! drive(&mut Echo(Vec::new()), &mut transport, &clock, &mut controls, &mut |_, ()| {}).await.unwrap();
//! # }));
//! ```

pub mod live;

use sim_core::{
    Addresses, BindError, Binding, Bound, Datagram, Node, SimInstant, StreamEvent, Transmit,
};
use std::io;
use std::net::SocketAddr;
use tokio::sync::mpsc::UnboundedReceiver;

/// An input for a node from its transport.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Incoming {
    /// A UDP datagram on one of the node's ports.
    Datagram(Datagram),
    /// Something happened on one of the node's TCP connections.
    Stream(StreamEvent),
    /// The node was renumbered (simulation: an `ip_change` fault).
    AddressChanged {
        /// Its addresses before.
        old: Addresses,
        /// Its addresses now.
        new: Addresses,
    },
}

/// A node's view of its network: its address, its ports, sending and receiving.
///
/// `recv` must be cancel-safe: the drive loop races it against timers and control input.
#[allow(async_fn_in_trait)]
pub trait Transport {
    /// The node's own addresses on its network (they may change: an IP change fault).
    fn addresses(&self) -> Addresses;

    /// Starts listening: a UDP socket or a TCP listener on `binding.port` (0: any free port).
    /// Returns the local address it got, with the real port.
    ///
    /// # Errors
    /// When the port is taken, no port is free, or the OS refuses.
    fn bind(&mut self, binding: Binding) -> Result<SocketAddr, BindError>;

    /// Closes a UDP socket or stops a TCP listener. Unbinding what is not bound does nothing.
    fn unbind(&mut self, binding: Binding);

    /// Sends a datagram or acts on a TCP connection. [`Transmit::Bind`] and
    /// [`Transmit::Unbind`] never reach it: [`drive`] answers them with `bind` and `unbind`.
    async fn send(&mut self, transmit: Transmit) -> io::Result<()>;

    /// Waits for the next input.
    async fn recv(&mut self) -> io::Result<Incoming>;
}

/// Where `now` comes from, and how to wait for a deadline.
#[allow(async_fn_in_trait)]
pub trait Clock {
    /// The current time since the start of the run.
    fn now(&self) -> SimInstant;

    /// Returns once `now() >= deadline`.
    async fn sleep_until(&self, deadline: SimInstant);
}

/// A scenario action for a node, applied between inputs with the current time.
pub type Control<N> = Box<dyn FnOnce(&mut N, SimInstant)>;

/// Why the drive loop stopped early.
#[derive(Debug, thiserror::Error)]
pub enum DriveError {
    /// Binding one of the node's start ports failed.
    #[error("failed to bind {binding:?}: {source}")]
    Bind {
        /// The binding.
        binding: Binding,
        /// Why.
        source: BindError,
    },
    /// The transport failed to send or receive.
    #[error("transport failed: {0}")]
    Transport(#[from] io::Error),
}

/// Runs `node` until `control` closes: binds its start ports, tells it its addresses, feeds it
/// inputs and timeouts, sends what it transmits and answers its run-time binds. Every event goes
/// to `sink` with the time it was polled.
///
/// # Errors
/// When a binding fails or the transport fails; the node's state is left as it was.
pub async fn drive<N, T, C>(
    node: &mut N,
    transport: &mut T,
    clock: &C,
    control: &mut UnboundedReceiver<Control<N>>,
    sink: &mut dyn FnMut(SimInstant, N::Event),
) -> Result<(), DriveError>
where
    N: Node,
    T: Transport,
    C: Clock,
{
    start(node, transport, clock)?;
    loop {
        flush(node, transport, clock, sink).await?;
        let deadline = node.poll_timeout();
        tokio::select! {
            biased;
            action = control.recv() => match action {
                Some(action) => action(node, clock.now()),
                None => return Ok(()),
            },
            input = transport.recv() => match input? {
                Incoming::Datagram(d) => node.handle_datagram(clock.now(), d),
                Incoming::Stream(e) => node.handle_stream(clock.now(), e),
                Incoming::AddressChanged { old, new } => {
                    node.handle_address_change(clock.now(), old, new);
                }
            },
            () = sleep_until_some(clock, deadline) => node.handle_timeout(clock.now()),
        }
    }
}

/// Binds the start ports (a failure stops the node), answers each, then starts the node.
fn start<N: Node, T: Transport, C: Clock>(
    node: &mut N,
    transport: &mut T,
    clock: &C,
) -> Result<(), DriveError> {
    for binding in node.bindings() {
        let local = transport
            .bind(binding)
            .map_err(|source| DriveError::Bind { binding, source })?;
        let bound = Bound {
            id: None,
            binding,
            result: Ok(local),
        };
        node.handle_bound(clock.now(), bound);
    }
    node.handle_start(clock.now(), transport.addresses());
    Ok(())
}

/// Sends every pending transmit (answering binds at once), then reports every pending event.
async fn flush<N: Node, T: Transport, C: Clock>(
    node: &mut N,
    transport: &mut T,
    clock: &C,
    sink: &mut dyn FnMut(SimInstant, N::Event),
) -> io::Result<()> {
    while let Some(transmit) = node.poll_transmit() {
        match transmit {
            Transmit::Bind(bind) => {
                let result = transport.bind(bind.binding);
                let bound = Bound {
                    id: Some(bind.id),
                    binding: bind.binding,
                    result,
                };
                node.handle_bound(clock.now(), bound);
            }
            Transmit::Unbind(binding) => transport.unbind(binding),
            other => transport.send(other).await?,
        }
    }
    while let Some(event) = node.poll_event() {
        sink(clock.now(), event);
    }
    Ok(())
}

async fn sleep_until_some<C: Clock>(clock: &C, deadline: Option<SimInstant>) {
    match deadline {
        Some(deadline) => clock.sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

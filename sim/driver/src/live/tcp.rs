//! Live TCP: an accept task per listener, a connect task per outgoing connection, and one task
//! per open connection that reads and writes it.
//!
//! The connection task owns its socket. It waits on whichever comes first: a command from the
//! transport ([`Op`], handled first), the socket being readable, or the socket being writable
//! while bytes are queued. Reading never waits for writing, so two peers that both write a lot
//! cannot block each other.
//!
//! ```text
//!   Connect ──▶ connect task ──Ok──▶ connection task ◀── accept task ◀── listener
//!                   │ Err                │ Data… Closed (EOF) / Failed (error)
//!                   ▼                    │ Send → queue; Close → FIN after the queue;
//!               Failed{Refused|…}        │ Abort → SO_LINGER 0, drop → RST
//!                                        ▼ both sides closed → Finished
//! ```

use super::Note;
use bytes::{Buf, Bytes};
use sim_core::{StreamError, StreamEvent, StreamId};
use std::collections::VecDeque;
use std::io;
use std::net::{IpAddr, SocketAddr};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::task::JoinHandle;

/// Bytes read from a connection at a time.
const READ_CHUNK: usize = 64 * 1024;

/// A TCP listener: its address and the task that accepts on it. Dropping it stops accepting
/// (connections already accepted stay open); the socket closes when the stopped task is
/// dropped, on the next turn of the `LocalSet`.
#[derive(Debug)]
pub(super) struct Listener {
    local: SocketAddr,
    task: JoinHandle<()>,
}

impl Listener {
    /// Listens on `addr` (port 0: any free port) and hands accepted connections to `notes`.
    pub(super) fn bind(addr: SocketAddr, notes: UnboundedSender<Note>) -> io::Result<Self> {
        let std = std::net::TcpListener::bind(addr)?;
        std.set_nonblocking(true)?;
        let listener = TcpListener::from_std(std)?;
        let local = listener.local_addr()?;
        let task = tokio::task::spawn_local(accept(listener, notes));
        Ok(Self { local, task })
    }

    /// The listener's local address, with its real port.
    pub(super) const fn local_addr(&self) -> SocketAddr {
        self.local
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Accepts until the transport goes away or the listener fails for good.
async fn accept(listener: TcpListener, notes: UnboundedSender<Note>) {
    loop {
        let note = match listener.accept().await {
            Ok((stream, remote)) => Note::Accepted { stream, remote },
            // The peer gave up before we accepted: nothing to report.
            Err(e) if is_transient(&e) => continue,
            Err(e) => {
                let _ = notes.send(Note::Input(Err(e)));
                return;
            }
        };
        if notes.send(note).is_err() {
            return;
        }
    }
}

fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
    )
}

/// What the transport asks of a connection task, in the order the core asked.
#[derive(Debug)]
pub(super) enum Op {
    /// Queue bytes.
    Data(Bytes),
    /// Send FIN once the queue is empty.
    Close,
    /// Reset now (RST), dropping whatever is queued.
    Abort,
}

/// The transport's handle on one connection: where its commands go, and, while it is still
/// connecting, the commands queued for it and the connect task.
#[derive(Debug)]
pub(super) struct Stream {
    ops: UnboundedSender<Op>,
    connecting: Option<(UnboundedReceiver<Op>, JoinHandle<()>)>,
}

impl Stream {
    /// Starts connecting to `dst` from `ip` (when of the same family); the outcome comes back as
    /// [`Note::Connected`]. Commands given meanwhile wait for the connection.
    pub(super) fn connect(
        id: StreamId,
        ip: IpAddr,
        dst: SocketAddr,
        notes: UnboundedSender<Note>,
    ) -> Self {
        let (ops, queued) = unbounded_channel();
        let task = tokio::task::spawn_local(async move {
            let result = connect(ip, dst).await;
            let _ = notes.send(Note::Connected { id, result });
        });
        Self {
            ops,
            connecting: Some((queued, task)),
        }
    }

    /// An established connection (accepted, or connected by [`Stream::connect`]).
    pub(super) fn open(id: StreamId, stream: TcpStream, notes: UnboundedSender<Note>) -> Self {
        let (ops, queued) = unbounded_channel();
        tokio::task::spawn_local(Conn::new(id, stream, notes).run(queued));
        Self {
            ops,
            connecting: None,
        }
    }

    /// The connection this stream was connecting is up: start its task with the commands
    /// queued so far.
    pub(super) fn established(
        &mut self,
        id: StreamId,
        stream: TcpStream,
        notes: UnboundedSender<Note>,
    ) {
        if let Some((queued, _)) = self.connecting.take() {
            tokio::task::spawn_local(Conn::new(id, stream, notes).run(queued));
        }
    }

    /// Hands a command to the connection; `false` when its task has ended.
    pub(super) fn command(&self, op: Op) -> bool {
        self.ops.send(op).is_ok()
    }
}

impl Drop for Stream {
    /// Stops a connect in progress. An open connection's task sees its command channel close and
    /// ends on its own (a graceful close, or a reset if it was told [`Op::Abort`]).
    fn drop(&mut self) {
        if let Some((_, task)) = &self.connecting {
            task.abort();
        }
    }
}

async fn connect(ip: IpAddr, dst: SocketAddr) -> io::Result<TcpStream> {
    let socket = if dst.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    if ip.is_ipv4() == dst.is_ipv4() {
        socket.bind(SocketAddr::new(ip, 0))?;
    }
    socket.connect(dst).await
}

/// Resets `stream` at once: SO_LINGER 0, then close.
pub(super) fn reset(stream: TcpStream) {
    let _ = stream.set_zero_linger();
    drop(stream);
}

/// The simulated stack's name for a socket error: refused (RST to a SYN), timed out (no
/// answer; an unreachable host or network counts here, as it would in simulation), or reset.
pub(super) fn stream_error(e: &io::Error) -> StreamError {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => StreamError::Refused,
        io::ErrorKind::TimedOut
        | io::ErrorKind::HostUnreachable
        | io::ErrorKind::NetworkUnreachable => StreamError::TimedOut,
        _ => StreamError::Reset,
    }
}

/// How a connection task ends early.
enum Stop {
    /// The core aborted: reset.
    Abort,
    /// The socket failed: report it.
    Failed(StreamError),
    /// The transport went away: close.
    Gone,
}

/// One open connection, as its task sees it.
struct Conn {
    id: StreamId,
    stream: TcpStream,
    notes: UnboundedSender<Note>,
    queue: VecDeque<Bytes>,
    buf: Vec<u8>,
    closing: bool,
    write_shut: bool,
    read_done: bool,
}

impl Conn {
    fn new(id: StreamId, stream: TcpStream, notes: UnboundedSender<Note>) -> Self {
        Self {
            id,
            stream,
            notes,
            queue: VecDeque::new(),
            buf: vec![0; READ_CHUNK],
            closing: false,
            write_shut: false,
            read_done: false,
        }
    }

    /// Moves bytes both ways until both sides have closed, the core aborts or the socket fails.
    async fn run(mut self, mut ops: UnboundedReceiver<Op>) {
        while !(self.read_done && self.write_shut) {
            let step = tokio::select! {
                biased;
                op = ops.recv() => self.on_op(op),
                ready = self.stream.readable(), if !self.read_done => self.on_readable(ready),
                ready = self.stream.writable(), if !self.queue.is_empty() => {
                    self.on_writable(ready)
                }
            };
            let step = match step {
                Ok(()) => self.shut_when_flushed().await,
                Err(stop) => Err(stop),
            };
            if let Err(stop) = step {
                self.stop(stop);
                return;
            }
        }
        let _ = self.notes.send(Note::Finished(self.id));
    }

    fn on_op(&mut self, op: Option<Op>) -> Result<(), Stop> {
        match op {
            Some(Op::Data(data)) if !self.closing && !data.is_empty() => self.queue.push_back(data),
            Some(Op::Data(_)) => {}
            Some(Op::Close) => self.closing = true,
            Some(Op::Abort) => return Err(Stop::Abort),
            None => return Err(Stop::Gone),
        }
        Ok(())
    }

    fn on_readable(&mut self, ready: io::Result<()>) -> Result<(), Stop> {
        ready.map_err(|e| Stop::Failed(stream_error(&e)))?;
        let event = match self.stream.try_read(&mut self.buf) {
            Ok(0) => {
                self.read_done = true;
                StreamEvent::Closed { id: self.id }
            }
            Ok(n) => StreamEvent::Data {
                id: self.id,
                data: Bytes::copy_from_slice(self.buf.get(..n).unwrap_or_default()),
            },
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) => return Err(Stop::Failed(stream_error(&e))),
        };
        self.notes.send(Note::Stream(event)).map_err(|_| Stop::Gone)
    }

    fn on_writable(&mut self, ready: io::Result<()>) -> Result<(), Stop> {
        ready.map_err(|e| Stop::Failed(stream_error(&e)))?;
        let Some(front) = self.queue.front_mut() else {
            return Ok(());
        };
        match self.stream.try_write(front) {
            Ok(n) => {
                front.advance(n);
                if front.is_empty() {
                    self.queue.pop_front();
                }
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
            Err(e) => Err(Stop::Failed(stream_error(&e))),
        }
    }

    /// Sends FIN once a close was asked and every queued byte is written.
    async fn shut_when_flushed(&mut self) -> Result<(), Stop> {
        if self.closing && self.queue.is_empty() && !self.write_shut {
            self.write_shut = true;
            self.stream
                .shutdown()
                .await
                .map_err(|e| Stop::Failed(stream_error(&e)))?;
        }
        Ok(())
    }

    fn stop(self, stop: Stop) {
        match stop {
            Stop::Abort => reset(self.stream),
            Stop::Failed(error) => {
                let failed = StreamEvent::Failed { id: self.id, error };
                let _ = self.notes.send(Note::Stream(failed));
            }
            Stop::Gone => {}
        }
    }
}

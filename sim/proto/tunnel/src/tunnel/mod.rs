//! The tunnel state machine.
//!
//! ```text
//! caller:  Connecting(Induction) --Challenge--> Connecting(Conclusion) --HelloAck--> Open
//! callee:  Listening --Hello(valid cookie)--> Open
//! Open --close()--> Closing --shutdown acknowledged / close timeout--> Ended(Linger)
//! Open|Closing --peer Shutdown--> Ended(Linger)
//! Connecting|Listening --connect timeout--> Ended(Silent)
//! Open|Closing --keep-alive or idle check fires--> Ended(Silent)
//! ```
//!
//! `Linger` still acknowledges data packets (so a peer whose shutdown acknowledgement was lost
//! can finish), `Silent` sends nothing.

use crate::config::{ConfigError, TunnelConfig};
use crate::event::{StreamId, StreamStats, TunnelEvent, TunnelStats};
use crate::packet::{Frame, FrameKind, Packet};
use crate::recv::Receiver;
use crate::send::{RttEstimator, Sender};
use crate::streams::{StreamError, Streams};
use bytes::Bytes;
use rand_core::RngCore;
use sim_core::{Seed, SimInstant};
use std::collections::VecDeque;
use std::time::Duration;

mod connected;
mod handshake;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Caller,
    Callee,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Caller: `cookie` is 0 until a `Challenge` arrives; `challenge_ts` is its timestamp and
    /// `challenge_at` when it arrived (the echo adds the time held, so a repeated `Hello` still
    /// measures one round trip).
    Connecting {
        cookie: u32,
        challenge_ts: u32,
        challenge_at: SimInstant,
    },
    Listening,
    Open,
    Closing {
        shutdown: u64,
        deadline: SimInstant,
    },
    Ended {
        linger: bool,
    },
}

/// Timers of an open tunnel.
#[derive(Clone, Copy, Debug)]
struct Timers {
    ka_check: SimInstant,
    received_since_check: bool,
    last_received: SimInstant,
    idle_check: Option<SimInstant>,
    active_since_check: bool,
    last_activity: SimInstant,
}

/// One end of a tunnel. See the crate documentation for the drive contract.
#[derive(Debug)]
pub struct Tunnel {
    role: Role,
    config: TunnelConfig,
    state: State,
    epoch: SimInstant,
    local_conn: u32,
    peer_conn: u32,
    isn: u32,
    secret: u64,
    connect_deadline: SimInstant,
    handshake_at: SimInstant,
    attempts: u32,
    last_sent: SimInstant,
    timers: Option<Timers>,
    sender: Sender,
    receiver: Option<Receiver>,
    streams: Streams,
    blocked_writer: bool,
    events: VecDeque<TunnelEvent>,
    out: VecDeque<Bytes>,
    stats: TunnelStats,
    scratch: Vec<(u32, Frame)>,
}

impl Tunnel {
    /// The caller side: sends its first `Hello` now and retransmits it every
    /// `handshake_interval` until answered or `connect_timeout` has passed.
    ///
    /// # Errors
    /// A config value out of range.
    pub fn connect(now: SimInstant, config: TunnelConfig, seed: Seed) -> Result<Self, ConfigError> {
        let mut t = Self::new(now, config, seed, Role::Caller)?;
        t.send_hello(now);
        Ok(t)
    }

    /// The callee side: waits up to `connect_timeout` for the caller's handshake.
    ///
    /// # Errors
    /// A config value out of range.
    pub fn accept(now: SimInstant, config: TunnelConfig, seed: Seed) -> Result<Self, ConfigError> {
        Self::new(now, config, seed, Role::Callee)
    }

    fn new(
        now: SimInstant,
        config: TunnelConfig,
        seed: Seed,
        role: Role,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        let mut rng = seed.rng();
        let local_conn = rng.next_u32() | 1;
        let isn = rng.next_u32();
        let secret = rng.next_u64();
        let rtt = RttEstimator::new(config.min_rto, config.max_rto);
        Ok(Self {
            role,
            state: match role {
                Role::Caller => State::Connecting {
                    cookie: 0,
                    challenge_ts: 0,
                    challenge_at: now,
                },
                Role::Callee => State::Listening,
            },
            epoch: now,
            local_conn,
            peer_conn: 0,
            isn,
            secret,
            connect_deadline: now + config.connect_timeout,
            handshake_at: now,
            attempts: 0,
            last_sent: now,
            timers: None,
            sender: Sender::new(isn, config.send_window, rtt),
            receiver: None,
            streams: Streams::new(role == Role::Caller, config.max_streams),
            blocked_writer: false,
            events: VecDeque::new(),
            out: VecDeque::new(),
            stats: TunnelStats::default(),
            scratch: Vec::new(),
            config,
        })
    }

    // ---- outputs ----------------------------------------------------------------------------

    /// The next packet to send to the peer (through `IceAgent::send`).
    pub fn poll_packet(&mut self) -> Option<Bytes> {
        let bytes = self.out.pop_front()?;
        self.stats.packets_sent += 1;
        self.stats.bytes_sent += bytes.len() as u64;
        Some(bytes)
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<TunnelEvent> {
        self.events.pop_front()
    }

    /// When [`Tunnel::handle_timeout`] must be called next; `None` once the tunnel has ended.
    pub fn poll_timeout(&self) -> Option<SimInstant> {
        match self.state {
            State::Connecting { .. } => Some(self.handshake_at.min(self.connect_deadline)),
            State::Listening => Some(self.connect_deadline),
            State::Open => self.open_deadline(),
            State::Closing { deadline, .. } => {
                Some(self.open_deadline().map_or(deadline, |t| t.min(deadline)))
            }
            State::Ended { .. } => None,
        }
    }

    fn open_deadline(&self) -> Option<SimInstant> {
        let timers = self.timers?;
        let mut t = timers
            .ka_check
            .min(self.last_sent + self.config.keepalive_interval);
        if let Some(idle) = timers.idle_check {
            t = t.min(idle);
        }
        if let Some(rto) = self.sender.deadline() {
            t = t.min(rto);
        }
        Some(t)
    }

    /// Counters so far.
    pub const fn stats(&self) -> &TunnelStats {
        &self.stats
    }

    /// Byte counts and digests of an open stream.
    pub fn stream_stats(&self, id: StreamId) -> Option<StreamStats> {
        self.streams.stats(id)
    }

    /// The open streams, in id order.
    pub fn streams(&self) -> Vec<StreamId> {
        self.streams.ids().collect()
    }

    /// Bytes a write may take now.
    pub const fn send_capacity(&self) -> usize {
        self.config
            .send_buffer
            .saturating_sub(self.sender.buffered())
    }

    /// The handshake completed and the tunnel has not ended or begun closing.
    pub const fn is_connected(&self) -> bool {
        matches!(self.state, State::Open)
    }

    /// The tunnel has ended (a terminal event was reported).
    pub const fn is_ended(&self) -> bool {
        matches!(self.state, State::Ended { .. })
    }

    /// The smoothed round-trip time, once measured.
    pub fn srtt(&self) -> Option<Duration> {
        self.sender.rtt.srtt()
    }

    /// The current retransmission timeout.
    pub fn rto(&self) -> Duration {
        self.sender.rtt.rto()
    }

    // ---- commands ---------------------------------------------------------------------------

    /// Opens a stream (for one accepted local TCP connection). The peer sees
    /// [`TunnelEvent::StreamOpened`] before any of its data.
    ///
    /// # Errors
    /// Not connected, or `max_streams` open.
    pub fn open_stream(&mut self, now: SimInstant) -> Result<StreamId, StreamError> {
        self.require_open()?;
        let id = self.streams.open_local()?;
        self.push_frame(FrameKind::Open, id.0, Bytes::new());
        self.flush(now);
        Ok(id)
    }

    /// Writes all of `data` to a stream, or nothing.
    ///
    /// # Errors
    /// Not connected, unknown or finished stream, or [`StreamError::BufferFull`] when `data`
    /// does not fit the send buffer ([`Tunnel::send_capacity`]); a [`TunnelEvent::Writable`]
    /// follows once room is freed.
    pub fn write(&mut self, now: SimInstant, id: StreamId, data: &[u8]) -> Result<(), StreamError> {
        self.require_open()?;
        self.streams.writable(id)?;
        let available = self.send_capacity();
        if data.len() > available {
            self.blocked_writer = true;
            return Err(StreamError::BufferFull {
                requested: data.len(),
                available,
            });
        }
        if data.is_empty() {
            return Ok(());
        }
        self.streams.on_written(id, data);
        self.stats.stream_bytes_written += data.len() as u64;
        for chunk in data.chunks(self.config.max_payload) {
            self.push_frame(FrameKind::Data, id.0, Bytes::copy_from_slice(chunk));
        }
        self.on_activity(now, true);
        self.flush(now);
        Ok(())
    }

    /// Finishes a stream: the peer sees [`TunnelEvent::StreamFinished`] after all its data.
    ///
    /// # Errors
    /// Not connected, unknown or already finished stream.
    pub fn close_stream(&mut self, now: SimInstant, id: StreamId) -> Result<(), StreamError> {
        self.require_open()?;
        let closed = self.streams.finish_local(id)?;
        self.push_frame(FrameKind::Fin, id.0, Bytes::new());
        if let Some(stats) = closed {
            self.events
                .push_back(TunnelEvent::StreamClosed { id, stats });
        }
        self.flush(now);
        Ok(())
    }

    /// Closes the tunnel gracefully: a shutdown goes out behind everything written, and
    /// [`TunnelEvent::Closed`] follows when the peer acknowledges it (or after
    /// `close_timeout`). Before the handshake completed, the tunnel just stops and reports
    /// `Closed` unacknowledged. Does nothing on an ended or closing tunnel.
    pub fn close(&mut self, now: SimInstant) {
        match self.state {
            State::Open => {
                let shutdown = self.push_frame(FrameKind::Shutdown, 0, Bytes::new());
                self.state = State::Closing {
                    shutdown,
                    deadline: now + self.config.close_timeout,
                };
                self.flush(now);
            }
            State::Connecting { .. } | State::Listening => {
                self.end(false);
                self.events.push_back(TunnelEvent::Closed {
                    by_peer: false,
                    acknowledged: false,
                });
            }
            State::Closing { .. } | State::Ended { .. } => {}
        }
    }

    /// Stops at once without telling the peer (the endpoint hangs up by other means) and
    /// without an event.
    pub fn abort(&mut self) {
        self.end(false);
    }

    fn require_open(&self) -> Result<(), StreamError> {
        if self.is_connected() {
            Ok(())
        } else {
            Err(StreamError::NotConnected)
        }
    }

    fn push_frame(&mut self, kind: FrameKind, stream: u32, payload: Bytes) -> u64 {
        self.sender.push(Frame {
            kind,
            stream,
            payload,
        })
    }

    /// Our clock on the wire: microseconds since the tunnel was created.
    fn ts(&self, now: SimInstant) -> u32 {
        // Wraps every 71 minutes; only differences are used.
        (now - self.epoch).as_micros() as u32
    }

    /// Time since our clock read `ts` (an echoed timestamp).
    fn since_ts(&self, now: SimInstant, ts: u32) -> Duration {
        Duration::from_micros(u64::from(self.ts(now).wrapping_sub(ts)))
    }

    /// Queues a packet for `poll_packet`.
    fn emit(&mut self, now: SimInstant, packet: &Packet) {
        let bytes = packet.encode();
        self.last_sent = now;
        self.out.push_back(bytes);
    }

    fn end(&mut self, linger: bool) {
        self.state = State::Ended { linger };
        if !linger {
            self.out.clear();
        }
    }

    // ---- inputs -----------------------------------------------------------------------------

    /// Takes one datagram from the peer (what `IceAgent::poll_data` returned). Bytes that are
    /// not a tunnel packet, or not for this connection, are counted and dropped.
    pub fn handle_packet(&mut self, now: SimInstant, bytes: &[u8]) {
        self.stats.packets_received += 1;
        self.stats.bytes_received += bytes.len() as u64;
        if self.state == (State::Ended { linger: false }) {
            return;
        }
        let Ok(packet) = Packet::parse(bytes) else {
            self.stats.malformed += 1;
            return;
        };
        let accepted = match packet {
            Packet::Hello { .. } => self.on_hello(now, &packet),
            Packet::Challenge {
                dst_conn,
                cookie,
                ts,
                ..
            } => self.on_challenge(now, dst_conn, cookie, ts),
            Packet::HelloAck { .. } => self.on_hello_ack(now, &packet),
            Packet::Data { .. } | Packet::Ack { .. } | Packet::KeepAlive { .. } => {
                self.on_connected_packet(now, packet)
            }
        };
        if !accepted {
            self.stats.stray += 1;
        }
        self.flush(now);
    }

    /// Runs the timers due at `now`.
    pub fn handle_timeout(&mut self, now: SimInstant) {
        match self.state {
            State::Connecting { .. } | State::Listening => self.handshake_timeout(now),
            State::Open | State::Closing { .. } => self.open_timeout(now),
            State::Ended { .. } => {}
        }
    }
}

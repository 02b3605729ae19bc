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

use crate::config::{ConfigError, IdleActivity, TunnelConfig};
use crate::event::{HandshakeStage, StreamId, StreamStats, TunnelEvent, TunnelStats};
use crate::packet::{Frame, FrameKind, Packet, VERSION};
use crate::recv::{Receipt, Receiver};
use crate::send::{RttEstimator, Sender};
use crate::streams::{PeerFrame, StreamError, Streams};
use bytes::Bytes;
use rand_core::RngCore;
use sim_core::{Seed, SimInstant};
use std::collections::VecDeque;
use std::time::Duration;

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
        self.out.pop_front()
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

    // ---- handshake --------------------------------------------------------------------------

    fn ts(&self, now: SimInstant) -> u32 {
        // Wraps every 71 minutes; only differences are used.
        (now - self.epoch).as_micros() as u32
    }

    fn since_ts(&self, now: SimInstant, ts: u32) -> Duration {
        Duration::from_micros(u64::from(self.ts(now).wrapping_sub(ts)))
    }

    fn cookie(&self, src_conn: u32, isn: u32) -> u32 {
        let mut z = self.secret ^ (u64::from(src_conn) << 32 | u64::from(isn));
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) as u32 | 1
    }

    fn emit(&mut self, now: SimInstant, packet: &Packet) {
        let bytes = packet.encode();
        self.stats.packets_sent += 1;
        self.stats.bytes_sent += bytes.len() as u64;
        self.last_sent = now;
        self.out.push_back(bytes);
    }

    fn send_hello(&mut self, now: SimInstant) {
        let State::Connecting {
            cookie,
            challenge_ts,
            challenge_at,
        } = self.state
        else {
            return;
        };
        let held = (now - challenge_at).as_micros() as u32;
        let hello = Packet::Hello {
            version: VERSION,
            src_conn: self.local_conn,
            isn: self.isn,
            cookie,
            ts: self.ts(now),
            ts_echo: if cookie == 0 {
                0
            } else {
                challenge_ts.wrapping_add(held)
            },
        };
        self.attempts += 1;
        self.stats.handshakes_sent += 1;
        self.emit(now, &hello);
        self.handshake_at = now + self.config.handshake_interval;
    }

    fn handshake_timeout(&mut self, now: SimInstant) {
        if now >= self.connect_deadline {
            let stage = match self.state {
                State::Connecting { cookie: 0, .. } => HandshakeStage::Induction,
                State::Connecting { .. } => HandshakeStage::Conclusion,
                _ => HandshakeStage::Listening,
            };
            self.end(false);
            self.events.push_back(TunnelEvent::ConnectFailed {
                after: self.config.connect_timeout,
                stage,
                attempts: self.attempts,
            });
        } else if self.role == Role::Caller && now >= self.handshake_at {
            self.send_hello(now);
        }
    }

    fn on_hello(&mut self, now: SimInstant, hello: &Packet) -> bool {
        let Packet::Hello {
            version,
            src_conn,
            isn,
            cookie,
            ts,
            ts_echo,
        } = *hello
        else {
            return false;
        };
        if self.role != Role::Callee || version != VERSION {
            return false;
        }
        let expected = self.cookie(src_conn, isn);
        match self.state {
            State::Listening if cookie == 0 => {
                let challenge = Packet::Challenge {
                    dst_conn: src_conn,
                    cookie: expected,
                    ts: self.ts(now),
                    ts_echo: ts,
                };
                self.attempts += 1;
                self.stats.handshakes_sent += 1;
                self.emit(now, &challenge);
                true
            }
            State::Listening if cookie == expected => {
                self.peer_conn = src_conn;
                self.receiver = Some(Receiver::new(isn, self.config.recv_window));
                self.send_hello_ack(now, ts);
                let rtt = self.since_ts(now, ts_echo);
                self.on_connected(now, rtt);
                true
            }
            State::Open | State::Closing { .. }
                if cookie == expected && src_conn == self.peer_conn =>
            {
                // The caller did not get our HelloAck: answer again.
                self.mark_received(now);
                self.send_hello_ack(now, ts);
                true
            }
            _ => false,
        }
    }

    fn send_hello_ack(&mut self, now: SimInstant, ts_echo: u32) {
        let ack = Packet::HelloAck {
            dst_conn: self.peer_conn,
            src_conn: self.local_conn,
            isn: self.isn,
            ts_echo,
        };
        self.stats.handshakes_sent += 1;
        self.emit(now, &ack);
    }

    fn on_challenge(&mut self, now: SimInstant, dst_conn: u32, cookie: u32, ts: u32) -> bool {
        if dst_conn != self.local_conn || !matches!(self.state, State::Connecting { .. }) {
            return false;
        }
        self.state = State::Connecting {
            cookie,
            challenge_ts: ts,
            challenge_at: now,
        };
        self.send_hello(now);
        true
    }

    fn on_hello_ack(&mut self, now: SimInstant, ack: &Packet) -> bool {
        let Packet::HelloAck {
            dst_conn,
            src_conn,
            isn,
            ts_echo,
        } = *ack
        else {
            return false;
        };
        if dst_conn != self.local_conn {
            return false;
        }
        match self.state {
            State::Connecting { cookie, .. } if cookie != 0 => {
                self.peer_conn = src_conn;
                self.receiver = Some(Receiver::new(isn, self.config.recv_window));
                let rtt = self.since_ts(now, ts_echo);
                self.on_connected(now, rtt);
                true
            }
            // A duplicate HelloAck of our own connection.
            State::Open | State::Closing { .. } if src_conn == self.peer_conn => {
                self.mark_received(now);
                true
            }
            _ => false,
        }
    }

    fn on_connected(&mut self, now: SimInstant, rtt: Duration) {
        self.state = State::Open;
        self.sender.rtt.sample(rtt);
        self.timers = Some(Timers {
            ka_check: now + self.config.ka_timeout,
            received_since_check: false,
            last_received: now,
            idle_check: self.config.idle_timeout.map(|d| now + d),
            active_since_check: false,
            last_activity: now,
        });
        self.events.push_back(TunnelEvent::Connected { rtt });
    }

    // ---- connected --------------------------------------------------------------------------

    fn mark_received(&mut self, now: SimInstant) {
        if let Some(t) = self.timers.as_mut() {
            t.received_since_check = true;
            t.last_received = now;
        }
    }

    fn on_activity(&mut self, now: SimInstant, sent: bool) {
        if sent && self.config.idle_activity == IdleActivity::Received {
            return;
        }
        if let Some(t) = self.timers.as_mut() {
            t.active_since_check = true;
            t.last_activity = now;
        }
    }

    fn on_connected_packet(&mut self, now: SimInstant, packet: Packet) -> bool {
        let live = matches!(self.state, State::Open | State::Closing { .. });
        let linger = self.state == (State::Ended { linger: true });
        if !(live || linger) || packet.dst_conn() != Some(self.local_conn) {
            return false;
        }
        if live {
            self.mark_received(now);
        }
        match packet {
            Packet::Data { seq, ts, frame, .. } => self.on_data(now, seq, ts, frame, live),
            Packet::Ack {
                next,
                window,
                ts_echo,
                sack,
                ..
            } if live => {
                let rtt = Some(self.since_ts(now, ts_echo)).filter(|r| *r < self.config.max_rto);
                return self.on_ack(now, next, window, &sack, rtt);
            }
            _ => {}
        }
        true
    }

    fn on_data(&mut self, now: SimInstant, seq: u32, ts: u32, frame: Frame, live: bool) {
        let Some(receiver) = self.receiver.as_mut() else {
            return;
        };
        match receiver.on_data(seq, frame) {
            Receipt::New => {}
            Receipt::Duplicate => self.stats.duplicates += 1,
            Receipt::OutOfWindow => self.stats.out_of_window += 1,
        }
        let mut ready = Vec::new();
        while let Some(f) = receiver.pop_ready() {
            ready.push(f);
        }
        let ack = receiver.ack(self.peer_conn, ts);
        self.emit(now, &ack);
        for f in ready {
            if live && matches!(self.state, State::Open | State::Closing { .. }) {
                self.apply(now, f);
            }
        }
    }

    fn apply(&mut self, now: SimInstant, f: Frame) {
        let id = StreamId(f.stream);
        let outcome = match f.kind {
            FrameKind::Open => self.streams.on_peer_open(f.stream),
            FrameKind::Data => self.streams.on_peer_data(f.stream, &f.payload),
            FrameKind::Fin => self.streams.on_peer_fin(f.stream),
            FrameKind::Shutdown => {
                self.end(true);
                self.events.push_back(TunnelEvent::Closed {
                    by_peer: true,
                    acknowledged: true,
                });
                return;
            }
        };
        match outcome {
            PeerFrame::Opened => self.events.push_back(TunnelEvent::StreamOpened { id }),
            PeerFrame::Data if f.payload.is_empty() => {}
            PeerFrame::Data => {
                self.stats.stream_bytes_delivered += f.payload.len() as u64;
                self.on_activity(now, false);
                self.events.push_back(TunnelEvent::StreamData {
                    id,
                    data: f.payload,
                });
            }
            PeerFrame::Finished { closed } => {
                self.events.push_back(TunnelEvent::StreamFinished { id });
                if let Some(stats) = closed {
                    self.events
                        .push_back(TunnelEvent::StreamClosed { id, stats });
                }
            }
            PeerFrame::Violation => self.stats.protocol_violations += 1,
        }
    }

    fn on_ack(
        &mut self,
        now: SimInstant,
        next: u32,
        window: u16,
        sack: &[u8],
        rtt: Option<Duration>,
    ) -> bool {
        let Some(outcome) = self.sender.on_ack(now, next, window, sack, rtt) else {
            return false;
        };
        if let State::Closing { shutdown, .. } = self.state
            && self.sender.una() > shutdown
        {
            self.end(true);
            self.events.push_back(TunnelEvent::Closed {
                by_peer: false,
                acknowledged: true,
            });
            return true;
        }
        if outcome.freed > 0 && self.blocked_writer && self.send_capacity() > 0 {
            self.blocked_writer = false;
            self.events.push_back(TunnelEvent::Writable);
        }
        true
    }

    fn open_timeout(&mut self, now: SimInstant) {
        if self.check_timers(now) {
            return;
        }
        if let State::Closing { deadline, .. } = self.state
            && now >= deadline
        {
            self.end(true);
            self.events.push_back(TunnelEvent::Closed {
                by_peer: false,
                acknowledged: false,
            });
            return;
        }
        self.sender.on_timeout(now);
        self.flush(now);
        if now >= self.last_sent + self.config.keepalive_interval {
            let ka = Packet::KeepAlive {
                dst_conn: self.peer_conn,
                ts: self.ts(now),
            };
            self.stats.keepalives_sent += 1;
            self.emit(now, &ka);
        }
    }

    /// The keep-alive and idle checks (natnl's re-armed timers). Returns whether the tunnel
    /// ended.
    fn check_timers(&mut self, now: SimInstant) -> bool {
        let Some(t) = self.timers.as_mut() else {
            return false;
        };
        if now >= t.ka_check {
            if !t.received_since_check {
                let last_received = t.last_received;
                self.end(false);
                self.events
                    .push_back(TunnelEvent::KeepAliveTimeout { last_received });
                return true;
            }
            t.received_since_check = false;
            t.ka_check += self.config.ka_timeout;
        }
        if let (Some(check), Some(period)) = (t.idle_check, self.config.idle_timeout)
            && now >= check
        {
            if !t.active_since_check {
                let last_activity = t.last_activity;
                self.end(false);
                self.events
                    .push_back(TunnelEvent::IdleTimeout { last_activity });
                return true;
            }
            t.active_since_check = false;
            t.idle_check = Some(check + period);
        }
        false
    }

    /// Sends what the sender has ready (retransmissions, then new packets in the window).
    fn flush(&mut self, now: SimInstant) {
        if !matches!(self.state, State::Open | State::Closing { .. }) {
            return;
        }
        let mut batch = std::mem::take(&mut self.scratch);
        self.sender.collect(now, &mut batch);
        for (seq, frame) in batch.drain(..) {
            let packet = Packet::Data {
                dst_conn: self.peer_conn,
                seq,
                ts: self.ts(now),
                frame,
            };
            self.emit(now, &packet);
        }
        self.scratch = batch;
        self.stats.packets_retransmitted = self.sender.retransmitted;
        self.stats.rto_expirations = self.sender.rto_expirations;
        self.stats.spurious_retransmits = self.sender.spurious_retransmits;
    }

    /// Nothing written is waiting for the peer's acknowledgement.
    pub fn is_flushed(&self) -> bool {
        self.sender.is_idle()
    }
}

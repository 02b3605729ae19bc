//! A small TCP for simulated nodes (sans-IO).
//!
//! Simulated nodes speak TCP over the fabric as real segments, so NATs track and translate the
//! connections (RFC 5382) and captures show handshakes, data, retransmissions and resets. The
//! stack is deliberately small: three-way handshake (RFC 9293 §3.5), cumulative ACKs,
//! retransmission from the oldest unacknowledged byte on a doubling timeout (RFC 6298: 1 s
//! initial, no RTT estimation), out-of-order buffering, FIN in both directions and RST. There is
//! no flow or congestion control, no TIME-WAIT (a connection is forgotten once both FINs are
//! acknowledged) and no simultaneous open.
//!
//! ```text
//!   connect ──SYN──▶ SynSent ──SYN+ACK──▶ Established ◀──ACK── SynReceived ◀──SYN── listener
//!                       │ 6 retries: fails at 1+2+…+64 = 127 s   │ data, FIN both ways → gone
//!                       ▼                                       ▼ 8 retries → TimedOut
//!                   TimedOut / Refused (RST)                 Reset (RST)
//! ```
//!
//! Drive contract: after any input drain [`TcpStack::poll_segment`] and
//! [`TcpStack::poll_event`], and call [`TcpStack::handle_timeout`] at
//! [`TcpStack::poll_timeout`].

use crate::fabric::{TcpFlags, TcpHeader};
use bytes::Bytes;
use sim_core::{Seed, SimInstant, StreamCommand, StreamError, StreamEvent, StreamId};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::SocketAddr;
use std::time::Duration;

/// Largest payload per segment.
pub(crate) const MSS: usize = 1400;
const RTO_INITIAL: Duration = Duration::from_secs(1);
const SYN_RETRIES: u32 = 6;
const DATA_RETRIES: u32 = 8;
const WINDOW: u16 = 65_535;

/// A segment to send or one that arrived.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Segment {
    /// Local port (outgoing) or the node's port it arrived on (incoming).
    pub(crate) local_port: u16,
    /// The remote end.
    pub(crate) remote: SocketAddr,
    /// Header fields.
    pub(crate) header: TcpHeader,
    /// Payload.
    pub(crate) payload: Bytes,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    SynSent,
    SynReceived,
    Established,
}

#[derive(Debug)]
struct Conn {
    id: StreamId,
    state: State,
    iss: u32,
    snd_una: u32,
    snd_nxt: u32,
    rcv_nxt: u32,
    /// Sent and not yet acknowledged, by sequence number.
    unacked: VecDeque<(u32, Bytes)>,
    /// Queued before the handshake completed.
    pending: VecDeque<Bytes>,
    fin_queued: bool,
    /// Sequence number of our FIN, once sent.
    fin_seq: Option<u32>,
    fin_acked: bool,
    peer_fin: bool,
    ooo: BTreeMap<u32, Bytes>,
    rto: Duration,
    retries: u32,
    deadline: Option<SimInstant>,
}

impl Conn {
    /// A connection that has sent its SYN (or SYN+ACK) with sequence number `iss`.
    fn new(id: StreamId, state: State, iss: u32, rcv_nxt: u32, now: SimInstant) -> Self {
        Self {
            id,
            state,
            iss,
            snd_una: iss,
            snd_nxt: iss.wrapping_add(1),
            rcv_nxt,
            unacked: VecDeque::new(),
            pending: VecDeque::new(),
            fin_queued: false,
            fin_seq: None,
            fin_acked: false,
            peer_fin: false,
            ooo: BTreeMap::new(),
            rto: RTO_INITIAL,
            retries: 0,
            deadline: Some(now + RTO_INITIAL),
        }
    }
}

type Key = (u16, SocketAddr);

/// One node's TCP.
#[derive(Debug)]
pub(crate) struct TcpStack {
    seed: Seed,
    listeners: BTreeSet<u16>,
    conns: BTreeMap<Key, Conn>,
    ids: BTreeMap<StreamId, Key>,
    next_accepted: u64,
    next_port: u16,
    isn_counter: u64,
    segments: VecDeque<Segment>,
    events: VecDeque<StreamEvent>,
}

fn seq_lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

fn seq_le(a: u32, b: u32) -> bool {
    a == b || seq_lt(a, b)
}

fn len32(b: &Bytes) -> u32 {
    u32::try_from(b.len()).unwrap_or(u32::MAX)
}

impl TcpStack {
    /// A stack whose initial sequence numbers come from `seed`.
    pub(crate) fn new(seed: Seed) -> Self {
        Self {
            seed,
            listeners: BTreeSet::new(),
            conns: BTreeMap::new(),
            ids: BTreeMap::new(),
            next_accepted: 0,
            next_port: 32_768,
            isn_counter: 0,
            segments: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// Accepts connections on `port`.
    pub(crate) fn listen(&mut self, port: u16) {
        self.listeners.insert(port);
    }

    /// Stops accepting on `port`; open connections stay up.
    pub(crate) fn unlisten(&mut self, port: u16) {
        self.listeners.remove(&port);
    }

    fn isn(&mut self) -> u32 {
        self.isn_counter += 1;
        self.seed.derive(&self.isn_counter.to_string()).value() as u32
    }

    fn emit(&mut self, key: Key, seq: u32, ack: Option<u32>, flags: TcpFlags, payload: Bytes) {
        let flags = TcpFlags {
            ack: ack.is_some() || flags.ack,
            ..flags
        };
        let header = TcpHeader {
            seq,
            ack: ack.unwrap_or(0),
            flags,
            window: WINDOW,
        };
        self.segments.push_back(Segment {
            local_port: key.0,
            remote: key.1,
            header,
            payload,
        });
    }

    fn forget(&mut self, key: Key) {
        if let Some(c) = self.conns.remove(&key) {
            self.ids.remove(&c.id);
        }
    }

    fn fail(&mut self, key: Key, error: StreamError) {
        if let Some(c) = self.conns.get(&key) {
            self.events
                .push_back(StreamEvent::Failed { id: c.id, error });
        }
        self.forget(key);
    }

    /// Applies a core's command.
    pub(crate) fn command(&mut self, now: SimInstant, command: StreamCommand) {
        match command {
            StreamCommand::Connect { id, dst } => self.connect(now, id, dst),
            StreamCommand::Send { id, data } => match self.ids.get(&id).copied() {
                Some(key) => self.send(now, key, data),
                None => self.events.push_back(StreamEvent::Failed {
                    id,
                    error: StreamError::Reset,
                }),
            },
            StreamCommand::Close { id } => {
                if let Some(key) = self.ids.get(&id).copied() {
                    if let Some(c) = self.conns.get_mut(&key) {
                        c.fin_queued = true;
                    }
                    self.flush(now, key);
                }
            }
            StreamCommand::Abort { id } => {
                if let Some(key) = self.ids.get(&id).copied() {
                    if let Some(c) = self.conns.get(&key) {
                        let seq = c.snd_nxt;
                        self.emit(
                            key,
                            seq,
                            None,
                            TcpFlags {
                                rst: true,
                                ..TcpFlags::default()
                            },
                            Bytes::new(),
                        );
                    }
                    self.forget(key);
                }
            }
        }
    }

    fn connect(&mut self, now: SimInstant, id: StreamId, dst: SocketAddr) {
        let port = self.next_port;
        self.next_port = if port >= 60_999 { 32_768 } else { port + 1 };
        let key = (port, dst);
        let iss = self.isn();
        self.conns
            .insert(key, Conn::new(id, State::SynSent, iss, 0, now));
        self.ids.insert(id, key);
        self.emit(
            key,
            iss,
            None,
            TcpFlags {
                syn: true,
                ..TcpFlags::default()
            },
            Bytes::new(),
        );
    }

    fn send(&mut self, now: SimInstant, key: Key, data: Bytes) {
        if let Some(c) = self.conns.get_mut(&key) {
            let mut data = data;
            while !data.is_empty() {
                let chunk = data.split_to(data.len().min(MSS));
                c.pending.push_back(chunk);
            }
        }
        self.flush(now, key);
    }

    /// Sends queued data and a queued FIN once established.
    fn flush(&mut self, now: SimInstant, key: Key) {
        let Some(c) = self.conns.get_mut(&key) else {
            return;
        };
        if c.state != State::Established {
            return;
        }
        let mut out = Vec::new();
        while let Some(chunk) = c.pending.pop_front() {
            out.push((c.snd_nxt, chunk.clone(), false));
            c.unacked.push_back((c.snd_nxt, chunk.clone()));
            c.snd_nxt = c.snd_nxt.wrapping_add(len32(&chunk));
        }
        if c.fin_queued && c.fin_seq.is_none() {
            c.fin_seq = Some(c.snd_nxt);
            out.push((c.snd_nxt, Bytes::new(), true));
            c.snd_nxt = c.snd_nxt.wrapping_add(1);
        }
        if !out.is_empty() && c.deadline.is_none() {
            c.deadline = Some(now + c.rto);
        }
        let ack = c.rcv_nxt;
        for (seq, payload, fin) in out {
            let flags = TcpFlags {
                fin,
                psh: !payload.is_empty(),
                ..TcpFlags::default()
            };
            self.emit(key, seq, Some(ack), flags, payload);
        }
    }

    /// A segment arrived for this node.
    pub(crate) fn segment(&mut self, now: SimInstant, local: SocketAddr, seg: Segment) {
        let key = (seg.local_port, seg.remote);
        if !self.conns.contains_key(&key) {
            self.no_connection(now, key, &seg);
            return;
        }
        let h = seg.header;
        if h.flags.rst {
            let state = self.conns.get(&key).map(|c| c.state);
            let error = if state == Some(State::SynSent) {
                StreamError::Refused
            } else {
                StreamError::Reset
            };
            if state == Some(State::SynReceived) {
                self.forget(key);
            } else {
                self.fail(key, error);
            }
            return;
        }
        match self.conns.get(&key).map(|c| c.state) {
            Some(State::SynSent) => self.on_syn_sent(now, local, key, h),
            Some(State::SynReceived) => self.on_syn_received(now, local, key, seg),
            Some(State::Established) => self.on_established(now, key, seg),
            None => {}
        }
    }

    fn no_connection(&mut self, now: SimInstant, key: Key, seg: &Segment) {
        let h = seg.header;
        if h.flags.rst {
            return;
        }
        if h.flags.syn && !h.flags.ack && self.listeners.contains(&key.0) {
            let iss = self.isn();
            let id = StreamId(StreamId::ACCEPTED | self.next_accepted);
            self.next_accepted += 1;
            let rcv_nxt = h.seq.wrapping_add(1);
            self.conns
                .insert(key, Conn::new(id, State::SynReceived, iss, rcv_nxt, now));
            self.ids.insert(id, key);
            self.emit(
                key,
                iss,
                Some(rcv_nxt),
                TcpFlags {
                    syn: true,
                    ..TcpFlags::default()
                },
                Bytes::new(),
            );
            return;
        }
        // RFC 9293 §3.10.7.1: answer anything else on a closed port with a reset.
        let seg_len = len32(&seg.payload) + u32::from(h.flags.syn) + u32::from(h.flags.fin);
        let rst = TcpFlags {
            rst: true,
            ..TcpFlags::default()
        };
        if h.flags.ack {
            self.emit(key, h.ack, None, rst, Bytes::new());
        } else {
            self.emit(key, 0, Some(h.seq.wrapping_add(seg_len)), rst, Bytes::new());
        }
    }

    fn on_syn_sent(&mut self, now: SimInstant, local: SocketAddr, key: Key, h: TcpHeader) {
        let Some(c) = self.conns.get_mut(&key) else {
            return;
        };
        if h.flags.ack && !h.flags.rst && h.ack != c.iss.wrapping_add(1) {
            // RFC 9293 §3.10.7.3: an unacceptable ACK in SYN-SENT (the peer still holds an
            // old connection on this 4-tuple) is answered with a reset.
            let ack = h.ack;
            self.emit(
                key,
                ack,
                None,
                TcpFlags {
                    rst: true,
                    ..TcpFlags::default()
                },
                Bytes::new(),
            );
            return;
        }
        if !(h.flags.syn && h.flags.ack && h.ack == c.iss.wrapping_add(1)) {
            return;
        }
        c.state = State::Established;
        c.rcv_nxt = h.seq.wrapping_add(1);
        c.snd_una = h.ack;
        c.retries = 0;
        c.rto = RTO_INITIAL;
        c.deadline = None;
        let (id, seq, ack) = (c.id, c.snd_nxt, c.rcv_nxt);
        self.emit(key, seq, Some(ack), TcpFlags::default(), Bytes::new());
        self.events.push_back(StreamEvent::Connected {
            id,
            local: SocketAddr::new(local.ip(), key.0),
        });
        self.flush(now, key);
    }

    fn on_syn_received(&mut self, now: SimInstant, local: SocketAddr, key: Key, seg: Segment) {
        let Some(c) = self.conns.get_mut(&key) else {
            return;
        };
        let h = seg.header;
        if h.flags.syn {
            // Our SYN+ACK was lost: send it again.
            let (iss, ack) = (c.iss, c.rcv_nxt);
            self.emit(
                key,
                iss,
                Some(ack),
                TcpFlags {
                    syn: true,
                    ..TcpFlags::default()
                },
                Bytes::new(),
            );
            return;
        }
        if !(h.flags.ack && h.ack == c.iss.wrapping_add(1)) {
            return;
        }
        c.state = State::Established;
        c.snd_una = h.ack;
        c.retries = 0;
        c.rto = RTO_INITIAL;
        c.deadline = None;
        let id = c.id;
        self.events.push_back(StreamEvent::Accepted {
            id,
            local: SocketAddr::new(local.ip(), key.0),
            remote: key.1,
        });
        self.on_established(now, key, seg);
        self.flush(now, key);
    }

    fn on_established(&mut self, now: SimInstant, key: Key, seg: Segment) {
        let Some(c) = self.conns.get_mut(&key) else {
            return;
        };
        let h = seg.header;
        if h.flags.syn {
            // The peer did not get our ACK of its SYN+ACK.
            let (seq, ack) = (c.snd_nxt, c.rcv_nxt);
            self.emit(key, seq, Some(ack), TcpFlags::default(), Bytes::new());
            return;
        }
        if h.flags.ack && seq_lt(c.snd_una, h.ack) && seq_le(h.ack, c.snd_nxt) {
            c.snd_una = h.ack;
            while c
                .unacked
                .front()
                .is_some_and(|(s, d)| seq_le(s.wrapping_add(len32(d)), h.ack))
            {
                c.unacked.pop_front();
            }
            if c.fin_seq.is_some_and(|f| seq_lt(f, h.ack)) {
                c.fin_acked = true;
            }
            c.retries = 0;
            c.rto = RTO_INITIAL;
            let outstanding = !c.unacked.is_empty() || (c.fin_seq.is_some() && !c.fin_acked);
            c.deadline = outstanding.then(|| now + c.rto);
        }
        let id = c.id;
        let mut delivered = Vec::new();
        let mut closed = false;
        let has_data = !seg.payload.is_empty() || h.flags.fin;
        if has_data {
            if seq_lt(c.rcv_nxt, h.seq) {
                if !seg.payload.is_empty() {
                    c.ooo.insert(h.seq, seg.payload.clone());
                }
            } else {
                let skip = c.rcv_nxt.wrapping_sub(h.seq) as usize;
                if skip < seg.payload.len() {
                    let fresh = seg.payload.slice(skip..);
                    c.rcv_nxt = c.rcv_nxt.wrapping_add(len32(&fresh));
                    delivered.push(fresh);
                }
                while let Some(next) = c.ooo.remove(&c.rcv_nxt) {
                    c.rcv_nxt = c.rcv_nxt.wrapping_add(len32(&next));
                    delivered.push(next);
                }
                let fin_at = h.seq.wrapping_add(len32(&seg.payload));
                if h.flags.fin && fin_at == c.rcv_nxt && !c.peer_fin {
                    c.peer_fin = true;
                    c.rcv_nxt = c.rcv_nxt.wrapping_add(1);
                    closed = true;
                }
            }
        }
        let (seq, ack) = (c.snd_nxt, c.rcv_nxt);
        let done = c.peer_fin && c.fin_acked;
        for data in delivered {
            self.events.push_back(StreamEvent::Data { id, data });
        }
        if closed {
            self.events.push_back(StreamEvent::Closed { id });
        }
        if has_data {
            self.emit(key, seq, Some(ack), TcpFlags::default(), Bytes::new());
        }
        if done {
            self.forget(key);
        }
    }

    /// Retransmits what is due, and gives up on connections out of retries.
    pub(crate) fn handle_timeout(&mut self, now: SimInstant) {
        let due: Vec<Key> = self
            .conns
            .iter()
            .filter(|(_, c)| c.deadline.is_some_and(|d| d <= now))
            .map(|(k, _)| *k)
            .collect();
        for key in due {
            self.retransmit(now, key);
        }
    }

    fn retransmit(&mut self, now: SimInstant, key: Key) {
        let Some(c) = self.conns.get_mut(&key) else {
            return;
        };
        c.retries += 1;
        let limit = if c.state == State::Established {
            DATA_RETRIES
        } else {
            SYN_RETRIES
        };
        if c.retries > limit {
            match c.state {
                State::SynReceived => self.forget(key),
                State::SynSent | State::Established => self.fail(key, StreamError::TimedOut),
            }
            return;
        }
        c.rto = c.rto.saturating_mul(2);
        c.deadline = Some(now + c.rto);
        let syn = TcpFlags {
            syn: true,
            ..TcpFlags::default()
        };
        match c.state {
            State::SynSent => {
                let iss = c.iss;
                self.emit(key, iss, None, syn, Bytes::new());
            }
            State::SynReceived => {
                let (iss, ack) = (c.iss, c.rcv_nxt);
                self.emit(key, iss, Some(ack), syn, Bytes::new());
            }
            State::Established => {
                let ack = c.rcv_nxt;
                let data: Vec<(u32, Bytes)> = c.unacked.iter().cloned().collect();
                let fin = c.fin_seq.filter(|_| !c.fin_acked);
                for (seq, payload) in data {
                    self.emit(
                        key,
                        seq,
                        Some(ack),
                        TcpFlags {
                            psh: true,
                            ..TcpFlags::default()
                        },
                        payload,
                    );
                }
                if let Some(seq) = fin {
                    self.emit(
                        key,
                        seq,
                        Some(ack),
                        TcpFlags {
                            fin: true,
                            ..TcpFlags::default()
                        },
                        Bytes::new(),
                    );
                }
            }
        }
    }

    /// The next segment to send.
    pub(crate) fn poll_segment(&mut self) -> Option<Segment> {
        self.segments.pop_front()
    }

    /// The next event for the core.
    pub(crate) fn poll_event(&mut self) -> Option<StreamEvent> {
        self.events.pop_front()
    }

    /// The earliest retransmission deadline.
    pub(crate) fn poll_timeout(&self) -> Option<SimInstant> {
        self.conns.values().filter_map(|c| c.deadline).min()
    }
}

#[cfg(test)]
mod tests;

//! The connected tunnel: data, acknowledgements, stream frames, keep-alives and the
//! keep-alive and idle checks.

use super::{State, Tunnel};
use crate::config::IdleActivity;
use crate::event::{StreamId, TunnelEvent};
use crate::packet::{Frame, FrameKind, Packet};
use crate::recv::Receipt;
use crate::streams::PeerFrame;
use sim_core::SimInstant;
use std::time::Duration;

impl Tunnel {
    pub(super) fn mark_received(&mut self, now: SimInstant) {
        if let Some(t) = self.timers.as_mut() {
            t.received_since_check = true;
            t.last_received = now;
        }
    }

    pub(super) fn on_activity(&mut self, now: SimInstant, sent: bool) {
        if sent && self.config.idle_activity == IdleActivity::Received {
            return;
        }
        if let Some(t) = self.timers.as_mut() {
            t.active_since_check = true;
            t.last_activity = now;
        }
    }

    pub(super) fn on_connected_packet(&mut self, now: SimInstant, packet: Packet) -> bool {
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

    pub(super) fn on_data(&mut self, now: SimInstant, seq: u32, ts: u32, frame: Frame, live: bool) {
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

    pub(super) fn apply(&mut self, now: SimInstant, f: Frame) {
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

    pub(super) fn on_ack(
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

    pub(super) fn open_timeout(&mut self, now: SimInstant) {
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
    pub(super) fn check_timers(&mut self, now: SimInstant) -> bool {
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
    pub(super) fn flush(&mut self, now: SimInstant) {
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

//! The handshake: `Hello` / `Challenge` / `Hello` with cookie / `HelloAck`, its
//! retransmission and the connect timeout.

use super::{Role, State, Timers, Tunnel};
use crate::event::{HandshakeStage, TunnelEvent};
use crate::packet::{Packet, VERSION};
use crate::recv::Receiver;
use sim_core::SimInstant;
use std::time::Duration;

impl Tunnel {
    pub(super) fn cookie(&self, src_conn: u32, isn: u32) -> u32 {
        let mut z = self.secret ^ (u64::from(src_conn) << 32 | u64::from(isn));
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) as u32 | 1
    }

    pub(super) fn send_hello(&mut self, now: SimInstant) {
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

    pub(super) fn handshake_timeout(&mut self, now: SimInstant) {
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

    pub(super) fn on_hello(&mut self, now: SimInstant, hello: &Packet) -> bool {
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

    pub(super) fn send_hello_ack(&mut self, now: SimInstant, ts_echo: u32) {
        let ack = Packet::HelloAck {
            dst_conn: self.peer_conn,
            src_conn: self.local_conn,
            isn: self.isn,
            ts_echo,
        };
        self.stats.handshakes_sent += 1;
        self.emit(now, &ack);
    }

    pub(super) fn on_challenge(
        &mut self,
        now: SimInstant,
        dst_conn: u32,
        cookie: u32,
        ts: u32,
    ) -> bool {
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

    pub(super) fn on_hello_ack(&mut self, now: SimInstant, ack: &Packet) -> bool {
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

    pub(super) fn on_connected(&mut self, now: SimInstant, rtt: Duration) {
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
}

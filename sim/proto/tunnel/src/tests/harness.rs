//! Two tunnels over a seeded lossy, duplicating, reordering, delaying link. Time jumps to the
//! next delivery or deadline; nothing sleeps.

use crate::{Tunnel, TunnelConfig, TunnelEvent};
use bytes::Bytes;
use rand_core::RngCore;
use sim_core::{Seed, SimInstant, SimRng};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Duration;

/// Which tunnel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Side {
    A,
    B,
}

/// One direction's behaviour.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Link {
    pub(crate) delay: Duration,
    /// Extra delay drawn uniformly from `0..=jitter` per packet: reordering.
    pub(crate) jitter: Duration,
    pub(crate) loss: f64,
    pub(crate) duplicate: f64,
}

impl Link {
    pub(crate) const fn clean(delay: Duration) -> Self {
        Self {
            delay,
            jitter: Duration::ZERO,
            loss: 0.0,
            duplicate: 0.0,
        }
    }
}

/// `a` is the caller, `b` the callee.
pub(crate) struct Pair {
    pub(crate) a: Tunnel,
    pub(crate) b: Tunnel,
    pub(crate) now: SimInstant,
    pub(crate) link: Link,
    /// Packets in either direction sent inside this window are dropped.
    pub(crate) partition: Option<(SimInstant, SimInstant)>,
    /// Drop everything B sends (B "never answers").
    pub(crate) b_mute: bool,
    pub(crate) events_a: Vec<(SimInstant, TunnelEvent)>,
    pub(crate) events_b: Vec<(SimInstant, TunnelEvent)>,
    /// When each side last received a packet.
    pub(crate) last_arrival: [Option<SimInstant>; 2],
    queue: BinaryHeap<Reverse<(SimInstant, u64, Side, Bytes)>>,
    seq: u64,
    rng: SimRng,
    pub(crate) delivered: u64,
    pub(crate) dropped: u64,
}

impl Pair {
    pub(crate) fn new(config: TunnelConfig, link: Link, seed: u64) -> Self {
        let s = Seed::new(seed);
        let now = SimInstant::ZERO;
        let a = Tunnel::connect(now, config.clone(), s.derive("a")).unwrap();
        let b = Tunnel::accept(now, config, s.derive("b")).unwrap();
        let mut p = Self {
            a,
            b,
            now,
            link,
            partition: None,
            b_mute: false,
            events_a: Vec::new(),
            events_b: Vec::new(),
            last_arrival: [None, None],
            queue: BinaryHeap::new(),
            seq: 0,
            rng: s.derive("link").rng(),
            delivered: 0,
            dropped: 0,
        };
        p.drain();
        p
    }

    fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && f64::from(self.rng.next_u32()) / f64::from(u32::MAX) < p
    }

    fn partitioned(&self) -> bool {
        self.partition
            .is_some_and(|(s, e)| self.now >= s && self.now < e)
    }

    fn send(&mut self, from: Side, bytes: Bytes) {
        if self.partitioned() || (from == Side::B && self.b_mute) || self.chance(self.link.loss) {
            self.dropped += 1;
            return;
        }
        let copies = if self.chance(self.link.duplicate) {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let jitter_us = self.link.jitter.as_micros() as u64;
            let extra = if jitter_us == 0 {
                0
            } else {
                self.rng.next_u64() % (jitter_us + 1)
            };
            let at = self.now + self.link.delay + Duration::from_micros(extra);
            let to = if from == Side::A { Side::B } else { Side::A };
            self.seq += 1;
            self.queue.push(Reverse((at, self.seq, to, bytes.clone())));
        }
    }

    /// Moves every packet and event out of both tunnels.
    pub(crate) fn drain(&mut self) {
        while let Some(p) = self.a.poll_packet() {
            self.send(Side::A, p);
        }
        while let Some(p) = self.b.poll_packet() {
            self.send(Side::B, p);
        }
        while let Some(e) = self.a.poll_event() {
            self.events_a.push((self.now, e));
        }
        while let Some(e) = self.b.poll_event() {
            self.events_b.push((self.now, e));
        }
    }

    fn next_time(&self) -> Option<SimInstant> {
        [
            self.queue.peek().map(|Reverse((t, ..))| *t),
            self.a.poll_timeout(),
            self.b.poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// One step: the earliest delivery or timeout. Returns false when nothing is left or the
    /// next thing is after `until`.
    pub(crate) fn step(&mut self, until: SimInstant) -> bool {
        let Some(t) = self.next_time().filter(|t| *t <= until) else {
            return false;
        };
        self.now = self.now.max(t);
        if let Some(Reverse((at, ..))) = self.queue.peek()
            && *at <= self.now
        {
            let Some(Reverse((_, _, to, bytes))) = self.queue.pop() else {
                return false;
            };
            self.delivered += 1;
            self.last_arrival[to as usize] = Some(self.now);
            match to {
                Side::A => self.a.handle_packet(self.now, &bytes),
                Side::B => self.b.handle_packet(self.now, &bytes),
            }
        } else {
            if self.a.poll_timeout().is_some_and(|d| d <= self.now) {
                self.a.handle_timeout(self.now);
            }
            if self.b.poll_timeout().is_some_and(|d| d <= self.now) {
                self.b.handle_timeout(self.now);
            }
        }
        self.drain();
        true
    }

    /// Steps until `until` (inclusive) or until nothing is left; time then stands at `until`.
    pub(crate) fn run_until(&mut self, until: SimInstant) {
        while self.step(until) {}
        self.now = self.now.max(until);
    }

    /// Steps until `done` holds or `until` passes; returns whether `done` held.
    pub(crate) fn run_while(
        &mut self,
        until: SimInstant,
        mut done: impl FnMut(&Self) -> bool,
    ) -> bool {
        loop {
            if done(self) {
                return true;
            }
            if !self.step(until) {
                return done(self);
            }
        }
    }

    pub(crate) fn connected(&self) -> bool {
        self.a.is_connected() && self.b.is_connected()
    }

    /// Events of `side` matching `f`, with their times.
    pub(crate) fn find(
        &self,
        side: Side,
        f: impl Fn(&TunnelEvent) -> bool,
    ) -> Vec<(SimInstant, TunnelEvent)> {
        let events = if side == Side::A {
            &self.events_a
        } else {
            &self.events_b
        };
        events.iter().filter(|(_, e)| f(e)).cloned().collect()
    }
}

pub(crate) const fn at(secs: u64) -> SimInstant {
    SimInstant::from_micros(secs * 1_000_000)
}

pub(crate) const fn at_ms(ms: u64) -> SimInstant {
    SimInstant::from_micros(ms * 1_000)
}

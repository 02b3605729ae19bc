//! The tunnel over two real `sim_ice::IceAgent`s: its packets share the ICE port with STUN
//! (checks, consent), go out through `IceAgent::send` and come back through `poll_data`, as
//! in the AAE endpoint.

use super::{random_bytes, received_of};
use crate::{Tunnel, TunnelConfig, TunnelEvent, sha256};
use sim_core::{Addresses, Binding, Bound, Datagram, Node, Seed, SimInstant, Transmit};
use sim_ice::{IceAgent, IceConfig, IceEvent, Role};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

const DELAY: Duration = Duration::from_millis(10);

struct Ends {
    now: SimInstant,
    ice: [IceAgent; 2],
    addr: [SocketAddr; 2],
    gathered: [bool; 2],
    started: bool,
    tun: [Option<Tunnel>; 2],
    events: [Vec<(SimInstant, TunnelEvent)>; 2],
    ice_events: [Vec<(SimInstant, IceEvent)>; 2],
    /// One constant delay both ways: FIFO order is time order.
    wire: VecDeque<(SimInstant, usize, Datagram)>,
    /// Tunnel packets `IceAgent::send` refused (no selected pair yet).
    refused: u64,
}

impl Ends {
    fn new() -> Self {
        let addr: [SocketAddr; 2] = [
            "192.0.2.1:4000".parse().unwrap(),
            "192.0.2.2:4000".parse().unwrap(),
        ];
        let ice = [
            IceAgent::new(IceConfig::new(4000, Role::Controlling), Seed::new(1)).unwrap(),
            IceAgent::new(IceConfig::new(4000, Role::Controlled), Seed::new(2)).unwrap(),
        ];
        let mut e = Self {
            now: SimInstant::ZERO,
            ice,
            addr,
            gathered: [false; 2],
            started: false,
            tun: [None, None],
            events: [Vec::new(), Vec::new()],
            ice_events: [Vec::new(), Vec::new()],
            wire: VecDeque::new(),
            refused: 0,
        };
        for (ice, addr) in e.ice.iter_mut().zip(addr) {
            let bound = Bound {
                id: None,
                binding: Binding::udp(4000),
                result: Ok(addr),
            };
            ice.handle_bound(SimInstant::ZERO, bound);
            ice.handle_start(SimInstant::ZERO, Addresses::single(addr.ip()));
        }
        e.drain();
        e
    }

    fn drain(&mut self) {
        for i in 0..2 {
            while let Some(t) = self.ice[i].poll_transmit() {
                if let Transmit::Datagram(d) = t {
                    let to = usize::from(d.dst == self.addr[1]);
                    self.wire.push_back((self.now + DELAY, to, d));
                }
            }
            while let Some(ev) = self.ice[i].poll_event() {
                match &ev {
                    IceEvent::GatheringDone { .. } => self.gathered[i] = true,
                    IceEvent::Connected { .. } => self.start_tunnel(i),
                    _ => {}
                }
                self.ice_events[i].push((self.now, ev));
            }
            while let Some(data) = self.ice[i].poll_data() {
                if let Some(t) = self.tun[i].as_mut() {
                    t.handle_packet(self.now, &data);
                }
            }
            if let Some(t) = self.tun[i].as_mut() {
                while let Some(p) = t.poll_packet() {
                    if self.ice[i].send(self.now, p).is_err() {
                        self.refused += 1;
                    }
                }
                while let Some(ev) = t.poll_event() {
                    self.events[i].push((self.now, ev));
                }
            }
            while let Some(t) = self.ice[i].poll_transmit() {
                if let Transmit::Datagram(d) = t {
                    let to = usize::from(d.dst == self.addr[1]);
                    self.wire.push_back((self.now + DELAY, to, d));
                }
            }
        }
        if self.gathered == [true, true] && !self.started {
            self.started = true;
            for i in 0..2 {
                let creds = self.ice[1 - i].local_credentials().clone();
                let cands = self.ice[1 - i].local_candidates().to_vec();
                self.ice[i].set_remote(self.now, &creds, &cands).unwrap();
            }
            self.drain();
        }
    }

    /// The controlling agent (the AAE caller) connects the tunnel, the controlled one accepts,
    /// each once its own ICE reports connected.
    fn start_tunnel(&mut self, i: usize) {
        let seed = Seed::new(10 + i as u64);
        let config = TunnelConfig::default();
        self.tun[i] = Some(if i == 0 {
            Tunnel::connect(self.now, config, seed).unwrap()
        } else {
            Tunnel::accept(self.now, config, seed).unwrap()
        });
    }

    fn step(&mut self, until: SimInstant) -> bool {
        let next = [
            self.wire.front().map(|(t, ..)| *t),
            self.ice[0].poll_timeout(),
            self.ice[1].poll_timeout(),
            self.tun[0].as_ref().and_then(Tunnel::poll_timeout),
            self.tun[1].as_ref().and_then(Tunnel::poll_timeout),
        ]
        .into_iter()
        .flatten()
        .min();
        let Some(t) = next.filter(|t| *t <= until) else {
            return false;
        };
        self.now = self.now.max(t);
        if self.wire.front().is_some_and(|(t, ..)| *t <= self.now) {
            let Some((_, to, d)) = self.wire.pop_front() else {
                return false;
            };
            self.ice[to].handle_datagram(self.now, d);
        } else {
            for i in 0..2 {
                if self.ice[i].poll_timeout().is_some_and(|d| d <= self.now) {
                    self.ice[i].handle_timeout(self.now);
                }
                if let Some(t) = self.tun[i].as_mut()
                    && t.poll_timeout().is_some_and(|d| d <= self.now)
                {
                    t.handle_timeout(self.now);
                }
            }
        }
        self.drain();
        true
    }

    fn run_until(&mut self, until: SimInstant) {
        while self.step(until) {}
    }

    fn tunnel(&mut self, i: usize) -> &mut Tunnel {
        self.tun[i].as_mut().unwrap()
    }
}

fn seeded<T: Send>(seed: u64, f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(|| {
            let _scope = sim_core::entropy::seeded(seed);
            f()
        })
        .join()
        .unwrap()
    })
}

#[test]
fn tunnel_over_ice_agents_connects_carries_data_and_idles_for_ten_minutes() {
    seeded(1, || {
        let mut e = Ends::new();
        e.run_until(SimInstant::from_micros(5_000_000));
        // ICE: the controlled agent connects at 1.53 s, the controlling one at 1.54 s; the
        // tunnel handshake then takes two round trips of 20 ms.
        let rtt = Duration::from_millis(20);
        assert_eq!(
            e.events[0],
            vec![(
                SimInstant::from_micros(1_580_000),
                TunnelEvent::Connected { rtt }
            )]
        );
        assert_eq!(
            e.events[1],
            vec![(
                SimInstant::from_micros(1_570_000),
                TunnelEvent::Connected { rtt }
            )]
        );
        assert_eq!(e.refused, 0);
        let now = e.now;
        let id = e.tunnel(0).open_stream(now).unwrap();
        let data = random_bytes(200_000, 9);
        e.tunnel(0).write(now, id, &data).unwrap();
        e.drain();
        e.run_until(now + Duration::from_secs(600));
        assert_eq!(sha256(&received_of(&e.events[1], id)), sha256(&data));
        // Consent and tunnel keep-alives share the port; nothing timed out on either layer.
        for i in 0..2 {
            assert!(e.ice[i].is_connected(), "ice {i}");
            assert!(e.tunnel(i).is_connected(), "tunnel {i}");
            assert_eq!(e.tunnel(i).stats().malformed, 0);
            assert!(e.tunnel(i).stats().keepalives_sent > 500);
        }
    });
}

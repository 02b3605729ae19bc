//! The endpoint against a real `SipServer` in a small in-process network: UDP only, no NAT,
//! every hop `LATENCY`, run-time binds answered at once, time jumping to the next datagram or
//! deadline.

use super::*;
use sim_core::{Addresses, Binding, Bound, Datagram, Node, Seed, SimInstant, Transmit};
use sim_sip::{SipServer, SipServerConfig};
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

const LATENCY: Duration = Duration::from_millis(10);
const SERVER: &str = "203.0.113.10";

#[allow(clippy::large_enum_variant)]
enum Core {
    Sip(SipServer),
    Aae(AaeEndpoint),
}

struct Host {
    ip: IpAddr,
    core: Core,
    bound: BTreeSet<(bool, u16)>,
    next_port: u16,
    up: bool,
}

struct Net {
    hosts: Vec<Host>,
    queue: BTreeMap<(SimInstant, u64), Datagram>,
    seq: u64,
    now: SimInstant,
    events: Vec<(SimInstant, usize, AaeEvent)>,
    /// Datagrams between these host pairs are lost (both directions).
    cut: BTreeSet<(usize, usize)>,
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

impl Net {
    fn new() -> Self {
        let cfg = SipServerConfig::new(
            RELAY_DOMAIN,
            &[
                ("app1", "app-ticket"),
                ("app2", "app2-ticket"),
                ("router1", "router-ticket"),
            ],
        );
        let server = SipServer::new(cfg, Seed::new(7).rng());
        let mut net = Self {
            hosts: Vec::new(),
            queue: BTreeMap::new(),
            seq: 0,
            now: SimInstant::ZERO,
            events: Vec::new(),
            cut: BTreeSet::new(),
        };
        net.add(SERVER, Core::Sip(server));
        net
    }

    fn add_aae(
        &mut self,
        at: &str,
        id: &str,
        ticket: &str,
        f: impl FnOnce(&mut AaeConfig),
    ) -> usize {
        let mut cfg = AaeConfig::new(id, ticket, SocketAddr::new(ip(SERVER), 5060));
        f(&mut cfg);
        let seed = Seed::new(1).derive(id);
        self.add(at, Core::Aae(AaeEndpoint::new(cfg, seed)))
    }

    fn add(&mut self, at: &str, core: Core) -> usize {
        let i = self.hosts.len();
        self.hosts.push(Host {
            ip: ip(at),
            core,
            bound: BTreeSet::new(),
            next_port: 49152,
            up: true,
        });
        let bindings = match &self.hosts[i].core {
            Core::Sip(s) => s.bindings(),
            Core::Aae(a) => a.bindings(),
        };
        for b in bindings {
            let result = self.bind(i, b);
            let bound = Bound {
                id: None,
                binding: b,
                result,
            };
            let now = self.now;
            match &mut self.hosts[i].core {
                Core::Sip(s) => s.handle_bound(now, bound),
                Core::Aae(a) => a.handle_bound(now, bound),
            }
        }
        let addrs = Addresses::single(self.hosts[i].ip);
        let now = self.now;
        match &mut self.hosts[i].core {
            Core::Sip(s) => s.handle_start(now, addrs),
            Core::Aae(a) => a.handle_start(now, addrs),
        }
        self.drain(i);
        i
    }

    fn bind(&mut self, i: usize, b: Binding) -> Result<SocketAddr, sim_core::BindError> {
        let h = &mut self.hosts[i];
        let tcp = b.protocol == sim_core::Protocol::Tcp;
        let port = if b.port == 0 {
            let p = h.next_port;
            h.next_port += 1;
            p
        } else {
            b.port
        };
        if !h.bound.insert((tcp, port)) {
            return Err(sim_core::BindError::InUse);
        }
        Ok(SocketAddr::new(h.ip, port))
    }

    fn drain(&mut self, i: usize) {
        loop {
            let t = match &mut self.hosts[i].core {
                Core::Sip(s) => s.poll_transmit(),
                Core::Aae(a) => a.poll_transmit(),
            };
            let Some(t) = t else { break };
            match t {
                Transmit::Datagram(mut d) => {
                    if d.src.ip().is_unspecified() {
                        d.src.set_ip(self.hosts[i].ip);
                    }
                    let to = self.hosts.iter().position(|h| h.ip == d.dst.ip());
                    let lost = to.is_none_or(|j| self.cut.contains(&(i.min(j), i.max(j))));
                    if !lost {
                        self.seq += 1;
                        self.queue.insert((self.now + LATENCY, self.seq), d);
                    }
                }
                Transmit::Bind(b) => {
                    let result = self.bind(i, b.binding);
                    let bound = Bound {
                        id: Some(b.id),
                        binding: b.binding,
                        result,
                    };
                    let now = self.now;
                    match &mut self.hosts[i].core {
                        Core::Sip(s) => s.handle_bound(now, bound),
                        Core::Aae(a) => a.handle_bound(now, bound),
                    }
                }
                Transmit::Unbind(b) => {
                    let tcp = b.protocol == sim_core::Protocol::Tcp;
                    self.hosts[i].bound.remove(&(tcp, b.port));
                }
                Transmit::Stream(_) => {}
            }
        }
        if let Core::Aae(a) = &mut self.hosts[i].core {
            while let Some(e) = a.poll_event() {
                self.events.push((self.now, i, e));
            }
        } else if let Core::Sip(s) = &mut self.hosts[i].core {
            while s.poll_event().is_some() {}
        }
    }

    fn aae(&mut self, i: usize, f: impl FnOnce(&mut AaeEndpoint, SimInstant)) {
        let now = self.now;
        if let Core::Aae(a) = &mut self.hosts[i].core {
            f(a, now);
        }
        self.drain(i);
    }

    fn run_until(&mut self, end: SimInstant) {
        loop {
            let next_dgram = self.queue.keys().next().map(|k| k.0);
            let next_timer = self
                .hosts
                .iter()
                .filter(|h| h.up)
                .filter_map(|h| match &h.core {
                    Core::Sip(s) => s.poll_timeout(),
                    Core::Aae(a) => a.poll_timeout(),
                })
                .min();
            let next = [next_dgram, next_timer].into_iter().flatten().min();
            let Some(next) = next.filter(|t| *t <= end) else {
                self.now = end;
                return;
            };
            self.now = self.now.max(next);
            if next_dgram == Some(next) {
                let Some((_, d)) = self.queue.pop_first() else {
                    continue;
                };
                let Some(j) = self.hosts.iter().position(|h| h.ip == d.dst.ip() && h.up) else {
                    continue;
                };
                let tcp = false;
                if !self.hosts[j].bound.contains(&(tcp, d.dst.port())) {
                    continue;
                }
                let now = self.now;
                match &mut self.hosts[j].core {
                    Core::Sip(s) => s.handle_datagram(now, d),
                    Core::Aae(a) => a.handle_datagram(now, d),
                }
                self.drain(j);
            } else {
                for j in 0..self.hosts.len() {
                    let due = self.hosts[j].up
                        && match &self.hosts[j].core {
                            Core::Sip(s) => s.poll_timeout(),
                            Core::Aae(a) => a.poll_timeout(),
                        }
                        .is_some_and(|t| t <= next);
                    if due {
                        let now = self.now;
                        match &mut self.hosts[j].core {
                            Core::Sip(s) => s.handle_timeout(now),
                            Core::Aae(a) => a.handle_timeout(now),
                        }
                        self.drain(j);
                    }
                }
            }
        }
    }

    fn run_for(&mut self, d: Duration) {
        let end = self.now + d;
        self.run_until(end);
    }

    /// The SDK event codes host `i` reported, in order.
    fn codes(&self, i: usize) -> Vec<u32> {
        self.events
            .iter()
            .filter(|(_, h, _)| *h == i)
            .filter_map(|(_, _, e)| e.code().map(EventCode::code))
            .collect()
    }

    /// The status the first `code` event of host `i` carried.
    fn status_of(&self, i: usize, code: EventCode) -> Option<u32> {
        self.events
            .iter()
            .find(|(_, h, e)| *h == i && e.code() == Some(code))
            .and_then(|(_, _, e)| e.status())
    }

    fn time_of(&self, i: usize, code: EventCode) -> Option<SimInstant> {
        self.events
            .iter()
            .find(|(_, h, e)| *h == i && e.code() == Some(code))
            .map(|(t, _, _)| *t)
    }
}

fn secs(n: u64) -> SimInstant {
    SimInstant::from_micros(n * 1_000_000)
}

/// A relay, a router at 10.0.0.2 and an app at 10.0.0.3, both initialised (no STUN server:
/// init ends right after the registration).
fn pair(
    router: impl FnOnce(&mut AaeConfig),
    app: impl FnOnce(&mut AaeConfig),
) -> (Net, usize, usize) {
    let mut net = Net::new();
    let r = net.add_aae("10.0.0.2", "router1", "router-ticket", router);
    let a = net.add_aae("10.0.0.3", "app1", "app-ticket", app);
    net.aae(r, |e, now| e.init(now));
    net.aae(a, |e, now| e.init(now));
    net.run_until(secs(5));
    (net, r, a)
}

use EventCode as E;

#[test]
fn init_registers_then_reports_init_ok_and_deinit_unregisters() {
    let (mut net, r, _) = pair(|_| {}, |_| {});
    assert_eq!(
        net.codes(r),
        [E::SipReg.code(), E::RegOk.code(), E::InitOk.code()]
    );
    assert_eq!(net.status_of(r, E::RegOk), Some(200));
    net.aae(r, |e, now| e.deinit(now));
    net.run_for(Duration::from_secs(2));
    assert_eq!(
        net.codes(r)[3..],
        [E::SipUnreg.code(), E::UnregOk.code(), E::DeinitOk.code()]
    );
    net.aae(r, |e, now| e.deinit(now));
    assert_eq!(net.status_of(r, E::DeinitFailed), Some(status::NOT_INITED));
}

#[test]
fn wrong_ticket_is_the_401_loop() {
    let mut net = Net::new();
    let a = net.add_aae("10.0.0.3", "app1", "stale-ticket", |_| {});
    net.aae(a, |e, now| e.init(now));
    net.run_until(secs(5));
    assert_eq!(net.codes(a), [E::RegFailed.code(), E::InitFailed.code()]);
    assert_eq!(net.status_of(a, E::RegFailed), Some(401));
    assert_eq!(
        net.status_of(a, E::InitFailed),
        Some(status::PJSIP_EFAILEDCREDENTIAL)
    );
    let lifecycle = match &net.hosts[a].core {
        Core::Aae(e) => e.lifecycle(),
        Core::Sip(_) => unreachable!(),
    };
    assert_eq!(lifecycle, Lifecycle::Idle);
}

#[test]
fn unreachable_relay_fails_init_at_timer_f_with_60000013() {
    let mut net = Net::new();
    let a = net.add_aae("10.0.0.3", "app1", "app-ticket", |_| {});
    net.cut.insert((0, a));
    net.aae(a, |e, now| e.init(now));
    net.run_until(secs(40));
    assert_eq!(net.status_of(a, E::RegFailed), Some(408));
    assert_eq!(
        net.status_of(a, E::InitFailed),
        Some(status::CONNECT_TO_SIP_TIMEOUT)
    );
    // Timer F: 64 x T1 after the REGISTER.
    assert_eq!(net.time_of(a, E::InitFailed), Some(secs(32)));
}

#[test]
fn tunnel_happy_path_in_order_and_data_arrives_intact() {
    let (mut net, r, a) = pair(|_| {}, |_| {});
    net.aae(a, |e, now| {
        e.make_call(now, "router1", &[], Duration::ZERO);
    });
    net.run_for(Duration::from_secs(5));
    let tail = |v: Vec<u32>| v[3..].to_vec();
    assert_eq!(
        tail(net.codes(a)),
        [1, 3, 4, 5, 60003, 60104],
        "caller: CALLING, EARLY, CONNECTING, CONFIRMED, START, MAKECALL_OK"
    );
    assert_eq!(tail(net.codes(r)), [2, 3, 4, 5, 60003]);
    net.aae(a, |e, now| e.send_data(now, 100_000));
    net.run_for(Duration::from_secs(2));
    let sent = net.events.iter().find_map(|(_, h, e)| match e {
        AaeEvent::DataSent { bytes, sha256, .. } if *h == a => Some((*bytes, sha256.clone())),
        _ => None,
    });
    let received: Vec<(u64, String)> = net
        .events
        .iter()
        .filter_map(|(_, h, e)| match e {
            AaeEvent::Data { bytes, sha256, .. } if *h == r => Some((*bytes, sha256.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(sent.as_ref().map(|s| s.0), Some(100_000));
    assert_eq!(
        received.last(),
        sent.as_ref(),
        "the router got exactly what the app sent"
    );
    net.aae(a, |e, now| e.hangup(now));
    net.run_for(Duration::from_secs(1));
    assert_eq!(tail(net.codes(a))[6..], [6, 60004, 60106]);
    assert_eq!(tail(net.codes(r))[5..], [6, 60004]);
    // The call's ports are released.
    assert_eq!(
        net.hosts[a].bound.len(),
        2,
        "only the SIP and RTP sockets remain"
    );
}

#[test]
fn make_call_refusals_carry_the_documented_codes() {
    let (mut net, _, a) = pair(|_| {}, |_| {});
    let refused = |net: &mut Net, f: &dyn Fn(&mut AaeEndpoint, SimInstant)| {
        net.aae(a, |e, now| f(e, now));
        net.events.last().and_then(|(_, _, e)| e.status())
    };
    assert_eq!(
        refused(&mut net, &|e, now| {
            e.make_call(now, "", &[], Duration::ZERO);
        }),
        Some(status::PJ_EINVAL)
    );
    assert_eq!(
        refused(&mut net, &|e, now| {
            e.make_call(now, "router1", &[(1, 1); 9], Duration::ZERO);
        }),
        Some(status::PJ_EINVAL)
    );
    net.aae(a, |e, now| {
        e.make_call(now, "router1", &[], Duration::ZERO);
    });
    assert_eq!(
        refused(&mut net, &|e, now| {
            e.make_call(now, "router1", &[], Duration::ZERO);
        }),
        Some(status::TNL_ANOTHER_CALL_ALREADY_MADE)
    );
    assert_eq!(
        refused(&mut net, &|e, now| e.init(now)),
        Some(status::ALREADY_INITED)
    );
}

#[test]
fn callee_at_max_calls_answers_486_without_an_event() {
    let (mut net, r, a) = pair(|c| c.max_calls = 1, |_| {});
    let b = net.add_aae("10.0.0.4", "app2", "app2-ticket", |_| {});
    net.aae(b, |e, now| e.init(now));
    net.aae(a, |e, now| {
        e.make_call(now, "router1", &[], Duration::ZERO);
    });
    net.run_for(Duration::from_secs(5));
    net.aae(b, |e, now| {
        e.make_call(now, "router1", &[], Duration::ZERO);
    });
    net.run_for(Duration::from_secs(2));
    assert_eq!(net.status_of(b, E::MakeCallFailed), Some(486));
    assert_eq!(net.status_of(b, E::Disconnected), Some(486));
    let incoming = net
        .codes(r)
        .iter()
        .filter(|&&c| c == E::Incoming.code())
        .count();
    assert_eq!(incoming, 1, "the rejected INVITE gives the callee no event");
    assert!(net.codes(a).contains(&E::MakeCallOk.code()));
}

#[test]
fn keep_alive_timeout_fires_between_t_and_2t_after_a_partition() {
    let (mut net, r, a) = pair(
        |c| c.tnl_timeout = Duration::from_secs(30),
        |c| {
            c.tnl_timeout = Duration::from_secs(30);
        },
    );
    net.aae(a, |e, now| {
        e.make_call(now, "router1", &[], Duration::ZERO);
    });
    net.run_for(Duration::from_secs(5));
    let cut_at = net.now;
    net.cut.insert((r.min(a), r.max(a)));
    net.run_for(Duration::from_secs(120));
    for side in [a, r] {
        let t = net.time_of(side, E::KaTimeout).expect("60002");
        let after = t.saturating_since(cut_at);
        assert!(
            after >= Duration::from_secs(29) && after <= Duration::from_secs(61),
            "60002 {after:?} after the partition"
        );
        let codes = net.codes(side);
        let k = codes.iter().position(|&c| c == 60002).unwrap();
        assert_eq!(codes[k..k + 3], [60002, 60004, 6]);
    }
}

#[test]
fn ip_change_refuses_later_calls_with_60000007_until_reinit() {
    let (mut net, _, a) = pair(|_| {}, |_| {});
    let old = Addresses::single(ip("10.0.0.3"));
    let new = Addresses::single(ip("10.0.0.33"));
    net.aae(a, |e, now| e.handle_address_change(now, old, new));
    assert_eq!(net.codes(a).last(), Some(&E::IpChanged.code()));
    net.aae(a, |e, now| {
        e.make_call(now, "router1", &[], Duration::ZERO);
    });
    assert_eq!(
        net.status_of(a, E::MakeCallFailed),
        Some(status::IP_CHANGED)
    );
}

#[test]
fn stall_beyond_the_watchdog_limit_reports_deadlock_every_period() {
    let (mut net, _, a) = pair(|_| {}, |_| {});
    let start = net.now;
    net.aae(a, |e, now| e.stall(now, Duration::from_secs(70)));
    net.run_for(Duration::from_secs(90));
    let times: Vec<Duration> = net
        .events
        .iter()
        .filter(|(_, h, e)| *h == a && e.code() == Some(E::Deadlock))
        .map(|(t, _, _)| t.saturating_since(start))
        .collect();
    assert!(!times.is_empty(), "60114 reported");
    assert!(
        times
            .iter()
            .all(|t| *t > WATCHDOG_LIMIT && *t <= Duration::from_secs(70))
    );
    assert!(times.windows(2).all(|w| w[1] - w[0] == WATCHDOG_PERIOD));
}

#[test]
fn sdp_carries_the_default_candidate_and_every_candidate() {
    use sim_ice::{CandidateKind, Credentials, IceCandidate};
    let host = IceCandidate {
        kind: CandidateKind::Host,
        addr: "10.0.0.3:4000".parse().unwrap(),
        base: "10.0.0.3:4000".parse().unwrap(),
        priority: 2_130_706_431,
    };
    let srflx = IceCandidate {
        kind: CandidateKind::ServerReflexive,
        addr: "198.51.100.2:4000".parse().unwrap(),
        base: host.addr,
        priority: 1_694_498_815,
    };
    let creds = Credentials {
        ufrag: "abcd".into(),
        pwd: "0123456789abcdef0123456789".into(),
    };
    let m = media::local_media(&creds, &[host.clone(), srflx.clone()]).unwrap();
    assert_eq!((m.address.as_str(), m.port), ("198.51.100.2", 4000));
    let mut sdp = sim_sip::sdp::Sdp::audio_offer("0.0.0.0", 0, sim_sip::sdp::Profile::Avp, (1, 1));
    sdp.address = m.address.clone();
    sdp.port = m.port;
    sdp.attributes = m.attributes.clone();
    let parsed = sim_sip::sdp::Sdp::parse(&sdp.to_text()).unwrap();
    match media::remote_ice(&parsed) {
        media::RemoteIce::Ice(c, cands) => {
            assert_eq!(c, creds);
            assert_eq!(cands.len(), 2);
            assert_eq!(cands[1].addr, srflx.addr);
        }
        other => panic!("{other:?}"),
    }
    // An ALG rewrote c=/m= but not the candidates: ICE mismatch.
    let mut alg = parsed.clone();
    alg.address = "203.0.113.99".into();
    assert!(matches!(
        media::remote_ice(&alg),
        media::RemoteIce::Mismatch(_)
    ));
    alg.attributes.retain(|a| !a.starts_with("ice-pwd"));
    assert!(matches!(
        media::remote_ice(&alg),
        media::RemoteIce::MissingAttributes
    ));
}

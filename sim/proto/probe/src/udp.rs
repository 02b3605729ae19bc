//! The UDP probe: sends numbered probes, optionally echoes, reports what it receives.
//!
//! Payloads are one line of text so a capture reader sees what they are:
//!
//! ```text
//! natlab probe from=alice id=3 port=5000 seq=7
//! natlab echo from=stun1 id=0 seq=7 seen=198.51.100.1:5000
//! ```
//!
//! An echo goes back to the probe's source address and carries `seen=`, the address the probe
//! arrived from: the public side of the sender's NAT mapping. A probe padded to a `size` gets
//! dots before its final newline.
//!
//! With [`Wire::SipOptions`] probes are SIP OPTIONS requests instead (module `sip_ping`).
//! An echoing probe answers each kind in its own format, so it serves both.
//!
//! # Drive contract
//! After any input drain `poll_transmit`, then `poll_event`; call `handle_timeout` at
//! `poll_timeout`. [`UdpProbe::send`] starts a series of probes at `now`.

use crate::{Observation, ProbeKind, sip_ping, stun_ping};
use bytes::Bytes;
use sim_core::{
    Addresses, Bind, BindId, Binding, Bound, Datagram, Node, Protocol, SimInstant, Transmit,
};
use std::collections::BTreeMap;
use std::collections::VecDeque;
use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

/// A series of probes to one destination.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Series {
    /// Destination.
    pub to: SocketAddr,
    /// Local port to send from.
    pub from_port: u16,
    /// Probes left; `None` for unlimited.
    pub remaining: Option<u32>,
    /// Time between probes.
    pub interval: Duration,
    /// Payload size (padded), or just the text.
    pub size: Option<usize>,
}

/// What a probe's payload looks like on the wire.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Wire {
    /// One line of text.
    #[default]
    Text,
    /// SIP OPTIONS requests; echoes are `200 OK` with `received` and `rport`.
    SipOptions,
    /// STUN Binding requests; echoes are Binding success responses with XOR-MAPPED-ADDRESS.
    Stun,
}

#[derive(Clone, Debug)]
struct Scheduled {
    next: SimInstant,
    series: Series,
}

/// A UDP probe.
#[derive(Debug)]
pub struct UdpProbe {
    name: String,
    id: u32,
    ports: Vec<u16>,
    echo: bool,
    wire: Wire,
    seq: u64,
    addresses: Addresses,
    series: Vec<Scheduled>,
    /// Series waiting for the ephemeral port they asked for, by bind request.
    waiting: BTreeMap<BindId, Series>,
    next_bind: u32,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Observation>,
}

impl UdpProbe {
    /// A probe called `name` (node id `id`) listening on `ports`, echoing when `echo`, sending
    /// probes in the `wire` format.
    pub fn new(name: &str, id: u32, ports: Vec<u16>, echo: bool, wire: Wire) -> Self {
        Self {
            name: name.to_owned(),
            id,
            ports,
            echo,
            wire,
            seq: 0,
            addresses: Addresses::default(),
            series: Vec::new(),
            waiting: BTreeMap::new(),
            next_bind: 0,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// Starts a series of probes; the first goes out at once. A series from port 0 first binds
    /// an ephemeral port and starts when the port is bound.
    pub fn send(&mut self, now: SimInstant, series: Series) {
        if series.remaining == Some(0) {
            return;
        }
        if series.from_port == 0 {
            let id = BindId(self.next_bind);
            self.next_bind += 1;
            self.waiting.insert(id, series);
            self.transmits.push_back(Transmit::Bind(Bind {
                id,
                binding: Binding::udp(0),
            }));
            return;
        }
        self.series.push(Scheduled { next: now, series });
        self.handle_timeout(now);
    }

    /// The addresses the probe last learnt.
    pub const fn addresses(&self) -> Addresses {
        self.addresses
    }

    fn emit(&mut self, series: &Series) {
        self.seq += 1;
        let payload = match self.wire {
            Wire::Text => probe_line(&self.name, self.id, series.from_port, self.seq, series.size),
            Wire::Stun => {
                let line = probe_line(&self.name, self.id, series.from_port, self.seq, None);
                let text = String::from_utf8_lossy(&line);
                stun_ping::request(text.trim_end()).unwrap_or(line)
            }
            Wire::SipOptions => sip_ping::request(
                &self.name,
                self.id,
                SocketAddr::new(
                    self.addresses
                        .towards(series.to.ip())
                        .unwrap_or(Ipv4Addr::UNSPECIFIED.into()),
                    series.from_port,
                ),
                series.to,
                self.seq,
                series.size,
            ),
        };
        let src = SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), series.from_port);
        self.transmits.push_back(Transmit::Datagram(Datagram {
            src,
            dst: series.to,
            payload: Bytes::from(payload),
        }));
        self.events.push_back(Observation::ProbeSent {
            to: series.to,
            from_port: series.from_port,
            seq: self.seq,
        });
    }

    fn echo_reply(&mut self, d: &Datagram, seq: Option<u64>) {
        let src = SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), d.dst.port());
        if let Some(payload) = stun_ping::response(&self.name, self.id, &d.payload, d.src) {
            self.transmits.push_back(Transmit::Datagram(Datagram {
                src,
                dst: d.src,
                payload: Bytes::from(payload),
            }));
            return;
        }
        if let Some(payload) = sip_ping::response(self.id, &d.payload, d.src) {
            self.transmits.push_back(Transmit::Datagram(Datagram {
                src,
                dst: d.src,
                payload: Bytes::from(payload),
            }));
            return;
        }
        let mut text = String::with_capacity(80);
        let _ = write!(text, "natlab echo from={} id={}", self.name, self.id);
        if let Some(seq) = seq {
            let _ = write!(text, " seq={seq}");
        }
        let _ = writeln!(text, " seen={}", d.src);
        self.transmits.push_back(Transmit::Datagram(Datagram {
            src,
            dst: d.src,
            payload: Bytes::from(text),
        }));
    }
}

/// A probe line, padded with dots to `size` (the newline stays first after the text).
pub(crate) fn probe_line(name: &str, id: u32, port: u16, seq: u64, size: Option<usize>) -> Vec<u8> {
    let mut text = String::with_capacity(64);
    let _ = write!(
        text,
        "natlab probe from={name} id={id} port={port} seq={seq}"
    );
    let mut payload = text.into_bytes();
    if let Some(size) = size {
        payload.resize(size.saturating_sub(1).max(payload.len()), b'.');
    }
    payload.push(b'\n');
    payload
}

/// The fields of a probe or echo line; anything else is foreign traffic.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Parsed {
    pub(crate) kind: Option<ProbeKind>,
    pub(crate) id: Option<u32>,
    pub(crate) port: Option<u16>,
    pub(crate) seq: Option<u64>,
    pub(crate) seen: Option<SocketAddr>,
}

/// Parses a probe or echo payload in either wire format.
pub(crate) fn parse(payload: &[u8]) -> Parsed {
    sip_ping::parse(payload)
        .or_else(|| stun_ping::parse(payload))
        .unwrap_or_else(|| parse_line(payload))
}

/// Parses the first line of a probe or echo payload.
pub(crate) fn parse_line(payload: &[u8]) -> Parsed {
    let line = payload.split(|&b| b == b'\n').next().unwrap_or_default();
    let Ok(line) = std::str::from_utf8(line) else {
        return Parsed::default();
    };
    let mut words = line.split(' ');
    let kind = match (words.next(), words.next()) {
        (Some("natlab"), Some("probe")) => ProbeKind::Probe,
        (Some("natlab"), Some("echo")) => ProbeKind::Echo,
        _ => return Parsed::default(),
    };
    let mut p = Parsed {
        kind: Some(kind),
        ..Parsed::default()
    };
    for word in words {
        match word.split_once('=') {
            Some(("id", v)) => p.id = v.parse().ok(),
            Some(("port", v)) => p.port = v.parse().ok(),
            Some(("seq", v)) => p.seq = v.parse().ok(),
            Some(("seen", v)) => p.seen = v.parse().ok(),
            _ => {}
        }
    }
    p
}

impl Node for UdpProbe {
    type Event = Observation;

    fn bindings(&self) -> Vec<Binding> {
        self.ports
            .iter()
            .map(|&port| Binding {
                protocol: Protocol::Udp,
                port,
            })
            .collect()
    }

    fn handle_start(&mut self, _now: SimInstant, addresses: Addresses) {
        self.addresses = addresses;
        self.events.push_back(Observation::Started { addresses });
    }

    fn handle_address_change(&mut self, _now: SimInstant, old: Addresses, new: Addresses) {
        self.addresses = new;
        self.events
            .push_back(Observation::AddressChanged { old, new });
    }

    fn handle_bound(&mut self, now: SimInstant, bound: Bound) {
        let Some(id) = bound.id else {
            return;
        };
        let Some(mut series) = self.waiting.remove(&id) else {
            return;
        };
        match bound.result {
            Ok(local) => {
                self.events.push_back(Observation::Bound { local });
                series.from_port = local.port();
                self.series.push(Scheduled { next: now, series });
                self.handle_timeout(now);
            }
            Err(e) => self.events.push_back(Observation::BindFailed {
                port: bound.binding.port,
                error: e.to_string(),
            }),
        }
    }

    fn handle_datagram(&mut self, _now: SimInstant, d: Datagram) {
        let p = parse(&d.payload);
        let kind = p.kind.unwrap_or(ProbeKind::Probe);
        self.events.push_back(Observation::ProbeReceived {
            kind,
            from: p.id,
            from_port: p.port,
            seq: p.seq,
            src: d.src,
            port: d.dst.port(),
            seen: p.seen,
        });
        if self.echo && kind == ProbeKind::Probe {
            self.echo_reply(&d, p.seq);
        }
    }

    fn handle_timeout(&mut self, now: SimInstant) {
        let mut due = Vec::new();
        for s in &mut self.series {
            if s.next <= now {
                due.push(s.series.clone());
                if let Some(r) = s.series.remaining.as_mut() {
                    *r -= 1;
                }
                s.next = now + s.series.interval;
            }
        }
        self.series.retain(|s| s.series.remaining != Some(0));
        for series in &due {
            self.emit(series);
        }
    }

    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    fn poll_event(&mut self) -> Option<Observation> {
        self.events.pop_front()
    }

    fn poll_timeout(&self) -> Option<SimInstant> {
        self.series.iter().map(|s| s.next).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(n: u64) -> SimInstant {
        SimInstant::from_micros(n * 1_000_000)
    }

    fn addr(a: &str) -> SocketAddr {
        a.parse().unwrap()
    }

    fn series(count: Option<u32>) -> Series {
        Series {
            to: addr("203.0.113.10:5000"),
            from_port: 5000,
            remaining: count,
            interval: Duration::from_secs(1),
            size: None,
        }
    }

    fn datagrams(p: &mut UdpProbe) -> Vec<Datagram> {
        std::iter::from_fn(|| p.poll_transmit())
            .map(|t| match t {
                Transmit::Datagram(d) => d,
                other => panic!("udp probe asked for {other:?}"),
            })
            .collect()
    }

    #[test]
    fn probe_idle_send_three_emits_at_each_interval_then_stops() {
        let mut p = UdpProbe::new("alice", 3, vec![5000], false, Wire::Text);
        p.send(s(0), series(Some(3)));
        assert_eq!(datagrams(&mut p).len(), 1);
        assert_eq!(p.poll_timeout(), Some(s(1)));
        p.handle_timeout(s(1));
        p.handle_timeout(s(2));
        let sent = datagrams(&mut p);
        assert_eq!(sent.len(), 2);
        assert_eq!(p.poll_timeout(), None);
        assert_eq!(
            &sent[1].payload[..],
            b"natlab probe from=alice id=3 port=5000 seq=3\n"
        );
    }

    #[test]
    fn probe_unlimited_series_keeps_going() {
        let mut p = UdpProbe::new("alice", 3, vec![5000], false, Wire::Text);
        p.send(s(0), series(None));
        for t in 1..=100 {
            p.handle_timeout(s(t));
        }
        assert_eq!(datagrams(&mut p).len(), 101);
        assert_eq!(p.poll_timeout(), Some(s(101)));
    }

    #[test]
    fn probe_echoing_answers_with_the_seen_address() {
        let mut p = UdpProbe::new("stun1", 0, vec![3478], true, Wire::Text);
        let d = Datagram {
            src: addr("198.51.100.1:40000"),
            dst: addr("203.0.113.10:3478"),
            payload: Bytes::from_static(b"natlab probe from=alice id=3 port=5000 seq=7\n"),
        };
        p.handle_datagram(s(0), d);
        let reply = datagrams(&mut p);
        assert_eq!(reply[0].dst, addr("198.51.100.1:40000"));
        assert_eq!(reply[0].src.port(), 3478);
        assert_eq!(
            &reply[0].payload[..],
            b"natlab echo from=stun1 id=0 seq=7 seen=198.51.100.1:40000\n"
        );
        let Some(Observation::ProbeReceived {
            kind,
            from,
            from_port,
            seq,
            ..
        }) = p.poll_event()
        else {
            panic!("no observation")
        };
        assert_eq!(
            (kind, from, from_port, seq),
            (ProbeKind::Probe, Some(3), Some(5000), Some(7))
        );
    }

    #[test]
    fn probe_receiving_an_echo_reports_what_was_seen_and_does_not_echo_back() {
        let mut p = UdpProbe::new("alice", 3, vec![5000], true, Wire::Text);
        let d = Datagram {
            src: addr("203.0.113.10:3478"),
            dst: addr("10.0.0.2:5000"),
            payload: Bytes::from_static(
                b"natlab echo from=stun1 id=0 seq=7 seen=198.51.100.1:40000\n",
            ),
        };
        p.handle_datagram(s(0), d);
        assert!(datagrams(&mut p).is_empty());
        let Some(Observation::ProbeReceived { kind, seen, .. }) = p.poll_event() else {
            panic!()
        };
        assert_eq!(
            (kind, seen),
            (ProbeKind::Echo, Some(addr("198.51.100.1:40000")))
        );
    }

    #[test]
    fn probe_foreign_payload_counts_as_anonymous_probe() {
        let mut p = UdpProbe::new("alice", 3, vec![5000], false, Wire::Text);
        let d = Datagram {
            src: addr("203.0.113.10:3478"),
            dst: addr("10.0.0.2:5000"),
            payload: Bytes::from_static(&[0xff, 0x00, 0x12]),
        };
        p.handle_datagram(s(0), d);
        let Some(Observation::ProbeReceived { from, seq, .. }) = p.poll_event() else {
            panic!()
        };
        assert_eq!((from, seq), (None, None));
    }

    #[test]
    fn probe_pads_to_the_requested_size() {
        let mut p = UdpProbe::new("alice", 3, vec![5000], false, Wire::Text);
        p.send(
            s(0),
            Series {
                size: Some(1400),
                ..series(Some(1))
            },
        );
        assert_eq!(datagrams(&mut p)[0].payload.len(), 1400);
    }

    #[test]
    fn probe_sip_options_round_trip_through_an_echoing_probe() {
        let mut alice = UdpProbe::new("alice", 3, vec![5000], false, Wire::SipOptions);
        let mut s1 = UdpProbe::new("s1", 0, vec![5000], true, Wire::Text);
        alice.handle_start(s(0), Addresses::single(Ipv4Addr::new(10, 0, 0, 2).into()));
        let _ = alice.poll_event();
        alice.send(s(0), series(Some(1)));
        let probe = datagrams(&mut alice).remove(0);
        assert!(
            probe
                .payload
                .starts_with(b"OPTIONS sip:203.0.113.10:5000 SIP/2.0\r\n")
        );
        let _ = alice.poll_event();
        let mapped = addr("198.51.100.1:40000");
        s1.handle_datagram(
            s(0),
            Datagram {
                src: mapped,
                dst: addr("203.0.113.10:5000"),
                payload: probe.payload,
            },
        );
        let Some(Observation::ProbeReceived {
            kind,
            from,
            from_port,
            seq,
            ..
        }) = s1.poll_event()
        else {
            panic!("no observation")
        };
        assert_eq!(
            (kind, from, from_port, seq),
            (ProbeKind::Probe, Some(3), Some(5000), Some(1))
        );
        let reply = datagrams(&mut s1).remove(0);
        assert!(reply.payload.starts_with(b"SIP/2.0 200 OK\r\n"));
        assert_eq!(reply.dst, mapped);
        alice.handle_datagram(
            s(0),
            Datagram {
                src: addr("203.0.113.10:5000"),
                dst: addr("10.0.0.2:5000"),
                payload: reply.payload,
            },
        );
        let Some(Observation::ProbeReceived {
            kind,
            from,
            seq,
            seen,
            ..
        }) = alice.poll_event()
        else {
            panic!("no observation")
        };
        assert_eq!(
            (kind, from, seq, seen),
            (ProbeKind::Echo, Some(0), Some(1), Some(mapped))
        );
    }

    #[test]
    fn probe_series_from_port_zero_binds_then_sends_from_the_bound_port() {
        let mut p = UdpProbe::new("alice", 3, vec![5000], false, Wire::Text);
        p.send(
            s(2),
            Series {
                from_port: 0,
                ..series(Some(2))
            },
        );
        let Some(Transmit::Bind(bind)) = p.poll_transmit() else {
            panic!("no bind request")
        };
        assert_eq!(bind.binding, Binding::udp(0));
        assert_eq!(
            p.poll_timeout(),
            None,
            "nothing is sent before the port is bound"
        );
        let local = addr("10.0.0.2:49153");
        p.handle_bound(
            s(3),
            Bound {
                id: Some(bind.id),
                binding: bind.binding,
                result: Ok(local),
            },
        );
        assert_eq!(p.poll_event(), Some(Observation::Bound { local }));
        let sent = datagrams(&mut p);
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].src.port(), 49153);
        assert_eq!(p.poll_timeout(), Some(s(4)));
    }

    #[test]
    fn probe_series_from_port_zero_bind_failure_is_reported_and_nothing_sent() {
        let mut p = UdpProbe::new("alice", 3, vec![5000], false, Wire::Text);
        p.send(
            s(0),
            Series {
                from_port: 0,
                ..series(Some(1))
            },
        );
        let Some(Transmit::Bind(bind)) = p.poll_transmit() else {
            panic!("no bind request")
        };
        p.handle_bound(
            s(0),
            Bound {
                id: Some(bind.id),
                binding: bind.binding,
                result: Err(sim_core::BindError::NoFreePort),
            },
        );
        assert!(matches!(
            p.poll_event(),
            Some(Observation::BindFailed { port: 0, .. })
        ));
        assert!(datagrams(&mut p).is_empty());
    }

    #[test]
    fn probe_sip_options_after_address_change_carry_the_new_address() {
        let old = Addresses::single(Ipv4Addr::new(10, 0, 0, 2).into());
        let new = Addresses::single(Ipv4Addr::new(10, 0, 0, 9).into());
        let mut p = UdpProbe::new("alice", 3, vec![5000], false, Wire::SipOptions);
        p.handle_start(s(0), old);
        p.handle_address_change(s(1), old, new);
        assert_eq!(
            p.poll_event(),
            Some(Observation::Started { addresses: old })
        );
        assert_eq!(
            p.poll_event(),
            Some(Observation::AddressChanged { old, new })
        );
        p.send(s(1), series(Some(1)));
        let sent = datagrams(&mut p).remove(0);
        let text = String::from_utf8_lossy(&sent.payload);
        assert!(text.contains("Via: SIP/2.0/UDP 10.0.0.9:5000"), "{text}");
    }
}

//! The TCP probe: opens a connection per series and writes probe lines over it; optionally
//! echoes every probe line it receives on the connection it came from.
//!
//! Lines are the same text as the UDP probe's ([`crate::UdpProbe`]), one per line. A series sends
//! its first line as soon as the connection is established, then one per interval, and closes
//! the connection after the last. Connection outcomes are reported too: established, refused,
//! reset or timed out.
//!
//! # Drive contract
//! After any input drain `poll_transmit`, then `poll_event`; call `handle_timeout` at
//! `poll_timeout`. [`TcpProbe::send`] starts a series at `now`.

use crate::udp::{Series, parse_line, probe_line};
use crate::{Observation, ProbeKind};
use bytes::Bytes;
use sim_core::{
    Addresses, Binding, Datagram, Node, Protocol, SimInstant, StreamCommand, StreamEvent, StreamId,
    Transmit,
};
use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::net::SocketAddr;

#[derive(Debug)]
struct Conn {
    remote: SocketAddr,
    local_port: u16,
    /// The series this connection carries, for connections we opened.
    series: Option<Series>,
    next: Option<SimInstant>,
    /// Bytes received and not yet split into lines.
    buffer: Vec<u8>,
}

/// A TCP probe.
#[derive(Debug)]
pub struct TcpProbe {
    name: String,
    id: u32,
    port: u16,
    echo: bool,
    seq: u64,
    next_stream: u64,
    conns: BTreeMap<StreamId, Conn>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Observation>,
}

impl TcpProbe {
    /// A probe called `name` (node id `id`) listening on TCP `port`, echoing when `echo`.
    pub fn new(name: &str, id: u32, port: u16, echo: bool) -> Self {
        Self {
            name: name.to_owned(),
            id,
            port,
            echo,
            seq: 0,
            next_stream: 1,
            conns: BTreeMap::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// Opens a connection to `series.to` and sends the series over it once established.
    pub fn send(&mut self, _now: SimInstant, series: Series) {
        if series.remaining == Some(0) {
            return;
        }
        let id = StreamId(self.next_stream);
        self.next_stream += 1;
        self.transmits
            .push_back(Transmit::Stream(StreamCommand::Connect {
                id,
                dst: series.to,
            }));
        let conn = Conn {
            remote: series.to,
            local_port: 0,
            series: Some(series),
            next: None,
            buffer: Vec::new(),
        };
        self.conns.insert(id, conn);
    }

    fn write_probe(&mut self, id: StreamId) {
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        let Some(series) = conn.series.as_mut() else {
            return;
        };
        self.seq += 1;
        let line = probe_line(&self.name, self.id, conn.local_port, self.seq, series.size);
        if let Some(r) = series.remaining.as_mut() {
            *r = r.saturating_sub(1);
        }
        let to = conn.remote;
        let done = series.remaining == Some(0);
        self.transmits
            .push_back(Transmit::Stream(StreamCommand::Send {
                id,
                data: Bytes::from(line),
            }));
        self.events.push_back(Observation::ProbeSent {
            to,
            from_port: conn.local_port,
            seq: self.seq,
        });
        if done {
            conn.next = None;
            self.transmits
                .push_back(Transmit::Stream(StreamCommand::Close { id }));
        }
    }

    fn on_data(&mut self, id: StreamId, data: &[u8]) {
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        conn.buffer.extend_from_slice(data);
        let (remote, port) = (conn.remote, conn.local_port);
        let mut lines = Vec::new();
        while let Some(end) = conn.buffer.iter().position(|&b| b == b'\n') {
            lines.push(conn.buffer.drain(..=end).collect::<Vec<u8>>());
        }
        for line in lines {
            let p = parse_line(&line);
            let kind = p.kind.unwrap_or(ProbeKind::Probe);
            self.events.push_back(Observation::ProbeReceived {
                kind,
                from: p.id,
                from_port: p.port,
                seq: p.seq,
                src: remote,
                port,
                seen: p.seen,
            });
            if self.echo && kind == ProbeKind::Probe {
                let mut text = format!("natlab echo from={} id={}", self.name, self.id);
                if let Some(seq) = p.seq {
                    let _ = write!(text, " seq={seq}");
                }
                let _ = writeln!(text, " seen={remote}");
                self.transmits
                    .push_back(Transmit::Stream(StreamCommand::Send {
                        id,
                        data: Bytes::from(text),
                    }));
            }
        }
    }
}

impl Node for TcpProbe {
    type Event = Observation;

    fn bindings(&self) -> Vec<Binding> {
        vec![Binding {
            protocol: Protocol::Tcp,
            port: self.port,
        }]
    }

    fn handle_start(&mut self, _now: SimInstant, addresses: Addresses) {
        self.events.push_back(Observation::Started { addresses });
    }

    fn handle_address_change(&mut self, _now: SimInstant, old: Addresses, new: Addresses) {
        self.events
            .push_back(Observation::AddressChanged { old, new });
    }

    fn handle_datagram(&mut self, _now: SimInstant, _datagram: Datagram) {}

    fn handle_stream(&mut self, now: SimInstant, event: StreamEvent) {
        match event {
            StreamEvent::Accepted { id, local, remote } => {
                let conn = Conn {
                    remote,
                    local_port: local.port(),
                    series: None,
                    next: None,
                    buffer: Vec::new(),
                };
                self.conns.insert(id, conn);
                self.events.push_back(Observation::StreamOpened {
                    remote,
                    accepted: true,
                });
            }
            StreamEvent::Connected { id, local } => {
                let Some(conn) = self.conns.get_mut(&id) else {
                    return;
                };
                conn.local_port = local.port();
                let remote = conn.remote;
                self.events.push_back(Observation::StreamOpened {
                    remote,
                    accepted: false,
                });
                self.write_probe(id);
                if let Some(conn) = self.conns.get_mut(&id) {
                    let more = conn.series.as_ref().is_some_and(|s| s.remaining != Some(0));
                    conn.next = more.then(|| {
                        now + conn
                            .series
                            .as_ref()
                            .map_or_else(Default::default, |s| s.interval)
                    });
                }
            }
            StreamEvent::Data { id, data } => self.on_data(id, &data),
            StreamEvent::Closed { id } => {
                // The peer is done: close our side too (a no-op if we already did).
                self.transmits
                    .push_back(Transmit::Stream(StreamCommand::Close { id }));
                self.conns.remove(&id);
            }
            StreamEvent::Failed { id, error } => {
                if let Some(conn) = self.conns.remove(&id) {
                    self.events.push_back(Observation::StreamFailed {
                        remote: conn.remote,
                        error: error.to_string(),
                    });
                }
            }
        }
    }

    fn handle_timeout(&mut self, now: SimInstant) {
        let due: Vec<StreamId> = self
            .conns
            .iter()
            .filter(|(_, c)| c.next.is_some_and(|t| t <= now))
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            self.write_probe(id);
            if let Some(conn) = self.conns.get_mut(&id)
                && let (Some(next), Some(series)) = (conn.next, conn.series.as_ref())
            {
                conn.next = (series.remaining != Some(0)).then(|| next.max(now) + series.interval);
            }
        }
    }

    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    fn poll_event(&mut self) -> Option<Observation> {
        self.events.pop_front()
    }

    fn poll_timeout(&self) -> Option<SimInstant> {
        self.conns.values().filter_map(|c| c.next).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::StreamError;
    use std::time::Duration;

    fn addr(a: &str) -> SocketAddr {
        a.parse().unwrap()
    }

    fn commands(p: &mut TcpProbe) -> Vec<StreamCommand> {
        std::iter::from_fn(|| p.poll_transmit())
            .map(|t| match t {
                Transmit::Stream(c) => c,
                other => panic!("tcp probe asked for {other:?}"),
            })
            .collect()
    }

    fn series(count: u32) -> Series {
        Series {
            to: addr("203.0.113.10:7000"),
            from_port: 0,
            remaining: Some(count),
            interval: Duration::from_secs(1),
            size: None,
        }
    }

    #[test]
    fn tcp_probe_idle_send_connects_then_writes_and_closes_after_the_last() {
        let mut p = TcpProbe::new("alice", 3, 7000, false);
        p.send(SimInstant::ZERO, series(2));
        let c = commands(&mut p);
        let [StreamCommand::Connect { id, dst }] = c.as_slice() else {
            panic!("{c:?}")
        };
        assert_eq!(*dst, addr("203.0.113.10:7000"));
        let id = *id;
        p.handle_stream(
            SimInstant::ZERO,
            StreamEvent::Connected {
                id,
                local: addr("10.0.0.2:32768"),
            },
        );
        let c = commands(&mut p);
        assert!(
            matches!(&c[..], [StreamCommand::Send { data, .. }] if data.starts_with(b"natlab probe from=alice id=3 port=32768 seq=1"))
        );
        p.handle_timeout(SimInstant::from_micros(1_000_000));
        let c = commands(&mut p);
        assert!(
            matches!(
                &c[..],
                [StreamCommand::Send { .. }, StreamCommand::Close { .. }]
            ),
            "{c:?}"
        );
        assert_eq!(p.poll_timeout(), None);
    }

    #[test]
    fn tcp_probe_echoing_answers_each_line_on_its_connection() {
        let mut p = TcpProbe::new("server", 1, 7000, true);
        let id = StreamId(StreamId::ACCEPTED);
        let remote = addr("198.51.100.1:40000");
        p.handle_stream(
            SimInstant::ZERO,
            StreamEvent::Accepted {
                id,
                local: addr("203.0.113.10:7000"),
                remote,
            },
        );
        let data = Bytes::from_static(
            b"natlab probe from=alice id=3 port=32768 seq=1\nnatlab probe from=al",
        );
        p.handle_stream(SimInstant::ZERO, StreamEvent::Data { id, data });
        p.handle_stream(
            SimInstant::ZERO,
            StreamEvent::Data {
                id,
                data: Bytes::from_static(b"ice id=3 port=32768 seq=2\n"),
            },
        );
        let c = commands(&mut p);
        assert_eq!(c.len(), 2);
        let StreamCommand::Send { data, .. } = &c[1] else {
            panic!()
        };
        assert_eq!(
            &data[..],
            b"natlab echo from=server id=1 seq=2 seen=198.51.100.1:40000\n"
        );
        let received = std::iter::from_fn(|| p.poll_event())
            .filter(|e| matches!(e, Observation::ProbeReceived { .. }))
            .count();
        assert_eq!(received, 2);
    }

    #[test]
    fn tcp_probe_failed_connection_is_reported() {
        let mut p = TcpProbe::new("alice", 3, 7000, false);
        p.send(SimInstant::ZERO, series(1));
        let id = StreamId(1);
        p.handle_stream(
            SimInstant::ZERO,
            StreamEvent::Failed {
                id,
                error: StreamError::TimedOut,
            },
        );
        let e: Vec<Observation> = std::iter::from_fn(|| p.poll_event()).collect();
        assert_eq!(
            e,
            vec![Observation::StreamFailed {
                remote: addr("203.0.113.10:7000"),
                error: "connection timed out".into()
            }]
        );
    }
}

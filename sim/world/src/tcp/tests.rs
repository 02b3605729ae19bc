use super::*;

const CLIENT: &str = "10.0.0.2";
const SERVER: &str = "203.0.113.10:5060";

fn ms(n: u64) -> SimInstant {
    SimInstant::from_micros(n * 1000)
}

/// Two stacks joined by a wire that delivers instantly unless `drop` says otherwise.
struct Pair {
    client: TcpStack,
    server: TcpStack,
    now: SimInstant,
    wire: Vec<(bool, Segment)>,
    client_events: Vec<StreamEvent>,
    server_events: Vec<StreamEvent>,
    sent: Vec<(bool, TcpHeader, usize)>,
}

impl Pair {
    fn new() -> Self {
        let mut server = TcpStack::new(Seed::new(2));
        server.listen(5060);
        Self {
            client: TcpStack::new(Seed::new(1)),
            server,
            now: SimInstant::ZERO,
            wire: Vec::new(),
            client_events: Vec::new(),
            server_events: Vec::new(),
            sent: Vec::new(),
        }
    }

    fn server_addr() -> SocketAddr {
        SERVER.parse().unwrap()
    }

    /// Moves segments until quiet; `drop(from_client, header, index)` loses a segment.
    fn step(&mut self, drop: &mut dyn FnMut(bool, &TcpHeader, usize) -> bool) {
        loop {
            while let Some(s) = self.client.poll_segment() {
                self.wire.push((true, s));
            }
            while let Some(s) = self.server.poll_segment() {
                self.wire.push((false, s));
            }
            self.client_events
                .extend(std::iter::from_fn(|| self.client.poll_event()));
            self.server_events
                .extend(std::iter::from_fn(|| self.server.poll_event()));
            if self.wire.is_empty() {
                return;
            }
            for (from_client, s) in std::mem::take(&mut self.wire) {
                let index = self.sent.len();
                self.sent.push((from_client, s.header, s.payload.len()));
                if drop(from_client, &s.header, index) {
                    continue;
                }
                if from_client {
                    let seg = Segment {
                        local_port: s.remote.port(),
                        remote: SocketAddr::new(CLIENT.parse().unwrap(), s.local_port),
                        ..s
                    };
                    self.server.segment(self.now, Self::server_addr(), seg);
                } else {
                    let remote = SocketAddr::new(Self::server_addr().ip(), s.local_port);
                    let seg = Segment {
                        local_port: s.remote.port(),
                        remote,
                        ..s
                    };
                    let local = SocketAddr::new(CLIENT.parse().unwrap(), 0);
                    self.client.segment(self.now, local, seg);
                }
            }
        }
    }

    fn advance(&mut self, to: SimInstant, drop: &mut dyn FnMut(bool, &TcpHeader, usize) -> bool) {
        loop {
            let next = [self.client.poll_timeout(), self.server.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            match next {
                Some(t) if t <= to => {
                    self.now = t;
                    self.client.handle_timeout(t);
                    self.server.handle_timeout(t);
                    self.step(drop);
                }
                _ => break,
            }
        }
        self.now = to;
    }

    fn connect(&mut self) {
        self.client.command(
            self.now,
            StreamCommand::Connect {
                id: StreamId(1),
                dst: Self::server_addr(),
            },
        );
    }

    fn received(events: &[StreamEvent]) -> Vec<u8> {
        events
            .iter()
            .filter_map(|e| match e {
                StreamEvent::Data { data, .. } => Some(data.to_vec()),
                _ => None,
            })
            .flatten()
            .collect()
    }
}

fn keep(_: bool, _: &TcpHeader, _: usize) -> bool {
    false
}

#[test]
fn tcp_closed_connect_then_data_both_ways_then_close() {
    let mut p = Pair::new();
    p.connect();
    p.step(&mut keep);
    assert!(matches!(
        p.client_events[0],
        StreamEvent::Connected {
            id: StreamId(1),
            ..
        }
    ));
    let StreamEvent::Accepted {
        id: server_id,
        remote,
        ..
    } = p.server_events[0]
    else {
        panic!()
    };
    assert!(server_id.is_accepted());
    assert_eq!(remote.ip(), CLIENT.parse::<std::net::IpAddr>().unwrap());
    p.client.command(
        p.now,
        StreamCommand::Send {
            id: StreamId(1),
            data: Bytes::from_static(b"INVITE"),
        },
    );
    p.server.command(
        p.now,
        StreamCommand::Send {
            id: server_id,
            data: Bytes::from_static(b"SIP/2.0 200 OK"),
        },
    );
    p.step(&mut keep);
    assert_eq!(Pair::received(&p.server_events), b"INVITE");
    assert_eq!(Pair::received(&p.client_events), b"SIP/2.0 200 OK");
    p.client
        .command(p.now, StreamCommand::Close { id: StreamId(1) });
    p.server
        .command(p.now, StreamCommand::Close { id: server_id });
    p.step(&mut keep);
    assert!(
        p.server_events
            .contains(&StreamEvent::Closed { id: server_id })
    );
    assert!(
        p.client_events
            .contains(&StreamEvent::Closed { id: StreamId(1) })
    );
    assert_eq!(p.client.poll_timeout(), None, "nothing left to retransmit");
    assert!(p.client.conns.is_empty() && p.server.conns.is_empty());
}

#[test]
fn tcp_syn_sent_rst_from_closed_port_is_refused() {
    let mut p = Pair::new();
    p.client.command(
        p.now,
        StreamCommand::Connect {
            id: StreamId(1),
            dst: "203.0.113.10:80".parse().unwrap(),
        },
    );
    p.step(&mut keep);
    assert_eq!(
        p.client_events,
        vec![StreamEvent::Failed {
            id: StreamId(1),
            error: StreamError::Refused
        }]
    );
}

#[test]
fn tcp_syn_sent_lost_syn_is_retransmitted_after_one_second() {
    let mut p = Pair::new();
    p.connect();
    p.step(&mut |_, h, _| h.flags.syn && !h.flags.ack);
    assert!(p.client_events.is_empty());
    p.advance(ms(999), &mut keep);
    assert!(p.client_events.is_empty());
    p.advance(ms(1000), &mut keep);
    assert!(matches!(p.client_events[0], StreamEvent::Connected { .. }));
}

#[test]
fn tcp_syn_sent_no_answer_times_out_after_six_retries_at_127_seconds() {
    let mut p = Pair::new();
    p.connect();
    let mut lose_all = |_: bool, _: &TcpHeader, _: usize| true;
    p.step(&mut lose_all);
    p.advance(ms(126_999), &mut lose_all);
    assert!(p.client_events.is_empty());
    p.advance(ms(127_000), &mut lose_all);
    assert_eq!(
        p.client_events,
        vec![StreamEvent::Failed {
            id: StreamId(1),
            error: StreamError::TimedOut
        }]
    );
    let syns = p.sent.iter().filter(|(c, h, _)| *c && h.flags.syn).count();
    assert_eq!(syns, 7, "one SYN and six retransmissions");
}

#[test]
fn tcp_established_large_send_survives_a_lost_segment() {
    let mut p = Pair::new();
    p.connect();
    p.step(&mut keep);
    let data: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
    p.client.command(
        p.now,
        StreamCommand::Send {
            id: StreamId(1),
            data: Bytes::from(data.clone()),
        },
    );
    let mut data_seen = 0;
    p.step(&mut |from_client, h, _| {
        // Lose the second data segment, once.
        if from_client && h.flags.psh {
            data_seen += 1;
            return data_seen == 2;
        }
        false
    });
    p.advance(ms(5000), &mut keep);
    assert_eq!(Pair::received(&p.server_events), data);
    let data_segments = p.sent.iter().filter(|(c, _, len)| *c && *len > 0).count();
    assert!(
        data_segments > 4,
        "segmented into {MSS}-byte segments and retransmitted"
    );
}

#[test]
fn tcp_established_out_of_order_segments_are_reassembled() {
    let mut p = Pair::new();
    p.connect();
    p.step(&mut keep);
    let StreamEvent::Accepted { .. } = p.server_events[0] else {
        panic!()
    };
    p.client.command(
        p.now,
        StreamCommand::Send {
            id: StreamId(1),
            data: Bytes::from(vec![b'a'; 3000]),
        },
    );
    let mut segs: Vec<Segment> = std::iter::from_fn(|| p.client.poll_segment()).collect();
    assert_eq!(segs.len(), 3);
    segs.swap(0, 2);
    for s in segs {
        let seg = Segment {
            local_port: 5060,
            remote: SocketAddr::new(CLIENT.parse().unwrap(), s.local_port),
            ..s
        };
        p.server.segment(p.now, Pair::server_addr(), seg);
    }
    p.server_events
        .extend(std::iter::from_fn(|| p.server.poll_event()));
    assert_eq!(Pair::received(&p.server_events).len(), 3000);
}

#[test]
fn tcp_established_abort_resets_the_peer() {
    let mut p = Pair::new();
    p.connect();
    p.step(&mut keep);
    p.client
        .command(p.now, StreamCommand::Abort { id: StreamId(1) });
    p.step(&mut keep);
    let StreamEvent::Accepted { id, .. } = p.server_events[0] else {
        panic!()
    };
    assert!(p.server_events.contains(&StreamEvent::Failed {
        id,
        error: StreamError::Reset
    }));
}

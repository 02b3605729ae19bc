use super::*;
use crate::message::{CLASS_IN, Record};
use crate::{DnsAction, DnsPolicy, DnsServer, DnsServerConfig};
use sim_core::{Node, Transmit};

const CLIENT: &str = "198.51.100.1:40000";

fn ns(i: u8) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 50 + i)), 53)
}

fn t(ms: u64) -> SimInstant {
    SimInstant::from_micros(ms * 1000)
}

fn zone() -> DnsServerConfig {
    DnsServerConfig::new(vec![
        ("sip.example.net".into(), "203.0.113.10".parse().unwrap()),
        ("sip.example.net".into(), "203.0.113.11".parse().unwrap()),
        ("v6only.example.net".into(), "2001:db8::1".parse().unwrap()),
    ])
}

/// Resolver against servers (one per `ns(i)`, `None` = unreachable), with `rtt` one-way delay
/// 10 ms. Runs until `until` and returns every resolution and every (time, dst) sent.
struct Net {
    resolver: Resolver,
    servers: Vec<Option<DnsServer>>,
    sent: Vec<(SimInstant, SocketAddr)>,
    results: Vec<Resolution>,
    /// Datagrams in flight: (arrival, to resolver, datagram).
    flight: Vec<(SimInstant, bool, Datagram)>,
}

impl Net {
    fn new(servers: Vec<Option<DnsServer>>) -> Self {
        let addrs = (0..servers.len()).map(|i| ns(i as u8)).collect();
        let mut resolver = Resolver::new(addrs, Seed::new(7));
        resolver.set_local_port(40000);
        Self {
            resolver,
            servers,
            sent: vec![],
            results: vec![],
            flight: vec![],
        }
    }

    fn pump(&mut self, now: SimInstant) {
        while let Some(mut d) = self.resolver.poll_transmit() {
            assert!(d.src.ip().is_unspecified());
            assert_eq!(d.src.port(), 40000);
            d.src = CLIENT.parse().unwrap();
            self.sent.push((now, d.dst));
            self.flight
                .push((now + Duration::from_millis(10), false, d));
        }
        for (i, s) in self.servers.iter_mut().enumerate() {
            let Some(s) = s else { continue };
            while let Some(tx) = s.poll_transmit() {
                let Transmit::Datagram(mut d) = tx else {
                    panic!("not a datagram")
                };
                d.src = ns(i as u8);
                self.flight.push((now + Duration::from_millis(10), true, d));
            }
            while s.poll_event().is_some() {}
        }
        while let Some(r) = self.resolver.poll_resolution() {
            self.results.push(r);
        }
    }

    fn run(&mut self, until: SimInstant) {
        loop {
            let next_flight = self.flight.iter().map(|f| f.0).min();
            let next = [next_flight, self.resolver.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            let Some(now) = next.filter(|n| *n <= until) else {
                return;
            };
            if let Some(i) = self.flight.iter().position(|f| f.0 == now) {
                let (_, to_resolver, d) = self.flight.remove(i);
                if to_resolver {
                    assert!(self.resolver.handle_datagram(now, &d));
                } else {
                    let i = self.servers_index(d.dst);
                    if let Some(s) = self.servers[i].as_mut() {
                        s.handle_datagram(now, d);
                    }
                }
            } else {
                self.resolver.handle_timeout(now);
            }
            self.pump(now);
        }
    }

    fn servers_index(&self, dst: SocketAddr) -> usize {
        (0..self.servers.len())
            .find(|i| ns(*i as u8) == dst)
            .unwrap()
    }

    fn resolve(&mut self, now: SimInstant, name: &str) -> QueryId {
        let id = self.resolver.resolve(now, name);
        self.pump(now);
        id
    }
}

fn server(policy: DnsPolicy) -> Option<DnsServer> {
    let mut s = DnsServer::new(zone());
    s.set_policy(policy);
    Some(s)
}

#[test]
fn resolves_a_records_in_one_round_trip() {
    let mut net = Net::new(vec![server(DnsPolicy::normal())]);
    let id = net.resolve(t(0), "SIP.example.net");
    net.run(t(30_000));
    assert_eq!(net.results.len(), 1);
    let r = &net.results[0];
    assert_eq!(r.id, id);
    assert_eq!(r.at, t(20));
    assert_eq!(
        r.result,
        Ok(vec![
            "203.0.113.10".parse().unwrap(),
            "203.0.113.11".parse().unwrap()
        ])
    );
    assert_eq!(net.sent, vec![(t(0), ns(0))]);
    let e = LogEvent::from(r);
    assert_eq!(e.name, "dns-resolved");
    assert_eq!(e.status, None);
    assert!(e.detail.unwrap().contains("203.0.113.11"));
}

#[test]
fn every_rcode_maps_to_its_pjlib_status() {
    for rcode in 1..=10u8 {
        let mut net = Net::new(vec![server(DnsPolicy::rcode(rcode))]);
        net.resolve(t(0), "sip.example.net");
        net.run(t(30_000));
        let r = &net.results[0];
        assert_eq!(r.result, Err(DnsError::Rcode(rcode)));
        let status = r.result.clone().unwrap_err().status();
        assert_eq!(status, 320_050 + u32::from(rcode));
        let e = LogEvent::from(r);
        assert_eq!((e.name.as_ref(), e.status), ("dns-failed", Some(status)));
    }
    assert_eq!(DnsError::Rcode(1).status_name(), "PJLIB_UTIL_EDNS_FORMERR");
    assert_eq!(DnsError::Rcode(10).status_name(), "PJLIB_UTIL_EDNS_NOTZONE");
}

#[test]
fn unknown_name_is_nxdomain_and_other_family_is_no_answer() {
    let mut net = Net::new(vec![server(DnsPolicy::normal())]);
    net.resolve(t(0), "nowhere.example.net");
    net.resolve(t(0), "v6only.example.net");
    net.run(t(30_000));
    let by_name = |n: &str| {
        net.results
            .iter()
            .find(|r| r.name == n)
            .unwrap()
            .result
            .clone()
    };
    assert_eq!(
        by_name("nowhere.example.net").unwrap_err().status(),
        320_053
    );
    assert_eq!(by_name("v6only.example.net").unwrap_err().status(), 320_047);
}

#[test]
fn per_name_policy_overrides_the_default() {
    let policy = DnsPolicy::normal().with_name("SIP.example.net.", DnsAction::Rcode(2));
    let mut net = Net::new(vec![server(policy)]);
    net.resolve(t(0), "sip.example.net");
    net.run(t(30_000));
    assert_eq!(net.results[0].result, Err(DnsError::Rcode(2)));
}

#[test]
fn silent_server_retransmits_every_2s_then_times_out_at_10s() {
    let mut net = Net::new(vec![server(DnsPolicy::drop_all()), None]);
    net.resolve(t(0), "sip.example.net");
    net.run(t(60_000));
    // Five transmissions, each to both nameservers (one active, one probed).
    let mut expected = vec![];
    for k in 0..5 {
        expected.push((t(2000 * k), ns(0)));
        expected.push((t(2000 * k), ns(1)));
    }
    assert_eq!(net.sent, expected);
    assert_eq!(net.results.len(), 1);
    assert_eq!(net.results[0].at, t(10_000));
    let err = net.results[0].result.clone().unwrap_err();
    assert_eq!(err, DnsError::TimedOut { malformed: None });
    assert_eq!(err.status(), 70_009);
}

#[test]
fn after_a_timeout_the_probed_servers_turn_bad_and_queries_fail_with_no_working_ns() {
    let mut net = Net::new(vec![None, None]);
    net.resolve(t(0), "a.example.net");
    net.run(t(13_000));
    assert_eq!(
        net.results[0].result,
        Err(DnsError::TimedOut { malformed: None })
    );
    // Still probing until 14 s: a new query is sent.
    net.resolve(t(13_000), "b.example.net");
    assert_eq!(net.resolver.in_flight(), 1);
    net.run(t(13_999));
    // At 14 s the probing state expires: the retransmission finds no server and the query
    // ends as a timeout (on_timeout falls through); a query started now fails at once.
    net.run(t(15_000));
    assert_eq!(net.results.len(), 2);
    assert_eq!(net.results[1].at, t(15_000));
    assert_eq!(
        net.results[1].result,
        Err(DnsError::TimedOut { malformed: None })
    );
    net.resolve(t(20_000), "c.example.net");
    assert_eq!(net.results.len(), 3);
    assert_eq!(net.results[2].at, t(20_000));
    assert_eq!(net.results[2].result, Err(DnsError::NoWorkingNameserver));
    assert_eq!(DnsError::NoWorkingNameserver.status(), 320_046);
    // Bad for 60 s from 15 s: at 75 s both are probed again.
    let before = net.sent.len();
    net.resolve(t(74_999), "d.example.net");
    assert_eq!(net.sent.len(), before);
    net.resolve(t(75_000), "e.example.net");
    assert_eq!(
        &net.sent[before..],
        &[(t(75_000), ns(0)), (t(75_000), ns(1))]
    );
}

#[test]
fn no_server_configured_fails_at_once_with_320045() {
    let mut r = Resolver::new(vec![], Seed::new(1));
    let id = r.resolve(t(5), "sip.example.net");
    assert_eq!(r.poll_result(), Some((id, Err(DnsError::NoNameserver))));
    assert_eq!(DnsError::NoNameserver.status(), 320_045);
    assert!(r.poll_transmit().is_none());
    assert_eq!(r.poll_timeout(), None);
}

#[test]
fn invalid_names_fail_with_enametoolong() {
    let mut r = Resolver::new(vec![ns(0)], Seed::new(1));
    for name in ["", "a..b", &"x".repeat(64)] {
        let id = r.resolve(t(0), name);
        assert_eq!(r.poll_result(), Some((id, Err(DnsError::InvalidName))));
    }
    assert_eq!(DnsError::InvalidName.status(), 70_005);
}

#[test]
fn a_second_server_answers_when_the_first_is_down() {
    let mut net = Net::new(vec![None, server(DnsPolicy::normal())]);
    net.resolve(t(0), "sip.example.net");
    net.run(t(30_000));
    assert_eq!(net.results[0].at, t(20));
    assert!(net.results[0].result.is_ok());
    // The answering server is now the active one and goes first; the silent one is still
    // being probed (until 14 s) and gets the query too.
    net.resolve(t(1000), "v6only.example.net");
    assert_eq!(&net.sent[2..], &[(t(1000), ns(1)), (t(1000), ns(0))]);
}

#[test]
fn answers_are_cached_for_their_ttl_and_errors_for_60s() {
    let mut net = Net::new(vec![server(DnsPolicy::normal())]);
    net.resolve(t(0), "sip.example.net");
    net.resolve(t(0), "nowhere.example.net");
    net.run(t(1000));
    assert_eq!(net.sent.len(), 2);
    net.resolve(t(59_000), "nowhere.example.net");
    net.resolve(t(299_000), "sip.example.net");
    assert_eq!(net.sent.len(), 2);
    assert!(net.results[2].cached && net.results[3].cached);
    assert_eq!(net.results[3].result.as_ref().map(Vec::len), Ok(2));
    // The NXDOMAIN entry expired at 60.02 s, the answer at 300.02 s.
    net.resolve(t(61_000), "nowhere.example.net");
    net.resolve(t(301_000), "sip.example.net");
    assert_eq!(net.sent.len(), 4);
}

#[test]
fn a_query_for_a_name_in_flight_joins_it() {
    let mut net = Net::new(vec![server(DnsPolicy::normal())]);
    let a = net.resolve(t(0), "sip.example.net");
    let b = net.resolve(t(5), "sip.example.net");
    net.run(t(1000));
    assert_eq!(net.sent.len(), 1);
    let ids: Vec<QueryId> = net.results.iter().map(|r| r.id).collect();
    assert_eq!(ids, vec![a, b]);
}

fn reply(id: u16, f: impl FnOnce(&mut Message)) -> Datagram {
    let mut m = Message::query(id, "sip.example.net", TYPE_A);
    m.header.response = true;
    f(&mut m);
    Datagram {
        src: ns(0),
        dst: CLIENT.parse().unwrap(),
        payload: Bytes::from(m.encode().unwrap()),
    }
}

fn started() -> (Resolver, u16) {
    let mut r = Resolver::new(vec![ns(0)], Seed::new(3));
    r.resolve(t(0), "sip.example.net");
    let d = r.poll_transmit().unwrap();
    let id = Message::decode(&d.payload).unwrap().header.id;
    (r, id)
}

#[test]
fn malformed_responses_are_ignored_and_named_in_the_timeout() {
    let (mut r, id) = started();
    let mut bad = reply(id, |_| {}).payload.to_vec();
    bad.truncate(14);
    bad[5] = 1;
    let d = Datagram {
        payload: Bytes::from(bad),
        ..reply(id, |_| {})
    };
    assert!(r.handle_datagram(t(10), &d));
    assert_eq!(r.poll_result(), None);
    assert_eq!(r.poll_timeout(), Some(t(2000)));
    // The only server is bad now: the retransmission finds none, and on_timeout reports the
    // query timed out.
    r.handle_timeout(t(2000));
    assert!(r.poll_transmit().is_none());
    let (_, res) = r.poll_result().unwrap();
    let err = res.unwrap_err();
    assert_eq!(
        err,
        DnsError::TimedOut {
            malformed: Some(DecodeError::Size)
        }
    );
    assert!(err.to_string().contains("320041"));
}

#[test]
fn foreign_datagrams_are_not_consumed_and_unknown_ids_are() {
    let (mut r, id) = started();
    let mut d = reply(id, |_| {});
    d.src = "192.0.2.99:53".parse().unwrap();
    assert!(!r.handle_datagram(t(1), &d));
    let d = reply(id.wrapping_add(100), |_| {});
    assert!(r.handle_datagram(t(1), &d));
    assert_eq!(r.poll_result(), None);
    assert_eq!(r.in_flight(), 1);
}

#[test]
fn answer_parsing_follows_pjlib() {
    let cname = |from: &str, to: &str| Record {
        name: from.into(),
        rtype: TYPE_CNAME,
        class: CLASS_IN,
        ttl: 60,
        data: RData::Cname(to.into()),
    };
    let a = |n: &str| Record::address(n, "192.0.2.7".parse().unwrap(), 60);
    type Edit<'a> = Box<dyn Fn(&mut Message) + 'a>;
    let cases: Vec<(Edit<'_>, Result<Vec<IpAddr>, DnsError>)> = vec![
        (
            Box::new(|m| {
                m.answers = vec![
                    cname("sip.example.net", "real.example.net"),
                    a("real.example.net"),
                ]
            }),
            Ok(vec!["192.0.2.7".parse().unwrap()]),
        ),
        (
            Box::new(|m| m.answers = vec![cname("sip.example.net", "sip.example.net")]),
            Err(DnsError::InvalidAnswer),
        ),
        (
            Box::new(|m| m.answers = vec![cname("sip.example.net", "gone.example.net")]),
            Err(DnsError::NoAnswer),
        ),
        (
            Box::new(|m| m.answers = vec![a("other.example.net")]),
            Err(DnsError::NoAnswer),
        ),
        (
            Box::new(|m| {
                m.answers = vec![Record::address(
                    "sip.example.net",
                    "2001:db8::1".parse().unwrap(),
                    1,
                )];
            }),
            Err(DnsError::InvalidAnswer),
        ),
        (
            Box::new(|m| {
                m.questions.clear();
                m.answers = vec![a("sip.example.net")];
            }),
            Err(DnsError::InvalidAnswer),
        ),
    ];
    for (i, (f, want)) in cases.into_iter().enumerate() {
        let (mut r, id) = started();
        assert!(r.handle_datagram(t(1), &reply(id, |m| f(m))));
        assert_eq!(r.poll_result().map(|x| x.1), Some(want), "case {i}");
    }
}

#[test]
fn refused_marks_the_server_bad_servfail_does_not() {
    for (rcode, silent) in [(5u8, true), (2, false)] {
        let mut net = Net::new(vec![server(DnsPolicy::rcode(rcode))]);
        net.resolve(t(0), "x.example.net");
        net.run(t(1000));
        let before = net.sent.len();
        // Bad (REFUSED): not asked again for 60 s; active (SERVFAIL): asked at once.
        net.resolve(t(2000), "y.example.net");
        assert_eq!(net.sent.len() == before, silent, "rcode {rcode}");
        if silent {
            assert_eq!(net.results[1].result, Err(DnsError::NoWorkingNameserver));
        }
    }
}

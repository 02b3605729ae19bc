//! An authoritative DNS server for one flat zone of A/AAAA records, with a fault policy.

use crate::message::{
    CLASS_IN, Message, RCODE_FORMERR, RCODE_NOTIMP, RCODE_NXDOMAIN, Record, TYPE_A, TYPE_AAAA,
};
use bytes::Bytes;
use sim_core::{Binding, Datagram, LogEvent, Node, SimInstant, Transmit};
use std::collections::{BTreeMap, VecDeque};
use std::net::{IpAddr, SocketAddr};

/// What the server does with a query.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DnsAction {
    /// Answer from the zone: the records, NXDOMAIN for an unknown name, NOERROR without answer
    /// for a name that has only the other family.
    #[default]
    Normal,
    /// Say nothing.
    Drop,
    /// Answer with this RCODE (0–15) and no records.
    Rcode(u8),
}

/// The server's fault policy: one action for every query, overridden per queried name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DnsPolicy {
    /// The action for names without an override.
    pub default: DnsAction,
    /// Per-name overrides, keyed by lower-case name without a trailing dot.
    pub names: BTreeMap<String, DnsAction>,
}

impl DnsPolicy {
    /// Answer normally.
    pub fn normal() -> Self {
        Self::default()
    }

    /// Drop every query.
    pub fn drop_all() -> Self {
        Self {
            default: DnsAction::Drop,
            ..Self::default()
        }
    }

    /// Answer every query with `rcode`.
    pub fn rcode(rcode: u8) -> Self {
        Self {
            default: DnsAction::Rcode(rcode),
            ..Self::default()
        }
    }

    /// The same policy with `action` for queries about `name`.
    #[must_use]
    pub fn with_name(mut self, name: &str, action: DnsAction) -> Self {
        self.names.insert(normalize(name), action);
        self
    }

    /// The action for a query about `name`.
    pub fn action(&self, name: &str) -> DnsAction {
        self.names
            .get(&normalize(name))
            .copied()
            .unwrap_or(self.default)
    }
}

/// A server's zone and port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsServerConfig {
    /// UDP port (53).
    pub port: u16,
    /// The zone: (name, address) pairs; a name may have several of each family.
    pub records: Vec<(String, IpAddr)>,
    /// TTL of every answer, seconds.
    pub ttl: u32,
}

impl DnsServerConfig {
    /// Port 53, TTL 300 s, these records.
    pub fn new(records: Vec<(String, IpAddr)>) -> Self {
        Self {
            port: 53,
            records,
            ttl: 300,
        }
    }
}

/// What the server reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerEvent {
    /// A query was answered.
    Answered {
        /// Who asked.
        from: SocketAddr,
        /// The name asked.
        name: String,
        /// QTYPE.
        qtype: u16,
        /// The RCODE sent.
        rcode: u8,
        /// Number of answer records sent.
        answers: usize,
    },
    /// The policy dropped a query.
    Dropped {
        /// Who asked.
        from: SocketAddr,
        /// The name asked.
        name: String,
    },
    /// A datagram that is not a query was ignored (or answered FORMERR when its header was
    /// readable).
    Malformed {
        /// Who sent it.
        from: SocketAddr,
        /// Why.
        reason: String,
    },
}

/// Names of the server's events.
pub const SERVER_EVENT_NAMES: &[&str] = &["dns-answered", "dns-dropped", "dns-malformed"];

impl ServerEvent {
    /// The event's name (one of [`SERVER_EVENT_NAMES`]).
    pub const fn name(&self) -> &'static str {
        match self {
            Self::Answered { .. } => "dns-answered",
            Self::Dropped { .. } => "dns-dropped",
            Self::Malformed { .. } => "dns-malformed",
        }
    }
}

impl From<&ServerEvent> for LogEvent {
    fn from(e: &ServerEvent) -> Self {
        let detail = match e {
            ServerEvent::Answered {
                from,
                name,
                qtype,
                rcode,
                answers,
            } => format!("{name} type {qtype} from {from}: rcode {rcode}, {answers} answer(s)"),
            ServerEvent::Dropped { from, name } => format!("{name} from {from}"),
            ServerEvent::Malformed { from, reason } => format!("from {from}: {reason}"),
        };
        Self::named(e.name()).with_detail(detail)
    }
}

/// The DNS server core: a [`Node`] on one UDP port.
#[derive(Debug)]
pub struct DnsServer {
    config: DnsServerConfig,
    zone: BTreeMap<String, Vec<IpAddr>>,
    policy: DnsPolicy,
    out: VecDeque<Transmit>,
    events: VecDeque<ServerEvent>,
    answered: u64,
}

impl DnsServer {
    /// A server for `config`'s zone with a normal policy.
    pub fn new(config: DnsServerConfig) -> Self {
        let mut zone: BTreeMap<String, Vec<IpAddr>> = BTreeMap::new();
        for (name, ip) in &config.records {
            zone.entry(normalize(name)).or_default().push(*ip);
        }
        Self {
            config,
            zone,
            policy: DnsPolicy::default(),
            out: VecDeque::new(),
            events: VecDeque::new(),
            answered: 0,
        }
    }

    /// Replaces the fault policy (from now on).
    pub fn set_policy(&mut self, policy: DnsPolicy) {
        self.policy = policy;
    }

    /// The policy in force.
    pub const fn policy(&self) -> &DnsPolicy {
        &self.policy
    }

    /// Queries answered so far (any RCODE).
    pub const fn answered(&self) -> u64 {
        self.answered
    }

    fn respond(&mut self, d: &Datagram, reply: &Message) {
        if let Ok(wire) = reply.encode() {
            self.answered += 1;
            self.out.push_back(Transmit::Datagram(Datagram {
                src: d.dst,
                dst: d.src,
                payload: Bytes::from(wire),
            }));
        }
    }

    fn malformed(&mut self, from: SocketAddr, reason: impl Into<String>) {
        self.events.push_back(ServerEvent::Malformed {
            from,
            reason: reason.into(),
        });
    }
}

impl Node for DnsServer {
    type Event = ServerEvent;

    fn bindings(&self) -> Vec<Binding> {
        vec![Binding::udp(self.config.port)]
    }

    fn handle_datagram(&mut self, _now: SimInstant, d: Datagram) {
        let query = match Message::decode(&d.payload) {
            Ok(m) => m,
            Err(e) => {
                // A readable header still gets a FORMERR, as RFC 1035 §4.1.1 asks.
                if d.payload.len() >= 12 && d.payload[2] & 0x80 == 0 {
                    let id = u16::from_be_bytes([d.payload[0], d.payload[1]]);
                    let mut reply = Message::default();
                    reply.header.id = id;
                    reply.header.response = true;
                    reply.header.rcode = RCODE_FORMERR;
                    self.respond(&d, &reply);
                }
                return self.malformed(d.src, e.to_string());
            }
        };
        if query.header.response {
            return self.malformed(d.src, "a response, not a query");
        }
        let mut reply = Message {
            header: query.header,
            questions: query.questions.clone(),
            ..Message::default()
        };
        reply.header.response = true;
        reply.header.authoritative = true;
        reply.header.recursion_available = false;
        reply.header.truncated = false;
        let Some(q) = query.questions.first() else {
            reply.header.rcode = RCODE_FORMERR;
            self.respond(&d, &reply);
            return self.malformed(d.src, "no question");
        };
        let name = normalize(&q.name);
        let action = self.policy.action(&name);
        let rcode = match action {
            DnsAction::Drop => {
                self.events
                    .push_back(ServerEvent::Dropped { from: d.src, name });
                return;
            }
            DnsAction::Rcode(rcode) => rcode & 0xf,
            DnsAction::Normal if query.header.opcode != 0 => RCODE_NOTIMP,
            DnsAction::Normal if query.questions.len() != 1 => RCODE_FORMERR,
            DnsAction::Normal => match self.zone.get(&name) {
                None => RCODE_NXDOMAIN,
                Some(ips) => {
                    if q.qclass == CLASS_IN {
                        for ip in ips {
                            let wanted = match ip {
                                IpAddr::V4(_) => TYPE_A,
                                IpAddr::V6(_) => TYPE_AAAA,
                            };
                            if q.qtype == wanted || q.qtype == 255 {
                                reply
                                    .answers
                                    .push(Record::address(&q.name, *ip, self.config.ttl));
                            }
                        }
                    }
                    0
                }
            },
        };
        reply.header.rcode = rcode;
        self.events.push_back(ServerEvent::Answered {
            from: d.src,
            name,
            qtype: q.qtype,
            rcode,
            answers: reply.answers.len(),
        });
        self.respond(&d, &reply);
    }

    fn handle_timeout(&mut self, _now: SimInstant) {}

    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.out.pop_front()
    }

    fn poll_event(&mut self) -> Option<ServerEvent> {
        self.events.pop_front()
    }

    fn poll_timeout(&self) -> Option<SimInstant> {
        None
    }
}

/// Lower case, without a trailing dot: how names are compared.
pub(crate) fn normalize(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{RData, TYPE_A};

    fn ask(s: &mut DnsServer, payload: Vec<u8>) -> Option<Message> {
        s.handle_datagram(
            SimInstant::ZERO,
            Datagram {
                src: "198.51.100.1:4000".parse().unwrap(),
                dst: "192.0.2.53:53".parse().unwrap(),
                payload: Bytes::from(payload),
            },
        );
        let tx = s.poll_transmit()?;
        let Transmit::Datagram(d) = tx else {
            panic!("not a datagram")
        };
        assert_eq!(d.src, "192.0.2.53:53".parse().unwrap());
        assert_eq!(d.dst, "198.51.100.1:4000".parse().unwrap());
        Some(Message::decode(&d.payload).unwrap())
    }

    fn server() -> DnsServer {
        DnsServer::new(DnsServerConfig::new(vec![
            ("Stun.Example.net".into(), "203.0.113.3".parse().unwrap()),
            ("stun.example.net".into(), "2001:db8::3".parse().unwrap()),
        ]))
    }

    fn q(name: &str, qtype: u16) -> Vec<u8> {
        Message::query(42, name, qtype).encode().unwrap()
    }

    #[test]
    fn answers_each_family_from_the_zone_case_insensitively() {
        let mut s = server();
        assert_eq!(s.bindings(), vec![Binding::udp(53)]);
        let a = ask(&mut s, q("STUN.example.net.", TYPE_A)).unwrap();
        assert!(a.header.response && a.header.authoritative);
        assert_eq!((a.header.id, a.header.rcode), (42, 0));
        assert_eq!(a.questions[0].name, "STUN.example.net");
        assert_eq!(a.answers.len(), 1);
        assert_eq!(a.answers[0].data, RData::A("203.0.113.3".parse().unwrap()));
        assert_eq!(a.answers[0].ttl, 300);
        let aaaa = ask(&mut s, q("stun.example.net", TYPE_AAAA)).unwrap();
        assert_eq!(
            aaaa.answers[0].data,
            RData::Aaaa("2001:db8::3".parse().unwrap())
        );
        let e = s.poll_event().unwrap();
        assert_eq!(LogEvent::from(&e).name, "dns-answered");
        assert_eq!(s.answered(), 2);
    }

    #[test]
    fn unknown_names_get_nxdomain_and_other_types_no_data() {
        let mut s = server();
        let r = ask(&mut s, q("nope.example.net", TYPE_A)).unwrap();
        assert_eq!((r.header.rcode, r.answers.len()), (RCODE_NXDOMAIN, 0));
        let r = ask(&mut s, q("stun.example.net", 33)).unwrap();
        assert_eq!((r.header.rcode, r.answers.len()), (0, 0));
    }

    #[test]
    fn policy_drops_or_answers_the_rcode() {
        let mut s = server();
        s.set_policy(DnsPolicy::drop_all().with_name("other", DnsAction::Rcode(9)));
        assert!(ask(&mut s, q("stun.example.net", TYPE_A)).is_none());
        assert_eq!(s.poll_event().map(|e| e.name()), Some("dns-dropped"));
        let r = ask(&mut s, q("OTHER.", TYPE_A)).unwrap();
        assert_eq!((r.header.rcode, r.answers.len()), (9, 0));
        s.set_policy(DnsPolicy::rcode(3));
        let r = ask(&mut s, q("stun.example.net", TYPE_A)).unwrap();
        assert_eq!(r.header.rcode, 3);
    }

    #[test]
    fn bad_queries_get_formerr_notimp_or_nothing() {
        let mut s = server();
        // A readable header with a broken question: FORMERR with the query's id.
        let mut bad = q("stun.example.net", TYPE_A);
        bad.truncate(15);
        let r = ask(&mut s, bad).unwrap();
        assert_eq!((r.header.id, r.header.rcode), (42, RCODE_FORMERR));
        // Too short for a header: ignored.
        assert!(ask(&mut s, vec![1, 2, 3]).is_none());
        // A response: ignored.
        let mut resp = Message::query(1, "x", TYPE_A);
        resp.header.response = true;
        assert!(ask(&mut s, resp.encode().unwrap()).is_none());
        // Opcode 2 (STATUS): NOTIMP.
        let mut st = Message::query(1, "stun.example.net", TYPE_A);
        st.header.opcode = 2;
        let r = ask(&mut s, st.encode().unwrap()).unwrap();
        assert_eq!(r.header.rcode, RCODE_NOTIMP);
        // No question: FORMERR.
        let mut none = Message::query(1, "x", TYPE_A);
        none.questions.clear();
        let r = ask(&mut s, none.encode().unwrap()).unwrap();
        assert_eq!(r.header.rcode, RCODE_FORMERR);
        let names: Vec<&str> = std::iter::from_fn(|| s.poll_event())
            .map(|e| e.name())
            .collect();
        assert_eq!(
            names,
            [
                "dns-malformed",
                "dns-malformed",
                "dns-malformed",
                "dns-answered",
                "dns-malformed"
            ]
        );
    }
}

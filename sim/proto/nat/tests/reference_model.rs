//! Differential test: [`Nat`] against a deliberately naive reference model.
//!
//! The reference keeps every mapping it ever created in a `Vec`, with a log of what was sent
//! and received, and decides each verdict by linear scans written straight from the
//! definitions in RFC 4787 and RFC 5382 (as the crate documentation states them): nothing is
//! purged, expiry is "now < last refresh + timeout" evaluated on the spot, a port is used if a
//! live mapping or a forward holds it. Random sequences of outbound, inbound and hairpinned
//! UDP/TCP packets, time steps, flushes and reboots over a few addresses and a tiny port range
//! (so that collisions, wrapping and exhaustion happen) are fed to both, for all nine mapping ×
//! filtering combinations, and every verdict and the set of live mappings must agree.
//!
//! Where the NAT draws from its RNG (random ports, arbitrary pooling) the reference cannot
//! predict the draw; it reads the NAT's choice and checks that the choice was allowed: a free
//! port inside the range, an address of the pool.

use proptest::prelude::*;
use sim_core::{Protocol, Seed, SimInstant};
use sim_nat::{
    Behaviour, DropReason, MappingScope, Nat, NatConfig, PacketMeta, Pooling, PortAllocation,
    PortForward, TcpFlags, Verdict,
};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

// ---------------------------------------------------------------------------------------------
// The world the operations range over.

const fn v4(a: u8, b: u8, c: u8, d: u8, port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(a, b, c, d), port))
}

const PUBLIC: [IpAddr; 2] = [
    IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1)),
    IpAddr::V4(Ipv4Addr::new(198, 51, 100, 2)),
];
/// The last host is the target of both port forwards.
const HOSTS: [SocketAddr; 4] = [
    v4(10, 0, 0, 1, 5000),
    v4(10, 0, 0, 1, 5001),
    v4(10, 0, 0, 2, 5000),
    v4(10, 0, 0, 9, 7000),
];
const REMOTES: [SocketAddr; 3] = [
    v4(203, 0, 113, 1, 3478),
    v4(203, 0, 113, 1, 3479),
    v4(203, 0, 113, 2, 3478),
];
const RANGE_START: u16 = 4999;
const RANGE_END: u16 = 5002;
const FORWARDS: [PortForward; 2] = [
    PortForward {
        protocol: Protocol::Udp,
        external_port: 5002,
        internal: HOSTS[3],
    },
    PortForward {
        protocol: Protocol::Tcp,
        external_port: 4999,
        internal: HOSTS[3],
    },
];
const FLAGS: [TcpFlags; 5] = [
    TcpFlags::SYN,
    TcpFlags::SYN_ACK,
    TcpFlags::ACK,
    TcpFlags::FIN,
    TcpFlags::RST,
];
const UDP_TIMEOUT: u64 = 120;
const TCP_TIMEOUT: u64 = 600;
const TCP_TRANSITORY: u64 = 240;
const WAITS: [u64; 9] = [0, 1, 5, 60, 119, 120, 121, 240, 600];

fn secs(s: u64) -> u64 {
    s * 1_000_000
}

// ---------------------------------------------------------------------------------------------
// Operations.

#[derive(Clone, Copy, Debug)]
enum Op {
    /// HOSTS[host] sends to REMOTES[remote].
    Out {
        tcp: bool,
        host: usize,
        remote: usize,
        flags: usize,
    },
    /// REMOTES[remote] sends to (PUBLIC[ip], port).
    In {
        tcp: bool,
        remote: usize,
        ip: usize,
        port: u16,
        flags: usize,
    },
    /// HOSTS[host] sends to (PUBLIC[ip], port).
    Hairpin {
        tcp: bool,
        host: usize,
        ip: usize,
        port: u16,
        flags: usize,
    },
    Wait(usize),
    Flush,
    Reboot,
}

fn op() -> impl Strategy<Value = Op> {
    let port = RANGE_START..=RANGE_END;
    prop_oneof![
        6 => (any::<bool>(), 0..HOSTS.len(), 0..REMOTES.len(), 0..FLAGS.len())
            .prop_map(|(tcp, host, remote, flags)| Op::Out { tcp, host, remote, flags }),
        6 => (any::<bool>(), 0..REMOTES.len(), 0..PUBLIC.len(), port.clone(), 0..FLAGS.len())
            .prop_map(|(tcp, remote, ip, port, flags)| Op::In { tcp, remote, ip, port, flags }),
        2 => (any::<bool>(), 0..HOSTS.len(), 0..PUBLIC.len(), port, 0..FLAGS.len())
            .prop_map(|(tcp, host, ip, port, flags)| Op::Hairpin { tcp, host, ip, port, flags }),
        4 => (0..WAITS.len()).prop_map(Op::Wait),
        1 => Just(Op::Flush),
        1 => Just(Op::Reboot),
    ]
}

#[derive(Clone, Copy, Debug)]
struct Variant {
    allocation: PortAllocation,
    pooling: Pooling,
    two_addresses: bool,
    inbound_refresh: bool,
    hairpinning: bool,
}

fn variant() -> impl Strategy<Value = Variant> {
    (
        prop_oneof![
            Just(PortAllocation::Preserve),
            Just(PortAllocation::Sequential),
            Just(PortAllocation::Random)
        ],
        prop_oneof![Just(Pooling::Paired), Just(Pooling::Arbitrary)],
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(allocation, pooling, two_addresses, inbound_refresh, hairpinning)| Variant {
                allocation,
                pooling,
                two_addresses,
                inbound_refresh,
                hairpinning,
            },
        )
}

fn nat_config(mapping: Behaviour, filtering: Behaviour, v: Variant) -> NatConfig {
    let public = if v.two_addresses {
        PUBLIC.to_vec()
    } else {
        vec![PUBLIC[0]]
    };
    NatConfig {
        mapping,
        filtering,
        public,
        udp_timeout: Duration::from_secs(UDP_TIMEOUT),
        inbound_refresh: v.inbound_refresh,
        tcp_timeout: Duration::from_secs(TCP_TIMEOUT),
        tcp_transitory_timeout: Duration::from_secs(TCP_TRANSITORY),
        port_allocation: v.allocation,
        port_range: RANGE_START..=RANGE_END,
        hairpinning: v.hairpinning,
        pooling: v.pooling,
        port_forwards: FORWARDS.to_vec(),
    }
}

// ---------------------------------------------------------------------------------------------
// The reference model.

/// A segment that may open a connection: SYN without RST.
fn opens(f: TcpFlags) -> bool {
    f.syn && !f.rst
}

#[derive(Clone, Debug)]
struct RefConn {
    remote: SocketAddr,
    /// Every segment since the connection (re)started: (outbound?, flags).
    segments: Vec<(bool, TcpFlags)>,
    last: u64,
}

impl RefConn {
    fn saw(&self, outbound: bool, pred: impl Fn(TcpFlags) -> bool) -> bool {
        self.segments
            .iter()
            .any(|(o, f)| *o == outbound && pred(*f))
    }
    fn closing(&self) -> bool {
        self.segments.iter().any(|(_, f)| f.rst)
            || (self.saw(true, |f| f.fin) && self.saw(false, |f| f.fin))
    }
    fn established(&self) -> bool {
        !self.closing() && self.saw(true, opens) && self.saw(false, opens)
    }
    fn expires(&self) -> u64 {
        let timeout = if self.established() {
            TCP_TIMEOUT
        } else {
            TCP_TRANSITORY
        };
        self.last + secs(timeout)
    }
    fn alive(&self, now: u64) -> bool {
        now < self.expires()
    }
    fn sent_out(&self) -> bool {
        self.segments.iter().any(|(o, _)| *o)
    }
}

#[derive(Clone, Debug)]
struct RefMapping {
    tcp: bool,
    internal: SocketAddr,
    /// The destination of the packet that created it (the mapping key's remote part).
    first_remote: SocketAddr,
    external: SocketAddr,
    /// UDP: last refresh.
    refreshed: u64,
    /// UDP: every outbound packet (remote, time).
    sent: Vec<(SocketAddr, u64)>,
    /// TCP.
    conns: Vec<RefConn>,
}

impl RefMapping {
    fn expires(&self) -> u64 {
        if self.tcp {
            self.conns.iter().map(RefConn::expires).max().unwrap_or(0)
        } else {
            self.refreshed + secs(UDP_TIMEOUT)
        }
    }
    fn alive(&self, now: u64) -> bool {
        now < self.expires()
    }
    fn live_conn(&mut self, remote: SocketAddr, now: u64) -> Option<&mut RefConn> {
        self.conns
            .iter_mut()
            .find(|c| c.remote == remote && c.alive(now))
    }
}

struct Reference {
    mapping: Behaviour,
    filtering: Behaviour,
    v: Variant,
    pool: Vec<IpAddr>,
    mappings: Vec<RefMapping>,
    /// Sequential cursors: ((tcp, ip), last port).
    cursors: Vec<((bool, IpAddr), u16)>,
    /// Paired pooling: (internal ip, external ip).
    pairs: Vec<(IpAddr, IpAddr)>,
    round_robin: usize,
}

type Outcome = Result<SocketAddr, DropReason>;

impl Reference {
    fn new(mapping: Behaviour, filtering: Behaviour, v: Variant) -> Self {
        let pool = if v.two_addresses {
            PUBLIC.to_vec()
        } else {
            vec![PUBLIC[0]]
        };
        Self {
            mapping,
            filtering,
            v,
            pool,
            mappings: Vec::new(),
            cursors: Vec::new(),
            pairs: Vec::new(),
            round_robin: 0,
        }
    }

    fn forward_by_internal(tcp: bool, internal: SocketAddr) -> Option<SocketAddr> {
        FORWARDS
            .iter()
            .find(|f| (f.protocol == Protocol::Tcp) == tcp && f.internal == internal)
            .map(|f| SocketAddr::new(PUBLIC[0], f.external_port))
    }

    fn forward_by_external(tcp: bool, external: SocketAddr) -> Option<SocketAddr> {
        FORWARDS
            .iter()
            .find(|f| {
                (f.protocol == Protocol::Tcp) == tcp
                    && SocketAddr::new(PUBLIC[0], f.external_port) == external
            })
            .map(|f| f.internal)
    }

    fn same_mapping(&self, first_remote: SocketAddr, remote: SocketAddr) -> bool {
        match self.mapping {
            Behaviour::EndpointIndependent => true,
            Behaviour::AddressDependent => first_remote.ip() == remote.ip(),
            Behaviour::AddressAndPortDependent => first_remote == remote,
        }
    }

    fn find(&self, tcp: bool, internal: SocketAddr, remote: SocketAddr, now: u64) -> Option<usize> {
        self.mappings.iter().position(|m| {
            m.tcp == tcp
                && m.internal == internal
                && self.same_mapping(m.first_remote, remote)
                && m.alive(now)
        })
    }

    fn port_used(&self, tcp: bool, ip: IpAddr, port: u16, now: u64) -> bool {
        let external = SocketAddr::new(ip, port);
        Self::forward_by_external(tcp, external).is_some()
            || self
                .mappings
                .iter()
                .any(|m| m.tcp == tcp && m.external == external && m.alive(now))
    }

    /// Ports of the range in search order starting at `from`, wrapping once.
    fn search_from(from: u16) -> impl Iterator<Item = u16> {
        (from..=RANGE_END).chain(RANGE_START..from)
    }

    fn first_free(&self, tcp: bool, ip: IpAddr, from: u16, now: u64) -> Option<u16> {
        Self::search_from(from).find(|p| !self.port_used(tcp, ip, *p, now))
    }

    fn full(&self, tcp: bool, ip: IpAddr, now: u64) -> bool {
        self.first_free(tcp, ip, RANGE_START, now).is_none()
    }

    /// The port for a new mapping on `ip`, or `None` if full. `chosen` is what the NAT picked.
    fn pick_port(
        &mut self,
        tcp: bool,
        ip: IpAddr,
        internal: SocketAddr,
        chosen: Option<SocketAddr>,
        now: u64,
    ) -> Result<Option<u16>, String> {
        if self.full(tcp, ip, now) {
            return Ok(None);
        }
        match self.v.allocation {
            PortAllocation::Preserve => {
                let p = internal.port();
                let from = if (RANGE_START..=RANGE_END).contains(&p) {
                    p
                } else {
                    RANGE_START
                };
                Ok(self.first_free(tcp, ip, from, now))
            }
            PortAllocation::Sequential => {
                let last = self
                    .cursors
                    .iter()
                    .find(|(k, _)| *k == (tcp, ip))
                    .map(|(_, p)| *p);
                let from = match last {
                    Some(l) if l < RANGE_END => l + 1,
                    _ => RANGE_START,
                };
                let port = self.first_free(tcp, ip, from, now);
                if let Some(port) = port {
                    self.cursors.retain(|(k, _)| *k != (tcp, ip));
                    self.cursors.push(((tcp, ip), port));
                }
                Ok(port)
            }
            PortAllocation::Random => {
                let c = chosen.ok_or("NAT made no mapping though ports were free")?;
                let ok = c.ip() == ip
                    && (RANGE_START..=RANGE_END).contains(&c.port())
                    && !self.port_used(tcp, ip, c.port(), now);
                if ok {
                    Ok(Some(c.port()))
                } else {
                    Err(format!("NAT chose {c}: not a free port of {ip}"))
                }
            }
        }
    }

    /// External addresses to try for a new mapping of `internal`.
    fn candidate_ips(
        &mut self,
        tcp: bool,
        internal: SocketAddr,
        chosen: Option<SocketAddr>,
        now: u64,
    ) -> Result<Vec<IpAddr>, String> {
        match self.v.pooling {
            Pooling::Paired => {
                if let Some((_, ip)) = self.pairs.iter().find(|(i, _)| *i == internal.ip()) {
                    return Ok(vec![*ip]);
                }
                let ip = self.pool[self.round_robin % self.pool.len()];
                self.round_robin += 1;
                self.pairs.push((internal.ip(), ip));
                Ok(vec![ip])
            }
            Pooling::Arbitrary => match chosen {
                Some(c) if self.pool.contains(&c.ip()) => Ok(vec![c.ip()]),
                Some(c) => Err(format!("NAT chose {c}, outside the pool")),
                None if self.pool.iter().all(|ip| self.full(tcp, *ip, now)) => Ok(vec![]),
                None => Err("NAT made no mapping though an address had free ports".into()),
            },
        }
    }

    fn create(
        &mut self,
        tcp: bool,
        internal: SocketAddr,
        remote: SocketAddr,
        chosen: Option<SocketAddr>,
        now: u64,
    ) -> Result<Result<usize, DropReason>, String> {
        for ip in self.candidate_ips(tcp, internal, chosen, now)? {
            if let Some(port) = self.pick_port(tcp, ip, internal, chosen, now)? {
                self.mappings.push(RefMapping {
                    tcp,
                    internal,
                    first_remote: remote,
                    external: SocketAddr::new(ip, port),
                    refreshed: now,
                    sent: Vec::new(),
                    conns: Vec::new(),
                });
                return Ok(Ok(self.mappings.len() - 1));
            }
        }
        Ok(Err(DropReason::PortsExhausted))
    }

    /// A TCP segment on mapping `i` with `remote` (RFC 5382 as documented).
    fn tcp_segment(
        &mut self,
        i: usize,
        remote: SocketAddr,
        outbound: bool,
        f: TcpFlags,
        now: u64,
    ) -> Result<(), DropReason> {
        let filtering = self.filtering;
        let m = &mut self.mappings[i];
        let opens = opens(f);
        if let Some(c) = m.live_conn(remote, now) {
            if opens && c.closing() {
                c.segments.clear();
            }
            c.segments.push((outbound, f));
            c.last = now;
            return Ok(());
        }
        if !outbound {
            let permitted = match filtering {
                Behaviour::EndpointIndependent => true,
                Behaviour::AddressDependent => m
                    .conns
                    .iter()
                    .any(|c| c.remote.ip() == remote.ip() && c.alive(now) && c.sent_out()),
                Behaviour::AddressAndPortDependent => false,
            };
            if !permitted {
                return Err(DropReason::Filtered);
            }
        }
        if !opens {
            return Err(DropReason::NoConnection);
        }
        m.conns.retain(|c| c.remote != remote);
        m.conns.push(RefConn {
            remote,
            segments: vec![(outbound, f)],
            last: now,
        });
        Ok(())
    }

    fn translate(
        &mut self,
        now: u64,
        tcp: bool,
        src: SocketAddr,
        dst: SocketAddr,
        f: TcpFlags,
        chosen: Option<SocketAddr>,
    ) -> Result<Outcome, String> {
        if let Some(ext) = Self::forward_by_internal(tcp, src) {
            return Ok(Ok(ext));
        }
        let i = match self.find(tcp, src, dst, now) {
            Some(i) => i,
            None if tcp && !opens(f) => return Ok(Err(DropReason::NoMapping)),
            None => match self.create(tcp, src, dst, chosen, now)? {
                Ok(i) => i,
                Err(reason) => return Ok(Err(reason)),
            },
        };
        if tcp {
            if let Err(reason) = self.tcp_segment(i, dst, true, f, now) {
                return Ok(Err(reason));
            }
        } else {
            self.mappings[i].refreshed = now;
            self.mappings[i].sent.push((dst, now));
        }
        Ok(Ok(self.mappings[i].external))
    }

    fn admit(
        &mut self,
        now: u64,
        tcp: bool,
        remote: SocketAddr,
        external: SocketAddr,
        f: TcpFlags,
    ) -> Outcome {
        if let Some(internal) = Self::forward_by_external(tcp, external) {
            return Ok(internal);
        }
        let Some(i) = self
            .mappings
            .iter()
            .position(|m| m.tcp == tcp && m.external == external && m.alive(now))
        else {
            return Err(DropReason::NoMapping);
        };
        if tcp {
            self.tcp_segment(i, remote, false, f, now)?;
        } else {
            let m = &self.mappings[i];
            let permitted = |same: &dyn Fn(&SocketAddr) -> bool| {
                m.sent
                    .iter()
                    .any(|(r, t)| same(r) && now < t + secs(UDP_TIMEOUT))
            };
            let ok = match self.filtering {
                Behaviour::EndpointIndependent => true,
                Behaviour::AddressDependent => permitted(&|r| r.ip() == remote.ip()),
                Behaviour::AddressAndPortDependent => permitted(&|r| *r == remote),
            };
            if !ok {
                return Err(DropReason::Filtered);
            }
            if self.v.inbound_refresh {
                self.mappings[i].refreshed = now;
            }
        }
        Ok(self.mappings[i].internal)
    }

    fn outbound(
        &mut self,
        now: u64,
        tcp: bool,
        src: SocketAddr,
        dst: SocketAddr,
        f: TcpFlags,
        chosen: Option<SocketAddr>,
    ) -> Result<Verdict, String> {
        let external = match self.translate(now, tcp, src, dst, f, chosen)? {
            Ok(e) => e,
            Err(reason) => return Ok(Verdict::Drop(reason)),
        };
        if !self.pool.contains(&dst.ip()) {
            return Ok(Verdict::Forward { src: external, dst });
        }
        if !self.v.hairpinning {
            return Ok(Verdict::Drop(DropReason::NoHairpin));
        }
        Ok(match self.admit(now, tcp, external, dst, f) {
            Ok(internal) => Verdict::Hairpin {
                src: external,
                dst: internal,
            },
            Err(reason) => Verdict::Drop(reason),
        })
    }

    fn inbound(
        &mut self,
        now: u64,
        tcp: bool,
        src: SocketAddr,
        dst: SocketAddr,
        f: TcpFlags,
    ) -> Verdict {
        if !self.pool.contains(&dst.ip()) {
            return Verdict::Drop(DropReason::NotOurAddress);
        }
        match self.admit(now, tcp, src, dst, f) {
            Ok(internal) => Verdict::Forward { src, dst: internal },
            Err(reason) => Verdict::Drop(reason),
        }
    }

    fn flush(&mut self) {
        self.mappings.clear();
    }

    fn reboot(&mut self) {
        self.mappings.clear();
        self.cursors.clear();
        self.pairs.clear();
        self.round_robin = 0;
    }

    /// Live dynamic mappings as (tcp, internal, external, expiry), sorted.
    fn live(&self, now: u64) -> Vec<(bool, SocketAddr, SocketAddr, u64)> {
        let mut v: Vec<_> = self
            .mappings
            .iter()
            .filter(|m| m.alive(now))
            .map(|m| (m.tcp, m.internal, m.external, m.expires()))
            .collect();
        v.sort();
        v
    }
}

// ---------------------------------------------------------------------------------------------
// Driving both.

fn scope_for(mapping: Behaviour, remote: SocketAddr) -> MappingScope {
    match mapping {
        Behaviour::EndpointIndependent => MappingScope::Any,
        Behaviour::AddressDependent => MappingScope::Address(remote.ip()),
        Behaviour::AddressAndPortDependent => MappingScope::Endpoint(remote),
    }
}

fn nat_live(nat: &Nat, now: SimInstant) -> Vec<(bool, SocketAddr, SocketAddr, u64)> {
    let mut v: Vec<_> = nat
        .mappings(now)
        .filter_map(|m| {
            let expires = m.expires?.as_micros();
            Some((m.protocol == Protocol::Tcp, m.internal, m.external, expires))
        })
        .collect();
    v.sort();
    v
}

/// The external address of `internal`'s mapping towards `remote` in the NAT's view (what
/// the NAT chose, for the checks of random choices).
fn nat_choice(
    nat: &Nat,
    now: SimInstant,
    tcp: bool,
    internal: SocketAddr,
    scope: MappingScope,
) -> Option<SocketAddr> {
    let protocol = if tcp { Protocol::Tcp } else { Protocol::Udp };
    nat.mappings(now)
        .find(|m| {
            m.protocol == protocol
                && m.internal == internal
                && m.scope == scope
                && m.expires.is_some()
        })
        .map(|m| m.external)
}

fn packet(tcp: bool, src: SocketAddr, dst: SocketAddr, flags: usize) -> PacketMeta {
    if tcp {
        PacketMeta::tcp(src, dst, FLAGS[flags])
    } else {
        PacketMeta::udp(src, dst)
    }
}

/// Runs `ops` through the NAT and the reference; returns the NAT's verdicts.
fn run(
    mapping: Behaviour,
    filtering: Behaviour,
    v: Variant,
    seed: u64,
    ops: &[Op],
) -> Result<Vec<Verdict>, TestCaseError> {
    let mut nat = Nat::new(nat_config(mapping, filtering, v), Seed::new(seed))
        .map_err(|e| TestCaseError::fail(format!("config rejected: {e}")))?;
    let mut reference = Reference::new(mapping, filtering, v);
    let mut now = 0u64;
    let mut verdicts = Vec::new();
    for (step, op) in ops.iter().enumerate() {
        let t = SimInstant::from_micros(now);
        let (got, want) = match *op {
            Op::Out {
                tcp,
                host,
                remote,
                flags,
            } => {
                let (src, dst) = (HOSTS[host], REMOTES[remote]);
                let got = nat.outbound(t, &packet(tcp, src, dst, flags));
                let chosen = nat_choice(&nat, t, tcp, src, scope_for(mapping, dst));
                let want = reference.outbound(now, tcp, src, dst, FLAGS[flags], chosen);
                (
                    got,
                    want.map_err(|e| TestCaseError::fail(format!("step {step} {op:?}: {e}")))?,
                )
            }
            Op::In {
                tcp,
                remote,
                ip,
                port,
                flags,
            } => {
                let (src, dst) = (REMOTES[remote], SocketAddr::new(PUBLIC[ip], port));
                let got = nat.inbound(t, &packet(tcp, src, dst, flags));
                (got, reference.inbound(now, tcp, src, dst, FLAGS[flags]))
            }
            Op::Hairpin {
                tcp,
                host,
                ip,
                port,
                flags,
            } => {
                let (src, dst) = (HOSTS[host], SocketAddr::new(PUBLIC[ip], port));
                let got = nat.outbound(t, &packet(tcp, src, dst, flags));
                let chosen = nat_choice(&nat, t, tcp, src, scope_for(mapping, dst));
                let want = reference.outbound(now, tcp, src, dst, FLAGS[flags], chosen);
                (
                    got,
                    want.map_err(|e| TestCaseError::fail(format!("step {step} {op:?}: {e}")))?,
                )
            }
            Op::Wait(i) => {
                now += secs(WAITS[i]);
                continue;
            }
            Op::Flush => {
                nat.flush();
                reference.flush();
                continue;
            }
            Op::Reboot => {
                nat.reboot(None);
                reference.reboot();
                continue;
            }
        };
        prop_assert_eq!(
            got,
            want,
            "step {} {:?} at {}s ({} / {})",
            step,
            op,
            now / 1_000_000,
            mapping,
            filtering
        );
        prop_assert_eq!(
            nat_live(&nat, t),
            reference.live(now),
            "live mappings after step {} {:?}",
            step,
            op
        );
        verdicts.push(got);
    }
    Ok(verdicts)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn nat_random_traffic_all_nine_combinations_agree_with_reference(
        v in variant(),
        seed in any::<u64>(),
        ops in proptest::collection::vec(op(), 1..80),
    ) {
        for mapping in Behaviour::ALL {
            for filtering in Behaviour::ALL {
                run(mapping, filtering, v, seed, &ops)?;
            }
        }
    }

    #[test]
    fn nat_random_traffic_same_seed_same_verdicts(
        v in variant(),
        seed in any::<u64>(),
        ops in proptest::collection::vec(op(), 1..80),
    ) {
        let m = Behaviour::AddressAndPortDependent;
        let f = Behaviour::AddressDependent;
        prop_assert_eq!(run(m, f, v, seed, &ops)?, run(m, f, v, seed, &ops)?);
    }
}

//! Unit tests of the NAT box, state × input, named `nat_<state>_<input>_<outcome>`.
//! Addresses come from the documentation ranges: LAN 10.0.0.0/8, public 198.51.100.0/24,
//! remotes 203.0.113.0/24.

mod filtering;
mod hairpin;
mod lifetime;
mod mapping;
mod ports;
mod state;
mod tcp;

use crate::{Behaviour, DropReason, Nat, NatConfig, PacketMeta, TcpFlags, Verdict};
use sim_core::{Seed, SimInstant};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

const fn v4(a: u8, b: u8, c: u8, d: u8, port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(a, b, c, d), port))
}

const PUB1: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1));
const PUB2: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 2));

/// LAN hosts.
const HOST: SocketAddr = v4(10, 0, 0, 2, 5000);
const HOST_B: SocketAddr = v4(10, 0, 0, 3, 5000);
const HOST_C: SocketAddr = v4(10, 0, 0, 4, 5000);

/// Remotes: the server a host talks to, the same IP on another port, another IP on the same
/// port.
const SERVER: SocketAddr = v4(203, 0, 113, 10, 3478);
const SERVER_OTHER_PORT: SocketAddr = v4(203, 0, 113, 10, 3479);
const OTHER_IP_SAME_PORT: SocketAddr = v4(203, 0, 113, 20, 3478);

fn at(secs: u64) -> SimInstant {
    SimInstant::ZERO + Duration::from_secs(secs)
}

fn config(mapping: Behaviour, filtering: Behaviour) -> NatConfig {
    NatConfig::new(mapping, filtering, vec![PUB1])
}

fn nat(config: NatConfig) -> Nat {
    Nat::new(config, Seed::new(1)).expect("valid config")
}

fn nat_with(mapping: Behaviour, filtering: Behaviour) -> Nat {
    nat(config(mapping, filtering))
}

fn udp(src: SocketAddr, dst: SocketAddr) -> PacketMeta {
    PacketMeta::udp(src, dst)
}

fn tcp(src: SocketAddr, dst: SocketAddr, flags: TcpFlags) -> PacketMeta {
    PacketMeta::tcp(src, dst, flags)
}

/// Sends `from` -> `to` outbound and returns the external source; panics unless forwarded.
fn sent(nat: &mut Nat, now: SimInstant, from: SocketAddr, to: SocketAddr) -> SocketAddr {
    match nat.outbound(now, &udp(from, to)) {
        Verdict::Forward { src, dst } => {
            assert_eq!(dst, to, "outbound destination is not rewritten");
            src
        }
        other => panic!("outbound {from} -> {to}: expected Forward, got {other:?}"),
    }
}

/// The verdict for an inbound UDP packet `from` -> `external`.
fn recv(nat: &mut Nat, now: SimInstant, from: SocketAddr, external: SocketAddr) -> Verdict {
    nat.inbound(now, &udp(from, external))
}

/// The inbound verdict expected when the packet reaches `internal`.
fn delivered(from: SocketAddr, internal: SocketAddr) -> Verdict {
    Verdict::Forward {
        src: from,
        dst: internal,
    }
}

const FILTERED: Verdict = Verdict::Drop(DropReason::Filtered);
const NO_MAPPING: Verdict = Verdict::Drop(DropReason::NoMapping);

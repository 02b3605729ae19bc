//! Link-layer dispatch and the IP layer: from captured bytes to a transport payload (or a
//! fragment), through VLAN tags, Linux cooked headers, loopback headers and IP-in-IP / GRE
//! tunnels. IP headers are sliced laxly with etherparse, so packets cut short by the capture's
//! snap length still decode as far as their bytes go.

use super::defrag::{FragKey, Fragment};
use crate::accounting::{Other, Undecodable};
use crate::capture::LinkType;
use etherparse::{LaxIpSlice, LaxIpv4Slice, LaxIpv6Slice, ip_number};
use std::net::{IpAddr, SocketAddr};

/// How many tunnel layers are unwrapped before giving up.
const MAX_DEPTH: u8 = 4;

const ETH_IPV4: u16 = 0x0800;
const ETH_IPV6: u16 = 0x86DD;
const ETH_VLAN: [u16; 3] = [0x8100, 0x88A8, 0x9100];
const ETH_TEB: u16 = 0x6558;

/// The IP layer's result for one packet.
#[derive(Debug)]
pub(crate) enum Net<'a> {
    /// A complete (unfragmented) transport payload.
    Transport(Transport<'a>),
    /// One fragment of a datagram.
    Fragment(Fragment<'a>),
    /// Not IP at all (ARP, LLDP...), or an IP protocol that is neither UDP nor TCP.
    Other(Other),
    /// An ICMP "destination unreachable" about a UDP or TCP packet sent to `target`.
    Unreachable {
        /// Where the packet that could not be delivered was going.
        target: SocketAddr,
    },
}

/// A transport-layer payload with its IP addresses.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Transport<'a> {
    pub(crate) src: IpAddr,
    pub(crate) dst: IpAddr,
    pub(crate) proto: u8,
    pub(crate) bytes: &'a [u8],
    /// The capture cut the packet short.
    pub(crate) truncated: bool,
}

/// Decodes a captured frame down to the transport layer.
pub(crate) fn decode(link: LinkType, data: &[u8]) -> Result<Net<'_>, Undecodable> {
    match link {
        LinkType::Ethernet => ethernet(data, 0),
        LinkType::Raw | LinkType::Ipv4 | LinkType::Ipv6 => ip(data, 0),
        LinkType::Null => null(data, false),
        LinkType::Loop => null(data, true),
        LinkType::LinuxSll => {
            let proto = be16(data, 14).ok_or(Undecodable::TruncatedFrame)?;
            ethertype(proto, data.get(16..).unwrap_or_default(), 0)
        }
        LinkType::LinuxSll2 => {
            let proto = be16(data, 0).ok_or(Undecodable::TruncatedFrame)?;
            if data.len() < 20 {
                return Err(Undecodable::TruncatedFrame);
            }
            ethertype(proto, data.get(20..).unwrap_or_default(), 0)
        }
        LinkType::Other(_) => Err(Undecodable::UnsupportedLink),
    }
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

/// Ethernet II with any number of 802.1Q / 802.1ad tags.
fn ethernet(data: &[u8], depth: u8) -> Result<Net<'_>, Undecodable> {
    let mut at = 12;
    let mut ty = be16(data, at).ok_or(Undecodable::TruncatedFrame)?;
    while ETH_VLAN.contains(&ty) {
        at += 4;
        ty = be16(data, at).ok_or(Undecodable::TruncatedFrame)?;
    }
    if ty < 0x0600 {
        return Ok(Net::Other(Other::NonIp));
    }
    ethertype(ty, data.get(at + 2..).unwrap_or_default(), depth)
}

fn ethertype(ty: u16, payload: &[u8], depth: u8) -> Result<Net<'_>, Undecodable> {
    match ty {
        ETH_IPV4 | ETH_IPV6 => ip(payload, depth),
        t if ETH_VLAN.contains(&t) => {
            let inner = be16(payload, 2).ok_or(Undecodable::TruncatedFrame)?;
            ethertype(inner, payload.get(4..).unwrap_or_default(), depth)
        }
        _ => Ok(Net::Other(Other::NonIp)),
    }
}

/// BSD / OpenBSD loopback: a 4-byte address family.
fn null(data: &[u8], network_order: bool) -> Result<Net<'_>, Undecodable> {
    let raw: [u8; 4] = data
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .ok_or(Undecodable::TruncatedFrame)?;
    let family = if network_order || raw.first() == Some(&0) {
        u32::from_be_bytes(raw)
    } else {
        u32::from_le_bytes(raw)
    };
    match family {
        // AF_INET; AF_INET6 is 10 (Linux), 24 (NetBSD/OpenBSD), 28 (FreeBSD), 30 (macOS).
        2 | 10 | 24 | 28 | 30 => ip(data.get(4..).unwrap_or_default(), 0),
        _ => Ok(Net::Other(Other::NonIp)),
    }
}

/// An IP packet: IPv4 or IPv6 by its version nibble.
pub(crate) fn ip(data: &[u8], depth: u8) -> Result<Net<'_>, Undecodable> {
    if depth > MAX_DEPTH {
        return Ok(Net::Other(Other::Tunnel));
    }
    let (slice, _ext_err) = LaxIpSlice::from_slice(data).map_err(|_| {
        if data.len() < 20 {
            Undecodable::TruncatedFrame
        } else {
            Undecodable::MalformedIp
        }
    })?;
    match slice {
        LaxIpSlice::Ipv4(v4) => ipv4(&v4, depth),
        LaxIpSlice::Ipv6(v6) => ipv6(&v6, depth),
    }
}

fn ipv4<'a>(v4: &LaxIpv4Slice<'a>, depth: u8) -> Result<Net<'a>, Undecodable> {
    let h = v4.header();
    let p = v4.payload();
    let (src, dst) = (
        IpAddr::V4(h.source_addr()),
        IpAddr::V4(h.destination_addr()),
    );
    if p.fragmented {
        return Ok(Net::Fragment(Fragment {
            key: FragKey {
                src,
                dst,
                proto: p.ip_number.0,
                id: u32::from(h.identification()),
            },
            offset: usize::from(h.fragments_offset().byte_offset()),
            more: h.more_fragments(),
            data: p.payload,
        }));
    }
    upper(src, dst, p.ip_number.0, p.payload, p.incomplete, depth)
}

fn ipv6<'a>(v6: &LaxIpv6Slice<'a>, depth: u8) -> Result<Net<'a>, Undecodable> {
    let h = v6.header();
    let p = v6.payload();
    let (src, dst) = (
        IpAddr::V6(h.source_addr()),
        IpAddr::V6(h.destination_addr()),
    );
    if p.fragmented {
        let frag = v6.extensions().clone().into_iter().find_map(|e| match e {
            etherparse::Ipv6ExtensionSlice::Fragment(f) => Some(f),
            _ => None,
        });
        let Some(f) = frag else {
            return Err(Undecodable::MalformedIp);
        };
        return Ok(Net::Fragment(Fragment {
            key: FragKey {
                src,
                dst,
                proto: p.ip_number.0,
                id: f.identification(),
            },
            offset: usize::from(f.fragment_offset().byte_offset()),
            more: f.more_fragments(),
            data: p.payload,
        }));
    }
    upper(src, dst, p.ip_number.0, p.payload, p.incomplete, depth)
}

/// The protocol above IP: tunnels are unwrapped, UDP and TCP returned, anything else is other.
pub(crate) fn upper(
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    bytes: &[u8],
    truncated: bool,
    depth: u8,
) -> Result<Net<'_>, Undecodable> {
    match etherparse::IpNumber(proto) {
        ip_number::UDP | ip_number::TCP => Ok(Net::Transport(Transport {
            src,
            dst,
            proto,
            bytes,
            truncated,
        })),
        ip_number::IPV4 | ip_number::IPV6 => ip(bytes, depth + 1),
        ip_number::GRE => gre(bytes, depth + 1),
        ip_number::ICMP | ip_number::IPV6_ICMP => Ok(icmp(proto, bytes)),
        _ => Ok(Net::Other(Other::OtherIp)),
    }
}

/// GRE (RFC 2784 / 2890): optional checksum, key and sequence words, then the payload.
fn gre(b: &[u8], depth: u8) -> Result<Net<'_>, Undecodable> {
    let flags = be16(b, 0).ok_or(Undecodable::TruncatedFrame)?;
    let proto = be16(b, 2).ok_or(Undecodable::TruncatedFrame)?;
    if flags & 0x0007 != 0 {
        // Version 1 is PPTP's enhanced GRE: not unwrapped.
        return Ok(Net::Other(Other::Tunnel));
    }
    let words = [0x8000u16, 0x2000, 0x1000]
        .iter()
        .filter(|&&bit| flags & bit != 0)
        .count();
    let payload = b.get(4 + 4 * words..).ok_or(Undecodable::TruncatedFrame)?;
    match proto {
        ETH_IPV4 | ETH_IPV6 => ip(payload, depth),
        ETH_TEB => ethernet(payload, depth),
        _ => Ok(Net::Other(Other::Tunnel)),
    }
}

/// ICMP / ICMPv6 "destination unreachable": the original packet's destination, if it is quoted.
fn icmp(proto: u8, b: &[u8]) -> Net<'_> {
    let unreachable = match proto {
        1 => b.first() == Some(&3),
        _ => b.first() == Some(&1),
    };
    let quoted = b.get(8..).unwrap_or_default();
    let target = unreachable
        .then(|| LaxIpSlice::from_slice(quoted).ok())
        .flatten()
        .and_then(|(ip, _)| {
            let p = ip.payload();
            let is_l4 = matches!(p.ip_number, ip_number::UDP | ip_number::TCP);
            let port = be16(p.payload, 2)?;
            is_l4.then(|| SocketAddr::new(ip.destination_addr(), port))
        });
    match target {
        Some(target) => Net::Unreachable { target },
        None => Net::Other(Other::Icmp),
    }
}

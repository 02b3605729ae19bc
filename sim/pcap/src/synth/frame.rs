//! Building frames byte by byte: link headers, IPv4/IPv6 (with fragmentation), UDP, TCP, GRE.
//! Checksums are computed, so tshark accepts every frame.

use std::net::{IpAddr, SocketAddr};

/// The link layer wrapped around an IP packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    /// Ethernet II.
    Ethernet,
    /// Ethernet with one 802.1Q tag.
    Vlan(u16),
    /// Ethernet with an 802.1ad outer and an 802.1Q inner tag.
    QinQ(u16, u16),
    /// Linux cooked capture v1.
    Sll,
    /// Linux cooked capture v2.
    Sll2,
    /// Raw IP.
    Raw,
    /// BSD loopback (address family, host byte order = little-endian here).
    Null,
}

impl Link {
    /// The pcap `LINKTYPE_*` number of this link.
    pub const fn linktype(self) -> u32 {
        match self {
            Self::Ethernet | Self::Vlan(_) | Self::QinQ(..) => 1,
            Self::Sll => 113,
            Self::Sll2 => 276,
            Self::Raw => 101,
            Self::Null => 0,
        }
    }
}

/// TCP header flags.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpFlags {
    /// SYN.
    pub syn: bool,
    /// ACK (the acknowledgement number is valid).
    pub ack: bool,
    /// PSH.
    pub psh: bool,
    /// FIN.
    pub fin: bool,
    /// RST.
    pub rst: bool,
}

impl TcpFlags {
    /// ACK + PSH: a data segment.
    pub const DATA: Self = Self {
        syn: false,
        ack: true,
        psh: true,
        fin: false,
        rst: false,
    };
    /// SYN.
    pub const SYN: Self = Self {
        syn: true,
        ack: false,
        psh: false,
        fin: false,
        rst: false,
    };

    fn bits(self) -> u8 {
        u8::from(self.fin)
            | u8::from(self.syn) << 1
            | u8::from(self.rst) << 2
            | u8::from(self.psh) << 3
            | u8::from(self.ack) << 4
    }
}

const MAC_A: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0a];
const MAC_B: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0b];

/// Wraps an IP packet in a link-layer header.
pub fn wrap(link: Link, ip: &[u8]) -> Vec<u8> {
    let v6 = ip.first().is_some_and(|b| b >> 4 == 6);
    let ethertype: u16 = if v6 { 0x86DD } else { 0x0800 };
    let mut f = Vec::with_capacity(ip.len() + 24);
    match link {
        Link::Ethernet => ethernet(&mut f, &[], ethertype),
        Link::Vlan(id) => ethernet(&mut f, &[(0x8100, id)], ethertype),
        Link::QinQ(outer, inner) => {
            ethernet(&mut f, &[(0x88A8, outer), (0x8100, inner)], ethertype)
        }
        Link::Sll => {
            f.extend_from_slice(&[0, 0, 0, 1, 0, 6]);
            f.extend_from_slice(&MAC_A);
            f.extend_from_slice(&[0, 0]);
            f.extend_from_slice(&ethertype.to_be_bytes());
        }
        Link::Sll2 => {
            f.extend_from_slice(&ethertype.to_be_bytes());
            f.extend_from_slice(&[0, 0, 0, 0, 0, 1, 0, 1, 0, 6]);
            f.extend_from_slice(&MAC_A);
            f.extend_from_slice(&[0, 0]);
        }
        Link::Raw => {}
        Link::Null => f.extend_from_slice(&(if v6 { 30u32 } else { 2u32 }).to_le_bytes()),
    }
    f.extend_from_slice(ip);
    f
}

fn ethernet(f: &mut Vec<u8>, tags: &[(u16, u16)], ethertype: u16) {
    f.extend_from_slice(&MAC_B);
    f.extend_from_slice(&MAC_A);
    for (tpid, id) in tags {
        f.extend_from_slice(&tpid.to_be_bytes());
        f.extend_from_slice(&(id & 0x0FFF).to_be_bytes());
    }
    f.extend_from_slice(&ethertype.to_be_bytes());
}

/// A UDP datagram in an IP packet.
pub fn ip_udp(src: SocketAddr, dst: SocketAddr, payload: &[u8]) -> Vec<u8> {
    let udp = udp_segment(src, dst, payload);
    ip_packet(src.ip(), dst.ip(), 17, &udp, 0x1234)
}

/// A TCP segment in an IP packet.
pub fn ip_tcp(
    src: SocketAddr,
    dst: SocketAddr,
    seq: u32,
    ack: u32,
    flags: TcpFlags,
    payload: &[u8],
) -> Vec<u8> {
    let mut tcp = Vec::with_capacity(20 + payload.len());
    tcp.extend_from_slice(&src.port().to_be_bytes());
    tcp.extend_from_slice(&dst.port().to_be_bytes());
    tcp.extend_from_slice(&seq.to_be_bytes());
    tcp.extend_from_slice(&ack.to_be_bytes());
    tcp.extend_from_slice(&[5 << 4, flags.bits(), 0xFF, 0xFF, 0, 0, 0, 0]);
    tcp.extend_from_slice(payload);
    let sum = transport_checksum(src.ip(), dst.ip(), 6, &tcp);
    put_u16(&mut tcp, 16, sum);
    ip_packet(src.ip(), dst.ip(), 6, &tcp, 0x4321)
}

/// A UDP header plus payload, with its checksum.
pub fn udp_segment(src: SocketAddr, dst: SocketAddr, payload: &[u8]) -> Vec<u8> {
    let len = u16::try_from(8 + payload.len()).unwrap_or(u16::MAX);
    let mut udp = Vec::with_capacity(8 + payload.len());
    udp.extend_from_slice(&src.port().to_be_bytes());
    udp.extend_from_slice(&dst.port().to_be_bytes());
    udp.extend_from_slice(&len.to_be_bytes());
    udp.extend_from_slice(&[0, 0]);
    udp.extend_from_slice(payload);
    let sum = match transport_checksum(src.ip(), dst.ip(), 17, &udp) {
        0 => 0xFFFF,
        s => s,
    };
    put_u16(&mut udp, 6, sum);
    udp
}

/// An IP packet (version from the addresses) carrying `payload` of protocol `proto`.
pub fn ip_packet(src: IpAddr, dst: IpAddr, proto: u8, payload: &[u8], id: u16) -> Vec<u8> {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            ipv4(s.octets(), d.octets(), proto, payload, id, 0, false)
        }
        (s, d) => ipv6(v6_octets(s), v6_octets(d), proto, payload),
    }
}

fn v6_octets(a: IpAddr) -> [u8; 16] {
    match a {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    }
}

/// An IPv4 packet; `frag_off` in bytes (a multiple of 8), `more` = more fragments follow.
pub fn ipv4(
    src: [u8; 4],
    dst: [u8; 4],
    proto: u8,
    payload: &[u8],
    id: u16,
    frag_off: usize,
    more: bool,
) -> Vec<u8> {
    let total = u16::try_from(20 + payload.len()).unwrap_or(u16::MAX);
    let frag = u16::try_from(frag_off / 8).unwrap_or(0) | if more { 0x2000 } else { 0 };
    let mut p = Vec::with_capacity(20 + payload.len());
    p.extend_from_slice(&[0x45, 0]);
    p.extend_from_slice(&total.to_be_bytes());
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&frag.to_be_bytes());
    p.extend_from_slice(&[64, proto, 0, 0]);
    p.extend_from_slice(&src);
    p.extend_from_slice(&dst);
    let sum = fold(sum_words(&p, 0));
    put_u16(&mut p, 10, sum);
    p.extend_from_slice(payload);
    p
}

/// An IPv6 packet without extension headers.
pub fn ipv6(src: [u8; 16], dst: [u8; 16], next: u8, payload: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(40 + payload.len());
    p.extend_from_slice(&[0x60, 0, 0, 0]);
    p.extend_from_slice(
        &u16::try_from(payload.len())
            .unwrap_or(u16::MAX)
            .to_be_bytes(),
    );
    p.extend_from_slice(&[next, 64]);
    p.extend_from_slice(&src);
    p.extend_from_slice(&dst);
    p.extend_from_slice(payload);
    p
}

/// Splits a UDP datagram into IP fragments of at most `chunk` payload bytes (a multiple of 8).
pub fn udp_fragments(
    src: SocketAddr,
    dst: SocketAddr,
    payload: &[u8],
    chunk: usize,
    id: u32,
) -> Vec<Vec<u8>> {
    let udp = udp_segment(src, dst, payload);
    let chunk = (chunk / 8).max(1) * 8;
    let pieces: Vec<&[u8]> = udp.chunks(chunk).collect();
    let last = pieces.len().saturating_sub(1);
    pieces
        .iter()
        .enumerate()
        .map(|(i, piece)| {
            let off = i * chunk;
            let more = i < last;
            match (src.ip(), dst.ip()) {
                (IpAddr::V4(s), IpAddr::V4(d)) => {
                    let id16 = u16::try_from(id & 0xFFFF).unwrap_or(0);
                    ipv4(s.octets(), d.octets(), 17, piece, id16, off, more)
                }
                (s, d) => {
                    let mut fh = vec![17, 0];
                    let offm = u16::try_from(off / 8).unwrap_or(0) << 3 | u16::from(more);
                    fh.extend_from_slice(&offm.to_be_bytes());
                    fh.extend_from_slice(&id.to_be_bytes());
                    fh.extend_from_slice(piece);
                    ipv6(v6_octets(s), v6_octets(d), 44, &fh)
                }
            }
        })
        .collect()
}

/// Wraps an inner IP packet in GRE (RFC 2784, no options) inside an outer IPv4 packet.
pub fn gre_ipv4(outer_src: [u8; 4], outer_dst: [u8; 4], inner: &[u8]) -> Vec<u8> {
    let v6 = inner.first().is_some_and(|b| b >> 4 == 6);
    let mut g = vec![0, 0];
    g.extend_from_slice(&(if v6 { 0x86DDu16 } else { 0x0800 }).to_be_bytes());
    g.extend_from_slice(inner);
    ipv4(outer_src, outer_dst, 47, &g, 0x0777, 0, false)
}

fn transport_checksum(src: IpAddr, dst: IpAddr, proto: u8, seg: &[u8]) -> u16 {
    let mut pseudo = Vec::with_capacity(40);
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            pseudo.extend_from_slice(&s.octets());
            pseudo.extend_from_slice(&d.octets());
            pseudo.extend_from_slice(&[0, proto]);
            pseudo.extend_from_slice(&u16::try_from(seg.len()).unwrap_or(0).to_be_bytes());
        }
        (s, d) => {
            pseudo.extend_from_slice(&v6_octets(s));
            pseudo.extend_from_slice(&v6_octets(d));
            pseudo.extend_from_slice(&u32::try_from(seg.len()).unwrap_or(0).to_be_bytes());
            pseudo.extend_from_slice(&[0, 0, 0, proto]);
        }
    }
    fold(sum_words(seg, sum_words(&pseudo, 0)))
}

fn sum_words(b: &[u8], mut acc: u64) -> u64 {
    let mut it = b.chunks_exact(2);
    for w in &mut it {
        if let [hi, lo] = w {
            acc += u64::from(u16::from_be_bytes([*hi, *lo]));
        }
    }
    if let [last] = it.remainder() {
        acc += u64::from(*last) << 8;
    }
    acc
}

fn fold(mut acc: u64) -> u16 {
    while acc >> 16 != 0 {
        acc = (acc & 0xFFFF) + (acc >> 16);
    }
    !u16::try_from(acc).unwrap_or(0)
}

fn put_u16(b: &mut [u8], at: usize, v: u16) {
    if let Some(dst) = b.get_mut(at..at + 2) {
        dst.copy_from_slice(&v.to_be_bytes());
    }
}

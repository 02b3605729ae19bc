//! pcapng capture of a run: one interface per network, every hop as a real Ethernet frame.
//!
//! Frames are built with etherparse: Ethernet II, IPv4 or IPv6, UDP or TCP with correct
//! checksums, split into IP fragments when the hop's MTU requires it, so Wireshark and tshark
//! decode SIP and STUN in them. MAC addresses are derived from the attachment (node, NAT inside,
//! NAT outside), never from the IP address, so they stay put when an address changes.
//! Timestamps are the simulated time after a fixed epoch ([`EPOCH`]). A dropped packet is
//! written where it was last seen, with a packet comment saying why it died.

use crate::fabric::{Attachment, CaptureRecord, Packet, Transport};
use etherparse::{
    EtherType, Ethernet2Header, IpFragOffset, IpNumber, Ipv4Header, Ipv6FlowLabel,
    Ipv6FragmentHeader, Ipv6Header, TcpHeader, UdpHeader,
};
use pcap_file::DataLink;
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::pcapng::blocks::enhanced_packet::{EnhancedPacketBlock, EnhancedPacketOption};
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::pcapng::blocks::opt_common::CommonOption;
use pcap_file::pcapng::blocks::section_header::{SectionHeaderBlock, SectionHeaderOption};
use std::borrow::Cow;
use std::io::Write;
use std::net::IpAddr;
use std::time::Duration;

/// Capture timestamps count from 2026-01-01T00:00:00Z.
pub const EPOCH: Duration = Duration::from_secs(1_767_225_600);

const TTL: u8 = 64;

/// Why writing the capture failed.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The pcapng writer failed (usually an I/O error underneath).
    #[error("failed to write the capture: {0}")]
    Write(#[from] pcap_file::pcapng::PcapNgWriteError),
    /// A packet could not be encoded (a payload beyond 64 KiB).
    #[error("failed to encode a packet: {0}")]
    Encode(String),
}

/// One capture interface: a network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interface {
    /// `wan`, `lan-<nat>`.
    pub name: String,
    /// A human description.
    pub description: String,
}

/// Writes a run's capture.
pub struct CaptureWriter<W: Write> {
    out: PcapNgWriter<W>,
    frames: u64,
}

impl<W: Write> std::fmt::Debug for CaptureWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureWriter")
            .field("frames", &self.frames)
            .finish_non_exhaustive()
    }
}

impl<W: Write> CaptureWriter<W> {
    /// Writes the section header and one interface description per network, in order.
    ///
    /// # Errors
    /// When writing fails.
    pub fn new(out: W, interfaces: &[Interface]) -> Result<Self, CaptureError> {
        let section = SectionHeaderBlock {
            options: vec![SectionHeaderOption::UserApplication(Cow::Borrowed(
                "natlab",
            ))],
            ..SectionHeaderBlock::default()
        };
        let mut out = PcapNgWriter::with_section_header(out, section)?;
        for iface in interfaces {
            let idb = InterfaceDescriptionBlock {
                linktype: DataLink::ETHERNET,
                snaplen: 0,
                options: vec![
                    InterfaceDescriptionOption::IfName(Cow::Owned(iface.name.clone())),
                    InterfaceDescriptionOption::IfDescription(Cow::Owned(
                        iface.description.clone(),
                    )),
                ],
            };
            out.write_pcapng_block(idb)?;
        }
        Ok(Self { out, frames: 0 })
    }

    /// Writes a record: one frame, or one per IP fragment.
    ///
    /// # Errors
    /// When writing or encoding fails.
    pub fn write(&mut self, rec: &CaptureRecord) -> Result<(), CaptureError> {
        let src_mac = mac(rec.from);
        let dst_mac = rec.to.map_or(UNKNOWN_MAC, mac);
        let comment = rec
            .dropped
            .as_ref()
            .map(|(reason, detail)| format!("natlab: dropped ({reason}): {detail}"));
        let timestamp = EPOCH + rec.time.since_start();
        for frame in frames(&rec.packet, rec.mtu, src_mac, dst_mac)? {
            let options = comment
                .iter()
                .map(|c| {
                    EnhancedPacketOption::Common(CommonOption::Comment(Cow::Borrowed(c.as_str())))
                })
                .collect();
            let original_len =
                u32::try_from(frame.len()).map_err(|e| CaptureError::Encode(e.to_string()))?;
            let block = EnhancedPacketBlock {
                interface_id: rec.network.0,
                timestamp,
                original_len,
                data: Cow::Borrowed(&frame),
                options,
            };
            self.out.write_pcapng_block(block)?;
            self.frames += 1;
        }
        Ok(())
    }

    /// Frames written so far.
    pub const fn frames(&self) -> u64 {
        self.frames
    }

    /// Flushes and returns the underlying writer.
    ///
    /// # Errors
    /// When flushing fails.
    pub fn finish(self) -> Result<W, CaptureError> {
        let mut w = self.out.into_inner();
        w.flush().map_err(|e| CaptureError::Write(e.into()))?;
        Ok(w)
    }
}

const UNKNOWN_MAC: [u8; 6] = [0x02, 0xff, 0, 0, 0, 0];

/// A locally administered MAC for an attachment: `02:<kind>:<id>`.
fn mac(a: Attachment) -> [u8; 6] {
    let (kind, id) = match a {
        Attachment::Node(n) => (0x00, n.0),
        Attachment::NatInside(n) => (0x01, n.0),
        Attachment::NatOutside(n) => (0x02, n.0),
    };
    let id = id.to_be_bytes();
    [0x02, kind, id[0], id[1], id[2], id[3]]
}

/// The attachment behind a MAC address of a natlab capture (the inverse of the addresses
/// frames are written with); `None` for the unknown receiver of a packet lost on a link, and
/// for any other address.
pub fn attachment_of_mac(mac: [u8; 6]) -> Option<Attachment> {
    let [0x02, kind, a, b, c, d] = mac else {
        return None;
    };
    let id = u32::from_be_bytes([a, b, c, d]);
    match kind {
        0x00 => Some(Attachment::Node(crate::fabric::NodeId(id))),
        0x01 => Some(Attachment::NatInside(crate::fabric::NatId(id))),
        0x02 => Some(Attachment::NatOutside(crate::fabric::NatId(id))),
        _ => None,
    }
}

/// The Ethernet frames that carry `packet` over a hop with this MTU.
fn frames(
    packet: &Packet,
    mtu: u16,
    src: [u8; 6],
    dst: [u8; 6],
) -> Result<Vec<Vec<u8>>, CaptureError> {
    match (packet.src.ip(), packet.dst.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            ipv4_frames(packet, mtu, s.octets(), d.octets(), src, dst)
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            ipv6_frames(packet, mtu, s.octets(), d.octets(), src, dst)
        }
        _ => Err(CaptureError::Encode(format!(
            "mixed address families in {packet}"
        ))),
    }
}

fn encode_err(e: impl std::fmt::Display) -> CaptureError {
    CaptureError::Encode(e.to_string())
}

/// The transport header and payload, with the checksum over the given pseudo-header.
fn segment(
    packet: &Packet,
    v4: Option<&Ipv4Header>,
    v6: Option<&Ipv6Header>,
) -> Result<Vec<u8>, CaptureError> {
    let payload = &packet.payload[..];
    let (sp, dp) = (packet.src.port(), packet.dst.port());
    let mut out = Vec::with_capacity(20 + payload.len());
    match packet.transport {
        Transport::Udp => {
            let h = match (v4, v6) {
                (Some(ip), _) => UdpHeader::with_ipv4_checksum(sp, dp, ip, payload),
                (_, Some(ip)) => UdpHeader::with_ipv6_checksum(sp, dp, ip, payload),
                _ => return Err(encode_err("no IP header")),
            }
            .map_err(encode_err)?;
            out.extend_from_slice(&h.to_bytes());
        }
        Transport::Tcp(t) => {
            let mut h = TcpHeader::new(sp, dp, t.seq, t.window);
            h.acknowledgment_number = t.ack;
            h.syn = t.flags.syn;
            h.ack = t.flags.ack;
            h.fin = t.flags.fin;
            h.rst = t.flags.rst;
            h.psh = t.flags.psh;
            h.checksum = match (v4, v6) {
                (Some(ip), _) => h.calc_checksum_ipv4(ip, payload),
                (_, Some(ip)) => h.calc_checksum_ipv6(ip, payload),
                _ => return Err(encode_err("no IP header")),
            }
            .map_err(encode_err)?;
            out.extend_from_slice(&h.to_bytes());
        }
    }
    out.extend_from_slice(payload);
    Ok(out)
}

const fn ip_number(t: Transport) -> IpNumber {
    match t {
        Transport::Udp => IpNumber::UDP,
        Transport::Tcp(_) => IpNumber::TCP,
    }
}

fn ethernet(src: [u8; 6], dst: [u8; 6], ether_type: EtherType, capacity: usize) -> Vec<u8> {
    let mut frame = Vec::with_capacity(14 + capacity);
    frame.extend_from_slice(
        &Ethernet2Header {
            source: src,
            destination: dst,
            ether_type,
        }
        .to_bytes(),
    );
    frame
}

/// Splits `len` bytes into fragment ranges of at most `per` bytes (a multiple of 8).
fn fragment_ranges(len: usize, per: usize) -> impl Iterator<Item = (usize, usize)> {
    let per = per.max(8) / 8 * 8;
    (0..len.div_ceil(per).max(1)).map(move |i| (i * per, ((i + 1) * per).min(len)))
}

fn ipv4_frames(
    packet: &Packet,
    mtu: u16,
    s: [u8; 4],
    d: [u8; 4],
    src: [u8; 6],
    dst: [u8; 6],
) -> Result<Vec<Vec<u8>>, CaptureError> {
    let protocol = ip_number(packet.transport);
    let l4_len = packet.ip_len() - Ipv4Header::MIN_LEN;
    let full = Ipv4Header::new(
        u16::try_from(l4_len).map_err(encode_err)?,
        TTL,
        protocol,
        s,
        d,
    )
    .map_err(encode_err)?;
    let data = segment(packet, Some(&full), None)?;
    let per = usize::from(mtu).saturating_sub(Ipv4Header::MIN_LEN);
    let ranges: Vec<_> = if data.len() + Ipv4Header::MIN_LEN <= usize::from(mtu) {
        vec![(0, data.len())]
    } else {
        fragment_ranges(data.len(), per).collect()
    };
    let last = ranges.len().saturating_sub(1);
    ranges
        .iter()
        .enumerate()
        .map(|(i, &(start, end))| {
            let chunk = data
                .get(start..end)
                .ok_or_else(|| encode_err("fragment range"))?;
            let mut ip = Ipv4Header::new(
                u16::try_from(chunk.len()).map_err(encode_err)?,
                TTL,
                protocol,
                s,
                d,
            )
            .map_err(encode_err)?;
            ip.identification = packet.ip_id as u16;
            ip.more_fragments = i < last;
            ip.fragment_offset =
                IpFragOffset::try_new(u16::try_from(start / 8).map_err(encode_err)?)
                    .map_err(encode_err)?;
            ip.header_checksum = ip.calc_header_checksum();
            let mut frame = ethernet(src, dst, EtherType::IPV4, 20 + chunk.len());
            frame.extend_from_slice(&ip.to_bytes());
            frame.extend_from_slice(chunk);
            Ok(frame)
        })
        .collect()
}

fn ipv6_frames(
    packet: &Packet,
    mtu: u16,
    s: [u8; 16],
    d: [u8; 16],
    src: [u8; 6],
    dst: [u8; 6],
) -> Result<Vec<Vec<u8>>, CaptureError> {
    let protocol = ip_number(packet.transport);
    let l4_len = packet.ip_len() - Ipv6Header::LEN;
    let full = Ipv6Header {
        traffic_class: 0,
        flow_label: Ipv6FlowLabel::ZERO,
        payload_length: u16::try_from(l4_len).map_err(encode_err)?,
        next_header: protocol,
        hop_limit: TTL,
        source: s,
        destination: d,
    };
    let data = segment(packet, None, Some(&full))?;
    if data.len() + Ipv6Header::LEN <= usize::from(mtu) {
        let mut frame = ethernet(src, dst, EtherType::IPV6, 40 + data.len());
        frame.extend_from_slice(&full.to_bytes());
        frame.extend_from_slice(&data);
        return Ok(vec![frame]);
    }
    let per = usize::from(mtu).saturating_sub(Ipv6Header::LEN + Ipv6FragmentHeader::LEN);
    let ranges: Vec<_> = fragment_ranges(data.len(), per).collect();
    let last = ranges.len().saturating_sub(1);
    ranges
        .iter()
        .enumerate()
        .map(|(i, &(start, end))| {
            let chunk = data
                .get(start..end)
                .ok_or_else(|| encode_err("fragment range"))?;
            let frag = Ipv6FragmentHeader::new(
                protocol,
                IpFragOffset::try_new(u16::try_from(start / 8).map_err(encode_err)?)
                    .map_err(encode_err)?,
                i < last,
                packet.ip_id,
            );
            let ip = Ipv6Header {
                payload_length: u16::try_from(chunk.len() + Ipv6FragmentHeader::LEN)
                    .map_err(encode_err)?,
                next_header: IpNumber::IPV6_FRAGMENTATION_HEADER,
                ..full.clone()
            };
            let mut frame = ethernet(src, dst, EtherType::IPV6, 48 + chunk.len());
            frame.extend_from_slice(&ip.to_bytes());
            frame.extend_from_slice(&frag.to_bytes());
            frame.extend_from_slice(chunk);
            Ok(frame)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fabric::{NetworkId, NodeId, TcpFlags, TcpHeader as Tcp, Via};
    use bytes::Bytes;
    use etherparse::{NetSlice, SlicedPacket, TransportSlice};
    use sim_core::SimInstant;

    fn packet(src: &str, dst: &str, len: usize) -> Packet {
        Packet {
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            transport: Transport::Udp,
            payload: Bytes::from((0..len).map(|i| (i % 251) as u8).collect::<Vec<u8>>()),
            origin: NodeId(0),
            via: Via::default(),
            ip_id: 0x1234_5678,
        }
    }

    #[test]
    fn capture_macs_name_their_attachment() {
        use crate::fabric::NatId;
        for a in [
            Attachment::Node(NodeId(3)),
            Attachment::NatInside(NatId(0)),
            Attachment::NatOutside(NatId(70_000)),
        ] {
            assert_eq!(attachment_of_mac(mac(a)), Some(a));
        }
        assert_eq!(attachment_of_mac(UNKNOWN_MAC), None);
        assert_eq!(attachment_of_mac([0; 6]), None);
    }

    #[test]
    fn capture_udp_frame_parses_back_with_its_payload() {
        let p = packet("10.0.0.2:5000", "203.0.113.10:3478", 100);
        let f = frames(&p, 1500, mac(Attachment::Node(NodeId(3))), UNKNOWN_MAC).unwrap();
        assert_eq!(f.len(), 1);
        let s = SlicedPacket::from_ethernet(&f[0]).unwrap();
        let Some(TransportSlice::Udp(udp)) = s.transport else {
            panic!("not udp")
        };
        assert_eq!((udp.source_port(), udp.destination_port()), (5000, 3478));
        assert_eq!(udp.payload(), &p.payload[..]);
        let Some(NetSlice::Ipv4(ip)) = s.net else {
            panic!("not ipv4")
        };
        assert_eq!(ip.header().identification(), 0x5678);
    }

    #[test]
    fn capture_large_ipv4_datagram_is_fragmented_by_the_hop_mtu() {
        let p = packet("10.0.0.2:5060", "203.0.113.10:5060", 3000);
        let f = frames(&p, 1500, UNKNOWN_MAC, UNKNOWN_MAC).unwrap();
        assert_eq!(f.len(), p.fragments(1500));
        let mut pool = etherparse::defrag::IpDefragPool::<(), ()>::new();
        let mut reassembled = None;
        for frame in &f {
            assert!(frame.len() <= 1514);
            let s = SlicedPacket::from_ethernet(frame).unwrap();
            if let Some(buf) = pool.process_sliced_packet(&s, (), ()).unwrap() {
                reassembled = Some(buf.payload);
            }
        }
        let data = reassembled.expect("fragments reassemble");
        assert_eq!(&data[8..], &p.payload[..]);
    }

    #[test]
    fn capture_large_ipv6_datagram_uses_fragment_headers() {
        let p = packet("[2001:db8::2]:5060", "[2001:db8::10]:5060", 2000);
        let f = frames(&p, 1280, UNKNOWN_MAC, UNKNOWN_MAC).unwrap();
        assert_eq!(f.len(), 2);
        for frame in &f {
            assert!(frame.len() <= 14 + 1280);
            let s = SlicedPacket::from_ethernet(frame).unwrap();
            assert!(s.is_ip_payload_fragmented());
        }
    }

    #[test]
    fn capture_tcp_flags_and_numbers_survive() {
        let mut p = packet("10.0.0.2:40000", "203.0.113.10:5060", 10);
        p.transport = Transport::Tcp(Tcp {
            seq: 1000,
            ack: 2000,
            flags: TcpFlags {
                syn: false,
                ack: true,
                fin: false,
                rst: false,
                psh: true,
            },
            window: 65535,
        });
        let f = frames(&p, 1500, UNKNOWN_MAC, UNKNOWN_MAC).unwrap();
        let s = SlicedPacket::from_ethernet(&f[0]).unwrap();
        let Some(TransportSlice::Tcp(tcp)) = s.transport else {
            panic!("not tcp")
        };
        assert_eq!(
            (tcp.sequence_number(), tcp.acknowledgment_number()),
            (1000, 2000)
        );
        assert!(tcp.psh() && tcp.ack() && !tcp.syn());
    }

    #[test]
    fn capture_writer_is_byte_identical_for_the_same_records() {
        let write = || {
            let iface = Interface {
                name: "wan".into(),
                description: "public network".into(),
            };
            let mut w = CaptureWriter::new(Vec::new(), &[iface]).unwrap();
            let rec = CaptureRecord {
                time: SimInstant::from_micros(1_500_000),
                network: NetworkId(0),
                from: Attachment::Node(NodeId(0)),
                to: None,
                packet: packet("192.0.2.1:1", "192.0.2.2:2", 5),
                mtu: 1500,
                dropped: Some((crate::fabric::DropReason::LinkLoss, "lost".into())),
            };
            w.write(&rec).unwrap();
            w.finish().unwrap()
        };
        let a = write();
        assert_eq!(a, write());
        assert!(
            a.windows(6).any(|w| w == b"natlab"),
            "comment and application name are written"
        );
    }
}

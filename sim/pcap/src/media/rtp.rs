//! RTP (RFC 3550 §5.1), RTCP sender and receiver reports (RFC 3550 §6.4) and RFC 4733
//! telephone events: checked views over untrusted bytes. Nothing here allocates or panics.
//!
//! RTP and RTCP share ports when multiplexed (RFC 5761): a version-2 packet whose second byte
//! is 192..=223 (RTCP packet types 200..=206 and the unassigned range around them) is RTCP,
//! anything else RTP.

/// Why bytes are not an RTP or RTCP packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RtpError {
    /// Shorter than the fixed header.
    #[error("shorter than the header")]
    TooShort,
    /// The version field is not 2.
    #[error("version is not 2")]
    Version,
    /// CSRC list, header extension or padding run past the end.
    #[error("header fields run past the end")]
    BadLength,
}

/// One RTP packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rtp<'a> {
    /// The marker bit.
    pub marker: bool,
    /// Payload type (0..=127).
    pub payload_type: u8,
    /// Sequence number.
    pub seq: u16,
    /// Media timestamp.
    pub timestamp: u32,
    /// Synchronisation source.
    pub ssrc: u32,
    /// The payload, after CSRCs and header extension, without padding.
    pub payload: &'a [u8],
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Whether `b` starts like RTCP (version 2, packet type byte 192..=223).
pub fn is_rtcp(b: &[u8]) -> bool {
    matches!(b, [first, pt, ..] if first >> 6 == 2 && (192..=223).contains(pt))
}

/// Decodes an RTP packet.
///
/// # Errors
/// The bytes are too short, not version 2, or their lengths are inconsistent.
pub fn decode_rtp(b: &[u8]) -> Result<Rtp<'_>, RtpError> {
    let (Some(&first), Some(&second)) = (b.first(), b.get(1)) else {
        return Err(RtpError::TooShort);
    };
    if b.len() < 12 {
        return Err(RtpError::TooShort);
    }
    if first >> 6 != 2 {
        return Err(RtpError::Version);
    }
    let (Some(seq), Some(timestamp), Some(ssrc)) = (be16(b, 2), be32(b, 4), be32(b, 8)) else {
        return Err(RtpError::TooShort);
    };
    let mut start = 12 + 4 * usize::from(first & 0x0F);
    if first & 0x10 != 0 {
        let words = be16(b, start + 2).ok_or(RtpError::BadLength)?;
        start += 4 + 4 * usize::from(words);
    }
    let mut end = b.len();
    if first & 0x20 != 0 {
        let pad = usize::from(*b.last().ok_or(RtpError::BadLength)?);
        if pad == 0 {
            return Err(RtpError::BadLength);
        }
        end = end.checked_sub(pad).ok_or(RtpError::BadLength)?;
    }
    let payload = b.get(start..end).ok_or(RtpError::BadLength)?;
    Ok(Rtp {
        marker: second & 0x80 != 0,
        payload_type: second & 0x7F,
        seq,
        timestamp,
        ssrc,
        payload,
    })
}

/// One reception report block of an SR or RR (RFC 3550 §6.4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReportBlock {
    /// The source this block reports on.
    pub ssrc: u32,
    /// Fraction lost since the previous report, in 1/256.
    pub fraction_lost: u8,
    /// Cumulative packets lost (signed 24 bits: duplicates can make it negative).
    pub cumulative_lost: i32,
    /// Extended highest sequence number received.
    pub highest_seq: u32,
    /// Interarrival jitter, in timestamp units.
    pub jitter: u32,
    /// Middle 32 bits of the NTP timestamp of the last SR received from the source.
    pub last_sr: u32,
    /// Delay since that SR, in 1/65536 s.
    pub delay_since_last_sr: u32,
}

impl ReportBlock {
    fn decode(b: &[u8]) -> Option<Self> {
        let lost = be32(b, 4)?;
        let cumulative = (lost & 0x00FF_FFFF) as i32;
        let cumulative_lost = if cumulative & 0x0080_0000 != 0 {
            cumulative - 0x0100_0000
        } else {
            cumulative
        };
        Some(Self {
            ssrc: be32(b, 0)?,
            fraction_lost: (lost >> 24) as u8,
            cumulative_lost,
            highest_seq: be32(b, 8)?,
            jitter: be32(b, 12)?,
            last_sr: be32(b, 16)?,
            delay_since_last_sr: be32(b, 20)?,
        })
    }
}

/// The sender information of an SR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SenderInfo {
    /// NTP timestamp (seconds since 1900, 32.32 fixed point).
    pub ntp: u64,
    /// The RTP timestamp of the same instant.
    pub rtp_timestamp: u32,
    /// Packets sent.
    pub packets: u32,
    /// Payload octets sent.
    pub octets: u32,
}

/// One packet of an RTCP compound packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RtcpPacket<'a> {
    /// Packet type (200 SR, 201 RR, 202 SDES, 203 BYE, 204 APP, 205/206 feedback...).
    pub packet_type: u8,
    /// The sender's SSRC (SR, RR, BYE, feedback; 0 when the packet has none).
    pub ssrc: u32,
    /// Sender information (SR only).
    pub sender: Option<SenderInfo>,
    /// Report blocks (SR and RR), undecoded.
    blocks: &'a [u8],
}

impl RtcpPacket<'_> {
    /// The report blocks.
    pub fn blocks(&self) -> impl Iterator<Item = ReportBlock> + '_ {
        self.blocks.chunks_exact(24).filter_map(ReportBlock::decode)
    }
}

/// Sender report.
pub const RTCP_SR: u8 = 200;
/// Receiver report.
pub const RTCP_RR: u8 = 201;

/// The packets of an RTCP compound packet.
#[derive(Clone, Copy, Debug)]
pub struct RtcpCompound<'a> {
    rest: &'a [u8],
}

/// Decodes an RTCP compound packet: every packet is version 2 and their lengths add up to the
/// datagram (RFC 3550 A.2, without the requirement that the first be an SR or RR, which
/// reduced-size RTCP, RFC 5506, lifts).
///
/// # Errors
/// A header is short, not version 2, or a length runs past the end.
pub fn decode_rtcp(b: &[u8]) -> Result<RtcpCompound<'_>, RtpError> {
    if b.len() < 4 {
        return Err(RtpError::TooShort);
    }
    let mut rest = b;
    while !rest.is_empty() {
        let (len, next) = split_packet(rest)?;
        decode_one(rest.get(..len).ok_or(RtpError::BadLength)?)?;
        rest = next;
    }
    Ok(RtcpCompound { rest: b })
}

/// One packet's length, and what follows it.
fn split_packet(b: &[u8]) -> Result<(usize, &[u8]), RtpError> {
    let first = *b.first().ok_or(RtpError::TooShort)?;
    if first >> 6 != 2 {
        return Err(RtpError::Version);
    }
    let words = be16(b, 2).ok_or(RtpError::TooShort)?;
    let len = 4 * (usize::from(words) + 1);
    let next = b.get(len..).ok_or(RtpError::BadLength)?;
    Ok((len, next))
}

fn decode_one(p: &[u8]) -> Result<RtcpPacket<'_>, RtpError> {
    let (Some(&first), Some(&pt)) = (p.first(), p.get(1)) else {
        return Err(RtpError::TooShort);
    };
    let count = usize::from(first & 0x1F);
    let ssrc = be32(p, 4).unwrap_or(0);
    let (sender, blocks_at) = match pt {
        RTCP_SR => {
            let ntp = (u64::from(be32(p, 8).ok_or(RtpError::BadLength)?) << 32)
                | u64::from(be32(p, 12).ok_or(RtpError::BadLength)?);
            let info = SenderInfo {
                ntp,
                rtp_timestamp: be32(p, 16).ok_or(RtpError::BadLength)?,
                packets: be32(p, 20).ok_or(RtpError::BadLength)?,
                octets: be32(p, 24).ok_or(RtpError::BadLength)?,
            };
            (Some(info), 28)
        }
        RTCP_RR => {
            be32(p, 4).ok_or(RtpError::BadLength)?;
            (None, 8)
        }
        _ => (None, p.len()),
    };
    let blocks = if matches!(pt, RTCP_SR | RTCP_RR) {
        p.get(blocks_at..blocks_at + 24 * count)
            .ok_or(RtpError::BadLength)?
    } else {
        &[]
    };
    Ok(RtcpPacket {
        packet_type: pt,
        ssrc,
        sender,
        blocks,
    })
}

impl<'a> Iterator for RtcpCompound<'a> {
    type Item = RtcpPacket<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        let (len, next) = split_packet(self.rest).ok()?;
        let p = decode_one(self.rest.get(..len)?).ok()?;
        self.rest = next;
        Some(p)
    }
}

/// An RFC 4733 §2.3 named telephone event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TelephoneEvent {
    /// Event code (0..=9 digits, 10 `*`, 11 `#`, 12..=15 A..D, 16 flash).
    pub event: u8,
    /// The E bit: the last packet(s) of the event.
    pub end: bool,
    /// Volume, in −dBm0.
    pub volume: u8,
    /// Duration so far, in timestamp units.
    pub duration: u16,
}

/// Decodes a telephone-event payload (the first event of the payload).
pub fn decode_telephone_event(payload: &[u8]) -> Option<TelephoneEvent> {
    let [event, flags, ..] = *payload else {
        return None;
    };
    Some(TelephoneEvent {
        event,
        end: flags & 0x80 != 0,
        volume: flags & 0x3F,
        duration: be16(payload, 2)?,
    })
}

/// The key of a DTMF event (`0`..`9`, `*`, `#`, `A`..`D`, `flash`), or `None` for other events.
pub fn event_key(event: u8) -> Option<&'static str> {
    const KEYS: [&str; 17] = [
        "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "#", "A", "B", "C", "D", "flash",
    ];
    KEYS.get(usize::from(event)).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first packet of SIPp's `dtmf_2833_1.pcap`: PT 101 with marker, seq 0x1f30.
    const EVENT: [u8; 16] = [
        0x80, 0xE5, 0x1F, 0x30, 0x00, 0x00, 0x33, 0xE0, 0x0E, 0x05, 0x38, 0x4E, 0x01, 0x0A, 0x00,
        0x00,
    ];

    #[test]
    fn rtp_event_packet_decodes() {
        let p = decode_rtp(&EVENT).unwrap();
        assert_eq!(
            (p.marker, p.payload_type, p.seq, p.timestamp, p.ssrc),
            (true, 101, 0x1F30, 0x33E0, 0x0E05_384E)
        );
        let e = decode_telephone_event(p.payload).unwrap();
        assert_eq!((e.event, e.end, e.volume, e.duration), (1, false, 10, 0));
        assert_eq!(event_key(e.event), Some("1"));
        assert_eq!(event_key(11), Some("#"));
        assert_eq!(event_key(40), None);
        assert!(!is_rtcp(&EVENT));
    }

    #[test]
    fn rtp_csrc_extension_and_padding_are_skipped() {
        let mut b = vec![0xB1, 0x08, 0, 1, 0, 0, 0, 160, 0, 0, 0, 7];
        b.extend_from_slice(&[1, 2, 3, 4]); // CSRC
        b.extend_from_slice(&[0xBE, 0xDE, 0, 1, 9, 9, 9, 9]); // extension, one word
        b.extend_from_slice(&[0xAA, 0xBB, 0, 2]); // payload + 2 bytes of padding
        let p = decode_rtp(&b).unwrap();
        assert_eq!(p.payload, [0xAA, 0xBB]);
        assert_eq!(p.payload_type, 8);
    }

    #[test]
    fn rtp_bad_lengths_are_errors_for_every_truncation() {
        let mut b = vec![0xB1, 0x08, 0, 1, 0, 0, 0, 160, 0, 0, 0, 7, 1, 2, 3, 4];
        b.extend_from_slice(&[0xBE, 0xDE, 0, 3]);
        assert_eq!(decode_rtp(&b), Err(RtpError::BadLength));
        for n in 0..EVENT.len() {
            let _ = decode_rtp(&EVENT[..n]);
        }
        assert_eq!(decode_rtp(&EVENT[..11]), Err(RtpError::TooShort));
        assert_eq!(decode_rtp(&[0x40; 12]), Err(RtpError::Version));
        // Padding bit with a zero count, and a count larger than the packet.
        assert_eq!(
            decode_rtp(&[0xA0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0]),
            Err(RtpError::BadLength)
        );
        assert_eq!(
            decode_rtp(&[0xA0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 99]),
            Err(RtpError::BadLength)
        );
    }

    /// An SR with one report block, followed by an SDES chunk (a typical compound packet).
    pub(crate) fn sr_compound() -> Vec<u8> {
        let mut b = vec![0x81, 200, 0, 12, 0x11, 0x22, 0x33, 0x44];
        b.extend_from_slice(&[0xE0, 0, 0, 0, 0x80, 0, 0, 0]); // NTP
        b.extend_from_slice(&[0, 0, 0x3E, 0x80, 0, 0, 0, 50, 0, 0, 0x1F, 0x40]);
        // Block: source 0xCA110000, 25/256 lost, cumulative -1 (duplicates), highest 1299,
        // jitter 40, LSR, DLSR.
        b.extend_from_slice(&[0xCA, 0x11, 0, 0, 25, 0xFF, 0xFF, 0xFF, 0, 0, 0x05, 0x13]);
        b.extend_from_slice(&[0, 0, 0, 40, 0, 1, 0, 0, 0, 0, 0x80, 0]);
        b.extend_from_slice(&[0x81, 202, 0, 2, 0x11, 0x22, 0x33, 0x44, 1, 0, 0, 0]);
        b
    }

    #[test]
    fn rtcp_sender_report_with_block_and_sdes() {
        let b = sr_compound();
        assert!(is_rtcp(&b));
        let packets: Vec<RtcpPacket<'_>> = decode_rtcp(&b).unwrap().collect();
        assert_eq!(packets.len(), 2);
        let sr = &packets[0];
        assert_eq!((sr.packet_type, sr.ssrc), (RTCP_SR, 0x1122_3344));
        let info = sr.sender.unwrap();
        assert_eq!((info.packets, info.octets), (50, 8000));
        let blocks: Vec<ReportBlock> = sr.blocks().collect();
        assert_eq!(blocks.len(), 1);
        let r = blocks[0];
        assert_eq!(
            (
                r.ssrc,
                r.fraction_lost,
                r.cumulative_lost,
                r.highest_seq,
                r.jitter
            ),
            (0xCA11_0000, 25, -1, 1299, 40)
        );
        assert_eq!(packets[1].packet_type, 202);
    }

    #[test]
    fn rtcp_lengths_must_add_up() {
        let mut b = sr_compound();
        b.push(0);
        assert!(decode_rtcp(&b).is_err());
        let b = sr_compound();
        for n in 0..b.len() {
            let _ = decode_rtcp(&b[..n]).map(|c| c.count());
        }
        assert_eq!(decode_rtcp(&b[..40]).err(), Some(RtpError::BadLength));
        // An RR claiming two blocks but carrying one.
        let rr = [0x82, 201, 0, 7, 0, 0, 0, 1];
        let mut rr = rr.to_vec();
        rr.extend_from_slice(&[0; 24]);
        assert_eq!(decode_rtcp(&rr).err(), Some(RtpError::BadLength));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
        #[test]
        fn rtp_arbitrary_bytes_never_panic(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
            crate::fuzzing::rtp(&data);
        }

        #[test]
        fn rtp_mutated_real_packets_never_panic(flip in 0usize..64, byte in proptest::prelude::any::<u8>(), cut in 0usize..64) {
            let mut b = sr_compound();
            if let Some(x) = b.get_mut(flip) { *x = byte; }
            b.truncate(b.len().saturating_sub(cut));
            crate::fuzzing::rtp(&b);
            let mut e = EVENT.to_vec();
            if let Some(x) = e.get_mut(flip % 16) { *x = byte; }
            crate::fuzzing::rtp(&e);
        }
    }
}

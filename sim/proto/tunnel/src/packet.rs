//! The wire format. Every field is big-endian; every packet starts with a type byte
//! `0xC0 | type` (192–207), outside every range RFC 7983 assigns on a shared port (STUN 0–3,
//! ZRTP 16–19, DTLS 20–63, TURN ChannelData 64–79, RTP/RTCP 128–191).
//!
//! ```text
//! Hello      C0 | version u8 | src_conn u32 | isn u32 | cookie u32 | ts u32 | ts_echo u32
//! Challenge  C1 | dst_conn u32 | cookie u32 | ts u32 | ts_echo u32
//! HelloAck   C2 | dst_conn u32 | src_conn u32 | isn u32 | ts_echo u32
//! Data       C3 | dst_conn u32 | seq u32 | ts u32 | kind u8 | stream u32 | payload…
//! Ack        C4 | dst_conn u32 | next u32 | window u16 | ts_echo u32 | n u8 | n bytes of bitmap
//! KeepAlive  C5 | dst_conn u32 | ts u32
//! ```
//!
//! `ts` is the sender's clock in microseconds (wrapping), echoed back for RTT samples.
//! `next` is the next sequence number the receiver expects (cumulative acknowledgement); bit
//! `i` of the bitmap (byte `i / 8`, least significant bit first) says whether `next + 1 + i`
//! arrived (selective acknowledgement of up to 2040 packets beyond `next`).
//! Parsing is two-step: [`Packet::parse`] checks lengths and values and never panics.

use bytes::{BufMut, Bytes, BytesMut};

/// The high nibble of every type byte.
pub(crate) const TYPE_BASE: u8 = 0xC0;
/// The protocol version carried in `Hello`.
pub(crate) const VERSION: u8 = 1;
/// Data packet header length (type byte to stream id).
pub const DATA_HEADER: usize = 18;
/// Bitmap bytes an `Ack` carries at most.
pub(crate) const MAX_SACK_BYTES: usize = 255;

/// Whether `payload` starts with a tunnel type byte (what a demultiplexer on a shared port
/// checks).
pub fn is_tunnel_packet(payload: &[u8]) -> bool {
    payload.first().is_some_and(|b| b & 0xF0 == TYPE_BASE)
}

/// What a data packet's frame does to its stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FrameKind {
    /// The sender opened the stream.
    Open = 0,
    /// Stream bytes.
    Data = 1,
    /// The sender will write no more to the stream.
    Fin = 2,
    /// The sender closes the whole tunnel (graceful, after everything before it).
    Shutdown = 3,
}

impl FrameKind {
    fn from_u8(b: u8) -> Option<Self> {
        Some(match b {
            0 => Self::Open,
            1 => Self::Data,
            2 => Self::Fin,
            3 => Self::Shutdown,
            _ => return None,
        })
    }
}

/// One reliable frame: the content of a data packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Frame {
    pub(crate) kind: FrameKind,
    pub(crate) stream: u32,
    pub(crate) payload: Bytes,
}

/// A parsed packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Packet {
    Hello {
        version: u8,
        src_conn: u32,
        isn: u32,
        cookie: u32,
        ts: u32,
        ts_echo: u32,
    },
    Challenge {
        dst_conn: u32,
        cookie: u32,
        ts: u32,
        ts_echo: u32,
    },
    HelloAck {
        dst_conn: u32,
        src_conn: u32,
        isn: u32,
        ts_echo: u32,
    },
    Data {
        dst_conn: u32,
        seq: u32,
        ts: u32,
        frame: Frame,
    },
    Ack {
        dst_conn: u32,
        next: u32,
        window: u16,
        ts_echo: u32,
        sack: Bytes,
    },
    KeepAlive {
        dst_conn: u32,
        ts: u32,
    },
}

/// Why bytes are not a tunnel packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Malformed {
    #[error("first byte is not a tunnel type")]
    NotTunnel,
    #[error("unknown packet type")]
    UnknownType,
    #[error("packet too short")]
    Short,
    #[error("trailing bytes")]
    Trailing,
    #[error("unknown frame kind")]
    FrameKind,
}

/// A bounds-checked reader.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn u8(&mut self) -> Result<u8, Malformed> {
        let (&b, rest) = self.0.split_first().ok_or(Malformed::Short)?;
        self.0 = rest;
        Ok(b)
    }

    fn u16(&mut self) -> Result<u16, Malformed> {
        let (head, rest) = self.0.split_first_chunk::<2>().ok_or(Malformed::Short)?;
        self.0 = rest;
        Ok(u16::from_be_bytes(*head))
    }

    fn u32(&mut self) -> Result<u32, Malformed> {
        let (head, rest) = self.0.split_first_chunk::<4>().ok_or(Malformed::Short)?;
        self.0 = rest;
        Ok(u32::from_be_bytes(*head))
    }

    fn end(&self) -> Result<(), Malformed> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Malformed::Trailing)
        }
    }
}

impl Packet {
    /// Parses one datagram.
    pub(crate) fn parse(bytes: &[u8]) -> Result<Self, Malformed> {
        let mut r = Reader(bytes);
        let t = r.u8()?;
        if t & 0xF0 != TYPE_BASE {
            return Err(Malformed::NotTunnel);
        }
        let p = match t & 0x0F {
            0 => Self::Hello {
                version: r.u8()?,
                src_conn: r.u32()?,
                isn: r.u32()?,
                cookie: r.u32()?,
                ts: r.u32()?,
                ts_echo: r.u32()?,
            },
            1 => Self::Challenge {
                dst_conn: r.u32()?,
                cookie: r.u32()?,
                ts: r.u32()?,
                ts_echo: r.u32()?,
            },
            2 => Self::HelloAck {
                dst_conn: r.u32()?,
                src_conn: r.u32()?,
                isn: r.u32()?,
                ts_echo: r.u32()?,
            },
            3 => return Self::parse_data(r),
            4 => Self::parse_ack(&mut r)?,
            5 => Self::KeepAlive {
                dst_conn: r.u32()?,
                ts: r.u32()?,
            },
            _ => return Err(Malformed::UnknownType),
        };
        r.end()?;
        Ok(p)
    }

    fn parse_data(mut r: Reader<'_>) -> Result<Self, Malformed> {
        let dst_conn = r.u32()?;
        let seq = r.u32()?;
        let ts = r.u32()?;
        let kind = FrameKind::from_u8(r.u8()?).ok_or(Malformed::FrameKind)?;
        let stream = r.u32()?;
        let payload = Bytes::copy_from_slice(r.0);
        Ok(Self::Data {
            dst_conn,
            seq,
            ts,
            frame: Frame {
                kind,
                stream,
                payload,
            },
        })
    }

    fn parse_ack(r: &mut Reader<'_>) -> Result<Self, Malformed> {
        let dst_conn = r.u32()?;
        let next = r.u32()?;
        let window = r.u16()?;
        let ts_echo = r.u32()?;
        let n = usize::from(r.u8()?);
        let (bitmap, rest) = r.0.split_at_checked(n).ok_or(Malformed::Short)?;
        let sack = Bytes::copy_from_slice(bitmap);
        r.0 = rest;
        Ok(Self::Ack {
            dst_conn,
            next,
            window,
            ts_echo,
            sack,
        })
    }

    /// The connection id the packet is addressed to (`None` for `Hello`, which carries the
    /// sender's).
    pub(crate) const fn dst_conn(&self) -> Option<u32> {
        match self {
            Self::Hello { .. } => None,
            Self::Challenge { dst_conn, .. }
            | Self::HelloAck { dst_conn, .. }
            | Self::Data { dst_conn, .. }
            | Self::Ack { dst_conn, .. }
            | Self::KeepAlive { dst_conn, .. } => Some(*dst_conn),
        }
    }

    /// Serialises the packet.
    pub(crate) fn encode(&self) -> Bytes {
        let mut b = BytesMut::with_capacity(self.encoded_len());
        match self {
            Self::Hello {
                version,
                src_conn,
                isn,
                cookie,
                ts,
                ts_echo,
            } => {
                b.put_u8(TYPE_BASE);
                b.put_u8(*version);
                for v in [*src_conn, *isn, *cookie, *ts, *ts_echo] {
                    b.put_u32(v);
                }
            }
            Self::Challenge {
                dst_conn,
                cookie,
                ts,
                ts_echo,
            } => {
                b.put_u8(TYPE_BASE | 1);
                for v in [*dst_conn, *cookie, *ts, *ts_echo] {
                    b.put_u32(v);
                }
            }
            Self::HelloAck {
                dst_conn,
                src_conn,
                isn,
                ts_echo,
            } => {
                b.put_u8(TYPE_BASE | 2);
                for v in [*dst_conn, *src_conn, *isn, *ts_echo] {
                    b.put_u32(v);
                }
            }
            Self::Data {
                dst_conn,
                seq,
                ts,
                frame,
            } => {
                b.put_u8(TYPE_BASE | 3);
                for v in [*dst_conn, *seq, *ts] {
                    b.put_u32(v);
                }
                b.put_u8(frame.kind as u8);
                b.put_u32(frame.stream);
                b.put_slice(&frame.payload);
            }
            Self::Ack {
                dst_conn,
                next,
                window,
                ts_echo,
                sack,
            } => {
                b.put_u8(TYPE_BASE | 4);
                b.put_u32(*dst_conn);
                b.put_u32(*next);
                b.put_u16(*window);
                b.put_u32(*ts_echo);
                let n = sack.len().min(MAX_SACK_BYTES);
                b.put_u8(u8::try_from(n).unwrap_or(0));
                b.put_slice(&sack[..n]);
            }
            Self::KeepAlive { dst_conn, ts } => {
                b.put_u8(TYPE_BASE | 5);
                b.put_u32(*dst_conn);
                b.put_u32(*ts);
            }
        }
        b.freeze()
    }

    fn encoded_len(&self) -> usize {
        match self {
            Self::Hello { .. } => 22,
            Self::Challenge { .. } => 17,
            Self::HelloAck { .. } => 17,
            Self::Data { frame, .. } => DATA_HEADER + frame.payload.len(),
            Self::Ack { sack, .. } => 16 + sack.len().min(MAX_SACK_BYTES),
            Self::KeepAlive { .. } => 9,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Vec<Packet> {
        vec![
            Packet::Hello {
                version: VERSION,
                src_conn: 1,
                isn: 2,
                cookie: 3,
                ts: 4,
                ts_echo: 5,
            },
            Packet::Challenge {
                dst_conn: 1,
                cookie: 2,
                ts: 3,
                ts_echo: 4,
            },
            Packet::HelloAck {
                dst_conn: 1,
                src_conn: 2,
                isn: 3,
                ts_echo: 4,
            },
            Packet::Data {
                dst_conn: 9,
                seq: u32::MAX,
                ts: 7,
                frame: Frame {
                    kind: FrameKind::Data,
                    stream: 3,
                    payload: Bytes::from_static(b"hello"),
                },
            },
            Packet::Ack {
                dst_conn: 9,
                next: 10,
                window: 256,
                ts_echo: 11,
                sack: Bytes::from_static(&[0b101, 0x80]),
            },
            Packet::KeepAlive { dst_conn: 9, ts: 1 },
        ]
    }

    #[test]
    fn packet_every_type_round_trips_with_its_declared_length() {
        for p in samples() {
            let bytes = p.encode();
            assert_eq!(bytes.len(), p.encoded_len(), "{p:?}");
            assert!(is_tunnel_packet(&bytes));
            assert!((192..=207).contains(&bytes[0]));
            assert_eq!(Packet::parse(&bytes), Ok(p));
        }
    }

    #[test]
    fn packet_truncations_and_extensions_are_rejected_not_panicking() {
        for p in samples() {
            let bytes = p.encode();
            for n in 0..bytes.len() {
                let r = Packet::parse(&bytes[..n]);
                // A data packet with a shorter payload is still a data packet.
                if !matches!(p, Packet::Data { .. }) || n < DATA_HEADER {
                    assert!(r.is_err(), "{p:?} truncated to {n}");
                }
            }
            if !matches!(p, Packet::Data { .. }) {
                let mut long = bytes.to_vec();
                long.push(0);
                assert_eq!(Packet::parse(&long), Err(Malformed::Trailing));
            }
        }
        assert_eq!(Packet::parse(&[0x00, 0x01]), Err(Malformed::NotTunnel));
        assert_eq!(Packet::parse(&[0xCF]), Err(Malformed::UnknownType));
    }
}

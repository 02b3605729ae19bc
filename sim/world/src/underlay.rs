//! The underlay: how site hosts and the core host talk over turmoil's network.
//!
//! Every packet a node sends travels as one turmoil UDP datagram from its site host to the core
//! host (which runs the fabric), and every delivery as one datagram back. The encapsulation is a
//! small binary header in front of the payload; it never appears in captures.
//!
//! ```text
//! site → core   1 | node u32 | time µs u64 | transport | src port u16 | dst addr | payload
//! site → core   2 | node u32 | port u16                       (a UDP port is bound)
//! core → site   3 | node u32 | transport | src addr | dst addr | payload
//! transport     0 (UDP) | 1 seq u32 ack u32 flags u8 window u16 (TCP)
//! addr          4 ipv4[4] port u16 | 6 ipv6[16] port u16
//! ```

use crate::fabric::{NodeId, TcpFlags, TcpHeader, Transport};
use bytes::{Buf, BufMut, Bytes, BytesMut};
use sim_core::SimInstant;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// A message on the underlay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Message {
    /// A node sent a packet.
    Send {
        node: NodeId,
        time: SimInstant,
        transport: Transport,
        src_port: u16,
        dst: SocketAddr,
        payload: Bytes,
    },
    /// A node bound a UDP port.
    Bind { node: NodeId, port: u16 },
    /// The fabric delivers a packet to a node.
    Deliver {
        node: NodeId,
        transport: Transport,
        src: SocketAddr,
        dst: SocketAddr,
        payload: Bytes,
    },
}

/// A malformed underlay message (a bug, never user input).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed underlay message")]
pub(crate) struct Malformed;

impl Message {
    pub(crate) fn encode(&self) -> Bytes {
        let mut b = BytesMut::with_capacity(64);
        match self {
            Self::Send {
                node,
                time,
                transport,
                src_port,
                dst,
                payload,
            } => {
                b.put_u8(1);
                b.put_u32(node.0);
                b.put_u64(time.as_micros());
                put_transport(&mut b, *transport);
                b.put_u16(*src_port);
                put_addr(&mut b, *dst);
                b.put_slice(payload);
            }
            Self::Bind { node, port } => {
                b.put_u8(2);
                b.put_u32(node.0);
                b.put_u16(*port);
            }
            Self::Deliver {
                node,
                transport,
                src,
                dst,
                payload,
            } => {
                b.put_u8(3);
                b.put_u32(node.0);
                put_transport(&mut b, *transport);
                put_addr(&mut b, *src);
                put_addr(&mut b, *dst);
                b.put_slice(payload);
            }
        }
        b.freeze()
    }

    pub(crate) fn decode(mut b: Bytes) -> Result<Self, Malformed> {
        let kind = get_u8(&mut b)?;
        let node = NodeId(get_u32(&mut b)?);
        match kind {
            1 => {
                let time = SimInstant::from_micros(get_u64(&mut b)?);
                let transport = get_transport(&mut b)?;
                let src_port = get_u16(&mut b)?;
                let dst = get_addr(&mut b)?;
                Ok(Self::Send {
                    node,
                    time,
                    transport,
                    src_port,
                    dst,
                    payload: b,
                })
            }
            2 => Ok(Self::Bind {
                node,
                port: get_u16(&mut b)?,
            }),
            3 => {
                let transport = get_transport(&mut b)?;
                let src = get_addr(&mut b)?;
                let dst = get_addr(&mut b)?;
                Ok(Self::Deliver {
                    node,
                    transport,
                    src,
                    dst,
                    payload: b,
                })
            }
            _ => Err(Malformed),
        }
    }
}

fn put_transport(b: &mut BytesMut, t: Transport) {
    match t {
        Transport::Udp => b.put_u8(0),
        Transport::Tcp(h) => {
            b.put_u8(1);
            b.put_u32(h.seq);
            b.put_u32(h.ack);
            let f = h.flags;
            b.put_u8(
                u8::from(f.syn)
                    | u8::from(f.ack) << 1
                    | u8::from(f.fin) << 2
                    | u8::from(f.rst) << 3
                    | u8::from(f.psh) << 4,
            );
            b.put_u16(h.window);
        }
    }
}

fn get_transport(b: &mut Bytes) -> Result<Transport, Malformed> {
    match get_u8(b)? {
        0 => Ok(Transport::Udp),
        1 => {
            let seq = get_u32(b)?;
            let ack = get_u32(b)?;
            let f = get_u8(b)?;
            let window = get_u16(b)?;
            let flags = TcpFlags {
                syn: f & 1 != 0,
                ack: f & 2 != 0,
                fin: f & 4 != 0,
                rst: f & 8 != 0,
                psh: f & 16 != 0,
            };
            Ok(Transport::Tcp(TcpHeader {
                seq,
                ack,
                flags,
                window,
            }))
        }
        _ => Err(Malformed),
    }
}

fn put_addr(b: &mut BytesMut, a: SocketAddr) {
    match a.ip() {
        IpAddr::V4(ip) => {
            b.put_u8(4);
            b.put_slice(&ip.octets());
        }
        IpAddr::V6(ip) => {
            b.put_u8(6);
            b.put_slice(&ip.octets());
        }
    }
    b.put_u16(a.port());
}

fn get_addr(b: &mut Bytes) -> Result<SocketAddr, Malformed> {
    let ip = match get_u8(b)? {
        4 => {
            let mut o = [0u8; 4];
            take(b, &mut o)?;
            IpAddr::V4(Ipv4Addr::from(o))
        }
        6 => {
            let mut o = [0u8; 16];
            take(b, &mut o)?;
            IpAddr::V6(Ipv6Addr::from(o))
        }
        _ => return Err(Malformed),
    };
    Ok(SocketAddr::new(ip, get_u16(b)?))
}

fn take(b: &mut Bytes, out: &mut [u8]) -> Result<(), Malformed> {
    if b.remaining() < out.len() {
        return Err(Malformed);
    }
    b.copy_to_slice(out);
    Ok(())
}

fn get_u8(b: &mut Bytes) -> Result<u8, Malformed> {
    b.try_get_u8().map_err(|_| Malformed)
}

fn get_u16(b: &mut Bytes) -> Result<u16, Malformed> {
    b.try_get_u16().map_err(|_| Malformed)
}

fn get_u32(b: &mut Bytes) -> Result<u32, Malformed> {
    b.try_get_u32().map_err(|_| Malformed)
}

fn get_u64(b: &mut Bytes) -> Result<u64, Malformed> {
    b.try_get_u64().map_err(|_| Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn addr() -> impl Strategy<Value = SocketAddr> {
        prop_oneof![
            (any::<[u8; 4]>(), any::<u16>())
                .prop_map(|(ip, p)| SocketAddr::new(Ipv4Addr::from(ip).into(), p)),
            (any::<[u8; 16]>(), any::<u16>())
                .prop_map(|(ip, p)| SocketAddr::new(Ipv6Addr::from(ip).into(), p)),
        ]
    }

    fn transport() -> impl Strategy<Value = Transport> {
        prop_oneof![
            Just(Transport::Udp),
            (any::<u32>(), any::<u32>(), any::<[bool; 5]>(), any::<u16>()).prop_map(
                |(seq, ack, f, window)| {
                    let flags = TcpFlags {
                        syn: f[0],
                        ack: f[1],
                        fin: f[2],
                        rst: f[3],
                        psh: f[4],
                    };
                    Transport::Tcp(TcpHeader {
                        seq,
                        ack,
                        flags,
                        window,
                    })
                }
            ),
        ]
    }

    fn message() -> impl Strategy<Value = Message> {
        let payload = proptest::collection::vec(any::<u8>(), 0..64).prop_map(Bytes::from);
        prop_oneof![
            (
                any::<u32>(),
                any::<u64>(),
                transport(),
                any::<u16>(),
                addr(),
                payload.clone()
            )
                .prop_map(|(n, t, transport, src_port, dst, payload)| Message::Send {
                    node: NodeId(n),
                    time: SimInstant::from_micros(t),
                    transport,
                    src_port,
                    dst,
                    payload,
                }),
            (any::<u32>(), any::<u16>()).prop_map(|(n, port)| Message::Bind {
                node: NodeId(n),
                port
            }),
            (any::<u32>(), transport(), addr(), addr(), payload).prop_map(
                |(n, transport, src, dst, payload)| {
                    Message::Deliver {
                        node: NodeId(n),
                        transport,
                        src,
                        dst,
                        payload,
                    }
                }
            ),
        ]
    }

    proptest! {
        #[test]
        fn underlay_message_round_trips(m in message()) {
            prop_assert_eq!(Message::decode(m.encode()), Ok(m));
        }

        #[test]
        fn underlay_truncated_message_is_an_error_not_a_panic(m in message(), cut in 0usize..40) {
            let bytes = m.encode();
            let cut = cut.min(bytes.len());
            let _ = Message::decode(bytes.slice(..cut));
        }
    }
}

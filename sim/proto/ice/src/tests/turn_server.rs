//! A minimal TURN server for tests (RFC 5766, UDP): 401 challenge then Allocate, Refresh,
//! CreatePermission, ChannelBind, Send and Data indications, ChannelData. It checks no
//! credentials; `reject` answers the authenticated Allocate with that error code.

use bytes::Bytes;
use rtc_stun::attributes::{ATTR_NONCE, ATTR_REALM, ATTR_USERNAME};
use rtc_stun::error_code::{ErrorCode, ErrorCodeAttribute};
use rtc_stun::message::{
    CLASS_ERROR_RESPONSE, CLASS_INDICATION, CLASS_REQUEST, CLASS_SUCCESS_RESPONSE, Getter,
    METHOD_ALLOCATE, METHOD_CHANNEL_BIND, METHOD_CREATE_PERMISSION, METHOD_DATA, METHOD_REFRESH,
    METHOD_SEND, Message, MessageType, Setter, TransactionId,
};
use rtc_stun::textattrs::TextAttribute;
use rtc_stun::xoraddr::XorMappedAddress;
use rtc_turn::proto::chandata::ChannelData;
use rtc_turn::proto::channum::ChannelNumber;
use rtc_turn::proto::data::Data;
use rtc_turn::proto::lifetime::Lifetime;
use rtc_turn::proto::peeraddr::PeerAddress;
use rtc_turn::proto::relayaddr::RelayedAddress;
use sim_core::Datagram;
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

#[derive(Default)]
struct Allocation {
    relay: Option<SocketAddr>,
    permissions: BTreeSet<IpAddr>,
    channels: BTreeMap<u16, SocketAddr>,
}

pub(crate) struct TurnServer {
    pub(crate) addr: SocketAddr,
    pub(crate) reject: Option<u16>,
    next_port: u16,
    allocations: BTreeMap<SocketAddr, Allocation>,
}

impl TurnServer {
    pub(crate) fn new(addr: SocketAddr, reject: Option<u16>) -> Self {
        Self {
            addr,
            reject,
            next_port: 50_000,
            allocations: BTreeMap::new(),
        }
    }

    /// What the server sends in answer to `d` (addressed to it or to one of its relays).
    pub(crate) fn handle(&mut self, d: &Datagram) -> Vec<Datagram> {
        if d.dst != self.addr {
            return self.relay_inbound(d).into_iter().collect();
        }
        if ChannelData::is_channel_data(&d.payload) {
            let mut cd = ChannelData {
                raw: d.payload.to_vec(),
                ..Default::default()
            };
            if cd.decode().is_err() {
                return Vec::new();
            }
            let a = self.allocations.get(&d.src);
            let relayed = a.and_then(|a| Some((a.relay?, *a.channels.get(&cd.number.0)?)));
            return relayed
                .map(|(src, dst)| Datagram {
                    src,
                    dst,
                    payload: Bytes::from(cd.data),
                })
                .into_iter()
                .collect();
        }
        let mut m = Message::new();
        if m.unmarshal_binary(&d.payload).is_err() {
            return Vec::new();
        }
        self.on_message(d.src, &m).into_iter().collect()
    }

    fn on_message(&mut self, client: SocketAddr, m: &Message) -> Option<Datagram> {
        let peer = || {
            let mut p = PeerAddress::default();
            p.get_from(m).ok().map(|_| SocketAddr::new(p.ip, p.port))
        };
        let method = m.typ.method;
        if m.typ.class == CLASS_INDICATION && method == METHOD_SEND {
            let (peer, a) = (peer()?, self.allocations.get(&client)?);
            let mut data = Data::default();
            data.get_from(m).ok()?;
            a.permissions.contains(&peer.ip()).then_some(())?;
            let payload = Bytes::from(data.0);
            return Some(Datagram {
                src: a.relay?,
                dst: peer,
                payload,
            });
        }
        if m.typ.class != CLASS_REQUEST {
            return None;
        }
        let mut attrs: Vec<Box<dyn Setter>> = Vec::new();
        let mut class = CLASS_SUCCESS_RESPONSE;
        match method {
            METHOD_ALLOCATE if !m.contains(ATTR_USERNAME) => {
                class = CLASS_ERROR_RESPONSE;
                attrs.push(Box::new(ErrorCodeAttribute {
                    code: ErrorCode(401),
                    reason: b"Unauthorized".to_vec(),
                }));
                attrs.push(Box::new(TextAttribute::new(ATTR_REALM, "natlab".into())));
                attrs.push(Box::new(TextAttribute::new(ATTR_NONCE, "n0nce".into())));
            }
            METHOD_ALLOCATE if self.reject.is_some() => {
                class = CLASS_ERROR_RESPONSE;
                attrs.push(Box::new(ErrorCodeAttribute {
                    code: ErrorCode(self.reject.unwrap_or(500)),
                    reason: b"Rejected".to_vec(),
                }));
            }
            METHOD_ALLOCATE => {
                let relay = SocketAddr::new(self.addr.ip(), self.next_port);
                self.next_port += 1;
                let a = self.allocations.entry(client).or_default();
                let relay = *a.relay.get_or_insert(relay);
                attrs.push(Box::new(RelayedAddress {
                    ip: relay.ip(),
                    port: relay.port(),
                }));
                attrs.push(Box::new(XorMappedAddress {
                    ip: client.ip(),
                    port: client.port(),
                }));
                attrs.push(Box::new(Lifetime(Duration::from_secs(600))));
            }
            METHOD_REFRESH => attrs.push(Box::new(Lifetime(Duration::from_secs(600)))),
            METHOD_CREATE_PERMISSION => {
                let (peer, a) = (peer()?, self.allocations.get_mut(&client)?);
                a.permissions.insert(peer.ip());
            }
            METHOD_CHANNEL_BIND => {
                let (peer, a) = (peer()?, self.allocations.get_mut(&client)?);
                let mut n = ChannelNumber::default();
                n.get_from(m).ok()?;
                a.permissions.insert(peer.ip());
                a.channels.insert(n.0, peer);
            }
            _ => return None,
        }
        let mut setters: Vec<Box<dyn Setter>> = vec![
            Box::new(MessageType::new(method, class)),
            Box::new(TransactionId(m.transaction_id.0)),
        ];
        setters.extend(attrs);
        let mut out = Message::new();
        out.build(&setters).ok()?;
        Some(Datagram {
            src: self.addr,
            dst: client,
            payload: Bytes::from(out.raw),
        })
    }

    /// A peer sent to a relayed address: Data indication or ChannelData to the client.
    fn relay_inbound(&self, d: &Datagram) -> Option<Datagram> {
        let (client, a) = self
            .allocations
            .iter()
            .find(|(_, a)| a.relay == Some(d.dst))?;
        a.permissions.contains(&d.src.ip()).then_some(())?;
        let channel = a
            .channels
            .iter()
            .find(|(_, p)| **p == d.src)
            .map(|(n, _)| *n);
        let payload = match channel {
            Some(n) => {
                let mut cd = ChannelData {
                    data: d.payload.to_vec(),
                    number: ChannelNumber(n),
                    ..Default::default()
                };
                cd.encode();
                Bytes::from(cd.raw)
            }
            None => {
                let mut m = Message::new();
                let setters: Vec<Box<dyn Setter>> = vec![
                    Box::new(MessageType::new(METHOD_DATA, CLASS_INDICATION)),
                    Box::new(TransactionId([7; 12])),
                    Box::new(PeerAddress {
                        ip: d.src.ip(),
                        port: d.src.port(),
                    }),
                    Box::new(Data(d.payload.to_vec())),
                ];
                m.build(&setters).ok()?;
                Bytes::from(m.raw)
            }
        };
        Some(Datagram {
            src: self.addr,
            dst: *client,
            payload,
        })
    }
}

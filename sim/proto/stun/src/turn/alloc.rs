//! One TURN allocation (RFC 5766 §5): its five-tuple, relayed address, lifetime, permissions
//! and channel bindings.

use rtc_stun::message::{CLASS_REQUEST, METHOD_ALLOCATE, Message, MessageType, TransactionId};
use sim_core::{BindId, SimInstant, StreamId};
use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// How a client reaches the TURN server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TurnTransport {
    /// UDP.
    Udp,
    /// TCP (STUN and ChannelData framed on the stream).
    Tcp,
}

impl fmt::Display for TurnTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Udp => "udp",
            Self::Tcp => "tcp",
        })
    }
}

/// The client side of a five-tuple: a UDP source address or a TCP connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Client {
    Udp(SocketAddr),
    Tcp(StreamId),
}

impl Client {
    pub(crate) const fn transport(self) -> TurnTransport {
        match self {
            Self::Udp(_) => TurnTransport::Udp,
            Self::Tcp(_) => TurnTransport::Tcp,
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Allocation {
    pub(crate) client_addr: SocketAddr,
    pub(crate) username: String,
    /// The long-term key responses are signed with.
    pub(crate) key: Vec<u8>,
    pub(crate) bind: BindId,
    /// `None` while the relay port is being bound.
    pub(crate) relay: Option<SocketAddr>,
    pub(crate) lifetime: Duration,
    pub(crate) expires: SimInstant,
    /// The Allocate that created it, and the success answer (for retransmissions).
    pub(crate) request: TransactionId,
    pub(crate) response: Option<Vec<u8>>,
    /// Peer IP → permission deadline.
    pub(crate) permissions: BTreeMap<IpAddr, SimInstant>,
    /// Channel → (peer, deadline).
    pub(crate) channels: BTreeMap<u16, (SocketAddr, SimInstant)>,
}

impl Allocation {
    pub(crate) fn new(
        to: (Client, SocketAddr),
        username: String,
        key: Vec<u8>,
        bind: BindId,
        request: TransactionId,
        lifetime: Duration,
        now: SimInstant,
    ) -> Self {
        Self {
            client_addr: to.1,
            username,
            key,
            bind,
            relay: None,
            lifetime,
            expires: now + lifetime,
            request,
            response: None,
            permissions: BTreeMap::new(),
            channels: BTreeMap::new(),
        }
    }

    /// The Allocate request's type and id, to answer it once the relay port is bound.
    pub(crate) fn request_message(&self) -> Message {
        let mut m = Message::new();
        m.typ = MessageType {
            method: METHOD_ALLOCATE,
            class: CLASS_REQUEST,
        };
        m.transaction_id = self.request;
        m
    }

    /// The channel bound to `peer`, if any.
    pub(crate) fn channel_of(&self, peer: SocketAddr) -> Option<u16> {
        self.channels
            .iter()
            .find(|(_, (p, _))| *p == peer)
            .map(|(n, _)| *n)
    }

    /// Binds or refreshes `number` to `peer`. `Ok(true)` for a new binding; `Err` if the channel
    /// is bound to another peer or the peer to another channel (RFC 5766 §11.2).
    pub(crate) fn bind_channel(
        &mut self,
        number: u16,
        peer: SocketAddr,
        until: SimInstant,
    ) -> Result<bool, ()> {
        match (self.channels.get(&number), self.channel_of(peer)) {
            (Some((p, _)), _) if *p != peer => Err(()),
            (_, Some(n)) if n != number => Err(()),
            (existing, _) => {
                let fresh = existing.is_none();
                self.channels.insert(number, (peer, until));
                Ok(fresh)
            }
        }
    }

    /// Removes and returns the permissions expired at `now`.
    pub(crate) fn expire_permissions(&mut self, now: SimInstant) -> Vec<IpAddr> {
        let gone: Vec<IpAddr> = self
            .permissions
            .iter()
            .filter(|(_, until)| **until <= now)
            .map(|(ip, _)| *ip)
            .collect();
        for ip in &gone {
            self.permissions.remove(ip);
        }
        gone
    }

    /// Removes and returns the channels expired at `now`.
    pub(crate) fn expire_channels(&mut self, now: SimInstant) -> Vec<u16> {
        let gone: Vec<u16> = self
            .channels
            .iter()
            .filter(|(_, (_, until))| *until <= now)
            .map(|(n, _)| *n)
            .collect();
        for n in &gone {
            self.channels.remove(n);
        }
        gone
    }

    /// The earliest deadline (allocation, permission or channel), once the relay is bound.
    pub(crate) fn deadline(&self) -> Option<SimInstant> {
        self.relay?;
        let p = self.permissions.values().copied();
        let c = self.channels.values().map(|(_, t)| *t);
        p.chain(c).chain([self.expires]).min()
    }
}

//! The TURN server (RFC 5766) on the rtc-stun codec: UDP relaying, client transport UDP or TCP.
//!
//! ```text
//! client ──Allocate──► 401 (REALM, NONCE) ──Allocate+MI──► quota 486 / capacity 508 / policy
//!        └► Transmit::Bind(udp 0) ──handle_bound──► success (XOR-RELAYED-ADDRESS, LIFETIME,
//!           XOR-MAPPED-ADDRESS)                           allocation lives `lifetime`
//! Refresh (LIFETIME 0 deletes) · CreatePermission (300 s per peer IP) · ChannelBind (600 s,
//! 0x4000..=0x7FFF, also a permission) · Send indication / ChannelData → peer from the relay
//! peer → relay port: permission? → ChannelData (bound channel) or Data indication → client
//! ```
//!
//! Every request but Binding needs long-term credentials (stale nonce → 438). A request on a
//! five-tuple without allocation gets 437, with a different USERNAME 441. Over TCP the client's
//! STUN messages and ChannelData share the stream (ChannelData padded to 4 bytes, RFC 5766
//! §11.5); an allocation made over a connection dies with it. Relaying itself is UDP only
//! (REQUESTED-TRANSPORT other than UDP → 442); RFC 6062 TCP relaying (Connect) is not
//! implemented.

mod alloc;
mod event;
mod framing;

use crate::auth::{self, LongTerm, Nonces, Verdict};
use crate::codec::{self, Attr};
use alloc::{Allocation, Client};
use bytes::Bytes;
use framing::{Frame, StreamBuf};
use rtc_stun::attributes::{
    ATTR_CHANNEL_NUMBER, ATTR_DATA, ATTR_LIFETIME, ATTR_REQUESTED_TRANSPORT, ATTR_SOFTWARE,
    ATTR_XOR_PEER_ADDRESS, ATTR_XOR_RELAYED_ADDRESS, ATTR_XORMAPPED_ADDRESS,
};
use rtc_stun::message::{
    CLASS_ERROR_RESPONSE, CLASS_INDICATION, CLASS_REQUEST, CLASS_SUCCESS_RESPONSE, METHOD_ALLOCATE,
    METHOD_BINDING, METHOD_CHANNEL_BIND, METHOD_CREATE_PERMISSION, METHOD_DATA, METHOD_REFRESH,
    METHOD_SEND, Message, MessageType, Method,
};
use sim_core::{
    Addresses, Bind, BindId, Binding, Bound, Datagram, Node, Seed, SimInstant, SimRng,
    StreamCommand, StreamEvent, StreamId, Transmit,
};
use std::collections::{BTreeMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

pub use alloc::TurnTransport;
pub use event::{DeleteReason, TurnPolicy, TurnServerConfig, TurnServerEvent, TurnStats};

/// A TCP connection from a client.
#[derive(Debug)]
struct Conn {
    remote: SocketAddr,
    buf: StreamBuf,
}

/// The TURN server core. See the module documentation.
#[derive(Debug)]
pub struct TurnServer {
    config: TurnServerConfig,
    policy: TurnPolicy,
    local_ip: IpAddr,
    rng: SimRng,
    nonces: Nonces,
    allocations: BTreeMap<Client, Allocation>,
    by_relay_port: BTreeMap<u16, Client>,
    by_bind: BTreeMap<BindId, Client>,
    next_bind: u32,
    conns: BTreeMap<StreamId, Conn>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<TurnServerEvent>,
    stats: TurnStats,
}

/// An error answer: code and extra attributes.
type Reject = (u16, Vec<Attr>);

fn method_name(m: Method) -> &'static str {
    match m {
        METHOD_BINDING => "Binding",
        METHOD_ALLOCATE => "Allocate",
        METHOD_REFRESH => "Refresh",
        METHOD_CREATE_PERMISSION => "CreatePermission",
        METHOD_CHANNEL_BIND => "ChannelBind",
        _ => "unknown method",
    }
}

impl TurnServer {
    /// A server with `config`; nonces come from `seed`.
    pub fn new(config: TurnServerConfig, seed: Seed) -> Self {
        Self {
            local_ip: config.listen.ip(),
            config,
            policy: TurnPolicy::default(),
            rng: seed.rng(),
            nonces: Nonces::default(),
            allocations: BTreeMap::new(),
            by_relay_port: BTreeMap::new(),
            by_bind: BTreeMap::new(),
            next_bind: 0,
            conns: BTreeMap::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            stats: TurnStats::default(),
        }
    }

    /// Switches the admission policy from now on (existing allocations stay).
    pub fn set_policy(&mut self, now: SimInstant, policy: TurnPolicy) {
        let _ = now;
        self.policy = policy;
    }

    /// The admission policy in force.
    pub fn policy(&self) -> &TurnPolicy {
        &self.policy
    }

    /// Allocations held (including ones waiting for their relay port).
    pub fn allocation_count(&self) -> usize {
        self.allocations.len()
    }

    /// The relayed addresses of the live allocations, in order.
    pub fn relays(&self) -> Vec<SocketAddr> {
        self.allocations.values().filter_map(|a| a.relay).collect()
    }

    /// Relay counters.
    pub fn stats(&self) -> TurnStats {
        self.stats
    }

    fn listen(&self) -> SocketAddr {
        SocketAddr::new(self.local_ip, self.config.listen.port())
    }

    fn clamp(&self, requested: Option<Duration>) -> Duration {
        let d = requested.unwrap_or(self.config.default_lifetime);
        d.max(self.config.default_lifetime)
            .min(self.config.max_lifetime)
    }

    /// Sends bytes to a client over its transport.
    fn deliver(&mut self, client: Client, addr: SocketAddr, bytes: Vec<u8>) {
        let t = match client {
            Client::Udp(_) => Transmit::Datagram(Datagram {
                src: self.listen(),
                dst: addr,
                payload: Bytes::from(bytes),
            }),
            Client::Tcp(id) => Transmit::Stream(StreamCommand::Send {
                id,
                data: Bytes::from(bytes),
            }),
        };
        self.transmits.push_back(t);
    }

    fn respond(
        &mut self,
        to: (Client, SocketAddr),
        m: &Message,
        result: Result<Vec<Attr>, Reject>,
        key: Option<&[u8]>,
    ) -> Option<Vec<u8>> {
        let (class, mut attrs) = match result {
            Ok(attrs) => (CLASS_SUCCESS_RESPONSE, attrs),
            Err((code, extra)) => {
                self.events.push_back(TurnServerEvent::Rejected {
                    client: to.1,
                    method: method_name(m.typ.method),
                    code,
                });
                let mut attrs = vec![Attr::Error(code)];
                attrs.extend(extra);
                (CLASS_ERROR_RESPONSE, attrs)
            }
        };
        if let Some(s) = &self.config.software {
            attrs.push(Attr::Text(ATTR_SOFTWARE, s.clone()));
        }
        let typ = MessageType {
            method: m.typ.method,
            class,
        };
        let bytes = codec::encode(typ, m.transaction_id, &attrs, key, true)?;
        self.deliver(to.0, to.1, bytes.clone());
        Some(bytes)
    }

    /// A STUN message or ChannelData from a client.
    fn on_client_bytes(&mut self, now: SimInstant, client: Client, addr: SocketAddr, bytes: &[u8]) {
        if let Some((channel, data)) = framing::parse_channel_data(bytes) {
            return self.on_channel_data(client, addr, channel, data);
        }
        let Some(m) = codec::decode(bytes) else {
            return self.ignore(addr, "not STUN or ChannelData");
        };
        match m.typ.class {
            CLASS_REQUEST => self.on_request(now, (client, addr), &m),
            CLASS_INDICATION if m.typ.method == METHOD_SEND => self.on_send(client, addr, &m),
            _ => self.ignore(addr, "unexpected message class"),
        }
    }

    fn ignore(&mut self, from: SocketAddr, reason: &'static str) {
        self.events
            .push_back(TurnServerEvent::Ignored { from, reason });
    }

    fn on_request(&mut self, now: SimInstant, to: (Client, SocketAddr), m: &Message) {
        let method = m.typ.method;
        if method == METHOD_BINDING {
            let attrs = vec![Attr::Xor(ATTR_XORMAPPED_ADDRESS, to.1)];
            self.respond(to, m, Ok(attrs), None);
            return;
        }
        if ![
            METHOD_ALLOCATE,
            METHOD_REFRESH,
            METHOD_CREATE_PERMISSION,
            METHOD_CHANNEL_BIND,
        ]
        .contains(&method)
        {
            self.respond(to, m, Err((400, Vec::new())), None);
            return;
        }
        let creds = &self.config.credentials;
        let (key, username) = match auth::long_term(creds, &mut self.nonces, now, &mut self.rng, m)
        {
            Verdict::Accepted { key, username } => (key, username),
            Verdict::Rejected { code, attrs } => {
                self.respond(to, m, Err((code, attrs)), None);
                return;
            }
            Verdict::Open => return,
        };
        if method == METHOD_ALLOCATE {
            return self.on_allocate(now, to, m, key, username);
        }
        let result = match self.allocations.get(&to.0) {
            None => Err((437, Vec::new())),
            Some(a) if a.username != username => Err((441, Vec::new())),
            Some(a) if a.relay.is_none() => Err((437, Vec::new())),
            Some(_) => match method {
                METHOD_REFRESH => self.on_refresh(now, to.0, m),
                METHOD_CREATE_PERMISSION => self.on_create_permission(now, to.0, m),
                _ => self.on_channel_bind(now, to.0, m),
            },
        };
        self.respond(to, m, result, Some(&key));
    }

    fn on_allocate(
        &mut self,
        now: SimInstant,
        to: (Client, SocketAddr),
        m: &Message,
        key: Vec<u8>,
        username: String,
    ) {
        if let Some(a) = self.allocations.get(&to.0) {
            if a.request == m.transaction_id {
                // A retransmission: repeat the answer (none yet while the relay port binds).
                if let Some(bytes) = a.response.clone() {
                    self.deliver(to.0, to.1, bytes);
                }
                return;
            }
            self.respond(to, m, Err((437, Vec::new())), Some(&key));
            return;
        }
        if let Err(reject) = self.admit(m, &username) {
            self.respond(to, m, Err(reject), Some(&key));
            return;
        }
        let requested = lifetime(m);
        let lifetime = self.clamp(requested);
        self.next_bind += 1;
        let bind = BindId(self.next_bind);
        let a = Allocation::new(to, username, key, bind, m.transaction_id, lifetime, now);
        self.allocations.insert(to.0, a);
        self.by_bind.insert(bind, to.0);
        self.transmits.push_back(Transmit::Bind(Bind {
            id: bind,
            binding: Binding::udp(0),
        }));
    }

    /// Admission checks for a new allocation: transport, policy, quota, capacity.
    fn admit(&self, m: &Message, username: &str) -> Result<(), Reject> {
        match codec::get_raw(m, ATTR_REQUESTED_TRANSPORT) {
            None => return Err((400, Vec::new())),
            Some(v) if v.first() != Some(&17) => return Err((442, Vec::new())),
            Some(_) => {}
        }
        if let Some(code) = self.policy.reject_allocate {
            return Err((code, Vec::new()));
        }
        let held = self
            .allocations
            .values()
            .filter(|a| a.username == username)
            .count();
        if self.policy.user_quota.is_some_and(|q| held >= q) {
            return Err((486, Vec::new()));
        }
        if self
            .policy
            .capacity
            .is_some_and(|c| self.allocations.len() >= c)
        {
            return Err((508, Vec::new()));
        }
        Ok(())
    }

    fn on_bound(&mut self, now: SimInstant, id: BindId, result: Result<SocketAddr, String>) {
        let Some(client) = self.by_bind.remove(&id) else {
            return;
        };
        let relay = match result {
            Ok(addr) if addr.ip().is_unspecified() => SocketAddr::new(self.local_ip, addr.port()),
            Ok(addr) => addr,
            Err(_) => {
                if let Some(a) = self.allocations.remove(&client) {
                    let msg = a.request_message();
                    self.respond(
                        (client, a.client_addr),
                        &msg,
                        Err((508, Vec::new())),
                        Some(&a.key),
                    );
                }
                self.events.push_back(TurnServerEvent::AllocationDeleted {
                    relay: None,
                    reason: DeleteReason::BindFailed,
                });
                return;
            }
        };
        let Some(a) = self.allocations.get_mut(&client) else {
            return;
        };
        a.relay = Some(relay);
        a.expires = now + a.lifetime;
        let (addr, key, lifetime) = (a.client_addr, a.key.clone(), a.lifetime);
        let msg = a.request_message();
        self.by_relay_port.insert(relay.port(), client);
        let attrs = vec![
            Attr::Xor(ATTR_XOR_RELAYED_ADDRESS, relay),
            lifetime_attr(lifetime),
            Attr::Xor(ATTR_XORMAPPED_ADDRESS, addr),
        ];
        let response = self.respond((client, addr), &msg, Ok(attrs), Some(&key));
        if let Some(a) = self.allocations.get_mut(&client) {
            a.response = response;
            self.events.push_back(TurnServerEvent::AllocationCreated {
                client: addr,
                transport: client.transport(),
                username: a.username.clone(),
                relay,
                lifetime,
            });
        }
    }

    fn on_refresh(
        &mut self,
        now: SimInstant,
        client: Client,
        m: &Message,
    ) -> Result<Vec<Attr>, Reject> {
        let requested = lifetime(m);
        if requested == Some(Duration::ZERO) {
            self.delete(client, DeleteReason::Refreshed);
            return Ok(vec![lifetime_attr(Duration::ZERO)]);
        }
        let granted = self.clamp(requested);
        let a = self.allocations.get_mut(&client).ok_or((437, Vec::new()))?;
        a.lifetime = granted;
        a.expires = now + granted;
        if let Some(relay) = a.relay {
            self.events.push_back(TurnServerEvent::AllocationRefreshed {
                relay,
                lifetime: granted,
            });
        }
        Ok(vec![lifetime_attr(granted)])
    }

    fn on_create_permission(
        &mut self,
        now: SimInstant,
        client: Client,
        m: &Message,
    ) -> Result<Vec<Attr>, Reject> {
        let peers = codec::get_all_xor(m, ATTR_XOR_PEER_ADDRESS);
        if peers.is_empty() {
            return Err((400, Vec::new()));
        }
        let until = now + self.config.permission_lifetime;
        for peer in peers {
            self.permit(client, peer.ip(), until);
        }
        Ok(Vec::new())
    }

    fn permit(&mut self, client: Client, peer: IpAddr, until: SimInstant) {
        let Some(a) = self.allocations.get_mut(&client) else {
            return;
        };
        if a.permissions.insert(peer, until).is_none()
            && let Some(relay) = a.relay
        {
            self.events
                .push_back(TurnServerEvent::PermissionCreated { relay, peer });
        }
    }

    fn on_channel_bind(
        &mut self,
        now: SimInstant,
        client: Client,
        m: &Message,
    ) -> Result<Vec<Attr>, Reject> {
        let bad = || (400, Vec::new());
        let number = codec::get_raw(m, ATTR_CHANNEL_NUMBER)
            .filter(|v| v.len() == 4)
            .map(|v| u16::from_be_bytes([v[0], v[1]]))
            .filter(|n| framing::CHANNELS.contains(n))
            .ok_or_else(bad)?;
        let peer = *codec::get_all_xor(m, ATTR_XOR_PEER_ADDRESS)
            .first()
            .ok_or_else(bad)?;
        let until = now + self.config.channel_lifetime;
        let a = self.allocations.get_mut(&client).ok_or((437, Vec::new()))?;
        let fresh = a.bind_channel(number, peer, until).map_err(|()| bad())?;
        if fresh && let Some(relay) = a.relay {
            self.events.push_back(TurnServerEvent::ChannelBound {
                relay,
                channel: number,
                peer,
            });
        }
        let until = now + self.config.permission_lifetime;
        self.permit(client, peer.ip(), until);
        Ok(Vec::new())
    }

    fn on_send(&mut self, client: Client, addr: SocketAddr, m: &Message) {
        let peer = codec::get_all_xor(m, ATTR_XOR_PEER_ADDRESS)
            .first()
            .copied();
        let (Some(peer), Some(data)) = (peer, codec::get_raw(m, ATTR_DATA)) else {
            return self.ignore(addr, "Send indication without XOR-PEER-ADDRESS or DATA");
        };
        self.relay_out(client, addr, peer, data);
    }

    fn on_channel_data(&mut self, client: Client, addr: SocketAddr, channel: u16, data: &[u8]) {
        let peer = self
            .allocations
            .get(&client)
            .and_then(|a| a.channels.get(&channel))
            .map(|(peer, _)| *peer);
        let Some(peer) = peer else {
            return self.ignore(addr, "ChannelData on an unbound channel");
        };
        self.relay_out(client, addr, peer, data.to_vec());
    }

    /// Sends `data` from the client's relay to `peer`, if a permission allows it (expired
    /// permissions and channels are purged at their deadline, before any input).
    fn relay_out(&mut self, client: Client, addr: SocketAddr, peer: SocketAddr, data: Vec<u8>) {
        let relay = self
            .allocations
            .get(&client)
            .and_then(|a| a.relay.filter(|_| a.permissions.contains_key(&peer.ip())));
        let Some(relay) = relay else {
            return self.ignore(addr, "no allocation or no permission for the peer");
        };
        self.stats.to_peers += 1;
        self.transmits.push_back(Transmit::Datagram(Datagram {
            src: relay,
            dst: peer,
            payload: Bytes::from(data),
        }));
    }

    /// A datagram from a peer to a relay port.
    fn on_peer(&mut self, client: Client, peer: SocketAddr, data: &[u8]) {
        let Some(a) = self.allocations.get(&client) else {
            return;
        };
        if !a.permissions.contains_key(&peer.ip()) {
            self.stats.filtered += 1;
            return self.ignore(peer, "no permission for the peer");
        }
        let addr = a.client_addr;
        let channel = a.channel_of(peer);
        let bytes = match channel {
            Some(n) => framing::channel_data(n, data, client.transport() == TurnTransport::Tcp),
            None => {
                let typ = MessageType {
                    method: METHOD_DATA,
                    class: CLASS_INDICATION,
                };
                let id = codec::transaction_id(&mut self.rng);
                let attrs = [
                    Attr::Xor(ATTR_XOR_PEER_ADDRESS, peer),
                    Attr::Raw(ATTR_DATA, data.to_vec()),
                ];
                let Some(bytes) = codec::encode(typ, id, &attrs, None, false) else {
                    return;
                };
                bytes
            }
        };
        self.stats.to_clients += 1;
        self.deliver(client, addr, bytes);
    }

    fn delete(&mut self, client: Client, reason: DeleteReason) {
        let Some(a) = self.allocations.remove(&client) else {
            return;
        };
        self.by_bind.remove(&a.bind);
        if let Some(relay) = a.relay {
            self.by_relay_port.remove(&relay.port());
            self.transmits
                .push_back(Transmit::Unbind(Binding::udp(relay.port())));
        }
        self.events.push_back(TurnServerEvent::AllocationDeleted {
            relay: a.relay,
            reason,
        });
    }

    fn on_stream_data(&mut self, now: SimInstant, id: StreamId, data: &[u8]) {
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        conn.buf.push(data);
        let remote = conn.remote;
        loop {
            let Some(conn) = self.conns.get_mut(&id) else {
                return;
            };
            match conn.buf.next_frame() {
                Ok(None) => return,
                Ok(Some(Frame::Stun(bytes))) => {
                    self.on_client_bytes(now, Client::Tcp(id), remote, &bytes);
                }
                Ok(Some(Frame::ChannelData(n, payload))) => {
                    self.on_channel_data(Client::Tcp(id), remote, n, &payload);
                }
                Err(_) => {
                    self.ignore(remote, "neither STUN nor ChannelData on the stream");
                    self.transmits
                        .push_back(Transmit::Stream(StreamCommand::Abort { id }));
                    self.close(id);
                    return;
                }
            }
        }
    }

    fn close(&mut self, id: StreamId) {
        self.conns.remove(&id);
        self.delete(Client::Tcp(id), DeleteReason::ConnectionClosed);
    }

    fn expire(&mut self, now: SimInstant) {
        let expired: Vec<Client> = self
            .allocations
            .iter()
            .filter(|(_, a)| a.relay.is_some() && a.expires <= now)
            .map(|(c, _)| *c)
            .collect();
        for client in expired {
            self.delete(client, DeleteReason::Expired);
        }
        for a in self.allocations.values_mut() {
            let Some(relay) = a.relay else { continue };
            for peer in a.expire_permissions(now) {
                self.events
                    .push_back(TurnServerEvent::PermissionExpired { relay, peer });
            }
            for channel in a.expire_channels(now) {
                self.events
                    .push_back(TurnServerEvent::ChannelExpired { relay, channel });
            }
        }
    }
}

/// The LIFETIME attribute of a request (RFC 5766 §14.2).
fn lifetime(m: &Message) -> Option<Duration> {
    let v = codec::get_raw(m, ATTR_LIFETIME)?;
    let [a, b, c, d] = v[..] else { return None };
    Some(Duration::from_secs(u64::from(u32::from_be_bytes([
        a, b, c, d,
    ]))))
}

fn lifetime_attr(d: Duration) -> Attr {
    let secs = u32::try_from(d.as_secs()).unwrap_or(u32::MAX);
    Attr::Raw(ATTR_LIFETIME, secs.to_be_bytes().to_vec())
}

impl Node for TurnServer {
    type Event = TurnServerEvent;

    fn bindings(&self) -> Vec<Binding> {
        let port = self.config.listen.port();
        let mut b = vec![Binding::udp(port)];
        if self.config.tcp {
            b.push(Binding::tcp(port));
        }
        b
    }

    fn handle_start(&mut self, _now: SimInstant, addresses: Addresses) {
        if self.config.listen.ip().is_unspecified()
            && let Some(ip) = addresses.towards(self.config.listen.ip())
        {
            self.local_ip = ip;
        }
        // A (re)start loses every allocation and connection: their relay ports are gone.
        self.allocations.clear();
        self.by_relay_port.clear();
        self.by_bind.clear();
        self.conns.clear();
        self.transmits.clear();
    }

    fn handle_bound(&mut self, now: SimInstant, bound: Bound) {
        match bound.id {
            Some(id) => self.on_bound(now, id, bound.result.map_err(|e| e.to_string())),
            None => {
                if let Err(e) = bound.result {
                    self.events.push_back(TurnServerEvent::BindFailed {
                        port: bound.binding.port,
                        error: e.to_string(),
                    });
                }
            }
        }
    }

    fn handle_datagram(&mut self, now: SimInstant, d: Datagram) {
        self.expire(now);
        let port = d.dst.port();
        if port == self.config.listen.port() {
            return self.on_client_bytes(now, Client::Udp(d.src), d.src, &d.payload);
        }
        match self.by_relay_port.get(&port).copied() {
            Some(client) => self.on_peer(client, d.src, &d.payload),
            None => self.ignore(d.src, "datagram to an unknown port"),
        }
    }

    fn handle_stream(&mut self, now: SimInstant, event: StreamEvent) {
        self.expire(now);
        match event {
            StreamEvent::Accepted { id, remote, .. } => {
                let buf = StreamBuf::default();
                self.conns.insert(id, Conn { remote, buf });
            }
            StreamEvent::Data { id, data } => self.on_stream_data(now, id, &data),
            StreamEvent::Closed { id } => {
                self.transmits
                    .push_back(Transmit::Stream(StreamCommand::Close { id }));
                self.close(id);
            }
            StreamEvent::Failed { id, .. } => self.close(id),
            StreamEvent::Connected { .. } => {}
        }
    }

    fn handle_timeout(&mut self, now: SimInstant) {
        self.expire(now);
    }

    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    fn poll_event(&mut self) -> Option<TurnServerEvent> {
        self.events.pop_front()
    }

    fn poll_timeout(&self) -> Option<SimInstant> {
        self.allocations
            .values()
            .filter_map(Allocation::deadline)
            .min()
    }
}

#[cfg(test)]
mod interop;
#[cfg(test)]
mod tests;

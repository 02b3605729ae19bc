//! The relayed candidate: an RFC 5766 allocation through rtc-turn's sans-IO client, and the
//! relay path for checks and data sent from the relayed candidate.
//!
//! ```text
//!   Allocate ──401 (realm, nonce)──▶ Allocate + long-term credentials ──▶ relayed address
//!      │ error response ─▶ Failed(320126)     no response (rtc-turn's 7 transmissions) ─▶ Failed(370004)
//!   send to a peer: CreatePermission first (datagrams wait for it), then Send indications
//!   and a ChannelBind, then ChannelData (rtc-turn decides)
//! ```

use crate::clock::{from_std, to_std};
use crate::event::Status;
use bytes::{Bytes, BytesMut};
use rtc_ice::crypto::RTCCryptoProvider;
use rtc_shared::{TaggedBytesMut, TransportContext, TransportProtocol};
use rtc_turn::client::{Client, ClientConfig, Event};
use sansio::Protocol;
use sim_core::{Datagram, SimInstant};
use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

/// Datagrams kept per peer while its permission is being created.
const WAITING_PER_PEER: usize = 8;

/// One TURN allocation.
pub(crate) struct TurnRelay {
    pub(crate) server: SocketAddr,
    local: SocketAddr,
    client: Client,
    /// The relayed address, once allocated.
    pub(crate) relayed: Option<SocketAddr>,
    /// How gathering from this server ended, until reported.
    pub(crate) outcome: Option<Result<SocketAddr, (Status, String)>>,
    pub(crate) reported: bool,
    waiting: BTreeMap<SocketAddr, Vec<Bytes>>,
    /// Datagrams to send to the server.
    pub(crate) wire: Vec<Datagram>,
    /// Data relayed from peers: (peer, payload).
    pub(crate) relayed_in: Vec<(SocketAddr, Bytes)>,
    pub(crate) deadline: Option<SimInstant>,
}

impl fmt::Debug for TurnRelay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TurnRelay")
            .field("server", &self.server)
            .field("relayed", &self.relayed)
            .finish_non_exhaustive()
    }
}

fn context(local: SocketAddr, peer: SocketAddr) -> TransportContext {
    TransportContext {
        local_addr: local,
        peer_addr: peer,
        transport_protocol: TransportProtocol::UDP,
        ecn: None,
    }
}

impl TurnRelay {
    /// Starts an allocation on `server` from `local` at `now`.
    pub(crate) fn new(
        now: SimInstant,
        server: SocketAddr,
        local: SocketAddr,
        credentials: (&str, &str),
        rto_ms: u64,
        provider: Arc<dyn RTCCryptoProvider>,
    ) -> Result<Self, String> {
        let config = ClientConfig {
            turn_serv_addr: server.to_string(),
            local_addr: local,
            transport_protocol: TransportProtocol::UDP,
            username: credentials.0.to_owned(),
            password: credentials.1.to_owned(),
            rto_in_ms: rto_ms.max(1),
            ..ClientConfig::default()
        };
        let mut client = Client::new(config, provider).map_err(|e| e.to_string())?;
        client.allocate(to_std(now)).map_err(|e| e.to_string())?;
        let mut relay = Self {
            server,
            local,
            client,
            relayed: None,
            outcome: None,
            reported: false,
            waiting: BTreeMap::new(),
            wire: Vec::new(),
            relayed_in: Vec::new(),
            deadline: None,
        };
        relay.drain(now);
        Ok(relay)
    }

    /// A datagram from the TURN server.
    pub(crate) fn handle_read(&mut self, now: SimInstant, payload: &[u8]) {
        let msg = TaggedBytesMut {
            now: to_std(now),
            transport: context(self.local, self.server),
            message: BytesMut::from(payload),
        };
        let _ = self.client.handle_read(msg);
        self.drain(now);
    }

    /// The deadline passed.
    pub(crate) fn handle_timeout(&mut self, now: SimInstant) {
        let _ = self.client.handle_timeout(to_std(now));
        self.drain(now);
    }

    /// Sends `payload` from the relayed address to `peer`, creating the permission first.
    pub(crate) fn send_to(&mut self, now: SimInstant, peer: SocketAddr, payload: Bytes) {
        let Some(relayed) = self.relayed else {
            return;
        };
        let sent = self.client.relay(relayed).and_then(|mut r| {
            r.create_permission(to_std(now), peer)?;
            r.send_to(to_std(now), &payload, peer)
        });
        if sent.is_err() {
            let queue = self.waiting.entry(peer).or_default();
            if queue.len() < WAITING_PER_PEER {
                queue.push(payload);
            }
        }
        self.drain(now);
    }

    /// Releases the allocation (Refresh with LIFETIME 0) and stops answering.
    pub(crate) fn close(&mut self, now: SimInstant) {
        if let Some(relayed) = self.relayed.take()
            && let Ok(mut r) = self.client.relay(relayed)
        {
            let _ = r.close(to_std(now));
        }
        self.waiting.clear();
        self.drain(now);
        let _ = self.client.close();
    }

    fn drain(&mut self, now: SimInstant) {
        loop {
            while let Some(out) = self.client.poll_write() {
                self.wire.push(Datagram {
                    src: out.transport.local_addr,
                    dst: out.transport.peer_addr,
                    payload: out.message.freeze(),
                });
            }
            let Some(event) = self.client.poll_event() else {
                break;
            };
            self.on_event(now, event);
        }
        self.deadline = self.client.poll_timeout().map(from_std);
    }

    fn on_event(&mut self, now: SimInstant, event: Event) {
        match event {
            Event::AllocateResponse(_, relayed) if self.relayed.is_none() => {
                self.relayed = Some(relayed);
                self.outcome = Some(Ok(relayed));
            }
            Event::AllocateError(_, e) if self.relayed.is_none() => {
                let reason = format!("Allocate failed: {e}");
                self.outcome = Some(Err((Status::STUN_TRANSACTION_FAILED, reason)));
            }
            Event::TransactionTimeout(_) if self.relayed.is_none() && self.outcome.is_none() => {
                let reason = "no response to Allocate".to_owned();
                self.outcome = Some(Err((Status::STUN_TIMED_OUT, reason)));
            }
            Event::CreatePermissionResponse(_, peer) => {
                for payload in self.waiting.remove(&peer).unwrap_or_default() {
                    if let Some(relayed) = self.relayed
                        && let Ok(mut r) = self.client.relay(relayed)
                    {
                        let _ = r.send_to(to_std(now), &payload, peer);
                    }
                }
            }
            Event::DataIndicationOrChannelData(_, peer, data) => {
                self.relayed_in.push((peer, data.freeze()));
            }
            _ => {}
        }
    }
}

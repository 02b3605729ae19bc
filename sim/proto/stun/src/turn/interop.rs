//! rtc-turn's sans-IO TURN client (webrtc-rs 0.21) against our server: Allocate with the 401
//! challenge, CreatePermission, ChannelBind and relayed data both ways.

use super::*;
use crate::crypto::CRYPTO;
use bytes::BytesMut;
use rand_core::RngCore;
use rtc_shared::{TransportContext, TransportMessage, TransportProtocol};
use rtc_stun::crypto::{CryptoError, RTCCrypto, RTCCryptoProvider, RTCRandom};
use rtc_turn::client::{Client as TurnClient, ClientConfig, Event};
use sansio::Protocol;
use std::sync::{Arc, Mutex};
use std::time::Instant;

struct SeededRandom(Mutex<SimRng>);

impl RTCRandom for SeededRandom {
    fn fill(&self, output: &mut [u8]) -> Result<(), CryptoError> {
        self.0
            .lock()
            .map_err(|_| CryptoError::AuthenticationFailed)?
            .fill_bytes(output);
        Ok(())
    }
}

struct Provider(SeededRandom);

impl RTCCryptoProvider for Provider {
    fn name(&self) -> &'static str {
        "natlab-test"
    }
    fn crypto(&self) -> &dyn RTCCrypto {
        &CRYPTO
    }
    fn random(&self) -> &dyn RTCRandom {
        &self.0
    }
}

const SERVER: &str = "203.0.113.20:3478";
const LOCAL: &str = "198.51.100.1:5000";
const PEER: &str = "192.0.2.99:7000";

struct Pair {
    client: TurnClient,
    server: TurnServer,
    epoch: Instant,
    now: SimInstant,
    next_port: u16,
    to_peer: Vec<Datagram>,
    events: Vec<Event>,
}

impl Pair {
    fn instant(&self) -> Instant {
        self.epoch + self.now.since_start()
    }

    /// Moves messages both ways until both sides are quiet.
    fn settle(&mut self) {
        loop {
            let mut moved = false;
            while let Some(t) = self.client.poll_write() {
                moved = true;
                let d = Datagram {
                    src: LOCAL.parse().unwrap(),
                    dst: t.transport.peer_addr,
                    payload: Bytes::from(t.message.to_vec()),
                };
                self.server.handle_datagram(self.now, d);
            }
            while let Some(t) = self.server.poll_transmit() {
                moved = true;
                match t {
                    Transmit::Bind(b) => {
                        self.next_port += 1;
                        let addr = SocketAddr::new(
                            SERVER.parse::<SocketAddr>().unwrap().ip(),
                            self.next_port,
                        );
                        self.server.handle_bound(
                            self.now,
                            Bound {
                                id: Some(b.id),
                                binding: b.binding,
                                result: Ok(addr),
                            },
                        );
                    }
                    Transmit::Datagram(d) if d.dst == LOCAL.parse().unwrap() => {
                        let msg = TransportMessage {
                            now: self.instant(),
                            transport: TransportContext {
                                local_addr: d.dst,
                                peer_addr: d.src,
                                transport_protocol: TransportProtocol::UDP,
                                ecn: None,
                            },
                            message: BytesMut::from(&d.payload[..]),
                        };
                        self.client.handle_read(msg).unwrap();
                    }
                    Transmit::Datagram(d) => self.to_peer.push(d),
                    t => panic!("{t:?}"),
                }
            }
            while let Some(e) = self.client.poll_event() {
                self.events.push(e);
            }
            if !moved {
                return;
            }
        }
    }
}

#[test]
fn turn_interop_rtc_turn_client_allocates_binds_and_relays() {
    let mut lt = LongTerm::single("natlab.test", "alice", "pw");
    lt.nonce_lifetime = Duration::from_secs(3600);
    let mut server = TurnServer::new(
        TurnServerConfig::new(SERVER.parse().unwrap(), lt),
        Seed::new(1),
    );
    server.handle_start(SimInstant::ZERO, Addresses::default());
    let config = ClientConfig {
        stun_serv_addr: SERVER.into(),
        turn_serv_addr: SERVER.into(),
        local_addr: LOCAL.parse().unwrap(),
        transport_protocol: TransportProtocol::UDP,
        username: "alice".into(),
        password: "pw".into(),
        realm: "natlab.test".into(),
        software: "rtc-turn".into(),
        rto_in_ms: 100,
        allocation_refresh_interval_cap: None,
    };
    let provider = Arc::new(Provider(SeededRandom(Mutex::new(Seed::new(5).rng()))));
    // rtc-turn takes std `Instant`s: one epoch, and simulated offsets from it.
    #[allow(clippy::disallowed_methods)]
    let epoch = Instant::now();
    let mut p = Pair {
        client: TurnClient::new(config, provider).unwrap(),
        server,
        epoch,
        now: SimInstant::ZERO,
        next_port: 49151,
        to_peer: Vec::new(),
        events: Vec::new(),
    };
    let at = p.instant();
    p.client.allocate(at).unwrap();
    p.settle();
    let relay = p
        .events
        .iter()
        .find_map(|e| match e {
            Event::AllocateResponse(_, relay) => Some(*relay),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{:?}", p.events));
    assert_eq!(relay, "203.0.113.20:49152".parse().unwrap());
    assert_eq!(p.server.relays(), vec![relay]);

    let peer: SocketAddr = PEER.parse().unwrap();
    let at = p.instant();
    p.client
        .relay(relay)
        .unwrap()
        .create_permission(at, peer)
        .unwrap();
    p.settle();
    assert!(
        p.events
            .iter()
            .any(|e| matches!(e, Event::CreatePermissionResponse(_, a) if *a == peer)),
        "{:?}",
        p.events
    );

    // First send: a Send indication while the client binds a channel; later ones ChannelData.
    for (i, msg) in [&b"one"[..], b"two"].into_iter().enumerate() {
        p.now += Duration::from_millis(50);
        let at = p.instant();
        p.client
            .relay(relay)
            .unwrap()
            .send_to(at, msg, peer)
            .unwrap();
        p.settle();
        let d = p.to_peer.last().unwrap_or_else(|| panic!("send {i}"));
        assert_eq!((d.src, d.dst, &d.payload[..]), (relay, peer, msg));
    }
    assert_eq!(p.to_peer.len(), 2);
    let bound = std::iter::from_fn(|| p.server.poll_event())
        .filter(|e| matches!(e, TurnServerEvent::ChannelBound { .. }))
        .count();
    assert_eq!(bound, 1, "the client bound a channel");

    p.server.handle_datagram(
        p.now,
        Datagram {
            src: peer,
            dst: relay,
            payload: Bytes::from_static(b"back"),
        },
    );
    p.settle();
    let got = p.events.iter().find_map(|e| match e {
        Event::DataIndicationOrChannelData(ch, from, data) => {
            Some((ch.is_some(), *from, data.to_vec()))
        }
        _ => None,
    });
    assert_eq!(
        got,
        Some((true, peer, b"back".to_vec())),
        "ChannelData from the peer"
    );
}

use super::*;
use rtc_stun::attributes::{ATTR_NONCE, ATTR_REALM, ATTR_USERNAME};
use rtc_stun::message::TransactionId;
use sim_core::LogEvent;

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

const SERVER: &str = "203.0.113.20:3478";
const CLIENT: &str = "198.51.100.1:5000";
const PEER: &str = "192.0.2.99:7000";
const REALM: &str = "natlab.test";

fn key(user: &str) -> Vec<u8> {
    codec::long_term_key(user, REALM, "pw")
}

struct Fx {
    s: TurnServer,
    now: SimInstant,
    next_port: u16,
    nonce: String,
    tid: u8,
}

fn fx_with(config: impl FnOnce(&mut TurnServerConfig)) -> Fx {
    let mut lt = LongTerm::single(REALM, "alice", "pw");
    lt.users.insert("bob".into(), "pw".into());
    let mut c = TurnServerConfig::new(addr(SERVER), lt);
    config(&mut c);
    let mut s = TurnServer::new(c, Seed::new(1));
    s.handle_start(SimInstant::ZERO, Addresses::single(addr(SERVER).ip()));
    Fx {
        s,
        now: SimInstant::ZERO,
        next_port: 49152,
        nonce: String::new(),
        tid: 0,
    }
}

fn fx() -> Fx {
    fx_with(|_| {})
}

impl Fx {
    /// Drains the server, answering relay binds like a driver would.
    fn pump(&mut self) -> Vec<Transmit> {
        let mut out = Vec::new();
        while let Some(t) = self.s.poll_transmit() {
            match t {
                Transmit::Bind(b) => {
                    assert_eq!(b.binding, Binding::udp(0));
                    let port = self.next_port;
                    self.next_port += 1;
                    let result = Ok(SocketAddr::new(addr(SERVER).ip(), port));
                    self.s.handle_bound(
                        self.now,
                        Bound {
                            id: Some(b.id),
                            binding: b.binding,
                            result,
                        },
                    );
                }
                t => out.push(t),
            }
        }
        out
    }

    fn events(&mut self) -> Vec<TurnServerEvent> {
        std::iter::from_fn(|| self.s.poll_event()).collect()
    }

    fn udp(&mut self, src: &str, dst: &str, payload: Vec<u8>) -> Vec<Transmit> {
        let d = Datagram {
            src: addr(src),
            dst: addr(dst),
            payload: Bytes::from(payload),
        };
        self.s.handle_datagram(self.now, d);
        self.pump()
    }

    fn advance(&mut self, d: Duration) {
        let end = self.now + d;
        while let Some(t) = self.s.poll_timeout().filter(|t| *t <= end) {
            self.now = t;
            self.s.handle_timeout(t);
        }
        self.now = end;
    }

    /// A request from `user` with long-term credentials (or none when `user` is `None`).
    fn request(&mut self, method: Method, user: Option<&str>, mut attrs: Vec<Attr>) -> Vec<u8> {
        self.tid += 1;
        let typ = MessageType {
            method,
            class: CLASS_REQUEST,
        };
        let key = user.map(key);
        if let Some(user) = user {
            attrs.push(Attr::Text(ATTR_USERNAME, user.into()));
            attrs.push(Attr::Text(ATTR_REALM, REALM.into()));
            attrs.push(Attr::Text(ATTR_NONCE, self.nonce.clone()));
        }
        codec::encode(
            typ,
            TransactionId([self.tid; 12]),
            &attrs,
            key.as_deref(),
            true,
        )
        .unwrap()
    }

    /// Sends `bytes` from CLIENT and returns the one response.
    fn ask(&mut self, bytes: Vec<u8>) -> Message {
        let out = self.udp(CLIENT, SERVER, bytes);
        assert_eq!(out.len(), 1, "{out:?}");
        response(&out[0])
    }

    /// 401 challenge, then an authenticated Allocate: the relayed address.
    fn allocate(&mut self, user: &str) -> SocketAddr {
        let req = self.request(METHOD_ALLOCATE, None, vec![udp_transport()]);
        let m = self.ask(req);
        assert_eq!(codec::get_error(&m), Some(401));
        self.nonce = codec::get_text(&m, ATTR_NONCE).unwrap();
        let req = self.request(METHOD_ALLOCATE, Some(user), vec![udp_transport()]);
        let m = self.ask(req);
        assert_eq!(
            m.typ.class,
            CLASS_SUCCESS_RESPONSE,
            "{:?}",
            codec::get_error(&m)
        );
        assert!(codec::check_integrity(&m, &key(user)));
        codec::get_xor(&m, ATTR_XOR_RELAYED_ADDRESS).unwrap()
    }
}

fn udp_transport() -> Attr {
    Attr::Raw(ATTR_REQUESTED_TRANSPORT, vec![17, 0, 0, 0])
}

fn peer_attr(p: &str) -> Attr {
    Attr::Xor(ATTR_XOR_PEER_ADDRESS, addr(p))
}

fn datagram(t: &Transmit) -> &Datagram {
    match t {
        Transmit::Datagram(d) => d,
        t => panic!("not a datagram: {t:?}"),
    }
}

fn response(t: &Transmit) -> Message {
    let payload = match t {
        Transmit::Datagram(d) => d.payload.clone(),
        Transmit::Stream(StreamCommand::Send { data, .. }) => data.clone(),
        t => panic!("{t:?}"),
    };
    codec::decode(&payload).unwrap()
}

fn send_indication(peer: &str, data: &[u8]) -> Vec<u8> {
    let typ = MessageType {
        method: METHOD_SEND,
        class: CLASS_INDICATION,
    };
    let attrs = [peer_attr(peer), Attr::Raw(ATTR_DATA, data.to_vec())];
    codec::encode(typ, TransactionId([0xee; 12]), &attrs, None, true).unwrap()
}

#[test]
fn turn_allocate_challenge_then_relay_with_default_lifetime() {
    let mut f = fx();
    let relay = f.allocate("alice");
    assert_eq!(relay, addr("203.0.113.20:49152"));
    let ev = f.events();
    assert!(
        ev.iter()
            .any(|e| matches!(e, TurnServerEvent::Rejected { code: 401, .. }))
    );
    let created = ev
        .iter()
        .find(|e| matches!(e, TurnServerEvent::AllocationCreated { .. }))
        .unwrap();
    let log = LogEvent::from(created);
    assert_eq!(log.name, "turn-allocation-created");
    assert!(log.detail.unwrap().contains("lifetime 600s"));
    assert_eq!(
        f.s.poll_timeout(),
        Some(SimInstant::ZERO + Duration::from_secs(600))
    );
    assert_eq!(f.s.bindings(), vec![Binding::udp(3478), Binding::tcp(3478)]);
}

#[test]
fn turn_allocate_retransmission_repeats_the_answer_and_a_new_one_gets_437() {
    let mut f = fx();
    f.allocate("alice");
    let again = f.request(METHOD_ALLOCATE, Some("alice"), vec![udp_transport()]);
    // Same transaction id as the successful Allocate.
    f.tid -= 2;
    let retrans = f.request(METHOD_ALLOCATE, Some("alice"), vec![udp_transport()]);
    let m = f.ask(retrans);
    assert_eq!(m.typ.class, CLASS_SUCCESS_RESPONSE);
    let m = f.ask(again);
    assert_eq!(codec::get_error(&m), Some(437));
    assert_eq!(f.s.allocation_count(), 1);
}

#[test]
fn turn_stale_nonce_gets_438_and_missing_transport_400_tcp_transport_442() {
    let mut f = fx_with(|c| c.credentials.nonce_lifetime = Duration::from_secs(30));
    let req = f.request(METHOD_ALLOCATE, None, vec![]);
    f.nonce = codec::get_text(&f.ask(req), ATTR_NONCE).unwrap();
    let req = f.request(METHOD_ALLOCATE, Some("alice"), vec![]);
    assert_eq!(codec::get_error(&f.ask(req)), Some(400));
    let req = f.request(
        METHOD_ALLOCATE,
        Some("alice"),
        vec![Attr::Raw(ATTR_REQUESTED_TRANSPORT, vec![6, 0, 0, 0])],
    );
    assert_eq!(codec::get_error(&f.ask(req)), Some(442));
    f.advance(Duration::from_secs(31));
    let req = f.request(METHOD_ALLOCATE, Some("alice"), vec![udp_transport()]);
    let m = f.ask(req);
    assert_eq!(codec::get_error(&m), Some(438));
    assert!(codec::get_text(&m, ATTR_REALM).is_some());
    f.nonce = codec::get_text(&m, ATTR_NONCE).unwrap();
    let req = f.request(METHOD_ALLOCATE, Some("alice"), vec![udp_transport()]);
    assert_eq!(f.ask(req).typ.class, CLASS_SUCCESS_RESPONSE);
}

#[test]
fn turn_quota_486_capacity_508_and_policy_reject() {
    let mut f = fx();
    f.s.set_policy(
        f.now,
        TurnPolicy {
            user_quota: Some(1),
            capacity: Some(2),
            reject_allocate: None,
        },
    );
    f.allocate("alice");
    let alice2 = f.request(METHOD_ALLOCATE, Some("alice"), vec![udp_transport()]);
    let out = f.udp("198.51.100.1:5001", SERVER, alice2);
    assert_eq!(codec::get_error(&response(&out[0])), Some(486));
    let bob = f.request(METHOD_ALLOCATE, Some("bob"), vec![udp_transport()]);
    let out = f.udp("198.51.100.2:5000", SERVER, bob);
    assert_eq!(response(&out[0]).typ.class, CLASS_SUCCESS_RESPONSE);
    let bob2 = f.request(METHOD_ALLOCATE, Some("bob"), vec![udp_transport()]);
    f.s.set_policy(
        f.now,
        TurnPolicy {
            user_quota: None,
            capacity: Some(2),
            reject_allocate: None,
        },
    );
    let out = f.udp("198.51.100.2:5001", SERVER, bob2);
    assert_eq!(codec::get_error(&response(&out[0])), Some(508));
    f.s.set_policy(
        f.now,
        TurnPolicy {
            reject_allocate: Some(403),
            ..TurnPolicy::default()
        },
    );
    let req = f.request(METHOD_ALLOCATE, Some("bob"), vec![udp_transport()]);
    let out = f.udp("198.51.100.3:5000", SERVER, req);
    let m = response(&out[0]);
    assert_eq!(codec::get_error(&m), Some(403));
    assert!(
        codec::check_integrity(&m, &key("bob")),
        "errors to authenticated requests are signed"
    );
    let statuses: Vec<Option<u32>> = f
        .events()
        .iter()
        .filter(|e| matches!(e, TurnServerEvent::Rejected { .. }))
        .map(|e| LogEvent::from(e).status)
        .collect();
    assert_eq!(statuses, [Some(401), Some(486), Some(508), Some(403)]);
}

#[test]
fn turn_permission_send_and_data_indications_both_ways() {
    let mut f = fx();
    let relay = f.allocate("alice");
    // No permission yet: the Send indication is dropped, and so is the peer.
    assert!(
        f.udp(CLIENT, SERVER, send_indication(PEER, b"early"))
            .is_empty()
    );
    assert!(
        f.udp(PEER, &relay.to_string(), b"early".to_vec())
            .is_empty()
    );
    let req = f.request(
        METHOD_CREATE_PERMISSION,
        Some("alice"),
        vec![peer_attr(PEER), peer_attr("192.0.2.98:1")],
    );
    let m = f.ask(req);
    assert_eq!(
        m.typ,
        MessageType {
            method: METHOD_CREATE_PERMISSION,
            class: CLASS_SUCCESS_RESPONSE
        }
    );
    let out = f.udp(CLIENT, SERVER, send_indication(PEER, b"hello"));
    let d = datagram(&out[0]);
    assert_eq!(
        (d.src, d.dst, &d.payload[..]),
        (relay, addr(PEER), &b"hello"[..])
    );
    // The permission is per IP: another port of the peer may answer.
    let out = f.udp("192.0.2.99:7001", &relay.to_string(), b"reply".to_vec());
    let d = datagram(&out[0]);
    assert_eq!((d.src, d.dst), (addr(SERVER), addr(CLIENT)));
    let m = codec::decode(&d.payload).unwrap();
    assert_eq!(
        m.typ,
        MessageType {
            method: METHOD_DATA,
            class: CLASS_INDICATION
        }
    );
    assert_eq!(
        codec::get_all_xor(&m, ATTR_XOR_PEER_ADDRESS),
        vec![addr("192.0.2.99:7001")]
    );
    assert_eq!(codec::get_raw(&m, ATTR_DATA).unwrap(), b"reply");
    // A stranger is filtered.
    assert!(
        f.udp("192.0.2.50:7000", &relay.to_string(), b"x".to_vec())
            .is_empty()
    );
    assert_eq!(
        f.s.stats(),
        TurnStats {
            to_peers: 1,
            to_clients: 1,
            filtered: 2
        }
    );
    let created = f
        .events()
        .iter()
        .filter(|e| matches!(e, TurnServerEvent::PermissionCreated { .. }))
        .count();
    assert_eq!(created, 2);
}

#[test]
fn turn_channel_bind_and_channel_data_both_ways() {
    let mut f = fx();
    let relay = f.allocate("alice");
    let bind = |f: &mut Fx, n: u16, peer: &str| {
        let req = f.request(
            METHOD_CHANNEL_BIND,
            Some("alice"),
            vec![
                Attr::Raw(ATTR_CHANNEL_NUMBER, [n.to_be_bytes(), [0, 0]].concat()),
                peer_attr(peer),
            ],
        );
        f.ask(req)
    };
    assert_eq!(codec::get_error(&bind(&mut f, 0x3fff, PEER)), Some(400));
    assert_eq!(bind(&mut f, 0x4000, PEER).typ.class, CLASS_SUCCESS_RESPONSE);
    assert_eq!(
        codec::get_error(&bind(&mut f, 0x4001, PEER)),
        Some(400),
        "peer on another channel"
    );
    assert_eq!(
        codec::get_error(&bind(&mut f, 0x4000, "192.0.2.98:1")),
        Some(400),
        "channel taken"
    );
    assert_eq!(
        bind(&mut f, 0x4000, PEER).typ.class,
        CLASS_SUCCESS_RESPONSE,
        "refresh"
    );
    let out = f.udp(
        CLIENT,
        SERVER,
        framing::channel_data(0x4000, b"ping", false),
    );
    let d = datagram(&out[0]);
    assert_eq!(
        (d.src, d.dst, &d.payload[..]),
        (relay, addr(PEER), &b"ping"[..])
    );
    let out = f.udp(PEER, &relay.to_string(), b"pong".to_vec());
    let d = datagram(&out[0]);
    assert_eq!(
        framing::parse_channel_data(&d.payload),
        Some((0x4000, &b"pong"[..]))
    );
    assert!(
        f.udp(CLIENT, SERVER, framing::channel_data(0x4005, b"x", false))
            .is_empty()
    );
    let bound = f
        .events()
        .iter()
        .filter(|e| matches!(e, TurnServerEvent::ChannelBound { .. }))
        .count();
    assert_eq!(bound, 1);
}

#[test]
fn turn_permission_300s_channel_600s_allocation_600s_lifetimes() {
    let mut f = fx();
    let relay = f.allocate("alice");
    let req = f.request(
        METHOD_CREATE_PERMISSION,
        Some("alice"),
        vec![peer_attr(PEER)],
    );
    f.ask(req);
    f.advance(Duration::from_secs(299));
    assert_eq!(f.udp(PEER, &relay.to_string(), b"x".to_vec()).len(), 1);
    f.advance(Duration::from_secs(1));
    assert!(
        f.udp(PEER, &relay.to_string(), b"x".to_vec()).is_empty(),
        "expired at 300 s"
    );
    assert!(
        f.events()
            .iter()
            .any(|e| matches!(e, TurnServerEvent::PermissionExpired { .. }))
    );
    // t = 300: a channel; t = 500: a refresh (the allocation now ends at 1100).
    let req = f.request(
        METHOD_CHANNEL_BIND,
        Some("alice"),
        vec![
            Attr::Raw(ATTR_CHANNEL_NUMBER, vec![0x40, 0, 0, 0]),
            peer_attr(PEER),
        ],
    );
    f.ask(req);
    f.advance(Duration::from_secs(200));
    let req = f.request(METHOD_REFRESH, Some("alice"), vec![]);
    let m = f.ask(req);
    assert_eq!(lifetime(&m), Some(Duration::from_secs(600)));
    f.advance(Duration::from_secs(399));
    assert!(
        !f.events()
            .iter()
            .any(|e| matches!(e, TurnServerEvent::ChannelExpired { .. }))
    );
    f.advance(Duration::from_secs(1));
    assert!(
        f.events().iter().any(|e| matches!(
            e,
            TurnServerEvent::ChannelExpired {
                channel: 0x4000,
                ..
            }
        )),
        "600 s after the bind"
    );
    assert_eq!(f.s.allocation_count(), 1);
    f.advance(Duration::from_secs(199));
    assert_eq!(f.s.allocation_count(), 1);
    f.advance(Duration::from_secs(1));
    assert_eq!(f.s.allocation_count(), 0, "600 s after the refresh");
    let deleted = f.events();
    assert!(
        matches!(
            deleted[..],
            [
                ..,
                TurnServerEvent::AllocationDeleted {
                    reason: DeleteReason::Expired,
                    ..
                }
            ]
        ),
        "{deleted:?}"
    );
    assert_eq!(f.pump(), vec![Transmit::Unbind(Binding::udp(relay.port()))]);
}

#[test]
fn turn_refresh_zero_deletes_and_unbinds_other_user_gets_441_and_no_allocation_437() {
    let mut f = fx();
    let relay = f.allocate("alice");
    let req = f.request(METHOD_REFRESH, Some("bob"), vec![]);
    assert_eq!(codec::get_error(&f.ask(req)), Some(441));
    let req = f.request(
        METHOD_REFRESH,
        Some("alice"),
        vec![Attr::Raw(ATTR_LIFETIME, vec![0, 0, 0, 0])],
    );
    let out = f.udp(CLIENT, SERVER, req);
    assert!(
        out.contains(&Transmit::Unbind(Binding::udp(relay.port()))),
        "{out:?}"
    );
    let m = out.iter().find_map(|t| match t {
        Transmit::Datagram(d) => codec::decode(&d.payload),
        _ => None,
    });
    assert_eq!(lifetime(&m.unwrap()), Some(Duration::ZERO));
    let req = f.request(
        METHOD_CREATE_PERMISSION,
        Some("alice"),
        vec![peer_attr(PEER)],
    );
    assert_eq!(codec::get_error(&f.ask(req)), Some(437));
    // Lifetimes are clamped: 10 s asks get the default, 10 h the maximum.
    let mut f = fx();
    f.allocate("alice");
    let req = f.request(
        METHOD_REFRESH,
        Some("alice"),
        vec![Attr::Raw(ATTR_LIFETIME, 36000u32.to_be_bytes().to_vec())],
    );
    assert_eq!(lifetime(&f.ask(req)), Some(Duration::from_secs(3600)));
}

#[test]
fn turn_over_tcp_frames_stun_and_padded_channel_data() {
    let mut f = fx();
    let id = StreamId(StreamId::ACCEPTED | 1);
    let remote = addr(CLIENT);
    f.s.handle_stream(
        f.now,
        StreamEvent::Accepted {
            id,
            local: addr(SERVER),
            remote,
        },
    );
    let sends = |out: Vec<Transmit>| -> Vec<Bytes> {
        out.into_iter()
            .map(|t| match t {
                Transmit::Stream(StreamCommand::Send { id: i, data }) if i == id => data,
                t => panic!("{t:?}"),
            })
            .collect()
    };
    let req = f.request(METHOD_ALLOCATE, None, vec![udp_transport()]);
    // Delivered in two pieces, with the first byte of the next message attached.
    let (a, b) = req.split_at(7);
    f.s.handle_stream(
        f.now,
        StreamEvent::Data {
            id,
            data: Bytes::copy_from_slice(a),
        },
    );
    assert!(f.pump().is_empty());
    f.s.handle_stream(
        f.now,
        StreamEvent::Data {
            id,
            data: Bytes::copy_from_slice(b),
        },
    );
    let out = sends(f.pump());
    let m = codec::decode(&out[0]).unwrap();
    assert_eq!(codec::get_error(&m), Some(401));
    f.nonce = codec::get_text(&m, ATTR_NONCE).unwrap();
    let req = f.request(METHOD_ALLOCATE, Some("alice"), vec![udp_transport()]);
    let perm = f.request(
        METHOD_CHANNEL_BIND,
        Some("alice"),
        vec![
            Attr::Raw(ATTR_CHANNEL_NUMBER, vec![0x40, 1, 0, 0]),
            peer_attr(PEER),
        ],
    );
    f.s.handle_stream(
        f.now,
        StreamEvent::Data {
            id,
            data: Bytes::from(req),
        },
    );
    let out = sends(f.pump());
    let relay = codec::get_xor(&codec::decode(&out[0]).unwrap(), ATTR_XOR_RELAYED_ADDRESS).unwrap();
    f.s.handle_stream(
        f.now,
        StreamEvent::Data {
            id,
            data: Bytes::from(perm),
        },
    );
    let out = sends(f.pump());
    assert_eq!(
        codec::decode(&out[0]).unwrap().typ.class,
        CLASS_SUCCESS_RESPONSE
    );
    // ChannelData from the client: padded on the stream.
    let cd = framing::channel_data(0x4001, b"abcde", true);
    assert_eq!(cd.len(), 12);
    f.s.handle_stream(
        f.now,
        StreamEvent::Data {
            id,
            data: Bytes::from(cd),
        },
    );
    let out = f.pump();
    assert_eq!(datagram(&out[0]).payload, Bytes::from_static(b"abcde"));
    let out = sends(f.udp(PEER, &relay.to_string(), b"xyz".to_vec()));
    assert_eq!(
        &out[0][..],
        &[0x40, 0x01, 0x00, 0x03, b'x', b'y', b'z', 0][..],
        "padded to 4"
    );
    // The allocation dies with the connection.
    f.s.handle_stream(f.now, StreamEvent::Closed { id });
    let out = f.pump();
    assert!(out.contains(&Transmit::Unbind(Binding::udp(relay.port()))));
    assert!(out.contains(&Transmit::Stream(StreamCommand::Close { id })));
    assert_eq!(f.s.allocation_count(), 0);
}

#[test]
fn turn_tcp_garbage_aborts_the_connection() {
    let mut f = fx();
    let id = StreamId(StreamId::ACCEPTED | 2);
    f.s.handle_stream(
        f.now,
        StreamEvent::Accepted {
            id,
            local: addr(SERVER),
            remote: addr(CLIENT),
        },
    );
    f.s.handle_stream(
        f.now,
        StreamEvent::Data {
            id,
            data: Bytes::from_static(&[0xff; 16]),
        },
    );
    assert_eq!(
        f.pump(),
        vec![Transmit::Stream(StreamCommand::Abort { id })]
    );
}

#[test]
fn turn_binding_is_answered_without_credentials_and_garbage_never_panics() {
    let mut f = fx();
    let req = f.request(METHOD_BINDING, None, vec![]);
    let m = f.ask(req.clone());
    assert_eq!(
        codec::get_xor(&m, ATTR_XORMAPPED_ADDRESS),
        Some(addr(CLIENT))
    );
    let alloc = f.request(METHOD_ALLOCATE, Some("alice"), vec![udp_transport()]);
    for msg in [req, alloc, framing::channel_data(0x4000, b"data", true)] {
        for n in 0..msg.len() {
            f.udp(CLIENT, SERVER, msg[..n].to_vec());
        }
        for i in 0..msg.len() {
            let mut b = msg.clone();
            b[i] ^= 0x5a;
            f.udp(CLIENT, SERVER, b);
        }
    }
    f.udp(PEER, "203.0.113.20:1", b"nothing here".to_vec());
}

#[test]
fn turn_restart_loses_every_allocation() {
    let mut f = fx();
    let relay = f.allocate("alice");
    f.s.handle_start(f.now, Addresses::single(addr(SERVER).ip()));
    assert_eq!(f.s.allocation_count(), 0);
    assert!(f.udp(PEER, &relay.to_string(), b"x".to_vec()).is_empty());
    let req = f.request(METHOD_REFRESH, Some("alice"), vec![]);
    assert_eq!(codec::get_error(&f.ask(req)), Some(437));
}

#[test]
fn turn_relay_bind_failure_answers_508() {
    let mut f = fx();
    let req = f.request(METHOD_ALLOCATE, None, vec![udp_transport()]);
    f.nonce = codec::get_text(&f.ask(req), ATTR_NONCE).unwrap();
    let req = f.request(METHOD_ALLOCATE, Some("alice"), vec![udp_transport()]);
    f.s.handle_datagram(
        f.now,
        Datagram {
            src: addr(CLIENT),
            dst: addr(SERVER),
            payload: Bytes::from(req),
        },
    );
    let Some(Transmit::Bind(b)) = f.s.poll_transmit() else {
        panic!("a relay bind")
    };
    let result = Err(sim_core::BindError::NoFreePort);
    f.s.handle_bound(
        f.now,
        Bound {
            id: Some(b.id),
            binding: b.binding,
            result,
        },
    );
    let out = f.pump();
    let m = response(&out[0]);
    assert_eq!(codec::get_error(&m), Some(508));
    assert!(codec::check_integrity(&m, &key("alice")));
    assert_eq!(f.s.allocation_count(), 0);
    let ev = f.events();
    assert!(ev.iter().any(|e| matches!(
        e,
        TurnServerEvent::AllocationDeleted {
            reason: DeleteReason::BindFailed,
            ..
        }
    )));
    assert!(ev.iter().all(|e| !e.is_traffic()));
}

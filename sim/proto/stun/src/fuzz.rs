//! Arbitrary and mutated bytes into every core: no input panics.

use crate::codec::{self, Attr, Change};
use crate::{
    LongTerm, NatDetector, NatDetectorConfig, StunServer, StunServerConfig, TurnServer,
    TurnServerConfig,
};
use bytes::Bytes;
use proptest::prelude::*;
use rtc_stun::attributes::{
    ATTR_CHANNEL_NUMBER, ATTR_LIFETIME, ATTR_REQUESTED_TRANSPORT, ATTR_XOR_PEER_ADDRESS,
};
use rtc_stun::message::{
    BINDING_REQUEST, BINDING_SUCCESS, CLASS_REQUEST, METHOD_ALLOCATE, METHOD_CHANNEL_BIND,
    MessageType, TransactionId,
};
use sim_core::{
    Addresses, Binding, Bound, Datagram, Node, Seed, SimInstant, StreamEvent, StreamId,
};
use std::net::SocketAddr;

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// Valid messages of every kind the cores parse, to mutate.
fn seeds() -> Vec<Vec<u8>> {
    let id = TransactionId([3; 12]);
    let peer = Attr::Xor(ATTR_XOR_PEER_ADDRESS, addr("192.0.2.1:9"));
    let alloc = MessageType {
        method: METHOD_ALLOCATE,
        class: CLASS_REQUEST,
    };
    let bind = MessageType {
        method: METHOD_CHANNEL_BIND,
        class: CLASS_REQUEST,
    };
    vec![
        codec::encode(
            BINDING_REQUEST,
            id,
            &[codec::change_request(Change::BOTH)],
            Some(b"k"),
            true,
        )
        .unwrap(),
        codec::encode(
            BINDING_SUCCESS,
            id,
            &[Attr::Xor(
                rtc_stun::attributes::ATTR_XORMAPPED_ADDRESS,
                addr("192.0.2.2:1"),
            )],
            None,
            true,
        )
        .unwrap(),
        codec::encode(
            alloc,
            id,
            &[
                Attr::Raw(ATTR_REQUESTED_TRANSPORT, vec![17, 0, 0, 0]),
                Attr::Raw(ATTR_LIFETIME, vec![0, 0, 1, 0]),
            ],
            Some(b"k"),
            true,
        )
        .unwrap(),
        codec::encode(
            bind,
            id,
            &[Attr::Raw(ATTR_CHANNEL_NUMBER, vec![0x40, 0, 0, 0]), peer],
            None,
            false,
        )
        .unwrap(),
        vec![0x40, 0x00, 0x00, 0x03, 1, 2, 3, 0],
    ]
}

fn feed_all(payload: &[u8]) {
    let now = SimInstant::ZERO;
    let d = |dst: &str| Datagram {
        src: addr("198.51.100.1:5000"),
        dst: addr(dst),
        payload: Bytes::copy_from_slice(payload),
    };
    let mut stun = StunServer::new(
        StunServerConfig::new(addr("203.0.113.10:3478")),
        Seed::new(1),
    );
    stun.handle_datagram(now, d("203.0.113.10:3478"));
    while stun.poll_transmit().is_some() {}

    let mut det = NatDetector::new(
        NatDetectorConfig::new(addr("203.0.113.10:3478")),
        Seed::new(1),
    );
    det.handle_bound(
        now,
        Bound {
            id: None,
            binding: Binding::udp(0),
            result: Ok(addr("198.51.100.1:5000")),
        },
    );
    det.handle_start(now, Addresses::default());
    det.handle_datagram(now, d("198.51.100.1:5000"));

    let mut turn = TurnServer::new(
        TurnServerConfig::new(addr("203.0.113.20:3478"), LongTerm::single("r", "u", "p")),
        Seed::new(1),
    );
    turn.handle_datagram(now, d("203.0.113.20:3478"));
    let id = StreamId(StreamId::ACCEPTED | 1);
    turn.handle_stream(
        now,
        StreamEvent::Accepted {
            id,
            local: addr("203.0.113.20:3478"),
            remote: addr("198.51.100.1:5000"),
        },
    );
    turn.handle_stream(
        now,
        StreamEvent::Data {
            id,
            data: Bytes::copy_from_slice(payload),
        },
    );
    while turn.poll_transmit().is_some() {}
}

proptest! {
    #[test]
    fn fuzz_arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        feed_all(&bytes);
    }

    #[test]
    fn fuzz_mutated_messages_never_panic(which in 0usize..5, flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8), cut in any::<usize>()) {
        let mut m = seeds()[which].clone();
        for (i, x) in flips {
            let n = m.len();
            m[i % n] ^= x;
        }
        let keep = cut % (m.len() + 1);
        feed_all(&m[..keep]);
        feed_all(&m);
    }
}

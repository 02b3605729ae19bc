//! Bad input never panics and is counted.

use super::connected_pair;
use super::harness::{Link, Pair, at};
use crate::{Tunnel, TunnelConfig};
use proptest::prelude::*;
use sim_core::{Seed, SimInstant};
use std::time::Duration;

#[test]
fn tunnel_garbage_and_foreign_packets_are_counted_not_delivered() {
    let mut p = connected_pair(TunnelConfig::default());
    let now = p.now;
    // STUN-looking, ChannelData-looking, empty, unknown type, short data packet.
    for bytes in [
        &[0x00, 0x01, 0x00, 0x00][..],
        &[0x40, 0x00, 0x00, 0x04, 1, 2, 3, 4][..],
        &[][..],
        &[0xCE, 0, 0][..],
        &[0xC3, 0, 0, 0, 1][..],
    ] {
        p.a.handle_packet(now, bytes);
    }
    assert_eq!(p.a.stats().malformed, 5);
    // A well-formed keep-alive for another connection id.
    p.a.handle_packet(now, &[0xC5, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(p.a.stats().stray, 1);
    assert!(p.a.poll_event().is_none());
    p.drain();
    p.run_until(at(5));
    assert!(p.connected());
}

fn states() -> Vec<Tunnel> {
    let config = TunnelConfig::default();
    let mut v = vec![
        Tunnel::connect(SimInstant::ZERO, config.clone(), Seed::new(1)).unwrap(),
        Tunnel::accept(SimInstant::ZERO, config.clone(), Seed::new(2)).unwrap(),
    ];
    let p = connected_pair(config);
    v.push(p.a);
    v.push(p.b);
    v
}

fn tunnel_byte() -> impl Strategy<Value = Vec<u8>> {
    (0xC0u8..=0xC6, proptest::collection::vec(any::<u8>(), 0..64)).prop_map(|(t, mut rest)| {
        rest.insert(0, t);
        rest
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn tunnel_arbitrary_bytes_never_panic(
        packets in proptest::collection::vec(
            prop_oneof![proptest::collection::vec(any::<u8>(), 0..80), tunnel_byte()],
            1..20,
        )
    ) {
        for mut t in states() {
            let mut now = SimInstant::from_micros(100_000);
            let before = t.stats().packets_received;
            for bytes in &packets {
                t.handle_packet(now, bytes);
                now += Duration::from_millis(10);
                t.handle_timeout(now);
                while t.poll_packet().is_some() {}
                while t.poll_event().is_some() {}
            }
            prop_assert_eq!(t.stats().packets_received - before, packets.len() as u64);
        }
    }

    #[test]
    fn tunnel_mutated_real_packets_never_panic(flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8)) {
        // Capture a real exchange, corrupt copies of it, and replay them into a connected pair.
        let mut p = Pair::new(TunnelConfig::default(), Link::clean(Duration::from_millis(5)), 3);
        p.run_while(at(1), Pair::connected);
        let id = p.a.open_stream(p.now).unwrap();
        p.a.write(p.now, id, b"some stream bytes").unwrap();
        let mut captured = Vec::new();
        while let Some(b) = p.a.poll_packet() {
            captured.push(b.to_vec());
        }
        for mut bytes in captured {
            for &(i, x) in &flips {
                if !bytes.is_empty() {
                    let n = bytes.len();
                    bytes[i % n] ^= x;
                }
            }
            p.b.handle_packet(p.now, &bytes);
            p.drain();
        }
        p.run_until(at(3));
    }
}

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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Whatever the link does (loss, duplication, reordering), every byte arrives once and in
    /// order, in both directions.
    #[test]
    fn tunnel_any_lossy_link_delivers_streams_intact(
        seed in any::<u64>(),
        loss in 0.0f64..0.3,
        duplicate in 0.0f64..0.2,
        jitter_ms in 0u64..40,
        up_len in 0usize..150_000,
        down_len in 0usize..20_000,
        chunk in 1usize..5000,
    ) {
        use super::{Side, random_bytes, received};
        use crate::{StreamError, TunnelEvent};
        let link = Link {
            delay: Duration::from_millis(15),
            jitter: Duration::from_millis(jitter_ms),
            loss,
            duplicate,
        };
        let mut p = Pair::new(TunnelConfig::default(), link, seed);
        prop_assert!(p.run_while(at(30), Pair::connected));
        let up = random_bytes(up_len, seed ^ 1);
        let down = random_bytes(down_len, seed ^ 2);
        let id = p.a.open_stream(p.now).unwrap();
        p.drain();
        let opened = |p: &Pair| {
            !p.find(Side::B, |e| matches!(e, TunnelEvent::StreamOpened { .. })).is_empty()
        };
        prop_assert!(p.run_while(at(300), opened));
        p.b.write(p.now, id, &down).unwrap();
        let mut offset = 0;
        while offset < up.len() {
            let end = (offset + chunk).min(up.len());
            match p.a.write(p.now, id, &up[offset..end]) {
                Ok(()) => offset = end,
                Err(StreamError::BufferFull { .. }) => {
                    prop_assert!(p.step(at(3000)));
                }
                Err(e) => return Err(TestCaseError::fail(e.to_string())),
            }
            p.drain();
        }
        let done = |p: &Pair| {
            p.b.stats().stream_bytes_delivered == up.len() as u64
                && p.a.stats().stream_bytes_delivered == down.len() as u64
        };
        prop_assert!(p.run_while(at(3000), done), "not delivered by {}", p.now);
        prop_assert_eq!(received(&p, Side::B, id), up);
        prop_assert_eq!(received(&p, Side::A, id), down);
        prop_assert_eq!(p.a.stats().protocol_violations + p.b.stats().protocol_violations, 0);
    }
}

//! Two tunnels against each other over the harness link.

mod harness;
mod robustness;

use crate::{
    HandshakeStage, IdleActivity, StreamError, StreamId, Tunnel, TunnelConfig, TunnelEvent, sha256,
};
use harness::{Link, Pair, Side, at, at_ms};
use rand_core::RngCore;
use sim_core::{Seed, SimInstant};
use std::time::Duration;

const D20: Duration = Duration::from_millis(20);

fn connected_pair(config: TunnelConfig) -> Pair {
    let mut p = Pair::new(config, Link::clean(D20), 1);
    assert!(p.run_while(at(1), Pair::connected));
    p
}

fn is_connected(e: &TunnelEvent) -> bool {
    matches!(e, TunnelEvent::Connected { .. })
}

#[test]
fn tunnel_handshake_clean_link_connects_both_with_the_round_trip() {
    let p = connected_pair(TunnelConfig::default());
    // Hello 0 → 20 ms, Challenge → 40 ms, Hello(cookie) → 60 ms (callee connected),
    // HelloAck → 80 ms (caller connected).
    let rtt = Duration::from_millis(40);
    assert_eq!(
        p.events_a,
        vec![(at_ms(80), TunnelEvent::Connected { rtt })]
    );
    assert_eq!(
        p.events_b,
        vec![(at_ms(60), TunnelEvent::Connected { rtt })]
    );
    assert_eq!(p.a.stats().handshakes_sent, 2);
    assert_eq!(p.b.stats().handshakes_sent, 2);
    assert_eq!(p.a.srtt(), Some(rtt));
}

#[test]
fn tunnel_handshake_under_heavy_loss_connects_and_still_measures_one_round_trip() {
    let link = Link {
        loss: 0.4,
        ..Link::clean(D20)
    };
    let mut retried = 0;
    for seed in 0..20 {
        let mut p = Pair::new(TunnelConfig::default(), link, seed);
        assert!(p.run_while(at(30), Pair::connected), "seed {seed}");
        if p.a.stats().handshakes_sent > 2 {
            retried += 1;
        }
        // Timestamp echo (plus the time the caller held the challenge): retransmissions do
        // not inflate the measured round trip.
        for side in [Side::A, Side::B] {
            let got = p.find(side, is_connected);
            assert_eq!(
                got[0].1,
                TunnelEvent::Connected {
                    rtt: Duration::from_millis(40)
                },
                "seed {seed} {side:?}"
            );
        }
    }
    assert!(retried >= 10, "only {retried} runs needed a retransmission");
}

#[test]
fn tunnel_connecting_peer_never_answers_fails_at_exactly_the_connect_timeout() {
    let mut p = Pair::new(TunnelConfig::default(), Link::clean(D20), 1);
    p.b_mute = true;
    p.run_until(at(60));
    // Hello at 0, 0.25, …, 29.75 s: 120 packets; the timeout wins at 30 s.
    assert_eq!(
        p.events_a,
        vec![(
            at(30),
            TunnelEvent::ConnectFailed {
                after: Duration::from_secs(30),
                stage: HandshakeStage::Induction,
                attempts: 120
            }
        )]
    );
    assert_eq!(p.a.stats().handshakes_sent, 120);
    assert!(p.a.is_ended());
    assert_eq!(p.a.poll_timeout(), None);
    // The callee answered every Hello with a Challenge, none arrived; it gives up at 30 s too.
    assert_eq!(
        p.events_b,
        vec![(
            at(30),
            TunnelEvent::ConnectFailed {
                after: Duration::from_secs(30),
                stage: HandshakeStage::Listening,
                attempts: 120
            }
        )]
    );
}

#[test]
fn tunnel_connecting_partition_after_the_challenge_fails_in_conclusion() {
    let config = TunnelConfig {
        connect_timeout: Duration::from_secs(5),
        ..TunnelConfig::default()
    };
    let mut p = Pair::new(config, Link::clean(D20), 1);
    // The first Hello and its Challenge pass; everything sent from 30 ms on is lost.
    p.partition = Some((at_ms(30), at(1000)));
    p.run_until(at(10));
    assert_eq!(
        p.find(Side::A, |_| true),
        vec![(
            at(5),
            TunnelEvent::ConnectFailed {
                after: Duration::from_secs(5),
                stage: HandshakeStage::Conclusion,
                // Hello at 0, Hello(cookie) at 40 ms, then every 250 ms until 4.79 s.
                attempts: 21
            }
        )]
    );
}

/// Writes `data` on `id` from A as fast as the send buffer allows, B echoing nothing.
fn push_all(p: &mut Pair, id: StreamId, data: &[u8], chunk: usize, until: SimInstant) {
    let mut offset = 0;
    while offset < data.len() {
        let end = (offset + chunk).min(data.len());
        match p.a.write(p.now, id, &data[offset..end]) {
            Ok(()) => offset = end,
            Err(StreamError::BufferFull { .. }) => {
                let before = p.find(Side::A, |e| *e == TunnelEvent::Writable).len();
                let woke = p.run_while(until, |p| {
                    p.find(Side::A, |e| *e == TunnelEvent::Writable).len() > before
                });
                assert!(woke, "no Writable by {until}");
            }
            Err(e) => panic!("write failed: {e}"),
        }
        p.drain();
    }
}

fn received(p: &Pair, side: Side, id: StreamId) -> Vec<u8> {
    p.find(
        side,
        |e| matches!(e, TunnelEvent::StreamData { id: i, .. } if *i == id),
    )
    .into_iter()
    .flat_map(|(_, e)| match e {
        TunnelEvent::StreamData { data, .. } => data.to_vec(),
        _ => Vec::new(),
    })
    .collect()
}

fn random_bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut rng = Seed::new(seed).rng();
    let mut v = vec![0; n];
    rng.fill_bytes(&mut v);
    v
}

#[test]
fn tunnel_one_megabyte_crosses_ten_percent_loss_with_reordering_intact() {
    let link = Link {
        delay: D20,
        jitter: Duration::from_millis(15),
        loss: 0.10,
        duplicate: 0.05,
    };
    let mut p = Pair::new(TunnelConfig::default(), link, 7);
    assert!(p.run_while(at(30), Pair::connected));
    let up = random_bytes(1 << 20, 1);
    let down = random_bytes(100_000, 2);
    let id = p.a.open_stream(p.now).unwrap();
    assert_eq!(id, StreamId(1));
    p.drain();
    assert!(p.run_while(at(30), |p| {
        !p.find(Side::B, |e| matches!(e, TunnelEvent::StreamOpened { .. }))
            .is_empty()
    }));
    // The callee answers on the same stream while the caller pushes its megabyte.
    p.b.write(p.now, id, &down).unwrap();
    push_all(&mut p, id, &up, 16 * 1024, at(600));
    p.a.close_stream(p.now, id).unwrap();
    p.drain();
    assert!(p.run_while(at(600), |p| {
        !p.find(Side::B, |e| matches!(e, TunnelEvent::StreamFinished { .. }))
            .is_empty()
    }));
    p.b.close_stream(p.now, id).unwrap();
    p.drain();
    assert!(p.run_while(at(600), |p| {
        !p.find(Side::A, |e| matches!(e, TunnelEvent::StreamClosed { .. }))
            .is_empty()
    }));

    assert_eq!(sha256(&received(&p, Side::B, id)), sha256(&up));
    assert_eq!(sha256(&received(&p, Side::A, id)), sha256(&down));
    let closed = |side| match p.find(side, |e| matches!(e, TunnelEvent::StreamClosed { .. }))[..] {
        [(_, TunnelEvent::StreamClosed { ref stats, .. })] => stats.clone(),
        ref other => panic!("{other:?}"),
    };
    let (sa, sb) = (closed(Side::A), closed(Side::B));
    assert_eq!(sa.sent_sha256, sha256(&up));
    assert_eq!(sb.received_sha256, sha256(&up));
    assert_eq!(sb.sent_sha256, sa.received_sha256);
    assert_eq!((sa.sent_bytes, sb.received_bytes), (1 << 20, 1 << 20));
    let (a, b) = (p.a.stats(), p.b.stats());
    // About 10 % of ~900 data packets lost, each sent again; a few spurious retransmissions
    // under the reordering; the link's duplicates absorbed.
    assert!((90..300).contains(&a.packets_retransmitted), "{a:?}");
    assert!(
        a.spurious_retransmits < a.packets_retransmitted / 2,
        "{a:?}"
    );
    assert!(b.duplicates > 20, "{b:?}");
    assert_eq!((a.malformed, b.malformed, a.protocol_violations), (0, 0, 0));
    assert!(p.now < at(10), "took {}", p.now);
}

#[test]
fn tunnel_writes_beyond_the_send_buffer_are_refused_whole_then_writable() {
    let config = TunnelConfig {
        send_buffer: 4096,
        ..TunnelConfig::default()
    };
    let mut p = connected_pair(config);
    let id = p.a.open_stream(p.now).unwrap();
    assert_eq!(
        p.a.write(p.now, id, &[0; 5000]),
        Err(StreamError::BufferFull {
            requested: 5000,
            available: 4096
        })
    );
    p.a.write(p.now, id, &[1; 4096]).unwrap();
    assert_eq!(
        p.a.write(p.now, id, &[2]),
        Err(StreamError::BufferFull {
            requested: 1,
            available: 0
        })
    );
    p.drain();
    assert!(p.run_while(at(5), |p| {
        !p.find(Side::A, |e| *e == TunnelEvent::Writable).is_empty()
    }));
    // Room came back with the first acknowledgement (one packet's worth), all of it once
    // everything is acknowledged.
    assert!(p.a.send_capacity() > 0 && p.a.send_capacity() < 4096);
    p.run_until(at(5));
    assert_eq!(p.a.send_capacity(), 4096);
    assert!(p.a.is_flushed());
    assert_eq!(received(&p, Side::B, id), vec![1; 4096]);
    assert_eq!(
        p.a.write(p.now, StreamId(99), b"x"),
        Err(StreamError::UnknownStream(StreamId(99)))
    );
}

/// The keep-alive check under a partition starting at `start`: returns the firing instants of
/// A and B and the last arrival at each.
fn ka_timeout_under_partition(start: SimInstant) -> [(SimInstant, SimInstant); 2] {
    let mut p = connected_pair(TunnelConfig::default());
    p.partition = Some((start, at(100_000)));
    p.run_until(at(1000));
    let mut out = [(SimInstant::ZERO, SimInstant::ZERO); 2];
    for (i, side) in [Side::A, Side::B].into_iter().enumerate() {
        let fired = p.find(side, |e| matches!(e, TunnelEvent::KeepAliveTimeout { .. }));
        let last = p.last_arrival[i].unwrap();
        assert_eq!(
            fired,
            vec![(
                fired[0].0,
                TunnelEvent::KeepAliveTimeout {
                    last_received: last
                }
            )]
        );
        let t = Duration::from_secs(180);
        assert!(
            fired[0].0 >= last + t && fired[0].0 < last + 2 * t,
            "{side:?} fired at {} after last packet at {last}",
            fired[0].0
        );
        out[i] = (fired[0].0, last);
    }
    assert!(p.a.is_ended() && p.b.is_ended());
    out
}

#[test]
fn tunnel_open_partition_fires_keepalive_timeout_between_t_and_2t() {
    // Checks run every 180 s from the connection (caller 80 ms, callee 60 ms).
    // Partition at 200 s: the 360 s check still saw packets, the 540 s check fires.
    let [(a, a_last), (b, _)] = ka_timeout_under_partition(at(200));
    assert_eq!(a, at_ms(540_080));
    assert_eq!(b, at_ms(540_060));
    assert!(a - a_last > Duration::from_secs(340));
    // Partition at 179 s: the 180 s check saw packets, the 360 s check fires, just over T.
    let [(a, a_last), (b, _)] = ka_timeout_under_partition(at(179));
    assert_eq!(a, at_ms(360_080));
    assert_eq!(b, at_ms(360_060));
    assert_eq!(a - a_last, Duration::from_secs(182));
}

#[test]
fn tunnel_idle_but_connected_keepalives_hold_it_for_an_hour() {
    let mut p = connected_pair(TunnelConfig::default());
    p.run_until(at(3600));
    assert!(p.connected());
    assert_eq!(p.events_a.len(), 1);
    assert_eq!(p.events_b.len(), 1);
    for t in [&p.a, &p.b] {
        let ka = t.stats().keepalives_sent;
        assert!((3595..=3600).contains(&ka), "{ka} keep-alives");
    }
    // Without keep-alives from B, A's keep-alive check would fire: mute B and see it.
    p.b_mute = true;
    p.run_until(at(4000));
    assert_eq!(
        p.find(Side::A, |e| matches!(
            e,
            TunnelEvent::KeepAliveTimeout { .. }
        ))
        .len(),
        1
    );
}

fn idle_config(activity: IdleActivity) -> TunnelConfig {
    TunnelConfig {
        idle_timeout: Some(Duration::from_secs(60)),
        idle_activity: activity,
        ..TunnelConfig::default()
    }
}

fn idle_fired(p: &Pair, side: Side) -> Vec<SimInstant> {
    p.find(side, |e| matches!(e, TunnelEvent::IdleTimeout { .. }))
        .into_iter()
        .map(|(t, _)| t)
        .collect()
}

#[test]
fn tunnel_idle_no_data_fires_idle_timeout_one_period_after_connecting() {
    let mut p = connected_pair(idle_config(IdleActivity::SentOrReceived));
    p.run_until(at(300));
    assert_eq!(idle_fired(&p, Side::A), vec![at_ms(60_080)]);
    assert_eq!(idle_fired(&p, Side::B), vec![at_ms(60_060)]);
    // Keep-alives flowed all along: no keep-alive timeout.
    assert!(
        p.find(Side::A, |e| matches!(
            e,
            TunnelEvent::KeepAliveTimeout { .. }
        ))
        .is_empty()
    );
    assert!(p.a.is_ended() && p.b.is_ended());
}

#[test]
fn tunnel_idle_data_rearms_the_check_per_activity_scope() {
    for (activity, a_fires) in [
        (IdleActivity::SentOrReceived, at_ms(120_080)),
        // The caller only writes: with received-only activity its own writes do not count.
        (IdleActivity::Received, at_ms(60_080)),
    ] {
        let mut p = connected_pair(idle_config(activity));
        p.run_until(at(30));
        let id = p.a.open_stream(p.now).unwrap();
        p.a.write(p.now, id, b"ping").unwrap();
        p.drain();
        p.run_until(at(300));
        assert_eq!(idle_fired(&p, Side::A), vec![a_fires], "{activity:?}");
        // The callee received the bytes at 30.02 s: its 60.06 s check saw them.
        assert_eq!(
            idle_fired(&p, Side::B),
            vec![at_ms(120_060)],
            "{activity:?}"
        );
    }
}

fn run_close(closer: Side) -> Pair {
    let mut p = connected_pair(TunnelConfig::default());
    let id = p.a.open_stream(p.now).unwrap();
    let data = random_bytes(10_000, 3);
    p.a.write(p.now, id, &data).unwrap();
    match closer {
        Side::A => p.a.close(p.now),
        Side::B => p.b.close(p.now),
    }
    p.drain();
    p.run_until(at(10));
    assert_eq!(received(&p, Side::B, id), data);
    p
}

#[test]
fn tunnel_close_by_caller_is_seen_by_callee_after_all_data() {
    let p = run_close(Side::A);
    let last = p.events_b.last().unwrap();
    assert_eq!(
        last.1,
        TunnelEvent::Closed {
            by_peer: true,
            acknowledged: true
        }
    );
    // Every data event came before the close.
    assert!(matches!(
        p.events_b[p.events_b.len() - 2].1,
        TunnelEvent::StreamData { .. }
    ));
    assert_eq!(
        p.events_a.last().unwrap().1,
        TunnelEvent::Closed {
            by_peer: false,
            acknowledged: true
        }
    );
    assert!(p.a.is_ended() && p.b.is_ended());
    assert_eq!(p.a.poll_timeout(), None);
}

#[test]
fn tunnel_close_by_callee_is_seen_by_caller() {
    let mut p = run_close(Side::B);
    assert_eq!(
        p.events_a.last().unwrap().1,
        TunnelEvent::Closed {
            by_peer: true,
            acknowledged: true
        }
    );
    assert_eq!(
        p.events_b.last().unwrap().1,
        TunnelEvent::Closed {
            by_peer: false,
            acknowledged: true
        }
    );
    let now = p.now;
    assert_eq!(p.a.open_stream(now), Err(StreamError::NotConnected));
}

#[test]
fn tunnel_close_unanswered_reports_unacknowledged_after_the_close_timeout() {
    let mut p = connected_pair(TunnelConfig::default());
    p.partition = Some((p.now, at(1000)));
    let closed_at = p.now;
    p.a.close(closed_at);
    p.drain();
    p.run_until(at(20));
    assert_eq!(
        p.events_a.last().unwrap(),
        &(
            closed_at + Duration::from_secs(5),
            TunnelEvent::Closed {
                by_peer: false,
                acknowledged: false
            }
        )
    );
}

#[test]
fn tunnel_streams_from_both_sides_have_their_own_ids_and_matching_digests() {
    let mut p = connected_pair(TunnelConfig::default());
    let a1 = p.a.open_stream(p.now).unwrap();
    let a3 = p.a.open_stream(p.now).unwrap();
    let b2 = p.b.open_stream(p.now).unwrap();
    assert_eq!((a1, a3, b2), (StreamId(1), StreamId(3), StreamId(2)));
    p.a.write(p.now, a1, b"one").unwrap();
    p.a.write(p.now, a3, b"three").unwrap();
    p.b.write(p.now, b2, b"two").unwrap();
    for id in [a1, a3] {
        p.a.close_stream(p.now, id).unwrap();
        assert_eq!(p.a.close_stream(p.now, id), Err(StreamError::Finished(id)));
    }
    p.b.close_stream(p.now, b2).unwrap();
    p.drain();
    p.run_until(at(2));
    assert_eq!(received(&p, Side::B, a3), b"three");
    assert_eq!(received(&p, Side::A, b2), b"two");
    assert_eq!(
        p.find(Side::B, |e| matches!(e, TunnelEvent::StreamOpened { .. }))
            .len(),
        2
    );
    // The callee finishes the caller's streams; both sides see them closed with equal digests.
    for id in [a1, a3] {
        p.b.close_stream(p.now, id).unwrap();
    }
    p.a.close_stream(p.now, b2).unwrap();
    p.drain();
    p.run_until(at(4));
    let stats = |side, id| {
        p.find(
            side,
            |e| matches!(e, TunnelEvent::StreamClosed { id: i, .. } if *i == id),
        )
        .into_iter()
        .find_map(|(_, e)| match e {
            TunnelEvent::StreamClosed { stats, .. } => Some(stats),
            _ => None,
        })
        .unwrap()
    };
    for id in [a1, a3, b2] {
        let (sa, sb) = (stats(Side::A, id), stats(Side::B, id));
        assert_eq!(sa.sent_sha256, sb.received_sha256);
        assert_eq!(sa.received_sha256, sb.sent_sha256);
    }
    assert_eq!(stats(Side::A, a3).sent_sha256, sha256(b"three"));
    assert!(p.a.streams().is_empty() && p.b.streams().is_empty());
}

#[test]
fn tunnel_same_seed_replays_the_same_run() {
    let run = || {
        let link = Link {
            delay: D20,
            jitter: Duration::from_millis(10),
            loss: 0.2,
            duplicate: 0.1,
        };
        let mut p = Pair::new(TunnelConfig::default(), link, 11);
        p.run_while(at(30), Pair::connected);
        let id = p.a.open_stream(p.now).unwrap();
        p.a.write(p.now, id, &random_bytes(50_000, 4)).unwrap();
        p.drain();
        p.run_until(at(60));
        (
            p.events_a,
            p.events_b,
            p.a.stats().clone(),
            p.b.stats().clone(),
        )
    };
    assert_eq!(run(), run());
}

#[test]
fn tunnel_config_out_of_range_is_refused() {
    for config in [
        TunnelConfig {
            ka_timeout: Duration::from_secs(181),
            ..TunnelConfig::default()
        },
        TunnelConfig {
            idle_timeout: Some(Duration::ZERO),
            ..TunnelConfig::default()
        },
        TunnelConfig {
            max_payload: 10,
            ..TunnelConfig::default()
        },
        TunnelConfig {
            recv_window: 0,
            ..TunnelConfig::default()
        },
    ] {
        assert!(Tunnel::connect(SimInstant::ZERO, config, Seed::new(1)).is_err());
    }
}

//! CPU cost of one simulated hour of an idle, connected tunnel pair exchanging keep-alives
//! (one per second each way, the default), with the handshake.
//!
//! ```text
//! cargo bench -p sim-tunnel --bench idle_hour
//! ```
//!
//! Prints the wall time per simulated hour (best of five runs) and the packets moved. The
//! tunnels are driven directly (no ICE, no world): time jumps to the next deadline or delivery.

#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::disallowed_methods,
    reason = "a benchmark measures wall time and prints its result"
)]

use bytes::Bytes;
use sim_core::{Seed, SimInstant};
use sim_tunnel::{Tunnel, TunnelConfig, TunnelEvent};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

const HOUR: Duration = Duration::from_secs(3600);
const DELAY: Duration = Duration::from_millis(20);

/// Runs the hour; returns (packets delivered, events).
fn run() -> (u64, u64) {
    let now = SimInstant::ZERO;
    let config = TunnelConfig::default();
    let mut t = [
        Tunnel::connect(now, config.clone(), Seed::new(1)).unwrap(),
        Tunnel::accept(now, config, Seed::new(2)).unwrap(),
    ];
    // Each direction is FIFO with a constant delay, so a queue per direction suffices.
    let mut wire: [VecDeque<(SimInstant, Bytes)>; 2] = [VecDeque::new(), VecDeque::new()];
    let (mut packets, mut events) = (0, 0);
    let end = SimInstant::ZERO + HOUR;
    let mut now = now;
    loop {
        for (i, tunnel) in t.iter_mut().enumerate() {
            while let Some(p) = tunnel.poll_packet() {
                wire[1 - i].push_back((now + DELAY, p));
            }
            while let Some(e) = tunnel.poll_event() {
                assert!(!matches!(e, TunnelEvent::KeepAliveTimeout { .. }));
                events += 1;
            }
        }
        let next = [
            wire[0].front().map(|(t, _)| *t),
            wire[1].front().map(|(t, _)| *t),
            t[0].poll_timeout(),
            t[1].poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min();
        let Some(next) = next.filter(|n| *n <= end) else {
            break;
        };
        now = next;
        for i in 0..2 {
            while wire[i].front().is_some_and(|(at, _)| *at <= now) {
                let (_, p) = wire[i].pop_front().unwrap();
                t[i].handle_packet(now, &p);
                packets += 1;
            }
            if t[i].poll_timeout().is_some_and(|d| d <= now) {
                t[i].handle_timeout(now);
            }
        }
    }
    assert!(t[0].is_connected() && t[1].is_connected());
    (packets, events)
}

fn main() {
    let mut best = Duration::MAX;
    let mut moved = (0, 0);
    for _ in 0..5 {
        let start = Instant::now();
        moved = run();
        best = best.min(start.elapsed());
    }
    let speedup = HOUR.as_secs_f64() / best.as_secs_f64();
    println!(
        "idle tunnel pair, 1 simulated hour: {} µs CPU (best of 5), {} packets, {} events, {:.0}× real time",
        best.as_micros(),
        moved.0,
        moved.1,
        speedup
    );
}

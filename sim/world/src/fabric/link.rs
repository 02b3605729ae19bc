//! Access links: what happens to a packet between an attachment and its network.
//!
//! Each link has two directions (up: from the attachment onto the network; down: from the
//! network into the attachment), each with its own random stream, loss state and FIFO clock.
//! The order of random draws per packet is fixed (loss, then delay, then duplication) and is
//! part of the replay contract.

use rand_core::RngCore;
use sim_core::{Seed, SimInstant, SimRng};
use std::time::Duration;

/// Per-packet loss.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum LossConfig {
    /// No loss.
    #[default]
    None,
    /// Independent loss with this probability.
    Bernoulli(f64),
    /// Two-state bursty loss. Per packet, the state moves first, then the packet is lost with
    /// the new state's probability.
    GilbertElliott {
        /// Good → bad transition probability (`p`).
        to_bad: f64,
        /// Bad → good transition probability (`r`).
        to_good: f64,
        /// Loss probability in the bad state.
        loss_bad: f64,
        /// Loss probability in the good state.
        loss_good: f64,
    },
}

/// A link's settings.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkConfig {
    /// One-way delay per traversal.
    pub latency: Duration,
    /// Uniform extra delay in `[0, jitter]`; FIFO order is kept.
    pub jitter: Duration,
    /// Loss model.
    pub loss: LossConfig,
    /// Probability that a packet is delivered twice.
    pub duplicate: f64,
    /// With `probability`, a packet is held `delay` longer and later packets overtake it.
    pub reorder: Option<(f64, Duration)>,
    /// Largest IP packet carried unfragmented.
    pub mtu: u16,
}

impl Default for LinkConfig {
    fn default() -> Self {
        Self {
            latency: Duration::ZERO,
            jitter: Duration::ZERO,
            loss: LossConfig::None,
            duplicate: 0.0,
            reorder: None,
            mtu: 1500,
        }
    }
}

/// Direction of travel over an access link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dir {
    /// From the attachment onto its network.
    Up,
    /// From the network into the attachment.
    Down,
}

/// A loss burst injected by a fault: until `until`, packets are lost with `loss`.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Burst {
    until: SimInstant,
    loss: f64,
}

#[derive(Debug)]
struct Direction {
    rng: SimRng,
    bad: bool,
    last_arrival: SimInstant,
}

impl Direction {
    fn new(seed: Seed) -> Self {
        Self {
            rng: seed.rng(),
            bad: false,
            last_arrival: SimInstant::ZERO,
        }
    }

    /// A uniform draw in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && (p >= 1.0 || self.unit() < p)
    }
}

/// How a packet fared on one direction of a link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Delay {
    /// When it reaches the far end.
    pub(crate) arrival: SimInstant,
    /// A second copy's arrival, if duplicated.
    pub(crate) duplicate: Option<SimInstant>,
}

/// One access link.
#[derive(Debug)]
pub(crate) struct Link {
    config: LinkConfig,
    up: Direction,
    down: Direction,
    burst: Option<Burst>,
}

impl Link {
    pub(crate) fn new(config: LinkConfig, seed: Seed) -> Self {
        Self {
            config,
            up: Direction::new(seed.derive("up")),
            down: Direction::new(seed.derive("down")),
            burst: None,
        }
    }

    pub(crate) fn config(&self) -> &LinkConfig {
        &self.config
    }

    /// Replaces the settings from now on (random streams and FIFO clocks carry on).
    pub(crate) fn set_config(&mut self, config: LinkConfig) {
        self.config = config;
    }

    /// Loses packets with probability `loss` until `until`, on top of the loss model.
    pub(crate) fn start_burst(&mut self, until: SimInstant, loss: f64) {
        self.burst = Some(Burst { until, loss });
    }

    fn dir(&mut self, dir: Dir) -> &mut Direction {
        match dir {
            Dir::Up => &mut self.up,
            Dir::Down => &mut self.down,
        }
    }

    /// Whether the loss model (and any running burst) loses one of `fragments` packets now.
    /// Every fragment takes its own draw; losing any loses the datagram.
    pub(crate) fn lost(&mut self, now: SimInstant, dir: Dir, fragments: usize) -> bool {
        let loss = self.config.loss.clone();
        let burst = self.burst.filter(|b| now < b.until).map_or(0.0, |b| b.loss);
        let d = self.dir(dir);
        let mut lost = false;
        for _ in 0..fragments.max(1) {
            let model = match loss {
                LossConfig::None => false,
                LossConfig::Bernoulli(p) => d.chance(p),
                LossConfig::GilbertElliott {
                    to_bad,
                    to_good,
                    loss_bad,
                    loss_good,
                } => {
                    d.bad = if d.bad {
                        !d.chance(to_good)
                    } else {
                        d.chance(to_bad)
                    };
                    d.chance(if d.bad { loss_bad } else { loss_good })
                }
            };
            lost |= model | d.chance(burst);
        }
        lost
    }

    /// When a packet entering this direction at `now` comes out, and whether it is duplicated.
    pub(crate) fn delay(&mut self, now: SimInstant, dir: Dir) -> Delay {
        let LinkConfig {
            latency,
            jitter,
            reorder,
            duplicate,
            ..
        } = self.config.clone();
        let d = self.dir(dir);
        let arrival = transit(d, now, latency, jitter, reorder);
        let duplicate = d
            .chance(duplicate)
            .then(|| transit(d, now, latency, jitter, None));
        Delay { arrival, duplicate }
    }
}

fn transit(
    d: &mut Direction,
    now: SimInstant,
    latency: Duration,
    jitter: Duration,
    reorder: Option<(f64, Duration)>,
) -> SimInstant {
    let jitter = if jitter.is_zero() {
        Duration::ZERO
    } else {
        jitter.mul_f64(d.unit())
    };
    let natural = now + latency + jitter;
    if let Some((p, hold)) = reorder
        && d.chance(p)
    {
        // Held back: exempt from FIFO, so the packets behind it overtake it.
        return natural + hold;
    }
    let arrival = natural.max(d.last_arrival);
    d.last_arrival = arrival;
    arrival
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(config: LinkConfig) -> Link {
        Link::new(config, Seed::new(1))
    }

    fn ms(n: u64) -> SimInstant {
        SimInstant::from_micros(n * 1000)
    }

    #[test]
    fn link_default_is_instant_and_lossless() {
        let mut l = link(LinkConfig::default());
        assert!(!l.lost(ms(0), Dir::Up, 1));
        assert_eq!(
            l.delay(ms(5), Dir::Up),
            Delay {
                arrival: ms(5),
                duplicate: None
            }
        );
    }

    #[test]
    fn link_jitter_stays_in_bounds_and_keeps_fifo() {
        let mut l = link(LinkConfig {
            latency: Duration::from_millis(10),
            jitter: Duration::from_millis(20),
            ..LinkConfig::default()
        });
        let mut last = SimInstant::ZERO;
        for i in 0..1000 {
            let arrival = l.delay(ms(i), Dir::Up).arrival;
            assert!(arrival >= ms(i + 10), "too early");
            assert!(arrival >= last, "overtook an earlier packet");
            last = arrival;
        }
    }

    #[test]
    fn link_bernoulli_loss_rate_is_close_to_p() {
        let mut l = link(LinkConfig {
            loss: LossConfig::Bernoulli(0.1),
            ..LinkConfig::default()
        });
        let lost = (0..20_000).filter(|_| l.lost(ms(0), Dir::Up, 1)).count();
        assert!(
            (1_700..2_300).contains(&lost),
            "lost {lost} of 20000 at p = 0.1"
        );
    }

    #[test]
    fn link_gilbert_elliott_loses_in_bursts() {
        let ge = LossConfig::GilbertElliott {
            to_bad: 0.01,
            to_good: 0.2,
            loss_bad: 1.0,
            loss_good: 0.0,
        };
        let mut l = link(LinkConfig {
            loss: ge,
            ..LinkConfig::default()
        });
        let outcomes: Vec<bool> = (0..50_000).map(|_| l.lost(ms(0), Dir::Down, 1)).collect();
        let lost = outcomes.iter().filter(|&&x| x).count();
        let runs = outcomes.windows(2).filter(|w| w[1] && !w[0]).count().max(1);
        // Stationary loss p / (p + r) ≈ 4.8 %, mean burst 1 / r = 5 packets.
        assert!((1_800..3_100).contains(&lost), "lost {lost}");
        let mean_burst = lost as f64 / runs as f64;
        assert!((3.5..7.0).contains(&mean_burst), "mean burst {mean_burst}");
    }

    #[test]
    fn link_burst_loses_everything_until_it_ends() {
        let mut l = link(LinkConfig::default());
        l.start_burst(ms(100), 1.0);
        assert!(l.lost(ms(50), Dir::Up, 1));
        assert!(l.lost(ms(99), Dir::Down, 1));
        assert!(!l.lost(ms(100), Dir::Up, 1));
    }

    #[test]
    fn link_reorder_lets_later_packets_overtake() {
        let mut l = link(LinkConfig {
            latency: Duration::from_millis(5),
            reorder: Some((0.5, Duration::from_millis(50))),
            ..LinkConfig::default()
        });
        let arrivals: Vec<SimInstant> = (0..100).map(|i| l.delay(ms(i), Dir::Up).arrival).collect();
        let inversions = arrivals.windows(2).filter(|w| w[1] < w[0]).count();
        assert!(inversions > 10, "only {inversions} inversions");
    }

    #[test]
    fn link_duplicates_at_the_configured_rate() {
        let mut l = link(LinkConfig {
            duplicate: 0.25,
            ..LinkConfig::default()
        });
        let dups = (0..10_000)
            .filter(|&i| l.delay(ms(i), Dir::Up).duplicate.is_some())
            .count();
        assert!((2_200..2_800).contains(&dups), "{dups} duplicates");
    }

    #[test]
    fn link_replays_with_the_same_seed() {
        let config = LinkConfig {
            loss: LossConfig::Bernoulli(0.3),
            jitter: Duration::from_millis(7),
            ..LinkConfig::default()
        };
        let run = || {
            let mut l = link(config.clone());
            (0..200)
                .map(|i| (l.lost(ms(i), Dir::Up, 1), l.delay(ms(i), Dir::Up)))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(), run());
    }
}

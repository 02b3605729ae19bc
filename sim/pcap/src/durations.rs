//! Durations (milliseconds) summarised as count, median, 95th percentile and maximum in bounded
//! memory: the values themselves while there are at most 1,048,576 (`EXACT_MAX`), then a logarithmic
//! histogram whose buckets are 0.01 % wide, so a percentile of a huge capture is within 0.005 % of
//! the exact one. The maximum is always exact.

/// Values kept exactly (4 MiB).
pub(crate) const EXACT_MAX: usize = 1 << 20;
/// Smallest distinguished duration: 1 µs. Smaller ones count as 1 µs.
const MIN_MS: f64 = 1e-3;
/// Relative width of a histogram bucket.
const WIDTH: f64 = 1e-4;
/// Buckets up to 10^8 ms (more than a day); longer durations fall into the last one.
const BUCKETS: usize = 253_298;

/// A summary of durations.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Durations {
    exact: Vec<f32>,
    histogram: Vec<u32>,
    count: u64,
    max: f64,
}

impl Durations {
    /// Adds one duration in milliseconds.
    pub(crate) fn push(&mut self, ms: f64) {
        self.count += 1;
        // The maximum as the exact values hold it.
        self.max = self.max.max(f64::from(ms as f32));
        if self.histogram.is_empty() {
            if self.exact.len() < EXACT_MAX {
                self.exact.push(ms as f32);
                return;
            }
            self.histogram = vec![0; BUCKETS];
            for v in std::mem::take(&mut self.exact) {
                self.bucket_add(f64::from(v));
            }
        }
        self.bucket_add(ms);
    }

    fn bucket_add(&mut self, ms: f64) {
        let i = bucket(ms);
        if let Some(c) = self.histogram.get_mut(i) {
            *c = c.saturating_add(1);
        }
    }

    /// How many durations.
    pub(crate) const fn count(&self) -> u64 {
        self.count
    }

    /// Whether percentiles are approximate (the histogram is in use).
    #[cfg(test)]
    pub(crate) const fn approximate(&self) -> bool {
        !self.histogram.is_empty()
    }

    /// Median and 95th percentile (nearest rank), and the maximum, rounded to microseconds;
    /// `None` when empty.
    pub(crate) fn summary(&self) -> Option<(f64, f64, f64)> {
        if self.count == 0 {
            return None;
        }
        let rank = |p: f64| ((p * self.count as f64).ceil() as u64).clamp(1, self.count) - 1;
        let (median, p95) = if self.histogram.is_empty() {
            let mut v = self.exact.clone();
            v.sort_by(f32::total_cmp);
            let at = |r: u64| {
                v.get(usize::try_from(r).unwrap_or(usize::MAX))
                    .map_or(0.0, |x| f64::from(*x))
            };
            (at(rank(0.5)), at(rank(0.95)))
        } else {
            (self.nth(rank(0.5)), self.nth(rank(0.95)))
        };
        let us = |ms: f64| (ms * 1e3).round() / 1e3;
        Some((
            us(median.min(self.max)),
            us(p95.min(self.max)),
            us(self.max),
        ))
    }

    /// The `r`-th smallest duration (from 0), as its bucket's middle value.
    fn nth(&self, r: u64) -> f64 {
        let mut seen = 0u64;
        for (i, &c) in self.histogram.iter().enumerate() {
            seen += u64::from(c);
            if seen > r {
                return MIN_MS * (1.0 + WIDTH).powf(i as f64 + 0.5);
            }
        }
        self.max
    }
}

/// The histogram bucket of a duration.
fn bucket(ms: f64) -> usize {
    if ms.is_nan() || ms <= MIN_MS {
        return 0;
    }
    let i = ((ms / MIN_MS).ln() / WIDTH.ln_1p()).floor();
    (i as usize).min(BUCKETS - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_small_sets_are_exact() {
        let mut d = Durations::default();
        for v in [5.0, 1.0, 3.0, 2.0, 4.0] {
            d.push(v);
        }
        assert_eq!(d.summary(), Some((3.0, 5.0, 5.0)));
        assert!(!d.approximate());
        assert_eq!(Durations::default().summary(), None);
    }

    #[test]
    fn durations_past_the_exact_limit_stay_within_the_bucket_width() {
        let mut d = Durations::default();
        let n = EXACT_MAX as u64 + 50_000;
        // A spread from 1 ms to about 20 s, in a scrambled order.
        let value = |i: u64| 1.0 + ((i * 7_919) % n) as f64 * 20_000.0 / n as f64;
        for i in 0..n {
            d.push(value(i));
        }
        assert!(d.approximate());
        assert_eq!(d.count(), n);
        let mut exact: Vec<f64> = (0..n).map(value).collect();
        exact.sort_by(f64::total_cmp);
        let rank = |p: f64| exact[((p * n as f64).ceil() as usize).clamp(1, exact.len()) - 1];
        let (median, p95, max) = d.summary().unwrap();
        assert!(
            (median / rank(0.5) - 1.0).abs() < 1e-4,
            "{median} vs {}",
            rank(0.5)
        );
        assert!(
            (p95 / rank(0.95) - 1.0).abs() < 1e-4,
            "{p95} vs {}",
            rank(0.95)
        );
        assert!((max - exact.last().unwrap()).abs() < 1e-3);
    }

    #[test]
    fn durations_extremes_land_in_the_first_and_last_buckets() {
        assert_eq!(bucket(0.0), 0);
        assert_eq!(bucket(-3.0), 0);
        assert_eq!(bucket(f64::NAN), 0);
        assert_eq!(bucket(1e12), BUCKETS - 1);
        assert!(bucket(1e8) >= BUCKETS - 2);
    }
}

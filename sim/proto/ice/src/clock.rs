//! `SimInstant` ↔ `std::time::Instant`, for rtc-ice.
//!
//! rtc-ice takes time as an argument, but as `std::time::Instant`, which has no constructor
//! besides reading the clock. The agent therefore maps simulated time onto one arbitrary origin
//! read once per process. rtc-ice only compares and subtracts the instants it is given, so the
//! origin's value never reaches behaviour: the same inputs at the same `SimInstant`s give the
//! same outputs in every process.

use sim_core::SimInstant;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

static ORIGIN: LazyLock<Instant> = LazyLock::new(|| {
    #[allow(
        clippy::disallowed_methods,
        reason = "an arbitrary origin for rtc-ice's Instant; only differences are ever used"
    )]
    Instant::now()
});

/// About a century: later than any simulated run, small enough to never overflow `Instant`.
const FAR: Duration = Duration::from_secs(100 * 365 * 86_400);

/// The `Instant` standing for `t`.
pub(crate) fn to_std(t: SimInstant) -> Instant {
    let d = t.since_start().min(FAR);
    *ORIGIN + d
}

/// The `SimInstant` an `Instant` from [`to_std`] stands for.
pub(crate) fn from_std(i: Instant) -> SimInstant {
    SimInstant::from_duration(i.saturating_duration_since(*ORIGIN))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_round_trips_and_saturates() {
        let t = SimInstant::from_micros(12_345_678);
        assert_eq!(from_std(to_std(t)), t);
        assert_eq!(from_std(to_std(SimInstant::ZERO)), SimInstant::ZERO);
        assert!(to_std(SimInstant::NEVER) > to_std(t));
    }
}

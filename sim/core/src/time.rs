use std::fmt;
use std::ops::{Add, AddAssign, Sub};
use std::time::Duration;

/// A point in simulated time: microseconds since the start of the run.
///
/// Captures and reports print it as seconds with six decimals (`12.000250s`), a form that never
/// changes between runs or platforms.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimInstant(u64);

impl SimInstant {
    /// The start of the run.
    pub const ZERO: Self = Self(0);
    /// Later than any instant a run can reach; useful as "never".
    pub const NEVER: Self = Self(u64::MAX);

    /// The instant `micros` microseconds after the start of the run.
    pub const fn from_micros(micros: u64) -> Self {
        Self(micros)
    }

    /// The instant `d` after the start of the run (saturating at [`SimInstant::NEVER`]).
    pub fn from_duration(d: Duration) -> Self {
        Self(u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
    }

    /// Microseconds since the start of the run.
    pub const fn as_micros(self) -> u64 {
        self.0
    }

    /// Time since the start of the run.
    pub const fn since_start(self) -> Duration {
        Duration::from_micros(self.0)
    }

    /// Time elapsed from `earlier` to `self`, or zero if `earlier` is later.
    pub const fn saturating_since(self, earlier: Self) -> Duration {
        Duration::from_micros(self.0.saturating_sub(earlier.0))
    }

    /// `self + d`, or `None` past [`SimInstant::NEVER`].
    pub fn checked_add(self, d: Duration) -> Option<Self> {
        let micros = u64::try_from(d.as_micros()).ok()?;
        self.0.checked_add(micros).map(Self)
    }
}

impl Add<Duration> for SimInstant {
    type Output = Self;

    /// Saturates at [`SimInstant::NEVER`].
    fn add(self, d: Duration) -> Self {
        self.checked_add(d).unwrap_or(Self::NEVER)
    }
}

impl AddAssign<Duration> for SimInstant {
    fn add_assign(&mut self, d: Duration) {
        *self = *self + d;
    }
}

impl Sub for SimInstant {
    type Output = Duration;

    /// Saturates at zero.
    fn sub(self, earlier: Self) -> Duration {
        self.saturating_since(earlier)
    }
}

impl fmt::Display for SimInstant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == Self::NEVER {
            return f.write_str("never");
        }
        write!(f, "{}.{:06}s", self.0 / 1_000_000, self.0 % 1_000_000)
    }
}

impl serde::Serialize for SimInstant {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sim_instant_display_is_seconds_with_six_decimals() {
        assert_eq!(SimInstant::ZERO.to_string(), "0.000000s");
        assert_eq!(
            SimInstant::from_micros(12_000_250).to_string(),
            "12.000250s"
        );
        assert_eq!(SimInstant::NEVER.to_string(), "never");
    }

    #[test]
    fn sim_instant_arithmetic_saturates() {
        let t = SimInstant::from_micros(10);
        assert_eq!(t + Duration::from_micros(5), SimInstant::from_micros(15));
        assert_eq!(SimInstant::ZERO - t, Duration::ZERO);
        assert_eq!(
            SimInstant::NEVER + Duration::from_secs(1),
            SimInstant::NEVER
        );
        assert_eq!(t.checked_add(Duration::MAX), None);
    }
}

use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;
use std::fmt;

/// The random stream of one component (a link direction, a NAT, an endpoint).
pub type SimRng = ChaCha8Rng;

/// A scenario seed, or a sub-seed derived from one.
///
/// Every random choice in a run comes from a [`SimRng`] built from a seed derived by *name* from
/// the scenario seed (`seed.derive("nat/home")`), so adding a component never shifts the random
/// stream of another one, and the same scenario and seed always replay the same run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Seed(u64);

impl Seed {
    /// The seed as written in the scenario.
    pub const fn new(value: u64) -> Self {
        Self(value)
    }

    /// The numeric value.
    pub const fn value(self) -> u64 {
        self.0
    }

    /// A sub-seed for the component called `label`. Stable across releases and platforms:
    /// FNV-1a over the label, mixed with the parent seed by SplitMix64.
    pub fn derive(self, label: &str) -> Self {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in label.as_bytes() {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        Self(splitmix64(self.0 ^ splitmix64(h)))
    }

    /// A fresh random stream for this seed.
    pub fn rng(self) -> SimRng {
        SimRng::seed_from_u64(self.0)
    }
}

impl fmt::Display for Seed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::RngCore;

    #[test]
    fn seed_derive_is_stable_across_releases() {
        // These values are part of the replay contract: a change here changes every capture.
        assert_eq!(
            Seed::new(42).derive("nat/home").value(),
            0xeab7_fc6b_3feb_9ecf
        );
        assert_eq!(
            Seed::new(42).derive("").value(),
            Seed::new(42).derive("").value()
        );
    }

    #[test]
    fn seed_derive_separates_labels_and_parents() {
        let s = Seed::new(7);
        assert_ne!(s.derive("a"), s.derive("b"));
        assert_ne!(Seed::new(7).derive("a"), Seed::new(8).derive("a"));
    }

    #[test]
    fn seed_rng_replays() {
        let a: Vec<u32> = (0..4)
            .map({
                let mut r = Seed::new(1).rng();
                move |_| r.next_u32()
            })
            .collect();
        let b: Vec<u32> = (0..4)
            .map({
                let mut r = Seed::new(1).rng();
                move |_| r.next_u32()
            })
            .collect();
        assert_eq!(a, b);
    }
}

//! External address and port allocation (RFC 4787 §4.1 pooling, §4.2 port assignment).
//!
//! A [`PortPool`] holds the used ports of one (protocol, external IP) as merged intervals, so
//! "is this port free" and "first free port at or after p" cost O(log n) whatever the pattern of
//! allocations. An [`AddressPool`] remembers paired assignments and the round-robin cursor.

use crate::config::{Pooling, PortAllocation};
use rand_core::RngCore;
use sim_core::SimRng;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::ops::RangeInclusive;

/// Random probes before [`PortAllocation::Random`] falls back to picking the n-th free port.
const RANDOM_PROBES: u32 = 32;

/// A uniform draw from `0..n` (`n > 0`), by rejection so that every value is equally likely.
/// Written here rather than taken from `rand` so the replay contract depends only on the
/// RNG's raw output.
pub(crate) fn below(rng: &mut SimRng, n: u32) -> u32 {
    debug_assert!(n > 0, "below(0)");
    let n = n.max(1);
    // Values under `threshold` (= 2^32 mod n) would make `v % n` favour small results.
    let threshold = n.wrapping_neg() % n;
    loop {
        let v = rng.next_u32();
        if v >= threshold {
            return v % n;
        }
    }
}

/// The used ports of one (protocol, external IP).
#[derive(Clone, Debug)]
pub(crate) struct PortPool {
    start: u16,
    end: u16,
    /// Disjoint, non-adjacent intervals of used ports: first -> last (inclusive).
    used: BTreeMap<u16, u16>,
    used_count: u32,
    /// The port [`PortAllocation::Sequential`] handed out last.
    last: Option<u16>,
}

impl PortPool {
    pub(crate) fn new(range: &RangeInclusive<u16>) -> Self {
        Self {
            start: *range.start(),
            end: *range.end(),
            used: BTreeMap::new(),
            used_count: 0,
            last: None,
        }
    }

    fn capacity(&self) -> u32 {
        u32::from(self.end) - u32::from(self.start) + 1
    }

    fn free_count(&self) -> u32 {
        self.capacity() - self.used_count
    }

    fn in_range(&self, port: u16) -> bool {
        (self.start..=self.end).contains(&port)
    }

    /// The used interval that contains `port`, if any.
    fn interval_of(&self, port: u16) -> Option<(u16, u16)> {
        self.used
            .range(..=port)
            .next_back()
            .filter(|(_, last)| **last >= port)
            .map(|(first, last)| (*first, *last))
    }

    pub(crate) fn is_used(&self, port: u16) -> bool {
        self.interval_of(port).is_some()
    }

    /// The first free port in `port..=end`.
    fn free_at_or_after(&self, port: u16) -> Option<u16> {
        match self.interval_of(port) {
            None => Some(port),
            // Intervals are merged, so the port after one is free (or past the range).
            Some((_, last)) if last < self.end => Some(last + 1),
            Some(_) => None,
        }
    }

    /// The first free port at or after `port` (which must be in range), wrapping once.
    fn first_free_from(&self, port: u16) -> Option<u16> {
        self.free_at_or_after(port)
            .or_else(|| self.free_at_or_after(self.start))
    }

    /// The `n`-th free port in increasing order (`n < free_count`).
    fn nth_free(&self, mut n: u32) -> Option<u16> {
        let mut cursor = u32::from(self.start);
        for (first, last) in &self.used {
            let gap = u32::from(*first).saturating_sub(cursor);
            if n < gap {
                return u16::try_from(cursor + n).ok();
            }
            n -= gap;
            cursor = u32::from(*last) + 1;
        }
        let port = cursor + n;
        (port <= u32::from(self.end))
            .then(|| u16::try_from(port).ok())
            .flatten()
    }

    /// Marks a free in-range port used, merging it with its neighbours.
    fn claim(&mut self, port: u16) {
        let mut first = port;
        let mut last = port;
        if let Some((&lf, &ll)) = self.used.range(..port).next_back()
            && ll.checked_add(1) == Some(port)
        {
            first = lf;
        }
        if let Some(next) = port.checked_add(1)
            && let Some(nl) = self.used.remove(&next)
        {
            last = nl;
        }
        self.used.insert(first, last);
        self.used_count += 1;
    }

    /// Marks a port used if it is in range and free (port forwards); other ports are ignored.
    pub(crate) fn reserve(&mut self, port: u16) {
        if self.in_range(port) && !self.is_used(port) {
            self.claim(port);
        }
    }

    /// Returns a used port to the pool. Unknown ports are ignored.
    pub(crate) fn release(&mut self, port: u16) {
        let Some((first, last)) = self.interval_of(port) else {
            return;
        };
        self.used.remove(&first);
        if first < port {
            self.used.insert(first, port - 1);
        }
        if port < last {
            self.used.insert(port + 1, last);
        }
        self.used_count -= 1;
    }

    /// Picks and claims a port for a new mapping from `internal_port`, or `None` if the range is
    /// full.
    pub(crate) fn allocate(
        &mut self,
        how: PortAllocation,
        internal_port: u16,
        rng: &mut SimRng,
    ) -> Option<u16> {
        if self.free_count() == 0 {
            return None;
        }
        let port = match how {
            PortAllocation::Preserve => self.preserve(internal_port),
            PortAllocation::Sequential => self.sequential(),
            PortAllocation::Random => self.random(rng),
        }?;
        self.claim(port);
        Some(port)
    }

    fn preserve(&self, internal_port: u16) -> Option<u16> {
        let from = if self.in_range(internal_port) {
            internal_port
        } else {
            self.start
        };
        self.first_free_from(from)
    }

    fn sequential(&mut self) -> Option<u16> {
        let from = match self.last {
            Some(last) if last < self.end => last + 1,
            _ => self.start,
        };
        let port = self.first_free_from(from)?;
        self.last = Some(port);
        Some(port)
    }

    fn random(&self, rng: &mut SimRng) -> Option<u16> {
        // Each probe that lands on a free port is uniform over the free ports, and so is the
        // fallback, so the result is uniform either way.
        for _ in 0..RANDOM_PROBES {
            let offset = below(rng, self.capacity());
            let port = u16::try_from(u32::from(self.start) + offset).ok()?;
            if !self.is_used(port) {
                return Some(port);
            }
        }
        let n = below(rng, self.free_count());
        self.nth_free(n)
    }
}

/// Chooses the external IP of new mappings.
#[derive(Clone, Debug, Default)]
pub(crate) struct AddressPool {
    /// Paired pooling: internal IP -> its external IP.
    paired: BTreeMap<IpAddr, IpAddr>,
    /// Round-robin cursors for paired assignment, per family (IPv4, IPv6).
    cursor_v4: usize,
    cursor_v6: usize,
}

impl AddressPool {
    /// The external IPs to try for a new mapping of `internal`, best first. `candidates` (the
    /// public addresses of the right family, in configuration order) must not be empty.
    pub(crate) fn choose(
        &mut self,
        pooling: Pooling,
        internal: IpAddr,
        candidates: &[IpAddr],
        rng: &mut SimRng,
    ) -> Vec<IpAddr> {
        match pooling {
            Pooling::Paired => self.paired(internal, candidates).into_iter().collect(),
            Pooling::Arbitrary => {
                let len = u32::try_from(candidates.len()).unwrap_or(u32::MAX);
                let first = (below(rng, len) as usize).min(candidates.len());
                let mut order = candidates.to_vec();
                order.rotate_left(first);
                order
            }
        }
    }

    fn paired(&mut self, internal: IpAddr, candidates: &[IpAddr]) -> Option<IpAddr> {
        if let Some(ip) = self.paired.get(&internal) {
            return Some(*ip);
        }
        let cursor = if internal.is_ipv4() {
            &mut self.cursor_v4
        } else {
            &mut self.cursor_v6
        };
        let ip = *candidates.get(*cursor % candidates.len().max(1))?;
        *cursor = cursor.wrapping_add(1);
        self.paired.insert(internal, ip);
        Some(ip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::Seed;

    fn pool(range: RangeInclusive<u16>) -> PortPool {
        PortPool::new(&range)
    }

    #[test]
    fn pool_empty_claim_release_merges_and_splits() {
        let mut p = pool(10..=20);
        for port in [12, 14, 13] {
            p.claim(port);
        }
        assert_eq!(p.used.len(), 1, "12..=14 merged into one interval");
        assert_eq!(p.free_at_or_after(12), Some(15));
        p.release(13);
        assert_eq!(p.used.len(), 2);
        assert!(p.is_used(12) && !p.is_used(13) && p.is_used(14));
        assert_eq!(p.used_count, 2);
    }

    #[test]
    fn pool_top_port_used_first_free_wraps() {
        let mut p = pool(65533..=65535);
        p.claim(65535);
        p.claim(65533);
        assert_eq!(p.first_free_from(65535), Some(65534));
        p.claim(65534);
        assert_eq!(p.first_free_from(65534), None);
        assert_eq!(p.nth_free(0), None);
    }

    #[test]
    fn pool_nth_free_skips_used_intervals() {
        let mut p = pool(1..=10);
        for port in [1, 2, 5, 6, 7] {
            p.claim(port);
        }
        let free: Vec<_> = (0..p.free_count()).filter_map(|n| p.nth_free(n)).collect();
        assert_eq!(free, vec![3, 4, 8, 9, 10]);
    }

    #[test]
    fn pool_random_nearly_full_returns_only_free_port() {
        let mut p = pool(1000..=1999);
        for port in 1000..=1999 {
            if port != 1500 {
                p.claim(port);
            }
        }
        let mut rng = Seed::new(3).rng();
        assert_eq!(p.allocate(PortAllocation::Random, 0, &mut rng), Some(1500));
        assert_eq!(p.allocate(PortAllocation::Random, 0, &mut rng), None);
    }

    #[test]
    fn below_small_bound_hits_every_value() {
        let mut rng = Seed::new(9).rng();
        let mut seen = [0u32; 3];
        for _ in 0..3000 {
            let v = below(&mut rng, 3) as usize;
            seen[v] += 1;
        }
        assert!(seen.iter().all(|c| (800..1200).contains(c)), "{seen:?}");
    }
}

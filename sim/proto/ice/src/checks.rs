//! The agent's view of its connectivity checks, kept the way pjnath keeps its check list.
//!
//! rtc-ice revisits every in-progress pair at each tick (20–200 ms) with a fresh transaction
//! and never gives a pair up on a timer. This list watches the checks rtc-ice writes and the
//! responses that come back, and gives each check pjnath's life instead: one transaction per
//! (local base, remote, nominating) with transmissions at RTO × (2ⁿ − 1) (the rest of rtc-ice's
//! pings are not sent), success on a response from the address the check went to, failure
//! 370088 on a response from another address and 370004 when the transaction timeout (7.9 s)
//! passes. Triggered checks (RFC 8445 §7.3.1.4: a check rtc-ice sends in answer to a request
//! from that remote) go out at once, and restart a check that had already failed.
//!
//! Once a pair is selected the list stops filtering: keep-alives go out as rtc-ice sends them.

use crate::config::IceTimers;
use crate::event::Status;
use sim_core::SimInstant;
use std::collections::BTreeMap;
use std::net::SocketAddr;

/// One check: a local base, a remote candidate, and whether it nominates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct CheckKey {
    pub(crate) local: SocketAddr,
    pub(crate) remote: SocketAddr,
    pub(crate) nominating: bool,
}

#[derive(Clone, Debug)]
struct Check {
    first: SimInstant,
    sent: u32,
    succeeded: Option<SimInstant>,
    failed: Option<Status>,
}

impl Check {
    const fn new(now: SimInstant) -> Self {
        Self {
            first: now,
            sent: 0,
            succeeded: None,
            failed: None,
        }
    }

    fn timed_out(&self, now: SimInstant, timers: &IceTimers) -> bool {
        self.succeeded.is_none() && now >= self.first + timers.transaction_timeout()
    }

    /// When the check stops being in progress: its success, its failure, or its timeout.
    fn settled_at(&self, timers: &IceTimers) -> SimInstant {
        self.succeeded
            .unwrap_or_else(|| self.first + timers.transaction_timeout())
    }
}

/// Every check of one session.
#[derive(Clone, Debug, Default)]
pub(crate) struct CheckList {
    checks: BTreeMap<CheckKey, Check>,
    transactions: BTreeMap<[u8; 12], CheckKey>,
    /// Checks whose failure was reported (so each is reported once).
    reported: BTreeMap<CheckKey, Status>,
    /// rtc-ice pings this list did not send.
    pub(crate) suppressed: u64,
}

impl CheckList {
    /// rtc-ice wants to send a check; whether it goes on the wire.
    pub(crate) fn outgoing(
        &mut self,
        now: SimInstant,
        key: CheckKey,
        transaction: [u8; 12],
        triggered: bool,
        timers: &IceTimers,
    ) -> bool {
        let check = self.checks.entry(key).or_insert_with(|| Check::new(now));
        let finished = check.failed.is_some() || check.timed_out(now, timers);
        let send = if finished {
            if triggered {
                *check = Check::new(now);
                self.reported.remove(&key);
            }
            triggered
        } else if triggered {
            true
        } else {
            check.sent < timers.stun_max_transmissions
                && now >= check.first + timers.retransmission_offset(check.sent)
        };
        if send {
            check.sent += 1;
            self.transactions.insert(transaction, key);
        } else {
            self.suppressed += 1;
        }
        send
    }

    /// A Binding response arrived from `from`. Returns the check it failed, if it answered a
    /// check sent elsewhere (370088).
    pub(crate) fn incoming_response(
        &mut self,
        now: SimInstant,
        from: SocketAddr,
        transaction: [u8; 12],
        success: bool,
    ) -> Option<CheckKey> {
        let key = *self.transactions.get(&transaction)?;
        let check = self.checks.get_mut(&key)?;
        if check.succeeded.is_some() || check.failed.is_some() {
            return None;
        }
        if from != key.remote {
            check.failed = Some(Status::ICE_SOURCE_MISMATCH);
            self.reported.insert(key, Status::ICE_SOURCE_MISMATCH);
            return Some(key);
        }
        if success {
            check.succeeded = Some(now);
        }
        None
    }

    /// Checks whose transaction timed out at or before `now`, each returned once.
    pub(crate) fn timeouts(&mut self, now: SimInstant, timers: &IceTimers) -> Vec<CheckKey> {
        let due: Vec<CheckKey> = self
            .checks
            .iter()
            .filter(|(k, c)| c.timed_out(now, timers) && !self.reported.contains_key(k))
            .map(|(k, _)| *k)
            .collect();
        for key in &due {
            self.reported.insert(*key, Status::STUN_TIMED_OUT);
        }
        due
    }

    /// The next check timeout still to report.
    pub(crate) fn next_timeout(&self, timers: &IceTimers) -> Option<SimInstant> {
        self.checks
            .iter()
            .filter(|(k, c)| c.succeeded.is_none() && !self.reported.contains_key(k))
            .map(|(_, c)| c.first + timers.transaction_timeout())
            .min()
    }

    /// Whether an ordinary (non-nominating) check succeeded: a valid pair exists.
    pub(crate) fn has_valid(&self) -> bool {
        self.checks
            .iter()
            .any(|(k, c)| !k.nominating && c.succeeded.is_some())
    }

    /// When the last check settles (succeeds or times out); `None` with no checks.
    pub(crate) fn complete_at(&self, timers: &IceTimers) -> Option<SimInstant> {
        self.checks.values().map(|c| c.settled_at(timers)).max()
    }

    /// When the last check started; `None` with no checks.
    pub(crate) fn last_started(&self) -> Option<SimInstant> {
        self.checks.values().map(|c| c.first).max()
    }

    /// A one-line account: how many checks, succeeded, timed out, mismatched.
    pub(crate) fn summary(&self) -> String {
        let total = self.checks.len();
        let ok = self
            .checks
            .values()
            .filter(|c| c.succeeded.is_some())
            .count();
        let count = |s: Status| self.reported.values().filter(|v| **v == s).count();
        format!(
            "{total} checks: {ok} succeeded, {} timed out (370004), {} source mismatch (370088)",
            count(Status::STUN_TIMED_OUT),
            count(Status::ICE_SOURCE_MISMATCH)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> CheckKey {
        CheckKey {
            local: "10.0.0.2:4000".parse().unwrap(),
            remote: "198.51.100.2:4000".parse().unwrap(),
            nominating: false,
        }
    }

    #[test]
    fn check_list_paces_pings_on_pjnaths_schedule() {
        let timers = IceTimers::default();
        let mut list = CheckList::default();
        let mut sent = Vec::new();
        // rtc-ice pings every 20 ms for 10 s.
        for tick in 0..500u64 {
            let now = SimInstant::from_micros(tick * 20_000);
            let mut id = [0u8; 12];
            id[..8].copy_from_slice(&tick.to_be_bytes());
            if list.outgoing(now, key(), id, false, &timers) {
                sent.push(tick * 20);
            }
        }
        assert_eq!(sent, [0, 100, 300, 700, 1500, 3100, 6300]);
        let t = SimInstant::from_micros(7_900_000);
        assert_eq!(list.next_timeout(&timers), Some(t));
        assert_eq!(list.timeouts(t, &timers), vec![key()]);
        assert!(list.timeouts(t, &timers).is_empty(), "reported once");
    }

    #[test]
    fn check_list_response_from_elsewhere_is_370088() {
        let timers = IceTimers::default();
        let mut list = CheckList::default();
        assert!(list.outgoing(SimInstant::ZERO, key(), [1; 12], false, &timers));
        let other = "198.51.100.2:4001".parse().unwrap();
        let at = SimInstant::from_micros(50_000);
        assert_eq!(
            list.incoming_response(at, other, [1; 12], true),
            Some(key())
        );
        assert!(!list.has_valid());
        assert!(list.summary().contains("1 source mismatch"));
        // A triggered check restarts it, and the right source then validates the pair.
        assert!(list.outgoing(at, key(), [2; 12], true, &timers));
        assert_eq!(
            list.incoming_response(at, key().remote, [2; 12], true),
            None
        );
        assert!(list.has_valid());
    }
}

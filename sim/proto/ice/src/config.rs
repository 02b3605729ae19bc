//! What an ICE agent is told before it starts: its port, role, servers and timers.

use std::net::SocketAddr;
use std::time::Duration;

/// The ICE role (RFC 8445 §6.1.1). The controlling agent nominates; a role conflict is
/// resolved by the tie-breaker (§7.3.1.1) and reported as [`crate::IceEvent::RoleChanged`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Nominates the pair to use (the caller, in the AAE flow).
    Controlling,
    /// Accepts the controlling agent's nomination.
    Controlled,
}

impl Role {
    /// Whether this is [`Role::Controlling`].
    pub const fn is_controlling(self) -> bool {
        matches!(self, Self::Controlling)
    }
}

/// A TURN server to allocate a relayed candidate from (RFC 5766, long-term credentials).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TurnServer {
    /// The server's address.
    pub addr: SocketAddr,
    /// Transport to the server. Only UDP is implemented; TCP fails with 370120.
    pub transport: TurnTransport,
    /// Long-term credential user name.
    pub username: String,
    /// Long-term credential password.
    pub password: String,
}

/// How the agent reaches its TURN server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TurnTransport {
    /// UDP (RFC 5766).
    Udp,
    /// TCP (RFC 6062 framing): not implemented by this agent.
    Tcp,
}

/// The agent's timers. [`IceTimers::default`] gives pjnath's values as the natnl SDK configures
/// them (FAULTS.md §1) where pjnath has the timer, RFC 7675's where it does not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IceTimers {
    /// First STUN retransmission timeout (pjnath `PJ_STUN_RTO_VALUE`, 100 ms); it doubles after
    /// each transmission. Applies to gathering transactions and connectivity checks.
    pub stun_rto: Duration,
    /// Transmissions of one STUN request (pjnath `PJ_STUN_MAX_TRANSMIT_COUNT`, 7).
    pub stun_max_transmissions: u32,
    /// Wait after the last transmission (pjnath: 16 × RTO = 1.6 s). With the defaults a
    /// transaction times out 7.9 s after its first transmission.
    pub stun_final_wait: Duration,
    /// How often rtc-ice revisits its check list while checking (pjnath's pacing Ta is 20 ms).
    /// rtc-ice never waits longer than 200 ms between visits whatever this says.
    pub check_interval: Duration,
    /// How long the controlling agent waits, from the start of checks, before it nominates the
    /// best valid pair (natnl pjnath: 15 × RTO = 1.5 s after valid pairs exist).
    pub nomination_delay: Duration,
    /// How long a controlled agent whose checks are complete waits for a nomination before it
    /// fails with 370093 (pjnath: 10 s).
    pub nomination_timeout: Duration,
    /// Keep-alive (consent) Binding requests on the selected pair (pjnath: every 20 s plus a
    /// random 0–5 s; the jitter is drawn once per agent from its seed).
    pub keepalive_interval: Duration,
    /// Upper bound of the random part of the keep-alive interval.
    pub keepalive_jitter: Duration,
    /// Consent expiry (RFC 7675 §5.1: 30 s): with nothing received from the remote candidate of
    /// the selected pair for this long, consent is lost.
    pub consent_timeout: Duration,
}

impl Default for IceTimers {
    fn default() -> Self {
        Self {
            stun_rto: Duration::from_millis(100),
            stun_max_transmissions: 7,
            stun_final_wait: Duration::from_millis(1600),
            check_interval: Duration::from_millis(20),
            nomination_delay: Duration::from_millis(1500),
            nomination_timeout: Duration::from_secs(10),
            keepalive_interval: Duration::from_secs(20),
            keepalive_jitter: Duration::from_secs(5),
            consent_timeout: Duration::from_secs(30),
        }
    }
}

impl IceTimers {
    /// When the `n`-th transmission (0-based) of a request first sent at offset zero is due:
    /// RTO × (2ⁿ − 1).
    pub fn retransmission_offset(&self, n: u32) -> Duration {
        let factor = (1u32 << n.min(30)).saturating_sub(1);
        self.stun_rto.saturating_mul(factor)
    }

    /// How long after its first transmission a STUN transaction times out: the offset of the
    /// last transmission plus the final wait (7.9 s with the defaults).
    pub fn transaction_timeout(&self) -> Duration {
        let last = self.stun_max_transmissions.saturating_sub(1);
        self.retransmission_offset(last) + self.stun_final_wait
    }
}

/// Which local candidates the agent offers and checks from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IcePolicy {
    /// Host, server-reflexive and relayed candidates.
    #[default]
    All,
    /// Only the relayed candidate of the TURN allocation: every check and all data cross the
    /// relay (no TURN server, or a failed allocation, leaves no candidate).
    Relay,
}

/// Everything an [`crate::IceAgent`] needs besides its seed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IceConfig {
    /// The UDP port to bind (0: any free port). Host candidates use it with every address of
    /// the node.
    pub port: u16,
    /// Controlling or controlled.
    pub role: Role,
    /// STUN servers to learn server-reflexive candidates from (one Binding each, per matching
    /// address family).
    pub stun_servers: Vec<SocketAddr>,
    /// A TURN server for a relayed candidate.
    pub turn: Option<TurnServer>,
    /// Timers.
    pub timers: IceTimers,
    /// Which local candidates are used.
    pub policy: IcePolicy,
}

impl IceConfig {
    /// An agent on `port` in `role`, without servers, with the default timers.
    pub fn new(port: u16, role: Role) -> Self {
        Self {
            port,
            role,
            stun_servers: Vec::new(),
            turn: None,
            timers: IceTimers::default(),
            policy: IcePolicy::All,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timers_default_transaction_is_pjnaths_7_9_s() {
        let t = IceTimers::default();
        let offsets: Vec<u64> = (0..7)
            .map(|n| t.retransmission_offset(n).as_millis() as u64)
            .collect();
        assert_eq!(offsets, [0, 100, 300, 700, 1500, 3100, 6300]);
        assert_eq!(t.transaction_timeout(), Duration::from_millis(7900));
    }
}

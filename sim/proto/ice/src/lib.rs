//! A sans-IO ICE endpoint (RFC 8445) on webrtc-rs's `rtc-ice`, with pjnath's timers.
//!
//! [`IceAgent`] is the engine of the `ice-agent` scenario kind and of the AAE endpoint:
//!
//! * **Gathering** (on `handle_start`): a host candidate per address of the node on the bound
//!   port; a server-reflexive candidate per configured STUN server (one Binding transaction
//!   each, retransmitted at 0, 100, 300, 700, 1500, 3100, 6300 ms and timed out at 7.9 s, as
//!   pjnath does); a relayed candidate from the TURN server, if one is configured (rtc-turn's
//!   sans-IO client: 401 challenge, long-term credentials, Allocate, then CreatePermission,
//!   ChannelBind, Send/Data and ChannelData as checks and data need them). Ends with
//!   [`IceEvent::GatheringDone`]; a server that gives no candidate is reported first
//!   ([`IceEvent::ServerFailed`]: 370004 no response, 370040 no mapped address, 320126 error
//!   response, 370120 TURN over TCP, which this agent does not implement).
//! * **Exchange**: [`IceAgent::local_credentials`] and [`IceAgent::local_candidates`] go to the
//!   peer (the scenario carries them, later SDP); [`IceAgent::set_remote`] starts the checks,
//!   [`IceAgent::add_remote_candidate`] trickles more.
//! * **Checks** (rtc-ice): pairing, connectivity checks, peer-reflexive learning, role
//!   conflict (RFC 8445 §7.3.1.1), regular nomination by the controlling agent once
//!   [`IceTimers::nomination_delay`] has passed since the start of checks. The `checks`
//!   module gives each check pjnath's transaction life (see there): rtc-ice's extra pings are
//!   not sent, and a check times out after 7.9 s.
//! * **Outcome**: [`IceEvent::PairSelected`] then [`IceEvent::Connected`]; or
//!   [`IceEvent::Failed`] with 370082 when every check settled without a selected pair (for a
//!   controlled agent: without a valid pair), or 370093 when a controlled agent with a valid
//!   pair got no nomination within 10 s of its checks settling.
//! * **Consent** (RFC 7675): keep-alive Binding requests on the selected pair every 20 s plus a
//!   seeded 0–5 s; after 30 s without anything from the remote, [`IceEvent::ConsentLost`].
//! * **Data**: [`IceAgent::send`] on the selected pair (through the TURN allocation when the
//!   local candidate is relayed); [`IceAgent::poll_data`] returns what arrived from the
//!   selected remote. [`IceAgent::close`] ends the session (a hang-up). Data and STUN share the port, told apart as RFC 7983
//!   says (STUN: first byte 0–3 and the magic cookie).
//!
//! # Where this differs from pjnath
//!
//! * Nomination is regular (a separate USE-CANDIDATE check), as in pjnath, but the controlling
//!   agent nominates once [`IceTimers::nomination_delay`] (1.5 s) has passed since the *start of
//!   checks* (rtc-ice's acceptance wait), not 1.5 s after the first valid pair, and not early
//!   when every check completed sooner. Direct pairs connect at ≈ 1.5 s + one round trip.
//! * All pairs are checked at once on rtc-ice's tick rather than one per Ta (20 ms).
//! * A check's local candidate is its base: rtc-ice learns no local peer-reflexive candidate
//!   from the XOR-MAPPED-ADDRESS of a check response, so a selected pair through a NAT reports
//!   the local side as `host` (or `relay`), the remote as `srflx`/`prflx`/`relay`.
//! * Keep-alives are consent Binding requests (RFC 7675), not pjnath's Binding indications.
//! * TURN Allocate retransmits on rtc-turn's schedule (RTO 100 ms doubling, capped at 1.6 s,
//!   7 requests) and times out at 6.3 s, not 7.9 s.
//! * An ICE failure or [`IceAgent::close`] releases the TURN allocation.
//!
//! # Determinism
//!
//! Time is an argument: `SimInstant`s map onto `std::time::Instant`s from one arbitrary origin
//! (see the `clock` module; only differences reach rtc-ice). The ufrag, password, keep-alive
//! jitter and gathering transaction ids come from the agent's [`sim_core::Seed`]; rtc-ice's
//! tie-breaker comes from a seeded crypto provider (and rtc-turn's from another). rtc-ice and
//! rtc-turn still draw connectivity-check and TURN transaction ids, and learned peer-reflexive
//! candidate ids, from `rand::rng()`: inside a
//! simulated run that is the scenario seed (sim-entropy's getrandom backend), so a run replays
//! exactly when it starts on a fresh thread inside `sim_entropy::seeded`.
//!
//! # Drive contract
//!
//! As for every [`sim_core::Node`]: bind `Node::bindings` (one UDP port), `handle_start`,
//! then after any input drain `poll_transmit`, then `poll_event` (and [`IceAgent::poll_data`]),
//! and call `handle_timeout` at `poll_timeout`. While checking, rtc-ice asks to be woken every
//! `check_interval` (20 ms); once connected every 200 ms.
//!
//! ```
//! use sim_core::{Addresses, Bound, Binding, Node, Seed, SimInstant, Transmit};
//! use sim_ice::{IceAgent, IceConfig, IceEvent, Role};
//!
//! let mut a = IceAgent::new(IceConfig::new(4000, Role::Controlling), Seed::new(1)).unwrap();
//! let now = SimInstant::ZERO;
//! a.handle_bound(now, Bound { id: None, binding: Binding::udp(4000), result: Ok("192.0.2.1:4000".parse().unwrap()) });
//! a.handle_start(now, Addresses::single("192.0.2.1".parse().unwrap()));
//! // No STUN server: gathering is done at once, with the host candidate.
//! assert!(matches!(a.poll_event(), Some(IceEvent::GatheringDone { candidates }) if candidates.len() == 1));
//! ```

#![warn(missing_docs)]

mod agent;
mod candidate;
mod checks;
mod clock;
mod config;
mod event;
mod provider;
mod stun;
mod turn;

#[cfg(test)]
mod tests;

pub use agent::{IceAgent, IceError, IceStats, MAX_REMOTE_CANDIDATES};
pub use config::{IceConfig, IcePolicy, IceTimers, Role, TurnServer, TurnTransport};
pub use event::{
    CandidateKind, Credentials, EVENT_NAMES, IceCandidate, IceEvent, ServerKind, Status,
};

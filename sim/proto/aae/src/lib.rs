//! The AAE P2P tunnel SDK endpoint (`aae` scenario kind), sans-IO.
//!
//! [`AaeEndpoint`] is what a router or an app runs: the natnl SDK built on pjsip and pjnath.
//! It composes natlab's cores rather than re-implementing them:
//!
//! * the SIP user agent is a [`sim_sip::Softphone`] (registration with digest, INVITE
//!   sessions, BYE/CANCEL, MESSAGE), registering `device_id` with `device_ticket` to the relay;
//! * NAT-type detection at init is a [`sim_stun::NatDetector`] on its own socket;
//! * every call has its own [`sim_ice::IceAgent`] on a socket bound at run time (controlling
//!   for the caller, controlled for the callee), its candidates carried in the INVITE's SDP
//!   and the answer (RFC 8839);
//! * over the selected pair runs a [`sim_tunnel::Tunnel`], the UDT-like reliable transport
//!   that the application's bytes cross.
//!
//! # Lifecycle and events
//!
//! | API | what happens | events |
//! |---|---|---|
//! | [`AaeEndpoint::init`] | REGISTER (401, digest, 200), then NAT-type detection | 60000, 60109, 60005, 60100 |
//! | [`AaeEndpoint::make_call`] | gathering, INVITE with candidates, answer, ACK, checks, tunnel handshake | 1, 3, 4, 5, 60003, 60104 |
//! | incoming INVITE | 180, gathering, 200 with candidates, ACK, checks, tunnel | 2, 3, 4, 5, 60003 |
//! | [`AaeEndpoint::hangup`] | BYE | 6, 60004, 60106 |
//! | [`AaeEndpoint::deinit`] | hang-ups, REGISTER Expires: 0 | 60001, 60111, 60102 |
//!
//! Failures come from the mechanism that fails, never from a table keyed on the scenario:
//!
//! * REGISTER answered 401 twice (wrong or expired ticket): 60110(401), 60101(171100);
//!   REGISTER unanswered until Timer F: 60110(408), 60101(60000013).
//! * INVITE answered with an error (404 unknown device, 477 dead flow, 486 callee full, 487
//!   cancelled, 480...): 6 and 60105 carrying the SIP status.
//! * ICE fails (370082 all checks failed, 370093 no nomination): the caller sends BYE and
//!   reports 6 and 60105 with the pjnath status. A peer SDP whose `c=`/`m=` matches none of its
//!   candidates (an ALG rewrote it) fails with 370083; one without ICE attributes with 370090.
//! * The tunnel handshake times out (60000015); the make-call timeout fires first (60000006:
//!   CANCEL before an answer, BYE after).
//! * A running tunnel hears nothing for `tnl_timeout` (60002) or carries no data for
//!   `idle_timeout` (60113): the event, 60004, then 6; the hang-up status the public SDK uses
//!   (60000009 / 60000010) is absent from the document and named only in the detail.
//! * The callee holds `max_calls` calls: its SIP stack answers the INVITE 486 before any call
//!   object exists (no callee event).
//! * The local address changes: 60108, then every API call fails with 60000007 until deinit
//!   and init.
//! * The worker loop stalls (the `stall` fault): inputs wait; a 3-s watchdog reports 60114
//!   while the stall lasts beyond 60 s.
//! * API misuse: init twice 60101(60000004), deinit before init 60103(60000005), calls while
//!   initialising (60000012) or de-initialising (60000011), a second outgoing call
//!   (60000003), a bad device id (70004), hang-up of an ended call 60107(171140) or of none
//!   60107(70004), a registration while one is running (`natnl_reg_device` refused with
//!   70011).
//!
//! The ICE agents' and tunnels' own events (`gathering-done`, `check-failed`, `connected`,
//! `tunnel-connected`...) are logged too, with the call id, so a failing run shows which
//! stage failed. Application data is counted and hashed on both sides (`tunnel-data-sent`,
//! `tunnel-data`) so a scenario checks that what arrived is what was sent.
//!
//! # Determinism
//!
//! No clock, no sockets: time is an argument and every random choice (SIP tags, ICE
//! credentials, tunnel sequence numbers, application bytes) comes from the [`sim_core::Seed`]
//! given to [`AaeEndpoint::new`], derived per sub-core and per call.

#![warn(missing_docs)]

mod config;
mod endpoint;
mod event;
mod media;
mod transport;

pub use config::{
    AaeConfig, DEFAULT_MAX_CALLS, MAX_MAX_CALLS, MAX_TNL_TIMEOUT, MAX_TUNNEL_PORTS,
    REGISTER_EXPIRES, RELAY_DOMAIN, SIP_KEEP_ALIVE, WATCHDOG_LIMIT, WATCHDOG_PERIOD,
};
pub use endpoint::{AaeEndpoint, Lifecycle};
pub use event::{API_FUNCTIONS, AaeEvent, EventCode, OWN_EVENTS, TunnelType, status};

//! The AAE web service, sans-IO: HTTP/1.1 over simulated TCP, the Service Portal, Service Area
//! and Service Unit, the tickets they issue, and both account-binding flows of
//! `shared/catalog/aae-web-api.yaml`, as a server core and client sub-cores.
//!
//! * [`http`]: request/response framing on `httparse` (Content-Length bodies, any number of
//!   requests per connection, any split of the bytes; malformed input is answered with 400).
//! * [`AaeWebServer`]: the server [`sim_core::Node`] (TCP port 80 by default), with [`Roles`],
//!   accounts, ticket [`Lifetimes`] checked against `now`, and a run-time [`WebPolicy`].
//! * [`WebClient`]: an HTTP client sub-core another core embeds (stream ids from a caller-given
//!   [`StreamIds`] range).
//! * [`WebFlow`]: flow drivers on a `WebClient`: the app side of either binding flow
//!   ([`WebFlow::app_binding`]), the firmware side ([`WebFlow::firmware_login`]) and the device
//!   login the AAE SDK does at init ([`DeviceLogin`]).
//! * [`AaeApp`]: a phone app with the router it binds, as a `Node` driven by commands.
//!
//! The document gives no request or response schema; [`api`] documents natlab's: JSON bodies,
//! a numeric `status` ([`WebStatus`]) and the HTTP status that carries it.
//!
//! # Events
//! Clients ([`WebEvent`], [`EVENT_NAMES`]): `web-<step>-ok` / `web-<step>-failed` for the steps
//! `servicearea`, `login`, `userticket` (new.4), `refreshticket` (new.5), `router-userticket`
//! (new.6), `fw-login` (new.8 / old.5); `web-handover` (new.7 / old.4); `web-bind-ok` /
//! `web-bind-failed` for a whole binding. A failure's `status` is the HTTP status of the
//! response (none for a transport failure); its detail names the step, the HTTP status and the
//! JSON status (`fw-login: http 401 Unauthorized, ticket-expired (status 3)`) or the transport
//! failure (`connection refused`). Successes carry status 200 (the handover, no HTTP
//! exchange, carries none).
//!
//! Server ([`ServerEvent`], [`SERVER_EVENT_NAMES`]): `web-served` (status = HTTP status),
//! `web-bad-request`, `web-device-bound`, `web-device-rebound`, `web-tickets-expired`.
//!
//! # Drive contract
//! After any input drain `poll_transmit`, then `poll_event` (and, on sub-cores, `poll_result`);
//! call `handle_timeout` at `poll_timeout`. Sub-cores take stream events by reference and say
//! whether they consumed them.
//!
//! ```
//! use sim_aae_web::{DeviceLogin, DeviceLoginConfig, StreamIds, WebAccount};
//! use sim_core::SimInstant;
//! use std::time::Duration;
//!
//! let mut login = DeviceLogin::new(
//!     StreamIds::new(1000..2000),
//!     Duration::from_secs(10),
//!     DeviceLoginConfig {
//!         portal: "203.0.113.10:80".parse().unwrap(),
//!         account: WebAccount { userid: "alice".into(), passwd: "pw".into() },
//!         md5mac: "00aabbccddee".into(),
//!         devicetype: Some("05".into()),
//!     },
//! );
//! login.start(SimInstant::ZERO);
//! // The first thing it asks for: a TCP connection to the portal, from the given id range.
//! assert!(matches!(
//!     login.poll_transmit(),
//!     Some(sim_core::Transmit::Stream(sim_core::StreamCommand::Connect { id, .. })) if id.0 == 1000
//! ));
//! ```

pub mod api;
mod app;
mod client;
mod device;
mod event;
mod flow;
pub mod http;
mod routes;
mod server;
mod store;

#[cfg(test)]
mod tests;

pub use api::WebStatus;
pub use app::{AaeApp, AaeAppConfig, BindOptions};
pub use client::{DEFAULT_TIMEOUT, RequestId, StreamIds, WebClient, WebFailure, WebResult};
pub use device::DeviceLogin;
pub use event::{EVENT_NAMES, SERVER_EVENT_NAMES, ServerEvent, WebEvent, failure_detail};
pub use flow::{
    AppBinding, BindingFlow, DeviceCredentials, DeviceLoginConfig, Firmware, FlowError, FlowOutput,
    Handover, Step, WebAccount, WebFlow,
};
pub use server::{AaeWebServer, Answer, Roles, WebPolicy, WebServerConfig};
pub use store::{KnownDevice, Lifetimes};

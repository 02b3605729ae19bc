//! Events of the clients and the server, and their event-log form.

use crate::api::WebStatus;
use crate::client::WebFailure;
use crate::flow::{Step, json_status};
use sim_core::LogEvent;
use std::net::SocketAddr;

/// What a flow (or the `aae-app` core) reports: one event per step, and the binding's outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WebEvent {
    /// A step succeeded.
    StepOk {
        /// The step.
        step: Step,
        /// What it returned (ids, never tickets).
        detail: String,
    },
    /// A step failed; the flow ends.
    StepFailed {
        /// The step.
        step: Step,
        /// Why.
        failure: WebFailure,
    },
    /// A binding (app and firmware sides) finished: the router logged in.
    BindOk {
        /// Router, account and device id.
        detail: String,
    },
    /// A binding failed at `step`.
    BindFailed {
        /// The step that failed.
        step: Step,
        /// Why.
        failure: WebFailure,
    },
}

/// The names of every client-side event, as `event` expectations name them.
pub const EVENT_NAMES: &[&str] = &[
    "web-servicearea-ok",
    "web-servicearea-failed",
    "web-login-ok",
    "web-login-failed",
    "web-userticket-ok",
    "web-userticket-failed",
    "web-refreshticket-ok",
    "web-refreshticket-failed",
    "web-router-userticket-ok",
    "web-router-userticket-failed",
    "web-handover",
    "web-fw-login-ok",
    "web-fw-login-failed",
    "web-bind-ok",
    "web-bind-failed",
];

/// The names of every server-side event.
pub const SERVER_EVENT_NAMES: &[&str] = &[
    "web-served",
    "web-bad-request",
    "web-device-bound",
    "web-device-rebound",
    "web-tickets-expired",
];

const fn step_name(step: Step, ok: bool) -> &'static str {
    match (step, ok) {
        (Step::ServiceArea, true) => "web-servicearea-ok",
        (Step::ServiceArea, false) => "web-servicearea-failed",
        (Step::Login, true) => "web-login-ok",
        (Step::Login, false) => "web-login-failed",
        (Step::AppUserTicket, true) => "web-userticket-ok",
        (Step::AppUserTicket, false) => "web-userticket-failed",
        (Step::RouterRefreshTicket, true) => "web-refreshticket-ok",
        (Step::RouterRefreshTicket, false) => "web-refreshticket-failed",
        (Step::RouterUserTicket, true) => "web-router-userticket-ok",
        (Step::RouterUserTicket, false) => "web-router-userticket-failed",
        (Step::Handover, _) => "web-handover",
        (Step::FirmwareLogin, true) => "web-fw-login-ok",
        (Step::FirmwareLogin, false) => "web-fw-login-failed",
    }
}

impl WebEvent {
    /// The event's name (one of [`EVENT_NAMES`]).
    pub const fn name(&self) -> &'static str {
        match self {
            Self::StepOk { step, .. } => step_name(*step, true),
            Self::StepFailed { step, .. } => step_name(*step, false),
            Self::BindOk { .. } => "web-bind-ok",
            Self::BindFailed { .. } => "web-bind-failed",
        }
    }
}

/// `http 401 Unauthorized, ticket-expired (status 3)` or the transport failure.
pub fn failure_detail(f: &WebFailure) -> String {
    match (f, json_status(f)) {
        (WebFailure::Http(r), Some(s)) => format!("http {} {}, {s}", r.status, r.reason),
        _ => f.to_string(),
    }
}

impl From<&WebEvent> for LogEvent {
    fn from(e: &WebEvent) -> Self {
        let event = Self::named(e.name());
        match e {
            // The handover is no HTTP exchange: it carries no status.
            WebEvent::StepOk {
                step: Step::Handover,
                detail,
            } => event.with_detail(detail.clone()),
            // A step's (or, for the binding, the firmware login's) 200 response.
            WebEvent::StepOk { detail, .. } | WebEvent::BindOk { detail } => {
                event.with_status(200).with_detail(detail.clone())
            }
            WebEvent::StepFailed { step, failure } | WebEvent::BindFailed { step, failure } => {
                let detail = format!("{}: {}", step.name(), failure_detail(failure));
                let event = event.with_detail(detail);
                match failure.http_status() {
                    Some(s) => event.with_status(u32::from(s)),
                    None => event,
                }
            }
        }
    }
}

/// What the server reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerEvent {
    /// A request was answered.
    Served {
        /// Client.
        remote: SocketAddr,
        /// Request path.
        path: String,
        /// HTTP status sent.
        http: u16,
        /// JSON status sent.
        status: Option<WebStatus>,
    },
    /// A malformed request was answered with an error and the connection closed.
    BadRequest {
        /// Client.
        remote: SocketAddr,
        /// HTTP status sent (400, 413, 431, 501).
        http: u16,
        /// What was wrong.
        reason: String,
    },
    /// A device was bound to an account for the first time.
    DeviceBound {
        /// Its MD5 MAC.
        md5mac: String,
        /// The account.
        cusid: String,
        /// Its id.
        deviceid: String,
    },
    /// A device bound to one account logged in for another (a resold router).
    DeviceRebound {
        /// Its MD5 MAC.
        md5mac: String,
        /// The previous account.
        from: String,
        /// The new account.
        to: String,
        /// Tickets of the previous account revoked.
        revoked: usize,
    },
    /// Every ticket was expired by policy.
    TicketsExpired {
        /// How many were still valid.
        count: usize,
    },
}

impl ServerEvent {
    /// The event's name (one of [`SERVER_EVENT_NAMES`]).
    pub const fn name(&self) -> &'static str {
        match self {
            Self::Served { .. } => "web-served",
            Self::BadRequest { .. } => "web-bad-request",
            Self::DeviceBound { .. } => "web-device-bound",
            Self::DeviceRebound { .. } => "web-device-rebound",
            Self::TicketsExpired { .. } => "web-tickets-expired",
        }
    }
}

impl From<&ServerEvent> for LogEvent {
    fn from(e: &ServerEvent) -> Self {
        let event = Self::named(e.name());
        match e {
            ServerEvent::Served {
                remote,
                path,
                http,
                status,
            } => {
                let s = status.map_or_else(|| "no status".to_owned(), |s| s.to_string());
                event
                    .with_status(u32::from(*http))
                    .with_detail(format!("{path} from {remote}: {s}"))
            }
            ServerEvent::BadRequest {
                remote,
                http,
                reason,
            } => event
                .with_status(u32::from(*http))
                .with_detail(format!("from {remote}: {reason}")),
            ServerEvent::DeviceBound {
                md5mac,
                cusid,
                deviceid,
            } => event.with_detail(format!("{md5mac} to cusid {cusid}, deviceid {deviceid}")),
            ServerEvent::DeviceRebound {
                md5mac,
                from,
                to,
                revoked,
            } => event.with_detail(format!(
                "{md5mac} from cusid {from} to cusid {to}, {revoked} tickets of {from} revoked"
            )),
            ServerEvent::TicketsExpired { count } => {
                event.with_detail(format!("{count} tickets expired"))
            }
        }
    }
}

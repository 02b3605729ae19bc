//! The wire vocabulary: endpoint paths, JSON field names, natlab's JSON status values, and the
//! SID and device-type tables of `aae-ids.yaml`.
//!
//! The AAE document names the endpoints and the parameters each flow step sends and receives,
//! but gives no schema, method, encoding or error format (it refers to a Swagger file that is
//! not part of the material). Everything below that the document does not name is natlab's
//! design: requests are `POST` with a JSON object body; responses are JSON objects with a
//! numeric `status` ([`WebStatus`]) and, on failure, a `message` naming it; the HTTP status
//! follows the JSON status ([`WebStatus::http`]). JSON keys use the glossary's lower-case
//! spelling: both the phone's `deviceMd5Mac` and the router's `routerMd5Mac` travel in
//! `devicemd5mac`, the field naming the device that makes (or is the subject of) the call.

/// `/aae/getservicearea` (Service Portal): which server the following calls go to.
pub const GET_SERVICE_AREA: &str = "/aae/getservicearea";
/// `/aae/login` (Service Area): app login with `userid`/`passwd`, or firmware login with tickets.
pub const LOGIN: &str = "/aae/login";
/// `/aae/getuserticketbyrefresh` (Service Area): a userticket for a refresh ticket.
pub const GET_USER_TICKET_BY_REFRESH: &str = "/aae/getuserticketbyrefresh";
/// `/aae/getuserrefreshticket` (Service Area): a refresh ticket for a userticket.
pub const GET_USER_REFRESH_TICKET: &str = "/aae/getuserrefreshticket";
/// `/aae/getdeviceinfo` (Service Unit, natlab's design): checks a `deviceid` and `deviceticket`
/// and returns the device's `cusid` and `devicemd5mac`. The document says only that the
/// deviceticket logs in to the Service Unit to obtain device data.
pub const GET_DEVICE_INFO: &str = "/aae/getdeviceinfo";

/// JSON field names.
pub mod field {
    /// Account name.
    pub const USERID: &str = "userid";
    /// Password.
    pub const PASSWD: &str = "passwd";
    /// Application id (`aae-ids.yaml`).
    pub const SID: &str = "sid";
    /// Device type (`aae-ids.yaml`).
    pub const DEVICETYPE: &str = "devicetype";
    /// The device's MD5 MAC (`deviceMd5Mac`, `routerMd5Mac`).
    pub const DEVICEMD5MAC: &str = "devicemd5mac";
    /// Customer id.
    pub const CUSID: &str = "cusid";
    /// Userticket.
    pub const USERTICKET: &str = "userticket";
    /// Userrefreshticket (login's output; the firmware's `routerrefreshticket` input).
    pub const USERREFRESHTICKET: &str = "userrefreshticket";
    /// The refresh ticket `/aae/getuserrefreshticket` returns (`routerrefreshticket`).
    pub const REFRESHTICKET: &str = "refreshticket";
    /// Device id.
    pub const DEVICEID: &str = "deviceid";
    /// Device ticket.
    pub const DEVICETICKET: &str = "deviceticket";
    /// The Service Area server (`ip:port`) `/aae/getservicearea` returns.
    pub const SERVICEAREA: &str = "servicearea";
    /// The Service Area's name.
    pub const AREA: &str = "area";
    /// natlab's status value.
    pub const STATUS: &str = "status";
    /// The status's name, on failures.
    pub const MESSAGE: &str = "message";
}

/// The prefix the app puts on the refresh ticket it hands to old firmware (new flow, step 7).
pub const OLD_PREFIX: &str = "old_";

/// The SID a client sends by default: "users who log in with a userticket" (`aae-ids.yaml`).
pub const DEFAULT_SID: &str = "1004";

/// Every SID of `aae-ids.yaml` (the userticket, OpenID and "other" tables), as strings.
pub const SIDS: &[&str] = &[
    "1004", "1004.1", "1004.2", "1004.3", "1004.4", "1004.5", "1004.6", "1004.7", "1004.8", "0000",
    "0001", "0001.01", "0002", "0003", "0004", "1001", "1002", "2001", "2001.01", "9999",
];

/// Every device type of `aae-ids.yaml`.
pub const DEVICE_TYPES: &[&str] = &[
    "01", "02", "03", "04", "05", "06", "07", "11", "12", "13", "14", "91", "92", "93",
];

/// natlab's JSON `status` values (the document defines none).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum WebStatus {
    /// 0: success (HTTP 200).
    Ok,
    /// 1: the body is not a JSON object or a required field is missing (HTTP 400).
    BadRequest,
    /// 2: unknown `userid` or wrong `passwd` (HTTP 401).
    AuthFailed,
    /// 3: the ticket was valid but its lifetime has passed (HTTP 401).
    TicketExpired,
    /// 4: unknown ticket, a ticket of another kind, or of another `cusid` (HTTP 401).
    TicketInvalid,
    /// 5: the ticket is bound to another device MD5 MAC (HTTP 403).
    DeviceMismatch,
    /// 6: the ticket was revoked: the router was bound to another account since (HTTP 403).
    DeviceRevoked,
    /// 7: the server refuses the service (policy) (HTTP 503).
    Unavailable,
    /// 8: no such endpoint on this server, or its role is not served here (HTTP 404).
    NotFound,
    /// 9: the `sid` or `devicetype` is not in `aae-ids.yaml` (HTTP 400).
    InvalidId,
}

impl WebStatus {
    /// Every status, by value.
    pub const ALL: [Self; 10] = [
        Self::Ok,
        Self::BadRequest,
        Self::AuthFailed,
        Self::TicketExpired,
        Self::TicketInvalid,
        Self::DeviceMismatch,
        Self::DeviceRevoked,
        Self::Unavailable,
        Self::NotFound,
        Self::InvalidId,
    ];

    /// The JSON value.
    pub const fn value(self) -> u32 {
        match self {
            Self::Ok => 0,
            Self::BadRequest => 1,
            Self::AuthFailed => 2,
            Self::TicketExpired => 3,
            Self::TicketInvalid => 4,
            Self::DeviceMismatch => 5,
            Self::DeviceRevoked => 6,
            Self::Unavailable => 7,
            Self::NotFound => 8,
            Self::InvalidId => 9,
        }
    }

    /// The status of a JSON value.
    pub fn from_value(v: u64) -> Option<Self> {
        Self::ALL.into_iter().find(|s| u64::from(s.value()) == v)
    }

    /// The name sent in `message` and shown in event details.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::BadRequest => "bad-request",
            Self::AuthFailed => "auth-failed",
            Self::TicketExpired => "ticket-expired",
            Self::TicketInvalid => "ticket-invalid",
            Self::DeviceMismatch => "device-mismatch",
            Self::DeviceRevoked => "device-revoked",
            Self::Unavailable => "unavailable",
            Self::NotFound => "not-found",
            Self::InvalidId => "invalid-id",
        }
    }

    /// The HTTP status that carries it.
    pub const fn http(self) -> u16 {
        match self {
            Self::Ok => 200,
            Self::BadRequest | Self::InvalidId => 400,
            Self::AuthFailed | Self::TicketExpired | Self::TicketInvalid => 401,
            Self::DeviceMismatch | Self::DeviceRevoked => 403,
            Self::NotFound => 404,
            Self::Unavailable => 503,
        }
    }
}

impl std::fmt::Display for WebStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (status {})", self.name(), self.value())
    }
}

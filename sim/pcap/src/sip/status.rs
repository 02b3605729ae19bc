//! SIP response status codes: the standard phrase and a short meaning for every code registered by
//! RFC 3261 and its extensions (RFC 3262, 3265, 3903, 4412, 6665, 8599 and the others listed in the
//! IANA registry), so a finding can explain a code the operator table does not list.
//!
//! Operator-specific meanings (a trunk reusing 409 for "not enough money") are not here: they come
//! from the catalog and take precedence when the code is listed there.

use serde::Serialize;
use std::fmt;

/// A response status code (100..=699).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct StatusCode(pub u16);

/// The six response classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusClass {
    /// 1xx: provisional.
    Provisional,
    /// 2xx: success.
    Success,
    /// 3xx: redirection.
    Redirection,
    /// 4xx: client error.
    ClientError,
    /// 5xx: server error.
    ServerError,
    /// 6xx: global failure.
    GlobalFailure,
}

impl StatusCode {
    /// 100 Trying.
    pub const TRYING: Self = Self(100);
    /// 180 Ringing.
    pub const RINGING: Self = Self(180);
    /// 200 OK.
    pub const OK: Self = Self(200);
    /// 401 Unauthorized.
    pub const UNAUTHORIZED: Self = Self(401);
    /// 403 Forbidden.
    pub const FORBIDDEN: Self = Self(403);
    /// 407 Proxy Authentication Required.
    pub const PROXY_AUTH_REQUIRED: Self = Self(407);
    /// 408 Request Timeout.
    pub const REQUEST_TIMEOUT: Self = Self(408);
    /// 481 Call/Transaction Does Not Exist.
    pub const CALL_DOES_NOT_EXIST: Self = Self(481);
    /// 487 Request Terminated.
    pub const REQUEST_TERMINATED: Self = Self(487);
    /// 488 Not Acceptable Here.
    pub const NOT_ACCEPTABLE_HERE: Self = Self(488);

    /// The class of the code.
    pub const fn class(self) -> StatusClass {
        match self.0 {
            0..=199 => StatusClass::Provisional,
            200..=299 => StatusClass::Success,
            300..=399 => StatusClass::Redirection,
            400..=499 => StatusClass::ClientError,
            500..=599 => StatusClass::ServerError,
            _ => StatusClass::GlobalFailure,
        }
    }

    /// 1xx.
    pub const fn is_provisional(self) -> bool {
        self.0 < 200
    }

    /// 2xx.
    pub const fn is_success(self) -> bool {
        self.0 >= 200 && self.0 < 300
    }

    /// 200 and above.
    pub const fn is_final(self) -> bool {
        self.0 >= 200
    }

    /// 300 and above: what the analyser reports as a finding.
    pub const fn is_failure(self) -> bool {
        self.0 >= 300
    }
}

impl fmt::Display for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What the standards say about one code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct StatusInfo {
    /// The code.
    pub code: u16,
    /// The standard reason phrase.
    pub phrase: &'static str,
    /// A one-sentence meaning.
    pub meaning: &'static str,
    /// The defining document (`RFC 3261`...).
    pub rfc: &'static str,
}

/// The standard entry for a code, if it is registered.
pub fn status_info(code: StatusCode) -> Option<StatusInfo> {
    TABLE
        .binary_search_by_key(&code.0, |&(c, ..)| c)
        .ok()
        .and_then(|i| TABLE.get(i))
        .map(|&(code, phrase, meaning, rfc)| StatusInfo {
            code,
            phrase,
            meaning,
            rfc,
        })
}

/// Every registered code, sorted: (code, phrase, meaning, RFC).
pub const TABLE: &[(u16, &str, &str, &str)] = &[
    (
        100,
        "Trying",
        "The next hop received the request and is working on it.",
        "RFC 3261",
    ),
    (
        180,
        "Ringing",
        "The callee's device is alerting the user.",
        "RFC 3261",
    ),
    (
        181,
        "Call Is Being Forwarded",
        "The call is being forwarded to another destination.",
        "RFC 3261",
    ),
    (
        182,
        "Queued",
        "The callee is busy; the call is queued.",
        "RFC 3261",
    ),
    (
        183,
        "Session Progress",
        "Call progress information, often with early media (SDP).",
        "RFC 3261",
    ),
    (
        199,
        "Early Dialog Terminated",
        "A forked early dialog was terminated before a final answer.",
        "RFC 6228",
    ),
    (200, "OK", "The request succeeded.", "RFC 3261"),
    (
        202,
        "Accepted",
        "The request was accepted for processing (deprecated for SUBSCRIBE/REFER by RFC 6665).",
        "RFC 3265",
    ),
    (
        204,
        "No Notification",
        "The subscription was accepted but no NOTIFY will be sent now.",
        "RFC 5839",
    ),
    (
        300,
        "Multiple Choices",
        "The address resolves to several destinations; the caller may pick one (Contact).",
        "RFC 3261",
    ),
    (
        301,
        "Moved Permanently",
        "The user is no longer at this address; retry at the Contact given.",
        "RFC 3261",
    ),
    (
        302,
        "Moved Temporarily",
        "Retry the request at the address in Contact (call forwarding / redirect server).",
        "RFC 3261",
    ),
    (
        305,
        "Use Proxy",
        "The request must be sent through the proxy named in Contact.",
        "RFC 3261",
    ),
    (
        380,
        "Alternative Service",
        "The call failed, but alternative services are described in the body.",
        "RFC 3261",
    ),
    (
        400,
        "Bad Request",
        "The request is syntactically wrong (a header is malformed or missing).",
        "RFC 3261",
    ),
    (
        401,
        "Unauthorized",
        "The registrar or UAS requires digest authentication (WWW-Authenticate); retry with Authorization.",
        "RFC 3261",
    ),
    (
        402,
        "Payment Required",
        "Reserved for future use.",
        "RFC 3261",
    ),
    (
        403,
        "Forbidden",
        "The server understood the request and refuses it; authenticating again will not help.",
        "RFC 3261",
    ),
    (
        404,
        "Not Found",
        "The user does not exist in the domain of the Request-URI.",
        "RFC 3261",
    ),
    (
        405,
        "Method Not Allowed",
        "The method is not allowed for this address (see Allow).",
        "RFC 3261",
    ),
    (
        406,
        "Not Acceptable",
        "The response content would not be acceptable according to the request's Accept headers.",
        "RFC 3261",
    ),
    (
        407,
        "Proxy Authentication Required",
        "A proxy requires digest authentication (Proxy-Authenticate); retry with Proxy-Authorization.",
        "RFC 3261",
    ),
    (
        408,
        "Request Timeout",
        "No final response could be obtained in time (the next hop did not answer).",
        "RFC 3261",
    ),
    (
        409,
        "Conflict",
        "The request conflicts with the current state of the resource (removed from RFC 3261).",
        "RFC 2543",
    ),
    (
        410,
        "Gone",
        "The user existed once but is no longer available here, with no forwarding address.",
        "RFC 3261",
    ),
    (
        411,
        "Length Required",
        "The server requires a Content-Length (removed from RFC 3261).",
        "RFC 2543",
    ),
    (
        412,
        "Conditional Request Failed",
        "The entity tag in SIP-If-Match does not match the server's state (PUBLISH).",
        "RFC 3903",
    ),
    (
        413,
        "Request Entity Too Large",
        "The body is larger than the server accepts.",
        "RFC 3261",
    ),
    (
        414,
        "Request-URI Too Long",
        "The Request-URI is longer than the server accepts.",
        "RFC 3261",
    ),
    (
        415,
        "Unsupported Media Type",
        "The body format (Content-Type/Encoding) is not supported.",
        "RFC 3261",
    ),
    (
        416,
        "Unsupported URI Scheme",
        "The Request-URI scheme is not supported.",
        "RFC 3261",
    ),
    (
        417,
        "Unknown Resource-Priority",
        "The Resource-Priority header names an unknown namespace or priority.",
        "RFC 4412",
    ),
    (
        420,
        "Bad Extension",
        "The server does not support an extension listed in Proxy-Require or Require (e.g. 100rel).",
        "RFC 3261",
    ),
    (
        421,
        "Extension Required",
        "The UAS needs an extension (listed in Require) that the request did not offer in Supported.",
        "RFC 3261",
    ),
    (
        422,
        "Session Interval Too Small",
        "The Session-Expires value is below the server's minimum (Min-SE).",
        "RFC 4028",
    ),
    (
        423,
        "Interval Too Brief",
        "The requested registration or subscription expiry is too short (see Min-Expires).",
        "RFC 3261",
    ),
    (
        424,
        "Bad Location Information",
        "The location information in the request was malformed or unsatisfactory.",
        "RFC 6442",
    ),
    (
        425,
        "Bad Alert Message",
        "The alert information in the request was not acceptable.",
        "RFC 8876",
    ),
    (
        428,
        "Use Identity Header",
        "The server requires an Identity header and none was present.",
        "RFC 8224",
    ),
    (
        429,
        "Provide Referrer Identity",
        "The referrer must supply a Referred-By token.",
        "RFC 3892",
    ),
    (
        430,
        "Flow Failed",
        "A SIP Outbound flow to the user agent has failed.",
        "RFC 5626",
    ),
    (
        433,
        "Anonymity Disallowed",
        "The request was rejected because it was anonymous.",
        "RFC 5079",
    ),
    (
        436,
        "Bad Identity Info",
        "The Identity header's info could not be used.",
        "RFC 8224",
    ),
    (
        437,
        "Unsupported Credential",
        "The credential used to sign the request is not supported.",
        "RFC 8224",
    ),
    (
        438,
        "Invalid Identity Header",
        "The Identity header's signature did not verify.",
        "RFC 8224",
    ),
    (
        439,
        "First Hop Lacks Outbound Support",
        "The first hop does not support SIP Outbound (RFC 5626).",
        "RFC 5626",
    ),
    (
        440,
        "Max-Breadth Exceeded",
        "Forking would exceed the Max-Breadth limit.",
        "RFC 5393",
    ),
    (
        469,
        "Bad Info Package",
        "The INFO package is not supported for this dialog.",
        "RFC 6086",
    ),
    (
        470,
        "Consent Needed",
        "The recipient has not consented to receive requests from this source.",
        "RFC 5360",
    ),
    (
        480,
        "Temporarily Unavailable",
        "The callee is currently unavailable (not registered, do-not-disturb, no route).",
        "RFC 3261",
    ),
    (
        481,
        "Call/Transaction Does Not Exist",
        "The request matches no dialog or transaction at the server (e.g. a PRACK whose RAck matches no reliable provisional response).",
        "RFC 3261",
    ),
    (
        482,
        "Loop Detected",
        "The request looped back to a server it already passed.",
        "RFC 3261",
    ),
    (
        483,
        "Too Many Hops",
        "Max-Forwards reached zero.",
        "RFC 3261",
    ),
    (
        484,
        "Address Incomplete",
        "The Request-URI is incomplete (overlap dialling: more digits needed).",
        "RFC 3261",
    ),
    (
        485,
        "Ambiguous",
        "The Request-URI is ambiguous.",
        "RFC 3261",
    ),
    (
        486,
        "Busy Here",
        "The callee is busy at this end system.",
        "RFC 3261",
    ),
    (
        487,
        "Request Terminated",
        "The request was terminated by a CANCEL or BYE.",
        "RFC 3261",
    ),
    (
        488,
        "Not Acceptable Here",
        "The session description is not acceptable (codecs, media transport or SRTP profile).",
        "RFC 3261",
    ),
    (
        489,
        "Bad Event",
        "The event package in SUBSCRIBE/NOTIFY/PUBLISH is not supported (first defined by RFC 3265).",
        "RFC 6665",
    ),
    (
        491,
        "Request Pending",
        "Another request (e.g. a re-INVITE) is pending in this dialog; retry later.",
        "RFC 3261",
    ),
    (
        493,
        "Undecipherable",
        "An S/MIME body could not be decrypted.",
        "RFC 3261",
    ),
    (
        494,
        "Security Agreement Required",
        "The server requires a security mechanism agreement (Security-Server).",
        "RFC 3329",
    ),
    (
        500,
        "Server Internal Error",
        "The server hit an unexpected condition.",
        "RFC 3261",
    ),
    (
        501,
        "Not Implemented",
        "The server does not implement the method.",
        "RFC 3261",
    ),
    (
        502,
        "Bad Gateway",
        "A gateway or proxy received an invalid response from the next hop.",
        "RFC 3261",
    ),
    (
        503,
        "Service Unavailable",
        "The server is overloaded or in maintenance (see Retry-After).",
        "RFC 3261",
    ),
    (
        504,
        "Server Time-out",
        "A server it relied on did not answer in time.",
        "RFC 3261",
    ),
    (
        505,
        "Version Not Supported",
        "The SIP version is not supported.",
        "RFC 3261",
    ),
    (
        513,
        "Message Too Large",
        "The message is larger than the server can process.",
        "RFC 3261",
    ),
    (
        555,
        "Push Notification Service Not Supported",
        "The push notification service in the request is not supported.",
        "RFC 8599",
    ),
    (
        580,
        "Precondition Failure",
        "Required preconditions (e.g. QoS) could not be met.",
        "RFC 3312",
    ),
    (
        600,
        "Busy Everywhere",
        "The callee is busy everywhere; do not try elsewhere.",
        "RFC 3261",
    ),
    (
        603,
        "Decline",
        "The callee explicitly declined the call.",
        "RFC 3261",
    ),
    (
        604,
        "Does Not Exist Anywhere",
        "The user does not exist anywhere.",
        "RFC 3261",
    ),
    (
        606,
        "Not Acceptable",
        "The user's agent was contacted but some aspect of the session is not acceptable.",
        "RFC 3261",
    ),
    (
        607,
        "Unwanted",
        "The called party did not want this call (unwanted call / call blocking).",
        "RFC 8197",
    ),
    (
        608,
        "Rejected",
        "An intermediary rejected the call (e.g. a call-analytics engine).",
        "RFC 8688",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_table_is_sorted_and_unique() {
        assert!(TABLE.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn status_rfc3261_codes_are_all_present() {
        let rfc3261 = [
            100, 180, 181, 182, 183, 200, 300, 301, 302, 305, 380, 400, 401, 402, 403, 404, 405,
            406, 407, 408, 410, 413, 414, 415, 416, 420, 421, 423, 480, 481, 482, 483, 484, 485,
            486, 487, 488, 491, 493, 500, 501, 502, 503, 504, 505, 513, 600, 603, 604, 606,
        ];
        for c in rfc3261 {
            let info = status_info(StatusCode(c)).unwrap();
            assert_eq!(info.rfc, "RFC 3261", "{c}");
        }
        assert_eq!(status_info(StatusCode(412)).unwrap().rfc, "RFC 3903");
        assert_eq!(status_info(StatusCode(417)).unwrap().rfc, "RFC 4412");
        assert_eq!(status_info(StatusCode(489)).unwrap().rfc, "RFC 6665");
        assert_eq!(status_info(StatusCode(555)).unwrap().rfc, "RFC 8599");
        assert!(status_info(StatusCode(499)).is_none());
    }
}

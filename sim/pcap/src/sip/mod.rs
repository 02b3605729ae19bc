//! SIP on the wire: a zero-copy message scanner ([`scan()`]), header-value helpers, a minimal SDP
//! reader and the table of standard response codes.
//!
//! The scanner never allocates and never fails on bytes it does not understand: it records where
//! the fields the analyser needs are ([`Scanned`], spans into the message) and says *why* a message
//! cannot be used ([`Malformed`]). It accepts compact header forms, folded (continued) header lines,
//! bare-LF line ends, unknown methods, IPv6 references, a missing reason phrase and non-UTF-8 bytes.

pub mod scan;
pub mod sdp;
pub mod status;
pub mod value;

pub use scan::{
    Defect, Framed, Malformed, Mode, ScanError, Scanned, Span, StartLine, StartState,
    looks_like_sip, scan, scan_stream, start_state,
};
pub use status::{StatusCode, StatusInfo, status_info};

/// A SIP method. Extension methods are [`Method::Other`]; their name is in the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Method {
    /// INVITE (RFC 3261).
    Invite,
    /// ACK (RFC 3261).
    Ack,
    /// BYE (RFC 3261).
    Bye,
    /// CANCEL (RFC 3261).
    Cancel,
    /// REGISTER (RFC 3261).
    Register,
    /// OPTIONS (RFC 3261).
    Options,
    /// PRACK (RFC 3262).
    Prack,
    /// SUBSCRIBE (RFC 6665).
    Subscribe,
    /// NOTIFY (RFC 6665).
    Notify,
    /// PUBLISH (RFC 3903).
    Publish,
    /// INFO (RFC 6086).
    Info,
    /// REFER (RFC 3515).
    Refer,
    /// MESSAGE (RFC 3428).
    Message,
    /// UPDATE (RFC 3311).
    Update,
    /// Any other token.
    #[default]
    Other,
}

impl Method {
    /// Recognises a method token (case-sensitive, as RFC 3261 requires; lower case is accepted).
    pub fn from_token(t: &[u8]) -> Self {
        const KNOWN: [(&[u8], Method); 14] = [
            (b"INVITE", Method::Invite),
            (b"ACK", Method::Ack),
            (b"BYE", Method::Bye),
            (b"CANCEL", Method::Cancel),
            (b"REGISTER", Method::Register),
            (b"OPTIONS", Method::Options),
            (b"PRACK", Method::Prack),
            (b"SUBSCRIBE", Method::Subscribe),
            (b"NOTIFY", Method::Notify),
            (b"PUBLISH", Method::Publish),
            (b"INFO", Method::Info),
            (b"REFER", Method::Refer),
            (b"MESSAGE", Method::Message),
            (b"UPDATE", Method::Update),
        ];
        KNOWN
            .iter()
            .find(|(name, _)| name.len() == t.len() && name.eq_ignore_ascii_case(t))
            .map_or(Self::Other, |(_, m)| *m)
    }

    /// The method's name (`OTHER` for extension methods).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Invite => "INVITE",
            Self::Ack => "ACK",
            Self::Bye => "BYE",
            Self::Cancel => "CANCEL",
            Self::Register => "REGISTER",
            Self::Options => "OPTIONS",
            Self::Prack => "PRACK",
            Self::Subscribe => "SUBSCRIBE",
            Self::Notify => "NOTIFY",
            Self::Publish => "PUBLISH",
            Self::Info => "INFO",
            Self::Refer => "REFER",
            Self::Message => "MESSAGE",
            Self::Update => "UPDATE",
            Self::Other => "OTHER",
        }
    }
}

/// A scanned message: its bytes and where its fields are.
#[derive(Clone, Copy, Debug)]
pub struct SipMessage<'a> {
    /// The whole message (headers and body).
    pub bytes: &'a [u8],
    /// Field positions.
    pub fields: &'a Scanned,
}

impl<'a> SipMessage<'a> {
    /// The bytes of a span (empty when the span is absent or out of range).
    pub fn get(&self, span: Span) -> &'a [u8] {
        span.get(self.bytes)
    }

    /// The Call-ID (trimmed; empty when absent).
    pub fn call_id(&self) -> &'a [u8] {
        self.get(self.fields.call_id)
    }

    /// The message body.
    pub fn body(&self) -> &'a [u8] {
        self.get(self.fields.body)
    }

    /// The status code of a response.
    pub const fn status(&self) -> Option<StatusCode> {
        match self.fields.start {
            StartLine::Response { code, .. } => Some(code),
            StartLine::Request { .. } => None,
        }
    }

    /// The method of a request.
    pub const fn request_method(&self) -> Option<Method> {
        match self.fields.start {
            StartLine::Request { method, .. } => Some(method),
            StartLine::Response { .. } => None,
        }
    }

    /// The method name as written (for requests the start line, for responses the CSeq).
    pub fn method_name(&self) -> &'a [u8] {
        match self.fields.start {
            StartLine::Request { method_span, .. } => self.get(method_span),
            StartLine::Response { .. } => self.get(self.fields.cseq_method_span),
        }
    }

    /// The reason phrase of a response.
    pub fn reason(&self) -> &'a [u8] {
        match self.fields.start {
            StartLine::Response { reason, .. } => self.get(reason),
            StartLine::Request { .. } => &[],
        }
    }

    /// The first Via value (up to the first comma).
    pub fn top_via(&self) -> &'a [u8] {
        value::first_element(self.get(self.fields.via))
    }

    /// The `branch` parameter of the top Via.
    pub fn branch(&self) -> &'a [u8] {
        value::param(self.top_via(), b"branch").unwrap_or_default()
    }

    /// The `tag` parameter of From.
    pub fn from_tag(&self) -> &'a [u8] {
        value::param(value::after_uri(self.get(self.fields.from)), b"tag").unwrap_or_default()
    }

    /// The `tag` parameter of To.
    pub fn to_tag(&self) -> &'a [u8] {
        value::param(value::after_uri(self.get(self.fields.to)), b"tag").unwrap_or_default()
    }
}

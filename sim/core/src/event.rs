use std::borrow::Cow;

/// One entry of a run's event log, in the shape every core reports.
///
/// A core keeps its own typed events (`poll_event`); the world turns each into a `LogEvent`,
/// stamps it with the simulated time and the node, writes it to `events.jsonl` and checks the
/// scenario's `event` and `sequence` expectations against it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct LogEvent {
    /// The documented name (an AAE event such as `NATNL_TNL_EVENT_INIT_OK`, a softphone callback
    /// such as `onRegisterSuccess`) or, for natlab's own cores, their event name
    /// (`probe-started`).
    #[serde(rename = "event")]
    pub name: Cow<'static, str>,
    /// The documented event number, where the catalog gives one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<u32>,
    /// The status code the event carries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u32>,
    /// The SIP message the event is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sip: Option<SipSummary>,
    /// Addresses, ports, reasons: what a reader needs to understand the event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl LogEvent {
    /// An event with only a name.
    pub fn named(name: impl Into<Cow<'static, str>>) -> Self {
        Self {
            name: name.into(),
            code: None,
            status: None,
            sip: None,
            detail: None,
        }
    }

    /// The same event with a documented number.
    #[must_use]
    pub const fn with_code(mut self, code: u32) -> Self {
        self.code = Some(code);
        self
    }

    /// The same event carrying a status code.
    #[must_use]
    pub const fn with_status(mut self, status: u32) -> Self {
        self.status = Some(status);
        self
    }

    /// The same event about a SIP message.
    #[must_use]
    pub fn with_sip(mut self, method: impl Into<String>, status: Option<u16>) -> Self {
        self.sip = Some(SipSummary {
            method: method.into(),
            status,
        });
        self
    }

    /// The same event with a detail text.
    #[must_use]
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}

/// The SIP message an event is about: its method (the CSeq method for a response) and, for a
/// response, its status code.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SipSummary {
    /// Method.
    pub method: String,
    /// Status code of a response; `None` for a request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
}

//! The SDK's events (the 28 of `aae-events.yaml`) and the status codes this endpoint produces.

use sim_core::LogEvent;
use std::fmt::Write as _;

/// An AAE SDK event code, by its documented name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u32)]
pub enum EventCode {
    /// 0 `NATNL_INV_EVENT_NULL`.
    Null = 0,
    /// 1 `NATNL_INV_EVENT_CALLING`: the INVITE was sent.
    Calling = 1,
    /// 2 `NATNL_INV_EVENT_INCOMING`: an INVITE arrived.
    Incoming = 2,
    /// 3 `NATNL_INV_EVENT_EARLY`: a provisional response with a To tag was sent or received.
    Early = 3,
    /// 4 `NATNL_INV_EVENT_CONNECTING`: 2xx sent (callee) or received (caller).
    Connecting = 4,
    /// 5 `NATNL_INV_EVENT_CONFIRMED`: ACK sent (caller) or received (callee).
    Confirmed = 5,
    /// 6 `NATNL_INV_EVENT_DISCONNECTED`: the session ended.
    Disconnected = 6,
    /// 60000 `NATNL_SIP_EVENT_REG`.
    SipReg = 60000,
    /// 60001 `NATNL_SIP_EVENT_UNREG`.
    SipUnreg = 60001,
    /// 60002 `NATNL_TNL_STUN_EVENT_KA_TIMEOUT`.
    KaTimeout = 60002,
    /// 60003 `NATNL_TNL_EVENT_START`.
    TunnelStart = 60003,
    /// 60004 `NATNL_TNL_EVENT_STOP`.
    TunnelStop = 60004,
    /// 60005 `NATNL_TNL_EVENT_NAT_TYPE_DETECTED`.
    NatTypeDetected = 60005,
    /// 60100 `NATNL_TNL_EVENT_INIT_OK`.
    InitOk = 60100,
    /// 60101 `NATNL_TNL_EVENT_INIT_FAILED`.
    InitFailed = 60101,
    /// 60102 `NATNL_TNL_EVENT_DEINIT_OK`.
    DeinitOk = 60102,
    /// 60103 `NATNL_TNL_EVENT_DEINIT_FAILED`.
    DeinitFailed = 60103,
    /// 60104 `NATNL_TNL_EVENT_MAKECALL_OK`.
    MakeCallOk = 60104,
    /// 60105 `NATNL_TNL_EVENT_MAKECALL_FAILED`.
    MakeCallFailed = 60105,
    /// 60106 `NATNL_TNL_EVENT_HANGUP_OK`.
    HangupOk = 60106,
    /// 60107 `NATNL_TNL_EVENT_HANGUP_FAILED`.
    HangupFailed = 60107,
    /// 60108 `NATNL_TNL_EVENT_IP_CHANGED`.
    IpChanged = 60108,
    /// 60109 `NATNL_TNL_EVENT_REG_OK`.
    RegOk = 60109,
    /// 60110 `NATNL_TNL_EVENT_REG_FAILED`.
    RegFailed = 60110,
    /// 60111 `NATNL_TNL_EVENT_UNREG_OK`.
    UnregOk = 60111,
    /// 60112 `NATNL_TNL_EVENT_UNREG_FAILED`.
    UnregFailed = 60112,
    /// 60113 `NATNL_TNL_EVENT_IDLE_TIMEOUT`.
    IdleTimeout = 60113,
    /// 60114 `NATNL_TNL_EVENT_DEADLOCK`.
    Deadlock = 60114,
}

impl EventCode {
    /// The documented number.
    pub const fn code(self) -> u32 {
        self as u32
    }

    /// The documented name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Null => "NATNL_INV_EVENT_NULL",
            Self::Calling => "NATNL_INV_EVENT_CALLING",
            Self::Incoming => "NATNL_INV_EVENT_INCOMING",
            Self::Early => "NATNL_INV_EVENT_EARLY",
            Self::Connecting => "NATNL_INV_EVENT_CONNECTING",
            Self::Confirmed => "NATNL_INV_EVENT_CONFIRMED",
            Self::Disconnected => "NATNL_INV_EVENT_DISCONNECTED",
            Self::SipReg => "NATNL_SIP_EVENT_REG",
            Self::SipUnreg => "NATNL_SIP_EVENT_UNREG",
            Self::KaTimeout => "NATNL_TNL_STUN_EVENT_KA_TIMEOUT",
            Self::TunnelStart => "NATNL_TNL_EVENT_START",
            Self::TunnelStop => "NATNL_TNL_EVENT_STOP",
            Self::NatTypeDetected => "NATNL_TNL_EVENT_NAT_TYPE_DETECTED",
            Self::InitOk => "NATNL_TNL_EVENT_INIT_OK",
            Self::InitFailed => "NATNL_TNL_EVENT_INIT_FAILED",
            Self::DeinitOk => "NATNL_TNL_EVENT_DEINIT_OK",
            Self::DeinitFailed => "NATNL_TNL_EVENT_DEINIT_FAILED",
            Self::MakeCallOk => "NATNL_TNL_EVENT_MAKECALL_OK",
            Self::MakeCallFailed => "NATNL_TNL_EVENT_MAKECALL_FAILED",
            Self::HangupOk => "NATNL_TNL_EVENT_HANGUP_OK",
            Self::HangupFailed => "NATNL_TNL_EVENT_HANGUP_FAILED",
            Self::IpChanged => "NATNL_TNL_EVENT_IP_CHANGED",
            Self::RegOk => "NATNL_TNL_EVENT_REG_OK",
            Self::RegFailed => "NATNL_TNL_EVENT_REG_FAILED",
            Self::UnregOk => "NATNL_TNL_EVENT_UNREG_OK",
            Self::UnregFailed => "NATNL_TNL_EVENT_UNREG_FAILED",
            Self::IdleTimeout => "NATNL_TNL_EVENT_IDLE_TIMEOUT",
            Self::Deadlock => "NATNL_TNL_EVENT_DEADLOCK",
        }
    }
}

/// Status codes (`aae-status.yaml`) this endpoint reports, each named as the catalog names it.
pub mod status {
    /// `PJ_EINVAL`: invalid argument.
    pub const PJ_EINVAL: u32 = 70_004;
    /// `PJ_ECANCELLED`: an operation in flight (the call's ICE gathering) was cancelled.
    pub const PJ_ECANCELLED: u32 = 70_014;
    /// `PJSIP_EINVALIDURI`: the callee's device id makes no valid SIP URI.
    pub const PJSIP_EINVALIDURI: u32 = 171_039;
    /// `PJSIP_EURITOOLONG`: the callee's URI is longer than pjsip accepts.
    pub const PJSIP_EURITOOLONG: u32 = 171_043;
    /// `PJ_EBUSY`: a registration is already in progress.
    pub const PJ_EBUSY: u32 = 70_011;
    /// `PJSIP_EFAILEDCREDENTIAL`: the server challenged the credentials again (401 loop).
    pub const PJSIP_EFAILEDCREDENTIAL: u32 = 171_100;
    /// `PJSIP_ESESSIONTERMINATED`: the call already ended.
    pub const PJSIP_ESESSIONTERMINATED: u32 = 171_140;
    /// `NATNL_SC_TNL_CREATE_SOCK_FAILED`: the tunnel's local port is in use.
    pub const TNL_CREATE_SOCK_FAILED: u32 = 60_000_001;
    /// `NATNL_SC_TNL_ANOTHER_CALL_ALREADY_MADE`.
    pub const TNL_ANOTHER_CALL_ALREADY_MADE: u32 = 60_000_003;
    /// `NATNL_SC_ALREADY_INITED`.
    pub const ALREADY_INITED: u32 = 60_000_004;
    /// `NATNL_SC_NOT_INITED`.
    pub const NOT_INITED: u32 = 60_000_005;
    /// `NATNL_SC_MAKE_CALL_TIMEOUT`.
    pub const MAKE_CALL_TIMEOUT: u32 = 60_000_006;
    /// `NATNL_SC_IP_CHANGED`.
    pub const IP_CHANGED: u32 = 60_000_007;
    /// `NATNL_SC_DE_INITIALIZING`.
    pub const DE_INITIALIZING: u32 = 60_000_011;
    /// `NATNL_SC_INITIALIZING`.
    pub const INITIALIZING: u32 = 60_000_012;
    /// `NATNL_SC_CONNECT_TO_SIP_TIMEOUT`.
    pub const CONNECT_TO_SIP_TIMEOUT: u32 = 60_000_013;
    /// `NATNL_SC_UDT_CONNECT_FAILED`.
    pub const UDT_CONNECT_FAILED: u32 = 60_000_015;
    /// `NATNL_SC_TNL_TIMEOUT`, defined by the public SDK header but absent from the document:
    /// the hang-up status after a keep-alive timeout. Carried in the detail only.
    pub const TNL_TIMEOUT_UNDOCUMENTED: u32 = 60_000_009;
    /// `NATNL_SC_IDLE_TIMEOUT`, likewise undocumented: the hang-up status after 60113.
    pub const IDLE_TIMEOUT_UNDOCUMENTED: u32 = 60_000_010;
}

/// The SDK functions whose refused calls are logged under their own name (a synchronous
/// return code with no documented event).
pub const API_FUNCTIONS: &[&str] = &[
    "natnl_lib_init",
    "natnl_lib_deinit",
    "natnl_make_call",
    "natnl_hangup_call",
    "natnl_reg_device",
    "natnl_unreg_device",
    "natnl_send_instant_msg",
];

/// The tunnel type 60104 reports (`tnl_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TunnelType {
    /// 1: over TCP.
    Tcp = 1,
    /// 2: through a TURN relay.
    Turn = 2,
    /// 3: direct UDP.
    Udp = 3,
}

impl TunnelType {
    /// The documented name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Tcp => "TCP",
            Self::Turn => "TURN",
            Self::Udp => "UDP",
        }
    }
}

/// What the endpoint reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AaeEvent {
    /// A documented SDK event.
    Sdk {
        /// Which.
        code: EventCode,
        /// The status code it carries.
        status: Option<u32>,
        /// The call it is about.
        call: Option<u32>,
        /// What a reader needs: addresses, nat_type, tnl_type, the cause in words.
        detail: String,
    },
    /// A refused API call: the synchronous return code of an SDK function.
    Refused {
        /// The SDK function (one of [`API_FUNCTIONS`]).
        function: &'static str,
        /// The return code.
        status: u32,
        /// Why.
        reason: String,
    },
    /// Application data arrived through a tunnel (natlab's own event `tunnel-data`): the
    /// running total and its SHA-256, to compare with what the sender sent.
    Data {
        /// The call.
        call: u32,
        /// Bytes received so far on this call.
        bytes: u64,
        /// SHA-256 of every byte received so far, hex.
        sha256: String,
    },
    /// The NAT-type detector's legacy mapped-address check (`stun-mapped-address-check`).
    Detector(LogEvent),
    /// `send_data` found no tunnel up (`tunnel-data-dropped`).
    DataDropped {
        /// Bytes the application wanted to send.
        bytes: u64,
        /// Why.
        reason: String,
    },
    /// An event of a call's ICE agent or tunnel, under its own name (`connected`,
    /// `check-failed`, `tunnel-connected`...).
    Inner {
        /// The call.
        call: u32,
        /// The sub-core's event.
        log: LogEvent,
    },
    /// Application data was written into a tunnel (`tunnel-data-sent`).
    DataSent {
        /// The call.
        call: u32,
        /// Bytes written so far on this call.
        bytes: u64,
        /// SHA-256 of every byte written so far, hex.
        sha256: String,
    },
}

/// natlab's own event names an AAE endpoint logs besides the SDK's.
pub const OWN_EVENTS: &[&str] = &[
    "tunnel-data",
    "tunnel-data-sent",
    "tunnel-data-dropped",
    "stun-mapped-address-check",
];

impl AaeEvent {
    pub(crate) fn sdk(code: EventCode, status: Option<u32>, call: Option<u32>) -> Self {
        Self::Sdk {
            code,
            status,
            call,
            detail: String::new(),
        }
    }

    pub(crate) fn with_detail(mut self, text: impl Into<String>) -> Self {
        if let Self::Sdk { detail, .. } = &mut self {
            *detail = text.into();
        }
        self
    }

    /// The SDK event code, for documented events.
    pub const fn code(&self) -> Option<EventCode> {
        match self {
            Self::Sdk { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// The status code carried, if any.
    pub const fn status(&self) -> Option<u32> {
        match self {
            Self::Sdk { status, .. } => *status,
            Self::Refused { status, .. } => Some(*status),
            _ => None,
        }
    }
}

impl From<&AaeEvent> for LogEvent {
    fn from(e: &AaeEvent) -> Self {
        match e {
            AaeEvent::Sdk {
                code,
                status,
                call,
                detail,
            } => {
                let mut text = String::new();
                if let Some(c) = call {
                    let _ = write!(text, "call={c}");
                }
                if !detail.is_empty() {
                    if !text.is_empty() {
                        text.push(' ');
                    }
                    text.push_str(detail);
                }
                let mut log = Self::named(code.name()).with_code(code.code());
                if let Some(s) = status {
                    log = log.with_status(*s);
                }
                if text.is_empty() {
                    log
                } else {
                    log.with_detail(text)
                }
            }
            AaeEvent::Refused {
                function,
                status,
                reason,
            } => Self::named(*function)
                .with_status(*status)
                .with_detail(reason.clone()),
            AaeEvent::Data {
                call,
                bytes,
                sha256,
            } => Self::named("tunnel-data")
                .with_detail(format!("call={call} bytes={bytes} sha256={sha256}")),
            AaeEvent::Detector(log) => log.clone(),
            AaeEvent::DataDropped { bytes, reason } => {
                Self::named("tunnel-data-dropped").with_detail(format!("{bytes} bytes: {reason}"))
            }
            AaeEvent::Inner { call, log } => {
                let mut log = log.clone();
                log.detail = Some(match log.detail.take() {
                    Some(d) => format!("call={call} {d}"),
                    None => format!("call={call}"),
                });
                log
            }
            AaeEvent::DataSent {
                call,
                bytes,
                sha256,
            } => Self::named("tunnel-data-sent")
                .with_detail(format!("call={call} bytes={bytes} sha256={sha256}")),
        }
    }
}

//! The softphone endpoint: a SIP UA following the softphone SDK's API (`registerServer`,
//! `call`, `answerCall`, `rejectCall`, `hangUp`, `hold`, `unHold`, `refer`, `sendDtmf`,
//! `sendOutOfDialogMessage`, ...) and reporting its callbacks (`onRegisterSuccess`,
//! `onInviteFailure`, ...) as [`SoftphoneEvent`]s.
//!
//! Every request goes to the configured server (an outbound proxy), over UDP from
//! `local_port` or over one TCP connection the phone opens. RFC 2833 DTMF travels as RTP
//! telephone-event packets between the phones' media ports (`rtp_port`).

use crate::digest::{Authorization, Challenge};
use crate::message::{Frame, Method, NameAddr, ParseError, SipMessage, SipUri};
use crate::sdp::{Direction, Profile, Sdp};
use crate::transaction::{ClientTransaction, ServerTransaction, TimerConfig, TxKey, TxOutput};
use crate::transport::{Conns, Flow, branch, response_flow, token};
use bytes::Bytes;
use rand_core::RngCore;
use sim_core::{
    Addresses, Binding, Bound, Datagram, LogEvent, Node, SimInstant, SimRng, StreamCommand,
    StreamEvent, StreamId, Transmit,
};
use std::collections::{BTreeMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

/// Signalling transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SipTransport {
    /// UDP from `local_port`.
    Udp,
    /// One TCP connection to the server.
    Tcp,
}

/// `setReliableProvisional` modes (RFC 3262).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum PrackMode {
    /// 0: never send reliable provisionals (default).
    #[default]
    Never,
    /// 1: only with a body, if the far end supports 100rel.
    SupportedEssential,
    /// 2: always, if the far end supports 100rel.
    Supported,
    /// 3: always (Require: 100rel).
    Required,
}

impl PrackMode {
    /// The mode for the SDK's number (0–3); `None` outside.
    pub const fn from_number(n: u8) -> Option<Self> {
        match n {
            0 => Some(Self::Never),
            1 => Some(Self::SupportedEssential),
            2 => Some(Self::Supported),
            3 => Some(Self::Required),
            _ => None,
        }
    }
}

/// `setSrtpPolicy`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SrtpPolicy {
    /// Plain RTP only (RTP/AVP); an SRTP offer is refused with 488.
    #[default]
    None,
    /// Offer plain RTP, accept either.
    Prefer,
    /// SRTP only (RTP/SAVP); a plain offer is refused with 488.
    Force,
}

/// DTMF method of `sendDtmf`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DtmfMethod {
    /// RTP telephone-event (RFC 2833/4733).
    Rfc2833,
    /// SIP INFO `application/dtmf-relay`.
    Info,
}

/// What a SIP keep-alive is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum KeepAliveKind {
    /// RFC 5626 CRLF CRLF (UDP datagram or on the TCP connection).
    #[default]
    Crlf,
    /// An OPTIONS request to the server.
    Options,
}

/// Deliberate misbehaviour, for the trunk rows caused by the UA.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UaFaults {
    /// Send PRACK with RAck RSeq off by one (trunk row 9: 481).
    pub wrong_rack: bool,
    /// Leave this header out of every request (trunk row 2: a malformed request, 400).
    pub omit_header: Option<String>,
}

/// The softphone's configuration (`setUser`, `registerServer` and the settings functions).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SoftphoneConfig {
    /// SIP user name (`userName`).
    pub user: String,
    /// Authorization name (`authName`); the user name when `None`.
    pub auth_name: Option<String>,
    /// Password.
    pub password: String,
    /// Display name.
    pub display_name: Option<String>,
    /// SIP domain.
    pub domain: String,
    /// Realm the credentials are for; `None` answers any realm.
    pub realm: Option<String>,
    /// SIP server (`sipServerAddr:sipServerPort`).
    pub server: SocketAddr,
    /// Local SIP port (`localSIPPort`).
    pub local_port: u16,
    /// Local RTP port.
    pub rtp_port: u16,
    /// Transport.
    pub transport: SipTransport,
    /// `registerServer` expires (seconds, at most 3600).
    pub register_expires: u32,
    /// `registerServer` retryTimes (≤ 0: no retry).
    pub retry_times: i32,
    /// `setKeepAliveTime` (0 = off).
    pub keep_alive: Duration,
    /// What the keep-alive sends.
    pub keep_alive_kind: KeepAliveKind,
    /// `enableRport`.
    pub rport: bool,
    /// `setReliableProvisional`.
    pub prack: PrackMode,
    /// `setSrtpPolicy`.
    pub srtp: SrtpPolicy,
    /// `enableSessionTimer` seconds (≥ 90), or off.
    pub session_timer: Option<u32>,
    /// `addSipMessageHeader`: headers added to every INVITE.
    pub extra_headers: Vec<(String, String)>,
    /// `setDoNotDisturb`.
    pub dnd: bool,
    /// `enableEarlyMedia`: as callee, answer an INVITE with 183 Session Progress carrying the
    /// SDP answer (early media) instead of 180 Ringing.
    pub early_media: bool,
    /// Transaction timers.
    pub timers: TimerConfig,
    /// User-Agent.
    pub user_agent: String,
    /// Fault switches.
    pub faults: UaFaults,
    /// How long before expiry the registration is refreshed ([`REGISTER_REFRESH_MARGIN`];
    /// the intercom's documented 6 s).
    pub refresh_margin: Duration,
    /// Calls held at once; an INVITE beyond it is answered 486 before any session exists (no
    /// callback). `None`: no limit.
    pub max_calls: Option<usize>,
}

impl SoftphoneConfig {
    /// A UDP softphone for `user@domain` registering to `server` for 3600 s from port 5060.
    pub fn new(user: &str, password: &str, domain: &str, server: SocketAddr) -> Self {
        Self {
            user: user.to_string(),
            auth_name: None,
            password: password.to_string(),
            display_name: None,
            domain: domain.to_string(),
            realm: None,
            server,
            local_port: 5060,
            rtp_port: 4000,
            transport: SipTransport::Udp,
            register_expires: 3600,
            retry_times: 0,
            keep_alive: Duration::ZERO,
            keep_alive_kind: KeepAliveKind::Crlf,
            rport: true,
            prack: PrackMode::Never,
            srtp: SrtpPolicy::None,
            session_timer: None,
            extra_headers: Vec::new(),
            dnd: false,
            early_media: false,
            timers: TimerConfig::default(),
            user_agent: "natlab-softphone".into(),
            faults: UaFaults::default(),
            refresh_margin: REGISTER_REFRESH_MARGIN,
            max_calls: None,
        }
    }
}

/// A media description chosen by the application: the address and port of `c=`/`m=` and extra
/// attributes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalMedia {
    /// Connection address.
    pub address: String,
    /// Media port.
    pub port: u16,
    /// Attributes, as written after `a=`.
    pub attributes: Vec<String>,
}

impl LocalMedia {
    fn apply(self, sdp: &mut Sdp) {
        sdp.address = self.address;
        sdp.port = self.port;
        sdp.attributes = self.attributes;
    }
}

/// Return codes of refused API calls. The SDK manual says only "a specific error code"; these
/// are the pjsip/pjlib codes FAULTS.md maps to the same misuse.
pub mod api_code {
    /// PJ_EINVAL: invalid argument (expires > 3600, unknown session).
    pub const EINVAL: i32 = 70004;
    /// PJSIP_ESESSIONSTATE: hold/refer/DTMF before the call is connected.
    pub const ESESSIONSTATE: i32 = 171_141;
    /// PJMEDIA_RTP_EINDTMF: DTMF tone outside 0–16.
    pub const EINDTMF: i32 = 220_106;
    /// PJMEDIA_RTP_EREMNORFC2833: the peer offered no telephone-event.
    pub const EREMNORFC2833: i32 = 220_107;
}

/// A refused API call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// SDK function name.
    pub function: &'static str,
    /// Return code.
    pub code: i32,
    /// Why.
    pub reason: String,
}

/// What the softphone reports: the SDK callbacks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SoftphoneEvent {
    /// `onRegisterSuccess(statusText, statusCode)`.
    RegisterSuccess {
        /// Status code.
        status: u16,
        /// Status text.
        reason: String,
        /// Granted expiry.
        expires: u32,
    },
    /// `onRegisterFailure(statusText, statusCode)`.
    RegisterFailure {
        /// Status code.
        status: u16,
        /// Status text.
        reason: String,
    },
    /// A failed registration that will be retried (`retryTimes`); natlab's own event.
    RegisterRetry {
        /// Status code.
        status: u16,
        /// Retries left after this one.
        left: i32,
    },
    /// The un-registration finished; natlab's own event (the SDK has no callback).
    Unregistered {
        /// Status code.
        status: u16,
    },
    /// `onInviteIncoming`.
    InviteIncoming {
        /// Session id.
        session: u32,
        /// Caller URI.
        caller: String,
        /// Callee URI.
        callee: String,
        /// Matched audio codecs, `#`-separated.
        audio_codecs: String,
    },
    /// `onInviteTrying` (100 received).
    InviteTrying {
        /// Session id.
        session: u32,
    },
    /// `onInviteSessionProgress` (183 received).
    InviteSessionProgress {
        /// Session id.
        session: u32,
        /// The 183 carried SDP.
        early_media: bool,
    },
    /// `onInviteRinging` (180 received).
    InviteRinging {
        /// Session id.
        session: u32,
        /// Status code.
        status: u16,
    },
    /// `onInviteAnswered` (2xx received).
    InviteAnswered {
        /// Session id.
        session: u32,
        /// Status code.
        status: u16,
        /// Matched audio codecs.
        audio_codecs: String,
    },
    /// `onInviteConnected` (ACK sent as UAC, received as UAS).
    InviteConnected {
        /// Session id.
        session: u32,
    },
    /// `onInviteFailure(reason, code)`.
    InviteFailure {
        /// Session id.
        session: u32,
        /// Status code.
        status: u16,
        /// Reason phrase.
        reason: String,
    },
    /// `onInviteClosed` (BYE or CANCEL from the remote side).
    InviteClosed {
        /// Session id.
        session: u32,
    },
    /// `onInviteUpdated` (re-INVITE that is not a hold change).
    InviteUpdated {
        /// Session id.
        session: u32,
    },
    /// `onRemoteHold`.
    RemoteHold {
        /// Session id.
        session: u32,
    },
    /// `onRemoteUnHold`.
    RemoteUnHold {
        /// Session id.
        session: u32,
        /// Matched audio codecs.
        audio_codecs: String,
    },
    /// `onReceivedRefer`.
    ReceivedRefer {
        /// Session id.
        session: u32,
        /// Refer id.
        refer_id: u32,
        /// Refer-To target.
        to: String,
        /// REFER sender.
        from: String,
    },
    /// `onReferAccepted`.
    ReferAccepted {
        /// Session id.
        session: u32,
    },
    /// `onReferRejected`.
    ReferRejected {
        /// Session id.
        session: u32,
        /// Status code.
        status: u16,
        /// Reason.
        reason: String,
    },
    /// `onRecvDtmfTone`.
    RecvDtmfTone {
        /// Session id.
        session: u32,
        /// Tone 0–16.
        tone: u8,
        /// How it arrived.
        method: DtmfMethod,
    },
    /// `onRecvInfo`.
    RecvInfo {
        /// The INFO body.
        body: String,
    },
    /// `onRecvOptions`.
    RecvOptions,
    /// `onRecvMessage` (in dialog).
    RecvMessage {
        /// Session id.
        session: u32,
        /// MIME type.
        mime: String,
        /// Body.
        text: String,
    },
    /// `onRecvOutOfDialogMessage`.
    RecvOutOfDialogMessage {
        /// Sender URI.
        from: String,
        /// Recipient URI.
        to: String,
        /// MIME type.
        mime: String,
        /// Body.
        text: String,
    },
    /// `onSendOutOfDialogMessageSuccess`.
    SendMessageSuccess {
        /// Message id.
        message_id: u32,
    },
    /// `onSendOutOfDialogMessageFailure`.
    SendMessageFailure {
        /// Message id.
        message_id: u32,
        /// Status code.
        status: u16,
        /// Reason.
        reason: String,
    },
    /// `onTransferTrying` (NOTIFY sipfrag 100).
    TransferTrying {
        /// Session id.
        session: u32,
    },
    /// `onTransferRinging` (NOTIFY sipfrag 18x).
    TransferRinging {
        /// Session id.
        session: u32,
    },
    /// `onACTVTransferSuccess` (NOTIFY sipfrag 2xx).
    ActvTransferSuccess {
        /// Session id.
        session: u32,
    },
    /// `onACTVTransferFailure` (NOTIFY sipfrag ≥ 300).
    ActvTransferFailure {
        /// Session id.
        session: u32,
        /// Status code.
        status: u16,
        /// Reason.
        reason: String,
    },
    /// An API call refused with a return code.
    ApiRefused(ApiError),
    /// Bytes that are not SIP.
    Malformed {
        /// Parser message.
        detail: String,
    },
}

impl From<&SoftphoneEvent> for LogEvent {
    fn from(e: &SoftphoneEvent) -> Self {
        use SoftphoneEvent as E;
        let sess = |s: &u32| format!("sessionId={s}");
        match e {
            E::RegisterSuccess {
                status,
                reason,
                expires,
            } => Self::named("onRegisterSuccess")
                .with_status(u32::from(*status))
                .with_sip("REGISTER", Some(*status))
                .with_detail(format!("{reason}; expires={expires}")),
            E::RegisterFailure { status, reason } => Self::named("onRegisterFailure")
                .with_status(u32::from(*status))
                .with_sip("REGISTER", Some(*status))
                .with_detail(reason.clone()),
            E::RegisterRetry { status, left } => Self::named("sip-register-retry")
                .with_status(u32::from(*status))
                .with_sip("REGISTER", Some(*status))
                .with_detail(format!("{left} retries left")),
            E::Unregistered { status } => Self::named("sip-unregistered")
                .with_status(u32::from(*status))
                .with_sip("REGISTER", Some(*status)),
            E::InviteIncoming {
                session,
                caller,
                callee,
                audio_codecs,
            } => Self::named("onInviteIncoming")
                .with_sip("INVITE", None)
                .with_detail(format!(
                    "{} caller={caller} callee={callee} audio={audio_codecs}",
                    sess(session)
                )),
            E::InviteTrying { session } => Self::named("onInviteTrying")
                .with_status(100)
                .with_sip("INVITE", Some(100))
                .with_detail(sess(session)),
            E::InviteSessionProgress {
                session,
                early_media,
            } => Self::named("onInviteSessionProgress")
                .with_status(183)
                .with_sip("INVITE", Some(183))
                .with_detail(format!("{} existsEarlyMedia={early_media}", sess(session))),
            E::InviteRinging { session, status } => Self::named("onInviteRinging")
                .with_status(u32::from(*status))
                .with_sip("INVITE", Some(*status))
                .with_detail(sess(session)),
            E::InviteAnswered {
                session,
                status,
                audio_codecs,
            } => Self::named("onInviteAnswered")
                .with_status(u32::from(*status))
                .with_sip("INVITE", Some(*status))
                .with_detail(format!("{} audio={audio_codecs}", sess(session))),
            E::InviteConnected { session } => {
                Self::named("onInviteConnected").with_detail(sess(session))
            }
            E::InviteFailure {
                session,
                status,
                reason,
            } => Self::named("onInviteFailure")
                .with_status(u32::from(*status))
                .with_sip("INVITE", Some(*status))
                .with_detail(format!("{} {reason}", sess(session))),
            E::InviteClosed { session } => Self::named("onInviteClosed").with_detail(sess(session)),
            E::InviteUpdated { session } => {
                Self::named("onInviteUpdated").with_detail(sess(session))
            }
            E::RemoteHold { session } => Self::named("onRemoteHold").with_detail(sess(session)),
            E::RemoteUnHold {
                session,
                audio_codecs,
            } => Self::named("onRemoteUnHold")
                .with_detail(format!("{} audio={audio_codecs}", sess(session))),
            E::ReceivedRefer {
                session,
                refer_id,
                to,
                from,
            } => Self::named("onReceivedRefer")
                .with_sip("REFER", None)
                .with_detail(format!(
                    "{} referId={refer_id} to={to} from={from}",
                    sess(session)
                )),
            E::ReferAccepted { session } => {
                Self::named("onReferAccepted").with_detail(sess(session))
            }
            E::ReferRejected {
                session,
                status,
                reason,
            } => Self::named("onReferRejected")
                .with_status(u32::from(*status))
                .with_sip("REFER", Some(*status))
                .with_detail(format!("{} {reason}", sess(session))),
            E::RecvDtmfTone {
                session,
                tone,
                method,
            } => Self::named("onRecvDtmfTone")
                .with_code(u32::from(*tone))
                .with_detail(format!("{} tone={tone} via {method:?}", sess(session))),
            E::RecvInfo { body } => Self::named("onRecvInfo")
                .with_sip("INFO", None)
                .with_detail(body.clone()),
            E::RecvOptions => Self::named("onRecvOptions").with_sip("OPTIONS", None),
            E::RecvMessage {
                session,
                mime,
                text,
            } => Self::named("onRecvMessage")
                .with_sip("MESSAGE", None)
                .with_detail(format!("{} {mime}: {text}", sess(session))),
            E::RecvOutOfDialogMessage {
                from,
                to,
                mime,
                text,
            } => Self::named("onRecvOutOfDialogMessage")
                .with_sip("MESSAGE", None)
                .with_detail(format!("{from} -> {to} {mime}: {text}")),
            E::SendMessageSuccess { message_id } => Self::named("onSendOutOfDialogMessageSuccess")
                .with_sip("MESSAGE", Some(200))
                .with_detail(format!("messageId={message_id}")),
            E::SendMessageFailure {
                message_id,
                status,
                reason,
            } => Self::named("onSendOutOfDialogMessageFailure")
                .with_status(u32::from(*status))
                .with_sip("MESSAGE", Some(*status))
                .with_detail(format!("messageId={message_id} {reason}")),
            E::ApiRefused(a) => Self::named(a.function)
                .with_status(u32::try_from(a.code).unwrap_or(0))
                .with_detail(format!("returned {}: {}", a.code, a.reason)),
            E::Malformed { detail } => Self::named("sip-malformed").with_detail(detail.clone()),
            E::TransferTrying { session } => {
                Self::named("onTransferTrying").with_detail(sess(session))
            }
            E::TransferRinging { session } => {
                Self::named("onTransferRinging").with_detail(sess(session))
            }
            E::ActvTransferSuccess { session } => {
                Self::named("onACTVTransferSuccess").with_detail(sess(session))
            }
            E::ActvTransferFailure {
                session,
                status,
                reason,
            } => Self::named("onACTVTransferFailure")
                .with_status(u32::from(*status))
                .with_detail(format!("{} {reason}", sess(session))),
        }
    }
}

/// Delay before a failed registration is retried (`retryTimes` > 0).
pub const REGISTER_RETRY_DELAY: Duration = Duration::from_secs(5);
/// How long before expiry a registration is refreshed (pjsip's default).
pub const REGISTER_REFRESH_MARGIN: Duration = Duration::from_secs(5);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Purpose {
    Register,
    Unregister,
    Invite(u32),
    Bye(u32),
    Cancel(u32),
    ReInvite(u32),
    Prack(u32),
    Info(u32),
    Refer(u32),
    Message(u32),
    KeepAlive,
}

#[derive(Debug)]
struct UaCtx {
    tx: ClientTransaction,
    purpose: Purpose,
}

#[derive(Debug)]
struct UaStx {
    tx: ServerTransaction,
    flow: Flow,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Calling,
    Early,
    Incoming,
    Answered,
    Connected,
}

/// A reliable provisional waiting for its PRACK (RFC 3262 §3).
#[derive(Debug)]
struct RelProv {
    resp: SipMessage,
    flow: Flow,
    next: Option<SimInstant>,
    interval: Duration,
    give_up: SimInstant,
}

#[derive(Debug)]
struct Session {
    outgoing: bool,
    state: State,
    call_id: String,
    local_tag: String,
    remote_tag: Option<String>,
    local_uri: String,
    remote_uri: String,
    remote_target: Option<String>,
    route_set: Vec<String>,
    local_cseq: u32,
    invite: Option<SipMessage>,
    server_invite: Option<TxKey>,
    local_sdp: Sdp,
    remote_sdp: Option<Sdp>,
    remote_hold: bool,
    auth_tried: bool,
    rseq: u32,
    peer_100rel: bool,
    ack: Option<SipMessage>,
    extra: Vec<(String, String)>,
    pending_cancel: bool,
    provisional: bool,
    refresh_at: Option<SimInstant>,
    refer_of: Option<u32>,
    rel: Option<RelProv>,
}

#[derive(Debug, Default)]
struct RegState {
    call_id: String,
    from_tag: String,
    cseq: u32,
    registered: bool,
    challenge: Option<Challenge>,
    proxy_challenge: bool,
    nc: u32,
    answered_nonce: Option<String>,
    refresh_at: Option<SimInstant>,
    retries_left: i32,
    active: bool,
    expires: u32,
}

/// The softphone core.
#[derive(Debug)]
pub struct Softphone {
    cfg: SoftphoneConfig,
    rng: SimRng,
    ip: IpAddr,
    sip_port: u16,
    conns: Conns,
    stream: Option<StreamId>,
    next_stream: u64,
    stream_queue: Vec<Bytes>,
    reg: RegState,
    ctx: BTreeMap<TxKey, UaCtx>,
    stx: BTreeMap<TxKey, UaStx>,
    sessions: BTreeMap<u32, Session>,
    next_session: u32,
    next_id: u32,
    keep_alive_at: Option<SimInstant>,
    out: VecDeque<Transmit>,
    events: VecDeque<SoftphoneEvent>,
    malformed: u64,
    rtp_port: u16,
    refers: BTreeMap<u32, (u32, String)>,
}

impl Softphone {
    /// A softphone with its configuration and random stream (tags, branches, Call-IDs).
    pub fn new(cfg: SoftphoneConfig, mut rng: SimRng) -> Self {
        let reg = RegState {
            call_id: format!("{}@natlab", token(&mut rng, 8)),
            from_tag: token(&mut rng, 4),
            cseq: 0,
            retries_left: cfg.retry_times.max(0),
            ..RegState::default()
        };
        Self {
            sip_port: cfg.local_port,
            rtp_port: cfg.rtp_port,
            cfg,
            rng,
            ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            conns: Conns::default(),
            stream: None,
            next_stream: 1,
            stream_queue: Vec::new(),
            reg,
            ctx: BTreeMap::new(),
            stx: BTreeMap::new(),
            sessions: BTreeMap::new(),
            next_session: 1,
            next_id: 1,
            keep_alive_at: None,
            out: VecDeque::new(),
            events: VecDeque::new(),
            malformed: 0,
            refers: BTreeMap::new(),
        }
    }

    /// The configuration.
    pub const fn config(&self) -> &SoftphoneConfig {
        &self.cfg
    }

    /// The configuration, to change settings at run time (`enableRport`,
    /// `setReliableProvisional`, `setSrtpPolicy`, `addSipMessageHeader`, ...): changes apply to
    /// the requests sent after it. Use [`Softphone::set_keep_alive`] for the keep-alive.
    pub const fn config_mut(&mut self) -> &mut SoftphoneConfig {
        &mut self.cfg
    }

    /// Whether the last registration succeeded and has not been removed.
    pub const fn is_registered(&self) -> bool {
        self.reg.registered
    }

    /// Session ids of the calls in progress.
    pub fn sessions(&self) -> Vec<u32> {
        self.sessions.keys().copied().collect()
    }

    /// Whether `session` is connected.
    pub fn is_connected(&self, session: u32) -> bool {
        self.sessions
            .get(&session)
            .is_some_and(|s| s.state == State::Connected)
    }

    /// Unparseable messages received.
    pub const fn malformed_count(&self) -> u64 {
        self.malformed
    }

    /// Whether `session` is a call this phone placed.
    pub fn is_outgoing(&self, session: u32) -> bool {
        self.sessions.get(&session).is_some_and(|s| s.outgoing)
    }

    /// `setDoNotDisturb`.
    pub fn set_dnd(&mut self, on: bool) {
        self.cfg.dnd = on;
    }

    /// `setKeepAliveTime` (0 = off), effective at `now`.
    pub fn set_keep_alive(&mut self, now: SimInstant, interval: Duration) {
        self.cfg.keep_alive = interval;
        self.keep_alive_at = (!interval.is_zero()).then(|| now + interval);
    }

    fn refuse<T>(
        &mut self,
        function: &'static str,
        code: i32,
        reason: &str,
    ) -> Result<T, ApiError> {
        let e = ApiError {
            function,
            code,
            reason: reason.to_string(),
        };
        self.events.push_back(SoftphoneEvent::ApiRefused(e.clone()));
        Err(e)
    }

    fn server_flow(&mut self) -> Flow {
        match self.cfg.transport {
            SipTransport::Udp => Flow::Udp {
                local_port: self.sip_port,
                remote: self.cfg.server,
            },
            SipTransport::Tcp => {
                let id = self.ensure_stream();
                Flow::Tcp {
                    id,
                    remote: self.cfg.server,
                }
            }
        }
    }

    fn ensure_stream(&mut self) -> StreamId {
        if let Some(id) = self.stream {
            return id;
        }
        let id = StreamId(self.next_stream);
        self.next_stream += 1;
        self.stream = Some(id);
        self.conns.insert(id, self.cfg.server, false);
        self.out.push_back(Transmit::Stream(StreamCommand::Connect {
            id,
            dst: self.cfg.server,
        }));
        id
    }

    fn send(&mut self, flow: Flow, msg: &SipMessage) {
        let mut msg = msg.clone();
        if msg.is_request()
            && let Some(h) = &self.cfg.faults.omit_header
        {
            msg.remove_header(h);
        }
        self.send_bytes(flow, msg.to_bytes());
    }

    fn send_bytes(&mut self, flow: Flow, bytes: Bytes) {
        match flow {
            Flow::Tcp { id, .. } => {
                if self.conns.is_open(id) {
                    self.out.push_back(flow.transmit(bytes));
                } else if self.stream == Some(id) {
                    self.stream_queue.push(bytes);
                } else {
                    // The connection is gone: open a new one to the server.
                    self.stream = None;
                    self.ensure_stream();
                    self.stream_queue.push(bytes);
                }
            }
            Flow::Udp { .. } => self.out.push_back(flow.transmit(bytes)),
        }
    }

    fn host(&self) -> String {
        match self.ip {
            IpAddr::V6(v6) => format!("[{v6}]"),
            v4 => v4.to_string(),
        }
    }

    fn transport_param(&self) -> &'static str {
        match self.cfg.transport {
            SipTransport::Udp => "",
            SipTransport::Tcp => ";transport=tcp",
        }
    }

    fn contact(&self) -> String {
        format!(
            "<sip:{}@{}:{}{}>",
            self.cfg.user,
            self.host(),
            self.sip_port,
            self.transport_param()
        )
    }

    fn aor(&self) -> String {
        format!("sip:{}@{}", self.cfg.user, self.cfg.domain)
    }

    fn via(&mut self) -> String {
        let t = match self.cfg.transport {
            SipTransport::Udp => "UDP",
            SipTransport::Tcp => "TCP",
        };
        let rport = if self.cfg.rport { ";rport" } else { "" };
        format!(
            "SIP/2.0/{t} {}:{};branch={}{rport}",
            self.host(),
            self.sip_port,
            branch(&mut self.rng)
        )
    }

    fn base_request(
        &mut self,
        method: Method,
        uri: &str,
        from: &str,
        to: &str,
        call_id: &str,
        cseq: u32,
    ) -> SipMessage {
        let via = self.via();
        let cseq_method = method.clone();
        SipMessage::request(method, uri)
            .with_header("Via", via)
            .with_header("Max-Forwards", "70")
            .with_header("From", from)
            .with_header("To", to)
            .with_header("Call-ID", call_id)
            .with_header("CSeq", format!("{cseq} {cseq_method}"))
            .with_header("User-Agent", self.cfg.user_agent.clone())
    }

    fn start_client(&mut self, now: SimInstant, req: SipMessage, purpose: Purpose) {
        let flow = self.server_flow();
        let Some(tx) = ClientTransaction::new(now, req, flow.reliable(), self.cfg.timers) else {
            return;
        };
        let key = tx.key().clone();
        self.ctx.insert(key.clone(), UaCtx { tx, purpose });
        self.drive_client(now, &key);
    }

    fn drive_client(&mut self, now: SimInstant, key: &TxKey) {
        let mut done = false;
        while let Some(c) = self.ctx.get_mut(key) {
            let Some(o) = c.tx.poll_output() else { break };
            let purpose = c.purpose;
            match o {
                TxOutput::Send(m) => {
                    let flow = self.server_flow();
                    self.send(flow, &m);
                }
                TxOutput::Response { msg, .. } => self.on_tx_response(now, purpose, msg),
                TxOutput::Terminated => done = true,
                TxOutput::AckTimeout | TxOutput::AckReceived => {}
            }
        }
        if done {
            self.ctx.remove(key);
        }
    }

    fn drive_server(&mut self, key: &TxKey) {
        let mut done = false;
        while let Some(s) = self.stx.get_mut(key) {
            let Some(o) = s.tx.poll_output() else { break };
            let flow = s.flow;
            match o {
                TxOutput::Send(m) => self.send(flow, &m),
                TxOutput::Terminated => done = true,
                _ => {}
            }
        }
        if done {
            self.stx.remove(key);
        }
    }

    // ---- registration ----

    /// `registerServer(expires, retryTimes)` with the configured values: sends REGISTER.
    ///
    /// # Errors
    /// 70004 when expires is above 3600 (the SDK's documented maximum).
    pub fn register(&mut self, now: SimInstant) -> Result<(), ApiError> {
        if self.cfg.register_expires > 3600 {
            let why = format!(
                "expires {} above the maximum 3600",
                self.cfg.register_expires
            );
            return self.refuse("registerServer", api_code::EINVAL, &why);
        }
        self.reg.active = true;
        self.reg.expires = self.cfg.register_expires;
        self.reg.retries_left = self.cfg.retry_times.max(0);
        self.reg.answered_nonce = None;
        self.send_register(now, self.reg.expires);
        if !self.cfg.keep_alive.is_zero() && self.keep_alive_at.is_none() {
            self.keep_alive_at = Some(now + self.cfg.keep_alive);
        }
        Ok(())
    }

    /// `unRegisterServer`: REGISTER with Expires 0.
    pub fn unregister(&mut self, now: SimInstant) {
        self.reg.active = false;
        self.reg.refresh_at = None;
        self.reg.answered_nonce = None;
        self.send_register(now, 0);
    }

    fn send_register(&mut self, now: SimInstant, expires: u32) {
        self.reg.cseq += 1;
        let uri = format!("sip:{}", self.cfg.domain);
        let aor = self.aor();
        let from = format!("<{aor}>;tag={}", self.reg.from_tag);
        let to = format!("<{aor}>");
        let call_id = self.reg.call_id.clone();
        let mut req =
            self.base_request(Method::Register, &uri, &from, &to, &call_id, self.reg.cseq);
        req.push_header("Contact", self.contact());
        req.push_header("Expires", expires.to_string());
        if let Some(c) = self.reg.challenge.clone() {
            self.reg.nc += 1;
            let auth = self.credentials(&c, "REGISTER", &uri, self.reg.nc);
            let h = if self.reg.proxy_challenge {
                "Proxy-Authorization"
            } else {
                "Authorization"
            };
            req.push_header(h, auth.to_string());
        }
        let purpose = if expires == 0 {
            Purpose::Unregister
        } else {
            Purpose::Register
        };
        self.start_client(now, req, purpose);
    }

    fn credentials(&mut self, c: &Challenge, method: &str, uri: &str, nc: u32) -> Authorization {
        let cnonce = token(&mut self.rng, 8);
        let user = self
            .cfg
            .auth_name
            .clone()
            .unwrap_or_else(|| self.cfg.user.clone());
        Authorization::answer(c, &user, &self.cfg.password, method, uri, nc, &cnonce)
    }

    fn on_register_response(&mut self, now: SimInstant, purpose: Purpose, resp: &SipMessage) {
        let status = resp.status().unwrap_or(0);
        let reason = resp.reason().unwrap_or("").to_string();
        if status < 200 {
            return;
        }
        let expires_asked = if purpose == Purpose::Unregister {
            0
        } else {
            self.reg.expires
        };
        if (200..300).contains(&status) {
            self.reg.answered_nonce = None;
            if purpose == Purpose::Unregister {
                self.reg.registered = false;
                self.events
                    .push_back(SoftphoneEvent::Unregistered { status });
                return;
            }
            let mine = format!("{}:{}", self.host(), self.sip_port);
            let granted = resp
                .contacts()
                .iter()
                .find(|c| c.uri.contains(&mine))
                .and_then(|c| c.param("expires").and_then(|e| e.parse().ok()))
                .or_else(|| resp.expires())
                .unwrap_or(expires_asked);
            self.reg.registered = true;
            self.reg.retries_left = self.cfg.retry_times.max(0);
            let life = Duration::from_secs(u64::from(granted));
            let margin = self.cfg.refresh_margin;
            let before = if life > margin * 2 {
                life - margin
            } else {
                life / 2
            };
            self.reg.refresh_at = (granted > 0 && self.reg.active).then(|| now + before);
            self.events.push_back(SoftphoneEvent::RegisterSuccess {
                status,
                reason,
                expires: granted,
            });
            return;
        }
        if status == 401 || status == 407 {
            let header = if status == 401 {
                "WWW-Authenticate"
            } else {
                "Proxy-Authenticate"
            };
            let challenges = Challenge::parse_all(resp.header_values(header));
            let usable = challenges
                .into_iter()
                .find(|c| self.cfg.realm.as_deref().is_none_or(|r| r == c.realm));
            match usable {
                Some(c) if c.stale || self.reg.answered_nonce.is_none() => {
                    self.reg.answered_nonce = Some(c.nonce.clone());
                    self.reg.challenge = Some(c);
                    self.reg.proxy_challenge = status == 407;
                    self.reg.nc = 0;
                    self.send_register(now, expires_asked);
                    return;
                }
                Some(_) => {
                    let why = format!("{reason} (credentials refused again)");
                    self.register_failed(now, status, why, purpose);
                }
                None => {
                    let why = format!("{reason} (no credential for the challenged realm)");
                    self.register_failed(now, status, why, purpose);
                }
            }
            return;
        }
        // 423 Interval Too Brief: retry once with the server's Min-Expires (RFC 3261 §10.2.8).
        if status == 423
            && purpose == Purpose::Register
            && let Some(min) = resp
                .header("Min-Expires")
                .and_then(|m| m.trim().parse::<u32>().ok())
            && min > self.reg.expires
            && min <= 3600
        {
            self.reg.expires = min;
            self.send_register(now, min);
            return;
        }
        self.register_failed(now, status, reason, purpose);
    }

    fn register_failed(&mut self, now: SimInstant, status: u16, reason: String, purpose: Purpose) {
        self.reg.answered_nonce = None;
        self.reg.challenge = None;
        if purpose == Purpose::Unregister {
            self.events
                .push_back(SoftphoneEvent::Unregistered { status });
            return;
        }
        self.reg.registered = false;
        if self.reg.retries_left > 0 && self.reg.active {
            self.reg.retries_left -= 1;
            self.reg.refresh_at = Some(now + REGISTER_RETRY_DELAY);
            self.events.push_back(SoftphoneEvent::RegisterRetry {
                status,
                left: self.reg.retries_left,
            });
        } else {
            self.reg.refresh_at = None;
            self.events
                .push_back(SoftphoneEvent::RegisterFailure { status, reason });
        }
    }

    // ---- calls ----

    fn new_session(
        &mut self,
        outgoing: bool,
        call_id: String,
        local_uri: String,
        remote_uri: String,
    ) -> u32 {
        let id = self.next_session;
        self.next_session += 1;
        let profile = match self.cfg.srtp {
            SrtpPolicy::Force => Profile::Savp,
            SrtpPolicy::None | SrtpPolicy::Prefer => Profile::Avp,
        };
        let sess_id = u64::from(self.rng.next_u32());
        let local_sdp =
            Sdp::audio_offer(&self.ip.to_string(), self.rtp_port, profile, (sess_id, 1));
        let local_tag = token(&mut self.rng, 4);
        self.sessions.insert(
            id,
            Session {
                outgoing,
                state: if outgoing {
                    State::Calling
                } else {
                    State::Incoming
                },
                call_id,
                local_tag,
                remote_tag: None,
                local_uri,
                remote_uri,
                remote_target: None,
                route_set: Vec::new(),
                local_cseq: 0,
                invite: None,
                server_invite: None,
                local_sdp,
                remote_sdp: None,
                remote_hold: false,
                auth_tried: false,
                rseq: 0,
                peer_100rel: false,
                ack: None,
                extra: Vec::new(),
                pending_cancel: false,
                provisional: false,
                refresh_at: None,
                refer_of: None,
                rel: None,
            },
        );
        id
    }

    /// `call(callee)`: sends an INVITE to `target_user@domain` with the configured and the
    /// given extra headers (`addSipMessageHeader`, e.g. X-FWD-ORIGINAL). Returns the session id.
    ///
    /// # Errors
    /// 70004 for an empty target.
    pub fn call(
        &mut self,
        now: SimInstant,
        target_user: &str,
        extra_headers: &[(String, String)],
    ) -> Result<u32, ApiError> {
        self.call_with_media(now, target_user, extra_headers, None)
    }

    /// [`Softphone::call`] with this media description in the offer instead of the
    /// softphone's own address, port and attributes (an ICE-enabled endpoint puts its default
    /// candidate and its `a=candidate` lines here).
    ///
    /// # Errors
    /// As [`Softphone::call`].
    pub fn call_with_media(
        &mut self,
        now: SimInstant,
        target_user: &str,
        extra_headers: &[(String, String)],
        media: Option<LocalMedia>,
    ) -> Result<u32, ApiError> {
        if target_user.is_empty() || target_user.contains(['<', '>', ' ', '@']) {
            return self.refuse("call", api_code::EINVAL, "invalid callee");
        }
        let call_id = format!("{}@natlab", token(&mut self.rng, 10));
        let remote = format!("sip:{target_user}@{}", self.cfg.domain);
        let local = self.aor();
        let id = self.new_session(true, call_id, local, remote);
        let mut extra = self.cfg.extra_headers.clone();
        extra.extend(extra_headers.iter().cloned());
        if let Some(s) = self.sessions.get_mut(&id) {
            s.extra = extra;
            if let Some(m) = media {
                m.apply(&mut s.local_sdp);
            }
        }
        self.send_invite(now, id, None);
        Ok(id)
    }

    /// Sets the media description an incoming call is answered with (before
    /// [`Softphone::answer_call`]).
    ///
    /// # Errors
    /// 70004 for an unknown session.
    pub fn set_local_media(&mut self, session: u32, media: LocalMedia) -> Result<(), ApiError> {
        let Some(s) = self.sessions.get_mut(&session) else {
            return self.refuse("setLocalMedia", api_code::EINVAL, "unknown session");
        };
        media.apply(&mut s.local_sdp);
        Ok(())
    }

    /// The peer's session description of a call, once one arrived.
    pub fn remote_sdp(&self, session: u32) -> Option<&Sdp> {
        self.sessions.get(&session)?.remote_sdp.as_ref()
    }

    fn send_invite(&mut self, now: SimInstant, id: u32, auth: Option<(u16, Authorization)>) {
        let Some(s) = self.sessions.get_mut(&id) else {
            return;
        };
        s.local_cseq += 1;
        let (uri, from, to, call_id, cseq) = (
            s.remote_uri.clone(),
            format!("<{}>;tag={}", s.local_uri, s.local_tag),
            format!("<{}>", s.remote_uri),
            s.call_id.clone(),
            s.local_cseq,
        );
        let sdp = s.local_sdp.to_text();
        let extra = s.extra.clone();
        let mut req = self.base_request(Method::Invite, &uri, &from, &to, &call_id, cseq);
        req.push_header("Contact", self.contact());
        req.push_header(
            "Allow",
            "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, MESSAGE, REFER, NOTIFY, PRACK, UPDATE",
        );
        match self.cfg.prack {
            PrackMode::Never => {}
            PrackMode::Required => req.push_header("Require", "100rel"),
            _ => req.push_header("Supported", "100rel"),
        }
        if let Some(se) = self.cfg.session_timer {
            req.push_header("Session-Expires", se.to_string());
            req.push_header("Min-SE", "90");
        }
        if let Some((status, a)) = auth {
            let h = if status == 407 {
                "Proxy-Authorization"
            } else {
                "Authorization"
            };
            req.push_header(h, a.to_string());
        }
        for (k, v) in extra {
            req.push_header(&k, v);
        }
        let req = req.with_body("application/sdp", sdp);
        if let Some(s) = self.sessions.get_mut(&id) {
            s.invite = Some(req.clone());
        }
        self.start_client(now, req, Purpose::Invite(id));
    }

    fn end_session(&mut self, id: u32) {
        self.sessions.remove(&id);
    }

    fn on_invite_response(&mut self, now: SimInstant, id: u32, resp: SipMessage) {
        let status = resp.status().unwrap_or(0);
        let reason = resp.reason().unwrap_or("").to_string();
        let Some(s) = self.sessions.get_mut(&id) else {
            return;
        };
        if status == 100 {
            s.provisional = true;
            let cancel = s.pending_cancel;
            self.events
                .push_back(SoftphoneEvent::InviteTrying { session: id });
            if cancel {
                self.send_cancel(now, id);
            }
            return;
        }
        if status < 200 {
            if resp.to_tag().is_some() {
                s.remote_tag = resp.to_tag();
                s.state = State::Early;
                if let Some(c) = resp.contact_uri() {
                    s.remote_target = Some(c);
                }
                let mut rr = resp.record_routes();
                rr.reverse();
                s.route_set = rr;
            }
            let early = !resp.body.is_empty();
            if status == 183 {
                self.events
                    .push_back(SoftphoneEvent::InviteSessionProgress {
                        session: id,
                        early_media: early,
                    });
            } else {
                self.events.push_back(SoftphoneEvent::InviteRinging {
                    session: id,
                    status,
                });
            }
            // RFC 3262 §4: PRACK each reliable provisional once (a retransmission repeats
            // the RSeq already acknowledged).
            let fresh = resp
                .rseq()
                .is_some_and(|r| self.sessions.get(&id).is_some_and(|s| s.rseq != r));
            if resp.has_option("Require", "100rel")
                && fresh
                && let (Some(rseq), Some(cseq)) = (resp.rseq(), resp.cseq())
            {
                if let Some(s) = self.sessions.get_mut(&id) {
                    s.rseq = rseq;
                }
                let rseq = if self.cfg.faults.wrong_rack {
                    rseq.wrapping_add(1)
                } else {
                    rseq
                };
                let rack = format!("{rseq} {} INVITE", cseq.seq);
                if let Some(mut prack) = self.dialog_request(id, Method::Prack) {
                    prack.push_header("RAck", rack);
                    self.start_client(now, prack, Purpose::Prack(id));
                }
            }
            if self.sessions.get(&id).is_some_and(|s| s.pending_cancel) {
                self.send_cancel(now, id);
            }
            return;
        }
        if status < 300 {
            s.remote_tag = resp.to_tag();
            s.remote_target = resp.contact_uri().or_else(|| s.remote_target.clone());
            let mut rr = resp.record_routes();
            rr.reverse();
            s.route_set = rr;
            s.remote_sdp = Sdp::parse(&resp.body_text());
            let codecs = s
                .remote_sdp
                .as_ref()
                .map(Sdp::audio_codec_names)
                .unwrap_or_default();
            let was_cancelled = s.pending_cancel;
            s.state = State::Connected;
            s.refresh_at = self
                .cfg
                .session_timer
                .map(|se| now + Duration::from_secs(u64::from(se.max(90)) / 2));
            let refer_of = s.refer_of;
            self.events.push_back(SoftphoneEvent::InviteAnswered {
                session: id,
                status,
                audio_codecs: codecs,
            });
            self.send_ack(id, &resp);
            self.events
                .push_back(SoftphoneEvent::InviteConnected { session: id });
            if let Some(orig) = refer_of {
                self.notify_refer(now, orig, &format!("SIP/2.0 {status} {reason}"), true);
            }
            if was_cancelled {
                let _ = self.hangup(now, id);
            }
            return;
        }
        if (status == 401 || status == 407) && !s.auth_tried {
            let header = if status == 401 {
                "WWW-Authenticate"
            } else {
                "Proxy-Authenticate"
            };
            let c = Challenge::parse_all(resp.header_values(header))
                .into_iter()
                .find(|c| self.cfg.realm.as_deref().is_none_or(|r| r == c.realm));
            if let Some(c) = c {
                s.auth_tried = true;
                let uri = s.remote_uri.clone();
                let a = self.credentials(&c, "INVITE", &uri, 1);
                self.send_invite(now, id, Some((status, a)));
                return;
            }
        }
        let refer_of = s.refer_of;
        if let Some(orig) = refer_of {
            self.notify_refer(now, orig, &format!("SIP/2.0 {status} {reason}"), true);
        }
        self.events.push_back(SoftphoneEvent::InviteFailure {
            session: id,
            status,
            reason,
        });
        self.end_session(id);
    }

    /// RFC 3262 §3: reliable provisionals are resent at T1, 2·T1, ... until PRACKed; after
    /// 64·T1 the INVITE is rejected with a 5xx.
    fn retransmit_reliable(&mut self, now: SimInstant) {
        let mut resend = Vec::new();
        let mut give_up = Vec::new();
        for (id, s) in &mut self.sessions {
            if s.state != State::Incoming {
                s.rel = None;
                continue;
            }
            let Some(r) = &mut s.rel else { continue };
            if r.give_up <= now {
                give_up.push(*id);
                continue;
            }
            if r.next.is_some_and(|t| t <= now) {
                r.interval *= 2;
                r.next = Some(now + r.interval);
                resend.push((r.flow, r.resp.clone()));
            }
        }
        for (flow, resp) in resend {
            self.send(flow, &resp);
        }
        for id in give_up {
            let Some(s) = self.sessions.get_mut(&id) else {
                continue;
            };
            s.rel = None;
            let (key, tag) = (s.server_invite.clone(), s.local_tag.clone());
            if let Some(key) = key {
                self.reply_tagged(now, &key, 504, "Server Time-out", &tag, &[]);
            }
            self.events
                .push_back(SoftphoneEvent::InviteClosed { session: id });
            self.end_session(id);
        }
    }

    /// NOTIFY (RFC 3515 §2.4.5) in the dialog of `session` with a sipfrag status line.
    fn notify_refer(&mut self, now: SimInstant, session: u32, frag: &str, last: bool) {
        let Some(mut n) = self.dialog_request(session, Method::Notify) else {
            return;
        };
        n.push_header("Event", "refer");
        n.push_header(
            "Subscription-State",
            if last {
                "terminated;reason=noresource"
            } else {
                "active;expires=60"
            },
        );
        let n = n.with_body("message/sipfrag;version=2.0", format!("{frag}\r\n"));
        self.start_client(now, n, Purpose::Info(session));
    }

    /// `acceptRefer(referId)`: calls the REFER's target and reports progress to the
    /// referrer with NOTIFY. Returns the new session id.
    ///
    /// # Errors
    /// 70004 for an unknown refer id or a target without a user part.
    pub fn accept_refer(&mut self, now: SimInstant, refer_id: u32) -> Result<u32, ApiError> {
        let Some((orig, target)) = self.refers.remove(&refer_id) else {
            return self.refuse("acceptRefer", api_code::EINVAL, "unknown referId");
        };
        let Some(user) = SipUri::parse(&target).and_then(|u| u.user) else {
            return self.refuse("acceptRefer", api_code::EINVAL, "Refer-To has no user");
        };
        self.notify_refer(now, orig, "SIP/2.0 100 Trying", false);
        let id = self.call(now, &user, &[])?;
        if let Some(s) = self.sessions.get_mut(&id) {
            s.refer_of = Some(orig);
        }
        Ok(id)
    }

    fn send_ack(&mut self, id: u32, resp: &SipMessage) {
        let Some(cseq) = resp.cseq().map(|c| c.seq) else {
            return;
        };
        let Some(mut ack) = self.dialog_request(id, Method::Ack) else {
            return;
        };
        ack.set_header("CSeq", format!("{cseq} ACK"));
        let flow = self.server_flow();
        self.send(flow, &ack);
        if let Some(s) = self.sessions.get_mut(&id) {
            s.ack = Some(ack);
        }
    }

    /// A request within the dialog of `id` (new CSeq except for ACK).
    fn dialog_request(&mut self, id: u32, method: Method) -> Option<SipMessage> {
        let s = self.sessions.get_mut(&id)?;
        if method != Method::Ack {
            s.local_cseq += 1;
        }
        let uri = s
            .remote_target
            .clone()
            .unwrap_or_else(|| s.remote_uri.clone());
        let from = format!("<{}>;tag={}", s.local_uri, s.local_tag);
        let to = match &s.remote_tag {
            Some(t) => format!("<{}>;tag={t}", s.remote_uri),
            None => format!("<{}>", s.remote_uri),
        };
        let (call_id, cseq, routes) = (s.call_id.clone(), s.local_cseq, s.route_set.clone());
        let mut req = self.base_request(method.clone(), &uri, &from, &to, &call_id, cseq);
        for r in routes {
            req.push_header("Route", r);
        }
        if matches!(method, Method::Invite | Method::Refer) {
            req.push_header("Contact", self.contact());
        }
        Some(req)
    }

    fn send_cancel(&mut self, now: SimInstant, id: u32) {
        let Some(s) = self.sessions.get_mut(&id) else {
            return;
        };
        s.pending_cancel = false;
        let Some(inv) = s.invite.clone() else { return };
        let mut cancel = SipMessage::request(Method::Cancel, inv.request_uri().unwrap_or(""));
        if let Some(v) = inv.header_values("Via").first() {
            cancel.push_header("Via", *v);
        }
        for r in inv.header_values("Route") {
            cancel.push_header("Route", r);
        }
        cancel.push_header("Max-Forwards", "70");
        for h in ["From", "To", "Call-ID"] {
            if let Some(v) = inv.raw_header(h) {
                cancel.push_header(h, v);
            }
        }
        if let Some(c) = inv.cseq() {
            cancel.push_header("CSeq", format!("{} CANCEL", c.seq));
        }
        self.start_client(now, cancel, Purpose::Cancel(id));
    }

    /// `hangUp`: BYE on a connected call, CANCEL on an outgoing call not answered yet,
    /// 603 on an incoming call not answered yet.
    ///
    /// # Errors
    /// 70004 for an unknown session.
    pub fn hangup(&mut self, now: SimInstant, session: u32) -> Result<(), ApiError> {
        let Some(s) = self.sessions.get_mut(&session) else {
            return self.refuse("hangUp", api_code::EINVAL, "unknown session");
        };
        match s.state {
            State::Connected | State::Answered => {
                if let Some(bye) = self.dialog_request(session, Method::Bye) {
                    self.start_client(now, bye, Purpose::Bye(session));
                }
                self.end_session(session);
            }
            State::Calling if s.provisional => self.send_cancel(now, session),
            State::Calling => {
                // RFC 3261 §9.1: no CANCEL before a provisional; sent when one arrives.
                s.pending_cancel = true;
            }
            State::Early => self.send_cancel(now, session),
            State::Incoming => {
                let _ = self.reject(now, session, 603);
            }
        }
        Ok(())
    }

    /// `answerCall`: 200 with the SDP answer.
    ///
    /// # Errors
    /// 70004 for an unknown session; 171141 when it is not ringing.
    pub fn answer_call(&mut self, now: SimInstant, session: u32) -> Result<(), ApiError> {
        let Some(s) = self.sessions.get(&session) else {
            return self.refuse("answerCall", api_code::EINVAL, "unknown session");
        };
        if s.state != State::Incoming {
            return self.refuse("answerCall", api_code::ESESSIONSTATE, "call is not ringing");
        }
        let answer = s.remote_sdp.as_ref().map(|o| Sdp::answer(o, &s.local_sdp));
        let Some(key) = s.server_invite.clone() else {
            return Ok(());
        };
        let tag = s.local_tag.clone();
        let contact = self.contact();
        let Some(st) = self.stx.get_mut(&key) else {
            return Ok(());
        };
        let mut resp =
            dialog_response(st.tx.request(), 200, "OK", &tag).with_header("Contact", contact);
        if let Some(a) = answer {
            resp = resp.with_body("application/sdp", a.to_text());
        }
        st.tx.respond(now, resp);
        self.drive_server(&key);
        if let Some(s) = self.sessions.get_mut(&session) {
            s.state = State::Answered;
        }
        Ok(())
    }

    /// Alias of [`Softphone::answer_call`].
    ///
    /// # Errors
    /// As [`Softphone::answer_call`].
    pub fn answer(&mut self, now: SimInstant, session: u32) -> Result<(), ApiError> {
        self.answer_call(now, session)
    }

    /// `rejectCall(code)`.
    ///
    /// # Errors
    /// 70004 for an unknown session or a code outside 300–699.
    pub fn reject(&mut self, now: SimInstant, session: u32, code: u16) -> Result<(), ApiError> {
        if !(300..=699).contains(&code) {
            return self.refuse("rejectCall", api_code::EINVAL, "code outside 300-699");
        }
        let Some(s) = self
            .sessions
            .get(&session)
            .filter(|s| s.state == State::Incoming)
        else {
            return self.refuse("rejectCall", api_code::EINVAL, "no ringing session");
        };
        let (key, tag) = (s.server_invite.clone(), s.local_tag.clone());
        if let Some(key) = key
            && let Some(st) = self.stx.get_mut(&key)
        {
            let resp = SipMessage::response_to(st.tx.request(), code, reason_for(code), Some(&tag));
            st.tx.respond(now, resp);
            self.drive_server(&key);
        }
        self.end_session(session);
        Ok(())
    }

    fn reinvite(
        &mut self,
        now: SimInstant,
        session: u32,
        direction: Direction,
        function: &'static str,
    ) -> Result<(), ApiError> {
        let Some(s) = self.sessions.get_mut(&session) else {
            return self.refuse(function, api_code::EINVAL, "unknown session");
        };
        if s.state != State::Connected {
            return self.refuse(function, api_code::ESESSIONSTATE, "call not connected");
        }
        s.local_sdp.direction = direction;
        s.local_sdp.session.1 += 1;
        let body = s.local_sdp.to_text();
        if let Some(req) = self.dialog_request(session, Method::Invite) {
            self.start_client(
                now,
                req.with_body("application/sdp", body),
                Purpose::ReInvite(session),
            );
        }
        Ok(())
    }

    /// `hold`: re-INVITE with `a=sendonly`.
    ///
    /// # Errors
    /// 171141 before the call is connected.
    pub fn hold(&mut self, now: SimInstant, session: u32) -> Result<(), ApiError> {
        self.reinvite(now, session, Direction::SendOnly, "hold")
    }

    /// `unHold`: re-INVITE with `a=sendrecv`.
    ///
    /// # Errors
    /// 171141 before the call is connected.
    pub fn unhold(&mut self, now: SimInstant, session: u32) -> Result<(), ApiError> {
        self.reinvite(now, session, Direction::SendRecv, "unHold")
    }

    /// `refer(sessionId, referTo)`: blind transfer to `target_user@domain`.
    ///
    /// # Errors
    /// 171141 before the call is connected.
    pub fn refer(
        &mut self,
        now: SimInstant,
        session: u32,
        target_user: &str,
    ) -> Result<(), ApiError> {
        if !self.is_connected(session) {
            return self.refuse("refer", api_code::ESESSIONSTATE, "call not connected");
        }
        let to = format!("<sip:{target_user}@{}>", self.cfg.domain);
        if let Some(mut req) = self.dialog_request(session, Method::Refer) {
            req.push_header("Refer-To", to);
            req.push_header("Referred-By", format!("<{}>", self.aor()));
            self.start_client(now, req, Purpose::Refer(session));
        }
        Ok(())
    }

    /// `sendDtmf(sessionId, method, code)`: INFO `application/dtmf-relay` or an RTP
    /// telephone-event packet to the peer's media address.
    ///
    /// # Errors
    /// 171141 before connected, 220106 for a tone above 16, 220107 when the peer offered
    /// no telephone-event (RFC 2833).
    pub fn send_dtmf(
        &mut self,
        now: SimInstant,
        session: u32,
        tone: u8,
        method: DtmfMethod,
    ) -> Result<(), ApiError> {
        if tone > 16 {
            return self.refuse("sendDtmf", api_code::EINDTMF, "tone outside 0-16");
        }
        if !self.is_connected(session) {
            return self.refuse("sendDtmf", api_code::ESESSIONSTATE, "call not connected");
        }
        match method {
            DtmfMethod::Info => {
                let body = format!("Signal={}\r\nDuration=160\r\n", tone_char(tone));
                if let Some(req) = self.dialog_request(session, Method::Info) {
                    self.start_client(
                        now,
                        req.with_body("application/dtmf-relay", body),
                        Purpose::Info(session),
                    );
                }
            }
            DtmfMethod::Rfc2833 => {
                let remote = self
                    .sessions
                    .get(&session)
                    .and_then(|s| s.remote_sdp.clone());
                let Some(r) = remote.filter(Sdp::has_telephone_event) else {
                    return self.refuse(
                        "sendDtmf",
                        api_code::EREMNORFC2833,
                        "peer offered no telephone-event",
                    );
                };
                let pt = r
                    .codecs
                    .iter()
                    .find(|c| c.name.eq_ignore_ascii_case("telephone-event"))
                    .map_or(101, |c| c.pt);
                let Ok(ip) = r.address.parse::<IpAddr>() else {
                    return self.refuse(
                        "sendDtmf",
                        api_code::EINVAL,
                        "peer media address unusable",
                    );
                };
                let mut pkt = vec![0x80, 0x80 | (pt & 0x7f), 0, 1, 0, 0, 0, 160, 0, 0, 0, 1];
                pkt.extend_from_slice(&[tone, 0x80 | 10, 0x05, 0x00]);
                self.out.push_back(
                    Flow::Udp {
                        local_port: self.rtp_port,
                        remote: SocketAddr::new(ip, r.port),
                    }
                    .transmit(Bytes::from(pkt)),
                );
            }
        }
        Ok(())
    }

    /// `sendOutOfDialogMessage(to, text/plain, text)`: MESSAGE to `to_user@domain`. Returns
    /// the message id reported by `onSendOutOfDialogMessageSuccess/Failure`.
    pub fn send_message(&mut self, now: SimInstant, to_user: &str, text: &str) -> u32 {
        let id = self.next_id;
        self.next_id += 1;
        let uri = format!("sip:{to_user}@{}", self.cfg.domain);
        let from = format!("<{}>;tag={}", self.aor(), token(&mut self.rng, 4));
        let call_id = format!("{}@natlab", token(&mut self.rng, 8));
        let req = self
            .base_request(
                Method::Message,
                &uri,
                &from,
                &format!("<{uri}>"),
                &call_id,
                1,
            )
            .with_body("text/plain", text.to_string());
        self.start_client(now, req, Purpose::Message(id));
        id
    }

    fn on_tx_response(&mut self, now: SimInstant, purpose: Purpose, resp: SipMessage) {
        let status = resp.status().unwrap_or(0);
        match purpose {
            Purpose::Register | Purpose::Unregister => {
                self.on_register_response(now, purpose, &resp)
            }
            Purpose::Invite(id) => self.on_invite_response(now, id, resp),
            Purpose::Refer(id) if status >= 200 => {
                if status < 300 {
                    self.events
                        .push_back(SoftphoneEvent::ReferAccepted { session: id });
                } else {
                    self.events.push_back(SoftphoneEvent::ReferRejected {
                        session: id,
                        status,
                        reason: resp.reason().unwrap_or("").to_string(),
                    });
                }
            }
            Purpose::Message(id) if status >= 200 => {
                if status < 300 {
                    self.events
                        .push_back(SoftphoneEvent::SendMessageSuccess { message_id: id });
                } else {
                    self.events.push_back(SoftphoneEvent::SendMessageFailure {
                        message_id: id,
                        status,
                        reason: resp.reason().unwrap_or("").to_string(),
                    });
                }
            }
            Purpose::ReInvite(id) if (200..300).contains(&status) => self.send_ack(id, &resp),
            Purpose::Bye(_)
            | Purpose::Cancel(_)
            | Purpose::Prack(_)
            | Purpose::Info(_)
            | Purpose::KeepAlive
            | Purpose::ReInvite(_)
            | Purpose::Refer(_)
            | Purpose::Message(_) => {}
        }
    }

    // ---- incoming ----

    fn on_message(&mut self, now: SimInstant, msg: SipMessage, flow: Flow) {
        if msg.is_request() {
            self.on_request(now, msg, flow);
            return;
        }
        let Some(key) = TxKey::of(&msg) else { return };
        if let Some(c) = self.ctx.get_mut(&key) {
            c.tx.on_response(now, msg);
            self.drive_client(now, &key);
            return;
        }
        // A retransmitted 2xx to an INVITE: the ACK was lost, send it again.
        if msg.status().is_some_and(|s| (200..300).contains(&s)) && key.method == Method::Invite {
            let call_id = msg.call_id().unwrap_or("");
            let ack = self
                .sessions
                .values()
                .find(|s| s.call_id == call_id)
                .and_then(|s| s.ack.clone());
            if let Some(ack) = ack {
                let flow = self.server_flow();
                self.send(flow, &ack);
            }
        }
    }

    fn session_of(&self, req: &SipMessage) -> Option<u32> {
        let call_id = req.call_id()?;
        let to_tag = req.to_tag();
        self.sessions
            .iter()
            .find(|(_, s)| {
                s.call_id == call_id
                    && (to_tag.is_none() || to_tag.as_deref() == Some(s.local_tag.as_str()))
            })
            .map(|(id, _)| *id)
    }

    fn on_request(&mut self, now: SimInstant, req: SipMessage, flow: Flow) {
        let Some(method) = req.method().cloned() else {
            return;
        };
        let Some(key) = TxKey::of(&req) else { return };
        let rflow = response_flow(&req, flow, false);
        if method == Method::Ack {
            if let Some(st) = self.stx.get_mut(&key) {
                st.tx.on_request(now, &req);
                self.drive_server(&key);
            }
            if let Some(id) = self.session_of(&req)
                && let Some(s) = self.sessions.get_mut(&id)
            {
                if let Some(k) = s.server_invite.take()
                    && let Some(st) = self.stx.get_mut(&k)
                {
                    st.tx.ack_2xx();
                    self.drive_server(&k);
                }
                if let Some(s) = self.sessions.get_mut(&id)
                    && s.state == State::Answered
                {
                    s.state = State::Connected;
                    self.events
                        .push_back(SoftphoneEvent::InviteConnected { session: id });
                }
            }
            return;
        }
        if let Some(st) = self.stx.get_mut(&key) {
            st.tx.on_request(now, &req);
            self.drive_server(&key);
            return;
        }
        let Some(tx) = ServerTransaction::new(req.clone(), flow.reliable(), self.cfg.timers, true)
        else {
            return;
        };
        self.stx.insert(key.clone(), UaStx { tx, flow: rflow });
        let in_dialog = req.to_tag().is_some();
        match method {
            Method::Cancel => self.on_cancel(now, &key, &req),
            Method::Invite if !in_dialog => self.on_new_invite(now, &key, &req),
            Method::Options if !in_dialog => {
                self.events.push_back(SoftphoneEvent::RecvOptions);
                self.reply(now, &key, 200, "OK", None);
            }
            Method::Message if !in_dialog => {
                self.events
                    .push_back(SoftphoneEvent::RecvOutOfDialogMessage {
                        from: req.from_addr().map(|f| f.uri).unwrap_or_default(),
                        to: req.to_addr().map(|t| t.uri).unwrap_or_default(),
                        mime: req.content_type().unwrap_or("text/plain").to_string(),
                        text: req.body_text(),
                    });
                self.reply(now, &key, 200, "OK", None);
            }
            _ if in_dialog => self.on_in_dialog(now, &key, &req, method),
            _ => self.reply(now, &key, 405, "Method Not Allowed", None),
        }
    }

    fn reply(
        &mut self,
        now: SimInstant,
        key: &TxKey,
        status: u16,
        reason: &str,
        body: Option<(&str, String)>,
    ) {
        let tag = token(&mut self.rng, 4);
        let Some(st) = self.stx.get_mut(key) else {
            return;
        };
        let mut resp = SipMessage::response_to(st.tx.request(), status, reason, Some(&tag));
        if let Some((ct, b)) = body {
            resp = resp.with_body(ct, b);
        }
        st.tx.respond(now, resp);
        self.drive_server(key);
    }

    fn reply_tagged(
        &mut self,
        now: SimInstant,
        key: &TxKey,
        status: u16,
        reason: &str,
        tag: &str,
        extra: &[(&str, String)],
    ) {
        let Some(st) = self.stx.get_mut(key) else {
            return;
        };
        let mut resp = dialog_response(st.tx.request(), status, reason, tag);
        for (k, v) in extra {
            resp.push_header(k, v.clone());
        }
        st.tx.respond(now, resp);
        self.drive_server(key);
    }

    fn on_new_invite(&mut self, now: SimInstant, key: &TxKey, req: &SipMessage) {
        if self
            .cfg
            .max_calls
            .is_some_and(|max| self.sessions.len() >= max)
        {
            self.reply(now, key, 486, "Busy Here", None);
            return;
        }
        if self.cfg.dnd {
            self.reply(now, key, 486, "Busy Here", None);
            return;
        }
        let offer = Sdp::parse(&req.body_text());
        if let Some(o) = &offer {
            let refuse = matches!(
                (self.cfg.srtp, o.profile),
                (SrtpPolicy::Force, Profile::Avp) | (SrtpPolicy::None, Profile::Savp)
            );
            if refuse {
                self.reply(now, key, 488, "Not Acceptable Here", None);
                return;
            }
        }
        let call_id = req.call_id().unwrap_or("").to_string();
        let local = req.to_addr().map(|t| t.uri).unwrap_or_default();
        let remote = req.from_addr().map(|f| f.uri).unwrap_or_default();
        let id = self.new_session(false, call_id, local.clone(), remote.clone());
        let peer_100rel =
            req.has_option("Supported", "100rel") || req.has_option("Require", "100rel");
        let reliable = match self.cfg.prack {
            PrackMode::Never => req.has_option("Require", "100rel"),
            PrackMode::SupportedEssential => peer_100rel && self.cfg.early_media && offer.is_some(),
            PrackMode::Supported => peer_100rel,
            PrackMode::Required => true,
        };
        let rseq = 1 + self.rng.next_u32() % 1000;
        let Some(s) = self.sessions.get_mut(&id) else {
            return;
        };
        s.remote_tag = req.from_tag();
        s.remote_target = req.contact_uri();
        s.route_set = req.record_routes();
        s.server_invite = Some(key.clone());
        s.peer_100rel = peer_100rel;
        if let Some(o) = &offer {
            s.local_sdp.profile = o.profile;
        }
        s.remote_sdp = offer.clone();
        let tag = s.local_tag.clone();
        let codecs = offer
            .as_ref()
            .map(|o| Sdp::answer(o, &s.local_sdp).audio_codec_names())
            .unwrap_or_default();
        let early = self.cfg.early_media && offer.is_some();
        let body = offer
            .as_ref()
            .filter(|_| early)
            .map(|o| Sdp::answer(o, &s.local_sdp).to_text());
        if reliable {
            s.rseq = rseq;
        }
        let mut extra = vec![("Contact", self.contact())];
        if reliable {
            extra.push(("Require", "100rel".to_string()));
            extra.push(("RSeq", rseq.to_string()));
        }
        let (status, reason) = if early {
            (183, "Session Progress")
        } else {
            (180, "Ringing")
        };
        if let Some(st) = self.stx.get_mut(key) {
            let mut resp = dialog_response(st.tx.request(), status, reason, &tag);
            for (k, v) in extra {
                resp.push_header(k, v);
            }
            if let Some(b) = body {
                resp = resp.with_body("application/sdp", b);
            }
            let flow = st.flow;
            st.tx.respond(now, resp.clone());
            self.drive_server(key);
            if reliable && let Some(s) = self.sessions.get_mut(&id) {
                let t1 = self.cfg.timers.t1;
                s.rel = Some(RelProv {
                    resp,
                    flow,
                    next: (!flow.reliable()).then(|| now + t1),
                    interval: t1,
                    give_up: now + self.cfg.timers.t64(),
                });
            }
        }
        self.events.push_back(SoftphoneEvent::InviteIncoming {
            session: id,
            caller: remote,
            callee: local,
            audio_codecs: codecs,
        });
    }

    fn on_cancel(&mut self, now: SimInstant, key: &TxKey, req: &SipMessage) {
        let invite_key = TxKey {
            branch: key.branch.clone(),
            method: Method::Invite,
        };
        let cancellable = self
            .stx
            .get(&invite_key)
            .is_some_and(|s| s.tx.is_cancellable());
        if !cancellable {
            self.reply(now, key, 481, "Call/Transaction Does Not Exist", None);
            return;
        }
        self.reply(now, key, 200, "OK", None);
        let id = self.session_of(req);
        let tag = id
            .and_then(|i| self.sessions.get(&i))
            .map(|s| s.local_tag.clone())
            .unwrap_or_default();
        self.reply_tagged(now, &invite_key, 487, "Request Terminated", &tag, &[]);
        if let Some(id) = id {
            self.events
                .push_back(SoftphoneEvent::InviteClosed { session: id });
            self.end_session(id);
        }
    }

    fn on_in_dialog(&mut self, now: SimInstant, key: &TxKey, req: &SipMessage, method: Method) {
        let Some(id) = self.session_of(req) else {
            self.reply(now, key, 481, "Call/Transaction Does Not Exist", None);
            return;
        };
        let tag = self
            .sessions
            .get(&id)
            .map(|s| s.local_tag.clone())
            .unwrap_or_default();
        match method {
            Method::Bye => {
                self.reply_tagged(now, key, 200, "OK", &tag, &[]);
                self.events
                    .push_back(SoftphoneEvent::InviteClosed { session: id });
                self.end_session(id);
            }
            Method::Invite => {
                let offer = Sdp::parse(&req.body_text());
                let Some(s) = self.sessions.get_mut(&id) else {
                    return;
                };
                // The ACK for this 2xx ends its retransmissions (matched by dialog).
                s.server_invite = Some(key.clone());
                let mut body = None;
                if let Some(o) = offer {
                    let hold = o.is_hold();
                    let answer = Sdp::answer(&o, &s.local_sdp);
                    let codecs = answer.audio_codec_names();
                    body = Some(answer.to_text());
                    if hold && !s.remote_hold {
                        self.events
                            .push_back(SoftphoneEvent::RemoteHold { session: id });
                    } else if !hold && s.remote_hold {
                        self.events.push_back(SoftphoneEvent::RemoteUnHold {
                            session: id,
                            audio_codecs: codecs,
                        });
                    } else {
                        self.events
                            .push_back(SoftphoneEvent::InviteUpdated { session: id });
                    }
                    s.remote_hold = hold;
                    s.remote_sdp = Some(o);
                }
                let contact = self.contact();
                let Some(st) = self.stx.get_mut(key) else {
                    return;
                };
                let mut resp = dialog_response(st.tx.request(), 200, "OK", &tag)
                    .with_header("Contact", contact);
                if let Some(b) = body {
                    resp = resp.with_body("application/sdp", b);
                }
                st.tx.respond(now, resp);
                self.drive_server(key);
            }
            Method::Prack => {
                let (rseq, cseq) = self
                    .sessions
                    .get(&id)
                    .map(|s| {
                        (
                            s.rseq,
                            s.server_invite
                                .as_ref()
                                .and_then(|k| self.stx.get(k))
                                .and_then(|t| t.tx.request().cseq()),
                        )
                    })
                    .unwrap_or((0, None));
                let ok = req.rack().is_some_and(|r| {
                    r.rseq == rseq
                        && cseq.as_ref().is_some_and(|c| c.seq == r.cseq)
                        && r.method == Method::Invite
                });
                if ok {
                    if let Some(s) = self.sessions.get_mut(&id) {
                        s.rel = None;
                    }
                    self.reply_tagged(now, key, 200, "OK", &tag, &[]);
                } else {
                    self.reply_tagged(now, key, 481, "Call/Transaction Does Not Exist", &tag, &[]);
                }
            }
            Method::Info => {
                let body = req.body_text();
                let is_dtmf = req
                    .content_type()
                    .is_some_and(|c| c.eq_ignore_ascii_case("application/dtmf-relay"));
                match is_dtmf.then(|| parse_dtmf_relay(&body)).flatten() {
                    Some(tone) => self.events.push_back(SoftphoneEvent::RecvDtmfTone {
                        session: id,
                        tone,
                        method: DtmfMethod::Info,
                    }),
                    None => self.events.push_back(SoftphoneEvent::RecvInfo { body }),
                }
                self.reply_tagged(now, key, 200, "OK", &tag, &[]);
            }
            Method::Message => {
                self.events.push_back(SoftphoneEvent::RecvMessage {
                    session: id,
                    mime: req.content_type().unwrap_or("text/plain").to_string(),
                    text: req.body_text(),
                });
                self.reply_tagged(now, key, 200, "OK", &tag, &[]);
            }
            Method::Refer => {
                let refer_id = self.next_id;
                self.next_id += 1;
                let to = req
                    .raw_header("Refer-To")
                    .and_then(NameAddr::parse)
                    .map(|n| n.uri)
                    .unwrap_or_default();
                self.reply_tagged(now, key, 202, "Accepted", &tag, &[]);
                self.refers.insert(refer_id, (id, to.clone()));
                self.events.push_back(SoftphoneEvent::ReceivedRefer {
                    session: id,
                    refer_id,
                    to,
                    from: req.from_addr().map(|f| f.uri).unwrap_or_default(),
                });
            }
            Method::Notify => {
                let is_refer = req
                    .raw_header("Event")
                    .is_some_and(|e| e.trim().to_ascii_lowercase().starts_with("refer"));
                let frag = req.body_text();
                let status = frag
                    .lines()
                    .next()
                    .and_then(|l| l.strip_prefix("SIP/2.0 "))
                    .and_then(|r| r.get(..3))
                    .and_then(|c| c.parse::<u16>().ok());
                if is_refer && let Some(st) = status {
                    let reason = frag
                        .lines()
                        .next()
                        .and_then(|l| l.get(12..))
                        .unwrap_or("")
                        .trim()
                        .to_string();
                    let e = match st {
                        100 => SoftphoneEvent::TransferTrying { session: id },
                        101..=199 => SoftphoneEvent::TransferRinging { session: id },
                        200..=299 => SoftphoneEvent::ActvTransferSuccess { session: id },
                        _ => SoftphoneEvent::ActvTransferFailure {
                            session: id,
                            status: st,
                            reason,
                        },
                    };
                    self.events.push_back(e);
                }
                self.reply_tagged(now, key, 200, "OK", &tag, &[]);
            }
            _ => self.reply_tagged(now, key, 200, "OK", &tag, &[]),
        }
    }

    fn on_rtp(&mut self, d: &Datagram) {
        // RFC 4733 telephone-event: 12-byte RTP header, then event, E/R/volume, duration.
        let p = &d.payload;
        if p.len() < 16 || p[0] >> 6 != 2 {
            return;
        }
        let pt = p[1] & 0x7f;
        let session = self.sessions.iter().find(|(_, s)| {
            s.state == State::Connected
                && s.local_sdp
                    .codecs
                    .iter()
                    .any(|c| c.pt == pt && c.name.eq_ignore_ascii_case("telephone-event"))
        });
        if let Some((id, _)) = session
            && p[12] <= 16
        {
            self.events.push_back(SoftphoneEvent::RecvDtmfTone {
                session: *id,
                tone: p[12],
                method: DtmfMethod::Rfc2833,
            });
        }
    }

    fn deliver_frames(
        &mut self,
        now: SimInstant,
        frames: Vec<Result<Frame, ParseError>>,
        flow: Flow,
    ) {
        for f in frames {
            match f {
                Ok(Frame::Message(m)) => self.on_message(now, m, flow),
                Ok(Frame::Ping) => self.send_bytes(flow, Bytes::from_static(crate::message::PONG)),
                Ok(Frame::Pong) => {}
                Err(e) => {
                    self.malformed += 1;
                    self.events.push_back(SoftphoneEvent::Malformed {
                        detail: e.to_string(),
                    });
                }
            }
        }
    }

    fn keep_alive(&mut self, now: SimInstant) {
        match self.cfg.keep_alive_kind {
            KeepAliveKind::Crlf => {
                let flow = self.server_flow();
                self.send_bytes(flow, Bytes::from_static(crate::message::PING));
            }
            KeepAliveKind::Options => {
                let uri = format!("sip:{}", self.cfg.domain);
                let from = format!("<{}>;tag={}", self.aor(), token(&mut self.rng, 4));
                let call_id = format!("{}@natlab", token(&mut self.rng, 8));
                let req = self.base_request(
                    Method::Options,
                    &uri,
                    &from,
                    &format!("<{uri}>"),
                    &call_id,
                    1,
                );
                self.start_client(now, req, Purpose::KeepAlive);
            }
        }
    }
}

/// A response that keeps the dialog's route: Record-Route copied into 101–299 responses to
/// INVITE (RFC 3261 §12.1.1).
fn dialog_response(req: &SipMessage, status: u16, reason: &str, tag: &str) -> SipMessage {
    let mut resp = SipMessage::response_to(req, status, reason, Some(tag));
    if req.method() == Some(&Method::Invite) && (101..300).contains(&status) {
        for rr in req.header_values("Record-Route") {
            resp.push_header("Record-Route", rr);
        }
    }
    resp
}

fn reason_for(code: u16) -> &'static str {
    match code {
        403 => "Forbidden",
        404 => "Not Found",
        480 => "Temporarily Unavailable",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
        603 => "Decline",
        607 => "Unwanted",
        _ => "Rejected",
    }
}

fn tone_char(tone: u8) -> char {
    match tone {
        0..=9 => char::from(b'0' + tone),
        10 => '*',
        11 => '#',
        12..=15 => char::from(b'A' + tone - 12),
        _ => '!',
    }
}

fn parse_dtmf_relay(body: &str) -> Option<u8> {
    let line = body.lines().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("Signal")
            .then(|| v.trim().to_string())
    })?;
    let c = line.chars().next()?;
    match c {
        '0'..='9' => Some(c as u8 - b'0'),
        '*' => Some(10),
        '#' => Some(11),
        'A'..='D' => Some(c as u8 - b'A' + 12),
        'a'..='d' => Some(c as u8 - b'a' + 12),
        '!' => Some(16),
        _ => None,
    }
}

impl Node for Softphone {
    type Event = SoftphoneEvent;

    fn bindings(&self) -> Vec<Binding> {
        let mut b = vec![Binding::udp(self.cfg.rtp_port)];
        if self.cfg.transport == SipTransport::Udp {
            b.insert(0, Binding::udp(self.cfg.local_port));
        }
        b
    }

    fn handle_start(&mut self, now: SimInstant, addresses: Addresses) {
        let _ = now;
        if let Some(ip) = addresses.towards(self.cfg.server.ip()) {
            self.ip = ip;
        }
        let ip = self.ip.to_string();
        for s in self.sessions.values_mut() {
            s.local_sdp.address.clone_from(&ip);
        }
        if self.cfg.transport == SipTransport::Tcp {
            self.ensure_stream();
        }
    }

    fn handle_address_change(&mut self, now: SimInstant, old: Addresses, new: Addresses) {
        let _ = old;
        self.handle_start(now, new);
    }

    fn handle_bound(&mut self, _now: SimInstant, bound: Bound) {
        let Ok(addr) = bound.result else { return };
        if bound.binding == Binding::udp(self.cfg.local_port)
            && self.cfg.transport == SipTransport::Udp
        {
            self.sip_port = addr.port();
        }
        if bound.binding == Binding::udp(self.cfg.rtp_port) {
            self.rtp_port = addr.port();
            let port = addr.port();
            for s in self.sessions.values_mut() {
                s.local_sdp.port = port;
            }
        }
    }

    fn handle_datagram(&mut self, now: SimInstant, d: Datagram) {
        if d.dst.port() == self.rtp_port && d.dst.port() != self.sip_port {
            self.on_rtp(&d);
            return;
        }
        let flow = Flow::Udp {
            local_port: d.dst.port(),
            remote: d.src,
        };
        let frame = crate::message::parse_datagram(&d.payload);
        self.deliver_frames(now, vec![frame], flow);
    }

    fn handle_stream(&mut self, now: SimInstant, event: StreamEvent) {
        match event {
            StreamEvent::Connected { id, local } => {
                if let Some(c) = self.conns.map.get_mut(&id) {
                    c.open = true;
                }
                if self.stream == Some(id) {
                    self.sip_port = local.port();
                    if !local.ip().is_unspecified() {
                        self.ip = local.ip();
                    }
                    let flow = Flow::Tcp {
                        id,
                        remote: self.cfg.server,
                    };
                    for b in std::mem::take(&mut self.stream_queue) {
                        self.out.push_back(flow.transmit(b));
                    }
                }
            }
            StreamEvent::Accepted { id, remote, .. } => self.conns.insert(id, remote, true),
            StreamEvent::Data { id, data } => {
                let Some(remote) = self.conns.map.get(&id).map(|c| c.remote) else {
                    return;
                };
                let frames = self.conns.data(id, &data);
                self.deliver_frames(now, frames, Flow::Tcp { id, remote });
            }
            StreamEvent::Closed { id } | StreamEvent::Failed { id, .. } => {
                self.conns.close(id);
                if self.stream == Some(id) {
                    self.stream = None;
                    self.stream_queue.clear();
                }
            }
        }
    }

    fn handle_timeout(&mut self, now: SimInstant) {
        let due: Vec<TxKey> = self
            .ctx
            .iter()
            .filter(|(_, c)| c.tx.poll_timeout().is_some_and(|t| t <= now))
            .map(|(k, _)| k.clone())
            .collect();
        for k in due {
            if let Some(c) = self.ctx.get_mut(&k) {
                c.tx.on_timeout(now);
            }
            self.drive_client(now, &k);
        }
        let due: Vec<TxKey> = self
            .stx
            .iter()
            .filter(|(_, s)| s.tx.poll_timeout().is_some_and(|t| t <= now))
            .map(|(k, _)| k.clone())
            .collect();
        for k in due {
            if let Some(s) = self.stx.get_mut(&k) {
                s.tx.on_timeout(now);
            }
            self.drive_server(&k);
        }
        if self.reg.refresh_at.is_some_and(|t| t <= now) {
            self.reg.refresh_at = None;
            self.reg.answered_nonce = None;
            self.send_register(now, self.reg.expires);
        }
        if self.keep_alive_at.is_some_and(|t| t <= now) {
            self.keep_alive_at = Some(now + self.cfg.keep_alive);
            self.keep_alive(now);
        }
        self.retransmit_reliable(now);
        // RFC 4028 session refresh: a re-INVITE with the current SDP every half interval.
        let due: Vec<(u32, Direction)> = self
            .sessions
            .iter_mut()
            .filter(|(_, s)| s.refresh_at.is_some_and(|t| t <= now))
            .map(|(id, s)| {
                s.refresh_at = None;
                (*id, s.local_sdp.direction)
            })
            .collect();
        for (id, dir) in due {
            if self.reinvite(now, id, dir, "sessionTimer").is_ok()
                && let Some(se) = self.cfg.session_timer
                && let Some(s) = self.sessions.get_mut(&id)
            {
                s.refresh_at = Some(now + Duration::from_secs(u64::from(se.max(90)) / 2));
            }
        }
    }

    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.out.pop_front()
    }

    fn poll_event(&mut self) -> Option<SoftphoneEvent> {
        self.events.pop_front()
    }

    fn poll_timeout(&self) -> Option<SimInstant> {
        let tx = self
            .ctx
            .values()
            .filter_map(|c| c.tx.poll_timeout())
            .chain(self.stx.values().filter_map(|s| s.tx.poll_timeout()))
            .min();
        let refresh = self
            .sessions
            .values()
            .filter_map(|s| {
                let rel = s
                    .rel
                    .as_ref()
                    .map(|r| r.next.unwrap_or(r.give_up).min(r.give_up));
                [s.refresh_at, rel].into_iter().flatten().min()
            })
            .min();
        [tx, self.reg.refresh_at, self.keep_alive_at, refresh]
            .into_iter()
            .flatten()
            .min()
    }
}

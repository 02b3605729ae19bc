//! The softphone SDK (PortSIP VoIP SDK for Windows) API (`softphone-api.yaml`): callbacks,
//! functions, documented defaults and PRACK modes.

use crate::data;

/// A callback the SDK raises (`PortSIP.SIPCallbackEvents`), with the SIP event behind it.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SoftphoneCallback {
    /// The callback name (`onRegisterFailure`).
    pub name: &'static str,
    /// The manual's module heading (`Register events`).
    pub module: &'static str,
    /// The C# signature.
    pub signature: &'static str,
    /// When the SDK raises it.
    pub trigger: &'static str,
    /// The SIP event that raises it, where the manual states it or the name makes it plain.
    pub sip: Option<&'static str>,
    /// The parameters that matter.
    pub key_params: &'static [Param],
    /// Inconsistencies of the manual, not corrected.
    pub comment: Option<&'static str>,
}

/// A function of the SDK (`PortSIP.PortSIPLib`) that bears on signalling, SDP, NAT or network.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SoftphoneFunction {
    /// The function name (`registerServer`).
    pub name: &'static str,
    /// The simulator's grouping.
    pub group: FunctionGroup,
    /// The manual heading it appears under.
    pub section: &'static str,
    /// The C# signature.
    pub signature: &'static str,
    /// What it does.
    pub purpose: &'static str,
    /// Its parameters as the manual documents them.
    pub params: &'static [Param],
    /// Documented defaults and limits.
    pub defaults_and_limits: &'static [&'static str],
    /// The documented return value, where it differs from the general convention.
    pub returns: Option<&'static str>,
    /// Callbacks that report its result.
    pub related_callbacks: &'static [&'static str],
    /// Inconsistencies of the manual, not corrected.
    pub comment: Option<&'static str>,
    /// `setReliableProvisional` only: the PRACK modes.
    pub modes: &'static [PrackMode],
    /// `sendDtmf` only: the DTMF codes.
    pub dtmf_codes: &'static [DtmfCode],
}

/// A documented parameter.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Param {
    /// Parameter name.
    pub name: &'static str,
    /// What the manual says about it.
    pub doc: &'static str,
}

/// A PRACK (RFC 3262) mode of `setReliableProvisional`.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PrackMode {
    /// The mode number (0 to 3).
    pub mode: u8,
    /// Its name (`Never`, `SupportedEssential`, `Supported`, `Required`).
    pub name: &'static str,
    /// When reliable provisionals are sent.
    pub meaning: &'static str,
}

/// A DTMF code accepted by `sendDtmf`.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DtmfCode {
    /// The code passed to the API.
    pub code: u8,
    /// The tone it sends.
    pub tone: &'static str,
}

/// A documented default or limit, keyed `function.setting` (`registerServer.expires_max_seconds`).
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyDefault {
    /// The key as the catalog writes it.
    pub key: &'static str,
    /// Its value.
    pub value: DefaultValue,
}

impl KeyDefault {
    /// The function the key belongs to (before the first `.`).
    pub fn function(&self) -> &'static str {
        self.key.split_once('.').map_or(self.key, |(f, _)| f)
    }

    /// The setting within the function (after the first `.`).
    pub fn setting(&self) -> &'static str {
        self.key.split_once('.').map_or("", |(_, s)| s)
    }
}

/// The value of a [`KeyDefault`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DefaultValue {
    /// A number (`3600`).
    Integer(i64),
    /// A boolean (`enableRport.default: true`).
    Flag(bool),
    /// Prose (`<= 0 disables retry (onRegisterFailure raised)`).
    Text(&'static str),
    /// A pair or list of numbers: a recommended range or set (`[30, 50]`).
    Integers(&'static [i64]),
}

impl std::fmt::Display for DefaultValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Integer(n) => write!(f, "{n}"),
            Self::Flag(b) => write!(f, "{b}"),
            Self::Text(t) => f.write_str(t),
            Self::Integers(ns) => {
                let parts: Vec<String> = ns.iter().map(i64::to_string).collect();
                write!(f, "[{}]", parts.join(", "))
            }
        }
    }
}

/// The simulator's grouping of functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum FunctionGroup {
    /// `setup`: initialise, account, registration.
    Setup,
    /// `sdp`: codecs and SDP content.
    Sdp,
    /// `settings`: NAT, keep-alive, timers, transport settings.
    Settings,
    /// `call`: call control.
    Call,
    /// `refer`: transfer.
    Refer,
    /// `media-transport`: RTP/SRTP transport.
    MediaTransport,
    /// `messaging`: INFO, OPTIONS, MESSAGE and extra headers.
    Messaging,
    /// `presence`: SUBSCRIBE, NOTIFY, PUBLISH.
    Presence,
}

impl FunctionGroup {
    /// The catalog's spelling (`media-transport`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Setup => "setup",
            Self::Sdp => "sdp",
            Self::Settings => "settings",
            Self::Call => "call",
            Self::Refer => "refer",
            Self::MediaTransport => "media-transport",
            Self::Messaging => "messaging",
            Self::Presence => "presence",
        }
    }
}

impl std::fmt::Display for FunctionGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Statements that hold for the whole SDK.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SoftphoneGeneral {
    /// 0 on success, an error code on failure; creating functions return an ID > 0.
    pub return_convention: &'static str,
    /// Which functions may be called from callbacks.
    pub thread_safety: &'static str,
    /// Supported architectures.
    pub architectures: &'static str,
    /// What the trial SDK allows.
    pub trial_limitation: &'static str,
    /// The manual's peer-to-peer test.
    pub p2p_test: &'static str,
    /// Project setup steps.
    pub project_setup: &'static str,
}

/// Functions or callbacks the manual has but the catalog lists by name only (media, devices,
/// files), with the catalog's remark on them.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct NamesOnly {
    /// The names, in the manual's order.
    pub names: &'static [&'static str],
    /// The remark that follows the list, if any.
    pub remark: Option<&'static str>,
}

/// The 41 callbacks the catalog details, in manual order.
pub fn softphone_callbacks() -> &'static [SoftphoneCallback] {
    &data::SOFTPHONE_CALLBACKS
}

/// The callback named `name` (ASCII case-insensitive).
pub fn softphone_callback(name: &str) -> Option<&'static SoftphoneCallback> {
    softphone_callbacks()
        .iter()
        .find(|c| c.name.eq_ignore_ascii_case(name))
}

/// The manual's callback modules, in order (some have no detailed callback).
pub fn callback_modules() -> &'static [&'static str] {
    &data::CALLBACK_MODULES
}

/// The 83 functions the catalog details, in manual order.
pub fn softphone_functions() -> &'static [SoftphoneFunction] {
    &data::SOFTPHONE_FUNCTIONS
}

/// The function named `name` (ASCII case-insensitive).
pub fn softphone_function(name: &str) -> Option<&'static SoftphoneFunction> {
    softphone_functions()
        .iter()
        .find(|f| f.name.eq_ignore_ascii_case(name))
}

/// The 59 functions listed by name only.
pub fn functions_by_name_only() -> &'static NamesOnly {
    &data::FUNCTIONS_BY_NAME_ONLY
}

/// The 5 callbacks listed by name only.
pub fn callbacks_by_name_only() -> &'static NamesOnly {
    &data::CALLBACKS_BY_NAME_ONLY
}

/// The documented defaults and limits, in catalog order.
pub fn key_defaults() -> &'static [KeyDefault] {
    &data::KEY_DEFAULTS
}

/// The default or limit keyed `key` (`enableRport.default`).
pub fn key_default(key: &str) -> Option<&'static KeyDefault> {
    key_defaults().iter().find(|k| k.key == key)
}

/// The four PRACK modes of `setReliableProvisional`.
pub fn prack_modes() -> &'static [PrackMode] {
    &data::PRACK_MODES
}

/// The PRACK mode numbered `mode`.
pub fn prack_mode(mode: u8) -> Option<&'static PrackMode> {
    prack_modes().iter().find(|m| m.mode == mode)
}

/// Statements that hold for the whole SDK.
pub fn softphone_general() -> &'static SoftphoneGeneral {
    &data::SOFTPHONE_GENERAL
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softphone_counts_match_yaml_counts() {
        assert_eq!(softphone_callbacks().len(), 41);
        assert_eq!(callbacks_by_name_only().names.len(), 5);
        assert_eq!(softphone_functions().len(), 83);
        assert_eq!(functions_by_name_only().names.len(), 59);
        assert_eq!(callback_modules().len(), 11);
        assert_eq!(prack_modes().len(), 4);
    }

    #[test]
    fn softphone_callback_by_name() {
        let cb = softphone_callback("onInviteSessionProgress").unwrap();
        assert_eq!(cb.module, "Call events");
        assert_eq!(cb.sip, Some("183 Session Progress received"));
        assert_eq!(cb.key_params.first().map(|p| p.name), Some("sessionId"));
        assert!(softphone_callback("onregisterfailure").is_some());
        assert!(softphone_callback("onPlayFileFinished").is_none());
        assert!(
            callbacks_by_name_only()
                .names
                .contains(&"onPlayFileFinished")
        );
    }

    #[test]
    fn softphone_callbacks_modules_are_listed_modules() {
        for cb in softphone_callbacks() {
            assert!(callback_modules().contains(&cb.module), "{}", cb.name);
        }
    }

    #[test]
    fn softphone_function_register_server_documents_its_limits() {
        let f = softphone_function("registerServer").unwrap();
        assert_eq!(f.group, FunctionGroup::Setup);
        assert_eq!(
            f.related_callbacks,
            ["onRegisterSuccess", "onRegisterFailure"]
        );
        let expires = key_default("registerServer.expires_max_seconds").unwrap();
        assert_eq!(expires.value, DefaultValue::Integer(3600));
        assert_eq!(expires.function(), "registerServer");
        assert_eq!(expires.setting(), "expires_max_seconds");
    }

    #[test]
    fn key_defaults_keep_value_kinds() {
        assert_eq!(
            key_default("enableRport.default").unwrap().value,
            DefaultValue::Flag(true)
        );
        assert_eq!(
            key_default("setKeepAliveTime.recommended_seconds")
                .unwrap()
                .value,
            DefaultValue::Integers(&[30, 50])
        );
        let retry = key_default("registerServer.retryTimes").unwrap().value;
        assert!(matches!(retry, DefaultValue::Text(t) if t.starts_with("<= 0")));
        assert_eq!(key_defaults().len(), 20);
    }

    #[test]
    fn prack_modes_match_set_reliable_provisional() {
        let f = softphone_function("setReliableProvisional").unwrap();
        assert_eq!(f.modes, prack_modes());
        assert_eq!(prack_mode(0).map(|m| m.name), Some("Never"));
        assert_eq!(prack_mode(3).map(|m| m.name), Some("Required"));
        assert!(prack_mode(4).is_none());
    }

    #[test]
    fn send_dtmf_lists_dtmf_codes() {
        let f = softphone_function("sendDtmf").unwrap();
        assert_eq!(
            f.dtmf_codes.first().map(|d| (d.code, d.tone)),
            Some((0, "0"))
        );
        assert!(f.modes.is_empty());
    }

    #[test]
    fn callbacks_by_name_only_keeps_its_remark() {
        let remark = callbacks_by_name_only().remark.unwrap();
        assert!(remark.starts_with("media/file/statistics callbacks"));
        assert!(functions_by_name_only().remark.is_none());
    }
}

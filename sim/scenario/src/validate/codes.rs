//! Codes in expectations, resolved against the catalog of the reporting endpoint's kind: AAE
//! endpoints report AAE events carrying AAE status codes (or SIP-like 100–699), softphones report
//! callbacks (`onRegisterFailure`) carrying SIP statuses.

use super::Checker;
use crate::load::did_you_mean;
use crate::model::CodeRef;
use crate::path::YamlPath;
use crate::scenario::{EventCode, StatusCode};
use sim_catalog::{
    aae_event, aae_event_by_name, aae_events, aae_status, aae_status_by_name, softphone_callback,
    softphone_callbacks,
};

/// Which catalog an endpoint's events come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    Aae,
    /// A NAT-type detector: the AAE SDK's detection event and natlab's legacy-check event.
    Detector,
    /// An ICE agent: natlab's ICE events carrying the AAE catalog's PJNATH statuses.
    Ice,
    Softphone,
    Probe,
    /// The AAE web service and the `aae-app`: natlab's `web-*` events carrying HTTP statuses.
    Web,
}

/// Events an `aae` endpoint logs besides the SDK's: refused API calls under the function's
/// name, tunnel data totals, and its ICE agents' and tunnels' own events.
const AAE_OWN_EVENTS: &[&[&str]] = &[
    sim_aae::API_FUNCTIONS,
    sim_aae::OWN_EVENTS,
    sim_ice::EVENT_NAMES,
    sim_tunnel::EVENT_NAMES,
];

/// Events a `nat-detector` reports besides the AAE SDK's 60005.
const DETECTOR_EVENTS: &[&str] = &["stun-mapped-address-check"];

impl Source {
    /// The catalog of an endpoint kind; `None` for kinds that report no events.
    pub(crate) fn of(kind: &str) -> Option<Self> {
        match kind {
            "aae" => Some(Self::Aae),
            "nat-detector" => Some(Self::Detector),
            "ice-agent" => Some(Self::Ice),
            "softphone" => Some(Self::Softphone),
            "udp-probe" | "tcp-probe" => Some(Self::Probe),
            "aae-app" | "aae-web" => Some(Self::Web),
            _ => None,
        }
    }
}

const LIST_PROBE: &str = "probes report probe-started, address-changed, port-bound, bind-failed, \
                          stream-opened and stream-failed (use `received` for probe traffic)";

const LIST_EVENTS: &str = "`natlab codes --catalog aae-events` lists the AAE events";
const LIST_STATUS: &str = "`natlab codes --catalog aae-status` lists the AAE status codes";
const LIST_CALLBACKS: &str = "`natlab codes --catalog softphone` lists the softphone callbacks";

/// Resolves an event code written at `path` for an endpoint named `who`.
pub(crate) fn event(
    c: &mut Checker<'_>,
    path: &YamlPath,
    source: Source,
    who: &str,
    code: &CodeRef,
) -> Option<EventCode> {
    let source = match (source, code) {
        (Source::Detector, CodeRef::Name(name)) => {
            if let Some(&known) = DETECTOR_EVENTS.iter().find(|&&e| e == name) {
                return Some(EventCode::Probe(known));
            }
            Source::Aae
        }
        (Source::Detector, _) => Source::Aae,
        (Source::Ice, CodeRef::Name(name)) => {
            if let Some(&known) = sim_ice::EVENT_NAMES.iter().find(|&&e| e == name) {
                return Some(EventCode::Probe(known));
            }
            c.error_help(
                path,
                format!("unknown ICE agent event `{name}`"),
                format!("ICE agents report {}", sim_ice::EVENT_NAMES.join(", ")),
            );
            return None;
        }
        (Source::Ice, CodeRef::Number(n)) => {
            c.error(
                path,
                format!("ICE agent events are named like `connected`, found the number {n}"),
            );
            return None;
        }
        (Source::Web, code) => return web_event(c, path, who, code),
        (s, _) => s,
    };
    match (source, code) {
        (Source::Detector | Source::Ice | Source::Web, _) => None,
        (Source::Aae, CodeRef::Number(n)) => aae_event_number(c, path, *n),
        (Source::Aae, CodeRef::Name(name)) => aae_event_name(c, path, who, name),
        (Source::Softphone, CodeRef::Name(name)) => callback(c, path, who, name),
        (Source::Softphone, CodeRef::Number(n)) => {
            c.error_help(
                path,
                format!("softphone events are callbacks named like `onRegisterFailure`, found the number {n}"),
                LIST_CALLBACKS,
            );
            None
        }
        (Source::Probe, CodeRef::Name(name)) => probe_event(c, path, who, name),
        (Source::Probe, CodeRef::Number(n)) => {
            c.error_help(
                path,
                format!("probe events are named like `probe-started`, found the number {n}"),
                LIST_PROBE,
            );
            None
        }
    }
}

const LIST_WEB: &str = "the aae-app reports web-<step>-ok/-failed, web-handover and \
                        web-bind-ok/-failed; aae-web servers web-served, web-bad-request, \
                        web-device-bound, web-device-rebound and web-tickets-expired";

fn web_event(c: &mut Checker<'_>, path: &YamlPath, who: &str, code: &CodeRef) -> Option<EventCode> {
    let known = sim_aae_web::EVENT_NAMES
        .iter()
        .chain(sim_aae_web::SERVER_EVENT_NAMES);
    match code {
        CodeRef::Name(name) => {
            if let Some(&e) = known.clone().find(|&&e| e == name) {
                return Some(EventCode::Probe(e));
            }
            let all: Vec<&str> = known.copied().collect();
            let message = format!("unknown AAE web event `{name}` for `{who}`");
            unknown(c, path, &message, name, &all, LIST_WEB);
        }
        CodeRef::Number(n) => c.error_help(
            path,
            format!("AAE web events are named like `web-login-ok`, found the number {n}"),
            LIST_WEB,
        ),
    }
    None
}

fn probe_event(c: &mut Checker<'_>, path: &YamlPath, who: &str, name: &str) -> Option<EventCode> {
    if let Some(&known) = sim_probe::LOGGED_EVENTS.iter().find(|&&e| e == name) {
        return Some(EventCode::Probe(known));
    }
    let message = if sim_probe::EVENT_NAMES.contains(&name) {
        format!("`{name}` is probe traffic, counted rather than logged: expect it with `received`")
    } else {
        format!("unknown event `{name}` for probe `{who}`")
    };
    unknown(
        c,
        path,
        &message,
        name,
        sim_probe::LOGGED_EVENTS,
        LIST_PROBE,
    );
    None
}

fn aae_event_number(c: &mut Checker<'_>, path: &YamlPath, n: u64) -> Option<EventCode> {
    let n32 = u32::try_from(n).ok();
    if let Some(e) = n32.and_then(aae_event) {
        return Some(EventCode::Aae(e));
    }
    match n32.and_then(aae_status) {
        Some(s) => c.error_help(
            path,
            format!("{n} is an AAE status code ({}), not an event code", s.name),
            "write it as `status`, next to the event that carries it as `code`",
        ),
        None => c.error_help(path, format!("unknown AAE event code {n}"), LIST_EVENTS),
    }
    None
}

fn aae_event_name(
    c: &mut Checker<'_>,
    path: &YamlPath,
    who: &str,
    name: &str,
) -> Option<EventCode> {
    if let Some(e) = aae_event_by_name(name) {
        return Some(EventCode::Aae(e));
    }
    if let Some(&own) = AAE_OWN_EVENTS
        .iter()
        .flat_map(|list| list.iter())
        .find(|&&e| e == name)
    {
        return Some(EventCode::Probe(own));
    }
    if let Some(s) = aae_status_by_name(name) {
        c.error_help(
            path,
            format!("`{name}` is an AAE status code ({}), not an event", s.code),
            "write it as `status`, next to the event that carries it as `code`",
        );
    } else if softphone_callback(name).is_some() {
        c.error(
            path,
            format!("`{name}` is a softphone callback, but `{who}` is an aae endpoint"),
        );
    } else {
        let names: Vec<&str> = aae_events().iter().map(|e| e.name).collect();
        unknown(
            c,
            path,
            &format!("unknown AAE event `{name}`"),
            name,
            &names,
            LIST_EVENTS,
        );
    }
    None
}

fn callback(c: &mut Checker<'_>, path: &YamlPath, who: &str, name: &str) -> Option<EventCode> {
    if let Some(cb) = softphone_callback(name) {
        return Some(EventCode::Softphone(cb));
    }
    if aae_event_by_name(name).is_some() || aae_status_by_name(name).is_some() {
        c.error(
            path,
            format!("`{name}` is an AAE code, but `{who}` is a softphone endpoint"),
        );
    } else {
        let names: Vec<&str> = softphone_callbacks().iter().map(|cb| cb.name).collect();
        unknown(
            c,
            path,
            &format!("unknown softphone callback `{name}`"),
            name,
            &names,
            LIST_CALLBACKS,
        );
    }
    None
}

/// Resolves a status code written at `path`.
pub(crate) fn status(
    c: &mut Checker<'_>,
    path: &YamlPath,
    source: Source,
    code: &CodeRef,
) -> Option<StatusCode> {
    let sip = |n: u64| u16::try_from(n).ok().filter(|n| (100..=699).contains(n));
    let source = if matches!(source, Source::Detector | Source::Ice) {
        Source::Aae
    } else {
        source
    };
    match (source, code) {
        (Source::Detector | Source::Ice, _) => None,
        (Source::Web, CodeRef::Number(n)) => {
            let s = u16::try_from(*n).ok().filter(|n| (100..=599).contains(n));
            if s.is_none() {
                c.error(
                    path,
                    format!("status {n} is not an HTTP status, expected 100 to 599"),
                );
            }
            s.map(StatusCode::Http)
        }
        (Source::Web, CodeRef::Name(name)) => {
            c.error(
                path,
                format!("an AAE web status is an HTTP status number (such as 401), found `{name}`"),
            );
            None
        }
        (Source::Aae, CodeRef::Number(n)) => {
            let n32 = u32::try_from(*n).ok();
            if let Some(s) = n32.and_then(aae_status) {
                return Some(StatusCode::Aae(s));
            }
            if let Some(s) = sip(*n) {
                return Some(StatusCode::Sip(s));
            }
            match n32.and_then(aae_event) {
                Some(e) => c.error(
                    path,
                    format!("{n} is an AAE event code ({}), not a status code", e.name),
                ),
                None => c.error_help(path, format!("unknown AAE status code {n}"), LIST_STATUS),
            }
            None
        }
        (Source::Aae, CodeRef::Name(name)) => {
            if let Some(s) = aae_status_by_name(name) {
                return Some(StatusCode::Aae(s));
            }
            if aae_event_by_name(name).is_some() {
                c.error(path, format!("`{name}` is an AAE event, not a status code"));
            } else {
                let names: Vec<&str> = sim_catalog::aae_statuses().iter().map(|s| s.name).collect();
                unknown(
                    c,
                    path,
                    &format!("unknown AAE status code `{name}`"),
                    name,
                    &names,
                    LIST_STATUS,
                );
            }
            None
        }
        (Source::Softphone, CodeRef::Number(n)) => {
            let s = sip(*n);
            if s.is_none() {
                c.error(
                    path,
                    format!("status {n} is not a SIP status, expected 100 to 699"),
                );
            }
            s.map(StatusCode::Sip)
        }
        (Source::Softphone, CodeRef::Name(name)) => {
            c.error(
                path,
                format!("a softphone status is a SIP status number (such as 486), found `{name}`"),
            );
            None
        }
        (Source::Probe, _) => {
            c.error(path, "probe events carry no status");
            None
        }
    }
}

fn unknown(
    c: &mut Checker<'_>,
    path: &YamlPath,
    message: &str,
    name: &str,
    names: &[&str],
    list: &str,
) {
    match did_you_mean(name, names) {
        Some(s) => c.error_help(path, message, format!("did you mean `{s}`?")),
        None => c.error_help(path, message, list),
    }
}

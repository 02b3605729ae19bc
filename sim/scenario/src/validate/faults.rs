//! `packet_fault` and `packet_fault_end`: names, the match, the selection, the action.

use super::{Checker, Topo, timeline};
use crate::fault::{ClassMatch, FaultEffect, FaultRule, SipRewrite, stun_attribute};
use crate::load::did_you_mean;
use crate::model::{
    Action, FaultAction, FaultRef, PacketFault, PacketMatch, PacketProtocol, Rewrite, Select,
    SipMatch, StunMatch, TcpMatch,
};
use crate::path::YamlPath;
use crate::scenario::ResolvedAction;
use std::collections::BTreeMap;
use std::time::Duration;

/// At most this many packet faults per scenario (the fabric marks each packet with one bit per
/// rule).
pub(crate) const MAX_PACKET_FAULTS: usize = 64;

/// The packet faults of the file: name → (time, timeline index), first declaration wins.
fn declared<'a>(c: &Checker<'a>) -> BTreeMap<&'a str, (Duration, usize)> {
    let mut out = BTreeMap::new();
    for (i, e) in c.file.timeline.iter().enumerate() {
        if let Action::PacketFault(f) = &e.action {
            out.entry(f.name.as_str()).or_insert((e.at.get(), i));
        }
    }
    out
}

/// Names are valid and unique, and there are not too many rules.
pub(crate) fn check_names(c: &mut Checker<'_>) {
    let seq = YamlPath::root().key("timeline");
    let mut seen = BTreeMap::<String, YamlPath>::new();
    let mut count = 0;
    let file = c.file;
    for (i, e) in file.timeline.iter().enumerate() {
        let Action::PacketFault(f) = &e.action else {
            continue;
        };
        count += 1;
        let entry = c.element(&seq, i);
        let path = entry.key("packet_fault").key("name");
        if count == MAX_PACKET_FAULTS + 1 {
            c.error(
                &entry,
                format!("more than {MAX_PACKET_FAULTS} packet faults, expected at most {MAX_PACKET_FAULTS}"),
            );
        }
        if !valid_name(&f.name) {
            c.error_help(
                &path,
                format!("`{}` is not a valid fault name", f.name),
                "names hold 1 to 64 letters, digits, `-` or `_`",
            );
        }
        match seen.get(&f.name) {
            Some(first) => c.error_help(
                &path,
                format!("duplicate packet fault name `{}`", f.name),
                format!("`{}` is already the name of the fault at {first}", f.name),
            ),
            None => {
                seen.insert(f.name.clone(), entry);
            }
        }
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
}

/// `packet_fault_end`: names a fault declared no later than the end.
pub(crate) fn fault_end(
    c: &mut Checker<'_>,
    path: &YamlPath,
    at: Duration,
    r: &FaultRef,
) -> Option<ResolvedAction> {
    let declared = declared(c);
    let path = path.key("name");
    match declared.get(r.name.as_str()) {
        Some(&(start, _)) if start > at => {
            c.error(
                &path,
                format!(
                    "packet fault `{}` starts at {:?}, after this end at {:?}",
                    r.name, start, at
                ),
            );
            None
        }
        Some(_) => Some(ResolvedAction::PacketFaultEnd(r.name.clone())),
        None => {
            let names: Vec<&str> = declared.keys().copied().collect();
            let message = format!("unknown packet fault `{}`", r.name);
            match did_you_mean(&r.name, &names) {
                Some(s) => c.error_help(&path, message, format!("did you mean `{s}`?")),
                None if names.is_empty() => {
                    c.error_help(&path, message, "the timeline declares no `packet_fault`");
                }
                None => c.error_help(
                    &path,
                    message,
                    format!("declared: {}", quoted(names.iter().copied())),
                ),
            }
            None
        }
    }
}

fn quoted<'a>(names: impl Iterator<Item = &'a str>) -> String {
    names
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `packet_fault` at `path` (the action's body), in force from `at`.
pub(crate) fn packet_fault(
    c: &mut Checker<'_>,
    topo: &Topo,
    path: &YamlPath,
    at: Duration,
    f: &PacketFault,
) -> Option<ResolvedAction> {
    let m = path.key("match");
    let class = class(c, &m, &f.matches);
    let from = opt_subject(c, topo, &m.key("from"), f.matches.from.as_deref());
    let to = opt_subject(c, topo, &m.key("to"), f.matches.to.as_deref());
    let link = opt_subject(c, topo, &m.key("link"), f.matches.link.as_deref());
    if f.matches.direction.is_some() && f.matches.link.is_none() {
        c.error_help(
            &m.key("direction"),
            "`direction` needs a `link` to be relative to",
            "add `link: <node or NAT>`",
        );
    }
    if let Some(s) = f.select {
        select(c, &path.key("select"), s);
    }
    until(c, &path.key("until"), at, f.until.map(|u| u.get()));
    let effect = effect(c, &path.key("action"), class.as_ref(), &f.action);
    let rule = FaultRule {
        name: f.name.clone(),
        class: class?,
        from: from?,
        to: to?,
        link: link?.map(|l| (l, f.matches.direction)),
        select: f.select,
        effect: effect?,
        until: f.until.map(|u| u.get()),
    };
    Some(ResolvedAction::PacketFault(Box::new(rule)))
}

/// `Some(None)` when not written, `None` when written and unresolved.
fn opt_subject(
    c: &mut Checker<'_>,
    topo: &Topo,
    path: &YamlPath,
    name: Option<&str>,
) -> Option<Option<crate::scenario::Subject>> {
    match name {
        None => Some(None),
        Some(n) => timeline::subject(c, topo, path, n).map(Some),
    }
}

fn select(c: &mut Checker<'_>, path: &YamlPath, s: Select) {
    let (key, n) = match s {
        Select::First(n) => ("first", n),
        Select::Every(n) => ("every", n),
        Select::Nth(n) => ("nth", n),
    };
    if n == 0 {
        c.error(
            &path.key(key),
            format!("`{key}: 0` selects no packet, expected at least 1"),
        );
    }
}

fn until(c: &mut Checker<'_>, path: &YamlPath, at: Duration, until: Option<Duration>) {
    let Some(u) = until else { return };
    if u <= at {
        c.error(
            path,
            format!(
                "`until` {u:?} is not after the fault's `at` ({at:?}): the fault would never act"
            ),
        );
    } else if u > c.duration() {
        c.warning(
            path,
            format!(
                "`until` {u:?} is after the end of the run ({})",
                c.file.duration
            ),
            "leave `until` out to keep the fault until the end",
        );
    }
}

/// The protocol implied by the class fields, checked against `protocol`.
fn class(c: &mut Checker<'_>, path: &YamlPath, m: &PacketMatch) -> Option<ClassMatch> {
    let given: Vec<(&str, PacketProtocol)> = [
        m.sip.as_ref().map(|_| ("sip", PacketProtocol::Sip)),
        m.stun.as_ref().map(|_| ("stun", PacketProtocol::Stun)),
        m.tcp.as_ref().map(|_| ("tcp", PacketProtocol::Tcp)),
    ]
    .into_iter()
    .flatten()
    .collect();
    if let [(a, _), (b, _), ..] = given.as_slice() {
        c.error(
            &path.key(b),
            format!("`{a}` and `{b}` fields cannot both hold for one packet, expected one of them"),
        );
        return None;
    }
    let implied = given.first().copied();
    let protocol = match (m.protocol, implied) {
        (Some(p), Some((key, q))) if p != q => {
            c.error(
                &path.key(key),
                format!(
                    "`{key}` fields need `protocol: {key}`, but `protocol` is `{}`",
                    protocol_name(p)
                ),
            );
            return None;
        }
        (Some(p), _) => p,
        (None, Some((_, q))) => q,
        (None, None) => PacketProtocol::Any,
    };
    Some(match protocol {
        PacketProtocol::Any => ClassMatch::Any,
        PacketProtocol::Udp => ClassMatch::Udp,
        PacketProtocol::Tcp => tcp(c, &path.key("tcp"), m.tcp.as_ref())?,
        PacketProtocol::Sip => sip(c, &path.key("sip"), m.sip.as_ref())?,
        PacketProtocol::Stun => stun(c, &path.key("stun"), m.stun.as_ref())?,
        PacketProtocol::TurnChannel => ClassMatch::TurnChannel,
        PacketProtocol::Tunnel => ClassMatch::Tunnel,
        PacketProtocol::Rtp => ClassMatch::Rtp,
        PacketProtocol::Dns => ClassMatch::Dns,
    })
}

const fn protocol_name(p: PacketProtocol) -> &'static str {
    match p {
        PacketProtocol::Any => "any",
        PacketProtocol::Udp => "udp",
        PacketProtocol::Tcp => "tcp",
        PacketProtocol::Sip => "sip",
        PacketProtocol::Stun => "stun",
        PacketProtocol::TurnChannel => "turn-channel",
        PacketProtocol::Tunnel => "tunnel",
        PacketProtocol::Rtp => "rtp",
        PacketProtocol::Dns => "dns",
    }
}

fn tcp(c: &mut Checker<'_>, path: &YamlPath, t: Option<&TcpMatch>) -> Option<ClassMatch> {
    let t = t.cloned().unwrap_or_default();
    for (i, flag) in t.without.iter().enumerate() {
        if t.flags.contains(flag) {
            c.error(
                &path.key("without").index(i),
                format!("`{flag:?}` is in both `flags` and `without`: no segment matches")
                    .to_lowercase(),
            );
            return None;
        }
    }
    Some(ClassMatch::Tcp {
        flags: t.flags,
        without: t.without,
    })
}

/// A SIP method token: upper-case letters (RFC 3261 methods are upper case by convention).
fn method(c: &mut Checker<'_>, path: &YamlPath, m: Option<&String>) -> bool {
    let Some(m) = m else { return true };
    let ok = !m.is_empty() && m.chars().all(|ch| ch.is_ascii_uppercase() || ch == '-');
    if !ok {
        c.error_help(
            path,
            format!("`{m}` is not a SIP method"),
            "write the method in upper case, as on the wire: `INVITE`, `OPTIONS`, `REGISTER`...",
        );
    }
    ok
}

fn sip(c: &mut Checker<'_>, path: &YamlPath, s: Option<&SipMatch>) -> Option<ClassMatch> {
    let s = s.cloned().unwrap_or_default();
    let mut ok = method(c, &path.key("method"), s.method.as_ref());
    ok &= method(c, &path.key("cseq_method"), s.cseq_method.as_ref());
    if let Some(code) = s.status
        && !(100..=699).contains(&code)
    {
        c.error(
            &path.key("status"),
            format!("`status` {code} is not a SIP status, expected 100 to 699"),
        );
        ok = false;
    }
    if s.method.is_some() && s.status.is_some() {
        c.error_help(
            &path.key("status"),
            "`method` matches requests and `status` responses: no message has both",
            "use `cseq_method` for the responses to a method",
        );
        ok = false;
    }
    ok.then_some(ClassMatch::Sip {
        method: s.method,
        status: s.status,
        cseq_method: s.cseq_method,
    })
}

fn stun(c: &mut Checker<'_>, path: &YamlPath, s: Option<&StunMatch>) -> Option<ClassMatch> {
    let s = s.cloned().unwrap_or_default();
    let attribute = match &s.attribute {
        None => None,
        Some(text) => match stun_attribute(text) {
            Some(code) => Some(code),
            None => {
                let names: Vec<&str> = crate::fault::STUN_ATTRIBUTES
                    .iter()
                    .map(|(n, _)| *n)
                    .collect();
                let help = did_you_mean(text, &names).map_or_else(
                    || {
                        "write a name such as `USE-CANDIDATE` or a number such as `0x0025`"
                            .to_owned()
                    },
                    |s| format!("did you mean `{s}`?"),
                );
                c.error_help(
                    &path.key("attribute"),
                    format!("unknown STUN attribute `{text}`"),
                    help,
                );
                return None;
            }
        },
    };
    Some(ClassMatch::Stun {
        class: s.class,
        method: s.method,
        attribute,
    })
}

fn effect(
    c: &mut Checker<'_>,
    path: &YamlPath,
    class: Option<&ClassMatch>,
    a: &FaultAction,
) -> Option<FaultEffect> {
    Some(match a {
        FaultAction::Drop => FaultEffect::Drop,
        FaultAction::Duplicate => FaultEffect::Duplicate,
        FaultAction::Delay(d) => {
            if d.get().is_zero() {
                c.error(&path.key("delay"), "`delay` must be longer than 0s");
                return None;
            }
            FaultEffect::Delay(d.get())
        }
        FaultAction::Corrupt(k) => FaultEffect::FlipBit(k.flip_bit),
        FaultAction::Rewrite(r) => {
            needs(
                c,
                path,
                "rewrite",
                class,
                |k| matches!(k, ClassMatch::Sip { .. }),
                "sip",
            )?;
            FaultEffect::Rewrite(rewrite(c, &path.key("rewrite"), r)?)
        }
        FaultAction::Reset => {
            needs(
                c,
                path,
                "reset",
                class,
                |k| matches!(k, ClassMatch::Tcp { .. }),
                "tcp",
            )?;
            FaultEffect::Reset
        }
    })
}

/// An error unless the rule's class satisfies `ok` (`None` when the class is unresolved).
fn needs(
    c: &mut Checker<'_>,
    path: &YamlPath,
    action: &str,
    class: Option<&ClassMatch>,
    ok: impl Fn(&ClassMatch) -> bool,
    protocol: &str,
) -> Option<()> {
    let class = class?;
    if ok(class) {
        return Some(());
    }
    c.error_help(
        &path.key(action),
        format!("`{action}` acts on {protocol} packets only"),
        format!("match `protocol: {protocol}`"),
    );
    None
}

fn rewrite(c: &mut Checker<'_>, path: &YamlPath, r: &Rewrite) -> Option<SipRewrite> {
    if r.value.contains(['\r', '\n']) {
        c.error(&path.key("value"), "`value` must be one line (no CR or LF)");
        return None;
    }
    let field = r.field.trim();
    if field == "status" {
        let (code, phrase) = r
            .value
            .trim()
            .split_once(' ')
            .unwrap_or((r.value.trim(), ""));
        let code = code.parse::<u16>().ok().filter(|n| (100..=699).contains(n));
        let Some(code) = code else {
            c.error(
                &path.key("value"),
                format!("`{}` is not a SIP status, expected a code from 100 to 699 and an optional reason phrase", r.value),
            );
            return None;
        };
        let phrase = (!phrase.trim().is_empty()).then(|| phrase.trim().to_owned());
        return Some(SipRewrite::Status { code, phrase });
    }
    if field == "method" {
        return method(c, &path.key("value"), Some(&r.value))
            .then(|| SipRewrite::Method(r.value.clone()));
    }
    let token = !field.is_empty()
        && field
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '-');
    if !token {
        c.error_help(
            &path.key("field"),
            format!("`{field}` is not a SIP header name"),
            "expected `status`, `method` or a header name such as `CSeq` or `User-Agent`",
        );
        return None;
    }
    Some(SipRewrite::Header {
        name: field.to_owned(),
        value: r.value.trim().to_owned(),
    })
}

#[cfg(test)]
mod tests;

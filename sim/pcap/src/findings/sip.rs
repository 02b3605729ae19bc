//! SIP diagnoses, run when a call is closed: every final response ≥ 300 becomes a finding
//! (merged across the hops of a proxied call), explained by what else the call shows.

use super::meaning::{Meaning, sip_meaning};
use super::{Finding, FindingKind, Protocol, Severity};
use crate::correlate::Unreachable;
use crate::correlate::call::{ActiveCall, Final, Txn};
use crate::correlate::record::{Call, TRANSACTION_TIMEOUT_NS};
use crate::sip::Method;
use crate::sip::sdp::Profiles;
use sim_catalog::{TrunkCategory, trunk_error_for_response};
use std::collections::BTreeMap;

/// How close to the end of the capture an unanswered exchange is called "capture ended".
const GRACE_NS: i64 = 2_000_000_000;

/// The findings of one call.
pub(crate) fn diagnose(
    call: &Call,
    a: &ActiveCall,
    end_ns: i64,
    unreachable: &Unreachable,
) -> Vec<Finding> {
    let mut merged: BTreeMap<(Method, u32, u16, String), (Finding, u32)> = BTreeMap::new();
    let mut unanswered: BTreeMap<(Method, u32, String), Finding> = BTreeMap::new();
    for t in &a.txns {
        match &t.fin {
            Some(f) if f.code >= 300 => {
                let mut finding = failure(call, a, t, f, end_ns);
                if f.code == 408 {
                    note_unreachable(&mut finding, a, t, unreachable);
                }
                let key = (t.method, t.cseq, f.code, t.method_name().to_owned());
                match merged.get_mut(&key) {
                    Some((existing, hops)) => {
                        *hops += 1;
                        merge_frames(existing, &finding);
                    }
                    None => {
                        merged.insert(key, (finding, 1));
                    }
                }
            }
            Some(_) => {}
            None => {
                let key = (t.method, t.cseq, t.method_name().to_owned());
                if !unanswered.contains_key(&key)
                    && let Some(mut f) = no_answer(call, a, t, end_ns)
                {
                    note_unreachable(&mut f, a, t, unreachable);
                    unanswered.insert(key, f);
                }
            }
        }
    }
    let mut out: Vec<Finding> = merged
        .into_values()
        .map(|(mut f, hops)| {
            if hops > 1 {
                f.diagnosis.push_str(&format!(" (seen on {hops} hops)"));
            }
            f
        })
        .collect();
    out.extend(unanswered.into_values());
    out
}

fn merge_frames(into: &mut Finding, other: &Finding) {
    let total = into.frames_total + other.frames_total;
    let frames: Vec<u64> = into.frames.iter().chain(&other.frames).copied().collect();
    let mut f = std::mem::replace(
        into,
        Finding::new(
            Severity::Info,
            FindingKind::SipFailure,
            Protocol::Sip,
            String::new(),
        ),
    );
    f = f.with_frames(frames, total);
    *into = f;
}

/// A final response ≥ 300.
fn failure(call: &Call, a: &ActiveCall, t: &Txn, f: &Final, end_ns: i64) -> Finding {
    let text = format!("{} {} {}", f.reason, warning(f), reason_header(f));
    let m = sip_meaning(f.code, &text);
    let (severity, kind, diagnosis) = match f.code {
        401 | 407 => challenge(a, t, f, end_ns),
        403 if t.credentials.is_some() => wrong_after_credentials(t, f, &m),
        481 if t.method == Method::Prack => prack(a, t, f),
        488 | 606 => media(a, t, f),
        487 => cancelled(t, f),
        408 => timeout(a, t, f),
        300..=399 => (
            Severity::Info,
            FindingKind::Redirect,
            format!(
                "{} was redirected ({}): the client is expected to retry at the Contact given.",
                t.method_name(),
                f.code
            ),
        ),
        code => generic(t, f, code, &m, &text),
    };
    let mut finding = Finding::new(severity, kind, Protocol::Sip, diagnosis);
    finding.code = Some(f.code);
    finding.reason = Some(f.reason.to_string());
    finding.standard_phrase = m.standard_phrase;
    finding.meaning = m.meaning;
    finding.meaning_source = m.source;
    finding.standard_meaning = super::meaning::rfc_meaning(f.code);
    finding.operator_hint = m.hint;
    finding.call_id = Some(call.call_id());
    finding.method = Some(t.method_name().to_owned());
    finding.endpoints = Some(format!("{} → {}", f.src, f.dst));
    finding.ts_ns = if t.requests.total > 0 {
        t.first_ts
    } else {
        f.ts_ns
    };
    let request = t.requests.list().first().copied();
    let frames = request.into_iter().chain(f.frames.list().iter().copied());
    finding.with_frames(frames, u64::from(request.is_some()) + f.frames.total)
}

/// The severity of a plain failure: the operator's category when it lists the code.
fn generic(
    t: &Txn,
    f: &Final,
    code: u16,
    m: &Meaning,
    text: &str,
) -> (Severity, FindingKind, String) {
    let category = trunk_error_for_response(code, text).map(|r| r.category);
    let user_side = matches!(
        category,
        Some(TrunkCategory::CalleeDecision | TrunkCategory::Availability)
    ) || (category.is_none() && matches!(code, 480 | 486 | 600 | 603 | 607));
    let severity = if user_side {
        Severity::Warning
    } else {
        Severity::Error
    };
    let mut d = format!(
        "{} {} answered {} {}",
        t.method_name(),
        t.cseq,
        code,
        f.reason
    );
    if let (Some(own), Some(std)) = (m.operator_phrase, m.standard_phrase)
        && !own.eq_ignore_ascii_case(std)
    {
        d.push_str(&format!(
            " (operator phrase \"{own}\", RFC phrase \"{std}\")"
        ));
    }
    if let Some(w) = &f.warning {
        d.push_str(&format!("; Warning: {w}"));
    }
    if let Some(r) = &f.reason_header {
        d.push_str(&format!("; Reason: {r}"));
    }
    d.push('.');
    (severity, FindingKind::SipFailure, d)
}

/// 401 / 407: a normal challenge, wrong credentials, or a challenge never answered.
fn challenge(a: &ActiveCall, t: &Txn, f: &Final, end_ns: i64) -> (Severity, FindingKind, String) {
    let header = if f.code == 407 {
        "Proxy-Authorization"
    } else {
        "Authorization"
    };
    if let Some((_, user)) = &t.credentials {
        if f.stale {
            return (
                Severity::Info,
                FindingKind::StaleNonce,
                format!(
                    "The request carried credentials (user \"{user}\") with an expired nonce; the server asked again with stale=true. Normal: the client retries with the new nonce."
                ),
            );
        }
        return (
            Severity::Error,
            FindingKind::WrongCredentials,
            format!(
                "The request carried {header} for user \"{user}\" (frame {}) and was challenged again with a fresh nonce (stale not set): the password, user name or realm is wrong.",
                t.first_frame
            ),
        );
    }
    let retry = a
        .txns
        .iter()
        .filter(|u| {
            u.method == t.method && u.cseq > t.cseq && u.src == t.src && u.credentials.is_some()
        })
        .min_by_key(|u| u.cseq);
    match retry {
        Some(r) => (
            Severity::Info,
            FindingKind::AuthChallenge,
            retried(r, header),
        ),
        None if end_ns - f.ts_ns < GRACE_NS => (
            Severity::Warning,
            FindingKind::ChallengeUnanswered,
            format!(
                "Digest challenge ({}); the capture ends {:.1} s later, before any retry with {header}.",
                f.code,
                secs(end_ns - f.ts_ns)
            ),
        ),
        None => (
            Severity::Error,
            FindingKind::ChallengeUnanswered,
            format!(
                "Digest challenge ({}) never answered: no retry with {header} followed. The client has no credentials configured for this realm, or gave up.",
                f.code
            ),
        ),
    }
}

fn retried(r: &Txn, header: &str) -> String {
    let user = r.credentials.as_ref().map_or("", |c| &*c.1);
    let then = match &r.fin {
        Some(f) if (200..300).contains(&f.code) => {
            format!("accepted ({} {}, frame {})", f.code, f.reason, f.frame)
        }
        Some(f) => format!(
            "then answered {} {} (frame {}; see that finding)",
            f.code, f.reason, f.frame
        ),
        None => "not answered within the capture".into(),
    };
    format!(
        "Normal digest challenge, not an error: retried with {header} for user \"{user}\" (frame {}), {then}.",
        r.first_frame
    )
}

fn wrong_after_credentials(t: &Txn, f: &Final, m: &Meaning) -> (Severity, FindingKind, String) {
    let user = t.credentials.as_ref().map_or("", |c| &*c.1);
    let mut d = format!(
        "403 {} after the request carried credentials for user \"{user}\" (frame {}): the credentials were rejected, or the account may not use this service.",
        f.reason, t.first_frame
    );
    if let Some(own) = m.operator_phrase {
        d.push_str(&format!(
            " The operator uses 403 \"{own}\" for a wrong subscriber number: check the number too."
        ));
    }
    (Severity::Error, FindingKind::WrongCredentials, d)
}

/// 481 to a PRACK: compare its RAck with the RSeq values actually sent.
fn prack(a: &ActiveCall, t: &Txn, _f: &Final) -> (Severity, FindingKind, String) {
    let Some((rseq, cseq)) = t.rack else {
        return (
            Severity::Error,
            FindingKind::SipFailure,
            "481 to a PRACK without a readable RAck header.".into(),
        );
    };
    let sent: Vec<&(u32, u32, u64)> = a.reliable.iter().filter(|r| r.1 == cseq).collect();
    let listed: Vec<String> = sent
        .iter()
        .map(|(r, _, fr)| format!("RSeq {r} (frame {fr})"))
        .collect();
    if sent.is_empty() {
        return (
            Severity::Error,
            FindingKind::PrackRackMismatch,
            format!(
                "PRACK (frame {}) carried RAck {rseq} {cseq} INVITE, but no reliable provisional response for INVITE CSeq {cseq} is in the capture: the UAS found nothing to acknowledge.",
                t.first_frame
            ),
        );
    }
    if sent.iter().any(|r| r.0 == rseq) {
        return (
            Severity::Error,
            FindingKind::SipFailure,
            format!(
                "PRACK (frame {}) carried RAck {rseq} {cseq} INVITE, which matches {}; the UAS no longer had the INVITE transaction (it had already ended).",
                t.first_frame,
                listed.join(", ")
            ),
        );
    }
    (
        Severity::Error,
        FindingKind::PrackRackMismatch,
        format!(
            "PRACK (frame {}) carried RAck {rseq} {cseq} INVITE, but the reliable provisional response was sent with {}: the RAck response number must repeat the RSeq (RFC 3262 §7.2), so the UAS rejected the PRACK and the call failed.",
            t.first_frame,
            listed.join(", ")
        ),
    )
}

/// 488 / 606: what the offer proposed and what the answerer wanted.
fn media(a: &ActiveCall, t: &Txn, f: &Final) -> (Severity, FindingKind, String) {
    let offer = t.offer.or_else(|| {
        a.txns
            .iter()
            .filter(|u| u.method == t.method && u.cseq == t.cseq)
            .find_map(|u| u.offer)
    });
    let required = f
        .profiles
        .filter(|p| !p.is_empty())
        .or_else(|| profiles_in(warning(f)));
    let offered = offer.map_or_else(
        || "no SDP offer captured".to_string(),
        |p| format!("offered {}", p.names()),
    );
    let wanted = match (offer, required) {
        (_, Some(r)) => format!("the answerer requires {}", r.names()),
        (Some(o), None) if o.any_plain() && !o.any_secure() => {
            "the answerer presumably requires SRTP (RTP/SAVP): only plain RTP was offered".into()
        }
        (Some(o), None) if o.any_secure() && !o.any_plain() => {
            "the answerer presumably requires plain RTP (RTP/AVP): only SRTP was offered".into()
        }
        _ => "the answer does not say which profile or codec it wants".into(),
    };
    let mut d = format!(
        "{} {} (frame {}) {offered}; {wanted}",
        t.method_name(),
        t.cseq,
        t.first_frame
    );
    if let Some(w) = &f.warning {
        d.push_str(&format!(" (Warning: {w})"));
    }
    d.push_str(". The media encryption setting (SRTP) must match on both sides.");
    (Severity::Error, FindingKind::SdpProfileMismatch, d)
}

/// Profile names mentioned in a Warning header.
fn profiles_in(text: &str) -> Option<Profiles> {
    let upper = text.to_ascii_uppercase();
    [
        "UDP/TLS/RTP/SAVPF",
        "RTP/SAVPF",
        "RTP/SAVP",
        "RTP/AVPF",
        "RTP/AVP",
    ]
    .iter()
    .find(|p| upper.contains(*p))
    .map(|p| Profiles::from_proto(p.as_bytes()))
}

fn cancelled(t: &Txn, f: &Final) -> (Severity, FindingKind, String) {
    match t.cancelled {
        Some(frame) => (
            Severity::Info,
            FindingKind::Cancelled,
            format!("The caller cancelled (CANCEL in frame {frame}, {:.1} s after the INVITE); the INVITE was then terminated with 487. Not an error.", secs(f.ts_ns - t.first_ts)),
        ),
        None => (
            Severity::Warning,
            FindingKind::Cancelled,
            "487 without a CANCEL in this capture: the request was terminated by a CANCEL or BYE on another leg.".into(),
        ),
    }
}

fn timeout(a: &ActiveCall, t: &Txn, f: &Final) -> (Severity, FindingKind, String) {
    let sent = a
        .txns
        .iter()
        .filter(|u| u.method == t.method && u.cseq == t.cseq)
        .map(|u| u.requests.total)
        .max()
        .unwrap_or(0);
    (
        Severity::Error,
        FindingKind::Timeout,
        format!(
            "{} {} timed out: 408 from {} after {:.1} s; the request was sent {sent} time(s) on its longest hop without an answer from the next hop.",
            t.method_name(),
            t.cseq,
            f.src,
            secs(f.ts_ns - t.first_ts)
        ),
    )
}

/// A transaction without a final response.
fn no_answer(call: &Call, a: &ActiveCall, t: &Txn, end_ns: i64) -> Option<Finding> {
    if matches!(t.method, Method::Ack) || t.requests.total == 0 {
        return None;
    }
    if t.method == Method::Invite && t.cancelled.is_some() {
        return None;
    }
    // A proxied request answered on another hop is not unanswered.
    let answered_elsewhere = a
        .txns
        .iter()
        .any(|u| u.method == t.method && u.cseq == t.cseq && u.fin.is_some());
    if answered_elsewhere {
        return None;
    }
    let waited = end_ns - t.first_ts;
    let span = secs(t.last_request_ts - t.first_ts);
    let sent = t.requests.total;
    let provisional = t
        .provisional
        .map(|(c, fr, _)| {
            format!(" A {c} provisional response arrived (frame {fr}), then nothing.")
        })
        .unwrap_or_default();
    let (kind, timed_out) = match t.method {
        Method::Invite => (
            FindingKind::NoFinalResponse,
            waited >= TRANSACTION_TIMEOUT_NS,
        ),
        Method::Register => (
            FindingKind::UnansweredRegister,
            waited >= TRANSACTION_TIMEOUT_NS,
        ),
        _ => (
            FindingKind::UnansweredRequest,
            waited >= TRANSACTION_TIMEOUT_NS,
        ),
    };
    if kind == FindingKind::UnansweredRegister && t.provisional.is_some() {
        return None;
    }
    let (severity, d) = if timed_out || (waited > GRACE_NS && sent > 1) {
        let sev = if kind == FindingKind::UnansweredRequest {
            Severity::Warning
        } else {
            Severity::Error
        };
        (
            sev,
            format!(
                "{} {} from {} to {} was sent {sent} time(s) over {span:.1} s and never got a final response.{provisional} The next hop is unreachable or dropped it (address, port, firewall or NAT).",
                t.method_name(),
                t.cseq,
                t.src,
                t.dst
            ),
        )
    } else {
        (
            Severity::Info,
            format!(
                "{} {} from {} to {} has no final response yet: the capture ends {:.1} s later.{provisional}",
                t.method_name(),
                t.cseq,
                t.src,
                t.dst,
                secs(waited)
            ),
        )
    };
    let mut f = Finding::new(severity, kind, Protocol::Sip, d);
    f.call_id = Some(call.call_id());
    f.method = Some(t.method_name().to_owned());
    f.endpoints = Some(format!("{} → {}", t.src, t.dst));
    f.ts_ns = t.first_ts;
    Some(f.with_frames(t.requests.list().iter().copied(), t.requests.total))
}

fn secs(ns: i64) -> f64 {
    ns.max(0) as f64 / 1e9
}

/// Adds what ICMP said about the hops of this request (nothing listening, host unreachable).
fn note_unreachable(f: &mut Finding, a: &ActiveCall, t: &Txn, unreachable: &Unreachable) {
    let hops = a
        .txns
        .iter()
        .filter(|u| u.method == t.method && u.cseq == t.cseq);
    let mut notes = Vec::new();
    for u in hops {
        if let Some(frames) = unreachable.get(&u.dst) {
            let listed: Vec<String> = frames.list().iter().take(4).map(u64::to_string).collect();
            notes.push(format!(
                "ICMP destination unreachable came back for {} (frames {}{}): nothing listens there, or a firewall rejects it",
                u.dst,
                listed.join(", "),
                if frames.total > 4 { ", …" } else { "" }
            ));
        }
    }
    if !notes.is_empty() {
        f.diagnosis.push(' ');
        f.diagnosis.push_str(&notes.join("; "));
        f.diagnosis.push('.');
    }
}

fn warning(f: &Final) -> &str {
    f.warning.as_deref().unwrap_or("")
}

fn reason_header(f: &Final) -> &str {
    f.reason_header.as_deref().unwrap_or("")
}

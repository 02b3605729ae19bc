//! Events, statuses, trunk rows and their fault rows: checked, then written as statics.

use super::emit::{Lit, Out, Raw, check_count, fail, st, variant};
use super::faults::{FaultRow, Faults, Resolved, TrunkKey, resolve};
use super::raw::{EventsFile, StatusFile, TrunkFile};

const EVENTS: &str = "aae-events.yaml";
const STATUS: &str = "aae-status.yaml";
const TRUNK: &str = "trunk-sip-errors.yaml";

const EVENT_CATEGORIES: [(&str, &str); 8] = [
    ("sip-call-state", "SipCallState"),
    ("registration", "Registration"),
    ("tunnel", "Tunnel"),
    ("nat-detection", "NatDetection"),
    ("lifecycle", "Lifecycle"),
    ("call-control", "CallControl"),
    ("network-change", "NetworkChange"),
    ("sdk-health", "SdkHealth"),
];

const EVENT_OUTCOMES: [(&str, &str); 4] = [
    ("success", "Success"),
    ("failure", "Failure"),
    ("timeout", "Timeout"),
    ("fault", "Fault"),
];

const STATUS_FAMILIES: [(&str, &str); 10] = [
    ("sip-like", "SipLike"),
    ("pjlib", "Pjlib"),
    ("pjlib-util", "PjlibUtil"),
    ("pjsip", "Pjsip"),
    ("pjsip-tls", "PjsipTls"),
    ("pjsip-simple", "PjsipSimple"),
    ("pjmedia", "Pjmedia"),
    ("pjmedia-audiodev", "PjmediaAudiodev"),
    ("pjnath", "Pjnath"),
    ("natnl", "Natnl"),
];

const TRUNK_CATEGORIES: [(&str, &str); 11] = [
    ("authentication", "Authentication"),
    ("protocol", "Protocol"),
    ("addressing", "Addressing"),
    ("billing", "Billing"),
    ("forwarding", "Forwarding"),
    ("availability", "Availability"),
    ("callee-decision", "CalleeDecision"),
    ("normal-termination", "NormalTermination"),
    ("media-security", "MediaSecurity"),
    ("service", "Service"),
    ("capacity", "Capacity"),
];

/// Checks the three code catalogs against their counts and `FAULTS.md`, then writes them.
pub(crate) fn generate(
    out: &mut Out,
    ev: &EventsFile,
    st_file: &StatusFile,
    tr: &TrunkFile,
    faults: &Faults,
) {
    check_events(ev);
    check_statuses(st_file);
    check_trunk(tr);
    let resolved = resolve_faults(ev, st_file, tr, faults);
    let rows: Vec<String> = faults.rows.iter().map(fault_lit).collect();
    out.array("FAULTS", "Fault", &rows);
    write_events(out, ev, &resolved);
    write_statuses(out, st_file, &resolved);
    write_trunk(out, tr, &resolved);
}

fn check_events(ev: &EventsFile) {
    check_count(EVENTS, "events", ev.events.len(), ev.count);
    ascending(EVENTS, ev.events.iter().map(|e| e.code));
    let cats: Vec<&str> = ev.categories.0.iter().map(|(k, _)| k.as_str()).collect();
    let known: Vec<&str> = EVENT_CATEGORIES.iter().map(|(k, _)| *k).collect();
    if cats != known {
        fail(
            EVENTS,
            format!("categories are {cats:?}, the crate knows {known:?}"),
        );
    }
}

fn check_statuses(s: &StatusFile) {
    check_count(STATUS, "statuses", s.statuses.len(), s.count);
    ascending(STATUS, s.statuses.iter().map(|r| r.code));
    for (i, g) in s.groups.iter().enumerate() {
        if usize::from(g.section) != i + 1 {
            fail(
                STATUS,
                format!(
                    "group {:?} has section {}, expected {}",
                    g.heading,
                    g.section,
                    i + 1
                ),
            );
        }
        let rows: Vec<u32> = s
            .statuses
            .iter()
            .filter(|r| r.group_section == g.section)
            .map(|r| r.code)
            .collect();
        check_count(
            STATUS,
            &format!("group {} ({})", g.section, g.heading),
            rows.len(),
            usize::from(g.rows),
        );
        if rows.first() != Some(&g.first_code) || rows.last() != Some(&g.last_code) {
            fail(
                STATUS,
                format!(
                    "group {} runs {:?}..{:?}, declared {}..{}",
                    g.section,
                    rows.first(),
                    rows.last(),
                    g.first_code,
                    g.last_code
                ),
            );
        }
    }
    for r in &s.statuses {
        let g = s.groups.get(usize::from(r.group_section).wrapping_sub(1));
        let g = g.unwrap_or_else(|| {
            fail(
                STATUS,
                format!("{}: no group section {}", r.code, r.group_section),
            )
        });
        if g.heading != r.group || g.heading_en != r.group_en {
            fail(
                STATUS,
                format!(
                    "{}: group {:?}/{:?} differs from section {}'s heading",
                    r.code, r.group, r.group_en, g.section
                ),
            );
        }
    }
}

fn check_trunk(t: &TrunkFile) {
    check_count(TRUNK, "errors", t.errors.len(), t.count);
    for (i, e) in t.errors.iter().enumerate() {
        if usize::from(e.order) != i + 1 {
            fail(TRUNK, format!("row {} has order {}", i + 1, e.order));
        }
    }
}

fn ascending(file: &str, codes: impl Iterator<Item = u32>) {
    let mut last = None;
    for code in codes {
        if last.is_some_and(|l| l >= code) {
            fail(
                file,
                format!("codes must be unique and ascending: {code} follows {last:?}"),
            );
        }
        last = Some(code);
    }
}

fn resolve_faults(ev: &EventsFile, s: &StatusFile, t: &TrunkFile, faults: &Faults) -> Resolved {
    let events: Vec<(u32, &str)> = ev
        .events
        .iter()
        .map(|e| (e.code, e.name.as_str()))
        .collect();
    let statuses: Vec<(u32, &str)> = s
        .statuses
        .iter()
        .map(|r| (r.code, r.name.as_str()))
        .collect();
    let trunk: Vec<TrunkKey<'_>> = t
        .errors
        .iter()
        .map(|e| TrunkKey {
            order: e.order,
            code: e.code,
            reason_phrase: &e.reason_phrase,
            qualifier: e.qualifier.as_deref(),
        })
        .collect();
    resolve(faults, &events, &statuses, &trunk)
}

fn fault_lit(f: &FaultRow) -> String {
    st(
        "Fault",
        &[
            ("group", format!("FaultGroup::{}", f.group)),
            ("codes", f.codes.lit()),
            ("cause", f.cause.lit()),
            ("reports", f.reports.lit()),
            ("normal_trigger", f.normal_trigger.lit()),
            ("labels", f.labels.lit()),
        ],
    )
}

fn fault_ref(i: Option<&usize>) -> String {
    format!("&FAULTS[{}]", i.copied().unwrap_or(usize::MAX))
}

fn write_events(out: &mut Out, ev: &EventsFile, resolved: &Resolved) {
    let cats: Vec<String> = ev
        .categories
        .0
        .iter()
        .map(|(k, d)| {
            format!(
                "({}, {})",
                variant(EVENTS, "EventCategory", k, &EVENT_CATEGORIES).lit(),
                d.lit()
            )
        })
        .collect();
    out.array("EVENT_CATEGORIES", "(EventCategory, &str)", &cats);
    let rows: Vec<String> = ev
        .events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            st(
                "AaeEvent",
                &[
                    ("code", e.code.lit()),
                    ("name", e.name.lit()),
                    ("description", e.description.lit()),
                    ("description_as_written", e.description_as_written.lit()),
                    ("since_version", e.since_version.lit()),
                    (
                        "category",
                        variant(EVENTS, "EventCategory", &e.category, &EVENT_CATEGORIES).lit(),
                    ),
                    (
                        "outcome",
                        e.outcome
                            .as_ref()
                            .map(|o| variant(EVENTS, "EventOutcome", o, &EVENT_OUTCOMES))
                            .lit(),
                    ),
                    ("comment", e.comment.lit()),
                    ("fault", fault_ref(resolved.events.get(i))),
                ],
            )
        })
        .collect();
    out.array("AAE_EVENTS", "AaeEvent", &rows);
}

fn write_statuses(out: &mut Out, s: &StatusFile, resolved: &Resolved) {
    let groups: Vec<String> = s
        .groups
        .iter()
        .map(|g| {
            st(
                "StatusGroup",
                &[
                    ("section", g.section.lit()),
                    ("heading", g.heading.lit()),
                    ("heading_en", g.heading_en.lit()),
                    ("first_code", g.first_code.lit()),
                    ("last_code", g.last_code.lit()),
                    ("rows", g.rows.lit()),
                    ("note", g.note.lit()),
                ],
            )
        })
        .collect();
    out.array("STATUS_GROUPS", "StatusGroup", &groups);
    let rows: Vec<String> = s
        .statuses
        .iter()
        .enumerate()
        .map(|(i, r)| {
            st(
                "AaeStatus",
                &[
                    ("code", r.code.lit()),
                    ("name", r.name.lit()),
                    ("description", r.description.lit()),
                    ("description_as_written", r.description_as_written.lit()),
                    (
                        "group",
                        format!("&STATUS_GROUPS[{}]", usize::from(r.group_section) - 1),
                    ),
                    (
                        "family",
                        variant(STATUS, "StatusFamily", &r.family, &STATUS_FAMILIES).lit(),
                    ),
                    ("comment", r.comment.lit()),
                    ("fault", fault_ref(resolved.statuses.get(i))),
                ],
            )
        })
        .collect();
    out.array("AAE_STATUSES", "AaeStatus", &rows);
}

fn write_trunk(out: &mut Out, t: &TrunkFile, resolved: &Resolved) {
    let rows: Vec<String> = t
        .errors
        .iter()
        .enumerate()
        .map(|(i, e)| {
            st(
                "TrunkError",
                &[
                    ("order", e.order.lit()),
                    ("code", e.code.lit()),
                    ("reason_phrase", e.reason_phrase.lit()),
                    ("qualifier", e.qualifier.lit()),
                    ("as_written", e.as_written.lit()),
                    ("meaning", e.meaning.lit()),
                    ("diagnostic_hint", e.diagnostic_hint.lit()),
                    ("is_error", e.is_error.lit()),
                    (
                        "category",
                        variant(TRUNK, "TrunkCategory", &e.category, &TRUNK_CATEGORIES).lit(),
                    ),
                    ("header", e.header.lit()),
                    ("related_headers", e.related_headers.lit()),
                    ("original_uk", e.original_uk.lit()),
                    ("comment", e.comment.lit()),
                    ("fault", fault_ref(resolved.trunk.get(i))),
                ],
            )
        })
        .collect();
    out.array("TRUNK_ERRORS", "TrunkError", &rows);
    let a = &t.call_dump_advice;
    let tools: Vec<Raw> = a
        .tools
        .iter()
        .map(|tool| {
            Raw(st(
                "DumpTool",
                &[("name", tool.name.lit()), ("kind", tool.kind.lit())],
            ))
        })
        .collect();
    let advice = st(
        "CallDumpAdvice",
        &[
            ("heading_as_written", a.heading_as_written.lit()),
            ("heading_en", a.heading_en.lit()),
            ("text", a.text.lit()),
            ("tools", tools.lit()),
            ("file_format", a.file_format.lit()),
            ("requirement", a.requirement.lit()),
            ("original_uk", a.original_uk.lit()),
        ],
    );
    out.item("CALL_DUMP_ADVICE", "CallDumpAdvice", &advice);
}

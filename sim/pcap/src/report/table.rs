//! The terminal report: a summary, the call table and the findings table (tabled).

use crate::analysis::Analysis;
use crate::correlate::Call;
use crate::findings::Finding;
use crate::media::MediaStream;
use std::fmt::Write;
use tabled::builder::Builder;
use tabled::settings::object::Columns;
use tabled::settings::{Style, Width};

/// Rows shown per table before the rest is summarised.
pub const MAX_ROWS: usize = crate::store::HEAD_ROWS;

/// Renders the whole human-readable report.
pub fn render(a: &Analysis) -> String {
    let mut out = String::new();
    summary(&mut out, a);
    if !a.calls.is_empty() {
        out.push_str("\nCalls\n");
        out.push_str(&calls(&a.calls.head()));
        out.push('\n');
        if a.calls.len() > MAX_ROWS as u64 {
            let _ = writeln!(
                out,
                "… and {} more Call-IDs (use --format json, or --call CALLID)",
                a.calls.len() - MAX_ROWS as u64
            );
        }
    }
    if !a.media.is_empty() {
        out.push_str("\nMedia streams\n");
        out.push_str(&media(&a.media.head()));
        out.push('\n');
        if a.media.len() > MAX_ROWS as u64 {
            let _ = writeln!(
                out,
                "… and {} more streams (use --format json)",
                a.media.len() - MAX_ROWS as u64
            );
        }
    }
    if !a.summary.final_status.is_empty() {
        out.push_str("\nFinal responses\n");
        out.push_str(&statuses(a));
        out.push('\n');
    }
    out.push_str("\nFindings\n");
    if a.findings.is_empty() {
        out.push_str("(none)\n");
    } else {
        out.push_str(&findings(&a.findings.head()));
        out.push('\n');
        if a.findings.len() > MAX_ROWS as u64 {
            let _ = writeln!(
                out,
                "… and {} more findings (use --format json)",
                a.findings.len() - MAX_ROWS as u64
            );
        }
    }
    out
}

fn summary(out: &mut String, a: &Analysis) {
    let c = &a.capture;
    let p = &a.summary.packets;
    let _ = writeln!(
        out,
        "Capture: {} ({}{}; {}), {:.3} s from {}",
        c.path,
        c.format,
        if c.compression == "none" {
            String::new()
        } else {
            format!(", {}", c.compression)
        },
        c.link_types.join(", "),
        c.duration,
        c.start_time.as_deref().unwrap_or("-")
    );
    let _ = writeln!(
        out,
        "Packets: {} = {} SIP + {} STUN + {} RTP + {} RTCP + {} other + {} undecodable",
        p.packets, p.sip, p.stun, p.rtp, p.rtcp, p.other.total, p.undecodable.total
    );
    if !p.other.kinds.is_empty() {
        let _ = writeln!(out, "  other: {}", join_counts(p.other.kinds.iter()));
    }
    if !p.undecodable.reasons.is_empty() {
        let _ = writeln!(
            out,
            "  undecodable: {}",
            join_counts(p.undecodable.reasons.iter())
        );
    }
    if !p.undecodable.malformed_sip.is_empty() {
        let _ = writeln!(
            out,
            "  malformed SIP: {}",
            join_counts(p.undecodable.malformed_sip.iter())
        );
    }
    let _ = writeln!(
        out,
        "SIP messages: {} ({} cut short by the capture), STUN messages: {}",
        p.sip_messages, p.sip_messages_truncated, p.stun_messages
    );
    let _ = writeln!(
        out,
        "Call-IDs: {} ({}); outcomes: {}",
        a.summary.calls,
        join_counts(a.summary.calls_by_kind.iter()),
        join_counts(a.summary.calls_by_outcome.iter())
    );
    if let Some(e) = &c.read_error {
        let _ = writeln!(out, "Reading stopped early: {e}");
    }
}

fn join_counts<'a>(it: impl Iterator<Item = (&'a &'static str, &'a u64)>) -> String {
    let parts: Vec<String> = it.map(|(k, v)| format!("{k} {v}")).collect();
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join(", ")
    }
}

fn ms(v: Option<f64>) -> String {
    v.map_or_else(String::new, |x| format!("{x:.0}"))
}

fn calls(calls: &[&Call]) -> String {
    let mut b = Builder::new();
    b.push_record([
        "#", "Call-ID", "Kind", "From", "To", "Start s", "Msgs", "Final", "Outcome", "Setup ms",
        "PDD ms", "Findings",
    ]);
    for (i, c) in calls.iter().take(MAX_ROWS).enumerate() {
        b.push_record([
            (i + 1).to_string(),
            c.call_id(),
            c.kind.as_str().into(),
            c.from(),
            c.to(),
            format!("{:.3}", c.start),
            c.messages.to_string(),
            c.final_status.map_or_else(String::new, |s| {
                format!("{s} {}", c.final_reason().unwrap_or(""))
            }),
            c.outcome.as_str().into(),
            ms(c.setup_time_ms),
            ms(c.post_dial_delay_ms),
            c.findings.to_string(),
        ]);
    }
    let mut t = b.build();
    t.with(Style::sharp());
    t.modify(Columns::one(1), Width::wrap(28));
    t.modify(Columns::new(3..5), Width::wrap(24));
    t.modify(Columns::one(7), Width::wrap(22).keep_words(true));
    t.to_string()
}

fn media(streams: &[&MediaStream]) -> String {
    let mut b = Builder::new();
    b.push_record([
        "#",
        "Call-ID",
        "From → to",
        "Sender",
        "Codec",
        "Start s",
        "Stop s",
        "Pkts",
        "Lost",
        "Jitter ms",
        "Max Δ ms",
        "MOS",
        "DTMF",
    ]);
    for (i, m) in streams.iter().take(MAX_ROWS).enumerate() {
        let codecs: Vec<String> = m
            .payload_types
            .iter()
            .map(|p| p.name.clone().unwrap_or_else(|| p.pt.to_string()))
            .collect();
        let from = match &m.sdp_src {
            Some(sdp) => format!("{} (SDP {sdp}) → {}", m.src, m.dst),
            None => format!("{} → {}", m.src, m.dst),
        };
        b.push_record([
            (i + 1).to_string(),
            m.call_id.clone().unwrap_or_else(|| "(no SDP)".into()),
            from,
            m.sender.unwrap_or("").to_owned(),
            codecs.join(" "),
            format!("{:.3}", m.start),
            format!("{:.3}", m.stop),
            m.packets.to_string(),
            format!("{} ({}%)", m.lost, m.loss_percent),
            format!("{:.2}", m.max_jitter_ms),
            format!("{:.1}", m.max_delta_ms),
            m.quality
                .as_ref()
                .map_or_else(String::new, |q| format!("{:.2}", q.mos)),
            m.telephone_events
                .iter()
                .map(|e| e.key.as_str())
                .collect::<Vec<_>>()
                .join(""),
        ]);
    }
    let mut t = b.build();
    t.with(Style::sharp());
    t.modify(Columns::one(1), Width::wrap(28));
    t.modify(Columns::one(2), Width::wrap(30).keep_words(true));
    t.to_string()
}

fn statuses(a: &Analysis) -> String {
    let mut b = Builder::new();
    b.push_record(["Final status", "Call-IDs"]);
    for (code, n) in &a.summary.final_status {
        b.push_record([code.to_string(), n.to_string()]);
    }
    let mut t = b.build();
    t.with(Style::sharp());
    t.to_string()
}

fn findings(findings: &[&Finding]) -> String {
    let mut b = Builder::new();
    b.push_record([
        "Severity",
        "Code",
        "Reason",
        "Kind",
        "Frames",
        "Call-ID",
        "Meaning",
        "Diagnosis",
    ]);
    for f in findings.iter().take(MAX_ROWS) {
        let mut frames: Vec<String> = f.frames.iter().map(u64::to_string).collect();
        if f.frames_total > f.frames.len() as u64 {
            frames.push(format!("(+{})", f.frames_total - f.frames.len() as u64));
        }
        let meaning = match (f.meaning, f.meaning_source) {
            (Some(m), Some(s)) => format!("{m} [{s}]"),
            (Some(m), None) => m.to_owned(),
            _ => String::new(),
        };
        b.push_record([
            f.severity.as_str().to_owned(),
            f.code.map_or_else(String::new, |c| c.to_string()),
            f.reason.clone().unwrap_or_default(),
            f.kind.as_str(),
            frames.join(" "),
            f.call_id.clone().unwrap_or_default(),
            meaning,
            f.diagnosis.clone(),
        ]);
    }
    let mut t = b.build();
    t.with(Style::sharp());
    t.modify(Columns::one(2), Width::wrap(18).keep_words(true));
    t.modify(Columns::one(3), Width::wrap(16));
    t.modify(Columns::one(4), Width::wrap(14).keep_words(true));
    t.modify(Columns::one(5), Width::wrap(20));
    t.modify(Columns::one(6), Width::wrap(36).keep_words(true));
    t.modify(Columns::one(7), Width::wrap(60).keep_words(true));
    t.to_string()
}

//! The ladder as plain text: one column per address, one line per message (ASCII only, so it
//! survives any terminal, pager or e-mail).

use crate::ladder::Ladder;
use std::fmt::Write;

/// Left margin: time and frame number.
const PREFIX: usize = 20;

/// Renders a ladder.
pub fn render(l: &Ladder) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Ladder: {}", l.title);
    if l.events.is_empty() {
        out.push_str("(no messages)\n");
        return out;
    }
    let longest = l
        .events
        .iter()
        .map(|e| label(e).chars().count())
        .max()
        .unwrap_or(0);
    let host_w = l.hosts.iter().map(String::len).max().unwrap_or(0);
    let w = (longest + 6).max(host_w + 2).clamp(16, 48);
    let centre = |i: usize| PREFIX + i * w + w / 2;
    let width = PREFIX + l.hosts.len() * w;
    let mut header = " ".repeat(width);
    for (i, h) in l.hosts.iter().enumerate() {
        put(&mut header, centre(i).saturating_sub(h.len() / 2), h);
    }
    let _ = writeln!(out, "{}", header.trim_end());
    let mut axis = " ".repeat(width);
    put(&mut axis, 0, "    time s   frame");
    for i in 0..l.hosts.len() {
        put(&mut axis, centre(i), "|");
    }
    let _ = writeln!(out, "{}", axis.trim_end());
    for e in &l.events {
        let mut line = " ".repeat(width);
        put(&mut line, 0, &format!("{:10.6} {:>7}", e.time, e.frame));
        for i in 0..l.hosts.len() {
            put(&mut line, centre(i), "|");
        }
        arrow(
            &mut line,
            centre(e.from),
            centre(e.to),
            &label(e),
            e.until.is_some(),
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
    if l.omitted > 0 {
        let _ = writeln!(out, "… {} more messages not shown", l.omitted);
    }
    out
}

fn label(e: &crate::ladder::LadderEvent) -> String {
    let base = match e.protocol {
        "STUN" => format!("[STUN] {}", e.label),
        "RTP" => format!("[{}]", e.label),
        _ => e.label.clone(),
    };
    base.chars().filter(char::is_ascii).collect()
}

/// Draws `-- label -->` between two column centres (`== label ==>` for a media band).
fn arrow(line: &mut String, from: usize, to: usize, label: &str, band: bool) {
    if from == to {
        put(line, from + 1, &format!("<- {label}"));
        return;
    }
    let (lo, hi) = (from.min(to), from.max(to));
    let body = if band { "=" } else { "-" }.repeat(hi - lo - 1);
    put(line, lo + 1, &body);
    if to > from {
        put(line, hi - 1, ">");
    } else {
        put(line, lo + 1, "<");
    }
    let room = (hi - lo).saturating_sub(3);
    let text: String = label.chars().take(room).collect();
    let start = lo + 2 + (room.saturating_sub(text.len())) / 2;
    put(line, start, &text);
}

/// Overwrites `line` at character position `at` (the line is ASCII).
fn put(line: &mut String, at: usize, s: &str) {
    let end = (at + s.len()).min(line.len());
    if at < end {
        line.replace_range(at..end, s.get(..end - at).unwrap_or(""));
    }
}

//! The ladder as a standalone HTML page with an inline SVG: no scripts, fonts or images from
//! elsewhere, so it can be mailed or attached to a ticket as it is.

use crate::findings::Finding;
use crate::ladder::{Ladder, LadderEvent};
use std::fmt::Write;

const LEFT: usize = 170;
const COLUMN: usize = 230;
const TOP: usize = 70;
const ROW: usize = 30;

/// Renders the page: the diagram, then the findings that belong to the shown messages.
pub fn render(l: &Ladder, findings: &[&Finding]) -> String {
    let width = LEFT + COLUMN * l.hosts.len().max(1);
    let height = TOP + ROW * (l.events.len() + 1);
    let mut s = String::new();
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Ladder: {title}</title><style>{CSS}</style></head><body>\
         <h1>Ladder: {title}</h1>\
         <p class=\"legend\"><span class=\"req\">SIP request</span> <span class=\"ok\">SIP 1xx/2xx</span> \
         <span class=\"err\">SIP ≥ 300</span> <span class=\"stun\">STUN</span> <span class=\"rtp\">RTP stream (band: first to last packet)</span> · hover an arrow for details</p>\n",
        title = esc(&l.title)
    );
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\">"
    );
    s.push_str(DEFS);
    for (i, h) in l.hosts.iter().enumerate() {
        let x = LEFT + COLUMN * i + COLUMN / 2;
        let _ = writeln!(
            s,
            "<text class=\"host\" x=\"{x}\" y=\"30\">{}</text><line class=\"life\" x1=\"{x}\" y1=\"42\" x2=\"{x}\" y2=\"{}\"/>",
            esc(h),
            height - 10
        );
    }
    for (i, e) in l.events.iter().enumerate() {
        if let Some(until) = e.until {
            let last = l
                .events
                .iter()
                .rposition(|x| x.time <= until)
                .unwrap_or(i)
                .max(i);
            band(&mut s, i, last, e);
        }
    }
    for (i, e) in l.events.iter().enumerate() {
        event(&mut s, i, e);
    }
    s.push_str("</svg>\n");
    if l.omitted > 0 {
        let _ = writeln!(s, "<p>{} more messages not shown.</p>", l.omitted);
    }
    findings_table(&mut s, findings);
    s.push_str("</body></html>\n");
    s
}

/// A media stream: a translucent band between its two columns from its first row to the row
/// of its last packet.
fn band(s: &mut String, first: usize, last: usize, e: &LadderEvent) {
    let x1 = LEFT + COLUMN * e.from.min(e.to) + COLUMN / 2;
    let x2 = LEFT + COLUMN * e.from.max(e.to) + COLUMN / 2;
    let y1 = TOP + ROW * first + ROW / 2;
    let y2 = TOP + ROW * last + ROW / 2 + 4;
    let _ = writeln!(
        s,
        "<rect class=\"band\" x=\"{x1}\" y=\"{y1}\" width=\"{}\" height=\"{}\"/>",
        x2.saturating_sub(x1).max(8),
        (y2 - y1).max(8)
    );
}

fn event(s: &mut String, i: usize, e: &LadderEvent) {
    let y = TOP + ROW * i + ROW / 2;
    let x1 = LEFT + COLUMN * e.from + COLUMN / 2;
    let x2 = LEFT + COLUMN * e.to + COLUMN / 2;
    let class = match (e.protocol, e.status) {
        ("RTP", _) => "rtp",
        ("STUN", Some(_)) => "err",
        ("STUN", None) => "stun",
        (_, Some(c)) if c >= 300 => "err",
        (_, Some(_)) => "ok",
        _ => "req",
    };
    let tip = format!(
        "frame {} · {:.6} s · {} {} · {}",
        e.frame, e.time, e.protocol, e.transport, e.detail
    );
    let _ = write!(s, "<g class=\"{class}\"><title>{}</title>", esc(&tip));
    let _ = write!(
        s,
        "<text class=\"time\" x=\"8\" y=\"{}\">{:.6} s  #{}</text>",
        y + 4,
        e.time,
        e.frame
    );
    if x1 == x2 {
        let _ = write!(
            s,
            "<path d=\"M{x1},{} h40 v12 h-40\" marker-end=\"url(#a-{class})\"/><text x=\"{}\" y=\"{}\">{}</text>",
            y - 6,
            x1 + 46,
            y + 4,
            esc(&e.label)
        );
    } else {
        let _ = write!(
            s,
            "<line x1=\"{x1}\" y1=\"{y}\" x2=\"{x2}\" y2=\"{y}\" marker-end=\"url(#a-{class})\"/><text x=\"{}\" y=\"{}\">{}</text>",
            (x1 + x2) / 2,
            y - 5,
            esc(&e.label)
        );
    }
    s.push_str("</g>\n");
}

fn findings_table(s: &mut String, findings: &[&Finding]) {
    if findings.is_empty() {
        return;
    }
    s.push_str("<h2>Findings</h2><table><tr><th>Severity</th><th>Code</th><th>Reason</th><th>Frames</th><th>Meaning</th><th>Diagnosis</th></tr>\n");
    for f in findings {
        let frames: Vec<String> = f.frames.iter().map(u64::to_string).collect();
        let _ = writeln!(
            s,
            "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            f.severity.as_str(),
            f.severity.as_str(),
            f.code.map_or_else(String::new, |c| c.to_string()),
            esc(f.reason.as_deref().unwrap_or("")),
            frames.join(" "),
            esc(f.meaning.unwrap_or("")),
            esc(&f.diagnosis)
        );
    }
    s.push_str("</table>\n");
}

/// Escapes text for HTML and SVG.
fn esc(t: &str) -> String {
    let mut o = String::with_capacity(t.len());
    for c in t.chars() {
        match c {
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '&' => o.push_str("&amp;"),
            '"' => o.push_str("&quot;"),
            c if c.is_control() => {}
            c => o.push(c),
        }
    }
    o
}

const CSS: &str = "body{font-family:sans-serif;margin:16px}svg{font:12px monospace}\
.host{font-weight:bold;text-anchor:middle}.life{stroke:#999;stroke-dasharray:4 3}\
.time{fill:#555}g text{text-anchor:middle}g text.time{text-anchor:start}\
g.req line,g.req path{stroke:#1f5fa8;fill:none}g.req text{fill:#1f5fa8}\
g.ok line,g.ok path{stroke:#23803a;fill:none}g.ok text{fill:#23803a}\
g.err line,g.err path{stroke:#c0282d;fill:none}g.err text{fill:#c0282d}\
g.stun line,g.stun path{stroke:#7b4bb0;fill:none;stroke-dasharray:6 2}g.stun text{fill:#7b4bb0}\
g.time{fill:#555}.legend span{margin-right:1em}.req{color:#1f5fa8}.ok{color:#23803a}\
.err{color:#c0282d}.stun{color:#7b4bb0}.rtp{color:#a86a00}\
g.rtp line,g.rtp path{stroke:#a86a00;fill:none;stroke-width:3}g.rtp text{fill:#a86a00}\
rect.band{fill:#f0b030;fill-opacity:0.18;stroke:#a86a00;stroke-opacity:0.4}table{border-collapse:collapse;margin-top:1em}\
td,th{border:1px solid #ccc;padding:4px;vertical-align:top;font-size:13px}tr.error td:first-child{color:#c0282d}\
tr.warning td:first-child{color:#b36b00}";

const DEFS: &str = "<defs>\
<marker id=\"a-req\" markerWidth=\"10\" markerHeight=\"8\" refX=\"9\" refY=\"4\" orient=\"auto\"><path d=\"M0,0 L10,4 L0,8 z\" fill=\"#1f5fa8\"/></marker>\
<marker id=\"a-ok\" markerWidth=\"10\" markerHeight=\"8\" refX=\"9\" refY=\"4\" orient=\"auto\"><path d=\"M0,0 L10,4 L0,8 z\" fill=\"#23803a\"/></marker>\
<marker id=\"a-err\" markerWidth=\"10\" markerHeight=\"8\" refX=\"9\" refY=\"4\" orient=\"auto\"><path d=\"M0,0 L10,4 L0,8 z\" fill=\"#c0282d\"/></marker>\
<marker id=\"a-rtp\" markerWidth=\"10\" markerHeight=\"8\" refX=\"9\" refY=\"4\" orient=\"auto\"><path d=\"M0,0 L10,4 L0,8 z\" fill=\"#a86a00\"/></marker>\
<marker id=\"a-stun\" markerWidth=\"10\" markerHeight=\"8\" refX=\"9\" refY=\"4\" orient=\"auto\"><path d=\"M0,0 L10,4 L0,8 z\" fill=\"#7b4bb0\"/></marker>\
</defs>\n";

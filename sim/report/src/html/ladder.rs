//! `ladder.html`: one scenario run on one time axis. Hosts and NAT boxes are columns; every
//! captured SIP and STUN message (and, up to a cap, every other packet) is an arrow labelled
//! and anchored by its capture frame number (`ladder.html#f12` is frame 12, the number
//! Wireshark shows); the endpoints' SDK events and the NAT boxes' mapping changes are notes on
//! their column; dropped packets end in a cross with the reason; the rows an expectation is
//! about are highlighted, failing expectations first.
//!
//! The page is plain HTML with inline SVG, CSS and a few lines of script (the filters): no
//! network, no fonts, no wall-clock time. Each arrow carries `data-proto` (`SIP`, `STUN`,
//! `UDP`, `TCP`...) and `data-frame`; each note `data-kind` (`sdk`, `nat`).

use super::{cut, esc, seconds};
use crate::{ExpectationResult, Issue};
use std::collections::BTreeSet;
use std::fmt::Write as _;

/// Time axis gutter (time and frame number).
const LEFT: usize = 190;
/// Column width.
const COL: usize = 220;
/// Right margin (expectation tags).
const RIGHT: usize = 70;
/// Row height.
const ROW: usize = 24;
/// Height of the marker drawn where nothing happened for more than [`GAP_US`].
const GAP: usize = 20;
/// An idle stretch longer than this gets a marker.
const GAP_US: u64 = 1_000_000;
/// Header height.
const HEAD: usize = 50;

/// One column: a node or a NAT box.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    /// Its name in the scenario.
    pub name: String,
    /// A short description: kind and address (`softphone 10.0.1.2`, `NAT 198.51.100.2`).
    pub role: String,
    /// A NAT box (drawn shaded).
    pub nat: bool,
}

/// A packet on one hop, as captured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// The capture frame number (1-based, as Wireshark numbers frames).
    pub frame: u64,
    /// The network it was captured on (`wan`, `lan-office`).
    pub network: String,
    /// Sender column.
    pub from: usize,
    /// Receiver column, when known.
    pub to: Option<usize>,
    /// Whether it reached `to` (false: lost on the way, drawn half way).
    pub reached: bool,
    /// `SIP`, `STUN`, or the transport of any other packet (`UDP`, `TCP`, `IP`).
    pub protocol: String,
    /// Short label: `INVITE (SDP)`, `408 Request Timeout`, `Binding request`.
    pub label: String,
    /// Details for the tooltip: addresses, CSeq, Call-ID, mapped address.
    pub detail: String,
    /// SIP status, or STUN error code.
    pub status: Option<u16>,
    /// Why the network dropped it here, if it did (`no-mapping: NAT office: no mapping`).
    pub dropped: Option<String>,
}

/// Who reported a note.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoteKind {
    /// A node's own event (an SDK callback, a server's or a probe's event).
    Sdk,
    /// A NAT box's mapping change.
    Nat,
}

impl NoteKind {
    const fn as_str(self) -> &'static str {
        match self {
            Self::Sdk => "sdk",
            Self::Nat => "nat",
        }
    }
}

/// An event a node or NAT reported (one line of `events.jsonl`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// Its column.
    pub column: usize,
    /// The event name (`onRegisterSuccess`, `nat-mapping-expired`).
    pub name: String,
    /// The status it carries.
    pub status: Option<u32>,
    /// Its detail text.
    pub detail: String,
    /// Who reported it.
    pub kind: NoteKind,
}

/// What a row shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// An arrow.
    Message(Message),
    /// A note on a column.
    Note(Note),
}

/// One row of the diagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// Simulated time in microseconds.
    pub time_us: u64,
    /// What happened.
    pub item: Item,
    /// The expectations (their indices) this row is evidence for.
    pub expectations: Vec<usize>,
}

/// A file beside the page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileLink {
    /// What it is (`report`, `capture`).
    pub label: String,
    /// Relative path.
    pub href: String,
}

/// Everything `ladder.html` shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LadderPage {
    /// The scenario's name.
    pub scenario: String,
    /// Its description.
    pub description: Option<String>,
    /// The seed of the run.
    pub seed: u64,
    /// Simulated duration, as written.
    pub duration: String,
    /// The run passed.
    pub passed: bool,
    /// The command that reproduces the run.
    pub reproduce: String,
    /// The run's other files.
    pub files: Vec<FileLink>,
    /// Columns, left to right.
    pub columns: Vec<Column>,
    /// Rows, in time order.
    pub rows: Vec<Row>,
    /// Every expectation with its outcome.
    pub expectations: Vec<ExpectationResult>,
    /// Problems while running.
    pub issues: Vec<Issue>,
    /// What was left out because of the caps, one sentence each.
    pub omitted: Vec<String>,
}

/// Renders the page.
pub fn render(page: &LadderPage) -> String {
    let mut s = String::with_capacity(4096 + page.rows.len() * 600);
    let verdict = if page.passed { "passed" } else { "FAILED" };
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\">\
         <title>{verdict}: {name} (seed {seed})</title><style>{CSS}</style></head>\n\
         <body class=\"{class}\">\n<header><h1>{name} <span class=\"verdict\">{verdict}</span></h1>\n",
        name = esc(&page.scenario),
        seed = page.seed,
        class = if page.passed { "pass" } else { "fail" },
    );
    if let Some(d) = &page.description {
        let _ = writeln!(s, "<p class=\"desc\">{}</p>", esc(d));
    }
    let _ = write!(
        s,
        "<p>seed {} · {} simulated · reproduce: <code>{}</code></p>\n<p class=\"files\">",
        page.seed,
        esc(&page.duration),
        esc(&page.reproduce)
    );
    for f in &page.files {
        let _ = write!(s, "<a href=\"{}\">{}</a> ", esc(&f.href), esc(&f.label));
    }
    s.push_str("</p>\n</header>\n");
    expectations(&mut s, page);
    if !page.issues.is_empty() {
        s.push_str("<h2>Issues</h2><ul class=\"issues\">");
        for i in &page.issues {
            let _ = write!(s, "<li>at {}: {}</li>", esc(&i.time), esc(&i.message));
        }
        s.push_str("</ul>\n");
    }
    s.push_str(
        "<h2>Ladder</h2>\n<p class=\"controls\">Show: \
         <label><input type=\"checkbox\" data-hide=\"sip\" checked> SIP</label> \
         <label><input type=\"checkbox\" data-hide=\"stun\" checked> STUN</label> \
         <label><input type=\"checkbox\" data-hide=\"other\" checked> other packets</label> \
         <label><input type=\"checkbox\" data-hide=\"sdk\" checked> endpoint events</label> \
         <label><input type=\"checkbox\" data-hide=\"nat\" checked> NAT mappings</label> \
         · hover for details; an arrow's <code>#N</code> is its capture frame \
         (<code>frame.number == N</code> in Wireshark), and <code>ladder.html#fN</code> links to it.</p>\n",
    );
    for o in &page.omitted {
        let _ = writeln!(s, "<p class=\"cap\">{}</p>", esc(o));
    }
    if page.rows.is_empty() {
        s.push_str("<p>Nothing was captured or reported.</p>\n");
    }
    diagram(&mut s, page);
    let _ = write!(s, "<script>{SCRIPT}</script>\n</body></html>\n");
    s
}

fn expectations(s: &mut String, page: &LadderPage) {
    if page.expectations.is_empty() {
        return;
    }
    let failed = page.expectations.iter().filter(|e| !e.passed).count();
    let _ = write!(
        s,
        "<h2>Expectations ({} of {} failed)</h2>\n<table class=\"expect\"><tr><th>#</th><th>kind</th>\
         <th>expected</th><th>result</th><th>observed</th><th>on the ladder</th></tr>\n",
        failed,
        page.expectations.len()
    );
    let mut order: Vec<&ExpectationResult> = page.expectations.iter().collect();
    order.sort_by_key(|e| (e.passed, e.index));
    for e in order {
        let rows: Vec<String> = page
            .rows
            .iter()
            .enumerate()
            .filter(|(_, r)| r.expectations.contains(&e.index))
            .map(|(i, r)| {
                let (id, text) = row_anchor(page, i, r);
                format!("<a href=\"#{id}\">{text}</a>")
            })
            .collect();
        let shown = rows.len().min(12);
        let mut cell = rows[..shown].join(" ");
        if rows.len() > shown {
            let _ = write!(cell, " and {} more", rows.len() - shown);
        }
        let _ = writeln!(
            s,
            "<tr id=\"expect-{i}\" class=\"{class}\"><td>{i}</td><td>{kind}</td><td>{text}</td>\
             <td>{result}</td><td>{observed}</td><td>{cell}</td></tr>",
            i = e.index,
            class = if e.passed { "pass" } else { "fail" },
            kind = esc(&e.kind),
            text = esc(&e.text),
            result = if e.passed { "pass" } else { "FAIL" },
            observed = esc(&e.observed),
        );
    }
    s.push_str("</table>\n");
}

/// The anchor of row `i` and its link text.
fn row_anchor(page: &LadderPage, i: usize, row: &Row) -> (String, String) {
    match &row.item {
        Item::Message(m) => {
            let dup = page.rows[..i]
                .iter()
                .filter(|r| matches!(&r.item, Item::Message(o) if o.frame == m.frame))
                .count();
            let id = if dup == 0 {
                format!("f{}", m.frame)
            } else {
                format!("f{}-{}", m.frame, dup + 1)
            };
            (id, format!("#{}", m.frame))
        }
        Item::Note(_) => (format!("r{i}"), format!("@{}", seconds(row.time_us))),
    }
}

fn column_x(c: usize) -> usize {
    LEFT + COL * c + COL / 2
}

fn diagram(s: &mut String, page: &LadderPage) {
    let cols = page.columns.len().max(1);
    let width = LEFT + COL * cols + RIGHT;
    // Row positions, with a marker before every idle stretch.
    let mut ys = Vec::with_capacity(page.rows.len());
    let mut gaps = Vec::new();
    let mut y = 8;
    for (i, r) in page.rows.iter().enumerate() {
        if i > 0 {
            let idle = r.time_us.saturating_sub(page.rows[i - 1].time_us);
            if idle > GAP_US {
                gaps.push((y, idle));
                y += GAP;
            }
        }
        ys.push(y + ROW / 2);
        y += ROW;
    }
    let height = y + 8;
    s.push_str("<div class=\"ladder\">\n");
    let _ = write!(
        s,
        "<svg class=\"head\" width=\"{width}\" height=\"{HEAD}\" viewBox=\"0 0 {width} {HEAD}\">\
         <text class=\"axis\" x=\"8\" y=\"20\">simulated time</text>\
         <text class=\"axis\" x=\"{}\" y=\"20\">frame</text>",
        LEFT - 8
    );
    for (i, c) in page.columns.iter().enumerate() {
        let x = column_x(i);
        let _ = write!(
            s,
            "<g class=\"col{nat}\"><rect x=\"{rx}\" y=\"2\" width=\"{w}\" height=\"{h}\" rx=\"4\"/>\
             <text class=\"name\" x=\"{x}\" y=\"21\">{name}</text><text class=\"role\" x=\"{x}\" y=\"38\">{role}</text></g>",
            nat = if c.nat { " nat" } else { "" },
            rx = LEFT + COL * i + 6,
            w = COL - 12,
            h = HEAD - 6,
            name = esc(&cut(&c.name, 28)),
            role = esc(&cut(&c.role, 34)),
        );
    }
    s.push_str("</svg>\n");
    let _ = writeln!(
        s,
        "<svg class=\"body\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\">{DEFS}"
    );
    for (i, c) in page.columns.iter().enumerate() {
        if c.nat {
            let _ = write!(
                s,
                "<rect class=\"natband\" x=\"{}\" y=\"0\" width=\"{}\" height=\"{height}\"/>",
                LEFT + COL * i + 6,
                COL - 12
            );
        }
        let x = column_x(i);
        let _ = write!(
            s,
            "<line class=\"life\" x1=\"{x}\" y1=\"0\" x2=\"{x}\" y2=\"{height}\"/>"
        );
    }
    s.push('\n');
    for (y, idle) in gaps {
        let _ = writeln!(
            s,
            "<g class=\"gap\"><line x1=\"0\" y1=\"{m}\" x2=\"{width}\" y2=\"{m}\"/>\
             <text x=\"8\" y=\"{t}\">… {} with nothing captured or reported</text></g>",
            seconds(idle),
            m = y + GAP / 2,
            t = y + GAP / 2 - 3,
        );
    }
    let failing: BTreeSet<usize> = page
        .expectations
        .iter()
        .filter(|e| !e.passed)
        .map(|e| e.index)
        .collect();
    let mut seen_frames = BTreeSet::new();
    for (i, (row, &y)) in page.rows.iter().zip(&ys).enumerate() {
        let id = match &row.item {
            Item::Message(m) => {
                let mut n = 1;
                let mut id = format!("f{}", m.frame);
                while !seen_frames.insert(id.clone()) {
                    n += 1;
                    id = format!("f{}-{n}", m.frame);
                }
                id
            }
            Item::Note(_) => format!("r{i}"),
        };
        let at = At {
            id: &id,
            y,
            width,
            failing: &failing,
        };
        match &row.item {
            Item::Message(m) => message(s, &at, row, m),
            Item::Note(n) => note(s, &at, row, n),
        }
    }
    s.push_str("</svg>\n</div>\n");
}

/// Where a row goes.
struct At<'a> {
    id: &'a str,
    y: usize,
    width: usize,
    failing: &'a BTreeSet<usize>,
}

impl At<'_> {
    /// ` hl` when the row is evidence for a failing expectation.
    fn hl(&self, row: &Row) -> &'static str {
        if row.expectations.iter().any(|e| self.failing.contains(e)) {
            " hl"
        } else {
            ""
        }
    }
}

/// The row's background band (highlighted for a failing expectation), its time, its frame and
/// the tags of the expectations it is evidence for.
fn row_start(s: &mut String, at: &At<'_>, row: &Row, frame: Option<u64>) {
    let (y, width, href) = (at.y, at.width, at.id);
    let _ = write!(
        s,
        "<rect class=\"band\" x=\"0\" y=\"{}\" width=\"{width}\" height=\"{ROW}\"/>\
         <a href=\"#{href}\"><text class=\"t\" x=\"8\" y=\"{}\">{}</text>",
        y - ROW / 2,
        y + 4,
        seconds(row.time_us)
    );
    if let Some(f) = frame {
        let _ = write!(
            s,
            "<text class=\"fr\" x=\"{}\" y=\"{}\">#{f}</text>",
            LEFT - 8,
            y + 4
        );
    }
    s.push_str("</a>");
    for e in &row.expectations {
        let _ = write!(
            s,
            "<a href=\"#expect-{e}\"><text class=\"etag{}\" x=\"{}\" y=\"{}\">E{e}</text></a>",
            if at.failing.contains(e) { " fail" } else { "" },
            width - RIGHT + 8,
            y + 4
        );
    }
}

fn message(s: &mut String, at: &At<'_>, row: &Row, m: &Message) {
    let (id, y) = (at.id, at.y);
    let proto = match m.protocol.as_str() {
        "SIP" => "sip",
        "STUN" => "stun",
        _ => "other",
    };
    let tone = match (proto, m.status) {
        _ if m.dropped.is_some() => "drop",
        ("stun", Some(_)) => "err",
        ("sip", Some(c)) if c >= 300 => "err",
        ("sip", Some(_)) => "ok",
        ("sip", None) => "req",
        _ => "plain",
    };
    let hl = at.hl(row);
    let _ = write!(
        s,
        "<g class=\"row msg {proto} {tone}{hl}\" id=\"{id}\" data-proto=\"{}\" data-frame=\"{}\" data-time-us=\"{}\">",
        esc(&m.protocol),
        m.frame,
        row.time_us
    );
    let mut tip = format!(
        "frame {} · {} · {} · {}",
        m.frame,
        seconds(row.time_us),
        m.network,
        m.detail
    );
    if let Some(d) = &m.dropped {
        let _ = write!(tip, " · dropped: {d}");
    }
    let _ = write!(s, "<title>{}</title>", esc(&tip));
    row_start(s, at, row, Some(m.frame));
    let x1 = column_x(m.from);
    let label = esc(&cut(&m.label, 40));
    match m.to {
        Some(to) if to == m.from => {
            let _ = write!(
                s,
                "<path d=\"M{x1},{} h36 v10 h-36\" marker-end=\"url(#a-{tone})\"/>\
                 <text class=\"lbl self\" x=\"{}\" y=\"{}\">{label}</text>",
                y - 5,
                x1 + 42,
                y + 4
            );
        }
        to => {
            let x2 = to.map_or(x1 + COL / 2, column_x);
            let end = if m.reached {
                x2
            } else {
                // Lost on the way: the arrow stops half way.
                (x1 + x2) / 2
            };
            let _ = write!(
                s,
                "<line x1=\"{x1}\" y1=\"{y}\" x2=\"{end}\" y2=\"{y}\"{}/>\
                 <text class=\"lbl\" x=\"{}\" y=\"{}\">{label}</text>",
                if m.dropped.is_some() {
                    String::new()
                } else {
                    format!(" marker-end=\"url(#a-{tone})\"")
                },
                (x1 + x2) / 2,
                y - 5
            );
            if let Some(d) = &m.dropped {
                let reason = d.split(':').next().unwrap_or(d);
                let _ = write!(
                    s,
                    "<path class=\"x\" d=\"M{a},{b} l10,10 m0,-10 l-10,10\"/>\
                     <text class=\"why\" x=\"{}\" y=\"{}\">dropped: {}</text>",
                    (x1 + x2) / 2,
                    y + 10,
                    esc(reason),
                    a = end - 5,
                    b = y - 5,
                );
            }
        }
    }
    s.push_str("</g>\n");
}

fn note(s: &mut String, at: &At<'_>, row: &Row, n: &Note) {
    let (id, y) = (at.id, at.y);
    let hl = at.hl(row);
    let kind = n.kind.as_str();
    let _ = write!(
        s,
        "<g class=\"row note {kind}{hl}\" id=\"{id}\" data-kind=\"{kind}\" data-event=\"{}\" data-time-us=\"{}\">",
        esc(&n.name),
        row.time_us
    );
    let mut text = n.name.clone();
    if let Some(st) = n.status {
        let _ = write!(text, " {st}");
    }
    let tip = format!("{} · {} · {}", seconds(row.time_us), text, n.detail);
    let _ = write!(s, "<title>{}</title>", esc(&tip));
    row_start(s, at, row, None);
    let text = cut(&text, 30);
    let w = text.chars().count() * 7 + 12;
    let x = column_x(n.column);
    let _ = write!(
        s,
        "<rect class=\"box\" x=\"{}\" y=\"{}\" width=\"{w}\" height=\"{}\" rx=\"5\"/>\
         <text class=\"nl\" x=\"{x}\" y=\"{}\">{}</text>",
        x.saturating_sub(w / 2),
        y - ROW / 2 + 3,
        ROW - 6,
        y + 4,
        esc(&text)
    );
    if !n.detail.is_empty() {
        let _ = write!(
            s,
            "<text class=\"nd\" x=\"{}\" y=\"{}\">{}</text>",
            x + w / 2 + 6,
            y + 4,
            esc(&cut(&n.detail, 48))
        );
    }
    s.push_str("</g>\n");
}

const CSS: &str = "body{font-family:sans-serif;margin:16px;color:#222}\
h1 .verdict{font-size:60%;padding:2px 8px;border-radius:4px;vertical-align:middle}\
body.pass h1 .verdict{background:#d8f0dc;color:#1c6b2f}body.fail h1 .verdict{background:#f8d7d8;color:#a31e23}\
.desc{max-width:60em;color:#444}code{background:#f2f2f2;padding:1px 4px}\
table.expect{border-collapse:collapse;margin:6px 0 12px}table.expect td,table.expect th{border:1px solid #ccc;padding:3px 6px;font-size:13px;text-align:left;vertical-align:top}\
table.expect tr.fail td{background:#fbe3e4}table.expect tr.fail td:nth-child(4){color:#a31e23;font-weight:bold}\
table.expect tr:target td{outline:2px solid #e0a800}\
.cap{color:#8a5a00;background:#fff4d6;padding:4px 8px;display:inline-block}.controls label{margin-right:.8em}\
.ladder{overflow:auto;max-height:85vh;border:1px solid #ddd}\
svg{font:11px monospace;display:block}svg.head{position:sticky;top:0;background:#fff;z-index:1}\
.col rect{fill:#eef3fa;stroke:#9db3d3}.col.nat rect{fill:#fdf0e0;stroke:#d9a35b}\
.col .name{font-weight:bold;font-size:12px;text-anchor:middle}.col .role{fill:#555;text-anchor:middle}\
.axis{fill:#777}.axis+.axis{text-anchor:end}\
.natband{fill:#fdf6ec}.life{stroke:#aaa;stroke-dasharray:4 3}\
.gap line{stroke:#bbb;stroke-dasharray:2 4}.gap text{fill:#888;font-style:italic}\
.band{fill:transparent}.row.hl .band{fill:#fde2e3}.row:target .band{fill:#ffe9a8}\
.t{fill:#555}.fr{fill:#555;text-anchor:end}.etag{fill:#888}.etag.fail{fill:#a31e23;font-weight:bold}\
.lbl{text-anchor:middle}.lbl.self{text-anchor:start}.why{text-anchor:middle;fill:#a31e23;font-size:10px}\
.msg line,.msg path{fill:none;stroke-width:1.4}\
.req line,.req path{stroke:#1f5fa8}.req .lbl{fill:#1f5fa8}\
.ok line,.ok path{stroke:#23803a}.ok .lbl{fill:#23803a}\
.err line,.err path{stroke:#c0282d}.err .lbl{fill:#c0282d}\
.stun line,.stun path{stroke-dasharray:6 2}.stun.plain line,.stun.plain path{stroke:#7b4bb0}.stun.plain .lbl{fill:#7b4bb0}\
.other line,.other path{stroke:#999}.other .lbl{fill:#777}\
.drop line{stroke:#c0282d;stroke-dasharray:3 3}.drop .lbl{fill:#c0282d}path.x{stroke:#c0282d;stroke-width:2.5}\
.note .box{fill:#eef6ff;stroke:#6b8fc7}.note.nat .box{fill:#fff1dc;stroke:#d08a2e}\
.row.hl .box{stroke:#c0282d;stroke-width:2}.nl{text-anchor:middle}.nd{fill:#555}\
a text{cursor:pointer}a:hover text{text-decoration:underline}\
.hide-sip .sip,.hide-stun .stun,.hide-other .other,.hide-sdk .sdk,.hide-nat .nat.note{display:none}";

const DEFS: &str = "<defs>\
<marker id=\"a-req\" markerWidth=\"10\" markerHeight=\"8\" refX=\"9\" refY=\"4\" orient=\"auto\"><path d=\"M0,0 L10,4 L0,8 z\" fill=\"#1f5fa8\"/></marker>\
<marker id=\"a-ok\" markerWidth=\"10\" markerHeight=\"8\" refX=\"9\" refY=\"4\" orient=\"auto\"><path d=\"M0,0 L10,4 L0,8 z\" fill=\"#23803a\"/></marker>\
<marker id=\"a-err\" markerWidth=\"10\" markerHeight=\"8\" refX=\"9\" refY=\"4\" orient=\"auto\"><path d=\"M0,0 L10,4 L0,8 z\" fill=\"#c0282d\"/></marker>\
<marker id=\"a-plain\" markerWidth=\"10\" markerHeight=\"8\" refX=\"9\" refY=\"4\" orient=\"auto\"><path d=\"M0,0 L10,4 L0,8 z\" fill=\"#888\"/></marker>\
<marker id=\"a-drop\" markerWidth=\"10\" markerHeight=\"8\" refX=\"9\" refY=\"4\" orient=\"auto\"><path d=\"M0,0 L10,4 L0,8 z\" fill=\"#c0282d\"/></marker>\
</defs>";

/// The filters: a checkbox hides a class of rows. Marks the page ready for tests.
const SCRIPT: &str = "(function(){var b=document.querySelectorAll('input[data-hide]');\
for(var i=0;i<b.length;i++){b[i].addEventListener('change',function(e){\
document.body.classList.toggle('hide-'+e.target.getAttribute('data-hide'),!e.target.checked);});}\
document.body.setAttribute('data-ready','1');})();";

#[cfg(test)]
mod tests {
    use super::*;

    /// A small page: a registration through a NAT that drops the INVITE after the mapping
    /// expired, with a failing expectation about the drop.
    pub(crate) fn sample() -> LadderPage {
        let msg = |frame, from, to, protocol: &str, label: &str, status, dropped: Option<&str>| {
            Item::Message(Message {
                frame,
                network: "wan".into(),
                from,
                to: Some(to),
                reached: true,
                protocol: protocol.into(),
                label: label.into(),
                detail: "CSeq 1 REGISTER · Call-ID a@b".into(),
                status,
                dropped: dropped.map(str::to_owned),
            })
        };
        let row = |time_us, item, expectations: Vec<usize>| Row {
            time_us,
            item,
            expectations,
        };
        LadderPage {
            scenario: "demo <nat>".into(),
            description: Some("bob's mapping expires".into()),
            seed: 7,
            duration: "60s".into(),
            passed: false,
            reproduce: "natlab run demo.yaml --seed 7".into(),
            files: vec![FileLink {
                label: "report.json".into(),
                href: "report.json".into(),
            }],
            columns: vec![
                Column {
                    name: "bob".into(),
                    role: "softphone 10.0.1.2".into(),
                    nat: false,
                },
                Column {
                    name: "office".into(),
                    role: "NAT 198.51.100.2".into(),
                    nat: true,
                },
                Column {
                    name: "pbx".into(),
                    role: "sip 203.0.113.10".into(),
                    nat: false,
                },
            ],
            rows: vec![
                row(
                    1_000_000,
                    msg(1, 0, 1, "SIP", "REGISTER", None, None),
                    vec![],
                ),
                row(
                    1_010_000,
                    Item::Note(Note {
                        column: 1,
                        name: "nat-mapping-created".into(),
                        status: None,
                        detail: "udp 10.0.1.2:5060 -> 198.51.100.2:5060".into(),
                        kind: NoteKind::Nat,
                    }),
                    vec![],
                ),
                row(
                    1_010_000,
                    msg(2, 1, 2, "SIP", "REGISTER", None, None),
                    vec![],
                ),
                row(
                    1_020_000,
                    msg(3, 2, 1, "SIP", "200 OK", Some(200), None),
                    vec![],
                ),
                row(
                    1_020_000,
                    Item::Message(Message {
                        frame: 4,
                        network: "lan-office".into(),
                        from: 1,
                        to: Some(1),
                        reached: true,
                        protocol: "STUN".into(),
                        label: "Binding request".into(),
                        detail: String::new(),
                        status: None,
                        dropped: None,
                    }),
                    vec![],
                ),
                row(
                    1_030_000,
                    Item::Note(Note {
                        column: 0,
                        name: "onRegisterSuccess".into(),
                        status: Some(200),
                        detail: "OK; expires=300".into(),
                        kind: NoteKind::Sdk,
                    }),
                    vec![],
                ),
                row(
                    40_000_000,
                    msg(
                        5,
                        2,
                        1,
                        "SIP",
                        "INVITE (SDP)",
                        None,
                        Some("no-mapping: NAT office: no mapping"),
                    ),
                    vec![0],
                ),
            ],
            expectations: vec![
                ExpectationResult {
                    index: 0,
                    kind: "dropped".into(),
                    text: "exactly 0 packets dropped as no-mapping at office".into(),
                    passed: false,
                    observed: "1 dropped (at 40.000000s)".into(),
                },
                ExpectationResult {
                    index: 1,
                    kind: "event".into(),
                    text: "bob reports at least 1 onRegisterSuccess".into(),
                    passed: true,
                    observed: "1 reported (at 1.030000s)".into(),
                },
            ],
            issues: vec![],
            omitted: vec!["12 more packets beyond the first 500 are not drawn.".into()],
        }
    }

    #[test]
    fn ladder_page_snapshot() {
        insta::assert_snapshot!(render(&sample()));
    }

    #[test]
    fn ladder_draws_one_arrow_per_message_with_its_frame() {
        let html = render(&sample());
        assert_eq!(html.matches("data-proto=\"SIP\"").count(), 4);
        assert_eq!(html.matches("data-proto=\"STUN\"").count(), 1);
        for f in 1..=5 {
            assert!(html.contains(&format!("id=\"f{f}\" ")), "frame {f}");
        }
        assert_eq!(html.matches("data-kind=\"nat\"").count(), 1);
        assert_eq!(html.matches("data-kind=\"sdk\"").count(), 1);
    }

    #[test]
    fn ladder_highlights_the_failing_expectation_and_lists_it_first() {
        let html = render(&sample());
        let failing = html
            .find("id=\"expect-0\" class=\"fail\"")
            .expect("failing row");
        let passing = html
            .find("id=\"expect-1\" class=\"pass\"")
            .expect("passing row");
        assert!(failing < passing);
        assert!(html.contains("<a href=\"#f5\">#5</a>"), "evidence link");
        assert!(html.contains("class=\"row msg sip drop hl\" id=\"f5\""));
        assert!(html.contains("dropped: no-mapping"));
    }

    #[test]
    fn ladder_loads_nothing_from_elsewhere_and_escapes_names() {
        let html = render(&sample());
        assert!(!html.contains("http://") && !html.contains("https://"));
        assert!(!html.contains("<nat>"));
        assert!(html.contains("demo &lt;nat&gt;"));
    }

    #[test]
    fn ladder_marks_idle_stretches_and_repeated_frames() {
        let mut page = sample();
        let first = page.rows[0].clone();
        page.rows.insert(1, first);
        let html = render(&page);
        assert!(html.contains("id=\"f1-2\""));
        assert!(html.contains("38.970000 s with nothing captured or reported"));
    }
}

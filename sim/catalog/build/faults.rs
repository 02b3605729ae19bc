//! Reading the fault tables of `FAULTS.md` (sections 2, 3 A–G, 4 and the section 9 totals)
//! and tying each row to the catalog rows it describes.

use super::emit::fail;

const FILE: &str = "FAULTS.md";

/// The section 3 groups: letter, `FaultGroup` variant.
const STATUS_GROUPS: [(char, &str); 7] = [
    ('A', "Network"),
    ('B', "Nat"),
    ('C', "ServerPolicy"),
    ('D', "Misconfiguration"),
    ('E', "Timing"),
    ('F', "Mutation"),
    ('G', "NotSimulable"),
];

/// One row of a fault table.
pub(crate) struct FaultRow {
    /// The `FaultGroup` variant.
    pub(crate) group: &'static str,
    pub(crate) codes: String,
    pub(crate) cause: String,
    pub(crate) reports: Option<String>,
    pub(crate) normal_trigger: Option<String>,
    pub(crate) labels: Option<String>,
    pub(crate) targets: Targets,
}

/// What a row's first cell names.
pub(crate) enum Targets {
    /// ``60002 `NAME` ``.
    Event { code: u32, name: String },
    /// Status codes, with the names the cell gives (all of them, or the first and last of a
    /// range written `(N codes: `FIRST` … `LAST`)`).
    Statuses {
        codes: Vec<u32>,
        names: Vec<(u32, String)>,
    },
    /// A trunk row by number, with the code and phrase cell.
    Trunk {
        order: u8,
        code: u16,
        phrase: String,
    },
}

/// A status group heading: `### A. Network faults — 25 codes`.
struct GroupHeading {
    variant: &'static str,
    declared: usize,
}

/// The parsed fault tables.
pub(crate) struct Faults {
    pub(crate) rows: Vec<FaultRow>,
}

/// Parses `FAULTS.md`, checking the counts it declares against its own rows.
pub(crate) fn parse(text: &str) -> Faults {
    let mut rows = Vec::new();
    let mut major = 0u32;
    let mut heading: Option<GroupHeading> = None;
    let mut headings_seen = Vec::new();
    let mut events_declared = None;
    let mut coverage = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while let Some(line) = lines.get(i) {
        if let Some(h) = line.strip_prefix("## ") {
            close_group(&rows, heading.take());
            major = section_number(h);
            if major == 2 {
                events_declared = Some(number_between(h, "(all ", ")"));
            }
        } else if let Some(h) = line.strip_prefix("### ") {
            close_group(&rows, heading.take());
            if major == 3 {
                let g = group_heading(h);
                headings_seen.push(g.variant);
                heading = Some(g);
            }
        } else if line.starts_with('|') {
            let table: Vec<&str> = lines
                .iter()
                .skip(i)
                .take_while(|l| l.starts_with('|'))
                .copied()
                .collect();
            i += table.len();
            read_table(major, heading.as_ref(), &table, &mut rows, &mut coverage);
            continue;
        }
        i += 1;
    }
    close_group(&rows, heading.take());
    check_structure(&rows, &headings_seen, events_declared, &coverage);
    Faults { rows }
}

fn read_table(
    major: u32,
    heading: Option<&GroupHeading>,
    table: &[&str],
    rows: &mut Vec<FaultRow>,
    coverage: &mut Vec<(String, usize)>,
) {
    let header = cells(table.first().copied().unwrap_or(""));
    let body = table.iter().skip(2).map(|l| cells(l));
    let first = header.first().copied().unwrap_or("");
    match (major, heading, first) {
        (2, _, "Event") => rows.extend(body.map(|c| event_row(&header, &c))),
        (3, Some(h), "Codes") => rows.extend(body.map(|c| status_row(h.variant, &header, &c))),
        (4, _, "#") => rows.extend(body.map(|c| trunk_row(&header, &c))),
        (9, _, "Group") => coverage.extend(body.map(|c| coverage_row(&header, &c))),
        _ => {}
    }
}

fn cells(line: &str) -> Vec<&str> {
    let inner = line.trim().trim_start_matches('|').trim_end_matches('|');
    inner.split('|').map(str::trim).collect()
}

fn expect_width(header: &[&str], row: &[&str]) {
    if header.len() != row.len() {
        fail(
            FILE,
            format!(
                "table row {row:?} has {} cells, its header {header:?} has {}",
                row.len(),
                header.len()
            ),
        );
    }
}

fn cell<'a>(row: &[&'a str], i: usize) -> &'a str {
    row.get(i)
        .copied()
        .unwrap_or_else(|| fail(FILE, format!("row {row:?} has no cell {i}")))
}

/// `—` (nothing) becomes `None`.
fn text(cell: &str) -> Option<String> {
    (cell != "—" && !cell.is_empty()).then(|| cell.to_owned())
}

fn event_row(header: &[&str], row: &[&str]) -> FaultRow {
    expect_width(header, row);
    let first = cell(row, 0);
    let (code, name) = code_and_name(first);
    let normal_trigger = text(cell(row, 1));
    let injections = text(cell(row, 2));
    let cause = injections
        .or_else(|| normal_trigger.clone())
        .unwrap_or_else(|| {
            fail(
                FILE,
                format!("event {code} has neither a trigger nor a fault"),
            )
        });
    FaultRow {
        group: "Events",
        codes: first.to_owned(),
        cause,
        reports: None,
        normal_trigger,
        labels: text(cell(row, 3)),
        targets: Targets::Event { code, name },
    }
}

fn status_row(variant: &'static str, header: &[&str], row: &[&str]) -> FaultRow {
    expect_width(header, row);
    if !(2..=3).contains(&row.len()) {
        fail(
            FILE,
            format!("status table with header {header:?}: expected 2 or 3 columns"),
        );
    }
    let first = cell(row, 0);
    let (codes, names) = status_codes(first);
    FaultRow {
        group: variant,
        codes: first.to_owned(),
        cause: text(cell(row, 1)).unwrap_or_else(|| fail(FILE, format!("{first}: no cause"))),
        reports: row.get(2).and_then(|c| text(c)),
        normal_trigger: None,
        labels: None,
        targets: Targets::Statuses { codes, names },
    }
}

fn trunk_row(header: &[&str], row: &[&str]) -> FaultRow {
    expect_width(header, row);
    let order_cell = cell(row, 0);
    let order = order_cell
        .parse()
        .unwrap_or_else(|_| fail(FILE, format!("trunk row number {order_cell:?}")));
    let code_and_phrase = cell(row, 1);
    let (code, phrase) = code_and_phrase
        .split_once(' ')
        .unwrap_or((code_and_phrase, ""));
    let code = code
        .parse()
        .unwrap_or_else(|_| fail(FILE, format!("trunk code in {code_and_phrase:?}")));
    FaultRow {
        group: "Trunk",
        codes: order_cell.to_owned(),
        cause: text(cell(row, 3))
            .unwrap_or_else(|| fail(FILE, format!("trunk row {order}: no cause"))),
        reports: text(cell(row, 4)),
        normal_trigger: None,
        labels: text(cell(row, 2)),
        targets: Targets::Trunk {
            order,
            code,
            phrase: phrase.to_owned(),
        },
    }
}

fn coverage_row(header: &[&str], row: &[&str]) -> (String, usize) {
    expect_width(header, row);
    let group = cell(row, 0).trim_matches('*').to_owned();
    let count = cell(row, 1).trim_start_matches('*');
    let digits: String = count.chars().take_while(char::is_ascii_digit).collect();
    let n = digits
        .parse()
        .unwrap_or_else(|_| fail(FILE, format!("coverage count {count:?}")));
    (group, n)
}

/// ``408 `NAME` `` → (408, NAME).
fn code_and_name(item: &str) -> (u32, String) {
    let item = item.trim();
    let (code, rest) = item
        .split_once(' ')
        .unwrap_or_else(|| fail(FILE, format!("expected `CODE `NAME`` in {item:?}")));
    let code = parse_code(code);
    let name = rest
        .trim()
        .strip_prefix('`')
        .and_then(|r| r.strip_suffix('`'));
    let name =
        name.unwrap_or_else(|| fail(FILE, format!("expected a `NAME` after {code} in {item:?}")));
    (code, name.to_owned())
}

fn parse_code(s: &str) -> u32 {
    s.trim()
        .parse()
        .unwrap_or_else(|_| fail(FILE, format!("{s:?} is not a code")))
}

/// A status cell: ``408 `NAME` ``, several joined with `<br>`, or a list of codes and ranges
/// (`171050, 171051, 171053–171055`) followed by `(N codes: `FIRST` … `LAST`)`.
fn status_codes(cell: &str) -> (Vec<u32>, Vec<(u32, String)>) {
    if let Some((list, rest)) = cell
        .split_once(" (")
        .filter(|(_, r)| r.contains(" codes: "))
    {
        let codes: Vec<u32> = list.split(", ").flat_map(expand).collect();
        let declared = number_between(rest, "", " codes: ");
        if codes.len() != declared {
            fail(
                FILE,
                format!("{cell:?} says {declared} codes but lists {}", codes.len()),
            );
        }
        let named: Vec<&str> = rest.split('`').skip(1).step_by(2).collect();
        let (Some(first), Some(last), 2) = (codes.first(), codes.last(), named.len()) else {
            fail(FILE, format!("{cell:?}: expected `FIRST` … `LAST`"))
        };
        let names = vec![(*first, named[0].to_owned()), (*last, named[1].to_owned())];
        return (codes, names);
    }
    let names: Vec<(u32, String)> = cell.split("<br>").map(code_and_name).collect();
    (names.iter().map(|(c, _)| *c).collect(), names)
}

/// `171053–171055` (en dash) → every code from the first to the last; `171050` → itself.
fn expand(part: &str) -> Vec<u32> {
    match part.split_once('–') {
        Some((lo, hi)) => {
            let (lo, hi) = (parse_code(lo), parse_code(hi));
            if hi <= lo {
                fail(FILE, format!("empty range {part:?}"));
            }
            (lo..=hi).collect()
        }
        None => vec![parse_code(part)],
    }
}

/// `2. Event codes (all 28)` → 2.
fn section_number(heading: &str) -> u32 {
    heading
        .split('.')
        .next()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

/// The number between `before` and `after` in `s`.
fn number_between(s: &str, before: &str, after: &str) -> usize {
    let tail = s.split_once(before).map_or("", |(_, t)| t);
    let n = tail.split_once(after).map_or("", |(n, _)| n);
    n.trim()
        .parse()
        .unwrap_or_else(|_| fail(FILE, format!("no count in {s:?}")))
}

/// `A. Network faults — 25 codes`.
fn group_heading(h: &str) -> GroupHeading {
    let letter = h.chars().next().unwrap_or(' ');
    let variant = STATUS_GROUPS
        .iter()
        .find(|(l, _)| *l == letter)
        .map(|(_, v)| *v)
        .unwrap_or_else(|| fail(FILE, format!("unknown section 3 group heading {h:?}")));
    GroupHeading {
        variant,
        declared: number_between(h, " — ", " codes"),
    }
}

/// Checks a finished group's code count against its heading.
fn close_group(rows: &[FaultRow], heading: Option<GroupHeading>) {
    let Some(h) = heading else { return };
    let n = status_count(rows, h.variant);
    if n != h.declared {
        fail(
            FILE,
            format!(
                "group {} heading says {} codes, its table has {n}",
                h.variant, h.declared
            ),
        );
    }
}

fn status_count(rows: &[FaultRow], variant: &str) -> usize {
    rows.iter()
        .filter(|r| r.group == variant)
        .map(|r| match &r.targets {
            Targets::Statuses { codes, .. } => codes.len(),
            _ => 0,
        })
        .sum()
}

fn check_structure(
    rows: &[FaultRow],
    headings: &[&str],
    events: Option<usize>,
    coverage: &[(String, usize)],
) {
    let expected: Vec<&str> = STATUS_GROUPS.iter().map(|(_, v)| *v).collect();
    if headings != expected {
        fail(
            FILE,
            format!("section 3 groups are {headings:?}, expected A to G once each in order"),
        );
    }
    let event_rows = rows.iter().filter(|r| r.group == "Events").count();
    if Some(event_rows) != events {
        fail(
            FILE,
            format!("section 2 says all {events:?} events, its table has {event_rows}"),
        );
    }
    let mut total = 0;
    for (letter, variant) in STATUS_GROUPS {
        let prefix = format!("{letter}. ");
        let declared = coverage
            .iter()
            .find(|(g, _)| g.starts_with(&prefix))
            .map(|(_, n)| *n);
        let n = status_count(rows, variant);
        if declared != Some(n) {
            fail(
                FILE,
                format!("section 9 gives group {letter} {declared:?} codes, its table has {n}"),
            );
        }
        total += n;
    }
    let declared_total = coverage.iter().find(|(g, _)| g == "Total").map(|(_, n)| *n);
    if declared_total != Some(total) {
        fail(
            FILE,
            format!("section 9 total {declared_total:?}, the tables hold {total}"),
        );
    }
}

/// For each catalog row, the index of the one fault row that describes it.
pub(crate) struct Resolved {
    pub(crate) events: Vec<usize>,
    pub(crate) statuses: Vec<usize>,
    pub(crate) trunk: Vec<usize>,
}

/// A trunk row as the resolver needs it.
pub(crate) struct TrunkKey<'a> {
    pub(crate) order: u8,
    pub(crate) code: u16,
    pub(crate) reason_phrase: &'a str,
    pub(crate) qualifier: Option<&'a str>,
}

/// Ties every fault row to catalog rows: each event, status and trunk row must be described
/// by exactly one fault row, and every code and name a fault row gives must exist.
pub(crate) fn resolve(
    faults: &Faults,
    events: &[(u32, &str)],
    statuses: &[(u32, &str)],
    trunk: &[TrunkKey<'_>],
) -> Resolved {
    let mut out = Resolved {
        events: vec![usize::MAX; events.len()],
        statuses: vec![usize::MAX; statuses.len()],
        trunk: vec![usize::MAX; trunk.len()],
    };
    for (i, row) in faults.rows.iter().enumerate() {
        match &row.targets {
            Targets::Event { code, name } => {
                let at = position(events, *code, "event");
                check_name(events, at, *code, name);
                assign(&mut out.events, at, i, &format!("event {code}"));
            }
            Targets::Statuses { codes, names } => {
                for (code, name) in names {
                    check_name(statuses, position(statuses, *code, "status"), *code, name);
                }
                for code in codes {
                    let at = position(statuses, *code, "status");
                    assign(&mut out.statuses, at, i, &format!("status {code}"));
                }
            }
            Targets::Trunk {
                order,
                code,
                phrase,
            } => {
                let at = resolve_trunk(trunk, *order, *code, phrase);
                assign(&mut out.trunk, at, i, &format!("trunk row {order}"));
            }
        }
    }
    check_all_assigned(&out.events, events, "event");
    check_all_assigned(&out.statuses, statuses, "status");
    let orders: Vec<(u32, &str)> = trunk.iter().map(|t| (u32::from(t.order), "")).collect();
    check_all_assigned(&out.trunk, &orders, "trunk row");
    out
}

fn position(rows: &[(u32, &str)], code: u32, what: &str) -> usize {
    rows.iter()
        .position(|(c, _)| *c == code)
        .unwrap_or_else(|| {
            fail(
                FILE,
                format!("{what} {code} does not resolve: no such row in its catalog"),
            )
        })
}

fn check_name(rows: &[(u32, &str)], at: usize, code: u32, name: &str) {
    let actual = rows.get(at).map_or("", |(_, n)| *n);
    if actual != name {
        fail(
            FILE,
            format!("{code} is named `{name}` here but `{actual}` in its catalog"),
        );
    }
}

fn assign(slots: &mut [usize], at: usize, row: usize, what: &str) {
    match slots.get_mut(at) {
        Some(slot) if *slot == usize::MAX => *slot = row,
        _ => fail(FILE, format!("{what} appears in more than one fault row")),
    }
}

fn resolve_trunk(trunk: &[TrunkKey<'_>], order: u8, code: u16, phrase: &str) -> usize {
    let at = trunk
        .iter()
        .position(|t| t.order == order)
        .unwrap_or_else(|| fail(FILE, format!("trunk row {order} does not resolve")));
    let t = &trunk[at];
    let qualifier_ok = t.qualifier.is_none_or(|q| phrase.contains(q));
    if t.code != code || !phrase.starts_with(t.reason_phrase) || !qualifier_ok {
        fail(
            FILE,
            format!(
                "trunk row {order} is `{code} {phrase}` here but {} {} in the catalog",
                t.code, t.reason_phrase
            ),
        );
    }
    at
}

fn check_all_assigned(slots: &[usize], rows: &[(u32, &str)], what: &str) {
    for (slot, (code, _)) in slots.iter().zip(rows) {
        if *slot == usize::MAX {
            fail(FILE, format!("{what} {code} has no fault row"));
        }
    }
}

//! `natlab codes`: look up documented event, status and error codes.
//!
//! - `natlab codes 370082`, `natlab codes PJNATH_EICEFAILED`: every row with that number or
//!   name (one number may be in several catalogs: 404 is an AAE status and a trunk error),
//!   shown in full, with the `FAULTS.md` cause and what a correct endpoint reports.
//! - `natlab codes --group "ICE related errors"`, `--catalog trunk`, or nothing: a list.
//! - `--format json`: `{"schema_version": 1, "codes": [...]}`, one object per row in the form
//!   `sim_catalog` documents (every row of every catalog without a filter).
//!
//! An unknown code or name, an unknown group, or a filter that leaves nothing exits with 4.

use crate::args::{CatalogName, CodesArgs, Format};
use crate::exit::{Exit, ExpectedError};
use serde::Serialize;
use sim_catalog::{AaeEvent, AaeStatus, Catalog, Entry, Fault, TrunkError};
use std::io::Write;
use tabled::Table;
use tabled::builder::Builder;
use tabled::grid::util::string::get_text_width;
use tabled::settings::Style;

/// Width of the tables when stdout is not a terminal.
const DEFAULT_WIDTH: usize = 100;
/// Narrowest width the tables are wrapped to.
const MIN_WIDTH: usize = 40;
/// How many close names an unknown name suggests.
const SUGGESTIONS: usize = 5;
/// How many close codes an unknown number suggests.
const NUMBER_SUGGESTIONS: usize = 3;

pub(crate) fn run(args: &CodesArgs, out: &mut dyn Write) -> Result<Exit, ExpectedError> {
    let catalogs = selected_catalogs(args.catalog);
    let rows = select(args, &catalogs)?;
    let written = match (args.format, &args.query) {
        (Format::Json, _) => write_json(out, &rows),
        (Format::Table, Some(_)) => write_details(out, &rows, width()),
        (Format::Table, None) => write_list(out, &rows, width()),
    };
    match written {
        // The reader went away (`natlab codes | head`): nothing more to say.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(Exit::Ok),
        Err(e) => Err(ExpectedError::Invalid(format!(
            "cannot write the output: {e}"
        ))),
        Ok(()) => Ok(Exit::Ok),
    }
}

fn selected_catalogs(name: Option<CatalogName>) -> Vec<Catalog> {
    match name {
        None => Catalog::WITH_CODES.to_vec(),
        Some(CatalogName::AaeEvents) => vec![Catalog::AaeEvents],
        Some(CatalogName::AaeStatus) => vec![Catalog::AaeStatus],
        Some(CatalogName::Trunk) => vec![Catalog::TrunkSipErrors],
        Some(CatalogName::Intercom) => vec![Catalog::IntercomSipSettings],
        Some(CatalogName::Softphone) => vec![Catalog::SoftphoneApi],
    }
}

/// The rows the arguments select, or why there are none.
fn select(args: &CodesArgs, catalogs: &[Catalog]) -> Result<Vec<Entry>, ExpectedError> {
    let in_scope = |e: &Entry| catalogs.contains(&e.catalog());
    if let Some(group) = &args.group {
        check_group(group, catalogs)?;
    }
    let in_group = |e: &Entry| args.group.as_ref().is_none_or(|g| e.in_group(g));
    let rows: Vec<Entry> = match &args.query {
        Some(q) => {
            let found: Vec<Entry> = sim_catalog::lookup(q).filter(in_scope).collect();
            if found.is_empty() {
                return Err(unknown_query(q, catalogs));
            }
            found.into_iter().filter(in_group).collect()
        }
        None => sim_catalog::entries()
            .filter(in_scope)
            .filter(in_group)
            .collect(),
    };
    if rows.is_empty() {
        return Err(ExpectedError::NothingToDo(nothing_selected(args)));
    }
    Ok(rows)
}

fn check_group(group: &str, catalogs: &[Catalog]) -> Result<(), ExpectedError> {
    let known = sim_catalog::entries()
        .filter(|e| catalogs.contains(&e.catalog()))
        .any(|e| e.in_group(group));
    if known {
        return Ok(());
    }
    let mut msg = format!("no group `{}` in {}", group.trim(), scope(catalogs));
    let listed: Vec<String> = catalogs
        .iter()
        .map(|c| (c, sim_catalog::group_names(*c)))
        .filter(|(_, names)| !names.is_empty())
        .map(|(c, names)| format!("  {c}: {}", names.join(", ")))
        .collect();
    if listed.is_empty() {
        msg.push_str(" (it has no groups)");
    } else {
        msg.push_str("; known groups:\n");
        msg.push_str(&listed.join("\n"));
    }
    Err(ExpectedError::NothingToDo(msg))
}

fn unknown_query(query: &str, catalogs: &[Catalog]) -> ExpectedError {
    let numeric = !query.trim().is_empty() && query.trim().bytes().all(|b| b.is_ascii_digit());
    let what = if numeric { "code" } else { "code or name" };
    let mut msg = format!(
        "no documented {what} `{}` in {}",
        query.trim(),
        scope(catalogs)
    );
    let gap = query
        .trim()
        .parse()
        .ok()
        .and_then(sim_catalog::undocumented_status);
    if let Some(u) = gap.filter(|_| catalogs.contains(&Catalog::AaeStatus)) {
        msg.push_str(&format!(
            "\n  FAULTS.md section 8: the public natnl header defines {} as {}, {}; the \
             document does not list it",
            u.code, u.header_name, u.note
        ));
    }
    let limit = if numeric {
        NUMBER_SUGGESTIONS
    } else {
        SUGGESTIONS
    };
    let close: Vec<String> = sim_catalog::suggestions(query, limit)
        .into_iter()
        .filter(|e| catalogs.contains(&e.catalog()))
        .map(|e| match e.code() {
            Some(code) if code.to_string() != e.name() => {
                format!("{} ({} {code})", e.name(), e.catalog())
            }
            _ => format!("{} ({})", e.name(), e.catalog()),
        })
        .collect();
    if !close.is_empty() {
        msg.push_str("\n  did you mean: ");
        msg.push_str(&close.join(", "));
    }
    ExpectedError::NothingToDo(msg)
}

fn nothing_selected(args: &CodesArgs) -> String {
    match (&args.query, &args.group) {
        (Some(q), Some(g)) => format!("`{}` is not in group `{}`", q.trim(), g.trim()),
        _ => "no rows match the selection".to_owned(),
    }
}

fn scope(catalogs: &[Catalog]) -> String {
    match catalogs {
        [one] => format!("the {one} catalog"),
        _ => "the catalogs".to_owned(),
    }
}

/// The terminal's width, or [`DEFAULT_WIDTH`] when stdout is not a terminal.
fn width() -> usize {
    terminal_size::terminal_size_of(std::io::stdout())
        .map_or(DEFAULT_WIDTH, |(w, _)| usize::from(w.0))
        .max(MIN_WIDTH)
}

// ---- JSON ------------------------------------------------------------------------------------

#[derive(Serialize)]
struct CodesJson<'a> {
    schema_version: u32,
    codes: &'a [Entry],
}

fn write_json(out: &mut dyn Write, rows: &[Entry]) -> std::io::Result<()> {
    let doc = CodesJson {
        schema_version: sim_catalog::JSON_SCHEMA_VERSION,
        codes: rows,
    };
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}

// ---- list ------------------------------------------------------------------------------------

/// Widest the name and group columns get before they wrap.
const NAME_CAP: usize = 31;
const GROUP_CAP: usize = 24;
/// How far the name and group columns shrink to leave the description room.
const NAME_MIN: usize = 20;
const GROUP_MIN: usize = 14;
/// Narrowest description column.
const DESCRIPTION_MIN: usize = 24;

/// One table per catalog, titled, with the columns that catalog has.
fn write_list(out: &mut dyn Write, rows: &[Entry], width: usize) -> std::io::Result<()> {
    for (i, block) in rows.chunk_by(|a, b| a.catalog() == b.catalog()).enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        let catalog = block.first().map(|e| e.catalog().id()).unwrap_or_default();
        let noun = if block.len() == 1 { "row" } else { "rows" };
        writeln!(out, "{catalog}: {} {noun}", block.len())?;
        writeln!(out, "{}", list_table(block, width))?;
    }
    Ok(())
}

/// Column widths of a list table; 0 hides a column.
struct ListLayout {
    code: usize,
    name: usize,
    group: usize,
    description: usize,
}

impl ListLayout {
    /// Code, name and group at their natural widths (name and group capped, and shrunk down
    /// to their minimum while the description would be narrower than its minimum); the
    /// description gets the rest of `width`. Hidden: the code where no row has one, the name
    /// where it only repeats the code (intercom), the group where no row has one.
    fn new(rows: &[Entry], width: usize) -> Self {
        let natural = |cell: &dyn Fn(&Entry) -> String, header: &str| {
            let widest = rows.iter().map(|e| text_width(&cell(e))).max().unwrap_or(0);
            widest.max(text_width(header))
        };
        let shown = |on: bool, w: usize| if on { w } else { 0 };
        let code = shown(
            rows.iter().any(|e| e.code().is_some()),
            natural(&code_cell, "Code"),
        );
        let mut name = shown(
            rows.iter().any(|e| code_cell(e) != e.name()),
            natural(&display_name, "Name").min(NAME_CAP),
        );
        let mut group = shown(
            rows.iter().any(|e| e.group().is_some()),
            natural(&|e| e.group().unwrap_or_default().to_owned(), "Group").min(GROUP_CAP),
        );
        let columns = 1 + [code, name, group].iter().filter(|w| **w > 0).count();
        // A border left of each column and at the right edge, one space of padding each side.
        let fixed = |name: usize, group: usize| code + name + group + columns * 3 + 1;
        while fixed(name, group) + DESCRIPTION_MIN > width {
            if name > NAME_MIN && (name >= group || group <= GROUP_MIN) {
                name -= 1;
            } else if group > GROUP_MIN {
                group -= 1;
            } else {
                break;
            }
        }
        let description = width
            .saturating_sub(fixed(name, group))
            .max(DESCRIPTION_MIN);
        Self {
            code,
            name,
            group,
            description,
        }
    }
}

/// The list table of the rows of one catalog.
fn list_table(rows: &[Entry], width: usize) -> Table {
    let layout = ListLayout::new(rows, width);
    let columns = |cells: [String; 4]| {
        let widths = [layout.code, layout.name, layout.group, layout.description];
        widths
            .into_iter()
            .zip(cells)
            .filter(|(w, _)| *w > 0)
            .map(|(w, cell)| wrap_text(&cell, w))
            .collect::<Vec<_>>()
    };
    let mut b = Builder::default();
    b.push_record(columns(
        ["Code", "Name", "Group", "Description"].map(str::to_owned),
    ));
    for e in rows {
        b.push_record(columns([
            code_cell(e),
            display_name(e),
            e.group().unwrap_or_default().to_owned(),
            e.description().unwrap_or_default().to_owned(),
        ]));
    }
    let mut table = b.build();
    table.with(Style::sharp());
    table
}

fn code_cell(e: &Entry) -> String {
    e.code().map(|c| c.to_string()).unwrap_or_default()
}

/// The name column: the name, and for a trunk row its qualifier (the two 500 rows differ
/// only by it).
fn display_name(e: &Entry) -> String {
    match e {
        Entry::Trunk(t) => match t.qualifier {
            Some(q) => format!("{} [{q}]", t.reason_phrase),
            None => t.reason_phrase.to_owned(),
        },
        _ => e.name().to_owned(),
    }
}

// ---- details ---------------------------------------------------------------------------------

fn write_details(out: &mut dyn Write, rows: &[Entry], width: usize) -> std::io::Result<()> {
    for (i, e) in rows.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        let code = e.code().map(|c| format!(" {c}")).unwrap_or_default();
        writeln!(out, "{}{code}  {}", e.catalog(), display_name(e))?;
        let fields = fields(*e);
        let key_w = fields.iter().map(|(k, _)| text_width(k)).max().unwrap_or(0);
        let value_w = width.saturating_sub(key_w + 7).max(DESCRIPTION_MIN);
        let mut b = Builder::default();
        for (field, value) in fields {
            b.push_record([field.to_owned(), wrap_text(&value, value_w)]);
        }
        let mut table = b.build();
        table.with(Style::sharp().remove_horizontals());
        writeln!(out, "{table}")?;
    }
    Ok(())
}

// ---- text ------------------------------------------------------------------------------------

/// Display width in terminal columns (wide characters count two).
fn text_width(s: &str) -> usize {
    get_text_width(s)
}

/// Wraps `text` to lines of at most `width` columns at spaces; a word wider than that is split
/// after `_` or `-` where possible, else anywhere. Existing line breaks are kept.
fn wrap_text(text: &str, width: usize) -> String {
    let width = width.max(1);
    let mut lines: Vec<String> = Vec::new();
    for paragraph in text.lines() {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            for piece in split_word(word, width) {
                let needed = text_width(&line) + usize::from(!line.is_empty()) + text_width(piece);
                if !line.is_empty() && needed > width {
                    lines.push(std::mem::take(&mut line));
                }
                if !line.is_empty() {
                    line.push(' ');
                }
                line.push_str(piece);
            }
        }
        lines.push(line);
    }
    lines.join("\n")
}

/// `word` in pieces of at most `width` columns (one piece if it fits).
fn split_word(word: &str, width: usize) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut rest = word;
    while text_width(rest) > width {
        let mut cut = 0;
        let mut soft = None;
        for (i, c) in rest.char_indices() {
            let end = i + c.len_utf8();
            if text_width(&rest[..end]) > width {
                break;
            }
            cut = end;
            if c == '_' || c == '-' {
                soft = Some(end);
            }
        }
        let at = soft
            .unwrap_or(cut)
            .max(rest.chars().next().map_or(1, char::len_utf8));
        pieces.push(&rest[..at]);
        rest = &rest[at..];
    }
    pieces.push(rest);
    pieces
}

type Fields = Vec<(&'static str, String)>;

/// Every field of a row, in display order, skipping empty ones.
fn fields(e: Entry) -> Fields {
    let mut f = match e {
        Entry::AaeEvent(ev) => event_fields(ev),
        Entry::AaeStatus(s) => status_fields(s),
        Entry::Trunk(t) => trunk_fields(t),
        Entry::IntercomError(c) => vec![
            ("Code", c.code.to_owned()),
            ("Example message", opt(c.example_message)),
            ("Comment", opt(c.comment)),
        ],
        Entry::SoftphoneCallback(c) => vec![
            ("Name", c.name.to_owned()),
            ("Module", c.module.to_owned()),
            ("Signature", c.signature.to_owned()),
            ("Trigger", c.trigger.to_owned()),
            ("SIP", opt(c.sip)),
            ("Key parameters", params(c.key_params)),
            ("Comment", opt(c.comment)),
        ],
        _ => vec![("Name", e.name().to_owned())],
    };
    if let Some(fault) = e.fault() {
        f.extend(fault_fields(fault));
    }
    f.retain(|(_, v)| !v.is_empty());
    f
}

fn event_fields(e: &AaeEvent) -> Fields {
    let aliases: Vec<&str> = e.aliases().collect();
    vec![
        ("Code", e.code.to_string()),
        ("Name", e.name.to_owned()),
        ("Also named", aliases.join(", ")),
        ("Description", e.description.to_owned()),
        ("As written", opt(e.description_as_written)),
        ("Since version", opt(e.since_version)),
        (
            "Category",
            format!("{} — {}", e.category, e.category.description()),
        ),
        (
            "Outcome",
            e.outcome.map(|o| o.to_string()).unwrap_or_default(),
        ),
        ("Comment", opt(e.comment)),
    ]
}

fn status_fields(s: &AaeStatus) -> Fields {
    let g = s.group;
    let heading = match g.heading_en {
        Some(en) => format!("{} / {en}, section {}", g.heading, g.section),
        None => format!("{}, section {}", g.heading, g.section),
    };
    vec![
        ("Code", s.code.to_string()),
        ("Name", s.name.to_owned()),
        ("Description", s.description.to_owned()),
        ("As written", opt(s.description_as_written)),
        ("Group", heading),
        ("Family", s.family.to_string()),
        ("Comment", opt(s.comment)),
    ]
}

fn trunk_fields(t: &TrunkError) -> Fields {
    vec![
        ("Code", t.code.to_string()),
        ("Reason phrase", t.reason_phrase.to_owned()),
        ("Qualifier", opt(t.qualifier)),
        ("As written", opt(t.as_written)),
        ("Row", format!("{} of the operator's table", t.order)),
        ("Meaning", t.meaning.to_owned()),
        ("Diagnostic hint", t.diagnostic_hint.to_owned()),
        (
            "Is an error",
            if t.is_error { "yes" } else { "no" }.to_owned(),
        ),
        ("Category", t.category.to_string()),
        ("Header", opt(t.header)),
        ("Related headers", t.related_headers.join(", ")),
        ("Original (uk)", t.original_uk.to_owned()),
        ("Comment", opt(t.comment)),
    ]
}

fn fault_fields(f: &Fault) -> Fields {
    let codes = f.codes.replace("<br>", ", ");
    let reports_label = if f.group == sim_catalog::FaultGroup::Trunk {
        "Observable"
    } else {
        "Correct endpoint reports"
    };
    let cause_label = if f.is_injected() {
        "Simulated cause"
    } else if f.group.is_simulable() {
        "Produced by"
    } else {
        "Not simulable"
    };
    vec![
        ("Fault group", f.group.label().to_owned()),
        (
            "Fault row",
            if shares_row(f) { codes } else { String::new() },
        ),
        ("Fault labels", opt(f.labels)),
        (
            "Normal trigger",
            if f.is_injected() {
                opt(f.normal_trigger)
            } else {
                String::new()
            },
        ),
        (cause_label, f.cause.to_owned()),
        (reports_label, opt(f.reports)),
    ]
}

/// Whether the `FAULTS.md` row describes more than one status code.
fn shares_row(f: &Fault) -> bool {
    sim_catalog::aae_statuses()
        .iter()
        .filter(|s| std::ptr::eq(s.fault(), f))
        .nth(1)
        .is_some()
}

fn params(ps: &[sim_catalog::Param]) -> String {
    let lines: Vec<String> = ps
        .iter()
        .map(|p| format!("{}: {}", p.name, p.doc))
        .collect();
    lines.join("\n")
}

fn opt(s: Option<&str>) -> String {
    s.unwrap_or_default().to_owned()
}

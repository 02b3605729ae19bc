//! The catalog-wide view: one [`Entry`] per code or name a user can look up, across the five
//! catalogs that have them, with lookup by number, by name and by group.

use crate::catalog::Catalog;
use crate::events::EventCategory;
use crate::events::{AaeEvent, aae_events};
use crate::fault::Fault;
use crate::intercom::{IntercomErrorCode, intercom_error_codes};
use crate::softphone::{SoftphoneCallback, softphone_callbacks};
use crate::status::{AaeStatus, aae_statuses, status_groups};
use crate::trunk::{TrunkCategory, TrunkError, trunk_errors};

/// A row of one of the code catalogs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Entry {
    /// An AAE SDK event.
    AaeEvent(&'static AaeEvent),
    /// An AAE SDK status code.
    AaeStatus(&'static AaeStatus),
    /// A row of the operator's trunk error table.
    Trunk(&'static TrunkError),
    /// An intercom API error code.
    IntercomError(&'static IntercomErrorCode),
    /// A softphone SDK callback.
    SoftphoneCallback(&'static SoftphoneCallback),
}

/// The code of an [`Entry`]: a number, or a string for the intercom's error codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Code {
    /// A numeric code (events, statuses, SIP status codes).
    Number(u32),
    /// A string code (`not_valid`).
    Text(&'static str),
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Number(n) => write!(f, "{n}"),
            Self::Text(t) => f.write_str(t),
        }
    }
}

impl Entry {
    /// The catalog the row belongs to.
    pub fn catalog(self) -> Catalog {
        match self {
            Self::AaeEvent(_) => Catalog::AaeEvents,
            Self::AaeStatus(_) => Catalog::AaeStatus,
            Self::Trunk(_) => Catalog::TrunkSipErrors,
            Self::IntercomError(_) => Catalog::IntercomSipSettings,
            Self::SoftphoneCallback(_) => Catalog::SoftphoneApi,
        }
    }

    /// The row's code; softphone callbacks have none.
    pub fn code(self) -> Option<Code> {
        match self {
            Self::AaeEvent(e) => Some(Code::Number(e.code)),
            Self::AaeStatus(s) => Some(Code::Number(s.code)),
            Self::Trunk(t) => Some(Code::Number(u32::from(t.code))),
            Self::IntercomError(c) => Some(Code::Text(c.code)),
            Self::SoftphoneCallback(_) => None,
        }
    }

    /// The row's name: the constant name, the trunk reason phrase, the intercom error code or
    /// the callback name.
    pub fn name(self) -> &'static str {
        match self {
            Self::AaeEvent(e) => e.name,
            Self::AaeStatus(s) => s.name,
            Self::Trunk(t) => t.reason_phrase,
            Self::IntercomError(c) => c.code,
            Self::SoftphoneCallback(c) => c.name,
        }
    }

    /// What the row means: the description, the trunk row's meaning, the intercom example
    /// message, or the callback's trigger.
    pub fn description(self) -> Option<&'static str> {
        match self {
            Self::AaeEvent(e) => Some(e.description),
            Self::AaeStatus(s) => Some(s.description),
            Self::Trunk(t) => Some(t.meaning),
            Self::IntercomError(c) => c.example_message,
            Self::SoftphoneCallback(c) => Some(c.trigger),
        }
    }

    /// The row's group: the event category, the status heading, the trunk category or the
    /// callback module. Intercom error codes have none.
    pub fn group(self) -> Option<&'static str> {
        match self {
            Self::AaeEvent(e) => Some(e.category.as_str()),
            Self::AaeStatus(s) => Some(s.group.heading),
            Self::Trunk(t) => Some(t.category.as_str()),
            Self::IntercomError(_) => None,
            Self::SoftphoneCallback(c) => Some(c.module),
        }
    }

    /// The `FAULTS.md` row that says how the simulator produces the code, for events, statuses
    /// and trunk rows.
    pub fn fault(self) -> Option<&'static Fault> {
        match self {
            Self::AaeEvent(e) => Some(e.fault()),
            Self::AaeStatus(s) => Some(s.fault()),
            Self::Trunk(t) => Some(t.fault()),
            Self::IntercomError(_) | Self::SoftphoneCallback(_) => None,
        }
    }

    /// Whether the row's code is the number `n`.
    pub fn has_number(self, n: u32) -> bool {
        self.code() == Some(Code::Number(n))
    }

    /// Whether `name` is the row's code name (ASCII case-insensitive; event aliases count).
    /// Trunk rows have no code name: look them up by number.
    pub fn is_named(self, name: &str) -> bool {
        match self {
            Self::AaeEvent(e) => e.is_named(name),
            Self::Trunk(_) => false,
            _ => self.name().eq_ignore_ascii_case(name),
        }
    }

    /// Whether the row belongs to the group `name` (ASCII case-insensitive): an event
    /// category, a status heading or its English form, a trunk category, a callback module.
    pub fn in_group(self, name: &str) -> bool {
        let name = name.trim();
        match self {
            Self::AaeStatus(s) => s.group.is_named(name),
            _ => self.group().is_some_and(|g| g.eq_ignore_ascii_case(name)),
        }
    }
}

/// Every row of the five code catalogs: events, statuses, trunk rows, intercom error codes,
/// softphone callbacks, each in document order.
pub fn entries() -> impl Iterator<Item = Entry> {
    let events = aae_events().iter().map(Entry::AaeEvent);
    let statuses = aae_statuses().iter().map(Entry::AaeStatus);
    let trunk = trunk_errors().iter().map(Entry::Trunk);
    let intercom = intercom_error_codes().iter().map(Entry::IntercomError);
    let softphone = softphone_callbacks().iter().map(Entry::SoftphoneCallback);
    events
        .chain(statuses)
        .chain(trunk)
        .chain(intercom)
        .chain(softphone)
}

/// The rows of one catalog (none for a catalog without codes).
pub fn entries_in(catalog: Catalog) -> impl Iterator<Item = Entry> {
    entries().filter(move |e| e.catalog() == catalog)
}

/// Every row whose code is the number `n`: one number may be in several catalogs (404 is an
/// AAE status and a trunk error; 500 is two trunk rows).
pub fn lookup_number(n: u32) -> impl Iterator<Item = Entry> {
    entries().filter(move |e| e.has_number(n))
}

/// Every row named `name` (ASCII case-insensitive exact match on code names, the intercom
/// error codes and callback names; the public-header alias of event 60002 counts).
pub fn lookup_name(name: &str) -> impl Iterator<Item = Entry> + '_ {
    entries().filter(move |e| e.is_named(name))
}

/// Looks up a query as typed: all digits is a number ([`lookup_number`]), anything else a name
/// ([`lookup_name`]). Surrounding whitespace is ignored.
pub fn lookup(query: &str) -> impl Iterator<Item = Entry> + '_ {
    let query = query.trim();
    let number = is_number(query).then(|| query.parse::<u32>().ok());
    entries().filter(move |e| match number {
        Some(n) => n.is_some_and(|n| e.has_number(n)),
        None => e.is_named(query),
    })
}

/// The group names `--group` accepts for `catalog`, in document order without repeats
/// (status headings, the English form of the Chinese heading, event and trunk categories,
/// the callback modules that hold a detailed callback).
pub fn group_names(catalog: Catalog) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = match catalog {
        Catalog::AaeEvents => EventCategory::ALL.iter().map(|c| c.as_str()).collect(),
        Catalog::AaeStatus => status_groups()
            .iter()
            .flat_map(|g| {
                let short = g
                    .heading_en
                    .and_then(|h| h.split_once(" (").map(|(s, _)| s));
                [Some(g.heading), short]
            })
            .flatten()
            .collect(),
        Catalog::TrunkSipErrors => TrunkCategory::ALL.iter().map(|c| c.as_str()).collect(),
        Catalog::SoftphoneApi => crate::softphone::callback_modules()
            .iter()
            .copied()
            .filter(|m| softphone_callbacks().iter().any(|c| c.module == *m))
            .collect(),
        _ => Vec::new(),
    };
    let mut seen = Vec::with_capacity(names.len());
    names.retain(|n| {
        let new = !seen.contains(n);
        seen.push(*n);
        new
    });
    names
}

/// Rows whose name or number is close to `query`, best first, at most `limit`: for a mistyped
/// name (`PJNATH_EICEFAILD`), a partial one (`EICEFAILED`) or a number one digit off (nearest
/// value first).
pub fn suggestions(query: &str, limit: usize) -> Vec<Entry> {
    let query = query.trim();
    let q = query.to_ascii_lowercase();
    let numeric = is_number(query);
    let mut scored: Vec<(usize, usize, Entry)> = entries()
        .enumerate()
        .filter_map(|(i, e)| closeness(&q, numeric, e).map(|d| (d, i, e)))
        .collect();
    scored.sort_by_key(|(d, i, _)| (*d, *i));
    scored.dedup_by_key(|(_, _, e)| (e.catalog(), e.name(), e.code()));
    scored.into_iter().take(limit).map(|(_, _, e)| e).collect()
}

/// How far `e` is from the lower-cased query, if close enough to suggest (smaller is closer).
/// Numbers: one digit off, nearest value first. Names: a few edits off, or containing the query.
fn closeness(q: &str, numeric: bool, e: Entry) -> Option<usize> {
    if numeric {
        let Some(Code::Number(code)) = e.code() else {
            return None;
        };
        let wanted: u64 = q.parse().ok()?;
        let off = u64::from(code).abs_diff(wanted);
        return (edit_distance(q, &code.to_string()) <= 1)
            .then(|| usize::try_from(off).unwrap_or(usize::MAX));
    }
    if matches!(e, Entry::Trunk(_)) || q.is_empty() {
        return None;
    }
    let name = e.name().to_ascii_lowercase();
    let d = edit_distance(q, &name);
    if d <= (q.chars().count() / 4).max(2) {
        Some(d)
    } else if q.chars().count() >= 4 && name.contains(q) {
        Some(d.max(3))
    } else {
        None
    }
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Levenshtein distance over chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diag = row.first().copied().unwrap_or(0);
        if let Some(first) = row.first_mut() {
            *first = i + 1;
        }
        for (j, cb) in b.iter().enumerate() {
            let above = row.get(j + 1).copied().unwrap_or(0);
            let left = row.get(j).copied().unwrap_or(0);
            let cost = diag + usize::from(ca != *cb);
            diag = above;
            if let Some(cell) = row.get_mut(j + 1) {
                *cell = cost.min(above + 1).min(left + 1);
            }
        }
    }
    row.last().copied().unwrap_or(0)
}

#[cfg(test)]
mod tests;

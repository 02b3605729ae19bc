//! `natlab shrink`: the smallest scenario whose expectation still fails the same way.
//!
//! Delta debugging (Zeller's ddmin) over the scenario's *elements*: every timeline entry (actions
//! and packet faults), every NAT, server and endpoint, the topology defaults and every
//! element's own `link`. A candidate keeps a subset of them. Removing an element also drops what
//! refers to it: after a removal the candidate is validated, and timeline entries and topology
//! elements that no longer validate (they named the removed element) are dropped too, for a few
//! rounds; a candidate whose expectation no longer validates, or that does not settle, is skipped
//! as invalid.
//!
//! Only the target expectation is kept (the others say nothing about this failure). A candidate
//! *fails the same way* when that expectation fails with the same observation text as in the
//! original run (`observed: 2 received`). Every candidate is one simulation in this process,
//! under the scenario's seed (or `--seed`), so the search is deterministic.

use crate::args::ShrinkArgs;
use crate::exit::{Exit, ExpectedError};
use serde_json::Value;
use sim_report::ExpectationResult;
use sim_scenario::Scenario;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::PathBuf;

/// Validation rounds that may drop what referred to a removed element.
const CASCADE_ROUNDS: usize = 6;

/// The topology lists whose items are elements.
const ELEMENT_LISTS: [(&str, &str); 3] = [
    ("nats", "NAT"),
    ("servers", "server"),
    ("endpoints", "endpoint"),
];

pub(crate) fn run(args: &ShrinkArgs, out: &mut dyn Write) -> Result<Exit, ExpectedError> {
    let file = args.scenario.display().to_string();
    let text = std::fs::read_to_string(&args.scenario).map_err(|source| ExpectedError::Read {
        path: args.scenario.clone(),
        source,
    })?;
    let raw = sim_scenario::decode_str(&file, &text)
        .map_err(|d| ExpectedError::Invalid(format!("invalid scenario:\n{}", d.render())))?;
    let mut value =
        serde_json::to_value(&raw).map_err(|e| ExpectedError::Invalid(e.to_string()))?;
    if let Some(seed) = args.seed {
        value["seed"] = seed.into();
    }
    let yaml = to_yaml(&value)
        .ok_or_else(|| ExpectedError::Invalid("the scenario cannot be written back".into()))?;
    let original = sim_scenario::from_str(&file, &yaml)
        .map_err(|d| ExpectedError::Invalid(format!("invalid scenario:\n{}", d.render())))?;
    let results = simulate(&original).map_err(ExpectedError::Invalid)?;
    let target = pick(args.expect, &results)?;
    let failure = results[target].clone();

    // Only the target expectation stays.
    let expectations = value["expect"].as_array().cloned().unwrap_or_default();
    let dropped_expectations = expectations.len().saturating_sub(1);
    value["expect"] = Value::Array(vec![expectations[target].clone()]);
    let description = format!(
        "Shrunk by natlab shrink from {file}: expectation {target} ({}) still fails: {}; \
         observed: {}",
        failure.kind, failure.text, failure.observed
    );
    set_description(&mut value, description);
    let units = units(&value);
    let mut search = Search {
        file: &file,
        base: value,
        units: &units,
        observed: failure.observed.clone(),
        cache: BTreeMap::new(),
        runs: 1,
        invalid: 0,
    };
    let all: Vec<usize> = (0..units.len()).collect();
    if !search.fails_same_way(&all) {
        return Err(ExpectedError::Invalid(format!(
            "with only expectation {target} kept, the scenario no longer fails the same way \
             (expectations interact); nothing was shrunk"
        )));
    }
    let kept = ddmin(all, |kept| search.fails_same_way(kept));
    let Some(minimal) = search.candidate(&kept) else {
        return Err(ExpectedError::Invalid(
            "the minimal candidate vanished".into(),
        ));
    };
    write_result(args, &minimal.text, out)?;
    report(&ReportInput {
        target: &failure,
        units: &units,
        kept: &kept,
        cascaded: &minimal.cascaded,
        dropped_expectations,
        runs: search.runs,
        invalid: search.invalid,
        out: args.out.as_ref(),
    });
    Ok(Exit::Ok)
}

/// The expectation to keep failing: `--expect N`, or the first that fails.
fn pick(expect: Option<usize>, results: &[ExpectationResult]) -> Result<usize, ExpectedError> {
    match expect {
        Some(n) => match results.get(n) {
            None => Err(ExpectedError::Invalid(format!(
                "--expect {n}: the scenario has {} expectations (numbered from 0, as in its report)",
                results.len()
            ))),
            Some(r) if r.passed => Err(ExpectedError::NothingToDo(format!(
                "expectation {n} ({}) passes: {}; observed: {}; nothing to shrink",
                r.kind, r.text, r.observed
            ))),
            Some(_) => Ok(n),
        },
        None => results.iter().position(|r| !r.passed).ok_or_else(|| {
            ExpectedError::NothingToDo("every expectation passes; nothing to shrink".into())
        }),
    }
}

/// One removable element: its place in the scenario and how to name it.
#[derive(Clone, Debug)]
struct Unit {
    path: Vec<Seg>,
    label: String,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Seg {
    Key(String),
    Index(usize),
}

/// The elements of a scenario, in file order: topology defaults, NATs, servers, endpoints (each
/// followed by its own link, if set), then the timeline.
fn units(value: &Value) -> Vec<Unit> {
    let key = |k: &str| Seg::Key(k.to_owned());
    let mut units = Vec::new();
    let topology = &value["topology"];
    if !topology["defaults"].is_null() {
        units.push(Unit {
            path: vec![key("topology"), key("defaults")],
            label: "the topology defaults".into(),
        });
    }
    for (list, what) in ELEMENT_LISTS {
        for (i, item) in topology[list].as_array().into_iter().flatten().enumerate() {
            let name = item["name"].as_str().unwrap_or("?");
            let path = vec![key("topology"), key(list), Seg::Index(i)];
            units.push(Unit {
                path: path.clone(),
                label: format!("{what} {name}"),
            });
            if !item["link"].is_null() {
                let mut link = path;
                link.push(key("link"));
                units.push(Unit {
                    path: link,
                    label: format!("the link settings of {name}"),
                });
            }
        }
    }
    for (i, entry) in value["timeline"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        units.push(Unit {
            path: vec![key("timeline"), Seg::Index(i)],
            label: format!("timeline[{i}] ({})", describe_entry(entry)),
        });
    }
    units
}

/// `at 2s: partition alice/proxy`.
fn describe_entry(entry: &Value) -> String {
    let at = entry["at"].as_str().unwrap_or("?");
    let Some((action, fields)) = entry
        .as_object()
        .and_then(|m| m.iter().find(|(k, _)| k.as_str() != "at"))
    else {
        return format!("at {at}");
    };
    let mut names: Vec<String> = Vec::new();
    if let Some(m) = fields.as_object() {
        for k in [
            "from", "to", "endpoint", "node", "link", "nat", "server", "name", "between",
        ] {
            match m.get(k) {
                Some(Value::String(s)) => names.push(s.clone()),
                Some(Value::Array(a)) => {
                    names.extend(a.iter().filter_map(|v| v.as_str().map(str::to_owned)))
                }
                _ => {}
            }
        }
    }
    if names.is_empty() {
        format!("at {at}: {action}")
    } else {
        format!("at {at}: {action} {}", names.join(" "))
    }
}

/// A candidate that validates: its YAML and what the cascade dropped.
#[derive(Debug)]
struct Candidate {
    text: String,
    scenario: Scenario,
    /// Labels of what was dropped because it referred to a removed element.
    cascaded: Vec<String>,
}

struct Search<'a> {
    file: &'a str,
    base: Value,
    units: &'a [Unit],
    observed: String,
    /// Kept set → fails the same way.
    cache: BTreeMap<Vec<usize>, bool>,
    /// Simulations run (the original's included).
    runs: usize,
    /// Candidates skipped because they did not validate.
    invalid: usize,
}

impl Search<'_> {
    /// Whether the scenario with only the `kept` units fails the same way.
    fn fails_same_way(&mut self, kept: &[usize]) -> bool {
        if let Some(&known) = self.cache.get(kept) {
            return known;
        }
        let verdict = match self.candidate(kept) {
            None => {
                self.invalid += 1;
                false
            }
            Some(c) => {
                self.runs += 1;
                simulate(&c.scenario).is_ok_and(|r| {
                    r.first()
                        .is_some_and(|e| !e.passed && e.observed == self.observed)
                })
            }
        };
        self.cache.insert(kept.to_vec(), verdict);
        verdict
    }

    /// The scenario with only the `kept` units, and what referred to the others dropped too;
    /// `None` when it does not validate.
    fn candidate(&self, kept: &[usize]) -> Option<Candidate> {
        let kept: BTreeSet<usize> = kept.iter().copied().collect();
        let removed: Vec<&Unit> = (0..self.units.len())
            .filter(|i| !kept.contains(i))
            .map(|i| &self.units[i])
            .collect();
        let mut value = self.base.clone();
        remove(&mut value, removed.iter().map(|u| u.path.clone()).collect());
        let mut cascaded = Vec::new();
        for _ in 0..CASCADE_ROUNDS {
            match load(self.file, &value) {
                Ok(scenario) => {
                    return Some(Candidate {
                        text: to_yaml(&value)?,
                        scenario,
                        cascaded,
                    });
                }
                Err(paths) => {
                    let paths = error_elements(&paths)?;
                    for path in &paths {
                        cascaded.push(label_at(&value, path));
                    }
                    remove(&mut value, paths);
                }
            }
        }
        None
    }
}

/// Removes the values at `paths` (keys first, then sequence items from the last).
fn remove(value: &mut Value, mut paths: Vec<Vec<Seg>>) {
    paths.sort();
    paths.dedup();
    // Keys before items, and items in descending order so that indices stay right.
    paths.sort_by(|a, b| {
        let key = |p: &Vec<Seg>| matches!(p.last(), Some(Seg::Key(_)));
        key(b).cmp(&key(a)).then_with(|| b.cmp(a))
    });
    for path in paths {
        let Some((last, parent)) = path.split_last() else {
            continue;
        };
        let Some(node) = at_mut(value, parent) else {
            continue;
        };
        match (last, node) {
            (Seg::Key(k), Value::Object(m)) => {
                m.shift_remove(k);
            }
            (Seg::Index(i), Value::Array(a)) if *i < a.len() => {
                a.remove(*i);
            }
            _ => {}
        }
    }
}

fn at_mut<'v>(value: &'v mut Value, path: &[Seg]) -> Option<&'v mut Value> {
    let mut node = value;
    for seg in path {
        node = match seg {
            Seg::Key(k) => node.get_mut(k.as_str())?,
            Seg::Index(i) => node.get_mut(*i)?,
        };
    }
    Some(node)
}

/// The elements the error paths lie in (`timeline[3]`, `topology.endpoints[1]`), or `None` when
/// an error lies elsewhere (the expectation, the scenario's own fields).
fn error_elements(paths: &[String]) -> Option<Vec<Vec<Seg>>> {
    let key = |k: &str| Seg::Key(k.to_owned());
    let index =
        |rest: &str| -> Option<usize> { rest.strip_prefix('[')?.split(']').next()?.parse().ok() };
    let mut out = Vec::new();
    for path in paths {
        if let Some(rest) = path.strip_prefix("timeline") {
            out.push(vec![key("timeline"), Seg::Index(index(rest)?)]);
            continue;
        }
        let (list, rest) = ELEMENT_LISTS
            .iter()
            .find_map(|(list, _)| Some((*list, path.strip_prefix(&format!("topology.{list}"))?)))?;
        out.push(vec![key("topology"), key(list), Seg::Index(index(rest)?)]);
    }
    Some(out)
}

fn label_at(value: &Value, path: &[Seg]) -> String {
    let mut node = value;
    for seg in path {
        node = match seg {
            Seg::Key(k) => &node[k.as_str()],
            Seg::Index(i) => &node[*i],
        };
    }
    match path.first() {
        Some(Seg::Key(k)) if k == "timeline" => describe_entry(node),
        _ => node["name"].as_str().unwrap_or("?").to_owned(),
    }
}

/// Puts `description` right after the name.
fn set_description(value: &mut Value, description: String) {
    if let Value::Object(map) = value {
        let mut ordered = serde_json::Map::new();
        for (k, v) in std::mem::take(map) {
            if k == "description" {
                continue;
            }
            let after_name = k == "name";
            ordered.insert(k, v);
            if after_name {
                ordered.insert("description".into(), Value::String(description.clone()));
            }
        }
        *map = ordered;
    }
}

/// The YAML of a candidate, without the lists shrinking emptied.
fn to_yaml(value: &Value) -> Option<String> {
    let mut value = value.clone();
    let empty = |v: &Value| v.as_array().is_some_and(Vec::is_empty);
    if let Some(topology) = value.get_mut("topology").and_then(Value::as_object_mut) {
        topology.retain(|_, v| !empty(v));
    }
    if let Some(map) = value.as_object_mut() {
        map.retain(|k, v| k == "topology" || !empty(v));
    }
    let mut text = serde_saphyr::to_string(&value).ok()?;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Some(text)
}

/// Loads a candidate through the real loader and validation; on errors, their YAML paths.
fn load(file: &str, value: &Value) -> Result<Scenario, Vec<String>> {
    let text = to_yaml(value).ok_or_else(Vec::new)?;
    sim_scenario::from_str(file, &text).map_err(|d| {
        d.iter()
            .filter(|d| d.is_error())
            .map(|d| d.path.as_str().to_owned())
            .collect()
    })
}

/// Runs a scenario in this process, without capture or event log; its expectation results.
fn simulate(scenario: &Scenario) -> Result<Vec<ExpectationResult>, String> {
    let outputs = sim_world::scenario::Outputs {
        capture: None,
        events: None,
    };
    let spec = sim_world::scenario::plan(scenario, outputs).map_err(|e| e.to_string())?;
    let output = sim_world::run(&spec).map_err(|e| e.to_string())?;
    Ok(sim_world::scenario::evaluate(scenario, &output).results)
}

/// Delta debugging: a smallest subset of `units` (1-minimal: removing any one more unit makes
/// `fails` false) for which `fails` holds, given that it holds for all of them.
fn ddmin(mut units: Vec<usize>, mut fails: impl FnMut(&[usize]) -> bool) -> Vec<usize> {
    let mut n = 2usize;
    while units.len() >= 2 {
        let size = units.len().div_ceil(n);
        let chunks: Vec<Vec<usize>> = units.chunks(size).map(<[usize]>::to_vec).collect();
        let mut reduced = false;
        for chunk in &chunks {
            if fails(chunk) {
                units.clone_from(chunk);
                n = 2;
                reduced = true;
                break;
            }
        }
        if !reduced && chunks.len() > 2 {
            for i in 0..chunks.len() {
                let complement: Vec<usize> = chunks
                    .iter()
                    .enumerate()
                    .filter(|&(j, _)| j != i)
                    .flat_map(|(_, c)| c.iter().copied())
                    .collect();
                if fails(&complement) {
                    units = complement;
                    n = (n - 1).max(2);
                    reduced = true;
                    break;
                }
            }
        }
        if !reduced {
            if n >= units.len() {
                break;
            }
            n = (n * 2).min(units.len());
        }
    }
    if units.len() == 1 && fails(&[]) {
        units.clear();
    }
    units
}

fn write_result(args: &ShrinkArgs, text: &str, out: &mut dyn Write) -> Result<(), ExpectedError> {
    match &args.out {
        Some(path) => std::fs::write(path, text).map_err(|source| ExpectedError::Write {
            path: path.clone(),
            source,
        }),
        None => out
            .write_all(text.as_bytes())
            .map_err(|source| ExpectedError::Write {
                path: PathBuf::from("<stdout>"),
                source,
            }),
    }
}

struct ReportInput<'a> {
    target: &'a ExpectationResult,
    units: &'a [Unit],
    kept: &'a [usize],
    cascaded: &'a [String],
    dropped_expectations: usize,
    runs: usize,
    invalid: usize,
    out: Option<&'a PathBuf>,
}

/// What shrinking did, on standard error.
fn report(r: &ReportInput<'_>) {
    let kept: BTreeSet<usize> = r.kept.iter().copied().collect();
    let mut text = format!(
        "shrink: expectation {} ({}) fails: {}; observed: {}\n",
        r.target.index, r.target.kind, r.target.text, r.target.observed
    );
    let removed: Vec<&str> = (0..r.units.len())
        .filter(|i| !kept.contains(i))
        .map(|i| r.units[i].label.as_str())
        .collect();
    text.push_str(&format!(
        "removed {} of {} elements:\n",
        removed.len(),
        r.units.len()
    ));
    for label in &removed {
        text.push_str(&format!("  - {label}\n"));
    }
    if !r.cascaded.is_empty() {
        text.push_str("also dropped, as they referred to removed elements:\n");
        for label in r.cascaded {
            text.push_str(&format!("  - {label}\n"));
        }
    }
    text.push_str("kept:\n");
    for &i in r.kept {
        text.push_str(&format!("  - {}\n", r.units[i].label));
    }
    if r.dropped_expectations > 0 {
        text.push_str(&format!(
            "dropped the {} other expectation(s)\n",
            r.dropped_expectations
        ));
    }
    text.push_str(&format!(
        "{} simulation runs ({} candidates skipped as invalid){}\n",
        r.runs,
        r.invalid,
        r.out
            .map(|p| format!("; wrote {}", p.display()))
            .unwrap_or_default()
    ));
    let _ = std::io::stderr().write_all(text.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shrink_ddmin_finds_the_units_that_matter() {
        let mut calls = 0;
        let kept = ddmin((0..24).collect(), |kept| {
            calls += 1;
            [3, 17, 20].iter().all(|u| kept.contains(u))
        });
        assert_eq!(kept, [3, 17, 20]);
        assert!(calls < 24 * 24, "{calls} tests");
    }

    #[test]
    fn shrink_ddmin_keeps_nothing_when_nothing_matters() {
        assert_eq!(ddmin((0..5).collect(), |_| true), Vec::<usize>::new());
        assert_eq!(ddmin(vec![7], |k| k.contains(&7)), [7]);
    }

    #[test]
    fn shrink_remove_drops_keys_before_items_and_keeps_indices_right() {
        let mut v = serde_json::json!({"t": [0, 1, 2, 3], "o": [{"link": 1, "n": 2}, {"n": 3}]});
        let key = |k: &str| Seg::Key(k.to_owned());
        remove(
            &mut v,
            vec![
                vec![key("t"), Seg::Index(1)],
                vec![key("t"), Seg::Index(3)],
                vec![key("o"), Seg::Index(0), key("link")],
                vec![key("o"), Seg::Index(1)],
            ],
        );
        assert_eq!(v, serde_json::json!({"t": [0, 2], "o": [{"n": 2}]}));
    }

    #[test]
    fn shrink_error_paths_name_their_elements_or_refuse() {
        let paths = |p: &[&str]| p.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let found = error_elements(&paths(&[
            "timeline[4].send.to",
            "topology.endpoints[2].behind",
        ]));
        assert_eq!(
            found,
            Some(vec![
                vec![Seg::Key("timeline".into()), Seg::Index(4)],
                vec![
                    Seg::Key("topology".into()),
                    Seg::Key("endpoints".into()),
                    Seg::Index(2)
                ],
            ])
        );
        assert_eq!(
            error_elements(&paths(&["expect[0].received.endpoint"])),
            None
        );
    }
}

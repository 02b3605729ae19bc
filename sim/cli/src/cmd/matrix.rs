//! `natlab matrix`: the NAT traversal matrix. One generated scenario per cell (two ICE agents,
//! each behind its own NAT of the row's and the column's type, a STUN server and optionally a
//! TURN server), run in parallel; the cell is what the agents' `connected` or `failed` events say.

use crate::args::{MatrixArgs, MatrixFormat, MatrixTable};
use crate::exit::{Exit, ExpectedError};
use serde::Serialize;
use sim_world::nodes::NodeEvent;
use std::fmt::Write as _;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Version of the JSON output.
const SCHEMA_VERSION: u32 = 1;

/// Simulated length of one cell: long enough for gathering (7.9 s STUN timeout) and for the
/// checks to fail (370082) or nomination to time out.
const CELL_DURATION: &str = "40s";

/// What one side of a cell is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    /// On the public network, no NAT.
    Open,
    /// Behind a NAT with these RFC 4787 behaviours.
    Nat {
        mapping: Behaviour,
        filtering: Behaviour,
    },
    /// Behind a NAT that is cut off from everything from the start (no UDP at all).
    Blocked,
    /// Not expressible in the scenario language.
    Unsupported(&'static str),
    /// The column of the same-NAT table: the row's NAT is shared by both agents, each on its
    /// own home NAT's LAN below it, with or without hairpinning.
    SameNat { hairpin: bool },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Behaviour {
    Eif,
    Adf,
    Apdf,
}

impl Behaviour {
    const ALL: [Self; 3] = [Self::Eif, Self::Adf, Self::Apdf];

    const fn yaml(self) -> &'static str {
        match self {
            Self::Eif => "endpoint-independent",
            Self::Adf => "address-dependent",
            Self::Apdf => "address-and-port-dependent",
        }
    }

    const fn mapping_name(self) -> &'static str {
        match self {
            Self::Eif => "eim",
            Self::Adf => "adm",
            Self::Apdf => "apdm",
        }
    }

    const fn filtering_name(self) -> &'static str {
        match self {
            Self::Eif => "eif",
            Self::Adf => "adf",
            Self::Apdf => "apdf",
        }
    }
}

const SYMMETRIC_UDP_NA: &str = "a symmetric UDP firewall (public address, no translation, \
    address-and-port-dependent filtering) cannot be written in the scenario language: a NAT \
    always translates and an endpoint on the public network is unfiltered";

/// The columns of one table: name and side.
fn columns(table: MatrixTable) -> Vec<(String, Side)> {
    match table {
        MatrixTable::SameNat => vec![
            ("hairpin".into(), Side::SameNat { hairpin: true }),
            ("no-hairpin".into(), Side::SameNat { hairpin: false }),
        ],
        _ => types(table),
    }
}

/// The rows of one table: name and side.
fn types(table: MatrixTable) -> Vec<(String, Side)> {
    let nat = |mapping, filtering| Side::Nat { mapping, filtering };
    match table {
        MatrixTable::SameNat => vec![
            ("full_cone".into(), nat(Behaviour::Eif, Behaviour::Eif)),
            ("restricted".into(), nat(Behaviour::Eif, Behaviour::Adf)),
            (
                "port_restricted".into(),
                nat(Behaviour::Eif, Behaviour::Apdf),
            ),
            ("symmetric".into(), nat(Behaviour::Apdf, Behaviour::Apdf)),
        ],
        MatrixTable::Classic => {
            vec![
                ("open".into(), Side::Open),
                ("full_cone".into(), nat(Behaviour::Eif, Behaviour::Eif)),
                ("restricted".into(), nat(Behaviour::Eif, Behaviour::Adf)),
                (
                    "port_restricted".into(),
                    nat(Behaviour::Eif, Behaviour::Apdf),
                ),
                ("symmetric_udp".into(), Side::Unsupported(SYMMETRIC_UDP_NA)),
                ("symmetric".into(), nat(Behaviour::Apdf, Behaviour::Apdf)),
                ("blocked".into(), Side::Blocked),
            ]
        }
        MatrixTable::Rfc4787 => Behaviour::ALL
            .iter()
            .flat_map(|&m| {
                Behaviour::ALL.iter().map(move |&f| {
                    (
                        format!("{}-{}", m.mapping_name(), f.filtering_name()),
                        Side::Nat {
                            mapping: m,
                            filtering: f,
                        },
                    )
                })
            })
            .collect(),
    }
}

/// One cell's result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct Cell {
    /// The table it belongs to (`classic`, `rfc4787` or `same-nat`).
    table: MatrixTable,
    /// Row type (the controlling agent's side; in `same-nat`, the shared NAT).
    a: String,
    /// Column type (the controlled agent's side; in `same-nat`, `hairpin` or `no-hairpin`).
    b: String,
    /// Whether both agents had a TURN server.
    turn: bool,
    /// `host`, `srflx`, `prflx`, `relay`, `failed` or `n/a`.
    outcome: String,
    /// Simulated time until both agents reported `connected`, in ms.
    time_ms: Option<u64>,
    /// Why the cell failed or could not be run.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

#[derive(Debug, Serialize)]
struct Output<'a> {
    schema_version: u32,
    cells: &'a [Cell],
}

struct Job {
    table: MatrixTable,
    a: (String, Side),
    b: (String, Side),
    turn: bool,
}

pub(crate) fn run(args: &MatrixArgs, out: &mut dyn Write) -> Result<Exit, ExpectedError> {
    let tables = args.table.map_or_else(
        || {
            vec![
                MatrixTable::Classic,
                MatrixTable::Rfc4787,
                MatrixTable::SameNat,
            ]
        },
        |t| vec![t],
    );
    let turns: &[bool] = if args.turn { &[true] } else { &[false] };
    let mut jobs = Vec::new();
    for &table in &tables {
        let (rows, cols) = (types(table), columns(table));
        for &turn in turns {
            for a in &rows {
                for b in &cols {
                    jobs.push(Job {
                        table,
                        a: a.clone(),
                        b: b.clone(),
                        turn,
                    });
                }
            }
        }
    }
    let cells = run_all(&jobs)?;
    let text = match args.format {
        MatrixFormat::Table => table_text(&cells),
        MatrixFormat::Markdown => markdown(&cells, &tables, turns),
        MatrixFormat::Json => {
            let mut s = serde_json::to_string_pretty(&Output {
                schema_version: SCHEMA_VERSION,
                cells: &cells,
            })
            .map_err(|e| ExpectedError::Invalid(e.to_string()))?;
            s.push('\n');
            s
        }
    };
    out.write_all(text.as_bytes())
        .map_err(|source| ExpectedError::Write {
            path: PathBuf::from("<stdout>"),
            source,
        })?;
    Ok(Exit::Ok)
}

/// Runs every cell on as many workers as the machine has cores, results in job order.
fn run_all(jobs: &[Job]) -> Result<Vec<Cell>, ExpectedError> {
    let workers = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(jobs.len().max(1));
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<Cell, String>>>> =
        Mutex::new(std::iter::repeat_with(|| None).take(jobs.len()).collect());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(job) = jobs.get(i) else { break };
                    let cell = run_cell(job);
                    if let Ok(mut all) = results.lock() {
                        all[i] = Some(cell);
                    }
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err("the cell did not run".into())))
        .collect::<Result<Vec<_>, _>>()
        .map_err(ExpectedError::Invalid)
}

fn run_cell(job: &Job) -> Result<Cell, String> {
    let cell = |outcome: &str, time_ms, reason| Cell {
        table: job.table,
        a: job.a.0.clone(),
        b: job.b.0.clone(),
        turn: job.turn,
        outcome: outcome.into(),
        time_ms,
        reason,
    };
    for side in [job.a.1, job.b.1] {
        if let Side::Unsupported(why) = side {
            return Ok(cell("n/a", None, Some(why.into())));
        }
    }
    let name = format!(
        "matrix-{}-{}{}",
        job.a.0,
        job.b.0,
        if job.turn { "-turn" } else { "" }
    );
    let text = scenario_yaml(&name, job.a.1, job.b.1, job.turn);
    let scenario = sim_scenario::from_str(&name, &text)
        .map_err(|d| format!("generated scenario {name} is invalid:\n{}", d.render()))?;
    let mut spec = sim_world::scenario::plan(&scenario, sim_world::scenario::Outputs::default())
        .map_err(|e| format!("{name}: {e}"))?;
    spec.keep_log = Some(None);
    let output = sim_world::run(&spec).map_err(|e| format!("{name}: {e}"))?;
    let agent = |n: &str| output.node_names.iter().position(|x| x == n);
    let (Some(ia), Some(ib)) = (agent("a"), agent("b")) else {
        return Err(format!("{name}: the agents are missing from the run"));
    };
    let mut connected: [Option<(u64, String)>; 2] = [None, None];
    let mut failed: [Option<String>; 2] = [None, None];
    for entry in &output.log {
        let NodeEvent::Log(event) = &entry.observation else {
            continue;
        };
        let Ok(node) = usize::try_from(entry.node.0) else {
            continue;
        };
        let who = if node == ia {
            0
        } else if node == ib {
            1
        } else {
            continue;
        };
        let detail = event.detail.clone().unwrap_or_default();
        match event.name.as_ref() {
            "connected" if connected[who].is_none() => {
                connected[who] = Some((entry.time.as_micros() / 1000, detail));
            }
            "failed" if failed[who].is_none() => {
                let status = event.status.map(|s| format!("{s} ")).unwrap_or_default();
                failed[who] = Some(format!("{}: {status}{detail}", ["a", "b"][who]));
            }
            _ => {}
        }
    }
    Ok(match (&connected[0], &connected[1]) {
        (Some((ta, detail)), Some((tb, _))) => cell(&pair_outcome(detail), Some(*ta.max(tb)), None),
        _ => {
            let reason = failed
                .iter()
                .flatten()
                .cloned()
                .collect::<Vec<_>>()
                .join("; ");
            let reason = if reason.is_empty() {
                format!("no agent connected within {CELL_DURATION}")
            } else {
                reason
            };
            cell("failed", None, Some(reason))
        }
    })
}

/// The outcome of a selected pair from the `connected` detail
/// (`local srflx 198.51.100.1:4000 (base …) <-> remote prflx …`): `relay` when either side is
/// relayed, otherwise the remote candidate's type.
fn pair_outcome(detail: &str) -> String {
    let kind = |prefix: &str| {
        detail
            .split(prefix)
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or("?")
            .to_owned()
    };
    let (local, remote) = (kind("local "), kind("remote "));
    if local == "relay" || remote == "relay" {
        "relay".into()
    } else {
        remote
    }
}

/// The scenario of one cell: `a` (controlling) on side 1, `b` (controlled) on side 2.
fn scenario_yaml(name: &str, a: Side, b: Side, turn: bool) -> String {
    if let (Side::Nat { mapping, filtering }, Side::SameNat { hairpin }) = (a, b) {
        return same_nat_yaml(name, mapping, filtering, hairpin, turn);
    }
    let mut nats = String::new();
    let mut endpoints = String::new();
    let mut timeline = String::new();
    let turn_cfg = if turn { TURN_CLIENT } else { "" };
    for (i, (agent, side, role, peer)) in
        [("a", a, "controlling", "b"), ("b", b, "controlled", "a")]
            .into_iter()
            .enumerate()
    {
        let n = i + 1;
        let nat = format!("n{n}");
        let place = match side {
            Side::Open => format!("address: 198.51.100.{n}"),
            Side::Nat { mapping, filtering } => {
                let _ = writeln!(
                    nats,
                    "    - {{name: {nat}, mapping: {}, filtering: {}, public: [198.51.100.{n}], lan: 10.0.{n}.0/24}}",
                    mapping.yaml(),
                    filtering.yaml()
                );
                format!("behind: {nat}, address: 10.0.{n}.2")
            }
            Side::Blocked | Side::Unsupported(_) | Side::SameNat { .. } => {
                let _ = writeln!(
                    nats,
                    "    - {{name: {nat}, preset: port-restricted-cone, public: [198.51.100.{n}], lan: 10.0.{n}.0/24}}"
                );
                let _ = writeln!(timeline, "  - {{at: 0s, isolate: {{node: {nat}}}}}");
                format!("behind: {nat}, address: 10.0.{n}.2")
            }
        };
        let _ = writeln!(
            endpoints,
            "    - {{name: {agent}, kind: ice-agent, {place}, role: {role}, peer: {peer}, stun_servers: [stun1]{turn_cfg}}}"
        );
    }
    let nats = if nats.is_empty() {
        "  nats: []\n".to_owned()
    } else {
        format!("  nats:\n{nats}")
    };
    let timeline = if timeline.is_empty() {
        String::new()
    } else {
        format!("timeline:\n{timeline}")
    };
    document(name, &nats, &endpoints, &timeline, turn)
}

const TURN_SERVER: &str = "    - {name: relay, kind: turn, address: 203.0.113.30, realm: natlab, \
    transports: [udp], accounts: [{user: ice, password: ice-pw}]}\n";

const TURN_CLIENT: &str = ", turn: {server: relay, user: ice, password: ice-pw}";

fn document(name: &str, nats: &str, endpoints: &str, timeline: &str, turn: bool) -> String {
    let relay = if turn { TURN_SERVER } else { "" };
    format!(
        "name: {name}\nseed: 1\nduration: {CELL_DURATION}\ntopology:\n  defaults:\n    link: {{latency: 10ms}}\n\
         {nats}  servers:\n    - {{name: stun1, kind: stun, address: 203.0.113.10}}\n{relay}\
         \x20 endpoints:\n{endpoints}{timeline}"
    )
}

/// Same NAT, different private subnets: a shared NAT `shared` of the row's behaviours (its
/// hairpinning as the column says), and below it two full-cone home NATs, one per agent, so
/// the agents' host candidates cannot reach each other and only the shared NAT's public
/// address (hairpinned) or a relay can connect them.
fn same_nat_yaml(
    name: &str,
    mapping: Behaviour,
    filtering: Behaviour,
    hairpin: bool,
    turn: bool,
) -> String {
    let turn_cfg = if turn { TURN_CLIENT } else { "" };
    let mut nats = format!(
        "  nats:\n    - {{name: shared, mapping: {}, filtering: {}, hairpinning: {hairpin}, \
         public: [198.51.100.1], lan: 100.64.0.0/24}}\n",
        mapping.yaml(),
        filtering.yaml()
    );
    let mut endpoints = String::new();
    for (n, agent, role, peer) in [(1, "a", "controlling", "b"), (2, "b", "controlled", "a")] {
        let _ = writeln!(
            nats,
            "    - {{name: h{n}, preset: full-cone, upstream: shared, public: [100.64.0.1{n}], lan: 10.0.{n}.0/24}}"
        );
        let _ = writeln!(
            endpoints,
            "    - {{name: {agent}, kind: ice-agent, behind: h{n}, address: 10.0.{n}.2, role: {role}, peer: {peer}, stun_servers: [stun1]{turn_cfg}}}"
        );
    }
    document(name, &nats, &endpoints, "", turn)
}

const fn table_name(t: MatrixTable) -> &'static str {
    match t {
        MatrixTable::Classic => "classic",
        MatrixTable::Rfc4787 => "rfc4787",
        MatrixTable::SameNat => "same-nat",
    }
}

fn time_text(c: &Cell) -> String {
    c.time_ms.map(|t| t.to_string()).unwrap_or_default()
}

fn table_text(cells: &[Cell]) -> String {
    let mut b = tabled::builder::Builder::default();
    b.push_record(["table", "A", "B", "TURN", "outcome", "time ms", "reason"].map(str::to_owned));
    for c in cells {
        b.push_record([
            table_name(c.table).to_owned(),
            c.a.clone(),
            c.b.clone(),
            if c.turn { "yes" } else { "no" }.to_owned(),
            c.outcome.clone(),
            time_text(c),
            c.reason.clone().unwrap_or_default(),
        ]);
    }
    let mut table = b.build();
    table.with(tabled::settings::Style::sharp());
    format!("{table}\n")
}

fn markdown_cell(c: &Cell) -> String {
    match c.outcome.as_str() {
        "n/a" => "n/a".into(),
        "failed" => "✗ failed".into(),
        o => format!("✓ {o} {} ms", time_text(c)),
    }
}

fn markdown(cells: &[Cell], tables: &[MatrixTable], turns: &[bool]) -> String {
    let mut s = String::new();
    for &table in tables {
        for &turn in turns {
            let title = match table {
                MatrixTable::Classic => "Classic NAT types",
                MatrixTable::Rfc4787 => "RFC 4787 mapping × filtering",
                MatrixTable::SameNat => {
                    "Same NAT (each agent on its own home NAT below it), with and without hairpinning"
                }
            };
            let with = if turn { "with TURN" } else { "without TURN" };
            let _ = writeln!(s, "## {title}, {with}\n");
            let names: Vec<String> = types(table).into_iter().map(|(n, _)| n).collect();
            let cols: Vec<String> = columns(table).into_iter().map(|(n, _)| n).collect();
            let _ = writeln!(s, "| A \\ B | {} |", cols.join(" | "));
            let _ = writeln!(s, "|---|{}", "---|".repeat(cols.len()));
            for a in &names {
                let row: Vec<String> = cols
                    .iter()
                    .map(|b| {
                        cells
                            .iter()
                            .find(|c| c.table == table && c.turn == turn && &c.a == a && &c.b == b)
                            .map(markdown_cell)
                            .unwrap_or_default()
                    })
                    .collect();
                let _ = writeln!(s, "| **{a}** | {} |", row.join(" | "));
            }
            let _ = writeln!(s);
        }
    }
    let mut reasons: Vec<&str> = cells
        .iter()
        .filter(|c| c.outcome == "n/a")
        .filter_map(|c| c.reason.as_deref())
        .collect();
    reasons.sort_unstable();
    reasons.dedup();
    for r in reasons {
        let _ = writeln!(s, "n/a: {r}.\n");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_is_the_remote_type_or_relay() {
        let d = "local srflx 198.51.100.1:4000 (base 10.0.1.2:4000) <-> remote prflx 198.51.100.2:4001 (base 198.51.100.2:4001)";
        assert_eq!(pair_outcome(d), "prflx");
        let d = "local relay 203.0.113.30:49152 <-> remote srflx 198.51.100.2:4000 (base 10.0.2.2:4000)";
        assert_eq!(pair_outcome(d), "relay");
        assert_eq!(
            pair_outcome("local host 198.51.100.1:4000 <-> remote host 198.51.100.2:4000"),
            "host"
        );
    }

    #[test]
    fn every_generated_scenario_is_valid() {
        for table in [
            MatrixTable::Classic,
            MatrixTable::Rfc4787,
            MatrixTable::SameNat,
        ] {
            for (an, a) in types(table) {
                for (bn, b) in columns(table) {
                    for turn in [false, true] {
                        let text = scenario_yaml("matrix-cell", a, b, turn);
                        if let Err(d) = sim_scenario::from_str(&format!("{an}-{bn}"), &text) {
                            panic!("{an} × {bn} (turn {turn}):\n{}\n{text}", d.render());
                        }
                    }
                }
            }
        }
    }
}

//! Command-line arguments, as clap reads them. [`crate::main`] turns them into a plan.

use clap::{Args, Parser, Subcommand, ValueEnum};
use sim_scenario::model::SimDuration;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;

/// natlab: simulate NATs, SIP, STUN/TURN/ICE and the AAE tunnel SDK deterministically, and
/// analyse customer captures for SIP failures.
#[derive(Debug, Parser)]
#[command(
    name = "natlab",
    version,
    propagate_version = true,
    after_help = "Exit codes: 0 ok, 1 an expectation failed or findings reached --fail-on, \
                  2 usage error or invalid input, 3 unreadable input, 4 nothing to do."
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run scenarios in the simulator and check their expectations.
    #[command(after_help = "Examples:\n  \
        natlab run scenarios/\n  \
        natlab run scenarios/network/nat-eim-apdf.yaml --seed 7 --out /tmp/reports\n  \
        natlab run scenarios/ --jobs 2 --junit junit.xml\n  \
        natlab run scenarios/ --filter nat- --seeds 1..11\n  \
        natlab run 'scenarios/**/nat-*.yaml'\n  \
        natlab run scenarios/ --partition 2/4 --fail-fast\n  \
        natlab run scenarios/network --check-determinism\n  \
        natlab run scenarios/ --format json")]
    Run(RunArgs),
    /// Validate scenario files without running them; report every problem with its location.
    #[command(after_help = "Examples:\n  \
        natlab check scenarios/\n  \
        natlab check my-scenario.yaml --format json")]
    Check(CheckArgs),
    /// Analyse a capture (pcap, pcapng, gzip): SIP calls, registrations, errors and their causes.
    #[command(
        visible_alias = "analyse",
        after_help = "Examples:\n  \
        natlab analyze customer.pcapng\n  \
        natlab analyze trace.pcap.gz --format json > report.json\n  \
        natlab analyze trace.pcap --call 'a84b4c76e66710@pc33.example.com' --ladder ladder.html\n  \
        natlab analyze nightly/*.pcap --fail-on error"
    )]
    Analyze(AnalyzeArgs),
    /// Look up documented event and status codes.
    #[command(after_help = "Examples:\n  \
        natlab codes 370082\n  \
        natlab codes PJNATH_EICEFAILED\n  \
        natlab codes --group \"ICE related errors\"\n  \
        natlab codes --catalog trunk\n  \
        natlab codes --format json")]
    Codes(CodesArgs),
    /// Print the JSON Schema of scenario files (for editor completion).
    #[command(after_help = "Example:\n  natlab schema > scenario.schema.json")]
    Schema,
    /// Run a server core on real sockets (loopback unless told otherwise), with the simulator's
    /// drive loop, until Ctrl-C or --duration.
    #[command(
        after_help = "Prints one `listening PROTO ADDR` line per bound socket, then one line \
        per event (unless --quiet), then a summary when stopped.\n\n\
        Examples:\n  \
        natlab serve echo\n  \
        natlab serve echo --bind 127.0.0.1:5060 --port 5062 --duration 10m\n  \
        natlab serve echo --bind 192.0.2.10:5060 --allow-non-loopback --quiet\n  \
        natlab serve sip --bind 127.0.0.1:5060 --accounts accounts.txt --domain 127.0.0.1\n  \
        natlab serve stun --bind 127.0.0.1:3478\n  \
        natlab serve turn --bind 127.0.0.1:3478 --accounts turn-users.txt --domain natlab"
    )]
    Serve(ServeArgs),
    /// Run the softphone core on real sockets against a real SIP server: register, optionally
    /// place one call, print the SDK callbacks as they happen.
    #[command(
        after_help = "Exits 0 when it registered (and, with --call, the call was \
        answered), 1 otherwise.\n\n\
        Examples:\n  \
        natlab softphone --server 127.0.0.1:5060 --user 1001 --password secret\n  \
        natlab softphone --server 127.0.0.1:5060 --user 1001 --password secret --call 1002 --hangup-after 5s"
    )]
    Softphone(SoftphoneArgs),
    /// Run the AAE tunnel endpoint core on real sockets against a real SIP server (the relay)
    /// and STUN/TURN server: init, optionally call a device and send bytes through the tunnel,
    /// or answer calls and report what arrived; prints every SDK event as it happens.
    #[command(
        after_help = "Prints one line per event: time, name, code, status, detail. Exits 0 when \
        init succeeded and, with --call, the tunnel came up and every byte was written; with \
        --expect-bytes, when that many bytes arrived. 1 otherwise.\n\n\
        Examples:\n  \
        natlab aae --server 127.0.0.1:5060 --device-id dev2 --ticket t2 --stun 127.0.0.1:3478 --expect-bytes 65536\n  \
        natlab aae --server 127.0.0.1:5060 --device-id dev1 --ticket t1 --stun 127.0.0.1:3478 \
        --turn 127.0.0.1:3478 --turn-user u --turn-password p --call dev2 --port 0:8080 --send 65536"
    )]
    Aae(AaeArgs),
    /// Run ICE between every pair of NAT types (the seven classic types, 7×7, the RFC 4787
    /// mapping × filtering pairs, 9×9, and same-NAT peers with and without hairpinning) and
    /// print each cell's outcome and time to connected.
    #[command(
        after_help = "Each cell is one generated scenario: agent A (controlling, the row) and \
        agent B (controlled, the column), each behind its own NAT, a STUN server and, with \
        --turn, a TURN server. Outcomes: host, srflx, prflx (the remote candidate of the \
        selected pair), relay, failed, n/a (not expressible).\n\n\
        Examples:\n  \
        natlab matrix\n  \
        natlab matrix --turn\n  \
        natlab matrix --table classic --format markdown\n  \
        natlab matrix --turn --format json > matrix-turn.json"
    )]
    Matrix(MatrixArgs),
    /// List every documented event, status code, trunk row and softphone callback with the
    /// scenarios that prove it (an expectation names it and passes), with totals per catalog and
    /// per FAULTS.md group.
    #[command(
        after_help = "Runs the scenarios like `natlab run` (in parallel), or reads the \
        reports of an earlier `natlab run --out DIR` with --results DIR.\n\n\
        Examples:\n  \
        natlab coverage scenarios/\n  \
        natlab coverage scenarios/ --format markdown > docs/coverage.md\n  \
        natlab run scenarios/ --out reports && natlab coverage --results reports --format json"
    )]
    Coverage(CoverageArgs),
    /// Reduce a failing scenario to the timeline entries, faults and topology elements its
    /// failure needs (delta debugging), and write the minimal scenario.
    #[command(
        after_help = "Each candidate is one simulation in this process under the \
        scenario's seed. It is kept when the expectation still fails with the same observation; \
        removing an element also drops what refers to it. Prints the YAML (or writes --out) and \
        reports on standard error what it removed and how many runs it took.\n\n\
        Examples:\n  \
        natlab shrink failing.yaml\n  \
        natlab shrink failing.yaml --expect 2 --out minimal.yaml"
    )]
    Shrink(ShrinkArgs),
}

/// `natlab shrink`.
#[derive(Debug, Args)]
pub struct ShrinkArgs {
    /// The failing scenario.
    #[arg(value_name = "SCENARIO")]
    pub scenario: PathBuf,
    /// The expectation that must keep failing, numbered from 0 as in the report (default: the
    /// first failing one).
    #[arg(long, value_name = "N")]
    pub expect: Option<usize>,
    /// Write the minimal scenario here instead of to standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Run under this seed instead of the scenario's (the shrunk file carries it).
    #[arg(long)]
    pub seed: Option<u64>,
}

/// Output format of `natlab coverage`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum CoverageFormat {
    /// Totals, the proved codes and the codes not proved yet.
    #[default]
    Table,
    /// `{"schema_version":1, "totals":{"events":{"covered","total"}, "status":{…, "simulable"},
    /// "trunk", "callbacks"}, "groups", "not_simulable", "events", "status", "trunk", "callbacks"}`.
    Json,
    /// The document committed as docs/coverage.md.
    Markdown,
}

/// `natlab coverage`.
#[derive(Debug, Args)]
pub struct CoverageArgs {
    /// Scenario files, directories or glob patterns to run (default: `scenarios`).
    #[arg(value_name = "SCENARIO|DIR|GLOB", conflicts_with = "results")]
    pub paths: Vec<PathBuf>,
    /// Read the reports of an earlier `natlab run --out DIR` instead of running.
    #[arg(long, value_name = "DIR")]
    pub results: Option<PathBuf>,
    /// Where the runs write their reports (default: a temporary directory, removed after).
    #[arg(long, value_name = "DIR", conflicts_with = "results")]
    pub out: Option<PathBuf>,
    /// Scenarios run at once. Default: the machine's cores.
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<std::num::NonZeroUsize>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: CoverageFormat,
}

/// Output format of `natlab matrix`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum MatrixFormat {
    /// One row per cell.
    #[default]
    Table,
    /// One grid per table, for docs/nat-matrix.md.
    Markdown,
    /// `{"schema_version":1, "cells":[{"a", "b", "turn", "outcome", "time_ms"}]}`.
    Json,
}

/// Which table of the matrix `natlab matrix` runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MatrixTable {
    /// The seven classic NAT types (open, full_cone, ..., blocked).
    Classic,
    /// The nine RFC 4787 mapping × filtering pairs (eim-eif, ..., apdm-apdf).
    Rfc4787,
    /// Both agents behind one NAT (each on its own home NAT's LAN below it), with and without
    /// hairpinning.
    SameNat,
}

/// `natlab matrix`.
#[derive(Debug, Args)]
pub struct MatrixArgs {
    /// Give both agents a TURN server (UDP relay) as well.
    #[arg(long)]
    pub turn: bool,
    /// Only this table (default: all three).
    #[arg(long, value_enum)]
    pub table: Option<MatrixTable>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: MatrixFormat,
}

/// Output format of commands whose output is data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Human-readable tables.
    #[default]
    Table,
    /// JSON with a `schema_version`, for scripts and CI.
    Json,
}

/// `natlab run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Scenario files, directories (searched recursively for *.yaml; `invalid/` is skipped) or
    /// glob patterns (`'scenarios/**/nat-*.yaml'`, expanded by natlab).
    #[arg(required = true, value_name = "SCENARIO|DIR|GLOB")]
    pub paths: Vec<PathBuf>,
    /// Directory for `<scenario>/report.json` and `<scenario>/capture.pcapng`.
    #[arg(long, default_value = "reports", value_name = "DIR")]
    pub out: PathBuf,
    /// Override every scenario's seed.
    #[arg(long, conflicts_with = "seeds")]
    pub seed: Option<u64>,
    /// Run every scenario under each seed of a range, `A..B` (B excluded) or `A..=B`.
    #[arg(long, value_name = "A..B", value_parser = parse_seeds)]
    pub seeds: Option<SeedRange>,
    /// Output format of the summary.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Scenarios run at once (each simulation is single-threaded). Default: the machine's cores.
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<std::num::NonZeroUsize>,
    /// Run only scenarios whose name or file path contains this text (repeatable: any matches).
    #[arg(long, value_name = "TEXT")]
    pub filter: Vec<String>,
    /// Run only shard K of N (1-based): each (scenario, seed) belongs to exactly one shard, by a
    /// hash of its name and seed, so N CI runners cover the suite exactly once.
    #[arg(long, value_name = "K/N", value_parser = parse_partition)]
    pub partition: Option<Partition>,
    /// Stop starting scenarios after the first failure (those not run are listed as skipped).
    #[arg(long)]
    pub fail_fast: bool,
    /// Also run each scenario twice more in separate processes and compare the hashes of their
    /// capture, report and event log.
    #[arg(long)]
    pub check_determinism: bool,
    /// Write a JUnit XML report (one testcase per scenario and seed).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write the suite summary as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

/// A range of seeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeedRange {
    /// First seed.
    pub first: u64,
    /// Last seed (included).
    pub last: u64,
}

fn parse_seeds(s: &str) -> Result<SeedRange, String> {
    let bad = || format!("`{s}` is not a seed range: expected A..B or A..=B, e.g. 1..11");
    let (a, b, inclusive) = if let Some((a, b)) = s.split_once("..=") {
        (a, b, true)
    } else if let Some((a, b)) = s.split_once("..") {
        (a, b, false)
    } else {
        return Err(bad());
    };
    let first: u64 = a.trim().parse().map_err(|_| bad())?;
    let end: u64 = b.trim().parse().map_err(|_| bad())?;
    let last = if inclusive {
        end
    } else {
        end.checked_sub(1).ok_or_else(bad)?
    };
    if last < first {
        return Err(format!("the seed range `{s}` is empty"));
    }
    Ok(SeedRange { first, last })
}

/// One shard of a partitioned suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Partition {
    /// This shard, 1-based.
    pub shard: u64,
    /// Number of shards.
    pub count: u64,
}

fn parse_partition(s: &str) -> Result<Partition, String> {
    let bad = || format!("`{s}` is not a partition: expected K/N with 1 <= K <= N, e.g. 2/4");
    let (k, n) = s.split_once('/').ok_or_else(bad)?;
    let shard: u64 = k.trim().parse().map_err(|_| bad())?;
    let count: u64 = n.trim().parse().map_err(|_| bad())?;
    if shard == 0 || count == 0 || shard > count {
        return Err(bad());
    }
    Ok(Partition { shard, count })
}

/// `natlab check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Scenario files, directories (searched recursively for *.yaml and *.yml) or glob
    /// patterns (`'scenarios/sip/*.yaml'`). Below a directory, directories named `invalid` (the
    /// diagnostics corpus) are skipped; name one explicitly (`natlab check scenarios/invalid`)
    /// to check it.
    #[arg(required = true, value_name = "FILE|DIR")]
    pub paths: Vec<PathBuf>,
    /// Output format of the diagnostics.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// Which findings make `analyze` exit with 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum FailOn {
    /// Any finding of severity error.
    Error,
    /// Any finding of severity warning or error.
    Warning,
}

/// `natlab analyze`.
#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// Capture files: pcap or pcapng, optionally gzip-compressed.
    #[arg(required = true, value_name = "CAPTURE")]
    pub captures: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Only this call (Call-ID).
    #[arg(long, value_name = "CALLID")]
    pub call: Option<String>,
    /// Print the call-flow ladder in the terminal.
    #[arg(long)]
    pub ladder: bool,
    /// Write the call-flow ladder as a standalone HTML/SVG file.
    #[arg(long, value_name = "FILE")]
    pub ladder_html: Option<PathBuf>,
    /// Exit with 1 when findings of this severity (or worse) are present.
    #[arg(long, value_enum)]
    pub fail_on: Option<FailOn>,
    /// Never show a progress bar.
    #[arg(long)]
    pub no_progress: bool,
}

/// Which catalog `codes` looks in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CatalogName {
    /// AAE SDK event codes.
    AaeEvents,
    /// AAE SDK status codes.
    AaeStatus,
    /// Operator SIP-trunk errors.
    Trunk,
    /// Intercom settings API error codes (`not_valid`...).
    Intercom,
    /// Softphone SDK callbacks.
    Softphone,
}

/// `natlab codes`.
#[derive(Debug, Args)]
pub struct CodesArgs {
    /// A code number (`370082`) or name (`PJNATH_EICEFAILED`, `onRegisterFailure`). Without it,
    /// every row of the selected catalogs.
    #[arg(value_name = "CODE|NAME")]
    pub query: Option<String>,
    /// Only rows of this group, case-insensitive: an AAE status heading ("ICE related
    /// errors", "Uncategorized"), an event category ("tunnel"), a trunk category
    /// ("callee-decision") or a callback module ("Call events").
    #[arg(long)]
    pub group: Option<String>,
    /// Only this catalog.
    #[arg(long, value_enum)]
    pub catalog: Option<CatalogName>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// The server cores `natlab serve` can run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ServeKind {
    /// UDP echo (answers natlab probe lines with `natlab echo … seen=ADDR`, SIP OPTIONS
    /// keep-alives with `200 OK` carrying `received`/`rport`) and a TCP echo of probe lines,
    /// on the same port numbers.
    Echo,
    /// SIP registrar and stateful proxy (UDP and TCP) with digest authentication; accounts
    /// from --accounts.
    Sip,
    /// STUN server (RFC 5389 Binding, RFC 3489/5780 attributes).
    Stun,
    /// TURN server (RFC 5766, UDP relays; TCP to the server); accounts from --accounts.
    Turn,
}

/// `natlab softphone`.
#[derive(Debug, Args)]
pub struct SoftphoneArgs {
    /// The SIP server (registrar and proxy), IP:PORT.
    #[arg(long, value_name = "ADDR")]
    pub server: SocketAddr,
    /// SIP user.
    #[arg(long)]
    pub user: String,
    /// Password.
    #[arg(long)]
    pub password: String,
    /// SIP domain. Default: the server's IP.
    #[arg(long)]
    pub domain: Option<String>,
    /// Transport to the server.
    #[arg(long, value_enum, default_value_t)]
    pub transport: SipTransportArg,
    /// Local IP (port: any free one). Loopback unless --allow-non-loopback.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// Allow a local address outside loopback.
    #[arg(long)]
    pub allow_non_loopback: bool,
    /// Once registered, call this user.
    #[arg(long, value_name = "USER")]
    pub call: Option<String>,
    /// Hang up this long after the call is answered.
    #[arg(long, value_name = "DURATION", default_value = "2s")]
    pub hangup_after: SimDuration,
    /// Give up after this long.
    #[arg(long, value_name = "DURATION", default_value = "40s")]
    pub timeout: SimDuration,
}

/// `natlab aae`.
#[derive(Debug, Args)]
pub struct AaeArgs {
    /// The relay SIP server (registrar and proxy), IP:PORT.
    #[arg(long, value_name = "ADDR")]
    pub server: SocketAddr,
    /// Device id: the SIP user.
    #[arg(long)]
    pub device_id: String,
    /// Device ticket: the SIP password.
    #[arg(long)]
    pub ticket: String,
    /// SIP domain. Default: the server's IP.
    #[arg(long)]
    pub domain: Option<String>,
    /// STUN server for NAT-type detection and server-reflexive candidates.
    #[arg(long, value_name = "ADDR")]
    pub stun: Option<SocketAddr>,
    /// TURN server (UDP) for relayed candidates.
    #[arg(long, value_name = "ADDR", requires_all = ["turn_user", "turn_password"])]
    pub turn: Option<SocketAddr>,
    /// TURN user name.
    #[arg(long)]
    pub turn_user: Option<String>,
    /// TURN password.
    #[arg(long)]
    pub turn_password: Option<String>,
    /// Which local ICE candidates the tunnels use: all, or only the TURN relay's.
    #[arg(long, value_enum, default_value_t)]
    pub ice_policy: IcePolicyArg,
    /// Local IP (ports: any free ones). Loopback unless --allow-non-loopback.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// Allow a local address outside loopback.
    #[arg(long)]
    pub allow_non_loopback: bool,
    /// Once initialised, make a tunnel to this device id.
    #[arg(long, value_name = "DEVICE")]
    pub call: Option<String>,
    /// Tunnel ports LPORT:RPORT of the call (repeatable; at most 8).
    #[arg(long = "port", value_name = "LPORT:RPORT", value_parser = parse_port_pair)]
    pub ports: Vec<(u16, u16)>,
    /// Bytes to write through the tunnel once it is up.
    #[arg(long, value_name = "BYTES", default_value_t = 0)]
    pub send: u64,
    /// Answer calls and stop once this many bytes arrived through a tunnel.
    #[arg(long, value_name = "BYTES")]
    pub expect_bytes: Option<u64>,
    /// Make-call timeout (0: none).
    #[arg(long, value_name = "DURATION", default_value = "30s")]
    pub call_timeout: SimDuration,
    /// Give up after this long.
    #[arg(long, value_name = "DURATION", default_value = "60s")]
    pub timeout: SimDuration,
}

/// `natlab aae --ice-policy`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum IcePolicyArg {
    /// Host, server-reflexive and relayed candidates.
    #[default]
    All,
    /// Only the relayed candidate (needs --turn).
    Relay,
}

fn parse_port_pair(s: &str) -> Result<(u16, u16), String> {
    let (l, r) = s
        .split_once(':')
        .ok_or_else(|| format!("`{s}`: expected LPORT:RPORT"))?;
    let port = |p: &str| {
        p.parse::<u16>()
            .map_err(|e| format!("`{p}` is not a port: {e}"))
    };
    Ok((port(l)?, port(r)?))
}

/// SIP transport of `natlab softphone`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum SipTransportArg {
    /// UDP.
    #[default]
    Udp,
    /// One TCP connection to the server.
    Tcp,
}

/// Where `natlab serve` listens: an IP, with or without a port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BindAddr {
    /// The local IP.
    pub ip: IpAddr,
    /// The port, when one was written (0: any free port).
    pub port: Option<u16>,
}

impl Default for BindAddr {
    fn default() -> Self {
        Self {
            ip: Ipv4Addr::LOCALHOST.into(),
            port: Some(0),
        }
    }
}

impl fmt::Display for BindAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.port {
            Some(port) => write!(f, "{}", SocketAddr::new(self.ip, port)),
            None => write!(f, "{}", self.ip),
        }
    }
}

/// Why `--bind` did not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an address: write IP or IP:PORT, such as 127.0.0.1:5060 or [::1]:5060")]
pub struct BindAddrError(String);

impl FromStr for BindAddr {
    type Err = BindAddrError;

    fn from_str(s: &str) -> Result<Self, BindAddrError> {
        if let Ok(addr) = s.parse::<SocketAddr>() {
            return Ok(Self {
                ip: addr.ip(),
                port: Some(addr.port()),
            });
        }
        let bare = s.strip_prefix('[').and_then(|r| r.strip_suffix(']'));
        match bare.unwrap_or(s).parse::<IpAddr>() {
            Ok(ip) => Ok(Self { ip, port: None }),
            Err(_) => Err(BindAddrError(s.to_owned())),
        }
    }
}

/// `natlab serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Which server core to run.
    #[arg(value_enum)]
    pub kind: ServeKind,
    /// Local address to listen on, IP or IP:PORT (port 0: any free port, printed at start).
    /// Without a port, the ports come from --port (or any free port when none is given).
    #[arg(long, value_name = "ADDR", default_value_t)]
    pub bind: BindAddr,
    /// One more port to listen on, on the same IP (repeatable).
    #[arg(long = "port", value_name = "P")]
    pub ports: Vec<u16>,
    /// Allow an address outside loopback (127.0.0.0/8, ::1). Without it, anything else is
    /// refused.
    #[arg(long)]
    pub allow_non_loopback: bool,
    /// Stop after this long (`30s`, `10m`, `1h`); without it, run until Ctrl-C.
    #[arg(long, value_name = "DURATION")]
    pub duration: Option<SimDuration>,
    /// Print only the listening lines and the summary, not every event.
    #[arg(long)]
    pub quiet: bool,
    /// `sip`, `turn`: a file of `user:password` lines (`#` comments).
    #[arg(long, value_name = "FILE")]
    pub accounts: Option<PathBuf>,
    /// `sip`: the SIP domain (default `natlab.invalid`); `turn`: the realm.
    #[arg(long, value_name = "DOMAIN")]
    pub domain: Option<String>,
}

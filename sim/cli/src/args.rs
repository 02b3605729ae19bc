//! Command-line arguments, as clap reads them. [`crate::main`] turns them into a plan.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

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
    /// Scenario files or directories (searched recursively for *.yaml; `invalid/` is skipped).
    #[arg(required = true, value_name = "SCENARIO|DIR")]
    pub paths: Vec<PathBuf>,
    /// Directory for `<scenario>/report.json` and `<scenario>/capture.pcapng`.
    #[arg(long, default_value = "reports", value_name = "DIR")]
    pub out: PathBuf,
    /// Override every scenario's seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Output format of the summary.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// `natlab check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Scenario files or directories, searched recursively for *.yaml and *.yml. Below a
    /// directory, directories named `invalid` (the diagnostics corpus) are skipped; name one
    /// explicitly (`natlab check scenarios/invalid`) to check it.
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

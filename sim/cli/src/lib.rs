//! The `natlab` command line: parses arguments, runs a command, maps the outcome to an exit code.
//! This crate is the only one that prints.

pub mod args;
mod cmd;
mod discover;
pub mod exit;

use args::{Cli, Command};
use clap::Parser;
use exit::{Exit, ExpectedError};
use std::io::Write;
use std::process::ExitCode;

/// Runs `natlab` with the process arguments.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help and version to stdout with status 0, usage errors with status 2.
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(Exit::Invalid.code()));
        }
    };
    let mut out = std::io::stdout().lock();
    match dispatch(cli.command, &mut out) {
        Ok(exit) => exit.into(),
        Err(e) => {
            let _ = out.flush();
            #[allow(clippy::print_stderr)]
            {
                eprintln!("natlab: {e}");
            }
            e.exit().into()
        }
    }
}

fn dispatch(command: Command, out: &mut dyn Write) -> Result<Exit, ExpectedError> {
    match command {
        Command::Run(a) => cmd::run::run(&a, out),
        Command::Check(a) => cmd::check::run(&a, out),
        Command::Analyze(a) => cmd::analyze::run(&a, out),
        Command::Codes(a) => cmd::codes::run(&a, out),
        Command::Schema => cmd::check::schema(out),
        Command::Serve(a) => cmd::serve::run(&a, out),
        Command::Softphone(a) => cmd::softphone::run(&a, out),
        Command::Aae(a) => cmd::aae::run(&a, out),
        Command::Matrix(a) => cmd::matrix::run(&a, out),
        Command::Coverage(a) => cmd::coverage::run(&a, out),
        Command::Shrink(a) => cmd::shrink::run(&a, out),
    }
}

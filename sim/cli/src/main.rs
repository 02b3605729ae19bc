//! The `natlab` binary.

fn main() -> std::process::ExitCode {
    sim_cli::main()
}

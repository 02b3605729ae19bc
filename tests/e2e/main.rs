//! End-to-end tests: the `natlab` binary and the crates together, on the bundled scenarios and
//! captures.

mod aae;
mod analyze;
mod check;
mod codes;
mod coverage;
mod determinism;
mod html;
mod matrix;
mod run;
mod serve;
mod shrink;
mod snapshots_run;
mod suite;
mod support;

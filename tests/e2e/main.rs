//! End-to-end tests: the `natlab` binary and the crates together, on the bundled scenarios and
//! captures.

mod analyze;
mod check;
mod codes;
mod determinism;
mod html;
mod matrix;
mod run;
mod serve;
mod suite;
mod support;

//! Scenarios in the world: a validated [`sim_scenario::Scenario`] becomes a [`crate::WorldSpec`]
//! ([`plan`]), runs, and its expectations are checked against what the run observed
//! ([`evaluate`]).

mod aae;
mod dns;
mod expect;
mod faults;
mod ice;
mod plan;
mod report;
mod sip;
mod stun;
mod web;

pub(crate) use aae::command as aae_command;
pub use expect::{Evaluation, evaluate};
pub use plan::{Outputs, Unsupported, plan};
pub use report::{Written, report};

#[cfg(test)]
mod tests;

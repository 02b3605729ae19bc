//! The simulated world: turmoil hosts, the NAT fabric, link models, faults and capture.

pub mod capture;
pub mod fabric;
mod host;
pub mod nodes;
pub mod record;
pub mod scenario;
mod sip_tap;
mod tcp;
pub mod watch;
pub mod world;

pub use host::RunIssue;
pub use world::{RunError, RunOutput, WorldSpec, run};

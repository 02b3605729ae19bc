//! The simulated world.

pub mod capture;
pub mod fabric;

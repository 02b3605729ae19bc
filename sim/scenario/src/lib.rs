//! The natlab scenario language.
//!
//! A scenario file is YAML. [`model`] holds the types it is read into; loading, validation and
//! diagnostics build on them.

pub mod model;

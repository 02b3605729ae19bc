//! Capture forensics: reading pcap/pcapng, decoding SIP and STUN, correlating calls, findings.
#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

pub mod accounting;
pub mod analysis;
pub mod capture;
pub mod correlate;
pub mod decode;
pub mod findings;
pub mod ladder;
mod pipeline;
pub mod report;
pub mod sip;
pub mod stun;
pub mod synth;

pub use analysis::{Analysis, AnalyzeError, AnalyzeOptions, SCHEMA_VERSION, analyze, analyze_path};
pub use findings::{Finding, FindingKind, Severity};
pub use ladder::LadderScope;

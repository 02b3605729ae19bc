//! Capture forensics: reading pcap/pcapng, decoding SIP and STUN, correlating calls, findings.
#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

pub mod capture;
pub mod sip;
pub mod synth;

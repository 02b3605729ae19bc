//! Capture forensics: reading pcap/pcapng, decoding SIP and STUN, correlating calls, findings.
#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

pub mod accounting;
pub mod capture;
pub mod decode;
pub mod sip;
pub mod stun;
pub mod synth;

//! Fuzz target: `sim_pcap::fuzzing::rtp` (see that function for the invariants checked).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    sim_pcap::fuzzing::rtp(data);
});

//! Capture forensics: reading pcap/pcapng, decoding SIP and STUN, correlating calls, findings

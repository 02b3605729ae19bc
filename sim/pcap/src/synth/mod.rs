//! Deterministic capture synthesis, for tests, fuzz seeds, the edge-case sample captures and the
//! benchmark input. Nothing here reads a clock or a random source: the same calls give the same
//! bytes.
//!
//! ```
//! use sim_pcap::synth::{Link, PcapFile, PcapOptions, ip_udp, wrap};
//! let mut f = PcapFile::new(PcapOptions::new(Link::Ethernet.linktype()));
//! let ip = ip_udp("192.0.2.1:5060".parse().unwrap(), "192.0.2.2:5060".parse().unwrap(), b"hi");
//! f.push(1_700_000_000_000_000_000, &wrap(Link::Ethernet, &ip));
//! assert_eq!(f.bytes().len(), 24 + 16 + 14 + 20 + 8 + 2);
//! ```

pub mod bench;
pub mod edge;
mod file;
mod frame;
mod sip;

pub use file::{PcapFile, PcapNgFile, PcapOptions};
pub use frame::{
    Link, TcpFlags, gre_ipv4, ip_packet, ip_tcp, ip_udp, ipv4, ipv6, udp_fragments, udp_segment,
    wrap,
};
pub use sip::{SipText, sdp};

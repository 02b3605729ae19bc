//! Capture forensics for SIP: what failed in a customer's capture, and why.
//!
//! # Pipeline
//!
//! ```text
//! capture file ──► capture::CaptureReader      pcap (both byte orders, µs/ns), pcapng (any mix of
//!   (gzip ok)        │                         link types, EPB/SPB/PB), gzip; streamed; corrupt or
//!                    │                         truncated records skipped and counted
//!                    ▼
//!                  decode::Decoder             Ethernet/VLAN/QinQ, Linux SLL/SLL2, raw IP,
//!                    │                         null/loopback, IP-in-IP, GRE; IPv4/IPv6
//!                    │                         reassembly (bounded); UDP; TCP reassembly (order,
//!                    │                         overlap, retransmission, gaps, resync); WebSocket;
//!                    │                         SIP by content on any port; STUN; ICMP
//!                    ▼
//!                  sip::scan                   zero-copy header scanner: spans, not strings;
//!                    │                         compact forms, folding, Content-Length framing,
//!                    │                         says why a message is malformed
//!                    ▼
//!                  media::tracker              RTP/RTCP tied to calls by their SDP, or
//!                    │                         recognised by their headers; per-SSRC loss,
//!                    │                         jitter as tshark computes it, RFC 4733 events,
//!                    │                         RTCP reports, G.107 E-model; media findings
//!                    ▼            (reader thread above, correlating thread below)
//!                  correlate::Correlator       calls by Call-ID across hops, transactions by
//!                    │                         branch/CSeq/method per hop, retransmissions,
//!                    │                         registrations, STUN transactions, NAT observations
//!                    ▼
//!                  findings::Finding           typed findings with the operator's or the RFC's
//!                    │                         meaning and a diagnosis citing frame numbers
//!                    ▼
//!                  report                      terminal tables, JSON, text ladder, HTML/SVG ladder
//! ```
//!
//! Every record of the file ends in exactly one class (SIP, STUN, RTP, RTCP, other, undecodable
//! with a reason): the summary adds up to the number of records read ([`accounting`]).
//!
//! Memory does not grow with the file: calls are diagnosed and folded into a compact record when
//! they go quiet, and records that cannot change any more are written as JSON to an anonymous
//! temporary file ([`store`]), their sort entries too, in sorted runs merged at the end; setup
//! times are summarised in bounded space ([`durations`]); the re-registration tracker follows at
//! most 65,536 user agents. What stays is proportional to the calls in progress at once.
//!
//! # Example
//!
//! ```
//! use sim_pcap::synth::{Link, PcapFile, PcapOptions, SipText, ip_udp, wrap};
//! use sim_pcap::{AnalyzeOptions, analyze, capture::open_reader};
//!
//! let invite = SipText::request("INVITE", "sip:bob@example.com")
//!     .dialog("192.0.2.1:5060", "z9hG4bK1", "<sip:alice@example.com>;tag=a", "<sip:bob@example.com>", "c1", "1 INVITE")
//!     .build();
//! let busy = SipText::response(486, "Busy Here")
//!     .dialog("192.0.2.1:5060", "z9hG4bK1", "<sip:alice@example.com>;tag=a", "<sip:bob@example.com>;tag=b", "c1", "1 INVITE")
//!     .build();
//! let (a, b) = ("192.0.2.1:5060".parse().unwrap(), "198.51.100.2:5060".parse().unwrap());
//! let mut file = PcapFile::new(PcapOptions::new(1));
//! file.push(1_700_000_000_000_000_000, &wrap(Link::Ethernet, &ip_udp(a, b, &invite)));
//! file.push(1_700_000_000_100_000_000, &wrap(Link::Ethernet, &ip_udp(b, a, &busy)));
//!
//! let (reader, compression) = open_reader(std::io::Cursor::new(file.into_bytes())).unwrap();
//! let analysis = analyze(reader, compression, "example", &AnalyzeOptions::default(), &mut |_| {});
//! assert_eq!(analysis.summary.packets.sip_messages, 2);
//! let finding = analysis.findings.head()[0];
//! assert_eq!(finding.code, Some(486));
//! assert_eq!(finding.meaning_source, Some("operator trunk table"));
//! ```
//!
//! # The JSON document (schema version 1)
//!
//! [`Analysis::write_json`] writes one object per capture (an array for several captures, see
//! [`analysis::write_json_many`]). `docs/analyze-json.md` in the repository lists every field; in
//! short:
//!
//! | field | content |
//! |---|---|
//! | `schema_version` | `1`; bumped when a field changes meaning or disappears |
//! | `capture` | `path`, `format`, `compression`, `link_types`, `bytes`, `start_time`, `duration`, `read_error` |
//! | `summary` | `packets = sip + stun + rtp + rtcp + other.total + undecodable.total`; `media_streams`; `other.kinds`, `undecodable.reasons` and `undecodable.malformed_sip` by name; `sip_messages`, `sip_messages_truncated`, `sip_messages_malformed`, `stun_messages`; `calls`, `calls_by_kind`, `calls_by_outcome`, `final_status`, `findings` (per severity); `setup_time_ms`, `post_dial_delay_ms` (`count`, `median`, `p95`, `max`) |
//! | `calls[]` | `call_id`, `kind`, `from`, `to`, `first_frame`, `last_frame`, `start`, `duration`, `messages` (every hop, retransmissions included), `retransmissions`, `final_status`, `final_reason`, `outcome` (`answered`, `registered`, `ok`, `failed`, `cancelled`, `timeout`, `incomplete`), `setup_time_ms`, `post_dial_delay_ms`, `hops`, `transports`, `user_agent`, `findings` |
//! | `media[]` | `call_id`, `found_by` (`sdp`, `heuristic`), `sender`, `src`, `dst`, `sdp_src`, `first_frame`, `last_frame`, `start`, `stop`, `packets`, `lost`, `loss_percent`, `duplicates`, `out_of_order`, `max_jitter_ms`, `max_delta_ms`, `ssrc_changes`, `ssrcs[]` (per SSRC, with tshark's figures), `payload_types[]`, `telephone_events[]`, `rtcp`, `icmp_unreachable`, `quality` (E-model R and MOS) |
//! | `findings[]` | `severity` (`error`, `warning`, `info`), `kind`, `protocol`, `code` (SIP status or STUN error), `reason` (as on the wire), `standard_phrase`, `meaning`, `meaning_source`, `standard_meaning`, `operator_hint`, `diagnosis`, `call_id`, `method`, `endpoints`, `frames` (at most 16), `frames_total`, `time` |
//!
//! # Robustness
//!
//! Capture bytes are never indexed or unwrapped (`clippy::indexing_slicing` is denied in this
//! crate); every parser is fuzzed (`sim/fuzz`, entry points in [`fuzzing`]) and the saved corpus is
//! replayed by the tests.
#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

// Links getrandom's custom backend into every binary that uses the analyser (see sim-entropy).
use sim_entropy as _;

pub mod accounting;
pub mod analysis;
pub mod capture;
pub mod correlate;
pub mod decode;
pub mod durations;
pub mod findings;
#[doc(hidden)]
pub mod fuzzing;
pub mod ladder;
pub mod media;
mod pipeline;
pub mod report;
pub mod sip;
pub mod store;
pub mod stun;
pub mod synth;

pub use analysis::{Analysis, AnalyzeError, AnalyzeOptions, SCHEMA_VERSION, analyze, analyze_path};
pub use findings::{Finding, FindingKind, Severity};
pub use ladder::LadderScope;

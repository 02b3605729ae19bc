//! Packet accounting: every record of the capture ends in exactly one class (SIP, STUN, RTP,
//! RTCP, other, undecodable with a reason), so the summary's numbers add up to the number of records read.
//!
//! A frame whose fate depends on later frames (an IP fragment, a TCP segment holding part of a
//! message) is *pending* until that is known; at the end of the capture every pending frame has
//! been resolved, which [`Accounting::check`] verifies.

use crate::capture::SkipReason;
use crate::findings::{Finding, FindingKind, Frames, Protocol, Severity};
use crate::sip::{Defect, Malformed, Scanned};
use serde::Serialize;
use std::collections::BTreeMap;

/// Frames that decoded fine but carry neither SIP nor STUN.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Other {
    /// Not IP (ARP, LLDP, 802.3 frames...).
    NonIp,
    /// ICMP / ICMPv6.
    Icmp,
    /// An IP protocol other than UDP, TCP, ICMP and tunnels.
    OtherIp,
    /// A tunnel that is not unwrapped (PPTP GRE, unknown GRE payload, too deep).
    Tunnel,
    /// A fragment of a datagram reassembled in a later frame.
    IpFragment,
    /// UDP that is neither SIP, STUN, RTP nor RTCP.
    Udp,
    /// TURN ChannelData.
    TurnChannelData,
    /// A SIP keep-alive (CRLF) datagram or segment.
    KeepAlive,
    /// A TCP segment without payload (SYN, ACK, FIN, RST).
    TcpControl,
    /// A TCP segment holding part of a SIP message completed in a later frame.
    TcpSegment,
    /// A TCP segment whose bytes were all seen before (retransmission).
    TcpRetransmission,
    /// TCP payload that is not SIP (TLS, HTTP...).
    TcpData,
}

impl Other {
    /// Every kind, in a stable order.
    pub const ALL: [Self; 12] = [
        Self::NonIp,
        Self::Icmp,
        Self::OtherIp,
        Self::Tunnel,
        Self::IpFragment,
        Self::Udp,
        Self::TurnChannelData,
        Self::KeepAlive,
        Self::TcpControl,
        Self::TcpSegment,
        Self::TcpRetransmission,
        Self::TcpData,
    ];

    /// A short stable name, as used in reports.
    pub const fn name(self) -> &'static str {
        match self {
            Self::NonIp => "non_ip",
            Self::Icmp => "icmp",
            Self::OtherIp => "other_ip_protocol",
            Self::Tunnel => "tunnel_not_decoded",
            Self::IpFragment => "ip_fragment",
            Self::Udp => "udp_other",
            Self::TurnChannelData => "turn_channel_data",
            Self::KeepAlive => "keep_alive",
            Self::TcpControl => "tcp_control",
            Self::TcpSegment => "tcp_segment",
            Self::TcpRetransmission => "tcp_retransmission",
            Self::TcpData => "tcp_other",
        }
    }
}

/// Why a frame could not be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Undecodable {
    /// The capture file's record was truncated, corrupt, or named an unknown interface.
    Record(SkipReason),
    /// The link type is not one the analyser decodes.
    UnsupportedLink,
    /// The frame ends inside a link or IP header.
    TruncatedFrame,
    /// The IP header is invalid.
    MalformedIp,
    /// The UDP or TCP header is invalid.
    MalformedTransport,
    /// A fragment of a datagram that never completed (or was dropped to bound memory).
    FragmentIncomplete,
    /// A fragment inconsistent with the others (beyond 64 KiB, past the end).
    FragmentInvalid,
    /// TCP bytes lost to a gap in the capture (missing segments) or a flow's memory cap.
    TcpGap,
    /// A SIP message that cannot be used, and why.
    MalformedSip(Malformed),
    /// A STUN message whose attributes are broken.
    MalformedStun,
}

impl Undecodable {
    /// A short stable name, as used in reports (malformed SIP reasons share `malformed_sip`).
    pub const fn name(self) -> &'static str {
        match self {
            Self::Record(r) => r.name(),
            Self::UnsupportedLink => "unsupported_link_type",
            Self::TruncatedFrame => "truncated_frame",
            Self::MalformedIp => "malformed_ip",
            Self::MalformedTransport => "malformed_udp_tcp",
            Self::FragmentIncomplete => "fragment_never_completed",
            Self::FragmentInvalid => "fragment_invalid",
            Self::TcpGap => "tcp_gap",
            Self::MalformedSip(_) => "malformed_sip",
            Self::MalformedStun => "malformed_stun",
        }
    }
}

/// The class a frame ends in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// At least one usable SIP message completed in this frame.
    Sip,
    /// A STUN message.
    Stun,
    /// An RTP packet of a stream (tied to a call by SDP, or recognised by its headers).
    Rtp,
    /// An RTCP compound packet.
    Rtcp,
    /// Decoded, neither SIP, STUN, RTP nor RTCP.
    Other(Other),
    /// Not usable.
    Undecodable(Undecodable),
}

/// The counters.
#[derive(Clone, Debug, Default)]
pub struct Accounting {
    records: u64,
    sip: u64,
    stun: u64,
    rtp: u64,
    rtcp: u64,
    other: BTreeMap<Other, u64>,
    undecodable: BTreeMap<Undecodable, u64>,
    pending: u64,
    sip_messages: u64,
    sip_messages_truncated: u64,
    malformed_messages: BTreeMap<Malformed, u64>,
    stun_messages: u64,
    /// Where malformed SIP and TCP gaps were seen (the first frames of each).
    malformed_frames: Frames,
    gap_frames: Frames,
    /// Messages kept despite a defect, by defect.
    lenient: BTreeMap<Defect, u64>,
    lenient_frames: Frames,
    /// Messages cut short by the capture, and those of them that lost their Call-ID.
    cut_frames: Frames,
    cut_without_call_id: u64,
    /// The largest captured length of a frame the capture cut short (its snap length).
    snaplen: Option<u32>,
}

impl Accounting {
    /// A record was read (call once per record, before classifying it).
    pub fn record(&mut self) {
        self.records += 1;
    }

    /// A frame's final class.
    pub fn classify(&mut self, class: Class) {
        match class {
            Class::Sip => self.sip += 1,
            Class::Stun => self.stun += 1,
            Class::Rtp => self.rtp += 1,
            Class::Rtcp => self.rtcp += 1,
            Class::Other(o) => *self.other.entry(o).or_default() += 1,
            Class::Undecodable(u) => *self.undecodable.entry(u).or_default() += 1,
        }
    }

    /// A frame whose class will be decided later.
    pub fn defer(&mut self) {
        self.pending += 1;
    }

    /// A deferred frame is decided.
    pub fn resolve(&mut self, class: Class) {
        self.pending = self.pending.saturating_sub(1);
        self.classify(class);
    }

    /// A usable SIP message (several can share a frame) in `frame`.
    pub fn sip_message(&mut self, s: &Scanned, frame: u64) {
        self.sip_messages += 1;
        let cut = s.truncated && !s.has(Defect::NoHeaderEnd);
        if cut {
            self.sip_messages_truncated += 1;
            self.cut_frames.push(frame);
            self.cut_without_call_id += u64::from(s.has(Defect::NoCallId));
        }
        if s.defects != 0 {
            for d in Defect::ALL.into_iter().filter(|d| s.has(*d)) {
                *self.lenient.entry(d).or_default() += 1;
            }
            let only_cut = s.defects == Defect::NoCallId.bit() && cut;
            if !only_cut {
                self.lenient_frames.push(frame);
            }
        }
    }

    /// A frame the capture cut short, with the bytes it kept.
    pub fn cut_frame(&mut self, captured: usize) {
        let len = u32::try_from(captured).unwrap_or(u32::MAX);
        self.snaplen = Some(self.snaplen.map_or(len, |s| s.max(len)));
    }

    /// A malformed SIP message.
    pub fn malformed_message(&mut self, why: Malformed) {
        *self.malformed_messages.entry(why).or_default() += 1;
    }

    /// A STUN message.
    pub fn stun_message(&mut self) {
        self.stun_messages += 1;
    }

    /// Notes the frame of an undecodable class worth a finding (malformed SIP, TCP gap).
    pub fn note_frame(&mut self, frame: u64, class: Class) {
        match class {
            Class::Undecodable(Undecodable::MalformedSip(_)) => self.malformed_frames.push(frame),
            Class::Undecodable(Undecodable::TcpGap) => self.gap_frames.push(frame),
            _ => {}
        }
    }

    /// Capture-quality findings: SIP messages that could not be used, TCP bytes the capture lost.
    pub fn findings(&self) -> Vec<Finding> {
        let mut out = Vec::new();
        if self.malformed_frames.total > 0 {
            let reasons: Vec<String> = self
                .malformed_messages
                .iter()
                .map(|(k, v)| format!("{} {v}", k.name()))
                .collect();
            let f = Finding::new(
                Severity::Warning,
                FindingKind::MalformedSip,
                Protocol::Capture,
                format!(
                    "{} frame(s) held SIP that could not be used ({}): their messages are missing from the calls.",
                    self.malformed_frames.total,
                    reasons.join(", ")
                ),
            );
            out.push(f.with_frames(
                self.malformed_frames.list().iter().copied(),
                self.malformed_frames.total,
            ));
        }
        if self.cut_frames.total > 0 {
            let snap = self
                .snaplen
                .map_or_else(String::new, |n| format!(" (snap length {n} bytes)"));
            let lost_id = match self.cut_without_call_id {
                0 => String::new(),
                n => format!(
                    "; {n} of them lost their Call-ID and are correlated by their From tag or Via branch"
                ),
            };
            let f = Finding::new(
                Severity::Warning,
                FindingKind::SipCutShort,
                Protocol::Capture,
                format!(
                    "{} SIP message(s) were cut short by the capture{snap}: they are kept in their calls with the headers that survived{lost_id}. Bodies (SDP) and later headers are missing, so some diagnoses may be too; re-capture with `-s 0` (tcpdump -s 0, dumpcap -s 0) to keep whole frames.",
                    self.cut_frames.total
                ),
            );
            out.push(f.with_frames(
                self.cut_frames.list().iter().copied(),
                self.cut_frames.total,
            ));
        }
        if self.lenient_frames.total > 0 {
            let defects: Vec<String> = self
                .lenient
                .iter()
                .filter(|(k, _)| **k != Defect::NoCallId)
                .map(|(k, v)| format!("{} {v}", k.name()))
                .collect();
            let f = Finding::new(
                Severity::Warning,
                FindingKind::SipLenient,
                Protocol::Capture,
                format!(
                    "{} SIP message(s) break the SIP grammar ({}): they are kept in their calls as written. Over UDP the datagram frames the message, so a wrong Content-Length loses nothing here, but the sender's stack is at fault and a strict peer may reject these messages.",
                    self.lenient_frames.total,
                    defects.join(", ")
                ),
            );
            out.push(f.with_frames(
                self.lenient_frames.list().iter().copied(),
                self.lenient_frames.total,
            ));
        }
        if self.gap_frames.total > 0 {
            let f = Finding::new(
                Severity::Warning,
                FindingKind::TcpGap,
                Protocol::Capture,
                format!(
                    "{} TCP segment(s) could not be used because bytes before them were never captured (or the stream ended mid-message): SIP messages around these frames may be missing.",
                    self.gap_frames.total
                ),
            );
            out.push(f.with_frames(
                self.gap_frames.list().iter().copied(),
                self.gap_frames.total,
            ));
        }
        out
    }

    /// Records read so far.
    pub const fn records(&self) -> u64 {
        self.records
    }

    /// Frames not yet classified.
    pub const fn pending(&self) -> u64 {
        self.pending
    }

    fn classified(&self) -> u64 {
        self.sip
            + self.stun
            + self.rtp
            + self.rtcp
            + self.other.values().sum::<u64>()
            + self.undecodable.values().sum::<u64>()
    }

    /// Verifies that every record is classified exactly once.
    ///
    /// # Errors
    /// The numbers do not add up (a bug): the two totals.
    pub fn check(&self) -> Result<(), (u64, u64)> {
        let total = self.classified() + self.pending;
        if total == self.records && self.pending == 0 {
            Ok(())
        } else {
            Err((self.records, total))
        }
    }

    /// The serialisable summary.
    pub fn summary(&self) -> PacketSummary {
        let other: BTreeMap<&'static str, u64> =
            self.other.iter().map(|(k, v)| (k.name(), *v)).collect();
        let mut reasons: BTreeMap<&'static str, u64> = BTreeMap::new();
        let mut malformed_sip: BTreeMap<&'static str, u64> = BTreeMap::new();
        for (k, v) in &self.undecodable {
            *reasons.entry(k.name()).or_default() += v;
            if let Undecodable::MalformedSip(m) = k {
                *malformed_sip.entry(m.name()).or_default() += v;
            }
        }
        PacketSummary {
            packets: self.records,
            sip: self.sip,
            stun: self.stun,
            rtp: self.rtp,
            rtcp: self.rtcp,
            other: Breakdown {
                total: self.other.values().sum(),
                kinds: other,
            },
            undecodable: UndecodableSummary {
                total: self.undecodable.values().sum(),
                reasons,
                malformed_sip,
            },
            sip_messages: self.sip_messages,
            sip_messages_truncated: self.sip_messages_truncated,
            sip_messages_lenient: self.lenient.iter().map(|(k, v)| (k.name(), *v)).collect(),
            snaplen_cut: self.snaplen,
            sip_messages_malformed: self
                .malformed_messages
                .iter()
                .map(|(k, v)| (k.name(), *v))
                .collect(),
            stun_messages: self.stun_messages,
        }
    }
}

/// A total and its parts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Breakdown {
    /// Sum of the parts.
    pub total: u64,
    /// Count per kind.
    pub kinds: BTreeMap<&'static str, u64>,
}

/// Undecodable frames by reason.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct UndecodableSummary {
    /// Sum of the reasons.
    pub total: u64,
    /// Count per reason.
    pub reasons: BTreeMap<&'static str, u64>,
    /// The `malformed_sip` frames split by why the (first) message was malformed.
    pub malformed_sip: BTreeMap<&'static str, u64>,
}

/// The packet accounting of one capture:
/// `packets = sip + stun + rtp + rtcp + other.total + undecodable.total`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PacketSummary {
    /// Records read (including skipped ones).
    pub packets: u64,
    /// Frames that completed at least one usable SIP message.
    pub sip: u64,
    /// Frames carrying a STUN message.
    pub stun: u64,
    /// Frames carrying RTP of a stream.
    pub rtp: u64,
    /// Frames carrying RTCP.
    pub rtcp: u64,
    /// Frames decoded as something else.
    pub other: Breakdown,
    /// Frames that could not be used.
    pub undecodable: UndecodableSummary,
    /// Usable SIP messages (a TCP segment can carry several).
    pub sip_messages: u64,
    /// Of those, messages cut short by the capture's snap length.
    pub sip_messages_truncated: u64,
    /// Of those, messages kept despite a defect, by defect (absent when there are none).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub sip_messages_lenient: BTreeMap<&'static str, u64>,
    /// The snap length seen on frames the capture cut short (absent when none was cut).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snaplen_cut: Option<u32>,
    /// Malformed SIP messages by reason.
    pub sip_messages_malformed: BTreeMap<&'static str, u64>,
    /// STUN messages.
    pub stun_messages: u64,
}

impl PacketSummary {
    /// Whether the classes add up to the number of packets.
    pub fn adds_up(&self) -> bool {
        self.sip + self.stun + self.rtp + self.rtcp + self.other.total + self.undecodable.total
            == self.packets
            && self.other.kinds.values().sum::<u64>() == self.other.total
            && self.undecodable.reasons.values().sum::<u64>() == self.undecodable.total
    }
}

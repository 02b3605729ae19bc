//! The reportable summary of one media stream: the `media[]` objects of the JSON document.

use serde::Serialize;

/// How a stream was tied to its call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FoundBy {
    /// Its destination or source is an address and port of the call's SDP.
    Sdp,
    /// No SDP names it: recognised by its RTP headers alone (no call).
    Heuristic,
}

/// The statistics of one SSRC of a stream.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SsrcRecord {
    /// The synchronisation source, `0x` and eight hex digits.
    pub ssrc: String,
    /// Packets received (duplicates included).
    pub packets: u64,
    /// Expected from the extended sequence numbers (RFC 3550 A.3).
    pub expected: u64,
    /// Lost: expected − distinct packets received.
    pub lost: u64,
    /// Sequence numbers received twice.
    pub duplicates: u64,
    /// Packets older than the highest sequence number received.
    pub out_of_order: u64,
    /// RFC 4733 end packets repeated with their sequence number (not loss, not duplicates).
    pub event_redundancy: u64,
    /// Lost as `tshark -z rtp,streams` prints it (last − first sequence number + 1 − packets).
    pub tshark_lost: i64,
    /// The interarrival jitter after the last packet, ms.
    pub jitter_ms: f64,
    /// Largest jitter, ms (tshark's "Max Jitter").
    pub max_jitter_ms: f64,
    /// Mean jitter, ms (tshark's "Mean Jitter").
    pub mean_jitter_ms: f64,
    /// Largest gap between packets, ms (tshark's "Max Delta").
    pub max_delta_ms: f64,
}

/// A payload type seen in a stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PayloadRecord {
    /// The number.
    pub pt: u8,
    /// The SDP's rtpmap name, else the RFC 3551 name of a static type.
    pub name: Option<String>,
    /// Packets with it.
    pub packets: u64,
}

/// One RFC 4733 telephone event (a key press).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EventRecord {
    /// `0`..`9`, `*`, `#`, `A`..`D`, `flash`, or the event number.
    pub key: String,
    /// Seconds from the capture's first frame to the event's first packet.
    pub time: f64,
    /// The duration of its last packet, ms.
    pub duration_ms: f64,
    /// Its first frame.
    pub frame: u64,
    /// An end packet was seen.
    pub ended: bool,
}

/// What the receiver of the stream reported about it in RTCP.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RtcpRecord {
    /// Sender reports from the stream's source.
    pub sender_reports: u64,
    /// Report blocks about the stream from its receiver.
    pub receiver_reports: u64,
    /// The last block's fraction lost, percent.
    pub fraction_lost_percent: Option<f64>,
    /// The last block's cumulative packets lost.
    pub cumulative_lost: Option<i32>,
    /// The last block's interarrival jitter, ms.
    pub jitter_ms: Option<f64>,
    /// Round-trip time from LSR/DLSR of the last block, ms.
    pub round_trip_ms: Option<f64>,
}

/// The E-model estimate of a stream (see `media::emodel`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QualityRecord {
    /// The codec the values are for.
    pub codec: String,
    /// The codec is not in the G.113 table: G.711's values were used.
    pub codec_assumed: bool,
    /// Packet loss fed to the model, percent (network loss plus late packets).
    pub loss_percent: f64,
    /// Packets later than the jitter buffer.
    pub late: u64,
    /// The burst ratio.
    pub burst_ratio: f64,
    /// The assumed jitter buffer depth, ms.
    pub jitter_buffer_ms: f64,
    /// The assumed mouth-to-ear delay, ms.
    pub delay_ms: f64,
    /// R.
    pub r_factor: f64,
    /// MOS (conversational, estimated).
    pub mos: f64,
}

/// One media stream: RTP from one transport address to another.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MediaStream {
    /// The call it belongs to.
    pub call_id: Option<String>,
    /// How it was found.
    pub found_by: FoundBy,
    /// `caller` or `callee`: who sends it (from the SDP).
    pub sender: Option<&'static str>,
    /// Source transport address.
    pub src: String,
    /// Destination transport address.
    pub dst: String,
    /// The address the sender's SDP advertised, when it differs from `src`.
    pub sdp_src: Option<String>,
    /// First and last frames.
    pub first_frame: u64,
    /// Last frame.
    pub last_frame: u64,
    /// Seconds from the capture's first frame.
    pub start: f64,
    /// Seconds from the capture's first frame to the last packet.
    pub stop: f64,
    /// Packets (every SSRC).
    pub packets: u64,
    /// Lost (every SSRC).
    pub lost: u64,
    /// `lost / expected`, percent.
    pub loss_percent: f64,
    /// Duplicates (every SSRC).
    pub duplicates: u64,
    /// Out of order (every SSRC).
    pub out_of_order: u64,
    /// Largest jitter of any SSRC, ms.
    pub max_jitter_ms: f64,
    /// Largest gap of any SSRC, ms.
    pub max_delta_ms: f64,
    /// Times the SSRC changed from one packet to the next.
    pub ssrc_changes: u64,
    /// Per SSRC, in order of appearance.
    pub ssrcs: Vec<SsrcRecord>,
    /// Payload types, by number.
    pub payload_types: Vec<PayloadRecord>,
    /// RFC 4733 events.
    pub telephone_events: Vec<EventRecord>,
    /// RTCP about the stream.
    pub rtcp: Option<RtcpRecord>,
    /// ICMP unreachable reports for the destination.
    pub icmp_unreachable: u64,
    /// The E-model estimate (audio streams with a known clock).
    pub quality: Option<QualityRecord>,
}

//! Entry points for the fuzz targets in `sim/fuzz`, also used to replay the saved corpus as an
//! ordinary test. Each takes arbitrary bytes and checks the invariants that must hold whatever
//! they are; a violation panics (which is what a fuzzer looks for).

use crate::capture::open_reader;
use crate::correlate::Correlator;
use crate::decode::Decoder;
use crate::media::rtp;
use crate::media::stream::{Arrival, SsrcStats};
use crate::sip::{self, Mode, SipMessage, sdp, value};
use crate::stun;
use std::io::Cursor;

/// The capture reader, link dispatch, reassembly, scanner and correlator on a whole file, then the
/// whole analysis (media tracker included).
///
/// # Panics
/// When the packet accounting does not add up (a bug).
pub fn capture(data: &[u8]) {
    let Ok((mut reader, _)) = open_reader(Cursor::new(data.to_vec())) else {
        return;
    };
    let mut decoder = Decoder::default();
    let mut corr = Correlator::default();
    let mut last = 0;
    while let Some(rec) = reader.next_record() {
        if let crate::capture::Record::Packet(f) = &rec {
            corr.set_first_ts(f.ts_ns);
            last = f.ts_ns;
        }
        decoder.record(&rec, &mut corr);
    }
    let acct = decoder.finish(&mut corr);
    assert_eq!(acct.check(), Ok(()), "accounting does not add up");
    assert!(acct.summary().adds_up());
    let out = corr.finish(last, Vec::new());
    for f in out.findings.head() {
        assert!(f.frames.len() <= crate::findings::MAX_FRAMES);
    }
    // The whole pipeline, with the media tracker (held RTP flows must all be resolved).
    if let Ok((reader, c)) = open_reader(Cursor::new(data.to_vec())) {
        let a = crate::analyze(
            reader,
            c,
            "fuzz",
            &crate::AnalyzeOptions::default(),
            &mut |_| {},
        );
        assert!(a.summary.packets.adds_up(), "accounting does not add up");
        for m in a.media.head() {
            assert!(m.lost <= m.ssrcs.iter().map(|s| s.expected).sum::<u64>());
        }
    }
}

/// The SIP scanner in every mode, and the header-value helpers on what it finds.
///
/// # Panics
/// When a scanned message claims more bytes than it has (a bug).
pub fn sip(data: &[u8]) {
    let _ = sip::looks_like_sip(data);
    let _ = sip::start_state(data);
    for mode in [Mode::Datagram, Mode::Truncated, Mode::Stream] {
        if let Ok(s) = sip::scan(data, mode) {
            assert!(s.len as usize <= data.len());
            exercise(&SipMessage {
                bytes: data,
                fields: &s,
            });
        }
    }
    if let Ok(sip::Framed::Message(s)) = sip::scan_stream(data) {
        assert!(s.len as usize <= data.len());
    }
}

fn exercise(m: &SipMessage<'_>) {
    let _ = (
        m.branch(),
        m.from_tag(),
        m.to_tag(),
        m.call_id(),
        m.reason(),
        m.method_name(),
    );
    let contact = m.get(m.fields.contact);
    let _ = value::host_ip(value::uri_host(value::uri(contact)));
    let _ = value::via_host(m.top_via());
    let _ = value::via_transport(m.top_via());
    let _ = value::auth_param(m.get(m.fields.www_authenticate), b"nonce");
    let _ = value::text(m.call_id(), 64);
    let _ = sdp::summarize(m.body());
    let _ = sdp::media(m.body());
}

/// The STUN decoder (and ChannelData detection).
pub fn stun(data: &[u8]) {
    let _ = stun::looks_like_channel_data(data);
    if stun::looks_like_stun(data) {
        let _ = stun::decode(data);
    }
    // Also decode without the framing check, as the attribute walk must be safe on its own.
    let _ = stun::decode(data);
}

/// The RTP, RTCP and telephone-event decoders, the SDP media parser, and the stream statistics
/// on the packets the data decodes to (split at every `0xFF 0xFF`).
///
/// # Panics
/// When a decoded view claims bytes it does not have, or the statistics contradict themselves
/// (a bug).
pub fn rtp(data: &[u8]) {
    let _ = rtp::is_rtcp(data);
    if let Ok(compound) = rtp::decode_rtcp(data) {
        for p in compound {
            assert!(p.blocks().count() <= 31);
        }
    }
    let _ = sdp::media(data);
    let mut stats = SsrcStats::new(0);
    for (i, chunk) in data.split(|&b| b == 0xFF).enumerate() {
        let Ok(p) = rtp::decode_rtp(chunk) else {
            continue;
        };
        assert!(p.payload.len() + 12 <= chunk.len());
        let event = rtp::decode_telephone_event(p.payload);
        let _ = event.map(|e| rtp::event_key(e.event));
        stats.add(
            &Arrival {
                time_ms: i as f64 * 20.0 + f64::from(p.seq % 7),
                seq: p.seq,
                timestamp: p.timestamp,
                payload_type: p.payload_type,
                marker: p.marker,
                clock: if p.payload_type < 96 { 8000 } else { 0 },
                event_end: event.is_some_and(|e| e.end),
            },
            60.0,
        );
        assert!(stats.lost() <= stats.expected());
        assert!(stats.max_jitter_ms().is_finite() && stats.mean_jitter_ms().is_finite());
        let _ = stats.tshark_lost();
    }
}

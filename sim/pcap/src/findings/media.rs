//! Media diagnoses, made when a call's media session is closed: no audio, one-way audio, RTP from
//! another address than the SDP advertised (a NAT the far end does not know about), a private
//! SDP address given to a public peer, media that stops at a fixed time after the answer, and
//! RTP answered by ICMP port unreachable. Silence is not diagnosed when the last SDP of either
//! side is not `sendrecv` (hold, one-way by agreement).

use super::{Finding, FindingKind, Protocol, Severity};
use crate::media::StreamState;
use crate::media::tracker::{CALLEE, CALLER, Session};
use crate::sip::sdp::Direction;
use crate::sip::value::is_private;
use std::net::IpAddr;

/// An answered call shorter than this after the answer is not expected to have media.
const MIN_TALK_NS: i64 = 2_000_000_000;
/// Media that ends this long before the call does has stopped.
const STOPPED_NS: i64 = 3_000_000_000;

fn party(side: usize) -> &'static str {
    if side == CALLER { "caller" } else { "callee" }
}

fn secs(ns: i64) -> f64 {
    ns.max(0) as f64 / 1e9
}

fn is_public(ip: IpAddr) -> bool {
    !is_private(ip) && !ip.is_loopback() && !ip.is_unspecified() && !ip.is_multicast()
}

/// Builds a finding for a session.
fn finding(
    session: &Session,
    severity: Severity,
    kind: FindingKind,
    diagnosis: String,
    frames: impl IntoIterator<Item = u64>,
    total: u64,
    ts_ns: i64,
) -> Finding {
    let mut f = Finding::new(severity, kind, Protocol::Rtp, diagnosis);
    f.call_id = Some(session.call_id.to_string());
    f.ts_ns = ts_ns;
    f.with_frames(frames, total)
}

/// The findings of one session; `streams` are its closed streams.
pub(crate) fn session_findings(
    session: &Session,
    streams: &[StreamState],
    end_ns: i64,
    t0: i64,
) -> Vec<Finding> {
    let mut out = Vec::new();
    for st in streams {
        unexpected_source(session, st, &mut out);
        unreachable(session, st, &mut out);
    }
    private_to_public(session, streams, &mut out);
    // On hold or one-way by agreement (sendonly, recvonly, inactive): silence is expected.
    let held = session.sides.iter().any(|s| {
        s.adverts
            .last()
            .is_some_and(|a| a.direction != Direction::SendRecv)
    });
    if let Some((answer_ts, answer_frame)) = session.answered.filter(|_| !held) {
        let call_end = session.bye.map_or(end_ns, |(b, _)| b);
        if call_end - answer_ts >= MIN_TALK_NS {
            audio_presence(
                session,
                streams,
                answer_ts,
                answer_frame,
                call_end,
                &mut out,
            );
            stopped(session, streams, answer_ts, call_end, t0, &mut out);
        }
    }
    out
}

/// No RTP at all, or RTP from one side only, during an answered call.
fn audio_presence(
    session: &Session,
    streams: &[StreamState],
    answer_ts: i64,
    answer_frame: u64,
    call_end: i64,
    out: &mut Vec<Finding>,
) {
    let talk = secs(call_end - answer_ts);
    let sent = |side: usize| {
        streams
            .iter()
            .any(|s| s.sender == Some(side) && s.packets > 0)
    };
    let sdp = |side: usize| {
        session
            .sides
            .get(side)
            .and_then(|s| s.adverts.last())
            .map_or_else(|| "no SDP".to_owned(), |a| a.rtp.to_string())
    };
    let sdp_frames: Vec<u64> = session
        .sides
        .iter()
        .flat_map(|s| s.adverts.iter().map(|a| a.frame))
        .collect();
    match (sent(CALLER), sent(CALLEE)) {
        (false, false) => {
            let frames = sdp_frames.iter().copied().chain([answer_frame]);
            out.push(finding(
                session,
                Severity::Error,
                FindingKind::NoAudio,
                format!(
                    "The call was answered (frame {answer_frame}) and lasted {talk:.1} s, but the capture holds no RTP in either direction (caller's SDP {}, callee's SDP {}). Check that the capture point sees the media path (media may flow through a relay or another interface), that a firewall lets UDP to the SDP ports through, and that the SDP addresses are reachable from the other side.",
                    sdp(CALLER),
                    sdp(CALLEE)
                ),
                frames,
                0,
                answer_ts,
            ));
        }
        (true, false) | (false, true) => {
            let (talker, silent) = if sent(CALLER) {
                (CALLER, CALLEE)
            } else {
                (CALLEE, CALLER)
            };
            let heard: Vec<&StreamState> = streams
                .iter()
                .filter(|s| s.sender == Some(talker))
                .collect();
            let packets: u64 = heard.iter().map(|s| s.packets).sum();
            let frames: Vec<u64> = heard
                .iter()
                .flat_map(|s| s.frames.list().iter().copied())
                .chain(sdp_frames.iter().copied())
                .collect();
            let to = heard
                .first()
                .map_or_else(String::new, |s| s.dst.to_string());
            out.push(finding(
                session,
                Severity::Error,
                FindingKind::OneWayAudio,
                format!(
                    "One-way audio: during the {talk:.1} s after the answer the {} sent {packets} RTP packet(s) to {to}, but the {} sent none (its SDP advertised {}; the {} advertised {}). The {} either never received the {}'s SDP address, cannot reach it (NAT, firewall), or does not send (hold, inactive, muted). Check which address the {} should send to, and whether a NAT in front of the {} needs symmetric RTP or a media relay.",
                    party(talker),
                    party(silent),
                    sdp(silent),
                    party(talker),
                    sdp(talker),
                    party(silent),
                    party(talker),
                    party(silent),
                    party(talker)
                ),
                frames,
                0,
                heard.first().map_or(answer_ts, |s| s.first_ts),
            ));
        }
        (true, true) => {}
    }
}

/// RTP arriving from another address or port than the sender's SDP advertised.
fn unexpected_source(session: &Session, st: &StreamState, out: &mut Vec<Finding>) {
    let (Some(expected), Some(sender)) = (st.sdp_src, st.sender) else {
        return;
    };
    let what = if expected.ip() == st.src.ip() {
        "port"
    } else {
        "address"
    };
    let nat = if is_private(expected.ip()) && !is_private(st.src.ip()) {
        format!(
            " {} is private and {} public: the {} is behind a NAT that rewrote the packets but not the SDP.",
            expected.ip(),
            st.src.ip(),
            party(sender)
        )
    } else {
        String::new()
    };
    out.push(finding(
        session,
        Severity::Warning,
        FindingKind::MediaUnexpectedSource,
        format!(
            "RTP from the {} to {} comes from {} but its SDP advertised {} (another {what}).{nat} The other side must send its RTP back to where this stream comes from (symmetric RTP, \"comedia\" or latching, e.g. nat=force_rport,comedia on Asterisk, rtpengine/SBC latching), or it will send to the advertised address and the {} will hear nothing.",
            party(sender),
            st.dst,
            st.src,
            expected,
            party(sender)
        ),
        st.frames.list().iter().copied(),
        st.packets,
        st.first_ts,
    ));
}

/// RTP answered by ICMP unreachable.
fn unreachable(session: &Session, st: &StreamState, out: &mut Vec<Finding>) {
    if st.unreachable.total == 0 {
        return;
    }
    let frames = st
        .frames
        .list()
        .iter()
        .take(2)
        .chain(st.unreachable.list())
        .copied();
    out.push(finding(
        session,
        Severity::Error,
        FindingKind::MediaPortUnreachable,
        format!(
            "RTP from {} to {} was answered {} time(s) by ICMP destination unreachable: nothing listens on the port the SDP advertised, so this audio is lost. Check that the receiver opened the port it put in its SDP (a media relay or SBC that rewrote the SDP, an ALG, a restarted phone or a call that already ended on that side).",
            st.src, st.dst, st.unreachable.total
        ),
        frames,
        st.unreachable.total + 2,
        st.first_ts,
    ));
}

/// A private SDP address given to a peer whose own addresses are public.
fn private_to_public(session: &Session, streams: &[StreamState], out: &mut Vec<Finding>) {
    for (side, peer) in [(CALLER, CALLEE), (CALLEE, CALLER)] {
        let (Some(s), Some(p)) = (session.sides.get(side), session.sides.get(peer)) else {
            continue;
        };
        let Some(advert) = s.adverts.last().filter(|a| is_private(a.rtp.ip())) else {
            continue;
        };
        let peer_ip = p
            .adverts
            .last()
            .map(|a| a.rtp.ip())
            .or(p.signalling.map(|a| a.ip()));
        let Some(peer_ip) = peer_ip.filter(|ip| is_public(*ip)) else {
            continue;
        };
        let sent: Vec<&StreamState> = streams.iter().filter(|st| st.dst == advert.rtp).collect();
        let packets: u64 = sent.iter().map(|st| st.packets).sum();
        let what = if packets > 0 {
            format!(
                " {packets} RTP packet(s) were sent there (frames {}…), and cannot arrive.",
                sent.first()
                    .and_then(|st| st.frames.list().first())
                    .copied()
                    .unwrap_or(0)
            )
        } else {
            String::new()
        };
        let frames = std::iter::once(advert.frame).chain(
            sent.iter()
                .flat_map(|st| st.frames.list().iter().copied())
                .take(4),
        );
        out.push(finding(
            session,
            Severity::Error,
            FindingKind::MediaToPrivateAddress,
            format!(
                "The {}'s SDP (frame {}) asks for media at the private address {}, but the {} is on the public address {peer_ip}: a public peer cannot reach a private address.{what} Fix the SDP at the source (STUN or a configured public address on the phone), rewrite it at a proxy/SBC (e.g. fix_nated_sdp / rtpengine), or have the peer latch to where the RTP really comes from.",
                party(side),
                advert.frame,
                advert.rtp,
                party(peer)
            ),
            frames,
            0,
            0,
        ));
        if let Some(f) = out.last_mut() {
            f.ts_ns = sent.first().map_or(0, |st| st.first_ts);
        }
    }
}

/// Every stream of the call stopped well before the call ended.
fn stopped(
    session: &Session,
    streams: &[StreamState],
    answer_ts: i64,
    call_end: i64,
    t0: i64,
    out: &mut Vec<Finding>,
) {
    let live: Vec<&StreamState> = streams.iter().filter(|s| s.packets > 0).collect();
    let Some(last) = live.iter().map(|s| s.last_ts).max() else {
        return;
    };
    if call_end - last < STOPPED_NS {
        return;
    }
    let first_stop = live.iter().map(|s| s.last_ts).min().unwrap_or(last);
    let after = secs(last - answer_ts);
    let spread = secs(last - first_stop);
    let directions = if live.len() > 1 {
        format!(
            "in all {} streams (within {spread:.1} s of each other)",
            live.len()
        )
    } else {
        "in the only stream".to_owned()
    };
    let end = if session.bye.is_some() {
        format!("the BYE at {:.1} s", secs(call_end - t0))
    } else {
        format!("the end of the capture at {:.1} s", secs(call_end - t0))
    };
    let frames: Vec<u64> = live.iter().map(|s| s.last_frame).collect();
    out.push(finding(
        session,
        Severity::Error,
        FindingKind::MediaStopped,
        format!(
            "Media stopped {after:.1} s after the answer {directions} while the call went on for another {:.1} s, until {end}. A stop at a fixed time after the answer points at a timer: a NAT or firewall UDP mapping that expires (often 30, 60 or 180 s without refresh), a media relay's RTP timeout, or a session timer / missing ACK (32 s) ending the call on one side only. Compare with other calls: if they stop at the same time, look for that timer.",
            secs(call_end - last)
        ),
        frames,
        live.len() as u64,
        last,
    ));
}

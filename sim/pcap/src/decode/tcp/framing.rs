//! Framing a reassembled byte stream: SIP messages by Content-Length (keep-alive CRLFs between
//! them), resynchronisation on the next start line after a gap or a broken message, detection of
//! what an unknown stream carries (SIP, WebSocket, TLS), and WebSocket messages.

use super::{At, Dir, Mode, Round, StreamKind, StreamSink, ws};
use crate::sip::{Framed, Mode as ScanMode, ScanError, StartState};

/// One framing step's result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    /// This many bytes (more than zero) were used; go on.
    Used(usize),
    /// The state changed; look at the same bytes again.
    Again,
    /// More bytes are needed.
    Wait,
}

/// Frames as many messages as `data` holds; returns the bytes used.
pub(super) fn frame_bytes(
    d: &mut Dir,
    data: &[u8],
    at: At,
    round: &mut Round,
    sink: &mut dyn StreamSink,
) -> usize {
    let mut pos = 0;
    // Each `Again` changes the mode or clears the resync flag, so it cannot repeat forever.
    let mut agains = 0;
    loop {
        let rest = data.get(pos..).unwrap_or_default();
        if rest.is_empty() {
            return pos;
        }
        let step = match &d.mode {
            Mode::Unknown => detect(d, rest, round),
            Mode::Sip if d.resync => resync(d, rest, round),
            Mode::Sip => sip_step(d, rest, at, round, sink),
            Mode::Ws(_) => ws_step(d, rest, at, round, sink),
            Mode::NotSip => {
                round.junk = true;
                Step::Used(rest.len())
            }
        };
        match step {
            Step::Used(n) => pos += n.max(1),
            Step::Again if agains < 4 => agains += 1,
            Step::Again | Step::Wait => return pos,
        }
    }
}

/// Unknown content: decide whether this is SIP, WebSocket or something else.
fn detect(d: &mut Dir, rest: &[u8], round: &mut Round) -> Step {
    if rest.first() == Some(&0x16) && rest.get(1) == Some(&0x03) {
        d.mode = Mode::NotSip;
        round.junk = true;
        return Step::Used(rest.len());
    }
    if ws::is_upgrade(rest) {
        d.mode = Mode::Ws(ws::Phase::Handshake);
        return Step::Again;
    }
    match find_start(rest, round) {
        Found::At(0) => {
            d.mode = Mode::Sip;
            d.resync = false;
            Step::Again
        }
        Found::At(n) => {
            d.mode = Mode::Sip;
            d.resync = false;
            Step::Used(n)
        }
        Found::Maybe(0) => Step::Wait,
        Found::Maybe(n) | Found::Nowhere(n) => Step::Used(n),
    }
}

/// In a SIP stream after a gap or a broken message: skip to the next start line.
fn resync(d: &mut Dir, rest: &[u8], round: &mut Round) -> Step {
    match find_start(rest, round) {
        Found::At(0) => {
            d.resync = false;
            Step::Again
        }
        Found::At(n) => {
            d.resync = false;
            Step::Used(n)
        }
        Found::Maybe(0) => Step::Wait,
        Found::Maybe(n) | Found::Nowhere(n) => Step::Used(n),
    }
}

/// Where the next start line is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Found {
    /// A start line begins at this offset.
    At(usize),
    /// A line that may become a start line begins here (not complete yet).
    Maybe(usize),
    /// None in these bytes (all of them can be discarded).
    Nowhere(usize),
}

/// Looks for a start line at the beginning of a line; notes skipped keep-alives and junk.
fn find_start(rest: &[u8], round: &mut Round) -> Found {
    let blank = rest.iter().take_while(|c| c.is_ascii_whitespace()).count();
    round.keepalive |= blank > 0;
    let mut at = blank;
    loop {
        let here = rest.get(at..).unwrap_or_default();
        match crate::sip::start_state(here) {
            StartState::Yes => {
                round.junk |= at > blank;
                return Found::At(at);
            }
            StartState::Maybe => {
                round.junk |= at > blank;
                return Found::Maybe(at);
            }
            StartState::No => {}
        }
        match memchr::memchr(b'\n', here) {
            Some(nl) => at += nl + 1,
            None => {
                round.junk |= rest.len() > blank;
                return Found::Nowhere(rest.len());
            }
        }
    }
}

/// One SIP message (or keep-alive CRLFs) at the start of `rest`.
fn sip_step(
    d: &mut Dir,
    rest: &[u8],
    at: At,
    round: &mut Round,
    sink: &mut dyn StreamSink,
) -> Step {
    let blank = rest
        .iter()
        .take_while(|c| **c == b'\r' || **c == b'\n')
        .count();
    if blank > 0 {
        round.keepalive = true;
        return Step::Used(blank);
    }
    match crate::sip::scan_stream(rest) {
        Ok(Framed::Message(s)) => {
            let len = s.len as usize;
            sink.message(
                at.key,
                at.frame,
                at.ts_ns,
                StreamKind::Tcp,
                rest.get(..len).unwrap_or(rest),
                &s,
            );
            round.messages += 1;
            Step::Used(len)
        }
        Ok(Framed::Malformed { why, len }) => {
            sink.malformed(why);
            round.malformed.get_or_insert(why);
            Step::Used(len)
        }
        Err(ScanError::Incomplete) => Step::Wait,
        Err(ScanError::Malformed(why)) => {
            sink.malformed(why);
            round.malformed.get_or_insert(why);
            // Resynchronise on the next start line, after this one.
            d.resync = true;
            let nl = memchr::memchr(b'\n', rest).map_or(rest.len(), |n| n + 1);
            Step::Used(nl)
        }
    }
}

/// WebSocket frames; each complete message is scanned as a datagram.
fn ws_step(d: &mut Dir, rest: &[u8], at: At, round: &mut Round, sink: &mut dyn StreamSink) -> Step {
    let Mode::Ws(phase) = &mut d.mode else {
        return Step::Wait;
    };
    match ws::next(phase, rest) {
        ws::Step::Incomplete => Step::Wait,
        ws::Step::Invalid => {
            d.mode = Mode::NotSip;
            round.junk = true;
            Step::Used(rest.len())
        }
        ws::Step::Consumed { consumed, message } => {
            if let Some(m) = message {
                match crate::sip::scan(&m, ScanMode::Datagram) {
                    Ok(s) => {
                        sink.message(at.key, at.frame, at.ts_ns, StreamKind::WebSocket, &m, &s);
                        round.messages += 1;
                    }
                    Err(ScanError::Malformed(why)) => {
                        sink.malformed(why);
                        round.malformed.get_or_insert(why);
                    }
                    Err(ScanError::Incomplete) => {}
                }
            } else {
                round.keepalive = true;
            }
            Step::Used(consumed)
        }
    }
}

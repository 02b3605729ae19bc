//! WebSocket framing (RFC 6455) for SIP over WebSocket (RFC 7118): the HTTP upgrade is skipped,
//! then each text or binary message (unmasked, continuation frames joined) is one SIP message.

use memchr::memmem;

/// Largest WebSocket message accepted (larger ones stop decoding of the flow).
pub(crate) const MAX_MESSAGE: usize = 256 * 1024;

/// Where a WebSocket direction is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Before the blank line that ends the HTTP upgrade request or response.
    Handshake,
    /// Exchanging frames; holds the fragments of a message not finished yet.
    Frames(Vec<u8>),
}

/// Whether stream data opens a WebSocket upgrade (request from the client or 101 from the server).
pub(crate) fn is_upgrade(data: &[u8]) -> bool {
    let head = data.get(..data.len().min(2048)).unwrap_or(data);
    let upgrade_line = head.starts_with(b"GET ") || head.starts_with(b"HTTP/1.1 101");
    upgrade_line && memmem::find(&head.to_ascii_lowercase(), b"websocket").is_some()
}

/// One event from [`next`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// More bytes are needed.
    Incomplete,
    /// `consumed` bytes used; `message` is a complete message payload, if one finished.
    Consumed {
        consumed: usize,
        message: Option<Vec<u8>>,
    },
    /// The stream is not (or no longer) valid WebSocket.
    Invalid,
}

/// Reads the next handshake end or frame from `data`.
pub(crate) fn next(phase: &mut Phase, data: &[u8]) -> Step {
    match phase {
        Phase::Handshake => match memmem::find(data, b"\r\n\r\n") {
            Some(end) => {
                *phase = Phase::Frames(Vec::new());
                Step::Consumed {
                    consumed: end + 4,
                    message: None,
                }
            }
            None if data.len() > 16 * 1024 => Step::Invalid,
            None => Step::Incomplete,
        },
        Phase::Frames(partial) => frame(partial, data),
    }
}

fn frame(partial: &mut Vec<u8>, data: &[u8]) -> Step {
    let (Some(&b0), Some(&b1)) = (data.first(), data.get(1)) else {
        return Step::Incomplete;
    };
    let (fin, opcode, masked) = (b0 & 0x80 != 0, b0 & 0x0F, b1 & 0x80 != 0);
    let (len, mut at) = match b1 & 0x7F {
        126 => match data.get(2..4).and_then(|b| <[u8; 2]>::try_from(b).ok()) {
            Some(b) => (usize::from(u16::from_be_bytes(b)), 4),
            None => return Step::Incomplete,
        },
        127 => match data.get(2..10).and_then(|b| <[u8; 8]>::try_from(b).ok()) {
            Some(b) => (
                usize::try_from(u64::from_be_bytes(b)).unwrap_or(usize::MAX),
                10,
            ),
            None => return Step::Incomplete,
        },
        n => (usize::from(n), 2),
    };
    if len > MAX_MESSAGE || partial.len() + len > MAX_MESSAGE || opcode & 0x08 == 0 && opcode > 2 {
        return Step::Invalid;
    }
    let mask = if masked {
        let Some(m) = data
            .get(at..at + 4)
            .and_then(|m| <[u8; 4]>::try_from(m).ok())
        else {
            return Step::Incomplete;
        };
        at += 4;
        m
    } else {
        [0; 4]
    };
    let Some(payload) = data.get(at..at + len) else {
        return Step::Incomplete;
    };
    let consumed = at + len;
    if opcode & 0x08 != 0 {
        // Close, ping, pong.
        return Step::Consumed {
            consumed,
            message: None,
        };
    }
    partial.extend(payload.iter().zip(mask.iter().cycle()).map(|(b, m)| b ^ m));
    let message = fin.then(|| std::mem::take(partial));
    Step::Consumed { consumed, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ws_handshake_then_masked_fragmented_message() {
        let mut p = Phase::Handshake;
        let hs = b"GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n";
        assert!(is_upgrade(hs));
        assert_eq!(
            next(&mut p, hs),
            Step::Consumed {
                consumed: hs.len(),
                message: None
            }
        );
        let mask = [1u8, 2, 3, 4];
        let masked = |s: &[u8]| -> Vec<u8> {
            s.iter()
                .zip(mask.iter().cycle())
                .map(|(b, m)| b ^ m)
                .collect()
        };
        let mut f1 = vec![0x01, 0x80 | 4];
        f1.extend_from_slice(&mask);
        f1.extend(masked(b"SIP/"));
        let mut f2 = vec![0x80, 0x80 | 3];
        f2.extend_from_slice(&mask);
        f2.extend(masked(b"2.0"));
        assert!(matches!(
            next(&mut p, &f1),
            Step::Consumed { message: None, .. }
        ));
        assert_eq!(next(&mut p, &f2[..5]), Step::Incomplete);
        assert_eq!(
            next(&mut p, &f2),
            Step::Consumed {
                consumed: f2.len(),
                message: Some(b"SIP/2.0".to_vec())
            }
        );
    }
}

//! STUN (RFC 8489) and TURN (RFC 8656) messages as seen in captures: method, class, transaction
//! id, and the attributes that explain ICE and NAT behaviour (XOR-MAPPED-ADDRESS, ERROR-CODE,
//! USERNAME, XOR-RELAYED-ADDRESS, LIFETIME, PRIORITY, USE-CANDIDATE, ICE-CONTROLLING/CONTROLLED).
//!
//! Detection is by content: two zero bits, the magic cookie `0x2112A442`, and a length that
//! matches the datagram. RFC 3489 messages (no cookie) are not recognised.

use serde::Serialize;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The magic cookie.
pub const MAGIC: u32 = 0x2112_A442;

/// The four message classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StunClass {
    /// A request.
    Request,
    /// An indication.
    Indication,
    /// A success response.
    Success,
    /// An error response.
    Error,
}

impl StunClass {
    /// The class name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Request => "request",
            Self::Indication => "indication",
            Self::Success => "success",
            Self::Error => "error",
        }
    }
}

/// A decoded STUN message (owned: attributes are short).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StunMessage {
    /// The 12-bit method.
    pub method: u16,
    /// The class.
    pub class: Option<StunClass>,
    /// The 96-bit transaction id.
    pub txid: [u8; 12],
    /// XOR-MAPPED-ADDRESS (or MAPPED-ADDRESS): the server-reflexive address.
    pub mapped: Option<SocketAddr>,
    /// XOR-RELAYED-ADDRESS (TURN).
    pub relayed: Option<SocketAddr>,
    /// ERROR-CODE: code and reason phrase.
    pub error: Option<(u16, String)>,
    /// USERNAME (ICE: `remote-ufrag:local-ufrag`).
    pub username: Option<String>,
    /// REALM.
    pub realm: Option<String>,
    /// LIFETIME (TURN), seconds.
    pub lifetime: Option<u32>,
    /// PRIORITY (ICE).
    pub priority: Option<u32>,
    /// USE-CANDIDATE (ICE nomination).
    pub use_candidate: bool,
    /// ICE-CONTROLLING present.
    pub controlling: bool,
    /// ICE-CONTROLLED present.
    pub controlled: bool,
    /// MESSAGE-INTEGRITY or MESSAGE-INTEGRITY-SHA256 present.
    pub integrity: bool,
    /// FINGERPRINT present.
    pub fingerprint: bool,
}

/// Why a STUN message could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StunMalformed {
    /// An attribute runs past the end of the message.
    #[error("attribute overruns the message")]
    AttributeOverrun,
    /// An address attribute has a bad family or length.
    #[error("bad address attribute")]
    BadAddress,
}

/// Whether a datagram is a STUN message (cookie, zero bits, length).
pub fn looks_like_stun(b: &[u8]) -> bool {
    let (Some(t), Some(len), Some(cookie)) = (be16(b, 0), be16(b, 2), be32(b, 4)) else {
        return false;
    };
    t & 0xC000 == 0 && cookie == MAGIC && len % 4 == 0 && usize::from(len) + 20 == b.len()
}

/// Whether a datagram is TURN ChannelData (channel numbers 0x4000..=0x4FFF).
pub fn looks_like_channel_data(b: &[u8]) -> bool {
    let (Some(ch), Some(len)) = (be16(b, 0), be16(b, 2)) else {
        return false;
    };
    (0x4000..=0x4FFF).contains(&ch)
        && usize::from(len) + 4 <= b.len()
        && b.len() <= usize::from(len) + 7
}

/// Decodes a message that [`looks_like_stun`].
///
/// # Errors
/// An attribute is broken.
pub fn decode(b: &[u8]) -> Result<StunMessage, StunMalformed> {
    let t = be16(b, 0).unwrap_or(0);
    let mut m = StunMessage {
        method: (t & 0x000F) | ((t >> 1) & 0x0070) | ((t >> 2) & 0x0F80),
        class: Some(match ((t >> 7) & 2) | ((t >> 4) & 1) {
            0 => StunClass::Request,
            1 => StunClass::Indication,
            2 => StunClass::Success,
            _ => StunClass::Error,
        }),
        ..StunMessage::default()
    };
    if let Some(id) = b.get(8..20) {
        m.txid.copy_from_slice(id);
    }
    let mut at = 20;
    while at + 4 <= b.len() {
        let (ty, len) = (
            be16(b, at).unwrap_or(0),
            usize::from(be16(b, at + 2).unwrap_or(0)),
        );
        let value = b
            .get(at + 4..at + 4 + len)
            .ok_or(StunMalformed::AttributeOverrun)?;
        attribute(&mut m, ty, value)?;
        at += 4 + len.div_ceil(4) * 4;
    }
    Ok(m)
}

fn attribute(m: &mut StunMessage, ty: u16, v: &[u8]) -> Result<(), StunMalformed> {
    match ty {
        0x0001 if m.mapped.is_none() => m.mapped = Some(address(v, None)?),
        0x0020 | 0x8020 => m.mapped = Some(address(v, Some(m.txid))?),
        0x0016 => m.relayed = Some(address(v, Some(m.txid))?),
        0x0009 => m.error = error_code(v),
        0x0006 => m.username = Some(crate::sip::value::text(v, 128)),
        0x0014 => m.realm = Some(crate::sip::value::text(v, 128)),
        0x000D => m.lifetime = be32(v, 0),
        0x0024 => m.priority = be32(v, 0),
        0x0025 => m.use_candidate = true,
        0x802A => m.controlling = true,
        0x8029 => m.controlled = true,
        0x0008 | 0x001C => m.integrity = true,
        0x8028 => m.fingerprint = true,
        _ => {}
    }
    Ok(())
}

/// (XOR-)MAPPED-ADDRESS: family, port, address; XORed with the cookie (and transaction id).
fn address(v: &[u8], xor: Option<[u8; 12]>) -> Result<SocketAddr, StunMalformed> {
    let family = *v.get(1).ok_or(StunMalformed::BadAddress)?;
    let mut port = be16(v, 2).ok_or(StunMalformed::BadAddress)?;
    let mut key = [0u8; 16];
    key[..4].copy_from_slice(&MAGIC.to_be_bytes());
    if let Some(txid) = xor {
        key[4..].copy_from_slice(&txid);
        port ^= 0x2112;
    }
    let xored = |i: usize, b: &u8| {
        if xor.is_some() {
            b ^ key.get(i).copied().unwrap_or(0)
        } else {
            *b
        }
    };
    let ip = match (family, v.get(4..)) {
        (1, Some(a)) if a.len() == 4 => {
            let mut o = [0u8; 4];
            for (i, (dst, b)) in o.iter_mut().zip(a).enumerate() {
                *dst = xored(i, b);
            }
            IpAddr::V4(Ipv4Addr::from(o))
        }
        (2, Some(a)) if a.len() == 16 => {
            let mut o = [0u8; 16];
            for (i, (dst, b)) in o.iter_mut().zip(a).enumerate() {
                *dst = xored(i, b);
            }
            IpAddr::V6(Ipv6Addr::from(o))
        }
        _ => return Err(StunMalformed::BadAddress),
    };
    Ok(SocketAddr::new(ip, port))
}

/// ERROR-CODE: class (hundreds) in byte 2, number in byte 3, UTF-8 reason after.
fn error_code(v: &[u8]) -> Option<(u16, String)> {
    let class = u16::from(*v.get(2)? & 0x07);
    let number = u16::from(*v.get(3)?);
    let reason = crate::sip::value::text(v.get(4..).unwrap_or_default(), 128);
    Some((class * 100 + number % 100, reason))
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The name of a STUN/TURN method.
pub const fn method_name(method: u16) -> &'static str {
    match method {
        0x001 => "Binding",
        0x003 => "Allocate",
        0x004 => "Refresh",
        0x006 => "Send",
        0x007 => "Data",
        0x008 => "CreatePermission",
        0x009 => "ChannelBind",
        0x00A => "Connect",
        0x00B => "ConnectionBind",
        0x00C => "ConnectionAttempt",
        _ => "Unknown",
    }
}

/// The standard reason phrase, meaning and RFC of a STUN/TURN error code.
pub fn error_info(code: u16) -> Option<(&'static str, &'static str, &'static str)> {
    ERRORS
        .iter()
        .find(|(c, ..)| *c == code)
        .map(|&(_, p, m, r)| (p, m, r))
}

/// STUN and TURN error codes: (code, phrase, meaning, RFC).
pub const ERRORS: &[(u16, &str, &str, &str)] = &[
    (
        300,
        "Try Alternate",
        "Use the server named in ALTERNATE-SERVER.",
        "RFC 8489",
    ),
    (400, "Bad Request", "The request was malformed.", "RFC 8489"),
    (
        401,
        "Unauthenticated",
        "Credentials are missing or wrong (long-term: first request is challenged with REALM/NONCE; short-term/ICE: USERNAME or MESSAGE-INTEGRITY did not verify).",
        "RFC 8489",
    ),
    (
        403,
        "Forbidden",
        "The request is valid but not allowed (e.g. a TURN permission to a forbidden peer).",
        "RFC 8656",
    ),
    (
        405,
        "Mobility Forbidden",
        "TURN mobility is not permitted.",
        "RFC 8016",
    ),
    (
        420,
        "Unknown Attribute",
        "A comprehension-required attribute was not understood.",
        "RFC 8489",
    ),
    (
        437,
        "Allocation Mismatch",
        "The TURN request does not match an allocation (Refresh after it expired, or a second Allocate on the same 5-tuple).",
        "RFC 8656",
    ),
    (
        438,
        "Stale Nonce",
        "The NONCE expired; retry with the new one (normal during long TURN sessions).",
        "RFC 8489",
    ),
    (
        440,
        "Address Family not Supported",
        "The requested address family is not supported.",
        "RFC 8656",
    ),
    (
        441,
        "Wrong Credentials",
        "The credentials differ from those used to create the TURN allocation.",
        "RFC 8656",
    ),
    (
        442,
        "Unsupported Transport Protocol",
        "The requested relay transport is not supported.",
        "RFC 8656",
    ),
    (
        443,
        "Peer Address Family Mismatch",
        "The peer address family differs from the relayed address's.",
        "RFC 8656",
    ),
    (
        446,
        "Connection Already Exists",
        "A TURN-TCP connection to this peer already exists.",
        "RFC 6062",
    ),
    (
        447,
        "Connection Timeout or Failure",
        "The TURN server could not connect to the peer.",
        "RFC 6062",
    ),
    (
        486,
        "Allocation Quota Reached",
        "The user has too many TURN allocations.",
        "RFC 8656",
    ),
    (
        487,
        "Role Conflict",
        "Both ICE agents claim the same role; the receiver must switch role (normal, resolved automatically).",
        "RFC 8445",
    ),
    (
        500,
        "Server Error",
        "The server hit a temporary error.",
        "RFC 8489",
    ),
    (
        508,
        "Insufficient Capacity",
        "The TURN server has no relay capacity left.",
        "RFC 8656",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// A Binding success response with XOR-MAPPED-ADDRESS 192.0.2.1:32853 (RFC 5769 §2.2).
    fn rfc5769_ipv4_response() -> Vec<u8> {
        let hex = "0101003c2112a442b7e7a701bc34d686fa87dfae8022000b7465737420766563746f7220\
                   002000080001a147e112a64300080014\
                   2b91f599fd9e90c38c7489f92af9ba53f06be7d780280004c07d4c96";
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn stun_rfc5769_response_decodes_mapped_address() {
        let b = rfc5769_ipv4_response();
        assert!(looks_like_stun(&b));
        let m = decode(&b).unwrap();
        assert_eq!(m.method, 1);
        assert_eq!(m.class, Some(StunClass::Success));
        assert_eq!(m.mapped, Some("192.0.2.1:32853".parse().unwrap()));
        assert!(m.integrity && m.fingerprint);
    }

    #[test]
    fn stun_error_code_and_overrun() {
        let mut b = vec![0x01, 0x11, 0, 12];
        b.extend_from_slice(&MAGIC.to_be_bytes());
        b.extend_from_slice(&[7; 12]);
        b.extend_from_slice(&[0, 9, 0, 8, 0, 0, 4, 1, b'U', b'n', b'a', b'u']);
        let m = decode(&b).unwrap();
        assert_eq!(m.class, Some(StunClass::Error));
        assert_eq!(m.error, Some((401, "Unau".to_string())));
        b[23] = 40;
        assert_eq!(decode(&b), Err(StunMalformed::AttributeOverrun));
    }

    #[test]
    fn stun_detection_rejects_sip_and_rtp() {
        assert!(!looks_like_stun(b"INVITE sip:a@b SIP/2.0\r\n\r\n"));
        assert!(!looks_like_stun(&[0x80; 40]));
    }
}

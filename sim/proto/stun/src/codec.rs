//! The crate's edge to the rtc-stun codec: checked decoding, building messages with
//! MESSAGE-INTEGRITY and FINGERPRINT last, and typed access to the attributes the cores read.
//! rtc-stun types stay inside the crate.

use crate::crypto::CRYPTO;
use rand_core::RngCore;
use rtc_stun::addr::MappedAddress;
use rtc_stun::attributes::{
    ATTR_CHANGE_REQUEST, ATTR_ERROR_CODE, ATTR_FINGERPRINT, ATTR_MESSAGE_INTEGRITY, AttrType,
};
use rtc_stun::error_code::{ERROR_REASONS, ErrorCode, ErrorCodeAttribute};
use rtc_stun::fingerprint::FINGERPRINT;
use rtc_stun::integrity::MessageIntegrity;
use rtc_stun::message::{Getter, Message, MessageType, Setter, TransactionId};
use rtc_stun::textattrs::TextAttribute;
use rtc_stun::xoraddr::XorMappedAddress;
use std::net::SocketAddr;

pub(crate) use rtc_stun::message::TRANSACTION_ID_SIZE;

/// The RFC 5389 magic cookie, bytes 4..8 of every STUN message.
const MAGIC: [u8; 4] = [0x21, 0x12, 0xa4, 0x42];

/// A STUN message (RFC 5389 framing) or `None`: never panics on any input.
pub(crate) fn decode(payload: &[u8]) -> Option<Message> {
    if payload.len() < 20 || payload.first().is_some_and(|b| b & 0xc0 != 0) {
        return None;
    }
    if payload.get(4..8) != Some(&MAGIC[..]) {
        return None;
    }
    let declared = usize::from(u16::from_be_bytes([payload[2], payload[3]]));
    if declared % 4 != 0 || payload.len() != 20 + declared {
        return None;
    }
    let mut m = Message::new();
    m.unmarshal_binary(payload).ok()?;
    Some(m)
}

/// A transaction id drawn from a seeded RNG.
pub(crate) fn transaction_id(rng: &mut impl RngCore) -> TransactionId {
    let mut id = [0u8; TRANSACTION_ID_SIZE];
    rng.fill_bytes(&mut id);
    TransactionId(id)
}

/// One attribute to encode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Attr {
    /// An address in the XOR encoding (RFC 5389 §15.2).
    Xor(AttrType, SocketAddr),
    /// An address in the plain encoding (RFC 3489 §11.2.1).
    Plain(AttrType, SocketAddr),
    /// USERNAME, REALM, NONCE or SOFTWARE.
    Text(AttrType, String),
    /// Any attribute, as type and value bytes.
    Raw(AttrType, Vec<u8>),
    /// ERROR-CODE with the standard reason phrase.
    Error(u16),
}

impl Attr {
    fn add_to(&self, m: &mut Message) -> Option<()> {
        match self {
            Self::Xor(t, a) => XorMappedAddress {
                ip: a.ip(),
                port: a.port(),
            }
            .add_to_as(m, *t)
            .ok(),
            Self::Plain(t, a) => MappedAddress {
                ip: a.ip(),
                port: a.port(),
            }
            .add_to_as(m, *t)
            .ok(),
            Self::Text(t, s) => TextAttribute::new(*t, s.clone()).add_to(m).ok(),
            Self::Raw(t, v) => {
                m.add(*t, v);
                Some(())
            }
            Self::Error(code) => {
                let reason = ERROR_REASONS
                    .get(&ErrorCode(*code))
                    .cloned()
                    .unwrap_or_else(|| b"Error".to_vec());
                ErrorCodeAttribute {
                    code: ErrorCode(*code),
                    reason,
                }
                .add_to(m)
                .ok()
            }
        }
    }
}

/// Builds a message: `attrs` in order, then MESSAGE-INTEGRITY with `key` (if any), then
/// FINGERPRINT (if asked). `None` if an attribute does not fit.
pub(crate) fn encode(
    typ: MessageType,
    id: TransactionId,
    attrs: &[Attr],
    key: Option<&[u8]>,
    fingerprint: bool,
) -> Option<Vec<u8>> {
    let mut m = Message::new();
    m.typ = typ;
    m.transaction_id = id;
    m.write_header();
    for a in attrs {
        a.add_to(&mut m)?;
    }
    if let Some(key) = key {
        MessageIntegrity::new_raw_integrity_with_provider(key.to_vec(), &CRYPTO)
            .add_to(&mut m)
            .ok()?;
    }
    if fingerprint {
        FINGERPRINT.add_to(&mut m).ok()?;
    }
    Some(m.raw)
}

/// The CHANGE-REQUEST attribute (RFC 5780 §7.2, RFC 3489 §11.2.4).
pub(crate) fn change_request(change: Change) -> Attr {
    let mut flags = 0u8;
    if change.ip {
        flags |= 0x04;
    }
    if change.port {
        flags |= 0x02;
    }
    Attr::Raw(ATTR_CHANGE_REQUEST, vec![0, 0, 0, flags])
}

/// What a CHANGE-REQUEST asks for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Change {
    /// Answer from the alternate IP address.
    pub ip: bool,
    /// Answer from the alternate port.
    pub port: bool,
}

impl Change {
    /// No change.
    pub const NONE: Self = Self {
        ip: false,
        port: false,
    };
    /// Change the port only.
    pub const PORT: Self = Self {
        ip: false,
        port: true,
    };
    /// Change both IP and port.
    pub const BOTH: Self = Self {
        ip: true,
        port: true,
    };
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match (self.ip, self.port) {
            (false, false) => "none",
            (true, false) => "ip",
            (false, true) => "port",
            (true, true) => "ip+port",
        })
    }
}

/// The CHANGE-REQUEST of a message: `None` if absent, `Err` if malformed.
pub(crate) fn get_change(m: &Message) -> Result<Option<Change>, ()> {
    let Ok(v) = m.get(ATTR_CHANGE_REQUEST) else {
        return Ok(None);
    };
    let [_, _, _, flags] = v[..] else {
        return Err(());
    };
    Ok(Some(Change {
        ip: flags & 0x04 != 0,
        port: flags & 0x02 != 0,
    }))
}

/// An address attribute in XOR encoding.
pub(crate) fn get_xor(m: &Message, attr: AttrType) -> Option<SocketAddr> {
    let mut a = XorMappedAddress::default();
    a.get_from_as(m, attr).ok()?;
    Some(SocketAddr::new(a.ip, a.port))
}

/// Every attribute of type `attr` in XOR encoding, in message order (CreatePermission may
/// carry several XOR-PEER-ADDRESS).
pub(crate) fn get_all_xor(m: &Message, attr: AttrType) -> Vec<SocketAddr> {
    let cookie = 0x2112_a442_u32.to_be_bytes();
    let mut mask = [0u8; 16];
    mask[..4].copy_from_slice(&cookie);
    mask[4..].copy_from_slice(&m.transaction_id.0);
    let decode = |v: &[u8]| -> Option<SocketAddr> {
        let port = u16::from_be_bytes([*v.get(2)?, *v.get(3)?]) ^ 0x2112;
        let ip = match (v.get(1)?, v.get(4..)?) {
            (0x01, b) if b.len() == 4 => {
                let o: [u8; 4] = std::array::from_fn(|i| b[i] ^ mask[i]);
                std::net::IpAddr::from(o)
            }
            (0x02, b) if b.len() == 16 => {
                let o: [u8; 16] = std::array::from_fn(|i| b[i] ^ mask[i]);
                std::net::IpAddr::from(o)
            }
            _ => return None,
        };
        Some(SocketAddr::new(ip, port))
    };
    m.attributes
        .0
        .iter()
        .filter(|a| a.typ == attr)
        .filter_map(|a| decode(&a.value))
        .collect()
}

/// The value of the first attribute of type `attr`.
pub(crate) fn get_raw(m: &Message, attr: AttrType) -> Option<Vec<u8>> {
    m.get(attr).ok()
}

/// An address attribute in plain encoding.
pub(crate) fn get_plain(m: &Message, attr: AttrType) -> Option<SocketAddr> {
    let mut a = MappedAddress::default();
    a.get_from_as(m, attr).ok()?;
    Some(SocketAddr::new(a.ip, a.port))
}

/// A text attribute.
pub(crate) fn get_text(m: &Message, attr: AttrType) -> Option<String> {
    TextAttribute::get_from_as(m, attr).ok().map(|t| t.text)
}

/// The ERROR-CODE number, if the message has a well-formed one.
pub(crate) fn get_error(m: &Message) -> Option<u16> {
    if !m.contains(ATTR_ERROR_CODE) {
        return None;
    }
    let mut e = ErrorCodeAttribute::default();
    e.get_from(m).ok()?;
    Some(e.code.0)
}

/// What a FINGERPRINT check found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fingerprint {
    /// No FINGERPRINT attribute.
    Absent,
    /// Present and right.
    Valid,
    /// Present and wrong (or not last).
    Invalid,
}

pub(crate) fn check_fingerprint(m: &Message) -> Fingerprint {
    if !m.contains(ATTR_FINGERPRINT) {
        return Fingerprint::Absent;
    }
    let last = m.attributes.0.last().map(|a| a.typ);
    if last != Some(ATTR_FINGERPRINT) || FINGERPRINT.check(m).is_err() {
        return Fingerprint::Invalid;
    }
    Fingerprint::Valid
}

/// Whether MESSAGE-INTEGRITY is present and verifies with `key`.
pub(crate) fn check_integrity(m: &Message, key: &[u8]) -> bool {
    let Ok(value) = m.get(ATTR_MESSAGE_INTEGRITY) else {
        return false;
    };
    if value.len() != 20 {
        return false;
    }
    let mut copy = m.clone();
    MessageIntegrity::check(&mut copy, key, &CRYPTO).is_ok()
}

/// The long-term credential key, MD5(username ":" realm ":" password) (RFC 5389 §15.4).
pub(crate) fn long_term_key(username: &str, realm: &str, password: &str) -> Vec<u8> {
    MessageIntegrity::long_term_integrity_key(
        username.to_owned(),
        realm.to_owned(),
        password.to_owned(),
        &CRYPTO,
    )
    .unwrap_or_default()
}

/// Flips one bit of the FINGERPRINT value of an encoded message (the "corrupt fingerprint"
/// policy). A message without FINGERPRINT is returned unchanged.
pub(crate) fn corrupt_fingerprint(mut bytes: Vec<u8>) -> Vec<u8> {
    let n = bytes.len();
    if n >= 28 && bytes.get(n - 8..n - 6) == Some(&[0x80, 0x28][..]) {
        bytes[n - 1] ^= 0x01;
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtc_stun::attributes::{ATTR_SOFTWARE, ATTR_XORMAPPED_ADDRESS};
    use rtc_stun::message::BINDING_SUCCESS;

    #[test]
    fn codec_encode_decode_round_trips_with_integrity_and_fingerprint() {
        let id = TransactionId([7; 12]);
        let a: SocketAddr = "198.51.100.1:5000".parse().unwrap();
        let bytes = encode(
            BINDING_SUCCESS,
            id,
            &[
                Attr::Xor(ATTR_XORMAPPED_ADDRESS, a),
                Attr::Text(ATTR_SOFTWARE, "natlab".into()),
            ],
            Some(b"pw"),
            true,
        )
        .unwrap();
        let m = decode(&bytes).unwrap();
        assert_eq!(get_xor(&m, ATTR_XORMAPPED_ADDRESS), Some(a));
        assert_eq!(check_fingerprint(&m), Fingerprint::Valid);
        assert!(check_integrity(&m, b"pw"));
        assert!(!check_integrity(&m, b"other"));
        let bad = decode(&corrupt_fingerprint(bytes)).unwrap();
        assert_eq!(check_fingerprint(&bad), Fingerprint::Invalid);
    }

    #[test]
    fn codec_decode_never_panics_on_truncations_and_bit_flips() {
        let bytes = encode(
            BINDING_SUCCESS,
            TransactionId([1; 12]),
            &[
                Attr::Xor(ATTR_XORMAPPED_ADDRESS, "192.0.2.1:1".parse().unwrap()),
                change_request(Change::BOTH),
            ],
            Some(b"k"),
            true,
        )
        .unwrap();
        for n in 0..bytes.len() {
            let _ = decode(&bytes[..n]).map(|m| {
                check_fingerprint(&m);
                check_integrity(&m, b"k")
            });
        }
        for i in 0..bytes.len() {
            for bit in 0..8 {
                let mut b = bytes.clone();
                b[i] ^= 1 << bit;
                if let Some(m) = decode(&b) {
                    let _ = (
                        check_fingerprint(&m),
                        check_integrity(&m, b"k"),
                        get_change(&m),
                        get_xor(&m, ATTR_XORMAPPED_ADDRESS),
                        get_error(&m),
                    );
                }
            }
        }
    }
}

//! Just enough SDP (RFC 8866) to explain media failures: the transport profile of each media line,
//! the connection address, and whether SDES keys or DTLS fingerprints were offered.

use memchr::memchr;
use std::net::IpAddr;

/// Media transport profiles, as a small set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Profiles(u8);

impl Profiles {
    /// `RTP/AVP`: plain RTP.
    pub const AVP: Self = Self(1);
    /// `RTP/SAVP`: SRTP.
    pub const SAVP: Self = Self(2);
    /// `RTP/AVPF`: plain RTP with feedback.
    pub const AVPF: Self = Self(4);
    /// `RTP/SAVPF`: SRTP with feedback.
    pub const SAVPF: Self = Self(8);
    /// `UDP/TLS/RTP/SAVP[F]`: DTLS-SRTP.
    pub const DTLS: Self = Self(16);
    /// Anything else (`udptl`, `TCP/MSRP`...).
    pub const OTHER: Self = Self(32);

    const NAMES: [(Self, &'static str); 6] = [
        (Self::AVP, "RTP/AVP"),
        (Self::SAVP, "RTP/SAVP"),
        (Self::AVPF, "RTP/AVPF"),
        (Self::SAVPF, "RTP/SAVPF"),
        (Self::DTLS, "UDP/TLS/RTP/SAVP(F)"),
        (Self::OTHER, "other"),
    ];

    /// Whether no profile is present.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether every profile in `other` is in `self`.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether any profile is common to both.
    pub const fn intersects(self, other: Self) -> bool {
        self.0 & other.0 != 0
    }

    /// Whether any profile is secure (SRTP or DTLS-SRTP).
    pub const fn any_secure(self) -> bool {
        self.0 & (Self::SAVP.0 | Self::SAVPF.0 | Self::DTLS.0) != 0
    }

    /// Whether any profile is plain RTP.
    pub const fn any_plain(self) -> bool {
        self.0 & (Self::AVP.0 | Self::AVPF.0) != 0
    }

    /// The profile of an `m=` line's proto field.
    pub fn from_proto(proto: &[u8]) -> Self {
        let eq = |s: &[u8]| proto.eq_ignore_ascii_case(s);
        if eq(b"RTP/AVP") {
            Self::AVP
        } else if eq(b"RTP/SAVP") {
            Self::SAVP
        } else if eq(b"RTP/AVPF") {
            Self::AVPF
        } else if eq(b"RTP/SAVPF") {
            Self::SAVPF
        } else if eq(b"UDP/TLS/RTP/SAVP") || eq(b"UDP/TLS/RTP/SAVPF") {
            Self::DTLS
        } else {
            Self::OTHER
        }
    }

    fn insert(&mut self, other: Self) {
        self.0 |= other.0;
    }

    /// The profile names, joined with `, `.
    pub fn names(self) -> String {
        Self::NAMES
            .iter()
            .filter(|(p, _)| self.contains(*p))
            .map(|(_, n)| *n)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// What an SDP body offers or answers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SdpSummary {
    /// Profiles of all media lines.
    pub profiles: Profiles,
    /// Number of media lines.
    pub media: u8,
    /// The first connection address (session or media level).
    pub connection: Option<IpAddr>,
    /// The port of the first media line.
    pub port: Option<u16>,
    /// Some media line was rejected or disabled (port 0).
    pub port_zero: bool,
    /// `a=crypto` (SDES-SRTP keys) present.
    pub crypto: bool,
    /// `a=fingerprint` (DTLS) present.
    pub fingerprint: bool,
}

/// Summarises an SDP body; unknown or broken lines are ignored.
pub fn summarize(body: &[u8]) -> SdpSummary {
    let mut s = SdpSummary::default();
    for line in body.split(|&c| c == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        match line.get(..2) {
            Some(b"m=") => media(&mut s, line.get(2..).unwrap_or_default()),
            Some(b"c=") if s.connection.is_none() => s.connection = connection(line),
            Some(b"a=") => {
                let a = line.get(2..).unwrap_or_default();
                s.crypto |= a.starts_with(b"crypto:");
                s.fingerprint |= a.starts_with(b"fingerprint:");
            }
            _ => {}
        }
    }
    s
}

fn media(s: &mut SdpSummary, m: &[u8]) {
    let mut parts = m.split(|&c| c == b' ').filter(|p| !p.is_empty());
    let (_kind, port, proto) = (parts.next(), parts.next(), parts.next());
    let port = port
        .and_then(|p| p.split(|&c| c == b'/').next())
        .and_then(|p| std::str::from_utf8(p).ok())
        .and_then(|p| p.parse::<u16>().ok());
    if s.media == 0 {
        s.port = port;
    }
    s.port_zero |= port == Some(0);
    s.media = s.media.saturating_add(1);
    if let Some(proto) = proto {
        s.profiles.insert(Profiles::from_proto(proto));
    }
}

fn connection(line: &[u8]) -> Option<IpAddr> {
    let addr = line.rsplit(|&c| c == b' ').next()?;
    let end = memchr(b'/', addr).unwrap_or(addr.len());
    std::str::from_utf8(addr.get(..end)?).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdp_offer_with_two_profiles_and_crypto() {
        let body = b"v=0\r\nc=IN IP4 10.0.0.7\r\nm=audio 4000 RTP/SAVP 0\r\na=crypto:1 x\r\nm=video 0 RTP/AVP 96\r\n";
        let s = summarize(body);
        assert_eq!(s.profiles.names(), "RTP/AVP, RTP/SAVP");
        assert_eq!(s.connection, Some("10.0.0.7".parse().unwrap()));
        assert_eq!(s.port, Some(4000));
        assert!(s.port_zero && s.crypto && !s.fingerprint);
        assert_eq!(s.media, 2);
    }

    #[test]
    fn sdp_garbage_gives_empty_summary() {
        assert_eq!(summarize(b"\xff\xfe m= c=IN"), SdpSummary::default());
    }
}

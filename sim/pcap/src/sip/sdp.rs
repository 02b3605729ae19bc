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
            Some(b"m=") => summary_media(&mut s, line.get(2..).unwrap_or_default()),
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

fn summary_media(s: &mut SdpSummary, m: &[u8]) {
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

/// Most media descriptions and payload types kept per SDP body.
const MAX_MEDIA: usize = 4;
const MAX_PAYLOADS: usize = 8;

/// One payload type of a media description, with its `a=rtpmap` when there is one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payload {
    /// The payload type number.
    pub pt: u8,
    /// The encoding name from `a=rtpmap` (`PCMA`, `telephone-event`...).
    pub name: Option<Box<str>>,
    /// The clock rate from `a=rtpmap` (0 when absent).
    pub clock: u32,
}

/// The direction attribute of a media description (RFC 8866 §6.7).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Direction {
    /// `a=sendrecv` (the default).
    #[default]
    SendRecv,
    /// `a=sendonly`.
    SendOnly,
    /// `a=recvonly`.
    RecvOnly,
    /// `a=inactive`.
    Inactive,
}

/// One `m=` line with what applies to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaDescription {
    /// `audio`, `video`...
    pub kind: Box<str>,
    /// The RTP port (0: rejected or disabled).
    pub port: u16,
    /// The RTCP port: `a=rtcp`, the RTP port with `a=rtcp-mux`, else RTP port + 1.
    pub rtcp_port: u16,
    /// The connection address (media level, else session level).
    pub connection: Option<IpAddr>,
    /// Payload types in the order of the `m=` line, with their rtpmap.
    pub payloads: Vec<Payload>,
    /// The direction attribute (media level, else session level).
    pub direction: Direction,
    /// The profile is RTP (not `udptl`, `TCP/MSRP`...).
    pub rtp: bool,
}

/// The media descriptions of an SDP body (at most four; unknown or broken lines are ignored).
pub fn media(body: &[u8]) -> Vec<MediaDescription> {
    let mut out: Vec<MediaDescription> = Vec::new();
    let mut session_conn = None;
    let mut session_dir = None;
    let mut mux = false;
    let mut rtcp_attr: Option<u16> = None;
    let finish = |m: &mut MediaDescription, mux: bool, rtcp: Option<u16>| {
        m.rtcp_port = match (rtcp, mux) {
            (Some(p), _) => p,
            (None, true) => m.port,
            (None, false) => m.port.saturating_add(1),
        };
    };
    for line in body.split(|&c| c == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let rest = line.get(2..).unwrap_or_default();
        match line.get(..2) {
            Some(b"m=") => {
                if let Some(m) = out.last_mut() {
                    finish(m, mux, rtcp_attr);
                }
                (mux, rtcp_attr) = (false, None);
                if out.len() >= MAX_MEDIA {
                    break;
                }
                out.push(media_line(rest, session_conn, session_dir));
            }
            Some(b"c=") => {
                let c = connection(line);
                match out.last_mut() {
                    Some(m) => m.connection = c.or(m.connection),
                    None => session_conn = c,
                }
            }
            Some(b"a=") => {
                if let Some(d) = direction(rest) {
                    match out.last_mut() {
                        Some(m) => m.direction = d,
                        None => session_dir = Some(d),
                    }
                } else if let Some(m) = out.last_mut() {
                    if rest == b"rtcp-mux" {
                        mux = true;
                    } else if let Some(v) = rest.strip_prefix(b"rtcp:") {
                        rtcp_attr = number(first_word(v));
                    } else if let Some(v) = rest.strip_prefix(b"rtpmap:") {
                        rtpmap(m, v);
                    }
                }
            }
            _ => {}
        }
    }
    if let Some(m) = out.last_mut() {
        finish(m, mux, rtcp_attr);
    }
    out
}

fn first_word(b: &[u8]) -> &[u8] {
    b.split(|&c| c == b' ').next().unwrap_or_default()
}

fn number<T: std::str::FromStr>(b: &[u8]) -> Option<T> {
    std::str::from_utf8(b).ok()?.parse().ok()
}

fn direction(a: &[u8]) -> Option<Direction> {
    match a {
        b"sendrecv" => Some(Direction::SendRecv),
        b"sendonly" => Some(Direction::SendOnly),
        b"recvonly" => Some(Direction::RecvOnly),
        b"inactive" => Some(Direction::Inactive),
        _ => None,
    }
}

fn media_line(m: &[u8], conn: Option<IpAddr>, dir: Option<Direction>) -> MediaDescription {
    let mut parts = m.split(|&c| c == b' ').filter(|p| !p.is_empty());
    let kind = parts.next().unwrap_or_default();
    let port = parts
        .next()
        .and_then(|p| p.split(|&c| c == b'/').next())
        .and_then(number::<u16>)
        .unwrap_or(0);
    let proto = parts.next().unwrap_or_default();
    let payloads = parts
        .filter_map(number::<u8>)
        .filter(|pt| *pt < 128)
        .take(MAX_PAYLOADS)
        .map(|pt| Payload {
            pt,
            name: None,
            clock: 0,
        })
        .collect();
    MediaDescription {
        kind: String::from_utf8_lossy(kind.get(..kind.len().min(16)).unwrap_or_default()).into(),
        port,
        rtcp_port: 0,
        connection: conn,
        payloads,
        direction: dir.unwrap_or_default(),
        rtp: memchr::memmem::find(proto, b"RTP").is_some(),
    }
}

/// `a=rtpmap:<pt> <name>/<clock>[/<channels>]`.
fn rtpmap(m: &mut MediaDescription, v: &[u8]) {
    let mut it = v.splitn(2, |&c| c == b' ');
    let (Some(pt), Some(enc)) = (it.next().and_then(number::<u8>), it.next()) else {
        return;
    };
    let mut enc = enc.split(|&c| c == b'/');
    let name = enc.next().unwrap_or_default();
    let clock = enc.next().and_then(number::<u32>).unwrap_or(0);
    if let Some(p) = m.payloads.iter_mut().find(|p| p.pt == pt) {
        let name = name.get(..name.len().min(32)).unwrap_or_default();
        p.name = Some(String::from_utf8_lossy(name).into());
        p.clock = clock;
    }
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
    fn sdp_media_descriptions_with_rtpmap_rtcp_and_direction() {
        let body = b"v=0\r\nc=IN IP4 192.0.2.10\r\na=sendonly\r\nm=audio 16000 RTP/AVP 8 101\r\n\
            a=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=rtcp:16009\r\n\
            m=video 0 RTP/AVP 96\r\nc=IN IP4 198.51.100.1\r\na=rtcp-mux\r\na=inactive\r\n";
        let m = media(body);
        assert_eq!(m.len(), 2);
        let a = &m[0];
        assert_eq!((&*a.kind, a.port, a.rtcp_port), ("audio", 16000, 16009));
        assert_eq!(a.connection, Some("192.0.2.10".parse().unwrap()));
        assert_eq!(a.direction, Direction::SendOnly);
        assert_eq!(a.payloads[1].name.as_deref(), Some("telephone-event"));
        assert_eq!((a.payloads[0].pt, a.payloads[0].clock), (8, 8000));
        let v = &m[1];
        assert_eq!(
            (v.port, v.rtcp_port, v.direction),
            (0, 0, Direction::Inactive)
        );
        assert_eq!(v.connection, Some("198.51.100.1".parse().unwrap()));
        assert!(a.rtp && v.rtp);
        assert!(media(b"m=audio x\r\na=rtpmap:zz\r\n\xff").len() == 1);
    }

    #[test]
    fn sdp_garbage_gives_empty_summary() {
        assert_eq!(summarize(b"\xff\xfe m= c=IN"), SdpSummary::default());
    }
}

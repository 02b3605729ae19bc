//! The audio SDP the softphone offers and answers (RFC 4566, RFC 3264): one `m=audio` line,
//! PCMU/PCMA, telephone-event, a direction attribute for hold, RTP/AVP or RTP/SAVP.

use std::fmt::Write as _;

/// Media profile of the `m=` line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// `RTP/AVP` (plain RTP).
    Avp,
    /// `RTP/SAVP` (SRTP).
    Savp,
}

impl Profile {
    /// The SDP token.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Avp => "RTP/AVP",
            Self::Savp => "RTP/SAVP",
        }
    }
}

/// Media direction (RFC 3264 §6.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// `a=sendrecv`.
    SendRecv,
    /// `a=sendonly` (putting the peer on hold).
    SendOnly,
    /// `a=recvonly`.
    RecvOnly,
    /// `a=inactive`.
    Inactive,
}

impl Direction {
    /// The attribute name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::SendRecv => "sendrecv",
            Self::SendOnly => "sendonly",
            Self::RecvOnly => "recvonly",
            Self::Inactive => "inactive",
        }
    }

    /// The direction an answer takes to this offer.
    pub const fn answer(self) -> Self {
        match self {
            Self::SendOnly => Self::RecvOnly,
            Self::RecvOnly => Self::SendOnly,
            other => other,
        }
    }
}

/// A codec: payload type and encoding name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Codec {
    /// RTP payload type.
    pub pt: u8,
    /// Encoding name (`PCMU`, `PCMA`, `telephone-event`).
    pub name: String,
}

/// One audio session description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sdp {
    /// Session id and version (`o=`).
    pub session: (u64, u64),
    /// Connection address (`c=`).
    pub address: String,
    /// Audio port.
    pub port: u16,
    /// Profile.
    pub profile: Profile,
    /// Codecs, preferred first.
    pub codecs: Vec<Codec>,
    /// Direction.
    pub direction: Direction,
    /// Every other `a=` line, session or media level, as written after `a=` (ICE's
    /// `ice-ufrag:…`, `candidate:…`); written back at media level.
    pub attributes: Vec<String>,
}

impl Sdp {
    /// The softphone's offer: PCMU, PCMA, telephone-event/8000.
    pub fn audio_offer(address: &str, port: u16, profile: Profile, session: (u64, u64)) -> Self {
        Self {
            session,
            address: address.to_string(),
            port,
            profile,
            codecs: vec![
                Codec {
                    pt: 0,
                    name: "PCMU".into(),
                },
                Codec {
                    pt: 8,
                    name: "PCMA".into(),
                },
                Codec {
                    pt: 101,
                    name: "telephone-event".into(),
                },
            ],
            direction: Direction::SendRecv,
            attributes: Vec::new(),
        }
    }

    /// The value of the first attribute `name:value` (or `name`), if present.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find_map(|a| match a.split_once(':') {
                Some((k, v)) if k == name => Some(v),
                None if a == name => Some(""),
                _ => None,
            })
    }

    /// Parses the first audio line; `None` if there is none or it is malformed.
    pub fn parse(text: &str) -> Option<Self> {
        let mut sdp = Self {
            session: (0, 0),
            address: String::new(),
            port: 0,
            profile: Profile::Avp,
            codecs: Vec::new(),
            direction: Direction::SendRecv,
            attributes: Vec::new(),
        };
        let mut in_audio = false;
        let mut seen_audio = false;
        for line in text.lines().map(str::trim) {
            let Some((k, v)) = line.split_once('=') else {
                continue;
            };
            match k {
                "o" => {
                    let f: Vec<&str> = v.split_whitespace().collect();
                    if f.len() >= 3 {
                        sdp.session = (f[1].parse().unwrap_or(0), f[2].parse().unwrap_or(0));
                    }
                }
                "c" => {
                    if let Some(addr) = v.split_whitespace().nth(2) {
                        sdp.address = addr.to_string();
                    }
                }
                "m" => {
                    in_audio = false;
                    let f: Vec<&str> = v.split_whitespace().collect();
                    if !seen_audio && f.len() >= 3 && f[0] == "audio" {
                        in_audio = true;
                        seen_audio = true;
                        sdp.port = f[1].parse().ok()?;
                        sdp.profile = match f[2] {
                            "RTP/SAVP" | "RTP/SAVPF" => Profile::Savp,
                            _ => Profile::Avp,
                        };
                        for pt in &f[3..] {
                            let pt: u8 = pt.parse().ok()?;
                            let name = match pt {
                                0 => "PCMU",
                                8 => "PCMA",
                                _ => "",
                            };
                            sdp.codecs.push(Codec {
                                pt,
                                name: name.into(),
                            });
                        }
                    }
                }
                "a" if !in_audio && !seen_audio => sdp.attributes.push(v.to_string()),
                "a" if in_audio => {
                    if let Some(rest) = v.strip_prefix("rtpmap:") {
                        let (pt, enc) = rest.split_once(' ')?;
                        let pt: u8 = pt.parse().ok()?;
                        let name = enc.split('/').next().unwrap_or("").to_string();
                        if let Some(c) = sdp.codecs.iter_mut().find(|c| c.pt == pt) {
                            c.name = name;
                        }
                    } else {
                        match v {
                            "sendonly" => sdp.direction = Direction::SendOnly,
                            "recvonly" => sdp.direction = Direction::RecvOnly,
                            "inactive" => sdp.direction = Direction::Inactive,
                            "sendrecv" => sdp.direction = Direction::SendRecv,
                            _ if v.starts_with("fmtp:") || v.starts_with("crypto:") => {}
                            _ => sdp.attributes.push(v.to_string()),
                        }
                    }
                }
                _ => {}
            }
        }
        seen_audio.then_some(sdp)
    }

    /// Whether the peer is holding (it sends only or nothing, or c=0.0.0.0).
    pub fn is_hold(&self) -> bool {
        matches!(self.direction, Direction::SendOnly | Direction::Inactive)
            || self.address == "0.0.0.0"
    }

    /// The audio codec names (no telephone-event), `#`-separated as the SDK reports them.
    pub fn audio_codec_names(&self) -> String {
        self.codecs
            .iter()
            .filter(|c| !c.name.eq_ignore_ascii_case("telephone-event") && !c.name.is_empty())
            .map(|c| c.name.clone())
            .collect::<Vec<_>>()
            .join("#")
    }

    /// Whether telephone-event (RFC 2833/4733) is offered.
    pub fn has_telephone_event(&self) -> bool {
        self.codecs
            .iter()
            .any(|c| c.name.eq_ignore_ascii_case("telephone-event"))
    }

    /// The answer to `offer` from `local` capabilities: the common codecs in the offer's order.
    pub fn answer(offer: &Self, local: &Self) -> Self {
        let codecs = offer
            .codecs
            .iter()
            .filter(|c| {
                local
                    .codecs
                    .iter()
                    .any(|l| l.name.eq_ignore_ascii_case(&c.name))
            })
            .cloned()
            .collect();
        Self {
            session: local.session,
            address: local.address.clone(),
            port: local.port,
            profile: offer.profile,
            codecs,
            direction: offer.direction.answer(),
            attributes: local.attributes.clone(),
        }
    }

    /// The text form.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let ip_kind = if self.address.contains(':') {
            "IP6"
        } else {
            "IP4"
        };
        let _ = write!(
            s,
            "v=0\r\no=natlab {} {} IN {ip_kind} {}\r\ns=natlab\r\nc=IN {ip_kind} {}\r\nt=0 0\r\nm=audio {} {}",
            self.session.0,
            self.session.1,
            self.address,
            self.address,
            self.port,
            self.profile.as_str()
        );
        for c in &self.codecs {
            let _ = write!(s, " {}", c.pt);
        }
        s.push_str("\r\n");
        for c in &self.codecs {
            let clock = 8000;
            let _ = write!(s, "a=rtpmap:{} {}/{clock}\r\n", c.pt, c.name);
            if c.name.eq_ignore_ascii_case("telephone-event") {
                let _ = write!(s, "a=fmtp:{} 0-16\r\n", c.pt);
            }
        }
        if self.profile == Profile::Savp {
            s.push_str("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:bmF0bGFibmF0bGFibmF0bGFibmF0bGFibmF0bGFi\r\n");
        }
        let _ = write!(s, "a={}\r\n", self.direction.as_str());
        for a in &self.attributes {
            let _ = write!(s, "a={a}\r\n");
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offer_answer_round_trip_and_hold() {
        let offer = Sdp::audio_offer("10.0.0.2", 4000, Profile::Savp, (1, 1));
        let parsed = Sdp::parse(&offer.to_text()).unwrap();
        assert_eq!(parsed, offer);
        assert_eq!(parsed.audio_codec_names(), "PCMU#PCMA");
        assert!(parsed.has_telephone_event());
        let mut local = Sdp::audio_offer("10.0.0.3", 5000, Profile::Avp, (2, 1));
        local.codecs.retain(|c| c.name == "PCMA");
        let mut hold = offer.clone();
        hold.direction = Direction::SendOnly;
        let ans = Sdp::answer(&hold, &local);
        assert_eq!(ans.codecs.len(), 1);
        assert_eq!(ans.direction, Direction::RecvOnly);
        assert!(hold.is_hold());
        assert!(!ans.is_hold());
        assert!(Sdp::parse("v=0\r\nm=video 1 RTP/AVP 96\r\n").is_none());
        let mut ice = offer.clone();
        ice.attributes = vec![
            "ice-ufrag:abcd".into(),
            "candidate:1 1 UDP 2130706431 10.0.0.2 4000 typ host".into(),
        ];
        let back = Sdp::parse(&ice.to_text()).unwrap();
        assert_eq!(back, ice);
        assert_eq!(back.attribute("ice-ufrag"), Some("abcd"));
        assert_eq!(back.attribute("ice-pwd"), None);
        let session_level =
            Sdp::parse("v=0\r\na=ice-pwd:xyz\r\nc=IN IP4 1.2.3.4\r\nm=audio 9 RTP/AVP 0\r\n")
                .unwrap();
        assert_eq!(session_level.attribute("ice-pwd"), Some("xyz"));
        for n in 0..offer.to_text().len() {
            let _ = Sdp::parse(&offer.to_text()[..n]);
        }
    }
}

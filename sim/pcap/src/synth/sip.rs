//! SIP message text for synthetic captures.

/// A SIP message under construction. `build` adds `Content-Length`.
#[derive(Clone, Debug, Default)]
pub struct SipText {
    start: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl SipText {
    /// A request: `METHOD uri SIP/2.0`.
    pub fn request(method: &str, uri: &str) -> Self {
        Self {
            start: format!("{method} {uri} SIP/2.0"),
            ..Self::default()
        }
    }

    /// A response: `SIP/2.0 code reason`.
    pub fn response(code: u16, reason: &str) -> Self {
        Self {
            start: format!("SIP/2.0 {code} {reason}"),
            ..Self::default()
        }
    }

    /// Adds a header line.
    #[must_use]
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The usual dialog headers: Via (with branch; `via_host` alone means UDP, or give the whole
    /// `SIP/2.0/TCP host` value), From, To, Call-ID, CSeq.
    #[must_use]
    pub fn dialog(
        self,
        via_host: &str,
        branch: &str,
        from: &str,
        to: &str,
        call_id: &str,
        cseq: &str,
    ) -> Self {
        let via = if via_host.starts_with("SIP/2.0/") {
            format!("{via_host};branch={branch}")
        } else {
            format!("SIP/2.0/UDP {via_host};branch={branch}")
        };
        self.header("Via", &via)
            .header("From", from)
            .header("To", to)
            .header("Call-ID", call_id)
            .header("CSeq", cseq)
    }

    /// Sets the body and its `Content-Type`.
    #[must_use]
    pub fn body(mut self, content_type: &str, body: &[u8]) -> Self {
        self.headers
            .push(("Content-Type".into(), content_type.into()));
        self.body = body.to_vec();
        self
    }

    /// The message bytes.
    pub fn build(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256 + self.body.len());
        out.extend_from_slice(self.start.as_bytes());
        out.extend_from_slice(b"\r\n");
        for (name, value) in &self.headers {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", self.body.len()).as_bytes());
        out.extend_from_slice(&self.body);
        out
    }
}

/// A one-stream audio SDP body with the given transport profile (`RTP/AVP`, `RTP/SAVP`...).
pub fn sdp(ip: &str, port: u16, profile: &str) -> String {
    let family = if ip.contains(':') { "IP6" } else { "IP4" };
    let mut s = format!(
        "v=0\r\no=- 1 1 IN {family} {ip}\r\ns=-\r\nc=IN {family} {ip}\r\nt=0 0\r\n\
         m=audio {port} {profile} 0 8\r\na=rtpmap:0 PCMU/8000\r\n"
    );
    if profile.contains("SAVP") {
        s.push_str("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\n");
    }
    s
}

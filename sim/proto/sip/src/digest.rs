//! HTTP Digest authentication for SIP (RFC 7616, RFC 2617, RFC 8760, RFC 3261 §22): MD5 and
//! SHA-256, `qop=auth` or no qop, for `WWW-Authenticate`/`Authorization` (401) and
//! `Proxy-Authenticate`/`Proxy-Authorization` (407).
//!
//! The client side is [`Authorization::answer`]; the server side is [`DigestServer`]: nonces
//! drawn from the seeded RNG and remembered with their issue time, expiry answered with
//! `stale=true`, nonce counts tracked so that a replayed `nc` is refused.

use md5::Md5;
use rand_core::RngCore;
use sha2::{Digest as _, Sha256};
use sim_core::{SimInstant, SimRng};
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// Digest algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Algorithm {
    /// `MD5` (RFC 2617).
    Md5,
    /// `SHA-256` (RFC 7616, RFC 8760).
    Sha256,
}

impl Algorithm {
    /// Parses the `algorithm` token (case-insensitive; `SHA256` accepted).
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_uppercase().as_str() {
            "MD5" => Some(Self::Md5),
            "SHA-256" | "SHA256" => Some(Self::Sha256),
            _ => None,
        }
    }

    /// The wire token.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Md5 => "MD5",
            Self::Sha256 => "SHA-256",
        }
    }

    /// Lower-case hex of the hash of `data`.
    pub fn hash_hex(self, data: &str) -> String {
        match self {
            Self::Md5 => hex(&Md5::digest(data.as_bytes())),
            Self::Sha256 => hex(&Sha256::digest(data.as_bytes())),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

/// Which pair of headers carries the exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthKind {
    /// 401, `WWW-Authenticate` / `Authorization`.
    Www,
    /// 407, `Proxy-Authenticate` / `Proxy-Authorization`.
    Proxy,
}

impl AuthKind {
    /// The challenge header name.
    pub const fn challenge_header(self) -> &'static str {
        match self {
            Self::Www => "WWW-Authenticate",
            Self::Proxy => "Proxy-Authenticate",
        }
    }

    /// The credentials header name.
    pub const fn credentials_header(self) -> &'static str {
        match self {
            Self::Www => "Authorization",
            Self::Proxy => "Proxy-Authorization",
        }
    }

    /// The status code of the challenge.
    pub const fn status(self) -> u16 {
        match self {
            Self::Www => 401,
            Self::Proxy => 407,
        }
    }
}

/// Splits `k=v, k="v, w"` auth-params.
fn parse_params(s: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        while i < bytes.len() && (bytes[i] == b',' || bytes[i].is_ascii_whitespace()) {
            i += 1;
        }
        let ks = i;
        while i < bytes.len() && bytes[i] != b'=' && bytes[i] != b',' {
            i += 1;
        }
        let key = s[ks..i].trim().to_ascii_lowercase();
        if i >= bytes.len() || bytes[i] == b',' {
            if !key.is_empty() {
                out.insert(key, String::new());
            }
            continue;
        }
        i += 1; // '='
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let value = if bytes.get(i) == Some(&b'"') {
            i += 1;
            let mut v = String::new();
            while i < bytes.len() && bytes[i] != b'"' {
                if bytes[i] == b'\\' && i + 1 < bytes.len() {
                    i += 1;
                }
                let ch_len = s[i..].chars().next().map_or(1, char::len_utf8);
                v.push_str(&s[i..i + ch_len]);
                i += ch_len;
            }
            i += 1;
            v
        } else {
            let vs = i;
            while i < bytes.len() && bytes[i] != b',' {
                i += 1;
            }
            s[vs..i].trim().to_string()
        };
        if !key.is_empty() {
            out.insert(key, value);
        }
    }
    out
}

fn strip_scheme(s: &str) -> Option<&str> {
    let s = s.trim();
    let (scheme, rest) = s.split_once(char::is_whitespace)?;
    scheme.eq_ignore_ascii_case("Digest").then_some(rest)
}

/// A Digest challenge (`WWW-Authenticate` or `Proxy-Authenticate`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    /// Realm.
    pub realm: String,
    /// Nonce.
    pub nonce: String,
    /// Opaque, echoed back.
    pub opaque: Option<String>,
    /// Algorithm (MD5 when absent).
    pub algorithm: Algorithm,
    /// Offered qop values (empty: RFC 2069 style, no qop).
    pub qop: Vec<String>,
    /// `stale=true`: the nonce expired but the credentials were right.
    pub stale: bool,
}

impl Challenge {
    /// Parses one challenge. `None` for another scheme, a missing realm or nonce, or an
    /// unknown algorithm.
    pub fn parse(value: &str) -> Option<Self> {
        let p = parse_params(strip_scheme(value)?);
        let algorithm = match p.get("algorithm") {
            Some(a) => Algorithm::parse(a)?,
            None => Algorithm::Md5,
        };
        Some(Self {
            realm: p.get("realm")?.clone(),
            nonce: p.get("nonce")?.clone(),
            opaque: p.get("opaque").cloned(),
            algorithm,
            qop: p
                .get("qop")
                .map(|q| {
                    q.split(',')
                        .map(|x| x.trim().to_string())
                        .filter(|x| !x.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            stale: p
                .get("stale")
                .is_some_and(|s| s.eq_ignore_ascii_case("true")),
        })
    }

    /// Every Digest challenge in the values of a challenge header (one message may offer
    /// SHA-256 and MD5). Unparseable ones are skipped.
    pub fn parse_all<'a>(values: impl IntoIterator<Item = &'a str>) -> Vec<Self> {
        let mut out = Vec::new();
        for v in values {
            for part in split_challenges(v) {
                if let Some(c) = Self::parse(part) {
                    out.push(c);
                }
            }
        }
        out
    }

    /// Whether `qop=auth` is offered.
    pub fn offers_auth(&self) -> bool {
        self.qop.iter().any(|q| q.eq_ignore_ascii_case("auth"))
    }
}

/// Splits a header value holding several challenges at each `Digest` outside quotes.
fn split_challenges(v: &str) -> Vec<&str> {
    let mut starts = Vec::new();
    let mut quoted = false;
    let bytes = v.as_bytes();
    for i in 0..bytes.len() {
        if bytes[i] == b'"' {
            quoted = !quoted;
        }
        if !quoted
            && (i == 0 || bytes[i - 1] == b',' || bytes[i - 1].is_ascii_whitespace())
            && v.get(i..i + 7)
                .is_some_and(|w| w.eq_ignore_ascii_case("digest "))
        {
            starts.push(i);
        }
    }
    let mut out = Vec::new();
    for (n, &s) in starts.iter().enumerate() {
        let end = starts.get(n + 1).copied().unwrap_or(v.len());
        out.push(v[s..end].trim().trim_end_matches(',').trim());
    }
    out
}

impl fmt::Display for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Digest realm=\"{}\", nonce=\"{}\"",
            self.realm, self.nonce
        )?;
        if let Some(o) = &self.opaque {
            write!(f, ", opaque=\"{o}\"")?;
        }
        write!(f, ", algorithm={}", self.algorithm.as_str())?;
        if !self.qop.is_empty() {
            write!(f, ", qop=\"{}\"", self.qop.join(","))?;
        }
        if self.stale {
            f.write_str(", stale=true")?;
        }
        Ok(())
    }
}

/// Digest credentials (`Authorization` or `Proxy-Authorization`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authorization {
    /// User name.
    pub username: String,
    /// Realm.
    pub realm: String,
    /// The nonce answered.
    pub nonce: String,
    /// digest-uri.
    pub uri: String,
    /// The response hash, lower-case hex.
    pub response: String,
    /// Algorithm.
    pub algorithm: Algorithm,
    /// `qop=auth` with its client nonce and nonce count, or none.
    pub qop: Option<QopAuth>,
    /// Opaque from the challenge.
    pub opaque: Option<String>,
}

/// The `qop=auth` part of credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QopAuth {
    /// Client nonce.
    pub cnonce: String,
    /// Nonce count.
    pub nc: u32,
}

/// The response hash of RFC 7616 §3.4.1 (qop=auth) or RFC 2617 §3.2.2.1 (no qop).
#[allow(clippy::too_many_arguments)]
pub fn response_hash(
    algorithm: Algorithm,
    username: &str,
    realm: &str,
    password: &str,
    method: &str,
    uri: &str,
    nonce: &str,
    qop: Option<&QopAuth>,
) -> String {
    let ha1 = algorithm.hash_hex(&format!("{username}:{realm}:{password}"));
    let ha2 = algorithm.hash_hex(&format!("{method}:{uri}"));
    match qop {
        Some(q) => algorithm.hash_hex(&format!(
            "{ha1}:{nonce}:{:08x}:{}:auth:{ha2}",
            q.nc, q.cnonce
        )),
        None => algorithm.hash_hex(&format!("{ha1}:{nonce}:{ha2}")),
    }
}

impl Authorization {
    /// Answers `challenge` for `method uri` with `qop=auth` when offered (nonce count `nc`,
    /// client nonce `cnonce`), else without qop.
    pub fn answer(
        challenge: &Challenge,
        username: &str,
        password: &str,
        method: &str,
        uri: &str,
        nc: u32,
        cnonce: &str,
    ) -> Self {
        let qop = challenge.offers_auth().then(|| QopAuth {
            cnonce: cnonce.to_string(),
            nc,
        });
        let response = response_hash(
            challenge.algorithm,
            username,
            &challenge.realm,
            password,
            method,
            uri,
            &challenge.nonce,
            qop.as_ref(),
        );
        Self {
            username: username.to_string(),
            realm: challenge.realm.clone(),
            nonce: challenge.nonce.clone(),
            uri: uri.to_string(),
            response,
            algorithm: challenge.algorithm,
            qop,
            opaque: challenge.opaque.clone(),
        }
    }

    /// Parses credentials; `None` when a mandatory field is missing or malformed.
    pub fn parse(value: &str) -> Option<Self> {
        let p = parse_params(strip_scheme(value)?);
        let algorithm = match p.get("algorithm") {
            Some(a) => Algorithm::parse(a)?,
            None => Algorithm::Md5,
        };
        let qop = match p.get("qop") {
            Some(q) if q.eq_ignore_ascii_case("auth") => Some(QopAuth {
                cnonce: p.get("cnonce")?.clone(),
                nc: u32::from_str_radix(p.get("nc")?, 16).ok()?,
            }),
            Some(_) => return None,
            None => None,
        };
        Some(Self {
            username: p.get("username")?.clone(),
            realm: p.get("realm")?.clone(),
            nonce: p.get("nonce")?.clone(),
            uri: p.get("uri")?.clone(),
            response: p.get("response")?.to_ascii_lowercase(),
            algorithm,
            qop,
            opaque: p.get("opaque").cloned(),
        })
    }

    /// Whether the response matches `password` for `method`.
    pub fn verify(&self, password: &str, method: &str) -> bool {
        let expected = response_hash(
            self.algorithm,
            &self.username,
            &self.realm,
            password,
            method,
            &self.uri,
            &self.nonce,
            self.qop.as_ref(),
        );
        expected == self.response
    }
}

impl fmt::Display for Authorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Digest username=\"{}\", realm=\"{}\", nonce=\"{}\", uri=\"{}\", response=\"{}\", algorithm={}",
            self.username,
            self.realm,
            self.nonce,
            self.uri,
            self.response,
            self.algorithm.as_str()
        )?;
        if let Some(o) = &self.opaque {
            write!(f, ", opaque=\"{o}\"")?;
        }
        if let Some(q) = &self.qop {
            write!(f, ", qop=auth, nc={:08x}, cnonce=\"{}\"", q.nc, q.cnonce)?;
        }
        Ok(())
    }
}

/// What the server decides about credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Accepted.
    Ok,
    /// Right credentials on an expired nonce: challenge again with `stale=true`.
    Stale,
    /// Refused: challenge again with a fresh nonce (not stale), or answer 403.
    Refused(RefusalReason),
}

/// Why credentials were refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefusalReason {
    /// The user has no account.
    UnknownUser,
    /// The response hash is wrong (wrong password).
    WrongPassword,
    /// The realm is not the server's.
    WrongRealm,
    /// The nonce was never issued (or was forgotten).
    UnknownNonce,
    /// The nonce count did not increase: a replay.
    Replay,
    /// The algorithm is not the one challenged.
    WrongAlgorithm,
}

impl fmt::Display for RefusalReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::UnknownUser => "unknown user",
            Self::WrongPassword => "wrong password",
            Self::WrongRealm => "wrong realm",
            Self::UnknownNonce => "unknown nonce",
            Self::Replay => "nonce count replayed",
            Self::WrongAlgorithm => "wrong algorithm",
        })
    }
}

#[derive(Clone, Debug)]
struct NonceState {
    issued: SimInstant,
    last_nc: u32,
}

/// The server side of Digest: issues nonces and checks credentials.
#[derive(Debug)]
pub struct DigestServer {
    realm: String,
    algorithm: Algorithm,
    qop: bool,
    lifetime: Duration,
    nonces: BTreeMap<String, NonceState>,
    issued: std::collections::VecDeque<(SimInstant, String)>,
    rng: SimRng,
    max_nonces: usize,
}

impl DigestServer {
    /// Default nonce lifetime.
    pub const DEFAULT_NONCE_LIFETIME: Duration = Duration::from_secs(300);

    /// A server for `realm`, challenging with `algorithm` and (if `qop`) `qop="auth"`.
    pub fn new(
        realm: &str,
        algorithm: Algorithm,
        qop: bool,
        lifetime: Duration,
        rng: SimRng,
    ) -> Self {
        Self {
            realm: realm.to_string(),
            algorithm,
            qop,
            lifetime,
            nonces: BTreeMap::new(),
            issued: std::collections::VecDeque::new(),
            rng,
            max_nonces: 100_000,
        }
    }

    /// The realm.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// A fresh challenge issued at `now`.
    pub fn challenge(&mut self, now: SimInstant, stale: bool) -> Challenge {
        self.purge(now);
        let mut raw = [0u8; 16];
        self.rng.fill_bytes(&mut raw);
        let nonce = format!("{:x}{}", now.as_micros(), hex(&raw));
        self.issued.push_back((now, nonce.clone()));
        self.nonces.insert(
            nonce.clone(),
            NonceState {
                issued: now,
                last_nc: 0,
            },
        );
        let mut op = [0u8; 8];
        self.rng.fill_bytes(&mut op);
        Challenge {
            realm: self.realm.clone(),
            nonce,
            opaque: Some(hex(&op)),
            algorithm: self.algorithm,
            qop: if self.qop {
                vec!["auth".into()]
            } else {
                Vec::new()
            },
            stale,
        }
    }

    fn purge(&mut self, now: SimInstant) {
        // Keep expired nonces for one more lifetime so that they can be answered `stale`.
        let keep = self.lifetime * 2;
        while let Some((issued, nonce)) = self.issued.front() {
            if now.saturating_since(*issued) < keep && self.nonces.len() <= self.max_nonces {
                break;
            }
            self.nonces.remove(nonce);
            self.issued.pop_front();
        }
    }

    /// Checks `auth` for `method`; `password` is the account's password (`None`: no such
    /// user). A good answer on an expired nonce is [`Verdict::Stale`]; a count that does not
    /// increase is refused as a replay.
    pub fn verify(
        &mut self,
        now: SimInstant,
        auth: &Authorization,
        method: &str,
        password: Option<&str>,
    ) -> Verdict {
        if auth.realm != self.realm {
            return Verdict::Refused(RefusalReason::WrongRealm);
        }
        if auth.algorithm != self.algorithm {
            return Verdict::Refused(RefusalReason::WrongAlgorithm);
        }
        let Some(password) = password else {
            return Verdict::Refused(RefusalReason::UnknownUser);
        };
        let Some(state) = self.nonces.get_mut(&auth.nonce) else {
            // A nonce this server no longer remembers, answered with the right password,
            // is treated as stale so that the client retries once with a fresh one.
            return if auth.verify(password, method) {
                Verdict::Stale
            } else {
                Verdict::Refused(RefusalReason::UnknownNonce)
            };
        };
        if !auth.verify(password, method) {
            return Verdict::Refused(RefusalReason::WrongPassword);
        }
        if now.saturating_since(state.issued) >= self.lifetime {
            return Verdict::Stale;
        }
        if let Some(q) = &auth.qop {
            if q.nc <= state.last_nc {
                return Verdict::Refused(RefusalReason::Replay);
            }
            state.last_nc = q.nc;
        }
        Verdict::Ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::Seed;

    // RFC 7616 §3.9.1, verbatim.
    const USER: &str = "Mufasa";
    const PASS: &str = "Circle of Life";
    const REALM: &str = "http-auth@example.org";
    const NONCE: &str = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
    const CNONCE_MD5: &str = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
    const CNONCE_SHA: &str = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
    const OPAQUE: &str = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS";

    fn challenge(alg: &str) -> Challenge {
        let v = format!(
            "Digest realm=\"{REALM}\", qop=\"auth, auth-int\", algorithm={alg}, nonce=\"{NONCE}\", opaque=\"{OPAQUE}\""
        );
        Challenge::parse(&v).unwrap()
    }

    #[test]
    fn rfc7616_md5_vector() {
        let c = challenge("MD5");
        assert_eq!(c.qop, vec!["auth", "auth-int"]);
        let a = Authorization::answer(&c, USER, PASS, "GET", "/dir/index.html", 1, CNONCE_MD5);
        assert_eq!(a.response, "8ca523f5e9506fed4657c9700eebdbec");
        assert!(a.verify(PASS, "GET"));
        assert!(!a.verify("wrong", "GET"));
    }

    #[test]
    fn rfc7616_sha256_vector() {
        let c = challenge("SHA-256");
        assert_eq!(c.algorithm, Algorithm::Sha256);
        let a = Authorization::answer(&c, USER, PASS, "GET", "/dir/index.html", 1, CNONCE_SHA);
        assert_eq!(
            a.response,
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
        let back = Authorization::parse(&a.to_string()).unwrap();
        assert_eq!(back, a);
    }

    #[test]
    fn rfc2617_no_qop() {
        // RFC 2617 §3.5 without qop (RFC 2069 compatibility): response = H(HA1:nonce:HA2).
        let c = Challenge::parse(
            "Digest realm=\"testrealm@host.com\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\"",
        )
        .unwrap();
        assert!(c.qop.is_empty());
        let a = Authorization::answer(
            &c,
            "Mufasa",
            "Circle Of Life",
            "GET",
            "/dir/index.html",
            1,
            "x",
        );
        assert_eq!(a.qop, None);
        assert_eq!(a.response, "670fd8c2df070c60b045671b8b24ff02");
    }

    #[test]
    fn parses_challenge_lists() {
        let v = "Digest realm=\"a\", nonce=\"n1\", algorithm=SHA-256, qop=\"auth\", Digest realm=\"a\", nonce=\"n2\", algorithm=MD5";
        let all = Challenge::parse_all([v, "Basic realm=\"x\""]);
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].algorithm, Algorithm::Sha256);
        assert_eq!(all[1].nonce, "n2");
        assert!(
            Challenge::parse("Digest realm=\"a\", nonce=\"n\", algorithm=SHA-512-256").is_none()
        );
        assert!(Challenge::parse("Digest realm=\"a\"").is_none());
        for n in 0..v.len() {
            let _ = Challenge::parse_all([&v[..n]]);
            let _ = Authorization::parse(&v[..n]);
        }
    }

    #[test]
    fn server_checks_password_expiry_and_replay() {
        let mut s = DigestServer::new(
            "natlab",
            Algorithm::Md5,
            true,
            Duration::from_secs(30),
            Seed::new(1).rng(),
        );
        let t0 = SimInstant::ZERO;
        let c = s.challenge(t0, false);
        assert!(!c.stale);
        let good = Authorization::answer(&c, "alice", "pw", "REGISTER", "sip:natlab", 1, "c1");
        assert_eq!(s.verify(t0, &good, "REGISTER", Some("pw")), Verdict::Ok);
        assert_eq!(
            s.verify(t0, &good, "REGISTER", Some("pw")),
            Verdict::Refused(RefusalReason::Replay)
        );
        let next = Authorization::answer(&c, "alice", "pw", "REGISTER", "sip:natlab", 2, "c1");
        assert_eq!(s.verify(t0, &next, "REGISTER", Some("pw")), Verdict::Ok);
        let wrong = Authorization::answer(&c, "alice", "bad", "REGISTER", "sip:natlab", 3, "c1");
        assert_eq!(
            s.verify(t0, &wrong, "REGISTER", Some("pw")),
            Verdict::Refused(RefusalReason::WrongPassword)
        );
        assert_eq!(
            s.verify(t0, &next, "REGISTER", None),
            Verdict::Refused(RefusalReason::UnknownUser)
        );
        let later = t0 + Duration::from_secs(31);
        let late = Authorization::answer(&c, "alice", "pw", "REGISTER", "sip:natlab", 4, "c1");
        assert_eq!(
            s.verify(later, &late, "REGISTER", Some("pw")),
            Verdict::Stale
        );
        let fresh = s.challenge(later, true);
        assert!(fresh.stale);
        assert_ne!(fresh.nonce, c.nonce);
        let c2 = Challenge::parse(&fresh.to_string()).unwrap();
        assert_eq!(c2, fresh);
    }
}

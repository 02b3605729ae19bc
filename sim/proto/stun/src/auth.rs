//! STUN credentials (RFC 5389 §10): short-term (USERNAME + MESSAGE-INTEGRITY keyed with the
//! password) and long-term (REALM and server-issued NONCE, key MD5(user:realm:password)).

use crate::codec::{self, Attr};
use rand_core::RngCore;
use rtc_stun::attributes::{ATTR_MESSAGE_INTEGRITY, ATTR_NONCE, ATTR_REALM, ATTR_USERNAME};
use rtc_stun::message::Message;
use sim_core::{SimInstant, SimRng};
use std::collections::BTreeMap;
use std::time::Duration;

/// Which credentials a server demands.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Credentials {
    /// None: every request is answered.
    #[default]
    None,
    /// Short-term credentials (RFC 5389 §10.1): USERNAME must be `username` and
    /// MESSAGE-INTEGRITY must verify with `password`.
    ShortTerm {
        /// The expected USERNAME.
        username: String,
        /// The key of MESSAGE-INTEGRITY.
        password: String,
    },
    /// Long-term credentials (RFC 5389 §10.2).
    LongTerm(LongTerm),
}

/// Long-term credential settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LongTerm {
    /// The REALM the server sends in challenges.
    pub realm: String,
    /// Accounts: username → password.
    pub users: BTreeMap<String, String>,
    /// How long an issued NONCE stays valid; a request with an older (or unknown) nonce is
    /// answered 438 Stale Nonce with a fresh one.
    pub nonce_lifetime: Duration,
}

impl LongTerm {
    /// Default nonce lifetime: one hour (coturn's default is 600 s; RFC 5389 leaves it open).
    pub const DEFAULT_NONCE_LIFETIME: Duration = Duration::from_secs(3600);

    /// One account in `realm`, with the default nonce lifetime.
    pub fn single(realm: &str, username: &str, password: &str) -> Self {
        Self {
            realm: realm.to_owned(),
            users: BTreeMap::from([(username.to_owned(), password.to_owned())]),
            nonce_lifetime: Self::DEFAULT_NONCE_LIFETIME,
        }
    }
}

/// The outcome of checking a request's credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// No credentials required.
    Open,
    /// Authenticated: the key to sign the response with, and the user.
    Accepted { key: Vec<u8>, username: String },
    /// Rejected: answer with this error code and these extra attributes (REALM, NONCE).
    Rejected { code: u16, attrs: Vec<Attr> },
}

/// Issued nonces and when they were issued.
#[derive(Clone, Debug, Default)]
pub(crate) struct Nonces {
    issued: BTreeMap<String, SimInstant>,
}

impl Nonces {
    fn issue(&mut self, now: SimInstant, lifetime: Duration, rng: &mut SimRng) -> String {
        self.issued
            .retain(|_, at| now.saturating_since(*at) < lifetime);
        let mut bytes = [0u8; 12];
        rng.fill_bytes(&mut bytes);
        let nonce: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        self.issued.insert(nonce.clone(), now);
        nonce
    }

    fn is_fresh(&self, now: SimInstant, lifetime: Duration, nonce: &str) -> bool {
        self.issued
            .get(nonce)
            .is_some_and(|at| now.saturating_since(*at) < lifetime)
    }
}

/// Checks `m` against `creds`.
pub(crate) fn verify(
    creds: &Credentials,
    nonces: &mut Nonces,
    now: SimInstant,
    rng: &mut SimRng,
    m: &Message,
) -> Verdict {
    match creds {
        Credentials::None => Verdict::Open,
        Credentials::ShortTerm { username, password } => short_term(username, password, m),
        Credentials::LongTerm(lt) => long_term(lt, nonces, now, rng, m),
    }
}

fn short_term(username: &str, password: &str, m: &Message) -> Verdict {
    let reject = |code| Verdict::Rejected {
        code,
        attrs: Vec::new(),
    };
    let (Some(user), true) = (
        codec::get_text(m, ATTR_USERNAME),
        m.contains(ATTR_MESSAGE_INTEGRITY),
    ) else {
        return reject(400);
    };
    if user != username || !codec::check_integrity(m, password.as_bytes()) {
        return reject(401);
    }
    Verdict::Accepted {
        key: password.as_bytes().to_vec(),
        username: user,
    }
}

pub(crate) fn long_term(
    lt: &LongTerm,
    nonces: &mut Nonces,
    now: SimInstant,
    rng: &mut SimRng,
    m: &Message,
) -> Verdict {
    let challenge = |code, nonces: &mut Nonces, rng: &mut SimRng| Verdict::Rejected {
        code,
        attrs: vec![
            Attr::Text(ATTR_REALM, lt.realm.clone()),
            Attr::Text(ATTR_NONCE, nonces.issue(now, lt.nonce_lifetime, rng)),
        ],
    };
    if !m.contains(ATTR_MESSAGE_INTEGRITY) {
        return challenge(401, nonces, rng);
    }
    let fields = (
        codec::get_text(m, ATTR_USERNAME),
        codec::get_text(m, ATTR_REALM),
        codec::get_text(m, ATTR_NONCE),
    );
    let (Some(user), Some(realm), Some(nonce)) = fields else {
        return Verdict::Rejected {
            code: 400,
            attrs: Vec::new(),
        };
    };
    if !nonces.is_fresh(now, lt.nonce_lifetime, &nonce) {
        return challenge(438, nonces, rng);
    }
    let Some(password) = lt.users.get(&user) else {
        return challenge(401, nonces, rng);
    };
    let key = codec::long_term_key(&user, &realm, password);
    if realm != lt.realm || !codec::check_integrity(m, &key) {
        return challenge(401, nonces, rng);
    }
    Verdict::Accepted {
        key,
        username: user,
    }
}

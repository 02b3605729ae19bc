//! The server's state: accounts, tickets with lifetimes, and which account each device (MD5 MAC)
//! is bound to.
//!
//! Tickets and identifiers are random strings from the server's seeded RNG. A ticket is checked
//! against `now` on every use ([`Store::check`]): unknown, of the wrong kind or `cusid`
//! (`ticket-invalid`), past its lifetime (`ticket-expired`), bound to another device
//! (`device-mismatch`) or revoked (`device-revoked`).

use crate::api::WebStatus;
use rand_core::RngCore;
use sim_core::{SimInstant, SimRng};
use std::collections::BTreeMap;
use std::time::Duration;

/// What a ticket is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    User,
    Refresh,
    Device,
}

#[derive(Clone, Debug)]
pub(crate) struct Ticket {
    pub(crate) kind: Kind,
    pub(crate) cusid: String,
    /// The device MD5 MAC it is bound to, if any.
    pub(crate) mac: Option<String>,
    pub(crate) expires: SimInstant,
    pub(crate) revoked: bool,
}

/// A device known to the Relay Service.
#[derive(Clone, Debug)]
pub(crate) struct Device {
    pub(crate) deviceid: String,
    /// The account it is bound to.
    pub(crate) owner: String,
}

/// An account of the service.
#[derive(Clone, Debug)]
pub(crate) struct Account {
    pub(crate) passwd: String,
    pub(crate) cusid: String,
}

/// Ticket lifetimes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lifetimes {
    /// userticket (app userticket, routeruserticket). Default 1 h.
    pub userticket: Duration,
    /// userrefreshticket (routerrefreshticket). Default 30 days.
    pub refreshticket: Duration,
    /// deviceticket. Default 24 h.
    pub deviceticket: Duration,
}

impl Default for Lifetimes {
    fn default() -> Self {
        Self {
            userticket: Duration::from_secs(3600),
            refreshticket: Duration::from_secs(30 * 86_400),
            deviceticket: Duration::from_secs(86_400),
        }
    }
}

/// A device whose identifiers are given in advance rather than drawn (so that another server,
/// such as the relay SIP server, can know them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KnownDevice {
    /// Its MD5 MAC.
    pub md5mac: String,
    /// The deviceid it gets.
    pub deviceid: String,
    /// The deviceticket every login of it gets (with a fresh lifetime); `None`: drawn.
    pub deviceticket: Option<String>,
}

#[derive(Debug)]
pub(crate) struct Store {
    rng: SimRng,
    pub(crate) lifetimes: Lifetimes,
    pub(crate) accounts: BTreeMap<String, Account>,
    pub(crate) tickets: BTreeMap<String, Ticket>,
    /// By MD5 MAC.
    pub(crate) devices: BTreeMap<String, Device>,
    /// Devices with given identifiers, by MD5 MAC.
    known: BTreeMap<String, KnownDevice>,
}

impl Store {
    pub(crate) fn new(
        mut rng: SimRng,
        lifetimes: Lifetimes,
        accounts: &[(String, String)],
        known: &[KnownDevice],
    ) -> Self {
        let accounts = accounts
            .iter()
            .map(|(user, pass)| {
                let cusid = format!("{:010}", rng.next_u64() % 10_000_000_000);
                let account = Account {
                    passwd: pass.clone(),
                    cusid,
                };
                (user.clone(), account)
            })
            .collect();
        Self {
            rng,
            lifetimes,
            accounts,
            tickets: BTreeMap::new(),
            devices: BTreeMap::new(),
            known: known
                .iter()
                .map(|d| (d.md5mac.clone(), d.clone()))
                .collect(),
        }
    }

    fn token(&mut self, len: usize) -> String {
        let mut s = String::with_capacity(len);
        while s.len() < len {
            let n = self.rng.next_u64();
            s.push_str(&format!("{n:016x}"));
        }
        s.truncate(len);
        s
    }

    /// A new ticket of `kind` for `cusid`, bound to `mac` when given.
    pub(crate) fn issue(
        &mut self,
        now: SimInstant,
        kind: Kind,
        cusid: &str,
        mac: Option<&str>,
    ) -> String {
        let life = match kind {
            Kind::User => self.lifetimes.userticket,
            Kind::Refresh => self.lifetimes.refreshticket,
            Kind::Device => self.lifetimes.deviceticket,
        };
        let fixed = match (kind, mac) {
            (Kind::Device, Some(m)) => self.known.get(m).and_then(|d| d.deviceticket.clone()),
            _ => None,
        };
        let token = fixed.unwrap_or_else(|| self.token(32));
        let ticket = Ticket {
            kind,
            cusid: cusid.to_owned(),
            mac: mac.filter(|m| !m.is_empty()).map(str::to_owned),
            expires: now + life,
            revoked: false,
        };
        self.tickets.insert(token.clone(), ticket);
        token
    }

    /// Checks a ticket of `kind` for `cusid` at `now`; `mac` (when given and the ticket is
    /// bound) must be the device it is bound to.
    pub(crate) fn check(
        &self,
        now: SimInstant,
        token: &str,
        kind: Kind,
        cusid: &str,
        mac: Option<&str>,
    ) -> Result<&Ticket, WebStatus> {
        let t = self
            .tickets
            .get(token)
            .filter(|t| t.kind == kind && t.cusid == cusid)
            .ok_or(WebStatus::TicketInvalid)?;
        if t.revoked {
            return Err(WebStatus::DeviceRevoked);
        }
        if now >= t.expires {
            return Err(WebStatus::TicketExpired);
        }
        match (&t.mac, mac.filter(|m| !m.is_empty())) {
            (Some(bound), Some(given)) if bound != given => Err(WebStatus::DeviceMismatch),
            _ => Ok(t),
        }
    }

    /// Binds an unbound ticket to `mac` (its first use by a device).
    pub(crate) fn bind(&mut self, token: &str, mac: &str) {
        if let Some(t) = self.tickets.get_mut(token)
            && t.mac.is_none()
            && !mac.is_empty()
        {
            t.mac = Some(mac.to_owned());
        }
    }

    /// The device with this MD5 MAC, created for `cusid` if new. Returns its id and the
    /// previous owner when it was bound to another account.
    pub(crate) fn device(&mut self, mac: &str, cusid: &str) -> (String, Option<String>) {
        if let Some(d) = self.devices.get_mut(mac) {
            let previous =
                (d.owner != cusid).then(|| std::mem::replace(&mut d.owner, cusid.into()));
            return (d.deviceid.clone(), previous);
        }
        let deviceid = match self.known.get(mac) {
            Some(d) => d.deviceid.clone(),
            None => self.token(16),
        };
        let device = Device {
            deviceid: deviceid.clone(),
            owner: cusid.to_owned(),
        };
        self.devices.insert(mac.to_owned(), device);
        (deviceid, None)
    }

    /// Revokes every ticket of `cusid` bound to `mac`; returns how many.
    pub(crate) fn revoke(&mut self, cusid: &str, mac: &str, kinds: &[Kind]) -> usize {
        let mut n = 0;
        for t in self.tickets.values_mut() {
            if t.cusid == cusid
                && t.mac.as_deref() == Some(mac)
                && kinds.contains(&t.kind)
                && !t.revoked
            {
                t.revoked = true;
                n += 1;
            }
        }
        n
    }

    /// Every ticket expires at `now`; returns how many were still valid.
    pub(crate) fn expire_all(&mut self, now: SimInstant) -> usize {
        let mut n = 0;
        for t in self.tickets.values_mut() {
            if t.expires > now {
                t.expires = now;
                n += 1;
            }
        }
        n
    }
}

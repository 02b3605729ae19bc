//! NAT-type detection from one UDP socket: the classic RFC 3489 §10.1 decision tree (the
//! nat_type values of AAE event 60005, as pjnath's `pj_stun_detect_nat_type` reports them) and
//! the RFC 5780 §4.3/§4.4 mapping and filtering tests, plus the legacy two-server symmetric
//! check (pjlib-util `pjstun_get_mapped_addr`, status 320011).
//!
//! ```text
//! Test I    → primary                        timeout → BLOCKED (370004)
//!   │                                        error → ERR_UNKNOWN (320008), no mapped → 370040
//!   ├─ concurrently, both to the primary address (so no new filter opens):
//!   │    Test II  CHANGE-REQUEST ip+port     answered → EIF;   classic: OPEN / FULL_CONE
//!   │    Test III CHANGE-REQUEST port        answered → ADF, else APDF
//!   ├─ then (after the filtering tests, since it opens the NAT towards the alternate IP):
//!   │    Mapping II  → alternate IP, primary port     same mapping → EIM
//!   │    Mapping III → alternate IP, alternate port   = Mapping II → ADM, else APDM
//!   └─ classic: mapped = local: Test II ? OPEN : SYMMETRIC_UDP
//!               else Test II ? FULL_CONE : mapping ≠ EIM ? SYMMETRIC
//!               : Test III ? RESTRICTED : PORT_RESTRICTED
//! legacy check (second server configured): Binding to both servers at once;
//!               a timeout → 320010, different mapped addresses → 320011
//! ```
//!
//! Every test is one transaction with [`Retransmit`] timing (pjnath: 7 sends, 7.9 s), so a
//! silent server ends detection after 7.9 s with BLOCKED/370004 and the legacy check with
//! 320010.

mod report;

pub use report::{
    Behaviour, MappedAddressCheck, NAT_TYPE_DETECTED, NAT_TYPE_DETECTED_CODE, NatDetectorConfig,
    NatDetectorEvent, NatReport, NatType, STATUS_STUN_ERROR_ATTR, STATUS_STUN_FINGERPRINT,
    STATUS_STUN_NO_MAPPED_ADDR, STATUS_STUN_NOT_RESPOND, STATUS_STUN_SYMMETRIC,
    STATUS_STUN_TIMED_OUT,
};

use crate::codec::{self, Attr, Change, Fingerprint};
use crate::server::is_response;
use crate::transaction::Transaction;
use bytes::Bytes;
use rtc_stun::attributes::{
    ATTR_CHANGED_ADDRESS, ATTR_MAPPED_ADDRESS, ATTR_OTHER_ADDRESS, ATTR_SOFTWARE,
    ATTR_XORMAPPED_ADDRESS,
};
use rtc_stun::message::{BINDING_REQUEST, CLASS_ERROR_RESPONSE, METHOD_BINDING, Message};
use sim_core::{Addresses, Binding, Bound, Datagram, Node, Seed, SimInstant, SimRng, Transmit};
use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;

/// The tests, in the order they run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Test {
    I,
    FilterBoth,
    FilterPort,
    MapAltIp,
    MapAltBoth,
    LegacyFirst,
    LegacySecond,
}

/// How one test ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Mapped {
        mapped: SocketAddr,
        other: Option<SocketAddr>,
        from: SocketAddr,
    },
    NoMapped,
    Error(u16),
    TimedOut(u32),
    /// A CHANGE-REQUEST answered from an address that does not differ as asked.
    WrongOrigin(SocketAddr),
}

/// The NAT-type detector core. See the module documentation.
#[derive(Debug)]
pub struct NatDetector {
    config: NatDetectorConfig,
    rng: SimRng,
    local: Option<SocketAddr>,
    start_pending: bool,
    running: BTreeMap<Test, Transaction>,
    results: BTreeMap<Test, Outcome>,
    report: Option<NatReport>,
    legacy: Option<MappedAddressCheck>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<NatDetectorEvent>,
}

impl NatDetector {
    /// A detector with `config`; transaction ids come from `seed`.
    pub fn new(config: NatDetectorConfig, seed: Seed) -> Self {
        Self {
            start_pending: config.autostart,
            config,
            rng: seed.rng(),
            local: None,
            running: BTreeMap::new(),
            results: BTreeMap::new(),
            report: None,
            legacy: None,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// Starts (or restarts) a detection at `now`; a running one is left alone.
    pub fn detect(&mut self, now: SimInstant) {
        if !self.running.is_empty() {
            return;
        }
        if self.local.is_none() {
            self.start_pending = true;
            return;
        }
        self.results.clear();
        self.report = None;
        self.legacy = None;
        self.start(now, Test::I);
    }

    /// The configuration, to change between detections.
    pub fn config_mut(&mut self) -> &mut NatDetectorConfig {
        &mut self.config
    }

    /// The last detection's result.
    pub fn report(&self) -> Option<&NatReport> {
        self.report.as_ref()
    }

    /// The last legacy two-server check's result.
    pub fn mapped_address_check(&self) -> Option<&MappedAddressCheck> {
        self.legacy.as_ref()
    }

    /// Whether a detection or legacy check is in progress.
    pub fn is_running(&self) -> bool {
        !self.running.is_empty()
    }

    /// The local address the detector tests from, once bound.
    pub fn local(&self) -> Option<SocketAddr> {
        self.local
    }

    fn server(&self) -> SocketAddr {
        self.config.server
    }

    fn other(&self) -> Option<SocketAddr> {
        match self.results.get(&Test::I) {
            Some(Outcome::Mapped { other, .. }) => *other,
            _ => None,
        }
    }

    fn start(&mut self, now: SimInstant, test: Test) {
        let (dst, change) = match test {
            Test::I | Test::LegacyFirst => (Some(self.server()), Change::NONE),
            Test::FilterBoth => (Some(self.server()), Change::BOTH),
            Test::FilterPort => (Some(self.server()), Change::PORT),
            Test::MapAltIp => (
                self.other()
                    .map(|o| SocketAddr::new(o.ip(), self.server().port())),
                Change::NONE,
            ),
            Test::MapAltBoth => (self.other(), Change::NONE),
            Test::LegacySecond => (self.config.second_server, Change::NONE),
        };
        let Some(dst) = dst else { return };
        let id = codec::transaction_id(&mut self.rng);
        let mut attrs = Vec::new();
        if change != Change::NONE {
            attrs.push(codec::change_request(change));
        }
        if let Some(s) = &self.config.software {
            attrs.push(Attr::Text(ATTR_SOFTWARE, s.clone()));
        }
        let Some(bytes) = codec::encode(BINDING_REQUEST, id, &attrs, None, true) else {
            return;
        };
        let t = Transaction::new(now, id, dst, Bytes::from(bytes), self.config.retransmit);
        self.running.insert(test, t);
        self.pump(now);
    }

    /// Sends every transmission due and handles every timeout due.
    fn pump(&mut self, now: SimInstant) {
        let Some(local) = self.local else { return };
        let mut timed_out = Vec::new();
        for (test, t) in &mut self.running {
            if let Some(payload) = t.poll_send(now) {
                self.transmits.push_back(Transmit::Datagram(Datagram {
                    src: local,
                    dst: t.dst,
                    payload,
                }));
            }
            if t.timed_out(now) {
                timed_out.push((*test, t.last_error.unwrap_or(STATUS_STUN_TIMED_OUT)));
            }
        }
        for (test, status) in timed_out {
            self.running.remove(&test);
            self.finish_test(now, test, Outcome::TimedOut(status));
        }
    }

    fn on_response(&mut self, now: SimInstant, from: SocketAddr, m: &Message) {
        let Some(test) = self
            .running
            .iter()
            .find(|(_, t)| t.id == m.transaction_id)
            .map(|(test, _)| *test)
        else {
            return;
        };
        if codec::check_fingerprint(m) == Fingerprint::Invalid {
            if let Some(t) = self.running.get_mut(&test) {
                t.last_error = Some(STATUS_STUN_FINGERPRINT);
            }
            return;
        }
        self.running.remove(&test);
        let outcome = if m.typ.class == CLASS_ERROR_RESPONSE {
            Outcome::Error(codec::get_error(m).unwrap_or(0))
        } else {
            // A zero mapped address counts as none (pjlib-util: 320010 in the legacy check).
            let mapped = codec::get_xor(m, ATTR_XORMAPPED_ADDRESS)
                .or_else(|| codec::get_plain(m, ATTR_MAPPED_ADDRESS))
                .filter(|a| a.port() != 0 && !a.ip().is_unspecified());
            let other = codec::get_plain(m, ATTR_OTHER_ADDRESS)
                .or_else(|| codec::get_plain(m, ATTR_CHANGED_ADDRESS));
            match mapped {
                Some(_) if !self.origin_as_asked(test, from) => Outcome::WrongOrigin(from),
                Some(mapped) => Outcome::Mapped {
                    mapped,
                    other,
                    from,
                },
                None => Outcome::NoMapped,
            }
        };
        self.finish_test(now, test, outcome);
    }

    fn finish_test(&mut self, now: SimInstant, test: Test, outcome: Outcome) {
        self.results.insert(test, outcome);
        match test {
            Test::I => self.after_test_i(now, outcome),
            Test::FilterBoth | Test::FilterPort => {
                let both = [Test::FilterBoth, Test::FilterPort];
                if both.iter().all(|t| self.results.contains_key(t)) {
                    self.start(now, Test::MapAltIp);
                }
            }
            Test::MapAltIp => match (outcome, self.results.get(&Test::I)) {
                (Outcome::Mapped { mapped, .. }, Some(Outcome::Mapped { mapped: first, .. }))
                    if mapped != *first =>
                {
                    self.start(now, Test::MapAltBoth);
                }
                _ => self.classify(now),
            },
            Test::MapAltBoth => self.classify(now),
            Test::LegacyFirst | Test::LegacySecond => self.after_legacy(),
        }
    }

    fn after_test_i(&mut self, now: SimInstant, outcome: Outcome) {
        let fail = |status, why: &str| (NatType::ErrUnknown, status, why.to_owned());
        let (nat_type, status, why) = match outcome {
            Outcome::TimedOut(STATUS_STUN_TIMED_OUT) => (
                NatType::Blocked,
                Some(STATUS_STUN_TIMED_OUT),
                "test I timed out".to_owned(),
            ),
            Outcome::TimedOut(s) => {
                fail(Some(s), "test I: only responses with a broken FINGERPRINT")
            }
            Outcome::Error(code) => fail(
                Some(STATUS_STUN_ERROR_ATTR),
                &format!("test I: error response {code}"),
            ),
            Outcome::NoMapped => fail(
                Some(STATUS_STUN_NO_MAPPED_ADDR),
                "test I: no mapped address",
            ),
            Outcome::WrongOrigin(_) => fail(None, "test I answered from an unexpected address"),
            Outcome::Mapped { other: None, .. } => {
                fail(None, "server gives no OTHER-ADDRESS/CHANGED-ADDRESS")
            }
            Outcome::Mapped { .. } => {
                self.start(now, Test::FilterBoth);
                self.start(now, Test::FilterPort);
                return;
            }
        };
        self.conclude(now, nat_type, status, Some(why));
    }

    fn mapped(&self, test: Test) -> Option<SocketAddr> {
        match self.results.get(&test) {
            Some(Outcome::Mapped { mapped, .. }) => Some(*mapped),
            _ => None,
        }
    }

    /// Whether a response to a change test came from where the CHANGE-REQUEST asked (a server
    /// that ignores it, or a network that cannot send from the alternate IP, would otherwise
    /// make a filtering NAT look endpoint-independent).
    fn origin_as_asked(&self, test: Test, from: SocketAddr) -> bool {
        let server = self.server();
        let (ip, port) = (from.ip() != server.ip(), from.port() != server.port());
        match test {
            Test::FilterBoth => ip && port,
            Test::FilterPort => !ip && port,
            _ => true,
        }
    }

    fn answered_changed(&self, test: Test) -> bool {
        matches!(self.results.get(&test), Some(Outcome::Mapped { .. }))
    }

    fn classify(&mut self, now: SimInstant) {
        let first = self.mapped(Test::I);
        let both = self.answered_changed(Test::FilterBoth);
        let port = self.answered_changed(Test::FilterPort);
        let filtering = Some(match (both, port) {
            (true, _) => Behaviour::EndpointIndependent,
            (false, true) => Behaviour::AddressDependent,
            (false, false) => Behaviour::AddressAndPortDependent,
        });
        let alt_ip = self.mapped(Test::MapAltIp);
        let mapping = match (alt_ip, self.mapped(Test::MapAltBoth)) {
            (Some(m2), _) if Some(m2) == first => Some(Behaviour::EndpointIndependent),
            (Some(m2), Some(m3)) if m3 == m2 => Some(Behaviour::AddressDependent),
            (Some(_), Some(_)) => Some(Behaviour::AddressAndPortDependent),
            _ => None,
        };
        let wrong_origin =
            [Test::FilterBoth, Test::FilterPort]
                .iter()
                .find_map(|t| match self.results.get(t) {
                    Some(Outcome::WrongOrigin(from)) => Some(*from),
                    _ => None,
                });
        if let Some(from) = wrong_origin {
            let why = format!("CHANGE-REQUEST answered from {from}, not the address asked");
            return self.conclude(now, NatType::ErrUnknown, None, Some(why));
        }
        let errors = [Test::FilterBoth, Test::FilterPort].iter().any(|t| {
            matches!(
                self.results.get(t),
                Some(Outcome::Error(_) | Outcome::NoMapped)
            )
        });
        let open = first.is_some() && first == self.local;
        let (nat_type, status, why) = match (open, both, mapping) {
            _ if errors => (
                NatType::ErrUnknown,
                Some(STATUS_STUN_ERROR_ATTR),
                Some("change test answered with an error"),
            ),
            (true, true, _) => (NatType::Open, None, None),
            (true, false, _) => (NatType::SymmetricUdp, None, None),
            (false, true, Some(m))
                if self.config.mapping_first && m != Behaviour::EndpointIndependent =>
            {
                (NatType::Symmetric, None, None)
            }
            (false, true, _) => (NatType::FullCone, None, None),
            (false, false, None) => (
                NatType::ErrUnknown,
                Some(STATUS_STUN_TIMED_OUT),
                Some("no answer from the alternate address"),
            ),
            (false, false, Some(Behaviour::EndpointIndependent)) => match port {
                true => (NatType::Restricted, None, None),
                false => (NatType::PortRestricted, None, None),
            },
            (false, false, Some(_)) => (NatType::Symmetric, None, None),
        };
        self.report = Some(NatReport {
            nat_type,
            status,
            mapping,
            filtering: (!errors).then_some(filtering).flatten(),
            local: self.local,
            public: first,
            reason: why.map(str::to_owned),
        });
        self.emit_and_continue(now);
    }

    fn conclude(
        &mut self,
        now: SimInstant,
        nat_type: NatType,
        status: Option<u32>,
        why: Option<String>,
    ) {
        self.report = Some(NatReport {
            nat_type,
            status,
            mapping: None,
            filtering: None,
            local: self.local,
            public: self.mapped(Test::I),
            reason: why,
        });
        self.emit_and_continue(now);
    }

    fn emit_and_continue(&mut self, now: SimInstant) {
        if let Some(r) = self.report.clone() {
            self.events.push_back(match r.failed() {
                true => NatDetectorEvent::Failed(r),
                false => NatDetectorEvent::Detected(r),
            });
        }
        if self.config.second_server.is_some() {
            self.start(now, Test::LegacyFirst);
            self.start(now, Test::LegacySecond);
        }
    }

    fn after_legacy(&mut self) {
        let (Some(a), Some(b)) = (
            self.results.get(&Test::LegacyFirst),
            self.results.get(&Test::LegacySecond),
        ) else {
            return;
        };
        let answered = |o: &Outcome| matches!(o, Outcome::Mapped { .. });
        let (first, second) = (
            self.mapped(Test::LegacyFirst),
            self.mapped(Test::LegacySecond),
        );
        let status = if !answered(a) || !answered(b) {
            Some(STATUS_STUN_NOT_RESPOND)
        } else if first != second {
            Some(STATUS_STUN_SYMMETRIC)
        } else {
            None
        };
        let check = MappedAddressCheck {
            first,
            second,
            status,
        };
        self.legacy = Some(check.clone());
        self.events
            .push_back(NatDetectorEvent::MappedAddressChecked(check));
    }
}

impl Node for NatDetector {
    type Event = NatDetectorEvent;

    fn bindings(&self) -> Vec<Binding> {
        vec![Binding::udp(self.config.local_port)]
    }

    fn handle_start(&mut self, now: SimInstant, addresses: Addresses) {
        if let Some(local) = self.local
            && local.ip().is_unspecified()
            && let Some(ip) = addresses.towards(self.config.server.ip())
        {
            self.local = Some(SocketAddr::new(ip, local.port()));
        }
        // A (re)start forgets any detection in flight.
        self.running.clear();
        self.transmits.clear();
        if self.start_pending || self.config.autostart {
            self.start_pending = false;
            self.detect(now);
        }
    }

    fn handle_bound(&mut self, _now: SimInstant, bound: Bound) {
        if bound.id.is_none()
            && let Ok(addr) = bound.result
        {
            self.local = Some(addr);
        }
    }

    fn handle_datagram(&mut self, now: SimInstant, d: Datagram) {
        let Some(m) = codec::decode(&d.payload) else {
            return;
        };
        if m.typ.method == METHOD_BINDING && is_response(m.typ) {
            self.on_response(now, d.src, &m);
        }
    }

    fn handle_timeout(&mut self, now: SimInstant) {
        self.pump(now);
    }

    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    fn poll_event(&mut self) -> Option<NatDetectorEvent> {
        self.events.pop_front()
    }

    fn poll_timeout(&self) -> Option<SimInstant> {
        self.running.values().map(Transaction::deadline).min()
    }
}

#[cfg(test)]
mod tests;

//! Gathering: host candidates, server-reflexive candidates from STUN Binding transactions, the
//! relayed candidate from a TURN allocation, and `gathering-done` once every server answered or
//! timed out.

use super::IceAgent;
use crate::candidate::to_rtc;
use crate::config::{IcePolicy, TurnServer, TurnTransport};
use crate::event::{CandidateKind, IceCandidate, IceEvent, ServerKind, Status};
use crate::stun::{self, BindingTransaction, Outcome};
use crate::turn::TurnRelay;
use rtc_ice::crypto::RTCCryptoProvider;
use sim_core::{Datagram, SimInstant, Transmit};
use std::net::SocketAddr;
use std::sync::Arc;

impl IceAgent {
    pub(super) fn add_local(&mut self, kind: CandidateKind, addr: SocketAddr, base: SocketAddr) {
        if self.config.policy == IcePolicy::Relay && kind != CandidateKind::Relay {
            return; // relay-only: host and reflexive addresses are neither offered nor checked
        }
        if self.local.iter().any(|c| c.addr == addr) {
            return; // a reflexive address equal to a host one (no NAT) adds nothing
        }
        let draft = IceCandidate {
            kind,
            addr,
            base,
            priority: 0,
        };
        let Some(rc) = to_rtc(&draft, format!("{kind}-{}", self.local.len())) else {
            return;
        };
        let priority = rc.priority();
        if self.agent.add_local_candidate(rc).unwrap_or(false) {
            self.local.push(IceCandidate { priority, ..draft });
        }
    }

    /// Host candidates, then one STUN Binding per server of a family the node has.
    pub(super) fn start_gathering(&mut self, now: SimInstant) {
        let Some(port) = self.port else {
            self.finish_gathering();
            return;
        };
        let ips: Vec<_> = self.addresses.iter().collect();
        for ip in ips {
            let addr = SocketAddr::new(ip, port);
            self.add_local(CandidateKind::Host, addr, addr);
        }
        for server in self.config.stun_servers.clone() {
            let family_ok = self
                .addresses
                .iter()
                .any(|ip| ip.is_ipv4() == server.is_ipv4());
            if family_ok && let Some(t) = BindingTransaction::new(now, server, &mut self.rng) {
                self.gathering.push((t, false));
            }
        }
        if let Some(turn) = self.config.turn.clone() {
            self.start_turn(now, &turn);
        }
        self.poll_gathering(now);
    }

    pub(super) fn start_turn(&mut self, now: SimInstant, turn: &TurnServer) {
        let failed = |status, reason: String| IceEvent::ServerFailed {
            kind: ServerKind::Turn,
            server: turn.addr,
            status,
            reason,
        };
        if turn.transport == TurnTransport::Tcp {
            let reason = "TURN over TCP (RFC 6062) is not supported by this agent".to_owned();
            self.events
                .push_back(failed(Status::TURN_TRANSPORT, reason));
            return;
        }
        let Some(local) = self.local_addr_towards(turn.addr) else {
            let reason = "no local address of the server's family".to_owned();
            self.events
                .push_back(failed(Status::TURN_TRANSPORT, reason));
            return;
        };
        let rto = u64::try_from(self.config.timers.stun_rto.as_millis()).unwrap_or(100);
        let provider: Arc<dyn RTCCryptoProvider> = self.turn_provider.clone();
        let creds = (turn.username.as_str(), turn.password.as_str());
        match TurnRelay::new(now, turn.addr, local, creds, rto, provider) {
            Ok(relay) => {
                self.turn = Some(relay);
                self.process_turn(now);
            }
            Err(reason) => {
                let reason = format!("TURN client refused: {reason}");
                self.events
                    .push_back(failed(Status::STUN_TRANSACTION_FAILED, reason));
            }
        }
    }

    /// Sends what the TURN client wrote, hands relayed datagrams to the session, and reports
    /// the allocation's outcome.
    pub(super) fn process_turn(&mut self, now: SimInstant) {
        let Some(turn) = self.turn.as_mut() else {
            return;
        };
        let wire = std::mem::take(&mut turn.wire);
        let inbound = std::mem::take(&mut turn.relayed_in);
        let relayed = turn.relayed;
        for d in wire {
            self.transmits.push_back(Transmit::Datagram(d));
        }
        if let Some(relayed) = relayed {
            for (peer, payload) in inbound {
                let d = Datagram {
                    src: peer,
                    dst: relayed,
                    payload,
                };
                if stun::looks_like_stun(&d.payload) {
                    self.on_stun(now, relayed, &d);
                } else {
                    self.on_data(now, relayed, d);
                }
            }
        }
        self.collect_gathering();
    }

    pub(super) fn relayed_addr(&self) -> Option<SocketAddr> {
        self.turn.as_ref().and_then(|t| t.relayed)
    }

    pub(super) fn poll_gathering(&mut self, now: SimInstant) {
        let timers = self.config.timers;
        let mut sends = Vec::new();
        for (t, _) in &mut self.gathering {
            while let Some(request) = t.poll(now, &timers) {
                sends.push((t.server, request));
            }
        }
        for (server, payload) in sends {
            let src = self.local_addr_towards(server);
            if let Some(src) = src {
                self.transmits.push_back(Transmit::Datagram(Datagram {
                    src,
                    dst: server,
                    payload,
                }));
            }
        }
        self.collect_gathering();
    }

    pub(super) fn collect_gathering(&mut self) {
        let mut finished = Vec::new();
        for (t, reported) in &mut self.gathering {
            if let Some(outcome) = t.outcome.clone().filter(|_| !*reported) {
                *reported = true;
                finished.push((t.server, outcome));
            }
        }
        for (server, outcome) in finished {
            match outcome {
                Outcome::Mapped(mapped) => {
                    if let Some(base) = self.local_addr_towards(server) {
                        self.add_local(CandidateKind::ServerReflexive, mapped, base);
                    }
                }
                Outcome::Failed(status, reason) => self.events.push_back(IceEvent::ServerFailed {
                    kind: ServerKind::Stun,
                    server,
                    status,
                    reason,
                }),
            }
        }
        let turn_outcome = self.turn.as_mut().and_then(|t| {
            let first = !t.reported && t.outcome.is_some();
            t.reported |= first;
            first.then(|| (t.server, t.outcome.clone()))
        });
        if let Some((server, Some(outcome))) = turn_outcome {
            match outcome {
                Ok(relayed) => self.add_local(CandidateKind::Relay, relayed, relayed),
                Err((status, reason)) => self.events.push_back(IceEvent::ServerFailed {
                    kind: ServerKind::Turn,
                    server,
                    status,
                    reason,
                }),
            }
        }
        let turn_done = self.turn.as_ref().is_none_or(|t| t.reported);
        if !self.gathering_done && turn_done && self.gathering.iter().all(|(_, r)| *r) {
            self.finish_gathering();
        }
    }

    pub(super) fn finish_gathering(&mut self) {
        self.gathering_done = true;
        self.events.push_back(IceEvent::GatheringDone {
            candidates: self.local.clone(),
        });
    }
}

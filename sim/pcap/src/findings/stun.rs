//! STUN and TURN diagnoses: error responses (with their meaning and whether the client recovered),
//! requests never answered (failed ICE checks), and server-reflexive addresses that differ per
//! server for one local address (address-dependent mapping, "symmetric" NAT).

use super::{Finding, FindingKind, Frames, Protocol, Severity};
use crate::decode::PacketMeta;
use crate::stun::{StunClass, StunMessage, error_info, method_name};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;

/// Most STUN transactions followed at once (the oldest are forgotten first).
const MAX_TXNS: usize = 64 * 1024;
/// Capture time after which an unanswered request counts as never answered.
const ANSWER_WAIT_NS: i64 = 5_000_000_000;

#[derive(Debug)]
struct Txn {
    method: u16,
    client: SocketAddr,
    server: SocketAddr,
    frames: Frames,
    first_ts: i64,
    answered: bool,
}

/// Error responses for one (code, method, client, server).
#[derive(Debug, Default)]
struct Errors {
    reason: String,
    frames: Frames,
    first_ts: i64,
    /// A success for the same method and pair came after the error.
    recovered: bool,
}

/// Unanswered requests for one (method, client, server).
#[derive(Debug, Default)]
struct Silent {
    frames: Frames,
    first_ts: i64,
}

#[derive(Debug, Default)]
pub(crate) struct StunTracker {
    txns: HashMap<[u8; 12], Txn>,
    order: VecDeque<[u8; 12]>,
    errors: BTreeMap<(u16, u16, SocketAddr, SocketAddr), Errors>,
    silent: BTreeMap<(u16, SocketAddr, SocketAddr), Silent>,
    /// Pairs that got at least one success.
    answered_pairs: BTreeMap<(u16, SocketAddr, SocketAddr), u64>,
    /// Local address → server → (mapped address, frame).
    mappings: BTreeMap<SocketAddr, BTreeMap<SocketAddr, (SocketAddr, u64, i64)>>,
}

impl StunTracker {
    pub(crate) fn on_stun(&mut self, meta: &PacketMeta, m: &StunMessage) {
        match m.class {
            Some(StunClass::Request) => self.request(meta, m),
            Some(StunClass::Success) => self.response(meta, m, None),
            Some(StunClass::Error) => self.response(meta, m, m.error.clone()),
            Some(StunClass::Indication) | None => {}
        }
    }

    fn request(&mut self, meta: &PacketMeta, m: &StunMessage) {
        if let Some(t) = self.txns.get_mut(&m.txid) {
            t.frames.push(meta.frame);
            return;
        }
        if self.txns.len() >= MAX_TXNS
            && let Some(old) = self.order.pop_front()
            && let Some(t) = self.txns.remove(&old)
        {
            self.settle(t, i64::MAX);
        }
        let mut frames = Frames::default();
        frames.push(meta.frame);
        self.txns.insert(
            m.txid,
            Txn {
                method: m.method,
                client: meta.src,
                server: meta.dst,
                frames,
                first_ts: meta.ts_ns,
                answered: false,
            },
        );
        self.order.push_back(m.txid);
    }

    fn response(&mut self, meta: &PacketMeta, m: &StunMessage, error: Option<(u16, String)>) {
        // The response goes from the server to the client.
        let (client, server) = (meta.dst, meta.src);
        if let Some(t) = self.txns.get_mut(&m.txid) {
            t.answered = true;
        }
        match error {
            Some((code, reason)) => {
                let e = self
                    .errors
                    .entry((code, m.method, client, server))
                    .or_insert_with(|| Errors {
                        reason,
                        first_ts: meta.ts_ns,
                        ..Errors::default()
                    });
                e.frames.push(meta.frame);
            }
            None => {
                *self
                    .answered_pairs
                    .entry((m.method, client, server))
                    .or_default() += 1;
                for ((_, method, c, s), e) in &mut self.errors {
                    if *method == m.method && *c == client && *s == server {
                        e.recovered = true;
                    }
                }
                if let (1, Some(mapped)) = (m.method, m.mapped) {
                    self.mappings
                        .entry(client)
                        .or_default()
                        .entry(server)
                        .or_insert((mapped, meta.frame, meta.ts_ns));
                }
            }
        }
    }

    fn settle(&mut self, t: Txn, now: i64) {
        if t.answered || now.saturating_sub(t.first_ts) < ANSWER_WAIT_NS {
            return;
        }
        let s = self
            .silent
            .entry((t.method, t.client, t.server))
            .or_insert_with(|| Silent {
                first_ts: t.first_ts,
                ..Silent::default()
            });
        for f in t.frames.list() {
            s.frames.push(*f);
        }
        s.frames.total += t.frames.total - t.frames.list().len() as u64;
    }

    /// The findings, once the capture has ended at `end_ns`.
    pub(crate) fn findings(&mut self, end_ns: i64) -> Vec<Finding> {
        for (_, t) in std::mem::take(&mut self.txns) {
            self.settle(t, end_ns);
        }
        let mut out: Vec<Finding> = self
            .errors
            .iter()
            .map(|(k, e)| error_finding(*k, e))
            .collect();
        for ((method, client, server), s) in &self.silent {
            if self
                .answered_pairs
                .contains_key(&(*method, *client, *server))
            {
                continue;
            }
            let mut f = Finding::new(
                Severity::Warning,
                FindingKind::StunUnanswered,
                Protocol::Stun,
                format!(
                    "{} {} request(s) from {client} to {server} were never answered: the path is blocked (firewall, NAT filtering) or nothing listens there. For ICE this pair's connectivity check failed.",
                    s.frames.total,
                    method_name(*method)
                ),
            );
            f.method = Some(method_name(*method).into());
            f.endpoints = Some(format!("{client} → {server}"));
            f.ts_ns = s.first_ts;
            out.push(f.with_frames(s.frames.list().iter().copied(), s.frames.total));
        }
        out.extend(
            self.mappings
                .iter()
                .filter_map(|(local, by)| mapping_finding(*local, by)),
        );
        out
    }
}

fn error_finding(k: (u16, u16, SocketAddr, SocketAddr), e: &Errors) -> Finding {
    let (code, method, client, server) = k;
    let info = error_info(code);
    let (severity, note) = match code {
        401 if e.recovered => (
            Severity::Info,
            "Normal authentication challenge: the client retried with credentials and succeeded.",
        ),
        438 => (
            Severity::Info,
            "The nonce expired; the client retries with the new one (normal).",
        ),
        487 => (
            Severity::Info,
            "ICE role conflict: the agents swap roles and continue (normal).",
        ),
        300 => (
            Severity::Info,
            "The client is redirected to another server.",
        ),
        _ if e.recovered => (
            Severity::Warning,
            "A later request of the same kind succeeded.",
        ),
        401 | 441 => (
            Severity::Error,
            "The credentials were rejected and no later request succeeded: wrong TURN user/password, or ICE ufrag/password mismatch.",
        ),
        _ => (
            Severity::Error,
            "No later request of the same kind succeeded.",
        ),
    };
    let mut f = Finding::new(
        severity,
        FindingKind::StunError,
        Protocol::Stun,
        format!(
            "{} error {code} {} from {server} to {client}. {note}",
            method_name(method),
            e.reason
        ),
    );
    f.code = Some(code);
    f.reason = Some(e.reason.clone());
    f.standard_phrase = info.map(|i| i.0);
    f.meaning = info.map(|i| i.1);
    f.meaning_source = info.map(|i| i.2);
    f.standard_meaning = f.meaning;
    f.method = Some(method_name(method).into());
    f.endpoints = Some(format!("{server} → {client}"));
    f.ts_ns = e.first_ts;
    f.with_frames(e.frames.list().iter().copied(), e.frames.total)
}

fn mapping_finding(
    local: SocketAddr,
    by: &BTreeMap<SocketAddr, (SocketAddr, u64, i64)>,
) -> Option<Finding> {
    let mut distinct: Vec<SocketAddr> = by.values().map(|v| v.0).collect();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < 2 {
        return None;
    }
    let listed: Vec<String> = by
        .iter()
        .map(|(server, (mapped, frame, _))| format!("{mapped} towards {server} (frame {frame})"))
        .collect();
    let mut f = Finding::new(
        Severity::Warning,
        FindingKind::NatAddressDependentMapping,
        Protocol::Stun,
        format!(
            "The local address {local} was mapped to different public addresses per destination: {}. The NAT's mapping is address-dependent (a \"symmetric\" NAT): a server-reflexive candidate learnt from one server is useless towards other peers, so ICE needs a TURN relay.",
            listed.join(", ")
        ),
    );
    f.endpoints = Some(local.to_string());
    f.ts_ns = by.values().map(|v| v.2).min().unwrap_or(0);
    Some(f.with_frames(by.values().map(|v| v.1), by.len() as u64))
}

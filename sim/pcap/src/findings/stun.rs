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
    /// Open transactions by id. Its iteration order changes from process to process (std's
    /// per-process hash seed): it is only ever drained sorted by first frame.
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
        s.first_ts = s.first_ts.min(t.first_ts);
        for f in t.frames.list() {
            s.frames.push(*f);
        }
        s.frames.total += t.frames.total - t.frames.list().len() as u64;
    }

    /// The findings, once the capture has ended at `end_ns`.
    pub(crate) fn findings(&mut self, end_ns: i64) -> Vec<Finding> {
        // Settled in the order of their first frame, never in the table's (hash) order: several
        // transactions of one pair add up to one finding, whose frames and time come from the
        // transactions settled first.
        let mut open: Vec<Txn> = std::mem::take(&mut self.txns).into_values().collect();
        open.sort_unstable_by_key(|t| (t.frames.list().first().copied(), t.first_ts));
        self.order.clear();
        for t in open {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::Carrier;

    const S: i64 = 1_000_000_000;

    /// Twelve unanswered Binding requests, four to each of three peers, each sent twice.
    fn unanswered(t: &mut StunTracker) {
        let local: SocketAddr = "192.0.2.50:4000".parse().unwrap();
        let mut frame = 0;
        for n in 0u8..4 {
            for peer in 0u8..3 {
                let m = StunMessage {
                    method: 1,
                    class: Some(StunClass::Request),
                    txid: [n * 16 + peer + 1; 12],
                    ..StunMessage::default()
                };
                for retry in 0..2 {
                    frame += 1;
                    let meta = PacketMeta {
                        frame,
                        ts_ns: i64::from(n * 3 + peer) * S / 10 + retry * S / 100,
                        src: local,
                        dst: SocketAddr::from(([198, 51, 100, 60 + peer], 6000)),
                        carrier: Carrier::Udp,
                    };
                    t.on_stun(&meta, &m);
                }
            }
        }
    }

    #[test]
    fn stun_unanswered_many_transactions_findings_do_not_follow_table_order() {
        // Each table gets its own hash keys, so every tracker iterates its transactions in a
        // different order: the findings must be the same anyway.
        let runs: Vec<Vec<(Vec<u64>, u64, i64)>> = (0..16)
            .map(|_| {
                let mut t = StunTracker::default();
                unanswered(&mut t);
                t.findings(60 * S)
                    .into_iter()
                    .map(|f| (f.frames, f.frames_total, f.ts_ns))
                    .collect()
            })
            .collect();
        let first = &runs[0];
        assert_eq!(first.len(), 3, "{first:?}");
        // Peer 0's requests: frames 1-2, 7-8, 13-14, 19-20; the first six are kept.
        assert_eq!(first[0], (vec![1, 2, 7, 8, 13, 14], 8, 0));
        assert!(runs.iter().all(|r| r == first), "{runs:?}");
    }
}

//! Ladder (sequence) diagrams: SIP and STUN messages on one time axis, one column per transport
//! address. The recorder keeps only what the chosen scope needs: one call's messages (plus the STUN
//! traffic between that call's addresses around its time), or the first N messages of the capture.

use crate::correlate::Call;
use crate::decode::{Carrier, PacketMeta};
use crate::sip::SipMessage;
use crate::sip::value;
use crate::stun::{StunMessage, method_name};
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

/// STUN messages held while waiting to know which call they belong to.
const MAX_STUN_HELD: usize = 20_000;
/// STUN traffic this long before or after a call is shown with it.
const STUN_MARGIN_NS: i64 = 10_000_000_000;

/// Which messages a ladder shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LadderScope {
    /// One Call-ID.
    Call(String),
    /// The first `limit` messages of the capture.
    All {
        /// How many messages at most.
        limit: usize,
    },
}

/// One arrow.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LadderEvent {
    /// Frame number.
    pub frame: u64,
    /// Seconds since the first frame of the capture.
    pub time: f64,
    /// Sender column.
    pub from: usize,
    /// Receiver column.
    pub to: usize,
    /// `SIP` or `STUN`.
    pub protocol: &'static str,
    /// Transport (`UDP`, `TCP`, `WS`).
    pub transport: &'static str,
    /// Short label: `INVITE (SDP)`, `180 Ringing`, `Binding request`.
    pub label: String,
    /// Longer detail: CSeq, Call-ID, mapped address, error...
    pub detail: String,
    /// A SIP status, to colour failures.
    pub status: Option<u16>,
    /// The Call-ID (SIP and RTP).
    pub call_id: Option<String>,
    /// For an RTP stream (a band): seconds since the first frame of its last packet.
    pub until: Option<f64>,
}

/// A finished ladder.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Ladder {
    /// Column titles (`ip:port`), in order of first appearance.
    pub hosts: Vec<String>,
    /// Arrows in time order.
    pub events: Vec<LadderEvent>,
    /// Messages left out because of the limit.
    pub omitted: u64,
    /// What the ladder shows.
    pub title: String,
}

#[derive(Clone, Debug)]
struct Raw {
    frame: u64,
    ts_ns: i64,
    src: SocketAddr,
    dst: SocketAddr,
    protocol: &'static str,
    transport: &'static str,
    label: String,
    detail: String,
    status: Option<u16>,
    call_id: Option<String>,
}

impl Ladder {
    /// Adds media streams as bands between the hosts (a stream's endpoint shares the column of
    /// a signalling address with the same IP when there is one).
    pub fn add_media(&mut self, streams: &[&crate::media::MediaStream], _t0: i64) {
        for m in streams {
            let from = self.column(&m.src);
            let to = self.column(&m.dst);
            let codec = m
                .payload_types
                .iter()
                .max_by_key(|p| p.packets)
                .and_then(|p| p.name.clone())
                .unwrap_or_default();
            let mos = m
                .quality
                .as_ref()
                .map(|q| format!(", MOS {:.2}", q.mos))
                .unwrap_or_default();
            let dtmf: String = m.telephone_events.iter().map(|e| e.key.as_str()).collect();
            let dtmf = if dtmf.is_empty() {
                dtmf
            } else {
                format!(", DTMF {dtmf}")
            };
            self.events.push(LadderEvent {
                frame: m.first_frame,
                time: m.start,
                from,
                to,
                protocol: "RTP",
                transport: "UDP",
                label: format!(
                    "RTP {codec} {} pkts, {:.1}-{:.1} s, loss {}%{mos}{dtmf}",
                    m.packets, m.start, m.stop, m.loss_percent
                ),
                detail: format!(
                    "{} → {} · SSRC {} · max jitter {} ms · frames {}-{}",
                    m.src,
                    m.dst,
                    m.ssrcs.first().map_or("-", |s| s.ssrc.as_str()),
                    m.max_jitter_ms,
                    m.first_frame,
                    m.last_frame
                ),
                status: None,
                call_id: m.call_id.clone(),
                until: Some(m.stop),
            });
        }
        self.events
            .sort_by(|a, b| a.time.total_cmp(&b.time).then(a.frame.cmp(&b.frame)));
    }

    fn column(&mut self, addr: &str) -> usize {
        if let Some(i) = self.hosts.iter().position(|h| h == addr) {
            return i;
        }
        let ip = addr.parse::<SocketAddr>().ok().map(|a| a.ip());
        let same_ip = self
            .hosts
            .iter()
            .position(|h| h.parse::<SocketAddr>().ok().map(|a| a.ip()) == ip && ip.is_some());
        same_ip.unwrap_or_else(|| {
            self.hosts.push(addr.to_owned());
            self.hosts.len() - 1
        })
    }
}

/// Records ladder events during correlation.
#[derive(Debug)]
pub(crate) struct LadderRecorder {
    scope: LadderScope,
    events: Vec<Raw>,
    stun_held: Vec<Raw>,
    omitted: u64,
    call_addresses: Vec<IpAddr>,
}

impl LadderRecorder {
    pub(crate) fn new(scope: LadderScope) -> Self {
        Self {
            scope,
            events: Vec::new(),
            stun_held: Vec::new(),
            omitted: 0,
            call_addresses: Vec::new(),
        }
    }

    fn room(&mut self) -> bool {
        match self.scope {
            LadderScope::All { limit } if self.events.len() >= limit => {
                self.omitted += 1;
                false
            }
            _ => true,
        }
    }

    pub(crate) fn sip(&mut self, meta: &PacketMeta, msg: &SipMessage<'_>) {
        if let LadderScope::Call(id) = &self.scope
            && msg.call_id() != id.as_bytes()
        {
            return;
        }
        if !self.room() {
            return;
        }
        let sdp = msg.body().starts_with(b"v=");
        let label = match msg.status() {
            Some(code) => format!("{code} {}", value::text(msg.reason(), 32)),
            None => value::text(msg.method_name(), 24),
        };
        let label = if sdp { format!("{label} (SDP)") } else { label };
        let detail = format!(
            "CSeq {} {} · Call-ID {}",
            msg.fields.cseq,
            value::text(msg.get(msg.fields.cseq_method_span), 24),
            value::text(msg.call_id(), 64)
        );
        self.events.push(raw(
            meta,
            "SIP",
            label,
            detail,
            msg.status().map(|s| s.0),
            Some(value::text(msg.call_id(), 256)),
        ));
    }

    pub(crate) fn stun(&mut self, meta: &PacketMeta, m: &StunMessage) {
        let class = m.class.map_or("", |c| c.as_str());
        let label = format!("{} {class}", method_name(m.method));
        let mut detail = String::new();
        if let Some(a) = m.mapped {
            detail.push_str(&format!("mapped {a} "));
        }
        if let Some((code, reason)) = &m.error {
            detail.push_str(&format!("error {code} {reason} "));
        }
        if let Some(u) = &m.username {
            detail.push_str(&format!("user {u} "));
        }
        if m.use_candidate {
            detail.push_str("USE-CANDIDATE ");
        }
        let status = m.error.as_ref().map(|e| e.0);
        let event = raw(
            meta,
            "STUN",
            label,
            detail.trim_end().to_owned(),
            status,
            None,
        );
        match self.scope {
            LadderScope::Call(_) if self.stun_held.len() < MAX_STUN_HELD => {
                self.stun_held.push(event)
            }
            LadderScope::Call(_) => {}
            LadderScope::All { .. } => {
                if self.room() {
                    self.events.push(event);
                }
            }
        }
    }

    /// The addresses of a call that was closed (used to pick its STUN traffic).
    pub(crate) fn note_call_addresses(&mut self, call_id: &[u8], addresses: &[IpAddr]) {
        if matches!(&self.scope, LadderScope::Call(id) if id.as_bytes() == call_id) {
            self.call_addresses.extend(addresses.iter().copied());
        }
    }

    pub(crate) fn finish(mut self, calls: &[Call], t0: i64) -> Ladder {
        let title = match &self.scope {
            LadderScope::Call(id) => {
                if let Some(c) = calls.iter().find(|c| c.call_id_bytes() == id.as_bytes()) {
                    let (from, to) = (c.first_ts - STUN_MARGIN_NS, c.last_ts + STUN_MARGIN_NS);
                    let addrs = &self.call_addresses;
                    let related = self.stun_held.iter().filter(|e| {
                        (from..=to).contains(&e.ts_ns)
                            && (addrs.contains(&e.src.ip()) || addrs.contains(&e.dst.ip()))
                    });
                    self.events.extend(related.cloned());
                }
                format!("Call-ID {id}")
            }
            LadderScope::All { limit } => format!("first {limit} messages"),
        };
        self.events.sort_by_key(|e| (e.ts_ns, e.frame));
        layout(self.events, self.omitted, title, t0)
    }
}

fn raw(
    meta: &PacketMeta,
    protocol: &'static str,
    label: String,
    detail: String,
    status: Option<u16>,
    call_id: Option<String>,
) -> Raw {
    Raw {
        frame: meta.frame,
        ts_ns: meta.ts_ns,
        src: meta.src,
        dst: meta.dst,
        protocol,
        transport: match meta.carrier {
            Carrier::Udp => "UDP",
            Carrier::Tcp => "TCP",
            Carrier::WebSocket => "WS",
        },
        label,
        detail,
        status,
        call_id,
    }
}

/// Assigns columns in order of first appearance.
fn layout(events: Vec<Raw>, omitted: u64, title: String, t0: i64) -> Ladder {
    let mut columns: BTreeMap<SocketAddr, usize> = BTreeMap::new();
    let mut hosts = Vec::new();
    let mut col = |a: SocketAddr| {
        *columns.entry(a).or_insert_with(|| {
            hosts.push(a.to_string());
            hosts.len() - 1
        })
    };
    let events = events
        .into_iter()
        .map(|e| LadderEvent {
            frame: e.frame,
            time: (e.ts_ns - t0).max(0) as f64 / 1e9,
            from: col(e.src),
            to: col(e.dst),
            protocol: e.protocol,
            transport: e.transport,
            label: e.label,
            detail: e.detail,
            status: e.status,
            call_id: e.call_id,
            until: None,
        })
        .collect();
    Ladder {
        hosts,
        events,
        omitted,
        title,
    }
}

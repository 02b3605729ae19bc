//! The HTML pages of `natlab run --out DIR`: `ladder.html` beside each run's report, built
//! from what the run wrote (its capture, read by the analyser's ladder and, for the hop each
//! frame was on, by its MAC addresses; its `events.jsonl`; its report), and the suite's
//! `index.html`.
//!
//! Columns are the scenario's nodes and NAT boxes that appear, laid out by topology: a NAT's
//! LAN hosts on its far side, the public network in the middle. A capture frame's sender and
//! receiver come from its MAC addresses, which natlab derives from the attachment (node, NAT
//! inside, NAT outside), so a packet crossing a NAT is two arrows, host → NAT on the LAN and
//! NAT → server on the WAN, each with its own frame number.

use super::{CAPTURE_FILE, EVENTS_FILE, Job, Outcome, REPORT_FILE, reproduce};
use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketOption;
use pcap_file::pcapng::blocks::opt_common::CommonOption;
use pcap_file::pcapng::{Block, PcapNgReader};
use sim_pcap::{AnalyzeOptions, LadderScope, analyze_path};
use sim_report::RunReport;
use sim_report::html::index::{self, IndexEntry};
use sim_report::html::ladder::{
    self, Column, FileLink, Item, LadderPage, Message, Note, NoteKind, Row,
};
use sim_scenario::{ResolvedExpectation, Scenario, Subject};
use sim_world::WorldSpec;
use sim_world::fabric::{Attachment, NetworkId};
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::path::Path;

/// The ladder page beside each report.
pub(super) const LADDER_FILE: &str = "ladder.html";
/// The suite's index in `--out`.
pub(super) const INDEX_FILE: &str = "index.html";
/// SIP and STUN messages drawn at most.
const MAX_MESSAGES: usize = 2_000;
/// Other packets (probes, TCP segments, media, fragments) drawn at most.
const MAX_OTHER: usize = 500;
/// Dropped packets that are neither SIP nor STUN drawn at most.
const MAX_DROPPED: usize = 500;
/// Events drawn at most.
const MAX_NOTES: usize = 2_000;

/// A column: a node or a NAT box, by index in the world spec.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Who {
    Node(usize),
    Nat(usize),
}

/// The topology as the ladder needs it.
struct Topology {
    /// Every node and NAT, left to right.
    order: Vec<Who>,
    names: BTreeMap<String, Who>,
    /// `(network, address)` → who has it, to place a packet lost before it reached anyone.
    addresses: BTreeMap<(u32, IpAddr), Who>,
    /// The NAT that is the gateway of a LAN.
    gateways: BTreeMap<u32, usize>,
}

impl Topology {
    fn new(spec: &WorldSpec) -> Self {
        let mut names = BTreeMap::new();
        let mut addresses = BTreeMap::new();
        let mut gateways = BTreeMap::new();
        for (i, n) in spec.nodes.iter().enumerate() {
            names.insert(n.name.clone(), Who::Node(i));
            for ip in std::iter::once(n.ip).chain(n.aliases.iter().copied()) {
                addresses.insert((n.network.0, ip), Who::Node(i));
            }
        }
        for (k, nat) in spec.nats.iter().enumerate() {
            names.insert(nat.name.clone(), Who::Nat(k));
            for &ip in &nat.config.public {
                addresses.insert((nat.upstream.0, ip), Who::Nat(k));
            }
            gateways.insert(lan_of(k).0, k);
        }
        Self {
            order: layout(spec),
            names,
            addresses,
            gateways,
        }
    }

    /// Who a packet to `ip` on `network` was going to.
    fn toward(&self, network: u32, ip: IpAddr) -> Option<Who> {
        self.addresses
            .get(&(network, ip))
            .copied()
            .or_else(|| self.gateways.get(&network).map(|&k| Who::Nat(k)))
    }
}

/// The LAN behind NAT `k` (the fabric numbers them after the public network, in NAT order).
const fn lan_of(k: usize) -> NetworkId {
    NetworkId(k as u32 + 1)
}

/// Left to right: the first NAT's LAN hosts, that NAT, the public nodes, then every other NAT
/// followed by its LAN hosts (nested NATs likewise).
fn layout(spec: &WorldSpec) -> Vec<Who> {
    fn nodes(spec: &WorldSpec, net: NetworkId, out: &mut Vec<Who>) {
        for (i, n) in spec.nodes.iter().enumerate() {
            if n.network == net {
                out.push(Who::Node(i));
            }
        }
    }
    fn nats(spec: &WorldSpec, net: NetworkId) -> Vec<usize> {
        (0..spec.nats.len())
            .filter(|&k| spec.nats[k].upstream == net)
            .collect()
    }
    fn left(spec: &WorldSpec, net: NetworkId, depth: usize, out: &mut Vec<Who>) {
        if depth > spec.nats.len() {
            return;
        }
        for k in nats(spec, net) {
            left(spec, lan_of(k), depth + 1, out);
            out.push(Who::Nat(k));
        }
        nodes(spec, net, out);
    }
    fn right(spec: &WorldSpec, net: NetworkId, depth: usize, out: &mut Vec<Who>) {
        if depth > spec.nats.len() {
            return;
        }
        nodes(spec, net, out);
        for k in nats(spec, net) {
            out.push(Who::Nat(k));
            right(spec, lan_of(k), depth + 1, out);
        }
    }
    let mut out = Vec::new();
    let top = nats(spec, NetworkId(0));
    if let Some(&first) = top.first() {
        left(spec, lan_of(first), 1, &mut out);
        out.push(Who::Nat(first));
    }
    nodes(spec, NetworkId(0), &mut out);
    for &k in top.iter().skip(1) {
        out.push(Who::Nat(k));
        right(spec, lan_of(k), 1, &mut out);
    }
    out
}

fn who(a: Attachment) -> Who {
    match a {
        Attachment::Node(n) => Who::Node(n.0 as usize),
        Attachment::NatInside(n) | Attachment::NatOutside(n) => Who::Nat(n.0 as usize),
    }
}

/// What the ladder needs of one capture frame.
struct Frame {
    time_us: u64,
    network: u32,
    from: Option<Who>,
    to: Option<Who>,
    dst: Option<IpAddr>,
    dropped: Option<String>,
    /// Label and detail, for frames that are neither SIP nor STUN.
    summary: Option<(String, String, String)>,
}

/// Reads the frames to draw: those in `wanted`, every dropped one and the first others.
fn read_frames(
    path: &Path,
    wanted: &BTreeSet<u64>,
    omitted_other: &mut u64,
) -> Result<BTreeMap<u64, Frame>, String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut reader = PcapNgReader::new(std::io::BufReader::new(file)).map_err(|e| e.to_string())?;
    let mut frames = BTreeMap::new();
    let (mut number, mut others, mut drops) = (0u64, 0usize, 0usize);
    while let Some(block) = reader.next_block() {
        let Ok((block, _)) = block else { break };
        let epb = match block {
            Block::EnhancedPacket(epb) => epb,
            Block::SimplePacket(_) | Block::Packet(_) => {
                number += 1;
                continue;
            }
            _ => continue,
        };
        number += 1;
        let dropped = epb.options.iter().find_map(|o| match o {
            EnhancedPacketOption::Common(CommonOption::Comment(c)) => c
                .strip_prefix("natlab: dropped (")
                .map(|rest| rest.replacen("): ", ": ", 1)),
            _ => None,
        });
        let sip_or_stun = wanted.contains(&number);
        if !sip_or_stun {
            let (count, cap) = if dropped.is_some() {
                (&mut drops, MAX_DROPPED)
            } else {
                (&mut others, MAX_OTHER)
            };
            if *count >= cap {
                *omitted_other += 1;
                continue;
            }
            *count += 1;
        }
        let data: &[u8] = &epb.data;
        let mac = |at: usize| -> Option<Attachment> {
            let bytes: [u8; 6] = data.get(at..at + 6)?.try_into().ok()?;
            sim_world::capture::attachment_of_mac(bytes)
        };
        let (dst, summary) = summarize(data);
        frames.insert(
            number,
            Frame {
                time_us: epb
                    .timestamp
                    .saturating_sub(sim_world::capture::EPOCH)
                    .as_micros() as u64,
                network: epb.interface_id,
                from: mac(6).map(who),
                to: mac(0).map(who),
                dst,
                dropped,
                summary: (!sip_or_stun).then_some(summary),
            },
        );
    }
    Ok(frames)
}

/// The destination address and a (protocol, label, detail) of a frame that is not SIP/STUN.
fn summarize(data: &[u8]) -> (Option<IpAddr>, (String, String, String)) {
    use etherparse::{NetSlice, SlicedPacket, TransportSlice};
    let Ok(p) = SlicedPacket::from_ethernet(data) else {
        return (None, ("IP".into(), "frame".into(), String::new()));
    };
    let (src, dst): (Option<IpAddr>, Option<IpAddr>) = match &p.net {
        Some(NetSlice::Ipv4(ip)) => (
            Some(ip.header().source_addr().into()),
            Some(ip.header().destination_addr().into()),
        ),
        Some(NetSlice::Ipv6(ip)) => (
            Some(ip.header().source_addr().into()),
            Some(ip.header().destination_addr().into()),
        ),
        _ => (None, None),
    };
    let ends = |sp: u16, dp: u16| match (src, dst) {
        (Some(s), Some(d)) => format!("{} → {}", SocketAddr::new(s, sp), SocketAddr::new(d, dp)),
        _ => String::new(),
    };
    let summary = match &p.transport {
        Some(TransportSlice::Udp(u)) => (
            "UDP".to_owned(),
            format!("UDP {} B", u.payload().len()),
            ends(u.source_port(), u.destination_port()),
        ),
        Some(TransportSlice::Tcp(t)) => {
            let flags: Vec<&str> = [
                (t.syn(), "SYN"),
                (t.fin(), "FIN"),
                (t.rst(), "RST"),
                (t.psh(), "PSH"),
                (t.ack(), "ACK"),
            ]
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, n)| *n)
            .collect();
            let len = t.payload().len();
            let mut label = format!("TCP [{}]", flags.join(", "));
            if len > 0 {
                label.push_str(&format!(" {len} B"));
            }
            (
                "TCP".to_owned(),
                label,
                ends(t.source_port(), t.destination_port()),
            )
        }
        _ if p.is_ip_payload_fragmented() => {
            let ips = match (src, dst) {
                (Some(s), Some(d)) => format!("{s} → {d}"),
                _ => String::new(),
            };
            ("IP".to_owned(), "IP fragment".to_owned(), ips)
        }
        _ => ("IP".to_owned(), "packet".to_owned(), String::new()),
    };
    (dst, summary)
}

/// One line of `events.jsonl`.
struct Logged {
    time_us: u64,
    node: String,
    name: String,
    code: Option<u32>,
    status: Option<u32>,
    detail: String,
}

/// The first [`MAX_NOTES`] events of the log; counts the others in `omitted`.
fn read_events(path: &Path, omitted: &mut u64) -> Vec<Logged> {
    use std::io::BufRead as _;
    let Ok(file) = std::fs::File::open(path) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for line in std::io::BufReader::new(file).lines() {
        let Ok(line) = line else { break };
        if out.len() >= MAX_NOTES {
            *omitted += 1;
            continue;
        }
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        let num = |k: &str| v[k].as_u64().and_then(|n| u32::try_from(n).ok());
        out.push(Logged {
            time_us: v["time_us"].as_u64().unwrap_or(0),
            node: v["node"].as_str().unwrap_or("?").to_owned(),
            name: v["event"].as_str().unwrap_or("?").to_owned(),
            code: num("code"),
            status: num("status"),
            detail: v["detail"].as_str().unwrap_or("").to_owned(),
        });
    }
    out
}

/// A row before its columns are numbered.
struct Draft {
    time_us: u64,
    /// Order among rows at the same instant: frames by number, then events in log order.
    seq: (u8, u64),
    from: Who,
    to: Option<Who>,
    item: Item,
    /// For expectation matching.
    logged: Option<Logged>,
}

/// Builds the page of one run from the files it wrote.
pub(super) fn ladder_page(job: &Job, spec: &WorldSpec, report: &RunReport) -> LadderPage {
    let topo = Topology::new(spec);
    let mut omitted = Vec::new();
    let mut drafts = Vec::new();
    let capture = job.dir.join(CAPTURE_FILE);
    if report.capture.is_some() {
        capture_rows(&capture, &topo, &mut drafts, &mut omitted);
    } else {
        omitted
            .push("The scenario writes no capture (capture: false): only events are drawn.".into());
    }
    let mut dropped_events = 0;
    for (i, e) in read_events(&job.dir.join(EVENTS_FILE), &mut dropped_events)
        .into_iter()
        .enumerate()
    {
        let Some(&at) = topo.names.get(&e.node) else {
            continue;
        };
        let kind = if matches!(at, Who::Nat(_)) {
            NoteKind::Nat
        } else {
            NoteKind::Sdk
        };
        drafts.push(Draft {
            time_us: e.time_us,
            seq: (1, i as u64),
            from: at,
            to: None,
            item: Item::Note(Note {
                column: 0,
                name: e.name.clone(),
                status: e.status,
                detail: e.detail.clone(),
                kind,
            }),
            logged: Some(e),
        });
    }
    if dropped_events > 0 {
        omitted.push(format!(
            "{dropped_events} more events beyond the first {MAX_NOTES} are not drawn (see events.jsonl)."
        ));
    }
    drafts.sort_by_key(|d| (d.time_us, d.seq));
    // Number the columns that appear, in topology order.
    let used: BTreeSet<Who> = drafts
        .iter()
        .flat_map(|d| std::iter::once(d.from).chain(d.to))
        .collect();
    let order: Vec<Who> = topo
        .order
        .iter()
        .copied()
        .filter(|w| used.contains(w))
        .collect();
    let index: BTreeMap<Who, usize> = order.iter().enumerate().map(|(i, &w)| (w, i)).collect();
    let columns = order
        .iter()
        .map(|&w| column(&job.scenario, spec, w))
        .collect();
    let rows = drafts
        .into_iter()
        .map(|d| {
            let expectations = evidence(&job.scenario, spec, &d);
            let item = match d.item {
                Item::Message(mut m) => {
                    m.from = index.get(&d.from).copied().unwrap_or(0);
                    m.to = d.to.and_then(|t| index.get(&t).copied());
                    Item::Message(m)
                }
                Item::Note(mut n) => {
                    n.column = index.get(&d.from).copied().unwrap_or(0);
                    Item::Note(n)
                }
            };
            Row {
                time_us: d.time_us,
                item,
                expectations,
            }
        })
        .collect();
    let files = [
        (REPORT_FILE, true),
        (CAPTURE_FILE, report.capture.is_some()),
        (EVENTS_FILE, report.events.is_some()),
    ]
    .into_iter()
    .filter(|(_, present)| *present)
    .map(|(f, _)| FileLink {
        label: f.to_owned(),
        href: f.to_owned(),
    })
    .collect();
    LadderPage {
        scenario: report.scenario.name.clone(),
        description: report.scenario.description.clone(),
        seed: report.seed,
        duration: report.duration.clone(),
        passed: report.passed,
        reproduce: reproduce(job),
        files,
        columns,
        rows,
        expectations: report.expectations.clone(),
        issues: report.issues.clone(),
        omitted,
    }
}

fn capture_rows(path: &Path, topo: &Topology, drafts: &mut Vec<Draft>, omitted: &mut Vec<String>) {
    let opts = AnalyzeOptions {
        ladder: Some(LadderScope::All {
            limit: MAX_MESSAGES,
        }),
        call: None,
    };
    let ladder = match analyze_path(path, &opts, &mut |_| {}) {
        Ok(a) => a.ladder.unwrap_or_default(),
        Err(e) => {
            omitted.push(format!("The capture could not be read: {e}."));
            return;
        }
    };
    if ladder.omitted > 0 {
        omitted.push(format!(
            "{} more SIP/STUN messages beyond the first {MAX_MESSAGES} are not drawn \
             (natlab analyze reads them all).",
            ladder.omitted
        ));
    }
    let wanted: BTreeSet<u64> = ladder.events.iter().map(|e| e.frame).collect();
    let mut omitted_other = 0;
    let frames = match read_frames(path, &wanted, &mut omitted_other) {
        Ok(f) => f,
        Err(e) => {
            omitted.push(format!("The capture could not be read: {e}."));
            return;
        }
    };
    if omitted_other > 0 {
        omitted.push(format!(
            "{omitted_other} more packets that are neither SIP nor STUN are not drawn (at most \
             {MAX_OTHER} delivered and {MAX_DROPPED} dropped ones are)."
        ));
    }
    let place = |f: &Frame| -> (Option<Who>, Option<Who>, bool) {
        let reached = f.to.is_some();
        let to =
            f.to.or_else(|| f.dst.and_then(|ip| topo.toward(f.network, ip)));
        (f.from, to, reached)
    };
    let network = |n: u32| {
        if n == 0 {
            "wan".to_owned()
        } else {
            format!("LAN {n}")
        }
    };
    for e in &ladder.events {
        let Some(f) = frames.get(&e.frame) else {
            continue;
        };
        let (from, to, reached) = place(f);
        let ends = match (ladder.hosts.get(e.from), ladder.hosts.get(e.to)) {
            (Some(a), Some(b)) => format!("{a} → {b} · "),
            _ => String::new(),
        };
        drafts.push(Draft {
            time_us: f.time_us,
            seq: (0, e.frame),
            from: from.unwrap_or(Who::Node(0)),
            to,
            item: Item::Message(Message {
                frame: e.frame,
                network: network(f.network),
                from: 0,
                to: None,
                reached,
                protocol: e.protocol.to_owned(),
                label: e.label.clone(),
                detail: format!("{ends}{} {} · {}", e.protocol, e.transport, e.detail),
                status: e.status,
                dropped: f.dropped.clone(),
            }),
            logged: None,
        });
    }
    for (&number, f) in &frames {
        let Some((protocol, label, detail)) = &f.summary else {
            continue;
        };
        let (from, to, reached) = place(f);
        drafts.push(Draft {
            time_us: f.time_us,
            seq: (0, number),
            from: from.unwrap_or(Who::Node(0)),
            to,
            item: Item::Message(Message {
                frame: number,
                network: network(f.network),
                from: 0,
                to: None,
                reached,
                protocol: protocol.clone(),
                label: label.clone(),
                detail: detail.clone(),
                status: None,
                dropped: f.dropped.clone(),
            }),
            logged: None,
        });
    }
}

fn column(scenario: &Scenario, spec: &WorldSpec, w: Who) -> Column {
    match w {
        Who::Node(i) => {
            let n = &spec.nodes[i];
            let kind = scenario
                .nodes
                .iter()
                .find(|s| s.name == n.name)
                .map_or("node", sim_scenario::Node::kind);
            Column {
                name: n.name.clone(),
                role: format!("{kind} {}", n.ip),
                nat: false,
            }
        }
        Who::Nat(k) => {
            let nat = &spec.nats[k];
            let public: Vec<String> = nat.config.public.iter().map(ToString::to_string).collect();
            Column {
                name: nat.name.clone(),
                role: format!("NAT {}", public.join(" ")),
                nat: true,
            }
        }
    }
}

/// Whether a row drawn from `from` can be a packet `node` sent: from the node itself, or from a
/// NAT on its way out (the ladder draws a hop by its visible sender; every NAT above the node
/// rewrites the source, so its rows stand for the node's packets too, and for its LAN
/// neighbours', which the ladder cannot tell apart).
fn sent_by(spec: &WorldSpec, from: Who, node: usize) -> bool {
    if from == Who::Node(node) {
        return true;
    }
    let Who::Nat(k) = from else { return false };
    let Some(mut network) = spec.nodes.get(node).map(|n| n.network) else {
        return false;
    };
    // Walk up the NATs between the node and the public network (bounded: each step goes up).
    for _ in 0..=spec.nats.len() {
        let Some(gateway) = (0..spec.nats.len()).find(|&g| lan_of(g) == network) else {
            return false;
        };
        if gateway == k {
            return true;
        }
        network = spec.nats[gateway].upstream;
    }
    false
}

/// The expectations a row is evidence for (what they count, as far as the ladder can tell).
fn evidence(scenario: &Scenario, spec: &WorldSpec, d: &Draft) -> Vec<usize> {
    let node = |id: &sim_scenario::NodeId| Who::Node(id.0);
    let sender =
        |f: &Option<sim_scenario::NodeId>| f.as_ref().is_none_or(|f| sent_by(spec, d.from, f.0));
    let window = |after: &Option<std::time::Duration>, before: &Option<std::time::Duration>| {
        after.is_none_or(|a| d.time_us >= a.as_micros() as u64)
            && before.is_none_or(|b| d.time_us <= b.as_micros() as u64)
    };
    let message = match &d.item {
        Item::Message(m) => Some(m),
        Item::Note(_) => None,
    };
    let mut out = Vec::new();
    for (i, x) in scenario.expectations.iter().enumerate() {
        let hit = match (x, message, &d.logged) {
            (
                ResolvedExpectation::Event {
                    endpoint,
                    code,
                    status,
                    detail,
                    after,
                    before,
                    ..
                },
                _,
                Some(e),
            ) => {
                let same = match code.code() {
                    Some(c) => e.code == Some(c),
                    None => e.name.eq_ignore_ascii_case(code.name()),
                };
                d.from == node(endpoint)
                    && same
                    && status.is_none_or(|s| e.status == Some(s.code()))
                    && detail.as_deref().is_none_or(|t| e.detail.contains(t))
                    && window(after, before)
            }
            (ResolvedExpectation::Sequence { endpoint, events }, _, Some(e)) => {
                d.from == node(endpoint)
                    && events.iter().any(|c| match c.code() {
                        Some(n) => e.code == Some(n),
                        None => e.name.eq_ignore_ascii_case(c.name()),
                    })
            }
            (
                ResolvedExpectation::SipResponse {
                    code, method, from, ..
                },
                Some(m),
                _,
            ) => {
                m.protocol == "SIP"
                    && m.status == Some(*code)
                    && from.as_ref().is_none_or(|f| d.from == node(f))
                    && method
                        .as_deref()
                        .is_none_or(|x| m.detail.contains(&format!(" {} ·", x.to_uppercase())))
            }
            (
                ResolvedExpectation::Dropped {
                    reason,
                    at,
                    from,
                    after,
                    before,
                    ..
                },
                Some(m),
                _,
            ) => m.dropped.as_deref().is_some_and(|why| {
                let place = if m.reached { d.to } else { Some(d.from) };
                reason.is_none_or(|r| why.starts_with(&format!("{}:", drop_name(r))))
                    && sender(from)
                    && at.as_ref().is_none_or(|s| {
                        place
                            == Some(match s {
                                Subject::Node(n) => node(n),
                                Subject::Nat(k) => Who::Nat(k.0),
                            })
                    })
                    && window(after, before)
            }),
            (
                ResolvedExpectation::Received {
                    endpoint,
                    after,
                    before,
                    ..
                },
                Some(m),
                _,
            ) => {
                m.reached
                    && m.dropped.is_none()
                    && m.protocol != "TCP"
                    && d.to == Some(node(endpoint))
                    && window(after, before)
            }
            (ResolvedExpectation::Mapping { endpoint, port, .. }, _, Some(e)) => {
                e.name == "nat-mapping-created"
                    && spec.nodes.get(endpoint.0).is_some_and(|n| {
                        e.detail
                            .contains(&format!(" {} ->", SocketAddr::new(n.ip, *port)))
                    })
                    && matches!(d.from, Who::Nat(_))
            }
            _ => false,
        };
        if hit {
            out.push(i);
        }
    }
    out
}

/// The scenario language's name of a drop reason (`no-mapping`).
fn drop_name(r: sim_scenario::model::DropReason) -> String {
    serde_json::to_value(r)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Writes `ladder.html` beside the run's report.
pub(super) fn write_ladder(job: &Job, spec: &WorldSpec, report: &RunReport) -> Result<(), String> {
    let page = ladder_page(job, spec, report);
    let path = job.dir.join(LADDER_FILE);
    std::fs::write(&path, ladder::render(&page))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The suite's `index.html`: every run with its status and links, failures first.
pub(super) fn index(out: &Path, jobs: &[Job], outcomes: &[Outcome]) -> String {
    let entries: Vec<IndexEntry> = jobs
        .iter()
        .zip(outcomes)
        .map(|(job, o)| {
            let rel = job.dir.strip_prefix(out).unwrap_or(&job.dir);
            let href = |f: &str| {
                let mut parts: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                parts.push(f.to_owned());
                parts.join("/")
            };
            let (status, expectations, failed, files) = match o {
                Outcome::Ran {
                    report,
                    determinism,
                    ..
                } => {
                    let mut failed: Vec<String> = report
                        .expectations
                        .iter()
                        .filter(|e| !e.passed)
                        .map(|e| format!("{}; observed: {}", e.text, e.observed))
                        .chain(
                            report
                                .issues
                                .iter()
                                .map(|i| format!("at {}: {}", i.time, i.message)),
                        )
                        .collect();
                    if let Some(Err(e)) = determinism {
                        failed.push(e.clone());
                    }
                    let mut files = vec![(LADDER_FILE, "ladder"), (REPORT_FILE, "report.json")];
                    if report.capture.is_some() {
                        files.push((CAPTURE_FILE, "capture.pcapng"));
                    }
                    if report.events.is_some() {
                        files.push((EVENTS_FILE, "events.jsonl"));
                    }
                    (
                        if o.passed() { "passed" } else { "failed" },
                        Some((
                            report.expectations.iter().filter(|e| e.passed).count(),
                            report.expectations.len(),
                        )),
                        failed,
                        files,
                    )
                }
                Outcome::Error { message, .. } => ("error", None, vec![message.clone()], vec![]),
                Outcome::Skipped => (
                    "skipped",
                    None,
                    vec!["not run: --fail-fast stopped the suite".to_owned()],
                    vec![],
                ),
            };
            IndexEntry {
                name: job.scenario.name.clone(),
                file: job.file.display().to_string(),
                seed: job.seed,
                status: status.to_owned(),
                expectations,
                failed,
                reproduce: reproduce(job),
                files: files
                    .into_iter()
                    .map(|(f, label)| FileLink {
                        label: label.to_owned(),
                        href: href(f),
                    })
                    .collect(),
            }
        })
        .collect();
    index::render(&entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO_NATS: &str = "name: two-nats
seed: 1
duration: 5s
topology:
  nats:
    - {name: home, preset: full-cone, public: [198.51.100.1], lan: 10.0.0.0/24}
    - {name: office, preset: symmetric, public: [198.51.100.2], lan: 10.0.1.0/24}
  endpoints:
    - {name: alice, kind: udp-probe, behind: home, address: 10.0.0.2}
    - {name: server, kind: udp-probe, address: 203.0.113.10, echo: true}
    - {name: bob, kind: udp-probe, behind: office, address: 10.0.1.2}
expect:
  - dropped: {reason: no-mapping, at: office}
  - event: {endpoint: bob, code: probe-started}
";

    fn spec(yaml: &str) -> (Scenario, WorldSpec) {
        let scenario = sim_scenario::from_str("two-nats.yaml", yaml).expect("valid scenario");
        let outputs = sim_world::scenario::Outputs {
            capture: None,
            events: None,
        };
        let spec = sim_world::scenario::plan(&scenario, outputs).expect("plannable");
        (scenario, spec)
    }

    fn names(spec: &WorldSpec, order: &[Who]) -> Vec<String> {
        order
            .iter()
            .map(|w| match *w {
                Who::Node(i) => spec.nodes[i].name.clone(),
                Who::Nat(k) => spec.nats[k].name.clone(),
            })
            .collect()
    }

    #[test]
    fn html_columns_put_each_lan_on_the_far_side_of_its_nat() {
        let (_, spec) = spec(TWO_NATS);
        assert_eq!(
            names(&spec, &layout(&spec)),
            ["alice", "home", "server", "office", "bob"]
        );
    }

    #[test]
    fn html_a_packet_lost_before_its_receiver_is_placed_by_address() {
        let (_, spec) = spec(TWO_NATS);
        let topo = Topology::new(&spec);
        let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
        let office = topo.names["office"];
        assert_eq!(topo.toward(0, ip("198.51.100.2")), Some(office));
        // From a LAN to anywhere outside: its gateway.
        assert_eq!(topo.toward(1, ip("203.0.113.10")), Some(topo.names["home"]));
        assert_eq!(topo.toward(0, ip("192.0.2.99")), None);
    }

    #[test]
    fn html_evidence_matches_drops_at_the_named_nat_and_events_of_the_endpoint() {
        let (scenario, spec) = spec(TWO_NATS);
        let topo = Topology::new(&spec);
        let drop = |at: &str, why: &str| Draft {
            time_us: 1,
            seq: (0, 1),
            from: topo.names["server"],
            to: Some(topo.names[at]),
            item: Item::Message(Message {
                frame: 1,
                network: "wan".into(),
                from: 0,
                to: None,
                reached: true,
                protocol: "UDP".into(),
                label: "UDP 8 B".into(),
                detail: String::new(),
                status: None,
                dropped: Some(why.into()),
            }),
            logged: None,
        };
        assert_eq!(
            evidence(
                &scenario,
                &spec,
                &drop("office", "no-mapping: NAT office: no mapping")
            ),
            [0]
        );
        assert!(evidence(&scenario, &spec, &drop("home", "no-mapping: x")).is_empty());
        assert!(evidence(&scenario, &spec, &drop("office", "filtered: x")).is_empty());
        // `dropped.from`: only rows its sender (or a NAT on the sender's way out) drew.
        let (from_bob, spec_bob) = self::spec(&TWO_NATS.replace(
            "dropped: {reason: no-mapping, at: office}",
            "dropped: {reason: no-mapping, from: bob}",
        ));
        let sent = |from: &str| Draft {
            from: topo.names[from],
            to: Some(topo.names["server"]),
            ..drop("office", "no-mapping: NAT office: no mapping")
        };
        assert_eq!(evidence(&from_bob, &spec_bob, &sent("bob")), [0]);
        assert_eq!(evidence(&from_bob, &spec_bob, &sent("office")), [0]);
        assert!(evidence(&from_bob, &spec_bob, &sent("home")).is_empty());
        assert!(evidence(&from_bob, &spec_bob, &sent("alice")).is_empty());
        let note = |node: &str, name: &str| Draft {
            time_us: 0,
            seq: (1, 0),
            from: topo.names[node],
            to: None,
            item: Item::Note(Note {
                column: 0,
                name: name.into(),
                status: None,
                detail: String::new(),
                kind: NoteKind::Sdk,
            }),
            logged: Some(Logged {
                time_us: 0,
                node: node.into(),
                name: name.into(),
                code: None,
                status: None,
                detail: String::new(),
            }),
        };
        assert_eq!(
            evidence(&scenario, &spec, &note("bob", "probe-started")),
            [1]
        );
        assert!(evidence(&scenario, &spec, &note("alice", "probe-started")).is_empty());
    }

    /// A capture of `n` delivered probes from `alice` (node 0) to `server` (node 1), and one
    /// probe the NAT dropped.
    fn capture(n: usize) -> tempdir::Dir {
        use sim_world::capture::{CaptureWriter, Interface};
        use sim_world::fabric::{CaptureRecord, DropReason, NatId, NodeId, Packet, Transport, Via};
        let dir = tempdir::Dir::new(&format!("frames-{n}"));
        let file = std::fs::File::create(dir.0.join("capture.pcapng")).expect("create");
        let iface = Interface {
            name: "wan".into(),
            description: "public".into(),
        };
        let mut w = CaptureWriter::new(file, &[iface]).expect("writer");
        let packet = || Packet {
            src: "198.51.100.1:5000".parse().expect("addr"),
            dst: "203.0.113.10:5000".parse().expect("addr"),
            transport: Transport::Udp,
            payload: bytes::Bytes::from_static(b"probe"),
            origin: NodeId(0),
            via: Via::default(),
            ip_id: 1,
        };
        for i in 0..=n {
            let dropped = (i == n).then(|| (DropReason::Filtered, "NAT home: filtered".into()));
            w.write(&CaptureRecord {
                time: sim_core::SimInstant::from_micros(i as u64 * 1000),
                network: NetworkId(0),
                from: Attachment::NatOutside(NatId(0)),
                to: Some(Attachment::Node(NodeId(1))),
                packet: packet(),
                mtu: 1500,
                dropped,
            })
            .expect("write");
        }
        w.finish().expect("finish");
        dir
    }

    /// A scratch directory removed on drop.
    mod tempdir {
        #[derive(Debug)]
        pub(super) struct Dir(pub(super) std::path::PathBuf);

        impl Dir {
            pub(super) fn new(name: &str) -> Self {
                let dir =
                    std::env::temp_dir().join(format!("natlab-html-{}-{name}", std::process::id()));
                std::fs::create_dir_all(&dir).expect("scratch dir");
                Self(dir)
            }
        }

        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    #[test]
    fn html_frames_are_placed_by_their_macs_and_drops_keep_their_reason() {
        let dir = capture(3);
        let mut omitted = 0;
        let frames = read_frames(
            &dir.0.join("capture.pcapng"),
            &BTreeSet::new(),
            &mut omitted,
        )
        .expect("read");
        assert_eq!(omitted, 0);
        assert_eq!(frames.keys().copied().collect::<Vec<u64>>(), [1, 2, 3, 4]);
        let first = &frames[&1];
        assert_eq!(
            (first.from, first.to),
            (Some(Who::Nat(0)), Some(Who::Node(1)))
        );
        assert_eq!(first.time_us, 0);
        assert_eq!(frames[&2].time_us, 1000);
        let (_, label, detail) = first.summary.clone().expect("not SIP");
        assert_eq!(label, "UDP 5 B");
        assert_eq!(detail, "198.51.100.1:5000 → 203.0.113.10:5000");
        assert_eq!(
            frames[&4].dropped.as_deref(),
            Some("filtered: NAT home: filtered")
        );
    }

    #[test]
    fn html_large_captures_are_capped_and_the_rest_counted() {
        let dir = capture(MAX_OTHER + 40);
        let mut omitted = 0;
        let wanted = BTreeSet::from([7]);
        let frames =
            read_frames(&dir.0.join("capture.pcapng"), &wanted, &mut omitted).expect("read");
        // Frame 7 is wanted (as if SIP) and the drop is kept beside the first other frames;
        // the other 39 delivered ones are counted.
        assert_eq!(frames.len(), MAX_OTHER + 2);
        assert_eq!(omitted, 39);
        assert!(frames[&7].summary.is_none());
        assert!(frames.values().any(|f| f.dropped.is_some()));
    }
}

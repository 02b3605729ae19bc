//! A world: the run plan ([`WorldSpec`]) and the loop that steps turmoil through it.
//!
//! [`run`] builds the fabric, registers the core host and one site host per group of nodes with
//! turmoil, then steps the simulation tick by tick. Between steps it applies the timeline's
//! actions that are due: network faults directly on the fabric, node actions through the node's
//! site host. When the duration is reached it finishes the capture and returns what was
//! observed.

use crate::capture::{CaptureWriter, Interface};
use crate::fabric::{
    DropRecord, Entity, Fabric, FaultHits, LinkConfig, LossConfig, NatId, NetworkId, NodeId,
    PacketRule, Stats, TopologyError,
};
use crate::host::{self, CORE_HOST, RunIssue, Shared, Site, SiteCommand};
use crate::nodes::SimNode;
use crate::nodes::probe::{Series, UdpProbe, Wire};
use crate::nodes::tcp_probe::TcpProbe;
use crate::record::{Logged, NodeCounters, Recorder};
use sim_core::{Seed, SimInstant};
use sim_nat::{Nat, NatConfig};
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::fs::File;
use std::io::BufWriter;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, UNIX_EPOCH};
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};

/// At most this many site hosts: turmoil's cost per step grows about with hosts³.
pub const MAX_SITES: usize = 8;

/// A NAT of the plan. NATs are listed upstream first.
#[derive(Clone, Debug)]
pub struct NatPlan {
    /// Name.
    pub name: String,
    /// RFC 4787 configuration.
    pub config: NatConfig,
    /// The network its outside is on.
    pub upstream: NetworkId,
    /// Its upstream link.
    pub link: LinkConfig,
    /// Whether it drops IP fragments.
    pub drop_fragments: bool,
    /// Description of its LAN, for the capture interface.
    pub lan_description: String,
}

/// What a node runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeKind {
    /// A UDP probe.
    UdpProbe {
        /// Ports (the first is its main port).
        ports: Vec<u16>,
        /// Echoes probes back.
        echo: bool,
        /// What its probes look like.
        wire: Wire,
    },
    /// A TCP probe.
    TcpProbe {
        /// Listening port.
        port: u16,
        /// Echoes probe lines back.
        echo: bool,
    },
}

/// A node of the plan.
#[derive(Clone, Debug)]
pub struct NodePlan {
    /// Name.
    pub name: String,
    /// Its network (0: public; `n`: the LAN of the `n-1`-th NAT).
    pub network: NetworkId,
    /// Its address there.
    pub ip: IpAddr,
    /// Its access link.
    pub link: LinkConfig,
    /// What it runs.
    pub kind: NodeKind,
}

/// Where a probe sends to, resolved when the action runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProbeTarget {
    /// A literal address.
    Addr(SocketAddr),
    /// A node's current address and a port.
    Node(NodeId, u16),
    /// The source address `seen_by` (on `seen_port`) last saw on probes from `of`'s local
    /// `port`.
    Mapping {
        /// The endpoint.
        of: NodeId,
        /// Its local port.
        port: u16,
        /// The observer.
        seen_by: NodeId,
        /// The observer's port.
        seen_port: u16,
    },
}

/// Partial link settings for a change.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LinkPatch {
    /// New latency.
    pub latency: Option<Duration>,
    /// New jitter.
    pub jitter: Option<Duration>,
    /// New loss model.
    pub loss: Option<LossConfig>,
    /// New duplication probability.
    pub duplicate: Option<f64>,
    /// New reordering.
    pub reorder: Option<(f64, Duration)>,
    /// New MTU.
    pub mtu: Option<u16>,
}

impl LinkPatch {
    fn apply(&self, mut c: LinkConfig) -> LinkConfig {
        c.latency = self.latency.unwrap_or(c.latency);
        c.jitter = self.jitter.unwrap_or(c.jitter);
        c.loss = self.loss.clone().unwrap_or(c.loss);
        c.duplicate = self.duplicate.unwrap_or(c.duplicate);
        c.reorder = self.reorder.or(c.reorder);
        c.mtu = self.mtu.unwrap_or(c.mtu);
        c
    }
}

/// A timeline action, with names resolved.
#[derive(Clone, Debug, PartialEq)]
pub enum WorldAction {
    /// A probe sends a series.
    ProbeSend {
        /// The probe.
        node: NodeId,
        /// Destination.
        to: ProbeTarget,
        /// Local port.
        from_port: u16,
        /// Count, `None` for unlimited.
        count: Option<u32>,
        /// Interval.
        interval: Duration,
        /// Payload size.
        size: Option<usize>,
    },
    /// Cut the path between two entities.
    Partition(Entity, Entity, bool),
    /// Undo a partition.
    Heal(Entity, Entity),
    /// Cut everything to and from an entity.
    Isolate(Entity),
    /// Undo an isolation.
    Rejoin(Entity),
    /// Queue packets between two entities.
    Hold(Entity, Entity, bool),
    /// Deliver what a hold queued.
    Release(Entity, Entity),
    /// Loss on an entity's link for a while.
    LossBurst(Entity, Duration, f64),
    /// Change an entity's link.
    LinkChange(Entity, LinkPatch),
    /// Flush a NAT's mappings.
    NatFlush(NatId),
    /// Reboot a NAT.
    NatReboot(NatId, Duration, Option<Vec<IpAddr>>),
    /// Crash a node (its state is lost) or a NAT (mappings lost, down until restarted).
    Crash(Entity),
    /// Restart a crashed node or NAT.
    Restart(Entity),
    /// Move a node to a new address.
    IpChange(NodeId, IpAddr),
    /// A packet-class fault rule comes into force.
    PacketFault(Box<PacketRule>),
    /// The packet fault rule of this name ends.
    PacketFaultEnd(String),
}

/// A timeline entry.
#[derive(Clone, Debug, PartialEq)]
pub struct Timed {
    /// When.
    pub at: SimInstant,
    /// What.
    pub action: WorldAction,
    /// The entry as written, for issues.
    pub label: String,
}

/// Everything a run needs.
#[derive(Clone, Debug)]
pub struct WorldSpec {
    /// The scenario seed.
    pub seed: Seed,
    /// Simulation step.
    pub tick: Duration,
    /// Simulated time to run.
    pub duration: Duration,
    /// Where to write the pcapng capture, if anywhere.
    pub capture: Option<PathBuf>,
    /// Name of the public network's capture interface.
    pub public_name: String,
    /// NATs, upstream first.
    pub nats: Vec<NatPlan>,
    /// Nodes.
    pub nodes: Vec<NodePlan>,
    /// Actions, sorted by time.
    pub timeline: Vec<Timed>,
    /// Nodes whose every observation is kept (`None`: all); the others keep counters only.
    pub keep_log: Option<BTreeSet<NodeId>>,
}

/// What a run produced.
#[derive(Debug)]
pub struct RunOutput {
    /// Kept observations, in report order.
    pub log: Vec<Logged>,
    /// Per-node counters.
    pub counters: Vec<NodeCounters>,
    /// Every drop.
    pub drops: Vec<DropRecord>,
    /// Fabric counters.
    pub stats: Stats,
    /// Capture frames written.
    pub frames: u64,
    /// Every packet fault rule's hits, in the order the rules came into force.
    pub faults: Vec<FaultHits>,
    /// Problems while running (failed actions, node failures).
    pub issues: Vec<RunIssue>,
    /// When the run stopped.
    pub end: SimInstant,
    /// Node names, by id.
    pub node_names: Vec<String>,
    /// NAT names, by id.
    pub nat_names: Vec<String>,
    /// The observations `seen_by` made of `(endpoint, port)`: last source seen, for mapping
    /// checks.
    pub recorder: Recorder,
}

/// Why a run could not happen.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The topology is inconsistent.
    #[error("{0}")]
    Topology(#[from] TopologyError),
    /// A NAT's configuration is invalid.
    #[error("NAT {name}: {source}")]
    Nat {
        /// Its name.
        name: String,
        /// Why.
        source: sim_nat::NatConfigError,
    },
    /// The capture file could not be created or written.
    #[error("capture {}: {source}", path.display())]
    Capture {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The capture could not be finished.
    #[error("{0}")]
    CaptureWrite(#[from] crate::capture::CaptureError),
    /// turmoil stopped with an error (a host failed).
    #[error("simulation failed: {0}")]
    Simulation(String),
}

fn build_fabric(spec: &WorldSpec) -> Result<(Fabric, Vec<Interface>), RunError> {
    let mut fabric = Fabric::new(
        spec.seed.derive("fabric"),
        &spec.public_name,
        spec.capture.is_some(),
    );
    let mut interfaces = vec![Interface {
        name: spec.public_name.clone(),
        description: "public network".into(),
    }];
    for nat in &spec.nats {
        let core = Nat::new(
            nat.config.clone(),
            spec.seed.derive(&format!("nat/{}", nat.name)),
        )
        .map_err(|source| RunError::Nat {
            name: nat.name.clone(),
            source,
        })?;
        let lan = format!("lan-{}", nat.name);
        fabric.add_nat(
            &nat.name,
            core,
            nat.upstream,
            &lan,
            nat.link.clone(),
            nat.drop_fragments,
        )?;
        interfaces.push(Interface {
            name: lan,
            description: nat.lan_description.clone(),
        });
    }
    for node in &spec.nodes {
        fabric.add_node(&node.name, node.network, node.ip, node.link.clone())?;
    }
    Ok((fabric, interfaces))
}

/// Groups nodes into site hosts: one per network, at most [`MAX_SITES`] (networks share sites
/// round-robin beyond that).
fn sites(spec: &WorldSpec) -> Vec<usize> {
    let networks: BTreeSet<NetworkId> = spec.nodes.iter().map(|n| n.network).collect();
    let index: Vec<NetworkId> = networks.into_iter().collect();
    spec.nodes
        .iter()
        .map(|n| index.iter().position(|&x| x == n.network).unwrap_or(0) % MAX_SITES)
        .collect()
}

fn factory(spec: &WorldSpec) -> host::NodeFactory {
    let nodes: Vec<(String, NodeKind)> = spec
        .nodes
        .iter()
        .map(|n| (n.name.clone(), n.kind.clone()))
        .collect();
    Rc::new(move |id: NodeId| {
        let (name, kind) = &nodes[id.0 as usize];
        match kind {
            NodeKind::UdpProbe { ports, echo, wire } => {
                SimNode::UdpProbe(UdpProbe::new(name, id.0, ports.clone(), *echo, *wire))
            }
            NodeKind::TcpProbe { port, echo } => {
                SimNode::TcpProbe(TcpProbe::new(name, id.0, *port, *echo))
            }
        }
    })
}

/// Runs a world to the end of its duration.
///
/// # Errors
/// When the topology or a NAT is invalid, the capture cannot be written, or a host fails.
pub fn run(spec: &WorldSpec) -> Result<RunOutput, RunError> {
    let (fabric, interfaces) = build_fabric(spec)?;
    let capture = match &spec.capture {
        Some(path) => {
            let file = File::create(path).map_err(|source| RunError::Capture {
                path: path.clone(),
                source,
            })?;
            Some(CaptureWriter::new(BufWriter::new(file), &interfaces)?)
        }
        None => None,
    };
    let site_of = sites(spec);
    let site_count = site_of.iter().copied().max().map_or(0, |m| m + 1);
    let shared = Rc::new(Shared {
        seed: spec.seed,
        fabric: RefCell::new(fabric),
        recorder: RefCell::new(Recorder::new(spec.nodes.len(), spec.keep_log.clone())),
        addresses: RefCell::new(spec.nodes.iter().map(|n| n.ip).collect()),
        site_of: site_of.clone(),
        site_names: (0..site_count).map(|i| format!("site-{i}")).collect(),
        capture: RefCell::new(capture),
        issues: RefCell::new(Vec::new()),
        wake: tokio::sync::Notify::new(),
    });

    let mut sim = turmoil::Builder::new()
        .rng_seed(spec.seed.derive("turmoil").value())
        .epoch(UNIX_EPOCH + crate::capture::EPOCH)
        .tick_duration(spec.tick)
        .simulation_duration(spec.duration + spec.tick * 4)
        .min_message_latency(Duration::ZERO)
        .max_message_latency(Duration::ZERO)
        .udp_capacity(1 << 22)
        .build();

    let core_shared = Rc::clone(&shared);
    sim.host(CORE_HOST, move || host::run_core(Rc::clone(&core_shared)));
    let make = factory(spec);
    let mut site_commands = Vec::new();
    for (i, name) in shared.site_names.iter().enumerate() {
        let (tx, rx) = unbounded_channel();
        site_commands.push(tx);
        let site = Rc::new(Site {
            nodes: (0..spec.nodes.len())
                .filter(|&n| site_of[n] == i)
                .map(|n| NodeId(n as u32))
                .collect(),
            commands: RefCell::new(Some(rx)),
            factory: Rc::clone(&make),
        });
        let site_shared = Rc::clone(&shared);
        sim.host(name.as_str(), move || {
            host::run_site(Rc::clone(&site_shared), Rc::clone(&site))
        });
    }

    let end = SimInstant::from_duration(spec.duration);
    let mut director = Director {
        shared: &shared,
        sites: &site_commands,
        site_of: &site_of,
    };
    let mut timeline = spec.timeline.iter().peekable();
    loop {
        let now = SimInstant::from_duration(sim.elapsed());
        while let Some(t) = timeline.next_if(|t| t.at <= now) {
            director.apply(now, t);
        }
        if now >= end {
            break;
        }
        sim.step()
            .map_err(|e| RunError::Simulation(e.to_string()))?;
    }
    drop(sim);
    finish(spec, shared, end)
}

fn finish(spec: &WorldSpec, shared: Rc<Shared>, end: SimInstant) -> Result<RunOutput, RunError> {
    shared.drain_capture();
    let frames = match shared.capture.borrow_mut().take() {
        Some(writer) => {
            let frames = writer.frames();
            writer.finish()?;
            frames
        }
        None => 0,
    };
    let shared = Rc::try_unwrap(shared)
        .map_err(|_| RunError::Simulation("hosts outlived the run".into()))?;
    let fabric = shared.fabric.into_inner();
    let recorder = shared.recorder.into_inner();
    Ok(RunOutput {
        log: recorder.log().to_vec(),
        counters: recorder.counters().to_vec(),
        drops: fabric.drops().to_vec(),
        stats: fabric.stats().clone(),
        faults: fabric.fault_hits(),
        frames,
        issues: shared.issues.into_inner(),
        end,
        node_names: spec.nodes.iter().map(|n| n.name.clone()).collect(),
        nat_names: spec.nats.iter().map(|n| n.name.clone()).collect(),
        recorder,
    })
}

/// Applies timeline actions between steps.
struct Director<'a> {
    shared: &'a Rc<Shared>,
    sites: &'a [UnboundedSender<SiteCommand>],
    site_of: &'a [usize],
}

impl Director<'_> {
    fn site(&self, node: NodeId, command: SiteCommand) {
        if let Some(tx) = self
            .site_of
            .get(node.0 as usize)
            .and_then(|&s| self.sites.get(s))
        {
            let _ = tx.send(command);
        }
    }

    fn apply(&mut self, now: SimInstant, timed: &Timed) {
        if let Err(message) = self.try_apply(now, &timed.action) {
            self.shared
                .issue(now, format!("{}: {message}", timed.label));
        }
        self.shared.wake.notify_one();
    }

    fn try_apply(&mut self, now: SimInstant, action: &WorldAction) -> Result<(), String> {
        let mut fabric = self.shared.fabric.borrow_mut();
        match action.clone() {
            WorldAction::ProbeSend {
                node,
                to,
                from_port,
                count,
                interval,
                size,
            } => {
                drop(fabric);
                let to = self.resolve(&to)?;
                let local_ip = self.address(node)?;
                let series = Series {
                    to,
                    from_port,
                    remaining: count,
                    interval,
                    size,
                    local_ip,
                };
                self.site(
                    node,
                    SiteCommand::Act(
                        node,
                        Box::new(move |n: &mut SimNode, now| match n {
                            SimNode::UdpProbe(p) => p.send(now, series),
                            SimNode::TcpProbe(p) => p.send(now, series),
                        }),
                    ),
                );
            }
            WorldAction::Partition(a, b, one_way) => fabric.partition(a, b, one_way),
            WorldAction::Heal(a, b) => fabric.heal(a, b),
            WorldAction::Isolate(e) => fabric.isolate(e),
            WorldAction::Rejoin(e) => fabric.rejoin(e),
            WorldAction::Hold(a, b, one_way) => fabric.hold(a, b, one_way),
            WorldAction::Release(a, b) => fabric.release(now, a, b),
            WorldAction::LossBurst(e, duration, loss) => fabric.loss_burst(now, e, duration, loss),
            WorldAction::LinkChange(e, patch) => {
                let config = patch.apply(fabric.link_config(e).clone());
                fabric.set_link(e, config);
            }
            WorldAction::NatFlush(nat) => fabric.nat_flush(nat),
            WorldAction::NatReboot(nat, down_for, new_public) => {
                fabric
                    .nat_reboot(now, nat, down_for, new_public)
                    .map_err(|e| e.to_string())?;
            }
            WorldAction::Crash(Entity::Node(node)) => {
                fabric.set_node_up(node, false);
                self.site(node, SiteCommand::Crash(node));
            }
            WorldAction::Restart(Entity::Node(node)) => {
                fabric.set_node_up(node, true);
                self.site(node, SiteCommand::Restart(node));
            }
            WorldAction::Crash(Entity::Nat(nat)) => fabric.set_nat_up(now, nat, false),
            WorldAction::Restart(Entity::Nat(nat)) => fabric.set_nat_up(now, nat, true),
            WorldAction::IpChange(node, ip) => {
                fabric.change_ip(node, ip).map_err(|e| e.to_string())?;
                if let Some(slot) = self.shared.addresses.borrow_mut().get_mut(node.0 as usize) {
                    *slot = ip;
                }
            }
            WorldAction::PacketFault(rule) => {
                fabric.add_packet_rule(*rule).map_err(|e| e.to_string())?;
            }
            WorldAction::PacketFaultEnd(name) => {
                if !fabric.end_packet_rule(&name) {
                    return Err(format!("no packet fault named `{name}` is in force"));
                }
            }
        }
        Ok(())
    }

    /// A node's current address.
    fn address(&self, node: NodeId) -> Result<IpAddr, String> {
        self.shared
            .addresses
            .borrow()
            .get(node.0 as usize)
            .copied()
            .ok_or_else(|| "unknown node".to_owned())
    }

    fn resolve(&self, target: &ProbeTarget) -> Result<SocketAddr, String> {
        match *target {
            ProbeTarget::Addr(a) => Ok(a),
            ProbeTarget::Node(node, port) => self.address(node).map(|ip| SocketAddr::new(ip, port)),
            ProbeTarget::Mapping {
                of,
                port,
                seen_by,
                seen_port,
            } => {
                let seen = self
                    .shared
                    .recorder
                    .borrow()
                    .seen((seen_by, seen_port), of, port);
                seen.ok_or_else(|| {
                    let fabric = self.shared.fabric.borrow();
                    format!(
                        "{} has not seen a probe from {} port {port} yet",
                        fabric.node_name(seen_by),
                        fabric.node_name(of)
                    )
                })
            }
        }
    }
}

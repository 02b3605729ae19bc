//! A world: the run plan ([`WorldSpec`]) and its run.
//!
//! [`run`] builds the fabric, then runs one turmoil client whose tasks are the fabric, every
//! node and the timeline (see [`crate::host`]). The timeline task applies each action at its
//! exact time: network faults directly on the fabric, node actions through the node's control
//! channel. When the duration is reached it stops every task, finishes the capture and the
//! event log, and returns what was observed. Each run happens on a fresh thread inside a
//! [`sim_entropy::seeded`] scope, so dependencies that draw from `rand::rng()` replay too.

use crate::capture::{CaptureWriter, Interface};
use crate::fabric::{
    Entity, Fabric, FaultHits, LinkConfig, LossConfig, NatId, NetworkId, NodeId, PacketRule, Stats,
    TopologyError,
};
use crate::host::{self, RunIssue, Shared};
use crate::nodes::{IceNode, Series, SimNode, SipServerNode, TcpProbe, UdpProbe, Wire};
use crate::record::{Logged, NodeCounters, Recorder, SeenAddresses};
use crate::watch::{Watch, WatchSpec, Watches};
use sim_core::{LogEvent, Seed, SimInstant};
use sim_nat::{Nat, NatConfig};
use std::collections::BTreeSet;
use std::fs::File;
use std::io::BufWriter;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, UNIX_EPOCH};

/// turmoil steps at least this long: the step only decides how often control returns to
/// turmoil (results do not depend on it), and each step has a fixed cost.
pub const MIN_STEP: Duration = Duration::from_secs(1);

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
    /// Whether its SIP ALG rewrites outbound SIP (SDP `c=`/`o=`, `Contact`).
    pub sip_alg: bool,
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
    /// A SIP registrar and proxy.
    SipServer {
        /// Its configuration.
        config: Box<sim_sip::SipServerConfig>,
        /// It starts ignoring every request (the `drop` policy).
        mute: bool,
    },
    /// A softphone.
    Softphone(Box<sim_sip::SoftphoneConfig>),
    /// A STUN server and its starting policy.
    StunServer(Box<sim_stun::StunServerConfig>, sim_stun::StunPolicy),
    /// A TURN server and its starting policy.
    TurnServer(Box<sim_stun::TurnServerConfig>, sim_stun::TurnPolicy),
    /// A NAT-type detector.
    NatDetector(Box<sim_stun::NatDetectorConfig>),
    /// An ICE agent and the peer its candidates go to.
    IceAgent(Box<sim_ice::IceConfig>, NodeId),
    /// An AAE SDK endpoint.
    Aae(Box<sim_aae::AaeConfig>),
    /// An AAE web server.
    AaeWeb(Box<sim_aae_web::WebServerConfig>),
    /// An AAE app with the router it binds.
    AaeApp(Box<sim_aae_web::AaeAppConfig>),
    /// A DNS server and its starting policy.
    DnsServer(Box<sim_dns::DnsServerConfig>, sim_dns::DnsPolicy),
}

/// An AAE SDK call of the timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AaeAction {
    /// `natnl_lib_init`.
    Init,
    /// `natnl_lib_deinit`.
    Deinit,
    /// `natnl_reg_device`.
    Register,
    /// `natnl_unreg_device`.
    Unregister,
    /// `natnl_make_call` to a device id, with its timeout (zero: forever).
    MakeCall {
        /// Callee device id.
        to: String,
        /// `timeout_sec`.
        timeout: Duration,
        /// Forwarded ports: (local, remote).
        ports: Vec<(u16, u16)>,
    },
    /// `natnl_hangup_call` on the newest call.
    Hangup,
    /// The application sends this many bytes through the newest tunnel.
    SendData(u64),
    /// `natnl_send_instant_msg`.
    Message {
        /// Recipient device id.
        to: String,
        /// Text.
        text: String,
    },
    /// The SDK's worker loop stalls for this long.
    Stall(Duration),
}

/// A STUN or TURN server's new policy, or a detector's new run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StunAction {
    /// A STUN server's policy.
    Stun(sim_stun::StunPolicy),
    /// A TURN server's policy.
    Turn(sim_stun::TurnPolicy),
    /// Run NAT-type detection (again).
    Detect,
}

/// A softphone or SIP server command of the timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SipAction {
    /// `registerServer`.
    Register,
    /// `unRegisterServer`.
    Unregister,
    /// `call` to a user, with extra headers.
    Call {
        /// Callee user.
        to: String,
        /// Extra headers.
        headers: Vec<(String, String)>,
    },
    /// Answer (200) or reject (another code) the newest call.
    Answer(u16),
    /// Hang up (or cancel) the newest call.
    Hangup,
    /// Hold the newest call.
    Hold,
    /// Unhold the newest call.
    Unhold,
    /// Blind transfer of the newest call to a user.
    Refer(String),
    /// DTMF tones (0-9, 10 `*`, 11 `#`, 12-15 `A`-`D`) in the newest call.
    Dtmf {
        /// Tones.
        tones: Vec<u8>,
        /// SIP INFO rather than RFC 2833.
        info: bool,
    },
    /// A MESSAGE to a user.
    Message {
        /// Recipient user.
        to: String,
        /// Text.
        text: String,
    },
    /// Do-not-disturb.
    Dnd(bool),
    /// A server's new policy, and whether it now ignores every request.
    Policy(Box<sim_sip::Policy>, bool),
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
    /// Further addresses it owns there (a STUN server's alternate address).
    pub aliases: Vec<IpAddr>,
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
    /// A SIP command to a softphone or server.
    Sip(NodeId, SipAction),
    /// A STUN/TURN server policy or a detection run.
    Stun(NodeId, StunAction),
    /// An SDK call to an AAE endpoint.
    Aae(NodeId, AaeAction),
    /// An AAE web server policy or an `aae-app` binding.
    Web(NodeId, crate::nodes::web::WebAction),
    /// A DNS server's new policy.
    Dns(NodeId, sim_dns::DnsPolicy),
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
    /// Where to write the event log (`events.jsonl`), if anywhere.
    pub events: Option<PathBuf>,
    /// What the expectations watch for, in expectation order.
    pub watches: Vec<WatchSpec>,
    /// Nodes whose seen source addresses are kept (mapping expectations and targets).
    pub observers: BTreeSet<NodeId>,
    /// Tests only: nodes whose every observation is kept in memory (`Some(None)`: all).
    pub keep_log: Option<Option<BTreeSet<NodeId>>>,
}

/// What a run produced.
#[derive(Debug)]
pub struct RunOutput {
    /// Observations kept in memory (only when the spec asked, for tests).
    pub log: Vec<Logged>,
    /// Every watch with what it saw, in expectation order.
    pub watches: Vec<Watch>,
    /// Per-node counters.
    pub counters: Vec<NodeCounters>,
    /// NAT mapping events written to the event log (created, expired, lost).
    pub nat_events: u64,
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
    /// The source addresses observers saw, for mapping checks.
    pub seen: SeenAddresses,
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
    /// The event log could not be created or written.
    #[error("event log {}: {source}", path.display())]
    Events {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
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
        let (nat_id, _) = fabric.add_nat(
            &nat.name,
            core,
            nat.upstream,
            &lan,
            nat.link.clone(),
            nat.drop_fragments,
        )?;
        fabric.set_sip_alg(nat_id, nat.sip_alg);
        interfaces.push(Interface {
            name: lan,
            description: nat.lan_description.clone(),
        });
    }
    for node in &spec.nodes {
        let id = fabric.add_node(&node.name, node.network, node.ip, node.link.clone())?;
        for &alias in &node.aliases {
            fabric.add_alias(id, alias)?;
        }
    }
    Ok((fabric, interfaces))
}

fn factory(spec: &WorldSpec) -> host::NodeFactory {
    let nodes: Vec<(String, NodeKind)> = spec
        .nodes
        .iter()
        .map(|n| (n.name.clone(), n.kind.clone()))
        .collect();
    let seed = spec.seed;
    Rc::new(move |id: NodeId| {
        let (name, kind) = &nodes[id.0 as usize];
        // Each core's random stream: the same for a node across restarts.
        let node_seed = || seed.derive(&format!("node/{name}"));
        let rng = || node_seed().rng();
        match kind {
            NodeKind::SipServer { config, mute } => SimNode::SipServer(Box::new(SipServerNode {
                core: sim_sip::SipServer::new((**config).clone(), rng()),
                mute: *mute,
            })),
            NodeKind::Softphone(config) => {
                SimNode::Softphone(Box::new(sim_sip::Softphone::new((**config).clone(), rng())))
            }
            NodeKind::StunServer(config, policy) => {
                let mut core = sim_stun::StunServer::new((**config).clone(), node_seed());
                if *policy != Default::default() {
                    core.set_policy(SimInstant::ZERO, policy.clone());
                }
                SimNode::StunServer(Box::new(core))
            }
            NodeKind::TurnServer(config, policy) => {
                let mut core = sim_stun::TurnServer::new((**config).clone(), node_seed());
                if *policy != Default::default() {
                    core.set_policy(SimInstant::ZERO, policy.clone());
                }
                SimNode::TurnServer(Box::new(core))
            }
            NodeKind::IceAgent(config, peer) => {
                match sim_ice::IceAgent::new(
                    (**config).clone(),
                    seed.derive(&format!("ice/{name}")),
                ) {
                    Ok(core) => SimNode::IceAgent(Box::new(IceNode {
                        core,
                        peer: peer.0,
                        remote: None,
                        gathered: false,
                        pending: None,
                    })),
                    Err(e) => SimNode::Failed(Some(
                        LogEvent::named("node-failed").with_detail(format!("{name}: {e}")),
                    )),
                }
            }
            NodeKind::Aae(config) => SimNode::Aae(Box::new(sim_aae::AaeEndpoint::new(
                (**config).clone(),
                seed.derive(&format!("aae/{name}")),
            ))),
            NodeKind::NatDetector(config) => SimNode::NatDetector(Box::new(
                sim_stun::NatDetector::new((**config).clone(), node_seed()),
            )),
            NodeKind::UdpProbe { ports, echo, wire } => {
                SimNode::UdpProbe(UdpProbe::new(name, id.0, ports.clone(), *echo, *wire))
            }
            NodeKind::TcpProbe { port, echo } => {
                SimNode::TcpProbe(TcpProbe::new(name, id.0, *port, *echo))
            }
            NodeKind::AaeWeb(config) => SimNode::AaeWeb(Box::new(sim_aae_web::AaeWebServer::new(
                (**config).clone(),
                rng(),
            ))),
            NodeKind::AaeApp(config) => {
                SimNode::AaeApp(Box::new(sim_aae_web::AaeApp::new((**config).clone())))
            }
            NodeKind::DnsServer(config, policy) => {
                let mut core = sim_dns::DnsServer::new((**config).clone());
                core.set_policy(policy.clone());
                SimNode::DnsServer(Box::new(core))
            }
        }
    })
}

/// Runs a world to the end of its duration, on a fresh thread whose entropy comes from the
/// scenario seed.
///
/// # Errors
/// When the topology or a NAT is invalid, the capture or event log cannot be written, or the
/// simulation fails.
pub fn run(spec: &WorldSpec) -> Result<RunOutput, RunError> {
    std::thread::scope(|scope| {
        let thread = std::thread::Builder::new()
            .name("natlab-world".into())
            .spawn_scoped(scope, || {
                let _entropy = sim_entropy::seeded(spec.seed.derive("entropy").value());
                run_here(spec)
            })
            .map_err(|e| RunError::Simulation(format!("cannot start the world's thread: {e}")))?;
        thread
            .join()
            .map_err(|_| RunError::Simulation("the world's thread panicked".into()))?
    })
}

fn recorder(spec: &WorldSpec) -> Result<Recorder, RunError> {
    let names = spec.nodes.iter().map(|n| n.name.clone()).collect();
    let watches = Watches::new(spec.nodes.len(), spec.watches.clone());
    let mut recorder = Recorder::new(names, watches, spec.observers.clone());
    if let Some(path) = &spec.events {
        recorder
            .log_events_to(path)
            .map_err(|source| RunError::Events {
                path: path.clone(),
                source,
            })?;
    }
    if let Some(keep) = &spec.keep_log {
        recorder.keep_log(keep.clone());
    }
    Ok(recorder)
}

fn run_here(spec: &WorldSpec) -> Result<RunOutput, RunError> {
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
    let recorder = recorder(spec)?;
    let step = spec.tick.max(MIN_STEP);
    let mut sim = turmoil::Builder::new()
        .rng_seed(spec.seed.derive("turmoil").value())
        .epoch(UNIX_EPOCH + crate::capture::EPOCH)
        .tick_duration(step)
        .simulation_duration(spec.duration + step * 2)
        .build();
    let parts = Rc::new(std::cell::RefCell::new(Some((fabric, recorder, capture))));
    let result: Rc<std::cell::RefCell<Option<Rc<Shared>>>> = Rc::default();
    let (world_parts, world_result) = (Rc::clone(&parts), Rc::clone(&result));
    let spec_inner = spec.clone();
    sim.client("world", async move {
        let (fabric, recorder, capture) = world_parts
            .borrow_mut()
            .take()
            .ok_or("the world started twice")?;
        let shared = Rc::new(Shared::new(
            spec_inner.seed,
            fabric,
            recorder,
            spec_inner.nodes.iter().map(|n| n.ip).collect(),
            capture,
            factory(&spec_inner),
        ));
        run_world(&spec_inner, &shared).await;
        *world_result.borrow_mut() = Some(shared);
        Ok(())
    });
    sim.run().map_err(|e| RunError::Simulation(e.to_string()))?;
    drop(sim);
    let shared = result
        .borrow_mut()
        .take()
        .ok_or_else(|| RunError::Simulation("the world did not finish".into()))?;
    finish(spec, shared, SimInstant::from_duration(spec.duration))
}

/// The world's client task: starts the fabric and the nodes, plays the timeline, stops at the
/// end of the duration.
async fn run_world(spec: &WorldSpec, shared: &Rc<Shared>) {
    let fabric = tokio::task::spawn_local(host::run_fabric(Rc::clone(shared)));
    for id in 0..spec.nodes.len() {
        shared.spawn_node(NodeId(id as u32));
    }
    let end = SimInstant::from_duration(spec.duration);
    let mut director = Director { shared };
    for timed in spec.timeline.iter().take_while(|t| t.at <= end) {
        shared.clock_sleep_until(timed.at).await;
        director.apply(timed);
    }
    shared.clock_sleep_until(end).await;
    shared.stop(end);
    fabric.abort();
}

fn finish(spec: &WorldSpec, shared: Rc<Shared>, end: SimInstant) -> Result<RunOutput, RunError> {
    let frames = match shared.capture.borrow_mut().take() {
        Some(writer) => {
            let frames = writer.frames();
            writer.finish()?;
            frames
        }
        None => 0,
    };
    let shared = Rc::try_unwrap(shared)
        .map_err(|_| RunError::Simulation("tasks outlived the run".into()))?;
    let parts = shared.into_parts();
    let mut recorder = parts.recorder;
    if let Err(source) = recorder.finish() {
        return Err(RunError::Events {
            path: spec.events.clone().unwrap_or_default(),
            source,
        });
    }
    Ok(RunOutput {
        log: recorder.log().to_vec(),
        counters: recorder.counters().to_vec(),
        nat_events: recorder.nat_events(),
        stats: parts.fabric.stats().clone(),
        faults: parts.fabric.fault_hits(),
        frames,
        issues: parts.issues,
        end,
        node_names: spec.nodes.iter().map(|n| n.name.clone()).collect(),
        nat_names: spec.nats.iter().map(|n| n.name.clone()).collect(),
        seen: recorder.take_seen(),
        watches: recorder.into_watches().into_vec(),
    })
}

/// Applies timeline actions when they are due.
struct Director<'a> {
    shared: &'a Rc<Shared>,
}

impl Director<'_> {
    fn apply(&mut self, timed: &Timed) {
        let now = self.shared.now();
        if let Err(message) = self.try_apply(now, &timed.action) {
            self.shared
                .issue(now, format!("{}: {message}", timed.label));
        }
        self.shared.wake();
    }

    fn try_apply(&mut self, now: SimInstant, action: &WorldAction) -> Result<(), String> {
        if let WorldAction::ProbeSend {
            node,
            to,
            from_port,
            count,
            interval,
            size,
        } = action
        {
            let series = Series {
                to: self.resolve(to)?,
                from_port: *from_port,
                remaining: *count,
                interval: *interval,
                size: *size,
            };
            self.shared.act(
                *node,
                Box::new(move |n: &mut SimNode, now| match n {
                    SimNode::UdpProbe(p) => p.send(now, series),
                    SimNode::TcpProbe(p) => p.send(now, series),
                    _ => {}
                }),
            );
            return Ok(());
        }
        if let WorldAction::Stun(node, command) = action {
            let command = command.clone();
            self.shared.act(
                *node,
                Box::new(move |n: &mut SimNode, now| match (n, command) {
                    (SimNode::StunServer(s), StunAction::Stun(p)) => s.set_policy(now, p),
                    (SimNode::TurnServer(s), StunAction::Turn(p)) => s.set_policy(now, p),
                    (SimNode::NatDetector(d), StunAction::Detect) => d.detect(now),
                    _ => {}
                }),
            );
            return Ok(());
        }
        if let WorldAction::Dns(node, policy) = action {
            let policy = policy.clone();
            self.shared.act(
                *node,
                Box::new(move |n: &mut SimNode, _| {
                    if let SimNode::DnsServer(s) = n {
                        s.set_policy(policy);
                    }
                }),
            );
            return Ok(());
        }
        if let WorldAction::Aae(node, command) = action {
            let command = command.clone();
            self.shared.act(
                *node,
                Box::new(move |n: &mut SimNode, now| {
                    if let SimNode::Aae(e) = n {
                        crate::scenario::aae_command(e, now, command);
                    }
                }),
            );
            return Ok(());
        }
        if let WorldAction::Web(node, command) = action {
            let command = command.clone();
            self.shared.act(
                *node,
                Box::new(move |n: &mut SimNode, now| crate::nodes::web::apply(n, now, command)),
            );
            return Ok(());
        }
        if let WorldAction::Sip(node, command) = action {
            let command = command.clone();
            self.shared.act(
                *node,
                Box::new(move |n: &mut SimNode, now| sip_command(n, now, command)),
            );
            return Ok(());
        }
        match action.clone() {
            WorldAction::Crash(Entity::Node(node)) => {
                self.shared.fabric.borrow_mut().set_node_up(node, false);
                self.shared.crash_node(node);
            }
            WorldAction::Restart(Entity::Node(node)) => {
                self.shared.fabric.borrow_mut().set_node_up(node, true);
                self.shared.spawn_node(node);
            }
            WorldAction::IpChange(node, ip) => {
                let old = self.address(node)?;
                self.shared
                    .fabric
                    .borrow_mut()
                    .change_ip(node, ip)
                    .map_err(|e| e.to_string())?;
                if let Some(slot) = self.shared.addresses.borrow_mut().get_mut(node.0 as usize) {
                    *slot = ip;
                }
                self.shared.renumbered(node, old, ip);
            }
            other => fabric_fault(&mut self.shared.fabric.borrow_mut(), now, other)?,
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
                let seen =
                    self.shared
                        .recorder
                        .borrow()
                        .seen()
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

/// Applies a fault that only concerns the fabric.
fn fabric_fault(fabric: &mut Fabric, now: SimInstant, action: WorldAction) -> Result<(), String> {
    match action {
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
        WorldAction::NatFlush(nat) => fabric.nat_flush(now, nat),
        WorldAction::NatReboot(nat, down_for, new_public) => {
            fabric
                .nat_reboot(now, nat, down_for, new_public)
                .map_err(|e| e.to_string())?;
        }
        WorldAction::Crash(Entity::Nat(nat)) => fabric.set_nat_up(now, nat, false),
        WorldAction::Restart(Entity::Nat(nat)) => fabric.set_nat_up(now, nat, true),
        WorldAction::PacketFault(rule) => {
            fabric.add_packet_rule(*rule).map_err(|e| e.to_string())?;
        }
        WorldAction::PacketFaultEnd(name) => {
            if !fabric.end_packet_rule(&name) {
                return Err(format!("no packet fault named `{name}` is in force"));
            }
        }
        WorldAction::ProbeSend { .. }
        | WorldAction::Sip(..)
        | WorldAction::Stun(..)
        | WorldAction::Aae(..)
        | WorldAction::Web(..)
        | WorldAction::Dns(..)
        | WorldAction::Crash(Entity::Node(_))
        | WorldAction::Restart(Entity::Node(_))
        | WorldAction::IpChange(..) => {}
    }
    Ok(())
}

/// Applies a SIP command to the node it names. A refused SDK call is reported by the core
/// itself (an `api-refused` event with the SDK's return code).
fn sip_command(node: &mut SimNode, now: SimInstant, command: SipAction) {
    match node {
        SimNode::Softphone(p) => {
            // No call yet: the SDK is handed an unknown session id and refuses it.
            let s = p.sessions().last().copied().unwrap_or(u32::MAX);
            let _ = match command {
                SipAction::Register => p.register(now),
                SipAction::Unregister => {
                    p.unregister(now);
                    Ok(())
                }
                SipAction::Call { to, headers } => p.call(now, &to, &headers).map(|_| ()),
                SipAction::Answer(code) if code < 300 => p.answer_call(now, s),
                SipAction::Answer(code) => p.reject(now, s, code),
                SipAction::Hangup => p.hangup(now, s),
                SipAction::Hold => p.hold(now, s),
                SipAction::Unhold => p.unhold(now, s),
                SipAction::Refer(to) => p.refer(now, s, &to),
                SipAction::Dtmf { tones, info } => {
                    let method = if info {
                        sim_sip::ua::DtmfMethod::Info
                    } else {
                        sim_sip::ua::DtmfMethod::Rfc2833
                    };
                    tones
                        .iter()
                        .try_for_each(|&tone| p.send_dtmf(now, s, tone, method))
                }
                SipAction::Message { to, text } => {
                    p.send_message(now, &to, &text);
                    Ok(())
                }
                SipAction::Dnd(on) => {
                    p.set_dnd(on);
                    Ok(())
                }
                SipAction::Policy(..) => Ok(()),
            };
        }
        SimNode::SipServer(s) => {
            if let SipAction::Policy(policy, mute) = command {
                s.core.set_policy(now, *policy);
                s.mute = mute;
            }
        }
        _ => {}
    }
}

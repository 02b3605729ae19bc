//! The cores the world runs, behind one enum, and what they report.

use sim_aae::AaeEndpoint;
use sim_core::{
    Addresses, Binding, Bound, Datagram, LogEvent, Node, SimInstant, StreamEvent, Transmit,
};
use sim_dns::DnsServer;
use sim_ice::{Credentials, IceAgent, IceCandidate, IceEvent};
pub use sim_probe::{Observation, ProbeKind, Series, TcpProbe, UdpProbe, Wire};
use sim_sip::{SipServer, Softphone};
use sim_stun::{NatDetector, StunServer, TurnServer};

pub mod web;

/// What an ICE agent hands its peer through the scenario's signalling: its credentials and
/// candidates, once it has gathered them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IceOffer {
    /// ufrag and password.
    pub credentials: Credentials,
    /// Candidates.
    pub candidates: Vec<IceCandidate>,
}

/// An ICE agent and its side of the signalling with its peer.
#[derive(Debug)]
pub struct IceNode {
    /// The agent.
    pub core: IceAgent,
    /// The peer its offer goes to.
    pub peer: u32,
    /// The peer's offer, held until this agent has gathered.
    pub remote: Option<IceOffer>,
    /// This agent has gathered.
    pub gathered: bool,
    /// The `gathering-done` event, logged right after the offer is signalled.
    pub pending: Option<NodeEvent>,
}

impl IceNode {
    /// Takes the peer's offer (applied once this agent has gathered).
    pub fn offer(&mut self, now: SimInstant, offer: IceOffer) {
        self.remote = Some(offer);
        self.apply(now);
    }

    /// Applies the peer's offer once both are there.
    pub fn apply(&mut self, now: SimInstant) {
        if self.gathered
            && let Some(offer) = self.remote.take()
        {
            let _ = self
                .core
                .set_remote(now, &offer.credentials, &offer.candidates);
        }
    }
}

/// What a running core reports: a probe's observation (traffic is counted, lifecycle events are
/// logged) or an event for the event log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeEvent {
    /// A probe's observation.
    Probe(Observation),
    /// Any other core's event.
    Log(LogEvent),
    /// An offer to hand to another node (ICE signalling through the scenario).
    Signal {
        /// The receiving node.
        to: u32,
        /// The offer.
        offer: IceOffer,
    },
}

/// A SIP registrar/proxy, and whether it currently ignores every request (the `drop` policy:
/// its clients see their transactions time out).
#[derive(Debug)]
pub struct SipServerNode {
    /// The core.
    pub core: SipServer,
    /// Requests are silently dropped.
    pub mute: bool,
}

/// Any core the world can run.
#[derive(Debug)]
pub enum SimNode {
    /// A UDP probe.
    UdpProbe(UdpProbe),
    /// A TCP probe.
    TcpProbe(TcpProbe),
    /// A SIP registrar and proxy.
    SipServer(Box<SipServerNode>),
    /// A softphone.
    Softphone(Box<Softphone>),
    /// A STUN server.
    StunServer(Box<StunServer>),
    /// A TURN server.
    TurnServer(Box<TurnServer>),
    /// A NAT-type detector.
    NatDetector(Box<NatDetector>),
    /// An ICE agent.
    IceAgent(Box<IceNode>),
    /// An AAE SDK endpoint.
    Aae(Box<AaeEndpoint>),
    /// An AAE web server.
    AaeWeb(Box<sim_aae_web::AaeWebServer>),
    /// An AAE app with the router it binds.
    AaeApp(Box<sim_aae_web::AaeApp>),
    /// A DNS server.
    DnsServer(Box<DnsServer>),
    /// A core that could not be built: it binds nothing and reports why, once.
    Failed(Option<LogEvent>),
}

/// Calls `$body` with `$n` bound to the core of whichever variant `$node` is.
macro_rules! each {
    ($node:expr, $n:ident => $body:expr) => {
        match $node {
            SimNode::UdpProbe($n) => $body,
            SimNode::TcpProbe($n) => $body,
            SimNode::SipServer(s) => {
                let $n = &mut s.core;
                $body
            }
            SimNode::Softphone($n) => $body,
            SimNode::StunServer($n) => $body,
            SimNode::TurnServer($n) => $body,
            SimNode::NatDetector($n) => $body,
            SimNode::Aae($n) => $body,
            SimNode::DnsServer($n) => $body,
            SimNode::IceAgent(a) => {
                let $n = &mut a.core;
                $body
            }
            SimNode::AaeWeb($n) => $body,
            SimNode::AaeApp($n) => $body,
            SimNode::Failed(_) => Default::default(),
        }
    };
}

impl Node for SimNode {
    type Event = NodeEvent;

    fn bindings(&self) -> Vec<Binding> {
        match self {
            Self::UdpProbe(n) => n.bindings(),
            Self::TcpProbe(n) => n.bindings(),
            Self::SipServer(s) => s.core.bindings(),
            Self::Softphone(n) => n.bindings(),
            Self::StunServer(n) => n.bindings(),
            Self::TurnServer(n) => n.bindings(),
            Self::NatDetector(n) => n.bindings(),
            Self::IceAgent(a) => a.core.bindings(),
            Self::Aae(n) => n.bindings(),
            Self::AaeWeb(n) => n.bindings(),
            Self::AaeApp(n) => n.bindings(),
            Self::DnsServer(n) => n.bindings(),
            Self::Failed(_) => Vec::new(),
        }
    }

    fn handle_start(&mut self, now: SimInstant, addresses: Addresses) {
        each!(self, n => n.handle_start(now, addresses));
    }

    fn handle_address_change(&mut self, now: SimInstant, old: Addresses, new: Addresses) {
        each!(self, n => n.handle_address_change(now, old, new));
    }

    fn handle_bound(&mut self, now: SimInstant, bound: Bound) {
        each!(self, n => n.handle_bound(now, bound));
    }

    fn handle_datagram(&mut self, now: SimInstant, datagram: Datagram) {
        if let Self::SipServer(s) = self
            && s.mute
        {
            return;
        }
        each!(self, n => n.handle_datagram(now, datagram));
    }

    fn handle_stream(&mut self, now: SimInstant, event: StreamEvent) {
        if let (Self::SipServer(s), StreamEvent::Data { .. }) = (&*self, &event)
            && s.mute
        {
            return;
        }
        each!(self, n => n.handle_stream(now, event));
    }

    fn handle_timeout(&mut self, now: SimInstant) {
        each!(self, n => n.handle_timeout(now));
    }

    fn poll_transmit(&mut self) -> Option<Transmit> {
        each!(self, n => n.poll_transmit())
    }

    fn poll_event(&mut self) -> Option<NodeEvent> {
        match self {
            Self::UdpProbe(n) => n.poll_event().map(NodeEvent::Probe),
            Self::TcpProbe(n) => n.poll_event().map(NodeEvent::Probe),
            Self::SipServer(s) => s.core.poll_event().map(|e| NodeEvent::Log((&e).into())),
            Self::Softphone(n) => n.poll_event().map(|e| NodeEvent::Log((&e).into())),
            Self::StunServer(n) => loop {
                let e = n.poll_event()?;
                if !e.is_traffic() {
                    return Some(NodeEvent::Log((&e).into()));
                }
            },
            Self::TurnServer(n) => loop {
                let e = n.poll_event()?;
                if !e.is_traffic() {
                    return Some(NodeEvent::Log((&e).into()));
                }
            },
            Self::NatDetector(n) => n.poll_event().map(|e| NodeEvent::Log((&e).into())),
            Self::Aae(n) => n.poll_event().map(|e| NodeEvent::Log((&e).into())),
            Self::AaeWeb(n) => n.poll_event().map(|e| NodeEvent::Log((&e).into())),
            Self::AaeApp(n) => n.poll_event().map(|e| NodeEvent::Log((&e).into())),
            Self::DnsServer(n) => n.poll_event().map(|e| NodeEvent::Log((&e).into())),
            Self::Failed(e) => e.take().map(NodeEvent::Log),
            Self::IceAgent(a) => {
                if let Some(pending) = a.pending.take() {
                    return Some(pending);
                }
                let e = a.core.poll_event()?;
                if matches!(e, IceEvent::GatheringDone { .. }) && !a.gathered {
                    a.gathered = true;
                    a.pending = Some(NodeEvent::Log((&e).into()));
                    return Some(NodeEvent::Signal {
                        to: a.peer,
                        offer: IceOffer {
                            credentials: a.core.local_credentials().clone(),
                            candidates: a.core.local_candidates().to_vec(),
                        },
                    });
                }
                Some(NodeEvent::Log((&e).into()))
            }
        }
    }

    fn poll_timeout(&self) -> Option<SimInstant> {
        match self {
            Self::UdpProbe(n) => n.poll_timeout(),
            Self::TcpProbe(n) => n.poll_timeout(),
            Self::SipServer(s) => s.core.poll_timeout(),
            Self::Softphone(n) => n.poll_timeout(),
            Self::StunServer(n) => n.poll_timeout(),
            Self::TurnServer(n) => n.poll_timeout(),
            Self::NatDetector(n) => n.poll_timeout(),
            Self::IceAgent(a) => a.core.poll_timeout(),
            Self::Aae(n) => n.poll_timeout(),
            Self::AaeWeb(n) => n.poll_timeout(),
            Self::AaeApp(n) => n.poll_timeout(),
            Self::DnsServer(n) => n.poll_timeout(),
            Self::Failed(_) => None,
        }
    }
}

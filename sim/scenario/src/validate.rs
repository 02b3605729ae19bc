//! Validation: everything that is not a type error, all problems collected in one pass, then the
//! typed [`Scenario`].
//!
//! The order matters only for what later checks can rely on: names first (one namespace for
//! nodes and NATs), then NATs and networks, then node placement and addresses, then each kind's
//! settings, the timeline and the expectations (codes last). A reference to an item that failed
//! to decode is not reported again, and a check that needs something unresolved is skipped.

mod codes;
pub(crate) mod endpoints;
mod expect;
mod faults;
mod links;
mod names;
mod network;
mod nodes;
mod timeline;
mod web;

use crate::diag::Diagnostic;
use crate::model::ScenarioFile;
use crate::path::YamlPath;
use crate::scenario::{Link, Nat, Network, NetworkId, Node, NodeId, Scenario};
use crate::source::SourceMap;
use names::Names;
use sim_core::Seed;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

/// Default simulation step.
const DEFAULT_TICK: Duration = Duration::from_millis(1);

/// Collects diagnostics, located through the source map.
#[derive(Debug)]
pub(crate) struct Checker<'a> {
    pub(crate) file: &'a ScenarioFile,
    src: &'a SourceMap,
    pub(crate) diagnostics: Vec<Diagnostic>,
}

impl<'a> Checker<'a> {
    pub(crate) const fn new(file: &'a ScenarioFile, src: &'a SourceMap) -> Self {
        Self {
            file,
            src,
            diagnostics: Vec::new(),
        }
    }

    /// Records an error at `path`.
    pub(crate) fn error(&mut self, path: &YamlPath, message: impl Into<String>) {
        self.push(Diagnostic::error(path.clone(), message), None);
    }

    /// Records an error with a help line.
    pub(crate) fn error_help(
        &mut self,
        path: &YamlPath,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.push(Diagnostic::error(path.clone(), message), Some(help.into()));
    }

    /// Records a warning with a help line.
    pub(crate) fn warning(
        &mut self,
        path: &YamlPath,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.push(
            Diagnostic::warning(path.clone(), message),
            Some(help.into()),
        );
    }

    fn push(&mut self, mut d: Diagnostic, help: Option<String>) {
        d.location = self.src.locate(&d.path);
        d.help = help;
        self.diagnostics.push(d);
    }

    /// The path, as written, of the `index`-th decoded element of the sequence at `seq`.
    pub(crate) fn element(&self, seq: &YamlPath, index: usize) -> YamlPath {
        self.src.element(seq, index)
    }

    /// Whether `name` belongs to an item that failed to decode.
    pub(crate) fn is_broken(&self, name: &str) -> bool {
        self.src.is_broken(name)
    }

    /// Whether an error has been recorded.
    pub(crate) fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// The run's duration.
    pub(crate) fn duration(&self) -> Duration {
        self.file.duration.get()
    }
}

/// The resolved topology, as far as it could be resolved.
#[derive(Debug, Default)]
pub(crate) struct Topo {
    pub(crate) names: Names,
    /// Networks: the public one, then one per resolved NAT.
    pub(crate) networks: Vec<Network>,
    /// Resolved NATs, upstream first.
    pub(crate) nats: Vec<Nat>,
    /// Decoded NAT index → position in `nats`.
    pub(crate) nat_ids: Vec<Option<usize>>,
    /// Nodes by id (servers then endpoints); `None` where placement failed.
    pub(crate) nodes: Vec<Option<Node>>,
    /// `topology.defaults.link` over the built-in defaults.
    pub(crate) default_link: Link,
    /// Who uses each address on each network, and where that was written.
    pub(crate) claims: BTreeMap<(NetworkId, IpAddr), (String, YamlPath)>,
}

impl Topo {
    /// The resolved NAT of a decoded NAT index.
    pub(crate) fn nat(&self, decoded: usize) -> Option<&Nat> {
        let id = (*self.nat_ids.get(decoded)?)?;
        self.nats.get(id)
    }

    /// The placed node.
    pub(crate) fn node(&self, id: NodeId) -> Option<&Node> {
        self.nodes.get(id.0)?.as_ref()
    }

    /// The NAT whose LAN the node is on.
    pub(crate) fn nat_of(&self, id: NodeId) -> Option<&Nat> {
        let network = self.node(id)?.network;
        self.nats.iter().find(|n| n.inside == network)
    }

    /// `the public network` or `the LAN of `gw``.
    pub(crate) fn network_text(&self, id: NetworkId) -> String {
        match self
            .networks
            .get(id.0)
            .and_then(|n| n.nat)
            .and_then(|n| self.nats.get(n.0))
        {
            Some(nat) => format!("the LAN of `{}`", nat.name),
            None => "the public network".to_owned(),
        }
    }

    /// Claims `ip` on `network` for `owner`; an error when someone has it already.
    pub(crate) fn claim(
        &mut self,
        c: &mut Checker<'_>,
        network: NetworkId,
        ip: IpAddr,
        owner: &str,
        path: &YamlPath,
    ) {
        if let Some((first, at)) = self.claims.get(&(network, ip)) {
            let on = self.network_text(network);
            c.error_help(
                path,
                format!("address {ip} is already used on {on} by `{first}`"),
                format!("`{first}` has it at {at}; every address on a network belongs to one node or NAT"),
            );
            return;
        }
        self.claims
            .insert((network, ip), (owner.to_owned(), path.clone()));
    }

    /// Whether `ip` is taken on `network`.
    pub(crate) fn taken(&self, network: NetworkId, ip: IpAddr) -> bool {
        self.claims.contains_key(&(network, ip))
    }
}

/// Validates a decoded file. `complete` says whether it decoded without errors: a scenario is
/// built only then.
pub(crate) fn validate(
    file: &ScenarioFile,
    src: &SourceMap,
    complete: bool,
) -> (Option<Scenario>, Vec<Diagnostic>) {
    let mut c = Checker::new(file, src);
    header(&mut c);
    let mut topo = Topo {
        names: names::collect(&mut c),
        default_link: links::defaults(&mut c),
        ..Topo::default()
    };
    network::resolve(&mut c, &mut topo);
    nodes::place(&mut c, &mut topo);
    network::forwards(&mut c, &mut topo);
    endpoints::check(&mut c, &topo);
    let timeline = timeline::resolve(&mut c, &topo);
    let expectations = expect::resolve(&mut c, &topo);
    if c.has_errors() || !complete {
        return (None, c.diagnostics);
    }
    let nodes: Option<Vec<Node>> = topo.nodes.into_iter().collect();
    let (Some(nodes), Some(timeline), Some(expectations)) = (nodes, timeline, expectations) else {
        c.error(&YamlPath::root(), "the scenario could not be resolved");
        return (None, c.diagnostics);
    };
    let scenario = Scenario {
        name: file.name.clone(),
        description: file.description.clone(),
        seed: Seed::new(file.seed),
        duration: file.duration.get(),
        tick: file.tick.map_or(DEFAULT_TICK, |t| t.get()),
        capture: file.capture.unwrap_or(true),
        networks: topo.networks,
        nats: topo.nats,
        nodes,
        timeline,
        expectations,
        warnings: c.diagnostics.clone(),
        file: file.clone(),
    };
    (Some(scenario), c.diagnostics)
}

/// `name`, `duration`, `tick`.
fn header(c: &mut Checker<'_>) {
    let file = c.file;
    let root = YamlPath::root();
    let name = &file.name;
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_');
    if !valid {
        c.error_help(
            &root.key("name"),
            format!("scenario name `{name}` is not a valid name"),
            "use 1 to 64 letters, digits, `-` or `_` (reports are written under <out>/<name>/)",
        );
    }
    let duration = file.duration.get();
    if duration.is_zero() {
        c.error(&root.key("duration"), "`duration` must be longer than 0s");
    }
    if let Some(tick) = file.tick {
        let t = tick.get();
        if t < Duration::from_micros(1) || t > Duration::from_secs(1) {
            c.error(
                &root.key("tick"),
                format!("tick {tick} is out of range, expected 1us to 1s"),
            );
        } else if t > duration && !duration.is_zero() {
            c.error(
                &root.key("tick"),
                format!(
                    "tick {tick} is longer than the run (duration {})",
                    file.duration
                ),
            );
        }
    }
}

/// An error unless `min <= value <= max`.
pub(crate) fn in_range(
    c: &mut Checker<'_>,
    path: &YamlPath,
    what: &str,
    value: i64,
    min: i64,
    max: i64,
) -> bool {
    if (min..=max).contains(&value) {
        return true;
    }
    c.error(
        path,
        format!("{what} {value} is out of range, expected {min} to {max}"),
    );
    false
}

/// An error unless `p` is a probability.
pub(crate) fn probability(c: &mut Checker<'_>, path: &YamlPath, p: f64) {
    if !(0.0..=1.0).contains(&p) {
        c.error(
            path,
            format!("probability {p} is out of range, expected 0 to 1"),
        );
    }
}

/// An error for port 0.
pub(crate) fn port(c: &mut Checker<'_>, path: &YamlPath, port: Option<u16>) {
    if port == Some(0) {
        c.error(path, "port 0 cannot be used, expected 1 to 65535");
    }
}

#[cfg(test)]
mod tests;

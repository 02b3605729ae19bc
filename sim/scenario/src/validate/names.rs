//! One namespace for nodes and NATs: declaration, duplicates, and references with the kind they
//! must have.

use super::Checker;
use crate::load::did_you_mean;
use crate::path::YamlPath;
use crate::scenario::{NodeId, Role};
use std::collections::BTreeMap;

/// Kinds of servers.
pub(crate) const SERVER_KINDS: &[&str] = &["sip", "stun", "turn", "aae-web", "dns"];

/// Names that cannot be used because they mean something else.
const RESERVED: &[&str] = &["public"];

/// What a name declares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Decl {
    /// A NAT, by decoded index.
    Nat(usize),
    /// A node.
    Node(NodeId),
}

/// Every declared name.
#[derive(Debug, Default)]
pub(crate) struct Names {
    map: BTreeMap<String, Decl>,
    /// Names declared more than once (references to them are ambiguous, and not checked).
    duplicates: std::collections::BTreeSet<String>,
    /// Node kinds and settings, by id (servers, then endpoints).
    pub(crate) roles: Vec<Role>,
    /// Where each node was written, by id.
    pub(crate) node_paths: Vec<YamlPath>,
    /// Where each NAT was written, by decoded index.
    pub(crate) nat_paths: Vec<YamlPath>,
    /// NAT names, by decoded index.
    pub(crate) nat_names: Vec<String>,
}

/// What a reference found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lookup {
    Found(Decl),
    /// Declared by an item that failed to decode: already reported.
    Broken,
    Missing,
}

impl Names {
    pub(crate) fn lookup(&self, c: &Checker<'_>, name: &str) -> Lookup {
        match self.map.get(name) {
            _ if self.duplicates.contains(name) => Lookup::Broken,
            Some(d) => Lookup::Found(*d),
            None if c.is_broken(name) => Lookup::Broken,
            None => Lookup::Missing,
        }
    }

    /// The node's kind and settings.
    pub(crate) fn role(&self, id: NodeId) -> Option<&Role> {
        self.roles.get(id.0)
    }

    /// `a stun server`, `a udp-probe endpoint`.
    pub(crate) fn describe(&self, id: NodeId) -> String {
        self.role(id)
            .map_or_else(|| "a node".to_owned(), |r| kind_text(&[role_kind(r)]))
    }

    /// Names of nodes of the given kinds (all nodes when empty), for suggestions.
    fn candidates(&self, kinds: &[&str], nats: bool) -> Vec<&str> {
        self.map
            .iter()
            .filter(|(_, d)| match d {
                Decl::Nat(_) => nats,
                Decl::Node(id) => self
                    .role(*id)
                    .is_some_and(|r| kinds.is_empty() || kinds.contains(&role_kind(r))),
            })
            .map(|(n, _)| n.as_str())
            .collect()
    }
}

/// The `kind` of a role.
pub(crate) const fn role_kind(r: &Role) -> &'static str {
    match r {
        Role::Server(s) => s.kind(),
        Role::Endpoint(e) => e.kind(),
    }
}

/// `a sip server`, `a softphone, intercom or aae endpoint`, `a node`.
pub(crate) fn kind_text(kinds: &[&str]) -> String {
    if kinds.is_empty() {
        return "a node".to_owned();
    }
    if kinds == SERVER_KINDS {
        return "a server".to_owned();
    }
    let noun = if kinds.iter().all(|k| SERVER_KINDS.contains(k)) {
        "server"
    } else {
        "endpoint"
    };
    let list = match kinds {
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
        [] => String::new(),
    };
    let article = if list.starts_with(['a', 'e', 'i', 'o']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {list} {noun}")
}

/// Declares every NAT and node; reports duplicates and bad names.
pub(crate) fn collect(c: &mut Checker<'_>) -> Names {
    let mut names = Names::default();
    let topo = YamlPath::root().key("topology");
    let file = c.file;
    for (i, nat) in file.topology.nats.iter().enumerate() {
        let path = c.element(&topo.key("nats"), i);
        declare(c, &mut names, &nat.name, &path, Decl::Nat(i));
        names.nat_paths.push(path);
        names.nat_names.push(nat.name.clone());
    }
    let servers = file
        .topology
        .servers
        .iter()
        .map(|s| (Role::Server(s.clone()), "servers"));
    let endpoints = file
        .topology
        .endpoints
        .iter()
        .map(|e| (Role::Endpoint(e.clone()), "endpoints"));
    let mut index = BTreeMap::<&str, usize>::new();
    for (id, (role, seq)) in servers.chain(endpoints).enumerate() {
        let i = index.entry(seq).or_default();
        let path = c.element(&topo.key(seq), *i);
        *i += 1;
        let name = match &role {
            Role::Server(s) => s.common().name.to_owned(),
            Role::Endpoint(e) => e.common().name.to_owned(),
        };
        declare(c, &mut names, &name, &path, Decl::Node(NodeId(id)));
        names.roles.push(role);
        names.node_paths.push(path);
    }
    names
}

fn declare(c: &mut Checker<'_>, names: &mut Names, name: &str, item: &YamlPath, decl: Decl) {
    let path = item.key("name");
    let valid = name.len() <= 63
        && name.starts_with(|ch: char| ch.is_ascii_alphabetic())
        && name
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_');
    if !valid {
        c.error_help(
            &path,
            format!("`{name}` is not a valid name"),
            "names start with a letter and hold up to 63 letters, digits, `-` or `_`",
        );
    } else if RESERVED.contains(&name) {
        c.error_help(
            &path,
            format!("`{name}` is reserved"),
            "`public` names the public network (as in `upstream: public`)",
        );
    }
    match names.map.get(name) {
        Some(first) => {
            names.duplicates.insert(name.to_owned());
            let first = match *first {
                Decl::Nat(i) => names.nat_paths.get(i),
                Decl::Node(id) => names.node_paths.get(id.0),
            };
            let at = first.map_or(String::new(), |p| format!(" at {p}"));
            c.error_help(
                &path,
                format!("duplicate name `{name}`"),
                format!("`{name}` is already declared{at}; nodes and NATs share one namespace"),
            );
        }
        None => {
            names.map.insert(name.to_owned(), decl);
        }
    }
}

/// Resolves `name` written at `path` to a node of one of `kinds` (any node when empty).
pub(crate) fn node(
    c: &mut Checker<'_>,
    names: &Names,
    path: &YamlPath,
    name: &str,
    kinds: &[&str],
) -> Option<NodeId> {
    match names.lookup(c, name) {
        Lookup::Found(Decl::Node(id)) => {
            let ok = names
                .role(id)
                .is_some_and(|r| kinds.is_empty() || kinds.contains(&role_kind(r)));
            if !ok {
                let found = names.describe(id);
                c.error(
                    path,
                    format!("`{name}` is {found}, expected {}", kind_text(kinds)),
                );
                return None;
            }
            Some(id)
        }
        Lookup::Found(Decl::Nat(_)) => {
            c.error(
                path,
                format!("`{name}` is a NAT, expected {}", kind_text(kinds)),
            );
            None
        }
        Lookup::Broken => None,
        Lookup::Missing => {
            unknown(
                c,
                names,
                path,
                name,
                kind_text(kinds)
                    .trim_start_matches("a ")
                    .trim_start_matches("an "),
                kinds,
                false,
            );
            None
        }
    }
}

/// Resolves `name` to a NAT (decoded index).
pub(crate) fn nat(
    c: &mut Checker<'_>,
    names: &Names,
    path: &YamlPath,
    name: &str,
) -> Option<usize> {
    match names.lookup(c, name) {
        Lookup::Found(Decl::Nat(i)) => Some(i),
        Lookup::Found(Decl::Node(id)) => {
            c.error(
                path,
                format!("`{name}` is {}, expected a NAT", names.describe(id)),
            );
            None
        }
        Lookup::Broken => None,
        Lookup::Missing => {
            unknown(c, names, path, name, "NAT", &[], true);
            None
        }
    }
}

/// Resolves `name` to a node or a NAT.
pub(crate) fn subject(
    c: &mut Checker<'_>,
    names: &Names,
    path: &YamlPath,
    name: &str,
) -> Option<Decl> {
    match names.lookup(c, name) {
        Lookup::Found(d) => Some(d),
        Lookup::Broken => None,
        Lookup::Missing => {
            unknown(c, names, path, name, "node or NAT", &[], true);
            None
        }
    }
}

fn unknown(
    c: &mut Checker<'_>,
    names: &Names,
    path: &YamlPath,
    name: &str,
    what: &str,
    kinds: &[&str],
    nats: bool,
) {
    let only_nats = what == "NAT";
    let candidates = if only_nats {
        names.nat_names.iter().map(String::as_str).collect()
    } else {
        names.candidates(kinds, nats)
    };
    let message = format!("unknown {what} `{name}`");
    match did_you_mean(name, &candidates) {
        Some(s) => c.error_help(path, message, format!("did you mean `{s}`?")),
        None if candidates.is_empty() => {
            c.error_help(path, message, format!("the topology declares no {what}"))
        }
        None => {
            let list = candidates
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ");
            c.error_help(path, message, format!("declared: {list}"));
        }
    }
}

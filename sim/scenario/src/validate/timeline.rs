//! Timeline entries: within the run, names resolved to nodes or NATs of the right kind.

use super::names::{self, Decl, SERVER_KINDS};
use super::{Checker, Topo, endpoints, faults, links, port, probability};
use crate::model::{
    Action, Answer, Between, Call, Dtmf, DtmfMethod, EndpointSpec, LossBurst, MakeTunnel,
    NatReboot, PolicySwitch, Send, SendData, ServerSpec, Target,
};
use crate::path::YamlPath;
use crate::scenario::{
    Callee, NatId, NodeId, ResolvedAction, ResolvedTarget, Role, Subject, Timed,
};
use std::net::IpAddr;
use std::time::Duration;

/// Largest UDP payload over IPv4.
const MAX_UDP_PAYLOAD: u32 = 65_507;

/// Resolves every entry; `None` when one could not be resolved (an error was reported).
pub(crate) fn resolve(c: &mut Checker<'_>, topo: &Topo) -> Option<Vec<Timed>> {
    let file = c.file;
    let seq = YamlPath::root().key("timeline");
    let mut out = Some(Vec::new());
    faults::check_names(c);
    for (i, entry) in file.timeline.iter().enumerate() {
        let path = c.element(&seq, i);
        let at = entry.at.get();
        if at > c.duration() {
            c.error_help(
                &path.key("at"),
                format!(
                    "`at` {} is after the end of the run (duration {})",
                    entry.at, file.duration
                ),
                "move the action earlier or make `duration` longer",
            );
        }
        let body = path.key(entry.action.key());
        let action = action(c, topo, &body, at, &entry.action);
        match (action, out.as_mut()) {
            (Some(action), Some(v)) => v.push(Timed {
                at,
                index: i,
                action,
            }),
            _ => out = None,
        }
    }
    let mut v = out?;
    v.sort_by_key(|t| t.at);
    Some(v)
}

/// Resolves one action at `path` (the action's body).
fn action(
    c: &mut Checker<'_>,
    topo: &Topo,
    path: &YamlPath,
    at: Duration,
    a: &Action,
) -> Option<ResolvedAction> {
    use ResolvedAction as R;
    match a {
        Action::Send(s) => send(c, topo, path, s),
        Action::Partition(b) => {
            pair(c, topo, path, b).map(|(a, b, one_way)| R::Partition { a, b, one_way })
        }
        Action::Heal(b) => pair(c, topo, path, b).map(|(a, b, _)| R::Heal { a, b }),
        Action::Hold(b) => pair(c, topo, path, b).map(|(a, b, one_way)| R::Hold { a, b, one_way }),
        Action::Release(b) => pair(c, topo, path, b).map(|(a, b, _)| R::Release { a, b }),
        Action::Isolate(r) => subject(c, topo, &path.key("node"), &r.node).map(R::Isolate),
        Action::Rejoin(r) => subject(c, topo, &path.key("node"), &r.node).map(R::Rejoin),
        Action::Crash(r) => subject(c, topo, &path.key("node"), &r.node).map(R::Crash),
        Action::Restart(r) => subject(c, topo, &path.key("node"), &r.node).map(R::Restart),
        Action::LossBurst(b) => loss_burst(c, topo, path, at, b),
        Action::LinkChange(l) => {
            links::check(c, &path.key("set"), &l.set);
            let link = subject(c, topo, &path.key("link"), &l.link)?;
            Some(R::LinkChange {
                link,
                set: l.set.clone(),
            })
        }
        Action::NatFlush(r) => nat(c, topo, &path.key("nat"), &r.nat).map(R::NatFlush),
        Action::NatReboot(r) => nat_reboot(c, topo, path, r),
        Action::IpChange(ch) => ip_change(c, topo, path, &ch.node, ch.address),
        Action::ServerPolicy(p) => server_policy(c, topo, path, p),
        Action::Init(r) => endpoint(c, topo, path, &r.endpoint, &["aae"]).map(R::Init),
        Action::Deinit(r) => endpoint(c, topo, path, &r.endpoint, &["aae"]).map(R::Deinit),
        Action::Register(r) => endpoint(c, topo, path, &r.endpoint, REGISTERING).map(R::Register),
        Action::Unregister(r) => {
            endpoint(c, topo, path, &r.endpoint, REGISTERING).map(R::Unregister)
        }
        Action::Hangup(r) => {
            endpoint(c, topo, path, &r.endpoint, &["softphone", "aae"]).map(R::Hangup)
        }
        Action::Call(call_) => call(c, topo, path, call_),
        Action::HoldCall(r) => {
            endpoint(c, topo, path, &r.endpoint, &["softphone"]).map(R::HoldCall)
        }
        Action::UnholdCall(r) => {
            endpoint(c, topo, path, &r.endpoint, &["softphone"]).map(R::UnholdCall)
        }
        Action::Refer(r) => {
            let endpoint = endpoint(c, topo, path, &r.endpoint, &["softphone"]);
            let to = callee(c, topo, &path.key("to"), &r.to)?;
            Some(R::Refer {
                endpoint: endpoint?,
                to,
            })
        }
        Action::Dtmf(d) => dtmf(c, topo, path, d),
        Action::Message(m) => {
            let from = names::node(c, &topo.names, &path.key("from"), &m.from, &["softphone"]);
            let to = callee(c, topo, &path.key("to"), &m.to)?;
            Some(R::Message {
                from: from?,
                to,
                text: m.text.clone(),
            })
        }
        Action::Dnd(d) => endpoint(c, topo, path, &d.endpoint, &["softphone"])
            .map(|endpoint| R::Dnd { endpoint, on: d.on }),
        Action::Answer(a) => answer(c, topo, path, a),
        Action::MakeTunnel(t) => make_tunnel(c, topo, path, t),
        Action::SendData(d) => send_data(c, topo, path, d),
        Action::Stall(s) => {
            if s.duration.get().is_zero() {
                c.error(&path.key("duration"), "`duration` must be more than 0s");
            }
            endpoint(c, topo, path, &s.endpoint, &["aae"]).map(|endpoint| R::Stall {
                endpoint,
                duration: s.duration.get(),
            })
        }
        Action::PacketFault(f) => faults::packet_fault(c, topo, path, at, f),
        Action::PacketFaultEnd(r) => faults::fault_end(c, path, at, r),
        Action::Bind(b) => super::web::bind(c, topo, path, b),
    }
}

fn loss_burst(
    c: &mut Checker<'_>,
    topo: &Topo,
    path: &YamlPath,
    at: Duration,
    b: &LossBurst,
) -> Option<ResolvedAction> {
    let link = subject(c, topo, &path.key("link"), &b.link);
    if b.duration.get().is_zero() {
        c.error(
            &path.key("duration"),
            "`duration` of a loss burst must be longer than 0s",
        );
    } else if at + b.duration.get() > c.duration() {
        c.warning(
            &path.key("duration"),
            format!(
                "the loss burst lasts past the end of the run ({})",
                c.file.duration
            ),
            "shorten it, or make `duration` longer",
        );
    }
    let loss = b.loss.map_or(1.0, |p| p.0);
    probability(c, &path.key("loss"), loss);
    Some(ResolvedAction::LossBurst {
        link: link?,
        duration: b.duration.get(),
        loss,
    })
}

fn server_policy(
    c: &mut Checker<'_>,
    topo: &Topo,
    path: &YamlPath,
    p: &PolicySwitch,
) -> Option<ResolvedAction> {
    let n = &topo.names;
    endpoints::policy(c, &path.key("set"), &p.set);
    let server = names::node(c, n, &path.key("server"), &p.server, SERVER_KINDS)?;
    let sip = matches!(n.role(server), Some(Role::Server(ServerSpec::Sip(_))));
    let set = &p.set;
    let kind = n.role(server).map(|r| match r {
        Role::Server(s) => s.kind(),
        Role::Endpoint(e) => e.kind(),
    });
    for (key, used, kinds) in [
        (
            "respond",
            set.respond.is_some(),
            &["sip", "stun", "turn", "aae-web"][..],
        ),
        (
            "drop",
            set.drop.is_some(),
            &["sip", "stun", "turn", "aae-web", "dns"][..],
        ),
        (
            "refuse_logins",
            set.refuse_logins.is_some(),
            &["aae-web"][..],
        ),
        (
            "expire_tickets",
            set.expire_tickets.is_some(),
            &["aae-web"][..],
        ),
        ("web_fault", set.web_fault.is_some(), &["aae-web"][..]),
        ("rcode", set.rcode.is_some(), &["dns"][..]),
        ("dns_names", !set.dns_names.is_empty(), &["dns"][..]),
        ("stun_fault", set.stun_fault.is_some(), &["stun"][..]),
        (
            "allocation_quota",
            set.allocation_quota.is_some(),
            &["turn"][..],
        ),
        ("capacity", set.capacity.is_some(), &["turn"][..]),
    ] {
        if used && !kind.is_some_and(|k| kinds.contains(&k)) {
            c.error(
                &path.key("set").key(key),
                format!(
                    "`{key}` needs a {} server; `{}` is {}",
                    kinds.join(" or "),
                    p.server,
                    n.describe(server)
                ),
            );
        }
    }
    let sip_only = [
        ("no_balance", !set.no_balance.is_empty()),
        ("max_calls", set.max_calls.is_some()),
        ("number_format", set.number_format.is_some()),
        ("encryption", set.encryption.is_some()),
        ("outage", set.outage.is_some()),
        ("disabled_routes", !set.disabled_routes.is_empty()),
        ("failing_gateways", !set.failing_gateways.is_empty()),
        ("authorized_ips", !set.authorized_ips.is_empty()),
        ("block", !set.block.is_empty()),
        ("decline", !set.decline.is_empty()),
        ("bar_incoming", !set.bar_incoming.is_empty()),
    ];
    for (key, _) in sip_only.iter().filter(|(_, used)| *used && !sip) {
        c.error(
            &path.key("set").key(key),
            format!(
                "`{key}` needs a SIP server; `{}` is {}",
                p.server,
                n.describe(server)
            ),
        );
    }
    if kind == Some("aae-web") {
        super::web::policy(c, path, p);
    }
    Some(ResolvedAction::ServerPolicy {
        server,
        set: p.set.clone(),
    })
}

fn send_data(
    c: &mut Checker<'_>,
    topo: &Topo,
    path: &YamlPath,
    d: &SendData,
) -> Option<ResolvedAction> {
    if d.bytes == 0 {
        c.error(&path.key("bytes"), "`bytes` must be at least 1");
    }
    let endpoint = endpoint(c, topo, path, &d.endpoint, &["aae"])?;
    Some(ResolvedAction::SendData {
        endpoint,
        bytes: d.bytes,
    })
}

/// Endpoints that register with a SIP server.
const REGISTERING: &[&str] = &["softphone", "intercom", "aae"];

fn endpoint(
    c: &mut Checker<'_>,
    topo: &Topo,
    path: &YamlPath,
    name: &str,
    kinds: &[&str],
) -> Option<NodeId> {
    names::node(c, &topo.names, &path.key("endpoint"), name, kinds)
}

/// A node or NAT.
pub(crate) fn subject(
    c: &mut Checker<'_>,
    topo: &Topo,
    path: &YamlPath,
    name: &str,
) -> Option<Subject> {
    match names::subject(c, &topo.names, path, name)? {
        Decl::Node(id) => Some(Subject::Node(id)),
        Decl::Nat(i) => topo.nat(i).map(|n| Subject::Nat(n.id)),
    }
}

fn nat(c: &mut Checker<'_>, topo: &Topo, path: &YamlPath, name: &str) -> Option<NatId> {
    let i = names::nat(c, &topo.names, path, name)?;
    topo.nat(i).map(|n| n.id)
}

fn pair(
    c: &mut Checker<'_>,
    topo: &Topo,
    path: &YamlPath,
    b: &Between,
) -> Option<(Subject, Subject, bool)> {
    let [x, y] = &b.between;
    let at = path.key("between");
    let a = subject(c, topo, &at.index(0), x);
    let bb = subject(c, topo, &at.index(1), y);
    if x == y {
        c.error(
            &at.index(1),
            format!("`between` names `{x}` twice, expected two different nodes"),
        );
        return None;
    }
    Some((a?, bb?, b.one_way.unwrap_or(false)))
}

fn send(c: &mut Checker<'_>, topo: &Topo, path: &YamlPath, s: &Send) -> Option<ResolvedAction> {
    let from = names::node(
        c,
        &topo.names,
        &path.key("from"),
        &s.from,
        &["udp-probe", "tcp-probe"],
    );
    if s.count == Some(0) {
        c.error(
            &path.key("count"),
            "`count` 0 sends nothing, expected at least 1",
        );
    }
    if s.interval.is_some_and(|d| d.get().is_zero()) {
        c.error(&path.key("interval"), "`interval` must be longer than 0s");
    }
    // `from_port: 0` binds an ephemeral port at run time (the probe reports `port-bound`).
    if let Some(size) = s.size.filter(|n| *n > MAX_UDP_PAYLOAD) {
        c.error(
            &path.key("size"),
            format!(
                "`size` {size} is larger than a UDP datagram can carry ({MAX_UDP_PAYLOAD} bytes)"
            ),
        );
    }
    let to = target(c, topo, &path.key("to"), &s.to);
    let from = from?;
    let probe_port = topo.node(from).map_or(5000, crate::scenario::Node::port);
    if let (Some(ResolvedTarget::Addr(addr)), Some(node)) = (&to, topo.node(from))
        && addr.is_ipv4() != node.address.is_ipv4()
    {
        c.error(
            &path.key("to"),
            format!(
                "{addr} and `{}`'s address {} are of different address families",
                s.from, node.address
            ),
        );
    }
    let count = match (s.count, s.interval) {
        (Some(n), _) => Some(n),
        (None, Some(_)) => None,
        (None, None) => Some(1),
    };
    Some(ResolvedAction::Send {
        from,
        to: to?,
        count,
        interval: s.interval.map_or(Duration::from_secs(1), |d| d.get()),
        from_port: s.from_port.unwrap_or(probe_port),
        size: s.size,
    })
}

/// Where a probe sends.
pub(crate) fn target(
    c: &mut Checker<'_>,
    topo: &Topo,
    path: &YamlPath,
    t: &Target,
) -> Option<ResolvedTarget> {
    match t {
        Target::Addr(a) => {
            port(c, path, Some(a.port()));
            Some(ResolvedTarget::Addr(*a))
        }
        Target::Node { name, port: p } => {
            port(c, path, *p);
            let node = names::node(c, &topo.names, path, name, &[])?;
            let port = p.or_else(|| topo.node(node).map(crate::scenario::Node::port))?;
            Some(ResolvedTarget::Node { node, port })
        }
        Target::Mapping {
            mapping_of,
            seen_by,
        } => {
            let of = behind_nat(c, topo, &path.key("mapping_of"), mapping_of);
            let by = observer(c, topo, &path.key("seen_by"), seen_by);
            let (of, (seen_by, seen_port)) = (of?, by?);
            let port = topo.node(of).map(crate::scenario::Node::port)?;
            Some(ResolvedTarget::Mapping {
                mapping_of: of,
                port,
                seen_by,
                seen_port,
            })
        }
    }
}

/// A node that sits behind a NAT (it has a mapping to speak of).
pub(crate) fn behind_nat(
    c: &mut Checker<'_>,
    topo: &Topo,
    path: &YamlPath,
    name: &str,
) -> Option<NodeId> {
    let id = names::node(c, &topo.names, path, name, &[])?;
    if topo.node(id).is_some() && topo.nat_of(id).is_none() {
        c.error_help(
            path,
            format!("`{name}` is on the public network, so it has no NAT mapping"),
            "name a node with `behind: <nat>`",
        );
        return None;
    }
    Some(id)
}

/// An observer written `probe` or `probe:port`: an echoing udp-probe and the port of its that
/// observes (default its main port).
pub(crate) fn observer(
    c: &mut Checker<'_>,
    topo: &Topo,
    path: &YamlPath,
    text: &str,
) -> Option<(NodeId, u16)> {
    let (name, port) = match text.rsplit_once(':') {
        Some((name, port)) if port.parse::<u16>().is_ok() => (name, port.parse::<u16>().ok()),
        _ => (text, None),
    };
    let id = echo_probe(c, topo, path, name)?;
    let Some(Role::Endpoint(EndpointSpec::UdpProbe(p))) = topo.names.role(id) else {
        return None;
    };
    let main = p.port.unwrap_or(5000);
    let port = port.unwrap_or(main);
    if port != main && !p.ports.contains(&port) {
        let ports: Vec<String> = std::iter::once(main)
            .chain(p.ports.iter().copied())
            .map(|p| p.to_string())
            .collect();
        c.error(
            path,
            format!(
                "`{name}` does not listen on port {port}, expected one of its ports: {}",
                ports.join(", ")
            ),
        );
        return None;
    }
    Some((id, port))
}

/// A udp-probe with `echo: true` (it reports the address it saw).
pub(crate) fn echo_probe(
    c: &mut Checker<'_>,
    topo: &Topo,
    path: &YamlPath,
    name: &str,
) -> Option<NodeId> {
    let id = names::node(c, &topo.names, path, name, &["udp-probe"])?;
    let echoes = matches!(topo.names.role(id), Some(Role::Endpoint(EndpointSpec::UdpProbe(p))) if p.echo == Some(true));
    if !echoes {
        c.error_help(
            path,
            format!("`{name}` does not echo, so it reports no observed address"),
            format!("set `echo: true` on `{name}`"),
        );
        return None;
    }
    Some(id)
}

fn nat_reboot(
    c: &mut Checker<'_>,
    topo: &Topo,
    path: &YamlPath,
    r: &NatReboot,
) -> Option<ResolvedAction> {
    let nat_id = nat(c, topo, &path.key("nat"), &r.nat)?;
    let spec = topo.nats.get(nat_id.0)?;
    for (k, ip) in r.new_public.iter().enumerate() {
        let at = path.key("new_public").index(k);
        if ip.is_ipv4() != spec.lan.addr.is_ipv4() {
            c.error(
                &at,
                format!(
                    "{ip} and the LAN of `{}` ({}) are of different address families",
                    spec.name, spec.lan
                ),
            );
            continue;
        }
        let owner = topo
            .claims
            .get(&(spec.upstream, *ip))
            .map(|(o, _)| o.as_str());
        if let Some(owner) = owner.filter(|o| *o != spec.name) {
            c.error(
                &at,
                format!(
                    "address {ip} is already used on {} by `{owner}`",
                    topo.network_text(spec.upstream)
                ),
            );
        }
    }
    Some(ResolvedAction::NatReboot {
        nat: nat_id,
        down_for: r.down_for.map_or(Duration::ZERO, |d| d.get()),
        new_public: r.new_public.clone(),
    })
}

fn ip_change(
    c: &mut Checker<'_>,
    topo: &Topo,
    path: &YamlPath,
    name: &str,
    address: IpAddr,
) -> Option<ResolvedAction> {
    let node = names::node(c, &topo.names, &path.key("node"), name, &[])?;
    let placed = topo.node(node)?;
    let at = path.key("address");
    if let Some(nat) = topo.nat_of(node)
        && !nat.lan.contains(address)
    {
        c.error(
            &at,
            format!(
                "address {address} is outside the LAN of `{}` ({})",
                nat.name, nat.lan
            ),
        );
        return None;
    }
    match topo.claims.get(&(placed.network, address)) {
        Some((owner, _)) if owner == name => {
            c.error(&at, format!("`{name}` already has address {address}"));
        }
        Some((owner, _)) => {
            c.error(
                &at,
                format!(
                    "address {address} is already used on {} by `{owner}`",
                    topo.network_text(placed.network)
                ),
            );
        }
        None => {}
    }
    Some(ResolvedAction::IpChange { node, address })
}

fn call(c: &mut Checker<'_>, topo: &Topo, path: &YamlPath, call: &Call) -> Option<ResolvedAction> {
    let from = names::node(
        c,
        &topo.names,
        &path.key("from"),
        &call.from,
        &["softphone"],
    );
    let to = callee(c, topo, &path.key("to"), &call.to)?;
    if matches!(to, Callee::Node(id) if Some(id) == from) {
        c.error(&path.key("to"), "a softphone cannot call itself");
    }
    Some(ResolvedAction::Call {
        from: from?,
        to,
        video: call.video.unwrap_or(false),
        headers: call.headers.clone(),
    })
}

/// A callee written as an endpoint name (a softphone or intercom), a user or a SIP URI.
fn callee(c: &mut Checker<'_>, topo: &Topo, path: &YamlPath, to: &str) -> Option<Callee> {
    Some(match topo.names.lookup(c, to) {
        names::Lookup::Found(_) => Callee::Node(names::node(
            c,
            &topo.names,
            path,
            to,
            &["softphone", "intercom", "aae"],
        )?),
        _ => Callee::Uri(to.to_owned()),
    })
}

fn dtmf(c: &mut Checker<'_>, topo: &Topo, path: &YamlPath, d: &Dtmf) -> Option<ResolvedAction> {
    let endpoint = endpoint(c, topo, path, &d.endpoint, &["softphone"]);
    let valid = |ch: char| ch.is_ascii_digit() || matches!(ch, '*' | '#' | 'A'..='D');
    if d.digits.is_empty() {
        c.error(&path.key("digits"), "`digits` is empty");
    } else if let Some(bad) = d.digits.chars().find(|&ch| !valid(ch)) {
        c.error(
            &path.key("digits"),
            format!("`{bad}` is not a DTMF digit, expected 0-9, *, # or A-D"),
        );
    }
    Some(ResolvedAction::Dtmf {
        endpoint: endpoint?,
        digits: d.digits.clone(),
        info: d.method.unwrap_or_default() == DtmfMethod::Info,
    })
}

fn answer(c: &mut Checker<'_>, topo: &Topo, path: &YamlPath, a: &Answer) -> Option<ResolvedAction> {
    let endpoint = endpoint(c, topo, path, &a.endpoint, &["softphone"]);
    let code = a.code.unwrap_or(200);
    if !(200..=699).contains(&code) {
        c.error(
            &path.key("code"),
            format!("`code` {code} is not a final SIP status, expected 200 to 699"),
        );
    }
    Some(ResolvedAction::Answer {
        endpoint: endpoint?,
        code,
    })
}

fn make_tunnel(
    c: &mut Checker<'_>,
    topo: &Topo,
    path: &YamlPath,
    t: &MakeTunnel,
) -> Option<ResolvedAction> {
    let from = names::node(c, &topo.names, &path.key("from"), &t.from, &["aae"]);
    let by_device = topo
        .names
        .roles
        .iter()
        .position(|r| matches!(r, Role::Endpoint(EndpointSpec::Aae(a)) if a.device_id == t.to));
    let to = match (topo.names.lookup(c, &t.to), by_device) {
        (names::Lookup::Missing, Some(i)) => Some(NodeId(i)),
        _ => names::node(c, &topo.names, &path.key("to"), &t.to, &["aae"]),
    };
    let (from, to) = (from?, to?);
    if from == to {
        c.error(
            &path.key("to"),
            "an AAE endpoint cannot open a tunnel to itself",
        );
    }
    for (i, p) in t.ports.iter().enumerate() {
        if p.lport == 0 || p.rport == 0 {
            c.error(
                &path.key("ports").index(i),
                "`lport` and `rport` must be ports 1-65535",
            );
        }
    }
    Some(ResolvedAction::MakeTunnel {
        from,
        to,
        timeout: t.timeout.map_or(Duration::ZERO, |d| d.get()),
        ports: t.ports.iter().map(|p| (p.lport, p.rport)).collect(),
    })
}

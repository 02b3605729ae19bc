//! Each kind's own settings: documented ranges and the nodes they refer to.

use super::names;
use super::{Checker, Topo, in_range, port};
use crate::model::{
    AaeSpec, Account, DnsSpec, EndpointSpec, IceAgentSpec, IntercomSpec, ServerPolicy, ServerSpec,
    SipServerSpec, SoftphoneSpec, Transport, TurnCredentials, TurnSpec, UdpProbeSpec,
};
use crate::path::YamlPath;
use crate::scenario::{NodeId, Role};
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::Duration;

/// AAE: at most 15 tunnels at once (`max_calls`), keep-alive timeout at most 180 s.
const AAE_MAX_CALLS: (i64, i64) = (1, 15);
const AAE_TNL_TIMEOUT: Duration = Duration::from_secs(180);
/// Softphone: `registerServer` expiry at most 3600 s; session timer at least 90 s.
const SOFTPHONE_EXPIRES: (i64, i64) = (1, 3600);
const SOFTPHONE_SESSION_TIMER: Duration = Duration::from_secs(90);
/// Intercom SIP settings: registration 30–900 s (re-registers 6 s before expiry), user and
/// password 1–31 characters, H.264 payload type 99–127.
const INTERCOM_INTERVAL: (i64, i64) = (30, 900);
const INTERCOM_REREGISTER_LEAD: i64 = 6;
const INTERCOM_TEXT: (usize, usize) = (1, 31);
const INTERCOM_H264: (i64, i64) = (99, 127);

/// Checks every node's kind-specific settings.
pub(crate) fn check(c: &mut Checker<'_>, topo: &Topo) {
    for (i, role) in topo.names.roles.iter().enumerate() {
        let id = NodeId(i);
        let Some(path) = topo.names.node_paths.get(i) else {
            continue;
        };
        match role {
            Role::Server(s) => server(c, topo, path, s),
            Role::Endpoint(e) => endpoint(c, topo, id, path, e),
        }
    }
    device_ids(c, topo);
}

fn server(c: &mut Checker<'_>, topo: &Topo, path: &YamlPath, s: &ServerSpec) {
    match s {
        ServerSpec::Sip(s) => sip(c, path, s),
        ServerSpec::Stun(s) => port(c, &path.key("port"), s.port),
        ServerSpec::Turn(s) => turn(c, path, s),
        ServerSpec::AaeWeb(s) => super::web::server(c, topo, path, s),
        ServerSpec::Dns(s) => dns(c, topo, path, s),
    }
}

fn endpoint(c: &mut Checker<'_>, topo: &Topo, id: NodeId, path: &YamlPath, e: &EndpointSpec) {
    match e {
        EndpointSpec::Aae(a) => aae(c, topo, path, a),
        EndpointSpec::Softphone(s) => softphone(c, topo, id, path, s),
        EndpointSpec::Intercom(i) => intercom(c, topo, id, path, i),
        EndpointSpec::IceAgent(a) => ice_agent(c, topo, id, path, a),
        EndpointSpec::NatDetector(d) => {
            port(c, &path.key("port"), d.port);
            names::node(c, &topo.names, &path.key("stun"), &d.stun, &["stun"]);
            if let Some(second) = &d.second_stun {
                names::node(c, &topo.names, &path.key("second_stun"), second, &["stun"]);
            }
        }
        EndpointSpec::UdpProbe(p) => udp_probe(c, path, p),
        EndpointSpec::TcpProbe(p) => port(c, &path.key("port"), p.port),
        EndpointSpec::AaeApp(a) => super::web::app(c, topo, path, a),
    }
}

fn udp_probe(c: &mut Checker<'_>, path: &YamlPath, p: &UdpProbeSpec) {
    port(c, &path.key("port"), p.port);
    let main = p.port.unwrap_or(5000);
    let mut seen = BTreeSet::from([main]);
    for (i, &extra) in p.ports.iter().enumerate() {
        let at = path.key("ports").index(i);
        port(c, &at, Some(extra));
        if !seen.insert(extra) {
            c.error(
                &at,
                format!("port {extra} is listed twice (`port` is {main})"),
            );
        }
    }
}

fn sip(c: &mut Checker<'_>, path: &YamlPath, s: &SipServerSpec) {
    port(c, &path.key("port"), s.port);
    accounts(c, &path.key("accounts"), &s.accounts);
    if let Some(p) = &s.policy {
        policy(c, &path.key("policy"), p);
    }
}

/// A server policy: a status to answer with must be a SIP status.
pub(crate) fn policy(c: &mut Checker<'_>, path: &YamlPath, p: &ServerPolicy) {
    if let Some(code) = p.respond {
        in_range(
            c,
            &path.key("respond"),
            "SIP status",
            i64::from(code),
            100,
            699,
        );
    }
    let rcode = |c: &mut Checker<'_>, at: &YamlPath, r: Option<u8>| {
        if let Some(r) = r {
            in_range(c, at, "DNS RCODE", i64::from(r), 0, 15);
        }
    };
    rcode(c, &path.key("rcode"), p.rcode);
    for (k, n) in p.dns_names.iter().enumerate() {
        let at = path.key("dns_names").index(k);
        rcode(c, &at.key("rcode"), n.rcode);
        if !is_hostname(&n.name) {
            c.error(&at.key("name"), format!("`{}` is not a DNS name", n.name));
        }
        if n.rcode.is_some() == (n.drop == Some(true)) {
            c.error(&at, "give one of `rcode` and `drop: true`");
        }
    }
    if let Some(format) = &p.number_format {
        let body = format.strip_prefix('+').unwrap_or(format);
        let prefix_len = body.find('#').unwrap_or(body.len());
        let (prefix, rest) = body.split_at(prefix_len);
        if !prefix.bytes().all(|b| b.is_ascii_digit()) || !rest.bytes().all(|b| b == b'#') {
            c.error_help(
                &path.key("number_format"),
                format!("`number_format` `{format}` is not a prefix of digits followed by `#`s"),
                "`#` stands for any digit, e.g. `380#########`",
            );
        }
    }
    for (key, prefixes) in [
        ("disabled_routes", &p.disabled_routes),
        ("failing_gateways", &p.failing_gateways),
    ] {
        for (k, prefix) in prefixes.iter().enumerate() {
            if prefix.is_empty() {
                c.error(
                    &path.key(key).index(k),
                    format!("an empty prefix in `{key}` matches every number"),
                );
            }
        }
    }
}

pub(super) fn accounts(c: &mut Checker<'_>, path: &YamlPath, accounts: &[Account]) {
    let mut seen = BTreeSet::new();
    for (k, a) in accounts.iter().enumerate() {
        let at = path.index(k);
        if a.user.is_empty() {
            c.error(&at.key("user"), "account `user` is empty");
        }
        if !seen.insert(a.user.as_str()) {
            c.error(
                &at.key("user"),
                format!("account `{}` is listed twice", a.user),
            );
        }
    }
}

fn turn(c: &mut Checker<'_>, path: &YamlPath, s: &TurnSpec) {
    port(c, &path.key("port"), s.port);
    accounts(c, &path.key("accounts"), &s.accounts);
    if s.max_allocations == Some(0) {
        c.error(
            &path.key("max_allocations"),
            "`max_allocations` 0 refuses every allocation, expected at least 1",
        );
    }
    if s.nonce_lifetime.is_some_and(|d| d.get().is_zero()) {
        c.error(
            &path.key("nonce_lifetime"),
            "`nonce_lifetime` must be longer than 0s",
        );
    }
}

fn dns(c: &mut Checker<'_>, _topo: &Topo, path: &YamlPath, s: &DnsSpec) {
    port(c, &path.key("port"), s.port);
    let mut seen = BTreeMap::new();
    for (k, r) in s.records.iter().enumerate() {
        let at = path.key("records").index(k);
        if !is_hostname(&r.name) {
            c.error(&at.key("name"), format!("`{}` is not a DNS name", r.name));
        }
        if let Some(first) = seen.insert((r.name.to_ascii_lowercase(), r.address), k) {
            c.error(
                &at,
                format!("record `{} {}` repeats records[{first}]", r.name, r.address),
            );
        }
    }
}

/// Letters, digits, `-` and `.`, labels of 1–63 characters.
fn is_hostname(s: &str) -> bool {
    let s = s.strip_suffix('.').unwrap_or(s);
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

fn aae(c: &mut Checker<'_>, topo: &Topo, path: &YamlPath, a: &AaeSpec) {
    for (key, value) in [
        ("device_id", &a.device_id),
        ("device_ticket", &a.device_ticket),
    ] {
        if value.is_empty() {
            c.error(&path.key(key), format!("`{key}` is empty"));
        }
    }
    names::node(
        c,
        &topo.names,
        &path.key("sip_server"),
        &a.sip_server,
        &["sip"],
    );
    if let Some(s) = &a.second_stun_server {
        names::node(
            c,
            &topo.names,
            &path.key("second_stun_server"),
            s,
            &["stun"],
        );
        if a.stun_server.is_none() {
            c.error(
                &path.key("second_stun_server"),
                "`second_stun_server` needs a `stun_server` to check against",
            );
        }
    }
    if let Some(s) = &a.stun_server {
        names::node(c, &topo.names, &path.key("stun_server"), s, &["stun"]);
    }
    if let Some(t) = &a.turn {
        turn_credentials(c, topo, &path.key("turn"), t);
    }
    if let Some(w) = &a.web_service {
        names::node(c, &topo.names, &path.key("web_service"), w, &["aae-web"]);
    }
    port(c, &path.key("port"), a.port);
    if let Some(n) = a.max_calls {
        in_range(
            c,
            &path.key("max_calls"),
            "`max_calls`",
            n,
            AAE_MAX_CALLS.0,
            AAE_MAX_CALLS.1,
        );
    }
    if let Some(t) = a.tnl_timeout {
        let d = t.get();
        if d.is_zero() || d > AAE_TNL_TIMEOUT {
            c.error(
                &path.key("tnl_timeout"),
                format!(
                    "`tnl_timeout` {t} is out of range, expected more than 0s and at most 180s"
                ),
            );
        }
    }
}

fn turn_credentials(c: &mut Checker<'_>, topo: &Topo, path: &YamlPath, t: &TurnCredentials) {
    names::node(c, &topo.names, &path.key("server"), &t.server, &["turn"]);
    if t.user.is_empty() {
        c.error(&path.key("user"), "TURN `user` is empty");
    }
}

/// Device ids are unique: `make_tunnel.to` may name a device by its id.
fn device_ids(c: &mut Checker<'_>, topo: &Topo) {
    let mut seen = BTreeMap::new();
    for (i, role) in topo.names.roles.iter().enumerate() {
        let Role::Endpoint(EndpointSpec::Aae(a)) = role else {
            continue;
        };
        let Some(path) = topo.names.node_paths.get(i) else {
            continue;
        };
        if let Some(first) = seen.insert(a.device_id.as_str(), a.name.as_str()) {
            c.error(
                &path.key("device_id"),
                format!("device id `{}` is already used by `{first}`", a.device_id),
            );
        }
    }
}

fn softphone(c: &mut Checker<'_>, topo: &Topo, id: NodeId, path: &YamlPath, s: &SoftphoneSpec) {
    names::node(c, &topo.names, &path.key("server"), &s.server, &["sip"]);
    if s.user.is_empty() {
        c.error(&path.key("user"), "`user` is empty");
    }
    port(c, &path.key("port"), s.port);
    if let Some(e) = s.register_expires {
        let (lo, hi) = SOFTPHONE_EXPIRES;
        in_range(
            c,
            &path.key("register_expires"),
            "`register_expires`",
            e,
            lo,
            hi,
        );
    }
    if let Some(t) = s.session_timer
        && t.get() < SOFTPHONE_SESSION_TIMER
    {
        c.error(
            &path.key("session_timer"),
            format!("`session_timer` {t} is too short, expected at least 90s"),
        );
    }
    if let (Some(k), Some(nat)) = (s.keep_alive, topo.nat_of(id)) {
        let udp = s.transport.is_none_or(|t| t == Transport::Udp);
        if udp && k.get() > nat.udp_timeout {
            c.warning(
                &path.key("keep_alive"),
                format!(
                    "keep-alive every {k} is longer than the UDP mapping lifetime of `{}` ({}s)",
                    nat.name,
                    nat.udp_timeout.as_secs()
                ),
                format!(
                    "the NAT forgets the mapping between keep-alives; use a `keep_alive` shorter than {}s",
                    nat.udp_timeout.as_secs()
                ),
            );
        }
    }
}

fn intercom(c: &mut Checker<'_>, topo: &Topo, id: NodeId, path: &YamlPath, i: &IntercomSpec) {
    let (lo, hi) = INTERCOM_INTERVAL;
    let interval_ok = in_range(
        c,
        &path.key("registration_interval"),
        "`registration_interval`",
        i.registration_interval,
        lo,
        hi,
    );
    for (key, value) in [("user", &i.user), ("password", &i.password)] {
        let n = value.chars().count();
        if !(INTERCOM_TEXT.0..=INTERCOM_TEXT.1).contains(&n) {
            c.error(
                &path.key(key),
                format!("`{key}` has {n} characters, expected 1 to 31"),
            );
        }
    }
    if let Some(pt) = i.h264 {
        in_range(
            c,
            &path.key("h264"),
            "H.264 payload type",
            pt,
            INTERCOM_H264.0,
            INTERCOM_H264.1,
        );
    }
    if i.realm.is_empty() {
        c.error(&path.key("realm"), "`realm` is empty");
    }
    proxy(c, topo, &path.key("proxy"), &i.proxy);
    if let Some(stun) = &i.stun {
        stun_host(c, topo, &path.key("stun").key("ip"), &stun.ip);
        in_range(
            c,
            &path.key("stun").key("port"),
            "STUN port",
            stun.port,
            1,
            65535,
        );
    }
    if let (true, Some(nat)) = (
        interval_ok && i.transport == Transport::Udp,
        topo.nat_of(id),
    ) {
        let refresh = i.registration_interval - INTERCOM_REREGISTER_LEAD;
        if u64::try_from(refresh).is_ok_and(|r| r > nat.udp_timeout.as_secs()) {
            c.warning(
                &path.key("registration_interval"),
                format!(
                    "the intercom re-registers every {refresh}s, after the UDP mapping of `{}` expires ({}s)",
                    nat.name,
                    nat.udp_timeout.as_secs()
                ),
                "incoming calls cannot reach it between expiry and re-registration; shorten `registration_interval`",
            );
        }
    }
}

/// The host part of `sip:host:port`, `user@host` or `host`.
/// The host of an intercom's `proxy` setting (`sip:host`, `host`, `host:port`, with user and
/// parameters stripped).
pub fn host_of(proxy: &str) -> &str {
    let s = proxy.trim();
    let s = s
        .strip_prefix("sips:")
        .or_else(|| s.strip_prefix("sip:"))
        .unwrap_or(s);
    let s = s.rsplit_once('@').map_or(s, |(_, h)| h);
    let s = s.split(';').next().unwrap_or(s);
    if let Some(v6) = s.strip_prefix('[') {
        return v6.split(']').next().unwrap_or(v6);
    }
    match s.rsplit_once(':') {
        Some((h, p)) if p.parse::<u16>().is_ok() && !h.contains(':') => h,
        _ => s,
    }
}

/// The intercom's proxy host names a SIP server node, a DNS record or a SIP server's address.
fn proxy(c: &mut Checker<'_>, topo: &Topo, path: &YamlPath, proxy: &str) {
    let host = host_of(proxy);
    if let Ok(ip) = host.parse::<IpAddr>() {
        let sip_here = topo
            .nodes
            .iter()
            .flatten()
            .any(|n| n.address == ip && matches!(n.role, Role::Server(ServerSpec::Sip(_))));
        if !sip_here {
            c.error(
                path,
                format!("proxy address {ip} is not the address of a SIP server"),
            );
        }
        return;
    }
    if matches!(
        topo.names.lookup(c, host),
        names::Lookup::Found(_) | names::Lookup::Broken
    ) {
        names::node(c, &topo.names, path, host, &["sip"]);
        return;
    }
    if !dns_has(topo, host) {
        c.error_help(
            path,
            format!("proxy host `{host}` is neither a SIP server node nor a DNS record"),
            "name a `kind: sip` server, or add a record for it to a `kind: dns` server",
        );
    }
}

/// The intercom's STUN host: a STUN server node, a DNS record, or an IPv4 address.
fn stun_host(c: &mut Checker<'_>, topo: &Topo, path: &YamlPath, host: &str) {
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(_)) => {}
        Ok(IpAddr::V6(_)) => c.error(
            path,
            "the intercom's STUN address must be IPv4 or a DNS name",
        ),
        Err(_)
            if matches!(
                topo.names.lookup(c, host),
                names::Lookup::Found(_) | names::Lookup::Broken
            ) =>
        {
            names::node(c, &topo.names, path, host, &["stun"]);
        }
        Err(_) if dns_has(topo, host) => {}
        Err(_) => c.error_help(
            path,
            format!(
                "STUN host `{host}` is neither a STUN server node, a DNS record nor an IPv4 address"
            ),
            "name a `kind: stun` server, or add a record for it to a `kind: dns` server",
        ),
    }
}

/// Whether some DNS server has a record for `name`.
fn dns_has(topo: &Topo, name: &str) -> bool {
    let name = name.trim_end_matches('.');
    topo.names.roles.iter().any(|r| match r {
        Role::Server(ServerSpec::Dns(d)) => d
            .records
            .iter()
            .any(|rec| rec.name.trim_end_matches('.').eq_ignore_ascii_case(name)),
        _ => false,
    })
}

fn ice_agent(c: &mut Checker<'_>, topo: &Topo, id: NodeId, path: &YamlPath, a: &IceAgentSpec) {
    port(c, &path.key("port"), a.port);
    if let Some(peer) = names::node(c, &topo.names, &path.key("peer"), &a.peer, &["ice-agent"])
        && peer == id
    {
        c.error(&path.key("peer"), "an ICE agent cannot be its own peer");
    }
    for (k, s) in a.stun_servers.iter().enumerate() {
        names::node(
            c,
            &topo.names,
            &path.key("stun_servers").index(k),
            s,
            &["stun"],
        );
    }
    if let Some(t) = &a.turn {
        turn_credentials(c, topo, &path.key("turn"), t);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_of_strips_scheme_user_port_and_params() {
        assert_eq!(host_of("sip:sip.example.com"), "sip.example.com");
        assert_eq!(host_of("sips:100@pbx:5061;transport=tls"), "pbx");
        assert_eq!(host_of("pbx"), "pbx");
        assert_eq!(host_of("198.51.100.7:5060"), "198.51.100.7");
        assert_eq!(host_of("sip:[2001:db8::1]:5060"), "2001:db8::1");
        assert_eq!(host_of("2001:db8::1"), "2001:db8::1");
    }

    #[test]
    fn hostnames() {
        assert!(is_hostname("sip.example.com"));
        assert!(is_hostname("pbx."));
        assert!(!is_hostname("bad_name.com"));
        assert!(!is_hostname("-x.com"));
        assert!(!is_hostname(""));
    }
}

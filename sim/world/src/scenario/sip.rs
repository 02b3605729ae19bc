//! SIP servers and softphones of a scenario: their core configurations, the trunk policy, and
//! the timeline's SIP commands.

use super::plan::{Unsupported, unsupported};
use crate::world::SipAction;
use sim_core::Protocol;
use sim_scenario::model::{
    self, Encryption, PrackMode, ServerSpec, SoftphoneSpec, SrtpPolicy, Transport,
};
use sim_scenario::{Callee, Node, Role, Scenario};
use sim_sip::server::{DisabledRoute, NumberFormat, Outage, RouteFailure};
use sim_sip::ua::{self, SipTransport, UaFaults};
use sim_sip::{Policy, SipServerConfig, SoftphoneConfig};
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::Duration;

/// The registrar/proxy of a `sip` server node, and whether it starts muted (`drop`).
pub(super) fn server(
    n: &Node,
    s: &model::SipServerSpec,
) -> Result<(SipServerConfig, bool), Unsupported> {
    let domain = s.domain.clone().unwrap_or_else(|| n.name.clone());
    let accounts: Vec<(&str, &str)> = s
        .accounts
        .iter()
        .map(|a| (a.user.as_str(), a.password.as_str()))
        .collect();
    let mut config = SipServerConfig::new(&domain, &accounts);
    config.realm = s.realm.clone().unwrap_or(domain);
    config.port = n.port();
    config.transports = transports(&n.name, &s.transports)?;
    let users: Vec<String> = s.accounts.iter().map(|a| a.user.clone()).collect();
    let (policy, mute) = match &s.policy {
        Some(p) => policy(&n.name, p, &users)?,
        None => (config.policy.clone(), false),
    };
    config.policy = policy;
    Ok((config, mute))
}

fn transports(name: &str, list: &[Transport]) -> Result<Vec<Protocol>, Unsupported> {
    if list.is_empty() {
        return Ok(vec![Protocol::Udp]);
    }
    list.iter()
        .map(|t| match t {
            Transport::Udp => Ok(Protocol::Udp),
            Transport::Tcp => Ok(Protocol::Tcp),
            Transport::Tls => Err(unsupported(
                format!("SIP over TLS on {name}"),
                "SIP over TLS is not built yet",
            )),
        })
        .collect()
}

/// The trunk policy of a `server_policy` (or a server's static `policy`), and whether the
/// server ignores every request.
pub(super) fn policy(
    server: &str,
    p: &model::ServerPolicy,
    users: &[String],
) -> Result<(Policy, bool), Unsupported> {
    if p.respond.is_some() {
        return Err(unsupported(
            format!("`respond` on {server}"),
            "a SIP server answers for a reason, not a fixed code: use the trunk policy fields \
             (no_balance, max_calls, number_format, encryption, outage, ...)",
        ));
    }
    let policy = Policy {
        outage: p.outage.unwrap_or(false).then_some(Outage::Internal500),
        allowed_ips: if p.authorized_ips.is_empty() {
            BTreeMap::new()
        } else {
            users
                .iter()
                .map(|u| (u.clone(), p.authorized_ips.clone()))
                .collect()
        },
        balance_exhausted: p.no_balance.iter().cloned().collect(),
        number_format: p.number_format.as_deref().map(number_format),
        disabled_routes: p
            .disabled_routes
            .iter()
            .map(|prefix| (prefix, RouteFailure::NotImplemented501))
            .chain(
                p.failing_gateways
                    .iter()
                    .map(|prefix| (prefix, RouteFailure::BadGateway502)),
            )
            .map(|(prefix, failure)| DisabledRoute {
                prefix: prefix.clone(),
                failure,
            })
            .collect(),
        blocked: p.block.iter().fold(BTreeMap::new(), |mut m, b| {
            m.entry(b.callee.clone())
                .or_insert_with(BTreeSet::new)
                .insert(b.caller.clone());
            m
        }),
        decline: p.decline.iter().cloned().collect(),
        busy: p.bar_incoming.iter().cloned().collect(),
        encryption: p.encryption.map(|e| match e {
            Encryption::Rtp => sim_sip::server::Encryption::RtpOnly,
            Encryption::Srtp => sim_sip::server::Encryption::SrtpOnly,
        }),
        max_concurrent_calls: p.max_calls,
        check_rack: true,
        ..Policy::default()
    };
    Ok((policy, p.drop.unwrap_or(false)))
}

/// `380#########`: the digits before the first `#` are the prefix, the length is the pattern's.
fn number_format(pattern: &str) -> NumberFormat {
    let body = pattern.strip_prefix('+').unwrap_or(pattern);
    let prefix: String = body.chars().take_while(char::is_ascii_digit).collect();
    NumberFormat {
        digits_only: true,
        min_len: body.len(),
        max_len: body.len(),
        prefix: (!prefix.is_empty()).then_some(prefix),
    }
}

/// The softphone core's configuration: the SDK settings the scenario gives, the server's
/// address and domain.
pub(super) fn softphone(
    scenario: &Scenario,
    n: &Node,
    p: &SoftphoneSpec,
) -> Result<SoftphoneConfig, Unsupported> {
    let server = scenario.node_by_name(&p.server).ok_or_else(|| {
        unsupported(
            format!("softphone {}", n.name),
            "its server is not a node of the scenario",
        )
    })?;
    let server_domain = match &server.role {
        Role::Server(ServerSpec::Sip(s)) => s.domain.clone(),
        _ => None,
    }
    .unwrap_or_else(|| server.name.clone());
    let domain = p.domain.clone().unwrap_or(server_domain);
    let mut c = SoftphoneConfig::new(
        &p.user,
        &p.password,
        &domain,
        SocketAddr::new(server.address, server.port()),
    );
    c.local_port = n.port();
    c.transport = match p.transport.unwrap_or(Transport::Udp) {
        Transport::Udp => SipTransport::Udp,
        Transport::Tcp => SipTransport::Tcp,
        Transport::Tls => {
            return Err(unsupported(
                format!("softphone {} over TLS", n.name),
                "SIP over TLS is not built yet",
            ));
        }
    };
    // The SDK refuses an out-of-range expiry at the call (70004): keep it as written.
    c.register_expires = p
        .register_expires
        .map_or(3600, |e| u32::try_from(e).unwrap_or(u32::MAX));
    c.retry_times = p
        .retry_times
        .map_or(0, |r| i32::try_from(r).unwrap_or(i32::MAX));
    c.keep_alive = p.keep_alive.map_or(Duration::ZERO, |d| d.0);
    c.rport = p.rport.unwrap_or(true);
    c.prack = match p.prack.unwrap_or(PrackMode::Never) {
        PrackMode::Never => ua::PrackMode::Never,
        PrackMode::SupportedEssential => ua::PrackMode::SupportedEssential,
        PrackMode::Supported => ua::PrackMode::Supported,
        PrackMode::Required => ua::PrackMode::Required,
    };
    c.srtp = match p.srtp.unwrap_or(SrtpPolicy::None) {
        SrtpPolicy::None => ua::SrtpPolicy::None,
        SrtpPolicy::Prefer => ua::SrtpPolicy::Prefer,
        SrtpPolicy::Force => ua::SrtpPolicy::Force,
    };
    c.session_timer = p
        .session_timer
        .map(|d| u32::try_from(d.0.as_secs()).unwrap_or(u32::MAX));
    c.extra_headers = p
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    c.dnd = p.dnd.unwrap_or(false);
    c.faults = UaFaults {
        wrong_rack: p.wrong_rack.unwrap_or(false),
        ..UaFaults::default()
    };
    Ok(c)
}

/// The user a callee names: a node's SIP user, or the user part of a URI as written.
pub(super) fn user(scenario: &Scenario, callee: &Callee) -> String {
    match callee {
        Callee::Node(id) => match scenario.node(*id).map(|n| &n.role) {
            Some(Role::Endpoint(model::EndpointSpec::Softphone(p))) => p.user.clone(),
            Some(Role::Endpoint(model::EndpointSpec::Intercom(i))) => i.user.clone(),
            Some(Role::Endpoint(model::EndpointSpec::Aae(a))) => a.device_id.clone(),
            _ => String::new(),
        },
        Callee::Uri(uri) => {
            let rest = uri
                .strip_prefix("sips:")
                .or_else(|| uri.strip_prefix("sip:"))
                .unwrap_or(uri);
            rest.split('@').next().unwrap_or(rest).to_owned()
        }
    }
}

/// DTMF digits as the SDK's tone numbers (0-9, `*` 10, `#` 11, `A`-`D` 12-15).
pub(super) fn tones(digits: &str) -> Vec<u8> {
    digits
        .chars()
        .filter_map(|c| match c {
            '0'..='9' => Some(c as u8 - b'0'),
            '*' => Some(10),
            '#' => Some(11),
            'A'..='D' => Some(c as u8 - b'A' + 12),
            _ => None,
        })
        .collect()
}

/// A `server_policy` for a `sip` server.
pub(super) fn policy_action(
    scenario: &Scenario,
    server: sim_scenario::NodeId,
    set: &model::ServerPolicy,
) -> Result<SipAction, Unsupported> {
    let n = scenario.node(server);
    let (name, users) = match n.map(|n| (&n.name, &n.role)) {
        Some((name, Role::Server(ServerSpec::Sip(s)))) => (
            name.as_str(),
            s.accounts
                .iter()
                .map(|a| a.user.clone())
                .collect::<Vec<_>>(),
        ),
        _ => {
            return Err(unsupported(
                "server_policy on a non-SIP server".into(),
                "only SIP servers have policies yet",
            ));
        }
    };
    let (policy, mute) = policy(name, set, &users)?;
    Ok(SipAction::Policy(Box::new(policy), mute))
}

/// An intercom configured by its documented settings, as the softphone core runs it: it
/// registers for `registration_interval` seconds and refreshes 6 s before expiry; its
/// credentials are for `realm` only (a server with another realm gets one REGISTER, its 401,
/// and nothing more).
pub(super) fn intercom(
    scenario: &Scenario,
    n: &Node,
    i: &model::IntercomSpec,
) -> Result<SoftphoneConfig, Unsupported> {
    let host = sim_scenario::proxy_host(&i.proxy);
    let port = i
        .proxy
        .rsplit_once(':')
        .and_then(|(_, p)| p.split(';').next())
        .and_then(|p| p.parse::<u16>().ok());
    let by_dns = scenario.nodes.iter().find_map(|d| match &d.role {
        Role::Server(ServerSpec::Dns(dns)) => dns
            .records
            .iter()
            .find(|r| r.name.trim_end_matches('.').eq_ignore_ascii_case(host))
            .map(|r| r.address),
        _ => None,
    });
    let server = scenario
        .nodes
        .iter()
        .filter(|s| matches!(s.role, Role::Server(ServerSpec::Sip(_))))
        .find(|s| {
            s.name == host || host.parse().ok() == Some(s.address) || by_dns == Some(s.address)
        })
        .ok_or_else(|| {
            unsupported(
                format!("intercom {}", n.name),
                "its proxy is not a SIP server of the scenario",
            )
        })?;
    let domain = match &server.role {
        Role::Server(ServerSpec::Sip(s)) => s.domain.clone(),
        _ => None,
    }
    .unwrap_or_else(|| server.name.clone());
    let mut c = SoftphoneConfig::new(
        &i.user,
        &i.password,
        &domain,
        SocketAddr::new(server.address, port.unwrap_or_else(|| server.port())),
    );
    c.realm = Some(i.realm.clone());
    c.local_port = n.port();
    c.transport = match i.transport {
        Transport::Udp => SipTransport::Udp,
        Transport::Tcp => SipTransport::Tcp,
        Transport::Tls => {
            return Err(unsupported(
                format!("intercom {} over TLS", n.name),
                "SIP over TLS is not built yet",
            ));
        }
    };
    c.register_expires = u32::try_from(i.registration_interval).unwrap_or(u32::MAX);
    c.refresh_margin = Duration::from_secs(6);
    c.user_agent = "natlab-intercom".into();
    Ok(c)
}

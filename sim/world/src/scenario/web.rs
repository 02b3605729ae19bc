//! `aae-web` servers and `aae-app` endpoints of a scenario, their `bind` actions and policies.

use super::plan::{Unsupported, unsupported};
use crate::nodes::web::{BindSide, WebAction, answer_of};
use sim_aae_web::{
    AaeAppConfig, BindOptions, BindingFlow, Firmware, Lifetimes, Roles, WebAccount, WebPolicy,
    WebServerConfig,
};
use sim_scenario::model::{self, AaeAppSpec, WebFault, WebRole, WebServiceSpec};
use sim_scenario::{Node, Role, Scenario};
use std::net::SocketAddr;
use std::time::Duration;

/// An `aae-web` server's configuration.
pub(super) fn server(
    scenario: &Scenario,
    n: &Node,
    s: &WebServiceSpec,
) -> Result<WebServerConfig, Unsupported> {
    let defaults = Lifetimes::default();
    let roles = if s.roles.is_empty() {
        Roles::ALL
    } else {
        Roles {
            portal: s.roles.contains(&WebRole::Portal),
            area: s.roles.contains(&WebRole::Area),
            unit: s.roles.contains(&WebRole::Unit),
        }
    };
    let service_area = s
        .service_area
        .as_deref()
        .map(|name| address(scenario, &n.name, name))
        .transpose()?;
    Ok(WebServerConfig {
        port: n.port(),
        roles,
        accounts: s
            .accounts
            .iter()
            .map(|a| (a.user.clone(), a.password.clone()))
            .collect(),
        lifetimes: Lifetimes {
            userticket: s.userticket_lifetime.map_or(defaults.userticket, |d| d.0),
            refreshticket: s
                .refreshticket_lifetime
                .map_or(defaults.refreshticket, |d| d.0),
            deviceticket: s
                .deviceticket_lifetime
                .map_or(defaults.deviceticket, |d| d.0),
        },
        service_area,
        area_name: n.name.clone(),
        devices: Vec::new(),
        policy: WebPolicy::default(),
    })
}

fn address(scenario: &Scenario, who: &str, name: &str) -> Result<SocketAddr, Unsupported> {
    scenario
        .node_by_name(name)
        .map(|s| SocketAddr::new(s.address, s.port()))
        .ok_or_else(|| {
            unsupported(
                format!("node {who}"),
                "its aae-web server is not a node of the scenario",
            )
        })
}

/// An `aae-app` endpoint's configuration.
pub(super) fn app(
    scenario: &Scenario,
    n: &Node,
    a: &AaeAppSpec,
) -> Result<AaeAppConfig, Unsupported> {
    Ok(AaeAppConfig {
        portal: address(scenario, &n.name, &a.web_service)?,
        account: WebAccount {
            userid: a.user.clone(),
            passwd: a.password.clone(),
        },
        phone_md5mac: a
            .phone_md5mac
            .clone()
            .unwrap_or_else(|| format!("{}-phone", n.name)),
        router_md5mac: a
            .router_md5mac
            .clone()
            .unwrap_or_else(|| format!("{}-router", n.name)),
        timeout: a.timeout.map_or(Duration::from_secs(10), |d| d.0),
    })
}

/// A `bind` action.
pub(super) fn bind(
    flow: model::Firmware,
    firmware: model::Firmware,
    router: Option<&str>,
    side: model::BindSide,
) -> WebAction {
    let options = BindOptions {
        flow: match flow {
            model::Firmware::New => BindingFlow::New,
            model::Firmware::Old => BindingFlow::Old,
        },
        firmware: match firmware {
            model::Firmware::New => Firmware::New,
            model::Firmware::Old => Firmware::Old,
        },
        router_md5mac: router.map(str::to_owned),
        account: None,
    };
    let side = match side {
        model::BindSide::Both => BindSide::Both,
        model::BindSide::App => BindSide::App,
        model::BindSide::Firmware => BindSide::Firmware,
    };
    WebAction::Bind { options, side }
}

/// Whether `server` is an `aae-web` server.
pub(super) fn is_web(scenario: &Scenario, server: sim_scenario::NodeId) -> bool {
    scenario
        .node(server)
        .is_some_and(|n| matches!(n.role, Role::Server(model::ServerSpec::AaeWeb(_))))
}

/// A `server_policy` for an `aae-web` server.
pub(super) fn policy_action(set: &model::ServerPolicy) -> WebAction {
    let answer = answer_of(
        set.drop == Some(true),
        set.respond,
        set.web_fault == Some(WebFault::Reset),
        set.web_fault == Some(WebFault::TruncateHead),
    );
    let switches = set.drop.is_some()
        || set.respond.is_some()
        || set.web_fault.is_some()
        || set.refuse_logins.is_some();
    WebAction::Policy {
        policy: switches.then_some(WebPolicy {
            answer,
            refuse_logins: set.refuse_logins == Some(true),
        }),
        expire_tickets: set.expire_tickets == Some(true),
    }
}

//! The AAE web service (`aae-web` servers), the `aae-app` endpoints that bind routers through it,
//! and their `bind` actions.

use super::names;
use super::{Checker, Topo, in_range, port};
use crate::model::{AaeAppSpec, Bind, Firmware, PolicySwitch, WebServiceSpec};
use crate::path::YamlPath;
use crate::scenario::{NodeId, ResolvedAction};
use std::collections::BTreeSet;

/// An `aae-web` server's settings.
pub(crate) fn server(c: &mut Checker<'_>, topo: &Topo, path: &YamlPath, s: &WebServiceSpec) {
    port(c, &path.key("port"), s.port);
    super::endpoints::accounts(c, &path.key("accounts"), &s.accounts);
    let mut seen = BTreeSet::new();
    for (i, r) in s.roles.iter().enumerate() {
        if !seen.insert(*r) {
            c.error(&path.key("roles").index(i), "this role is listed twice");
        }
    }
    for (key, d) in [
        ("userticket_lifetime", s.userticket_lifetime),
        ("refreshticket_lifetime", s.refreshticket_lifetime),
        ("deviceticket_lifetime", s.deviceticket_lifetime),
    ] {
        if d.is_some_and(|d| d.get().is_zero()) {
            c.error(&path.key(key), format!("`{key}` must be more than 0s"));
        }
    }
    if let Some(area) = &s.service_area {
        names::node(
            c,
            &topo.names,
            &path.key("service_area"),
            area,
            &["aae-web"],
        );
    }
}

/// An `aae-app` endpoint's settings.
pub(crate) fn app(c: &mut Checker<'_>, topo: &Topo, path: &YamlPath, a: &AaeAppSpec) {
    names::node(
        c,
        &topo.names,
        &path.key("web_service"),
        &a.web_service,
        &["aae-web"],
    );
    if a.user.is_empty() {
        c.error(&path.key("user"), "`user` is empty");
    }
    for (key, v) in [
        ("phone_md5mac", &a.phone_md5mac),
        ("router_md5mac", &a.router_md5mac),
    ] {
        if v.as_deref().is_some_and(str::is_empty) {
            c.error(&path.key(key), format!("`{key}` is empty"));
        }
    }
    if a.timeout.is_some_and(|d| d.get().is_zero()) {
        c.error(&path.key("timeout"), "`timeout` must be more than 0s");
    }
}

/// A `bind` action.
pub(crate) fn bind(
    c: &mut Checker<'_>,
    topo: &Topo,
    path: &YamlPath,
    b: &Bind,
) -> Option<ResolvedAction> {
    if b.router.as_deref().is_some_and(str::is_empty) {
        c.error(&path.key("router"), "`router` is empty");
    }
    let endpoint: NodeId = names::node(
        c,
        &topo.names,
        &path.key("endpoint"),
        &b.endpoint,
        &["aae-app"],
    )?;
    Some(ResolvedAction::Bind {
        endpoint,
        flow: b.flow.unwrap_or(Firmware::New),
        firmware: b.firmware.unwrap_or(Firmware::New),
        router: b.router.clone(),
        side: b.side.unwrap_or_default(),
    })
}

/// A `server_policy` on an `aae-web` server: `respond` is an HTTP status.
pub(crate) fn policy(c: &mut Checker<'_>, path: &YamlPath, p: &PolicySwitch) {
    if let Some(code) = p.set.respond {
        in_range(
            c,
            &path.key("set").key("respond"),
            "HTTP status",
            i64::from(code),
            100,
            599,
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{BindSide, Firmware};
    use crate::scenario::{EventCode, ResolvedAction, ResolvedExpectation, StatusCode};
    use crate::{Severity, check_str};

    const WEB: &str = r#"name: web
seed: 1
duration: 100s
topology:
  servers:
    - {kind: aae-web, name: aaeweb, userticket_lifetime: 60s, accounts: [{user: alice, password: pw}]}
    - {kind: sip, name: pbx}
  endpoints:
    - {kind: aae-app, name: phone, web_service: aaeweb, user: alice, password: pw}
    - {kind: softphone, name: bob, user: bob, password: x, server: pbx}
timeline:
  - {at: 1s, bind: {endpoint: phone, flow: old, side: app}}
  - {at: 2s, server_policy: {server: aaeweb, set: {expire_tickets: true}}}
expect:
  - event: {endpoint: phone, code: web-fw-login-failed, status: 401, detail: ticket-expired}
  - event: {endpoint: aaeweb, code: web-device-rebound}
"#;

    fn errors(text: &str) -> Vec<String> {
        check_str("t.yaml", text)
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| format!("{}: {}", d.path.as_str(), d.message))
            .collect()
    }

    #[test]
    fn validate_web_bind_and_web_events_resolve() {
        let checked = check_str("t.yaml", WEB);
        let s = checked.scenario.expect("valid");
        assert!(matches!(
            s.timeline[0].action,
            ResolvedAction::Bind {
                flow: Firmware::Old,
                firmware: Firmware::New,
                side: BindSide::App,
                router: None,
                ..
            }
        ));
        let ResolvedExpectation::Event { code, status, .. } = &s.expectations[0] else {
            panic!("an event");
        };
        assert_eq!(*code, EventCode::Probe("web-fw-login-failed"));
        assert_eq!(*status, Some(StatusCode::Http(401)));
        assert_eq!(s.nodes[0].port(), 80);
    }

    #[test]
    fn validate_web_wrong_kinds_names_and_statuses() {
        let cases = [
            (
                "bind: {endpoint: phone,",
                "bind: {endpoint: bob,",
                "is a softphone endpoint, expected an aae-app endpoint",
            ),
            (
                "code: web-fw-login-failed",
                "code: web-fw-login-faild",
                "unknown AAE web event",
            ),
            ("status: 401", "status: 700", "not an HTTP status"),
            (
                "userticket_lifetime: 60s",
                "userticket_lifetime: 0s",
                "must be more than 0s",
            ),
            (
                "web_service: aaeweb",
                "web_service: pbx",
                "expected an aae-web server",
            ),
            ("{expire_tickets: true}", "{respond: 650}", "HTTP status"),
            (
                "server: aaeweb, set: {expire_tickets: true}",
                "server: pbx, set: {expire_tickets: true}",
                "needs a aae-web server",
            ),
        ];
        for (from, to, want) in cases {
            assert!(WEB.contains(from), "{from}");
            let errs = errors(&WEB.replacen(from, to, 1));
            assert!(errs.iter().any(|e| e.contains(want)), "{to}: {errs:?}");
        }
    }
}

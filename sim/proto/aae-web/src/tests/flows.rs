use super::harness::{Net, drain, names, server_addr};
use crate::http::HttpRequest;
use crate::{
    AaeApp, AaeAppConfig, Answer, BindOptions, BindingFlow, DeviceLogin, DeviceLoginConfig,
    Firmware, Lifetimes, ServerEvent, StreamIds, WebAccount, WebClient, WebEvent, WebFailure,
    WebPolicy, WebStatus,
};
use sim_core::{LogEvent, SimInstant, StreamCommand, Transmit};
use std::time::Duration;

const MIN: Duration = Duration::from_secs(60);

fn account(user: &str) -> WebAccount {
    WebAccount {
        userid: user.into(),
        passwd: format!("{user}-pw"),
    }
}

fn app(user: &str) -> AaeApp {
    AaeApp::new(AaeAppConfig {
        portal: server_addr(),
        account: account(user),
        phone_md5mac: format!("{user}-phone"),
        router_md5mac: "router-1".into(),
        timeout: Duration::from_secs(10),
    })
}

fn opts(flow: BindingFlow, firmware: Firmware) -> BindOptions {
    BindOptions {
        flow,
        firmware,
        router_md5mac: None,
        account: None,
    }
}

const NEW_OK: &[&str] = &[
    "web-servicearea-ok",
    "web-login-ok",
    "web-userticket-ok",
    "web-refreshticket-ok",
    "web-router-userticket-ok",
    "web-handover",
    "web-fw-login-ok",
    "web-bind-ok",
];

fn failed(events: &[WebEvent], name: &str) -> WebFailure {
    events
        .iter()
        .find_map(|e| match e {
            WebEvent::StepFailed { failure, .. } if e.name() == name => Some(failure.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no {name} in {:?}", names(events)))
}

fn status_of(f: &WebFailure) -> (Option<u16>, Option<WebStatus>) {
    (f.http_status(), crate::flow::json_status(f))
}

#[test]
fn flow_new_binding_new_firmware_binds_the_router() {
    let mut net = Net::new(Lifetimes::default());
    let mut alice = app("alice");
    alice.bind(net.now, opts(BindingFlow::New, Firmware::New));
    net.run(&mut alice, MIN);
    let events = drain(&mut alice);
    assert_eq!(names(&events), NEW_OK);
    let h = alice.handover().unwrap();
    assert!(
        h.refreshticket
            .as_deref()
            .is_some_and(|r| !r.starts_with("old_"))
    );
    assert_eq!(net.server.owner("router-1"), net.server.cusid("alice"));
    // The routeruserticket is bound to the router: it does not serve another device.
    let log: LogEvent = (&events[7]).into();
    assert_eq!((log.name.as_ref(), log.status), ("web-bind-ok", Some(200)));
}

#[test]
fn flow_new_binding_old_firmware_sends_empty_mac_and_old_prefix() {
    let mut net = Net::new(Lifetimes::default());
    let mut alice = app("alice");
    alice.bind(net.now, opts(BindingFlow::New, Firmware::Old));
    net.run(&mut alice, MIN);
    let events = drain(&mut alice);
    assert_eq!(names(&events), NEW_OK);
    let h = alice.handover().unwrap().clone();
    let refresh = h.refreshticket.clone().unwrap();
    assert!(refresh.starts_with("old_"), "{refresh}");
    // Step 6 went with an empty routerMd5Mac: the routeruserticket is not bound to the router,
    // so new firmware refuses it (device-mismatch), while old firmware was accepted above.
    let mut as_new = h;
    as_new.refreshticket = Some(refresh.trim_start_matches("old_").to_owned());
    let mut fw = crate::WebFlow::firmware_login(
        StreamIds::new(1..100),
        Duration::from_secs(10),
        as_new,
        "router-1",
    );
    fw.start(net.now);
    net.run(&mut fw, MIN);
    let f = fw.poll_result().unwrap().unwrap_err();
    assert_eq!(
        status_of(&f.failure),
        (Some(403), Some(WebStatus::DeviceMismatch))
    );
    assert!(events.iter().any(
        |e| matches!(e, WebEvent::StepOk { detail, .. } if detail.contains("routerMd5Mac empty"))
    ));
}

#[test]
fn flow_old_binding_hands_the_userticket_to_the_firmware() {
    let mut net = Net::new(Lifetimes::default());
    let mut alice = app("alice");
    alice.bind(net.now, opts(BindingFlow::Old, Firmware::Old));
    net.run(&mut alice, MIN);
    let events = drain(&mut alice);
    assert_eq!(
        names(&events),
        [
            "web-servicearea-ok",
            "web-login-ok",
            "web-handover",
            "web-fw-login-ok",
            "web-bind-ok"
        ]
    );
    assert_eq!(alice.handover().unwrap().refreshticket, None);
    assert_eq!(net.server.owner("router-1"), net.server.cusid("alice"));
}

#[test]
fn flow_wrong_password_fails_login_with_401() {
    let mut net = Net::new(Lifetimes::default());
    let mut app = AaeApp::new(AaeAppConfig {
        account: WebAccount {
            userid: "alice".into(),
            passwd: "wrong".into(),
        },
        ..AaeAppConfig {
            portal: server_addr(),
            account: account("alice"),
            phone_md5mac: "p".into(),
            router_md5mac: "r".into(),
            timeout: Duration::from_secs(10),
        }
    });
    app.bind(net.now, opts(BindingFlow::New, Firmware::New));
    net.run(&mut app, MIN);
    let events = drain(&mut app);
    assert_eq!(
        names(&events),
        ["web-servicearea-ok", "web-login-failed", "web-bind-failed"]
    );
    let f = failed(&events, "web-login-failed");
    assert_eq!(status_of(&f), (Some(401), Some(WebStatus::AuthFailed)));
    let log: LogEvent = (&events[1]).into();
    assert_eq!(log.status, Some(401));
    assert_eq!(
        log.detail.as_deref(),
        Some("login: http 401 Unauthorized, auth-failed (status 2)")
    );
}

#[test]
fn flow_firmware_login_after_the_userticket_expired_is_rejected() {
    let life = Lifetimes {
        userticket: MIN,
        ..Lifetimes::default()
    };
    for flow in [BindingFlow::New, BindingFlow::Old] {
        let mut net = Net::new(life);
        let mut alice = app("alice");
        alice.app_bind(net.now, opts(flow, Firmware::New));
        net.run(&mut alice, MIN / 2);
        assert_eq!(names(&drain(&mut alice)).last(), Some(&"web-handover"));
        net.sleep(2 * MIN);
        alice.firmware_login(net.now, None);
        net.run(&mut alice, MIN);
        let events = drain(&mut alice);
        assert_eq!(
            names(&events),
            ["web-fw-login-failed", "web-bind-failed"],
            "{flow:?}"
        );
        let f = failed(&events, "web-fw-login-failed");
        assert_eq!(status_of(&f), (Some(401), Some(WebStatus::TicketExpired)));
    }
}

#[test]
fn flow_firmware_login_within_the_lifetime_succeeds() {
    let life = Lifetimes {
        userticket: MIN,
        ..Lifetimes::default()
    };
    let mut net = Net::new(life);
    let mut alice = app("alice");
    alice.app_bind(net.now, opts(BindingFlow::New, Firmware::New));
    net.run(&mut alice, MIN / 2);
    drain(&mut alice);
    net.sleep(Duration::from_secs(20));
    alice.firmware_login(net.now, None);
    net.run(&mut alice, MIN);
    assert_eq!(
        names(&drain(&mut alice)),
        ["web-fw-login-ok", "web-bind-ok"]
    );
}

#[test]
fn flow_resold_router_loses_access_under_the_new_flow() {
    let mut net = Net::new(Lifetimes::default());
    let (mut alice, mut bob) = (app("alice"), app("bob"));
    alice.bind(net.now, opts(BindingFlow::New, Firmware::New));
    net.run(&mut alice, MIN);
    assert_eq!(names(&drain(&mut alice)), NEW_OK);
    bob.bind(net.now, opts(BindingFlow::New, Firmware::New));
    net.run(&mut bob, MIN);
    assert_eq!(names(&drain(&mut bob)), NEW_OK);
    assert_eq!(net.server.owner("router-1"), net.server.cusid("bob"));
    assert!(
        net.server_events
            .iter()
            .any(|e| matches!(e, ServerEvent::DeviceRebound { revoked, .. } if *revoked >= 2))
    );
    // Alice's router tickets were revoked: her firmware login is refused.
    alice.firmware_login(net.now, None);
    net.run(&mut alice, MIN);
    let events = drain(&mut alice);
    assert_eq!(names(&events), ["web-fw-login-failed", "web-bind-failed"]);
    let f = failed(&events, "web-fw-login-failed");
    assert_eq!(status_of(&f), (Some(403), Some(WebStatus::DeviceRevoked)));
    assert_eq!(net.server.owner("router-1"), net.server.cusid("bob"));
}

#[test]
fn flow_resold_router_keeps_access_under_the_old_flow() {
    let mut net = Net::new(Lifetimes::default());
    let (mut alice, mut bob) = (app("alice"), app("bob"));
    alice.bind(net.now, opts(BindingFlow::Old, Firmware::Old));
    net.run(&mut alice, MIN);
    drain(&mut alice);
    bob.bind(net.now, opts(BindingFlow::Old, Firmware::Old));
    net.run(&mut bob, MIN);
    drain(&mut bob);
    assert_eq!(net.server.owner("router-1"), net.server.cusid("bob"));
    alice.firmware_login(net.now, None);
    net.run(&mut alice, MIN);
    assert_eq!(
        names(&drain(&mut alice)),
        ["web-fw-login-ok", "web-bind-ok"]
    );
    assert_eq!(
        net.server.owner("router-1"),
        net.server.cusid("alice"),
        "the server cannot tell"
    );
}

#[test]
fn flow_every_request_split_byte_by_byte_still_binds() {
    let mut net = Net::new(Lifetimes::default());
    net.chunk = Some(1);
    let mut alice = app("alice");
    alice.bind(net.now, opts(BindingFlow::New, Firmware::Old));
    net.run(&mut alice, 10 * MIN);
    assert_eq!(names(&drain(&mut alice)), NEW_OK);
}

fn device_login() -> DeviceLogin {
    DeviceLogin::new(
        StreamIds::new(500..510),
        Duration::from_secs(10),
        DeviceLoginConfig {
            portal: server_addr(),
            account: account("alice"),
            md5mac: "dev-1".into(),
            devicetype: Some("05".into()),
        },
    )
}

#[test]
fn device_login_returns_deviceid_and_deviceticket() {
    let mut net = Net::new(Lifetimes::default());
    let mut login = device_login();
    login.start(net.now);
    net.run(&mut login, MIN);
    let events: Vec<_> = std::iter::from_fn(|| login.poll_event()).collect();
    assert_eq!(names(&events), ["web-servicearea-ok", "web-login-ok"]);
    let creds = login.poll_result().unwrap().unwrap();
    assert_eq!(creds.service_area, server_addr());
    assert_eq!(Some(creds.cusid.as_str()), net.server.cusid("alice"));
    assert_eq!(creds.deviceid.len(), 16);
    assert_eq!(creds.deviceticket.len(), 32);
    assert!(login.poll_result().is_none(), "once");
    // The result closes the connection.
    assert!(
        matches!(login.poll_transmit(), Some(Transmit::Stream(StreamCommand::Close { id })) if (500..510).contains(&id.0))
    );
}

#[test]
fn device_login_failures_refused_timeout_reset_truncated_refused_logins() {
    type Setup = Box<dyn Fn(&mut Net)>;
    type Check = fn(&WebFailure) -> bool;
    let cases: [(&str, Setup, Check); 5] = [
        (
            "web-servicearea-failed",
            Box::new(|n: &mut Net| n.down = true),
            |f| *f == WebFailure::Refused,
        ),
        (
            "web-servicearea-failed",
            Box::new(|n: &mut Net| {
                n.server.set_policy(
                    SimInstant::ZERO,
                    WebPolicy {
                        answer: Answer::Silent,
                        refuse_logins: false,
                    },
                )
            }),
            |f| *f == WebFailure::TimedOut,
        ),
        (
            "web-servicearea-failed",
            Box::new(|n: &mut Net| {
                n.server.set_policy(
                    SimInstant::ZERO,
                    WebPolicy {
                        answer: Answer::Reset,
                        refuse_logins: false,
                    },
                )
            }),
            |f| *f == WebFailure::Reset,
        ),
        (
            "web-servicearea-failed",
            Box::new(|n: &mut Net| {
                n.server.set_policy(
                    SimInstant::ZERO,
                    WebPolicy {
                        answer: Answer::TruncateHead,
                        refuse_logins: false,
                    },
                )
            }),
            |f| *f == WebFailure::Closed { in_head: true },
        ),
        (
            "web-login-failed",
            Box::new(|n: &mut Net| {
                n.server.set_policy(
                    SimInstant::ZERO,
                    WebPolicy {
                        answer: Answer::Normal,
                        refuse_logins: true,
                    },
                )
            }),
            |f| f.http_status() == Some(503),
        ),
    ];
    for (name, setup, check) in cases {
        let mut net = Net::new(Lifetimes::default());
        setup(&mut net);
        let mut login = device_login();
        login.start(net.now);
        net.run(&mut login, MIN);
        let events: Vec<_> = std::iter::from_fn(|| login.poll_event()).collect();
        let f = failed(&events, name);
        assert!(check(&f), "{name}: {f:?}");
        assert!(login.poll_result().unwrap().is_err());
    }
}

#[test]
fn device_login_timeout_fires_at_the_deadline() {
    let mut net = Net::new(Lifetimes::default());
    net.server.set_policy(
        SimInstant::ZERO,
        WebPolicy {
            answer: Answer::Silent,
            refuse_logins: false,
        },
    );
    let mut login = device_login();
    login.start(net.now);
    net.run(&mut login, Duration::from_millis(9_999));
    assert!(
        login.poll_result().is_none(),
        "still waiting just before the deadline"
    );
    net.run(&mut login, Duration::from_millis(1));
    let e = login.poll_result().unwrap().unwrap_err();
    assert_eq!(
        (e.step, e.failure),
        (crate::Step::ServiceArea, WebFailure::TimedOut)
    );
}

#[test]
fn client_reuses_its_connection_and_stays_in_its_id_range() {
    let mut net = Net::new(Lifetimes::default());
    let mut client = WebClient::new(StreamIds::new(42..44), Duration::from_secs(5));
    let req = HttpRequest::post_json("/aae/getservicearea", "h", &serde_json::json!({}));
    let a = client.request(net.now, server_addr(), &req);
    net.run(&mut client, MIN);
    let b = client.request(net.now, server_addr(), &req);
    net.run(&mut client, MIN);
    let results: Vec<_> = std::iter::from_fn(|| client.poll_result()).collect();
    assert_eq!(results.len(), 2);
    assert_eq!((results[0].0, results[1].0), (a, b));
    assert!(
        results
            .iter()
            .all(|(_, r)| r.as_ref().is_ok_and(|r| r.status == 200))
    );
    assert!(client.owns(sim_core::StreamId(42)) && !client.owns(sim_core::StreamId(43)));
    // Two more connections to other places use up the range.
    let other = "192.0.2.1:80".parse().unwrap();
    client.request(net.now, other, &req);
    let c = client.request(net.now, other, &req);
    net.run(&mut client, MIN);
    let results: Vec<_> = std::iter::from_fn(|| client.poll_result()).collect();
    assert!(
        results
            .iter()
            .any(|(id, r)| *id == c && *r == Err(WebFailure::NoStreamIds))
    );
    assert!(results.iter().any(|(_, r)| *r == Err(WebFailure::Refused)));
}

#[test]
fn flow_expire_all_tickets_policy_rejects_the_next_step() {
    let mut net = Net::new(Lifetimes::default());
    let mut alice = app("alice");
    alice.app_bind(net.now, opts(BindingFlow::New, Firmware::New));
    net.run(&mut alice, MIN);
    drain(&mut alice);
    net.server.expire_tickets(net.now);
    alice.firmware_login(net.now, None);
    net.run(&mut alice, MIN);
    let events = drain(&mut alice);
    let f = failed(&events, "web-fw-login-failed");
    assert_eq!(status_of(&f), (Some(401), Some(WebStatus::TicketExpired)));
}

#[test]
fn flow_firmware_login_without_handover_fails_at_once() {
    let mut alice = app("alice");
    alice.firmware_login(SimInstant::ZERO, None);
    assert_eq!(
        names(&drain(&mut alice)),
        ["web-fw-login-failed", "web-bind-failed"]
    );
}

#[test]
fn event_names_are_listed() {
    use crate::{EVENT_NAMES, SERVER_EVENT_NAMES};
    let mut net = Net::new(Lifetimes::default());
    let mut alice = app("alice");
    alice.bind(net.now, opts(BindingFlow::New, Firmware::New));
    alice.firmware_login(net.now, Some("other-router".into()));
    net.run(&mut alice, MIN);
    for e in drain(&mut alice) {
        assert!(EVENT_NAMES.contains(&e.name()), "{}", e.name());
    }
    for e in &net.server_events {
        assert!(SERVER_EVENT_NAMES.contains(&e.name()), "{}", e.name());
        let _: LogEvent = e.into();
    }
}

#[test]
fn device_login_of_a_known_device_gets_its_given_identifiers() {
    let mut net = Net::new(Lifetimes::default());
    let config = crate::WebServerConfig {
        accounts: super::harness::accounts(),
        devices: vec![crate::KnownDevice {
            md5mac: "dev-1".into(),
            deviceid: "CAM-0001".into(),
            deviceticket: Some("cam-ticket".into()),
        }],
        ..crate::WebServerConfig::default()
    };
    net.server = crate::AaeWebServer::new(config, sim_core::Seed::new(3).rng());
    sim_core::Node::handle_start(
        &mut net.server,
        SimInstant::ZERO,
        sim_core::Addresses::single(server_addr().ip()),
    );
    let mut login = device_login();
    login.start(net.now);
    net.run(&mut login, MIN);
    let creds = login.poll_result().unwrap().unwrap();
    assert_eq!(
        (creds.deviceid.as_str(), creds.deviceticket.as_str()),
        ("CAM-0001", "cam-ticket")
    );
}

//! Flow drivers: the app side and the firmware side of both account-binding flows, and the
//! device login, each a sequence of [`Step`]s over one [`WebClient`].
//!
//! ```text
//! new flow, app:  ServiceArea → Login → AppUserTicket → RouterRefreshTicket → RouterUserTicket → Handover
//! old flow, app:  ServiceArea → Login → Handover
//! firmware:       FirmwareLogin            (new flow: with the refresh ticket; old: without)
//! device login:   ServiceArea → Login      (what the AAE SDK does at init)
//! ```
//!
//! Each step's outcome is a [`WebEvent`]; a step that fails ends the flow
//! ([`FlowError`]). Steps 4–6 of the new flow are the catalog's `new.4`–`new.6`; the handover is
//! `new.7` / `old.4`; the firmware login `new.8` / `old.5`.
//!
//! # Drive contract
//! As [`WebClient`]'s: after `start`, `handle_stream` or `handle_timeout` drain `poll_transmit`,
//! `poll_event`, then `poll_result`; call `handle_timeout` at `poll_timeout`.

use crate::api::{self, OLD_PREFIX, WebStatus, field};
use crate::client::{RequestId, StreamIds, WebClient, WebFailure};
use crate::event::WebEvent;
use crate::http::{HttpRequest, HttpResponse};
use serde_json::{Map, Value, json};
use sim_core::{SimInstant, StreamEvent, Transmit};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

/// Which account-binding flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BindingFlow {
    /// The new flow (新版): the router gets its own tickets.
    New,
    /// The old flow (舊版): the router logs in with the app's userticket.
    Old,
}

/// Router firmware generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Firmware {
    /// New firmware.
    New,
    /// Old firmware: empty `routerMd5Mac` at step 6, `old_` prefix at step 7.
    Old,
}

impl BindingFlow {
    /// `new` or `old`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Old => "old",
        }
    }
}

impl Firmware {
    /// `new` or `old`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Old => "old",
        }
    }
}

/// One step of a flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Step {
    /// `/aae/getservicearea` (new.2, old.2).
    ServiceArea,
    /// `/aae/login` with `userid`/`passwd` (new.3, old.3; the device login).
    Login,
    /// `/aae/getuserticketbyrefresh` for the app userticket (new.4).
    AppUserTicket,
    /// `/aae/getuserrefreshticket` for the routerrefreshticket (new.5).
    RouterRefreshTicket,
    /// `/aae/getuserticketbyrefresh` for the routeruserticket (new.6).
    RouterUserTicket,
    /// The app hands the tickets to the firmware (new.7, old.4).
    Handover,
    /// The firmware's `/aae/login` (new.8, old.5).
    FirmwareLogin,
}

impl Step {
    /// natlab's short name, used in event names (`web-<name>-ok`).
    pub const fn name(self) -> &'static str {
        match self {
            Self::ServiceArea => "servicearea",
            Self::Login => "login",
            Self::AppUserTicket => "userticket",
            Self::RouterRefreshTicket => "refreshticket",
            Self::RouterUserTicket => "router-userticket",
            Self::Handover => "handover",
            Self::FirmwareLogin => "fw-login",
        }
    }
}

/// A `userid` and `passwd`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebAccount {
    /// Account name.
    pub userid: String,
    /// Password.
    pub passwd: String,
}

/// What the app hands the firmware (new.7 / old.4), plus the Service Area to log in at (the
/// document does not say how the firmware finds it; natlab hands it over too).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handover {
    /// The flow that produced it.
    pub flow: BindingFlow,
    /// The firmware it was prepared for.
    pub firmware: Firmware,
    /// Where the firmware logs in.
    pub service_area: SocketAddr,
    /// Customer id.
    pub cusid: String,
    /// routeruserticket (new flow) or the app's userticket (old flow).
    pub userticket: String,
    /// routerrefreshticket (`old_`-prefixed for old firmware); none in the old flow.
    pub refreshticket: Option<String>,
}

/// What a device login (or a firmware login) yields: the credentials to register to the relay
/// SIP server with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceCredentials {
    /// The Service Area that issued them.
    pub service_area: SocketAddr,
    /// Customer id.
    pub cusid: String,
    /// Device id (the SIP user).
    pub deviceid: String,
    /// Device ticket (the SIP password).
    pub deviceticket: String,
    /// The userticket of the login (empty after a firmware login).
    pub userticket: String,
    /// The userrefreshticket of the login (empty after a firmware login).
    pub userrefreshticket: String,
}

/// The result of a finished flow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FlowOutput {
    /// The app side finished: the firmware's inputs.
    Handover(Handover),
    /// A device or firmware login finished.
    Device(DeviceCredentials),
}

/// A step failed, and the flow with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowError {
    /// The step.
    pub step: Step,
    /// Why.
    pub failure: WebFailure,
}

impl FlowError {
    /// The JSON status of an HTTP error response, if it carried one.
    pub fn web_status(&self) -> Option<WebStatus> {
        json_status(&self.failure)
    }
}

/// The JSON status of an HTTP error response.
pub(crate) fn json_status(f: &WebFailure) -> Option<WebStatus> {
    match f {
        WebFailure::Http(r) => r
            .json_body()
            .and_then(|b| b.get(field::STATUS).and_then(Value::as_u64))
            .and_then(WebStatus::from_value),
        _ => None,
    }
}

/// What a flow needs to know: its inputs and what earlier steps returned.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Ctx {
    portal: Option<SocketAddr>,
    area: Option<SocketAddr>,
    account: Option<WebAccount>,
    phone_mac: String,
    router_mac: String,
    sid: String,
    devicetype: Option<String>,
    firmware: Option<Firmware>,
    flow: Option<BindingFlow>,
    cusid: String,
    userticket: String,
    userrefreshticket: String,
    app_userticket: String,
    router_refresh: String,
    router_userticket: String,
    deviceid: String,
    deviceticket: String,
    handover: Option<Handover>,
}

/// Inputs of the app side of a binding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppBinding {
    /// The Service Portal.
    pub portal: SocketAddr,
    /// The account the user logged in with (step 1).
    pub account: WebAccount,
    /// The phone's `deviceMd5Mac`.
    pub phone_md5mac: String,
    /// The router's `routerMd5Mac`.
    pub router_md5mac: String,
    /// Which flow.
    pub flow: BindingFlow,
    /// The router's firmware.
    pub firmware: Firmware,
}

/// Inputs of a device login.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceLoginConfig {
    /// The Service Portal.
    pub portal: SocketAddr,
    /// The account.
    pub account: WebAccount,
    /// The device's MD5 MAC.
    pub md5mac: String,
    /// Device type (`aae-ids.yaml`), if sent.
    pub devicetype: Option<String>,
}

/// A running flow.
#[derive(Debug)]
pub struct WebFlow {
    client: WebClient,
    ctx: Ctx,
    steps: VecDeque<Step>,
    current: Option<(Step, RequestId)>,
    events: VecDeque<WebEvent>,
    result: Option<Result<FlowOutput, FlowError>>,
    done: bool,
}

impl WebFlow {
    fn with(ids: StreamIds, timeout: Duration, ctx: Ctx, steps: &[Step]) -> Self {
        Self {
            client: WebClient::new(ids, timeout),
            ctx,
            steps: steps.iter().copied().collect(),
            current: None,
            events: VecDeque::new(),
            result: None,
            done: false,
        }
    }

    /// The app side of a binding flow (new: steps 2–7; old: steps 2–4).
    pub fn app_binding(ids: StreamIds, timeout: Duration, b: AppBinding) -> Self {
        let ctx = Ctx {
            portal: Some(b.portal),
            account: Some(b.account),
            phone_mac: b.phone_md5mac,
            router_mac: b.router_md5mac,
            sid: api::DEFAULT_SID.into(),
            firmware: Some(b.firmware),
            flow: Some(b.flow),
            ..Ctx::default()
        };
        let steps: &[Step] = match b.flow {
            BindingFlow::New => &[
                Step::ServiceArea,
                Step::Login,
                Step::AppUserTicket,
                Step::RouterRefreshTicket,
                Step::RouterUserTicket,
                Step::Handover,
            ],
            BindingFlow::Old => &[Step::ServiceArea, Step::Login, Step::Handover],
        };
        Self::with(ids, timeout, ctx, steps)
    }

    /// The firmware side (new.8 / old.5): logs in with what the app handed over.
    pub fn firmware_login(
        ids: StreamIds,
        timeout: Duration,
        handover: Handover,
        router_md5mac: &str,
    ) -> Self {
        let ctx = Ctx {
            area: Some(handover.service_area),
            router_mac: router_md5mac.into(),
            sid: api::DEFAULT_SID.into(),
            handover: Some(handover),
            ..Ctx::default()
        };
        Self::with(ids, timeout, ctx, &[Step::FirmwareLogin])
    }

    /// A device login: the Service Area from the portal, then `/aae/login`, yielding the
    /// device's `deviceid` and `deviceticket`.
    pub fn device_login(ids: StreamIds, timeout: Duration, c: DeviceLoginConfig) -> Self {
        let ctx = Ctx {
            portal: Some(c.portal),
            account: Some(c.account),
            phone_mac: c.md5mac,
            sid: api::DEFAULT_SID.into(),
            devicetype: c.devicetype,
            ..Ctx::default()
        };
        Self::with(ids, timeout, ctx, &[Step::ServiceArea, Step::Login])
    }

    /// Starts the first step at `now`.
    pub fn start(&mut self, now: SimInstant) {
        if self.current.is_none() && !self.done {
            self.next(now);
        }
    }

    /// Takes a stream event; true when it was one of this flow's connections.
    pub fn handle_stream(&mut self, now: SimInstant, event: &StreamEvent) -> bool {
        let mine = self.client.handle_stream(now, event);
        if mine {
            self.collect(now);
        }
        mine
    }

    /// Times out a request whose deadline passed.
    pub fn handle_timeout(&mut self, now: SimInstant) {
        self.client.handle_timeout(now);
        self.collect(now);
    }

    /// When the current request times out.
    pub fn poll_timeout(&self) -> Option<SimInstant> {
        self.client.poll_timeout()
    }

    /// The next stream command.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.client.poll_transmit()
    }

    /// The next step outcome.
    pub fn poll_event(&mut self) -> Option<WebEvent> {
        self.events.pop_front()
    }

    /// The flow's result, once (after its last step or its first failure).
    pub fn poll_result(&mut self) -> Option<Result<FlowOutput, FlowError>> {
        self.result.take()
    }

    /// The flow has finished.
    pub const fn is_done(&self) -> bool {
        self.done
    }

    /// Closes the flow's connections (kept open for reuse after a response); drain
    /// `poll_transmit` afterwards.
    pub fn close(&mut self) {
        self.client.close_all();
    }

    fn collect(&mut self, now: SimInstant) {
        while let Some((rid, result)) = self.client.poll_result() {
            let Some((step, want)) = self.current else {
                continue;
            };
            if rid != want {
                continue;
            }
            self.current = None;
            match result.and_then(|r| self.absorb(step, &r)) {
                Ok(detail) => {
                    self.events.push_back(WebEvent::StepOk { step, detail });
                    self.next(now);
                }
                Err(failure) => self.fail(step, failure),
            }
        }
    }

    fn fail(&mut self, step: Step, failure: WebFailure) {
        self.events.push_back(WebEvent::StepFailed {
            step,
            failure: failure.clone(),
        });
        self.result = Some(Err(FlowError { step, failure }));
        self.done = true;
        self.steps.clear();
        self.client.close_all();
    }

    fn next(&mut self, now: SimInstant) {
        loop {
            let Some(step) = self.steps.pop_front() else {
                self.finish();
                return;
            };
            if step == Step::Handover {
                let h = self.handover();
                let detail = handover_detail(&h);
                self.ctx.handover = Some(h);
                self.events.push_back(WebEvent::StepOk { step, detail });
                continue;
            }
            let (dst, path, body) = match self.request(step) {
                Ok(r) => r,
                Err(failure) => return self.fail(step, failure),
            };
            let req = HttpRequest::post_json(path, &dst.to_string(), &Value::Object(body));
            let rid = self.client.request(now, dst, &req);
            self.current = Some((step, rid));
            // A request that failed at once (no stream id) is already in the results.
            self.collect(now);
            return;
        }
    }

    fn finish(&mut self) {
        if self.done {
            return;
        }
        self.done = true;
        let c = &self.ctx;
        let output = match &c.handover {
            Some(h) if c.flow.is_some() => FlowOutput::Handover(h.clone()),
            _ => FlowOutput::Device(DeviceCredentials {
                service_area: c
                    .area
                    .or(c.portal)
                    .unwrap_or(SocketAddr::from(([0, 0, 0, 0], 0))),
                cusid: c.cusid.clone(),
                deviceid: c.deviceid.clone(),
                deviceticket: c.deviceticket.clone(),
                userticket: c.userticket.clone(),
                userrefreshticket: c.userrefreshticket.clone(),
            }),
        };
        self.result = Some(Ok(output));
    }

    fn handover(&self) -> Handover {
        let c = &self.ctx;
        let flow = c.flow.unwrap_or(BindingFlow::New);
        let firmware = c.firmware.unwrap_or(Firmware::New);
        let (userticket, refreshticket) = match (flow, firmware) {
            (BindingFlow::Old, _) => (c.userticket.clone(), None),
            (BindingFlow::New, Firmware::New) => {
                (c.router_userticket.clone(), Some(c.router_refresh.clone()))
            }
            (BindingFlow::New, Firmware::Old) => (
                c.router_userticket.clone(),
                Some(format!("{OLD_PREFIX}{}", c.router_refresh)),
            ),
        };
        Handover {
            flow,
            firmware,
            service_area: c
                .area
                .or(c.portal)
                .unwrap_or(SocketAddr::from(([0, 0, 0, 0], 0))),
            cusid: c.cusid.clone(),
            userticket,
            refreshticket,
        }
    }

    /// Destination, path and body of a step's request.
    fn request(
        &self,
        step: Step,
    ) -> Result<(SocketAddr, &'static str, Map<String, Value>), WebFailure> {
        let c = &self.ctx;
        let area = c.area.or(c.portal);
        let missing = || WebFailure::Malformed("no Service Area known".into());
        let mut b = Map::new();
        let mut put = |k: &str, v: &str| {
            b.insert(k.into(), json!(v));
        };
        let (dst, path) = match step {
            Step::ServiceArea => {
                if let Some(a) = &c.account {
                    put(field::USERID, &a.userid);
                }
                (c.portal.ok_or_else(missing)?, api::GET_SERVICE_AREA)
            }
            Step::Login => {
                let a = c.account.clone().unwrap_or(WebAccount {
                    userid: String::new(),
                    passwd: String::new(),
                });
                put(field::USERID, &a.userid);
                put(field::PASSWD, &a.passwd);
                put(field::SID, &c.sid);
                put(field::DEVICEMD5MAC, &c.phone_mac);
                if let Some(t) = &c.devicetype {
                    put(field::DEVICETYPE, t);
                }
                (area.ok_or_else(missing)?, api::LOGIN)
            }
            Step::AppUserTicket => {
                put(field::CUSID, &c.cusid);
                put(field::USERREFRESHTICKET, &c.userrefreshticket);
                put(field::DEVICEMD5MAC, &c.phone_mac);
                (area.ok_or_else(missing)?, api::GET_USER_TICKET_BY_REFRESH)
            }
            Step::RouterRefreshTicket => {
                put(field::CUSID, &c.cusid);
                put(field::DEVICEMD5MAC, &c.phone_mac);
                put(field::USERTICKET, &c.app_userticket);
                (area.ok_or_else(missing)?, api::GET_USER_REFRESH_TICKET)
            }
            Step::RouterUserTicket => {
                let mac = match c.firmware {
                    Some(Firmware::Old) => "",
                    _ => c.router_mac.as_str(),
                };
                put(field::CUSID, &c.cusid);
                put(field::DEVICEMD5MAC, mac);
                put(field::USERREFRESHTICKET, &c.router_refresh);
                (area.ok_or_else(missing)?, api::GET_USER_TICKET_BY_REFRESH)
            }
            Step::FirmwareLogin => {
                let h = c.handover.as_ref().ok_or_else(missing)?;
                put(field::CUSID, &h.cusid);
                put(field::USERTICKET, &h.userticket);
                if let Some(r) = &h.refreshticket {
                    put(field::USERREFRESHTICKET, r);
                }
                put(field::DEVICEMD5MAC, &c.router_mac);
                put(field::SID, &c.sid);
                (h.service_area, api::LOGIN)
            }
            Step::Handover => return Err(missing()),
        };
        Ok((dst, path, b))
    }

    /// Stores what a step's response returned; the detail for its event.
    fn absorb(&mut self, step: Step, r: &HttpResponse) -> Result<String, WebFailure> {
        let body = r
            .json_body()
            .ok_or_else(|| WebFailure::Malformed("body is not a JSON object".into()))?;
        let get = |k: &str| -> Result<String, WebFailure> {
            body.get(k)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| WebFailure::Malformed(format!("no `{k}` in the response")))
        };
        let c = &mut self.ctx;
        Ok(match step {
            Step::ServiceArea => {
                let area = get(field::SERVICEAREA)?;
                let addr: SocketAddr = area
                    .parse()
                    .map_err(|_| WebFailure::Malformed(format!("servicearea {area:?}")))?;
                c.area = Some(addr);
                format!("servicearea {addr}")
            }
            Step::Login => {
                c.cusid = get(field::CUSID)?;
                c.userticket = get(field::USERTICKET)?;
                c.userrefreshticket = get(field::USERREFRESHTICKET)?;
                c.deviceid = get(field::DEVICEID)?;
                c.deviceticket = get(field::DEVICETICKET)?;
                format!("cusid {} deviceid {}", c.cusid, c.deviceid)
            }
            Step::AppUserTicket => {
                c.app_userticket = get(field::USERTICKET)?;
                "app userticket".into()
            }
            Step::RouterRefreshTicket => {
                c.router_refresh = get(field::REFRESHTICKET)?;
                "routerrefreshticket".into()
            }
            Step::RouterUserTicket => {
                c.router_userticket = get(field::USERTICKET)?;
                let mac = if c.firmware == Some(Firmware::Old) {
                    "routerMd5Mac empty (old firmware)".to_owned()
                } else {
                    format!("routerMd5Mac {}", c.router_mac)
                };
                format!("routeruserticket, {mac}")
            }
            Step::FirmwareLogin => {
                c.deviceid = get(field::DEVICEID)?;
                c.deviceticket = get(field::DEVICETICKET)?;
                if let Some(h) = &c.handover {
                    c.cusid = h.cusid.clone();
                    c.area = Some(h.service_area);
                }
                format!("router {} deviceid {}", c.router_mac, c.deviceid)
            }
            Step::Handover => String::new(),
        })
    }
}

fn handover_detail(h: &Handover) -> String {
    let refresh = match &h.refreshticket {
        Some(r) if r.starts_with(OLD_PREFIX) => "routerrefreshticket with prefix old_",
        Some(_) => "routerrefreshticket",
        None => "no refresh ticket",
    };
    format!(
        "{} flow, {} firmware: cusid {}, {}",
        h.flow.name(),
        h.firmware.name(),
        h.cusid,
        refresh
    )
}

//! `AaeApp`: a phone app and the router firmware it binds, as one [`Node`] that runs flows on
//! command, one at a time, in order.
//!
//! * [`AaeApp::bind`]: the app side of a binding flow, then the firmware side with what was
//!   handed over; ends with `web-bind-ok` or `web-bind-failed`.
//! * [`AaeApp::app_bind`]: only the app side; the handover is kept for a later
//!   [`AaeApp::firmware_login`] (so time can pass in between: tickets may expire).
//! * [`AaeApp::firmware_login`]: the firmware side with the last handover (again, after a resale,
//!   with the old tickets).
//! * [`AaeApp::login`]: the app's own login (service area and `/aae/login`).

use crate::WebFailure;
use crate::client::StreamIds;
use crate::event::WebEvent;
use crate::flow::{
    AppBinding, BindingFlow, DeviceLoginConfig, Firmware, FlowOutput, Handover, Step, WebAccount,
    WebFlow,
};
use sim_core::{Binding, Datagram, Node, SimInstant, StreamEvent, Transmit};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

/// Stream ids each flow of an [`AaeApp`] may use.
const IDS_PER_FLOW: u64 = 1_000_000;

/// Configuration of an [`AaeApp`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AaeAppConfig {
    /// The Service Portal.
    pub portal: SocketAddr,
    /// The account the user logs in with.
    pub account: WebAccount,
    /// The phone's `deviceMd5Mac`.
    pub phone_md5mac: String,
    /// The router's `routerMd5Mac`, unless a command names another.
    pub router_md5mac: String,
    /// Time each request may take.
    pub timeout: Duration,
}

/// How to bind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BindOptions {
    /// Which flow.
    pub flow: BindingFlow,
    /// The router's firmware.
    pub firmware: Firmware,
    /// The router's MD5 MAC. Default: the configured one.
    pub router_md5mac: Option<String>,
    /// The account. Default: the configured one.
    pub account: Option<WebAccount>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Command {
    Bind {
        options: BindOptions,
        firmware_too: bool,
    },
    FirmwareLogin {
        router: Option<String>,
    },
    Login,
}

#[derive(Debug)]
struct Running {
    flow: WebFlow,
    /// The firmware side follows the app side (a `bind`).
    firmware_too: bool,
    /// The flow is the firmware side of a binding.
    is_firmware: bool,
    router: String,
}

/// The app-and-firmware core.
#[derive(Debug)]
pub struct AaeApp {
    config: AaeAppConfig,
    queue: VecDeque<Command>,
    running: Option<Running>,
    flows: u64,
    handover: Option<(Handover, String)>,
    events: VecDeque<WebEvent>,
    /// Commands of finished flows not yet sent (closing their connections).
    leftover: VecDeque<Transmit>,
}

impl AaeApp {
    /// An app with this configuration.
    pub const fn new(config: AaeAppConfig) -> Self {
        Self {
            config,
            queue: VecDeque::new(),
            running: None,
            flows: 0,
            handover: None,
            events: VecDeque::new(),
            leftover: VecDeque::new(),
        }
    }

    /// Binds the router: app side, then firmware side.
    pub fn bind(&mut self, now: SimInstant, options: BindOptions) {
        self.push(
            now,
            Command::Bind {
                options,
                firmware_too: true,
            },
        );
    }

    /// Only the app side of a binding; the handover waits for [`AaeApp::firmware_login`].
    pub fn app_bind(&mut self, now: SimInstant, options: BindOptions) {
        self.push(
            now,
            Command::Bind {
                options,
                firmware_too: false,
            },
        );
    }

    /// The firmware logs in with the last handover (`router`: default, the router it was for).
    pub fn firmware_login(&mut self, now: SimInstant, router: Option<String>) {
        self.push(now, Command::FirmwareLogin { router });
    }

    /// The app's own login.
    pub fn login(&mut self, now: SimInstant) {
        self.push(now, Command::Login);
    }

    /// The last handover, if any.
    pub fn handover(&self) -> Option<&Handover> {
        self.handover.as_ref().map(|(h, _)| h)
    }

    fn push(&mut self, now: SimInstant, command: Command) {
        self.queue.push_back(command);
        self.advance(now);
    }

    fn ids(&mut self) -> StreamIds {
        self.flows += 1;
        StreamIds::new(self.flows * IDS_PER_FLOW..(self.flows + 1) * IDS_PER_FLOW)
    }

    fn advance(&mut self, now: SimInstant) {
        while self.running.is_none() {
            let Some(command) = self.queue.pop_front() else {
                return;
            };
            self.run(now, command);
        }
    }

    fn run(&mut self, now: SimInstant, command: Command) {
        let ids = self.ids();
        let timeout = self.config.timeout;
        let running = match command {
            Command::Bind {
                options,
                firmware_too,
            } => {
                let router = options
                    .router_md5mac
                    .unwrap_or_else(|| self.config.router_md5mac.clone());
                let binding = AppBinding {
                    portal: self.config.portal,
                    account: options
                        .account
                        .unwrap_or_else(|| self.config.account.clone()),
                    phone_md5mac: self.config.phone_md5mac.clone(),
                    router_md5mac: router.clone(),
                    flow: options.flow,
                    firmware: options.firmware,
                };
                Running {
                    flow: WebFlow::app_binding(ids, timeout, binding),
                    firmware_too,
                    is_firmware: false,
                    router,
                }
            }
            Command::FirmwareLogin { router } => {
                let Some((handover, last)) = self.handover.clone() else {
                    let failure = WebFailure::Malformed("no tickets were handed over".into());
                    self.events.push_back(WebEvent::StepFailed {
                        step: Step::FirmwareLogin,
                        failure: failure.clone(),
                    });
                    self.events.push_back(WebEvent::BindFailed {
                        step: Step::FirmwareLogin,
                        failure,
                    });
                    return;
                };
                self.firmware(ids, handover, router.unwrap_or(last))
            }
            Command::Login => {
                let config = DeviceLoginConfig {
                    portal: self.config.portal,
                    account: self.config.account.clone(),
                    md5mac: self.config.phone_md5mac.clone(),
                    devicetype: None,
                };
                Running {
                    flow: WebFlow::device_login(ids, timeout, config),
                    firmware_too: false,
                    is_firmware: false,
                    router: String::new(),
                }
            }
        };
        self.start(now, running);
    }

    fn firmware(&self, ids: StreamIds, handover: Handover, router: String) -> Running {
        Running {
            flow: WebFlow::firmware_login(ids, self.config.timeout, handover, &router),
            firmware_too: false,
            is_firmware: true,
            router,
        }
    }

    fn start(&mut self, now: SimInstant, mut running: Running) {
        running.flow.start(now);
        self.running = Some(running);
        self.collect(now);
    }

    /// Moves the running flow's events out and starts what follows it.
    fn collect(&mut self, now: SimInstant) {
        let Some(r) = self.running.as_mut() else {
            return;
        };
        let binding = r.firmware_too || r.is_firmware;
        while let Some(e) = r.flow.poll_event() {
            if let (true, WebEvent::StepFailed { step, failure }) = (binding, &e) {
                let bind = WebEvent::BindFailed {
                    step: *step,
                    failure: failure.clone(),
                };
                self.events.push_back(e);
                self.events.push_back(bind);
            } else {
                self.events.push_back(e);
            }
        }
        let Some(result) = r.flow.poll_result() else {
            return;
        };
        let Some(mut done) = self.running.take() else {
            return;
        };
        done.flow.close();
        while let Some(t) = done.flow.poll_transmit() {
            self.leftover.push_back(t);
        }
        match result {
            Ok(FlowOutput::Handover(h)) => {
                self.handover = Some((h.clone(), done.router.clone()));
                if done.firmware_too {
                    let ids = self.ids();
                    let fw = self.firmware(ids, h, done.router);
                    self.start(now, fw);
                    return;
                }
            }
            Ok(FlowOutput::Device(d)) if done.is_firmware => {
                self.events.push_back(WebEvent::BindOk {
                    detail: format!(
                        "router {} bound to cusid {}, deviceid {}",
                        done.router, d.cusid, d.deviceid
                    ),
                });
            }
            Ok(FlowOutput::Device(_)) | Err(_) => {}
        }
        self.advance(now);
    }
}

impl Node for AaeApp {
    type Event = WebEvent;

    fn bindings(&self) -> Vec<Binding> {
        Vec::new()
    }

    fn handle_datagram(&mut self, _now: SimInstant, _datagram: Datagram) {}

    fn handle_stream(&mut self, now: SimInstant, event: StreamEvent) {
        if let Some(r) = self.running.as_mut()
            && r.flow.handle_stream(now, &event)
        {
            self.collect(now);
        }
    }

    fn handle_timeout(&mut self, now: SimInstant) {
        if let Some(r) = self.running.as_mut() {
            r.flow.handle_timeout(now);
        }
        self.collect(now);
    }

    fn poll_transmit(&mut self) -> Option<Transmit> {
        if let Some(t) = self.leftover.pop_front() {
            return Some(t);
        }
        self.running.as_mut().and_then(|r| r.flow.poll_transmit())
    }

    fn poll_event(&mut self) -> Option<WebEvent> {
        self.events.pop_front()
    }

    fn poll_timeout(&self) -> Option<SimInstant> {
        self.running.as_ref().and_then(|r| r.flow.poll_timeout())
    }
}

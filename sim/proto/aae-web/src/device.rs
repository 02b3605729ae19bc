//! The device login the AAE SDK runs at init: the Service Area from the portal, then
//! `/aae/login` with the account and the device's MD5 MAC, yielding the `deviceid` and
//! `deviceticket` it registers to the relay SIP server with.

use crate::client::{StreamIds, WebFailure};
use crate::event::WebEvent;
use crate::flow::{DeviceCredentials, DeviceLoginConfig, FlowError, FlowOutput, Step, WebFlow};
use sim_core::{SimInstant, StreamEvent, Transmit};
use std::time::Duration;

/// A device-login sub-core (a [`WebFlow`] of two steps with a typed result).
#[derive(Debug)]
pub struct DeviceLogin {
    flow: WebFlow,
}

impl DeviceLogin {
    /// A login using stream ids from `ids`, each request given `timeout`.
    pub fn new(ids: StreamIds, timeout: Duration, config: DeviceLoginConfig) -> Self {
        Self {
            flow: WebFlow::device_login(ids, timeout, config),
        }
    }

    /// Sends the first request.
    pub fn start(&mut self, now: SimInstant) {
        self.flow.start(now);
    }

    /// Takes a stream event; true when it was one of this login's connections.
    pub fn handle_stream(&mut self, now: SimInstant, event: &StreamEvent) -> bool {
        self.flow.handle_stream(now, event)
    }

    /// Times out a request whose deadline passed.
    pub fn handle_timeout(&mut self, now: SimInstant) {
        self.flow.handle_timeout(now);
    }

    /// When the current request times out.
    pub fn poll_timeout(&self) -> Option<SimInstant> {
        self.flow.poll_timeout()
    }

    /// The next stream command.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.flow.poll_transmit()
    }

    /// The next step outcome (`web-servicearea-ok`, `web-login-failed`...).
    pub fn poll_event(&mut self) -> Option<WebEvent> {
        self.flow.poll_event()
    }

    /// The outcome, once: the credentials, or the step that failed and why. The connection is
    /// closed when the result is taken (drain `poll_transmit` after).
    pub fn poll_result(&mut self) -> Option<Result<DeviceCredentials, FlowError>> {
        let r = self.flow.poll_result()?;
        self.flow.close();
        Some(match r {
            Ok(FlowOutput::Device(d)) => Ok(d),
            Ok(FlowOutput::Handover(_)) => Err(FlowError {
                step: Step::Login,
                failure: WebFailure::Malformed("not a device login".into()),
            }),
            Err(e) => Err(e),
        })
    }
}

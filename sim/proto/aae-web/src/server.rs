//! The AAE web-service server: HTTP/1.1 over the node's TCP listener, several requests per
//! connection, and the endpoints of the roles it plays ([`Roles`]).
//!
//! ```text
//! Accepted ──Data──▶ buffer ──parse_request──▶ Complete ─▶ route ─▶ response (keep-alive)
//!                             │                 └ Connection: close ─▶ response, Close
//!                             ├ Partial ─▶ wait for more bytes
//!                             └ Error ──▶ 400/413/431/501 with Connection: close, Close
//! ```

use crate::api::WebStatus;
use crate::event::ServerEvent;
use crate::http::{HttpRequest, HttpResponse, parse_request};
use crate::routes;
use crate::store::{KnownDevice, Lifetimes, Store};
use bytes::Bytes;
use sim_core::{
    Addresses, Binding, Datagram, Node, SimInstant, SimRng, StreamCommand, StreamEvent, StreamId,
    Transmit,
};
use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;

/// Which of the document's servers a node plays. One node may play all three.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Roles {
    /// Service Portal: `/aae/getservicearea`.
    pub portal: bool,
    /// Service Area: `/aae/login`, `/aae/getuserticketbyrefresh`, `/aae/getuserrefreshticket`.
    pub area: bool,
    /// Service Unit: `/aae/getdeviceinfo` (device data for a deviceticket).
    pub unit: bool,
}

impl Roles {
    /// All three roles.
    pub const ALL: Self = Self {
        portal: true,
        area: true,
        unit: true,
    };
}

impl Default for Roles {
    fn default() -> Self {
        Self::ALL
    }
}

/// How the server answers, switched at run time for faults.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Answer {
    /// Normally.
    #[default]
    Normal,
    /// Never: requests are read and not answered (clients time out).
    Silent,
    /// Resets the connection when a request arrives.
    Reset,
    /// Sends the first half of the response head, then closes (an incomplete header).
    TruncateHead,
    /// Every request gets this HTTP status (JSON status `unavailable`).
    Status(u16),
}

/// Server policy switches for faults.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WebPolicy {
    /// How requests are answered.
    pub answer: Answer,
    /// Every `/aae/login` is refused with 503 `unavailable`.
    pub refuse_logins: bool,
}

/// Configuration of an [`AaeWebServer`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebServerConfig {
    /// TCP listening port. Default 80.
    pub port: u16,
    /// Roles played. Default all three.
    pub roles: Roles,
    /// Accounts: `(userid, passwd)`. Each gets a `cusid` from the RNG at construction.
    pub accounts: Vec<(String, String)>,
    /// Ticket lifetimes.
    pub lifetimes: Lifetimes,
    /// The Service Area address the portal hands out. Default: this server's own address and
    /// port (known at start).
    pub service_area: Option<SocketAddr>,
    /// The Service Area's name in `/aae/getservicearea` answers. Default `area-1`.
    pub area_name: String,
    /// Devices whose deviceid (and deviceticket) are given, not drawn.
    pub devices: Vec<KnownDevice>,
    /// Policy in force from the start.
    pub policy: WebPolicy,
}

impl Default for WebServerConfig {
    fn default() -> Self {
        Self {
            port: 80,
            roles: Roles::ALL,
            accounts: Vec::new(),
            lifetimes: Lifetimes::default(),
            service_area: None,
            area_name: "area-1".into(),
            devices: Vec::new(),
            policy: WebPolicy::default(),
        }
    }
}

#[derive(Debug)]
struct Conn {
    remote: SocketAddr,
    buf: Vec<u8>,
    /// A close was sent: further bytes are ignored.
    closing: bool,
}

/// The AAE web service as a sans-IO [`Node`].
///
/// # Drive contract
/// After any input drain `poll_transmit`, then `poll_event`. The server has no timers.
#[derive(Debug)]
pub struct AaeWebServer {
    pub(crate) config: WebServerConfig,
    pub(crate) store: Store,
    pub(crate) own: Option<SocketAddr>,
    conns: BTreeMap<StreamId, Conn>,
    transmits: VecDeque<Transmit>,
    pub(crate) events: VecDeque<ServerEvent>,
}

impl AaeWebServer {
    /// A server with its own random stream (tickets, ids).
    pub fn new(config: WebServerConfig, rng: SimRng) -> Self {
        let store = Store::new(rng, config.lifetimes, &config.accounts, &config.devices);
        Self {
            config,
            store,
            own: None,
            conns: BTreeMap::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// The `cusid` the server assigned to `userid`.
    pub fn cusid(&self, userid: &str) -> Option<&str> {
        self.store.accounts.get(userid).map(|a| a.cusid.as_str())
    }

    /// The account (`cusid`) a device MD5 MAC is bound to.
    pub fn owner(&self, md5mac: &str) -> Option<&str> {
        self.store.devices.get(md5mac).map(|d| d.owner.as_str())
    }

    /// The policy in force.
    pub const fn policy(&self) -> WebPolicy {
        self.config.policy
    }

    /// Switches the policy from `now` on.
    pub fn set_policy(&mut self, _now: SimInstant, policy: WebPolicy) {
        self.config.policy = policy;
    }

    /// Every issued ticket expires now.
    pub fn expire_tickets(&mut self, now: SimInstant) {
        let count = self.store.expire_all(now);
        self.events.push_back(ServerEvent::TicketsExpired { count });
    }

    fn send(&mut self, id: StreamId, data: Vec<u8>) {
        self.transmits
            .push_back(Transmit::Stream(StreamCommand::Send {
                id,
                data: Bytes::from(data),
            }));
    }

    fn close(&mut self, id: StreamId) {
        if let Some(c) = self.conns.get_mut(&id) {
            c.closing = true;
        }
        self.transmits
            .push_back(Transmit::Stream(StreamCommand::Close { id }));
    }

    fn on_data(&mut self, now: SimInstant, id: StreamId, data: &[u8]) {
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        if conn.closing {
            return;
        }
        conn.buf.extend_from_slice(data);
        loop {
            let Some(conn) = self.conns.get_mut(&id) else {
                return;
            };
            let remote = conn.remote;
            match parse_request(&conn.buf) {
                Ok(None) => return,
                Ok(Some((request, used))) => {
                    conn.buf.drain(..used);
                    if !self.on_request(now, id, remote, &request) {
                        return;
                    }
                }
                Err(e) => {
                    conn.buf.clear();
                    let status = e.status();
                    let body = routes::status_body(WebStatus::BadRequest);
                    let mut response = HttpResponse::json(status, &body);
                    response.headers.push(("Connection".into(), "close".into()));
                    self.send(id, response.encode());
                    self.close(id);
                    self.events.push_back(ServerEvent::BadRequest {
                        remote,
                        http: status,
                        reason: e.to_string(),
                    });
                    return;
                }
            }
        }
    }

    /// Answers one request; false when the connection is done.
    fn on_request(
        &mut self,
        now: SimInstant,
        id: StreamId,
        remote: SocketAddr,
        request: &HttpRequest,
    ) -> bool {
        let response = match self.config.policy.answer {
            Answer::Silent => return true,
            Answer::Reset => {
                self.transmits
                    .push_back(Transmit::Stream(StreamCommand::Abort { id }));
                self.conns.remove(&id);
                return false;
            }
            Answer::Status(code) => {
                let mut r = HttpResponse::json(code, &routes::status_body(WebStatus::Unavailable));
                r.status = code;
                r
            }
            Answer::Normal | Answer::TruncateHead => routes::route(self, now, request),
        };
        let (http, status) = (response.status, routes::status_of(&response));
        self.events.push_back(ServerEvent::Served {
            remote,
            path: request.path.clone(),
            http,
            status,
        });
        if self.config.policy.answer == Answer::TruncateHead {
            let bytes = response.encode();
            let head = bytes.iter().position(|&b| b == b'\n').unwrap_or(0) + 1;
            self.send(id, bytes.get(..head + 8).unwrap_or(&bytes).to_vec());
            self.close(id);
            return false;
        }
        let close = request.wants_close();
        let mut response = response;
        if close {
            response.headers.push(("Connection".into(), "close".into()));
        }
        self.send(id, response.encode());
        if close {
            self.close(id);
        }
        !close
    }
}

impl Node for AaeWebServer {
    type Event = ServerEvent;

    fn bindings(&self) -> Vec<Binding> {
        vec![Binding::tcp(self.config.port)]
    }

    fn handle_start(&mut self, _now: SimInstant, addresses: Addresses) {
        self.own = addresses
            .primary()
            .map(|ip| SocketAddr::new(ip, self.config.port));
        self.conns.clear();
    }

    fn handle_address_change(&mut self, _now: SimInstant, _old: Addresses, new: Addresses) {
        self.own = new
            .primary()
            .map(|ip| SocketAddr::new(ip, self.config.port));
    }

    fn handle_datagram(&mut self, _now: SimInstant, _datagram: Datagram) {}

    fn handle_stream(&mut self, now: SimInstant, event: StreamEvent) {
        match event {
            StreamEvent::Accepted { id, remote, .. } => {
                let conn = Conn {
                    remote,
                    buf: Vec::new(),
                    closing: false,
                };
                self.conns.insert(id, conn);
            }
            StreamEvent::Data { id, data } => self.on_data(now, id, &data),
            StreamEvent::Closed { id } => {
                if self.conns.get(&id).is_some_and(|c| !c.closing) {
                    self.close(id);
                }
                self.conns.remove(&id);
            }
            StreamEvent::Failed { id, .. } => {
                self.conns.remove(&id);
            }
            StreamEvent::Connected { .. } => {}
        }
    }

    fn handle_timeout(&mut self, _now: SimInstant) {}

    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    fn poll_event(&mut self) -> Option<ServerEvent> {
        self.events.pop_front()
    }

    fn poll_timeout(&self) -> Option<SimInstant> {
        None
    }
}

//! The endpoint's settings: what `natnl_lib_init` takes and the SDK options.

use sim_ice::{IcePolicy, IceTimers, TurnServer};
use sim_sip::transaction::TimerConfig;
use sim_sip::ua::SipTransport;
use std::net::SocketAddr;
use std::time::Duration;

/// The SIP domain of the relay (router firmware registers `<deviceid>@aaerelay.asuscomm.com`).
pub const RELAY_DOMAIN: &str = "aaerelay.asuscomm.com";
/// Default `max_calls`: tunnels per instance.
pub const DEFAULT_MAX_CALLS: u32 = 4;
/// Largest `max_calls` the SDK accepts.
pub const MAX_MAX_CALLS: u32 = 15;
/// Default and largest tunnel keep-alive timeout (`tnl_timeout_sec`).
pub const MAX_TNL_TIMEOUT: Duration = Duration::from_secs(180);
/// The deadlock watchdog's period.
pub const WATCHDOG_PERIOD: Duration = Duration::from_secs(3);
/// How long the worker loop may stand still before the watchdog reports 60114.
pub const WATCHDOG_LIMIT: Duration = Duration::from_secs(60);
/// Registration lifetime asked for.
pub const REGISTER_EXPIRES: u32 = 300;
/// SIP keep-alive (CRLF) interval over UDP, as pjsua's default.
pub const SIP_KEEP_ALIVE: Duration = Duration::from_secs(15);
/// Tunnel ports per call (`MAX_TUNNEL_PORT_COUNT`).
pub const MAX_TUNNEL_PORTS: usize = 8;

/// An AAE endpoint's configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AaeConfig {
    /// Device id: the SIP user at the relay.
    pub device_id: String,
    /// Device ticket: the SIP password.
    pub device_ticket: String,
    /// SIP domain of the relay.
    pub domain: String,
    /// The relay SIP server.
    pub sip_server: SocketAddr,
    /// Local SIP port.
    pub sip_port: u16,
    /// SIP transport to the relay.
    pub transport: SipTransport,
    /// STUN server: NAT-type detection at init and server-reflexive candidates.
    pub stun_server: Option<SocketAddr>,
    /// A second STUN server for the legacy mapped-address check (320010/320011).
    pub second_stun_server: Option<SocketAddr>,
    /// TURN relay for the tunnels' ICE sessions.
    pub turn: Option<TurnServer>,
    /// Tunnels accepted at once (1–15).
    pub max_calls: u32,
    /// Tunnel keep-alive timeout (at most 180 s).
    pub tnl_timeout: Duration,
    /// Idle timeout on application data; zero turns it off.
    pub idle_timeout: Duration,
    /// Skip registration and NAT-type detection during init.
    pub fast_init: bool,
    /// Registration lifetime.
    pub register_expires: u32,
    /// SIP transaction timers.
    pub sip_timers: TimerConfig,
    /// ICE timers.
    pub ice_timers: IceTimers,
    /// Which local candidates the tunnels' ICE sessions use (relay: only TURN's).
    pub ice_policy: IcePolicy,
}

impl AaeConfig {
    /// A device registering `device_id` with `device_ticket` to `sip_server`, SDK defaults.
    pub fn new(device_id: &str, device_ticket: &str, sip_server: SocketAddr) -> Self {
        Self {
            device_id: device_id.to_string(),
            device_ticket: device_ticket.to_string(),
            domain: RELAY_DOMAIN.to_string(),
            sip_server,
            sip_port: 5060,
            transport: SipTransport::Udp,
            stun_server: None,
            second_stun_server: None,
            turn: None,
            max_calls: DEFAULT_MAX_CALLS,
            tnl_timeout: MAX_TNL_TIMEOUT,
            idle_timeout: Duration::ZERO,
            fast_init: false,
            register_expires: REGISTER_EXPIRES,
            sip_timers: TimerConfig::default(),
            ice_timers: IceTimers::default(),
            ice_policy: IcePolicy::All,
        }
    }
}

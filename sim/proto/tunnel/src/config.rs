//! Tunnel settings, their defaults and their limits.

use std::time::Duration;

/// The largest keep-alive timeout natnl accepts (`tnl_timeout_sec`: default and maximum 180 s).
pub const MAX_KA_TIMEOUT: Duration = Duration::from_secs(180);
/// The largest payload a data packet may carry.
pub const MAX_PAYLOAD_LIMIT: usize = 1400;
/// The smallest payload a data packet may carry.
pub const MIN_PAYLOAD_LIMIT: usize = 64;
/// The largest send or receive window, in packets.
pub const MAX_WINDOW: u32 = 8192;

/// Which application data re-arms the idle timeout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum IdleActivity {
    /// Stream bytes written by the local application or delivered from the peer: natnl's
    /// "no data through the tunnel" (`idle_timeout_sec`), read as either direction.
    #[default]
    SentOrReceived,
    /// Only stream bytes delivered from the peer.
    Received,
}

/// The settings of one tunnel. [`TunnelConfig::default`] gives natnl's and UDT's values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TunnelConfig {
    /// How long the handshake may take before [`crate::TunnelEvent::ConnectFailed`]
    /// (the AAE SDK's 60000015). Default 30 s: UDT4's `connect()` gives a request 3 s and ten
    /// times as long (30 s) in rendezvous mode, which is how natnl connects over the ICE pair.
    pub connect_timeout: Duration,
    /// Interval between handshake retransmissions. Default 250 ms, UDT4's request interval.
    pub handshake_interval: Duration,
    /// A keep-alive goes out when nothing was sent for this long. Default 1 s, UDT4's and
    /// SRT's keep-alive period; it also keeps the NAT mappings on the path open.
    pub keepalive_interval: Duration,
    /// The keep-alive check period (`tnl_timeout_sec`): default 180 s, at most
    /// [`MAX_KA_TIMEOUT`], not zero.
    pub ka_timeout: Duration,
    /// The idle check period (`idle_timeout_sec`); `None` (the default) turns it off.
    pub idle_timeout: Option<Duration>,
    /// What counts as activity for the idle timeout.
    pub idle_activity: IdleActivity,
    /// How long [`crate::Tunnel::close`] waits for the peer to acknowledge the shutdown.
    /// Default 5 s.
    pub close_timeout: Duration,
    /// Largest stream payload per data packet, in bytes. Default 1200 (a data packet is then
    /// 1218 bytes, which fits a 1280-byte IPv6 path with UDP, IP and TURN ChannelData headers).
    pub max_payload: usize,
    /// Packets in flight at most (sent, not yet cumulatively acknowledged). Default 256.
    pub send_window: u32,
    /// Packets the receiver holds out of order at most, advertised to the peer. Default 256.
    pub recv_window: u32,
    /// Stream bytes written and not yet acknowledged at most; a write beyond it fails with
    /// [`crate::WriteError::BufferFull`]. Default 1 MiB.
    pub send_buffer: usize,
    /// Streams open at once at most. Default 256.
    pub max_streams: usize,
    /// Smallest retransmission timeout. Default 200 ms (Linux TCP's; RFC 6298 §2.4 asks 1 s).
    pub min_rto: Duration,
    /// Largest retransmission timeout. Default 60 s (RFC 6298 §2.5).
    pub max_rto: Duration,
}

impl Default for TunnelConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(30),
            handshake_interval: Duration::from_millis(250),
            keepalive_interval: Duration::from_secs(1),
            ka_timeout: MAX_KA_TIMEOUT,
            idle_timeout: None,
            idle_activity: IdleActivity::SentOrReceived,
            close_timeout: Duration::from_secs(5),
            max_payload: 1200,
            send_window: 256,
            recv_window: 256,
            send_buffer: 1 << 20,
            max_streams: 256,
            min_rto: Duration::from_millis(200),
            max_rto: Duration::from_secs(60),
        }
    }
}

/// A [`TunnelConfig`] value out of range.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// `ka_timeout` is zero or above [`MAX_KA_TIMEOUT`].
    #[error("keep-alive timeout {0:?} is outside 1 µs..=180 s")]
    KaTimeout(Duration),
    /// `idle_timeout` is `Some(0)`.
    #[error("idle timeout is zero (use None to turn it off)")]
    IdleTimeout,
    /// A timer interval is zero.
    #[error("{0} is zero")]
    ZeroInterval(&'static str),
    /// `max_payload` is outside the accepted range.
    #[error("max payload {0} is outside {MIN_PAYLOAD_LIMIT}..={MAX_PAYLOAD_LIMIT}")]
    MaxPayload(usize),
    /// A window is zero or above [`MAX_WINDOW`].
    #[error("window {0} is outside 1..={MAX_WINDOW}")]
    Window(u32),
    /// `send_buffer` or `max_streams` is zero.
    #[error("{0} is zero")]
    ZeroLimit(&'static str),
    /// `min_rto` is above `max_rto`.
    #[error("min_rto is above max_rto")]
    RtoRange,
}

impl TunnelConfig {
    /// Checks every value against its range.
    ///
    /// # Errors
    /// The first value out of range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.ka_timeout.is_zero() || self.ka_timeout > MAX_KA_TIMEOUT {
            return Err(ConfigError::KaTimeout(self.ka_timeout));
        }
        if self.idle_timeout.is_some_and(|d| d.is_zero()) {
            return Err(ConfigError::IdleTimeout);
        }
        for (name, d) in [
            ("connect_timeout", self.connect_timeout),
            ("handshake_interval", self.handshake_interval),
            ("keepalive_interval", self.keepalive_interval),
            ("close_timeout", self.close_timeout),
            ("min_rto", self.min_rto),
        ] {
            if d.is_zero() {
                return Err(ConfigError::ZeroInterval(name));
            }
        }
        if !(MIN_PAYLOAD_LIMIT..=MAX_PAYLOAD_LIMIT).contains(&self.max_payload) {
            return Err(ConfigError::MaxPayload(self.max_payload));
        }
        for w in [self.send_window, self.recv_window] {
            if w == 0 || w > MAX_WINDOW {
                return Err(ConfigError::Window(w));
            }
        }
        if self.send_buffer == 0 {
            return Err(ConfigError::ZeroLimit("send_buffer"));
        }
        if self.max_streams == 0 {
            return Err(ConfigError::ZeroLimit("max_streams"));
        }
        if self.min_rto > self.max_rto {
            return Err(ConfigError::RtoRange);
        }
        Ok(())
    }
}

//! The tunnel transport of a call: one `sim-tunnel` connection over the ICE pair, one stream
//! for the application's bytes.

use crate::config::{AaeConfig, MAX_TNL_TIMEOUT};
use bytes::Bytes;
use sim_core::{LogEvent, Seed, SimInstant};
use sim_tunnel::{StreamError, StreamId, Tunnel, TunnelConfig, TunnelEvent};

/// What the endpoint needs to know from its tunnel.
#[derive(Debug)]
pub(crate) enum TransportEvent {
    /// Handshake done.
    Connected,
    /// The connect timeout fired (60000015).
    ConnectFailed(String),
    /// Application bytes from the peer, in order.
    Data(Bytes),
    /// Room again in the send buffer.
    Writable,
    /// Nothing from the peer for the keep-alive timeout (60002).
    KeepAliveTimeout(String),
    /// No application data for the idle timeout (60113).
    IdleTimeout(String),
    /// Anything else, for the event log.
    Other(LogEvent),
}

impl TransportEvent {
    /// The tunnel's own log line for this event; `None` for data and flow control.
    pub(crate) fn log(&self) -> Option<LogEvent> {
        match self {
            Self::Data(_) | Self::Writable => None,
            Self::Other(log) => Some(log.clone()),
            Self::Connected => Some(LogEvent::named("tunnel-connected")),
            Self::ConnectFailed(why) => {
                Some(LogEvent::named("tunnel-connect-failed").with_detail(why.clone()))
            }
            Self::KeepAliveTimeout(why) => {
                Some(LogEvent::named("tunnel-keepalive-timeout").with_detail(why.clone()))
            }
            Self::IdleTimeout(why) => {
                Some(LogEvent::named("tunnel-idle-timeout").with_detail(why.clone()))
            }
        }
    }
}

/// The tunnel settings an endpoint's options give.
pub(crate) fn config(cfg: &AaeConfig) -> TunnelConfig {
    TunnelConfig {
        ka_timeout: cfg
            .tnl_timeout
            .clamp(std::time::Duration::from_secs(1), MAX_TNL_TIMEOUT),
        idle_timeout: (!cfg.idle_timeout.is_zero()).then_some(cfg.idle_timeout),
        ..TunnelConfig::default()
    }
}

/// One call's tunnel.
#[derive(Debug)]
pub(crate) struct Transport {
    tunnel: Tunnel,
    stream: Option<StreamId>,
}

impl Transport {
    /// The caller connects, the callee accepts.
    ///
    /// # Errors
    /// The tunnel settings are out of range.
    pub(crate) fn new(
        now: SimInstant,
        caller: bool,
        config: TunnelConfig,
        seed: Seed,
    ) -> Result<Self, String> {
        let tunnel = if caller {
            Tunnel::connect(now, config, seed)
        } else {
            Tunnel::accept(now, config, seed)
        }
        .map_err(|e| e.to_string())?;
        Ok(Self {
            tunnel,
            stream: None,
        })
    }

    /// Writes what fits of `data`; returns how many bytes were taken.
    pub(crate) fn write(&mut self, now: SimInstant, data: &[u8]) -> usize {
        let id = match self.stream {
            Some(id) => id,
            None => match self.tunnel.open_stream(now) {
                Ok(id) => {
                    self.stream = Some(id);
                    id
                }
                Err(_) => return 0,
            },
        };
        match self.tunnel.write(now, id, data) {
            Ok(()) => data.len(),
            Err(StreamError::BufferFull { available, .. }) if available > 0 => {
                let n = available.min(data.len());
                match self.tunnel.write(now, id, &data[..n]) {
                    Ok(()) => n,
                    Err(_) => 0,
                }
            }
            Err(_) => 0,
        }
    }

    pub(crate) fn handle_packet(&mut self, now: SimInstant, bytes: &[u8]) {
        self.tunnel.handle_packet(now, bytes);
    }

    pub(crate) fn poll_packet(&mut self) -> Option<Bytes> {
        self.tunnel.poll_packet()
    }

    pub(crate) fn poll_timeout(&self) -> Option<SimInstant> {
        self.tunnel.poll_timeout()
    }

    pub(crate) fn handle_timeout(&mut self, now: SimInstant) {
        self.tunnel.handle_timeout(now);
    }

    pub(crate) fn close(&mut self, now: SimInstant) {
        self.tunnel.close(now);
    }

    pub(crate) fn poll_event(&mut self) -> Option<TransportEvent> {
        let e = self.tunnel.poll_event()?;
        Some(match e {
            TunnelEvent::Connected { .. } => TransportEvent::Connected,
            TunnelEvent::ConnectFailed { .. } => {
                TransportEvent::ConnectFailed(LogEvent::from(&e).detail.unwrap_or_default())
            }
            TunnelEvent::StreamData { data, .. } => TransportEvent::Data(data),
            TunnelEvent::Writable => TransportEvent::Writable,
            TunnelEvent::KeepAliveTimeout { .. } => {
                TransportEvent::KeepAliveTimeout(LogEvent::from(&e).detail.unwrap_or_default())
            }
            TunnelEvent::IdleTimeout { .. } => {
                TransportEvent::IdleTimeout(LogEvent::from(&e).detail.unwrap_or_default())
            }
            other => TransportEvent::Other(LogEvent::from(&other)),
        })
    }
}

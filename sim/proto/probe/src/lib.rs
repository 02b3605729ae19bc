//! natlab's probes: the cores that measure the simulated network itself.
//!
//! * [`UdpProbe`] sends numbered UDP probes, optionally echoes them (an echo carries the address
//!   the probe arrived from: the public side of the sender's NAT mapping), and reports what it
//!   receives. With [`Wire::SipOptions`] its probes are SIP OPTIONS keep-alives and its echoes
//!   `200 OK` with `received`/`rport` ([`sip_ping`]), so a network scenario's capture is a SIP
//!   capture.
//! * [`TcpProbe`] opens TCP connections and sends the same probe lines over them, optionally
//!   echoing.
//!
//! Both are sans-IO [`sim_core::Node`]s: no clock, no socket. They learn their addresses from
//! `handle_start` and `handle_address_change`, and can bind ports at run time (a series
//! `from_port: 0` binds an ephemeral port first).
//!
//! # Drive contract
//! After any input drain `poll_transmit`, then `poll_event`; call `handle_timeout` at
//! `poll_timeout`. [`UdpProbe::send`] and [`TcpProbe::send`] start a series of probes at `now`.
//!
//! # Events
//! Every [`Observation`] becomes a [`LogEvent`] ([`Observation::log_event`]); per-packet
//! observations ([`Observation::is_traffic`]) are counted, not logged one by one.

mod sip_ping;
mod stun_ping;
mod tcp;
mod udp;

pub use tcp::TcpProbe;
pub use udp::{Series, UdpProbe, Wire};

use sim_core::{Addresses, LogEvent};
use std::net::SocketAddr;

/// Whether a received probe packet was a probe or an echo reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProbeKind {
    /// Sent by another probe's `send`.
    Probe,
    /// An echo reply.
    Echo,
}

/// What a probe reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Observation {
    /// The probe started (or restarted) with these addresses.
    Started {
        /// Its addresses.
        addresses: Addresses,
    },
    /// The probe was renumbered.
    AddressChanged {
        /// Before.
        old: Addresses,
        /// Now.
        new: Addresses,
    },
    /// A port was bound at run time.
    Bound {
        /// The local address it got.
        local: SocketAddr,
    },
    /// A run-time bind failed.
    BindFailed {
        /// The port asked for.
        port: u16,
        /// Why.
        error: String,
    },
    /// A probe was sent.
    ProbeSent {
        /// Destination.
        to: SocketAddr,
        /// Local port.
        from_port: u16,
        /// Sequence number.
        seq: u64,
    },
    /// A probe or echo arrived.
    ProbeReceived {
        /// Probe or echo.
        kind: ProbeKind,
        /// Id of the sending node, as its payload says (`None` for foreign traffic).
        from: Option<u32>,
        /// The sender's local port, as its payload says.
        from_port: Option<u16>,
        /// Sequence number, as the payload says.
        seq: Option<u64>,
        /// Source address as the packet arrived (after every NAT).
        src: SocketAddr,
        /// Local port it arrived on.
        port: u16,
        /// For an echo: the address the echoing node saw the probe come from.
        seen: Option<SocketAddr>,
    },
    /// A TCP connection was established.
    StreamOpened {
        /// The remote end, as this node sees it.
        remote: SocketAddr,
        /// Accepted by a listener (else opened by this node).
        accepted: bool,
    },
    /// A TCP connection this node had failed.
    StreamFailed {
        /// The remote end.
        remote: SocketAddr,
        /// Why: refused, reset, timed out.
        error: String,
    },
}

/// The events a probe writes to the event log, as `event` and `sequence` expectations name them
/// (its per-packet traffic is counted instead: the `received` expectation reads it).
pub const LOGGED_EVENTS: &[&str] = &[
    "probe-started",
    "address-changed",
    "port-bound",
    "bind-failed",
    "stream-opened",
    "stream-failed",
];

/// The names of every probe observation.
pub const EVENT_NAMES: &[&str] = &[
    "probe-started",
    "address-changed",
    "port-bound",
    "bind-failed",
    "probe-sent",
    "probe-received",
    "echo-received",
    "stream-opened",
    "stream-failed",
];

impl Observation {
    /// Per-packet traffic (sent and received probes): counted, not written to the event log.
    pub const fn is_traffic(&self) -> bool {
        matches!(self, Self::ProbeSent { .. } | Self::ProbeReceived { .. })
    }

    /// The event's name (one of [`EVENT_NAMES`]).
    pub const fn name(&self) -> &'static str {
        match self {
            Self::Started { .. } => "probe-started",
            Self::AddressChanged { .. } => "address-changed",
            Self::Bound { .. } => "port-bound",
            Self::BindFailed { .. } => "bind-failed",
            Self::ProbeSent { .. } => "probe-sent",
            Self::ProbeReceived {
                kind: ProbeKind::Probe,
                ..
            } => "probe-received",
            Self::ProbeReceived {
                kind: ProbeKind::Echo,
                ..
            } => "echo-received",
            Self::StreamOpened { .. } => "stream-opened",
            Self::StreamFailed { .. } => "stream-failed",
        }
    }

    /// The event as the run's event log records it.
    pub fn log_event(&self) -> LogEvent {
        let event = LogEvent::named(self.name());
        let detail = match self {
            Self::Started { addresses } => format!("addresses {addresses}"),
            Self::AddressChanged { old, new } => format!("{old} -> {new}"),
            Self::Bound { local } => format!("bound {local}"),
            Self::BindFailed { port, error } => format!("port {port}: {error}"),
            Self::ProbeSent { to, from_port, seq } => format!("seq {seq} :{from_port} -> {to}"),
            Self::ProbeReceived { src, port, seq, .. } => match seq {
                Some(seq) => format!("seq {seq} from {src} on :{port}"),
                None => format!("from {src} on :{port}"),
            },
            Self::StreamOpened { remote, accepted } => {
                let how = if *accepted { "accepted" } else { "connected" };
                format!("{how} {remote}")
            }
            Self::StreamFailed { remote, error } => format!("{remote}: {error}"),
        };
        event.with_detail(detail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observation_every_variant_names_a_listed_event() {
        let a: SocketAddr = "192.0.2.1:5000".parse().unwrap();
        let all = [
            Observation::Started {
                addresses: Addresses::single(a.ip()),
            },
            Observation::AddressChanged {
                old: Addresses::default(),
                new: Addresses::single(a.ip()),
            },
            Observation::Bound { local: a },
            Observation::BindFailed {
                port: 1,
                error: "x".into(),
            },
            Observation::ProbeSent {
                to: a,
                from_port: 1,
                seq: 1,
            },
            Observation::StreamOpened {
                remote: a,
                accepted: true,
            },
            Observation::StreamFailed {
                remote: a,
                error: "x".into(),
            },
        ];
        for o in &all {
            assert!(EVENT_NAMES.contains(&o.name()), "{}", o.name());
            assert_eq!(o.log_event().name, o.name());
        }
        assert!(all[4].is_traffic() && !all[0].is_traffic());
        for o in all.iter().filter(|o| !o.is_traffic()) {
            assert!(LOGGED_EVENTS.contains(&o.name()), "{}", o.name());
        }
    }
}

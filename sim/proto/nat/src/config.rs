//! What a NAT box does, as RFC 4787 and RFC 5382 name it, and the checks a configuration must
//! pass before [`Nat::new`](crate::Nat::new) accepts it.

use sim_core::Protocol;
use std::collections::BTreeSet;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::time::Duration;

/// A mapping (RFC 4787 §4.1) or filtering (RFC 4787 §5) behaviour.
///
/// For mapping, it says which packets from one internal endpoint share an external address:
/// all of them (endpoint-independent), those to the same remote IP (address-dependent), or
/// those to the same remote IP and port (address-and-port-dependent). For filtering, it says
/// which remotes may send to a mapping: any remote, remotes at an IP the mapping has sent to, or
/// remotes at an IP and port the mapping has sent to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Behaviour {
    /// Endpoint-independent (EIM / EIF).
    EndpointIndependent,
    /// Address-dependent (ADM / ADF).
    AddressDependent,
    /// Address-and-port-dependent (APDM / APDF).
    AddressAndPortDependent,
}

impl Behaviour {
    /// The three behaviours, from the most to the least permissive.
    pub const ALL: [Self; 3] = [
        Self::EndpointIndependent,
        Self::AddressDependent,
        Self::AddressAndPortDependent,
    ];
}

impl fmt::Display for Behaviour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::EndpointIndependent => "endpoint-independent",
            Self::AddressDependent => "address-dependent",
            Self::AddressAndPortDependent => "address-and-port-dependent",
        })
    }
}

/// How the external port of a new mapping is chosen (RFC 4787 §4.2).
///
/// In every mode a port belongs to one mapping at a time: there is no port overloading
/// (RFC 4787 §4.2.1 REQ-3, RFC 5382 §7.1 REQ-7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PortAllocation {
    /// Port preservation: the internal port if it is in the range and free on the chosen
    /// external IP, else the next free port upward, wrapping within the range. An internal port
    /// outside the range starts the search at the bottom of the range.
    Preserve,
    /// The next free port after the last one allocated on that external IP and protocol, the
    /// bottom of the range first, wrapping within the range.
    Sequential,
    /// A uniformly random free port, drawn from the NAT's seeded RNG.
    Random,
}

/// How an external IP is chosen when the NAT has several (RFC 4787 §4.1, REQ-2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Pooling {
    /// Every mapping of one internal IP uses the same external IP, assigned round-robin over
    /// the pool on that internal IP's first mapping and kept until a reboot.
    Paired,
    /// Each new mapping takes an external IP drawn from the NAT's seeded RNG (if that address
    /// has no free port, the next addresses of the pool are tried in order).
    Arbitrary,
}

/// A static port forward: symmetric DNAT for inbound packets and SNAT for outbound ones.
///
/// Inbound packets to `(first public address of the internal address's family, external_port)`
/// go to `internal` whatever their source (no filtering); packets from `internal` leave with
/// that external address as their source (no mapping behaviour applies). Forwards never expire
/// and survive [`Nat::flush`](crate::Nat::flush) and [`Nat::reboot`](crate::Nat::reboot).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PortForward {
    /// UDP or TCP (the two port spaces are separate).
    pub protocol: Protocol,
    /// Port on the public address.
    pub external_port: u16,
    /// The LAN endpoint that receives the traffic.
    pub internal: SocketAddr,
}

/// Everything that defines one NAT box.
///
/// [`NatConfig::default`] follows the RFC recommendations (endpoint-independent mapping and
/// filtering, 120 s UDP lifetime refreshed by outbound packets only, RFC 5382 TCP timeouts,
/// port preservation in 1024..=65535, hairpinning on, paired pooling) but has no public address,
/// which [`Nat::new`](crate::Nat::new) rejects: set [`NatConfig::public`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NatConfig {
    /// Mapping behaviour (RFC 4787 §4.1; REQ-1 requires endpoint-independent).
    pub mapping: Behaviour,
    /// Filtering behaviour (RFC 4787 §5, REQ-8).
    pub filtering: Behaviour,
    /// The external addresses (at least one, no duplicates). Port forwards use the first one
    /// of their family.
    pub public: Vec<IpAddr>,
    /// UDP mapping lifetime after its last refresh (RFC 4787 §4.3, REQ-5: at least 2 min).
    pub udp_timeout: Duration,
    /// Whether inbound packets that pass filtering refresh a UDP mapping (RFC 4787 §4.3,
    /// REQ-6). Outbound packets always do. TCP connections are refreshed by segments in both
    /// directions whatever this says (RFC 5382 §5).
    pub inbound_refresh: bool,
    /// Idle timeout of an established TCP connection (RFC 5382 §5, REQ-5: at least 2 h 4 min).
    pub tcp_timeout: Duration,
    /// Idle timeout of a TCP connection before its handshake completes and after FIN both
    /// ways or RST (RFC 5382 §5, REQ-5: at least 4 min).
    pub tcp_transitory_timeout: Duration,
    /// How external ports are chosen.
    pub port_allocation: PortAllocation,
    /// The ports dynamic mappings may use. Must not be empty or contain port 0.
    pub port_range: RangeInclusive<u16>,
    /// Whether LAN hosts can reach each other through the public addresses (RFC 4787 §6,
    /// REQ-9; RFC 5382 §7.2).
    pub hairpinning: bool,
    /// How external IPs are chosen when there are several.
    pub pooling: Pooling,
    /// Static forwards.
    pub port_forwards: Vec<PortForward>,
}

impl NatConfig {
    /// Default UDP mapping lifetime: the RFC 4787 REQ-5 minimum.
    pub const DEFAULT_UDP_TIMEOUT: Duration = Duration::from_secs(120);
    /// Default established TCP idle timeout: the RFC 5382 REQ-5 minimum, 2 h 4 min.
    pub const DEFAULT_TCP_TIMEOUT: Duration = Duration::from_secs(2 * 3600 + 4 * 60);
    /// Default transitory TCP idle timeout: the RFC 5382 REQ-5 minimum, 4 min.
    pub const DEFAULT_TCP_TRANSITORY_TIMEOUT: Duration = Duration::from_secs(4 * 60);

    /// The default configuration with the given mapping and filtering behaviours and public
    /// addresses.
    pub fn new(mapping: Behaviour, filtering: Behaviour, public: Vec<IpAddr>) -> Self {
        Self {
            mapping,
            filtering,
            public,
            ..Self::default()
        }
    }

    /// Checks everything [`Nat::new`](crate::Nat::new) relies on.
    ///
    /// # Errors
    /// The first problem found, in field order.
    pub fn validate(&self) -> Result<(), NatConfigError> {
        self.validate_public()?;
        self.validate_ports()?;
        self.validate_timeouts()?;
        self.validate_forwards()
    }

    /// The first public address of `ip`'s family, if any.
    pub fn first_public_of_family(&self, ip: IpAddr) -> Option<IpAddr> {
        self.public
            .iter()
            .copied()
            .find(|p| p.is_ipv4() == ip.is_ipv4())
    }

    fn validate_public(&self) -> Result<(), NatConfigError> {
        if self.public.is_empty() {
            return Err(NatConfigError::NoPublicAddress);
        }
        let mut seen = BTreeSet::new();
        for ip in &self.public {
            if ip.is_unspecified() {
                return Err(NatConfigError::UnspecifiedPublicAddress(*ip));
            }
            if !seen.insert(*ip) {
                return Err(NatConfigError::DuplicatePublicAddress(*ip));
            }
        }
        Ok(())
    }

    fn validate_ports(&self) -> Result<(), NatConfigError> {
        let (start, end) = (*self.port_range.start(), *self.port_range.end());
        if start > end {
            return Err(NatConfigError::EmptyPortRange { start, end });
        }
        if start == 0 {
            return Err(NatConfigError::PortZeroInRange);
        }
        Ok(())
    }

    fn validate_timeouts(&self) -> Result<(), NatConfigError> {
        let timeouts = [
            (self.udp_timeout, TimeoutKind::Udp),
            (self.tcp_timeout, TimeoutKind::TcpEstablished),
            (self.tcp_transitory_timeout, TimeoutKind::TcpTransitory),
        ];
        match timeouts.iter().find(|(d, _)| d.is_zero()) {
            Some((_, kind)) => Err(NatConfigError::ZeroTimeout(*kind)),
            None => Ok(()),
        }
    }

    fn validate_forwards(&self) -> Result<(), NatConfigError> {
        let mut external = BTreeSet::new();
        let mut internal = BTreeSet::new();
        for fwd in &self.port_forwards {
            let protocol = fwd.protocol;
            let port = fwd.external_port;
            if port == 0 {
                return Err(NatConfigError::ForwardPortZero { protocol });
            }
            let Some(ip) = self.first_public_of_family(fwd.internal.ip()) else {
                return Err(NatConfigError::ForwardFamily { protocol, port });
            };
            if !external.insert((protocol, ip, port)) {
                return Err(NatConfigError::DuplicateForward { protocol, port });
            }
            let target = SocketAddr::new(fwd.internal.ip(), fwd.internal.port());
            if !internal.insert((protocol, target)) {
                return Err(NatConfigError::DuplicateForwardTarget { protocol, target });
            }
        }
        Ok(())
    }
}

impl Default for NatConfig {
    fn default() -> Self {
        Self {
            mapping: Behaviour::EndpointIndependent,
            filtering: Behaviour::EndpointIndependent,
            public: Vec::new(),
            udp_timeout: Self::DEFAULT_UDP_TIMEOUT,
            inbound_refresh: false,
            tcp_timeout: Self::DEFAULT_TCP_TIMEOUT,
            tcp_transitory_timeout: Self::DEFAULT_TCP_TRANSITORY_TIMEOUT,
            port_allocation: PortAllocation::Preserve,
            port_range: 1024..=65535,
            hairpinning: true,
            pooling: Pooling::Paired,
            port_forwards: Vec::new(),
        }
    }
}

/// Which timeout a [`NatConfigError::ZeroTimeout`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeoutKind {
    /// [`NatConfig::udp_timeout`].
    Udp,
    /// [`NatConfig::tcp_timeout`].
    TcpEstablished,
    /// [`NatConfig::tcp_transitory_timeout`].
    TcpTransitory,
}

impl fmt::Display for TimeoutKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Udp => "udp",
            Self::TcpEstablished => "tcp established",
            Self::TcpTransitory => "tcp transitory",
        })
    }
}

/// Why a [`NatConfig`] was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NatConfigError {
    /// [`NatConfig::public`] is empty.
    #[error("no public address configured")]
    NoPublicAddress,
    /// A public address is `0.0.0.0` or `::`.
    #[error("public address {0} is unspecified")]
    UnspecifiedPublicAddress(IpAddr),
    /// A public address is listed twice.
    #[error("public address {0} is listed twice")]
    DuplicatePublicAddress(IpAddr),
    /// The port range has no port.
    #[error("port range {start}..={end} is empty")]
    EmptyPortRange {
        /// First port.
        start: u16,
        /// Last port.
        end: u16,
    },
    /// The port range includes port 0, which no packet can use.
    #[error("port range includes port 0")]
    PortZeroInRange,
    /// A timeout is zero.
    #[error("{0} timeout is zero")]
    ZeroTimeout(TimeoutKind),
    /// A port forward uses external port 0.
    #[error("{protocol} port forward uses external port 0")]
    ForwardPortZero {
        /// Protocol of the forward.
        protocol: Protocol,
    },
    /// No public address has the family of the forward's internal address.
    #[error("{protocol} port forward {port} has no public address of its family")]
    ForwardFamily {
        /// Protocol of the forward.
        protocol: Protocol,
        /// External port.
        port: u16,
    },
    /// Two forwards claim the same external port.
    #[error("{protocol} port {port} is forwarded twice")]
    DuplicateForward {
        /// Protocol of the forwards.
        protocol: Protocol,
        /// External port.
        port: u16,
    },
    /// Two forwards lead to the same internal endpoint, so its outbound source is ambiguous.
    #[error("{protocol} forwards lead twice to {target}")]
    DuplicateForwardTarget {
        /// Protocol of the forwards.
        protocol: Protocol,
        /// Internal endpoint.
        target: SocketAddr,
    },
}

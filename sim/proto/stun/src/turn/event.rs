//! What a TURN server is configured with and what it reports.

use super::LongTerm;
use super::alloc::TurnTransport;
use sim_core::LogEvent;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// What a [`TurnServer`](crate::TurnServer) is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TurnServerConfig {
    /// Listening address (UDP, and TCP if `tcp`). An unspecified IP means the node's address.
    pub listen: SocketAddr,
    /// Whether clients may also reach the server over TCP on the same port.
    pub tcp: bool,
    /// Long-term credentials (realm, accounts, nonce lifetime).
    pub credentials: LongTerm,
    /// SOFTWARE in responses; `None` omits it.
    pub software: Option<String>,
    /// Allocation lifetime when the client asks for none or less (RFC 5766 §6.2: 600 s).
    pub default_lifetime: Duration,
    /// The longest allocation lifetime granted (coturn: 3600 s).
    pub max_lifetime: Duration,
    /// Permission lifetime (RFC 5766 §8: 300 s).
    pub permission_lifetime: Duration,
    /// Channel binding lifetime (RFC 5766 §11: 600 s).
    pub channel_lifetime: Duration,
}

impl TurnServerConfig {
    /// A UDP+TCP server on `listen` with `credentials` and the RFC 5766 lifetimes.
    pub fn new(listen: SocketAddr, credentials: LongTerm) -> Self {
        Self {
            listen,
            tcp: true,
            credentials,
            software: Some("natlab".to_owned()),
            default_lifetime: Duration::from_secs(600),
            max_lifetime: Duration::from_secs(3600),
            permission_lifetime: Duration::from_secs(300),
            channel_lifetime: Duration::from_secs(600),
        }
    }
}

/// Admission policy for new allocations, switchable with [`TurnServer::set_policy`](crate::TurnServer::set_policy).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TurnPolicy {
    /// Allocations one user may hold; one more gets 486 Allocation Quota Reached.
    pub user_quota: Option<usize>,
    /// Allocations the server holds in all; one more gets 508 Insufficient Capacity.
    pub capacity: Option<usize>,
    /// Refuse every (authenticated) Allocate with this code (403, 500...).
    pub reject_allocate: Option<u16>,
}

/// Why an allocation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeleteReason {
    /// Refresh with LIFETIME 0.
    Refreshed,
    /// Its lifetime ran out.
    Expired,
    /// Its TCP connection closed or failed.
    ConnectionClosed,
    /// The relay port could not be bound.
    BindFailed,
}

impl fmt::Display for DeleteReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Refreshed => "refresh with lifetime 0",
            Self::Expired => "lifetime expired",
            Self::ConnectionClosed => "connection closed",
            Self::BindFailed => "relay port bind failed",
        })
    }
}

/// What a [`TurnServer`](crate::TurnServer) reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TurnServerEvent {
    /// An allocation was granted.
    AllocationCreated {
        /// The client as the server sees it.
        client: SocketAddr,
        /// Its transport to the server.
        transport: TurnTransport,
        /// The user.
        username: String,
        /// The relayed transport address.
        relay: SocketAddr,
        /// Granted lifetime.
        lifetime: Duration,
    },
    /// An allocation was refreshed.
    AllocationRefreshed {
        /// The relayed address.
        relay: SocketAddr,
        /// New lifetime.
        lifetime: Duration,
    },
    /// An allocation ended.
    AllocationDeleted {
        /// The relayed address (`None` if the bind never completed).
        relay: Option<SocketAddr>,
        /// Why.
        reason: DeleteReason,
    },
    /// A permission was installed for a peer IP.
    PermissionCreated {
        /// The allocation.
        relay: SocketAddr,
        /// The peer IP.
        peer: IpAddr,
    },
    /// A permission expired.
    PermissionExpired {
        /// The allocation.
        relay: SocketAddr,
        /// The peer IP.
        peer: IpAddr,
    },
    /// A channel was bound.
    ChannelBound {
        /// The allocation.
        relay: SocketAddr,
        /// Channel number.
        channel: u16,
        /// The peer.
        peer: SocketAddr,
    },
    /// A channel binding expired.
    ChannelExpired {
        /// The allocation.
        relay: SocketAddr,
        /// Channel number.
        channel: u16,
    },
    /// A request was answered with an error.
    Rejected {
        /// The client.
        client: SocketAddr,
        /// The request's method.
        method: &'static str,
        /// The ERROR-CODE.
        code: u16,
    },
    /// A message was ignored (not STUN, no allocation, no permission, bad framing).
    Ignored {
        /// Its sender.
        from: SocketAddr,
        /// Why.
        reason: &'static str,
    },
    /// A listening port could not be bound.
    BindFailed {
        /// The port.
        port: u16,
        /// Why.
        error: String,
    },
}

impl TurnServerEvent {
    /// Per-packet noise (ignored messages and unpermitted peer packets): a driver may count
    /// these instead of logging each one.
    pub const fn is_traffic(&self) -> bool {
        matches!(self, Self::Ignored { .. })
    }

    /// The event's name in the event log.
    pub const fn name(&self) -> &'static str {
        match self {
            Self::AllocationCreated { .. } => "turn-allocation-created",
            Self::AllocationRefreshed { .. } => "turn-allocation-refreshed",
            Self::AllocationDeleted { .. } => "turn-allocation-deleted",
            Self::PermissionCreated { .. } => "turn-permission-created",
            Self::PermissionExpired { .. } => "turn-permission-expired",
            Self::ChannelBound { .. } => "turn-channel-bound",
            Self::ChannelExpired { .. } => "turn-channel-expired",
            Self::Rejected { .. } => "turn-request-rejected",
            Self::Ignored { .. } => "turn-message-ignored",
            Self::BindFailed { .. } => "bind-failed",
        }
    }
}

impl From<&TurnServerEvent> for LogEvent {
    fn from(e: &TurnServerEvent) -> Self {
        use TurnServerEvent as E;
        let log = Self::named(e.name());
        let detail = match e {
            E::AllocationCreated {
                client,
                transport,
                username,
                relay,
                lifetime,
            } => format!(
                "{relay} for {username} at {client} over {transport}, lifetime {}s",
                lifetime.as_secs()
            ),
            E::AllocationRefreshed { relay, lifetime } => {
                format!("{relay}, lifetime {}s", lifetime.as_secs())
            }
            E::AllocationDeleted { relay, reason } => match relay {
                Some(r) => format!("{r}: {reason}"),
                None => reason.to_string(),
            },
            E::PermissionCreated { relay, peer } | E::PermissionExpired { relay, peer } => {
                format!("{relay} peer {peer}")
            }
            E::ChannelBound {
                relay,
                channel,
                peer,
            } => format!("{relay} channel {channel:#06x} -> {peer}"),
            E::ChannelExpired { relay, channel } => format!("{relay} channel {channel:#06x}"),
            E::Rejected {
                client,
                method,
                code,
            } => {
                return log
                    .with_status(u32::from(*code))
                    .with_detail(format!("{method} from {client}"));
            }
            E::Ignored { from, reason } => format!("{from}: {reason}"),
            E::BindFailed { port, error } => format!("port {port}: {error}"),
        };
        log.with_detail(detail)
    }
}

/// Relayed traffic counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TurnStats {
    /// Datagrams sent from a relay to a peer.
    pub to_peers: u64,
    /// Messages (Data indications or ChannelData) sent to clients.
    pub to_clients: u64,
    /// Peer datagrams dropped for lack of a permission.
    pub filtered: u64,
}

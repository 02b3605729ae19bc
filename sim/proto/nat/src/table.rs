//! The mapping table: dynamic mappings with their filtering permissions and TCP connections,
//! static port forwards, and one ordered deadline index for everything that expires.
//!
//! Every lookup a packet needs is a `BTreeMap` search, so a packet costs O(log n) in the
//! number of mappings. The deadline index holds one entry per expiring item (UDP mapping,
//! permission, TCP connection); [`Table::expire`] pops the due ones, so memory stays bounded by
//! the live state and [`Table::next_deadline`] is the earliest expiry.

use crate::config::{Behaviour, NatConfig};
use crate::packet::{DropReason, MappingScope, MappingView, TcpFlags};
use crate::tcp::{Direction, TcpConn};
use sim_core::{Protocol, SimInstant};
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};

/// Identifies a dynamic mapping for the lifetime of a [`Table`]; never reused.
pub(crate) type MappingId = u64;

/// What identifies a dynamic mapping (RFC 4787 §4.1): protocol, internal endpoint and the
/// remote part chosen by the mapping behaviour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct MappingKey {
    pub(crate) protocol: Protocol,
    pub(crate) internal: SocketAddr,
    pub(crate) scope: MappingScope,
}

impl MappingKey {
    /// The key of the mapping a packet from `internal` to `remote` uses.
    pub(crate) fn new(
        protocol: Protocol,
        internal: SocketAddr,
        remote: SocketAddr,
        mapping: Behaviour,
    ) -> Self {
        let scope = match mapping {
            Behaviour::EndpointIndependent => MappingScope::Any,
            Behaviour::AddressDependent => MappingScope::Address(remote.ip()),
            Behaviour::AddressAndPortDependent => MappingScope::Endpoint(remote),
        };
        Self {
            protocol,
            internal,
            scope,
        }
    }
}

/// One dynamic mapping.
#[derive(Clone, Debug)]
pub(crate) struct Mapping {
    pub(crate) key: MappingKey,
    pub(crate) external: SocketAddr,
    /// UDP: when the mapping expires unless refreshed. Unused for TCP, whose mappings live as
    /// long as one of their connections.
    udp_deadline: SimInstant,
    /// Address-dependent filtering: remote IP -> permission deadline.
    addr_perms: BTreeMap<IpAddr, SimInstant>,
    /// Address-and-port-dependent filtering: remote endpoint -> permission deadline.
    endpoint_perms: BTreeMap<SocketAddr, SimInstant>,
    /// TCP connections by remote endpoint.
    conns: BTreeMap<SocketAddr, TcpConn>,
}

impl Mapping {
    /// The mapping as reported, `expires` being its deadline as things stand.
    pub(crate) fn view(&self) -> MappingView {
        MappingView {
            protocol: self.key.protocol,
            internal: self.key.internal,
            external: self.external,
            scope: self.key.scope,
            expires: Some(self.deadline()),
        }
    }

    /// When the mapping expires as things stand.
    fn deadline(&self) -> SimInstant {
        match self.key.protocol {
            Protocol::Udp => self.udp_deadline,
            Protocol::Tcp => self
                .conns
                .values()
                .map(|c| c.deadline)
                .max()
                .unwrap_or(SimInstant::ZERO),
        }
    }

    /// RFC 4787 §5: may `remote` send to this UDP mapping?
    fn udp_allows(&self, remote: SocketAddr, filtering: Behaviour, now: SimInstant) -> bool {
        let live = |deadline: Option<&SimInstant>| deadline.is_some_and(|d| now < *d);
        match filtering {
            Behaviour::EndpointIndependent => true,
            Behaviour::AddressDependent => live(self.addr_perms.get(&remote.ip())),
            Behaviour::AddressAndPortDependent => live(self.endpoint_perms.get(&remote)),
        }
    }

    /// RFC 5382 §4.3: may `remote` open a new connection on this TCP mapping? Permission
    /// comes from a live connection the LAN side has sent on.
    fn tcp_allows(&self, remote: SocketAddr, filtering: Behaviour, now: SimInstant) -> bool {
        let ip = remote.ip();
        match filtering {
            Behaviour::EndpointIndependent => true,
            Behaviour::AddressDependent => self
                .conns
                .range(SocketAddr::new(ip, 0)..=SocketAddr::new(ip, u16::MAX))
                .any(|(_, c)| c.sent_out && now < c.deadline),
            // The exact endpoint would already have a connection.
            Behaviour::AddressAndPortDependent => false,
        }
    }
}

/// An entry of the deadline index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    Mapping(MappingId),
    AddressPermission(MappingId, IpAddr),
    EndpointPermission(MappingId, SocketAddr),
    Connection(MappingId, SocketAddr),
}

/// What an external (protocol, address) leads to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Slot {
    Dynamic(MappingId),
    /// A static port forward to this internal endpoint.
    Forward(SocketAddr),
}

#[derive(Clone, Debug, Default)]
pub(crate) struct Table {
    next_id: MappingId,
    mappings: BTreeMap<MappingId, Mapping>,
    by_key: BTreeMap<MappingKey, MappingId>,
    by_external: BTreeMap<(Protocol, SocketAddr), Slot>,
    /// Static forwards: (protocol, internal) -> external.
    forwards: BTreeMap<(Protocol, SocketAddr), SocketAddr>,
    timers: BTreeSet<(SimInstant, Timer)>,
}

impl Table {
    pub(crate) fn add_forward(
        &mut self,
        protocol: Protocol,
        internal: SocketAddr,
        external: SocketAddr,
    ) {
        self.forwards.insert((protocol, internal), external);
        self.by_external
            .insert((protocol, external), Slot::Forward(internal));
    }

    /// The external source of a forwarded internal endpoint.
    pub(crate) fn forward_source(
        &self,
        protocol: Protocol,
        internal: SocketAddr,
    ) -> Option<SocketAddr> {
        self.forwards.get(&(protocol, internal)).copied()
    }

    pub(crate) fn slot(&self, protocol: Protocol, external: SocketAddr) -> Option<Slot> {
        self.by_external.get(&(protocol, external)).copied()
    }

    pub(crate) fn find(&self, key: &MappingKey) -> Option<MappingId> {
        self.by_key.get(key).copied()
    }

    pub(crate) fn get(&self, id: MappingId) -> Option<&Mapping> {
        self.mappings.get(&id)
    }

    pub(crate) fn len(&self) -> usize {
        self.mappings.len()
    }

    /// Adds a mapping whose external address the caller has just allocated. A UDP mapping
    /// must be refreshed by [`Table::udp_outbound`] and a TCP one given a connection by
    /// [`Table::tcp_segment`] right away.
    pub(crate) fn insert(&mut self, key: MappingKey, external: SocketAddr) -> MappingId {
        let id = self.next_id;
        self.next_id += 1;
        let mapping = Mapping {
            key,
            external,
            udp_deadline: SimInstant::ZERO,
            addr_perms: BTreeMap::new(),
            endpoint_perms: BTreeMap::new(),
            conns: BTreeMap::new(),
        };
        self.mappings.insert(id, mapping);
        self.by_key.insert(key, id);
        self.by_external
            .insert((key.protocol, external), Slot::Dynamic(id));
        if key.protocol == Protocol::Udp {
            self.timers.insert((SimInstant::ZERO, Timer::Mapping(id)));
        }
        id
    }

    /// Removes a mapping with its permissions, connections and timers.
    pub(crate) fn remove(&mut self, id: MappingId) -> Option<Mapping> {
        let m = self.mappings.remove(&id)?;
        self.by_key.remove(&m.key);
        self.by_external.remove(&(m.key.protocol, m.external));
        self.timers.remove(&(m.udp_deadline, Timer::Mapping(id)));
        for (ip, at) in &m.addr_perms {
            self.timers
                .remove(&(*at, Timer::AddressPermission(id, *ip)));
        }
        for (ep, at) in &m.endpoint_perms {
            self.timers
                .remove(&(*at, Timer::EndpointPermission(id, *ep)));
        }
        for (ep, conn) in &m.conns {
            self.timers
                .remove(&(conn.deadline, Timer::Connection(id, *ep)));
        }
        Some(m)
    }

    /// Drops every dynamic mapping (forwards stay) and returns them.
    pub(crate) fn clear_dynamic(&mut self) -> Vec<Mapping> {
        self.timers.clear();
        self.by_key.clear();
        self.by_external
            .retain(|_, slot| matches!(slot, Slot::Forward(_)));
        std::mem::take(&mut self.mappings).into_values().collect()
    }

    pub(crate) fn next_deadline(&self) -> Option<SimInstant> {
        self.timers.first().map(|(at, _)| *at)
    }

    /// Purges everything whose deadline is at or before `now`; returns the mappings removed.
    pub(crate) fn expire(&mut self, now: SimInstant) -> Vec<Mapping> {
        let mut removed = Vec::new();
        while let Some(&(at, timer)) = self.timers.first() {
            if at > now {
                break;
            }
            self.timers.pop_first();
            if let Some(m) = self.fire(timer) {
                removed.push(m);
            }
        }
        removed
    }

    /// Acts on one due timer; returns the mapping if it went away.
    fn fire(&mut self, timer: Timer) -> Option<Mapping> {
        match timer {
            Timer::Mapping(id) => self.remove(id),
            Timer::AddressPermission(id, ip) => {
                self.mappings.get_mut(&id)?.addr_perms.remove(&ip);
                None
            }
            Timer::EndpointPermission(id, ep) => {
                self.mappings.get_mut(&id)?.endpoint_perms.remove(&ep);
                None
            }
            Timer::Connection(id, ep) => {
                let m = self.mappings.get_mut(&id)?;
                m.conns.remove(&ep);
                if m.conns.is_empty() {
                    self.remove(id)
                } else {
                    None
                }
            }
        }
    }

    /// Moves a timer to a new deadline.
    fn retime(
        timers: &mut BTreeSet<(SimInstant, Timer)>,
        old: SimInstant,
        new: SimInstant,
        timer: Timer,
    ) {
        timers.remove(&(old, timer));
        timers.insert((new, timer));
    }

    /// Refreshes a UDP mapping until `until` (RFC 4787 §4.3).
    pub(crate) fn udp_refresh(&mut self, id: MappingId, until: SimInstant) {
        if let Some(m) = self.mappings.get_mut(&id) {
            Self::retime(&mut self.timers, m.udp_deadline, until, Timer::Mapping(id));
            m.udp_deadline = until;
        }
    }

    /// An outbound UDP packet to `remote`: refreshes the mapping and the permission its
    /// filtering behaviour needs, both until `until`.
    pub(crate) fn udp_outbound(
        &mut self,
        id: MappingId,
        remote: SocketAddr,
        filtering: Behaviour,
        until: SimInstant,
    ) {
        self.udp_refresh(id, until);
        let Some(m) = self.mappings.get_mut(&id) else {
            return;
        };
        match filtering {
            Behaviour::EndpointIndependent => {}
            Behaviour::AddressDependent => {
                let ip = remote.ip();
                let old = m.addr_perms.insert(ip, until).unwrap_or(until);
                Self::retime(
                    &mut self.timers,
                    old,
                    until,
                    Timer::AddressPermission(id, ip),
                );
            }
            Behaviour::AddressAndPortDependent => {
                let old = m.endpoint_perms.insert(remote, until).unwrap_or(until);
                Self::retime(
                    &mut self.timers,
                    old,
                    until,
                    Timer::EndpointPermission(id, remote),
                );
            }
        }
    }

    /// An inbound UDP packet from `remote`: filtering, then the optional inbound refresh.
    pub(crate) fn udp_inbound(
        &mut self,
        id: MappingId,
        remote: SocketAddr,
        filtering: Behaviour,
        now: SimInstant,
        refresh_until: Option<SimInstant>,
    ) -> Result<(), DropReason> {
        let m = self.mappings.get(&id).ok_or(DropReason::NoMapping)?;
        if !m.udp_allows(remote, filtering, now) {
            return Err(DropReason::Filtered);
        }
        if let Some(until) = refresh_until {
            self.udp_refresh(id, until);
        }
        Ok(())
    }

    /// A TCP segment between the mapping's internal endpoint and `remote`: updates the
    /// connection it belongs to or opens one (outbound SYN; inbound SYN if filtering allows).
    pub(crate) fn tcp_segment(
        &mut self,
        id: MappingId,
        remote: SocketAddr,
        dir: Direction,
        flags: TcpFlags,
        now: SimInstant,
        config: &NatConfig,
    ) -> Result<(), DropReason> {
        let m = self.mappings.get_mut(&id).ok_or(DropReason::NoMapping)?;
        if let Some(conn) = m.conns.get_mut(&remote).filter(|c| now < c.deadline) {
            let old = conn.deadline;
            conn.on_segment(now, dir, flags, config);
            Self::retime(
                &mut self.timers,
                old,
                conn.deadline,
                Timer::Connection(id, remote),
            );
            return Ok(());
        }
        if dir == Direction::Inbound && !m.tcp_allows(remote, config.filtering, now) {
            return Err(DropReason::Filtered);
        }
        if !flags.opens() {
            return Err(DropReason::NoConnection);
        }
        let conn = TcpConn::open(now, dir, flags, config);
        if let Some(stale) = m.conns.insert(remote, conn) {
            self.timers
                .remove(&(stale.deadline, Timer::Connection(id, remote)));
        }
        self.timers
            .insert((conn.deadline, Timer::Connection(id, remote)));
        Ok(())
    }

    /// Live mappings and forwards, ordered by (protocol, external address).
    pub(crate) fn views(&self, now: SimInstant) -> impl Iterator<Item = MappingView> + '_ {
        self.by_external
            .iter()
            .filter_map(move |(&(protocol, external), slot)| match *slot {
                Slot::Forward(internal) => Some(MappingView {
                    protocol,
                    internal,
                    external,
                    scope: MappingScope::Any,
                    expires: None,
                }),
                Slot::Dynamic(id) => {
                    let m = self.mappings.get(&id)?;
                    let deadline = m.deadline();
                    (now < deadline).then_some(MappingView {
                        protocol,
                        internal: m.key.internal,
                        external,
                        scope: m.key.scope,
                        expires: Some(deadline),
                    })
                }
            })
    }
}

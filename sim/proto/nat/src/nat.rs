//! The NAT box: translation of outbound packets, admission of inbound ones, hairpinning, and
//! the state-loss events (flush, reboot).

use crate::alloc::{AddressPool, PortPool};
use crate::config::{NatConfig, NatConfigError};
use crate::packet::{DropReason, MappingView, PacketMeta, TcpFlags, Verdict};
use crate::table::{MappingId, MappingKey, Slot, Table};
use crate::tcp::Direction;
use sim_core::{Protocol, Seed, SimInstant, SimRng};
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};

/// One NAT box. See the crate documentation for the behaviours and the drive contract.
#[derive(Clone, Debug)]
pub struct Nat {
    config: NatConfig,
    /// The public addresses, for [`Nat::owns`].
    public: BTreeSet<IpAddr>,
    /// The public addresses by family, in configuration order (the pools new mappings draw
    /// from).
    public_v4: Vec<IpAddr>,
    public_v6: Vec<IpAddr>,
    rng: SimRng,
    table: Table,
    ports: BTreeMap<(Protocol, IpAddr), PortPool>,
    addresses: AddressPool,
}

impl Nat {
    /// A NAT with no dynamic state. Random port and address choices come from `seed.rng()`.
    ///
    /// # Errors
    /// The configuration's first problem (see [`NatConfig::validate`]).
    pub fn new(config: NatConfig, seed: Seed) -> Result<Self, NatConfigError> {
        config.validate()?;
        let mut nat = Self {
            config,
            public: BTreeSet::new(),
            public_v4: Vec::new(),
            public_v6: Vec::new(),
            rng: seed.rng(),
            table: Table::default(),
            ports: BTreeMap::new(),
            addresses: AddressPool::default(),
        };
        nat.restart();
        Ok(nat)
    }

    /// The configuration (with the public addresses of the last reboot).
    pub fn config(&self) -> &NatConfig {
        &self.config
    }

    /// Whether `ip` is one of the NAT's public addresses.
    pub fn owns(&self, ip: IpAddr) -> bool {
        self.public.contains(&ip)
    }

    /// A packet from the LAN to outside, or to one of the NAT's own public addresses
    /// (hairpinning, RFC 4787 §6).
    ///
    /// The source is translated first (creating or refreshing the sender's mapping). A packet
    /// to a public address of the NAT then goes through [`Nat::inbound`]'s rules with the
    /// sender's external address as its source, and comes back as [`Verdict::Hairpin`].
    pub fn outbound(&mut self, now: SimInstant, packet: &PacketMeta) -> Verdict {
        self.handle_timeout(now);
        let (src, dst) = (canonical(packet.src), canonical(packet.dst));
        let flags = packet.flags();
        let external = match self.translate(now, packet.protocol, src, dst, flags) {
            Ok(external) => external,
            Err(reason) => return Verdict::Drop(reason),
        };
        if !self.owns(dst.ip()) {
            return Verdict::Forward { src: external, dst };
        }
        if !self.config.hairpinning {
            return Verdict::Drop(DropReason::NoHairpin);
        }
        match self.admit(now, packet.protocol, external, dst, flags) {
            Ok(internal) => Verdict::Hairpin {
                src: external,
                dst: internal,
            },
            Err(reason) => Verdict::Drop(reason),
        }
    }

    /// A packet from the upstream network to one of the NAT's public addresses.
    pub fn inbound(&mut self, now: SimInstant, packet: &PacketMeta) -> Verdict {
        self.handle_timeout(now);
        let (src, dst) = (canonical(packet.src), canonical(packet.dst));
        if !self.owns(dst.ip()) {
            return Verdict::Drop(DropReason::NotOurAddress);
        }
        match self.admit(now, packet.protocol, src, dst, packet.flags()) {
            Ok(internal) => Verdict::Forward { src, dst: internal },
            Err(reason) => Verdict::Drop(reason),
        }
    }

    /// Purges every mapping, permission and connection that expired at or before `now`.
    /// [`Nat::outbound`] and [`Nat::inbound`] do this too, so expired state never decides a
    /// verdict; calling it at [`Nat::poll_timeout`] keeps an idle NAT's memory bounded.
    pub fn handle_timeout(&mut self, now: SimInstant) {
        let _ = self.expire(now);
    }

    /// [`Nat::handle_timeout`], returning the mappings it removed in the order they expired;
    /// each one's `expires` is the instant it expired.
    pub fn expire(&mut self, now: SimInstant) -> Vec<MappingView> {
        let removed = self.table.expire(now);
        removed
            .iter()
            .map(|mapping| {
                self.release(mapping.key.protocol, mapping.external);
                mapping.view()
            })
            .collect()
    }

    /// The earliest instant at which some state expires, if any.
    pub fn poll_timeout(&self) -> Option<SimInstant> {
        self.table.next_deadline()
    }

    /// Loses every dynamic mapping, as a state flush does. Port forwards, the sequential
    /// allocation cursors and the paired address assignments stay.
    pub fn flush(&mut self) {
        for mapping in self.table.clear_dynamic() {
            self.release(mapping.key.protocol, mapping.external);
        }
    }

    /// Reboots: [`Nat::flush`], then resets the sequential allocation cursors and the paired
    /// address assignments, and takes `new_public` as the public addresses when given. If
    /// `new_public` is invalid (see [`NatConfig::validate`]) the NAT still reboots but keeps
    /// its addresses; [`Nat::try_reboot`] reports the error instead. The RNG is not reseeded,
    /// so a rebooted NAT does not replay its earlier random choices.
    pub fn reboot(&mut self, new_public: Option<Vec<IpAddr>>) {
        if self.try_reboot(new_public).is_err() {
            self.restart();
        }
    }

    /// [`Nat::reboot`], or an error (and no change at all) if `new_public` is invalid.
    ///
    /// # Errors
    /// The problem with the new public addresses.
    pub fn try_reboot(&mut self, new_public: Option<Vec<IpAddr>>) -> Result<(), NatConfigError> {
        if let Some(public) = new_public {
            let candidate = NatConfig {
                public,
                ..self.config.clone()
            };
            candidate.validate()?;
            self.config = candidate;
        }
        self.restart();
        Ok(())
    }

    /// Live mappings and port forwards in a stable order (protocol, then external address).
    pub fn mappings(&self, now: SimInstant) -> impl Iterator<Item = MappingView> + '_ {
        self.table.views(now)
    }

    /// Dynamic mappings held, including expired ones not yet purged by
    /// [`Nat::handle_timeout`]; port forwards are not counted.
    pub fn mapping_count(&self) -> usize {
        self.table.len()
    }

    /// Drops all dynamic state and rebuilds the address and port pools from the configuration.
    fn restart(&mut self) {
        self.table = Table::default();
        self.ports.clear();
        self.addresses = AddressPool::default();
        self.public = self.config.public.iter().copied().collect();
        let (v4, v6) = self.config.public.iter().partition(|ip| ip.is_ipv4());
        (self.public_v4, self.public_v6) = (v4, v6);
        for fwd in &self.config.port_forwards {
            let Some(ip) = self.config.first_public_of_family(fwd.internal.ip()) else {
                continue; // rejected by validation
            };
            let external = SocketAddr::new(ip, fwd.external_port);
            self.table
                .add_forward(fwd.protocol, canonical(fwd.internal), external);
            self.ports
                .entry((fwd.protocol, ip))
                .or_insert_with(|| PortPool::new(&self.config.port_range))
                .reserve(fwd.external_port);
        }
    }

    /// The external source for an outbound packet, creating or refreshing its mapping.
    fn translate(
        &mut self,
        now: SimInstant,
        protocol: Protocol,
        src: SocketAddr,
        dst: SocketAddr,
        flags: TcpFlags,
    ) -> Result<SocketAddr, DropReason> {
        if let Some(external) = self.table.forward_source(protocol, src) {
            return Ok(external);
        }
        let key = MappingKey::new(protocol, src, dst, self.config.mapping);
        let id = match self.table.find(&key) {
            Some(id) => id,
            None if protocol == Protocol::Tcp && !flags.opens() => {
                return Err(DropReason::NoMapping);
            }
            None => self.create(key, dst.ip())?,
        };
        match protocol {
            Protocol::Udp => {
                let until = now + self.config.udp_timeout;
                self.table
                    .udp_outbound(id, dst, self.config.filtering, until);
            }
            Protocol::Tcp => {
                self.table
                    .tcp_segment(id, dst, Direction::Outbound, flags, now, &self.config)?;
            }
        }
        self.external_of(id)
    }

    /// A new mapping for `key`: external IP by the pooling behaviour, port by the allocation
    /// mode.
    fn create(&mut self, key: MappingKey, remote_ip: IpAddr) -> Result<MappingId, DropReason> {
        let candidates = if remote_ip.is_ipv4() {
            &self.public_v4
        } else {
            &self.public_v6
        };
        if candidates.is_empty() {
            return Err(DropReason::NoAddressOfFamily);
        }
        let order = self.addresses.choose(
            self.config.pooling,
            key.internal.ip(),
            candidates,
            &mut self.rng,
        );
        for ip in order {
            let pool = self
                .ports
                .entry((key.protocol, ip))
                .or_insert_with(|| PortPool::new(&self.config.port_range));
            let allocation = self.config.port_allocation;
            if let Some(port) = pool.allocate(allocation, key.internal.port(), &mut self.rng) {
                return Ok(self.table.insert(key, SocketAddr::new(ip, port)));
            }
        }
        Err(DropReason::PortsExhausted)
    }

    /// The internal destination for a packet from `remote` to `external`, if a forward or a
    /// mapping leads there and filtering lets it through.
    fn admit(
        &mut self,
        now: SimInstant,
        protocol: Protocol,
        remote: SocketAddr,
        external: SocketAddr,
        flags: TcpFlags,
    ) -> Result<SocketAddr, DropReason> {
        let id = match self.table.slot(protocol, external) {
            None => return Err(DropReason::NoMapping),
            Some(Slot::Forward(internal)) => return Ok(internal),
            Some(Slot::Dynamic(id)) => id,
        };
        match protocol {
            Protocol::Udp => {
                let refresh = self
                    .config
                    .inbound_refresh
                    .then(|| now + self.config.udp_timeout);
                let filtering = self.config.filtering;
                self.table
                    .udp_inbound(id, remote, filtering, now, refresh)?;
            }
            Protocol::Tcp => {
                self.table
                    .tcp_segment(id, remote, Direction::Inbound, flags, now, &self.config)?;
            }
        }
        self.table
            .get(id)
            .map(|m| m.key.internal)
            .ok_or(DropReason::NoMapping)
    }

    fn external_of(&self, id: MappingId) -> Result<SocketAddr, DropReason> {
        self.table
            .get(id)
            .map(|m| m.external)
            .ok_or(DropReason::NoMapping)
    }

    fn release(&mut self, protocol: Protocol, external: SocketAddr) {
        if let Some(pool) = self.ports.get_mut(&(protocol, external.ip())) {
            pool.release(external.port());
        }
    }
}

/// `addr` without IPv6 flow label and scope id, so equal endpoints compare equal.
fn canonical(addr: SocketAddr) -> SocketAddr {
    SocketAddr::new(addr.ip(), addr.port())
}

//! TCP connection tracking (RFC 5382 §5), one entry per remote endpoint of a TCP mapping.
//!
//! ```text
//!                SYN out (creates)            SYN seen both ways
//!   (none) ───────────────────────► Opening ─────────────────────► Established
//!     │   SYN in, if filtering allows  │ transitory timeout             │ established timeout
//!     └───────────────────────────────►┘                                │
//!                                      │ RST, or FIN both ways          │ RST, or FIN both ways
//!                                      ▼                                ▼
//!                                   Closing ◄───────────────────────────┘
//!                                      │ transitory timeout; a new SYN starts over at Opening
//! ```
//!
//! Every segment of the connection, in either direction, refreshes its idle timer: the
//! established timeout applies in `Established`, the transitory timeout otherwise. A TCP mapping
//! lives as long as one of its connections does.

use crate::config::NatConfig;
use crate::packet::TcpFlags;
use sim_core::SimInstant;
use std::time::Duration;

/// Which way a segment crosses the NAT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    /// LAN to outside.
    Outbound,
    /// Outside to LAN.
    Inbound,
}

/// Where a tracked connection is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Handshake not complete (SYN seen in at most one direction).
    Opening,
    /// SYN seen both ways.
    Established,
    /// FIN seen both ways, or RST.
    Closing,
}

/// The tracked state of one TCP connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TcpConn {
    syn_out: bool,
    syn_in: bool,
    fin_out: bool,
    fin_in: bool,
    rst: bool,
    /// Whether the LAN side has sent anything on it (address-dependent filtering of new
    /// inbound connections looks at this).
    pub(crate) sent_out: bool,
    /// When the connection expires unless a segment refreshes it.
    pub(crate) deadline: SimInstant,
}

impl TcpConn {
    /// A connection opened by its first segment (which must be a SYN).
    pub(crate) fn open(
        now: SimInstant,
        dir: Direction,
        flags: TcpFlags,
        config: &NatConfig,
    ) -> Self {
        let mut conn = Self {
            syn_out: false,
            syn_in: false,
            fin_out: false,
            fin_in: false,
            rst: false,
            sent_out: false,
            deadline: now,
        };
        conn.on_segment(now, dir, flags, config);
        conn
    }

    pub(crate) fn phase(&self) -> Phase {
        if self.rst || (self.fin_out && self.fin_in) {
            Phase::Closing
        } else if self.syn_out && self.syn_in {
            Phase::Established
        } else {
            Phase::Opening
        }
    }

    /// Records a segment and refreshes the idle timer.
    pub(crate) fn on_segment(
        &mut self,
        now: SimInstant,
        dir: Direction,
        flags: TcpFlags,
        config: &NatConfig,
    ) {
        if flags.opens() && self.phase() == Phase::Closing {
            // A new connection reusing the same endpoints.
            *self = Self::open(now, dir, flags, config);
            return;
        }
        let outbound = dir == Direction::Outbound;
        self.sent_out |= outbound;
        if flags.opens() {
            *self.pick(outbound, Flag::Syn) = true;
        }
        if flags.fin {
            *self.pick(outbound, Flag::Fin) = true;
        }
        self.rst |= flags.rst;
        self.deadline = now + self.idle_timeout(config);
    }

    fn idle_timeout(&self, config: &NatConfig) -> Duration {
        match self.phase() {
            Phase::Established => config.tcp_timeout,
            Phase::Opening | Phase::Closing => config.tcp_transitory_timeout,
        }
    }

    fn pick(&mut self, outbound: bool, flag: Flag) -> &mut bool {
        match (flag, outbound) {
            (Flag::Syn, true) => &mut self.syn_out,
            (Flag::Syn, false) => &mut self.syn_in,
            (Flag::Fin, true) => &mut self.fin_out,
            (Flag::Fin, false) => &mut self.fin_in,
        }
    }
}

#[derive(Clone, Copy)]
enum Flag {
    Syn,
    Fin,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> NatConfig {
        NatConfig::default()
    }

    fn at(secs: u64) -> SimInstant {
        SimInstant::from_micros(secs * 1_000_000)
    }

    #[test]
    fn tcp_conn_syn_out_then_syn_in_established_with_long_timeout() {
        let c = cfg();
        let mut conn = TcpConn::open(at(0), Direction::Outbound, TcpFlags::SYN, &c);
        assert_eq!(conn.phase(), Phase::Opening);
        assert_eq!(conn.deadline, at(0) + c.tcp_transitory_timeout);
        conn.on_segment(at(1), Direction::Inbound, TcpFlags::SYN_ACK, &c);
        assert_eq!(conn.phase(), Phase::Established);
        assert_eq!(conn.deadline, at(1) + c.tcp_timeout);
    }

    #[test]
    fn tcp_conn_established_fin_one_way_stays_established() {
        let c = cfg();
        let mut conn = TcpConn::open(at(0), Direction::Outbound, TcpFlags::SYN, &c);
        conn.on_segment(at(0), Direction::Inbound, TcpFlags::SYN_ACK, &c);
        conn.on_segment(at(2), Direction::Outbound, TcpFlags::FIN, &c);
        assert_eq!(conn.phase(), Phase::Established);
        conn.on_segment(at(3), Direction::Inbound, TcpFlags::FIN, &c);
        assert_eq!(conn.phase(), Phase::Closing);
        assert_eq!(conn.deadline, at(3) + c.tcp_transitory_timeout);
    }

    #[test]
    fn tcp_conn_closing_syn_restarts_opening() {
        let c = cfg();
        let mut conn = TcpConn::open(at(0), Direction::Outbound, TcpFlags::SYN, &c);
        conn.on_segment(at(1), Direction::Inbound, TcpFlags::RST, &c);
        assert_eq!(conn.phase(), Phase::Closing);
        conn.on_segment(at(2), Direction::Inbound, TcpFlags::SYN, &c);
        assert_eq!(conn.phase(), Phase::Opening);
        assert!(
            !conn.sent_out,
            "the new connection has not sent anything yet"
        );
    }
}

//! Packet fault rules of a scenario, as the fabric runs them.

use super::plan::entity;
use crate::fabric::{
    ClassMatch, Effect, LinkDirection, PacketRule, Selection, SipRewrite, TcpFlags,
};
use sim_core::SimInstant;
use sim_scenario::fault::{self, FaultEffect, FaultRule};
use sim_scenario::model::{self, Select, StunClass, TcpFlag};

/// The fabric rule of a validated `packet_fault`.
pub(super) fn rule(r: &FaultRule) -> PacketRule {
    PacketRule {
        name: r.name.clone(),
        class: class(&r.class),
        from: r.from.map(entity),
        to: r.to.map(entity),
        link: r.link.map(|(s, d)| {
            let dir = d.map(|d| match d {
                model::Direction::Outbound => LinkDirection::Outbound,
                model::Direction::Inbound => LinkDirection::Inbound,
            });
            (entity(s), dir)
        }),
        select: match r.select {
            None => Selection::All,
            Some(Select::First(n)) => Selection::First(n),
            Some(Select::Every(n)) => Selection::Every(n),
            Some(Select::Nth(n)) => Selection::Nth(n),
        },
        effect: effect(&r.effect),
        until: r.until.map(SimInstant::from_duration),
    }
}

fn flags(list: &[TcpFlag]) -> TcpFlags {
    let mut f = TcpFlags::default();
    for flag in list {
        match flag {
            TcpFlag::Syn => f.syn = true,
            TcpFlag::Ack => f.ack = true,
            TcpFlag::Fin => f.fin = true,
            TcpFlag::Rst => f.rst = true,
            TcpFlag::Psh => f.psh = true,
        }
    }
    f
}

fn class(c: &fault::ClassMatch) -> ClassMatch {
    match c {
        fault::ClassMatch::Any => ClassMatch::Any,
        fault::ClassMatch::Udp => ClassMatch::Udp,
        fault::ClassMatch::Tcp { flags: f, without } => ClassMatch::Tcp {
            set: flags(f),
            clear: flags(without),
        },
        fault::ClassMatch::Sip {
            method,
            status,
            cseq_method,
        } => ClassMatch::Sip {
            method: method.clone(),
            status: *status,
            cseq_method: cseq_method.clone(),
        },
        fault::ClassMatch::Stun {
            class,
            method,
            attribute,
        } => ClassMatch::Stun {
            class: class.map(|c| match c {
                StunClass::Request => 0,
                StunClass::Indication => 1,
                StunClass::Success => 2,
                StunClass::Error => 3,
            }),
            method: method.map(model::StunMethod::code),
            attribute: *attribute,
        },
        fault::ClassMatch::TurnChannel => ClassMatch::TurnChannel,
        fault::ClassMatch::Tunnel => ClassMatch::Tunnel,
        fault::ClassMatch::Rtp => ClassMatch::Rtp,
        fault::ClassMatch::Dns => ClassMatch::Dns,
    }
}

fn effect(e: &FaultEffect) -> Effect {
    match e {
        FaultEffect::Drop => Effect::Drop,
        FaultEffect::Delay(d) => Effect::Delay(*d),
        FaultEffect::Duplicate => Effect::Duplicate,
        FaultEffect::FlipBit(b) => Effect::FlipBit(*b),
        FaultEffect::Reset => Effect::Reset,
        FaultEffect::Rewrite(r) => Effect::Rewrite(match r {
            fault::SipRewrite::Status { code, phrase } => SipRewrite::Status(*code, phrase.clone()),
            fault::SipRewrite::Method(m) => SipRewrite::Method(m.clone()),
            fault::SipRewrite::Header { name, value } => {
                SipRewrite::Header(name.clone(), value.clone())
            }
        }),
    }
}

//! From capture records to SIP and STUN messages: link dispatch, IP defragmentation, UDP, TCP
//! reassembly, content-based detection, and the accounting of every frame.
//!
//! [`Decoder::record`] takes one record at a time and calls an [`EventSink`] for each SIP or STUN
//! message found; [`Decoder::finish`] flushes what is still held (incomplete fragments, partial
//! TCP messages) and returns the packet accounting.

pub mod defrag;
mod net;
pub mod tcp;
mod ws;

use crate::accounting::{Accounting, Class, Other, Undecodable};
use crate::capture::{Frame, Record};
use crate::sip::{self, Malformed, Mode, ScanError, Scanned, SipMessage};
use crate::stun::{self, StunMessage};
use defrag::{Added, Defragmenter};
use net::{Net, Transport};
use std::net::SocketAddr;
use tcp::{FlowKey, Reassembler, Segment, StreamKind, StreamSink};

/// How a message travelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Carrier {
    /// UDP.
    Udp,
    /// TCP.
    Tcp,
    /// WebSocket over TCP.
    WebSocket,
}

impl Carrier {
    /// The name used in reports.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Udp => "UDP",
            Self::Tcp => "TCP",
            Self::WebSocket => "WS",
        }
    }
}

/// Where and when a message was seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketMeta {
    /// Frame number (the frame that completed the message).
    pub frame: u64,
    /// Capture timestamp, nanoseconds since the Unix epoch.
    pub ts_ns: i64,
    /// Sender.
    pub src: SocketAddr,
    /// Receiver.
    pub dst: SocketAddr,
    /// Transport.
    pub carrier: Carrier,
}

/// Receives decoded messages.
pub trait EventSink {
    /// A usable SIP message.
    fn sip(&mut self, meta: &PacketMeta, msg: SipMessage<'_>);
    /// A STUN message.
    fn stun(&mut self, meta: &PacketMeta, msg: &StunMessage);
    /// An ICMP "destination unreachable" for a packet sent to `target`.
    fn unreachable(&mut self, _frame: u64, _ts_ns: i64, _target: SocketAddr) {}
    /// A UDP payload that starts like RTP or RTCP (version 2, at least 8 bytes). Returns the
    /// frame's class, or `None` when the sink holds the frame (after `acct.defer()`; it calls
    /// `acct.resolve` later). The default takes the header for what it says.
    fn media(
        &mut self,
        _meta: &PacketMeta,
        payload: &[u8],
        _acct: &mut Accounting,
    ) -> Option<Class> {
        Some(if crate::media::rtp::is_rtcp(payload) {
            Class::Rtcp
        } else if crate::media::rtp::decode_rtp(payload).is_ok() {
            Class::Rtp
        } else {
            Class::Other(Other::Udp)
        })
    }
    /// The end of the capture: everything held must be resolved in `acct`.
    fn finish_media(&mut self, _acct: &mut Accounting) {}
}

/// The decoding state of one capture.
#[derive(Debug, Default)]
pub struct Decoder {
    defrag: Defragmenter,
    tcp: Reassembler,
    acct: Accounting,
}

impl Decoder {
    /// Decodes one record.
    pub fn record(&mut self, rec: &Record<'_>, sink: &mut dyn EventSink) {
        self.acct.record();
        match rec {
            Record::Skipped { reason, .. } => self
                .acct
                .classify(Class::Undecodable(Undecodable::Record(*reason))),
            Record::Packet(f) => self.frame(f, sink),
        }
    }

    /// Flushes held state (end of capture) and returns the accounting.
    pub fn finish(&mut self, sink: &mut dyn EventSink) -> Accounting {
        self.defrag.flush();
        self.collect_abandoned();
        sink.finish_media(&mut self.acct);
        let mut bridge = Bridge {
            acct: &mut self.acct,
            events: sink,
        };
        self.tcp.flush_all(&mut bridge);
        std::mem::take(&mut self.acct)
    }

    /// The accounting so far.
    pub const fn accounting(&self) -> &Accounting {
        &self.acct
    }

    fn frame(&mut self, f: &Frame<'_>, sink: &mut dyn EventSink) {
        let class = match net::decode(f.link, f.data) {
            Err(u) => Some(Class::Undecodable(u)),
            Ok(Net::Other(o)) => Some(Class::Other(o)),
            Ok(Net::Unreachable { target, .. }) => {
                sink.unreachable(f.number, f.ts_ns, target);
                Some(Class::Other(Other::Icmp))
            }
            Ok(Net::Transport(t)) => self.transport(f, t, sink),
            Ok(Net::Fragment(frag)) => self.fragment(f, frag, sink),
        };
        if let Some(c) = class {
            self.acct.classify(c);
        }
    }

    fn fragment(
        &mut self,
        f: &Frame<'_>,
        frag: defrag::Fragment<'_>,
        sink: &mut dyn EventSink,
    ) -> Option<Class> {
        let added = self.defrag.add(f.number, f.ts_ns, frag);
        self.collect_abandoned();
        match added {
            Added::Held => {
                self.acct.defer();
                None
            }
            Added::Invalid => Some(Class::Undecodable(Undecodable::FragmentInvalid)),
            Added::Complete { payload, earlier } => {
                for _ in earlier {
                    self.acct.resolve(Class::Other(Other::IpFragment));
                }
                let k = frag.key;
                match net::upper(k.src, k.dst, k.proto, &payload, false, 1) {
                    Ok(Net::Transport(t)) => self.transport(f, t, sink),
                    Ok(Net::Other(o)) => Some(Class::Other(o)),
                    Ok(Net::Unreachable { .. }) => Some(Class::Other(Other::Icmp)),
                    // A fragmented packet inside the reassembled one is not reassembled again.
                    Ok(Net::Fragment(_)) => Some(Class::Undecodable(Undecodable::FragmentInvalid)),
                    Err(u) => Some(Class::Undecodable(u)),
                }
            }
        }
    }

    fn collect_abandoned(&mut self) {
        for _ in self.defrag.take_abandoned() {
            self.acct
                .resolve(Class::Undecodable(Undecodable::FragmentIncomplete));
        }
    }

    /// UDP or TCP; `None` when the frame was deferred or classified by TCP reassembly.
    fn transport(
        &mut self,
        f: &Frame<'_>,
        t: Transport<'_>,
        sink: &mut dyn EventSink,
    ) -> Option<Class> {
        let truncated = t.truncated || (f.data.len() as u64) < u64::from(f.orig_len);
        if (f.data.len() as u64) < u64::from(f.orig_len) {
            self.acct.cut_frame(f.data.len());
        }
        if t.proto == 17 {
            return self.udp(f, t, truncated, sink);
        }
        let Some(seg) = tcp_segment(f, t) else {
            return Some(Class::Undecodable(Undecodable::MalformedTransport));
        };
        if truncated && !seg.payload.is_empty() {
            // Bytes are missing: feeding them would corrupt the stream.
            return Some(Class::Undecodable(Undecodable::TruncatedFrame));
        }
        let mut bridge = Bridge {
            acct: &mut self.acct,
            events: sink,
        };
        self.tcp.segment(seg, &mut bridge);
        None
    }

    fn udp(
        &mut self,
        f: &Frame<'_>,
        t: Transport<'_>,
        truncated: bool,
        sink: &mut dyn EventSink,
    ) -> Option<Class> {
        let (Some(sp), Some(dp), Some(len)) =
            (be16(t.bytes, 0), be16(t.bytes, 2), be16(t.bytes, 4))
        else {
            return Some(Class::Undecodable(Undecodable::MalformedTransport));
        };
        let len = usize::from(len);
        if len < 8 {
            return Some(Class::Undecodable(Undecodable::MalformedTransport));
        }
        let cut = truncated || len > t.bytes.len();
        let payload = t.bytes.get(8..len.min(t.bytes.len())).unwrap_or_default();
        let meta = PacketMeta {
            frame: f.number,
            ts_ns: f.ts_ns,
            src: SocketAddr::new(t.src, sp),
            dst: SocketAddr::new(t.dst, dp),
            carrier: Carrier::Udp,
        };
        self.datagram(&meta, payload, cut, sink)
    }

    /// Classifies a UDP payload by content (`None`: the sink holds it).
    fn datagram(
        &mut self,
        meta: &PacketMeta,
        payload: &[u8],
        cut: bool,
        sink: &mut dyn EventSink,
    ) -> Option<Class> {
        if payload.first().is_some_and(u8::is_ascii_alphabetic) {
            let mode = if cut { Mode::Truncated } else { Mode::Datagram };
            // Scanning decides whether this is SIP: a payload without a SIP start line is not.
            match sip::scan(payload, mode) {
                Ok(s) => {
                    self.acct.sip_message(&s, meta.frame);
                    sink.sip(
                        meta,
                        SipMessage {
                            bytes: payload,
                            fields: &s,
                        },
                    );
                    return Some(Class::Sip);
                }
                Err(ScanError::Malformed(Malformed::BadStartLine)) => {}
                Err(ScanError::Malformed(why)) => {
                    self.acct.malformed_message(why);
                    let class = Class::Undecodable(Undecodable::MalformedSip(why));
                    self.acct.note_frame(meta.frame, class);
                    return Some(class);
                }
                Err(ScanError::Incomplete) => return Some(Class::Other(Other::Udp)),
            }
        }
        if stun::looks_like_stun(payload) {
            return Some(match stun::decode(payload) {
                Ok(m) => {
                    self.acct.stun_message();
                    sink.stun(meta, &m);
                    Class::Stun
                }
                Err(_) => Class::Undecodable(Undecodable::MalformedStun),
            });
        }
        if looks_like_media(payload) {
            return sink.media(meta, payload, &mut self.acct);
        }
        Some(other_udp(payload))
    }
}

/// Version 2 and long enough for an RTCP header and SSRC, not a TURN ChannelData message.
fn looks_like_media(payload: &[u8]) -> bool {
    payload.len() >= 8
        && payload.first().is_some_and(|b| b >> 6 == 2)
        && !stun::looks_like_channel_data(payload)
}

/// UDP that is neither SIP nor STUN.
fn other_udp(payload: &[u8]) -> Class {
    let keepalive = !payload.is_empty()
        && (payload.iter().all(|&c| c == b'\r' || c == b'\n') || payload == [0, 0, 0, 0]);
    if keepalive {
        return Class::Other(Other::KeepAlive);
    }
    if stun::looks_like_channel_data(payload) {
        return Class::Other(Other::TurnChannelData);
    }
    Class::Other(Other::Udp)
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The TCP header fields reassembly needs.
fn tcp_segment<'a>(f: &Frame<'_>, t: Transport<'a>) -> Option<Segment<'a>> {
    let b = t.bytes;
    let (sp, dp, seq, ack) = (be16(b, 0)?, be16(b, 2)?, be32(b, 4)?, be32(b, 8)?);
    let off = usize::from(*b.get(12)? >> 4) * 4;
    let flags = *b.get(13)?;
    if off < 20 || off > b.len() {
        return None;
    }
    Some(Segment {
        key: (SocketAddr::new(t.src, sp), SocketAddr::new(t.dst, dp)),
        seq,
        ack: (flags & 0x10 != 0).then_some(ack),
        syn: flags & 0x02 != 0,
        fin: flags & 0x01 != 0,
        rst: flags & 0x04 != 0,
        payload: b.get(off..).unwrap_or_default(),
        frame: f.number,
        ts_ns: f.ts_ns,
    })
}

/// Connects TCP reassembly to the accounting and the event sink.
struct Bridge<'a> {
    acct: &'a mut Accounting,
    events: &'a mut dyn EventSink,
}

impl StreamSink for Bridge<'_> {
    fn message(
        &mut self,
        key: FlowKey,
        frame: u64,
        ts_ns: i64,
        kind: StreamKind,
        bytes: &[u8],
        s: &Scanned,
    ) {
        self.acct.sip_message(s, frame);
        let meta = PacketMeta {
            frame,
            ts_ns,
            src: key.0,
            dst: key.1,
            carrier: match kind {
                StreamKind::Tcp => Carrier::Tcp,
                StreamKind::WebSocket => Carrier::WebSocket,
            },
        };
        self.events.sip(&meta, SipMessage { bytes, fields: s });
    }

    fn malformed(&mut self, why: Malformed) {
        self.acct.malformed_message(why);
    }

    fn classify(&mut self, frame: u64, class: Class) {
        self.acct.note_frame(frame, class);
        self.acct.classify(class);
    }

    fn defer(&mut self, _frame: u64) {
        self.acct.defer();
    }

    fn resolve(&mut self, frame: u64, class: Class) {
        self.acct.note_frame(frame, class);
        self.acct.resolve(class);
    }
}

#[cfg(test)]
mod tests;

//! NAT hints from SIP: private addresses in Via, Contact and SDP of messages that arrived from a
//! different address (so a NAT rewrote the packet but not the SIP text), and re-registrations or
//! OPTIONS keep-alives arriving from a new public port (the NAT mapping expired between them).

use super::{Finding, FindingKind, Frames, Protocol, Severity};
use crate::correlate::hash_bytes;
use crate::decode::PacketMeta;
use crate::sip::sdp::SdpSummary;
use crate::sip::value::{self, host_ip, is_private};
use crate::sip::{Method, SipMessage};
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

/// Most registrations followed at once.
const MAX_REGISTRATIONS: usize = 64 * 1024;

/// One kind of private-address observation, aggregated by (private address, seen source).
#[derive(Debug, Default)]
struct Seen {
    frames: Frames,
    first_ts: i64,
    call_id: String,
    example: String,
}

/// Re-registrations (or OPTIONS keep-alives) of one address-of-record and contact, on one side
/// of a NAT.
#[derive(Debug)]
struct Registration {
    method: Method,
    aor: Box<str>,
    last_src: SocketAddr,
    last_ts: i64,
    expires: Option<u32>,
    /// Longest interval after which the source address was unchanged, seconds.
    kept_s: Option<f64>,
    /// First change; boxed, as few registrations have one.
    change: Option<Box<Change>>,
    changes: u64,
}

/// A source address change: old source, new source, interval in seconds, frame, timestamp,
/// Call-ID.
type Change = (SocketAddr, SocketAddr, f64, u64, i64, String);

/// Collects NAT observations over the whole capture.
#[derive(Debug, Default)]
pub(crate) struct NatTracker {
    via: BTreeMap<(IpAddr, IpAddr), Seen>,
    contact: BTreeMap<(IpAddr, IpAddr), Seen>,
    sdp: BTreeMap<(IpAddr, IpAddr), Seen>,
    /// By a hash of (address-of-record, contact, method, side of the NAT); a `BTreeMap`, so that
    /// nothing here depends on a per-process hash seed.
    registrations: BTreeMap<u64, Registration>,
}

impl NatTracker {
    pub(crate) fn on_sip(
        &mut self,
        meta: &PacketMeta,
        msg: &SipMessage<'_>,
        sdp: Option<&SdpSummary>,
    ) {
        let src = meta.src.ip();
        let method = msg.request_method();
        let via_ip = method.and_then(|_| host_ip(value::via_host(msg.top_via())));
        if method.is_some() {
            let via = msg.top_via();
            if let Some(ip) = via_ip {
                let rport = value::param(via, b"rport").is_some();
                if ip != src && is_private(ip) && !rport {
                    note(&mut self.via, ip, meta, msg, via);
                }
            }
        }
        // A registrar's response lists the bindings, not the responder's own Contact.
        let own_contact =
            msg.request_method().is_some() || msg.fields.cseq_method != Method::Register;
        let contact = if own_contact {
            msg.get(msg.fields.contact)
        } else {
            &[]
        };
        if let Some(ip) = host_ip(value::uri_host(value::uri(contact)))
            && ip != src
            && is_private(ip)
        {
            note(&mut self.contact, ip, meta, msg, contact);
        }
        if let Some(ip) = sdp.and_then(|s| s.connection)
            && ip != src
            && is_private(ip)
        {
            note(
                &mut self.sdp,
                ip,
                meta,
                msg,
                format!("c=IN {ip}").as_bytes(),
            );
        }
        if let Some(method @ (Method::Register | Method::Options)) = method {
            self.refresh(meta, msg, method, via_ip != Some(src));
        }
    }

    /// A REGISTER or OPTIONS request: the source address of each user agent's refreshes is
    /// followed, separately for copies sent before a NAT (source = Via sent-by) and after it
    /// (`translated`), so a
    /// capture holding both sides of a NAT does not look like a mapping change per message.
    fn refresh(
        &mut self,
        meta: &PacketMeta,
        msg: &SipMessage<'_>,
        method: Method,
        translated: bool,
    ) {
        let aor_header = if method == Method::Register {
            msg.fields.to
        } else {
            msg.fields.from
        };
        let aor = value::user_host(value::uri(msg.get(aor_header)));
        let contact = value::uri(msg.get(msg.fields.contact));
        let key = hash_bytes(aor)
            ^ hash_bytes(contact).rotate_left(13)
            ^ (u64::from(method == Method::Options) << 62)
            ^ (u64::from(translated) << 63);
        let expires = msg.fields.expires.or_else(|| {
            value::param(value::after_uri(msg.get(msg.fields.contact)), b"expires")
                .and_then(crate::sip::scan::number)
        });
        if let Some(r) = self.registrations.get_mut(&key) {
            let interval = (meta.ts_ns - r.last_ts).max(0) as f64 / 1e9;
            if meta.src == r.last_src {
                if interval > 1.0 {
                    r.kept_s = Some(r.kept_s.map_or(interval, |k| k.max(interval)));
                }
            } else {
                r.changes += 1;
                r.change.get_or_insert_with(|| {
                    Box::new((
                        r.last_src,
                        meta.src,
                        interval,
                        meta.frame,
                        meta.ts_ns,
                        value::text(msg.call_id(), 256),
                    ))
                });
            }
            r.last_src = meta.src;
            r.last_ts = meta.ts_ns;
            r.expires = expires.or(r.expires);
            return;
        }
        if self.registrations.len() < MAX_REGISTRATIONS {
            self.registrations.insert(
                key,
                Registration {
                    method,
                    aor: value::text(aor, 96).into_boxed_str(),
                    last_src: meta.src,
                    last_ts: meta.ts_ns,
                    expires,
                    kept_s: None,
                    change: None,
                    changes: 0,
                },
            );
        }
    }

    /// The findings, in a stable order.
    pub(crate) fn findings(&self) -> Vec<Finding> {
        let mut out = Vec::new();
        for ((ip, src), s) in &self.via {
            out.push(finding(FindingKind::NatPrivateVia, s, format!(
                "Via names the private address {ip} without rport, but the request came from {src}: a NAT is in the path and responses will be sent to {ip}, which is unreachable from outside. Enable rport (RFC 3581) on the client or NAT handling on the server (e.g. {}).", s.example)));
        }
        for ((ip, src), s) in &self.contact {
            out.push(finding(FindingKind::NatPrivateContact, s, format!(
                "Contact uses the private address {ip} but the message came from {src}: requests to this user agent (incoming calls, BYE, re-INVITE) will be sent to an unreachable address unless the server rewrites the Contact ({}).", s.example)));
        }
        for ((ip, src), s) in &self.sdp {
            out.push(finding(FindingKind::NatPrivateSdp, s, format!(
                "The SDP offers media at the private address {ip} but signalling came from {src}: the peer will send RTP to an unreachable address (one-way or no audio) unless a media relay or latching corrects it.")));
        }
        let mut regs: Vec<&Registration> = self
            .registrations
            .values()
            .filter(|r| r.change.is_some())
            .collect();
        // By the frame of the change (one frame changes one registration, so no ties).
        regs.sort_by_key(|r| r.change.as_ref().map(|c| c.3));
        out.extend(regs.into_iter().filter_map(mapping_changed));
        out
    }
}

fn note(
    map: &mut BTreeMap<(IpAddr, IpAddr), Seen>,
    ip: IpAddr,
    meta: &PacketMeta,
    msg: &SipMessage<'_>,
    example: &[u8],
) {
    let s = map.entry((ip, meta.src.ip())).or_insert_with(|| Seen {
        first_ts: meta.ts_ns,
        call_id: value::text(msg.call_id(), 256),
        example: value::text(example, 120),
        ..Seen::default()
    });
    s.frames.push(meta.frame);
}

fn finding(kind: FindingKind, s: &Seen, diagnosis: String) -> Finding {
    let mut f = Finding::new(Severity::Warning, kind, Protocol::Sip, diagnosis);
    f.call_id = Some(s.call_id.clone());
    f.ts_ns = s.first_ts;
    f.with_frames(s.frames.list().iter().copied(), s.frames.total)
}

fn mapping_changed(r: &Registration) -> Option<Finding> {
    let (old, new, interval, frame, ts, call_id) = *r.change.clone()?;
    let kept = r
        .kept_s
        .map(|k| format!(" The mapping survived {k:.0} s elsewhere in the capture, so its lifetime is between {k:.0} s and {interval:.0} s."))
        .unwrap_or_default();
    let expires = r
        .expires
        .filter(|_| r.method == Method::Register)
        .map(|e| format!(" The registration asked for Expires {e} s."))
        .unwrap_or_default();
    let (what, between) = if r.method == Method::Register {
        ("REGISTER for", "re-registrations")
    } else {
        ("OPTIONS keep-alive from", "keep-alives")
    };
    let mut f = Finding::new(
        Severity::Warning,
        FindingKind::NatMappingChanged,
        Protocol::Sip,
        format!(
            "{what} {} came from {old}, then {interval:.0} s later from {new} ({} change(s) in all): the NAT mapping was lost between {between}.{kept}{expires} Re-register or send keep-alives (CRLF, OPTIONS, STUN) more often than the mapping lifetime, or incoming calls will not reach this user agent in between.",
            r.aor, r.changes
        ),
    );
    f.call_id = Some(call_id);
    f.endpoints = Some(format!("{old} → {new}"));
    f.ts_ns = ts;
    Some(f.with_frames([frame], 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::Carrier;
    use crate::sip::{Mode, scan};
    use crate::synth::SipText;

    const S: i64 = 1_000_000_000;

    fn options(seq: u32) -> Vec<u8> {
        SipText::request("OPTIONS", "sip:203.0.113.10:5060")
            .dialog(
                "192.168.1.21:5062;rport",
                &format!("z9hG4bK-{seq}"),
                "<sip:bob@192.168.1.21>;tag=1",
                "<sip:203.0.113.10:5060>",
                "ka-1",
                &format!("{seq} OPTIONS"),
            )
            .header("Contact", "<sip:bob@192.168.1.21:5062>")
            .build()
    }

    fn feed(t: &mut NatTracker, frame: u64, ts: i64, src: &str, bytes: &[u8]) {
        let s = scan(bytes, Mode::Datagram).unwrap();
        let meta = PacketMeta {
            frame,
            ts_ns: ts,
            src: src.parse().unwrap(),
            dst: "203.0.113.10:5060".parse().unwrap(),
            carrier: Carrier::Udp,
        };
        t.on_sip(&meta, &SipMessage { bytes, fields: &s }, None);
    }

    fn changed(t: &NatTracker) -> Vec<Finding> {
        t.findings()
            .into_iter()
            .filter(|f| f.kind == FindingKind::NatMappingChanged)
            .collect()
    }

    #[test]
    fn nat_keepalives_seen_on_both_sides_of_a_nat_report_only_the_public_port_change() {
        let mut t = NatTracker::default();
        let lan = "192.168.1.21:5062";
        feed(&mut t, 1, 0, lan, &options(1));
        feed(&mut t, 2, 0, "198.51.100.1:1025", &options(1));
        feed(&mut t, 3, 20 * S, lan, &options(2));
        feed(&mut t, 4, 20 * S, "198.51.100.1:1025", &options(2));
        feed(&mut t, 5, 60 * S, lan, &options(3));
        feed(&mut t, 6, 60 * S, "198.51.100.1:1026", &options(3));
        let found = changed(&t);
        assert_eq!(found.len(), 1, "{found:?}");
        let f = &found[0];
        assert_eq!(f.frames, [6]);
        assert!(f.diagnosis.starts_with(
            "OPTIONS keep-alive from bob@192.168.1.21 came from 198.51.100.1:1025, then 40 s later \
             from 198.51.100.1:1026"
        ), "{}", f.diagnosis);
        assert!(
            f.diagnosis.contains("lifetime is between 20 s and 40 s"),
            "{}",
            f.diagnosis
        );
    }

    #[test]
    fn nat_keepalives_from_an_unchanged_address_are_not_a_finding() {
        let mut t = NatTracker::default();
        for (i, ts) in [0, 20, 40, 60].into_iter().enumerate() {
            feed(
                &mut t,
                i as u64 + 1,
                ts * S,
                "198.51.100.1:1025",
                &options(i as u32 + 1),
            );
        }
        assert!(changed(&t).is_empty());
    }
}

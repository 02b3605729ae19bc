use super::*;
use crate::sip::SipMessage;
use crate::synth::SipText;
use std::collections::BTreeMap;

/// Records everything reassembly reports.
#[derive(Default)]
struct Rec {
    messages: Vec<(u64, String)>,
    malformed: Vec<Malformed>,
    classes: BTreeMap<u64, Class>,
    deferred: Vec<u64>,
}

impl StreamSink for Rec {
    fn message(
        &mut self,
        _k: FlowKey,
        frame: u64,
        _ts: i64,
        _kind: StreamKind,
        bytes: &[u8],
        s: &Scanned,
    ) {
        let m = SipMessage { bytes, fields: s };
        self.messages
            .push((frame, String::from_utf8_lossy(m.call_id()).into_owned()));
    }
    fn malformed(&mut self, why: Malformed) {
        self.malformed.push(why);
    }
    fn classify(&mut self, frame: u64, class: Class) {
        assert!(
            self.classes.insert(frame, class).is_none(),
            "frame {frame} classified twice"
        );
    }
    fn defer(&mut self, frame: u64) {
        assert!(
            !self.deferred.contains(&frame),
            "frame {frame} deferred twice"
        );
        assert!(!self.classes.contains_key(&frame));
        self.deferred.push(frame);
    }
    fn resolve(&mut self, frame: u64, class: Class) {
        assert!(
            self.deferred.contains(&frame),
            "frame {frame} resolved but never deferred"
        );
        assert!(
            self.classes.insert(frame, class).is_none(),
            "frame {frame} resolved twice"
        );
    }
}

fn key() -> FlowKey {
    (
        "192.0.2.1:5060".parse().unwrap(),
        "192.0.2.2:5060".parse().unwrap(),
    )
}

fn msg(call_id: &str) -> Vec<u8> {
    SipText::request("OPTIONS", "sip:b@192.0.2.2")
        .dialog(
            "192.0.2.1",
            "z9hG4bK1",
            "<sip:a@x>;tag=1",
            "<sip:b@y>",
            call_id,
            "1 OPTIONS",
        )
        .body("text/plain", b"hello")
        .build()
}

struct Feed {
    r: Reassembler,
    rec: Rec,
    isn: u32,
}

impl Feed {
    fn new(isn: u32) -> Self {
        let mut f = Self {
            r: Reassembler::default(),
            rec: Rec::default(),
            isn,
        };
        f.seg(0, 0, b"", true, false);
        f
    }
    /// A data segment at stream offset `off` (relative to ISN + 1).
    fn seg(&mut self, frame: u64, off: u32, payload: &[u8], syn: bool, fin: bool) {
        let seq = if syn {
            self.isn
        } else {
            self.isn.wrapping_add(1).wrapping_add(off)
        };
        let s = Segment {
            key: key(),
            seq,
            ack: None,
            syn,
            fin,
            rst: false,
            payload,
            frame,
            ts_ns: 0,
        };
        self.r.segment(s, &mut self.rec);
    }
    fn ids(&self) -> Vec<&str> {
        self.rec.messages.iter().map(|(_, c)| c.as_str()).collect()
    }
    fn all_classified(&self, frames: u64) {
        for f in 0..frames {
            assert!(
                self.rec.classes.contains_key(&f),
                "frame {f} unclassified: {:?}",
                self.rec.classes
            );
        }
    }
}

#[test]
fn tcp_in_order_split_and_coalesced_messages_are_framed() {
    let (a, b, c) = (msg("a"), msg("b"), msg("c"));
    let mut stream = a.clone();
    stream.extend_from_slice(&b);
    stream.extend_from_slice(&c);
    let cut1 = a.len() - 10; // a is split
    let cut2 = a.len() + b.len() + 5; // b completes and c starts in segment 2
    let mut f = Feed::new(1000);
    f.seg(1, 0, &stream[..cut1], false, false);
    f.seg(2, cut1 as u32, &stream[cut1..cut2], false, false);
    f.seg(3, cut2 as u32, &stream[cut2..], false, true);
    assert_eq!(f.ids(), ["a", "b", "c"]);
    assert_eq!(f.rec.messages[0].0, 2);
    assert_eq!(f.rec.classes[&1], Class::Other(Other::TcpSegment));
    assert_eq!(f.rec.classes[&2], Class::Sip);
    assert_eq!(f.rec.classes[&3], Class::Sip);
    f.all_classified(4);
}

#[test]
fn tcp_out_of_order_overlap_and_retransmission_with_seq_wrap() {
    let (a, b) = (msg("a"), msg("b"));
    let mut stream = a.clone();
    stream.extend_from_slice(&b);
    let n = stream.len() as u32;
    // ISN close to 2^32, so the sequence numbers wrap inside the stream.
    let mut f = Feed::new(u32::MAX - 50);
    f.seg(1, 100, &stream[100..], false, false); // out of order
    f.seg(2, 0, &stream[..60], false, false);
    f.seg(3, 0, &stream[..60], false, false); // retransmission
    f.seg(4, 40, &stream[40..120], false, false); // overlaps both sides, fills the hole
    f.seg(5, n, b"", false, true);
    assert_eq!(f.ids(), ["a", "b"]);
    assert_eq!(f.rec.classes[&3], Class::Other(Other::TcpRetransmission));
    f.all_classified(6);
    assert_eq!(
        f.rec.classes.values().filter(|c| **c == Class::Sip).count(),
        1
    );
}

#[test]
fn tcp_gap_acknowledged_by_peer_resyncs_on_next_start_line() {
    let (a, b, c) = (msg("a"), msg("b"), msg("c"));
    let mut stream = a.clone();
    stream.extend_from_slice(&b);
    stream.extend_from_slice(&c);
    let mut f = Feed::new(7);
    let lost = (a.len() + 20)..(a.len() + 60); // the middle of b never reaches the capture
    f.seg(1, 0, &stream[..lost.start], false, false);
    f.seg(2, lost.end as u32, &stream[lost.end..], false, false);
    assert_eq!(f.ids(), ["a"]);
    // The receiver acknowledges everything: the capture lost those bytes.
    let ack = Segment {
        key: (key().1, key().0),
        seq: 1,
        ack: Some(7u32.wrapping_add(1).wrapping_add(stream.len() as u32)),
        syn: false,
        fin: false,
        rst: false,
        payload: b"",
        frame: 3,
        ts_ns: 0,
    };
    f.r.segment(ack, &mut f.rec);
    assert_eq!(f.ids(), ["a", "c"]);
    assert_eq!(f.rec.classes[&2], Class::Sip);
    assert_eq!(f.rec.classes[&1], Class::Sip);
    f.r.flush_all(&mut f.rec);
    f.all_classified(4);
}

#[test]
fn tcp_truncated_stream_end_is_a_gap_and_non_sip_is_other() {
    let a = msg("a");
    let mut f = Feed::new(1);
    f.seg(1, 0, &a[..50], false, false);
    f.r.flush_all(&mut f.rec);
    assert_eq!(f.rec.classes[&1], Class::Undecodable(Undecodable::TcpGap));
    let mut g = Feed::new(1);
    g.seg(1, 0, b"\x16\x03\x01\x00\x10tls-hello", false, false);
    g.seg(2, 14, b"more", false, false);
    assert_eq!(g.rec.classes[&1], Class::Other(Other::TcpData));
    assert_eq!(g.rec.classes[&2], Class::Other(Other::TcpData));
}

#[test]
fn tcp_mid_stream_pickup_finds_the_first_start_line() {
    let (a, b) = (msg("a"), msg("b"));
    let mut stream = a.clone();
    stream.extend_from_slice(&b);
    let mut f = Feed {
        r: Reassembler::default(),
        rec: Rec::default(),
        isn: 500,
    };
    // No SYN: the capture starts in the middle of message a.
    f.seg(1, 30, &stream[30..], false, false);
    assert_eq!(f.ids(), ["b"]);
    assert_eq!(f.rec.classes[&1], Class::Sip);
}

#[test]
fn tcp_keepalives_and_malformed_messages_are_accounted() {
    let a = msg("a");
    let mut f = Feed::new(1);
    f.seg(1, 0, b"\r\n\r\n", false, false);
    f.seg(2, 4, b"GARBAGE LINE\r\n\r\n", false, false);
    let off = 4 + 16;
    f.seg(3, off, &a, false, false);
    assert_eq!(f.rec.classes[&1], Class::Other(Other::KeepAlive));
    assert_eq!(f.ids(), ["a"]);
    f.all_classified(4);
}

#[test]
fn tcp_websocket_upgrade_then_sip_messages() {
    let a = msg("ws-a");
    let mut f = Feed::new(1);
    let hs = b"GET / HTTP/1.1\r\nUpgrade: websocket\r\nSec-WebSocket-Protocol: sip\r\n\r\n";
    f.seg(1, 0, hs, false, false);
    let mut frame = vec![0x81, 0xFE];
    frame.extend_from_slice(&(a.len() as u16).to_be_bytes());
    frame.extend_from_slice(&[0, 0, 0, 0]);
    frame.extend_from_slice(&a);
    f.seg(2, hs.len() as u32, &frame, false, false);
    assert_eq!(f.ids(), ["ws-a"]);
    assert_eq!(f.rec.classes[&2], Class::Sip);
}

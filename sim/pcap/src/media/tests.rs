//! The media tracker through the whole analysis, on synthesised captures.

use crate::synth::{Link, PcapFile, PcapOptions, SipText, ip_udp, wrap};
use crate::{Analysis, AnalyzeOptions, FindingKind, analyze, capture::open_reader};
use std::net::SocketAddr;

const T0: i64 = 1_700_000_000_000_000_000;
const MS: i64 = 1_000_000;

fn a(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn rtp(seq: u16, ts: u32, ssrc: u32, pt: u8) -> Vec<u8> {
    let mut b = vec![0x80, pt];
    b.extend_from_slice(&seq.to_be_bytes());
    b.extend_from_slice(&ts.to_be_bytes());
    b.extend_from_slice(&ssrc.to_be_bytes());
    b.extend_from_slice(&[0xD5; 160]);
    b
}

fn sdp(ip: &str, port: u16) -> Vec<u8> {
    format!(
        "v=0\r\no=- 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\nm=audio {port} RTP/AVP 0 101\r\n\
         a=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
    )
    .into_bytes()
}

struct Capture {
    file: PcapFile,
}

impl Capture {
    fn new() -> Self {
        Self {
            file: PcapFile::new(PcapOptions::new(1)),
        }
    }

    fn send(&mut self, at_ms: i64, src: &str, dst: &str, payload: &[u8]) {
        self.file.push(
            T0 + at_ms * MS,
            &wrap(Link::Ethernet, &ip_udp(a(src), a(dst), payload)),
        );
    }

    /// `n` packets of 20 ms from `at_ms`, sequence numbers from `seq`.
    fn stream(&mut self, at_ms: i64, src: &str, dst: &str, ssrc: u32, seq: u16, n: u16) {
        for i in 0..n {
            let p = rtp(seq.wrapping_add(i), u32::from(i) * 160, ssrc, 0);
            self.send(at_ms + i64::from(i) * 20, src, dst, &p);
        }
    }

    fn analyze(self) -> Analysis {
        let (reader, c) = open_reader(std::io::Cursor::new(self.file.into_bytes())).unwrap();
        let a = analyze(reader, c, "test", &AnalyzeOptions::default(), &mut |_| {});
        assert!(a.summary.packets.adds_up());
        a
    }
}

const CALLER: &str = "192.0.2.1:5060";
const CALLEE: &str = "198.51.100.2:5060";

fn invite(cseq: u32, from_callee: bool, body: &[u8]) -> Vec<u8> {
    let (from, to) = if from_callee {
        (
            "<sip:bob@example.com>;tag=b",
            "<sip:alice@example.com>;tag=a",
        )
    } else {
        ("<sip:alice@example.com>;tag=a", "<sip:bob@example.com>")
    };
    SipText::request("INVITE", "sip:bob@example.com")
        .dialog(
            CALLER,
            &format!("z9hG4bK{cseq}"),
            from,
            to,
            "m1",
            &format!("{cseq} INVITE"),
        )
        .body("application/sdp", body)
        .build()
}

fn ok(cseq: u32, from_callee: bool, body: &[u8]) -> Vec<u8> {
    let (from, to) = if from_callee {
        (
            "<sip:bob@example.com>;tag=b",
            "<sip:alice@example.com>;tag=a",
        )
    } else {
        (
            "<sip:alice@example.com>;tag=a",
            "<sip:bob@example.com>;tag=b",
        )
    };
    SipText::response(200, "OK")
        .dialog(
            CALLER,
            &format!("z9hG4bK{cseq}"),
            from,
            to,
            "m1",
            &format!("{cseq} INVITE"),
        )
        .body("application/sdp", body)
        .build()
}

#[test]
fn media_reinvite_from_the_callee_moves_its_stream_to_the_new_port() {
    let mut c = Capture::new();
    c.send(
        0,
        CALLER,
        CALLEE,
        &invite(1, false, &sdp("192.0.2.1", 4000)),
    );
    c.send(
        100,
        CALLEE,
        CALLER,
        &ok(1, false, &sdp("198.51.100.2", 5000)),
    );
    c.stream(200, "192.0.2.1:4000", "198.51.100.2:5000", 1, 100, 100);
    c.stream(200, "198.51.100.2:5000", "192.0.2.1:4000", 2, 500, 100);
    // The callee re-INVITEs with a new port; media moves there.
    c.send(
        2300,
        CALLEE,
        CALLER,
        &invite(7, true, &sdp("198.51.100.2", 6000)),
    );
    c.send(2350, CALLER, CALLEE, &ok(7, true, &sdp("192.0.2.1", 4000)));
    c.stream(2400, "192.0.2.1:4000", "198.51.100.2:6000", 1, 200, 100);
    c.stream(2400, "198.51.100.2:6000", "192.0.2.1:4000", 2, 600, 100);
    let a = c.analyze();
    let media = a.media.head();
    assert_eq!(media.len(), 4);
    assert_eq!(a.summary.packets.rtp, 400);
    for m in &media {
        assert_eq!(m.call_id.as_deref(), Some("m1"), "{m:?}");
        assert_eq!(
            (m.packets, m.lost, m.sdp_src.as_deref()),
            (100, 0, None),
            "{m:?}"
        );
    }
    let senders: Vec<(&str, Option<&str>)> =
        media.iter().map(|m| (m.dst.as_str(), m.sender)).collect();
    assert!(
        senders.contains(&("198.51.100.2:6000", Some("caller"))),
        "{senders:?}"
    );
    assert!(
        senders.contains(&("192.0.2.1:4000", Some("callee"))),
        "{senders:?}"
    );
    assert!(a.findings.is_empty(), "{:?}", a.findings.head());
}

#[test]
fn media_flow_without_sdp_is_a_heuristic_stream_and_noise_is_udp() {
    let mut c = Capture::new();
    c.stream(0, "192.0.2.7:30000", "192.0.2.8:30002", 9, 65_530, 12);
    // Version-2 noise: SSRC changes every packet.
    for i in 0..3u32 {
        c.send(
            500 + i64::from(i),
            "192.0.2.7:40000",
            "192.0.2.8:40000",
            &rtp(1, 0, i, 0),
        );
    }
    // A low port is never taken for RTP.
    c.send(600, "192.0.2.7:53", "192.0.2.8:30000", &rtp(1, 0, 1, 0));
    let a = c.analyze();
    let p = &a.summary.packets;
    assert_eq!(
        (p.rtp, p.other.kinds.get("udp_other").copied()),
        (12, Some(4))
    );
    let m = a.media.head();
    assert_eq!(m.len(), 1);
    assert_eq!(
        (m[0].packets, m[0].lost, m[0].call_id.clone()),
        (12, 0, None)
    );
    assert_eq!(m[0].found_by, crate::media::record::FoundBy::Heuristic);
    // Dynamic clock unknown? PT 0 is static: jitter is computed (0 for a steady stream).
    assert_eq!(m[0].max_jitter_ms, 0.0);
}

#[test]
fn media_rtcp_receiver_report_is_attached_to_the_stream_it_reports_on() {
    let mut c = Capture::new();
    c.send(
        0,
        CALLER,
        CALLEE,
        &invite(1, false, &sdp("192.0.2.1", 4000)),
    );
    c.send(
        100,
        CALLEE,
        CALLER,
        &ok(1, false, &sdp("198.51.100.2", 5000)),
    );
    c.stream(200, "192.0.2.1:4000", "198.51.100.2:5000", 0xAB, 0, 50);
    // Receiver report from the callee's RTCP port about SSRC 0xAB: 64/256 lost, jitter 80.
    let mut rr = vec![0x81, 201, 0, 7, 0, 0, 0, 2, 0, 0, 0, 0xAB, 64, 0, 0, 3];
    rr.extend_from_slice(&[0, 0, 0, 49, 0, 0, 0, 80, 0, 0, 0, 0, 0, 0, 0, 0]);
    c.send(1300, "198.51.100.2:5001", "192.0.2.1:4001", &rr);
    // A truncated RTCP packet is not RTCP.
    c.send(1310, "198.51.100.2:5001", "192.0.2.1:4001", &rr[..20]);
    let a = c.analyze();
    assert_eq!((a.summary.packets.rtcp, a.summary.packets.rtp), (1, 50));
    let m = a.media.head();
    let r = m[0].rtcp.as_ref().expect("rtcp");
    assert_eq!((r.receiver_reports, r.cumulative_lost), (1, Some(3)));
    assert_eq!(r.fraction_lost_percent, Some(25.0));
    assert_eq!(r.jitter_ms, Some(10.0));
    // Answered, 1.4 s of call only: too short to call it one-way audio.
    assert!(
        a.findings
            .head()
            .iter()
            .all(|f| f.kind != FindingKind::OneWayAudio)
    );
}

#[test]
fn media_loss_and_late_packets_lower_the_mos() {
    let mut c = Capture::new();
    c.send(
        0,
        CALLER,
        CALLEE,
        &invite(1, false, &sdp("192.0.2.1", 4000)),
    );
    c.send(
        100,
        CALLEE,
        CALLER,
        &ok(1, false, &sdp("198.51.100.2", 5000)),
    );
    for i in 0..200u16 {
        if i % 20 == 5 {
            continue; // 5 % random loss
        }
        let late = if i == 100 { 150 } else { 0 };
        let p = rtp(i, u32::from(i) * 160, 7, 0);
        c.send(
            200 + i64::from(i) * 20 + late,
            "192.0.2.1:4000",
            "198.51.100.2:5000",
            &p,
        );
    }
    let a = c.analyze();
    let m = &a.media.head()[0];
    assert_eq!((m.lost, m.loss_percent), (10, 5.0));
    let q = m.quality.as_ref().unwrap();
    assert_eq!(q.late, 1);
    assert!((q.loss_percent - 5.5).abs() < 1e-9, "{q:?}");
    // Ie,eff = 95·5.5/(5.5 + 25.1) ≈ 17.08 → R ≈ 76.1.
    assert!((q.r_factor - 76.1).abs() < 0.15, "{q:?}");
    assert!(q.mos < 4.0 && q.mos > 3.8, "{q:?}");
    // One-way audio: the callee never sent.
    assert!(
        a.findings
            .head()
            .iter()
            .any(|f| f.kind == FindingKind::OneWayAudio)
    );
}

#[test]
fn media_streams_are_bands_in_the_ladder_of_their_call() {
    let mut c = Capture::new();
    c.send(
        0,
        CALLER,
        CALLEE,
        &invite(1, false, &sdp("192.0.2.1", 4000)),
    );
    c.send(
        100,
        CALLEE,
        CALLER,
        &ok(1, false, &sdp("198.51.100.2", 5000)),
    );
    c.stream(200, "192.0.2.1:4000", "198.51.100.2:5000", 1, 0, 150);
    c.stream(200, "198.51.100.2:5000", "192.0.2.1:4000", 2, 0, 150);
    let (reader, comp) = open_reader(std::io::Cursor::new(c.file.into_bytes())).unwrap();
    let opts = AnalyzeOptions {
        ladder: Some(crate::LadderScope::Call("m1".into())),
        call: None,
    };
    let a = analyze(reader, comp, "test", &opts, &mut |_| {});
    let l = a.ladder.as_ref().unwrap();
    let bands: Vec<_> = l.events.iter().filter(|e| e.until.is_some()).collect();
    assert_eq!(bands.len(), 2);
    // Media endpoints share the columns of their hosts' signalling addresses.
    assert_eq!(l.hosts.len(), 2, "{:?}", l.hosts);
    assert!(
        bands[0].label.starts_with("RTP PCMU 150 pkts"),
        "{}",
        bands[0].label
    );
    let text = crate::report::ladder_text::render(l);
    assert_eq!(text.matches("[RTP PCMU 150").count(), 2, "{text}");
    assert!(text.contains("=[RTP") || text.contains("<[RTP"), "{text}");
    let html = crate::report::html::render(l, &[]);
    assert_eq!(html.matches("class=\"band\"").count(), 2);
}

#[test]
fn media_hold_with_sendonly_is_not_one_way_audio() {
    let mut c = Capture::new();
    c.send(
        0,
        CALLER,
        CALLEE,
        &invite(1, false, &sdp("192.0.2.1", 4000)),
    );
    c.send(
        100,
        CALLEE,
        CALLER,
        &ok(1, false, &sdp("198.51.100.2", 5000)),
    );
    let mut hold = sdp("192.0.2.1", 4000);
    hold.extend_from_slice(b"a=sendonly\r\n");
    c.send(150, CALLER, CALLEE, &invite(2, false, &hold));
    c.stream(200, "192.0.2.1:4000", "198.51.100.2:5000", 1, 0, 250);
    let a = c.analyze();
    assert_eq!(a.media.len(), 1);
    // (The unanswered hold re-INVITE is a SIP finding of its own.)
    let media: Vec<_> = a
        .findings
        .head()
        .into_iter()
        .filter(|f| f.protocol == crate::findings::Protocol::Rtp)
        .collect();
    assert!(media.is_empty(), "{media:?}");
}

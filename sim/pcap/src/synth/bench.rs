//! The benchmark input: a large capture of many interleaved calls with mixed outcomes, mostly over
//! UDP, one call in ten over its own TCP connection, a few STUN transactions. Deterministic (a fixed
//! seed drives the choices), written as a stream (memory stays small whatever the size).

use super::{Link, PcapFile, PcapOptions, SipText, TcpFlags, ip_tcp, ip_udp, sdp, wrap};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;

/// 2024-01-15T10:00:00Z.
const T0: i64 = 1_705_312_800_000_000_000;
const MS: i64 = 1_000_000;
/// Time between call starts.
const CALL_GAP_NS: i64 = 400_000;

/// What the generated file contains.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BenchStats {
    /// Bytes written.
    pub bytes: u64,
    /// Frames written.
    pub frames: u64,
    /// Calls (Call-IDs) started.
    pub calls: u64,
}

/// A tiny deterministic generator (SplitMix64).
#[derive(Clone, Copy, Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// How one generated call ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Script {
    Answered,
    Busy,
    NotFound,
    Cancelled,
    AuthThenAnswered,
    Timeout,
    Register,
}

fn pick(rng: &mut Rng) -> Script {
    match rng.below(100) {
        0..=59 => Script::Answered,
        60..=69 => Script::Busy,
        70..=74 => Script::NotFound,
        75..=82 => Script::Cancelled,
        83..=89 => Script::AuthThenAnswered,
        90..=94 => Script::Timeout,
        _ => Script::Register,
    }
}

/// Writes about `target_bytes` of capture to `path`. With `rtp`, answered calls also carry their
/// media: G.711 RTP every 20 ms in both directions while the call is up (as a capture taken on
/// a phone or a media gateway contains it).
///
/// # Errors
/// The file cannot be written.
pub fn write(path: &Path, target_bytes: u64, rtp: bool) -> std::io::Result<BenchStats> {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    let header = PcapFile::new(PcapOptions::new(1)).into_bytes();
    out.write_all(&header)?;
    let mut stats = BenchStats {
        bytes: header.len() as u64,
        ..BenchStats::default()
    };
    let mut rng = Rng(0x5EED_CAFE);
    let mut heap: BinaryHeap<Reverse<(i64, u64, Vec<u8>)>> = BinaryHeap::new();
    let mut seq = 0u64;
    let mut call = 0u64;
    // Bytes of frames generated but still waiting in the heap.
    let mut pending = 0u64;
    while stats.bytes + pending < target_bytes {
        let start = T0 + call as i64 * CALL_GAP_NS;
        for (ts, frame) in call_frames(&mut rng, call, start, rtp) {
            seq += 1;
            pending += 16 + frame.len() as u64;
            heap.push(Reverse((ts, seq, frame)));
        }
        call += 1;
        let next_start = start + CALL_GAP_NS;
        while heap
            .peek()
            .is_some_and(|Reverse((ts, ..))| *ts < next_start)
        {
            if let Some(Reverse((ts, _, frame))) = heap.pop() {
                pending -= 16 + frame.len() as u64;
                write_record(&mut out, ts, &frame, &mut stats)?;
            }
        }
    }
    while let Some(Reverse((ts, _, frame))) = heap.pop() {
        write_record(&mut out, ts, &frame, &mut stats)?;
    }
    stats.calls = call;
    out.flush()?;
    Ok(stats)
}

fn write_record(
    out: &mut impl Write,
    ts: i64,
    frame: &[u8],
    stats: &mut BenchStats,
) -> std::io::Result<()> {
    let secs = u32::try_from(ts / 1_000_000_000).unwrap_or(0);
    let micros = u32::try_from(ts % 1_000_000_000 / 1_000).unwrap_or(0);
    let len = u32::try_from(frame.len()).unwrap_or(u32::MAX);
    for v in [secs, micros, len, len] {
        out.write_all(&v.to_le_bytes())?;
    }
    out.write_all(frame)?;
    stats.bytes += 16 + frame.len() as u64;
    stats.frames += 1;
    Ok(())
}

/// The parties of call `n`: a client among 50,000 addresses, one of four proxies.
fn parties(n: u64) -> (SocketAddr, SocketAddr) {
    let c = u32::try_from(n % 50_000).unwrap_or(0);
    let client = Ipv4Addr::from(0x0A00_0000 | (c + 2));
    let server = Ipv4Addr::new(198, 51, 100, 10 + u8::try_from(n % 4).unwrap_or(0));
    (
        SocketAddr::new(client.into(), 5060),
        SocketAddr::new(server.into(), 5060),
    )
}

/// Every frame of call `n` with its timestamp.
fn call_frames(rng: &mut Rng, n: u64, start: i64, rtp: bool) -> Vec<(i64, Vec<u8>)> {
    let script = pick(rng);
    let tcp = rng.below(10) == 0 && script != Script::Timeout;
    let (client, server) = parties(n);
    let client = if tcp {
        SocketAddr::new(client.ip(), 40_000 + u16::try_from(n % 20_000).unwrap_or(0))
    } else {
        client
    };
    let call_id = format!("{:016x}-{n}@bench.example.com", rng.next());
    let msgs = script_messages(script, &call_id, client, n, rng);
    let mut t = start;
    let mut timed: Vec<(i64, bool, Vec<u8>)> = Vec::with_capacity(msgs.len());
    for (delay_ms, from_client, m) in msgs {
        t += delay_ms * MS + i64::try_from(rng.below(500_000)).unwrap_or(0);
        timed.push((t, from_client, m));
    }
    let answered = matches!(script, Script::Answered | Script::AuthThenAnswered);
    let talk = (rtp && answered && timed.len() >= 3).then(|| {
        (
            timed.get(timed.len() - 3).map(|t| t.0),
            timed.get(timed.len() - 2).map(|t| t.0),
        )
    });
    let mut frames = if tcp {
        tcp_frames(client, server, start, timed)
    } else {
        timed
            .into_iter()
            .map(|(ts, up, m)| {
                let (s, d) = if up {
                    (client, server)
                } else {
                    (server, client)
                };
                (ts, wrap(Link::Ethernet, &ip_udp(s, d, &m)))
            })
            .collect()
    };
    if let Some((Some(from), Some(to))) = talk {
        frames.extend(rtp_frames(client, n, from, to));
    }
    frames
}

/// G.711 RTP both ways every 20 ms between `from` and `to`.
fn rtp_frames(client: SocketAddr, n: u64, from: i64, to: i64) -> Vec<(i64, Vec<u8>)> {
    let a = SocketAddr::new(client.ip(), 20_000);
    let b = SocketAddr::new(Ipv4Addr::new(198, 51, 100, 200).into(), 30_000);
    let ssrc = u32::try_from(n & 0xFFFF_FFFF).unwrap_or(0);
    let mut out = Vec::new();
    let mut t = from + 20 * MS;
    let mut seq: u16 = 0;
    while t < to {
        for (s, d, id) in [(a, b, ssrc), (b, a, !ssrc)] {
            let mut p = Vec::with_capacity(172);
            p.extend_from_slice(&[0x80, 0x00]);
            p.extend_from_slice(&seq.to_be_bytes());
            p.extend_from_slice(&(u32::from(seq) * 160).to_be_bytes());
            p.extend_from_slice(&id.to_be_bytes());
            p.resize(172, 0xD5);
            out.push((t, wrap(Link::Ethernet, &ip_udp(s, d, &p))));
        }
        seq = seq.wrapping_add(1);
        t += 20 * MS;
    }
    out
}

fn tcp_frames(
    client: SocketAddr,
    server: SocketAddr,
    start: i64,
    timed: Vec<(i64, bool, Vec<u8>)>,
) -> Vec<(i64, Vec<u8>)> {
    let (mut cs, mut ss) = (1_000u32, 9_000u32);
    let mut out = vec![
        (
            start,
            wrap(
                Link::Ethernet,
                &ip_tcp(client, server, cs, 0, TcpFlags::SYN, b""),
            ),
        ),
        (
            start + 1,
            wrap(
                Link::Ethernet,
                &ip_tcp(
                    server,
                    client,
                    ss,
                    cs + 1,
                    TcpFlags {
                        syn: true,
                        ack: true,
                        ..TcpFlags::default()
                    },
                    b"",
                ),
            ),
        ),
    ];
    cs += 1;
    ss += 1;
    let mut last = start + 2;
    for (ts, up, m) in timed {
        let frame = if up {
            let f = ip_tcp(client, server, cs, ss, TcpFlags::DATA, &m);
            cs = cs.wrapping_add(u32::try_from(m.len()).unwrap_or(0));
            f
        } else {
            let f = ip_tcp(server, client, ss, cs, TcpFlags::DATA, &m);
            ss = ss.wrapping_add(u32::try_from(m.len()).unwrap_or(0));
            f
        };
        out.push((ts.max(last), wrap(Link::Ethernet, &frame)));
        last = ts.max(last) + 1;
    }
    let fin = TcpFlags {
        fin: true,
        ack: true,
        ..TcpFlags::default()
    };
    out.push((
        last + 10 * MS,
        wrap(Link::Ethernet, &ip_tcp(client, server, cs, ss, fin, b"")),
    ));
    out
}

/// (delay before it in ms, sent by the client, message).
type Step = (i64, bool, Vec<u8>);

fn script_messages(
    script: Script,
    call_id: &str,
    client: SocketAddr,
    n: u64,
    rng: &mut Rng,
) -> Vec<Step> {
    let user = format!("u{}", n % 50_000);
    let callee = format!("{}", 380_000_000 + rng.below(1_000_000));
    let b = Builder {
        call_id,
        client,
        user: &user,
        callee: &callee,
        n,
    };
    match script {
        Script::Answered => b.answered(1, false),
        Script::Busy => b.failed(486, "Busy Here"),
        Script::NotFound => b.failed(404, "Not Found"),
        Script::Cancelled => b.cancelled(),
        Script::AuthThenAnswered => {
            let mut v = b.challenge();
            v.extend(b.answered(2, true));
            v
        }
        Script::Timeout => [0, 500, 1000, 2000, 4000, 4000, 4000, 4000, 4000, 4000, 4000]
            .iter()
            .map(|d| (*d, true, b.invite(1, false)))
            .collect(),
        Script::Register => b.register(),
    }
}

struct Builder<'a> {
    call_id: &'a str,
    client: SocketAddr,
    user: &'a str,
    callee: &'a str,
    n: u64,
}

impl Builder<'_> {
    fn req(&self, method: &str, cseq: u32, branch: u32, to_tag: bool) -> SipText {
        let to = if to_tag {
            format!("<sip:{}@example.com>;tag=b-{}", self.callee, self.n)
        } else {
            format!("<sip:{}@example.com>", self.callee)
        };
        SipText::request(method, &format!("sip:{}@example.com", self.callee))
            .dialog(
                &self.client.to_string(),
                &format!("z9hG4bK-{}-{branch}", self.n),
                &format!("<sip:{}@example.com>;tag=a-{}", self.user, self.n),
                &to,
                self.call_id,
                &format!("{cseq} {method}"),
            )
            .header("Max-Forwards", "70")
            .header("User-Agent", "bench-ua/1.0")
    }

    fn resp(&self, code: u16, reason: &str, cseq: u32, method: &str, branch: u32) -> SipText {
        let to = if code > 100 {
            format!("<sip:{}@example.com>;tag=b-{}", self.callee, self.n)
        } else {
            format!("<sip:{}@example.com>", self.callee)
        };
        SipText::response(code, reason).dialog(
            &self.client.to_string(),
            &format!("z9hG4bK-{}-{branch}", self.n),
            &format!("<sip:{}@example.com>;tag=a-{}", self.user, self.n),
            &to,
            self.call_id,
            &format!("{cseq} {method}"),
        )
    }

    fn invite(&self, cseq: u32, auth: bool) -> Vec<u8> {
        let offer = sdp(&self.client.ip().to_string(), 20_000, "RTP/AVP");
        let mut r = self
            .req("INVITE", cseq, cseq, false)
            .header("Contact", &format!("<sip:{}@{}>", self.user, self.client));
        if auth {
            r = r.header("Proxy-Authorization", &format!("Digest username=\"{}\", realm=\"example.com\", nonce=\"abc\", uri=\"sip:x\", response=\"0123456789abcdef0123456789abcdef\"", self.user));
        }
        r.body("application/sdp", offer.as_bytes()).build()
    }

    fn answered(&self, cseq: u32, auth: bool) -> Vec<Step> {
        let answer = sdp("198.51.100.200", 30_000, "RTP/AVP");
        vec![
            (0, true, self.invite(cseq, auth)),
            (
                5,
                false,
                self.resp(100, "Trying", cseq, "INVITE", cseq).build(),
            ),
            (
                40,
                false,
                self.resp(180, "Ringing", cseq, "INVITE", cseq).build(),
            ),
            (
                900,
                false,
                self.resp(200, "OK", cseq, "INVITE", cseq)
                    .body("application/sdp", answer.as_bytes())
                    .build(),
            ),
            (10, true, self.req("ACK", cseq, cseq + 100, true).build()),
            (
                1500,
                true,
                self.req("BYE", cseq + 1, cseq + 1, true).build(),
            ),
            (
                10,
                false,
                self.resp(200, "OK", cseq + 1, "BYE", cseq + 1).build(),
            ),
        ]
    }

    fn failed(&self, code: u16, reason: &str) -> Vec<Step> {
        vec![
            (0, true, self.invite(1, false)),
            (5, false, self.resp(100, "Trying", 1, "INVITE", 1).build()),
            (300, false, self.resp(code, reason, 1, "INVITE", 1).build()),
            (5, true, self.req("ACK", 1, 1, true).build()),
        ]
    }

    fn cancelled(&self) -> Vec<Step> {
        vec![
            (0, true, self.invite(1, false)),
            (5, false, self.resp(100, "Trying", 1, "INVITE", 1).build()),
            (40, false, self.resp(180, "Ringing", 1, "INVITE", 1).build()),
            (2000, true, self.req("CANCEL", 1, 1, false).build()),
            (5, false, self.resp(200, "OK", 1, "CANCEL", 1).build()),
            (
                5,
                false,
                self.resp(487, "Request Terminated", 1, "INVITE", 1).build(),
            ),
            (5, true, self.req("ACK", 1, 1, true).build()),
        ]
    }

    fn challenge(&self) -> Vec<Step> {
        vec![
            (0, true, self.invite(1, false)),
            (
                5,
                false,
                self.resp(407, "Proxy Authentication Required", 1, "INVITE", 1)
                    .header(
                        "Proxy-Authenticate",
                        "Digest realm=\"example.com\", nonce=\"abc\"",
                    )
                    .build(),
            ),
            (5, true, self.req("ACK", 1, 1, true).build()),
        ]
    }

    fn register(&self) -> Vec<Step> {
        let contact = format!("<sip:{}@{}>", self.user, self.client);
        vec![
            (0, true, self.req("REGISTER", 1, 1, false).header("Contact", &contact).header("Expires", "3600").build()),
            (5, false, self.resp(401, "Unauthorized", 1, "REGISTER", 1).header("WWW-Authenticate", "Digest realm=\"example.com\", nonce=\"xyz\"").build()),
            (5, true, self.req("REGISTER", 2, 2, false).header("Contact", &contact).header("Authorization", &format!("Digest username=\"{}\", realm=\"example.com\", nonce=\"xyz\", uri=\"sip:example.com\", response=\"0123456789abcdef0123456789abcdef\"", self.user)).build()),
            (5, false, self.resp(200, "OK", 2, "REGISTER", 2).header("Contact", &format!("{contact};expires=3600")).build()),
        ]
    }
}

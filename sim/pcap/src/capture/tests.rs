use super::*;
use crate::synth::{Link, PcapFile, PcapNgFile, PcapOptions, ip_udp, wrap};
use std::io::Cursor;
use std::net::SocketAddr;

const T0: i64 = 1_700_000_000_123_456_789;

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn frame(n: u8) -> Vec<u8> {
    let ip = ip_udp(addr("192.0.2.1:5060"), addr("192.0.2.2:5060"), &[n; 40]);
    wrap(Link::Ethernet, &ip)
}

/// One record as the tests see it: number, then (timestamp, link, length) or the skip reason.
type Rec = (u64, Result<(i64, LinkType, usize), SkipReason>);

/// Reads every record.
fn read_all(bytes: Vec<u8>) -> Vec<Rec> {
    let (mut r, _) = open_reader(Cursor::new(bytes)).unwrap();
    let mut out = Vec::new();
    while let Some(rec) = r.next_record() {
        out.push(match rec {
            Record::Packet(f) => (f.number, Ok((f.ts_ns, f.link, f.data.len()))),
            Record::Skipped { number, reason } => (number, Err(reason)),
        });
    }
    out
}

fn pcap_with(opts: PcapOptions, n: usize) -> Vec<u8> {
    let mut f = PcapFile::new(opts);
    for i in 0..n {
        f.push(T0 + i as i64 * 1_000_000, &frame(i as u8));
    }
    f.into_bytes()
}

#[test]
fn pcap_every_byte_order_and_resolution_reads_all_records() {
    for big_endian in [false, true] {
        for nanos in [false, true] {
            let opts = PcapOptions {
                nanos,
                big_endian,
                ..PcapOptions::new(1)
            };
            let recs = read_all(pcap_with(opts, 3));
            assert_eq!(recs.len(), 3, "{opts:?}");
            let expect_ts = if nanos { T0 } else { T0 / 1000 * 1000 };
            assert_eq!(
                recs[0].1,
                Ok((expect_ts, LinkType::Ethernet, 14 + 20 + 8 + 40))
            );
            assert_eq!(recs[2].0, 3);
        }
    }
}

#[test]
fn pcap_truncated_last_record_is_reported_not_fatal() {
    let mut bytes = pcap_with(PcapOptions::new(1), 3);
    bytes.truncate(bytes.len() - 10);
    let recs = read_all(bytes);
    assert_eq!(recs.len(), 3);
    assert!(recs[1].1.is_ok());
    assert_eq!(recs[2].1, Err(SkipReason::TruncatedRecord));
}

#[test]
fn pcap_corrupt_record_is_skipped_and_reading_resumes() {
    let mut f = PcapFile::new(PcapOptions::new(1));
    f.push(T0, &frame(1));
    // A record header claiming 3 GB, followed by garbage, then good records.
    f.push_raw(&[1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xC0, 0, 0, 0, 0xC0]);
    f.push_raw(&[0xAB; 37]);
    f.push(T0 + 1_000, &frame(2));
    f.push(T0 + 2_000, &frame(3));
    let recs = read_all(f.into_bytes());
    let kinds: Vec<_> = recs.iter().map(|(_, r)| r.map(|_| ())).collect();
    assert_eq!(
        kinds,
        vec![Ok(()), Err(SkipReason::CorruptRecord), Ok(()), Ok(())]
    );
}

#[test]
fn pcapng_mixed_link_types_keep_each_interface_link_and_resolution() {
    let mut f = PcapNgFile::new();
    let eth = f.interface(1, false);
    let sll = f.interface(113, true);
    let raw = f.interface(101, false);
    let ip = ip_udp(addr("192.0.2.1:5060"), addr("192.0.2.2:5060"), b"x");
    f.packet(eth, T0, &wrap(Link::Ethernet, &ip));
    f.packet(sll, T0 + 1, &wrap(Link::Sll, &ip));
    f.packet(raw, T0 + 2_000, &wrap(Link::Raw, &ip));
    f.simple_packet(&wrap(Link::Ethernet, &ip));
    let recs = read_all(f.into_bytes());
    let links: Vec<_> = recs.iter().map(|(_, r)| r.unwrap().1).collect();
    assert_eq!(
        links,
        vec![
            LinkType::Ethernet,
            LinkType::LinuxSll,
            LinkType::Raw,
            LinkType::Ethernet
        ]
    );
    assert_eq!(recs[0].1.unwrap().0, T0 / 1000 * 1000);
    assert_eq!(recs[1].1.unwrap().0, T0 + 1);
    // The simple packet block has no timestamp: the previous one is kept.
    assert_eq!(recs[3].1.unwrap().0, recs[2].1.unwrap().0);
}

#[test]
fn pcapng_unknown_interface_and_corrupt_block_are_counted() {
    let mut f = PcapNgFile::new();
    let eth = f.interface(1, false);
    f.packet(eth, T0, &frame(1));
    f.packet(7, T0, &frame(2));
    // A block whose trailer disagrees with its header.
    f.push_raw(&[6, 0, 0, 0, 32, 0, 0, 0]);
    f.push_raw(&[0; 20]);
    f.push_raw(&[99, 0, 0, 0]);
    f.packet(eth, T0 + 5, &frame(3));
    let recs = read_all(f.into_bytes());
    let kinds: Vec<_> = recs.iter().map(|(_, r)| r.map(|_| ())).collect();
    assert_eq!(
        kinds,
        vec![
            Ok(()),
            Err(SkipReason::UnknownInterface),
            Err(SkipReason::CorruptRecord),
            Ok(())
        ]
    );
}

#[test]
fn gzip_capture_is_decompressed_transparently() {
    use flate2::{Compression as Level, write::GzEncoder};
    use std::io::Write;
    let plain = pcap_with(PcapOptions::new(1), 5);
    let mut enc = GzEncoder::new(Vec::new(), Level::default());
    enc.write_all(&plain).unwrap();
    let gz = enc.finish().unwrap();
    let (_, compression) = open_reader(Cursor::new(gz.clone())).unwrap();
    assert_eq!(compression, Compression::Gzip);
    assert_eq!(read_all(gz).len(), 5);
}

#[test]
fn open_rejects_empty_and_foreign_files() {
    assert!(matches!(
        open_reader(Cursor::new(Vec::new())),
        Err(OpenError::Empty)
    ));
    assert!(matches!(
        open_reader(Cursor::new(b"GIF89a not a capture".to_vec())),
        Err(OpenError::NotACapture { .. })
    ));
}

#[test]
fn reader_streams_files_larger_than_its_buffer() {
    let mut f = PcapFile::new(PcapOptions::new(1));
    let big = vec![0x55u8; 60_000];
    for i in 0..100 {
        f.push(T0 + i, &big);
    }
    let recs = read_all(f.into_bytes());
    assert_eq!(recs.len(), 100);
    assert!(recs.iter().all(|(_, r)| r.is_ok()));
}

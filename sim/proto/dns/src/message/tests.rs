use super::*;
use proptest::prelude::*;
use std::net::IpAddr;

fn answer(id: u16) -> Message {
    let mut m = Message::query(id, "sip.example.net", TYPE_A);
    m.header.response = true;
    m.header.authoritative = true;
    m.answers.push(Record::address(
        "sip.example.net",
        IpAddr::V4(Ipv4Addr::new(203, 0, 113, 10)),
        300,
    ));
    m.answers.push(Record::address(
        "sip.example.net",
        "2001:db8::10".parse().unwrap(),
        60,
    ));
    m.additional.push(Record {
        name: "x.example.net".into(),
        rtype: TYPE_CNAME,
        class: CLASS_IN,
        ttl: 1,
        data: RData::Cname("sip.example.net".into()),
    });
    m
}

#[test]
fn query_encodes_as_rfc1035_says() {
    let wire = Message::query(0x1234, "a.bc", TYPE_A).encode().unwrap();
    assert_eq!(
        wire,
        [
            0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, // header: RD, QDCOUNT 1
            1, b'a', 2, b'b', b'c', 0, // name
            0, 1, 0, 1, // A, IN
        ]
    );
}

#[test]
fn message_round_trips() {
    let m = answer(7);
    assert_eq!(Message::decode(&m.encode().unwrap()).unwrap(), m);
    for rcode in 0..16 {
        let mut m = Message::query(9, "n", TYPE_AAAA);
        m.header.response = true;
        m.header.rcode = rcode;
        m.header.truncated = rcode % 2 == 0;
        let back = Message::decode(&m.encode().unwrap()).unwrap();
        assert_eq!(back.header.rcode, rcode);
        assert_eq!(back, m);
    }
}

#[test]
fn decode_follows_compression_pointers() {
    // QD 1, AN 2; question "sip.example.net" at offset 12; "example.net" at offset 16.
    let mut wire = Message::query(1, "sip.example.net", TYPE_A)
        .encode()
        .unwrap();
    wire[2] |= 0x80; // QR
    wire[3] = 0x80; // RA
    wire[7] = 2; // ANCOUNT
    wire.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 192, 0, 2, 1]);
    wire.extend_from_slice(&[3, b'w', b'w', b'w', 0xc0, 16, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4]);
    wire.extend_from_slice(&[192, 0, 2, 2]);
    let m = Message::decode(&wire).unwrap();
    assert_eq!(m.answers[0].name, "sip.example.net");
    assert_eq!(m.answers[0].data, RData::A(Ipv4Addr::new(192, 0, 2, 1)));
    assert_eq!(m.answers[1].name, "www.example.net");
    assert_eq!(m.answers[1].data, RData::A(Ipv4Addr::new(192, 0, 2, 2)));
    assert!(m.header.response && m.header.recursion_available);
}

#[test]
fn decode_rejects_pointer_loops_and_forward_pointers() {
    // A record whose name points at itself.
    let mut wire = Message::query(1, "a", TYPE_A).encode().unwrap();
    wire[7] = 1;
    let at = u8::try_from(wire.len()).unwrap();
    wire.extend_from_slice(&[0xc0, at, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4]);
    assert_eq!(Message::decode(&wire), Err(DecodeError::NamePointer));
    // "b" + a pointer forward to a pointer back to "b": a loop.
    let mut wire = Message::query(1, "a", TYPE_A).encode().unwrap();
    wire[7] = 1;
    let at = u8::try_from(wire.len()).unwrap();
    wire.extend_from_slice(&[1, b'b', 0xc0, at + 4, 0xc0, at]);
    assert_eq!(Message::decode(&wire), Err(DecodeError::NamePointer));
    // Reserved label type 0x40.
    let mut wire = Message::query(1, "a", TYPE_A).encode().unwrap();
    wire[12] = 0x41;
    assert_eq!(Message::decode(&wire), Err(DecodeError::NamePointer));
}

#[test]
fn decode_errors_name_their_pjlib_status() {
    let wire = answer(3).encode().unwrap();
    assert_eq!(Message::decode(&wire[..11]), Err(DecodeError::Size));
    assert_eq!(DecodeError::Size.status(), 320_041);
    // An A record with a 3-octet address.
    let mut m = Message::query(1, "a", TYPE_A);
    m.answers.push(Record {
        name: "a".into(),
        rtype: TYPE_A,
        class: CLASS_IN,
        ttl: 0,
        data: RData::Other(vec![1, 2, 3]),
    });
    assert_eq!(
        Message::decode(&m.encode().unwrap()),
        Err(DecodeError::Answer)
    );
    assert_eq!(DecodeError::Answer.status(), 320_048);
    assert_eq!(DecodeError::NamePointer.status(), 320_043);
}

#[test]
fn every_truncation_of_a_real_answer_is_an_error_not_a_panic() {
    let wire = answer(5).encode().unwrap();
    for n in 0..wire.len() {
        assert!(Message::decode(&wire[..n]).is_err(), "prefix {n}");
    }
}

#[test]
fn encode_refuses_bad_names() {
    assert!(Message::query(1, "a..b", TYPE_A).encode().is_err());
    assert!(Message::query(1, &"x".repeat(64), TYPE_A).encode().is_err());
    let long = vec!["abcdefghi"; 30].join(".");
    assert!(Message::query(1, &long, TYPE_A).encode().is_err());
    assert!(Message::query(1, "root.", TYPE_A).encode().is_ok());
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic_decode(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = Message::decode(&bytes);
    }

    #[test]
    fn mutated_answers_never_panic_decode(at in 0usize..200, byte in any::<u8>()) {
        let mut wire = answer(11).encode().unwrap();
        let i = at % wire.len();
        wire[i] = byte;
        if let Ok(m) = Message::decode(&wire) {
            prop_assert!(m.questions.len() <= 0xffff);
        }
    }
}

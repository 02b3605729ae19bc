use super::*;
use crate::decode::Carrier;
use crate::sip::{Mode, scan};
use crate::synth::SipText;

const S: i64 = 1_000_000_000;

fn feed(c: &mut Correlator, frame: u64, ts: i64, src: &str, dst: &str, bytes: &[u8]) {
    let s = scan(bytes, Mode::Datagram).unwrap();
    let meta = PacketMeta {
        frame,
        ts_ns: ts,
        src: src.parse().unwrap(),
        dst: dst.parse().unwrap(),
        carrier: Carrier::Udp,
    };
    c.set_first_ts(0);
    c.sip(&meta, SipMessage { bytes, fields: &s });
}

fn invite(branch: &str) -> Vec<u8> {
    SipText::request("INVITE", "sip:bob@example.com")
        .dialog(
            "192.0.2.1:5060",
            branch,
            "<sip:a@x>;tag=1",
            "<sip:b@y>",
            "call-1",
            "1 INVITE",
        )
        .build()
}

fn busy(branch: &str) -> Vec<u8> {
    SipText::response(486, "Busy Here")
        .dialog(
            "192.0.2.1:5060",
            branch,
            "<sip:a@x>;tag=1",
            "<sip:b@y>;tag=2",
            "call-1",
            "1 INVITE",
        )
        .build()
}

#[test]
fn correlator_two_hops_make_one_call_and_one_merged_finding() {
    let mut c = Correlator::default();
    feed(
        &mut c,
        1,
        0,
        "192.0.2.1:5060",
        "192.0.2.9:5060",
        &invite("z9hG4bK-a"),
    );
    feed(
        &mut c,
        2,
        1,
        "192.0.2.9:5060",
        "192.0.2.2:5060",
        &invite("z9hG4bK-p"),
    );
    feed(
        &mut c,
        3,
        2,
        "192.0.2.2:5060",
        "192.0.2.9:5060",
        &busy("z9hG4bK-p"),
    );
    feed(
        &mut c,
        4,
        3,
        "192.0.2.9:5060",
        "192.0.2.1:5060",
        &busy("z9hG4bK-a"),
    );
    let out = c.finish(3, Vec::new());
    let calls = out.calls.head();
    assert_eq!(calls.len(), 1);
    assert_eq!((calls[0].messages, calls[0].hops().len()), (4, 2));
    let f = out.findings.head();
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].frames, vec![1, 2, 3, 4]);
    assert!(
        f[0].diagnosis.ends_with("(seen on 2 hops)"),
        "{}",
        f[0].diagnosis
    );
}

#[test]
fn correlator_late_retransmission_after_close_is_counted_not_diagnosed_again() {
    let mut c = Correlator::default();
    feed(
        &mut c,
        1,
        0,
        "192.0.2.1:5060",
        "192.0.2.2:5060",
        &invite("z9hG4bK-a"),
    );
    feed(
        &mut c,
        2,
        1,
        "192.0.2.2:5060",
        "192.0.2.1:5060",
        &busy("z9hG4bK-a"),
    );
    // Quiet for longer than IDLE_ENDED_NS: the call is closed; a sweep happens on the next message.
    feed(
        &mut c,
        3,
        10 * S,
        "192.0.2.7:5060",
        "192.0.2.8:5060",
        &SipText::request("OPTIONS", "sip:x")
            .dialog(
                "192.0.2.7:5060",
                "z9hG4bK-o",
                "<sip:o@x>;tag=1",
                "<sip:x@y>",
                "other",
                "1 OPTIONS",
            )
            .build(),
    );
    feed(
        &mut c,
        4,
        10 * S + 1,
        "192.0.2.2:5060",
        "192.0.2.1:5060",
        &busy("z9hG4bK-a"),
    );
    let out = c.finish(11 * S, Vec::new());
    let call = out
        .calls
        .head()
        .into_iter()
        .find(|c| c.call_id() == "call-1")
        .unwrap();
    assert_eq!((call.messages, call.retransmissions), (3, 1));
    let busy_findings = out
        .findings
        .head()
        .into_iter()
        .filter(|f| f.code == Some(486))
        .count();
    assert_eq!(busy_findings, 1);
}

#[test]
fn correlator_writes_quiet_calls_out_of_memory_and_keeps_counts() {
    let mut c = Correlator::default();
    for i in 0..50u64 {
        let id = format!("c{i}");
        let t = i as i64 * 2 * S;
        let inv = SipText::request("INVITE", "sip:b@y")
            .dialog(
                "192.0.2.1:5060",
                "z9hG4bK-x",
                "<sip:a@x>;tag=1",
                "<sip:b@y>",
                &id,
                "1 INVITE",
            )
            .build();
        let nf = SipText::response(404, "Not Found")
            .dialog(
                "192.0.2.1:5060",
                "z9hG4bK-x",
                "<sip:a@x>;tag=1",
                "<sip:b@y>;tag=2",
                &id,
                "1 INVITE",
            )
            .build();
        feed(
            &mut c,
            2 * i + 1,
            t,
            "192.0.2.1:5060",
            "192.0.2.2:5060",
            &inv,
        );
        feed(
            &mut c,
            2 * i + 2,
            t + 1,
            "192.0.2.2:5060",
            "192.0.2.1:5060",
            &nf,
        );
    }
    // 100 s of capture: the early calls are over and quiet for more than SPILL_AFTER_NS.
    let live = c.calls.iter().filter(|r| r.seq != 0).count();
    assert!(live < 30, "{live} call records still in memory");
    let out = c.finish(100 * S, Vec::new());
    assert_eq!((out.calls.len(), out.tally.calls), (50, 50));
    assert_eq!(out.tally.by_status.get(&404), Some(&50));
    let mut json = Vec::new();
    let mut calls = out.calls;
    calls.write_json_array(&mut json).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
    let ids: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["call_id"].as_str().unwrap())
        .collect();
    let expected: Vec<String> = (0..50).map(|i| format!("c{i}")).collect();
    assert_eq!(ids, expected);
}

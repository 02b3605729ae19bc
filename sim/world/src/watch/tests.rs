use super::*;
use crate::fabric::{Attachment, NatId};

const ALICE: NodeId = NodeId(0);
const BOB: NodeId = NodeId(1);

fn t(ms: u64) -> SimInstant {
    SimInstant::from_micros(ms * 1000)
}

fn aae(code: u32) -> EventMatch {
    EventMatch {
        name: "aae",
        code: Some(code),
        status: None,
        detail: None,
    }
}

fn ev(code: u32) -> LogEvent {
    LogEvent::named("x").with_code(code)
}

fn sequence(codes: &[u32], strict: bool) -> Watches {
    let spec = WatchSpec::Sequence {
        node: ALICE,
        blocks: blocks(codes.iter().map(|&c| aae(c)).collect(), strict),
    };
    Watches::new(2, vec![spec])
}

fn feed(w: &mut Watches, codes: &[u32]) -> bool {
    for (i, &c) in codes.iter().enumerate() {
        w.offer_event(t(i as u64), ALICE, &ev(c));
    }
    w.clone().into_vec()[0].sequence_done()
}

#[test]
fn watch_sequence_in_order_with_others_between_passes() {
    let mut w = sequence(&[1, 4, 5], false);
    assert!(feed(&mut w, &[1, 99, 4, 3, 5]));
}

#[test]
fn watch_sequence_out_of_order_fails_and_says_what_it_waits_for() {
    let mut w = sequence(&[1, 4, 5], false);
    assert!(!feed(&mut w, &[4, 1, 5]));
    let all = w.into_vec();
    assert_eq!(all[0].sequence_waiting_for(), Some(&aae(4)));
    assert_eq!(all[0].tally.count, 1, "only 1 matched: 4 came before it");
}

#[test]
fn watch_sequence_unordered_pair_accepts_either_order() {
    let mut w = sequence(&[60000, 60109, 60100], false);
    assert!(feed(&mut w, &[60109, 60000, 60100]));
    let mut w = sequence(&[60000, 60109, 60100], false);
    assert!(feed(&mut w, &[60000, 60109, 60100]));
}

#[test]
fn watch_sequence_strict_pins_the_unordered_pair() {
    let mut w = sequence(&[60000, 60109], true);
    assert!(!feed(&mut w, &[60109, 60000]));
}

#[test]
fn watch_blocks_chain_through_a_shared_partner() {
    let b = blocks(vec![aae(6), aae(60004), aae(60106)], false);
    assert_eq!(
        b.len(),
        2,
        "6 and 60004 are ordered; 60106 joins 60004's block"
    );
    let b = blocks(vec![aae(6), aae(60106), aae(60004)], false);
    assert_eq!(b.len(), 1);
}

#[test]
fn watch_unordered_pairs_are_the_ones_faults_md_marks() {
    let faults = include_str!("../../../catalog/data/FAULTS.md");
    let section = faults
        .split("## 7. Happy paths")
        .nth(1)
        .and_then(|s| s.split("## 8.").next())
        .expect("FAULTS.md has a section 7");
    for &(a, b) in UNORDERED_PAIRS {
        let found = section
            .lines()
            .any(|l| l.contains('⇄') && l.contains(&a.to_string()) && l.contains(&b.to_string()))
            || section.lines().any(|l| {
                l.contains('⇄') && l.contains("the two above") && l.contains(&b.to_string())
            });
        assert!(found, "{a} ⇄ {b} is not marked in FAULTS.md §7");
    }
    let marks = section.matches('⇄').count();
    assert_eq!(marks, 6, "FAULTS.md §7 changed: review UNORDERED_PAIRS");
}

#[test]
fn watch_event_counts_in_window_with_status() {
    let spec = WatchSpec::Event {
        node: BOB,
        event: EventMatch {
            status: Some(370082),
            ..aae(60114)
        },
        window: Window {
            after: Some(Duration::from_millis(10)),
            before: Some(Duration::from_millis(20)),
        },
    };
    let mut w = Watches::new(2, vec![spec]);
    let hit = ev(60114).with_status(370082);
    w.offer_event(t(5), BOB, &hit);
    w.offer_event(t(10), BOB, &hit);
    w.offer_event(t(15), BOB, &ev(60114));
    w.offer_event(t(15), ALICE, &hit);
    w.offer_event(t(20), BOB, &hit);
    w.offer_event(t(21), BOB, &hit);
    let tally = w.into_vec()[0].tally;
    assert_eq!(tally.count, 2);
    assert_eq!((tally.first, tally.last), (Some(t(10)), Some(t(20))));
}

#[test]
fn watch_event_by_name_when_there_is_no_number() {
    let spec = WatchSpec::Event {
        node: ALICE,
        event: EventMatch {
            name: "probe-started",
            code: None,
            status: None,
            detail: None,
        },
        window: Window::default(),
    };
    let mut w = Watches::new(1, vec![spec]);
    w.offer_event(t(0), ALICE, &LogEvent::named("probe-started"));
    w.offer_event(t(0), ALICE, &LogEvent::named("port-bound"));
    assert_eq!(w.into_vec()[0].tally.count, 1);
}

#[test]
fn watch_received_filters_kind_and_sender() {
    let spec = WatchSpec::Received {
        node: ALICE,
        from: Some(BOB),
        kind: Some(ProbeKind::Echo),
        window: Window::default(),
    };
    let mut w = Watches::new(2, vec![spec]);
    for (from, kind) in [
        (Some(BOB), ProbeKind::Echo),
        (Some(BOB), ProbeKind::Probe),
        (None, ProbeKind::Echo),
        (Some(BOB), ProbeKind::Echo),
    ] {
        w.offer_reception(
            t(1),
            Reception {
                node: ALICE,
                from,
                kind,
            },
        );
    }
    assert_eq!(w.into_vec()[0].tally.count, 2);
}

#[test]
fn watch_dropped_filters_reason_place_and_origin() {
    let spec = WatchSpec::Dropped {
        reason: Some(DropReason::Filtered),
        at: Some(Entity::Nat(NatId(0))),
        from: Some(BOB),
        window: Window::default(),
    };
    let mut w = Watches::new(2, vec![spec]);
    let d = DropRecord {
        time: t(3),
        reason: DropReason::Filtered,
        at: Attachment::NatOutside(NatId(0)),
        origin: BOB,
    };
    w.offer_drop(&d);
    w.offer_drop(&DropRecord { origin: ALICE, ..d });
    w.offer_drop(&DropRecord {
        reason: DropReason::NoMapping,
        ..d
    });
    assert_eq!(w.into_vec()[0].tally.count, 1);
}

#[test]
fn watch_sip_response_by_code_method_and_sender() {
    let spec = WatchSpec::SipResponse {
        code: 200,
        method: Some("options".into()),
        from: Some(BOB),
    };
    let mut w = Watches::new(2, vec![spec]);
    let seen = SipResponseSeen {
        code: 200,
        method: "OPTIONS",
        origin: BOB,
    };
    w.offer_sip_response(t(1), seen);
    w.offer_sip_response(t(2), SipResponseSeen { code: 404, ..seen });
    w.offer_sip_response(
        t(3),
        SipResponseSeen {
            method: "INVITE",
            ..seen
        },
    );
    w.offer_sip_response(
        t(4),
        SipResponseSeen {
            origin: ALICE,
            ..seen
        },
    );
    assert_eq!(w.into_vec()[0].tally.count, 1);
}

fn data(name: &'static str, bytes: u64, sha: &str) -> LogEvent {
    LogEvent::named(name).with_detail(format!("call=1 bytes={bytes} sha256={sha}"))
}

fn delivery(events: &[(NodeId, LogEvent)]) -> Delivery {
    let mut w = Watches::new(
        2,
        vec![WatchSpec::Delivered {
            from: ALICE,
            to: BOB,
        }],
    );
    for (i, (node, e)) in events.iter().enumerate() {
        w.offer_event(t(i as u64), *node, e);
    }
    w.into_vec()[0].delivery.clone()
}

#[test]
fn watch_delivered_needs_the_receiver_to_reach_the_senders_final_total() {
    let ok = delivery(&[
        (ALICE, data("tunnel-data-sent", 10, "aa")),
        (BOB, data("tunnel-data", 4, "x1")),
        (ALICE, data("tunnel-data-sent", 20, "bb")),
        (BOB, data("tunnel-data", 10, "aa")),
        (BOB, data("tunnel-data", 20, "bb")),
    ]);
    assert!(ok.complete());
    assert_eq!(ok.received_max, 20);
    // The receiver got as many bytes, but different ones.
    let corrupt = delivery(&[
        (ALICE, data("tunnel-data-sent", 20, "bb")),
        (BOB, data("tunnel-data", 20, "cc")),
    ]);
    assert!(!corrupt.complete());
    // Only an earlier total arrived.
    let short = delivery(&[
        (ALICE, data("tunnel-data-sent", 10, "aa")),
        (ALICE, data("tunnel-data-sent", 20, "bb")),
        (BOB, data("tunnel-data", 10, "aa")),
    ]);
    assert!(!short.complete());
    // Events from the wrong side do not count.
    let swapped = delivery(&[
        (BOB, data("tunnel-data-sent", 20, "bb")),
        (ALICE, data("tunnel-data", 20, "bb")),
    ]);
    assert!(!swapped.complete() && swapped.sent.is_none());
}

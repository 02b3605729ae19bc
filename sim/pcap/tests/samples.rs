//! The sample captures of `pcaps/`, analysed by the library: the expectations written in their
//! sidecars, checked one by one.

#![allow(clippy::expect_used)] // test helpers outside #[test] functions

use sim_pcap::correlate::Outcome;
use sim_pcap::{Analysis, AnalyzeOptions, FindingKind, Severity, analyze_path};
use std::path::PathBuf;

fn sample(name: &str) -> Analysis {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../pcaps")
        .join(name);
    let a = analyze_path(&path, &AnalyzeOptions::default(), &mut |_| {}).expect("sample opens");
    assert!(
        a.summary.packets.adds_up(),
        "{name}: accounting does not add up"
    );
    a
}

/// The findings of a kind: (severity, code, diagnosis).
fn findings(a: &Analysis, kind: FindingKind) -> Vec<(Severity, Option<u16>, String)> {
    a.findings
        .head()
        .into_iter()
        .filter(|f| f.kind == kind)
        .map(|f| (f.severity, f.code, f.diagnosis.clone()))
        .collect()
}

fn only_call(a: &Analysis) -> &sim_pcap::correlate::Call {
    let calls: Vec<_> = a
        .calls
        .head()
        .into_iter()
        .filter(|c| c.kind == sim_pcap::correlate::CallKind::Call)
        .collect();
    assert_eq!(calls.len(), 1, "{:?}", a.calls.head());
    calls[0]
}

#[test]
fn sample_answered_udp_call_has_no_findings() {
    let a = sample("call-answered-udp.pcap");
    let c = only_call(&a);
    assert_eq!(
        (c.outcome, c.final_status, c.messages),
        (Outcome::Answered, Some(200), 7)
    );
    assert!(c.setup_time_ms.is_some() && c.post_dial_delay_ms.is_some());
    assert!(a.findings.is_empty(), "{:?}", a.findings.head());
}

#[test]
fn sample_busy_is_a_warning_with_the_operator_meaning() {
    let a = sample("call-busy-486.pcap");
    assert_eq!(only_call(&a).outcome, Outcome::Failed);
    let f = a.findings.head()[0];
    assert_eq!(
        (f.severity, f.kind, f.code),
        (Severity::Warning, FindingKind::SipFailure, Some(486))
    );
    assert_eq!(f.meaning_source, Some("operator trunk table"));
}

#[test]
fn sample_488_names_offered_and_required_profiles() {
    let a = sample("call-488-srtp.pcap");
    let f = findings(&a, FindingKind::SdpProfileMismatch);
    assert_eq!(f.len(), 1);
    assert!(
        f[0].2.contains("offered RTP/AVP") && f[0].2.contains("requires RTP/SAVP"),
        "{}",
        f[0].2
    );
    assert_eq!(f[0].0, Severity::Error);
}

#[test]
fn sample_cancel_487_is_not_an_error() {
    let a = sample("call-cancel-487.pcap");
    assert_eq!(only_call(&a).outcome, Outcome::Cancelled);
    assert_eq!(findings(&a, FindingKind::Cancelled)[0].0, Severity::Info);
    assert!(a.worst() <= Some(Severity::Info));
}

#[test]
fn sample_prack_481_compares_rack_with_rseq() {
    let a = sample("call-prack-481.pcap");
    let f = findings(&a, FindingKind::PrackRackMismatch);
    assert_eq!(f.len(), 1);
    assert!(
        f[0].2.contains("RAck 501 1 INVITE") && f[0].2.contains("RSeq 500"),
        "{}",
        f[0].2
    );
    assert_eq!(f[0].1, Some(481));
}

#[test]
fn sample_no_answer_counts_retransmissions_and_icmp() {
    let a = sample("call-no-answer.pcap");
    let f = findings(&a, FindingKind::NoFinalResponse);
    assert_eq!(f.len(), 1);
    assert!(
        f[0].2.contains("sent 5 time(s)") && f[0].2.contains("ICMP destination unreachable"),
        "{}",
        f[0].2
    );
    assert_eq!(only_call(&a).outcome, Outcome::Timeout);
}

#[test]
fn sample_tcp_gzip_call_is_answered_over_tcp() {
    let a = sample("call-tcp.pcap.gz");
    assert_eq!(a.capture.compression, "gzip");
    let c = only_call(&a);
    assert_eq!((c.outcome, c.messages), (Outcome::Answered, 7));
    assert_eq!(c.transports(), vec!["TCP"]);
}

#[test]
fn sample_register_challenge_then_success_is_info() {
    let a = sample("register-auth.pcapng");
    assert_eq!(a.calls.head()[0].outcome, Outcome::Registered);
    assert_eq!(
        findings(&a, FindingKind::AuthChallenge)[0].0,
        Severity::Info
    );
    assert!(a.worst() <= Some(Severity::Info));
}

#[test]
fn sample_register_wrong_password_is_an_error() {
    let a = sample("register-wrong-password.pcap");
    let f = findings(&a, FindingKind::WrongCredentials);
    assert_eq!((f.len(), f[0].0, f[0].1), (1, Severity::Error, Some(401)));
}

#[test]
fn sample_proxy_call_is_one_call_with_two_hops() {
    let a = sample("proxy-auth-two-hops.pcap");
    let c = only_call(&a);
    assert_eq!(c.hops().len(), 2, "{:?}", c.hops());
    assert_eq!((c.outcome, c.final_status), (Outcome::Answered, Some(200)));
    assert_eq!(c.messages, 17);
    let challenge = findings(&a, FindingKind::AuthChallenge);
    assert!(challenge.iter().all(|f| f.0 == Severity::Info));
    assert!(challenge.iter().any(|f| f.1 == Some(407)));
}

#[test]
fn sample_proxy_403_after_credentials_is_wrong_credentials() {
    let a = sample("proxy-auth-403.pcap");
    let f = findings(&a, FindingKind::WrongCredentials);
    assert_eq!((f.len(), f[0].1), (1, Some(403)));
}

#[test]
fn sample_proxy_408_explains_the_dead_contact() {
    let a = sample("proxy-408.pcap");
    let f = findings(&a, FindingKind::Timeout);
    assert_eq!(f.len(), 1);
    assert!(f[0].2.contains("127.0.0.1:15098"), "{}", f[0].2);
}

#[test]
fn sample_proxy_404_uses_the_operator_table() {
    let a = sample("proxy-404.pcap");
    let f = a.findings.head()[0];
    assert_eq!((f.code, f.severity), (Some(404), Severity::Error));
    assert!(f.meaning.unwrap().contains("registration"));
}

#[test]
fn sample_edge_captures_match_their_sidecars() {
    let a = sample("edge-mixed-linktypes.pcapng");
    assert_eq!((a.summary.packets.sip, a.capture.link_types.len()), (7, 3));
    let a = sample("edge-ipv6.pcap");
    assert_eq!(a.summary.packets.sip, 11);
    let a = sample("edge-fragmented-invite.pcap");
    assert_eq!(a.summary.packets.other.kinds.get("ip_fragment"), Some(&2));
    assert_eq!(only_call(&a).messages, 4);
    let a = sample("edge-tcp-coalesced-split.pcap");
    assert_eq!(
        (a.summary.packets.sip_messages, a.summary.packets.sip),
        (7, 6)
    );
    assert_eq!(
        a.summary.packets.other.kinds.get("tcp_retransmission"),
        Some(&1)
    );
    let a = sample("edge-truncated.pcap");
    assert_eq!(
        a.summary
            .packets
            .undecodable
            .reasons
            .get("truncated_record"),
        Some(&1)
    );
    let a = sample("edge-corrupt-record.pcap");
    assert_eq!(
        a.summary.packets.undecodable.reasons.get("corrupt_record"),
        Some(&1)
    );
    assert_eq!(a.summary.packets.sip, 6);
    let a = sample("edge-nat-stun.pcap");
    for kind in [
        FindingKind::NatPrivateVia,
        FindingKind::NatPrivateContact,
        FindingKind::NatPrivateSdp,
        FindingKind::NatMappingChanged,
        FindingKind::NatAddressDependentMapping,
        FindingKind::StunUnanswered,
        FindingKind::StunError,
    ] {
        assert!(!findings(&a, kind).is_empty(), "{kind:?} missing");
    }
    let a = sample("edge-ice-unanswered.pcap");
    assert_eq!((a.summary.packets.sip, a.summary.packets.stun), (18, 29));
    let silent = findings(&a, FindingKind::StunUnanswered);
    assert_eq!(silent.len(), 3, "{silent:?}");
    assert!(
        silent
            .iter()
            .all(|f| f.2.starts_with("9 Binding request(s)"))
    );
    assert_eq!(findings(&a, FindingKind::NatMappingChanged).len(), 3);
    assert_eq!(findings(&a, FindingKind::NatPrivateContact).len(), 3);
}

#[test]
fn sample_edge_captures_are_reproducible() {
    for c in sim_pcap::synth::edge::edge_captures() {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../pcaps");
        let committed = std::fs::read(dir.join(c.name)).expect("committed");
        assert!(
            committed == c.bytes,
            "{} differs from what pcap-gen makes",
            c.name
        );
        let sidecar = std::fs::read_to_string(dir.join(format!("{}.md", c.name))).expect("sidecar");
        assert_eq!(sidecar, c.sidecar, "{} sidecar", c.name);
    }
}

/// The media streams of a sample: (sender, src, dst, packets, lost).
fn streams(a: &Analysis) -> Vec<(Option<&'static str>, String, String, u64, u64)> {
    a.media
        .head()
        .into_iter()
        .map(|m| (m.sender, m.src.clone(), m.dst.clone(), m.packets, m.lost))
        .collect()
}

#[test]
fn sample_media_two_way_has_two_clean_streams_and_no_findings() {
    let a = sample("media-two-way.pcap");
    assert_eq!((a.summary.packets.rtp, a.summary.media_streams), (600, 2));
    let s = streams(&a);
    assert!(
        s.contains(&(
            Some("caller"),
            "192.0.2.10:16000".into(),
            "203.0.113.20:17000".into(),
            300,
            0
        )),
        "{s:?}"
    );
    assert!(
        s.contains(&(
            Some("callee"),
            "203.0.113.20:17000".into(),
            "192.0.2.10:16000".into(),
            300,
            0
        )),
        "{s:?}"
    );
    for m in a.media.head() {
        let q = m.quality.as_ref().expect("quality");
        assert_eq!((q.codec.as_str(), q.mos), ("PCMA", 4.41));
        assert!(m.max_jitter_ms < 1.0);
        assert_eq!(m.call_id.as_deref(), Some("media-2way-1@natlab.example"));
    }
    assert!(a.findings.is_empty(), "{:?}", a.findings.head());
}

#[test]
fn sample_media_one_way_is_one_way_audio_to_an_unreachable_port() {
    let a = sample("media-one-way.pcap");
    let s = streams(&a);
    assert_eq!(s.len(), 1);
    assert_eq!(a.media.head()[0].icmp_unreachable, 300);
    let one_way = findings(&a, FindingKind::OneWayAudio);
    assert_eq!(one_way.len(), 1);
    assert!(
        one_way[0].2.contains("the callee sent none"),
        "{}",
        one_way[0].2
    );
    let icmp = findings(&a, FindingKind::MediaPortUnreachable);
    assert_eq!(icmp[0].0, Severity::Error);
    assert!(icmp[0].2.contains("203.0.113.20:17990"), "{}", icmp[0].2);
}

#[test]
fn sample_media_none_is_no_audio() {
    let a = sample("media-no-audio.pcap");
    assert_eq!(a.summary.media_streams, 0);
    let f = findings(&a, FindingKind::NoAudio);
    assert_eq!(f.len(), 1);
    assert!(f[0].2.contains("192.0.2.10:16000") && f[0].2.contains("203.0.113.20:17000"));
}

#[test]
fn sample_media_nat_names_the_unexpected_source_and_the_private_address() {
    let a = sample("media-nat-unexpected-source.pcap");
    let nat = a
        .media
        .head()
        .into_iter()
        .find(|m| m.src == "198.51.100.7:40000")
        .expect("caller's stream");
    assert_eq!(nat.sdp_src.as_deref(), Some("192.168.1.20:16000"));
    let f = findings(&a, FindingKind::MediaUnexpectedSource);
    assert_eq!(f.len(), 1);
    assert!(f[0].2.contains("symmetric RTP"), "{}", f[0].2);
    let p = findings(&a, FindingKind::MediaToPrivateAddress);
    assert_eq!(p.len(), 1);
    assert!(
        p[0].2.contains("192.168.1.20:16000") && p[0].2.contains("300 RTP packet(s)"),
        "{}",
        p[0].2
    );
}

#[test]
fn sample_media_stopping_after_30_s_gives_the_time() {
    let a = sample("media-stops-30s.pcap.gz");
    assert_eq!(a.summary.packets.rtp, 3000);
    let f = findings(&a, FindingKind::MediaStopped);
    assert_eq!(f.len(), 1);
    assert!(f[0].2.starts_with("Media stopped 30."), "{}", f[0].2);
}

#[test]
fn sample_media_dtmf_counts_the_digit_without_loss() {
    let a = sample("media-dtmf.pcap");
    let caller = a
        .media
        .head()
        .into_iter()
        .find(|m| m.sender == Some("caller"))
        .expect("caller's stream");
    assert_eq!(
        (
            caller.packets,
            caller.lost,
            caller.duplicates,
            caller.ssrc_changes
        ),
        (310, 0, 0, 1)
    );
    let keys: Vec<&str> = caller
        .telephone_events
        .iter()
        .map(|e| e.key.as_str())
        .collect();
    assert_eq!(keys, ["1"]);
    assert!(caller.telephone_events[0].ended);
    let names: Vec<Option<&str>> = caller
        .payload_types
        .iter()
        .map(|p| p.name.as_deref())
        .collect();
    assert_eq!(names, [Some("PCMA"), Some("telephone-event")]);
    assert_eq!(caller.ssrcs[1].event_redundancy, 2);
    assert!(a.findings.is_empty(), "{:?}", a.findings.head());
}

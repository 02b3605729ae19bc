//! Loader tests: decoding with recovery, locations and paths.

use super::*;
use crate::model::{EndpointSpec, ServerSpec};

/// `(path, message, line, column)` of every diagnostic, in source order.
fn problems(text: &str) -> Vec<(String, String, usize, usize)> {
    let l = load(text);
    let mut v: Vec<_> = l
        .diagnostics
        .iter()
        .map(|d| {
            let loc = d.location.expect("located");
            (
                d.path.as_str().to_owned(),
                d.message.clone(),
                loc.line,
                loc.column,
            )
        })
        .collect();
    v.sort_by_key(|x| (x.2, x.3));
    v
}

fn file(text: &str) -> ScenarioFile {
    let l = load(text);
    assert!(l.diagnostics.is_empty(), "{:#?}", l.diagnostics);
    l.file.expect("decoded")
}

const HEAD: &str = "name: t\nseed: 1\nduration: 10s\n";

#[test]
fn load_minimal_file_decodes() {
    let f = file(&format!("{HEAD}topology: {{}}\n"));
    assert_eq!(f.name, "t");
    assert_eq!(f.seed, 1);
}

#[test]
fn load_plain_numbers_read_as_strings_where_strings_are_expected() {
    let f = file(&format!(
        "{HEAD}topology:\n  servers:\n    - {{kind: sip, name: s}}\n  endpoints:\n    - kind: intercom\n      name: door\n      proxy: s\n      realm: s\n      user: 1001\n      password: 0042\n      registration_interval: 0x3c\n      transport: udp\n"
    ));
    let EndpointSpec::Intercom(i) = &f.topology.endpoints[0] else {
        panic!()
    };
    assert_eq!((i.user.as_str(), i.password.as_str()), ("1001", "0042"));
    assert_eq!(i.registration_interval, 60);
}

#[test]
fn load_quoted_number_is_not_an_integer() {
    let p = problems(&format!("{HEAD}topology: {{}}\ntick: \"5\"\n"));
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].1.contains("`5` needs a unit"), "{p:?}");
    let p = problems("name: t\nseed: \"1\"\nduration: 10s\ntopology: {}\n");
    assert_eq!(p[0].0, "seed");
    assert_eq!(
        p[0].1,
        "expected a whole number (0 or more), found string `1`"
    );
}

#[test]
fn load_aliases_and_merge_keys_expand() {
    let f = file(&format!(
        "{HEAD}topology:\n  defaults:\n    link: &slow {{latency: 50ms, mtu: 1400}}\n  nats:\n    - name: gw\n      public: [198.51.100.1]\n      lan: 10.0.0.0/24\n      link:\n        <<: *slow\n        mtu: 1200\n"
    ));
    let link = f.topology.nats[0].link.as_ref().unwrap();
    assert_eq!(link.latency.map(|d| d.to_string()), Some("50ms".into()));
    assert_eq!(link.mtu, Some(1200));
}

#[test]
fn load_duplicate_key_reported_at_second_and_rest_checked() {
    let p = problems(&format!("{HEAD}seed: 2\ntopology: {{}}\nextra: 1\n"));
    assert_eq!(p.len(), 2, "{p:?}");
    assert_eq!(
        (p[0].1.as_str(), p[0].2, p[0].3),
        ("duplicate key `seed`", 4, 1)
    );
    assert!(p[1].1.starts_with("unknown field `extra`"), "{p:?}");
}

#[test]
fn load_every_unknown_key_reported_with_suggestion() {
    let p = problems(&format!(
        "{HEAD}topology:\n  nats:\n    - name: gw\n      public: [198.51.100.1]\n      lan: 10.0.0.0/24\n      udp_timout: 30s\n      hairpining: true\n      colour: red\n"
    ));
    let paths: Vec<_> = p.iter().map(|x| x.0.as_str()).collect();
    assert_eq!(
        paths,
        [
            "topology.nats[0].udp_timout",
            "topology.nats[0].hairpining",
            "topology.nats[0].colour"
        ]
    );
    assert!(
        p[0].1.ends_with("(did you mean `udp_timeout`?)"),
        "{}",
        p[0].1
    );
    assert!(
        p[1].1.ends_with("(did you mean `hairpinning`?)"),
        "{}",
        p[1].1
    );
    assert!(!p[2].1.contains("did you mean"));
    assert_eq!((p[0].2, p[0].3), (9, 7));
}

#[test]
fn load_failed_sequence_element_is_skipped_and_later_ones_checked() {
    let text = format!(
        "{HEAD}topology:\n  endpoints:\n    - {{kind: udp-probe, name: a, port: 70000}}\n    - {{kind: udp-probe, name: b}}\n    - {{kind: udp-probe, name: c, echo: maybe}}\n    - {{kind: udp-probe, name: d}}\n"
    );
    let p = problems(&text);
    assert_eq!(p.len(), 2, "{p:?}");
    assert_eq!(p[0].0, "topology.endpoints[0].port");
    assert_eq!(
        p[0].1,
        "invalid value: integer `70000`, expected an integer from 0 to 65535"
    );
    assert_eq!(p[1].0, "topology.endpoints[2].echo");
    assert_eq!(p[1].1, "expected `true` or `false`, found string `maybe`");
    // The bad fields are dropped; the items themselves still decode.
    let l = load(&text);
    let names: Vec<_> = l
        .file
        .unwrap()
        .topology
        .endpoints
        .iter()
        .map(|e| e.common().name.to_owned())
        .collect();
    assert_eq!(names, ["a", "b", "c", "d"]);
}

#[test]
fn load_item_missing_required_field_is_dropped_and_its_name_remembered() {
    let text = format!(
        "{HEAD}topology:\n  nats:\n    - name: gw\n      public: [198.51.100.1]\n    - name: gw2\n      public: [198.51.100.2]\n      lan: 10.0.1.0/24\n"
    );
    let p = problems(&text);
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(
        (p[0].0.as_str(), p[0].1.as_str(), p[0].2),
        ("topology.nats[0]", "missing field `lan`", 6)
    );
    let l = load(&text);
    assert_eq!(l.file.unwrap().topology.nats.len(), 1);
    assert!(l.source.is_broken("gw"));
    assert!(!l.source.is_broken("gw2"));
    let nats = YamlPath::root().key("topology").key("nats");
    assert_eq!(l.source.element(&nats, 0).as_str(), "topology.nats[1]");
}

#[test]
fn load_two_bad_values_in_one_item_both_reported() {
    let p = problems(&format!(
        "{HEAD}topology:\n  nats:\n    - name: gw\n      public: [198.51.100.1]\n      lan: 10.0.0.0/24\n      udp_timeout: 30\n      mapping: symetric\n"
    ));
    assert_eq!(p.len(), 2, "{p:?}");
    assert!(p[0].1.contains("`30` needs a unit"), "{p:?}");
    assert!(
        p[1].1
            .starts_with("unknown value `symetric`, expected one of `endpoint-independent`"),
        "{p:?}"
    );
}

#[test]
fn load_unknown_kind_points_at_value_without_cascade() {
    let p = problems(&format!(
        "{HEAD}topology:\n  servers:\n    - kind: stn\n      name: s1\n      bogus: 1\n"
    ));
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].0, "topology.servers[0].kind");
    assert!(
        p[0].1
            .starts_with("unknown kind `stn`, expected one of `sip`, `stun`"),
        "{p:?}"
    );
    assert!(p[0].1.ends_with("(did you mean `stun`?)"));
    assert_eq!((p[0].2, p[0].3), (6, 13));
}

#[test]
fn load_tagged_item_reports_all_its_unknown_fields() {
    let text = format!(
        "{HEAD}topology:\n  servers:\n    - name: s1\n      kind: stun\n      prot: 3478\n      alternat: {{address: 198.51.100.9}}\n"
    );
    let p = problems(&text);
    assert_eq!(p.len(), 2, "{p:?}");
    assert!(p[0].1.contains("(did you mean `port`?)"));
    assert!(p[1].1.contains("(did you mean `alternate`?)"));
    let f = load(&text).file.unwrap();
    assert!(matches!(&f.topology.servers[0], ServerSpec::Stun(s) if s.name == "s1"));
}

#[test]
fn load_tagged_item_missing_kind() {
    let p = problems(&format!("{HEAD}topology:\n  servers:\n    - name: s1\n"));
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(
        (p[0].0.as_str(), p[0].1.as_str()),
        ("topology.servers[0]", "missing field `kind`")
    );
}

#[test]
fn load_tagged_item_missing_fields_reported_then_dropped() {
    let text = format!(
        "{HEAD}topology:\n  endpoints:\n    - kind: softphone\n      name: bob\n      user: bob\n"
    );
    let p = problems(&text);
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].1, "missing fields `password`, `server`");
    let l = load(&text);
    assert!(l.file.unwrap().topology.endpoints.is_empty());
    assert!(l.source.is_broken("bob"));
}

#[test]
fn load_timeline_unknown_action_and_two_actions() {
    let p = problems(&format!(
        "{HEAD}topology: {{}}\ntimeline:\n  - at: 1s\n    partiton: {{between: [a, b]}}\n  - at: 2s\n    heal: {{between: [a, b]}}\n    isolate: {{node: a}}\n  - at: 3s\n  - at: 4s\n    crash: {{node: a, when: now}}\n"
    ));
    assert_eq!(p.len(), 4, "{p:?}");
    assert_eq!(p[0].0, "timeline[0].partiton");
    assert!(p[0].1.starts_with("unknown key `partiton`"), "{}", p[0].1);
    assert!(p[0].1.ends_with("(did you mean `partition`?)"));
    assert_eq!(p[1].0, "timeline[1].isolate");
    assert!(
        p[1].1.starts_with("`isolate` is a second action"),
        "{}",
        p[1].1
    );
    assert_eq!(p[2].0, "timeline[2]");
    assert!(
        p[2].1
            .starts_with("missing action: a timeline entry needs one of `send`"),
        "{}",
        p[2].1
    );
    assert_eq!(p[3].0, "timeline[3].crash.when");
}

#[test]
fn load_timeline_bad_at_does_not_also_report_missing_at() {
    let p = problems(&format!(
        "{HEAD}topology: {{}}\ntimeline:\n  - at: soon\n    crash: {{node: a}}\n"
    ));
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].0, "timeline[0].at");
}

#[test]
fn load_expectation_with_two_keys_or_none() {
    let p = problems(&format!(
        "{HEAD}topology: {{}}\nexpect:\n  - received: {{endpoint: a}}\n    dropped: {{}}\n  - {{}}\n  - recieved: {{endpoint: a}}\n"
    ));
    assert_eq!(p.len(), 3, "{p:?}");
    assert_eq!(p[0].0, "expect[0].dropped");
    assert!(p[0].1.starts_with("a second key `dropped`"), "{}", p[0].1);
    assert_eq!(p[1].0, "expect[1]");
    assert!(
        p[1].1.starts_with("expected one of `received`"),
        "{}",
        p[1].1
    );
    assert!(p[2].1.ends_with("(did you mean `received`?)"), "{}", p[2].1);
}

#[test]
fn load_missing_top_level_field_leaves_no_file_but_reports_the_rest() {
    let l = load("name: t\nduration: 10\ntopology:\n  nats: 5\n");
    let mut m: Vec<_> = l
        .diagnostics
        .iter()
        .map(|d| (d.path.as_str().to_owned(), d.message.clone()))
        .collect();
    m.sort();
    assert!(l.file.is_none());
    assert_eq!(m.len(), 3, "{m:?}");
    assert_eq!(m[0].0, "");
    assert_eq!(m[0].1, "missing field `seed`");
    assert_eq!(m[1].0, "duration");
    assert_eq!(m[2].0, "topology.nats");
    assert_eq!(m[2].1, "expected a list, found integer `5`");
}

#[test]
fn load_yaml_syntax_error_is_one_located_diagnostic() {
    let p = problems("name: t\ntopology:\n  nats:\n    - name: a\n   lan: x\n");
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].2, 5);
}

#[test]
fn load_empty_file_is_an_error() {
    let l = load("# nothing here\n");
    assert!(l.file.is_none());
    assert_eq!(l.diagnostics[0].message, "empty scenario file");
}

#[test]
fn load_null_sections_read_as_empty() {
    let f = file(&format!("{HEAD}topology:\n  nats:\ntimeline:\nexpect:\n"));
    assert!(f.topology.nats.is_empty() && f.timeline.is_empty() && f.expect.is_empty());
}

#[test]
fn load_yes_is_not_a_boolean() {
    let l = load(&format!("{HEAD}capture: yes\ntopology: {{}}\n"));
    assert_eq!(l.diagnostics.len(), 1);
    assert!(
        l.diagnostics[0]
            .help
            .as_deref()
            .unwrap()
            .contains("YAML 1.2")
    );
}

#[test]
fn load_span_table_locates_paths() {
    let l = load(&format!(
        "{HEAD}topology:\n  nats:\n    - name: gw\n      public: [198.51.100.1]\n      lan: 10.0.0.0/24\n"
    ));
    let p = YamlPath::root()
        .key("topology")
        .key("nats")
        .index(0)
        .key("lan");
    let loc = l.source.locate(&p).unwrap();
    assert_eq!((loc.line, loc.column, loc.end_column), (8, 12, 23));
    assert_eq!(
        l.source.spans[&p].key.map(|k| (k.line, k.column)),
        Some((8, 7))
    );
    // A path that was not written falls back to its nearest ancestor.
    let missing = l.source.locate(&p.parent().key("udp_timeout")).unwrap();
    assert_eq!(missing.line, 6);
}

#[test]
fn load_loss_model_typo_and_scalar_form() {
    let p = problems(&format!(
        "{HEAD}topology:\n  defaults:\n    link: {{loss: {{bernouli: 0.1}}}}\n  nats:\n    - {{name: g, public: [198.51.100.1], lan: 10.0.0.0/24, link: {{loss: bernoulli}}}}\n"
    ));
    assert_eq!(p.len(), 2, "{p:?}");
    assert!(
        p[0].1.ends_with("(did you mean `bernoulli`?)"),
        "{:?}",
        p[0]
    );
    assert_eq!(
        p[1].1,
        "`bernoulli` needs settings: write it as `bernoulli: ...`"
    );
}

#[test]
fn load_every_missing_field_of_a_mapping_in_one_diagnostic() {
    let p = problems(&format!(
        "{HEAD}topology:\n  nats:\n    - name: gw\n  endpoints:\n    - {{kind: intercom, name: door, user: u}}\n"
    ));
    assert_eq!(p.len(), 2, "{p:?}");
    assert_eq!(
        (p[0].0.as_str(), p[0].1.as_str()),
        ("topology.nats[0]", "missing fields `public`, `lan`")
    );
    assert_eq!(
        p[1].1,
        "missing fields `proxy`, `realm`, `password`, `registration_interval`, `transport`"
    );
}

#[test]
fn load_missing_top_level_fields_all_named() {
    let p = problems("name: t\n");
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].1, "missing fields `seed`, `duration`, `topology`");
}

#[test]
fn load_integer_forms_and_ranges() {
    let f = file(&format!(
        "{HEAD}topology:\n  servers:\n    - {{kind: stun, name: s, port: 0x0D96}}\n"
    ));
    let ServerSpec::Stun(s) = &f.topology.servers[0] else {
        panic!()
    };
    assert_eq!(s.port, Some(3478));
    let p = problems(&format!(
        "{HEAD}topology:\n  servers:\n    - {{kind: stun, name: s, port: -1}}\n"
    ));
    assert_eq!(
        p[0].1,
        "invalid value: integer `-1`, expected an integer from 0 to 65535"
    );
    let p = problems(&format!(
        "{HEAD}topology:\n  servers:\n    - {{kind: stun, name: s, port: 1.5}}\n"
    ));
    assert_eq!(
        p[0].1,
        "expected an integer from 0 to 65535, found number `1.5`"
    );
    let p = problems("name: t\nseed: 99999999999999999999999\nduration: 1s\ntopology: {}\n");
    assert_eq!(
        p[0].1,
        "invalid value: integer `99999999999999999999999`, expected a whole number (0 or more)"
    );
}

#[test]
fn load_probability_accepts_integers_and_floats() {
    let f = file(&format!(
        "{HEAD}topology:\n  defaults:\n    link: {{duplicate: 1, loss: {{bernoulli: .5}}}}\n"
    ));
    let link = f.topology.defaults.unwrap().link.unwrap();
    assert_eq!(link.duplicate.map(|p| p.0), Some(1.0));
    assert_eq!(
        link.loss,
        Some(crate::model::LossModel::Bernoulli(
            crate::model::Probability(0.5)
        ))
    );
}

#[test]
fn load_tags_str_forces_a_string_and_unknown_tags_are_errors() {
    let p = problems("name: t\nseed: !!str 1\nduration: 1s\ntopology: {}\n");
    assert_eq!(
        p[0].1,
        "expected a whole number (0 or more), found string `1`"
    );
    let p = problems("name: !shout t\nseed: 1\nduration: 1s\ntopology: {}\n");
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].1, "unsupported tag `!shout`");
}

#[test]
fn load_nested_custom_types_locate_their_errors() {
    let p = problems(&format!(
        "{HEAD}topology: {{}}\nexpect:\n  - received: {{endpoint: a, count: {{at_leest: 1}}}}\ntimeline:\n  - at: 1s\n    send: {{from: a, to: {{mapping_of: b, seen_byy: c}}}}\n"
    ));
    assert_eq!(p.len(), 2, "{p:?}");
    assert_eq!(p[0].0, "expect[0].received.count.at_leest");
    assert!(p[0].1.ends_with("(did you mean `at_least`?)"), "{}", p[0].1);
    assert_eq!(p[1].0, "timeline[0].send.to.seen_byy");
}

#[test]
fn load_typo_of_a_required_field_is_not_also_reported_missing() {
    let p = problems(&format!(
        "{HEAD}topology:\n  nats:\n    - {{name: gw, public: [198.51.100.1], lann: 10.0.0.0/24}}\n"
    ));
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].1.starts_with("unknown field `lann`"), "{p:?}");
    // A key that is no typo of it leaves the field reported missing.
    let p = problems(&format!(
        "{HEAD}topology:\n  nats:\n    - {{name: gw, public: [198.51.100.1], network: 10.0.0.0/24}}\n"
    ));
    assert_eq!(p.len(), 2, "{p:?}");
    assert_eq!(p[0].1, "missing field `lan`");
}

#[test]
fn load_failed_action_payload_hides_the_entry_without_cascade() {
    let p = problems(&format!(
        "{HEAD}topology: {{}}\ntimeline:\n  - at: 1s\n    send: {{from: a, to: [1, 2]}}\nexpect:\n  - received: {{endpoint: [a]}}\n"
    ));
    assert_eq!(p.len(), 2, "{p:?}");
    assert_eq!(p[0].0, "timeline[0].send.to");
    assert_eq!(p[1].0, "expect[0].received.endpoint");
}

#[test]
fn load_complex_key_is_an_error() {
    let p = problems("name: t\n? [a, b]\n: c\nseed: 1\nduration: 1s\ntopology: {}\n");
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(
        p[0].1,
        "a mapping key must be a plain value, not a list or mapping"
    );
}

#[test]
fn load_root_must_be_a_mapping() {
    let p = problems("- a\n- b\n");
    assert_eq!(p[0].1, "expected a mapping, found a list");
}

#[test]
fn load_is_deterministic() {
    let text = format!(
        "{HEAD}topology:\n  nats:\n    - {{name: gw, public: [x], lan: y, bogus: 1, mapping: z}}\n  endpoints:\n    - {{kind: nope}}\n    - {{kind: udp-probe, name: p, port: q}}\n"
    );
    let a = problems(&text);
    assert!(a.len() >= 5, "{a:?}");
    for _ in 0..5 {
        assert_eq!(problems(&text), a);
    }
}

#[test]
fn load_many_bad_items_are_all_reported_in_a_few_runs() {
    // A run used to stop at the first bad item, so each bad item cost one more reading of the
    // whole file (quadratic, and cut off at MAX_RUNS).
    let mut text = format!("{HEAD}topology:\n  endpoints:\n");
    for i in 0..300 {
        text.push_str(&format!(
            "    - {{kind: udp-probe, name: p{i}, port: [1]}}\n"
        ));
        text.push_str(&format!("    - {{kind: nope, name: n{i}}}\n"));
        text.push_str(&format!("    - {{kind: udp-probe, name: ok{i}}}\n"));
    }
    text.push_str("timeline:\n");
    for i in 0..300 {
        text.push_str(&format!("  - {{at: {i}x, send: {{from: ok0, to: ok1}}}}\n"));
    }
    let l = load(&text);
    assert_eq!(l.diagnostics.len(), 900, "{:#?}", &l.diagnostics[..3]);
    assert!(l.runs <= 3, "{} runs", l.runs);
    let file = l.file.expect("decoded without the bad items");
    assert_eq!(file.topology.endpoints.len(), 600);
    assert!(file.timeline.is_empty());
}

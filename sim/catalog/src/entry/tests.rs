use super::*;
use crate::fault::FaultGroup;

#[test]
fn entries_cover_the_five_code_catalogs_in_order() {
    let counts: Vec<(Catalog, usize)> = Catalog::WITH_CODES
        .iter()
        .map(|c| (*c, entries_in(*c).count()))
        .collect();
    assert_eq!(
        counts,
        [
            (Catalog::AaeEvents, 28),
            (Catalog::AaeStatus, 301),
            (Catalog::TrunkSipErrors, 19),
            (Catalog::IntercomSipSettings, 4),
            (Catalog::SoftphoneApi, 41),
        ]
    );
    assert_eq!(entries().count(), 28 + 301 + 19 + 4 + 41);
    assert_eq!(entries_in(Catalog::AaeIds).count(), 0);
}

#[test]
fn lookup_number_404_finds_status_and_trunk_row() {
    let found: Vec<(Catalog, &str)> = lookup_number(404)
        .map(|e| (e.catalog(), e.name()))
        .collect();
    assert_eq!(
        found,
        [
            (Catalog::AaeStatus, "PJSIP_SC_NOT_FOUND"),
            (Catalog::TrunkSipErrors, "Not found")
        ]
    );
}

#[test]
fn lookup_number_500_finds_both_trunk_rows() {
    let orders: Vec<u8> = lookup_number(500)
        .filter_map(|e| match e {
            Entry::Trunk(t) => Some(t.order),
            _ => None,
        })
        .collect();
    assert_eq!(orders, [13, 14]);
}

#[test]
fn lookup_name_is_case_insensitive_and_exact() {
    let e: Vec<Entry> = lookup_name("pjnath_eicefailed").collect();
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].code(), Some(Code::Number(370082)));
    assert_eq!(lookup_name("PJNATH_EICE").count(), 0);
    assert_eq!(
        lookup_name("onRegisterFailure").next().map(Entry::catalog),
        Some(Catalog::SoftphoneApi)
    );
    assert_eq!(
        lookup_name("not_valid").next().map(Entry::code),
        Some(Some(Code::Text("not_valid")))
    );
}

#[test]
fn lookup_name_trunk_reason_phrase_is_not_a_code_name() {
    assert_eq!(lookup_name("Busy Here").count(), 0);
}

#[test]
fn lookup_name_event_alias_finds_60002() {
    let e: Vec<Entry> = lookup_name("NATNL_TNL_EVENT_KA_TIMEOUT").collect();
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].name(), "NATNL_TNL_STUN_EVENT_KA_TIMEOUT");
}

#[test]
fn lookup_query_number_or_name() {
    assert_eq!(lookup(" 370082 ").count(), 1);
    assert_eq!(
        lookup("Send Failed").next().map(Entry::code),
        Some(Some(Code::Number(477)))
    );
    assert_eq!(lookup("99999999999").count(), 0);
    assert_eq!(lookup("").count(), 0);
    assert_eq!(lookup("60000009").count(), 0);
}

#[test]
fn entry_group_filters_status_headings_and_categories() {
    let ice: Vec<u32> = entries()
        .filter(|e| e.in_group("ice related errors"))
        .filter_map(|e| match e.code() {
            Some(Code::Number(n)) => Some(n),
            _ => None,
        })
        .collect();
    assert_eq!(ice.len(), 11);
    assert!(ice.iter().all(|c| (370080..=370093).contains(c)));
    assert_eq!(entries().filter(|e| e.in_group("STUN errors")).count(), 26);
    assert_eq!(
        entries().filter(|e| e.in_group("Uncategorized")).count(),
        27
    );
    assert_eq!(entries().filter(|e| e.in_group("tunnel")).count(), 4);
    assert_eq!(
        entries().filter(|e| e.in_group("callee-decision")).count(),
        3
    );
    assert_eq!(
        entries().filter(|e| e.in_group("Register events")).count(),
        2
    );
    assert_eq!(entries().filter(|e| e.in_group("no such group")).count(), 0);
}

#[test]
fn group_names_list_each_name_once() {
    let status = group_names(Catalog::AaeStatus);
    assert_eq!(status.iter().filter(|g| **g == "STUN errors").count(), 1);
    assert_eq!(status.first(), Some(&"無類別"));
    assert_eq!(status.get(1), Some(&"Uncategorized"));
    assert_eq!(status.len(), 24);
    assert_eq!(group_names(Catalog::AaeEvents).len(), 8);
    assert_eq!(group_names(Catalog::TrunkSipErrors).len(), 11);
    // 11 modules, of which 3 hold only callbacks listed by name.
    assert_eq!(group_names(Catalog::SoftphoneApi).len(), 8);
    assert!(group_names(Catalog::IntercomSipSettings).is_empty());
}

#[test]
fn entry_fault_present_for_codes_absent_for_names() {
    for e in entries() {
        let expect = matches!(
            e,
            Entry::AaeEvent(_) | Entry::AaeStatus(_) | Entry::Trunk(_)
        );
        assert_eq!(e.fault().is_some(), expect, "{e:?}");
    }
    let trunk = lookup_number(487)
        .find(|e| e.catalog() == Catalog::TrunkSipErrors)
        .unwrap();
    assert_eq!(trunk.fault().map(|f| f.group), Some(FaultGroup::Trunk));
}

#[test]
fn suggestions_for_mistyped_and_partial_names() {
    let names = |q: &str| -> Vec<&str> { suggestions(q, 3).into_iter().map(Entry::name).collect() };
    assert_eq!(
        names("PJNATH_EICEFAILD").first(),
        Some(&"PJNATH_EICEFAILED")
    );
    assert!(names("EICEFAILED").contains(&"PJNATH_EICEFAILED"));
    assert_eq!(
        names("onRegisterFailur").first(),
        Some(&"onRegisterFailure")
    );
    assert!(names("completely unrelated words").is_empty());
}

#[test]
fn suggestions_for_number_off_by_one_digit() {
    let codes: Vec<Option<Code>> = suggestions("37082", 5)
        .into_iter()
        .map(Entry::code)
        .collect();
    assert!(codes.contains(&Some(Code::Number(370082))), "{codes:?}");
    assert!(suggestions("123456789", 5).is_empty());
    let near: Vec<Option<Code>> = suggestions("60000009", 2)
        .into_iter()
        .map(Entry::code)
        .collect();
    assert_eq!(
        near,
        [Some(Code::Number(60000008)), Some(Code::Number(60000007))]
    );
}

#[test]
fn edit_distance_basics() {
    assert_eq!(edit_distance("", ""), 0);
    assert_eq!(edit_distance("abc", ""), 3);
    assert_eq!(edit_distance("kitten", "sitting"), 3);
    assert_eq!(edit_distance("無類別", "無類"), 1);
}

#[test]
fn entry_json_has_stable_keys_per_catalog() {
    let keys = |e: Entry| -> Vec<String> {
        let v = serde_json::to_value(e).unwrap();
        v.as_object().unwrap().keys().cloned().collect()
    };
    let head = ["catalog", "code", "name", "description", "group"];
    for e in entries() {
        let k = keys(e);
        assert_eq!(&k[..5], head, "{e:?}");
        assert_eq!(k.last().map(String::as_str), Some("fault"), "{e:?}");
    }
    let status = keys(lookup_number(370082).next().unwrap());
    assert_eq!(
        status,
        [
            "catalog",
            "code",
            "name",
            "description",
            "group",
            "group_en",
            "group_section",
            "description_as_written",
            "family",
            "comment",
            "fault"
        ]
    );
}

#[test]
fn entry_json_values() {
    let v = serde_json::to_value(
        lookup_name("NATNL_TNL_STUN_EVENT_KA_TIMEOUT")
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(v["catalog"], "aae-events");
    assert_eq!(v["code"], 60002);
    assert_eq!(v["group"], "tunnel");
    assert_eq!(v["outcome"], "timeout");
    assert_eq!(
        v["aliases"],
        serde_json::json!(["NATNL_TNL_EVENT_KA_TIMEOUT"])
    );
    assert_eq!(v["fault"]["group"], "2. Event codes");
    assert_eq!(v["fault"]["normal_trigger"], serde_json::Value::Null);
    let cb = serde_json::to_value(lookup_name("onInviteTrying").next().unwrap()).unwrap();
    assert_eq!(cb["code"], serde_json::Value::Null);
    assert_eq!(cb["fault"], serde_json::Value::Null);
    assert_eq!(cb["key_params"][0]["name"], "sessionId");
}

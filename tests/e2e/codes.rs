//! `natlab codes`: lookups by number and name, groups, catalogs, JSON, and the exit code 4 for
//! an unknown code or group.

use crate::support::{natlab, root};
use std::process::Output;
use tabled::grid::util::string::get_text_width;

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs `natlab codes ARGS`, expecting success.
fn codes_ok(args: &[&str]) -> String {
    let mut full = vec!["codes"];
    full.extend_from_slice(args);
    let o = natlab(&full);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(&o));
    stdout(&o)
}

fn json(args: &[&str]) -> serde_json::Value {
    let out = codes_ok(args);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("invalid JSON ({e}): {out}"))
}

#[test]
fn codes_number_shows_status_with_fault_cause() {
    let out = codes_ok(&["370082"]);
    assert!(out.contains("B. NAT behaviour"));
    insta::assert_snapshot!("codes_370082_table", out);
}

#[test]
fn codes_name_as_json() {
    let out = codes_ok(&["PJNATH_EICEFAILED", "--format", "json"]);
    insta::assert_snapshot!("codes_pjnath_eicefailed_json", out);
}

#[test]
fn codes_group_lists_ice_errors() {
    let out = codes_ok(&["--group", "ICE related errors"]);
    assert!(out.starts_with("aae-status: 11 rows\n"));
    insta::assert_snapshot!("codes_group_ice_related_errors", out);
}

#[test]
fn codes_group_is_case_insensitive() {
    assert_eq!(
        codes_ok(&["--group", "ice RELATED errors"]),
        codes_ok(&["--group", "ICE related errors"])
    );
}

#[test]
fn codes_404_found_in_two_catalogs() {
    let out = codes_ok(&["404"]);
    assert!(out.contains("aae-status 404  PJSIP_SC_NOT_FOUND"));
    assert!(out.contains("trunk-sip-errors 404  Not found"));
    insta::assert_snapshot!("codes_404_two_catalogs", out);
}

#[test]
fn codes_unknown_code_exits_4() {
    let o = natlab(&["codes", "60000009"]);
    assert_eq!(o.status.code(), Some(4));
    assert!(o.stdout.is_empty());
    insta::assert_snapshot!("codes_unknown_code_stderr", stderr(&o));
}

#[test]
fn codes_unknown_name_exits_4_and_suggests() {
    let o = natlab(&["codes", "PJNATH_EICEFAILD"]);
    assert_eq!(o.status.code(), Some(4));
    let err = stderr(&o);
    assert!(
        err.contains("no documented code or name `PJNATH_EICEFAILD`"),
        "{err}"
    );
    assert!(
        err.contains("\n  did you mean: PJNATH_EICEFAILED (aae-status 370082)"),
        "{err}"
    );
}

#[test]
fn codes_unknown_group_exits_4_listing_groups() {
    let o = natlab(&["codes", "--group", "no such group"]);
    assert_eq!(o.status.code(), Some(4));
    let err = stderr(&o);
    assert!(err.contains("no group `no such group`"), "{err}");
    assert!(err.contains("ICE related errors"), "{err}");
    assert!(err.contains("callee-decision"), "{err}");
}

#[test]
fn codes_name_not_in_selected_catalog_exits_4() {
    let o = natlab(&["codes", "PJNATH_EICEFAILED", "--catalog", "trunk"]);
    assert_eq!(o.status.code(), Some(4));
    assert!(stderr(&o).contains("in the trunk-sip-errors catalog"));
}

#[test]
fn codes_event_header_alias_finds_60002() {
    let v = json(&["NATNL_TNL_EVENT_KA_TIMEOUT", "--format", "json"]);
    assert_eq!(v["codes"][0]["code"], 60002);
    assert_eq!(v["codes"][0]["name"], "NATNL_TNL_STUN_EVENT_KA_TIMEOUT");
}

#[test]
fn codes_catalog_trunk_lists_its_19_rows() {
    let out = codes_ok(&["--catalog", "trunk"]);
    assert!(out.starts_with("trunk-sip-errors: 19 rows\n"), "{out}");
    assert!(out.contains("[X-FWD-Original incorrect]"));
    let v = json(&["--catalog", "trunk", "--format", "json"]);
    let codes = v["codes"].as_array().expect("array");
    assert_eq!(codes.len(), 19);
    assert!(codes.iter().all(|c| c["catalog"] == "trunk-sip-errors"));
}

#[test]
fn codes_table_fits_100_columns_when_piped() {
    for args in [
        &[][..],
        &["370082"][..],
        &["404"][..],
        &["onInviteFailure"][..],
    ] {
        let out = codes_ok(args);
        for line in out.lines() {
            assert!(get_text_width(line) <= 100, "{args:?}: {line:?}");
        }
    }
}

/// The JSON holds exactly as many rows per catalog as the data files declare.
#[test]
fn codes_json_row_counts_match_the_data_files() {
    let v = json(&["--format", "json"]);
    assert_eq!(v["schema_version"], 1);
    let mut counted = std::collections::BTreeMap::<String, u64>::new();
    for row in v["codes"].as_array().expect("array") {
        let catalog = row["catalog"].as_str().expect("catalog id").to_owned();
        *counted.entry(catalog).or_default() += 1;
    }
    let declared = [
        ("aae-events", &["count"][..]),
        ("aae-status", &["count"][..]),
        ("trunk-sip-errors", &["count"][..]),
        ("intercom-sip-settings", &["error_codes", "count"][..]),
        ("softphone-api", &["callback_count", "listed_in_detail"][..]),
    ];
    for (catalog, path) in declared {
        let file = root().join(format!("sim/catalog/data/{catalog}.yaml"));
        let text = std::fs::read_to_string(&file).expect("data file");
        let data: serde_json::Value = serde_saphyr::from_str(&text).expect("valid YAML");
        let count = path.iter().fold(&data, |v, key| &v[*key]).as_u64();
        assert!(count.is_some(), "{catalog}: no count at {path:?}");
        assert_eq!(counted.get(catalog).copied(), count, "{catalog}");
    }
    assert_eq!(counted.len(), declared.len());
}

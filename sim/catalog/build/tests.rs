//! The build script's checks, run as the library's unit tests (`src/lib.rs` mounts this
//! script as a test-only module): each test breaks one data file and expects the build to stop.

use super::generate;

fn real(file: &str) -> String {
    let text = match file {
        "aae-events.yaml" => include_str!("../data/aae-events.yaml"),
        "aae-status.yaml" => include_str!("../data/aae-status.yaml"),
        "trunk-sip-errors.yaml" => include_str!("../data/trunk-sip-errors.yaml"),
        "intercom-sip-settings.yaml" => include_str!("../data/intercom-sip-settings.yaml"),
        "softphone-api.yaml" => include_str!("../data/softphone-api.yaml"),
        "aae-ids.yaml" => include_str!("../data/aae-ids.yaml"),
        "aae-web-api.yaml" => include_str!("../data/aae-web-api.yaml"),
        "FAULTS.md" => include_str!("../data/FAULTS.md"),
        other => panic!("no data file {other}"),
    };
    text.to_owned()
}

/// Generates with `file` changed by replacing the first `from` with `to`.
fn generate_patched(file: &str, from: &str, to: &str) -> String {
    let patched = real(file);
    assert!(patched.contains(from), "{from:?} not in {file}");
    let patched = patched.replacen(from, to, 1);
    generate(&|name| {
        if name == file {
            patched.clone()
        } else {
            real(name)
        }
    })
}

#[test]
fn build_real_data_generates_every_table() {
    let out = generate(&real);
    for table in [
        "static FAULTS: [Fault; ",
        "static AAE_EVENTS: [AaeEvent; 28]",
        "static AAE_STATUSES: [AaeStatus; 301]",
        "static STATUS_GROUPS: [StatusGroup; 24]",
        "static TRUNK_ERRORS: [TrunkError; 19]",
        "static INTERCOM_ERROR_CODES: [IntercomErrorCode; 4]",
        "static SOFTPHONE_CALLBACKS: [SoftphoneCallback; 41]",
        "static SOFTPHONE_FUNCTIONS: [SoftphoneFunction; 83]",
        "static CATALOG_INFO: [CatalogInfo; 7]",
    ] {
        assert!(out.contains(table), "{table}");
    }
}

#[test]
#[should_panic(expected = "data/aae-events.yaml: events has 28 rows but its count field says 29")]
fn build_event_count_differs_fails() {
    generate_patched("aae-events.yaml", "count: 28", "count: 29");
}

#[test]
#[should_panic(
    expected = "data/aae-status.yaml: group 21 (ICE related errors) has 11 rows but its count field says 12"
)]
fn build_status_group_row_count_differs_fails() {
    generate_patched(
        "aae-status.yaml",
        "  last_code: 370093\n  rows: 11",
        "  last_code: 370093\n  rows: 12",
    );
}

#[test]
#[should_panic(
    expected = "data/trunk-sip-errors.yaml: errors has 19 rows but its count field says 18"
)]
fn build_trunk_count_differs_fails() {
    generate_patched("trunk-sip-errors.yaml", "count: 19", "count: 18");
}

#[test]
#[should_panic(
    expected = "data/softphone-api.yaml: callbacks has 41 rows but its count field says 40"
)]
fn build_softphone_callback_count_differs_fails() {
    generate_patched(
        "softphone-api.yaml",
        "  listed_in_detail: 41",
        "  listed_in_detail: 40",
    );
}

#[test]
#[should_panic(expected = "data/intercom-sip-settings.yaml: error_codes has 4 rows")]
fn build_intercom_error_count_differs_fails() {
    generate_patched("intercom-sip-settings.yaml", "  count: 4", "  count: 5");
}

#[test]
#[should_panic(expected = "data/aae-ids.yaml: device_types has 14 rows")]
fn build_device_type_count_differs_fails() {
    generate_patched("aae-ids.yaml", "  count: 14", "  count: 15");
}

#[test]
#[should_panic(expected = "data/aae-status.yaml: malformed")]
fn build_unknown_key_fails() {
    generate_patched(
        "aae-status.yaml",
        "  family: sip-like\n",
        "  family: sip-like\n  colour: red\n",
    );
}

#[test]
#[should_panic(expected = "data/aae-status.yaml: malformed")]
fn build_missing_field_fails() {
    generate_patched("aae-status.yaml", "  name: PJSIP_SC_REQUEST_TIMEOUT\n", "");
}

#[test]
#[should_panic(expected = "unknown StatusFamily \"pjfoo\"")]
fn build_unknown_family_fails() {
    generate_patched("aae-status.yaml", "  family: pjnath\n", "  family: pjfoo\n");
}

#[test]
#[should_panic(expected = "data/FAULTS.md: status 370099 does not resolve")]
fn build_faults_code_not_in_catalog_fails() {
    generate_patched(
        "FAULTS.md",
        "| 370088 `PJNATH_EICEINSRCADDR` |",
        "| 370099 `PJNATH_EICEINSRCADDR` |",
    );
}

#[test]
#[should_panic(
    expected = "370082 is named `PJNATH_EICEFAIL` here but `PJNATH_EICEFAILED` in its catalog"
)]
fn build_faults_name_differs_fails() {
    generate_patched(
        "FAULTS.md",
        "| 370082 `PJNATH_EICEFAILED` |",
        "| 370082 `PJNATH_EICEFAIL` |",
    );
}

#[test]
#[should_panic(expected = "says 6 codes but lists 5")]
fn build_faults_range_count_differs_fails() {
    generate_patched(
        "FAULTS.md",
        "(5 codes: `PJSIP_EAUTHNOAUTH`",
        "(6 codes: `PJSIP_EAUTHNOAUTH`",
    );
}

#[test]
#[should_panic(expected = "171107 is named `PJSIP_EAUTHNOAUTH` here")]
fn build_faults_range_first_name_differs_fails() {
    generate_patched("FAULTS.md", "| 171106–171110 (5", "| 171107–171111 (5");
}

#[test]
#[should_panic(expected = "status 70001 appears in more than one fault row")]
fn build_faults_status_in_two_rows_fails() {
    // Keep the group totals right so only the duplicate is wrong: 70002 becomes a second 70001.
    let faults =
        real("FAULTS.md").replacen("| 70002 `PJ_EPENDING` |", "| 70001 `PJ_EUNKNOWN` |", 1);
    generate(&|name| {
        if name == "FAULTS.md" {
            faults.clone()
        } else {
            real(name)
        }
    });
}

#[test]
#[should_panic(expected = "group NotSimulable heading says 82 codes, its table has 81")]
fn build_faults_status_row_dropped_fails() {
    generate_patched(
        "FAULTS.md",
        "| 70001 `PJ_EUNKNOWN` | Catch-all for an unclassified error; nothing mechanical maps to it. The simulator should never emit it on purpose. |\n",
        "",
    );
}

#[test]
#[should_panic(expected = "trunk row 19 is `606 Unwanted` here but 607 Unwanted in the catalog")]
fn build_faults_trunk_row_differs_fails() {
    generate_patched(
        "FAULTS.md",
        "| 19 | 607 Unwanted |",
        "| 19 | 606 Unwanted |",
    );
}

#[test]
#[should_panic(expected = "section 2 says all Some(29) events, its table has 28")]
fn build_faults_event_total_differs_fails() {
    generate_patched(
        "FAULTS.md",
        "## 2. Event codes (all 28)",
        "## 2. Event codes (all 29)",
    );
}

#[test]
#[should_panic(expected = "section 9 gives group A Some(26) codes, its table has 25")]
fn build_faults_coverage_differs_fails() {
    generate_patched(
        "FAULTS.md",
        "| A. Network faults | 25 |",
        "| A. Network faults | 26 |",
    );
}

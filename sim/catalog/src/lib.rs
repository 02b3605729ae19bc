//! natlab's documented-code catalog: the tables of the seed documents as typed, static data.
//!
//! # What it holds
//!
//! Seven catalogs, taken verbatim from `data/*.yaml` (English renderings of the seed
//! documents), plus the fault map `data/FAULTS.md`:
//!
//! | catalog | rows | API |
//! |---|---|---|
//! | `aae-events` | 28 AAE SDK events | [`aae_events`], [`aae_event`], [`aae_event_by_name`] |
//! | `aae-status` | 301 AAE SDK status codes in 24 headings | [`aae_statuses`], [`aae_status`], [`aae_status_by_name`], [`status_groups`] |
//! | `trunk-sip-errors` | 19 operator trunk rows (18 codes) | [`trunk_errors`], [`trunk_errors_for`], [`trunk_error_for_response`] |
//! | `intercom-sip-settings` | settings fields, 4 error codes | [`intercom_setting`], [`intercom_error_codes`], [`sip_settings_schema`] |
//! | `softphone-api` | 41 callbacks, 83 functions, defaults, PRACK modes | [`softphone_callbacks`], [`softphone_callback`], [`softphone_functions`], [`key_defaults`], [`prack_modes`] |
//! | `aae-ids` | SID tables, 14 device types | [`openid_sids`], [`service_sids`], [`device_types`] |
//! | `aae-web-api` | 4 endpoints, 2 binding flows, glossary | [`endpoints`], [`binding_flows`], [`glossary`] |
//!
//! Every row of the documents is kept, oddities included: the two trunk rows for 500 (told
//! apart by the `X-FWD-Original incorrect` qualifier), status 477 whose name is the text
//! `Send Failed`, the mistyped codes 4200010–4200012, the two "STUN errors" headings told
//! apart by [`StatusGroup::section`], the gaps at 60000009, 60000010 and 60000014.
//!
//! # How it is built
//!
//! The build script reads the YAML files and `FAULTS.md` and writes Rust `static` tables; no
//! YAML is parsed at run time and lookups do not allocate. The build fails, naming the file
//! and the problem, when a file does not match the expected shape, when a table's row count
//! differs from its `count` field, or when a code in `FAULTS.md` does not resolve to a row.
//! To change the data, edit `data/` and rebuild.
//!
//! # Fault causes
//!
//! `FAULTS.md` says how the simulator produces each code. Its tables are attached to the rows
//! they describe: [`AaeEvent::fault`] (section 2), [`AaeStatus::fault`] (section 3, groups A
//! to G: every one of the 301 statuses is in exactly one row), [`TrunkError::fault`] (section
//! 4). A [`Fault`] carries its [`FaultGroup`], the simulated cause and what a correct endpoint
//! reports.
//!
//! ```
//! use sim_catalog::{aae_status, FaultGroup};
//!
//! let ice = aae_status(370082).expect("documented");
//! assert_eq!(ice.name, "PJNATH_EICEFAILED");
//! assert_eq!(ice.group.heading, "ICE related errors");
//! assert_eq!(ice.fault().group, FaultGroup::Nat);
//! assert!(ice.fault().cause.contains("symmetric"));
//! ```
//!
//! # Looking things up
//!
//! Per catalog, by code or by name (names compare ASCII case-insensitively; event 60002 is
//! also found under the public-header spelling `NATNL_TNL_EVENT_KA_TIMEOUT`):
//!
//! ```
//! use sim_catalog::{aae_event, aae_event_by_name, trunk_error_for_response, TrunkCategory};
//!
//! assert_eq!(aae_event(60002).map(|e| e.name), Some("NATNL_TNL_STUN_EVENT_KA_TIMEOUT"));
//! assert_eq!(aae_event_by_name("NATNL_TNL_EVENT_KA_TIMEOUT").map(|e| e.code), Some(60002));
//!
//! // Trunk responses are keyed on the code, and on the qualifier text for 500.
//! let row = trunk_error_for_response(500, "Service Unavailable. X-FWD-Original incorrect");
//! assert_eq!(row.map(|r| (r.order, r.category)), Some((14, TrunkCategory::Forwarding)));
//! let row = trunk_error_for_response(500, "Service Unavailable");
//! assert_eq!(row.map(|r| r.order), Some(13));
//! ```
//!
//! The other catalogs are typed the same way: settings with their documented constraints,
//! callbacks with the SIP event behind them, documented defaults.
//!
//! ```
//! use sim_catalog::{intercom_setting, key_default, softphone_callback, DefaultValue};
//!
//! let interval = intercom_setting("registration_interval").expect("documented");
//! assert_eq!(interval.range(), Some(30..=900));
//! let lead = interval.behaviour.as_ref().map(|b| b.re_registration_lead_seconds);
//! assert_eq!(lead, Some(6));
//! let failure = softphone_callback("onRegisterFailure").expect("documented");
//! assert_eq!(failure.sip, Some("REGISTER failed"));
//! let expires = key_default("registerServer.expires_max_seconds").map(|k| k.value);
//! assert_eq!(expires, Some(DefaultValue::Integer(3600)));
//! ```
//!
//! Across catalogs, [`lookup`] takes what a user typed: a number may match rows of several
//! catalogs, a name matches code names, intercom error codes and callback names.
//!
//! ```
//! use sim_catalog::{lookup, Catalog};
//!
//! let found: Vec<Catalog> = lookup("404").map(|e| e.catalog()).collect();
//! assert_eq!(found, [Catalog::AaeStatus, Catalog::TrunkSipErrors]);
//! assert_eq!(lookup("onRegisterFailure").count(), 1);
//! assert_eq!(lookup("no_such_code").count(), 0);
//! ```
//!
//! A miss can be explained: [`suggestions`] lists close names and numbers, and
//! [`undocumented_status`] names the three status codes the document leaves out but the public
//! natnl header defines (60000009, 60000010, 60000014; `FAULTS.md` section 8).
//!
//! # JSON form (schema version 1)
//!
//! [`Entry`] serialises (serde) to one object per row, which `natlab codes --format json`
//! wraps as `{"schema_version": 1, "codes": [ … ]}`. Keys always appear in this order, with
//! `null` where a row has no value:
//!
//! | key | type | meaning |
//! |---|---|---|
//! | `catalog` | string | `aae-events`, `aae-status`, `trunk-sip-errors`, `intercom-sip-settings`, `softphone-api` |
//! | `code` | number, string or null | event/status/SIP code; the intercom error code; null for callbacks |
//! | `name` | string | code name; trunk: the reason phrase; callback name |
//! | `description` | string or null | description; trunk: meaning; intercom: example message; callback: trigger |
//! | `group` | string or null | event category, status heading, trunk category, callback module |
//! | … | | the catalog's own keys, below |
//! | `fault` | object or null | the `FAULTS.md` row: `group` (`"A. Network faults"`, `"2. Event codes"`, `"4. Operator trunk codes"`), `codes` (its first cell), `cause`, `reports`, `normal_trigger`, `labels` |
//!
//! The catalog's own keys, between `group` and `fault`:
//!
//! - `aae-events`: `description_as_written`, `since_version`, `outcome`, `aliases` (array),
//!   `comment`;
//! - `aae-status`: `group_en`, `group_section`, `description_as_written`, `family`, `comment`;
//! - `trunk-sip-errors`: `order`, `qualifier`, `as_written`, `diagnostic_hint`, `is_error`,
//!   `header`, `related_headers` (array), `original_uk`, `comment`;
//! - `intercom-sip-settings`: `comment`;
//! - `softphone-api`: `signature`, `sip`, `key_params` (array of `{name, doc}`), `comment`.
//!
//! ```
//! let entry = sim_catalog::lookup("PJNATH_EICEFAILED").next().expect("documented");
//! let json = serde_json::to_value(entry).expect("serialises");
//! assert_eq!(json["catalog"], "aae-status");
//! assert_eq!(json["code"], 370082);
//! assert_eq!(json["fault"]["group"], "B. NAT behaviour");
//! ```

mod catalog;
mod entry;
mod events;
mod fault;
mod ids;
mod intercom;
mod json;
mod softphone;
mod status;
mod trunk;
mod web_api;

pub use catalog::{Catalog, CatalogInfo};
pub use entry::{
    Code, Entry, entries, entries_in, group_names, lookup, lookup_name, lookup_number, suggestions,
};
pub use events::{AaeEvent, EventCategory, EventOutcome, aae_event, aae_event_by_name, aae_events};
pub use fault::{Fault, FaultGroup, faults};
pub use ids::{
    DeviceType, DeviceTypes, OpenIdSid, OpenIdSids, ServiceSid, ServiceSids, UserticketSid,
    device_type, device_types, openid_sids, service_sids, userticket_sid,
};
pub use intercom::{
    ErrorExample, FieldBehaviour, FieldConstraints, FieldDerived, IntercomErrorCode,
    IntercomOperation, OperationResponse, Schema, SettingField, SipSettingsExample, error_examples,
    error_schema, intercom_error_code, intercom_error_codes, intercom_operation, intercom_setting,
    sip_settings_examples, sip_settings_schema,
};
pub use json::JSON_SCHEMA_VERSION;
pub use softphone::{
    DefaultValue, DtmfCode, FunctionGroup, KeyDefault, NamesOnly, Param, PrackMode,
    SoftphoneCallback, SoftphoneFunction, SoftphoneGeneral, callback_modules,
    callbacks_by_name_only, functions_by_name_only, key_default, key_defaults, prack_mode,
    prack_modes, softphone_callback, softphone_callbacks, softphone_function, softphone_functions,
    softphone_general,
};
pub use status::{
    AaeStatus, StatusFamily, StatusGroup, UndocumentedStatus, aae_status, aae_status_by_name,
    aae_statuses, status_groups, undocumented_status,
};
pub use trunk::{
    CallDumpAdvice, DumpTool, TrunkCategory, TrunkError, call_dump_advice,
    trunk_error_for_response, trunk_errors, trunk_errors_for,
};
pub use web_api::{
    ApiReference, BindingFlow, Endpoint, EndpointCall, FlowComparison, FlowRule, FlowStep,
    FlowTerm, GlossaryTerm, WebService, binding_comparison, binding_flow, binding_flows, endpoint,
    endpoints, flow_terms, glossary, glossary_term, web_service,
};

/// The build script, mounted for its tests (`build/tests.rs` breaks data files on purpose).
#[cfg(test)]
#[path = "../build/main.rs"]
#[allow(
    dead_code,
    unreachable_pub,
    reason = "only the checks are exercised here"
)]
mod build_script;

/// The tables the build script generates from `data/`.
mod data {
    use crate::catalog::{Catalog, CatalogInfo};
    use crate::events::{AaeEvent, EventCategory, EventOutcome};
    use crate::fault::{Fault, FaultGroup};
    use crate::ids::*;
    use crate::intercom::*;
    use crate::softphone::*;
    use crate::status::{AaeStatus, StatusFamily, StatusGroup};
    use crate::trunk::{CallDumpAdvice, DumpTool, TrunkCategory, TrunkError};
    use crate::web_api::*;

    include!(concat!(env!("OUT_DIR"), "/catalog.rs"));
}

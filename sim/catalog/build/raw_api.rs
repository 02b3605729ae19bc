//! The shape of the softphone, AAE-ids and web-API catalog files.

use super::raw::{Ordered, Source};
use serde::Deserialize;

// ---- softphone-api.yaml ----------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SoftphoneFile {
    pub(crate) catalog: String,
    pub(crate) source: Source,
    pub(crate) conventions: Vec<String>,
    pub(crate) general: General,
    pub(crate) key_defaults: Ordered<DefaultValue>,
    pub(crate) prack_modes: Vec<PrackMode>,
    pub(crate) function_count: Counts,
    pub(crate) functions: Vec<Function>,
    pub(crate) functions_by_name_only: String,
    pub(crate) callback_count: Counts,
    pub(crate) callback_modules: Vec<String>,
    pub(crate) callbacks: Vec<Callback>,
    pub(crate) callbacks_by_name_only: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct General {
    pub(crate) return_convention: String,
    pub(crate) thread_safety: String,
    pub(crate) architectures: String,
    pub(crate) trial_limitation: String,
    pub(crate) p2p_test: String,
    pub(crate) project_setup: String,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum DefaultValue {
    Flag(bool),
    Integer(i64),
    Integers(Vec<i64>),
    Text(String),
}

#[derive(Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PrackMode {
    pub(crate) mode: u8,
    pub(crate) name: String,
    pub(crate) meaning: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Counts {
    pub(crate) listed_in_detail: usize,
    pub(crate) by_name_only: usize,
    pub(crate) total_in_manual: usize,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Param {
    pub(crate) name: String,
    pub(crate) doc: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Function {
    pub(crate) name: String,
    pub(crate) group: String,
    pub(crate) section: String,
    pub(crate) signature: String,
    pub(crate) purpose: String,
    #[serde(default)]
    pub(crate) params: Vec<Param>,
    #[serde(default)]
    pub(crate) defaults_and_limits: Vec<String>,
    pub(crate) returns: Option<String>,
    #[serde(default)]
    pub(crate) related_callbacks: Vec<String>,
    pub(crate) comment: Option<String>,
    #[serde(default)]
    pub(crate) modes: Vec<PrackMode>,
    #[serde(default)]
    pub(crate) dtmf_codes: Vec<DtmfCode>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DtmfCode {
    pub(crate) code: u8,
    pub(crate) tone: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Callback {
    pub(crate) name: String,
    pub(crate) module: String,
    pub(crate) signature: String,
    pub(crate) trigger: String,
    pub(crate) sip: Option<String>,
    pub(crate) key_params: Vec<Param>,
    pub(crate) comment: Option<String>,
}

// ---- aae-ids.yaml ----------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct IdsFile {
    pub(crate) catalog: String,
    pub(crate) source: Source,
    pub(crate) conventions: Vec<String>,
    pub(crate) sid: Sids,
    pub(crate) device_types: DeviceTypes,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Sids {
    pub(crate) userticket_login: UserticketSid,
    pub(crate) openid_login: SidTable<OpenIdSid>,
    pub(crate) other: SidTable<ServiceSid>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserticketSid {
    pub(crate) label_as_written: String,
    pub(crate) label_en: String,
    pub(crate) sid: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SidTable<R> {
    pub(crate) label_as_written: String,
    pub(crate) label_en: String,
    pub(crate) columns: Vec<String>,
    pub(crate) count: usize,
    pub(crate) rows: Vec<R>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OpenIdSid {
    pub(crate) sid: String,
    pub(crate) auth_type: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ServiceSid {
    pub(crate) service: String,
    pub(crate) service_description: String,
    pub(crate) auth_type: String,
    pub(crate) comment: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DeviceTypes {
    pub(crate) columns: Vec<String>,
    pub(crate) comment: String,
    pub(crate) count: usize,
    pub(crate) rows: Vec<DeviceType>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DeviceType {
    pub(crate) device_type: String,
    pub(crate) description: String,
    pub(crate) remark: String,
}

// ---- aae-web-api.yaml ------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WebApiFile {
    pub(crate) catalog: String,
    pub(crate) source: Source,
    pub(crate) conventions: Vec<String>,
    pub(crate) service: Service,
    pub(crate) glossary: Vec<GlossaryTerm>,
    pub(crate) flow_terms: Vec<FlowTerm>,
    pub(crate) endpoints: Vec<Endpoint>,
    pub(crate) binding_flows: Vec<BindingFlow>,
    pub(crate) comparison: Comparison,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Service {
    pub(crate) summary: String,
    pub(crate) flow_overview: String,
    pub(crate) api_reference: ApiReference,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ApiReference {
    pub(crate) file: String,
    pub(crate) how_to_view: String,
    pub(crate) available: bool,
    pub(crate) comment: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GlossaryTerm {
    pub(crate) term: String,
    pub(crate) definition: String,
    pub(crate) as_written: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FlowTerm {
    pub(crate) term: String,
    pub(crate) usage: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Endpoint {
    pub(crate) path: String,
    pub(crate) purpose: String,
    pub(crate) calls: Vec<EndpointCall>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EndpointCall {
    pub(crate) caller: String,
    pub(crate) flow_steps: Vec<String>,
    pub(crate) inputs: Vec<String>,
    pub(crate) inputs_comment: Option<String>,
    pub(crate) outputs: Vec<String>,
    pub(crate) outputs_comment: Option<String>,
    pub(crate) output_alias: Option<String>,
    #[serde(default)]
    pub(crate) rules: Vec<FlowRule>,
    pub(crate) comment: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FlowRule {
    pub(crate) id: String,
    pub(crate) applies_when: Option<String>,
    pub(crate) rule: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BindingFlow {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) figure_available: bool,
    pub(crate) steps: Vec<FlowStep>,
    #[serde(default)]
    pub(crate) notes: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FlowStep {
    pub(crate) n: u8,
    pub(crate) actor: String,
    pub(crate) action: String,
    pub(crate) endpoint: Option<String>,
    pub(crate) endpoint_as_written: Option<String>,
    pub(crate) endpoint_comment: Option<String>,
    #[serde(default)]
    pub(crate) inputs: Vec<String>,
    #[serde(default)]
    pub(crate) outputs: Vec<String>,
    #[serde(default)]
    pub(crate) rules: Vec<FlowRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Comparison {
    pub(crate) text: String,
    pub(crate) comment: String,
}

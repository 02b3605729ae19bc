//! The shape of the catalog files, as serde reads them. Unknown keys are errors, so a file that
//! gains or loses a field fails the build instead of being half-read.

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};
use std::fmt;
use std::marker::PhantomData;

/// A mapping kept in file order.
#[derive(Debug)]
pub(crate) struct Ordered<V>(pub(crate) Vec<(String, V)>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Ordered<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V2<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for V2<V> {
            type Value = Ordered<V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    out.push(entry);
                }
                Ok(Ordered(out))
            }
        }
        d.deserialize_map(V2(PhantomData))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Source {
    pub(crate) document: String,
    pub(crate) section: Option<String>,
    #[serde(default)]
    pub(crate) sections: Vec<String>,
    pub(crate) language: Option<String>,
    pub(crate) operator: Option<String>,
    pub(crate) heading_as_written: Option<String>,
    pub(crate) heading_en: Option<String>,
    pub(crate) ignored: Option<String>,
    pub(crate) operation: Option<String>,
    pub(crate) title: Option<String>,
    pub(crate) product: Option<String>,
    pub(crate) binding: Option<String>,
}

impl Source {
    /// Every key of the source besides `document`, in file order, one pair per section.
    pub(crate) fn details(&self) -> Vec<(&'static str, String)> {
        let single = [
            ("section", &self.section),
            ("language", &self.language),
            ("operator", &self.operator),
            ("heading_as_written", &self.heading_as_written),
            ("heading_en", &self.heading_en),
            ("ignored", &self.ignored),
            ("operation", &self.operation),
            ("title", &self.title),
            ("product", &self.product),
            ("binding", &self.binding),
        ];
        let sections = self.sections.iter().map(|s| ("section", s.clone()));
        let mut out: Vec<(&'static str, String)> = single
            .into_iter()
            .filter_map(|(k, v)| v.clone().map(|v| (k, v)))
            .collect();
        out.splice(0..0, sections);
        out
    }
}

// ---- aae-events.yaml -------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EventsFile {
    pub(crate) catalog: String,
    pub(crate) source: Source,
    pub(crate) conventions: Vec<String>,
    pub(crate) categories: Ordered<String>,
    pub(crate) count: usize,
    pub(crate) events: Vec<Event>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Event {
    pub(crate) code: u32,
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) description_as_written: Option<String>,
    pub(crate) since_version: Option<String>,
    pub(crate) category: String,
    pub(crate) outcome: Option<String>,
    pub(crate) comment: Option<String>,
}

// ---- aae-status.yaml -------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatusFile {
    pub(crate) catalog: String,
    pub(crate) source: Source,
    pub(crate) conventions: Vec<String>,
    pub(crate) groups: Vec<StatusGroup>,
    pub(crate) count: usize,
    pub(crate) statuses: Vec<Status>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatusGroup {
    pub(crate) section: u8,
    pub(crate) heading: String,
    pub(crate) heading_en: Option<String>,
    pub(crate) first_code: u32,
    pub(crate) last_code: u32,
    pub(crate) rows: u16,
    pub(crate) note: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Status {
    pub(crate) code: u32,
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) description_as_written: Option<String>,
    pub(crate) group: String,
    pub(crate) group_en: Option<String>,
    pub(crate) group_section: u8,
    pub(crate) family: String,
    pub(crate) comment: Option<String>,
}

// ---- trunk-sip-errors.yaml -------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TrunkFile {
    pub(crate) catalog: String,
    pub(crate) source: Source,
    pub(crate) conventions: Vec<String>,
    pub(crate) count: usize,
    pub(crate) errors: Vec<TrunkError>,
    pub(crate) call_dump_advice: CallDumpAdvice,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TrunkError {
    pub(crate) order: u8,
    pub(crate) code: u16,
    pub(crate) reason_phrase: String,
    pub(crate) qualifier: Option<String>,
    pub(crate) as_written: Option<String>,
    pub(crate) meaning: String,
    pub(crate) diagnostic_hint: String,
    pub(crate) is_error: bool,
    pub(crate) category: String,
    pub(crate) header: Option<String>,
    #[serde(default)]
    pub(crate) related_headers: Vec<String>,
    pub(crate) original_uk: String,
    pub(crate) comment: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CallDumpAdvice {
    pub(crate) heading_as_written: String,
    pub(crate) heading_en: String,
    pub(crate) text: String,
    pub(crate) tools: Vec<DumpTool>,
    pub(crate) file_format: String,
    pub(crate) requirement: String,
    pub(crate) original_uk: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DumpTool {
    pub(crate) name: String,
    pub(crate) kind: String,
}

// ---- intercom-sip-settings.yaml --------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct IntercomFile {
    pub(crate) catalog: String,
    pub(crate) source: Source,
    pub(crate) conventions: Vec<String>,
    pub(crate) operation: Operation,
    pub(crate) schemas: Schemas,
    pub(crate) error_codes: ErrorCodes,
    pub(crate) examples: Examples,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Operation {
    pub(crate) title: String,
    pub(crate) responses: Vec<OperationResponse>,
    pub(crate) comment: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OperationResponse {
    pub(crate) status: u16,
    pub(crate) description: String,
    pub(crate) content_type: String,
    pub(crate) body: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Schemas {
    pub(crate) sip_settings: Schema,
    pub(crate) error: Schema,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Schema {
    #[serde(rename = "type")]
    pub(crate) ty: String,
    pub(crate) fields: Vec<Field>,
    pub(crate) comment: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Field {
    pub(crate) name: String,
    #[serde(rename = "type")]
    pub(crate) ty: String,
    pub(crate) description: String,
    pub(crate) constraints: Option<Constraints>,
    pub(crate) default: Option<i64>,
    pub(crate) unit: Option<String>,
    pub(crate) unit_comment: Option<String>,
    pub(crate) behaviour: Option<Behaviour>,
    pub(crate) derived: Option<Derived>,
    #[serde(default)]
    pub(crate) fields: Vec<Self>,
    pub(crate) comment: Option<String>,
}

/// `constraints: []` (none) or a mapping.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum Constraints {
    None(Vec<String>),
    Some(ConstraintMap),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConstraintMap {
    #[serde(default)]
    pub(crate) non_empty: bool,
    pub(crate) max_length: Option<u32>,
    pub(crate) minimum: Option<i64>,
    pub(crate) maximum: Option<i64>,
    pub(crate) inclusive: Option<bool>,
    #[serde(rename = "enum", default)]
    pub(crate) allowed: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Behaviour {
    pub(crate) re_registration_lead_seconds: u32,
    pub(crate) rule: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Derived {
    pub(crate) re_register_after_seconds: String,
    pub(crate) range: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ErrorCodes {
    pub(crate) count: usize,
    pub(crate) codes: Vec<ErrorCode>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ErrorCode {
    pub(crate) code: String,
    pub(crate) example_message: Option<String>,
    pub(crate) comment: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Examples {
    pub(crate) sip_settings: Vec<SipSettingsExample>,
    pub(crate) error: Vec<ErrorExample>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SipSettingsExample {
    pub(crate) label: String,
    pub(crate) value: SipSettingsValue,
    pub(crate) comment: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SipSettingsValue {
    pub(crate) proxy: String,
    pub(crate) realm: String,
    pub(crate) user: String,
    pub(crate) password: String,
    pub(crate) stun: StunValue,
    pub(crate) registration_interval: u32,
    pub(crate) h264: u8,
    pub(crate) transport: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StunValue {
    pub(crate) ip: String,
    pub(crate) port: u16,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ErrorExample {
    pub(crate) label: String,
    pub(crate) value: ErrorEnvelope,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ErrorEnvelope {
    pub(crate) error: ErrorBody,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ErrorBody {
    pub(crate) code: String,
    pub(crate) message: String,
    pub(crate) data: Option<ErrorData>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ErrorData {
    pub(crate) param: String,
}

//! The intercom's "Get device SIP settings" API (`intercom-sip-settings.yaml`): the settings
//! fields with their constraints, the error body and its four error codes.

use crate::data;
use std::ops::RangeInclusive;

/// The documented operation: its title and responses.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct IntercomOperation {
    /// `Get device SIP settings`.
    pub title: &'static str,
    /// The documented responses (200 and 401).
    pub responses: &'static [OperationResponse],
    /// Oddities of the page.
    pub comment: Option<&'static str>,
}

/// One documented response of the operation.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct OperationResponse {
    /// HTTP status.
    pub status: u16,
    /// The page's description (`OK`, `Please log in`).
    pub description: &'static str,
    /// Media type of the body.
    pub content_type: &'static str,
    /// Which schema the body follows (`sip_settings`, `error`).
    pub body: &'static str,
}

/// A body schema of the page (`sip_settings` or `error`).
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Schema {
    /// The schema's name.
    pub name: &'static str,
    /// Its type (`object`).
    pub ty: &'static str,
    /// Its fields, in page order.
    pub fields: &'static [SettingField],
    /// Oddities of the page.
    pub comment: Option<&'static str>,
}

impl Schema {
    /// The field named `name`.
    pub fn field(&self, name: &str) -> Option<&'static SettingField> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// A field of a schema, with the schema's own words.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SettingField {
    /// Field name (`registration_interval`).
    pub name: &'static str,
    /// Declared type (`ipv4|dns`, `string`, `number`, `integer`, `object`).
    pub ty: &'static str,
    /// The schema's description.
    pub description: &'static str,
    /// Documented constraints.
    pub constraints: FieldConstraints,
    /// Documented default (only `h264` has one: 102).
    pub default: Option<i64>,
    /// Unit, where the page implies one (`seconds`).
    pub unit: Option<&'static str>,
    /// How the unit was inferred.
    pub unit_comment: Option<&'static str>,
    /// A documented behaviour tied to the field.
    pub behaviour: Option<FieldBehaviour>,
    /// Arithmetic that follows from a documented rule, labelled as derived.
    pub derived: Option<FieldDerived>,
    /// Nested fields of an object field.
    pub fields: &'static [Self],
    /// Oddities of the page.
    pub comment: Option<&'static str>,
}

impl SettingField {
    /// The documented numeric range (`30..=900` for `registration_interval`), if any.
    pub fn range(&self) -> Option<RangeInclusive<i64>> {
        let c = &self.constraints;
        match (c.minimum, c.maximum) {
            (Some(lo), Some(hi)) => Some(lo..=hi),
            _ => None,
        }
    }

    /// The nested field named `name`.
    pub fn field(&self, name: &str) -> Option<&'static Self> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// Constraints a field documents; empty where it documents none.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FieldConstraints {
    /// The value must not be empty.
    pub non_empty: bool,
    /// Longest allowed string, in characters (31 for `user` and `password`).
    pub max_length: Option<u32>,
    /// Smallest allowed number.
    pub minimum: Option<i64>,
    /// Largest allowed number.
    pub maximum: Option<i64>,
    /// Whether `minimum` and `maximum` are inclusive, where stated.
    pub inclusive: Option<bool>,
    /// The allowed values of an enumeration (`udp`, `tcp`, `tls`).
    pub allowed: &'static [&'static str],
}

/// A behaviour the page documents for a field.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FieldBehaviour {
    /// Re-registration happens this many seconds before expiry (6).
    pub re_registration_lead_seconds: u32,
    /// The rule in words.
    pub rule: &'static str,
}

/// Arithmetic derived from a documented rule.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FieldDerived {
    /// When the device re-registers (`registration_interval - 6`).
    pub re_register_after_seconds: &'static str,
    /// The resulting range in words.
    pub range: &'static str,
}

/// An `error.code` value of the error body.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct IntercomErrorCode {
    /// The code (`not_valid`).
    pub code: &'static str,
    /// The message the page's example pairs with it, if any.
    pub example_message: Option<&'static str>,
    /// What the page says about it.
    pub comment: Option<&'static str>,
}

/// A `sip_settings` example of the page.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SipSettingsExample {
    /// The page's label.
    pub label: &'static str,
    /// SIP proxy (`sip:sip.bas-ip.com`).
    pub proxy: &'static str,
    /// Realm.
    pub realm: &'static str,
    /// User number.
    pub user: &'static str,
    /// Password.
    pub password: &'static str,
    /// STUN server address.
    pub stun_ip: &'static str,
    /// STUN server port.
    pub stun_port: u16,
    /// Registration interval.
    pub registration_interval: u32,
    /// H.264 payload type.
    pub h264: u8,
    /// Transport.
    pub transport: &'static str,
    /// How it differs from the other example.
    pub comment: Option<&'static str>,
}

/// An `error` example of the page.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ErrorExample {
    /// The page's label.
    pub label: &'static str,
    /// `error.code`.
    pub code: &'static str,
    /// `error.message`.
    pub message: &'static str,
    /// `error.data.param`, where the example has it.
    pub data_param: Option<&'static str>,
}

/// The documented operation.
pub fn intercom_operation() -> &'static IntercomOperation {
    &data::INTERCOM_OPERATION
}

/// The `sip_settings` schema.
pub fn sip_settings_schema() -> &'static Schema {
    &data::SIP_SETTINGS_SCHEMA
}

/// The `error` schema.
pub fn error_schema() -> &'static Schema {
    &data::ERROR_SCHEMA
}

/// The `sip_settings` field named `name` (`registration_interval`).
pub fn intercom_setting(name: &str) -> Option<&'static SettingField> {
    sip_settings_schema().field(name)
}

/// The four error codes, in page order.
pub fn intercom_error_codes() -> &'static [IntercomErrorCode] {
    &data::INTERCOM_ERROR_CODES
}

/// The error code spelled `code` (ASCII case-insensitive).
pub fn intercom_error_code(code: &str) -> Option<&'static IntercomErrorCode> {
    intercom_error_codes()
        .iter()
        .find(|c| c.code.eq_ignore_ascii_case(code))
}

/// The page's `sip_settings` examples.
pub fn sip_settings_examples() -> &'static [SipSettingsExample] {
    &data::SIP_SETTINGS_EXAMPLES
}

/// The page's `error` examples.
pub fn error_examples() -> &'static [ErrorExample] {
    &data::ERROR_EXAMPLES
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intercom_error_codes_count_matches_yaml_count() {
        let codes: Vec<&str> = intercom_error_codes().iter().map(|c| c.code).collect();
        assert_eq!(
            codes,
            [
                "invalid_authentication",
                "permission_denied",
                "not_valid",
                "system_error"
            ]
        );
        assert_eq!(
            intercom_error_code("NOT_VALID").map(|c| c.example_message),
            Some(Some("Data validation error"))
        );
    }

    #[test]
    fn intercom_setting_registration_interval_range_and_lead() {
        let f = intercom_setting("registration_interval").unwrap();
        assert_eq!(f.range(), Some(30..=900));
        assert_eq!(f.constraints.inclusive, Some(true));
        assert_eq!(f.unit, Some("seconds"));
        assert_eq!(
            f.behaviour.as_ref().map(|b| b.re_registration_lead_seconds),
            Some(6)
        );
    }

    #[test]
    fn intercom_setting_constraints_as_documented() {
        let user = intercom_setting("user").unwrap();
        assert!(user.constraints.non_empty);
        assert_eq!(user.constraints.max_length, Some(31));
        let h264 = intercom_setting("h264").unwrap();
        assert_eq!((h264.range(), h264.default), (Some(99..=127), Some(102)));
        let transport = intercom_setting("transport").unwrap();
        assert_eq!(transport.constraints.allowed, ["udp", "tcp", "tls"]);
        let proxy = intercom_setting("proxy").unwrap();
        assert_eq!(proxy.range(), None);
        assert!(proxy.constraints.allowed.is_empty());
        let stun = intercom_setting("stun").unwrap();
        assert_eq!(stun.field("port").map(|p| p.ty), Some("integer"));
    }

    #[test]
    fn error_schema_lists_the_error_codes() {
        let code = error_schema()
            .field("error")
            .and_then(|e| e.field("code"))
            .unwrap();
        let listed: Vec<&str> = intercom_error_codes().iter().map(|c| c.code).collect();
        assert_eq!(code.constraints.allowed, listed.as_slice());
    }

    #[test]
    fn intercom_examples_and_operation() {
        assert_eq!(sip_settings_examples().len(), 2);
        assert_eq!(sip_settings_examples()[0].registration_interval, 50);
        assert_eq!(error_examples()[0].data_param, Some("must be a string"));
        assert_eq!(error_examples()[1].data_param, None);
        let statuses: Vec<u16> = intercom_operation()
            .responses
            .iter()
            .map(|r| r.status)
            .collect();
        assert_eq!(statuses, [200, 401]);
    }
}

//! AAE identifiers (`aae-ids.yaml`): the SID tables and the device types.
//!
//! Every identifier is a string exactly as written: leading zeros and dotted suffixes
//! (`0001.01`, `1004.1`) are significant.

use crate::data;

/// The SID for users who log in with a userticket.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct UserticketSid {
    /// The list label as written (Chinese).
    pub label_as_written: &'static str,
    /// The label in English.
    pub label_en: &'static str,
    /// The SID (`1004`).
    pub sid: &'static str,
}

/// The SIDs for users who log in with OpenID.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct OpenIdSids {
    /// The list label as written (Chinese).
    pub label_as_written: &'static str,
    /// The label in English.
    pub label_en: &'static str,
    /// The table's columns.
    pub columns: &'static [&'static str],
    /// The rows, in document order.
    pub rows: &'static [OpenIdSid],
}

/// One OpenID SID.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct OpenIdSid {
    /// The SID (`1004.1`).
    pub sid: &'static str,
    /// The authentication type (`GoogleSignIn`).
    pub auth_type: &'static str,
}

/// The other SIDs: one per service.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServiceSids {
    /// The list label as written (Chinese).
    pub label_as_written: &'static str,
    /// The label in English.
    pub label_en: &'static str,
    /// The table's columns.
    pub columns: &'static [&'static str],
    /// The rows, in document order.
    pub rows: &'static [ServiceSid],
}

/// One service SID.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServiceSid {
    /// The service SID (`0001.01`).
    pub service: &'static str,
    /// What the service is (`HomeCloud`).
    pub service_description: &'static str,
    /// Its authentication type (`AWS`).
    pub auth_type: &'static str,
    /// Oddities of the document.
    pub comment: Option<&'static str>,
}

/// The device-type table.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeviceTypes {
    /// The table's columns.
    pub columns: &'static [&'static str],
    /// What the catalog notes about the table.
    pub comment: &'static str,
    /// The rows, in document order.
    pub rows: &'static [DeviceType],
}

/// One device type.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeviceType {
    /// The two-digit code as written (`01`).
    pub device_type: &'static str,
    /// What it is (`PC(Windows Native)`).
    pub description: &'static str,
    /// The remark column (empty for every row in the document).
    pub remark: &'static str,
}

/// The userticket SID.
pub fn userticket_sid() -> &'static UserticketSid {
    &data::USERTICKET_SID
}

/// The OpenID SIDs.
pub fn openid_sids() -> &'static OpenIdSids {
    &data::OPENID_SIDS
}

/// The service SIDs.
pub fn service_sids() -> &'static ServiceSids {
    &data::SERVICE_SIDS
}

/// The device-type table.
pub fn device_types() -> &'static DeviceTypes {
    &data::DEVICE_TYPES
}

/// The device type coded `code`, compared as a string (`"01"`, not `"1"`).
pub fn device_type(code: &str) -> Option<&'static DeviceType> {
    device_types().rows.iter().find(|d| d.device_type == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aae_ids_counts_match_yaml_counts() {
        assert_eq!(openid_sids().rows.len(), 8);
        assert_eq!(service_sids().rows.len(), 12);
        assert_eq!(device_types().rows.len(), 14);
        assert_eq!(userticket_sid().sid, "1004");
    }

    #[test]
    fn ids_are_strings_with_leading_zeros() {
        assert_eq!(
            device_type("01").map(|d| d.description),
            Some("PC(Windows Native)")
        );
        assert!(device_type("1").is_none());
        assert!(device_type("08").is_none());
        let homecloud = service_sids()
            .rows
            .iter()
            .find(|s| s.service == "0001.01")
            .unwrap();
        assert_eq!(homecloud.auth_type, "AWS");
    }

    #[test]
    fn duplicated_sid_keeps_both_spellings() {
        let openid = openid_sids()
            .rows
            .iter()
            .find(|s| s.sid == "1004.1")
            .unwrap();
        let service = service_sids()
            .rows
            .iter()
            .find(|s| s.service == "1004.1")
            .unwrap();
        assert_eq!(
            (openid.auth_type, service.auth_type),
            ("GoogleSignIn", "Google Signin")
        );
        assert!(service.comment.is_some());
    }
}

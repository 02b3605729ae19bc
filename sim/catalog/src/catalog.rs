//! The seven catalogs and what each says about itself (title, source, conventions).

use crate::data;

/// One of the catalog files embedded in this crate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Catalog {
    /// `aae-events`: AAE SDK event codes.
    AaeEvents,
    /// `aae-status`: AAE SDK status codes.
    AaeStatus,
    /// `trunk-sip-errors`: the operator's SIP-trunk error table.
    TrunkSipErrors,
    /// `intercom-sip-settings`: the intercom's SIP settings API and its error codes.
    IntercomSipSettings,
    /// `softphone-api`: the softphone SDK's functions and callbacks.
    SoftphoneApi,
    /// `aae-ids`: SID tables and device types.
    AaeIds,
    /// `aae-web-api`: web-service endpoints, binding flows, glossary.
    AaeWebApi,
}

impl Catalog {
    /// Every catalog, in the order [`crate::entries`] visits them.
    pub const ALL: [Self; 7] = [
        Self::AaeEvents,
        Self::AaeStatus,
        Self::TrunkSipErrors,
        Self::IntercomSipSettings,
        Self::SoftphoneApi,
        Self::AaeIds,
        Self::AaeWebApi,
    ];

    /// The catalogs whose rows are codes or names a user looks up ([`crate::Entry`]).
    pub const WITH_CODES: [Self; 5] = [
        Self::AaeEvents,
        Self::AaeStatus,
        Self::TrunkSipErrors,
        Self::IntercomSipSettings,
        Self::SoftphoneApi,
    ];

    /// The catalog's id, as its `catalog:` field and file name write it (`aae-status`).
    pub const fn id(self) -> &'static str {
        match self {
            Self::AaeEvents => "aae-events",
            Self::AaeStatus => "aae-status",
            Self::TrunkSipErrors => "trunk-sip-errors",
            Self::IntercomSipSettings => "intercom-sip-settings",
            Self::SoftphoneApi => "softphone-api",
            Self::AaeIds => "aae-ids",
            Self::AaeWebApi => "aae-web-api",
        }
    }

    /// The catalog with id `id`.
    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.id() == id)
    }

    /// Whether the catalog's rows are [`crate::Entry`] values.
    pub fn has_codes(self) -> bool {
        Self::WITH_CODES.contains(&self)
    }

    /// What the catalog says about itself.
    pub fn info(self) -> &'static CatalogInfo {
        let i = Self::ALL.iter().position(|c| *c == self).unwrap_or(0);
        &data::CATALOG_INFO[i]
    }
}

impl std::fmt::Display for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}

/// A catalog's header: its title, the seed document it was taken from, and its conventions.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CatalogInfo {
    /// Which catalog.
    pub catalog: Catalog,
    /// The title line of the file (`AAE SDK event codes (English), from …`).
    pub title: &'static str,
    /// The seed document (`shared/seeds/…`).
    pub document: &'static str,
    /// The rest of the file's `source` entry, in file order (`section`, `language`,
    /// `operator`, `title`…; one `section` pair per listed section).
    pub source: &'static [(&'static str, &'static str)],
    /// How the rows were taken from the document.
    pub conventions: &'static [&'static str],
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_info_matches_each_catalog() {
        for c in Catalog::ALL {
            let info = c.info();
            assert_eq!(info.catalog, c);
            assert!(info.document.starts_with("shared/seeds/"), "{c}");
            assert!(!info.conventions.is_empty(), "{c}");
            assert!(!info.title.is_empty(), "{c}");
            assert_eq!(Catalog::from_id(c.id()), Some(c));
        }
        assert!(
            Catalog::AaeStatus
                .info()
                .title
                .starts_with("AAE SDK status codes")
        );
        let trunk = Catalog::TrunkSipErrors.info().source;
        assert!(trunk.contains(&("language", "uk")));
        assert!(trunk.contains(&("operator", "lifecell")));
        assert_eq!(Catalog::AaeWebApi.info().source.len(), 5);
    }
}

//! The JSON form of an [`Entry`] (schema version 1), as `natlab codes --format json` prints
//! it. The crate documentation describes the schema; keys come out in a fixed order.

use crate::entry::{Code, Entry};
use crate::events::AaeEvent;
use crate::fault::Fault;
use crate::intercom::IntercomErrorCode;
use crate::softphone::{Param, SoftphoneCallback};
use crate::status::AaeStatus;
use crate::trunk::TrunkError;
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

/// The version of the JSON form described in the crate documentation.
pub const JSON_SCHEMA_VERSION: u32 = 1;

impl Serialize for Code {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Number(n) => s.serialize_u32(*n),
            Self::Text(t) => s.serialize_str(t),
        }
    }
}

impl Serialize for Entry {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("catalog", self.catalog().id())?;
        map.serialize_entry("code", &self.code())?;
        map.serialize_entry("name", self.name())?;
        map.serialize_entry("description", &self.description())?;
        map.serialize_entry("group", &self.group())?;
        match *self {
            Self::AaeEvent(e) => event_fields(&mut map, e)?,
            Self::AaeStatus(st) => status_fields(&mut map, st)?,
            Self::Trunk(t) => trunk_fields(&mut map, t)?,
            Self::IntercomError(c) => intercom_fields(&mut map, c)?,
            Self::SoftphoneCallback(c) => callback_fields(&mut map, c)?,
        }
        map.serialize_entry("fault", &self.fault())?;
        map.end()
    }
}

fn event_fields<M: SerializeMap>(map: &mut M, e: &AaeEvent) -> Result<(), M::Error> {
    map.serialize_entry("description_as_written", &e.description_as_written)?;
    map.serialize_entry("since_version", &e.since_version)?;
    map.serialize_entry("outcome", &e.outcome.map(|o| o.as_str()))?;
    map.serialize_entry("aliases", &e.aliases().collect::<Vec<_>>())?;
    map.serialize_entry("comment", &e.comment)
}

fn status_fields<M: SerializeMap>(map: &mut M, s: &AaeStatus) -> Result<(), M::Error> {
    map.serialize_entry("group_en", &s.group.heading_en)?;
    map.serialize_entry("group_section", &s.group.section)?;
    map.serialize_entry("description_as_written", &s.description_as_written)?;
    map.serialize_entry("family", s.family.as_str())?;
    map.serialize_entry("comment", &s.comment)
}

fn trunk_fields<M: SerializeMap>(map: &mut M, t: &TrunkError) -> Result<(), M::Error> {
    map.serialize_entry("order", &t.order)?;
    map.serialize_entry("qualifier", &t.qualifier)?;
    map.serialize_entry("as_written", &t.as_written)?;
    map.serialize_entry("diagnostic_hint", t.diagnostic_hint)?;
    map.serialize_entry("is_error", &t.is_error)?;
    map.serialize_entry("header", &t.header)?;
    map.serialize_entry("related_headers", t.related_headers)?;
    map.serialize_entry("original_uk", t.original_uk)?;
    map.serialize_entry("comment", &t.comment)
}

fn intercom_fields<M: SerializeMap>(map: &mut M, c: &IntercomErrorCode) -> Result<(), M::Error> {
    map.serialize_entry("comment", &c.comment)
}

fn callback_fields<M: SerializeMap>(map: &mut M, c: &SoftphoneCallback) -> Result<(), M::Error> {
    map.serialize_entry("signature", c.signature)?;
    map.serialize_entry("sip", &c.sip)?;
    map.serialize_entry("key_params", c.key_params)?;
    map.serialize_entry("comment", &c.comment)
}

impl Serialize for Param {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(2))?;
        map.serialize_entry("name", self.name)?;
        map.serialize_entry("doc", self.doc)?;
        map.end()
    }
}

impl Serialize for Fault {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(6))?;
        map.serialize_entry("group", self.group.label())?;
        map.serialize_entry("codes", self.codes)?;
        map.serialize_entry("cause", self.cause)?;
        map.serialize_entry("reports", &self.reports)?;
        map.serialize_entry("normal_trigger", &self.normal_trigger)?;
        map.serialize_entry("labels", &self.labels)?;
        map.end()
    }
}

//! Reading servers and endpoints, which are tagged by `kind`.
//!
//! serde's derived internally tagged enums first buffer the whole map into an untyped value and
//! then read the variant from that buffer, which loses source locations and turns `user: 1001`
//! into a number that a string field rejects. These impls ask the deserializer for a struct named
//! [`KIND_TAGGED`] instead. natlab's loader recognises the name: it reads `kind` itself and hands
//! the rest of the same map to the variant, so every field is read (and located) directly. Any
//! other deserializer sees an ordinary map and gets the buffered fallback.

use serde::de::{self, MapAccess};

/// The struct name that asks natlab's loader to read `kind` first.
pub(crate) const KIND_TAGGED: &str = "$natlab::kind-tagged";

/// The map without `kind`, and the `kind`, for the fallback path.
pub(crate) fn buffer_kind<'de, A: MapAccess<'de>>(
    mut map: A,
) -> Result<(String, serde_json::Value), A::Error> {
    let mut rest = serde_json::Map::new();
    let mut kind = None;
    while let Some(key) = map.next_key::<String>()? {
        if key == "kind" {
            kind = Some(map.next_value::<String>()?);
        } else {
            rest.insert(key, map.next_value()?);
        }
    }
    let kind = kind.ok_or_else(|| de::Error::missing_field("kind"))?;
    Ok((kind, serde_json::Value::Object(rest)))
}

/// Implements `Deserialize` for an enum whose variants each hold one struct, tagged by `kind`.
macro_rules! kind_tagged {
    ($ty:ident, $kind:ident, $what:literal, { $($tag:literal => $variant:ident($spec:ty)),+ $(,)? }) => {
        /// The `kind` names.
        #[derive(serde::Deserialize)]
        enum $kind {
            $(#[serde(rename = $tag)] $variant),+
        }

        impl $kind {
            const TAGS: &'static [&'static str] = &[$($tag),+];
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> serde::de::Visitor<'de> for V {
                    type Value = $ty;

                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        write!(f, "{} mapping with a `kind`", $what)
                    }

                    fn visit_enum<A: serde::de::EnumAccess<'de>>(self, data: A) -> Result<$ty, A::Error> {
                        use serde::de::VariantAccess;
                        let (kind, body) = data.variant::<$kind>()?;
                        match kind {
                            $($kind::$variant => body.newtype_variant::<$spec>().map($ty::$variant),)+
                        }
                    }

                    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<$ty, A::Error> {
                        use serde::de::Error;
                        let (kind, rest) = $crate::model::tagged::buffer_kind(map)?;
                        match kind.as_str() {
                            $($tag => <$spec as serde::Deserialize>::deserialize(rest)
                                .map($ty::$variant)
                                .map_err(A::Error::custom),)+
                            other => Err(A::Error::unknown_variant(other, $kind::TAGS)),
                        }
                    }
                }
                d.deserialize_struct($crate::model::tagged::KIND_TAGGED, $kind::TAGS, V)
            }
        }
    };
}

pub(crate) use kind_tagged;

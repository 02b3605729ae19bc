//! serde's access traits over the tree: sequences, maps, and the three enum forms (a scalar
//! name, a one-key map, a `kind`-tagged map).

use super::ctx::guarded;
use super::{NodeDe, Role};
use crate::load::error::DeError;
use crate::load::tree::{Kind, Node};
use crate::path::YamlPath;
use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor,
};

/// The visible elements of a sequence.
#[derive(Debug)]
pub(super) struct NodeSeq<'a> {
    pub(super) items: Vec<(&'a Node, YamlPath)>,
    pub(super) pos: usize,
    pub(super) parent: NodeDe<'a>,
}

impl<'de> SeqAccess<'de> for NodeSeq<'_> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        let Some((node, path)) = self.items.get(self.pos).cloned() else {
            return Ok(None);
        };
        self.pos += 1;
        let child = self.parent.child(node, path.clone(), Role::Value);
        guarded(self.parent.ctx, &path, &path, || seed.deserialize(child)).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len() - self.pos)
    }
}

/// The visible entries of a map.
#[derive(Debug)]
pub(super) struct NodeMap<'a> {
    /// Read as a generic map rather than a struct.
    pub(super) whole: bool,
    pub(super) entries: Vec<(&'a Node, &'a Node, YamlPath)>,
    pub(super) pos: usize,
    pub(super) value: Option<(&'a Node, YamlPath)>,
    pub(super) parent: NodeDe<'a>,
}

impl<'de> MapAccess<'de> for NodeMap<'_> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        let Some((key, value, path)) = self.entries.get(self.pos).cloned() else {
            return Ok(None);
        };
        self.pos += 1;
        self.value = Some((value, path.clone()));
        let child = self.parent.child(key, path.clone(), Role::Key);
        guarded(self.parent.ctx, &path, &path, || seed.deserialize(child)).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let Some((value, path)) = self.value.take() else {
            return Err(de::Error::custom("value requested before its key"));
        };
        let child = self.parent.child(value, path.clone(), Role::Value);
        // A generic map (a timeline entry, a target) cannot do without a value that failed:
        // hide all of it. A struct reads on without the field.
        let target = if self.whole {
            self.parent.path.clone()
        } else {
            path.clone()
        };
        guarded(self.parent.ctx, &path, &target, || seed.deserialize(child))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len() - self.pos)
    }
}

/// A scalar read as an enum: a unit variant.
#[derive(Debug)]
pub(super) struct UnitEnum<'a>(pub(super) NodeDe<'a>);

impl<'de, 'a> EnumAccess<'de> for UnitEnum<'a> {
    type Error = DeError;
    type Variant = Self;

    fn variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<(T::Value, Self), DeError> {
        let v = seed.deserialize(self.0.clone())?;
        Ok((v, self))
    }
}

impl<'de> VariantAccess<'de> for UnitEnum<'_> {
    type Error = DeError;

    fn unit_variant(self) -> Result<(), DeError> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, _: T) -> Result<T::Value, DeError> {
        Err(self.needs_value())
    }

    fn tuple_variant<V: Visitor<'de>>(self, _: usize, _: V) -> Result<V::Value, DeError> {
        Err(self.needs_value())
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, DeError> {
        Err(self.needs_value())
    }
}

impl UnitEnum<'_> {
    fn needs_value(&self) -> DeError {
        let name = self.0.scalar_text().unwrap_or("~");
        de::Error::custom(format_args!(
            "`{name}` needs settings: write it as `{name}: ...`"
        ))
    }
}

/// A one-key map read as an enum: the key names the variant, the value holds its content.
#[derive(Debug)]
pub(super) struct MapEnum<'a> {
    pub(super) key: NodeDe<'a>,
    pub(super) value: NodeDe<'a>,
}

impl<'de, 'a> EnumAccess<'de> for MapEnum<'a> {
    type Error = DeError;
    type Variant = NodeDe<'a>;

    fn variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<(T::Value, NodeDe<'a>), DeError> {
        let path = self.key.path.clone();
        let ctx = self.key.ctx;
        let v = guarded(ctx, &path, &path, || seed.deserialize(self.key))?;
        Ok((v, self.value))
    }
}

impl<'de> VariantAccess<'de> for NodeDe<'_> {
    type Error = DeError;

    fn unit_variant(self) -> Result<(), DeError> {
        match self.node.kind {
            Kind::Null => Ok(()),
            _ => Err(self.report(de::Error::custom("this name takes no value"))),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, DeError> {
        let path = self.path.clone();
        let ctx = self.ctx;
        // An enum payload that failed leaves the enum's one-key map without meaning.
        guarded(ctx, &path, &path.parent(), || seed.deserialize(self))
    }

    fn tuple_variant<V: Visitor<'de>>(self, _: usize, v: V) -> Result<V::Value, DeError> {
        self.deserialize_seq(v)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_struct("", fields, v)
    }
}

/// A tagged server or endpoint: `kind` names the variant, the rest of the map is its content.
#[derive(Debug)]
pub(super) struct KindEnum<'a> {
    pub(super) kind: NodeDe<'a>,
    pub(super) body: NodeDe<'a>,
}

impl<'de, 'a> EnumAccess<'de> for KindEnum<'a> {
    type Error = DeError;
    type Variant = KindBody<'a>;

    fn variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<(T::Value, KindBody<'a>), DeError> {
        let path = self.kind.path.clone();
        let ctx = self.kind.ctx;
        let v = guarded(ctx, &path, &path, || seed.deserialize(self.kind))?;
        Ok((v, KindBody(self.body)))
    }
}

/// The content of a tagged node: the node itself, `kind` hidden.
#[derive(Debug)]
pub(super) struct KindBody<'a>(pub(super) NodeDe<'a>);

impl<'de> VariantAccess<'de> for KindBody<'_> {
    type Error = DeError;

    fn unit_variant(self) -> Result<(), DeError> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, DeError> {
        seed.deserialize(self.0)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _: usize, v: V) -> Result<V::Value, DeError> {
        self.0.deserialize_seq(v)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, DeError> {
        self.0.deserialize_struct("", fields, v)
    }
}

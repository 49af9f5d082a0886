//! JSON decoding that allocates every `Vec` at its exact length.
//!
//! serde_json gives no length hint for arrays, so serde's `Vec` grows by doubling and keeps
//! the spare capacity: a decoded Pod holds several KB of it (its containers, volumes, env
//! vars, conditions). For objects that live on in a cache, that slack is most of the memory
//! above the data itself, and shedding it afterwards means a deep clone of every object.
//! Here one quick pass over the bytes counts every array's elements first (in document
//! order), and the decoding then tells each `Vec` its length before it allocates.
//!
//! A count can only ever change a capacity, never a value: a wrong one (an array a
//! deserializer captured raw, such as serde_json's `RawValue`, is not walked) costs memory
//! at worst.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeOwned, DeserializeSeed, Deserializer, Visitor};

use crate::json_scan::{skip_ws, string_end};

/// Decodes `json` as `T` (as `serde_json::from_slice` does) with exactly sized `Vec`s.
pub fn from_slice<T: DeserializeOwned>(json: &[u8]) -> serde_json::Result<T> {
    let lengths = Lengths::scan(json);
    let mut de = serde_json::Deserializer::from_slice(json);
    let value = T::deserialize(Exact { inner: &mut de, lengths: &lengths })?;
    de.end()?;
    Ok(value)
}

/// The element count of every array, in the order the arrays open.
struct Lengths {
    counts: Vec<u32>,
    next: Cell<usize>,
}

impl Lengths {
    fn scan(s: &[u8]) -> Self {
        const OBJECT: usize = usize::MAX;
        let mut counts: Vec<u32> = Vec::new();
        // For each open container: its index in `counts`, or OBJECT.
        let mut open: Vec<usize> = Vec::new();
        let mut i = 0;
        while i < s.len() {
            match s[i] {
                b'"' => {
                    i = string_end(s, i).unwrap_or(s.len());
                    continue;
                }
                b'[' => {
                    open.push(counts.len());
                    let empty = s.get(skip_ws(s, i + 1)).is_none_or(|&c| c == b']');
                    counts.push(u32::from(!empty));
                }
                b'{' => open.push(OBJECT),
                b']' | b'}' => {
                    open.pop();
                }
                b',' => {
                    if let Some(&top) = open.last().filter(|&&top| top != OBJECT) {
                        counts[top] += 1;
                    }
                }
                _ => {}
            }
            i += 1;
        }
        Self { counts, next: Cell::new(0) }
    }

    /// The length of the next array the decoding meets.
    fn take(&self) -> Option<usize> {
        let i = self.next.get();
        self.next.set(i + 1);
        self.counts.get(i).map(|&n| n as usize)
    }
}

/// A deserializer that hands the array lengths to every sequence it visits.
struct Exact<'l, D> {
    inner: D,
    lengths: &'l Lengths,
}

impl<'l, D> Exact<'l, D> {
    fn wrap<V>(&self, visitor: V) -> Wrap<'l, V> {
        Wrap { inner: visitor, lengths: self.lengths }
    }
}

/// Methods whose input can hold no array: the visitor is not wrapped.
macro_rules! plain {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
            self.inner.$method(visitor)
        }
    )*};
}

/// Methods whose input may hold arrays: the visitor is wrapped.
macro_rules! wrapped {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
            let visitor = self.wrap(visitor);
            self.inner.$method(visitor)
        }
    )*};
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Exact<'_, D> {
    type Error = D::Error;

    plain!(deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128 deserialize_f32
        deserialize_f64 deserialize_char deserialize_str deserialize_string deserialize_unit deserialize_identifier);
    wrapped!(deserialize_any deserialize_bytes deserialize_byte_buf deserialize_option deserialize_seq deserialize_map);

    /// Ignored values are walked, not skipped, so the arrays inside them are counted off.
    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        let visitor = self.wrap(visitor);
        self.inner.deserialize_any(visitor)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(self, name: &'static str, visitor: V) -> Result<V::Value, D::Error> {
        self.inner.deserialize_unit_struct(name, visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, name: &'static str, visitor: V) -> Result<V::Value, D::Error> {
        let visitor = self.wrap(visitor);
        self.inner.deserialize_newtype_struct(name, visitor)
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, D::Error> {
        let visitor = self.wrap(visitor);
        self.inner.deserialize_tuple(len, visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        let visitor = self.wrap(visitor);
        self.inner.deserialize_tuple_struct(name, len, visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        let visitor = self.wrap(visitor);
        self.inner.deserialize_struct(name, fields, visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        let visitor = self.wrap(visitor);
        self.inner.deserialize_enum(name, variants, visitor)
    }

    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

/// A visitor whose sequences report their length and whose nested values stay wrapped.
struct Wrap<'l, V> {
    inner: V,
    lengths: &'l Lengths,
}

macro_rules! visit {
    ($($method:ident($ty:ty))*) => {$(
        fn $method<E: de::Error>(self, v: $ty) -> Result<V::Value, E> {
            self.inner.$method(v)
        }
    )*};
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Wrap<'_, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.expecting(f)
    }

    visit!(visit_bool(bool) visit_i8(i8) visit_i16(i16) visit_i32(i32) visit_i64(i64) visit_i128(i128)
        visit_u8(u8) visit_u16(u16) visit_u32(u32) visit_u64(u64) visit_u128(u128) visit_f32(f32) visit_f64(f64)
        visit_char(char) visit_str(&str) visit_borrowed_str(&'de str) visit_string(String) visit_bytes(&[u8])
        visit_borrowed_bytes(&'de [u8]) visit_byte_buf(Vec<u8>));

    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.inner.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.inner.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        self.inner.visit_some(Exact { inner: d, lengths: self.lengths })
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        self.inner.visit_newtype_struct(Exact { inner: d, lengths: self.lengths })
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        let len = self.lengths.take();
        self.inner.visit_seq(Seq { inner: seq, len, lengths: self.lengths })
    }

    fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.inner.visit_map(Map { inner: map, lengths: self.lengths })
    }

    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        self.inner.visit_enum(Enum { inner: data, lengths: self.lengths })
    }
}

/// A seed whose deserializer is wrapped.
struct Seed<'l, S> {
    inner: S,
    lengths: &'l Lengths,
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Seed<'_, S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        self.inner.deserialize(Exact { inner: d, lengths: self.lengths })
    }
}

struct Seq<'l, A> {
    inner: A,
    len: Option<usize>,
    lengths: &'l Lengths,
}

impl<'de, A: de::SeqAccess<'de>> de::SeqAccess<'de> for Seq<'_, A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, A::Error> {
        let taken = self.inner.next_element_seed(Seed { inner: seed, lengths: self.lengths })?;
        // What is left, for a visitor that asks again.
        self.len = self.len.map(|n| n.saturating_sub(usize::from(taken.is_some())));
        Ok(taken)
    }

    fn size_hint(&self) -> Option<usize> {
        self.len.or_else(|| self.inner.size_hint())
    }
}

struct Map<'l, A> {
    inner: A,
    lengths: &'l Lengths,
}

impl<'de, A: de::MapAccess<'de>> de::MapAccess<'de> for Map<'_, A> {
    type Error = A::Error;

    /// JSON keys are strings: nothing to count in them.
    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, A::Error> {
        self.inner.next_key_seed(seed)
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, A::Error> {
        self.inner.next_value_seed(Seed { inner: seed, lengths: self.lengths })
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

struct Enum<'l, A> {
    inner: A,
    lengths: &'l Lengths,
}

impl<'de, 'l, A: de::EnumAccess<'de>> de::EnumAccess<'de> for Enum<'l, A> {
    type Error = A::Error;
    type Variant = Variant<'l, A::Variant>;

    fn variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<(T::Value, Self::Variant), A::Error> {
        let (value, variant) = self.inner.variant_seed(seed)?;
        Ok((value, Variant { inner: variant, lengths: self.lengths }))
    }
}

struct Variant<'l, A> {
    inner: A,
    lengths: &'l Lengths,
}

impl<'de, A: de::VariantAccess<'de>> de::VariantAccess<'de> for Variant<'_, A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        self.inner.unit_variant()
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, A::Error> {
        self.inner.newtype_variant_seed(Seed { inner: seed, lengths: self.lengths })
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        self.inner.tuple_variant(len, Wrap { inner: visitor, lengths: self.lengths })
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        self.inner.struct_variant(fields, Wrap { inner: visitor, lengths: self.lengths })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::Pod;
    use proptest::prelude::*;
    use serde_json::json;

    fn pod_json() -> serde_json::Value {
        json!({
            "metadata": {"name": "p", "namespace": "n", "labels": {"a": "b"},
                "ownerReferences": [{"apiVersion": "v1", "kind": "X", "name": "o", "uid": "u"}],
                "unknownField": [[1, 2, [3]], {"x": [4, 5]}]},
            "spec": {"containers": [
                {"name": "c", "image": "i", "args": ["a", "b,c", "[d]"],
                 "env": [{"name": "A"}, {"name": "B", "value": "]"}, {"name": "C"}, {"name": "D"}, {"name": "E"}],
                 "ports": [{"containerPort": 80}]},
                {"name": "d", "image": "j", "command": []}],
                "volumes": [{"name": "v1", "emptyDir": {}}, {"name": "v2", "configMap": {"name": "cm",
                    "items": [{"key": "k", "path": "p"}]}}, {"name": "v3", "secret": {"secretName": "s"}}]},
            "status": {"conditions": [{"type": "Ready", "status": "True"}, {"type": "Initialized", "status": "True"},
                {"type": "PodScheduled", "status": "True"}], "podIPs": [{"ip": "10.0.0.1"}]}
        })
    }

    #[test]
    fn decodes_the_same_value_as_serde_json_with_exact_capacities() {
        let bytes = serde_json::to_vec(&pod_json()).unwrap();
        let pod: Pod = from_slice(&bytes).unwrap();
        assert_eq!(pod, serde_json::from_slice::<Pod>(&bytes).unwrap());
        let spec = pod.spec.as_ref().unwrap();
        let status = pod.status.as_ref().unwrap();
        let c = &spec.containers[0];
        let caps = [
            (spec.containers.capacity(), 2),
            (c.env.as_ref().unwrap().capacity(), 5),
            (c.args.as_ref().unwrap().capacity(), 3),
            (c.ports.as_ref().unwrap().capacity(), 1),
            (spec.volumes.as_ref().unwrap().capacity(), 3),
            (status.conditions.as_ref().unwrap().capacity(), 3),
            (pod.metadata.owner_references.as_ref().unwrap().capacity(), 1),
        ];
        for (i, (cap, len)) in caps.into_iter().enumerate() {
            assert_eq!(cap, len, "vec {i}");
        }
        let plain = serde_json::from_slice::<Pod>(&bytes).unwrap().spec.unwrap();
        assert!(plain.containers[0].env.as_ref().unwrap().capacity() > 5, "serde_json alone leaves slack");
    }

    #[test]
    fn errors_are_serde_json_errors() {
        let err = from_slice::<Pod>(br#"{"spec": {"containers": [{"name": 5}]}}"#).unwrap_err();
        assert!(err.to_string().contains("invalid type: integer `5`"), "{err}");
        assert!(from_slice::<Pod>(br#"{"spec": [}"#).is_err());
        assert!(from_slice::<Pod>(b"{} trailing").is_err());
    }

    fn arb_json() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i32>().prop_map(serde_json::Value::from),
            "[\\[\\]{},\"\\\\a-z ]{0,6}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
                prop::collection::btree_map("[a-z]{1,3}", inner, 0..5)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// Nested vectors, each checked for exact capacity.
    type Nested = Vec<Vec<Option<Vec<i32>>>>;

    fn check_exact(v: &Nested) {
        assert_eq!(v.capacity(), v.len());
        for inner in v {
            assert_eq!(inner.capacity(), inner.len());
            inner.iter().flatten().for_each(|leaf| assert_eq!(leaf.capacity(), leaf.len()));
        }
    }

    proptest! {
        #[test]
        fn any_document_decodes_as_serde_json_does(v in arb_json()) {
            let bytes = serde_json::to_vec_pretty(&v).unwrap();
            let exact: serde_json::Value = from_slice(&bytes).unwrap();
            prop_assert_eq!(&exact, &v);
        }

        #[test]
        fn nested_vectors_are_exact(v in prop::collection::vec(
            prop::collection::vec(prop::option::of(prop::collection::vec(any::<i32>(), 0..9)), 0..9), 0..9),
            // Unknown fields with arrays before the data are counted off too.
            noise in arb_json()) {
            let doc = json!({"noise": noise, "data": v});
            #[derive(serde::Deserialize)]
            struct Doc { data: Nested }
            let exact: Doc = from_slice(&serde_json::to_vec(&doc).unwrap()).unwrap();
            prop_assert_eq!(&exact.data, &v);
            check_exact(&exact.data);
        }

        #[test]
        fn arbitrary_bytes_give_a_value_or_an_error(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let ours = from_slice::<serde_json::Value>(&bytes).ok();
            prop_assert_eq!(ours, serde_json::from_slice::<serde_json::Value>(&bytes).ok());
        }
    }
}

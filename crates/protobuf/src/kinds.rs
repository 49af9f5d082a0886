//! Protobuf <-> JSON and protobuf <-> typed for every built-in kind the embedded API server
//! serves (the list is [`for_each_kind!`](crate::for_each_kind), generated).

use k8s_openapi as oa;
use k8s_pb as pb;
use oa::apimachinery::pkg::apis::meta::v1 as oa_meta;
use pb::apimachinery::pkg::apis::meta::v1 as pb_meta;
use prost::Message;
use prost::encoding::{DecodeContext, WireType};
use serde_json::Value;

use crate::convert::Convert;
use crate::wire::{self, Envelope, Error};

/// A k8s-openapi resource type with a protobuf message.
pub trait HasProtobuf: Convert<Self::Message> + k8s_openapi::Resource {
    /// The prost message of this kind.
    type Message: Message + Default + std::fmt::Debug + Clone + PartialEq;
    /// The message's `metadata` field (field 1 of every kind's message).
    fn metadata_of(message: &mut Self::Message) -> &mut Option<pb_meta::ObjectMeta>;
    /// The object's metadata.
    fn object_meta_mut(&mut self) -> &mut oa_meta::ObjectMeta;
}

macro_rules! has_protobuf {
    ($g:literal, $v:literal, $k:literal, $o:ty, $p:ty) => {
        impl HasProtobuf for $o {
            type Message = $p;
            fn metadata_of(message: &mut $p) -> &mut Option<pb_meta::ObjectMeta> {
                &mut message.metadata
            }
            fn object_meta_mut(&mut self) -> &mut oa_meta::ObjectMeta {
                &mut self.metadata
            }
        }
    };
}
crate::for_each_kind!(has_protobuf);

/// How protobuf objects are decoded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Skip `metadata.managedFields` on the wire: never decoded, never converted (their
    /// `FieldsV1` JSON is the most expensive part of a typical object); the result has `None`.
    pub skip_managed_fields: bool,
}

impl DecodeOptions {
    /// Options that skip `metadata.managedFields`.
    pub fn skipping_managed_fields() -> Self {
        Self { skip_managed_fields: true }
    }
}

/// Field number of `ObjectMeta.managedFields`.
const MANAGED_FIELDS_TAG: u32 = 17;
/// Field number of `ManagedFieldsEntry.fieldsV1`.
const FIELDS_V1_TAG: u32 = 7;
/// Field number of `metadata` in every kind's message.
const METADATA_TAG: u32 = 1;

/// `FieldsV1{raw}` parsed as JSON straight from the wire bytes (no copy of `raw`).
#[derive(Debug, Default)]
struct FieldsFromWire(serde_json::Value);

impl Message for FieldsFromWire {
    fn encode_raw(&self, _: &mut impl prost::bytes::BufMut) {}
    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl prost::bytes::Buf,
        ctx: DecodeContext,
    ) -> Result<(), prost::DecodeError> {
        if tag != 1 {
            return prost::encoding::skip_field(wire_type, tag, buf, ctx);
        }
        prost::encoding::check_wire_type(WireType::LengthDelimited, wire_type)?;
        let chunk = buf.chunk();
        let mut rest = chunk;
        let len = prost::encoding::decode_varint(&mut rest)? as usize;
        if let Some(raw) = rest.get(..len) {
            self.0 = crate::convert::json_of_slice(raw);
            buf.advance(chunk.len() - rest.len() + len);
            return Ok(());
        }
        // Not contiguous (or short, which prost reports): read it the usual way.
        let mut raw = Vec::new();
        prost::encoding::bytes::merge(wire_type, &mut raw, buf, ctx)?;
        self.0 = crate::convert::json_of_slice(&raw);
        Ok(())
    }
    fn encoded_len(&self) -> usize {
        0
    }
    fn clear(&mut self) {
        self.0 = serde_json::Value::Null;
    }
}

/// A `ManagedFieldsEntry` whose `fieldsV1` is parsed straight from the wire.
#[derive(Debug, Default)]
struct EntryFromWire {
    entry: pb_meta::ManagedFieldsEntry,
    fields_v1: Option<serde_json::Value>,
}

impl Message for EntryFromWire {
    fn encode_raw(&self, buf: &mut impl prost::bytes::BufMut) {
        self.entry.encode_raw(buf)
    }
    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl prost::bytes::Buf,
        ctx: DecodeContext,
    ) -> Result<(), prost::DecodeError> {
        if tag != FIELDS_V1_TAG {
            return self.entry.merge_field(tag, wire_type, buf, ctx);
        }
        let mut fields = FieldsFromWire(self.fields_v1.take().unwrap_or_default());
        let merged = prost::encoding::message::merge(wire_type, &mut fields, buf, ctx);
        self.fields_v1 = Some(fields.0);
        merged
    }
    fn encoded_len(&self) -> usize {
        self.entry.encoded_len()
    }
    fn clear(&mut self) {
        *self = Self::default();
    }
}

/// `ObjectMeta` merged from the wire with its managedFields either skipped or converted on
/// the spot into `managed` (their `FieldsV1` JSON parsed in place).
#[derive(Debug, Default)]
struct MetaFromWire {
    meta: pb_meta::ObjectMeta,
    managed: Vec<oa_meta::ManagedFieldsEntry>,
    skip: bool,
}

impl Message for MetaFromWire {
    fn encode_raw(&self, buf: &mut impl prost::bytes::BufMut) {
        self.meta.encode_raw(buf)
    }
    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl prost::bytes::Buf,
        ctx: DecodeContext,
    ) -> Result<(), prost::DecodeError> {
        if tag != MANAGED_FIELDS_TAG {
            return self.meta.merge_field(tag, wire_type, buf, ctx);
        }
        if self.skip {
            return prost::encoding::skip_field(wire_type, tag, buf, ctx);
        }
        let mut entry = EntryFromWire::default();
        prost::encoding::message::merge(wire_type, &mut entry, buf, ctx)?;
        let mut converted: oa_meta::ManagedFieldsEntry = Convert::from_pb(entry.entry);
        converted.fields_v1 = entry.fields_v1.map(oa_meta::FieldsV1);
        self.managed.push(converted);
        Ok(())
    }
    fn encoded_len(&self) -> usize {
        self.meta.encoded_len()
    }
    fn clear(&mut self) {
        self.meta.clear();
        self.managed.clear();
    }
}

/// A kind's message merged from the wire, its metadata through [`MetaFromWire`].
struct ObjectFromWire<K: HasProtobuf> {
    message: K::Message,
    managed: Vec<oa_meta::ManagedFieldsEntry>,
    skip: bool,
}

impl<K: HasProtobuf> std::fmt::Debug for ObjectFromWire<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.message.fmt(f)
    }
}

impl<K: HasProtobuf> Default for ObjectFromWire<K> {
    fn default() -> Self {
        Self { message: Default::default(), managed: Vec::new(), skip: false }
    }
}

impl<K: HasProtobuf> Message for ObjectFromWire<K> {
    fn encode_raw(&self, buf: &mut impl prost::bytes::BufMut) {
        self.message.encode_raw(buf)
    }
    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl prost::bytes::Buf,
        ctx: DecodeContext,
    ) -> Result<(), prost::DecodeError> {
        if tag != METADATA_TAG {
            return self.message.merge_field(tag, wire_type, buf, ctx);
        }
        let slot = K::metadata_of(&mut self.message);
        let mut meta = MetaFromWire {
            meta: slot.take().unwrap_or_default(),
            managed: std::mem::take(&mut self.managed),
            skip: self.skip,
        };
        let merged = prost::encoding::message::merge(wire_type, &mut meta, buf, ctx);
        *slot = Some(meta.meta);
        self.managed = meta.managed;
        merged
    }
    fn encoded_len(&self) -> usize {
        self.message.encoded_len()
    }
    fn clear(&mut self) {
        self.message.clear();
        self.managed.clear();
    }
}

/// Decodes one object's message bytes (no envelope) into its k8s-openapi type. The top-level
/// managedFields never become protobuf messages: they are skipped, or converted as they are
/// read (`FieldsV1` JSON parsed from the wire bytes without a copy).
pub fn decode_message<K: HasProtobuf>(raw: &[u8], opts: DecodeOptions) -> Result<K, Error> {
    let mut wire = ObjectFromWire::<K> { skip: opts.skip_managed_fields, ..Default::default() };
    wire.merge(raw)?;
    let mut obj = K::from_pb(wire.message);
    if !wire.managed.is_empty() {
        // Pushed one by one: drop the spare capacity before the object goes into a cache.
        wire.managed.shrink_to_fit();
        K::object_meta_mut(&mut obj).managed_fields = Some(wire.managed);
    }
    Ok(obj)
}

/// Decodes an enveloped protobuf object into its k8s-openapi type.
pub fn decode<K: HasProtobuf>(body: &[u8]) -> Result<K, Error> {
    decode_with(body, DecodeOptions::default())
}

/// Decodes an enveloped protobuf object into its k8s-openapi type, with options.
pub fn decode_with<K: HasProtobuf>(body: &[u8], opts: DecodeOptions) -> Result<K, Error> {
    decode_message(wire::decode_envelope_ref(body)?.raw, opts)
}

/// Encodes a k8s-openapi object as an enveloped protobuf body.
pub fn encode<K: HasProtobuf>(obj: K) -> Vec<u8> {
    wire::encode_envelope(K::API_VERSION, K::KIND, obj.into_pb().encode_to_vec())
}

/// Decodes a list body (`XList{metadata, items}`) into its metadata and items.
pub fn decode_list<K: HasProtobuf>(body: &[u8]) -> Result<(oa_meta::ListMeta, Vec<K>), Error> {
    decode_list_with(body, DecodeOptions::default())
}

/// Decodes a list body into its metadata and items, with options. Items are decoded and
/// converted one at a time, so only one item's message is alive at once.
pub fn decode_list_with<K: HasProtobuf>(
    body: &[u8],
    opts: DecodeOptions,
) -> Result<(oa_meta::ListMeta, Vec<K>), Error> {
    decode_list_message(wire::decode_envelope_ref(body)?.raw, opts)
}

/// Decodes a list message (no envelope; possibly only some of its items, as
/// [`ListSplitter`](crate::list_split::ListSplitter) hands them out) into its metadata and items.
pub fn decode_list_message<K: HasProtobuf>(
    raw: &[u8],
    opts: DecodeOptions,
) -> Result<(oa_meta::ListMeta, Vec<K>), Error> {
    let mut meta = pb_meta::ListMeta::default();
    let mut items = Vec::with_capacity(count_items(raw)?);
    let mut buf = raw;
    while !buf.is_empty() {
        let (tag, wire_type) = prost::encoding::decode_key(&mut buf)?;
        match tag {
            1 => prost::encoding::message::merge(wire_type, &mut meta, &mut buf, DecodeContext::default())?,
            2 => items.push(decode_message(wire::length_delimited(tag, wire_type, &mut buf)?, opts)?),
            _ => prost::encoding::skip_field(wire_type, tag, &mut buf, DecodeContext::default())?,
        }
    }
    Ok((Convert::from_pb(meta), items))
}

/// Decodes a `ListMeta` message.
pub fn decode_list_meta(raw: &[u8]) -> Result<oa_meta::ListMeta, Error> {
    Ok(Convert::from_pb(pb_meta::ListMeta::decode(raw)?))
}

/// How many `items` (field 2) a list message holds, read from the field keys only.
fn count_items(mut buf: &[u8]) -> Result<usize, Error> {
    let mut n = 0;
    while !buf.is_empty() {
        let (tag, wire_type) = prost::encoding::decode_key(&mut buf)?;
        n += usize::from(tag == 2);
        prost::encoding::skip_field(wire_type, tag, &mut buf, DecodeContext::default())?;
    }
    Ok(n)
}

fn group_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or("")
}

/// Whether `group`/`kind` is a built-in kind with a protobuf message.
pub fn is_builtin(group: &str, kind: &str) -> bool {
    macro_rules! check {
        ($g:literal, $v:literal, $k:literal, $o:ty, $p:ty) => {
            if group == $g && kind == $k {
                return true;
            }
        };
    }
    crate::for_each_kind!(check);
    false
}

fn typed_to_json<O: serde::Serialize>(o: &O) -> Result<Value, Error> {
    Ok(serde_json::to_value(o)?)
}

/// Decodes an enveloped protobuf body (any built-in kind, `Status`, `DeleteOptions`) into JSON.
pub fn to_json(body: &[u8]) -> Result<Value, Error> {
    let Envelope { api_version, kind, raw } = wire::decode_envelope(body)?;
    let group = group_of(&api_version);
    macro_rules! try_kind {
        ($g:literal, $v:literal, $k:literal, $o:ty, $p:ty) => {
            if group == $g && kind == $k {
                let o = <$o as Convert<$p>>::from_pb(<$p>::decode(raw.as_slice())?);
                let mut v = typed_to_json(&o)?;
                v["apiVersion"] = api_version.into();
                return Ok(v);
            }
        };
    }
    crate::for_each_kind!(try_kind);
    if kind == "Status" {
        let p = pb::apimachinery::pkg::apis::meta::v1::Status::decode(raw.as_slice())?;
        let o: oa_meta::Status = Convert::from_pb(p);
        let mut v = typed_to_json(&o)?;
        v["apiVersion"] = api_version.into();
        v["kind"] = kind.into();
        return Ok(v);
    }
    if kind == "DeleteOptions" {
        let p = pb::apimachinery::pkg::apis::meta::v1::DeleteOptions::decode(raw.as_slice())?;
        let mut o: oa_meta::DeleteOptions = Convert::from_pb(p);
        o.api_version = Some(api_version);
        o.kind = Some(kind);
        return typed_to_json(&o);
    }
    Err(Error::UnknownKind { api_version, kind })
}

/// Encodes a JSON object of a built-in kind (`apiVersion`/`kind` read from it) as protobuf.
pub fn from_json(json: &[u8]) -> Result<Vec<u8>, Error> {
    let v: Value = serde_json::from_slice(json)?;
    let api_version = v.get("apiVersion").and_then(Value::as_str).unwrap_or_default().to_string();
    let kind = v.get("kind").and_then(Value::as_str).unwrap_or_default().to_string();
    let group = group_of(&api_version);
    macro_rules! try_kind {
        ($g:literal, $v:literal, $k:literal, $o:ty, $p:ty) => {
            if group == $g && kind == $k {
                let o: $o = serde_json::from_value(v)?;
                return Ok(wire::encode_envelope(&api_version, &kind, Convert::<$p>::into_pb(o).encode_to_vec()));
            }
        };
    }
    crate::for_each_kind!(try_kind);
    if kind == "Status" {
        let o: oa_meta::Status = serde_json::from_value(v)?;
        return Ok(wire::encode_envelope(
            "v1",
            "Status",
            Convert::<pb::apimachinery::pkg::apis::meta::v1::Status>::into_pb(o).encode_to_vec(),
        ));
    }
    if let Some(item_kind) = kind.strip_suffix("List") {
        if is_builtin(group, item_kind) {
            return list_from_json(&api_version, &kind, item_kind, v);
        }
    }
    Err(Error::UnknownKind { api_version, kind })
}

fn list_from_json(api_version: &str, kind: &str, item_kind: &str, v: Value) -> Result<Vec<u8>, Error> {
    let Value::Object(mut map) = v else {
        return Err(Error::UnknownKind { api_version: api_version.into(), kind: kind.into() });
    };
    let meta: oa_meta::ListMeta =
        serde_json::from_value(map.remove("metadata").unwrap_or(Value::Null)).unwrap_or_default();
    let items = match map.remove("items") {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    };
    let group = group_of(api_version);
    let mut buf = Vec::new();
    prost::encoding::message::encode(
        1,
        &Convert::<pb::apimachinery::pkg::apis::meta::v1::ListMeta>::into_pb(meta),
        &mut buf,
    );
    macro_rules! try_kind {
        ($g:literal, $v:literal, $k:literal, $o:ty, $p:ty) => {
            if group == $g && item_kind == $k {
                for item in items {
                    let o: $o = serde_json::from_value(item)?;
                    prost::encoding::message::encode(2, &Convert::<$p>::into_pb(o), &mut buf);
                }
                return Ok(wire::encode_envelope(api_version, kind, buf));
            }
        };
    }
    crate::for_each_kind!(try_kind);
    Err(Error::UnknownKind { api_version: api_version.into(), kind: kind.into() })
}

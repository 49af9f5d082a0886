//! Protobuf <-> JSON and protobuf <-> typed for every built-in kind the embedded API server
//! serves (the list is [`for_each_kind!`](crate::for_each_kind), generated).

use k8s_openapi as oa;
use k8s_pb as pb;
use oa::apimachinery::pkg::apis::meta::v1 as oa_meta;
use prost::Message;
use serde_json::Value;

use crate::convert::Convert;
use crate::wire::{self, Envelope, Error};

/// A k8s-openapi resource type with a protobuf message.
pub trait HasProtobuf: Convert<Self::Message> + k8s_openapi::Resource {
    /// The prost message of this kind.
    type Message: Message + Default + std::fmt::Debug + Clone + PartialEq;
}

macro_rules! has_protobuf {
    ($g:literal, $v:literal, $k:literal, $o:ty, $p:ty) => {
        impl HasProtobuf for $o {
            type Message = $p;
        }
    };
}
crate::for_each_kind!(has_protobuf);

/// Decodes an enveloped protobuf object into its k8s-openapi type.
pub fn decode<K: HasProtobuf>(body: &[u8]) -> Result<K, Error> {
    let env = wire::decode_envelope(body)?;
    Ok(K::from_pb(K::Message::decode(env.raw.as_slice())?))
}

/// Encodes a k8s-openapi object as an enveloped protobuf body.
pub fn encode<K: HasProtobuf>(obj: K) -> Vec<u8> {
    wire::encode_envelope(K::API_VERSION, K::KIND, obj.into_pb().encode_to_vec())
}

/// Decodes a list body (`XList{metadata, items}`) into its metadata and items.
pub fn decode_list<K: HasProtobuf>(body: &[u8]) -> Result<(oa_meta::ListMeta, Vec<K>), Error> {
    let env = wire::decode_envelope(body)?;
    let list = RawList::<K::Message>::decode(env.raw.as_slice())?;
    Ok((Convert::from_pb(list.metadata.unwrap_or_default()), list.items.into_iter().map(K::from_pb).collect()))
}

/// Every list message is `{metadata = 1: ListMeta, items = 2: repeated T}`.
#[derive(Clone, PartialEq, prost::Message)]
struct RawList<T: Message + Default + std::fmt::Debug + Clone + PartialEq> {
    #[prost(message, optional, tag = "1")]
    metadata: Option<pb::apimachinery::pkg::apis::meta::v1::ListMeta>,
    #[prost(message, repeated, tag = "2")]
    items: Vec<T>,
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

/// Decodes an enveloped protobuf body (any built-in kind, `DeleteOptions`) into JSON.
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

//! The conversion contract between k8s-pb messages and k8s-openapi types, the hand-written
//! leaf conversions (quantities, int-or-string, times, raw JSON, byte strings, the JSON schema
//! unions) and the field helpers the generated code (`generated.rs`) composes.
//!
//! Semantics follow Go's: a protobuf `Time` with no seconds and no nanos is Go's zero time (JSON
//! `null`, so `None` here); scalar fields that are non-pointer `omitempty` in Go decode their
//! zero value as absent (the generator picks [`opt_nz`] for them); an empty repeated or map
//! field decodes as absent. Times keep microseconds, as Go truncates protobuf times to them.

use std::collections::BTreeMap;

use k8s_openapi as oa;
use k8s_pb as pb;
use oa::apiextensions_apiserver::pkg::apis::apiextensions::v1 as oa_ext;
use oa::apimachinery::pkg::apis::meta::v1 as oa_meta;
use pb::apiextensions_apiserver::pkg::apis::apiextensions::v1 as pb_ext;
use pb::apimachinery::pkg::apis::meta::v1 as pb_meta;

/// A k8s-openapi type that converts losslessly to and from the protobuf message `P`.
pub trait Convert<P>: Sized {
    /// Converts a decoded message into the k8s-openapi value.
    fn from_pb(p: P) -> Self;
    /// Converts the value into its message.
    fn into_pb(self) -> P;
    /// Whether a present message means "absent" in JSON (Go's zero `Time`).
    fn pb_is_null(_p: &P) -> bool {
        false
    }
}

macro_rules! identity {
    ($($t:ty),*) => {$(
        impl Convert<$t> for $t {
            fn from_pb(p: $t) -> Self { p }
            fn into_pb(self) -> $t { self }
        }
    )*};
}
identity!(String, i32, i64, bool, f64);

impl<O: Convert<P>, P> Convert<Vec<P>> for Vec<O> {
    fn from_pb(p: Vec<P>) -> Self {
        p.into_iter().map(O::from_pb).collect()
    }
    fn into_pb(self) -> Vec<P> {
        self.into_iter().map(O::into_pb).collect()
    }
}

impl<O: Convert<P>, P> Convert<BTreeMap<String, P>> for BTreeMap<String, O> {
    fn from_pb(p: BTreeMap<String, P>) -> Self {
        // Inserted in order rather than collected: no intermediate Vec and no sort (maps here
        // are small: labels, resource lists, Secret data).
        let mut out = BTreeMap::new();
        for (k, v) in p {
            out.insert(k, O::from_pb(v));
        }
        out
    }
    fn into_pb(self) -> BTreeMap<String, P> {
        self.into_iter().map(|(k, v)| (k, v.into_pb())).collect()
    }
}

impl<O: Convert<P>, P> Convert<Box<P>> for Box<O> {
    fn from_pb(p: Box<P>) -> Self {
        Box::new(O::from_pb(*p))
    }
    fn into_pb(self) -> Box<P> {
        Box::new((*self).into_pb())
    }
}

/// Scalars whose zero value Go's JSON encoder omits on non-pointer `omitempty` fields.
pub trait Zero {
    /// Whether this is the type's zero value.
    fn is_zero(&self) -> bool;
}
impl Zero for String {
    fn is_zero(&self) -> bool {
        self.is_empty()
    }
}
impl Zero for i32 {
    fn is_zero(&self) -> bool {
        *self == 0
    }
}
impl Zero for i64 {
    fn is_zero(&self) -> bool {
        *self == 0
    }
}
impl Zero for bool {
    fn is_zero(&self) -> bool {
        !*self
    }
}
impl Zero for f64 {
    fn is_zero(&self) -> bool {
        *self == 0.0
    }
}

/// Collections that decode as absent when empty.
pub trait Collection {
    /// Whether the collection is empty.
    fn is_empty_collection(&self) -> bool;
}
impl<T> Collection for Vec<T> {
    fn is_empty_collection(&self) -> bool {
        self.is_empty()
    }
}
impl<T> Collection for BTreeMap<String, T> {
    fn is_empty_collection(&self) -> bool {
        self.is_empty()
    }
}

/// Optional field to optional field.
pub fn opt<O: Convert<P>, P>(p: Option<P>) -> Option<O> {
    p.filter(|p| !O::pb_is_null(p)).map(O::from_pb)
}

/// Optional scalar that is a non-pointer `omitempty` field in Go: zero means absent.
pub fn opt_nz<O: Convert<P>, P: Zero>(p: Option<P>) -> Option<O> {
    p.filter(|p| !p.is_zero()).map(O::from_pb)
}

/// Optional value back to an optional field.
pub fn opt_back<O: Convert<P>, P>(o: Option<O>) -> Option<P> {
    o.map(O::into_pb)
}

/// Optional message field to a required value (the message's default when absent).
pub fn req<O: Convert<P>, P: Default>(p: Option<P>) -> O {
    O::from_pb(p.unwrap_or_default())
}

/// Required value back to an optional field.
pub fn req_back<O: Convert<P>, P>(o: O) -> Option<P> {
    Some(o.into_pb())
}

/// Repeated or map field to an optional collection (empty means absent).
pub fn coll<O: Convert<P>, P: Collection>(p: P) -> Option<O> {
    (!p.is_empty_collection()).then(|| O::from_pb(p))
}

/// Repeated or map field with the same type on both sides to an optional collection (empty
/// means absent), moved rather than rebuilt.
pub fn non_empty<P: Collection>(p: P) -> Option<P> {
    (!p.is_empty_collection()).then_some(p)
}

/// Optional collection back to a repeated or map field.
pub fn coll_back<O: Convert<P>, P: Default>(o: Option<O>) -> P {
    o.map(O::into_pb).unwrap_or_default()
}

impl Convert<Vec<u8>> for oa::ByteString {
    fn from_pb(p: Vec<u8>) -> Self {
        oa::ByteString(p)
    }
    fn into_pb(self) -> Vec<u8> {
        self.0
    }
}

impl Convert<pb::apimachinery::pkg::api::resource::Quantity> for oa::apimachinery::pkg::api::resource::Quantity {
    fn from_pb(p: pb::apimachinery::pkg::api::resource::Quantity) -> Self {
        Self(p.string.unwrap_or_default())
    }
    fn into_pb(self) -> pb::apimachinery::pkg::api::resource::Quantity {
        pb::apimachinery::pkg::api::resource::Quantity { string: Some(self.0) }
    }
}

impl Convert<pb::apimachinery::pkg::util::intstr::IntOrString> for oa::apimachinery::pkg::util::intstr::IntOrString {
    fn from_pb(p: pb::apimachinery::pkg::util::intstr::IntOrString) -> Self {
        match p.r#type {
            Some(1) => Self::String(p.str_val.unwrap_or_default()),
            _ => Self::Int(p.int_val.unwrap_or_default()),
        }
    }
    fn into_pb(self) -> pb::apimachinery::pkg::util::intstr::IntOrString {
        match self {
            Self::Int(i) => pb::apimachinery::pkg::util::intstr::IntOrString {
                r#type: Some(0),
                int_val: Some(i),
                str_val: Some(String::new()),
            },
            Self::String(s) => {
                pb::apimachinery::pkg::util::intstr::IntOrString { r#type: Some(1), int_val: Some(0), str_val: Some(s) }
            }
        }
    }
}

fn timestamp(seconds: Option<i64>, nanos: Option<i32>) -> jiff::Timestamp {
    // Go truncates protobuf times to microseconds, matching JSON's precision.
    let nanos = nanos.unwrap_or_default() / 1000 * 1000;
    jiff::Timestamp::new(seconds.unwrap_or_default(), nanos).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

impl Convert<pb_meta::Time> for oa_meta::Time {
    fn from_pb(p: pb_meta::Time) -> Self {
        Self(timestamp(p.seconds, p.nanos))
    }
    fn into_pb(self) -> pb_meta::Time {
        pb_meta::Time { seconds: Some(self.0.as_second()), nanos: Some(self.0.subsec_nanosecond()) }
    }
    fn pb_is_null(p: &pb_meta::Time) -> bool {
        p.seconds.is_none() && p.nanos.is_none()
    }
}

impl Convert<pb_meta::MicroTime> for oa_meta::MicroTime {
    fn from_pb(p: pb_meta::MicroTime) -> Self {
        Self(timestamp(p.seconds, p.nanos))
    }
    fn into_pb(self) -> pb_meta::MicroTime {
        pb_meta::MicroTime { seconds: Some(self.0.as_second()), nanos: Some(self.0.subsec_nanosecond()) }
    }
    fn pb_is_null(p: &pb_meta::MicroTime) -> bool {
        p.seconds.is_none() && p.nanos.is_none()
    }
}

/// Raw JSON carried as bytes (FieldsV1, RawExtension, apiextensions JSON); bytes that are not
/// JSON are kept as a JSON string of their UTF-8 (lossy) text rather than dropped.
fn json_of(raw: Option<Vec<u8>>) -> serde_json::Value {
    json_of_slice(raw.as_deref().unwrap_or_default())
}

/// [`json_of`] on borrowed bytes (parsed where they are, no copy).
pub(crate) fn json_of_slice(raw: &[u8]) -> serde_json::Value {
    if raw.is_empty() {
        return serde_json::Value::Null;
    }
    serde_json::from_slice(raw).unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(raw).into()))
}

fn raw_of(v: &serde_json::Value) -> Option<Vec<u8>> {
    Some(serde_json::to_vec(v).unwrap_or_default())
}

impl Convert<pb_meta::FieldsV1> for oa_meta::FieldsV1 {
    fn from_pb(p: pb_meta::FieldsV1) -> Self {
        Self(json_of(p.raw))
    }
    fn into_pb(self) -> pb_meta::FieldsV1 {
        pb_meta::FieldsV1 { raw: raw_of(&self.0) }
    }
}

impl Convert<pb::apimachinery::pkg::runtime::RawExtension> for oa::apimachinery::pkg::runtime::RawExtension {
    fn from_pb(p: pb::apimachinery::pkg::runtime::RawExtension) -> Self {
        Self(json_of(p.raw))
    }
    fn into_pb(self) -> pb::apimachinery::pkg::runtime::RawExtension {
        pb::apimachinery::pkg::runtime::RawExtension { raw: raw_of(&self.0) }
    }
}

impl Convert<pb_ext::Json> for oa_ext::JSON {
    fn from_pb(p: pb_ext::Json) -> Self {
        Self(json_of(p.raw))
    }
    fn into_pb(self) -> pb_ext::Json {
        pb_ext::Json { raw: raw_of(&self.0) }
    }
}

impl Convert<pb_ext::CustomResourceSubresourceStatus> for oa_ext::CustomResourceSubresourceStatus {
    fn from_pb(_: pb_ext::CustomResourceSubresourceStatus) -> Self {
        Self(serde_json::Value::Object(Default::default()))
    }
    fn into_pb(self) -> pb_ext::CustomResourceSubresourceStatus {
        pb_ext::CustomResourceSubresourceStatus {}
    }
}

impl Convert<pb_ext::JsonSchemaPropsOrArray> for oa_ext::JSONSchemaPropsOrArray {
    fn from_pb(p: pb_ext::JsonSchemaPropsOrArray) -> Self {
        match p.schema {
            Some(s) if p.j_son_schemas.is_empty() => Self::Schema(Box::new(Convert::from_pb(*s))),
            _ => Self::Schemas(Convert::from_pb(p.j_son_schemas)),
        }
    }
    fn into_pb(self) -> pb_ext::JsonSchemaPropsOrArray {
        match self {
            Self::Schema(s) => pb_ext::JsonSchemaPropsOrArray { schema: Some(s.into_pb()), j_son_schemas: vec![] },
            Self::Schemas(v) => pb_ext::JsonSchemaPropsOrArray { schema: None, j_son_schemas: v.into_pb() },
        }
    }
}

impl Convert<pb_ext::JsonSchemaPropsOrBool> for oa_ext::JSONSchemaPropsOrBool {
    fn from_pb(p: pb_ext::JsonSchemaPropsOrBool) -> Self {
        match p.schema {
            Some(s) => Self::Schema(Box::new(Convert::from_pb(*s))),
            None => Self::Bool(p.allows.unwrap_or(true)),
        }
    }
    fn into_pb(self) -> pb_ext::JsonSchemaPropsOrBool {
        match self {
            Self::Schema(s) => pb_ext::JsonSchemaPropsOrBool { allows: Some(true), schema: Some(s.into_pb()) },
            Self::Bool(b) => pb_ext::JsonSchemaPropsOrBool { allows: Some(b), schema: None },
        }
    }
}

impl Convert<pb_ext::JsonSchemaPropsOrStringArray> for oa_ext::JSONSchemaPropsOrStringArray {
    fn from_pb(p: pb_ext::JsonSchemaPropsOrStringArray) -> Self {
        match p.schema {
            Some(s) => Self::Schema(Box::new(Convert::from_pb(s))),
            None => Self::Strings(p.property),
        }
    }
    fn into_pb(self) -> pb_ext::JsonSchemaPropsOrStringArray {
        match self {
            Self::Schema(s) => pb_ext::JsonSchemaPropsOrStringArray { schema: Some((*s).into_pb()), property: vec![] },
            Self::Strings(v) => pb_ext::JsonSchemaPropsOrStringArray { schema: None, property: v },
        }
    }
}

/// The schema unions are boxed in k8s-pb and not in k8s-openapi.
macro_rules! boxed_in_pb {
    ($($o:ty => $p:ty),*) => {$(
        impl Convert<Box<$p>> for $o {
            fn from_pb(p: Box<$p>) -> Self {
                Self::from_pb(*p)
            }
            fn into_pb(self) -> Box<$p> {
                Box::new(Convert::<$p>::into_pb(self))
            }
        }
    )*};
}
boxed_in_pb!(
    oa_ext::JSONSchemaPropsOrArray => pb_ext::JsonSchemaPropsOrArray,
    oa_ext::JSONSchemaPropsOrBool => pb_ext::JsonSchemaPropsOrBool
);

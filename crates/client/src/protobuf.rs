//! Reading and writing built-in kinds in Kubernetes' protobuf encoding (`Config::content_type`),
//! with JSON understood whenever the server answers in it and used again when the server
//! refuses protobuf.

use rkube_core::dynamic::TypeMeta;
use rkube_core::{Object, ObjectList};
use rkube_protobuf::registry::Codec;
use rkube_protobuf::{DecodeOptions, wire};

use crate::config::ContentType;
use crate::error::Error;
use crate::request::Request;
use crate::response::Response;

/// Protobuf first, JSON accepted (custom resources and older servers answer JSON).
const ACCEPT: &str = "application/vnd.kubernetes.protobuf, application/json";

/// Whether a typed client with `content_type` uses protobuf for the kind of `codec`.
pub(crate) fn uses_protobuf(content_type: ContentType, codec: &Codec) -> bool {
    match content_type {
        ContentType::Json => false,
        ContentType::Protobuf => true,
        // Lossless kinds only: k8s-pb 0.9 lacks fields newer than Kubernetes 1.34 (see
        // `rkube_protobuf::generated::KIND_GAPS`), which JSON carries.
        ContentType::Auto => codec.lossless,
    }
}

/// Whether the server refused protobuf: 415 (a protobuf body) or 406 (a protobuf `Accept`).
/// kube-apiserver negotiates both before it runs the request, so sending it again in JSON is
/// safe for writes too.
pub(crate) fn refused(e: &Error) -> bool {
    matches!(e.status_code(), Some(415 | 406))
}

fn undecodable(resp: &Response, e: impl std::fmt::Display) -> Error {
    Error::InvalidRequest(format!("{} {}: undecodable protobuf answer: {e}", resp.verb, resp.url))
}

/// Sends `req` asking for protobuf; decodes one object from either encoding. A 406 gets the
/// request again asking for JSON.
pub(crate) async fn object<K: Object>(req: Request, codec: &Codec) -> Result<K, Error> {
    let resp = match req.clone().header("accept", ACCEPT).send_checked().await {
        Err(e) if e.status_code() == Some(406) => return req.into().await,
        other => other?,
    };
    if !wire::is_protobuf(&resp.body) {
        return resp.json();
    }
    codec.decode_as(&resp.body, DecodeOptions::default()).map_err(|e| undecodable(&resp, e))
}

/// Sends a list request asking for protobuf; decodes the list from either encoding. A 406
/// gets the request again asking for JSON.
pub(crate) async fn list<K: Object>(req: Request, codec: &Codec) -> Result<ObjectList<K>, Error> {
    let resp = match req.clone().header("accept", ACCEPT).send_checked().await {
        Err(e) if e.status_code() == Some(406) => return req.into().await,
        other => other?,
    };
    if !wire::is_protobuf(&resp.body) {
        return resp.json();
    }
    let env = wire::decode_envelope_ref(&resp.body).map_err(|e| undecodable(&resp, e))?;
    let (metadata, items) =
        codec.decode_list_as(&resp.body, DecodeOptions::default()).map_err(|e| undecodable(&resp, e))?;
    Ok(ObjectList { types: TypeMeta { api_version: env.api_version, kind: env.kind }, metadata, items })
}

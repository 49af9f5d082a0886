//! Reading and writing built-in kinds in Kubernetes' protobuf encoding (`Config::protobuf`),
//! with JSON understood whenever the server answers in it.

use rkube_core::dynamic::TypeMeta;
use rkube_core::{Object, ObjectList};
use rkube_protobuf::registry::Codec;
use rkube_protobuf::wire;

use crate::error::Error;
use crate::request::Request;
use crate::response::Response;

/// Protobuf first, JSON accepted (custom resources and older servers answer JSON).
const ACCEPT: &str = "application/vnd.kubernetes.protobuf, application/json";

fn undecodable(resp: &Response, e: impl std::fmt::Display) -> Error {
    Error::InvalidRequest(format!("{} {}: undecodable protobuf answer: {e}", resp.verb, resp.url))
}

/// Sends `req` asking for protobuf; decodes one object from either encoding.
pub(crate) async fn object<K: Object>(req: Request, codec: &Codec) -> Result<K, Error> {
    let resp = req.header("accept", ACCEPT).send_checked().await?;
    if !wire::is_protobuf(&resp.body) {
        return resp.json();
    }
    let any = (codec.decode)(&resp.body).map_err(|e| undecodable(&resp, e))?;
    any.downcast::<K>().map(|k| *k).map_err(|_| undecodable(&resp, "codec of another type"))
}

/// Sends a list request asking for protobuf; decodes the list from either encoding.
pub(crate) async fn list<K: Object>(req: Request, codec: &Codec) -> Result<ObjectList<K>, Error> {
    let resp = req.header("accept", ACCEPT).send_checked().await?;
    if !wire::is_protobuf(&resp.body) {
        return resp.json();
    }
    let env = wire::decode_envelope(&resp.body).map_err(|e| undecodable(&resp, e))?;
    let (metadata, items) = (codec.decode_list)(&resp.body).map_err(|e| undecodable(&resp, e))?;
    let items = items.downcast::<Vec<K>>().map_err(|_| undecodable(&resp, "codec of another type"))?;
    Ok(ObjectList { types: TypeMeta { api_version: env.api_version, kind: env.kind }, metadata, items: *items })
}

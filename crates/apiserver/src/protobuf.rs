//! The protobuf wire format (`application/vnd.kubernetes.protobuf`) on the embedded server,
//! as a layer around the JSON pipeline: protobuf request bodies of built-in kinds are decoded
//! to JSON before the handlers see them, and JSON responses are re-encoded as protobuf when
//! the `Accept` header prefers it. Watch streams are re-framed event by event (4-byte length +
//! `WatchEvent`). Custom resources have no protobuf messages and stay JSON, as on a real
//! cluster; a client that accepts nothing but protobuf gets 406 for them.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Response, StatusCode, header};
use http_body_util::BodyExt;
use rkube_core::Status;
use rkube_core::status::reason;
use rkube_protobuf::{CONTENT_TYPE, WATCH_CONTENT_TYPE};

use crate::response::{self, Body};

/// How an `Accept` header ranks protobuf against JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preference {
    /// Protobuf is offered and ranks at least as high as any JSON offer (q, then order).
    pub protobuf_first: bool,
    /// Some JSON (or wildcard) representation is acceptable too.
    pub json_ok: bool,
}

/// Reads the `Accept` header for protobuf; q-values and order decide as in [`response::negotiate`].
/// Protobuf offers with an `as=` parameter (Tables, PartialObjectMetadata) are not served.
pub fn preference(accept: Option<&str>) -> Preference {
    let mut best_pb: Option<(f32, usize)> = None;
    let mut best_json: Option<(f32, usize)> = None;
    for (i, part) in accept.unwrap_or("").split(',').enumerate() {
        let mut params = part.split(';').map(str::trim);
        let media = params.next().unwrap_or("").to_ascii_lowercase();
        let (mut q, mut as_) = (1.0f32, false);
        for p in params {
            match p.split_once('=').map(|(k, v)| (k.trim(), v.trim())) {
                Some(("q", v)) => q = v.parse().unwrap_or(0.0),
                Some(("as", _)) => as_ = true,
                _ => {}
            }
        }
        if q <= 0.0 || media.is_empty() {
            continue;
        }
        let better = |best: Option<(f32, usize)>| best.is_none_or(|(bq, _)| q > bq);
        if media == CONTENT_TYPE {
            if !as_ && better(best_pb) {
                best_pb = Some((q, i));
            }
        } else if matches!(media.as_str(), "application/json" | "application/yaml" | "*/*" | "application/*")
            && better(best_json)
        {
            best_json = Some((q, i));
        }
    }
    let protobuf_first = match (best_pb, best_json) {
        (Some((pq, pi)), Some((jq, ji))) => pq > jq || (pq == jq && pi < ji),
        (Some(_), None) => true,
        _ => false,
    };
    Preference { protobuf_first, json_ok: best_json.is_some() || accept.is_none_or(|a| a.trim().is_empty()) }
}

/// Whether the request body is protobuf (by Content-Type).
fn is_protobuf_body(headers: &HeaderMap) -> bool {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    ct.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case(CONTENT_TYPE)
}

/// A protobuf request body decoded to JSON bytes; `None` when the body is not protobuf.
pub fn request_json(headers: &HeaderMap, body: &Bytes) -> Result<Option<Bytes>, Status> {
    if !is_protobuf_body(headers) {
        return Ok(None);
    }
    capture(body);
    let value = rkube_protobuf::to_json(body).map_err(|e| {
        Status::bad_request(format!("the object provided is unrecognized (must be a protobuf object): {e}"))
    })?;
    Ok(Some(Bytes::from(serde_json::to_vec(&value).unwrap_or_default())))
}

/// With `RKUBE_PROTOBUF_CAPTURE=<dir>` set, each protobuf request body is written to
/// `<dir>/<kind>.pb` (lowercase kind): how the test data under `tests/data/protobuf` was
/// captured from kubectl.
fn capture(body: &[u8]) {
    static DIR: std::sync::OnceLock<Option<std::path::PathBuf>> = std::sync::OnceLock::new();
    let Some(dir) = DIR.get_or_init(|| std::env::var_os("RKUBE_PROTOBUF_CAPTURE").map(Into::into)) else { return };
    if let Ok(env) = rkube_protobuf::wire::decode_envelope(body) {
        let path = dir.join(format!("{}.pb", env.kind.to_ascii_lowercase()));
        if let Err(e) = std::fs::write(&path, body) {
            tracing::warn!(error = %e, path = %path.display(), "protobuf capture failed");
        }
    }
}

fn not_acceptable() -> Response<Body> {
    response::status(&Status::failure(
        406,
        reason::NOT_ACCEPTABLE,
        "only the following media types are accepted: application/json, application/yaml",
    ))
}

fn with_body(parts: http::response::Parts, content_type: &'static str, body: Body) -> Response<Body> {
    let mut resp = Response::from_parts(parts, body);
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp.headers_mut().remove(header::CONTENT_LENGTH);
    resp
}

/// Re-encodes a JSON response as protobuf for a client that prefers it. Bodies without a
/// protobuf message (custom resources, Tables) stay JSON, or become 406 when JSON was not
/// acceptable. `watch` streams are re-framed event by event.
pub async fn encode_response(resp: Response<Body>, pref: Preference, watch: bool) -> Response<Body> {
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    if !pref.protobuf_first || !is_json {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    if watch && parts.status == StatusCode::OK {
        let framed = body.map_frame(|f| f.map_data(|line| watch_frame_of_line(&line))).boxed();
        return with_body(parts, WATCH_CONTENT_TYPE, framed);
    }
    let bytes = match body.collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) => match e {},
    };
    match rkube_protobuf::from_json(&bytes) {
        Ok(pb) => with_body(parts, CONTENT_TYPE, response::full(pb)),
        Err(_) if pref.json_ok => Response::from_parts(parts, response::full(bytes)),
        Err(_) => not_acceptable(),
    }
}

/// One JSON watch line (`{"type":..,"object":..}`) as a protobuf frame; objects without a
/// protobuf message pass through as their JSON line.
pub fn watch_frame_of_line(line: &Bytes) -> Bytes {
    #[derive(serde::Deserialize)]
    struct Line<'a> {
        #[serde(rename = "type")]
        kind: String,
        #[serde(borrow)]
        object: &'a serde_json::value::RawValue,
    }
    let Ok(ev) = serde_json::from_slice::<Line<'_>>(line) else { return line.clone() };
    match rkube_protobuf::from_json(ev.object.get().as_bytes()) {
        Ok(obj) => Bytes::from(rkube_protobuf::wire::watch_frame(&ev.kind, obj)),
        Err(_) => line.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protobuf_preference_follows_q_and_order() {
        let p = |a: &str| preference(Some(a));
        assert!(p("application/vnd.kubernetes.protobuf, */*").protobuf_first);
        assert!(p("application/vnd.kubernetes.protobuf,application/json").protobuf_first);
        assert!(!p("application/json,application/vnd.kubernetes.protobuf").protobuf_first);
        assert!(!p("application/vnd.kubernetes.protobuf;q=0.5,application/json").protobuf_first);
        assert!(!p("application/vnd.kubernetes.protobuf;as=Table;g=meta.k8s.io;v=v1,application/json").protobuf_first);
        assert!(!preference(None).protobuf_first);
        let only = p("application/vnd.kubernetes.protobuf");
        assert!(only.protobuf_first && !only.json_ok);
        assert!(p("application/vnd.kubernetes.protobuf, */*").json_ok);
    }
}

//! Response bodies and content negotiation: JSON objects, Status errors, streams, and what
//! the client's `Accept` header asks for (plain objects, Tables, PartialObjectMetadata).

use std::convert::Infallible;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::Frame;
use rkube_core::Status;

/// The response body type: a full buffer or a stream of chunks (watches).
pub type Body = BoxBody<Bytes, Infallible>;

/// A full response body.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).boxed()
}

/// A streaming response body.
pub fn stream(s: impl futures::Stream<Item = Bytes> + Send + Sync + 'static) -> Body {
    use futures::StreamExt;
    BodyExt::boxed(StreamBody::new(s.map(|b| Ok::<_, Infallible>(Frame::data(b)))))
}

/// A JSON response.
pub fn json(code: StatusCode, bytes: impl Into<Bytes>) -> Response<Body> {
    let mut resp = Response::new(full(bytes));
    *resp.status_mut() = code;
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

/// A JSON response of a serialisable value.
pub fn json_value(code: StatusCode, value: &impl serde::Serialize) -> Response<Body> {
    json(code, serde_json::to_vec(value).unwrap_or_default())
}

/// A Status error response with the Status's code.
pub fn status(s: &Status) -> Response<Body> {
    let code = StatusCode::from_u16(s.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json_value(code, s)
}

/// Responses larger than this are gzip-compressed for clients that accept it, as
/// kube-apiserver's response writer does (its first write, usually the whole body, must be
/// larger than 128 KiB).
pub const GZIP_THRESHOLD: usize = 128 * 1024;

/// Whether `Accept-Encoding` offers gzip, read as kube-apiserver reads it: one of the
/// comma-separated tokens must be exactly `gzip` (parameters such as q-values are not parsed).
pub fn accepts_gzip(accept_encoding: Option<&str>) -> bool {
    accept_encoding.is_some_and(|v| v.split(',').any(|t| t.trim() == "gzip"))
}

/// Compresses a complete response body larger than [`GZIP_THRESHOLD`]; streams (watches,
/// followed logs) and plain-text bodies pass through untouched.
pub async fn gzip(resp: Response<Body>) -> Response<Body> {
    use http_body_util::BodyExt;
    use hyper::body::Body as _;
    let big = resp.body().size_hint().exact().is_some_and(|n| n > GZIP_THRESHOLD as u64);
    let text = resp.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"text/"));
    if !big || text || resp.headers().contains_key(header::CONTENT_ENCODING) {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let bytes = match body.collect().await {
        Ok(c) => c.to_bytes(),
        Err(never) => match never {},
    };
    // Level 1, as upstream: nearly the ratio of higher levels for a fraction of the CPU.
    let mut enc = flate2::write::GzEncoder::new(Vec::with_capacity(bytes.len() / 4), flate2::Compression::new(1));
    let compressed = std::io::Write::write_all(&mut enc, &bytes).and_then(|()| enc.finish());
    let Ok(compressed) = compressed else { return Response::from_parts(parts, full(bytes)) };
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    parts.headers.append(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    Response::from_parts(parts, full(compressed))
}

/// What representation the client asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Representation {
    /// The objects themselves.
    Object,
    /// A meta.k8s.io/v1 Table.
    Table,
    /// PartialObjectMetadata (or its list).
    PartialMetadata,
}

/// Reads the `Accept` header as kube-apiserver negotiates it: the first acceptable media type
/// wins, honouring q-values; `None` when nothing acceptable is offered (406).
pub fn negotiate(accept: Option<&str>) -> Option<Representation> {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else { return Some(Representation::Object) };
    let mut offers: Vec<(f32, usize, Representation)> = Vec::new();
    for (i, part) in accept.split(',').enumerate() {
        let mut params = part.split(';').map(str::trim);
        let media = params.next().unwrap_or("").to_ascii_lowercase();
        let (mut q, mut as_, mut g, mut v) = (1.0f32, None, None, None);
        for p in params {
            let Some((k, val)) = p.split_once('=') else { continue };
            match k.trim() {
                "q" => q = val.trim().parse().unwrap_or(0.0),
                "as" => as_ = Some(val.trim().to_string()),
                "g" => g = Some(val.trim().to_string()),
                "v" => v = Some(val.trim().to_string()),
                _ => {}
            }
        }
        if q <= 0.0 {
            continue;
        }
        let json_like = matches!(media.as_str(), "application/json" | "application/yaml" | "*/*" | "application/*");
        if !json_like {
            continue;
        }
        let rep = match as_.as_deref() {
            None => Representation::Object,
            Some("Table") if g.as_deref() == Some("meta.k8s.io") && matches!(v.as_deref(), Some("v1" | "v1beta1")) => {
                Representation::Table
            }
            Some("PartialObjectMetadata" | "PartialObjectMetadataList")
                if g.as_deref() == Some("meta.k8s.io") && matches!(v.as_deref(), Some("v1" | "v1beta1")) =>
            {
                Representation::PartialMetadata
            }
            Some(_) => continue,
        };
        offers.push((q, i, rep));
    }
    offers.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap_or(std::cmp::Ordering::Equal).then(a.1.cmp(&b.1)));
    offers.first().map(|o| o.2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_is_offered_by_an_exact_token() {
        assert!(accepts_gzip(Some("gzip")));
        assert!(accepts_gzip(Some("deflate, gzip")));
        assert!(!accepts_gzip(Some("gzip;q=1")));
        assert!(!accepts_gzip(Some("br")));
        assert!(!accepts_gzip(None));
    }

    #[test]
    fn negotiates_like_kube_apiserver() {
        assert_eq!(negotiate(None), Some(Representation::Object));
        assert_eq!(negotiate(Some("application/json, */*")), Some(Representation::Object));
        assert_eq!(
            negotiate(Some(
                "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
            )),
            Some(Representation::Table)
        );
        assert_eq!(
            negotiate(Some("application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1")),
            Some(Representation::PartialMetadata)
        );
        assert_eq!(
            negotiate(Some("application/json;q=0.5,application/json;as=Table;v=v1;g=meta.k8s.io")),
            Some(Representation::Table)
        );
        assert_eq!(
            negotiate(Some("application/vnd.kubernetes.protobuf,application/json")),
            Some(Representation::Object)
        );
        assert_eq!(negotiate(Some("application/vnd.kubernetes.protobuf")), None);
        assert_eq!(negotiate(Some("application/json;as=Foo;g=x;v=1")), None);
    }
}

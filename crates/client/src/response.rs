//! A complete response: status, HTTP version, headers, the server's warnings and the body.

use bytes::Bytes;
use http::{HeaderMap, StatusCode, Version};
use serde::de::DeserializeOwned;

use crate::error::Error;

/// A response read to its end (error statuses are turned into [`Error::Api`] before this
/// is handed out by the terminal calls that decode; [`crate::Request::send`] hands out any status).
#[derive(Debug, Clone)]
pub struct Response {
    /// The HTTP method of the request.
    pub verb: String,
    /// The request URL.
    pub url: String,
    /// The HTTP status.
    pub status: StatusCode,
    /// The HTTP version the connection negotiated (HTTP/2 over TLS when the server offers it).
    pub version: Version,
    /// The response headers.
    pub headers: HeaderMap,
    /// The texts of the `Warning` headers (deprecations, unknown fields ...).
    pub warnings: Vec<String>,
    /// The body, gunzipped.
    pub body: Bytes,
}

impl Response {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        self.status.is_success()
    }

    /// Whether the object was created (201), as client-go's `WasCreated`.
    pub fn was_created(&self) -> bool {
        self.status == StatusCode::CREATED
    }

    /// The body decoded as `T` (no status check).
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_slice(&self.body).map_err(|source| Error::Decode {
            verb: self.verb.clone(),
            url: self.url.clone(),
            target: std::any::type_name::<T>(),
            source,
        })
    }

    /// An [`Error::Api`] for a non-2xx status, decoded from the body's Status.
    pub fn error_for_status(self) -> Result<Self, Error> {
        if self.status.is_success() {
            return Ok(self);
        }
        Err(api_error(&self.verb, &self.url, self.status, &self.headers, &self.body))
    }
}

/// The [`Error::Api`] of an error answer.
pub(crate) fn api_error(verb: &str, url: &str, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Error {
    let retry_after = headers
        .get(http::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(std::time::Duration::from_secs);
    Error::Api {
        verb: verb.to_owned(),
        url: url.to_owned(),
        source: Box::new(rkube_core::ApiError::from_response(status.as_u16(), &json_status(body), retry_after)),
    }
}

/// An error body as JSON: a protobuf `Status` (answered to a protobuf `Accept`) is converted,
/// anything else is returned as it is.
fn json_status(body: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if !rkube_protobuf::wire::is_protobuf(body) {
        return body.into();
    }
    match rkube_protobuf::to_json(body).and_then(|v| Ok(serde_json::to_vec(&v)?)) {
        Ok(json) => json.into(),
        Err(_) => body.into(),
    }
}

/// The texts of `Warning: 299 - "text"` headers (RFC 7234 form, as kube-apiserver sends them),
/// each logged once at `warn` level.
pub(crate) fn warnings(headers: &HeaderMap, url: &str) -> Vec<String> {
    let warnings: Vec<String> = headers
        .get_all(http::header::WARNING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(parse_warning)
        .filter(|w| !w.is_empty())
        .collect();
    for w in &warnings {
        tracing::warn!(url, warning = %w, "warning from the API server");
    }
    warnings
}

/// `299 - "text"` → `text` (quotes unescaped); anything else is kept as is.
fn parse_warning(value: &str) -> String {
    let mut parts = value.splitn(3, ' ');
    let (code, _agent, rest) = (parts.next(), parts.next(), parts.next());
    match (code, rest) {
        (Some(c), Some(rest)) if c.len() == 3 && c.bytes().all(|b| b.is_ascii_digit()) => {
            let rest = rest.trim();
            match rest.strip_prefix('"') {
                Some(quoted) => {
                    let mut out = String::new();
                    let mut chars = quoted.chars();
                    while let Some(ch) = chars.next() {
                        match ch {
                            '\\' => out.extend(chars.next()),
                            '"' => break,
                            c => out.push(c),
                        }
                    }
                    out
                }
                None => rest.to_owned(),
            }
        }
        _ => value.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_warnings() {
        assert_eq!(parse_warning(r#"299 - "unknown field \"spec.foo\"""#), r#"unknown field "spec.foo""#);
        assert_eq!(parse_warning("299 - plain"), "plain");
        assert_eq!(parse_warning("odd"), "odd");
    }
}

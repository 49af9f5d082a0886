//! The API's `Status` object and the error type built on it.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::gvk::qualified_resource;

/// One cause of a failure, usually naming a field (`StatusCause`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct StatusCause {
    /// Machine-readable cause, such as `FieldValueInvalid`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// Human-readable description.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// The field at fault, such as `spec.replicas`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub field: String,
}

/// Extra data about a failure: which object, and why (`StatusDetails`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct StatusDetails {
    /// The object's name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// The object's group.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub group: String,
    /// The object's kind (kube-apiserver puts the resource name here).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// The object's uid.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uid: String,
    /// The causes, for validation errors.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub causes: Vec<StatusCause>,
    /// Seconds the client should wait before retrying.
    #[serde(rename = "retryAfterSeconds", default, skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<u32>,
}

/// List metadata carried by a Status (usually empty).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct StatusMeta {
    /// Set on some Status responses; usually absent.
    #[serde(rename = "resourceVersion", default, skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
}

/// The API's `Status` object: the body of every error response and of some successful deletes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// Always `Status`.
    #[serde(default = "status_kind")]
    pub kind: String,
    /// Always `v1`.
    #[serde(rename = "apiVersion", default = "status_api_version")]
    pub api_version: String,
    /// List metadata (kube-apiserver always writes `{}`).
    #[serde(default)]
    pub metadata: StatusMeta,
    /// `Success` or `Failure`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub status: String,
    /// Human-readable description.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// Machine-readable reason, such as `NotFound`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// Extra data about the object and causes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<StatusDetails>,
    /// The HTTP status code (absent on the Success status of deletes, as kube-apiserver sends it).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub code: u16,
}

fn is_zero(code: &u16) -> bool {
    *code == 0
}

fn status_kind() -> String {
    "Status".into()
}

fn status_api_version() -> String {
    "v1".into()
}

impl Status {
    /// A `Failure` status with code, reason and message.
    pub fn failure(code: u16, reason: &str, message: impl Into<String>) -> Self {
        Self {
            kind: status_kind(),
            api_version: status_api_version(),
            metadata: StatusMeta::default(),
            status: "Failure".into(),
            message: message.into(),
            reason: reason.into(),
            details: None,
            code,
        }
    }

    /// A `Success` status (as some deletes return).
    pub fn success(details: Option<StatusDetails>) -> Self {
        Self { status: "Success".into(), details, ..Self::failure(0, "", "") }
    }

    /// Sets the details naming the object (builder style).
    pub fn with_details(mut self, name: &str, group: &str, kind: &str) -> Self {
        let details = self.details.get_or_insert_with(StatusDetails::default);
        details.name = name.into();
        details.group = group.into();
        details.kind = kind.into();
        self
    }

    /// 404 NotFound for `resource.group "name"`, worded as kube-apiserver words it.
    pub fn not_found(resource: &str, group: &str, name: &str) -> Self {
        let qualified = qualified_resource(resource, group);
        Self::failure(404, reason::NOT_FOUND, format!("{qualified} \"{name}\" not found"))
            .with_details(name, group, resource)
    }

    /// 409 AlreadyExists.
    pub fn already_exists(resource: &str, group: &str, name: &str) -> Self {
        let qualified = qualified_resource(resource, group);
        Self::failure(409, reason::ALREADY_EXISTS, format!("{qualified} \"{name}\" already exists"))
            .with_details(name, group, resource)
    }

    /// 409 Conflict for a stale resourceVersion.
    pub fn conflict(resource: &str, group: &str, name: &str, why: &str) -> Self {
        let qualified = qualified_resource(resource, group);
        Self::failure(409, reason::CONFLICT, format!("Operation cannot be fulfilled on {qualified} \"{name}\": {why}"))
            .with_details(name, group, resource)
    }

    /// 410 Expired: a resourceVersion older than the server keeps.
    pub fn expired(message: impl Into<String>) -> Self {
        Self::failure(410, reason::EXPIRED, message)
    }

    /// 400 BadRequest.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::failure(400, reason::BAD_REQUEST, message)
    }

    /// 422 Invalid with field causes: `Kind.group "name" is invalid: field: message`.
    pub fn invalid(kind: &str, group: &str, name: &str, causes: Vec<StatusCause>) -> Self {
        let qualified = qualified_resource(kind, group);
        let listed: Vec<String> = causes
            .iter()
            .map(|c| if c.field.is_empty() { c.message.clone() } else { format!("{}: {}", c.field, c.message) })
            .collect();
        let message = match listed.len() {
            1 => format!("{qualified} \"{name}\" is invalid: {}", listed[0]),
            _ => format!("{qualified} \"{name}\" is invalid: [{}]", listed.join(", ")),
        };
        let mut status = Self::failure(422, reason::INVALID, message).with_details(name, group, kind);
        if let Some(d) = status.details.as_mut() {
            d.causes = causes;
        }
        status
    }
}

/// The `reason` values of the API's Status objects.
pub mod reason {
    /// 404.
    pub const NOT_FOUND: &str = "NotFound";
    /// 409 on create.
    pub const ALREADY_EXISTS: &str = "AlreadyExists";
    /// 409 on a stale update.
    pub const CONFLICT: &str = "Conflict";
    /// 410 for too old resource versions.
    pub const EXPIRED: &str = "Expired";
    /// 410 (older servers).
    pub const GONE: &str = "Gone";
    /// 422.
    pub const INVALID: &str = "Invalid";
    /// 400.
    pub const BAD_REQUEST: &str = "BadRequest";
    /// 401.
    pub const UNAUTHORIZED: &str = "Unauthorized";
    /// 403.
    pub const FORBIDDEN: &str = "Forbidden";
    /// 405.
    pub const METHOD_NOT_ALLOWED: &str = "MethodNotAllowed";
    /// 406.
    pub const NOT_ACCEPTABLE: &str = "NotAcceptable";
    /// 413.
    pub const REQUEST_ENTITY_TOO_LARGE: &str = "RequestEntityTooLarge";
    /// 415.
    pub const UNSUPPORTED_MEDIA_TYPE: &str = "UnsupportedMediaType";
    /// 429.
    pub const TOO_MANY_REQUESTS: &str = "TooManyRequests";
    /// 500.
    pub const INTERNAL_ERROR: &str = "InternalError";
    /// 503.
    pub const SERVICE_UNAVAILABLE: &str = "ServiceUnavailable";
    /// 504.
    pub const TIMEOUT: &str = "Timeout";
}

/// An error answer from the API server: its Status plus the Retry-After it asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} ({}): {}", .status.code, if .status.reason.is_empty() { "Unknown" } else { .status.reason.as_str() }, .status.message)]
pub struct ApiError {
    /// The Status the server sent (or one synthesised from the HTTP status when the body was not a Status).
    pub status: Status,
    /// The `Retry-After` header, when present.
    pub retry_after: Option<Duration>,
}

impl ApiError {
    /// An error from a Status.
    pub fn new(status: Status) -> Self {
        Self { status, retry_after: None }
    }

    /// Decodes an error response body; a body that is not a Status becomes one naming the HTTP code.
    pub fn from_response(code: u16, body: &[u8], retry_after: Option<Duration>) -> Self {
        let status = match serde_json::from_slice::<Status>(body) {
            Ok(mut s) if s.kind == "Status" => {
                if s.code == 0 {
                    s.code = code;
                }
                s
            }
            _ => {
                let text = String::from_utf8_lossy(&body[..body.len().min(512)]).trim().to_string();
                let message = if text.is_empty() { format!("the server responded with HTTP {code}") } else { text };
                Status::failure(code, reason_for_code(code), message)
            }
        };
        Self { status, retry_after }
    }

    /// The HTTP status code.
    pub fn code(&self) -> u16 {
        self.status.code
    }

    /// The Status reason.
    pub fn reason(&self) -> &str {
        &self.status.reason
    }

    fn is(&self, reason: &str, code: u16) -> bool {
        self.status.reason == reason || (self.status.reason.is_empty() && self.status.code == code)
    }

    /// The object does not exist (404 NotFound).
    pub fn is_not_found(&self) -> bool {
        self.is(reason::NOT_FOUND, 404)
    }

    /// The object already exists (409 AlreadyExists).
    pub fn is_already_exists(&self) -> bool {
        self.status.reason == reason::ALREADY_EXISTS
    }

    /// A write lost an optimistic-concurrency race (409 Conflict).
    pub fn is_conflict(&self) -> bool {
        self.is(reason::CONFLICT, 409)
    }

    /// The resourceVersion asked for is no longer available (410 Expired/Gone, or the
    /// "too old resource version" message): relist.
    pub fn is_gone(&self) -> bool {
        self.status.code == 410
            || self.status.reason == reason::EXPIRED
            || self.status.reason == reason::GONE
            || self.status.message.contains("too old resource version")
    }

    /// Same as [`ApiError::is_gone`]: client-go's `IsResourceExpired`.
    pub fn is_expired(&self) -> bool {
        self.is_gone()
    }

    /// The server is throttling (429 TooManyRequests).
    pub fn is_too_many_requests(&self) -> bool {
        self.is(reason::TOO_MANY_REQUESTS, 429)
    }

    /// The object failed validation (422 Invalid).
    pub fn is_invalid(&self) -> bool {
        self.is(reason::INVALID, 422)
    }

    /// The request was malformed (400 BadRequest).
    pub fn is_bad_request(&self) -> bool {
        self.is(reason::BAD_REQUEST, 400)
    }

    /// The credentials were refused (401).
    pub fn is_unauthorized(&self) -> bool {
        self.is(reason::UNAUTHORIZED, 401)
    }

    /// The caller may not do this (403).
    pub fn is_forbidden(&self) -> bool {
        self.is(reason::FORBIDDEN, 403)
    }

    /// A server-side failure (5xx).
    pub fn is_server_error(&self) -> bool {
        self.status.code >= 500
    }
}

/// The Status reason kube-apiserver uses for an HTTP code.
pub fn reason_for_code(code: u16) -> &'static str {
    match code {
        400 => reason::BAD_REQUEST,
        401 => reason::UNAUTHORIZED,
        403 => reason::FORBIDDEN,
        404 => reason::NOT_FOUND,
        405 => reason::METHOD_NOT_ALLOWED,
        406 => reason::NOT_ACCEPTABLE,
        409 => reason::CONFLICT,
        410 => reason::EXPIRED,
        413 => reason::REQUEST_ENTITY_TOO_LARGE,
        415 => reason::UNSUPPORTED_MEDIA_TYPE,
        422 => reason::INVALID,
        429 => reason::TOO_MANY_REQUESTS,
        503 => reason::SERVICE_UNAVAILABLE,
        504 => reason::TIMEOUT,
        _ if code >= 500 => reason::INTERNAL_ERROR,
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_match_kube_apiserver() {
        assert_eq!(Status::not_found("pods", "", "web").message, "pods \"web\" not found");
        assert_eq!(Status::already_exists("deployments", "apps", "d").message, "deployments.apps \"d\" already exists");
        assert_eq!(
            Status::conflict(
                "configmaps",
                "",
                "c",
                "the object has been modified; please apply your changes to the latest version and try again"
            )
            .message,
            "Operation cannot be fulfilled on configmaps \"c\": the object has been modified; please apply your changes to the latest version and try again"
        );
        let inv = Status::invalid(
            "Pod",
            "",
            "p",
            vec![StatusCause {
                reason: "FieldValueRequired".into(),
                message: "Required value".into(),
                field: "spec.containers".into(),
            }],
        );
        assert_eq!(inv.message, "Pod \"p\" is invalid: spec.containers: Required value");
        assert_eq!(inv.code, 422);
    }

    #[test]
    fn decodes_status_bodies() {
        let body = br#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods \"x\" not found","reason":"NotFound","details":{"name":"x","kind":"pods"},"code":404}"#;
        let e = ApiError::from_response(404, body, None);
        assert!(e.is_not_found());
        assert!(!e.is_conflict());
        assert_eq!(e.status.details.as_ref().unwrap().name, "x");
        assert_eq!(e.to_string(), "404 (NotFound): pods \"x\" not found");
    }

    #[test]
    fn non_status_bodies_keep_the_code() {
        let e = ApiError::from_response(503, b"upstream connect error", Some(Duration::from_secs(2)));
        assert_eq!(e.reason(), "ServiceUnavailable");
        assert!(e.is_server_error());
        assert_eq!(e.retry_after, Some(Duration::from_secs(2)));
        let e = ApiError::from_response(429, b"", None);
        assert!(e.is_too_many_requests());
        assert!(e.status.message.contains("429"));
    }

    #[test]
    fn gone_predicates() {
        assert!(ApiError::new(Status::expired("too old resource version: 1 (5)")).is_gone());
        assert!(ApiError::new(Status::failure(410, "Gone", "x")).is_expired());
        assert!(ApiError::new(Status::failure(500, "InternalError", "too old resource version: 1 (2)")).is_gone());
        assert!(!ApiError::new(Status::not_found("pods", "", "a")).is_gone());
    }
}

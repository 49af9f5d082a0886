//! Patch bodies and the content type each kind of patch is sent with.

use serde::Serialize;

/// A patch and its kind; the kind decides the `Content-Type` the server reads it with.
#[derive(Debug, Clone, PartialEq)]
pub enum Patch {
    /// RFC 7386 JSON merge patch (`application/merge-patch+json`).
    Merge(serde_json::Value),
    /// RFC 6902 JSON patch, an array of operations (`application/json-patch+json`).
    Json(serde_json::Value),
    /// Kubernetes strategic merge patch, built-in kinds only (`application/strategic-merge-patch+json`).
    Strategic(serde_json::Value),
    /// Server-side apply of a full intent object (`application/apply-patch+yaml`; JSON is valid YAML).
    Apply(serde_json::Value),
}

impl Patch {
    /// A merge patch from any serializable value.
    pub fn merge<T: Serialize>(patch: &T) -> Result<Self, serde_json::Error> {
        serde_json::to_value(patch).map(Self::Merge)
    }

    /// A strategic merge patch from any serializable value.
    pub fn strategic<T: Serialize>(patch: &T) -> Result<Self, serde_json::Error> {
        serde_json::to_value(patch).map(Self::Strategic)
    }

    /// A server-side apply patch from any serializable value (usually the typed object).
    pub fn apply<T: Serialize>(intent: &T) -> Result<Self, serde_json::Error> {
        serde_json::to_value(intent).map(Self::Apply)
    }

    /// The `Content-Type` header for this kind of patch.
    pub fn content_type(&self) -> &'static str {
        match self {
            Self::Merge(_) => content_type::MERGE_PATCH,
            Self::Json(_) => content_type::JSON_PATCH,
            Self::Strategic(_) => content_type::STRATEGIC_MERGE_PATCH,
            Self::Apply(_) => content_type::APPLY_PATCH,
        }
    }

    /// The body bytes.
    pub fn to_body(&self) -> Vec<u8> {
        let (Self::Merge(v) | Self::Json(v) | Self::Strategic(v) | Self::Apply(v)) = self;
        serde_json::to_vec(v).unwrap_or_default()
    }
}

/// Content types the API uses.
pub mod content_type {
    /// JSON objects.
    pub const JSON: &str = "application/json";
    /// JSON merge patch.
    pub const MERGE_PATCH: &str = "application/merge-patch+json";
    /// JSON patch.
    pub const JSON_PATCH: &str = "application/json-patch+json";
    /// Strategic merge patch.
    pub const STRATEGIC_MERGE_PATCH: &str = "application/strategic-merge-patch+json";
    /// Server-side apply.
    pub const APPLY_PATCH: &str = "application/apply-patch+yaml";
    /// Kubernetes protobuf.
    pub const PROTOBUF: &str = "application/vnd.kubernetes.protobuf";
    /// YAML.
    pub const YAML: &str = "application/yaml";
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn content_types_and_bodies() {
        let p = Patch::merge(&json!({"metadata": {"labels": {"a": "b"}}})).unwrap();
        assert_eq!(p.content_type(), "application/merge-patch+json");
        assert_eq!(p.to_body(), br#"{"metadata":{"labels":{"a":"b"}}}"#);
        assert_eq!(Patch::Json(json!([])).content_type(), "application/json-patch+json");
        assert_eq!(Patch::strategic(&json!({})).unwrap().content_type(), "application/strategic-merge-patch+json");
        assert_eq!(Patch::apply(&json!({})).unwrap().content_type(), "application/apply-patch+yaml");
    }
}

//! Metadata-only views of objects (`PartialObjectMetadata`), for cheap caches of any kind.

use std::borrow::Cow;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};

use crate::dynamic::TypeMeta;
use crate::gvk::{GroupVersionKind, guess_plural};
use crate::object::Object;

/// The `Accept` header that asks a server for `PartialObjectMetadata` instead of full objects.
pub const ACCEPT_PARTIAL_OBJECT_METADATA: &str = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";
/// The `Accept` header that asks a server for a `PartialObjectMetadataList`.
pub const ACCEPT_PARTIAL_OBJECT_METADATA_LIST: &str =
    "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";

/// An object's type meta and metadata only, as the metadata client and metadata informers see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct PartialObjectMetadata {
    /// `apiVersion: meta.k8s.io/v1`, `kind: PartialObjectMetadata` on the wire.
    #[serde(flatten)]
    pub types: TypeMeta,
    /// Standard object metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
}

impl PartialObjectMetadata {
    /// Metadata of an object, typed as kube-apiserver sends it.
    pub fn from_meta(metadata: ObjectMeta) -> Self {
        Self {
            types: TypeMeta { api_version: "meta.k8s.io/v1".into(), kind: "PartialObjectMetadata".into() },
            metadata,
        }
    }
}

impl Object for PartialObjectMetadata {
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }

    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }

    fn gvk(&self) -> GroupVersionKind {
        self.types.gvk().unwrap_or_else(|| GroupVersionKind::new("meta.k8s.io", "v1", "PartialObjectMetadata"))
    }

    fn plural(&self) -> Cow<'_, str> {
        Cow::Owned(guess_plural(&self.types.kind))
    }

    fn namespaced(&self) -> bool {
        self.namespace().is_some()
    }
}

/// A list of [`PartialObjectMetadata`].
pub type PartialObjectMetadataList = crate::list::ObjectList<PartialObjectMetadata>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_server_form() {
        let list: PartialObjectMetadataList = serde_json::from_str(
            r#"{"kind":"PartialObjectMetadataList","apiVersion":"meta.k8s.io/v1","metadata":{"resourceVersion":"7"},
               "items":[{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{"name":"a","namespace":"n"}}]}"#,
        )
        .unwrap();
        assert_eq!(list.metadata.resource_version.as_deref(), Some("7"));
        assert_eq!(list.items[0].key().to_string(), "n/a");
    }
}

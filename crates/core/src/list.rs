//! Lists of objects as the API returns them.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ListMeta;
use serde::{Deserialize, Serialize};

use crate::dynamic::TypeMeta;

/// A list response: type meta, list metadata (resourceVersion, continue token, remaining
/// item count) and the items, for typed, dynamic and metadata-only objects alike.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound(deserialize = "K: Deserialize<'de>"))]
pub struct ObjectList<K> {
    /// `apiVersion` and `kind` of the list (`PodList`, ...).
    #[serde(flatten)]
    pub types: TypeMeta,
    /// resourceVersion, continue token and remaining item count.
    #[serde(default)]
    pub metadata: ListMeta,
    /// The items; the API may send `null` for an empty list.
    #[serde(default = "Vec::new", deserialize_with = "null_as_empty")]
    pub items: Vec<K>,
}

impl<K> Default for ObjectList<K> {
    fn default() -> Self {
        Self { types: TypeMeta::default(), metadata: ListMeta::default(), items: Vec::new() }
    }
}

impl<K> ObjectList<K> {
    /// The continue token for the next page, if the list is incomplete.
    pub fn continue_token(&self) -> Option<&str> {
        self.metadata.continue_.as_deref().filter(|t| !t.is_empty())
    }

    /// The list's resourceVersion.
    pub fn resource_version(&self) -> Option<&str> {
        self.metadata.resource_version.as_deref()
    }
}

fn null_as_empty<'de, D, K>(de: D) -> Result<Vec<K>, D::Error>
where
    D: serde::Deserializer<'de>,
    K: Deserialize<'de>,
{
    Ok(Option::<Vec<K>>::deserialize(de)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::Pod;

    #[test]
    fn decodes_items_without_type_meta_and_null_items() {
        let list: ObjectList<Pod> = serde_json::from_str(
            r#"{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"5","continue":"abc","remainingItemCount":3},
               "items":[{"metadata":{"name":"a"}}]}"#,
        )
        .unwrap();
        assert_eq!(list.items.len(), 1);
        assert_eq!(list.continue_token(), Some("abc"));
        assert_eq!(list.metadata.remaining_item_count, Some(3));
        let empty: ObjectList<Pod> = serde_json::from_str(r#"{"metadata":{},"items":null}"#).unwrap();
        assert!(empty.items.is_empty());
    }
}

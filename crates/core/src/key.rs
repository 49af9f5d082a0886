//! Object keys in client-go's format: `namespace/name`, or `name` for cluster-scoped objects.

use std::fmt;
use std::str::FromStr;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// A malformed object key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid object key {key:?}: {reason}")]
pub struct KeyError {
    /// The key that failed to parse.
    pub key: String,
    /// What was wrong with it.
    pub reason: &'static str,
}

/// Identifies an object within one resource: its namespace (if namespaced) and name.
///
/// Displays and parses as client-go's `MetaNamespaceKeyFunc` keys do, so keys can be shared
/// with tooling that uses that format.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey {
    /// The namespace; `None` for cluster-scoped objects.
    pub namespace: Option<String>,
    /// The name.
    pub name: String,
}

impl ObjectKey {
    /// The key of a namespaced object.
    pub fn namespaced(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        Self { namespace: Some(namespace.into()), name: name.into() }
    }

    /// The key of a cluster-scoped object.
    pub fn cluster(name: impl Into<String>) -> Self {
        Self { namespace: None, name: name.into() }
    }

    /// The key of the object with this metadata (an empty namespace counts as none).
    pub fn from_meta(meta: &ObjectMeta) -> Self {
        Self {
            namespace: meta.namespace.clone().filter(|ns| !ns.is_empty()),
            name: meta.name.clone().unwrap_or_default(),
        }
    }

    /// The namespace, or `""` for cluster-scoped objects.
    pub fn namespace_str(&self) -> &str {
        self.namespace.as_deref().unwrap_or("")
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{ns}/{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

impl FromStr for ObjectKey {
    type Err = KeyError;

    /// Parses `namespace/name` or `name` as client-go's `SplitMetaNamespaceKey` does.
    fn from_str(key: &str) -> Result<Self, KeyError> {
        let err = |reason| KeyError { key: key.to_string(), reason };
        let mut parts = key.split('/');
        match (parts.next(), parts.next(), parts.next()) {
            (Some(""), None, None) => Err(err("empty key")),
            (Some(name), None, None) => Ok(Self::cluster(name)),
            (Some(_), Some(""), None) => Err(err("empty name after '/'")),
            (Some(""), Some(name), None) => Ok(Self::cluster(name)),
            (Some(ns), Some(name), None) => Ok(Self::namespaced(ns, name)),
            _ => Err(err("unexpected key format: more than one '/'")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn formats_like_client_go() {
        assert_eq!(ObjectKey::namespaced("default", "web").to_string(), "default/web");
        assert_eq!(ObjectKey::cluster("node-1").to_string(), "node-1");
    }

    #[test]
    fn parses_like_client_go() {
        assert_eq!("default/web".parse::<ObjectKey>().unwrap(), ObjectKey::namespaced("default", "web"));
        assert_eq!("node-1".parse::<ObjectKey>().unwrap(), ObjectKey::cluster("node-1"));
        assert_eq!("/node-1".parse::<ObjectKey>().unwrap(), ObjectKey::cluster("node-1"));
        let e = "a/b/c".parse::<ObjectKey>().unwrap_err();
        assert!(e.to_string().contains("\"a/b/c\""), "{e}");
        assert!("".parse::<ObjectKey>().is_err());
        assert!("ns/".parse::<ObjectKey>().is_err());
    }

    #[test]
    fn from_meta_treats_empty_namespace_as_cluster_scope() {
        let meta = ObjectMeta { name: Some("x".into()), namespace: Some(String::new()), ..Default::default() };
        assert_eq!(ObjectKey::from_meta(&meta), ObjectKey::cluster("x"));
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in ".*") {
            let _ = s.parse::<ObjectKey>();
        }

        #[test]
        fn display_parse_round_trip(ns in "[a-z0-9-]{1,20}", name in "[a-z0-9.-]{1,30}") {
            let key = ObjectKey::namespaced(ns, name);
            prop_assert_eq!(key.to_string().parse::<ObjectKey>().unwrap(), key);
        }
    }
}

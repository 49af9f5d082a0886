//! Listers: read-only queries over an informer's store by key, label selector, namespace and
//! index, without copying objects and without blocking the writer for long.

use std::sync::Arc;

use rkube_core::selector::LabelSelector;
use rkube_core::{Object, ObjectKey};

use crate::store::{NAMESPACE_INDEX, Store, UnknownIndex};

/// Queries over a store. Cheap to clone.
pub struct Lister<K> {
    store: Store<K>,
}

impl<K> Clone for Lister<K> {
    fn clone(&self) -> Self {
        Self { store: self.store.clone() }
    }
}

fn matching<K: Object>(objs: Vec<Arc<K>>, selector: &LabelSelector) -> Vec<Arc<K>> {
    if selector.is_empty() {
        return objs;
    }
    objs.into_iter().filter(|o| selector.matches(&o.meta().labels)).collect()
}

impl<K: Object> Lister<K> {
    /// A lister over `store`.
    pub fn new(store: Store<K>) -> Self {
        Self { store }
    }

    /// One object by key (`namespace/name` or `name`).
    pub fn get(&self, key: &ObjectKey) -> Option<Arc<K>> {
        self.store.get(key)
    }

    /// Objects whose labels match (an empty selector matches all).
    pub fn list(&self, selector: &LabelSelector) -> Vec<Arc<K>> {
        matching(self.store.list(), selector)
    }

    /// Queries within one namespace.
    pub fn namespaced(&self, namespace: impl Into<String>) -> NamespaceLister<K> {
        NamespaceLister { store: self.store.clone(), namespace: namespace.into() }
    }

    /// Objects whose index `name` has `value`.
    pub fn by_index(&self, name: &str, value: &str) -> Result<Vec<Arc<K>>, UnknownIndex> {
        self.store.by_index(name, value)
    }
}

/// Queries within one namespace.
pub struct NamespaceLister<K> {
    store: Store<K>,
    namespace: String,
}

impl<K: Object> NamespaceLister<K> {
    /// One object by name.
    pub fn get(&self, name: &str) -> Option<Arc<K>> {
        self.store.get(&ObjectKey::namespaced(&self.namespace, name))
    }

    /// Objects in the namespace whose labels match.
    pub fn list(&self, selector: &LabelSelector) -> Vec<Arc<K>> {
        matching(self.store.by_index(NAMESPACE_INDEX, &self.namespace).unwrap_or_default(), selector)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ConfigMap;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn cm(ns: &str, name: &str, app: &str) -> ConfigMap {
        ConfigMap {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some(ns.into()),
                labels: Some([("app".to_string(), app.to_string())].into()),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn queries_by_selector_namespace_and_key() {
        let store = Store::new();
        store.apply(cm("a", "x", "web"));
        store.apply(cm("a", "y", "db"));
        store.apply(cm("b", "z", "web"));
        let lister = Lister::new(store);
        let web = LabelSelector::parse("app=web").unwrap();
        assert_eq!(lister.list(&web).len(), 2);
        assert_eq!(lister.list(&LabelSelector::everything()).len(), 3);
        assert_eq!(lister.namespaced("a").list(&web).len(), 1);
        assert!(lister.namespaced("a").get("y").is_some());
        assert!(lister.namespaced("b").get("y").is_none());
        assert!(lister.get(&"b/z".parse().unwrap()).is_some());
    }
}

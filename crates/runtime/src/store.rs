//! The informer cache: a thread-safe map from object key to `Arc<K>` with named indexers.
//!
//! Contract: objects in the store are shared, read-only snapshots; callers never get a deep
//! copy, so reads cost a reference-count increment. Writers are the reflector (one per
//! store); readers (listers, handlers, controllers) never block each other and block the
//! writer only for the duration of one map operation. A relist ([`Store::replace`]) builds
//! the new content aside and swaps it in atomically: readers see either the old or the new
//! content, never a mix.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, RwLock};

use dashmap::DashMap;
use rkube_core::{Object, ObjectKey};

/// Name of the built-in index of objects by namespace.
pub const NAMESPACE_INDEX: &str = "namespace";

/// Computes the index values of an object (zero or more).
pub type IndexFn<K> = Arc<dyn Fn(&K) -> Vec<String> + Send + Sync>;

/// Changes an object before it enters the store (e.g. drops managedFields to save memory).
pub type Transform<K> = Arc<dyn Fn(&mut K) + Send + Sync>;

/// A ready-made transform that drops `metadata.managedFields`, which costs more memory than
/// the rest of a typical pod and is rarely read by controllers.
pub fn drop_managed_fields<K: Object>() -> Transform<K> {
    Arc::new(|obj: &mut K| obj.meta_mut().managed_fields = None)
}

/// Re-allocates an object's heap parts at their exact sizes, for objects about to be cached.
///
/// serde decodes a `Vec` by pushing with doubling capacity (at least 4 elements below 1 KB
/// each), so a freshly decoded pod carries about 4 KB of unused capacity (env vars, ports,
/// mounts, tolerations, container statuses ...); `Clone` allocates exactly. managedFields
/// are moved across instead of cloned: their `FieldsV1` trees have no spare capacity and
/// are the costliest part to copy; only their list is shrunk.
pub(crate) fn compact<K: Object>(mut obj: K) -> K {
    let managed = obj.meta_mut().managed_fields.take();
    let mut exact = obj.clone();
    drop(obj);
    if let Some(mut managed) = managed {
        managed.shrink_to_fit();
        exact.meta_mut().managed_fields = Some(managed);
    }
    exact
}

/// An index name used by a query was never registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("index {0:?} does not exist")]
pub struct UnknownIndex(pub String);

type IndexMap = HashMap<String, HashMap<String, HashSet<ObjectKey>>>;

struct Contents<K> {
    // foldhash: keys come from the API server, not from an attacker choosing collisions.
    items: DashMap<ObjectKey, Arc<K>, foldhash::fast::RandomState>,
    // index name -> value -> keys
    indices: RwLock<IndexMap>,
}

impl<K> Contents<K> {
    fn empty() -> Self {
        Self { items: DashMap::with_hasher(Default::default()), indices: RwLock::new(HashMap::new()) }
    }
}

// A relist being built aside from the live content.
struct Pending<K> {
    fresh: Contents<K>,
}

/// Thread-safe indexed object cache. Cheap to clone (clones share the content).
pub struct Store<K> {
    contents: Arc<RwLock<Arc<Contents<K>>>>,
    indexers: Arc<RwLock<HashMap<String, IndexFn<K>>>>,
    transform: Option<Transform<K>>,
    pending: Arc<std::sync::Mutex<Option<Pending<K>>>>,
}

impl<K> Clone for Store<K> {
    fn clone(&self) -> Self {
        Self {
            contents: self.contents.clone(),
            indexers: self.indexers.clone(),
            transform: self.transform.clone(),
            pending: self.pending.clone(),
        }
    }
}

impl<K: Object> Default for Store<K> {
    fn default() -> Self {
        Self::new()
    }
}

/// What a relist changed, so informers can notify handlers.
#[derive(Debug)]
pub struct ReplaceDiff<K> {
    /// Objects not in the store before.
    pub added: Vec<Arc<K>>,
    /// (old, new) for objects that were present; new may be identical in resourceVersion (a resync).
    pub updated: Vec<(Arc<K>, Arc<K>)>,
    /// Objects that disappeared: their deletes were missed, these are their last known states.
    pub deleted: Vec<Arc<K>>,
}

fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|p| p.into_inner())
}

impl<K: Object> Store<K> {
    /// An empty store with the namespace index.
    pub fn new() -> Self {
        let store = Self {
            contents: Arc::new(RwLock::new(Arc::new(Contents::empty()))),
            indexers: Arc::new(RwLock::new(HashMap::new())),
            transform: None,
            pending: Arc::default(),
        };
        let ns: IndexFn<K> = Arc::new(|o: &K| o.namespace().map(|n| vec![n.to_string()]).unwrap_or_default());
        write(&store.indexers).insert(NAMESPACE_INDEX.to_string(), ns);
        store
    }

    /// Sets the transform applied to every object before it is stored (builder style).
    pub fn with_transform(mut self, transform: Transform<K>) -> Self {
        self.transform = Some(transform);
        self
    }

    fn current(&self) -> Arc<Contents<K>> {
        read(&self.contents).clone()
    }

    /// Adds a named indexer; existing objects are indexed at once.
    pub fn add_indexer(&self, name: impl Into<String>, f: impl Fn(&K) -> Vec<String> + Send + Sync + 'static) {
        let name = name.into();
        let f: IndexFn<K> = Arc::new(f);
        write(&self.indexers).insert(name.clone(), f.clone());
        let c = self.current();
        let mut idx = write(&c.indices);
        let entry = idx.entry(name).or_default();
        entry.clear();
        for item in c.items.iter() {
            for v in f(item.value()) {
                entry.entry(v).or_default().insert(item.key().clone());
            }
        }
    }

    fn prepare(&self, mut obj: K) -> Arc<K> {
        if let Some(t) = &self.transform {
            t(&mut obj);
        }
        Arc::new(obj)
    }

    fn index(&self, idx: &mut IndexMap, key: &ObjectKey, old: Option<&K>, new: Option<&K>) {
        for (name, f) in read(&self.indexers).iter() {
            let before: BTreeSet<String> = old.map(|o| f(o).into_iter().collect()).unwrap_or_default();
            let after: BTreeSet<String> = new.map(|o| f(o).into_iter().collect()).unwrap_or_default();
            if before == after && old.is_some() {
                continue;
            }
            let values = idx.entry(name.clone()).or_default();
            for v in before.difference(&after) {
                if let Some(keys) = values.get_mut(v) {
                    keys.remove(key);
                    if keys.is_empty() {
                        values.remove(v);
                    }
                }
            }
            for v in after {
                values.entry(v).or_default().insert(key.clone());
            }
        }
    }

    /// Inserts or replaces an object; returns the stored object and the previous one.
    pub fn apply(&self, obj: K) -> (Arc<K>, Option<Arc<K>>) {
        let obj = self.prepare(obj);
        let key = obj.key();
        let c = self.current();
        let mut idx = write(&c.indices);
        let old = c.items.insert(key.clone(), obj.clone());
        self.index(&mut idx, &key, old.as_deref(), Some(&obj));
        (obj, old)
    }

    /// Removes an object; returns its last stored state.
    pub fn delete(&self, key: &ObjectKey) -> Option<Arc<K>> {
        let c = self.current();
        let mut idx = write(&c.indices);
        let (_, old) = c.items.remove(key)?;
        self.index(&mut idx, key, Some(&old), None);
        Some(old)
    }

    /// Replaces the whole content with a fresh list, atomically for readers; returns what
    /// changed. Objects are moved in, not copied.
    pub fn replace(&self, objects: impl IntoIterator<Item = K>) -> ReplaceDiff<K> {
        self.begin_replace();
        self.push_replace(objects);
        self.finish_replace()
    }

    /// Starts building a relist aside from the live content (discarding an unfinished one).
    pub fn begin_replace(&self) {
        *self.pending.lock().unwrap_or_else(|p| p.into_inner()) = Some(Pending { fresh: Contents::empty() });
    }

    /// Adds objects to the relist being built. An object whose resourceVersion equals the
    /// live one is not stored twice: the live `Arc` is reused and the new copy dropped at
    /// once, which keeps a relist's memory peak near the steady state.
    pub fn push_replace(&self, objects: impl IntoIterator<Item = K>) {
        let live = self.current();
        let mut guard = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        let pending = guard.get_or_insert_with(|| Pending { fresh: Contents::empty() });
        let mut idx = write(&pending.fresh.indices);
        for obj in objects {
            let key = obj.key();
            let obj = match live.items.get(&key) {
                Some(prev)
                    if prev.resource_version().is_some() && prev.resource_version() == obj.resource_version() =>
                {
                    prev.value().clone()
                }
                _ => self.prepare(obj),
            };
            let old = pending.fresh.items.insert(key.clone(), obj.clone());
            self.index(&mut idx, &key, old.as_deref(), Some(&obj));
        }
    }

    /// Removes an object from the relist being built (a delete seen before the relist ended).
    pub fn remove_replace(&self, key: &ObjectKey) {
        let mut guard = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(pending) = guard.as_mut() {
            if let Some((_, old)) = pending.fresh.items.remove(key) {
                self.index(&mut write(&pending.fresh.indices), key, Some(&old), None);
            }
        }
    }

    /// Swaps the relist built so far in for the live content; returns what changed.
    pub fn finish_replace(&self) -> ReplaceDiff<K> {
        let mut diff = ReplaceDiff { added: Vec::new(), updated: Vec::new(), deleted: Vec::new() };
        let Some(pending) = self.pending.lock().unwrap_or_else(|p| p.into_inner()).take() else {
            return diff;
        };
        let old = self.current();
        for item in pending.fresh.items.iter() {
            match old.items.get(item.key()) {
                Some(prev) => diff.updated.push((prev.value().clone(), item.value().clone())),
                None => diff.added.push(item.value().clone()),
            }
        }
        for item in old.items.iter() {
            if !pending.fresh.items.contains_key(item.key()) {
                diff.deleted.push(item.value().clone());
            }
        }
        *write(&self.contents) = Arc::new(pending.fresh);
        diff
    }

    /// One object by key.
    pub fn get(&self, key: &ObjectKey) -> Option<Arc<K>> {
        self.current().items.get(key).map(|e| e.value().clone())
    }

    /// Every object (in no particular order).
    pub fn list(&self) -> Vec<Arc<K>> {
        self.current().items.iter().map(|e| e.value().clone()).collect()
    }

    /// Every key.
    pub fn keys(&self) -> Vec<ObjectKey> {
        self.current().items.iter().map(|e| e.key().clone()).collect()
    }

    /// Number of objects.
    pub fn len(&self) -> usize {
        self.current().items.len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Keys of objects whose index `name` has `value`.
    pub fn index_keys(&self, name: &str, value: &str) -> Result<Vec<ObjectKey>, UnknownIndex> {
        if !read(&self.indexers).contains_key(name) {
            return Err(UnknownIndex(name.to_string()));
        }
        let c = self.current();
        let idx = read(&c.indices);
        Ok(idx.get(name).and_then(|v| v.get(value)).map(|keys| keys.iter().cloned().collect()).unwrap_or_default())
    }

    /// Objects whose index `name` has `value`.
    pub fn by_index(&self, name: &str, value: &str) -> Result<Vec<Arc<K>>, UnknownIndex> {
        let keys = self.index_keys(name, value)?;
        let c = self.current();
        Ok(keys.iter().filter_map(|k| c.items.get(k).map(|e| e.value().clone())).collect())
    }

    /// Every value index `name` currently has.
    pub fn list_index_values(&self, name: &str) -> Result<Vec<String>, UnknownIndex> {
        if !read(&self.indexers).contains_key(name) {
            return Err(UnknownIndex(name.to_string()));
        }
        let c = self.current();
        let idx = read(&c.indices);
        Ok(idx.get(name).map(|v| v.keys().cloned().collect()).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::Pod;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ManagedFieldsEntry, ObjectMeta};

    fn pod(ns: &str, name: &str, node: &str) -> Pod {
        Pod {
            metadata: ObjectMeta { name: Some(name.into()), namespace: Some(ns.into()), ..Default::default() },
            spec: Some(k8s_openapi::api::core::v1::PodSpec { node_name: Some(node.into()), ..Default::default() }),
            ..Default::default()
        }
    }

    fn node_of(p: &Pod) -> Vec<String> {
        p.spec.as_ref().and_then(|s| s.node_name.clone()).into_iter().collect()
    }

    fn sorted(mut v: Vec<String>) -> Vec<String> {
        v.sort();
        v
    }

    #[test]
    fn apply_get_delete_and_namespace_index() {
        let s = Store::<Pod>::new();
        s.apply(pod("a", "p1", "n1"));
        s.apply(pod("b", "p2", "n1"));
        assert_eq!(s.len(), 2);
        assert!(s.get(&ObjectKey::namespaced("a", "p1")).is_some());
        assert_eq!(s.by_index(NAMESPACE_INDEX, "a").unwrap().len(), 1);
        let gone = s.delete(&ObjectKey::namespaced("a", "p1")).unwrap();
        assert_eq!(gone.metadata.name.as_deref(), Some("p1"));
        assert!(s.by_index(NAMESPACE_INDEX, "a").unwrap().is_empty());
        assert_eq!(s.list_index_values(NAMESPACE_INDEX).unwrap(), ["b"]);
        assert!(s.by_index("nope", "x").is_err());
    }

    #[test]
    fn indexers_follow_updates_and_can_be_added_late() {
        let s = Store::<Pod>::new();
        s.apply(pod("a", "p1", "n1"));
        s.apply(pod("a", "p2", "n2"));
        s.add_indexer("node", node_of);
        assert_eq!(s.by_index("node", "n1").unwrap().len(), 1);
        s.apply(pod("a", "p1", "n2"));
        assert!(s.by_index("node", "n1").unwrap().is_empty());
        assert_eq!(s.index_keys("node", "n2").unwrap().len(), 2);
        assert_eq!(sorted(s.list_index_values("node").unwrap()), ["n2"]);
    }

    #[test]
    fn replace_swaps_and_reports_missed_deletes() {
        let s = Store::<Pod>::new();
        s.add_indexer("node", node_of);
        s.apply(pod("a", "keep", "n1"));
        s.apply(pod("a", "gone", "n1"));
        let reader = s.clone();
        let diff = s.replace(vec![pod("a", "keep", "n2"), pod("a", "new", "n2")]);
        assert_eq!(diff.added.len(), 1);
        assert_eq!(diff.updated.len(), 1);
        assert_eq!(diff.deleted[0].metadata.name.as_deref(), Some("gone"));
        assert_eq!(reader.len(), 2, "clones see the new content");
        assert!(reader.by_index("node", "n1").unwrap().is_empty());
        assert_eq!(reader.by_index("node", "n2").unwrap().len(), 2);
    }

    #[test]
    fn relists_reuse_unchanged_objects() {
        let s = Store::<Pod>::new();
        let mut p = pod("a", "p", "n");
        p.metadata.resource_version = Some("5".into());
        let (live, _) = s.apply(p.clone());
        s.begin_replace();
        s.push_replace(vec![p.clone()]);
        let mut changed = pod("a", "q", "n");
        changed.metadata.resource_version = Some("6".into());
        s.push_replace(vec![changed]);
        assert_eq!(s.len(), 1, "readers see the old content until the relist finishes");
        let diff = s.finish_replace();
        assert_eq!(s.len(), 2);
        assert!(Arc::ptr_eq(&s.get(&ObjectKey::namespaced("a", "p")).unwrap(), &live));
        assert_eq!((diff.added.len(), diff.updated.len(), diff.deleted.len()), (1, 1, 0));
    }

    #[test]
    fn compact_sheds_spare_capacity_and_keeps_managed_fields() {
        let json = r#"{"metadata":{"name":"a","namespace":"n","managedFields":[{"manager":"m","fieldsType":"FieldsV1","fieldsV1":{"f:metadata":{}}}]},
                "spec":{"containers":[{"name":"c","env":[{"name":"A"},{"name":"B"},{"name":"C"},{"name":"D"},{"name":"E"}]}]}}"#;
        let decoded: Pod = serde_json::from_str(json).unwrap();
        let env = |p: &Pod| p.spec.as_ref().unwrap().containers[0].env.as_ref().unwrap().capacity();
        assert!(env(&decoded) > 5, "serde grows Vecs by doubling");
        let compacted = compact(decoded);
        assert_eq!(compacted, serde_json::from_str::<Pod>(json).unwrap());
        assert_eq!(env(&compacted), 5);
        assert_eq!(compacted.metadata.managed_fields.as_ref().unwrap().capacity(), 1);
    }

    #[test]
    fn transform_runs_before_objects_enter() {
        let s = Store::<Pod>::new().with_transform(drop_managed_fields());
        let mut p = pod("a", "p", "n");
        p.metadata.managed_fields = Some(vec![ManagedFieldsEntry::default()]);
        let (stored, _) = s.apply(p);
        assert!(stored.metadata.managed_fields.is_none());
    }
}

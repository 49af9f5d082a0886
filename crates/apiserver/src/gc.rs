//! Garbage collection by ownerReferences, as kube-controller-manager's garbage collector does
//! it, run synchronously after each write so tests never wait on a controller:
//!
//! - an owner that is gone has its dependents deleted (background), or released when another
//!   owner still holds them;
//! - an owner carrying the `orphan` finalizer has its dependents released, then loses the
//!   finalizer;
//! - an owner carrying `foregroundDeletion` has its dependents deleted and keeps the finalizer
//!   until no dependent that blocks it (`blockOwnerDeletion: true`) exists any more.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use rkube_core::options::{DeleteOptions, PropagationPolicy};
use serde_json::Value;

use crate::meta::{self, meta_mut};
use crate::objects;
use crate::registry::{Registry, ServedResource};
use crate::store::{ObjKey, Store};

/// The finalizer that keeps an owner until its blocking dependents are gone.
pub const FOREGROUND: &str = "foregroundDeletion";
/// The finalizer that keeps an owner until its dependents are released.
pub const ORPHAN: &str = "orphan";

/// Something the collector reacts to.
#[derive(Debug, Clone)]
pub enum Change {
    /// The object with this uid left the store.
    Removed(String),
    /// The object (storage key, object key) may be being deleted with a collector finalizer.
    Deleting(String, ObjKey),
}

/// The collector's memory: owners in foreground deletion still waiting for dependents, so a
/// later write that removes or releases the last blocking dependent lets them go.
#[derive(Default)]
pub struct Collector {
    waiting: Mutex<BTreeMap<String, (String, ObjKey)>>,
}

/// The propagation a delete asks for: explicit, else what the object's finalizers already say
/// (as kube-apiserver keeps an earlier delete's choice), else background.
pub fn policy_of(opts: &DeleteOptions, finalizers: &[String]) -> PropagationPolicy {
    match opts.propagation_policy {
        Some(p) => p,
        None if finalizers.iter().any(|f| f == ORPHAN) => PropagationPolicy::Orphan,
        None if finalizers.iter().any(|f| f == FOREGROUND) => PropagationPolicy::Foreground,
        None => PropagationPolicy::Background,
    }
}

/// An object's finalizers.
pub fn finalizers(obj: &Value) -> Vec<String> {
    obj.pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|f| f.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

fn uid_of(obj: &Value) -> Option<String> {
    obj.pointer("/metadata/uid").and_then(Value::as_str).filter(|u| !u.is_empty()).map(str::to_string)
}

fn owner_refs(obj: &Value) -> Vec<Value> {
    obj.pointer("/metadata/ownerReferences").and_then(Value::as_array).cloned().unwrap_or_default()
}

fn resource(registry: &Registry, storage_key: &str) -> Option<Arc<ServedResource>> {
    registry.all().into_iter().find(|r| r.storage_key() == storage_key && r.storage_version)
}

/// What an ownerReference points at now.
enum Owner {
    /// Missing, or another object under that name (uid differs).
    Absent,
    /// Being deleted in the foreground: it waits for its dependents.
    WaitingForDependents,
    /// Present and not waiting: it keeps the dependent alive.
    Solid,
}

fn owner_state(store: &Store, registry: &Registry, oref: &Value, dependent_ns: &str) -> Owner {
    let field = |k: &str| oref.get(k).and_then(Value::as_str).unwrap_or_default();
    let (group, version) = field("apiVersion").rsplit_once('/').unwrap_or(("", field("apiVersion")));
    let Some(res) =
        registry.all().into_iter().find(|r| r.group == group && r.version == version && r.kind == field("kind"))
    else {
        return Owner::Absent;
    };
    let key = objects::key(&res, Some(dependent_ns), field("name"));
    let Some(stored) = store.get(&res.storage_key(), &key) else { return Owner::Absent };
    let Ok(obj) = serde_json::from_slice::<Value>(&stored.bytes) else { return Owner::Absent };
    if uid_of(&obj).as_deref() != Some(field("uid")) {
        return Owner::Absent;
    }
    if obj.pointer("/metadata/deletionTimestamp").is_some() && finalizers(&obj).iter().any(|f| f == FOREGROUND) {
        Owner::WaitingForDependents
    } else {
        Owner::Solid
    }
}

impl Collector {
    /// Reacts to `changes` and to everything they cause, until nothing more happens.
    pub fn settle(&self, store: &Store, registry: &Registry, changes: Vec<Change>) {
        let mut work: VecDeque<Change> = changes.into();
        loop {
            while let Some(change) = work.pop_front() {
                match change {
                    Change::Removed(uid) => {
                        self.lock().remove(&uid);
                        for (res_key, key) in store.dependents(&uid) {
                            work.extend(self.dependent(store, registry, &uid, &res_key, &key));
                        }
                    }
                    Change::Deleting(res_key, key) => work.extend(self.deleting(store, registry, &res_key, &key)),
                }
            }
            // Owners that were blocked may be free now: their dependents changed or went.
            let waiting: Vec<(String, ObjKey)> = self.lock().values().cloned().collect();
            for (res_key, key) in waiting {
                work.extend(self.deleting(store, registry, &res_key, &key));
            }
            if work.is_empty() {
                return;
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, (String, ObjKey)>> {
        // The map only caches what the store says; a poisoned one is still usable.
        self.waiting.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Handles one object with a deletionTimestamp and a collector finalizer.
    fn deleting(&self, store: &Store, registry: &Registry, res_key: &str, key: &ObjKey) -> Vec<Change> {
        let Some(res) = resource(registry, res_key) else { return Vec::new() };
        let Some(current) = store.get(res_key, key) else { return Vec::new() };
        let Ok(obj) = serde_json::from_slice::<Value>(&current.bytes) else { return Vec::new() };
        let Some(uid) = uid_of(&obj) else { return Vec::new() };
        let fins = finalizers(&obj);
        if obj.pointer("/metadata/deletionTimestamp").is_none() {
            self.lock().remove(&uid);
            return Vec::new();
        }
        if fins.iter().any(|f| f == ORPHAN) {
            for (dep_key, dep) in store.dependents(&uid) {
                if let Some(dep_res) = resource(registry, &dep_key) {
                    release(store, &dep_res, &dep, &uid);
                }
            }
            return drop_finalizer(store, &res, key, ORPHAN);
        }
        if !fins.iter().any(|f| f == FOREGROUND) {
            self.lock().remove(&uid);
            return Vec::new();
        }
        self.lock().insert(uid.clone(), (res_key.to_string(), key.clone()));
        let mut out = Vec::new();
        for (dep_key, dep) in store.dependents(&uid) {
            out.extend(self.dependent(store, registry, &uid, &dep_key, &dep));
        }
        if blocking_dependents(store, &uid) == 0 {
            self.lock().remove(&uid);
            out.extend(drop_finalizer(store, &res, key, FOREGROUND));
        }
        out
    }

    /// Handles a dependent of `owner`, which is gone or waits for its dependents: released
    /// when another owner still holds it, deleted otherwise.
    fn dependent(&self, store: &Store, registry: &Registry, owner: &str, res_key: &str, key: &ObjKey) -> Vec<Change> {
        let Some(res) = resource(registry, res_key) else { return Vec::new() };
        let Some(current) = store.get(res_key, key) else { return Vec::new() };
        let Ok(obj) = serde_json::from_slice::<Value>(&current.bytes) else { return Vec::new() };
        if obj.pointer("/metadata/deletionTimestamp").is_some() {
            // Already going; collector finalizers on it are handled when it was marked.
            return Vec::new();
        }
        let mut waiting_owner = false;
        let mut solid = false;
        for oref in owner_refs(&obj) {
            match owner_state(store, registry, &oref, &key.0) {
                Owner::Solid => solid = true,
                Owner::WaitingForDependents => waiting_owner = true,
                Owner::Absent => {}
            }
        }
        if solid {
            release(store, &res, key, owner);
            return Vec::new();
        }
        // Dependents of an owner deleted in the foreground go in the foreground too when
        // they have dependents of their own, so the whole chain is gone before the owner.
        let fins = finalizers(&obj);
        let has_dependents = || uid_of(&obj).is_some_and(|u| !store.dependents(&u).is_empty());
        let policy = if waiting_owner && has_dependents() {
            PropagationPolicy::Foreground
        } else {
            policy_of(&DeleteOptions::default(), &fins)
        };
        let opts = DeleteOptions { propagation_policy: Some(policy), ..DeleteOptions::default() };
        match objects::delete(store, &res, key, &opts) {
            Ok(objects::Deleted::Gone(last)) => {
                let last: Value = serde_json::from_slice(&last.bytes).unwrap_or_default();
                uid_of(&last).map(Change::Removed).into_iter().collect()
            }
            Ok(objects::Deleted::Terminating(_)) => vec![Change::Deleting(res_key.to_string(), key.clone())],
            Err(_) => Vec::new(),
        }
    }
}

/// How many dependents of `owner` still exist with `blockOwnerDeletion: true` towards it.
fn blocking_dependents(store: &Store, owner: &str) -> usize {
    store
        .dependent_objects(owner)
        .iter()
        .filter(|bytes| {
            let obj: Value = serde_json::from_slice(bytes).unwrap_or_default();
            owner_refs(&obj).iter().any(|r| {
                r.get("uid").and_then(Value::as_str) == Some(owner)
                    && r.get("blockOwnerDeletion").and_then(Value::as_bool) == Some(true)
            })
        })
        .count()
}

/// Removes a collector finalizer. An object left without finalizers is deleted instead of
/// written, as kube-apiserver deletes when an update empties them: watchers see DELETED only.
fn drop_finalizer(store: &Store, res: &ServedResource, key: &ObjKey, finalizer: &str) -> Vec<Change> {
    let mut last_one = false;
    let _ = store.write::<()>(&res.storage_key(), key, |prev, rv| {
        let Some(prev) = prev else { return Ok(None) };
        let mut obj: Value = serde_json::from_slice(&prev.bytes).map_err(|_| ())?;
        let m = meta_mut(obj.as_object_mut().ok_or(())?);
        let Some(list) = m.get_mut("finalizers").and_then(Value::as_array_mut) else { return Ok(None) };
        let before = list.len();
        list.retain(|f| f.as_str() != Some(finalizer));
        if list.len() == before {
            return Ok(None);
        }
        if list.is_empty() {
            last_one = true;
            return Ok(None);
        }
        m.insert("resourceVersion".into(), rv.to_string().into());
        let attrs = meta::attrs(res, &obj);
        Ok(Some((serde_json::to_vec(&obj).map_err(|_| ())?, attrs)))
    });
    if !last_one {
        return Vec::new();
    }
    match objects::remove(store, res, key) {
        Some(last) => {
            let last: Value = serde_json::from_slice(&last.bytes).unwrap_or_default();
            uid_of(&last).map(Change::Removed).into_iter().collect()
        }
        None => Vec::new(),
    }
}

/// Drops `owner` from a dependent's ownerReferences.
fn release(store: &Store, res: &ServedResource, key: &ObjKey, owner: &str) {
    let _ = store.write::<()>(&res.storage_key(), key, |prev, rv| {
        let Some(prev) = prev else { return Ok(None) };
        let mut obj: Value = serde_json::from_slice(&prev.bytes).map_err(|_| ())?;
        let m = meta_mut(obj.as_object_mut().ok_or(())?);
        let Some(refs) = m.get_mut("ownerReferences").and_then(Value::as_array_mut) else { return Ok(None) };
        let before = refs.len();
        refs.retain(|r| r.get("uid").and_then(Value::as_str) != Some(owner));
        if refs.len() == before {
            return Ok(None);
        }
        if refs.is_empty() {
            m.remove("ownerReferences");
        }
        m.insert("resourceVersion".into(), rv.to_string().into());
        let attrs = meta::attrs(res, &obj);
        Ok(Some((serde_json::to_vec(&obj).map_err(|_| ())?, attrs)))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_follows_options_then_finalizers() {
        let none = DeleteOptions::default();
        assert_eq!(policy_of(&none, &[]), PropagationPolicy::Background);
        assert_eq!(policy_of(&none, &["a".into(), ORPHAN.into()]), PropagationPolicy::Orphan);
        assert_eq!(policy_of(&none, &[FOREGROUND.into()]), PropagationPolicy::Foreground);
        assert_eq!(policy_of(&DeleteOptions::background(), &[FOREGROUND.into()]), PropagationPolicy::Background);
    }
}

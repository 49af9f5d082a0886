//! Garbage collection by ownerReferences, as kube-controller-manager's garbage collector does
//! it: when an owner is deleted its dependents are deleted (background and foreground
//! propagation) or released (orphan propagation).

use rkube_core::options::{DeleteOptions, PropagationPolicy};
use serde_json::Value;

use crate::meta::{self, meta_mut};
use crate::objects;
use crate::registry::Registry;
use crate::store::{Store, WriteOutcome};

/// Handles the dependents of the deleted object `uid`.
pub fn collect(store: &Store, registry: &Registry, uid: &str, policy: Option<PropagationPolicy>) {
    let orphan = policy == Some(PropagationPolicy::Orphan);
    let resources = registry.all();
    let mut pending = vec![uid.to_string()];
    while let Some(owner) = pending.pop() {
        for (res_key, key) in store.dependents(&owner) {
            let Some(res) = resources.iter().find(|r| r.storage_key() == res_key && r.storage_version) else {
                continue;
            };
            let Some(current) = store.get(&res_key, &key) else { continue };
            let others = current.attrs.owners.iter().filter(|o| **o != owner).count();
            if orphan || others > 0 {
                release(store, res, &key, &owner);
                continue;
            }
            let dependent_uid = serde_json::from_slice::<Value>(&current.bytes)
                .ok()
                .and_then(|v| v.pointer("/metadata/uid").and_then(Value::as_str).map(str::to_string));
            if let Ok(objects::Deleted::Gone(_)) = objects::delete(store, res, &key, &DeleteOptions::background()) {
                pending.extend(dependent_uid);
            }
        }
    }
}

fn release(store: &Store, res: &crate::registry::ServedResource, key: &crate::store::ObjKey, owner: &str) {
    let _ = store
        .write::<()>(&res.storage_key(), key, |prev, rv| {
            let Some(prev) = prev else { return Ok(None) };
            let mut obj: Value = serde_json::from_slice(&prev.bytes).map_err(|_| ())?;
            let m = meta_mut(obj.as_object_mut().ok_or(())?);
            if let Some(refs) = m.get_mut("ownerReferences").and_then(Value::as_array_mut) {
                refs.retain(|r| r.get("uid").and_then(Value::as_str) != Some(owner));
                if refs.is_empty() {
                    m.remove("ownerReferences");
                }
            }
            m.insert("resourceVersion".into(), rv.to_string().into());
            let attrs = meta::attrs(res, &obj);
            Ok(Some((serde_json::to_vec(&obj).map_err(|_| ())?, attrs)))
        })
        .map(|o| matches!(o, WriteOutcome::Written(_)));
}

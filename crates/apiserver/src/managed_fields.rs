//! `metadata.managedFields`: which manager owns which fields, in the FieldsV1 format, with
//! structured-merge-diff's rules as kube-apiserver applies them:
//!
//! - Update operations (create, update, patch) give the manager the fields the write added
//!   or changed; other managers lose those fields (updates always win);
//! - Apply operations (server-side apply) give the applier exactly the fields of its
//!   configuration; fields another manager owns with a different value are conflicts (409
//!   unless `force=true`, which transfers them); fields the applier owned before and no longer
//!   applies are removed from the object unless someone else owns them;
//! - `apiVersion`, `kind` and server-set metadata (name, namespace, uid, resourceVersion,
//!   generation, creationTimestamp, managedFields) are never owned; entries left without
//!   fields are dropped; entries are ordered Apply before Update, then by time and manager.
//!
//! Lists are atomic unless the schema makes them associative: for built-in kinds the merge
//! keys of the strategic-merge table (`k:{"name":"c"}` items, `v:"x"` set members), for
//! custom resources `x-kubernetes-list-type: map | set` with `x-kubernetes-list-map-keys`.

use std::collections::{BTreeMap, BTreeSet};

use rkube_core::Status;
use rkube_core::status::{StatusCause, StatusDetails, reason};
use serde_json::{Map, Value, json};

use crate::registry::ServedResource;

/// One path element in FieldsV1 spelling: `f:name`, `k:{"name":"c"}` or `v:"x"`.
type Path = Vec<String>;

/// Leaves carry their value (for change detection); inner nodes carry None.
type Flat = BTreeMap<Path, Option<Value>>;

enum ListType {
    Atomic,
    Set,
    Map(Vec<String>),
}

/// What decides list types below a value.
#[derive(Clone, Copy)]
enum Ctx<'a> {
    Builtin(&'a str),
    Custom,
}

fn list_type(ctx: Ctx<'_>, fields: &[String], schema: Option<&Value>) -> ListType {
    match ctx {
        Ctx::Builtin(kind) => {
            let names: Vec<&str> = fields.iter().map(String::as_str).collect();
            match crate::strategic_merge::list_merge_key(kind, &names) {
                Some("") => ListType::Set,
                Some(k) => ListType::Map(vec![k.to_string()]),
                None => ListType::Atomic,
            }
        }
        // Object metadata follows ObjectMeta's rules whatever the kind.
        Ctx::Custom if fields.first().is_some_and(|f| f == "metadata") => {
            let names: Vec<&str> = fields.iter().map(String::as_str).collect();
            match crate::strategic_merge::list_merge_key("Object", &names) {
                Some("") => ListType::Set,
                Some(k) => ListType::Map(vec![k.to_string()]),
                None => ListType::Atomic,
            }
        }
        Ctx::Custom => match schema.and_then(|s| s.get("x-kubernetes-list-type")).and_then(Value::as_str) {
            Some("set") => ListType::Set,
            Some("map") => {
                let keys = schema
                    .and_then(|s| s.get("x-kubernetes-list-map-keys"))
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(|k| k.as_str().map(String::from)).collect())
                    .unwrap_or_default();
                ListType::Map(keys)
            }
            _ => ListType::Atomic,
        },
    }
}

fn sub_schema<'a>(schema: Option<&'a Value>, field: &str) -> Option<&'a Value> {
    let s = schema?;
    s.get("properties").and_then(|p| p.get(field)).or_else(|| s.get("additionalProperties").filter(|a| a.is_object()))
}

fn flatten_into(
    ctx: Ctx<'_>,
    value: &Value,
    path: &Path,
    fields: &mut Vec<String>,
    schema: Option<&Value>,
    out: &mut Flat,
) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            if !path.is_empty() {
                out.insert(path.clone(), None);
            }
            for (k, v) in map {
                let mut p = path.clone();
                p.push(format!("f:{k}"));
                fields.push(k.clone());
                flatten_into(ctx, v, &p, fields, sub_schema(schema, k), out);
                fields.pop();
            }
        }
        Value::Array(items) if !items.is_empty() => {
            let item_schema = schema.and_then(|s| s.get("items"));
            match list_type(ctx, fields, schema) {
                ListType::Set if items.iter().all(|i| !i.is_object() && !i.is_array()) => {
                    out.insert(path.clone(), None);
                    for i in items {
                        let mut p = path.clone();
                        p.push(format!("v:{i}"));
                        out.insert(p, Some(i.clone()));
                    }
                }
                ListType::Map(keys)
                    if !keys.is_empty()
                        && items.iter().all(|i| keys.iter().all(|k| i.get(k).is_some_and(|v| !v.is_object()))) =>
                {
                    out.insert(path.clone(), None);
                    for i in items {
                        let key: Map<String, Value> = keys.iter().map(|k| (k.clone(), i[k].clone())).collect();
                        let mut p = path.clone();
                        p.push(format!("k:{}", Value::Object(key)));
                        match i {
                            Value::Object(m) if !m.is_empty() => flatten_into(ctx, i, &p, fields, item_schema, out),
                            _ => {
                                out.insert(p, Some(i.clone()));
                            }
                        }
                    }
                }
                _ => {
                    out.insert(path.clone(), Some(value.clone()));
                }
            }
        }
        _ => {
            out.insert(path.clone(), Some(value.clone()));
        }
    }
}

fn stripped(p: &Path) -> bool {
    match p.first().map(String::as_str) {
        Some("f:apiVersion" | "f:kind") => true,
        Some("f:metadata") => {
            p.len() == 1
                || matches!(
                    p[1].as_str(),
                    "f:name"
                        | "f:namespace"
                        | "f:creationTimestamp"
                        | "f:selfLink"
                        | "f:uid"
                        | "f:clusterName"
                        | "f:generation"
                        | "f:managedFields"
                        | "f:resourceVersion"
                        | "f:deletionTimestamp"
                        | "f:deletionGracePeriodSeconds"
                )
        }
        _ => false,
    }
}

fn flatten(res: &ServedResource, value: &Value) -> Flat {
    let ctx = if res.is_builtin() { Ctx::Builtin(&res.kind) } else { Ctx::Custom };
    let schema = res.schema.as_ref().filter(|_| !res.is_builtin());
    let mut out = Flat::new();
    flatten_into(ctx, value, &Vec::new(), &mut Vec::new(), schema, &mut out);
    out.retain(|p, _| !stripped(p));
    out
}

/// A manager's entry: identity, its fields and when it last wrote.
#[derive(Debug, Clone)]
struct Entry {
    manager: String,
    operation: String,
    api_version: String,
    subresource: String,
    time: String,
    set: BTreeSet<Path>,
}

impl Entry {
    fn same_identity(&self, other: &Entry) -> bool {
        self.manager == other.manager
            && self.operation == other.operation
            && self.subresource == other.subresource
            && (self.operation == "Apply" || self.api_version == other.api_version)
    }
}

fn parse_fields(v: &Value, path: &mut Path, out: &mut BTreeSet<Path>) {
    let Some(map) = v.as_object() else { return };
    if map.is_empty() && !path.is_empty() {
        out.insert(path.clone());
        return;
    }
    for (k, child) in map {
        if k == "." {
            out.insert(path.clone());
            continue;
        }
        path.push(k.clone());
        parse_fields(child, path, out);
        path.pop();
    }
}

fn entries_of(obj: &Value) -> Vec<Entry> {
    let s = |e: &Value, k: &str| e.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    obj.pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .map(|e| {
                    let mut set = BTreeSet::new();
                    parse_fields(e.get("fieldsV1").unwrap_or(&Value::Null), &mut Vec::new(), &mut set);
                    Entry {
                        manager: s(e, "manager"),
                        operation: s(e, "operation"),
                        api_version: s(e, "apiVersion"),
                        subresource: s(e, "subresource"),
                        time: s(e, "time"),
                        set,
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

fn fields_v1(set: &BTreeSet<Path>) -> Value {
    let mut root = Map::new();
    for path in set {
        let mut cur = &mut root;
        for seg in path {
            cur = cur.entry(seg.clone()).or_insert_with(|| json!({})).as_object_mut().expect("object");
        }
        // A member that also has children is marked with ".".
        let _ = cur;
    }
    // Second pass: mark members that have children.
    for path in set {
        let mut cur = &mut root;
        for seg in path {
            cur = cur.get_mut(seg).and_then(Value::as_object_mut).expect("inserted above");
        }
        if !cur.is_empty() && !cur.contains_key(".") {
            cur.insert(".".into(), json!({}));
        }
    }
    Value::Object(root)
}

fn render(mut entries: Vec<Entry>) -> Value {
    entries.retain(|e| !e.set.is_empty());
    entries.sort_by(|a, b| {
        (a.operation.as_str(), a.time.as_str(), a.manager.as_str(), a.api_version.as_str(), a.subresource.as_str()).cmp(
            &(
                b.operation.as_str(),
                b.time.as_str(),
                b.manager.as_str(),
                b.api_version.as_str(),
                b.subresource.as_str(),
            ),
        )
    });
    Value::Array(
        entries
            .into_iter()
            .map(|e| {
                let mut m = json!({"manager": e.manager, "operation": e.operation, "apiVersion": e.api_version,
                                   "time": e.time, "fieldsType": "FieldsV1", "fieldsV1": fields_v1(&e.set)});
                if !e.subresource.is_empty() {
                    m["subresource"] = e.subresource.into();
                }
                m
            })
            .collect(),
    )
}

/// Who is writing: the manager name, the operation's subresource and the API version.
pub struct Writer<'a> {
    /// fieldManager, or the User-Agent's product name.
    pub manager: &'a str,
    /// "" or "status" / "scale".
    pub subresource: &'a str,
    /// The request's group/version.
    pub api_version: String,
}

fn compare(old: &Flat, new: &Flat) -> (BTreeSet<Path>, BTreeSet<Path>) {
    let mut changed = BTreeSet::new();
    for (p, v) in new {
        match old.get(p) {
            None => {
                changed.insert(p.clone());
            }
            Some(o) if o != v => {
                changed.insert(p.clone());
            }
            _ => {}
        }
    }
    let removed = old.keys().filter(|p| !new.contains_key(*p)).cloned().collect();
    (changed, removed)
}

/// Sets `new`'s managedFields after an Update-type write (create, update, patch).
pub fn record_update(res: &ServedResource, old: Option<&Value>, new: &mut Value, w: &Writer<'_>, now: &str) {
    let before = old.map(|o| flatten(res, o)).unwrap_or_default();
    let after = flatten(res, new);
    let (changed, removed) = compare(&before, &after);
    let mut entries = old.map(entries_of).unwrap_or_default();
    let me = Entry {
        manager: w.manager.to_string(),
        operation: "Update".into(),
        api_version: w.api_version.clone(),
        subresource: w.subresource.to_string(),
        time: now.to_string(),
        set: BTreeSet::new(),
    };
    let mut found = false;
    for e in entries.iter_mut() {
        if e.same_identity(&me) {
            found = true;
            e.set = e.set.difference(&removed).cloned().collect::<BTreeSet<_>>().union(&changed).cloned().collect();
            if !changed.is_empty() || !removed.is_empty() {
                e.time = now.to_string();
            }
        } else {
            e.set = e.set.difference(&changed).filter(|p| !removed.contains(*p)).cloned().collect();
        }
    }
    if !found {
        entries.push(Entry { set: changed, ..me });
    }
    set_entries(new, entries);
}

fn set_entries(obj: &mut Value, entries: Vec<Entry>) {
    let rendered = render(entries);
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        if rendered.as_array().is_some_and(|a| a.is_empty()) {
            meta.remove("managedFields");
        } else {
            meta.insert("managedFields".into(), rendered);
        }
    }
}

/// The fields an apply configuration sets: its leaves and associative list items.
fn applied_set(res: &ServedResource, config: &Value) -> BTreeSet<Path> {
    flatten(res, config)
        .into_iter()
        .filter(|(p, v)| v.is_some() || p.last().is_some_and(|s| s.starts_with("k:")))
        .map(|(p, _)| p)
        .collect()
}

fn path_string(p: &Path) -> String {
    let mut out = String::new();
    for seg in p {
        if let Some(f) = seg.strip_prefix("f:") {
            out.push('.');
            out.push_str(f);
        } else if let Some(k) = seg.strip_prefix("k:") {
            let m: Map<String, Value> = serde_json::from_str(k).unwrap_or_default();
            let parts: Vec<String> = m.iter().map(|(k, v)| format!("{k}={v}")).collect();
            out.push_str(&format!("[{}]", parts.join(",")));
        } else if let Some(v) = seg.strip_prefix("v:") {
            out.push_str(&format!("[={v}]"));
        }
    }
    out
}

fn conflict_status(conflicts: &[(String, Path)], entries: &[Entry]) -> Status {
    let who = |m: &str| -> String {
        let e = entries.iter().find(|e| e.manager == m);
        let mut s = format!("\"{m}\"");
        if let Some(e) = e {
            if !e.subresource.is_empty() {
                s.push_str(&format!(" with subresource \"{}\"", e.subresource));
            }
            if e.operation == "Update" {
                s.push_str(&format!(" using {}", e.api_version));
                if !e.time.is_empty() {
                    s.push_str(&format!(" at {}", e.time));
                }
            }
        }
        s
    };
    let causes: Vec<StatusCause> = conflicts
        .iter()
        .map(|(m, p)| StatusCause {
            reason: "FieldManagerConflict".into(),
            message: format!("conflict with {}", who(m)),
            field: path_string(p),
        })
        .collect();
    let message = if conflicts.len() == 1 {
        format!(
            "Apply failed with 1 conflict: conflict with {}: {}",
            who(&conflicts[0].0),
            path_string(&conflicts[0].1)
        )
    } else {
        let mut by: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for (m, p) in conflicts {
            by.entry(m).or_default().push(path_string(p));
        }
        let mut lines = Vec::new();
        for (m, paths) in by {
            lines.push(format!("conflicts with {}:", who(m)));
            lines.extend(paths.into_iter().map(|p| format!("- {p}")));
        }
        format!("Apply failed with {} conflicts: {}", conflicts.len(), lines.join("\n"))
    };
    let mut s = Status::failure(409, reason::CONFLICT, message);
    s.details = Some(StatusDetails { causes, ..Default::default() });
    s
}

fn remove_path(obj: &mut Value, p: &[String]) {
    let Some((first, rest)) = p.split_first() else { return };
    if let Some(f) = first.strip_prefix("f:") {
        let Some(map) = obj.as_object_mut() else { return };
        if rest.is_empty() {
            map.remove(f);
        } else if let Some(child) = map.get_mut(f) {
            remove_path(child, rest);
        }
    } else if let Some(items) = obj.as_array_mut() {
        let matches = |i: &Value| -> bool {
            if let Some(k) = first.strip_prefix("k:") {
                let key: Map<String, Value> = serde_json::from_str(k).unwrap_or_default();
                key.iter().all(|(k, v)| i.get(k) == Some(v))
            } else if let Some(v) = first.strip_prefix("v:") {
                serde_json::from_str::<Value>(v).is_ok_and(|v| &v == i)
            } else {
                false
            }
        };
        if rest.is_empty() {
            items.retain(|i| !matches(i));
        } else if let Some(i) = items.iter_mut().find(|i| matches(i)) {
            remove_path(i, rest);
        }
    }
}

/// Server-side apply bookkeeping: checks conflicts of `merged` (the live object with the
/// configuration merged in) against other managers, removes fields the applier dropped,
/// and records the applier's set. `live` is None when the apply creates the object.
pub fn record_apply(
    res: &ServedResource,
    live: Option<&Value>,
    config: &Value,
    merged: &mut Value,
    w: &Writer<'_>,
    force: bool,
    now: &str,
) -> Result<(), Status> {
    let mut entries = live.map(entries_of).unwrap_or_default();
    let me = Entry {
        manager: w.manager.to_string(),
        operation: "Apply".into(),
        api_version: w.api_version.clone(),
        subresource: w.subresource.to_string(),
        time: now.to_string(),
        set: applied_set(res, config),
    };
    let previous = entries.iter().find(|e| e.same_identity(&me)).cloned();
    let last: BTreeSet<Path> = previous.as_ref().map(|e| e.set.clone()).unwrap_or_default();
    let mut me = me;
    if let Some(p) = previous.filter(|p| p.set == me.set) {
        // Re-applying the same configuration is a no-op, time included.
        me.time = p.time;
        me.api_version = p.api_version;
    }
    // Fields dropped from the configuration go unless another manager keeps them.
    for p in last.difference(&me.set) {
        let kept = entries.iter().any(|e| !e.same_identity(&me) && e.set.contains(p));
        if !kept {
            remove_path(merged, p);
        }
    }
    let before = live.map(|l| flatten(res, l)).unwrap_or_default();
    let after = flatten(res, merged);
    let (changed, removed) = compare(&before, &after);
    let mut conflicts = Vec::new();
    for e in entries.iter().filter(|e| !e.same_identity(&me)) {
        for p in e.set.intersection(&changed) {
            if me.set.contains(p) {
                conflicts.push((e.manager.clone(), p.clone()));
            }
        }
    }
    if !conflicts.is_empty() && !force {
        return Err(conflict_status(&conflicts, &entries));
    }
    for e in entries.iter_mut().filter(|e| !e.same_identity(&me)) {
        e.set = e.set.difference(&changed).filter(|p| !removed.contains(*p)).cloned().collect();
    }
    entries.retain(|e| !e.same_identity(&me));
    entries.push(me);
    set_entries(merged, entries);
    Ok(())
}

/// The manager name kube-apiserver derives from a User-Agent when no fieldManager is given.
pub fn manager_from_user_agent(ua: &str) -> String {
    ua.split('/').next().unwrap_or_default().chars().take(128).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn widget() -> ServedResource {
        let mut r = crate::registry::Registry::new().lookup("", "v1", "configmaps").unwrap().as_ref().clone();
        r.builtin = None;
        r.group = "example.com".into();
        r.kind = "Widget".into();
        r
    }

    #[test]
    fn create_owns_everything_set() {
        let res = widget();
        let mut obj = json!({"apiVersion": "example.com/v1", "kind": "Widget",
            "metadata": {"name": "w", "labels": {"app": "x"}}, "spec": {"size": 3, "tags": ["a"]}});
        let w = Writer { manager: "m", subresource: "", api_version: "example.com/v1".into() };
        record_update(&res, None, &mut obj, &w, "T");
        assert_eq!(
            obj["metadata"]["managedFields"],
            json!([{"manager": "m", "operation": "Update", "apiVersion": "example.com/v1", "time": "T",
                    "fieldsType": "FieldsV1",
                    "fieldsV1": {"f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                                 "f:spec": {".": {}, "f:size": {}, "f:tags": {}}}}])
        );
    }

    #[test]
    fn apply_conflicts_and_force() {
        let res = widget();
        let w1 = Writer { manager: "m1", subresource: "", api_version: "example.com/v1".into() };
        let config = json!({"spec": {"size": 2, "color": "blue"}});
        let mut live = json!({"metadata": {}, "spec": config["spec"].clone()});
        record_apply(&res, None, &config, &mut live, &w1, false, "T").unwrap();
        let w2 = Writer { manager: "m2", subresource: "", api_version: "example.com/v1".into() };
        let c2 = json!({"spec": {"size": 8}});
        let mut merged = json!({"spec": {"size": 8, "color": "blue"}, "metadata": live["metadata"].clone()});
        let err = record_apply(&res, Some(&live), &c2, &mut merged.clone(), &w2, false, "T").unwrap_err();
        assert_eq!(err.code, 409);
        assert_eq!(err.message, "Apply failed with 1 conflict: conflict with \"m1\": .spec.size");
        record_apply(&res, Some(&live), &c2, &mut merged, &w2, true, "T").unwrap();
        let mf = merged["metadata"]["managedFields"].as_array().unwrap();
        assert_eq!(mf.len(), 2);
        assert_eq!(mf[0]["fieldsV1"], json!({"f:spec": {"f:color": {}}}));
        assert_eq!(mf[1]["fieldsV1"], json!({"f:spec": {"f:size": {}}}));
    }
}

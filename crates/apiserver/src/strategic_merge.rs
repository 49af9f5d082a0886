//! Strategic merge patch (`application/strategic-merge-patch+json`) over `serde_json::Value`
//! for built-in kinds, with apimachinery's `strategicpatch` semantics as kube-apiserver
//! applies them (`StrategicMergeMapPatch` with parallel lists merged and unmatched nulls
//! ignored):
//!
//! - objects merge recursively; a `null` value deletes the field;
//! - lists whose field declares `patchStrategy:"merge"` merge: lists of objects by their
//!   `patchMergeKey` (`containers` by `name`, `ports` by `containerPort` ...), lists of
//!   scalars as a set union (`finalizers`); all other lists are replaced;
//! - directives: `$patch: replace | delete` in an object, `{"$patch": "replace"}` and
//!   `{"$patch": "delete", <key>: <value>}` elements in merging lists,
//!   `$deleteFromPrimitiveList/<field>`, `$setElementOrder/<field>` and `$retainKeys`;
//! - the order of merged lists follows apimachinery: `$setElementOrder` first, then the
//!   order in the patch, then the order in the live object.
//!
//! The patch metadata (merge strategies and keys) comes from a small schema table keyed by
//! type and JSON field name, taken from the `patchStrategy` / `patchMergeKey` tags of
//! k8s.io/api. It covers: ObjectMeta (`finalizers` as a set, `ownerReferences` by `uid`);
//! PodSpec, reached from Pods and from the pod templates of Deployments, ReplicaSets,
//! StatefulSets, DaemonSets, Jobs and CronJobs (`containers`, `initContainers`,
//! `ephemeralContainers`, `volumes`, `imagePullSecrets`, `schedulingGates`, `resourceClaims`,
//! `evictionResponders` by `name`; `hostAliases` by `ip`; `topologySpreadConstraints` by
//! `topologyKey`; `tolerations` replaced); Container (`ports` by `containerPort`, `env` by `name`,
//! `volumeMounts` by `mountPath`, `volumeDevices` by `devicePath`); PodStatus (`conditions`
//! by `type`, `podIPs` / `hostIPs` by `ip`, `resourceClaimStatuses` by `name`,
//! `nodeAllocatableResourceClaimStatuses` by `resourceClaimName`); the status `conditions` of workloads, Jobs,
//! Services, Nodes and Namespaces by `type`; Service `spec.ports` by `port`; Node
//! `status.addresses` by `type` and `spec.podCIDRs` as a set; ServiceAccount `secrets` by
//! `name`. Fields outside the table merge as objects and replace as lists.
//!
//! Errors are reported as [`StrategicMergeError`]; the function never panics.

use serde_json::{Map, Value};

const DIRECTIVE_MARKER: &str = "$patch";
const DELETE_DIRECTIVE: &str = "delete";
const REPLACE_DIRECTIVE: &str = "replace";
const MERGE_DIRECTIVE: &str = "merge";
const DELETE_FROM_PRIMITIVE_LIST_PREFIX: &str = "$deleteFromPrimitiveList";
const RETAIN_KEYS_DIRECTIVE: &str = "$retainKeys";
const SET_ELEMENT_ORDER_PREFIX: &str = "$setElementOrder";

/// Why a strategic merge patch could not be applied; messages follow apimachinery's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StrategicMergeError {
    /// The patch or the original document is not a JSON object.
    #[error("invalid JSON document")]
    BadJsonDoc,
    /// A `$patch` directive with an unknown value.
    #[error("unknown patch type: {directive} in map: {map}")]
    BadPatchType {
        /// The directive value found.
        directive: String,
        /// The object that carried it.
        map: String,
    },
    /// A list element lacks the merge key its list declares.
    #[error("map: {map} does not contain declared merge key: {key}")]
    NoMergeKey {
        /// The element without the key.
        map: String,
        /// The declared merge key.
        key: String,
    },
    /// `$deleteFromPrimitiveList` not of the form `$deleteFromPrimitiveList/<field>`.
    #[error("invalid patch format of primitive list")]
    BadPrimitiveList,
    /// `$retainKeys` not a list, or the patch sets a field missing from it.
    #[error("invalid patch format of retainKeys")]
    BadRetainKeys,
    /// `$setElementOrder` malformed (not `$setElementOrder/<field>` or not a list).
    #[error("invalid patch format of setElementOrder list")]
    BadSetElementOrder,
    /// The patch list's order contradicts its `$setElementOrder` list.
    #[error("the order in patch list {patch} doesn't match $setElementOrder list {order}")]
    SetElementOrderMismatch {
        /// The patch list.
        patch: String,
        /// The `$setElementOrder` list.
        order: String,
    },
    /// A merging list whose elements are lists.
    #[error("lists of lists are not supported")]
    ListOfLists,
    /// A merging list whose elements are of different JSON types.
    #[error("list element types are not identical: {0}")]
    MixedListElements(String),
    /// A `$setElementOrder` for a list that is empty in both documents.
    #[error("no elements in any of the given slices")]
    NoElements,
    /// A merging list of objects whose field declares no merge key.
    #[error("cannot merge lists without merge key for {0}")]
    NoMergeKeyDeclared(String),
    /// `{"$patch": "merge"}` inside a list, which apimachinery does not support.
    #[error("merging lists cannot yet be specified in the patch")]
    MergeDirectiveInList,
    /// A value of the wrong JSON type where a list or object was required.
    #[error("expected a {expected}, but received a {actual}")]
    BadArgType {
        /// What was required.
        expected: &'static str,
        /// What was found.
        actual: &'static str,
    },
}

/// Whether strategic merge patch is defined for this kind. It is for every built-in kind;
/// custom resources answer 415 Unsupported Media Type instead.
pub fn supports_kind(group: &str, kind: &str) -> bool {
    crate::catalog::builtin_resources().iter().any(|r| r.group == group && r.kind == kind)
}

/// How a list field of built-in `kind` merges, for managed-fields paths: `Some(key)` for a
/// list of objects merged by `key`, `Some("")` for a set of scalars, `None` for an atomic
/// list. `path` lists the field names from the object's root (list items add no element).
pub fn list_merge_key(kind: &str, path: &[&str]) -> Option<&'static str> {
    let mut ty = root_type(kind);
    let mut meta = PLAIN;
    for field in path {
        meta = field_meta(ty, field);
        ty = meta.child;
    }
    meta.merge.then_some(meta.key)
}

/// Applies the strategic merge `patch` to `original`, an object of built-in `kind`
/// (e.g. `Pod`, `Deployment`), and returns the patched object. Neither input is modified.
pub fn strategic_merge_patch(kind: &str, original: &Value, patch: &Value) -> Result<Value, StrategicMergeError> {
    let (Value::Object(original), Value::Object(patch)) = (original, patch) else {
        return Err(StrategicMergeError::BadJsonDoc);
    };
    merge_map(original.clone(), patch.clone(), root_type(kind)).map(Value::Object)
}

// ---------------------------------------------------------------------------------------
// Schema: patch strategies and merge keys per (type, field).
// ---------------------------------------------------------------------------------------

/// Patch metadata of one field: whether its list merges, by which key, and the type of its
/// value (object fields) or elements (list fields). `""` is the unknown type.
#[derive(Debug, Clone, Copy)]
struct FieldMeta {
    merge: bool,
    key: &'static str,
    child: &'static str,
}

const PLAIN: FieldMeta = FieldMeta { merge: false, key: "", child: "" };

const fn child(ty: &'static str) -> FieldMeta {
    FieldMeta { merge: false, key: "", child: ty }
}

const fn merge_by(key: &'static str, ty: &'static str) -> FieldMeta {
    FieldMeta { merge: true, key, child: ty }
}

/// The schema type name of a kind's top-level object.
fn root_type(kind: &str) -> &'static str {
    match kind {
        "Pod" => "Pod",
        "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet" => "Workload",
        "Job" => "Job",
        "CronJob" => "CronJob",
        "Service" => "Service",
        "Node" => "Node",
        "Namespace" => "Namespace",
        "ServiceAccount" => "ServiceAccount",
        _ => "Object",
    }
}

fn field_meta(ty: &str, field: &str) -> FieldMeta {
    match (ty, field) {
        (
            "Pod" | "Workload" | "Job" | "CronJob" | "Service" | "Node" | "Namespace" | "ServiceAccount" | "Object"
            | "PodTemplateSpec" | "JobTemplateSpec",
            "metadata",
        ) => child("ObjectMeta"),
        ("ObjectMeta", "finalizers") => merge_by("", ""),
        ("ObjectMeta", "ownerReferences") => merge_by("uid", ""),

        ("Pod", "spec") | ("PodTemplateSpec", "spec") => child("PodSpec"),
        ("Pod", "status") => child("PodStatus"),
        ("Workload", "spec") => child("WorkloadSpec"),
        ("Workload", "status") => child("Conditions"),
        ("WorkloadSpec", "template") | ("JobSpec", "template") => child("PodTemplateSpec"),
        ("Job", "spec") | ("JobTemplateSpec", "spec") => child("JobSpec"),
        ("Job", "status") => child("Conditions"),
        ("CronJob", "spec") => child("CronJobSpec"),
        ("CronJobSpec", "jobTemplate") => child("JobTemplateSpec"),
        ("Service", "spec") => child("ServiceSpec"),
        ("Service", "status") | ("Namespace", "status") => child("Conditions"),
        ("ServiceSpec", "ports") => merge_by("port", ""),
        ("Node", "spec") => child("NodeSpec"),
        ("Node", "status") => child("NodeStatus"),
        ("NodeSpec", "podCIDRs") => merge_by("", ""),
        ("NodeStatus", "addresses") => merge_by("type", ""),
        ("NodeStatus" | "Conditions" | "PodStatus", "conditions") => merge_by("type", ""),
        ("ServiceAccount", "secrets") => merge_by("name", ""),

        ("PodSpec", "containers" | "initContainers" | "ephemeralContainers") => merge_by("name", "Container"),
        ("PodSpec", "volumes" | "imagePullSecrets" | "schedulingGates" | "resourceClaims" | "evictionResponders") => {
            merge_by("name", "")
        }
        ("PodSpec", "hostAliases") => merge_by("ip", ""),
        ("PodSpec", "topologySpreadConstraints") => merge_by("topologyKey", ""),
        ("Container", "ports") => merge_by("containerPort", ""),
        ("Container", "env") => merge_by("name", ""),
        ("Container", "volumeMounts") => merge_by("mountPath", ""),
        ("Container", "volumeDevices") => merge_by("devicePath", ""),
        ("PodStatus", "podIPs" | "hostIPs") => merge_by("ip", ""),
        ("PodStatus", "resourceClaimStatuses") => merge_by("name", ""),
        ("PodStatus", "nodeAllocatableResourceClaimStatuses") => merge_by("resourceClaimName", ""),
        _ => PLAIN,
    }
}

// ---------------------------------------------------------------------------------------
// Merging.
// ---------------------------------------------------------------------------------------

/// JSON type of a value, the analogue of Go's reflect type of a decoded JSON value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JsonKind {
    Null,
    Bool,
    Number,
    String,
    Array,
    Object,
}

fn kind_of(v: &Value) -> JsonKind {
    match v {
        Value::Null => JsonKind::Null,
        Value::Bool(_) => JsonKind::Bool,
        Value::Number(_) => JsonKind::Number,
        Value::String(_) => JsonKind::String,
        Value::Array(_) => JsonKind::Array,
        Value::Object(_) => JsonKind::Object,
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "nil",
        Value::Bool(_) => "bool",
        Value::Number(_) => "float64",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

fn render(map: &Map<String, Value>) -> String {
    serde_json::to_string(map).unwrap_or_default()
}

fn merge_map(
    mut original: Map<String, Value>,
    mut patch: Map<String, Value>,
    ty: &'static str,
) -> Result<Map<String, Value>, StrategicMergeError> {
    if let Some(directive) = patch.get(DIRECTIVE_MARKER) {
        return match directive.as_str() {
            Some(REPLACE_DIRECTIVE) => {
                patch.remove(DIRECTIVE_MARKER);
                Ok(patch)
            }
            Some(DELETE_DIRECTIVE) => Ok(Map::new()),
            _ => Err(StrategicMergeError::BadPatchType { directive: directive_string(directive), map: render(&patch) }),
        };
    }

    apply_retain_keys(&mut original, &mut patch)?;
    merge_set_element_order(&mut original, &mut patch, ty)?;

    for (key, patch_v) in patch {
        let (key, is_delete_list) = match key.strip_prefix(DELETE_FROM_PRIMITIVE_LIST_PREFIX) {
            Some(rest) => match rest.strip_prefix('/') {
                Some("") => (key.clone(), true),
                Some(field) => (field.to_string(), true),
                None => return Err(StrategicMergeError::BadPrimitiveList),
            },
            None => (key, false),
        };

        if patch_v.is_null() {
            original.remove(&key);
            continue;
        }

        let Some(orig_v) = original.get_mut(&key) else {
            if !is_delete_list {
                insert_patch_value(&mut original, key, patch_v);
            }
            continue;
        };

        if kind_of(orig_v) != kind_of(&patch_v) {
            if !is_delete_list {
                insert_patch_value(&mut original, key, patch_v);
            }
            continue;
        }

        match patch_v {
            Value::Object(patch_map) => {
                let meta = field_meta(ty, &key);
                let orig_map = match orig_v.take() {
                    Value::Object(m) => m,
                    _ => Map::new(),
                };
                *orig_v = Value::Object(merge_map(orig_map, patch_map, meta.child)?);
            }
            Value::Array(patch_list) => {
                let meta = field_meta(ty, &key);
                if meta.merge || is_delete_list {
                    let orig_list = match orig_v.take() {
                        Value::Array(l) => l,
                        _ => Vec::new(),
                    };
                    *orig_v = Value::Array(merge_slice(orig_list, patch_list, meta, &key, is_delete_list)?);
                } else {
                    *orig_v = Value::Array(patch_list);
                }
            }
            scalar => *orig_v = scalar,
        }
    }
    Ok(original)
}

/// Stores a patch value that does not merge with anything: nulls inside it are dropped and
/// directives removed (a value that is itself a directive is not stored at all).
fn insert_patch_value(original: &mut Map<String, Value>, key: String, mut value: Value) {
    discard_nulls(&mut value);
    match remove_directives(value) {
        Some(v) => {
            original.insert(key, v);
        }
        None => {
            original.remove(&key);
        }
    }
}

fn directive_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn discard_nulls(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, v| !v.is_null());
            m.values_mut().for_each(discard_nulls);
        }
        Value::Array(l) => l.iter_mut().for_each(discard_nulls),
        _ => {}
    }
}

/// Removes directive objects from a value; `None` when the value itself is a directive.
fn remove_directives(v: Value) -> Option<Value> {
    match v {
        Value::Object(m) => {
            if m.contains_key(DIRECTIVE_MARKER) {
                return None;
            }
            let cleaned = m.into_iter().filter_map(|(k, v)| remove_directives(v).map(|v| (k, v))).collect();
            Some(Value::Object(cleaned))
        }
        Value::Array(l) => Some(Value::Array(l.into_iter().filter_map(remove_directives).collect())),
        other => Some(other),
    }
}

fn apply_retain_keys(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
) -> Result<(), StrategicMergeError> {
    let Some(retain) = patch.remove(RETAIN_KEYS_DIRECTIVE) else {
        return Ok(());
    };
    let Value::Array(retain) = retain else {
        return Err(StrategicMergeError::BadRetainKeys);
    };
    let retained = |k: &str| retain.iter().any(|v| v.as_str() == Some(k));
    for (k, v) in patch.iter() {
        if v.is_null() || k.starts_with(DELETE_FROM_PRIMITIVE_LIST_PREFIX) || k.starts_with(SET_ELEMENT_ORDER_PREFIX) {
            continue;
        }
        if !retained(k) {
            return Err(StrategicMergeError::BadRetainKeys);
        }
    }
    original.retain(|k, _| retained(k));
    Ok(())
}

fn merge_set_element_order(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
    ty: &'static str,
) -> Result<(), StrategicMergeError> {
    let order_keys: Vec<String> = patch.keys().filter(|k| k.starts_with(SET_ELEMENT_ORDER_PREFIX)).cloned().collect();
    for order_key in order_keys {
        let Some(order_v) = patch.remove(&order_key) else {
            continue;
        };
        let Value::Array(order) = order_v else {
            return Err(StrategicMergeError::BadArgType { expected: "[]interface {}", actual: type_name(&order_v) });
        };
        let field = match order_key.strip_prefix(SET_ELEMENT_ORDER_PREFIX).and_then(|r| r.strip_prefix('/')) {
            Some(f) => f.to_string(),
            None => return Err(StrategicMergeError::BadSetElementOrder),
        };
        let orig_list = match original.get(&field) {
            None => None,
            Some(Value::Array(l)) => Some(l.clone()),
            Some(other) => {
                return Err(StrategicMergeError::BadArgType { expected: "[]interface {}", actual: type_name(other) });
            }
        };
        let patch_list = match patch.get(&field) {
            None => None,
            Some(Value::Array(l)) => Some(l.clone()),
            Some(other) => {
                return Err(StrategicMergeError::BadArgType { expected: "[]interface {}", actual: type_name(other) });
            }
        };
        let meta = field_meta(ty, &field);
        validate_patch_with_order(patch_list.as_deref().unwrap_or(&[]), &order, meta.key)?;

        let merged = match (&orig_list, &patch_list) {
            (Some(o), None) => o.clone(),
            (None, Some(p)) => match remove_directives(Value::Array(p.clone())) {
                Some(Value::Array(l)) => l,
                _ => continue,
            },
            (Some(o), Some(p)) => {
                if meta.merge {
                    merge_slice(o.clone(), p.clone(), meta, &field, false)?
                } else {
                    p.clone()
                }
            }
            (None, None) => continue,
        };

        let (patch_items, server_only) = if meta.key.is_empty() {
            partition_primitives(merged, &order)
        } else {
            partition_maps(merged, &order, meta.key)?
        };
        let server_order = match (&orig_list, &patch_list) {
            (Some(o), Some(p)) if meta.merge && !meta.key.is_empty() => live_order_after_merge(o, p, meta.key),
            _ => orig_list.clone().unwrap_or_default(),
        };
        let orig_list = orig_list.unwrap_or_default();
        let kind = slice_element_kind(&orig_list, patch_list.as_deref().unwrap_or(&[]))?;
        let ordered = normalize_element_order(patch_items, server_only, &order, &server_order, meta.key, kind)?;
        original.insert(field.clone(), Value::Array(ordered));
        patch.remove(&field);
    }
    Ok(())
}

fn merge_key_value_equal(left: &Value, right: &Value, key: &str) -> Result<bool, StrategicMergeError> {
    if key.is_empty() {
        return Ok(left == right);
    }
    let (Value::Object(l), Value::Object(r)) = (left, right) else {
        let bad = if left.is_object() { right } else { left };
        return Err(StrategicMergeError::BadArgType { expected: "map[string]interface {}", actual: type_name(bad) });
    };
    let lv = l.get(key).ok_or_else(|| no_merge_key(l, key))?;
    let rv = r.get(key).ok_or_else(|| no_merge_key(r, key))?;
    Ok(lv == rv)
}

fn no_merge_key(map: &Map<String, Value>, key: &str) -> StrategicMergeError {
    StrategicMergeError::NoMergeKey { map: render(map), key: key.to_string() }
}

fn is_directive(v: &Value) -> bool {
    v.as_object().is_some_and(|m| m.contains_key(DIRECTIVE_MARKER))
}

fn is_delete_element(v: &Value) -> bool {
    v.get(DIRECTIVE_MARKER).and_then(Value::as_str) == Some(DELETE_DIRECTIVE)
}

fn validate_patch_with_order(patch: &[Value], order: &[Value], key: &str) -> Result<(), StrategicMergeError> {
    if patch.is_empty() || order.is_empty() {
        return Ok(());
    }
    let non_delete: Vec<&Value> = if key.is_empty() {
        patch.iter().collect()
    } else {
        let mut out = Vec::new();
        for v in patch {
            if !v.is_object() {
                return Err(StrategicMergeError::BadArgType {
                    expected: "map[string]interface {}",
                    actual: type_name(v),
                });
            }
            if !is_delete_element(v) {
                out.push(v);
            }
        }
        out
    };
    let (mut pi, mut oi) = (0, 0);
    while pi < non_delete.len() && oi < order.len() {
        if is_directive(non_delete[pi]) {
            pi += 1;
            continue;
        }
        if merge_key_value_equal(non_delete[pi], &order[oi], key)? {
            pi += 1;
        }
        oi += 1;
    }
    if pi < non_delete.len() && oi >= order.len() {
        return Err(StrategicMergeError::SetElementOrderMismatch {
            patch: Value::Array(patch.to_vec()).to_string(),
            order: Value::Array(order.to_vec()).to_string(),
        });
    }
    Ok(())
}

/// The common element type of the lists; errors on lists of lists and mixed types.
fn slice_element_kind(a: &[Value], b: &[Value]) -> Result<JsonKind, StrategicMergeError> {
    let mut prev: Option<JsonKind> = None;
    for v in a.iter().chain(b) {
        let k = kind_of(v);
        match prev {
            None => {
                if k == JsonKind::Array {
                    return Err(StrategicMergeError::ListOfLists);
                }
                prev = Some(k);
            }
            Some(p) if p != k => {
                return Err(StrategicMergeError::MixedListElements(format!(
                    "{} {}",
                    Value::Array(a.to_vec()),
                    Value::Array(b.to_vec())
                )));
            }
            Some(_) => {}
        }
    }
    prev.ok_or(StrategicMergeError::NoElements)
}

fn merge_slice(
    original: Vec<Value>,
    patch: Vec<Value>,
    meta: FieldMeta,
    field: &str,
    is_delete_list: bool,
) -> Result<Vec<Value>, StrategicMergeError> {
    if original.is_empty() && patch.is_empty() {
        return Ok(original);
    }
    let kind = slice_element_kind(&original, &patch)?;
    let key = meta.key;
    let (original, patch, merged) = if kind != JsonKind::Object {
        if is_delete_list {
            return Ok(original.into_iter().filter(|v| !patch.contains(v)).collect());
        }
        let mut both = original.clone();
        both.extend(patch.iter().cloned());
        let merged = deduplicate_scalars(both);
        (original, patch, merged)
    } else {
        if key.is_empty() {
            return Err(StrategicMergeError::NoMergeKeyDeclared(field.to_string()));
        }
        let (original, patch) = merge_slice_special_elements(original, patch, key)?;
        let merged = merge_slice_plain_elements(original.clone(), &patch, key, meta.child)?;
        (original, patch, merged)
    };

    let (patch_items, server_only) =
        if key.is_empty() { partition_primitives(merged, &patch) } else { partition_maps(merged, &patch, key)? };
    normalize_element_order(patch_items, server_only, &patch, &original, key, kind)
}

/// The live order apimachinery compares against after merging a `$setElementOrder` list.
///
/// apimachinery deletes `$patch: delete` elements from the live list and appends new
/// elements to it in place, so the live list it later uses for ordering sees the shifted
/// elements and, in the slots freed by deletions, the appended ones. Its results (and
/// upstream's expectations) depend on that, so this replays it on the merge keys.
fn live_order_after_merge(original: &[Value], patch: &[Value], key: &str) -> Vec<Value> {
    let n = original.len();
    let mut live = original.to_vec();
    let mut len = n;
    let mut replace = false;
    for v in patch {
        match v.get(DIRECTIVE_MARKER).and_then(Value::as_str) {
            Some(DELETE_DIRECTIVE) => {
                let Some(target) = v.get(key) else { return live };
                while let Some(k) = live[..len].iter().position(|o| o.get(key) == Some(target)) {
                    for i in k..len - 1 {
                        live[i] = live[i + 1].clone();
                    }
                    len -= 1;
                }
            }
            Some(REPLACE_DIRECTIVE) => replace = true,
            Some(_) => return live,
            None => {}
        }
    }
    if replace {
        return live;
    }
    for v in patch.iter().filter(|v| !is_directive(v)) {
        let Some(value) = v.get(key) else { return live };
        if live[..len].iter().any(|o| o.get(key) == Some(value)) {
            continue;
        }
        if len == n {
            break;
        }
        live[len] = v.clone();
        len += 1;
    }
    live
}

/// apimachinery's in-place deduplication, which keeps the first occurrence but moves the
/// last element into the place of a removed duplicate; the order is normalized afterwards.
fn deduplicate_scalars(mut s: Vec<Value>) -> Vec<Value> {
    let mut i = 0;
    while i + 1 < s.len() {
        let mut j = i + 1;
        while j < s.len() {
            if s[i] == s[j] {
                let last = s.len() - 1;
                s.swap(j, last);
                s.pop();
            } else {
                j += 1;
            }
        }
        i += 1;
    }
    s
}

/// Applies `$patch` elements of a merging list of objects: `delete` removes the matching
/// live elements, `replace` makes the rest of the patch list the whole list.
/// Returns the updated original and the patch without directive elements.
fn merge_slice_special_elements(
    mut original: Vec<Value>,
    patch: Vec<Value>,
    key: &str,
) -> Result<(Vec<Value>, Vec<Value>), StrategicMergeError> {
    let mut plain = Vec::with_capacity(patch.len());
    let mut replace = false;
    for v in patch {
        let Value::Object(m) = &v else {
            plain.push(v);
            continue;
        };
        let Some(directive) = m.get(DIRECTIVE_MARKER) else {
            plain.push(v);
            continue;
        };
        match directive.as_str() {
            Some(DELETE_DIRECTIVE) => {
                let Some(target) = m.get(key) else {
                    return Err(no_merge_key(m, key));
                };
                original.retain(|o| o.get(key) != Some(target));
            }
            Some(REPLACE_DIRECTIVE) => replace = true,
            Some(MERGE_DIRECTIVE) => return Err(StrategicMergeError::MergeDirectiveInList),
            _ => {
                return Err(StrategicMergeError::BadPatchType {
                    directive: directive_string(directive),
                    map: render(m),
                });
            }
        }
    }
    if replace { Ok((plain, Vec::new())) } else { Ok((original, plain)) }
}

/// Merges each patch element into the live element with the same merge key value, or
/// appends it.
fn merge_slice_plain_elements(
    mut original: Vec<Value>,
    patch: &[Value],
    key: &str,
    child: &'static str,
) -> Result<Vec<Value>, StrategicMergeError> {
    for v in patch {
        let Value::Object(pm) = v else {
            return Err(StrategicMergeError::BadArgType { expected: "map[string]interface {}", actual: type_name(v) });
        };
        let Some(key_value) = pm.get(key) else {
            return Err(no_merge_key(pm, key));
        };
        match original.iter().position(|o| o.get(key) == Some(key_value)) {
            Some(i) => {
                let om = match original[i].take() {
                    Value::Object(m) => m,
                    _ => Map::new(),
                };
                original[i] = Value::Object(merge_map(om, pm.clone(), child)?);
            }
            None => original.push(v.clone()),
        }
    }
    Ok(original)
}

fn partition_primitives(merged: Vec<Value>, by: &[Value]) -> (Vec<Value>, Vec<Value>) {
    merged.into_iter().partition(|v| by.contains(v))
}

fn partition_maps(
    merged: Vec<Value>,
    by: &[Value],
    key: &str,
) -> Result<(Vec<Value>, Vec<Value>), StrategicMergeError> {
    let mut in_patch = Vec::new();
    let mut server_only = Vec::new();
    for v in merged {
        let Value::Object(m) = &v else {
            return Err(StrategicMergeError::BadArgType { expected: "map[string]interface {}", actual: type_name(&v) });
        };
        let Some(kv) = m.get(key) else {
            return Err(no_merge_key(m, key));
        };
        let mut found = false;
        for b in by {
            let Value::Object(bm) = b else {
                return Err(StrategicMergeError::BadArgType {
                    expected: "map[string]interface {}",
                    actual: type_name(b),
                });
            };
            if bm.get(key) == Some(kv) {
                found = true;
                break;
            }
        }
        if found {
            in_patch.push(v);
        } else {
            server_only.push(v);
        }
    }
    Ok((in_patch, server_only))
}

/// Position of `item` in `list`, comparing merge key values for objects and whole values
/// otherwise.
fn index_of(list: &[Value], item: &Value, key: &str, kind: JsonKind) -> Option<usize> {
    if kind == JsonKind::Object {
        let wanted = item.get(key);
        list.iter().position(|v| v.get(key) == wanted)
    } else {
        list.iter().position(|v| v == item)
    }
}

fn normalize_element_order(
    patch: Vec<Value>,
    server_only: Vec<Value>,
    patch_order: &[Value],
    server_order: &[Value],
    key: &str,
    kind: JsonKind,
) -> Result<Vec<Value>, StrategicMergeError> {
    let patch = normalize_slice_order(patch, patch_order, key, kind)?;
    let server_only = normalize_slice_order(server_only, server_order, key, kind)?;
    Ok(merge_sorted(server_only, patch, server_order, key, kind))
}

fn normalize_slice_order(
    to_sort: Vec<Value>,
    order: &[Value],
    key: &str,
    kind: JsonKind,
) -> Result<Vec<Value>, StrategicMergeError> {
    let (mut to_sort, to_delete) = if kind == JsonKind::Object {
        for v in to_sort.iter().chain(order) {
            let Value::Object(m) = v else {
                return Err(StrategicMergeError::BadArgType {
                    expected: "map[string]interface {}",
                    actual: type_name(v),
                });
            };
            if !m.contains_key(key) {
                return Err(no_merge_key(m, key));
            }
        }
        to_sort.into_iter().partition(|v| !is_delete_element(v))
    } else {
        (to_sort, Vec::new())
    };
    // Every element is present in `order` here (the lists were partitioned by it), so
    // sorting by position is a total order; unknown elements keep their place at the end.
    to_sort.sort_by_key(|v| index_of(order, v, key, kind).unwrap_or(usize::MAX));
    to_sort.extend(to_delete);
    Ok(to_sort)
}

/// Interleaves server-only items (`left`) into the patch items (`right`), keeping the
/// relative order of each and using the live order to place server-only items.
fn merge_sorted(left: Vec<Value>, right: Vec<Value>, server_order: &[Value], key: &str, kind: JsonKind) -> Vec<Value> {
    let mut out = Vec::with_capacity(left.len() + right.len());
    let mut left = left.into_iter().peekable();
    let mut right = right.into_iter().peekable();
    loop {
        match (left.peek(), right.peek()) {
            (None, None) => break,
            (Some(_), None) => out.extend(left.next()),
            (None, Some(_)) => out.extend(right.next()),
            (Some(l), Some(r)) => {
                let li = index_of(server_order, l, key, kind);
                let ri = index_of(server_order, r, key, kind);
                let left_first = matches!((li, ri), (Some(li), Some(ri)) if li < ri);
                if left_first {
                    out.extend(left.next());
                } else {
                    out.extend(right.next());
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn smp(kind: &str, original: Value, patch: Value) -> Value {
        strategic_merge_patch(kind, &original, &patch).expect("patch applies")
    }

    #[test]
    fn containers_merge_by_name() {
        let pod = json!({"spec": {"containers": [
            {"name": "a", "image": "a:1"},
            {"name": "b", "image": "b:1"}
        ]}});
        let out = smp(
            "Pod",
            pod,
            json!({"spec": {"containers": [{"name": "b", "image": "b:2"}, {"name": "c", "image": "c:1"}]}}),
        );
        assert_eq!(
            out["spec"]["containers"],
            json!([
                {"name": "a", "image": "a:1"},
                {"name": "b", "image": "b:2"},
                {"name": "c", "image": "c:1"}
            ])
        );
    }

    #[test]
    fn env_merges_by_name_inside_deployment_template() {
        let d = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "app", "image": "x", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}
        ]}}}});
        let out = smp(
            "Deployment",
            d,
            json!({"spec": {"template": {"spec": {"containers": [
                {"name": "app", "env": [{"name": "B", "value": "3"}, {"name": "C", "value": "4"}]}
            ]}}}}),
        );
        let c = &out["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(c["image"], "x");
        assert_eq!(
            c["env"],
            json!([{"name": "A", "value": "1"}, {"name": "B", "value": "3"}, {"name": "C", "value": "4"}])
        );
    }

    #[test]
    fn null_deletes_and_maps_merge() {
        let cm = json!({"metadata": {"labels": {"a": "1", "b": "2"}}, "data": {"x": "1"}});
        let out = smp("ConfigMap", cm, json!({"metadata": {"labels": {"a": null, "c": "3"}}, "data": null}));
        assert_eq!(out, json!({"metadata": {"labels": {"b": "2", "c": "3"}}}));
    }

    #[test]
    fn lists_without_merge_key_are_replaced() {
        let pod = json!({"spec": {"tolerations": [{"key": "a"}], "containers": [
            {"name": "c", "args": ["x", "y"]}]}});
        let out = smp(
            "Pod",
            pod,
            json!({"spec": {"tolerations": [{"key": "b"}], "containers": [{"name": "c", "args": ["z"]}]}}),
        );
        assert_eq!(out["spec"]["tolerations"], json!([{"key": "b"}]));
        assert_eq!(out["spec"]["containers"][0]["args"], json!(["z"]));
    }

    #[test]
    fn patch_delete_and_replace_directives() {
        let pod = json!({"spec": {"containers": [{"name": "a"}, {"name": "b"}], "securityContext": {"runAsUser": 1, "fsGroup": 2}}});
        let out = smp("Pod", pod.clone(), json!({"spec": {"containers": [{"name": "a", "$patch": "delete"}]}}));
        assert_eq!(out["spec"]["containers"], json!([{"name": "b"}]));

        let out = smp("Pod", pod.clone(), json!({"spec": {"containers": [{"name": "z"}, {"$patch": "replace"}]}}));
        assert_eq!(out["spec"]["containers"], json!([{"name": "z"}]));

        let out = smp("Pod", pod.clone(), json!({"spec": {"securityContext": {"$patch": "replace", "runAsUser": 5}}}));
        assert_eq!(out["spec"]["securityContext"], json!({"runAsUser": 5}));

        let out = smp("Pod", pod, json!({"spec": {"securityContext": {"$patch": "delete"}}}));
        assert_eq!(out["spec"]["securityContext"], json!({}));
    }

    #[test]
    fn finalizers_merge_as_set_and_delete_from_primitive_list() {
        let obj = json!({"metadata": {"finalizers": ["a", "b"]}});
        let out = smp("ConfigMap", obj.clone(), json!({"metadata": {"finalizers": ["b", "c"]}}));
        assert_eq!(out["metadata"]["finalizers"], json!(["a", "b", "c"]));
        let out = smp("ConfigMap", obj, json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}}));
        assert_eq!(out["metadata"]["finalizers"], json!(["b"]));
    }

    #[test]
    fn set_element_order() {
        let pod = json!({"spec": {"containers": [{"name": "a"}, {"name": "b"}, {"name": "c"}]}});
        let out = smp(
            "Pod",
            pod,
            json!({"spec": {
                "$setElementOrder/containers": [{"name": "c"}, {"name": "a"}, {"name": "b"}],
                "containers": [{"name": "c", "image": "new"}]
            }}),
        );
        assert_eq!(out["spec"]["containers"], json!([{"name": "c", "image": "new"}, {"name": "a"}, {"name": "b"}]));
    }

    #[test]
    fn set_element_order_with_delete_and_add_keeps_apimachinery_order() {
        // apimachinery replays deletions and appends on the live list in place; the
        // resulting order is what kube-apiserver returns for such kubectl apply patches.
        let pod =
            json!({"spec": {"containers": [{"name": "a"}, {"name": "b", "image": "b"}, {"name": "d", "image": "d"}]}});
        let out = smp(
            "Pod",
            pod,
            json!({"spec": {
                "$setElementOrder/containers": [{"name": "b"}, {"name": "c"}],
                "containers": [{"name": "c"}, {"name": "a", "$patch": "delete"}]
            }}),
        );
        assert_eq!(
            out["spec"]["containers"],
            json!([{"name": "b", "image": "b"}, {"name": "d", "image": "d"}, {"name": "c"}])
        );
    }

    #[test]
    fn new_list_items_go_before_remaining_live_items() {
        let obj = json!({"metadata": {"finalizers": ["a", "b"]}});
        let out = smp("ConfigMap", obj, json!({"metadata": {"finalizers": ["c"]}}));
        assert_eq!(out["metadata"]["finalizers"], json!(["c", "a", "b"]));
    }

    #[test]
    fn retain_keys() {
        let d = json!({"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}});
        let out = smp("Deployment", d, json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}));
        assert_eq!(out["spec"]["strategy"], json!({"type": "Recreate"}));
    }

    #[test]
    fn other_merge_keys() {
        let svc = json!({"spec": {"ports": [{"port": 80, "name": "http"}, {"port": 443}]}});
        let out = smp("Service", svc, json!({"spec": {"ports": [{"port": 80, "targetPort": 8080}]}}));
        assert_eq!(out["spec"]["ports"], json!([{"port": 80, "name": "http", "targetPort": 8080}, {"port": 443}]));
        let pod = json!({"status": {"conditions": [{"type": "Ready", "status": "False"}]},
                         "metadata": {"ownerReferences": [{"uid": "1", "name": "x"}]}});
        let out = smp(
            "Pod",
            pod,
            json!({"status": {"conditions": [{"type": "Ready", "status": "True"}]},
                   "metadata": {"ownerReferences": [{"uid": "2", "name": "y"}]}}),
        );
        assert_eq!(out["status"]["conditions"], json!([{"type": "Ready", "status": "True"}]));
        assert_eq!(out["metadata"]["ownerReferences"].as_array().map(Vec::len), Some(2));
    }

    #[test]
    fn errors() {
        let pod = json!({"spec": {"containers": [{"name": "a"}]}});
        let err = strategic_merge_patch("Pod", &pod, &json!({"spec": {"containers": [{"image": "x"}]}})).unwrap_err();
        assert!(matches!(err, StrategicMergeError::NoMergeKey { ref key, .. } if key == "name"));
        let err = strategic_merge_patch("Pod", &pod, &json!({"spec": {"$patch": "bogus"}})).unwrap_err();
        assert!(matches!(err, StrategicMergeError::BadPatchType { .. }));
        let err = strategic_merge_patch("Pod", &pod, &json!([1])).unwrap_err();
        assert_eq!(err, StrategicMergeError::BadJsonDoc);
        let err =
            strategic_merge_patch("Pod", &pod, &json!({"spec": {"containers": [{"name": "a", "$patch": "merge"}]}}))
                .unwrap_err();
        assert_eq!(err, StrategicMergeError::MergeDirectiveInList);
        let err = strategic_merge_patch("Pod", &pod, &json!({"spec": {"$deleteFromPrimitiveListx": []}})).unwrap_err();
        assert_eq!(err, StrategicMergeError::BadPrimitiveList);
        assert!(supports_kind("apps", "Deployment"));
        assert!(!supports_kind("example.com", "Widget"));
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let key = prop_oneof![
            Just("$patch".to_string()),
            Just("$retainKeys".to_string()),
            Just("$setElementOrder/containers".to_string()),
            Just("$deleteFromPrimitiveList/finalizers".to_string()),
            Just("spec".to_string()),
            Just("containers".to_string()),
            Just("name".to_string()),
            Just("metadata".to_string()),
            Just("finalizers".to_string()),
            Just("env".to_string()),
            "[a-z]{1,3}".prop_map(|s| s),
        ];
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i32>().prop_map(|i| json!(i)),
            prop_oneof![
                Just("delete".to_string()),
                Just("replace".to_string()),
                Just("merge".to_string()),
                "[a-z]{0,3}".prop_map(|s| s),
            ]
            .prop_map(Value::String),
        ];
        leaf.prop_recursive(5, 64, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::vec((key.clone(), inner), 0..5)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    /// JSON without arrays or `$` keys, where strategic merge is plain JSON merge patch.
    fn arb_plain_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i32>().prop_map(|i| json!(i)),
            "[a-z]{0,3}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 4, |inner| {
            prop::collection::vec(("[a-d]{1,2}", inner), 0..4).prop_map(|kv| Value::Object(kv.into_iter().collect()))
        })
    }

    proptest! {
        #[test]
        fn plain_patches_behave_like_json_merge_patch(original in arb_plain_json(), patch in arb_plain_json()) {
            let (Value::Object(_), Value::Object(_)) = (&original, &patch) else { return Ok(()) };
            let mut expected = original.clone();
            json_patch::merge(&mut expected, &patch);
            prop_assert_eq!(strategic_merge_patch("ConfigMap", &original, &patch).expect("applies"), expected);
        }

        #[test]
        fn never_panics(original in arb_json(), patch in arb_json()) {
            for kind in ["Pod", "Deployment", "ConfigMap"] {
                let _ = strategic_merge_patch(kind, &original, &patch);
                let wrapped_o = json!({"spec": original.clone(), "metadata": original.clone()});
                let wrapped_p = json!({"spec": patch.clone(), "metadata": patch.clone()});
                let _ = strategic_merge_patch(kind, &wrapped_o, &wrapped_p);
            }
        }
    }
}

//! Single-object verbs: create, get, update (replace), patch and delete, with kube-apiserver's
//! rules for names, namespaces, resourceVersions, generations, status and scale subresources,
//! finalizers and field validation.

use std::sync::Arc;

use bytes::Bytes;
use rkube_core::options::{DeleteOptions, FieldValidation, PropagationPolicy, WriteOptions};
use rkube_core::status::{StatusCause, StatusDetails, reason};
use rkube_core::{Status, patch::content_type};
use serde_json::{Map, Value, json};

use crate::builtin;
use crate::gc;
use crate::managed_fields;
use crate::meta::{self, meta_mut, meta_str};
use crate::registry::ServedResource;
use crate::store::{ObjKey, Store, Stored, WriteOutcome};
use crate::strategic_merge;

/// The outcome of a write, for the HTTP layer.
#[derive(Debug)]
pub struct Written {
    /// 200 or 201.
    pub created: bool,
    /// The object's bytes as served.
    pub body: Bytes,
    /// Warning headers (unknown fields under fieldValidation=Warn).
    pub warnings: Vec<String>,
    /// The object's last state when this write removed its last finalizer during deletion,
    /// which removes the object.
    pub removed: Option<Stored>,
}

/// A patch body with its content type.
pub struct PatchBody<'a> {
    /// The request's Content-Type (parameters stripped).
    pub content_type: &'a str,
    /// The body.
    pub body: &'a [u8],
}

/// What a write does to the current object.
enum Change<'a> {
    Create(Value),
    /// Server-side apply of a configuration to an object that does not exist yet.
    ApplyCreate(Value),
    Replace(Value),
    Patch(PatchBody<'a>),
}

/// A stored custom object as served at `res`'s version: custom resources use conversion
/// strategy None, so only `apiVersion` changes. Built-in kinds and objects already at this
/// version are passed through without parsing.
pub fn served_as(res: &ServedResource, bytes: Bytes) -> Bytes {
    if res.is_builtin() {
        return bytes;
    }
    let want = res.api_version();
    let marker = format!("\"apiVersion\":\"{want}\"");
    if bytes.windows(marker.len()).any(|w| w == marker.as_bytes()) {
        return bytes;
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(mut v) if v.is_object() => {
            v["apiVersion"] = want.into();
            serde_json::to_vec(&v).map(Bytes::from).unwrap_or(bytes)
        }
        _ => bytes,
    }
}

/// A JSON syntax error in the words of Go's encoding/json, which clients match on.
pub fn go_json_error(e: &serde_json::Error, input: &[u8]) -> String {
    use serde_json::error::Category;
    // serde reports 1-based line and column; find the offending byte.
    let offset = {
        let mut line = 1;
        let mut col = 0;
        let mut at = input.len();
        for (i, b) in input.iter().enumerate() {
            if *b == b'\n' {
                line += 1;
                col = 0;
                continue;
            }
            col += 1;
            if line == e.line() && col == e.column() {
                at = i;
                break;
            }
        }
        at
    };
    let ch = match input.get(offset) {
        Some(b) if b.is_ascii_graphic() || *b == b' ' => format!("'{}'", *b as char),
        Some(b) => format!("'\\x{b:02x}'"),
        None => String::new(),
    };
    let text = e.to_string();
    match e.classify() {
        Category::Eof => "unexpected end of JSON input".to_string(),
        Category::Syntax if text.starts_with("key must be a string") && !ch.is_empty() => {
            format!("invalid character {ch} looking for beginning of object key string")
        }
        Category::Syntax if text.starts_with("expected value") && !ch.is_empty() => {
            format!("invalid character {ch} looking for beginning of value")
        }
        _ => text,
    }
}

/// The key of an object in its resource.
pub fn key(res: &ServedResource, namespace: Option<&str>, name: &str) -> ObjKey {
    let ns = if res.namespaced { namespace.unwrap_or_default() } else { "" };
    (ns.to_string(), name.to_string())
}

/// Parses a JSON request body into an object, with kube-apiserver's messages.
pub fn decode_body(res: &ServedResource, body: &[u8]) -> Result<Value, Status> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        let mut detail = go_json_error(&e, body);
        if body.len() <= 256 {
            detail.push_str(&format!(" ({})", String::from_utf8_lossy(body)));
        }
        Status::bad_request(format!(
            "the object provided is unrecognized (must be of type {}): couldn't get version/kind; json parse error: {detail}",
            res.kind
        ))
    })?;
    if !value.is_object() {
        return Err(Status::bad_request(format!(
            "the object provided is unrecognized (must be of type {}): couldn't get version/kind; json parse error: expected an object",
            res.kind
        )));
    }
    Ok(value)
}

fn check_type(res: &ServedResource, subresource: Option<&str>, obj: &mut Value) -> Result<(), Status> {
    let (want_api, want_kind) = match subresource {
        Some("scale") => ("autoscaling/v1".to_string(), "Scale".to_string()),
        _ => (res.api_version(), res.kind.clone()),
    };
    let map = obj.as_object_mut().expect("checked object");
    let kind = map.get("kind").and_then(Value::as_str).unwrap_or_default().to_string();
    let api = map.get("apiVersion").and_then(Value::as_str).unwrap_or_default().to_string();
    if kind.is_empty() {
        map.insert("kind".into(), want_kind.clone().into());
    } else if kind != want_kind {
        // kube-apiserver qualifies the error with the kind the body claims.
        let mut s = invalid(res, &name_of(obj), "kind", &format!("Invalid value: \"{kind}\": must be {want_kind}"));
        s.message = s.message.replacen(&res.kind, &kind, 1);
        if let Some(d) = s.details.as_mut() {
            d.kind = kind.clone();
        }
        return Err(s);
    }
    if api.is_empty() {
        obj["apiVersion"] = want_api.into();
    } else if api != want_api {
        return Err(Status::bad_request(format!(
            "the API version in the data ({api}) does not match the expected API version ({want_api})"
        )));
    }
    Ok(())
}

fn name_of(obj: &Value) -> String {
    meta_str(obj, "name").unwrap_or_default().to_string()
}

fn invalid(res: &ServedResource, name: &str, field: &str, message: &str) -> Status {
    let reason = if message.starts_with("Required value") {
        "FieldValueRequired"
    } else if message.starts_with("Forbidden") {
        "FieldValueForbidden"
    } else {
        "FieldValueInvalid"
    };
    Status::invalid(
        &res.kind,
        &res.group,
        name,
        vec![StatusCause { reason: reason.into(), message: message.into(), field: field.into() }],
    )
}

/// Validates a built-in kind by its typed round trip; returns the normalised object.
fn normalize(
    res: &ServedResource,
    obj: Value,
    validation: FieldValidation,
    warnings: &mut Vec<String>,
) -> Result<Value, Status> {
    let mut obj = obj;
    if !res.is_builtin() {
        if let Some(schema) = &res.schema {
            let pruned = crate::schema::prune(schema, &mut obj);
            if !pruned.is_empty() && validation != FieldValidation::Ignore {
                let listed: Vec<String> = pruned.iter().map(|f| format!("unknown field \"{f}\"")).collect();
                if validation == FieldValidation::Strict {
                    return Err(Status::bad_request(format!(
                        "{} in version \"{}\" cannot be handled as a {}: strict decoding error: {}",
                        res.kind,
                        res.version,
                        res.kind,
                        listed.join(", ")
                    )));
                }
                warnings.extend(listed);
            }
            crate::schema::apply_defaults(schema, &mut obj);
        }
        return Ok(obj);
    }
    if res.group.is_empty() && res.kind == "Secret" {
        fold_string_data(&mut obj);
    }
    let Some(result) = builtin::normalize(&res.group, &res.kind, obj.clone()) else { return Ok(obj) };
    let cannot = |detail: String| {
        Status::bad_request(format!(
            "{} in version \"{}\" cannot be handled as a {}: {detail}",
            res.kind, res.version, res.kind
        ))
    };
    let out = result.map_err(cannot)?;
    if validation != FieldValidation::Ignore {
        let unknown = builtin::unknown_fields(&obj, &out);
        if !unknown.is_empty() {
            let listed: Vec<String> = unknown.iter().map(|f| format!("unknown field \"{f}\"")).collect();
            if validation == FieldValidation::Strict {
                return Err(cannot(format!("strict decoding error: {}", listed.join(", "))));
            }
            warnings.extend(listed);
        }
    }
    Ok(out)
}

/// A Secret's write-only `stringData` is merged into `data` (base64) and never stored.
fn fold_string_data(obj: &mut Value) {
    use base64::Engine;
    let Some(map) = obj.as_object_mut() else { return };
    let Some(Value::Object(strings)) = map.remove("stringData") else { return };
    let data = map.entry("data").or_insert_with(|| json!({}));
    if !data.is_object() {
        *data = json!({});
    }
    if let Some(data) = data.as_object_mut() {
        for (k, v) in strings {
            let text = v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
            data.insert(k, base64::engine::general_purpose::STANDARD.encode(text).into());
        }
    }
}

/// The pod spec defaults kube-apiserver fills in (SetDefaults_PodSpec and _Container).
fn default_pod_spec(spec: &mut Value) {
    let Some(spec) = spec.as_object_mut() else { return };
    for (k, v) in [
        ("restartPolicy", json!("Always")),
        ("terminationGracePeriodSeconds", json!(30)),
        ("dnsPolicy", json!("ClusterFirst")),
        ("securityContext", json!({})),
        ("schedulerName", json!("default-scheduler")),
    ] {
        spec.entry(k).or_insert(v);
    }
    for list in ["containers", "initContainers"] {
        for c in spec.get_mut(list).and_then(Value::as_array_mut).into_iter().flatten() {
            let Some(c) = c.as_object_mut() else { continue };
            let image = c.get("image").and_then(Value::as_str).unwrap_or_default();
            let last = image.rsplit('/').next().unwrap_or_default();
            let latest = !last.contains(':') && !image.contains('@') || last.ends_with(":latest");
            let policy = if latest { "Always" } else { "IfNotPresent" };
            c.entry("imagePullPolicy").or_insert(json!(policy));
            c.entry("resources").or_insert(json!({}));
            c.entry("terminationMessagePath").or_insert(json!("/dev/termination-log"));
            c.entry("terminationMessagePolicy").or_insert(json!("File"));
        }
    }
}

/// Spec defaults applied on every write of pods and workloads, so an update that omits them
/// does not count as a spec change.
fn apply_spec_defaults(res: &ServedResource, obj: &mut Value) {
    if !res.is_builtin() {
        return;
    }
    let Some(map) = obj.as_object_mut() else { return };
    match (res.group.as_str(), res.plural.as_str()) {
        ("", "pods") => {
            if let Some(spec) = map.get_mut("spec") {
                default_pod_spec(spec);
            }
        }
        ("apps", "deployments" | "replicasets" | "statefulsets" | "daemonsets") | ("batch", "jobs") => {
            if let Some(spec) = map.get_mut("spec").and_then(Value::as_object_mut) {
                if res.plural != "daemonsets" && res.plural != "jobs" {
                    spec.entry("replicas").or_insert(json!(1));
                }
                if res.plural == "deployments" {
                    spec.entry("revisionHistoryLimit").or_insert(json!(10));
                    spec.entry("progressDeadlineSeconds").or_insert(json!(600));
                    spec.entry("strategy").or_insert(
                        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}),
                    );
                }
                if let Some(pod) = spec.get_mut("template").and_then(|t| t.get_mut("spec")) {
                    default_pod_spec(pod);
                }
            }
        }
        ("apiextensions.k8s.io", "customresourcedefinitions") => {
            if let Some(spec) = map.get_mut("spec").and_then(Value::as_object_mut) {
                spec.entry("conversion").or_insert(json!({"strategy": "None"}));
                if let Some(names) = spec.get_mut("names").and_then(Value::as_object_mut) {
                    if let Some(kind) = names.get("kind").and_then(Value::as_str).map(str::to_string) {
                        names.entry("listKind").or_insert(json!(format!("{kind}List")));
                    }
                }
            }
        }
        _ => {}
    }
    if res.group == "apiextensions.k8s.io" {
        // Go encodes integral float64 values (schema bounds) without a fraction.
        integral_floats(obj);
    }
}

fn integral_floats(v: &mut Value) {
    match v {
        Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9e15) {
                *v = json!(f as i64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_floats),
        Value::Object(map) => map.values_mut().for_each(integral_floats),
        _ => {}
    }
}

/// Defaults kube-apiserver fills in on create that clients rely on.
fn apply_create_defaults(res: &ServedResource, obj: &mut Value) {
    apply_spec_defaults(res, obj);
    let map = obj.as_object_mut().expect("object");
    match (res.group.as_str(), res.plural.as_str()) {
        ("", "namespaces") => {
            map.insert("spec".into(), json!({"finalizers": ["kubernetes"]}));
            map.insert("status".into(), json!({"phase": "Active"}));
        }
        ("", "pods") => {
            map.insert("status".into(), json!({"phase": "Pending", "qosClass": "BestEffort"}));
        }
        ("apiextensions.k8s.io", "customresourcedefinitions") => {
            let names = map.get("spec").and_then(|s| s.get("names")).cloned().unwrap_or(json!({}));
            let mut accepted = names.as_object().cloned().unwrap_or_default();
            if let Some(kind) = accepted.get("kind").and_then(Value::as_str).map(str::to_string) {
                accepted.entry("listKind").or_insert(json!(format!("{kind}List")));
                accepted.entry("singular").or_insert(json!(kind.to_ascii_lowercase()));
            }
            let now = meta::now();
            let versions: Vec<Value> = map
                .get("spec")
                .and_then(|s| s.get("versions"))
                .and_then(Value::as_array)
                .map(|vs| {
                    vs.iter().filter(|v| v["storage"] == json!(true)).filter_map(|v| v.get("name").cloned()).collect()
                })
                .unwrap_or_default();
            map.insert(
                "status".into(),
                json!({
                    "acceptedNames": accepted,
                    "conditions": [
                        {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
                         "message": "no conflicts found", "lastTransitionTime": now},
                        {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
                         "message": "the initial names have been accepted", "lastTransitionTime": now}
                    ],
                    "storedVersions": versions
                }),
            );
        }
        _ => {}
    }
}

/// Request-wide inputs of a write.
pub struct WriteRequest<'a> {
    /// The resource.
    pub res: &'a Arc<ServedResource>,
    /// The URL's namespace.
    pub namespace: Option<&'a str>,
    /// The URL's name (None for create).
    pub name: Option<&'a str>,
    /// The URL's subresource.
    pub subresource: Option<&'a str>,
    /// Query options.
    pub opts: &'a WriteOptions,
    /// The field manager recorded in managedFields (fieldManager or the User-Agent's name).
    pub manager: &'a str,
}

/// POST: creates an object.
pub fn create(store: &Store, req: &WriteRequest<'_>, body: &[u8]) -> Result<Written, Status> {
    let res = req.res;
    let mut obj = decode_body(res, body)?;
    check_type(res, None, &mut obj)?;
    let map = obj.as_object_mut().expect("object");
    let m = meta_mut(map);
    if res.namespaced {
        let url_ns = req.namespace.unwrap_or_default();
        match m.get("namespace").and_then(Value::as_str) {
            Some(ns) if !ns.is_empty() && ns != url_ns => {
                return Err(Status::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            _ => {
                m.insert("namespace".into(), url_ns.into());
            }
        }
    } else {
        m.remove("namespace");
    }
    let name = match m.get("name").and_then(Value::as_str).filter(|n| !n.is_empty()) {
        Some(n) => n.to_string(),
        None => match m.get("generateName").and_then(Value::as_str).filter(|n| !n.is_empty()) {
            Some(prefix) => {
                let n = meta::generate_name(prefix);
                m.insert("name".into(), n.clone().into());
                n
            }
            None => {
                return Err(invalid(res, "", "metadata.name", "Required value: name or generateName is required"));
            }
        },
    };
    if let Some(url_name) = req.name.filter(|n| *n != name) {
        return Err(Status::bad_request(format!(
            "the name of the object ({name}) does not match the name on the URL ({url_name})"
        )));
    }
    if let Err(why) = crate::names::validate(&res.group, &res.plural, &name) {
        return Err(invalid(res, &name, "metadata.name", &why));
    }
    if res.namespaced {
        check_namespace(store, req.namespace.unwrap_or_default())?;
    }
    let key = key(res, req.namespace, &name);
    write(store, req, &key, Change::Create(obj))
}

/// Fails unless the namespace exists and is not terminating.
pub fn check_namespace(store: &Store, ns: &str) -> Result<(), Status> {
    let Some(stored) = store.get("namespaces.", &(String::new(), ns.to_string())) else {
        return Err(Status::not_found("namespaces", "", ns));
    };
    let obj: Value = serde_json::from_slice(&stored.bytes).unwrap_or_default();
    if obj.get("metadata").and_then(|m| m.get("deletionTimestamp")).is_some() {
        return Err(Status::failure(
            403,
            reason::FORBIDDEN,
            format!("unable to create new content in namespace {ns} because it is being terminated"),
        )
        .with_details(ns, "", "namespaces"));
    }
    Ok(())
}

/// PUT: replaces an object (or its status / scale).
pub fn update(store: &Store, req: &WriteRequest<'_>, body: &[u8]) -> Result<Written, Status> {
    let res = req.res;
    let mut obj = decode_body(res, body)?;
    check_type(res, req.subresource, &mut obj)?;
    let url_name = req.name.unwrap_or_default();
    let name = name_of(&obj);
    if name.is_empty() {
        obj["metadata"]["name"] = url_name.into();
    } else if name != url_name {
        return Err(Status::bad_request(format!(
            "the name of the object ({name}) does not match the name on the URL ({url_name})"
        )));
    }
    if res.namespaced {
        let url_ns = req.namespace.unwrap_or_default();
        match meta_str(&obj, "namespace") {
            Some(ns) if !ns.is_empty() && ns != url_ns => {
                return Err(Status::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            _ => obj["metadata"]["namespace"] = url_ns.into(),
        }
    }
    let key = key(res, req.namespace, url_name);
    write(store, req, &key, Change::Replace(obj))
}

/// PATCH: patches an object (or its status / scale); apply patches create missing objects.
pub fn patch(store: &Store, req: &WriteRequest<'_>, patch: PatchBody<'_>) -> Result<Written, Status> {
    let res = req.res;
    let accepted = [content_type::JSON_PATCH, content_type::MERGE_PATCH, content_type::APPLY_PATCH];
    let strategic_ok = res.is_builtin() && strategic_merge::supports_kind(&res.group, &res.kind);
    let known = accepted.contains(&patch.content_type)
        || (strategic_ok && patch.content_type == content_type::STRATEGIC_MERGE_PATCH);
    if !known {
        let mut types: Vec<&str> = accepted.to_vec();
        if strategic_ok {
            types.insert(2, content_type::STRATEGIC_MERGE_PATCH);
        }
        return Err(Status::failure(
            415,
            reason::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "the body of the request was in an unknown format - accepted media types include: {}",
                types.join(", ")
            ),
        ));
    }
    if patch.content_type == content_type::APPLY_PATCH && req.opts.field_manager.is_none() {
        let mut s = Status::invalid(
            "PatchOptions",
            "meta.k8s.io",
            "",
            vec![StatusCause {
                reason: "FieldValueRequired".into(),
                message: "Required value: is required for apply patch".into(),
                field: "fieldManager".into(),
            }],
        );
        if let Some(d) = s.details.as_mut() {
            d.name = String::new();
        }
        return Err(s);
    }
    let key = key(res, req.namespace, req.name.unwrap_or_default());
    if patch.content_type == content_type::APPLY_PATCH
        && req.subresource.is_none()
        && store.get(&res.storage_key(), &key).is_none()
    {
        let mut obj = decode_apply(res, patch.body)?;
        check_type(res, None, &mut obj)?;
        let m = meta_mut(obj.as_object_mut().expect("object"));
        m.insert("name".into(), key.1.clone().into());
        if res.namespaced {
            m.insert("namespace".into(), key.0.clone().into());
            check_namespace(store, &key.0)?;
        }
        return write(store, req, &key, Change::ApplyCreate(obj));
    }
    write(store, req, &key, Change::Patch(patch))
}

fn decode_apply(res: &ServedResource, body: &[u8]) -> Result<Value, Status> {
    // Apply bodies are YAML; JSON is a subset of it.
    match serde_json::from_slice::<Value>(body) {
        Ok(v) if v.is_object() => Ok(v),
        _ => serde_saphyr::from_slice::<Value>(body)
            .ok()
            .filter(Value::is_object)
            .ok_or_else(|| Status::bad_request(format!("error decoding YAML: the body is not a {} object", res.kind))),
    }
}

fn apply_patch(res: &ServedResource, current: &Value, patch: &PatchBody<'_>) -> Result<Value, Status> {
    let mut doc = current.clone();
    match patch.content_type {
        content_type::JSON_PATCH => {
            let ops: json_patch::Patch = serde_json::from_slice(patch.body)
                .map_err(|e| Status::bad_request(format!("the JSON patch is not valid: {e}")))?;
            json_patch::patch(&mut doc, &ops).map_err(|_| {
                let mut s = Status::failure(
                    422,
                    reason::INVALID,
                    "the server rejected our request due to an error in our request".to_string(),
                );
                s.details = Some(StatusDetails::default());
                s
            })?;
        }
        content_type::MERGE_PATCH => {
            let p: Value = serde_json::from_slice(patch.body)
                .map_err(|e| Status::bad_request(format!("error decoding patch: {e}")))?;
            json_patch::merge(&mut doc, &p);
        }
        content_type::STRATEGIC_MERGE_PATCH => {
            let p: Value = serde_json::from_slice(patch.body)
                .map_err(|e| Status::bad_request(format!("error decoding patch: {e}")))?;
            doc = strategic_merge::strategic_merge_patch(&res.kind, &doc, &p)
                .map_err(|e| Status::failure(422, reason::INVALID, e.to_string()))?;
        }
        _ => {
            // Server-side apply, approximated: the intent is merged onto the object (strategic
            // for built-in kinds so lists merge by key); managed-field ownership is not tracked.
            let intent = decode_apply(res, patch.body)?;
            doc = if strategic_merge::supports_kind(&res.group, &res.kind) && res.is_builtin() {
                strategic_merge::strategic_merge_patch(&res.kind, &doc, &intent)
                    .map_err(|e| Status::failure(422, reason::INVALID, e.to_string()))?
            } else {
                let mut d = doc;
                json_patch::merge(&mut d, &intent);
                d
            };
        }
    }
    if !doc.is_object() {
        return Err(Status::bad_request("the patch did not produce an object"));
    }
    Ok(doc)
}

fn scale_of(res: &ServedResource, obj: &Value) -> Value {
    let paths = res.scale.as_ref().expect("scale checked");
    let at = |path: &str| -> Value {
        let mut cur = obj;
        for seg in path.trim_start_matches('.').split('.').filter(|s| !s.is_empty()) {
            match cur.get(seg) {
                Some(v) => cur = v,
                None => return Value::Null,
            }
        }
        cur.clone()
    };
    let m = obj.get("metadata").cloned().unwrap_or(json!({}));
    let mut meta = Map::new();
    for k in ["name", "namespace", "uid", "resourceVersion", "creationTimestamp"] {
        if let Some(v) = m.get(k) {
            meta.insert(k.into(), v.clone());
        }
    }
    let mut status = json!({"replicas": at(&paths.status_replicas).as_i64().unwrap_or(0)});
    if let Some(sel) = &paths.label_selector {
        match at(sel) {
            Value::String(s) => status["selector"] = s.into(),
            // Built-in workloads keep a structured selector in spec.selector.
            _ => {
                if let Some(labels) = obj.pointer("/spec/selector/matchLabels").and_then(Value::as_object) {
                    let s: Vec<String> =
                        labels.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default())).collect();
                    status["selector"] = s.join(",").into();
                }
            }
        }
    }
    json!({"kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": meta,
           "spec": {"replicas": at(&paths.spec_replicas).as_i64().unwrap_or(0)}, "status": status})
}

fn set_path(obj: &mut Value, path: &str, value: Value) {
    let segs: Vec<&str> = path.trim_start_matches('.').split('.').filter(|s| !s.is_empty()).collect();
    let mut cur = obj;
    for (i, seg) in segs.iter().enumerate() {
        if !cur.is_object() {
            *cur = json!({});
        }
        let map = cur.as_object_mut().expect("object");
        if i == segs.len() - 1 {
            map.insert(seg.to_string(), value);
            return;
        }
        cur = map.entry(seg.to_string()).or_insert_with(|| json!({}));
    }
}

/// The Scale view of an object (GET on /scale).
pub fn get_scale(res: &ServedResource, stored: &Stored) -> Result<Bytes, Status> {
    let obj: Value = serde_json::from_slice(&stored.bytes).map_err(internal)?;
    Ok(Bytes::from(serde_json::to_vec(&scale_of(res, &obj)).map_err(internal)?))
}

fn internal(e: impl std::fmt::Display) -> Status {
    Status::failure(500, reason::INTERNAL_ERROR, e.to_string())
}

fn write(store: &Store, req: &WriteRequest<'_>, key: &ObjKey, change: Change<'_>) -> Result<Written, Status> {
    let res = req.res.as_ref();
    let validation = req.opts.field_validation.unwrap_or(FieldValidation::Warn);
    let mut warnings = Vec::new();
    let creating = matches!(change, Change::Create(_) | Change::ApplyCreate(_));
    let applying = match &change {
        Change::ApplyCreate(_) => true,
        Change::Patch(p) => p.content_type == content_type::APPLY_PATCH,
        _ => false,
    };
    let force = req.opts.force == Some(true);
    let writer = managed_fields::Writer {
        manager: req.manager,
        subresource: req.subresource.unwrap_or_default(),
        api_version: res.api_version(),
    };
    let now = meta::now();
    let mut apply_config: Option<Value> = None;
    let mut result: Option<Value> = None;
    let dry_run = req.opts.dry_run;
    let mut delete_instead = false;
    let outcome = store.write(&res.storage_key(), key, |prev, next_rv| {
        let old: Option<Value> = prev.map(|p| serde_json::from_slice(&p.bytes)).transpose().map_err(internal)?;
        let mut new = match (change, &old) {
            (Change::Create(_) | Change::ApplyCreate(_), Some(_)) => {
                return Err(Status::already_exists(&res.plural, &res.group, &key.1));
            }
            (Change::Create(obj) | Change::ApplyCreate(obj), None) => {
                if applying {
                    apply_config = Some(obj.clone());
                }
                let mut obj = normalize(res, obj, validation, &mut warnings)?;
                let m = meta_mut(obj.as_object_mut().expect("object"));
                for k in ["uid", "resourceVersion", "creationTimestamp", "deletionTimestamp", "generation", "selfLink"] {
                    m.remove(k);
                }
                m.insert("uid".into(), uuid::Uuid::new_v4().to_string().into());
                m.insert("creationTimestamp".into(), meta::now().into());
                if meta::tracks_generation(res) {
                    m.insert("generation".into(), 1.into());
                }
                if res.has_status {
                    obj.as_object_mut().expect("object").remove("status");
                }
                apply_create_defaults(res, &mut obj);
                obj
            }
            (_, None) => return Err(Status::not_found(&res.plural, &res.group, &key.1)),
            (Change::Replace(obj), Some(old)) => {
                let given_rv = meta_str(&obj, "resourceVersion").filter(|v| !v.is_empty()).map(str::to_string);
                let old_rv = meta_str(old, "resourceVersion").unwrap_or_default();
                match given_rv {
                    Some(rv) if rv != old_rv => {
                        return Err(Status::conflict(
                            &res.plural,
                            &res.group,
                            &key.1,
                            "the object has been modified; please apply your changes to the latest version and try again",
                        ));
                    }
                    None if !res.is_builtin() => {
                        // kube-apiserver names the resource (not the kind) in this one.
                        return Err(Status::invalid(
                            &res.plural,
                            &res.group,
                            &key.1,
                            vec![StatusCause {
                                reason: "FieldValueInvalid".into(),
                                message: "Invalid value: 0: must be specified for an update".into(),
                                field: "metadata.resourceVersion".into(),
                            }],
                        ));
                    }
                    _ => {}
                }
                from_subresource(res, req.subresource, old, obj)?
            }
            (Change::Patch(p), Some(old)) => {
                let base = if req.subresource == Some("scale") { scale_of(res, old) } else { old.clone() };
                let mut patched = apply_patch(res, &base, &p)?;
                if applying {
                    let config = decode_apply(res, p.body)?;
                    managed_fields::record_apply(res, Some(old), &config, &mut patched, &writer, force, &now)?;
                }
                let old_rv = meta_str(old, "resourceVersion").unwrap_or_default();
                if meta_str(&patched, "resourceVersion").is_some_and(|rv| !rv.is_empty() && rv != old_rv) {
                    return Err(Status::conflict(
                        &res.plural,
                        &res.group,
                        &key.1,
                        "the object has been modified; please apply your changes to the latest version and try again",
                    ));
                }
                from_subresource(res, req.subresource, old, patched)?
            }
        };
        if let Some(old) = &old {
            new = normalize(res, new, validation, &mut warnings)?;
            apply_spec_defaults(res, &mut new);
            keep_server_fields(old, &mut new);
            check_finalizers(res, &key.1, old, &new)?;
            if meta::tracks_generation(res) && meta::spec_changed(old, &new) {
                let g = old.pointer("/metadata/generation").and_then(Value::as_i64).unwrap_or(0);
                meta_mut(new.as_object_mut().expect("object")).insert("generation".into(), (g + 1).into());
            }
            if !applying {
                managed_fields::record_update(res, Some(old), &mut new, &writer, &now);
            }
            if meta::same_object(old, &new)
                && old.pointer("/metadata/managedFields") == new.pointer("/metadata/managedFields")
            {
                result = Some(old.clone());
                return Ok(None);
            }
        } else if let Some(config) = &apply_config {
            managed_fields::record_apply(res, None, config, &mut new, &writer, force, &now)?;
        } else {
            managed_fields::record_update(res, None, &mut new, &writer, &now);
        }
        if let Some(schema) = res.schema.as_ref().filter(|_| !res.is_builtin()) {
            let causes = crate::schema::validate(schema, &new);
            if !causes.is_empty() {
                return Err(Status::invalid(&res.kind, &res.group, &key.1, causes));
            }
        }
        if dry_run {
            result = Some(new);
            return Ok(None);
        }
        if !res.is_builtin() && req.subresource != Some("scale") {
            new["apiVersion"] = res.api_version().into();
        }
        if old.as_ref().is_some_and(|old| empties_finalizers(res, old, &new)) {
            delete_instead = true;
            result = Some(new);
            return Ok(None);
        }
        meta_mut(new.as_object_mut().expect("object")).insert("resourceVersion".into(), next_rv.to_string().into());
        let bytes = serde_json::to_vec(&new).map_err(internal)?;
        let attrs = meta::attrs(res, &new);
        result = Some(new);
        Ok(Some((bytes, attrs)))
    })?;
    let obj = result.expect("set by every successful path");
    let body = match req.subresource {
        Some("scale") => Bytes::from(serde_json::to_vec(&scale_of(res, &obj)).map_err(internal)?),
        _ => match outcome {
            WriteOutcome::Written(s) => s.bytes,
            WriteOutcome::Unchanged(_) => Bytes::from(serde_json::to_vec(&obj).map_err(internal)?),
        },
    };
    // As kube-apiserver does, an update that empties the finalizers of an object being deleted
    // is not written: the object is removed (watchers see DELETED with its last stored state)
    // and the client gets the object it sent.
    let removed = if delete_instead { remove(store, res, key) } else { None };
    Ok(Written { created: creating, body, warnings, removed })
}

/// Whether writing `new` over `old` completes a pending deletion (kube-apiserver's
/// ShouldDeleteDuringUpdate): no finalizers left on an object marked for deletion with no
/// grace period; a namespace also needs its spec finalizers gone.
fn empties_finalizers(res: &ServedResource, old: &Value, new: &Value) -> bool {
    let none = |v: Option<&Value>| v.and_then(Value::as_array).is_none_or(|f| f.is_empty());
    let grace_over = old.pointer("/metadata/deletionGracePeriodSeconds").and_then(Value::as_i64).is_none_or(|g| g == 0);
    let namespace_done = !(res.group.is_empty() && res.plural == "namespaces") || none(new.pointer("/spec/finalizers"));
    old.pointer("/metadata/deletionTimestamp").is_some()
        && none(new.pointer("/metadata/finalizers"))
        && grace_over
        && namespace_done
}

/// Applies the status/scale subresource rules: which part of the new object counts.
fn from_subresource(res: &ServedResource, sub: Option<&str>, old: &Value, new: Value) -> Result<Value, Status> {
    match sub {
        None if res.has_status => {
            let mut new = new;
            let map = new.as_object_mut().expect("object");
            match old.get("status") {
                Some(s) => map.insert("status".into(), s.clone()),
                None => map.remove("status"),
            };
            Ok(new)
        }
        None => Ok(new),
        Some("status") => {
            let mut out = old.clone();
            let map = out.as_object_mut().expect("object");
            match new.get("status") {
                Some(s) => map.insert("status".into(), s.clone()),
                None => map.remove("status"),
            };
            Ok(out)
        }
        Some("scale") => {
            let replicas = new.pointer("/spec/replicas").cloned().unwrap_or(json!(0));
            if !replicas.is_i64() {
                return Err(invalid(res, "", "spec.replicas", "Invalid value: must be an integer"));
            }
            let mut out = old.clone();
            let path = res.scale.as_ref().map(|s| s.spec_replicas.clone()).unwrap_or_else(|| ".spec.replicas".into());
            set_path(&mut out, &path, replicas);
            Ok(out)
        }
        Some(other) => Err(Status::not_found(&format!("{}/{other}", res.plural), &res.group, "")),
    }
}

/// Fields clients cannot change: identity, timestamps, deletion state.
fn keep_server_fields(old: &Value, new: &mut Value) {
    let om = old.get("metadata").and_then(Value::as_object).cloned().unwrap_or_default();
    let nm = meta_mut(new.as_object_mut().expect("object"));
    for k in ["uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation", "namespace"]
    {
        match om.get(k) {
            Some(v) => nm.insert(k.into(), v.clone()),
            None => nm.remove(k),
        };
    }
    nm.remove("selfLink");
}

fn check_finalizers(res: &ServedResource, name: &str, old: &Value, new: &Value) -> Result<(), Status> {
    if old.pointer("/metadata/deletionTimestamp").is_none() {
        return Ok(());
    }
    let list = |v: &Value| -> Vec<String> {
        v.pointer("/metadata/finalizers")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|x| x.as_str().map(String::from)).collect())
            .unwrap_or_default()
    };
    let before = list(old);
    let added: Vec<String> = list(new).into_iter().filter(|f| !before.contains(f)).collect();
    if added.is_empty() {
        return Ok(());
    }
    // Go prints the list as []string{"a", "b"}; kube-apiserver reports the cause twice (once
    // from the generic update checks, once from ObjectMeta validation).
    let listed: Vec<String> = added.iter().map(|f| format!("{f:?}")).collect();
    let message = format!(
        "Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{{{}}}",
        listed.join(", ")
    );
    let mut s = invalid(res, name, "metadata.finalizers", &message);
    if let Some(d) = s.details.as_mut() {
        let c = d.causes[0].clone();
        d.causes.push(c);
    }
    Err(s)
}

/// Removes an object now, emitting DELETED with a fresh resourceVersion.
pub fn remove(store: &Store, res: &ServedResource, key: &ObjKey) -> Option<Stored> {
    store
        .delete::<Status>(&res.storage_key(), key, |prev, rv| {
            let mut obj: Value = serde_json::from_slice(&prev.bytes).map_err(internal)?;
            meta_mut(obj.as_object_mut().ok_or_else(|| internal("not an object"))?)
                .insert("resourceVersion".into(), rv.to_string().into());
            let attrs = (*prev.attrs).clone();
            Ok((serde_json::to_vec(&obj).map_err(internal)?, attrs))
        })
        .ok()
        .flatten()
}

/// The result of a delete request.
pub enum Deleted {
    /// The object is gone; this was its last state.
    Gone(Stored),
    /// The object has finalizers: it now carries a deletionTimestamp.
    Terminating(Bytes),
}

/// DELETE: removes an object, or marks it for deletion while finalizers remain.
pub fn delete(store: &Store, res: &ServedResource, key: &ObjKey, opts: &DeleteOptions) -> Result<Deleted, Status> {
    let Some(current) = store.get(&res.storage_key(), key) else {
        return Err(Status::not_found(&res.plural, &res.group, &key.1));
    };
    let obj: Value = serde_json::from_slice(&current.bytes).map_err(internal)?;
    if let Some(pre) = &opts.preconditions {
        let uid = meta_str(&obj, "uid").unwrap_or_default();
        let rv = meta_str(&obj, "resourceVersion").unwrap_or_default();
        let failed = match (&pre.uid, &pre.resource_version) {
            (Some(want), _) if want != uid => Some(format!(
                "the UID in the precondition ({want}) does not match the UID in record ({uid}). The object might have been deleted and then recreated"
            )),
            (_, Some(want)) if want != rv => Some(format!(
                "the ResourceVersion in the precondition ({want}) does not match the ResourceVersion in record ({rv}). The object might have been modified"
            )),
            _ => None,
        };
        if let Some(why) = failed {
            return Err(
                Status::conflict(&res.kind, &res.group, &key.1, &why).with_details(&key.1, &res.group, &res.kind)
            );
        }
    }
    let is_namespace = res.group.is_empty() && res.plural == "namespaces";
    if opts.is_dry_run() {
        return Ok(Deleted::Terminating(current.bytes));
    }
    // The collector's finalizers, as kube-apiserver sets them from the propagation policy;
    // an object nothing depends on has nothing to wait for and needs none.
    let current_finalizers = gc::finalizers(&obj);
    let wanted = match gc::policy_of(opts, &current_finalizers) {
        PropagationPolicy::Orphan => Some(gc::ORPHAN),
        PropagationPolicy::Foreground => Some(gc::FOREGROUND),
        PropagationPolicy::Background => None,
    };
    let uid = meta_str(&obj, "uid").unwrap_or_default();
    let wanted = wanted.filter(|_| !uid.is_empty() && !store.dependents(uid).is_empty());
    let with_wanted = |fins: &[String]| -> Vec<String> {
        let mut out: Vec<String> = fins.iter().filter(|f| *f != gc::ORPHAN && *f != gc::FOREGROUND).cloned().collect();
        out.extend(wanted.map(str::to_string));
        out
    };
    let new_finalizers = with_wanted(&current_finalizers);
    let same = |a: &[String], b: &[String]| {
        let (mut a, mut b) = (a.to_vec(), b.to_vec());
        a.sort();
        b.sort();
        a == b
    };
    let already_deleting = obj.pointer("/metadata/deletionTimestamp").is_some();
    if already_deleting && same(&current_finalizers, &new_finalizers) {
        return Ok(Deleted::Terminating(current.bytes));
    }
    if new_finalizers.is_empty() && !is_namespace {
        return match remove(store, res, key) {
            Some(last) => Ok(Deleted::Gone(last)),
            None => Err(Status::not_found(&res.plural, &res.group, &key.1)),
        };
    }
    let outcome = store.write::<Status>(&res.storage_key(), key, |prev, rv| {
        let Some(prev) = prev else { return Err(Status::not_found(&res.plural, &res.group, &key.1)) };
        let mut obj: Value = serde_json::from_slice(&prev.bytes).map_err(internal)?;
        let fins = with_wanted(&gc::finalizers(&obj));
        let m = meta_mut(obj.as_object_mut().expect("object"));
        if fins.is_empty() {
            m.remove("finalizers");
        } else {
            m.insert("finalizers".into(), json!(fins));
        }
        if !m.contains_key("deletionTimestamp") {
            m.insert("deletionTimestamp".into(), meta::now().into());
            // Marking an object for deletion bumps its generation (rest.BeforeDelete).
            if meta::tracks_generation(res) {
                let g = m.get("generation").and_then(Value::as_i64).unwrap_or(0);
                m.insert("generation".into(), (g + 1).into());
            }
        }
        m.insert("deletionGracePeriodSeconds".into(), 0.into());
        m.insert("resourceVersion".into(), rv.to_string().into());
        if is_namespace {
            obj["status"] = json!({"phase": "Terminating"});
        }
        let attrs = meta::attrs(res, &obj);
        Ok(Some((serde_json::to_vec(&obj).map_err(internal)?, attrs)))
    })?;
    match outcome {
        WriteOutcome::Written(s) => Ok(Deleted::Terminating(s.bytes)),
        WriteOutcome::Unchanged(_) => Err(Status::not_found(&res.plural, &res.group, &key.1)),
    }
}

/// The Status body kube-apiserver sends for a completed delete of most kinds.
pub fn delete_status(res: &ServedResource, name: &str, uid: &str) -> Status {
    Status::success(Some(StatusDetails {
        name: name.into(),
        group: res.group.clone(),
        kind: res.plural.clone(),
        uid: uid.into(),
        ..StatusDetails::default()
    }))
}

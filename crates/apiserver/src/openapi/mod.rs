//! OpenAPI documents: the v3 index and per-group-version documents whose paths carry every
//! resource's operations with `x-kubernetes-group-version-kind` and their query parameters
//! (kubectl reads them to learn that the server supports `fieldValidation`), and a v2
//! document in JSON and protobuf. Component schemas come from k8s-openapi for built-in kinds
//! ([`schemas`]) and from the CRD's openAPIV3Schema for custom resources; a v3 document
//! carries only the schemas its kinds reach. Documents are built once per distinct set of
//! served resources and kept serialized: the core group's is 350 KB and takes tens of
//! milliseconds to build.

mod schemas;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use serde_json::{Map, Value, json};

use crate::registry::{Registry, ServedResource};
use crate::response::{self, Body};

use schemas::{V2_PREFIX, V3_PREFIX};

fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() { format!("api/{version}") } else { format!("apis/{group}/{version}") }
}

fn hash(s: &[u8]) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in s {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x100000001b3);
    }
    format!("{h:016X}")
}

/// A serialized document with its content hash.
struct Doc {
    body: Bytes,
    hash: String,
}

/// Documents by the fingerprint of the resources they describe. Keyed by content rather
/// than by registry so every server in a process (tests start many) shares one copy of the
/// built-in documents; bounded so CRD churn cannot grow it without limit.
fn cached(fingerprint: String, build: impl FnOnce() -> Bytes) -> Arc<Doc> {
    static CACHE: Mutex<Option<HashMap<String, Arc<Doc>>>> = Mutex::new(None);
    const MAX_ENTRIES: usize = 64;
    if let Some(doc) = CACHE.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert_default().get(&fingerprint) {
        return doc.clone();
    }
    // Built outside the lock: two racing builders produce the same document.
    let body = build();
    let doc = Arc::new(Doc { hash: hash(&body), body });
    let mut guard = CACHE.lock().unwrap_or_else(|p| p.into_inner());
    let cache = guard.get_or_insert_default();
    if cache.len() >= MAX_ENTRIES {
        cache.clear();
    }
    cache.insert(fingerprint, doc.clone());
    doc
}

fn json_bytes(v: &Value) -> Bytes {
    Bytes::from(serde_json::to_vec(v).unwrap_or_default())
}

/// Everything about `resources` that their OpenAPI documents depend on.
fn fingerprint(tag: &str, resources: &[Arc<ServedResource>]) -> String {
    let parts: Vec<Value> = resources
        .iter()
        .map(|r| json!([r.group, r.version, r.kind, r.plural, r.namespaced, r.has_status, r.is_builtin(), r.schema]))
        .collect();
    format!("{tag}{}", Value::Array(parts))
}

/// `/openapi/v3`: one entry per served group-version.
pub fn v3_index(reg: &Registry) -> Value {
    let mut paths = Map::new();
    let mut gvs: Vec<(String, String)> = Vec::new();
    for r in reg.all() {
        if !gvs.contains(&(r.group.clone(), r.version.clone())) {
            gvs.push((r.group.clone(), r.version.clone()));
        }
    }
    for (g, v) in gvs {
        let Some(doc) = v3_doc(reg, &g, &v) else { continue };
        let p = gv_path(&g, &v);
        paths.insert(p.clone(), json!({"serverRelativeURL": format!("/openapi/v3/{p}?hash={}", doc.hash)}));
    }
    json!({"paths": paths})
}

/// The component schema name of a resource's kind.
fn schema_name(r: &ServedResource) -> String {
    if let Some(name) = r.builtin.and_then(|_| schemas::builtin().kind_schema(&r.group, &r.version, &r.kind)) {
        return name.to_string();
    }
    let group = if r.group.is_empty() { "core" } else { r.group.as_str() };
    let prefix = group.split('.').rev().collect::<Vec<_>>().join(".");
    format!("{prefix}.{}.{}", r.version, r.kind)
}

/// The published schema of a custom resource: its openAPIV3Schema with the `apiVersion`,
/// `kind` and `metadata` fields every object has (kube-apiserver adds them too, so explain
/// lists them), and its group-version-kind.
fn custom_resource_schema(r: &ServedResource) -> Value {
    let mut schema = r.schema.clone().unwrap_or_else(|| json!({"type": "object"}));
    if let Some(m) = schema.as_object_mut() {
        m.entry("type").or_insert_with(|| "object".into());
        let common = schemas::builtin().v3.get("io.k8s.api.core.v1.Pod").and_then(|p| p.get("properties"));
        if let Some(props) = m.entry("properties").or_insert_with(|| json!({})).as_object_mut() {
            for field in ["apiVersion", "kind", "metadata"] {
                // metadata is always ObjectMeta, whatever the CRD declares for it.
                if (field == "metadata" || !props.contains_key(field))
                    && let Some(s) = common.and_then(|c| c.get(field))
                {
                    props.insert(field.into(), s.clone());
                }
            }
        }
        m.insert(
            "x-kubernetes-group-version-kind".into(),
            json!([{"group": r.group, "kind": r.kind, "version": r.version}]),
        );
    }
    schema
}

/// The schemas a set of kind schemas needs, from the built-in components.
fn referenced(defs: &Map<String, Value>, kinds: &[Value]) -> Map<String, Value> {
    schemas::closure(defs, kinds).into_iter().filter_map(|n| defs.get(&n).map(|s| (n, s.clone()))).collect()
}

fn param(name: &str, description: &str) -> Value {
    json!({"name": name, "in": "query", "description": description, "schema": {"type": "string", "uniqueItems": true}})
}

fn write_params() -> Vec<Value> {
    vec![
        param("dryRun", "When present, indicates that modifications should not be persisted."),
        param(
            "fieldManager",
            "fieldManager is a name associated with the actor or entity that is making these changes.",
        ),
        param(
            "fieldValidation",
            "fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields. Valid values are: Ignore, Warn, Strict.",
        ),
    ]
}

fn operations(r: &ServedResource, schema_ref: &str) -> Vec<(String, Value)> {
    let prefix =
        if r.group.is_empty() { format!("/api/{}", r.version) } else { format!("/apis/{}/{}", r.group, r.version) };
    let base = if r.namespaced {
        format!("{prefix}/namespaces/{{namespace}}/{}", r.plural)
    } else {
        format!("{prefix}/{}", r.plural)
    };
    let gvk = json!({"group": r.group, "version": r.version, "kind": r.kind});
    let body = json!({"content": {"*/*": {"schema": {"$ref": schema_ref}}}, "required": true});
    let ok = json!({"200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": schema_ref}}}}});
    let op = |action: &str, id: &str, params: Vec<Value>, with_body: bool| {
        let mut o = json!({
            "operationId": format!("{id}{}", r.kind),
            "x-kubernetes-action": action,
            "x-kubernetes-group-version-kind": gvk,
            "parameters": params,
            "responses": ok,
        });
        if with_body {
            o["requestBody"] = body.clone();
        }
        o
    };
    let mut patch_params = write_params();
    patch_params.push(param("force", "Force is going to \"force\" Apply requests."));
    let list_params = vec![
        param("labelSelector", "A selector to restrict the list of returned objects by their labels."),
        param("fieldSelector", "A selector to restrict the list of returned objects by their fields."),
        param("limit", "limit is a maximum number of responses to return for a list call."),
        param("continue", "The continue option should be set when retrieving more results from the server."),
        param(
            "resourceVersion",
            "resourceVersion sets a constraint on what resource versions a request may be served from.",
        ),
        param("watch", "Watch for changes to the described resources."),
    ];
    let mut out = vec![
        (
            base.clone(),
            json!({
                "get": op("list", "list", list_params, false),
                "post": op("post", "create", write_params(), true),
                "delete": op("deletecollection", "deleteCollection", Vec::new(), false),
            }),
        ),
        (
            format!("{base}/{{name}}"),
            json!({
                "get": op("get", "read", Vec::new(), false),
                "put": op("put", "replace", write_params(), true),
                "patch": op("patch", "patch", patch_params.clone(), true),
                "delete": op("delete", "delete", Vec::new(), false),
            }),
        ),
    ];
    if r.has_status {
        out.push((
            format!("{base}/{{name}}/status"),
            json!({"get": op("get", "readStatus", Vec::new(), false), "put": op("put", "replaceStatus", write_params(), true),
                   "patch": op("patch", "patchStatus", patch_params, true)}),
        ));
    }
    out
}

/// The v3 document of a group-version, if served.
fn v3_doc(reg: &Registry, group: &str, version: &str) -> Option<Arc<Doc>> {
    let resources: Vec<_> = reg.all().into_iter().filter(|r| r.group == group && r.version == version).collect();
    if resources.is_empty() {
        return None;
    }
    Some(cached(fingerprint("v3", &resources), || json_bytes(&v3_group_version(&resources))))
}

/// `/openapi/v3/api/v1` or `/openapi/v3/apis/{group}/{version}`, if served.
pub fn v3_response(reg: &Registry, group: &str, version: &str) -> Option<Response<Body>> {
    v3_doc(reg, group, version).map(|d| response::json(StatusCode::OK, d.body.clone()))
}

/// The v3 document of the resources of one group-version.
fn v3_group_version(resources: &[Arc<ServedResource>]) -> Value {
    let builtin = schemas::builtin();
    let mut paths = Map::new();
    let mut kinds = Map::new();
    for r in resources {
        let name = schema_name(r);
        for (p, ops) in operations(r, &format!("{V3_PREFIX}{name}")) {
            paths.insert(p, ops);
        }
        let schema = match builtin.v3.get(&name).filter(|_| r.is_builtin()) {
            Some(s) => s.clone(),
            None => custom_resource_schema(r),
        };
        kinds.insert(name, schema);
    }
    let roots: Vec<Value> = kinds.values().cloned().collect();
    let mut components = referenced(&builtin.v3, &roots);
    components.extend(kinds);
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.37.0"},
        "paths": paths,
        "components": {"schemas": components},
    })
}

/// The media type of the OpenAPI v2 protobuf document (gnostic `openapi.v2.Document`).
pub const V2_PROTOBUF: &str = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";

/// `/openapi/v2` in JSON, or in the protobuf form kubectl 1.27 and 1.28 ask for.
pub fn v2(reg: &Registry, accept: Option<&str>) -> Response<Body> {
    let accept = accept.unwrap_or("application/json");
    let wants_proto = accept.split(',').any(|a| {
        let media = a.split(';').next().unwrap_or("").trim();
        media == V2_PROTOBUF || media == "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
    });
    if !wants_proto && !accept.contains("json") && !accept.contains("*/*") {
        let mut resp = response::status(&rkube_core::Status::failure(
            406,
            rkube_core::status::reason::NOT_ACCEPTABLE,
            "only the following media types are accepted: application/json, application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
        ));
        resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        return resp;
    }
    let resources = reg.all();
    if wants_proto {
        let doc =
            cached(fingerprint("v2proto", &resources), || Bytes::from(proto::document(&v2_parts(&resources, false).0)));
        let mut resp = Response::new(response::full(doc.body.clone()));
        // kube-openapi answers with a media type Go's mime parser accepts (no '@').
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/com.github.proto-openapi.spec.v2.v1.0+protobuf"),
        );
        return resp;
    }
    let doc = cached(fingerprint("v2", &resources), || {
        let (paths, definitions) = v2_parts(&resources, true);
        json_bytes(
            &json!({"swagger": "2.0", "info": {"title": "Kubernetes", "version": "v1.37.0"}, "paths": paths, "definitions": definitions}),
        )
    });
    response::json(StatusCode::OK, doc.body.clone())
}

/// The v2 paths, and (when `with_definitions`) the definitions they reach.
fn v2_parts(resources: &[Arc<ServedResource>], with_definitions: bool) -> (Map<String, Value>, Map<String, Value>) {
    let builtin = schemas::builtin();
    let mut paths = Map::new();
    let mut kinds = Map::new();
    for r in resources {
        let name = schema_name(r);
        for (p, ops) in operations(r, &format!("{V2_PREFIX}{name}")) {
            paths.insert(p, ops);
        }
        if with_definitions {
            let schema = match builtin.v2.get(&name).filter(|_| r.is_builtin()) {
                Some(s) => s.clone(),
                None => schemas::to_v2(&custom_resource_schema(r)),
            };
            kinds.insert(name, schema);
        }
    }
    if !with_definitions {
        return (paths, Map::new());
    }
    let roots: Vec<Value> = kinds.values().cloned().collect();
    let mut definitions = referenced(&builtin.v2, &roots);
    definitions.extend(kinds);
    (paths, definitions)
}

/// A minimal protobuf writer for the gnostic OpenAPI v2 messages kubectl reads: paths with
/// their operations, query parameters and `x-kubernetes-*` vendor extensions (what kubectl's
/// field-validation check looks at). Definitions are left empty: kubectl 1.27 and 1.28 then
/// fall back to their compiled-in types for patch metadata, which know every field's merge
/// strategy, and explain reads the v3 documents in every kubectl this server supports.
mod proto {
    use serde_json::{Map, Value};

    fn varint(out: &mut Vec<u8>, mut v: u64) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    fn bytes_field(out: &mut Vec<u8>, field: u32, data: &[u8]) {
        varint(out, (u64::from(field) << 3) | 2);
        varint(out, data.len() as u64);
        out.extend_from_slice(data);
    }

    fn bool_field(out: &mut Vec<u8>, field: u32, v: bool) {
        if v {
            varint(out, u64::from(field) << 3);
            varint(out, 1);
        }
    }

    // NamedAny { name = 1; Any value = 2 { yaml = 2 } }: JSON is valid YAML.
    fn named_any(name: &str, value: &Value) -> Vec<u8> {
        let mut any = Vec::new();
        bytes_field(&mut any, 2, value.to_string().as_bytes());
        let mut out = Vec::new();
        bytes_field(&mut out, 1, name.as_bytes());
        bytes_field(&mut out, 2, &any);
        out
    }

    fn query_parameter(p: &Value) -> Vec<u8> {
        let s = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or_default();
        // QueryParameterSubSchema { in = 2; description = 3; name = 4; type = 6; unique_items = 20 }
        let mut q = Vec::new();
        bytes_field(&mut q, 2, b"query");
        bytes_field(&mut q, 3, s("description").as_bytes());
        bytes_field(&mut q, 4, s("name").as_bytes());
        bytes_field(&mut q, 6, b"string");
        bool_field(&mut q, 20, true);
        let mut non_body = Vec::new();
        bytes_field(&mut non_body, 3, &q);
        let mut param = Vec::new();
        bytes_field(&mut param, 2, &non_body);
        let mut item = Vec::new();
        bytes_field(&mut item, 1, &param);
        item
    }

    fn operation(op: &Value) -> Vec<u8> {
        let mut out = Vec::new();
        if let Some(id) = op.get("operationId").and_then(Value::as_str) {
            bytes_field(&mut out, 5, id.as_bytes());
        }
        for p in op.get("parameters").and_then(Value::as_array).into_iter().flatten() {
            bytes_field(&mut out, 8, &query_parameter(p));
        }
        // Responses { NamedResponseValue { name = 1; ResponseValue { Response { description = 1 } } } }
        let mut response = Vec::new();
        bytes_field(&mut response, 1, b"OK");
        let mut value = Vec::new();
        bytes_field(&mut value, 1, &response);
        let mut named = Vec::new();
        bytes_field(&mut named, 1, b"200");
        bytes_field(&mut named, 2, &value);
        let mut responses = Vec::new();
        bytes_field(&mut responses, 1, &named);
        bytes_field(&mut out, 9, &responses);
        if let Some(map) = op.as_object() {
            for (k, v) in map.iter().filter(|(k, _)| k.starts_with("x-")) {
                // kubectl reads the group-version-kind extension as one object.
                let v = match v {
                    Value::Array(a) if k == "x-kubernetes-group-version-kind" && a.len() == 1 => &a[0],
                    v => v,
                };
                bytes_field(&mut out, 13, &named_any(k, v));
            }
        }
        out
    }

    /// The encoded `openapi.v2.Document` for `paths` (path -> method -> operation).
    pub fn document(paths: &Map<String, Value>) -> Vec<u8> {
        let mut doc = Vec::new();
        bytes_field(&mut doc, 1, b"2.0");
        let mut info = Vec::new();
        bytes_field(&mut info, 1, b"Kubernetes");
        bytes_field(&mut info, 2, b"v1.37.0");
        bytes_field(&mut doc, 2, &info);
        let mut paths_msg = Vec::new();
        for (path, ops) in paths {
            let mut item = Vec::new();
            for (method, field) in [("get", 2), ("put", 3), ("post", 4), ("delete", 5), ("patch", 8)] {
                if let Some(op) = ops.get(method) {
                    bytes_field(&mut item, field, &operation(op));
                }
            }
            let mut named = Vec::new();
            bytes_field(&mut named, 1, path.as_bytes());
            bytes_field(&mut named, 2, &item);
            bytes_field(&mut paths_msg, 2, &named);
        }
        bytes_field(&mut doc, 8, &paths_msg);
        // An empty Definitions message.
        bytes_field(&mut doc, 9, &[]);
        doc
    }
}

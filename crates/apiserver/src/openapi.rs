//! OpenAPI documents: the v3 index and per-group-version documents whose paths carry every
//! resource's operations with `x-kubernetes-group-version-kind` and their query parameters
//! (kubectl reads them to learn that the server supports `fieldValidation`), and a v2
//! document in JSON. Component schemas are open objects for built-in kinds and the CRD's
//! openAPIV3Schema for custom resources.

use http::{HeaderValue, Response, StatusCode, header};
use serde_json::{Map, Value, json};

use crate::registry::{Registry, ServedResource};
use crate::response::{self, Body};

fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() { format!("api/{version}") } else { format!("apis/{group}/{version}") }
}

fn hash(s: &str) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    format!("{h:016X}")
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
        let doc = v3_group_version(reg, &g, &v).unwrap_or_default();
        let p = gv_path(&g, &v);
        paths.insert(
            p.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{p}?hash={}", hash(&doc.to_string()))}),
        );
    }
    json!({"paths": paths})
}

fn schema_name(r: &ServedResource) -> String {
    let group = if r.group.is_empty() { "core".to_string() } else { r.group.clone() };
    let prefix = if r.is_builtin() {
        match r.group.as_str() {
            "apiextensions.k8s.io" => "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions".to_string(),
            g => format!("io.k8s.api.{}", g.split('.').next().filter(|_| !g.is_empty()).unwrap_or("core")),
        }
    } else {
        group.split('.').rev().collect::<Vec<_>>().join(".")
    };
    format!("{prefix}.{}.{}", r.version, r.kind)
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

/// `/openapi/v3/api/v1` or `/openapi/v3/apis/{group}/{version}`, if served.
pub fn v3_group_version(reg: &Registry, group: &str, version: &str) -> Option<Value> {
    if !reg.serves_group_version(group, version) {
        return None;
    }
    let mut paths = Map::new();
    let mut schemas = Map::new();
    for r in reg.all().iter().filter(|r| r.group == group && r.version == version) {
        let name = schema_name(r);
        let schema_ref = format!("#/components/schemas/{name}");
        for (p, ops) in operations(r, &schema_ref) {
            paths.insert(p, ops);
        }
        let mut schema = r.schema.clone().unwrap_or_else(|| json!({"type": "object"}));
        if let Some(m) = schema.as_object_mut() {
            m.insert(
                "x-kubernetes-group-version-kind".into(),
                json!([{"group": r.group, "version": r.version, "kind": r.kind}]),
            );
        }
        schemas.insert(name, schema);
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.37.0"},
        "paths": paths,
        "components": {"schemas": schemas},
    }))
}

/// `/openapi/v2` in JSON; the protobuf form is not offered (406), so clients use v3.
pub fn v2(reg: &Registry, accept: Option<&str>) -> Response<Body> {
    let accept = accept.unwrap_or("application/json");
    if !accept.contains("json") && !accept.contains("*/*") {
        let mut resp = response::status(&rkube_core::Status::failure(
            406,
            rkube_core::status::reason::NOT_ACCEPTABLE,
            "only the following media types are accepted: application/json",
        ));
        resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        return resp;
    }
    let mut paths = Map::new();
    let mut definitions = Map::new();
    for r in reg.all() {
        let name = schema_name(&r);
        for (p, ops) in operations(&r, &format!("#/definitions/{name}")) {
            paths.insert(p, ops);
        }
        definitions.insert(
            name,
            json!({"type": "object", "x-kubernetes-group-version-kind": [{"group": r.group, "version": r.version, "kind": r.kind}]}),
        );
    }
    response::json_value(
        StatusCode::OK,
        &json!({"swagger": "2.0", "info": {"title": "Kubernetes", "version": "v1.37.0"}, "paths": paths, "definitions": definitions}),
    )
}

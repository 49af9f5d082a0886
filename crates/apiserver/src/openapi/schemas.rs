//! Component schemas of the built-in kinds, generated once from k8s-openapi's `JsonSchema`
//! implementations and reshaped the way kube-apiserver publishes them: a `$ref` with
//! siblings becomes `allOf: [{$ref}]` beside the description (kubectl's explain templates
//! expect that form), kind schemas carry `x-kubernetes-group-version-kind`, and the list
//! fields kube-apiserver merges by key carry their patch strategy.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use k8s_openapi::api::{apps, batch, coordination, core, events};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as apiextensions;
use schemars::JsonSchema;
use schemars::generate::{SchemaGenerator, SchemaSettings};
use serde_json::{Map, Value, json};

/// Where OpenAPI 3 documents keep their component schemas.
pub const V3_PREFIX: &str = "#/components/schemas/";
/// Where OpenAPI 2 documents keep their definitions.
pub const V2_PREFIX: &str = "#/definitions/";

type Register = fn(&mut SchemaGenerator) -> String;

fn register<T: JsonSchema>(g: &mut SchemaGenerator) -> String {
    g.subschema_for::<T>();
    T::schema_name().into_owned()
}

/// Every built-in kind the catalog serves, with the k8s-openapi type that describes it.
const KINDS: &[(&str, &str, &str, Register)] = &[
    ("", "v1", "ConfigMap", register::<core::v1::ConfigMap>),
    ("", "v1", "Endpoints", register::<core::v1::Endpoints>),
    ("", "v1", "Event", register::<core::v1::Event>),
    ("", "v1", "Namespace", register::<core::v1::Namespace>),
    ("", "v1", "Node", register::<core::v1::Node>),
    ("", "v1", "Pod", register::<core::v1::Pod>),
    ("", "v1", "Secret", register::<core::v1::Secret>),
    ("", "v1", "ServiceAccount", register::<core::v1::ServiceAccount>),
    ("", "v1", "Service", register::<core::v1::Service>),
    ("apiextensions.k8s.io", "v1", "CustomResourceDefinition", register::<apiextensions::CustomResourceDefinition>),
    ("apps", "v1", "DaemonSet", register::<apps::v1::DaemonSet>),
    ("apps", "v1", "Deployment", register::<apps::v1::Deployment>),
    ("apps", "v1", "ReplicaSet", register::<apps::v1::ReplicaSet>),
    ("apps", "v1", "StatefulSet", register::<apps::v1::StatefulSet>),
    ("batch", "v1", "CronJob", register::<batch::v1::CronJob>),
    ("batch", "v1", "Job", register::<batch::v1::Job>),
    ("coordination.k8s.io", "v1", "Lease", register::<coordination::v1::Lease>),
    ("events.k8s.io", "v1", "Event", register::<events::v1::Event>),
];

/// Patch metadata k8s-openapi's schemas lack, published as kube-apiserver publishes it.
/// kubectl 1.29+ computes apply patches from it once a PATCH operation advertises
/// `application/strategic-merge-patch+json` (these paths advertise `*/*`, so kubectl keeps
/// its compiled-in metadata for now). It mirrors the table the server merges by
/// (`strategic_merge`): a list the client thinks atomic but the server merges by key would
/// keep items a manifest dropped. `None` as the key merges scalars as a set.
const PATCH_META: &[(&str, &str, Option<&str>)] = &[
    ("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "finalizers", None),
    ("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "ownerReferences", Some("uid")),
    ("io.k8s.api.core.v1.PodSpec", "containers", Some("name")),
    ("io.k8s.api.core.v1.PodSpec", "initContainers", Some("name")),
    ("io.k8s.api.core.v1.PodSpec", "ephemeralContainers", Some("name")),
    ("io.k8s.api.core.v1.PodSpec", "volumes", Some("name")),
    ("io.k8s.api.core.v1.PodSpec", "imagePullSecrets", Some("name")),
    ("io.k8s.api.core.v1.PodSpec", "schedulingGates", Some("name")),
    ("io.k8s.api.core.v1.PodSpec", "resourceClaims", Some("name")),
    ("io.k8s.api.core.v1.PodSpec", "evictionResponders", Some("name")),
    ("io.k8s.api.core.v1.PodSpec", "hostAliases", Some("ip")),
    ("io.k8s.api.core.v1.PodSpec", "topologySpreadConstraints", Some("topologyKey")),
    ("io.k8s.api.core.v1.Container", "ports", Some("containerPort")),
    ("io.k8s.api.core.v1.Container", "env", Some("name")),
    ("io.k8s.api.core.v1.Container", "volumeMounts", Some("mountPath")),
    ("io.k8s.api.core.v1.Container", "volumeDevices", Some("devicePath")),
    ("io.k8s.api.core.v1.EphemeralContainer", "ports", Some("containerPort")),
    ("io.k8s.api.core.v1.EphemeralContainer", "env", Some("name")),
    ("io.k8s.api.core.v1.EphemeralContainer", "volumeMounts", Some("mountPath")),
    ("io.k8s.api.core.v1.EphemeralContainer", "volumeDevices", Some("devicePath")),
    ("io.k8s.api.core.v1.PodStatus", "conditions", Some("type")),
    ("io.k8s.api.core.v1.PodStatus", "podIPs", Some("ip")),
    ("io.k8s.api.core.v1.PodStatus", "hostIPs", Some("ip")),
    ("io.k8s.api.core.v1.PodStatus", "resourceClaimStatuses", Some("name")),
    ("io.k8s.api.core.v1.PodStatus", "nodeAllocatableResourceClaimStatuses", Some("resourceClaimName")),
    ("io.k8s.api.core.v1.ServiceSpec", "ports", Some("port")),
    ("io.k8s.api.core.v1.ServiceStatus", "conditions", Some("type")),
    ("io.k8s.api.core.v1.NamespaceStatus", "conditions", Some("type")),
    ("io.k8s.api.core.v1.NodeSpec", "podCIDRs", None),
    ("io.k8s.api.core.v1.NodeStatus", "addresses", Some("type")),
    ("io.k8s.api.core.v1.NodeStatus", "conditions", Some("type")),
    ("io.k8s.api.core.v1.ServiceAccount", "secrets", Some("name")),
    ("io.k8s.api.apps.v1.DeploymentStatus", "conditions", Some("type")),
    ("io.k8s.api.apps.v1.ReplicaSetStatus", "conditions", Some("type")),
    ("io.k8s.api.apps.v1.DaemonSetStatus", "conditions", Some("type")),
    ("io.k8s.api.apps.v1.StatefulSetStatus", "conditions", Some("type")),
    ("io.k8s.api.batch.v1.JobStatus", "conditions", Some("type")),
];

/// The built-in component schemas in both OpenAPI dialects.
pub struct Builtin {
    /// OpenAPI 3 schemas by name, referencing each other under [`V3_PREFIX`].
    pub v3: Map<String, Value>,
    /// The same schemas in OpenAPI 2 form, referencing each other under [`V2_PREFIX`].
    pub v2: Map<String, Value>,
    kinds: Vec<(&'static str, &'static str, &'static str, String)>,
}

impl Builtin {
    /// The schema name of a built-in kind, e.g. `io.k8s.api.core.v1.Pod`.
    pub fn kind_schema(&self, group: &str, version: &str, kind: &str) -> Option<&str> {
        self.kinds.iter().find(|(g, v, k, _)| *g == group && *v == version && *k == kind).map(|(.., n)| n.as_str())
    }
}

/// The built-in schemas, generated on first use (tens of milliseconds) and kept for the
/// life of the process: they depend on nothing but the compiled-in API types.
pub fn builtin() -> &'static Builtin {
    static CELL: OnceLock<Builtin> = OnceLock::new();
    CELL.get_or_init(generate)
}

fn generate() -> Builtin {
    let mut g = SchemaGenerator::new(SchemaSettings::openapi3().with(|s| s.meta_schema = None));
    let kinds: Vec<_> = KINDS.iter().map(|(grp, v, k, reg)| (*grp, *v, *k, reg(&mut g))).collect();
    let mut v3 = g.take_definitions(true);
    for (group, version, kind, name) in &kinds {
        let Some(Value::Object(schema)) = v3.get_mut(name) else { continue };
        // k8s-openapi marks `metadata` required because its Rust field is not optional;
        // the API does not require it, and explain would print `-required-` beside it.
        if let Some(Value::Array(required)) = schema.get_mut("required") {
            required.retain(|f| f != "metadata");
            if required.is_empty() {
                schema.remove("required");
            }
        }
        schema.insert(
            "x-kubernetes-group-version-kind".into(),
            json!([{"group": group, "kind": kind, "version": version}]),
        );
    }
    for (name, field, key) in PATCH_META {
        let Some(prop) = v3.get_mut(*name).and_then(|s| s.pointer_mut(&format!("/properties/{field}"))) else {
            continue;
        };
        let Some(prop) = prop.as_object_mut() else { continue };
        prop.insert("x-kubernetes-patch-strategy".into(), "merge".into());
        if let Some(key) = key {
            prop.insert("x-kubernetes-patch-merge-key".into(), (*key).into());
        }
    }
    let v2 = v3.iter().map(|(k, v)| (k.clone(), to_v2(v))).collect();
    Builtin { v3, v2, kinds }
}

/// An OpenAPI 3 schema in OpenAPI 2 form: refs under `#/definitions/`, a lone `allOf` ref
/// back to a `$ref` with siblings (Swagger 2 has no other way to describe a referencing
/// field), and int-or-string types spelled as kube-apiserver's v2 document spells them.
pub fn to_v2(schema: &Value) -> Value {
    match schema {
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => {
                        let name = r.strip_prefix(V3_PREFIX).unwrap_or(r);
                        out.insert(k.clone(), format!("{V2_PREFIX}{name}").into());
                    }
                    ("allOf", Value::Array(a)) if a.len() == 1 && a[0].get("$ref").is_some() => {
                        if let Some(Value::Object(inner)) = Some(to_v2(&a[0])) {
                            out.extend(inner);
                        }
                    }
                    ("nullable", _) => {}
                    _ => {
                        out.insert(k.clone(), to_v2(v));
                    }
                }
            }
            if out.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true)) && !out.contains_key("type") {
                out.insert("type".into(), "string".into());
                out.insert("format".into(), "int-or-string".into());
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(to_v2).collect()),
        v => v.clone(),
    }
}

/// Names of the schemas `roots` reference, transitively, within `defs` (roots included).
pub fn closure<'a>(defs: &Map<String, Value>, roots: impl IntoIterator<Item = &'a Value>) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut stack: Vec<&Value> = roots.into_iter().collect();
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(m) => {
                for (k, child) in m {
                    if let ("$ref", Value::String(r)) = (k.as_str(), child) {
                        let name = r.strip_prefix(V3_PREFIX).or_else(|| r.strip_prefix(V2_PREFIX)).unwrap_or(r);
                        if let Some(target) = defs.get(name)
                            && seen.insert(name.to_string())
                        {
                            stack.push(target);
                        }
                    } else {
                        stack.push(child);
                    }
                }
            }
            Value::Array(a) => stack.extend(a),
            _ => {}
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_kind_has_a_schema() {
        let b = builtin();
        for r in crate::catalog::builtin_resources() {
            let name = b.kind_schema(r.group, r.version, r.kind).unwrap_or_else(|| panic!("{} lacks a schema", r.kind));
            let s = &b.v3[name];
            assert_eq!(s["x-kubernetes-group-version-kind"][0]["kind"], r.kind);
            assert!(s.get("required").is_none_or(|r| !r.as_array().unwrap().contains(&json!("metadata"))));
        }
    }

    #[test]
    fn refs_with_siblings_are_wrapped_in_all_of() {
        let b = builtin();
        let spec = &b.v3["io.k8s.api.core.v1.Pod"]["properties"]["spec"];
        assert_eq!(spec["allOf"], json!([{"$ref": "#/components/schemas/io.k8s.api.core.v1.PodSpec"}]));
        assert!(spec["description"].as_str().unwrap().starts_with("Specification"));
        let containers = &b.v3["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"];
        assert_eq!(containers["items"]["$ref"], "#/components/schemas/io.k8s.api.core.v1.Container");
        assert_eq!(containers["x-kubernetes-patch-merge-key"], "name");
        let v2 = &b.v2["io.k8s.api.core.v1.Pod"]["properties"]["spec"];
        assert_eq!(v2["$ref"], "#/definitions/io.k8s.api.core.v1.PodSpec");
        assert!(v2.get("allOf").is_none());
    }

    #[test]
    fn every_patch_meta_entry_names_a_list_field() {
        let b = builtin();
        for (name, field, _) in PATCH_META {
            let prop = &b.v3[*name]["properties"][*field];
            assert_eq!(prop["type"], "array", "{name}.{field}");
        }
    }

    #[test]
    fn closure_follows_refs_transitively() {
        let b = builtin();
        let pod = &b.v3["io.k8s.api.core.v1.Pod"];
        let names = closure(&b.v3, [pod]);
        for n in [
            "io.k8s.api.core.v1.Container",
            "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
            "io.k8s.apimachinery.pkg.api.resource.Quantity",
        ] {
            assert!(names.contains(n), "{n}");
        }
        assert!(!names.contains("io.k8s.api.apps.v1.DeploymentSpec"));
    }
}

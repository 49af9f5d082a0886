//! The catalog of built-in resources the embedded API server serves, with the discovery data
//! kube-apiserver 1.3x publishes for them, and the field selector labels each kind supports.
//!
//! Discovery data (verbs, short names, categories, singular names, subresources and their
//! kinds, storage version hashes) matches what `kubectl api-resources -o wide` and
//! `GET /api/v1`, `GET /apis/G/V` show on a real 1.3x cluster. Verbs are listed sorted, as
//! kube-apiserver lists them for built-in resources.
//!
//! Field selectors follow the `GetAttrs` / `ToSelectableFields` functions of
//! `pkg/registry/*/strategy.go` and the field label conversion functions of
//! `pkg/apis/*/v1/conversion.go`: [`supported_field_labels`] is what a selector may name
//! (anything else is a 400 "field label not supported: X"), [`field_values`] computes the
//! values an object carries for them.

use serde_json::Value;

/// The full verb set of a namespaced or cluster-scoped collection resource.
const ALL_VERBS: &[&str] = &["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

/// Verbs of the `status`, `scale` and similar read-modify-write subresources.
const GET_PATCH_UPDATE: &[&str] = &["get", "patch", "update"];

/// One subresource of a built-in resource (`pods/status`, `deployments/scale` ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subresource {
    /// Subresource name without the parent, e.g. `status`, `scale`, `log`.
    pub name: &'static str,
    /// API group of the object the subresource takes and returns ("" for core).
    pub group: &'static str,
    /// API version of the object the subresource takes and returns.
    pub version: &'static str,
    /// Kind of the object the subresource takes and returns (e.g. `Scale`, `Eviction`).
    pub kind: &'static str,
    /// Verbs the subresource supports, in discovery order.
    pub verbs: &'static [&'static str],
}

/// One built-in resource with its discovery data, as kube-apiserver publishes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltinResource {
    /// API group ("" for the core group).
    pub group: &'static str,
    /// API version, e.g. `v1`.
    pub version: &'static str,
    /// Kind, e.g. `Pod`.
    pub kind: &'static str,
    /// Plural resource name used in URLs, e.g. `pods`.
    pub plural: &'static str,
    /// Singular name (discovery `singularName`), e.g. `pod`.
    pub singular: &'static str,
    /// Whether objects live in namespaces.
    pub namespaced: bool,
    /// Verbs of the main resource, sorted as kube-apiserver lists them.
    pub verbs: &'static [&'static str],
    /// Short names (`po`, `svc` ...), in discovery order.
    pub short_names: &'static [&'static str],
    /// Categories (`all`, `api-extensions`), in discovery order.
    pub categories: &'static [&'static str],
    /// Subresources, sorted by name as discovery lists them.
    pub subresources: &'static [Subresource],
    /// Whether a `status` subresource exists (main endpoint ignores status changes).
    pub has_status: bool,
    /// Whether a `scale` subresource (autoscaling/v1 Scale) exists.
    pub has_scale: bool,
    /// Discovery `storageVersionHash`: base64 of the first 8 bytes of sha256("group/version/kind")
    /// of the storage version.
    pub storage_version_hash: &'static str,
}

impl BuiltinResource {
    /// The `apiVersion` string of this resource: `v1` for core, `group/version` otherwise.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() { self.version.to_string() } else { format!("{}/{}", self.group, self.version) }
    }

    /// The `kind` of the list type, e.g. `PodList`.
    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }

    /// The subresource with this name, if the resource has it.
    pub fn subresource(&self, name: &str) -> Option<&'static Subresource> {
        self.subresources.iter().find(|s| s.name == name)
    }

    /// Whether `verb` is served on the main resource.
    pub fn supports_verb(&self, verb: &str) -> bool {
        self.verbs.contains(&verb)
    }
}

/// A subresource whose object is the parent's own kind.
const fn same_kind(
    name: &'static str,
    group: &'static str,
    kind: &'static str,
    verbs: &'static [&'static str],
) -> Subresource {
    Subresource { name, group, version: "v1", kind, verbs }
}

/// The `scale` subresource, always autoscaling/v1 Scale.
const SCALE: Subresource =
    Subresource { name: "scale", group: "autoscaling", version: "v1", kind: "Scale", verbs: GET_PATCH_UPDATE };

const POD_SUBRESOURCES: &[Subresource] = &[
    same_kind("attach", "", "PodAttachOptions", &["create", "get"]),
    same_kind("binding", "", "Binding", &["create"]),
    same_kind("ephemeralcontainers", "", "Pod", GET_PATCH_UPDATE),
    Subresource { name: "eviction", group: "policy", version: "v1", kind: "Eviction", verbs: &["create"] },
    same_kind("exec", "", "PodExecOptions", &["create", "get"]),
    same_kind("log", "", "Pod", &["get"]),
    same_kind("portforward", "", "PodPortForwardOptions", &["create", "get"]),
    same_kind("proxy", "", "PodProxyOptions", &["create", "delete", "get", "patch", "update"]),
    same_kind("resize", "", "Pod", GET_PATCH_UPDATE),
    same_kind("status", "", "Pod", GET_PATCH_UPDATE),
];

static BUILTIN: &[BuiltinResource] = &[
    BuiltinResource {
        group: "",
        version: "v1",
        kind: "ConfigMap",
        plural: "configmaps",
        singular: "configmap",
        namespaced: true,
        verbs: ALL_VERBS,
        short_names: &["cm"],
        categories: &[],
        subresources: &[],
        has_status: false,
        has_scale: false,
        storage_version_hash: "qFsyl6wFWjQ=",
    },
    BuiltinResource {
        group: "",
        version: "v1",
        kind: "Endpoints",
        plural: "endpoints",
        singular: "endpoints",
        namespaced: true,
        verbs: ALL_VERBS,
        short_names: &["ep"],
        categories: &[],
        subresources: &[],
        has_status: false,
        has_scale: false,
        storage_version_hash: "fWeeMqaN/OA=",
    },
    BuiltinResource {
        group: "",
        version: "v1",
        kind: "Event",
        plural: "events",
        singular: "event",
        namespaced: true,
        verbs: ALL_VERBS,
        short_names: &["ev"],
        categories: &[],
        subresources: &[],
        has_status: false,
        has_scale: false,
        storage_version_hash: "r2yiGXH7wu8=",
    },
    BuiltinResource {
        group: "",
        version: "v1",
        kind: "Namespace",
        plural: "namespaces",
        singular: "namespace",
        namespaced: false,
        verbs: &["create", "delete", "get", "list", "patch", "update", "watch"],
        short_names: &["ns"],
        categories: &[],
        subresources: &[
            same_kind("finalize", "", "Namespace", &["update"]),
            same_kind("status", "", "Namespace", GET_PATCH_UPDATE),
        ],
        has_status: true,
        has_scale: false,
        storage_version_hash: "Q3oi5N2YM8M=",
    },
    BuiltinResource {
        group: "",
        version: "v1",
        kind: "Node",
        plural: "nodes",
        singular: "node",
        namespaced: false,
        verbs: ALL_VERBS,
        short_names: &["no"],
        categories: &[],
        subresources: &[
            same_kind("proxy", "", "NodeProxyOptions", &["create", "delete", "get", "patch", "update"]),
            same_kind("status", "", "Node", GET_PATCH_UPDATE),
        ],
        has_status: true,
        has_scale: false,
        storage_version_hash: "XwShjMxG9Fs=",
    },
    BuiltinResource {
        group: "",
        version: "v1",
        kind: "Pod",
        plural: "pods",
        singular: "pod",
        namespaced: true,
        verbs: ALL_VERBS,
        short_names: &["po"],
        categories: &["all"],
        subresources: POD_SUBRESOURCES,
        has_status: true,
        has_scale: false,
        storage_version_hash: "xPOwRZ+Yhw8=",
    },
    BuiltinResource {
        group: "",
        version: "v1",
        kind: "Secret",
        plural: "secrets",
        singular: "secret",
        namespaced: true,
        verbs: ALL_VERBS,
        short_names: &[],
        categories: &[],
        subresources: &[],
        has_status: false,
        has_scale: false,
        storage_version_hash: "S6u1pOWzb84=",
    },
    BuiltinResource {
        group: "",
        version: "v1",
        kind: "ServiceAccount",
        plural: "serviceaccounts",
        singular: "serviceaccount",
        namespaced: true,
        verbs: ALL_VERBS,
        short_names: &["sa"],
        categories: &[],
        subresources: &[Subresource {
            name: "token",
            group: "authentication.k8s.io",
            version: "v1",
            kind: "TokenRequest",
            verbs: &["create"],
        }],
        has_status: false,
        has_scale: false,
        storage_version_hash: "pbx9ZvyFpBE=",
    },
    BuiltinResource {
        group: "",
        version: "v1",
        kind: "Service",
        plural: "services",
        singular: "service",
        namespaced: true,
        verbs: ALL_VERBS,
        short_names: &["svc"],
        categories: &["all"],
        subresources: &[
            same_kind("proxy", "", "ServiceProxyOptions", &["create", "delete", "get", "patch", "update"]),
            same_kind("status", "", "Service", GET_PATCH_UPDATE),
        ],
        has_status: true,
        has_scale: false,
        storage_version_hash: "0/CO1lhkEBI=",
    },
    BuiltinResource {
        group: "apiextensions.k8s.io",
        version: "v1",
        kind: "CustomResourceDefinition",
        plural: "customresourcedefinitions",
        singular: "customresourcedefinition",
        namespaced: false,
        verbs: ALL_VERBS,
        short_names: &["crd", "crds"],
        categories: &["api-extensions"],
        subresources: &[same_kind("status", "apiextensions.k8s.io", "CustomResourceDefinition", GET_PATCH_UPDATE)],
        has_status: true,
        has_scale: false,
        storage_version_hash: "M5uH+AlWATY=",
    },
    BuiltinResource {
        group: "apps",
        version: "v1",
        kind: "DaemonSet",
        plural: "daemonsets",
        singular: "daemonset",
        namespaced: true,
        verbs: ALL_VERBS,
        short_names: &["ds"],
        categories: &["all"],
        subresources: &[same_kind("status", "apps", "DaemonSet", GET_PATCH_UPDATE)],
        has_status: true,
        has_scale: false,
        storage_version_hash: "dd7pWHUlMKQ=",
    },
    BuiltinResource {
        group: "apps",
        version: "v1",
        kind: "Deployment",
        plural: "deployments",
        singular: "deployment",
        namespaced: true,
        verbs: ALL_VERBS,
        short_names: &["deploy"],
        categories: &["all"],
        subresources: &[SCALE, same_kind("status", "apps", "Deployment", GET_PATCH_UPDATE)],
        has_status: true,
        has_scale: true,
        storage_version_hash: "8aSe+NMegvE=",
    },
    BuiltinResource {
        group: "apps",
        version: "v1",
        kind: "ReplicaSet",
        plural: "replicasets",
        singular: "replicaset",
        namespaced: true,
        verbs: ALL_VERBS,
        short_names: &["rs"],
        categories: &["all"],
        subresources: &[SCALE, same_kind("status", "apps", "ReplicaSet", GET_PATCH_UPDATE)],
        has_status: true,
        has_scale: true,
        storage_version_hash: "P1RzHs8/mWQ=",
    },
    BuiltinResource {
        group: "apps",
        version: "v1",
        kind: "StatefulSet",
        plural: "statefulsets",
        singular: "statefulset",
        namespaced: true,
        verbs: ALL_VERBS,
        short_names: &["sts"],
        categories: &["all"],
        subresources: &[SCALE, same_kind("status", "apps", "StatefulSet", GET_PATCH_UPDATE)],
        has_status: true,
        has_scale: true,
        storage_version_hash: "H+vl74LkKdo=",
    },
    BuiltinResource {
        group: "batch",
        version: "v1",
        kind: "CronJob",
        plural: "cronjobs",
        singular: "cronjob",
        namespaced: true,
        verbs: ALL_VERBS,
        short_names: &["cj"],
        categories: &["all"],
        subresources: &[same_kind("status", "batch", "CronJob", GET_PATCH_UPDATE)],
        has_status: true,
        has_scale: false,
        storage_version_hash: "sd5LIXh4Fjs=",
    },
    BuiltinResource {
        group: "batch",
        version: "v1",
        kind: "Job",
        plural: "jobs",
        singular: "job",
        namespaced: true,
        verbs: ALL_VERBS,
        short_names: &[],
        categories: &["all"],
        subresources: &[same_kind("status", "batch", "Job", GET_PATCH_UPDATE)],
        has_status: true,
        has_scale: false,
        storage_version_hash: "mudhfqk/qZY=",
    },
    BuiltinResource {
        group: "coordination.k8s.io",
        version: "v1",
        kind: "Lease",
        plural: "leases",
        singular: "lease",
        namespaced: true,
        verbs: ALL_VERBS,
        short_names: &[],
        categories: &[],
        subresources: &[],
        has_status: false,
        has_scale: false,
        storage_version_hash: "gqkMMb/YqFM=",
    },
    // events.k8s.io/v1 events are stored as core v1 Events, hence the same storage hash.
    BuiltinResource {
        group: "events.k8s.io",
        version: "v1",
        kind: "Event",
        plural: "events",
        singular: "event",
        namespaced: true,
        verbs: ALL_VERBS,
        short_names: &["ev"],
        categories: &[],
        subresources: &[],
        has_status: false,
        has_scale: false,
        storage_version_hash: "r2yiGXH7wu8=",
    },
];

/// Every built-in resource, grouped by group-version (core first, then groups sorted by name)
/// and sorted by plural within a group-version, as discovery lists them.
pub fn builtin_resources() -> &'static [BuiltinResource] {
    BUILTIN
}

/// The built-in resource served at `group`/`version`/`plural`, if any.
pub fn lookup(group: &str, version: &str, plural: &str) -> Option<&'static BuiltinResource> {
    BUILTIN.iter().find(|r| r.group == group && r.version == version && r.plural == plural)
}

/// The built-in resource of `group`/`version`/`kind`, if any.
pub fn lookup_kind(group: &str, version: &str, kind: &str) -> Option<&'static BuiltinResource> {
    BUILTIN.iter().find(|r| r.group == group && r.version == version && r.kind == kind)
}

/// Built-in resources whose plural, singular, short name or kind (case-insensitive) is `name`,
/// the way kubectl resolves `kubectl get <name>`.
pub fn lookup_by_name(name: &str) -> Vec<&'static BuiltinResource> {
    let lower = name.to_ascii_lowercase();
    BUILTIN
        .iter()
        .filter(|r| {
            r.plural == lower
                || r.singular == lower
                || r.short_names.contains(&lower.as_str())
                || r.kind.eq_ignore_ascii_case(name)
        })
        .collect()
}

/// The distinct group-versions of the built-in resources, core (`""`, `v1`) first.
pub fn builtin_group_versions() -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&'static str, &'static str)> = Vec::new();
    for r in BUILTIN {
        if !out.contains(&(r.group, r.version)) {
            out.push((r.group, r.version));
        }
    }
    out
}

/// Field labels every resource supports (custom resources included).
const META_FIELDS: &[&str] = &["metadata.name", "metadata.namespace"];

/// The field selector labels a selector on this resource may name; any other label is
/// rejected by kube-apiserver with 400 "field label not supported: <label>".
///
/// `group` and `plural` identify the resource; unknown resources (custom resources) get
/// `metadata.name` and `metadata.namespace`.
pub fn supported_field_labels(group: &str, plural: &str) -> &'static [&'static str] {
    match (group, plural) {
        ("", "pods") => &[
            "metadata.name",
            "metadata.namespace",
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.podIPs",
            "status.nominatedNodeName",
        ],
        ("", "events") => &[
            "metadata.name",
            "metadata.namespace",
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ],
        // events.k8s.io takes its own spellings and maps them to the core field set.
        ("events.k8s.io", "events") => &[
            "metadata.name",
            "metadata.namespace",
            "regarding.kind",
            "regarding.namespace",
            "regarding.name",
            "regarding.uid",
            "regarding.apiVersion",
            "regarding.resourceVersion",
            "regarding.fieldPath",
            "reason",
            "reportingController",
            "source",
            "type",
        ],
        ("", "secrets") => &["metadata.name", "metadata.namespace", "type"],
        ("", "namespaces") => &["metadata.name", "status.phase"],
        ("", "nodes") => &["metadata.name", "spec.unschedulable"],
        ("apps", "replicasets") => &["metadata.name", "metadata.namespace", "status.replicas"],
        ("batch", "jobs") => &["metadata.name", "metadata.namespace", "status.successful"],
        _ => META_FIELDS,
    }
}

/// Maps a field label as a client writes it to the label [`field_values`] reports, the way
/// the field label conversion functions do: `spec.host` on pods means `spec.nodeName`;
/// events.k8s.io's `regarding.*` and `reportingController` mean the core Event's
/// `involvedObject.*` and `reportingComponent`. Other labels are returned unchanged.
pub fn normalize_field_label<'a>(group: &str, plural: &str, label: &'a str) -> &'a str {
    match (group, plural, label) {
        ("", "pods", "spec.host") => "spec.nodeName",
        ("events.k8s.io", "events", "reportingController") => "reportingComponent",
        ("events.k8s.io", "events", l) => match l.strip_prefix("regarding.") {
            Some(field) => INVOLVED_OBJECT_FIELDS.iter().find(|(_, json)| *json == field).map_or(l, |(core, _)| *core),
            None => l,
        },
        _ => label,
    }
}

/// Whether a field selector on this resource may name `label` (as the client writes it).
pub fn is_supported_field_label(group: &str, plural: &str, label: &str) -> bool {
    let supported = supported_field_labels(group, plural);
    supported.contains(&label) || supported.contains(&normalize_field_label(group, plural, label))
}

/// The field-selector values of `obj`, as the resource's `GetAttrs` computes them; labels
/// are the normalized ones (see [`normalize_field_label`]), so events of both groups report
/// the core Event labels (`involvedObject.kind`, `reportingComponent` ...).
///
/// Missing fields yield the Go zero value (`""`, `"false"`, `"0"`), exactly as the typed
/// structs would. Cluster-scoped resources carry no `metadata.namespace` (except custom
/// resources, which always do). `status.podIPs` is accepted as a label but, like in
/// kube-apiserver, carries no value (it only matches the empty string).
pub fn field_values(group: &str, plural: &str, obj: &Value) -> Vec<(&'static str, String)> {
    let s = |path: &[&str]| str_at(obj, path);
    let mut out = vec![("metadata.name", s(&["metadata", "name"]))];
    let namespaced = lookup_plural_any_version(group, plural).is_none_or(|r| r.namespaced);
    if namespaced {
        out.push(("metadata.namespace", s(&["metadata", "namespace"])));
    }
    match (group, plural) {
        ("", "pods") => {
            out.push(("spec.nodeName", s(&["spec", "nodeName"])));
            out.push(("spec.restartPolicy", s(&["spec", "restartPolicy"])));
            out.push(("spec.schedulerName", s(&["spec", "schedulerName"])));
            out.push(("spec.serviceAccountName", s(&["spec", "serviceAccountName"])));
            out.push(("spec.hostNetwork", bool_at(obj, &["spec", "hostNetwork"])));
            out.push(("status.phase", s(&["status", "phase"])));
            // status.podIP is authoritative over podIPs[0], as in the v1 -> internal conversion.
            let mut first_ip = s(&["status", "podIP"]);
            if first_ip.is_empty() {
                first_ip = obj.pointer("/status/podIPs/0/ip").and_then(Value::as_str).unwrap_or_default().to_string();
            }
            out.push(("status.podIP", first_ip));
            out.push(("status.nominatedNodeName", s(&["status", "nominatedNodeName"])));
        }
        ("", "events") => {
            for (label, field) in INVOLVED_OBJECT_FIELDS {
                out.push((label, s(&["involvedObject", field])));
            }
            out.push(("reason", s(&["reason"])));
            out.push(("reportingComponent", s(&["reportingComponent"])));
            let mut source = s(&["source", "component"]);
            if source.is_empty() {
                source = s(&["reportingComponent"]);
            }
            out.push(("source", source));
            out.push(("type", s(&["type"])));
        }
        ("events.k8s.io", "events") => {
            for (label, field) in INVOLVED_OBJECT_FIELDS {
                out.push((label, s(&["regarding", field])));
            }
            out.push(("reason", s(&["reason"])));
            out.push(("reportingComponent", s(&["reportingController"])));
            let mut source = s(&["deprecatedSource", "component"]);
            if source.is_empty() {
                source = s(&["reportingController"]);
            }
            out.push(("source", source));
            out.push(("type", s(&["type"])));
        }
        ("", "secrets") => out.push(("type", s(&["type"]))),
        ("", "namespaces") => out.push(("status.phase", s(&["status", "phase"]))),
        ("", "nodes") => out.push(("spec.unschedulable", bool_at(obj, &["spec", "unschedulable"]))),
        ("apps", "replicasets") => out.push(("status.replicas", int_at(obj, &["status", "replicas"]))),
        ("batch", "jobs") => out.push(("status.successful", int_at(obj, &["status", "succeeded"]))),
        _ => {}
    }
    out
}

/// Field labels of `involvedObject` (core) / `regarding` (events.k8s.io) with their JSON names.
const INVOLVED_OBJECT_FIELDS: [(&str, &str); 7] = [
    ("involvedObject.kind", "kind"),
    ("involvedObject.namespace", "namespace"),
    ("involvedObject.name", "name"),
    ("involvedObject.uid", "uid"),
    ("involvedObject.apiVersion", "apiVersion"),
    ("involvedObject.resourceVersion", "resourceVersion"),
    ("involvedObject.fieldPath", "fieldPath"),
];

fn lookup_plural_any_version(group: &str, plural: &str) -> Option<&'static BuiltinResource> {
    BUILTIN.iter().find(|r| r.group == group && r.plural == plural)
}

fn value_at<'a>(obj: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(obj, |v, key| v.get(key))
}

fn str_at(obj: &Value, path: &[&str]) -> String {
    value_at(obj, path).and_then(Value::as_str).unwrap_or_default().to_string()
}

fn bool_at(obj: &Value, path: &[&str]) -> String {
    let b = value_at(obj, path).and_then(Value::as_bool).unwrap_or(false);
    b.to_string()
}

fn int_at(obj: &Value, path: &[&str]) -> String {
    value_at(obj, path).and_then(Value::as_i64).unwrap_or(0).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pods_discovery_entry() {
        let pods = lookup("", "v1", "pods").expect("pods");
        assert_eq!(pods.kind, "Pod");
        assert_eq!(pods.singular, "pod");
        assert!(pods.namespaced);
        assert_eq!(pods.verbs, ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]);
        assert_eq!(pods.short_names, ["po"]);
        assert_eq!(pods.categories, ["all"]);
        assert!(pods.has_status && !pods.has_scale);
        assert_eq!(pods.storage_version_hash, "xPOwRZ+Yhw8=");
        let status = pods.subresource("status").expect("status");
        assert_eq!((status.kind, status.verbs), ("Pod", GET_PATCH_UPDATE));
        let eviction = pods.subresource("eviction").expect("eviction");
        assert_eq!((eviction.group, eviction.kind), ("policy", "Eviction"));
        assert_eq!(pods.subresource("log").expect("log").verbs, ["get"]);
        assert_eq!(pods.subresource("binding").expect("binding").kind, "Binding");
        assert_eq!(pods.api_version(), "v1");
        assert_eq!(pods.list_kind(), "PodList");
    }

    #[test]
    fn deployments_discovery_entry() {
        let d = lookup("apps", "v1", "deployments").expect("deployments");
        assert_eq!(d.kind, "Deployment");
        assert_eq!(d.short_names, ["deploy"]);
        assert_eq!(d.categories, ["all"]);
        assert!(d.has_scale && d.has_status);
        let scale = d.subresource("scale").expect("scale");
        assert_eq!((scale.group, scale.version, scale.kind), ("autoscaling", "v1", "Scale"));
        assert_eq!(scale.verbs, ["get", "patch", "update"]);
        assert_eq!(d.api_version(), "apps/v1");
        assert!(lookup("apps", "v1", "daemonsets").expect("ds").subresource("scale").is_none());
    }

    #[test]
    fn crds_discovery_entry() {
        let c = lookup("apiextensions.k8s.io", "v1", "customresourcedefinitions").expect("crd");
        assert_eq!(c.kind, "CustomResourceDefinition");
        assert!(!c.namespaced);
        assert_eq!(c.short_names, ["crd", "crds"]);
        assert_eq!(c.categories, ["api-extensions"]);
        assert_eq!(c.subresource("status").expect("status").verbs, GET_PATCH_UPDATE);
        assert_eq!(lookup_by_name("crds"), vec![c]);
    }

    #[test]
    fn namespaces_have_no_deletecollection() {
        let ns = lookup("", "v1", "namespaces").expect("ns");
        assert!(!ns.supports_verb("deletecollection"));
        assert!(ns.supports_verb("watch"));
        assert_eq!(ns.short_names, ["ns"]);
    }

    #[test]
    fn short_names_resolve() {
        for (short, plural) in [
            ("po", "pods"),
            ("svc", "services"),
            ("no", "nodes"),
            ("cm", "configmaps"),
            ("ep", "endpoints"),
            ("sa", "serviceaccounts"),
            ("rs", "replicasets"),
            ("ds", "daemonsets"),
            ("sts", "statefulsets"),
            ("cj", "cronjobs"),
            ("deploy", "deployments"),
        ] {
            let found = lookup_by_name(short);
            assert_eq!(found.len(), 1, "{short}");
            assert_eq!(found[0].plural, plural);
        }
        // Both event resources answer to "ev".
        assert_eq!(lookup_by_name("ev").len(), 2);
        assert_eq!(lookup_by_name("Pod")[0].plural, "pods");
    }

    #[test]
    fn group_versions_core_first() {
        let gvs = builtin_group_versions();
        assert_eq!(gvs[0], ("", "v1"));
        assert!(gvs.contains(&("events.k8s.io", "v1")));
        assert!(gvs.contains(&("coordination.k8s.io", "v1")));
    }

    #[test]
    fn pod_field_values() {
        let pod = json!({
            "metadata": {"name": "p", "namespace": "ns"},
            "spec": {"nodeName": "n1", "restartPolicy": "Always", "hostNetwork": true},
            "status": {"phase": "Running", "podIPs": [{"ip": "10.0.0.1"}]}
        });
        let v = field_values("", "pods", &pod);
        let get = |k: &str| v.iter().find(|(l, _)| *l == k).map(|(_, v)| v.as_str());
        assert_eq!(get("metadata.name"), Some("p"));
        assert_eq!(get("metadata.namespace"), Some("ns"));
        assert_eq!(get("spec.nodeName"), Some("n1"));
        assert_eq!(get("spec.hostNetwork"), Some("true"));
        assert_eq!(get("status.podIP"), Some("10.0.0.1"));
        assert_eq!(get("spec.schedulerName"), Some(""));
        assert!(is_supported_field_label("", "pods", "spec.host"));
        assert!(!is_supported_field_label("", "pods", "spec.size"));
    }

    #[test]
    fn other_field_values() {
        let node = json!({"metadata": {"name": "n"}, "spec": {}});
        assert_eq!(
            field_values("", "nodes", &node),
            vec![("metadata.name", "n".to_string()), ("spec.unschedulable", "false".to_string())]
        );
        let job = json!({"metadata": {"name": "j", "namespace": "d"}, "status": {"succeeded": 2}});
        assert!(field_values("batch", "jobs", &job).contains(&("status.successful", "2".into())));
        let ev = json!({"metadata": {"name": "e"}, "involvedObject": {"kind": "Pod"},
                        "reportingComponent": "kubelet"});
        let v = field_values("", "events", &ev);
        assert!(v.contains(&("involvedObject.kind", "Pod".into())));
        assert!(v.contains(&("source", "kubelet".into())));
        let cr = json!({"metadata": {"name": "w", "namespace": "x"}});
        assert_eq!(field_values("example.com", "widgets", &cr).len(), 2);
        assert!(!is_supported_field_label("", "nodes", "metadata.namespace"));
        assert!(is_supported_field_label("events.k8s.io", "events", "regarding.kind"));
        assert!(!is_supported_field_label("events.k8s.io", "events", "involvedObject.kind"));
        assert_eq!(normalize_field_label("events.k8s.io", "events", "regarding.uid"), "involvedObject.uid");
        assert_eq!(normalize_field_label("events.k8s.io", "events", "reportingController"), "reportingComponent");
        let ev1 = json!({"metadata": {"name": "e"}, "regarding": {"name": "p"}, "reportingController": "c"});
        let v = field_values("events.k8s.io", "events", &ev1);
        assert!(v.contains(&("involvedObject.name", "p".into())));
        assert!(v.contains(&("reportingComponent", "c".into())));
        assert!(is_supported_field_label("", "secrets", "type"));
    }
}

//! The resources the server serves: the built-in catalog plus the custom resources that
//! established CustomResourceDefinitions add, with everything discovery and routing need.

use std::sync::{Arc, RwLock};

use serde_json::Value;

use crate::catalog::{self, BuiltinResource};
use crate::table::PrinterColumn;

/// How a custom resource's `scale` subresource maps onto its object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScalePaths {
    /// JSON path of the desired replicas, e.g. `.spec.replicas`.
    pub spec_replicas: String,
    /// JSON path of the observed replicas, e.g. `.status.replicas`.
    pub status_replicas: String,
    /// JSON path of the label selector string, if any.
    pub label_selector: Option<String>,
}

/// A resource served at one group/version.
#[derive(Debug, Clone)]
pub struct ServedResource {
    /// API group ("" for core).
    pub group: String,
    /// Version.
    pub version: String,
    /// Kind of the objects.
    pub kind: String,
    /// Kind of the list.
    pub list_kind: String,
    /// Plural name (URL segment).
    pub plural: String,
    /// Singular name.
    pub singular: String,
    /// Whether objects live in namespaces.
    pub namespaced: bool,
    /// Verbs served.
    pub verbs: Vec<String>,
    /// Short names.
    pub short_names: Vec<String>,
    /// Categories.
    pub categories: Vec<String>,
    /// Whether there is a status subresource.
    pub has_status: bool,
    /// The scale subresource, if any.
    pub scale: Option<ScalePaths>,
    /// The catalog entry for built-in resources.
    pub builtin: Option<&'static BuiltinResource>,
    /// Printer columns of a custom resource.
    pub printer_columns: Vec<PrinterColumn>,
    /// The OpenAPI schema of a custom resource version (its openAPIV3Schema).
    pub schema: Option<Value>,
    /// Whether this version is the preferred (storage) version of its group for discovery.
    pub storage_version: bool,
    /// The discovery storageVersionHash.
    pub storage_version_hash: String,
}

impl ServedResource {
    /// The store key of the resource, shared by all its versions: `plural.group`.
    pub fn storage_key(&self) -> String {
        format!("{}.{}", self.plural, self.group)
    }

    /// The `apiVersion` string.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() { self.version.clone() } else { format!("{}/{}", self.group, self.version) }
    }

    /// Whether this is a built-in kind (validated through its typed representation).
    pub fn is_builtin(&self) -> bool {
        self.builtin.is_some()
    }

    /// Whether the verb is served.
    pub fn supports(&self, verb: &str) -> bool {
        self.verbs.iter().any(|v| v == verb)
    }

    fn from_builtin(b: &'static BuiltinResource) -> Self {
        let strs = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        Self {
            group: b.group.into(),
            version: b.version.into(),
            kind: b.kind.into(),
            list_kind: b.list_kind(),
            plural: b.plural.into(),
            singular: b.singular.into(),
            namespaced: b.namespaced,
            verbs: strs(b.verbs),
            short_names: strs(b.short_names),
            categories: strs(b.categories),
            has_status: b.has_status,
            scale: b.has_scale.then(|| ScalePaths {
                spec_replicas: ".spec.replicas".into(),
                status_replicas: ".status.replicas".into(),
                label_selector: Some(".status.selector".into()),
            }),
            builtin: Some(b),
            printer_columns: Vec::new(),
            schema: None,
            storage_version: true,
            storage_version_hash: b.storage_version_hash.into(),
        }
    }
}

/// The set of served resources; custom resources come and go with their CRDs.
pub struct Registry {
    resources: RwLock<Vec<Arc<ServedResource>>>,
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

impl Registry {
    /// The built-in resources.
    pub fn new() -> Self {
        let resources =
            catalog::builtin_resources().iter().map(|b| Arc::new(ServedResource::from_builtin(b))).collect();
        Self { resources: RwLock::new(resources) }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<Arc<ServedResource>>> {
        self.resources.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The resource served at group/version/plural.
    pub fn lookup(&self, group: &str, version: &str, plural: &str) -> Option<Arc<ServedResource>> {
        self.read().iter().find(|r| r.group == group && r.version == version && r.plural == plural).cloned()
    }

    /// Every served resource, in discovery order (built-ins first, then CRDs by group).
    pub fn all(&self) -> Vec<Arc<ServedResource>> {
        self.read().clone()
    }

    /// Whether a group/version is served at all.
    pub fn serves_group_version(&self, group: &str, version: &str) -> bool {
        self.read().iter().any(|r| r.group == group && r.version == version)
    }

    /// Groups with their versions (preferred first), core group excluded, in discovery order.
    pub fn groups(&self) -> Vec<(String, Vec<String>)> {
        let mut out: Vec<(String, Vec<String>)> = Vec::new();
        for r in self.read().iter().filter(|r| !r.group.is_empty()) {
            match out.iter_mut().find(|(g, _)| *g == r.group) {
                Some((_, versions)) => {
                    if !versions.contains(&r.version) {
                        if r.storage_version {
                            versions.insert(0, r.version.clone())
                        } else {
                            versions.push(r.version.clone())
                        }
                    }
                }
                None => out.push((r.group.clone(), vec![r.version.clone()])),
            }
        }
        out
    }

    /// Serves (or re-serves, after an update) the resources of a CRD object.
    pub fn install_crd(&self, crd: &Value) -> Result<(), String> {
        let served = resources_of_crd(crd)?;
        let Some(first) = served.first() else { return Ok(()) };
        let (group, plural) = (first.group.clone(), first.plural.clone());
        let mut all = self.resources.write().unwrap_or_else(|p| p.into_inner());
        all.retain(|r| !(r.group == group && r.plural == plural && r.builtin.is_none()));
        all.extend(served.into_iter().map(Arc::new));
        Ok(())
    }

    /// Stops serving a CRD's resources.
    pub fn remove_crd(&self, group: &str, plural: &str) {
        let mut all = self.resources.write().unwrap_or_else(|p| p.into_inner());
        all.retain(|r| !(r.group == group && r.plural == plural && r.builtin.is_none()));
    }
}

fn resources_of_crd(crd: &Value) -> Result<Vec<ServedResource>, String> {
    let spec = crd.get("spec").ok_or("spec is required")?;
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    let strs = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|x| x.as_str().map(String::from)).collect())
            .unwrap_or_default()
    };
    let group = s(spec, "group");
    let names = spec.get("names").ok_or("spec.names is required")?;
    let kind = s(names, "kind");
    let plural = s(names, "plural");
    if group.is_empty() || kind.is_empty() || plural.is_empty() {
        return Err("spec.group, spec.names.kind and spec.names.plural are required".into());
    }
    let singular = Some(s(names, "singular")).filter(|x| !x.is_empty()).unwrap_or_else(|| kind.to_ascii_lowercase());
    let list_kind = Some(s(names, "listKind")).filter(|x| !x.is_empty()).unwrap_or_else(|| format!("{kind}List"));
    let namespaced = s(spec, "scope") != "Cluster";
    let mut out = Vec::new();
    for v in spec.get("versions").and_then(Value::as_array).into_iter().flatten() {
        if v.get("served").and_then(Value::as_bool) == Some(false) {
            continue;
        }
        let subs = v.get("subresources");
        let scale = subs.and_then(|s| s.get("scale")).map(|sc| ScalePaths {
            spec_replicas: s(sc, "specReplicasPath"),
            status_replicas: s(sc, "statusReplicasPath"),
            label_selector: Some(s(sc, "labelSelectorPath")).filter(|x| !x.is_empty()),
        });
        let printer_columns = v
            .get("additionalPrinterColumns")
            .and_then(Value::as_array)
            .map(|cols| cols.iter().map(PrinterColumn::from_json).collect())
            .unwrap_or_default();
        let version = s(v, "name");
        out.push(ServedResource {
            group: group.clone(),
            version: version.clone(),
            kind: kind.clone(),
            list_kind: list_kind.clone(),
            plural: plural.clone(),
            singular: singular.clone(),
            namespaced,
            verbs: ["delete", "deletecollection", "get", "list", "patch", "create", "update", "watch"]
                .map(String::from)
                .to_vec(),
            short_names: strs(names.get("shortNames")),
            categories: strs(names.get("categories")),
            has_status: subs.and_then(|s| s.get("status")).is_some(),
            scale,
            builtin: None,
            printer_columns,
            schema: v.pointer("/schema/openAPIV3Schema").cloned(),
            storage_version: v.get("storage").and_then(Value::as_bool).unwrap_or(false),
            storage_version_hash: storage_version_hash(&group, &version, &kind),
        });
    }
    Ok(out)
}

/// Discovery's storageVersionHash: base64 of the first 8 bytes of sha256("group/version/kind").
/// A stable FNV-based stand-in is used here since clients only compare it for equality.
pub fn storage_version_hash(group: &str, version: &str, kind: &str) -> String {
    use base64::Engine;
    let mut h: u64 = 0xcbf29ce484222325;
    for b in format!("{group}/{version}/{kind}").bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    base64::engine::general_purpose::STANDARD.encode(h.to_be_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn crds_add_and_remove_resources() {
        let reg = Registry::new();
        assert!(reg.lookup("", "v1", "pods").is_some());
        assert!(reg.lookup("example.com", "v1", "widgets").is_none());
        reg.install_crd(&json!({"spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"kind": "Widget", "plural": "widgets", "shortNames": ["wdg"]},
            "versions": [{"name": "v1", "served": true, "storage": true, "subresources": {"status": {}}},
                         {"name": "v2", "served": false}]}}))
            .unwrap();
        let w = reg.lookup("example.com", "v1", "widgets").unwrap();
        assert_eq!((w.kind.as_str(), w.list_kind.as_str(), w.singular.as_str()), ("Widget", "WidgetList", "widget"));
        assert!(w.has_status && w.namespaced);
        assert!(reg.lookup("example.com", "v2", "widgets").is_none());
        assert!(reg.groups().iter().any(|(g, v)| g == "example.com" && v == &["v1"]));
        reg.remove_crd("example.com", "widgets");
        assert!(reg.lookup("example.com", "v1", "widgets").is_none());
        assert!(reg.install_crd(&json!({"spec": {}})).is_err());
    }
}

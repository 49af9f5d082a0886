//! Discovery documents: /version, /api, /apis, per-group and per-version resource lists, and
//! aggregated discovery (apidiscovery.k8s.io v2 and v2beta1).

use serde_json::{Value, json};

use crate::registry::{Registry, ServedResource};

/// The version this server reports: the Kubernetes API it serves (k8s-openapi's newest).
pub fn version() -> Value {
    json!({
        "major": "1",
        "minor": "37",
        "emulationMajor": "1",
        "emulationMinor": "37",
        "minCompatibilityMajor": "1",
        "minCompatibilityMinor": "36",
        "gitVersion": "v1.37.0-rkube",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "rust",
        "compiler": "rustc",
        "platform": format!("{}/{}", std::env::consts::OS, arch()),
    })
}

fn arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

/// `/api`.
pub fn legacy_versions(server_address: &str) -> Value {
    json!({"kind": "APIVersions", "versions": ["v1"],
           "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]})
}

fn group_entry(group: &str, versions: &[String]) -> Value {
    let vs: Vec<Value> =
        versions.iter().map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v})).collect();
    json!({"name": group, "versions": vs, "preferredVersion": vs[0]})
}

/// `/apis`.
pub fn groups(reg: &Registry) -> Value {
    let groups: Vec<Value> = reg.groups().iter().map(|(g, vs)| group_entry(g, vs)).collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `/apis/{group}`, if served.
pub fn group(reg: &Registry, name: &str) -> Option<Value> {
    let groups = reg.groups();
    let (g, vs) = groups.iter().find(|(g, _)| g == name)?;
    let mut doc = group_entry(g, vs);
    doc["kind"] = "APIGroup".into();
    doc["apiVersion"] = "v1".into();
    Some(doc)
}

fn subresources(r: &ServedResource) -> Vec<(String, String, String, String, Vec<String>)> {
    // (name, group, version, kind, verbs)
    let mut out = Vec::new();
    match r.builtin {
        Some(b) => {
            for s in b.subresources {
                out.push((
                    s.name.to_string(),
                    s.group.to_string(),
                    s.version.to_string(),
                    s.kind.to_string(),
                    s.verbs.iter().map(|v| v.to_string()).collect(),
                ));
            }
        }
        None => {
            let gpu = || vec!["get".to_string(), "patch".into(), "update".into()];
            if r.scale.is_some() {
                out.push(("scale".into(), "autoscaling".into(), "v1".into(), "Scale".into(), gpu()));
            }
            if r.has_status {
                out.push(("status".into(), r.group.clone(), r.version.clone(), r.kind.clone(), gpu()));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// `/api/v1` or `/apis/{group}/{version}`, if served.
pub fn resource_list(reg: &Registry, group: &str, version: &str) -> Option<Value> {
    if !reg.serves_group_version(group, version) {
        return None;
    }
    let gv = if group.is_empty() { version.to_string() } else { format!("{group}/{version}") };
    let mut resources = Vec::new();
    for r in reg.all().iter().filter(|r| r.group == group && r.version == version) {
        let mut entry = json!({"name": r.plural, "singularName": r.singular, "namespaced": r.namespaced,
                               "kind": r.kind, "verbs": r.verbs});
        if !r.short_names.is_empty() {
            entry["shortNames"] = json!(r.short_names);
        }
        if !r.categories.is_empty() {
            entry["categories"] = json!(r.categories);
        }
        entry["storageVersionHash"] = r.storage_version_hash.clone().into();
        resources.push(entry);
        for (name, g, v, kind, verbs) in subresources(r) {
            let mut sub = json!({"name": format!("{}/{name}", r.plural), "singularName": "", "namespaced": r.namespaced,
                                 "kind": kind, "verbs": verbs});
            if g != r.group || v != r.version {
                sub["group"] = g.into();
                sub["version"] = v.into();
            }
            resources.push(sub);
        }
    }
    Some(json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}))
}

/// Aggregated discovery for `/api` (core) or `/apis` (every other group).
pub fn aggregated(reg: &Registry, core: bool, api_version: &str) -> Value {
    let all = reg.all();
    let mut items = Vec::new();
    let groups: Vec<(String, Vec<String>)> =
        if core { vec![(String::new(), vec!["v1".to_string()])] } else { reg.groups() };
    for (group, versions) in groups {
        let mut vs = Vec::new();
        for version in versions {
            let resources: Vec<Value> = all
                .iter()
                .filter(|r| r.group == group && r.version == version)
                .map(|r| {
                    let subs: Vec<Value> = subresources(r)
                        .into_iter()
                        .map(|(name, g, v, kind, verbs)| {
                            json!({"subresource": name, "responseKind": {"group": g, "version": v, "kind": kind}, "verbs": verbs})
                        })
                        .collect();
                    let mut e = json!({
                        "resource": r.plural,
                        "responseKind": {"group": r.group, "version": r.version, "kind": r.kind},
                        "scope": if r.namespaced { "Namespaced" } else { "Cluster" },
                        "singularResource": r.singular,
                        "verbs": r.verbs,
                    });
                    if !r.short_names.is_empty() {
                        e["shortNames"] = json!(r.short_names);
                    }
                    if !r.categories.is_empty() {
                        e["categories"] = json!(r.categories);
                    }
                    if !subs.is_empty() {
                        e["subresources"] = json!(subs);
                    }
                    e
                })
                .collect();
            vs.push(json!({"version": version, "resources": resources, "freshness": "Current"}));
        }
        let mut meta = json!({});
        if !group.is_empty() {
            meta["name"] = group.into();
        }
        items.push(json!({"metadata": meta, "versions": vs}));
    }
    json!({"kind": "APIGroupDiscoveryList", "apiVersion": api_version, "metadata": {}, "items": items})
}

/// The aggregated discovery version the Accept header asks for, if any.
pub fn wants_aggregated(accept: Option<&str>) -> Option<&'static str> {
    let accept = accept?;
    for part in accept.split(',') {
        let p: Vec<&str> = part.split(';').map(str::trim).collect();
        let has = |kv: &str| p.contains(&kv);
        if p.first() == Some(&"application/json") && has("g=apidiscovery.k8s.io") && has("as=APIGroupDiscoveryList") {
            if has("v=v2") {
                return Some("v2");
            }
            if has("v=v2beta1") {
                return Some("v2beta1");
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_resource_list_has_pods_and_subresources() {
        let reg = Registry::new();
        let doc = resource_list(&reg, "", "v1").unwrap();
        let res = doc["resources"].as_array().unwrap();
        let pods = res.iter().find(|r| r["name"] == "pods").unwrap();
        assert_eq!(pods["kind"], "Pod");
        assert_eq!(pods["shortNames"], json!(["po"]));
        assert!(res.iter().any(|r| r["name"] == "pods/status"));
        assert!(resource_list(&reg, "nope", "v1").is_none());
    }

    #[test]
    fn aggregated_discovery_lists_groups() {
        let reg = Registry::new();
        let doc = aggregated(&reg, false, "apidiscovery.k8s.io/v2");
        let apps = doc["items"].as_array().unwrap().iter().find(|g| g["metadata"]["name"] == "apps").unwrap();
        let deploy = apps["versions"][0]["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["resource"] == "deployments")
            .unwrap();
        assert_eq!(deploy["scope"], "Namespaced");
        assert!(deploy["subresources"].as_array().unwrap().iter().any(|s| s["subresource"] == "scale"));
        assert_eq!(
            wants_aggregated(Some(
                "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
            )),
            Some("v2")
        );
        assert_eq!(wants_aggregated(Some("application/json")), None);
    }
}

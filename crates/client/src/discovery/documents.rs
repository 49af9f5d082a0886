//! The discovery documents on the wire: aggregated discovery (apidiscovery.k8s.io v2 and
//! v2beta1, same shape) and its conversion to the legacy `APIGroup` / `APIResourceList`
//! form (client-go's `SplitGroupsAndResources`), content-type matching, and a tolerant
//! decoder for legacy documents and cache files.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    APIGroup, APIResource, APIResourceList, GroupVersionForDiscovery,
};
use rkube_core::GroupVersion;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::error::GroupVersionFailure;

/// The `Accept` header asking for aggregated discovery v2, then v2beta1, then the legacy documents.
pub const ACCEPT_AGGREGATED: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
/// The `Accept` header asking for aggregated discovery v2beta1 only (servers 1.26 to 1.29), then legacy.
pub const ACCEPT_AGGREGATED_V2BETA1: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
/// The `Accept` header of legacy discovery.
pub const ACCEPT_LEGACY: &str = "application/json";

/// `APIGroupDiscoveryList` (v2 and v2beta1).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct GroupDiscoveryList {
    pub items: Vec<GroupDiscovery>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct GroupDiscovery {
    pub metadata: Meta,
    pub versions: Vec<VersionDiscovery>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Meta {
    pub name: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(crate) struct VersionDiscovery {
    pub version: String,
    pub resources: Vec<ResourceDiscovery>,
    pub freshness: String,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub(crate) struct Gvk {
    pub group: String,
    pub version: String,
    pub kind: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct ResourceDiscovery {
    pub resource: String,
    pub response_kind: Option<Gvk>,
    pub scope: String,
    pub singular_resource: String,
    pub verbs: Option<Vec<String>>,
    pub short_names: Option<Vec<String>>,
    pub categories: Option<Vec<String>>,
    pub subresources: Vec<SubresourceDiscovery>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct SubresourceDiscovery {
    pub subresource: String,
    pub response_kind: Option<Gvk>,
    pub verbs: Option<Vec<String>>,
}

/// Groups, resources per group/version and failed group/versions of one aggregated document.
pub(crate) type Split =
    (Vec<APIGroup>, BTreeMap<GroupVersion, APIResourceList>, BTreeMap<GroupVersion, GroupVersionFailure>);

fn nonempty(v: &Option<Vec<String>>) -> Option<Vec<String>> {
    v.clone().filter(|v| !v.is_empty())
}

/// client-go's `SplitGroupsAndResources`: stale versions become failures, the first
/// non-stale version is preferred, subresources become `parent/sub` entries.
pub(crate) fn split(list: GroupDiscoveryList) -> Split {
    let mut groups = Vec::new();
    let mut resources = BTreeMap::new();
    let mut failed = BTreeMap::new();
    for g in list.items {
        let name = g.metadata.name;
        let mut group = APIGroup { name: name.clone(), ..Default::default() };
        for v in g.versions {
            let gv = GroupVersion::new(&name, &v.version);
            if v.freshness == "Stale" {
                failed.insert(gv.clone(), GroupVersionFailure::Stale(gv));
                continue;
            }
            let entry = GroupVersionForDiscovery { group_version: gv.api_version(), version: v.version.clone() };
            if group.preferred_version.is_none() {
                group.preferred_version = Some(entry.clone());
            }
            group.versions.push(entry);
            let mut list = APIResourceList { group_version: gv.api_version(), resources: Vec::new() };
            for r in v.resources {
                let parent = APIResource {
                    name: r.resource.clone(),
                    singular_name: r.singular_resource.clone(),
                    namespaced: r.scope == "Namespaced",
                    verbs: r.verbs.clone().unwrap_or_default(),
                    short_names: nonempty(&r.short_names),
                    categories: nonempty(&r.categories),
                    ..Default::default()
                };
                match r.response_kind.as_ref().filter(|k| **k != Gvk::default()) {
                    Some(k) => list.resources.push(APIResource {
                        group: Some(k.group.clone()).filter(|g| !g.is_empty()),
                        version: Some(k.version.clone()).filter(|v| !v.is_empty()),
                        kind: k.kind.clone(),
                        ..parent.clone()
                    }),
                    None => tracing::debug!(resource = %r.resource, "discovery resource without a kind; skipped"),
                }
                for s in &r.subresources {
                    let Some(k) = s.response_kind.as_ref().filter(|k| **k != Gvk::default()) else { continue };
                    list.resources.push(APIResource {
                        name: format!("{}/{}", parent.name, s.subresource),
                        singular_name: parent.singular_name.clone(),
                        namespaced: parent.namespaced,
                        group: Some(k.group.clone()).filter(|g| !g.is_empty()),
                        version: Some(k.version.clone()).filter(|v| !v.is_empty()),
                        kind: k.kind.clone(),
                        verbs: s.verbs.clone().unwrap_or_default(),
                        ..Default::default()
                    });
                }
            }
            resources.insert(gv, list);
        }
        groups.push(group);
    }
    (groups, resources, failed)
}

/// Which aggregated discovery version a `Content-Type` names (`v2` or `v2beta1`), if any.
/// Parameter order, spacing and extra parameters do not matter (client-go's `ContentTypeIsGVK`).
pub(crate) fn aggregated_version(content_type: &str) -> Option<&'static str> {
    let mut parts = content_type.split(';');
    if !parts.next()?.trim().eq_ignore_ascii_case("application/json") {
        return None;
    }
    let (mut g, mut v, mut as_) = (None, None, None);
    for p in parts {
        let (k, val) = p.split_once('=')?;
        let val = val.trim().trim_matches('"');
        match k.trim().to_ascii_lowercase().as_str() {
            "g" => g = Some(val.to_owned()),
            "v" => v = Some(val.to_owned()),
            "as" => as_ = Some(val.to_owned()),
            _ => {}
        }
    }
    if g.as_deref() != Some("apidiscovery.k8s.io") || as_.as_deref() != Some("APIGroupDiscoveryList") {
        return None;
    }
    match v.as_deref() {
        Some("v2") => Some("v2"),
        Some("v2beta1") => Some("v2beta1"),
        _ => None,
    }
}

/// Removes `null` members from objects, recursively: Go writes nil slices as `null`
/// (`"verbs":null`), which k8s-openapi's required fields do not accept.
fn strip_nulls(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(strip_nulls);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

/// Decodes a discovery document or cache file: JSON, `null` members ignored, a wrong
/// `kind`/`apiVersion` rejected. Never panics, whatever the bytes.
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    let mut value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    if !value.is_object() {
        return Err("not a JSON object".to_owned());
    }
    strip_nulls(&mut value);
    serde_json::from_value(value).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::APIGroupList;

    #[test]
    fn content_types() {
        assert_eq!(
            aggregated_version("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"),
            Some("v2")
        );
        assert_eq!(
            aggregated_version(
                "application/json; as=APIGroupDiscoveryList;v=v2beta1;g=apidiscovery.k8s.io;charset=utf-8"
            ),
            Some("v2beta1")
        );
        assert_eq!(aggregated_version("application/json"), None);
        assert_eq!(aggregated_version("application/json;g=apidiscovery.k8s.io;v=v3;as=APIGroupDiscoveryList"), None);
        assert_eq!(aggregated_version("text/plain;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"), None);
        assert_eq!(aggregated_version("garbage;;="), None);
    }

    #[test]
    fn split_marks_stale_and_builds_subresources() {
        let doc = serde_json::json!({"items": [{"metadata": {"name": "apps"}, "versions": [
        {"version": "v2", "freshness": "Stale", "resources": []},
        {"version": "v1", "freshness": "Current", "resources": [
            {"resource": "deployments", "scope": "Namespaced", "singularResource": "deployment",
             "responseKind": {"group": "apps", "version": "v1", "kind": "Deployment"},
             "verbs": ["get", "list"], "shortNames": ["deploy"], "categories": ["all"],
             "subresources": [{"subresource": "scale", "verbs": ["get"],
                               "responseKind": {"group": "autoscaling", "version": "v1", "kind": "Scale"}},
                              {"subresource": "nokind", "verbs": ["get"]}]},
            {"resource": "nokinds", "scope": "Cluster", "verbs": ["get"]}
        ]}]}]});
        let (groups, resources, failed) = split(serde_json::from_value(doc).unwrap());
        assert_eq!(groups[0].versions.len(), 1);
        assert_eq!(groups[0].preferred_version.as_ref().unwrap().group_version, "apps/v1");
        assert!(matches!(failed[&GroupVersion::new("apps", "v2")], GroupVersionFailure::Stale(_)));
        let list = &resources[&GroupVersion::new("apps", "v1")];
        let names: Vec<&str> = list.resources.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["deployments", "deployments/scale"]);
        assert_eq!(list.resources[1].singular_name, "deployment");
        assert_eq!(list.resources[1].group.as_deref(), Some("autoscaling"));
    }

    #[test]
    fn decode_tolerates_go_nulls_and_rejects_wrong_kinds() {
        let list: APIResourceList = decode(
            br#"{"kind":"APIResourceList","apiVersion":"v1","groupVersion":"v1","resources":[{"name":"x","singularName":"","namespaced":false,"kind":"X","verbs":null}]}"#,
        )
        .unwrap();
        assert!(list.resources[0].verbs.is_empty());
        assert!(decode::<APIGroupList>(br#"{"kind":"APIResourceList","apiVersion":"v1"}"#).is_err());
        assert!(decode::<APIGroupList>(b"[]").is_err());
        assert!(decode::<APIGroupList>(b"\xff").is_err());
    }
}

//! The REST mapper: kind ↔ resource using discovery, the way kubectl resolves the names
//! people type (`po`, `pods`, `Pod`, `deploy.apps`, `deployments.v1.apps`) and categories
//! such as `all`.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use rkube_core::{ApiResource, GroupVersionKind, GroupVersionResource};

use super::{DiscoveryClient, DiscoveryError, api_resources};

/// A failed mapping.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MapperError {
    /// Nothing the server serves matches (kubectl: `the server doesn't have a resource type`).
    #[error("no matches for {0}")]
    NoMatch(String),
    /// Discovery failed altogether.
    #[error(transparent)]
    Discovery(#[from] DiscoveryError),
}

/// One resource with its priority (lower wins): the core group first, then each group in
/// discovery order, its preferred version before its other versions (client-go's
/// `PriorityRESTMapper` order).
#[derive(Debug, Clone)]
struct Entry {
    resource: ApiResource,
}

#[derive(Debug, Default)]
struct Index {
    /// All resources, best first.
    entries: Vec<Entry>,
}

impl Index {
    fn build(
        groups: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::APIGroup],
        lists: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::APIResourceList],
    ) -> Self {
        let mut keyed: Vec<((usize, bool, usize, usize), Entry)> = Vec::new();
        for list in lists {
            for (ri, r) in api_resources(list).into_iter().enumerate() {
                let Some(gi) = groups.iter().position(|g| g.name == r.group) else { continue };
                let group = &groups[gi];
                let vi = group.versions.iter().position(|v| v.version == r.version).unwrap_or(usize::MAX);
                let preferred = group.preferred_version.as_ref().is_some_and(|p| p.version == r.version);
                keyed.push(((gi, !preferred, vi, ri), Entry { resource: r }));
            }
        }
        keyed.sort_by_key(|k| k.0);
        Index { entries: keyed.into_iter().map(|(_, e)| e).collect() }
    }

    fn filtered<'a>(
        &'a self,
        group: Option<&'a str>,
        version: Option<&'a str>,
    ) -> impl Iterator<Item = &'a Entry> + 'a {
        self.entries.iter().filter(move |e| {
            group.is_none_or(|g| e.resource.group == g) && version.is_none_or(|v| e.resource.version == v)
        })
    }

    /// A resource by plural or singular name, else by short name (case-insensitive).
    fn by_resource(&self, name: &str, group: Option<&str>, version: Option<&str>) -> Option<ApiResource> {
        let eq = |a: &str| a.eq_ignore_ascii_case(name);
        if let Some(e) = self.filtered(group, version).find(|e| eq(&e.resource.plural) || eq(&e.resource.singular)) {
            return Some(e.resource.clone());
        }
        if let Some(e) = self.filtered(group, version).find(|e| e.resource.short_names.iter().any(|s| eq(s))) {
            return Some(e.resource.clone());
        }
        // client-go also expands a short name whose group starts with the given one.
        let g = group?;
        self.filtered(None, version)
            .find(|e| e.resource.group.starts_with(g) && e.resource.short_names.iter().any(|s| eq(s)))
            .map(|e| e.resource.clone())
    }

    /// A resource by kind (case-insensitive).
    fn by_kind(&self, kind: &str, group: Option<&str>, version: Option<&str>) -> Option<ApiResource> {
        self.filtered(group, version).find(|e| e.resource.kind.eq_ignore_ascii_case(kind)).map(|e| e.resource.clone())
    }

    /// kubectl's resolution of a typed name: `resource.version.group`, then
    /// `resource.group` / `resource`, then `Kind.version.group`, then `Kind.group` / `Kind`.
    fn by_arg(&self, arg: &str) -> Option<ApiResource> {
        let parts: Vec<&str> = arg.split('.').collect();
        if parts.len() >= 3 {
            let group = parts[2..].join(".");
            if let Some(r) = self.by_resource(parts[0], Some(&group), Some(parts[1])) {
                return Some(r);
            }
        }
        let (name, group) = match arg.split_once('.') {
            Some((n, g)) => (n, Some(g)),
            None => (arg, None),
        };
        if let Some(r) = self.by_resource(name, group, None) {
            return Some(r);
        }
        if parts.len() >= 3 {
            let group = parts[2..].join(".");
            if let Some(r) = self.by_kind(parts[0], Some(&group), Some(parts[1])) {
                return Some(r);
            }
        }
        self.by_kind(name, group, None)
    }

    fn category(&self, name: &str) -> Vec<ApiResource> {
        let mut out: Vec<ApiResource> = Vec::new();
        for e in &self.entries {
            let r = &e.resource;
            if r.categories.iter().any(|c| c == name) && !out.iter().any(|o| o.group == r.group && o.plural == r.plural)
            {
                out.push(r.clone());
            }
        }
        out
    }
}

/// Maps kinds to resources and back using discovery, loaded lazily.
///
/// Contract (client-go's `DeferredDiscoveryRESTMapper` with the short-name and category
/// expanders): when a lookup finds nothing and the discovery cache is not fresh (data read
/// from a disk cache another process wrote), or the data is older than the refresh interval
/// (default 30 s, so a CRD installed after start is found), the cache is invalidated,
/// discovery reloaded and the lookup retried once. Lookups are case-insensitive. When several
/// resources match, the core group wins, then groups in discovery order, preferred versions
/// before others — so `events` is the core `v1` Event.
#[derive(Debug)]
pub struct RestMapper {
    discovery: DiscoveryClient,
    index: tokio::sync::Mutex<Option<(std::sync::Arc<Index>, Instant)>>,
    refresh_after: Duration,
    last_error: Mutex<Option<String>>,
}

impl RestMapper {
    /// A mapper over `discovery` (give it a cache: every load otherwise asks the server).
    pub fn new(discovery: DiscoveryClient) -> Self {
        RestMapper {
            discovery,
            index: tokio::sync::Mutex::new(None),
            refresh_after: Duration::from_secs(30),
            last_error: Mutex::new(None),
        }
    }

    /// How old fresh data must be before a miss reloads it (default 30 s).
    pub fn refresh_after(mut self, interval: Duration) -> Self {
        self.refresh_after = interval;
        self
    }

    /// The discovery client underneath.
    pub fn discovery(&self) -> &DiscoveryClient {
        &self.discovery
    }

    /// Forgets everything: invalidates discovery and the mapping.
    pub async fn reset(&self) {
        self.discovery.invalidate();
        *self.index.lock().await = None;
    }

    async fn index(&self) -> Result<(std::sync::Arc<Index>, Instant), MapperError> {
        let mut guard = self.index.lock().await;
        if let Some((idx, at)) = guard.as_ref() {
            return Ok((idx.clone(), *at));
        }
        let (groups, lists) = match self.discovery.server_groups_and_resources().await {
            Ok(ok) => ok,
            Err(DiscoveryError::GroupDiscoveryFailed(partial)) => {
                tracing::debug!(error = %partial, "REST mapping with partial discovery");
                *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(partial.to_string());
                (partial.groups, partial.resources)
            }
            Err(e) => return Err(e.into()),
        };
        let idx = std::sync::Arc::new(Index::build(&groups, &lists));
        let at = Instant::now();
        *guard = Some((idx.clone(), at));
        Ok((idx, at))
    }

    /// Runs `find` on the mapping; on a miss with stale data, reloads once and runs it again.
    async fn lookup<T>(
        &self,
        what: impl FnOnce() -> String,
        find: impl Fn(&Index) -> Option<T>,
    ) -> Result<T, MapperError> {
        let (idx, loaded) = self.index().await?;
        if let Some(found) = find(&idx) {
            return Ok(found);
        }
        if !self.discovery.fresh() || loaded.elapsed() >= self.refresh_after {
            self.reset().await;
            let (idx, _) = self.index().await?;
            if let Some(found) = find(&idx) {
                return Ok(found);
            }
        }
        Err(MapperError::NoMatch(what()))
    }

    /// The resource a typed name means, as kubectl resolves `kubectl get <arg>`: plural,
    /// singular, short name or kind, optionally qualified as `name.group` or
    /// `name.version.group` (`po`, `Pods`, `deploy.apps`, `deployments.v1.apps`, `Deployment`).
    pub async fn resource_for(&self, arg: &str) -> Result<ApiResource, MapperError> {
        let arg = arg.trim();
        self.lookup(|| format!("resource {arg:?}"), |idx| idx.by_arg(arg)).await
    }

    /// The resource of a partly given group/version/resource (empty fields match anything).
    pub async fn resource_for_gvr(&self, gvr: &GroupVersionResource) -> Result<ApiResource, MapperError> {
        let g = Some(gvr.group.as_str()).filter(|g| !g.is_empty());
        let v = Some(gvr.version.as_str()).filter(|v| !v.is_empty());
        self.lookup(|| gvr.to_string(), |idx| idx.by_resource(&gvr.resource, g, v)).await
    }

    /// The kind served at a (partly given) group/version/resource.
    pub async fn kind_for(&self, gvr: &GroupVersionResource) -> Result<GroupVersionKind, MapperError> {
        Ok(self.resource_for_gvr(gvr).await?.gvk())
    }

    /// The resource serving a kind (client-go's `RESTMapping`); an empty version means the
    /// group's preferred version.
    pub async fn resource_for_gvk(&self, gvk: &GroupVersionKind) -> Result<ApiResource, MapperError> {
        let v = Some(gvk.version.as_str()).filter(|v| !v.is_empty());
        self.lookup(|| gvk.to_string(), |idx| idx.by_kind(&gvk.kind, Some(&gvk.group), v)).await
    }

    /// The resources of a category such as `all`, in their preferred versions, each group
    /// resource once, in discovery order.
    pub async fn category(&self, name: &str) -> Result<Vec<ApiResource>, MapperError> {
        self.lookup(|| format!("category {name:?}"), |idx| Some(idx.category(name)).filter(|c| !c.is_empty())).await
    }

    /// Every resource in its preferred version (else its first), in discovery order.
    pub async fn preferred_resources(&self) -> Result<Vec<ApiResource>, MapperError> {
        let (idx, _) = self.index().await?;
        let mut out: Vec<ApiResource> = Vec::new();
        for e in &idx.entries {
            let r = &e.resource;
            if !out.iter().any(|o| o.group == r.group && o.plural == r.plural) {
                out.push(r.clone());
            }
        }
        Ok(out)
    }

    /// The partial-discovery message of the last load, if some group/versions failed.
    pub fn last_discovery_problem(&self) -> Option<String> {
        self.last_error.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
        APIGroup, APIResource, APIResourceList, GroupVersionForDiscovery,
    };

    fn gv(g: &str, v: &str) -> GroupVersionForDiscovery {
        let gvs = if g.is_empty() { v.to_owned() } else { format!("{g}/{v}") };
        GroupVersionForDiscovery { group_version: gvs, version: v.into() }
    }

    fn res(name: &str, kind: &str, short: &[&str], cats: &[&str]) -> APIResource {
        APIResource {
            name: name.into(),
            singular_name: kind.to_ascii_lowercase(),
            kind: kind.into(),
            namespaced: true,
            verbs: vec!["get".into()],
            short_names: Some(short.iter().map(|s| s.to_string()).collect()),
            categories: Some(cats.iter().map(|s| s.to_string()).collect()),
            ..Default::default()
        }
    }

    fn index() -> Index {
        let groups = vec![
            APIGroup {
                name: "".into(),
                versions: vec![gv("", "v1")],
                preferred_version: Some(gv("", "v1")),
                ..Default::default()
            },
            APIGroup {
                name: "events.k8s.io".into(),
                versions: vec![gv("events.k8s.io", "v1")],
                preferred_version: Some(gv("events.k8s.io", "v1")),
                ..Default::default()
            },
            APIGroup {
                name: "stable.example.com".into(),
                versions: vec![gv("stable.example.com", "v1beta1"), gv("stable.example.com", "v1")],
                preferred_version: Some(gv("stable.example.com", "v1")),
                ..Default::default()
            },
        ];
        let lists = vec![
            APIResourceList {
                group_version: "v1".into(),
                resources: vec![
                    res("pods", "Pod", &["po"], &["all"]),
                    res("events", "Event", &["ev"], &[]),
                    res("pods/log", "Pod", &[], &[]),
                ],
            },
            APIResourceList {
                group_version: "events.k8s.io/v1".into(),
                resources: vec![res("events", "Event", &["ev"], &[])],
            },
            APIResourceList {
                group_version: "stable.example.com/v1beta1".into(),
                resources: vec![res("crontabs", "CronTab", &["ct"], &["all"])],
            },
            APIResourceList {
                group_version: "stable.example.com/v1".into(),
                resources: vec![res("crontabs", "CronTab", &["ct"], &["all"])],
            },
        ];
        Index::build(&groups, &lists)
    }

    #[test]
    fn resolves_names_like_kubectl() {
        let idx = index();
        let r = idx.by_arg("po").unwrap();
        assert_eq!((r.plural.as_str(), r.subresources.as_slice()), ("pods", &["log".to_string()][..]));
        assert_eq!(idx.by_arg("PODS").unwrap().plural, "pods");
        assert_eq!(idx.by_arg("Pod").unwrap().plural, "pods");
        assert_eq!(idx.by_arg("events").unwrap().group, "");
        assert_eq!(idx.by_arg("events.events.k8s.io").unwrap().group, "events.k8s.io");
        assert_eq!(idx.by_arg("ct").unwrap().version, "v1", "preferred version wins");
        assert_eq!(idx.by_arg("crontabs.v1beta1.stable.example.com").unwrap().version, "v1beta1");
        assert_eq!(idx.by_arg("CronTab.stable.example.com").unwrap().plural, "crontabs");
        assert_eq!(idx.by_arg("ct.stable").unwrap().plural, "crontabs", "group prefix for short names");
        assert!(idx.by_arg("nope").is_none());
        let all: Vec<String> = idx.category("all").iter().map(|r| format!("{}.{}", r.plural, r.version)).collect();
        assert_eq!(all, ["pods.v1", "crontabs.v1"]);
        assert_eq!(idx.by_kind("crontab", Some("stable.example.com"), None).unwrap().version, "v1");
    }
}

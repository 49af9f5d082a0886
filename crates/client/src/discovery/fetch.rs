//! Fetching discovery from the server: aggregated discovery from `/api` and `/apis` in two
//! requests when the server offers it, else the legacy documents with one request per
//! group/version, all at once (client-go's `GroupsAndMaybeResources` and
//! `fetchGroupVersionResources`).

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::future::join_all;
use http::StatusCode;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    APIGroup, APIGroupList, APIResourceList, APIVersions, GroupVersionForDiscovery,
};
use rkube_core::GroupVersion;

use super::documents::{self, GroupDiscoveryList};
use super::error::{DiscoveryError, GroupVersionFailure, PartialDiscovery};
use crate::client::Client;
use crate::response::Response;

/// Everything discovery knows at one moment: groups in discovery order (core first), the
/// resources of every group/version that answered, and the ones that failed.
#[derive(Debug, Clone, Default)]
pub(crate) struct Snapshot {
    pub groups: Vec<APIGroup>,
    pub resources: BTreeMap<GroupVersion, APIResourceList>,
    pub failed: BTreeMap<GroupVersion, GroupVersionFailure>,
}

impl Snapshot {
    /// The group/versions in discovery order.
    pub fn group_versions(&self) -> Vec<GroupVersion> {
        self.groups
            .iter()
            .flat_map(|g| g.versions.iter().map(move |v| GroupVersion::new(&g.name, &v.version)))
            .collect()
    }

    /// The resource lists in discovery order.
    pub fn ordered_resources(&self) -> Vec<APIResourceList> {
        self.group_versions().iter().filter_map(|gv| self.resources.get(gv).cloned()).collect()
    }

    /// client-go's `ServerGroupsAndResources` result: the groups and lists, or the partial
    /// result as an error when a group/version failed.
    pub fn groups_and_resources(&self) -> Result<(Vec<APIGroup>, Vec<APIResourceList>), DiscoveryError> {
        let resources = self.ordered_resources();
        if self.failed.is_empty() { Ok((self.groups.clone(), resources)) } else { Err(self.partial(resources)) }
    }

    fn partial(&self, resources: Vec<APIResourceList>) -> DiscoveryError {
        DiscoveryError::GroupDiscoveryFailed(Box::new(PartialDiscovery {
            groups: self.groups.clone(),
            resources,
            failed: self.failed.clone(),
        }))
    }

    /// client-go's `ServerPreferredResources`: for every group resource the entry of the
    /// preferred version, else of the first version that has it; subresources left out; one
    /// list per group/version (possibly empty) in discovery order.
    pub fn preferred_resources(&self) -> Result<Vec<APIResourceList>, DiscoveryError> {
        let mut lists: Vec<APIResourceList> = Vec::new();
        let mut chosen: BTreeMap<(String, String), (usize, usize)> = BTreeMap::new(); // group resource -> (list, entry)
        for group in &self.groups {
            let preferred = group.preferred_version.as_ref().map(|p| p.version.as_str());
            for v in &group.versions {
                let gv = GroupVersion::new(&group.name, &v.version);
                let Some(list) = self.resources.get(&gv) else { continue };
                let li = lists.len();
                lists.push(APIResourceList { group_version: v.group_version.clone(), resources: Vec::new() });
                for (ri, r) in list.resources.iter().enumerate() {
                    if r.name.contains('/') {
                        continue;
                    }
                    let key = (group.name.clone(), r.name.clone());
                    if chosen.contains_key(&key) && Some(v.version.as_str()) != preferred {
                        continue;
                    }
                    chosen.insert(key, (li, ri));
                }
            }
        }
        // Fill the lists in discovery order of the source entries (client-go uses map order).
        let mut picks: Vec<(usize, usize, GroupVersion)> = Vec::new();
        for (li, ri) in chosen.values() {
            picks.push((*li, *ri, GroupVersion::parse(&lists[*li].group_version).unwrap_or_default()));
        }
        picks.sort();
        for (li, ri, gv) in picks {
            if let Some(r) = self.resources.get(&gv).and_then(|l| l.resources.get(ri)) {
                lists[li].resources.push(r.clone());
            }
        }
        if self.failed.is_empty() { Ok(lists) } else { Err(self.partial(lists)) }
    }
}

/// How discovery asks the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DiscoveryMode {
    /// Aggregated discovery v2, else v2beta1, else the legacy documents (the default).
    #[default]
    Aggregated,
    /// Aggregated discovery v2beta1 only (servers 1.26 to 1.29), else legacy.
    AggregatedV2Beta1,
    /// Only the legacy documents: `/api`, `/apis`, then one request per group/version.
    Legacy,
}

impl DiscoveryMode {
    fn accept(self) -> &'static str {
        match self {
            DiscoveryMode::Aggregated => documents::ACCEPT_AGGREGATED,
            DiscoveryMode::AggregatedV2Beta1 => documents::ACCEPT_AGGREGATED_V2BETA1,
            DiscoveryMode::Legacy => documents::ACCEPT_LEGACY,
        }
    }
}

fn decode_err(resp: &Response, message: String) -> DiscoveryError {
    DiscoveryError::Decode { url: resp.url.clone(), message }
}

/// One of `/api` or `/apis`: groups, plus resources when the answer was aggregated.
struct Download {
    groups: Vec<APIGroup>,
    resources: Option<BTreeMap<GroupVersion, APIResourceList>>,
    failed: BTreeMap<GroupVersion, GroupVersionFailure>,
}

async fn download(client: &Client, path: &str, mode: DiscoveryMode) -> Result<Download, DiscoveryError> {
    let resp = client.get().abs_path(path).header("Accept", mode.accept()).send().await?;
    if path == "/api" && resp.status == StatusCode::NOT_FOUND {
        // Aggregated API servers may have no core group.
        return Ok(Download { groups: Vec::new(), resources: Some(BTreeMap::new()), failed: BTreeMap::new() });
    }
    let resp = resp.error_for_status()?;
    let content_type = resp.headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if mode != DiscoveryMode::Legacy && documents::aggregated_version(content_type).is_some() {
        let list: GroupDiscoveryList = documents::decode(&resp.body).map_err(|m| decode_err(&resp, m))?;
        let (groups, resources, failed) = documents::split(list);
        return Ok(Download { groups, resources: Some(resources), failed });
    }
    let groups = if path == "/api" {
        let versions: APIVersions = documents::decode(&resp.body).map_err(|m| decode_err(&resp, m))?;
        let entries: Vec<GroupVersionForDiscovery> = versions
            .versions
            .iter()
            .map(|v| GroupVersionForDiscovery { group_version: v.clone(), version: v.clone() })
            .collect();
        match entries.first() {
            Some(first) => {
                vec![APIGroup { preferred_version: Some(first.clone()), versions: entries, ..Default::default() }]
            }
            None => Vec::new(),
        }
    } else {
        let list: APIGroupList = documents::decode(&resp.body).map_err(|m| decode_err(&resp, m))?;
        list.groups
    };
    Ok(Download { groups, resources: None, failed: BTreeMap::new() })
}

/// `GET /api/v1` or `/apis/{group}/{version}` (a 404 for the core `v1` is an empty list, as
/// in client-go).
pub(crate) async fn resources_for(client: &Client, gv: &GroupVersion) -> Result<APIResourceList, GroupVersionFailure> {
    let path =
        if gv.group.is_empty() { format!("/api/{}", gv.version) } else { format!("/apis/{}/{}", gv.group, gv.version) };
    let resp = client
        .get()
        .abs_path(&path)
        .header("Accept", documents::ACCEPT_LEGACY)
        .send()
        .await
        .map_err(|e| GroupVersionFailure::Request(Arc::new(e)))?;
    if gv.group.is_empty() && gv.version == "v1" && resp.status == StatusCode::NOT_FOUND {
        return Ok(APIResourceList { group_version: gv.api_version(), resources: Vec::new() });
    }
    let resp = resp.error_for_status().map_err(|e| GroupVersionFailure::Request(Arc::new(e)))?;
    let mut list: APIResourceList = documents::decode(&resp.body)
        .map_err(|message| GroupVersionFailure::Decode { url: resp.url.clone(), message })?;
    if list.group_version.is_empty() {
        list.group_version = gv.api_version();
    }
    Ok(list)
}

/// The groups only: `/api` and `/apis` (with aggregated discovery the resources come along
/// and are dropped, as client-go's `ServerGroups` does).
pub(crate) async fn fetch_groups(client: &Client, mode: DiscoveryMode) -> Result<Vec<APIGroup>, DiscoveryError> {
    let (legacy, apis) = futures::join!(download(client, "/api", mode), download(client, "/apis", mode));
    let mut groups = legacy?.groups;
    groups.extend(apis?.groups);
    Ok(groups)
}

/// Fetches everything once: `/api` and `/apis`, then, unless both answered with aggregated
/// discovery, every group/version concurrently.
async fn fetch_once(client: &Client, mode: DiscoveryMode) -> Result<Snapshot, DiscoveryError> {
    let (legacy, apis) = futures::join!(download(client, "/api", mode), download(client, "/apis", mode));
    let (legacy, apis) = (legacy?, apis?);
    let mut snap = Snapshot::default();
    snap.groups.extend(legacy.groups);
    snap.groups.extend(apis.groups);
    snap.failed.extend(legacy.failed);
    snap.failed.extend(apis.failed);
    if let (Some(mut core), Some(rest)) = (legacy.resources, apis.resources) {
        core.extend(rest);
        snap.resources = core;
        return Ok(snap);
    }
    // Legacy: one request per group/version, all at once.
    let gvs = snap.group_versions();
    let results = join_all(gvs.iter().map(|gv| resources_for(client, gv))).await;
    for (gv, result) in gvs.into_iter().zip(results) {
        match result {
            Ok(list) => {
                snap.resources.insert(gv, list);
            }
            Err(e) => {
                snap.failed.insert(gv, e);
            }
        }
    }
    Ok(snap)
}

/// [`fetch_once`], tried a second time when a group/version failed (client-go's
/// `withRetries(defaultRetries = 2)`: a group may have vanished mid-discovery, e.g. a CRD).
pub(crate) async fn fetch(client: &Client, mode: DiscoveryMode) -> Result<Snapshot, DiscoveryError> {
    let first = fetch_once(client, mode).await?;
    if first.failed.is_empty() {
        return Ok(first);
    }
    tracing::debug!(failed = first.failed.len(), "discovery incomplete; trying once more");
    fetch_once(client, mode).await
}

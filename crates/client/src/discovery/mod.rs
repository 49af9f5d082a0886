//! Discovery: what the server serves — its version, API groups, and the resources of every
//! group/version — with an optional memory or kubectl-compatible disk cache, and a
//! [`RestMapper`] (kind ↔ resource, short names, categories) on top.
//!
//! ```no_run
//! # async fn demo(client: rkube_client::Client) -> Result<(), Box<dyn std::error::Error>> {
//! use rkube_client::discovery::{DiscoveryClient, DiskCache, RestMapper};
//! // Shares ~/.kube/cache/discovery/<host_port>/ with kubectl.
//! let cache = DiskCache::for_server(&client.config().cluster_url).ok_or("no home directory")?;
//! let discovery = DiscoveryClient::new(client).cached_on_disk(cache);
//! for list in discovery.server_preferred_resources().await? {
//!     for r in &list.resources {
//!         println!("{} {} {}", list.group_version, r.name, r.kind);
//!     }
//! }
//! let mapper = RestMapper::new(discovery);
//! let deploy = mapper.resource_for("deploy").await?; // apps/v1 deployments
//! # Ok(()) }
//! ```
//!
//! Aggregated discovery (apidiscovery.k8s.io v2, then v2beta1) gets everything in two
//! requests (`/api`, `/apis`); servers without it get `/api` and `/apis` and then one request
//! per group/version, all at once. When some group/versions fail (a down aggregated API
//! server, a CRD deleted mid-way) the others are kept: the error
//! [`DiscoveryError::GroupDiscoveryFailed`] carries the partial result and the failures.

mod disk;
mod documents;
mod error;
mod fetch;
mod restmapper;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{APIGroup, APIGroupList, APIResource, APIResourceList};
use k8s_openapi::apimachinery::pkg::version::Info;
use rkube_core::{ApiResource, GroupVersion};
use tokio::sync::Mutex;

pub use disk::{DEFAULT_TTL, DiskCache, KUBECACHEDIR_ENV, KUBECTL_TTL, default_cache_dir, server_dir_name};
pub use documents::{ACCEPT_AGGREGATED, ACCEPT_AGGREGATED_V2BETA1, ACCEPT_LEGACY};
pub use error::{DiscoveryError, GroupVersionFailure, PartialDiscovery};
pub use fetch::DiscoveryMode;
pub use restmapper::{MapperError, RestMapper};

use crate::client::Client;
use crate::config::Config;
use fetch::Snapshot;

/// client-go's discovery burst (kubectl's `discoveryBurst`), used by [`DiscoveryClient::for_config`].
pub const DISCOVERY_BURST: u32 = 300;
/// client-go's discovery request timeout when none is configured.
pub const DISCOVERY_TIMEOUT: Duration = Duration::from_secs(32);

/// A snapshot and the invalidation generation it was loaded in.
type Cached = (u64, Arc<Snapshot>);

/// Where discovery results are kept between calls.
#[derive(Debug, Clone)]
enum Cache {
    /// Every call asks the server.
    None,
    /// Kept in memory until [`DiscoveryClient::invalidate`].
    Memory,
    /// Kept in memory and in kubectl's disk cache.
    Disk(DiskCache),
}

/// A discovery client: server version, groups, resources per group/version, all resources,
/// preferred resources.
///
/// Contract:
/// - Without a cache (the default) every call asks the server.
/// - [`DiscoveryClient::cached_in_memory`]: the first call fetches everything once (two
///   requests with aggregated discovery); later calls answer from memory until
///   [`DiscoveryClient::invalidate`]. Failed group/versions stay failed until then.
/// - [`DiscoveryClient::cached_on_disk`]: as memory, and first tries kubectl's cache files
///   (within the TTL; after an invalidate only files this process wrote), and writes what it
///   fetched there atomically for kubectl and the next run.
/// - [`DiscoveryClient::fresh`] says whether everything served since the last invalidate
///   came from the server in this process — when `false`, a lookup that misses may be
///   looking at stale data and should [`DiscoveryClient::invalidate`] and retry (the
///   [`RestMapper`] does).
///
/// Cheap to clone; clones share the cache. Concurrent callers wait for one fetch.
#[derive(Debug, Clone)]
pub struct DiscoveryClient {
    client: Client,
    mode: DiscoveryMode,
    cache: Cache,
    /// The cached snapshot and the invalidation generation it belongs to.
    snapshot: Arc<Mutex<Option<Cached>>>,
    generation: Arc<AtomicU64>,
}

impl DiscoveryClient {
    /// An uncached discovery client using `client` (its rate limiter and timeout).
    pub fn new(client: Client) -> Self {
        DiscoveryClient {
            client,
            mode: DiscoveryMode::default(),
            cache: Cache::None,
            snapshot: Arc::new(Mutex::new(None)),
            generation: Arc::new(AtomicU64::new(0)),
        }
    }

    /// An uncached discovery client with client-go's discovery settings: its own connection
    /// and a burst of [`DISCOVERY_BURST`] so the per-group requests of legacy discovery are not
    /// throttled, and a [`DISCOVERY_TIMEOUT`] unless the config sets a timeout.
    pub fn for_config(config: &Config) -> Result<Self, crate::Error> {
        let mut config = config.clone();
        config.burst = config.burst.max(DISCOVERY_BURST);
        config.timeout = config.timeout.or(Some(DISCOVERY_TIMEOUT));
        Ok(Self::new(Client::new(config)?))
    }

    /// Keeps results in memory (client-go's `memory.NewMemCacheClient`).
    pub fn cached_in_memory(mut self) -> Self {
        self.cache = Cache::Memory;
        self
    }

    /// Keeps results in memory and in kubectl's disk cache (client-go's `disk.CachedDiscoveryClient`).
    pub fn cached_on_disk(mut self, cache: DiskCache) -> Self {
        self.cache = Cache::Disk(cache);
        self
    }

    /// How to ask the server (default: aggregated discovery with legacy fallback).
    pub fn mode(mut self, mode: DiscoveryMode) -> Self {
        self.mode = mode;
        self
    }

    /// The underlying client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The disk cache, when one is used.
    pub fn disk_cache(&self) -> Option<&DiskCache> {
        match &self.cache {
            Cache::Disk(d) => Some(d),
            _ => None,
        }
    }

    /// Forgets cached results: the next call asks the server (the disk cache then only
    /// trusts files this process writes).
    pub fn invalidate(&self) {
        // A snapshot of an older generation is never served again.
        self.generation.fetch_add(1, Ordering::SeqCst);
        if let Cache::Disk(d) = &self.cache {
            d.invalidate();
        }
    }

    /// Whether everything served since the last invalidate came from the server in this
    /// process (always true without a cache).
    pub fn fresh(&self) -> bool {
        match &self.cache {
            Cache::None | Cache::Memory => true,
            Cache::Disk(d) => d.fresh(),
        }
    }

    /// Everything: from memory, disk or the server, depending on the cache.
    async fn snapshot(&self) -> Result<Arc<Snapshot>, DiscoveryError> {
        if matches!(self.cache, Cache::None) {
            return Ok(Arc::new(fetch::fetch(&self.client, self.mode).await?));
        }
        let mut guard = self.snapshot.lock().await;
        let generation = self.generation.load(Ordering::SeqCst);
        if let Some((g, s)) = guard.as_ref() {
            if *g == generation {
                return Ok(s.clone());
            }
        }
        if let Cache::Disk(d) = &self.cache {
            let d = d.clone();
            if let Ok(Some(s)) = tokio::task::spawn_blocking(move || d.load()).await {
                let s = Arc::new(s);
                *guard = Some((generation, s.clone()));
                return Ok(s);
            }
        }
        let s = Arc::new(fetch::fetch(&self.client, self.mode).await?);
        if let Cache::Disk(d) = &self.cache {
            let (d, s2) = (d.clone(), s.clone());
            match tokio::task::spawn_blocking(move || d.store(&s2)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::warn!(dir = %self.disk_cache().map(|d| d.dir().display().to_string()).unwrap_or_default(), error = %e, "cannot write the discovery cache")
                }
                Err(e) => tracing::warn!(error = %e, "discovery cache writer failed"),
            }
        }
        *guard = Some((generation, s.clone()));
        Ok(s)
    }

    /// `GET /version`: the server's version (never cached, as in client-go).
    pub async fn server_version(&self) -> Result<Info, DiscoveryError> {
        Ok(self.client.get().abs_path("/version").into::<Info>().await?)
    }

    /// The API groups with their versions and preferred version, core group first.
    /// Uncached this is just `/api` and `/apis`.
    pub async fn server_groups(&self) -> Result<APIGroupList, DiscoveryError> {
        if matches!(self.cache, Cache::None) {
            return Ok(APIGroupList { groups: fetch::fetch_groups(&self.client, self.mode).await? });
        }
        Ok(APIGroupList { groups: self.snapshot().await?.groups.clone() })
    }

    /// The resources of one group/version (`v1`, `apps/v1`), subresources included.
    ///
    /// Uncached this is one request (`/api/v1` or `/apis/{group}/{version}`); cached it is
    /// answered from the cached discovery, and a group/version the server does not serve is
    /// [`DiscoveryError::NotServed`].
    pub async fn server_resources_for_group_version(
        &self,
        group_version: &str,
    ) -> Result<APIResourceList, DiscoveryError> {
        let gv = GroupVersion::parse(group_version)?;
        let failed = |failure| DiscoveryError::GroupVersionFailed { gv: gv.clone(), failure };
        if matches!(self.cache, Cache::None) {
            return fetch::resources_for(&self.client, &gv).await.map_err(failed);
        }
        let snap = self.snapshot().await?;
        if let Some(list) = snap.resources.get(&gv) {
            return Ok(list.clone());
        }
        match snap.failed.get(&gv) {
            Some(f) => Err(failed(f.clone())),
            None => Err(DiscoveryError::NotServed(group_version.to_owned())),
        }
    }

    /// Every group and the resources of every group/version, in discovery order. When some
    /// group/versions failed: [`DiscoveryError::GroupDiscoveryFailed`] with the rest.
    pub async fn server_groups_and_resources(&self) -> Result<(Vec<APIGroup>, Vec<APIResourceList>), DiscoveryError> {
        self.snapshot().await?.groups_and_resources()
    }

    /// Every resource once, in its group's preferred version (else the first version that
    /// has it), without subresources: one list per group/version in discovery order (what
    /// `kubectl api-resources` shows). Partial failures as in
    /// [`DiscoveryClient::server_groups_and_resources`].
    pub async fn server_preferred_resources(&self) -> Result<Vec<APIResourceList>, DiscoveryError> {
        self.snapshot().await?.preferred_resources()
    }
}

/// The resources of a discovery list as [`ApiResource`]s, subresources folded into their
/// parents' `subresources` (a subresource entry `pods/log` adds `log` to `pods`).
pub fn api_resources(list: &APIResourceList) -> Vec<ApiResource> {
    let gv = GroupVersion::parse(&list.group_version).unwrap_or_default();
    let mut out: Vec<ApiResource> =
        list.resources.iter().filter(|r| !r.name.contains('/')).map(|r| to_api_resource(&gv, r)).collect();
    for r in &list.resources {
        if let Some((parent, sub)) = r.name.split_once('/') {
            if let Some(p) = out.iter_mut().find(|p| p.plural == parent) {
                p.subresources.push(sub.to_owned());
            }
        }
    }
    out
}

fn to_api_resource(gv: &GroupVersion, r: &APIResource) -> ApiResource {
    // A resource's own group/version is the list's; `group`/`version` on an entry only
    // differ for subresources (e.g. `deployments/scale` is autoscaling/v1 Scale).
    let singular = if r.singular_name.is_empty() { r.kind.to_ascii_lowercase() } else { r.singular_name.clone() };
    ApiResource {
        group: gv.group.clone(),
        version: gv.version.clone(),
        kind: r.kind.clone(),
        plural: r.name.clone(),
        singular,
        namespaced: r.namespaced,
        verbs: r.verbs.clone(),
        short_names: r.short_names.clone().unwrap_or_default(),
        categories: r.categories.clone().unwrap_or_default(),
        subresources: Vec::new(),
    }
}

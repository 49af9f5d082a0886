//! Discovery against the embedded API server over real HTTP: aggregated (v2, v2beta1) and
//! legacy discovery, partial failures, the memory and disk caches, and the REST mapper.
//! A small recording proxy in front of the server counts requests and injects failures.

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rkube_apiserver::ApiServer;
use rkube_client::Client;
use rkube_client::config::Config;
use rkube_client::discovery::{
    DiscoveryClient, DiscoveryError, DiscoveryMode, DiskCache, GroupVersionFailure, RestMapper,
};
use rkube_core::{GroupVersion, GroupVersionKind};
use serde_json::json;

async fn server() -> (ApiServer, Client) {
    let server = ApiServer::start_default().await.expect("server starts");
    let client = client_for(server.url());
    (server, client)
}

fn client_for(url: &str) -> Client {
    let mut config = Config::new(url.parse().unwrap());
    config.qps = -1.0;
    Client::new(config).unwrap()
}

fn crd(group: &str, plural: &str, kind: &str, short: &str) -> serde_json::Value {
    json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{plural}.{group}")},
        "spec": {"group": group, "scope": "Namespaced",
            "names": {"plural": plural, "singular": kind.to_lowercase(), "kind": kind, "shortNames": [short], "categories": ["all"]},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}})
}

async fn create_crd(client: &Client, crd: &serde_json::Value) {
    client
        .post()
        .abs_path("/apis/apiextensions.k8s.io/v1/customresourcedefinitions")
        .json(crd)
        .send_checked()
        .await
        .expect("CRD created");
}

/// A proxy in front of the server: counts requests, answers 503 for chosen paths, and marks
/// chosen groups `Stale` in aggregated `/apis` answers.
#[derive(Clone, Default)]
struct Proxy {
    requests: Arc<AtomicUsize>,
    fail_paths: Arc<Mutex<BTreeSet<String>>>,
    stale_groups: Arc<Mutex<BTreeSet<String>>>,
    url: String,
}

impl Proxy {
    async fn start(upstream: Client) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy = Proxy { url: format!("http://{}", listener.local_addr().unwrap()), ..Proxy::default() };
        let p = proxy.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                let (p, upstream) = (p.clone(), upstream.clone());
                tokio::spawn(async move {
                    let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let (p, upstream) = (p.clone(), upstream.clone());
                        async move { Ok::<_, Infallible>(p.handle(req, upstream).await) }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        proxy
    }

    async fn handle(
        &self,
        req: hyper::Request<hyper::body::Incoming>,
        upstream: Client,
    ) -> hyper::Response<Full<Bytes>> {
        self.requests.fetch_add(1, Ordering::SeqCst);
        let path = req.uri().path_and_query().map(|p| p.to_string()).unwrap_or_default();
        if self.fail_paths.lock().unwrap().contains(req.uri().path()) {
            let body = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 503,
                              "reason": "ServiceUnavailable", "message": "injected"});
            return hyper::Response::builder().status(503).body(Full::new(Bytes::from(body.to_string()))).unwrap();
        }
        let accept = req.headers().get("accept").and_then(|v| v.to_str().ok()).unwrap_or("application/json").to_owned();
        let resp = upstream.get().abs_path(path.clone()).header("Accept", &accept).send().await.unwrap();
        let content_type = resp.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        let mut body = resp.body.to_vec();
        let stale = self.stale_groups.lock().unwrap().clone();
        if !stale.is_empty() && content_type.contains("APIGroupDiscoveryList") {
            let mut doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
            for item in doc["items"].as_array_mut().unwrap() {
                if stale.contains(item["metadata"]["name"].as_str().unwrap_or("")) {
                    for v in item["versions"].as_array_mut().unwrap() {
                        v["freshness"] = "Stale".into();
                    }
                }
            }
            body = serde_json::to_vec(&doc).unwrap();
        }
        hyper::Response::builder()
            .status(resp.status.as_u16())
            .header("content-type", content_type)
            .body(Full::new(Bytes::from(body)))
            .unwrap()
    }

    fn count(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

fn preferred_names(lists: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::APIResourceList]) -> Vec<String> {
    lists
        .iter()
        .flat_map(|l| l.resources.iter().map(move |r| format!("{} {} {}", l.group_version, r.name, r.kind)))
        .collect()
}

#[tokio::test]
async fn aggregated_v2_v2beta1_and_legacy_agree() {
    let (_server, client) = server().await;
    let version = DiscoveryClient::new(client.clone()).server_version().await.unwrap();
    assert_eq!(version.major, "1");

    // Request counts tell which format answered: aggregated needs only /api and /apis.
    let proxy = Proxy::start(client.clone()).await;
    for (mode, aggregated) in
        [(DiscoveryMode::Aggregated, true), (DiscoveryMode::AggregatedV2Beta1, true), (DiscoveryMode::Legacy, false)]
    {
        let before = proxy.count();
        let d = DiscoveryClient::new(client_for(&proxy.url)).mode(mode);
        d.server_groups_and_resources().await.unwrap();
        let used = proxy.count() - before;
        assert_eq!(used == 2, aggregated, "{mode:?}: {used} requests");
        let before = proxy.count();
        d.server_groups().await.unwrap();
        assert_eq!(proxy.count() - before, 2, "{mode:?}: groups alone are /api and /apis");
    }

    let mut results = Vec::new();
    for mode in [DiscoveryMode::Aggregated, DiscoveryMode::AggregatedV2Beta1, DiscoveryMode::Legacy] {
        let d = DiscoveryClient::new(client.clone()).mode(mode);
        let groups = d.server_groups().await.unwrap();
        assert_eq!(groups.groups[0].name, "", "core group first");
        let (_, all) = d.server_groups_and_resources().await.unwrap();
        let core = all.iter().find(|l| l.group_version == "v1").unwrap();
        assert!(core.resources.iter().any(|r| r.name == "pods/status"), "{mode:?}: subresources listed");
        let apps = d.server_resources_for_group_version("apps/v1").await.unwrap();
        let scale = apps.resources.iter().find(|r| r.name == "deployments/scale").unwrap();
        assert_eq!(scale.kind, "Scale");
        let preferred = d.server_preferred_resources().await.unwrap();
        assert!(preferred.iter().all(|l| l.resources.iter().all(|r| !r.name.contains('/'))));
        results.push((mode, preferred_names(&preferred)));
    }
    assert!(results[0].1.iter().any(|n| n == "apps/v1 deployments Deployment"), "{:?}", results[0].1);
    assert_eq!(results[0].1, results[1].1, "v2 and v2beta1");
    assert_eq!(results[0].1, results[2].1, "aggregated and legacy");
}

#[tokio::test]
async fn one_failing_group_keeps_the_others() {
    let (_server, client) = server().await;
    let proxy = Proxy::start(client.clone()).await;
    let via = client_for(&proxy.url);

    // Legacy: /apis/batch/v1 answers 503.
    proxy.fail_paths.lock().unwrap().insert("/apis/batch/v1".into());
    let d = DiscoveryClient::new(via.clone()).mode(DiscoveryMode::Legacy);
    let err = d.server_groups_and_resources().await.unwrap_err();
    let partial = err.partial().expect("partial result");
    assert_eq!(err.failed_group_versions(), [GroupVersion::new("batch", "v1")]);
    assert!(
        matches!(partial.failed.values().next(), Some(GroupVersionFailure::Request(e)) if e.status_code() == Some(503))
    );
    assert!(partial.resources.iter().any(|l| l.group_version == "apps/v1"));
    assert!(!partial.resources.iter().any(|l| l.group_version == "batch/v1"));
    assert!(err.to_string().starts_with("unable to retrieve the complete list of server APIs: batch/v1: "), "{err}");
    let err = d.server_preferred_resources().await.unwrap_err();
    assert!(err.partial().unwrap().resources.iter().any(|l| l.group_version == "v1" && !l.resources.is_empty()));
    let err = d.server_resources_for_group_version("batch/v1").await.unwrap_err();
    assert!(matches!(err, DiscoveryError::GroupVersionFailed { .. }), "{err}");
    proxy.fail_paths.lock().unwrap().clear();

    // Aggregated: apps is Stale.
    proxy.stale_groups.lock().unwrap().insert("apps".into());
    let d = DiscoveryClient::new(via).cached_in_memory();
    let err = d.server_groups_and_resources().await.unwrap_err();
    let partial = err.partial().unwrap();
    assert!(matches!(partial.failed[&GroupVersion::new("apps", "v1")], GroupVersionFailure::Stale(_)));
    assert!(partial.resources.iter().any(|l| l.group_version == "batch/v1"));
    let groups = d.server_groups().await.expect("groups still answer");
    assert!(groups.groups.iter().any(|g| g.name == "batch"));
}

#[tokio::test]
async fn memory_cache_serves_from_memory_until_invalidated() {
    let (_server, client) = server().await;
    let proxy = Proxy::start(client.clone()).await;
    let d = DiscoveryClient::new(client_for(&proxy.url)).cached_in_memory();
    d.server_preferred_resources().await.unwrap();
    let after_first = proxy.count();
    assert_eq!(after_first, 2, "aggregated discovery: /api and /apis");
    d.server_groups().await.unwrap();
    d.server_resources_for_group_version("apps/v1").await.unwrap();
    d.server_groups_and_resources().await.unwrap();
    assert_eq!(proxy.count(), after_first, "served from memory");
    assert!(matches!(d.server_resources_for_group_version("nope/v1").await, Err(DiscoveryError::NotServed(_))));

    create_crd(&client, &crd("stable.example.com", "crontabs", "CronTab", "ct")).await;
    assert!(d.server_resources_for_group_version("stable.example.com/v1").await.is_err(), "cached data is old");
    d.invalidate();
    let list = d.server_resources_for_group_version("stable.example.com/v1").await.unwrap();
    assert_eq!(list.resources[0].kind, "CronTab");
    assert_eq!(proxy.count(), after_first + 2);

    // Concurrent callers share one fetch.
    d.invalidate();
    let calls: Vec<_> = (0..8).map(|_| d.server_groups()).collect();
    futures::future::join_all(calls).await.into_iter().for_each(|r| assert!(r.is_ok()));
    assert_eq!(proxy.count(), after_first + 4);
}

fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn disk_cache_layout_permissions_ttl_and_invalidate() {
    let (_server, client) = server().await;
    let proxy = Proxy::start(client.clone()).await;
    let tmp = tempfile::tempdir().unwrap();
    let url: http::Uri = proxy.url.parse().unwrap();
    let cache = DiskCache::in_cache_dir(tmp.path(), &url);
    let expected_dir = tmp.path().join("discovery").join(proxy.url.trim_start_matches("http://").replace(':', "_"));
    assert_eq!(cache.dir(), expected_dir);

    let writer = DiscoveryClient::new(client_for(&proxy.url)).cached_on_disk(cache.clone());
    let live = writer.server_preferred_resources().await.unwrap();
    assert!(writer.fresh());
    for file in ["servergroups.json", "v1/serverresources.json", "apps/v1/serverresources.json"] {
        let path = expected_dir.join(file);
        assert_eq!(mode_of(&path), 0o660, "{file}");
        let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(doc["apiVersion"], "v1");
    }
    assert_eq!(mode_of(&expected_dir), 0o750 & !umask());
    assert_eq!(mode_of(&expected_dir.join("apps")), 0o750 & !umask());
    assert!(std::fs::read_dir(expected_dir.join("apps/v1")).unwrap().count() == 1, "no temporary files left");

    // Another "process" (a new cache instance) reads the files without asking the server.
    let before = proxy.count();
    let reader = DiscoveryClient::new(client_for(&proxy.url)).cached_on_disk(DiskCache::in_cache_dir(tmp.path(), &url));
    assert_eq!(preferred_names(&reader.server_preferred_resources().await.unwrap()), preferred_names(&live));
    assert_eq!(proxy.count(), before, "read from disk");
    assert!(!reader.fresh(), "files another process wrote are not fresh");
    // After invalidate it ignores files it did not write, fetches and rewrites them.
    reader.invalidate();
    reader.server_groups().await.unwrap();
    assert_eq!(proxy.count(), before + 2);
    assert!(reader.fresh());

    // Expired files are not used.
    let expired = DiscoveryClient::new(client_for(&proxy.url))
        .cached_on_disk(DiskCache::in_cache_dir(tmp.path(), &url).ttl(Duration::ZERO));
    expired.server_groups().await.unwrap();
    assert_eq!(proxy.count(), before + 4);

    // Garbage files are a cache miss, never a failure.
    std::fs::write(expected_dir.join("apps/v1/serverresources.json"), b"\x00garbage").unwrap();
    let d = DiscoveryClient::new(client_for(&proxy.url)).cached_on_disk(DiskCache::in_cache_dir(tmp.path(), &url));
    assert!(
        d.server_resources_for_group_version("apps/v1")
            .await
            .unwrap()
            .resources
            .iter()
            .any(|r| r.name == "deployments")
    );
    assert_eq!(proxy.count(), before + 6);
}

fn umask() -> u32 {
    // Read the process umask from /proc (Linux); 0o022 when unknown.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("Umask:").map(|v| u32::from_str_radix(v.trim(), 8).ok())))
        .flatten()
        .unwrap_or(0o022)
}

#[tokio::test]
async fn rest_mapper_maps_and_refreshes_stale_cache_on_miss() {
    let (_server, client) = server().await;
    let tmp = tempfile::tempdir().unwrap();
    let url: http::Uri = client.config().cluster_url.clone();
    // Someone else (an earlier run) cached discovery before the CRD existed.
    DiscoveryClient::new(client.clone())
        .cached_on_disk(DiskCache::in_cache_dir(tmp.path(), &url))
        .server_groups_and_resources()
        .await
        .unwrap();
    create_crd(&client, &crd("stable.example.com", "crontabs", "CronTab", "ct")).await;

    let discovery = DiscoveryClient::new(client.clone()).cached_on_disk(DiskCache::in_cache_dir(tmp.path(), &url));
    let mapper = RestMapper::new(discovery);
    let pods = mapper.resource_for("po").await.unwrap();
    assert_eq!((pods.plural.as_str(), pods.kind.as_str(), pods.namespaced), ("pods", "Pod", true));
    assert!(!mapper.discovery().fresh(), "answered from the old files");
    // The CRD is not in the old files: the miss invalidates and retries once.
    let ct = mapper.resource_for("ct").await.unwrap();
    assert_eq!(ct.gvk(), GroupVersionKind::new("stable.example.com", "v1", "CronTab"));
    assert!(mapper.discovery().fresh());
    assert_eq!(mapper.resource_for("DEPLOY").await.unwrap().group, "apps");
    assert_eq!(mapper.resource_for("deployments.v1.apps").await.unwrap().kind, "Deployment");
    assert_eq!(mapper.resource_for("events").await.unwrap().group, "", "core group wins");
    let gvk = mapper.kind_for(&rkube_core::GroupVersionResource::new("apps", "", "statefulsets")).await.unwrap();
    assert_eq!(gvk, GroupVersionKind::new("apps", "v1", "StatefulSet"));
    let r = mapper.resource_for_gvk(&GroupVersionKind::new("apps", "", "DaemonSet")).await.unwrap();
    assert_eq!((r.plural.as_str(), r.version.as_str()), ("daemonsets", "v1"));
    let all: Vec<String> = mapper.category("all").await.unwrap().into_iter().map(|r| r.plural).collect();
    assert!(
        all.contains(&"pods".to_string())
            && all.contains(&"deployments".to_string())
            && all.contains(&"crontabs".to_string()),
        "{all:?}"
    );
    assert!(matches!(mapper.resource_for("nonsense").await, Err(rkube_client::discovery::MapperError::NoMatch(_))));

    // Several versions: the preferred one unless a version is named.
    let mut multi = crd("example.net", "gadgets", "Gadget", "gd");
    let schema = multi["spec"]["versions"][0]["schema"].clone();
    multi["spec"]["versions"] = json!([
        {"name": "v1beta1", "served": true, "storage": false, "schema": schema},
        {"name": "v1", "served": true, "storage": true, "schema": schema}]);
    create_crd(&client, &multi).await;
    assert!(mapper.resource_for("gd").await.is_err(), "fresh and recent data: a miss does not reload");
    mapper.reset().await;
    assert_eq!(mapper.resource_for("gd").await.unwrap().version, "v1");
    assert_eq!(mapper.resource_for("gadgets.v1beta1.example.net").await.unwrap().version, "v1beta1");
    assert_eq!(mapper.resource_for("Gadget.v1beta1.example.net").await.unwrap().version, "v1beta1");
    let preferred = mapper.discovery().server_preferred_resources().await.unwrap();
    let gadget_lists: Vec<&str> = preferred
        .iter()
        .filter(|l| l.resources.iter().any(|r| r.name == "gadgets"))
        .map(|l| l.group_version.as_str())
        .collect();
    assert_eq!(gadget_lists, ["example.net/v1"]);

    // A memory-cached mapper finds a CRD created after its first load (refresh on miss).
    let mapper = RestMapper::new(DiscoveryClient::new(client.clone()).cached_in_memory()).refresh_after(Duration::ZERO);
    mapper.resource_for("pods").await.unwrap();
    create_crd(&client, &crd("example.org", "widgets", "Widget", "wd")).await;
    assert_eq!(mapper.resource_for("wd").await.unwrap().kind, "Widget");
}

//! The discovery disk cache shared with real kubectl, both ways: kubectl writes and we read
//! (with the server gone, so nothing can come from it), and we write and kubectl reads
//! (`--cached`, while the server would answer differently). Runs every kubectl found;
//! skipped (with a note) when none is installed.

use std::path::{Path, PathBuf};
use std::process::Command;

use rkube_apiserver::ApiServer;
use rkube_client::Client;
use rkube_client::config::Config;
use rkube_client::discovery::{DiscoveryClient, DiskCache};
use serde_json::json;

const KUBECTLS: &[&str] = &[
    "/usr/bin/kubectl",
    "/usr/lib/google-cloud-sdk/bin/kubectl.1.33",
    "/usr/lib/google-cloud-sdk/bin/kubectl.1.30",
    "/usr/lib/google-cloud-sdk/bin/kubectl.1.27",
];

fn kubectls() -> Vec<PathBuf> {
    let found: Vec<PathBuf> = KUBECTLS.iter().map(PathBuf::from).filter(|p| p.exists()).collect();
    if found.is_empty() {
        eprintln!("no kubectl installed; kubectl interop not checked");
    }
    found
}

fn kubectl(bin: &Path, kubeconfig: &Path, cache_dir: &Path, args: &[&str]) -> String {
    let out = Command::new(bin)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .env("KUBECACHEDIR", cache_dir)
        .output()
        .expect("kubectl runs");
    assert!(out.status.success(), "{} {args:?}: {}", bin.display(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn client_for(url: &str) -> Client {
    let mut config = Config::new(url.parse().unwrap());
    config.qps = -1.0;
    Client::new(config).unwrap()
}

fn names(lists: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::APIResourceList]) -> Vec<String> {
    let mut v: Vec<String> =
        lists.iter().flat_map(|l| l.resources.iter().map(move |r| format!("{} {}", l.group_version, r.name))).collect();
    v.sort();
    v
}

/// Every `*.json` file below `dir`, relative path -> parsed JSON.
fn json_files(dir: &Path) -> std::collections::BTreeMap<String, serde_json::Value> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "json") {
                let rel = p.strip_prefix(dir).unwrap().display().to_string();
                out.insert(rel, serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap());
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn we_read_what_kubectl_wrote() {
    for bin in kubectls() {
        eprintln!("checking {}", bin.display());
        let server = ApiServer::start_default().await.unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let kubeconfig = tmp.path().join("kubeconfig");
        server.write_kubeconfig(&kubeconfig).unwrap();
        let (kube_cache, our_cache) = (tmp.path().join("kubectl-cache"), tmp.path().join("our-cache"));
        kubectl(&bin, &kubeconfig, &kube_cache, &["api-resources"]);

        let url: http::Uri = server.url().parse().unwrap();
        let theirs = DiskCache::in_cache_dir(&kube_cache, &url);
        assert!(theirs.groups_file().exists(), "{}: kubectl wrote {}", bin.display(), theirs.groups_file().display());

        // What we fetch live and write ourselves is the same set of files with the same content.
        let live =
            DiscoveryClient::new(client_for(server.url())).cached_on_disk(DiskCache::in_cache_dir(&our_cache, &url));
        let live_resources = live.server_preferred_resources().await.unwrap();
        let ours = json_files(live.disk_cache().unwrap().dir());
        let kubectls_files = json_files(theirs.dir());
        assert_eq!(ours.keys().collect::<Vec<_>>(), kubectls_files.keys().collect::<Vec<_>>(), "{}", bin.display());
        for (file, doc) in &ours {
            assert_eq!(Some(doc), kubectls_files.get(file), "{}: {file} as kubectl writes it", bin.display());
        }

        // With the server gone, everything must come from kubectl's files.
        let url_string = server.url().to_owned();
        server.shutdown().await;
        let reader =
            DiscoveryClient::new(client_for(&url_string)).cached_on_disk(DiskCache::in_cache_dir(&kube_cache, &url));
        let cached = reader.server_preferred_resources().await.expect("read from kubectl's cache");
        assert_eq!(names(&cached), names(&live_resources), "{}", bin.display());
        assert!(!reader.fresh());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_reads_what_we_wrote() {
    for bin in kubectls() {
        eprintln!("checking {}", bin.display());
        let server = ApiServer::start_default().await.unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let kubeconfig = tmp.path().join("kubeconfig");
        server.write_kubeconfig(&kubeconfig).unwrap();
        let cache_dir = tmp.path().join("cache");
        let url: http::Uri = server.url().parse().unwrap();
        let client = client_for(server.url());
        DiscoveryClient::new(client.clone())
            .cached_on_disk(DiskCache::in_cache_dir(&cache_dir, &url))
            .server_groups_and_resources()
            .await
            .unwrap();

        // Now the server serves one more resource; only a kubectl reading our files misses it.
        let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "crontabs.stable.example.com"},
            "spec": {"group": "stable.example.com", "scope": "Namespaced",
                "names": {"plural": "crontabs", "singular": "crontab", "kind": "CronTab"},
                "versions": [{"name": "v1", "served": true, "storage": true,
                    "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}});
        client
            .post()
            .abs_path("/apis/apiextensions.k8s.io/v1/customresourcedefinitions")
            .json(&crd)
            .send_checked()
            .await
            .unwrap();
        let groups_file = DiskCache::in_cache_dir(&cache_dir, &url).groups_file();
        let groups_before = std::fs::metadata(&groups_file).unwrap().modified().unwrap();

        let cached = kubectl(&bin, &kubeconfig, &cache_dir, &["api-resources", "--cached"]);
        assert!(cached.contains("deployments"), "{}: {cached}", bin.display());
        assert!(!cached.contains("crontabs"), "{}: kubectl used our cache: {cached}", bin.display());
        let versions = kubectl(&bin, &kubeconfig, &cache_dir, &["get", "--raw", "/version"]);
        assert!(versions.contains("gitVersion"));
        let groups_after = std::fs::metadata(&groups_file).unwrap().modified().unwrap();
        assert_eq!(groups_before, groups_after, "{}: kubectl did not rewrite our cache", bin.display());

        let live = kubectl(&bin, &kubeconfig, &cache_dir, &["api-resources"]);
        assert!(live.contains("crontabs"), "{}: {live}", bin.display());
        // And we read the files kubectl just rewrote.
        let reread = DiscoveryClient::new(client.clone()).cached_on_disk(DiskCache::in_cache_dir(&cache_dir, &url));
        let lists = reread.server_preferred_resources().await.unwrap();
        assert!(names(&lists).iter().any(|n| n == "stable.example.com/v1 crontabs"));
        server.shutdown().await;
    }
}

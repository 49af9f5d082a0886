//! `rkube api-resources` / `rkube api-versions` print byte for byte what kubectl prints for
//! the same server, and share kubectl's discovery cache both ways. Runs every kubectl found
//! (skipped with a note when none is installed).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rkube_apiserver::{ApiServer, ServerOptions};
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
        eprintln!("no kubectl installed; output comparison not checked");
    }
    found
}

fn run(bin: &Path, cache: &Path, args: &[&str]) -> Output {
    Command::new(bin).args(args).env("KUBECACHEDIR", cache).output().expect("runs")
}

fn stdout(bin: &Path, cache: &Path, args: &[&str]) -> String {
    let out = run(bin, cache, args);
    assert!(out.status.success(), "{} {args:?}: {}", bin.display(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn rkube() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_rkube"))
}

async fn server_with_crd() -> ApiServer {
    let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "crontabs.stable.example.com"},
        "spec": {"group": "stable.example.com", "scope": "Cluster",
            "names": {"plural": "crontabs", "singular": "crontab", "kind": "CronTab", "shortNames": ["ct", "cts"],
                      "categories": ["all", "batchy"]},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}});
    // Three served versions: the server orders them v1, v1beta1, v2alpha1 and prefers v1.
    let schema = json!({"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}});
    let versions: Vec<_> = ["v1beta1", "v1", "v2alpha1"]
        .iter()
        .map(|v| json!({"name": v, "served": true, "storage": *v == "v1", "schema": schema}))
        .collect();
    let multi = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "gadgets.example.org"},
        "spec": {"group": "example.org", "scope": "Namespaced",
            "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget", "shortNames": ["gd"]},
            "versions": versions}});
    ApiServer::start(ServerOptions { seed: vec![crd, multi], ..ServerOptions::default() }).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn output_matches_kubectl() {
    let server = server_with_crd().await;
    let tmp = tempfile::tempdir().unwrap();
    let kubeconfig = tmp.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig).unwrap();
    let k = kubeconfig.to_str().unwrap();
    let variants: &[&[&str]] = &[
        &["api-resources"],
        &["api-resources", "-o", "wide"],
        &["api-resources", "-o", "name"],
        &["api-resources", "--no-headers"],
        &["api-resources", "--namespaced=false"],
        &["api-resources", "--namespaced"],
        &["api-resources", "--api-group", "apps"],
        &["api-resources", "--api-group="],
        &["api-resources", "--sort-by", "kind"],
        &["api-resources", "--sort-by", "name", "-o", "wide"],
        &["api-resources", "--verbs", "list,watch", "--categories", "all"],
        &["api-versions"],
    ];
    let ours_cache = tmp.path().join("ours");
    for bin in kubectls() {
        let theirs_cache = tmp.path().join("theirs");
        for args in variants {
            let mut full = args.to_vec();
            full.extend(["--kubeconfig", k]);
            let theirs = stdout(&bin, &theirs_cache, &full);
            let ours = stdout(&rkube(), &ours_cache, &full);
            assert_eq!(ours, theirs, "{} {args:?}", bin.display());
            if args == &["api-resources"] {
                assert!(ours.contains("crontabs") && ours.contains("ct,cts"), "{ours}");
                assert!(ours.contains("example.org/v1 ") && !ours.contains("example.org/v1beta1"), "{ours}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn cached_output_comes_from_kubectls_cache_and_back() {
    for bin in kubectls() {
        let server = server_with_crd().await;
        let tmp = tempfile::tempdir().unwrap();
        let kubeconfig = tmp.path().join("kubeconfig");
        server.write_kubeconfig(&kubeconfig).unwrap();
        let k = kubeconfig.to_str().unwrap();
        let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
        let kubectl_live = stdout(&bin, &a, &["api-resources", "--kubeconfig", k]);
        let rkube_live = stdout(&rkube(), &b, &["api-resources", "--kubeconfig", k]);
        server.shutdown().await;
        // Server gone: only the caches can answer.
        assert_eq!(
            stdout(&rkube(), &a, &["api-resources", "--cached", "--kubeconfig", k]),
            kubectl_live,
            "{}",
            bin.display()
        );
        assert_eq!(
            stdout(&bin, &b, &["api-resources", "--cached", "--kubeconfig", k]),
            rkube_live,
            "{}",
            bin.display()
        );
        assert_eq!(stdout(&rkube(), &b, &["api-versions", "--cached", "--kubeconfig", k]).lines().count(), 10);
        // Without --cached both ask the server, which is gone.
        let out = run(&rkube(), &a, &["api-resources", "--kubeconfig", k]);
        assert!(!out.status.success());
    }
}

#[test]
fn no_cluster_configured_is_explained() {
    let home = tempfile::tempdir().unwrap();
    for cmd in ["api-resources", "api-versions"] {
        let out = Command::new(rkube()).arg(cmd).env("HOME", home.path()).env_remove("KUBECONFIG").output().unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("no Kubernetes cluster is configured") && err.contains("--kubeconfig"), "{err}");
    }
    let out = Command::new(rkube()).args(["api-resources", "--kubeconfig", "/nonexistent/kc"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/kc"));
}

/// A one-request-per-connection HTTP/1.1 proxy in front of the server that marks the `apps`
/// group `Stale` in aggregated discovery answers (an aggregated API server that is down).
async fn stale_apps_proxy(upstream: rkube_client::Client) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else { return };
            let upstream = upstream.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&buf).to_string();
                let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
                let accept = head
                    .lines()
                    .find_map(|l| {
                        l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("accept")).map(|(_, v)| v.trim())
                    })
                    .unwrap_or("application/json")
                    .to_owned();
                let resp = upstream.get().abs_path(path).header("Accept", &accept).send().await.unwrap();
                let content_type =
                    resp.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                let mut body = resp.body.to_vec();
                if content_type.contains("APIGroupDiscoveryList") {
                    let mut doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
                    for item in doc["items"].as_array_mut().unwrap() {
                        if item["metadata"]["name"] == "apps" {
                            for v in item["versions"].as_array_mut().unwrap() {
                                v["freshness"] = "Stale".into();
                            }
                        }
                    }
                    body = serde_json::to_vec(&doc).unwrap();
                }
                let head = format!(
                    "HTTP/1.1 {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    resp.status,
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(&body).await;
            });
        }
    });
    url
}

#[tokio::test(flavor = "multi_thread")]
async fn partial_discovery_prints_the_rest_and_reports_the_failure() {
    let server = server_with_crd().await;
    let mut config = rkube_client::Config::new(server.url().parse().unwrap());
    config.qps = -1.0;
    let url = stale_apps_proxy(rkube_client::Client::new(config).unwrap()).await;
    let tmp = tempfile::tempdir().unwrap();
    let kubeconfig = tmp.path().join("kubeconfig");
    std::fs::write(&kubeconfig, rkube_apiserver::kubeconfig_yaml(&url, None, None)).unwrap();
    let k = kubeconfig.to_str().unwrap();
    for bin in kubectls() {
        let theirs = run(&bin, &tmp.path().join("theirs"), &["api-resources", "--kubeconfig", k]);
        let ours = run(&rkube(), &tmp.path().join("ours"), &["api-resources", "--kubeconfig", k]);
        // kubectl through its disk cache drops a stale group silently (its cached client reads
        // groups without the stale versions and never sees them fail) and exits 0; rkube
        // prints the same table and then reports the stale group/version, exiting 1.
        assert!(!ours.status.success());
        let (theirs_out, ours_out) = (String::from_utf8_lossy(&theirs.stdout), String::from_utf8_lossy(&ours.stdout));
        assert_eq!(ours_out, theirs_out, "{}", bin.display());
        assert!(ours_out.contains("pods") && !ours_out.contains("deployments"), "{ours_out}");
        let expected = "error: unable to retrieve the complete list of server APIs: apps/v1: stale GroupVersion discovery: apps/v1";
        let ours_err = String::from_utf8_lossy(&ours.stderr);
        assert!(ours_err.contains(expected), "{ours_err}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn context_flag_selects_the_cluster() {
    let server = server_with_crd().await;
    let tmp = tempfile::tempdir().unwrap();
    let kubeconfig = tmp.path().join("kubeconfig");
    let yaml = format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: broken\n\
         clusters:\n- name: good\n  cluster:\n    server: {}\n- name: broken\n  cluster:\n    server: http://127.0.0.1:1\n\
         contexts:\n- name: good\n  context:\n    cluster: good\n    user: u\n- name: broken\n  context:\n    cluster: broken\n    user: u\n\
         users:\n- name: u\n  user: {{}}\n",
        server.url()
    );
    std::fs::write(&kubeconfig, yaml).unwrap();
    let k = kubeconfig.to_str().unwrap();
    let cache = tmp.path().join("cache");
    assert!(!run(&rkube(), &cache, &["api-versions", "--kubeconfig", k]).status.success(), "current context is broken");
    let ours = stdout(&rkube(), &cache, &["api-versions", "--kubeconfig", k, "--context", "good"]);
    assert!(ours.contains("apps/v1\n"), "{ours}");
    for bin in kubectls() {
        assert_eq!(
            ours,
            stdout(&bin, &cache, &["api-versions", "--kubeconfig", k, "--context", "good"]),
            "{}",
            bin.display()
        );
    }
    let missing = run(&rkube(), &cache, &["api-versions", "--kubeconfig", k, "--context", "nope"]);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("nope"));
}

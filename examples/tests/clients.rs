//! The four client programs against the embedded API server over HTTP: their logic in
//! process (seeded with the demo objects), and the built binaries with `--kubeconfig`.

use std::process::Command;

use rkube::apiserver::{ApiServer, ServerOptions};
use rkube::client::Client;
use rkube::client::config::{Config, KubeconfigOptions};
use rkube::core::GroupVersionResource;
use rkube_examples::clients;
use rkube_examples::cluster::demo_seed;

async fn demo() -> (ApiServer, Client) {
    let server = ApiServer::start(ServerOptions { seed: demo_seed(), ..ServerOptions::default() }).await.unwrap();
    let config = Config::from_kubeconfig_str(&server.kubeconfig(), &KubeconfigOptions::default()).unwrap();
    (server, Client::new(config).unwrap())
}

#[tokio::test]
async fn restclient_lists_node_names() {
    let (_server, client) = demo().await;
    let out = clients::restclient(&client).await.unwrap();
    assert_eq!(out, "There are 3 nodes in the cluster\nnode-a\nnode-b\nnode-c\n");
}

#[tokio::test]
async fn clientset_lists_pods_deployments_daemonsets() {
    let (_server, client) = demo().await;
    let out = clients::clientset(&client).await.unwrap();
    assert!(out.starts_with("There are 5 pods in the default namespace\n  pod db-0 on node-b\n"), "{out}");
    assert!(out.contains("There are 2 deployments in the default namespace\n  deployment db (1 replicas)\n  deployment web (4 replicas)\n"), "{out}");
    assert!(out.ends_with("There are 1 daemonsets in the default namespace\n  daemonset node-exporter\n"), "{out}");
}

#[tokio::test]
async fn dynamic_lists_typed_pods_and_custom_objects() {
    let (_server, client) = demo().await;
    let out = clients::dynamic(&client, &clients::demo_crd_gvr()).await.unwrap();
    assert!(
        out.starts_with(
            "5 pods in default through v1, Resource=pods, as a typed PodList:\n  db-0 registry.example/db:1.0\n"
        ),
        "{out}"
    );
    assert!(out.contains("2 Widget (widgets) objects through example.com/v1, Resource=widgets:\n  large {\"size\":10}\n  small {\"size\":1}\n"), "{out}");
    let missing = clients::dynamic(&client, &GroupVersionResource::new("nope.example", "v1", "things")).await.unwrap();
    assert!(missing.contains("is not served here"), "{missing}");
}

#[tokio::test]
async fn discovery_lists_every_resource() {
    let (_server, client) = demo().await;
    let out = clients::discovery(&client).await.unwrap();
    let lines: Vec<Vec<&str>> = out.lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(lines[0], ["Server", "version", "v1.37.0-rkube"]);
    assert_eq!(lines[1], ["NAME", "GROUP", "VERSION"]);
    for expected in [
        ["pods", "(core)", "v1"],
        ["deployments", "apps", "v1"],
        ["widgets", "example.com", "v1"],
        ["events", "events.k8s.io", "v1"],
    ] {
        assert!(lines.iter().any(|l| l[..] == expected[..]), "{expected:?} in {out}");
    }
    assert!(!out.contains('/'), "no subresources: {out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn binaries_run_against_a_kubeconfig() {
    let (server, _) = demo().await;
    let tmp = tempfile::tempdir().unwrap();
    let kubeconfig = tmp.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig).unwrap();
    let run = |bin: &str| {
        let out = Command::new(bin).arg("--kubeconfig").arg(&kubeconfig).output().unwrap();
        assert!(out.status.success(), "{bin}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    assert!(run(env!("CARGO_BIN_EXE_restclient")).contains("node-c"));
    assert!(run(env!("CARGO_BIN_EXE_clientset")).contains("daemonset node-exporter"));
    assert!(run(env!("CARGO_BIN_EXE_dynamic")).contains("small {\"size\":1}"));
    assert!(run(env!("CARGO_BIN_EXE_discovery")).contains("widgets"));
}

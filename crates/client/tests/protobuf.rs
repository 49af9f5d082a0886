//! Typed clients in protobuf (`Config::protobuf`) against the embedded API server: the same
//! objects as the JSON path, writes in protobuf, JSON understood for kinds without protobuf.

mod common;

use k8s_openapi::ByteString;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use rkube_client::{Api, Client};
use rkube_core::{ApiResource, DynamicObject, GroupVersionKind, ListOptions, WriteOptions};
use serde_json::json;

#[tokio::test]
async fn protobuf_and_json_clients_see_the_same_objects() {
    let (server, json_client) = common::server().await;
    let mut config = common::config_for(&server);
    config.qps = -1.0;
    config.protobuf = true;
    let pb_client = Client::new(config).unwrap();
    let w = WriteOptions::default();

    let pb: Api<Deployment> = Api::namespaced(pb_client.clone(), "default");
    let js: Api<Deployment> = Api::namespaced(json_client.clone(), "default");
    let d: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx",
                    "resources": {"requests": {"cpu": "250m", "memory": "64Mi"}}}]}}}
    }))
    .unwrap();
    let created = pb.create(&w, &d).await.unwrap();
    assert_eq!(created, js.get("web").await.unwrap());
    assert_eq!(pb.get("web").await.unwrap(), js.get("web").await.unwrap());

    let mut changed = created.clone();
    changed.spec.replicas = Some(5);
    let replaced = pb.replace("web", &w, &changed).await.unwrap();
    assert_eq!(replaced.spec.replicas, Some(5));
    assert_eq!(replaced, js.get("web").await.unwrap());

    let secrets: Api<Secret> = Api::namespaced(pb_client.clone(), "default");
    let s = Secret {
        metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
            name: Some("s".into()),
            ..Default::default()
        },
        data: Some([("bin".to_string(), ByteString(vec![0, 159, 255]))].into()),
        ..Default::default()
    };
    secrets.create(&w, &s).await.unwrap();
    let back = Api::<Secret>::namespaced(json_client.clone(), "default").get("s").await.unwrap();
    assert_eq!(back.data, s.data, "byte fields survive protobuf");

    for i in 0..7 {
        Api::<ConfigMap>::namespaced(pb_client.clone(), "default")
            .create(&w, &common::configmap(&format!("c{i}"), &[("k", "v")]))
            .await
            .unwrap();
    }
    let cms: Api<ConfigMap> = Api::namespaced(pb_client.clone(), "default");
    let page = cms.list(&ListOptions::default().limit(4)).await.unwrap();
    assert_eq!(page.items.len(), 4);
    assert_eq!(page.types.kind, "ConfigMapList");
    let rest = cms.list(&ListOptions::default().continue_from(page.continue_token().unwrap())).await.unwrap();
    assert_eq!(rest.items.len(), 3);
    let all_json =
        Api::<ConfigMap>::namespaced(json_client.clone(), "default").list(&ListOptions::default()).await.unwrap();
    let mut both: Vec<ConfigMap> = page.items.into_iter().chain(rest.items).collect();
    both.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    assert_eq!(both, all_json.items);

    // Kinds without protobuf (custom resources) keep using JSON with the same client.
    let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"kind": "Widget", "plural": "widgets", "singular": "widget", "listKind": "WidgetList"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}});
    Api::<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition>::cluster(
        pb_client.clone(),
    )
    .create(&w, &serde_json::from_value(crd).unwrap())
    .await
    .unwrap();
    let ar = ApiResource::from_gvk(&GroupVersionKind::new("example.com", "v1", "Widget"), true);
    let widgets: Api<DynamicObject> = Api::namespaced_with(pb_client.clone(), "default", &ar);
    widgets.create(&w, &DynamicObject::new("w", &ar).with_field("spec", json!({"size": 1}))).await.unwrap();
    assert_eq!(widgets.get("w").await.unwrap().data["spec"]["size"], 1);
}

//! Typed clients in protobuf (`Config::content_type`) against the embedded API server: the
//! same objects as the JSON path, writes in protobuf, JSON understood for kinds without
//! protobuf, the `Auto` default (protobuf for lossless kinds only) and the fallback to JSON
//! when a server refuses protobuf (through a proxy that answers 415/406 to it).

mod common;

use k8s_openapi::ByteString;
use k8s_openapi::api::apps::v1::Deployment;
use std::sync::{Arc, Mutex};

use k8s_openapi::api::core::v1::{ConfigMap, Pod, Secret};
use rkube_apiserver::ApiServer;
use rkube_client::config::ContentType;
use rkube_client::{Api, Client};
use rkube_core::{ApiResource, DynamicObject, GroupVersionKind, ListOptions, WriteOptions};
use serde_json::json;

#[tokio::test]
async fn protobuf_and_json_clients_see_the_same_objects() {
    let (server, json_client) = common::server().await;
    let mut config = common::config_for(&server);
    config.qps = -1.0;
    config.content_type = ContentType::Protobuf;
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

/// One request as the proxy saw it: method, path, request content type, Accept, and the
/// content type and status of the answer.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    content_type: String,
    accept: String,
    answer: String,
    status: u16,
}

/// A plain-HTTP reverse proxy in front of the embedded server that records every request;
/// with `refuse`, it answers 415 to protobuf bodies and 406 to an `Accept` that lists
/// protobuf, as a server without protobuf support that negotiates strictly would.
async fn proxy(upstream: String, refuse: bool) -> (String, Arc<Mutex<Vec<Seen>>>) {
    use http_body_util::{BodyExt, Full};
    use hyper::body::{Bytes, Incoming};
    use hyper_util::client::legacy::Client as HyperClient;
    use hyper_util::rt::{TokioExecutor, TokioIo};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let http: HyperClient<_, Full<Bytes>> = HyperClient::builder(TokioExecutor::new()).build_http();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (http, log, upstream) = (http.clone(), log.clone(), upstream.clone());
            let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                let (http, log, upstream) = (http.clone(), log.clone(), upstream.clone());
                async move {
                    let header = |name: &str| {
                        req.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
                    };
                    let mut seen = Seen {
                        method: req.method().to_string(),
                        path: req.uri().path().to_string(),
                        content_type: header("content-type"),
                        accept: header("accept"),
                        answer: String::new(),
                        status: 0,
                    };
                    let refusal = match () {
                        _ if refuse && seen.content_type.contains("protobuf") => Some(415),
                        _ if refuse && seen.accept.contains("protobuf") => Some(406),
                        _ => None,
                    };
                    let resp = match refusal {
                        Some(code) => {
                            let status = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                "code": code, "message": "protobuf refused"});
                            hyper::Response::builder()
                                .status(code)
                                .header("content-type", "application/json")
                                .body(Full::new(Bytes::from(status.to_string())))
                                .unwrap()
                        }
                        None => {
                            let (mut parts, body) = req.into_parts();
                            let path = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/").to_string();
                            parts.uri = format!("{upstream}{path}").parse().unwrap();
                            parts.headers.remove("host");
                            let body = body.collect().await.unwrap().to_bytes();
                            let resp = http.request(hyper::Request::from_parts(parts, Full::new(body))).await.unwrap();
                            let (parts, body) = resp.into_parts();
                            let body = body.collect().await.unwrap().to_bytes();
                            hyper::Response::from_parts(parts, Full::new(body))
                        }
                    };
                    seen.status = resp.status().as_u16();
                    seen.answer = resp
                        .headers()
                        .get("content-type")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_string();
                    log.lock().unwrap().push(seen);
                    Ok::<_, std::convert::Infallible>(resp)
                }
            });
            tokio::spawn(async move {
                let _ =
                    hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
    (format!("http://{addr}"), seen)
}

/// A client of the embedded server through `proxy` with the default config but for the URL.
async fn client_through(refuse: bool, content_type: Option<ContentType>) -> (ApiServer, Client, Arc<Mutex<Vec<Seen>>>) {
    let (server, _) = common::server().await;
    let (url, seen) = proxy(server.url().to_string(), refuse).await;
    let mut config = common::config_for(&server);
    assert_eq!(config.content_type, ContentType::Auto, "auto is the default");
    config.cluster_url = url.parse().unwrap();
    config.qps = -1.0;
    config.disable_compression = true;
    if let Some(ct) = content_type {
        config.content_type = ct;
    }
    (server, Client::new(config).unwrap(), seen)
}

fn take(seen: &Mutex<Vec<Seen>>) -> Vec<Seen> {
    std::mem::take(&mut *seen.lock().unwrap())
}

fn pod(name: &str) -> Pod {
    serde_json::from_value(json!({"metadata": {"name": name},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]}}))
    .unwrap()
}

#[tokio::test]
async fn auto_uses_protobuf_for_lossless_kinds_and_json_for_the_others() {
    let (_server, client, seen) = client_through(false, None).await;
    let w = WriteOptions::default();
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    cms.create(&w, &common::configmap("a", &[("k", "v")])).await.unwrap();
    assert_eq!(cms.get("a").await.unwrap().data.unwrap()["k"], "v");
    assert_eq!(cms.list(&ListOptions::default()).await.unwrap().items.len(), 1);
    let cm_requests = take(&seen);
    let verbs: Vec<(&str, &str)> = cm_requests.iter().map(|s| (s.method.as_str(), s.path.as_str())).collect();
    assert_eq!(
        verbs,
        [
            ("POST", "/api/v1/namespaces/default/configmaps"),
            ("GET", "/api/v1/namespaces/default/configmaps/a"),
            ("GET", "/api/v1/namespaces/default/configmaps")
        ]
    );
    for s in &cm_requests {
        assert!(s.accept.starts_with("application/vnd.kubernetes.protobuf"), "{s:?}");
        assert!(s.answer.starts_with("application/vnd.kubernetes.protobuf"), "{s:?}");
    }
    assert!(cm_requests[0].content_type.starts_with("application/vnd.kubernetes.protobuf"), "protobuf body");

    // Pods: k8s-pb lacks fields k8s-openapi has (PodSpec.schedulingGroup ...), so JSON.
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    pods.create(&w, &pod("p")).await.unwrap();
    pods.get("p").await.unwrap();
    pods.list(&ListOptions::default()).await.unwrap();
    for s in take(&seen) {
        assert!(!s.accept.contains("protobuf") && !s.content_type.contains("protobuf"), "{s:?}");
        assert!(s.answer.starts_with("application/json"), "{s:?}");
    }

    // Explicit choices still apply.
    let (_server, json_client, seen) = client_through(false, Some(ContentType::Json)).await;
    Api::<ConfigMap>::namespaced(json_client, "default").create(&w, &common::configmap("b", &[])).await.unwrap();
    assert!(take(&seen).iter().all(|s| !s.accept.contains("protobuf") && !s.content_type.contains("protobuf")));
    let (_server, pb_client, seen) = client_through(false, Some(ContentType::Protobuf)).await;
    Api::<Pod>::namespaced(pb_client, "default").create(&w, &pod("q")).await.unwrap();
    assert!(take(&seen).iter().all(|s| s.content_type.contains("protobuf") && s.answer.contains("protobuf")));
}

#[tokio::test]
async fn a_server_that_refuses_protobuf_gets_json() {
    let (_server, client, seen) = client_through(true, None).await;
    let w = WriteOptions::default();
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let created = cms.create(&w, &common::configmap("a", &[("k", "v")])).await.unwrap();
    let statuses: Vec<u16> = take(&seen).iter().map(|s| s.status).collect();
    assert_eq!(statuses, [415, 201], "protobuf body refused, then JSON");

    let mut changed = created.clone();
    changed.data = Some([("k".to_string(), "v2".to_string())].into());
    assert_eq!(cms.replace("a", &w, &changed).await.unwrap().data.unwrap()["k"], "v2");
    assert_eq!(take(&seen).last().map(|s| s.status), Some(200));

    assert_eq!(cms.get("a").await.unwrap().data.unwrap()["k"], "v2");
    let get: Vec<(u16, bool)> = take(&seen).iter().map(|s| (s.status, s.accept.contains("protobuf"))).collect();
    assert_eq!(get, [(406, true), (200, false)], "protobuf Accept refused, then JSON");

    let list = cms.list(&ListOptions::default()).await.unwrap();
    assert_eq!(list.items.len(), 1);
    assert_eq!(take(&seen).iter().map(|s| s.status).collect::<Vec<_>>(), [406, 200]);
}

//! `Api<K>` over real HTTP against the embedded API server: every verb, subresources, and
//! the error predicates.

mod common;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Node, Pod};
use rkube_client::{Api, Deleted, LogOptions};
use rkube_core::{DeleteOptions, ListOptions, Patch, WriteOptions};
use serde_json::json;

fn pod(name: &str) -> Pod {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "app", "image": "nginx"}]}
    }))
    .unwrap()
}

fn deployment(name: &str, replicas: i32) -> Deployment {
    serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}
        }
    }))
    .unwrap()
}

#[tokio::test]
async fn create_get_list_replace_delete() {
    let (_server, client) = common::server().await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let w = WriteOptions::default();

    let created = cms.create(&w, &common::configmap("one", &[("a", "1")])).await.unwrap();
    assert_eq!(created.metadata.namespace.as_deref(), Some("default"));
    cms.create(&w, &common::configmap("two", &[])).await.unwrap();

    let got = cms.get("one").await.unwrap();
    assert_eq!(got.data.as_ref().unwrap()["a"], "1");
    assert!(cms.get_opt("missing").await.unwrap().is_none());

    let list = cms.list(&ListOptions::default()).await.unwrap();
    let names: Vec<_> = list.items.iter().filter_map(|c| c.metadata.name.as_deref()).collect();
    assert_eq!(names, ["one", "two"]);
    assert!(list.resource_version().is_some());
    let page = cms.list(&ListOptions::default().limit(1)).await.unwrap();
    assert_eq!(page.items.len(), 1);
    let token = page.continue_token().expect("a continue token").to_owned();
    let rest = cms.list(&ListOptions::default().limit(1).continue_from(token)).await.unwrap();
    assert_eq!(rest.items[0].metadata.name.as_deref(), Some("two"));

    let mut changed = got.clone();
    changed.data.as_mut().unwrap().insert("a".into(), "2".into());
    let replaced = cms.replace("one", &w, &changed).await.unwrap();
    assert_ne!(replaced.metadata.resource_version, got.metadata.resource_version);
    // The same stale resourceVersion again: 409 Conflict.
    let err = cms.replace("one", &w, &changed).await.unwrap_err();
    assert!(err.is_conflict(), "{err}");
    assert_eq!(err.status_code(), Some(409));

    // All namespaces.
    let all: Api<ConfigMap> = Api::all(client.clone());
    assert_eq!(all.list(&ListOptions::default()).await.unwrap().items.len(), 2);

    // ConfigMap deletes answer with a Status.
    match cms.delete("two", &DeleteOptions::default()).await.unwrap() {
        Deleted::Status(s) => assert_eq!(s.status, "Success"),
        Deleted::Object(o) => panic!("expected a Status, got {o:?}"),
    }
    let err = cms.get("two").await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(err.to_string().contains("GET http://") && err.to_string().contains("/configmaps/two"), "{err}");
}

#[tokio::test]
async fn error_predicates() {
    let (_server, client) = common::server().await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    cms.create(&WriteOptions::default(), &common::configmap("x", &[])).await.unwrap();
    let err = cms.create(&WriteOptions::default(), &common::configmap("x", &[])).await.unwrap_err();
    assert!(err.is_already_exists() && !err.is_not_found(), "{err}");
    let api = err.api_error().unwrap();
    assert_eq!(api.status.reason, "AlreadyExists");

    // No name: 422 Invalid. (The embedded server does not check name syntax yet: it accepts
    // "Not_A_Valid_Name", which kube-apiserver rejects with 422.)
    let mut bad = common::configmap("", &[]);
    bad.metadata.name = None;
    let err = cms.create(&WriteOptions::default(), &bad).await.unwrap_err();
    assert!(err.is_invalid() && !err.is_conflict(), "{err}");

    let in_missing_ns = Api::<ConfigMap>::namespaced(client, "nope");
    let err = in_missing_ns.create(&WriteOptions::default(), &common::configmap("y", &[])).await.unwrap_err();
    assert!(err.is_not_found(), "creating in a missing namespace: {err}");
}

#[tokio::test]
async fn patches_of_every_kind() {
    let (_server, client) = common::server().await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let w = WriteOptions::default();
    cms.create(&w, &common::configmap("p", &[("a", "1")])).await.unwrap();

    let merged = cms.patch("p", &w, &Patch::Merge(json!({"data": {"b": "2"}}))).await.unwrap();
    assert_eq!(merged.data.as_ref().unwrap().len(), 2);
    let jsonp = cms.patch("p", &w, &Patch::Json(json!([{"op": "remove", "path": "/data/a"}]))).await.unwrap();
    assert!(!jsonp.data.as_ref().unwrap().contains_key("a"));
    let strategic = cms.patch("p", &w, &Patch::Strategic(json!({"metadata": {"labels": {"l": "v"}}}))).await.unwrap();
    assert_eq!(strategic.metadata.labels.as_ref().unwrap()["l"], "v");

    let intent =
        Patch::Apply(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "p"}, "data": {"c": "3"}}));
    let err = cms.patch("p", &w, &intent).await.unwrap_err();
    assert!(matches!(err, rkube_client::Error::InvalidRequest(_)), "apply without field manager: {err}");
    let applied = cms.patch("p", &WriteOptions::apply("rkube-test", true), &intent).await.unwrap();
    assert_eq!(applied.data.as_ref().unwrap()["c"], "3");
    // (The embedded server does not record managedFields for apply yet, so the field manager
    // cannot be checked on the object.)
}

#[tokio::test]
async fn status_subresource_and_object_deletes() {
    let (_server, client) = common::server().await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let w = WriteOptions::default();
    let created = pods.create(&w, &pod("web")).await.unwrap();

    let patched = pods.patch_status("web", &w, &Patch::Merge(json!({"status": {"phase": "Running"}}))).await.unwrap();
    assert_eq!(patched.status.as_ref().unwrap().phase.as_deref(), Some("Running"));
    // Spec changes through the status endpoint are ignored.
    let mut spec_change = patched.clone();
    spec_change.spec.as_mut().unwrap().containers[0].image = Some("changed".into());
    spec_change.status.as_mut().unwrap().phase = Some("Succeeded".into());
    let replaced = pods.replace_status("web", &w, &spec_change).await.unwrap();
    assert_eq!(replaced.status.unwrap().phase.as_deref(), Some("Succeeded"));
    assert_eq!(replaced.spec.unwrap().containers[0].image.as_deref(), Some("nginx"));

    // A precondition on a wrong uid fails with 409.
    let wrong = DeleteOptions::default().precondition(Some("not-the-uid".into()), None);
    let err = pods.delete("web", &wrong).await.unwrap_err();
    assert!(err.is_conflict(), "{err}");
    // Pod deletes answer with the object.
    let opts = DeleteOptions::background().precondition(created.metadata.uid.clone(), None);
    match pods.delete("web", &opts).await.unwrap() {
        Deleted::Object(p) => assert_eq!(p.metadata.name.as_deref(), Some("web")),
        Deleted::Status(s) => panic!("expected the pod, got {s:?}"),
    }
}

#[tokio::test]
async fn delete_collection_with_selector() {
    let (_server, client) = common::server().await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    for name in ["a", "b"] {
        pods.create(&WriteOptions::default(), &pod(name)).await.unwrap();
    }
    let mut other = pod("c");
    other.metadata.labels = None;
    pods.create(&WriteOptions::default(), &other).await.unwrap();
    let deleted = pods.delete_collection(&DeleteOptions::default(), &ListOptions::default().labels("app=web")).await;
    match deleted.unwrap() {
        Deleted::Object(list) => assert_eq!(list.items.len(), 2),
        Deleted::Status(s) => panic!("expected the deleted list, got {s:?}"),
    }
    let left = pods.list(&ListOptions::default()).await.unwrap();
    assert_eq!(left.items.iter().filter_map(|p| p.metadata.name.as_deref()).collect::<Vec<_>>(), ["c"]);
}

#[tokio::test]
async fn scale_subresource() {
    let (_server, client) = common::server().await;
    let deploys: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let w = WriteOptions::default();
    deploys.create(&w, &deployment("d", 1)).await.unwrap();
    let scale = deploys.get_scale("d").await.unwrap();
    assert_eq!(scale.spec.as_ref().unwrap().replicas, Some(1));
    let mut more = scale.clone();
    more.spec.as_mut().unwrap().replicas = Some(3);
    let replaced = deploys.replace_scale("d", &w, &more).await.unwrap();
    assert_eq!(replaced.spec.unwrap().replicas, Some(3));
    let patched = deploys.patch_scale("d", &w, &Patch::Merge(json!({"spec": {"replicas": 5}}))).await.unwrap();
    assert_eq!(patched.spec.unwrap().replicas, Some(5));
    assert_eq!(deploys.get("d").await.unwrap().spec.replicas, Some(5));
}

#[tokio::test]
async fn cluster_scoped_resources() {
    let (_server, client) = common::server().await;
    let nodes: Api<Node> = Api::all(client.clone());
    let node: Node = serde_json::from_value(json!({"metadata": {"name": "n1"}})).unwrap();
    nodes.create(&WriteOptions::default(), &node).await.unwrap();
    assert_eq!(nodes.get("n1").await.unwrap().metadata.name.as_deref(), Some("n1"));
    // A namespace given to a cluster-scoped resource is ignored, as client-go's NamespaceIfScoped.
    let scoped: Api<Node> = Api::namespaced(client, "default");
    assert!(scoped.namespace().is_none());
    assert_eq!(scoped.list(&ListOptions::default()).await.unwrap().items.len(), 1);
}

#[tokio::test]
async fn logs_follow_and_eviction() {
    use futures::StreamExt;
    let (server, client) = common::server().await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    pods.create(&WriteOptions::default(), &pod("l")).await.unwrap();
    server.append_pod_log("default", "l", "app", "starting\nready\n");
    let text = pods.logs("l", &LogOptions::default()).await.unwrap();
    assert_eq!(text, "starting\nready\n");
    let tail = LogOptions { tail_lines: Some(1), ..Default::default() };
    assert_eq!(pods.logs("l", &tail).await.unwrap(), "ready\n");
    let bad = LogOptions { container: Some("nope".into()), ..Default::default() };
    let err = pods.logs("l", &bad).await.unwrap_err();
    assert!(err.is_bad_request(), "{err}");

    // follow: the current text, then what is appended, until the pod goes away.
    let opts = LogOptions { container: Some("app".into()), follow: true, ..Default::default() };
    let mut stream = pods.log_stream("l", &opts).await.unwrap();
    let mut seen = String::new();
    while !seen.ends_with("ready\n") {
        seen.push_str(std::str::from_utf8(&stream.next().await.unwrap().unwrap()).unwrap());
    }
    server.append_pod_log("default", "l", "app", "request 1\n");
    let next = stream.next().await.unwrap().unwrap();
    assert_eq!(&next[..], b"request 1\n");

    // Eviction deletes the pod; the follower's stream ends.
    pods.evict("l", &DeleteOptions::default()).await.unwrap();
    assert!(pods.get_opt("l").await.unwrap().is_none());
    assert!(tokio::time::timeout(std::time::Duration::from_secs(5), stream.next()).await.unwrap().is_none());
    let err = pods.evict("l", &DeleteOptions::default()).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

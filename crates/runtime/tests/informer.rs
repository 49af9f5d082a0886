//! Shared informers against the embedded API server over HTTP.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{Recorder, Seen, server};
use k8s_openapi::api::core::v1::{ConfigMap, Container, Pod, PodSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use rkube_client::Api;
use rkube_core::options::WriteOptions;
use rkube_core::selector::LabelSelector;
use rkube_core::{DeleteOptions, ListOptions, ObjectKey, Patch};
use rkube_runtime::factory::{InformerFactory, Scope};
use rkube_runtime::{InformerOptions, SharedInformer};
use serde_json::json;

fn cm(name: &str, labels: &[(&str, &str)]) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some(labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>()),
            ..Default::default()
        },
        data: Some([("k".to_string(), "v".to_string())].into()),
        ..Default::default()
    }
}

fn pod(name: &str, node: &str) -> Pod {
    Pod {
        metadata: ObjectMeta { name: Some(name.into()), ..Default::default() },
        spec: Some(PodSpec {
            node_name: Some(node.into()),
            containers: vec![Container { name: "c".into(), image: Some("nginx".into()), ..Default::default() }],
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[tokio::test]
async fn handlers_see_initial_list_then_changes_in_order() {
    let (_server, client) = server().await;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let w = WriteOptions::default();
    api.create(&w, &cm("a", &[])).await.unwrap();
    api.create(&w, &cm("b", &[])).await.unwrap();

    let factory = InformerFactory::new(client.clone());
    let informer: SharedInformer<ConfigMap> = factory.typed(Scope::namespace("default"));
    let rec = Recorder::default();
    let mut reg = informer.add_handler(rec.clone(), None);
    factory.start();
    assert!(factory.wait_for_cache_sync(Duration::from_secs(10)).await);
    reg.wait_for_sync().await;
    let initial: Vec<Seen> = rec.seen();
    assert_eq!(initial.len(), 2, "{initial:?}");
    assert!(initial.iter().all(|s| matches!(s, Seen::Add(_, true, _))));

    let created = api.create(&w, &cm("c", &[])).await.unwrap();
    let patched = api.patch("c", &w, &Patch::Merge(json!({"data": {"k": "v2"}}))).await.unwrap();
    api.delete("c", &DeleteOptions::default()).await.unwrap();
    rec.wait_for("add, update, delete of c", |s| s.iter().any(|e| matches!(e, Seen::Delete(n, false) if n == "c")))
        .await;
    let rv = |o: &ConfigMap| o.metadata.resource_version.clone().unwrap();
    let tail: Vec<Seen> = rec.seen().into_iter().skip(2).collect();
    assert_eq!(
        tail,
        vec![
            Seen::Add("c".into(), false, rv(&created)),
            Seen::Update("c".into(), rv(&created), rv(&patched)),
            Seen::Delete("c".into(), false),
        ]
    );
    assert!(informer.store().get(&ObjectKey::namespaced("default", "c")).is_none());
    assert_eq!(informer.store().len(), 2);
    factory.shutdown();
}

#[tokio::test]
async fn late_handlers_get_current_objects_first_and_listers_query_the_cache() {
    let (_server, client) = server().await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let w = WriteOptions::default();
    for (n, node) in [("p1", "n1"), ("p2", "n1"), ("p3", "n2")] {
        pods.create(&w, &pod(n, node)).await.unwrap();
    }
    let factory = InformerFactory::new(client.clone());
    let informer: SharedInformer<Pod> = factory.typed(Scope::all());
    informer.add_indexer("node", |p: &Pod| p.spec.as_ref().and_then(|s| s.node_name.clone()).into_iter().collect());
    factory.start();
    assert!(informer.wait_for_sync(Duration::from_secs(10)).await);

    let late = Recorder::default();
    let mut reg = informer.add_handler(late.clone(), None);
    reg.wait_for_sync().await;
    let mut names: Vec<String> = late
        .seen()
        .into_iter()
        .map(|s| match s {
            Seen::Add(n, true, _) => n,
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    names.sort();
    assert_eq!(names, ["p1", "p2", "p3"]);

    let lister = informer.lister();
    assert_eq!(lister.by_index("node", "n1").unwrap().len(), 2);
    assert_eq!(lister.namespaced("default").list(&LabelSelector::everything()).len(), 3);
    assert!(lister.namespaced("default").get("p3").is_some());
    reg.remove();
    factory.shutdown();
}

#[tokio::test]
async fn factory_shares_one_informer_per_scope() {
    let (_server, client) = server().await;
    let factory = InformerFactory::new(client);
    let a: SharedInformer<ConfigMap> = factory.typed(Scope::namespace("default"));
    let b: SharedInformer<ConfigMap> = factory.typed(Scope::namespace("default"));
    let c: SharedInformer<ConfigMap> = factory.typed(Scope::namespace("kube-system"));
    a.store().apply(cm("x", &[]));
    assert_eq!(b.store().len(), 1, "same store behind both handles");
    assert_eq!(c.store().len(), 0);
    // Informers created after start are started too.
    factory.start();
    let late: SharedInformer<Pod> = factory.typed(Scope::all());
    assert!(late.is_started());
    factory.shutdown();
}

#[tokio::test]
async fn selectors_scope_the_cache() {
    let (_server, client) = server().await;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let w = WriteOptions::default();
    api.create(&w, &cm("web", &[("app", "web")])).await.unwrap();
    api.create(&w, &cm("db", &[("app", "db")])).await.unwrap();
    let factory = InformerFactory::new(client.clone());
    let informer: SharedInformer<ConfigMap> = factory.typed(Scope::namespace("default").labels("app=web"));
    let rec = Recorder::default();
    informer.add_handler(rec.clone(), None);
    factory.start();
    assert!(informer.wait_for_sync(Duration::from_secs(10)).await);
    assert_eq!(informer.store().keys(), vec![ObjectKey::namespaced("default", "web")]);
    // An object that starts matching arrives as an add; one that stops matching as a delete.
    api.patch("db", &w, &Patch::Merge(json!({"metadata": {"labels": {"app": "web"}}}))).await.unwrap();
    rec.wait_for("db added", |s| s.iter().any(|e| matches!(e, Seen::Add(n, false, _) if n == "db"))).await;
    api.patch("web", &w, &Patch::Merge(json!({"metadata": {"labels": {"app": "other"}}}))).await.unwrap();
    rec.wait_for("web deleted", |s| s.iter().any(|e| matches!(e, Seen::Delete(n, _) if n == "web"))).await;
    assert_eq!(informer.store().keys(), vec![ObjectKey::namespaced("default", "db")]);
    factory.shutdown();
}

#[tokio::test]
async fn deletes_missed_during_an_outage_arrive_as_tombstones() {
    let (server, client) = server().await;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let w = WriteOptions::default();
    api.create(&w, &cm("doomed", &[])).await.unwrap();
    api.create(&w, &cm("kept", &[])).await.unwrap();
    let mut opts = InformerOptions::default();
    opts.reflector.use_watch_list = false;
    let factory = InformerFactory::new(client.clone());
    let informer: SharedInformer<ConfigMap> = factory.typed_with(Scope::namespace("default"), opts);
    let rec = Recorder::default();
    informer.add_handler(rec.clone(), None);
    factory.start();
    assert!(informer.wait_for_sync(Duration::from_secs(10)).await);

    // Every new watch is answered with 410 and the history is compacted away: the reflector
    // can only learn of the delete through a relist.
    server.faults().set_watch_gone_probability(1.0);
    server.restart();
    api.delete("doomed", &DeleteOptions::default()).await.unwrap();
    rec.wait_for("tombstone", |s| s.iter().any(|e| matches!(e, Seen::Delete(n, true) if n == "doomed"))).await;
    server.faults().clear();
    assert_eq!(informer.store().keys(), vec![ObjectKey::namespaced("default", "kept")]);
    factory.shutdown();
}

#[tokio::test]
async fn paginated_initial_list_syncs_every_object() {
    let (_server, client) = server().await;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let w = WriteOptions::default();
    for i in 0..25 {
        api.create(&w, &cm(&format!("cm-{i:02}"), &[])).await.unwrap();
    }
    let mut opts = InformerOptions::default();
    opts.reflector.use_watch_list = false;
    opts.reflector.page_size = 7;
    let factory = InformerFactory::new(client.clone());
    let informer: SharedInformer<ConfigMap> = factory.typed_with(Scope::namespace("default"), opts);
    factory.start();
    assert!(informer.wait_for_sync(Duration::from_secs(10)).await);
    assert_eq!(informer.store().len(), 25);
    let listed = api.list(&ListOptions::default()).await.unwrap();
    assert_eq!(listed.items.len(), 25);
    factory.shutdown();
}

//! Reflector and shared-informer features against the embedded API server: watch-list with
//! fallback, resync, per-handler sync state, slow handlers, handler removal, dynamic and
//! metadata informers, managedFields handling.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Recorder, Seen, server, server_with};
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ManagedFieldsEntry, ObjectMeta};
use rkube_apiserver::ServerOptions;
use rkube_client::Api;
use rkube_core::options::WriteOptions;
use rkube_core::{ApiResource, DynamicObject, GroupVersionKind, ObjectKey, Resource};
use rkube_runtime::{FnHandler, InformerFactory, InformerOptions, ReflectorState, Scope, SharedInformer};
use serde_json::json;

fn cm(name: &str) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.into()),
            managed_fields: Some(vec![ManagedFieldsEntry {
                manager: Some("test".into()),
                operation: Some("Update".into()),
                ..Default::default()
            }]),
            ..Default::default()
        },
        data: Some([("k".to_string(), "v".to_string())].into()),
        ..Default::default()
    }
}

async fn wait_until(what: &str, f: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn watch_list_is_used_and_falls_back_when_the_server_refuses_it() {
    for served in [true, false] {
        let (_server, client) = server_with(ServerOptions { watch_list: served, ..ServerOptions::default() }).await;
        let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
        api.create(&WriteOptions::default(), &cm("a")).await.unwrap();
        let factory = InformerFactory::new(client.clone());
        let inf: SharedInformer<ConfigMap> = factory.typed(Scope::namespace("default"));
        factory.start();
        assert!(inf.wait_for_sync(Duration::from_secs(10)).await, "watch_list served: {served}");
        assert_eq!(inf.store().len(), 1);
        wait_until("watching", || matches!(inf.reflector_state(), Some(ReflectorState::Watching { .. }))).await;
        api.create(&WriteOptions::default(), &cm("b")).await.unwrap();
        wait_until("b arrives through the watch", || inf.store().len() == 2).await;
        factory.shutdown();
    }
}

#[tokio::test]
async fn managed_fields_are_dropped_by_default_and_kept_on_request() {
    let (_server, client) = server().await;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let created = api.create(&WriteOptions::default(), &cm("a")).await.unwrap();
    assert!(created.metadata.managed_fields.is_some(), "the server keeps them");
    let factory = InformerFactory::new(client.clone());
    let dropped: SharedInformer<ConfigMap> = factory.typed(Scope::namespace("default"));
    let kept: SharedInformer<ConfigMap> = factory.typed_with(
        Scope::namespace("default").labels(""),
        InformerOptions { keep_managed_fields: true, ..InformerOptions::default() },
    );
    factory.start();
    assert!(factory.wait_for_cache_sync(Duration::from_secs(10)).await);
    let key = ObjectKey::namespaced("default", "a");
    assert!(dropped.store().get(&key).unwrap().metadata.managed_fields.is_none());
    assert!(kept.store().get(&key).unwrap().metadata.managed_fields.is_some());
    api.create(&WriteOptions::default(), &cm("b")).await.unwrap();
    let key_b = ObjectKey::namespaced("default", "b");
    wait_until("b in both", || dropped.store().get(&key_b).is_some() && kept.store().get(&key_b).is_some()).await;
    assert!(dropped.store().get(&key_b).unwrap().metadata.managed_fields.is_none(), "watch events too");
    factory.shutdown();
}

#[tokio::test]
async fn resync_redelivers_every_object_as_an_update() {
    let (_server, client) = server().await;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    api.create(&WriteOptions::default(), &cm("a")).await.unwrap();
    let factory = InformerFactory::new(client.clone());
    let inf: SharedInformer<ConfigMap> = factory.typed(Scope::namespace("default"));
    let rec = Recorder::default();
    inf.add_handler(rec.clone(), Some(Duration::from_millis(100)));
    factory.start();
    rec.wait_for("two resyncs", |s| {
        s.iter().filter(|e| matches!(e, Seen::Update(n, o, v) if n == "a" && o == v)).count() >= 2
    })
    .await;
    factory.shutdown();
}

// The std mutex is held across awaits on purpose: it blocks the slow handler's thread.
#[allow(clippy::await_holding_lock)]
#[tokio::test(flavor = "multi_thread", worker_threads = 3)]
async fn a_slow_handler_does_not_stall_the_others_and_removal_stops_delivery() {
    let (_server, client) = server().await;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let factory = InformerFactory::new(client.clone());
    let inf: SharedInformer<ConfigMap> = factory.typed(Scope::namespace("default"));
    let gate = Arc::new(Mutex::new(()));
    let held = gate.lock().unwrap();
    let slow_seen = Arc::new(AtomicUsize::new(0));
    let (g, s) = (gate.clone(), slow_seen.clone());
    let slow = inf.add_handler(
        FnHandler::default().on_add(move |_: &Arc<ConfigMap>, _| {
            drop(g.lock().unwrap());
            s.fetch_add(1, Ordering::SeqCst);
        }),
        None,
    );
    let fast = Recorder::default();
    let mut fast_reg = inf.add_handler(fast.clone(), None);
    factory.start();
    fast_reg.wait_for_sync().await;
    for i in 0..30 {
        api.create(&WriteOptions::default(), &cm(&format!("c{i}"))).await.unwrap();
    }
    fast.wait_for("30 adds while the slow handler is blocked", |s| s.len() == 30).await;
    assert_eq!(slow_seen.load(Ordering::SeqCst), 0);
    // One add is in the blocked handler, the rest wait.
    assert!(slow.lag() >= 29, "lag {}", slow.lag());
    drop(held);
    wait_until("slow handler catches up", || slow_seen.load(Ordering::SeqCst) == 30).await;
    wait_until("lag drains", || slow.lag() == 0).await;

    fast_reg.remove();
    api.create(&WriteOptions::default(), &cm("after-removal")).await.unwrap();
    wait_until("slow sees the new object", || slow_seen.load(Ordering::SeqCst) == 31).await;
    assert_eq!(fast.seen().len(), 30, "removed handler gets nothing more");
    factory.shutdown();
}

// The std mutex is held across awaits on purpose: it blocks the slow handler's thread.
#[allow(clippy::await_holding_lock)]
#[tokio::test(flavor = "multi_thread", worker_threads = 3)]
async fn a_full_handler_buffer_folds_changes_per_object_and_ends_at_the_final_state() {
    let (_server, client) = server().await;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let factory = InformerFactory::new(client.clone());
    let opts = InformerOptions { handler_capacity: 4, ..InformerOptions::default() };
    let inf: SharedInformer<ConfigMap> = factory.typed_with(Scope::namespace("default"), opts);
    let gate = Arc::new(Mutex::new(()));
    let slow = Recorder::default();
    let (g, rec) = (gate.clone(), slow.clone());
    let held = gate.lock().unwrap();
    let blocked = inf.add_handler(
        FnHandler::default()
            .on_add(move |o: &Arc<ConfigMap>, initial| {
                drop(g.lock().unwrap());
                rec.0.lock().unwrap().push(Seen::Add(
                    o.metadata.name.clone().unwrap_or_default(),
                    initial,
                    o.metadata.resource_version.clone().unwrap_or_default(),
                ));
            })
            .on_update({
                let rec = slow.clone();
                move |old: &Arc<ConfigMap>, new: &Arc<ConfigMap>| {
                    rec.0.lock().unwrap().push(Seen::Update(
                        new.metadata.name.clone().unwrap_or_default(),
                        old.metadata.resource_version.clone().unwrap_or_default(),
                        new.metadata.resource_version.clone().unwrap_or_default(),
                    ))
                }
            })
            .on_delete({
                let rec = slow.clone();
                move |d| {
                    let o = d.object();
                    rec.0.lock().unwrap().push(Seen::Delete(o.metadata.name.clone().unwrap_or_default(), false))
                }
            }),
        None,
    );
    let fast = Recorder::default();
    let mut fast_reg = inf.add_handler(fast.clone(), None);
    factory.start();
    fast_reg.wait_for_sync().await;
    // The slow handler blocks on its first add; everything after queues or folds.
    api.create(&WriteOptions::default(), &cm("first")).await.unwrap();
    let mut last_rv = String::new();
    for i in 0..3 {
        api.create(&WriteOptions::default(), &cm(&format!("c{i}"))).await.unwrap();
    }
    for round in 0..40 {
        let mut obj = api.get("c0").await.unwrap();
        obj.data = Some([("round".to_string(), round.to_string())].into());
        last_rv = api.replace("c0", &WriteOptions::default(), &obj).await.unwrap().metadata.resource_version.unwrap();
    }
    api.delete("c1", &Default::default()).await.unwrap();
    let changes = 1 + 3 + 40 + 1;
    fast.wait_for("every change reaches the fast handler", |s| s.len() == changes).await;
    assert!(blocked.lag() <= 6, "the slow handler's buffer stays bounded, lag {}", blocked.lag());
    assert!(blocked.coalesced() >= 38, "folded {}", blocked.coalesced());
    drop(held);
    let at_last = |e: &Seen| matches!(e, Seen::Add(n, _, rv) | Seen::Update(n, _, rv) if n == "c0" && *rv == last_rv);
    slow.wait_for("the slow handler reaches c0's final state", |s| s.iter().any(at_last)).await;
    wait_until("lag drains", || blocked.lag() == 0).await;
    let seen = slow.seen();
    // c0's intermediate states fold into one notification ending at its final state; c1's
    // add and delete, both waiting, cancel out; c2 is added.
    let c0_last = seen.iter().rev().find_map(|e| match e {
        Seen::Add(n, _, rv) | Seen::Update(n, _, rv) if n == "c0" => Some(rv.clone()),
        _ => None,
    });
    assert_eq!(c0_last.as_deref(), Some(last_rv.as_str()), "{seen:?}");
    assert!(seen.iter().any(|e| matches!(e, Seen::Add(n, ..) if n == "c2")), "{seen:?}");
    assert!(!seen.iter().any(|e| matches!(e, Seen::Add(n, ..) | Seen::Delete(n, _) if n == "c1")), "{seen:?}");
    assert!(seen.len() < changes, "fewer notifications than changes: {seen:?}");
    factory.shutdown();
}

#[tokio::test]
async fn dynamic_and_metadata_informers_over_a_custom_resource() {
    let (_server, client) = server().await;
    let crds: Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> =
        Api::cluster(client.clone());
    let crd = serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"kind": "Widget", "plural": "widgets", "singular": "widget", "listKind": "WidgetList"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}
    }))
    .unwrap();
    crds.create(&WriteOptions::default(), &crd).await.unwrap();
    let ar = ApiResource::from_gvk(&GroupVersionKind::new("example.com", "v1", "Widget"), true);
    let widgets: Api<DynamicObject> = Api::namespaced_with(client.clone(), "default", &ar);
    let w = DynamicObject::new("w1", &ar).within("default").with_field("spec", json!({"size": 3}));
    widgets.create(&WriteOptions::default(), &w).await.unwrap();

    let factory = InformerFactory::new(client.clone());
    let dynamic = factory.dynamic(&ar, Scope::namespace("default"));
    let metadata = factory.metadata(&ConfigMap::api_resource(), Scope::namespace("kube-system"));
    let meta_widgets = factory.metadata(&ar, Scope::all());
    factory.start();
    assert!(factory.wait_for_cache_sync(Duration::from_secs(10)).await);
    let got = dynamic.store().get(&ObjectKey::namespaced("default", "w1")).unwrap();
    assert_eq!(got.data["spec"]["size"], 3);
    assert_eq!(metadata.store().len(), 0);
    assert_eq!(meta_widgets.store().list()[0].metadata.name.as_deref(), Some("w1"));
    widgets.delete("w1", &Default::default()).await.unwrap();
    wait_until("delete reaches both", || dynamic.store().is_empty() && meta_widgets.store().is_empty()).await;
    factory.shutdown();
}

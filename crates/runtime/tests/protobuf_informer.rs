//! Informers that read built-in kinds in protobuf from the embedded API server.

mod common;

use std::time::Duration;

use common::{Recorder, Seen, server};
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ManagedFieldsEntry, ObjectMeta};
use rkube_client::Api;
use rkube_core::options::WriteOptions;
use rkube_core::{DeleteOptions, ObjectKey, Patch};
use rkube_runtime::{InformerFactory, InformerOptions, Scope, SharedInformer};
use serde_json::json;

fn cm(name: &str) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.into()),
            managed_fields: Some(vec![ManagedFieldsEntry {
                manager: Some("t".into()),
                operation: Some("Update".into()),
                ..Default::default()
            }]),
            ..Default::default()
        },
        data: Some([("k".to_string(), "v".to_string())].into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn protobuf_informers_sync_and_follow_changes() {
    for watch_list in [true, false] {
        let (_server, client) = server().await;
        let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
        let w = WriteOptions::default();
        for i in 0..12 {
            api.create(&w, &cm(&format!("c{i:02}"))).await.unwrap();
        }
        let mut opts = InformerOptions::default();
        opts.reflector.use_watch_list = watch_list;
        opts.reflector.page_size = 5;
        let factory = InformerFactory::new(client.clone());
        let inf: SharedInformer<ConfigMap> = factory.protobuf(Scope::namespace("default"), opts);
        let rec = Recorder::default();
        inf.add_handler(rec.clone(), None);
        factory.start();
        assert!(inf.wait_for_sync(Duration::from_secs(10)).await, "watch_list={watch_list}");
        assert_eq!(inf.store().len(), 12);
        let c00 = inf.store().get(&ObjectKey::namespaced("default", "c00")).unwrap();
        assert_eq!(c00.data.as_ref().unwrap()["k"], "v");
        assert!(c00.metadata.managed_fields.is_none(), "dropped by default");
        assert!(c00.metadata.uid.is_some() && c00.metadata.creation_timestamp.is_some());

        let patched = api.patch("c00", &w, &Patch::Merge(json!({"data": {"k": "v2"}}))).await.unwrap();
        api.delete("c01", &DeleteOptions::default()).await.unwrap();
        rec.wait_for("update and delete", |s| {
            s.iter().any(|e| matches!(e, Seen::Delete(n, false) if n == "c01"))
                && s.iter().any(|e| matches!(e, Seen::Update(n, _, _) if n == "c00"))
        })
        .await;
        let now = inf.store().get(&ObjectKey::namespaced("default", "c00")).unwrap();
        assert_eq!(now.metadata.resource_version, patched.metadata.resource_version);
        assert_eq!(now.data.as_ref().unwrap()["k"], "v2");
        factory.shutdown();
    }
}

#[tokio::test]
async fn protobuf_pods_keep_every_field_the_json_path_has() {
    let (_server, client) = server().await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "p", "labels": {"app": "web"}, "annotations": {"a": "b"}},
        "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "nginx",
            "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}},
            "ports": [{"containerPort": 80, "protocol": "TCP"}]}]}
    }))
    .unwrap();
    pods.create(&WriteOptions::default(), &pod).await.unwrap();
    let factory = InformerFactory::new(client.clone());
    let keep = InformerOptions { keep_managed_fields: true, ..InformerOptions::default() };
    let pb: SharedInformer<Pod> = factory.protobuf(Scope::namespace("default"), keep.clone());
    let js: SharedInformer<Pod> = factory.typed_with(Scope::namespace("default").labels("app=web"), keep);
    factory.start();
    assert!(factory.wait_for_cache_sync(Duration::from_secs(10)).await);
    let key = ObjectKey::namespaced("default", "p");
    assert_eq!(*pb.store().get(&key).unwrap(), *js.store().get(&key).unwrap());
    factory.shutdown();
}

/// The Accept headers and answer types of the list and watch requests to `path`.
fn reads_of(server: &rkube_apiserver::ApiServer, path: &str) -> Vec<(bool, String, String)> {
    let entries = server.access_log().take();
    entries
        .into_iter()
        .filter(|e| e.method == "GET" && e.path == path)
        .map(|e| (e.is_watch(), e.accept, e.answer))
        .collect()
}

async fn synced_typed<K: rkube_core::Resource>(client: rkube_client::Client) -> InformerFactory {
    let factory = InformerFactory::new(client);
    let _: SharedInformer<K> = factory.typed(Scope::namespace("default"));
    factory.start();
    assert!(factory.wait_for_cache_sync(Duration::from_secs(10)).await);
    factory
}

#[tokio::test]
async fn typed_informers_read_lossless_kinds_in_protobuf_by_default() {
    let (server, client) = server().await;
    Api::<ConfigMap>::namespaced(client.clone(), "default").create(&WriteOptions::default(), &cm("a")).await.unwrap();
    server.access_log().record(true);

    // ConfigMaps convert losslessly: list (or watch-list) and watch in protobuf.
    let factory = synced_typed::<ConfigMap>(client.clone()).await;
    let inf: SharedInformer<ConfigMap> = factory.typed(Scope::namespace("default"));
    assert_eq!(inf.store().get(&ObjectKey::namespaced("default", "a")).unwrap().data.as_ref().unwrap()["k"], "v");
    let reads = reads_of(&server, "/api/v1/namespaces/default/configmaps");
    assert!(reads.iter().any(|(watch, ..)| *watch), "{reads:?}");
    for (_, accept, answer) in &reads {
        assert!(accept.starts_with("application/vnd.kubernetes.protobuf"), "{reads:?}");
        assert!(answer.starts_with("application/vnd.kubernetes.protobuf"), "{reads:?}");
    }
    factory.shutdown();

    // Pods lack fields in k8s-pb that JSON carries: JSON under the default content type.
    let factory = synced_typed::<Pod>(client.clone()).await;
    let reads = reads_of(&server, "/api/v1/namespaces/default/pods");
    assert!(!reads.is_empty());
    for (_, accept, answer) in &reads {
        assert!(!accept.contains("protobuf") && answer.starts_with("application/json"), "{reads:?}");
    }
    factory.shutdown();

    // A client configured for JSON reads ConfigMaps in JSON too.
    let mut config = client.config().clone();
    config.content_type = rkube_client::config::ContentType::Json;
    let factory = synced_typed::<ConfigMap>(rkube_client::Client::new(config).unwrap()).await;
    let reads = reads_of(&server, "/api/v1/namespaces/default/configmaps");
    assert!(!reads.is_empty());
    for (_, accept, answer) in &reads {
        assert!(!accept.contains("protobuf") && answer.starts_with("application/json"), "{reads:?}");
    }
    factory.shutdown();
}

#[tokio::test]
async fn protobuf_informers_fall_back_to_json_on_a_server_that_refuses_protobuf() {
    let (server, client) = server().await;
    let api = Api::<ConfigMap>::namespaced(client.clone(), "default");
    api.create(&WriteOptions::default(), &cm("a")).await.unwrap();
    server.faults().set_refuse_protobuf(true);
    server.access_log().record(true);
    let typed = |f: &InformerFactory, opts| f.typed_with(Scope::namespace("default"), opts);
    sync_and_follow(&client, &api, "b", typed, |_| {}, "the informer follows changes over the JSON watch").await;
    let reads = reads_of(&server, "/api/v1/namespaces/default/configmaps");
    assert!(
        reads.iter().any(|(_, accept, answer)| accept.contains("protobuf") && answer.starts_with("application/json"))
    );
    assert!(reads.iter().any(|(watch, accept, _)| *watch && !accept.contains("protobuf")), "{reads:?}");
}

/// A server without protobuf that answers JSON anyway (as aggregated API servers do) gets
/// its lists and watches decoded as JSON: the source looks at what arrived, not at what it
/// asked for.
#[tokio::test]
async fn protobuf_informers_read_json_answered_to_a_protobuf_request() {
    let (server, client) = server().await;
    let api = Api::<ConfigMap>::namespaced(client.clone(), "default");
    api.create(&WriteOptions::default(), &cm("a")).await.unwrap();
    server.faults().set_ignore_protobuf(true);
    server.access_log().record(true);
    let protobuf = |f: &InformerFactory, opts| f.protobuf(Scope::namespace("default"), opts);
    let holds_a = |inf: &SharedInformer<ConfigMap>| {
        assert_eq!(inf.store().get(&ObjectKey::namespaced("default", "a")).unwrap().data.as_ref().unwrap()["k"], "v");
    };
    let follows = "the informer follows changes over a JSON watch it asked protobuf for";
    sync_and_follow(&client, &api, "c", protobuf, holds_a, follows).await;
    let reads = reads_of(&server, "/api/v1/namespaces/default/configmaps");
    let asked_protobuf: Vec<_> = reads.iter().filter(|(_, accept, _)| accept.contains("protobuf")).collect();
    assert!(asked_protobuf.iter().any(|(watch, ..)| !*watch), "a list asked for protobuf: {reads:?}");
    assert!(asked_protobuf.iter().any(|(watch, ..)| *watch), "a watch asked for protobuf: {reads:?}");
    for (_, _, answer) in &asked_protobuf {
        assert!(answer.starts_with("application/json"), "{reads:?}");
    }
}

/// With the watch-list on and then off, starts the ConfigMap informer `make` builds, waits
/// for its sync, runs `synced` on it, then creates `{prefix}{use_watch_list}` and waits for
/// the informer to see it (`follows` says what failed otherwise).
async fn sync_and_follow(
    client: &rkube_client::Client,
    api: &Api<ConfigMap>,
    prefix: &str,
    make: impl Fn(&InformerFactory, InformerOptions<ConfigMap>) -> SharedInformer<ConfigMap>,
    synced: impl Fn(&SharedInformer<ConfigMap>),
    follows: &str,
) {
    for use_watch_list in [true, false] {
        let factory = InformerFactory::new(client.clone());
        let mut opts = InformerOptions::default();
        opts.reflector.use_watch_list = use_watch_list;
        let inf = make(&factory, opts);
        factory.start();
        assert!(factory.wait_for_cache_sync(Duration::from_secs(10)).await, "watch_list={use_watch_list}");
        synced(&inf);
        let name = format!("{prefix}{use_watch_list}");
        api.create(&WriteOptions::default(), &cm(&name)).await.unwrap();
        let key = ObjectKey::namespaced("default", &name);
        tokio::time::timeout(Duration::from_secs(10), async {
            while inf.store().get(&key).is_none() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .expect(follows);
        factory.shutdown();
    }
}

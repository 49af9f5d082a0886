//! Large JSON and protobuf lists decode while they stream in: items arrive in batches, in the server's
//! order, and a relist at a resourceVersion (one unpaginated list, as in client-go) reuses
//! the cached objects that did not change.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::server;
use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use rkube_client::Api;
use rkube_core::options::WriteOptions;
use rkube_core::{ListOptions, ObjectKey, Patch};
use rkube_runtime::factory::{InformerFactory, Scope};
use rkube_runtime::protobuf_source::ProtobufSource;
use rkube_runtime::source::TypedSource;
use rkube_runtime::{InformerOptions, ListWatch, SharedInformer};
use serde_json::json;

/// A ConfigMap of about 2 KB, so a few hundred make a body of many chunks.
fn cm(i: usize) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta { name: Some(format!("cm-{i:04}")), ..Default::default() },
        data: Some([("blob".to_string(), format!("{i}:").repeat(400))].into()),
        ..Default::default()
    }
}

async fn seeded(n: usize) -> (rkube_apiserver::ApiServer, rkube_client::Client, Api<ConfigMap>) {
    let (server, client) = server().await;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let w = WriteOptions::default();
    for i in 0..n {
        api.create(&w, &cm(i)).await.unwrap();
    }
    (server, client, api)
}

/// Lists every ConfigMap through `source` and checks that they arrive in several batches,
/// in the server's order, equal to what the server lists (without managedFields).
async fn assert_streams_in_batches(api: &Api<ConfigMap>, source: &dyn ListWatch<ConfigMap>) {
    let page = source.list(ListOptions::default()).await.unwrap();
    let listed = api.list(&ListOptions::default()).await.unwrap();
    assert_eq!(Some(page.resource_version.as_str()), listed.resource_version());
    assert_eq!(page.continue_token, None);
    let batches: Vec<Vec<ConfigMap>> = page.items.map(|b| b.unwrap()).collect().await;
    assert!(batches.len() > 1, "1.2 MB of items should come in several batches, got {}", batches.len());
    let items: Vec<ConfigMap> = batches.into_iter().flatten().collect();
    let mut expected = listed.items;
    for cm in &mut expected {
        cm.metadata.managed_fields = None; // the source skips them
    }
    assert_eq!(items, expected);
}

#[tokio::test]
async fn an_unpaginated_list_arrives_in_batches_in_server_order() {
    let (_server, _client, api) = seeded(600).await;
    assert_streams_in_batches(&api, &TypedSource::new(api.clone(), true)).await;
}

#[tokio::test]
async fn an_unpaginated_protobuf_list_arrives_in_batches_in_server_order() {
    let (server, _client, api) = seeded(600).await;
    let source = ProtobufSource::new(api.clone(), true).expect("ConfigMaps have protobuf");
    server.access_log().record(true);
    assert_streams_in_batches(&api, &source).await;
    let answers: Vec<String> = server.access_log().take().into_iter().map(|e| e.answer).collect();
    // The source's list, then the test's own JSON list.
    assert!(answers[0].starts_with("application/vnd.kubernetes.protobuf"), "{answers:?}");
}

#[tokio::test]
async fn pages_carry_their_continue_token_before_their_items_decode() {
    let (_server, _client, api) = seeded(30).await;
    let source = TypedSource::new(api.clone(), true);
    let first = source.list(ListOptions { limit: Some(20), ..Default::default() }).await.unwrap();
    let token = first.continue_token.clone().expect("a continue token");
    let second =
        source.list(ListOptions { limit: Some(20), continue_token: Some(token), ..Default::default() }).await.unwrap();
    assert_eq!(second.continue_token, None);
    let names = |items: Vec<Vec<ConfigMap>>| -> Vec<String> {
        items.into_iter().flatten().map(|c| c.metadata.name.unwrap()).collect()
    };
    let mut all = names(first.items.map(|b| b.unwrap()).collect().await);
    all.extend(names(second.items.map(|b| b.unwrap()).collect().await));
    assert_eq!(all, (0..30).map(|i| format!("cm-{i:04}")).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_relist_reuses_unchanged_objects_and_takes_changed_ones() {
    let (server, client, api) = seeded(400).await;
    let mut opts = InformerOptions::default();
    opts.reflector.use_watch_list = false;
    let factory = InformerFactory::new(client.clone());
    let informer: SharedInformer<ConfigMap> = factory.typed_with(Scope::namespace("default"), opts);
    factory.start();
    assert!(informer.wait_for_sync(Duration::from_secs(10)).await);
    let key = |i: usize| ObjectKey::namespaced("default", format!("cm-{i:04}"));
    let before: Vec<Arc<ConfigMap>> = (0..400).map(|i| informer.store().get(&key(i)).unwrap()).collect();

    // New watches fail with 410 and the history is gone: the change below reaches the cache
    // only through a relist at the last resourceVersion.
    server.faults().set_watch_gone_probability(1.0);
    server.restart();
    let patch = Patch::Merge(json!({"data": {"changed": "yes"}}));
    api.patch("cm-0007", &WriteOptions::default(), &patch).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while informer.store().get(&key(7)).unwrap().data.as_ref().unwrap().get("changed").is_none() {
        assert!(tokio::time::Instant::now() < deadline, "the relist never delivered the change");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.faults().clear();
    for (i, old) in before.iter().enumerate() {
        let now = informer.store().get(&key(i)).unwrap();
        assert_eq!(Arc::ptr_eq(old, &now), i != 7, "cm-{i:04}");
    }
    factory.shutdown();
}

/// Cached objects carry no spare `Vec` capacity (serde alone would leave 8 slots for 5
/// finalizers and 4 for 3), whether they came from a list, a watch-list or a watch.
#[tokio::test]
async fn cached_objects_hold_vecs_of_their_exact_length() {
    use k8s_openapi::api::core::v1::Pod;
    let (_server, client) = server().await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let finalizers = |n: usize| (0..n).map(|i| format!("example.com/f{i}")).collect::<Vec<_>>();
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "p", "finalizers": finalizers(5)},
        "spec": {"containers": [{"name": "c", "image": "i", "env": [
            {"name": "A"}, {"name": "B"}, {"name": "C"}, {"name": "D"}, {"name": "E"}]}]}
    }))
    .unwrap();
    pods.create(&WriteOptions::default(), &pod).await.unwrap();
    let mut have = 5;
    for watch_list in [false, true] {
        let factory = InformerFactory::new(client.clone());
        let mut opts = InformerOptions::default();
        opts.reflector.use_watch_list = watch_list;
        let inf: SharedInformer<Pod> =
            factory.typed_with(Scope::namespace("default").labels(format!("run!={watch_list}")), opts);
        factory.start();
        assert!(inf.wait_for_sync(Duration::from_secs(10)).await);
        let key = ObjectKey::namespaced("default", "p");
        let cached = inf.store().get(&key).unwrap();
        let env = cached.spec.as_ref().unwrap().containers[0].env.as_ref().unwrap();
        assert_eq!((env.len(), env.capacity()), (5, 5), "watch_list={watch_list}");
        let fin = cached.metadata.finalizers.as_ref().unwrap();
        assert_eq!((fin.len(), fin.capacity()), (have, have), "watch_list={watch_list}");

        let n = if watch_list { 2 } else { 3 };
        pods.patch("p", &WriteOptions::default(), &Patch::Merge(json!({"metadata": {"finalizers": finalizers(n)}})))
            .await
            .unwrap();
        tokio::time::timeout(Duration::from_secs(10), async {
            while inf.store().get(&key).unwrap().metadata.finalizers.as_ref().unwrap().len() != n {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .expect("the update arrives over the watch");
        let updated = inf.store().get(&key).unwrap();
        assert_eq!(updated.metadata.finalizers.as_ref().unwrap().capacity(), n);
        have = n;
        factory.shutdown();
    }
}

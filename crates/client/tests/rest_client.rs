//! The request builder over real HTTP against the embedded API server.

mod common;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use rkube_core::{ListOptions, ObjectList, Resource, WatchEvent, WatchOptions};

#[tokio::test]
async fn get_list_create_and_raw_bytes() {
    let (_server, client) = common::server().await;
    let namespaces: ObjectList<Namespace> = client
        .get()
        .resource(&Namespace::api_resource())
        .query(ListOptions::default().to_query())
        .into()
        .await
        .unwrap();
    let names: Vec<_> = namespaces.items.iter().filter_map(|n| n.metadata.name.clone()).collect();
    assert!(names.contains(&"kube-system".to_string()), "{names:?}");

    let created: ConfigMap = client
        .post()
        .resource(&ConfigMap::api_resource())
        .namespace("default")
        .json(&common::configmap("a", &[("k", "v")]))
        .into()
        .await
        .unwrap();
    assert!(created.metadata.resource_version.is_some());
    let raw = client.get().resource(&ConfigMap::api_resource()).namespace("default").name("a").bytes().await.unwrap();
    let text = String::from_utf8(raw.to_vec()).unwrap();
    assert!(text.contains("\"k\":\"v\""), "{text}");

    let version = client.get().abs_path("/version").send().await.unwrap();
    assert!(version.is_success());
    assert!(version.json::<serde_json::Value>().unwrap().get("gitVersion").is_some());
}

#[tokio::test]
async fn builder_mistakes_are_one_error_at_send_time() {
    let (_server, client) = common::server().await;
    let err = client
        .get()
        .resource(&ConfigMap::api_resource())
        .namespace("default")
        .name("")
        .subresource("status")
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, rkube_client::Error::InvalidRequest(_)), "{err:?}");
    assert!(err.to_string().contains("resource name \"\" may not be empty"), "{err}");
}

#[tokio::test]
async fn watch_decodes_events() {
    let (_server, client) = common::server().await;
    let cms = client.get().resource(&ConfigMap::api_resource()).namespace("default");
    let mut stream = cms.clone().query(WatchOptions::default().to_query()).watch::<ConfigMap>().await.unwrap();
    for name in ["w1", "w2"] {
        client
            .post()
            .resource(&ConfigMap::api_resource())
            .namespace("default")
            .json(&common::configmap(name, &[]))
            .send_checked()
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    while seen.len() < 2 {
        match stream.next().await.unwrap().unwrap() {
            WatchEvent::Added(cm) => seen.push(cm.metadata.name.unwrap()),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(seen, ["w1", "w2"]);
}

#[tokio::test]
async fn watch_errors_arrive_as_events_and_the_stream_ends_with_the_watch() {
    let (server, client) = common::server().await;
    let cms = rkube_client::Api::<ConfigMap>::namespaced(client.clone(), "default");
    server.faults().set_watch_gone_probability(1.0);
    let mut gone = cms.watch(&WatchOptions::default().from_version("1")).await.unwrap();
    match gone.next().await.unwrap().unwrap() {
        WatchEvent::Error(status) => {
            assert_eq!(status.code, 410, "{status:?}");
            assert!(rkube_core::ApiError::new(status).is_gone());
        }
        other => panic!("expected a 410 ERROR event, got {other:?}"),
    }
    server.faults().clear();

    // timeoutSeconds: the server ends the watch and the stream ends.
    let started = std::time::Instant::now();
    let mut short = cms.watch(&WatchOptions::default().timeout(1)).await.unwrap();
    assert!(short.next().await.is_none());
    assert!(started.elapsed() >= std::time::Duration::from_millis(900));

    // Bookmarks decode as such.
    let mut marked = cms.watch(&WatchOptions::default().bookmarks().timeout(3)).await.unwrap();
    match marked.next().await {
        Some(Ok(WatchEvent::Bookmark(b))) => assert!(!b.metadata.resource_version.is_empty()),
        other => panic!("expected a bookmark within the watch's 3 s, got {other:?}"),
    }
}

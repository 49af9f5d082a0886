//! Watches over raw HTTP: replay from a resourceVersion, 410 for versions before the window,
//! synthetic ADDED from "0", bookmarks, timeouts, selector transitions, watch-list streams
//! with the initial-events-end bookmark, and fan-out to many watchers.

mod common;

use common::{Http, configmap, ev, start, start_with};
use rkube_apiserver::ServerOptions;
use serde_json::{Value, json};
use std::time::Duration;

const CMS: &str = "/api/v1/namespaces/default/configmaps";

fn rv_of(v: &Value) -> u64 {
    v["metadata"]["resourceVersion"].as_str().unwrap().parse().unwrap()
}

fn pair(t: &str, n: &str) -> (String, String) {
    (t.to_string(), n.to_string())
}

#[tokio::test]
async fn watch_from_version_replays_then_streams() {
    let server = start().await;
    let http = Http::new(&server);
    let a = http.post(CMS, &configmap("default", "a", json!({}))).await.expect(201).json();
    http.post(CMS, &configmap("default", "b", json!({}))).await.expect(201);
    http.patch(&format!("{CMS}/a"), "application/merge-patch+json", &json!({"data": {"x": "1"}})).await.expect(200);
    let mut w = http.watch(&format!("{CMS}?watch=true&resourceVersion={}", rv_of(&a))).await;
    assert_eq!(ev(&w.next().await.unwrap()), pair("ADDED", "b"));
    let m = w.next().await.unwrap();
    assert_eq!(ev(&m), pair("MODIFIED", "a"));
    assert_eq!(m["object"]["data"]["x"], "1");
    http.delete(&format!("{CMS}/b")).await.expect(200);
    let d = w.next().await.unwrap();
    assert_eq!(ev(&d), pair("DELETED", "b"));
    assert!(rv_of(&d["object"]) > rv_of(&m["object"]), "DELETED carries a new resourceVersion");
    // Other namespaces are not seen by a namespaced watch; the cluster-wide watch sees them.
    let mut all = http.watch(&format!("/api/v1/configmaps?watch=true&resourceVersion={}", server.revision())).await;
    http.post("/api/v1/namespaces", &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "o"}}))
        .await
        .expect(201);
    http.post("/api/v1/namespaces/o/configmaps", &configmap("o", "z", json!({}))).await.expect(201);
    assert_eq!(ev(&all.next().await.unwrap()), pair("ADDED", "z"));
    assert!(w.quiet_for(200).await);
}

#[tokio::test]
async fn watch_from_zero_or_unset_starts_with_current_objects() {
    let server = start().await;
    let http = Http::new(&server);
    for n in ["a", "b"] {
        http.post(CMS, &configmap("default", n, json!({}))).await.expect(201);
    }
    for q in ["watch=true", "watch=true&resourceVersion=0", "watch=1&resourceVersion="] {
        let mut w = http.watch(&format!("{CMS}?{q}")).await;
        assert_eq!(ev(&w.next().await.unwrap()), pair("ADDED", "a"), "{q}");
        assert_eq!(ev(&w.next().await.unwrap()), pair("ADDED", "b"), "{q}");
        assert!(w.quiet_for(100).await);
    }
    // A single-object watch.
    let mut w = http.watch(&format!("{CMS}?watch=true&fieldSelector=metadata.name%3Db")).await;
    assert_eq!(ev(&w.next().await.unwrap()), pair("ADDED", "b"));
    http.patch(&format!("{CMS}/a"), "application/merge-patch+json", &json!({"data": {"q": "1"}})).await.expect(200);
    http.patch(&format!("{CMS}/b"), "application/merge-patch+json", &json!({"data": {"q": "1"}})).await.expect(200);
    assert_eq!(ev(&w.next().await.unwrap()), pair("MODIFIED", "b"));
}

#[tokio::test]
async fn watch_before_window_gets_410_error_event() {
    let server = start_with(ServerOptions { event_window: 3, ..Default::default() }).await;
    let http = Http::new(&server);
    let first = http.post(CMS, &configmap("default", "first", json!({}))).await.expect(201).json();
    for i in 0..5 {
        http.post(CMS, &configmap("default", &format!("n{i}"), json!({}))).await.expect(201);
    }
    let mut w = http.watch(&format!("{CMS}?watch=true&resourceVersion={}", rv_of(&first))).await;
    let e = w.next().await.unwrap();
    assert_eq!(e["type"], "ERROR");
    assert_eq!(e["object"]["kind"], "Status");
    assert_eq!(e["object"]["code"], 410);
    assert_eq!(e["object"]["reason"], "Expired");
    assert!(e["object"]["message"].as_str().unwrap().starts_with("too old resource version: "), "{e}");
    assert!(w.next().await.is_none(), "the stream ends after the error");
    // compact(): any older version expires.
    let rv = server.revision();
    http.post(CMS, &configmap("default", "later", json!({}))).await.expect(201);
    server.compact();
    let mut w = http.watch(&format!("{CMS}?watch=true&resourceVersion={rv}")).await;
    assert_eq!(w.next().await.unwrap()["object"]["code"], 410);
    // From the current revision it still works.
    let mut w = http.watch(&format!("{CMS}?watch=true&resourceVersion={}", server.revision())).await;
    http.post(CMS, &configmap("default", "fresh", json!({}))).await.expect(201);
    assert_eq!(ev(&w.next().await.unwrap()), pair("ADDED", "fresh"));
}

#[tokio::test]
async fn bookmarks_and_timeouts() {
    let server =
        start_with(ServerOptions { bookmark_interval: Duration::from_millis(100), ..Default::default() }).await;
    let http = Http::new(&server);
    let a = http.post(CMS, &configmap("default", "a", json!({}))).await.expect(201).json();
    let mut w = http.watch(&format!("{CMS}?watch=true&allowWatchBookmarks=true&resourceVersion={}", rv_of(&a))).await;
    let b = w.next_within(3).await.unwrap();
    assert_eq!(b["type"], "BOOKMARK");
    assert_eq!(b["object"]["kind"], "ConfigMap");
    assert_eq!(b["object"]["apiVersion"], "v1");
    assert!(rv_of(&b["object"]) >= rv_of(&a));
    // Writes elsewhere advance the bookmark's version.
    http.post(
        "/api/v1/namespaces/default/secrets",
        &json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}}),
    )
    .await
    .expect(201);
    http.post(CMS, &configmap("default", "b", json!({}))).await.expect(201);
    assert_eq!(ev(&w.next_non_bookmark().await.unwrap()), pair("ADDED", "b"));
    let b2 = w.next_within(3).await.unwrap();
    assert_eq!(b2["type"], "BOOKMARK");
    assert_eq!(rv_of(&b2["object"]), server.revision());
    // Without allowWatchBookmarks: none.
    let mut quiet = http.watch(&format!("{CMS}?watch=true&resourceVersion={}", server.revision())).await;
    assert!(tokio::time::timeout(Duration::from_millis(400), quiet.next_within(1)).await.is_err());
    // timeoutSeconds ends the stream.
    let started = std::time::Instant::now();
    let mut t = http.watch(&format!("{CMS}?watch=true&timeoutSeconds=1&resourceVersion={}", server.revision())).await;
    assert!(t.next_within(5).await.is_none());
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(4), "{took:?}");
}

#[tokio::test]
async fn selector_transitions_become_added_and_deleted() {
    let server = start().await;
    let http = Http::new(&server);
    http.post(CMS, &configmap("default", "x", json!({"watch": "me"}))).await.expect(201);
    let rv = server.revision();
    let mut w = http.watch(&format!("{CMS}?watch=true&labelSelector=watch%3Dme&resourceVersion={rv}")).await;
    let set = |v: &str| json!({"metadata": {"labels": {"watch": v}}});
    http.patch(&format!("{CMS}/x"), "application/merge-patch+json", &set("no")).await.expect(200);
    let e = w.next().await.unwrap();
    assert_eq!(ev(&e), pair("DELETED", "x"), "stops matching -> DELETED");
    // kube-apiserver's watch cache sends the previous state at the event's resourceVersion.
    assert_eq!(e["object"]["metadata"]["labels"]["watch"], "me", "with the object's last matching state");
    assert_eq!(rv_of(&e["object"]), server.revision());
    http.patch(&format!("{CMS}/x"), "application/merge-patch+json", &set("me")).await.expect(200);
    assert_eq!(ev(&w.next().await.unwrap()), pair("ADDED", "x"), "starts matching -> ADDED");
    http.patch(&format!("{CMS}/x"), "application/merge-patch+json", &json!({"data": {"a": "b"}})).await.expect(200);
    assert_eq!(ev(&w.next().await.unwrap()), pair("MODIFIED", "x"));
    // Objects that never match are never seen.
    http.post(CMS, &configmap("default", "other", json!({"watch": "no"}))).await.expect(201);
    http.delete(&format!("{CMS}/other")).await.expect(200);
    http.delete(&format!("{CMS}/x")).await.expect(200);
    assert_eq!(ev(&w.next().await.unwrap()), pair("DELETED", "x"));
    // Field selectors transition the same way (pods by phase).
    let pods = "/api/v1/namespaces/default/pods";
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "i"}]}});
    http.post(pods, &pod).await.expect(201);
    let mut pw = http
        .watch(&format!("{pods}?watch=true&fieldSelector=status.phase%3DRunning&resourceVersion={}", server.revision()))
        .await;
    http.patch(&format!("{pods}/p/status"), "application/merge-patch+json", &json!({"status": {"phase": "Running"}}))
        .await
        .expect(200);
    assert_eq!(ev(&pw.next().await.unwrap()), pair("ADDED", "p"));
    http.patch(&format!("{pods}/p/status"), "application/merge-patch+json", &json!({"status": {"phase": "Succeeded"}}))
        .await
        .expect(200);
    assert_eq!(ev(&pw.next().await.unwrap()), pair("DELETED", "p"));
}

#[tokio::test]
async fn send_initial_events_ends_with_annotated_bookmark() {
    let server = start().await;
    let http = Http::new(&server);
    for n in ["a", "b"] {
        http.post(CMS, &configmap("default", n, json!({}))).await.expect(201);
    }
    let at = server.revision();
    let q = "watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true";
    let mut w = http.watch(&format!("{CMS}?{q}&resourceVersion=")).await;
    assert_eq!(ev(&w.next().await.unwrap()), pair("ADDED", "a"));
    assert_eq!(ev(&w.next().await.unwrap()), pair("ADDED", "b"));
    let end = w.next().await.unwrap();
    assert_eq!(end["type"], "BOOKMARK");
    assert_eq!(end["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"], "true");
    assert_eq!(rv_of(&end["object"]), at);
    http.post(CMS, &configmap("default", "c", json!({}))).await.expect(201);
    assert_eq!(ev(&w.next_non_bookmark().await.unwrap()), pair("ADDED", "c"));
    // Invalid combinations: kube-apiserver's 422 so that clients fall back to list+watch.
    for bad in [
        "watch=true&sendInitialEvents=true",
        "watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan",
        "watch=true&sendInitialEvents=true&allowWatchBookmarks=true",
        "watch=true&resourceVersionMatch=NotOlderThan",
    ] {
        let r = http.get(&format!("{CMS}?{bad}")).await.expect(422).json();
        assert_eq!(r["reason"], "Invalid", "{bad}");
        assert_eq!(r["details"]["kind"], "ListOptions", "{bad}");
    }
    // sendInitialEvents on a plain list is rejected too.
    let r = http.get(&format!("{CMS}?sendInitialEvents=true")).await;
    assert!(r.status == 422 || r.status == 400, "{}", r.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_watchers_see_every_event_in_order() {
    let server = start().await;
    let http = Http::new(&server);
    let rv = server.revision();
    let mut watchers = Vec::new();
    for _ in 0..20 {
        watchers.push(http.watch(&format!("{CMS}?watch=true&resourceVersion={rv}")).await);
    }
    for i in 0..50 {
        http.post(CMS, &configmap("default", &format!("c{i:02}"), json!({}))).await.expect(201);
    }
    let mut tasks = Vec::new();
    for mut w in watchers {
        tasks.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            for _ in 0..50 {
                seen.push(ev(&w.next().await.unwrap()).1);
            }
            seen
        }));
    }
    let want: Vec<String> = (0..50).map(|i| format!("c{i:02}")).collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), want);
    }
}

#[tokio::test]
async fn watch_over_h2c() {
    let server = start().await;
    let http = Http::h2(&server);
    let r = http.get(CMS).await.expect(200);
    assert_eq!(r.version, http::Version::HTTP_2);
    let mut w = http.watch(&format!("{CMS}?watch=true&resourceVersion={}", server.revision())).await;
    http.post(CMS, &configmap("default", "h2", json!({}))).await.expect(201);
    assert_eq!(ev(&w.next().await.unwrap()), pair("ADDED", "h2"));
}

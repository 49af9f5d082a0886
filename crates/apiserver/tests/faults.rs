//! Fault injection through the server handle: watch streams closed after N events, 410 on
//! watches, 429 with Retry-After, 5xx, latency, compaction, event-window shrinking, restart.

mod common;

use common::{Http, configmap, ev, start};
use rkube_apiserver::InjectedError;
use serde_json::json;
use std::time::{Duration, Instant};

const CMS: &str = "/api/v1/namespaces/default/configmaps";

#[tokio::test]
async fn close_watch_after_n_events() {
    let server = start().await;
    let http = Http::new(&server);
    for i in 0..5 {
        http.post(CMS, &configmap("default", &format!("c{i}"), json!({}))).await.expect(201);
    }
    server.faults().set_close_watch_after(Some(2));
    let mut w = http.watch(&format!("{CMS}?watch=true")).await;
    assert_eq!(ev(&w.next().await.unwrap()).1, "c0");
    assert_eq!(ev(&w.next().await.unwrap()).1, "c1");
    assert!(w.next().await.is_none(), "stream closed after 2 events");
    server.faults().clear();
    let mut w = http.watch(&format!("{CMS}?watch=true")).await;
    for i in 0..5 {
        assert_eq!(ev(&w.next().await.unwrap()).1, format!("c{i}"));
    }
    // Random closes are deterministic per seed: with p = 1 the first event ends the stream.
    server.faults().set_close_watch_probability(1.0);
    let mut w = http.watch(&format!("{CMS}?watch=true")).await;
    assert!(w.next().await.is_none());
    server.faults().clear();
}

#[tokio::test]
async fn watches_answered_with_410() {
    let server = start().await;
    let http = Http::new(&server);
    server.faults().set_watch_gone_probability(1.0);
    let mut w = http.watch(&format!("{CMS}?watch=true&resourceVersion={}", server.revision())).await;
    let e = w.next().await.unwrap();
    assert_eq!(e["type"], "ERROR");
    assert_eq!(e["object"]["code"], 410);
    assert_eq!(e["object"]["reason"], "Expired");
    assert!(w.next().await.is_none());
    // Lists are unaffected.
    http.get(CMS).await.expect(200);
    server.faults().set_watch_gone_probability(0.0);
    let mut w = http.watch(&format!("{CMS}?watch=true&resourceVersion={}", server.revision())).await;
    http.post(CMS, &configmap("default", "ok", json!({}))).await.expect(201);
    assert_eq!(ev(&w.next().await.unwrap()).1, "ok");
}

#[tokio::test]
async fn throttling_and_server_errors() {
    let server = start().await;
    let http = Http::new(&server);
    server.faults().set_error_rate(1.0, InjectedError { code: 429, retry_after: Some(3) });
    let r = http.get(CMS).await.expect(429);
    assert_eq!(r.header("retry-after").as_deref(), Some("3"));
    let s = r.json();
    assert_eq!(s["reason"], "TooManyRequests");
    assert_eq!(s["code"], 429);
    // Health checks stay open; writes are refused too and change nothing.
    http.get("/healthz").await.expect(200);
    let before = server.revision();
    http.post(CMS, &configmap("default", "x", json!({}))).await.expect(429);
    assert_eq!(server.revision(), before);
    server.faults().set_error_rate(1.0, InjectedError { code: 503, retry_after: Some(1) });
    let r = http.get(CMS).await.expect(503);
    assert_eq!(r.header("retry-after").as_deref(), Some("1"));
    assert_eq!(r.json()["reason"], "ServiceUnavailable");
    server.faults().set_error_rate(1.0, InjectedError { code: 500, retry_after: None });
    let r = http.get(CMS).await.expect(500);
    assert_eq!(r.json()["reason"], "InternalError");
    // A rate: seeded, so the sequence repeats after a reseed.
    server.faults().set_error_rate(0.5, InjectedError { code: 500, retry_after: None });
    server.faults().reseed(42);
    let mut a = Vec::new();
    for _ in 0..20 {
        a.push(http.get(CMS).await.status);
    }
    server.faults().reseed(42);
    let mut b = Vec::new();
    for _ in 0..20 {
        b.push(http.get(CMS).await.status);
    }
    assert_eq!(a, b);
    assert!(a.contains(&200) && a.contains(&500), "{a:?}");
    server.faults().clear();
    http.get(CMS).await.expect(200);
}

#[tokio::test]
async fn latency() {
    let server = start().await;
    let http = Http::new(&server);
    server.faults().set_latency(Duration::from_millis(200));
    let t = Instant::now();
    http.get(CMS).await.expect(200);
    assert!(t.elapsed() >= Duration::from_millis(200), "{:?}", t.elapsed());
    server.faults().clear();
    let t = Instant::now();
    http.get(CMS).await.expect(200);
    assert!(t.elapsed() < Duration::from_millis(200));
}

#[tokio::test]
async fn compaction_and_window_shrinking() {
    let server = start().await;
    let http = Http::new(&server);
    let rv = server.revision();
    for i in 0..4 {
        http.post(CMS, &configmap("default", &format!("c{i}"), json!({}))).await.expect(201);
    }
    // Inside the window: replay works.
    let mut w = http.watch(&format!("{CMS}?watch=true&resourceVersion={rv}")).await;
    assert_eq!(ev(&w.next().await.unwrap()).1, "c0");
    // Shrinking the window to 2 events compacts: rv is now too old.
    server.set_event_window(2);
    let mut w = http.watch(&format!("{CMS}?watch=true&resourceVersion={rv}")).await;
    assert_eq!(w.next().await.unwrap()["object"]["code"], 410);
    let exact = http.get(&format!("{CMS}?resourceVersion={rv}&resourceVersionMatch=Exact")).await.expect(410);
    assert_eq!(exact.json()["reason"], "Expired");
    // compact() drops everything before now.
    let now = server.compact();
    assert_eq!(now, server.revision());
    let mut w = http.watch(&format!("{CMS}?watch=true&resourceVersion={}", now - 1)).await;
    assert_eq!(w.next().await.unwrap()["object"]["code"], 410);
    let mut w = http.watch(&format!("{CMS}?watch=true&resourceVersion={now}")).await;
    http.post(CMS, &configmap("default", "after", json!({}))).await.expect(201);
    assert_eq!(ev(&w.next().await.unwrap()).1, "after");
}

#[tokio::test]
async fn restart_keeps_data_and_drops_watches_and_history() {
    let server = start().await;
    let http = Http::new(&server);
    http.post(CMS, &configmap("default", "kept", json!({}))).await.expect(201);
    let rv = server.revision();
    http.post(CMS, &configmap("default", "kept2", json!({}))).await.expect(201);
    let mut w = http.watch(&format!("{CMS}?watch=true&resourceVersion={}", server.revision())).await;
    server.restart();
    assert!(w.next().await.is_none(), "watches end on restart");
    let list = http.get(CMS).await.expect(200).json();
    assert_eq!(list["items"].as_array().unwrap().len(), 2, "data survives");
    let mut w = http.watch(&format!("{CMS}?watch=true&resourceVersion={rv}")).await;
    assert_eq!(w.next().await.unwrap()["object"]["code"], 410, "history is gone");
    // New watches work and revisions keep increasing.
    let mut w = http.watch(&format!("{CMS}?watch=true&resourceVersion={}", server.revision())).await;
    let c = http.post(CMS, &configmap("default", "new", json!({}))).await.expect(201).json();
    assert!(c["metadata"]["resourceVersion"].as_str().unwrap().parse::<u64>().unwrap() > rv);
    assert_eq!(ev(&w.next().await.unwrap()).1, "new");
}

//! Bad input over raw HTTP: the status codes and reasons kube-apiserver returns, never a
//! panic, and the store unchanged afterwards.

mod common;

use common::{Http, configmap, start, start_with};
use http::Method;
use rkube_apiserver::ServerOptions;
use serde_json::json;

const CMS: &str = "/api/v1/namespaces/default/configmaps";

#[tokio::test]
async fn bad_bodies_leave_the_store_unchanged() {
    let server = start().await;
    let http = Http::new(&server);
    http.post(CMS, &configmap("default", "keep", json!({}))).await.expect(201);
    let before = server.revision();
    let snapshot = http.get(CMS).await.expect(200).text();

    // Malformed JSON.
    let r = http.post_raw(CMS, b"{not json").await.expect(400).json();
    assert_eq!(r["reason"], "BadRequest");
    assert!(
        r["message"].as_str().unwrap().starts_with("the object provided is unrecognized (must be of type ConfigMap)")
    );
    http.post_raw(CMS, b"[1,2]").await.expect(400);
    http.post_raw(CMS, b"").await.expect(400);
    http.request(Method::PUT, &format!("{CMS}/keep"), &[], b"{".to_vec()).await.expect(400);
    http.request(
        Method::PATCH,
        &format!("{CMS}/keep"),
        &[("content-type", "application/merge-patch+json")],
        b"{".to_vec(),
    )
    .await
    .expect(400);
    http.request(
        Method::PATCH,
        &format!("{CMS}/keep"),
        &[("content-type", "application/json-patch+json")],
        b"{}".to_vec(),
    )
    .await
    .expect(400);

    // Kind / apiVersion not matching the URL.
    let mut wrong_kind = configmap("default", "x", json!({}));
    wrong_kind["kind"] = "Secret".into();
    let r = http.post(CMS, &wrong_kind).await;
    assert!(r.status == 400 || r.status == 422, "{}", r.text());
    let mut wrong_api = configmap("default", "x", json!({}));
    wrong_api["apiVersion"] = "apps/v1".into();
    http.post(CMS, &wrong_api).await.expect(400);

    // Name / namespace not matching the URL.
    let r = http.post(CMS, &configmap("other", "x", json!({}))).await.expect(400).json();
    assert_eq!(r["message"], "the namespace of the provided object does not match the namespace sent on the request");
    let mut renamed = http.get(&format!("{CMS}/keep")).await.json();
    renamed["metadata"]["name"] = "other".into();
    http.put(&format!("{CMS}/keep"), &renamed).await.expect(400);
    // Missing name.
    let r = http.post(CMS, &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}})).await.expect(422).json();
    assert_eq!(r["reason"], "Invalid");
    // Ill-typed fields.
    let r =
        http.post(CMS, &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "t"}, "data": []})).await;
    assert!(r.status == 400 || r.status == 422, "{}", r.text());

    // Bad selectors and options.
    http.get(&format!("{CMS}?labelSelector=a%20in%20(b")).await.expect(400);
    http.get(&format!("{CMS}?labelSelector=%3D%3D%3D")).await.expect(400);
    http.get(&format!("{CMS}?fieldSelector=spec.nodeName%3Dx")).await.expect(400);
    http.get(&format!("{CMS}?limit=abc")).await.expect(400);
    http.get(&format!("{CMS}?watch=true&resourceVersion=abc")).await.expect(400);
    // Unknown resources, groups, verbs.
    http.get("/api/v1/namespaces/default/widgets").await.expect(404);
    http.get("/apis/nope.example.com/v1/things").await.expect(404);
    http.get("/api/v1/namespaces/default/nodes").await.expect(404);
    http.get("/nonsense").await.expect(404);
    let r = http.request(Method::POST, &format!("{CMS}/keep"), &[], b"{}".to_vec()).await.expect(405);
    assert_eq!(r.json()["reason"], "MethodNotAllowed");
    http.request(Method::PUT, CMS, &[], b"{}".to_vec()).await.expect(405);
    // Unsupported body media type.
    http.request(Method::POST, CMS, &[("content-type", "text/plain")], b"x".to_vec()).await.expect(415);

    assert_eq!(server.revision(), before, "nothing was written");
    assert_eq!(http.get(CMS).await.expect(200).text(), snapshot);
}

#[tokio::test]
async fn oversized_bodies_get_413() {
    let server = start_with(ServerOptions { max_body: 64 * 1024, ..Default::default() }).await;
    let http = Http::new(&server);
    let before = server.revision();
    let mut big = configmap("default", "big", json!({}));
    big["data"] = json!({"blob": "x".repeat(100 * 1024)});
    let r = http.post(CMS, &big).await.expect(413).json();
    assert_eq!(r["reason"], "RequestEntityTooLarge");
    assert_eq!(r["code"], 413);
    assert_eq!(server.revision(), before);
    http.get(&format!("{CMS}/big")).await.expect(404);
    // The server keeps serving.
    http.post(CMS, &configmap("default", "small", json!({}))).await.expect(201);
}

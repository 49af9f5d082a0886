//! Lists over raw HTTP: resourceVersion semantics, pagination with writes between pages,
//! expired continue tokens, label and field selectors, Tables and PartialObjectMetadata.

mod common;

use common::{Http, configmap, start, start_with};
use rkube_apiserver::ServerOptions;
use serde_json::{Value, json};

const CMS: &str = "/api/v1/namespaces/default/configmaps";

fn names(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap().to_string())
        .collect()
}

fn list_rv(list: &Value) -> u64 {
    list["metadata"]["resourceVersion"].as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn resource_version_semantics() {
    let server = start().await;
    let http = Http::new(&server);
    let a = http.post(CMS, &configmap("default", "a", json!({}))).await.expect(201).json();
    let rv_a: u64 = a["metadata"]["resourceVersion"].as_str().unwrap().parse().unwrap();
    http.post(CMS, &configmap("default", "b", json!({}))).await.expect(201);
    let latest = http.get(CMS).await.expect(200).json();
    assert_eq!(latest["kind"], "ConfigMapList");
    assert_eq!(latest["apiVersion"], "v1");
    assert_eq!(names(&latest), ["a", "b"]);
    assert_eq!(list_rv(&latest), server.revision());
    let any = http.get(&format!("{CMS}?resourceVersion=0")).await.expect(200).json();
    assert_eq!(names(&any), ["a", "b"]);
    // Exact: the state as of that revision.
    let exact = http.get(&format!("{CMS}?resourceVersion={rv_a}&resourceVersionMatch=Exact")).await.expect(200).json();
    assert_eq!(names(&exact), ["a"]);
    assert_eq!(list_rv(&exact), rv_a);
    let newer =
        http.get(&format!("{CMS}?resourceVersion={rv_a}&resourceVersionMatch=NotOlderThan")).await.expect(200).json();
    assert_eq!(names(&newer), ["a", "b"]);
    // Too large -> 504 Timeout with the ResourceVersionTooLarge cause; match without version -> 422.
    let big = http.get(&format!("{CMS}?resourceVersion=999999&resourceVersionMatch=NotOlderThan")).await.expect(504);
    assert_eq!(big.json()["details"]["causes"][0]["reason"], "ResourceVersionTooLarge");
    http.get(&format!("{CMS}?resourceVersionMatch=Exact")).await.expect(422);
    http.get(&format!("{CMS}?resourceVersion=abc&resourceVersionMatch=Exact")).await.expect(400);
    // Namespaced and all-namespaces lists.
    http.post("/api/v1/namespaces", &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other"}}))
        .await
        .expect(201);
    http.post("/api/v1/namespaces/other/configmaps", &configmap("other", "c", json!({}))).await.expect(201);
    assert_eq!(names(&http.get("/api/v1/configmaps").await.expect(200).json()), ["a", "b", "c"]);
    assert_eq!(names(&http.get(CMS).await.expect(200).json()), ["a", "b"]);
}

#[tokio::test]
async fn pagination_is_consistent_across_writes() {
    let server = start().await;
    let http = Http::new(&server);
    for i in 0..10 {
        http.post(CMS, &configmap("default", &format!("cm-{i:02}"), json!({}))).await.expect(201);
    }
    let p1 = http.get(&format!("{CMS}?limit=4")).await.expect(200).json();
    assert_eq!(names(&p1), ["cm-00", "cm-01", "cm-02", "cm-03"]);
    assert_eq!(p1["metadata"]["remainingItemCount"], 6);
    let snapshot = list_rv(&p1);
    let token = p1["metadata"]["continue"].as_str().expect("continue token").to_string();
    // Writes between pages: the remaining pages still show the snapshot.
    http.post(CMS, &configmap("default", "cm-05a", json!({}))).await.expect(201);
    http.delete(&format!("{CMS}/cm-06")).await.expect(200);
    http.patch(&format!("{CMS}/cm-07"), "application/merge-patch+json", &json!({"data": {"new": "1"}}))
        .await
        .expect(200);
    let p2 = http.get(&format!("{CMS}?limit=4&continue={token}")).await.expect(200).json();
    assert_eq!(names(&p2), ["cm-04", "cm-05", "cm-06", "cm-07"]);
    assert_eq!(list_rv(&p2), snapshot, "every page carries the snapshot's revision");
    assert!(p2["items"][3]["data"].get("new").is_none(), "the page shows cm-07 as of the snapshot");
    let token = p2["metadata"]["continue"].as_str().unwrap().to_string();
    let p3 = http.get(&format!("{CMS}?limit=4&continue={token}")).await.expect(200).json();
    assert_eq!(names(&p3), ["cm-08", "cm-09"]);
    assert!(p3["metadata"].get("continue").is_none_or(|c| c == ""));
    assert!(p3["metadata"].get("remainingItemCount").is_none());
    // A fresh list sees the writes.
    let all = http.get(CMS).await.expect(200).json();
    assert!(names(&all).contains(&"cm-05a".to_string()) && !names(&all).contains(&"cm-06".to_string()));
    // Garbage token -> 400; version with continue -> 400.
    http.get(&format!("{CMS}?limit=4&continue=garbage")).await.expect(400);
    http.get(&format!("{CMS}?limit=4&continue={token}&resourceVersion=5")).await.expect(400);
    // Selectors with pages: no remainingItemCount.
    for i in 0..3 {
        http.post(CMS, &configmap("default", &format!("sel-{i}"), json!({"pick": "yes"}))).await.expect(201);
    }
    let s1 = http.get(&format!("{CMS}?limit=2&labelSelector=pick%3Dyes")).await.expect(200).json();
    assert_eq!(names(&s1), ["sel-0", "sel-1"]);
    assert!(s1["metadata"].get("remainingItemCount").is_none());
    let t = s1["metadata"]["continue"].as_str().unwrap();
    let s2 = http.get(&format!("{CMS}?limit=2&labelSelector=pick%3Dyes&continue={t}")).await.expect(200).json();
    assert_eq!(names(&s2), ["sel-2"]);
}

#[tokio::test]
async fn expired_continue_token_is_410() {
    let server = start_with(ServerOptions { event_window: 5, ..Default::default() }).await;
    let http = Http::new(&server);
    for i in 0..6 {
        http.post(CMS, &configmap("default", &format!("cm-{i}"), json!({}))).await.expect(201);
    }
    let p1 = http.get(&format!("{CMS}?limit=2")).await.expect(200).json();
    let token = p1["metadata"]["continue"].as_str().unwrap().to_string();
    // Writes push the snapshot out of the window.
    for i in 0..6 {
        http.post(CMS, &configmap("default", &format!("late-{i}"), json!({}))).await.expect(201);
    }
    let r = http.get(&format!("{CMS}?limit=2&continue={token}")).await.expect(410).json();
    assert_eq!(r["reason"], "Expired");
    assert_eq!(r["code"], 410);
    assert!(r["message"].as_str().unwrap().starts_with("The provided continue parameter is too old"), "{r}");
    // compact() expires tokens at once.
    let p1 = http.get(&format!("{CMS}?limit=2")).await.expect(200).json();
    let token = p1["metadata"]["continue"].as_str().unwrap().to_string();
    http.post(CMS, &configmap("default", "after", json!({}))).await.expect(201);
    server.compact();
    http.get(&format!("{CMS}?limit=2&continue={token}")).await.expect(410);
}

#[tokio::test]
async fn label_and_field_selectors() {
    let server = start().await;
    let http = Http::new(&server);
    http.post(CMS, &configmap("default", "a", json!({"env": "prod", "tier": "web"}))).await.expect(201);
    http.post(CMS, &configmap("default", "b", json!({"env": "dev", "tier": "web"}))).await.expect(201);
    http.post(CMS, &configmap("default", "c", json!({"env": "prod"}))).await.expect(201);
    let q = |s: &str| format!("{CMS}?labelSelector={}", s.replace(' ', "%20").replace('=', "%3D").replace('!', "%21"));
    assert_eq!(names(&http.get(&q("env=prod")).await.expect(200).json()), ["a", "c"]);
    assert_eq!(names(&http.get(&q("env!=prod")).await.expect(200).json()), ["b"]);
    assert_eq!(names(&http.get(&q("env in (dev,qa)")).await.expect(200).json()), ["b"]);
    assert_eq!(names(&http.get(&q("env notin (dev)")).await.expect(200).json()), ["a", "c"]);
    assert_eq!(names(&http.get(&q("tier")).await.expect(200).json()), ["a", "b"]);
    assert_eq!(names(&http.get(&q("!tier")).await.expect(200).json()), ["c"]);
    assert_eq!(names(&http.get(&q("env=prod,tier=web")).await.expect(200).json()), ["a"]);
    let bad = http.get(&q("env in (a")).await.expect(400).json();
    assert_eq!(bad["reason"], "BadRequest");
    // Field selectors: metadata.name / metadata.namespace everywhere.
    assert_eq!(names(&http.get(&format!("{CMS}?fieldSelector=metadata.name%3Db")).await.expect(200).json()), ["b"]);
    assert_eq!(
        names(&http.get("/api/v1/configmaps?fieldSelector=metadata.namespace%21%3Ddefault").await.expect(200).json()),
        Vec::<String>::new()
    );
    let bad = http.get(&format!("{CMS}?fieldSelector=data.k%3Dv")).await.expect(400).json();
    assert_eq!(bad["message"], "field label not supported: data.k");
    // Pods: spec.nodeName, status.phase, spec.restartPolicy, spec.schedulerName, status.podIP.
    let pods = "/api/v1/namespaces/default/pods";
    for (name, node) in [("p1", "n1"), ("p2", "n2")] {
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                         "spec": {"nodeName": node, "restartPolicy": "Never", "containers": [{"name": "c", "image": "i"}]}});
        http.post(pods, &pod).await.expect(201);
    }
    http.patch(
        &format!("{pods}/p2/status"),
        "application/merge-patch+json",
        &json!({"status": {"phase": "Running", "podIP": "10.0.0.2"}}),
    )
    .await
    .expect(200);
    let f = |s: &str| format!("{pods}?fieldSelector={}", s.replace('=', "%3D").replace('!', "%21"));
    assert_eq!(names(&http.get(&f("spec.nodeName=n1")).await.expect(200).json()), ["p1"]);
    assert_eq!(names(&http.get(&f("status.phase=Running")).await.expect(200).json()), ["p2"]);
    assert_eq!(names(&http.get(&f("status.phase!=Running")).await.expect(200).json()), ["p1"]);
    assert_eq!(names(&http.get(&f("spec.restartPolicy=Never")).await.expect(200).json()), ["p1", "p2"]);
    assert_eq!(names(&http.get(&f("spec.schedulerName=default-scheduler")).await.expect(200).json()), ["p1", "p2"]);
    assert_eq!(names(&http.get(&f("status.podIP=10.0.0.2")).await.expect(200).json()), ["p2"]);
    assert_eq!(names(&http.get(&f("spec.nodeName=n1,metadata.name=p1")).await.expect(200).json()), ["p1"]);
    // Secrets by type, events by involvedObject, namespaces by status.phase.
    let secrets = "/api/v1/namespaces/default/secrets";
    http.post(
        secrets,
        &json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s1"}, "type": "kubernetes.io/tls",
                                "data": {"tls.crt": "", "tls.key": ""}}),
    )
    .await
    .expect(201);
    http.post(secrets, &json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s2"}})).await.expect(201);
    assert_eq!(
        names(&http.get(&format!("{secrets}?fieldSelector=type%3Dkubernetes.io/tls")).await.expect(200).json()),
        ["s1"]
    );
    let events = "/api/v1/namespaces/default/events";
    http.post(events, &json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e1"},
                               "involvedObject": {"kind": "Pod", "name": "p1", "namespace": "default"}, "reason": "Started"}))
        .await
        .expect(201);
    assert_eq!(
        names(
            &http
                .get(&format!("{events}?fieldSelector=involvedObject.name%3Dp1,involvedObject.kind%3DPod"))
                .await
                .expect(200)
                .json()
        ),
        ["e1"]
    );
    assert_eq!(
        names(
            &http
                .get("/api/v1/namespaces?fieldSelector=status.phase%3DActive,metadata.name%3Ddefault")
                .await
                .expect(200)
                .json()
        ),
        ["default"]
    );
}

#[tokio::test]
async fn tables_and_partial_metadata() {
    let server = start().await;
    let http = Http::new(&server);
    http.post(CMS, &configmap("default", "a", json!({"x": "1"}))).await.expect(201);
    let t = http.get_as(CMS, "application/json;as=Table;v=v1;g=meta.k8s.io").await.expect(200).json();
    assert_eq!(t["kind"], "Table");
    assert_eq!(t["apiVersion"], "meta.k8s.io/v1");
    let cols: Vec<&str> =
        t["columnDefinitions"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(cols, ["Name", "Data", "Age"]);
    assert_eq!(t["rows"][0]["cells"][0], "a");
    assert_eq!(t["rows"][0]["cells"][1], 1);
    assert_eq!(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
    let one = http.get_as(&format!("{CMS}/a"), "application/json;as=Table;v=v1;g=meta.k8s.io").await.expect(200).json();
    assert_eq!(one["rows"].as_array().unwrap().len(), 1);
    let m =
        http.get_as(CMS, "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io").await.expect(200).json();
    assert_eq!(m["kind"], "PartialObjectMetadataList");
    assert_eq!(m["items"][0]["metadata"]["labels"]["x"], "1");
    assert!(m["items"][0].get("data").is_none());
    let m = http
        .get_as(&format!("{CMS}/a"), "application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io")
        .await
        .expect(200)
        .json();
    assert_eq!(m["kind"], "PartialObjectMetadata");
    // Unknown representations: 406.
    http.get_as(CMS, "application/xml").await.expect(406);
}

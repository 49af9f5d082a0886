//! Object lifecycle over real HTTP: foreground and orphan deletion with the collector's
//! finalizers, garbage collection once finalizers clear, write responses in the representation
//! the client asked for, and gzip-compressed large responses.

mod common;

use std::io::Read;

use common::{Http, configmap, deployment, ev, start};
use http::Method;
use serde_json::{Value, json};

const CMS: &str = "/api/v1/namespaces/default/configmaps";
const DEPLOYS: &str = "/apis/apps/v1/namespaces/default/deployments";
const RSS: &str = "/apis/apps/v1/namespaces/default/replicasets";
const PODS: &str = "/api/v1/namespaces/default/pods";
const PARTIAL: &str = "application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io";

fn owner_ref(owner: &Value, block: bool) -> Value {
    json!({"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["metadata"]["name"],
           "uid": owner["metadata"]["uid"], "controller": true, "blockOwnerDeletion": block})
}

/// A ConfigMap owned by `owner`, optionally held by a finalizer.
fn dependent(name: &str, owner: &Value, block: bool, finalizer: bool) -> Value {
    let mut c = configmap("default", name, json!({}));
    c["metadata"]["ownerReferences"] = json!([owner_ref(owner, block)]);
    if finalizer {
        c["metadata"]["finalizers"] = json!(["example.com/hold"]);
    }
    c
}

async fn delete_with(http: &Http, path: &str, body: Value) -> common::Resp {
    http.request(Method::DELETE, path, &[("content-type", "application/json")], body.to_string().into_bytes()).await
}

async fn release_hold(http: &Http, path: &str) -> common::Resp {
    http.patch(path, "application/merge-patch+json", &json!({"metadata": {"finalizers": null}})).await
}

fn finalizers(obj: &Value) -> Vec<String> {
    obj["metadata"]["finalizers"]
        .as_array()
        .map(|a| a.iter().filter_map(|f| f.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn foreground_deletion_waits_for_blocking_dependents() {
    let server = start().await;
    let http = Http::new(&server);
    let owner = http.post(DEPLOYS, &deployment("default", "web", 1)).await.expect(201).json();
    http.post(CMS, &dependent("blocker", &owner, true, true)).await.expect(201);
    http.post(CMS, &dependent("loose", &owner, false, false)).await.expect(201);
    let mut deploys = http.watch(&format!("{DEPLOYS}?watch=true&resourceVersion={}", server.revision())).await;
    let mut cms = http.watch(&format!("{CMS}?watch=true&resourceVersion={}", server.revision())).await;

    let resp = delete_with(&http, &format!("{DEPLOYS}/web"), json!({"propagationPolicy": "Foreground"})).await;
    let marked = resp.expect(200).json();
    assert_eq!(marked["kind"], "Deployment", "the object, not a Status: {marked}");
    assert!(marked["metadata"]["deletionTimestamp"].is_string(), "{marked}");
    assert_eq!(marked["metadata"]["deletionGracePeriodSeconds"], 0);
    assert_eq!(finalizers(&marked), ["foregroundDeletion"]);

    // The owner stays while the blocking dependent exists; dependents are being deleted.
    let still = http.get(&format!("{DEPLOYS}/web")).await.expect(200).json();
    assert_eq!(finalizers(&still), ["foregroundDeletion"]);
    http.get(&format!("{CMS}/loose")).await.expect(404);
    let blocker = http.get(&format!("{CMS}/blocker")).await.expect(200).json();
    assert!(blocker["metadata"]["deletionTimestamp"].is_string(), "{blocker}");
    let e = deploys.next_non_bookmark().await.unwrap();
    assert_eq!(ev(&e), ("MODIFIED".into(), "web".into()));
    assert_eq!(finalizers(&e["object"]), ["foregroundDeletion"]);
    assert!(deploys.quiet_for(300).await, "the owner must not go while a blocking dependent exists");
    let mut seen = Vec::new();
    for _ in 0..2 {
        seen.push(ev(&cms.next_non_bookmark().await.unwrap()));
    }
    seen.sort();
    assert_eq!(seen, [("DELETED".to_string(), "loose".to_string()), ("MODIFIED".into(), "blocker".into())]);

    // The last blocking dependent goes: the finalizer is removed and the owner with it.
    release_hold(&http, &format!("{CMS}/blocker")).await.expect(200);
    http.get(&format!("{CMS}/blocker")).await.expect(404);
    // As kube-apiserver deletes when an update empties the finalizers: DELETED, no MODIFIED.
    let e = deploys.next_non_bookmark().await.unwrap();
    assert_eq!(ev(&e), ("DELETED".into(), "web".into()));
    http.get(&format!("{DEPLOYS}/web")).await.expect(404);
}

#[tokio::test]
async fn foreground_deletion_cascades_down_a_chain_and_without_dependents_is_immediate() {
    let server = start().await;
    let http = Http::new(&server);
    // Nothing depends on it: deleted at once, the usual Status answer.
    http.post(DEPLOYS, &deployment("default", "alone", 1)).await.expect(201);
    let r = http.delete(&format!("{DEPLOYS}/alone?propagationPolicy=Foreground")).await.expect(200).json();
    assert_eq!(r["kind"], "Status");
    http.get(&format!("{DEPLOYS}/alone")).await.expect(404);

    // Deployment -> ReplicaSet -> Pod (held by a finalizer), all blocking their owners.
    let d = http.post(DEPLOYS, &deployment("default", "web", 1)).await.expect(201).json();
    let rs = http.post(RSS, &replicaset("web-1", &d, false)).await.expect(201).json();
    let pod = json!({"apiVersion": "v1", "kind": "Pod",
                     "metadata": {"name": "web-1-a", "labels": {"app": "web"}, "finalizers": ["example.com/hold"],
                                  "ownerReferences": [owner_ref(&rs, true)]},
                     "spec": {"containers": [{"name": "c", "image": "nginx"}]}});
    http.post(PODS, &pod).await.expect(201);
    let mut pods = http.watch(&format!("{PODS}?watch=true&resourceVersion={}", server.revision())).await;
    let mut rss = http.watch(&format!("{RSS}?watch=true&resourceVersion={}", server.revision())).await;

    http.delete(&format!("{DEPLOYS}/web?propagationPolicy=Foreground")).await.expect(200);
    // The ReplicaSet has a dependent of its own, so it is deleted in the foreground too.
    let rs_now = http.get(&format!("{RSS}/web-1")).await.expect(200).json();
    assert_eq!(finalizers(&rs_now), ["foregroundDeletion"]);
    let d_now = http.get(&format!("{DEPLOYS}/web")).await.expect(200).json();
    assert_eq!(finalizers(&d_now), ["foregroundDeletion"]);
    let p = http.get(&format!("{PODS}/web-1-a")).await.expect(200).json();
    assert!(p["metadata"]["deletionTimestamp"].is_string());

    release_hold(&http, &format!("{PODS}/web-1-a")).await.expect(200);
    for path in [format!("{PODS}/web-1-a"), format!("{RSS}/web-1"), format!("{DEPLOYS}/web")] {
        http.get(&path).await.expect(404);
    }
    // The pod went before its ReplicaSet.
    let mut pod_events = Vec::new();
    while let Some(e) =
        tokio::time::timeout(std::time::Duration::from_millis(300), pods.next_non_bookmark()).await.ok().flatten()
    {
        pod_events.push((ev(&e).0, e["object"]["metadata"]["resourceVersion"].as_str().unwrap_or("").to_string()));
    }
    let pod_deleted: u64 = pod_events.iter().find(|(t, _)| t == "DELETED").expect("pod DELETED").1.parse().unwrap();
    let mut rs_deleted = None;
    while let Some(e) =
        tokio::time::timeout(std::time::Duration::from_millis(300), rss.next_non_bookmark()).await.ok().flatten()
    {
        if e["type"] == "DELETED" {
            rs_deleted = e["object"]["metadata"]["resourceVersion"].as_str().and_then(|v| v.parse::<u64>().ok());
        }
    }
    assert!(rs_deleted.expect("ReplicaSet DELETED") > pod_deleted);
}

#[tokio::test]
async fn orphan_deletion_uses_the_orphan_finalizer() {
    let server = start().await;
    let http = Http::new(&server);
    let owner = http.post(DEPLOYS, &deployment("default", "web", 1)).await.expect(201).json();
    http.post(CMS, &dependent("kept", &owner, true, false)).await.expect(201);
    let mut deploys = http.watch(&format!("{DEPLOYS}?watch=true&resourceVersion={}", server.revision())).await;
    let marked =
        delete_with(&http, &format!("{DEPLOYS}/web"), json!({"propagationPolicy": "Orphan"})).await.expect(200).json();
    assert_eq!(finalizers(&marked), ["orphan"]);
    assert!(marked["metadata"]["deletionTimestamp"].is_string());
    let e = deploys.next_non_bookmark().await.unwrap();
    assert_eq!((ev(&e).0, finalizers(&e["object"])), ("MODIFIED".into(), vec!["orphan".to_string()]));
    assert_eq!(ev(&deploys.next_non_bookmark().await.unwrap()), ("DELETED".into(), "web".into()));
    let kept = http.get(&format!("{CMS}/kept")).await.expect(200).json();
    assert!(kept["metadata"].get("ownerReferences").is_none(), "{kept}");

    // Orphaning does not wait for other finalizers; the object stays until they clear.
    let mut held = deployment("default", "held", 1);
    held["metadata"]["finalizers"] = json!(["example.com/hold"]);
    let held = http.post(DEPLOYS, &held).await.expect(201).json();
    http.post(CMS, &dependent("kept2", &held, true, false)).await.expect(201);
    let r = http.delete(&format!("{DEPLOYS}/held?propagationPolicy=Orphan")).await.expect(200).json();
    assert_eq!(finalizers(&r), ["example.com/hold", "orphan"]);
    let now = http.get(&format!("{DEPLOYS}/held")).await.expect(200).json();
    assert_eq!(finalizers(&now), ["example.com/hold"]);
    let kept2 = http.get(&format!("{CMS}/kept2")).await.expect(200).json();
    assert!(kept2["metadata"].get("ownerReferences").is_none(), "{kept2}");
    release_hold(&http, &format!("{DEPLOYS}/held")).await.expect(200);
    http.get(&format!("{DEPLOYS}/held")).await.expect(404);
    http.get(&format!("{CMS}/kept2")).await.expect(200);
}

#[tokio::test]
async fn dependents_are_collected_once_the_owners_finalizers_clear() {
    let server = start().await;
    let http = Http::new(&server);
    let mut owner = configmap("default", "owner", json!({}));
    owner["metadata"]["finalizers"] = json!(["example.com/hold"]);
    let owner = http.post(CMS, &owner).await.expect(201).json();
    http.post(CMS, &dependent("child", &owner, false, false)).await.expect(201);
    let mut cms = http.watch(&format!("{CMS}?watch=true&resourceVersion={}", server.revision())).await;

    // Background (the default): the owner waits for its finalizer, the child for the owner.
    let t = http.delete(&format!("{CMS}/owner")).await.expect(200).json();
    assert!(t["metadata"]["deletionTimestamp"].is_string());
    assert_eq!(finalizers(&t), ["example.com/hold"]);
    http.get(&format!("{CMS}/child")).await.expect(200);
    assert_eq!(ev(&cms.next_non_bookmark().await.unwrap()), ("MODIFIED".into(), "owner".into()));

    // The update that empties the finalizers deletes instead of writing: the client gets the
    // object it sent, watchers DELETED with the last stored state.
    let sent = release_hold(&http, &format!("{CMS}/owner")).await.expect(200).json();
    assert!(sent["metadata"].get("finalizers").is_none(), "{sent}");
    http.get(&format!("{CMS}/owner")).await.expect(404);
    http.get(&format!("{CMS}/child")).await.expect(404);
    let gone = cms.next_non_bookmark().await.unwrap();
    assert_eq!(ev(&gone), ("DELETED".into(), "owner".into()));
    assert_eq!(finalizers(&gone["object"]), ["example.com/hold"]);
    assert_eq!(ev(&cms.next_non_bookmark().await.unwrap()), ("DELETED".into(), "child".into()));

    // A dependent that another live owner still holds is released, not deleted.
    let mut a = configmap("default", "a", json!({}));
    a["metadata"]["finalizers"] = json!(["example.com/hold"]);
    let a = http.post(CMS, &a).await.expect(201).json();
    let b = http.post(CMS, &configmap("default", "b", json!({}))).await.expect(201).json();
    let mut shared = configmap("default", "shared", json!({}));
    shared["metadata"]["ownerReferences"] = json!([owner_ref(&a, false), owner_ref(&b, false)]);
    shared["metadata"]["ownerReferences"][1]["controller"] = json!(false);
    http.post(CMS, &shared).await.expect(201);
    http.delete(&format!("{CMS}/a")).await.expect(200);
    release_hold(&http, &format!("{CMS}/a")).await.expect(200);
    let shared = http.get(&format!("{CMS}/shared")).await.expect(200).json();
    let refs = shared["metadata"]["ownerReferences"].as_array().unwrap();
    assert_eq!(refs.len(), 1);
    assert_eq!(refs[0]["name"], "b");
}

#[tokio::test]
async fn write_responses_honour_partial_object_metadata() {
    let server = start().await;
    let http = Http::new(&server);
    let accept = [("accept", PARTIAL), ("content-type", "application/json")];
    let check = |r: &common::Resp, name: &str| {
        let v = r.json();
        assert_eq!(v["kind"], "PartialObjectMetadata", "{v}");
        assert_eq!(v["apiVersion"], "meta.k8s.io/v1");
        assert_eq!(v["metadata"]["name"], name);
        assert!(v.get("data").is_none(), "{v}");
    };
    let body = configmap("default", "p", json!({"a": "b"})).to_string().into_bytes();
    let created = http.request(Method::POST, CMS, &accept, body).await.expect(201);
    check(&created, "p");
    let mut cm = http.get(&format!("{CMS}/p")).await.expect(200).json();
    cm["data"] = json!({"k": "v2"});
    let updated =
        http.request(Method::PUT, &format!("{CMS}/p"), &accept, cm.to_string().into_bytes()).await.expect(200);
    check(&updated, "p");
    assert_ne!(updated.json()["metadata"]["resourceVersion"], created.json()["metadata"]["resourceVersion"]);
    let patch = json!({"metadata": {"labels": {"x": "y"}}}).to_string().into_bytes();
    let patched = http
        .request(
            Method::PATCH,
            &format!("{CMS}/p"),
            &[("accept", PARTIAL), ("content-type", "application/merge-patch+json")],
            patch,
        )
        .await
        .expect(200);
    check(&patched, "p");
    assert_eq!(patched.json()["metadata"]["labels"]["x"], "y");
    // Deletes answered with a Status keep it; those answered with the object transform it.
    let r = http.request(Method::DELETE, &format!("{CMS}/p"), &[("accept", PARTIAL)], Vec::new()).await.expect(200);
    assert_eq!(r.json()["kind"], "Status");
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "pp"},
                     "spec": {"containers": [{"name": "c", "image": "i"}]}});
    http.post(PODS, &pod).await.expect(201);
    let r = http.request(Method::DELETE, &format!("{PODS}/pp"), &[("accept", PARTIAL)], Vec::new()).await.expect(200);
    check(&r, "pp");
    // An Accept nothing satisfies is refused before anything is written.
    let body = configmap("default", "never", json!({})).to_string().into_bytes();
    http.request(Method::POST, CMS, &[("accept", "application/json;as=Nope;g=x;v=1")], body).await.expect(406);
    http.get(&format!("{CMS}/never")).await.expect(404);
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out).expect("valid gzip");
    out
}

#[tokio::test]
async fn large_responses_are_gzipped_when_asked() {
    let server = start().await;
    let http = Http::new(&server);
    let filler = "x".repeat(4096);
    for i in 0..40 {
        let mut c = configmap("default", &format!("big-{i:02}"), json!({}));
        c["data"] = json!({"filler": filler});
        http.post(CMS, &c).await.expect(201);
    }
    let plain = http.get(CMS).await.expect(200);
    assert!(plain.body.len() > 128 * 1024, "list is {} bytes", plain.body.len());
    assert_eq!(plain.header("content-encoding"), None);
    let zipped = http.request(Method::GET, CMS, &[("accept-encoding", "deflate, gzip")], Vec::new()).await.expect(200);
    assert_eq!(zipped.header("content-encoding").as_deref(), Some("gzip"));
    assert_eq!(zipped.header("vary").as_deref(), Some("Accept-Encoding"));
    assert_eq!(zipped.header("content-type").as_deref(), Some("application/json"));
    assert!(zipped.body.len() < plain.body.len() / 4, "compressed to {} bytes", zipped.body.len());
    assert_eq!(gunzip(&zipped.body), plain.body.to_vec());

    // Small responses, other encodings and watches stay uncompressed.
    let one = http.request(Method::GET, &format!("{CMS}/big-00"), &[("accept-encoding", "gzip")], Vec::new()).await;
    assert_eq!(one.expect(200).header("content-encoding"), None);
    let br = http.request(Method::GET, CMS, &[("accept-encoding", "br")], Vec::new()).await.expect(200);
    assert_eq!(br.header("content-encoding"), None);
    let watch = http.send(Method::GET, &format!("{CMS}?watch=true"), &[("accept-encoding", "gzip")], Vec::new()).await;
    assert_eq!(watch.status(), 200);
    assert!(watch.headers().get("content-encoding").is_none());
    drop(watch);
    // Errors are small: uncompressed.
    let missing = http.request(Method::GET, &format!("{CMS}/nope"), &[("accept-encoding", "gzip")], Vec::new()).await;
    assert_eq!(missing.expect(404).header("content-encoding"), None);
}

/// A ReplicaSet owned by `owner` (blocking it), optionally held by a finalizer.
fn replicaset(name: &str, owner: &Value, hold: bool) -> Value {
    let mut rs = json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                        "metadata": {"name": name, "ownerReferences": [owner_ref(owner, true)]},
                        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                                 "template": {"metadata": {"labels": {"app": "web"}},
                                              "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}});
    if hold {
        rs["metadata"]["finalizers"] = json!(["example.com/hold"]);
    }
    rs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_delete_cascade_foreground() {
    let server = start().await;
    let http = Http::new(&server);

    // Nothing holds the ReplicaSet: kubectl's delete (which waits) returns with both gone.
    let oldest = common::Kubectl::new(common::KUBECTL_OLDEST, &server);
    let d = http.post(DEPLOYS, &deployment("default", "quick", 1)).await.expect(201).json();
    http.post(RSS, &replicaset("quick-1", &d, false)).await.expect(201);
    let out = oldest.ok(&["delete", "deployment", "quick", "--cascade=foreground"]).await;
    assert!(out.contains("deployment.apps \"quick\" deleted"), "{out}");
    http.get(&format!("{RSS}/quick-1")).await.expect(404);
    http.get(&format!("{DEPLOYS}/quick")).await.expect(404);

    // A held ReplicaSet keeps the Deployment, finalizer shown, until it goes.
    let kubectl = common::Kubectl::new(common::KUBECTL_NEWEST, &server);
    let d = http.post(DEPLOYS, &deployment("default", "web", 1)).await.expect(201).json();
    http.post(RSS, &replicaset("web-1", &d, true)).await.expect(201);
    let out = kubectl.ok(&["delete", "deployment", "web", "--cascade=foreground", "--wait=false"]).await;
    assert!(out.contains("deployment.apps \"web\" deleted"), "{out}");
    let fins = kubectl.ok(&["get", "deployment", "web", "-o", "jsonpath={.metadata.finalizers}"]).await;
    assert_eq!(fins, r#"["foregroundDeletion"]"#);
    let ts = kubectl.ok(&["get", "replicaset", "web-1", "-o", "jsonpath={.metadata.deletionTimestamp}"]).await;
    assert!(!ts.is_empty(), "the ReplicaSet is being deleted");

    // A waiting delete returns once the last blocking dependent is gone.
    let mut waiting = kubectl.spawn(&["delete", "deployment", "web", "--cascade=foreground", "--timeout=30s"]);
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    assert!(waiting.try_wait().unwrap().is_none(), "kubectl must wait while the Deployment exists");
    release_hold(&http, &format!("{RSS}/web-1")).await.expect(200);
    let out = tokio::time::timeout(std::time::Duration::from_secs(30), waiting.wait_with_output())
        .await
        .expect("kubectl returns")
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    http.get(&format!("{DEPLOYS}/web")).await.expect(404);
}

#[tokio::test]
async fn waiting_owners_follow_later_writes_and_deletecollection() {
    let server = start().await;
    let http = Http::new(&server);
    // Released rather than deleted: a blocking dependent that drops its ownerReference
    // frees the owner too.
    let owner = http.post(DEPLOYS, &deployment("default", "a", 1)).await.expect(201).json();
    http.post(CMS, &dependent("held", &owner, true, true)).await.expect(201);
    http.delete(&format!("{DEPLOYS}/a?propagationPolicy=Foreground")).await.expect(200);
    http.get(&format!("{DEPLOYS}/a")).await.expect(200);
    // A dependent created while the owner waits is deleted as well.
    http.post(CMS, &dependent("late", &owner, false, false)).await.expect(201);
    http.get(&format!("{CMS}/late")).await.expect(404);
    let patch = json!({"metadata": {"ownerReferences": null}});
    http.patch(&format!("{CMS}/held"), "application/merge-patch+json", &patch).await.expect(200);
    http.get(&format!("{DEPLOYS}/a")).await.expect(404);
    release_hold(&http, &format!("{CMS}/held")).await.expect(200);

    // deletecollection applies the same propagation to each object it deletes.
    let b = http.post(DEPLOYS, &deployment("default", "b", 1)).await.expect(201).json();
    http.post(DEPLOYS, &deployment("default", "c", 1)).await.expect(201);
    http.post(CMS, &dependent("b-held", &b, true, true)).await.expect(201);
    let out = delete_with(&http, DEPLOYS, json!({"propagationPolicy": "Foreground"})).await.expect(200).json();
    let names: Vec<&str> =
        out["items"].as_array().unwrap().iter().filter_map(|i| i["metadata"]["name"].as_str()).collect();
    assert_eq!(names, ["b", "c"]);
    assert_eq!(finalizers(&out["items"][0]), ["foregroundDeletion"]);
    http.get(&format!("{DEPLOYS}/c")).await.expect(404);
    http.get(&format!("{DEPLOYS}/b")).await.expect(200);
    release_hold(&http, &format!("{CMS}/b-held")).await.expect(200);
    http.get(&format!("{DEPLOYS}/b")).await.expect(404);
}

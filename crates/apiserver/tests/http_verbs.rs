//! Verbs over raw HTTP: create, get, update, patch, delete, deletecollection, subresources,
//! generations, finalizers, namespace deletion, garbage collection and concurrent writers.

mod common;

use common::{Http, configmap, deployment, start};
use serde_json::{Value, json};

const CMS: &str = "/api/v1/namespaces/default/configmaps";
const DEPLOYS: &str = "/apis/apps/v1/namespaces/default/deployments";

fn rv(v: &Value) -> u64 {
    v["metadata"]["resourceVersion"].as_str().expect("resourceVersion").parse().expect("numeric")
}

#[tokio::test]
async fn create_sets_identity_and_one_global_revision() {
    let server = start().await;
    let http = Http::new(&server);
    let a = http.post(CMS, &configmap("default", "a", json!({}))).await.expect(201).json();
    assert_eq!(a["metadata"]["uid"].as_str().map(str::len), Some(36));
    assert!(a["metadata"]["creationTimestamp"].as_str().is_some_and(|t| t.ends_with('Z')));
    assert!(a["metadata"].get("generation").is_none(), "ConfigMaps have no generation");
    let d = http.post(DEPLOYS, &deployment("default", "d", 1)).await.expect(201).json();
    assert_eq!(d["metadata"]["generation"], 1);
    assert!(rv(&d) > rv(&a), "one revision across resources");
    assert_eq!(server.revision(), rv(&d));

    // generateName.
    let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "gen-"}});
    let g = http.post(CMS, &body).await.expect(201).json();
    let name = g["metadata"]["name"].as_str().unwrap();
    assert!(name.starts_with("gen-") && name.len() == 9, "{name}");
    assert_eq!(g["metadata"]["generateName"], "gen-");

    // Duplicate -> 409 AlreadyExists; missing namespace -> 404.
    let dup = http.post(CMS, &configmap("default", "a", json!({}))).await.expect(409).json();
    assert_eq!(dup["reason"], "AlreadyExists");
    assert_eq!(dup["message"], "configmaps \"a\" already exists");
    assert_eq!(dup["details"], json!({"name": "a", "kind": "configmaps"}));
    let nons = http.post("/api/v1/namespaces/nope/configmaps", &configmap("nope", "a", json!({}))).await.expect(404);
    assert_eq!(nons.json()["message"], "namespaces \"nope\" not found");

    // Get, and a missing object.
    let got = http.get(&format!("{CMS}/a")).await.expect(200).json();
    assert_eq!(got, a);
    let missing = http.get(&format!("{CMS}/zzz")).await.expect(404).json();
    assert_eq!(
        missing,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": "configmaps \"zzz\" not found", "reason": "NotFound",
               "details": {"name": "zzz", "kind": "configmaps"}, "code": 404})
    );
}

#[tokio::test]
async fn update_conflicts_and_unconditional_writes() {
    let server = start().await;
    let http = Http::new(&server);
    let a = http.post(CMS, &configmap("default", "a", json!({}))).await.expect(201).json();
    let mut v1 = a.clone();
    v1["data"] = json!({"k": "1"});
    let b = http.put(&format!("{CMS}/a"), &v1).await.expect(200).json();
    assert!(rv(&b) > rv(&a));
    // Stale resourceVersion -> 409 with kube-apiserver's message.
    let mut stale = a.clone();
    stale["data"] = json!({"k": "2"});
    let c = http.put(&format!("{CMS}/a"), &stale).await.expect(409).json();
    assert_eq!(c["reason"], "Conflict");
    assert_eq!(
        c["message"],
        "Operation cannot be fulfilled on configmaps \"a\": the object has been modified; please apply your changes to the latest version and try again"
    );
    // No resourceVersion -> unconditional.
    let mut free = a.clone();
    free["metadata"].as_object_mut().unwrap().remove("resourceVersion");
    free["data"] = json!({"k": "3"});
    let d = http.put(&format!("{CMS}/a"), &free).await.expect(200).json();
    assert_eq!(d["data"]["k"], "3");
    assert_eq!(d["metadata"]["uid"], a["metadata"]["uid"], "uid is kept");
    // Update of a missing object -> 404.
    http.put(&format!("{CMS}/zzz"), &configmap("default", "zzz", json!({}))).await.expect(404);
    // An update that changes nothing keeps the resourceVersion.
    let same = http.put(&format!("{CMS}/a"), &d).await.expect(200).json();
    assert_eq!(rv(&same), rv(&d));
}

#[tokio::test]
async fn patches_merge_json_and_strategic() {
    let server = start().await;
    let http = Http::new(&server);
    let mut dep = deployment("default", "d", 1);
    dep["spec"]["template"]["spec"]["containers"] = json!([
        {"name": "app", "image": "app:1", "env": [{"name": "A", "value": "1"}], "ports": [{"containerPort": 80}]},
        {"name": "log", "image": "log:1"}
    ]);
    http.post(DEPLOYS, &dep).await.expect(201);
    let path = format!("{DEPLOYS}/d");

    let merged = http
        .patch(&path, "application/merge-patch+json", &json!({"metadata": {"labels": {"x": "y"}}}))
        .await
        .expect(200)
        .json();
    assert_eq!(merged["metadata"]["labels"], json!({"app": "d", "x": "y"}));
    assert_eq!(merged["metadata"]["generation"], 1, "metadata changes keep the generation");

    let smp = json!({"spec": {"template": {"spec": {"containers": [
        {"name": "app", "image": "app:2", "env": [{"name": "B", "value": "2"}]}]}}}});
    let s = http.patch(&path, "application/strategic-merge-patch+json", &smp).await.expect(200).json();
    let containers = &s["spec"]["template"]["spec"]["containers"];
    assert_eq!(containers.as_array().unwrap().len(), 2, "containers merge by name: {containers}");
    assert_eq!(containers[0]["image"], "app:2");
    // apimachinery's order: patch items not in the live list come before server-only items.
    assert_eq!(containers[0]["env"], json!([{"name": "B", "value": "2"}, {"name": "A", "value": "1"}]));
    assert_eq!(containers[0]["ports"][0]["containerPort"], 80);
    assert_eq!(containers[1]["name"], "log");
    assert_eq!(s["metadata"]["generation"], 2, "spec change bumps the generation");

    let del = json!({"spec": {"template": {"spec": {"containers": [{"name": "log", "$patch": "delete"}]}}}});
    let s = http.patch(&path, "application/strategic-merge-patch+json", &del).await.expect(200).json();
    assert_eq!(s["spec"]["template"]["spec"]["containers"].as_array().unwrap().len(), 1);

    let ops = json!([{"op": "replace", "path": "/spec/replicas", "value": 4},
                     {"op": "add", "path": "/metadata/annotations", "value": {"a": "b"}}]);
    let j = http.patch(&path, "application/json-patch+json", &ops).await.expect(200).json();
    assert_eq!(j["spec"]["replicas"], 4);
    assert_eq!(j["metadata"]["annotations"]["a"], "b");
    assert_eq!(j["metadata"]["generation"], 4);

    // A failing JSON patch test -> 422; an unknown patch type -> 415; a stale RV in a patch -> 409.
    let t = json!([{"op": "test", "path": "/spec/replicas", "value": 9}]);
    http.patch(&path, "application/json-patch+json", &t).await.expect(422);
    http.patch(&path, "text/plain", &json!({})).await.expect(415);
    let stale = json!({"metadata": {"resourceVersion": "1"}, "spec": {"replicas": 2}});
    http.patch(&path, "application/merge-patch+json", &stale).await.expect(409);
    // Patch of a missing object -> 404.
    http.patch(&format!("{DEPLOYS}/none"), "application/merge-patch+json", &json!({})).await.expect(404);
    // Server-side apply needs a fieldManager, then creates or merges.
    let apply = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ap"}, "data": {"a": "1"}});
    let ap = format!("{CMS}/ap");
    let r = http
        .request(
            http::Method::PATCH,
            &ap,
            &[("content-type", "application/apply-patch+yaml")],
            apply.to_string().into(),
        )
        .await
        .expect(422);
    assert!(r.text().contains("fieldManager"), "{}", r.text());
    let ap_fm = format!("{ap}?fieldManager=test");
    http.request(
        http::Method::PATCH,
        &ap_fm,
        &[("content-type", "application/apply-patch+yaml")],
        apply.to_string().into(),
    )
    .await
    .expect(201);
}

#[tokio::test]
async fn status_and_scale_subresources() {
    let server = start().await;
    let http = Http::new(&server);
    let d = http.post(DEPLOYS, &deployment("default", "d", 2)).await.expect(201).json();
    let path = format!("{DEPLOYS}/d");
    // Status via the main endpoint is ignored.
    let mut v = d.clone();
    v["status"] = json!({"replicas": 7});
    v["spec"]["replicas"] = json!(3);
    let u = http.put(&path, &v).await.expect(200).json();
    assert_eq!(u["spec"]["replicas"], 3);
    assert!(u["status"].get("replicas").is_none(), "status ignored on the main endpoint: {}", u["status"]);
    assert_eq!(u["metadata"]["generation"], 2);
    // /status changes only status; no generation bump.
    let mut s = u.clone();
    s["status"] = json!({"replicas": 3, "readyReplicas": 3});
    s["spec"]["replicas"] = json!(9);
    let st = http.put(&format!("{path}/status"), &s).await.expect(200).json();
    assert_eq!(st["status"]["readyReplicas"], 3);
    assert_eq!(st["spec"]["replicas"], 3, "/status ignores spec");
    assert_eq!(st["metadata"]["generation"], 2);
    let st = http
        .patch(&format!("{path}/status"), "application/merge-patch+json", &json!({"status": {"availableReplicas": 3}}))
        .await
        .expect(200)
        .json();
    assert_eq!(st["status"]["availableReplicas"], 3);
    // Scale.
    let scale = http.get(&format!("{path}/scale")).await.expect(200).json();
    assert_eq!(scale["kind"], "Scale");
    assert_eq!(scale["apiVersion"], "autoscaling/v1");
    assert_eq!(scale["spec"]["replicas"], 3);
    assert_eq!(scale["status"]["replicas"], 3);
    assert_eq!(scale["status"]["selector"], "app=d");
    let mut sc = scale.clone();
    sc["spec"]["replicas"] = json!(5);
    let out = http.put(&format!("{path}/scale"), &sc).await.expect(200).json();
    assert_eq!(out["spec"]["replicas"], 5);
    let out = http
        .patch(&format!("{path}/scale"), "application/merge-patch+json", &json!({"spec": {"replicas": 6}}))
        .await
        .expect(200)
        .json();
    assert_eq!(out["spec"]["replicas"], 6);
    let now = http.get(&path).await.expect(200).json();
    assert_eq!(now["spec"]["replicas"], 6);
    assert_eq!(now["metadata"]["generation"], 4);
    // Kinds without the subresource: 404.
    http.post(CMS, &configmap("default", "c", json!({}))).await.expect(201);
    http.get(&format!("{CMS}/c/scale")).await.expect(404);
    http.get(&format!("{CMS}/c/status")).await.expect(404);
    // ReplicaSets and StatefulSets scale too.
    let rs = json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "r"},
                    "spec": {"replicas": 1, "selector": {"matchLabels": {"a": "b"}},
                             "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}});
    http.post("/apis/apps/v1/namespaces/default/replicasets", &rs).await.expect(201);
    let s = http.get("/apis/apps/v1/namespaces/default/replicasets/r/scale").await.expect(200).json();
    assert_eq!(s["spec"]["replicas"], 1);
}

#[tokio::test]
async fn delete_bodies_finalizers_and_deletecollection() {
    let server = start().await;
    let http = Http::new(&server);
    let a = http.post(CMS, &configmap("default", "a", json!({}))).await.expect(201).json();
    let del = http.delete(&format!("{CMS}/a")).await.expect(200).json();
    assert_eq!(
        del,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
               "details": {"name": "a", "kind": "configmaps", "uid": a["metadata"]["uid"]}})
    );
    http.delete(&format!("{CMS}/a")).await.expect(404);
    // Pods come back as the deleted object.
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                     "spec": {"containers": [{"name": "c", "image": "i"}]}});
    http.post("/api/v1/namespaces/default/pods", &pod).await.expect(201);
    let gone = http.delete("/api/v1/namespaces/default/pods/p").await.expect(200).json();
    assert_eq!(gone["kind"], "Pod");
    http.get("/api/v1/namespaces/default/pods/p").await.expect(404);

    // Finalizers: deletionTimestamp first, removal when the last finalizer goes.
    let mut f = configmap("default", "f", json!({}));
    f["metadata"]["finalizers"] = json!(["example.com/hold"]);
    http.post(CMS, &f).await.expect(201);
    let t = http.delete(&format!("{CMS}/f")).await.expect(200).json();
    assert!(t["metadata"]["deletionTimestamp"].is_string(), "{t}");
    http.get(&format!("{CMS}/f")).await.expect(200);
    http.patch(&format!("{CMS}/f"), "application/merge-patch+json", &json!({"metadata": {"finalizers": null}}))
        .await
        .expect(200);
    http.get(&format!("{CMS}/f")).await.expect(404);

    // Preconditions.
    let p = http.post(CMS, &configmap("default", "p", json!({}))).await.expect(201).json();
    let body = json!({"preconditions": {"resourceVersion": "1"}});
    let r = http
        .request(
            http::Method::DELETE,
            &format!("{CMS}/p"),
            &[("content-type", "application/json")],
            body.to_string().into(),
        )
        .await
        .expect(409);
    assert_eq!(r.json()["reason"], "Conflict");
    let body = json!({"preconditions": {"uid": p["metadata"]["uid"]}});
    http.request(http::Method::DELETE, &format!("{CMS}/p"), &[], body.to_string().into()).await.expect(200);

    // deletecollection with a label selector.
    for (n, tier) in [("x1", "a"), ("x2", "a"), ("x3", "b")] {
        http.post(CMS, &configmap("default", n, json!({"tier": tier}))).await.expect(201);
    }
    let out = http.delete(&format!("{CMS}?labelSelector=tier%3Da")).await.expect(200).json();
    assert_eq!(out["kind"], "ConfigMapList");
    let names: Vec<&str> =
        out["items"].as_array().unwrap().iter().filter_map(|i| i["metadata"]["name"].as_str()).collect();
    assert_eq!(names, ["x1", "x2"]);
    let left = http.get(CMS).await.expect(200).json();
    let names: Vec<&str> =
        left["items"].as_array().unwrap().iter().filter_map(|i| i["metadata"]["name"].as_str()).collect();
    assert_eq!(names, ["x3"]);
}

#[tokio::test]
async fn namespace_deletion_terminates_then_removes_content() {
    let server = start().await;
    let http = Http::new(&server);
    http.post("/api/v1/namespaces", &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "gone"}}))
        .await
        .expect(201);
    http.post("/api/v1/namespaces/gone/configmaps", &configmap("gone", "c", json!({}))).await.expect(201);
    let t = http.delete("/api/v1/namespaces/gone").await.expect(200).json();
    assert_eq!(t["status"]["phase"], "Terminating");
    assert!(t["metadata"]["deletionTimestamp"].is_string());
    // Creating in a terminating namespace is forbidden (or the namespace is already gone).
    let r = http.post("/api/v1/namespaces/gone/configmaps", &configmap("gone", "d", json!({}))).await;
    assert!(r.status == 403 || r.status == 404, "{}", r.text());
    for _ in 0..100 {
        if http.get("/api/v1/namespaces/gone").await.status == 404 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    http.get("/api/v1/namespaces/gone").await.expect(404);
    let cms = http.get("/api/v1/namespaces/gone/configmaps").await.expect(200).json();
    assert_eq!(cms["items"], json!([]));
}

#[tokio::test]
async fn owner_references_are_garbage_collected() {
    let server = start().await;
    let http = Http::new(&server);
    let owner = http.post(DEPLOYS, &deployment("default", "owner", 1)).await.expect(201).json();
    let oref = json!([{"apiVersion": "apps/v1", "kind": "Deployment", "name": "owner",
                       "uid": owner["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true}]);
    for n in ["child1", "child2"] {
        let mut c = configmap("default", n, json!({}));
        c["metadata"]["ownerReferences"] = oref.clone();
        http.post(CMS, &c).await.expect(201);
    }
    // Orphan: dependents stay, their ownerReferences go.
    let body = json!({"propagationPolicy": "Orphan"});
    http.request(http::Method::DELETE, &format!("{DEPLOYS}/owner"), &[], body.to_string().into()).await.expect(200);
    let c = http.get(&format!("{CMS}/child1")).await.expect(200).json();
    assert!(c["metadata"].get("ownerReferences").is_none(), "{c}");

    // Background (default): dependents are deleted.
    let owner = http.post(DEPLOYS, &deployment("default", "owner2", 1)).await.expect(201).json();
    let mut c = configmap("default", "child3", json!({}));
    c["metadata"]["ownerReferences"] =
        json!([{"apiVersion": "apps/v1", "kind": "Deployment", "name": "owner2", "uid": owner["metadata"]["uid"]}]);
    http.post(CMS, &c).await.expect(201);
    http.delete(&format!("{DEPLOYS}/owner2")).await.expect(200);
    let mut gone = false;
    for _ in 0..100 {
        if http.get(&format!("{CMS}/child3")).await.status == 404 {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(gone, "dependent collected");
    http.get(&format!("{CMS}/child2")).await.expect(200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_conflict_and_nothing_is_lost() {
    let server = start().await;
    let http = Http::new(&server);
    let mut c = configmap("default", "counter", json!({}));
    c["data"] = json!({"n": "0"});
    http.post(CMS, &c).await.expect(201);
    let writers = 8;
    let per = 10;
    let mut tasks = Vec::new();
    for _ in 0..writers {
        let http = http.clone();
        tasks.push(tokio::spawn(async move {
            let mut conflicts = 0;
            let mut done = 0;
            while done < per {
                let cur = http.get(&format!("{CMS}/counter")).await.expect(200).json();
                let n: u64 = cur["data"]["n"].as_str().unwrap().parse().unwrap();
                let mut next = cur.clone();
                next["data"]["n"] = (n + 1).to_string().into();
                let r = http.put(&format!("{CMS}/counter"), &next).await;
                match r.status {
                    200 => done += 1,
                    409 => conflicts += 1,
                    s => panic!("unexpected {s}: {}", r.text()),
                }
            }
            conflicts
        }));
    }
    let mut conflicts = 0;
    for t in tasks {
        conflicts += t.await.unwrap();
    }
    let end = http.get(&format!("{CMS}/counter")).await.expect(200).json();
    assert_eq!(end["data"]["n"], (writers * per).to_string(), "every successful write counted once");
    assert!(conflicts > 0, "concurrent read-modify-write must conflict sometimes");
}

#[tokio::test]
async fn field_validation_strict_warn_ignore() {
    let server = start().await;
    let http = Http::new(&server);
    let mut c = configmap("default", "v", json!({}));
    c["bogus"] = json!(1);
    let strict = http.post(&format!("{CMS}?fieldValidation=Strict"), &c).await.expect(400).json();
    assert_eq!(
        strict["message"],
        "ConfigMap in version \"v1\" cannot be handled as a ConfigMap: strict decoding error: unknown field \"bogus\""
    );
    let warn = http.post(&format!("{CMS}?fieldValidation=Warn"), &c).await.expect(201);
    assert_eq!(warn.header("warning").as_deref(), Some("299 - \"unknown field \\\"bogus\\\"\""));
    assert!(warn.json().get("bogus").is_none(), "unknown fields are pruned");
    c["metadata"]["name"] = "v2".into();
    let ignore = http.post(&format!("{CMS}?fieldValidation=Ignore"), &c).await.expect(201);
    assert!(ignore.header("warning").is_none());
    // A wrongly typed field names the field.
    let bad = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "t"}, "data": {"a": 1}});
    let r = http.post(CMS, &bad).await;
    assert!(r.status == 400 || r.status == 422, "{}", r.text());
    assert!(r.text().contains("data"), "{}", r.text());
    // Dry run writes nothing.
    let before = server.revision();
    let dry = http.post(&format!("{CMS}?dryRun=All"), &configmap("default", "dry", json!({}))).await.expect(201);
    assert_eq!(dry.json()["metadata"]["name"], "dry");
    http.get(&format!("{CMS}/dry")).await.expect(404);
    assert_eq!(server.revision(), before);
}

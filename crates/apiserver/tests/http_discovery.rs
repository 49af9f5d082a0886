//! Discovery and meta endpoints over raw HTTP: version, health, legacy and aggregated
//! discovery, OpenAPI v3 and v2 (JSON and protobuf).

mod common;

use common::{Http, start};
use serde_json::{Value, json};

#[tokio::test]
async fn version_and_health() {
    let server = start().await;
    let http = Http::new(&server);
    let v = http.get("/version").await.expect(200).json();
    assert_eq!(v["major"], "1");
    assert!(v["gitVersion"].as_str().unwrap().starts_with("v1."));
    for p in ["/healthz", "/readyz", "/livez"] {
        let r = http.get(p).await.expect(200);
        assert_eq!(r.text(), "ok");
    }
}

#[tokio::test]
async fn legacy_discovery() {
    let server = start().await;
    let http = Http::new(&server);
    let api = http.get("/api").await.expect(200).json();
    assert_eq!(api["kind"], "APIVersions");
    assert_eq!(api["versions"], json!(["v1"]));
    let v1 = http.get("/api/v1").await.expect(200).json();
    assert_eq!(v1["kind"], "APIResourceList");
    assert_eq!(v1["groupVersion"], "v1");
    let find = |list: &Value, name: &str| -> Value {
        list["resources"].as_array().unwrap().iter().find(|r| r["name"] == name).cloned().unwrap_or(Value::Null)
    };
    let pods = find(&v1, "pods");
    assert_eq!(pods["kind"], "Pod");
    assert_eq!(pods["namespaced"], true);
    assert_eq!(pods["singularName"], "pod");
    assert_eq!(pods["shortNames"], json!(["po"]));
    assert_eq!(pods["categories"], json!(["all"]));
    assert_eq!(
        pods["verbs"],
        json!(["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"])
    );
    assert_eq!(find(&v1, "pods/status")["verbs"], json!(["get", "patch", "update"]));
    assert_eq!(find(&v1, "namespaces")["namespaced"], false);
    for name in ["nodes", "services", "endpoints", "configmaps", "secrets", "serviceaccounts", "events"] {
        assert!(!find(&v1, name).is_null(), "{name} missing from /api/v1");
    }
    let groups = http.get("/apis").await.expect(200).json();
    assert_eq!(groups["kind"], "APIGroupList");
    let names: Vec<&str> = groups["groups"].as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap()).collect();
    for g in ["apps", "batch", "coordination.k8s.io", "events.k8s.io", "apiextensions.k8s.io"] {
        assert!(names.contains(&g), "{g} missing from {names:?}");
    }
    let apps = http.get("/apis/apps").await.expect(200).json();
    assert_eq!(apps["preferredVersion"]["groupVersion"], "apps/v1");
    let appsv1 = http.get("/apis/apps/v1").await.expect(200).json();
    let deploy = find(&appsv1, "deployments");
    assert_eq!(deploy["shortNames"], json!(["deploy"]));
    assert_eq!(find(&appsv1, "deployments/scale")["kind"], "Scale");
    for name in ["replicasets", "daemonsets", "statefulsets", "statefulsets/scale", "replicasets/scale"] {
        assert!(!find(&appsv1, name).is_null(), "{name} missing");
    }
    let batch = http.get("/apis/batch/v1").await.expect(200).json();
    assert!(!find(&batch, "jobs").is_null() && !find(&batch, "cronjobs").is_null());
    let leases = http.get("/apis/coordination.k8s.io/v1").await.expect(200).json();
    assert_eq!(find(&leases, "leases")["kind"], "Lease");
    let ev = http.get("/apis/events.k8s.io/v1").await.expect(200).json();
    assert_eq!(find(&ev, "events")["kind"], "Event");
    http.get("/apis/nope").await.expect(404);
    http.get("/apis/apps/v9").await.expect(404);
}

#[tokio::test]
async fn aggregated_discovery_v2_and_v2beta1() {
    let server = start().await;
    let http = Http::new(&server);
    for v in ["v2", "v2beta1"] {
        let accept = format!("application/json;g=apidiscovery.k8s.io;v={v};as=APIGroupDiscoveryList,application/json");
        let r = http.get_as("/apis", &accept).await.expect(200);
        assert_eq!(
            r.header("content-type").as_deref(),
            Some(format!("application/json;g=apidiscovery.k8s.io;v={v};as=APIGroupDiscoveryList").as_str())
        );
        let doc = r.json();
        assert_eq!(doc["kind"], "APIGroupDiscoveryList");
        assert_eq!(doc["apiVersion"], format!("apidiscovery.k8s.io/{v}"));
        let apps = doc["items"].as_array().unwrap().iter().find(|g| g["metadata"]["name"] == "apps").unwrap();
        assert_eq!(apps["metadata"], json!({"name": "apps"}));
        let res = apps["versions"][0]["resources"].as_array().unwrap();
        let d = res.iter().find(|r| r["resource"] == "deployments").unwrap();
        assert_eq!(d["scope"], "Namespaced");
        assert_eq!(d["responseKind"], json!({"group": "apps", "version": "v1", "kind": "Deployment"}));
        let subs: Vec<&str> =
            d["subresources"].as_array().unwrap().iter().map(|s| s["subresource"].as_str().unwrap()).collect();
        assert_eq!(subs, ["scale", "status"]);
        let core = http.get_as("/api", &accept).await.expect(200).json();
        let pods = core["items"][0]["versions"][0]["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["resource"] == "pods")
            .cloned()
            .unwrap();
        assert_eq!(pods["shortNames"], json!(["po"]));
    }
    // Without the Accept parameter: legacy documents.
    assert_eq!(http.get("/apis").await.json()["kind"], "APIGroupList");
}

#[tokio::test]
async fn openapi_v3_and_v2() {
    let server = start().await;
    let http = Http::new(&server);
    let index = http.get("/openapi/v3").await.expect(200).json();
    let url = index["paths"]["apis/apps/v1"]["serverRelativeURL"].as_str().unwrap().to_string();
    assert!(url.starts_with("/openapi/v3/apis/apps/v1?hash="), "{url}");
    assert!(index["paths"]["api/v1"].is_object());
    let doc = http.get(&url).await.expect(200).json();
    let patch = &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
    assert_eq!(
        patch["x-kubernetes-group-version-kind"],
        json!({"group": "apps", "version": "v1", "kind": "Deployment"})
    );
    let params: Vec<&str> = patch["parameters"].as_array().unwrap().iter().filter_map(|p| p["name"].as_str()).collect();
    assert!(params.contains(&"fieldValidation"), "{params:?}");
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    assert!(schemas.values().any(|s| s["x-kubernetes-group-version-kind"][0]["kind"] == "Deployment"));
    http.get("/openapi/v3/apis/nope/v1").await.expect(404);
    let v2 = http.get("/openapi/v2").await.expect(200).json();
    assert_eq!(v2["swagger"], "2.0");
    // The protobuf form kubectl 1.27 and 1.28 ask for.
    let pb = http.get_as("/openapi/v2", "application/com.github.proto-openapi.spec.v2@v1.0+protobuf").await.expect(200);
    assert_eq!(
        pb.header("content-type").as_deref(),
        Some("application/com.github.proto-openapi.spec.v2.v1.0+protobuf")
    );
    assert_eq!(&pb.body[..5], b"\x0a\x032.0", "field 1 (swagger) comes first");
    let text = String::from_utf8_lossy(&pb.body);
    assert!(text.contains("/apis/apps/v1/namespaces/{namespace}/deployments/{name}"));
    assert!(text.contains("x-kubernetes-group-version-kind") && text.contains("fieldValidation"));
}

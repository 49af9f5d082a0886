//! CustomResourceDefinitions over raw HTTP: served at once (all served versions, discovery),
//! conditions, status and scale subresources, cluster scope, and removal with the CRD.

mod common;

use common::{Http, start, widget_crd};
use serde_json::{Value, json};

const CRDS: &str = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
const WIDGETS: &str = "/apis/example.com/v1/namespaces/default/widgets";

fn widget(name: &str) -> Value {
    json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": name}, "spec": {"replicas": 1, "color": "red"}})
}

#[tokio::test]
async fn crd_is_served_at_once_and_removed_with_its_objects() {
    let server = start().await;
    let http = Http::new(&server);
    http.get(WIDGETS).await.expect(404);
    let crd = http.post(CRDS, &widget_crd()).await.expect(201).json();
    let conds: Vec<(&str, &str)> = crd["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["type"].as_str().unwrap(), c["status"].as_str().unwrap()))
        .collect();
    assert!(conds.contains(&("Established", "True")) && conds.contains(&("NamesAccepted", "True")), "{conds:?}");
    assert_eq!(crd["status"]["acceptedNames"]["kind"], "Widget");
    assert_eq!(crd["status"]["storedVersions"], json!(["v1"]));

    // Discovery, legacy and aggregated, for every served version.
    let groups = http.get("/apis").await.json();
    let g = groups["groups"].as_array().unwrap().iter().find(|g| g["name"] == "example.com").cloned().unwrap();
    assert_eq!(g["preferredVersion"]["version"], "v1");
    let v1 = http.get("/apis/example.com/v1").await.expect(200).json();
    let names: Vec<&str> = v1["resources"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["widgets", "widgets/scale", "widgets/status"]);
    assert_eq!(v1["resources"][0]["shortNames"], json!(["wd"]));
    assert_eq!(v1["resources"][0]["categories"], json!(["all"]));
    http.get("/apis/example.com/v2").await.expect(200);
    let agg = http
        .get_as("/apis", "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList")
        .await
        .expect(200)
        .json();
    assert!(agg["items"].as_array().unwrap().iter().any(|g| g["metadata"]["name"] == "example.com"));

    // Objects: create, list, get in both versions, watch.
    let w1 = http.post(WIDGETS, &widget("w1")).await.expect(201).json();
    assert_eq!(w1["metadata"]["generation"], 1);
    assert_eq!(w1["spec"]["color"], "red");
    let list = http.get(WIDGETS).await.expect(200).json();
    assert_eq!(list["kind"], "WidgetList");
    assert_eq!(list["apiVersion"], "example.com/v1");
    let v2 = http.get("/apis/example.com/v2/namespaces/default/widgets/w1").await.expect(200).json();
    assert_eq!(v2["apiVersion"], "example.com/v2");
    let all = http.get("/apis/example.com/v1/widgets").await.expect(200).json();
    assert_eq!(all["items"].as_array().unwrap().len(), 1);
    // Strategic merge is not offered for custom resources.
    http.patch(&format!("{WIDGETS}/w1"), "application/strategic-merge-patch+json", &json!({})).await.expect(415);

    // Status subresource: main endpoint ignores status; /status ignores the rest; generation on spec.
    let mut u = w1.clone();
    u["status"] = json!({"replicas": 5});
    u["metadata"]["labels"] = json!({"l": "1"});
    let u = http.put(&format!("{WIDGETS}/w1"), &u).await.expect(200).json();
    assert!(u.get("status").is_none());
    assert_eq!(u["metadata"]["generation"], 1, "metadata-only change");
    let s = http
        .patch(
            &format!("{WIDGETS}/w1/status"),
            "application/merge-patch+json",
            &json!({"status": {"replicas": 1}, "spec": {"color": "blue"}}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(s["status"]["replicas"], 1);
    assert_eq!(s["spec"]["color"], "red");
    let g2 = http
        .patch(&format!("{WIDGETS}/w1"), "application/merge-patch+json", &json!({"spec": {"color": "blue"}}))
        .await
        .expect(200)
        .json();
    assert_eq!(g2["metadata"]["generation"], 2);
    // Scale subresource by the declared paths.
    let scale = http.get(&format!("{WIDGETS}/w1/scale")).await.expect(200).json();
    assert_eq!(scale["spec"]["replicas"], 1);
    assert_eq!(scale["status"]["replicas"], 1);
    http.patch(&format!("{WIDGETS}/w1/scale"), "application/merge-patch+json", &json!({"spec": {"replicas": 3}}))
        .await
        .expect(200);
    assert_eq!(http.get(&format!("{WIDGETS}/w1")).await.json()["spec"]["replicas"], 3);
    // v2 declares no subresources.
    http.get("/apis/example.com/v2/namespaces/default/widgets/w1/scale").await.expect(404);

    // Delete the CRD: endpoints and objects go.
    http.delete(&format!("{CRDS}/widgets.example.com")).await.expect(200);
    http.get(WIDGETS).await.expect(404);
    http.get("/apis/example.com/v1").await.expect(404);
    let groups = http.get("/apis").await.json();
    assert!(!groups["groups"].as_array().unwrap().iter().any(|g| g["name"] == "example.com"));
    // Recreating it serves an empty collection.
    http.post(CRDS, &widget_crd()).await.expect(201);
    assert_eq!(http.get(WIDGETS).await.expect(200).json()["items"], json!([]));
}

#[tokio::test]
async fn cluster_scoped_crd() {
    let server = start().await;
    let http = Http::new(&server);
    let mut crd = widget_crd();
    crd["metadata"]["name"] = "gizmos.example.com".into();
    crd["spec"]["scope"] = "Cluster".into();
    crd["spec"]["names"] = json!({"plural": "gizmos", "singular": "gizmo", "kind": "Gizmo"});
    http.post(CRDS, &crd).await.expect(201);
    let g = json!({"apiVersion": "example.com/v1", "kind": "Gizmo", "metadata": {"name": "g"}});
    http.post("/apis/example.com/v1/gizmos", &g).await.expect(201);
    http.get("/apis/example.com/v1/gizmos/g").await.expect(200);
    http.get("/apis/example.com/v1/namespaces/default/gizmos").await.expect(404);
    // Watches on custom resources.
    let mut w = http.watch("/apis/example.com/v1/gizmos?watch=true").await;
    assert_eq!(common::ev(&w.next().await.unwrap()), ("ADDED".to_string(), "g".to_string()));
}

//! The protobuf wire format against real clients: kubectl 1.32 (the machine's default) and
//! 1.33 send protobuf bodies for `create namespace / configmap / secret generic /
//! deployment`; the objects they create are read back as JSON. Protobuf responses (get, list,
//! watch framing, Status errors) are checked with rkube-protobuf's decoder, and the bodies
//! kubectl 1.33 sent (captured with `RKUBE_PROTOBUF_CAPTURE=<dir>`) decode to their JSON twins.

mod common;

use std::path::PathBuf;

use common::{Http, KUBECTL_DEFAULT, KUBECTL_NEWEST, Kubectl, start};
use http::Method;
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use serde_json::{Value, json};

const PROTOBUF: &str = "application/vnd.kubernetes.protobuf";

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/protobuf")
}

/// Metadata the server assigns, and the names that differ between an object and its twin.
fn comparable(mut v: Value) -> Value {
    let m = v["metadata"].as_object_mut().expect("metadata");
    for k in ["name", "namespace", "uid", "resourceVersion", "creationTimestamp", "managedFields"] {
        m.remove(k);
    }
    if let Some(labels) = m.get_mut("labels").and_then(Value::as_object_mut) {
        labels.remove("kubernetes.io/metadata.name");
    }
    v
}

/// Every `""` in a stored object: Go's zero values of non-pointer omitempty fields must not
/// leak out of protobuf bodies (JSON bodies never carry them).
fn empty_strings(v: &Value, path: String, out: &mut Vec<String>) {
    match v {
        Value::String(s) if s.is_empty() => out.push(path),
        Value::Object(m) => m.iter().for_each(|(k, v)| empty_strings(v, format!("{path}.{k}"), out)),
        Value::Array(a) => a.iter().enumerate().for_each(|(i, v)| empty_strings(v, format!("{path}[{i}]"), out)),
        _ => {}
    }
}

async fn kubectl_creates_with_protobuf(bin: &str) {
    let server = start().await;
    let k = Kubectl::new(bin, &server);
    let http = Http::new(&server);
    let commands: [(&[&str], &str); 4] = [
        (&["create", "namespace", "shop"], "/api/v1/namespaces/shop"),
        (
            &["create", "configmap", "settings", "-n", "shop", "--from-literal=color=blue", "--from-literal=size=L"],
            "/api/v1/namespaces/shop/configmaps/settings",
        ),
        (
            &["create", "secret", "generic", "creds", "-n", "shop", "--from-literal=password=hunter2"],
            "/api/v1/namespaces/shop/secrets/creds",
        ),
        (
            &["create", "deployment", "web", "-n", "shop", "--image=nginx:1.27", "--replicas=2", "--port=80"],
            "/apis/apps/v1/namespaces/shop/deployments/web",
        ),
    ];
    for (args, _) in &commands {
        k.ok(args).await;
    }
    // JSON twins: what the same commands print with --dry-run=client, created in namespace twin.
    k.ok(&["create", "namespace", "twin"]).await;
    for (args, path) in &commands[1..] {
        let mut dry: Vec<&str> = args.iter().map(|a| if *a == "shop" { "twin" } else { a }).collect();
        dry.extend(["--dry-run=client", "-o", "json"]);
        let twin_json = k.ok(&dry).await;
        let collection = path.rsplit_once('/').unwrap().0.replace("/shop/", "/twin/");
        http.post_raw(&collection, twin_json.as_bytes()).await.expect(201);
        let from_pb = http.get(path).await.expect(200).json();
        let from_json = http.get(&path.replace("/shop/", "/twin/")).await.expect(200).json();
        assert_eq!(comparable(from_pb.clone()), comparable(from_json), "{path}: protobuf body and JSON twin differ");
        let mut empties = Vec::new();
        empty_strings(&from_pb, String::new(), &mut empties);
        assert!(empties.is_empty(), "{path}: empty strings at {empties:?}");
    }
    let ns = http.get("/api/v1/namespaces/shop").await.expect(200).json();
    assert_eq!(ns["status"]["phase"], "Active");
    assert_eq!(comparable(ns), comparable(http.get("/api/v1/namespaces/twin").await.expect(200).json()));
    let cm = http.get("/api/v1/namespaces/shop/configmaps/settings").await.expect(200).json();
    assert_eq!(cm["data"], json!({"color": "blue", "size": "L"}));
    let secret = http.get("/api/v1/namespaces/shop/secrets/creds").await.expect(200).json();
    assert_eq!(secret["data"]["password"], "aHVudGVyMg==");
    let d = http.get("/apis/apps/v1/namespaces/shop/deployments/web").await.expect(200).json();
    assert_eq!(d["spec"]["replicas"], 2);
    assert_eq!(d["spec"]["selector"], json!({"matchLabels": {"app": "web"}}));
    let c = &d["spec"]["template"]["spec"]["containers"][0];
    assert_eq!((c["name"].as_str(), c["image"].as_str()), (Some("nginx"), Some("nginx:1.27")));
    assert_eq!(c["ports"][0]["containerPort"], 80);
    let out = k
        .ok(&["get", "deployment", "web", "-n", "shop", "-o", "jsonpath={.spec.template.spec.containers[0].image}"])
        .await;
    assert_eq!(out, "nginx:1.27");
}

#[tokio::test]
async fn kubectl_1_32_creates_with_protobuf_bodies() {
    kubectl_creates_with_protobuf(KUBECTL_DEFAULT).await;
}

#[tokio::test]
async fn kubectl_1_33_creates_with_protobuf_bodies() {
    kubectl_creates_with_protobuf(KUBECTL_NEWEST).await;
}

/// The bodies kubectl 1.33 sent decode to the objects its `--dry-run=client -o json` prints.
#[test]
fn captured_kubectl_bodies_decode_to_their_json_twins() {
    for (name, group, kind) in [
        ("namespace", "", "Namespace"),
        ("configmap", "", "ConfigMap"),
        ("secret", "", "Secret"),
        ("deployment", "apps", "Deployment"),
    ] {
        let pb = std::fs::read(data_dir().join(format!("{name}.pb"))).expect("captured body");
        let twin: Value =
            serde_json::from_slice(&std::fs::read(data_dir().join(format!("{name}.json"))).unwrap()).unwrap();
        let env = rkube_protobuf::wire::decode_envelope(&pb).unwrap();
        assert_eq!(env.kind, kind);
        let decoded = rkube_protobuf::to_json(&pb).unwrap();
        let twin = rkube_apiserver::builtin::normalize(group, kind, twin).unwrap().unwrap();
        let decoded = rkube_apiserver::builtin::normalize(group, kind, decoded).unwrap().unwrap();
        assert_eq!(decoded, twin, "{name}.pb");
    }
}

fn object(resp: &common::Resp) -> rkube_protobuf::wire::Envelope {
    assert_eq!(resp.header("content-type").as_deref(), Some(PROTOBUF), "{}", resp.text());
    rkube_protobuf::wire::decode_envelope(&resp.body).expect("protobuf envelope")
}

#[tokio::test]
async fn protobuf_responses_for_builtin_kinds_json_for_custom_resources() {
    let server = start().await;
    let http = Http::new(&server);
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "default"},
                    "data": {"k": "v"}});
    http.post("/api/v1/namespaces/default/configmaps", &cm).await.expect(201);

    // get
    let resp = http.get_as("/api/v1/namespaces/default/configmaps/a", "application/vnd.kubernetes.protobuf, */*").await;
    let got: ConfigMap = rkube_protobuf::decode(&resp.body).unwrap();
    assert_eq!(object(&resp).kind, "ConfigMap");
    assert_eq!(got.data.unwrap()["k"], "v");
    // JSON first in the Accept header wins
    let resp = http
        .get_as("/api/v1/namespaces/default/configmaps/a", "application/json, application/vnd.kubernetes.protobuf")
        .await;
    assert_eq!(resp.header("content-type").as_deref(), Some("application/json"));
    // list
    let resp = http.get_as("/api/v1/namespaces/default/configmaps", PROTOBUF).await.expect(200);
    assert_eq!(object(&resp).kind, "ConfigMapList");
    let (meta, items) = rkube_protobuf::decode_list::<ConfigMap>(&resp.body).unwrap();
    assert!(meta.resource_version.is_some());
    assert_eq!(items.len(), 1);
    // Status errors
    let resp = http.get_as("/api/v1/namespaces/default/configmaps/missing", PROTOBUF).await.expect(404);
    let env = object(&resp);
    assert_eq!((env.api_version.as_str(), env.kind.as_str()), ("v1", "Status"));
    // create and update with protobuf bodies, answered in protobuf
    let pod: Pod = serde_json::from_value(json!({"metadata": {"name": "p", "namespace": "default"},
        "spec": {"containers": [{"name": "c", "image": "busybox",
                                 "resources": {"limits": {"cpu": "500m", "memory": "1Gi"}}}]}}))
    .unwrap();
    let headers = [("content-type", PROTOBUF), ("accept", PROTOBUF)];
    let resp = http
        .request(Method::POST, "/api/v1/namespaces/default/pods", &headers, rkube_protobuf::encode(pod))
        .await
        .expect(201);
    let mut created: Pod = rkube_protobuf::decode(&resp.body).unwrap();
    assert!(created.metadata.uid.is_some());
    created.metadata.labels = Some([("tier".to_string(), "web".to_string())].into());
    let resp = http
        .request(Method::PUT, "/api/v1/namespaces/default/pods/p", &headers, rkube_protobuf::encode(created))
        .await
        .expect(200);
    let updated: Pod = rkube_protobuf::decode(&resp.body).unwrap();
    assert_eq!(updated.metadata.labels.unwrap()["tier"], "web");
    let stored = http.get("/api/v1/namespaces/default/pods/p").await.expect(200).json();
    assert_eq!(stored["spec"]["containers"][0]["resources"]["limits"], json!({"cpu": "500m", "memory": "1Gi"}));

    // custom resources stay JSON; protobuf-only is not acceptable for them
    http.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", &common::widget_crd()).await.expect(201);
    let w =
        json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "default"}});
    http.post("/apis/example.com/v1/namespaces/default/widgets", &w).await.expect(201);
    let resp = http
        .get_as("/apis/example.com/v1/namespaces/default/widgets/w", "application/vnd.kubernetes.protobuf, */*")
        .await;
    assert_eq!(resp.expect(200).header("content-type").as_deref(), Some("application/json"));
    http.get_as("/apis/example.com/v1/namespaces/default/widgets/w", PROTOBUF).await.expect(406);
}

#[tokio::test]
async fn protobuf_scale_subresource_round_trips() {
    let server = start().await;
    let http = Http::new(&server);
    http.post("/apis/apps/v1/namespaces/default/deployments", &common::deployment("default", "web", 1))
        .await
        .expect(201);
    let path = "/apis/apps/v1/namespaces/default/deployments/web/scale";
    let resp = http.get_as(path, PROTOBUF).await.expect(200);
    let mut scale: k8s_openapi::api::autoscaling::v1::Scale = rkube_protobuf::decode(&resp.body).unwrap();
    scale.spec.get_or_insert_default().replicas = Some(5);
    let headers = [("content-type", PROTOBUF), ("accept", PROTOBUF)];
    http.request(Method::PUT, path, &headers, rkube_protobuf::encode(scale)).await.expect(200);
    let d = http.get("/apis/apps/v1/namespaces/default/deployments/web").await.expect(200).json();
    assert_eq!(d["spec"]["replicas"], 5);
}

#[tokio::test]
async fn protobuf_watch_frames_each_event() {
    use http_body_util::BodyExt;
    let server = start().await;
    let http = Http::new(&server);
    let resp = http
        .send(Method::GET, "/api/v1/namespaces/default/configmaps?watch=true", &[("accept", PROTOBUF)], Vec::new())
        .await;
    assert_eq!(resp.headers()["content-type"], "application/vnd.kubernetes.protobuf;stream=watch");
    let mut body = resp.into_body();
    for name in ["a", "b"] {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default"}});
        http.post("/api/v1/namespaces/default/configmaps", &cm).await.expect(201);
    }
    http.delete("/api/v1/namespaces/default/configmaps/a").await.expect(200);
    let mut buf = Vec::new();
    let mut events = Vec::new();
    while events.len() < 3 {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(5), body.frame())
            .await
            .expect("event")
            .unwrap()
            .unwrap();
        buf.extend_from_slice(&frame.into_data().unwrap());
        while let Some((kind, obj, used)) = rkube_protobuf::wire::read_watch_frame(&buf).unwrap() {
            buf.drain(..used);
            let cm: ConfigMap = rkube_protobuf::decode(&obj).unwrap();
            events.push((kind, cm.metadata.name.unwrap()));
        }
    }
    let names: Vec<(&str, &str)> = events.iter().map(|(k, n)| (k.as_str(), n.as_str())).collect();
    assert_eq!(names, [("ADDED", "a"), ("ADDED", "b"), ("DELETED", "a")]);
}

//! kubectl against the embedded server: the oldest (1.27) and newest (1.33) versioned
//! binaries and the machine's default, with kubectl's actual output asserted.
//! A missing kubectl fails these tests; they never skip.

mod common;

use common::{KUBECTL_DEFAULT, KUBECTL_NEWEST, KUBECTL_OLDEST, Kubectl, rows, start};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

const MANIFESTS: &str = r#"apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: shop
  labels: {app: shop, tier: config}
data:
  color: blue
---
apiVersion: v1
kind: Secret
metadata:
  name: creds
  namespace: shop
type: Opaque
stringData:
  password: hunter2
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {app: shop}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: nginx
        image: nginx:1.27
---
apiVersion: v1
kind: Pod
metadata:
  name: worker
  namespace: shop
  labels: {app: shop, role: worker}
spec:
  nodeName: node-a
  containers:
  - name: main
    image: busybox
"#;

const CRD: &str = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: gadgets, singular: gadget, kind: Gadget, shortNames: [gd]}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer}
"#;

const GADGET: &str = r#"apiVersion: example.com/v1
kind: Gadget
metadata:
  name: g1
  namespace: shop
spec:
  size: 3
"#;

async fn discovery(bin: &str) {
    let server = start().await;
    let k = Kubectl::new(bin, &server);
    let versions = k.ok(&["api-versions"]).await;
    let versions: Vec<&str> = versions.lines().collect();
    for gv in ["apiextensions.k8s.io/v1", "apps/v1", "batch/v1", "coordination.k8s.io/v1", "events.k8s.io/v1", "v1"] {
        assert!(versions.contains(&gv), "{gv} missing from {versions:?}");
    }
    let out = k.ok(&["api-resources"]).await;
    let table = rows(&out);
    assert_eq!(table[0], ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]);
    for want in [
        vec!["pods", "po", "v1", "true", "Pod"],
        vec!["namespaces", "ns", "v1", "false", "Namespace"],
        vec!["configmaps", "cm", "v1", "true", "ConfigMap"],
        vec!["deployments", "deploy", "apps/v1", "true", "Deployment"],
        vec!["customresourcedefinitions", "crd,crds", "apiextensions.k8s.io/v1", "false", "CustomResourceDefinition"],
        vec!["leases", "coordination.k8s.io/v1", "true", "Lease"],
        vec!["events", "ev", "events.k8s.io/v1", "true", "Event"],
    ] {
        assert!(table.iter().any(|r| *r == want), "api-resources lacks {want:?}:\n{out}");
    }
    // Categories: `get all` covers pods and deployments.
    let names = k.ok(&["api-resources", "--categories=all", "-o", "name"]).await;
    for n in ["pods", "deployments.apps", "services", "replicasets.apps"] {
        assert!(names.lines().any(|l| l == n), "{n} not in category all: {names}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_oldest() {
    discovery(KUBECTL_OLDEST).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_newest() {
    discovery(KUBECTL_NEWEST).await;
}

async fn create_and_get(bin: &str) {
    let server = start().await;
    let k = Kubectl::new(bin, &server);
    let out = k.ok_stdin(&["create", "-f", "-"], MANIFESTS).await;
    assert_eq!(
        out,
        "namespace/shop created\nconfigmap/settings created\nsecret/creds created\ndeployment.apps/web created\npod/worker created\n"
    );
    let out = k.ok_stdin(&["create", "-f", "-"], CRD).await;
    assert_eq!(out, "customresourcedefinition.apiextensions.k8s.io/gadgets.example.com created\n");
    let out = k.ok_stdin(&["create", "-f", "-"], GADGET).await;
    assert_eq!(out, "gadget.example.com/g1 created\n");

    // Tables with the columns of a real cluster.
    let t = rows(&k.ok(&["get", "pods", "-n", "shop"]).await);
    assert_eq!(t[0], ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]);
    assert_eq!(&t[1][..4], ["worker", "0/1", "Pending", "0"]);
    let t = rows(&k.ok(&["get", "deploy", "-n", "shop"]).await);
    assert_eq!(t[0], ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]);
    assert_eq!(&t[1][..4], ["web", "0/2", "0", "0"]);
    let t = rows(&k.ok(&["get", "cm", "settings", "-n", "shop"]).await);
    assert_eq!(t[0], ["NAME", "DATA", "AGE"]);
    assert_eq!(&t[1][..2], ["settings", "1"]);
    let t = rows(&k.ok(&["get", "secret", "-n", "shop"]).await);
    assert_eq!(t[0], ["NAME", "TYPE", "DATA", "AGE"]);
    assert_eq!(&t[1][..3], ["creds", "Opaque", "1"]);
    let t = rows(&k.ok(&["get", "ns"]).await);
    assert_eq!(t[0], ["NAME", "STATUS", "AGE"]);
    let names: Vec<&str> = t[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(names, ["default", "kube-node-lease", "kube-public", "kube-system", "shop"]);
    let t = rows(&k.ok(&["get", "gadgets", "-n", "shop"]).await);
    assert_eq!(t[0], ["NAME", "AGE"]);
    assert_eq!(t[1][0], "g1");
    let t = rows(&k.ok(&["get", "gd", "-n", "shop"]).await);
    assert_eq!(t[1][0], "g1", "short name of the CRD resolves");

    // -o json / yaml / jsonpath.
    let json: Value =
        serde_json::from_str(&k.ok(&["get", "cm", "settings", "-n", "shop", "-o", "json"]).await).unwrap();
    assert_eq!(json["data"]["color"], "blue");
    assert_eq!(json["kind"], "ConfigMap");
    assert!(json["metadata"]["uid"].as_str().is_some_and(|u| u.len() == 36));
    let yaml = k.ok(&["get", "gadget", "g1", "-n", "shop", "-o", "yaml"]).await;
    assert!(yaml.starts_with("apiVersion: example.com/v1\nkind: Gadget\nmetadata:\n"), "{yaml}");
    assert!(yaml.contains("\nspec:\n  size: 3\n"), "{yaml}");
    let pw = k.ok(&["get", "secret", "creds", "-n", "shop", "-o", "jsonpath={.data.password}"]).await;
    assert_eq!(pw, "aHVudGVyMg==", "stringData is folded into data");
    let img =
        k.ok(&["get", "deploy", "web", "-n", "shop", "-o", "jsonpath={.spec.template.spec.containers[0].image}"]).await;
    assert_eq!(img, "nginx:1.27");

    // Selectors and all namespaces.
    let out = k.ok(&["get", "cm,pods,deploy", "-n", "shop", "-l", "app=shop", "-o", "name"]).await;
    assert_eq!(out, "configmap/settings\npod/worker\ndeployment.apps/web\n");
    let out = k.ok(&["get", "pods", "-n", "shop", "-l", "role in (worker,batch),app!=other", "-o", "name"]).await;
    assert_eq!(out, "pod/worker\n");
    let out = k.ok(&["get", "pods", "-A", "--field-selector", "spec.nodeName=node-a", "-o", "name"]).await;
    assert_eq!(out, "pod/worker\n");
    let out = k.run(&["get", "pods", "-A", "--field-selector", "spec.nodeName=node-b"]).await;
    assert_eq!(out.stderr, "No resources found\n");
    let t = rows(&k.ok(&["get", "cm", "-A"]).await);
    assert_eq!(t[0], ["NAMESPACE", "NAME", "DATA", "AGE"]);
    assert!(t.iter().any(|r| r[..2] == ["shop", "settings"]));
    let bad = k.run(&["get", "pods", "-n", "shop", "--field-selector", "spec.bogus=1"]).await;
    assert_ne!(bad.code, 0);
    assert!(bad.stderr.contains("field label not supported: spec.bogus"), "unsupported field label: {}", bad.stderr);
    let all = rows(&k.ok(&["get", "all", "-n", "shop"]).await);
    assert!(all.iter().any(|r| r[0] == "pod/worker"), "{all:?}");
    assert!(all.iter().any(|r| r[0] == "deployment.apps/web"), "{all:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_and_get_oldest() {
    create_and_get(KUBECTL_OLDEST).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_and_get_newest() {
    create_and_get(KUBECTL_NEWEST).await;
}

async fn imperative(bin: &str, proto_creates: bool) {
    let server = start().await;
    let k = Kubectl::new(bin, &server);
    if !proto_creates {
        assert_eq!(k.ok(&["create", "namespace", "team"]).await, "namespace/team created\n");
        assert_eq!(
            k.ok(&["create", "configmap", "cfg", "-n", "team", "--from-literal=a=1", "--from-literal=b=2"]).await,
            "configmap/cfg created\n"
        );
        assert_eq!(
            k.ok(&["create", "deployment", "api", "-n", "team", "--image=nginx", "--replicas=3"]).await,
            "deployment.apps/api created\n"
        );
        assert_eq!(
            k.ok(&["create", "secret", "generic", "tok", "-n", "team", "--from-literal=t=x"]).await,
            "secret/tok created\n"
        );
        let t = rows(&k.ok(&["get", "deploy", "api", "-n", "team"]).await);
        assert_eq!(&t[1][..2], ["api", "0/3"]);
        let data = k.ok(&["get", "cm", "cfg", "-n", "team", "-o", "jsonpath={.data.b}"]).await;
        assert_eq!(data, "2");
    } else {
        k.ok_stdin(&["create", "-f", "-"], "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team\n").await;
    }
    assert_eq!(k.ok(&["run", "box", "-n", "team", "--image=busybox", "--labels=app=box"]).await, "pod/box created\n");
    let pod: Value = serde_json::from_str(&k.ok(&["get", "pod", "box", "-n", "team", "-o", "json"]).await).unwrap();
    assert_eq!(pod["spec"]["containers"][0]["image"], "busybox");
    assert_eq!(pod["metadata"]["labels"]["app"], "box");
    assert_eq!(pod["status"]["phase"], "Pending");
    let dup = k.run(&["run", "box", "-n", "team", "--image=busybox"]).await;
    assert_eq!(dup.code, 1);
    assert_eq!(dup.stderr, "Error from server (AlreadyExists): pods \"box\" already exists\n");
    let nons = k.run(&["run", "box", "-n", "nowhere", "--image=busybox"]).await;
    assert_eq!(nons.stderr, "Error from server (NotFound): namespaces \"nowhere\" not found\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imperative_oldest() {
    imperative(KUBECTL_OLDEST, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imperative_1_31() {
    imperative("/usr/lib/google-cloud-sdk/bin/kubectl.1.31", false).await;
}

/// kubectl 1.32+ sends protobuf bodies for these imperative creates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imperative_newest() {
    imperative(KUBECTL_NEWEST, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imperative_newest_from_manifests() {
    imperative(KUBECTL_NEWEST, true).await;
}

async fn modify(bin: &str) {
    let server = start().await;
    let k = Kubectl::new(bin, &server);
    k.ok_stdin(&["create", "-f", "-"], MANIFESTS).await;
    let ns = ["-n", "shop"];
    let run = |args: &[&str]| -> Vec<String> { args.iter().chain(ns.iter()).map(|s| s.to_string()).collect() };
    macro_rules! ok {
        ($($a:expr),*) => {{ let v = run(&[$($a),*]); let r: Vec<&str> = v.iter().map(String::as_str).collect(); k.ok(&r).await }};
    }
    assert_eq!(ok!("label", "cm", "settings", "env=prod"), "configmap/settings labeled\n");
    let annotate = ok!("annotate", "cm", "settings", "note=hello");
    assert!(annotate == "configmap/settings annotated\n" || annotate == "configmap/settings annotate\n", "{annotate}");
    assert_eq!(
        ok!("get", "cm", "settings", "-o", "jsonpath={.metadata.labels.env}/{.metadata.annotations.note}"),
        "prod/hello"
    );
    assert_eq!(ok!("label", "cm", "settings", "env-"), "configmap/settings unlabeled\n");

    assert_eq!(
        ok!("patch", "cm", "settings", "--type=merge", "-p", r#"{"data":{"size":"L"}}"#),
        "configmap/settings patched\n"
    );
    assert_eq!(
        ok!("patch", "cm", "settings", "--type=json", "-p", r#"[{"op":"replace","path":"/data/color","value":"red"}]"#),
        "configmap/settings patched\n"
    );
    assert_eq!(ok!("get", "cm", "settings", "-o", "jsonpath={.data.color},{.data.size}"), "red,L");
    assert_eq!(
        ok!("patch", "cm", "settings", "--type=merge", "-p", r#"{"data":{"size":"L"}}"#),
        "configmap/settings patched (no change)\n"
    );
    // Strategic merge: containers merge by name.
    assert_eq!(
        ok!(
            "patch",
            "deploy",
            "web",
            "-p",
            r#"{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"envoy"},{"name":"nginx","image":"nginx:1.28"}]}}}}"#
        ),
        "deployment.apps/web patched\n"
    );
    let images =
        ok!("get", "deploy", "web", "-o", "jsonpath={range .spec.template.spec.containers[*]}{.name}={.image} {end}");
    assert_eq!(images, "sidecar=envoy nginx=nginx:1.28 ");
    assert_eq!(ok!("get", "deploy", "web", "-o", "jsonpath={.metadata.generation}"), "2");

    assert_eq!(ok!("scale", "deploy", "web", "--replicas=5"), "deployment.apps/web scaled\n");
    assert_eq!(ok!("get", "deploy", "web", "-o", "jsonpath={.spec.replicas}/{.metadata.generation}"), "5/3");
    let cond = k.run(&["scale", "deploy", "web", "-n", "shop", "--replicas=1", "--current-replicas=4"]).await;
    assert_ne!(cond.code, 0, "precondition on current replicas fails");
    assert!(cond.stderr.contains("Expected replicas to be 4, was 5"), "{}", cond.stderr);

    // replace: from the current object, then with a stale resourceVersion (conflict).
    let current = ok!("get", "cm", "settings", "-o", "json");
    let mut obj: Value = serde_json::from_str(&current).unwrap();
    obj["data"]["color"] = "green".into();
    let out = k.ok_stdin(&["replace", "-f", "-"], &obj.to_string()).await;
    assert_eq!(out, "configmap/settings replaced\n");
    obj["data"]["color"] = "black".into();
    let stale = k.run_with(&["replace", "-f", "-"], Some(&obj.to_string())).await;
    assert_eq!(stale.code, 1);
    assert_eq!(
        stale.stderr,
        "Error from server (Conflict): error when replacing \"STDIN\": Operation cannot be fulfilled on configmaps \"settings\": the object has been modified; please apply your changes to the latest version and try again\n"
    );
    assert_eq!(ok!("get", "cm", "settings", "-o", "jsonpath={.data.color}"), "green");

    // Client-side apply: created, unchanged, configured.
    let applied = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\n  namespace: shop\ndata:\n  a: \"1\"\n";
    assert_eq!(k.ok_stdin(&["apply", "-f", "-"], applied).await, "configmap/applied created\n");
    assert_eq!(k.ok_stdin(&["apply", "-f", "-"], applied).await, "configmap/applied unchanged\n");
    let changed = applied.replace("a: \"1\"", "a: \"2\"");
    assert_eq!(k.ok_stdin(&["apply", "-f", "-"], &changed).await, "configmap/applied configured\n");
    assert_eq!(ok!("get", "cm", "applied", "-o", "jsonpath={.data.a}"), "2");

    // Deletes: configmap, pod (the deleted object comes back), namespace (Terminating, then gone).
    assert_eq!(ok!("delete", "cm", "applied"), "configmap \"applied\" deleted\n");
    assert_eq!(ok!("delete", "pod", "worker"), "pod \"worker\" deleted\n");
    let missing = k.run(&["get", "cm", "applied", "-n", "shop"]).await;
    assert_eq!(missing.code, 1);
    assert_eq!(missing.stderr, "Error from server (NotFound): configmaps \"applied\" not found\n");
    let missing = k.run(&["delete", "deploy", "nope", "-n", "shop"]).await;
    assert_eq!(missing.stderr, "Error from server (NotFound): deployments.apps \"nope\" not found\n");
    assert_eq!(k.ok(&["delete", "ns", "shop"]).await, "namespace \"shop\" deleted\n");
    let gone = k.run(&["get", "ns", "shop"]).await;
    assert_eq!(gone.stderr, "Error from server (NotFound): namespaces \"shop\" not found\n");
    // Newer kubectl explain a missing object by its missing namespace.
    let gone = k.run(&["get", "cm", "settings", "-n", "shop"]).await;
    assert!(
        gone.stderr == "Error from server (NotFound): configmaps \"settings\" not found\n"
            || gone.stderr == "Error from server (NotFound): namespaces \"shop\" not found\n",
        "{}",
        gone.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modify_oldest() {
    modify(KUBECTL_OLDEST).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modify_newest() {
    modify(KUBECTL_NEWEST).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modify_default() {
    modify(KUBECTL_DEFAULT).await;
}

async fn crd_lifecycle(bin: &str) {
    let server = start().await;
    let k = Kubectl::new(bin, &server);
    k.ok_stdin(&["create", "-f", "-"], "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n").await;
    k.ok_stdin(&["create", "-f", "-"], CRD).await;
    let res = rows(&k.ok(&["api-resources", "--api-group=example.com"]).await);
    assert_eq!(res[1], ["gadgets", "gd", "example.com/v1", "true", "Gadget"]);
    k.ok_stdin(&["apply", "-f", "-"], GADGET).await;
    let patched = k.ok(&["patch", "gadget", "g1", "-n", "shop", "--type=merge", "-p", r#"{"spec":{"size":4}}"#]).await;
    assert_eq!(patched, "gadget.example.com/g1 patched\n");
    let smp = k.run(&["patch", "gadget", "g1", "-n", "shop", "-p", r#"{"spec":{"size":5}}"#]).await;
    assert_ne!(smp.code, 0, "strategic merge is refused for custom resources");
    assert!(
        smp.stderr.contains("the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"),
        "{}",
        smp.stderr
    );
    assert_eq!(
        k.ok(&["delete", "crd", "gadgets.example.com"]).await,
        "customresourcedefinition.apiextensions.k8s.io \"gadgets.example.com\" deleted\n"
    );
    let gone = k.run(&["get", "gadgets", "-n", "shop"]).await;
    assert_ne!(gone.code, 0);
    // With its discovery cache still fresh kubectl asks for the list and gets a 404.
    assert!(
        gone.stderr.contains("the server doesn't have a resource type \"gadgets\"")
            || gone.stderr
                == "Error from server (NotFound): Unable to list \"example.com/v1, Resource=gadgets\": the server could not find the requested resource\n",
        "{}",
        gone.stderr
    );
    let res = k.ok(&["api-resources", "--api-group=example.com", "--cached=false"]).await;
    assert_eq!(rows(&res).len(), 1, "only the header is left: {res}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crd_lifecycle_oldest() {
    crd_lifecycle(KUBECTL_OLDEST).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crd_lifecycle_newest() {
    crd_lifecycle(KUBECTL_NEWEST).await;
}

async fn watch(bin: &str) {
    let server = start().await;
    let k = Kubectl::new(bin, &server);
    k.ok_stdin(&["create", "-f", "-"], &common::configmap("default", "before", serde_json::json!({})).to_string())
        .await;
    let mut child = k.spawn(&["get", "cm", "-n", "default", "-w", "--output-watch-events"]);
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut next = async || {
        let line = tokio::time::timeout(std::time::Duration::from_secs(10), lines.next_line())
            .await
            .expect("kubectl -w printed a line in time")
            .unwrap()
            .expect("kubectl -w still running");
        line.split_whitespace().map(String::from).collect::<Vec<_>>()
    };
    assert_eq!(next().await, ["EVENT", "NAME", "DATA", "AGE"]);
    assert_eq!(next().await[..2], ["ADDED", "before"]);
    k.ok_stdin(&["create", "-f", "-"], &common::configmap("default", "during", serde_json::json!({})).to_string())
        .await;
    assert_eq!(next().await[..3], ["ADDED", "during", "1"]);
    k.ok(&["patch", "cm", "during", "--type=merge", "-p", r#"{"data":{"x":"y"}}"#]).await;
    assert_eq!(next().await[..3], ["MODIFIED", "during", "2"]);
    k.ok(&["delete", "cm", "during"]).await;
    assert_eq!(next().await[..2], ["DELETED", "during"]);
    child.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_oldest() {
    watch(KUBECTL_OLDEST).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_newest() {
    watch(KUBECTL_NEWEST).await;
}

/// kubectl over TLS with the generated CA and a bearer token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_and_token() {
    let server = common::start_with(rkube_apiserver::ServerOptions {
        tls: true,
        token: Some("s3cret".into()),
        ..Default::default()
    })
    .await;
    assert!(server.url().starts_with("https://"));
    let k = Kubectl::new(KUBECTL_NEWEST, &server);
    let t = rows(&k.ok(&["get", "ns", "default"]).await);
    assert_eq!(&t[1][..2], ["default", "Active"]);
    let bad = k.run(&["get", "ns", "--token=wrong"]).await;
    assert_eq!(bad.code, 1);
    assert!(bad.stderr.contains("error: You must be logged in to the server (Unauthorized)"), "{}", bad.stderr);
}

/// A CRD with descriptions, for explain.
const DOCUMENTED_CRD: &str = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.explain.example.com
spec:
  group: explain.example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        description: Widget is a documented custom resource.
        type: object
        properties:
          spec:
            description: The widget's desired state.
            type: object
            required: [size]
            properties:
              size: {type: integer, description: How many parts the widget has.}
              color: {type: string, description: The widget's paint.}
"#;

/// The non-blank lines of explain's output: kubectl versions differ only in how many blank
/// lines their templates leave between sections.
fn text_lines(out: &str) -> Vec<&str> {
    out.lines().filter(|l| !l.trim().is_empty()).collect()
}

/// The field lines of one level of explain's FIELDS section: name, tab, type, markers.
fn field_lines(out: &str, indent: usize) -> Vec<&str> {
    let prefix = " ".repeat(indent);
    out.lines()
        .filter(|l| l.contains('\t') && l.starts_with(&prefix) && !l[indent..].starts_with(' '))
        .map(|l| &l[indent..])
        .collect()
}

async fn explain(bin: &str) {
    let server = start().await;
    let k = Kubectl::new(bin, &server);
    k.ok_stdin(&["create", "-f", "-"], DOCUMENTED_CRD).await;

    let pods = k.ok(&["explain", "pods"]).await;
    assert_eq!(
        text_lines(&pods)[..6],
        [
            "KIND:       Pod",
            "VERSION:    v1",
            "DESCRIPTION:",
            "    Pod is a collection of containers that can run on a host. This resource is",
            "    created by clients and scheduled onto hosts.",
            "FIELDS:",
        ],
        "{pods}"
    );
    assert_eq!(
        field_lines(&pods, 2),
        ["apiVersion\t<string>", "kind\t<string>", "metadata\t<ObjectMeta>", "spec\t<PodSpec>", "status\t<PodStatus>"],
        "{pods}"
    );
    assert!(
        pods.contains("  spec\t<PodSpec>\n    Specification of the desired behavior of the pod. More info:\n"),
        "{pods}"
    );

    let image = k.ok(&["explain", "pods.spec.containers.image"]).await;
    assert_eq!(
        text_lines(&image),
        [
            "KIND:       Pod",
            "VERSION:    v1",
            "FIELD: image <string>",
            "DESCRIPTION:",
            "    Container image name. More info:",
            "    https://kubernetes.io/docs/concepts/containers/images This field is optional",
            "    to allow higher level config management to default or override container",
            "    images in workload controllers like Deployments and StatefulSets.",
        ],
        "{image}"
    );

    let containers = k.ok(&["explain", "pods.spec.containers"]).await;
    assert_eq!(text_lines(&containers)[2], "FIELD: containers <[]Container>", "{containers}");
    let fields = field_lines(&containers, 2);
    for want in [
        "name\t<string> -required-",
        "image\t<string>",
        "env\t<[]EnvVar>",
        "ports\t<[]ContainerPort>",
        "resources\t<ResourceRequirements>",
        "livenessProbe\t<Probe>",
    ] {
        assert!(fields.contains(&want), "{want:?} missing from {fields:?}");
    }

    let replicas = k.ok(&["explain", "deployment.spec.replicas"]).await;
    assert_eq!(
        text_lines(&replicas),
        [
            "GROUP:      apps",
            "KIND:       Deployment",
            "VERSION:    v1",
            "FIELD: replicas <integer>",
            "DESCRIPTION:",
            "    Number of desired pods. This is a pointer to distinguish between explicit",
            "    zero and not specified. Defaults to 1.",
        ],
        "{replicas}"
    );

    let spec = k.ok(&["explain", "deployment.spec", "--recursive"]).await;
    assert_eq!(text_lines(&spec)[3], "FIELD: spec <DeploymentSpec>", "{spec}");
    assert_eq!(
        field_lines(&spec, 2),
        [
            "minReadySeconds\t<integer>",
            "paused\t<boolean>",
            "progressDeadlineSeconds\t<integer>",
            "replicas\t<integer>",
            "revisionHistoryLimit\t<integer>",
            "selector\t<LabelSelector> -required-",
            "strategy\t<DeploymentStrategy>",
            "template\t<PodTemplateSpec> -required-",
        ],
        "{spec}"
    );
    for want in [
        "      maxSurge\t<IntOrString>\n",
        "    spec\t<PodSpec>\n",
        "      containers\t<[]Container> -required-\n",
        "        image\t<string>\n",
        "      creationTimestamp\t<string>\n",
        "    matchLabels\t<map[string]string>\n",
    ] {
        assert!(spec.contains(want), "{want:?} missing from\n{spec}");
    }

    let widget = k.ok(&["explain", "widgets"]).await;
    assert_eq!(
        text_lines(&widget)[..5],
        [
            "GROUP:      explain.example.com",
            "KIND:       Widget",
            "VERSION:    v1",
            "DESCRIPTION:",
            "    Widget is a documented custom resource.",
        ],
        "{widget}"
    );
    assert_eq!(
        field_lines(&widget, 2),
        ["apiVersion\t<string>", "kind\t<string>", "metadata\t<ObjectMeta>", "spec\t<Object>"],
        "{widget}"
    );
    let size = k.ok(&["explain", "widget.spec.size"]).await;
    assert_eq!(
        text_lines(&size),
        [
            "GROUP:      explain.example.com",
            "KIND:       Widget",
            "VERSION:    v1",
            "FIELD: size <integer>",
            "DESCRIPTION:",
            "    How many parts the widget has.",
        ],
        "{size}"
    );
    let widget_spec = k.ok(&["explain", "widget.spec"]).await;
    assert_eq!(field_lines(&widget_spec, 2), ["color\t<string>", "size\t<integer> -required-"], "{widget_spec}");
    let name = k.ok(&["explain", "widget.metadata.name"]).await;
    assert_eq!(text_lines(&name)[3], "FIELD: name <string>", "{name}");

    let missing = k.run(&["explain", "pods.spec.nope"]).await;
    assert_ne!(missing.code, 0);
    assert!(missing.stderr.contains(r#"field "nope" does not exist"#), "{}", missing.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_oldest() {
    explain(KUBECTL_OLDEST).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_newest() {
    explain(KUBECTL_NEWEST).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_default() {
    explain(KUBECTL_DEFAULT).await;
}

/// The OpenAPI documents explain reads, over raw HTTP: kind schemas with their
/// group-version-kind, only the schemas a group-version reaches, v2 definitions with v2
/// refs, and custom resources with ObjectMeta.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_component_schemas() {
    let server = start().await;
    let http = common::Http::new(&server);
    let core = http.get("/openapi/v3/api/v1").await.expect(200).json();
    let schemas = &core["components"]["schemas"];
    let pod = &schemas["io.k8s.api.core.v1.Pod"];
    assert_eq!(
        pod["x-kubernetes-group-version-kind"],
        serde_json::json!([{"group": "", "kind": "Pod", "version": "v1"}])
    );
    assert_eq!(pod["properties"]["spec"]["allOf"][0]["$ref"], "#/components/schemas/io.k8s.api.core.v1.PodSpec");
    assert!(pod.get("required").is_none(), "metadata is not required: {pod}");
    assert_eq!(schemas["io.k8s.api.core.v1.PodSpec"]["required"], serde_json::json!(["containers"]));
    assert_eq!(schemas["io.k8s.api.core.v1.Container"]["properties"]["image"]["type"], "string");
    assert!(schemas.get("io.k8s.api.apps.v1.Deployment").is_none(), "only the core group's kinds");

    let apps = http.get("/openapi/v3/apis/apps/v1").await.expect(200).json();
    let apps = apps["components"]["schemas"].as_object().unwrap();
    assert!(apps.contains_key("io.k8s.api.core.v1.PodSpec"), "reached through the pod template");
    assert!(!apps.contains_key("io.k8s.api.core.v1.Pod"));
    // Every ref resolves within its own document.
    let text = serde_json::to_string(apps).unwrap();
    for r in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = &r[..r.find('"').unwrap()];
        assert!(apps.contains_key(name), "{name} is referenced but absent");
    }

    let v2 = http.get("/openapi/v2").await.expect(200).json();
    let pod = &v2["definitions"]["io.k8s.api.core.v1.Pod"];
    assert_eq!(pod["properties"]["spec"]["$ref"], "#/definitions/io.k8s.api.core.v1.PodSpec");
    assert_eq!(pod["x-kubernetes-group-version-kind"][0]["kind"], "Pod");
    assert!(!v2.to_string().contains("#/components/"));

    let index = http.get("/openapi/v3").await.expect(200).json();
    let before = index["paths"]["api/v1"]["serverRelativeURL"].as_str().unwrap().to_string();
    let crd: Value = serde_saphyr::from_str(DOCUMENTED_CRD).unwrap();
    http.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", &crd).await.expect(201);
    let index = http.get("/openapi/v3").await.expect(200).json();
    assert_eq!(index["paths"]["api/v1"]["serverRelativeURL"], before.as_str(), "core document unchanged");
    let url = index["paths"]["apis/explain.example.com/v1"]["serverRelativeURL"].as_str().unwrap();
    let doc = http.get(url).await.expect(200).json();
    let widget = &doc["components"]["schemas"]["com.example.explain.v1.Widget"];
    assert_eq!(widget["x-kubernetes-group-version-kind"][0]["kind"], "Widget");
    assert_eq!(
        widget["properties"]["metadata"]["allOf"][0]["$ref"],
        "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
    );
    assert!(doc["components"]["schemas"]["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"].is_object());
}

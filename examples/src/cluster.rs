//! Where the examples run: the cluster named by `--kubeconfig PATH` (and `--context NAME`),
//! or, with no flag, an embedded API server seeded with demo objects.

use rkube::apiserver::{ApiServer, ServerOptions};
use rkube::client::Client;
use rkube::client::config::{Config, KubeconfigOptions};
use serde_json::{Value, json};

/// A client, and the embedded server it talks to when no kubeconfig was given (keep it alive).
pub struct Target {
    /// The client.
    pub client: Client,
    /// The embedded server, when one was started.
    pub server: Option<ApiServer>,
}

/// The error type of the examples.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn flag(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
        .or_else(|| args.iter().find_map(|a| a.strip_prefix(&format!("{name}=")).map(str::to_string)))
}

/// Connects to `--kubeconfig PATH` if given, otherwise starts an embedded server seeded with
/// [`demo_seed`].
pub async fn connect() -> Result<Target, BoxError> {
    if let Some(path) = flag("--kubeconfig") {
        let opts =
            KubeconfigOptions { kubeconfig: Some(path.into()), context: flag("--context"), ..Default::default() };
        let client = Client::new(Config::from_kubeconfig(&opts)?)?;
        return Ok(Target { client, server: None });
    }
    let server = ApiServer::start(ServerOptions { seed: demo_seed(), ..ServerOptions::default() }).await?;
    eprintln!("(no --kubeconfig: using an embedded API server at {})", server.url());
    let config = Config::from_kubeconfig_str(&server.kubeconfig(), &KubeconfigOptions::default())?;
    Ok(Target { client: Client::new(config)?, server: Some(server) })
}

fn pod(name: &str, node: &str, app: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name, "namespace": "default", "labels": {"app": app}},
           "spec": {"nodeName": node, "containers": [{"name": app, "image": format!("registry.example/{app}:1.0")}]}})
}

/// A few nodes, pods, deployments, a daemonset, a CRD (`widgets.example.com`) and two of its
/// objects.
pub fn demo_seed() -> Vec<Value> {
    let mut seed = Vec::new();
    for n in ["node-a", "node-b", "node-c"] {
        seed.push(json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": n, "labels": {"kubernetes.io/hostname": n}}}));
    }
    for (i, node) in ["node-a", "node-a", "node-b", "node-c"].iter().enumerate() {
        seed.push(pod(&format!("web-{i}"), node, "web"));
    }
    seed.push(pod("db-0", "node-b", "db"));
    for (name, replicas) in [("web", 4), ("db", 1)] {
        seed.push(json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "default", "labels": {"app": name}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": name, "image": format!("registry.example/{name}:1.0")}]}}}}));
    }
    seed.push(json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "node-exporter", "namespace": "default"},
        "spec": {"selector": {"matchLabels": {"app": "node-exporter"}},
                 "template": {"metadata": {"labels": {"app": "node-exporter"}},
                              "spec": {"containers": [{"name": "exporter", "image": "prom/node-exporter"}]}}}}));
    seed.push(json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
                 "names": {"kind": "Widget", "plural": "widgets", "singular": "widget", "listKind": "WidgetList", "shortNames": ["wdg"]},
                 "versions": [{"name": "v1", "served": true, "storage": true,
                               "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}}));
    for (name, size) in [("small", 1), ("large", 10)] {
        seed.push(json!({"apiVersion": "example.com/v1", "kind": "Widget",
            "metadata": {"name": name, "namespace": "default"}, "spec": {"size": size}}));
    }
    seed
}

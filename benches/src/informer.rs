//! Shared pieces of the informer benchmarks (`informer-sync` and the `informer_compare`
//! bench): process memory readings, benchmark data (generated or loaded from a list file in
//! kube-apiserver's shape) and seeding an API server over HTTP.

use std::time::Instant;

use futures::StreamExt;
use rkube_client::Client;
use rkube_core::ApiResource;
use serde_json::Value;
use serde_json::value::RawValue;

/// One line of `/proc/self/status` in KiB (`VmRSS`, `VmHWM`); 0 when unavailable.
pub fn proc_status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Resident set size of this process in KiB (`VmRSS`).
pub fn rss_kb() -> u64 {
    proc_status_kb("VmRSS")
}

/// Peak resident set size of this process in KiB since start or the last
/// [`reset_peak_rss`] (`VmHWM`).
pub fn peak_rss_kb() -> u64 {
    proc_status_kb("VmHWM")
}

/// Resets the peak RSS (`VmHWM`) to the current RSS (Linux: `echo 5 > /proc/self/clear_refs`).
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

const POD_TEMPLATE: &str = include_str!("informer_pod.json");

const TEAMS: [&str; 10] = [
    "payments",
    "search",
    "checkout",
    "identity",
    "catalog",
    "ml-infra",
    "observability",
    "ingress",
    "data-pipeline",
    "notifications",
];
const ENVS: [&str; 5] = ["prod", "staging", "dev", "canary", "perf"];

/// The namespace of generated object `i` (50 namespaces, like `gen_lists.py`).
pub fn namespace_of(i: usize) -> String {
    format!("{}-{}", TEAMS[i % TEAMS.len()], ENVS[(i / TEAMS.len()) % ENVS.len()])
}

fn uid(i: usize, salt: u64) -> String {
    let x = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt;
    format!("{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}", x >> 32, (x >> 16) & 0xffff, x & 0xfff, (x >> 20) & 0xfff, x)
}

/// `n` generated pods of about 7 KB of JSON each (3.1 KB of it managedFields), with
/// `kind` and `apiVersion` set, spread over 50 namespaces: a realistic pod (taken from
/// `gen_lists.py`'s output) with a distinct name, uid, namespace and pod IP per copy.
pub fn generate_pods(n: usize) -> Vec<Value> {
    let template: Value = serde_json::from_str(POD_TEMPLATE).expect("embedded pod template is JSON");
    (0..n)
        .map(|i| {
            let mut pod = template.clone();
            pod["kind"] = "Pod".into();
            pod["apiVersion"] = "v1".into();
            let m = &mut pod["metadata"];
            m["name"] = format!("recommender-w2cqfkkq2p-{i:06}").into();
            m["namespace"] = namespace_of(i).into();
            m["uid"] = uid(i, 1).into();
            if let Some(meta) = m.as_object_mut() {
                meta.remove("resourceVersion");
            }
            pod["status"]["podIP"] = format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255).into();
            pod
        })
        .collect()
}

/// `n` generated ConfigMaps of about 1 KB each, with `kind` and `apiVersion` set.
pub fn generate_configmaps(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            let data: serde_json::Map<String, Value> = (0..8)
                .map(|k| (format!("key-{k}"), Value::from(format!("value-{i}-{k}-{}", "x".repeat(80)))))
                .collect();
            serde_json::json!({
                "kind": "ConfigMap",
                "apiVersion": "v1",
                "metadata": {
                    "name": format!("config-{i:06}"),
                    "namespace": namespace_of(i),
                    "labels": {"app": "bench", "shard": format!("{}", i % 16)},
                },
                "data": data,
            })
        })
        .collect()
}

/// A list file in kube-apiserver's shape (`{"kind":"PodList","items":[...]}`, items
/// without kind/apiVersion), kept as bytes with the items borrowed from them.
pub struct ListFile {
    /// The file's bytes.
    pub bytes: Vec<u8>,
}

#[derive(serde::Deserialize)]
struct RawList<'a> {
    kind: String,
    #[serde(rename = "apiVersion")]
    api_version: String,
    #[serde(borrow)]
    items: Vec<&'a RawValue>,
}

impl ListFile {
    /// Reads a list file.
    pub fn read(path: &std::path::Path) -> std::io::Result<Self> {
        Ok(Self { bytes: std::fs::read(path)? })
    }

    /// The item kind (`PodList` -> `Pod`), the list's apiVersion and each item's JSON with
    /// `kind` and `apiVersion` spliced in front (ready to POST).
    pub fn items_with_type(&self) -> serde_json::Result<(String, String, Vec<Vec<u8>>)> {
        let list: RawList<'_> = serde_json::from_slice(&self.bytes)?;
        let kind = list.kind.strip_suffix("List").unwrap_or(&list.kind).to_string();
        let prefix = format!("{{\"kind\":\"{kind}\",\"apiVersion\":\"{}\",", list.api_version);
        let items = list
            .items
            .iter()
            .map(|raw| {
                let body = raw.get().trim_start().strip_prefix('{').unwrap_or(raw.get());
                let mut out = Vec::with_capacity(prefix.len() + body.len());
                out.extend_from_slice(prefix.as_bytes());
                out.extend_from_slice(body.as_bytes());
                out
            })
            .collect();
        Ok((kind, list.api_version, items))
    }
}

/// The namespaces that `objects` (JSON bodies) live in, as Namespace objects to create first.
pub fn namespaces_for<'a>(namespaces: impl IntoIterator<Item = &'a str>) -> Vec<Value> {
    let set: std::collections::BTreeSet<&str> = namespaces.into_iter().collect();
    set.into_iter()
        .filter(|ns| !["default", "kube-system", "kube-public", "kube-node-lease"].contains(ns))
        .map(|ns| serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}))
        .collect()
}

/// Creates every body (a JSON object with kind and apiVersion) through the API with
/// `concurrency` requests in flight; returns the seconds taken. Namespaces are taken from
/// each body's `metadata.namespace` (created first when missing).
pub async fn seed_over_http(
    client: &Client,
    resource: &ApiResource,
    bodies: Vec<Vec<u8>>,
    concurrency: usize,
) -> Result<f64, rkube_client::Error> {
    #[derive(serde::Deserialize)]
    struct Meta {
        metadata: NsOnly,
    }
    #[derive(serde::Deserialize)]
    struct NsOnly {
        namespace: Option<String>,
    }
    let started = Instant::now();
    let namespaces: Vec<String> = bodies
        .iter()
        .filter_map(|b| serde_json::from_slice::<Meta>(b).ok()?.metadata.namespace)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let ns_resource = <k8s_openapi::api::core::v1::Namespace as rkube_core::Resource>::api_resource();
    for ns in namespaces_for(namespaces.iter().map(String::as_str)) {
        let r = client.post().resource(&ns_resource).json(&ns).send().await?;
        if !r.is_success() && r.status.as_u16() != 409 {
            r.error_for_status()?;
        }
    }
    let results = futures::stream::iter(bodies.into_iter().map(|body| {
        let ns = serde_json::from_slice::<Meta>(&body).ok().and_then(|m| m.metadata.namespace);
        let mut req = client.post().resource(resource).body(body, "application/json");
        if let Some(ns) = ns {
            req = req.namespace(ns);
        }
        async move { req.send_checked().await.map(|_| ()) }
    }))
    .buffer_unordered(concurrency.max(1));
    futures::pin_mut!(results);
    while let Some(r) = results.next().await {
        r?;
    }
    Ok(started.elapsed().as_secs_f64())
}

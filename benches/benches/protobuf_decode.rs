//! Decoding lists of realistic objects (with managedFields) into k8s-openapi types from
//! protobuf versus from JSON, on the same objects, with managedFields kept and skipped.
//!
//! ```text
//! cargo bench -p rkube-benches --bench protobuf_decode                       # 10,000 of each
//! RKUBE_BENCH_PODS_N=100000 RKUBE_BENCH_OBJECTS_N=100000 cargo bench -p rkube-benches --bench protobuf_decode
//! RKUBE_BENCH_PODS=/tmp/pods-100k.json cargo bench -p rkube-benches --bench protobuf_decode
//! RKUBE_BENCH_KINDS=pods cargo bench -p rkube-benches --bench protobuf_decode  # pods only
//! ```
//!
//! Pods and ConfigMaps come from `python3 shared/bench-data/gen_lists.py pods|configmaps N`
//! (seed 42); Secrets and Services are derived from the ConfigMaps (same metadata and
//! managedFields shape; Secret data as bytes; a ClusterIP Service spec selecting the
//! ConfigMap's labels). The protobuf list is the JSON list encoded by rkube-protobuf, i.e. what
//! the embedded server answers to `Accept: application/vnd.kubernetes.protobuf`.
//!
//! Variants, per kind: `json` (serde_json into `k8s_openapi::List<K>`), `json-strip`
//! (managedFields removed from the bytes by `rkube_core::strip`, then the same: what typed
//! informers do by default), `protobuf` (prost decode + generated conversion into the same
//! type), `protobuf-skip` (the same with managedFields skipped on the wire: what protobuf
//! informers do by default), and for pods `protobuf-prost-only` (prost decode into k8s-pb's
//! `PodList`, no conversion).

use std::path::PathBuf;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use k8s_openapi::api::core::v1::{ConfigMap, Pod, Secret, Service};
use prost::Message;
use rkube_protobuf::{DecodeOptions, HasProtobuf};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

fn gen_script() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    [
        root.join("../shared/bench-data/gen_lists.py"),
        root.join("shared/bench-data/gen_lists.py"),
        "/work/shared/bench-data/gen_lists.py".into(),
    ]
    .into_iter()
    .find(|p| p.exists())
    .expect("gen_lists.py (shared/bench-data) not found; set RKUBE_BENCH_PODS")
}

fn generate(kind: &str, n: usize) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("list.json");
    let status = std::process::Command::new("python3")
        .arg(gen_script())
        .args([kind, &n.to_string()])
        .arg(&out)
        .status()
        .expect("python3 runs");
    assert!(status.success(), "gen_lists.py failed");
    std::fs::read(&out).expect("generated list")
}

fn n_from(var: &str) -> usize {
    std::env::var(var).ok().and_then(|s| s.parse().ok()).unwrap_or(10_000)
}

fn pod_list_json() -> Vec<u8> {
    match std::env::var_os("RKUBE_BENCH_PODS") {
        Some(path) => std::fs::read(&path).expect("RKUBE_BENCH_PODS readable"),
        None => generate("pods", n_from("RKUBE_BENCH_PODS_N")),
    }
}

/// Rewrites a ConfigMap list into a list of another kind: `f` turns each item's JSON
/// (metadata and managedFields kept) into the new kind's.
fn derive_list(configmaps: &[u8], kind: &str, mut f: impl FnMut(&mut serde_json::Map<String, Value>)) -> Vec<u8> {
    let mut list: Value = serde_json::from_slice(configmaps).expect("configmap list");
    list["kind"] = json!(format!("{kind}List"));
    for item in list["items"].as_array_mut().expect("items") {
        f(item.as_object_mut().expect("object"));
    }
    serde_json::to_vec(&list).expect("encodes")
}

fn secrets_from(configmaps: &[u8]) -> Vec<u8> {
    use base64::Engine as _;
    derive_list(configmaps, "Secret", |item| {
        let data = item.remove("data").unwrap_or_else(|| json!({}));
        let data: serde_json::Map<String, Value> = data
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| {
                (k.clone(), json!(base64::engine::general_purpose::STANDARD.encode(v.as_str().unwrap_or(""))))
            })
            .collect();
        item.insert("data".into(), Value::Object(data));
        item.insert("type".into(), json!("Opaque"));
    })
}

fn services_from(configmaps: &[u8]) -> Vec<u8> {
    let mut i = 0u32;
    derive_list(configmaps, "Service", |item| {
        i += 1;
        item.remove("data");
        let labels = item["metadata"]["labels"].clone();
        let ip = format!("10.96.{}.{}", (i / 250) % 250, i % 250 + 1);
        if let Some(mf) = item["metadata"]["managedFields"].as_array_mut() {
            for entry in mf {
                entry["fieldsV1"]["f:spec"] = json!({"f:internalTrafficPolicy": {}, "f:ports": {".": {},
                    "k:{\"port\":80,\"protocol\":\"TCP\"}": {".": {}, "f:name": {}, "f:port": {}, "f:protocol": {},
                    "f:targetPort": {}}}, "f:selector": {}, "f:sessionAffinity": {}, "f:type": {}});
                entry["fieldsV1"].as_object_mut().map(|o| o.remove("f:data"));
            }
        }
        item.insert(
            "spec".into(),
            json!({"selector": labels, "ports": [{"name": "http", "protocol": "TCP", "port": 80, "targetPort": 8080}],
                "clusterIP": ip, "clusterIPs": [ip], "type": "ClusterIP", "sessionAffinity": "None",
                "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack", "internalTrafficPolicy": "Cluster"}),
        );
        item.insert("status".into(), json!({"loadBalancer": {}}));
    })
}

fn bench_kind<K>(c: &mut Criterion, name: &str, json: &[u8], prost_only: Option<fn(&[u8]) -> usize>)
where
    K: HasProtobuf + DeserializeOwned + k8s_openapi::ListableResource,
{
    let n = serde_json::from_slice::<k8s_openapi::List<K>>(json).expect("list").items.len();
    let pb = rkube_protobuf::from_json(json).expect("JSON list encodes as protobuf");
    eprintln!(
        "protobuf_decode: {n} {name}, JSON {:.1} MB ({} B/object), protobuf {:.1} MB ({} B/object)",
        json.len() as f64 / 1e6,
        json.len() / n.max(1),
        pb.len() as f64 / 1e6,
        pb.len() / n.max(1)
    );
    let mut g = c.benchmark_group(format!("decode_{name}_list"));
    g.throughput(Throughput::Elements(n as u64));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(if n > 20_000 { 30 } else { 10 }));
    g.bench_function("json", |b| {
        b.iter(|| serde_json::from_slice::<k8s_openapi::List<K>>(json).expect("decodes").items.len())
    });
    g.bench_function("json-strip", |b| {
        b.iter(|| {
            let stripped = rkube_core::strip::strip_managed_fields(json);
            serde_json::from_slice::<k8s_openapi::List<K>>(&stripped).expect("decodes").items.len()
        })
    });
    g.bench_function("protobuf", |b| b.iter(|| rkube_protobuf::decode_list::<K>(&pb).expect("decodes").1.len()));
    g.bench_function("protobuf-skip", |b| {
        b.iter(|| {
            rkube_protobuf::decode_list_with::<K>(&pb, DecodeOptions::skipping_managed_fields())
                .expect("decodes")
                .1
                .len()
        })
    });
    if let Some(prost_only) = prost_only {
        g.bench_function("protobuf-prost-only", |b| b.iter(|| prost_only(&pb)));
    }
    g.finish();
}

fn pod_prost_only(pb: &[u8]) -> usize {
    let env = rkube_protobuf::wire::decode_envelope_ref(pb).expect("envelope");
    k8s_pb::api::core::v1::PodList::decode(env.raw).expect("decodes").items.len()
}

fn bench(c: &mut Criterion) {
    let kinds = std::env::var("RKUBE_BENCH_KINDS").unwrap_or_else(|_| "pods,configmaps,secrets,services".into());
    let kinds: Vec<&str> = kinds.split(',').collect();
    if kinds.contains(&"pods") {
        bench_kind::<Pod>(c, "pod", &pod_list_json(), Some(pod_prost_only));
    }
    if kinds.iter().any(|k| ["configmaps", "secrets", "services"].contains(k)) {
        let configmaps = generate("configmaps", n_from("RKUBE_BENCH_OBJECTS_N"));
        if kinds.contains(&"configmaps") {
            bench_kind::<ConfigMap>(c, "configmap", &configmaps, None);
        }
        if kinds.contains(&"secrets") {
            bench_kind::<Secret>(c, "secret", &secrets_from(&configmaps), None);
        }
        if kinds.contains(&"services") {
            bench_kind::<Service>(c, "service", &services_from(&configmaps), None);
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);

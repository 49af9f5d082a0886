//! Decoding a list of realistic pods (with managedFields) into k8s-openapi `Pod`s from
//! protobuf versus from JSON, on the same objects.
//!
//! ```text
//! cargo bench -p rkube-benches --bench protobuf_decode                       # 10,000 pods
//! RKUBE_BENCH_PODS_N=100000 cargo bench -p rkube-benches --bench protobuf_decode
//! RKUBE_BENCH_PODS=/tmp/pods-100k.json cargo bench -p rkube-benches --bench protobuf_decode
//! ```
//!
//! Without `RKUBE_BENCH_PODS` the list is generated with
//! `python3 shared/bench-data/gen_lists.py pods N` (seed 42). The protobuf list is the JSON
//! list encoded by rkube-protobuf, i.e. what the embedded server answers to
//! `Accept: application/vnd.kubernetes.protobuf`. Variants: `json` (serde_json into
//! `k8s_openapi::List<Pod>`), `protobuf` (prost decode + generated conversion into the same
//! type), `protobuf-prost-only` (prost decode into k8s-pb's `PodList`, no conversion).

use std::path::PathBuf;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use k8s_openapi::api::core::v1::Pod;
use prost::Message;

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

fn pod_list_json() -> (Vec<u8>, usize) {
    if let Some(path) = std::env::var_os("RKUBE_BENCH_PODS") {
        let bytes = std::fs::read(&path).expect("RKUBE_BENCH_PODS readable");
        let n = serde_json::from_slice::<k8s_openapi::List<Pod>>(&bytes).expect("pod list").items.len();
        return (bytes, n);
    }
    let n: usize = std::env::var("RKUBE_BENCH_PODS_N").ok().and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("pods.json");
    let status = std::process::Command::new("python3")
        .arg(gen_script())
        .args(["pods", &n.to_string()])
        .arg(&out)
        .status()
        .expect("python3 runs");
    assert!(status.success(), "gen_lists.py failed");
    (std::fs::read(&out).expect("generated list"), n)
}

fn bench(c: &mut Criterion) {
    let (json, n) = pod_list_json();
    let pb = rkube_protobuf::from_json(&json).expect("JSON list encodes as protobuf");
    eprintln!(
        "protobuf_decode: {n} pods, JSON {:.1} MB ({} B/pod), protobuf {:.1} MB ({} B/pod)",
        json.len() as f64 / 1e6,
        json.len() / n,
        pb.len() as f64 / 1e6,
        pb.len() / n
    );
    let mut g = c.benchmark_group("decode_pod_list");
    g.throughput(Throughput::Elements(n as u64));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(if n > 20_000 { 30 } else { 10 }));
    g.bench_function("json", |b| {
        b.iter(|| serde_json::from_slice::<k8s_openapi::List<Pod>>(&json).expect("decodes").items.len())
    });
    g.bench_function("protobuf", |b| b.iter(|| rkube_protobuf::decode_list::<Pod>(&pb).expect("decodes").1.len()));
    g.bench_function("protobuf-prost-only", |b| {
        b.iter(|| {
            let env = rkube_protobuf::wire::decode_envelope(&pb).expect("envelope");
            k8s_pb::api::core::v1::PodList::decode(env.raw.as_slice()).expect("decodes").items.len()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

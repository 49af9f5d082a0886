//! The differential oracle: a scripted sequence of 63 API steps whose answers from a genuine
//! k8s.io/apiserver (v0.36.3) are recorded in `tests/oracle/golden-*.json`. The embedded
//! server must answer at least `RATCHET` steps identically; raise it as fidelity improves,
//! never lower it.

mod common;

/// Steps currently identical to the genuine server (a ratchet).
const RATCHET: u32 = 63;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oracle_steps_identical_to_kube_apiserver() {
    let server = common::start().await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig).unwrap();
    let oracle = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracle");
    let out = tokio::process::Command::new("python3")
        .arg(oracle.join("difftest.py"))
        .arg("compare")
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .arg("--golden")
        .arg(oracle.join("golden-k8s-apiserver-v0.36.3.json"))
        .arg("--create-namespace")
        .output()
        .await
        .expect("python3 runs the oracle");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stdout
        .lines()
        .find(|l| l.contains("steps identical"))
        .unwrap_or_else(|| panic!("no score line in the oracle's output:\n{stdout}\n{stderr}"));
    let score = line
        .split_whitespace()
        .find_map(|w| w.split_once('/').and_then(|(n, _)| n.parse::<u32>().ok()))
        .unwrap_or_else(|| panic!("cannot parse {line:?}"));
    println!("{stdout}");
    assert!(score >= RATCHET, "oracle score fell to {score} (ratchet {RATCHET}):\n{stdout}");
}

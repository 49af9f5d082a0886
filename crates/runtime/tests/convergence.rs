//! Convergence under faults: while writers create, update and delete objects, the embedded
//! server drops watch streams, answers 410, compacts its history, throttles with 429 and
//! restarts. Afterwards every informer store must equal a fresh list from the server (same
//! keys, same resourceVersions), and replaying each handler's events from empty must give
//! the same state: no missed delete, no stale object. A failing seed is printed.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::server_with;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rkube_apiserver::{InjectedError, ServerOptions};
use rkube_client::Api;
use rkube_core::options::WriteOptions;
use rkube_core::{DeleteOptions, ListOptions, Patch};
use rkube_runtime::backoff::Backoff;
use rkube_runtime::informer::{DeletedObject, EventHandler};
use rkube_runtime::{InformerFactory, InformerOptions, Scope, SharedInformer};
use serde_json::json;

/// Replays handler events into name -> resourceVersion.
#[derive(Clone, Default)]
struct Replay(Arc<Mutex<BTreeMap<String, String>>>);

impl EventHandler<ConfigMap> for Replay {
    fn on_add(&self, obj: &Arc<ConfigMap>, _: bool) {
        self.0.lock().unwrap().insert(name(obj), rv(obj));
    }

    fn on_update(&self, _: &Arc<ConfigMap>, new: &Arc<ConfigMap>) {
        self.0.lock().unwrap().insert(name(new), rv(new));
    }

    fn on_delete(&self, obj: &DeletedObject<ConfigMap>) {
        self.0.lock().unwrap().remove(&name(obj.object()));
    }
}

fn name(o: &ConfigMap) -> String {
    o.metadata.name.clone().unwrap_or_default()
}

fn rv(o: &ConfigMap) -> String {
    o.metadata.resource_version.clone().unwrap_or_default()
}

fn cm(name: &str, value: u64) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta { name: Some(name.into()), ..Default::default() },
        data: Some([("v".to_string(), value.to_string())].into()),
        ..Default::default()
    }
}

async fn run_seed(seed: u64) {
    let opts = ServerOptions { event_window: 40, fault_seed: seed, ..ServerOptions::default() };
    let (server, client) = server_with(opts).await;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let factory = InformerFactory::new(client.clone());
    let mut informers: Vec<(SharedInformer<ConfigMap>, Replay)> = Vec::new();
    for watch_list in [true, false] {
        let mut o = InformerOptions::default();
        o.reflector.use_watch_list = watch_list;
        o.reflector.page_size = 7;
        o.reflector.backoff =
            Backoff::new(Duration::from_millis(5), Duration::from_millis(100), Duration::from_secs(120));
        // Distinct scopes so the factory builds two informers.
        let scope = if watch_list {
            Scope::namespace("default")
        } else {
            Scope::namespace("default").fields("metadata.namespace=default")
        };
        let inf = factory.typed_with::<ConfigMap>(scope, o);
        let replay = Replay::default();
        inf.add_handler(replay.clone(), None);
        informers.push((inf, replay));
    }
    factory.start();
    assert!(factory.wait_for_cache_sync(Duration::from_secs(10)).await, "seed {seed}: initial sync");

    let mut rng = StdRng::seed_from_u64(seed);
    let w = WriteOptions::default();
    for step in 0..250u64 {
        let n = format!("cm-{}", rng.random_range(0..20));
        match rng.random_range(0..10) {
            0..=3 => {
                let _ = api.create(&w, &cm(&n, step)).await;
            }
            4..=6 => {
                let _ = api.patch(&n, &w, &Patch::Merge(json!({"data": {"v": step.to_string()}}))).await;
            }
            _ => {
                let _ = api.delete(&n, &DeleteOptions::default()).await;
            }
        }
        match rng.random_range(0..40) {
            0 => server.restart(),
            1 => {
                server.compact();
            }
            2 => server.faults().set_watch_gone_probability(0.5),
            3 => server.faults().set_close_watch_after(Some(rng.random_range(1..5))),
            4 => server.faults().set_error_rate(0.3, InjectedError { code: 429, retry_after: Some(0) }),
            5 => server.faults().set_close_watch_probability(0.2),
            6 | 7 => server.faults().clear(),
            _ => {}
        }
        if step % 25 == 0 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    server.faults().clear();

    let listed =
        api.list(&ListOptions::default()).await.unwrap_or_else(|e| panic!("seed {seed}: final list failed: {e}"));
    let truth: BTreeMap<String, String> = listed.items.iter().map(|c| (name(c), rv(c))).collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    for (i, (inf, replay)) in informers.iter().enumerate() {
        loop {
            let store: BTreeMap<String, String> = inf.store().list().iter().map(|c| (name(c), rv(c))).collect();
            let replayed = replay.0.lock().unwrap().clone();
            if store == truth && replayed == truth {
                break;
            }
            if tokio::time::Instant::now() > deadline {
                panic!(
                    "seed {seed}, informer {i}: did not converge.\nserver: {truth:?}\nstore: {store:?}\nreplay: {replayed:?}\nreflector: {:?}",
                    inf.reflector_state()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    factory.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn informers_converge_under_faults() {
    let seeds: Vec<u64> = match std::env::var("RKUBE_CONVERGENCE_SEED") {
        Ok(s) => vec![s.parse().expect("RKUBE_CONVERGENCE_SEED is a number")],
        Err(_) => (1..=12).collect(),
    };
    for seed in seeds {
        eprintln!("convergence seed {seed} (replay with RKUBE_CONVERGENCE_SEED={seed})");
        run_seed(seed).await;
    }
}

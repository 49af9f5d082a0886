//! The demo behind README's main command: starts the embedded API server and runs a small
//! controller against it with rkube's own client, informers and work queue — the pattern
//! of client-go's sample-controller — printing what happens.
//!
//! The controller watches Deployments in namespace `demo` and keeps, for each, a ConfigMap
//! `<name>-summary` holding its image and replica count, owned by the Deployment (so the
//! server's garbage collector removes it with its owner).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{ConfigMap, Container, Namespace, PodSpec, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use rkube_apiserver::ApiServer;
use rkube_client::config::{Config, KubeconfigOptions};
use rkube_client::{Api, Client};
use rkube_core::meta_ext::owner_reference;
use rkube_core::options::WriteOptions;
use rkube_core::{DeleteOptions, ObjectKey, Patch};
use rkube_runtime::workqueue::WorkQueue;
use rkube_runtime::{FnHandler, InformerFactory, Lister, Scope, SharedInformer};
use serde_json::json;

type DemoResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const NS: &str = "demo";

/// Runs the demo; with `serve` the server keeps running afterwards.
pub async fn run(serve: bool) -> Result<(), Box<dyn std::error::Error>> {
    let server = ApiServer::start_default().await?;
    let kubeconfig = std::env::temp_dir().join(format!("rkube-demo-{}.kubeconfig", std::process::id()));
    server.write_kubeconfig(&kubeconfig)?;
    println!("embedded API server at {}", server.url());
    println!("kubeconfig: {}", kubeconfig.display());
    let mut config = Config::from_kubeconfig_str(&server.kubeconfig(), &KubeconfigOptions::default())?;
    config.qps = 50.0;
    config.burst = 100;
    let client = Client::new(config)?;
    scenario(client).await.map_err(|e| e.to_string())?;
    if serve {
        println!("\nserving until Ctrl-C; try: kubectl --kubeconfig {} get deploy,cm -n {NS}", kubeconfig.display());
        crate::wait_for_signal().await;
    }
    server.shutdown().await;
    Ok(())
}

fn deployment(name: &str, image: &str, replicas: i32) -> Deployment {
    let labels: BTreeMap<String, String> = [("app".to_string(), name.to_string())].into();
    Deployment {
        metadata: ObjectMeta { name: Some(name.into()), labels: Some(labels.clone()), ..Default::default() },
        spec: DeploymentSpec {
            replicas: Some(replicas),
            selector: LabelSelector { match_labels: Some(labels.clone()), ..Default::default() },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta { labels: Some(labels), ..Default::default() }),
                spec: Some(PodSpec {
                    containers: vec![Container { name: name.into(), image: Some(image.into()), ..Default::default() }],
                    ..Default::default()
                }),
            },
            ..Default::default()
        },
        ..Default::default()
    }
}

async fn scenario(client: Client) -> DemoResult<()> {
    let w = WriteOptions::default();
    Api::<Namespace>::cluster(client.clone())
        .create(
            &w,
            &Namespace { metadata: ObjectMeta { name: Some(NS.into()), ..Default::default() }, ..Default::default() },
        )
        .await?;
    println!("\n1. created namespace {NS}; starting informers for Deployments and ConfigMaps");

    let factory = InformerFactory::new(client.clone());
    let deployments: SharedInformer<Deployment> = factory.typed(Scope::namespace(NS));
    let configmaps: SharedInformer<ConfigMap> = factory.typed(Scope::namespace(NS));
    let queue: WorkQueue<ObjectKey> = WorkQueue::builder().name("demo").build();
    let enqueue = |q: WorkQueue<ObjectKey>| {
        move |d: &Arc<Deployment>| q.add(ObjectKey::namespaced(NS, d.metadata.name.clone().unwrap_or_default()))
    };
    let (on_add, on_update) = (enqueue(queue.clone()), enqueue(queue.clone()));
    deployments.add_handler(
        FnHandler::default().on_add(move |d, _| on_add(d)).on_update(move |_, d| on_update(d)).on_delete(|d| {
            println!("   informer: deployment {} deleted", d.object().metadata.name.as_deref().unwrap_or(""))
        }),
        None,
    );
    configmaps.add_handler(
        FnHandler::default()
            .on_add(|c: &Arc<ConfigMap>, _| {
                println!("   informer: configmap {} added", c.metadata.name.as_deref().unwrap_or(""))
            })
            .on_delete(|c| {
                println!("   informer: configmap {} deleted", c.object().metadata.name.as_deref().unwrap_or(""))
            }),
        None,
    );
    factory.start();
    if !factory.wait_for_cache_sync(Duration::from_secs(10)).await {
        return Err("caches did not sync".into());
    }
    let workers: Vec<_> = (0..2)
        .map(|_| tokio::spawn(worker(queue.clone(), deployments.lister(), Api::namespaced(client.clone(), NS))))
        .collect();

    let deploys: Api<Deployment> = Api::namespaced(client.clone(), NS);
    println!("\n2. creating deployments web (nginx:1.27, 2 replicas) and api (ghcr.io/demo/api:1.0, 1 replica)");
    deploys.create(&w, &deployment("web", "nginx:1.27", 2)).await?;
    deploys.create(&w, &deployment("api", "ghcr.io/demo/api:1.0", 1)).await?;
    wait_summary(&configmaps, "web-summary", "2").await?;
    wait_summary(&configmaps, "api-summary", "1").await?;

    println!("\n3. scaling web to 5 through the scale subresource");
    deploys.patch_scale("web", &w, &Patch::Merge(json!({"spec": {"replicas": 5}}))).await?;
    wait_summary(&configmaps, "web-summary", "5").await?;

    println!("\n4. deleting deployment api; the server's garbage collector removes api-summary");
    deploys.delete("api", &DeleteOptions::background()).await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while configmaps.lister().namespaced(NS).get("api-summary").is_some() {
        if tokio::time::Instant::now() > deadline {
            return Err("api-summary was not garbage-collected".into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    println!("\n5. final state from the informer caches:");
    for cm in configmaps.lister().namespaced(NS).list(&Default::default()) {
        println!(
            "   configmap {:<12} {:?}",
            cm.metadata.name.as_deref().unwrap_or(""),
            cm.data.clone().unwrap_or_default()
        );
    }
    queue.shut_down_with_drain().await;
    for w in workers {
        let _ = w.await;
    }
    factory.shutdown();
    println!("\ndemo complete");
    Ok(())
}

async fn wait_summary(configmaps: &SharedInformer<ConfigMap>, name: &str, replicas: &str) -> DemoResult<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let current = configmaps.lister().namespaced(NS).get(name);
        if current.as_ref().and_then(|c| c.data.as_ref()).and_then(|d| d.get("replicas")).is_some_and(|r| r == replicas)
        {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            return Err(format!("{name} did not reach replicas={replicas}").into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Pops keys and reconciles them; failures are retried with the queue's rate limiter.
async fn worker(queue: WorkQueue<ObjectKey>, deployments: Lister<Deployment>, configmaps: Api<ConfigMap>) {
    while let Some(key) = queue.get().await {
        match reconcile(&key, &deployments, &configmaps).await {
            Ok(()) => queue.forget(&key),
            Err(e) => {
                println!("   reconcile {key} failed ({e}); retrying");
                queue.add_rate_limited(key.clone());
            }
        }
        queue.done(&key);
    }
}

/// Makes `<name>-summary` match the Deployment's image and replicas.
async fn reconcile(key: &ObjectKey, deployments: &Lister<Deployment>, configmaps: &Api<ConfigMap>) -> DemoResult<()> {
    let Some(d) = deployments.get(key) else { return Ok(()) };
    let replicas = d.spec.replicas.unwrap_or(1).to_string();
    let image = d
        .spec
        .template
        .spec
        .as_ref()
        .and_then(|p| p.containers.first())
        .and_then(|c| c.image.clone())
        .unwrap_or_default();
    let name = format!("{}-summary", key.name);
    let data: BTreeMap<String, String> =
        [("image".to_string(), image), ("replicas".to_string(), replicas.clone())].into();
    let owner = owner_reference(&*d, true).ok_or("deployment has no uid")?;
    let desired = ConfigMap {
        metadata: ObjectMeta { name: Some(name.clone()), owner_references: Some(vec![owner]), ..Default::default() },
        data: Some(data.clone()),
        ..Default::default()
    };
    match configmaps.get_opt(&name).await? {
        None => {
            configmaps.create(&WriteOptions::default(), &desired).await?;
            println!("   reconcile {key}: created {name} (replicas={replicas})");
        }
        Some(current) if current.data.as_ref() != Some(&data) => {
            configmaps.patch(&name, &WriteOptions::default(), &Patch::Merge(json!({"data": data}))).await?;
            println!("   reconcile {key}: updated {name} (replicas={replicas})");
        }
        Some(_) => {}
    }
    Ok(())
}

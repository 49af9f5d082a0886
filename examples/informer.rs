//! A pod informer: event handlers, an index by node name and lister queries.
//!
//! Runs against an embedded API server (no setup) or any cluster with `--kubeconfig PATH`.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use rkube::core::selector::LabelSelector;
use rkube::runtime::{FnHandler, InformerFactory, Scope, SharedInformer};
use rkube_examples::cluster::{BoxError, connect};

fn node_of(p: &Pod) -> Vec<String> {
    p.spec.as_ref().and_then(|s| s.node_name.clone()).into_iter().collect()
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let target = connect().await?;
    let factory = InformerFactory::new(target.client.clone());
    let pods: SharedInformer<Pod> = factory.typed(Scope::all());
    pods.add_indexer("node", node_of);
    pods.add_handler(
        FnHandler::default()
            .on_add(|p: &Arc<Pod>, initial| {
                let how = if initial { "listed" } else { "added" };
                println!(
                    "{how:>7} {}/{}",
                    p.metadata.namespace.as_deref().unwrap_or(""),
                    p.metadata.name.as_deref().unwrap_or("")
                );
            })
            .on_update(|_, p| println!("updated {}", p.metadata.name.as_deref().unwrap_or("")))
            .on_delete(|p| println!("deleted {}", p.object().metadata.name.as_deref().unwrap_or(""))),
        None,
    );
    factory.start();
    if !factory.wait_for_cache_sync(Duration::from_secs(30)).await {
        return Err("pod cache did not sync within 30 s".into());
    }

    let lister = pods.lister();
    println!("\npods per node (index \"node\"):");
    let mut nodes = pods.store().list_index_values("node")?;
    nodes.sort();
    for node in nodes {
        let mut names: Vec<String> =
            lister.by_index("node", &node)?.iter().filter_map(|p| p.metadata.name.clone()).collect();
        names.sort();
        println!("  {node}: {}", names.join(", "));
    }
    let web = LabelSelector::parse("app=web")?;
    println!("\npods matching app=web in default: {}", lister.namespaced("default").list(&web).len());
    println!("all pods cached: {}", pods.store().len());
    factory.shutdown();
    Ok(())
}

//! A dynamic informer over a custom resource (`widgets.example.com/v1` by default; pass
//! `--resource group/version/plural` and `--kind Kind` for another), with no generated types.

use std::sync::Arc;
use std::time::Duration;

use rkube::core::{ApiResource, DynamicObject, GroupVersionKind};
use rkube::runtime::{FnHandler, InformerFactory, Scope};
use rkube_examples::cluster::{BoxError, connect};

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let target = connect().await?;
    let gvr = arg("--resource").unwrap_or_else(|| "example.com/v1/widgets".into());
    let kind = arg("--kind").unwrap_or_else(|| "Widget".into());
    let parts: Vec<&str> = gvr.split('/').collect();
    let [group, version, plural] = parts[..] else {
        return Err(format!("--resource must be group/version/plural, got {gvr:?}").into());
    };
    let mut resource = ApiResource::from_gvk(&GroupVersionKind::new(group, version, &kind), true);
    resource.plural = plural.to_string();

    let factory = InformerFactory::new(target.client.clone());
    let informer = factory.dynamic(&resource, Scope::all());
    informer.add_handler(
        FnHandler::default().on_add(|o: &Arc<DynamicObject>, _| {
            let spec = o.data.get("spec").map(|s| s.to_string()).unwrap_or_default();
            println!(
                "{} {}/{} spec={spec}",
                o.types.kind,
                o.metadata.namespace.as_deref().unwrap_or(""),
                o.metadata.name.as_deref().unwrap_or("")
            );
        }),
        None,
    );
    factory.start();
    if !factory.wait_for_cache_sync(Duration::from_secs(30)).await {
        return Err(format!("{gvr} cache did not sync within 30 s").into());
    }
    println!("{} objects of {gvr} cached", informer.store().len());
    factory.shutdown();
    Ok(())
}

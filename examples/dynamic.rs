//! Lists pods through their group/version/resource with the dynamic client and converts them
//! to a typed PodList, then lists a custom resource's objects through its GVR.
//!
//! Runs against an embedded API server seeded with demo objects and a CRD (no setup), or any
//! cluster with `--kubeconfig PATH` (and `--context NAME`); `--resource GROUP/VERSION/RESOURCE`
//! picks the custom resource (default `example.com/v1/widgets`). Guide: docs/clients.md.

use rkube::core::GroupVersionResource;
use rkube_examples::clients::demo_crd_gvr;
use rkube_examples::cluster::{BoxError, connect};

fn custom_resource() -> Result<GroupVersionResource, BoxError> {
    let args: Vec<String> = std::env::args().collect();
    let Some(value) = args.iter().position(|a| a == "--resource").and_then(|i| args.get(i + 1)) else {
        return Ok(demo_crd_gvr());
    };
    match value.split('/').collect::<Vec<_>>()[..] {
        [group, version, resource] => Ok(GroupVersionResource::new(group, version, resource)),
        [version, resource] => Ok(GroupVersionResource::new("", version, resource)),
        _ => Err(format!("--resource {value:?}: expected GROUP/VERSION/RESOURCE").into()),
    }
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let custom = custom_resource()?;
    let target = connect().await?;
    print!("{}", rkube_examples::clients::dynamic(&target.client, &custom).await?);
    Ok(())
}

//! Lists pods, deployments and daemonsets in `default` (500 per page) with the typed ClientSet.
//!
//! Runs against an embedded API server seeded with demo objects (no setup), or any cluster
//! with `--kubeconfig PATH` (and `--context NAME`). Guide: docs/clients.md.

use rkube_examples::cluster::{BoxError, connect};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let target = connect().await?;
    print!("{}", rkube_examples::clients::clientset(&target.client).await?);
    Ok(())
}

//! Lists the nodes with the request builder (GET /api/v1/nodes?limit=100) and prints their names.
//!
//! Runs against an embedded API server seeded with demo objects (no setup), or any cluster
//! with `--kubeconfig PATH` (and `--context NAME`). Guide: docs/clients.md.

use rkube_examples::cluster::{BoxError, connect};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let target = connect().await?;
    print!("{}", rkube_examples::clients::restclient(&target.client).await?);
    Ok(())
}

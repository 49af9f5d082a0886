//! Prints the server version and the name, group and version of every resource it serves.
//!
//! Runs against an embedded API server seeded with demo objects (no setup), or any cluster
//! with `--kubeconfig PATH` (and `--context NAME`). Guide: docs/clients.md.

use rkube_examples::cluster::{BoxError, connect};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let target = connect().await?;
    print!("{}", rkube_examples::clients::discovery(&target.client).await?);
    Ok(())
}

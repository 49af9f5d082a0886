//! Syncs one informer over all namespaces and reports how long it took and what it holds.
//!
//! ```text
//! informer-sync --kubeconfig PATH --resource pods|configmaps|<group/version/resource>
//!               [--watch-seconds S] [--managed-fields keep|drop]
//! informer-sync --generate N [--resource pods|configmaps] ...   # embedded server, no setup
//! ```
//!
//! Prints one JSON line after the initial sync,
//! `{"objects": N, "sync_ms": ..., "rss_kb": ..., "rss_before_kb": ...}` (`rss_kb` is this
//! process's `VmRSS` after the sync, `rss_before_kb` the same just before the informer
//! started), and with `--watch-seconds S` a second line `{"events": N, "events_per_sec": ...}`
//! counting every add, update and delete the informer delivered during those seconds.
//!
//! With `--generate N` (and no `--kubeconfig`) it starts the embedded API server seeded with
//! N generated objects (pods of about 7 KB, or ConfigMaps of about 1 KB), writes a
//! kubeconfig to a temporary file and runs itself against it in a child process, so the
//! figures do not include the server's memory. `--managed-fields keep` sets
//! `InformerOptions::keep_managed_fields`; `drop` (and no flag) is the default of typed
//! informers, which skip managedFields while decoding (dynamic informers drop them with the
//! ready-made store transform).

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use rkube_benches::informer::{generate_configmaps, generate_pods, namespaces_for, rss_kb};
use rkube_client::config::KubeconfigOptions;
use rkube_client::{Api, Client, Config};
use rkube_core::{ApiResource, DynamicObject, Object, Resource};
use rkube_runtime::{FnHandler, InformerFactory, InformerOptions, Scope, SharedInformer};

/// What to do with managedFields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ManagedFields {
    /// Keep them (`InformerOptions::keep_managed_fields`).
    Keep,
    /// Drop them: the default of typed informers (skipped while decoding); dynamic
    /// informers drop them with the store transform.
    Drop,
}

/// Command-line options.
#[derive(Parser, Debug)]
#[command(name = "informer-sync", about = "Sync one informer and print JSON figures")]
struct Args {
    /// Kubeconfig to use (default: client-go's rules: $KUBECONFIG, ~/.kube/config).
    #[arg(long)]
    kubeconfig: Option<std::path::PathBuf>,
    /// `pods`, `configmaps` or `<group/version/resource>` (core group: `/v1/secrets` or `v1/secrets`).
    #[arg(long, default_value = "pods")]
    resource: String,
    /// After the sync, count delivered events for this many seconds.
    #[arg(long)]
    watch_seconds: Option<f64>,
    /// Keep or drop managedFields (default: the informer's default, which drops them).
    #[arg(long, value_enum)]
    managed_fields: Option<ManagedFields>,
    /// Start the embedded API server seeded with N generated objects of `--resource`
    /// (pods or configmaps) instead of using a kubeconfig.
    #[arg(long)]
    generate: Option<usize>,
    /// How long to wait for the sync before giving up, in seconds.
    #[arg(long, default_value_t = 600)]
    timeout: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let result = match (args.generate, &args.kubeconfig) {
        (Some(n), None) => rt.block_on(run_embedded(&args, n)),
        _ => rt.block_on(run(&args)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("informer-sync: {e}");
            ExitCode::FAILURE
        }
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Starts a seeded embedded server and runs this program against it in a child process.
async fn run_embedded(args: &Args, n: usize) -> Result<(), BoxError> {
    // `pods`, `configmaps`, or a group/version/resource naming either (`v1/pods`).
    let plural = args.resource.rsplit('/').next().unwrap_or_default();
    let objects = match plural {
        "pods" => generate_pods(n),
        "configmaps" => generate_configmaps(n),
        other => return Err(format!("--generate makes pods or configmaps, not {other}").into()),
    };
    let mut seed = namespaces_for(objects.iter().filter_map(|o| o.pointer("/metadata/namespace")?.as_str()));
    seed.extend(objects);
    let started = Instant::now();
    let server = rkube_apiserver::ApiServer::start(rkube_apiserver::ServerOptions {
        seed,
        event_window: 100_000,
        ..Default::default()
    })
    .await?;
    eprintln!(
        "informer-sync: embedded server at {} seeded with {n} {} in {:.1} s",
        server.url(),
        args.resource,
        started.elapsed().as_secs_f64()
    );
    let dir = std::env::temp_dir().join(format!("informer-sync-{}", std::process::id()));
    let kubeconfig = dir.join("kubeconfig");
    server.write_kubeconfig(&kubeconfig)?;
    let mut cmd = tokio::process::Command::new(std::env::current_exe()?);
    cmd.arg("--kubeconfig").arg(&kubeconfig).arg("--resource").arg(&args.resource);
    cmd.arg("--timeout").arg(args.timeout.to_string());
    if let Some(s) = args.watch_seconds {
        cmd.arg("--watch-seconds").arg(s.to_string());
    }
    if let Some(m) = args.managed_fields {
        cmd.arg("--managed-fields").arg(if m == ManagedFields::Drop { "drop" } else { "keep" });
    }
    let status = cmd.status().await?;
    let _ = std::fs::remove_dir_all(&dir);
    if !status.success() {
        return Err(format!("child exited with {status}").into());
    }
    Ok(())
}

async fn run(args: &Args) -> Result<(), BoxError> {
    let options = KubeconfigOptions { kubeconfig: args.kubeconfig.clone(), ..KubeconfigOptions::default() };
    let mut config = Config::from_kubeconfig(&options)?;
    // Measure the informer, not the client-side limiter (a sync is a handful of requests).
    config.qps = -1.0;
    let client = Client::new(config)?;
    match args.resource.as_str() {
        "pods" => typed::<Pod>(args, client).await,
        "configmaps" => typed::<ConfigMap>(args, client).await,
        gvr => {
            let resource = discover(&client, gvr).await?;
            let api: Api<DynamicObject> = Api::all_with(client, &resource);
            let informer = SharedInformer::new(Arc::new(api), options_for(args, true));
            measure(args, informer).await
        }
    }
}

fn options_for<K: Object>(args: &Args, dynamic: bool) -> InformerOptions<K> {
    let mut opts = InformerOptions::default();
    match args.managed_fields {
        Some(ManagedFields::Keep) => opts.keep_managed_fields = true,
        Some(ManagedFields::Drop) if dynamic => opts.transform = Some(rkube_runtime::store::drop_managed_fields()),
        _ => {}
    }
    opts
}

async fn typed<K: Resource>(args: &Args, client: Client) -> Result<(), BoxError> {
    let factory = InformerFactory::new(client);
    let informer = factory.typed_with::<K>(Scope::all(), options_for(args, false));
    let result = measure(args, informer).await;
    factory.shutdown();
    result
}

/// Finds `group/version/resource` through discovery.
async fn discover(client: &Client, gvr: &str) -> Result<ApiResource, BoxError> {
    let (gv, plural) = gvr.trim_start_matches('/').rsplit_once('/').ok_or("resource must be group/version/resource")?;
    let discovery = rkube_client::discovery::DiscoveryClient::new(client.clone());
    let list = discovery.server_resources_for_group_version(gv).await?;
    rkube_client::discovery::api_resources(&list)
        .into_iter()
        .find(|r| r.plural == plural)
        .ok_or_else(|| format!("the server has no resource {plural} in {gv}").into())
}

async fn measure<K: Object>(args: &Args, informer: SharedInformer<K>) -> Result<(), BoxError> {
    let events = Arc::new(AtomicU64::new(0));
    let counted = |e: &Arc<AtomicU64>| {
        let e = e.clone();
        move || {
            e.fetch_add(1, Ordering::Relaxed);
        }
    };
    let (add, update, delete) = (counted(&events), counted(&events), counted(&events));
    let _registration = informer.add_handler(
        FnHandler::default()
            .on_add(move |_, initial| {
                if !initial {
                    add()
                }
            })
            .on_update(move |_, _| update())
            .on_delete(move |_| delete()),
        None,
    );
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let rss_before = rss_kb();
    let started = Instant::now();
    informer.start(stop_rx);
    if !informer.wait_for_sync(Duration::from_secs(args.timeout)).await {
        return Err(format!("the informer did not sync within {} s", args.timeout).into());
    }
    let sync_ms = started.elapsed().as_secs_f64() * 1000.0;
    let objects = informer.store().len();
    let line = serde_json::json!({
        "objects": objects,
        "sync_ms": (sync_ms * 10.0).round() / 10.0,
        "rss_kb": rss_kb(),
        "rss_before_kb": rss_before,
    });
    println!("{line}");
    if let Some(secs) = args.watch_seconds {
        let before = events.load(Ordering::Relaxed);
        tokio::time::sleep(Duration::from_secs_f64(secs)).await;
        let n = events.load(Ordering::Relaxed) - before;
        let rate = if secs > 0.0 { n as f64 / secs } else { 0.0 };
        println!("{}", serde_json::json!({"events": n, "events_per_sec": (rate * 10.0).round() / 10.0}));
    }
    let _ = stop_tx.send(true);
    Ok(())
}

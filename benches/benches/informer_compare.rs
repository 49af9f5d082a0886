//! Informers side by side: rkube and kube-rs against the same embedded API server and the
//! same data, each client in its own process so its memory is attributable, plus the raw
//! decode floors on the same bytes.
//!
//! ```text
//! python3 ../shared/bench-data/gen_lists.py pods 100000 /tmp/pods-100k.json
//! python3 ../shared/bench-data/gen_lists.py pods 100000 /tmp/pods-100k-nomf.json --no-managed-fields
//! cargo bench -p rkube-benches --bench informer_compare -- \
//!     --data /tmp/pods-100k.json --data-nomf /tmp/pods-100k-nomf.json [--events 200000] \
//!     [--variants floors,rkube,rkube-keep,rkube-transform,rkube-list,rkube-pb,rkube-pb-keep,kube,kube-drop] \
//!     [--concurrency 16] [--no-relist] [--warm-mb 4096]
//! cargo bench -p rkube-benches --bench informer_compare -- --generate 5000   # no data file
//! ```
//!
//! The driver (this program without a mode argument) starts the embedded API server in its
//! own process, creates every pod of the list through the API (`kind`/`apiVersion` added,
//! namespaces created first), then runs each variant as a child process (this program with
//! `child <rkube|rkube-pb|kube> <mode> <kubeconfig>`), talking to it over stdin/stdout lines:
//!
//! 1. sync: the child starts one pod informer over all namespaces and reports the time to
//!    the synced store and `VmRSS` before the start, at the sync and 2 s later;
//! 2. watch: the driver stops the child (SIGSTOP), writes `--events` merge patches (one
//!    annotation, round-robin over the pods, `--concurrency` in flight), continues the
//!    child (SIGCONT) and the child reports how fast the MODIFIED events reached its store
//!    (first to last event). While it was stopped the server dropped its watch (a lagging
//!    watcher is closed); the client re-watches from its last resourceVersion and the server
//!    replays the events from its event window, so the rate is the client's, not the
//!    writer's;
//! 3. relist: the child resets its peak RSS (`VmHWM`), the driver makes new watches fail
//!    with 410 and restarts the server (every watch closed), clears the fault once the child
//!    reports that it is relisting, and the child reports its peak RSS during the relist
//!    relative to the steady state before it.
//!
//! Variants: `rkube` (default informer: managedFields skipped while decoding), `rkube-keep`
//! (`keep_managed_fields`), `rkube-transform` (kept while decoding, dropped by the store
//! transform), `rkube-pb` / `rkube-pb-keep` (the same two over protobuf:
//! `InformerFactory::protobuf`, lists and watches in `application/vnd.kubernetes.protobuf`;
//! the embedded server transcodes every object it sends from JSON, so it works harder than
//! for JSON), `kube` (kube-rs's reflector + watcher with defaults), `kube-drop` (kube-rs
//! with managedFields cleared in `.modify()` before the store), `rkube-list` (the default
//! informer with the watch-list stream turned off: the initial sync through paginated lists).
//!
//! Floors (`floor <ignored|pod|pod-strip|pod-exact> FILE`): serde_json's parse-only pass
//! (`IgnoredAny`), a one-thread decode into k8s-openapi `Pod`s of the same bytes, the same
//! after removing managedFields from the bytes (`rkube_core::strip`), and (`--data-nomf`) a
//! decode of the list generated without managedFields, plain and with exactly sized `Vec`s
//! (`rkube_core::exact_json`, as rkube's informers decode), each with the RSS the decoded
//! list holds.
//!
//! Before each floor and each variant the driver touches and frees `--warm-mb` MiB (4096;
//! 0: off), so every measured process meets the same memory state: this VM's host takes
//! back freed guest pages, and a page touched for the first time since costs 5x more.
//!
//! Every result is printed as one JSON line (and appended to `--out FILE` if given).

use std::io::Write as _;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use rkube_benches::informer::{ListFile, generate_pods, peak_rss_kb, reset_peak_rss, rss_kb, seed_over_http};
use rkube_client::config::KubeconfigOptions;
use rkube_core::Resource as _;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() {
    // `cargo bench` passes `--bench`; drop it.
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let result = match args.first().map(String::as_str) {
        Some("child") => rt.block_on(child(&args[1..])),
        Some("floor") => floor(&args[1..]),
        _ => rt.block_on(driver(&args)),
    };
    if let Err(e) = result {
        eprintln!("informer_compare: {e}");
        std::process::exit(1);
    }
}

/// CPU time this process has used (user + system, all threads), in milliseconds, from
/// `/proc/self/stat` (clock ticks, assumed 100 per second as on every Linux we run on).
fn cpu_ms() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after `)`.
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    (ticks(11) + ticks(12)) * 10
}

fn emit(line: &Value) {
    println!("{line}");
    let _ = std::io::stdout().flush();
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

// ---------------------------------------------------------------------------------------
// Driver
// ---------------------------------------------------------------------------------------

struct Options {
    data: Option<String>,
    data_nomf: Option<String>,
    generate: usize,
    events: u64,
    variants: Vec<String>,
    concurrency: usize,
    relist: bool,
    out: Option<String>,
    warm_mb: usize,
}

fn parse_options(args: &[String]) -> Result<Options, BoxError> {
    let mut o = Options {
        data: None,
        data_nomf: None,
        generate: 5_000,
        events: 200_000,
        variants: ["floors", "rkube", "rkube-keep", "kube", "kube-drop"].map(String::from).to_vec(),
        concurrency: 16,
        relist: true,
        out: None,
        warm_mb: 4096,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().cloned().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--data" => o.data = Some(value()?),
            "--data-nomf" => o.data_nomf = Some(value()?),
            "--generate" => o.generate = value()?.parse()?,
            "--events" => o.events = value()?.parse()?,
            "--variants" => o.variants = value()?.split(',').map(String::from).collect(),
            "--concurrency" => o.concurrency = value()?.parse()?,
            "--no-relist" => o.relist = false,
            "--out" => o.out = Some(value()?),
            "--warm-mb" => o.warm_mb = value()?.parse()?,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    Ok(o)
}

struct Recorder {
    out: Option<Mutex<std::fs::File>>,
}

impl Recorder {
    fn record(&self, line: Value) {
        emit(&line);
        if let Some(f) = &self.out {
            let mut f = f.lock().unwrap_or_else(|p| p.into_inner());
            let _ = writeln!(f, "{line}");
        }
    }
}

async fn driver(args: &[String]) -> Result<(), BoxError> {
    let opts = parse_options(args)?;
    let rec = Recorder {
        out: match &opts.out {
            Some(p) => Some(Mutex::new(std::fs::OpenOptions::new().create(true).append(true).open(p)?)),
            None => None,
        },
    };
    let exe = std::env::current_exe()?;
    rec.record(json!({"machine": machine()}));

    // Floors first, while the machine is quiet (no server in memory).
    if opts.variants.iter().any(|v| v == "floors") {
        if let Some(data) = &opts.data {
            for (mode, file) in [("ignored", data), ("pod", data), ("pod-strip", data)] {
                warm_memory(opts.warm_mb).await;
                rec.record(run_floor(&exe, mode, file).await?);
            }
            if let Some(nomf) = &opts.data_nomf {
                for mode in ["pod", "pod-exact"] {
                    warm_memory(opts.warm_mb).await;
                    rec.record(run_floor(&exe, mode, nomf).await?);
                }
            }
        } else {
            eprintln!("floors need --data FILE; skipped");
        }
    }
    let clients: Vec<&String> = opts.variants.iter().filter(|v| *v != "floors").collect();
    if clients.is_empty() {
        return Ok(());
    }

    // The data, as JSON bodies ready to POST.
    let bodies: Vec<Vec<u8>> = match &opts.data {
        Some(path) => ListFile::read(std::path::Path::new(path))?.items_with_type()?.2,
        None => generate_pods(opts.generate).iter().map(|p| serde_json::to_vec(p).unwrap_or_default()).collect(),
    };
    let total_bytes: usize = bodies.iter().map(Vec::len).sum();
    let keys: Vec<(String, String)> = bodies.iter().filter_map(|b| name_of(b)).collect();
    let count = bodies.len();

    let server = rkube_apiserver::ApiServer::start(rkube_apiserver::ServerOptions {
        // Room for the creates and one variant's patches, so a watcher that fell behind can
        // catch up from the window instead of relisting.
        event_window: (opts.events as usize + count + 10_000).max(10_000),
        ..Default::default()
    })
    .await?;
    let dir = std::env::temp_dir().join(format!("informer-compare-{}", std::process::id()));
    let kubeconfig = dir.join("kubeconfig");
    server.write_kubeconfig(&kubeconfig)?;
    let mut config = rkube_client::Config::from_kubeconfig(&KubeconfigOptions {
        kubeconfig: Some(kubeconfig.clone()),
        ..KubeconfigOptions::default()
    })?;
    config.qps = -1.0;
    let client = rkube_client::Client::new(config)?;
    let pods = Pod::api_resource();
    let seed_secs = seed_over_http(&client, &pods, bodies, opts.concurrency).await?;
    rec.record(json!({
        "seed": {"objects": count, "bytes": total_bytes, "avg_bytes": total_bytes / count.max(1),
                 "secs": round1(seed_secs), "per_sec": round1(count as f64 / seed_secs),
                 "via": "POST", "concurrency": opts.concurrency}
    }));
    // Forget the creates: the window now holds only what the variants write.
    server.set_event_window(1);
    server.set_event_window(opts.events as usize + 10_000);

    let keys = Arc::new(keys);
    for variant in clients {
        let (which, mf) = match variant.as_str() {
            "rkube" => ("rkube", "default"),
            "rkube-keep" => ("rkube", "keep"),
            "rkube-transform" => ("rkube", "transform"),
            "rkube-pb" => ("rkube-pb", "default"),
            "rkube-pb-keep" => ("rkube-pb", "keep"),
            "rkube-list" => ("rkube-list", "default"),
            "kube" => ("kube", "keep"),
            "kube-drop" => ("kube", "drop"),
            other => return Err(format!("unknown variant {other}").into()),
        };
        warm_memory(opts.warm_mb).await;
        let result = run_variant(&exe, &kubeconfig, which, mf, &server, &client, &keys, &opts).await?;
        rec.record(json!({"variant": variant, "result": result}));
        server.set_event_window(1);
        server.set_event_window(opts.events as usize + 10_000);
    }
    let _ = std::fs::remove_dir_all(&dir);
    server.shutdown().await;
    Ok(())
}

/// Touches `mb` MiB and frees them, so that the next measured process starts with memory
/// the VM's host has backed. This VM reports freed guest pages to its host (virtio-balloon
/// free page reporting), after which the first touch of a page costs about 7-9 us instead
/// of about 1.4 us: without this, a process started after a quiet spell (a client after the
/// seeding) pays several seconds more for the same allocations than one started right
/// after another process exited (the floors), whatever its code does.
async fn warm_memory(mb: usize) {
    if mb == 0 {
        return;
    }
    let _ = tokio::task::spawn_blocking(move || {
        let len = mb << 20;
        let mut block: Vec<u8> = Vec::with_capacity(len);
        for byte in block.spare_capacity_mut().iter_mut().step_by(4096) {
            byte.write(1);
        }
        std::hint::black_box(&block);
    })
    .await;
}

fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("model name").map(|v| v.trim_start_matches([' ', '\t', ':']).to_string()))
        .unwrap_or_default();
    let mem_kb = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:").map(|v| v.trim().trim_end_matches("kB").trim().to_string()))
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    json!({"cpu": cpu, "cores": cores, "mem_total_kb": mem_kb})
}

fn name_of(body: &[u8]) -> Option<(String, String)> {
    #[derive(serde::Deserialize)]
    struct Obj {
        metadata: Meta,
    }
    #[derive(serde::Deserialize)]
    struct Meta {
        name: String,
        namespace: Option<String>,
    }
    let o: Obj = serde_json::from_slice(body).ok()?;
    Some((o.metadata.namespace.unwrap_or_default(), o.metadata.name))
}

async fn run_floor(exe: &std::path::Path, mode: &str, file: &str) -> Result<Value, BoxError> {
    let out = tokio::process::Command::new(exe).args(["floor", mode, file]).stderr(Stdio::inherit()).output().await?;
    if !out.status.success() {
        return Err(format!("floor {mode} {file} failed: {}", out.status).into());
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}

struct Child {
    proc: tokio::process::Child,
    stdin: tokio::process::ChildStdin,
    lines: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
}

impl Child {
    async fn expect(&mut self, phase: &str, timeout: Duration) -> Result<Value, BoxError> {
        loop {
            let line = tokio::time::timeout(timeout, self.lines.next_line())
                .await
                .map_err(|_| format!("child: no `{phase}` within {timeout:?}"))??
                .ok_or_else(|| format!("child exited before `{phase}`"))?;
            let v: Value = match serde_json::from_str(&line) {
                Ok(v) => v,
                Err(_) => {
                    eprintln!("child: {line}");
                    continue;
                }
            };
            if v["phase"] == phase {
                return Ok(v);
            }
            eprintln!("child: {v}");
        }
    }

    async fn send(&mut self, line: &str) -> Result<(), BoxError> {
        self.stdin.write_all(format!("{line}\n").as_bytes()).await?;
        self.stdin.flush().await?;
        Ok(())
    }

    fn signal(&self, sig: &str) -> Result<(), BoxError> {
        let pid = self.proc.id().ok_or("child has no pid")?;
        let status = std::process::Command::new("kill").arg(format!("-{sig}")).arg(pid.to_string()).status()?;
        if !status.success() {
            return Err(format!("kill -{sig} {pid} failed").into());
        }
        Ok(())
    }
}

#[allow(clippy::too_many_arguments)]
async fn run_variant(
    exe: &std::path::Path,
    kubeconfig: &std::path::Path,
    which: &str,
    mf: &str,
    server: &rkube_apiserver::ApiServer,
    client: &rkube_client::Client,
    keys: &Arc<Vec<(String, String)>>,
    opts: &Options,
) -> Result<Value, BoxError> {
    let mut proc = tokio::process::Command::new(exe)
        .arg("child")
        .arg(which)
        .arg(mf)
        .arg(kubeconfig)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()?;
    let stdin = proc.stdin.take().ok_or("no stdin")?;
    let stdout = proc.stdout.take().ok_or("no stdout")?;
    let mut child = Child { proc, stdin, lines: BufReader::new(stdout).lines() };
    let long = Duration::from_secs(900);
    let synced = child.expect("synced", long).await?;
    eprintln!("{which}/{mf}: {synced}");
    let mut result = json!({"sync": synced});

    if opts.events > 0 {
        child.send(&format!("watch {}", opts.events)).await?;
        child.expect("watch-ready", long).await?;
        child.signal("STOP")?;
        let write_secs = touch(client, keys, opts.events, opts.concurrency).await;
        child.signal("CONT")?;
        let write_secs = write_secs?;
        let watched = child.expect("watched", long).await?;
        eprintln!("{which}/{mf}: {watched} (writes took {write_secs:.1} s)");
        result["watch"] = watched;
        result["watch"]["writer_secs"] = json!(round1(write_secs));
    }

    if opts.relist {
        child.send("relist").await?;
        child.expect("armed", long).await?;
        server.faults().set_watch_gone_probability(1.0);
        server.restart();
        let relisting = child.expect("relisting", Duration::from_secs(120)).await;
        server.faults().clear();
        relisting?;
        let relisted = child.expect("relisted", long).await?;
        eprintln!("{which}/{mf}: {relisted}");
        result["relist"] = relisted;
    }
    drop(child.stdin);
    let _ = tokio::time::timeout(Duration::from_secs(30), child.proc.wait()).await;
    Ok(result)
}

/// Writes `events` merge patches (one annotation each), round-robin over `keys`.
async fn touch(
    client: &rkube_client::Client,
    keys: &Arc<Vec<(String, String)>>,
    events: u64,
    concurrency: usize,
) -> Result<f64, BoxError> {
    let started = Instant::now();
    let pods = Pod::api_resource();
    let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let results = futures::stream::iter((0..events).map(|i| {
        let (ns, name) = &keys[(i as usize) % keys.len()];
        let body = format!(r#"{{"metadata":{{"annotations":{{"bench.rkube.io/touch":"{stamp}-{i}"}}}}}}"#);
        let req = client
            .patch()
            .resource(&pods)
            .namespace(ns.clone())
            .name(name.clone())
            .body(body.into_bytes(), "application/merge-patch+json");
        async move { req.send_checked().await.map(|_| ()) }
    }))
    .buffer_unordered(concurrency.max(1));
    futures::pin_mut!(results);
    while let Some(r) = results.next().await {
        r?;
    }
    Ok(started.elapsed().as_secs_f64())
}

// ---------------------------------------------------------------------------------------
// Children: one client each
// ---------------------------------------------------------------------------------------

/// Counts MODIFIED events reaching the store, and times the first and the `target`-th.
#[derive(Default)]
struct Counter {
    seen: AtomicU64,
    target: AtomicU64,
    first: Mutex<Option<Instant>>,
    last: Mutex<Option<Instant>>,
    done: tokio::sync::Notify,
}

impl Counter {
    fn arm(&self, target: u64) {
        *self.first.lock().unwrap_or_else(|p| p.into_inner()) = None;
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = None;
        self.seen.store(0, Ordering::SeqCst);
        self.target.store(target, Ordering::SeqCst);
    }

    fn hit(&self) {
        let target = self.target.load(Ordering::Relaxed);
        if target == 0 {
            return;
        }
        let n = self.seen.fetch_add(1, Ordering::Relaxed) + 1;
        if n == 1 {
            *self.first.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
        }
        if n == target {
            *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
            self.done.notify_one();
        }
    }

    async fn wait(&self) -> Value {
        let target = self.target.load(Ordering::SeqCst);
        while self.seen.load(Ordering::SeqCst) < target {
            let _ = tokio::time::timeout(Duration::from_millis(200), self.done.notified()).await;
        }
        let first = self.first.lock().unwrap_or_else(|p| p.into_inner()).unwrap_or_else(Instant::now);
        let last = self.last.lock().unwrap_or_else(|p| p.into_inner()).unwrap_or_else(Instant::now);
        let secs = last.duration_since(first).as_secs_f64();
        let rate = if secs > 0.0 { (target - 1) as f64 / secs } else { 0.0 };
        json!({"phase": "watched", "events": target, "secs": (secs * 1000.0).round() / 1000.0,
               "events_per_sec": rate.round(), "rss_kb": rss_kb()})
    }
}

/// Where the client's list/watch loop is, as seen by the child.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Watching,
    Listing,
}

/// What a child needs from its client.
trait Probe: Send + Sync {
    fn objects(&self) -> usize;
    fn phase(&self) -> Phase;
}

/// How an rkube child talks to the server.
#[derive(Clone, Copy)]
enum Wire {
    /// JSON; the initial sync through the watch-list stream (the default).
    Json,
    /// JSON; the initial sync through paginated lists (watch-list turned off).
    JsonListThenWatch,
    /// Protobuf lists and watches.
    Protobuf,
}

async fn child(args: &[String]) -> Result<(), BoxError> {
    let [which, mf, kubeconfig] = args else {
        return Err("usage: child <rkube|rkube-list|rkube-pb|kube> <default|keep|transform|drop> <kubeconfig>".into());
    };
    let counter = Arc::new(Counter::default());
    let rss_before = rss_kb();
    let cpu_before = cpu_ms();
    let started = Instant::now();
    let probe: Arc<dyn Probe> = match which.as_str() {
        "rkube" => rkube_child::start(kubeconfig, mf, Wire::Json, counter.clone()).await?,
        "rkube-list" => rkube_child::start(kubeconfig, mf, Wire::JsonListThenWatch, counter.clone()).await?,
        "rkube-pb" => rkube_child::start(kubeconfig, mf, Wire::Protobuf, counter.clone()).await?,
        "kube" => kube_child::start(kubeconfig, mf == "drop", counter.clone()).await?,
        other => return Err(format!("unknown client {other}").into()),
    };
    let sync_secs = started.elapsed().as_secs_f64();
    let sync_cpu_ms = cpu_ms().saturating_sub(cpu_before);
    let objects = probe.objects();
    let rss_synced = rss_kb();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_settled = rss_kb();
    let per_object =
        |kb: u64| if objects > 0 { round1(kb.saturating_sub(rss_before) as f64 / objects as f64) } else { 0.0 };
    emit(&json!({
        "phase": "synced", "client": which, "managed_fields": mf, "objects": objects,
        "sync_ms": (sync_secs * 1000.0).round(), "sync_cpu_ms": sync_cpu_ms, "rss_before_kb": rss_before,
        "rss_synced_kb": rss_synced, "rss_settled_kb": rss_settled,
        "kb_per_object": per_object(rss_settled), "kb_per_object_at_sync": per_object(rss_synced),
        "peak_kb": peak_rss_kb(),
    }));

    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        let mut words = line.split_whitespace();
        match words.next() {
            Some("watch") => {
                let n: u64 = words.next().unwrap_or("0").parse()?;
                counter.arm(n);
                let cpu_armed = cpu_ms();
                emit(&json!({"phase": "watch-ready"}));
                let mut watched = counter.wait().await;
                let cpu = cpu_ms().saturating_sub(cpu_armed);
                watched["cpu_ms"] = json!(cpu);
                watched["cpu_us_per_event"] = json!(if n > 0 { (cpu as f64 * 1000.0 / n as f64).round() } else { 0.0 });
                counter.arm(0);
                emit(&watched);
            }
            Some("relist") => {
                tokio::time::sleep(Duration::from_millis(500)).await;
                let steady = rss_kb();
                let reset = reset_peak_rss();
                emit(&json!({"phase": "armed"}));
                while probe.phase() == Phase::Watching {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                let t0 = Instant::now();
                emit(&json!({"phase": "relisting"}));
                while probe.phase() == Phase::Listing {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                let relist_ms = t0.elapsed().as_secs_f64() * 1000.0;
                tokio::time::sleep(Duration::from_millis(500)).await;
                let peak = peak_rss_kb();
                emit(&json!({
                    "phase": "relisted", "steady_kb": steady, "peak_kb": peak, "after_kb": rss_kb(),
                    "peak_over_steady": (peak as f64 / steady.max(1) as f64 * 1000.0).round() / 1000.0,
                    "relist_ms": relist_ms.round(), "objects": probe.objects(), "peak_reset": reset,
                }));
            }
            _ => {}
        }
    }
    Ok(())
}

mod rkube_child {
    use super::*;
    use rkube_runtime::{FnHandler, InformerFactory, InformerOptions, ReflectorState, Scope, SharedInformer};

    struct RkubeProbe {
        informer: SharedInformer<Pod>,
        _factory: InformerFactory,
        _registration: rkube_runtime::HandlerRegistration,
    }

    impl Probe for RkubeProbe {
        fn objects(&self) -> usize {
            self.informer.store().len()
        }

        fn phase(&self) -> Phase {
            match self.informer.reflector_state() {
                Some(ReflectorState::Watching { .. }) => Phase::Watching,
                Some(ReflectorState::BackingOff { then, .. }) if matches!(*then, ReflectorState::Watching { .. }) => {
                    Phase::Watching
                }
                _ => Phase::Listing,
            }
        }
    }

    /// A pod informer from the factory, synced. `mf`: `default` (managedFields skipped while
    /// decoding), `keep` (`keep_managed_fields`), `transform` (kept while decoding, then
    /// dropped by the store transform). `protobuf`: list and watch in protobuf
    /// (`InformerFactory::protobuf`) instead of JSON (`typed_with`).
    pub async fn start(
        kubeconfig: &str,
        mf: &str,
        wire: Wire,
        counter: Arc<Counter>,
    ) -> Result<Arc<dyn Probe>, BoxError> {
        let mut config = rkube_client::Config::from_kubeconfig(&KubeconfigOptions {
            kubeconfig: Some(kubeconfig.into()),
            ..KubeconfigOptions::default()
        })?;
        config.qps = -1.0;
        let client = rkube_client::Client::new(config)?;
        let factory = InformerFactory::new(client);
        let mut opts = InformerOptions::default();
        match mf {
            "default" => {}
            "keep" => opts.keep_managed_fields = true,
            "transform" => {
                opts.keep_managed_fields = true;
                opts.transform = Some(rkube_runtime::store::drop_managed_fields());
            }
            other => return Err(format!("unknown managedFields mode {other}").into()),
        }
        let informer = match wire {
            Wire::Protobuf => factory.protobuf::<Pod>(Scope::all(), opts),
            Wire::Json => factory.typed_with::<Pod>(Scope::all(), opts),
            Wire::JsonListThenWatch => {
                opts.reflector.use_watch_list = false;
                factory.typed_with::<Pod>(Scope::all(), opts)
            }
        };
        let registration = informer.add_handler(FnHandler::default().on_update(move |_, _| counter.hit()), None);
        factory.start();
        if !factory.wait_for_cache_sync(Duration::from_secs(900)).await {
            return Err("rkube informer did not sync".into());
        }
        Ok(Arc::new(RkubeProbe { informer, _factory: factory, _registration: registration }))
    }
}

mod kube_child {
    use super::*;
    use kube::runtime::watcher::{self, Event};
    use kube::runtime::{WatchStreamExt, reflector};

    struct KubeProbe {
        reader: reflector::Store<Pod>,
        listing: Arc<std::sync::atomic::AtomicBool>,
    }

    impl Probe for KubeProbe {
        fn objects(&self) -> usize {
            self.reader.state().len()
        }

        fn phase(&self) -> Phase {
            if self.listing.load(Ordering::SeqCst) { Phase::Listing } else { Phase::Watching }
        }
    }

    /// kube-rs's documented informer: `reflector(writer, watcher(api, Config::default()))`
    /// with the default backoff (optionally dropping managedFields first), synced.
    pub async fn start(kubeconfig: &str, drop_mf: bool, counter: Arc<Counter>) -> Result<Arc<dyn Probe>, BoxError> {
        let kc = kube::config::Kubeconfig::read_from(kubeconfig)?;
        let config = kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default()).await?;
        let client = kube::Client::try_from(config)?;
        let api: kube::Api<Pod> = kube::Api::all(client);
        let (reader, writer) = reflector::store::<Pod>();
        let listing = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let (synced_tx, mut synced_rx) = tokio::sync::watch::channel(false);
        let stream = watcher::watcher(api, watcher::Config::default())
            .modify(move |p: &mut Pod| {
                if drop_mf {
                    p.metadata.managed_fields = None;
                }
            })
            .default_backoff();
        let stream = reflector(writer, stream);
        let flag = listing.clone();
        tokio::spawn(async move {
            futures::pin_mut!(stream);
            while let Some(ev) = stream.next().await {
                match ev {
                    Ok(Event::Apply(_)) => counter.hit(),
                    Ok(Event::Init) => flag.store(true, Ordering::SeqCst),
                    Ok(Event::InitDone) => {
                        flag.store(false, Ordering::SeqCst);
                        synced_tx.send_replace(true);
                    }
                    Ok(_) => {}
                    Err(e) => eprintln!("kube watcher: {e}"),
                }
            }
        });
        tokio::time::timeout(Duration::from_secs(900), synced_rx.wait_for(|s| *s)).await??;
        Ok(Arc::new(KubeProbe { reader, listing }))
    }
}

// ---------------------------------------------------------------------------------------
// Floors
// ---------------------------------------------------------------------------------------

#[derive(serde::Deserialize)]
struct Items<T> {
    items: Vec<T>,
}

fn floor(args: &[String]) -> Result<(), BoxError> {
    let [mode, file] = args else {
        return Err("usage: floor <ignored|pod|pod-strip|pod-exact> FILE".into());
    };
    let before = rss_kb();
    let bytes = std::fs::read(file)?;
    let len = bytes.len();
    let started = Instant::now();
    let (objects, held): (usize, Box<dyn std::any::Any>) = match mode.as_str() {
        "ignored" => {
            let list: Items<serde::de::IgnoredAny> = serde_json::from_slice(&bytes)?;
            (list.items.len(), Box::new(()))
        }
        "pod" => {
            let list: Items<Pod> = serde_json::from_slice(&bytes)?;
            (list.items.len(), Box::new(list))
        }
        "pod-strip" => {
            // What rkube's typed informers do by default: drop managedFields from the bytes,
            // then decode.
            let stripped = rkube_core::strip::strip_managed_fields(&bytes);
            let list: Items<Pod> = serde_json::from_slice(&stripped)?;
            (list.items.len(), Box::new(list))
        }
        "pod-exact" => {
            let list: Items<Pod> = rkube_core::exact_json::from_slice(&bytes)?;
            (list.items.len(), Box::new(list))
        }
        other => return Err(format!("unknown floor {other}").into()),
    };
    let secs = started.elapsed().as_secs_f64();
    drop(bytes);
    let after = rss_kb();
    let file_name = std::path::Path::new(file).file_name().map(|f| f.to_string_lossy().into_owned());
    emit(&json!({
        "floor": mode, "file": file_name, "objects": objects, "bytes": len,
        "decode_ms": (secs * 1000.0).round(), "mb_per_s": round1(len as f64 / 1e6 / secs),
        "rss_held_kb": after.saturating_sub(before),
        "kb_per_object": if objects > 0 { round1(after.saturating_sub(before) as f64 / objects as f64) } else { 0.0 },
    }));
    drop(held);
    Ok(())
}

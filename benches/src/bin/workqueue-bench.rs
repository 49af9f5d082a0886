//! Work queue throughput: add/get/done cycles per second, one JSON line per scenario.
//!
//! ```text
//! cargo run --release -p rkube-benches --bin workqueue-bench [-- --items N --runs R --async --scenario NAME]
//! ```
//!
//! A cycle is one `add` plus, unless it collapsed into a queued duplicate, the `get` and
//! `done` that process it. Producers add `N` items in total (split evenly); consumers
//! `get` and `done`; once the producers are finished the queue is shut down (which keeps
//! what is queued) and the clock stops when the consumers have handed out everything. `*-distinct` adds `N` different keys; `*-duplicate` draws from 1,000
//! hot keys, so many adds collapse. `spsc` is 1 producer / 1 consumer, `mpmc` 4 / 4.
//! Consumers are OS threads using `get_blocking` (or tokio tasks using `get` with
//! `--async`). The figure printed is the median of the runs.

use std::thread;
use std::time::{Duration, Instant};

use rkube_runtime::workqueue::WorkQueue;

/// Which keys the producers add.
#[derive(Clone, Copy)]
enum Keys {
    Distinct,
    Duplicate,
}

const HOT_KEYS: u64 = 1_000;

/// Runs one scenario and returns its wall time.
fn run(producers: u64, consumers: u64, keys: Keys, items: u64, use_async: bool) -> Duration {
    let q: WorkQueue<u64> = WorkQueue::new();
    let rt = use_async
        .then(|| tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().expect("tokio runtime"));
    let start = Instant::now();
    let mut thread_consumers = Vec::new();
    let mut task_consumers = Vec::new();
    for _ in 0..consumers {
        let q = q.clone();
        match &rt {
            Some(rt) => task_consumers.push(rt.spawn(async move {
                while let Some(k) = q.get().await {
                    q.done(&k);
                }
            })),
            None => thread_consumers.push(thread::spawn(move || {
                while let Some(k) = q.get_blocking() {
                    q.done(&k);
                }
            })),
        }
    }
    let per = items / producers;
    let prods: Vec<_> = (0..producers)
        .map(|p| {
            let q = q.clone();
            thread::spawn(move || {
                let base = p * per;
                for i in base..base + per {
                    let key = match keys {
                        Keys::Distinct => i,
                        Keys::Duplicate => i.wrapping_mul(0x9E37_79B9_7F4A_7C15) % HOT_KEYS,
                    };
                    q.add(key);
                }
            })
        })
        .collect();
    for p in prods {
        p.join().expect("producer");
    }
    // Shutdown keeps what is queued: consumers hand out every item, then stop.
    q.shut_down();
    for c in thread_consumers {
        c.join().expect("consumer");
    }
    if let Some(rt) = rt {
        for t in task_consumers {
            rt.block_on(t).expect("consumer task");
        }
    }
    let elapsed = start.elapsed();
    assert_eq!(q.processing(), 0);
    elapsed
}

fn arg(args: &[String], name: &str) -> Option<u64> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let items = arg(&args, "--items").unwrap_or(2_000_000);
    let runs = arg(&args, "--runs").unwrap_or(5).max(1);
    let use_async = args.iter().any(|a| a == "--async");
    let only = args.iter().position(|a| a == "--scenario").and_then(|i| args.get(i + 1));
    let scenarios = [
        ("spsc-distinct", 1, 1, Keys::Distinct),
        ("spsc-duplicate", 1, 1, Keys::Duplicate),
        ("mpmc-distinct", 4, 4, Keys::Distinct),
        ("mpmc-duplicate", 4, 4, Keys::Duplicate),
    ];
    for (name, producers, consumers, keys) in scenarios {
        if only.is_some_and(|o| o != name) {
            continue;
        }
        let mut rates: Vec<f64> = (0..runs)
            .map(|_| {
                let t = run(producers, consumers, keys, items, use_async);
                (items / producers * producers) as f64 / t.as_secs_f64()
            })
            .collect();
        rates.sort_by(f64::total_cmp);
        let median = rates[rates.len() / 2];
        println!("{{\"scenario\": \"{name}\", \"cycles_per_sec\": {median:.0}}}");
    }
}

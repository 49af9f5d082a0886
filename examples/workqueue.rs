//! A few workers over a rate-limited work queue: failing keys are retried with
//! per-item exponential backoff (5 ms, 10 ms, 20 ms, ...) until they succeed, then
//! forgotten; the queue is shut down with drain at the end.
//!
//! Run: `cargo run -p rkube-examples --bin workqueue`

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rkube_runtime::workqueue::WorkQueue;

/// How often each key fails before it succeeds.
fn failures_before_success(key: &str) -> usize {
    match key {
        "default/flaky" => 3,
        "kube-system/broken-for-a-while" => 6,
        _ => 0,
    }
}

#[tokio::main]
async fn main() {
    let queue: WorkQueue<String> = WorkQueue::builder().name("example").build();
    let attempts: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let start = Instant::now();

    let keys = ["default/web", "default/flaky", "default/db", "kube-system/broken-for-a-while"];
    for key in keys {
        queue.add(key.to_string());
    }
    // Adding a key that is already waiting does nothing: it is queued once.
    queue.add("default/web".to_string());

    let workers: Vec<_> = (0..3)
        .map(|worker| {
            let (queue, attempts) = (queue.clone(), attempts.clone());
            tokio::spawn(async move {
                while let Some(key) = queue.get().await {
                    let attempt = {
                        let mut a = attempts.lock().unwrap();
                        let n = a.entry(key.clone()).or_default();
                        *n += 1;
                        *n
                    };
                    let elapsed = start.elapsed().as_secs_f64() * 1000.0;
                    if attempt > failures_before_success(&key) {
                        println!("{elapsed:8.1} ms  worker {worker}: {key} succeeded on attempt {attempt}");
                        queue.forget(&key); // reset its backoff
                    } else {
                        let retries = queue.num_requeues(&key);
                        println!(
                            "{elapsed:8.1} ms  worker {worker}: {key} failed (attempt {attempt}, {retries} retries so far): requeue with backoff"
                        );
                        queue.add_rate_limited(key.clone());
                    }
                    queue.done(&key); // always, success or failure
                }
            })
        })
        .collect();

    // Wait until every key has succeeded, then stop and let the workers drain.
    loop {
        let all_done = {
            let a = attempts.lock().unwrap();
            keys.iter().all(|k| a.get(*k).copied().unwrap_or(0) > failures_before_success(k))
        };
        if all_done {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    queue.shut_down_with_drain().await;
    for w in workers {
        w.await.expect("worker");
    }
    println!("all keys reconciled; queue drained after {:.1} ms", start.elapsed().as_secs_f64() * 1000.0);
}

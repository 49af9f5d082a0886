//! Criterion benchmarks of the work queue: add/get/done cycles (1/1 and 4/4, distinct
//! and 1,000 hot duplicate keys), `add_after` with 100,000 pending timers, and
//! rate-limited requeues. Run: `cargo bench -p rkube-benches --bench workqueue`.

use std::hint::black_box;
use std::thread;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rkube_runtime::workqueue::{ManualClock, WorkQueue};

const HOT_KEYS: u64 = 1_000;

/// `items` adds by `producers` threads, processed (get + done) by `consumers` threads.
fn cycles(producers: u64, consumers: u64, duplicate: bool, items: u64) -> Duration {
    let q: WorkQueue<u64> = WorkQueue::new();
    let start = Instant::now();
    let workers: Vec<_> = (0..consumers)
        .map(|_| {
            let q = q.clone();
            thread::spawn(move || {
                while let Some(k) = q.get_blocking() {
                    q.done(&k);
                }
            })
        })
        .collect();
    let per = items / producers;
    let prods: Vec<_> = (0..producers)
        .map(|p| {
            let q = q.clone();
            thread::spawn(move || {
                for i in p * per..(p + 1) * per {
                    q.add(if duplicate { i % HOT_KEYS } else { i });
                }
            })
        })
        .collect();
    for p in prods {
        p.join().unwrap();
    }
    // Shutdown keeps what is queued: the workers finish it, then stop.
    q.shut_down();
    for w in workers {
        w.join().unwrap();
    }
    start.elapsed()
}

fn bench_cycles(c: &mut Criterion) {
    const ITEMS: u64 = 200_000;
    let mut g = c.benchmark_group("workqueue/cycles");
    g.sample_size(10);
    g.throughput(Throughput::Elements(ITEMS));
    for (name, p, n, dup) in [
        ("spsc-distinct", 1, 1, false),
        ("spsc-duplicate", 1, 1, true),
        ("mpmc-distinct", 4, 4, false),
        ("mpmc-duplicate", 4, 4, true),
    ] {
        g.bench_function(name, |b| b.iter_custom(|iters| (0..iters).map(|_| cycles(p, n, dup, ITEMS)).sum()));
    }
    g.finish();
}

fn bench_add_after(c: &mut Criterion) {
    const PENDING: u64 = 100_000;
    let mut g = c.benchmark_group("workqueue/add_after");
    g.sample_size(10);
    g.throughput(Throughput::Elements(1));
    // One more add_after into a heap of 100,000 pending timers.
    g.bench_function("insert-with-100k-pending", |b| {
        b.iter_custom(|iters| {
            let clock = ManualClock::new();
            let q: WorkQueue<u64> = WorkQueue::builder().clock(clock).build();
            for i in 0..PENDING {
                q.add_after(i, Duration::from_millis(1 + i * 7919 % PENDING));
            }
            let start = Instant::now();
            for i in 0..iters {
                q.add_after(PENDING + i, Duration::from_millis(1 + i * 7919 % PENDING));
            }
            start.elapsed()
        })
    });
    // 100,000 timers become due at once and are handed out.
    g.throughput(Throughput::Elements(PENDING));
    g.bench_function("fire-100k", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let clock = ManualClock::new();
                let q: WorkQueue<u64> = WorkQueue::builder().clock(clock.clone()).build();
                for i in 0..PENDING {
                    q.add_after(i, Duration::from_millis(1 + i * 7919 % PENDING));
                }
                clock.advance(Duration::from_secs(1_000));
                let start = Instant::now();
                while let Some(k) = q.try_get() {
                    q.done(black_box(&k));
                }
                total += start.elapsed();
            }
            total
        })
    });
    g.finish();
}

fn bench_rate_limited(c: &mut Criterion) {
    let mut g = c.benchmark_group("workqueue/rate_limited");
    g.throughput(Throughput::Elements(1));
    // A failing item's full retry: add_rate_limited (default controller limiter), its
    // delay passes, get, done; every 20th retry succeeds and is forgotten.
    g.bench_function("requeue-cycle", |b| {
        let clock = ManualClock::new();
        let q: WorkQueue<u64> = WorkQueue::builder().clock(clock.clone()).build();
        let mut i = 0u64;
        b.iter(|| {
            let k = i % HOT_KEYS;
            i += 1;
            q.add_rate_limited(k);
            clock.advance(Duration::from_secs(1_000));
            let got = q.try_get().unwrap();
            if i.is_multiple_of(20) {
                q.forget(&got);
            }
            q.done(&got);
        })
    });
    g.finish();
}

criterion_group!(benches, bench_cycles, bench_add_after, bench_rate_limited);
criterion_main!(benches);

//! Behaviour of the work queue, one section per numbered point of its contract.
//! Time is virtual everywhere: tokio's paused clock or a `ManualClock`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::registry::Registry;
use rkube_runtime::workqueue::{
    BucketRateLimiter, ItemExponentialRateLimiter, ManualClock, PrometheusMetrics, WorkQueue,
};
use tokio::time::Instant;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

// ---------------------------------------------------------------------------------------
// 1. Basic queue: dedup, fair, stingy, done, shutdown, drain.

#[test]
fn an_item_waiting_is_queued_once_and_items_come_out_in_first_add_order() {
    let q = WorkQueue::new();
    for k in ["a", "b", "a", "c", "b", "a"] {
        q.add(k);
    }
    assert_eq!(q.len(), 3);
    assert_eq!(q.try_get(), Some("a"));
    assert_eq!(q.try_get(), Some("b"));
    assert_eq!(q.try_get(), Some("c"));
    assert_eq!(q.try_get(), None);
    assert_eq!(q.processing(), 3);
}

#[test]
fn an_item_readded_while_processing_is_handed_out_once_more_after_done() {
    let q = WorkQueue::new();
    q.add(1);
    let got = q.try_get().unwrap();
    for _ in 0..5 {
        q.add(1);
    }
    q.add(2);
    assert_eq!(q.len(), 1, "only 2 is queued; 1 waits for done");
    assert_eq!(q.try_get(), Some(2), "stingy: 1 is not handed to a second worker");
    assert_eq!(q.try_get(), None);
    q.done(&got);
    assert_eq!(q.len(), 1);
    assert_eq!(q.try_get(), Some(1));
    q.done(&1);
    q.done(&2);
    assert_eq!(q.try_get(), None, "delivered exactly once more");
    assert_eq!(q.processing(), 0);
    assert!(q.is_idle());
    q.add_after(3, Duration::from_secs(1));
    assert!(!q.is_idle(), "a delayed item is pending");
    q.done(&1); // not processing: a no-op
    assert_eq!(q.len(), 0);
}

#[tokio::test]
async fn get_waits_for_an_item() {
    let q: WorkQueue<String> = WorkQueue::new();
    let worker = tokio::spawn({
        let q = q.clone();
        async move { q.get().await }
    });
    tokio::task::yield_now().await;
    assert!(!worker.is_finished());
    q.add("x".to_string());
    assert_eq!(worker.await.unwrap().as_deref(), Some("x"));
}

#[tokio::test]
async fn shut_down_wakes_every_waiter_ignores_adds_and_lets_workers_drain() {
    let q: WorkQueue<u32> = WorkQueue::new();
    let waiters: Vec<_> = (0..4)
        .map(|_| {
            let q = q.clone();
            tokio::spawn(async move { q.get().await })
        })
        .collect();
    let blocking = {
        let q = q.clone();
        thread::spawn(move || q.get_blocking())
    };
    tokio::task::yield_now().await;
    q.shut_down();
    assert!(q.is_shutting_down());
    for w in waiters {
        assert_eq!(w.await.unwrap(), None);
    }
    assert_eq!(blocking.join().unwrap(), None);

    // Items queued before shutdown are still handed out.
    let q: WorkQueue<u32> = WorkQueue::new();
    q.add(1);
    q.add(2);
    q.shut_down();
    q.add(3);
    assert_eq!(q.len(), 2, "adds after shutdown are ignored");
    assert_eq!(q.get().await, Some(1));
    assert_eq!(q.get().await, Some(2));
    assert_eq!(q.get().await, None);
    assert_eq!(q.get_blocking(), None);
}

#[tokio::test]
async fn shut_down_with_drain_returns_when_nothing_is_processing() {
    let q: WorkQueue<&str> = WorkQueue::new();
    q.add("a");
    q.add("b");
    let a = q.get().await.unwrap();
    let b = q.get().await.unwrap();
    let drain = tokio::spawn({
        let q = q.clone();
        async move { q.shut_down_with_drain().await }
    });
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert!(q.is_shutting_down());
    q.done(&a);
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert!(!drain.is_finished(), "b is still processing");
    q.done(&b);
    drain.await.unwrap();

    // With nothing processing it returns at once.
    let q: WorkQueue<&str> = WorkQueue::new();
    q.shut_down_with_drain().await;
}

#[test]
fn a_later_shut_down_cancels_a_drain_and_the_blocking_drain_works() {
    let q: WorkQueue<u8> = WorkQueue::new();
    q.add(7);
    let held = q.try_get().unwrap();
    let drain = {
        let q = q.clone();
        thread::spawn(move || q.shut_down_with_drain_blocking())
    };
    while !q.is_shutting_down() {
        thread::yield_now();
    }
    q.shut_down();
    drain.join().unwrap(); // returns although 7 is still processing
    assert_eq!(q.processing(), 1);
    q.done(&held);

    let q: WorkQueue<u8> = WorkQueue::new();
    q.add(1);
    let held = q.try_get().unwrap();
    let drain = {
        let q = q.clone();
        thread::spawn(move || q.shut_down_with_drain_blocking())
    };
    while !q.is_shutting_down() {
        thread::yield_now();
    }
    q.done(&held);
    drain.join().unwrap();
}

#[tokio::test]
async fn a_re_add_during_drain_is_still_handed_out() {
    // Like client-go: an item dirty when shutdown came is re-queued on done.
    let q: WorkQueue<u8> = WorkQueue::new();
    q.add(1);
    let one = q.get().await.unwrap();
    q.add(1);
    q.shut_down();
    q.done(&one);
    assert_eq!(q.get().await, Some(1));
    q.done(&1);
    assert_eq!(q.get().await, None);
}

#[tokio::test]
async fn a_cancelled_get_loses_no_item() {
    let q: WorkQueue<u32> = WorkQueue::new();
    let first = tokio::spawn({
        let q = q.clone();
        async move { q.get().await }
    });
    let second = tokio::spawn({
        let q = q.clone();
        async move { q.get().await }
    });
    tokio::task::yield_now().await;
    first.abort();
    assert!(first.await.is_err());
    q.add(9);
    assert_eq!(second.await.unwrap(), Some(9));
    // A timed-out get leaves nothing behind either.
    assert!(tokio::time::timeout(ms(1), q.get()).await.is_err());
    q.add(10);
    assert_eq!(q.get().await, Some(10));
}

// ---------------------------------------------------------------------------------------
// 2. Delays.

#[tokio::test(start_paused = true)]
async fn add_after_hands_the_item_out_when_its_delay_has_passed() {
    let q: WorkQueue<&str> = WorkQueue::new();
    let t0 = Instant::now();
    q.add_after("late", Duration::from_secs(10));
    q.add_after("early", Duration::from_secs(3));
    assert_eq!(q.len(), 0);
    assert_eq!(q.delayed(), 2);
    assert_eq!(q.get().await, Some("early"));
    assert_eq!(t0.elapsed(), Duration::from_secs(3));
    assert_eq!(q.get().await, Some("late"));
    assert_eq!(t0.elapsed(), Duration::from_secs(10));
}

#[tokio::test(start_paused = true)]
async fn a_later_add_after_only_moves_a_waiting_item_earlier() {
    let q: WorkQueue<&str> = WorkQueue::new();
    let t0 = Instant::now();
    q.add_after("x", Duration::from_secs(10));
    q.add_after("x", Duration::from_secs(20)); // later: no effect
    q.add_after("x", Duration::from_secs(5)); // earlier: moves
    assert_eq!(q.delayed(), 1);
    assert_eq!(q.get().await, Some("x"));
    assert_eq!(t0.elapsed(), Duration::from_secs(5));
    q.done(&"x");
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(q.len(), 0, "the superseded timers do not fire");
}

#[tokio::test(start_paused = true)]
async fn a_zero_delay_adds_now_and_delays_are_dropped_on_shutdown() {
    let q: WorkQueue<u8> = WorkQueue::new();
    q.add_after(1, Duration::ZERO);
    assert_eq!(q.len(), 1);
    q.add_after(2, ms(10));
    q.add_after(3, ms(20));
    tokio::time::advance(ms(10)).await;
    q.shut_down();
    assert_eq!(q.get().await, Some(1));
    assert_eq!(q.get().await, Some(2), "2 was due before the shutdown");
    assert_eq!(q.get().await, None, "3 was dropped");
    q.add_after(4, ms(1));
    assert_eq!(q.delayed(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_new_earlier_delay_wakes_a_getter_sleeping_on_a_later_one() {
    let q: WorkQueue<&str> = WorkQueue::new();
    let t0 = Instant::now();
    q.add_after("slow", Duration::from_secs(100));
    let worker = tokio::spawn({
        let q = q.clone();
        async move { q.get().await }
    });
    tokio::task::yield_now().await;
    q.add_after("fast", Duration::from_secs(1));
    assert_eq!(worker.await.unwrap(), Some("fast"));
    assert_eq!(t0.elapsed(), Duration::from_secs(1));
}

#[tokio::test(start_paused = true)]
async fn many_sleeping_getters_get_each_delayed_item_on_time() {
    let q: WorkQueue<u64> = WorkQueue::new();
    let t0 = Instant::now();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let getters: Vec<_> = (0..4)
        .map(|_| {
            let (q, tx) = (q.clone(), tx.clone());
            tokio::spawn(async move {
                while let Some(k) = q.get().await {
                    tx.send((k, t0.elapsed())).unwrap();
                    q.done(&k);
                }
            })
        })
        .collect();
    tokio::task::yield_now().await;
    for s in [4, 2, 3, 1] {
        q.add_after(s * 1000, Duration::from_secs(s));
    }
    tokio::task::yield_now().await;
    q.add_after(500, ms(500)); // earlier than every sleeping timer
    let mut got = Vec::new();
    for _ in 0..5 {
        got.push(rx.recv().await.unwrap());
    }
    let want: Vec<_> = [500u64, 1000, 2000, 3000, 4000].into_iter().map(|k| (k, ms(k))).collect();
    assert_eq!(got, want);
    q.shut_down();
    for g in getters {
        g.await.unwrap();
    }
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_timer_owner_hands_the_timer_on() {
    let q: WorkQueue<&str> = WorkQueue::new();
    let t0 = Instant::now();
    q.add_after("x", Duration::from_secs(5));
    // The first getter takes the timer, then is cancelled.
    let first = tokio::spawn({
        let q = q.clone();
        async move { q.get().await }
    });
    tokio::task::yield_now().await;
    let second = tokio::spawn({
        let q = q.clone();
        async move { q.get().await }
    });
    tokio::task::yield_now().await;
    first.abort();
    assert!(first.await.is_err());
    assert_eq!(second.await.unwrap(), Some("x"));
    assert_eq!(t0.elapsed(), Duration::from_secs(5));
}

#[tokio::test(start_paused = true)]
async fn a_delayed_item_already_queued_is_not_queued_twice() {
    let q: WorkQueue<&str> = WorkQueue::new();
    q.add_after("x", ms(10));
    q.add("x");
    tokio::time::advance(ms(10)).await;
    assert_eq!(q.len(), 1);
    assert_eq!(q.get().await, Some("x"));
    assert_eq!(q.try_get(), None);
}

#[test]
fn delays_on_a_manual_clock_from_plain_threads() {
    let clock = ManualClock::new();
    let q: WorkQueue<u32> = WorkQueue::builder().clock(clock.clone()).build();
    let got = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let (q, got) = (q.clone(), got.clone());
            thread::spawn(move || {
                while let Some(item) = q.get_blocking() {
                    got.fetch_add(1, Ordering::SeqCst);
                    q.done(&item);
                }
            })
        })
        .collect();
    for i in 0..3 {
        q.add_after(i, Duration::from_secs(u64::from(i) + 1));
    }
    clock.advance(ms(999));
    assert_eq!(q.len(), 0);
    assert_eq!(got.load(Ordering::SeqCst), 0);
    clock.advance(Duration::from_secs(2)); // 0 and 1 due; the workers wake up
    while got.load(Ordering::SeqCst) < 2 {
        thread::yield_now();
    }
    assert_eq!(q.delayed(), 1);
    clock.advance(Duration::from_secs(1));
    while got.load(Ordering::SeqCst) < 3 {
        thread::yield_now();
    }
    q.shut_down();
    for w in workers {
        w.join().unwrap();
    }
}

#[test]
fn many_pending_timers_come_out_in_time_order() {
    let clock = ManualClock::new();
    let q: WorkQueue<u32> = WorkQueue::builder().clock(clock.clone()).build();
    const N: u32 = 100_000;
    // Scattered delays: i * 7919 mod N milliseconds.
    for i in 0..N {
        q.add_after(i, ms(u64::from(i * 7919 % N) + 1));
    }
    assert_eq!(q.delayed(), N as usize);
    clock.advance(ms(u64::from(N) / 2));
    let first_half = q.len();
    assert_eq!(first_half, N as usize / 2);
    clock.advance(ms(u64::from(N)));
    let mut last = None;
    let mut n = 0;
    while let Some(i) = q.try_get() {
        let due = i * 7919 % N;
        if let Some(prev) = last {
            assert!(due > prev, "timer order");
        }
        last = Some(due);
        n += 1;
    }
    assert_eq!(n, N);
}

// ---------------------------------------------------------------------------------------
// 3. Rate limiting.

#[tokio::test(start_paused = true)]
async fn add_rate_limited_backs_off_per_item_and_forget_resets_it() {
    let q: WorkQueue<&str> = WorkQueue::new(); // default controller limiter
    let mut waits = Vec::new();
    for _ in 0..4 {
        let t = Instant::now();
        q.add_rate_limited("k");
        let k = q.get().await.unwrap();
        waits.push(t.elapsed());
        q.done(&k);
    }
    assert_eq!(waits, vec![ms(5), ms(10), ms(20), ms(40)]);
    assert_eq!(q.num_requeues(&"k"), 4);
    q.forget(&"k");
    assert_eq!(q.num_requeues(&"k"), 0);
    let t = Instant::now();
    q.add_rate_limited("k");
    q.get().await.unwrap();
    assert_eq!(t.elapsed(), ms(5), "forget started the backoff over");
}

#[tokio::test(start_paused = true)]
async fn forget_does_not_replace_done() {
    let q: WorkQueue<&str> = WorkQueue::new();
    q.add("k");
    let k = q.get().await.unwrap();
    q.forget(&k);
    q.add("k");
    assert_eq!(q.len(), 0, "still processing: forget is not done");
    q.done(&k);
    assert_eq!(q.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn the_default_limiter_spreads_a_retry_storm_at_10_per_second_after_100() {
    let q: WorkQueue<u32> = WorkQueue::new();
    let t0 = Instant::now();
    for i in 0..120 {
        q.add_rate_limited(i);
    }
    for _ in 0..100 {
        q.get().await.unwrap();
    }
    assert_eq!(t0.elapsed(), ms(5), "burst of 100 at the per-item 5 ms");
    for n in 1..=20u64 {
        q.get().await.unwrap();
        assert_eq!(t0.elapsed(), ms(100 * n), "then one per 100 ms");
    }
}

#[tokio::test(start_paused = true)]
async fn a_custom_limiter_is_used() {
    let q: WorkQueue<u8> = WorkQueue::builder()
        .rate_limiter(ItemExponentialRateLimiter::new(Duration::from_secs(1), Duration::from_secs(3)))
        .build();
    let t0 = Instant::now();
    for want in [1, 3, 6, 9] {
        q.add_rate_limited(0);
        let x = q.get().await.unwrap();
        q.done(&x);
        assert_eq!(t0.elapsed(), Duration::from_secs(want));
    }
}

#[test]
fn a_bucket_limiter_on_a_manual_clock_gives_exact_delays() {
    let clock = ManualClock::new();
    let q: WorkQueue<u8> = WorkQueue::builder()
        .clock(clock.clone())
        .rate_limiter(BucketRateLimiter::with_clock(2.0, 1, Arc::new(clock.clone())))
        .build();
    q.add_rate_limited(1); // burst token: now
    q.add_rate_limited(2); // 500 ms
    assert_eq!(q.len(), 1);
    clock.advance(ms(499));
    assert_eq!(q.len(), 1);
    clock.advance(ms(1));
    assert_eq!(q.len(), 2);
}

// ---------------------------------------------------------------------------------------
// 4. Metrics.

#[test]
fn prometheus_metrics_follow_the_queue() {
    let clock = ManualClock::new();
    let mut registry = Registry::default();
    let q: WorkQueue<&str> =
        WorkQueue::builder().name("pods").metrics(PrometheusMetrics::new(&mut registry)).clock(clock.clone()).build();
    let scrape = |registry: &Registry| {
        let mut out = String::new();
        encode(&mut out, registry).unwrap();
        out
    };
    q.add("a");
    q.add("b");
    q.add("a");
    let out = scrape(&registry);
    assert!(out.contains("workqueue_depth{name=\"pods\"} 2"), "{out}");
    assert!(out.contains("workqueue_adds_total{name=\"pods\"} 2"), "{out}");

    clock.advance(Duration::from_secs(2));
    let a = q.try_get().unwrap();
    let out = scrape(&registry);
    assert!(out.contains("workqueue_depth{name=\"pods\"} 1"), "{out}");
    assert!(out.contains("workqueue_queue_duration_seconds_sum{name=\"pods\"} 2.0"), "{out}");

    clock.advance(Duration::from_secs(3));
    q.update_unfinished_work_metrics();
    let out = scrape(&registry);
    assert!(out.contains("workqueue_unfinished_work_seconds{name=\"pods\"} 3.0"), "{out}");
    assert!(out.contains("workqueue_longest_running_processor_seconds{name=\"pods\"} 3.0"), "{out}");
    q.done(&a);
    let out = scrape(&registry);
    assert!(out.contains("workqueue_work_duration_seconds_sum{name=\"pods\"} 3.0"), "{out}");
    assert!(out.contains("workqueue_work_duration_seconds_count{name=\"pods\"} 1"), "{out}");

    q.add_rate_limited("c");
    q.add_after("d", Duration::ZERO);
    let out = scrape(&registry);
    assert!(out.contains("workqueue_retries_total{name=\"pods\"} 2"), "{out}");
    assert!(out.contains("workqueue_depth{name=\"pods\"} 2"), "{out}");
}

#[tokio::test(start_paused = true)]
async fn the_metrics_updater_shows_a_stuck_worker_on_an_idle_queue() {
    let mut registry = Registry::default();
    let q: WorkQueue<&str> = WorkQueue::builder().name("stuck").metrics(PrometheusMetrics::new(&mut registry)).build();
    let updater = tokio::spawn({
        let q = q.clone();
        async move { q.run_metrics_updater().await }
    });
    q.add("a");
    q.add("b");
    let a = q.get().await.unwrap();
    tokio::time::advance(Duration::from_secs(2)).await;
    let b = q.get().await.unwrap(); // b started at 2 s
    tokio::time::advance(Duration::from_secs(1)).await;
    tokio::task::yield_now().await;
    let mut out = String::new();
    encode(&mut out, &registry).unwrap();
    assert!(out.contains("workqueue_longest_running_processor_seconds{name=\"stuck\"} 3.0"), "{out}");
    assert!(out.contains("workqueue_unfinished_work_seconds{name=\"stuck\"} 4.0"), "{out}");
    q.shut_down();
    q.done(&a);
    q.done(&b);
    updater.await.unwrap(); // ends once shut down and idle
    // Without metrics it returns at once.
    WorkQueue::<u8>::new().run_metrics_updater().await;
}

#[test]
fn metrics_are_off_without_a_name() {
    let mut registry = Registry::default();
    let q: WorkQueue<u8> = WorkQueue::builder().metrics(PrometheusMetrics::new(&mut registry)).build();
    q.add(1);
    let mut out = String::new();
    encode(&mut out, &registry).unwrap();
    assert!(!out.contains("name="), "{out}");
    assert_eq!(q.name(), None);
}

// ---------------------------------------------------------------------------------------
// 5. Typed and ergonomic.

/// Shaped like rkube-core's ObjectKey: any Hash + Eq + Clone + Send key works.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ObjectKey {
    namespace: Option<String>,
    name: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_keys_shared_by_clones_across_tasks_and_threads() {
    let q: WorkQueue<ObjectKey> = WorkQueue::builder().name("typed").build();
    assert_eq!(q.name(), Some("typed"));
    let key = |i: usize| ObjectKey { namespace: Some("default".into()), name: format!("pod-{i}") };
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let task = tokio::spawn({
        let (q, seen) = (q.clone(), seen.clone());
        async move {
            while let Some(k) = q.get().await {
                seen.lock().unwrap().push(k.clone());
                q.done(&k);
            }
        }
    });
    let thread = thread::spawn({
        let (q, seen) = (q.clone(), seen.clone());
        move || {
            while let Some(k) = q.get_blocking() {
                seen.lock().unwrap().push(k.clone());
                q.done(&k);
            }
        }
    });
    for i in 0..1000 {
        q.add(key(i));
    }
    q.shut_down_with_drain().await;
    // Drain waits for processing, not for the queue: wait for the workers to finish it.
    task.await.unwrap();
    thread.join().unwrap();
    let mut seen = seen.lock().unwrap().clone();
    seen.sort_by(|a, b| a.name.cmp(&b.name));
    seen.dedup();
    assert_eq!(seen.len(), 1000);
    assert!(format!("{q:?}").contains("typed"));
}

#[tokio::test(start_paused = true)]
async fn object_keys_work_as_items_with_the_default_rate_limiter() {
    use rkube_core::ObjectKey;
    let q: WorkQueue<ObjectKey> = WorkQueue::new();
    let key = ObjectKey::namespaced("default", "web");
    q.add(key.clone());
    q.add("default/web".parse().unwrap());
    assert_eq!(q.len(), 1, "the same key parsed or built collapses");
    let got = q.get().await.unwrap();
    assert_eq!(got, key);
    q.add_rate_limited(got.clone());
    q.done(&got);
    assert_eq!(q.num_requeues(&key), 1);
    let start = Instant::now();
    assert_eq!(q.get().await.unwrap(), key);
    assert!(start.elapsed() >= Duration::from_millis(5), "first retry waits the 5 ms base delay");
    q.forget(&key);
    q.done(&key);
    assert_eq!(q.num_requeues(&key), 0);
}

//! Rate limiters: how long an item waits before it is retried
//! (client-go's `default_rate_limiters.go`).
//!
//! A [`RateLimiter`] answers [`RateLimiter::when`] for each retry of an item and keeps
//! per-item state until [`RateLimiter::forget`]. The queue calls them through
//! `add_rate_limited`, `forget` and `num_requeues`; they can also be used on their own.

use std::fmt;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::clock::{Clock, TokioClock};
use super::state::Map;

/// Decides how long an item waits before its next retry.
///
/// Contract: `when` is called once per retry and may count it; `forget` clears what the
/// limiter knows about an item (it does not touch the queue: `done` is still required);
/// `num_requeues` says how many retries are counted for the item. All are cheap and
/// thread-safe.
pub trait RateLimiter<T>: Send + Sync {
    /// How long `item` should wait now; counts a retry for per-item limiters.
    fn when(&self, item: &T) -> Duration;
    /// Stops tracking `item` (e.g. after it succeeded).
    fn forget(&self, item: &T);
    /// How many retries are counted for `item`.
    fn num_requeues(&self, item: &T) -> usize;
}

impl<T, L: RateLimiter<T> + ?Sized> RateLimiter<T> for Box<L> {
    fn when(&self, item: &T) -> Duration {
        (**self).when(item)
    }
    fn forget(&self, item: &T) {
        (**self).forget(item)
    }
    fn num_requeues(&self, item: &T) -> usize {
        (**self).num_requeues(item)
    }
}

impl<T, L: RateLimiter<T> + ?Sized> RateLimiter<T> for Arc<L> {
    fn when(&self, item: &T) -> Duration {
        (**self).when(item)
    }
    fn forget(&self, item: &T) {
        (**self).forget(item)
    }
    fn num_requeues(&self, item: &T) -> usize {
        (**self).num_requeues(item)
    }
}

fn lock<M>(m: &Mutex<M>) -> MutexGuard<'_, M> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Per-item failures counted by the per-item limiters.
struct Failures<T>(Mutex<Map<T, u32>>);

impl<T: Hash + Eq + Clone> Failures<T> {
    fn new() -> Self {
        Failures(Mutex::new(Map::default()))
    }
    /// Returns the count before this call, then increments it.
    fn bump(&self, item: &T) -> u32 {
        let mut m = lock(&self.0);
        match m.get_mut(item) {
            Some(n) => {
                let before = *n;
                *n = n.saturating_add(1);
                before
            }
            None => {
                m.insert(item.clone(), 1);
                0
            }
        }
    }
    fn get(&self, item: &T) -> usize {
        lock(&self.0).get(item).copied().unwrap_or(0) as usize
    }
    fn forget(&self, item: &T) {
        lock(&self.0).remove(item);
    }
}

/// Per-item exponential backoff: `base * 2^failures`, capped at `max`.
///
/// The first retry of an item waits `base`, then `2*base`, `4*base`, ... up to `max`;
/// the arithmetic cannot overflow. `forget` starts the item over at `base`.
pub struct ItemExponentialRateLimiter<T> {
    base: Duration,
    max: Duration,
    failures: Failures<T>,
}

impl<T> fmt::Debug for ItemExponentialRateLimiter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ItemExponentialRateLimiter")
            .field("base", &self.base)
            .field("max", &self.max)
            .finish_non_exhaustive()
    }
}

impl<T: Hash + Eq + Clone> ItemExponentialRateLimiter<T> {
    /// Backoff from `base` doubling up to `max`.
    pub fn new(base: Duration, max: Duration) -> Self {
        ItemExponentialRateLimiter { base, max, failures: Failures::new() }
    }
}

/// `base * 2^exp` capped at `max`, without overflow.
pub(crate) fn exponential(base: Duration, exp: u32, max: Duration) -> Duration {
    let nanos = base.as_nanos();
    let scaled = if exp >= 128 { None } else { nanos.checked_mul(1u128 << exp) };
    match scaled {
        Some(n) if n <= max.as_nanos() => Duration::new((n / 1_000_000_000) as u64, (n % 1_000_000_000) as u32),
        _ => max,
    }
}

impl<T: Hash + Eq + Clone + Send> RateLimiter<T> for ItemExponentialRateLimiter<T> {
    fn when(&self, item: &T) -> Duration {
        let exp = self.failures.bump(item);
        exponential(self.base, exp, self.max)
    }
    fn forget(&self, item: &T) {
        self.failures.forget(item)
    }
    fn num_requeues(&self, item: &T) -> usize {
        self.failures.get(item)
    }
}

/// Per-item fast then slow: the first `max_fast` retries of an item wait `fast`, later
/// ones `slow`.
pub struct ItemFastSlowRateLimiter<T> {
    fast: Duration,
    slow: Duration,
    max_fast: u32,
    failures: Failures<T>,
}

impl<T> fmt::Debug for ItemFastSlowRateLimiter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ItemFastSlowRateLimiter")
            .field("fast", &self.fast)
            .field("slow", &self.slow)
            .field("max_fast", &self.max_fast)
            .finish_non_exhaustive()
    }
}

impl<T: Hash + Eq + Clone> ItemFastSlowRateLimiter<T> {
    /// `max_fast` retries at `fast`, then `slow`.
    pub fn new(fast: Duration, slow: Duration, max_fast: u32) -> Self {
        ItemFastSlowRateLimiter { fast, slow, max_fast, failures: Failures::new() }
    }
}

impl<T: Hash + Eq + Clone + Send> RateLimiter<T> for ItemFastSlowRateLimiter<T> {
    fn when(&self, item: &T) -> Duration {
        let failures = self.failures.bump(item).saturating_add(1);
        if failures <= self.max_fast { self.fast } else { self.slow }
    }
    fn forget(&self, item: &T) {
        self.failures.forget(item)
    }
    fn num_requeues(&self, item: &T) -> usize {
        self.failures.get(item)
    }
}

/// An overall token bucket shared by all items: `qps` tokens per second, at most `burst`
/// saved up. Each `when` takes a token and returns how long until that token exists
/// (zero while the burst lasts). Like golang.org/x/time/rate's `Reserve().Delay()`:
/// reservations queue up, so a storm of retries is spread out at `qps`.
/// It keeps no per-item state: `forget` does nothing and `num_requeues` is 0.
pub struct BucketRateLimiter {
    qps: f64,
    burst: f64,
    clock: Arc<dyn Clock>,
    state: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

impl fmt::Debug for BucketRateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BucketRateLimiter").field("qps", &self.qps).field("burst", &self.burst).finish_non_exhaustive()
    }
}

impl BucketRateLimiter {
    /// A bucket filling at `qps` per second holding at most `burst`, starting full, on
    /// [`TokioClock`].
    pub fn new(qps: f64, burst: u32) -> Self {
        Self::with_clock(qps, burst, Arc::new(TokioClock))
    }

    /// The same on the given clock.
    pub fn with_clock(qps: f64, burst: u32, clock: Arc<dyn Clock>) -> Self {
        let last = clock.now();
        BucketRateLimiter {
            qps,
            burst: f64::from(burst),
            clock,
            state: Mutex::new(Bucket { tokens: f64::from(burst), last }),
        }
    }
}

impl<T> RateLimiter<T> for BucketRateLimiter {
    fn when(&self, _item: &T) -> Duration {
        let now = self.clock.now();
        let mut b = lock(&self.state);
        if now > b.last {
            let elapsed = (now - b.last).as_secs_f64();
            b.tokens = (b.tokens + elapsed * self.qps).min(self.burst);
            b.last = now;
        }
        b.tokens -= 1.0;
        if b.tokens >= 0.0 {
            Duration::ZERO
        } else if self.qps <= 0.0 {
            Duration::MAX
        } else {
            Duration::try_from_secs_f64(-b.tokens / self.qps).unwrap_or(Duration::MAX)
        }
    }
    fn forget(&self, _item: &T) {}
    fn num_requeues(&self, _item: &T) -> usize {
        0
    }
}

/// The largest delay of several limiters; `forget` goes to all of them and
/// `num_requeues` is the largest count.
pub struct MaxOfRateLimiter<T> {
    limiters: Vec<Box<dyn RateLimiter<T>>>,
}

impl<T> fmt::Debug for MaxOfRateLimiter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MaxOfRateLimiter").field("limiters", &self.limiters.len()).finish()
    }
}

impl<T> MaxOfRateLimiter<T> {
    /// Combines `limiters`; every `when` asks all of them (so each counts the retry).
    pub fn new(limiters: Vec<Box<dyn RateLimiter<T>>>) -> Self {
        MaxOfRateLimiter { limiters }
    }
}

impl<T> RateLimiter<T> for MaxOfRateLimiter<T> {
    fn when(&self, item: &T) -> Duration {
        self.limiters.iter().map(|l| l.when(item)).max().unwrap_or(Duration::ZERO)
    }
    fn forget(&self, item: &T) {
        for l in &self.limiters {
            l.forget(item);
        }
    }
    fn num_requeues(&self, item: &T) -> usize {
        self.limiters.iter().map(|l| l.num_requeues(item)).max().unwrap_or(0)
    }
}

/// Caps another limiter's delay at `max`.
pub struct WithMaxWaitRateLimiter<T> {
    inner: Box<dyn RateLimiter<T>>,
    max: Duration,
}

impl<T> fmt::Debug for WithMaxWaitRateLimiter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WithMaxWaitRateLimiter").field("max", &self.max).finish_non_exhaustive()
    }
}

impl<T> WithMaxWaitRateLimiter<T> {
    /// `inner`'s delays, never longer than `max`.
    pub fn new(inner: Box<dyn RateLimiter<T>>, max: Duration) -> Self {
        WithMaxWaitRateLimiter { inner, max }
    }
}

impl<T> RateLimiter<T> for WithMaxWaitRateLimiter<T> {
    fn when(&self, item: &T) -> Duration {
        self.inner.when(item).min(self.max)
    }
    fn forget(&self, item: &T) {
        self.inner.forget(item)
    }
    fn num_requeues(&self, item: &T) -> usize {
        self.inner.num_requeues(item)
    }
}

/// Base delay of the default controller limiter's per-item backoff (client-go: 5 ms).
pub const DEFAULT_ITEM_BASE_DELAY: Duration = Duration::from_millis(5);
/// Cap of the default controller limiter's per-item backoff (client-go: 1000 s).
pub const DEFAULT_ITEM_MAX_DELAY: Duration = Duration::from_secs(1000);
/// Refill rate of the default controller limiter's bucket (client-go: 10 per second).
pub const DEFAULT_BUCKET_QPS: f64 = 10.0;
/// Size of the default controller limiter's bucket (client-go: 100).
pub const DEFAULT_BUCKET_BURST: u32 = 100;

/// client-go's `DefaultControllerRateLimiter`: the max of per-item exponential
/// (5 ms .. 1000 s) and an overall bucket (10 qps, burst 100), on `clock`.
pub fn default_controller_rate_limiter<T: Hash + Eq + Clone + Send + 'static>(
    clock: Arc<dyn Clock>,
) -> MaxOfRateLimiter<T> {
    MaxOfRateLimiter::new(vec![
        Box::new(ItemExponentialRateLimiter::new(DEFAULT_ITEM_BASE_DELAY, DEFAULT_ITEM_MAX_DELAY)),
        Box::new(BucketRateLimiter::with_clock(DEFAULT_BUCKET_QPS, DEFAULT_BUCKET_BURST, clock)),
    ])
}

#[cfg(test)]
mod tests {
    use super::super::clock::ManualClock;
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn exponential_doubles_caps_and_forgets() {
        let l = ItemExponentialRateLimiter::new(ms(1), Duration::from_secs(1));
        let got: Vec<_> = (0..5).map(|_| l.when(&"one")).collect();
        assert_eq!(got, vec![ms(1), ms(2), ms(4), ms(8), ms(16)]);
        assert_eq!(l.num_requeues(&"one"), 5);
        assert_eq!(l.when(&"two"), ms(1), "per item");
        for _ in 0..20 {
            l.when(&"one");
        }
        assert_eq!(l.when(&"one"), Duration::from_secs(1), "capped");
        l.forget(&"one");
        assert_eq!(l.num_requeues(&"one"), 0);
        assert_eq!(l.when(&"one"), ms(1));
    }

    #[test]
    fn exponential_never_overflows() {
        assert_eq!(exponential(ms(5), 63, Duration::MAX), ms(5) * (1u32 << 31) * (1u32 << 31) * 2);
        assert_eq!(exponential(ms(5), 1000, ms(7)), ms(7));
        assert_eq!(exponential(Duration::MAX, 1, Duration::MAX), Duration::MAX);
        assert_eq!(exponential(ms(5), u32::MAX, DEFAULT_ITEM_MAX_DELAY), DEFAULT_ITEM_MAX_DELAY);
        // Many failures on a real limiter stay at the cap.
        let l = ItemExponentialRateLimiter::new(ms(5), DEFAULT_ITEM_MAX_DELAY);
        for _ in 0..200 {
            assert!(l.when(&1) <= DEFAULT_ITEM_MAX_DELAY);
        }
    }

    #[test]
    fn default_item_backoff_reaches_1000s_after_about_18_failures() {
        let l = ItemExponentialRateLimiter::new(DEFAULT_ITEM_BASE_DELAY, DEFAULT_ITEM_MAX_DELAY);
        let delays: Vec<_> = (0..20).map(|_| l.when(&"k")).collect();
        assert_eq!(delays[0], ms(5));
        assert_eq!(delays[1], ms(10));
        assert_eq!(delays[17], ms(5) * (1 << 17)); // 655.36 s
        assert_eq!(delays[18], DEFAULT_ITEM_MAX_DELAY);
    }

    #[test]
    fn fast_slow() {
        let l = ItemFastSlowRateLimiter::new(ms(5), Duration::from_secs(10), 3);
        let got: Vec<_> = (0..5).map(|_| l.when(&"a")).collect();
        assert_eq!(got, vec![ms(5), ms(5), ms(5), Duration::from_secs(10), Duration::from_secs(10)]);
        assert_eq!(l.num_requeues(&"a"), 5);
        l.forget(&"a");
        assert_eq!(l.when(&"a"), ms(5));
    }

    #[test]
    fn bucket_allows_burst_then_spreads_at_qps_on_a_manual_clock() {
        let clock = ManualClock::new();
        let l = BucketRateLimiter::with_clock(10.0, 3, Arc::new(clock.clone()));
        let r = |l: &BucketRateLimiter| RateLimiter::<u8>::when(l, &0);
        assert_eq!(r(&l), Duration::ZERO);
        assert_eq!(r(&l), Duration::ZERO);
        assert_eq!(r(&l), Duration::ZERO);
        assert_eq!(r(&l), ms(100));
        assert_eq!(r(&l), ms(200), "reservations queue up");
        clock.advance(ms(200));
        // 2 tokens were owed, 2 came back: the next waits one period.
        assert_eq!(r(&l), ms(100));
        clock.advance(Duration::from_secs(60));
        // Refilled to the burst, not beyond.
        for _ in 0..3 {
            assert_eq!(r(&l), Duration::ZERO);
        }
        assert!(r(&l) > Duration::ZERO);
        assert_eq!(RateLimiter::<u8>::num_requeues(&l, &0), 0);
    }

    #[test]
    fn max_of_and_max_wait() {
        let clock = ManualClock::new();
        let l: MaxOfRateLimiter<String> = default_controller_rate_limiter(Arc::new(clock.clone()));
        let a = "a".to_string();
        assert_eq!(l.when(&a), ms(5));
        assert_eq!(l.when(&a), ms(10));
        assert_eq!(l.num_requeues(&a), 2);
        l.forget(&a);
        assert_eq!(l.num_requeues(&a), 0);
        // Exhaust the bucket (100 - 2 used) with distinct items: the bucket then dominates.
        for i in 0..98 {
            assert_eq!(l.when(&format!("x{i}")), ms(5));
        }
        assert_eq!(l.when(&"fresh".to_string()), ms(100), "bucket delay beats 5 ms");

        let capped = WithMaxWaitRateLimiter::new(
            Box::new(ItemExponentialRateLimiter::new(ms(100), Duration::from_secs(100))),
            ms(250),
        );
        let got: Vec<_> = (0..4).map(|_| capped.when(&1)).collect();
        assert_eq!(got, vec![ms(100), ms(200), ms(250), ms(250)]);
        assert_eq!(capped.num_requeues(&1), 4);
        capped.forget(&1);
        assert_eq!(capped.num_requeues(&1), 0);
    }
}

//! The client-side token-bucket rate limiter (client-go's `flowcontrol.NewTokenBucketRateLimiter`).

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// A token bucket: `burst` requests may go at once, then `qps` per second on average.
///
/// Contract: [`RateLimiter::acquire`] returns when the caller may send; waiters are served in
/// the order they asked (each reserves its token up front, like x/time/rate's `Wait`), so the
/// long-run rate never exceeds `qps` however many tasks share the limiter. Time is tokio's,
/// so tests can hold it to its rate on a paused clock. Cloning a [`crate::Client`] shares its
/// limiter.
#[derive(Debug)]
pub struct RateLimiter {
    qps: f64,
    burst: f64,
    state: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    /// Tokens available at `at`; negative when callers have reserved future tokens.
    tokens: f64,
    at: Instant,
}

/// Waits longer than this are logged as client-side throttling (client-go logs over 50 ms).
const LOG_WAIT_OVER: Duration = Duration::from_millis(50);

impl RateLimiter {
    /// A limiter allowing `qps` requests per second with bursts of `burst`; the bucket starts full.
    pub fn new(qps: f32, burst: u32) -> Self {
        let burst = f64::from(burst.max(1));
        RateLimiter {
            qps: f64::from(qps).max(f64::MIN_POSITIVE),
            burst,
            state: Mutex::new(Bucket { tokens: burst, at: Instant::now() }),
        }
    }

    /// The limiter a config asks for: `None` when `qps` is negative (disabled); 0 means
    /// client-go's defaults (5 QPS, burst 10).
    pub fn from_config(qps: f32, burst: u32) -> Option<Self> {
        if qps < 0.0 {
            return None;
        }
        let qps = if qps == 0.0 { crate::config::DEFAULT_QPS } else { qps };
        let burst = if burst == 0 { crate::config::DEFAULT_BURST } else { burst };
        Some(RateLimiter::new(qps, burst))
    }

    /// Requests per second.
    pub fn qps(&self) -> f64 {
        self.qps
    }

    /// Bucket size.
    pub fn burst(&self) -> f64 {
        self.burst
    }

    /// Reserves one token and returns how long the caller must wait before using it.
    pub fn reserve(&self) -> Duration {
        let now = Instant::now();
        let mut b = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * self.qps).min(self.burst);
        b.at = now;
        b.tokens -= 1.0;
        if b.tokens >= 0.0 { Duration::ZERO } else { Duration::from_secs_f64(-b.tokens / self.qps) }
    }

    /// Waits for a token.
    pub async fn acquire(&self) {
        let wait = self.reserve();
        if wait.is_zero() {
            return;
        }
        if wait > LOG_WAIT_OVER {
            tracing::debug!(
                wait_ms = wait.as_millis() as u64,
                "waited before sending request: client-side throttling, not priority and fairness"
            );
        }
        tokio::time::sleep(wait).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn burst_then_rate() {
        let l = RateLimiter::new(5.0, 10);
        for _ in 0..10 {
            assert_eq!(l.reserve(), Duration::ZERO);
        }
        assert_eq!(l.reserve(), Duration::from_millis(200));
        assert_eq!(l.reserve(), Duration::from_millis(400));
        tokio::time::advance(Duration::from_secs(1)).await;
        // 1 s refilled 5 tokens; 2 were owed: 3 more free, then waiting.
        for _ in 0..3 {
            assert_eq!(l.reserve(), Duration::ZERO);
        }
        assert_eq!(l.reserve(), Duration::from_millis(200));
    }

    #[test]
    fn config_mapping() {
        assert!(RateLimiter::from_config(-1.0, 10).is_none());
        let d = RateLimiter::from_config(0.0, 0).unwrap();
        assert_eq!((d.qps(), d.burst()), (5.0, 10.0));
    }
}

//! The reflector's retry delays: client-go's exponential backoff with jitter (0.8 s doubling
//! to a 30 s cap, jitter factor 1.0) that resets after 2 minutes without failures. Time comes
//! from tokio's clock, so tests run it on paused time.

use std::time::Duration;

use rand::Rng;
use tokio::time::Instant;

/// Exponential backoff with jitter and a reset after a quiet period.
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    cap: Duration,
    reset_after: Duration,
    next: Duration,
    last_failure: Option<Instant>,
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new(Duration::from_millis(800), Duration::from_secs(30), Duration::from_secs(120))
    }
}

impl Backoff {
    /// A backoff from `initial` doubling up to `cap`, forgetting failures after `reset_after`.
    pub fn new(initial: Duration, cap: Duration, reset_after: Duration) -> Self {
        Self { initial, cap, reset_after, next: initial, last_failure: None }
    }

    /// The delay before the next attempt after a failure now: base in [initial, cap],
    /// plus up to 100% jitter (client-go's `Jitter: 1.0`).
    pub fn next_delay(&mut self) -> Duration {
        let now = Instant::now();
        if self.last_failure.is_some_and(|t| now.duration_since(t) >= self.reset_after) {
            self.next = self.initial;
        }
        self.last_failure = Some(now);
        let base = self.next;
        self.next = (self.next * 2).min(self.cap);
        let jitter = rand::rng().random_range(0.0..1.0);
        base + base.mul_f64(jitter)
    }

    /// Forgets past failures.
    pub fn reset(&mut self) {
        self.next = self.initial;
        self.last_failure = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn doubles_caps_and_resets_after_quiet_period() {
        let mut b = Backoff::default();
        let d1 = b.next_delay();
        assert!(d1 >= Duration::from_millis(800) && d1 < Duration::from_millis(1600), "{d1:?}");
        let d2 = b.next_delay();
        assert!(d2 >= Duration::from_millis(1600) && d2 < Duration::from_millis(3200), "{d2:?}");
        for _ in 0..10 {
            b.next_delay();
        }
        let capped = b.next_delay();
        assert!(capped >= Duration::from_secs(30) && capped < Duration::from_secs(60), "{capped:?}");
        tokio::time::advance(Duration::from_secs(121)).await;
        let after_quiet = b.next_delay();
        assert!(after_quiet < Duration::from_millis(1600), "{after_quiet:?}");
    }
}

//! Time sources for the work queue and its rate limiters.
//!
//! Everything time-dependent in [`crate::workqueue`] (delays, token buckets, metrics)
//! reads the time through a [`Clock`], so tests can run on virtual time:
//! [`TokioClock`] follows `tokio::time::pause`/`advance`, and [`ManualClock`] only moves
//! when the test calls [`ManualClock::advance`] (it works from plain threads too).

use std::fmt;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

/// Something a [`Clock`] tells when its time jumps forward (see [`Clock::subscribe`]).
pub trait ClockListener: Send + Sync {
    /// Called after the clock's time moved forward.
    fn advanced(&self);
}

/// A source of the current time.
///
/// Contract: `now` never goes backwards. A clock either passes time by itself (then
/// waiters use timers, and it must agree with tokio's time for async waiters), or moves
/// only in jumps and tells its subscribers after each jump ([`Clock::subscribe`] returns
/// `true`).
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The current instant.
    fn now(&self) -> Instant;

    /// Registers `listener` to be told when time jumps. Returns `true` if this clock moves
    /// only by such jumps (so waiters need no timers); the default returns `false`.
    fn subscribe(&self, listener: Weak<dyn ClockListener>) -> bool {
        let _ = listener;
        false
    }
}

/// The real clock as tokio sees it: wall-clock time, or virtual time under
/// `tokio::time::pause` (so `#[tokio::test(start_paused = true)]` tests need no sleeping).
///
/// Outside a tokio runtime it is `std::time::Instant::now()`.
#[derive(Debug, Default, Clone, Copy)]
pub struct TokioClock;

impl Clock for TokioClock {
    fn now(&self) -> Instant {
        tokio::time::Instant::now().into_std()
    }
}

/// A clock that only moves when told to, for deterministic tests on any thread.
///
/// Cloning gives another handle to the same time. Queues and limiters built on it see a
/// jump as soon as [`ManualClock::advance`] returns; getters waiting for a delayed item
/// are woken by the jump.
#[derive(Clone)]
pub struct ManualClock {
    inner: Arc<ManualInner>,
}

struct ManualInner {
    now: Mutex<Instant>,
    listeners: Mutex<Vec<Weak<dyn ClockListener>>>,
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManualClock").field("now", &self.now()).finish()
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl ManualClock {
    /// A manual clock starting at the real current instant.
    pub fn new() -> Self {
        ManualClock {
            inner: Arc::new(ManualInner { now: Mutex::new(Instant::now()), listeners: Mutex::new(Vec::new()) }),
        }
    }

    /// Moves time forward by `d` and wakes everything waiting on this clock.
    pub fn advance(&self, d: Duration) {
        {
            let mut now = self.inner.now.lock().unwrap_or_else(|e| e.into_inner());
            *now += d;
        }
        let live: Vec<Arc<dyn ClockListener>> = {
            let mut listeners = self.inner.listeners.lock().unwrap_or_else(|e| e.into_inner());
            listeners.retain(|l| l.strong_count() > 0);
            listeners.iter().filter_map(Weak::upgrade).collect()
        };
        for l in live {
            l.advanced();
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        *self.inner.now.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn subscribe(&self, listener: Weak<dyn ClockListener>) -> bool {
        self.inner.listeners.lock().unwrap_or_else(|e| e.into_inner()).push(listener);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Counter(AtomicUsize);
    impl ClockListener for Counter {
        fn advanced(&self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn manual_clock_moves_only_when_advanced_and_tells_listeners() {
        let clock = ManualClock::new();
        let t0 = clock.now();
        assert_eq!(clock.now(), t0);
        let counter = Arc::new(Counter(AtomicUsize::new(0)));
        let weak: Weak<dyn ClockListener> = Arc::downgrade(&counter) as Weak<dyn ClockListener>;
        assert!(clock.subscribe(weak));
        clock.advance(Duration::from_secs(3));
        assert_eq!(clock.now() - t0, Duration::from_secs(3));
        assert_eq!(counter.0.load(Ordering::SeqCst), 1);
        drop(counter);
        clock.advance(Duration::from_secs(1)); // dead listener is pruned, no panic
        assert_eq!(clock.inner.listeners.lock().unwrap().len(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn tokio_clock_follows_paused_time() {
        let t0 = TokioClock.now();
        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(TokioClock.now() - t0, Duration::from_secs(10));
        assert!(!TokioClock.subscribe(Weak::<Counter>::new() as Weak<dyn ClockListener>));
    }
}

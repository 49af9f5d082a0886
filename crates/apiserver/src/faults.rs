//! Deterministic fault injection for tests: seeded, switchable at run time through the
//! server handle. Faults cover what real clusters do to clients: watch streams that end,
//! 410 Gone on watches, throttling (429 with Retry-After), server errors and latency.

use std::sync::Mutex;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// An injected error answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InjectedError {
    /// HTTP status: 429, 500 or 503.
    pub code: u16,
    /// Retry-After seconds to send (429 and 503).
    pub retry_after: Option<u64>,
}

#[derive(Debug)]
struct State {
    rng: StdRng,
    close_watch_after: Option<u64>,
    close_watch_probability: f64,
    watch_gone_probability: f64,
    error_rate: f64,
    error: InjectedError,
    latency: Duration,
    refuse_protobuf: bool,
    ignore_protobuf: bool,
}

/// The fault plan of one server. Everything is off until a test turns it on.
#[derive(Debug)]
pub struct Faults {
    state: Mutex<State>,
}

impl Faults {
    /// No faults; random choices come from `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            state: Mutex::new(State {
                rng: StdRng::seed_from_u64(seed),
                close_watch_after: None,
                close_watch_probability: 0.0,
                watch_gone_probability: 0.0,
                error_rate: 0.0,
                error: InjectedError { code: 429, retry_after: Some(1) },
                latency: Duration::ZERO,
                refuse_protobuf: false,
                ignore_protobuf: false,
            }),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Re-seeds the random choices.
    pub fn reseed(&self, seed: u64) {
        self.with(|s| s.rng = StdRng::seed_from_u64(seed));
    }

    /// Turns every fault off.
    pub fn clear(&self) {
        self.with(|s| {
            s.close_watch_after = None;
            s.close_watch_probability = 0.0;
            s.watch_gone_probability = 0.0;
            s.error_rate = 0.0;
            s.latency = Duration::ZERO;
            s.refuse_protobuf = false;
            s.ignore_protobuf = false;
        });
    }

    /// Ends every watch stream after `n` events (None: never).
    pub fn set_close_watch_after(&self, n: Option<u64>) {
        self.with(|s| s.close_watch_after = n);
    }

    /// Ends a watch stream after any event with probability `p`.
    pub fn set_close_watch_probability(&self, p: f64) {
        self.with(|s| s.close_watch_probability = p.clamp(0.0, 1.0));
    }

    /// Answers new watches with an ERROR event carrying 410 Expired, with probability `p`.
    pub fn set_watch_gone_probability(&self, p: f64) {
        self.with(|s| s.watch_gone_probability = p.clamp(0.0, 1.0));
    }

    /// Answers requests (except health checks) with `error` at `rate` (0..=1).
    pub fn set_error_rate(&self, rate: f64, error: InjectedError) {
        self.with(|s| {
            s.error_rate = rate.clamp(0.0, 1.0);
            s.error = error;
        });
    }

    /// Delays every request by `latency`.
    pub fn set_latency(&self, latency: Duration) {
        self.with(|s| s.latency = latency);
    }

    /// Refuses protobuf as a strict server without it would: 415 for a protobuf body, 406
    /// for an `Accept` header that lists protobuf (even next to JSON).
    pub fn set_refuse_protobuf(&self, refuse: bool) {
        self.with(|s| s.refuse_protobuf = refuse);
    }

    /// Whether protobuf is refused.
    pub fn refuses_protobuf(&self) -> bool {
        self.with(|s| s.refuse_protobuf)
    }

    /// Answers JSON whatever `Accept` prefers, as a lenient server without protobuf does
    /// (an aggregated API server, a proxy): clients must look at what they got.
    pub fn set_ignore_protobuf(&self, ignore: bool) {
        self.with(|s| s.ignore_protobuf = ignore);
    }

    /// Whether protobuf in `Accept` is ignored.
    pub fn ignores_protobuf(&self) -> bool {
        self.with(|s| s.ignore_protobuf)
    }

    /// The added latency.
    pub fn latency(&self) -> Duration {
        self.with(|s| s.latency)
    }

    /// Whether this request gets an injected error, and which.
    pub fn request_error(&self) -> Option<InjectedError> {
        self.with(|s| (s.error_rate > 0.0 && s.rng.random_bool(s.error_rate)).then_some(s.error))
    }

    /// Whether a new watch is answered with 410.
    pub fn watch_gone_now(&self) -> bool {
        self.with(|s| s.watch_gone_probability > 0.0 && s.rng.random_bool(s.watch_gone_probability))
    }

    /// Whether a watch stream that has sent `sent` events ends now.
    pub fn close_watch_after(&self, sent: u64) -> bool {
        self.with(|s| {
            s.close_watch_after.is_some_and(|n| sent > n)
                || (s.close_watch_probability > 0.0 && s.rng.random_bool(s.close_watch_probability))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_are_off_until_enabled_and_deterministic() {
        let f = Faults::new(7);
        assert!(f.request_error().is_none());
        assert!(!f.close_watch_after(1_000_000));
        f.set_close_watch_after(Some(3));
        assert!(!f.close_watch_after(3));
        assert!(f.close_watch_after(4));
        f.set_error_rate(0.5, InjectedError { code: 503, retry_after: Some(2) });
        let a: Vec<bool> = (0..32).map(|_| f.request_error().is_some()).collect();
        f.reseed(7);
        let b: Vec<bool> = (0..32).map(|_| f.request_error().is_some()).collect();
        assert_eq!(a, b);
        assert!(a.iter().any(|x| *x) && a.iter().any(|x| !*x));
        f.clear();
        assert!(f.request_error().is_none());
    }
}

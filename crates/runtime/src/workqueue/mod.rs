//! A rate-limited, delaying work queue with the semantics of client-go's
//! `util/workqueue`: deduplicated, fair (FIFO), stingy (one worker per item at a time),
//! with delays, per-item rate limiting, draining shutdown and Prometheus metrics.
//!
//! ```
//! # async fn demo() {
//! use rkube_runtime::workqueue::WorkQueue;
//!
//! let queue: WorkQueue<String> = WorkQueue::new();
//! queue.add("default/web".to_string());
//! while let Some(key) = queue.get().await {
//!     let ok = true; // reconcile(&key)
//!     if ok {
//!         queue.forget(&key); // reset its backoff
//!     } else {
//!         queue.add_rate_limited(key.clone()); // retry later, backing off
//!     }
//!     queue.done(&key); // always
//!     # queue.shut_down();
//! }
//! # }
//! ```
//!
//! Files: `queue.rs` (the handle), `state.rs` (the item lifecycle state machine),
//! `delay.rs` (delayed items), `rate_limit.rs` (limiters), `metrics.rs` (metrics),
//! `clock.rs` (time sources). See docs/workqueue.md for the full contract.

mod clock;
mod delay;
mod metrics;
mod queue;
mod rate_limit;
mod state;

pub use clock::{Clock, ClockListener, ManualClock, TokioClock};
pub use metrics::{MetricsProvider, PrometheusMetrics, QueueMetrics};
pub use queue::{WorkQueue, WorkQueueBuilder};
pub use rate_limit::{
    BucketRateLimiter, DEFAULT_BUCKET_BURST, DEFAULT_BUCKET_QPS, DEFAULT_ITEM_BASE_DELAY, DEFAULT_ITEM_MAX_DELAY,
    ItemExponentialRateLimiter, ItemFastSlowRateLimiter, MaxOfRateLimiter, RateLimiter, WithMaxWaitRateLimiter,
    default_controller_rate_limiter,
};

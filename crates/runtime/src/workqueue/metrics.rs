//! Work queue metrics: a small trait and its Prometheus implementation.
//!
//! A queue reports through [`QueueMetrics`] only when it was built with a name and a
//! [`MetricsProvider`]; otherwise it reads no clock and records nothing, so metrics cost
//! nothing when they are off. [`PrometheusMetrics`] uses client-go's metric names.

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Receives one queue's measurements. Calls are made with the queue's lock held, so
/// implementations must be quick and must not call back into the queue.
pub trait QueueMetrics: Send + Sync {
    /// An item was added to the FIFO (counted once per push, like client-go's adds).
    fn add(&self);
    /// The number of items in the FIFO is now `depth`.
    fn depth(&self, depth: usize);
    /// An item waited `d` in the FIFO before a worker got it.
    fn queue_latency(&self, d: Duration);
    /// A worker held an item for `d` (from get to done).
    fn work_duration(&self, d: Duration);
    /// Items still being processed have been held `total` in sum, the oldest `longest`.
    fn unfinished_work(&self, total: Duration, longest: Duration);
    /// An item was scheduled for a retry (every `add_after` / `add_rate_limited`).
    fn retry(&self);
}

/// Makes the [`QueueMetrics`] of each named queue.
pub trait MetricsProvider: Send + Sync {
    /// The metrics of the queue called `name`.
    fn queue_metrics(&self, name: &str) -> Box<dyn QueueMetrics>;
}

type Labels = Vec<(String, String)>;
type HistogramFamily = Family<Labels, Histogram, fn() -> Histogram>;

fn duration_histogram() -> Histogram {
    // client-go / controller-runtime: ExponentialBuckets(10e-9, 10, 12)
    Histogram::new(exponential_buckets(10e-9, 10.0, 12))
}

/// Prometheus metrics with client-go's names, labelled `{name="<queue name>"}`:
/// `workqueue_depth`, `workqueue_adds_total`, `workqueue_queue_duration_seconds`,
/// `workqueue_work_duration_seconds`, `workqueue_unfinished_work_seconds`,
/// `workqueue_longest_running_processor_seconds`, `workqueue_retries_total`.
///
/// Register once per registry with [`PrometheusMetrics::new`]; clone it to build many
/// queues (each with its own name).
#[derive(Debug, Clone)]
pub struct PrometheusMetrics {
    depth: Family<Labels, Gauge>,
    adds: Family<Labels, Counter>,
    queue_duration: HistogramFamily,
    work_duration: HistogramFamily,
    unfinished: Family<Labels, Gauge<f64, AtomicU64>>,
    longest: Family<Labels, Gauge<f64, AtomicU64>>,
    retries: Family<Labels, Counter>,
}

impl PrometheusMetrics {
    /// Registers the work queue metric families in `registry`.
    pub fn new(registry: &mut Registry) -> Self {
        let m = PrometheusMetrics {
            depth: Family::default(),
            adds: Family::default(),
            queue_duration: Family::new_with_constructor(duration_histogram),
            work_duration: Family::new_with_constructor(duration_histogram),
            unfinished: Family::default(),
            longest: Family::default(),
            retries: Family::default(),
        };
        registry.register("workqueue_depth", "Current depth of workqueue", m.depth.clone());
        registry.register("workqueue_adds", "Total number of adds handled by workqueue", m.adds.clone());
        registry.register(
            "workqueue_queue_duration_seconds",
            "How long in seconds an item stays in workqueue before being requested",
            m.queue_duration.clone(),
        );
        registry.register(
            "workqueue_work_duration_seconds",
            "How long in seconds processing an item from workqueue takes",
            m.work_duration.clone(),
        );
        registry.register(
            "workqueue_unfinished_work_seconds",
            "How many seconds of work has been done that is in progress and hasn't been \
             observed by work_duration. Large values indicate stuck threads.",
            m.unfinished.clone(),
        );
        registry.register(
            "workqueue_longest_running_processor_seconds",
            "How many seconds has the longest running processor for workqueue been running",
            m.longest.clone(),
        );
        registry.register("workqueue_retries", "Total number of retries handled by workqueue", m.retries.clone());
        m
    }
}

impl MetricsProvider for PrometheusMetrics {
    fn queue_metrics(&self, name: &str) -> Box<dyn QueueMetrics> {
        let labels: Labels = vec![("name".to_owned(), name.to_owned())];
        Box::new(PrometheusQueueMetrics {
            depth: self.depth.get_or_create_owned(&labels),
            adds: self.adds.get_or_create_owned(&labels),
            queue_duration: self.queue_duration.get_or_create_owned(&labels),
            work_duration: self.work_duration.get_or_create_owned(&labels),
            unfinished: self.unfinished.get_or_create_owned(&labels),
            longest: self.longest.get_or_create_owned(&labels),
            retries: self.retries.get_or_create_owned(&labels),
        })
    }
}

/// One queue's handles into the [`PrometheusMetrics`] families.
struct PrometheusQueueMetrics {
    depth: Gauge,
    adds: Counter,
    queue_duration: Histogram,
    work_duration: Histogram,
    unfinished: Gauge<f64, AtomicU64>,
    longest: Gauge<f64, AtomicU64>,
    retries: Counter,
}

impl QueueMetrics for PrometheusQueueMetrics {
    fn add(&self) {
        self.adds.inc();
    }
    fn depth(&self, depth: usize) {
        self.depth.set(i64::try_from(depth).unwrap_or(i64::MAX));
    }
    fn queue_latency(&self, d: Duration) {
        self.queue_duration.observe(d.as_secs_f64());
    }
    fn work_duration(&self, d: Duration) {
        self.work_duration.observe(d.as_secs_f64());
    }
    fn unfinished_work(&self, total: Duration, longest: Duration) {
        self.unfinished.set(total.as_secs_f64());
        self.longest.set(longest.as_secs_f64());
    }
    fn retry(&self) {
        self.retries.inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::encoding::text::encode;

    #[test]
    fn prometheus_names_and_labels() {
        let mut registry = Registry::default();
        let provider = PrometheusMetrics::new(&mut registry);
        let m = provider.queue_metrics("pods");
        m.add();
        m.add();
        m.depth(3);
        m.queue_latency(Duration::from_millis(2));
        m.work_duration(Duration::from_secs(1));
        m.unfinished_work(Duration::from_secs(5), Duration::from_secs(3));
        m.retry();
        let mut out = String::new();
        encode(&mut out, &registry).unwrap();
        for line in [
            "workqueue_depth{name=\"pods\"} 3",
            "workqueue_adds_total{name=\"pods\"} 2",
            "workqueue_queue_duration_seconds_count{name=\"pods\"} 1",
            "workqueue_work_duration_seconds_sum{name=\"pods\"} 1.0",
            "workqueue_unfinished_work_seconds{name=\"pods\"} 5.0",
            "workqueue_longest_running_processor_seconds{name=\"pods\"} 3.0",
            "workqueue_retries_total{name=\"pods\"} 1",
        ] {
            assert!(out.contains(line), "missing {line:?} in\n{out}");
        }
    }
}

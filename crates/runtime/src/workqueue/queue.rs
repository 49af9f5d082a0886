//! [`WorkQueue`]: the handle workers and event handlers share.

use std::fmt;
use std::future::Future;
use std::hash::Hash;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Context, Wake, Waker};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::clock::{Clock, ClockListener, TokioClock};
use super::metrics::{MetricsProvider, QueueMetrics};
use super::rate_limit::{RateLimiter, default_controller_rate_limiter};
use super::state::{Added, Finished, State};

/// How often `get`/`done` refresh the unfinished-work gauges (client-go: 500 ms).
const UNFINISHED_WORK_PERIOD: Duration = Duration::from_millis(500);

/// How many times a getter checks for an item (without the lock) before it sleeps.
const SPIN_ROUNDS: usize = 64;

/// A rate-limited, delaying work queue with client-go's semantics.
///
/// Contract:
/// - **Deduplicated**: an item waiting in the queue is there once, however often it is
///   added.
/// - **Fair**: items are handed out in the order they were first added (FIFO).
/// - **Stingy**: an item is never handed to two workers at once. An item added again
///   while a worker holds it is not queued until that worker calls [`WorkQueue::done`];
///   then it is queued (once) and handed out again.
/// - **`done` is required**: every item returned by [`WorkQueue::get`] must be passed to
///   [`WorkQueue::done`], on success and on failure alike, or it stays "processing"
///   forever (and later adds of it never run). [`WorkQueue::forget`] is *not* a
///   substitute: it only resets the rate limiter's memory of the item.
/// - **Delays**: [`WorkQueue::add_after`] queues an item once its delay has passed; a
///   later `add_after` of an item still waiting only moves it earlier. Each pending delay
///   costs O(log n).
/// - **Shutdown and drain**: after [`WorkQueue::shut_down`] adds are ignored, delayed
///   items are dropped, and `get` keeps handing out what is already queued and returns
///   `None` once the queue is empty, so workers drain it.
///   [`WorkQueue::shut_down_with_drain`] also waits until no item is being processed.
///
/// Many producers and many consumers may use it at once, from tokio tasks ([`get`]) or
/// plain threads ([`get_blocking`]). The handle is cheap to clone; clones share one
/// queue. Costs: one short mutex section per operation; a clock is read only for delays
/// and when metrics are on.
///
/// [`get`]: WorkQueue::get
/// [`get_blocking`]: WorkQueue::get_blocking
pub struct WorkQueue<T> {
    inner: Arc<Inner<T>>,
}

impl<T> Clone for WorkQueue<T> {
    fn clone(&self) -> Self {
        WorkQueue { inner: Arc::clone(&self.inner) }
    }
}

struct Inner<T> {
    state: Mutex<State<T>>,
    /// Getters waiting for an item (or for shutdown, or for a delay).
    ready: Notify,
    /// The FIFO's length as of the last change, readable without the lock: a getter
    /// about to sleep spins briefly on it first.
    queued: AtomicUsize,
    /// `shut_down_with_drain` waiting for processing to end.
    drained: Notify,
    clock: Arc<dyn Clock>,
    /// The clock passes time by itself, so waiters arm timers for delayed items.
    timers: bool,
    limiter: Box<dyn RateLimiter<T>>,
    metrics: Option<Box<dyn QueueMetrics>>,
    name: Option<String>,
}

/// Configures a [`WorkQueue`]: name, metrics, clock and rate limiter.
pub struct WorkQueueBuilder<T> {
    name: Option<String>,
    metrics: Option<Box<dyn MetricsProvider>>,
    clock: Arc<dyn Clock>,
    limiter: Option<Box<dyn RateLimiter<T>>>,
}

impl<T: Hash + Eq + Clone + Send + 'static> WorkQueueBuilder<T> {
    /// Names the queue (used as the `name` label of its metrics).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Reports metrics to `provider`; only takes effect when the queue has a name.
    pub fn metrics(mut self, provider: impl MetricsProvider + 'static) -> Self {
        self.metrics = Some(Box::new(provider));
        self
    }

    /// The time source for delays and metrics (default: [`TokioClock`]). It is also the
    /// clock of the default rate limiter; a limiter given to
    /// [`WorkQueueBuilder::rate_limiter`] keeps its own.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The limiter behind `add_rate_limited` (default:
    /// [`default_controller_rate_limiter`]).
    pub fn rate_limiter(mut self, limiter: impl RateLimiter<T> + 'static) -> Self {
        self.limiter = Some(Box::new(limiter));
        self
    }

    /// Builds the queue.
    pub fn build(self) -> WorkQueue<T> {
        let WorkQueueBuilder { name, metrics, clock, limiter } = self;
        let limiter = limiter.unwrap_or_else(|| Box::new(default_controller_rate_limiter(Arc::clone(&clock))));
        let metrics = match (&name, metrics) {
            (Some(name), Some(provider)) => Some(provider.queue_metrics(name)),
            _ => None,
        };
        let inner = Arc::new_cyclic(|weak: &Weak<Inner<T>>| {
            let listener: Weak<dyn ClockListener> = weak.clone();
            let timers = !clock.subscribe(listener);
            Inner {
                state: Mutex::new(State::new()),
                ready: Notify::new(),
                queued: AtomicUsize::new(0),
                drained: Notify::new(),
                clock,
                timers,
                limiter,
                metrics,
                name,
            }
        });
        WorkQueue { inner }
    }
}

impl<T: Hash + Eq + Clone + Send + 'static> Default for WorkQueue<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// One step of `get`: an item, closed, or wait (until the deadline if any).
enum Step<T> {
    Item(T),
    Closed,
    Wait(Option<Instant>),
}

impl<T: Hash + Eq + Clone + Send + 'static> WorkQueue<T> {
    /// A queue with the default controller rate limiter, [`TokioClock`] and no metrics.
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// A builder to set name, metrics, clock and rate limiter.
    pub fn builder() -> WorkQueueBuilder<T> {
        WorkQueueBuilder { name: None, metrics: None, clock: Arc::new(TokioClock), limiter: None }
    }

    /// The queue's name, if it was given one.
    pub fn name(&self) -> Option<&str> {
        self.inner.name.as_deref()
    }

    /// Marks `item` as needing processing. Queued at the back unless it is already
    /// queued (it keeps its place) or being processed (queued again on `done`). Ignored
    /// after shutdown.
    pub fn add(&self, item: T) {
        let inner = &*self.inner;
        let (wake, waiters) = {
            let mut st = inner.lock();
            (inner.add_locked(&mut st, item), st.waiters)
        };
        inner.wake(wake, waiters);
    }

    /// Adds `item` once `delay` has passed (now if `delay` is zero). If the item is
    /// already waiting for a delay, it keeps the earlier of the two times. Ignored after
    /// shutdown. Counts a retry in the metrics.
    pub fn add_after(&self, item: T, delay: Duration) {
        let inner = &*self.inner;
        let ready_at = if delay.is_zero() {
            None
        } else {
            match inner.clock.now().checked_add(delay) {
                Some(at) => Some(at),
                // Beyond what an Instant can hold: it would never be ready.
                None => return,
            }
        };
        let (wake, waiters) = {
            let mut st = inner.lock();
            if st.shutting_down {
                return;
            }
            inner.with_metrics(|m| m.retry());
            match ready_at {
                None => (inner.add_locked(&mut st, item), st.waiters),
                // A new earliest deadline: the timer owner's timer is too late. Revoke it;
                // the getter woken here takes the timer over with the new deadline.
                Some(at) if st.delayed.insert(item, at) && inner.timers => {
                    st.timer_owner = 0;
                    (1, st.waiters)
                }
                Some(_) => (0, 0),
            }
        };
        inner.wake(wake, waiters);
    }

    /// Adds `item` after the delay the rate limiter gives it now.
    pub fn add_rate_limited(&self, item: T) {
        let delay = self.inner.limiter.when(&item);
        self.add_after(item, delay);
    }

    /// Resets the rate limiter's memory of `item` (call it when the item succeeded).
    /// This does not finish the item: [`WorkQueue::done`] is still required.
    pub fn forget(&self, item: &T) {
        self.inner.limiter.forget(item);
    }

    /// How many rate-limited retries the limiter counts for `item`.
    pub fn num_requeues(&self, item: &T) -> usize {
        self.inner.limiter.num_requeues(item)
    }

    /// Waits for the next item and marks it processing. Returns `None` once the queue is
    /// shut down and empty. The caller must call [`WorkQueue::done`] with the item.
    ///
    /// Cancel-safe: dropping the future loses no item. With a clock that passes time by
    /// itself, waiting for a delayed item needs tokio's time driver.
    pub async fn get(&self) -> Option<T> {
        let inner = &*self.inner;
        if let Some(r) = inner.try_step() {
            return r;
        }
        let mut reg = Registration::new(inner);
        loop {
            let mut notified = pin!(inner.ready.notified());
            notified.as_mut().enable();
            let deadline = match reg.step() {
                Step::Item(item) => return Some(item),
                Step::Closed => return None,
                Step::Wait(deadline) => deadline,
            };
            match deadline.filter(|_| inner.timers) {
                Some(deadline) => {
                    let sleep = tokio::time::sleep_until(deadline.into());
                    tokio::select! {
                        _ = notified => {}
                        _ = sleep => {}
                    }
                }
                None => notified.await,
            }
        }
    }

    /// [`WorkQueue::get`] for plain threads: blocks the calling thread. Do not call it
    /// from async code.
    pub fn get_blocking(&self) -> Option<T> {
        let inner = &*self.inner;
        if let Some(r) = inner.try_step() {
            return r;
        }
        // Parking and waking a thread costs microseconds; an item often arrives sooner.
        if inner.spin_for_item()
            && let Some(r) = inner.try_step()
        {
            return r;
        }
        let mut reg = Registration::new(inner);
        loop {
            let mut notified = pin!(inner.ready.notified());
            notified.as_mut().enable();
            let deadline = match reg.step() {
                Step::Item(item) => return Some(item),
                Step::Closed => return None,
                Step::Wait(deadline) => deadline,
            };
            park_until(notified, deadline.filter(|_| inner.timers), &*inner.clock);
        }
    }

    /// An item if one is queued right now (marked processing; `done` required), without
    /// waiting. `None` also when the queue is empty but not shut down.
    pub fn try_get(&self) -> Option<T> {
        match self.inner.try_step() {
            Some(Some(item)) => Some(item),
            _ => None,
        }
    }

    /// Marks `item` finished. If it was added while being processed, it is queued again
    /// now. Calling it for an item that is not being processed does nothing.
    pub fn done(&self, item: &T) {
        let inner = &*self.inner;
        let (wake, waiters, drained) = {
            let mut st = inner.lock();
            // Due delayed items were ready before this re-push: keep their order.
            let mut wake = inner.promote(&mut st);
            if wake > 0 {
                inner.on_pushed(&st, wake);
            }
            match st.done(item) {
                Finished::NotProcessing => {}
                Finished::Removed { started } => inner.on_finished(&mut st, started),
                Finished::Requeued { started } => {
                    inner.on_finished(&mut st, started);
                    inner.with_metrics(|m| m.depth(st.len()));
                    wake += 1;
                }
            }
            if wake > 0 {
                inner.publish(&st);
            }
            let drained = st.draining && st.processing() == 0;
            (wake, st.waiters, drained)
        };
        inner.wake(wake, waiters);
        if drained {
            inner.drained.notify_waiters();
        }
    }

    /// Items queued and ready (not counting items being processed or still delayed).
    pub fn len(&self) -> usize {
        let inner = &*self.inner;
        let (n, pushed, waiters) = {
            let mut st = inner.lock();
            let pushed = inner.promote(&mut st);
            if pushed > 0 {
                inner.on_pushed(&st, pushed);
                inner.publish(&st);
            }
            (st.len(), pushed, st.waiters)
        };
        inner.wake(pushed, waiters);
        n
    }

    /// True when no item is queued and ready.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Items handed out and not yet `done`.
    pub fn processing(&self) -> usize {
        self.inner.lock().processing()
    }

    /// True when no item is queued, being processed or delayed, all seen at one instant
    /// (e.g. to wait until a queue has gone quiet).
    pub fn is_idle(&self) -> bool {
        let st = self.inner.lock();
        st.len() == 0 && st.processing() == 0 && st.delayed.is_empty()
    }

    /// Items waiting for a delay (`add_after`, `add_rate_limited`) to pass.
    pub fn delayed(&self) -> usize {
        self.inner.lock().delayed.len()
    }

    /// Stops the queue: later adds are ignored, items still delayed are dropped, waiting
    /// getters wake up; items already queued are still handed out (workers drain them),
    /// then `get` returns `None`. Cancels a pending [`WorkQueue::shut_down_with_drain`].
    pub fn shut_down(&self) {
        self.stop(false);
        self.inner.drained.notify_waiters();
    }

    /// Shuts down like [`WorkQueue::shut_down`], then waits until no item is being
    /// processed (every handed-out item got its `done`). Items still queued do not delay
    /// it. Hangs if a worker never calls `done`; a later `shut_down` ends the wait.
    pub async fn shut_down_with_drain(&self) {
        self.start_drain();
        loop {
            let mut notified = pin!(self.inner.drained.notified());
            notified.as_mut().enable();
            if self.drain_finished() {
                return;
            }
            notified.await;
        }
    }

    /// [`WorkQueue::shut_down_with_drain`] for plain threads.
    pub fn shut_down_with_drain_blocking(&self) {
        self.start_drain();
        loop {
            let mut notified = pin!(self.inner.drained.notified());
            notified.as_mut().enable();
            if self.drain_finished() {
                return;
            }
            park_until(notified, None, &*self.inner.clock);
        }
    }

    /// True once `shut_down` or `shut_down_with_drain` was called.
    pub fn is_shutting_down(&self) -> bool {
        self.inner.lock().shutting_down
    }

    /// Refreshes the unfinished-work and longest-running-processor gauges now. `get` and
    /// `done` refresh them every 500 ms of activity; call this on a timer (or spawn
    /// [`WorkQueue::run_metrics_updater`]) to see stuck workers on an otherwise idle queue.
    /// Does nothing without metrics.
    pub fn update_unfinished_work_metrics(&self) {
        if self.inner.metrics.is_some() {
            let now = self.inner.clock.now();
            let mut st = self.inner.lock();
            self.inner.report_unfinished(&mut st, now);
        }
    }

    /// Refreshes the unfinished-work gauges every 500 ms (client-go's period) until the
    /// queue is shut down and nothing is processing; spawn it beside the workers. Returns
    /// at once when the queue has no metrics. Needs tokio's time driver.
    pub async fn run_metrics_updater(&self) {
        if self.inner.metrics.is_none() {
            return;
        }
        let mut tick = tokio::time::interval(UNFINISHED_WORK_PERIOD);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            self.update_unfinished_work_metrics();
            let st = self.inner.lock();
            if st.shutting_down && st.processing() == 0 {
                return;
            }
        }
    }

    fn start_drain(&self) {
        self.stop(true);
    }

    /// Shuts down: items whose delay has passed are queued (they were due before the
    /// shutdown), the others dropped; then every getter is woken.
    fn stop(&self, drain: bool) {
        let inner = &*self.inner;
        {
            let mut st = inner.lock();
            let pushed = inner.promote(&mut st);
            if pushed > 0 {
                inner.on_pushed(&st, pushed);
                inner.publish(&st);
            }
            st.shutting_down = true;
            st.draining = drain;
            st.delayed.clear();
        }
        inner.ready.notify_waiters();
    }

    fn drain_finished(&self) -> bool {
        let st = self.inner.lock();
        st.processing() == 0 || !st.draining
    }
}

impl<T: Hash + Eq + Clone + Send + 'static> fmt::Debug for WorkQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.inner.state.lock().unwrap_or_else(|e| e.into_inner());
        f.debug_struct("WorkQueue")
            .field("name", &self.inner.name)
            .field("len", &st.len())
            .field("processing", &st.processing())
            .field("delayed", &st.delayed.len())
            .field("shutting_down", &st.shutting_down)
            .finish()
    }
}

impl<T: Hash + Eq + Clone + Send + 'static> Inner<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // The state is consistent after every method returns; a panic elsewhere (in a
        // metrics sink) must not wedge every worker.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn metrics_now(&self) -> Option<Instant> {
        self.metrics.as_ref().map(|_| self.clock.now())
    }

    fn with_metrics(&self, f: impl FnOnce(&dyn QueueMetrics)) {
        if let Some(m) = &self.metrics {
            f(&**m);
        }
    }

    /// `add` under the lock; returns how many items were pushed (getters to wake).
    fn add_locked(&self, st: &mut State<T>, item: T) -> usize {
        let mnow = self.metrics_now();
        let mut pushed = self.promote(st);
        match st.add(item, mnow) {
            Added::Pushed => pushed += 1,
            Added::Deferred => self.with_metrics(|m| m.add()),
            Added::Ignored | Added::AlreadyQueued => {}
        }
        if pushed > 0 {
            self.on_pushed(st, pushed);
            self.publish(st);
        }
        pushed
    }

    /// Publishes the FIFO length for spinning getters.
    fn publish(&self, st: &State<T>) {
        self.queued.store(st.len(), Ordering::Relaxed);
    }

    /// Spins briefly, without the lock, for an item to arrive; true if one may have.
    fn spin_for_item(&self) -> bool {
        for _ in 0..SPIN_ROUNDS {
            if self.queued.load(Ordering::Relaxed) > 0 {
                return true;
            }
            std::hint::spin_loop();
        }
        false
    }

    /// Moves due delayed items into the FIFO; reads the clock only if any are delayed.
    fn promote(&self, st: &mut State<T>) -> usize {
        if st.delayed.is_empty() {
            return 0;
        }
        let now = self.clock.now();
        st.promote(now, self.metrics.as_ref().map(|_| now))
    }

    fn on_pushed(&self, st: &State<T>, pushed: usize) {
        self.with_metrics(|m| {
            for _ in 0..pushed {
                m.add();
            }
            m.depth(st.len());
        });
    }

    fn on_finished(&self, st: &mut State<T>, started: Option<Instant>) {
        if let (Some(m), Some(started)) = (&self.metrics, started) {
            let now = self.clock.now();
            m.work_duration(now.saturating_duration_since(started));
            self.maybe_report_unfinished(st, now);
        }
    }

    fn maybe_report_unfinished(&self, st: &mut State<T>, now: Instant) {
        let due = match st.metrics_tick {
            Some(last) => now.saturating_duration_since(last) >= UNFINISHED_WORK_PERIOD,
            None => true,
        };
        if due {
            self.report_unfinished(st, now);
        }
    }

    fn report_unfinished(&self, st: &mut State<T>, now: Instant) {
        if let Some(m) = &self.metrics {
            st.metrics_tick = Some(now);
            let (mut total, mut longest) = (Duration::ZERO, Duration::ZERO);
            for started in st.processing_started() {
                let held = now.saturating_duration_since(started);
                total += held;
                longest = longest.max(held);
            }
            m.unfinished_work(total, longest);
        }
    }

    /// Wakes up to `n` registered getters (none if nobody waits).
    fn wake(&self, n: usize, waiters: usize) {
        for _ in 0..n.min(waiters) {
            self.ready.notify_one();
        }
    }

    /// The fast path of `get`: `Some` if it can answer without waiting.
    fn try_step(&self) -> Option<Option<T>> {
        let (r, extra, waiters) = {
            let mut st = self.lock();
            let (step, extra) = self.step(&mut st);
            let r = match step {
                Step::Item(item) => Some(Some(item)),
                Step::Closed => Some(None),
                Step::Wait(_) => None,
            };
            (r, extra, st.waiters)
        };
        self.wake(extra, waiters);
        r
    }

    /// Promotes due items and pops one. Returns the step and how many other pushed items
    /// still need a getter woken.
    fn step(&self, st: &mut State<T>) -> (Step<T>, usize) {
        let pushed = self.promote(st);
        if pushed > 0 {
            self.on_pushed(st, pushed);
        }
        let mnow = self.metrics_now();
        let popped = st.pop(mnow);
        self.publish(st);
        match popped {
            Some((item, since)) => {
                if let Some(m) = &self.metrics {
                    m.depth(st.len());
                    if let (Some(since), Some(now)) = (since, mnow) {
                        m.queue_latency(now.saturating_duration_since(since));
                        self.maybe_report_unfinished(st, now);
                    }
                }
                (Step::Item(item), pushed.saturating_sub(1))
            }
            None if st.shutting_down => (Step::Closed, pushed),
            None => (Step::Wait(st.delayed.next_deadline()), pushed),
        }
    }
}

impl<T: Send> ClockListener for Inner<T> {
    fn advanced(&self) {
        // Delayed items may be due: let every waiting getter look.
        self.ready.notify_waiters();
    }
}

/// A getter counted in `State::waiters` while it may sleep; uncounted on drop, so a
/// cancelled `get` leaves no stale count.
struct Registration<'a, T: Hash + Eq + Clone + Send + 'static> {
    inner: &'a Inner<T>,
    armed: bool,
    /// The `State::timer_owner` token this getter holds (0: none). Only the owner of the
    /// token sleeps with a timer for the earliest delayed item; other getters sleep
    /// until notified, so a deadline wakes one getter, not all of them.
    timer: u64,
}

impl<'a, T: Hash + Eq + Clone + Send + 'static> Registration<'a, T> {
    fn new(inner: &'a Inner<T>) -> Self {
        Registration { inner, armed: false, timer: 0 }
    }

    /// Under one lock: unregister, try to take an item, register again if it must wait
    /// (taking the timer if nobody has it). Returns the deadline to sleep until, if any.
    fn step(&mut self) -> Step<T> {
        let inner = self.inner;
        let (step, extra, waiters) = {
            let mut st = inner.lock();
            if self.armed {
                st.waiters -= 1;
                self.armed = false;
            }
            self.release_timer(&mut st);
            let (step, mut extra) = inner.step(&mut st);
            let step = match step {
                Step::Wait(deadline) => {
                    st.waiters += 1;
                    self.armed = true;
                    match deadline {
                        Some(d) if inner.timers && st.timer_owner == 0 => {
                            st.timer_epoch += 1;
                            st.timer_owner = st.timer_epoch;
                            self.timer = st.timer_epoch;
                            Step::Wait(Some(d))
                        }
                        _ => Step::Wait(None),
                    }
                }
                other => {
                    // Leaving with an item: if delayed items have no timer owner now,
                    // wake a waiting getter to take the timer over.
                    if inner.timers && st.timer_owner == 0 && !st.delayed.is_empty() {
                        extra += 1;
                    }
                    other
                }
            };
            (step, extra, st.waiters)
        };
        inner.wake(extra, waiters);
        step
    }

    fn release_timer(&mut self, st: &mut State<T>) {
        if self.timer != 0 {
            if st.timer_owner == self.timer {
                st.timer_owner = 0;
            }
            self.timer = 0;
        }
    }
}

impl<T: Hash + Eq + Clone + Send + 'static> Drop for Registration<'_, T> {
    fn drop(&mut self) {
        if self.armed || self.timer != 0 {
            let inner = self.inner;
            let (hand_over, waiters) = {
                let mut st = inner.lock();
                if self.armed {
                    st.waiters -= 1;
                    self.armed = false;
                }
                let owned = self.timer != 0 && st.timer_owner == self.timer;
                self.release_timer(&mut st);
                (owned && !st.delayed.is_empty(), st.waiters)
            };
            // A cancelled timer owner passes the timer on.
            if hand_over {
                inner.wake(1, waiters);
            }
        }
    }
}

/// Wakes a parked thread.
struct ThreadWaker(Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Blocks the thread until `fut` completes or `deadline` (on `clock`) passes.
fn park_until<F: Future>(mut fut: Pin<&mut F>, deadline: Option<Instant>, clock: &dyn Clock) {
    let waker = Waker::from(Arc::new(ThreadWaker(thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if fut.as_mut().poll(&mut cx).is_ready() {
            return;
        }
        match deadline {
            None => thread::park(),
            Some(deadline) => {
                let now = clock.now();
                if now >= deadline {
                    return;
                }
                thread::park_timeout(deadline - now);
            }
        }
    }
}

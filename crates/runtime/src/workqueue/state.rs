//! The queue's state machine, free of locks and time sources so it can be tested and
//! model-checked on its own. [`super::WorkQueue`] wraps it in a mutex.
//!
//! Lifecycle of an item (absent = not in `items`):
//!
//! ```text
//!  absent --add--> Queued --pop--> Processing --done--> absent
//!                                   |      ^
//!                                  add    done (pushed back, Queued)
//!                                   v      |
//!                              ProcessingDirty
//! ```

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::time::Instant;

use super::delay::DelayHeap;

/// The hash map of the queue's item tables: foldhash, seeded per map. Several times
/// faster than SipHash on short keys; the per-map random seed keeps crafted keys from
/// predicting collisions.
pub(crate) type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Where one item is in its lifecycle. One byte: the map stays small and cache-friendly
/// even with millions of queued items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ItemState {
    /// In the FIFO, waiting for a worker.
    Queued,
    /// Handed to a worker; not in the FIFO.
    Processing,
    /// Handed to a worker and added again meanwhile: goes back in the FIFO on `done`.
    ProcessingDirty,
}

/// Metric timestamps of one item, kept only when the queue has metrics.
#[derive(Debug, Clone, Copy, Default)]
struct Times {
    /// When it was last added (for the queue latency metric).
    since: Option<Instant>,
    /// When a worker got it (for the work duration metric).
    started: Option<Instant>,
}

/// What [`State::add`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Added {
    /// Shutting down: ignored.
    Ignored,
    /// Already queued: nothing to do (it keeps its place).
    AlreadyQueued,
    /// Being processed: marked to be queued again on `done`.
    Deferred,
    /// Pushed at the back of the FIFO: a waiter may be woken.
    Pushed,
}

/// What [`State::done`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Finished {
    /// The item was not being processed (a caller bug, or a duplicate `done`).
    NotProcessing,
    /// Finished; forgotten by the queue. `started` is when it was handed out.
    Removed {
        /// When it was handed out.
        started: Option<Instant>,
    },
    /// Finished, and it had been added again: pushed back in the FIFO.
    Requeued {
        /// When it was handed out.
        started: Option<Instant>,
    },
}

/// Dirty set, processing set and FIFO in one map plus one deque, and the delay heap.
///
/// Operations given `now: Some(..)` (metrics on) also keep per-item timestamps in a side
/// map; with `None` they cost nothing.
#[derive(Debug)]
pub(crate) struct State<T> {
    fifo: VecDeque<T>,
    items: Map<T, ItemState>,
    times: Map<T, Times>,
    processing: usize,
    pub(crate) delayed: DelayHeap<T>,
    pub(crate) shutting_down: bool,
    pub(crate) draining: bool,
    /// Getters registered on the queue's `Notify` (a hint: may be briefly too high).
    pub(crate) waiters: usize,
    /// Token of the getter that sleeps with a timer for the earliest delayed item (0: none).
    pub(crate) timer_owner: u64,
    /// Last token handed out as `timer_owner`.
    pub(crate) timer_epoch: u64,
    /// When the unfinished-work gauges were last refreshed (metrics only).
    pub(crate) metrics_tick: Option<Instant>,
}

impl<T: Hash + Eq + Clone> State<T> {
    pub(crate) fn new() -> Self {
        State {
            fifo: VecDeque::new(),
            items: HashMap::default(),
            times: HashMap::default(),
            processing: 0,
            delayed: DelayHeap::new(),
            shutting_down: false,
            draining: false,
            waiters: 0,
            timer_owner: 0,
            timer_epoch: 0,
            metrics_tick: None,
        }
    }

    /// Items in the FIFO (not counting those being processed or delayed).
    pub(crate) fn len(&self) -> usize {
        self.fifo.len()
    }

    /// Items handed out and not yet `done`.
    pub(crate) fn processing(&self) -> usize {
        self.processing
    }

    /// Adds `item`: queued once however often it is added; deferred while processed.
    pub(crate) fn add(&mut self, item: T, now: Option<Instant>) -> Added {
        if self.shutting_down {
            return Added::Ignored;
        }
        let added = match self.items.entry(item) {
            Entry::Vacant(e) => {
                self.fifo.push_back(e.key().clone());
                let e = e.insert_entry(ItemState::Queued);
                if now.is_some() {
                    self.times.entry(e.key().clone()).or_default().since = now;
                }
                return Added::Pushed;
            }
            Entry::Occupied(mut e) => match *e.get() {
                ItemState::Queued | ItemState::ProcessingDirty => return Added::AlreadyQueued,
                ItemState::Processing => {
                    e.insert(ItemState::ProcessingDirty);
                    e
                }
            },
        };
        if now.is_some() {
            if let Some(t) = self.times.get_mut(added.key()) {
                t.since = now;
            }
        }
        Added::Deferred
    }

    /// Hands out the oldest queued item, marking it processing. Returns it with the time
    /// it was added.
    pub(crate) fn pop(&mut self, now: Option<Instant>) -> Option<(T, Option<Instant>)> {
        let item = self.fifo.pop_front()?;
        let state = self.items.get_mut(&item).expect("an item in the FIFO is always in the item map");
        *state = ItemState::Processing;
        self.processing += 1;
        let mut since = None;
        if now.is_some() {
            let t = self.times.entry(item.clone()).or_default();
            since = t.since.take();
            t.started = now;
        }
        Some((item, since))
    }

    /// Marks `item` finished; an item added while it was processed goes back in the FIFO.
    pub(crate) fn done(&mut self, item: &T) -> Finished {
        let Some(state) = self.items.get_mut(item) else {
            return Finished::NotProcessing;
        };
        match *state {
            ItemState::Queued => Finished::NotProcessing,
            ItemState::Processing => {
                self.items.remove(item);
                self.processing -= 1;
                let started =
                    if self.times.is_empty() { None } else { self.times.remove(item).and_then(|t| t.started) };
                Finished::Removed { started }
            }
            ItemState::ProcessingDirty => {
                *state = ItemState::Queued;
                self.processing -= 1;
                self.fifo.push_back(item.clone());
                let started = self.times.get_mut(item).and_then(|t| t.started.take());
                Finished::Requeued { started }
            }
        }
    }

    /// Moves delayed items whose time has come into the FIFO, in ready order.
    /// Returns how many were pushed.
    pub(crate) fn promote(&mut self, now: Instant, metrics_now: Option<Instant>) -> usize {
        let mut pushed = 0;
        while let Some(item) = self.delayed.pop_ready(now) {
            if self.add(item, metrics_now) == Added::Pushed {
                pushed += 1;
            }
        }
        pushed
    }

    /// Start times of the items being processed (for the unfinished-work metrics).
    pub(crate) fn processing_started(&self) -> impl Iterator<Item = Instant> + '_ {
        self.times.values().filter_map(|t| t.started)
    }

    /// The lifecycle state of `item`, if the queue knows it.
    #[cfg(test)]
    pub(crate) fn state_of(&self, item: &T) -> Option<ItemState> {
        self.items.get(item).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::{BTreeMap, BTreeSet};

    #[test]
    fn lifecycle() {
        let mut s = State::new();
        assert_eq!(s.add("a", None), Added::Pushed);
        assert_eq!(s.add("a", None), Added::AlreadyQueued);
        assert_eq!(s.len(), 1);
        assert_eq!(s.pop(None).map(|p| p.0), Some("a"));
        assert_eq!(s.state_of(&"a"), Some(ItemState::Processing));
        assert_eq!(s.pop(None), None);
        assert_eq!(s.add("a", None), Added::Deferred);
        assert_eq!(s.add("a", None), Added::AlreadyQueued);
        assert_eq!(s.len(), 0, "not pushed while processing");
        assert_eq!(s.done(&"a"), Finished::Requeued { started: None });
        assert_eq!(s.len(), 1);
        assert_eq!(s.done(&"a"), Finished::NotProcessing);
        assert_eq!(s.pop(None).map(|p| p.0), Some("a"));
        assert_eq!(s.done(&"a"), Finished::Removed { started: None });
        assert_eq!(s.state_of(&"a"), None);
        assert_eq!(s.processing(), 0);
        s.shutting_down = true;
        assert_eq!(s.add("b", None), Added::Ignored);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Add(u8),
        Get,
        Done(usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![(0u8..6).prop_map(Op::Add), Just(Op::Get), (0usize..8).prop_map(Op::Done),]
    }

    proptest! {
        /// Against a model of sets: FIFO order of first add, never two holders of one
        /// item, a re-add during processing runs exactly once more, nothing lost.
        #[test]
        fn matches_the_model(ops in proptest::collection::vec(op(), 0..200)) {
            let mut s = State::new();
            let mut model_fifo: Vec<u8> = Vec::new();
            let mut dirty: BTreeSet<u8> = BTreeSet::new();
            let mut processing: BTreeSet<u8> = BTreeSet::new();
            let mut held: Vec<u8> = Vec::new();
            let mut adds: BTreeMap<u8, usize> = BTreeMap::new();
            for op in ops {
                match op {
                    Op::Add(x) => {
                        *adds.entry(x).or_default() += 1;
                        s.add(x, None);
                        if !dirty.contains(&x) {
                            dirty.insert(x);
                            if !processing.contains(&x) {
                                model_fifo.push(x);
                            }
                        }
                    }
                    Op::Get => {
                        let got = s.pop(None).map(|p| p.0);
                        let want = if model_fifo.is_empty() { None } else { Some(model_fifo.remove(0)) };
                        prop_assert_eq!(got, want);
                        if let Some(x) = got {
                            prop_assert!(!held.contains(&x), "item {} handed to two workers", x);
                            held.push(x);
                            dirty.remove(&x);
                            processing.insert(x);
                        }
                    }
                    Op::Done(i) => {
                        if held.is_empty() { continue; }
                        let x = held.remove(i % held.len());
                        let r = s.done(&x);
                        processing.remove(&x);
                        if dirty.contains(&x) {
                            prop_assert!(matches!(r, Finished::Requeued { .. }), "expected requeue");
                            model_fifo.push(x);
                        } else {
                            prop_assert!(matches!(r, Finished::Removed { .. }), "expected removal");
                        }
                    }
                }
                prop_assert_eq!(s.len(), model_fifo.len());
                prop_assert_eq!(s.processing(), held.len());
            }
        }
    }
}

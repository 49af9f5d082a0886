//! Items waiting for their time before they enter the queue (`add_after`).
//!
//! A binary min-heap ordered by (ready time, insertion sequence) plus a map from item to
//! its current ready time. Moving an item earlier pushes a new heap entry and leaves the
//! old one behind as stale; stale entries are skipped when they surface. Each insert and
//! each pop costs O(log n).

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::collections::hash_map::Entry as MapEntry;
use std::hash::Hash;
use std::time::Instant;

use super::state::Map;

/// The delayed items of one queue. Not synchronised: the queue's lock guards it.
#[derive(Debug)]
pub(crate) struct DelayHeap<T> {
    heap: BinaryHeap<HeapEntry<T>>,
    /// item -> (ready time, sequence of its live heap entry)
    waiting: Map<T, (Instant, u64)>,
    seq: u64,
}

#[derive(Debug)]
struct HeapEntry<T> {
    ready_at: Instant,
    seq: u64,
    item: T,
}

impl<T> PartialEq for HeapEntry<T> {
    fn eq(&self, other: &Self) -> bool {
        self.ready_at == other.ready_at && self.seq == other.seq
    }
}
impl<T> Eq for HeapEntry<T> {}
impl<T> PartialOrd for HeapEntry<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for HeapEntry<T> {
    /// Reversed so that `BinaryHeap` (a max-heap) yields the earliest entry first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.ready_at, other.seq).cmp(&(self.ready_at, self.seq))
    }
}

impl<T: Hash + Eq + Clone> DelayHeap<T> {
    pub(crate) fn new() -> Self {
        DelayHeap { heap: BinaryHeap::new(), waiting: Map::default(), seq: 0 }
    }

    /// Number of distinct items waiting.
    pub(crate) fn len(&self) -> usize {
        self.waiting.len()
    }

    /// True when nothing is waiting (stale heap entries may remain).
    pub(crate) fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    /// Schedules `item` for `ready_at`. An item already waiting only moves earlier.
    /// Returns true if this insert is now the first to become ready.
    pub(crate) fn insert(&mut self, item: T, ready_at: Instant) -> bool {
        let seq = self.seq;
        match self.waiting.entry(item) {
            MapEntry::Occupied(mut e) => {
                if e.get().0 <= ready_at {
                    return false;
                }
                *e.get_mut() = (ready_at, seq);
                let item = e.key().clone();
                self.heap.push(HeapEntry { ready_at, seq, item });
            }
            MapEntry::Vacant(e) => {
                let item = e.key().clone();
                e.insert((ready_at, seq));
                self.heap.push(HeapEntry { ready_at, seq, item });
            }
        }
        self.seq += 1;
        self.next_deadline(); // drops stale entries on top
        self.heap.peek().is_some_and(|top| top.seq == seq)
    }

    /// The earliest ready time, dropping stale entries on top of the heap.
    pub(crate) fn next_deadline(&mut self) -> Option<Instant> {
        while let Some(top) = self.heap.peek() {
            if self.is_live(top) {
                return Some(top.ready_at);
            }
            self.heap.pop();
        }
        None
    }

    /// Removes and returns the earliest item whose time has come by `now`.
    pub(crate) fn pop_ready(&mut self, now: Instant) -> Option<T> {
        loop {
            let top = self.heap.peek()?;
            if !self.is_live(top) {
                self.heap.pop();
                continue;
            }
            if top.ready_at > now {
                return None;
            }
            let entry = self.heap.pop()?;
            self.waiting.remove(&entry.item);
            return Some(entry.item);
        }
    }

    /// Forgets every waiting item.
    pub(crate) fn clear(&mut self) {
        self.heap.clear();
        self.waiting.clear();
    }

    fn is_live(&self, e: &HeapEntry<T>) -> bool {
        self.waiting.get(&e.item) == Some(&(e.ready_at, e.seq))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn pops_in_ready_order_then_insertion_order() {
        let t0 = Instant::now();
        let mut h = DelayHeap::new();
        assert!(h.insert("c", t0 + ms(30)));
        assert!(h.insert("a", t0 + ms(10)));
        assert!(!h.insert("b", t0 + ms(10))); // same time, later sequence
        assert_eq!(h.len(), 3);
        assert_eq!(h.pop_ready(t0 + ms(9)), None);
        assert_eq!(h.pop_ready(t0 + ms(10)), Some("a"));
        assert_eq!(h.pop_ready(t0 + ms(10)), Some("b"));
        assert_eq!(h.pop_ready(t0 + ms(29)), None);
        assert_eq!(h.next_deadline(), Some(t0 + ms(30)));
        assert_eq!(h.pop_ready(t0 + ms(100)), Some("c"));
        assert!(h.is_empty());
        assert_eq!(h.next_deadline(), None);
    }

    #[test]
    fn a_later_insert_only_moves_earlier() {
        let t0 = Instant::now();
        let mut h = DelayHeap::new();
        h.insert("x", t0 + ms(50));
        assert!(!h.insert("x", t0 + ms(80))); // later: ignored
        assert_eq!(h.next_deadline(), Some(t0 + ms(50)));
        assert!(h.insert("x", t0 + ms(20))); // earlier: moves
        assert_eq!(h.len(), 1);
        assert_eq!(h.next_deadline(), Some(t0 + ms(20)));
        assert_eq!(h.pop_ready(t0 + ms(20)), Some("x"));
        // The stale entry at 50ms is never handed out.
        assert_eq!(h.pop_ready(t0 + ms(1000)), None);
        assert_eq!(h.next_deadline(), None);
    }

    #[test]
    fn reinserted_after_pop_is_a_new_wait() {
        let t0 = Instant::now();
        let mut h = DelayHeap::new();
        h.insert(1, t0 + ms(5));
        h.insert(1, t0 + ms(1));
        assert_eq!(h.pop_ready(t0 + ms(1)), Some(1));
        h.insert(1, t0 + ms(5)); // same time as the stale entry; must pop exactly once
        assert_eq!(h.pop_ready(t0 + ms(5)), Some(1));
        assert_eq!(h.pop_ready(t0 + ms(5)), None);
    }

    #[test]
    fn many_timers() {
        let t0 = Instant::now();
        let mut h = DelayHeap::new();
        for i in (0..10_000u64).rev() {
            h.insert(i, t0 + ms(i));
        }
        for i in 0..10_000u64 {
            assert_eq!(h.pop_ready(t0 + ms(i)), Some(i));
        }
        assert!(h.is_empty());
    }
}

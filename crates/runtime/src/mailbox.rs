//! A handler's bounded buffer of pending notifications.
//!
//! Up to `capacity` notifications queue in order, one per store change, as client-go's
//! listener buffers do. Past that the buffer stops growing with the event rate: a change to
//! an object that already has a notification waiting is folded into it (add + update = add
//! of the newest state, update + update = update from the oldest to the newest state,
//! update + delete = delete, add + delete = nothing). The buffer then holds at most about
//! two notifications per object, a slow handler still ends at the store's final state, and
//! the reflector and the other handlers never wait for it. The price, only while a handler
//! is that far behind: it sees fewer intermediate states, and changes to different objects
//! arrive in the order of each object's first waiting change.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rkube_core::{Object, ObjectKey};
use tokio::sync::Notify;

use crate::informer::DeletedObject;

/// One notification for a handler.
pub(crate) enum Note<K> {
    Add(Arc<K>, bool),
    Update(Arc<K>, Arc<K>),
    Delete(DeletedObject<K>),
    Synced,
}

impl<K: Object> Note<K> {
    fn key(&self) -> Option<ObjectKey> {
        match self {
            Note::Add(o, _) | Note::Update(_, o) => Some(o.key()),
            Note::Delete(d) => Some(d.object().key()),
            Note::Synced => None,
        }
    }
}

/// The counters a registration exposes.
#[derive(Default)]
pub(crate) struct MailboxStats {
    /// Notifications waiting.
    pub pending: AtomicUsize,
    /// Notifications folded into earlier ones because the buffer was full.
    pub coalesced: AtomicU64,
}

struct State<K> {
    /// Waiting notifications; `None` marks one cancelled by folding (add + delete).
    queue: VecDeque<Option<Note<K>>>,
    /// Absolute position of `queue[0]`, so positions in `last` stay valid across pops.
    head: u64,
    live: usize,
    /// While over capacity: each object's last waiting notification.
    last: Option<HashMap<ObjectKey, u64>>,
    closed: bool,
}

/// A bounded, folding queue of notifications with a wake-up for its consumer (sent by
/// [`Mailbox::flush`], so that a burst of changes costs one wake-up).
pub(crate) struct Mailbox<K> {
    state: Mutex<State<K>>,
    capacity: usize,
    wake: Notify,
    stats: Arc<MailboxStats>,
}

impl<K: Object> Mailbox<K> {
    /// An empty mailbox that queues `capacity` notifications before folding (at least 1).
    pub fn new(capacity: usize) -> Self {
        Self {
            state: Mutex::new(State { queue: VecDeque::new(), head: 0, live: 0, last: None, closed: false }),
            capacity: capacity.max(1),
            wake: Notify::new(),
            stats: Arc::default(),
        }
    }

    /// The mailbox's counters.
    pub fn stats(&self) -> Arc<MailboxStats> {
        self.stats.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State<K>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues `note`, folding it into a waiting one for the same object when full.
    pub fn push(&self, note: Note<K>) {
        let mut s = self.lock();
        if s.closed {
            return;
        }
        if s.last.is_none() && s.live >= self.capacity {
            tracing::warn!(
                capacity = self.capacity,
                "informer handler is {} notifications behind; folding further changes per object until it catches up",
                s.live
            );
            s.last = Some(index(&s.queue, s.head));
        }
        if s.last.is_some() {
            self.fold(&mut s, note);
        } else {
            s.queue.push_back(Some(note));
            s.live += 1;
        }
        self.publish(&s);
    }

    /// Wakes the consumer if notifications wait. Producers push a burst, then flush once.
    pub fn flush(&self) {
        if self.lock().live > 0 {
            self.wake.notify_one();
        }
    }

    fn fold(&self, s: &mut State<K>, note: Note<K>) {
        let Some(key) = note.key() else {
            s.queue.push_back(Some(note));
            s.live += 1;
            return;
        };
        let head = s.head;
        let pos = s.last.as_ref().and_then(|m| m.get(&key).copied());
        let slot = pos.and_then(|p| p.checked_sub(head)).and_then(|i| s.queue.get_mut(i as usize));
        if let Some(slot) = slot
            && let Some(prev) = slot.take()
        {
            match merge(prev, note) {
                Merged::Into(n) => *slot = Some(n),
                Merged::Cancelled => {
                    s.live -= 1;
                    if let Some(m) = s.last.as_mut() {
                        m.remove(&key);
                    }
                }
                Merged::Both(prev, n) => {
                    *slot = Some(prev);
                    self.append(s, key, n);
                    return;
                }
            }
            self.stats.coalesced.fetch_add(1, Ordering::Relaxed);
            self.compact(s);
            return;
        }
        self.append(s, key, note);
    }

    fn append(&self, s: &mut State<K>, key: ObjectKey, note: Note<K>) {
        let pos = s.head + s.queue.len() as u64;
        s.queue.push_back(Some(note));
        s.live += 1;
        if let Some(m) = s.last.as_mut() {
            m.insert(key, pos);
        }
    }

    /// Drops cancelled slots once they outnumber the live ones, so folding keeps the queue
    /// bounded.
    fn compact(&self, s: &mut State<K>) {
        if s.queue.len() <= 2 * s.live + 64 {
            return;
        }
        s.queue.retain(|n| n.is_some());
        s.head = 0;
        s.last = Some(index(&s.queue, 0));
    }

    fn publish(&self, s: &State<K>) {
        self.stats.pending.store(s.live, Ordering::Relaxed);
    }

    /// Takes the oldest waiting notification, if any.
    pub fn pop(&self) -> Option<Note<K>> {
        let mut s = self.lock();
        while let Some(slot) = s.queue.pop_front() {
            let pos = s.head;
            s.head += 1;
            if let Some(note) = slot {
                s.live -= 1;
                if s.live == 0 {
                    // Caught up: back to one notification per change.
                    s.last = None;
                    s.queue.clear();
                } else if let (Some(m), Some(key)) = (s.last.as_mut(), note.key())
                    && m.get(&key) == Some(&pos)
                {
                    m.remove(&key);
                }
                self.publish(&s);
                return Some(note);
            }
        }
        None
    }

    /// Waits until a notification may be waiting (or the mailbox closed).
    pub async fn ready(&self) {
        self.wake.notified().await
    }

    /// Whether the mailbox was closed (nothing more will arrive).
    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// Stops accepting notifications and wakes the consumer so it can finish.
    pub fn close(&self) {
        self.lock().closed = true;
        self.wake.notify_one();
    }
}

fn index<K: Object>(queue: &VecDeque<Option<Note<K>>>, head: u64) -> HashMap<ObjectKey, u64> {
    let mut m = HashMap::with_capacity(queue.len());
    for (i, n) in queue.iter().enumerate() {
        if let Some(key) = n.as_ref().and_then(Note::key) {
            m.insert(key, head + i as u64);
        }
    }
    m
}

enum Merged<K> {
    Into(Note<K>),
    Cancelled,
    Both(Note<K>, Note<K>),
}

/// Folds `next` into `prev`, two notifications for the same object.
fn merge<K>(prev: Note<K>, next: Note<K>) -> Merged<K> {
    match (prev, next) {
        (Note::Add(_, initial), Note::Update(_, new)) => Merged::Into(Note::Add(new, initial)),
        (Note::Update(old, _), Note::Update(_, new)) => Merged::Into(Note::Update(old, new)),
        (Note::Update(..), Note::Delete(d)) => Merged::Into(Note::Delete(d)),
        (Note::Add(..), Note::Delete(_)) => Merged::Cancelled,
        // A delete followed by a re-create (a new object under the same key) stays two
        // notifications; anything else keeps its order too.
        (prev, next) => Merged::Both(prev, next),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ConfigMap;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn cm(name: &str, rv: u32) -> Arc<ConfigMap> {
        Arc::new(ConfigMap {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some("ns".into()),
                resource_version: Some(rv.to_string()),
                ..Default::default()
            },
            ..Default::default()
        })
    }

    fn describe(n: &Note<ConfigMap>) -> String {
        let rv = |o: &Arc<ConfigMap>| {
            format!(
                "{}@{}",
                o.metadata.name.as_deref().unwrap_or(""),
                o.metadata.resource_version.as_deref().unwrap_or("")
            )
        };
        match n {
            Note::Add(o, _) => format!("add {}", rv(o)),
            Note::Update(a, b) => format!("update {}->{}", rv(a), rv(b)),
            Note::Delete(d) => format!("delete {}", rv(d.object())),
            Note::Synced => "synced".into(),
        }
    }

    fn drain(m: &Mailbox<ConfigMap>) -> Vec<String> {
        std::iter::from_fn(|| m.pop()).map(|n| describe(&n)).collect()
    }

    #[test]
    fn under_capacity_every_change_is_delivered_in_order() {
        let m = Mailbox::new(10);
        m.push(Note::Add(cm("a", 1), false));
        m.push(Note::Update(cm("a", 1), cm("a", 2)));
        m.push(Note::Delete(DeletedObject::Final(cm("a", 3))));
        assert_eq!(drain(&m), ["add a@1", "update a@1->a@2", "delete a@3"]);
        assert_eq!(m.stats().coalesced.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn over_capacity_changes_fold_per_object_and_end_at_the_final_state() {
        let m = Mailbox::new(2);
        m.push(Note::Add(cm("a", 1), false));
        m.push(Note::Add(cm("b", 2), false));
        // Full: from here on, changes fold into the waiting ones.
        for rv in 3..100 {
            m.push(Note::Update(cm("a", rv - 1), cm("a", rv)));
        }
        m.push(Note::Add(cm("c", 100), false));
        m.push(Note::Update(cm("c", 100), cm("c", 101)));
        m.push(Note::Delete(DeletedObject::Final(cm("b", 102))));
        m.push(Note::Add(cm("d", 103), false));
        m.push(Note::Delete(DeletedObject::Final(cm("d", 104))));
        // b's add and delete, both waiting, cancel out; so do d's.
        assert_eq!(m.stats().pending.load(Ordering::Relaxed), 2);
        assert_eq!(drain(&m), ["add a@99", "add c@101"]);
    }

    #[test]
    fn folding_stays_bounded_under_churn_and_ends_after_catching_up() {
        let m = Mailbox::new(1);
        m.push(Note::Add(cm("x", 0), false));
        for rv in 1..10_000 {
            m.push(Note::Add(cm("y", rv), false));
            m.push(Note::Delete(DeletedObject::Final(cm("y", rv))));
        }
        let (len, live) = {
            let st = m.lock();
            (st.queue.len(), st.live)
        };
        assert!(len <= 2 * live + 64, "cancelled slots are compacted: {len} slots, {live} live");
        assert_eq!(drain(&m), ["add x@0"]);
        // Caught up: the folding index is gone and a change is queued as itself.
        assert!(m.lock().last.is_none());
        let folded = m.stats().coalesced.load(Ordering::Relaxed);
        m.push(Note::Update(cm("x", 0), cm("x", 1)));
        assert_eq!(drain(&m), ["update x@0->x@1"]);
        assert_eq!(m.stats().coalesced.load(Ordering::Relaxed), folded);
    }

    #[test]
    fn delete_then_recreate_stays_two_notifications() {
        let m = Mailbox::new(1);
        m.push(Note::Add(cm("z", 0), false));
        m.push(Note::Update(cm("a", 1), cm("a", 2)));
        m.push(Note::Delete(DeletedObject::Final(cm("a", 3))));
        m.push(Note::Add(cm("a", 4), false));
        m.push(Note::Update(cm("a", 4), cm("a", 5)));
        assert_eq!(drain(&m), ["add z@0", "delete a@3", "add a@5"]);
    }
}

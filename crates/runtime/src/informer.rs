//! Shared informers: one reflector and one store per resource, fanning every change out to
//! any number of registered handlers.
//!
//! Guarantees:
//! - every handler sees the events of one informer in the order the store applied them;
//! - a handler added after start first receives the current objects as adds (with
//!   `is_initial_list = true`), then every later change;
//! - deletes that were missed while a watch was down are delivered after the next relist as
//!   [`DeletedObject::Tombstone`] carrying the last known object;
//! - each handler has its own bounded buffer and task, so a slow handler never stalls the
//!   reflector or the other handlers; when its buffer is full, further changes fold per
//!   object into the waiting notifications (`InformerOptions::handler_capacity`): memory stays bounded
//!   and the handler still ends at the final state of every object;
//! - handlers run on tokio tasks: keep them short (enqueue a key, update a counter).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rkube_core::Object;
use tokio::sync::watch;

use crate::lister::Lister;
use crate::mailbox::{Mailbox, MailboxStats, Note};
use crate::reflector::{Reflector, ReflectorOptions, ReflectorState, Target};
use crate::source::ListWatch;
use crate::store::{Store, Transform};

/// The object of a delete notification.
#[derive(Debug, Clone)]
pub enum DeletedObject<K> {
    /// The watch saw the delete; this is the object's final state.
    Final(Arc<K>),
    /// The delete was only noticed by a relist; this is the last state the store had.
    Tombstone(Arc<K>),
}

impl<K> DeletedObject<K> {
    /// The deleted object (final or last known state).
    pub fn object(&self) -> &Arc<K> {
        match self {
            Self::Final(o) | Self::Tombstone(o) => o,
        }
    }
}

/// Reacts to changes of an informer's objects. Every method has an empty default.
pub trait EventHandler<K>: Send + Sync + 'static {
    /// An object appeared (`is_initial_list`: it was part of a list, not a watch event).
    fn on_add(&self, _obj: &Arc<K>, _is_initial_list: bool) {}
    /// An object changed (or a resync re-delivered it unchanged: `old` equals `new`).
    fn on_update(&self, _old: &Arc<K>, _new: &Arc<K>) {}
    /// An object was deleted.
    fn on_delete(&self, _obj: &DeletedObject<K>) {}
}

type AddFn<K> = Box<dyn Fn(&Arc<K>, bool) + Send + Sync>;
type UpdateFn<K> = Box<dyn Fn(&Arc<K>, &Arc<K>) + Send + Sync>;
type DeleteFn<K> = Box<dyn Fn(&DeletedObject<K>) + Send + Sync>;

/// A handler made of closures, for quick use.
pub struct FnHandler<K> {
    add: Option<AddFn<K>>,
    update: Option<UpdateFn<K>>,
    delete: Option<DeleteFn<K>>,
}

impl<K> Default for FnHandler<K> {
    fn default() -> Self {
        Self { add: None, update: None, delete: None }
    }
}

impl<K> FnHandler<K> {
    /// Sets the add callback (builder style).
    pub fn on_add(mut self, f: impl Fn(&Arc<K>, bool) + Send + Sync + 'static) -> Self {
        self.add = Some(Box::new(f));
        self
    }

    /// Sets the update callback (builder style).
    pub fn on_update(mut self, f: impl Fn(&Arc<K>, &Arc<K>) + Send + Sync + 'static) -> Self {
        self.update = Some(Box::new(f));
        self
    }

    /// Sets the delete callback (builder style).
    pub fn on_delete(mut self, f: impl Fn(&DeletedObject<K>) + Send + Sync + 'static) -> Self {
        self.delete = Some(Box::new(f));
        self
    }
}

impl<K: Send + Sync + 'static> EventHandler<K> for FnHandler<K> {
    fn on_add(&self, obj: &Arc<K>, initial: bool) {
        if let Some(f) = &self.add {
            f(obj, initial)
        }
    }

    fn on_update(&self, old: &Arc<K>, new: &Arc<K>) {
        if let Some(f) = &self.update {
            f(old, new)
        }
    }

    fn on_delete(&self, obj: &DeletedObject<K>) {
        if let Some(f) = &self.delete {
            f(obj)
        }
    }
}

struct Registration<K: Object> {
    id: u64,
    mailbox: Arc<Mailbox<K>>,
}

impl<K: Object> Drop for Registration<K> {
    fn drop(&mut self) {
        self.mailbox.close();
    }
}

struct Processor<K: Object> {
    registrations: Vec<Registration<K>>,
}

struct Inner<K: Object> {
    store: Store<K>,
    processor: Mutex<Processor<K>>,
    synced: watch::Sender<bool>,
    handler_capacity: usize,
}

impl<K: Object> Inner<K> {
    fn lock(&self) -> std::sync::MutexGuard<'_, Processor<K>> {
        self.processor.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn send(&self, p: &Processor<K>, note: impl Fn() -> Note<K>) {
        for r in &p.registrations {
            r.mailbox.push(note());
        }
    }
}

fn flush<K: Object>(p: &Processor<K>) {
    for r in &p.registrations {
        r.mailbox.flush();
    }
}

impl<K: Object> Target<K> for Inner<K> {
    fn relist_begin(&self) {
        self.store.begin_replace();
    }

    fn relist_items(&self, objects: Vec<K>) {
        self.store.push_replace(objects);
    }

    fn relist_remove(&self, object: &K) {
        self.store.remove_replace(&object.key());
    }

    fn relist_done(&self, _rv: &str) {
        let p = self.lock();
        let initial = !*self.synced.borrow();
        let diff = self.store.finish_replace();
        for o in diff.added {
            self.send(&p, || Note::Add(o.clone(), initial));
        }
        for (old, new) in diff.updated {
            self.send(&p, || Note::Update(old.clone(), new.clone()));
        }
        for o in diff.deleted {
            self.send(&p, || Note::Delete(DeletedObject::Tombstone(o.clone())));
        }
        if initial {
            self.send(&p, || Note::Synced);
            self.synced.send_replace(true);
        }
        flush(&p);
    }

    fn flush(&self) {
        flush(&self.lock());
    }

    fn apply(&self, object: K) {
        let p = self.lock();
        let (new, old) = self.store.apply(object);
        match old {
            Some(old) => self.send(&p, || Note::Update(old.clone(), new.clone())),
            None => self.send(&p, || Note::Add(new.clone(), false)),
        }
    }

    fn delete(&self, object: K) {
        let p = self.lock();
        let key = object.key();
        if self.store.delete(&key).is_some() {
            let last = Arc::new(object);
            self.send(&p, || Note::Delete(DeletedObject::Final(last.clone())));
        }
    }
}

/// Options of a shared informer.
#[derive(Clone)]
pub struct InformerOptions<K> {
    /// How the reflector lists and watches (page size, selectors, watch-list).
    pub reflector: ReflectorOptions,
    /// Transform applied to objects before they enter the store.
    pub transform: Option<Transform<K>>,
    /// Notifications a handler's buffer holds before further changes fold per object
    /// (see the module documentation).
    pub handler_capacity: usize,
    /// Keep `metadata.managedFields`. Off by default: typed informers drop them while
    /// decoding, which halves decode time and memory for typical pods; turn this on if your
    /// handlers read them.
    pub keep_managed_fields: bool,
}

impl<K> Default for InformerOptions<K> {
    fn default() -> Self {
        Self {
            reflector: ReflectorOptions::default(),
            transform: None,
            handler_capacity: 10_000,
            keep_managed_fields: false,
        }
    }
}

/// A handler's registration: its sync state, and the way to remove it.
pub struct HandlerRegistration {
    id: u64,
    synced: watch::Receiver<bool>,
    stats: Arc<MailboxStats>,
    task: tokio::task::JoinHandle<()>,
    remove: Box<dyn Fn(u64) + Send + Sync>,
}

impl HandlerRegistration {
    /// Whether this handler has received the whole initial list.
    pub fn has_synced(&self) -> bool {
        *self.synced.borrow()
    }

    /// Waits until this handler has received the whole initial list.
    pub async fn wait_for_sync(&mut self) {
        let _ = self.synced.wait_for(|s| *s).await;
    }

    /// Notifications waiting for this handler.
    pub fn lag(&self) -> usize {
        self.stats.pending.load(Ordering::Relaxed)
    }

    /// Changes folded into waiting notifications because this handler's buffer was full.
    pub fn coalesced(&self) -> u64 {
        self.stats.coalesced.load(Ordering::Relaxed)
    }

    /// Stops delivering to this handler (events still queued are dropped).
    pub fn remove(self) {
        (self.remove)(self.id);
        self.task.abort();
    }
}

/// One reflector and one store for a resource, shared by any number of handlers.
/// Cheap to clone.
pub struct SharedInformer<K: Object> {
    inner: Arc<Inner<K>>,
    source: Arc<dyn ListWatch<K>>,
    opts: ReflectorOptions,
    started: Arc<AtomicBool>,
    state: Arc<Mutex<Option<watch::Receiver<ReflectorState>>>>,
}

impl<K: Object> Clone for SharedInformer<K> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            source: self.source.clone(),
            opts: self.opts.clone(),
            started: self.started.clone(),
            state: self.state.clone(),
        }
    }
}

static NEXT_REGISTRATION: AtomicU64 = AtomicU64::new(1);

impl<K: Object> SharedInformer<K> {
    /// An informer over `source`; nothing happens until [`SharedInformer::start`].
    pub fn new(source: Arc<dyn ListWatch<K>>, opts: InformerOptions<K>) -> Self {
        let mut store = Store::new();
        if let Some(t) = opts.transform {
            store = store.with_transform(t);
        }
        let inner = Arc::new(Inner {
            store,
            processor: Mutex::new(Processor { registrations: Vec::new() }),
            synced: watch::channel(false).0,
            handler_capacity: opts.handler_capacity,
        });
        Self { inner, source, opts: opts.reflector, started: Arc::new(AtomicBool::new(false)), state: Arc::default() }
    }

    /// The informer's store.
    pub fn store(&self) -> &Store<K> {
        &self.inner.store
    }

    /// A lister over the store.
    pub fn lister(&self) -> Lister<K> {
        Lister::new(self.inner.store.clone())
    }

    /// Adds a named indexer to the store (allowed before or after start).
    pub fn add_indexer(&self, name: impl Into<String>, f: impl Fn(&K) -> Vec<String> + Send + Sync + 'static) {
        self.inner.store.add_indexer(name, f);
    }

    /// Starts the reflector (once; later calls do nothing). It stops when `shutdown` turns true.
    pub fn start(&self, shutdown: watch::Receiver<bool>) {
        if self.started.swap(true, Ordering::SeqCst) {
            return;
        }
        let reflector = Reflector::new(self.source.clone(), self.opts.clone());
        *self.state.lock().unwrap_or_else(|p| p.into_inner()) = Some(reflector.states());
        let target: Arc<dyn Target<K>> = self.inner.clone();
        tokio::spawn(reflector.run(target, shutdown));
    }

    /// Whether the informer was started.
    pub fn is_started(&self) -> bool {
        self.started.load(Ordering::SeqCst)
    }

    /// Whether the first list has reached the store.
    pub fn has_synced(&self) -> bool {
        *self.inner.synced.borrow()
    }

    /// Waits for the first list, up to `timeout`; returns whether it arrived.
    pub async fn wait_for_sync(&self, timeout: Duration) -> bool {
        let mut rx = self.inner.synced.subscribe();
        tokio::time::timeout(timeout, rx.wait_for(|s| *s)).await.is_ok_and(|r| r.is_ok())
    }

    /// The reflector's current state, once started.
    pub fn reflector_state(&self) -> Option<ReflectorState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).as_ref().map(|rx| rx.borrow().clone())
    }

    /// Registers a handler; `resync` re-delivers every object as an update periodically.
    pub fn add_handler(&self, handler: impl EventHandler<K>, resync: Option<Duration>) -> HandlerRegistration {
        let mailbox = Arc::new(Mailbox::new(self.inner.handler_capacity));
        let (synced_tx, synced) = watch::channel(false);
        let id = NEXT_REGISTRATION.fetch_add(1, Ordering::Relaxed);
        {
            let mut p = self.inner.lock();
            // Under the processor lock: no store change can slip between this snapshot and
            // the registration.
            for o in self.inner.store.list() {
                mailbox.push(Note::Add(o, true));
            }
            if *self.inner.synced.borrow() {
                mailbox.push(Note::Synced);
            }
            mailbox.flush();
            p.registrations.push(Registration { id, mailbox: mailbox.clone() });
        }
        let stats = mailbox.stats();
        let store = self.inner.store.clone();
        let task = tokio::spawn(async move {
            let mut ticker = resync.map(|d| {
                let mut t = tokio::time::interval_at(tokio::time::Instant::now() + d, d);
                t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                t
            });
            loop {
                while let Some(note) = mailbox.pop() {
                    match note {
                        Note::Add(o, initial) => handler.on_add(&o, initial),
                        Note::Update(old, new) => handler.on_update(&old, &new),
                        Note::Delete(d) => handler.on_delete(&d),
                        Note::Synced => {
                            synced_tx.send_replace(true);
                        }
                    }
                }
                if mailbox.is_closed() {
                    return;
                }
                tokio::select! {
                    _ = mailbox.ready() => {}
                    _ = async { match ticker.as_mut() { Some(t) => { t.tick().await; } None => std::future::pending().await } } => {
                        for o in store.list() {
                            handler.on_update(&o, &o);
                        }
                    }
                }
            }
        });
        let inner = Arc::downgrade(&self.inner);
        let remove = Box::new(move |id: u64| {
            if let Some(inner) = inner.upgrade() {
                inner.lock().registrations.retain(|r| r.id != id);
            }
        });
        HandlerRegistration { id, synced, stats, task, remove }
    }
}

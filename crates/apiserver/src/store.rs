//! The object store: one global, strictly increasing resourceVersion (like etcd's revision),
//! objects kept as their canonical JSON bytes plus the attributes queries need, a bounded
//! window of past events per resource for watches and paginated snapshots, and a broadcast
//! of new events to watchers.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use tokio::sync::broadcast;

/// Labels and selectable field values of one object version, for selector matching.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attrs {
    /// The object's labels.
    pub labels: BTreeMap<String, String>,
    /// Field-selector values (`metadata.name`, `spec.nodeName`, ...).
    pub fields: BTreeMap<String, String>,
    /// uids of the object's owners (ownerReferences), for garbage collection.
    pub owners: Vec<String>,
}

/// One stored object version: its canonical JSON and query attributes. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Stored {
    /// The object's JSON exactly as served (resourceVersion included).
    pub bytes: Bytes,
    /// The resourceVersion this version was written at.
    pub rv: u64,
    /// Labels and field values.
    pub attrs: Arc<Attrs>,
}

/// What happened to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// Created.
    Added,
    /// Changed.
    Modified,
    /// Removed; the event carries the last state.
    Deleted,
}

impl EventType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "ADDED",
            Self::Modified => "MODIFIED",
            Self::Deleted => "DELETED",
        }
    }
}

/// One change to a resource, serialised once and shared by every watcher.
#[derive(Debug)]
pub struct Event {
    /// The resourceVersion of the change.
    pub rv: u64,
    /// What happened.
    pub kind: EventType,
    /// The object's namespace ("" when cluster-scoped).
    pub namespace: String,
    /// The object's name.
    pub name: String,
    /// The new state (the last state for deletes).
    pub object: Stored,
    /// The previous state (for modifications and deletes).
    pub prev: Option<Stored>,
    /// The watch line `{"type":...,"object":...}\n` for watchers without selector transitions.
    pub line: Bytes,
}

impl Event {
    /// The watch line for this event with another type (selector transitions).
    pub fn line_as(&self, kind: EventType) -> Bytes {
        if kind == self.kind {
            return self.line.clone();
        }
        // An object that stops matching leaves as DELETED with its previous content at the
        // event's resourceVersion, as kube-apiserver's watch cache sends it.
        if kind == EventType::Deleted {
            if let Some(prev) = &self.prev {
                return watch_line(kind.as_str(), &with_resource_version(&prev.bytes, self.rv));
            }
        }
        watch_line(kind.as_str(), &self.object.bytes)
    }
}

/// An object's bytes with `metadata.resourceVersion` replaced.
pub fn with_resource_version(bytes: &[u8], rv: u64) -> Vec<u8> {
    match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(mut v) => {
            if let Some(m) = v.get_mut("metadata").and_then(serde_json::Value::as_object_mut) {
                m.insert("resourceVersion".into(), rv.to_string().into());
            }
            serde_json::to_vec(&v).unwrap_or_else(|_| bytes.to_vec())
        }
        Err(_) => bytes.to_vec(),
    }
}

/// Serialises one watch event line.
pub fn watch_line(kind: &str, object: &[u8]) -> Bytes {
    let mut line = Vec::with_capacity(object.len() + 32);
    line.extend_from_slice(b"{\"type\":\"");
    line.extend_from_slice(kind.as_bytes());
    line.extend_from_slice(b"\",\"object\":");
    line.extend_from_slice(object);
    line.extend_from_slice(b"}\n");
    Bytes::from(line)
}

/// (namespace, name); namespace is "" for cluster-scoped objects. Ordered as kube-apiserver lists.
pub type ObjKey = (String, String);

/// A paginated or exact-version read is older than the event window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooOld {
    /// The oldest resourceVersion still readable.
    pub oldest: u64,
}

struct Collection {
    objects: BTreeMap<ObjKey, Stored>,
    events: VecDeque<Arc<Event>>,
    // Events at or below this rv have been dropped from `events`.
    compacted: u64,
    tx: broadcast::Sender<Arc<Event>>,
}

impl Collection {
    fn new(compacted: u64) -> Self {
        Self { objects: BTreeMap::new(), events: VecDeque::new(), compacted, tx: broadcast::channel(4096).0 }
    }
}

struct Inner {
    rev: u64,
    window: usize,
    collections: HashMap<String, Collection>,
}

/// The store shared by every request handler. All writes serialise on one lock, as writes to
/// etcd serialise on its revision; reads copy out reference-counted bytes and release it.
pub struct Store {
    inner: Mutex<Inner>,
}

/// A consistent starting point for a watch: past events to replay, then live ones.
pub struct WatchStart {
    /// Events after the requested resourceVersion, already in the window.
    pub backlog: Vec<Arc<Event>>,
    /// Current objects (for watches that start with synthetic ADDED events).
    pub initial: Vec<(ObjKey, Stored)>,
    /// The revision at the moment of subscribing.
    pub rev: u64,
    /// New events from here on.
    pub live: broadcast::Receiver<Arc<Event>>,
}

impl Store {
    /// An empty store keeping `window` past events per resource.
    pub fn new(window: usize) -> Self {
        Self { inner: Mutex::new(Inner { rev: 1, window: window.max(1), collections: HashMap::new() }) }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave a half-applied write: every write
        // mutates only after all fallible work is done. So poisoning is safe to ignore.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The current (latest) resourceVersion.
    pub fn revision(&self) -> u64 {
        self.lock().rev
    }

    /// Changes the number of past events kept per resource; shrinking compacts at once.
    pub fn set_window(&self, window: usize) {
        let mut inner = self.lock();
        inner.window = window.max(1);
        let w = inner.window;
        for c in inner.collections.values_mut() {
            while c.events.len() > w {
                let ev = c.events.pop_front().expect("non-empty");
                c.compacted = ev.rv;
            }
        }
    }

    /// Drops every past event (as if etcd compacted to now) and returns the revision.
    pub fn compact(&self) -> u64 {
        let mut inner = self.lock();
        let rev = inner.rev;
        for c in inner.collections.values_mut() {
            c.events.clear();
            c.compacted = rev;
        }
        rev
    }

    /// One object.
    pub fn get(&self, resource: &str, key: &ObjKey) -> Option<Stored> {
        self.lock().collections.get(resource)?.objects.get(key).cloned()
    }

    /// A page of objects of a resource (optionally in one namespace) as they were at
    /// resourceVersion `at` (None: now), after key `after`, that `keep` accepts: up to `limit`
    /// items (0: all), the number of accepted items left after the page, and the revision read
    /// at. Past states are rebuilt from the current one and the event window; reading before
    /// the window is an error.
    pub fn list(
        &self,
        resource: &str,
        namespace: Option<&str>,
        at: Option<u64>,
        after: Option<&ObjKey>,
        limit: usize,
        mut keep: impl FnMut(&Stored) -> bool,
    ) -> Result<ListPage, TooOld> {
        let inner = self.lock();
        let rev = at.unwrap_or(inner.rev);
        let Some(c) = inner.collections.get(resource) else {
            return Ok(ListPage { items: Vec::new(), remaining: 0, more: false, rev });
        };
        if rev < c.compacted {
            return Err(TooOld { oldest: c.compacted + 1 });
        }
        // Undo the events newer than `rev`, newest first: the overlay maps a key to its state then.
        let mut overlay: BTreeMap<ObjKey, Option<&Stored>> = BTreeMap::new();
        for ev in c.events.iter().rev().take_while(|ev| ev.rv > rev) {
            let before = match ev.kind {
                EventType::Added => None,
                EventType::Modified | EventType::Deleted => ev.prev.as_ref(),
            };
            overlay.insert((ev.namespace.clone(), ev.name.clone()), before);
        }
        let in_scope = |k: &ObjKey| namespace.is_none_or(|ns| k.0 == ns) && after.is_none_or(|a| k > a);
        let mut past = overlay.iter().filter(|(k, _)| in_scope(k)).filter_map(|(k, v)| Some((k, (*v)?))).peekable();
        let mut now = range(&c.objects, namespace, after).filter(|(k, _)| !overlay.contains_key(k)).peekable();
        let mut page = ListPage { items: Vec::new(), remaining: 0, more: false, rev };
        loop {
            let next = match (now.peek(), past.peek()) {
                (None, None) => break,
                (Some(_), None) => now.next(),
                (None, Some(_)) => past.next(),
                (Some(a), Some(b)) => {
                    if a.0 < b.0 {
                        now.next()
                    } else {
                        past.next()
                    }
                }
            };
            let (k, v) = next.expect("peeked");
            // Like etcd, a full page says "more" when any key follows, matching or not.
            if limit > 0 && page.items.len() == limit {
                page.more = true;
            }
            if !keep(v) {
                continue;
            }
            if limit == 0 || page.items.len() < limit {
                page.items.push((k.clone(), v.clone()));
            } else {
                page.remaining += 1;
            }
        }
        Ok(page)
    }

    /// Writes an object version built by `build` from the current one and the new revision.
    /// `build` returns the new JSON and attributes, or an error that leaves the store unchanged;
    /// `Ok(None)` means "no change" (the current object is returned and nothing is written).
    pub fn write<E>(
        &self,
        resource: &str,
        key: &ObjKey,
        build: impl FnOnce(Option<&Stored>, u64) -> Result<Option<(Vec<u8>, Attrs)>, E>,
    ) -> Result<WriteOutcome, E> {
        let mut inner = self.lock();
        let next = inner.rev + 1;
        let window = inner.window;
        let compacted = inner.rev;
        let c = inner.collections.entry(resource.to_string()).or_insert_with(|| Collection::new(compacted));
        let prev = c.objects.get(key).cloned();
        let Some((bytes, attrs)) = build(prev.as_ref(), next)? else {
            return Ok(WriteOutcome::Unchanged(prev));
        };
        let stored = Stored { bytes: Bytes::from(bytes), rv: next, attrs: Arc::new(attrs) };
        c.objects.insert(key.clone(), stored.clone());
        let kind = if prev.is_some() { EventType::Modified } else { EventType::Added };
        push_event(c, window, next, kind, key, stored.clone(), prev);
        inner.rev = next;
        Ok(WriteOutcome::Written(stored))
    }

    /// Removes an object, if `check` accepts its current state; the DELETED event carries
    /// `last` (the final state with the new resourceVersion) built from it.
    pub fn delete<E>(
        &self,
        resource: &str,
        key: &ObjKey,
        last: impl FnOnce(&Stored, u64) -> Result<(Vec<u8>, Attrs), E>,
    ) -> Result<Option<Stored>, E> {
        let mut inner = self.lock();
        let next = inner.rev + 1;
        let window = inner.window;
        let Some(c) = inner.collections.get_mut(resource) else { return Ok(None) };
        let Some(prev) = c.objects.get(key).cloned() else { return Ok(None) };
        let (bytes, attrs) = last(&prev, next)?;
        let stored = Stored { bytes: Bytes::from(bytes), rv: next, attrs: Arc::new(attrs) };
        c.objects.remove(key);
        push_event(c, window, next, EventType::Deleted, key, stored.clone(), Some(prev));
        inner.rev = next;
        Ok(Some(stored))
    }

    /// Removes every object of a resource without events (its CRD went away) and closes its watches.
    pub fn drop_resource(&self, resource: &str) {
        self.lock().collections.remove(resource);
    }

    /// Subscribes to a resource's events after `since` (None: start with the current objects).
    pub fn watch(&self, resource: &str, namespace: Option<&str>, since: Option<u64>) -> Result<WatchStart, TooOld> {
        let mut inner = self.lock();
        let rev = inner.rev;
        let c = inner.collections.entry(resource.to_string()).or_insert_with(|| Collection::new(rev));
        let live = c.tx.subscribe();
        match since {
            None => Ok(WatchStart {
                backlog: Vec::new(),
                initial: range(&c.objects, namespace, None).map(|(k, v)| (k.clone(), v.clone())).collect(),
                rev,
                live,
            }),
            Some(rv) if rv < c.compacted => Err(TooOld { oldest: c.compacted + 1 }),
            Some(rv) => Ok(WatchStart {
                backlog: c.events.iter().filter(|e| e.rv > rv).cloned().collect(),
                initial: Vec::new(),
                rev,
                live,
            }),
        }
    }

    /// Objects (resource key, object key) that name `uid` among their owners.
    pub fn dependents(&self, uid: &str) -> Vec<(String, ObjKey)> {
        let inner = self.lock();
        let mut out = Vec::new();
        for (res, c) in &inner.collections {
            for (k, v) in &c.objects {
                if v.attrs.owners.iter().any(|o| o == uid) {
                    out.push((res.clone(), k.clone()));
                }
            }
        }
        out
    }

    /// The current bytes of every object that names `uid` among its owners.
    pub fn dependent_objects(&self, uid: &str) -> Vec<Bytes> {
        let inner = self.lock();
        let mut out = Vec::new();
        for c in inner.collections.values() {
            out.extend(c.objects.values().filter(|v| v.attrs.owners.iter().any(|o| o == uid)).map(|v| v.bytes.clone()));
        }
        out
    }

    /// Drops every watcher of every resource (their streams end), keeping the data.
    pub fn close_watches(&self) {
        for c in self.lock().collections.values_mut() {
            c.tx = broadcast::channel(4096).0;
        }
    }

    /// Forgets the event window and closes watches, keeping the data: what a restart of
    /// kube-apiserver looks like to clients.
    pub fn restart(&self) {
        self.compact();
        self.close_watches();
    }
}

/// One page of a list.
#[derive(Debug)]
pub struct ListPage {
    /// The objects, in key order.
    pub items: Vec<(ObjKey, Stored)>,
    /// Matching objects after this page.
    pub remaining: usize,
    /// Whether the page is full and any object (matching or not) follows it.
    pub more: bool,
    /// The revision the page was read at.
    pub rev: u64,
}

/// The result of [`Store::write`].
#[derive(Debug)]
pub enum WriteOutcome {
    /// A new version was written.
    Written(Stored),
    /// Nothing changed; the current version (if any).
    Unchanged(Option<Stored>),
}

fn push_event(
    c: &mut Collection,
    window: usize,
    rv: u64,
    kind: EventType,
    key: &ObjKey,
    object: Stored,
    prev: Option<Stored>,
) {
    let line = watch_line(kind.as_str(), &object.bytes);
    let ev = Arc::new(Event { rv, kind, namespace: key.0.clone(), name: key.1.clone(), object, prev, line });
    c.events.push_back(ev.clone());
    while c.events.len() > window {
        let old = c.events.pop_front().expect("non-empty");
        c.compacted = old.rv;
    }
    // No receivers is fine.
    let _ = c.tx.send(ev);
}

fn range<'a>(
    objects: &'a BTreeMap<ObjKey, Stored>,
    namespace: Option<&'a str>,
    after: Option<&'a ObjKey>,
) -> impl Iterator<Item = (&'a ObjKey, &'a Stored)> + 'a {
    use std::ops::Bound;
    let start = match (after, namespace) {
        (Some(a), _) => Bound::Excluded(a.clone()),
        (None, Some(ns)) => Bound::Included((ns.to_string(), String::new())),
        (None, None) => Bound::Unbounded,
    };
    objects.range((start, Bound::Unbounded)).take_while(move |(k, _)| namespace.is_none_or(|ns| k.0 == ns))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(store: &Store, ns: &str, name: &str, body: &str) -> u64 {
        let key = (ns.to_string(), name.to_string());
        match store.write::<()>("cm", &key, |_, _| Ok(Some((body.as_bytes().to_vec(), Attrs::default())))).unwrap() {
            WriteOutcome::Written(s) => s.rv,
            WriteOutcome::Unchanged(_) => unreachable!(),
        }
    }

    fn names(items: &[(ObjKey, Stored)]) -> Vec<String> {
        items.iter().map(|(k, v)| format!("{}/{}={}", k.0, k.1, String::from_utf8_lossy(&v.bytes))).collect()
    }

    #[test]
    fn revisions_increase_across_resources() {
        let store = Store::new(100);
        let a = put(&store, "a", "x", "1");
        let key = ("".to_string(), "n".to_string());
        store.write::<()>("nodes", &key, |_, _| Ok(Some((b"n".to_vec(), Attrs::default())))).unwrap();
        let b = put(&store, "a", "y", "2");
        assert!(b > a + 1);
        assert_eq!(store.revision(), b);
    }

    #[test]
    fn list_at_rebuilds_past_snapshots() {
        let store = Store::new(100);
        put(&store, "a", "1", "v1");
        put(&store, "a", "2", "v1");
        let snap = put(&store, "b", "3", "v1");
        put(&store, "a", "2", "v2");
        put(&store, "a", "0", "new");
        store.delete::<()>("cm", &("b".into(), "3".into()), |s, _| Ok((s.bytes.to_vec(), Attrs::default()))).unwrap();
        let now = store.list("cm", None, None, None, 0, |_| true).unwrap();
        assert_eq!(names(&now.items), ["a/0=new", "a/1=v1", "a/2=v2"]);
        let then = store.list("cm", None, Some(snap), None, 0, |_| true).unwrap();
        assert_eq!(names(&then.items), ["a/1=v1", "a/2=v1", "b/3=v1"]);
        let after = store.list("cm", Some("a"), Some(snap), Some(&("a".into(), "1".into())), 0, |_| true).unwrap();
        assert_eq!(names(&after.items), ["a/2=v1"]);
        let paged = store.list("cm", None, Some(snap), None, 2, |_| true).unwrap();
        assert_eq!((paged.items.len(), paged.remaining), (2, 1));
        let filtered = store.list("cm", None, None, None, 0, |s| &s.bytes[..] != b"new").unwrap();
        assert_eq!(filtered.items.len(), 2);
    }

    #[test]
    fn window_bounds_history() {
        let store = Store::new(2);
        let first = put(&store, "a", "1", "x");
        put(&store, "a", "1", "y");
        put(&store, "a", "1", "z");
        // Events after `first` are all still in the window: `first` is readable.
        assert!(store.list("cm", None, Some(first), None, 0, |_| true).is_ok());
        put(&store, "a", "1", "w");
        assert!(store.list("cm", None, Some(first), None, 0, |_| true).is_err());
        assert!(store.watch("cm", None, Some(first)).is_err());
        let last = store.revision();
        assert!(store.watch("cm", None, Some(last)).is_ok());
        store.compact();
        assert!(store.watch("cm", None, Some(last - 1)).is_err());
    }

    #[tokio::test]
    async fn watch_replays_backlog_then_live_events() {
        let store = Store::new(100);
        let start = put(&store, "a", "1", "x");
        put(&store, "a", "1", "y");
        let mut w = store.watch("cm", None, Some(start)).unwrap();
        assert_eq!(w.backlog.len(), 1);
        assert_eq!(w.backlog[0].kind, EventType::Modified);
        put(&store, "a", "2", "z");
        let ev = w.live.recv().await.unwrap();
        assert_eq!((ev.kind, ev.name.as_str()), (EventType::Added, "2"));
        assert_eq!(
            &ev.line[..],
            br#"{"type":"ADDED","object":z}
"#
        );
    }
}

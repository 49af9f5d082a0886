//! The reflector: keeps a target (store or informer) equal to the server's state for one
//! resource by listing, then watching from the list's resourceVersion, relisting when the
//! watch falls out of the server's window, and backing off on errors — client-go's
//! `Reflector`, as an explicit state machine.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt};
use rand::Rng;
use rkube_client::Error;
use rkube_core::options::ResourceVersionMatch;
use rkube_core::{ListOptions, Object, WatchEvent, WatchOptions};
use tokio::sync::watch;

use crate::backoff::Backoff;
use crate::source::{ListWatch, WatchStream};

/// Receives what the reflector learns. Implemented by [`Store`](crate::Store) and by the
/// shared informer (which also notifies handlers).
///
/// A relist arrives in pieces so it never has to be held whole next to the live content:
/// `relist_begin`, then `relist_items` (and `relist_remove`) any number of times, then
/// `relist_done`, which makes it visible at once.
pub trait Target<K>: Send + Sync {
    /// A relist starts (an unfinished earlier one is discarded).
    fn relist_begin(&self);
    /// Objects of the relist.
    fn relist_items(&self, objects: Vec<K>);
    /// An object of the relist went away before it ended.
    fn relist_remove(&self, object: &K);
    /// The relist is complete: the full state at `resource_version`.
    fn relist_done(&self, resource_version: &str);
    /// An object was added or changed.
    fn apply(&self, object: K);
    /// An object was deleted (its last state).
    fn delete(&self, object: K);
    /// The watch has reached `resource_version` (bookmarks).
    fn bookmark(&self, _resource_version: &str) {}
    /// The events applied so far should reach their consumers now: the reflector calls
    /// this whenever its watch has nothing more ready, so a burst wakes consumers once.
    fn flush(&self) {}
}

impl<K: Object> Target<K> for crate::Store<K> {
    fn relist_begin(&self) {
        self.begin_replace();
    }

    fn relist_items(&self, objects: Vec<K>) {
        self.push_replace(objects);
    }

    fn relist_remove(&self, object: &K) {
        self.remove_replace(&object.key());
    }

    fn relist_done(&self, _: &str) {
        self.finish_replace();
    }

    fn apply(&self, object: K) {
        crate::Store::apply(self, object);
    }

    fn delete(&self, object: K) {
        crate::Store::delete(self, &object.key());
    }
}

/// How a reflector lists and watches.
#[derive(Debug, Clone)]
pub struct ReflectorOptions {
    /// Page size of lists (client-go: 500); 0 lists in one request.
    pub page_size: i64,
    /// Only objects matching this label selector.
    pub label_selector: Option<String>,
    /// Only objects matching this field selector.
    pub field_selector: Option<String>,
    /// Try the watch-list stream (sendInitialEvents) instead of a list; falls back to
    /// list + watch when the server refuses it.
    pub use_watch_list: bool,
    /// Watches time out after a random duration in [min, 2*min) (client-go: 5 minutes).
    pub min_watch_timeout: Duration,
    /// Delay policy after errors.
    pub backoff: Backoff,
}

impl Default for ReflectorOptions {
    fn default() -> Self {
        Self {
            page_size: 500,
            label_selector: None,
            field_selector: None,
            use_watch_list: true,
            min_watch_timeout: Duration::from_secs(300),
            backoff: Backoff::default(),
        }
    }
}

/// Where the reflector is; each state says what its next step does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReflectorState {
    /// Next: list (or open a watch-list stream) at `resource_version`: "0" first (any
    /// state the server has), the last synced version later, "" (latest) after a 410.
    Listing {
        /// The resourceVersion to list at.
        resource_version: String,
    },
    /// Next: open a watch from `resource_version` (the last one seen).
    Watching {
        /// The resourceVersion to watch from.
        resource_version: String,
    },
    /// Next: wait `delay`, then go to `then`.
    BackingOff {
        /// How long to wait.
        delay: Duration,
        /// The state to resume.
        then: Box<ReflectorState>,
    },
    /// Shut down; the run loop has returned.
    Stopped,
}

/// Keeps a [`Target`] in sync with one resource. Runs until shut down.
pub struct Reflector<K> {
    source: Arc<dyn ListWatch<K>>,
    opts: ReflectorOptions,
    state: ReflectorState,
    watch_list_supported: bool,
    state_tx: watch::Sender<ReflectorState>,
}

enum WatchEnd {
    /// The server closed the stream normally (timeout): watch again.
    Closed(String),
    /// 410: the version is gone; relist.
    Gone(String),
    /// Throttled or the connection failed: back off and watch again.
    Retry(String),
    /// Anything else: relist after backing off.
    Relist(String),
}

impl<K: Object> Reflector<K> {
    /// A reflector over `source`.
    pub fn new(source: Arc<dyn ListWatch<K>>, opts: ReflectorOptions) -> Self {
        let state = ReflectorState::Listing { resource_version: "0".into() };
        let (state_tx, _) = watch::channel(state.clone());
        Self { source, opts, state, watch_list_supported: true, state_tx }
    }

    /// Observes state changes (for tests and diagnostics).
    pub fn states(&self) -> watch::Receiver<ReflectorState> {
        self.state_tx.subscribe()
    }

    fn set(&mut self, state: ReflectorState) {
        tracing::trace!(?state, "reflector state");
        self.state = state.clone();
        self.state_tx.send_replace(state);
    }

    fn watch_timeout(&self) -> i64 {
        let min = self.opts.min_watch_timeout.as_secs().max(1);
        rand::rng().random_range(min..2 * min) as i64
    }

    /// Runs the state machine until `shutdown` turns true.
    pub async fn run(mut self, target: Arc<dyn Target<K>>, mut shutdown: watch::Receiver<bool>) {
        let mut stream: Option<(WatchStream<K>, String)> = None;
        loop {
            if *shutdown.borrow() {
                self.set(ReflectorState::Stopped);
                return;
            }
            let state = self.state.clone();
            let next = tokio::select! {
                _ = shutdown.changed() => continue,
                next = self.step(state, target.as_ref(), &mut stream) => next,
            };
            self.set(next);
        }
    }

    async fn step(
        &mut self,
        state: ReflectorState,
        target: &dyn Target<K>,
        stream: &mut Option<(WatchStream<K>, String)>,
    ) -> ReflectorState {
        match state {
            ReflectorState::Listing { resource_version } => {
                if self.opts.use_watch_list && self.watch_list_supported {
                    match self.watch_list(&resource_version, target).await {
                        Ok((s, rv)) => {
                            self.opts.backoff.reset();
                            *stream = Some((s, rv.clone()));
                            return ReflectorState::Watching { resource_version: rv };
                        }
                        Err(e) => {
                            tracing::debug!(error = %e, "watch-list failed; falling back to list");
                            if e.status_code().is_some_and(|c| (400..500).contains(&c) && c != 410 && c != 429) {
                                self.watch_list_supported = false;
                            }
                        }
                    }
                }
                match self.list(&resource_version, target).await {
                    Ok(rv) => {
                        self.opts.backoff.reset();
                        ReflectorState::Watching { resource_version: rv }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "list failed");
                        let rv = if e.is_gone() { String::new() } else { resource_version };
                        self.backing_off(ReflectorState::Listing { resource_version: rv })
                    }
                }
            }
            ReflectorState::Watching { resource_version } => {
                let (events, rv) = match stream.take() {
                    Some(s) => s,
                    None => {
                        let opts = WatchOptions {
                            label_selector: self.opts.label_selector.clone(),
                            field_selector: self.opts.field_selector.clone(),
                            resource_version: Some(resource_version.clone()),
                            timeout_seconds: Some(self.watch_timeout()),
                            allow_watch_bookmarks: true,
                            ..WatchOptions::default()
                        };
                        match self.source.watch(opts).await {
                            Ok(s) => (s, resource_version.clone()),
                            Err(e) if e.is_gone() => return ReflectorState::Listing { resource_version },
                            Err(e) if e.is_too_many_requests() || e.is_transport() => {
                                tracing::debug!(error = %e, "watch could not start; retrying");
                                return self.backing_off(ReflectorState::Watching { resource_version });
                            }
                            Err(e) => {
                                tracing::warn!(error = %e, "watch failed; relisting");
                                return self.backing_off(ReflectorState::Listing { resource_version });
                            }
                        }
                    }
                };
                match consume(events, rv, target).await {
                    WatchEnd::Closed(rv) => ReflectorState::Watching { resource_version: rv },
                    WatchEnd::Gone(rv) => ReflectorState::Listing { resource_version: rv },
                    WatchEnd::Retry(rv) => self.backing_off(ReflectorState::Watching { resource_version: rv }),
                    WatchEnd::Relist(rv) => self.backing_off(ReflectorState::Listing { resource_version: rv }),
                }
            }
            ReflectorState::BackingOff { delay, then } => {
                tokio::time::sleep(delay).await;
                *then
            }
            ReflectorState::Stopped => ReflectorState::Stopped,
        }
    }

    fn backing_off(&mut self, then: ReflectorState) -> ReflectorState {
        ReflectorState::BackingOff { delay: self.opts.backoff.next_delay(), then: Box::new(then) }
    }

    /// A paginated list streamed into the target, decoding up to two pages while the next
    /// is fetched; falls back to a full list at the latest version if a continue token
    /// expires. Returns the list's resourceVersion.
    async fn list(&mut self, resource_version: &str, target: &dyn Target<K>) -> Result<String, Error> {
        // client-go pages only reads served from the latest or any state ("" / "0").
        let page_size = if resource_version.is_empty() || resource_version == "0" { self.opts.page_size } else { 0 };
        let base = ListOptions {
            label_selector: self.opts.label_selector.clone(),
            field_selector: self.opts.field_selector.clone(),
            ..ListOptions::default()
        };
        let mut opts = ListOptions {
            limit: (page_size > 0).then_some(page_size),
            resource_version: Some(resource_version.to_string()).filter(|rv| !rv.is_empty()),
            ..base.clone()
        };
        target.relist_begin();
        // Pages whose items are still arriving and decoding, oldest first (at most two, so
        // the next page is fetched while earlier ones decode).
        let mut decoding: VecDeque<BoxStream<'static, Result<Vec<K>, Error>>> = VecDeque::new();
        let rv = loop {
            let page = match self.source.list(opts.clone()).await {
                Ok(p) => p,
                Err(e) if e.is_gone() && (opts.continue_token.is_some() || opts.resource_version.is_some()) => {
                    // The snapshot behind the token (or the version asked for) is gone: start
                    // over at the latest state, in full when a token expired.
                    tracing::debug!(error = %e, "list version expired; listing the latest state");
                    let full = opts.continue_token.is_some();
                    decoding.clear();
                    target.relist_begin();
                    let limit = if full { None } else { (self.opts.page_size > 0).then_some(self.opts.page_size) };
                    opts = ListOptions { limit, ..base.clone() };
                    continue;
                }
                Err(e) => return Err(e),
            };
            decoding.push_back(page.items);
            while decoding.len() > 2 {
                apply_page(decoding.pop_front().expect("non-empty"), target).await?;
            }
            match page.continue_token {
                Some(token) => opts = ListOptions { continue_token: Some(token), limit: opts.limit, ..base.clone() },
                None => break page.resource_version,
            }
        };
        while let Some(items) = decoding.pop_front() {
            apply_page(items, target).await?;
        }
        target.relist_done(&rv);
        Ok(rv)
    }

    /// Opens a watch-list stream and consumes the initial events up to the
    /// initial-events-end bookmark; returns the stream to keep watching on.
    async fn watch_list(
        &mut self,
        resource_version: &str,
        target: &dyn Target<K>,
    ) -> Result<(WatchStream<K>, String), Error> {
        let rv = if resource_version == "0" { String::new() } else { resource_version.to_string() };
        let opts = WatchOptions {
            label_selector: self.opts.label_selector.clone(),
            field_selector: self.opts.field_selector.clone(),
            resource_version: Some(rv).filter(|r| !r.is_empty()),
            resource_version_match: Some(ResourceVersionMatch::NotOlderThan),
            send_initial_events: Some(true),
            allow_watch_bookmarks: true,
            timeout_seconds: Some(self.watch_timeout()),
        };
        let mut stream = self.source.watch(opts).await?;
        target.relist_begin();
        let mut batch: Vec<K> = Vec::new();
        while let Some(ev) = stream.next().await {
            match ev? {
                WatchEvent::Added(o) | WatchEvent::Modified(o) => {
                    batch.push(o);
                    if batch.len() >= 500 {
                        target.relist_items(std::mem::take(&mut batch));
                    }
                }
                WatchEvent::Deleted(o) => {
                    target.relist_items(std::mem::take(&mut batch));
                    target.relist_remove(&o);
                }
                WatchEvent::Bookmark(b) if b.is_initial_events_end() => {
                    target.relist_items(batch);
                    let rv = b.metadata.resource_version;
                    target.relist_done(&rv);
                    return Ok((stream, rv));
                }
                WatchEvent::Bookmark(_) => {}
                WatchEvent::Error(status) => {
                    return Err(Error::Api {
                        verb: "WATCH".into(),
                        url: "(watch-list)".into(),
                        source: Box::new(rkube_core::ApiError::new(status)),
                    });
                }
            }
        }
        Err(Error::InvalidRequest("watch-list stream ended before the initial-events-end bookmark".into()))
    }
}

/// Events applied between two flushes at most, to bound a handler's delay in a long burst.
const FLUSH_EVERY: usize = 512;

async fn consume<K: Object>(events: WatchStream<K>, rv: String, target: &dyn Target<K>) -> WatchEnd {
    let end = consume_events(events, rv, target).await;
    target.flush();
    end
}

async fn consume_events<K: Object>(mut events: WatchStream<K>, mut rv: String, target: &dyn Target<K>) -> WatchEnd {
    let started = tokio::time::Instant::now();
    let mut seen = 0u64;
    let mut unflushed = 0usize;
    loop {
        // Take what is ready without waiting; flush before waiting (and every
        // FLUSH_EVERY events), so a burst costs one wake-up of each handler, not one per event.
        let next = match events.next().now_or_never() {
            Some(next) if unflushed < FLUSH_EVERY => next,
            ready => {
                target.flush();
                unflushed = 0;
                match ready {
                    Some(next) => next,
                    None => events.next().await,
                }
            }
        };
        let Some(ev) = next else { break };
        unflushed += 1;
        seen += 1;
        match ev {
            Ok(WatchEvent::Added(o)) | Ok(WatchEvent::Modified(o)) => {
                if let Some(v) = o.resource_version() {
                    rv = v.to_string();
                }
                target.apply(o);
            }
            Ok(WatchEvent::Deleted(o)) => {
                if let Some(v) = o.resource_version() {
                    rv = v.to_string();
                }
                target.delete(o);
            }
            Ok(WatchEvent::Bookmark(b)) => {
                rv = b.metadata.resource_version;
                target.bookmark(&rv);
            }
            Ok(WatchEvent::Error(status)) => {
                let err = rkube_core::ApiError::new(status);
                return if err.is_gone() {
                    WatchEnd::Gone(rv)
                } else if err.is_too_many_requests() {
                    WatchEnd::Retry(rv)
                } else {
                    tracing::warn!(error = %err, "watch ended with an error");
                    WatchEnd::Relist(rv)
                };
            }
            Err(e) if e.is_transport() => return WatchEnd::Retry(rv),
            Err(e) => {
                tracing::warn!(error = %e, "watch stream failed");
                return WatchEnd::Relist(rv);
            }
        }
    }
    if seen == 0 && started.elapsed() < Duration::from_secs(1) {
        // A watch that ends at once with nothing is suspicious (client-go's VeryShortWatchError).
        return WatchEnd::Retry(rv);
    }
    WatchEnd::Closed(rv)
}

/// Hands a page's items to the target batch by batch as they decode.
async fn apply_page<K>(
    mut items: BoxStream<'static, Result<Vec<K>, Error>>,
    target: &dyn Target<K>,
) -> Result<(), Error> {
    while let Some(batch) = items.next().await {
        target.relist_items(batch?);
    }
    Ok(())
}

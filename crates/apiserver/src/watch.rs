//! Watch streams: replay from a resourceVersion inside the event window (or the current
//! objects as ADDED), then live events, with selector transitions, bookmarks, the
//! initial-events-end bookmark of watch-list streams, timeouts and injected faults.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rkube_core::Status;
use rkube_core::options::{ResourceVersionMatch, WatchOptions};
use rkube_core::query::QueryReader;
use rkube_core::status::StatusCause;
use serde_json::json;
use tokio::sync::{broadcast, mpsc};

use crate::collection::Selectors;
use crate::faults::Faults;
use crate::registry::ServedResource;
use crate::store::{Event, EventType, Store, Stored, TooOld, watch_line};

/// A validated watch request.
pub struct WatchRequest {
    /// The resource.
    pub res: Arc<ServedResource>,
    /// Namespace scope.
    pub namespace: Option<String>,
    /// Only this object (a watch on `.../name` or `metadata.name=` selector).
    pub name: Option<String>,
    /// Parsed options.
    pub opts: WatchOptions,
    /// Selectors.
    pub selectors: Selectors,
}

impl WatchRequest {
    /// Validates a watch's query as kube-apiserver does.
    pub fn parse(
        res: Arc<ServedResource>,
        namespace: Option<String>,
        name: Option<String>,
        q: &QueryReader,
    ) -> Result<Self, Status> {
        let opts = WatchOptions::from_query(q).map_err(|e| Status::bad_request(e.to_string()))?;
        let selectors = Selectors::parse(&res, opts.label_selector.as_deref(), opts.field_selector.as_deref())?;
        let forbid = |field: &str, message: &str| {
            Status::invalid(
                "ListOptions",
                "meta.k8s.io",
                "",
                vec![StatusCause {
                    reason: "FieldValueForbidden".into(),
                    message: format!("Forbidden: {message}"),
                    field: field.into(),
                }],
            )
        };
        match opts.send_initial_events {
            Some(_) => {
                if opts.resource_version_match != Some(ResourceVersionMatch::NotOlderThan) {
                    return Err(forbid(
                        "resourceVersionMatch",
                        "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
                    ));
                }
                if !opts.allow_watch_bookmarks {
                    return Err(forbid(
                        "allowWatchBookmarks",
                        "sendInitialEvents requires setting allowWatchBookmarks to true",
                    ));
                }
            }
            None if opts.resource_version_match.is_some() => {
                return Err(forbid(
                    "resourceVersionMatch",
                    "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
                ));
            }
            None => {}
        }
        if let Some(rv) = opts.resource_version.as_deref().filter(|rv| !rv.is_empty()) {
            if rv.parse::<u64>().is_err() {
                return Err(Status::bad_request(format!("invalid resource version: {rv}")));
            }
        }
        Ok(Self { res, namespace, name, opts, selectors })
    }

    fn matches(&self, ns: &str, name: &str, stored: &Stored) -> bool {
        self.namespace.as_deref().is_none_or(|n| n == ns)
            && self.name.as_deref().is_none_or(|n| n == name)
            && self.selectors.matches(&self.res, stored)
    }

    /// The type a watcher with these selectors sees for an event, if any.
    fn visible(&self, ev: &Event) -> Option<EventType> {
        let now = self.matches(&ev.namespace, &ev.name, &ev.object);
        let before = ev.prev.as_ref().is_some_and(|p| self.matches(&ev.namespace, &ev.name, p));
        match ev.kind {
            EventType::Added => now.then_some(EventType::Added),
            EventType::Deleted => before.then_some(EventType::Deleted),
            EventType::Modified => match (before, now) {
                (true, true) => Some(EventType::Modified),
                (false, true) => Some(EventType::Added),
                (true, false) => Some(EventType::Deleted),
                (false, false) => None,
            },
        }
    }

    fn bookmark(&self, rv: u64, initial_end: bool) -> Bytes {
        let mut meta = json!({"resourceVersion": rv.to_string(), "creationTimestamp": null});
        if initial_end {
            meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        let obj = json!({"kind": self.res.kind, "apiVersion": self.res.api_version(), "metadata": meta});
        watch_line("BOOKMARK", obj.to_string().as_bytes())
    }
}

/// How each event line is rendered for the client (plain objects, or Table rows).
pub type Render = Arc<dyn Fn(&str, &Bytes) -> Bytes + Send + Sync>;

/// Starts a watch: returns the stream of lines, or an error to send as a plain response.
pub fn start(
    store: &Store,
    faults: Arc<Faults>,
    req: WatchRequest,
    bookmark_interval: Duration,
    render: Option<Render>,
) -> mpsc::Receiver<Bytes> {
    let (tx, rx) = mpsc::channel::<Bytes>(256);
    let since = match req.opts.resource_version.as_deref() {
        None | Some("") | Some("0") => None,
        Some(rv) => rv.parse::<u64>().ok(),
    };
    let send_initial = req.opts.send_initial_events == Some(true);
    // With sendInitialEvents=false and a version, only changes are sent; otherwise a watch
    // without a version starts with the current objects.
    let start = if send_initial {
        store.watch(&req.res.storage_key(), req.namespace.as_deref(), None)
    } else {
        store.watch(&req.res.storage_key(), req.namespace.as_deref(), since)
    };
    let timeout = req.opts.timeout_seconds.filter(|t| *t > 0).map(|t| Duration::from_secs(t as u64));
    tokio::spawn(async move {
        let mut out = Sender { tx, render, faults, sent: 0 };
        let start = match start {
            Ok(s) => s,
            Err(TooOld { oldest }) => {
                let status = Status::expired(format!("too old resource version: {} ({oldest})", since.unwrap_or(0)));
                let line = watch_line("ERROR", &serde_json::to_vec(&status).unwrap_or_default());
                let _ = out.tx.send(line).await;
                return;
            }
        };
        if out.faults.watch_gone_now() {
            let status = Status::expired("too old resource version: injected fault");
            let _ = out.tx.send(watch_line("ERROR", &serde_json::to_vec(&status).unwrap_or_default())).await;
            return;
        }
        let mut last_rv = start.rev;
        for (key, stored) in &start.initial {
            if req.matches(&key.0, &key.1, stored) && !out.event("ADDED", &stored.bytes).await {
                return;
            }
        }
        if send_initial && out.tx.send(req.bookmark(start.rev, true)).await.is_err() {
            return;
        }
        for ev in &start.backlog {
            if let Some(kind) = req.visible(ev) {
                last_rv = ev.rv;
                if !out.line(kind, ev).await {
                    return;
                }
            }
        }
        let mut live = start.live;
        let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
        let mut ticker = tokio::time::interval(bookmark_interval);
        ticker.tick().await;
        loop {
            let sleep_until = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = sleep_until => return,
                _ = out.tx.closed() => return,
                _ = ticker.tick(), if req.opts.allow_watch_bookmarks => {
                    if out.tx.send(req.bookmark(last_rv.max(start.rev), false)).await.is_err() {
                        return;
                    }
                }
                ev = live.recv() => match ev {
                    Ok(ev) => {
                        if ev.rv <= start.rev {
                            continue;
                        }
                        last_rv = ev.rv;
                        if let Some(kind) = req.visible(&ev) {
                            if !out.line(kind, &ev).await {
                                return;
                            }
                        }
                    }
                    // Too slow a consumer, or the store dropped the resource: end the watch so
                    // the client re-watches (kube-apiserver closes slow watchers the same way).
                    Err(broadcast::error::RecvError::Lagged(_) | broadcast::error::RecvError::Closed) => return,
                },
            }
        }
    });
    rx
}

struct Sender {
    tx: mpsc::Sender<Bytes>,
    render: Option<Render>,
    faults: Arc<Faults>,
    sent: u64,
}

impl Sender {
    async fn line(&mut self, kind: EventType, ev: &Event) -> bool {
        match &self.render {
            None => {
                if !self.admit() {
                    return false;
                }
                self.tx.send(ev.line_as(kind)).await.is_ok()
            }
            Some(_) => {
                let object = match (&ev.prev, kind) {
                    (Some(prev), EventType::Deleted) if ev.kind != EventType::Deleted => {
                        Bytes::from(crate::store::with_resource_version(&prev.bytes, ev.rv))
                    }
                    _ => ev.object.bytes.clone(),
                };
                self.event(kind.as_str(), &object).await
            }
        }
    }

    async fn event(&mut self, kind: &str, object: &Bytes) -> bool {
        if !self.admit() {
            return false;
        }
        let line = match &self.render {
            Some(render) => render(kind, object),
            None => watch_line(kind, object),
        };
        self.tx.send(line).await.is_ok()
    }

    // Counts an event and asks the fault injector whether the stream survives it.
    fn admit(&mut self) -> bool {
        self.sent += 1;
        !self.faults.close_watch_after(self.sent)
    }
}

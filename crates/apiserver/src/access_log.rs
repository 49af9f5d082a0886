//! A record of the requests the server answered, switched on by tests that need to see what
//! a client sent (content types, Accept headers, query strings) — the embedded counterpart of
//! kube-apiserver's audit log. Off by default: then it costs one atomic load per request.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// One answered request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessEntry {
    /// HTTP method.
    pub method: String,
    /// Path, without the query.
    pub path: String,
    /// Query string (empty when none).
    pub query: String,
    /// The request's Content-Type header (empty when none).
    pub content_type: String,
    /// The request's Accept header (empty when none).
    pub accept: String,
    /// Status code of the answer.
    pub status: u16,
    /// Content-Type of the answer.
    pub answer: String,
}

impl AccessEntry {
    /// Whether this was a watch (`watch=true` or `watch=1` in the query).
    pub fn is_watch(&self) -> bool {
        self.query.split('&').any(|kv| kv == "watch=true" || kv == "watch=1")
    }
}

/// The log of one server.
#[derive(Debug, Default)]
pub struct AccessLog {
    on: AtomicBool,
    entries: Mutex<Vec<AccessEntry>>,
}

impl AccessLog {
    /// Starts (or stops) recording.
    pub fn record(&self, on: bool) {
        self.on.store(on, Ordering::Relaxed);
    }

    /// Whether requests are being recorded.
    pub fn is_recording(&self) -> bool {
        self.on.load(Ordering::Relaxed)
    }

    /// Takes the entries recorded so far, oldest first.
    pub fn take(&self) -> Vec<AccessEntry> {
        std::mem::take(&mut *self.entries.lock().unwrap_or_else(|p| p.into_inner()))
    }

    pub(crate) fn push(&self, entry: AccessEntry) {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).push(entry);
    }
}

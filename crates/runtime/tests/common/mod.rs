//! Shared test fixtures: an embedded API server and a client for it.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rkube_apiserver::{ApiServer, ServerOptions};
use rkube_client::Client;
use rkube_client::config::{Config, KubeconfigOptions};
use rkube_runtime::informer::{DeletedObject, EventHandler};

/// A server and a client that talks to it (client-side rate limiting off).
pub async fn server() -> (ApiServer, Client) {
    server_with(ServerOptions::default()).await
}

/// A server with options and a client for it.
pub async fn server_with(opts: ServerOptions) -> (ApiServer, Client) {
    let server = ApiServer::start(opts).await.expect("server starts");
    let mut config = Config::from_kubeconfig_str(&server.kubeconfig(), &KubeconfigOptions::default()).expect("config");
    config.qps = -1.0;
    let client = Client::new(config).expect("client");
    (server, client)
}

/// One recorded handler event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// on_add(name, initial, resourceVersion)
    Add(String, bool, String),
    /// on_update(name, old rv, new rv)
    Update(String, String, String),
    /// on_delete(name, tombstone)
    Delete(String, bool),
}

/// A handler that records what it sees.
#[derive(Clone, Default)]
pub struct Recorder(pub Arc<Mutex<Vec<Seen>>>);

impl Recorder {
    /// Everything seen so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.0.lock().unwrap().clone()
    }

    /// Waits until `pred` holds for the recorded events (up to 10 s).
    pub async fn wait_for(&self, what: &str, pred: impl Fn(&[Seen]) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            if pred(&self.seen()) {
                return;
            }
            if tokio::time::Instant::now() > deadline {
                panic!("timed out waiting for {what}; seen: {:#?}", self.seen());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

fn name<K: rkube_core::Object>(o: &K) -> String {
    o.name().to_string()
}

fn rv<K: rkube_core::Object>(o: &K) -> String {
    o.resource_version().unwrap_or_default().to_string()
}

impl<K: rkube_core::Object> EventHandler<K> for Recorder {
    fn on_add(&self, obj: &Arc<K>, initial: bool) {
        self.0.lock().unwrap().push(Seen::Add(name(&**obj), initial, rv(&**obj)));
    }

    fn on_update(&self, old: &Arc<K>, new: &Arc<K>) {
        self.0.lock().unwrap().push(Seen::Update(name(&**new), rv(&**old), rv(&**new)));
    }

    fn on_delete(&self, obj: &DeletedObject<K>) {
        let tomb = matches!(obj, DeletedObject::Tombstone(_));
        self.0.lock().unwrap().push(Seen::Delete(name(&**obj.object()), tomb));
    }
}

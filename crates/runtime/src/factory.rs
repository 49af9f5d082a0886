//! The informer factory: one shared informer per (kind, resource, namespace, selectors),
//! however many consumers ask for it; starts them together and waits for all caches.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rkube_client::{Api, Client};
use rkube_core::{ApiResource, DynamicObject, Object, PartialObjectMetadata, Resource};
use tokio::sync::watch;

use crate::informer::{InformerOptions, SharedInformer};
use crate::protobuf_source::ProtobufSource;
use crate::source::{ListWatch, TypedSource};

/// Which objects an informer covers: a namespace (or all) and optional selectors.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Scope {
    /// One namespace, or all when `None` (ignored for cluster-scoped resources).
    pub namespace: Option<String>,
    /// Only objects matching this label selector.
    pub label_selector: Option<String>,
    /// Only objects matching this field selector.
    pub field_selector: Option<String>,
}

impl Scope {
    /// Every object of the resource.
    pub fn all() -> Self {
        Self::default()
    }

    /// Objects in one namespace.
    pub fn namespace(ns: impl Into<String>) -> Self {
        Self { namespace: Some(ns.into()), ..Self::default() }
    }

    /// Restricts to a label selector (builder style).
    pub fn labels(mut self, selector: impl Into<String>) -> Self {
        self.label_selector = Some(selector.into());
        self
    }

    /// Restricts to a field selector (builder style).
    pub fn fields(mut self, selector: impl Into<String>) -> Self {
        self.field_selector = Some(selector.into());
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    flavor: &'static str,
    group: String,
    version: String,
    plural: String,
    scope: Scope,
}

impl Key {
    fn new(flavor: &'static str, resource: &ApiResource, scope: Scope) -> Self {
        Self {
            flavor,
            group: resource.group.clone(),
            version: resource.version.clone(),
            plural: resource.plural.clone(),
            scope,
        }
    }
}

trait Managed: Send + Sync {
    fn start(&self, shutdown: watch::Receiver<bool>);
    fn has_synced(&self) -> bool;
    fn as_any(&self) -> &dyn Any;
}

impl<K: Object> Managed for SharedInformer<K> {
    fn start(&self, shutdown: watch::Receiver<bool>) {
        SharedInformer::start(self, shutdown)
    }

    fn has_synced(&self) -> bool {
        SharedInformer::has_synced(self)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Creates and owns shared informers. Cheap to clone.
#[derive(Clone)]
pub struct InformerFactory {
    client: Client,
    informers: Arc<Mutex<HashMap<Key, Arc<dyn Managed>>>>,
    shutdown: Arc<watch::Sender<bool>>,
    started: Arc<std::sync::atomic::AtomicBool>,
}

impl InformerFactory {
    /// A factory making informers with `client`.
    pub fn new(client: Client) -> Self {
        Self { client, informers: Arc::default(), shutdown: Arc::new(watch::channel(false).0), started: Arc::default() }
    }

    fn get_or_make<K: Object>(
        &self,
        key: Key,
        make: impl FnOnce() -> (Arc<dyn ListWatch<K>>, InformerOptions<K>),
    ) -> SharedInformer<K> {
        let mut map = self.informers.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(existing) = map.get(&key) {
            if let Some(inf) = existing.as_any().downcast_ref::<SharedInformer<K>>() {
                return inf.clone();
            }
        }
        let (source, mut opts) = make();
        opts.reflector.label_selector = key.scope.label_selector.clone();
        opts.reflector.field_selector = key.scope.field_selector.clone();
        let informer = SharedInformer::new(source, opts);
        map.insert(key, Arc::new(informer.clone()));
        if self.started.load(std::sync::atomic::Ordering::SeqCst) {
            informer.start(self.shutdown.subscribe());
        }
        informer
    }

    /// The shared informer of a typed resource (created on first use). Built-in kinds are
    /// read in protobuf when the client's content type picks it for them (under the default
    /// `ContentType::Auto`: the kinds that convert losslessly), in JSON otherwise.
    pub fn typed<K: Resource>(&self, scope: Scope) -> SharedInformer<K> {
        self.typed_with(scope, InformerOptions::default())
    }

    /// Like [`InformerFactory::typed`], with options used if the informer is created now.
    pub fn typed_with<K: Resource>(&self, scope: Scope, opts: InformerOptions<K>) -> SharedInformer<K> {
        self.typed_source(scope, opts, "typed", |api| api.protobuf_codec().is_some())
    }

    /// The shared informer of a built-in kind read in Kubernetes' protobuf encoding whatever
    /// the client's content type (as client-go's typed informers do); answers in JSON are
    /// decoded as JSON.
    pub fn protobuf<K>(&self, scope: Scope, opts: InformerOptions<K>) -> SharedInformer<K>
    where
        K: Resource + rkube_protobuf::HasProtobuf,
    {
        self.typed_source(scope, opts, "protobuf", |_| true)
    }

    fn typed_source<K: Resource>(
        &self,
        scope: Scope,
        opts: InformerOptions<K>,
        flavor: &'static str,
        protobuf: fn(&Api<K>) -> bool,
    ) -> SharedInformer<K> {
        let ar = K::api_resource();
        let key = Key::new(flavor, &ar, scope);
        let client = self.client.clone();
        let ns = key.scope.namespace.clone();
        self.get_or_make(key, move || {
            let api: Api<K> = match (ar.namespaced, ns) {
                (true, Some(ns)) => Api::namespaced(client, &ns),
                (true, None) => Api::all(client),
                (false, _) => Api::cluster(client),
            };
            let skip = !opts.keep_managed_fields;
            let pb = if protobuf(&api) { ProtobufSource::new(api.clone(), skip) } else { None };
            let source: Arc<dyn ListWatch<K>> = match pb {
                Some(pb) => Arc::new(pb),
                None => Arc::new(TypedSource::new(api, skip)),
            };
            (source, opts)
        })
    }

    /// The shared informer of any resource as dynamic objects.
    pub fn dynamic(&self, resource: &ApiResource, scope: Scope) -> SharedInformer<DynamicObject> {
        let key = Key::new("dynamic", resource, scope);
        let client = self.client.clone();
        let ns = key.scope.namespace.clone();
        let ar = resource.clone();
        self.get_or_make(key, move || {
            let api: Api<DynamicObject> = match (ar.namespaced, ns) {
                (true, Some(ns)) => Api::namespaced_with(client, &ns, &ar),
                _ => Api::all_with(client, &ar),
            };
            (Arc::new(api), InformerOptions::default())
        })
    }

    /// The shared informer of any resource as metadata only (cheapest cache).
    pub fn metadata(&self, resource: &ApiResource, scope: Scope) -> SharedInformer<PartialObjectMetadata> {
        let key = Key::new("metadata", resource, scope);
        let client = self.client.clone();
        let ns = key.scope.namespace.clone();
        let ar = resource.clone();
        self.get_or_make(key, move || {
            let source = crate::source::MetadataSource::new(client, &ar, ns.as_deref());
            (Arc::new(source), InformerOptions::default())
        })
    }

    /// Starts every informer not started yet, and any created later.
    pub fn start(&self) {
        self.started.store(true, std::sync::atomic::Ordering::SeqCst);
        for inf in self.informers.lock().unwrap_or_else(|p| p.into_inner()).values() {
            inf.start(self.shutdown.subscribe());
        }
    }

    /// Waits until every informer has synced, up to `timeout`; returns whether all did.
    pub async fn wait_for_cache_sync(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let all = self.informers.lock().unwrap_or_else(|p| p.into_inner()).values().all(|i| i.has_synced());
            if all {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Stops every informer's reflector.
    pub fn shutdown(&self) {
        let _ = self.shutdown.send(true);
    }
}

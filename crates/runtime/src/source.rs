//! Where a reflector gets its lists and watches from: a typed, dynamic or metadata client
//! scoped to a namespace (or all), behind one object-safe trait.

use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use rkube_client::{Api, Client, Error, Request};
use rkube_core::metadata::{ACCEPT_PARTIAL_OBJECT_METADATA, ACCEPT_PARTIAL_OBJECT_METADATA_LIST};
use rkube_core::{ApiResource, ListOptions, Object, ObjectList, PartialObjectMetadata, WatchEvent, WatchOptions};

/// A stream of watch events.
pub type WatchStream<K> = BoxStream<'static, Result<WatchEvent<K>, Error>>;

/// Lists and watches one resource in one scope.
pub trait ListWatch<K>: Send + Sync + 'static {
    /// One list request (one page when `limit` is set).
    fn list(&self, opts: ListOptions) -> BoxFuture<'_, Result<ObjectList<K>, Error>>;
    /// Opens a watch.
    fn watch(&self, opts: WatchOptions) -> BoxFuture<'_, Result<WatchStream<K>, Error>>;
}

impl<K: Object> ListWatch<K> for Api<K> {
    fn list(&self, opts: ListOptions) -> BoxFuture<'_, Result<ObjectList<K>, Error>> {
        Box::pin(async move { Api::list(self, &opts).await })
    }

    fn watch(&self, opts: WatchOptions) -> BoxFuture<'_, Result<WatchStream<K>, Error>> {
        Box::pin(async move { Ok(Api::watch(self, &opts).await?.boxed()) })
    }
}

/// Lists and watches any resource as `PartialObjectMetadata` (metadata only), using the
/// Accept headers kube-apiserver offers for it.
pub struct MetadataSource {
    client: Client,
    resource: ApiResource,
    namespace: Option<String>,
}

impl MetadataSource {
    /// A metadata source for `resource`, in one namespace or all.
    pub fn new(client: Client, resource: &ApiResource, namespace: Option<&str>) -> Self {
        Self { client, resource: resource.clone(), namespace: namespace.map(str::to_string) }
    }

    fn request(&self) -> Request {
        let req = self.client.get().resource(&self.resource);
        match (&self.namespace, self.resource.namespaced) {
            (Some(ns), true) => req.namespace(ns.clone()),
            _ => req,
        }
    }
}

impl ListWatch<PartialObjectMetadata> for MetadataSource {
    fn list(&self, opts: ListOptions) -> BoxFuture<'_, Result<ObjectList<PartialObjectMetadata>, Error>> {
        let req = self.request().query(opts.to_query()).header("accept", ACCEPT_PARTIAL_OBJECT_METADATA_LIST);
        Box::pin(req.into())
    }

    fn watch(&self, opts: WatchOptions) -> BoxFuture<'_, Result<WatchStream<PartialObjectMetadata>, Error>> {
        let req = self.request().query(opts.to_query()).header("accept", ACCEPT_PARTIAL_OBJECT_METADATA);
        Box::pin(async move { Ok(req.watch::<PartialObjectMetadata>().await?.boxed()) })
    }
}

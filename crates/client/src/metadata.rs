//! The metadata client: objects of any resource as `PartialObjectMetadata` (name, labels,
//! owners, resourceVersion ...), asked for with the Accept header kube-apiserver reads, so
//! caches of many objects stay small.

use rkube_core::{
    ApiResource, DeleteOptions, ListOptions, ObjectList, PartialObjectMetadata, Patch, WatchOptions, WriteOptions,
};

use crate::api::{Api, Deleted};
use crate::client::Client;
use crate::error::Error;
use crate::watch::WatchStream;

/// client-go's metadata client: `metadata.resource(&api_resource).namespace("ns").list(..)`.
#[derive(Debug, Clone)]
pub struct MetadataClient {
    client: Client,
}

impl MetadataClient {
    /// A metadata client sharing `client`'s connections and rate limiter.
    pub fn new(client: Client) -> Self {
        MetadataClient { client }
    }

    /// One resource across all namespaces (or cluster-scoped); narrow with [`MetadataResource::namespace`].
    pub fn resource(&self, resource: &ApiResource) -> MetadataResource {
        MetadataResource { api: Api::all_with(self.client.clone(), resource).metadata_only() }
    }
}

/// The metadata client of one resource in one scope.
#[derive(Debug, Clone)]
pub struct MetadataResource {
    api: Api<PartialObjectMetadata>,
}

impl MetadataResource {
    /// Scopes to one namespace (ignored for cluster-scoped resources).
    pub fn namespace(self, namespace: &str) -> Self {
        let resource = self.api.resource().clone();
        MetadataResource { api: Api::namespaced_with(self.api.client().clone(), namespace, &resource).metadata_only() }
    }

    /// Gets one object's metadata.
    pub async fn get(&self, name: &str) -> Result<PartialObjectMetadata, Error> {
        self.api.get(name).await
    }

    /// Lists objects' metadata (a `PartialObjectMetadataList`).
    pub async fn list(&self, options: &ListOptions) -> Result<ObjectList<PartialObjectMetadata>, Error> {
        self.api.list(options).await
    }

    /// Watches objects' metadata.
    pub async fn watch(&self, options: &WatchOptions) -> Result<WatchStream<PartialObjectMetadata>, Error> {
        self.api.watch(options).await
    }

    /// Patches an object (usually its labels, annotations, finalizers or owners) and returns
    /// its metadata.
    pub async fn patch(
        &self,
        name: &str,
        options: &WriteOptions,
        patch: &Patch,
    ) -> Result<PartialObjectMetadata, Error> {
        self.api.patch(name, options, patch).await
    }

    /// Deletes an object.
    pub async fn delete(&self, name: &str, options: &DeleteOptions) -> Result<Deleted<PartialObjectMetadata>, Error> {
        self.api.delete(name, options).await
    }

    /// Deletes every object matching `list`.
    pub async fn delete_collection(
        &self,
        options: &DeleteOptions,
        list: &ListOptions,
    ) -> Result<Deleted<ObjectList<PartialObjectMetadata>>, Error> {
        self.api.delete_collection(options, list).await
    }
}

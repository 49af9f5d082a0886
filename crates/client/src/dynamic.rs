//! The dynamic client: any resource by its [`ApiResource`] (custom resources included), with
//! [`DynamicObject`] in and out and typed conversion of the results.
//!
//! ```no_run
//! # async fn demo(client: rkube_client::Client) -> Result<(), Box<dyn std::error::Error>> {
//! use k8s_openapi::api::core::v1::Pod;
//! use rkube_client::DynamicClient;
//! use rkube_core::{ApiResource, GroupVersionKind, ListOptions};
//! let pods = ApiResource::from_gvk(&GroupVersionKind::new("", "v1", "Pod"), true);
//! let dynamic = DynamicClient::new(client);
//! let list = dynamic.resource(&pods).namespace("default").list(&ListOptions::default()).await?;
//! let typed = rkube_client::dynamic::to_typed_list::<Pod>(list)?;
//! # Ok(()) }
//! ```

use std::sync::Arc;

use rkube_core::dynamic::ConversionError;
use rkube_core::{
    ApiResource, DeleteOptions, DynamicObject, ListOptions, ObjectList, Patch, Resource, WatchOptions, WriteOptions,
};

use crate::api::{Api, Deleted};
use crate::client::Client;
use crate::error::Error;
use crate::watch::WatchStream;

/// client-go's dynamic client: `dynamic.resource(&api_resource).namespace("ns").list(..)`.
#[derive(Debug, Clone)]
pub struct DynamicClient {
    client: Client,
}

impl DynamicClient {
    /// A dynamic client sharing `client`'s connections and rate limiter.
    pub fn new(client: Client) -> Self {
        DynamicClient { client }
    }

    /// The objects of one resource across all namespaces (or cluster-scoped); narrow with
    /// [`DynamicResource::namespace`].
    pub fn resource(&self, resource: &ApiResource) -> DynamicResource {
        DynamicResource { api: Api::all_with(self.client.clone(), resource), resource: Arc::new(resource.clone()) }
    }
}

/// The dynamic client of one resource in one scope. Every object it returns carries its
/// [`ApiResource`] (so plural and scope are known without guessing).
#[derive(Debug, Clone)]
pub struct DynamicResource {
    api: Api<DynamicObject>,
    resource: Arc<ApiResource>,
}

impl DynamicResource {
    /// Scopes to one namespace (ignored for cluster-scoped resources).
    pub fn namespace(self, namespace: &str) -> Self {
        let api = Api::namespaced_with(self.api.client().clone(), namespace, &self.resource);
        DynamicResource { api, resource: self.resource }
    }

    /// The typed-style API underneath (for the scale subresource and custom requests).
    pub fn api(&self) -> &Api<DynamicObject> {
        &self.api
    }

    fn tag(&self, mut obj: DynamicObject) -> DynamicObject {
        obj.resource = Some(self.resource.clone());
        obj
    }

    fn tag_list(&self, mut list: ObjectList<DynamicObject>) -> ObjectList<DynamicObject> {
        for item in &mut list.items {
            item.resource = Some(self.resource.clone());
        }
        list
    }

    /// Gets one object.
    pub async fn get(&self, name: &str) -> Result<DynamicObject, Error> {
        self.api.get(name).await.map(|o| self.tag(o))
    }

    /// Lists objects.
    pub async fn list(&self, options: &ListOptions) -> Result<ObjectList<DynamicObject>, Error> {
        self.api.list(options).await.map(|l| self.tag_list(l))
    }

    /// Creates an object.
    pub async fn create(&self, options: &WriteOptions, object: &DynamicObject) -> Result<DynamicObject, Error> {
        self.api.create(options, object).await.map(|o| self.tag(o))
    }

    /// Replaces an object (PUT), client-go's `Update`.
    pub async fn update(&self, options: &WriteOptions, object: &DynamicObject) -> Result<DynamicObject, Error> {
        let name = object_name(object)?;
        self.api.replace(name, options, object).await.map(|o| self.tag(o))
    }

    /// Replaces an object's status, client-go's `UpdateStatus`.
    pub async fn update_status(&self, options: &WriteOptions, object: &DynamicObject) -> Result<DynamicObject, Error> {
        let name = object_name(object)?;
        self.api.replace_status(name, options, object).await.map(|o| self.tag(o))
    }

    /// Patches an object (merge, JSON or apply; strategic merge only works for built-in kinds).
    pub async fn patch(&self, name: &str, options: &WriteOptions, patch: &Patch) -> Result<DynamicObject, Error> {
        self.api.patch(name, options, patch).await.map(|o| self.tag(o))
    }

    /// Patches an object's status.
    pub async fn patch_status(
        &self,
        name: &str,
        options: &WriteOptions,
        patch: &Patch,
    ) -> Result<DynamicObject, Error> {
        self.api.patch_status(name, options, patch).await.map(|o| self.tag(o))
    }

    /// Deletes an object.
    pub async fn delete(&self, name: &str, options: &DeleteOptions) -> Result<Deleted<DynamicObject>, Error> {
        Ok(match self.api.delete(name, options).await? {
            Deleted::Object(o) => Deleted::Object(self.tag(o)),
            status => status,
        })
    }

    /// Deletes every object matching `list`.
    pub async fn delete_collection(
        &self,
        options: &DeleteOptions,
        list: &ListOptions,
    ) -> Result<Deleted<ObjectList<DynamicObject>>, Error> {
        Ok(match self.api.delete_collection(options, list).await? {
            Deleted::Object(l) => Deleted::Object(self.tag_list(l)),
            status => status,
        })
    }

    /// Watches objects.
    pub async fn watch(&self, options: &WatchOptions) -> Result<WatchStream<DynamicObject>, Error> {
        let resource = self.resource.clone();
        Ok(self.api.watch(options).await?.map_objects(move |mut o| {
            o.resource = Some(resource.clone());
            o
        }))
    }
}

fn object_name(object: &DynamicObject) -> Result<&str, Error> {
    object
        .metadata
        .name
        .as_deref()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| Error::InvalidRequest("the object has no metadata.name".into()))
}

/// Converts a dynamic list to a typed one (checking each item's kind; the list's own kind
/// becomes the typed list's, e.g. `PodList`).
pub fn to_typed_list<K: Resource>(list: ObjectList<DynamicObject>) -> Result<ObjectList<K>, ConversionError> {
    let items = list.items.iter().map(DynamicObject::to_typed::<K>).collect::<Result<Vec<K>, _>>()?;
    Ok(ObjectList { types: list.types, metadata: list.metadata, items })
}

//! `Api<K>`: the typed client of one resource in one namespace (or all / cluster-scoped),
//! client-go's generated typed clients as one generic type.
//!
//! ```no_run
//! # async fn demo(client: rkube_client::Client) -> Result<(), rkube_client::Error> {
//! use k8s_openapi::api::core::v1::Pod;
//! use rkube_client::Api;
//! use rkube_core::ListOptions;
//! let pods: Api<Pod> = Api::namespaced(client, "default");
//! for pod in pods.list(&ListOptions::default().labels("app=web")).await?.items {
//!     println!("{}", pod.metadata.name.unwrap_or_default());
//! }
//! # Ok(()) }
//! ```

use std::marker::PhantomData;

use rkube_core::metadata::{ACCEPT_PARTIAL_OBJECT_METADATA, ACCEPT_PARTIAL_OBJECT_METADATA_LIST};
use rkube_core::{
    ApiResource, DeleteOptions, GetOptions, ListOptions, Object, ObjectList, Patch, Resource, Status, WatchOptions,
    WriteOptions,
};
use serde::de::DeserializeOwned;

use crate::client::Client;
use crate::error::Error;
use crate::protobuf;
use crate::request::Request;
use crate::watch::WatchStream;

/// What a delete answered: the object (still terminating, or as it was last), or a Status.
///
/// kube-apiserver answers deletes of some kinds (pods, namespaces, objects with finalizers)
/// with the object and others with a `Success` Status, so callers must be ready for both.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum Deleted<K> {
    /// The object as the server returned it (check `metadata.deletionTimestamp`).
    Object(K),
    /// A Status (usually `Success`).
    Status(Status),
}

impl<K> Deleted<K> {
    /// The object, if the server returned one.
    pub fn into_object(self) -> Option<K> {
        match self {
            Deleted::Object(k) => Some(k),
            Deleted::Status(_) => None,
        }
    }
}

/// The typed client of one resource, scoped to a namespace, all namespaces, or the cluster.
///
/// Works for every k8s-openapi resource (`Api::<Pod>::namespaced(client, "ns")`), and for
/// runtime-described resources with `*_with` constructors (dynamic and metadata clients build
/// on it). Cheap to clone; shares the [`Client`].
#[derive(Debug, Clone)]
pub struct Api<K> {
    client: Client,
    resource: ApiResource,
    namespace: Option<String>,
    metadata_only: bool,
    _kind: PhantomData<fn() -> K>,
}

impl<K: Resource> Api<K> {
    /// Objects in one namespace.
    pub fn namespaced(client: Client, namespace: &str) -> Self {
        Api::namespaced_with(client, namespace, &K::api_resource())
    }

    /// Objects in the client's default namespace (the kubeconfig context's).
    pub fn default_namespaced(client: Client) -> Self {
        let ns = client.default_namespace().to_owned();
        Api::namespaced(client, &ns)
    }

    /// Objects across all namespaces, or cluster-scoped objects.
    pub fn all(client: Client) -> Self {
        Api::all_with(client, &K::api_resource())
    }

    /// Cluster-scoped objects (same as [`Api::all`], named for readability).
    pub fn cluster(client: Client) -> Self {
        Api::all(client)
    }
}

impl<K: Object> Api<K> {
    /// Objects of a runtime-described resource in one namespace (ignored if cluster-scoped).
    pub fn namespaced_with(client: Client, namespace: &str, resource: &ApiResource) -> Self {
        let namespace = resource.namespaced.then(|| namespace.to_owned());
        Api { client, resource: resource.clone(), namespace, metadata_only: false, _kind: PhantomData }
    }

    /// Objects of a runtime-described resource across all namespaces or the cluster.
    pub fn all_with(client: Client, resource: &ApiResource) -> Self {
        Api { client, resource: resource.clone(), namespace: None, metadata_only: false, _kind: PhantomData }
    }

    /// Asks for `PartialObjectMetadata` representations (the metadata client's Accept header).
    pub(crate) fn metadata_only(mut self) -> Self {
        self.metadata_only = true;
        self
    }

    /// The resource this client addresses.
    pub fn resource(&self) -> &ApiResource {
        &self.resource
    }

    /// The namespace, if scoped to one.
    pub fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }

    /// The underlying client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// A request for this resource with `verb` (extension point for other subresources).
    pub fn request(&self, verb: http::Method) -> Request {
        let mut r = self.client.request(verb).resource(&self.resource);
        if let Some(ns) = &self.namespace {
            r = r.namespace(ns.clone());
        }
        r
    }

    fn object(&self, verb: http::Method, name: &str) -> Request {
        let r = self.request(verb).name(name);
        if self.metadata_only { r.header("Accept", ACCEPT_PARTIAL_OBJECT_METADATA) } else { r }
    }

    fn collection(&self, verb: http::Method) -> Request {
        let r = self.request(verb);
        if self.metadata_only { r.header("Accept", ACCEPT_PARTIAL_OBJECT_METADATA_LIST) } else { r }
    }

    /// Gets one object.
    pub async fn get(&self, name: &str) -> Result<K, Error> {
        let req = self.object(http::Method::GET, name);
        match self.protobuf_codec() {
            Some(codec) => protobuf::object(req, codec).await,
            None => req.into().await,
        }
    }

    /// Gets one object, `None` when it does not exist.
    pub async fn get_opt(&self, name: &str) -> Result<Option<K>, Error> {
        match self.get(name).await {
            Ok(k) => Ok(Some(k)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Gets one object with options (resourceVersion).
    pub async fn get_with(&self, name: &str, options: &GetOptions) -> Result<K, Error> {
        let req = self.object(http::Method::GET, name).query(options.to_query());
        match self.protobuf_codec() {
            Some(codec) => protobuf::object(req, codec).await,
            None => req.into().await,
        }
    }

    /// Lists objects (one page when `limit` is set: follow `continue_token()`).
    pub async fn list(&self, options: &ListOptions) -> Result<ObjectList<K>, Error> {
        let req = self.collection(http::Method::GET).query(options.to_query());
        match self.protobuf_codec() {
            Some(codec) => protobuf::list(req, codec).await,
            None => req.into().await,
        }
    }

    /// The protobuf codec this `Api` reads and writes `K` with, when the config's content type
    /// picks protobuf for it (see [`ContentType`](crate::config::ContentType)); `None` for JSON.
    pub fn protobuf_codec(&self) -> Option<&'static rkube_protobuf::registry::Codec> {
        if self.metadata_only {
            return None;
        }
        rkube_protobuf::registry::codec::<K>()
            .filter(|codec| protobuf::uses_protobuf(self.client.config().content_type, codec))
    }

    async fn write(&self, req: Request, object: &K) -> Result<K, Error> {
        if let Some((codec, body)) = self.protobuf_codec().and_then(|c| (c.encode)(object).map(|body| (c, body))) {
            match protobuf::object(req.clone().body(body, rkube_protobuf::CONTENT_TYPE), codec).await {
                // A server that refuses protobuf gets the request again in JSON.
                Err(e) if protobuf::refused(&e) => {}
                other => return other,
            }
        }
        req.json(object).into().await
    }

    /// Watches objects; the stream yields events until the server ends the watch.
    pub async fn watch(&self, options: &WatchOptions) -> Result<WatchStream<K>, Error> {
        let r = self.request(http::Method::GET).query(options.to_query());
        let r = if self.metadata_only { r.header("Accept", ACCEPT_PARTIAL_OBJECT_METADATA) } else { r };
        r.watch().await
    }

    /// Watches one object by name (a `metadata.name` field selector, as client-go does).
    pub async fn watch_object(&self, name: &str, options: &WatchOptions) -> Result<WatchStream<K>, Error> {
        let mut options = options.clone();
        options.field_selector = Some(format!("metadata.name={name}"));
        self.watch(&options).await
    }

    /// Creates an object (its namespace must match or be empty).
    pub async fn create(&self, options: &WriteOptions, object: &K) -> Result<K, Error> {
        self.write(self.collection(http::Method::POST).query(options.to_query()), object).await
    }

    /// Replaces an object (PUT); a stale resourceVersion gives 409 Conflict.
    pub async fn replace(&self, name: &str, options: &WriteOptions, object: &K) -> Result<K, Error> {
        self.write(self.object(http::Method::PUT, name).query(options.to_query()), object).await
    }

    /// Replaces an object's status through the `status` subresource.
    pub async fn replace_status(&self, name: &str, options: &WriteOptions, object: &K) -> Result<K, Error> {
        self.object(http::Method::PUT, name).subresource("status").query(options.to_query()).json(object).into().await
    }

    /// Patches an object: merge, JSON, strategic merge or server-side apply (apply needs
    /// `options.field_manager`).
    pub async fn patch(&self, name: &str, options: &WriteOptions, patch: &Patch) -> Result<K, Error> {
        self.patch_request(name, None, options, patch)?.into().await
    }

    /// Patches an object's status through the `status` subresource.
    pub async fn patch_status(&self, name: &str, options: &WriteOptions, patch: &Patch) -> Result<K, Error> {
        self.patch_request(name, Some("status"), options, patch)?.into().await
    }

    pub(crate) fn patch_request(
        &self,
        name: &str,
        subresource: Option<&str>,
        options: &WriteOptions,
        patch: &Patch,
    ) -> Result<Request, Error> {
        if matches!(patch, Patch::Apply(_)) && options.field_manager.as_deref().unwrap_or("").is_empty() {
            return Err(Error::InvalidRequest("server-side apply needs a field manager (WriteOptions::apply)".into()));
        }
        let mut r = self.object(http::Method::PATCH, name);
        if let Some(sub) = subresource {
            r = r.subresource(sub);
        }
        Ok(r.query(options.to_query()).patch(patch))
    }

    /// Deletes an object (propagation policy, preconditions, grace period in `options`).
    pub async fn delete(&self, name: &str, options: &DeleteOptions) -> Result<Deleted<K>, Error> {
        let resp = self.object(http::Method::DELETE, name).json(&options.to_body()).send_checked().await?;
        object_or_status(&resp)
    }

    /// Deletes every object matching `list` (selectors) in the scope.
    pub async fn delete_collection(
        &self,
        options: &DeleteOptions,
        list: &ListOptions,
    ) -> Result<Deleted<ObjectList<K>>, Error> {
        let resp = self
            .collection(http::Method::DELETE)
            .query(list.to_query())
            .json(&options.to_body())
            .send_checked()
            .await?;
        object_or_status(&resp)
    }
}

/// Decodes a delete answer that may be the object or a Status.
fn object_or_status<T: DeserializeOwned>(resp: &crate::Response) -> Result<Deleted<T>, Error> {
    #[derive(serde::Deserialize)]
    struct Peek {
        #[serde(default)]
        kind: String,
        #[serde(default, rename = "apiVersion")]
        api_version: String,
    }
    let peek: Peek = resp.json()?;
    if peek.kind == "Status" && peek.api_version == "v1" {
        Ok(Deleted::Status(resp.json()?))
    } else {
        Ok(Deleted::Object(resp.json()?))
    }
}

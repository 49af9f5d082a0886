//! One way to reach the metadata and identity of any API object, typed or dynamic.

use std::any::TypeId;
use std::borrow::Cow;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::gvk::{ApiResource, GroupVersionKind};
use crate::key::ObjectKey;

/// Access to an API object's metadata and identity, implemented for every k8s-openapi
/// resource and for [`DynamicObject`](crate::DynamicObject) and
/// [`PartialObjectMetadata`](crate::PartialObjectMetadata), so generic code (stores,
/// informers, controllers) serves typed and dynamic objects alike.
pub trait Object: Clone + Send + Sync + Serialize + DeserializeOwned + 'static {
    /// The object's metadata.
    fn meta(&self) -> &ObjectMeta;

    /// The object's metadata, for changing it.
    fn meta_mut(&mut self) -> &mut ObjectMeta;

    /// The object's group, version and kind.
    fn gvk(&self) -> GroupVersionKind;

    /// The plural resource name that serves this object.
    fn plural(&self) -> Cow<'_, str>;

    /// Whether the object lives in a namespace.
    fn namespaced(&self) -> bool;

    /// The object's key in client-go's format.
    fn key(&self) -> ObjectKey {
        ObjectKey::from_meta(self.meta())
    }

    /// The object's name, or `""` when unset.
    fn name(&self) -> &str {
        self.meta().name.as_deref().unwrap_or("")
    }

    /// The object's namespace, if it has one.
    fn namespace(&self) -> Option<&str> {
        self.meta().namespace.as_deref().filter(|ns| !ns.is_empty())
    }

    /// The object's resourceVersion: an opaque string, never to be compared numerically.
    fn resource_version(&self) -> Option<&str> {
        self.meta().resource_version.as_deref()
    }

    /// The object's uid.
    fn uid(&self) -> Option<&str> {
        self.meta().uid.as_deref()
    }
}

/// Static type information of a resource type known at compile time (every k8s-openapi
/// resource); typed clients use it to build URLs.
pub trait Resource: Object {
    /// The resource description (verbs, short names and categories are left empty: only
    /// discovery knows them).
    fn api_resource() -> ApiResource;
}

fn is_namespaced<S: 'static>() -> bool {
    // Subresource types (Scale, Eviction, ...) are addressed through a namespaced parent in
    // every case the API has today.
    TypeId::of::<S>() != TypeId::of::<k8s_openapi::ClusterResourceScope>()
}

impl<K> Object for K
where
    K: k8s_openapi::Resource
        + k8s_openapi::Metadata<Ty = ObjectMeta>
        + Clone
        + Send
        + Sync
        + Serialize
        + DeserializeOwned
        + 'static,
    K::Scope: 'static,
{
    fn meta(&self) -> &ObjectMeta {
        self.metadata()
    }

    fn meta_mut(&mut self) -> &mut ObjectMeta {
        self.metadata_mut()
    }

    fn gvk(&self) -> GroupVersionKind {
        GroupVersionKind::new(K::GROUP, K::VERSION, K::KIND)
    }

    fn plural(&self) -> Cow<'_, str> {
        Cow::Borrowed(K::URL_PATH_SEGMENT)
    }

    fn namespaced(&self) -> bool {
        is_namespaced::<K::Scope>()
    }
}

impl<K> Resource for K
where
    K: Object + k8s_openapi::Resource + k8s_openapi::Metadata<Ty = ObjectMeta>,
    K::Scope: 'static,
{
    fn api_resource() -> ApiResource {
        ApiResource {
            group: K::GROUP.to_string(),
            version: K::VERSION.to_string(),
            kind: K::KIND.to_string(),
            plural: K::URL_PATH_SEGMENT.to_string(),
            singular: K::KIND.to_ascii_lowercase(),
            namespaced: is_namespaced::<K::Scope>(),
            ..ApiResource::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::Deployment;
    use k8s_openapi::api::core::v1::{Node, Pod};

    fn describe<K: Object>(obj: &K) -> (String, String, bool, String) {
        (obj.gvk().to_string(), obj.plural().into_owned(), obj.namespaced(), obj.key().to_string())
    }

    #[test]
    fn typed_objects_expose_identity() {
        let mut pod = Pod::default();
        pod.meta_mut().name = Some("web".into());
        pod.meta_mut().namespace = Some("default".into());
        assert_eq!(describe(&pod), ("v1, Kind=Pod".into(), "pods".into(), true, "default/web".into()));

        let mut node = Node::default();
        node.meta_mut().name = Some("n1".into());
        assert_eq!(describe(&node), ("v1, Kind=Node".into(), "nodes".into(), false, "n1".into()));

        let ar = Deployment::api_resource();
        assert_eq!((ar.group.as_str(), ar.plural.as_str(), ar.namespaced), ("apps", "deployments", true));
        assert!(!Node::api_resource().namespaced);
    }
}

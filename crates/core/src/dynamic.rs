//! Objects of any kind held as JSON (client-go's `Unstructured`), with lossless conversion
//! to and from typed objects.

use std::borrow::Cow;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::gvk::{ApiResource, GroupVersionKind, guess_plural};
use crate::object::{Object, Resource};

/// A failed conversion between a dynamic object and a typed one.
#[derive(Debug, thiserror::Error)]
pub enum ConversionError {
    /// The object's JSON does not decode as the requested type.
    #[error("cannot convert {kind} {name:?} to {target}: {source}")]
    Decode {
        /// The object's kind.
        kind: String,
        /// The object's name.
        name: String,
        /// The requested type.
        target: &'static str,
        /// The decoding failure, naming the field.
        #[source]
        source: serde_json::Error,
    },
    /// The object's apiVersion/kind differ from the requested type's.
    #[error("cannot convert {actual} to {expected}: kind mismatch")]
    KindMismatch {
        /// The object's kind.
        actual: String,
        /// The requested type's kind.
        expected: String,
    },
    /// The typed object does not encode to a JSON object.
    #[error("cannot encode object: {0}")]
    Encode(#[source] serde_json::Error),
}

/// `apiVersion` and `kind` of a serialized object.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub struct TypeMeta {
    /// The `apiVersion` field.
    #[serde(rename = "apiVersion", default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    /// The `kind` field.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
}

impl TypeMeta {
    /// The kind this type meta names, if its apiVersion parses.
    pub fn gvk(&self) -> Option<GroupVersionKind> {
        GroupVersionKind::from_api_version(&self.api_version, &self.kind).ok()
    }
}

/// An object of any kind: type meta, typed metadata, and every other field as JSON.
///
/// Used by the dynamic client for custom resources and kinds unknown at compile time.
/// Plural and scope are not part of the JSON; set [`DynamicObject::resource`] (the dynamic
/// client does) or they are guessed from the kind and namespace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct DynamicObject {
    /// `apiVersion` and `kind`.
    #[serde(flatten)]
    pub types: TypeMeta,
    /// Standard object metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Every other field (`spec`, `status`, `data`, ...).
    #[serde(flatten)]
    pub data: serde_json::Map<String, serde_json::Value>,
    /// The resource serving this object, when known; not serialized.
    #[serde(skip)]
    pub resource: Option<std::sync::Arc<ApiResource>>,
}

impl DynamicObject {
    /// An empty object of the given resource's kind with a name.
    pub fn new(name: impl Into<String>, resource: &ApiResource) -> Self {
        Self {
            types: TypeMeta { api_version: resource.api_version(), kind: resource.kind.clone() },
            metadata: ObjectMeta { name: Some(name.into()), ..ObjectMeta::default() },
            data: serde_json::Map::new(),
            resource: Some(std::sync::Arc::new(resource.clone())),
        }
    }

    /// Sets the namespace (builder style).
    pub fn within(mut self, namespace: impl Into<String>) -> Self {
        self.metadata.namespace = Some(namespace.into());
        self
    }

    /// Sets a top-level field such as `spec` (builder style).
    pub fn with_field(mut self, field: impl Into<String>, value: serde_json::Value) -> Self {
        self.data.insert(field.into(), value);
        self
    }

    /// Converts a typed object losslessly (client-go's `ToUnstructured`).
    pub fn from_typed<K: Resource>(obj: &K) -> Result<Self, ConversionError> {
        let mut value = serde_json::to_value(obj).map_err(ConversionError::Encode)?;
        // k8s-openapi always writes apiVersion/kind for top-level resources; lists items may not.
        if let Some(map) = value.as_object_mut() {
            let ar = K::api_resource();
            map.entry("apiVersion").or_insert_with(|| ar.api_version().into());
            map.entry("kind").or_insert_with(|| ar.kind.clone().into());
        }
        let mut dynamic: Self = serde_json::from_value(value).map_err(ConversionError::Encode)?;
        dynamic.resource = Some(std::sync::Arc::new(K::api_resource()));
        Ok(dynamic)
    }

    /// Converts into a typed object (client-go's `FromUnstructured`), checking the kind.
    pub fn to_typed<K: Resource>(&self) -> Result<K, ConversionError> {
        let expected = K::api_resource();
        if !self.types.kind.is_empty()
            && (self.types.kind != expected.kind || self.types.api_version != expected.api_version())
        {
            return Err(ConversionError::KindMismatch {
                actual: format!("{}/{}", self.types.api_version, self.types.kind),
                expected: format!("{}/{}", expected.api_version(), expected.kind),
            });
        }
        self.decode_as()
    }

    /// Decodes the whole object as any deserializable type, without a kind check.
    pub fn decode_as<T: DeserializeOwned>(&self) -> Result<T, ConversionError> {
        let value = serde_json::to_value(self).map_err(ConversionError::Encode)?;
        serde_json::from_value(value).map_err(|source| ConversionError::Decode {
            kind: self.types.kind.clone(),
            name: self.metadata.name.clone().unwrap_or_default(),
            target: std::any::type_name::<T>(),
            source,
        })
    }
}

impl Object for DynamicObject {
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }

    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }

    fn gvk(&self) -> GroupVersionKind {
        match &self.resource {
            Some(ar) => ar.gvk(),
            None => self.types.gvk().unwrap_or_else(|| GroupVersionKind::new("", "", &self.types.kind)),
        }
    }

    fn plural(&self) -> Cow<'_, str> {
        match &self.resource {
            Some(ar) => Cow::Borrowed(ar.plural.as_str()),
            None => Cow::Owned(guess_plural(&self.types.kind)),
        }
    }

    fn namespaced(&self) -> bool {
        match &self.resource {
            Some(ar) => ar.namespaced,
            None => self.namespace().is_some(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::Deployment;
    use k8s_openapi::api::core::v1::{Node, Pod};
    use serde_json::json;

    fn round_trip<K: Resource + PartialEq + std::fmt::Debug>(value: serde_json::Value) {
        let typed: K = serde_json::from_value(value.clone()).unwrap();
        let dynamic = DynamicObject::from_typed(&typed).unwrap();
        // The dynamic form serializes to exactly the typed form's JSON.
        assert_eq!(serde_json::to_value(&dynamic).unwrap(), serde_json::to_value(&typed).unwrap());
        let back: K = dynamic.to_typed().unwrap();
        assert_eq!(back, typed);
        // And a dynamic object decoded from the wire converts the same way.
        let wire: DynamicObject = serde_json::from_value(value).unwrap();
        assert_eq!(wire.to_typed::<K>().unwrap(), typed);
    }

    #[test]
    fn pod_round_trips() {
        round_trip::<Pod>(json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"},
                "resourceVersion": "12", "uid": "u-1",
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-1", "uid": "rs", "controller": true}],
                "managedFields": [{"manager": "kubectl", "operation": "Apply", "apiVersion": "v1",
                    "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:containers": {}}}}]},
            "spec": {"containers": [{"name": "c", "image": "nginx:1.27",
                "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}},
                "ports": [{"containerPort": 80, "protocol": "TCP"}]}], "nodeName": "n1"},
            "status": {"phase": "Running", "podIP": "10.0.0.1",
                "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2024-01-01T00:00:00Z"}]}
        }));
    }

    #[test]
    fn deployment_round_trips() {
        round_trip::<Deployment>(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "generation": 3},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}},
                "template": {"metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "web", "image": "nginx"}]}}},
            "status": {"replicas": 3, "readyReplicas": 2, "observedGeneration": 3}
        }));
    }

    #[test]
    fn node_round_trips() {
        round_trip::<Node>(json!({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": "n1", "labels": {"kubernetes.io/hostname": "n1"}},
            "spec": {"podCIDR": "10.0.1.0/24", "taints": [{"key": "k", "effect": "NoSchedule"}]},
            "status": {"capacity": {"cpu": "2", "memory": "8Gi", "pods": "110"},
                "addresses": [{"type": "InternalIP", "address": "192.168.0.2"}],
                "nodeInfo": {"architecture": "amd64", "bootID": "b", "containerRuntimeVersion": "containerd://1.7",
                    "kernelVersion": "6.1", "kubeProxyVersion": "", "kubeletVersion": "v1.37.0", "machineID": "m",
                    "operatingSystem": "linux", "osImage": "Debian", "systemUUID": "s"}}
        }));
    }

    #[test]
    fn crd_shaped_object_keeps_every_field() {
        let value = json!({
            "apiVersion": "example.com/v1", "kind": "Foo",
            "metadata": {"name": "f", "namespace": "ns", "finalizers": ["example.com/cleanup"]},
            "spec": {"deploymentName": "x", "replicas": 2, "nested": {"list": [1, "two", null, {"a": true}]}},
            "status": {"availableReplicas": 1},
            "extraTopLevel": 1.5
        });
        let obj: DynamicObject = serde_json::from_value(value.clone()).unwrap();
        assert_eq!(obj.gvk(), GroupVersionKind::new("example.com", "v1", "Foo"));
        assert_eq!(obj.plural(), "foos");
        assert!(obj.namespaced());
        assert_eq!(obj.data["spec"]["replicas"], 2);
        assert_eq!(serde_json::to_value(&obj).unwrap(), value);
    }

    #[test]
    fn kind_mismatch_and_bad_fields_are_errors() {
        let obj: DynamicObject =
            serde_json::from_value(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}))
                .unwrap();
        let err = obj.to_typed::<Pod>().unwrap_err();
        assert!(err.to_string().contains("kind mismatch"), "{err}");
        let bad: DynamicObject = serde_json::from_value(
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}, "spec": {"containers": "nope"}}),
        )
        .unwrap();
        let err = bad.to_typed::<Pod>().unwrap_err();
        assert!(err.to_string().contains("Pod \"x\""), "{err}");
    }
}

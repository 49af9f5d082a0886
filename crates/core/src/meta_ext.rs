//! Helpers over object metadata: owner references, finalizers, labels and annotations.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

use crate::object::Object;

/// Metadata helpers available on every [`Object`].
pub trait ObjectMetaExt {
    /// The owner reference with `controller: true`, if any.
    fn controller_of(&self) -> Option<&OwnerReference>;
    /// Whether `owner` (matched by uid) is among the owner references.
    fn is_owned_by(&self, owner: &impl Object) -> bool;
    /// Whether the finalizer is present.
    fn has_finalizer(&self, finalizer: &str) -> bool;
    /// Adds a finalizer; returns whether it was added (false if already present).
    fn add_finalizer(&mut self, finalizer: &str) -> bool;
    /// Removes a finalizer; returns whether it was present.
    fn remove_finalizer(&mut self, finalizer: &str) -> bool;
    /// A label's value.
    fn label(&self, key: &str) -> Option<&str>;
    /// Sets a label.
    fn set_label(&mut self, key: impl Into<String>, value: impl Into<String>);
    /// An annotation's value.
    fn annotation(&self, key: &str) -> Option<&str>;
    /// Sets an annotation.
    fn set_annotation(&mut self, key: impl Into<String>, value: impl Into<String>);
    /// Whether deletion has started (deletionTimestamp set).
    fn is_being_deleted(&self) -> bool;
}

impl ObjectMetaExt for ObjectMeta {
    fn controller_of(&self) -> Option<&OwnerReference> {
        self.owner_references.as_ref()?.iter().find(|r| r.controller == Some(true))
    }

    fn is_owned_by(&self, owner: &impl Object) -> bool {
        let Some(uid) = owner.uid() else { return false };
        self.owner_references.as_ref().is_some_and(|refs| refs.iter().any(|r| r.uid == uid))
    }

    fn has_finalizer(&self, finalizer: &str) -> bool {
        self.finalizers.as_ref().is_some_and(|f| f.iter().any(|x| x == finalizer))
    }

    fn add_finalizer(&mut self, finalizer: &str) -> bool {
        if self.has_finalizer(finalizer) {
            return false;
        }
        self.finalizers.get_or_insert_with(Vec::new).push(finalizer.to_string());
        true
    }

    fn remove_finalizer(&mut self, finalizer: &str) -> bool {
        let Some(list) = self.finalizers.as_mut() else {
            return false;
        };
        let before = list.len();
        list.retain(|f| f != finalizer);
        before != list.len()
    }

    fn label(&self, key: &str) -> Option<&str> {
        self.labels.as_ref()?.get(key).map(String::as_str)
    }

    fn set_label(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.labels.get_or_insert_with(Default::default).insert(key.into(), value.into());
    }

    fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations.as_ref()?.get(key).map(String::as_str)
    }

    fn set_annotation(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.annotations.get_or_insert_with(Default::default).insert(key.into(), value.into());
    }

    fn is_being_deleted(&self) -> bool {
        self.deletion_timestamp.is_some()
    }
}

/// An owner reference pointing at `owner`; `controller` marks it as the managing controller
/// (with `blockOwnerDeletion`, as controllers set it). `None` if the owner has no uid yet.
pub fn owner_reference(owner: &impl Object, controller: bool) -> Option<OwnerReference> {
    let gvk = owner.gvk();
    Some(OwnerReference {
        api_version: gvk.api_version(),
        kind: gvk.kind,
        name: owner.name().to_string(),
        uid: owner.uid()?.to_string(),
        controller: controller.then_some(true),
        block_owner_deletion: controller.then_some(true),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::Deployment;
    use k8s_openapi::api::core::v1::Pod;

    #[test]
    fn owner_references() {
        let mut owner = Deployment::default();
        owner.metadata.name = Some("web".into());
        assert!(owner_reference(&owner, true).is_none(), "no uid yet");
        owner.metadata.uid = Some("u-1".into());
        let r = owner_reference(&owner, true).unwrap();
        assert_eq!((r.api_version.as_str(), r.kind.as_str(), r.name.as_str()), ("apps/v1", "Deployment", "web"));
        let mut pod = Pod::default();
        assert!(!pod.metadata.is_owned_by(&owner));
        assert!(pod.metadata.controller_of().is_none());
        pod.metadata.owner_references = Some(vec![owner_reference(&owner, false).unwrap(), r.clone()]);
        assert!(pod.metadata.is_owned_by(&owner));
        assert_eq!(pod.metadata.controller_of(), Some(&r));
    }

    #[test]
    fn finalizers_labels_annotations() {
        let mut m = ObjectMeta::default();
        assert!(m.add_finalizer("x/y"));
        assert!(!m.add_finalizer("x/y"));
        assert!(m.has_finalizer("x/y"));
        assert!(m.remove_finalizer("x/y"));
        assert!(!m.remove_finalizer("x/y"));
        m.set_label("app", "web");
        m.set_annotation("note", "n");
        assert_eq!(m.label("app"), Some("web"));
        assert_eq!(m.annotation("note"), Some("n"));
        assert_eq!(m.label("missing"), None);
        assert!(!m.is_being_deleted());
    }
}

//! Identity of API types and resources: group/version, kinds, resources and their discovery data.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A parse failure of an `apiVersion` string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid apiVersion {input:?}: {reason}")]
pub struct ApiVersionError {
    /// The text that failed to parse.
    pub input: String,
    /// What was wrong with it.
    pub reason: &'static str,
}

/// An API group and version, such as `apps/v1` or the core group's `v1`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default)]
pub struct GroupVersion {
    /// The group; empty for the core (legacy) group.
    pub group: String,
    /// The version, such as `v1`.
    pub version: String,
}

impl GroupVersion {
    /// A group/version from its parts.
    pub fn new(group: impl Into<String>, version: impl Into<String>) -> Self {
        Self { group: group.into(), version: version.into() }
    }

    /// Parses an `apiVersion` value: `group/version`, or `version` for the core group.
    pub fn parse(api_version: &str) -> Result<Self, ApiVersionError> {
        let err = |reason| ApiVersionError { input: api_version.to_string(), reason };
        match api_version.split_once('/') {
            None if api_version.is_empty() => Err(err("empty")),
            None => Ok(Self::new("", api_version)),
            Some((g, v)) => {
                if g.is_empty() || v.is_empty() {
                    Err(err("group and version must both be non-empty"))
                } else if v.contains('/') {
                    Err(err("more than one '/'"))
                } else {
                    Ok(Self::new(g, v))
                }
            }
        }
    }

    /// The `apiVersion` string: `group/version`, or just `version` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() { self.version.clone() } else { format!("{}/{}", self.group, self.version) }
    }

    /// The URL prefix under which this group/version is served: `/api/v1` or `/apis/G/V`.
    pub fn url_prefix(&self) -> String {
        if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        }
    }

    /// This group/version with a kind.
    pub fn with_kind(&self, kind: impl Into<String>) -> GroupVersionKind {
        GroupVersionKind::new(&self.group, &self.version, kind)
    }

    /// This group/version with a resource.
    pub fn with_resource(&self, resource: impl Into<String>) -> GroupVersionResource {
        GroupVersionResource::new(&self.group, &self.version, resource)
    }
}

impl fmt::Display for GroupVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.api_version())
    }
}

/// A kind within a group and version: what the `apiVersion` and `kind` fields name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default)]
pub struct GroupVersionKind {
    /// The group; empty for the core group.
    pub group: String,
    /// The version.
    pub version: String,
    /// The kind, such as `Deployment`.
    pub kind: String,
}

impl GroupVersionKind {
    /// A kind from its parts.
    pub fn new(group: impl Into<String>, version: impl Into<String>, kind: impl Into<String>) -> Self {
        Self { group: group.into(), version: version.into(), kind: kind.into() }
    }

    /// The kind named by an object's `apiVersion` and `kind` fields.
    pub fn from_api_version(api_version: &str, kind: impl Into<String>) -> Result<Self, ApiVersionError> {
        let gv = GroupVersion::parse(api_version)?;
        Ok(Self::new(gv.group, gv.version, kind))
    }

    /// The group/version part.
    pub fn group_version(&self) -> GroupVersion {
        GroupVersion::new(&self.group, &self.version)
    }

    /// The `apiVersion` string.
    pub fn api_version(&self) -> String {
        self.group_version().api_version()
    }
}

impl fmt::Display for GroupVersionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // client-go prints "apps/v1, Kind=Deployment"
        write!(f, "{}, Kind={}", self.api_version(), self.kind)
    }
}

/// A resource within a group and version: what a URL names, such as `apps/v1 deployments`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default)]
pub struct GroupVersionResource {
    /// The group; empty for the core group.
    pub group: String,
    /// The version.
    pub version: String,
    /// The resource (plural, lower case), such as `deployments`.
    pub resource: String,
}

impl GroupVersionResource {
    /// A resource from its parts.
    pub fn new(group: impl Into<String>, version: impl Into<String>, resource: impl Into<String>) -> Self {
        Self { group: group.into(), version: version.into(), resource: resource.into() }
    }

    /// The group/version part.
    pub fn group_version(&self) -> GroupVersion {
        GroupVersion::new(&self.group, &self.version)
    }

    /// The group-qualified resource name used in error messages: `deployments.apps`, or `pods`.
    pub fn group_resource(&self) -> String {
        qualified_resource(&self.resource, &self.group)
    }
}

impl fmt::Display for GroupVersionResource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // client-go prints "apps/v1, Resource=deployments"
        write!(f, "{}, Resource={}", self.group_version(), self.resource)
    }
}

/// `resource.group`, or just `resource` for the core group: how the API names a resource in messages.
pub fn qualified_resource(resource: &str, group: &str) -> String {
    if group.is_empty() { resource.to_string() } else { format!("{resource}.{group}") }
}

/// Everything needed to address a resource and describe it, as discovery reports it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub struct ApiResource {
    /// The group; empty for the core group.
    pub group: String,
    /// The version.
    pub version: String,
    /// The kind of the objects.
    pub kind: String,
    /// The plural resource name used in URLs.
    pub plural: String,
    /// The singular name (lower case kind unless discovery says otherwise).
    pub singular: String,
    /// Whether objects live in namespaces.
    pub namespaced: bool,
    /// The verbs the server supports; empty when unknown (not from discovery).
    pub verbs: Vec<String>,
    /// Short names such as `po` or `deploy`.
    pub short_names: Vec<String>,
    /// Categories such as `all`.
    pub categories: Vec<String>,
    /// Subresources such as `status` and `scale`.
    pub subresources: Vec<String>,
}

impl ApiResource {
    /// A resource description from a kind, guessing plural and singular names the way
    /// kubectl's RESTMapper does when discovery is unavailable; prefer discovery data.
    pub fn from_gvk(gvk: &GroupVersionKind, namespaced: bool) -> Self {
        Self {
            group: gvk.group.clone(),
            version: gvk.version.clone(),
            kind: gvk.kind.clone(),
            plural: guess_plural(&gvk.kind),
            singular: gvk.kind.to_ascii_lowercase(),
            namespaced,
            ..Self::default()
        }
    }

    /// The group/version.
    pub fn group_version(&self) -> GroupVersion {
        GroupVersion::new(&self.group, &self.version)
    }

    /// The `apiVersion` string.
    pub fn api_version(&self) -> String {
        self.group_version().api_version()
    }

    /// The kind.
    pub fn gvk(&self) -> GroupVersionKind {
        GroupVersionKind::new(&self.group, &self.version, &self.kind)
    }

    /// The resource.
    pub fn gvr(&self) -> GroupVersionResource {
        GroupVersionResource::new(&self.group, &self.version, &self.plural)
    }

    /// Whether the server reported `verb` for this resource.
    pub fn supports(&self, verb: &str) -> bool {
        self.verbs.iter().any(|v| v == verb)
    }

    /// The collection URL path: `/api/v1/namespaces/{ns}/pods`, or cluster-wide without a namespace.
    pub fn collection_path(&self, namespace: Option<&str>) -> String {
        let mut path = self.group_version().url_prefix();
        if let (true, Some(ns)) = (self.namespaced, namespace) {
            path.push_str("/namespaces/");
            path.push_str(ns);
        }
        path.push('/');
        path.push_str(&self.plural);
        path
    }

    /// The URL path of one object, optionally of one of its subresources.
    pub fn object_path(&self, namespace: Option<&str>, name: &str, subresource: Option<&str>) -> String {
        let mut path = self.collection_path(namespace);
        path.push('/');
        path.push_str(name);
        if let Some(sub) = subresource {
            path.push('/');
            path.push_str(sub);
        }
        path
    }
}

/// The lower-case plural of a kind, following the rules of apimachinery's `UnsafeGuessKindToResource`.
pub fn guess_plural(kind: &str) -> String {
    let lower = kind.to_ascii_lowercase();
    if lower.is_empty() {
        return lower;
    }
    if lower == "endpoints" {
        return lower;
    }
    if lower.ends_with('s')
        || lower.ends_with("ch")
        || lower.ends_with("sh")
        || lower.ends_with('x')
        || lower.ends_with('z')
    {
        return format!("{lower}es");
    }
    if let Some(stem) = lower.strip_suffix('y') {
        if !stem.ends_with(['a', 'e', 'i', 'o', 'u']) {
            return format!("{stem}ies");
        }
    }
    format!("{lower}s")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_api_versions() {
        assert_eq!(GroupVersion::parse("v1").unwrap(), GroupVersion::new("", "v1"));
        assert_eq!(GroupVersion::parse("apps/v1").unwrap(), GroupVersion::new("apps", "v1"));
        assert!(GroupVersion::parse("").is_err());
        assert!(GroupVersion::parse("a/b/c").is_err());
        assert!(GroupVersion::parse("/v1").is_err());
        assert_eq!(GroupVersion::new("", "v1").api_version(), "v1");
        assert_eq!(GroupVersion::new("apps", "v1").to_string(), "apps/v1");
    }

    #[test]
    fn paths_follow_the_api_layout() {
        let pods = ApiResource::from_gvk(&GroupVersionKind::new("", "v1", "Pod"), true);
        assert_eq!(pods.plural, "pods");
        assert_eq!(pods.collection_path(Some("default")), "/api/v1/namespaces/default/pods");
        assert_eq!(pods.collection_path(None), "/api/v1/pods");
        assert_eq!(pods.object_path(Some("ns"), "p", Some("status")), "/api/v1/namespaces/ns/pods/p/status");
        let nodes = ApiResource::from_gvk(&GroupVersionKind::new("", "v1", "Node"), false);
        assert_eq!(nodes.collection_path(Some("ignored")), "/api/v1/nodes");
        let deploy = ApiResource::from_gvk(&GroupVersionKind::new("apps", "v1", "Deployment"), true);
        assert_eq!(deploy.object_path(Some("d"), "x", None), "/apis/apps/v1/namespaces/d/deployments/x");
        assert_eq!(deploy.gvr().group_resource(), "deployments.apps");
    }

    #[test]
    fn guesses_plurals() {
        for (kind, plural) in [
            ("Pod", "pods"),
            ("Ingress", "ingresses"),
            ("NetworkPolicy", "networkpolicies"),
            ("Gateway", "gateways"),
            ("Endpoints", "endpoints"),
            ("Box", "boxes"),
            ("Match", "matches"),
        ] {
            assert_eq!(guess_plural(kind), plural, "{kind}");
        }
    }

    #[test]
    fn display_matches_client_go() {
        assert_eq!(GroupVersionKind::new("apps", "v1", "Deployment").to_string(), "apps/v1, Kind=Deployment");
        assert_eq!(GroupVersionResource::new("", "v1", "pods").to_string(), "v1, Resource=pods");
    }
}

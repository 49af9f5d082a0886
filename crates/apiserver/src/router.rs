//! Request paths to routes, as kube-apiserver lays out its URL space.

/// A resource request's target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourcePath {
    /// API group ("" for core).
    pub group: String,
    /// Version.
    pub version: String,
    /// Namespace from the URL, if any.
    pub namespace: Option<String>,
    /// The resource (plural).
    pub plural: String,
    /// Object name, if any.
    pub name: Option<String>,
    /// Subresource, if any.
    pub subresource: Option<String>,
}

/// What a request path names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `/version`.
    Version,
    /// `/healthz`, `/readyz`, `/livez` (and their sub-checks).
    Health,
    /// `/api`: the core group's versions.
    LegacyVersions,
    /// `/apis`: every group.
    Groups,
    /// `/apis/{group}`.
    Group(String),
    /// `/api/v1` or `/apis/{group}/{version}`: the resource list.
    GroupVersion(String, String),
    /// `/openapi/v2`.
    OpenApiV2,
    /// `/openapi/v3`: the index of group-versions.
    OpenApiV3Index,
    /// `/openapi/v3/api/v1` or `/openapi/v3/apis/{group}/{version}`.
    OpenApiV3(String, String),
    /// A resource, collection, object or subresource.
    Resource(ResourcePath),
    /// Nothing is served here.
    NotFound,
}

/// Parses a request path (without query).
pub fn route(path: &str) -> Route {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segs.as_slice() {
        ["version"] => Route::Version,
        ["healthz" | "readyz" | "livez", ..] => Route::Health,
        ["api"] => Route::LegacyVersions,
        ["apis"] => Route::Groups,
        ["apis", group] => Route::Group(group.to_string()),
        ["openapi", "v2"] => Route::OpenApiV2,
        ["openapi", "v3"] => Route::OpenApiV3Index,
        ["openapi", "v3", "api", version] => Route::OpenApiV3(String::new(), version.to_string()),
        ["openapi", "v3", "apis", group, version] => Route::OpenApiV3(group.to_string(), version.to_string()),
        ["api", version, rest @ ..] => resource("", version, rest),
        ["apis", group, version, rest @ ..] => resource(group, version, rest),
        _ => Route::NotFound,
    }
}

fn resource(group: &str, version: &str, rest: &[&str]) -> Route {
    let path = |namespace: Option<&str>, plural: &str, name: Option<&str>, sub: Option<&str>| {
        Route::Resource(ResourcePath {
            group: group.to_string(),
            version: version.to_string(),
            namespace: namespace.map(str::to_string),
            plural: plural.to_string(),
            name: name.map(str::to_string),
            subresource: sub.map(str::to_string),
        })
    };
    match rest {
        [] => Route::GroupVersion(group.to_string(), version.to_string()),
        // The namespace objects themselves live at /api/v1/namespaces[/{name}[/{sub}]].
        ["namespaces"] => path(None, "namespaces", None, None),
        ["namespaces", ns] => path(None, "namespaces", Some(ns), None),
        ["namespaces", ns, sub @ ("status" | "finalize")] if group.is_empty() => {
            path(None, "namespaces", Some(ns), Some(sub))
        }
        ["namespaces", ns, plural] => path(Some(ns), plural, None, None),
        ["namespaces", ns, plural, name] => path(Some(ns), plural, Some(name), None),
        ["namespaces", ns, plural, name, sub] => path(Some(ns), plural, Some(name), Some(sub)),
        [plural] => path(None, plural, None, None),
        [plural, name] => path(None, plural, Some(name), None),
        [plural, name, sub] => path(None, plural, Some(name), Some(sub)),
        _ => Route::NotFound,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(route: Route) -> ResourcePath {
        match route {
            Route::Resource(r) => r,
            other => panic!("not a resource: {other:?}"),
        }
    }

    #[test]
    fn routes_the_api_layout() {
        assert_eq!(route("/version"), Route::Version);
        assert_eq!(route("/readyz/ping"), Route::Health);
        assert_eq!(route("/api"), Route::LegacyVersions);
        assert_eq!(route("/api/v1"), Route::GroupVersion("".into(), "v1".into()));
        assert_eq!(route("/apis/apps/v1"), Route::GroupVersion("apps".into(), "v1".into()));
        assert_eq!(route("/apis/apps"), Route::Group("apps".into()));
        assert_eq!(route("/openapi/v3/apis/apps/v1"), Route::OpenApiV3("apps".into(), "v1".into()));
        let r = res(route("/api/v1/namespaces/default/pods/web/status"));
        assert_eq!(
            (r.namespace.as_deref(), r.plural.as_str(), r.name.as_deref(), r.subresource.as_deref()),
            (Some("default"), "pods", Some("web"), Some("status"))
        );
        let r = res(route("/api/v1/namespaces/kube-system"));
        assert_eq!((r.namespace, r.plural.as_str(), r.name.as_deref()), (None, "namespaces", Some("kube-system")));
        let r = res(route("/api/v1/namespaces/x/status"));
        assert_eq!(
            (r.plural.as_str(), r.name.as_deref(), r.subresource.as_deref()),
            ("namespaces", Some("x"), Some("status"))
        );
        let r = res(route("/apis/apps/v1/deployments"));
        assert_eq!((r.namespace, r.plural.as_str()), (None, "deployments"));
        assert_eq!(route("/api/v1/namespaces/a/pods/b/c/d"), Route::NotFound);
        assert_eq!(route("/nope"), Route::NotFound);
    }
}

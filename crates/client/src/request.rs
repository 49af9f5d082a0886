//! The chained request builder (client-go's `rest.Request`): verb, namespace, resource, name,
//! subresource, query, headers and body, ending in a decoded object, raw bytes, a byte
//! stream or a watch stream.
//!
//! ```no_run
//! # async fn demo(client: rkube_client::Client) -> Result<(), rkube_client::Error> {
//! use k8s_openapi::api::core::v1::Node;
//! use rkube_core::{ListOptions, ObjectList, Resource};
//! let nodes: ObjectList<Node> = client
//!     .get()
//!     .resource(&Node::api_resource())
//!     .query(ListOptions::default().limit(100).to_query())
//!     .into()
//!     .await?;
//! # Ok(()) }
//! ```

use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_TYPE};
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use rkube_core::patch::content_type;
use rkube_core::query::query_escape;
use rkube_core::{ApiResource, GroupVersionResource, Patch};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::client::Client;
use crate::error::Error;
use crate::response::{Response, api_error, warnings};
use crate::transport::{ByteStream, Mode, RawRequest, RawResponse, collect};
use crate::watch::WatchStream;

/// A request being built. Mistakes (an empty name, a name with '/', a subresource without a
/// name, an unserializable body ...) are remembered and reported, first one only, as
/// [`Error::InvalidRequest`] when the request is sent.
#[must_use = "a request does nothing until sent"]
#[derive(Debug, Clone)]
pub struct Request {
    client: Client,
    verb: Method,
    abs_path: Option<String>,
    prefix: Option<String>,
    resource: Option<String>,
    namespaced: Option<bool>,
    namespace: Option<String>,
    name: Option<String>,
    subresource: Option<String>,
    query: Vec<String>,
    headers: HeaderMap,
    body: Bytes,
    timeout: Option<Duration>,
    err: Option<String>,
}

/// Whether `s` can be one path segment (apimachinery's `IsValidPathSegmentName`).
fn path_segment_problem(s: &str) -> Option<&'static str> {
    if s.is_empty() {
        Some("may not be empty")
    } else if s == "." || s == ".." {
        Some("may not be '.' or '..'")
    } else if s.contains('/') {
        Some("may not contain '/'")
    } else if s.contains('%') {
        Some("may not contain '%'")
    } else {
        None
    }
}

/// A duration as Go's `time.ParseDuration` reads it: `30s`, or `1500ms` below whole seconds.
fn go_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 && d.as_secs() > 0 { format!("{}s", d.as_secs()) } else { format!("{}ms", d.as_millis()) }
}

impl Request {
    pub(crate) fn new(client: Client, verb: Method) -> Self {
        let timeout = client.config().timeout;
        Request {
            client,
            verb,
            abs_path: None,
            prefix: None,
            resource: None,
            namespaced: None,
            namespace: None,
            name: None,
            subresource: None,
            query: Vec::new(),
            headers: HeaderMap::new(),
            body: Bytes::new(),
            timeout,
            err: None,
        }
    }

    fn fail(mut self, message: String) -> Self {
        if self.err.is_none() {
            self.err = Some(message);
        }
        self
    }

    /// Records a mistake if `value` cannot be a path segment; true when it can.
    fn check_segment(&mut self, what: &str, value: &str) -> bool {
        match path_segment_problem(value) {
            Some(problem) => {
                if self.err.is_none() {
                    self.err = Some(format!("{what} {value:?} {problem}"));
                }
                false
            }
            None => true,
        }
    }

    /// The namespace; ignored for cluster-scoped resources given with [`Request::resource`].
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        let namespace = namespace.into();
        if !self.check_segment("namespace", &namespace) {
            return self;
        }
        if self.namespace.is_some() {
            return self.fail("namespace already set".into());
        }
        self.namespace = Some(namespace);
        self
    }

    /// The resource and its scope, as discovery or [`rkube_core::Resource::api_resource`] describes it.
    pub fn resource(mut self, resource: &ApiResource) -> Self {
        if self.resource.is_some() {
            return self.fail("resource already set".into());
        }
        self.prefix = Some(resource.group_version().url_prefix());
        self.resource = Some(resource.plural.clone());
        self.namespaced = Some(resource.namespaced);
        self
    }

    /// The resource by group/version/resource; the namespace, when set, is always used.
    pub fn gvr(mut self, gvr: &GroupVersionResource) -> Self {
        if self.resource.is_some() {
            return self.fail("resource already set".into());
        }
        self.prefix = Some(gvr.group_version().url_prefix());
        self.resource = Some(gvr.resource.clone());
        self.namespaced = None;
        self
    }

    /// An object name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        let name = name.into();
        if self.check_segment("resource name", &name) {
            self.name = Some(name);
        }
        self
    }

    /// A subresource such as `status`, `scale`, `log` or `eviction` (needs a name).
    pub fn subresource(mut self, subresource: impl Into<String>) -> Self {
        let sub = subresource.into();
        if self.check_segment("subresource", &sub) {
            self.subresource = Some(sub);
        }
        self
    }

    /// A path below the server URL instead of a resource, such as `/version` or `/apis`.
    pub fn abs_path(mut self, path: impl Into<String>) -> Self {
        let path = path.into();
        if !path.starts_with('/') {
            return self.fail(format!("absolute path {path:?} must start with '/'"));
        }
        self.abs_path = Some(path);
        self
    }

    /// Adds an encoded query string, such as `ListOptions::to_query()`; empty strings are ignored.
    pub fn query(mut self, encoded: impl AsRef<str>) -> Self {
        let q = encoded.as_ref().trim_start_matches('?');
        if !q.is_empty() {
            self.query.push(q.to_owned());
        }
        self
    }

    /// Adds one query parameter (the value is escaped).
    pub fn param(mut self, key: &str, value: impl AsRef<str>) -> Self {
        self.query.push(format!("{}={}", query_escape(key), query_escape(value.as_ref())));
        self
    }

    /// Sets a header (an `Accept` here replaces the default `application/json`).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        match (HeaderName::try_from(name), HeaderValue::from_str(value)) {
            (Ok(n), Ok(v)) => {
                self.headers.append(n, v);
                self
            }
            _ => self.fail(format!("invalid header {name:?}")),
        }
    }

    /// Sets the body and its content type.
    pub fn body(mut self, body: impl Into<Bytes>, content_type: &str) -> Self {
        self.body = body.into();
        self.headers.remove(CONTENT_TYPE);
        self.header("Content-Type", content_type)
    }

    /// Sets a JSON body.
    pub fn json<T: Serialize + ?Sized>(self, body: &T) -> Self {
        match serde_json::to_vec(body) {
            Ok(bytes) => self.body(bytes, content_type::JSON),
            Err(e) => self.fail(format!("cannot encode the body as JSON: {e}")),
        }
    }

    /// Sets a patch body with its content type.
    pub fn patch(self, patch: &Patch) -> Self {
        let ct = patch.content_type();
        self.body(patch.to_body(), ct)
    }

    /// Overrides the config's per-request timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The path and query the request goes to, or the first builder mistake.
    pub fn path_and_query(&self) -> Result<String, Error> {
        if let Some(e) = &self.err {
            return Err(Error::InvalidRequest(e.clone()));
        }
        let mut path = match (&self.abs_path, &self.resource) {
            (Some(_), Some(_)) => return Err(Error::InvalidRequest("both an absolute path and a resource set".into())),
            (None, None) => return Err(Error::InvalidRequest("no resource and no absolute path set".into())),
            (Some(p), None) => {
                if self.name.is_some() || self.subresource.is_some() || self.namespace.is_some() {
                    return Err(Error::InvalidRequest(
                        "name, namespace or subresource set with an absolute path".into(),
                    ));
                }
                p.clone()
            }
            (None, Some(resource)) => {
                let mut p = self.prefix.clone().unwrap_or_default();
                if let (Some(ns), true) = (&self.namespace, self.namespaced.unwrap_or(true)) {
                    p.push_str("/namespaces/");
                    p.push_str(ns);
                }
                p.push('/');
                p.push_str(resource);
                if let Some(name) = &self.name {
                    p.push('/');
                    p.push_str(name);
                }
                if let Some(sub) = &self.subresource {
                    if self.name.is_none() {
                        return Err(Error::InvalidRequest(format!("subresource {sub:?} needs a resource name")));
                    }
                    p.push('/');
                    p.push_str(sub);
                }
                p
            }
        };
        if !self.query.is_empty() {
            path.push('?');
            path.push_str(&self.query.join("&"));
        }
        Ok(path)
    }

    fn raw(&self, mode: Mode) -> Result<RawRequest, Error> {
        let mut path_and_query = self.path_and_query()?;
        // Like client-go, the per-request timeout is also sent, so the server gives up too.
        if let (Mode::Normal, Some(t)) = (mode, self.timeout) {
            if !self.query.iter().any(|q| q.split('&').any(|p| p.starts_with("timeout="))) {
                path_and_query.push(if path_and_query.contains('?') { '&' } else { '?' });
                path_and_query.push_str("timeout=");
                path_and_query.push_str(&go_duration(t));
            }
        }
        let mut headers = self.headers.clone();
        if !headers.contains_key(ACCEPT) {
            headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        }
        Ok(RawRequest {
            method: self.verb.clone(),
            path_and_query,
            headers,
            body: self.body.clone(),
            mode,
            timeout: self.timeout,
        })
    }

    async fn dispatch(&self, mode: Mode) -> Result<RawResponse, Error> {
        let raw = self.raw(mode)?;
        self.client.transport.send(&raw).await
    }

    /// Sends the request and reads the whole response, whatever its status.
    pub async fn send(self) -> Result<Response, Error> {
        let deadline = self.timeout.map(|t| (tokio::time::Instant::now() + t, t));
        let resp = self.dispatch(Mode::Normal).await?;
        let (parts, body) = resp.response.into_parts();
        let verb = self.verb.to_string();
        let read = collect(body, resp.gzip, &verb, &resp.url);
        let body = match deadline {
            Some((at, t)) => tokio::time::timeout_at(at, read).await.map_err(|_| Error::Timeout {
                verb: verb.clone(),
                url: resp.url.clone(),
                after: t,
            })??,
            None => read.await?,
        };
        Ok(Response {
            warnings: warnings(&parts.headers, &resp.url),
            verb,
            url: resp.url,
            status: parts.status,
            version: parts.version,
            headers: parts.headers,
            body,
        })
    }

    /// Sends the request; a non-2xx answer becomes [`Error::Api`].
    pub async fn send_checked(self) -> Result<Response, Error> {
        self.send().await?.error_for_status()
    }

    /// The body of a successful answer.
    pub async fn bytes(self) -> Result<Bytes, Error> {
        Ok(self.send_checked().await?.body)
    }

    /// The body of a successful answer decoded as `T`.
    pub async fn into<T: DeserializeOwned>(self) -> Result<T, Error> {
        self.send_checked().await?.json()
    }

    /// A successful answer's body as a stream of chunks, read as it arrives (`follow` logs).
    /// The timeout covers only the response head.
    pub async fn stream(self) -> Result<ByteStream, Error> {
        self.open(Mode::Stream).await
    }

    /// A watch: events decoded one by one as they arrive. Adds `watch=true` when the query
    /// does not have it; not rate-limited (as in client-go).
    pub async fn watch<T: DeserializeOwned + Send + 'static>(mut self) -> Result<WatchStream<T>, Error> {
        if !self.query.iter().any(|q| q.split('&').any(|p| p == "watch=true" || p == "watch=1")) {
            self.query.push("watch=true".into());
        }
        let url = self.client.transport.url_of(&self.path_and_query()?);
        let bytes = self.open(Mode::Watch).await?;
        Ok(WatchStream::new(bytes, url))
    }

    async fn open(self, mode: Mode) -> Result<ByteStream, Error> {
        let resp = self.dispatch(mode).await?;
        let verb = self.verb.to_string();
        let (parts, body) = resp.response.into_parts();
        warnings(&parts.headers, &resp.url);
        if !parts.status.is_success() {
            let bytes = collect(body, resp.gzip, &verb, &resp.url).await?;
            return Err(api_error(&verb, &resp.url, parts.status, &parts.headers, &bytes));
        }
        Ok(ByteStream::new(body, resp.gzip, verb, resp.url))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use k8s_openapi::api::core::v1::{Node, Pod};
    use rkube_core::Resource;

    fn client() -> Client {
        Client::new(Config::new("http://127.0.0.1:1".parse().unwrap())).unwrap()
    }

    #[test]
    fn builds_paths() {
        let c = client();
        let p = c.get().resource(&Pod::api_resource()).namespace("ns").name("p").subresource("log");
        assert_eq!(p.path_and_query().unwrap(), "/api/v1/namespaces/ns/pods/p/log");
        let n = c.get().resource(&Node::api_resource()).namespace("ignored").query("limit=1");
        assert_eq!(n.path_and_query().unwrap(), "/api/v1/nodes?limit=1");
        let g = c.get().gvr(&GroupVersionResource::new("apps", "v1", "deployments")).param("labelSelector", "a=b");
        assert_eq!(g.path_and_query().unwrap(), "/apis/apps/v1/deployments?labelSelector=a%3Db");
        assert_eq!(c.get().abs_path("/version").path_and_query().unwrap(), "/version");
    }

    #[test]
    fn timeouts_are_sent_like_client_go() {
        assert_eq!(go_duration(Duration::from_secs(30)), "30s");
        assert_eq!(go_duration(Duration::from_millis(1500)), "1500ms");
        let r = client().get().abs_path("/api").query("a=b").timeout(Duration::from_secs(5));
        assert_eq!(r.raw(Mode::Normal).unwrap().path_and_query, "/api?a=b&timeout=5s");
        assert_eq!(r.raw(Mode::Watch).unwrap().path_and_query, "/api?a=b");
        let no_timeout = client().get().abs_path("/api");
        assert_eq!(no_timeout.raw(Mode::Normal).unwrap().path_and_query, "/api");
    }

    #[test]
    fn first_builder_mistake_is_reported() {
        let c = client();
        let bad = c.get().resource(&Pod::api_resource()).name("a/b").namespace("");
        let err = bad.path_and_query().unwrap_err().to_string();
        assert!(err.contains("resource name \"a/b\" may not contain '/'"), "{err}");
        let err = c.get().resource(&Pod::api_resource()).subresource("status").path_and_query().unwrap_err();
        assert!(err.to_string().contains("needs a resource name"), "{err}");
        assert!(c.get().path_and_query().is_err());
        assert!(c.get().abs_path("version").path_and_query().is_err());
    }
}

//! The client handle: one transport, one rate limiter and one config, shared by every clone
//! and by every typed, dynamic and metadata client made from it.

use std::fmt;
use std::sync::Arc;

use http::Method;

use crate::config::Config;
use crate::error::Error;
use crate::limiter::RateLimiter;
use crate::request::Request;
use crate::transport::Transport;

/// A connection to one API server as one identity.
///
/// Cheap to clone: clones share the connection pool, the credential caches and the
/// client-side rate limiter (client-go's clientset shares one limiter across all its group
/// clients the same way). Build requests with [`Client::request`] or use the typed
/// [`crate::Api`], [`crate::ClientSet`], [`crate::DynamicClient`] and [`crate::MetadataClient`].
#[derive(Clone)]
pub struct Client {
    pub(crate) transport: Arc<Transport>,
}

impl Client {
    /// A client for `config`: sets up TLS (CA, client certificate, server name), the proxy
    /// tunnel and the rate limiter. Makes no request.
    pub fn new(config: Config) -> Result<Self, Error> {
        Ok(Client { transport: Arc::new(Transport::new(config)?) })
    }

    /// A client for [`Config::infer`]: the kubeconfig if present, else in-cluster.
    pub fn try_default() -> Result<Self, Error> {
        Client::new(Config::infer()?)
    }

    /// The configuration the client was made from.
    pub fn config(&self) -> &Config {
        self.transport.config()
    }

    /// The namespace of the kubeconfig context (`default` when it names none).
    pub fn default_namespace(&self) -> &str {
        &self.config().default_namespace
    }

    /// The client-side rate limiter, `None` when disabled (negative QPS).
    pub fn rate_limiter(&self) -> Option<&RateLimiter> {
        self.transport.limiter()
    }

    /// Starts a request with any HTTP method.
    pub fn request(&self, verb: Method) -> Request {
        Request::new(self.clone(), verb)
    }

    /// Starts a GET request.
    pub fn get(&self) -> Request {
        self.request(Method::GET)
    }

    /// Starts a POST request.
    pub fn post(&self) -> Request {
        self.request(Method::POST)
    }

    /// Starts a PUT request.
    pub fn put(&self) -> Request {
        self.request(Method::PUT)
    }

    /// Starts a PATCH request (set the body with [`Request::patch`]).
    pub fn patch(&self) -> Request {
        self.request(Method::PATCH)
    }

    /// Starts a DELETE request.
    pub fn delete(&self) -> Request {
        self.request(Method::DELETE)
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client").field("server", &self.config().cluster_url.to_string()).finish_non_exhaustive()
    }
}

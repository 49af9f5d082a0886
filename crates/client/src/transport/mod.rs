//! Sending requests: hyper 1's pooled client over rustls (HTTP/2 via ALPN, HTTP/1.1
//! otherwise), with client-go's round-tripper chain: credentials per request and one retry
//! after a 401, impersonation headers, User-Agent, gzip, the client-side rate limiter, and
//! retries of 429/5xx answers carrying a numeric `Retry-After` and of connection resets on GET.

mod body;
mod client_cert;
mod connector;
mod retry;
mod tls;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT_ENCODING, AUTHORIZATION, CONTENT_ENCODING, HeaderName, USER_AGENT};
use http::{HeaderMap, HeaderValue, Method, Uri};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;
use tokio::time::Instant;
use tracing::Instrument;

pub use body::ByteStream;
pub(crate) use body::collect;
pub use client_cert::CERT_REFRESH;

use crate::config::{Auth, Config};
use crate::error::{Error, chain_message};
use crate::limiter::RateLimiter;
use client_cert::CertResolver;
use connector::Connector;

/// client-go's `maxRetries` default.
pub const MAX_RETRIES: u32 = 10;

/// How a request uses the transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// An ordinary request: rate-limited, subject to the per-request timeout.
    Normal,
    /// A long-running stream (watch): not rate-limited on the first attempt, the timeout
    /// covers only the response head.
    Watch,
    /// A streamed body (logs): rate-limited; the timeout covers only the response head.
    Stream,
}

/// A request ready to go: the path (with query) below the server URL, headers and body.
#[derive(Debug, Clone)]
pub(crate) struct RawRequest {
    pub method: Method,
    pub path_and_query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub mode: Mode,
    pub timeout: Option<Duration>,
}

/// A response head with its body still to read.
pub(crate) struct RawResponse {
    pub response: http::Response<Incoming>,
    pub gzip: bool,
    pub url: String,
}

/// The shared HTTP machinery of one [`crate::Client`] and its clones.
pub(crate) struct Transport {
    http: HyperClient<hyper_rustls::HttpsConnector<Connector>, Full<Bytes>>,
    config: Config,
    limiter: Option<RateLimiter>,
    /// `scheme://authority` of the server.
    origin: String,
    /// The server URL's path prefix without trailing '/', e.g. `/k8s/clusters/c-1`.
    prefix: String,
    user_agent: HeaderValue,
    impersonation: Vec<(HeaderName, HeaderValue)>,
    /// The TLS client identity when the config has one (files, inline data, exec plugin).
    client_cert: Option<Arc<CertResolver>>,
}

/// `rkube/<version> (<os>/<arch>)`, like client-go's default User-Agent.
pub fn default_user_agent() -> String {
    format!("rkube/{} ({}/{})", env!("CARGO_PKG_VERSION"), std::env::consts::OS, std::env::consts::ARCH)
}

impl Transport {
    pub(crate) fn new(config: Config) -> Result<Self, Error> {
        let url = &config.cluster_url;
        let scheme = url.scheme_str().unwrap_or("");
        if !matches!(scheme, "http" | "https") || url.authority().is_none() {
            return Err(Error::Config(crate::config::ConfigError::Invalid(format!(
                "server URL {url} must be http:// or https:// with a host"
            ))));
        }
        let origin = format!("{scheme}://{}", url.authority().map(|a| a.as_str()).unwrap_or_default());
        let prefix = url.path().trim_end_matches('/').to_owned();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let wants_cert = config.client_certificate.is_some() || matches!(config.auth, Auth::Exec(_));
        let client_cert = wants_cert.then(|| Arc::new(CertResolver::new(provider.clone())));
        if let (Some(resolver), Some(cert)) = (&client_cert, &config.client_certificate) {
            resolver.set(cert)?;
        }
        let tls = tls::client_config(&config, provider, client_cert.clone())?;
        let connector = Connector::new(config.proxy_for(url))?;
        let builder = hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls).https_or_http();
        let builder = match &config.tls_server_name {
            Some(name) if !name.is_empty() => {
                let server_name = rustls::pki_types::ServerName::try_from(name.clone())
                    .map_err(|e| Error::Tls(format!("tls-server-name {name:?}: {e}")))?;
                builder.with_server_name_resolver(hyper_rustls::FixedServerNameResolver::new(server_name))
            }
            _ => builder,
        };
        let https = builder.enable_all_versions().wrap_connector(connector);
        let http = HyperClient::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(25)
            .build(https);
        let mut impersonation = Vec::new();
        if let Some(imp) = &config.impersonate {
            for (k, v) in imp.headers() {
                let name = HeaderName::try_from(k.as_str())
                    .map_err(|_| Error::Config(crate::config::ConfigError::InvalidHeaderValue("impersonation")))?;
                let value = HeaderValue::from_str(&v)
                    .map_err(|_| Error::Config(crate::config::ConfigError::InvalidHeaderValue("impersonation")))?;
                impersonation.push((name, value));
            }
        }
        let user_agent = HeaderValue::from_str(&default_user_agent()).expect("ascii user agent");
        let limiter = RateLimiter::from_config(config.qps, config.burst);
        Ok(Transport { http, limiter, origin, prefix, user_agent, impersonation, client_cert, config })
    }

    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    pub(crate) fn limiter(&self) -> Option<&RateLimiter> {
        self.limiter.as_ref()
    }

    /// The URL a path is sent to (for messages).
    pub(crate) fn url_of(&self, path_and_query: &str) -> String {
        format!("{}{}{}", self.origin, self.prefix, path_and_query)
    }

    /// Sends a request with retries; returns the final response head (any status).
    pub(crate) async fn send(&self, req: &RawRequest) -> Result<RawResponse, Error> {
        let url = self.url_of(&req.path_and_query);
        let span = tracing::debug_span!(
            "request",
            verb = %req.method,
            path = %req.path_and_query,
            status = tracing::field::Empty,
            latency_ms = tracing::field::Empty,
            retries = tracing::field::Empty,
        );
        let started = Instant::now();
        let result = self.send_with_retries(req, &url).instrument(span.clone()).await;
        span.record("latency_ms", started.elapsed().as_millis() as u64);
        if let Ok((resp, retries)) = &result {
            span.record("status", resp.response.status().as_u16());
            span.record("retries", *retries);
            let _enter = span.enter();
            tracing::debug!(status = resp.response.status().as_u16(), "response");
        }
        result.map(|(r, _)| r)
    }

    async fn send_with_retries(&self, req: &RawRequest, url: &str) -> Result<(RawResponse, u32), Error> {
        let uri: Uri = url.parse().map_err(|e| Error::InvalidRequest(format!("URL {url}: {e}")))?;
        let mut retries = 0u32;
        let mut retried_401 = false;
        loop {
            if req.mode != Mode::Watch || retries > 0 {
                if let Some(limiter) = &self.limiter {
                    limiter.acquire().await;
                }
            }
            let http_req = self.build(req, &uri).await?;
            let sent_at = Instant::now();
            let send = self.http.request(http_req);
            let outcome = match req.timeout {
                Some(t) => match tokio::time::timeout(t, send).await {
                    Ok(r) => r,
                    Err(_) => {
                        return Err(Error::Timeout { verb: req.method.to_string(), url: url.to_owned(), after: t });
                    }
                },
                None => send.await,
            };
            let resp = match outcome {
                Ok(resp) => resp,
                Err(e) => {
                    if req.method == Method::GET && retries < MAX_RETRIES && retry::is_connection_reset(&e) {
                        retries += 1;
                        tracing::debug!(error = %chain_message(&e), retries, "connection reset, retrying GET");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        continue;
                    }
                    return Err(Error::Transport {
                        verb: req.method.to_string(),
                        url: url.to_owned(),
                        message: retry::describe_send_error(&e),
                        source: Box::new(e),
                    });
                }
            };
            let status = resp.status();
            // Only credentials that can change (token file, exec plugin) are worth a retry.
            let refreshable = matches!(self.config.auth, Auth::TokenFile(_) | Auth::Exec(_));
            if status == http::StatusCode::UNAUTHORIZED && !retried_401 && refreshable {
                retried_401 = true;
                self.config.invalidate_after_401(sent_at);
                tracing::debug!("401 Unauthorized: refreshing credentials and retrying once");
                continue;
            }
            if let Some(wait) = retry::retry_after(&resp) {
                if retries < MAX_RETRIES {
                    retries += 1;
                    tracing::debug!(
                        status = status.as_u16(),
                        wait_s = wait.as_secs(),
                        retries,
                        "server asked to retry"
                    );
                    drop(resp);
                    tokio::time::sleep(wait).await;
                    continue;
                }
            }
            let gzip = resp
                .headers()
                .get(CONTENT_ENCODING)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.eq_ignore_ascii_case("gzip"));
            return Ok((RawResponse { response: resp, gzip, url: url.to_owned() }, retries));
        }
    }

    /// Brings the TLS client identity up to date: an exec plugin's certificate on every request
    /// (the plugin caches it until it expires), certificate files every [`CERT_REFRESH`].
    async fn refresh_client_cert(&self) -> Result<(), Error> {
        let Some(resolver) = &self.client_cert else { return Ok(()) };
        let exec = matches!(self.config.auth, Auth::Exec(_));
        if !exec && !resolver.due() {
            return Ok(());
        }
        match self.config.client_certificate().await {
            Ok(Some(cert)) => resolver.set(&cert).or_else(|e| {
                if exec {
                    return Err(e);
                }
                tracing::warn!(error = %e, "rotated client certificate unusable, keeping the previous one");
                Ok(())
            }),
            Ok(None) => {
                resolver.mark_checked();
                Ok(())
            }
            Err(e) if exec => Err(e.into()),
            Err(e) => {
                resolver.mark_checked();
                tracing::warn!(error = %e, "unable to read the client certificate again, keeping the previous one");
                Ok(())
            }
        }
    }

    async fn build(&self, req: &RawRequest, uri: &Uri) -> Result<http::Request<Full<Bytes>>, Error> {
        self.refresh_client_cert().await?;
        let mut out = http::Request::builder()
            .method(req.method.clone())
            .uri(uri.clone())
            .body(Full::new(req.body.clone()))
            .map_err(|e| Error::InvalidRequest(e.to_string()))?;
        let headers = out.headers_mut();
        headers.insert(USER_AGENT, self.user_agent.clone());
        if !self.config.disable_compression {
            headers.insert(ACCEPT_ENCODING, HeaderValue::from_static("gzip"));
        }
        for (k, v) in &self.impersonation {
            headers.append(k.clone(), v.clone());
        }
        for (k, v) in &req.headers {
            headers.append(k.clone(), v.clone());
        }
        // Like client-go's auth round trippers, an Authorization set by the caller wins.
        if !headers.contains_key(AUTHORIZATION) {
            if let Some(auth) = self.config.auth_header().await? {
                headers.insert(AUTHORIZATION, auth);
            }
        }
        Ok(out)
    }
}

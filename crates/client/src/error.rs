//! The one error type of the clients: every failure names the verb and URL it happened on,
//! and the API's own answer ([`ApiError`], with its `Status`) stays reachable for predicates.

use std::time::Duration;

use rkube_core::ApiError;
use rkube_core::watch::WatchDecodeError;

use crate::config::ConfigError;

/// Everything that can go wrong while building, sending or decoding a request.
///
/// Use the predicates ([`Error::is_not_found`], [`Error::is_conflict`] ...) to branch on the
/// server's answer, or [`Error::api_error`] for its full `Status`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with an error Status (4xx/5xx).
    #[error("{verb} {url}: {source}")]
    Api {
        /// The HTTP method.
        verb: String,
        /// The request URL (path and query; never credentials).
        url: String,
        /// The server's answer (boxed: a Status is large and errors are the cold path).
        #[source]
        source: Box<ApiError>,
    },
    /// The request could not be sent or its response not read (connection refused, reset,
    /// TLS failure ...).
    #[error("{verb} {url}: {message}")]
    Transport {
        /// The HTTP method.
        verb: String,
        /// The request URL.
        url: String,
        /// The underlying failure and its causes, as one line.
        message: String,
        /// The underlying failure.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// No response within the configured per-request timeout.
    #[error("{verb} {url}: no response within {after:?}")]
    Timeout {
        /// The HTTP method.
        verb: String,
        /// The request URL.
        url: String,
        /// The timeout.
        after: Duration,
    },
    /// The response body did not decode as the expected type.
    #[error("{verb} {url}: cannot decode the response as {target}: {source}")]
    Decode {
        /// The HTTP method.
        verb: String,
        /// The request URL.
        url: String,
        /// The type asked for.
        target: &'static str,
        /// The decoding failure (with line and column).
        #[source]
        source: serde_json::Error,
    },
    /// A watch stream held an undecodable event.
    #[error("watch {url}: {source}")]
    WatchDecode {
        /// The watch URL.
        url: String,
        /// The decoding failure.
        #[source]
        source: WatchDecodeError,
    },
    /// The request was built wrongly (reported when it is sent; the first mistake wins).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The configuration cannot be used (credentials, TLS material, server URL).
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// TLS could not be set up from the configuration (bad CA, bad client certificate ...).
    #[error("TLS setup: {0}")]
    Tls(String),
}

impl Error {
    /// The server's error answer, if this error is one.
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            Error::Api { source, .. } => Some(&**source),
            _ => None,
        }
    }

    /// The HTTP status code of the server's error answer, if any.
    pub fn status_code(&self) -> Option<u16> {
        self.api_error().map(ApiError::code)
    }

    fn api_is(&self, f: impl FnOnce(&ApiError) -> bool) -> bool {
        self.api_error().is_some_and(f)
    }

    /// 404 NotFound.
    pub fn is_not_found(&self) -> bool {
        self.api_is(ApiError::is_not_found)
    }

    /// 409 AlreadyExists.
    pub fn is_already_exists(&self) -> bool {
        self.api_is(ApiError::is_already_exists)
    }

    /// 409 Conflict (stale resourceVersion).
    pub fn is_conflict(&self) -> bool {
        self.api_is(ApiError::is_conflict)
    }

    /// 410 Gone/Expired: the resourceVersion is too old; relist.
    pub fn is_gone(&self) -> bool {
        self.api_is(ApiError::is_gone)
    }

    /// 422 Invalid.
    pub fn is_invalid(&self) -> bool {
        self.api_is(ApiError::is_invalid)
    }

    /// 400 BadRequest.
    pub fn is_bad_request(&self) -> bool {
        self.api_is(ApiError::is_bad_request)
    }

    /// 401 Unauthorized.
    pub fn is_unauthorized(&self) -> bool {
        self.api_is(ApiError::is_unauthorized)
    }

    /// 403 Forbidden.
    pub fn is_forbidden(&self) -> bool {
        self.api_is(ApiError::is_forbidden)
    }

    /// 429 TooManyRequests (after the client's own retries ran out).
    pub fn is_too_many_requests(&self) -> bool {
        self.api_is(ApiError::is_too_many_requests)
    }

    /// A 5xx answer.
    pub fn is_server_error(&self) -> bool {
        self.api_is(ApiError::is_server_error)
    }

    /// A connection-level failure or timeout (no answer from the server).
    pub fn is_transport(&self) -> bool {
        matches!(self, Error::Transport { .. } | Error::Timeout { .. })
    }
}

/// One line naming an error and all its causes: `a: b: c`, skipping causes whose text the
/// previous one already contains.
pub(crate) fn chain_message(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        let text = e.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cur = e.source();
    }
    out
}

/// The result type of the clients.
pub type Result<T, E = Error> = std::result::Result<T, E>;

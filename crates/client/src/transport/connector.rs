//! The TCP connector under TLS: a direct connection, or an HTTP CONNECT tunnel through a proxy.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use base64::Engine as _;
use http::{HeaderValue, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tower_service::Service;

use crate::config::ConfigError;
use crate::error::Error;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Opens TCP connections for the pooled client, through a CONNECT proxy when one applies.
#[derive(Clone, Debug)]
pub(crate) enum Connector {
    /// Straight to the server.
    Direct(HttpConnector),
    /// Through an HTTP proxy's CONNECT tunnel.
    Tunnel(Tunnel<HttpConnector>),
}

impl Connector {
    /// A connector for the server, tunnelling through `proxy` (an `http://` URL, possibly with
    /// `user:password@`) when given.
    pub(crate) fn new(proxy: Option<Uri>) -> Result<Self, Error> {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(Duration::from_secs(30)));
        http.set_keepalive(Some(Duration::from_secs(30)));
        let Some(proxy) = proxy else { return Ok(Connector::Direct(http)) };
        if proxy.scheme_str() != Some("http") {
            return Err(Error::Config(ConfigError::Invalid(format!(
                "proxy {}: only http:// proxies (HTTP CONNECT) are supported",
                redact(&proxy)
            ))));
        }
        let auth = proxy.authority().and_then(|a| a.as_str().rsplit_once('@')).map(|(userinfo, _)| userinfo.to_owned());
        let host = proxy.authority().map(|a| a.as_str().rsplit('@').next().unwrap_or_default().to_owned());
        let target: Uri = format!("http://{}", host.unwrap_or_default())
            .parse()
            .map_err(|e| Error::Config(ConfigError::Invalid(format!("proxy {}: {e}", redact(&proxy)))))?;
        let mut tunnel = Tunnel::new(target, http);
        if let Some(userinfo) = auth {
            let decoded = percent_decode(&userinfo);
            let encoded = base64::engine::general_purpose::STANDARD.encode(decoded);
            let value = HeaderValue::from_str(&format!("Basic {encoded}"))
                .map_err(|_| Error::Config(ConfigError::InvalidHeaderValue("proxy")))?;
            tunnel = tunnel.with_auth(value);
        }
        Ok(Connector::Tunnel(tunnel))
    }
}

/// The proxy URL without its password, for messages.
fn redact(uri: &Uri) -> String {
    match uri.authority().map(|a| a.as_str()) {
        Some(a) if a.contains('@') => uri.to_string().replacen(a.split('@').next().unwrap_or_default(), "***", 1),
        _ => uri.to_string(),
    }
}

fn percent_decode(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

impl Service<Uri> for Connector {
    type Response = TokioIo<TcpStream>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        match self {
            Connector::Direct(c) => c.poll_ready(cx).map_err(Into::into),
            Connector::Tunnel(t) => t.poll_ready(cx).map_err(Into::into),
        }
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        match self {
            Connector::Direct(c) => {
                let fut = c.call(dst);
                Box::pin(async move { fut.await.map_err(Into::into) })
            }
            Connector::Tunnel(t) => {
                let fut = t.call(dst);
                Box::pin(async move { fut.await.map_err(Into::into) })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_forms() {
        assert!(matches!(Connector::new(None).unwrap(), Connector::Direct(_)));
        assert!(matches!(Connector::new(Some("http://p:3128".parse().unwrap())).unwrap(), Connector::Tunnel(_)));
        let err = Connector::new(Some("socks5://u:secret@p:1080".parse().unwrap())).unwrap_err().to_string();
        assert!(err.contains("only http://") && !err.contains("secret"), "{err}");
        assert_eq!(percent_decode("a%40b:p%3Aw"), b"a@b:p:w");
    }
}

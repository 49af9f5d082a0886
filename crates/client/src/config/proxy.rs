//! Proxy selection: a cluster's `proxy-url`, else the standard environment variables
//! `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY` (and their lower-case forms), with the rules of
//! Go's `http.ProxyFromEnvironment`.

use std::net::IpAddr;

use http::Uri;

/// The proxy environment, read once; separate from the process environment so it can be
/// tested and overridden.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProxyEnv {
    /// Proxy for `https://` URLs (`HTTPS_PROXY`, else `https_proxy`).
    pub https_proxy: Option<String>,
    /// Proxy for `http://` URLs (`HTTP_PROXY`, else `http_proxy`).
    pub http_proxy: Option<String>,
    /// Comma-separated exceptions (`NO_PROXY`, else `no_proxy`).
    pub no_proxy: Option<String>,
}

impl ProxyEnv {
    /// Reads the variables from the process environment (upper case first, as Go does).
    pub fn from_env() -> Self {
        let get = |upper: &str, lower: &str| {
            std::env::var(upper)
                .ok()
                .filter(|v| !v.is_empty())
                .or_else(|| std::env::var(lower).ok().filter(|v| !v.is_empty()))
        };
        ProxyEnv {
            https_proxy: get("HTTPS_PROXY", "https_proxy"),
            http_proxy: get("HTTP_PROXY", "http_proxy"),
            no_proxy: get("NO_PROXY", "no_proxy"),
        }
    }

    /// The proxy to use for `url`, or `None` to connect directly.
    ///
    /// `https://` URLs use the HTTPS proxy and `http://` URLs the HTTP proxy (no fallback
    /// between them). `localhost` and loopback addresses are never proxied. `NO_PROXY`
    /// entries are `*` (nothing is proxied), IP addresses, CIDR ranges, `host` (the host
    /// and its subdomains), `.host` or `*.host` (subdomains only), each optionally with
    /// `:port`. A proxy value without a scheme means `http://`.
    pub fn proxy_for(&self, url: &Uri) -> Option<Uri> {
        let proxy = match url.scheme_str() {
            Some("https") => self.https_proxy.as_deref()?,
            Some("http") => self.http_proxy.as_deref()?,
            _ => return None,
        };
        let host = url.host()?;
        let port = url.port_u16().unwrap_or(if url.scheme_str() == Some("https") { 443 } else { 80 });
        if !use_proxy(host, port, self.no_proxy.as_deref().unwrap_or("")) {
            return None;
        }
        match parse_proxy_url(proxy) {
            Ok(uri) => Some(uri),
            Err(e) => {
                tracing::warn!(error = %e, "ignoring invalid proxy from the environment");
                None
            }
        }
    }
}

/// The proxy for `url` from the process environment (see [`ProxyEnv::proxy_for`]).
pub fn proxy_for(url: &Uri) -> Option<Uri> {
    ProxyEnv::from_env().proxy_for(url)
}

/// Parses a proxy URL: `http`, `https` or `socks5`; no scheme means `http://`.
pub(crate) fn parse_proxy_url(value: &str) -> Result<Uri, String> {
    let value = value.trim();
    let parsed = value
        .parse::<Uri>()
        .ok()
        .filter(|u| matches!(u.scheme_str(), Some("http" | "https" | "socks5")) && u.authority().is_some());
    let uri = match parsed {
        Some(uri) => uri,
        None if value.contains("://") => {
            return Err(format!("invalid proxy URL {value:?}: expected http://, https:// or socks5:// with a host"));
        }
        None => format!("http://{value}").parse::<Uri>().map_err(|e| format!("invalid proxy URL {value:?}: {e}"))?,
    };
    match (uri.scheme_str(), uri.host()) {
        (Some("http" | "https" | "socks5"), Some(host)) if !host.is_empty() => Ok(uri),
        _ => Err(format!("invalid proxy URL {value:?}: expected http://, https:// or socks5:// with a host")),
    }
}

fn use_proxy(host: &str, port: u16, no_proxy: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
    if host == "localhost" {
        return false;
    }
    let ip = host.parse::<IpAddr>().ok();
    if ip.is_some_and(|ip| ip.is_loopback()) {
        return false;
    }
    for entry in no_proxy.split(',') {
        let entry = entry.trim().to_ascii_lowercase();
        if entry.is_empty() {
            continue;
        }
        if entry == "*" {
            return false;
        }
        if let Some((net, bits)) = entry.split_once('/') {
            if let (Ok(net), Ok(bits), Some(ip)) = (net.parse::<IpAddr>(), bits.parse::<u8>(), ip) {
                if cidr_contains(net, bits, ip) {
                    return false;
                }
            }
            continue;
        }
        let (entry_host, entry_port) = split_host_port(&entry);
        let entry_port_matches = entry_port.is_none_or(|p| p == port.to_string());
        if let Ok(entry_ip) = entry_host.parse::<IpAddr>() {
            if ip == Some(entry_ip) && entry_port_matches {
                return false;
            }
            continue;
        }
        if entry_host.is_empty() || ip.is_some() {
            continue;
        }
        let entry_host = entry_host.strip_prefix('*').unwrap_or(entry_host);
        let (suffix, match_host) = match entry_host.strip_prefix('.') {
            Some(_) => (entry_host.to_owned(), false),
            None => (format!(".{entry_host}"), true),
        };
        let matches = host.ends_with(&suffix) || (match_host && host == suffix[1..]);
        if matches && entry_port_matches {
            return false;
        }
    }
    true
}

/// Splits `host:port`, `[v6]:port`; a bare IPv6 address or host has no port.
fn split_host_port(entry: &str) -> (&str, Option<&str>) {
    if let Some(rest) = entry.strip_prefix('[') {
        if let Some((host, tail)) = rest.split_once(']') {
            return (host, tail.strip_prefix(':'));
        }
    }
    match entry.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => (host, Some(port)),
        _ => (entry, None),
    }
}

fn cidr_contains(net: IpAddr, bits: u8, ip: IpAddr) -> bool {
    match (net, ip) {
        (IpAddr::V4(net), IpAddr::V4(ip)) if bits <= 32 => {
            let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits) };
            u32::from(net) & mask == u32::from(ip) & mask
        }
        (IpAddr::V6(net), IpAddr::V6(ip)) if bits <= 128 => {
            let mask = if bits == 0 { 0 } else { u128::MAX << (128 - bits) };
            u128::from(net) & mask == u128::from(ip) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(no_proxy: &str) -> ProxyEnv {
        ProxyEnv {
            https_proxy: Some("proxy.corp:3128".into()),
            http_proxy: Some("http://plain.corp:8080".into()),
            no_proxy: Some(no_proxy.into()),
        }
    }

    fn via(env: &ProxyEnv, url: &str) -> Option<String> {
        env.proxy_for(&url.parse().unwrap()).map(|u| u.to_string())
    }

    #[test]
    fn scheme_selects_the_variable() {
        let e = env("");
        assert_eq!(via(&e, "https://api.example.com:6443").as_deref(), Some("http://proxy.corp:3128/"));
        assert_eq!(via(&e, "http://api.example.com").as_deref(), Some("http://plain.corp:8080/"));
        let only_http = ProxyEnv { https_proxy: None, ..e };
        assert_eq!(via(&only_http, "https://api.example.com"), None, "no fallback to HTTP_PROXY");
    }

    #[test]
    fn loopback_is_never_proxied() {
        let e = env("");
        for url in ["https://localhost:6443", "https://127.0.0.1", "https://[::1]:443"] {
            assert_eq!(via(&e, url), None, "{url}");
        }
    }

    #[test]
    fn no_proxy_rules() {
        let e =
            env("example.com, .internal, *.wild.org, 10.0.0.0/8, 192.168.1.5, [fd00::1]:443, svc:8443, 2001:db8::/32");
        let direct = [
            "https://example.com",
            "https://api.example.com",
            "https://a.internal",
            "https://x.wild.org",
            "https://10.1.2.3:6443",
            "https://192.168.1.5",
            "https://[fd00::1]",
            "https://svc:8443",
            "https://[2001:db8::5]",
        ];
        for url in direct {
            assert_eq!(via(&e, url), None, "{url} should be direct");
        }
        let proxied = [
            "https://notexample.com",
            "https://internal",
            "https://wild.org",
            "https://11.0.0.1",
            "https://192.168.1.6",
            "https://[fd00::1]:6443",
            "https://svc:6443",
        ];
        for url in proxied {
            assert!(via(&e, url).is_some(), "{url} should be proxied");
        }
        assert_eq!(via(&env("*"), "https://anything.example"), None);
    }

    #[test]
    fn proxy_urls() {
        assert_eq!(parse_proxy_url("socks5://s:1080").unwrap().to_string(), "socks5://s:1080/");
        assert_eq!(parse_proxy_url("user:pw@p:3128").unwrap().host(), Some("p"));
        assert!(parse_proxy_url("http://").is_err());
        assert!(parse_proxy_url("ht tp://x").is_err());
    }
}

//! Client configuration: where the API server is, how to trust it and how to authenticate,
//! loaded from kubeconfig files (with client-go's merge rules), from a pod's service
//! account, or built by hand.
//!
//! ```no_run
//! # fn main() -> Result<(), rkube_client::config::ConfigError> {
//! use rkube_client::config::{Config, KubeconfigOptions};
//! // kubeconfig ($KUBECONFIG or ~/.kube/config) if present, else in-cluster.
//! let config = Config::infer()?;
//! // Or like `kubectl --context prod -n web`.
//! let options = KubeconfigOptions {
//!     context: Some("prod".into()),
//!     namespace: Some("web".into()),
//!     ..Default::default()
//! };
//! let prod = Config::from_kubeconfig(&options)?;
//! # Ok(()) }
//! ```
//!
//! The transport uses a [`Config`] through [`Config::auth_header`] (per request),
//! [`Config::invalidate_after_401`] (on 401), [`Config::client_certificate`] and
//! [`Config::root_ca`] (TLS), and [`Config::proxy_for`] (connection).

mod auth;
mod error;
mod exec;
mod incluster;
mod kubeconfig;
mod loader;
mod overrides;
mod proxy;
mod token;

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use http::{HeaderValue, Uri};
use tokio::time::Instant;

pub use auth::{Auth, ClientCertificate, PemData, SecretString};
pub use error::ConfigError;
pub use exec::{EXEC_CLUSTER_EXTENSION, EXEC_INFO_ENV, ExecCredential, ExecProvider, InteractiveMode};
pub use incluster::{InClusterOptions, SERVICE_ACCOUNT_DIR};
pub use kubeconfig::{
    AuthInfo, AuthProviderConfig, Cluster, Context, ExecConfig, ExecEnvVar, Kubeconfig, NamedAuthInfo, NamedCluster,
    NamedContext, NamedExtension, Origin,
};
pub use loader::{KUBECONFIG_ENV, Loaded, LoadingRules};
pub use overrides::KubeconfigOptions;
pub use proxy::{ProxyEnv, proxy_for};
pub use token::{TOKEN_FILE_LEEWAY, TOKEN_FILE_REFRESH, TokenFile};

/// client-go's default client-side rate limit (requests per second).
pub const DEFAULT_QPS: f32 = 5.0;
/// client-go's default burst above [`DEFAULT_QPS`].
pub const DEFAULT_BURST: u32 = 10;

/// Everything needed to talk to one API server as one identity.
///
/// Fields are public so a config can be adjusted after loading (`config.qps = 50.0`).
/// Cloning is cheap and shares credential caches (token file, exec plugin).
/// `Debug` never shows tokens, passwords, keys or proxy passwords.
#[derive(Clone)]
pub struct Config {
    /// The API server, `https://host:port` possibly with a path prefix.
    pub cluster_url: Uri,
    /// The CA bundle to verify the server with; `None` means the system roots.
    pub root_ca: Option<PemData>,
    /// The name to verify the server certificate against, if not the URL's host.
    pub tls_server_name: Option<String>,
    /// Accept any server certificate; only true when explicitly configured.
    pub insecure_skip_tls_verify: bool,
    /// A TLS client certificate (files keep their paths so they can be re-read).
    pub client_certificate: Option<ClientCertificate>,
    /// The `Authorization` header source.
    pub auth: Auth,
    /// Act as another user.
    pub impersonate: Option<Impersonation>,
    /// A proxy for this cluster; when `None`, the proxy environment variables apply.
    pub proxy_url: Option<Uri>,
    /// The namespace of the context (`default` when it names none).
    pub default_namespace: String,
    /// Per-request timeout; `None` means none.
    pub timeout: Option<Duration>,
    /// Client-side rate limit; negative disables the limiter, 0 means the default.
    pub qps: f32,
    /// Requests allowed above `qps` in a burst.
    pub burst: u32,
    /// Do not ask for gzip-compressed responses.
    pub disable_compression: bool,
    /// The encoding typed clients read and write built-in kinds in ([`ContentType::Auto`] by
    /// default: protobuf where it is lossless, JSON elsewhere).
    pub content_type: ContentType,
}

/// The encoding typed clients (`Api<K>`) use for built-in kinds; custom resources and the
/// dynamic and metadata clients always use JSON. Answers in JSON are understood whatever
/// is chosen, and a server that refuses protobuf (415 for a body, 406 for an `Accept`) gets
/// the request again in JSON.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ContentType {
    /// Protobuf for the built-in kinds whose conversion is lossless (no field of k8s-openapi
    /// is missing from k8s-pb's messages: ConfigMap, Secret, Service, Namespace ...), JSON
    /// for the others (Pod, Node, workloads); see `rkube_protobuf::generated::is_lossless`.
    #[default]
    Auto,
    /// JSON for every kind.
    Json,
    /// Protobuf for every built-in kind, including the lossy ones (fields k8s-pb lacks are
    /// dropped, see `rkube_protobuf::generated::KIND_GAPS`).
    Protobuf,
}

/// Impersonation settings, sent as `Impersonate-*` headers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Impersonation {
    /// The user to act as.
    pub user: String,
    /// The UID to act as.
    pub uid: Option<String>,
    /// The groups to act as.
    pub groups: Vec<String>,
    /// Extra user fields.
    pub extra: BTreeMap<String, Vec<String>>,
}

impl Impersonation {
    /// The headers in client-go's form: `Impersonate-User`, `Impersonate-Uid`, one
    /// `Impersonate-Group` per group and `Impersonate-Extra-<key>` (key %-escaped) per value.
    pub fn headers(&self) -> Vec<(String, String)> {
        let mut headers = vec![("Impersonate-User".to_owned(), self.user.clone())];
        if let Some(uid) = &self.uid {
            headers.push(("Impersonate-Uid".to_owned(), uid.clone()));
        }
        for group in &self.groups {
            headers.push(("Impersonate-Group".to_owned(), group.clone()));
        }
        for (key, values) in &self.extra {
            for value in values {
                headers.push((format!("Impersonate-Extra-{}", escape_header_key(key)), value.clone()));
            }
        }
        headers
    }
}

fn escape_header_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        let legal = b.is_ascii_alphanumeric() || b"!#$&'*+-.^_`|~".contains(&b);
        if legal {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Config {
    /// A config for `cluster_url` with no credentials and client-go's defaults.
    pub fn new(cluster_url: Uri) -> Self {
        Config {
            cluster_url,
            root_ca: None,
            tls_server_name: None,
            insecure_skip_tls_verify: false,
            client_certificate: None,
            auth: Auth::None,
            impersonate: None,
            proxy_url: None,
            default_namespace: "default".to_owned(),
            timeout: None,
            qps: DEFAULT_QPS,
            burst: DEFAULT_BURST,
            disable_compression: false,
            content_type: ContentType::Auto,
        }
    }

    /// Loads kubeconfig with client-go's rules (the explicit file of `options`, else the
    /// `$KUBECONFIG` list merged, else `~/.kube/config`) and resolves the selected context.
    pub fn from_kubeconfig(options: &KubeconfigOptions) -> Result<Self, ConfigError> {
        let mut rules = LoadingRules::from_env();
        if let Some(path) = &options.kubeconfig {
            rules = rules.with_explicit_path(path);
        }
        Config::from_loading_rules(&rules, options)
    }

    /// Loads the files of `rules` and resolves the selected context.
    pub fn from_loading_rules(rules: &LoadingRules, options: &KubeconfigOptions) -> Result<Self, ConfigError> {
        let loaded = rules.load()?;
        let looked_in = describe_files(&rules.files());
        overrides::resolve(&loaded.config, options, &looked_in)
    }

    /// Reads one kubeconfig file (not merged with anything) and resolves it.
    pub fn from_kubeconfig_file(path: impl AsRef<Path>, options: &KubeconfigOptions) -> Result<Self, ConfigError> {
        let rules = LoadingRules::default().with_explicit_path(path.as_ref());
        Config::from_loading_rules(&rules, options)
    }

    /// Parses kubeconfig YAML from a string and resolves it (relative paths stay relative
    /// to the current directory).
    pub fn from_kubeconfig_str(yaml: &str, options: &KubeconfigOptions) -> Result<Self, ConfigError> {
        let kubeconfig = Kubeconfig::from_yaml(yaml)?;
        overrides::resolve(&kubeconfig, options, kubeconfig::IN_MEMORY)
    }

    /// Resolves an already loaded (and possibly edited) kubeconfig.
    pub fn from_custom_kubeconfig(kubeconfig: &Kubeconfig, options: &KubeconfigOptions) -> Result<Self, ConfigError> {
        overrides::resolve(kubeconfig, options, kubeconfig::IN_MEMORY)
    }

    /// The config of a pod: its service account's token (rotated), CA and namespace, and
    /// `KUBERNETES_SERVICE_HOST`/`_PORT`.
    pub fn incluster() -> Result<Self, ConfigError> {
        incluster::load(&InClusterOptions::from_env())
    }

    /// In-cluster config from explicit locations (tests, sidecars with unusual mounts).
    pub fn incluster_from(options: &InClusterOptions) -> Result<Self, ConfigError> {
        incluster::load(options)
    }

    /// The kubeconfig if one exists (`$KUBECONFIG` or `~/.kube/config`), else in-cluster
    /// config, else an error listing what was tried. A kubeconfig that exists but is broken
    /// is reported, not skipped.
    pub fn infer() -> Result<Self, ConfigError> {
        Config::infer_from(&LoadingRules::from_env(), &InClusterOptions::from_env())
    }

    /// [`Config::infer`] with explicit loading rules and in-cluster locations.
    pub fn infer_from(rules: &LoadingRules, incluster_options: &InClusterOptions) -> Result<Self, ConfigError> {
        let mut tried = Vec::new();
        let loaded = rules.load()?;
        let files = describe_files(&rules.files());
        if !loaded.config.is_empty() {
            return overrides::resolve(&loaded.config, &KubeconfigOptions::default(), &files);
        }
        if loaded.found.is_empty() {
            tried.push(format!("kubeconfig: not found ({files})"));
        } else {
            tried.push(format!("kubeconfig: {files} defines nothing"));
        }
        match incluster::load(incluster_options) {
            Ok(config) => Ok(config),
            Err(e) => {
                tried.push(format!("in-cluster: {e}"));
                Err(ConfigError::InferFailed { tried })
            }
        }
    }

    /// The `Authorization` header for the next request (marked sensitive), or `None`.
    pub async fn auth_header(&self) -> Result<Option<HeaderValue>, ConfigError> {
        self.auth.auth_header().await
    }

    /// Tells the credential sources that a request sent at `request_started` got 401, so the
    /// token file is read again and the exec plugin run again (once) before the next request.
    pub fn invalidate_after_401(&self, request_started: Instant) {
        self.auth.invalidate_after_401(request_started)
    }

    /// The TLS client identity to present: the exec plugin's certificate if it returned one,
    /// else the configured certificate and key, read again from their files (rotation).
    pub async fn client_certificate(&self) -> Result<Option<ClientCertificate>, ConfigError> {
        if let Some(cert) = self.auth.exec_client_certificate().await? {
            return Ok(Some(cert));
        }
        self.client_certificate.as_ref().map(ClientCertificate::reload).transpose()
    }

    /// The proxy to connect to `url` through: the cluster's `proxy-url`, else the proxy
    /// environment variables (with `NO_PROXY`).
    pub fn proxy_for(&self, url: &Uri) -> Option<Uri> {
        match &self.proxy_url {
            Some(proxy) => Some(proxy.clone()),
            None => proxy::proxy_for(url),
        }
    }
}

fn describe_files(files: &[std::path::PathBuf]) -> String {
    if files.is_empty() {
        return "no kubeconfig path: neither $KUBECONFIG nor $HOME is set".to_owned();
    }
    files.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("cluster_url", &self.cluster_url)
            .field("root_ca", &self.root_ca)
            .field("tls_server_name", &self.tls_server_name)
            .field("insecure_skip_tls_verify", &self.insecure_skip_tls_verify)
            .field("client_certificate", &self.client_certificate)
            .field("auth", &self.auth)
            .field("impersonate", &self.impersonate)
            .field("proxy_url", &self.proxy_url.as_ref().map(|u| kubeconfig::redact_userinfo(&u.to_string())))
            .field("default_namespace", &self.default_namespace)
            .field("timeout", &self.timeout)
            .field("qps", &self.qps)
            .field("burst", &self.burst)
            .field("disable_compression", &self.disable_compression)
            .field("content_type", &self.content_type)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impersonation_headers_escape_extra_keys() {
        let imp = Impersonation {
            user: "jane".into(),
            uid: Some("42".into()),
            groups: vec!["a".into(), "b".into()],
            extra: BTreeMap::from([("example.com/scopes%x y".into(), vec!["v1".into(), "v2".into()])]),
        };
        let headers = imp.headers();
        assert_eq!(headers[0], ("Impersonate-User".into(), "jane".into()));
        assert_eq!(headers.iter().filter(|(k, _)| k == "Impersonate-Group").count(), 2);
        assert!(headers.iter().any(|(k, v)| k == "Impersonate-Extra-example.com%2Fscopes%25x%20y" && v == "v2"));
    }

    #[test]
    fn proxy_password_not_in_debug() {
        let mut config = Config::new("https://h".parse().unwrap());
        config.proxy_url = Some("http://user:pw@proxy:3128".parse().unwrap());
        let shown = format!("{config:?}");
        assert!(!shown.contains("pw"), "{shown}");
        assert!(shown.contains("proxy:3128"), "{shown}");
    }
}

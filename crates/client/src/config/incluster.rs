//! In-cluster configuration: a pod's service account (client-go's `rest.InClusterConfig`).

use std::net::Ipv6Addr;
use std::path::{Path, PathBuf};

use super::auth::{Auth, PemData};
use super::overrides::parse_server;
use super::token::TokenFile;
use super::{Config, ConfigError};

/// Where Kubernetes mounts a pod's service-account token, CA and namespace.
pub const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// What in-cluster config reads; [`InClusterOptions::from_env`] gives the real values, tests
/// point `service_account_dir` at a temporary directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InClusterOptions {
    /// Directory holding `token`, `ca.crt` and `namespace`.
    pub service_account_dir: PathBuf,
    /// `KUBERNETES_SERVICE_HOST`.
    pub service_host: Option<String>,
    /// `KUBERNETES_SERVICE_PORT`.
    pub service_port: Option<String>,
    /// `POD_NAMESPACE` (set through the downward API), which wins over the namespace file.
    pub pod_namespace: Option<String>,
}

impl InClusterOptions {
    /// The real locations: [`SERVICE_ACCOUNT_DIR`] and the process environment.
    pub fn from_env() -> Self {
        let var = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
        InClusterOptions {
            service_account_dir: PathBuf::from(SERVICE_ACCOUNT_DIR),
            service_host: var("KUBERNETES_SERVICE_HOST"),
            service_port: var("KUBERNETES_SERVICE_PORT"),
            pod_namespace: var("POD_NAMESPACE"),
        }
    }

    /// Whether in-cluster config can work: host and port are set and the token file exists.
    pub fn is_possible(&self) -> bool {
        self.service_host.is_some() && self.service_port.is_some() && self.token_path().is_file()
    }

    fn token_path(&self) -> PathBuf {
        self.service_account_dir.join("token")
    }
}

/// Builds the in-cluster config.
///
/// The token becomes a [`TokenFile`] (re-read every minute and after a 401, so projected
/// token rotation is followed); a missing or bad `ca.crt` is only logged, as in client-go;
/// the namespace is `POD_NAMESPACE`, else the `namespace` file, else `default`.
pub(crate) fn load(options: &InClusterOptions) -> Result<Config, ConfigError> {
    let (host, port) = match (&options.service_host, &options.service_port) {
        (Some(host), Some(port)) => (host, port),
        _ => {
            return Err(ConfigError::NotInCluster(
                "KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined".into(),
            ));
        }
    };
    let authority =
        if host.parse::<Ipv6Addr>().is_ok() { format!("[{host}]:{port}") } else { format!("{host}:{port}") };
    let url = parse_server(&format!("https://{authority}"), true)
        .map_err(|e| ConfigError::NotInCluster(format!("KUBERNETES_SERVICE_HOST/PORT: {e}")))?;

    let token = TokenFile::open(options.token_path(), None)?;
    let mut config = Config::new(url);
    config.auth = Auth::TokenFile(token);

    let ca_path = options.service_account_dir.join("ca.crt");
    match PemData::from_file(&ca_path, "certificate-authority") {
        Ok(ca) => config.root_ca = Some(ca),
        Err(e) => tracing::error!(error = %e, "expected to load the in-cluster root CA"),
    }
    config.default_namespace = namespace(options.pod_namespace.as_deref(), &options.service_account_dir);
    Ok(config)
}

fn namespace(pod_namespace: Option<&str>, dir: &Path) -> String {
    if let Some(ns) = pod_namespace.filter(|ns| !ns.is_empty()) {
        return ns.to_owned();
    }
    std::fs::read_to_string(dir.join("namespace"))
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "default".to_owned())
}

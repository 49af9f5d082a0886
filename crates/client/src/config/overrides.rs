//! Turning a merged kubeconfig plus command-line style overrides into a [`Config`]
//! (client-go's `DirectClientConfig` with `ConfigOverrides`).

use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;
use http::Uri;

use super::auth::{Auth, ClientCertificate, PemData};
use super::exec::{self, EXEC_CLUSTER_EXTENSION, ExecProvider};
use super::kubeconfig::{AuthInfo, Cluster, Kubeconfig, NamedAuthInfo, NamedCluster, Origin};
use super::proxy::parse_proxy_url;
use super::token::TokenFile;
use super::{Config, ConfigError, Impersonation, SecretString};

/// What to load and what to override, like kubectl's `--kubeconfig`, `--context`,
/// `--cluster`, `--user`, `--namespace`, `--server` ... flags. Unset fields change nothing.
#[derive(Clone, Debug, Default)]
pub struct KubeconfigOptions {
    /// An explicit kubeconfig file: read alone (not merged) and it must exist.
    pub kubeconfig: Option<PathBuf>,
    /// The context to use instead of `current-context`.
    pub context: Option<String>,
    /// The cluster to use instead of the context's.
    pub cluster: Option<String>,
    /// The user to use instead of the context's.
    pub user: Option<String>,
    /// The namespace to use instead of the context's.
    pub namespace: Option<String>,
    /// The server URL to use instead of the cluster's; also clears the cluster's
    /// `tls-server-name` unless [`KubeconfigOptions::tls_server_name`] is given.
    pub server: Option<String>,
    /// A CA file replacing the cluster's CA (and its insecure flag).
    pub certificate_authority: Option<PathBuf>,
    /// Skip server certificate verification (clears the cluster's CA).
    pub insecure_skip_tls_verify: bool,
    /// The name to verify the server certificate against.
    pub tls_server_name: Option<String>,
    /// A bearer token replacing the user's credentials for the Authorization header.
    pub token: Option<SecretString>,
    /// The user to impersonate (replaces the kubeconfig's `as`).
    pub impersonate: Option<String>,
    /// The UID to impersonate.
    pub impersonate_uid: Option<String>,
    /// The groups to impersonate.
    pub impersonate_groups: Vec<String>,
    /// The request timeout.
    pub timeout: Option<Duration>,
}

/// Resolves the selected context of `kubeconfig` with `options`; `looked_in` names the
/// files that were searched, for the "nothing configured" error.
pub(crate) fn resolve(
    kubeconfig: &Kubeconfig,
    options: &KubeconfigOptions,
    looked_in: &str,
) -> Result<Config, ConfigError> {
    let nonempty = |s: &Option<String>| s.as_deref().filter(|s| !s.is_empty()).map(str::to_owned);

    let context_name = nonempty(&options.context).or_else(|| nonempty(&kubeconfig.current_context));
    let context = match &context_name {
        Some(name) => Some(kubeconfig.context(name).ok_or_else(|| ConfigError::ContextNotFound(name.clone()))?),
        None => None,
    };
    let context = context.map(|c| c.context.clone()).unwrap_or_default();

    let cluster_name = nonempty(&options.cluster).or_else(|| Some(context.cluster.clone()).filter(|s| !s.is_empty()));
    let named_cluster = match &cluster_name {
        Some(name) => kubeconfig.cluster(name).cloned().ok_or_else(|| ConfigError::ClusterNotFound(name.clone()))?,
        None => NamedCluster::default(),
    };
    let user_name = nonempty(&options.user).or_else(|| Some(context.user.clone()).filter(|s| !s.is_empty()));
    let named_user = match &user_name {
        Some(name) => kubeconfig.auth_info(name).cloned().ok_or_else(|| ConfigError::UserNotFound(name.clone()))?,
        None => NamedAuthInfo::default(),
    };

    let cluster_at = Located::cluster(&named_cluster.origin);
    let user_at = Located::user(&named_user.origin);
    let cluster = override_cluster(named_cluster.cluster, options);

    // Server URL.
    let server = match cluster.server.as_deref().filter(|s| !s.is_empty()) {
        Some(server) => server.to_owned(),
        None if cluster_name.is_none() && options.server.is_none() => {
            return Err(ConfigError::EmptyConfig { looked_in: looked_in.to_owned() });
        }
        None => {
            return Err(ConfigError::Invalid(format!(
                "no server found for cluster {:?}",
                cluster_name.unwrap_or_default()
            )));
        }
    };
    let has_tls_settings = cluster.certificate_authority.is_some()
        || cluster.certificate_authority_data.is_some()
        || cluster.insecure_skip_tls_verify == Some(true);
    let server_field = if options.server.is_some() { Located::flag("--server") } else { cluster_at.at("server") };
    let cluster_url = parse_server(&server, has_tls_settings).map_err(|m| server_field.error(m))?;

    let mut config = Config::new(cluster_url);
    config.tls_server_name = cluster.tls_server_name.clone().filter(|s| !s.is_empty());
    config.insecure_skip_tls_verify = cluster.insecure_skip_tls_verify == Some(true);
    config.disable_compression = cluster.disable_compression == Some(true);
    config.timeout = options.timeout;
    config.default_namespace =
        nonempty(&options.namespace).or_else(|| nonempty(&context.namespace)).unwrap_or_else(|| "default".to_owned());

    // Certificate authority: inline data wins; both set is an error as in kubectl.
    config.root_ca = match (&cluster.certificate_authority_data, &cluster.certificate_authority) {
        (Some(_), Some(_)) => {
            return Err(cluster_at
                .at("certificate-authority-data")
                .error("certificate-authority-data and certificate-authority are both specified"));
        }
        (Some(data), None) => Some(PemData::from_bytes(
            decode_base64(data).map_err(|m| cluster_at.at("certificate-authority-data").error(m))?,
        )),
        (None, Some(path)) => Some(PemData::from_file(path, "certificate-authority")?),
        (None, None) => None,
    };
    if config.root_ca.is_some() && config.insecure_skip_tls_verify {
        return Err(cluster_at
            .at("insecure-skip-tls-verify")
            .error("specifying a root certificates file with the insecure flag is not allowed"));
    }
    config.proxy_url = match cluster.proxy_url.as_deref().filter(|s| !s.is_empty()) {
        Some(proxy) => Some(parse_proxy_url(proxy).map_err(|m| cluster_at.at("proxy-url").error(m))?),
        None => None,
    };

    // Impersonation applies whatever the transport.
    let mut user = named_user.user;
    if let Some(name) = nonempty(&options.impersonate) {
        user.impersonate = Some(name);
        user.impersonate_uid = options.impersonate_uid.clone();
        user.impersonate_groups = options.impersonate_groups.clone();
        user.impersonate_user_extra.clear();
    }
    config.impersonate = impersonation(&user).map_err(|m| user_at.at("as").error(m))?;

    if let Some(token) = options.token.clone().filter(|t| !t.is_empty()) {
        user.token = Some(token);
        user.token_file = None;
        user.username = None;
        user.password = None;
        user.exec = None;
        user.auth_provider = None;
    }
    // Like client-go, credentials are only sent over TLS.
    if config.cluster_url.scheme_str() != Some("https") {
        if has_credentials(&user) {
            tracing::warn!(server = %config.cluster_url, "server is not https: the user's credentials are not used");
        }
        return Ok(config);
    }
    config.client_certificate = client_certificate(&user, &user_at)?;
    config.auth = auth(&user, &user_at, &cluster, config.root_ca.as_ref(), &config.cluster_url)?;
    Ok(config)
}

/// Applies the cluster overrides with client-go's special cases.
fn override_cluster(mut cluster: Cluster, options: &KubeconfigOptions) -> Cluster {
    if let Some(server) = options.server.as_ref().filter(|s| !s.is_empty()) {
        cluster.server = Some(server.clone());
    }
    let ca_override = options.certificate_authority.as_ref().map(|p| p.display().to_string());
    if options.insecure_skip_tls_verify || ca_override.is_some() {
        cluster.insecure_skip_tls_verify = Some(options.insecure_skip_tls_verify);
        cluster.certificate_authority = ca_override;
        cluster.certificate_authority_data = None;
    }
    if options.tls_server_name.is_some() || options.server.is_some() {
        cluster.tls_server_name = options.tls_server_name.clone();
    }
    cluster
}

/// A server URL: a missing scheme means https when TLS settings exist, else http (as
/// client-go); query and fragment are dropped.
pub(crate) fn parse_server(server: &str, tls: bool) -> Result<Uri, String> {
    let with_scheme = if server.contains("://") {
        server.to_owned()
    } else {
        format!("{}://{server}", if tls { "https" } else { "http" })
    };
    let uri: Uri = with_scheme.parse().map_err(|e| format!("invalid URL {server:?}: {e}"))?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) {
        return Err(format!("invalid URL {server:?}: scheme must be http or https"));
    }
    let authority = uri
        .authority()
        .filter(|a| !a.host().is_empty())
        .ok_or_else(|| format!("invalid URL {server:?}: no host"))?
        .clone();
    let mut parts = http::uri::Parts::default();
    parts.scheme = uri.scheme().cloned();
    parts.authority = Some(authority);
    parts.path_and_query = Some(uri.path().parse().map_err(|e| format!("invalid URL {server:?}: {e}"))?);
    Uri::from_parts(parts).map_err(|e| format!("invalid URL {server:?}: {e}"))
}

fn has_credentials(user: &AuthInfo) -> bool {
    user.token.is_some()
        || user.token_file.is_some()
        || user.username.is_some()
        || user.client_certificate.is_some()
        || user.client_certificate_data.is_some()
        || user.exec.is_some()
}

fn impersonation(user: &AuthInfo) -> Result<Option<Impersonation>, String> {
    let name = user.impersonate.clone().filter(|s| !s.is_empty());
    let uid = user.impersonate_uid.clone().filter(|s| !s.is_empty());
    match name {
        Some(user_name) => Ok(Some(Impersonation {
            user: user_name,
            uid,
            groups: user.impersonate_groups.clone(),
            extra: user.impersonate_user_extra.clone(),
        })),
        None if uid.is_some() || !user.impersonate_groups.is_empty() || !user.impersonate_user_extra.is_empty() => {
            Err("requesting uid, groups or user-extra without impersonating a user".into())
        }
        None => Ok(None),
    }
}

fn client_certificate(user: &AuthInfo, at: &Located) -> Result<Option<ClientCertificate>, ConfigError> {
    let cert = match (&user.client_certificate_data, &user.client_certificate) {
        (Some(_), Some(_)) => {
            return Err(at
                .at("client-certificate-data")
                .error("client-certificate-data and client-certificate are both specified"));
        }
        (Some(data), None) => {
            PemData::from_bytes(decode_base64(data).map_err(|m| at.at("client-certificate-data").error(m))?)
        }
        (None, Some(path)) => PemData::from_file(path, "client-certificate")?,
        (None, None) => {
            if user.client_key.is_some() || user.client_key_data.is_some() {
                return Err(at.at("client-key").error("client-key given without client-certificate"));
            }
            return Ok(None);
        }
    };
    let key = match (&user.client_key_data, &user.client_key) {
        (Some(_), Some(_)) => {
            return Err(at.at("client-key-data").error("client-key-data and client-key are both specified"));
        }
        (Some(data), None) => {
            PemData::from_bytes(decode_base64(data.expose()).map_err(|m| at.at("client-key-data").error(m))?)
        }
        (None, Some(path)) => PemData::from_file(path, "client-key")?,
        (None, None) => {
            return Err(at
                .at("client-key")
                .error("client-key-data or client-key must be specified to use a client certificate"));
        }
    };
    Ok(Some(ClientCertificate { cert, key }))
}

fn auth(
    user: &AuthInfo,
    at: &Located,
    cluster: &Cluster,
    root_ca: Option<&PemData>,
    server: &Uri,
) -> Result<Auth, ConfigError> {
    let token = user.token.clone().filter(|t| !t.is_empty());
    let has_basic = user.username.as_deref().is_some_and(|u| !u.is_empty())
        || user.password.as_ref().is_some_and(|p| !p.is_empty());
    if (token.is_some() || user.token_file.is_some()) && has_basic {
        return Err(at
            .at("token")
            .error("more than one authentication method found; found [token basicAuth], only one is allowed"));
    }
    if let Some(path) = user.token_file.as_deref().filter(|p| !p.is_empty()) {
        return Ok(Auth::TokenFile(TokenFile::open(path, token)?));
    }
    if let Some(token) = token {
        return Ok(Auth::Bearer(token));
    }
    if has_basic {
        return Ok(Auth::Basic {
            username: user.username.clone().unwrap_or_default(),
            password: user.password.clone().unwrap_or_default(),
        });
    }
    if let Some(exec_config) = &user.exec {
        let (api_version, mode) =
            exec::validate(exec_config).map_err(|(field, message)| at.at(&format!("exec.{field}")).error(message))?;
        let mut info = serde_json::json!({ "server": cluster.server.clone().unwrap_or_else(|| server.to_string()) });
        if let Some(name) = &cluster.tls_server_name {
            info["tls-server-name"] = name.clone().into();
        }
        if cluster.insecure_skip_tls_verify == Some(true) {
            info["insecure-skip-tls-verify"] = true.into();
        }
        if let Some(ca) = root_ca {
            info["certificate-authority-data"] = base64::engine::general_purpose::STANDARD.encode(ca.bytes()).into();
        }
        if let Some(proxy) = &cluster.proxy_url {
            info["proxy-url"] = proxy.clone().into();
        }
        if cluster.disable_compression == Some(true) {
            info["disable-compression"] = true.into();
        }
        if let Some(ext) = cluster.extensions.iter().find(|e| e.name == EXEC_CLUSTER_EXTENSION) {
            info["config"] = ext.extension.clone();
        }
        return Ok(Auth::Exec(ExecProvider::build(exec_config, api_version, mode, Some(info))));
    }
    if let Some(provider) = &user.auth_provider {
        return Err(at.at("auth-provider").error(format!(
            "auth-provider {:?} is not supported; use an exec credential plugin (e.g. kubelogin, gke-gcloud-auth-plugin)",
            provider.name
        )));
    }
    Ok(Auth::None)
}

fn decode_base64(data: &str) -> Result<Vec<u8>, String> {
    let compact: String = data.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(compact).map_err(|e| format!("invalid base64: {e}"))
}

const FLAG: &str = "<flag>";

/// Where a value came from, for error messages.
struct Located {
    file: String,
    field: String,
}

impl Located {
    fn cluster(origin: &Origin) -> Self {
        Located { file: origin.file_label(), field: format!("clusters[{}].cluster", origin.index) }
    }

    fn user(origin: &Origin) -> Self {
        Located { file: origin.file_label(), field: format!("users[{}].user", origin.index) }
    }

    fn flag(name: &str) -> Self {
        Located { file: FLAG.to_owned(), field: name.to_owned() }
    }

    fn at(&self, field: &str) -> Located {
        Located { file: self.file.clone(), field: format!("{}.{field}", self.field) }
    }

    fn error(&self, message: impl Into<String>) -> ConfigError {
        if self.file == FLAG {
            return ConfigError::Invalid(format!("{}: {}", self.field, message.into()));
        }
        ConfigError::field(self.file.clone(), self.field.clone(), message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls() {
        assert_eq!(parse_server("https://h:6443", false).unwrap().to_string(), "https://h:6443/");
        assert_eq!(parse_server("h:6443", true).unwrap().to_string(), "https://h:6443/");
        assert_eq!(parse_server("h:8080", false).unwrap().to_string(), "http://h:8080/");
        assert_eq!(
            parse_server("https://h/k8s/clusters/c-1?x=1#f", false).unwrap().to_string(),
            "https://h/k8s/clusters/c-1"
        );
        assert!(parse_server("ftp://h", false).is_err());
        assert!(parse_server("https://", false).is_err());
        assert!(parse_server("https://h h", false).is_err());
    }
}

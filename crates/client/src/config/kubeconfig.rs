//! The kubeconfig file format (`apiVersion: v1`, `kind: Config`) as plain serde types,
//! parsed with errors that name the file and the field.
//!
//! Field names follow the file format exactly (`certificate-authority-data`, `tokenFile`,
//! `as-groups`, ...). Secrets (`token`, `password`, `client-key-data`) are
//! [`SecretString`]s, so `Debug` of any of these types never shows them.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{ConfigError, SecretString};

/// The label used in errors for a kubeconfig that did not come from a file.
pub const IN_MEMORY: &str = "<memory>";

/// A whole kubeconfig file, or the merge of several.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Kubeconfig {
    /// `Config` (or empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// `v1` (or empty).
    #[serde(rename = "apiVersion", default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// kubectl preferences, kept as they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferences: Option<serde_json::Value>,
    /// Named clusters (server, CA, TLS and proxy settings).
    #[serde(default)]
    pub clusters: Vec<NamedCluster>,
    /// Named users (credentials); the file calls them `users`.
    #[serde(rename = "users", default)]
    pub auth_infos: Vec<NamedAuthInfo>,
    /// Named contexts (cluster + user + namespace).
    #[serde(default)]
    pub contexts: Vec<NamedContext>,
    /// The context used when none is chosen explicitly.
    #[serde(rename = "current-context", default, skip_serializing_if = "Option::is_none")]
    pub current_context: Option<String>,
    /// Extensions, kept as they are.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<NamedExtension>,
}

/// Where an entry was read from: its file and its index in the file's list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Origin {
    /// The file (`None` for a kubeconfig parsed from a string).
    pub file: Option<PathBuf>,
    /// The index in the list (`clusters[index]`, ...).
    pub index: usize,
}

impl Origin {
    /// The file as shown in errors.
    pub fn file_label(&self) -> String {
        match &self.file {
            Some(path) => path.display().to_string(),
            None => IN_MEMORY.to_owned(),
        }
    }
}

/// A cluster with its name.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NamedCluster {
    /// The name contexts refer to.
    pub name: String,
    /// The cluster.
    #[serde(default)]
    pub cluster: Cluster,
    /// Where it was read from (not part of the file format).
    #[serde(skip)]
    pub origin: Origin,
}

/// How to reach and trust an API server. `Debug` hides a proxy password.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Cluster {
    /// `https://host:port[/path]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// The name to verify the server certificate against (SNI), if not the host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_server_name: Option<String>,
    /// Skip verifying the server certificate (dangerous; only when set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure_skip_tls_verify: Option<bool>,
    /// Path to a PEM CA bundle (relative to the kubeconfig's directory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_authority: Option<String>,
    /// Base64 of a PEM CA bundle; wins over `certificate-authority`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_authority_data: Option<String>,
    /// `http://`, `https://` or `socks5://` proxy for this cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_url: Option<String>,
    /// Do not ask for gzip-compressed responses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_compression: Option<bool>,
    /// Extensions; `client.authentication.k8s.io/exec` is handed to exec plugins.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<NamedExtension>,
}

impl fmt::Debug for Cluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cluster")
            .field("server", &self.server)
            .field("tls_server_name", &self.tls_server_name)
            .field("insecure_skip_tls_verify", &self.insecure_skip_tls_verify)
            .field("certificate_authority", &self.certificate_authority)
            .field("certificate_authority_data", &self.certificate_authority_data)
            .field("proxy_url", &self.proxy_url.as_deref().map(redact_userinfo))
            .field("disable_compression", &self.disable_compression)
            .field("extensions", &self.extensions)
            .finish()
    }
}

/// Replaces the `user:password@` part of a URL, if any, for display.
pub(crate) fn redact_userinfo(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, url),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((_, host)) => match scheme {
            Some(scheme) => format!("{scheme}://<redacted>@{host}{tail}"),
            None => format!("<redacted>@{host}{tail}"),
        },
        None => url.to_owned(),
    }
}

/// A user with its name.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NamedAuthInfo {
    /// The name contexts refer to.
    pub name: String,
    /// The credentials.
    #[serde(default)]
    pub user: AuthInfo,
    /// Where it was read from (not part of the file format).
    #[serde(skip)]
    pub origin: Origin,
}

/// Credentials and impersonation settings of one user.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct AuthInfo {
    /// Path to a PEM client certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_certificate: Option<String>,
    /// Base64 of a PEM client certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_certificate_data: Option<String>,
    /// Path to a PEM private key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_key: Option<String>,
    /// Base64 of a PEM private key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_key_data: Option<SecretString>,
    /// A bearer token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<SecretString>,
    /// A file holding a bearer token, re-read periodically.
    #[serde(rename = "tokenFile", default, skip_serializing_if = "Option::is_none")]
    pub token_file: Option<String>,
    /// The user to impersonate.
    #[serde(rename = "as", default, skip_serializing_if = "Option::is_none")]
    pub impersonate: Option<String>,
    /// The UID to impersonate.
    #[serde(rename = "as-uid", default, skip_serializing_if = "Option::is_none")]
    pub impersonate_uid: Option<String>,
    /// The groups to impersonate.
    #[serde(rename = "as-groups", default, skip_serializing_if = "Vec::is_empty")]
    pub impersonate_groups: Vec<String>,
    /// Extra fields of the impersonated user.
    #[serde(rename = "as-user-extra", default, skip_serializing_if = "BTreeMap::is_empty")]
    pub impersonate_user_extra: BTreeMap<String, Vec<String>>,
    /// Basic-auth user name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Basic-auth password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<SecretString>,
    /// A legacy in-tree auth provider (gcp, azure, oidc): not supported, use `exec`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_provider: Option<AuthProviderConfig>,
    /// An exec credential plugin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<ExecConfig>,
    /// Extensions, kept as they are.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<NamedExtension>,
}

/// A legacy auth provider entry; its config values are not printed by `Debug`.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuthProviderConfig {
    /// Provider name (`gcp`, `azure`, `oidc`).
    pub name: String,
    /// Provider settings (often tokens).
    #[serde(default)]
    pub config: BTreeMap<String, String>,
}

impl fmt::Debug for AuthProviderConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthProviderConfig")
            .field("name", &self.name)
            .field("config_keys", &self.config.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// An exec credential plugin as configured in a kubeconfig.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ExecConfig {
    /// The program (a path, or a name looked up in PATH).
    pub command: String,
    /// Its arguments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Extra environment variables for it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<ExecEnvVar>,
    /// `client.authentication.k8s.io/v1` or `/v1beta1`.
    #[serde(rename = "apiVersion", default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Shown when the program is not found.
    #[serde(rename = "installHint", default, skip_serializing_if = "Option::is_none")]
    pub install_hint: Option<String>,
    /// Pass the cluster's connection info in `KUBERNETES_EXEC_INFO`.
    #[serde(rename = "provideClusterInfo", default)]
    pub provide_cluster_info: bool,
    /// `Never`, `IfAvailable` or `Always`.
    #[serde(rename = "interactiveMode", default, skip_serializing_if = "Option::is_none")]
    pub interactive_mode: Option<String>,
}

/// One environment variable for an exec plugin; `Debug` hides the value.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecEnvVar {
    /// Variable name.
    pub name: String,
    /// Variable value.
    #[serde(default)]
    pub value: String,
}

impl fmt::Debug for ExecEnvVar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExecEnvVar").field("name", &self.name).field("value", &format_args!("<redacted>")).finish()
    }
}

/// A context with its name.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NamedContext {
    /// The name `current-context` and `--context` refer to.
    pub name: String,
    /// The context.
    #[serde(default)]
    pub context: Context,
    /// Where it was read from (not part of the file format).
    #[serde(skip)]
    pub origin: Origin,
}

/// A cluster, a user and a default namespace.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Context {
    /// Name of the cluster.
    #[serde(default)]
    pub cluster: String,
    /// Name of the user.
    #[serde(default)]
    pub user: String,
    /// Default namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Extensions, kept as they are.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<NamedExtension>,
}

/// A named extension (free-form).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NamedExtension {
    /// Its name.
    pub name: String,
    /// Its content.
    #[serde(default)]
    pub extension: serde_json::Value,
}

impl Kubeconfig {
    /// Parses kubeconfig YAML (or JSON) that did not come from a file; relative paths are
    /// left as they are.
    pub fn from_yaml(text: &str) -> Result<Self, ConfigError> {
        parse(text, None)
    }

    /// Reads and parses one file, recording each entry's origin and resolving relative
    /// paths (CA, client cert and key, tokenFile, exec command with a `/`) against the
    /// file's directory.
    pub fn read_file(path: &Path) -> Result<Self, ConfigError> {
        let bytes = std::fs::read(path).map_err(|source| ConfigError::ReadFile {
            what: "kubeconfig",
            path: path.to_owned(),
            source,
        })?;
        let text = String::from_utf8(bytes)
            .map_err(|e| ConfigError::field(path.display().to_string(), "", format!("not UTF-8: {e}")))?;
        let mut config = parse(&text, Some(path))?;
        let base = absolute(path.parent().unwrap_or(Path::new("")));
        config.resolve_relative_paths(&base);
        Ok(config)
    }

    /// Serializes to YAML (for writing a kubeconfig, e.g. one pointing at the embedded server).
    pub fn to_yaml(&self) -> Result<String, ConfigError> {
        serde_saphyr::to_string(self).map_err(|e| ConfigError::field(IN_MEMORY, "", format!("serializing: {e}")))
    }

    /// Merges `other` (a later file) into `self` with client-go's rules: a name already
    /// present keeps its whole entry, and `current-context` keeps the first value set.
    pub fn merge(mut self, other: Kubeconfig) -> Kubeconfig {
        fn add<T>(into: &mut Vec<T>, from: Vec<T>, name: impl Fn(&T) -> &str) {
            for item in from {
                if !into.iter().any(|have| name(have) == name(&item)) {
                    into.push(item);
                }
            }
        }
        add(&mut self.clusters, other.clusters, |c| &c.name);
        add(&mut self.auth_infos, other.auth_infos, |u| &u.name);
        add(&mut self.contexts, other.contexts, |c| &c.name);
        add(&mut self.extensions, other.extensions, |e| &e.name);
        if self.current_context.as_deref().unwrap_or("").is_empty() {
            self.current_context = other.current_context;
        }
        if self.preferences.is_none() {
            self.preferences = other.preferences;
        }
        self
    }

    /// The cluster with this name.
    pub fn cluster(&self, name: &str) -> Option<&NamedCluster> {
        self.clusters.iter().find(|c| c.name == name)
    }

    /// The user with this name.
    pub fn auth_info(&self, name: &str) -> Option<&NamedAuthInfo> {
        self.auth_infos.iter().find(|u| u.name == name)
    }

    /// The context with this name.
    pub fn context(&self, name: &str) -> Option<&NamedContext> {
        self.contexts.iter().find(|c| c.name == name)
    }

    /// Whether the config has no clusters, users, contexts or current context.
    pub fn is_empty(&self) -> bool {
        self.clusters.is_empty()
            && self.auth_infos.is_empty()
            && self.contexts.is_empty()
            && self.current_context.as_deref().unwrap_or("").is_empty()
    }

    fn resolve_relative_paths(&mut self, base: &Path) {
        let resolve = |field: &mut Option<String>| {
            if let Some(value) = field.as_mut() {
                if !value.is_empty() && !Path::new(value.as_str()).is_absolute() {
                    *value = clean(&base.join(value.as_str())).display().to_string();
                }
            }
        };
        for cluster in &mut self.clusters {
            resolve(&mut cluster.cluster.certificate_authority);
        }
        for user in &mut self.auth_infos {
            let user = &mut user.user;
            resolve(&mut user.client_certificate);
            resolve(&mut user.client_key);
            resolve(&mut user.token_file);
            if let Some(exec) = user.exec.as_mut() {
                // Only commands with a path separator are relative paths; bare names use PATH.
                if exec.command.contains(std::path::MAIN_SEPARATOR) || exec.command.contains('/') {
                    let mut command = Some(std::mem::take(&mut exec.command));
                    resolve(&mut command);
                    exec.command = command.unwrap_or_default();
                }
            }
        }
    }
}

fn parse(text: &str, file: Option<&Path>) -> Result<Kubeconfig, ConfigError> {
    let label = file.map_or_else(|| IN_MEMORY.to_owned(), |p| p.display().to_string());
    if text.trim().is_empty() {
        return Ok(Kubeconfig::default());
    }
    let mut options = serde_saphyr::Options::default();
    // Snippets would quote the file's lines, which may hold tokens.
    options.with_snippet = false;
    let mut value: serde_json::Value = serde_saphyr::from_str_with_options(text, options)
        .map_err(|e| ConfigError::field(&label, "", format!("invalid YAML: {e}")))?;
    strip_nulls(&mut value);
    match value {
        serde_json::Value::Null => return Ok(Kubeconfig::default()),
        serde_json::Value::Object(_) => {}
        _ => {
            return Err(ConfigError::field(&label, "", "expected a mapping with clusters, users and contexts"));
        }
    }
    let mut config: Kubeconfig = serde_path_to_error::deserialize(value).map_err(|e| {
        let field = e.path().to_string();
        ConfigError::field(&label, field, e.into_inner().to_string())
    })?;

    if let Some(kind) = config.kind.as_deref() {
        if !kind.is_empty() && kind != "Config" {
            return Err(ConfigError::field(&label, "kind", format!("expected \"Config\", got {kind:?}")));
        }
    }
    if let Some(version) = config.api_version.as_deref() {
        if !version.is_empty() && version != "v1" {
            return Err(ConfigError::field(&label, "apiVersion", format!("expected \"v1\", got {version:?}")));
        }
    }
    check_names(&label, "clusters", config.clusters.iter().map(|c| c.name.as_str()))?;
    check_names(&label, "users", config.auth_infos.iter().map(|u| u.name.as_str()))?;
    check_names(&label, "contexts", config.contexts.iter().map(|c| c.name.as_str()))?;
    check_names(&label, "extensions", config.extensions.iter().map(|e| e.name.as_str()))?;

    let origin = |index| Origin { file: file.map(Path::to_owned), index };
    for (i, c) in config.clusters.iter_mut().enumerate() {
        c.origin = origin(i);
    }
    for (i, u) in config.auth_infos.iter_mut().enumerate() {
        u.origin = origin(i);
    }
    for (i, c) in config.contexts.iter_mut().enumerate() {
        c.origin = origin(i);
    }
    Ok(config)
}

fn check_names<'a>(label: &str, list: &str, names: impl Iterator<Item = &'a str>) -> Result<(), ConfigError> {
    let mut seen = std::collections::HashSet::new();
    for (i, name) in names.enumerate() {
        if !seen.insert(name) {
            return Err(ConfigError::field(
                label,
                format!("{list}[{i}].name"),
                format!("duplicate name {name:?} in list"),
            ));
        }
    }
    Ok(())
}

/// Removes `key: null` entries so that absent and null read the same (as in Go).
fn strip_nulls(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(strip_nulls);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

/// Makes a path absolute against the current directory (lexically).
pub(crate) fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        clean(path)
    } else {
        let cwd = std::env::current_dir().unwrap_or_default();
        clean(&cwd.join(path))
    }
}

/// Lexical clean like Go's `filepath.Clean`: drops `.`, folds `dir/..`.
pub(crate) fn clean(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                let last_is_normal = matches!(out.components().next_back(), Some(Component::Normal(_)));
                if last_is_normal {
                    out.pop();
                } else if !out.has_root() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_folds_dots() {
        assert_eq!(clean(Path::new("/a/b/../c/./d")), PathBuf::from("/a/c/d"));
        assert_eq!(clean(Path::new("/a/../../b")), PathBuf::from("/b"));
        assert_eq!(clean(Path::new("a/../../b")), PathBuf::from("../b"));
    }

    #[test]
    fn type_error_names_the_field() {
        let err = Kubeconfig::from_yaml("clusters:\n- name: a\n  cluster:\n    server: [1]\n").unwrap_err().to_string();
        assert!(err.starts_with("kubeconfig <memory>: clusters[0].cluster.server:"), "{err}");
    }

    #[test]
    fn nulls_read_as_absent() {
        let config = Kubeconfig::from_yaml("users: null\nclusters:\ncurrent-context: ~\n").unwrap();
        assert!(config.is_empty());
    }

    #[test]
    fn round_trips_through_yaml() {
        let text = "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://h:1\n    certificate-authority-data: QUJD\nusers:\n- name: u\n  user:\n    token: t0k\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\ncurrent-context: x\n";
        let config = Kubeconfig::from_yaml(text).unwrap();
        let again = Kubeconfig::from_yaml(&config.to_yaml().unwrap()).unwrap();
        assert_eq!(config, again);
        assert!(!format!("{config:?}").contains("t0k"));
    }
}

//! Exec credential plugins (`client.authentication.k8s.io/v1` and `/v1beta1`).
//!
//! The plugin is run with the `ExecCredential` request in `KUBERNETES_EXEC_INFO`, prints an
//! `ExecCredential` with a token and/or a client certificate on stdout, and its answer is
//! cached until its `expirationTimestamp` (forever without one) or until a 401.

use std::fmt;
use std::io::IsTerminal as _;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use tokio::time::Instant;

use super::auth::{ClientCertificate, PemData};
use super::kubeconfig::ExecConfig;
use super::{ConfigError, SecretString};

/// The environment variable carrying the `ExecCredential` request to the plugin.
pub const EXEC_INFO_ENV: &str = "KUBERNETES_EXEC_INFO";

/// The name of the cluster extension whose content is passed to plugins as `spec.cluster.config`.
pub const EXEC_CLUSTER_EXTENSION: &str = "client.authentication.k8s.io/exec";

const V1: &str = "client.authentication.k8s.io/v1";
const V1BETA1: &str = "client.authentication.k8s.io/v1beta1";

const INSTALL_HINT_HELP: &str = "\n\nIt looks like you are trying to use a client-go credential plugin that is not installed.\n\nTo learn more about this feature, consult the documentation available at:\n      https://kubernetes.io/docs/reference/access-authn-authz/authentication/#client-go-credential-plugins";

/// When a plugin may talk to the user through stdin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InteractiveMode {
    /// Never give the plugin stdin.
    Never,
    /// Give it stdin when stdin is a terminal.
    IfAvailable,
    /// The plugin needs a terminal; fail without one.
    Always,
}

/// What a plugin returned.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExecCredential {
    /// A bearer token.
    pub token: Option<SecretString>,
    /// A client certificate and key (PEM).
    pub client_certificate: Option<ClientCertificate>,
    /// When the credential stops being valid; `None` means it is kept until a 401.
    pub expiration: Option<jiff::Timestamp>,
}

/// A configured exec plugin with its credential cache.
///
/// Contract: concurrent callers of [`ExecProvider::credential`] share one plugin run; the
/// credential is reused until it expires or [`ExecProvider::invalidate_older_than`] is told
/// about a 401 on a request sent after it was fetched. Clones share the cache.
#[derive(Clone)]
pub struct ExecProvider {
    inner: Arc<Inner>,
}

struct Inner {
    command: String,
    args: Vec<String>,
    env: Vec<(String, String)>,
    api_version: &'static str,
    install_hint: Option<String>,
    interactive_mode: InteractiveMode,
    cluster: Option<serde_json::Value>,
    cache: Mutex<Option<Cached>>,
    refresh: tokio::sync::Mutex<()>,
}

struct Cached {
    credential: ExecCredential,
    fetched_at: Instant,
}

impl ExecProvider {
    /// Validates a kubeconfig `exec` stanza. `cluster` is the `spec.cluster` object sent to
    /// the plugin when it asks for `provideClusterInfo`.
    pub fn new(config: &ExecConfig, cluster: Option<serde_json::Value>) -> Result<Self, ConfigError> {
        let (api_version, interactive_mode) = validate(config).map_err(|(field, message)| {
            ConfigError::field(super::kubeconfig::IN_MEMORY, format!("exec.{field}"), message)
        })?;
        Ok(Self::build(config, api_version, interactive_mode, cluster))
    }

    pub(crate) fn build(
        config: &ExecConfig,
        api_version: &'static str,
        interactive_mode: InteractiveMode,
        cluster: Option<serde_json::Value>,
    ) -> Self {
        ExecProvider {
            inner: Arc::new(Inner {
                command: config.command.clone(),
                args: config.args.clone(),
                env: config.env.iter().map(|v| (v.name.clone(), v.value.clone())).collect(),
                api_version,
                install_hint: config.install_hint.as_deref().map(clean_control_chars),
                interactive_mode,
                cluster: cluster.filter(|_| config.provide_cluster_info),
                cache: Mutex::new(None),
                refresh: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// The command as configured.
    pub fn command(&self) -> &str {
        &self.inner.command
    }

    /// The current credential: the cached one if it has not expired, else a fresh one from
    /// running the plugin.
    pub async fn credential(&self) -> Result<ExecCredential, ConfigError> {
        if let Some(credential) = self.cached() {
            return Ok(credential);
        }
        let _running = self.inner.refresh.lock().await;
        // Another caller may have refreshed while we waited.
        if let Some(credential) = self.cached() {
            return Ok(credential);
        }
        let credential = self.run().await?;
        let mut cache = self.inner.cache.lock().unwrap_or_else(|e| e.into_inner());
        *cache = Some(Cached { credential: credential.clone(), fetched_at: Instant::now() });
        Ok(credential)
    }

    /// Drops the cached credential if it was fetched before `t` (a request sent at `t` got
    /// 401), so the next call runs the plugin again; later 401s of requests that used an
    /// older credential do not cause more runs.
    pub fn invalidate_older_than(&self, t: Instant) {
        let mut cache = self.inner.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.as_ref().is_some_and(|c| c.fetched_at < t) {
            *cache = None;
        }
    }

    fn cached(&self) -> Option<ExecCredential> {
        let cache = self.inner.cache.lock().unwrap_or_else(|e| e.into_inner());
        let cached = cache.as_ref()?;
        match cached.credential.expiration {
            Some(expiration) if jiff::Timestamp::now() >= expiration => None,
            _ => Some(cached.credential.clone()),
        }
    }

    async fn run(&self) -> Result<ExecCredential, ConfigError> {
        let inner = &self.inner;
        let interactive = match inner.interactive_mode {
            InteractiveMode::Never => false,
            InteractiveMode::IfAvailable => std::io::stdin().is_terminal(),
            InteractiveMode::Always => {
                if !std::io::stdin().is_terminal() {
                    return Err(ConfigError::ExecNeedsTerminal { command: inner.command.clone() });
                }
                true
            }
        };
        let mut spec = serde_json::json!({ "interactive": interactive });
        if let Some(cluster) = &inner.cluster {
            spec["cluster"] = cluster.clone();
        }
        let request = serde_json::json!({
            "kind": "ExecCredential",
            "apiVersion": inner.api_version,
            "spec": spec,
        });

        let mut command = tokio::process::Command::new(&inner.command);
        command
            .args(&inner.args)
            .envs(inner.env.iter().map(|(k, v)| (k, v)))
            .env(EXEC_INFO_ENV, request.to_string())
            .stdin(if interactive { Stdio::inherit() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        let output = match command.output().await {
            Ok(output) => output,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut hint = INSTALL_HINT_HELP.to_owned();
                if let Some(install_hint) = &inner.install_hint {
                    hint.push_str("\n\n");
                    hint.push_str(install_hint);
                }
                return Err(ConfigError::ExecNotFound { command: inner.command.clone(), hint });
            }
            Err(source) => {
                return Err(ConfigError::ExecIo { command: inner.command.clone(), source });
            }
        };
        if !output.status.success() {
            return Err(ConfigError::ExecFailed {
                command: inner.command.clone(),
                code: output.status.code().unwrap_or(-1),
            });
        }
        parse_output(&output.stdout, inner.api_version)
            .map_err(|message| ConfigError::ExecOutput { command: inner.command.clone(), message })
    }
}

impl fmt::Debug for ExecProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExecProvider")
            .field("command", &self.inner.command)
            .field("args", &self.inner.args)
            .field("env", &self.inner.env.iter().map(|(k, _)| k).collect::<Vec<_>>())
            .field("api_version", &self.inner.api_version)
            .field("interactive_mode", &self.inner.interactive_mode)
            .field("provide_cluster_info", &self.inner.cluster.is_some())
            .finish_non_exhaustive()
    }
}

/// Checks an exec stanza; on error returns (field below `exec`, message).
pub(crate) fn validate(config: &ExecConfig) -> Result<(&'static str, InteractiveMode), (&'static str, String)> {
    if config.command.is_empty() {
        return Err(("command", "command must be specified to use an exec plugin".into()));
    }
    let api_version = match config.api_version.as_deref() {
        Some(V1) => V1,
        Some(V1BETA1) => V1BETA1,
        None | Some("") => return Err(("apiVersion", "apiVersion must be specified to use an exec plugin".into())),
        Some(other) => {
            return Err((
                "apiVersion",
                format!("exec plugin: invalid apiVersion {other:?}; supported: {V1:?}, {V1BETA1:?}"),
            ));
        }
    };
    if config.env.iter().any(|v| v.name.is_empty()) {
        return Err(("env", "env variable name must be specified".into()));
    }
    let interactive_mode = match config.interactive_mode.as_deref() {
        Some("Never") => InteractiveMode::Never,
        Some("IfAvailable") => InteractiveMode::IfAvailable,
        Some("Always") => InteractiveMode::Always,
        // v1beta1 defaults to IfAvailable; v1 requires the field.
        None | Some("") if api_version == V1BETA1 => InteractiveMode::IfAvailable,
        None | Some("") => {
            return Err((
                "interactiveMode",
                "interactiveMode must be specified for client.authentication.k8s.io/v1".into(),
            ));
        }
        Some(other) => {
            return Err((
                "interactiveMode",
                format!("invalid interactiveMode {other:?}; expected Never, IfAvailable or Always"),
            ));
        }
    };
    Ok((api_version, interactive_mode))
}

#[derive(Deserialize)]
struct Output {
    #[serde(rename = "apiVersion", default)]
    api_version: String,
    #[serde(default)]
    kind: String,
    status: Option<Status>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Status {
    #[serde(default)]
    token: Option<SecretString>,
    #[serde(default)]
    client_certificate_data: Option<String>,
    #[serde(default)]
    client_key_data: Option<SecretString>,
    #[serde(default)]
    expiration_timestamp: Option<String>,
}

/// Reads a plugin's stdout; the error says what is wrong, never quoting secrets.
pub(crate) fn parse_output(stdout: &[u8], api_version: &str) -> Result<ExecCredential, String> {
    let output: Output = serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_slice(stdout))
        .map_err(|e| format!("decoding stdout: {}: {}", e.path(), e.inner()))?;
    if output.kind != "ExecCredential" {
        return Err(format!("decoding stdout: kind is {:?}, expected \"ExecCredential\"", output.kind));
    }
    if output.api_version != api_version {
        return Err(format!(
            "exec plugin is configured to use API version {api_version}, plugin returned version {:?}",
            output.api_version
        ));
    }
    let status = output.status.ok_or("exec plugin didn't return a status field")?;
    let nonempty = |s: Option<String>| s.filter(|s| !s.is_empty());
    let token = status.token.filter(|t| !t.is_empty());
    let cert = nonempty(status.client_certificate_data);
    let key = status.client_key_data.filter(|k| !k.is_empty());
    if token.is_none() && cert.is_none() && key.is_none() {
        return Err("exec plugin didn't return a token or cert/key pair".into());
    }
    let client_certificate = match (cert, key) {
        (Some(cert), Some(key)) => {
            if !cert.contains("-----BEGIN") || !key.expose().contains("-----BEGIN") {
                return Err("failed parsing client key/certificate: not PEM".into());
            }
            Some(ClientCertificate {
                cert: PemData::from_bytes(cert.into_bytes()),
                key: PemData::from_bytes(key.expose().as_bytes()),
            })
        }
        (None, None) => None,
        _ => return Err("exec plugin returned only certificate or key, not both".into()),
    };
    let expiration =
        match nonempty(status.expiration_timestamp) {
            Some(ts) => Some(ts.parse::<jiff::Timestamp>().map_err(|e| {
                format!("decoding stdout: status.expirationTimestamp {ts:?} is not an RFC 3339 time: {e}")
            })?),
            None => None,
        };
    Ok(ExecCredential { token, client_certificate, expiration })
}

/// Replaces control characters other than whitespace (ANSI escapes) with `U+XXXX`, so an
/// install hint cannot put the terminal in a weird state.
pub(crate) fn clean_control_chars(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() && !('\u{9}'..='\u{d}').contains(&c) {
            out.push_str(&format!("U+{:04X}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_v1_token_and_expiry() {
        let out = br#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"abc","expirationTimestamp":"2030-01-02T03:04:05Z"}}"#;
        let cred = parse_output(out, V1).unwrap();
        assert_eq!(cred.token.unwrap().expose(), "abc");
        assert_eq!(cred.expiration.unwrap().to_string(), "2030-01-02T03:04:05Z");
    }

    #[test]
    fn rejects_wrong_version_missing_status_and_half_pairs() {
        let wrong =
            br#"{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"a"}}"#;
        assert!(parse_output(wrong, V1).unwrap_err().contains("plugin returned version"));
        let no_status = br#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential"}"#;
        assert!(parse_output(no_status, V1).unwrap_err().contains("status"));
        let half = br#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"clientCertificateData":"-----BEGIN CERTIFICATE-----"}}"#;
        assert!(parse_output(half, V1).unwrap_err().contains("not both"));
        let empty = br#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{}}"#;
        assert!(parse_output(empty, V1).unwrap_err().contains("token or cert/key"));
        let bad_time = br#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"a","expirationTimestamp":"soon"}}"#;
        assert!(parse_output(bad_time, V1).unwrap_err().contains("expirationTimestamp"));
    }

    #[test]
    fn errors_do_not_quote_secret_values() {
        let out =
            br#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":31415926}}"#;
        let message = parse_output(out, V1).unwrap_err();
        assert!(message.contains("status.token") && !message.contains("31415926"), "{message}");
    }

    #[test]
    fn install_hint_escapes_are_neutralised() {
        assert_eq!(clean_control_chars("a\u{1b}[1mb\n"), "aU+001B[1mb\n");
    }

    #[test]
    fn validation_names_the_field() {
        let mut config = ExecConfig { command: "x".into(), api_version: Some(V1.into()), ..Default::default() };
        assert_eq!(validate(&config).unwrap_err().0, "interactiveMode");
        config.api_version = Some(V1BETA1.into());
        assert_eq!(validate(&config).unwrap().1, InteractiveMode::IfAvailable);
        config.api_version = Some("client.authentication.k8s.io/v1alpha1".into());
        assert_eq!(validate(&config).unwrap_err().0, "apiVersion");
    }

    proptest! {
        #[test]
        fn arbitrary_output_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = parse_output(&bytes, V1);
        }

        #[test]
        fn arbitrary_json_like_output_gives_a_named_error(s in r#"\{("(apiVersion|kind|status|token|expirationTimestamp)":("[a-zA-Z0-9./:-]{0,12}"|\{\}|null|1),?){0,5}\}"#) {
            if let Err(message) = parse_output(s.as_bytes(), V1) {
                prop_assert!(!message.is_empty());
            }
        }
    }
}

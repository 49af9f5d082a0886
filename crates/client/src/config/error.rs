//! The one error type of the config module.

use std::path::PathBuf;

/// Everything that can go wrong while loading a config or producing credentials.
///
/// Variants carry what a user needs to fix the problem: the kubeconfig file and the field
/// inside it, the context, cluster or user name, the exec plugin command. No variant ever
/// carries a secret (token, password, key).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A kubeconfig could not be parsed or holds an invalid value; `field` is the path inside
    /// the file such as `clusters[0].cluster.server`.
    #[error("kubeconfig {file}: {field}: {message}")]
    Kubeconfig {
        /// The file (or `<memory>` for a string) the problem is in.
        file: String,
        /// The field path, e.g. `users[1].user.exec.apiVersion`; empty for the whole file.
        field: String,
        /// What is wrong.
        message: String,
    },

    /// A file could not be read.
    #[error("reading {what} {}: {source}", path.display())]
    ReadFile {
        /// What the file is for (kubeconfig, certificate-authority, client-key, tokenFile ...).
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },

    /// An explicitly named kubeconfig (`--kubeconfig`) does not exist; it is never skipped.
    #[error("kubeconfig {} given explicitly does not exist", .0.display())]
    ExplicitKubeconfigMissing(PathBuf),

    /// No kubeconfig file was found and no server was given.
    #[error(
        "no configuration has been provided: no cluster selected by a kubeconfig (looked in {looked_in}) and no server given"
    )]
    EmptyConfig {
        /// The files that were looked in.
        looked_in: String,
    },

    /// The selected context is not in the kubeconfig.
    #[error("context {0:?} does not exist in the kubeconfig")]
    ContextNotFound(String),

    /// The cluster named by the context (or the override) is not in the kubeconfig.
    #[error("cluster {0:?} does not exist in the kubeconfig")]
    ClusterNotFound(String),

    /// The user named by the context (or the override) is not in the kubeconfig.
    #[error("user {0:?} does not exist in the kubeconfig")]
    UserNotFound(String),

    /// The selected cluster or user is inconsistent (e.g. a certificate without key).
    #[error("invalid configuration: {0}")]
    Invalid(String),

    /// In-cluster config was asked for outside a pod.
    #[error("not running in a cluster: {0}")]
    NotInCluster(String),

    /// `Config::infer` found neither a kubeconfig nor an in-cluster environment.
    #[error("could not infer a configuration; tried: {}", .tried.join("; "))]
    InferFailed {
        /// One line per attempt, saying what was tried and why it did not apply.
        tried: Vec<String>,
    },

    /// A token file was empty.
    #[error("token file {} is empty", .0.display())]
    EmptyTokenFile(PathBuf),

    /// A credential contains bytes that cannot go into an HTTP header.
    #[error("{0} credential contains characters not allowed in an HTTP header")]
    InvalidHeaderValue(&'static str),

    /// The exec plugin's command was not found.
    #[error("exec: executable {command} not found{hint}")]
    ExecNotFound {
        /// The command as configured.
        command: String,
        /// The installHint of the kubeconfig, with help text, or empty.
        hint: String,
    },

    /// The exec plugin could not be started or waited for.
    #[error("exec: running {command}: {source}")]
    ExecIo {
        /// The command as configured.
        command: String,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },

    /// The exec plugin exited with a non-zero status.
    #[error("exec: executable {command} failed with exit code {code}")]
    ExecFailed {
        /// The command as configured.
        command: String,
        /// Its exit code (-1 when killed by a signal).
        code: i32,
    },

    /// The exec plugin's output is not a usable ExecCredential.
    #[error("exec plugin {command}: {message}")]
    ExecOutput {
        /// The command as configured.
        command: String,
        /// What is wrong with its output.
        message: String,
    },

    /// The exec plugin wants a terminal and none is available.
    #[error("exec plugin {command} requires an interactive terminal (interactiveMode: Always)")]
    ExecNeedsTerminal {
        /// The command as configured.
        command: String,
    },
}

impl ConfigError {
    /// Shorthand for a kubeconfig field error.
    pub(crate) fn field(file: impl Into<String>, field: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError::Kubeconfig { file: file.into(), field: field.into(), message: message.into() }
    }
}

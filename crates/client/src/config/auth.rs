//! Credentials: how requests authenticate, and the secret-holding types that never print
//! their content.
//!
//! The transport asks [`Auth::auth_header`] for the `Authorization` value of every request,
//! tells [`Auth::invalidate_after_401`] when the server answered 401, and builds its TLS
//! client identity from [`crate::config::Config::client_certificate`].

use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use http::HeaderValue;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::ConfigError;
use super::exec::ExecProvider;
use super::token::TokenFile;

/// A string that is a secret (token, password): `Debug` prints `<redacted>`, and a
/// deserialization error for it never quotes the value.
#[derive(Clone, PartialEq, Eq, Default, Serialize)]
#[serde(transparent)]
pub struct SecretString(String);

impl<'de> Deserialize<'de> for SecretString {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = SecretString;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<SecretString, E> {
                Ok(SecretString(v.to_owned()))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<SecretString, E> {
                Ok(SecretString(v))
            }
            fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<SecretString, E> {
                Err(E::custom(NOT_A_STRING))
            }
            fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<SecretString, E> {
                Err(E::custom(NOT_A_STRING))
            }
            fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<SecretString, E> {
                Err(E::custom(NOT_A_STRING))
            }
            fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<SecretString, E> {
                Err(E::custom(NOT_A_STRING))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

const NOT_A_STRING: &str = "expected a string (quote the value in YAML; value not shown)";

impl SecretString {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        SecretString(secret.into())
    }

    /// The secret itself; only for putting it where it is needed (a header).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the secret is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl From<String> for SecretString {
    fn from(s: String) -> Self {
        SecretString(s)
    }
}

impl From<&str> for SecretString {
    fn from(s: &str) -> Self {
        SecretString(s.to_owned())
    }
}

/// PEM bytes, remembering the file they came from so they can be read again after rotation.
///
/// `Debug` shows the path and the length, never the content.
#[derive(Clone, PartialEq, Eq)]
pub struct PemData {
    path: Option<PathBuf>,
    bytes: Vec<u8>,
}

impl PemData {
    /// PEM given inline (kubeconfig `*-data` fields, exec plugin output).
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> Self {
        PemData { path: None, bytes: bytes.into() }
    }

    /// Reads PEM from a file; `what` names the file's role in the error.
    pub fn from_file(path: impl Into<PathBuf>, what: &'static str) -> Result<Self, ConfigError> {
        let path = path.into();
        let bytes =
            std::fs::read(&path).map_err(|source| ConfigError::ReadFile { what, path: path.clone(), source })?;
        Ok(PemData { path: Some(path), bytes })
    }

    /// The file the bytes came from, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The PEM bytes as last read.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Reads the file again (inline data is returned as is).
    pub fn reload(&self, what: &'static str) -> Result<Self, ConfigError> {
        match &self.path {
            Some(path) => PemData::from_file(path.clone(), what),
            None => Ok(self.clone()),
        }
    }
}

impl fmt::Debug for PemData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PemData")
            .field("path", &self.path)
            .field("bytes", &format_args!("<{} bytes>", self.bytes.len()))
            .finish()
    }
}

/// A TLS client certificate chain and its private key, both PEM.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientCertificate {
    /// The certificate chain.
    pub cert: PemData,
    /// The private key; never printed.
    pub key: PemData,
}

impl ClientCertificate {
    /// Reads file-based parts again, for rotation (client-go re-reads every 5 minutes).
    pub fn reload(&self) -> Result<Self, ConfigError> {
        Ok(ClientCertificate { cert: self.cert.reload("client-certificate")?, key: self.key.reload("client-key")? })
    }
}

impl fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("cert", &self.cert)
            .field("key_path", &self.key.path)
            .field("key", &format_args!("<redacted>"))
            .finish()
    }
}

/// How requests authenticate (besides a TLS client certificate).
///
/// Cloning shares the caches of [`TokenFile`] and [`ExecProvider`], so every client made
/// from one config reads a token file or runs a plugin once, not once per client.
#[derive(Clone, Debug, Default)]
pub enum Auth {
    /// No `Authorization` header.
    #[default]
    None,
    /// A fixed bearer token.
    Bearer(SecretString),
    /// A bearer token read from a file and re-read periodically and after a 401.
    TokenFile(TokenFile),
    /// HTTP basic authentication.
    Basic {
        /// The user name.
        username: String,
        /// The password; never printed.
        password: SecretString,
    },
    /// An exec credential plugin (client.authentication.k8s.io v1 / v1beta1).
    Exec(ExecProvider),
}

impl Auth {
    /// The `Authorization` header value for the next request, marked sensitive, or `None`.
    ///
    /// Cheap when cached; reads the token file when its copy is older than the refresh
    /// period, or runs the exec plugin when it has no unexpired credential.
    pub async fn auth_header(&self) -> Result<Option<HeaderValue>, ConfigError> {
        let value = match self {
            Auth::None => return Ok(None),
            Auth::Bearer(token) => bearer(token.expose())?,
            Auth::TokenFile(file) => bearer(file.token()?.expose())?,
            Auth::Basic { username, password } => {
                let raw = format!("{username}:{}", password.expose());
                let encoded = base64::engine::general_purpose::STANDARD.encode(raw);
                header_value(&format!("Basic {encoded}"), "basic auth")?
            }
            Auth::Exec(exec) => match exec.credential().await?.token {
                Some(token) => bearer(token.expose())?,
                None => return Ok(None),
            },
        };
        Ok(Some(value))
    }

    /// Call when a request sent at `request_started` got 401: token files are read again and
    /// exec credentials fetched again, unless that already happened after `request_started`.
    pub fn invalidate_after_401(&self, request_started: Instant) {
        match self {
            Auth::TokenFile(file) => file.invalidate_older_than(request_started),
            Auth::Exec(exec) => exec.invalidate_older_than(request_started),
            Auth::None | Auth::Bearer(_) | Auth::Basic { .. } => {}
        }
    }

    /// The client certificate an exec plugin returned, if it returned one.
    pub async fn exec_client_certificate(&self) -> Result<Option<ClientCertificate>, ConfigError> {
        match self {
            Auth::Exec(exec) => Ok(exec.credential().await?.client_certificate),
            _ => Ok(None),
        }
    }
}

fn bearer(token: &str) -> Result<HeaderValue, ConfigError> {
    header_value(&format!("Bearer {token}"), "bearer token")
}

fn header_value(value: &str, what: &'static str) -> Result<HeaderValue, ConfigError> {
    let mut value = HeaderValue::from_str(value).map_err(|_| ConfigError::InvalidHeaderValue(what))?;
    value.set_sensitive(true);
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn basic_and_bearer_headers() {
        let auth = Auth::Basic { username: "alice".into(), password: "s3cret".into() };
        let header = auth.auth_header().await.unwrap().unwrap();
        assert_eq!(header.to_str().unwrap(), "Basic YWxpY2U6czNjcmV0");
        assert!(header.is_sensitive());
        let auth = Auth::Bearer("abc".into());
        let header = auth.auth_header().await.unwrap().unwrap();
        assert_eq!(header.to_str().unwrap(), "Bearer abc");
        assert!(!format!("{auth:?}").contains("abc"));
        assert!(Auth::None.auth_header().await.unwrap().is_none());
    }

    #[tokio::test]
    async fn newline_in_token_is_an_error_not_a_header_injection() {
        let auth = Auth::Bearer("abc\r\nX-Evil: 1".into());
        assert!(matches!(auth.auth_header().await, Err(ConfigError::InvalidHeaderValue(_))));
    }

    #[test]
    fn pem_debug_hides_content() {
        let cert = ClientCertificate {
            cert: PemData::from_bytes(b"CERTDATA".to_vec()),
            key: PemData::from_bytes(b"KEYDATA".to_vec()),
        };
        let shown = format!("{cert:?}");
        assert!(!shown.contains("KEYDATA") && !shown.contains("CERTDATA"), "{shown}");
    }
}
